//! Tone synthesis: DTMF keys at a chosen level, twist and frequency error, and plain sines.
//!
//! Used by the simulated caller to press keys in-band and by the conformance suite to make its
//! test signals. Synthesis works in `f32` so callers can mix several sources (tones, noise,
//! speech) before one saturating conversion to 16 bits.

use super::dtmf::Key;
use super::level::sine_amplitude;
use super::SAMPLE_RATE;
use std::f64::consts::TAU;

/// One DTMF key as a transmitter would send it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfTone {
    pub key: Key,
    /// Level of the low-group (row) tone, dBm0.
    pub low_dbm0: f32,
    /// Level of the high-group (column) tone, dBm0.
    pub high_dbm0: f32,
    /// Relative frequency error of the low tone (0.015 is +1.5 %).
    pub low_deviation: f64,
    /// Relative frequency error of the high tone.
    pub high_deviation: f64,
}

impl DtmfTone {
    /// A key at nominal frequencies with both tones at `dbm0`.
    pub fn new(key: Key, dbm0: f32) -> Self {
        Self {
            key,
            low_dbm0: dbm0,
            high_dbm0: dbm0,
            low_deviation: 0.0,
            high_deviation: 0.0,
        }
    }

    /// The two frequencies actually sent, Hz.
    pub fn frequencies(&self) -> (f64, f64) {
        let (low, high) = self.key.frequencies();
        (
            f64::from(low) * (1.0 + self.low_deviation),
            f64::from(high) * (1.0 + self.high_deviation),
        )
    }

    /// Add the tone to `buf[start..start + len]` with the given starting phases (radians).
    pub fn add_to(&self, buf: &mut [f32], start: usize, len: usize, phases: (f64, f64)) {
        let (fl, fh) = self.frequencies();
        add_sine(buf, start, len, fl, sine_amplitude(self.low_dbm0), phases.0);
        add_sine(
            buf,
            start,
            len,
            fh,
            sine_amplitude(self.high_dbm0),
            phases.1,
        );
    }
}

/// Add a sine of `freq` Hz and peak `amplitude` to `buf[start..start + len]` (clipped to the
/// buffer), starting at `phase` radians.
pub fn add_sine(buf: &mut [f32], start: usize, len: usize, freq: f64, amplitude: f32, phase: f64) {
    let end = (start + len).min(buf.len());
    let step = TAU * freq / f64::from(SAMPLE_RATE);
    for (i, s) in buf[start.min(end)..end].iter_mut().enumerate() {
        *s += amplitude * (phase + step * i as f64).sin() as f32;
    }
}

/// Convert mixed `f32` samples to 16-bit with saturation, as a real line would clip.
pub fn to_i16(buf: &[f32]) -> Vec<i16> {
    buf.iter()
        .map(|&s| s.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// A sequence of keys as 16-bit samples: each key `on_ms` long, followed by `off_ms` of
/// silence, both tones at `dbm0`. Leading silence of `off_ms` too.
pub fn dtmf_sequence(keys: &[Key], dbm0: f32, on_ms: u32, off_ms: u32) -> Vec<i16> {
    let per_ms = (SAMPLE_RATE / 1000) as usize;
    let on = on_ms as usize * per_ms;
    let off = off_ms as usize * per_ms;
    let mut buf = vec![0f32; off + keys.len() * (on + off)];
    for (i, &key) in keys.iter().enumerate() {
        DtmfTone::new(key, dbm0).add_to(&mut buf, off + i * (on + off), on, (0.0, 0.0));
    }
    to_i16(&buf)
}
