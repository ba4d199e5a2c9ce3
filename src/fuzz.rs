//! Fuzz entry points: one per target, each taking arbitrary bytes.
//!
//! The cargo-fuzz targets in `fuzz/` call these, and `tests/fuzz_seeds.rs` runs the same
//! functions on the seed corpora and on proptest inputs, so CI checks them on stable Rust.
//! Every function panics only when an invariant is broken (that is the finding); bad input
//! itself must come back as an error value. What each one checks is in its docs and in
//! `fuzz/README.md`.

use crate::audio;
use crate::call::{
    ConsentCall, ConsentPrompts, ConsentSettings, Decision, Filed, Flow, Input, KeySource, Millis,
    Outcome, Output, PrivacyCall, PrivacyPrompts, PrivacySettings, Step, Timer,
};
use crate::media::dtmf::{Config, Event, Key, Profile, Receiver};
use crate::media::{g711, level, FRAME_SAMPLES, SAMPLE_RATE};
use crate::prompt::render::{SILENT_DBM0, TARGET_DBM0};
use crate::prompt::{Catalog, CatalogError, LoadOptions, Problem, Prompt};
use crate::protocol::twilio::{self, Inbound, Outbound, ProtocolError, Track};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

// ---------------------------------------------------------------------------------------------
// twilio_message
// ---------------------------------------------------------------------------------------------

/// One WebSocket text frame through both Twilio parsers (bytes taken as lossy UTF-8).
///
/// Checks: every error's text fits a close reason; an accepted inbound message written out
/// again (canonically, and with the `sim` writers Twilio's shape allows) parses back equal;
/// a `media` payload decodes canonically or is refused, never mis-sized; an accepted outbound
/// message is refused for another stream and round-trips through the `write_*` functions.
/// Returns the event accepted (`"outbound-mark"` etc. for the other direction), or
/// `"invalid"`.
pub fn twilio_message(data: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(data);
    let inbound = match twilio::parse(&text) {
        Ok(message) => {
            check_inbound(&message);
            Some(message.event())
        }
        Err(e) => {
            check_error_text(&e);
            None
        }
    };
    let outbound = match twilio::parse_outbound(&text) {
        Ok(message) => Some(check_outbound(&text, message)),
        Err(e) => {
            check_error_text(&e);
            None
        }
    };
    inbound.or(outbound).unwrap_or("invalid")
}

fn check_error_text(e: &ProtocolError) {
    let text = e.to_string();
    assert!(!text.is_empty(), "empty error text for {e:?}");
    assert!(
        text.len() <= ProtocolError::MAX_DISPLAY_LEN,
        "error text of {} bytes does not fit a close reason: {text}",
        text.len()
    );
}

fn check_inbound(message: &Inbound<'_>) {
    if message.event() != "connected" {
        assert!(
            message.stream_sid().is_some_and(|s| !s.is_empty()),
            "{message:?} without a stream sid"
        );
        assert!(message.sequence_number().is_some(), "{message:?}");
    }
    // Written out canonically, the message parses back to itself.
    let canonical = write_inbound(message);
    assert_eq!(
        twilio::parse(&canonical).as_ref(),
        Ok(message),
        "canonical form {canonical} does not parse back"
    );
    // The simulated Twilio writes what it can express of the same message.
    let (sim, expected): (String, Inbound<'_>) = match message {
        Inbound::Connected { protocol, version } => {
            if protocol != "Call" || version != "1.0.0" {
                return;
            }
            (twilio::sim::connected(), message.clone())
        }
        Inbound::Start(s) => {
            let params: Vec<(&str, &str)> = s
                .custom_parameters
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let mut expected = s.clone();
            expected.sequence_number = 1;
            expected.tracks = vec!["inbound".into()];
            (
                twilio::sim::start(&s.stream_sid, &s.call_sid, &s.account_sid, &params),
                Inbound::Start(expected),
            )
        }
        Inbound::Media(m) => {
            let Some(audio) = check_payload(m.payload) else {
                return;
            };
            let sim = twilio::sim::media(
                m.stream_sid,
                m.sequence_number,
                m.chunk,
                m.timestamp_ms,
                &audio,
            );
            // Borrowed fields can't outlive `sim`: compare field by field.
            match twilio::parse(&sim) {
                Ok(Inbound::Media(back)) => {
                    assert_eq!(back.stream_sid, m.stream_sid);
                    assert_eq!(back.sequence_number, m.sequence_number);
                    assert_eq!(back.track, Track::Inbound);
                    assert_eq!(back.chunk, m.chunk);
                    assert_eq!(back.timestamp_ms, m.timestamp_ms);
                    assert_eq!(back.payload, m.payload, "payload not canonical");
                }
                other => panic!("sim media {sim} parsed as {other:?}"),
            }
            return;
        }
        Inbound::Dtmf(d) => {
            let mut expected = d.clone();
            expected.track = Track::Inbound;
            (
                twilio::sim::dtmf(&d.stream_sid, d.sequence_number, d.digit),
                Inbound::Dtmf(expected),
            )
        }
        Inbound::Mark(m) => (
            twilio::sim::mark(&m.stream_sid, m.sequence_number, &m.name),
            message.clone(),
        ),
        Inbound::Stop(s) => (
            twilio::sim::stop(
                &s.stream_sid,
                s.sequence_number,
                &s.call_sid,
                &s.account_sid,
            ),
            message.clone(),
        ),
    };
    assert_eq!(
        twilio::parse(&sim),
        Ok(expected),
        "sim writer output {sim} does not parse back"
    );
}

/// Decode a `media` payload both into an exact buffer and into one 20 ms frame; returns the
/// audio when it is valid base64. A decoded payload must re-encode to the same text
/// (canonical base64 only).
fn check_payload(payload: &str) -> Option<Vec<u8>> {
    let padding = payload
        .bytes()
        .rev()
        .take(2)
        .take_while(|&b| b == b'=')
        .count();
    let exact = (payload.len() / 4 * 3).saturating_sub(padding);
    let mut out = vec![0u8; exact];
    let decoded = match twilio::decode_payload(payload, &mut out) {
        Ok(n) => {
            assert_eq!(n, exact, "decoded length of {payload:?}");
            assert_eq!(
                STANDARD.encode(&out[..n]),
                payload,
                "non-canonical accepted"
            );
            Some(out)
        }
        Err(ProtocolError::InvalidBase64) => None,
        Err(e) => panic!("{payload:?} into an exact buffer: {e:?}"),
    };
    let mut frame = [0u8; FRAME_SAMPLES];
    match (twilio::decode_payload(payload, &mut frame), &decoded) {
        (Ok(n), Some(audio)) => assert_eq!(&frame[..n], &audio[..]),
        (Err(ProtocolError::PayloadTooLarge { bytes, max }), _) => {
            assert!(bytes > max && max == FRAME_SAMPLES && bytes == exact);
        }
        (Err(ProtocolError::InvalidBase64), None) => {}
        (result, _) => panic!("{payload:?} into a frame: {result:?} vs exact {decoded:?}"),
    }
    decoded
}

