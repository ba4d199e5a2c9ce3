//! Twilio's HTTP webhooks: the incoming call, the bridge after the IVR, recording status.
//!
//! Every request is form-encoded; with an auth token configured, each must carry a valid
//! `X-Twilio-Signature` (HMAC-SHA1 over the public URL and the sorted form parameters).

use super::AppState;
use crate::call::Outcome;
use crate::consent::{Entry, Fields, Kind};
use crate::protocol::twilio;
use crate::server::registry::Announced;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

/// How long the bridge answer may wait for its own record before answering without recording.
const BRIDGE_RECORD_TIMEOUT: Duration = Duration::from_secs(2);

/// A form-encoded webhook, checked.
pub struct Form {
    pub params: Vec<(String, String)>,
}

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

/// Why a webhook was refused (kept small: it travels in a `Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    pub message: &'static str,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.status, format!("{}\n", self.message)).into_response()
    }
}

const fn reject(status: StatusCode, message: &'static str) -> Rejection {
    Rejection { status, message }
}

/// Parse and authenticate a webhook body.
pub fn check_form(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<Form, Rejection> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "expected Content-Type application/x-www-form-urlencoded",
        ));
    }
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| reject(StatusCode::BAD_REQUEST, "malformed form body"))?;
    if let Some(token) = &state.config.twilio_auth_token {
        let url = format!("{}{}", state.base_url(headers), path_and_query(uri));
        let signature = headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !twilio::validate_signature(token, &url, &params, signature) {
            tracing::warn!(
                path = uri.path(),
                "rejected webhook: bad X-Twilio-Signature"
            );
            return Err(reject(StatusCode::FORBIDDEN, "invalid X-Twilio-Signature"));
        }
    }
    Ok(Form { params })
}

/// [`check_form`] for a webhook about one call: its `CallSid` is required.
fn call_form(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> Result<(Form, String), Rejection> {
    let form = check_form(state, headers, uri, body)?;
    match form.get("CallSid").filter(|s| !s.is_empty()) {
        Some(sid) => {
            let sid = sid.to_string();
            Ok((form, sid))
        }
        None => Err(reject(StatusCode::BAD_REQUEST, "missing CallSid")),
    }
}

pub fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
}

/// `POST /twilio/voice`: a call arrives. Answer with `<Connect><Stream>`.
pub async fn voice(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (form, call_sid) = match call_form(&state, &headers, &uri, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let call_sid = call_sid.as_str();
    let called = form.get("To").unwrap_or("").to_string();
    let line = state.config.line(&called);
    let flow = line.flow.clone().unwrap_or_else(|| "consent".into());
    let language = line
        .language
        .clone()
        .filter(|l| {
            if flow == "privacy" {
                state.privacy_prompts.contains_key(l)
            } else {
                state.consent_prompts.contains_key(l)
            }
        })
        .unwrap_or_else(|| "en".to_string());
    let caller_clear = form
        .get("From")
        .filter(|f| !f.is_empty())
        .map(str::to_string);
    let caller = caller_clear.as_deref().map(|n| state.store.pseudonymize(n));
    let span = tracing::info_span!("call", call_sid);
    let _enter = span.enter();
    tracing::info!(line = %crate::consent::Redacted(&called), "incoming call");

    let entry = Entry {
        call_sid: call_sid.to_string(),
        stream_sid: None,
        kind: Kind::CallStarted,
        fields: Fields {
            line: Some(called.clone()),
            caller: caller.clone(),
            language: Some(language.clone()),
            ..Fields::default()
        },
    };
    let personal = match (&caller, &caller_clear) {
        (Some(hash), Some(clear)) => Some(crate::store::PersonalData {
            hash: hash.clone(),
            kind: "phone".into(),
            value: clear.clone(),
        }),
        _ => None,
    };
    // Written before the stream is offered; a failure here only loses the start record, and
    // the consent decision later still needs its own durable record.
    if let Err(e) = state.log.submit(entry, personal) {
        tracing::error!(error = %e, "consent log unavailable at call start");
    }
    state.registry.announce(
        call_sid,
        Announced::new(
            flow.clone(),
            called.clone(),
            caller,
            caller_clear,
            language.clone(),
        ),
    );
    let base = state.base_url(&headers);
    let action = format!("{base}/twilio/after");
    let stream = format!("{}/twilio/media", ws_url(&base));
    xml(twilio::connect_stream(
        &action,
        &stream,
        &[
            ("flow", "consent"),
            ("line", &called),
            ("language", &language),
        ],
    ))
}

/// The WebSocket form of an http(s) base URL.
pub fn ws_url(base: &str) -> String {
    if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    }
}

