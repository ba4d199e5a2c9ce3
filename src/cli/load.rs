//! `consentline load`: many simulated Twilio calls at once against a running server.

use anyhow::Result;
use consentline::load::{percentile, process_usage, run, LoadPlan, Scenario};
use std::io::Write;
use std::path::PathBuf;

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
    /// privacy.
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
    let before = args.server_pid.and_then(process_usage);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(run(&plan));
    let after = args.server_pid.and_then(process_usage);

    let ok = report.ledger.len() - report.failed();
    println!(
        "{} calls in {:.1} s: {ok} as expected, {} failed",
        report.ledger.len(),
        report.seconds,
        report.failed()
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
    let mut clears = report.key_to_clear_ms.clone();
    if let (Some(p50), Some(p99), Some(max)) = (
        percentile(&mut clears, 0.5),
        percentile(&mut clears, 0.99),
        percentile(&mut clears, 1.0),
    ) {
        println!("key tone onset to clear: p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms ({} barge-ins)", clears.len());
    }
    println!(
        "caller frames: {} sent, {} more than 10 ms late, worst lag {:.1} ms",
        report.frames_sent, report.frames_late, report.worst_frame_lag_ms
    );
    if let (Some((cpu0, _)), Some((cpu1, rss))) = (before, after) {
        println!(
            "server: {:.2} CPU seconds during the run, resident memory {:.1} MiB at the end",
            cpu1 - cpu0,
            rss as f64 / (1024.0 * 1024.0)
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
