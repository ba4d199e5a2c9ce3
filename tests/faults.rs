//! Faults, end to end and at small scale: the real `consentline` binary as the server process,
//! driven by `consentline load` (the binary) or the simulated caller, while it is killed,
//! stopped, starved of disk, flooded, stalled and fed malformed traffic. `scripts/faults/`
//! runs the same scenarios at larger scale.
//!
//! Disk faults need root (to mount): a small tmpfs filled to the last byte for a full disk,
//! and an ext4 image on a loop device that the kernel remounts read-only after an error
//! (`errors=remount-ro`, triggered through ext4's `trigger_fs_error`) for a read-only one. If
//! mounting is impossible the test says so on the real stderr and skips, unless
//! `CONSENTLINE_REQUIRE_FAULTS=1` is set, when it fails.

#[path = "support/server.rs"]
mod support;

use consentline::caller::{place_call, CallPlan, CallReport};
use consentline::media::dtmf::Key;
use consentline::protocol::twilio::sim;
use consentline::store::Store;
use futures_util::{SinkExt, StreamExt};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_consentline");
const FORWARD_TO: &str = "+14155550100";

// ---------------------------------------------------------------------------------------------
// Harness

/// Print past the test harness's capture: a skipped fault must be visible in CI's output.
fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Skip a test whose fault cannot be made here, visibly; or fail if faults are required.
fn skip(test: &str, why: &str) {
    if std::env::var("CONSENTLINE_REQUIRE_FAULTS").is_ok_and(|v| v == "1") {
        panic!("{test}: the fault cannot be made here: {why} (CONSENTLINE_REQUIRE_FAULTS=1)");
    }
    loud(&format!("SKIPPED {test}: {why}"));
}

/// A prompt catalog: the short made-up one (calls of a few seconds) or the shipped one.
struct Prompts {
    dir: PathBuf,
    _keep: Option<tempfile::TempDir>,
}

fn short_prompts() -> Prompts {
    let d = support::short_prompts();
    Prompts {
        dir: d.path().to_path_buf(),
        _keep: Some(d),
    }
}

fn shipped_prompts() -> Prompts {
    Prompts {
        dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        _keep: None,
    }
}

/// The `consentline serve` process.
struct Server {
    child: tokio::process::Child,
    addr: SocketAddr,
    url: String,
    log: PathBuf,
}

impl Server {
    /// Start `consentline serve` on `listen` (`127.0.0.1:0` for any port) and wait until it
    /// listens. Its JSON log goes to `log`.
    /// A server on a free port with its data in `tmp/data` and its log in `tmp/serve.log`.
    async fn fresh(tmp: &Path, prompts: &Path, extra: &[&str]) -> Self {
        let (data, log) = (tmp.join("data"), tmp.join("serve.log"));
        Self::start(&data, prompts, "127.0.0.1:0", &log, extra).await
    }

    async fn start(data: &Path, prompts: &Path, listen: &str, log: &Path, extra: &[&str]) -> Self {
        let file = std::fs::File::create(log).unwrap();
        let mut command = tokio::process::Command::new(BIN);
        command
            .arg("serve")
            .args(["--listen", listen, "--forward-to", FORWARD_TO])
            .arg("--data")
            .arg(data)
            .arg("--prompts")
            .arg(prompts)
            .args(["--log-format", "json"])
            .args(extra)
            .current_dir(log.parent().unwrap())
            .env_remove("TWILIO_AUTH_TOKEN")
            .env("CONSENTLINE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true);
        for (k, _) in std::env::vars() {
            if k.starts_with("CONSENTLINE_") && k != "CONSENTLINE_LOG" {
                command.env_remove(k);
            }
        }
        let mut child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let listening = text.lines().find_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                (v["fields"]["message"] == "consentline listening")
                    .then(|| v["fields"]["local_addr"].as_str().map(str::to_string))?
            });
            if let Some(addr) = listening {
                let addr: SocketAddr = addr.parse().unwrap();
                return Server {
                    child,
                    addr,
                    url: format!("http://{addr}"),
                    log: log.to_path_buf(),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("server exited at start ({status}):\n{text}");
            }
            assert!(Instant::now() < deadline, "server did not start:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("server still running")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no drain, no flush, nothing.
    async fn kill9(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, then wait for the drain to finish.
    async fn terminate(&mut self) -> ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(90), self.child.wait())
            .await
            .expect("server did not exit after SIGTERM")
            .unwrap()
    }

    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    }

    /// A value from `GET /metrics`, e.g. `consentline_calls_total{flow="consent"}`.
    async fn metric(&self, series: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics").await?;
        text.lines().find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
    }

    /// Live media streams, from `GET /healthz`.
    async fn live_calls(&self) -> Option<u64> {
        let (_, text) = self.get("/healthz").await?;
        serde_json::from_str::<serde_json::Value>(&text).ok()?["live_calls"].as_u64()
    }

