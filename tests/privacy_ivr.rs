//! The privacy-request line's state machine with virtual time: the whole menu tree, in both
//! languages, with invalid keys, timeouts, repeats, caller ID accepted and replaced, and
//! hang-ups at every step.

#[path = "support/ivr.rs"]
mod ivr;

use consentline::call::{KeySource, Output, PrivacyCall, PrivacyPrompts, PrivacySettings, Step};
use consentline::privacy::RequestType as RequestChoice;
use ivr::{prompt_in, Sim, StoreBehaviour};

const DURABLE: StoreBehaviour = StoreBehaviour::Durable { after_ms: 5 };

fn prompts(language: &str) -> PrivacyPrompts {
    PrivacyPrompts::from_lookup(language, |id| {
        if language == "en" && (id == "date.the" || id == "date.of") {
            return None;
        }
        let ms = if id.starts_with("digit.")
            || id.starts_with("day.")
            || id.starts_with("month.")
            || id.starts_with("year.")
        {
            500
        } else {
            2_000
        };
        Some(prompt_in(id, ms, language))
    })
    .expect("all privacy prompts")
}

fn call(caller_id: Option<&str>) -> PrivacyCall {
    PrivacyCall::new(
        PrivacySettings::default(),
        prompts("en"),
        Some(prompts("es")),
        caller_id,
    )
}

fn sim(caller_id: Option<&str>) -> Sim<PrivacyCall> {
    Sim::around(call(caller_id), DURABLE)
}

/// Press `keys` one after another, each a second after the previous prompts have played.
/// (The simulator's keys are absolute times, so we press well apart.)
fn presses(mut s: Sim<PrivacyCall>, keys: &str, start: u64, gap: u64) -> Sim<PrivacyCall> {
    for (i, c) in keys.chars().enumerate() {
        s = s.key_at(start + i as u64 * gap, c, KeySource::Inband);
    }
    s
}