/// A canonical JSON rendering of an inbound message (all documented fields, numbers as
/// Twilio's strings).
fn write_inbound(message: &Inbound<'_>) -> String {
    use serde_json::json;
    let value = match message {
        Inbound::Connected { protocol, version } => {
            json!({"event": "connected", "protocol": protocol, "version": version})
        }
        Inbound::Start(s) => json!({
            "event": "start",
            "sequenceNumber": s.sequence_number.to_string(),
            "streamSid": s.stream_sid,
            "start": {
                "accountSid": s.account_sid,
                "streamSid": s.stream_sid,
                "callSid": s.call_sid,
                "tracks": s.tracks,
                "mediaFormat": {
                    "encoding": twilio::ENCODING,
                    "sampleRate": twilio::SAMPLE_RATE,
                    "channels": twilio::CHANNELS,
                },
                "customParameters": s.custom_parameters,
            },
        }),
        Inbound::Media(m) => json!({
            "event": "media",
            "sequenceNumber": m.sequence_number.to_string(),
            "streamSid": m.stream_sid,
            "media": {
                "track": m.track.as_str(),
                "chunk": m.chunk.to_string(),
                "timestamp": m.timestamp_ms.to_string(),
                "payload": m.payload,
            },
        }),
        Inbound::Dtmf(d) => json!({
            "event": "dtmf",
            "sequenceNumber": d.sequence_number.to_string(),
            "streamSid": d.stream_sid,
            "dtmf": {"track": format!("{}_track", d.track.as_str()), "digit": d.digit.to_string()},
        }),
        Inbound::Mark(m) => json!({
            "event": "mark",
            "sequenceNumber": m.sequence_number.to_string(),
            "streamSid": m.stream_sid,
            "mark": {"name": m.name},
        }),
        Inbound::Stop(s) => json!({
            "event": "stop",
            "sequenceNumber": s.sequence_number.to_string(),
            "streamSid": s.stream_sid,
            "stop": {"accountSid": s.account_sid, "callSid": s.call_sid},
        }),
    };
    value.to_string()
}

fn check_outbound(text: &str, message: Outbound) -> &'static str {
    let value: serde_json::Value = serde_json::from_str(text).expect("accepted text is JSON");
    let sid = value["streamSid"]
        .as_str()
        .expect("accepted outbound has a string streamSid");
    assert_eq!(twilio::parse_outbound_for(text, sid).as_ref(), Ok(&message));
    let other = format!("{sid}x");
    assert_eq!(
        twilio::parse_outbound_for(text, &other),
        Err(ProtocolError::StreamSidMismatch)
    );
    let mut written = String::new();
    let kind = match &message {
        Outbound::Media { payload } => {
            twilio::write_media(&mut written, sid, payload);
            let mut prepared = String::new();
            twilio::write_media_prepared(
                &mut prepared,
                sid,
                &twilio::media_payload_base64(payload),
            );
            assert_eq!(prepared, written);
            "outbound-media"
        }
        Outbound::Mark { name } => {
            twilio::write_mark(&mut written, sid, name);
            "outbound-mark"
        }
        Outbound::Clear => {
            twilio::write_clear(&mut written, sid);
            "outbound-clear"
        }
    };
    assert_eq!(
        twilio::parse_outbound_for(&written, sid),
        Ok(message),
        "{written} does not parse back"
    );
    kind
}

// ---------------------------------------------------------------------------------------------
// dtmf_receiver
// ---------------------------------------------------------------------------------------------

/// Bytes of the `dtmf_receiver` header before the samples.
pub const DTMF_HEADER: usize = 3;

/// How `dtmf_receiver` reads its input: a 3-byte header, then samples.
///
/// Byte 0: bits 0-1 the sample encoding (0 μ-law codes, 1 A-law codes, 2-3 16-bit
/// little-endian PCM); bits 2-3 the profile (0 AT&T, 1 NTT, 2 ETSI, 3 AT&T with the timing of
/// byte 2). Byte 1: the seed of a random chunking. Byte 2: `hits_to_start` (low nibble) and
/// `misses_to_end` (high nibble) for profile 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfSetup {
    pub encoding: SampleEncoding,
    /// `None`: AT&T limits with `hits`/`misses` below.
    pub profile: Option<Profile>,
    pub chunk_seed: u8,
    pub hits: u8,
    pub misses: u8,
}

/// How the samples after the header are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleEncoding {
    Ulaw,
    Alaw,
    Pcm16,
}

impl DtmfSetup {
    pub fn to_bytes(self) -> [u8; DTMF_HEADER] {
        let encoding = match self.encoding {
            SampleEncoding::Ulaw => 0,
            SampleEncoding::Alaw => 1,
            SampleEncoding::Pcm16 => 2,
        };
        let profile = match self.profile {
            Some(Profile::Att) => 0,
            Some(Profile::Ntt) => 1,
            Some(Profile::Etsi) => 2,
            None => 3,
        };
        [
            encoding | profile << 2,
            self.chunk_seed,
            (self.hits & 15) | (self.misses & 15) << 4,
        ]
    }

    pub fn from_bytes(b: [u8; DTMF_HEADER]) -> Self {
        DtmfSetup {
            encoding: match b[0] & 3 {
                0 => SampleEncoding::Ulaw,
                1 => SampleEncoding::Alaw,
                _ => SampleEncoding::Pcm16,
            },
            profile: match b[0] >> 2 & 3 {
                0 => Some(Profile::Att),
                1 => Some(Profile::Ntt),
                2 => Some(Profile::Etsi),
                _ => None,
            },
            chunk_seed: b[1],
            hits: b[2] & 15,
            misses: b[2] >> 4,
        }
    }

    fn config(self) -> Config {
        match self.profile {
            Some(p) => Config::for_profile(p),
            None => Config {
                hits_to_start: self.hits,
                misses_to_end: self.misses,
                ..Config::default()
            },
        }
    }
}

/// Encode samples after a header, the inverse of what [`dtmf_receiver`] reads (for seeds).
pub fn dtmf_input(setup: DtmfSetup, samples: &[i16]) -> Vec<u8> {
    let mut out = setup.to_bytes().to_vec();
    match setup.encoding {
        SampleEncoding::Ulaw => out.extend(samples.iter().map(|&s| g711::ulaw_encode(s))),
        SampleEncoding::Alaw => out.extend(samples.iter().map(|&s| g711::alaw_encode(s))),
        SampleEncoding::Pcm16 => out.extend(samples.iter().flat_map(|s| s.to_le_bytes())),
    }
    out
}

/// The keys one receiver heard, with the samples it had consumed when it said so.
#[derive(Debug, PartialEq)]
struct Heard {
    events: Vec<Event>,
    /// `samples_seen()` at each event.
    said_at: Vec<u64>,
}

