//! `consentline requests` and `consentline dnc`, run as staff would, on a log filled through
//! the library (as the server files requests).

use consentline::privacy::{RequestType, Requester};
use consentline::store::requests::{FiledRequest, NewRequest};
use consentline::store::Store;
use std::path::Path;
use std::process::{Command, Output};
use time::macros::datetime;

const CALLER: &str = "+14155550123";

fn run(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consentline"))
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

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// A one-line error and exit status 1.
#[track_caller]
fn fails(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "stdout: {}", stdout(o));
    let e = stderr(o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.starts_with("consentline: "), "{e}");
    e
}

/// Received Wednesday 2026-12-23 in California: know (due 2027-02-06) and opt-out (honour by
/// 2027-01-15).
fn fill(dir: &Path) -> (FiledRequest, FiledRequest) {
    let store = Store::open(dir).unwrap();
    let file = |call: &str, kind: RequestType| {
        store
            .file_request(NewRequest {
                call_sid: call.into(),
                stream_sid: Some(format!("MZ{call}")),
                request_type: kind,
                requester: kind.needs_verification().then_some(Requester::Agent),
                language: "en".into(),
                callback_number: Some(CALLER.into()),
                received: datetime!(2026-12-23 18:00 UTC),
            })
            .unwrap()
    };
    (
        file("CA_KNOW", RequestType::Know),
        file("CA_OPT", RequestType::OptOut),
    )
}

#[test]
fn list_show_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let (know, opt) = fill(dir.path());
    let (k, o) = (know.confirmation.to_string(), opt.confirmation.to_string());

    let out = ok(&run(
        &["requests", "list", "--today", "2027-01-10"],
        dir.path(),
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("CONFIRMATION"), "{out}");
    let know_line = lines.iter().find(|l| l.starts_with(&k)).unwrap();
    for part in [
        "2026-12-23",
        "know",
        "agent",
        "awaiting_verification",
        "2027-02-06",
        " 27",
    ] {
        assert!(know_line.contains(part), "{part}: {know_line}");
    }
    let opt_line = lines.iter().find(|l| l.starts_with(&o)).unwrap();
    for part in ["opt_out", "received", "2027-01-15", " 5"] {
        assert!(opt_line.contains(part), "{part}: {opt_line}");
    }
    assert!(lines[3].starts_with("2 requests"), "{out}");

    let out = ok(&run(
        &["requests", "list", "--overdue", "--today", "2027-01-16"],
        dir.path(),
    ));
    assert!(out.contains(&o) && !out.contains(&k), "{out}");
    assert!(out.contains("overdue 1"), "{out}");
    let out = ok(&run(
        &[
            "requests",
            "list",
            "--status",
            "awaiting_verification",
            "--today",
            "2027-01-16",
        ],
        dir.path(),
    ));
    assert!(out.contains(&k) && !out.contains(&o), "{out}");
    let out = ok(&run(
        &["requests", "list", "--due-before", "2027-02-01"],
        dir.path(),
    ));
    assert!(out.contains(&o) && !out.contains(&k), "{out}");

    // show accepts the number grouped.
    let grouped = know.confirmation.grouped();
    let out = ok(&run(
        &["requests", "show", &grouped, "--today", "2027-01-10"],
        dir.path(),
    ));
    for part in [
        "type               know (request to know",
        "requester          agent",
        "status             awaiting_verification",
        "received           2026-12-23T18:00:00.000Z",
        "confirm receipt    2027-01-08 (on the call)",
        "respond by         2027-02-06",
        "days left          27",
        "history (1 chained records):",
        "request_received",
        "verified: chain intact (3 records",
    ] {
        assert!(out.contains(part), "{part}:\n{out}");
    }
    assert!(!out.contains("5550123"), "no clear number: {out}");
}