fn filed(s: &Sim<PrivacyCall>) -> Vec<consentline::call::RequestDraft> {
    s.log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::FileRequest(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn abandoned(s: &Sim<PrivacyCall>) -> Vec<consentline::call::RequestDraft> {
    s.log
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Abandoned(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn played(s: &Sim<PrivacyCall>) -> Vec<String> {
    s.story()
        .into_iter()
        .filter_map(|l| l.strip_prefix("played ").map(str::to_string))
        .collect()
}

// The greeting (2 s) + "para español" (2 s) + menu (2 s) play out by 6 s.

#[test]
fn opt_out_with_caller_id_needs_no_verification() {
    // Menu 3 at 7 s; caller-ID read-back (intro 2 s + 10 digits 5 s + confirm 2 s) by ~16 s.
    let s = presses(sim(Some("+14155550100")), "31", 7_000, 10_000).run();
    let f = filed(&s);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].request_type, Some(RequestChoice::OptOut));
    assert_eq!(f[0].callback.as_deref(), Some("4155550100"));
    assert_eq!(f[0].callback_source, Some("caller_id"));
    assert_eq!(f[0].agent, None, "opt-out asks nothing about identity");
    let p = played(&s);
    assert!(
        !p.iter()
            .any(|x| x == "privacy.who" || x == "privacy.verify_notice"),
        "{p:?}"
    );
    assert!(p.iter().any(|x| x == "privacy.received"));
    assert!(s.closed);
    assert!(!s.call.outcome().record && !s.call.outcome().bridge);
}

#[test]
fn each_request_type_is_filed() {
    for (key, choice) in [
        ('1', RequestChoice::Know),
        ('2', RequestChoice::Delete),
        ('3', RequestChoice::OptOut),
        ('4', RequestChoice::Correct),
        ('5', RequestChoice::Limit),
    ] {
        // key, accept caller ID, (consumer for know/delete/correct)
        let s = presses(
            sim(Some("+14155550100")),
            &format!("{key}11"),
            7_000,
            12_000,
        )
        .run();
        let f = filed(&s);
        assert_eq!(f.len(), 1, "{key}: {:?}", s.story());
        assert_eq!(f[0].request_type, Some(choice));
        if choice.needs_verification() {
            assert_eq!(f[0].agent, Some(false));
            assert!(played(&s).iter().any(|x| x == "privacy.verify_notice"));
        }
    }
}

#[test]
fn an_authorized_agent_is_recorded_as_such() {
    let s = presses(sim(Some("+14155550100")), "212", 7_000, 12_000).run();
    assert_eq!(filed(&s)[0].agent, Some(true));
}

#[test]
fn callback_number_keyed_in_when_caller_id_is_replaced() {
    // 4 (correct) -> 2 (another number) -> 10 digits and # -> 1 (confirm) -> 1 (consumer)
    let mut s = sim(Some("+14155550100"));
    s = s
        .key_at(7_000, '4', KeySource::Inband)
        .key_at(17_000, '2', KeySource::Inband);
    let mut t = 23_000;
    for c in "6505550177#".chars() {
        s = s.key_at(t, c, KeySource::Inband);
        t += 300;
    }
    s = s
        .key_at(t + 12_000, '1', KeySource::Inband)
        .key_at(t + 24_000, '1', KeySource::Inband);
    let s = s.run();
    let f = filed(&s);
    assert_eq!(f.len(), 1, "{:?}", s.story());
    assert_eq!(f[0].callback.as_deref(), Some("6505550177"));
    assert_eq!(f[0].callback_source, Some("keyed"));
    // The digits of the number are never logged as keys.
    let keys: Vec<_> = s
        .steps()
        .into_iter()
        .filter(|st| matches!(st, Step::Key { .. }))
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(s.story().contains(&"entered 10 digits".to_string()));
}

#[test]
fn no_caller_id_goes_straight_to_keying_in() {
    let mut s = sim(None);
    s = s.key_at(7_000, '3', KeySource::Inband);
    let mut t = 12_000;
    for c in "2125550123#".chars() {
        s = s.key_at(t, c, KeySource::Inband);
        t += 300;
    }
    s = s.key_at(t + 12_000, '1', KeySource::Inband);
    let s = s.run();
    assert_eq!(filed(&s)[0].callback.as_deref(), Some("2125550123"));
}

#[test]
fn a_short_number_is_refused_and_asked_again() {
    let mut s = sim(None);
    s = s.key_at(7_000, '3', KeySource::Inband);
    let mut t = 12_000;
    for c in "555#".chars() {
        s = s.key_at(t, c, KeySource::Inband);
        t += 300;
    }
    let s = s.run();
    assert!(
        s.story()
            .contains(&"entered 3 digits (rejected)".to_string()),
        "{:?}",
        s.story()
    );
    assert!(played(&s).iter().any(|x| x == "privacy.invalid"));
}

#[test]
fn spanish_by_pressing_9() {
    // 9 during the greeting: everything from then on is Spanish.
    let s = presses(sim(Some("+14155550100")), "931", 1_000, 12_000).run();
    assert!(s.story().contains(&"language es".to_string()));
    let f = filed(&s);
    assert_eq!(f[0].language, "es");
    let started: Vec<_> = s
        .steps()
        .into_iter()
        .filter_map(|st| match st {
            Step::PromptStarted { prompt, .. } => Some(prompt.clone()),
            _ => None,
        })
        .collect();
    assert!(started
        .iter()
        .skip_while(|p| p.language == "en")
        .all(|p| p.language == "es"));
    // Spanish dates: "el <día> de <mes> de <año>".
    assert!(played(&s).iter().any(|x| x == "date.of"));
}

#[test]
fn star_repeats_the_menu_and_zero_reaches_a_person_unrecorded() {
    let s = presses(sim(None), "*0", 7_000, 4_000).run();
    let menus = s
        .story()
        .iter()
        .filter(|l| *l == "played privacy.menu")
        .count();
    assert!(menus >= 2, "{:?}", s.story());
    assert!(s.story().contains(&"transfer".to_string()));
    let outcome = s.call.outcome();
    assert!(outcome.bridge && !outcome.record);
    assert!(filed(&s).is_empty() && abandoned(&s).is_empty());
}

#[test]
fn invalid_keys_and_silence_end_with_a_goodbye() {
    // Nothing pressed: asked again twice, then goodbye; no request was started.
    let s = sim(None).run();
    assert!(played(&s).iter().any(|x| x == "privacy.no_answer"));
    assert_eq!(
        played(&s)
            .iter()
            .filter(|x| *x == "privacy.no_input")
            .count(),
        2
    );
    assert!(abandoned(&s).is_empty());
    // Invalid keys three times.
    let s = presses(sim(None), "777", 7_000, 5_000).run();
    assert_eq!(
        played(&s)
            .iter()
            .filter(|x| *x == "privacy.invalid")
            .count(),
        2,
        "{:?}",
        s.story()
    );
    assert!(played(&s).iter().any(|x| x == "privacy.no_answer"));
}

#[test]
fn hang_ups_at_every_step_leave_an_abandoned_record_once_a_request_was_chosen() {
    // (keys, hang-up time, abandoned?)
    let cases: [(&str, u64, bool); 5] = [
        ("", 3_000, false),     // during the greeting
        ("2", 9_000, true),     // during the caller-ID read-back
        ("22", 21_000, true),   // while keying in a number
        ("21", 21_000, true),   // at the consumer/agent question
        ("211", 60_000, false), // after filing: nothing abandoned
    ];
    for (keys, at, want) in cases {
        let s = presses(sim(Some("+14155550100")), keys, 7_000, 12_000)
            .hangup_at(at)
            .run();
        assert_eq!(
            !abandoned(&s).is_empty(),
            want,
            "{keys} @ {at}: {:?}",
            s.story()
        );
        assert!(s.story().last().unwrap().starts_with("ended"));
    }
}

#[test]
fn a_failed_filing_is_told_to_the_caller() {
    let s = Sim::around(
        call(Some("+14155550100")),
        StoreBehaviour::Fails { after_ms: 3 },
    );
    let s = presses(s, "31", 7_000, 10_000).run();
    assert!(played(&s).iter().any(|x| x == "privacy.failed"));
    assert!(!played(&s).iter().any(|x| x == "privacy.received"));
}

#[test]
fn phone_number_digits_never_reach_the_log() {
    let s = presses(sim(Some("+14155550100")), "31", 7_000, 10_000).run();
    for st in s.steps() {
        if let Step::PromptStarted { prompt, .. } | Step::PromptPlayed { prompt } = st {
            assert!(
                !prompt.id.starts_with("digit."),
                "digit prompt logged: {}",
                prompt.id
            );
        }
    }
    assert!(s
        .story()
        .contains(&"read back callback number (10)".to_string()));
}

#[test]
fn a_spanish_line_files_every_request_type_in_spanish() {
    for keys in ["111", "211", "31", "411", "51"] {
        let call = PrivacyCall::new(
            PrivacySettings::default(),
            prompts("es"),
            None,
            Some("+14155550100"),
        );
        let s = presses(Sim::around(call, DURABLE), keys, 5_000, 12_000).run();
        let f = filed(&s);
        assert_eq!(f.len(), 1, "{keys}: {:?}", s.story());
        assert_eq!(f[0].language, "es");
        // No "para español" on a Spanish line, and every prompt was Spanish.
        assert!(!played(&s).iter().any(|x| x == "privacy.espanol"));
        assert!(s.steps().iter().all(|st| match st {
            Step::PromptStarted { prompt, .. } => prompt.language == "es",
            _ => true,
        }));
    }
}

#[test]
fn a_request_is_abandoned_at_most_once_and_never_after_filing() {
    // Know, then three invalid answers to the caller-ID question, then a hang-up during the
    // goodbye: one abandoned record.
    let s = presses(sim(Some("+14155550100")), "1777", 7_000, 12_000)
        .hangup_at(55_000)
        .run();
    assert_eq!(abandoned(&s).len(), 1, "{:?}", s.story());
    // Hang-up while the request is being filed: filed, not abandoned.
    let slow = StoreBehaviour::Durable { after_ms: 2_000 };
    let s = Sim::around(call(Some("+14155550100")), slow);
    let s = presses(s, "31", 7_000, 10_000).hangup_at(17_500).run();
    assert_eq!(filed(&s).len(), 1, "{:?}", s.story());
    assert!(abandoned(&s).is_empty(), "{:?}", s.story());
}

#[test]
fn digits_typed_at_a_yes_no_question_are_not_logged() {
    // At the caller-ID question the caller types a number instead of 1 or 2.
    let s = presses(sim(Some("+14155550100")), "3456", 7_000, 700).run();
    let logged: Vec<String> = s
        .steps()
        .into_iter()
        .filter_map(|st| match st {
            Step::Key { digit, .. } => Some(digit.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(logged, ["3"], "{:?}", s.story());
}