/// Samples through the DTMF receiver (see [`DtmfSetup`] for the byte layout).
///
/// Checks: identical events for the whole buffer, 20 ms frames, and random chunk sizes
/// (empty pushes included); events pair up `Started`/`Ended` for the same key, never report
/// an edge not yet heard, and never a key shorter than the configured minimum (for the shipped
/// profiles, also never one Q.24 says must be rejected); `active()` agrees with the events;
/// polarity inversion changes nothing; the same audio scaled below the level floor gives
/// nothing. Returns the keys heard, in order.
pub fn dtmf_receiver(data: &[u8]) -> String {
    let mut header = [0u8; DTMF_HEADER];
    let n = data.len().min(DTMF_HEADER);
    header[..n].copy_from_slice(&data[..n]);
    let setup = DtmfSetup::from_bytes(header);
    let body = &data[n..];
    let samples: Vec<i16> = match setup.encoding {
        SampleEncoding::Ulaw => body.iter().map(|&c| g711::ulaw_decode(c)).collect(),
        SampleEncoding::Alaw => body.iter().map(|&c| g711::alaw_decode(c)).collect(),
        SampleEncoding::Pcm16 => body
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect(),
    };
    let config = setup.config();

    let whole = listen(config, &samples, &mut |_| samples.len());
    check_events(setup, config, &whole, samples.len() as u64);
    let framed = listen(config, &samples, &mut |_| FRAME_SAMPLES);
    assert_eq!(
        framed.events, whole.events,
        "20 ms frames changed the events"
    );
    let mut state = u32::from(setup.chunk_seed) | 0x9E37_0000;
    let random = listen(config, &samples, &mut |_| {
        // xorshift32: chunk sizes 0..=400, a fifth of them empty.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        if state % 5 == 0 {
            0
        } else {
            (state % 401) as usize
        }
    });
    assert_eq!(random.events, whole.events, "chunking changed the events");

    // A line may invert polarity: the receiver must not care. (-32768 has no exact negation.)
    let clamped: Vec<i16> = samples.iter().map(|&s| s.max(-i16::MAX)).collect();
    let inverted: Vec<i16> = clamped.iter().map(|&s| -s).collect();
    let upright = listen(config, &clamped, &mut |_| FRAME_SAMPLES);
    let flipped = listen(config, &inverted, &mut |_| FRAME_SAMPLES);
    assert_eq!(
        flipped.events, upright.events,
        "polarity inversion changed the events"
    );

    // No sample louder than one tone at the floor: two tones at the floor can't be there.
    let limit = level::dbm0_to_power(config.min_level_dbm0).sqrt();
    let quiet: Vec<i16> = samples
        .iter()
        .map(|&s| (f32::from(s) / 32768.0 * limit) as i16)
        .collect();
    let below = listen(config, &quiet, &mut |_| FRAME_SAMPLES);
    assert!(below.events.is_empty(), "keys below the floor: {below:?}");

    whole
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Started { digit, .. } => Some(digit.as_char()),
            Event::Ended { .. } => None,
        })
        .collect()
}

/// Feed `samples` in chunks of `next_chunk(i)` (clamped to what is left), then finish.
fn listen(config: Config, samples: &[i16], next_chunk: &mut dyn FnMut(usize) -> usize) -> Heard {
    let mut rx = Receiver::new(config);
    let mut heard = Heard {
        events: Vec::new(),
        said_at: Vec::new(),
    };
    let mut rest = samples;
    let mut i = 0;
    let mut pushes = 0;
    while !rest.is_empty() {
        let n = next_chunk(i).min(rest.len());
        i += 1;
        pushes += usize::from(n == 0);
        assert!(pushes < 1_000_000, "chunker never advances");
        let before = heard.events.len();
        let mut fresh = Vec::new();
        rx.push(&rest[..n], |e| fresh.push(e));
        rest = &rest[n..];
        let seen = rx.samples_seen();
        assert_eq!(seen, (samples.len() - rest.len()) as u64);
        heard.said_at.extend(fresh.iter().map(|_| seen));
        heard.events.extend(fresh);
        // What `active()` says matches the last event.
        let held = match heard.events.last() {
            Some(Event::Started { digit, .. }) => Some(*digit),
            _ => None,
        };
        assert_eq!(
            rx.active(),
            held,
            "active() disagrees after events {:?}",
            &heard.events[before..]
        );
    }
    let mut tail = Vec::new();
    rx.finish(|e| tail.push(e));
    assert_eq!(rx.active(), None, "a key still held after finish");
    let seen = rx.samples_seen();
    heard.said_at.extend(tail.iter().map(|_| seen));
    heard.events.extend(tail);
    heard
}

/// Shortest key the receiver can report, in samples: `hits_to_start` agreeing 5 ms
/// decisions over 20 ms spans (the first span three segments wider than its decision), less
/// the 2 ms edge inset the receiver applies at each end.
fn shortest_reported(config: Config) -> u64 {
    let segment = 40;
    (u64::from(config.hits_to_start.max(1)) + 3) * segment - 2 * 16
}

fn check_events(setup: DtmfSetup, config: Config, heard: &Heard, total: u64) {
    let events = &heard.events;
    assert_eq!(
        events.len() % 2,
        0,
        "unpaired events after finish: {events:?}"
    );
    let mut previous_end: Option<u64> = None;
    let mut previous_start: Option<u64> = None;
    for (pair, said) in events.chunks(2).zip(heard.said_at.chunks(2)) {
        let (
            Event::Started {
                digit,
                at_sample: start,
            },
            Event::Ended {
                digit: up,
                at_sample: end,
            },
        ) = (pair[0], pair[1])
        else {
            panic!("events out of order: {events:?}");
        };
        assert_eq!(digit, up, "key changed while held: {events:?}");
        assert!(
            start <= said[0],
            "onset {start} reported before it was heard ({})",
            said[0]
        );
        assert!(
            end <= said[1],
            "end {end} reported before it was heard ({})",
            said[1]
        );
        assert!(said[1] <= total);
        let length = end.saturating_sub(start);
        assert!(
            end > start && length >= shortest_reported(config),
            "key {digit} of {length} samples, shorter than the minimum: {events:?}"
        );
        if let Some(profile) = setup.profile {
            // Q.24 / ETSI must-reject durations of the shipped profiles.
            let reject_ms = match profile {
                Profile::Att => 23,
                Profile::Ntt => 24,
                Profile::Etsi => 20,
            };
            assert!(length > reject_ms * u64::from(SAMPLE_RATE) / 1000);
            // Keys of the shipped profiles never overlap.
            if let Some(prev) = previous_end {
                assert!(prev <= start, "keys overlap: {events:?}");
            }
        }
        if let Some(prev) = previous_start {
            assert!(prev <= start, "onsets go backwards: {events:?}");
        }
        previous_end = Some(end);
        previous_start = Some(start);
    }
}

// ---------------------------------------------------------------------------------------------
// wav_loader
// ---------------------------------------------------------------------------------------------

