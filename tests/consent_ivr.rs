//! The consent IVR state machine driven with virtual time against a simulated provider and
//! store: every path, in microseconds.

#[path = "support/ivr.rs"]
mod ivr;

use consentline::call::{
    ConsentCall, ConsentPrompts, ConsentSettings, Decision, Input, KeySource, Output, Timer,
};
use consentline::media::dtmf::Key;
use ivr::{prompt, Sim, StoreBehaviour};

fn prompts() -> ConsentPrompts {
    ConsentPrompts {
        disclosure: prompt("consent.disclosure", 10_000),
        retry: prompt("consent.retry", 5_000),
        invalid: prompt("consent.invalid", 2_000),
        no_input: prompt("consent.no_input", 2_000),
        confirm_record: prompt("consent.confirm_record", 3_000),
        confirm_no_record: prompt("consent.confirm_no_record", 3_000),
        no_answer: prompt("consent.no_answer", 4_000),
    }
}

fn consent(settings: ConsentSettings, store: StoreBehaviour) -> Sim<ConsentCall> {
    Sim::around(ConsentCall::new(settings, prompts()), store)
}

fn with_store(store: StoreBehaviour) -> Sim<ConsentCall> {
    consent(ConsentSettings::default(), store)
}

const DURABLE: StoreBehaviour = StoreBehaviour::Durable { after_ms: 5 };

#[test]
fn consent_after_the_disclosure() {
    let sim = with_store(DURABLE)
        .key_at(11_000, '1', KeySource::Inband)
        .run();
    assert_eq!(
        sim.story(),
        [
            "played consent.disclosure",
            "key 1",
            "decision record",
            "played consent.confirm_record",
            "ended: consent flow complete"
        ]
    );
    assert_eq!(sim.call.decision(), Some(Decision::Record));
    assert!(sim.closed);
    // The confirmation starts only after the decision is durable (5 ms later).
    let confirm = sim
        .time_of(
            |o| matches!(o, Output::Play { prompt, .. } if prompt.id == "consent.confirm_record"),
        )
        .unwrap();
    assert_eq!(confirm, 11_005);
    // Closed when the confirmation's mark came back.
    assert_eq!(
        sim.time_of(|o| matches!(o, Output::Close { .. })),
        Some(14_005)
    );
}

#[test]
fn decline() {
    let sim = with_store(DURABLE)
        .key_at(12_000, '2', KeySource::Event)
        .run();
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
    assert!(sim
        .story()
        .contains(&"played consent.confirm_no_record".to_string()));
}

#[test]
fn no_input_asks_twice_more_then_does_not_record() {
    let sim = with_store(DURABLE).run();
    assert_eq!(
        sim.story(),
        [
            "played consent.disclosure",
            "played consent.no_input",
            "played consent.retry",
            "played consent.no_input",
            "played consent.retry",
            "decision no_record",
            "played consent.no_answer",
            "ended: consent flow complete",
        ]
    );
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
    // The no-input timer starts when the question has been heard, not when it was sent:
    // disclosure ends at 10 s, so the first re-ask starts at 15 s.
    let first_no_input = sim
        .time_of(|o| matches!(o, Output::Play { prompt, .. } if prompt.id == "consent.no_input"))
        .unwrap();
    assert_eq!(first_no_input, 15_000);
}

#[test]
fn retries_are_configurable() {
    let settings = ConsentSettings {
        retries: 0,
        ..ConsentSettings::default()
    };
    let sim = consent(settings, DURABLE).run();
    assert_eq!(
        sim.story()[..2],
        ["played consent.disclosure", "decision no_record"]
    );
}

#[test]
fn invalid_key_then_valid_key() {
    let sim = with_store(DURABLE)
        .key_at(10_500, '7', KeySource::Inband)
        .key_at(15_000, '1', KeySource::Inband)
        .run();
    assert_eq!(
        sim.story(),
        [
            "played consent.disclosure",
            "key 7",
            "played consent.invalid",
            "key 1",
            "interrupted consent.retry",
            "decision record",
            "played consent.confirm_record",
            "ended: consent flow complete",
        ]
    );
    assert_eq!(sim.call.decision(), Some(Decision::Record));
}

