//! DTMF receiver conformance to ITU-T Q.24 (AT&T column unless a test says otherwise), one test
//! per category, each run on the linear signal and after a μ-law round trip. Signals are
//! deterministic (fixed seeds) with random tone phases and random alignment.
//!
//! Tests that measure an edge (frequency, twist, duration, SNR) print what they measured;
//! `cargo test --release --test dtmf_conformance -- --nocapture` shows the figures.

mod support;

use consentline::media::dtmf::{Config, Key, Profile, Receiver};
use consentline::media::tone::DtmfTone;
use support::*;

/// The 16 keys with the given tone builder, 50 ms on / 50 ms off; returns (expected, got).
fn run_keys(
    seed: u64,
    channel: Channel,
    config: Config,
    make: impl Fn(Key) -> DtmfTone,
) -> (String, String) {
    let mut sig = Signal::new(seed);
    for key in Key::ALL {
        sig.tone(make(key), 50 * MS).silence(50 * MS);
    }
    let got = detect_with(config, &through(channel, &sig.samples()));
    (placed_digits(&sig.placed), digits(&got))
}

fn assert_all_keys(label: &str, seed: u64, config: Config, make: impl Fn(Key) -> DtmfTone + Copy) {
    for channel in CHANNELS {
        let (want, got) = run_keys(seed, channel, config, make);
        assert_eq!(got, want, "{label} ({channel:?}, seed {seed})");
    }
}

fn assert_no_keys(label: &str, seed: u64, config: Config, make: impl Fn(Key) -> DtmfTone + Copy) {
    for channel in CHANNELS {
        let (_, got) = run_keys(seed, channel, config, make);
        assert_eq!(
            got, "",
            "{label} ({channel:?}, seed {seed}) should be rejected"
        );
    }
}

fn att() -> Config {
    Config::default()
}

fn tone(key: Key, low_dbm0: f32, high_dbm0: f32, low_dev: f64, high_dev: f64) -> DtmfTone {
    DtmfTone {
        key,
        low_dbm0,
        high_dbm0,
        low_deviation: low_dev,
        high_deviation: high_dev,
    }
}

#[test]
fn decodes_all_16_keys_exactly() {
    // spandsp's decode test: each key ten times at -4 dBm0 (Mitel "-6 dB from clip"),
    // and at a typical -10 dBm0.
    for (i, level) in [-4.0, -10.0].into_iter().enumerate() {
        for round in 0..10 {
            assert_all_keys("decode", 100 + i as u64 * 10 + round, att(), |k| {
                DtmfTone::new(k, level)
            });
        }
    }
}

#[test]
fn frequency_tolerance_accepts_1_5_percent_on_both_tones_and_rejects_3_5_percent() {
    let mut seed = 200;
    for low in [-0.015, 0.0, 0.015] {
        for high in [-0.015, 0.0, 0.015] {
            for level in [-4.0, -25.0] {
                seed += 1;
                assert_all_keys(
                    &format!("deviation {low:+} / {high:+} at {level} dBm0"),
                    seed,
                    att(),
                    |k| tone(k, level, level, low, high),
                );
            }
        }
    }
    // Neighbouring keys lie about 10 % apart, so 7 % is as far as "no key at all" holds.
    for dev in [0.035, 0.04, 0.05, 0.06, 0.07] {
        for sign in [-1.0, 1.0] {
            let d = sign * dev;
            for (low, high) in [(d, 0.0), (0.0, d), (d, d), (d, -d)] {
                seed += 1;
                assert_no_keys(&format!("deviation {low:+} / {high:+}"), seed, att(), |k| {
                    tone(k, -10.0, -10.0, low, high)
                });
            }
        }
    }
}

/// Sweep deviation on both tones in 0.1 % steps; report where acceptance stops.
#[test]
fn frequency_edges_are_between_the_limits() {
    for sign in [-1.0, 1.0] {
        let mut last_full = 0.0;
        let mut first_none = None;
        for step in 0..=40 {
            let dev = sign * step as f64 * 0.001;
            let (want, got) = run_keys(300 + step, Channel::Ulaw, att(), |k| {
                tone(k, -10.0, -10.0, dev, dev)
            });
            if got == want {
                last_full = dev;
            }
            if got.is_empty() && first_none.is_none() {
                first_none = Some(dev);
            }
        }
        let first_none = first_none.expect("never rejected");
        println!("frequency sweep (both tones, μ-law): all 16 accepted up to {:+.1} %, none from {:+.1} %", last_full * 100.0, first_none * 100.0);
        assert!(last_full.abs() >= 0.015 && first_none.abs() <= 0.035);
    }
}

