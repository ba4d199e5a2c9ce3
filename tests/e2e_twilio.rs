//! End to end: the real server on 127.0.0.1, real WebSocket clients speaking Twilio's
//! protocol (the simulated caller and hand-made hostile ones), the real SQLite log.

#[path = "support/server.rs"]
mod server;

use consentline::caller::{place_call, CallReport, KeyMode, When};
use consentline::protocol::twilio::sim;
use consentline::store::{Filter, Store};
use futures_util::{SinkExt, StreamExt};
use server::{close_of, start};
use std::path::Path;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

fn kinds(store: &Store, call_sid: &str) -> Vec<String> {
    store
        .records(&Filter {
            call_sid: Some(call_sid.into()),
            since: None,
        })
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect()
}

fn assert_recorded(report: &CallReport) {
    assert!(
        report.bridged_with_recording(),
        "expected a recorded bridge: {report:#?}"
    );
    assert!(report
        .after_twiml
        .as_deref()
        .unwrap()
        .contains("<Number>+14155550100</Number>"));
}

fn assert_not_recorded(report: &CallReport) {
    let twiml = report.after_twiml.as_deref().unwrap_or("");
    assert!(!twiml.contains("record="), "expected no recording: {twiml}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_by_inband_tone_with_the_shipped_prompts() {
    let server = start(
        Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")),
        None,
    )
    .await;
    let report = place_call(&server.plan("1")).await.unwrap();
    assert_recorded(&report);
    assert_eq!(report.close.as_ref().map(|c| c.0), Some(1000));
    // The caller heard the disclosure and the confirmation: about 14 s of audio.
    assert!(
        report.heard.len() > 8000 * 12,
        "heard {} samples",
        report.heard.len()
    );
    let store = server.store();
    let kinds = kinds(&store, &report.call_sid);
    for k in [
        "call_started",
        "prompt_started",
        "prompt_played",
        "key",
        "decision",
        "call_ended",
        "bridge_answered",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing in {kinds:?}");
    }
    assert_eq!(
        store.decision_for(&report.call_sid).unwrap().as_deref(),
        Some("record")
    );
    assert!(matches!(store.verify().unwrap(), Ok(n) if n >= 8));
    // The played disclosure's hash in the log is the catalog's.
    let catalog = consentline::prompt::Catalog::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        Default::default(),
    )
    .unwrap();
    let disclosure = catalog.get("consent.disclosure", "en").unwrap();
    let played = store
        .records(&Filter {
            call_sid: Some(report.call_sid.clone()),
            since: None,
        })
        .unwrap()
        .into_iter()
        .find(|r| r.kind == "prompt_played")
        .unwrap();
    assert_eq!(
        played.fields.prompt_sha256.as_deref(),
        Some(disclosure.sha256_hex().as_str())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_by_dtmf_event() {
    let server = start(None, None).await;
    let mut plan = server.plan("1");
    plan.mode = KeyMode::Event;
    let report = place_call(&plan).await.unwrap();
    assert_recorded(&report);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decline_bridges_without_recording() {
    let server = start(None, None).await;
    let report = place_call(&server.plan("2")).await.unwrap();
    assert_not_recorded(&report);
    assert!(report.after_twiml.as_deref().unwrap().contains("<Dial"));
    assert_eq!(
        server
            .store()
            .decision_for(&report.call_sid)
            .unwrap()
            .as_deref(),
        Some("no_record")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_clears_the_disclosure() {
    let server = start(
        Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")),
        None,
    )
    .await;
    let mut plan = server.plan("1");
    plan.when = When::At(2.0);
    let report = place_call(&plan).await.unwrap();
    assert!(report.clears >= 1, "{report:#?}");
    assert_eq!(report.key_to_clear.len(), 1);
    // In-band detection needs ~35 ms of tone; with 20 ms frames the clear comes well
    // within a quarter second (measured, not asserted tighter: tests don't time-assert).
    assert!(report.key_to_clear[0] < 1.0, "{:?}", report.key_to_clear);
    assert_recorded(&report);
    let kinds = kinds(&server.store(), &report.call_sid);
    assert!(kinds.iter().any(|k| k == "prompt_interrupted"), "{kinds:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_sent_both_ways_counts_once() {
    let server = start(None, None).await;
    let mut plan = server.plan("5");
    plan.mode = KeyMode::Both;
    plan.hangup_after = Some(4.0);
    let report = place_call(&plan).await.unwrap();
    let store = server.store();
    let keys: Vec<_> = store
        .records(&Filter {
            call_sid: Some(report.call_sid.clone()),
            since: None,
        })
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "key")
        .collect();
    assert_eq!(keys.len(), 1, "{keys:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_up_mid_prompt_ends_cleanly() {
    let server = start(None, None).await;
    let mut plan = server.plan("");
    plan.hangup_after = Some(0.3);
    let report = place_call(&plan).await.unwrap();
    // Twilio would not call the action URL after a hang-up; our caller still asks, and the
    // answer is the safe one.
    assert_not_recorded(&report);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kinds = kinds(&server.store(), &report.call_sid);
    assert!(kinds.iter().any(|k| k == "call_ended"), "{kinds:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_calls_at_once_each_get_their_own_outcome() {
    let server = start(None, None).await;
    let mut handles = Vec::new();
    for i in 0..8 {
        let mut plan = server.plan(if i % 2 == 0 { "1" } else { "2" });
        plan.mode = if i % 3 == 0 {
            KeyMode::Event
        } else {
            KeyMode::Inband
        };
        handles.push(tokio::spawn(async move {
            (i, place_call(&plan).await.unwrap())
        }));
    }
    for h in handles {
        let (i, report) = h.await.unwrap();
        if i % 2 == 0 {
            assert_recorded(&report);
        } else {
            assert_not_recorded(&report);
        }
    }
    assert!(server.store().verify().unwrap().is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spanish_line_uses_spanish_prompts() {
    let server = start(None, None).await;
    let mut plan = server.plan("2");
    plan.to = "+18005550000".into();
    let report = place_call(&plan).await.unwrap();
    // That line has no bridge destination: goodbye and hang up, in Spanish.
    let twiml = report.after_twiml.unwrap();
    assert!(
        twiml.contains("<Hangup/>") && twiml.contains("es-US"),
        "{twiml}"
    );
    let records = server
        .store()
        .records(&Filter {
            call_sid: Some(report.call_sid.clone()),
            since: None,
        })
        .unwrap();
    assert!(records
        .iter()
        .filter(|r| r.kind == "prompt_started")
        .all(|r| r.fields.language.as_deref() == Some("es")));
    server.stop().await;
}

/// Open a raw media stream and return it.
async fn raw_stream(
    url: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let ws_url = url.replace("http://", "ws://") + "/twilio/media";
    tokio_tungstenite::connect_async(ws_url).await.unwrap().0
}

/// Announce a call through the voice webhook; returns its CallSid.
async fn announce(url: &str) -> String {
    let sid = consentline::caller::random_sid("CA");
    let body = format!("CallSid={sid}&From=%2B15555550123&To=%2B18005550199");
    let r = reqwest::Client::new()
        .post(format!("{url}/twilio/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_streams_get_a_clear_close_and_do_not_disturb_a_live_call() {
    let server = start(None, None).await;
    // A good call runs throughout.
    let good = {
        let plan = server.plan("1");
        tokio::spawn(async move { place_call(&plan).await.unwrap() })
    };
    let url = server.url.clone();
    let sid = announce(&url).await;

    type Case = (&'static str, Vec<Message>, u16, &'static str);
    let start_msg = |call: &str, stream: &str| {
        Message::text(sim::start(
            stream,
            call,
            "AC00000000000000000000000000000000",
            &[],
        ))
    };
    let media = |stream: &str| Message::text(sim::media(stream, 3, 1, 0, &[0xFF; 160]));
    let cases: Vec<Case> = vec![
        (
            "invalid JSON",
            vec![Message::text(sim::connected()), Message::text("{not json")],
            1002,
            "",
        ),
        (
            "unknown event",
            vec![
                Message::text(sim::connected()),
                Message::text(r#"{"event":"party","streamSid":"MZ1"}"#),
            ],
            1002,
            "party",
        ),
        (
            "binary frame",
            vec![
                Message::text(sim::connected()),
                Message::binary(vec![1u8, 2, 3]),
            ],
            1003,
            "binary",
        ),
        (
            "media before start",
            vec![Message::text(sim::connected()), media("MZ1")],
            1002,
            "before start",
        ),
        (
            "unknown call",
            vec![
                Message::text(sim::connected()),
                start_msg("CA00000000000000000000000000000000", "MZ2"),
            ],
            1008,
            "unknown call",
        ),
        (
            "oversized message",
            vec![Message::text("x".repeat(70_000))],
            1009,
            "",
        ),
    ];
    for (name, messages, code, reason) in cases {
        let mut ws = raw_stream(&url).await;
        for m in messages {
            let _ = ws.send(m).await;
        }
        let (got_code, got_reason) = close_of(&mut ws, Duration::from_secs(15)).await;
        if name == "oversized message" {
            // The library may close with 1009 or drop the connection: either way, closed.
            assert!(
                got_code == 1009 || got_code == 0 || got_code == 1006,
                "{name}: {got_code} {got_reason}"
            );
            continue;
        }
        assert_eq!(got_code, code, "{name}: {got_reason}");
        assert!(got_reason.contains(reason), "{name}: reason {got_reason:?}");
    }

    // A real stream, then bad base64, then a second start on another stream.
    let stream_sid = consentline::caller::random_sid("MZ");
    let mut ws = raw_stream(&url).await;
    ws.send(Message::text(sim::connected())).await.unwrap();
    ws.send(start_msg(&sid, &stream_sid)).await.unwrap();
    // The server answers with prompt audio once the call is claimed.
    let first = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(first, Message::Text(_)), "{first:?}");
    // A second connection claiming the same call is refused: no hijacking.
    let mut thief = raw_stream(&url).await;
    thief.send(Message::text(sim::connected())).await.unwrap();
    thief
        .send(start_msg(&sid, &consentline::caller::random_sid("MZ")))
        .await
        .unwrap();
    let (code, reason) = close_of(&mut thief, Duration::from_secs(15)).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("already"), "{reason}");
    ws.send(Message::text(format!(r#"{{"event":"media","sequenceNumber":"3","media":{{"track":"inbound","chunk":"1","timestamp":"0","payload":"!!!notbase64"}},"streamSid":"{stream_sid}"}}"#))).await.unwrap();
    let (code, _) = close_of(&mut ws, Duration::from_secs(15)).await;
    assert_eq!(code, 1002);

    // A second start on a live stream is a protocol error.
    let sid2 = announce(&url).await;
    let stream2 = consentline::caller::random_sid("MZ");
    let mut ws = raw_stream(&url).await;
    ws.send(Message::text(sim::connected())).await.unwrap();
    ws.send(start_msg(&sid2, &stream2)).await.unwrap();
    ws.send(start_msg(&sid2, &stream2)).await.unwrap();
    let (code, reason) = close_of(&mut ws, Duration::from_secs(15)).await;
    assert_eq!(code, 1002, "{reason}");
    assert!(reason.contains("second start"), "{reason}");

    let report = good.await.unwrap();
    assert_recorded(&report);
    assert!(server.store().verify().unwrap().is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_check_signatures_when_a_token_is_set() {
    let server = start(None, Some("test-token")).await;
    let client = reqwest::Client::new();
    let body = "CallSid=CA1&From=%2B15555550123&To=%2B18005550199";
    let unsigned = client
        .post(format!("{}/twilio/voice", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    // Unsigned upgrade refused too.
    let ws_url = server.url.replace("http://", "ws://") + "/twilio/media";
    assert!(tokio_tungstenite::connect_async(ws_url).await.is_err());
    // The simulated caller signs like Twilio: the whole call works.
    let mut plan = server.plan("1");
    plan.auth_token = Some("test-token".into());
    let report = place_call(&plan).await.unwrap();
    assert_recorded(&report);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_input_errors_and_the_safe_default() {
    let server = start(None, None).await;
    let client = reqwest::Client::new();
    let post = |path: &str, ct: &str, body: &'static str| {
        client
            .post(format!("{}{path}", server.url))
            .header("content-type", ct.to_string())
            .body(body)
            .send()
    };
    assert_eq!(
        post(
            "/twilio/voice",
            "application/x-www-form-urlencoded",
            "From=%2B1"
        )
        .await
        .unwrap()
        .status(),
        400
    );
    assert_eq!(
        post("/twilio/voice", "application/json", "{\"CallSid\":\"CA1\"}")
            .await
            .unwrap()
            .status(),
        400
    );
    let unknown = post(
        "/twilio/after",
        "application/x-www-form-urlencoded",
        "CallSid=CAunknown&To=%2B18005550199",
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), 200);
    let twiml = unknown.text().await.unwrap();
    assert!(
        twiml.contains("<Dial") && !twiml.contains("record="),
        "{twiml}"
    );
    let health: serde_json::Value = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let metrics = client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("# TYPE consentline_live_calls gauge"),
        "{metrics}"
    );
    assert!(metrics.contains("consentline_store_commit_seconds_count"));
    // A recording reference lands in the log.
    let r = post(
        "/twilio/recording-status",
        "application/x-www-form-urlencoded",
        "CallSid=CA9&RecordingSid=RE123&RecordingStatus=completed",
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    let recs = server
        .store()
        .records(&Filter {
            call_sid: Some("CA9".into()),
            since: None,
        })
        .unwrap();
    assert_eq!(recs[0].fields.recording_sid.as_deref(), Some("RE123"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_database_is_caught_by_audit_verify() {
    let server = start(None, None).await;
    let report = place_call(&server.plan("1")).await.unwrap();
    assert_recorded(&report);
    let data = server.data.clone();
    let _dirs = server.stop().await;
    let bin = env!("CARGO_BIN_EXE_consentline");
    let ok = std::process::Command::new(bin)
        .args(["audit", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Flip a decision to "record" behind the log's back.
    let db = rusqlite::Connection::open(data.join("consent.db")).unwrap();
    let seq: i64 = db
        .query_row(
            "SELECT seq FROM records WHERE kind = 'decision' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    db.execute(
        "UPDATE records SET fields = replace(fields, 'record', 'no_record') WHERE seq = ?1",
        [seq],
    )
    .unwrap();
    drop(db);
    let bad = std::process::Command::new(bin)
        .args(["audit", "verify", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err =
        String::from_utf8_lossy(&bad.stderr).to_string() + &String::from_utf8_lossy(&bad.stdout);
    assert!(err.contains(&seq.to_string()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_live_calls_finish_and_refuses_new_ones() {
    let server = start(None, None).await;
    let live = {
        let plan = server.plan("1");
        tokio::spawn(async move { place_call(&plan).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let url = server.url.clone();
    let data = server.data.clone();
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New streams are refused while draining.
    let ws_url = url.replace("http://", "ws://") + "/twilio/media";
    match tokio_tungstenite::connect_async(ws_url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected 503 while draining, got {other:?}"),
    }
    // The live call finishes normally, with its consent on file.
    let report = live.await.unwrap();
    assert_recorded(&report);
    let _dirs = stopping.await.unwrap();
    let store = Store::open(&data).unwrap();
    assert_eq!(
        store.decision_for(&report.call_sid).unwrap().as_deref(),
        Some("record")
    );
    assert!(store.verify().unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_log_means_the_call_is_bridged_without_recording() {
    let server = start(None, None).await;
    server.state.log.inject_failure(true);
    let report = place_call(&server.plan("1")).await.unwrap();
    // The caller pressed 1, but consent could not be made durable: bridged, not recorded,
    // and the caller heard "this call will not be recorded".
    assert_not_recorded(&report);
    assert!(report.after_twiml.as_deref().unwrap().contains("<Dial"));
    server.state.log.inject_failure(false);
    // Recording resumes once the log works again.
    let report = place_call(&server.plan("1")).await.unwrap();
    assert_recorded(&report);
    server.stop().await;
}
