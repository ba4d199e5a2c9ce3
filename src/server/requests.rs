//! Filing privacy requests from the privacy line into the store (the same tamper-evident
//! chain as consent). The store's request API is synchronous SQLite; it runs on the blocking
//! pool so no call task waits on disk.

use super::AppState;
use crate::call::{Filed, RequestDraft};
use crate::privacy::Requester;
use crate::server::registry::Announced;
use crate::store::requests::{AbandonedRequest, NewRequest};
use std::sync::Arc;
use time::OffsetDateTime;

fn requester(draft: &RequestDraft) -> Option<Requester> {
    draft.agent.map(|agent| {
        if agent {
            Requester::Agent
        } else {
            Requester::Consumer
        }
    })
}

/// The callback number as E.164 (the flow collects ten North American digits).
fn callback(draft: &RequestDraft) -> Option<String> {
    draft.callback.as_ref().map(|d| format!("+1{d}"))
}

/// File a request durably; `None` if it could not be (the caller is told so).
pub async fn file(
    state: Arc<AppState>,
    call_sid: String,
    stream_sid: String,
    draft: RequestDraft,
    _announced: Announced,
) -> Option<Filed> {
    let request_type = draft.request_type?;
    let request = NewRequest {
        call_sid,
        stream_sid: Some(stream_sid),
        request_type,
        requester: requester(&draft),
        language: draft.language.clone(),
        callback_number: callback(&draft),
        received: OffsetDateTime::now_utc(),
    };
    let store = state.store.clone();
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || store.file_request(request)).await;
    state
        .metrics
        .observe_commit(started.elapsed().as_secs_f64());
    match result {
        Ok(Ok(filed)) => {
            tracing::info!(
                request_type = request_type.as_str(),
                "privacy request filed"
            );
            Some(Filed {
                confirmation: filed.confirmation.as_string(),
                respond_by: filed.due,
                honor_by: filed.honor_due,
            })
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not file a privacy request");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "filing task failed");
            None
        }
    }
}

/// Keep an abandoned record of a request the caller left part-way.
pub async fn abandon(
    state: Arc<AppState>,
    call_sid: String,
    stream_sid: String,
    draft: RequestDraft,
    _announced: Announced,
) {
    let step = match (&draft.callback, draft.request_type) {
        (None, _) => "callback_number",
        (Some(_), Some(t)) if t.needs_verification() && draft.agent.is_none() => "requester",
        _ => "filing",
    };
    let request = AbandonedRequest {
        call_sid,
        stream_sid: Some(stream_sid),
        request_type: draft.request_type,
        requester: requester(&draft),
        language: draft.language.clone(),
        callback_number: callback(&draft),
        received: OffsetDateTime::now_utc(),
        step: step.into(),
    };
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.record_abandoned(request)).await {
        Ok(Ok(_)) => tracing::info!(step, "abandoned privacy request recorded"),
        Ok(Err(e)) => tracing::error!(error = %e, "could not record an abandoned request"),
        Err(e) => tracing::error!(error = %e, "abandon task failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::RequestType;

    #[test]
    fn callback_numbers_become_e164() {
        let draft = RequestDraft {
            request_type: Some(RequestType::OptOut),
            callback: Some("4155550100".into()),
            ..RequestDraft::default()
        };
        assert_eq!(callback(&draft).as_deref(), Some("+14155550100"));
        assert_eq!(requester(&draft), None);
    }
}