/// Per-thread scratch directory holding a one-prompt catalog, so the real loader (manifest,
/// file read, decode, resample, level, frame, hash) runs on the fuzz input.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    const FILE: &'static str = "prompt.wav";
    const ID: &'static str = "fuzz.prompt";

    fn new() -> Scratch {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("consentline-fuzz-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory for wav_loader");
        let manifest = format!(
            "[[prompt]]\nid = \"{}\"\nlanguage = \"en\"\nfile = \"{}\"\ntranscript = \"fuzz\"\n",
            Scratch::ID,
            Scratch::FILE
        );
        std::fs::write(dir.join(crate::prompt::MANIFEST), manifest)
            .expect("scratch manifest for wav_loader");
        Scratch { dir }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

thread_local! {
    static SCRATCH: Scratch = Scratch::new();
}

/// A WAV file through the prompt catalog loader and the command-line reader.
///
/// Checks: the loader accepts it with whole 160-byte μ-law frames (duration kept to the frame,
/// evidence hash over exactly those bytes, levelled to the target and not silent), or refuses
/// it with one single-line error naming the file; the reader and the loader agree on what is
/// unreadable; decoded samples are finite. Returns the frame count, or the error text.
pub fn wav_loader(data: &[u8]) -> Result<usize, String> {
    let decoded = audio::read_wav_bytes(data);
    if let Ok(mono) = &decoded {
        assert!(mono.sample_rate > 0 && mono.channels > 0, "{mono:?}");
        assert!(!mono.samples.is_empty());
        assert!(
            mono.samples.iter().all(|s| s.is_finite()),
            "non-finite samples"
        );
        assert!(!mono.encoding.is_empty());
    }
    let loaded = SCRATCH.with(|scratch| {
        std::fs::write(scratch.dir.join(Scratch::FILE), data).expect("scratch prompt file");
        Catalog::load(&scratch.dir, LoadOptions::default())
    });
    match loaded {
        Ok(catalog) => {
            let mono = decoded.expect("the loader accepted what the reader refused");
            assert_eq!(catalog.len(), 1);
            let prompt = catalog.get(Scratch::ID, "en").expect("the one prompt");
            check_prompt(prompt, &mono);
            Ok(prompt.frames.len())
        }
        Err(CatalogError::Prompts(problems)) => {
            let [(path, id, problem)] = &problems[..] else {
                panic!("one file, several problems: {problems:?}");
            };
            assert!(path.ends_with(Scratch::FILE) && id == Scratch::ID);
            if let Err(e) = &decoded {
                assert_eq!(problem, &Problem::Unreadable(e.clone()));
            }
            let text = CatalogError::Prompts(problems.clone()).to_string();
            assert!(
                text.contains(Scratch::FILE) && !text.contains('\n'),
                "unclear error: {text:?}"
            );
            let reason = problem.to_string();
            assert!(!reason.trim().is_empty() && !reason.contains('\n'));
            Err(text)
        }
        Err(e @ CatalogError::Manifest { .. }) => panic!("the scratch manifest broke: {e}"),
    }
}

fn check_prompt(prompt: &Prompt, mono: &audio::Mono) {
    assert!(
        !prompt.frames.is_empty(),
        "an accepted prompt without audio"
    );
    for frame in prompt.frames.iter() {
        assert_eq!(frame.len(), FRAME_SAMPLES);
    }
    assert_eq!(prompt.duration_ms(), prompt.frames.len() as u64 * 20);
    // Resampling keeps the duration: as many 20 ms frames as the source's length needs.
    let wanted = if mono.sample_rate == SAMPLE_RATE {
        mono.samples.len()
    } else {
        let ratio = f64::from(SAMPLE_RATE) / f64::from(mono.sample_rate);
        (mono.samples.len() as f64 * ratio).round() as usize
    };
    assert_eq!(
        prompt.frames.len(),
        wanted.div_ceil(FRAME_SAMPLES),
        "{} samples at {} Hz",
        mono.samples.len(),
        mono.sample_rate
    );
    let mut hasher = Sha256::new();
    for frame in prompt.frames.iter() {
        hasher.update(frame);
    }
    let hash: [u8; 32] = hasher.finalize().into();
    assert_eq!(
        prompt.sha256, hash,
        "evidence hash is not of the audio sent"
    );
    // The level on record is the level of exactly what is sent, and it is not silence.
    let sent: Vec<f32> = prompt
        .frames
        .iter()
        .flat_map(|f| f.iter().map(|&c| f32::from(g711::ulaw_decode(c)) / 32768.0))
        .collect();
    assert_eq!(
        crate::prompt::render::active_level_dbm0(&sent),
        Some(prompt.level_dbm0).filter(|l| l.is_finite()),
        "recorded level is not the sent audio's"
    );
    assert!(
        prompt.level_dbm0 >= SILENT_DBM0,
        "accepted prompt at {} dBm0 (gain {} dB)",
        prompt.level_dbm0,
        prompt.gain_db
    );
    // Levelling never aims above the target. μ-law can move a frame lying right at the 35 dB
    // gate across it, so measure with the gate 1 dB wider: that can only include more.
    let wide = gated_level_dbm0(&sent, 36.0);
    assert!(
        wide <= TARGET_DBM0 + 1.0,
        "levelled to {wide} dBm0 (on record {}, gain {} dB)",
        prompt.level_dbm0,
        prompt.gain_db
    );
    assert!(prompt.gain_db.is_finite(), "gain {}", prompt.gain_db);
}

/// Mean power of the 20 ms frames within `gate_db` of the loudest, dBm0.
fn gated_level_dbm0(samples: &[f32], gate_db: f32) -> f32 {
    let powers: Vec<f64> = samples
        .chunks(FRAME_SAMPLES)
        .map(|f| {
            f.iter()
                .map(|&s| f64::from(s * 32768.0).powi(2))
                .sum::<f64>()
                / FRAME_SAMPLES as f64
        })
        .collect();
    let loudest = powers.iter().cloned().fold(0.0, f64::max);
    let gate = loudest / 10f64.powf(f64::from(gate_db) / 10.0);
    let active: Vec<f64> = powers.into_iter().filter(|&p| p >= gate).collect();
    let mean = active.iter().sum::<f64>() / active.len().max(1) as f64;
    level::power_to_dbm0(mean as f32)
}

// ---------------------------------------------------------------------------------------------
// call_flow
// ---------------------------------------------------------------------------------------------

/// Bytes of the `call_flow` header before the operations.
pub const FLOW_HEADER: usize = 3;

/// Time that passes before an operation, indexed by its high nibble, milliseconds.
pub const FLOW_DELAYS: [Millis; 16] = [
    0, 1, 10, 20, 40, 100, 250, 500, 1000, 2000, 3000, 5000, 6000, 10_000, 60_000, 3_600_000,
];

/// How a `call_flow` input sets up the call: 3 header bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowSetup {
    /// The privacy line (else the consent flow).
    pub privacy: bool,
    /// Retries after a timeout or invalid key (0..=3).
    pub retries: u8,
    /// Consent: never ask (do-not-contact). Privacy: offer Spanish.
    pub variant: bool,
    /// Prompt lengths (0..=3): 0 as in the IVR tests, 1 all one frame, 2 one second, 3 a long
    /// first prompt.
    pub voice: u8,
    /// Deliver inputs while timers are overdue (else every due timer fires first, as the
    /// per-call task does, and no timer may be armed in the past).
    pub lax_clock: bool,
    /// Timing settings (0..=3): defaults, all zero, 1 ms, a minute.
    pub timing: u8,
    /// Privacy caller ID (0..=3): +14155550100, none, "anonymous", 4155550100.
    pub caller_id: u8,
    /// Consent and decline keys: `Key::ALL[keys & 15]` and `Key::ALL[((keys >> 4) + 1) & 15]`
    /// (0: 1 and 2).
    pub keys: u8,
}

