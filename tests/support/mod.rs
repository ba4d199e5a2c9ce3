//! Shared harness for the integration tests: deterministic signal building (fixed seeds,
//! random phases and alignment), G.711 round trips, and running the DTMF receiver.
#![allow(dead_code)]

use consentline::media::dtmf::{Config, Event, Key, Receiver};
use consentline::media::g711;
use consentline::media::level::{dbm0_to_power, sine_amplitude};
use consentline::media::tone::{add_sine, to_i16, DtmfTone};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

pub const MS: usize = 8;

/// A seeded generator: every test signal is reproducible.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// One detected key: digit, onset sample, end sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub digit: Key,
    pub start: u64,
    pub end: u64,
}

/// Run a receiver over `samples` (pushed in 160-sample frames) and pair its events.
pub fn detect_with(config: Config, samples: &[i16]) -> Vec<Hit> {
    let mut rx = Receiver::new(config);
    let mut events = Vec::new();
    for frame in samples.chunks(160) {
        rx.push(frame, |e| events.push(e));
    }
    rx.finish(|e| events.push(e));
    pair(&events)
}

pub fn detect(samples: &[i16]) -> Vec<Hit> {
    detect_with(Config::default(), samples)
}

/// Pair Started/Ended events into hits; panics on a malformed event order (a receiver bug).
pub fn pair(events: &[Event]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut open: Option<(Key, u64)> = None;
    for e in events {
        match (*e, open) {
            (Event::Started { digit, at_sample }, None) => open = Some((digit, at_sample)),
            (Event::Ended { digit, at_sample }, Some((d, start))) if d == digit => {
                assert!(at_sample >= start, "end before start: {events:?}");
                hits.push(Hit {
                    digit,
                    start,
                    end: at_sample,
                });
                open = None;
            }
            _ => panic!("bad event order: {events:?}"),
        }
    }
    assert!(open.is_none(), "unterminated key: {events:?}");
    hits
}

pub fn digits(hits: &[Hit]) -> String {
    hits.iter().map(|h| h.digit.as_char()).collect()
}

/// Encode to μ-law and back: the path of every Twilio call.
pub fn ulaw(samples: &[i16]) -> Vec<i16> {
    samples
        .iter()
        .map(|&s| g711::ulaw_decode(g711::ulaw_encode(s)))
        .collect()
}

/// Encode to A-law and back.
pub fn alaw(samples: &[i16]) -> Vec<i16> {
    samples
        .iter()
        .map(|&s| g711::alaw_decode(g711::alaw_encode(s)))
        .collect()
}

/// The channel a signal passes through before the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Linear,
    Ulaw,
}

pub const CHANNELS: [Channel; 2] = [Channel::Linear, Channel::Ulaw];

pub fn through(channel: Channel, samples: &[i16]) -> Vec<i16> {
    match channel {
        Channel::Linear => samples.to_vec(),
        Channel::Ulaw => ulaw(samples),
    }
}

/// Where each tone of a built signal lies, in samples.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub key: Key,
    pub start: usize,
    pub len: usize,
}

/// Builds a test signal in floating point: keys with random phases at a random starting
/// alignment, plus any interferers, then one conversion to 16 bits.
pub struct Signal {
    pub buf: Vec<f32>,
    pub placed: Vec<Placed>,
    pub rng: ChaCha8Rng,
    cursor: usize,
}

impl Signal {
    /// A signal starting with a random 0-19 ms of silence (so tones fall at every alignment
    /// against the receiver's 5 ms grid and spandsp's 12.75 ms one).
    pub fn new(seed: u64) -> Self {
        let mut rng = rng(seed);
        let lead = rng.gen_range(0..160);
        Signal {
            buf: vec![0.0; lead],
            placed: Vec::new(),
            rng,
            cursor: lead,
        }
    }

    pub fn silence(&mut self, samples: usize) -> &mut Self {
        self.cursor += samples;
        self.grow();
        self
    }

    /// Append `tone` for `len` samples with random phases.
    pub fn tone(&mut self, tone: DtmfTone, len: usize) -> &mut Self {
        let phases = (
            self.rng.gen_range(0.0..std::f64::consts::TAU),
            self.rng.gen_range(0.0..std::f64::consts::TAU),
        );
        let start = self.cursor;
        self.cursor += len;
        self.grow();
        tone.add_to(&mut self.buf, start, len, phases);
        self.placed.push(Placed {
            key: tone.key,
            start,
            len,
        });
        self
    }

    /// Append a key with a drop-out of `gap` samples in its middle (the tone keeps its phase,
    /// as when a line briefly mutes).
    pub fn tone_with_gap(&mut self, tone: DtmfTone, len: usize, gap: usize) -> &mut Self {
        let start = self.cursor;
        self.tone(tone, len);
        let mid = start + (len - gap) / 2;
        for s in &mut self.buf[mid..mid + gap] {
            *s = 0.0;
        }
        self
    }

    /// Add white Gaussian noise at `dbm0` over the whole signal so far.
    pub fn noise(&mut self, dbm0: f32) -> &mut Self {
        let sigma = dbm0_to_power(dbm0).sqrt();
        let normal = Normal::new(0.0f32, sigma).unwrap();
        for s in &mut self.buf {
            *s += normal.sample(&mut self.rng);
        }
        self
    }

    /// Add a sine at `dbm0` over the whole signal so far.
    pub fn sine(&mut self, hz: f64, dbm0: f32) -> &mut Self {
        let phase = self.rng.gen_range(0.0..std::f64::consts::TAU);
        let len = self.buf.len();
        add_sine(&mut self.buf, 0, len, hz, sine_amplitude(dbm0), phase);
        self
    }

    /// Add a constant offset.
    pub fn dc(&mut self, offset: f32) -> &mut Self {
        for s in &mut self.buf {
            *s += offset;
        }
        self
    }

    /// Mix other audio in, starting at sample 0 (looped to cover the signal).
    pub fn mix(&mut self, other: &[i16], gain: f32) -> &mut Self {
        if other.is_empty() {
            return self;
        }
        for (i, s) in self.buf.iter_mut().enumerate() {
            *s += gain * f32::from(other[i % other.len()]);
        }
        self
    }

    pub fn samples(&self) -> Vec<i16> {
        to_i16(&self.buf)
    }

    fn grow(&mut self) {
        if self.buf.len() < self.cursor {
            self.buf.resize(self.cursor, 0.0);
        }
    }
}

/// The string of keys placed in a signal.
pub fn placed_digits(placed: &[Placed]) -> String {
    placed.iter().map(|p| p.key.as_char()).collect()
}

/// Read a 16-bit mono WAV (test corpora) as samples, or `None` if it is not one.
pub fn read_wav_i16(path: &std::path::Path) -> Vec<i16> {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        spec.sample_rate,
        8000,
        "{}: corpus files must be 8 kHz",
        path.display()
    );
    assert_eq!(
        spec.channels,
        1,
        "{}: corpus files must be mono",
        path.display()
    );
    reader.samples::<i16>().map(|s| s.unwrap()).collect()
}
