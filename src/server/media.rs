//! `GET /twilio/media`: one task per call, driving the sans-IO consent engine from the
//! WebSocket, the DTMF receiver and a timer.
//!
//! The task owns everything of its call (engine, receiver, buffers), so nothing is locked.
//! Per 20 ms frame it parses the JSON borrowing the payload, decodes base64 and μ-law into
//! stack buffers and runs the receiver: no allocation beyond the WebSocket message itself.
//! Prompts were base64-encoded once at start-up and are sent as shared strings.

use super::AppState;
use crate::call::{ConsentCall, Flow, Input, KeySource, Output, PrivacyCall, Step};
use crate::consent::{Entry, Fields, Kind};
use crate::media::arrival::Arrival;
use crate::media::dtmf::{Event, Key, Receiver};
use crate::media::g711;
use crate::protocol::twilio::{self, Inbound};
use crate::server::metrics;
use crate::server::registry::{Announced, Claim, Slot};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Largest WebSocket message or frame accepted. Twilio's media messages are about 400 bytes.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Bytes read from the socket at once. The library's default (128 KiB) is zero-filled
/// before every read, which for 400-byte media messages cost a quarter of the server's CPU
/// and 128 KiB of memory per call; 2 KiB holds about five media messages.
const READ_BUFFER: usize = 2048;
/// Most outbound bytes the WebSocket layer may hold for a peer that reads slowly (beyond the
/// kernel's socket buffer); past this a send fails and the stream is closed.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;
/// A stream must send `start` this soon after connecting.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// A started stream that sends nothing for this long is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest a send to the provider may block before the stream is given up.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Most audio bytes one media message may carry (Twilio sends 160).
const MAX_FRAME_BYTES: usize = 4096;

// WebSocket close codes (RFC 6455).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_PROTOCOL: u16 = 1002;
const CLOSE_UNSUPPORTED: u16 = 1003;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// The upgrade handler.
pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(token) = &state.config.twilio_auth_token {
        let url = format!(
            "{}{}",
            super::webhooks::ws_url(&state.base_url(&headers)),
            super::webhooks::path_and_query(&uri)
        );
        let signature = headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !twilio::validate_signature(token, &url, &[], signature) {
            tracing::warn!("rejected media stream: bad X-Twilio-Signature");
            metrics::inc(&state.metrics.refused_signature);
            return (StatusCode::FORBIDDEN, "invalid X-Twilio-Signature\n").into_response();
        }
    }
    let Some(slot) = state.registry.open_socket(state.config.max_calls) else {
        tracing::warn!("refused media stream: at capacity or shutting down");
        metrics::inc(&state.metrics.refused_capacity);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no capacity for another call\n",
        )
            .into_response();
    };
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let metrics = state.clone();
            supervise(Session::run(socket, state, slot), move || {
                metrics::inc(&metrics.metrics.errors_panic)
            })
        })
}

/// Run one call's task so that a panic inside it (a bug) ends that call only: logged and
/// counted, while the registry's guards, dropped on unwinding, free its slot. The call then
/// has no outcome, so its bridge webhook gets the fail-safe answer: no recording.
async fn supervise(call: impl std::future::Future<Output = ()>, on_panic: impl FnOnce()) {
    use futures_util::FutureExt;
    if let Err(panic) = std::panic::AssertUnwindSafe(call).catch_unwind().await {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "call task panicked; the call ends without recording");
        on_panic();
    }
}

/// The close for a failed read: 1009 for an over-long message, else a protocol error.
fn read_error(error: axum::Error) -> Ending {
    let inner = error.into_inner();
    if let Some(tokio_tungstenite::tungstenite::Error::Capacity(e)) =
        inner.downcast_ref::<tokio_tungstenite::tungstenite::Error>()
    {
        return Ending::new(CLOSE_TOO_BIG, format!("message too big: {e}"));
    }
    Ending::new(CLOSE_PROTOCOL, format!("bad WebSocket frame: {inner}"))
}

/// Why a session ended, for the close frame and the log.
struct Ending {
    code: u16,
    reason: String,
}

impl Ending {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Ending {
            code,
            reason: reason.into(),
        }
    }
}

