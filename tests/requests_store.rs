//! Privacy requests and the do-not-contact list in the consent log (`store::requests`).
//!
//! The chain is the source of truth; the `requests` and `dnc` tables are a derived view
//! written in the same transaction. `Store::verify` (`audit verify`) checks the chain only;
//! `Store::check_view` (`requests verify`) checks the tables against it.

use consentline::consent::{Entry, Fields, Kind};
use consentline::privacy::{ConfirmationNumber, RequestType, Requester, Status};
use consentline::store::requests::{
    AbandonedRequest, NewRequest, RequestFilter, RequestRow, STAFF,
};
use consentline::store::{Store, StoreError};
use std::path::Path;
use time::macros::{date, datetime};
use time::OffsetDateTime;

const CALLER: &str = "+14155550123";
/// 10:00 in California on Wednesday 2026-12-23.
const RECEIVED: OffsetDateTime = datetime!(2026-12-23 18:00 UTC);

fn new_request(call: &str, kind: RequestType) -> NewRequest {
    NewRequest {
        call_sid: call.into(),
        stream_sid: Some(format!("MZ{call}")),
        request_type: kind,
        requester: kind.needs_verification().then_some(Requester::Consumer),
        language: "en".into(),
        callback_number: Some(CALLER.into()),
        received: RECEIVED,
    }
}

fn assert_consistent(store: &Store) {
    let n = store.verify().unwrap().expect("chain verifies");
    assert!(n > 0);
    let check = store.check_view().unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
}

fn raw(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("consent.db")).unwrap()
}

#[test]
fn files_each_type_with_its_status_and_due_dates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for (i, kind) in RequestType::ALL.into_iter().enumerate() {
        let filed = store
            .file_request(new_request(&format!("CA{i}"), kind))
            .unwrap();
        assert_eq!(filed.received_date, date!(2026 - 12 - 23));
        let row = store.get_request(filed.confirmation).unwrap().unwrap();
        assert_eq!(row.confirmation, filed.confirmation.to_string());
        assert_eq!(row.request_type, Some(kind));
        assert_eq!(row.manner, "toll_free_phone");
        assert_eq!(row.language.as_deref(), Some("en"));
        assert_eq!(row.call_sid, format!("CA{i}"));
        assert_eq!(row.received_ts, "2026-12-23T18:00:00.000Z");
        assert_eq!(row.callback_hash, Some(store.pseudonymize(CALLER)));
        if kind.needs_verification() {
            assert_eq!(row.status, Status::AwaitingVerification);
            assert_eq!(row.requester, Some(Requester::Consumer));
            assert_eq!(filed.due, Some(date!(2027 - 02 - 06)));
            assert_eq!(filed.receipt_due, Some(date!(2027 - 01 - 08)));
            assert_eq!(filed.honor_due, None);
            assert_eq!(row.deadline(), Some(date!(2027 - 02 - 06)));
        } else {
            assert_eq!(row.status, Status::Received);
            assert_eq!(filed.due, None);
            assert_eq!(filed.honor_due, Some(date!(2027 - 01 - 15)));
            assert_eq!(row.deadline(), Some(date!(2027 - 01 - 15)));
        }
        assert_eq!((row.due, row.honor_due), (filed.due, filed.honor_due));
        let history = store.request_history(filed.confirmation).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].kind, "request_received");
        assert_eq!(history[0].seq, filed.committed.seq);
        assert_eq!(history[0].hash, filed.committed.hash);
        assert_consistent(&store);
    }
    assert_eq!(store.export_requests().unwrap().len(), 5);
    // Distinct confirmation numbers, all valid.
    let mut confs: Vec<String> = store
        .export_requests()
        .unwrap()
        .into_iter()
        .map(|r| r.confirmation)
        .collect();
    for c in &confs {
        ConfirmationNumber::parse(c).unwrap();
    }
    confs.sort();
    confs.dedup();
    assert_eq!(confs.len(), 5);
}