#[test]
fn level_range_0_to_minus_25_dbm0_accepted_below_minus_55_rejected() {
    for (i, level) in [0.0, -3.0, -10.0, -15.0, -20.0, -25.0]
        .into_iter()
        .enumerate()
    {
        assert_all_keys(&format!("{level} dBm0"), 400 + i as u64, att(), |k| {
            DtmfTone::new(k, level)
        });
    }
    for (i, level) in [-55.0, -60.0, -45.0].into_iter().enumerate() {
        assert_no_keys(&format!("{level} dBm0"), 410 + i as u64, att(), |k| {
            DtmfTone::new(k, level)
        });
    }
}

#[test]
fn level_floor_is_configurable() {
    let strict = Config {
        min_level_dbm0: -20.0,
        ..att()
    };
    assert_all_keys("-15 dBm0 with a -20 floor", 420, strict, |k| {
        DtmfTone::new(k, -15.0)
    });
    assert_no_keys("-25 dBm0 with a -20 floor", 421, strict, |k| {
        DtmfTone::new(k, -25.0)
    });
    let lax = Config {
        min_level_dbm0: -48.0,
        ..att()
    };
    assert_all_keys("-42 dBm0 with a -48 floor", 422, lax, |k| {
        DtmfTone::new(k, -42.0)
    });
}

#[test]
fn twist_8_db_normal_and_4_db_reverse_accepted_exactly_at_the_limits() {
    let mut seed = 500;
    // The louder tone anywhere in the operate range, the other exactly at the limit.
    for strong in [-3.0, -10.0, -17.0] {
        seed += 1;
        assert_all_keys(
            &format!("normal twist 8.0 dB, low at {strong}"),
            seed,
            att(),
            |k| tone(k, strong, strong - 8.0, 0.0, 0.0),
        );
        seed += 1;
        assert_all_keys(
            &format!("reverse twist 4.0 dB, high at {strong}"),
            seed,
            att(),
            |k| tone(k, strong - 4.0, strong, 0.0, 0.0),
        );
    }
    // At the limits together with the worst frequency error.
    for dev in [-0.015, 0.015] {
        seed += 1;
        assert_all_keys(&format!("normal 8 dB at {dev:+}"), seed, att(), |k| {
            tone(k, -6.0, -14.0, dev, dev)
        });
        seed += 1;
        assert_all_keys(&format!("reverse 4 dB at {dev:+}"), seed, att(), |k| {
            tone(k, -14.0, -10.0, dev, dev)
        });
    }
    // Clearly beyond: 2 dB past each limit.
    for strong in [-3.0, -10.0] {
        seed += 1;
        assert_no_keys("normal twist 10 dB", seed, att(), |k| {
            tone(k, strong, strong - 10.0, 0.0, 0.0)
        });
        seed += 1;
        assert_no_keys("reverse twist 6 dB", seed, att(), |k| {
            tone(k, strong - 6.0, strong, 0.0, 0.0)
        });
    }
}

/// Sweep twist in 0.1 dB steps; report the rejection points.
#[test]
fn twist_edges_are_reported() {
    for (name, normal) in [("normal", true), ("reverse", false)] {
        let mut last_full = 0.0;
        for step in 0..=40 {
            let twist = if normal { 7.0 } else { 3.0 } + step as f32 * 0.1;
            let (want, got) = run_keys(600 + step as u64, Channel::Ulaw, att(), |k| {
                if normal {
                    tone(k, -6.0, -6.0 - twist, 0.0, 0.0)
                } else {
                    tone(k, -6.0 - twist, -6.0, 0.0, 0.0)
                }
            });
            if got == want {
                last_full = twist;
            } else {
                break;
            }
        }
        println!("{name} twist (μ-law): all 16 accepted up to {last_full:.1} dB");
        let limit = if normal { 8.0 } else { 4.0 };
        assert!(
            last_full >= limit && last_full <= limit + 1.5,
            "{name} edge {last_full}"
        );
    }
}