struct Session {
    state: Arc<AppState>,
    socket: WebSocket,
    call_sid: String,
    stream_sid: String,
    engine: Box<dyn Flow>,
    receiver: Receiver,
    epoch: Instant,
    out: String,
    decision_tx: mpsc::Sender<StoreAnswer>,
    /// Answers from the log still to come; the channel is only polled while one is due.
    awaiting_store: usize,
    /// Why the engine closed the stream, once it has.
    closing: Option<&'static str>,
    /// When the decision record went to the log, to report how long durability took.
    decision_sent: Option<Instant>,
    announced: Announced,
    /// The call's log context (see [`Session::run`]).
    span: tracing::Span,
    /// Inbound frames received, missing and late; `reported` is what the metrics have.
    arrival: Arrival,
    reported: Arrival,
    _claim: Claim,
}

impl Session {
    async fn run(mut socket: WebSocket, state: Arc<AppState>, _slot: Slot) {
        let started = match wait_for_start(&mut socket).await {
            Ok(s) => s,
            Err(ending) => {
                tracing::warn!(reason = %ending.reason, "media stream closed before start");
                close(&mut socket, ending).await;
                return;
            }
        };
        // The call's log context. Events name it as their parent rather than the task
        // entering it on every poll (50 polls a second per call).
        let span = tracing::info_span!("call", call_sid = %started.call_sid);
        Self::serve(socket, state, started, span).await;
    }

