//! Pieces every IVR flow shares: the provider's playout queue as seen through marks, the
//! de-duplication of key presses reported twice, and the timer table.

use super::{KeySource, Millis, Output, Step, Timer};
use crate::media::dtmf::Key;
use crate::prompt::Prompt;
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Debug, Clone)]
struct Queued {
    mark: u64,
    prompt: Arc<Prompt>,
    /// Whether its start and end go in the log (a read-back of a phone number must not).
    logged: bool,
}

/// What a returning mark means.
#[derive(Debug, Default)]
pub struct MarkOutcome {
    /// Prompts that finished playing uncleared (only the logged ones).
    pub played: Vec<Arc<Prompt>>,
    /// Nothing is playing any more, and this mark was not an echo of cleared audio.
    pub idle: bool,
}

/// The prompts sent to the provider whose marks have not come back, oldest first.
///
/// A prompt counts as played only when its mark returns and no `clear` preceded it: Twilio
/// echoes the marks of cleared audio too, so marks up to the last clear are remembered as
/// "interrupted".
#[derive(Debug)]
pub struct Playout {
    playing: VecDeque<Queued>,
    next_mark: u64,
    cleared_through: u64,
}

impl Default for Playout {
    fn default() -> Self {
        Playout {
            playing: VecDeque::new(),
            next_mark: 1,
            cleared_through: 0,
        }
    }
}

impl Playout {
    /// Queue a prompt; returns its mark id and when, at the earliest, it will have played.
    pub fn enqueue(&mut self, now: Millis, prompt: Arc<Prompt>, logged: bool) -> (u64, Millis) {
        let mark = self.next_mark;
        self.next_mark += 1;
        let ends = now + self.queued_ms() + prompt.duration_ms();
        self.playing.push_back(Queued {
            mark,
            prompt,
            logged,
        });
        (mark, ends)
    }

    /// Playing time of everything queued.
    pub fn queued_ms(&self) -> Millis {
        self.playing.iter().map(|q| q.prompt.duration_ms()).sum()
    }

    /// Mark `id` came back (marks return in order; older ones are implied).
    pub fn on_mark(&mut self, id: u64) -> MarkOutcome {
        let mut outcome = MarkOutcome::default();
        while self.playing.front().is_some_and(|q| q.mark <= id) {
            if let Some(q) = self.playing.pop_front() {
                if id > self.cleared_through && q.logged {
                    outcome.played.push(q.prompt);
                }
            }
        }
        outcome.idle = self.playing.is_empty() && id > self.cleared_through;
        outcome
    }

    /// Barge-in: everything queued is dropped. Returns the logged prompts interrupted; `None`
    /// if nothing was playing (no `clear` needed).
    pub fn clear(&mut self) -> Option<Vec<Arc<Prompt>>> {
        if self.playing.is_empty() {
            return None;
        }
        self.cleared_through = self.next_mark - 1;
        Some(
            std::mem::take(&mut self.playing)
                .into_iter()
                .filter(|q| q.logged)
                .map(|q| q.prompt)
                .collect(),
        )
    }

    /// Forget everything queued without a `clear` (the provider stopped answering).
    pub fn abandon(&mut self) {
        self.playing.clear();
    }
}

/// One key press can arrive twice: from the in-band receiver and as a provider event, in
/// either order and possibly after the caller's next key (events can lag the audio).
/// Recent presses that the other source has not yet reported are kept, a few per source, and
/// a report matching one of them (same digit, within the window) is the same press.
#[derive(Debug)]
pub struct KeyFilter {
    /// (digit, source, time) of presses not yet matched by the other source, oldest first.
    pending: [Option<(Key, KeySource, Millis)>; 8],
    window_ms: Millis,
}

impl KeyFilter {
    pub fn new(window_ms: Millis) -> Self {
        KeyFilter {
            pending: [None; 8],
            window_ms,
        }
    }

