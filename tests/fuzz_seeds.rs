//! The fuzz targets on stable Rust: every seed of every corpus in `fuzz/corpus/`, then
//! proptest-generated inputs, through the same entry points `cargo fuzz` runs
//! (`consentline::fuzz`). The entry points assert their own invariants; these tests add what
//! each named seed must do, so a seed that stops reaching its state fails here.
//!
//! The generated seeds are written by this file: `CONSENTLINE_WRITE_SEEDS=1 cargo test
//! --release --test fuzz_seeds` rewrites them; otherwise the committed files must match.

use consentline::call::{KeySource, Timer};
use consentline::fuzz::{
    self, dtmf_input, flow_input, DtmfSetup, FlowOp, FlowReport, FlowSetup, SampleEncoding,
    DTMF_HEADER, FLOW_DELAYS, FLOW_HEADER,
};
use consentline::media::dtmf::{Key, Profile};
use consentline::media::tone::{add_sine, to_i16, DtmfTone};
use consentline::protocol::twilio::sim;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

const TARGETS: [&str; 4] = ["twilio_message", "dtmf_receiver", "wav_loader", "call_flow"];

/// What a seed must do.
enum Expect {
    /// `twilio_message` returns this label.
    Label(&'static str),
    /// `dtmf_receiver` hears exactly these keys.
    Keys(&'static str),
    /// `wav_loader` accepts it as this many frames.
    Frames(usize),
    /// `wav_loader` refuses it with a message containing this.
    Refused(&'static str),
    /// `call_flow`'s report satisfies this.
    Flow(fn(&FlowReport) -> bool),
}

struct Seed {
    target: &'static str,
    name: String,
    bytes: Vec<u8>,
    expect: Expect,
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Run one input through a target by name; the label describes the result.
fn run(target: &str, data: &[u8]) -> String {
    match target {
        "twilio_message" => fuzz::twilio_message(data).to_string(),
        "dtmf_receiver" => fuzz::dtmf_receiver(data),
        "wav_loader" => format!("{:?}", fuzz::wav_loader(data)),
        "call_flow" => format!("{:?}", fuzz::call_flow(data)),
        other => panic!("no target {other}"),
    }
}

fn check(seed: &Seed) {
    let name = format!("{}/{}", seed.target, seed.name);
    match &seed.expect {
        Expect::Label(label) => assert_eq!(fuzz::twilio_message(&seed.bytes), *label, "{name}"),
        Expect::Keys(keys) => assert_eq!(fuzz::dtmf_receiver(&seed.bytes), *keys, "{name}"),
        Expect::Frames(n) => assert_eq!(fuzz::wav_loader(&seed.bytes), Ok(*n), "{name}"),
        Expect::Refused(why) => match fuzz::wav_loader(&seed.bytes) {
            Err(text) => assert!(text.contains(why), "{name}: {text}"),
            Ok(n) => panic!("{name}: accepted as {n} frames"),
        },
        Expect::Flow(ok) => {
            let report = fuzz::call_flow(&seed.bytes);
            assert!(ok(&report), "{name}: {report:?}");
        }
    }
}

#[test]
fn generated_seeds_are_committed_and_do_what_they_are_for() {
    let write = std::env::var_os("CONSENTLINE_WRITE_SEEDS").is_some();
    let seeds = seeds();
    for target in TARGETS {
        let count = seeds.iter().filter(|s| s.target == target).count();
        assert!(count >= 10, "only {count} seeds for {target}");
    }
    for seed in &seeds {
        let path = corpus_dir(seed.target).join(&seed.name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &seed.bytes).unwrap();
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (regenerate with CONSENTLINE_WRITE_SEEDS=1)",
                    path.display()
                )
            });
            assert!(
                committed == seed.bytes,
                "{} differs from its generator (regenerate with CONSENTLINE_WRITE_SEEDS=1)",
                path.display()
            );
        }
        check(seed);
    }
}

