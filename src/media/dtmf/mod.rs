//! The in-band DTMF receiver: 16-bit samples at 8 kHz in, key start and end events out.
//!
//! # How it decides
//! Every 5 ms (one 40-sample segment, see [`analysis`]) the receiver looks at the last 20 ms
//! through three overlapping 10 ms Hann windows and asks, for the strongest tone of each group:
//!
//! 1. **Frequency.** The phase a tone advances between consecutive windows gives its
//!    frequency to a fraction of a hertz, independent of window length. A tone must lie within
//!    the profile's tolerance of nominal (AT&T: 2.5 %, between the 1.5 % that must operate and
//!    the 3.5 % that must not). The two phase steps must also agree (a steady pitch).
//! 2. **Level.** Knowing the frequency, the receiver undoes the window's loss at that offset
//!    (scalloping), so each tone's level is measured exactly. This is what lets it accept
//!    ±1.5 % on both tones at once and twist exactly at 8 dB / 4 dB, where block-Goertzel
//!    receivers such as spandsp's lose a decibel or more and turn marginal.
//! 3. **Twist** within the profile's limits, and each tone above the level floor.
//! 4. **Tone share.** The two tones must carry most of the power in the same 20 ms (DC
//!    removed): the main defence against speech and music (talk-off).
//! 5. **Steadiness.** Each tone's power may not vary much across the three windows, which
//!    rejects the ragged edges of short bursts and the glides of voiced speech.
//! 6. **Not harmonics.** Two tones an exact octave (2:1) or fifth (3:2) apart are the
//!    harmonics of one voice or instrument, never a key sent within tolerance.
//!
//! A key starts after `hits_to_start` agreeing decisions (about 32 ms of tone: tones of 40 ms
//! always qualify, 23 ms never) and ends after `misses_to_end` decisions without it (bridging
//! 10 ms interruptions while splitting presses 40 ms apart). Event positions are estimates of
//! the tone's true edges, in samples since the receiver was created.
//!
//! # Real-time properties
//! Pure and synchronous; no allocation after construction; the output is identical however
//! the input is chunked, since samples are buffered into the same 40-sample segments.

pub mod analysis;
pub mod config;
pub mod key;

pub use config::{Config, Profile};
pub use key::Key;

use crate::media::level::dbm0_to_power;
use analysis::{AnalyseFn, SegmentSums, Tables, SEGMENT, TONES, TONE_HZ};

/// Something the receiver heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A key went down. `at_sample` estimates the tone's onset.
    Started { digit: Key, at_sample: u64 },
    /// A key came up. `at_sample` estimates the tone's end.
    Ended { digit: Key, at_sample: u64 },
}

impl Event {
    /// The key this event concerns.
    pub fn digit(&self) -> Key {
        match *self {
            Event::Started { digit, .. } | Event::Ended { digit, .. } => digit,
        }
    }

    /// Sample position of the edge this event reports.
    pub fn at_sample(&self) -> u64 {
        match *self {
            Event::Started { at_sample, .. } | Event::Ended { at_sample, .. } => at_sample,
        }
    }
}

/// Windows combined per decision.
const WINDOWS: usize = 3;
/// Segments a decision spans.
const SPAN_SEGMENTS: usize = WINDOWS + 1;
/// Sum of the span's weights: half-weighted end segments plus full inner ones.
const SPAN_WEIGHT: f32 = (SEGMENT * WINDOWS) as f32;
/// |Y|² of a unit-power tone at bin centre: (A·Σw/2)² with A²/2 = 1 and Σw = 40.
const UNIT_TONE_WINDOW_POWER: f32 = 800.0;
/// How far inside the first (last) valid span a tone's onset (end) typically lies, in
/// samples. Measured by the conformance suite's timing test.
const EDGE_INSET: u64 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    /// A key seen in `hits` decisions so far, the first at segment `first`.
    Candidate {
        digit: Key,
        first: u64,
        hits: u8,
    },
    /// A reported key; last seen at segment `last`, `misses` decisions ago.
    Active {
        digit: Key,
        last: u64,
        misses: u8,
    },
}