impl FlowSetup {
    pub fn to_bytes(self) -> [u8; FLOW_HEADER] {
        [
            u8::from(self.privacy)
                | (self.retries & 3) << 1
                | u8::from(self.variant) << 3
                | (self.voice & 3) << 4
                | u8::from(self.lax_clock) << 6,
            (self.timing & 3) | (self.caller_id & 3) << 2,
            self.keys,
        ]
    }

    pub fn from_bytes(b: [u8; FLOW_HEADER]) -> Self {
        FlowSetup {
            privacy: b[0] & 1 != 0,
            retries: b[0] >> 1 & 3,
            variant: b[0] >> 3 & 1 != 0,
            voice: b[0] >> 4 & 3,
            lax_clock: b[0] >> 6 & 1 != 0,
            timing: b[1] & 3,
            caller_id: b[1] >> 2 & 3,
            keys: b[2],
        }
    }
}

/// One step of a `call_flow` input (two bytes: kind in the low nibble of the first, the
/// delay index in its high nibble, and an argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowOp {
    Start,
    /// A key from one source.
    Key(Key, KeySource),
    /// One press reported both ways at the same instant; `true`: the event first.
    KeyBoth(Key, bool),
    /// The provider plays out the oldest queued prompt and echoes its mark.
    PlayOut,
    /// The provider plays out everything queued.
    PlayAll,
    /// The echo of the `n`-th outstanding mark (out of order), or a bogus one if none.
    MarkOutstanding(u8),
    /// A mark never sent: 0, `u64::MAX`, or the last mark sent plus `n`.
    BogusMark(u8),
    /// The engine's next timer fires.
    Due,
    /// A timer fires that may not be armed or due.
    Stale(Timer),
    DecisionLogged {
        durable: bool,
    },
    /// A filed request comes back; the argument picks the confirmation and dates.
    Filed(u8),
    FileFailed,
    Hangup,
    /// Nothing happens but time.
    Wait,
}

impl FlowOp {
    /// The two bytes of this step after `delay` (an index into [`FLOW_DELAYS`]).
    pub fn to_bytes(self, delay: u8) -> [u8; 2] {
        let key = |k: Key| Key::ALL.iter().position(|&x| x == k).unwrap_or(0) as u8;
        let (kind, arg) = match self {
            FlowOp::Start => (0, 0),
            FlowOp::Key(k, KeySource::Inband) => (1, key(k)),
            FlowOp::Key(k, KeySource::Event) => (2, key(k)),
            FlowOp::KeyBoth(k, event_first) => (3, key(k) | u8::from(event_first) << 4),
            FlowOp::PlayOut => (4, 0),
            FlowOp::PlayAll => (5, 0),
            FlowOp::MarkOutstanding(n) => (6, n),
            FlowOp::BogusMark(n) => (7, n),
            FlowOp::Due => (8, 0),
            FlowOp::Stale(t) => (
                9,
                Timer::ALL.iter().position(|&x| x == t).unwrap_or(0) as u8,
            ),
            FlowOp::DecisionLogged { durable } => (10, u8::from(!durable)),
            FlowOp::Filed(n) => (11, n),
            FlowOp::FileFailed => (12, 0),
            FlowOp::Hangup => (13, 0),
            FlowOp::Wait => (14, 0),
        };
        [kind | (delay & 15) << 4, arg]
    }

    /// The step two bytes describe, and its delay.
    pub fn from_bytes(op: u8, arg: u8) -> (Millis, FlowOp) {
        let key = Key::ALL[usize::from(arg & 15)];
        let step = match op & 15 {
            0 => FlowOp::Start,
            1 => FlowOp::Key(key, KeySource::Inband),
            2 => FlowOp::Key(key, KeySource::Event),
            3 => FlowOp::KeyBoth(key, arg & 16 != 0),
            4 => FlowOp::PlayOut,
            5 => FlowOp::PlayAll,
            6 => FlowOp::MarkOutstanding(arg),
            7 => FlowOp::BogusMark(arg),
            8 => FlowOp::Due,
            9 => FlowOp::Stale(Timer::ALL[usize::from(arg) % Timer::ALL.len()]),
            10 => FlowOp::DecisionLogged {
                durable: arg & 1 == 0,
            },
            11 => FlowOp::Filed(arg),
            12 => FlowOp::FileFailed,
            13 => FlowOp::Hangup,
            // 14, and 15 (spare) too.
            _ => FlowOp::Wait,
        };
        (FLOW_DELAYS[usize::from(op >> 4)], step)
    }
}

/// Encode a call for [`call_flow`] (for seeds): steps are (delay index, step).
pub fn flow_input(setup: FlowSetup, steps: &[(u8, FlowOp)]) -> Vec<u8> {
    let mut out = setup.to_bytes().to_vec();
    for &(delay, step) in steps {
        out.extend(step.to_bytes(delay));
    }
    out
}

/// What happened to a fuzzed call (for tests that check the seeds reach somewhere).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowReport {
    pub privacy: bool,
    /// Finished before the driver's closing hang-up.
    pub finished: bool,
    pub outcome: Option<(bool, bool)>,
    pub closed: bool,
    pub filed: bool,
    pub abandoned: bool,
    pub keys_logged: usize,
    pub outputs: usize,
}

