//! The consent log: the hash chain on a real SQLite file, tampering by raw SQL, personal data
//! kept out of the chain and redactable, group commit under concurrency, failures and recovery.

use consentline::consent::{self, Entry, Fields, Kind, Record, GENESIS_HASH};
use consentline::store::{Committed, Filter, LogHandle, PersonalData, Store, StoreError};
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

const NUMBER: &str = "+1 (415) 555-0123";
const NUMBER_DIGITS: &str = "4155550123";

fn entry(call: &str, kind: Kind, fields: Fields) -> Entry {
    Entry {
        call_sid: call.to_string(),
        stream_sid: Some(format!("MZ{call}")),
        kind,
        fields,
    }
}

/// A whole call's worth of entries (8), the decision as given.
fn call_entries(call: &str, caller: &str, decision: &str) -> Vec<Entry> {
    let prompt = |kind| {
        entry(
            call,
            kind,
            Fields {
                prompt_id: Some("consent.disclosure".into()),
                language: Some("en".into()),
                prompt_sha256: Some("e46e".repeat(16)),
                attempt: Some("1".into()),
                ..Fields::default()
            },
        )
    };
    vec![
        Entry {
            stream_sid: None,
            ..entry(
                call,
                Kind::CallStarted,
                Fields {
                    line: Some("+18005550100".into()),
                    caller: Some(caller.into()),
                    language: Some("en".into()),
                    ..Fields::default()
                },
            )
        },
        prompt(Kind::PromptStarted),
        prompt(Kind::PromptPlayed),
        entry(
            call,
            Kind::Key,
            Fields {
                digit: Some(if decision == "record" { "1" } else { "2" }.into()),
                digit_source: Some("inband".into()),
                at_ms: Some("12340".into()),
                ..Fields::default()
            },
        ),
        entry(
            call,
            Kind::Decision,
            Fields {
                decision: Some(decision.into()),
                reason: Some("key".into()),
                ..Fields::default()
            },
        ),
        entry(
            call,
            Kind::BridgeAnswered,
            Fields {
                decision: Some(decision.into()),
                answer: Some("dial with recording".into()),
                ..Fields::default()
            },
        ),
        entry(
            call,
            Kind::RecordingReference,
            Fields {
                recording_sid: Some("RE0123".into()),
                ..Fields::default()
            },
        ),
        entry(
            call,
            Kind::CallEnded,
            Fields {
                reason: Some("caller hung up".into()),
                ..Fields::default()
            },
        ),
    ]
}

fn personal(store: &Store, number: &str) -> PersonalData {
    PersonalData {
        hash: store.pseudonymize(number),
        kind: "phone".into(),
        value: number.into(),
    }
}

/// Append `calls` calls of 8 records each, one after another; closes the writer.
async fn fill(dir: &Path, calls: usize) -> Vec<Committed> {
    let store = Store::open(dir).unwrap();
    let caller = store.pseudonymize(NUMBER);
    let pd = personal(&store, NUMBER);
    let (log, task) = store.start_writer();
    let mut out = Vec::new();
    for c in 0..calls {
        let decision = if c % 2 == 0 { "record" } else { "no_record" };
        for (i, e) in call_entries(&format!("CA{c}"), &caller, decision)
            .into_iter()
            .enumerate()
        {
            let p = (i == 0).then(|| pd.clone());
            out.push(log.append(e, p).await.unwrap());
        }
    }
    log.close().await;
    task.await.unwrap();
    out
}

fn raw(dir: &Path) -> Connection {
    Connection::open(dir.join("consent.db")).unwrap()
}

