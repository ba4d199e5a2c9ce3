//! The recording-consent flow. See the [module docs](super) for the state diagram.

use super::playout::{KeyFilter, Stage};
use super::{Decision, Input, KeySource, Millis, Outcome, Output, Step, Timer};
use crate::media::dtmf::Key;
use crate::prompt::Prompt;
use std::sync::Arc;

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

/// One consent call. See the [module docs](self).
pub struct ConsentCall {
    settings: ConsentSettings,
    prompts: ConsentPrompts,
    phase: Phase,
    /// Which asking this is (1 = the first).
    attempt: u32,
    stage: Stage,
    keys: KeyFilter,
    /// The decision once durable (or `NoRecord` once anything went wrong).
    decision: Option<Decision>,
    /// No valid answer was given: the closing prompt says so.
    unanswered: bool,
    /// Don't ask at all (the caller is on the do-not-contact list), for this reason.
    not_asking: Option<&'static str>,
}

impl ConsentCall {
    pub fn new(settings: ConsentSettings, prompts: ConsentPrompts) -> Self {
        ConsentCall {
            settings,
            prompts,
            phase: Phase::NotStarted,
            attempt: 1,
            stage: Stage::new(settings.playback_slack_ms),
            keys: KeyFilter::new(settings.duplicate_window_ms),
            decision: None,
            unanswered: false,
            not_asking: None,
        }
    }

    /// Never ask this caller: decide "no recording" at once (for `reason`), tell them the call
    /// will not be recorded, and move on. Used for callers who opted out within the last
    /// 12 months (Civ. Code §1798.135: no request to opt in for 12 months).
    pub fn without_asking(mut self, reason: &'static str) -> Self {
        self.not_asking = Some(reason);
        self
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
        self.stage.poll()
    }

    /// The earliest armed timer and when it fires.
    pub fn next_timeout(&self) -> Option<(Timer, Millis)> {
        self.stage.timers.next()
    }

    /// How the call leaves the IVR: bridged, recorded only with durable consent.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            bridge: true,
            record: self.decision == Some(Decision::Record),
        }
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
            Input::Filed(_) | Input::FileFailed => {}
        }
    }

    fn on_start(&mut self, now: Millis) {
        if self.phase != Phase::NotStarted {
            return;
        }
        if let Some(reason) = self.not_asking {
            self.decide(now, Decision::NoRecord, reason);
            return;
        }
        self.phase = Phase::Prompting;
        let disclosure = self.prompts.disclosure.clone();
        self.play(now, disclosure);
    }

    fn on_key(&mut self, now: Millis, digit: Key, source: KeySource) {
        if !self.keys.is_new(now, digit, source) {
            // The same press, reported by the other source: already handled.
            return;
        }
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
        self.stage.barge_in();
        self.stage.timers.cancel(Timer::NoInput);
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
        if !self.stage.on_mark(id) {
            return;
        }
        match self.phase {
            Phase::Prompting => {
                self.phase = Phase::Listening;
                self.stage
                    .timers
                    .arm(Timer::NoInput, now + self.settings.no_input_ms);
            }
            Phase::Confirming => self.close("consent decided"),
            _ => {}
        }
    }

    fn on_timeout(&mut self, now: Millis, timer: Timer) {
        if !self.stage.timers.fire(timer, now) {
            return; // stale or cancelled
        }
        match timer {
            Timer::NoInput if self.phase == Phase::Listening => {
                let no_input = self.prompts.no_input.clone();
                self.ask_again(now, no_input);
            }
            Timer::PlaybackGuard => {
                // The provider stopped echoing marks: we can't prove what was heard.
                self.stage.playout.abandon();
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
        self.stage.timers.cancel(Timer::DecisionGuard);
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
        self.stage.timers.arm(
            Timer::DecisionGuard,
            now + self.settings.decision_timeout_ms,
        );
    }

    fn play(&mut self, now: Millis, prompt: Arc<Prompt>) {
        self.stage.play(now, prompt, self.attempt);
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
        self.stage.timers.cancel_all();
        self.emit(Output::Record(Step::CallEnded { reason }));
    }

    fn emit(&mut self, output: Output) {
        self.stage.emit(output);
    }
}
