//! Turning decoded audio into what callers hear: levelled, μ-law, 20 ms frames, hashed.

use crate::media::g711;
use crate::media::level::power_to_dbm0;
use crate::media::FRAME_SAMPLES;
use sha2::{Digest, Sha256};

/// One 20 ms frame of μ-law audio.
pub type Frame = [u8; FRAME_SAMPLES];

/// Level a prompt is brought to: a normal telephony speech level.
pub const TARGET_DBM0: f32 = -18.0;
/// Highest peak allowed after levelling, as a fraction of full scale (about −0.2 dBFS).
const PEAK_LIMIT: f32 = 0.975;
/// Frames more than this far below the loudest frame don't count as speech when measuring
/// the active level (a simple gate in the spirit of ITU-T P.56).
const GATE_DB: f32 = 35.0;
/// Quieter than this (active level) is treated as silence.
pub const SILENT_DBM0: f32 = -60.0;

/// The result of rendering.
pub struct Rendered {
    pub frames: Vec<Frame>,
    /// SHA-256 over every byte of every frame, in order: exactly what is sent.
    pub sha256: [u8; 32],
    /// Active speech level before levelling, dBm0.
    pub source_level_dbm0: f32,
    /// Active speech level as sent (after levelling and μ-law), dBm0.
    pub level_dbm0: f32,
    /// Gain applied, dB.
    pub gain_db: f32,
    /// Samples of real audio (the last frame is padded with silence).
    pub samples: usize,
}

/// Active level of 8 kHz audio in [-1, 1] scale: power over the 20 ms frames within
/// `GATE_DB` of the loudest, in dBm0. `None` when there is no audio at all. A short last
/// frame counts as padded with silence, as it is sent, so source and sent levels agree.
pub fn active_level_dbm0(samples: &[f32]) -> Option<f32> {
    let full = 32768.0f32;
    let powers: Vec<f32> = samples
        .chunks(FRAME_SAMPLES)
        .map(|f| f.iter().map(|s| (s * full) * (s * full)).sum::<f32>() / FRAME_SAMPLES as f32)
        .collect();
    let loudest = powers.iter().cloned().fold(0.0f32, f32::max);
    if loudest <= 0.0 {
        return None;
    }
    let gate = loudest / 10f32.powf(GATE_DB / 10.0);
    let active: Vec<f32> = powers.into_iter().filter(|&p| p >= gate).collect();
    let mean = active.iter().sum::<f32>() / active.len() as f32;
    Some(power_to_dbm0(mean))
}

/// Level, encode, frame and hash 8 kHz mono audio in [-1, 1].
/// Returns `None` if the audio is silent (below [`SILENT_DBM0`]).
pub fn render(samples: &[f32]) -> Option<Rendered> {
    let source_level = active_level_dbm0(samples)?;
    if source_level < SILENT_DBM0 {
        return None;
    }
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    let wanted = 10f32.powf((TARGET_DBM0 - source_level) / 20.0);
    let gain = wanted.min(PEAK_LIMIT / peak);

    let mut frames =
        vec![[g711::ULAW_SILENCE; FRAME_SAMPLES]; samples.len().div_ceil(FRAME_SAMPLES)];
    for (frame, chunk) in frames.iter_mut().zip(samples.chunks(FRAME_SAMPLES)) {
        for (code, &s) in frame.iter_mut().zip(chunk) {
            let linear = (s * gain * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            *code = g711::ulaw_encode(linear);
        }
    }
    let mut hasher = Sha256::new();
    for frame in &frames {
        hasher.update(frame);
    }
    let sent: Vec<f32> = frames
        .iter()
        .flat_map(|f| f.iter().map(|&c| f32::from(g711::ulaw_decode(c)) / 32768.0))
        .collect();
    let level = active_level_dbm0(&sent).unwrap_or(f32::NEG_INFINITY);
    Some(Rendered {
        frames,
        sha256: hasher.finalize().into(),
        source_level_dbm0: source_level,
        level_dbm0: level,
        gain_db: 20.0 * gain.log10(),
        samples: samples.len(),
    })
}