    /// JSON log lines whose message contains `needle`.
    fn log_lines(&self, needle: &str) -> Vec<serde_json::Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| {
                v["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(needle))
            })
            .collect()
    }
}

/// Wait until `check` holds, polling; panics naming `what` after `limit`.
async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Resident memory now and at its peak (VmRSS, VmHWM), bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (kb("VmRSS:") * 1024, kb("VmHWM:") * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `consentline load` (the binary) with a ledger; its exit status and output.
async fn load(
    url: &str,
    calls: usize,
    rate: f64,
    mix: &str,
    ledger: &Path,
) -> (ExitStatus, String) {
    let out = tokio::process::Command::new(BIN)
        .args(["load", "--url", url, "--calls", &calls.to_string()])
        .args(["--rate", &rate.to_string(), "--mix", mix])
        .arg("--ledger")
        .arg(ledger)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status, text)
}

/// The ledger's lines.
fn ledger(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn recorded(line: &serde_json::Value) -> bool {
    line["bridged_with_recording"] == true
}

/// A ledger in `consentline load`'s format for calls placed by the test itself.
fn write_ledger(path: &Path, reports: &[(&CallReport, bool)]) {
    let text: String = reports
        .iter()
        .map(|(r, expected)| {
            serde_json::json!({
                "call_sid": r.call_sid,
                "scenario": "consent-inband",
                "expected_recording": expected,
                "bridged_with_recording": r.bridged_with_recording(),
                "ok": r.bridged_with_recording() == *expected,
                "error": null,
            })
            .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

/// `consentline audit ARGS --data DATA`.
async fn audit(args: &[&str], data: &Path) -> (bool, String) {
    let out = tokio::process::Command::new(BIN)
        .arg("audit")
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("CONSENTLINE_DATA")
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `audit verify` and `audit ledger` must both pass.
async fn assert_audits_pass(data: &Path, ledger_file: &Path) -> String {
    let (ok, verify) = audit(&["verify"], data).await;
    assert!(ok, "audit verify failed:\n{verify}");
    let (ok, check) = audit(&["ledger", ledger_file.to_str().unwrap()], data).await;
    assert!(ok, "audit ledger failed:\n{check}");
    verify + &check
}

fn plan(url: &str, keys: &str) -> CallPlan {
    let mut plan = CallPlan::new(url);
    plan.keys = Key::parse_sequence(keys).unwrap();
    plan.timeout = Duration::from_secs(90);
    plan
}

/// `n` consenting calls at once; every one must get a bridge answer.
async fn consenting_calls(url: &str, n: usize) -> Vec<CallReport> {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let p = plan(url, "1");
            tokio::spawn(async move { place_call(&p).await })
        })
        .collect();
    let mut reports = Vec::new();
    for c in calls {
        let r = c.await.unwrap().expect("the call itself failed");
        assert!(
            r.after_twiml
                .as_deref()
                .is_some_and(|t| t.contains("<Dial")),
            "not bridged: {r:#?}"
        );
        reports.push(r);
    }
    reports
}

/// A mounted file system, unmounted (lazily) when dropped.
struct Mounted {
    dir: PathBuf,
}

impl Mounted {
    fn run(command: &mut std::process::Command) -> Result<(), String> {
        let out = command
            .output()
            .map_err(|e| format!("{:?}: {e}", command.get_program()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{:?} {:?}: {}",
                command.get_program(),
                command.get_args().collect::<Vec<_>>(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// A tmpfs of `size` (e.g. "4m") at `dir`.
    fn tmpfs(dir: &Path, size: &str) -> Result<Mounted, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        Self::run(
            std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o"])
                .arg(format!("size={size},mode=0700"))
                .arg("tmpfs")
                .arg(dir),
        )?;
        Ok(Mounted {
            dir: dir.to_path_buf(),
        })
    }

    /// An ext4 file system on a loop device, mounted so that an error remounts it
    /// read-only, as the kernel does when a disk fails.
    fn ext4(image: &Path, dir: &Path, megabytes: u64) -> Result<Mounted, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        std::fs::File::create(image)
            .and_then(|f| f.set_len(megabytes * 1024 * 1024))
            .map_err(|e| e.to_string())?;
        Self::run(
            std::process::Command::new("mkfs.ext4")
                .args(["-q", "-F"])
                .arg(image),
        )?;
        Self::run(
            std::process::Command::new("mount")
                .args(["-o", "loop,errors=remount-ro"])
                .arg(image)
                .arg(dir),
        )?;
        Ok(Mounted {
            dir: dir.to_path_buf(),
        })
    }

    /// The block device under the mount, e.g. `loop3`.
    fn device(&self) -> Option<String> {
        let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
        let dir = self.dir.canonicalize().ok()?;
        mounts.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, at) = (f.next()?, f.next()?);
            (Path::new(at) == dir).then(|| dev.trim_start_matches("/dev/").to_string())
        })
    }

    fn options(&self) -> String {
        let dir = self.dir.canonicalize().unwrap();
        std::fs::read_to_string("/proc/mounts")
            .unwrap()
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() > 3 && Path::new(f[1]) == dir).then(|| f[3].to_string())
            })
            .unwrap_or_default()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .output();
    }
}

