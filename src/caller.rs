//! A simulated caller: Twilio's side of a call, for trying the service without a provider,
//! for the end-to-end tests and, scaled up, for load.
//!
//! It does what Twilio does: posts the voice webhook, opens the media stream named in the
//! TwiML, streams 20 ms μ-law frames in real time (silence, or key tones in-band), plays the
//! server's audio out at real-time speed and echoes each mark when the audio before it has
//! played (all pending marks at once on `clear`), sends `dtmf` events if asked, and when the
//! server closes the stream, posts the `<Connect action>` webhook and reports the TwiML.

use crate::media::dtmf::Key;
use crate::media::g711;
use crate::media::tone::{to_i16, DtmfTone};
use crate::protocol::twilio::{self, sim, Outbound};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// How keys are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// As DTMF tones in the audio (what our receiver hears).
    Inband,
    /// As Twilio `dtmf` events.
    Event,
    /// Both at once: the server must count the press once.
    Both,
}

/// When to press.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// Half a second after the server's audio has played out (the question was heard).
    AfterPrompt,
    /// At this many seconds after the stream started (barge-in if a prompt is playing).
    At(f64),
}

/// One simulated call.
#[derive(Debug, Clone)]
pub struct CallPlan {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub from: String,
    pub to: String,
    /// Keys to press, one per question, in order.
    pub keys: Vec<Key>,
    pub mode: KeyMode,
    pub when: When,
    /// Level of in-band key tones, dBm0 per tone.
    pub key_dbm0: f32,
    /// Length of each key press.
    pub key_ms: u64,
    /// Hang up this many seconds after the stream starts.
    pub hangup_after: Option<f64>,
    /// Sign requests with this Twilio auth token.
    pub auth_token: Option<String>,
    /// Give up after this long.
    pub timeout: Duration,
    pub call_sid: String,
    /// Keep everything heard in [`CallReport::heard`] (off for load: 16 KB per second).
    pub keep_audio: bool,
    /// The webhook client, shared by a load run's calls so connections are kept alive as
    /// Twilio's are (a run then measures the server, not connection set-up). Its pooled
    /// connections belong to the tokio runtime that used it first.
    pub http: Option<reqwest::Client>,
}

impl CallPlan {
    pub fn new(url: &str) -> CallPlan {
        CallPlan {
            url: url.trim_end_matches('/').to_string(),
            from: "+15555550100".into(),
            to: "+18005550199".into(),
            keys: Vec::new(),
            mode: KeyMode::Inband,
            when: When::AfterPrompt,
            key_dbm0: -10.0,
            key_ms: 120,
            hangup_after: None,
            auth_token: None,
            timeout: Duration::from_secs(120),
            call_sid: random_sid("CA"),
            keep_audio: true,
            http: None,
        }
    }
}

/// What happened, as seen from the caller's side.
#[derive(Debug, Clone, Default)]
pub struct CallReport {
    /// Frames sent, and how many went out more than 10 ms late (the caller's own timer lag).
    pub frames_sent: u64,
    pub frames_late: u64,
    /// Worst lateness of a frame, milliseconds.
    pub worst_frame_lag_ms: f64,
    /// Frames by lateness in whole milliseconds (the last bucket holds everything later).
    pub frame_lag_histogram: Vec<u64>,
    /// Seconds from sending `start` to the first audio from the server.
    pub first_audio: Option<f64>,
    /// Seconds from each key press (tone onset or dtmf event) to the next audio from the
    /// server: the answer, which the server plays only once the key's record is durable.
    pub key_to_answer: Vec<f64>,
    /// Seconds the action webhook took to answer.
    pub after_seconds: Option<f64>,
    /// Seconds from the voice webhook to the end of the action webhook.
    pub duration: f64,
    pub call_sid: String,
    pub stream_sid: String,
    /// TwiML from the voice webhook.
    pub voice_twiml: String,
    /// (seconds since stream start, description).
    pub timeline: Vec<(f64, String)>,
    /// Marks echoed back (names), in order.
    pub marks: Vec<String>,
    /// `clear` messages received.
    pub clears: usize,
    /// Seconds from each key press to the next `clear` (barge-in latency).
    pub key_to_clear: Vec<f64>,
    /// Seconds from the last key press to the server closing the stream.
    pub key_to_close: Option<f64>,
    /// How the server closed the stream: (code, reason).
    pub close: Option<(u16, String)>,
    /// TwiML from the action webhook (the bridge answer).
    pub after_twiml: Option<String>,
    /// HTTP status of the action webhook.
    pub after_status: Option<u16>,
    /// Everything the server played, μ-law decoded (if the plan keeps audio).
    pub heard: Vec<i16>,
    /// Seconds of audio the server sent.
    pub heard_seconds: f64,
}