    /// The rest of a started stream's life; its log events name the call's span as parent.
    async fn serve(
        mut socket: WebSocket,
        state: Arc<AppState>,
        started: Started,
        span: tracing::Span,
    ) {
        let (claim, announced) = match state.registry.claim(&started.call_sid, &started.stream_sid)
        {
            Ok(c) => c,
            Err(refusal) => {
                tracing::warn!(parent: &span, reason = refusal.reason(), "refused media stream");
                metrics::inc(&state.metrics.refused_stream);
                close(&mut socket, Ending::new(CLOSE_POLICY, refusal.reason())).await;
                return;
            }
        };
        // The one do-not-contact rule, read off the async workers.
        let may_ask = match announced.caller_clear.clone() {
            Some(number) if announced.flow != "privacy" => {
                let store = state.store.clone();
                let today = crate::privacy::deadline::receipt_date(time::OffsetDateTime::now_utc());
                tokio::task::spawn_blocking(move || store.may_ask_opt_in(&number, today))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or(false)
            }
            _ => false,
        };
        let Some(engine) = build_engine(&state, &announced, may_ask) else {
            close(
                &mut socket,
                Ending::new(CLOSE_POLICY, "no prompts for the call's flow and language"),
            )
            .await;
            return;
        };
        tracing::info!(parent: &span, flow = %announced.flow, "media stream started");
        metrics::inc(if announced.flow == "privacy" {
            &state.metrics.privacy_calls
        } else {
            &state.metrics.consent_calls
        });
        let (decision_tx, decision_rx) = mpsc::channel(4);
        let mut session = Session {
            engine,
            receiver: Receiver::default(),
            epoch: Instant::now(),
            out: String::new(),
            call_sid: started.call_sid,
            stream_sid: started.stream_sid,
            decision_tx,
            awaiting_store: 0,
            closing: None,
            decision_sent: None,
            announced,
            state,
            socket,
            span,
            arrival: Arrival::default(),
            reported: Arrival::default(),
            _claim: claim,
        };
        let ending = session.drive(decision_rx).await;
        session.report_arrival();
        let outcome = session.engine.outcome();
        let m = &session.state.metrics;
        metrics::inc(match (outcome.bridge, outcome.record) {
            (_, true) => &m.outcome_record,
            (true, false) => &m.outcome_no_record,
            (false, false) => &m.outcome_no_bridge,
        });
        let a = session.arrival;
        tracing::info!(
            parent: &session.span,
            reason = %ending.reason,
            record = outcome.record,
            bridge = outcome.bridge,
            frames = a.frames,
            frames_missing = a.missing,
            frames_late = a.late,
            "media stream ended"
        );
        session
            .state
            .registry
            .set_outcome(&session.call_sid, outcome);
        close(&mut session.socket, ending).await;
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The call's event loop. Per media message it reads the clock once and touches no timer:
    /// the one `Sleep` is re-armed only when the engine's next timeout changes, and the idle
    /// check is a deadline that moves forward only when it is reached.
    async fn drive(&mut self, mut decision_rx: mpsc::Receiver<StoreAnswer>) -> Ending {
        let now = self.now_ms();
        self.engine.handle(now, Input::Start);
        if let Err(e) = self.flush().await {
            return e;
        }
        let mut frame = [0u8; MAX_FRAME_BYTES];
        let mut hang_up_now = self.state.hang_up_all.subscribe();
        let hang_up = hang_up_now.changed();
        tokio::pin!(hang_up);
        let mut last_heard = Instant::now();
        let mut idle_check = last_heard + IDLE_TIMEOUT;
        let mut armed = idle_check;
        let sleep = tokio::time::sleep_until(armed);
        tokio::pin!(sleep);
        loop {
            if self.engine.is_finished() {
                let reason = self.closing.unwrap_or("call ended");
                let outcome = self.engine.outcome();
                let how = match (outcome.bridge, outcome.record) {
                    (_, true) => "record",
                    (true, false) => "no_record",
                    (false, false) => "no_bridge",
                };
                return Ending::new(CLOSE_NORMAL, format!("{reason}: {how}"));
            }
            let timer = self.engine.next_timeout();
            let wake = timer
                .map(|(_, at)| (self.epoch + Duration::from_millis(at)).min(idle_check))
                .unwrap_or(idle_check);
            if wake != armed {
                armed = wake;
                sleep.as_mut().reset(armed);
            }
            tokio::select! {
                biased;
                message = self.socket.recv() => {
                    last_heard = Instant::now();
                    let now = last_heard.saturating_duration_since(self.epoch).as_millis() as u64;
                    match message {
                        None => {
                            self.engine.handle(now, Input::Hangup);
                            self.flush().await.ok();
                            return Ending::new(CLOSE_NORMAL, "connection lost");
                        }
                        Some(Err(e)) => {
                            self.engine.handle(now, Input::Hangup);
                            self.flush().await.ok();
                            return read_error(e);
                        }
                        Some(Ok(Message::Text(text))) => {
                            if let Err(ending) = self.on_text(now, text.as_str(), &mut frame) {
                                self.engine.handle(now, Input::Hangup);
                                self.flush().await.ok();
                                return ending;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            self.engine.handle(now, Input::Hangup);
                            self.flush().await.ok();
                            return Ending::new(CLOSE_UNSUPPORTED, "binary frames are not part of the Twilio protocol");
                        }
                        Some(Ok(Message::Close(_))) => {
                            self.engine.handle(now, Input::Hangup);
                            self.flush().await.ok();
                            return Ending::new(CLOSE_NORMAL, "closed by peer");
                        }
                        Some(Ok(_)) => {} // ping/pong are handled by the library
                    }
                }
                Some(answer) = decision_rx.recv(), if self.awaiting_store > 0 => {
                    self.awaiting_store -= 1;
                    let now = self.now_ms();
                    let durable = match answer {
                        StoreAnswer::Decision(durable) => durable,
                        StoreAnswer::Filed(result) => {
                            self.engine.handle(now, match result {
                                Some(filed) => Input::Filed(filed),
                                None => Input::FileFailed,
                            });
                            if let Err(e) = self.flush().await {
                                return e;
                            }
                            continue;
                        }
                    };
                    if let Some(sent) = self.decision_sent.take() {
                        self.state.metrics.observe_commit(sent.elapsed().as_secs_f64());
                        if !durable {
                            metrics::inc(&self.state.metrics.errors_store);
                        }
                        tracing::info!(
                            parent: &self.span,
                            durable,
                            commit_ms = sent.elapsed().as_secs_f64() * 1000.0,
                            "decision record answered by the log"
                        );
                    }
                    self.engine.handle(now, Input::DecisionLogged { durable });
                }
                _ = &mut hang_up => {
                    // The server's drain deadline passed: end the call as a hang-up, so its
                    // records (call ended, abandoned request) are written before the log closes.
                    let now = self.now_ms();
                    self.engine.handle(now, Input::Hangup);
                    self.flush().await.ok();
                    return Ending::new(CLOSE_GOING_AWAY, "server shutting down");
                }
                _ = &mut sleep => {
                    let now_at = Instant::now();
                    let now = now_at.saturating_duration_since(self.epoch).as_millis() as u64;
                    if now_at >= idle_check {
                        if now_at >= last_heard + IDLE_TIMEOUT {
                            self.engine.handle(now, Input::Hangup);
                            self.flush().await.ok();
                            return Ending::new(CLOSE_POLICY, "stream idle: no messages");
                        }
                        idle_check = last_heard + IDLE_TIMEOUT;
                    }
                    if let Some((t, _)) = timer.filter(|&(_, at)| at <= now) {
                        self.engine.handle(now, Input::Timeout(t));
                    }
                    // Re-arm even if the deadline is unchanged (a fired Sleep stays ready).
                    armed = now_at;
                }
            }
            // Most media messages leave nothing to carry out: skip the async flush then.
            if let Some(first) = self.engine.poll_output() {
                if let Err(e) = self.flush_from(Some(first)).await {
                    return e;
                }
            }
        }
    }

    /// One text message from Twilio.
    fn on_text(
        &mut self,
        now: u64,
        text: &str,
        frame: &mut [u8; MAX_FRAME_BYTES],
    ) -> Result<(), Ending> {
        let message = twilio::parse(text).map_err(|e| {
            tracing::warn!(parent: &self.span, error = %e, "bad message from provider");
            metrics::inc(&self.state.metrics.errors_protocol);
            Ending::new(CLOSE_PROTOCOL, e.to_string())
        })?;
        match message {
            Inbound::Media(media) if media.track != twilio::Track::Inbound => {
                // Our own audio echoed back (a `both_tracks` stream): not the caller's keys.
            }
            Inbound::Media(media) => {
                self.arrival.frame(media.chunk, media.timestamp_ms, now);
                if self.arrival.frames % 250 == 0 {
                    self.report_arrival();
                }
                let n = twilio::decode_payload(media.payload, frame).map_err(|e| {
                    tracing::warn!(parent: &self.span, error = %e, "bad media payload");
                    Ending::new(CLOSE_PROTOCOL, e.to_string())
                })?;
                // Decoded 20 ms at a time: a small stack buffer whatever the message size.
                let mut pcm = [0i16; 160];
                for bytes in frame[..n].chunks(pcm.len()) {
                    let pcm = &mut pcm[..bytes.len()];
                    g711::ulaw_decode_slice(bytes, pcm);
                    let engine = &mut self.engine;
                    let keys = &self.state.metrics.keys_inband;
                    self.receiver.push(pcm, |event| {
                        if let Event::Started { digit, .. } = event {
                            metrics::inc(keys);
                            engine.handle(
                                now,
                                Input::Key {
                                    digit,
                                    source: KeySource::Inband,
                                },
                            );
                        }
                    });
                }
            }
            Inbound::Dtmf(dtmf) => {
                metrics::inc(&self.state.metrics.keys_event);
                if let Some(digit) = Key::from_char(dtmf.digit) {
                    self.engine.handle(
                        now,
                        Input::Key {
                            digit,
                            source: KeySource::Event,
                        },
                    );
                }
            }
            Inbound::Mark(mark) => {
                if let Some(id) = mark.name.strip_prefix("p").and_then(|n| n.parse().ok()) {
                    self.engine.handle(now, Input::Mark { id });
                }
            }
            Inbound::Stop(_) => {
                self.engine.handle(now, Input::Hangup);
            }
            Inbound::Start(_) => {
                return Err(Ending::new(
                    CLOSE_PROTOCOL,
                    "second start message on one stream",
                ));
            }
            Inbound::Connected { .. } => {}
        }
        Ok(())
    }

    /// Add the frames counted since the last report to the server's metrics.
    fn report_arrival(&mut self) {
        let m = &self.state.metrics;
        let (a, r) = (self.arrival, self.reported);
        m.frames_in
            .fetch_add(a.frames - r.frames, Ordering::Relaxed);
        m.frames_missing
            .fetch_add(a.missing - r.missing, Ordering::Relaxed);
        m.frames_late.fetch_add(a.late - r.late, Ordering::Relaxed);
        self.reported = a;
    }

    /// Carry out the engine's outputs.
    async fn flush(&mut self) -> Result<(), Ending> {
        self.flush_from(None).await
    }

    /// Carry out `first` (already taken from the engine), then the rest of its outputs.
    async fn flush_from(&mut self, first: Option<Output>) -> Result<(), Ending> {
        let mut next = first.or_else(|| self.engine.poll_output());
        while let Some(output) = next.take() {
            match output {
                Output::Play { prompt, mark } => {
                    let key = (prompt.id.clone(), prompt.language.clone());
                    let chunks = self.state.prepared.get(&key).cloned();
                    if let Some(chunks) = chunks {
                        for chunk in chunks.iter() {
                            self.out.clear();
                            twilio::write_media_prepared(&mut self.out, &self.stream_sid, chunk);
                            self.send().await?;
                        }
                    }
                    self.out.clear();
                    twilio::write_mark(&mut self.out, &self.stream_sid, &format!("p{mark}"));
                    self.send().await?;
                }
                Output::Clear => {
                    self.out.clear();
                    twilio::write_clear(&mut self.out, &self.stream_sid);
                    self.send().await?;
                }
                Output::Record(step) => {
                    match step {
                        Step::PromptPlayed { .. } => {
                            metrics::inc(&self.state.metrics.prompts_played)
                        }
                        Step::PromptInterrupted { .. } => {
                            metrics::inc(&self.state.metrics.prompts_interrupted)
                        }
                        _ => {}
                    }
                    let entry = self.entry(&step);
                    if let Err(e) = self.state.log.submit(entry, None) {
                        metrics::inc(&self.state.metrics.errors_store);
                        tracing::error!(parent: &self.span, error = %e, "consent log unavailable");
                    }
                }
                Output::RecordDecision(step) => {
                    let entry = self.entry(&step);
                    let tx = self.decision_tx.clone();
                    self.awaiting_store += 1;
                    self.decision_sent = Some(Instant::now());
                    match self.state.log.submit(entry, None) {
                        Ok(pending) => {
                            tokio::spawn(async move {
                                let durable = pending.await.is_ok();
                                let _ = tx.send(StoreAnswer::Decision(durable)).await;
                            });
                        }
                        Err(e) => {
                            tracing::error!(parent: &self.span, error = %e, "consent log unavailable; not recording");
                            let _ = tx.try_send(StoreAnswer::Decision(false));
                        }
                    }
                }
                Output::FileRequest(draft) => {
                    let tx = self.decision_tx.clone();
                    self.awaiting_store += 1;
                    let filing = super::requests::file(
                        self.state.clone(),
                        self.call_sid.clone(),
                        self.stream_sid.clone(),
                        draft,
                        self.announced.clone(),
                    );
                    tokio::spawn(async move {
                        let _ = tx.send(StoreAnswer::Filed(filing.await)).await;
                    });
                }
                Output::Abandoned(draft) => {
                    let filing = super::requests::abandon(
                        self.state.clone(),
                        self.call_sid.clone(),
                        self.stream_sid.clone(),
                        draft,
                        self.announced.clone(),
                    );
                    tokio::spawn(filing);
                }
                Output::Close { reason } => {
                    tracing::debug!(parent: &self.span, reason, "closing stream");
                    self.closing = Some(reason);
                }
            }
            next = self.engine.poll_output();
        }
        Ok(())
    }

    async fn send(&mut self) -> Result<(), Ending> {
        let text = std::mem::take(&mut self.out);
        let result =
            tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::Text(text.into()))).await;
        // The sent text now belongs to the socket; outbound messages are few (prompt chunks,
        // marks, clears), so the next one grows a fresh string.
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Ending::new(
                CLOSE_GOING_AWAY,
                "connection lost while sending",
            )),
            // A peer that stops reading must not hold the call's task (and its timers).
            Err(_) => Err(Ending::new(CLOSE_POLICY, "peer stopped reading")),
        }
    }

    fn entry(&self, step: &Step) -> Entry {
        let mut fields = Fields::default();
        let kind = match step {
            Step::PromptStarted { prompt, attempt } => {
                prompt_fields(&mut fields, prompt);
                fields.attempt = Some(attempt.to_string());
                Kind::PromptStarted
            }
            Step::PromptPlayed { prompt } => {
                prompt_fields(&mut fields, prompt);
                Kind::PromptPlayed
            }
            Step::PromptInterrupted { prompt } => {
                prompt_fields(&mut fields, prompt);
                Kind::PromptInterrupted
            }
            Step::Key {
                digit,
                source,
                at,
                accepted,
            } => {
                fields.digit = Some(digit.to_string());
                fields.digit_source = Some(source.as_str().into());
                fields.at_ms = Some(at.to_string());
                if !accepted {
                    fields.detail = Some("ignored: the question was already answered".into());
                }
                Kind::Key
            }
            Step::Decision { decision, reason } => {
                fields.decision = Some(decision.as_str().into());
                fields.reason = Some((*reason).into());
                Kind::Decision
            }
            Step::CallEnded { reason } => {
                fields.reason = Some((*reason).into());
                Kind::CallEnded
            }
            Step::Readback { what, digits } => {
                fields.detail = Some(format!("read back {what} ({digits} digits)"));
                Kind::Readback
            }
            Step::NumberEntered { digits, accepted } => {
                fields.detail = Some(format!(
                    "caller keyed {digits} digits ({})",
                    if *accepted { "confirmed" } else { "rejected" }
                ));
                Kind::NumberEntered
            }
            Step::LanguageChanged { language } => {
                fields.language = Some(language.clone());
                Kind::LanguageChanged
            }
            Step::TransferRequested => {
                fields.reason = Some("caller pressed 0 for a person".into());
                Kind::TransferRequested
            }
        };
        Entry {
            call_sid: self.call_sid.clone(),
            stream_sid: Some(self.stream_sid.clone()),
            kind,
            fields,
        }
    }
}

