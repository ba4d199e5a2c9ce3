//! Messages Twilio sends us.

use super::error::ProtocolError;
use super::json::{self, List, Section, Val};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One message from Twilio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// First message on the socket: `{"event":"connected","protocol":"Call","version":"1.0.0"}`.
    Connected { protocol: String, version: String },
    /// Once, right after `connected`: the stream's identity and `<Parameter>`s.
    Start(Start),
    /// 20 ms of caller audio (about 50 a second per track). Borrows from the input.
    Media(Media<'a>),
    /// A key pressed (bidirectional streams only), one message per key.
    Dtmf(Dtmf),
    /// The echo of a mark we sent: its audio has played, or was cleared.
    Mark(Mark),
    /// The stream ended (the caller hung up, or the stream was stopped).
    Stop(Stop),
}

impl Inbound<'_> {
    /// The `event` name on the wire.
    pub fn event(&self) -> &'static str {
        match self {
            Inbound::Connected { .. } => "connected",
            Inbound::Start(_) => "start",
            Inbound::Media(_) => "media",
            Inbound::Dtmf(_) => "dtmf",
            Inbound::Mark(_) => "mark",
            Inbound::Stop(_) => "stop",
        }
    }

    /// `streamSid` (every message but `connected` has one).
    pub fn stream_sid(&self) -> Option<&str> {
        match self {
            Inbound::Connected { .. } => None,
            Inbound::Start(m) => Some(&m.stream_sid),
            Inbound::Media(m) => Some(m.stream_sid),
            Inbound::Dtmf(m) => Some(&m.stream_sid),
            Inbound::Mark(m) => Some(&m.stream_sid),
            Inbound::Stop(m) => Some(&m.stream_sid),
        }
    }

    /// `sequenceNumber` (every message but `connected` has one; it starts at 1).
    pub fn sequence_number(&self) -> Option<u64> {
        match self {
            Inbound::Connected { .. } => None,
            Inbound::Start(m) => Some(m.sequence_number),
            Inbound::Media(m) => Some(m.sequence_number),
            Inbound::Dtmf(m) => Some(m.sequence_number),
            Inbound::Mark(m) => Some(m.sequence_number),
            Inbound::Stop(m) => Some(m.sequence_number),
        }
    }
}

/// `start`. The media format was checked to be `audio/x-mulaw`, 8000 Hz, mono.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub stream_sid: String,
    pub call_sid: String,
    pub account_sid: String,
    /// `start.tracks` as sent, e.g. `["inbound"]`.
    pub tracks: Vec<String>,
    /// `start.customParameters`: the `<Parameter>`s of `<Stream>` (empty when absent).
    pub custom_parameters: BTreeMap<String, String>,
    pub sequence_number: u64,
}

/// `media`: base64 μ-law, borrowed from the message text. Decode it with
/// [`decode_payload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media<'a> {
    pub stream_sid: &'a str,
    pub sequence_number: u64,
    pub track: Track,
    /// `media.chunk`: starts at 1 and counts this track's messages.
    pub chunk: u64,
    /// `media.timestamp`: presentation time in milliseconds since the stream started.
    pub timestamp_ms: u64,
    /// `media.payload`: base64 (standard alphabet, padded) of 8 kHz μ-law.
    pub payload: &'a str,
}

/// `dtmf`: one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtmf {
    pub stream_sid: String,
    pub sequence_number: u64,
    /// One of `0123456789*#ABCD`.
    pub digit: char,
    /// Twilio documents it as always `inbound_track`.
    pub track: Track,
}

/// `mark`: the echo of a mark we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub stream_sid: String,
    pub sequence_number: u64,
    pub name: String,
}

/// `stop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub stream_sid: String,
    pub sequence_number: u64,
    pub call_sid: String,
    pub account_sid: String,
}

/// Which side of the call a `media` or `dtmf` message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    /// The caller: `inbound` (media) or `inbound_track` (dtmf).
    Inbound,
    /// What the caller hears: `outbound` or `outbound_track`.
    Outbound,
}

