//! Consent log records and their hash chain. Pure: no I/O, no clock.
//!
//! Every step of a call that matters as consent evidence (the disclosure started and played,
//! the key heard, the decision, the bridge answer, the recording reference) is one [`Record`].
//! Records form a single hash chain: each record's hash covers its own contents and the hash of
//! the record before it, so changing, removing or reordering any record is detected by
//! [`verify`] at the first record affected.
//!
//! # Canonical encoding (format version 1)
//! The hash of a record is the lowercase hex SHA-256 of its canonical bytes
//! ([`canonical_bytes`]): the UTF-8 bytes of one JSON object, with no whitespace at all, whose
//! keys are exactly, in this order:
//!
//! | key | JSON value |
//! | --- | --- |
//! | `seq` | the sequence number, an integer (1, 2, 3, …, no gaps) |
//! | `ts` | the commit time string as stored, RFC 3339 UTC with milliseconds (`2026-11-22T18:40:35.123Z`) |
//! | `call_sid` | string |
//! | `stream_sid` | string, or `null` if none |
//! | `kind` | string (`call_started`, …; unknown kinds are hashed like any other string) |
//! | `fields` | an object holding only the fields that are present, keys sorted by byte order; values are strings (fields unknown to this version keep their JSON value, objects inside them with keys sorted the same way) |
//! | `prev_hash` | the previous record's `hash` (64 lowercase hex); [`GENESIS_HASH`] (64 zeros) for seq 1 |
//!
//! Strings are escaped as `serde_json` writes them: `"` and `\` with a backslash, `\b \f \n \r
//! \t` short, other characters below U+0020 as `\u00XX` (lowercase hex), everything else as
//! raw UTF-8. The database stores the same `fields` object text in its `fields` column.
//!
//! Test vector (also a unit test): seq 1, ts `2026-11-22T18:40:35.123Z`, call_sid
//! `CA0123456789abcdef0123456789abcdef`, stream_sid `MZ0123456789abcdef0123456789abcdef`,
//! kind `decision`, fields `decision = record`, `reason = key 1`, prev_hash genesis encodes as
//!
//! ```text
//! {"seq":1,"ts":"2026-11-22T18:40:35.123Z","call_sid":"CA0123456789abcdef0123456789abcdef","stream_sid":"MZ0123456789abcdef0123456789abcdef","kind":"decision","fields":{"decision":"record","reason":"key 1"},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}
//! ```
//!
//! whose hash is `de436150a825dc507090dd0fc9ed52c7c2d59c350f7820e93fde6e85f851099b`
//! (`printf '%s' '<the line above>' | sha256sum` gives the same).
//!
//! # What the chain does and does not prove
//! It is tamper-evident, not tamper-proof: anyone able to rewrite the database can rewrite the
//! whole chain from the altered record on, or cut records off its end. Saving the tip hash
//! printed by `consentline audit verify` somewhere else (and checking it later with
//! `--expect-tip`) is what detects that.
//!
//! # Personal data
//! The chain never holds a caller's number: only its keyed hash ([`pseudonymize`]). The clear
//! number is kept outside the chain, where it can be redacted without breaking verification.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// `prev_hash` of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record is about. Stored as text (`snake_case`), so a database written by a newer
/// version with more kinds still reads and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    CallStarted,
    PromptStarted,
    PromptPlayed,
    PromptInterrupted,
    Key,
    Decision,
    BridgeAnswered,
    RecordingReference,
    CallEnded,
    /// A privacy request filed on the privacy line, or abandoned part-way (status `abandoned`).
    RequestReceived,
    /// A change to a privacy request: status (with its basis when denied) or the one extension.
    RequestUpdated,
    /// A number put on the do-not-contact list (an opt-out).
    DncAdded,
    /// A number (callback, confirmation) was read back; only its length is logged.
    Readback,
    /// The caller keyed in a number; only its length is logged.
    NumberEntered,
    /// The caller switched language.
    LanguageChanged,
    /// The caller asked for a person on the privacy line.
    TransferRequested,
}

impl Kind {
    /// Every kind this version knows.
    pub const ALL: [Kind; 16] = [
        Kind::CallStarted,
        Kind::PromptStarted,
        Kind::PromptPlayed,
        Kind::PromptInterrupted,
        Kind::Key,
        Kind::Decision,
        Kind::BridgeAnswered,
        Kind::RecordingReference,
        Kind::CallEnded,
        Kind::RequestReceived,
        Kind::RequestUpdated,
        Kind::DncAdded,
        Kind::Readback,
        Kind::NumberEntered,
        Kind::LanguageChanged,
        Kind::TransferRequested,
    ];

