//! `consentline load`: many simulated Twilio calls at once against a running server.

use anyhow::Result;
use consentline::load::{percentile, process_cpu, process_usage, run, LoadPlan, Scenario};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct LoadArgs {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// How many calls in all (they overlap: each lasts as long as its prompts).
    #[arg(long, default_value_t = 20)]
    pub calls: usize,
    /// New calls per second.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Scenarios, used in turn: consent-inband, consent-event, decline, barge-in, hangup,
    /// no-input, privacy.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "consent-inband,consent-event,decline,barge-in,hangup"
    )]
    pub mix: Vec<String>,
    /// The server's privacy line (for the privacy scenario).
    #[arg(long, default_value = "+18885550100")]
    pub privacy_line: String,
    /// Measure this server process's CPU time and resident memory from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Write every call's expected and received outcome as JSON lines.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Runtime worker threads (pin the generator with `taskset` to measure one core).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Microseconds a worker with nothing to do waits before sleeping on the sockets, so
    /// one wake-up handles many calls' frames (0: wake for every event).
    #[arg(long, default_value_t = 1000)]
    pub wake_coalesce_us: u64,
}

pub fn run_load(args: &LoadArgs) -> Result<()> {
    let mix = args
        .mix
        .iter()
        .map(|m| Scenario::parse(m).ok_or_else(|| anyhow::anyhow!("unknown scenario {m:?}")))
        .collect::<Result<Vec<_>>>()?;
    anyhow::ensure!(!mix.is_empty(), "--mix needs at least one scenario");
    let plan = LoadPlan {
        url: args.url.trim_end_matches('/').to_string(),
        calls: args.calls,
        rate: args.rate,
        mix,
        privacy_line: args.privacy_line.clone(),
    };
    // The server's CPU time and memory: at the start (its idle baseline), peak during the run
    // (sampled every 200 ms off the runtime's threads) and at the end.
    let before = args.server_pid.and_then(process_usage);
    let split_before = args.server_pid.and_then(process_cpu);
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = args.server_pid.map(|pid| {
        let (peak_rss, sampling) = (peak_rss.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Relaxed) {
                if let Some((_, rss)) = process_usage(pid) {
                    peak_rss.fetch_max(rss, Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
    });
    let runtime = super::runtime(
        Some(args.threads),
        std::time::Duration::from_micros(args.wake_coalesce_us),
    )?;
    let report = runtime.block_on(run(&plan));
    let after = args.server_pid.and_then(process_usage);
    let split_after = args.server_pid.and_then(process_cpu);
    sampling.store(false, Relaxed);
    if let Some(s) = sampler {
        let _ = s.join();
    }

    let ok = report.ledger.len() - report.failed();
    println!(
        "{} calls in {:.1} s: {ok} as expected, {} failed; at most {} at once; {:.0} call-seconds",
        report.ledger.len(),
        report.seconds,
        report.failed(),
        report.peak_calls,
        report.call_seconds,
    );
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    for e in report.ledger.iter().filter(|e| !e.ok) {
        *reasons
            .entry(format!(
                "{}: {}",
                e.scenario,
                e.error.clone().unwrap_or_default()
            ))
            .or_default() += 1;
    }
    for (reason, n) in reasons {
        println!("  {n} × {reason}");
    }
    let figures = [
        ("stream start to first prompt audio", &report.first_audio_ms),
        ("key press to clear (barge-in)", &report.key_to_clear_ms),
        (
            "key press to the answer (after the durable record)",
            &report.key_to_answer_ms,
        ),
        ("action webhook response", &report.after_ms),
    ];
    for (what, values) in figures {
        let mut v = values.clone();
        if let (Some(p50), Some(p99), Some(max)) = (
            percentile(&mut v, 0.5),
            percentile(&mut v, 0.99),
            percentile(&mut v, 1.0),
        ) {
            println!(
                "{what}: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms ({} samples)",
                v.len()
            );
        }
    }
    println!(
        "caller frames: {} sent, {} more than 10 ms late, timer lag p50 {} ms, p99 {} ms, worst {:.1} ms; {:.0} s of prompt audio received",
        report.frames_sent,
        report.frames_late,
        report.frame_lag_quantile(0.5).unwrap_or(0),
        report.frame_lag_quantile(0.99).unwrap_or(0),
        report.worst_frame_lag_ms,
        report.audio_seconds,
    );
    if let (Some((cpu0, rss0)), Some((cpu1, rss1))) = (before, after) {
        let cpu = cpu1 - cpu0;
        let peak = peak_rss.load(Relaxed).max(rss1);
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        println!(
            "server: {cpu:.2} CPU seconds, {:.0} µs per call-second ({:.3} % of a core per call, {:.0} calls per core); resident memory {:.1} MiB before, {:.1} MiB peak, {:.1} MiB after; {:.1} KiB per concurrent call above the start",
            cpu / report.call_seconds.max(1e-9) * 1e6,
            cpu / report.call_seconds.max(1e-9) * 100.0,
            report.call_seconds / cpu.max(1e-9),
            mib(rss0),
            mib(peak),
            mib(rss1),
            peak.saturating_sub(rss0) as f64 / 1024.0 / report.peak_calls.max(1) as f64,
        );
    }
    if let (Some((u0, s0)), Some((u1, s1))) = (split_before, split_after) {
        let per = |x: f64| x / report.call_seconds.max(1e-9) * 1e6;
        println!(
            "server CPU split: user {:.0} µs, kernel {:.0} µs per call-second",
            per(u1 - u0),
            per(s1 - s0)
        );
    }
    let client = process_usage(std::process::id()).map(|(cpu, _)| cpu);
    if let Some(cpu) = client {
        println!(
            "load generator: {cpu:.2} CPU seconds, {:.0} µs per call-second",
            cpu / report.call_seconds.max(1e-9) * 1e6
        );
    }
    if let Some(path) = &args.ledger {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for e in &report.ledger {
            writeln!(f, "{}", serde_json::to_string(e)?)?;
        }
        println!("ledger: {}", path.display());
    }
    anyhow::ensure!(
        report.failed() == 0,
        "{} calls did not get the outcome they expected",
        report.failed()
    );
    Ok(())
}