#[test]
fn timing_40_ms_on_40_ms_off_including_repeats_is_accepted() {
    let keys = Key::parse_sequence("1111555599990000****####DDDD123A456B789C*0#D").unwrap();
    for seed in 700..710 {
        for channel in CHANNELS {
            let mut sig = Signal::new(seed);
            for &k in &keys {
                sig.tone(DtmfTone::new(k, -10.0), 40 * MS).silence(40 * MS);
            }
            let got = detect(&through(channel, &sig.samples()));
            assert_eq!(
                digits(&got),
                placed_digits(&sig.placed),
                "{channel:?} seed {seed}"
            );
        }
    }
}

#[test]
fn timing_tones_of_23_ms_or_less_are_rejected() {
    for len_ms in [23, 20, 15, 10, 5] {
        for seed in 0..5 {
            for channel in CHANNELS {
                let mut sig = Signal::new(800 + seed * 31 + len_ms as u64);
                for key in Key::ALL {
                    sig.tone(DtmfTone::new(key, -4.0), len_ms * MS)
                        .silence(60 * MS);
                }
                let got = detect(&through(channel, &sig.samples()));
                assert!(
                    got.is_empty(),
                    "{len_ms} ms tones detected: {} ({channel:?})",
                    digits(&got)
                );
            }
        }
    }
}

/// Sweep tone length in 1 ms steps; report the shortest tone always accepted.
#[test]
fn timing_duration_edge_is_reported() {
    let mut rows = Vec::new();
    for len_ms in 20..=45 {
        let mut accepted = 0;
        let mut total = 0;
        for seed in 0..8 {
            let mut sig = Signal::new(900 + seed * 64 + len_ms as u64);
            for key in Key::ALL {
                sig.tone(DtmfTone::new(key, -10.0), len_ms * MS)
                    .silence(60 * MS);
            }
            accepted += detect(&ulaw(&sig.samples())).len();
            total += 16;
        }
        rows.push((len_ms, accepted, total));
    }
    let always = rows
        .iter()
        .rev()
        .take_while(|r| r.1 == r.2)
        .last()
        .map(|r| r.0)
        .unwrap();
    let never = rows
        .iter()
        .take_while(|r| r.1 == 0)
        .last()
        .map(|r| r.0)
        .unwrap_or(0);
    println!("duration (μ-law, random alignment): never accepted up to {never} ms, always from {always} ms");
    for (ms, a, t) in &rows {
        if *a != 0 && a != t {
            println!("  {ms} ms: {a}/{t}");
        }
    }
    assert!(never >= 23 && always <= 40);
}

#[test]
fn timing_dropouts_up_to_10_ms_are_bridged() {
    for gap_ms in [1, 5, 8, 10] {
        for seed in 0..5 {
            for channel in CHANNELS {
                let mut sig = Signal::new(1000 + seed * 17 + gap_ms as u64);
                for key in Key::ALL {
                    sig.tone_with_gap(DtmfTone::new(key, -10.0), (80 + gap_ms) * MS, gap_ms * MS)
                        .silence(50 * MS);
                }
                let got = detect(&through(channel, &sig.samples()));
                assert_eq!(
                    digits(&got),
                    placed_digits(&sig.placed),
                    "{gap_ms} ms gap, {channel:?}"
                );
            }
        }
    }
}

#[test]
fn noise_1000_of_1000_digits_at_15_db_snr() {
    // Tones at -10 dBm0 each (-6.99 dBm0 together); white noise 15 dB below the pair.
    for channel in CHANNELS {
        let missed = noise_misses(1100, channel, 15.0);
        assert_eq!(
            missed, 0,
            "{channel:?}: {missed} of 1000 digits wrong at 15 dB SNR"
        );
    }
}

