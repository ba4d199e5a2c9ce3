//! The consent IVR as a sans-IO state machine.
//!
//! The engine never reads a clock, touches a socket or waits: the per-call task feeds it
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

use crate::media::dtmf::Key;
use crate::prompt::Prompt;
use std::collections::VecDeque;
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
    /// The store has not confirmed the decision.
    DecisionGuard,
}

const TIMERS: [Timer; 3] = [Timer::NoInput, Timer::PlaybackGuard, Timer::DecisionGuard];

impl Timer {
    fn index(self) -> usize {
        match self {
            Timer::NoInput => 0,
            Timer::PlaybackGuard => 1,
            Timer::DecisionGuard => 2,
        }
    }
}

/// What happened to the call, from the engine's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The caller hung up or the stream stopped.
    Hangup,
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
    /// Close the media stream so the provider moves on to the bridge (the action URL).
    Close { reason: &'static str },
}

/// The prompts one call uses, in its language.
#[derive(Debug, Clone)]
pub struct ConsentPrompts {
    pub disclosure: Arc<Prompt>,
    pub retry: Arc<Prompt>,
    pub invalid: Arc<Prompt>,
    pub no_input: Arc<Prompt>,
    pub confirm_record: Arc<Prompt>,
    pub confirm_no_record: Arc<Prompt>,
    pub no_answer: Arc<Prompt>,
}

/// Ids of the prompts the consent flow needs, in every language it offers (the bridge's
/// goodbye is spoken by the provider, so `common.goodbye` is catalogued but optional).
pub const CONSENT_PROMPT_IDS: [&str; 7] = [
    "consent.disclosure",
    "consent.retry",
    "consent.invalid",
    "consent.no_input",
    "consent.confirm_record",
    "consent.confirm_no_record",
    "consent.no_answer",
];

impl ConsentPrompts {
    /// Pick the consent prompts for `language` from a catalog.
    pub fn from_catalog(catalog: &crate::prompt::Catalog, language: &str) -> Option<Self> {
        let get = |id: &str| catalog.get(id, language).cloned();
        Some(ConsentPrompts {
            disclosure: get("consent.disclosure")?,
            retry: get("consent.retry")?,
            invalid: get("consent.invalid")?,
            no_input: get("consent.no_input")?,
            confirm_record: get("consent.confirm_record")?,
            confirm_no_record: get("consent.confirm_no_record")?,
            no_answer: get("consent.no_answer")?,
        })
    }
}

/// Tunables of the consent flow.
#[derive(Debug, Clone, Copy)]
pub struct ConsentSettings {
    /// Key that agrees to recording.
    pub consent_key: Key,
    /// Key that declines.
    pub decline_key: Key,
    /// How many times to ask again after a timeout or an invalid key.
    pub retries: u32,
    /// How long to wait for a key once the question has been played.
    pub no_input_ms: Millis,
    /// Extra time allowed, beyond a prompt's length, for its mark to come back.
    pub playback_slack_ms: Millis,
    /// How long the store may take to make the decision durable before we give up on
    /// recording.
    pub decision_timeout_ms: Millis,
    /// Two reports of the same key from different sources within this window are one press.
    pub duplicate_window_ms: Millis,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        ConsentSettings {
            consent_key: Key::D1,
            decline_key: Key::D2,
            retries: 2,
            no_input_ms: 5000,
            playback_slack_ms: 5000,
            decision_timeout_ms: 2000,
            duplicate_window_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    /// Prompts are playing; the question follows.
    Prompting,
    /// The question has been heard; waiting for a key.
    Listening,
    /// Decision record sent, waiting for durability.
    Deciding(Decision),
    /// Confirmation playing.
    Confirming,
    Finished,
}

#[derive(Debug, Clone)]
struct Queued {
    mark: u64,
    prompt: Arc<Prompt>,
}

/// One consent call. See the [module docs](self).
pub struct ConsentCall {
    settings: ConsentSettings,
    prompts: ConsentPrompts,
    phase: Phase,
    /// Which asking this is (1 = the first).
    attempt: u32,
    /// Prompts sent whose marks have not come back, oldest first.
    playing: VecDeque<Queued>,
    next_mark: u64,
    /// Marks at or below this were cleared: their echoes mean "interrupted", not "played".
    cleared_through: u64,
    timers: [Option<Millis>; TIMERS.len()],
    last_key: Option<(Key, KeySource, Millis)>,
    /// The decision once durable (or `NoRecord` once anything went wrong).
    decision: Option<Decision>,
    /// No valid answer was given: the closing prompt says so.
    unanswered: bool,
    outputs: VecDeque<Output>,
}

impl ConsentCall {
    pub fn new(settings: ConsentSettings, prompts: ConsentPrompts) -> Self {
        ConsentCall {
            settings,
            prompts,
            phase: Phase::NotStarted,
            attempt: 1,
            playing: VecDeque::new(),
            next_mark: 1,
            cleared_through: 0,
            timers: [None; TIMERS.len()],
            last_key: None,
            decision: None,
            unanswered: false,
            outputs: VecDeque::new(),
        }
    }