impl Track {
    /// The name used in `media.track`.
    pub fn as_str(self) -> &'static str {
        match self {
            Track::Inbound => "inbound",
            Track::Outbound => "outbound",
        }
    }

    fn from_name(name: &str) -> Option<Track> {
        match name {
            "inbound" | "inbound_track" => Some(Track::Inbound),
            "outbound" | "outbound_track" => Some(Track::Outbound),
            _ => None,
        }
    }

    fn parse(v: Option<Val<'_>>, field: &'static str) -> Result<Track, ProtocolError> {
        Track::from_name(&json::string(v, field)?).ok_or(ProtocolError::InvalidValue {
            field,
            reason: "must be inbound or outbound",
        })
    }
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    event: Option<Val<'a>>,
    #[serde(borrow, rename = "sequenceNumber")]
    sequence_number: Option<Val<'a>>,
    #[serde(borrow, rename = "streamSid")]
    stream_sid: Option<Val<'a>>,
    #[serde(borrow)]
    protocol: Option<Val<'a>>,
    #[serde(borrow)]
    version: Option<Val<'a>>,
    #[serde(borrow)]
    start: Option<Section<Box<RawStart<'a>>>>,
    #[serde(borrow)]
    media: Option<Section<RawMedia<'a>>>,
    #[serde(borrow)]
    dtmf: Option<Section<RawDtmf<'a>>>,
    #[serde(borrow)]
    mark: Option<Section<RawName<'a>>>,
    #[serde(borrow)]
    stop: Option<Section<RawStop<'a>>>,
}

#[derive(Deserialize)]
struct RawStart<'a> {
    #[serde(borrow, rename = "accountSid")]
    account_sid: Option<Val<'a>>,
    #[serde(borrow, rename = "streamSid")]
    stream_sid: Option<Val<'a>>,
    #[serde(borrow, rename = "callSid")]
    call_sid: Option<Val<'a>>,
    #[serde(borrow)]
    tracks: Option<List<'a>>,
    #[serde(borrow, rename = "mediaFormat")]
    media_format: Option<Section<RawFormat<'a>>>,
    #[serde(borrow, rename = "customParameters")]
    custom_parameters: Option<Section<BTreeMap<String, Val<'a>>>>,
}

#[derive(Deserialize)]
struct RawFormat<'a> {
    #[serde(borrow)]
    encoding: Option<Val<'a>>,
    #[serde(borrow, rename = "sampleRate")]
    sample_rate: Option<Val<'a>>,
    #[serde(borrow)]
    channels: Option<Val<'a>>,
}

#[derive(Deserialize)]
struct RawMedia<'a> {
    #[serde(borrow)]
    track: Option<Val<'a>>,
    #[serde(borrow)]
    chunk: Option<Val<'a>>,
    #[serde(borrow)]
    timestamp: Option<Val<'a>>,
    #[serde(borrow)]
    payload: Option<Val<'a>>,
}

#[derive(Deserialize)]
struct RawDtmf<'a> {
    #[serde(borrow)]
    track: Option<Val<'a>>,
    #[serde(borrow)]
    digit: Option<Val<'a>>,
}

#[derive(Deserialize)]
struct RawName<'a> {
    #[serde(borrow)]
    name: Option<Val<'a>>,
}

#[derive(Deserialize)]
struct RawStop<'a> {
    #[serde(borrow, rename = "accountSid")]
    account_sid: Option<Val<'a>>,
    #[serde(borrow, rename = "callSid")]
    call_sid: Option<Val<'a>>,
}

/// Parse one text message from Twilio.
///
/// Strict where Twilio's reference is definite: every documented field must be present with
/// its documented JSON type, `sequenceNumber`/`media.chunk`/`media.timestamp` must be strings
/// of decimal digits, `start.mediaFormat` must be μ-law 8000 Hz mono, sids must be non-empty
/// and `start`'s two `streamSid`s must agree. Lenient where that costs nothing: unknown
/// fields are ignored, `start.customParameters` may be absent, and both track spellings
/// (`inbound`, `inbound_track`) are accepted in `media` and `dtmf`.
///
/// A `media` message allocates nothing: its stream sid and payload are borrowed, so they
/// must not contain JSON escape sequences (Twilio's never do).
pub fn parse(text: &str) -> Result<Inbound<'_>, ProtocolError> {
    match parse_media_fast(text) {
        Some(media) => Ok(Inbound::Media(media)),
        None => parse_general(text),
    }
}

