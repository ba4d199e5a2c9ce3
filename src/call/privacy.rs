//! The privacy-request line (CCPA): a sans-IO state machine like the consent flow.
//!
//! ```text
//! greeting (+ "para español, oprima 9")
//!   -> menu: 1 know, 2 delete, 3 opt out, 4 correct, 5 limit, 0 a person, * repeat
//!        9: switch to Spanish and start again
//!   -> callback number: caller ID read back, 1 use it / 2 key in 10 digits then #,
//!      read back, 1 confirm / 2 again
//!   -> know, delete, correct: "are you the consumer (1) or an authorized agent (2)?"
//!   -> file the request (durable before anything is said about it)
//!   -> "received", confirmation number twice, verification notice where one applies,
//!      the date the business will respond or honour it by, goodbye
//! 0 at the menu: "connecting you", bridged, never recorded.
//! Invalid keys and silence: say so and ask again (twice); then goodbye.
//! Hang-up after choosing a request type and before filing: an abandoned record.
//! ```
//!
//! The line is never recorded and never asks for recording consent. Phone numbers are
//! personal data: their digits are neither logged as keys nor as prompts; only the fact of a
//! read-back or an entry and its length go in the log.

use super::playout::{KeyFilter, Stage};
use super::{Filed, Input, KeySource, Millis, Outcome, Output, Step, Timer};
use crate::media::dtmf::Key;
use crate::privacy::RequestType;
use crate::prompt::{Catalog, Prompt};
use std::sync::Arc;

/// The request a key on the menu chooses.
fn choice_for(key: Key) -> Option<RequestType> {
    Some(match key {
        Key::D1 => RequestType::Know,
        Key::D2 => RequestType::Delete,
        Key::D3 => RequestType::OptOut,
        Key::D4 => RequestType::Correct,
        Key::D5 => RequestType::Limit,
        _ => return None,
    })
}

/// What the caller has told us so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestDraft {
    pub request_type: Option<RequestType>,
    /// Whether the caller is an authorized agent (None: not asked or not answered).
    pub agent: Option<bool>,
    /// Callback number, digits only (personal data).
    pub callback: Option<String>,
    /// "caller_id" or "keyed".
    pub callback_source: Option<&'static str>,
    pub language: String,
}

/// Ids of the sentence prompts the privacy line needs in each language it offers (plus
/// `digit.0`-`digit.9`, `month.1`-`month.12`, `day.1`-`day.31` and `year.*`).
pub const PRIVACY_PROMPT_IDS: [&str; 19] = [
    "privacy.greeting",
    "privacy.menu",
    "privacy.invalid",
    "privacy.no_input",
    "privacy.callback_intro",
    "privacy.callback_confirm",
    "privacy.callback_enter",
    "privacy.callback_entered",
    "privacy.who",
    "privacy.received",
    "privacy.confirmation_number",
    "privacy.repeat_number",
    "privacy.verify_notice",
    "privacy.respond_by",
    "privacy.honor_by",
    "privacy.transfer",
    "privacy.no_answer",
    "privacy.failed",
    "privacy.goodbye",
];

/// The privacy line's prompts in one language.
#[derive(Debug, Clone)]
pub struct PrivacyPrompts {
    pub language: String,
    sentences: Vec<Arc<Prompt>>,
    /// "Para español, oprima 9" (offered when the language is not Spanish).
    espanol: Option<Arc<Prompt>>,
    digits: Vec<Arc<Prompt>>,
    months: Vec<Arc<Prompt>>,
    days: Vec<Arc<Prompt>>,
    years: Vec<(i32, Arc<Prompt>)>,
    date_the: Option<Arc<Prompt>>,
    date_of: Option<Arc<Prompt>>,
}

impl PrivacyPrompts {
    /// Pick the privacy prompts for `language`; `None` if any required one is missing.
    pub fn from_catalog(catalog: &Catalog, language: &str) -> Option<Self> {
        Self::from_lookup(language, |id| catalog.get(id, language).cloned())
    }

