//! A virtual-time driver for the IVR flows: a simulated provider (plays prompts in order,
//! echoes each mark when its audio has played, all pending marks at once on clear) and a
//! simulated store, around one engine. Every path runs in microseconds.
#![allow(dead_code)]

use consentline::call::{Filed, Flow, Input, KeySource, Millis, Output, Step};
use consentline::media::dtmf::Key;
use consentline::prompt::Prompt;
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn prompt(id: &str, ms: u64) -> Arc<Prompt> {
    prompt_in(id, ms, "en")
}

/// A silent made-up prompt of `ms` milliseconds.
pub fn prompt_in(id: &str, ms: u64, language: &str) -> Arc<Prompt> {
    Arc::new(Prompt {
        id: id.into(),
        language: language.into(),
        transcript: id.into(),
        source: id.into(),
        source_format: "test".into(),
        frames: vec![[0xFFu8; 160]; (ms / 20) as usize].into(),
        sha256: [id.len() as u8; 32],
        level_dbm0: -18.0,
        gain_db: 0.0,
    })
}

/// How the simulated store answers the decision record or a filed request.
#[derive(Clone, Copy, PartialEq)]
pub enum StoreBehaviour {
    Durable { after_ms: u64 },
    Fails { after_ms: u64 },
    Silent,
}

/// A simulated provider (plays prompts in order, echoes marks when each prompt's audio has
/// played, echoes all pending marks at once on clear) and store, around one engine.
pub struct Sim<F: Flow> {
    pub call: F,
    pub now: Millis,
    /// Provider playout: (mark, ends at).
    playout: Vec<(u64, Millis)>,
    keys: BTreeMap<Millis, Vec<(Key, KeySource)>>,
    hangup_at: Option<Millis>,
    store: StoreBehaviour,
    store_answer_at: Option<(Millis, bool)>,
    /// Everything the engine did, with times.
    pub log: Vec<(Millis, Output)>,
    pub closed: bool,
    /// What a filed request comes back as.
    pub filed: Filed,
}

impl<F: Flow> Sim<F> {
    pub fn around(call: F, store: StoreBehaviour) -> Sim<F> {
        Sim {
            call,
            now: 0,
            playout: Vec::new(),
            keys: BTreeMap::new(),
            hangup_at: None,
            store,
            store_answer_at: None,
            log: Vec::new(),
            closed: false,
            filed: Filed {
                confirmation: "4820193375".into(),
                respond_by: time::Date::from_calendar_date(2027, time::Month::January, 8).ok(),
                honor_by: None,
            },
        }
    }

    pub fn key_at(mut self, at: Millis, digit: char, source: KeySource) -> Self {
        self.keys
            .entry(at)
            .or_default()
            .push((Key::from_char(digit).unwrap(), source));
        self
    }

    pub fn hangup_at(mut self, at: Millis) -> Self {
        self.hangup_at = Some(at);
        self
    }

    fn drain(&mut self) {
        while let Some(out) = self.call.poll_output() {
            match &out {
                Output::Play { prompt, mark } => {
                    let start = self
                        .playout
                        .last()
                        .map_or(self.now, |&(_, end)| end.max(self.now));
                    self.playout.push((*mark, start + prompt.duration_ms()));
                }
                Output::Clear => {
                    // Twilio echoes the marks of everything it discards, at once.
                    for (_, end) in &mut self.playout {
                        *end = self.now;
                    }
                }
                Output::RecordDecision(_) | Output::FileRequest(_) => {
                    self.store_answer_at = match self.store {
                        StoreBehaviour::Durable { after_ms } => Some((self.now + after_ms, true)),
                        StoreBehaviour::Fails { after_ms } => Some((self.now + after_ms, false)),
                        StoreBehaviour::Silent => None,
                    };
                }
                Output::Close { .. } => self.closed = true,
                Output::Record(_) | Output::Abandoned(_) => {}
            }
            self.log.push((self.now, out));
        }
    }

