//! The IVR flows as sans-IO state machines: [`ConsentCall`] (recording consent) and
//! [`PrivacyCall`] (the CCPA request line).
//!
//! An engine never reads a clock, touches a socket or waits: the per-call task feeds it
//! [`Input`]s stamped with the call's own time in milliseconds and drains [`Output`]s
//! (`poll_output`) until there are none, then sleeps until [`ConsentCall::next_timeout`].
//! Tests drive it with virtual time, so every path runs in microseconds.
//!
//! ```text
//!            start
//!              |
//!              v             key (barge-in: clear)
//!   +----> Prompting --------------------------------+
//!   |          | last mark back, none cleared         |
//!   |          v                                      v
//!   |      Listening --- key 1 / key 2 ----------> Deciding (decision record sent;
//!   |          |  \                                   |      wait for it to be durable)
//!   |  invalid |   no-input timer                     | durable: as chosen
//!   |  key     |   (attempts left)                    | failed:  no recording
//!   +----------+   invalid / no-input, none left -----+
//!                  -> decide "no record"              v
//!                                                Confirming ("will / will not be recorded")
//!                                                     | mark back (or guard timer)
//!                                                     v
//!                                                  Closing -> Finished
//!                hang-up from any state -> Finished (call_ended)
//! ```
//!
//! Invariants:
//! - A prompt counts as played only when its mark comes back and no `clear` preceded it;
//!   the no-input timer starts only then.
//! - `Decision::Record` is reported by [`ConsentCall::decision`] only after the store has
//!   confirmed the decision record durable ([`Input::DecisionLogged`]); a failed or missing
//!   confirmation means no recording. Fail closed.
//! - One key press reported both in-band and as a provider event counts once.

mod consent;
mod playout;
mod privacy;

pub use consent::{ConsentCall, ConsentPrompts, ConsentSettings, CONSENT_PROMPT_IDS};
pub use privacy::{
    national_digits, PrivacyCall, PrivacyPrompts, PrivacySettings, RequestDraft, PRIVACY_PROMPT_IDS,
};

use crate::media::dtmf::Key;
use crate::prompt::Prompt;
use std::sync::Arc;

/// Milliseconds since the call's stream started.
pub type Millis = u64;

/// Where a key press was heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Our DTMF receiver, in the call audio.
    Inband,
    /// The provider's DTMF event.
    Event,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Inband => "inband",
            KeySource::Event => "event",
        }
    }
}

/// The outcome of the consent question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Record,
    NoRecord,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Record => "record",
            Decision::NoRecord => "no_record",
        }
    }
}

/// Timers the engine sets. A fixed table, not strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// The caller has not pressed a key since the question was played.
    NoInput,
    /// A prompt's mark has not come back long after the audio should have ended.
    PlaybackGuard,
    /// The store has not confirmed a record the flow waits on (the consent decision, a filed
    /// request).
    DecisionGuard,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 3] = [Timer::NoInput, Timer::PlaybackGuard, Timer::DecisionGuard];

    fn index(self) -> usize {
        match self {
            Timer::NoInput => 0,
            Timer::PlaybackGuard => 1,
            Timer::DecisionGuard => 2,
        }
    }
}

/// What happened to the call, from the engine's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The media stream started.
    Start,
    /// A key press.
    Key { digit: Key, source: KeySource },
    /// The provider echoed mark `id` (see [`Output::Play`]).
    Mark { id: u64 },
    /// A timer fired.
    Timeout(Timer),
    /// The store answered for the decision record: `durable` true if committed.
    DecisionLogged { durable: bool },
    /// A privacy request was filed durably ([`Output::FileRequest`]).
    Filed(Filed),
    /// Filing the request failed.
    FileFailed,
    /// The caller hung up or the stream stopped.
    Hangup,
}

/// What every flow offers its driver (the per-call task, or a test's virtual clock).
pub trait Flow: Send {
    /// Feed one input at time `now` (milliseconds since the stream started).
    fn handle(&mut self, now: Millis, input: Input);
    /// The next output to carry out, if any.
    fn poll_output(&mut self) -> Option<Output>;
    /// The earliest armed timer and when it fires.
    fn next_timeout(&self) -> Option<(Timer, Millis)>;
    /// True once the call needs nothing more.
    fn is_finished(&self) -> bool;
    /// How the call leaves the IVR.
    fn outcome(&self) -> Outcome;
}

macro_rules! impl_flow {
    ($t:ty) => {
        impl Flow for $t {
            fn handle(&mut self, now: Millis, input: Input) {
                <$t>::handle(self, now, input)
            }
            fn poll_output(&mut self) -> Option<Output> {
                <$t>::poll_output(self)
            }
            fn next_timeout(&self) -> Option<(Timer, Millis)> {
                <$t>::next_timeout(self)
            }
            fn is_finished(&self) -> bool {
                <$t>::is_finished(self)
            }
            fn outcome(&self) -> Outcome {
                <$t>::outcome(self)
            }
        }
    };
}

impl_flow!(ConsentCall);
impl_flow!(PrivacyCall);

/// What the store says about a filed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// The confirmation number, digits only.
    pub confirmation: String,
    /// Date the business will respond by (know, delete, correct).
    pub respond_by: Option<time::Date>,
    /// Date the request will be honoured by (opt-out, limit).
    pub honor_by: Option<time::Date>,
}

/// How the call should leave the IVR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Bridge to the line's destination (else: goodbye and hang up).
    pub bridge: bool,
    /// Record the bridged call. Only ever true after a durable consent record.
    pub record: bool,
}

/// A step worth a consent-log record. The server adds call and stream ids and writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    PromptStarted {
        prompt: Arc<Prompt>,
        attempt: u32,
    },
    PromptPlayed {
        prompt: Arc<Prompt>,
    },
    PromptInterrupted {
        prompt: Arc<Prompt>,
    },
    Key {
        digit: Key,
        source: KeySource,
        at: Millis,
        accepted: bool,
    },
    Decision {
        decision: Decision,
        reason: &'static str,
    },
    CallEnded {
        reason: &'static str,
    },
    /// A number was read back to the caller (its digits are personal data: not logged).
    Readback {
        what: &'static str,
        digits: usize,
    },
    /// The caller keyed in a number (only its length is logged).
    NumberEntered {
        digits: usize,
        accepted: bool,
    },
    /// The caller chose another language.
    LanguageChanged {
        language: String,
    },
    /// The caller asked for a person (privacy line): bridged, never recorded.
    TransferRequested,
}

/// What the engine wants done, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send the prompt's audio, then a mark named after `mark`.
    Play { prompt: Arc<Prompt>, mark: u64 },
    /// Stop all audio queued at the provider now (barge-in).
    Clear,
    /// Append a record to the consent log (fire and forget: the log is FIFO, so these are
    /// durable before any later decision record).
    Record(Step),
    /// Append the decision record and report back with [`Input::DecisionLogged`].
    RecordDecision(Step),
    /// File a privacy request durably and report back with [`Input::Filed`] or
    /// [`Input::FileFailed`].
    FileRequest(RequestDraft),
    /// The caller left part-way through a request: keep an abandoned record of it.
    Abandoned(RequestDraft),
    /// Close the media stream so the provider moves on to the bridge (the action URL).
    Close { reason: &'static str },
}