    /// Build from any source of prompts by id (tests use made-up prompts).
    pub fn from_lookup(language: &str, get: impl Fn(&str) -> Option<Arc<Prompt>>) -> Option<Self> {
        let sentences = PRIVACY_PROMPT_IDS
            .iter()
            .map(|id| get(id))
            .collect::<Option<Vec<_>>>()?;
        let digits = (0..10)
            .map(|d| get(&format!("digit.{d}")))
            .collect::<Option<Vec<_>>>()?;
        let months = (1..=12)
            .map(|m| get(&format!("month.{m}")))
            .collect::<Option<Vec<_>>>()?;
        let days = (1..=31)
            .map(|d| get(&format!("day.{d}")))
            .collect::<Option<Vec<_>>>()?;
        let years = (2020..2100)
            .filter_map(|y| get(&format!("year.{y}")).map(|p| (y, p)))
            .collect();
        Some(PrivacyPrompts {
            language: language.to_string(),
            sentences,
            espanol: if language == "es" {
                None
            } else {
                get("privacy.espanol")
            },
            digits,
            months,
            days,
            years,
            date_the: get("date.the"),
            date_of: get("date.of"),
        })
    }

    fn sentence(&self, id: &str) -> Arc<Prompt> {
        let index = PRIVACY_PROMPT_IDS
            .iter()
            .position(|p| *p == id)
            .unwrap_or(0);
        self.sentences[index].clone()
    }
}

/// Tunables of the privacy line.
#[derive(Debug, Clone, Copy)]
pub struct PrivacySettings {
    /// How many times to ask again after silence or an invalid key.
    pub retries: u32,
    /// Silence after a question before asking again.
    pub no_input_ms: Millis,
    /// Silence between digits of a keyed-in number.
    pub digit_timeout_ms: Millis,
    pub playback_slack_ms: Millis,
    /// How long filing may take before the caller is told it failed.
    pub file_timeout_ms: Millis,
    pub duplicate_window_ms: Millis,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        PrivacySettings {
            retries: 2,
            no_input_ms: 6000,
            digit_timeout_ms: 6000,
            playback_slack_ms: 5000,
            file_timeout_ms: 5000,
            duplicate_window_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Menu,
    ConfirmCallerId,
    EnterNumber,
    ConfirmEntered,
    Who,
    Filing,
    /// Final prompts playing; close when they have.
    Closing,
    Finished,
}

/// One call to the privacy line. See the [module docs](self).
pub struct PrivacyCall {
    settings: PrivacySettings,
    prompts: PrivacyPrompts,
    spanish: Option<PrivacyPrompts>,
    /// The caller's number as 10 national digits, when caller ID gave a US number.
    caller_id: Option<String>,
    phase: Phase,
    /// Attempts at the current question (1 = first).
    attempt: u32,
    /// The question's prompts have played: silence now counts.
    listening: bool,
    draft: RequestDraft,
    entered: String,
    /// The request went to the store (filed, or on its way): never abandon it after that.
    filed: bool,
    /// An abandoned record has been emitted: at most one per call.
    abandon_sent: bool,
    transfer: bool,
    closing_reason: &'static str,
    stage: Stage,
    keys: KeyFilter,
}

impl PrivacyCall {
    /// `caller_id` is the caller's number as the provider gave it (E.164 or national).
    pub fn new(
        settings: PrivacySettings,
        prompts: PrivacyPrompts,
        spanish: Option<PrivacyPrompts>,
        caller_id: Option<&str>,
    ) -> Self {
        let language = prompts.language.clone();
        PrivacyCall {
            settings,
            spanish: spanish.filter(|_| language != "es"),
            caller_id: caller_id.and_then(national_digits),
            prompts,
            phase: Phase::NotStarted,
            attempt: 1,
            listening: false,
            draft: RequestDraft {
                language,
                ..RequestDraft::default()
            },
            entered: String::new(),
            filed: false,
            abandon_sent: false,
            transfer: false,
            closing_reason: "privacy call complete",
            stage: Stage::new(settings.playback_slack_ms),
            keys: KeyFilter::new(settings.duplicate_window_ms),
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.stage.poll()
    }

    pub fn next_timeout(&self) -> Option<(Timer, Millis)> {
        self.stage.timers.next()
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Never recorded; bridged only when the caller asked for a person.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            bridge: self.transfer,
            record: false,
        }
    }

