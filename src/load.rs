//! The load generator: many simulated callers at once, each checking the outcome its scenario
//! expects, with a ledger of every call so a later check can prove nothing was lost.

use crate::caller::{place_call, CallPlan, CallReport, KeyMode, When};
use crate::media::dtmf::Key;
use std::time::Duration;

/// What a simulated call does, and what it must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Consent by in-band tone: bridged with recording.
    ConsentInband,
    /// Consent by Twilio dtmf event: bridged with recording.
    ConsentEvent,
    /// Decline: bridged without recording.
    Decline,
    /// Press 1 half a second in, during the disclosure: cleared, recorded.
    BargeIn,
    /// Hang up three seconds in: no recording.
    Hangup,
    /// Never press anything: asked again twice, then not recorded.
    NoInput,
    /// Privacy line: opt out with the caller ID: a request filed.
    Privacy,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::ConsentInband,
        Scenario::ConsentEvent,
        Scenario::Decline,
        Scenario::BargeIn,
        Scenario::Hangup,
        Scenario::NoInput,
        Scenario::Privacy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::ConsentInband => "consent-inband",
            Scenario::ConsentEvent => "consent-event",
            Scenario::Decline => "decline",
            Scenario::BargeIn => "barge-in",
            Scenario::Hangup => "hangup",
            Scenario::NoInput => "no-input",
            Scenario::Privacy => "privacy",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the bridge answer must record.
    pub fn expects_recording(self) -> bool {
        matches!(
            self,
            Scenario::ConsentInband | Scenario::ConsentEvent | Scenario::BargeIn
        )
    }

    fn plan(self, url: &str, privacy_line: &str, n: usize) -> CallPlan {
        let mut plan = CallPlan::new(url);
        plan.from = format!("+1415{:07}", 5_000_000 + n % 1_000_000);
        plan.timeout = Duration::from_secs(300);
        plan.keep_audio = false;
        let keys = |k: &str| Key::parse_sequence(k).unwrap_or_default();
        match self {
            Scenario::ConsentInband => plan.keys = keys("1"),
            Scenario::ConsentEvent => {
                plan.keys = keys("1");
                plan.mode = KeyMode::Event;
            }
            Scenario::Decline => plan.keys = keys("2"),
            Scenario::BargeIn => {
                plan.keys = keys("1");
                plan.when = When::At(0.5);
            }
            Scenario::Hangup => plan.hangup_after = Some(3.0),
            Scenario::NoInput => {}
            Scenario::Privacy => {
                plan.keys = keys("31");
                plan.to = privacy_line.to_string();
            }
        }
        plan
    }

    /// Why `report` is not what this scenario must get, if it isn't.
    pub fn check(self, report: &CallReport) -> Result<(), String> {
        let recorded = report.bridged_with_recording();
        let close = report.close.as_ref().map(|c| c.1.as_str()).unwrap_or("");
        match self {
            Scenario::Hangup if recorded => return Err("recorded after a hang-up".into()),
            Scenario::Hangup => {}
            Scenario::Privacy => {
                if !close.contains("request filed") {
                    return Err(format!("privacy request not filed (close: {close:?})"));
                }
                if recorded {
                    return Err("privacy line recorded".into());
                }
            }
            _ if self.expects_recording() != recorded => {
                return Err(format!(
                    "expected {} recording, got {}",
                    if self.expects_recording() { "a" } else { "no" },
                    report.after_twiml.as_deref().unwrap_or("no bridge answer")
                ));
            }
            _ => {}
        }
        if self == Scenario::BargeIn && report.clears == 0 {
            return Err("barge-in did not clear the prompt".into());
        }
        Ok(())
    }
}

/// One call's line in the ledger.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LedgerEntry {
    pub call_sid: String,
    pub scenario: &'static str,
    pub expected_recording: bool,
    pub bridged_with_recording: bool,
    pub ok: bool,
    pub error: Option<String>,
}

/// A load run.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub url: String,
    pub calls: usize,
    /// New calls per second.
    pub rate: f64,
    pub mix: Vec<Scenario>,
    pub privacy_line: String,
}

/// What a run measured. Latencies are in milliseconds.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub ledger: Vec<LedgerEntry>,
    /// Stream start to the first prompt audio.
    pub first_audio_ms: Vec<f64>,
    /// Key press (tone onset or dtmf event) to the `clear` of the prompt it interrupted.
    pub key_to_clear_ms: Vec<f64>,
    /// Key press to the server's spoken answer, which follows the durable record.
    pub key_to_answer_ms: Vec<f64>,
    /// Action (bridge) webhook response time.
    pub after_ms: Vec<f64>,
    pub frames_sent: u64,
    pub frames_late: u64,
    pub worst_frame_lag_ms: f64,
    /// The caller side's frames by timer lag, 1 ms buckets.
    pub frame_lag_histogram: Vec<u64>,
    /// Seconds of prompt audio received from the server.
    pub audio_seconds: f64,
    /// Sum of every call's length (voice webhook to bridge answer), seconds.
    pub call_seconds: f64,
    /// Most calls in progress at once.
    pub peak_calls: usize,
    pub seconds: f64,
}