#[test]
fn three_invalid_keys_do_not_record() {
    let sim = with_store(DURABLE)
        .key_at(10_500, '9', KeySource::Inband)
        .key_at(20_000, '*', KeySource::Inband)
        .key_at(30_000, '0', KeySource::Inband)
        .run();
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
    assert!(sim
        .story()
        .contains(&"played consent.no_answer".to_string()));
}

#[test]
fn barge_in_clears_the_prompt_at_once() {
    let sim = with_store(DURABLE)
        .key_at(3_000, '1', KeySource::Inband)
        .run();
    assert_eq!(
        sim.story()[..3],
        ["key 1", "interrupted consent.disclosure", "decision record"]
    );
    // Clear goes out at the key's instant, before anything else.
    let clear = sim.time_of(|o| matches!(o, Output::Clear)).unwrap();
    assert_eq!(clear, 3_000);
    let idx_clear = sim
        .log
        .iter()
        .position(|(_, o)| matches!(o, Output::Clear))
        .unwrap();
    let idx_decision = sim
        .log
        .iter()
        .position(|(_, o)| matches!(o, Output::RecordDecision(_)))
        .unwrap();
    assert!(idx_clear < idx_decision);
    // The cleared prompt's mark, echoed by the provider, does not count as played.
    assert!(!sim
        .story()
        .contains(&"played consent.disclosure".to_string()));
    assert_eq!(sim.call.decision(), Some(Decision::Record));
}

#[test]
fn hang_up_mid_prompt() {
    let sim = with_store(DURABLE).hangup_at(4_000).run();
    assert_eq!(sim.story(), ["ended: hangup"]);
    assert_eq!(sim.call.decision(), None);
    assert!(!sim.closed);
}

#[test]
fn hang_up_while_the_decision_is_being_stored_never_records() {
    let sim = with_store(StoreBehaviour::Durable { after_ms: 500 })
        .key_at(11_000, '1', KeySource::Inband)
        .hangup_at(11_100)
        .run();
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
}

#[test]
fn a_key_heard_in_band_and_as_an_event_counts_once() {
    // In-band detection comes ~35 ms after onset; Twilio's event can come later.
    let sim = with_store(DURABLE)
        .key_at(10_500, '5', KeySource::Inband)
        .key_at(10_650, '5', KeySource::Event)
        .run();
    let keys: Vec<_> = sim
        .story()
        .into_iter()
        .filter(|s| s.starts_with("key"))
        .collect();
    assert_eq!(keys, ["key 5"], "{:?}", sim.story());
    // Had it counted twice, the second '5' would have interrupted the "invalid" prompt.
    assert!(sim.story().contains(&"played consent.invalid".to_string()));

    // The same digit pressed again later by the same source is a new press.
    let sim = with_store(DURABLE)
        .key_at(10_500, '5', KeySource::Inband)
        .key_at(11_000, '5', KeySource::Inband)
        .run();
    let keys: Vec<_> = sim
        .story()
        .into_iter()
        .filter(|s| s.starts_with("key"))
        .collect();
    assert_eq!(keys, ["key 5", "key 5"]);

    // Event first, then in-band: still one.
    let sim = with_store(DURABLE)
        .key_at(10_500, '1', KeySource::Event)
        .key_at(10_540, '1', KeySource::Inband)
        .run();
    let keys: Vec<_> = sim
        .story()
        .into_iter()
        .filter(|s| s.starts_with("key"))
        .collect();
    assert_eq!(keys, ["key 1"]);
    assert_eq!(sim.call.decision(), Some(Decision::Record));
}