/// The hot path: a valid `media` message, read into borrowed fields only (a small struct,
/// no per-field type dispatch). `None` for anything else, including every error, which
/// [`parse_general`] then reports precisely. Whatever it accepts, `parse_general` accepts
/// with the same result (a property test checks); it may decline valid messages (JSON
/// escapes in its fields), which then take the general path.
fn parse_media_fast(text: &str) -> Option<Media<'_>> {
    let Ok(Section::Obj(m)) = serde_json::from_str::<Section<FastMedia<'_>>>(text) else {
        return None;
    };
    let Section::Obj(body) = m.media else {
        return None;
    };
    if m.event != "media" || m.stream_sid.is_empty() {
        return None;
    }
    Some(Media {
        stream_sid: m.stream_sid,
        sequence_number: json::decimal_str(m.sequence_number)?,
        track: Track::from_name(body.track)?,
        chunk: json::decimal_str(body.chunk)?,
        timestamp_ms: json::decimal_str(body.timestamp)?,
        payload: body.payload,
    })
}

#[derive(Deserialize)]
struct FastMedia<'a> {
    event: &'a str,
    #[serde(rename = "sequenceNumber")]
    sequence_number: &'a str,
    #[serde(rename = "streamSid")]
    stream_sid: &'a str,
    #[serde(borrow)]
    media: Section<FastMediaBody<'a>>,
    // The other fields `Raw` knows, so that duplicates of them are refused here too.
    #[serde(rename = "protocol")]
    _protocol: Option<IgnoredAny>,
    #[serde(rename = "version")]
    _version: Option<IgnoredAny>,
    #[serde(rename = "start")]
    _start: Option<IgnoredAny>,
    #[serde(rename = "dtmf")]
    _dtmf: Option<IgnoredAny>,
    #[serde(rename = "mark")]
    _mark: Option<IgnoredAny>,
    #[serde(rename = "stop")]
    _stop: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct FastMediaBody<'a> {
    track: &'a str,
    chunk: &'a str,
    timestamp: &'a str,
    payload: &'a str,
}

fn parse_general(text: &str) -> Result<Inbound<'_>, ProtocolError> {
    let raw: Raw<'_> = json::object(text)?;
    let event = json::string(raw.event, "event")?;
    match &*event {
        "media" => {
            let m = json::section(raw.media, "media")?;
            let stream_sid = json::borrowed(raw.stream_sid, "streamSid")?;
            if stream_sid.is_empty() {
                return Err(ProtocolError::InvalidValue {
                    field: "streamSid",
                    reason: "must not be empty",
                });
            }
            Ok(Inbound::Media(Media {
                stream_sid,
                sequence_number: json::decimal(raw.sequence_number, "sequenceNumber")?,
                track: Track::parse(m.track, "media.track")?,
                chunk: json::decimal(m.chunk, "media.chunk")?,
                timestamp_ms: json::decimal(m.timestamp, "media.timestamp")?,
                payload: json::borrowed(m.payload, "media.payload")?,
            }))
        }
        "connected" => Ok(Inbound::Connected {
            protocol: json::string(raw.protocol, "protocol")?.into_owned(),
            version: json::string(raw.version, "version")?.into_owned(),
        }),
        "start" => parse_start(raw.start, raw.stream_sid, raw.sequence_number).map(Inbound::Start),
        "dtmf" => {
            let d = json::section(raw.dtmf, "dtmf")?;
            let stream_sid = json::sid(raw.stream_sid, "streamSid")?;
            let sequence_number = json::decimal(raw.sequence_number, "sequenceNumber")?;
            let track = Track::parse(d.track, "dtmf.track")?;
            let digit = json::string(d.digit, "dtmf.digit")?;
            let mut chars = digit.chars();
            let digit = match (chars.next(), chars.next()) {
                (Some(c @ ('0'..='9' | '*' | '#' | 'A'..='D')), None) => c,
                _ => return Err(ProtocolError::InvalidDigit),
            };
            Ok(Inbound::Dtmf(Dtmf {
                stream_sid,
                sequence_number,
                digit,
                track,
            }))
        }
        "mark" => {
            let m = json::section(raw.mark, "mark")?;
            Ok(Inbound::Mark(Mark {
                stream_sid: json::sid(raw.stream_sid, "streamSid")?,
                sequence_number: json::decimal(raw.sequence_number, "sequenceNumber")?,
                name: json::string(m.name, "mark.name")?.into_owned(),
            }))
        }
        "stop" => {
            let s = json::section(raw.stop, "stop")?;
            Ok(Inbound::Stop(Stop {
                stream_sid: json::sid(raw.stream_sid, "streamSid")?,
                sequence_number: json::decimal(raw.sequence_number, "sequenceNumber")?,
                call_sid: json::sid(s.call_sid, "stop.callSid")?,
                account_sid: json::sid(s.account_sid, "stop.accountSid")?,
            }))
        }
        other => Err(ProtocolError::unknown_event(other)),
    }
}

