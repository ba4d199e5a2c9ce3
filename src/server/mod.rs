//! The tokio edge: one HTTP listener for Twilio's webhooks and media streams.
//!
//! Thin by design: webhooks parse, authenticate and answer; each media stream gets one task
//! that feeds the sans-IO engine ([`crate::call`]); one writer task owns the consent log
//! ([`crate::store`]). Shutdown (SIGTERM or Ctrl-C) stops taking streams, lets live calls
//! finish up to a deadline, flushes the log and exits. [`conn`] serves HTTP with the limits
//! that keep floods and slow clients from holding resources.

pub mod config;
pub mod conn;
pub mod media;
pub mod metrics;
pub mod registry;
pub mod requests;
pub mod webhooks;

use crate::call::{
    ConsentPrompts, ConsentSettings, PrivacyPrompts, PrivacySettings, CONSENT_PROMPT_IDS,
};
use crate::prompt::{Catalog, LoadOptions};
use crate::protocol::twilio;
use crate::store::{LogHandle, Store};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use config::Config;
use registry::Registry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// After the last stream of a drain closes, how long webhooks are still answered.
const BRIDGE_GRACE: Duration = Duration::from_secs(3);

/// Audio per outbound media message: one second (Twilio accepts any length).
const CHUNK_FRAMES: usize = 50;

/// A write that makes no progress for this long fails and the connection is dropped. Longer
/// than the media task's own send timeout, so that one ends the call first and this one only
/// frees a task stuck sending its close frame to a peer that stopped reading.
const WRITE_STALL: Duration = Duration::from_secs(10);

/// Largest webhook body read. Twilio's are a few kilobytes.
const MAX_WEBHOOK_BODY: usize = 64 * 1024;

/// Everything the handlers share.
pub struct AppState {
    pub config: Config,
    pub registry: Arc<Registry>,
    pub log: LogHandle,
    /// Read side of the log.
    pub store: Arc<Store>,
    pub settings: ConsentSettings,
    pub privacy_settings: PrivacySettings,
    /// Consent prompts per language.
    pub consent_prompts: HashMap<String, ConsentPrompts>,
    /// Privacy-line prompts per language (every language the catalog has them in).
    pub privacy_prompts: HashMap<String, PrivacyPrompts>,
    /// Every prompt as base64 μ-law, one string per second of audio, made once.
    pub prepared: HashMap<(String, String), Arc<[String]>>,
    pub metrics: metrics::Metrics,
    /// Flipped at the drain deadline: live streams end as hang-ups.
    pub hang_up_all: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// Public base URL (no trailing slash): configured, else from the request's Host and
    /// X-Forwarded-Proto.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.config.public_url {
            return url.clone();
        }
        let host = headers
            .get("x-forwarded-host")
            .or_else(|| headers.get(axum::http::header::HOST))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let proto = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("http");
        format!("{proto}://{host}")
    }
}

/// A running server.
pub struct Server {
    pub state: Arc<AppState>,
    pub local_addr: std::net::SocketAddr,
    listener: tokio::net::TcpListener,
    writer: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Load prompts, open the log, bind the listener.
    pub async fn bind(config: Config) -> anyhow::Result<Server> {
        let catalog = Catalog::load(&config.prompts, LoadOptions::default())
            .map_err(|e| anyhow::anyhow!("prompt catalog:\n{e}"))?;
        let mut consent_prompts = HashMap::new();
        for language in config.languages() {
            let missing = catalog.missing(&CONSENT_PROMPT_IDS, &[language.as_str()]);
            if !missing.is_empty() {
                anyhow::bail!("prompt catalog lacks {}", missing.join(", "));
            }
            if let Some(p) = ConsentPrompts::from_catalog(&catalog, &language) {
                consent_prompts.insert(language, p);
            }
        }
        if let Some(p) = ConsentPrompts::from_catalog(&catalog, "en") {
            consent_prompts.entry("en".into()).or_insert(p);
        }
        let privacy_prompts: HashMap<String, PrivacyPrompts> = catalog
            .languages()
            .into_iter()
            .filter_map(|l| PrivacyPrompts::from_catalog(&catalog, &l).map(|p| (l, p)))
            .collect();
        for (number, line) in std::iter::once(("default line", &config.default_line))
            .chain(config.lines.iter().map(|(n, l)| (n.as_str(), l)))
        {
            let language = line.language.as_deref().unwrap_or("en");
            if line.flow.as_deref() == Some("privacy") && !privacy_prompts.contains_key(language) {
                anyhow::bail!(
                    "{number} runs the privacy flow in {language:?}, but the prompt catalog lacks privacy prompts in that language"
                );
            }
        }
        let prepared = catalog
            .iter()
            .map(|p| {
                let chunks: Vec<String> = p
                    .frames
                    .chunks(CHUNK_FRAMES)
                    .map(|c| twilio::media_payload_base64(c.as_flattened()))
                    .collect();
                ((p.id.clone(), p.language.clone()), Arc::from(chunks))
            })
            .collect();
        let store = Store::open(&config.data)
            .map_err(|e| anyhow::anyhow!("consent log in {}: {e}", config.data.display()))?;
        let reader = Arc::new(
            Store::open(&config.data)
                .map_err(|e| anyhow::anyhow!("consent log in {}: {e}", config.data.display()))?,
        );
        let (log, writer) = store.start_writer();
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let local_addr = listener.local_addr()?;
        if config.twilio_auth_token.is_none() {
            tracing::warn!(
                "no Twilio auth token (TWILIO_AUTH_TOKEN): webhook and media requests are NOT authenticated"
            );
        }
        let state = Arc::new(AppState {
            config,
            registry: Arc::new(Registry::default()),
            log,
            store: reader,
            settings: ConsentSettings::default(),
            privacy_settings: PrivacySettings::default(),
            consent_prompts,
            privacy_prompts,
            prepared,
            metrics: metrics::Metrics::default(),
            hang_up_all: tokio::sync::watch::Sender::new(false),
        });
        Ok(Server {
            state,
            local_addr,
            listener,
            writer,
        })
    }