/// An arbitrary sequence of inputs through a consent or privacy call, with a simulated
/// provider that plays prompts out and echoes marks.
///
/// Checks, after every input: outcome `record` only ever becomes true while handling a
/// `DecisionLogged { durable: true }` that followed a `Record` decision (and agrees with the
/// logged decision and `decision()`); the privacy line never records, never decides, never
/// plays a consent prompt, and bridges only after a transfer request; one press reported both
/// ways is logged once; marks are new and increasing, `clear` only follows audio; phone
/// digits are never logged as prompts; at most one close, decision, filing or abandonment,
/// and a filed request is complete; `CallEnded` comes exactly once, last, exactly when the
/// call is finished, and after that nothing comes out and nothing changes; with the strict
/// clock no timer is ever armed in the past. Every call ends with a hang-up.
pub fn call_flow(data: &[u8]) -> FlowReport {
    let mut header = [0u8; FLOW_HEADER];
    let n = data.len().min(FLOW_HEADER);
    header[..n].copy_from_slice(&data[..n]);
    let setup = FlowSetup::from_bytes(header);
    let mut driver = Driver::new(setup);
    for step in data[n..].chunks_exact(2) {
        let (delay, op) = FlowOp::from_bytes(step[0], step[1]);
        driver.step(delay, op);
    }
    let finished = driver.flow().is_finished();
    driver.deliver(Input::Hangup);
    assert!(
        driver.flow().is_finished(),
        "a hang-up did not finish the call"
    );
    // Anything after the end is ignored.
    driver.deliver(Input::Key {
        digit: Key::D1,
        source: KeySource::Event,
    });
    driver.deliver(Input::DecisionLogged { durable: true });
    driver.report.finished = finished;
    driver.report
}

enum Engine {
    Consent(Box<ConsentCall>),
    Privacy(Box<PrivacyCall>),
}

/// The simulated provider and the invariant checks around one engine.
struct Driver {
    setup: FlowSetup,
    engine: Engine,
    now: Millis,
    /// Provider playout: (mark, ends at), oldest first.
    queue: Vec<(u64, Millis)>,
    last_mark: u64,
    plays_since_clear: usize,
    ended: bool,
    closes: usize,
    decisions: usize,
    /// A `Record` decision was sent to the store.
    record_decided: bool,
    last_logged_decision: Option<Decision>,
    transfer: bool,
    report: FlowReport,
    outcome: Outcome,
}

impl Driver {
    fn new(setup: FlowSetup) -> Driver {
        let voice = usize::from(setup.voice & 3);
        let engine = if setup.privacy {
            let p = privacy_voice(voice);
            let timing = match setup.timing & 3 {
                0 => PrivacySettings::default(),
                1 => PrivacySettings {
                    no_input_ms: 0,
                    digit_timeout_ms: 0,
                    playback_slack_ms: 0,
                    file_timeout_ms: 0,
                    duplicate_window_ms: 0,
                    ..PrivacySettings::default()
                },
                2 => PrivacySettings {
                    no_input_ms: 1,
                    digit_timeout_ms: 1,
                    playback_slack_ms: 1,
                    file_timeout_ms: 1,
                    duplicate_window_ms: 5000,
                    ..PrivacySettings::default()
                },
                _ => PrivacySettings {
                    no_input_ms: 60_000,
                    digit_timeout_ms: 60_000,
                    playback_slack_ms: 60_000,
                    file_timeout_ms: 60_000,
                    duplicate_window_ms: 60_000,
                    ..PrivacySettings::default()
                },
            };
            let settings = PrivacySettings {
                retries: u32::from(setup.retries),
                ..timing
            };
            let caller_id =
                ["+14155550100", "", "anonymous", "4155550100"][usize::from(setup.caller_id & 3)];
            Engine::Privacy(Box::new(PrivacyCall::new(
                settings,
                p.en.clone(),
                setup.variant.then(|| p.es.clone()),
                (!caller_id.is_empty()).then_some(caller_id),
            )))
        } else {
            let timing = match setup.timing & 3 {
                0 => ConsentSettings::default(),
                1 => ConsentSettings {
                    no_input_ms: 0,
                    playback_slack_ms: 0,
                    decision_timeout_ms: 0,
                    duplicate_window_ms: 0,
                    ..ConsentSettings::default()
                },
                2 => ConsentSettings {
                    no_input_ms: 1,
                    playback_slack_ms: 1,
                    decision_timeout_ms: 1,
                    duplicate_window_ms: 5000,
                    ..ConsentSettings::default()
                },
                _ => ConsentSettings {
                    no_input_ms: 60_000,
                    playback_slack_ms: 60_000,
                    decision_timeout_ms: 60_000,
                    duplicate_window_ms: 60_000,
                    ..ConsentSettings::default()
                },
            };
            let settings = ConsentSettings {
                consent_key: Key::ALL[usize::from(setup.keys & 15)],
                decline_key: Key::ALL[usize::from((setup.keys >> 4).wrapping_add(1) & 15)],
                retries: u32::from(setup.retries),
                ..timing
            };
            let call = ConsentCall::new(settings, consent_voice(voice).clone());
            Engine::Consent(Box::new(if setup.variant {
                call.without_asking("caller opted out of sale or sharing")
            } else {
                call
            }))
        };
        Driver {
            setup,
            engine,
            now: 0,
            queue: Vec::new(),
            last_mark: 0,
            plays_since_clear: 0,
            ended: false,
            closes: 0,
            decisions: 0,
            record_decided: false,
            last_logged_decision: None,
            transfer: false,
            report: FlowReport {
                privacy: setup.privacy,
                ..FlowReport::default()
            },
            outcome: Outcome {
                bridge: !setup.privacy,
                record: false,
            },
        }
    }

    fn flow(&self) -> &dyn Flow {
        match &self.engine {
            Engine::Consent(c) => c.as_ref(),
            Engine::Privacy(p) => p.as_ref(),
        }
    }

    fn flow_mut(&mut self) -> &mut dyn Flow {
        match &mut self.engine {
            Engine::Consent(c) => c.as_mut(),
            Engine::Privacy(p) => p.as_mut(),
        }
    }

    /// Let `delay` pass (firing due timers on the way with the strict clock), then act.
    fn step(&mut self, delay: Millis, op: FlowOp) {
        let target = self.now.saturating_add(delay);
        self.advance_to(target);
        match op {
            FlowOp::Start => self.deliver(Input::Start),
            FlowOp::Key(digit, source) => self.deliver(Input::Key { digit, source }),
            FlowOp::KeyBoth(digit, event_first) => {
                let was_finished = self.flow().is_finished();
                let before = self.report.keys_logged;
                let (first, second) = if event_first {
                    (KeySource::Event, KeySource::Inband)
                } else {
                    (KeySource::Inband, KeySource::Event)
                };
                self.deliver(Input::Key {
                    digit,
                    source: first,
                });
                self.deliver(Input::Key {
                    digit,
                    source: second,
                });
                let logged = self.report.keys_logged - before;
                if was_finished {
                    assert_eq!(logged, 0);
                } else if self.setup.privacy {
                    assert!(logged <= 1, "one press logged {logged} times");
                } else {
                    assert_eq!(logged, 1, "one press logged {logged} times");
                }
            }
            FlowOp::PlayOut => self.play_out(),
            FlowOp::PlayAll => {
                for _ in 0..256 {
                    if self.queue.is_empty() {
                        break;
                    }
                    self.play_out();
                }
            }
            FlowOp::MarkOutstanding(n) => {
                let id = if self.queue.is_empty() {
                    self.last_mark + 1 + u64::from(n)
                } else {
                    self.queue[usize::from(n) % self.queue.len()].0
                };
                self.echo(id);
            }
            FlowOp::BogusMark(n) => {
                let id = match n {
                    0 => 0,
                    1 => u64::MAX,
                    n => self.last_mark + u64::from(n),
                };
                self.echo(id);
            }
            FlowOp::Due => {
                if let Some((timer, at)) = self.flow().next_timeout() {
                    if self.setup.lax_clock {
                        self.now = self.now.max(at);
                        self.deliver(Input::Timeout(timer));
                    } else {
                        // Fires it (and anything due with it) on time.
                        self.advance_to(at);
                    }
                }
            }
            FlowOp::Stale(timer) => self.deliver(Input::Timeout(timer)),
            FlowOp::DecisionLogged { durable } => self.deliver(Input::DecisionLogged { durable }),
            FlowOp::Filed(n) => self.deliver(Input::Filed(filed(n))),
            FlowOp::FileFailed => self.deliver(Input::FileFailed),
            FlowOp::Hangup => self.deliver(Input::Hangup),
            FlowOp::Wait => {}
        }
    }