/// Fill the file system holding `dir` to the last byte; returns the filler file.
fn fill_disk(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0xA5u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    assert!(written > 0, "nothing could be written to {}", dir.display());
    path
}

// ---------------------------------------------------------------------------------------------
// Process faults

/// `n` callers who consent while the log cannot write: every one is bridged without recording
/// and the server logs why. Returns the calls and the logged error.
async fn consenting_calls_go_unrecorded(
    server: &Server,
    n: usize,
    on: &str,
) -> (Vec<CallReport>, String) {
    let calls = consenting_calls(&server.url, n).await;
    for r in &calls {
        assert!(!r.bridged_with_recording(), "recorded on {on}: {r:#?}");
    }
    let errors = server.log_lines("consent log write failed");
    assert!(
        !errors.is_empty(),
        "no error logged:\n{}",
        server.log_text()
    );
    let error = errors[0]["fields"]["error"].as_str().unwrap_or("");
    (calls, error.to_string())
}

/// kill -9 mid-load, restart on the same port while the load goes on: the chain verifies and
/// every call the load generator saw answered "record" has its durable consent in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_then_restart_loses_no_consent() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let prompts = short_prompts();
    let mut server = Server::start(
        &data,
        &prompts.dir,
        "127.0.0.1:0",
        &tmp.path().join("serve-1.log"),
        &[],
    )
    .await;
    let ledger_file = tmp.path().join("ledger.jsonl");
    let url = server.url.clone();
    let ledger_path = ledger_file.clone();
    let load_run = tokio::spawn(async move {
        load(
            &url,
            40,
            10.0,
            "consent-inband,consent-event,barge-in,decline",
            &ledger_path,
        )
        .await
    });
    // Kill once several calls have been answered "record" and more are in flight.
    wait_for(
        "three recorded outcomes",
        Duration::from_secs(60),
        || async {
            server
                .metric("consentline_call_outcomes_total{outcome=\"record\"}")
                .await
                .is_some_and(|n| n >= 3.0)
        },
    )
    .await;
    let live_at_kill = server.live_calls().await.unwrap_or(0);
    server.kill9().await;
    let mut server = Server::start(
        &data,
        &prompts.dir,
        &server.addr.to_string(),
        &tmp.path().join("serve-2.log"),
        &[],
    )
    .await;
    let (_status, output) = load_run.await.unwrap();
    assert_eq!(server.terminate().await.code(), Some(0));

    let lines = ledger(&ledger_file);
    assert_eq!(lines.len(), 40, "{output}");
    let recorded_calls = lines.iter().filter(|l| recorded(l)).count();
    let cut = lines.iter().filter(|l| l["ok"] == false).count();
    loud(&format!(
        "kill -9: {live_at_kill} calls live at the kill; {} calls, {recorded_calls} bridged with \
         recording, {cut} cut by the kill or refused",
        lines.len()
    ));
    assert!(
        recorded_calls >= 3,
        "too few recorded calls to prove anything:\n{output}"
    );
    assert!(live_at_kill > 0, "no call was in flight at the kill");
    let report = assert_audits_pass(&data, &ledger_file).await;
    assert!(
        report.contains(&format!(
            "log: {recorded_calls} of {recorded_calls} calls bridged with recording"
        )),
        "{report}"
    );
}