/// What the log answered for a record the flow waits on.
enum StoreAnswer {
    Decision(bool),
    Filed(Option<crate::call::Filed>),
}

/// The engine for an announced call's flow, or `None` if its prompts are missing.
fn build_engine(state: &AppState, announced: &Announced, may_ask: bool) -> Option<Box<dyn Flow>> {
    if announced.flow == "privacy" {
        let prompts = state.privacy_prompts.get(&announced.language)?.clone();
        let spanish = state.privacy_prompts.get("es").cloned();
        Some(Box::new(PrivacyCall::new(
            state.privacy_settings,
            prompts,
            spanish,
            announced.caller_clear.as_deref(),
        )))
    } else {
        let prompts = state.consent_prompts.get(&announced.language)?.clone();
        let call = ConsentCall::new(state.settings, prompts);
        // The one do-not-contact rule: a caller who opted out within 12 months is never asked
        // to opt in to anything, recording included. If the list can't be read, don't ask.
        Some(Box::new(if may_ask {
            call
        } else {
            call.without_asking("caller opted out within 12 months, or could not be checked")
        }))
    }
}

fn prompt_fields(fields: &mut Fields, prompt: &crate::prompt::Prompt) {
    fields.prompt_id = Some(prompt.id.clone());
    fields.language = Some(prompt.language.clone());
    fields.prompt_sha256 = Some(prompt.sha256_hex());
}