    /// Move the clock to `target`. With the strict clock every timer due by then fires at
    /// its own time first, as the per-call task would.
    fn advance_to(&mut self, target: Millis) {
        if !self.setup.lax_clock {
            for _ in 0..10_000 {
                match self.flow().next_timeout() {
                    Some((timer, at)) if at <= target => {
                        self.now = self.now.max(at);
                        self.deliver(Input::Timeout(timer));
                    }
                    _ => break,
                }
            }
            if let Some((timer, at)) = self.flow().next_timeout() {
                assert!(at > target, "timer {timer:?} keeps firing at {at} ms");
            }
        }
        self.now = self.now.max(target);
    }

    /// The provider finishes playing the oldest queued prompt and echoes its mark.
    fn play_out(&mut self) {
        if let Some(&(mark, end)) = self.queue.first() {
            self.advance_to(end);
            self.echo(mark);
        }
    }

    fn echo(&mut self, id: u64) {
        self.queue.retain(|&(mark, _)| mark > id);
        self.deliver(Input::Mark { id });
    }

    /// Hand the engine one input at `now`, drain its outputs and check everything.
    fn deliver(&mut self, input: Input) {
        let now = self.now;
        let was_finished = self.flow().is_finished();
        let before = self.flow().outcome();
        assert_eq!(before, self.outcome, "outcome changed between inputs");
        let durable_answer = matches!(input, Input::DecisionLogged { durable: true });
        let read_digits = match &input {
            Input::Filed(f) => f.confirmation.len(),
            _ => 0,
        };
        self.flow_mut().handle(now, input.clone());
        let mut outputs = Vec::new();
        while let Some(output) = self.flow_mut().poll_output() {
            outputs.push(output);
            assert!(
                outputs.len() <= 128 + 4 * read_digits,
                "runaway outputs for {input:?}: {outputs:#?}"
            );
        }
        self.report.outputs += outputs.len();
        if trace() {
            eprintln!("{now:>8} ms  {input:?}");
            for output in &outputs {
                eprintln!("              -> {}", describe(output));
            }
        }
        if was_finished {
            assert!(outputs.is_empty(), "outputs after the end: {outputs:?}");
            assert!(self.flow().is_finished());
            assert_eq!(self.flow().next_timeout(), None, "a timer after the end");
            assert_eq!(
                self.flow().outcome(),
                before,
                "outcome changed after the end"
            );
            return;
        }
        for (i, output) in outputs.iter().enumerate() {
            assert!(!self.ended, "{output:?} after CallEnded");
            self.check_output(now, output, i + 1 == outputs.len());
        }
        assert_eq!(
            self.flow().is_finished(),
            self.ended,
            "finished without CallEnded, or CallEnded before finishing"
        );
        if self.ended {
            assert_eq!(self.flow().next_timeout(), None, "a timer after the end");
        }
        if !self.setup.lax_clock {
            if let Some((timer, at)) = self.flow().next_timeout() {
                assert!(at >= now, "{timer:?} armed for {at} ms at {now} ms");
            }
        }
        self.check_outcome(before, durable_answer);
    }

    fn check_output(&mut self, now: Millis, output: &Output, last: bool) {
        let privacy = self.setup.privacy;
        match output {
            Output::Play { prompt, mark } => {
                assert!(*mark > self.last_mark, "mark {mark} reused or out of order");
                self.last_mark = *mark;
                self.plays_since_clear += 1;
                let start = self.queue.last().map_or(now, |&(_, end)| end.max(now));
                self.queue.push((*mark, start + prompt.duration_ms()));
                let id = prompt.id.as_str();
                if privacy {
                    assert!(!id.starts_with("consent."), "privacy line played {id}");
                } else {
                    assert!(id.starts_with("consent."), "consent flow played {id}");
                    if self.setup.variant {
                        assert_ne!(id, "consent.disclosure", "asked a caller who opted out");
                    }
                }
            }
            Output::Clear => {
                assert!(self.plays_since_clear > 0, "clear with nothing playing");
                self.plays_since_clear = 0;
                // Twilio drops what it buffered and echoes the marks at once.
                for (_, end) in &mut self.queue {
                    *end = now;
                }
            }
            Output::Record(step) => self.check_step(now, step, last),
            Output::RecordDecision(step) => {
                assert!(!privacy, "the privacy line asked for a decision record");
                let Step::Decision { decision, .. } = step else {
                    panic!("decision record of {step:?}");
                };
                self.decisions += 1;
                assert_eq!(self.decisions, 1, "a second decision");
                self.record_decided = *decision == Decision::Record;
                self.last_logged_decision = Some(*decision);
            }
            Output::FileRequest(draft) => {
                assert!(privacy, "the consent flow filed a request");
                assert!(
                    !self.report.filed && !self.report.abandoned,
                    "{draft:?} twice"
                );
                self.report.filed = true;
                let kind = draft.request_type.expect("a request of no type");
                let callback = draft.callback.as_deref().expect("no callback number");
                assert!(
                    callback.len() == 10 && callback.bytes().all(|b| b.is_ascii_digit()),
                    "callback number {callback:?}"
                );
                assert!(matches!(draft.callback_source, Some("caller_id" | "keyed")));
                assert_eq!(
                    draft.agent.is_some(),
                    kind.needs_verification(),
                    "{draft:?}"
                );
                assert!(!draft.language.is_empty());
            }
            Output::Abandoned(draft) => {
                assert!(privacy, "the consent flow abandoned a request");
                assert!(
                    !self.report.filed && !self.report.abandoned,
                    "{draft:?} twice"
                );
                assert!(draft.request_type.is_some(), "abandoned nothing: {draft:?}");
                self.report.abandoned = true;
            }
            Output::Close { reason } => {
                assert!(!reason.is_empty());
                self.closes += 1;
                assert_eq!(self.closes, 1, "closed twice");
                self.report.closed = true;
                if let Engine::Consent(c) = &self.engine {
                    assert!(c.decision().is_some(), "closed without a decision");
                }
            }
        }
    }