#[test]
fn store_failure_means_no_recording() {
    let sim = with_store(StoreBehaviour::Fails { after_ms: 3 })
        .key_at(11_000, '1', KeySource::Inband)
        .run();
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
    let story = sim.story();
    assert!(
        story.contains(&"played consent.confirm_no_record".to_string()),
        "{story:?}"
    );
    assert!(!story.contains(&"played consent.confirm_record".to_string()));
}

#[test]
fn slow_store_means_no_recording() {
    let sim = with_store(StoreBehaviour::Silent)
        .key_at(11_000, '1', KeySource::Inband)
        .run();
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
    // Gave up after the decision timeout.
    let confirm = sim.time_of(|o| matches!(o, Output::Play { prompt, .. } if prompt.id == "consent.confirm_no_record")).unwrap();
    assert_eq!(
        confirm,
        11_000 + ConsentSettings::default().decision_timeout_ms
    );
    // And a late "durable" answer can't turn it back into a recording.
    let mut sim = sim;
    sim.call
        .handle(20_000, Input::DecisionLogged { durable: true });
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
}

#[test]
fn decision_is_none_until_durable() {
    let mut call = ConsentCall::new(ConsentSettings::default(), prompts());
    call.handle(0, Input::Start);
    while call.poll_output().is_some() {}
    call.handle(10_000, Input::Mark { id: 1 });
    call.handle(
        10_100,
        Input::Key {
            digit: Key::D1,
            source: KeySource::Inband,
        },
    );
    assert_eq!(call.decision(), None, "not durable yet");
    call.handle(10_110, Input::DecisionLogged { durable: true });
    assert_eq!(call.decision(), Some(Decision::Record));
}

#[test]
fn provider_that_never_echoes_marks_ends_without_recording() {
    let mut call = ConsentCall::new(ConsentSettings::default(), prompts());
    call.handle(0, Input::Start);
    while call.poll_output().is_some() {}
    let (timer, at) = call.next_timeout().unwrap();
    assert_eq!(timer, Timer::PlaybackGuard);
    assert_eq!(at, 10_000 + ConsentSettings::default().playback_slack_ms);
    call.handle(at, Input::Timeout(timer));
    let outs: Vec<Output> = std::iter::from_fn(|| call.poll_output()).collect();
    assert!(outs.iter().any(|o| matches!(
        o,
        Output::Close {
            reason: "playback stalled"
        }
    )));
    assert_eq!(call.decision(), Some(Decision::NoRecord));
    assert!(call.is_finished());
}

#[test]
fn keys_after_the_decision_are_logged_and_ignored() {
    let sim = with_store(DURABLE)
        .key_at(11_000, '1', KeySource::Inband)
        .key_at(12_000, '2', KeySource::Inband)
        .run();
    assert_eq!(sim.call.decision(), Some(Decision::Record));
    assert!(sim.story().contains(&"key 2 ignored".to_string()));
}

#[test]
fn stale_timers_and_inputs_after_the_end_are_harmless() {
    let mut sim = with_store(DURABLE)
        .key_at(11_000, '2', KeySource::Inband)
        .run();
    let before = sim.log.len();
    for input in [
        Input::Timeout(Timer::NoInput),
        Input::Mark { id: 99 },
        Input::Start,
        Input::Hangup,
        Input::DecisionLogged { durable: true },
    ] {
        sim.call.handle(99_000, input);
    }
    assert!(sim.call.poll_output().is_none());
    assert_eq!(sim.log.len(), before);
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
}

#[test]
fn a_caller_on_the_do_not_contact_list_is_never_asked() {
    let call = ConsentCall::new(ConsentSettings::default(), prompts()).without_asking("opted out");
    let sim = Sim::around(call, DURABLE)
        .key_at(3_000, '1', KeySource::Inband)
        .run();
    let story = sim.story();
    assert!(
        !story.iter().any(|l| l.contains("consent.disclosure")),
        "{story:?}"
    );
    assert_eq!(story[0], "decision no_record");
    assert!(story.contains(&"played consent.confirm_no_record".to_string()));
    assert_eq!(sim.call.decision(), Some(Decision::NoRecord));
}