/// Streaming DTMF receiver for one call. See the [module docs](self).
pub struct Receiver {
    config: Config,
    tables: &'static Tables,
    analyse: AnalyseFn,
    // Derived limits.
    min_tone_power: f32,
    /// Per tone: the window's response at the edge of the frequency tolerance.
    edge_response: [f32; TONES],
    normal_twist: f32,
    reverse_twist: f32,
    // Sample buffering.
    buffer: [f32; SEGMENT],
    filled: usize,
    /// Complete segments analysed so far.
    segments: u64,
    // Per-tone window state.
    prev_rise: [[f32; 2]; TONES],
    windows: [[[f32; 2]; TONES]; WINDOWS],
    window_power: [[f32; TONES]; WINDOWS],
    energy: [[f32; 4]; SPAN_SEGMENTS],
    state: State,
    scratch: SegmentSums,
}

impl Receiver {
    /// A receiver with the given limits.
    pub fn new(config: Config) -> Self {
        let twist = |db: f32| 10f32.powf(db / 10.0);
        let tables = Tables::get();
        let edge_response = std::array::from_fn(|t| {
            tables.response(TONE_HZ[t] * config.frequency_tolerance + config.frequency_tolerance_hz)
        });
        Receiver {
            edge_response,
            min_tone_power: dbm0_to_power(config.min_level_dbm0),
            normal_twist: twist(config.normal_twist_db + config.twist_margin_db),
            reverse_twist: twist(config.reverse_twist_db + config.twist_margin_db),
            config,
            tables,
            analyse: analysis::select(),
            buffer: [0.0; SEGMENT],
            filled: 0,
            segments: 0,
            prev_rise: [[0.0; 2]; TONES],
            windows: [[[0.0; 2]; TONES]; WINDOWS],
            window_power: [[0.0; TONES]; WINDOWS],
            energy: [[0.0; 4]; SPAN_SEGMENTS],
            state: State::Idle,
            scratch: SegmentSums::default(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Samples consumed so far.
    pub fn samples_seen(&self) -> u64 {
        self.segments * SEGMENT as u64 + self.filled as u64
    }

    /// The key currently held down, if one has been reported and not yet ended.
    pub fn active(&self) -> Option<Key> {
        match self.state {
            State::Active { digit, .. } => Some(digit),
            _ => None,
        }
    }

    /// Feed samples; `on_event` is called for each event, in order.
    pub fn push(&mut self, samples: &[i16], mut on_event: impl FnMut(Event)) {
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (SEGMENT - self.filled).min(rest.len());
            for (dst, &src) in self.buffer[self.filled..self.filled + take]
                .iter_mut()
                .zip(&rest[..take])
            {
                *dst = f32::from(src);
            }
            self.filled += take;
            rest = &rest[take..];
            if self.filled == SEGMENT {
                self.filled = 0;
                self.segment_complete(&mut on_event);
            }
        }
    }

    /// Feed samples and collect the events (allocates; for tests and tools).
    pub fn push_collect(&mut self, samples: &[i16]) -> Vec<Event> {
        let mut events = Vec::new();
        self.push(samples, |e| events.push(e));
        events
    }

    /// End of stream: report the end of a key still held down. The receiver is then idle.
    pub fn finish(&mut self, mut on_event: impl FnMut(Event)) {
        if let State::Active { digit, last, .. } = self.state {
            on_event(Event::Ended {
                digit,
                at_sample: span_end(last),
            });
        }
        self.state = State::Idle;
    }

    fn segment_complete(&mut self, on_event: &mut impl FnMut(Event)) {
        let sums = &mut self.scratch;
        (self.analyse)(&self.buffer, self.tables, sums);
        let index = self.segments;
        self.segments += 1;

        // Shift the window rings and assemble the newest window from the previous segment's
        // rising half and this segment's falling half (plain minus rising).
        self.windows.rotate_left(1);
        self.window_power.rotate_left(1);
        self.energy.rotate_left(1);
        let rot = &self.tables.hop_rotation;
        let newest = WINDOWS - 1;
        for (t, prev_rise) in self.prev_rise.iter_mut().enumerate() {
            let fall = [
                sums.plain[t][0] - sums.rise[t][0],
                sums.plain[t][1] - sums.rise[t][1],
            ];
            let turned = cmul(fall, rot[t]);
            let y = [prev_rise[0] + turned[0], prev_rise[1] + turned[1]];
            self.windows[newest][t] = y;
            self.window_power[newest][t] = y[0] * y[0] + y[1] * y[1];
            *prev_rise = sums.rise[t];
        }
        self.energy[SPAN_SEGMENTS - 1] = sums.energy;

        let decision = if index + 1 >= SPAN_SEGMENTS as u64 {
            self.decide()
        } else {
            None
        };
        self.advance(index, decision, on_event);
    }

    /// Which key, if any, the last 20 ms hold.
    fn decide(&self) -> Option<Key> {
        // Power of the span, weighted like the three windows together, with DC removed.
        let e = &self.energy;
        let sum_sq = e[0][1] + e[1][0] + e[2][0] + (e[3][0] - e[3][1]);
        let sum = e[0][3] + e[1][2] + e[2][2] + (e[3][2] - e[3][3]);
        let total = (sum_sq - sum * sum / SPAN_WEIGHT) / SPAN_WEIGHT;
        if total < 2.0 * self.min_tone_power {
            return None;
        }

        // Strongest tone of each group by raw window power.
        let mut raw = [0f32; TONES];
        for power in &self.window_power {
            for (r, p) in raw.iter_mut().zip(power) {
                *r += p;
            }
        }
        let row = argmax(&raw[..4]);
        let col = 4 + argmax(&raw[4..]);

        // Cheap bound first: even with the largest scalloping correction the tolerance
        // allows, can these two tones carry enough of the power?
        let scale = UNIT_TONE_WINDOW_POWER * WINDOWS as f32;
        let worst = self.edge_response[col];
        let bound = (raw[row] + raw[col]) / (scale * worst * worst);
        if bound < self.config.min_tone_share * total {
            return None;
        }

        let (row_power, row_hz) = self.measure(row, raw[row] / scale)?;
        let (col_power, col_hz) = self.measure(col, raw[col] / scale)?;
        if self.config.harmonic_guard && is_harmonic_pair(row_hz, col_hz) {
            return None;
        }
        if row_power < self.min_tone_power || col_power < self.min_tone_power {
            return None;
        }
        if row_power > col_power * self.normal_twist || col_power > row_power * self.reverse_twist {
            return None;
        }
        if row_power + col_power < self.config.min_tone_share * total {
            return None;
        }
        Some(Key::from_row_col(row, col - 4))
    }

    /// Allowed deviation from nominal for tone `t`, Hz.
    fn tolerance_hz(&self, t: usize) -> f32 {
        TONE_HZ[t] * self.config.frequency_tolerance + self.config.frequency_tolerance_hz
    }

    /// Measure tone `t`: its frequency from the phase advance between windows, then its
    /// power corrected for the window's response at that frequency. Returns (power, Hz);
    /// `None` if it is off frequency, unsteady in pitch or in level.
    fn measure(&self, t: usize, raw_power: f32) -> Option<(f32, f32)> {
        let w = &self.windows;
        let rot = self.tables.hop_rotation[t];
        let z1 = cmul(cmul(w[1][t], conj(w[0][t])), rot);
        let z2 = cmul(cmul(w[2][t], conj(w[1][t])), rot);
        let z = [z1[0] + z2[0], z1[1] + z2[1]];
        let magnitude = cabs(z);
        // Both steps must turn the same way: a steady pitch.
        if magnitude < 0.9 * (cabs(z1) + cabs(z2)) {
            return None;
        }
        let offset_hz = z[1].atan2(z[0]) * crate::media::SAMPLE_RATE as f32
            / (std::f32::consts::TAU * SEGMENT as f32);
        if offset_hz.abs() > self.tolerance_hz(t) {
            return None;
        }
        let powers = [
            self.window_power[0][t],
            self.window_power[1][t],
            self.window_power[2][t],
        ];
        let weakest = powers[0].min(powers[1]).min(powers[2]);
        let strongest = powers[0].max(powers[1]).max(powers[2]);
        if weakest < self.config.min_steadiness * strongest {
            return None;
        }
        let response = self.tables.response(offset_hz);
        Some((raw_power / (response * response), TONE_HZ[t] + offset_hz))
    }

    fn advance(&mut self, index: u64, decision: Option<Key>, on_event: &mut impl FnMut(Event)) {
        let hits_to_start = self.config.hits_to_start.max(1);
        let misses_to_end = self.config.misses_to_end.max(1);
        self.state = match (self.state, decision) {
            (State::Idle, None) => State::Idle,
            (State::Idle, Some(digit)) => State::Candidate {
                digit,
                first: index,
                hits: 1,
            },
            (State::Candidate { digit, first, hits }, Some(seen)) if seen == digit => {
                let hits = hits + 1;
                if hits >= hits_to_start {
                    on_event(Event::Started {
                        digit,
                        at_sample: span_start(first) + EDGE_INSET,
                    });
                    State::Active {
                        digit,
                        last: index,
                        misses: 0,
                    }
                } else {
                    State::Candidate { digit, first, hits }
                }
            }
            (State::Candidate { .. }, Some(other)) => State::Candidate {
                digit: other,
                first: index,
                hits: 1,
            },
            (State::Candidate { .. }, None) => State::Idle,
            (State::Active { digit, .. }, Some(seen)) if seen == digit => State::Active {
                digit,
                last: index,
                misses: 0,
            },
            (
                State::Active {
                    digit,
                    last,
                    misses,
                },
                other,
            ) => {
                let misses = misses + 1;
                if misses >= misses_to_end {
                    on_event(Event::Ended {
                        digit,
                        at_sample: span_end(last),
                    });
                    match other {
                        Some(next) => State::Candidate {
                            digit: next,
                            first: index,
                            hits: 1,
                        },
                        None => State::Idle,
                    }
                } else {
                    State::Active {
                        digit,
                        last,
                        misses,
                    }
                }
            }
        };
    }
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver::new(Config::default())
    }
}

/// Whether two measured frequencies stand in a 2:1 or 3:2 ratio (within 0.5 %), as the
/// harmonics of one voice or instrument do. No key sent within Q.24's tolerances can: the
/// nearest ('2', '6' and 'C' to 2:1; '8' and '#' to 3:2) stay 1.2 % away at AT&T's ±1.5 %
/// and 0.6 % away at NTT's ±1.8 %. Measured frequencies are accurate to a fraction of a
/// hertz, so this costs real keys nothing and removes the main source of talk-off from high
/// voices and whistles.
fn is_harmonic_pair(low_hz: f32, high_hz: f32) -> bool {
    let ratio = high_hz / low_hz;
    (ratio - 2.0).abs() <= 0.010 || (ratio - 1.5).abs() <= 0.0075
}

/// First sample of the span decided at segment `index`.
fn span_start(index: u64) -> u64 {
    (index + 1).saturating_sub(SPAN_SEGMENTS as u64) * SEGMENT as u64
}

/// Estimated tone end for a key last seen in the span decided at segment `index`.
fn span_end(index: u64) -> u64 {
    ((index + 1) * SEGMENT as u64).saturating_sub(EDGE_INSET)
}

fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

#[inline]
fn cmul(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]]
}

#[inline]
fn conj(a: [f32; 2]) -> [f32; 2] {
    [a[0], -a[1]]
}

#[inline]
fn cabs(a: [f32; 2]) -> f32 {
    (a[0] * a[0] + a[1] * a[1]).sqrt()
}
