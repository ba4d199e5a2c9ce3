//! Twilio Media Streams: WebSocket messages, request signatures and TwiML.
//!
//! Pure code: no sockets, no clock, no async. Bad input is an error value, never a panic.
//!
//! # Messages (<https://www.twilio.com/docs/voice/media-streams/websocket-messages>)
//! - Twilio → us: [`parse`] turns one text frame into an [`Inbound`]: `connected`, `start`,
//!   `media`, `dtmf`, `mark` or `stop`. Numbers Twilio sends as strings (`sequenceNumber`,
//!   `media.chunk`, `media.timestamp`) must be strings of decimal digits; `start.mediaFormat`
//!   must be `audio/x-mulaw`, 8000 Hz, 1 channel. Fields Twilio may add later are ignored.
//! - The hot path (a `media` message 50 times a second per call) allocates nothing: the
//!   stream sid and the base64 payload are borrowed from the input text, and
//!   [`decode_payload`] decodes into a caller-provided buffer.
//! - Us → Twilio: only `media`, `mark` and `clear` exist ([`write_media`],
//!   [`write_media_prepared`], [`write_mark`], [`write_clear`]); each appends to a reusable
//!   `String`. Prompts can be base64-encoded once with [`media_payload_base64`].
//! - The other direction, for tests and the simulated caller: [`sim`] writes what Twilio
//!   sends, and [`parse_outbound`] / [`parse_outbound_for`] check what we send as strictly as
//!   a conforming Twilio would (anything but `media`, `mark`, `clear` is Twilio error 31924).
//!
//! # Signatures (<https://www.twilio.com/docs/usage/security>)
//! [`signature`] and [`validate_signature`]: base64 HMAC-SHA1 keyed with the auth token over
//! the full URL followed by every POST parameter's name and value, sorted by name. For the
//! WebSocket upgrade of a Media Stream (a GET, no body) the signed URL is the `wss://` URL
//! exactly as written in `<Stream url>`, with no parameters.
//!
//! # TwiML
//! [`connect_stream`], [`dial`], [`say_and_hangup`], [`hangup`]: complete documents with
//! every attribute and text value XML-escaped.

mod error;
mod inbound;
mod json;
mod outbound;
mod signature;
pub mod sim;
mod twiml;

pub use error::ProtocolError;
pub use inbound::{decode_payload, parse, Dtmf, Inbound, Mark, Media, Start, Stop, Track};
pub use outbound::{
    media_payload_base64, parse_outbound, parse_outbound_for, write_clear, write_mark, write_media,
    write_media_prepared, Outbound,
};
pub use signature::{signature, validate_signature};
pub use twiml::{connect_stream, dial, hangup, say_and_hangup};

/// The only media format Twilio streams: `start.mediaFormat.encoding`.
pub const ENCODING: &str = "audio/x-mulaw";
/// `start.mediaFormat.sampleRate`.
pub const SAMPLE_RATE: u64 = 8000;
/// `start.mediaFormat.channels`.
pub const CHANNELS: u64 = 1;