/// SIGTERM with every call of a load in flight: each finishes with its expected outcome, the
/// log is flushed, the process exits 0, and the audits pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let prompts = short_prompts();
    let mut server = Server::fresh(tmp.path(), &prompts.dir, &["--drain-seconds", "60"]).await;
    let calls = 24;
    let ledger_file = tmp.path().join("ledger.jsonl");
    let url = server.url.clone();
    let ledger_path = ledger_file.clone();
    let load_run = tokio::spawn(async move {
        load(
            &url,
            calls,
            12.0,
            "consent-inband,consent-event,decline,barge-in,hangup",
            &ledger_path,
        )
        .await
    });
    wait_for("every stream started", Duration::from_secs(60), || async {
        server
            .metric("consentline_calls_total{flow=\"consent\"}")
            .await
            .is_some_and(|n| n >= calls as f64)
    })
    .await;
    let live = server.live_calls().await.unwrap_or(0);
    let status = server.terminate().await;
    let (load_status, output) = load_run.await.unwrap();
    assert_eq!(status.code(), Some(0), "{}", server.log_text());
    assert!(
        !server.log_lines("consent log flushed").is_empty(),
        "{}",
        server.log_text()
    );
    assert!(live > 0, "no call was live at SIGTERM");
    assert!(
        load_status.success(),
        "a call in flight at SIGTERM did not get its outcome:\n{output}"
    );
    let lines = ledger(&ledger_file);
    assert_eq!(lines.len(), calls);
    assert!(lines.iter().all(|l| l["ok"] == true), "{output}");
    let recorded_calls = lines.iter().filter(|l| recorded(l)).count();
    // consent-inband, consent-event and barge-in of every five.
    let expected = (0..calls).filter(|n| [0, 1, 3].contains(&(n % 5))).count();
    assert_eq!(recorded_calls, expected, "{output}");
    loud(&format!(
        "SIGTERM: {live} calls live at the signal, {calls} calls all as expected, {recorded_calls} recorded"
    ));
    assert_audits_pass(&data, &ledger_file).await;
    // Every call's bridge answer was logged before the process exited.
    let store = Store::open_read_only(&data).unwrap();
    for l in &lines {
        let sid = l["call_sid"].as_str().unwrap();
        let kinds: Vec<String> = store
            .call_timeline(sid)
            .unwrap()
            .into_iter()
            .map(|r| r.kind)
            .collect();
        assert!(
            kinds.iter().any(|k| k == "bridge_answered") && kinds.iter().any(|k| k == "call_ended"),
            "{sid}: {kinds:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Disk faults

/// The log on a full disk: writes fail with SQLITE_FULL, the writer lives on, nothing half
/// written is kept, and once space returns the chain continues from the tip on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_writer_survives_a_full_disk_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = match Mounted::tmpfs(&tmp.path().join("disk"), "2m") {
        Ok(m) => m,
        Err(e) => return skip("the_log_writer_survives_a_full_disk_and_resumes", &e),
    };
    let data = mount.dir.join("data");
    let (log, writer) = Store::open(&data).unwrap().start_writer();
    let entry = |n: usize| consentline::consent::Entry {
        call_sid: format!("CA{n:032}"),
        stream_sid: None,
        kind: consentline::consent::Kind::CallEnded,
        fields: consentline::consent::Fields {
            reason: Some(format!("fault test {n} {}", "x".repeat(300))),
            ..Default::default()
        },
    };
    let mut durable = 0u64;
    for n in 0..20 {
        log.append(entry(n), None).await.unwrap();
        durable += 1;
    }
    let filler = fill_disk(&mount.dir);
    let mut refused = 0;
    let mut error = String::new();
    for n in 20..60 {
        match log.append(entry(n), None).await {
            Ok(_) => durable += 1,
            Err(e) => {
                refused += 1;
                error = e.to_string();
            }
        }
    }
    assert!(refused > 0, "a full disk refused nothing");
    assert!(error.contains("disk full"), "{error}");
    std::fs::remove_file(&filler).unwrap();
    // The writer is alive and continues the chain from what is on disk.
    for n in 60..80 {
        let c = log.append(entry(n), None).await.unwrap();
        durable += 1;
        assert_eq!(
            c.seq, durable,
            "the chain tip in memory and on disk disagree"
        );
    }
    log.close().await;
    writer.await.unwrap();
    let store = Store::open_read_only(&data).unwrap();
    assert_eq!(store.verify().unwrap().unwrap(), durable);
    loud(&format!(
        "full disk (library): {refused} appends refused with {error:?}, {durable} durable, chain intact"
    ));
}

/// A full data directory under load: calls are still answered and bridged, never with
/// recording, the log says why; recording resumes when space returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_bridges_without_recording_until_space_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = match Mounted::tmpfs(&tmp.path().join("disk"), "4m") {
        Ok(m) => m,
        Err(e) => {
            return skip(
                "a_full_disk_bridges_without_recording_until_space_returns",
                &e,
            )
        }
    };
    let data = mount.dir.join("data");
    let prompts = short_prompts();
    let mut server = Server::start(
        &data,
        &prompts.dir,
        "127.0.0.1:0",
        &tmp.path().join("serve.log"),
        &[],
    )
    .await;
    let before = consenting_calls(&server.url, 2).await;
    assert!(before.iter().all(|r| r.bridged_with_recording()));

    let filler = fill_disk(&mount.dir);
    let (full, error) = consenting_calls_go_unrecorded(&server, 4, "a full disk").await;
    assert!(error.contains("disk full"), "{error}");
    assert_eq!(server.get("/healthz").await.map(|h| h.0), Some(200));

    std::fs::remove_file(&filler).unwrap();
    let after = consenting_calls(&server.url, 3).await;
    for r in &after {
        assert!(
            r.bridged_with_recording(),
            "recording did not resume: {r:#?}"
        );
    }
    assert!(
        !server
            .log_lines("consent log writes succeed again")
            .is_empty(),
        "{}",
        server.log_text()
    );
    assert_eq!(server.terminate().await.code(), Some(0));

    let ledger_file = tmp.path().join("ledger.jsonl");
    let mut all: Vec<(&CallReport, bool)> = before.iter().map(|r| (r, true)).collect();
    all.extend(full.iter().map(|r| (r, false)));
    all.extend(after.iter().map(|r| (r, true)));
    write_ledger(&ledger_file, &all);
    assert_audits_pass(&data, &ledger_file).await;
    let store = Store::open_read_only(&data).unwrap();
    for r in &full {
        assert_ne!(
            store.decision_for(&r.call_sid).unwrap().as_deref(),
            Some("record")
        );
    }
    loud(&format!("full disk (server): error logged: {error}"));
}