#[test]
fn updates_and_extension_are_chained() {
    let dir = tempfile::tempdir().unwrap();
    let (know, opt) = fill(dir.path());
    let (k, o) = (know.confirmation.to_string(), opt.confirmation.to_string());

    let e = fails(&run(
        &["requests", "update", &k, "--status", "denied"],
        dir.path(),
    ));
    assert!(e.contains("basis"), "{e}");
    let e = fails(&run(
        &["requests", "update", &o, "--status", "verifying"],
        dir.path(),
    ));
    assert!(e.contains("verification"), "{e}");
    let out = ok(&run(
        &["requests", "update", &k, "--status", "verifying"],
        dir.path(),
    ));
    assert!(out.contains("status verifying"), "{out}");
    let out = ok(&run(
        &[
            "requests",
            "extend",
            &k,
            "--reason",
            "data held by a service provider",
            "--today",
            "2027-01-20",
        ],
        dir.path(),
    ));
    assert!(out.contains("extended to 2027-03-23"), "{out}");
    let e = fails(&run(
        &[
            "requests",
            "extend",
            &k,
            "--reason",
            "again",
            "--today",
            "2027-01-21",
        ],
        dir.path(),
    ));
    assert!(e.contains("once"), "{e}");
    let out = ok(&run(
        &[
            "requests",
            "update",
            &k,
            "--status",
            "denied",
            "--basis",
            "could not verify the requester",
        ],
        dir.path(),
    ));
    assert!(out.contains("status denied"), "{out}");
    let e = fails(&run(
        &["requests", "update", &k, "--status", "fulfilled"],
        dir.path(),
    ));
    assert!(e.contains("already denied"), "{e}");
    ok(&run(
        &["requests", "update", &o, "--status", "fulfilled"],
        dir.path(),
    ));

    let out = ok(&run(
        &["requests", "show", &k, "--today", "2027-01-21"],
        dir.path(),
    ));
    for part in [
        "status             denied",
        "extended to        2027-03-23",
        "extension reason   data held by a service provider",
        "denial basis       could not verify the requester",
        "days left          -",
        "history (4 chained records):",
    ] {
        assert!(out.contains(part), "{part}:\n{out}");
    }
    // 2 requests + 1 dnc + verifying + extend + denied + fulfilled.
    let out = ok(&run(&["audit", "verify"], dir.path()));
    assert!(out.starts_with("ok: 7 records"), "{out}");
    let out = ok(&run(&["requests", "verify"], dir.path()));
    assert!(
        out.starts_with("ok: 2 requests and 1 do-not-contact number match the chain (7 records"),
        "{out}"
    );
    // The staff records are in the call's timeline.
    let out = ok(&run(&["audit", "show", "CA_KNOW"], dir.path()));
    assert_eq!(out.matches("request_updated").count(), 3, "{out}");
}

#[test]
fn export_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (know, _) = fill(dir.path());
    let csv = ok(&run(&["requests", "export", "--format", "csv"], dir.path()));
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("confirmation,call_sid,received_ts,received_date,request_type,requester,language,manner,status,callback_hash,due,honor_due,receipt_due,extended_due"));
    assert!(lines
        .iter()
        .any(|l| l.starts_with(&format!("{},CA_KNOW,", know.confirmation))));
    let jsonl = ok(&run(
        &["requests", "export", "--format", "jsonl"],
        dir.path(),
    ));
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    let k = rows.iter().find(|r| r["request_type"] == "know").unwrap();
    assert_eq!(k["due"], "2027-02-06");
    assert_eq!(k["status"], "awaiting_verification");
    assert_eq!(k["extended_due"], serde_json::Value::Null);
    assert!(!jsonl.contains("5550123") && !csv.contains("5550123"));
}

