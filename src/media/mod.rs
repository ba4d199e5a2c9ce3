//! Pure DSP: G.711 codecs, signal levels, tone generation and the DTMF receiver.
//!
//! Nothing here touches tokio, sockets or the clock, and nothing allocates per sample: every
//! type is built once and then fed samples. Sample rate is 8 kHz throughout.

pub mod arrival;
pub mod dtmf;
pub mod g711;
pub mod level;
pub mod tone;

/// Telephony sample rate, samples per second.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms frame, the unit providers stream in.
pub const FRAME_SAMPLES: usize = 160;