/// A data directory whose file system turns read-only under the server (the kernel's answer
/// to a failing disk): calls are bridged without recording and the log says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_data_directory_bridges_without_recording() {
    const TEST: &str = "a_read_only_data_directory_bridges_without_recording";
    let tmp = tempfile::tempdir().unwrap();
    let mount = match Mounted::ext4(&tmp.path().join("disk.img"), &tmp.path().join("disk"), 16) {
        Ok(m) => m,
        Err(e) => return skip(TEST, &e),
    };
    let Some(trigger) = mount
        .device()
        .map(|d| PathBuf::from(format!("/sys/fs/ext4/{d}/trigger_fs_error")))
        .filter(|p| p.exists())
    else {
        return skip(TEST, "ext4's trigger_fs_error is not available");
    };
    let data = mount.dir.join("data");
    let prompts = short_prompts();
    let mut server = Server::start(
        &data,
        &prompts.dir,
        "127.0.0.1:0",
        &tmp.path().join("serve.log"),
        &[],
    )
    .await;
    let before = consenting_calls(&server.url, 2).await;
    assert!(before.iter().all(|r| r.bridged_with_recording()));

    std::fs::write(&trigger, "consentline fault test\n").unwrap();
    let probe = std::fs::File::create(mount.dir.join("probe"));
    assert!(
        probe.is_err(),
        "the file system is still writable ({})",
        mount.options()
    );
    let (read_only, error) = consenting_calls_go_unrecorded(&server, 3, "a read-only disk").await;
    assert!(
        error.contains("I/O error") || error.contains("read-only"),
        "{error}"
    );
    assert_eq!(server.terminate().await.code(), Some(0));

    // Audit a copy, as an auditor would: the read-only file system cannot take SQLite's
    // recovery files.
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for name in ["consent.db", "consent.db-wal", "consent.db-shm"] {
        if data.join(name).exists() {
            std::fs::copy(data.join(name), copy.join(name)).unwrap();
        }
    }
    let ledger_file = tmp.path().join("ledger.jsonl");
    let mut all: Vec<(&CallReport, bool)> = before.iter().map(|r| (r, true)).collect();
    all.extend(read_only.iter().map(|r| (r, false)));
    write_ledger(&ledger_file, &all);
    assert_audits_pass(&copy, &ledger_file).await;
    loud(&format!("read-only disk: error logged: {error}"));
}

// ---------------------------------------------------------------------------------------------
// Slow and stalled peers

/// Announce a call through the voice webhook; returns its CallSid.
async fn announce(url: &str) -> String {
    let sid = consentline::caller::random_sid("CA");
    let r = reqwest::Client::new()
        .post(format!("{url}/twilio/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "CallSid={sid}&From=%2B15555550123&To=%2B18005550199"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sid
}

/// A media stream that starts a call and then never reads a byte (nor sends one). Its socket
/// receive buffer is as small as the kernel allows.
async fn stalled_stream(
    addr: SocketAddr,
    url: &str,
) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let sid = announce(url).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/twilio/media"), tcp)
        .await
        .unwrap();
    let stream = consentline::caller::random_sid("MZ");
    ws.send(Message::text(sim::connected())).await.unwrap();
    ws.send(Message::text(sim::start(
        &stream,
        &sid,
        "AC00000000000000000000000000000000",
        &[],
    )))
    .await
    .unwrap();
    ws
}

/// Clients that stop reading: the server gives each up on its own (none waits for the client
/// to go away), its memory stays bounded, and a call alongside is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_are_given_up_with_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let prompts = short_prompts();
    let server = Server::fresh(tmp.path(), &prompts.dir, &[]).await;
    let (rss_before, _) = memory(server.pid());
    let good = {
        let p = plan(&server.url, "1");
        tokio::spawn(async move { place_call(&p).await })
    };
    let stalled_n = 20;
    let mut stalled = Vec::new();
    for _ in 0..stalled_n {
        stalled.push(stalled_stream(server.addr, &server.url).await);
    }
    wait_for(
        "the stalled streams to be live",
        Duration::from_secs(20),
        || async { server.live_calls().await.is_some_and(|n| n >= stalled_n) },
    )
    .await;
    let (rss_stalled, _) = memory(server.pid());
    let report = good.await.unwrap().unwrap();
    assert!(
        report.bridged_with_recording(),
        "the call alongside was affected: {report:#?}"
    );
    // The stalled clients still have not read anything: the server must end their calls
    // itself.
    wait_for(
        "the server to give up every stalled stream",
        Duration::from_secs(60),
        || async { server.live_calls().await == Some(0) },
    )
    .await;
    let (rss_after, peak) = memory(server.pid());
    let ended = server.log_lines("media stream ended");
    let reasons: std::collections::BTreeSet<String> = ended
        .iter()
        .filter_map(|l| l["fields"]["reason"].as_str().map(str::to_string))
        .collect();
    loud(&format!(
        "stalled clients: {stalled_n} stalled; server RSS {:.1} MiB before, {:.1} MiB while \
         stalled, {:.1} MiB after, peak {:.1} MiB; ended by: {reasons:?}",
        mib(rss_before),
        mib(rss_stalled),
        mib(rss_after),
        mib(peak)
    ));
    assert!(
        peak.saturating_sub(rss_before) < 64 * 1024 * 1024,
        "memory grew by {:.1} MiB for {stalled_n} stalled clients",
        mib(peak - rss_before)
    );
    // Each stalled connection was closed by the server: reading now finds its end.
    for mut ws in stalled {
        let end = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(m) = ws.next().await {
                if m.is_err() {
                    break;
                }
            }
        })
        .await;
        assert!(end.is_ok(), "a stalled connection was left open");
    }
}

