//! TwiML documents. Every attribute value and text node is XML-escaped.

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Append `s` escaped for an XML attribute value (double-quoted) or text node.
///
/// `& < > " '` become entities; tab, newline and carriage return become character
/// references so attribute-value normalization keeps them; characters XML 1.0 forbids
/// (other C0 controls, U+FFFE, U+FFFF) become U+FFFD.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                out.push(c)
            }
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    push_escaped(out, value);
    out.push('"');
}

fn document(body: impl FnOnce(&mut String)) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(DECLARATION);
    out.push_str("<Response>");
    body(&mut out);
    out.push_str("</Response>");
    out
}

/// Answer a call with a bidirectional media stream:
/// `<Response><Connect action="…"><Stream url="wss://…"><Parameter name="…" value="…"/>…
/// </Stream></Connect></Response>`.
///
/// Twilio POSTs `action_url` when the stream ends (our server closes the socket), and the
/// answer to that decides what happens next. `<Stream url>` takes no query string: pass
/// values as `parameters`, delivered in `start.customParameters`.
pub fn connect_stream(action_url: &str, stream_url: &str, parameters: &[(&str, &str)]) -> String {
    document(|out| {
        out.push_str("<Connect");
        attr(out, "action", action_url);
        out.push_str("><Stream");
        attr(out, "url", stream_url);
        if parameters.is_empty() {
            out.push_str("/>");
        } else {
            out.push('>');
            for (name, value) in parameters {
                out.push_str("<Parameter");
                attr(out, "name", name);
                attr(out, "value", value);
                out.push_str("/>");
            }
            out.push_str("</Stream>");
        }
        out.push_str("</Connect>");
    })
}

/// Bridge the call to `number`.
///
/// With `record`: `<Dial record="record-from-answer-dual" recordingStatusCallback="…">`
/// (both parties on separate channels from the moment the callee answers; the callback only
/// when given). Without: a plain `<Dial>` with no recording attributes at all
/// (`recording_status_callback` is ignored). `caller_id` sets `callerId`.
pub fn dial(
    number: &str,
    record: bool,
    recording_status_callback: Option<&str>,
    caller_id: Option<&str>,
) -> String {
    document(|out| {
        out.push_str("<Dial");
        if let Some(caller_id) = caller_id {
            attr(out, "callerId", caller_id);
        }
        if record {
            attr(out, "record", "record-from-answer-dual");
            if let Some(callback) = recording_status_callback {
                attr(out, "recordingStatusCallback", callback);
            }
        }
        out.push_str("><Number>");
        push_escaped(out, number);
        out.push_str("</Number></Dial>");
    })
}

/// Speak `text` in `language` (`en-US`, `es-US`, …) with Twilio's text-to-speech, then hang
/// up: `<Response><Say language="…">…</Say><Hangup/></Response>`.
pub fn say_and_hangup(text: &str, language: &str) -> String {
    document(|out| {
        out.push_str("<Say");
        attr(out, "language", language);
        out.push('>');
        push_escaped(out, text);
        out.push_str("</Say><Hangup/>");
    })
}

/// `<Response><Hangup/></Response>`.
pub fn hangup() -> String {
    document(|out| out.push_str("<Hangup/>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_replaces() {
        let mut s = String::new();
        push_escaped(&mut s, "a&b<c>d\"e'f\tg\nh\ri\u{0}j\u{FFFF}kü😀");
        assert_eq!(
            s,
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i\u{FFFD}j\u{FFFD}kü😀"
        );
    }
}