    /// The stored name, e.g. `prompt_played`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CallStarted => "call_started",
            Kind::PromptStarted => "prompt_started",
            Kind::PromptPlayed => "prompt_played",
            Kind::PromptInterrupted => "prompt_interrupted",
            Kind::Key => "key",
            Kind::Decision => "decision",
            Kind::BridgeAnswered => "bridge_answered",
            Kind::RecordingReference => "recording_reference",
            Kind::CallEnded => "call_ended",
            Kind::RequestReceived => "request_received",
            Kind::RequestUpdated => "request_updated",
            Kind::DncAdded => "dnc_added",
            Kind::Readback => "readback",
            Kind::NumberEntered => "number_entered",
            Kind::LanguageChanged => "language_changed",
            Kind::TransferRequested => "transfer_requested",
        }
    }

    /// The kind with this stored name, if this version knows it.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The facts a record carries. Every field is optional text; absent fields are left out of
/// the JSON and of the hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    /// The called number or line name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Keyed hash of the caller's number ([`pseudonymize`]); never the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// SHA-256 (hex) of exactly the audio sent for the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit: Option<String>,
    /// `inband` (heard by our receiver) or `event` (the provider's DTMF message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit_source: Option<String>,
    /// Time within the call, milliseconds, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
    /// `record` or `no_record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_sid: Option<String>,
    /// What the bridge answer was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Privacy request: its confirmation number (10 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    /// Privacy request: `know`, `delete`, `opt_out`, `correct` or `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
    /// Privacy request: `consumer` or `agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// Privacy request: `received`, `awaiting_verification`, `verifying`, `fulfilled`,
    /// `denied` or `abandoned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Privacy request: how it was made (`toll_free_phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manner: Option<String>,
    /// Privacy request: when it was received, a record `ts`-form time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// Privacy request: keyed hash of the callback number ([`pseudonymize`]); never the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<String>,
    /// Privacy request: respond by this date (`YYYY-MM-DD`, 45 days after receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Privacy request: the response deadline after its one extension (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_due: Option<String>,
    /// Opt-out or limit: honour by this date (`YYYY-MM-DD`, 15 business days after receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honor_due: Option<String>,
    /// Privacy request: confirm receipt by this date (`YYYY-MM-DD`, 10 business days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_due: Option<String>,
    /// Privacy request: the basis of a denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// Do-not-contact: keyed hash of the number ([`pseudonymize`]); never the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Do-not-contact: the date of the opt-out (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_date: Option<String>,
    /// Do-not-contact: where the entry came from (a confirmation number, or `staff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Fields this version does not know (written by a newer one). Kept as read so that such
    /// records still verify; nothing in this version writes them. A key that names one of the
    /// fields above is ignored.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Fields {
    /// Names of the known fields, in byte order (the canonical order).
    pub const NAMES: [&'static str; 29] = [
        "answer",
        "at_ms",
        "attempt",
        "basis",
        "callback",
        "caller",
        "confirmation",
        "decision",
        "detail",
        "digit",
        "digit_source",
        "due",
        "extended_due",
        "honor_due",
        "language",
        "line",
        "manner",
        "number",
        "opt_out_date",
        "prompt_id",
        "prompt_sha256",
        "reason",
        "receipt_due",
        "received",
        "recording_sid",
        "request_type",
        "requester",
        "source",
        "status",
    ];

    /// The value of a known field by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        let v = match name {
            "line" => &self.line,
            "caller" => &self.caller,
            "prompt_id" => &self.prompt_id,
            "language" => &self.language,
            "prompt_sha256" => &self.prompt_sha256,
            "digit" => &self.digit,
            "digit_source" => &self.digit_source,
            "at_ms" => &self.at_ms,
            "attempt" => &self.attempt,
            "decision" => &self.decision,
            "reason" => &self.reason,
            "recording_sid" => &self.recording_sid,
            "answer" => &self.answer,
            "detail" => &self.detail,
            "confirmation" => &self.confirmation,
            "request_type" => &self.request_type,
            "requester" => &self.requester,
            "status" => &self.status,
            "manner" => &self.manner,
            "received" => &self.received,
            "callback" => &self.callback,
            "due" => &self.due,
            "extended_due" => &self.extended_due,
            "honor_due" => &self.honor_due,
            "receipt_due" => &self.receipt_due,
            "basis" => &self.basis,
            "number" => &self.number,
            "opt_out_date" => &self.opt_out_date,
            "source" => &self.source,
            _ => return None,
        };
        v.as_deref()
    }

    /// Unknown fields that take part in the encoding (those not shadowing a known name).
    pub fn extra_fields(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.extra
            .iter()
            .filter(|(k, _)| !Fields::NAMES.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The canonical JSON object text of the present fields (keys sorted, no whitespace).
    /// This is both the `fields` part of the hashed encoding and the database column.
    pub fn canonical_json(&self) -> String {
        let mut out = String::with_capacity(128);
        self.write_canonical(&mut out);
        out
    }

    fn write_canonical(&self, out: &mut String) {
        let mut all: BTreeMap<&str, Val<'_>> = BTreeMap::new();
        for name in Fields::NAMES {
            if let Some(v) = self.get(name) {
                all.insert(name, Val::Str(v));
            }
        }
        for (k, v) in self.extra_fields() {
            all.insert(k, Val::Json(v));
        }
        out.push('{');
        for (i, (k, v)) in all.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_str(out, k);
            out.push(':');
            match v {
                Val::Str(s) => write_json_str(out, s),
                Val::Json(j) => write_json_value(out, j),
            }
        }
        out.push('}');
    }
}