/// A TCP proxy whose server-to-client direction carries at most `rate` bytes a second through
/// a small receive buffer: a slow reader as the server sees it.
async fn throttling_proxy(upstream: SocketAddr, rate: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.set_recv_buffer_size(4096).unwrap();
                let Ok(up) = socket.connect(upstream).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut up_rx, mut up_tx) = up.into_split();
                let forward = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_rx, &mut up_tx).await;
                    let _ = up_tx.shutdown().await;
                });
                let tick = Duration::from_millis(50);
                let mut buf = vec![0u8; (rate / 20).max(1)];
                loop {
                    tokio::time::sleep(tick).await;
                    match up_rx.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if client_tx.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = client_tx.shutdown().await;
                forward.abort();
            });
        }
    });
    addr
}

/// A caller that reads its audio slower than real time: the server neither buffers without
/// bound nor lets it disturb another call, and its call ends cleanly (recorded only with its
/// consent durable in the log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_ends_cleanly_and_disturbs_no_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let prompts = short_prompts();
    let mut server = Server::fresh(tmp.path(), &prompts.dir, &[]).await;
    let (rss_before, _) = memory(server.pid());
    // 3 kB/s: about a quarter of the rate of the base64 audio the server sends.
    let proxy = throttling_proxy(server.addr, 3000).await;
    let slow = {
        let p = plan(&format!("http://{proxy}"), "1");
        tokio::spawn(async move { place_call(&p).await })
    };
    let normal = consenting_calls(&server.url, 2).await;
    assert!(normal.iter().all(|r| r.bridged_with_recording()));
    let slow = slow.await.unwrap().expect("the slow call failed outright");
    let (code, reason) = slow
        .close
        .clone()
        .expect("the server never closed the slow stream");
    assert!(
        code == 1000 || code == 1008,
        "unclean close {code} {reason}"
    );
    assert_eq!(slow.after_status, Some(200), "{slow:#?}");
    let (_, peak) = memory(server.pid());
    assert!(
        peak.saturating_sub(rss_before) < 64 * 1024 * 1024,
        "memory grew by {:.1} MiB",
        mib(peak - rss_before)
    );
    assert_eq!(server.terminate().await.code(), Some(0));
    let ledger_file = tmp.path().join("ledger.jsonl");
    let mut all: Vec<(&CallReport, bool)> = normal.iter().map(|r| (r, true)).collect();
    all.push((&slow, true));
    write_ledger(&ledger_file, &all);
    assert_audits_pass(&data, &ledger_file).await;
    loud(&format!(
        "slow reader (3 kB/s): closed {code} {reason:?}, bridged with recording: {}; server peak \
         RSS {:.1} MiB (from {:.1})",
        slow.bridged_with_recording(),
        mib(peak),
        mib(rss_before)
    ));
}

// ---------------------------------------------------------------------------------------------
// Floods and slow or malformed requests