impl CallReport {
    /// Whether the bridge answer records the call.
    pub fn bridged_with_recording(&self) -> bool {
        self.after_twiml
            .as_deref()
            .is_some_and(|t| t.contains("record=\"record-from-answer-dual\""))
    }

    fn note(&mut self, t: f64, what: impl Into<String>) {
        self.timeline.push((t, what.into()));
    }

    fn count_frame_lag(&mut self, lag_ms: f64) {
        const BUCKETS: usize = 101;
        if self.frame_lag_histogram.is_empty() {
            self.frame_lag_histogram = vec![0; BUCKETS];
        }
        let i = (lag_ms.max(0.0) as usize).min(BUCKETS - 1);
        self.frame_lag_histogram[i] += 1;
        self.frames_sent += 1;
        if lag_ms > 10.0 {
            self.frames_late += 1;
        }
        self.worst_frame_lag_ms = self.worst_frame_lag_ms.max(lag_ms);
    }
}

/// The client's WebSocket settings: small reads (the default zero-fills 128 KiB before every
/// read, which would make the load generator measure itself).
fn client_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// A random Twilio-style SID: prefix and 32 hex digits.
pub fn random_sid(prefix: &str) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut s = String::from(prefix);
    for _ in 0..32 {
        s.push(char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'));
    }
    s
}

fn xml_attr(xml: &str, element: &str, attr: &str) -> Option<String> {
    let start = xml.find(&format!("<{element}"))?;
    let rest = &xml[start..];
    let end = rest.find('>')?;
    let tag = &rest[..end];
    let key = format!("{attr}=\"");
    let a = tag.find(&key)? + key.len();
    let b = tag[a..].find('"')? + a;
    Some(xml_unescape(&tag[a..b]))
}