enum Val<'a> {
    Str(&'a str),
    Json(&'a serde_json::Value),
}

/// What a caller appends: the log adds seq, time and the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub call_sid: String,
    pub stream_sid: Option<String>,
    pub kind: Kind,
    pub fields: Fields,
}

/// One record of the log, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// Commit time, RFC 3339 UTC with milliseconds: `2026-11-22T18:40:35.123Z`.
    pub ts: String,
    pub call_sid: String,
    pub stream_sid: Option<String>,
    /// A [`Kind`] name, or a newer kind this version does not know.
    pub kind: String,
    pub fields: Fields,
    /// 64 lowercase hex: the previous record's hash, or [`GENESIS_HASH`].
    pub prev_hash: String,
    /// 64 lowercase hex: SHA-256 of [`canonical_bytes`].
    pub hash: String,
}

impl Record {
    /// Make the record that follows `prev` (a hash) with this seq, time and entry.
    pub fn seal(prev: &str, seq: u64, ts: String, entry: Entry) -> Record {
        let mut r = Record {
            seq,
            ts,
            call_sid: entry.call_sid,
            stream_sid: entry.stream_sid,
            kind: entry.kind.as_str().to_string(),
            fields: entry.fields,
            prev_hash: prev.to_string(),
            hash: String::new(),
        };
        r.hash = compute_hash(&r);
        r
    }

    /// The kind, if this version knows it.
    pub fn known_kind(&self) -> Option<Kind> {
        Kind::parse(&self.kind)
    }
}

/// The canonical bytes of a record (see the module documentation). `hash` is not part of them.
pub fn canonical_bytes(r: &Record) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str("{\"seq\":");
    out.push_str(&r.seq.to_string());
    out.push_str(",\"ts\":");
    write_json_str(&mut out, &r.ts);
    out.push_str(",\"call_sid\":");
    write_json_str(&mut out, &r.call_sid);
    out.push_str(",\"stream_sid\":");
    match &r.stream_sid {
        Some(s) => write_json_str(&mut out, s),
        None => out.push_str("null"),
    }
    out.push_str(",\"kind\":");
    write_json_str(&mut out, &r.kind);
    out.push_str(",\"fields\":");
    r.fields.write_canonical(&mut out);
    out.push_str(",\"prev_hash\":");
    write_json_str(&mut out, &r.prev_hash);
    out.push('}');
    out.into_bytes()
}

/// Lowercase hex SHA-256 of [`canonical_bytes`].
pub fn compute_hash(r: &Record) -> String {
    hex(&Sha256::digest(canonical_bytes(r)))
}

fn write_json_str(out: &mut String, s: &str) {
    // serde_json's string escaping; writing a &str to a String cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn write_json_value(out: &mut String, v: &serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(out, k);
                out.push(':');
                write_json_value(out, v);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_value(out, v);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// True for exactly 64 lowercase hex digits (the form of every hash in the log).
pub fn is_hash_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The first record that does not verify, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    pub seq: u64,
    pub reason: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {}: {}", self.seq, self.reason)
    }
}