fn verify_ro(dir: &Path) -> Result<u64, consent::VerifyError> {
    Store::open_read_only(dir).unwrap().verify().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_form_a_verifying_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = fill(tmp.path(), 3).await;
    assert_eq!(
        committed.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=24).collect::<Vec<_>>()
    );
    let store = Store::open_read_only(tmp.path()).unwrap();
    let all = store.records(&Filter::default()).unwrap();
    assert_eq!(all.len(), 24);
    assert_eq!(all[0].prev_hash, GENESIS_HASH);
    for w in all.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
    for (r, c) in all.iter().zip(&committed) {
        assert_eq!((r.seq, &r.hash, &r.ts), (c.seq, &c.hash, &c.ts));
        assert_eq!(consent::compute_hash(r), r.hash);
        // ts: RFC 3339 UTC with milliseconds.
        assert_eq!(r.ts.len(), 24, "{}", r.ts);
        assert!(r.ts.ends_with('Z') && r.ts.as_bytes()[19] == b'.');
    }
    assert_eq!(store.verify().unwrap(), Ok(24));
    let full = store.verify_full().unwrap().unwrap();
    assert_eq!(full.tip, committed.last().unwrap().hash);
    assert_eq!(
        store.seq_of_hash(&committed[4].hash).unwrap(),
        Some(committed[4].seq)
    );

    // Read side.
    assert_eq!(
        store.decision_for("CA0").unwrap().as_deref(),
        Some("record")
    );
    assert_eq!(
        store.decision_for("CA1").unwrap().as_deref(),
        Some("no_record")
    );
    assert_eq!(store.decision_for("CA9").unwrap(), None);
    let timeline = store.call_timeline("CA1").unwrap();
    assert_eq!(
        timeline.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        [
            "call_started",
            "prompt_started",
            "prompt_played",
            "key",
            "decision",
            "bridge_answered",
            "recording_reference",
            "call_ended"
        ]
    );
    assert_eq!(timeline[3].fields.digit.as_deref(), Some("2"));
    assert_eq!(timeline[0].stream_sid, None);
    assert_eq!(timeline[1].stream_sid.as_deref(), Some("MZCA1"));
    let since = |s: &str| {
        store
            .records(&Filter {
                call_sid: None,
                since: Some(s.into()),
            })
            .map(|v| v.len())
    };
    assert_eq!(since("2000-01-01").unwrap(), 24);
    assert_eq!(since("2999-01-01T00:00:00Z").unwrap(), 0);
    assert_eq!(
        since(&all[10].ts).unwrap(),
        24 - all.iter().filter(|r| r.ts < all[10].ts).count()
    );
    assert!(matches!(since("last tuesday"), Err(StoreError::Invalid(_))));
    let both = store
        .records(&Filter {
            call_sid: Some("CA2".into()),
            since: Some("2000-01-01T00:00:00+02:00".into()),
        })
        .unwrap();
    assert_eq!(both.len(), 8);
    assert!(both.iter().all(|r| r.call_sid == "CA2"));
}

/// A fresh log of 3 calls (24 records), then `tamper` on a raw connection.
async fn tampered(tamper: impl FnOnce(&Connection)) -> Result<u64, consent::VerifyError> {
    let tmp = tempfile::tempdir().unwrap();
    fill(tmp.path(), 3).await;
    tamper(&raw(tmp.path()));
    verify_ro(tmp.path())
}