    fn check_step(&mut self, now: Millis, step: &Step, last: bool) {
        let privacy = self.setup.privacy;
        match step {
            Step::Key { at, .. } => {
                assert_eq!(*at, now, "key logged at the wrong time");
                self.report.keys_logged += 1;
            }
            Step::Decision { decision, reason } => {
                assert!(!privacy, "the privacy line logged a decision");
                assert!(!reason.is_empty());
                self.last_logged_decision = Some(*decision);
            }
            Step::CallEnded { reason } => {
                assert!(last, "CallEnded is not the last output");
                assert!(!reason.is_empty());
                self.ended = true;
            }
            Step::PromptStarted { prompt, .. }
            | Step::PromptPlayed { prompt }
            | Step::PromptInterrupted { prompt } => {
                assert!(
                    !prompt.id.starts_with("digit."),
                    "a digit of a number reached the log"
                );
            }
            Step::TransferRequested => {
                assert!(privacy);
                self.transfer = true;
            }
            Step::Readback { .. } | Step::NumberEntered { .. } | Step::LanguageChanged { .. } => {
                assert!(privacy, "the consent flow logged {step:?}");
            }
        }
    }

    fn check_outcome(&mut self, before: Outcome, durable_answer: bool) {
        let outcome = self.flow().outcome();
        match &self.engine {
            Engine::Privacy(_) => {
                assert!(!outcome.record, "the privacy line records");
                assert!(
                    !outcome.bridge || self.transfer,
                    "bridged without a transfer"
                );
            }
            Engine::Consent(call) => {
                assert!(outcome.bridge);
                assert_eq!(outcome.record, call.decision() == Some(Decision::Record));
                if outcome.record {
                    assert!(!self.setup.variant, "recorded a caller who was not asked");
                    assert_eq!(self.last_logged_decision, Some(Decision::Record));
                    if !before.record {
                        assert!(
                            durable_answer && self.record_decided,
                            "record without a durable consent decision"
                        );
                    }
                }
            }
        }
        self.outcome = outcome;
        self.report.outcome = Some((outcome.bridge, outcome.record));
    }
}

/// `CONSENTLINE_FUZZ_TRACE=1` prints every input and output of `call_flow` (for triage).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("CONSENTLINE_FUZZ_TRACE").is_some())
}

/// One output, short (prompts by id).
fn describe(output: &Output) -> String {
    match output {
        Output::Play { prompt, mark } => format!("play {} (mark {mark})", prompt.id),
        Output::Record(Step::PromptStarted { prompt, .. }) => format!("log started {}", prompt.id),
        Output::Record(Step::PromptPlayed { prompt }) => format!("log played {}", prompt.id),
        Output::Record(Step::PromptInterrupted { prompt }) => {
            format!("log interrupted {}", prompt.id)
        }
        Output::Record(step) => format!("log {step:?}"),
        other => format!("{other:?}"),
    }
}

/// What the store says about a filed request: confirmation length `n & 15`, a stray
/// non-digit with bit 4, dates by bits 5-6 (respond-by, honour-by, none, the calendar's
/// extremes).
fn filed(n: u8) -> Filed {
    let digits = "4820193375123456";
    let mut confirmation: String = digits[..usize::from(n & 15)].to_string();
    if n & 16 != 0 {
        confirmation.insert(confirmation.len() / 2, '-');
    }
    let date = |y, m, d| time::Date::from_calendar_date(y, m, d).ok();
    let (respond_by, honor_by) = match n >> 5 & 3 {
        0 => (date(2027, time::Month::January, 8), None),
        1 => (None, date(2026, time::Month::February, 27)),
        2 => (None, None),
        _ => (Some(time::Date::MIN), Some(time::Date::MAX)),
    };
    Filed {
        confirmation,
        respond_by,
        honor_by,
    }
}

/// A silent made-up prompt of `ms` milliseconds (whole frames), as the IVR tests make them.
fn made_up(id: &str, ms: u64, language: &str) -> Arc<Prompt> {
    Arc::new(Prompt {
        id: id.into(),
        language: language.into(),
        transcript: id.into(),
        source: id.into(),
        source_format: "fuzz".into(),
        frames: vec![[g711::ULAW_SILENCE; FRAME_SAMPLES]; (ms / 20).max(1) as usize].into(),
        sha256: Sha256::digest(id.as_bytes()).into(),
        level_dbm0: TARGET_DBM0,
        gain_db: 0.0,
    })
}

fn consent_voice(voice: usize) -> &'static ConsentPrompts {
    static VOICES: OnceLock<Vec<ConsentPrompts>> = OnceLock::new();
    &VOICES.get_or_init(|| {
        let lengths: [[u64; 7]; 4] = [
            [10_000, 5_000, 2_000, 2_000, 3_000, 3_000, 4_000],
            [20; 7],
            [1_000; 7],
            [30_000, 40, 40, 40, 40, 40, 40],
        ];
        lengths
            .iter()
            .map(|ms| {
                let p = |i: usize| made_up(crate::call::CONSENT_PROMPT_IDS[i], ms[i], "en");
                ConsentPrompts {
                    disclosure: p(0),
                    retry: p(1),
                    invalid: p(2),
                    no_input: p(3),
                    confirm_record: p(4),
                    confirm_no_record: p(5),
                    no_answer: p(6),
                }
            })
            .collect()
    })[voice]
}

struct PrivacyVoice {
    en: PrivacyPrompts,
    es: PrivacyPrompts,
}

fn privacy_voice(voice: usize) -> &'static PrivacyVoice {
    static VOICES: OnceLock<Vec<PrivacyVoice>> = OnceLock::new();
    &VOICES.get_or_init(|| {
        // (sentence, piece of a number or date, first sentence) lengths.
        let lengths: [(u64, u64, u64); 4] = [
            (2_000, 500, 2_000),
            (20, 20, 20),
            (1_000, 20, 1_000),
            (40, 20, 30_000),
        ];
        lengths
            .iter()
            .map(|&(sentence, piece, first)| {
                let language = |lang: &str| {
                    PrivacyPrompts::from_lookup(lang, |id| {
                        if lang == "en" && id.starts_with("date.") {
                            return None;
                        }
                        let ms = if id == "privacy.greeting" {
                            first
                        } else if ["digit.", "day.", "month.", "year.", "date."]
                            .iter()
                            .any(|p| id.starts_with(p))
                        {
                            piece
                        } else {
                            sentence
                        };
                        if id.starts_with("year.")
                            && !(2025..=2032).contains(&id[5..].parse().unwrap_or(0))
                        {
                            return None;
                        }
                        Some(made_up(id, ms, lang))
                    })
                    .expect("every privacy prompt is made up")
                };
                PrivacyVoice {
                    en: language("en"),
                    es: language("es"),
                }
            })
            .collect()
    })[voice]
}