impl std::error::Error for VerifyError {}

/// Checks a chain one record at a time, in seq order (what [`verify`] does, for callers that
/// read records as a stream and may meet unreadable ones).
#[derive(Debug, Clone)]
pub struct Verifier {
    next_seq: u64,
    tip: String,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            next_seq: 1,
            tip: GENESIS_HASH.to_string(),
        }
    }
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Check the next record.
    pub fn push(&mut self, r: &Record) -> Result<(), VerifyError> {
        let expected = self.next_seq;
        if r.seq > expected {
            return Err(VerifyError {
                seq: expected,
                reason: if r.seq == expected + 1 {
                    format!("record {expected} missing")
                } else {
                    format!("records {expected} to {} missing", r.seq - 1)
                },
            });
        }
        if r.seq < expected {
            return Err(VerifyError {
                seq: r.seq,
                reason: format!("record {} out of order: expected record {expected}", r.seq),
            });
        }
        if compute_hash(r) != r.hash {
            return Err(VerifyError {
                seq: r.seq,
                reason: "record contents altered".into(),
            });
        }
        if r.prev_hash != self.tip {
            return Err(VerifyError {
                seq: r.seq,
                reason: if expected == 1 {
                    "chain broken: prev_hash of the first record is not the genesis hash".into()
                } else {
                    format!(
                        "chain broken: prev_hash does not match record {}",
                        expected - 1
                    )
                },
            });
        }
        self.tip.clone_from(&r.hash);
        self.next_seq += 1;
        Ok(())
    }

    /// Report a record that could not even be read (its seq if known, else the next one).
    pub fn unreadable(&self, seq: Option<u64>, why: &str) -> VerifyError {
        VerifyError {
            seq: seq.unwrap_or(self.next_seq),
            reason: format!("record unreadable: {why}"),
        }
    }

    /// Records verified so far.
    pub fn count(&self) -> u64 {
        self.next_seq - 1
    }

    /// Hash of the last verified record ([`GENESIS_HASH`] if none).
    pub fn tip(&self) -> &str {
        &self.tip
    }
}

/// Verify a whole chain given in seq order, from seq 1. Returns the number of records, or the
/// first bad seq and why.
pub fn verify(records: impl Iterator<Item = Record>) -> Result<u64, VerifyError> {
    let mut v = Verifier::new();
    for r in records {
        v.push(&r)?;
    }
    Ok(v.count())
}

/// A phone number normalized for hashing: `+` and its digits (`+1 (415) 555-0100` →
/// `+14155550100`). A caller ID without digits (`anonymous`) is kept as is, trimmed and
/// lowercased, so it still maps to one fixed pseudonym.
pub fn normalize_number(number: &str) -> String {
    let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        number.trim().to_lowercase()
    } else {
        format!("+{digits}")
    }
}

