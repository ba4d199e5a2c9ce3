//! What Twilio sends, written exactly as Twilio writes it (numbers as strings, the field
//! order of Twilio's reference): for tests and the simulated caller.
//!
//! Every function returns a message that [`parse`](super::parse) accepts, given non-empty
//! sids (and, for [`dtmf`], one of `0-9 * # A-D`). Text is JSON-escaped, but `parse` borrows
//! a `media` message's stream sid, so [`media`]'s sid must not need escaping (`"`, `\`,
//! control characters); Twilio's sids never do.

use super::json::push_str_literal;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::fmt::Write as _;

/// `{"event":"connected","protocol":"Call","version":"1.0.0"}`.
pub fn connected() -> String {
    r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#.to_owned()
}

/// `start` with sequence number 1, track `inbound`, μ-law 8000 Hz mono and `params` as
/// `customParameters`.
pub fn start(
    stream_sid: &str,
    call_sid: &str,
    account_sid: &str,
    params: &[(&str, &str)],
) -> String {
    let mut s = String::with_capacity(320);
    s.push_str(r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"#);
    push_str_literal(&mut s, account_sid);
    s.push_str(r#","streamSid":"#);
    push_str_literal(&mut s, stream_sid);
    s.push_str(r#","callSid":"#);
    push_str_literal(&mut s, call_sid);
    s.push_str(r#","tracks":["inbound"],"#);
    s.push_str(r#""mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"#);
    s.push_str(r#""customParameters":{"#);
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_str_literal(&mut s, name);
        s.push(':');
        push_str_literal(&mut s, value);
    }
    s.push_str(r#"}},"streamSid":"#);
    push_str_literal(&mut s, stream_sid);
    s.push('}');
    s
}

/// `media` on the inbound track: `mulaw` base64-encoded.
pub fn media(stream_sid: &str, seq: u64, chunk: u64, timestamp_ms: u64, mulaw: &[u8]) -> String {
    let mut s = String::with_capacity(160 + stream_sid.len() + mulaw.len().div_ceil(3) * 4);
    let _ = write!(s, r#"{{"event":"media","sequenceNumber":"{seq}","#);
    let _ = write!(
        s,
        r#""media":{{"track":"inbound","chunk":"{chunk}","timestamp":"{timestamp_ms}","payload":""#
    );
    STANDARD.encode_string(mulaw, &mut s);
    s.push_str(r#""},"streamSid":"#);
    push_str_literal(&mut s, stream_sid);
    s.push('}');
    s
}

/// `dtmf`: one key on `inbound_track`.
pub fn dtmf(stream_sid: &str, seq: u64, digit: char) -> String {
    let mut s = String::with_capacity(128 + stream_sid.len());
    s.push_str(r#"{"event":"dtmf","streamSid":"#);
    push_str_literal(&mut s, stream_sid);
    let _ = write!(
        s,
        r#","sequenceNumber":"{seq}","dtmf":{{"track":"inbound_track","digit":"#
    );
    let mut buf = [0u8; 4];
    push_str_literal(&mut s, digit.encode_utf8(&mut buf));
    s.push_str("}}");
    s
}

/// `mark`: the echo of a mark named `name`.
pub fn mark(stream_sid: &str, seq: u64, name: &str) -> String {
    let mut s = String::with_capacity(96 + stream_sid.len() + name.len());
    let _ = write!(
        s,
        r#"{{"event":"mark","sequenceNumber":"{seq}","streamSid":"#
    );
    push_str_literal(&mut s, stream_sid);
    s.push_str(r#","mark":{"name":"#);
    push_str_literal(&mut s, name);
    s.push_str("}}");
    s
}

/// `stop`.
pub fn stop(stream_sid: &str, seq: u64, call_sid: &str, account_sid: &str) -> String {
    let mut s = String::with_capacity(160 + stream_sid.len());
    let _ = write!(
        s,
        r#"{{"event":"stop","sequenceNumber":"{seq}","stop":{{"accountSid":"#
    );
    push_str_literal(&mut s, account_sid);
    s.push_str(r#","callSid":"#);
    push_str_literal(&mut s, call_sid);
    s.push_str(r#"},"streamSid":"#);
    push_str_literal(&mut s, stream_sid);
    s.push('}');
    s
}
