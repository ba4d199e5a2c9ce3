//! `consentline audit`, run as an auditor would, on a log filled through the library.

use consentline::consent::{Entry, Fields, Kind};
use consentline::store::{Committed, PersonalData, Store};
use std::path::Path;
use std::process::{Command, Output};

const NUMBER: &str = "+14155550123";

fn audit(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consentline"))
        .arg("audit")
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("CONSENTLINE_DATA")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn e(call: &str, kind: Kind, fields: Fields) -> Entry {
    Entry {
        call_sid: call.into(),
        stream_sid: (kind != Kind::CallStarted).then(|| format!("MZ{call}")),
        kind,
        fields,
    }
}

/// Two calls: CA_A consents by an in-band key 1, CA_B declines by a DTMF event 2.
fn fill(dir: &Path) -> Vec<Committed> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(dir).unwrap();
        let caller = store.pseudonymize(NUMBER);
        let personal = PersonalData {
            hash: caller.clone(),
            kind: "phone".into(),
            value: NUMBER.into(),
        };
        let (log, task) = store.start_writer();
        let mut out = Vec::new();
        for (call, digit, source, decision) in [
            ("CA_A", "1", "inband", "record"),
            ("CA_B", "2", "event", "no_record"),
        ] {
            let prompt = |kind| {
                e(
                    call,
                    kind,
                    Fields {
                        prompt_id: Some("consent.disclosure".into()),
                        language: Some("en".into()),
                        prompt_sha256: Some(format!("e46e{}", "0".repeat(60))),
                        attempt: Some("1".into()),
                        ..Fields::default()
                    },
                )
            };
            let entries = vec![
                e(
                    call,
                    Kind::CallStarted,
                    Fields {
                        line: Some("+18005550100".into()),
                        caller: Some(caller.clone()),
                        language: Some("en".into()),
                        ..Fields::default()
                    },
                ),
                prompt(Kind::PromptStarted),
                prompt(Kind::PromptPlayed),
                e(
                    call,
                    Kind::Key,
                    Fields {
                        digit: Some(digit.into()),
                        digit_source: Some(source.into()),
                        at_ms: Some("12340".into()),
                        ..Fields::default()
                    },
                ),
                e(
                    call,
                    Kind::Decision,
                    Fields {
                        decision: Some(decision.into()),
                        reason: Some(format!("key {digit}")),
                        ..Fields::default()
                    },
                ),
                e(
                    call,
                    Kind::BridgeAnswered,
                    Fields {
                        decision: Some(decision.into()),
                        answer: Some("dial, \"with\" recording\nsecond line".into()),
                        ..Fields::default()
                    },
                ),
                e(
                    call,
                    Kind::CallEnded,
                    Fields {
                        reason: Some("caller hung up".into()),
                        ..Fields::default()
                    },
                ),
            ];
            for (i, entry) in entries.into_iter().enumerate() {
                let p = (i == 0).then(|| personal.clone());
                out.push(log.append(entry, p).await.unwrap());
            }
        }
        log.close().await;
        task.await.unwrap();
        out
    })
}

