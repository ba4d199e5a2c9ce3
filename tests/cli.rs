//! The command-line tools, run as a user would.

use std::process::Command;

fn consentline() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_consentline"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn digits(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            assert!(v["start_ms"].as_f64().unwrap() < v["end_ms"].as_f64().unwrap());
            v["digit"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn dtmf_reads_a_ulaw_wav_made_by_sox() {
    let out = consentline()
        .args(["dtmf", &fixture("dtmf-4155550123#-ulaw-8000Hz-mono.wav")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(digits(&out.stdout), "4155550123#");
    // Exact format of the first line: times in ms, one decimal.
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(
        v.as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
        ["digit", "end_ms", "start_ms"]
    );
    let start = v["start_ms"].as_f64().unwrap();
    assert!(
        (75.0..=90.0).contains(&start),
        "first key starts at 80 ms, reported {start}"
    );
}

#[test]
fn dtmf_reads_a_44k_stereo_pcm_wav() {
    let out = consentline()
        .args(["dtmf", &fixture("dtmf-1A2B-pcm16-44100Hz-stereo.wav")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(digits(&out.stdout), "1A2B");
}

#[test]
fn dtmf_bad_input_is_one_line_and_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"definitely not audio").unwrap();
    for path in [junk.to_str().unwrap(), "/nonexistent/file.wav"] {
        let out = consentline().args(["dtmf", path]).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(path), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn prompts_lists_the_catalog() {
    let out = consentline().args(["prompts", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let catalog = consentline::prompt::Catalog::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        Default::default(),
    )
    .unwrap();
    assert_eq!(rows.len(), catalog.len());
    let disclosure = rows
        .iter()
        .find(|r| r["id"] == "consent.disclosure" && r["language"] == "en")
        .unwrap();
    assert_eq!(disclosure["sha256"].as_str().unwrap().len(), 64);
    assert!(disclosure["transcript"]
        .as_str()
        .unwrap()
        .contains("press 1"));
    assert!(disclosure["duration_ms"].as_u64().unwrap() > 5000);
}

#[test]
fn prompts_fails_on_an_invalid_prompt() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prompts.toml"),
        "[[prompt]]\nid = \"consent.disclosure\"\nlanguage = \"en\"\nfile = \"gone.wav\"\ntranscript = \"x\"\n",
    )
    .unwrap();
    let out = consentline()
        .args(["prompts", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gone.wav") && err.contains("not found"),
        "{err}"
    );
}