fn xml_parameters(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<Parameter") {
        rest = &rest[i + 1..];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        let get = |attr: &str| {
            let key = format!("{attr}=\"");
            let a = tag.find(&key)? + key.len();
            let b = tag[a..].find('"')? + a;
            Some(xml_unescape(&tag[a..b]))
        };
        if let (Some(n), Some(v)) = (get("name"), get("value")) {
            out.push((n, v));
        }
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn post_form(
    client: &reqwest::Client,
    url: &str,
    params: &[(String, String)],
    token: Option<&str>,
) -> anyhow::Result<(u16, String)> {
    let mut request = client.post(url).header(
        reqwest::header::CONTENT_TYPE,
        "application/x-www-form-urlencoded",
    );
    if let Some(token) = token {
        request = request.header("X-Twilio-Signature", twilio::signature(token, url, params));
    }
    let body = serde_urlencoded::to_string(params)?;
    let response = request.body(body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// Place the call and follow it to the end.
pub async fn place_call(plan: &CallPlan) -> anyhow::Result<CallReport> {
    let began = Instant::now();
    let mut report = tokio::time::timeout(plan.timeout, place_call_inner(plan))
        .await
        .map_err(|_| anyhow::anyhow!("call did not finish within {:?}", plan.timeout))??;
    report.duration = began.elapsed().as_secs_f64();
    Ok(report)
}

async fn place_call_inner(plan: &CallPlan) -> anyhow::Result<CallReport> {
    let client = plan.http.clone().unwrap_or_default();
    let account_sid = random_sid("AC");
    let stream_sid = random_sid("MZ");
    let mut report = CallReport {
        call_sid: plan.call_sid.clone(),
        stream_sid: stream_sid.clone(),
        ..CallReport::default()
    };
    let call_params = |status: &str| -> Vec<(String, String)> {
        vec![
            ("AccountSid".into(), account_sid.clone()),
            ("ApiVersion".into(), "2010-04-01".into()),
            ("CallSid".into(), plan.call_sid.clone()),
            ("CallStatus".into(), status.into()),
            ("Direction".into(), "inbound".into()),
            ("From".into(), plan.from.clone()),
            ("To".into(), plan.to.clone()),
        ]
    };
    let voice_url = format!("{}/twilio/voice", plan.url);
    let (status, twiml) = post_form(
        &client,
        &voice_url,
        &call_params("ringing"),
        plan.auth_token.as_deref(),
    )
    .await?;
    anyhow::ensure!(status == 200, "voice webhook answered {status}: {twiml}");
    report.voice_twiml = twiml.clone();
    let stream_url = xml_attr(&twiml, "Stream", "url")
        .ok_or_else(|| anyhow::anyhow!("no <Stream url> in TwiML: {twiml}"))?;
    let action_url = xml_attr(&twiml, "Connect", "action");
    let parameters = xml_parameters(&twiml);

    // Open the stream.
    let mut request = stream_url.as_str().into_client_request()?;
    if let Some(token) = &plan.auth_token {
        request.headers_mut().insert(
            "X-Twilio-Signature",
            twilio::signature(token, &stream_url, &[]).parse()?,
        );
    }
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(client_config()), true).await?;
    let (mut tx, mut rx) = ws.split();
    tx.send(Message::text(sim::connected())).await?;
    let params: Vec<(&str, &str)> = parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    tx.send(Message::text(sim::start(
        &stream_sid,
        &plan.call_sid,
        &account_sid,
        &params,
    )))
    .await?;

    let epoch = Instant::now();
    let secs = |at: Instant| at.duration_since(epoch).as_secs_f64();
    report.note(0.0, "stream started");

    // Playout of what the server sends: audio bytes, and marks at their positions.
    let mut playout: VecDeque<u8> = VecDeque::new();
    let mut pending_marks: VecDeque<(usize, String)> = VecDeque::new(); // (bytes ahead, name)
    let mut seq: u64 = 2;
    let mut chunk: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut keys: VecDeque<Key> = plan.keys.iter().copied().collect();
    let mut pressing: Option<(Vec<i16>, usize)> = None;
    let mut last_press: Option<Instant> = None;
    let mut awaiting_clear_since: Option<Instant> = None;
    let mut awaiting_answer_since: Option<Instant> = None;
    let mut quiet_since: Option<Instant> = None;
    let mut heard_something = false;
    let mut presses = 0usize;
    let mut just_pressed = false;

    loop {
        tokio::select! {
            scheduled = tick.tick() => {
                let now = Instant::now();
                let lag = now.saturating_duration_since(scheduled).as_secs_f64() * 1000.0;
                report.count_frame_lag(lag);
                let t = secs(now);
                if let Some(limit) = plan.hangup_after {
                    if t >= limit {
                        report.note(t, "caller hangs up");
                        tx.send(Message::text(sim::stop(&stream_sid, seq, &plan.call_sid, &account_sid))).await.ok();
                        tx.send(Message::Close(None)).await.ok();
                        break;
                    }
                }
                // Play 20 ms of the server's audio.
                let mut played = 0;
                while played < 160 {
                    match playout.pop_front() {
                        Some(code) => {
                            if plan.keep_audio {
                                report.heard.push(g711::ulaw_decode(code));
                            }
                            played += 1;
                        }
                        None => break,
                    }
                }
                for m in pending_marks.iter_mut() {
                    m.0 = m.0.saturating_sub(played);
                }
                while pending_marks.front().is_some_and(|m| m.0 == 0) {
                    let (_, name) = pending_marks.pop_front().unwrap_or_default();
                    seq += 1;
                    tx.send(Message::text(sim::mark(&stream_sid, seq, &name))).await?;
                    report.note(t, format!("audio played out, mark {name} echoed"));
                    report.marks.push(name);
                }
                if playout.is_empty() && pending_marks.is_empty() {
                    quiet_since.get_or_insert(now);
                } else {
                    quiet_since = None;
                }
                // Time to press?
                if pressing.is_none() {
                    if let Some(&key) = keys.front() {
                        let after_prompt = heard_something
                            && quiet_since.is_some_and(|q| now.duration_since(q) >= Duration::from_millis(500));
                        // An absolute time applies to the first key; later keys answer
                        // the questions that follow.
                        let due = match plan.when {
                            When::At(at) if presses == 0 => t >= at,
                            _ => after_prompt,
                        };
                        if due {
                            keys.pop_front();
                            let how = match plan.mode {
                                KeyMode::Inband => "in-band",
                                KeyMode::Event => "as a dtmf event",
                                KeyMode::Both => "in-band and as a dtmf event",
                            };
                            report.note(t, format!("caller presses {key} ({how})"));
                            last_press = Some(now);
                            awaiting_clear_since = Some(now);
                            awaiting_answer_since = Some(now);
                            if matches!(plan.mode, KeyMode::Event | KeyMode::Both) {
                                seq += 1;
                                tx.send(Message::text(sim::dtmf(&stream_sid, seq, key.as_char()))).await?;
                            }
                            if matches!(plan.mode, KeyMode::Inband | KeyMode::Both) {
                                let len = (plan.key_ms * 8) as usize;
                                let mut buf = vec![0f32; len];
                                DtmfTone::new(key, plan.key_dbm0).add_to(&mut buf, 0, len, (0.0, 0.0));
                                pressing = Some((to_i16(&buf), 0));
                                just_pressed = true;
                            }
                            presses += 1;
                            heard_something = false;
                        }
                    }
                }
                // Send 20 ms of the caller's audio. A frame goes out when its 20 ms have been
                // captured, as a real line does, so a press starting now is first heard in
                // the next frame.
                let mut frame = [g711::ULAW_SILENCE; 160];
                let fresh = pressing.as_ref().is_some_and(|(_, pos)| *pos == 0) && just_pressed;
                just_pressed = false;
                if let Some((samples, pos)) = pressing.as_mut().filter(|_| !fresh) {
                    for code in frame.iter_mut() {
                        if *pos < samples.len() {
                            *code = g711::ulaw_encode(samples[*pos]);
                            *pos += 1;
                        }
                    }
                    if *pos >= samples.len() {
                        pressing = None;
                    }
                }
                seq += 1;
                chunk += 1;
                let timestamp = (chunk - 1) * 20;
                tx.send(Message::text(sim::media(&stream_sid, seq, chunk, timestamp, &frame))).await?;
            }
            message = rx.next() => {
                let t = secs(Instant::now());
                match message {
                    None => { report.note(t, "connection dropped"); break; }
                    Some(Err(e)) => { report.note(t, format!("connection error: {e}")); break; }
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                        report.note(t, format!("server closed the stream ({code}: {reason})"));
                        if let Some(p) = last_press {
                            report.key_to_close = Some(p.elapsed().as_secs_f64());
                        }
                        report.close = Some((code, reason));
                        break;
                    }
                    Some(Ok(Message::Text(text))) => {
                        match twilio::parse_outbound(text.as_str()) {
                            Ok(Outbound::Media { payload }) => {
                                let now = Instant::now();
                                if report.first_audio.is_none() {
                                    report.first_audio = Some(secs(now));
                                }
                                if let Some(since) = awaiting_answer_since.take() {
                                    report.key_to_answer.push(now.duration_since(since).as_secs_f64());
                                }
                                report.heard_seconds += payload.len() as f64 / 8000.0;
                                heard_something = true;
                                playout.extend(payload);
                            }
                            Ok(Outbound::Mark { name }) => {
                                let ahead = playout.len();
                                if ahead == 0 {
                                    seq += 1;
                                    tx.send(Message::text(sim::mark(&stream_sid, seq, &name))).await?;
                                    report.marks.push(name);
                                } else {
                                    pending_marks.push_back((ahead, name));
                                }
                            }
                            Ok(Outbound::Clear) => {
                                report.clears += 1;
                                if let Some(since) = awaiting_clear_since.take() {
                                    report.key_to_clear.push(since.elapsed().as_secs_f64());
                                }
                                report.note(t, format!("server cleared {:.2} s of queued audio", playout.len() as f64 / 8000.0));
                                playout.clear();
                                for (_, name) in pending_marks.drain(..) {
                                    seq += 1;
                                    tx.send(Message::text(sim::mark(&stream_sid, seq, &name))).await?;
                                    report.marks.push(name);
                                }
                            }
                            Err(e) => anyhow::bail!("server sent something Twilio would reject: {e}: {}", text.as_str()),
                        }
                    }
                    Some(Ok(Message::Binary(_))) => anyhow::bail!("server sent a binary frame"),
                    Some(Ok(_)) => {}
                }
            }
        }
    }

    // The provider moves on to the <Connect action>.
    if let Some(action) = action_url {
        let mut params = call_params("in-progress");
        params.push(("StreamSid".into(), stream_sid.clone()));
        let posted = Instant::now();
        let (status, twiml) =
            post_form(&client, &action, &params, plan.auth_token.as_deref()).await?;
        report.after_seconds = Some(posted.elapsed().as_secs_f64());
        report.after_status = Some(status);
        report.after_twiml = Some(twiml);
    }
    Ok(report)
}
