//! Prompt loading: the shipped catalog, a business's own recordings in every supported WAV
//! shape, and every kind of bad file.

mod support;

use consentline::media::dtmf::{Key, Receiver};
use consentline::media::g711;
use consentline::media::level::sine_amplitude;
use consentline::prompt::{Catalog, CatalogError, LoadOptions, Problem};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")
}

#[test]
fn shipped_catalog_loads_in_both_languages() {
    let catalog =
        Catalog::load(&shipped_dir(), LoadOptions::default()).expect("shipped prompts load");
    let digits: Vec<String> = (0..10).map(|d| format!("digit.{d}")).collect();
    let mut required: Vec<&str> = consentline::call::CONSENT_PROMPT_IDS.to_vec();
    required.push("common.goodbye");
    required.extend(digits.iter().map(String::as_str));
    assert_eq!(
        catalog.missing(&required, &["en", "es"]),
        Vec::<String>::new()
    );
    assert_eq!(catalog.languages(), vec!["en", "es"]);
    for p in catalog.iter() {
        // Levelled to telephony speech level, no clipping in the μ-law sent.
        assert!(
            (-19.5..=-16.5).contains(&p.level_dbm0),
            "{} {}: {} dBm0",
            p.id,
            p.language,
            p.level_dbm0
        );
        assert!(
            p.frames.iter().flatten().all(|&c| c != 0x80 && c != 0x00),
            "{} clips",
            p.id
        );
        assert!(
            p.duration_ms() > 200 && p.duration_ms() < 60_000,
            "{} {}",
            p.id,
            p.duration_ms()
        );
        // Evidence hash is the SHA-256 of exactly the frames.
        let mut h = Sha256::new();
        for f in p.frames.iter() {
            h.update(f);
        }
        assert_eq!(p.sha256, <[u8; 32]>::from(h.finalize()));
        assert_eq!(p.sha256_hex().len(), 64);
    }
    // Prompts must not contain anything the DTMF receiver would hear as a key (they are
    // played while the receiver listens for barge-in on a line with echo).
    for p in catalog.iter() {
        let pcm: Vec<i16> = p
            .frames
            .iter()
            .flatten()
            .map(|&c| g711::ulaw_decode(c))
            .collect();
        assert!(
            support::detect(&pcm).is_empty(),
            "{} {} triggers the DTMF receiver",
            p.id,
            p.language
        );
    }
}

#[test]
fn loading_is_deterministic() {
    let a = Catalog::load(&shipped_dir(), LoadOptions::default()).unwrap();
    let b = Catalog::load(&shipped_dir(), LoadOptions::default()).unwrap();
    for (x, y) in a.iter().zip(b.iter()) {
        assert_eq!(x.sha256, y.sha256, "{}", x.id);
    }
}