/// Keyed hash of a phone number: lowercase hex HMAC-SHA256 under `secret` of
/// [`normalize_number`]. Without the secret, pseudonyms cannot be reversed by trying every
/// number.
pub fn pseudonymize(secret: &[u8], number: &str) -> String {
    // HMAC accepts keys of any length: new_from_slice cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(normalize_number(number).as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// A phone number (or other caller identity) safe to print in logs: the digits masked but the
/// last two (`+14155550100` → `+*********00`); an identity without digits prints as
/// `[redacted]`.
#[derive(Clone, Copy)]
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits: Vec<char> = self.0.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            return f.write_str("[redacted]");
        }
        if self.0.trim_start().starts_with('+') {
            f.write_str("+")?;
        }
        let keep = if digits.len() > 4 { 2 } else { 0 };
        for _ in 0..digits.len() - keep {
            f.write_str("*")?;
        }
        for c in &digits[digits.len() - keep..] {
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The record time format: RFC 3339 UTC with exactly three fractional digits and `Z`.
pub const TS_FORMAT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// Format a time as a record `ts` (converted to UTC).
pub fn format_ts(t: time::OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(TS_FORMAT).unwrap_or_else(|_| {
        // Only years outside 0..=9999 fail; clamp rather than lose the record.
        "9999-12-31T23:59:59.999Z".to_string()
    })
}

/// Parse an RFC 3339 time (any offset), or a bare `YYYY-MM-DD` meaning midnight UTC, into the
/// record `ts` form, so that it compares with stored times as text.
pub fn parse_ts(s: &str) -> Result<String, String> {
    let s = s.trim();
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(format_ts(t));
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, day) {
        return Ok(format_ts(d.midnight().assume_utc()));
    }
    Err(format!(
        "{s:?} is not an RFC 3339 time (2026-11-22T18:40:35Z) or a date (2026-11-22)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_record() -> Record {
        Record::seal(
            GENESIS_HASH,
            1,
            "2026-11-22T18:40:35.123Z".into(),
            Entry {
                call_sid: "CA0123456789abcdef0123456789abcdef".into(),
                stream_sid: Some("MZ0123456789abcdef0123456789abcdef".into()),
                kind: Kind::Decision,
                fields: Fields {
                    reason: Some("key 1".into()),
                    decision: Some("record".into()),
                    ..Fields::default()
                },
            },
        )
    }

    #[test]
    fn test_vector() {
        let r = vector_record();
        assert_eq!(
            String::from_utf8(canonical_bytes(&r)).unwrap(),
            r#"{"seq":1,"ts":"2026-11-22T18:40:35.123Z","call_sid":"CA0123456789abcdef0123456789abcdef","stream_sid":"MZ0123456789abcdef0123456789abcdef","kind":"decision","fields":{"decision":"record","reason":"key 1"},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#
        );
        assert_eq!(r.hash, hex(&Sha256::digest(canonical_bytes(&r))));
        assert_eq!(r.hash, VECTOR_HASH);
        // No stream, no fields, escaping.
        let r2 = Record::seal(
            &r.hash,
            2,
            "2026-11-22T18:40:36.000Z".into(),
            Entry {
                call_sid: "CA\"x\\y\n".into(),
                stream_sid: None,
                kind: Kind::CallEnded,
                fields: Fields::default(),
            },
        );
        assert_eq!(
            String::from_utf8(canonical_bytes(&r2)).unwrap(),
            format!(
                r#"{{"seq":2,"ts":"2026-11-22T18:40:36.000Z","call_sid":"CA\"x\\y\n","stream_sid":null,"kind":"call_ended","fields":{{}},"prev_hash":"{}"}}"#,
                VECTOR_HASH
            )
        );
        assert_eq!(r2.hash, VECTOR_HASH_2);
        assert_eq!(verify([r, r2].into_iter()), Ok(2));
    }

    const VECTOR_HASH: &str = "de436150a825dc507090dd0fc9ed52c7c2d59c350f7820e93fde6e85f851099b";
    const VECTOR_HASH_2: &str = "3dba50ff5146b81540cc44d9eb1565d2d118dea3f6482826f7b36263c075d97b";

    #[test]
    fn fields_are_sorted_and_match_serde() {
        let f = Fields {
            prompt_id: Some("consent.disclosure".into()),
            language: Some("en".into()),
            prompt_sha256: Some("ab".into()),
            attempt: Some("1".into()),
            ..Fields::default()
        };
        let c = f.canonical_json();
        assert_eq!(
            c,
            r#"{"attempt":"1","language":"en","prompt_id":"consent.disclosure","prompt_sha256":"ab"}"#
        );
        let back: Fields = serde_json::from_str(&c).unwrap();
        assert_eq!(back, f);
        let mut sorted = Fields::NAMES;
        sorted.sort_unstable();
        assert_eq!(sorted, Fields::NAMES);
    }

    #[test]
    fn unknown_fields_and_kinds_round_trip_and_verify() {
        let text = r#"{"zeta":{"b":1,"a":[true,null]},"digit":"1","alpha":"x"}"#;
        let f: Fields = serde_json::from_str(text).unwrap();
        assert_eq!(f.digit.as_deref(), Some("1"));
        assert_eq!(
            f.canonical_json(),
            r#"{"alpha":"x","digit":"1","zeta":{"a":[true,null],"b":1}}"#
        );
        let mut r = Record {
            seq: 1,
            ts: "2026-01-01T00:00:00.000Z".into(),
            call_sid: "CA1".into(),
            stream_sid: None,
            kind: "consent_revoked".into(),
            fields: f,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        r.hash = compute_hash(&r);
        assert_eq!(r.known_kind(), None);
        let reread: Fields = serde_json::from_str(&r.fields.canonical_json()).unwrap();
        let mut r2 = r.clone();
        r2.fields = reread;
        assert_eq!(verify([r2].into_iter()), Ok(1));
    }

    fn chain(n: u64) -> Vec<Record> {
        let mut out: Vec<Record> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_HASH.to_string(), |r| r.hash.clone());
            out.push(Record::seal(
                &prev,
                seq,
                format!("2026-11-22T18:40:{:02}.000Z", seq % 60),
                Entry {
                    call_sid: format!("CA{}", seq % 3),
                    stream_sid: None,
                    kind: Kind::Key,
                    fields: Fields {
                        digit: Some((seq % 10).to_string()),
                        ..Fields::default()
                    },
                },
            ));
        }
        out
    }

    #[test]
    fn verify_names_the_first_bad_record() {
        let good = chain(6);
        assert_eq!(verify(good.clone().into_iter()), Ok(6));
        assert_eq!(verify(std::iter::empty()), Ok(0));

        let mut c = good.clone();
        c[3].fields.digit = Some("9".into());
        let e = verify(c.into_iter()).unwrap_err();
        assert_eq!((e.seq, e.reason.as_str()), (4, "record contents altered"));

        // Rewriting a record consistently still breaks the link from the next one.
        let mut c = good.clone();
        c[2].ts = "2027-01-01T00:00:00.000Z".into();
        c[2].hash = compute_hash(&c[2]);
        let e = verify(c.into_iter()).unwrap_err();
        assert_eq!(e.seq, 4);
        assert_eq!(e.reason, "chain broken: prev_hash does not match record 3");

        let mut c = good.clone();
        c.remove(2);
        let e = verify(c.into_iter()).unwrap_err();
        assert_eq!((e.seq, e.reason.as_str()), (3, "record 3 missing"));

        let mut c = good.clone();
        c.remove(0);
        assert_eq!(verify(c.into_iter()).unwrap_err().seq, 1);

        let mut c = good.clone();
        c.swap(1, 4);
        let e = verify(c.into_iter()).unwrap_err();
        assert_eq!(e.seq, 2);

        let mut c = good;
        c[0].prev_hash = "1".repeat(64);
        c[0].hash = compute_hash(&c[0]);
        let e = verify(c.into_iter()).unwrap_err();
        assert_eq!(e.seq, 1);
        assert!(e.reason.contains("genesis"), "{}", e.reason);
    }

    #[test]
    fn pseudonyms_normalize_and_depend_on_the_key() {
        let k = [7u8; 32];
        let a = pseudonymize(&k, "+1 (415) 555-0100");
        assert_eq!(a, pseudonymize(&k, "+14155550100"));
        assert!(is_hash_hex(&a));
        assert_ne!(a, pseudonymize(&k, "+14155550101"));
        assert_ne!(a, pseudonymize(&[8u8; 32], "+14155550100"));
        assert!(!a.contains("4155550100"));
        assert_eq!(
            pseudonymize(&k, "Anonymous"),
            pseudonymize(&k, " anonymous ")
        );
        assert_eq!(normalize_number("+1 (415) 555-0100"), "+14155550100");
    }

    #[test]
    fn redacted_keeps_two_digits() {
        assert_eq!(Redacted("+14155550100").to_string(), "+*********00");
        assert_eq!(Redacted("+1 (415) 555-0100").to_string(), "+*********00");
        assert_eq!(Redacted("4155550100").to_string(), "********00");
        assert_eq!(Redacted("123").to_string(), "***");
        assert_eq!(Redacted("anonymous").to_string(), "[redacted]");
        assert_eq!(format!("{:?}", Redacted("+14155550100")), "+*********00");
    }

    #[test]
    fn kinds_are_snake_case() {
        for k in Kind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("nope"), None);
    }

    #[test]
    fn timestamps() {
        let t = time::macros::datetime!(2026-11-22 10:40:35.123456 -08:00);
        assert_eq!(format_ts(t), "2026-11-22T18:40:35.123Z");
        assert_eq!(
            parse_ts("2026-11-22T10:40:35-08:00").unwrap(),
            "2026-11-22T18:40:35.000Z"
        );
        assert_eq!(parse_ts("2026-11-22").unwrap(), "2026-11-22T00:00:00.000Z");
        assert!(parse_ts("yesterday").is_err());
    }
}