    pub fn handle(&mut self, now: Millis, input: Input) {
        if self.phase == Phase::Finished {
            return;
        }
        match input {
            Input::Start if self.phase == Phase::NotStarted => self.greet(now),
            Input::Start => {}
            Input::Key { digit, source } => self.on_key(now, digit, source),
            Input::Mark { id } => self.on_mark(now, id),
            Input::Timeout(timer) => self.on_timeout(now, timer),
            Input::Filed(filed) => self.on_filed(now, filed),
            Input::FileFailed => self.on_file_failed(now),
            Input::DecisionLogged { .. } => {}
            Input::Hangup => {
                self.abandon();
                self.finish("hangup");
            }
        }
    }

    fn greet(&mut self, now: Millis) {
        self.phase = Phase::Menu;
        self.attempt = 1;
        let greeting = self.prompts.sentence("privacy.greeting");
        self.play(now, greeting);
        if self.spanish.is_some() {
            if let Some(espanol) = self.prompts.espanol.clone() {
                self.play(now, espanol);
            }
        }
        let menu = self.prompts.sentence("privacy.menu");
        self.play(now, menu);
    }

    fn on_key(&mut self, now: Millis, digit: Key, source: KeySource) {
        if !self.keys.is_new(now, digit, source) {
            return;
        }
        let accepted = matches!(
            self.phase,
            Phase::Menu
                | Phase::ConfirmCallerId
                | Phase::EnterNumber
                | Phase::ConfirmEntered
                | Phase::Who
        );
        // Keys are logged at the menu and as answers (1/2) to the yes/no questions. Anything
        // else outside the menu may be a phone number typed at the wrong moment: personal
        // data, never logged.
        let loggable = match self.phase {
            Phase::Menu => true,
            Phase::ConfirmCallerId | Phase::ConfirmEntered | Phase::Who => {
                matches!(digit, Key::D1 | Key::D2)
            }
            _ => false,
        };
        if loggable {
            self.emit(Output::Record(Step::Key {
                digit,
                source,
                at: now,
                accepted,
            }));
        }
        if !accepted {
            return;
        }
        self.stage.barge_in();
        self.stage.timers.cancel(Timer::NoInput);
        self.listening = false;
        match self.phase {
            Phase::Menu => self.on_menu_key(now, digit),
            Phase::ConfirmCallerId => match digit {
                Key::D1 => {
                    self.draft.callback = self.caller_id.clone();
                    self.draft.callback_source = Some("caller_id");
                    self.after_callback(now);
                }
                Key::D2 => self.ask_number(now),
                _ => self.invalid(now),
            },
            Phase::EnterNumber => self.on_number_key(now, digit),
            Phase::ConfirmEntered => match digit {
                Key::D1 => {
                    self.emit(Output::Record(Step::NumberEntered {
                        digits: self.entered.len(),
                        accepted: true,
                    }));
                    self.draft.callback = Some(std::mem::take(&mut self.entered));
                    self.draft.callback_source = Some("keyed");
                    self.after_callback(now);
                }
                Key::D2 => self.ask_number(now),
                _ => self.invalid(now),
            },
            Phase::Who => match digit {
                Key::D1 | Key::D2 => {
                    self.draft.agent = Some(digit == Key::D2);
                    self.file(now);
                }
                _ => self.invalid(now),
            },
            _ => {}
        }
    }