/// A temporary prompt directory with a manifest listing `files` as (id, file name).
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new(entries: &[(&str, &str)]) -> Dir {
        let dir = tempfile::tempdir().unwrap();
        let mut manifest = String::new();
        for (id, file) in entries {
            manifest.push_str(&format!(
                "[[prompt]]\nid = \"{id}\"\nlanguage = \"en\"\nfile = \"{file}\"\ntranscript = \"test {id}\"\n\n"
            ));
        }
        std::fs::write(dir.path().join("prompts.toml"), manifest).unwrap();
        Dir { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn load(&self) -> Result<Catalog, CatalogError> {
        Catalog::load(self.dir.path(), LoadOptions { max_seconds: 10.0 })
    }
}

/// A DTMF "5" at -10 dBm0 (both tones) for `seconds`, at `rate`, in every channel.
fn key_signal(rate: u32, seconds: f32) -> Vec<f32> {
    let (lo, hi) = Key::D5.frequencies();
    let a = sine_amplitude(-10.0) / 32768.0;
    (0..(rate as f32 * seconds) as usize)
        .map(|i| {
            let t = i as f32 / rate as f32;
            a * ((std::f32::consts::TAU * lo * t).sin() + (std::f32::consts::TAU * hi * t).sin())
        })
        .collect()
}

fn write_wav(path: &Path, spec: hound::WavSpec, mono: &[f32]) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in mono {
        for _ in 0..spec.channels {
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(s).unwrap(),
                (_, 8) => w.write_sample((s * 127.0) as i8).unwrap(),
                (_, 16) => w.write_sample((s * 32767.0) as i16).unwrap(),
                (_, bits) => w
                    .write_sample((s * ((1i64 << (bits - 1)) - 1) as f32) as i32)
                    .unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

#[test]
fn own_recordings_in_any_rate_width_and_layout_load_and_keep_their_content() {
    let shapes = [
        (8000, 1, 16, hound::SampleFormat::Int),
        (11025, 2, 8, hound::SampleFormat::Int),
        (16000, 1, 24, hound::SampleFormat::Int),
        (22050, 2, 32, hound::SampleFormat::Int),
        (44100, 2, 16, hound::SampleFormat::Int),
        (48000, 1, 32, hound::SampleFormat::Float),
        (96000, 2, 24, hound::SampleFormat::Int),
    ];
    let names: Vec<(String, String)> = shapes
        .iter()
        .map(|(rate, ch, bits, fmt)| {
            (
                format!("p{rate}"),
                format!("{fmt:?}-{bits}bit-{rate}Hz-{ch}ch.wav"),
            )
        })
        .collect();
    let entries: Vec<(&str, &str)> = names
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = Dir::new(&entries);
    for ((rate, channels, bits, format), (_, file)) in shapes.iter().zip(&names) {
        let spec = hound::WavSpec {
            channels: *channels,
            sample_rate: *rate,
            bits_per_sample: *bits,
            sample_format: *format,
        };
        write_wav(&dir.path(file), spec, &key_signal(*rate, 1.0));
    }
    let catalog = dir.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(catalog.len(), shapes.len());
    for p in catalog.iter() {
        assert_eq!(p.duration_ms(), 1000, "{}: duration kept", p.id);
        assert!(
            (p.level_dbm0 + 18.0).abs() < 0.5,
            "{}: levelled to {}",
            p.id,
            p.level_dbm0
        );
        // The key survives resampling, levelling and μ-law: the content is intact.
        let pcm: Vec<i16> = p
            .frames
            .iter()
            .flatten()
            .map(|&c| g711::ulaw_decode(c))
            .collect();
        let hits = support::detect(&pcm);
        assert_eq!(
            support::digits(&hits),
            "5",
            "{} ({})",
            p.id,
            p.source_format
        );
        let mut rx = Receiver::default();
        rx.push(&pcm, |_| {});
    }
}

#[test]
fn loud_recordings_are_levelled_without_clipping() {
    // Speech-like peaks: mostly quiet with a few full-scale spikes. Reaching -18 dBm0 would
    // clip the spikes, so the gain stops at the peak limit.
    let dir = Dir::new(&[("peaky", "peaky.wav")]);
    let mut signal = vec![0.0f32; 16000];
    for (i, s) in signal.iter_mut().enumerate() {
        // A quiet 500 Hz tone with a 2.5 ms full-scale burst each second.
        let loud = if i % 8000 < 20 { 0.99 } else { 0.03 };
        *s = loud * (std::f32::consts::TAU * 500.0 * i as f32 / 8000.0).sin();
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    write_wav(&dir.path("peaky.wav"), spec, &signal);
    let catalog = dir.load().unwrap();
    let p = catalog.get("peaky", "en").unwrap();
    let peak_after_gain = 0.99 * 10f32.powf(p.gain_db / 20.0);
    assert!(
        peak_after_gain <= 0.98,
        "peak {peak_after_gain} of full scale"
    );
    assert!(
        p.level_dbm0 < -18.5,
        "level {} should stop short of the target",
        p.level_dbm0
    );
}

fn problems(result: Result<Catalog, CatalogError>) -> Vec<(String, Problem)> {
    match result {
        Err(CatalogError::Prompts(list)) => list
            .into_iter()
            .map(|(path, _, p)| (path.file_name().unwrap().to_string_lossy().into_owned(), p))
            .collect(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("bad prompts loaded"),
    }
}

#[test]
fn bad_files_are_named_with_their_problem() {
    let dir = Dir::new(&[
        ("missing", "missing.wav"),
        ("corrupt", "corrupt.wav"),
        ("empty", "empty.wav"),
        ("silent", "silent.wav"),
        ("long", "long.wav"),
        ("low", "low.wav"),
        ("good", "good.wav"),
    ]);
    let spec = |rate| hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    std::fs::write(
        dir.path("corrupt.wav"),
        b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk",
    )
    .unwrap();
    write_wav(&dir.path("empty.wav"), spec(8000), &[]);
    write_wav(&dir.path("silent.wav"), spec(8000), &vec![0.0; 8000]);
    write_wav(&dir.path("long.wav"), spec(8000), &key_signal(8000, 11.0));
    write_wav(&dir.path("low.wav"), spec(4000), &key_signal(4000, 1.0));
    write_wav(&dir.path("good.wav"), spec(8000), &key_signal(8000, 1.0));
    let found = problems(dir.load());
    let kinds: Vec<(&str, String)> = found
        .iter()
        .map(|(f, p)| {
            let kind = match p {
                Problem::Missing => "missing",
                Problem::Unreadable(consentline::audio::AudioError::Empty) => "empty",
                Problem::Unreadable(_) => "corrupt",
                Problem::Silent => "silent",
                Problem::TooLong { .. } => "long",
                Problem::TooLowRate { .. } => "low",
                Problem::Duplicate => "duplicate",
            };
            (kind, f.clone())
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("missing", "missing.wav".to_string()),
            ("corrupt", "corrupt.wav".to_string()),
            ("empty", "empty.wav".to_string()),
            ("silent", "silent.wav".to_string()),
            ("long", "long.wav".to_string()),
            ("low", "low.wav".to_string()),
        ]
    );
    // The message names each file and says what is wrong, one line each.
    let message = dir.load().unwrap_err().to_string();
    assert_eq!(message.lines().count(), 6, "{message}");
    for (word, file) in [
        ("not found", "missing.wav"),
        ("not a valid WAV", "corrupt.wav"),
        ("empty", "empty.wav"),
        ("silent", "silent.wav"),
        ("too long", "long.wav"),
        ("below the telephone rate", "low.wav"),
    ] {
        assert!(
            message
                .lines()
                .any(|l| l.contains(file) && l.contains(word)),
            "{word} / {file} in:\n{message}"
        );
    }
}

#[test]
fn manifest_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let err = Catalog::load(dir.path(), LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("prompts.toml"), "{err}");
    std::fs::write(dir.path().join("prompts.toml"), "[[prompt]]\nid = \"x\"\n").unwrap();
    let err = Catalog::load(dir.path(), LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
    std::fs::write(dir.path().join("prompts.toml"), "# nothing\n").unwrap();
    let err = Catalog::load(dir.path(), LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no [[prompt]]"), "{err}");

    let dup = Dir::new(&[("a", "a.wav"), ("a", "a.wav")]);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    write_wav(&dup.path("a.wav"), spec, &key_signal(8000, 0.5));
    assert!(matches!(
        problems(dup.load()).as_slice(),
        [(_, Problem::Duplicate)]
    ));
}