#[test]
fn opt_out_puts_the_number_on_the_list_in_the_same_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.dnc_check(CALLER).unwrap(), None);
    let filed = store
        .file_request(new_request("CA1", RequestType::OptOut))
        .unwrap();
    let records = store.records(&Default::default()).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].kind, "request_received");
    assert_eq!(records[1].kind, "dnc_added");
    assert_eq!(records[1].ts, records[0].ts, "one transaction");
    assert_eq!(
        records[1].fields.source.as_deref(),
        Some(filed.confirmation.to_string().as_str())
    );
    assert_eq!(
        records[1].fields.opt_out_date.as_deref(),
        Some("2026-12-23")
    );
    // The same number keyed in as 10 digits, or written any other way, matches.
    for spelling in [CALLER, "4155550123", "(415) 555-0123", "1-415-555-0123"] {
        assert_eq!(
            store.dnc_check(spelling).unwrap(),
            Some(date!(2026 - 12 - 23)),
            "{spelling}"
        );
    }
    assert_eq!(store.dnc_check("+14155550124").unwrap(), None);
    // The 12-month rule through the store.
    assert!(!store.may_ask_opt_in(CALLER, date!(2027 - 12 - 22)).unwrap());
    assert!(store.may_ask_opt_in(CALLER, date!(2027 - 12 - 23)).unwrap());
    assert!(store
        .may_ask_opt_in("+14155550124", date!(2026 - 12 - 24))
        .unwrap());
    // Caller ID that is not a number cannot be checked: never asked.
    assert!(!store
        .may_ask_opt_in("anonymous", date!(2030 - 01 - 01))
        .unwrap());
    // Know/limit requests do not touch the list.
    store
        .file_request(new_request("CA2", RequestType::Limit))
        .unwrap();
    let mut other = new_request("CA3", RequestType::Know);
    other.callback_number = Some("+14155550199".into());
    store.file_request(other).unwrap();
    assert_eq!(store.dnc_check("+14155550199").unwrap(), None);
    assert_eq!(store.dnc_export().unwrap().len(), 1);
    assert_consistent(&store);
}

#[test]
fn dnc_keeps_the_latest_opt_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.dnc_add(CALLER, date!(2025 - 11 - 22), STAFF).unwrap();
    assert!(!store.may_ask_opt_in(CALLER, date!(2026 - 11 - 21)).unwrap());
    assert!(store.may_ask_opt_in(CALLER, date!(2026 - 11 - 22)).unwrap());
    // A later opt-out restarts the 12 months; an earlier one (entered late) does not.
    store
        .dnc_add(CALLER, date!(2026 - 03 - 01), "1234567897")
        .unwrap();
    store.dnc_add(CALLER, date!(2025 - 01 - 01), STAFF).unwrap();
    assert_eq!(
        store.dnc_check(CALLER).unwrap(),
        Some(date!(2026 - 03 - 01))
    );
    assert!(!store.may_ask_opt_in(CALLER, date!(2027 - 02 - 28)).unwrap());
    assert!(store.may_ask_opt_in(CALLER, date!(2027 - 03 - 01)).unwrap());
    // Feb 29 opt-out: allowed from Mar 1 next year.
    store
        .dnc_add("+14155550111", date!(2028 - 02 - 29), STAFF)
        .unwrap();
    assert!(!store
        .may_ask_opt_in("+14155550111", date!(2029 - 02 - 28))
        .unwrap());
    assert!(store
        .may_ask_opt_in("+14155550111", date!(2029 - 03 - 01))
        .unwrap());
    let list = store.dnc_export().unwrap();
    assert_eq!(list.len(), 2);
    let mine = list
        .iter()
        .find(|e| e.number_hash == store.pseudonymize(CALLER))
        .unwrap();
    assert_eq!(mine.source, "1234567897");
    assert_eq!(mine.number.as_deref(), Some(CALLER));
    assert!(matches!(
        store.dnc_add("555-0100", date!(2026 - 01 - 01), STAFF),
        Err(StoreError::Invalid(_))
    ));
    assert_consistent(&store);
    // Redaction blanks the clear number; the list still matches it by its pseudonym.
    store
        .redact_personal(OffsetDateTime::now_utc() + time::Duration::days(1))
        .unwrap();
    assert!(store
        .dnc_export()
        .unwrap()
        .iter()
        .all(|e| e.number.is_none()));
    assert_eq!(
        store.dnc_check(CALLER).unwrap(),
        Some(date!(2026 - 03 - 01))
    );
    assert_consistent(&store);
}

#[test]
fn the_clear_callback_number_never_enters_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for kind in RequestType::ALL {
        store.file_request(new_request("CA1", kind)).unwrap();
    }
    store
        .dnc_add("4155550177", date!(2026 - 12 - 24), STAFF)
        .unwrap();
    let conn = raw(dir.path());
    let mut stmt = conn
        .prepare("SELECT call_sid || fields || kind FROM records")
        .unwrap();
    let texts: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(texts.len(), 7);
    for t in &texts {
        assert!(!t.contains("5550123") && !t.contains("5550177"), "{t}");
    }
    let mut stmt = conn.prepare("SELECT * FROM requests").unwrap();
    let cols = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        for i in 0..cols {
            if let Ok(Some(v)) = row.get::<_, Option<String>>(i) {
                assert!(!v.contains("5550123"), "{v}");
            }
        }
    }
    let clear: Vec<String> = conn
        .prepare("SELECT value FROM personal_data ORDER BY value")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(clear, ["+14155550123", "+14155550177"]);
}