    fn on_menu_key(&mut self, now: Millis, digit: Key) {
        if let Some(choice) = choice_for(digit) {
            self.draft.request_type = Some(choice);
            self.ask_callback(now);
            return;
        }
        match digit {
            Key::D9 if self.spanish.is_some() => {
                if let Some(spanish) = self.spanish.take() {
                    self.prompts = spanish;
                    self.draft.language = self.prompts.language.clone();
                    self.emit(Output::Record(Step::LanguageChanged {
                        language: self.draft.language.clone(),
                    }));
                    self.greet(now);
                }
            }
            Key::D0 => {
                self.transfer = true;
                self.emit(Output::Record(Step::TransferRequested));
                self.closing_reason = "transfer to a person";
                let transfer = self.prompts.sentence("privacy.transfer");
                self.close_after(now, &[transfer]);
            }
            Key::Star => {
                let menu = self.prompts.sentence("privacy.menu");
                self.ask(now, &[menu]);
            }
            _ => self.invalid(now),
        }
    }

    fn on_number_key(&mut self, now: Millis, digit: Key) {
        match digit {
            Key::Hash => {
                if self.entered.len() == 10 {
                    self.phase = Phase::ConfirmEntered;
                    self.attempt = 1;
                    self.read_back_entered(now);
                } else {
                    self.emit(Output::Record(Step::NumberEntered {
                        digits: self.entered.len(),
                        accepted: false,
                    }));
                    self.entered.clear();
                    self.invalid(now);
                }
            }
            Key::Star => {
                self.entered.clear();
                self.ask_number(now);
            }
            _ => {
                let c = digit.as_char();
                if c.is_ascii_digit() && self.entered.len() < 15 {
                    self.entered.push(c);
                }
                self.listening = true;
                self.stage
                    .timers
                    .arm(Timer::NoInput, now + self.settings.digit_timeout_ms);
            }
        }
    }

    fn ask_callback(&mut self, now: Millis) {
        if self.caller_id.is_some() {
            self.phase = Phase::ConfirmCallerId;
            self.attempt = 1;
            self.read_back_caller_id(now);
        } else {
            self.ask_number(now);
        }
    }

    fn read_back_caller_id(&mut self, now: Millis) {
        let digits = self.caller_id.clone().unwrap_or_default();
        let intro = self.prompts.sentence("privacy.callback_intro");
        let confirm = self.prompts.sentence("privacy.callback_confirm");
        self.play(now, intro);
        self.read_digits(now, "callback number", &digits);
        self.play(now, confirm);
    }

    fn ask_number(&mut self, now: Millis) {
        if self.phase != Phase::EnterNumber {
            self.attempt = 1;
        }
        self.phase = Phase::EnterNumber;
        self.entered.clear();
        let enter = self.prompts.sentence("privacy.callback_enter");
        self.play(now, enter);
    }

    fn read_back_entered(&mut self, now: Millis) {
        let digits = self.entered.clone();
        let entered = self.prompts.sentence("privacy.callback_entered");
        let confirm = self.prompts.sentence("privacy.callback_confirm");
        self.play(now, entered);
        self.read_digits(now, "keyed callback number", &digits);
        self.play(now, confirm);
    }

    fn after_callback(&mut self, now: Millis) {
        let needs_who = self
            .draft
            .request_type
            .is_some_and(RequestType::needs_verification);
        if needs_who {
            self.phase = Phase::Who;
            self.attempt = 1;
            let who = self.prompts.sentence("privacy.who");
            self.play(now, who);
        } else {
            self.file(now);
        }
    }

    /// Keep an abandoned record of a request the caller chose but that was never filed:
    /// once, and never for one already sent to the store.
    fn abandon(&mut self) {
        if self.draft.request_type.is_some() && !self.filed && !self.abandon_sent {
            self.abandon_sent = true;
            self.emit(Output::Abandoned(self.draft.clone()));
        }
    }

