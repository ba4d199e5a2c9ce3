//! Property tests of the DTMF receiver: any input, any chunking.

mod support;

use consentline::media::dtmf::{Config, Event, Receiver};
use consentline::media::level::dbm0_to_power;
use proptest::prelude::*;

fn run(samples: &[i16], chunks: &[usize], config: Config) -> Vec<Event> {
    let mut rx = Receiver::new(config);
    let mut events = Vec::new();
    let mut rest = samples;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % chunks.len()].clamp(1, rest.len());
        rx.push(&rest[..n], |e| events.push(e));
        rest = &rest[n..];
        i += 1;
    }
    rx.finish(|e| events.push(e));
    events
}

/// Audio that sometimes holds real keys: segments of keys, noise and silence.
fn keyish_audio() -> impl Strategy<Value = Vec<i16>> {
    let segment = prop_oneof![
        (0usize..16, 200usize..800, -30.0f32..0.0).prop_map(|(k, len, db)| {
            let key = consentline::media::dtmf::Key::ALL[k];
            let mut buf = vec![0f32; len];
            consentline::media::tone::DtmfTone::new(key, db).add_to(&mut buf, 0, len, (0.3, 1.1));
            consentline::media::tone::to_i16(&buf)
        }),
        prop::collection::vec(any::<i16>(), 1..400),
        (1usize..600).prop_map(|n| vec![0i16; n]),
    ];
    prop::collection::vec(segment, 1..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The same events whatever the chunk sizes.
    #[test]
    fn chunking_never_changes_the_output(audio in keyish_audio(), chunks in prop::collection::vec(1usize..5000, 1..8)) {
        let whole = run(&audio, &[audio.len().max(1)], Config::default());
        let chunked = run(&audio, &chunks, Config::default());
        prop_assert_eq!(whole, chunked);
    }

    /// Arbitrary samples never panic, and events always come in Started/Ended pairs with
    /// positions that never go backwards.
    #[test]
    fn any_input_is_handled(audio in prop::collection::vec(any::<i16>(), 0..20_000), chunks in prop::collection::vec(1usize..1000, 1..4)) {
        let events = run(&audio, &chunks, Config::default());
        let hits = support::pair(&events);
        for pair in hits.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start);
        }
        for h in &hits {
            prop_assert!(h.end <= audio.len() as u64 + 200);
        }
    }

    /// Anything quieter than the level floor — here any waveform whose every sample is
    /// within the floor's RMS amplitude — never makes a key.
    #[test]
    fn signals_below_the_floor_never_make_a_digit(raw in prop::collection::vec(any::<i16>(), 0..20_000), floor in -50.0f32..-20.0) {
        let limit = dbm0_to_power(floor).sqrt();
        let audio: Vec<i16> = raw.iter().map(|&s| (f32::from(s) / 32768.0 * limit) as i16).collect();
        let config = Config { min_level_dbm0: floor, ..Config::default() };
        prop_assert!(run(&audio, &[160], config).is_empty());
    }

    /// Keys below the floor are not heard, however they are shaped.
    #[test]
    fn keys_below_the_floor_are_ignored(key in 0usize..16, floor in -45.0f32..-15.0, below in 0.5f32..20.0) {
        let key = consentline::media::dtmf::Key::ALL[key];
        let mut buf = vec![0f32; 2000];
        consentline::media::tone::DtmfTone::new(key, floor - below).add_to(&mut buf, 200, 1200, (0.0, 0.7));
        let audio = consentline::media::tone::to_i16(&buf);
        let config = Config { min_level_dbm0: floor, ..Config::default() };
        prop_assert!(run(&audio, &[160], config).is_empty());
    }
}
