//! Errors for every message direction.

/// Why a message was refused.
///
/// The `Display` text is meant to be sent as the WebSocket close reason, so it is at most
/// [`ProtocolError::MAX_DISPLAY_LEN`] bytes: text copied from the input (an unknown event
/// name, an encoding, a JSON parser message) is cut short on a character boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Not JSON, not a JSON object, duplicate keys, trailing bytes, nesting too deep or (in
    /// [`parse_outbound`](super::parse_outbound)) an unknown field. The text says which.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// `event` is not one this direction knows. Holds the (shortened) event name.
    #[error("unknown event \"{0}\"")]
    UnknownEvent(String),
    /// A required field is absent or `null`. Holds its path, e.g. `media.payload`.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field has the wrong JSON type: `found` is `string`, `number`, `boolean`, `null`
    /// (inside arrays and maps), `object` or `array`.
    #[error("field {field} must be a {expected}, not {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    /// A number Twilio sends as a string is not a string of decimal digits fitting in u64
    /// (JSON numbers are refused too: Twilio never sends them there).
    #[error("field {field} must be a string of decimal digits (u64)")]
    InvalidNumber { field: &'static str },
    /// `dtmf.digit` is not exactly one of `0-9 * # A-D`.
    #[error("dtmf.digit must be one of 0-9, *, #, A-D")]
    InvalidDigit,
    /// A field has a value outside its set, e.g. an empty sid or an unknown track.
    #[error("invalid {field}: {reason}")]
    InvalidValue {
        field: &'static str,
        reason: &'static str,
    },
    /// `start.mediaFormat` is not `audio/x-mulaw`, 8000 Hz, 1 channel. Holds what came
    /// (the encoding shortened).
    #[error(
        "media format {encoding}/{sample_rate}/{channels} unsupported: need audio/x-mulaw/8000/1"
    )]
    UnsupportedMediaFormat {
        encoding: String,
        sample_rate: u64,
        channels: u64,
    },
    /// The decoded payload would not fit the caller's buffer.
    #[error("media payload too large: {bytes} bytes, at most {max}")]
    PayloadTooLarge { bytes: usize, max: usize },
    /// The payload is not canonical, padded standard base64.
    #[error("media payload is not valid standard base64")]
    InvalidBase64,
    /// The top-level `streamSid` differs from `start.streamSid`, or (in
    /// [`parse_outbound_for`](super::parse_outbound_for)) from the stream's own.
    #[error("streamSid does not match the stream")]
    StreamSidMismatch,
}

impl ProtocolError {
    /// Upper bound of the `Display` text, in bytes: fits a WebSocket close reason (123).
    pub const MAX_DISPLAY_LEN: usize = 120;

    pub(crate) fn invalid_json(detail: &str) -> Self {
        ProtocolError::InvalidJson(shorten(detail, 100))
    }

    pub(crate) fn unknown_event(name: &str) -> Self {
        ProtocolError::UnknownEvent(shorten(name, 48))
    }

    pub(crate) fn unsupported_media_format(
        encoding: &str,
        sample_rate: u64,
        channels: u64,
    ) -> Self {
        ProtocolError::UnsupportedMediaFormat {
            encoding: shorten(encoding, 24),
            sample_rate,
            channels,
        }
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_respects_char_boundaries() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdef", 3), "abc");
        assert_eq!(shorten("aé", 2), "a");
        assert_eq!(shorten("€€", 4), "€");
    }

    #[test]
    fn worst_case_display_fits_a_close_reason() {
        let long = "€".repeat(100);
        let worst = [
            ProtocolError::invalid_json(&long),
            ProtocolError::unknown_event(&long),
            ProtocolError::unsupported_media_format(&long, u64::MAX, u64::MAX),
            ProtocolError::PayloadTooLarge {
                bytes: usize::MAX,
                max: usize::MAX,
            },
            ProtocolError::WrongType {
                field: "start.mediaFormat.sampleRate",
                expected: "non-negative integer",
                found: "boolean",
            },
            ProtocolError::InvalidNumber {
                field: "sequenceNumber",
            },
        ];
        for e in worst {
            let text = e.to_string();
            assert!(
                text.len() <= ProtocolError::MAX_DISPLAY_LEN,
                "{} {text}",
                text.len()
            );
        }
    }
}
