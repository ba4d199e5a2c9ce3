//! Calls the server knows about: announced by the voice webhook, live on a media stream, or
//! finished with a decision waiting for the bridge webhook. Lock-free maps (dashmap); no lock
//! is held across an await.

use crate::call::Outcome;
use dashmap::DashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an announced call may take to open its stream, and a finished call's decision
/// is kept for the bridge webhook.
const KEEP: Duration = Duration::from_secs(15 * 60);

/// How often, at most, expired entries are swept.
const PRUNE_EVERY_SECS: u64 = 10;

/// What the voice webhook learned about a call.
#[derive(Debug, Clone)]
pub struct Announced {
    /// "consent" or "privacy".
    pub flow: String,
    /// The called number (the line).
    pub line: String,
    /// Keyed hash of the caller's number.
    pub caller: Option<String>,
    /// The caller's number in clear, for the redactable table only.
    pub caller_clear: Option<String>,
    pub language: String,
    at: Instant,
}

impl Announced {
    pub fn new(
        flow: String,
        line: String,
        caller: Option<String>,
        caller_clear: Option<String>,
        language: String,
    ) -> Self {
        Announced {
            flow,
            line,
            caller,
            caller_clear,
            language,
            at: Instant::now(),
        }
    }
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No voice webhook announced this call.
    UnknownCall,
    /// Another stream already serves this call or uses this stream id.
    AlreadyLive,
    /// The server is shutting down.
    ShuttingDown,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::UnknownCall => "unknown call: no voice webhook for this CallSid",
            Refusal::AlreadyLive => "call already has a live stream",
            Refusal::ShuttingDown => "server shutting down",
        }
    }
}

/// The registry. Cheap to share (`Arc`).
#[derive(Debug, Default)]
pub struct Registry {
    announced: DashMap<String, Announced>,
    /// Calls with a live stream.
    live: DashMap<String, ()>,
    streams: DashMap<String, String>,
    outcomes: DashMap<String, (Outcome, Instant)>,
    sockets: AtomicUsize,
    closing: AtomicBool,
    /// When the maps were last swept (seconds since `created`), so a busy server sweeps
    /// every few seconds rather than on every call.
    last_prune: std::sync::atomic::AtomicU64,
    created: std::sync::OnceLock<Instant>,
}

/// A live call's claim; dropping it frees the call.
pub struct Claim {
    registry: Arc<Registry>,
    call_sid: String,
    stream_sid: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.registry.live.remove(&self.call_sid);
        self.registry.streams.remove(&self.stream_sid);
    }
}

/// A held WebSocket slot; dropping it frees the slot.
pub struct Slot(Arc<Registry>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.sockets.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Registry {
    /// Remember a call from the voice webhook.
    pub fn announce(&self, call_sid: &str, call: Announced) {
        self.prune();
        self.announced.insert(call_sid.to_string(), call);
    }

    /// Take a WebSocket slot if fewer than `max` are open and the server is not closing.
    pub fn open_socket(self: &Arc<Self>, max: usize) -> Option<Slot> {
        if self.closing.load(Ordering::SeqCst) {
            return None;
        }
        let before = self.sockets.fetch_add(1, Ordering::SeqCst);
        if before >= max {
            self.sockets.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot(self.clone()))
    }

    /// Claim a call for a stream. Refuses unknown calls and a second stream for a live call or
    /// a reused stream id (nobody may hijack another caller's consent).
    pub fn claim(
        self: &Arc<Self>,
        call_sid: &str,
        stream_sid: &str,
    ) -> Result<(Claim, Announced), Refusal> {
        if self.closing.load(Ordering::SeqCst) {
            return Err(Refusal::ShuttingDown);
        }
        let announced = self
            .announced
            .get(call_sid)
            .map(|a| a.clone())
            .ok_or(Refusal::UnknownCall)?;
        if self.outcomes.contains_key(call_sid) {
            return Err(Refusal::AlreadyLive);
        }
        match self.streams.entry(stream_sid.to_string()) {
            dashmap::Entry::Occupied(_) => return Err(Refusal::AlreadyLive),
            dashmap::Entry::Vacant(v) => {
                v.insert(call_sid.to_string());
            }
        }
        match self.live.entry(call_sid.to_string()) {
            dashmap::Entry::Occupied(_) => {
                self.streams.remove(stream_sid);
                return Err(Refusal::AlreadyLive);
            }
            dashmap::Entry::Vacant(v) => {
                v.insert(());
            }
        }
        Ok((
            Claim {
                registry: self.clone(),
                call_sid: call_sid.to_string(),
                stream_sid: stream_sid.to_string(),
            },
            announced,
        ))
    }

    /// Record how a finished call leaves the IVR, for the bridge webhook.
    pub fn set_outcome(&self, call_sid: &str, outcome: Outcome) {
        self.outcomes
            .insert(call_sid.to_string(), (outcome, Instant::now()));
    }

    /// The outcome of a finished call, if this server saw it finish.
    pub fn outcome(&self, call_sid: &str) -> Option<Outcome> {
        self.outcomes.get(call_sid).map(|d| d.0)
    }

    /// What the voice webhook said about a call.
    pub fn announced(&self, call_sid: &str) -> Option<Announced> {
        self.announced.get(call_sid).map(|a| a.clone())
    }

    /// Live media streams.
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// Open WebSocket connections (including ones not yet started).
    pub fn socket_count(&self) -> usize {
        self.sockets.load(Ordering::SeqCst)
    }

    /// Stop taking new streams.
    pub fn begin_shutdown(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    fn prune(&self) {
        let now = Instant::now();
        let created = *self.created.get_or_init(|| now);
        let second = now.duration_since(created).as_secs();
        let last = self.last_prune.load(Ordering::Relaxed);
        if second < last + PRUNE_EVERY_SECS
            || self
                .last_prune
                .compare_exchange(last, second, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.announced
            .retain(|_, a| now.duration_since(a.at) < KEEP);
        self.outcomes.retain(|_, d| now.duration_since(d.1) < KEEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_can_be_claimed_once() {
        let r = Arc::new(Registry::default());
        assert_eq!(r.claim("CA1", "MZ1").err(), Some(Refusal::UnknownCall));
        r.announce(
            "CA1",
            Announced::new("consent".into(), "+1800".into(), None, None, "en".into()),
        );
        let (claim, a) = r.claim("CA1", "MZ1").ok().unwrap();
        assert_eq!(a.line, "+1800");
        assert_eq!(r.claim("CA1", "MZ2").err(), Some(Refusal::AlreadyLive));
        r.announce(
            "CA2",
            Announced::new("consent".into(), "+1800".into(), None, None, "en".into()),
        );
        assert_eq!(
            r.claim("CA2", "MZ1").err(),
            Some(Refusal::AlreadyLive),
            "stream id reuse"
        );
        drop(claim);
        assert_eq!(r.live_count(), 0);
        r.set_outcome(
            "CA1",
            Outcome {
                bridge: true,
                record: true,
            },
        );
        assert_eq!(
            r.claim("CA1", "MZ3").err(),
            Some(Refusal::AlreadyLive),
            "finished call"
        );
    }

    #[test]
    fn sockets_are_limited() {
        let r = Arc::new(Registry::default());
        let a = r.open_socket(2).unwrap();
        let _b = r.open_socket(2).unwrap();
        assert!(r.open_socket(2).is_none());
        drop(a);
        assert!(r.open_socket(2).is_some());
        r.begin_shutdown();
        assert!(r.open_socket(2).is_none());
    }
}