    /// The routes.
    pub fn router(state: Arc<AppState>) -> Router {
        Router::new()
            .route("/twilio/voice", post(webhooks::voice))
            .route("/twilio/after", post(webhooks::after))
            .route("/twilio/recording-status", post(webhooks::recording_status))
            .route_layer(middleware::from_fn_with_state(state.clone(), body_in_time))
            .route(
                "/twilio/media",
                get(media::upgrade).layer(middleware::from_fn(websocket_version)),
            )
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics_text))
            .with_state(state)
    }

    /// Serve until `shutdown` resolves, then drain: refuse new streams, wait for live calls
    /// up to `drain_deadline`, flush the log.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        drain_deadline: Duration,
    ) -> anyhow::Result<()> {
        let Server {
            state,
            local_addr,
            listener,
            writer,
        } = self;
        tracing::info!(%local_addr, "consentline listening");
        let registry = state.registry.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = Self::router(state.clone());
        let limits = conn::Limits {
            max_connections: state.config.max_connections,
            header_timeout: state.config.header_timeout,
            write_stall: WRITE_STALL,
        };
        let server = tokio::spawn(conn::serve(
            listener,
            app,
            state.clone(),
            limits,
            async move {
                let _ = stop_rx.await;
            },
        ));
        shutdown.await;
        tracing::info!(live = registry.live_count(), "shutting down: no new calls");
        registry.begin_shutdown();
        let deadline = tokio::time::Instant::now() + drain_deadline;
        while registry.socket_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if registry.socket_count() > 0 {
            tracing::warn!(
                live = registry.socket_count(),
                "drain deadline reached with calls still live: hanging them up"
            );
            state.hang_up_all.send_replace(true);
            let grace = tokio::time::Instant::now() + Duration::from_secs(2);
            while registry.socket_count() > 0 && tokio::time::Instant::now() < grace {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Their last records (and any abandoned request) are on their way to the log.
            tokio::time::sleep(Duration::from_millis(200)).await;
        } else {
            // The last streams just closed: Twilio is about to post their <Connect action>
            // webhooks. Keep answering a moment so those calls get bridged.
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(BRIDGE_GRACE.min(left)).await;
        }
        let _ = stop_tx.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        let log = state.log.clone();
        drop(state);
        log.close().await;
        let _ = writer.await;
        tracing::info!("consent log flushed; bye");
        Ok(())
    }
}

/// Read a webhook's whole body within the header timeout before its handler runs: a client
/// that sends headers promptly and then trickles the body (slowloris on the body) is
/// answered 408 and closed instead of holding a connection.
async fn body_in_time(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_WEBHOOK_BODY as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    }
    match tokio::time::timeout(
        state.config.header_timeout,
        axum::body::to_bytes(body, MAX_WEBHOOK_BODY),
    )
    .await
    {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => (
            StatusCode::BAD_REQUEST,
            "request body could not be read (or is over 64 KiB)\n",
        )
            .into_response(),
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            "request body not received in time\n",
        )
            .into_response(),
    }
}

/// RFC 6455 §4.4: a handshake with a version the server does not speak gets 426 and the
/// versions it does (axum answers a bare 400). A missing version stays axum's 400.
async fn websocket_version(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let upgrading = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let version = headers.get(header::SEC_WEBSOCKET_VERSION);
    if upgrading && version.is_some_and(|v| v.as_bytes().trim_ascii() != b"13") {
        tracing::warn!("refused media stream: unsupported Sec-WebSocket-Version");
        return (
            StatusCode::UPGRADE_REQUIRED,
            [
                (header::SEC_WEBSOCKET_VERSION, "13"),
                (header::UPGRADE, "websocket"),
            ],
            "unsupported Sec-WebSocket-Version: this server speaks version 13 (RFC 6455)\n",
        )
            .into_response();
    }
    next.run(request).await
}

async fn healthz(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "status": if state.registry.is_closing() { "draining" } else { "ok" },
        "live_calls": state.registry.live_count(),
    }))
}

async fn metrics_text(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.registry.live_count()),
    )
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