/// 1000 digits cycling through the keys at the given SNR; returns the number not decoded
/// exactly (missed, split, or extra).
fn noise_misses(seed: u64, channel: Channel, snr_db: f32) -> usize {
    let mut total_wrong = 0;
    // Ten blocks of 100 so a miss is attributed and a split can't hide behind an extra.
    for block in 0..10 {
        let mut sig = Signal::new(seed + block);
        for i in 0..100 {
            sig.tone(DtmfTone::new(Key::ALL[i % 16], -10.0), 50 * MS)
                .silence(50 * MS);
        }
        sig.noise(-6.99 - snr_db);
        let got = detect(&through(channel, &sig.samples()));
        let want = placed_digits(&sig.placed);
        let got = digits(&got);
        total_wrong += edit_distance(&want, &got);
    }
    total_wrong
}

fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[test]
fn noise_lowest_snr_with_no_misses_is_reported() {
    let mut lowest = 15.0;
    for snr in (0..15).rev() {
        let snr = snr as f32;
        if noise_misses(1200 + snr as u64, Channel::Ulaw, snr) == 0 {
            lowest = snr;
        } else {
            break;
        }
    }
    println!("noise (μ-law): 1000/1000 digits down to {lowest} dB SNR");
    assert!(lowest <= 15.0);
}

#[test]
fn dc_offset_hum_and_dial_tone_do_not_hurt_detection() {
    let mut seed = 1300;
    type Interferer = Box<dyn Fn(&mut Signal)>;
    let cases: Vec<(&str, Interferer)> = vec![
        (
            "DC +3000",
            Box::new(|s: &mut Signal| {
                s.dc(3000.0);
            }),
        ),
        (
            "DC -8000",
            Box::new(|s: &mut Signal| {
                s.dc(-8000.0);
            }),
        ),
        (
            "50 Hz hum 10 dB below",
            Box::new(|s: &mut Signal| {
                s.sine(50.0, -20.0);
            }),
        ),
        (
            "60 Hz hum 10 dB below",
            Box::new(|s: &mut Signal| {
                s.sine(60.0, -20.0).sine(180.0, -30.0);
            }),
        ),
        (
            "350+440 Hz dial tone 10 dB below",
            Box::new(|s: &mut Signal| {
                s.sine(350.0, -20.0).sine(440.0, -20.0);
            }),
        ),
    ];
    for (name, add) in &cases {
        for channel in CHANNELS {
            seed += 1;
            let mut sig = Signal::new(seed);
            for key in Key::ALL {
                sig.tone(DtmfTone::new(key, -10.0), 50 * MS)
                    .silence(50 * MS);
            }
            add(&mut sig);
            let got = detect(&through(channel, &sig.samples()));
            assert_eq!(
                digits(&got),
                placed_digits(&sig.placed),
                "{name} ({channel:?})"
            );
        }
    }
}

#[test]
fn interferers_alone_make_no_digits() {
    let mut sig = Signal::new(1400);
    sig.silence(8000 * 4)
        .sine(350.0, -10.0)
        .sine(440.0, -10.0)
        .sine(60.0, -5.0)
        .dc(2000.0)
        .noise(-40.0);
    assert!(detect(&ulaw(&sig.samples())).is_empty());
}

#[test]
fn latency_started_no_later_than_50_ms_after_onset() {
    let mut worst = 0u64;
    let mut sum = 0u64;
    let mut count = 0u64;
    let mut onset_error = Vec::new();
    for seed in 0..20 {
        let mut sig = Signal::new(1500 + seed);
        for key in Key::ALL {
            sig.tone(DtmfTone::new(key, -10.0), 50 * MS)
                .silence(50 * MS);
        }
        let samples = ulaw(&sig.samples());
        let mut rx = Receiver::default();
        let mut starts = Vec::new();
        for (i, s) in samples.iter().enumerate() {
            rx.push(std::slice::from_ref(s), |e| {
                if let consentline::media::dtmf::Event::Started { at_sample, .. } = e {
                    starts.push((i as u64 + 1, at_sample));
                }
            });
        }
        assert_eq!(starts.len(), 16);
        for (p, (emitted, estimate)) in sig.placed.iter().zip(starts) {
            let latency = emitted - p.start as u64;
            worst = worst.max(latency);
            sum += latency;
            count += 1;
            onset_error.push(estimate as i64 - p.start as i64);
        }
    }
    let mean_err = onset_error.iter().sum::<i64>() as f64 / onset_error.len() as f64;
    let max_err = onset_error.iter().map(|e| e.abs()).max().unwrap();
    println!(
        "latency (μ-law): mean {:.1} ms, worst {:.1} ms from onset to Started; onset estimate error mean {:+.1} ms, max {:.1} ms",
        sum as f64 / count as f64 / 8.0,
        worst as f64 / 8.0,
        mean_err / 8.0,
        max_err as f64 / 8.0
    );
    assert!(worst <= 50 * 8, "worst latency {} samples", worst);
    assert!(
        max_err <= 10 * 8,
        "onset estimates off by up to {max_err} samples"
    );
}

