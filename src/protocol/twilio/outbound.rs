//! Messages we send Twilio (bidirectional streams only): `media`, `mark`, `clear`.

use super::error::ProtocolError;
use super::json::{self, push_str_literal, Section, Val};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;

/// Append a `media` message playing `mulaw` (8 kHz μ-law, no file header) to `out`:
/// `{"event":"media","streamSid":"MZ…","media":{"payload":"<base64>"}}`.
///
/// Allocates only if `out` has to grow; clear and reuse one `String` per call.
pub fn write_media(out: &mut String, stream_sid: &str, mulaw: &[u8]) {
    out.reserve(48 + stream_sid.len() + mulaw.len().div_ceil(3) * 4);
    out.push_str(r#"{"event":"media","streamSid":"#);
    push_str_literal(out, stream_sid);
    out.push_str(r#","media":{"payload":""#);
    STANDARD.encode_string(mulaw, out);
    out.push_str(r#""}}"#);
}

/// Like [`write_media`] with the payload already base64-encoded by
/// [`media_payload_base64`] (prompts are encoded once at start-up).
pub fn write_media_prepared(out: &mut String, stream_sid: &str, b64: &str) {
    out.reserve(48 + stream_sid.len() + b64.len());
    out.push_str(r#"{"event":"media","streamSid":"#);
    push_str_literal(out, stream_sid);
    out.push_str(r#","media":"#);
    out.push_str(r#"{"payload":"#);
    // Base64 never needs escaping; a wrong argument still yields valid JSON.
    push_str_literal(out, b64);
    out.push_str("}}");
}

/// Base64 (standard, padded) of μ-law audio, for [`write_media_prepared`].
pub fn media_payload_base64(mulaw: &[u8]) -> String {
    STANDARD.encode(mulaw)
}

/// Append a `mark` message to `out`: `{"event":"mark","streamSid":"MZ…","mark":{"name":"…"}}`.
/// Twilio echoes it when the audio sent before it has played (or was cleared).
pub fn write_mark(out: &mut String, stream_sid: &str, name: &str) {
    out.reserve(48 + stream_sid.len() + name.len());
    out.push_str(r#"{"event":"mark","streamSid":"#);
    push_str_literal(out, stream_sid);
    out.push_str(r#","mark":{"name":"#);
    push_str_literal(out, name);
    out.push_str("}}");
}

/// Append a `clear` message to `out`: `{"event":"clear","streamSid":"MZ…"}`. Twilio drops
/// the buffered audio and echoes every pending mark.
pub fn write_clear(out: &mut String, stream_sid: &str) {
    out.reserve(32 + stream_sid.len());
    out.push_str(r#"{"event":"clear","streamSid":"#);
    push_str_literal(out, stream_sid);
    out.push('}');
}

/// A message we sent, as a simulated Twilio sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// μ-law audio, decoded.
    Media {
        payload: Vec<u8>,
    },
    Mark {
        name: String,
    },
    Clear,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOut<'a> {
    #[serde(borrow)]
    event: Option<Val<'a>>,
    #[serde(borrow, rename = "streamSid")]
    stream_sid: Option<Val<'a>>,
    #[serde(borrow)]
    media: Option<Section<RawOutMedia<'a>>>,
    #[serde(borrow)]
    mark: Option<Section<RawOutName<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutMedia<'a> {
    #[serde(borrow)]
    payload: Option<Val<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutName<'a> {
    #[serde(borrow)]
    name: Option<Val<'a>>,
}

/// Check one message we sent the way a strict Twilio would, and return what it asks for.
///
/// Refused: any event but `media`, `mark`, `clear` (Twilio error 31924); a missing or empty
/// `streamSid`; any field Twilio does not define, or a section that belongs to another event;
/// a `media` payload that is empty or not canonical padded standard base64; a `mark` without
/// a string `name`.
pub fn parse_outbound(text: &str) -> Result<Outbound, ProtocolError> {
    parse_checked(text, None)
}

/// [`parse_outbound`], and the `streamSid` must be `stream_sid`
/// ([`ProtocolError::StreamSidMismatch`] otherwise).
pub fn parse_outbound_for(text: &str, stream_sid: &str) -> Result<Outbound, ProtocolError> {
    parse_checked(text, Some(stream_sid))
}

fn parse_checked(text: &str, expected_sid: Option<&str>) -> Result<Outbound, ProtocolError> {
    let raw: RawOut<'_> = json::object(text)?;
    let event = json::string(raw.event, "event")?;
    let not_allowed = |field| ProtocolError::InvalidValue {
        field,
        reason: "not allowed in this event",
    };
    let (media, mark) = (raw.media, raw.mark);
    let message = match &*event {
        "media" => {
            if mark.is_some() {
                return Err(not_allowed("mark"));
            }
            let m = json::section(media, "media")?;
            let b64 = json::string(m.payload, "media.payload")?;
            if b64.is_empty() {
                return Err(ProtocolError::InvalidValue {
                    field: "media.payload",
                    reason: "must not be empty",
                });
            }
            let payload = STANDARD
                .decode(b64.as_bytes())
                .map_err(|_| ProtocolError::InvalidBase64)?;
            Outbound::Media { payload }
        }
        "mark" => {
            if media.is_some() {
                return Err(not_allowed("media"));
            }
            let m = json::section(mark, "mark")?;
            Outbound::Mark {
                name: json::string(m.name, "mark.name")?.into_owned(),
            }
        }
        "clear" => {
            if media.is_some() {
                return Err(not_allowed("media"));
            }
            if mark.is_some() {
                return Err(not_allowed("mark"));
            }
            Outbound::Clear
        }
        other => return Err(ProtocolError::unknown_event(other)),
    };
    let sid = json::sid(raw.stream_sid, "streamSid")?;
    if expected_sid.is_some_and(|want| want != sid) {
        return Err(ProtocolError::StreamSidMismatch);
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_append() {
        let mut out = String::from("x");
        write_clear(&mut out, "MZ1");
        assert_eq!(out, r#"x{"event":"clear","streamSid":"MZ1"}"#);
    }

    #[test]
    fn prepared_and_direct_media_are_identical() {
        let audio: Vec<u8> = (0..=255u8).collect();
        let (mut a, mut b) = (String::new(), String::new());
        write_media(&mut a, "MZ\"1", &audio);
        write_media_prepared(&mut b, "MZ\"1", &media_payload_base64(&audio));
        assert_eq!(a, b);
        assert_eq!(
            parse_outbound_for(&a, "MZ\"1"),
            Ok(Outbound::Media { payload: audio })
        );
    }
}