    /// Run until the call finishes; panics on a livelock (step limit) or a stuck call.
    pub fn run(mut self) -> Sim<F> {
        self.call.handle(0, Input::Start);
        self.drain();
        for _ in 0..10_000 {
            if self.call.is_finished() {
                return self;
            }
            // Next event: a mark, a key, the store, a hang-up, or an engine timer.
            let mut next: Option<(Millis, u8)> = None;
            let mut consider = |at: Millis, kind: u8| {
                if next.is_none_or(|(t, _)| at < t) {
                    next = Some((at, kind));
                }
            };
            if let Some(&(_, end)) = self.playout.first() {
                consider(end, 0);
            }
            if let Some((&at, _)) = self.keys.iter().next() {
                consider(at, 1);
            }
            if let Some((at, _)) = self.store_answer_at {
                consider(at, 2);
            }
            if let Some(at) = self.hangup_at {
                consider(at, 3);
            }
            if let Some((_, at)) = self.call.next_timeout() {
                consider(at, 4);
            }
            let Some((at, kind)) = next else {
                panic!("call stuck at {} ms: {:#?}", self.now, self.log)
            };
            assert!(at >= self.now, "time went backwards");
            self.now = at;
            match kind {
                0 => {
                    let (mark, _) = self.playout.remove(0);
                    self.call.handle(at, Input::Mark { id: mark });
                }
                1 => {
                    let (_, presses) = self.keys.pop_first().unwrap();
                    for (digit, source) in presses {
                        self.call.handle(at, Input::Key { digit, source });
                        self.drain();
                    }
                }
                2 => {
                    let (_, durable) = self.store_answer_at.take().unwrap();
                    // Whichever the flow waits on: a decision record or a filed request.
                    self.call.handle(at, Input::DecisionLogged { durable });
                    self.drain();
                    let filed = if durable {
                        Input::Filed(self.filed.clone())
                    } else {
                        Input::FileFailed
                    };
                    self.call.handle(at, filed);
                }
                3 => {
                    self.hangup_at = None;
                    self.call.handle(at, Input::Hangup);
                }
                _ => {
                    let (timer, _) = self.call.next_timeout().unwrap();
                    self.call.handle(at, Input::Timeout(timer));
                }
            }
            self.drain();
        }
        panic!("no end after 10 000 steps: {:#?}", self.log);
    }

    pub fn steps(&self) -> Vec<&Step> {
        self.log
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Record(s) | Output::RecordDecision(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// A compact story of the call: played/interrupted prompt ids, keys, decisions, end.
    pub fn story(&self) -> Vec<String> {
        self.steps()
            .into_iter()
            .filter_map(|s| match s {
                Step::PromptPlayed { prompt } => Some(format!("played {}", prompt.id)),
                Step::PromptInterrupted { prompt } => Some(format!("interrupted {}", prompt.id)),
                Step::Key {
                    digit, accepted, ..
                } => Some(format!(
                    "key {digit}{}",
                    if *accepted { "" } else { " ignored" }
                )),
                Step::Decision { decision, .. } => Some(format!("decision {}", decision.as_str())),
                Step::CallEnded { reason } => Some(format!("ended: {reason}")),
                Step::Readback { what, digits } => Some(format!("read back {what} ({digits})")),
                Step::NumberEntered { digits, accepted } => Some(format!(
                    "entered {digits} digits{}",
                    if *accepted { "" } else { " (rejected)" }
                )),
                Step::LanguageChanged { language } => Some(format!("language {language}")),
                Step::TransferRequested => Some("transfer".into()),
                Step::PromptStarted { .. } => None,
            })
            .collect()
    }

    pub fn time_of(&self, pred: impl Fn(&Output) -> bool) -> Option<Millis> {
        self.log.iter().find(|(_, o)| pred(o)).map(|(t, _)| *t)
    }
}