    fn file(&mut self, now: Millis) {
        // From here the store has the request; a hang-up doesn't make it abandoned.
        self.filed = true;
        self.phase = Phase::Filing;
        self.emit(Output::FileRequest(self.draft.clone()));
        self.stage
            .timers
            .arm(Timer::DecisionGuard, now + self.settings.file_timeout_ms);
    }

    fn on_filed(&mut self, now: Millis, filed: Filed) {
        if self.phase != Phase::Filing {
            return;
        }
        self.stage.timers.cancel(Timer::DecisionGuard);
        let p = &self.prompts;
        let received = p.sentence("privacy.received");
        let number = p.sentence("privacy.confirmation_number");
        let again = p.sentence("privacy.repeat_number");
        let verify = p.sentence("privacy.verify_notice");
        let goodbye = p.sentence("privacy.goodbye");
        self.phase = Phase::Closing;
        self.closing_reason = "request filed";
        self.play(now, received);
        self.play(now, number);
        self.read_digits(now, "confirmation number", &filed.confirmation);
        self.play(now, again);
        self.read_digits(now, "confirmation number", &filed.confirmation);
        if self
            .draft
            .request_type
            .is_some_and(RequestType::needs_verification)
        {
            self.play(now, verify);
        }
        let date = match (filed.respond_by, filed.honor_by) {
            (Some(d), _) => Some(("privacy.respond_by", d)),
            (None, Some(d)) => Some(("privacy.honor_by", d)),
            _ => None,
        };
        if let Some((lead, date)) = date {
            let lead = self.prompts.sentence(lead);
            self.play(now, lead);
            self.read_date(now, date);
        }
        self.close_after(now, &[goodbye]);
    }

    fn on_file_failed(&mut self, now: Millis) {
        if self.phase != Phase::Filing {
            return;
        }
        self.stage.timers.cancel(Timer::DecisionGuard);
        self.closing_reason = "request could not be filed";
        let failed = self.prompts.sentence("privacy.failed");
        self.close_after(now, &[failed]);
    }

    fn on_mark(&mut self, now: Millis, id: u64) {
        if !self.stage.on_mark(id) {
            return;
        }
        match self.phase {
            Phase::Closing => self.close(),
            Phase::Filing | Phase::NotStarted | Phase::Finished => {}
            _ => {
                // The question has been heard: silence counts from now.
                self.listening = true;
                let wait = if self.phase == Phase::EnterNumber {
                    self.settings.digit_timeout_ms
                } else {
                    self.settings.no_input_ms
                };
                self.stage.timers.arm(Timer::NoInput, now + wait);
            }
        }
    }

    fn on_timeout(&mut self, now: Millis, timer: Timer) {
        if !self.stage.timers.fire(timer, now) {
            return;
        }
        match timer {
            Timer::NoInput => {
                if self.phase == Phase::EnterNumber && self.entered.len() == 10 {
                    // Ten digits and a pause: take it as if # was pressed.
                    self.listening = false;
                    self.on_number_key(now, Key::Hash);
                } else if self.listening {
                    self.listening = false;
                    // A partly keyed number is dropped; one being confirmed is kept.
                    if self.phase == Phase::EnterNumber {
                        self.entered.clear();
                    }
                    let no_input = self.prompts.sentence("privacy.no_input");
                    self.retry(now, no_input);
                }
            }
            Timer::PlaybackGuard => {
                self.stage.playout.abandon();
                self.abandon();
                self.closing_reason = "playback stalled";
                self.close();
            }
            Timer::DecisionGuard => self.on_file_failed(now),
        }
    }

    fn invalid(&mut self, now: Millis) {
        let invalid = self.prompts.sentence("privacy.invalid");
        self.retry(now, invalid);
    }