    /// The decision the bridge should follow: `Some(Record)` only once durable.
    pub fn decision(&self) -> Option<Decision> {
        self.decision
    }

    /// True once the call needs nothing more.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// The next output to carry out, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest armed timer and when it fires.
    pub fn next_timeout(&self) -> Option<(Timer, Millis)> {
        TIMERS
            .iter()
            .filter_map(|&t| self.timers[t.index()].map(|at| (t, at)))
            .min_by_key(|&(_, at)| at)
    }

    /// Feed one input at time `now`.
    pub fn handle(&mut self, now: Millis, input: Input) {
        if self.phase == Phase::Finished {
            return;
        }
        match input {
            Input::Start => self.on_start(now),
            Input::Key { digit, source } => self.on_key(now, digit, source),
            Input::Mark { id } => self.on_mark(now, id),
            Input::Timeout(timer) => self.on_timeout(now, timer),
            Input::DecisionLogged { durable } => self.on_decision_logged(now, durable),
            Input::Hangup => self.finish("hangup"),
        }
    }

    fn on_start(&mut self, now: Millis) {
        if self.phase != Phase::NotStarted {
            return;
        }
        self.phase = Phase::Prompting;
        let disclosure = self.prompts.disclosure.clone();
        self.play(now, disclosure);
    }

    fn on_key(&mut self, now: Millis, digit: Key, source: KeySource) {
        if let Some((last, last_source, at)) = self.last_key {
            if last == digit
                && last_source != source
                && now.saturating_sub(at) <= self.settings.duplicate_window_ms
            {
                // The same press, reported by the other source: already handled.
                self.last_key = None;
                return;
            }
        }
        self.last_key = Some((digit, source, now));
        let listening = matches!(self.phase, Phase::Prompting | Phase::Listening);
        self.emit(Output::Record(Step::Key {
            digit,
            source,
            at: now,
            accepted: listening,
        }));
        if !listening {
            return;
        }
        self.barge_in();
        self.cancel(Timer::NoInput);
        if digit == self.settings.consent_key {
            self.decide(now, Decision::Record, "caller pressed the consent key");
        } else if digit == self.settings.decline_key {
            self.decide(now, Decision::NoRecord, "caller pressed the decline key");
        } else {
            let invalid = self.prompts.invalid.clone();
            self.ask_again(now, invalid);
        }
    }

    fn on_mark(&mut self, now: Millis, id: u64) {
        // Marks come back in order; anything older than `id` came back too.
        while let Some(front) = self.playing.front() {
            if front.mark > id {
                break;
            }
            let done = self.playing.pop_front().map(|q| q.prompt);
            if let Some(prompt) = done {
                if id > self.cleared_through {
                    self.emit(Output::Record(Step::PromptPlayed { prompt }));
                }
            }
        }
        if !self.playing.is_empty() || id <= self.cleared_through {
            return;
        }
        self.cancel(Timer::PlaybackGuard);
        match self.phase {
            Phase::Prompting => {
                self.phase = Phase::Listening;
                self.arm(Timer::NoInput, now + self.settings.no_input_ms);
            }
            Phase::Confirming => self.close("consent decided"),
            _ => {}
        }
    }

