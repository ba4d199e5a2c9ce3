//! `consentline dtmf FILE.wav`: run the receiver over a recording.

use anyhow::{Context, Result};
use consentline::audio;
use consentline::media::dtmf::{Config, Event, Profile, Receiver};
use consentline::media::SAMPLE_RATE;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct DtmfArgs {
    /// WAV file: any sample rate, mono or stereo, PCM, float, μ-law or A-law.
    pub file: PathBuf,
    /// Receiver limits: att (ITU-T Q.24 AT&T column), ntt or etsi.
    #[arg(long, default_value = "att")]
    pub profile: Profile,
    /// Weakest tone accepted, dBm0 per tone (default: the profile's).
    #[arg(long, allow_hyphen_values = true)]
    pub min_level: Option<f32>,
}

#[derive(serde::Serialize)]
struct Detected {
    digit: String,
    start_ms: f64,
    end_ms: f64,
}

pub fn run(args: &DtmfArgs) -> Result<()> {
    let name = args.file.display();
    let audio = audio::read_wav(&args.file).with_context(|| format!("{name}"))?;
    let samples =
        audio::to_i16(&audio::to_telephony_rate(&audio).with_context(|| format!("{name}"))?);
    let mut config = Config::for_profile(args.profile);
    if let Some(level) = args.min_level {
        config.min_level_dbm0 = level;
    }
    let mut receiver = Receiver::new(config);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut open: Option<u64> = None;
    let mut result = Ok(());
    let mut emit = |event: Event| match event {
        Event::Started { at_sample, .. } => open = Some(at_sample),
        Event::Ended { digit, at_sample } => {
            let start = open.take().unwrap_or(at_sample);
            let line = Detected {
                digit: digit.to_string(),
                start_ms: ms(start),
                end_ms: ms(at_sample),
            };
            if result.is_ok() {
                result = serde_json::to_writer(&mut out, &line)
                    .map_err(anyhow::Error::from)
                    .and_then(|_| writeln!(out).map_err(anyhow::Error::from));
            }
        }
    };
    for chunk in samples.chunks(SAMPLE_RATE as usize) {
        receiver.push(chunk, &mut emit);
    }
    receiver.finish(&mut emit);
    result
}

fn ms(sample: u64) -> f64 {
    (sample as f64 * 1000.0 / f64::from(SAMPLE_RATE) * 10.0).round() / 10.0
}