#[test]
fn dnc_commands() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path()); // the opt-out put CALLER on the list on 2026-12-23
    let out = ok(&run(
        &["dnc", "check", "415-555-0123", "--today", "2027-12-22"],
        dir.path(),
    ));
    assert!(out.contains("last opt-out 2026-12-23"), "{out}");
    assert!(out.contains("from 2027-12-23: not yet"), "{out}");
    assert!(!out.contains("5550123"), "redacted: {out}");
    let out = ok(&run(
        &["dnc", "check", CALLER, "--today", "2027-12-23"],
        dir.path(),
    ));
    assert!(out.ends_with("yes\n"), "{out}");
    let out = ok(&run(&["dnc", "check", "4155550199"], dir.path()));
    assert!(out.contains("not on the do-not-contact list"), "{out}");

    let out = ok(&run(
        &["dnc", "add", "(415) 555-0199", "--date", "2026-11-22"],
        dir.path(),
    ));
    assert!(out.contains("as of 2026-11-22"), "{out}");
    let out = ok(&run(
        &["dnc", "check", "+14155550199", "--today", "2027-11-21"],
        dir.path(),
    ));
    assert!(out.contains("not yet"), "{out}");

    let csv = ok(&run(&["dnc", "export"], dir.path()));
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "number,number_hash,added_date,source,last_seq");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("+14155550199,"), "{csv}");
    assert!(lines[1].contains(",2026-11-22,staff,"), "{csv}");
    assert!(lines[2].starts_with("+14155550123,"), "{csv}");
    let jsonl = ok(&run(&["dnc", "export", "--format", "jsonl"], dir.path()));
    assert_eq!(jsonl.lines().count(), 2);
    ok(&run(&["audit", "verify"], dir.path()));
    ok(&run(&["requests", "verify"], dir.path()));
}

#[test]
fn bad_input_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (know, _) = fill(dir.path());
    let k = know.confirmation.to_string();
    let mut typo = k.clone().into_bytes();
    typo[4] = if typo[4] == b'9' { b'0' } else { typo[4] + 1 };
    let typo = String::from_utf8(typo).unwrap();
    let e = fails(&run(&["requests", "show", &typo], dir.path()));
    assert!(e.contains("mistyped"), "{e}");
    let e = fails(&run(&["requests", "show", "123"], dir.path()));
    assert!(e.contains("10 digits"), "{e}");
    let e = fails(&run(&["requests", "show", "1000000008"], dir.path()));
    assert!(e.contains("no request"), "{e}");
    let e = fails(&run(&["requests", "list", "--status", "done"], dir.path()));
    assert!(e.contains("not a status"), "{e}");
    let e = fails(&run(
        &["requests", "list", "--due-before", "next week"],
        dir.path(),
    ));
    assert!(e.contains("YYYY-MM-DD"), "{e}");
    let e = fails(&run(
        &["requests", "extend", &k, "--reason", " "],
        dir.path(),
    ));
    assert!(e.contains("reason"), "{e}");
    let e = fails(&run(&["dnc", "add", "555-0100"], dir.path()));
    assert!(e.contains("10 digits"), "{e}");
    let e = fails(&run(&["dnc", "check", "not a number"], dir.path()));
    assert!(e.contains("phone number"), "{e}");
    // No log here: nothing is created.
    let empty = tempfile::tempdir().unwrap();
    let nowhere = empty.path().join("nowhere");
    let e = fails(&run(&["requests", "list"], &nowhere));
    assert!(e.contains("no consent log"), "{e}");
    let e = fails(&run(&["dnc", "add", CALLER], &nowhere));
    assert!(e.contains("no consent log"), "{e}");
    assert!(!nowhere.exists());
    // A table edited behind the chain's back.
    let conn = rusqlite::Connection::open(dir.path().join("consent.db")).unwrap();
    conn.execute(
        "UPDATE requests SET status = 'fulfilled' WHERE confirmation = ?1",
        [&k],
    )
    .unwrap();
    drop(conn);
    ok(&run(&["audit", "verify"], dir.path()));
    let e = fails(&run(&["requests", "verify"], dir.path()));
    assert!(
        e.contains(&format!("request {k}: table row differs")),
        "{e}"
    );
    let e = fails(&run(
        &["requests", "update", &k, "--status", "verifying"],
        dir.path(),
    ));
    assert!(e.contains("disagrees"), "{e}");
}