fn set(conn: &Connection, seq: i64, column: &str, value: Option<&str>) {
    let n = conn
        .execute(
            &format!("UPDATE records SET {column} = ?1 WHERE seq = ?2"),
            rusqlite::params![value, seq],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// An edit made behind the log's back.
type Tamper = Box<dyn FnOnce(&Connection)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_any_column_is_caught_at_that_record() {
    let altered = "record contents altered";
    let cases: Vec<(&str, Tamper, u64, &str)> = vec![
        (
            "ts",
            Box::new(|c| set(c, 4, "ts", Some("2020-01-01T00:00:00.000Z"))),
            4,
            altered,
        ),
        (
            "call_sid",
            Box::new(|c| set(c, 3, "call_sid", Some("CA9"))),
            3,
            altered,
        ),
        (
            "stream_sid removed",
            Box::new(|c| set(c, 2, "stream_sid", None)),
            2,
            altered,
        ),
        (
            "stream_sid added",
            Box::new(|c| set(c, 1, "stream_sid", Some("MZ1"))),
            1,
            altered,
        ),
        (
            "kind",
            Box::new(|c| set(c, 5, "kind", Some("prompt_played"))),
            5,
            altered,
        ),
        (
            "kind unknown",
            Box::new(|c| set(c, 5, "kind", Some("consent_revoked"))),
            5,
            altered,
        ),
        (
            "fields: decision flipped",
            Box::new(|c| {
                c.execute(
                    "UPDATE records SET fields = replace(fields, '\"no_record\"', '\"record\"') WHERE seq = 13",
                    [],
                )
                .unwrap();
            }),
            13,
            altered,
        ),
        (
            "fields: a field added",
            Box::new(|c| {
                set(
                    c,
                    7,
                    "fields",
                    Some(r#"{"recording_sid":"RE0123","detail":"x"}"#),
                )
            }),
            7,
            altered,
        ),
        (
            "fields: unknown field added",
            Box::new(|c| {
                set(
                    c,
                    7,
                    "fields",
                    Some(r#"{"recording_sid":"RE0123","zz":"x"}"#),
                )
            }),
            7,
            altered,
        ),
        (
            "fields: not JSON",
            Box::new(|c| set(c, 9, "fields", Some("{oops"))),
            9,
            "record unreadable",
        ),
        (
            "prev_hash",
            Box::new(|c| set(c, 20, "prev_hash", Some(&"a".repeat(64)))),
            20,
            altered,
        ),
        (
            "hash",
            Box::new(|c| set(c, 24, "hash", Some(&"b".repeat(64)))),
            24,
            altered,
        ),
        (
            "hash of the first record",
            Box::new(|c| set(c, 1, "hash", Some(GENESIS_HASH))),
            1,
            altered,
        ),
        (
            "a row deleted",
            Box::new(|c| {
                c.execute("DELETE FROM records WHERE seq = 11", []).unwrap();
            }),
            11,
            "record 11 missing",
        ),
        (
            "the first row deleted",
            Box::new(|c| {
                c.execute("DELETE FROM records WHERE seq = 1", []).unwrap();
            }),
            1,
            "record 1 missing",
        ),
        (
            "rows renumbered",
            Box::new(|c| {
                c.execute("UPDATE records SET seq = seq + 1 WHERE seq >= 15", [])
                    .unwrap_or_else(|_| {
                        // Primary-key clashes: move from the top down.
                        for s in (15..=24).rev() {
                            c.execute("UPDATE records SET seq = ?1 WHERE seq = ?2", [s + 1, s])
                                .unwrap();
                        }
                        0
                    });
            }),
            15,
            "record 15 missing",
        ),
        (
            "two rows' contents swapped",
            Box::new(|c| {
                c.execute_batch(
                    "UPDATE records SET seq = -1 WHERE seq = 6;
                     UPDATE records SET seq = 6 WHERE seq = 17;
                     UPDATE records SET seq = 17 WHERE seq = -1;",
                )
                .unwrap();
            }),
            6,
            altered,
        ),
        (
            "a record rewritten with a fresh hash",
            Box::new(|c| {
                let mut r = read_one(c, 8);
                r.fields.reason = Some("line busy".into());
                r.hash = consent::compute_hash(&r);
                set(c, 8, "fields", Some(&r.fields.canonical_json()));
                set(c, 8, "hash", Some(&r.hash));
            }),
            9,
            "chain broken: prev_hash does not match record 8",
        ),
    ];
    for (name, tamper, seq, reason) in cases {
        let e = tampered(tamper)
            .await
            .expect_err(&format!("{name}: not detected"));
        assert_eq!(e.seq, seq, "{name}: {e}");
        assert!(e.reason.starts_with(reason), "{name}: {e}");
    }
}

fn read_one(c: &Connection, seq: i64) -> Record {
    c.query_row(
        "SELECT seq, ts, call_sid, stream_sid, kind, fields, prev_hash, hash FROM records WHERE seq = ?1",
        [seq],
        |r| {
            Ok(Record {
                seq: r.get::<_, i64>(0)? as u64,
                ts: r.get(1)?,
                call_sid: r.get(2)?,
                stream_sid: r.get(3)?,
                kind: r.get(4)?,
                fields: serde_json::from_str(&r.get::<_, String>(5)?).unwrap(),
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutting_off_the_tail_needs_a_saved_tip() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = fill(tmp.path(), 1).await;
    let saved_tip = committed.last().unwrap().hash.clone();
    raw(tmp.path())
        .execute("DELETE FROM records WHERE seq = 8", [])
        .unwrap();
    // The chain alone cannot see it (documented); the saved tip can.
    let store = Store::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.verify().unwrap(), Ok(7));
    assert_eq!(store.seq_of_hash(&saved_tip).unwrap(), None);
}

fn file_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["consent.db", "consent.db-wal", "consent.db-shm"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The caller's number in any of its spellings (as given, E.164, the local part).
fn holds_number(hay: &[u8]) -> bool {
    [NUMBER, NUMBER_DIGITS, "555-0123", "5550123"]
        .iter()
        .any(|n| contains(hay, n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clear_number_stays_out_of_the_chain_and_redaction_keeps_it_verifying() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let caller = store.pseudonymize(NUMBER);
    assert_eq!(caller, store.pseudonymize("+14155550123"));
    let pd = personal(&store, NUMBER);
    assert!(!format!("{pd:?}").contains(NUMBER_DIGITS));
    let (log, task) = store.start_writer();
    for (i, e) in call_entries("CA1", &caller, "record")
        .into_iter()
        .enumerate()
    {
        log.append(e, (i == 0).then(|| pd.clone())).await.unwrap();
    }
    log.flush().await;

    // The records table never holds it, in any column; personal_data does.
    let reader = Store::open(tmp.path()).unwrap();
    let conn = raw(tmp.path());
    let in_records: i64 = conn
        .query_row(
            "SELECT count(*) FROM records
             WHERE instr(ts || call_sid || coalesce(stream_sid, '') || kind || fields || prev_hash || hash, ?1) > 0
                OR instr(ts || call_sid || coalesce(stream_sid, '') || kind || fields || prev_hash || hash, ?2) > 0",
            [NUMBER_DIGITS, "5550123"],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_records, 0);
    let started = &reader.call_timeline("CA1").unwrap()[0];
    assert_eq!(started.fields.caller.as_deref(), Some(caller.as_str()));
    let (value, redacted): (String, Option<String>) = conn
        .query_row(
            "SELECT value, redacted_at FROM personal_data WHERE hash = ?1",
            [&caller],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((value.as_str(), redacted), (NUMBER, None));
    assert!(contains(&file_bytes(tmp.path()), NUMBER));

    // Nothing is older than an hour ago; everything is older than a second from now.
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(
        reader
            .redact_personal(now - time::Duration::hours(1))
            .unwrap(),
        0
    );
    assert_eq!(
        reader
            .redact_personal(now + time::Duration::seconds(1))
            .unwrap(),
        1
    );
    assert_eq!(
        reader
            .redact_personal(now + time::Duration::seconds(1))
            .unwrap(),
        0
    );
    let (value, redacted): (String, Option<String>) = conn
        .query_row(
            "SELECT value, redacted_at FROM personal_data WHERE hash = ?1",
            [&caller],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(value, "");
    assert!(redacted.is_some());
    drop(conn);
    assert_eq!(reader.verify().unwrap(), Ok(8));
    // Gone from the files too (db, WAL and shared memory), while the writer is still open.
    let bytes = file_bytes(tmp.path());
    assert!(
        !holds_number(&bytes),
        "clear number left in the files after redaction"
    );
    assert!(contains(&bytes, &caller));

    // The same caller again: the clear value is kept again, the chain goes on.
    log.append(
        call_entries("CA2", &caller, "no_record").remove(0),
        Some(pd.clone()),
    )
    .await
    .unwrap();
    log.close().await;
    task.await.unwrap();
    assert_eq!(reader.verify().unwrap(), Ok(9));
    let value: String = raw(tmp.path())
        .query_row("SELECT value FROM personal_data", [], |r| r.get(0))
        .unwrap();
    assert_eq!(value, NUMBER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_without_personal_data_never_holds_the_number() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let caller = store.pseudonymize(NUMBER);
    let (log, task) = store.start_writer();
    for e in call_entries("CA1", &caller, "record") {
        log.append(e, None).await.unwrap();
    }
    assert!(!holds_number(&file_bytes(tmp.path())));
    log.close().await;
    task.await.unwrap();
    assert!(!holds_number(&file_bytes(tmp.path())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_under_concurrency_loses_nothing_and_measures_the_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, task) = Store::open(tmp.path()).unwrap().start_writer();

    // One appender, one record per commit: the fsync-bound baseline.
    let serial = 200;
    let t = Instant::now();
    for i in 0..serial {
        log.append(key_entry(&format!("CAs{i}"), i), None)
            .await
            .unwrap();
    }
    let serial_rate = serial as f64 / t.elapsed().as_secs_f64();

    // 100 concurrent appenders, 100 records each.
    let (tasks, each) = (100, 100);
    let t = Instant::now();
    let mut handles = Vec::new();
    for c in 0..tasks {
        let log: LogHandle = log.clone();
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::with_capacity(each);
            for i in 0..each {
                seqs.push(
                    log.append(key_entry(&format!("CA{c}"), i), None)
                        .await
                        .unwrap()
                        .seq,
                );
            }
            seqs
        }));
    }
    let mut seqs = Vec::new();
    for h in handles {
        let mine = h.await.unwrap();
        // Each task's records are in its own order.
        assert!(mine.windows(2).all(|w| w[0] < w[1]));
        seqs.extend(mine);
    }
    let elapsed = t.elapsed();
    let total = tasks * each;
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        ((serial as u64 + 1)..=(serial + total) as u64).collect::<Vec<_>>()
    );
    log.close().await;
    task.await.unwrap();

    let store = Store::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.verify().unwrap(), Ok((serial + total) as u64));
    for c in [0, 57, 99] {
        let recs = store.call_timeline(&format!("CA{c}")).unwrap();
        assert_eq!(recs.len(), each);
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r.fields.attempt.as_deref(), Some(i.to_string().as_str()));
        }
    }
    // Records of one commit share its time: runs of equal times count commits (a lower bound:
    // two commits in the same millisecond count once).
    let times: Vec<String> = store
        .records(&Filter::default())
        .unwrap()
        .into_iter()
        .skip(serial)
        .map(|r| r.ts)
        .collect();
    let commits = 1 + times.windows(2).filter(|w| w[0] != w[1]).count();
    println!(
        "durable appends: {total} records from {tasks} concurrent tasks in {:.3} s = {:.0} records/s \
         (at least {commits} commits, at most {:.0} records per commit); \
         one appender alone: {serial_rate:.0} records/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        total as f64 / commits as f64,
    );
}

fn key_entry(call: &str, i: usize) -> Entry {
    entry(
        call,
        Kind::Key,
        Fields {
            digit: Some("1".into()),
            digit_source: Some("event".into()),
            at_ms: Some((i * 10).to_string()),
            attempt: Some(i.to_string()),
            ..Fields::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_database_refuses_every_append_and_the_writer_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, task) = Store::open(tmp.path()).unwrap().start_writer();
    for i in 0..3 {
        log.append(key_entry("CA1", i), None).await.unwrap();
    }

    // As on a read-only or full disk: SQLite itself refuses the writes.
    log.inject_failure(true);
    let mut handles = Vec::new();
    for i in 0..20 {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            log.append(key_entry("CA2", i), None).await
        }));
    }
    for h in handles {
        match h.await.unwrap() {
            Err(StoreError::Database(msg)) => assert!(msg.contains("readonly"), "{msg}"),
            other => panic!("expected a database error, got {other:?}"),
        }
    }
    let pending = log.submit(key_entry("CA2", 99), None).unwrap();
    assert!(matches!(pending.await, Err(StoreError::Database(_))));

    // Space is back: recording resumes, with no hole in the chain.
    log.inject_failure(false);
    let c = log.append(key_entry("CA3", 0), None).await.unwrap();
    assert_eq!(c.seq, 4);

    // A real lock held by another connection (another process, a backup tool).
    let blocker = raw(tmp.path());
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let t = Instant::now();
    let e = log.append(key_entry("CA4", 0), None).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Database(m) if m.contains("locked")),
        "{e}"
    );
    assert!(t.elapsed() >= Duration::from_millis(1500));
    blocker.execute_batch("COMMIT").unwrap();
    let c = log.append(key_entry("CA4", 1), None).await.unwrap();
    assert_eq!(c.seq, 5);

    log.close().await;
    task.await.unwrap();
    assert_eq!(verify_ro(tmp.path()), Ok(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_store_cannot_be_written() {
    let tmp = tempfile::tempdir().unwrap();
    fill(tmp.path(), 1).await;
    let ro = Store::open_read_only(tmp.path()).unwrap();
    assert!(ro.has_key());
    assert!(matches!(
        ro.redact_personal(time::OffsetDateTime::now_utc()),
        Err(StoreError::ReadOnly)
    ));
    let (log, task) = ro.start_writer();
    assert!(matches!(
        log.append(key_entry("CA1", 0), None).await,
        Err(StoreError::Database(_))
    ));
    log.inject_failure(true);
    log.inject_failure(false);
    assert!(log.append(key_entry("CA1", 0), None).await.is_err());
    log.close().await;
    task.await.unwrap();
    assert_eq!(verify_ro(tmp.path()), Ok(8));
    // Missing directory: an error, nothing created.
    let missing = tmp.path().join("nope");
    assert!(matches!(
        Store::open_read_only(&missing),
        Err(StoreError::Dir { .. })
    ));
    assert!(!missing.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_continues_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let first = fill(tmp.path(), 1).await;
    let pseudonym = Store::open(tmp.path()).unwrap().pseudonymize(NUMBER);
    let second = fill(tmp.path(), 1).await;
    assert_eq!(second[0].seq, 9);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.pseudonymize(NUMBER), pseudonym, "the key is kept");
    let all = store.records(&Filter::default()).unwrap();
    assert_eq!(all[8].prev_hash, first.last().unwrap().hash);
    assert_eq!(store.verify().unwrap(), Ok(16));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_on_one_directory_keep_one_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, ta) = Store::open(tmp.path()).unwrap().start_writer();
    let (b, tb) = Store::open(tmp.path()).unwrap().start_writer();
    let mut handles = Vec::new();
    for (n, log) in [a.clone(), b.clone()].into_iter().enumerate() {
        for t in 0..5 {
            let log = log.clone();
            handles.push(tokio::spawn(async move {
                for i in 0..40 {
                    log.append(key_entry(&format!("CA{n}-{t}"), i), None)
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    a.close().await;
    b.close().await;
    ta.await.unwrap();
    tb.await.unwrap();
    assert_eq!(verify_ro(tmp.path()), Ok(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_entries_are_refused_and_the_writer_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, task) = Store::open(tmp.path()).unwrap().start_writer();
    let mut e = key_entry("", 0);
    assert!(matches!(
        log.append(e.clone(), None).await,
        Err(StoreError::Invalid(_))
    ));
    e.call_sid = "CA1".into();
    e.fields.detail = Some("x".repeat(100_000));
    assert!(matches!(log.submit(e, None), Err(StoreError::Invalid(_))));
    let bad_personal = PersonalData {
        hash: "not a hash".into(),
        kind: "phone".into(),
        value: "+1".into(),
    };
    assert!(matches!(
        log.append(key_entry("CA1", 0), Some(bad_personal)).await,
        Err(StoreError::Invalid(_))
    ));
    // The clear number put into the chain by mistake.
    let mut leaky = key_entry("CA1", 0);
    leaky.fields.detail = Some(format!("caller {NUMBER}"));
    let store_key = "a".repeat(64);
    assert!(matches!(
        log.append(
            leaky,
            Some(PersonalData {
                hash: store_key,
                kind: "phone".into(),
                value: NUMBER.into(),
            })
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    let mut extra = key_entry("CA1", 0);
    extra.fields.extra.insert("future".into(), "x".into());
    assert!(matches!(
        log.append(extra, None).await,
        Err(StoreError::Invalid(_))
    ));
    // Odd but valid text goes through and verifies.
    let mut odd = key_entry("CA\"1\n\u{0}é", 0);
    odd.fields.detail = Some("tab\t, quote \" and \u{1b}[31m escape".into());
    assert_eq!(log.append(odd, None).await.unwrap().seq, 1);

    // submit: queued without waiting; flush waits for all of it.
    let pendings: Vec<_> = (0..50)
        .map(|i| log.submit(key_entry("CA2", i), None).unwrap())
        .collect();
    log.flush().await;
    assert_eq!(
        Store::open_read_only(tmp.path())
            .unwrap()
            .call_timeline("CA2")
            .unwrap()
            .len(),
        50
    );
    for (i, p) in pendings.into_iter().enumerate() {
        assert_eq!(p.await.unwrap().seq, i as u64 + 2);
    }
    let closer = log.clone();
    closer.close().await;
    task.await.unwrap();
    assert!(matches!(
        log.submit(key_entry("CA3", 0), None),
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        log.append(key_entry("CA3", 0), None).await,
        Err(StoreError::Closed)
    ));
    assert_eq!(verify_ro(tmp.path()), Ok(51));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_writes_everything_already_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, task) = Store::open(tmp.path()).unwrap().start_writer();
    let pendings: Vec<_> = (0..300)
        .map(|i| log.submit(key_entry("CA1", i), None).unwrap())
        .collect();
    log.close().await;
    task.await.unwrap();
    for p in pendings {
        p.await.unwrap();
    }
    assert_eq!(verify_ro(tmp.path()), Ok(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_of_unknown_kinds_and_fields_verify_and_the_chain_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let first = fill(tmp.path(), 1).await;
    // A newer version wrote a kind and a field this one does not know.
    let mut r = Record {
        seq: 9,
        ts: "2030-01-01T00:00:00.000Z".into(),
        call_sid: "CA0".into(),
        stream_sid: None,
        kind: "consent_revoked".into(),
        fields: serde_json::from_str(r#"{"reason":"caller asked","channel":{"via":"ivr","n":2}}"#)
            .unwrap(),
        prev_hash: first.last().unwrap().hash.clone(),
        hash: String::new(),
    };
    r.hash = consent::compute_hash(&r);
    raw(tmp.path())
        .execute(
            "INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                9,
                r.ts,
                r.call_sid,
                r.stream_sid,
                r.kind,
                r#"{"channel": {"n": 2, "via": "ivr"}, "reason": "caller asked"}"#,
                r.prev_hash,
                r.hash
            ],
        )
        .unwrap();
    assert_eq!(verify_ro(tmp.path()), Ok(9));
    let more = fill(tmp.path(), 1).await;
    assert_eq!(more[0].seq, 10);
    let store = Store::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.verify().unwrap(), Ok(17));
    let back = &store.call_timeline("CA0").unwrap()[8];
    assert_eq!(back.kind, "consent_revoked");
    assert_eq!(back.known_kind(), None);
    assert_eq!(back.fields.extra["channel"]["via"], "ivr");
}

#[test]
fn the_installation_key_is_private_kept_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new").join("data");
    let a = Store::open(&dir).unwrap().pseudonymize(NUMBER);
    let key_path = dir.join("installation.key");
    let text = std::fs::read_to_string(&key_path).unwrap();
    assert!(consent::is_hash_hex(text.trim()), "{text:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key_path), 0o600);
        assert_eq!(mode(&dir.join("consent.db")), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    assert_eq!(Store::open(&dir).unwrap().pseudonymize(NUMBER), a);
    // Another installation, another pseudonym.
    assert_ne!(
        Store::open(&tmp.path().join("other"))
            .unwrap()
            .pseudonymize(NUMBER),
        a
    );

    std::fs::write(&key_path, "zz\n").unwrap();
    let e = Store::open(&dir).unwrap_err();
    assert!(matches!(&e, StoreError::Key { .. }), "{e}");
    assert!(
        e.to_string().contains("installation.key") && e.to_string().contains("corrupt"),
        "{e}"
    );
    assert!(Store::open_read_only(&dir).is_err());

    // Read-only without a key: still reads, but pseudonyms match nothing.
    std::fs::remove_file(&key_path).unwrap();
    let ro = Store::open_read_only(&dir).unwrap();
    assert!(!ro.has_key());
    assert_ne!(ro.pseudonymize(NUMBER), a);
    assert_eq!(ro.verify().unwrap(), Ok(0));

    // A data "directory" that is a file.
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(Store::open(&file), Err(StoreError::Dir { .. })));
}