impl LoadReport {
    pub fn failed(&self) -> usize {
        self.ledger.iter().filter(|e| !e.ok).count()
    }

    /// The caller side's frame timer lag at quantile `q`, in whole milliseconds.
    pub fn frame_lag_quantile(&self, q: f64) -> Option<usize> {
        let total: u64 = self.frame_lag_histogram.iter().sum();
        if total == 0 {
            return None;
        }
        let want = (total as f64 * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        self.frame_lag_histogram.iter().position(|&n| {
            seen += n;
            seen >= want
        })
    }

    fn add(&mut self, r: &CallReport) {
        let ms = |v: &[f64]| v.iter().map(|s| s * 1000.0).collect::<Vec<_>>();
        self.first_audio_ms
            .extend(r.first_audio.map(|s| s * 1000.0));
        self.key_to_clear_ms.extend(ms(&r.key_to_clear));
        self.key_to_answer_ms.extend(ms(&r.key_to_answer));
        self.after_ms.extend(r.after_seconds.map(|s| s * 1000.0));
        self.frames_sent += r.frames_sent;
        self.frames_late += r.frames_late;
        self.worst_frame_lag_ms = self.worst_frame_lag_ms.max(r.worst_frame_lag_ms);
        if self.frame_lag_histogram.len() < r.frame_lag_histogram.len() {
            self.frame_lag_histogram
                .resize(r.frame_lag_histogram.len(), 0);
        }
        for (a, b) in self
            .frame_lag_histogram
            .iter_mut()
            .zip(&r.frame_lag_histogram)
        {
            *a += b;
        }
        self.audio_seconds += r.heard_seconds;
        self.call_seconds += r.duration;
    }
}

/// The value at quantile `q` (0..=1) of `values` (sorted in place).
pub fn percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let i = ((values.len() - 1) as f64 * q).round() as usize;
    Some(values[i])
}

/// Run the calls, ramped at the plan's rate, all concurrently.
pub async fn run(plan: &LoadPlan) -> LoadReport {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let started = tokio::time::Instant::now();
    let mut handles = Vec::with_capacity(plan.calls);
    let gap = Duration::from_secs_f64(1.0 / plan.rate.max(0.001));
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    for n in 0..plan.calls {
        let scenario = plan.mix[n % plan.mix.len().max(1)];
        let mut call = scenario.plan(&plan.url, &plan.privacy_line, n);
        call.http = Some(http.clone());
        let (live, peak) = (live.clone(), peak.clone());
        handles.push(tokio::spawn(async move {
            let now_live = live.fetch_add(1, Ordering::Relaxed) + 1;
            peak.fetch_max(now_live, Ordering::Relaxed);
            let result = place_call(&call).await;
            live.fetch_sub(1, Ordering::Relaxed);
            (scenario, call.call_sid, result)
        }));
        tokio::time::sleep_until(started + gap * (n as u32 + 1)).await;
    }
    let mut report = LoadReport::default();
    for handle in handles {
        let Ok((scenario, call_sid, result)) = handle.await else {
            continue;
        };
        let (ok, error, recorded) = match &result {
            Ok(r) => {
                report.add(r);
                match scenario.check(r) {
                    Ok(()) => (true, None, r.bridged_with_recording()),
                    Err(e) => (false, Some(e), r.bridged_with_recording()),
                }
            }
            Err(e) => (false, Some(format!("call failed: {e}")), false),
        };
        report.ledger.push(LedgerEntry {
            call_sid,
            scenario: scenario.as_str(),
            expected_recording: scenario.expects_recording(),
            bridged_with_recording: recorded,
            ok,
            error,
        });
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.peak_calls = peak.load(Ordering::Relaxed);
    report
}

/// CPU seconds (user + system) and resident memory (bytes) of a process, from /proc.
pub fn process_usage(pid: u32) -> Option<(f64, u64)> {
    let (user, system) = process_cpu(pid)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((user + system, rss_kb * 1024))
}

/// User and system CPU seconds of a process, from /proc/PID/stat.
pub fn process_cpu(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = 100.0; // USER_HZ on Linux
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime / ticks, stime / ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_scenarios() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&mut v, 0.5), Some(3.0));
        assert_eq!(percentile(&mut v, 1.0), Some(5.0));
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.as_str()), Some(s));
        }
        let me = std::process::id();
        let (cpu, rss) = process_usage(me).unwrap();
        assert!(cpu >= 0.0 && rss > 0);
    }
}
