//! Reading audio files into 8 kHz mono, for prompts and the command-line tools.
//!
//! PCM (8/16/24/32-bit integer) and 32-bit float WAV go through hound. G.711 WAV (format tags
//! 6 and 7, plain or WAVE_FORMAT_EXTENSIBLE), which hound does not read, is parsed here: it is
//! a `fmt ` chunk and a `data` chunk of codes we already know how to decode. Channels are
//! averaged, and anything not at 8 kHz is resampled once with rubato's band-limited sinc
//! interpolator, so this never runs on a call's hot path.

use crate::media::g711::Law;
use crate::media::SAMPLE_RATE;
use rubato::{
    Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
};
use std::path::Path;

/// Why an audio file could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AudioError {
    #[error("cannot read file: {0}")]
    Io(String),
    #[error("not a valid WAV file: {0}")]
    Corrupt(String),
    #[error("unsupported WAV encoding: {0}")]
    Unsupported(String),
    #[error("file has no audio samples")]
    Empty,
}

/// Largest float sample magnitude accepted: 60 dB over full scale.
pub const MAX_FLOAT_SAMPLE: f32 = 1000.0;

/// Decoded audio: mono, samples in [-1, 1].
#[derive(Debug, Clone)]
pub struct Mono {
    pub sample_rate: u32,
    /// Channels in the file before downmixing.
    pub channels: u16,
    /// A short description of the file's encoding, e.g. "PCM 24-bit".
    pub encoding: String,
    pub samples: Vec<f32>,
}

impl Mono {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

/// Read a WAV file of any supported encoding and downmix it to mono.
pub fn read_wav(path: &Path) -> Result<Mono, AudioError> {
    let bytes = std::fs::read(path).map_err(|e| AudioError::Io(e.to_string()))?;
    read_wav_bytes(&bytes)
}

/// [`read_wav`] on an in-memory file.
pub fn read_wav_bytes(bytes: &[u8]) -> Result<Mono, AudioError> {
    if let Some(g711) = g711_wav(bytes)? {
        return Ok(g711);
    }
    let mut reader =
        hound::WavReader::new(bytes).map_err(|e| AudioError::Corrupt(e.to_string()))?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(AudioError::Corrupt("zero channels or sample rate".into()));
    }
    let interleaved: Result<Vec<f32>, hound::Error> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect(),
        hound::SampleFormat::Int => {
            // An extensible header's valid-bits field can say anything.
            let bits = spec.bits_per_sample;
            if !(1..=32).contains(&bits) {
                return Err(AudioError::Unsupported(format!(
                    "PCM with {bits} bits per sample"
                )));
            }
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect()
        }
    };
    let interleaved = interleaved.map_err(|e| AudioError::Corrupt(e.to_string()))?;
    // Float audio may run a little over full scale, but samples far beyond it are not audio
    // (often integer data under a float header), and would overflow the f32 arithmetic of
    // downmixing, resampling and levelling into a silent prompt.
    if let Some(s) = interleaved
        .iter()
        .find(|s| s.is_finite() && s.abs() > MAX_FLOAT_SAMPLE)
    {
        return Err(AudioError::Corrupt(format!(
            "float sample {s:e} is beyond ±{MAX_FLOAT_SAMPLE} (60 dB over full scale)"
        )));
    }
    let encoding = match spec.sample_format {
        hound::SampleFormat::Float => format!("float {}-bit", spec.bits_per_sample),
        hound::SampleFormat::Int => format!("PCM {}-bit", spec.bits_per_sample),
    };
    finish(interleaved, spec.channels, spec.sample_rate, encoding)
}

fn finish(
    interleaved: Vec<f32>,
    channels: u16,
    sample_rate: u32,
    encoding: String,
) -> Result<Mono, AudioError> {
    if interleaved.is_empty() {
        return Err(AudioError::Empty);
    }
    let samples = downmix(&interleaved, channels);
    Ok(Mono {
        sample_rate,
        channels,
        encoding,
        samples,
    })
}

/// Average interleaved channels into one. Non-finite float samples become silence.
pub fn downmix(interleaved: &[f32], channels: u16) -> Vec<f32> {
    let channels = usize::from(channels.max(1));
    interleaved
        .chunks(channels)
        .map(|frame| {
            let sum: f32 = frame
                .iter()
                .map(|s| if s.is_finite() { *s } else { 0.0 })
                .sum();
            sum / channels as f32
        })
        .collect()
}