#[test]
fn ntt_profile_limits() {
    let ntt = Config::for_profile(Profile::Ntt);
    assert_all_keys("NTT 1.8 % both", 1600, ntt, |k| {
        tone(k, -10.0, -10.0, 0.018, -0.018)
    });
    assert_no_keys("NTT 3.0 %", 1601, ntt, |k| {
        tone(k, -10.0, -10.0, 0.030, 0.030)
    });
    assert_all_keys("NTT twist 5 dB normal", 1602, ntt, |k| {
        tone(k, -5.0, -10.0, 0.0, 0.0)
    });
    assert_all_keys("NTT twist 5 dB reverse", 1603, ntt, |k| {
        tone(k, -10.0, -5.0, 0.0, 0.0)
    });
    assert_no_keys("NTT twist 8 dB normal", 1604, ntt, |k| {
        tone(k, -3.0, -11.0, 0.0, 0.0)
    });
    assert_all_keys("NTT -24 dBm0", 1605, ntt, |k| DtmfTone::new(k, -24.0));
    assert_no_keys("NTT -29 dBm0", 1606, ntt, |k| DtmfTone::new(k, -29.0));
    // 30 ms pauses between repeats of the same key.
    let mut sig = Signal::new(1607);
    for key in Key::parse_sequence("11115555##").unwrap() {
        sig.tone(DtmfTone::new(key, -10.0), 40 * MS)
            .silence(30 * MS);
    }
    assert_eq!(
        digits(&detect_with(ntt, &ulaw(&sig.samples()))),
        placed_digits(&sig.placed)
    );
}

#[test]
fn etsi_profile_bridges_drop_outs_under_20_ms() {
    let etsi = Config::for_profile(Profile::Etsi);
    for gap_ms in [12, 15, 18] {
        let mut sig = Signal::new(1700 + gap_ms as u64);
        for key in Key::ALL {
            sig.tone_with_gap(DtmfTone::new(key, -10.0), (80 + gap_ms) * MS, gap_ms * MS)
                .silence(60 * MS);
        }
        let got = detect_with(etsi, &ulaw(&sig.samples()));
        assert_eq!(
            digits(&got),
            placed_digits(&sig.placed),
            "ETSI {gap_ms} ms drop-out"
        );
    }
    assert_all_keys("ETSI twist 6 dB", 1710, etsi, |k| {
        tone(k, -4.0, -10.0, 0.0, 0.0)
    });
}

#[test]
fn a_law_round_trip_also_decodes() {
    let mut sig = Signal::new(1800);
    for key in Key::ALL {
        sig.tone(tone(key, -20.0, -24.0, 0.015, -0.015), 40 * MS)
            .silence(40 * MS);
    }
    assert_eq!(
        digits(&detect(&alaw(&sig.samples()))),
        placed_digits(&sig.placed)
    );
}

#[test]
fn output_is_identical_however_the_input_is_chunked() {
    let mut sig = Signal::new(1900);
    for key in Key::ALL {
        sig.tone(tone(key, -12.0, -15.0, 0.01, -0.01), 45 * MS)
            .silence(45 * MS);
    }
    sig.noise(-35.0);
    let samples = ulaw(&sig.samples());
    let mut reference = None;
    for chunk in [1usize, 7, 80, 102, 160, 4096] {
        let mut rx = Receiver::default();
        let mut events = Vec::new();
        for c in samples.chunks(chunk) {
            rx.push(c, |e| events.push(e));
        }
        rx.finish(|e| events.push(e));
        assert_eq!(events.len(), 32);
        match &reference {
            None => reference = Some(events),
            Some(r) => assert_eq!(&events, r, "chunk size {chunk}"),
        }
    }
}