#[test]
fn status_changes_are_chained_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let know = store
        .file_request(new_request("CA1", RequestType::Know))
        .unwrap()
        .confirmation;
    let opt = store
        .file_request(new_request("CA2", RequestType::OptOut))
        .unwrap()
        .confirmation;

    let invalid = |r: Result<RequestRow, StoreError>| match r {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    };
    // Denied needs a basis.
    let m = invalid(store.update_status(know, Status::Denied, None));
    assert!(m.contains("basis"), "{m}");
    invalid(store.update_status(know, Status::Denied, Some("   ")));
    // Opt-out needs no verification.
    let m = invalid(store.update_status(opt, Status::Verifying, None));
    assert!(m.contains("verification"), "{m}");
    // Staff cannot set the intake statuses.
    invalid(store.update_status(know, Status::Abandoned, None));

    let row = store.update_status(know, Status::Verifying, None).unwrap();
    assert_eq!(row.status, Status::Verifying);
    assert_consistent(&store);
    let row = store
        .update_status(know, Status::Denied, Some("could not verify identity"))
        .unwrap();
    assert_eq!(row.status, Status::Denied);
    assert_eq!(row.basis.as_deref(), Some("could not verify identity"));
    assert_consistent(&store);
    // Final.
    let m = invalid(store.update_status(know, Status::Fulfilled, None));
    assert!(m.contains("already denied"), "{m}");

    let row = store.update_status(opt, Status::Fulfilled, None).unwrap();
    assert_eq!(row.status, Status::Fulfilled);
    assert_consistent(&store);

    let history = store.request_history(know).unwrap();
    let kinds: Vec<_> = history.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["request_received", "request_updated", "request_updated"]
    );
    // Staff records carry the call's sid (so `audit show CA1` shows the whole life).
    assert!(history.iter().all(|r| r.call_sid == "CA1"));
    assert_eq!(history[2].fields.status.as_deref(), Some("denied"));
    assert_eq!(
        history[2].fields.basis.as_deref(),
        Some("could not verify identity")
    );
    // Unknown confirmation number.
    let unknown = ConfirmationNumber::parse("1000000008").unwrap();
    let m = invalid(store.update_status(unknown, Status::Fulfilled, None));
    assert!(m.contains("no request"), "{m}");
}

#[test]
fn extension_only_once_within_the_first_45_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let del = store
        .file_request(new_request("CA1", RequestType::Delete))
        .unwrap()
        .confirmation;
    let limit = store
        .file_request(new_request("CA2", RequestType::Limit))
        .unwrap()
        .confirmation;
    let late = store
        .file_request(new_request("CA3", RequestType::Correct))
        .unwrap()
        .confirmation;
    let today = date!(2027 - 01 - 20);
    assert!(matches!(
        store.extend(del, "  ", today),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.extend(limit, "volume", today),
        Err(StoreError::Invalid(_))
    ));
    let row = store
        .extend(del, "records held by a service provider", today)
        .unwrap();
    assert_eq!(row.extended_due, Some(date!(2027 - 03 - 23)));
    assert_eq!(
        row.extension_reason.as_deref(),
        Some("records held by a service provider")
    );
    assert_eq!(row.due, Some(date!(2027 - 02 - 06)), "original kept");
    assert_eq!(row.deadline(), Some(date!(2027 - 03 - 23)));
    assert_consistent(&store);
    match store.extend(del, "again", today) {
        Err(StoreError::Invalid(m)) => assert!(m.contains("once"), "{m}"),
        other => panic!("{other:?}"),
    }
    // On the due date itself: still allowed; the day after: too late.
    assert!(store.extend(late, "x", date!(2027 - 02 - 07)).is_err());
    assert!(store.extend(late, "x", date!(2027 - 02 - 06)).is_ok());
    assert_eq!(store.request_history(del).unwrap().len(), 2);
    assert_consistent(&store);
}