fn parse_start(
    start: Option<Section<Box<RawStart<'_>>>>,
    stream_sid: Option<Val<'_>>,
    sequence_number: Option<Val<'_>>,
) -> Result<Start, ProtocolError> {
    let s = json::section(start, "start")?;
    let stream_sid = json::sid(stream_sid, "streamSid")?;
    let sequence_number = json::decimal(sequence_number, "sequenceNumber")?;
    let inner_sid = json::sid(s.stream_sid, "start.streamSid")?;
    if inner_sid != stream_sid {
        return Err(ProtocolError::StreamSidMismatch);
    }
    let call_sid = json::sid(s.call_sid, "start.callSid")?;
    let account_sid = json::sid(s.account_sid, "start.accountSid")?;
    let tracks = match s.tracks {
        None => return Err(ProtocolError::MissingField("start.tracks")),
        Some(List::Other(found)) => {
            return Err(ProtocolError::WrongType {
                field: "start.tracks",
                expected: "array of strings",
                found,
            })
        }
        Some(List::Items(items)) => items
            .into_iter()
            .map(|v| match v {
                Val::Str(s) => Ok(s.into_owned()),
                other => Err(ProtocolError::WrongType {
                    field: "start.tracks",
                    expected: "array of strings",
                    found: other.kind(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let format = json::section(s.media_format, "start.mediaFormat")?;
    let encoding = json::string(format.encoding, "start.mediaFormat.encoding")?;
    let sample_rate = json::integer(format.sample_rate, "start.mediaFormat.sampleRate")?;
    let channels = json::integer(format.channels, "start.mediaFormat.channels")?;
    if encoding != super::ENCODING
        || sample_rate != super::SAMPLE_RATE
        || channels != super::CHANNELS
    {
        return Err(ProtocolError::unsupported_media_format(
            &encoding,
            sample_rate,
            channels,
        ));
    }
    let custom_parameters = match s.custom_parameters {
        None => BTreeMap::new(),
        Some(Section::Other(found)) => {
            return Err(ProtocolError::WrongType {
                field: "start.customParameters",
                expected: "object of strings",
                found,
            })
        }
        Some(Section::Obj(map)) => map
            .into_iter()
            .map(|(k, v)| match v {
                Val::Str(s) => Ok((k, s.into_owned())),
                other => Err(ProtocolError::WrongType {
                    field: "start.customParameters",
                    expected: "object of strings",
                    found: other.kind(),
                }),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(Start {
        stream_sid,
        call_sid,
        account_sid,
        tracks,
        custom_parameters,
        sequence_number,
    })
}

/// Decode a `media.payload` (standard alphabet, padded, canonical) into `out`; returns the
/// number of bytes written. Allocates nothing.
///
/// [`ProtocolError::PayloadTooLarge`] when the decoded audio would not fit `out` (checked
/// from the length before decoding), [`ProtocolError::InvalidBase64`] for anything that is
/// not base64. An empty payload decodes to 0 bytes.
pub fn decode_payload(payload: &str, out: &mut [u8]) -> Result<usize, ProtocolError> {
    let b = payload.as_bytes();
    if b.len() % 4 != 0 {
        return Err(ProtocolError::InvalidBase64);
    }
    let padding = b.iter().rev().take(2).take_while(|&&c| c == b'=').count();
    let bytes = b.len() / 4 * 3 - padding;
    if bytes > out.len() {
        return Err(ProtocolError::PayloadTooLarge {
            bytes,
            max: out.len(),
        });
    }
    match STANDARD.decode_slice(b, &mut out[..bytes]) {
        Ok(n) if n == bytes => Ok(n),
        _ => Err(ProtocolError::InvalidBase64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_decodes_into_an_exact_buffer() {
        for n in 0..20usize {
            let data: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            let b64 = STANDARD.encode(&data);
            let mut out = vec![0u8; n];
            assert_eq!(decode_payload(&b64, &mut out), Ok(n), "{n}");
            assert_eq!(out, data);
            if n > 0 {
                let mut small = vec![0u8; n - 1];
                assert_eq!(
                    decode_payload(&b64, &mut small),
                    Err(ProtocolError::PayloadTooLarge {
                        bytes: n,
                        max: n - 1
                    })
                );
            }
        }
    }

    #[test]
    fn escaped_borrowed_fields_are_refused_not_copied() {
        let text = r#"{"event":"media","sequenceNumber":"3","streamSid":"MZ1",
            "media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"a\/8="}}"#;
        assert_eq!(
            parse(text),
            Err(ProtocolError::InvalidValue {
                field: "media.payload",
                reason: "JSON escape sequences are not allowed here"
            })
        );
    }

    /// What the fast path accepts, the general parser accepts with the same result.
    fn agree(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        if let Some(fast) = parse_media_fast(text) {
            proptest::prop_assert_eq!(parse_general(text), Ok(Inbound::Media(fast)), "{}", text);
        }
        Ok(())
    }

    const FIELDS: &[&str] = &[
        "/event",
        "/sequenceNumber",
        "/streamSid",
        "/media",
        "/media/track",
        "/media/chunk",
        "/media/timestamp",
        "/media/payload",
        "/extra",
        "/media/extra",
    ];

    fn pool() -> Vec<Option<serde_json::Value>> {
        use serde_json::json;
        vec![
            None,
            Some(json!(null)),
            Some(json!("media")),
            Some(json!("mark")),
            Some(json!("")),
            Some(json!("1")),
            Some(json!("01")),
            Some(json!("x")),
            Some(json!("18446744073709551616")),
            Some(json!(1)),
            Some(json!(true)),
            Some(json!("inbound")),
            Some(json!("outbound_track")),
            Some(json!("both_tracks")),
            Some(json!("é/+=")),
            Some(json!(["media"])),
            Some(json!({"track": "inbound", "chunk": "1", "timestamp": "2", "payload": "AA=="})),
            Some(json!({"track": "inbound", "chunk": 1, "timestamp": "2", "payload": "AA=="})),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 3000,
            failure_persistence: None,
            ..Default::default()
        })]

        #[test]
        fn fast_path_agrees_with_the_general_parser(
            edits in proptest::collection::vec((0..FIELDS.len(), 0..18usize), 0..4),
            escape in 0..5u8,
        ) {
            let mut v: serde_json::Value = serde_json::from_str(
                r#"{"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2",
                "timestamp":"5","payload":"AAEC"},"streamSid":"MZ1"}"#,
            )
            .unwrap();
            let pool = pool();
            for (field, value) in edits {
                let (parent, key) = FIELDS[field].rsplit_once('/').unwrap();
                let parent = if parent.is_empty() { Some(&mut v) } else { v.pointer_mut(parent) };
                if let Some(serde_json::Value::Object(map)) = parent {
                    match &pool[value] {
                        None => { map.remove(key); }
                        Some(value) => { map.insert(key.to_owned(), value.clone()); }
                    }
                }
            }
            let mut text = serde_json::to_string(&v).unwrap();
            // JSON escapes the serializer would not write.
            match escape {
                0 => text = text.replacen("media", "m\\u0065dia", 1),
                1 => text = text.replacen("inbound", "inb\\u006fund", 1),
                2 => text = text.replacen('/', "\\/", 1),
                3 => text = text.replacen('{', r#"{"stop":1,"stop":2,"#, 1),
                _ => {}
            }
            agree(&text)?;
        }
    }

    #[test]
    fn canonical_media_takes_the_fast_path() {
        let text = super::super::sim::media("MZ1", 4, 2, 5, &[1, 2, 3]);
        assert!(parse_media_fast(&text).is_some());
        agree(&text).unwrap();
        // Positional arrays are not objects, on either path.
        let array = r#"["media","4","MZ1",["inbound","2","5","AQID"]]"#;
        assert!(parse_media_fast(array).is_none());
        assert!(parse(array).is_err());
        let nested = r#"{"event":"media","sequenceNumber":"4","streamSid":"MZ1",
            "media":["inbound","2","5","AQID"]}"#;
        assert!(parse_media_fast(nested).is_none());
        assert!(parse(nested).is_err());
    }
}