struct Started {
    call_sid: String,
    stream_sid: String,
}

/// Read `connected` then `start`, within the start timeout.
async fn wait_for_start(socket: &mut WebSocket) -> Result<Started, Ending> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.recv())
            .await
            .map_err(|_| Ending::new(CLOSE_POLICY, "no start message within 10 s"))?;
        let text = match message {
            None | Some(Ok(Message::Close(_))) => {
                return Err(Ending::new(CLOSE_NORMAL, "closed before start"))
            }
            Some(Err(e)) => return Err(read_error(e)),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => {
                return Err(Ending::new(
                    CLOSE_UNSUPPORTED,
                    "binary frames are not part of the Twilio protocol",
                ))
            }
            Some(Ok(_)) => continue,
        };
        match twilio::parse(text.as_str()) {
            Ok(Inbound::Connected { .. }) => continue,
            Ok(Inbound::Start(start)) => {
                return Ok(Started {
                    call_sid: start.call_sid,
                    stream_sid: start.stream_sid,
                })
            }
            Ok(_) => return Err(Ending::new(CLOSE_PROTOCOL, "media before start")),
            Err(e) => return Err(Ending::new(CLOSE_PROTOCOL, e.to_string())),
        }
    }
}

async fn close(socket: &mut WebSocket, ending: Ending) {
    // Close reasons are limited to 123 bytes by the protocol.
    let mut reason = ending.reason;
    while reason.len() > 120 {
        reason.pop();
    }
    // A peer that stopped reading must not hold the task: the close is best effort.
    let close = socket.send(Message::Close(Some(CloseFrame {
        code: ending.code,
        reason: reason.into(),
    })));
    let _ = tokio::time::timeout(SEND_TIMEOUT, close).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_call_task_is_contained() {
        let panicked = std::sync::atomic::AtomicBool::new(false);
        let guard_dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        struct Guard(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let guard = Guard(guard_dropped.clone());
        supervise(
            async move {
                let _held = guard;
                tokio::task::yield_now().await;
                panic!("a bug in one call");
            },
            || panicked.store(true, Ordering::SeqCst),
        )
        .await;
        assert!(panicked.load(Ordering::SeqCst));
        assert!(
            guard_dropped.load(Ordering::SeqCst),
            "the call's guards were released"
        );
        // A call that ends normally is not counted.
        let mut counted = false;
        supervise(async {}, || counted = true).await;
        assert!(!counted);
    }
}