#[test]
fn a_hang_up_leaves_an_abandoned_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let filed = store
        .record_abandoned(AbandonedRequest {
            call_sid: "CA9".into(),
            stream_sid: Some("MZ9".into()),
            request_type: Some(RequestType::OptOut),
            requester: None,
            language: "es".into(),
            callback_number: None,
            received: RECEIVED,
            step: "callback_number".into(),
        })
        .unwrap();
    let none_yet = store
        .record_abandoned(AbandonedRequest {
            call_sid: "CA10".into(),
            stream_sid: None,
            request_type: None,
            requester: None,
            language: "en".into(),
            callback_number: None,
            received: RECEIVED,
            step: "menu".into(),
        })
        .unwrap();
    assert_ne!(filed.confirmation, none_yet.confirmation);
    let row = store.get_request(filed.confirmation).unwrap().unwrap();
    assert_eq!(row.status, Status::Abandoned);
    assert_eq!(row.request_type, Some(RequestType::OptOut));
    assert_eq!(row.detail.as_deref(), Some("callback_number"));
    assert_eq!(row.language.as_deref(), Some("es"));
    assert_eq!(row.deadline(), None);
    assert!(!row.is_overdue(date!(2030 - 01 - 01)));
    // No opt-out without a number, and nothing to change later.
    assert!(store.dnc_export().unwrap().is_empty());
    assert!(store
        .update_status(filed.confirmation, Status::Fulfilled, None)
        .is_err());
    let row = store.get_request(none_yet.confirmation).unwrap().unwrap();
    assert_eq!(row.request_type, None);
    let abandoned = store
        .list_requests(&RequestFilter {
            status: Some(Status::Abandoned),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(abandoned.len(), 2);
    assert_consistent(&store);
}

#[test]
fn list_filters() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let know = store
        .file_request(new_request("CA1", RequestType::Know))
        .unwrap(); // due 2027-02-06
    let opt = store
        .file_request(new_request("CA2", RequestType::OptOut))
        .unwrap(); // honour by 2027-01-15
    let all = store.list_requests(&RequestFilter::default()).unwrap();
    assert_eq!(all.len(), 2);
    let before = |d| {
        store
            .list_requests(&RequestFilter {
                due_before: Some(d),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(before(date!(2027 - 01 - 15)), 0, "strictly before");
    assert_eq!(before(date!(2027 - 01 - 16)), 1);
    assert_eq!(before(date!(2027 - 02 - 07)), 2);
    let overdue = |d| {
        store
            .list_requests(&RequestFilter {
                overdue_on: Some(d),
                ..Default::default()
            })
            .unwrap()
    };
    assert!(
        overdue(date!(2027 - 01 - 15)).is_empty(),
        "due today is not overdue"
    );
    let o = overdue(date!(2027 - 01 - 16));
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].confirmation, opt.confirmation.to_string());
    assert_eq!(o[0].days_left(date!(2027 - 01 - 16)), Some(-1));
    // Fulfilled requests are never overdue.
    store
        .update_status(opt.confirmation, Status::Fulfilled, None)
        .unwrap();
    assert!(overdue(date!(2027 - 01 - 16)).is_empty());
    assert_eq!(overdue(date!(2027 - 02 - 07)).len(), 1);
    let awaiting = store
        .list_requests(&RequestFilter {
            status: Some(Status::AwaitingVerification),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(awaiting.len(), 1);
    assert_eq!(awaiting[0].confirmation, know.confirmation.to_string());
    assert_eq!(awaiting[0].days_left(date!(2027 - 02 - 01)), Some(5));
}

/// The tables are a derived view: a change made to them without a chained record leaves the
/// chain verifying (`audit verify` is about the chain), is named by `check_view`
/// (`requests verify`), and blocks further staff changes to that request.
#[test]
fn editing_the_tables_without_a_record_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store
        .file_request(new_request("CA1", RequestType::Delete))
        .unwrap()
        .confirmation;
    store
        .file_request(new_request("CA2", RequestType::OptOut))
        .unwrap();
    assert_consistent(&store);
    let conn = raw(dir.path());
    conn.execute(
        "UPDATE requests SET status = 'fulfilled' WHERE confirmation = ?1",
        [a.to_string()],
    )
    .unwrap();
    conn.execute("DELETE FROM dnc", []).unwrap();
    conn.execute(
        "INSERT INTO requests SELECT '2000000007', call_sid, received_ts, received_date,
                request_type, requester, language, manner, status, callback_hash, due,
                honor_due, receipt_due, extended_due, extension_reason, basis, detail,
                updated_ts, last_seq FROM requests WHERE confirmation = ?1",
        [a.to_string()],
    )
    .unwrap();
    assert!(
        store.verify().unwrap().is_ok(),
        "the chain itself is intact"
    );
    let check = store.check_view().unwrap();
    assert_eq!(check.requests, 2);
    assert_eq!(check.dnc, 1);
    let text = check.problems.join("\n");
    assert_eq!(check.problems.len(), 3, "{text}");
    assert!(
        text.contains(&format!("request {a}: table row differs")),
        "{text}"
    );
    assert!(
        text.contains("2000000007: in the table but not in the chain"),
        "{text}"
    );
    assert!(text.contains("do-not-contact"), "{text}");
    match store.update_status(a, Status::Denied, Some("x")) {
        Err(StoreError::Database(m)) => assert!(m.contains("disagrees"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The opt-out is gone from the table, so the check answers "not listed" until repaired:
    // that is why `requests verify` belongs next to `audit verify` in routine checks.
    assert_eq!(store.dnc_check(CALLER).unwrap(), None);
}

#[test]
fn read_only_stores_refuse_changes_but_list() {
    let dir = tempfile::tempdir().unwrap();
    let conf = {
        let store = Store::open(dir.path()).unwrap();
        store
            .file_request(new_request("CA1", RequestType::Know))
            .unwrap()
            .confirmation
    };
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(ro.export_requests().unwrap().len(), 1);
    assert!(ro.get_request(conf).unwrap().is_some());
    assert_eq!(
        ro.file_request(new_request("CA2", RequestType::Know)),
        Err(StoreError::ReadOnly)
    );
    assert_eq!(
        ro.update_status(conf, Status::Fulfilled, None),
        Err(StoreError::ReadOnly)
    );
    assert_eq!(ro.dnc_check(CALLER).unwrap(), None);
}

/// The server's writer (group commit) and the request API on a second store of the same
/// directory interleave into one chain.
#[test]
fn requests_and_the_group_commit_writer_share_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let requests = std::sync::Arc::new(Store::open(dir.path()).unwrap());
    rt.block_on(async {
        let (log, task) = Store::open(dir.path()).unwrap().start_writer();
        let mut joins = Vec::new();
        for i in 0..4 {
            let store = requests.clone();
            joins.push(tokio::task::spawn_blocking(move || {
                (0..10)
                    .map(|j| {
                        store
                            .file_request(new_request(
                                &format!("CA{i}_{j}"),
                                RequestType::ALL[j % 5],
                            ))
                            .unwrap()
                    })
                    .count()
            }));
        }
        let mut appends = Vec::new();
        for i in 0..200 {
            let log = log.clone();
            appends.push(tokio::spawn(async move {
                log.append(
                    Entry {
                        call_sid: format!("CAkey{i}"),
                        stream_sid: None,
                        kind: Kind::Key,
                        fields: Fields {
                            digit: Some("1".into()),
                            ..Fields::default()
                        },
                    },
                    None,
                )
                .await
                .unwrap()
            }));
        }
        for j in joins {
            assert_eq!(j.await.unwrap(), 10);
        }
        for a in appends {
            a.await.unwrap();
        }
        log.close().await;
        task.await.unwrap();
    });
    // 200 keys + 40 requests + 8 opt-outs' dnc records.
    assert_eq!(requests.verify().unwrap(), Ok(248));
    assert_eq!(requests.export_requests().unwrap().len(), 40);
    assert_consistent(&requests);
}

#[test]
fn new_fields_and_kinds_encode_canonically() {
    let f = Fields {
        confirmation: Some("1234567897".into()),
        status: Some("denied".into()),
        basis: Some("b".into()),
        request_type: Some("know".into()),
        requester: Some("agent".into()),
        received: Some("2026-12-23T18:00:00.000Z".into()),
        receipt_due: Some("2027-01-08".into()),
        ..Fields::default()
    };
    assert_eq!(
        f.canonical_json(),
        r#"{"basis":"b","confirmation":"1234567897","receipt_due":"2027-01-08","received":"2026-12-23T18:00:00.000Z","request_type":"know","requester":"agent","status":"denied"}"#
    );
    let back: Fields = serde_json::from_str(&f.canonical_json()).unwrap();
    assert_eq!(back, f);
    assert!(back.extra.is_empty());
    for name in Fields::NAMES {
        let mut m = serde_json::Map::new();
        m.insert(name.into(), "v".into());
        let f: Fields = serde_json::from_value(serde_json::Value::Object(m)).unwrap();
        assert_eq!(f.get(name), Some("v"), "{name}");
        assert!(f.extra.is_empty(), "{name} is a known field");
    }
    for (k, s) in [
        (Kind::RequestReceived, "request_received"),
        (Kind::RequestUpdated, "request_updated"),
        (Kind::DncAdded, "dnc_added"),
    ] {
        assert_eq!(k.as_str(), s);
        assert_eq!(Kind::parse(s), Some(k));
    }
}
