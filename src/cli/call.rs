//! `consentline call`: a simulated Twilio caller against a running server.

use anyhow::Result;
use consentline::caller::{place_call, CallPlan, KeyMode, When};
use consentline::media::dtmf::Key;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct CallArgs {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Keys to press, one per question (e.g. 1, or 7 then 1 as "71"). None: let it time out.
    #[arg(long, default_value = "")]
    pub press: String,
    /// Send keys as DTMF tones in the audio (default).
    #[arg(long, conflicts_with_all = ["event", "both"])]
    pub inband: bool,
    /// Send keys as Twilio dtmf events.
    #[arg(long, conflicts_with = "both")]
    pub event: bool,
    /// Send each key both ways (the server must count it once).
    #[arg(long)]
    pub both: bool,
    /// Press the first key this many seconds into the call (barge-in) instead of after the
    /// prompt.
    #[arg(long)]
    pub at: Option<f64>,
    /// Hang up this many seconds into the call.
    #[arg(long)]
    pub hangup_after: Option<f64>,
    /// Caller's number.
    #[arg(long, default_value = "+15555550100")]
    pub from: String,
    /// Number called (selects the line).
    #[arg(long, default_value = "+18005550199")]
    pub to: String,
    /// Sign requests as Twilio would [env TWILIO_AUTH_TOKEN].
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Save what the caller heard as an 8 kHz WAV.
    #[arg(long)]
    pub save_audio: Option<PathBuf>,
    /// Print every mark echoed, not just a count between events.
    #[arg(long)]
    pub verbose: bool,
}

pub fn run(args: &CallArgs) -> Result<()> {
    let keys = Key::parse_sequence(&args.press)
        .ok_or_else(|| anyhow::anyhow!("--press {:?}: keys are 0-9, *, #, A-D", args.press))?;
    let mut plan = CallPlan::new(&args.url);
    plan.keys = keys;
    plan.mode = if args.event {
        KeyMode::Event
    } else if args.both {
        KeyMode::Both
    } else {
        KeyMode::Inband
    };
    plan.when = args.at.map_or(When::AfterPrompt, When::At);
    plan.hangup_after = args.hangup_after;
    plan.from = args.from.clone();
    plan.to = args.to.clone();
    plan.auth_token = args.auth_token.clone().filter(|t| !t.is_empty());
    plan.timeout = Duration::from_secs(180);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(place_call(&plan))?;
    println!("call {} (stream {})", report.call_sid, report.stream_sid);
    // Marks come back once per prompt (and per digit of a read-back): summarise runs of them.
    let mut marks = 0;
    let mut last_mark = 0.0;
    for (t, what) in &report.timeline {
        if what.contains("mark") && !args.verbose {
            marks += 1;
            last_mark = *t;
            continue;
        }
        if marks > 0 {
            println!("{last_mark:7.2} s  {marks} prompt(s) played out (marks echoed)");
            marks = 0;
        }
        println!("{t:7.2} s  {what}");
    }
    if marks > 0 {
        println!("{last_mark:7.2} s  {marks} prompt(s) played out (marks echoed)");
    }
    for latency in &report.key_to_clear {
        println!("key to clear: {:.0} ms", latency * 1000.0);
    }
    if let Some(latency) = report.key_to_close {
        println!("last key to stream close: {latency:.2} s");
    }
    match (&report.after_status, &report.after_twiml) {
        (Some(status), Some(twiml)) => {
            println!("bridge answer (HTTP {status}):\n{twiml}");
            println!(
                "=> {}",
                if report.bridged_with_recording() {
                    "bridged WITH recording"
                } else if twiml.contains("<Dial") {
                    "bridged without recording"
                } else {
                    "not bridged"
                }
            );
        }
        _ => println!("no bridge answer (the call ended first)"),
    }
    if let Some(path) = &args.save_audio {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec)?;
        for &s in &report.heard {
            w.write_sample(s)?;
        }
        w.finalize()?;
        println!(
            "saved {:.1} s of what the caller heard to {}",
            report.heard.len() as f64 / 8000.0,
            path.display()
        );
    }
    Ok(())
}
