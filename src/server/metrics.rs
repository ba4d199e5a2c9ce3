//! Counters for `GET /metrics`, in the Prometheus text format. Lock-free atomics; no phone
//! numbers or digits ever become labels.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the store-commit latency histogram, seconds.
const COMMIT_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    pub consent_calls: AtomicU64,
    pub privacy_calls: AtomicU64,
    pub outcome_record: AtomicU64,
    pub outcome_no_record: AtomicU64,
    pub outcome_no_bridge: AtomicU64,
    pub keys_inband: AtomicU64,
    pub keys_event: AtomicU64,
    pub prompts_played: AtomicU64,
    pub prompts_interrupted: AtomicU64,
    pub requests_filed: AtomicU64,
    pub refused_capacity: AtomicU64,
    /// HTTP connections refused beyond `max_connections`.
    pub refused_connections: AtomicU64,
    /// Connections cut off for sending their request headers (or body) too slowly.
    pub header_timeouts: AtomicU64,
    pub refused_stream: AtomicU64,
    pub refused_signature: AtomicU64,
    pub errors_protocol: AtomicU64,
    pub errors_store: AtomicU64,
    pub errors_panic: AtomicU64,
    /// Inbound media frames: received, missing from the sequence, late.
    pub frames_in: AtomicU64,
    pub frames_missing: AtomicU64,
    pub frames_late: AtomicU64,
    commit_buckets: [AtomicU64; COMMIT_BUCKETS.len()],
    commit_count: AtomicU64,
    commit_micros: AtomicU64,
}

/// Count one.
pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// Record how long the log took to make a record the flow waited on durable.
    pub fn observe_commit(&self, seconds: f64) {
        for (bucket, bound) in self.commit_buckets.iter().zip(COMMIT_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.commit_count.fetch_add(1, Ordering::Relaxed);
        self.commit_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The exposition text. `live` is the number of live media streams.
    pub fn render(&self, live: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::with_capacity(4096);
        let mut family = |name: &str, kind: &str, help: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        family(
            "consentline_live_calls",
            "gauge",
            "Media streams in progress.",
            &[("", live as u64)],
        );
        family(
            "consentline_calls_total",
            "counter",
            "Media streams started, by flow.",
            &[
                ("{flow=\"consent\"}", get(&self.consent_calls)),
                ("{flow=\"privacy\"}", get(&self.privacy_calls)),
            ],
        );
        family(
            "consentline_call_outcomes_total",
            "counter",
            "Finished calls by how they left the IVR.",
            &[
                ("{outcome=\"record\"}", get(&self.outcome_record)),
                ("{outcome=\"no_record\"}", get(&self.outcome_no_record)),
                ("{outcome=\"no_bridge\"}", get(&self.outcome_no_bridge)),
            ],
        );
        family(
            "consentline_keys_total",
            "counter",
            "Key presses heard, by source (before de-duplication).",
            &[
                ("{source=\"inband\"}", get(&self.keys_inband)),
                ("{source=\"event\"}", get(&self.keys_event)),
            ],
        );
        family(
            "consentline_prompts_total",
            "counter",
            "Prompts that played to the end or were interrupted by a key.",
            &[
                ("{result=\"played\"}", get(&self.prompts_played)),
                ("{result=\"interrupted\"}", get(&self.prompts_interrupted)),
            ],
        );
        family(
            "consentline_privacy_requests_total",
            "counter",
            "Privacy requests filed on the privacy line.",
            &[("", get(&self.requests_filed))],
        );
        family(
            "consentline_refused_total",
            "counter",
            "Connections and requests refused, by reason.",
            &[
                ("{reason=\"capacity\"}", get(&self.refused_capacity)),
                ("{reason=\"connections\"}", get(&self.refused_connections)),
                ("{reason=\"header_timeout\"}", get(&self.header_timeouts)),
                ("{reason=\"stream\"}", get(&self.refused_stream)),
                ("{reason=\"signature\"}", get(&self.refused_signature)),
            ],
        );
        family(
            "consentline_errors_total",
            "counter",
            "Errors by kind.",
            &[
                ("{kind=\"protocol\"}", get(&self.errors_protocol)),
                ("{kind=\"store\"}", get(&self.errors_store)),
                ("{kind=\"panic\"}", get(&self.errors_panic)),
            ],
        );
        family(
            "consentline_media_frames_total",
            "counter",
            "Inbound media frames: received, missing (gaps in chunk numbers), late (over 60 ms behind the stream's best arrival).",
            &[
                ("{result=\"received\"}", get(&self.frames_in)),
                ("{result=\"missing\"}", get(&self.frames_missing)),
                ("{result=\"late\"}", get(&self.frames_late)),
            ],
        );
        let _ = writeln!(
            out,
            "# HELP consentline_store_commit_seconds Time for the log to make a waited-on record durable.\n# TYPE consentline_store_commit_seconds histogram"
        );
        for (bucket, bound) in self.commit_buckets.iter().zip(COMMIT_BUCKETS) {
            let _ = writeln!(
                out,
                "consentline_store_commit_seconds_bucket{{le=\"{bound}\"}} {}",
                get(bucket)
            );
        }
        let count = get(&self.commit_count);
        let _ = writeln!(
            out,
            "consentline_store_commit_seconds_bucket{{le=\"+Inf\"}} {count}\nconsentline_store_commit_seconds_sum {}\nconsentline_store_commit_seconds_count {count}",
            get(&self.commit_micros) as f64 / 1e6
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        inc(&m.keys_inband);
        m.observe_commit(0.0008);
        let text = m.render(3);
        assert!(text.contains("consentline_live_calls 3"));
        assert!(text.contains("consentline_keys_total{source=\"inband\"} 1"));
        assert!(text.contains("consentline_store_commit_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("consentline_store_commit_seconds_bucket{le=\"0.0005\"} 0"));
        assert!(text.contains("consentline_store_commit_seconds_count 1"));
        assert!(text.contains("consentline_media_frames_total{result=\"missing\"} 0"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(line.split(' ').count(), 2, "{line}");
        }
    }
}