    fn on_timeout(&mut self, now: Millis, timer: Timer) {
        let slot = &mut self.timers[timer.index()];
        match *slot {
            Some(at) if at <= now => *slot = None,
            _ => return, // stale or cancelled
        }
        match timer {
            Timer::NoInput if self.phase == Phase::Listening => {
                let no_input = self.prompts.no_input.clone();
                self.ask_again(now, no_input);
            }
            Timer::PlaybackGuard => {
                // The provider stopped echoing marks: we can't prove what was heard.
                self.playing.clear();
                if self.decision.is_none() {
                    self.decision = Some(Decision::NoRecord);
                    self.emit(Output::Record(Step::Decision {
                        decision: Decision::NoRecord,
                        reason: "playback was never confirmed",
                    }));
                }
                self.close("playback stalled");
            }
            Timer::DecisionGuard => {
                if let Phase::Deciding(_) = self.phase {
                    self.on_decision_logged(now, false);
                }
            }
            Timer::NoInput => {}
        }
    }

    fn on_decision_logged(&mut self, now: Millis, durable: bool) {
        let Phase::Deciding(chosen) = self.phase else {
            return;
        };
        self.cancel(Timer::DecisionGuard);
        let decision = if durable { chosen } else { Decision::NoRecord };
        if !durable && chosen == Decision::Record {
            self.emit(Output::Record(Step::Decision {
                decision: Decision::NoRecord,
                reason: "consent could not be made durable",
            }));
        }
        self.decision = Some(decision);
        self.phase = Phase::Confirming;
        let prompt = match decision {
            Decision::Record => self.prompts.confirm_record.clone(),
            Decision::NoRecord if self.unanswered => self.prompts.no_answer.clone(),
            Decision::NoRecord => self.prompts.confirm_no_record.clone(),
        };
        self.play(now, prompt);
    }

    /// After an invalid key or a timeout: explain, then ask again, or give up.
    fn ask_again(&mut self, now: Millis, explanation: Arc<Prompt>) {
        if self.attempt > self.settings.retries {
            // "We did not receive a choice, so this call will not be recorded" replaces the
            // usual confirmation.
            self.unanswered = true;
            self.decide(now, Decision::NoRecord, "no valid answer");
            return;
        }
        self.attempt += 1;
        self.phase = Phase::Prompting;
        self.play(now, explanation);
        let retry = self.prompts.retry.clone();
        self.play(now, retry);
    }

    fn decide(&mut self, now: Millis, decision: Decision, reason: &'static str) {
        self.phase = Phase::Deciding(decision);
        self.emit(Output::RecordDecision(Step::Decision { decision, reason }));
        self.arm(
            Timer::DecisionGuard,
            now + self.settings.decision_timeout_ms,
        );
    }

    fn play(&mut self, now: Millis, prompt: Arc<Prompt>) {
        let mark = self.next_mark;
        self.next_mark += 1;
        self.emit(Output::Record(Step::PromptStarted {
            prompt: prompt.clone(),
            attempt: self.attempt,
        }));
        let queued_ms: Millis = self.playing.iter().map(|q| q.prompt.duration_ms()).sum();
        self.playing.push_back(Queued {
            mark,
            prompt: prompt.clone(),
        });
        let guard = now + queued_ms + prompt.duration_ms() + self.settings.playback_slack_ms;
        self.arm(Timer::PlaybackGuard, guard);
        self.emit(Output::Play { prompt, mark });
    }

    /// A key arrived while prompts may be playing: stop them now.
    fn barge_in(&mut self) {
        if self.playing.is_empty() {
            return;
        }
        self.emit(Output::Clear);
        self.cleared_through = self.next_mark - 1;
        for q in std::mem::take(&mut self.playing) {
            self.emit(Output::Record(Step::PromptInterrupted { prompt: q.prompt }));
        }
        self.cancel(Timer::PlaybackGuard);
    }

    fn close(&mut self, reason: &'static str) {
        self.emit(Output::Close { reason });
        self.finish("consent flow complete");
    }

    fn finish(&mut self, reason: &'static str) {
        if self.phase == Phase::Finished {
            return;
        }
        if let Phase::Deciding(_) = self.phase {
            // Hung up before the store answered: nothing to bridge, but never "record".
            self.decision = Some(Decision::NoRecord);
        }
        self.phase = Phase::Finished;
        self.timers = [None; TIMERS.len()];
        self.emit(Output::Record(Step::CallEnded { reason }));
    }

    fn arm(&mut self, timer: Timer, at: Millis) {
        self.timers[timer.index()] = Some(at);
    }

    fn cancel(&mut self, timer: Timer) {
        self.timers[timer.index()] = None;
    }

    fn emit(&mut self, output: Output) {
        self.outputs.push_back(output);
    }
}