#[test]
fn verify_reports_the_count_and_the_tip() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = fill(tmp.path());
    let o = audit(&["verify"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let tip = &committed.last().unwrap().hash;
    assert_eq!(
        stdout(&o).trim(),
        format!("ok: 14 records, chain intact, tip {tip}")
    );
    let o = audit(&["verify", "--expect-tip", &committed[5].hash], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("expected tip is record 6"),
        "{}",
        stdout(&o)
    );
    // Auditing needs no key and writes nothing.
    std::fs::remove_file(tmp.path().join("installation.key")).unwrap();
    let o = audit(&["verify"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!tmp.path().join("installation.key").exists());
}

#[test]
fn verify_names_the_first_tampered_record() {
    let tmp = tempfile::tempdir().unwrap();
    fill(tmp.path());
    let db = rusqlite::Connection::open(tmp.path().join("consent.db")).unwrap();
    // Turn CA_B's refusal into consent behind the log's back.
    let seq: i64 = db
        .query_row(
            "SELECT seq FROM records WHERE call_sid = 'CA_B' AND kind = 'decision'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "UPDATE records SET fields = replace(fields, 'no_record', 'record') WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    drop(db);
    let o = audit(&["verify"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(&format!("consentline: seq {seq}: record contents altered")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_cut_off_tail_is_caught_only_with_the_saved_tip() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = fill(tmp.path());
    let tip = committed.last().unwrap().hash.clone();
    rusqlite::Connection::open(tmp.path().join("consent.db"))
        .unwrap()
        .execute("DELETE FROM records WHERE seq >= 13", [])
        .unwrap();
    let o = audit(&["verify"], tmp.path());
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("ok: 12 records"));
    let o = audit(&["verify", "--expect-tip", &tip], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cut off or rewritten"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn verify_without_a_log_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing-here");
    let o = audit(&["verify"], &missing);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no consent log here"), "{}", stderr(&o));
    assert!(!missing.exists(), "verify must not create a log");
}

const COLUMNS: [&str; 37] = [
    "seq",
    "ts",
    "call_sid",
    "stream_sid",
    "kind",
    "line",
    "caller",
    "prompt_id",
    "language",
    "prompt_sha256",
    "digit",
    "digit_source",
    "at_ms",
    "attempt",
    "decision",
    "reason",
    "recording_sid",
    "answer",
    "detail",
    "confirmation",
    "request_type",
    "requester",
    "status",
    "manner",
    "received",
    "due",
    "honor_due",
    "receipt_due",
    "extended_due",
    "basis",
    "callback",
    "number",
    "opt_out_date",
    "source",
    "extra",
    "prev_hash",
    "hash",
];

fn jsonl(o: &Output) -> Vec<serde_json::Value> {
    assert!(o.status.success(), "{}", stderr(o));
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn export_jsonl_has_every_column_and_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = fill(tmp.path());
    let o = audit(&["export", "--format", "jsonl"], tmp.path());
    let rows = jsonl(&o);
    assert_eq!(rows.len(), 14);
    // Column order on the line itself.
    let first_line = stdout(&o).lines().next().unwrap().to_string();
    let mut at = 0;
    for c in COLUMNS {
        let pos = first_line
            .find(&format!("\"{c}\":"))
            .unwrap_or_else(|| panic!("{c} missing"));
        assert!(pos >= at, "{c} out of order in {first_line}");
        at = pos;
    }
    for (row, c) in rows.iter().zip(&committed) {
        assert_eq!(row["seq"], c.seq);
        assert_eq!(row["hash"], c.hash.as_str());
        assert_eq!(row.as_object().unwrap().len(), COLUMNS.len());
    }
    let key = rows.iter().find(|r| r["kind"] == "key").unwrap();
    assert_eq!(key["digit"], "1");
    assert_eq!(key["digit_source"], "inband");
    assert_eq!(key["stream_sid"], "MZCA_A");
    assert_eq!(key["prompt_id"], serde_json::Value::Null);
    let played = rows.iter().find(|r| r["kind"] == "prompt_played").unwrap();
    assert_eq!(played["prompt_id"], "consent.disclosure");
    assert!(played["prompt_sha256"]
        .as_str()
        .unwrap()
        .starts_with("e46e"));
    assert!(
        !stdout(&o).contains("4155550123"),
        "the clear number was exported"
    );

    // Default format is jsonl; filters.
    let b = jsonl(&audit(&["export", "--call", "CA_B"], tmp.path()));
    assert_eq!(b.len(), 7);
    assert!(b.iter().all(|r| r["call_sid"] == "CA_B"));
    assert_eq!(
        b.iter().find(|r| r["kind"] == "decision").unwrap()["decision"],
        "no_record"
    );
    let none = jsonl(&audit(
        &["export", "--since", "2999-01-01T00:00:00Z"],
        tmp.path(),
    ));
    assert!(none.is_empty());
    let all = jsonl(&audit(
        &["export", "--since", "2000-01-01", "--call", "CA_A"],
        tmp.path(),
    ));
    assert_eq!(all.len(), 7);
    let bad = audit(&["export", "--since", "soon"], tmp.path());
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("RFC 3339"), "{}", stderr(&bad));
}

/// A small RFC 4180 reader: quoted cells, doubled quotes, line breaks inside quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        !quoted && cell.is_empty() && row.is_empty(),
        "unterminated CSV"
    );
    rows
}

#[test]
fn export_csv_is_quoted_and_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = fill(tmp.path());
    let o = audit(&["export", "--format", "csv"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = parse_csv(&stdout(&o));
    assert_eq!(rows[0], COLUMNS);
    assert_eq!(rows.len(), 15);
    let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
    for (row, c) in rows[1..].iter().zip(&committed) {
        assert_eq!(row.len(), COLUMNS.len());
        assert_eq!(row[col("seq")], c.seq.to_string());
        assert_eq!(row[col("hash")], c.hash);
    }
    let bridge = rows
        .iter()
        .find(|r| r[col("kind")] == "bridge_answered")
        .unwrap();
    assert_eq!(
        bridge[col("answer")],
        "dial, \"with\" recording\nsecond line"
    );
    let key = rows.iter().find(|r| r[col("kind")] == "key").unwrap();
    assert_eq!(
        (
            &*key[col("digit")],
            &*key[col("digit_source")],
            &*key[col("at_ms")]
        ),
        ("1", "inband", "12340")
    );
    assert_eq!(key[col("stream_sid")], "MZCA_A");
    let started = rows
        .iter()
        .find(|r| r[col("kind")] == "call_started")
        .unwrap();
    assert_eq!(started[col("stream_sid")], "");

    let o = audit(&["export", "--format", "csv", "--call", "CA_B"], tmp.path());
    let rows = parse_csv(&stdout(&o));
    assert_eq!(rows.len(), 8);
    assert!(rows[1..].iter().all(|r| r[col("call_sid")] == "CA_B"));
    let o = audit(
        &["export", "--format", "csv", "--since", "2999-01-01"],
        tmp.path(),
    );
    assert_eq!(parse_csv(&stdout(&o)).len(), 1, "header only");
}

#[test]
fn show_prints_a_readable_timeline_and_the_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = fill(tmp.path());
    let o = audit(&["show", "CA_A"], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("call CA_A: 7 records"), "{text}");
    let find = |kind: &str| {
        *lines
            .iter()
            .find(|l| l.contains(&format!(" {kind} ")))
            .unwrap_or_else(|| panic!("{kind} missing in\n{text}"))
    };
    assert!(
        find("prompt_played").contains("consent.disclosure (en) sha256 e46e"),
        "{text}"
    );
    assert!(find("key").contains("1 (inband) at 12.34 s"), "{text}");
    assert!(find("decision").contains("record"), "{text}");
    assert!(find("call_started").contains("line +18005550100"), "{text}");
    // Times: HH:MM:SS.mmm of the commit.
    let ts = &committed[0].ts;
    assert!(find("call_started").starts_with(&ts[11..23]), "{text}");
    assert!(!text.contains("4155550123"));
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("verified: these 7 records"),
        "{text}"
    );

    let o = audit(&["show", "CA_NOPE"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no records for call CA_NOPE"),
        "{}",
        stderr(&o)
    );

    // Tampering with CA_A's key: shown, and the exit status says it.
    rusqlite::Connection::open(tmp.path().join("consent.db"))
        .unwrap()
        .execute(
            "UPDATE records SET fields = replace(fields, '\"1\"', '\"2\"') WHERE kind = 'key' AND call_sid = 'CA_A'",
            [],
        )
        .unwrap();
    let o = audit(&["show", "CA_A"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        find_line(&text, " key ").contains("contents altered"),
        "{text}"
    );
    assert!(
        text.contains("NOT VERIFIED: seq 4: record contents altered"),
        "{text}"
    );
    assert!(stderr(&o).contains("seq 4"), "{}", stderr(&o));
    // CA_B's records come after the break: they cannot be vouched for either.
    let o = audit(&["show", "CA_B"], tmp.path());
    assert_eq!(o.status.code(), Some(1));
}

fn find_line<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines().find(|l| l.contains(needle)).unwrap_or("")
}

/// A ledger as `consentline load --ledger` writes it: (call, bridged with recording).
fn write_ledger(dir: &Path, calls: &[(&str, bool)]) -> std::path::PathBuf {
    let path = dir.join("ledger.jsonl");
    let lines: Vec<String> = calls
        .iter()
        .map(|(call, recorded)| {
            serde_json::json!({
                "call_sid": call,
                "scenario": "consent-inband",
                "expected_recording": true,
                "bridged_with_recording": recorded,
                "ok": recorded,
                "error": if *recorded { None } else { Some("call failed: connection refused") },
            })
            .to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn ledger_passes_when_every_recorded_call_has_its_consent() {
    let tmp = tempfile::tempdir().unwrap();
    fill(tmp.path());
    // CA_A consented and was recorded; CA_B declined and was not; CA_C never reached the
    // server (it is in no record and was not recorded: nothing to prove).
    let ledger = write_ledger(
        tmp.path(),
        &[("CA_A", true), ("CA_B", false), ("CA_C", false)],
    );
    let o = audit(&["ledger", ledger.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("ledger: 3 calls (1 as expected, 2 not); 1 bridged with recording"),
        "{out}"
    );
    assert!(
        out.contains("log: 1 of 1 calls bridged with recording have a durable \"record\" decision and bridge answer"),
        "{out}"
    );
    assert!(!out.contains("MISSING"), "{out}");
}

#[test]
fn ledger_fails_naming_each_recorded_call_without_its_consent() {
    let tmp = tempfile::tempdir().unwrap();
    fill(tmp.path());
    // CA_B declined but the ledger says it was recorded; CA_Z is not in the log at all.
    let ledger = write_ledger(
        tmp.path(),
        &[("CA_A", true), ("CA_B", true), ("CA_Z", true)],
    );
    let o = audit(&["ledger", ledger.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("MISSING CA_B: its latest decision is no_record"),
        "{out}"
    );
    assert!(out.contains("MISSING CA_Z: no records at all"), "{out}");
    assert!(!out.contains("MISSING CA_A"), "{out}");
    assert!(out.contains("log: 1 of 3 calls"), "{out}");
    assert!(
        stderr(&o)
            .contains("2 of 3 calls bridged with recording lack their durable consent records"),
        "{}",
        stderr(&o)
    );

    // A "record" decision without the bridge answer that served it is not enough either.
    rusqlite::Connection::open(tmp.path().join("consent.db"))
        .unwrap()
        .execute(
            "DELETE FROM records WHERE call_sid = 'CA_A' AND kind = 'bridge_answered'",
            [],
        )
        .unwrap();
    let ledger = write_ledger(tmp.path(), &[("CA_A", true)]);
    let o = audit(&["ledger", ledger.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("MISSING CA_A: no bridge answer record with recording"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_malformed_ledger_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    fill(tmp.path());
    let path = tmp.path().join("ledger.jsonl");
    std::fs::write(
        &path,
        "{\"call_sid\":\"CA_A\",\"bridged_with_recording\":true}\n{\"call_sid\":\"CA_B\"}\n",
    )
    .unwrap();
    let o = audit(&["ledger", path.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("ledger.jsonl line 2: no bridged_with_recording"),
        "{}",
        stderr(&o)
    );
}