/// `POST /twilio/after`: the stream has closed; bridge according to the durable decision.
pub async fn after(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (form, call_sid) = match call_form(&state, &headers, &uri, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let span = tracing::info_span!("call", call_sid = %call_sid);
    tracing::Instrument::instrument(bridge(state, headers, form, call_sid), span).await
}

/// The bridge answer for one call, inside its tracing span.
async fn bridge(
    state: Arc<AppState>,
    headers: HeaderMap,
    form: Form,
    call_sid: String,
) -> Response {
    let call_sid = call_sid.as_str();
    let announced = state.registry.announced(call_sid);
    // Only a call this server saw through to the end, with its consent durable, is recorded.
    // Anything else (a restart in between, a stream that never started, an unknown CallSid)
    // gets the safe answer: no recording; bridged unless it was the privacy line.
    let outcome = state.registry.outcome(call_sid);
    if outcome.is_none() {
        tracing::warn!("bridge requested for a call with no outcome on this server; not recording");
    }
    let outcome = outcome.unwrap_or(Outcome {
        bridge: announced.as_ref().is_none_or(|a| a.flow != "privacy"),
        record: false,
    });
    let called = announced
        .as_ref()
        .map(|a| a.line.clone())
        .or_else(|| form.get("To").map(str::to_string))
        .unwrap_or_default();
    let language = announced
        .as_ref()
        .map(|a| a.language.clone())
        .unwrap_or_else(|| "en".into());
    let mut line = state.config.line(&called);
    if !outcome.bridge {
        line.forward_to = None;
    }
    let mut record = outcome.record;

    let answer = |record: bool| match &line.forward_to {
        Some(number) => {
            let callback = format!("{}/twilio/recording-status", state.base_url(&headers));
            twilio::dial(
                number,
                record,
                record.then_some(callback.as_str()),
                line.caller_id.as_deref(),
            )
        }
        None => twilio::say_and_hangup(goodbye(&language), tts_language(&language)),
    };
    let served = |record: bool| Entry {
        call_sid: call_sid.to_string(),
        stream_sid: None,
        kind: Kind::BridgeAnswered,
        fields: Fields {
            line: Some(called.clone()),
            decision: Some(if record { "record" } else { "no_record" }.into()),
            answer: Some(match (&line.forward_to, record) {
                (Some(_), true) => "dial with recording".into(),
                (Some(_), false) => "dial without recording".into(),
                (None, _) => "goodbye and hang up (no bridge destination)".into(),
            }),
            ..Fields::default()
        },
    };
    // Record what we answer before answering it. If that record can't be made durable,
    // a "record" answer falls back to not recording.
    let durable = match state.log.submit(served(record), None) {
        Ok(pending) => matches!(
            tokio::time::timeout(BRIDGE_RECORD_TIMEOUT, pending).await,
            Ok(Ok(_))
        ),
        Err(_) => false,
    };
    if record && !durable {
        tracing::error!("could not log the bridge answer; bridging without recording");
        record = false;
        let _ = state.log.submit(served(false), None);
    }
    tracing::info!(record, "bridge answer");
    xml(answer(record))
}

/// `POST /twilio/recording-status`: keep the recording's id with the call's consent record.
pub async fn recording_status(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let form = match check_form(&state, &headers, &uri, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let (Some(call_sid), Some(recording_sid)) = (form.get("CallSid"), form.get("RecordingSid"))
    else {
        return bad_request("missing CallSid or RecordingSid");
    };
    let entry = Entry {
        call_sid: call_sid.to_string(),
        stream_sid: None,
        kind: Kind::RecordingReference,
        fields: Fields {
            recording_sid: Some(recording_sid.to_string()),
            detail: form.get("RecordingStatus").map(str::to_string),
            ..Fields::default()
        },
    };
    match state.log.submit(entry, None) {
        Ok(pending) => match pending.await {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => {
                tracing::error!(error = %e, "could not store the recording reference");
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "could not store the recording reference");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn goodbye(language: &str) -> &'static str {
    match language {
        "es" => "Gracias por llamar. Adiós.",
        _ => "Thank you for calling. Goodbye.",
    }
}

fn tts_language(language: &str) -> &'static str {
    match language {
        "es" => "es-US",
        _ => "en-US",
    }
}