/// Read what the server sends on `tcp` until it closes or `limit` passes.
async fn read_all(tcp: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

/// More streams than `max_calls` and more connections than `max_connections`: the excess is
/// refused with 503 while a call in progress completes with its recording.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_beyond_the_limits_are_refused_while_a_call_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let prompts = shipped_prompts();
    let server = Server::fresh(
        tmp.path(),
        &prompts.dir,
        &["--max-calls", "3", "--max-connections", "8"],
    )
    .await;
    // A real call with the shipped prompts: it lasts about fifteen seconds.
    let good = {
        let p = plan(&server.url, "1");
        tokio::spawn(async move { place_call(&p).await })
    };
    wait_for(
        "the good call to be live",
        Duration::from_secs(20),
        || async { server.live_calls().await == Some(1) },
    )
    .await;

    // Streams: two more fill max_calls (they never start); the rest get 503.
    let ws_url = format!("ws://{}/twilio/media", server.addr);
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(tokio_tungstenite::connect_async(&ws_url).await.unwrap().0);
    }
    let mut refused_streams = 0;
    for _ in 0..5 {
        match tokio_tungstenite::connect_async(&ws_url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 503 => {
                refused_streams += 1
            }
            other => panic!("expected 503 beyond max_calls, got {other:?}"),
        }
    }
    drop(held);

    // Connections: idle ones up to max_connections are held; the rest are answered 503 (after
    // a moment to send a request they never send) and closed, and so is a webhook while the
    // flood lasts.
    let mut flood = Vec::new();
    for _ in 0..14 {
        flood.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let answers = futures_util::future::join_all(
        flood
            .iter_mut()
            .map(|tcp| read_all(tcp, Duration::from_secs(4))),
    )
    .await;
    let mut idle = Vec::new();
    let mut refused_connections = 0;
    for (tcp, (got, closed)) in flood.into_iter().zip(answers) {
        if got.is_empty() && !closed {
            idle.push(tcp);
        } else {
            let text = String::from_utf8_lossy(&got);
            assert!(
                text.starts_with("HTTP/1.1 503") && closed,
                "unclean refusal: {text:?}"
            );
            refused_connections += 1;
        }
    }
    assert!(
        idle.len() <= 8,
        "{} connections held past the limit",
        idle.len()
    );
    assert!(
        refused_connections >= 6,
        "only {refused_connections} refused"
    );
    // A keep-alive connection of the call may have closed meanwhile: take its permit too.
    for _ in 0..3 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    assert_eq!(server.get("/healthz").await.map(|h| h.0), Some(503));
    drop(idle);
    wait_for("capacity to return", Duration::from_secs(10), || async {
        server.get("/healthz").await.map(|h| h.0) == Some(200)
    })
    .await;

    let report = good.await.unwrap().unwrap();
    assert!(
        report.bridged_with_recording(),
        "the call in progress was affected: {report:#?}"
    );
    let refused_calls = server
        .metric("consentline_refused_total{reason=\"capacity\"}")
        .await
        .unwrap();
    let refused_conns = server
        .metric("consentline_refused_total{reason=\"connections\"}")
        .await
        .unwrap();
    assert!(refused_calls >= refused_streams as f64, "{refused_calls}");
    assert!(
        refused_conns >= refused_connections as f64,
        "{refused_conns}"
    );
    loud(&format!(
        "flood: {refused_streams} streams refused beyond max_calls=3, {refused_connections} \
         connections refused beyond max_connections=8; the call in progress was recorded"
    ));
}

/// Slowloris: headers trickled, a connection that sends nothing, a body trickled. Each is cut
/// off by the header timeout; a prompt request still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_are_cut_off_by_the_header_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let prompts = short_prompts();
    let server = Server::fresh(tmp.path(), &prompts.dir, &["--header-timeout-seconds", "2"]).await;
    // Headers, one byte every 200 ms: 30 s worth if the server let it.
    let mut trickle = TcpStream::connect(server.addr).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut cut_off = false;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if trickle.write_all(b"X").await.is_err() {
            cut_off = true;
            break;
        }
        let mut probe = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(1), trickle.read(&mut probe)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut_off = true;
                break;
            }
            Ok(Ok(n)) => panic!(
                "answered a request with incomplete headers: {:?}",
                String::from_utf8_lossy(&probe[..n])
            ),
            Err(_) => {}
        }
    }
    assert!(cut_off, "a trickled request was never cut off");
    let trickled_for = started.elapsed();

    // A connection that sends nothing at all.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let (got, closed) = read_all(&mut silent, Duration::from_secs(15)).await;
    assert!(closed && got.is_empty(), "an idle connection was kept");

    // Headers promptly, then a body that never comes.
    let mut body = TcpStream::connect(server.addr).await.unwrap();
    body.write_all(
        b"POST /twilio/voice HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nCallSid=CA1",
    )
    .await
    .unwrap();
    let (got, _) = read_all(&mut body, Duration::from_secs(15)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");

    assert_eq!(server.get("/healthz").await.map(|h| h.0), Some(200));
    let cut_off = server
        .metric("consentline_refused_total{reason=\"header_timeout\"}")
        .await
        .unwrap();
    assert!(cut_off >= 2.0, "header timeouts counted: {cut_off}");
    loud(&format!(
        "slowloris: trickled headers cut off after {:.1} s (header timeout 2 s); idle and slow-body connections closed",
        trickled_for.as_secs_f64()
    ));
}

