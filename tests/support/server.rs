//! The real server on 127.0.0.1 for end-to-end tests, with a fast made-up prompt catalog.
#![allow(dead_code)]

use consentline::caller::CallPlan;
use consentline::media::dtmf::Key;
use consentline::server::config::{Config, LineConfig};
use consentline::server::Server;
use consentline::store::Store;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The number of the test server's privacy line.
pub const PRIVACY_LINE: &str = "+18885550100";

pub struct Running {
    pub url: String,
    pub state: std::sync::Arc<consentline::server::AppState>,
    pub data: PathBuf,
    _dirs: Vec<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stop the server; the returned directories live as long as the caller keeps them.
    pub async fn stop(mut self) -> Vec<tempfile::TempDir> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), &mut self.done).await;
        std::mem::take(&mut self._dirs)
    }
    pub fn store(&self) -> Store {
        Store::open(&self.data).unwrap()
    }
    pub fn plan(&self, keys: &str) -> CallPlan {
        let mut plan = CallPlan::new(&self.url);
        plan.keys = Key::parse_sequence(keys).unwrap();
        plan.timeout = Duration::from_secs(90);
        plan
    }
}

/// A prompt catalog with the consent ids, each a short tone burst, so calls take seconds.
pub fn short_prompts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = String::new();
    let mut ids: Vec<String> = consentline::call::CONSENT_PROMPT_IDS
        .iter()
        .chain(consentline::call::PRIVACY_PROMPT_IDS.iter())
        .map(|s| s.to_string())
        .collect();
    ids.push("privacy.espanol".into());
    ids.extend((0..10).map(|d| format!("digit.{d}")));
    ids.extend((1..=12).map(|m| format!("month.{m}")));
    ids.extend((1..=31).map(|d| format!("day.{d}")));
    ids.extend((2025..=2032).map(|y| format!("year.{y}")));
    for lang in ["en", "es"] {
        for (i, id) in ids.iter().enumerate() {
            // Word prompts are short; sentences 0.8 s.
            let samples = if id.contains('.')
                && id
                    .split('.')
                    .nth(1)
                    .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()))
            {
                3_200
            } else {
                12_800
            };
            let file = format!("{lang}-{id}.wav");
            manifest.push_str(&format!(
                "[[prompt]]\nid = \"{id}\"\nlanguage = \"{lang}\"\nfile = \"{file}\"\ntranscript = \"{id}\"\n\n"
            ));
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 16000,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(dir.path().join(&file), spec).unwrap();
            // A vowel-like tone (not DTMF) for 0.8 s, distinct per prompt.
            let f0 = 180.0 + 3.0 * (i % 60) as f32;
            for n in 0..samples {
                let t = n as f32 / 16000.0;
                let s = (0.3 * (std::f32::consts::TAU * f0 * t).sin()
                    + 0.1 * (std::f32::consts::TAU * 3.0 * f0 * t).sin())
                    * 20000.0;
                w.write_sample(s as i16).unwrap();
            }
            w.finalize().unwrap();
        }
    }
    std::fs::write(dir.path().join("prompts.toml"), manifest).unwrap();
    dir
}

pub async fn start(prompts: Option<&Path>, token: Option<&str>) -> Running {
    let data = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    let mut config = Config::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.data = data.path().to_path_buf();
    config.prompts = match prompts {
        Some(p) => p.to_path_buf(),
        None => {
            let d = short_prompts();
            let p = d.path().to_path_buf();
            dirs.push(d);
            p
        }
    };
    config.twilio_auth_token = token.map(str::to_string);
    config.default_line = LineConfig {
        flow: Some("consent".into()),
        forward_to: Some("+14155550100".into()),
        language: Some("en".into()),
        caller_id: None,
    };
    // A Spanish consent line with no bridge, and a privacy line.
    config.lines.insert(
        "+18005550000".into(),
        LineConfig {
            flow: None,
            forward_to: Some(String::new()),
            language: Some("es".into()),
            caller_id: None,
        },
    );
    config.lines.insert(
        PRIVACY_LINE.into(),
        LineConfig {
            flow: Some("privacy".into()),
            forward_to: Some("+14155550199".into()),
            language: Some("en".into()),
            caller_id: None,
        },
    );
    let server = Server::bind(config).await.unwrap();
    let url = format!("http://{}", server.local_addr);
    let state = server.state.clone();
    let data_path = data.path().to_path_buf();
    dirs.push(data);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.run(
        async move {
            let _ = rx.await;
        },
        Duration::from_secs(20),
    ));
    Running {
        url,
        state,
        data: data_path,
        _dirs: dirs,
        stop: Some(tx),
        done,
    }
}

/// Read until the server closes the stream, at most `limit`: (code, reason); code 0 for a
/// connection that ended without a close frame.
pub async fn close_of(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    limit: Duration,
) -> (u16, String) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                return (u16::from(f.code), f.reason.to_string())
            }
            Ok(Some(Ok(Message::Close(None)))) => return (1005, String::new()),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return (0, e.to_string()),
            Ok(None) => return (0, "eof".into()),
            Err(_) => panic!("the server did not close the stream within {limit:?}"),
        }
    }
}