/// Every file in every corpus (generated seeds, and inputs the fuzzer found) runs clean.
#[test]
fn every_corpus_file_runs_clean() {
    let mut total = 0u64;
    for target in TARGETS {
        let dir = corpus_dir(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(
            files.len() >= 10,
            "{}: {} seeds",
            dir.display(),
            files.len()
        );
        for file in files {
            let data = std::fs::read(&file).unwrap();
            total += data.len() as u64;
            let result = std::panic::catch_unwind(|| run(target, &data));
            if let Err(panic) = result {
                eprintln!("failing seed: {}", file.display());
                std::panic::resume_unwind(panic);
            }
        }
    }
    assert!(
        total < 1 << 20,
        "the corpora hold {total} bytes: keep them small"
    );
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

fn seeds() -> Vec<Seed> {
    let mut all = Vec::new();
    all.extend(twilio_seeds());
    all.extend(dtmf_seeds());
    all.extend(wav_seeds());
    all.extend(flow_seeds());
    all
}

const SID: &str = "MZ18ad3ab5a668481ce02b83e7395059f0";
const CALL: &str = "CA9d2f7c1e4b8a6d3f0e5c2b9a8d7e6f5c";
const ACCOUNT: &str = "AC3f1e0c6a9b2d4e8f7a6b5c4d3e2f1a0b";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/twilio")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn twilio_seeds() -> Vec<Seed> {
    let tone: Vec<u8> = (0..160)
        .map(|i| {
            let s = (f32::sin(i as f32 * 0.3456) * 8000.0) as i16;
            consentline::media::g711::ulaw_encode(s)
        })
        .collect();
    let media = sim::media(SID, 4, 2, 20, &tone);
    let start = fixture("start.json");
    let list: Vec<(&str, String, &'static str)> = vec![
        ("connected.json", fixture("connected.json"), "connected"),
        ("connected-sim.json", sim::connected(), "connected"),
        (
            "connected-other-version.json",
            r#"{"event":"connected","protocol":"Call","version":"2.0.0"}"#.into(),
            "connected",
        ),
        ("start.json", start.clone(), "start"),
        (
            "start-sim-params.json",
            sim::start(SID, CALL, ACCOUNT, &[("line", "+18885550100"), ("q\"uo\\te", "é\n")]),
            "start",
        ),
        (
            "start-no-params.json",
            start.replace(
                r#","customParameters": { "FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob" }"#,
                "",
            ),
            "start",
        ),
        (
            "start-pcm.json",
            start.replace("audio/x-mulaw", "audio/l16"),
            "invalid",
        ),
        (
            "start-16k.json",
            start.replace("8000", "16000"),
            "invalid",
        ),
        (
            "start-sid-mismatch.json",
            start.replacen("MZ18", "MZ19", 1),
            "invalid",
        ),
        (
            "start-tracks-string.json",
            start.replace(r#"[ "inbound" ]"#, r#""inbound""#),
            "invalid",
        ),
        ("media.json", fixture("media.json"), "media"),
        ("media-sim.json", media.clone(), "media"),
        (
            "media-doc-example.json",
            fixture("media-doc-example.json"),
            "media",
        ),
        (
            "media-outbound-track.json",
            media.replace(r#""inbound""#, r#""outbound""#),
            "media",
        ),
        (
            "media-escaped-payload.json",
            media.replacen('/', "\\/", 1),
            "invalid",
        ),
        (
            "media-number-seq.json",
            media.replace(r#""sequenceNumber":"4""#, r#""sequenceNumber":4"#),
            "invalid",
        ),
        (
            "media-large.json",
            sim::media(SID, 9, 3, 40, &[0x7f; 400]),
            "media",
        ),
        ("media-empty.json", sim::media(SID, 5, 3, 40, &[]), "media"),
        (
            "media-bad-base64.json",
            media.replace("\"},", "=\"},"),
            "media",
        ),
        (
            "media-huge-seq.json",
            media.replace(r#""4""#, r#""18446744073709551616""#),
            "invalid",
        ),
        ("dtmf.json", fixture("dtmf.json"), "dtmf"),
        ("dtmf-hash.json", sim::dtmf(SID, 7, '#'), "dtmf"),
        (
            "dtmf-two-digits.json",
            sim::dtmf(SID, 7, '1').replace(r#""1""#, r#""12""#),
            "invalid",
        ),
        (
            "dtmf-lowercase.json",
            sim::dtmf(SID, 7, 'A').replace(r#""A""#, r#""a""#),
            "invalid",
        ),
        ("mark.json", fixture("mark.json"), "mark"),
        ("mark-escaped.json", sim::mark(SID, 8, "3\"\\\u{1}é"), "mark"),
        ("mark-empty-name.json", sim::mark(SID, 8, ""), "mark"),
        ("stop.json", fixture("stop.json"), "stop"),
        (
            "stop-no-call.json",
            sim::stop(SID, 9, CALL, ACCOUNT).replace(&format!(r#","callSid":"{CALL}""#), ""),
            "invalid",
        ),
        (
            "unknown-event.json",
            r#"{"event":"media-ish","streamSid":"MZ1"}"#.into(),
            "invalid",
        ),
        (
            "duplicate-key.json",
            r#"{"event":"mark","event":"stop"}"#.into(),
            "invalid",
        ),
        ("not-json.txt", "hello twilio".into(), "invalid"),
        ("array.json", r#"["media","4","MZ1"]"#.into(), "invalid"),
        ("deep.json", format!("{}{}", "[".repeat(200), "]".repeat(200)), "invalid"),
        ("truncated.json", fixture("media.json")[..120].into(), "invalid"),
        ("outbound-media.json", fixture("outbound-media.json"), "outbound-media"),
        ("outbound-mark.json", fixture("outbound-mark.json"), "outbound-mark"),
        ("outbound-clear.json", fixture("outbound-clear.json"), "outbound-clear"),
        (
            "outbound-extra-field.json",
            r#"{"event":"clear","streamSid":"MZ1","extra":true}"#.into(),
            "invalid",
        ),
    ];
    list.into_iter()
        .map(|(name, text, label)| Seed {
            target: "twilio_message",
            name: name.into(),
            bytes: text.into_bytes(),
            expect: Expect::Label(label),
        })
        .collect()
}

fn keys_audio(keys: &str, dbm0: f32, on_ms: usize, off_ms: usize) -> Vec<i16> {
    let on = on_ms * 8;
    let off = off_ms * 8;
    let mut buf = vec![0f32; off + keys.len() * (on + off)];
    for (i, c) in keys.chars().enumerate() {
        let key = Key::from_char(c).unwrap();
        DtmfTone::new(key, dbm0).add_to(&mut buf, off + i * (on + off), on, (0.4, 1.3));
    }
    // A little deterministic hiss, so no seed is mathematically clean.
    let mut state = 0x1234_5678u32;
    for s in &mut buf {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *s += ((state >> 16) as f32 / 65536.0 - 0.5) * 40.0;
    }
    to_i16(&buf)
}

fn dtmf_seeds() -> Vec<Seed> {
    let setup = |encoding, profile, chunk_seed| DtmfSetup {
        encoding,
        profile,
        chunk_seed,
        hits: 0,
        misses: 0,
    };
    let ulaw = setup(SampleEncoding::Ulaw, Some(Profile::Att), 7);
    let alaw = setup(SampleEncoding::Alaw, Some(Profile::Att), 99);
    let pcm = setup(SampleEncoding::Pcm16, Some(Profile::Att), 200);
    let mut harmonic = vec![0f32; 1200];
    add_sine(&mut harmonic, 200, 800, 700.0, 8000.0, 0.0);
    add_sine(&mut harmonic, 200, 800, 1400.0, 8000.0, 0.0);
    let mut twisted = vec![0f32; 1200];
    DtmfTone {
        high_dbm0: -2.0,
        low_dbm0: -14.0,
        ..DtmfTone::new(Key::D5, -10.0)
    }
    .add_to(&mut twisted, 200, 600, (0.0, 0.0));
    let mut off_frequency = vec![0f32; 1200];
    DtmfTone {
        low_deviation: 0.04,
        ..DtmfTone::new(Key::D8, -10.0)
    }
    .add_to(&mut off_frequency, 200, 600, (0.0, 0.0));
    let mut noise = Vec::with_capacity(1600);
    let mut state = 99u32;
    for _ in 0..1600 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        noise.push(state as i16);
    }
    let list: Vec<(&str, Vec<u8>, &'static str)> = vec![
        (
            "ulaw-1.bin",
            dtmf_input(ulaw, &keys_audio("1", -10.0, 60, 40)),
            "1",
        ),
        (
            "ulaw-159hash.bin",
            dtmf_input(ulaw, &keys_audio("159#", -6.0, 50, 45)),
            "159#",
        ),
        (
            "ulaw-2-at-25dbm0.bin",
            dtmf_input(ulaw, &keys_audio("2", -25.0, 80, 30)),
            "2",
        ),
        (
            "alaw-0starD.bin",
            dtmf_input(alaw, &keys_audio("0*D", -8.0, 45, 45)),
            "0*D",
        ),
        (
            "pcm-4.bin",
            dtmf_input(pcm, &keys_audio("4", -12.0, 70, 40)),
            "4",
        ),
        (
            "pcm-too-short.bin",
            dtmf_input(pcm, &keys_audio("6", -10.0, 20, 60)),
            "",
        ),
        (
            "pcm-below-floor.bin",
            dtmf_input(pcm, &keys_audio("7", -45.0, 80, 30)),
            "",
        ),
        ("pcm-harmonics.bin", dtmf_input(pcm, &to_i16(&harmonic)), ""),
        ("pcm-twist.bin", dtmf_input(pcm, &to_i16(&twisted)), ""),
        (
            "pcm-off-frequency.bin",
            dtmf_input(pcm, &to_i16(&off_frequency)),
            "",
        ),
        ("pcm-noise.bin", dtmf_input(pcm, &noise), ""),
        (
            "pcm-odd-length.bin",
            [&pcm.to_bytes()[..], &[1, 2, 3]].concat(),
            "",
        ),
        ("ulaw-silence.bin", dtmf_input(ulaw, &[0; 320]), ""),
        ("header-only.bin", ulaw.to_bytes().to_vec(), ""),
        ("empty.bin", Vec::new(), ""),
        (
            "ntt-3.bin",
            dtmf_input(
                setup(SampleEncoding::Ulaw, Some(Profile::Ntt), 3),
                &keys_audio("3", -10.0, 60, 40),
            ),
            "3",
        ),
        (
            "etsi-9.bin",
            dtmf_input(
                setup(SampleEncoding::Ulaw, Some(Profile::Etsi), 5),
                &keys_audio("9", -10.0, 60, 40),
            ),
            "9",
        ),
        (
            "custom-fast-88.bin",
            dtmf_input(
                DtmfSetup {
                    hits: 1,
                    misses: 1,
                    ..setup(SampleEncoding::Ulaw, None, 11)
                },
                &keys_audio("88", -10.0, 40, 40),
            ),
            "88",
        ),
    ];
    list.into_iter()
        .map(|(name, bytes, keys)| Seed {
            target: "dtmf_receiver",
            name: name.into(),
            bytes,
            expect: Expect::Keys(keys),
        })
        .collect()
}

/// A RIFF/WAVE file: `fmt ` body then the data chunk (with `data_size` written as given).
fn wav(fmt: &[u8], data: &[u8], data_size: u32) -> Vec<u8> {
    let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
    out.extend(b"fmt ");
    out.extend((fmt.len() as u32).to_le_bytes());
    out.extend(fmt);
    out.extend(b"data");
    out.extend(data_size.to_le_bytes());
    out.extend(data);
    let riff = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    out
}

/// A `fmt ` body (16 bytes, or the extensible 40 with `sub_tag` opening the GUID).
fn fmt(tag: u16, channels: u16, rate: u32, bits: u16, extensible: Option<(u16, u16)>) -> Vec<u8> {
    let block = channels * bits.div_ceil(8);
    let mut f = Vec::new();
    f.extend(tag.to_le_bytes());
    f.extend(channels.to_le_bytes());
    f.extend(rate.to_le_bytes());
    f.extend((rate * u32::from(block)).to_le_bytes());
    f.extend(block.to_le_bytes());
    f.extend(bits.to_le_bytes());
    if let Some((valid_bits, sub_tag)) = extensible {
        f.extend(22u16.to_le_bytes());
        f.extend(valid_bits.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(sub_tag.to_le_bytes());
        f.extend([
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    f
}

fn sine(rate: u32, ms: u32, hz: f32) -> Vec<f32> {
    (0..rate * ms / 1000)
        .map(|i| (i as f32 * std::f32::consts::TAU * hz / rate as f32).sin() * 0.3)
        .collect()
}

fn pcm16(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|s| ((s * 32767.0) as i16).to_le_bytes())
        .collect()
}

fn wav_seeds() -> Vec<Seed> {
    let tone8k = pcm16(&sine(8000, 100, 440.0));
    let tone16k = pcm16(&sine(16_000, 50, 440.0));
    let stereo: Vec<u8> = sine(8000, 60, 440.0)
        .iter()
        .flat_map(|s| {
            let l = ((s * 32767.0) as i16).to_le_bytes();
            let r = ((s * -16000.0) as i16).to_le_bytes();
            [l[0], l[1], r[0], r[1]]
        })
        .collect();
    let ulaw: Vec<u8> = sine(8000, 200, 1000.0)
        .iter()
        .map(|s| consentline::media::g711::ulaw_encode((s * 32767.0) as i16))
        .collect();
    let alaw: Vec<u8> = sine(8000, 30, 1000.0)
        .iter()
        .map(|s| consentline::media::g711::alaw_encode((s * 32767.0) as i16))
        .collect();
    let pcm8: Vec<u8> = sine(8000, 40, 300.0)
        .iter()
        .map(|s| (s * 127.0 + 128.0) as u8)
        .collect();
    let pcm24: Vec<u8> = sine(8000, 40, 300.0)
        .iter()
        .flat_map(|s| {
            let v = (s * 8_388_607.0) as i32;
            [v as u8, (v >> 8) as u8, (v >> 16) as u8]
        })
        .collect();
    let float: Vec<u8> = sine(8000, 40, 300.0)
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let loud_float: Vec<u8> = sine(8000, 40, 300.0)
        .iter()
        .flat_map(|s| (s * 1e3).to_le_bytes())
        .collect();
    let huge_float: Vec<u8> = sine(8000, 40, 300.0)
        .iter()
        .flat_map(|s| (s * 1e30).to_le_bytes())
        .collect();
    let max_float: Vec<u8> = sine(8000, 40, 300.0)
        .iter()
        .flat_map(|s| (s / 0.3 * f32::MAX).to_le_bytes())
        .collect();
    let mut tail = [0i16; 400];
    for (i, v) in [
        (105, -256),
        (109, 253),
        (161, -28928),
        (211, 11520),
        (389, 399),
    ] {
        tail[i] = v;
    }
    let tail: Vec<u8> = tail.iter().flat_map(|s| s.to_le_bytes()).collect();
    let n = |d: &[u8]| d.len() as u32;
    let valid = wav(&fmt(1, 1, 8000, 16, None), &tone8k, n(&tone8k));
    let list: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("pcm16-8k-mono.wav", valid.clone(), Expect::Frames(5)),
        (
            "pcm16-16k-mono.wav",
            wav(&fmt(1, 1, 16_000, 16, None), &tone16k, n(&tone16k)),
            Expect::Frames(3),
        ),
        (
            "pcm16-8k-stereo.wav",
            wav(&fmt(1, 2, 8000, 16, None), &stereo, n(&stereo)),
            Expect::Frames(3),
        ),
        (
            "pcm8-8k.wav",
            wav(&fmt(1, 1, 8000, 8, None), &pcm8, n(&pcm8)),
            Expect::Frames(2),
        ),
        (
            "pcm24-8k.wav",
            wav(&fmt(1, 1, 8000, 24, None), &pcm24, n(&pcm24)),
            Expect::Frames(2),
        ),
        (
            "float32-8k.wav",
            wav(&fmt(3, 1, 8000, 32, None), &float, n(&float)),
            Expect::Frames(2),
        ),
        (
            "float32-loud.wav",
            wav(&fmt(3, 1, 8000, 32, None), &loud_float, n(&loud_float)),
            Expect::Frames(2),
        ),
        (
            "ulaw-8k.wav",
            wav(&fmt(7, 1, 8000, 8, None), &ulaw, n(&ulaw)),
            Expect::Frames(10),
        ),
        (
            "alaw-8k.wav",
            wav(&fmt(6, 1, 8000, 8, None), &alaw, n(&alaw)),
            Expect::Frames(2),
        ),
        (
            "ulaw-extensible.wav",
            wav(&fmt(0xFFFE, 1, 8000, 8, Some((8, 7))), &alaw, n(&alaw)),
            Expect::Frames(2),
        ),
        (
            "pcm-extensible.wav",
            wav(
                &fmt(0xFFFE, 1, 8000, 16, Some((16, 1))),
                &tone8k,
                n(&tone8k),
            ),
            Expect::Frames(5),
        ),
        (
            "ulaw-16-bit.wav",
            wav(&fmt(7, 1, 8000, 16, None), &ulaw, n(&ulaw)),
            Expect::Refused("G.711 with 16 bits"),
        ),
        (
            "pcm16-4k.wav",
            wav(&fmt(1, 1, 4000, 16, None), &tone8k, n(&tone8k)),
            Expect::Refused("below the telephone rate"),
        ),
        (
            "silent.wav",
            wav(&fmt(1, 1, 8000, 16, None), &[0; 800], 800),
            Expect::Refused("silent"),
        ),
        (
            "empty-data.wav",
            wav(&fmt(7, 1, 8000, 8, None), &[], 0),
            Expect::Refused("empty"),
        ),
        (
            "zero-channels.wav",
            wav(&fmt(7, 0, 8000, 8, None), &ulaw, n(&ulaw)),
            Expect::Refused("zero channels"),
        ),
        (
            "truncated-header.wav",
            valid[..30].to_vec(),
            Expect::Refused("not a valid WAV"),
        ),
        (
            "bogus-data-size.wav",
            wav(&fmt(1, 1, 8000, 16, None), &tone8k, u32::MAX),
            Expect::Refused("not a valid WAV"),
        ),
        (
            "bogus-fmt-size.wav",
            {
                let mut w = valid.clone();
                w[16..20].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
                w
            },
            Expect::Refused("not a valid WAV"),
        ),
        (
            "ulaw-data-size-too-big.wav",
            wav(&fmt(7, 1, 8000, 8, None), &ulaw, u32::MAX),
            Expect::Frames(10),
        ),
        // Found while fuzzing: float samples far beyond full scale overflowed the levelling
        // (or, in stereo, the downmix) and the prompt was accepted as silence.
        (
            "float32-huge-values.wav",
            wav(&fmt(3, 1, 8000, 32, None), &huge_float, n(&huge_float)),
            Expect::Refused("beyond ±1000"),
        ),
        (
            "float32-stereo-near-max.wav",
            wav(&fmt(3, 2, 8000, 32, None), &max_float, n(&max_float)),
            Expect::Refused("beyond ±1000"),
        ),
        // Found while fuzzing: a short loud last frame was measured unpadded, so the prompt
        // was levelled 2.6 dB above the target.
        (
            "pcm16-partial-last-frame.wav",
            wav(&fmt(1, 1, 8000, 16, None), &tail, n(&tail)),
            Expect::Frames(3),
        ),
        // Found while fuzzing: 65 valid bits overflowed a shift (a panic in debug builds).
        (
            "pcm-extensible-65-bits.wav",
            wav(
                &fmt(0xFFFE, 1, 8000, 16, Some((65, 1))),
                &tone8k,
                n(&tone8k),
            ),
            Expect::Refused("65 bits"),
        ),
        (
            "not-riff.wav",
            b"ID3\x03hello".to_vec(),
            Expect::Refused("not a valid WAV"),
        ),
        ("empty.wav", Vec::new(), Expect::Refused("not a valid WAV")),
    ];
    list.into_iter()
        .map(|(name, bytes, expect)| Seed {
            target: "wav_loader",
            name: name.into(),
            bytes,
            expect,
        })
        .collect()
}

/// Delay indexes into `FLOW_DELAYS`.
const NOW: u8 = 0;
const MS500: u8 = 7;
const S1: u8 = 8;
const S2: u8 = 9;

fn key(c: char) -> Key {
    Key::from_char(c).unwrap()
}

/// A named call: its setup, its steps (delay index, step), and what its report must show.
type FlowSeed = (
    &'static str,
    FlowSetup,
    Vec<(u8, FlowOp)>,
    fn(&FlowReport) -> bool,
);

fn flow_seeds() -> Vec<Seed> {
    use FlowOp::*;
    let consent = FlowSetup {
        retries: 2,
        ..FlowSetup::default()
    };
    let privacy = FlowSetup {
        privacy: true,
        retries: 2,
        ..FlowSetup::default()
    };
    let inband = |c| Key(key(c), KeySource::Inband);
    let event = |c| Key(key(c), KeySource::Event);
    let recorded: fn(&FlowReport) -> bool = |r| r.outcome == Some((true, true)) && r.closed;
    let not_recorded: fn(&FlowReport) -> bool = |r| r.outcome == Some((true, false)) && r.closed;
    let mut number: Vec<(u8, FlowOp)> = "4155550123#".chars().map(|c| (MS500, inband(c))).collect();
    number.insert(0, (NOW, PlayAll));
    let list: Vec<FlowSeed> = vec![
        (
            "consent-record.bin",
            consent,
            vec![
                (NOW, Start),
                (NOW, PlayOut),
                (S1, inband('1')),
                (NOW, DecisionLogged { durable: true }),
                (NOW, PlayAll),
            ],
            recorded,
        ),
        (
            "consent-decline-event.bin",
            consent,
            vec![
                (NOW, Start),
                (NOW, PlayOut),
                (S2, event('2')),
                (NOW, DecisionLogged { durable: true }),
                (NOW, PlayAll),
            ],
            not_recorded,
        ),
        (
            "consent-barge-in-both-sources.bin",
            consent,
            vec![
                (NOW, Start),
                (S2, KeyBoth(key('1'), false)),
                (NOW, PlayAll),
                (NOW, DecisionLogged { durable: true }),
                (NOW, PlayAll),
            ],
            recorded,
        ),
        (
            "consent-no-input.bin",
            consent,
            vec![
                (NOW, Start),
                (NOW, PlayAll),
                (NOW, Due),
                (NOW, PlayAll),
                (NOW, Due),
                (NOW, PlayAll),
                (NOW, Due),
                (NOW, DecisionLogged { durable: true }),
                (NOW, PlayAll),
            ],
            not_recorded,
        ),
        (
            "consent-invalid-then-consent.bin",
            consent,
            vec![
                (NOW, Start),
                (NOW, PlayOut),
                (S1, inband('7')),
                (NOW, PlayAll),
                (S1, event('1')),
                (NOW, DecisionLogged { durable: true }),
                (NOW, PlayAll),
            ],
            recorded,
        ),
        (
            "consent-store-fails.bin",
            consent,
            vec![
                (NOW, Start),
                (NOW, PlayOut),
                (S1, inband('1')),
                (NOW, DecisionLogged { durable: false }),
                (NOW, PlayAll),
            ],
            not_recorded,
        ),
        (
            "consent-store-silent.bin",
            consent,
            vec![
                (NOW, Start),
                (NOW, PlayOut),
                (S1, inband('1')),
                (NOW, Due),
                (NOW, DecisionLogged { durable: true }),
                (NOW, PlayAll),
            ],
            not_recorded,
        ),
        (
            "consent-hangup-while-deciding.bin",
            consent,
            vec![
                (NOW, Start),
                (NOW, PlayOut),
                (S1, inband('1')),
                (NOW, Hangup),
                (NOW, DecisionLogged { durable: true }),
            ],
            |r| r.finished && r.outcome == Some((true, false)) && !r.closed,
        ),
        (
            "consent-not-asked.bin",
            FlowSetup {
                variant: true,
                ..consent
            },
            vec![
                (NOW, Start),
                (NOW, inband('1')),
                (NOW, DecisionLogged { durable: true }),
                (NOW, PlayAll),
            ],
            not_recorded,
        ),
        (
            "consent-playback-stalled.bin",
            consent,
            vec![(NOW, Start), (NOW, Due)],
            not_recorded,
        ),
        (
            "consent-bogus-marks-lax-clock.bin",
            FlowSetup {
                lax_clock: true,
                timing: 1,
                ..consent
            },
            vec![
                (NOW, Start),
                (NOW, BogusMark(0)),
                (NOW, BogusMark(5)),
                (S2, MarkOutstanding(3)),
                (NOW, Stale(Timer::NoInput)),
                (NOW, BogusMark(1)),
                (NOW, inband('1')),
                (S1, Stale(Timer::DecisionGuard)),
                (NOW, DecisionLogged { durable: true }),
                (NOW, PlayAll),
            ],
            |r| r.finished,
        ),
        (
            "privacy-opt-out-caller-id.bin",
            privacy,
            vec![
                (NOW, Start),
                (NOW, PlayAll),
                (S1, inband('3')),
                (NOW, PlayAll),
                (S1, inband('1')),
                (NOW, Filed(0)),
                (NOW, PlayAll),
            ],
            |r| r.filed && r.closed && r.outcome == Some((false, false)),
        ),
        (
            "privacy-know-keyed-agent.bin",
            privacy,
            [
                vec![
                    (NOW, Start),
                    (NOW, PlayAll),
                    (S1, inband('1')),
                    (NOW, PlayAll),
                    (S1, event('2')),
                ],
                number,
                vec![
                    (NOW, PlayAll),
                    (S1, inband('1')),
                    (NOW, PlayAll),
                    (S1, inband('2')),
                    (NOW, Filed(10 | 16)),
                    (NOW, PlayAll),
                ],
            ]
            .concat(),
            |r| r.filed && r.closed,
        ),
        (
            // Found by fuzzing: silence at "press 1 to confirm" dropped the keyed number, and
            // a later 1 filed the request with an empty callback number.
            "privacy-silence-at-confirm-keeps-number.bin",
            FlowSetup {
                caller_id: 1,
                ..privacy
            },
            [
                vec![
                    (NOW, Start),
                    (NOW, PlayAll),
                    (S1, inband('5')),
                    (NOW, PlayAll),
                ],
                "4155550123".chars().map(|c| (MS500, inband(c))).collect(),
                vec![
                    (NOW, Due),
                    (NOW, PlayAll),
                    (NOW, Due),
                    (NOW, PlayAll),
                    (S1, inband('1')),
                    (NOW, Filed(0)),
                    (NOW, PlayAll),
                ],
            ]
            .concat(),
            |r| r.filed && r.closed,
        ),
        (
            "privacy-spanish-then-person.bin",
            FlowSetup {
                variant: true,
                ..privacy
            },
            vec![
                (NOW, Start),
                (S1, inband('9')),
                (NOW, PlayAll),
                (S1, inband('0')),
                (NOW, PlayAll),
            ],
            |r| r.outcome == Some((true, false)) && r.closed && !r.filed,
        ),
        (
            "privacy-hangup-after-choice.bin",
            privacy,
            vec![
                (NOW, Start),
                (NOW, PlayAll),
                (S1, inband('2')),
                (S2, Hangup),
            ],
            |r| r.abandoned && !r.filed,
        ),
        (
            "privacy-no-caller-id-invalid-keys.bin",
            FlowSetup {
                caller_id: 2,
                ..privacy
            },
            vec![
                (NOW, Start),
                (NOW, PlayAll),
                (S1, inband('8')),
                (NOW, PlayAll),
                (S1, inband('#')),
                (NOW, PlayAll),
                (S1, inband('A')),
                (NOW, PlayAll),
            ],
            |r| r.closed && !r.filed && !r.abandoned,
        ),
        (
            "privacy-file-fails.bin",
            privacy,
            vec![
                (NOW, Start),
                (NOW, PlayAll),
                (S1, inband('5')),
                (NOW, PlayAll),
                (S1, inband('1')),
                (NOW, FileFailed),
                (NOW, Filed(3)),
                (NOW, PlayAll),
            ],
            |r| r.filed && r.closed,
        ),
        (
            "privacy-file-timeout-extreme-dates.bin",
            FlowSetup {
                timing: 2,
                voice: 1,
                ..privacy
            },
            vec![
                (NOW, Start),
                (NOW, PlayAll),
                (NOW, inband('4')),
                (NOW, PlayAll),
                (NOW, inband('1')),
                (NOW, PlayAll),
                (NOW, inband('1')),
                (NOW, Filed(15 | 96)),
                (NOW, Due),
                (NOW, PlayAll),
            ],
            |r| r.filed,
        ),
        (
            "privacy-silence.bin",
            FlowSetup {
                voice: 3,
                ..privacy
            },
            vec![(NOW, Start), (15, Wait), (15, Wait)],
            |r| r.closed && r.finished,
        ),
    ];
    list.into_iter()
        .map(|(name, setup, steps, ok)| Seed {
            target: "call_flow",
            name: name.into(),
            bytes: flow_input(setup, &steps),
            expect: Expect::Flow(ok),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Property tests: the same entry points on generated inputs
// ---------------------------------------------------------------------------------------------

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Real messages, some damaged by byte edits.
fn twilio_text() -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = twilio_seeds().into_iter().map(|s| s.bytes).collect();
    let written = (
        "[ -~]{1,12}|\\PC{0,8}",
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec(any::<u8>(), 0..200),
        "\\PC{0,10}",
        prop::sample::select(vec!['0', '9', '*', '#', 'A', 'D']),
        0..6u8,
    )
        .prop_map(|(sid, seq, n, audio, text, digit, kind)| {
            let sid: String = sid.chars().filter(|c| !matches!(c, '"' | '\\')).collect();
            let sid = if sid.is_empty() { "MZ1".into() } else { sid };
            match kind {
                0 => sim::media(&sid, seq, n, seq ^ n, &audio),
                1 => sim::start(&sid, &text, "AC1", &[(&text, &sid)]),
                2 => sim::dtmf(&sid, seq, digit),
                3 => sim::mark(&sid, seq, &text),
                4 => sim::stop(&sid, seq, &text, "AC1"),
                _ => {
                    let mut s = String::new();
                    consentline::protocol::twilio::write_mark(&mut s, &sid, &text);
                    s
                }
            }
            .into_bytes()
        });
    let base = prop_oneof![prop::sample::select(seeds), written];
    (
        base,
        prop::collection::vec((any::<prop::sample::Index>(), 0..4u8, any::<u8>()), 0..4),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, how, byte) in edits {
                let i = at.index(bytes.len() + 1);
                match how {
                    0 => bytes.insert(i, byte),
                    1 if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    2 if i < bytes.len() => bytes[i] = byte,
                    3 => bytes.insert(i, b"\"{}[],:0\\"[usize::from(byte) % 9]),
                    _ => {}
                }
            }
            bytes
        })
}

/// Audio that sometimes holds keys: tones (any key, level, twist, deviation, length), noise
/// and silence.
fn keyish_audio() -> impl Strategy<Value = Vec<i16>> {
    let segment = prop_oneof![
        (
            0usize..16,
            80usize..800,
            -40.0f32..0.0,
            -9.0f32..9.0,
            -0.04f64..0.04
        )
            .prop_map(|(k, len, db, twist, dev)| {
                let mut buf = vec![0f32; len];
                DtmfTone {
                    high_dbm0: db + twist,
                    high_deviation: dev,
                    ..DtmfTone::new(Key::ALL[k], db)
                }
                .add_to(&mut buf, 0, len, (0.3, 1.1));
                to_i16(&buf)
            }),
        prop::collection::vec(any::<i16>(), 1..300),
        (1usize..500).prop_map(|n| vec![0i16; n]),
    ];
    prop::collection::vec(segment, 1..8).prop_map(|v| v.concat())
}

/// WAV files: well-formed ones of every encoding the loader reads (bodies of tones at any
/// scale, or random bytes), and ones with every header field chosen, consistent or not.
fn wav_file() -> impl Strategy<Value = Vec<u8>> {
    let encodings = vec![
        (1u16, 8u16, None),
        (1, 16, None),
        (1, 24, None),
        (1, 32, None),
        (3, 32, None),
        (6, 8, None),
        (7, 8, None),
        (0xFFFE, 16, Some((16, 1))),
        (0xFFFE, 32, Some((32, 3))),
        (0xFFFE, 8, Some((8, 7))),
    ];
    let well_formed = (
        prop::sample::select(encodings),
        1..4u16,
        prop::sample::select(vec![8000u32, 16_000, 11_025, 44_100, 8001, 96_000]),
        prop_oneof![
            (1usize..800, -12i32..39, 50.0f32..3000.0).prop_map(|(n, exp, hz)| {
                // A float tone at 10^exp: finite but far outside [-1, 1] at the top.
                (0..n)
                    .flat_map(|i| ((i as f32 * hz / 8000.0).sin() * 10f32.powi(exp)).to_le_bytes())
                    .collect::<Vec<u8>>()
            }),
            prop::collection::vec(any::<u8>(), 1..1500),
        ],
    )
        .prop_map(|((tag, bits, ext), channels, rate, body)| {
            let f = fmt(tag, channels, rate, bits, ext);
            let block = usize::from(channels * bits / 8);
            let body = &body[..body.len() / block * block];
            wav(&f, body, body.len() as u32)
        });
    let chaotic = (
        prop::sample::select(vec![1u16, 3, 6, 7, 0xFFFE, 2, 0]),
        prop_oneof![Just(1u16), Just(2), 0..5u16],
        prop::sample::select(vec![8000u32, 16_000, 11_025, 44_100, 7999, 8001, 0, 96_000]),
        prop::sample::select(vec![8u16, 16, 24, 32, 0, 12, 64]),
        prop_oneof![
            Just(None),
            (0..70u16, prop::sample::select(vec![1u16, 3, 6, 7, 2])).prop_map(Some)
        ],
        prop_oneof![
            (100u32..1500, 50.0f32..3000.0).prop_map(|(n, hz)| {
                pcm16(
                    &(0..n)
                        .map(|i| (i as f32 * hz / 8000.0).sin() * 0.5)
                        .collect::<Vec<_>>(),
                )
            }),
            prop::collection::vec(any::<u8>(), 0..1500),
        ],
        prop_oneof![Just(None), any::<u32>().prop_map(Some)],
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(
            |(tag, channels, rate, bits, ext, body, size, cut, truncate)| {
                let mut f = fmt(tag, channels, rate.min(1 << 20), bits, ext);
                if rate == 0 {
                    f[4..8].copy_from_slice(&0u32.to_le_bytes());
                }
                let size = size.unwrap_or(body.len() as u32);
                let mut w = wav(&f, &body, size);
                if truncate {
                    w.truncate(cut.index(w.len() + 1));
                }
                w
            },
        );
    prop_oneof![well_formed, chaotic]
}

/// A privacy call that follows the menu tree with random choices, timing and detours: the
/// deep states (a keyed number being confirmed, the agent question, filing) need a dozen
/// well-placed keys that random steps rarely line up.
fn privacy_script() -> impl Strategy<Value = Vec<u8>> {
    // At each question: some silences (the no-input timer) or wrong keys, then an answer.
    let detours =
        prop::collection::vec(prop::sample::select(vec![None, Some('7'), Some('#')]), 0..3);
    let answer = prop::sample::select(vec!['1', '2', '1', '2', '7']);
    let number = prop_oneof!["[0-9]{10}", "[0-9]{0,12}"];
    (
        (any::<[u8; FLOW_HEADER]>(), any::<bool>(), any::<bool>()),
        prop::sample::select(vec!['1', '2', '3', '4', '5', '9', '*', '0', '8']),
        (detours.clone(), answer.clone()),
        (
            number,
            prop::sample::select(vec![Some('#'), None, Some('*')]),
        ),
        (detours.clone(), answer.clone()),
        (detours, answer),
        prop::collection::vec(flow_op(), 0..12),
        any::<u8>(),
    )
        .prop_map(
            |((header, slow, event), menu, callback, (number, end), confirm, who, tail, n)| {
                let mut setup = FlowSetup::from_bytes(header);
                setup.privacy = true;
                if !slow {
                    // Default timing: keys half a second apart never time out.
                    setup.timing = 0;
                }
                let source = if event {
                    KeySource::Event
                } else {
                    KeySource::Inband
                };
                let press = |c: char| (7u8, FlowOp::Key(Key::from_char(c).unwrap(), source));
                let mut steps = vec![(0, FlowOp::Start), (0, FlowOp::PlayAll), press(menu)];
                let ask = |steps: &mut Vec<(u8, FlowOp)>,
                           (detours, answer): (Vec<Option<char>>, char)| {
                    for detour in detours {
                        steps.push((0, FlowOp::PlayAll));
                        steps.push(match detour {
                            None => (0, FlowOp::Due),
                            Some(c) => press(c),
                        });
                    }
                    steps.extend([(0, FlowOp::PlayAll), press(answer)]);
                };
                ask(&mut steps, callback);
                steps.push((0, FlowOp::PlayAll));
                // Digits of a number are one source only: a repeat from the other source
                // within the window is the same press.
                steps.extend(number.chars().map(|c| {
                    (
                        7u8,
                        FlowOp::Key(Key::from_char(c).unwrap(), KeySource::Inband),
                    )
                }));
                steps.push(match end {
                    Some(c) => press(c),
                    None => (0, FlowOp::Due),
                });
                ask(&mut steps, confirm);
                ask(&mut steps, who);
                steps.push((0, FlowOp::Filed(n)));
                steps.extend(tail);
                flow_input(setup, &steps)
            },
        )
}

fn flow_op() -> impl Strategy<Value = (u8, FlowOp)> {
    let key = (0..16usize).prop_map(|k| Key::ALL[k]);
    let common_key = prop::sample::select(vec!['1', '2', '3', '#', '0', '9', '*', '7'])
        .prop_map(|c| Key::from_char(c).unwrap());
    let op = prop_oneof![
        1 => Just(FlowOp::Start),
        4 => (common_key, any::<bool>()).prop_map(|(k, e)| FlowOp::Key(k, if e { KeySource::Event } else { KeySource::Inband })),
        1 => (key.clone(), any::<bool>()).prop_map(|(k, e)| FlowOp::Key(k, if e { KeySource::Event } else { KeySource::Inband })),
        1 => (key, any::<bool>()).prop_map(|(k, f)| FlowOp::KeyBoth(k, f)),
        4 => Just(FlowOp::PlayOut),
        4 => Just(FlowOp::PlayAll),
        1 => any::<u8>().prop_map(FlowOp::MarkOutstanding),
        1 => any::<u8>().prop_map(FlowOp::BogusMark),
        3 => Just(FlowOp::Due),
        1 => (0..3usize).prop_map(|t| FlowOp::Stale(Timer::ALL[t])),
        2 => any::<bool>().prop_map(|durable| FlowOp::DecisionLogged { durable }),
        2 => any::<u8>().prop_map(FlowOp::Filed),
        1 => Just(FlowOp::FileFailed),
        1 => Just(FlowOp::Hangup),
        1 => Just(FlowOp::Wait),
    ];
    (prop_oneof![3 => Just(0u8), 2 => 5..10u8, 1 => 0..16u8], op)
}

// Case counts: about 6 s in all on two cores in release mode (the WAV loader, which
// resamples, is the slowest per case).
proptest! {
    #![proptest_config(config(50_000))]

    #[test]
    fn twilio_messages_hold_their_invariants(bytes in twilio_text()) {
        fuzz::twilio_message(&bytes);
    }

    #[test]
    fn twilio_raw_bytes_hold_their_invariants(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzz::twilio_message(&bytes);
    }

    #[test]
    fn flow_and_dtmf_encodings_round_trip(
        header in any::<[u8; FLOW_HEADER]>(),
        dtmf in any::<[u8; DTMF_HEADER]>(),
        step in flow_op(),
    ) {
        let setup = FlowSetup::from_bytes(header);
        prop_assert_eq!(FlowSetup::from_bytes(setup.to_bytes()), setup);
        let [op, arg] = step.1.to_bytes(step.0);
        prop_assert_eq!(FlowOp::from_bytes(op, arg), (FLOW_DELAYS[usize::from(step.0)], step.1));
        let d = DtmfSetup::from_bytes(dtmf);
        prop_assert_eq!(DtmfSetup::from_bytes(d.to_bytes()), d);
    }
}

proptest! {
    #![proptest_config(config(30_000))]

    #[test]
    fn call_flows_hold_their_invariants(
        header in any::<[u8; FLOW_HEADER]>(),
        steps in prop::collection::vec(flow_op(), 0..60),
    ) {
        fuzz::call_flow(&flow_input(FlowSetup::from_bytes(header), &steps));
    }

    #[test]
    fn privacy_calls_through_the_menu_hold_their_invariants(input in privacy_script()) {
        fuzz::call_flow(&input);
    }
}

proptest! {
    #![proptest_config(config(20_000))]

    #[test]
    fn dtmf_receiver_holds_its_invariants(
        header in any::<[u8; DTMF_HEADER]>(),
        audio in keyish_audio(),
    ) {
        fuzz::dtmf_receiver(&dtmf_input(DtmfSetup::from_bytes(header), &audio));
    }

    #[test]
    fn dtmf_raw_bytes_hold_their_invariants(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
        fuzz::dtmf_receiver(&bytes);
    }
}

proptest! {
    #![proptest_config(config(6000))]

    #[test]
    fn wav_loader_holds_its_invariants(file in wav_file()) {
        let _ = fuzz::wav_loader(&file);
    }
}