    /// Explain, then ask the current question again, or give up.
    fn retry(&mut self, now: Millis, explanation: Arc<Prompt>) {
        if self.attempt > self.settings.retries {
            self.abandon();
            self.closing_reason = "no valid answer";
            let no_answer = self.prompts.sentence("privacy.no_answer");
            self.close_after(now, &[no_answer]);
            return;
        }
        self.attempt += 1;
        self.play(now, explanation);
        match self.phase {
            Phase::Menu => {
                let menu = self.prompts.sentence("privacy.menu");
                self.play(now, menu);
            }
            Phase::ConfirmCallerId => self.read_back_caller_id(now),
            Phase::EnterNumber => {
                let enter = self.prompts.sentence("privacy.callback_enter");
                self.play(now, enter);
            }
            Phase::ConfirmEntered => {
                let confirm = self.prompts.sentence("privacy.callback_confirm");
                self.play(now, confirm);
            }
            Phase::Who => {
                let who = self.prompts.sentence("privacy.who");
                self.play(now, who);
            }
            _ => {}
        }
    }

    /// Queue prompts for the current question.
    fn ask(&mut self, now: Millis, prompts: &[Arc<Prompt>]) {
        for p in prompts {
            self.play(now, p.clone());
        }
    }

    fn close_after(&mut self, now: Millis, prompts: &[Arc<Prompt>]) {
        self.phase = Phase::Closing;
        self.ask(now, prompts);
    }

    fn read_digits(&mut self, now: Millis, what: &'static str, digits: &str) {
        self.emit(Output::Record(Step::Readback {
            what,
            digits: digits.len(),
        }));
        for c in digits.chars() {
            if let Some(d) = c.to_digit(10) {
                let prompt = self.prompts.digits[d as usize].clone();
                self.play_quietly(now, prompt);
            }
        }
    }

    fn read_date(&mut self, now: Millis, date: time::Date) {
        let month = self.prompts.months[usize::from(u8::from(date.month())) - 1].clone();
        let day = self.prompts.days[usize::from(date.day()) - 1].clone();
        let year = self
            .prompts
            .years
            .iter()
            .find(|(y, _)| *y == date.year())
            .map(|(_, p)| p.clone());
        let mut parts: Vec<Arc<Prompt>> = Vec::new();
        match (&self.prompts.date_the, &self.prompts.date_of) {
            // "el <día> de <mes> de <año>"
            (Some(the), Some(of)) => {
                parts.extend([the.clone(), day, of.clone(), month]);
                if let Some(year) = year {
                    parts.extend([of.clone(), year]);
                }
            }
            // "<month> <day>, <year>"
            _ => {
                parts.extend([month, day]);
                parts.extend(year);
            }
        }
        for p in parts {
            self.play(now, p);
        }
    }

    fn play(&mut self, now: Millis, prompt: Arc<Prompt>) {
        self.stage.play(now, prompt, self.attempt);
    }

    fn play_quietly(&mut self, now: Millis, prompt: Arc<Prompt>) {
        self.stage.play_quietly(now, prompt);
    }

    fn close(&mut self) {
        self.emit(Output::Close {
            reason: self.closing_reason,
        });
        self.finish("privacy call complete");
    }

    fn finish(&mut self, reason: &'static str) {
        if self.phase == Phase::Finished {
            return;
        }
        self.phase = Phase::Finished;
        self.stage.timers.cancel_all();
        self.emit(Output::Record(Step::CallEnded { reason }));
    }

    fn emit(&mut self, output: Output) {
        self.stage.emit(output);
    }
}

/// The ten national digits of a North American number (`+1NXXNXXXXXX`, `1NXX…` or `NXX…`);
/// `None` for anything else (other countries, withheld, "anonymous").
pub fn national_digits(number: &str) -> Option<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.len() {
        11 if digits.starts_with('1') => &digits[1..],
        10 => &digits[..],
        _ => return None,
    };
    Some(national.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_digits_of_caller_ids() {
        assert_eq!(
            national_digits("+14155550100").as_deref(),
            Some("4155550100")
        );
        assert_eq!(
            national_digits("(415) 555-0100").as_deref(),
            Some("4155550100")
        );
        assert_eq!(national_digits("+442079460000"), None);
        assert_eq!(national_digits("anonymous"), None);
    }
}