/// Parse a G.711 WAV; `Ok(None)` if the file is some other WAV (or not RIFF at all, which
/// hound will then report).
fn g711_wav(bytes: &[u8]) -> Result<Option<Mono>, AudioError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Ok(None);
    }
    let mut pos = 12;
    let mut format: Option<(Law, u16, u32)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let body_start = pos + 8;
        let body_end = body_start.saturating_add(size).min(bytes.len());
        let body = &bytes[body_start..body_end];
        if id == b"fmt " {
            if body.len() < 16 {
                return Err(AudioError::Corrupt("fmt chunk too short".into()));
            }
            let mut tag = u16::from_le_bytes([body[0], body[1]]);
            if tag == 0xFFFE && body.len() >= 26 {
                // WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID.
                tag = u16::from_le_bytes([body[24], body[25]]);
            }
            let law = match tag {
                6 => Law::Alaw,
                7 => Law::Ulaw,
                _ => return Ok(None),
            };
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            let bits = u16::from_le_bytes([body[14], body[15]]);
            if bits != 8 {
                return Err(AudioError::Unsupported(format!(
                    "G.711 with {bits} bits per sample"
                )));
            }
            if channels == 0 || rate == 0 {
                return Err(AudioError::Corrupt("zero channels or sample rate".into()));
            }
            format = Some((law, channels, rate));
        } else if id == b"data" {
            let Some((law, channels, rate)) = format else {
                return Err(AudioError::Corrupt("data chunk before fmt chunk".into()));
            };
            let interleaved: Vec<f32> = body
                .iter()
                .map(|&c| f32::from(law.decode(c)) / 32768.0)
                .collect();
            let name = match law {
                Law::Ulaw => "G.711 μ-law",
                Law::Alaw => "G.711 A-law",
            };
            return finish(interleaved, channels, rate, name.into()).map(Some);
        }
        pos = body_start.saturating_add(size + (size & 1));
    }
    match format {
        Some(_) => Err(AudioError::Corrupt("no data chunk".into())),
        None => Ok(None),
    }
}

/// Resample mono audio to 8 kHz (a copy if it already is).
pub fn to_telephony_rate(audio: &Mono) -> Result<Vec<f32>, AudioError> {
    resample(&audio.samples, audio.sample_rate, SAMPLE_RATE)
}

/// Band-limited resampling of a whole signal, start-up work only.
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let ratio = f64::from(to) / f64::from(from);
    let params = SincInterpolationParameters {
        sinc_len: 256,
        f_cutoff: 0.95,
        interpolation: SincInterpolationType::Cubic,
        oversampling_factor: 256,
        window: WindowFunction::BlackmanHarris2,
    };
    const CHUNK: usize = 1024;
    let mut resampler = SincFixedIn::<f32>::new(ratio, 1.0, params, CHUNK, 1)
        .map_err(|e| AudioError::Unsupported(format!("resampler: {e}")))?;
    let delay = resampler.output_delay();
    let wanted = (input.len() as f64 * ratio).round() as usize;
    let mut out = Vec::with_capacity(wanted + delay + CHUNK);
    let fail = |e: rubato::ResampleError| AudioError::Unsupported(format!("resampler: {e}"));
    let mut chunks = input.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        let produced = resampler.process(&[chunk], None).map_err(fail)?;
        out.extend_from_slice(&produced[0]);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let produced = resampler
            .process_partial(Some(&[tail]), None)
            .map_err(fail)?;
        out.extend_from_slice(&produced[0]);
    }
    // Flush the filter's delay line.
    while out.len() < wanted + delay {
        let produced = resampler
            .process_partial::<&[f32]>(None, None)
            .map_err(fail)?;
        if produced[0].is_empty() {
            break;
        }
        out.extend_from_slice(&produced[0]);
    }
    let end = (delay + wanted).min(out.len());
    Ok(out[delay.min(end)..end].to_vec())
}

/// Convert [-1, 1] samples to 16-bit with rounding and saturation.
pub fn to_i16(samples: &[f32]) -> Vec<i16> {
    samples
        .iter()
        .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_duration_and_frequency() {
        let from = 44_100;
        let input: Vec<f32> = (0..from)
            .map(|i| (std::f32::consts::TAU * 1000.0 * i as f32 / from as f32).sin() * 0.5)
            .collect();
        let out = resample(&input, from, 8000).unwrap();
        assert_eq!(out.len(), 8000);
        // 1 kHz at 8 kHz is eight samples a cycle: count rising zero crossings mid-signal.
        let crossings = out[1000..7000]
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        assert!((748..=752).contains(&crossings), "{crossings}");
        let peak = out[1000..7000].iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!((peak - 0.5).abs() < 0.02, "{peak}");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert!(matches!(
            read_wav_bytes(b"not a wav at all"),
            Err(AudioError::Corrupt(_))
        ));
        let mut riff = b"RIFF\x04\x00\x00\x00WAVE".to_vec();
        riff.extend_from_slice(
            b"fmt \x10\x00\x00\x00\x07\x00\x01\x00\x40\x1f\x00\x00\x40\x1f\x00\x00\x01\x00\x08\x00",
        );
        assert_eq!(
            read_wav_bytes(&riff).unwrap_err(),
            AudioError::Corrupt("no data chunk".into())
        );
    }
}