    /// Whether this report is a new press (false: the other source already reported it).
    pub fn is_new(&mut self, now: Millis, digit: Key, source: KeySource) -> bool {
        // Forget presses too old to be matched.
        for slot in &mut self.pending {
            if slot.is_some_and(|(_, _, at)| now.saturating_sub(at) > self.window_ms) {
                *slot = None;
            }
        }
        // The oldest unmatched report of this digit from the other source is this press.
        let matching = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_some_and(|(d, s, _)| d == digit && s != source))
            .min_by_key(|(_, p)| p.map(|(_, _, at)| at))
            .map(|(i, _)| i);
        if let Some(i) = matching {
            self.pending[i] = None;
            return false;
        }
        // Remember it, replacing the oldest entry when full.
        let slot = self
            .pending
            .iter()
            .position(Option::is_none)
            .unwrap_or_else(|| {
                self.pending
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, p)| p.map(|(_, _, at)| at))
                    .map(|(i, _)| i)
                    .unwrap_or(0)
            });
        self.pending[slot] = Some((digit, source, now));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_events_after_the_next_key_still_pair_up() {
        let mut f = KeyFilter::new(1000);
        // Keying 1 2 3 fast: in-band reports come first, events trail by 120 ms.
        let mut new = 0;
        for (i, d) in [Key::D1, Key::D2, Key::D3].into_iter().enumerate() {
            let t = i as u64 * 100;
            new += usize::from(f.is_new(t, d, KeySource::Inband));
        }
        for (i, d) in [Key::D1, Key::D2, Key::D3].into_iter().enumerate() {
            let t = i as u64 * 100 + 120;
            new += usize::from(f.is_new(t, d, KeySource::Event));
        }
        assert_eq!(new, 3);
        // Repeated digits from one source are separate presses; each pairs once.
        let mut f = KeyFilter::new(1000);
        assert!(f.is_new(0, Key::D5, KeySource::Inband));
        assert!(f.is_new(100, Key::D5, KeySource::Inband));
        assert!(!f.is_new(150, Key::D5, KeySource::Event));
        assert!(!f.is_new(250, Key::D5, KeySource::Event));
        assert!(f.is_new(300, Key::D5, KeySource::Event));
        // Outside the window: a new press.
        assert!(f.is_new(5000, Key::D5, KeySource::Inband));
    }
}

/// The armed timers, a fixed table.
#[derive(Debug, Default)]
pub struct Timers {
    at: [Option<Millis>; Timer::ALL.len()],
}

impl Timers {
    pub fn arm(&mut self, timer: Timer, at: Millis) {
        self.at[timer.index()] = Some(at);
    }

    pub fn cancel(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    pub fn cancel_all(&mut self) {
        self.at = Default::default();
    }

    /// The earliest armed timer.
    pub fn next(&self) -> Option<(Timer, Millis)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.at[t.index()].map(|at| (t, at)))
            .min_by_key(|&(_, at)| at)
    }

    /// Disarm `timer` if it is due at `now`; false for a stale or cancelled timer.
    pub fn fire(&mut self, timer: Timer, now: Millis) -> bool {
        match self.at[timer.index()] {
            Some(at) if at <= now => {
                self.at[timer.index()] = None;
                true
            }
            _ => false,
        }
    }
}

/// What both flows do with prompts: queue them at the provider with marks, keep the playback
/// guard armed past their end, log them, and clear them on barge-in. The flows own one each.
#[derive(Debug)]
pub struct Stage {
    pub playout: Playout,
    pub timers: Timers,
    outputs: VecDeque<Output>,
    slack_ms: Millis,
}

impl Stage {
    /// `slack_ms`: how long past a prompt's end its mark may take before playback is stalled.
    pub fn new(slack_ms: Millis) -> Self {
        Stage {
            playout: Playout::default(),
            timers: Timers::default(),
            outputs: VecDeque::new(),
            slack_ms,
        }
    }

    pub fn emit(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    pub fn poll(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Play a prompt and log it (`attempt`: which asking of the question this is).
    pub fn play(&mut self, now: Millis, prompt: Arc<Prompt>, attempt: u32) {
        self.emit(Output::Record(Step::PromptStarted {
            prompt: prompt.clone(),
            attempt,
        }));
        self.enqueue(now, prompt, true);
    }

    /// Play without logging the prompt's id (a digit of a phone number).
    pub fn play_quietly(&mut self, now: Millis, prompt: Arc<Prompt>) {
        self.enqueue(now, prompt, false);
    }

    fn enqueue(&mut self, now: Millis, prompt: Arc<Prompt>, logged: bool) {
        let (mark, ends) = self.playout.enqueue(now, prompt.clone(), logged);
        self.timers.arm(Timer::PlaybackGuard, ends + self.slack_ms);
        self.emit(Output::Play { prompt, mark });
    }

    /// A key arrived while prompts may be playing: stop them now.
    pub fn barge_in(&mut self) {
        if let Some(interrupted) = self.playout.clear() {
            self.emit(Output::Clear);
            for prompt in interrupted {
                self.emit(Output::Record(Step::PromptInterrupted { prompt }));
            }
            self.timers.cancel(Timer::PlaybackGuard);
        }
    }

    /// A mark came back: log what played; true if nothing is playing any more (the
    /// playback guard is then disarmed).
    pub fn on_mark(&mut self, id: u64) -> bool {
        let outcome = self.playout.on_mark(id);
        for prompt in outcome.played {
            self.emit(Output::Record(Step::PromptPlayed { prompt }));
        }
        if outcome.idle {
            self.timers.cancel(Timer::PlaybackGuard);
        }
        outcome.idle
    }
}
