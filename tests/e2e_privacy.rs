//! The privacy-request line end to end: the real server, the simulated caller pressing keys
//! in-band, requests filed in the chained store with their due dates, never recorded.

#[path = "support/server.rs"]
mod server;

use consentline::caller::place_call;
use consentline::privacy::{deadline, RequestType, Status};
use consentline::store::requests::RequestFilter;
use server::{start, PRIVACY_LINE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_out_by_phone_files_a_request_and_lists_the_number() {
    let server = start(None, None).await;
    let mut plan = server.plan("31"); // opt out, use my caller ID
    plan.to = PRIVACY_LINE.into();
    plan.from = "+14155550123".into();
    let report = place_call(&plan).await.unwrap();
    assert!(
        report
            .close
            .as_ref()
            .is_some_and(|c| c.1.contains("request filed")),
        "{report:#?}"
    );
    // Never recorded, no bridge unless a person was asked for.
    let twiml = report.after_twiml.unwrap();
    assert!(
        !twiml.contains("record=") && twiml.contains("<Hangup/>"),
        "{twiml}"
    );
    let store = server.store();
    let rows = store.list_requests(&RequestFilter::default()).unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.request_type, Some(RequestType::OptOut));
    assert_eq!(row.status, Status::Received);
    assert_eq!(row.honor_due, Some(deadline::honor_due(row.received_date)));
    assert_eq!(row.call_sid, report.call_sid);
    // The caller heard their confirmation number read back (digits prompts, twice).
    assert!(report.heard.len() > 8000 * 5);
    assert!(store.dnc_check("+14155550123").unwrap().is_some());
    assert!(!store
        .may_ask_opt_in("(415) 555-0123", row.received_date)
        .unwrap());
    assert!(store.verify().unwrap().is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_to_know_asks_who_is_calling_and_awaits_verification() {
    let server = start(None, None).await;
    let mut plan = server.plan("112"); // know, use caller ID, authorized agent
    plan.to = PRIVACY_LINE.into();
    let report = place_call(&plan).await.unwrap();
    assert!(
        report
            .close
            .as_ref()
            .is_some_and(|c| c.1.contains("request filed")),
        "{report:#?}"
    );
    let rows = server
        .store()
        .list_requests(&RequestFilter::default())
        .unwrap();
    assert_eq!(rows[0].request_type, Some(RequestType::Know));
    assert_eq!(rows[0].status, Status::AwaitingVerification);
    assert_eq!(
        rows[0].requester,
        Some(consentline::privacy::Requester::Agent)
    );
    assert_eq!(
        rows[0].due,
        Some(deadline::response_due(rows[0].received_date))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_reaches_a_person_without_recording() {
    let server = start(None, None).await;
    let mut plan = server.plan("0");
    plan.to = PRIVACY_LINE.into();
    let report = place_call(&plan).await.unwrap();
    let twiml = report.after_twiml.unwrap();
    assert!(
        twiml.contains("<Number>+14155550199</Number>") && !twiml.contains("record="),
        "{twiml}"
    );
    assert!(server
        .store()
        .list_requests(&RequestFilter::default())
        .unwrap()
        .is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_part_way_leaves_an_abandoned_request() {
    let server = start(None, None).await;
    let mut plan = server.plan("2"); // delete, then hang up during the caller-ID read-back
    plan.to = PRIVACY_LINE.into();
    plan.hangup_after = Some(4.5);
    let _ = place_call(&plan).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let rows = server
        .store()
        .list_requests(&RequestFilter::default())
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].status, Status::Abandoned);
    assert_eq!(rows[0].request_type, Some(RequestType::Delete));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_opting_out_the_consent_line_never_asks_to_record() {
    let server = start(None, None).await;
    let mut plan = server.plan("31");
    plan.to = PRIVACY_LINE.into();
    plan.from = "+14155550777".into();
    place_call(&plan).await.unwrap();
    // Same caller, the business's consent line: not asked, not recorded, still bridged.
    let mut plan = server.plan("1");
    plan.from = "+14155550777".into();
    let report = place_call(&plan).await.unwrap();
    let twiml = report.after_twiml.unwrap();
    assert!(
        twiml.contains("<Dial") && !twiml.contains("record="),
        "{twiml}"
    );
    assert!(report.close.unwrap().1.contains("no_record"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_type_is_filed_end_to_end_and_listed_with_its_due_date() {
    let server = start(None, None).await;
    let mut handles = Vec::new();
    for (i, keys) in ["111", "211", "31", "411", "51"].into_iter().enumerate() {
        let mut plan = server.plan(keys);
        plan.to = PRIVACY_LINE.into();
        plan.from = format!("+1415555020{i}");
        handles.push(tokio::spawn(
            async move { place_call(&plan).await.unwrap() },
        ));
    }
    for h in handles {
        let report = h.await.unwrap();
        assert!(
            report
                .close
                .as_ref()
                .is_some_and(|c| c.1.contains("request filed")),
            "{report:#?}"
        );
    }
    let data = server.data.clone();
    let _dirs = server.stop().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_consentline"))
        .args(["requests", "export", "--format", "jsonl", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5);
    let store = consentline::store::Store::open(&data).unwrap();
    for row in store.list_requests(&RequestFilter::default()).unwrap() {
        let t = row.request_type.unwrap();
        match t {
            RequestType::OptOut | RequestType::Limit => {
                assert_eq!(
                    row.honor_due,
                    Some(deadline::honor_due(row.received_date)),
                    "{t:?}"
                )
            }
            _ => assert_eq!(
                row.due,
                Some(deadline::response_due(row.received_date)),
                "{t:?}"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_load_run_gets_every_expected_outcome_and_loses_no_record() {
    use consentline::load::{run, LoadPlan, Scenario};
    let server = start(None, None).await;
    let plan = LoadPlan {
        url: server.url.clone(),
        calls: 12,
        rate: 20.0,
        mix: Scenario::ALL.to_vec(),
        privacy_line: PRIVACY_LINE.into(),
    };
    let report = run(&plan).await;
    assert_eq!(report.ledger.len(), 12);
    assert_eq!(report.failed(), 0, "{:#?}", report.ledger);
    // Every call the ledger saw recorded has its durable consent on file.
    let store = server.store();
    for entry in report.ledger.iter().filter(|e| e.bridged_with_recording) {
        assert_eq!(
            store.decision_for(&entry.call_sid).unwrap().as_deref(),
            Some("record")
        );
    }
    assert!(store.verify().unwrap().is_ok());
    server.stop().await;
}