/// A WebSocket handshake by hand, with the given version; the server's answer head.
async fn handshake(addr: SocketAddr, version: Option<&str>) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "GET /twilio/media HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    if let Some(v) = version {
        request.push_str(&format!("Sec-WebSocket-Version: {v}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut byte))
            .await
            .expect("no answer to the handshake")
            .unwrap();
        assert_eq!(
            n,
            1,
            "closed mid-answer: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    (tcp, String::from_utf8_lossy(&head).into_owned())
}

/// One WebSocket frame, masked as a client must (RFC 6455 §5.3) or not.
fn frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if masked {
        let key = [0x12u8, 0x34, 0x56, 0x78];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// The server's frames on `tcp` until it closes: the close frame's code, if one came.
async fn close_code(tcp: &mut TcpStream) -> Option<u16> {
    let (bytes, closed) = read_all(tcp, Duration::from_secs(15)).await;
    assert!(closed, "the server kept the connection open");
    let mut i = 0;
    while i + 2 <= bytes.len() {
        let opcode = bytes[i] & 0x0f;
        let (len, head) = match bytes[i + 1] & 0x7f {
            126 if i + 4 <= bytes.len() => {
                (u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize, 4)
            }
            127 => return None,
            n => (n as usize, 2),
        };
        let body = bytes.get(i + head..i + head + len)?;
        if opcode == 0x8 {
            return (body.len() >= 2).then(|| u16::from_be_bytes([body[0], body[1]]));
        }
        i += head + len;
    }
    None
}

/// Malformed upgrades and webhooks: a WebSocket version the server does not speak (426 naming
/// 13), no version (400), unmasked client frames before and after `start` (closed with 1002,
/// RFC 6455 §5.1), webhooks without a CallSid or with the wrong content type (400).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_upgrades_and_webhooks_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let prompts = short_prompts();
    let server = Server::fresh(tmp.path(), &prompts.dir, &[]).await;
    let (_, head) = handshake(server.addr, Some("8")).await;
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );
    let (_, head) = handshake(server.addr, None).await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");

    // An unmasked frame before start.
    let (mut tcp, head) = handshake(server.addr, Some("13")).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp.write_all(&frame(0x1, sim::connected().as_bytes(), false))
        .await
        .unwrap();
    assert_eq!(close_code(&mut tcp).await, Some(1002));

    // A started call, then an unmasked media frame.
    let sid = announce(&server.url).await;
    let (mut tcp, head) = handshake(server.addr, Some("13")).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let stream = consentline::caller::random_sid("MZ");
    let start = sim::start(&stream, &sid, "AC00000000000000000000000000000000", &[]);
    tcp.write_all(&frame(0x1, sim::connected().as_bytes(), true))
        .await
        .unwrap();
    tcp.write_all(&frame(0x1, start.as_bytes(), true))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let media = sim::media(&stream, 3, 1, 0, &[0xFF; 160]);
    tcp.write_all(&frame(0x1, media.as_bytes(), false))
        .await
        .unwrap();
    assert_eq!(close_code(&mut tcp).await, Some(1002));

    let client = reqwest::Client::new();
    for path in ["/twilio/voice", "/twilio/after", "/twilio/recording-status"] {
        let missing = client
            .post(format!("{}{path}", server.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("From=%2B15555550123&To=%2B18005550199")
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 400, "{path} without CallSid");
        let json = client
            .post(format!("{}{path}", server.url))
            .header("content-type", "application/json")
            .body("{\"CallSid\":\"CA1\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(json.status(), 400, "{path} as JSON");
    }
    // None of it disturbed the server.
    let report = place_call(&plan(&server.url, "1")).await.unwrap();
    assert!(report.bridged_with_recording(), "{report:#?}");
}

/// Streams that never send `start` are closed after the start timeout (10 s); a stream that
/// starts and then goes silent (no marks, no media) is ended by the server without recording.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_streams_are_timed_out() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let prompts = short_prompts();
    let server = Server::fresh(tmp.path(), &prompts.dir, &[]).await;
    let ws_url = format!("ws://{}/twilio/media", server.addr);
    let never_starts = tokio::spawn({
        let ws_url = ws_url.clone();
        async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
            ws.send(Message::text(sim::connected())).await.unwrap();
            support::close_of(&mut ws, Duration::from_secs(40)).await
        }
    });
    let sid = announce(&server.url).await;
    let silent_sid = sid.clone();
    let goes_silent = tokio::spawn(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
        let stream = consentline::caller::random_sid("MZ");
        ws.send(Message::text(sim::connected())).await.unwrap();
        ws.send(Message::text(sim::start(
            &stream,
            &sid,
            "AC00000000000000000000000000000000",
            &[],
        )))
        .await
        .unwrap();
        // Reads everything (so this is silence, not a stall) and sends nothing more.
        support::close_of(&mut ws, Duration::from_secs(40)).await
    });
    let (code, reason) = never_starts.await.unwrap();
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("no start message"), "{reason}");
    let (code, reason) = goes_silent.await.unwrap();
    assert!(code == 1000 || code == 1008, "{code} {reason}");
    assert!(reason.contains("no_record"), "{code} {reason}");
    let store = Store::open_read_only(&data).unwrap();
    assert_eq!(
        store.decision_for(&silent_sid).unwrap().as_deref(),
        Some("no_record")
    );
    loud(&format!(
        "silent streams: never started -> 1008 no start; silent after start -> {code} {reason:?}"
    ));
}
