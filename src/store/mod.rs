//! The durable consent log: SQLite in WAL mode behind one group-commit writer task.
//!
//! # Layout of a data directory
//! - `consent.db`: table `records` (the hash chain of [`consent::Record`]s, one row each, the
//!   `fields` column holding [`consent::Fields::canonical_json`]) and table `personal_data`
//!   (the clear values behind pseudonyms, outside the chain, redactable).
//! - `installation.key`: 32 random bytes as hex, created mode 0600 on first open: the key of
//!   [`Store::pseudonymize`].
//!
//! # Writing
//! [`Store::start_writer`] moves the store's connection to a dedicated blocking thread. Appends
//! ([`LogHandle::append`], [`LogHandle::submit`]) queue on a bounded channel; the writer takes
//! everything queued (up to [`MAX_BATCH`]), writes it in one `BEGIN IMMEDIATE` transaction
//! continuing the chain from the tip it reads inside that transaction, commits with
//! `synchronous=FULL` (the WAL is fsynced), and only then answers each appender. If the
//! database fails (disk full, read-only, I/O error, locked), every append of that batch is
//! answered with the error, nothing of it is kept, and the writer goes on with the next batch;
//! once space (or the file system) returns, the next batch commits and continues the chain
//! from the tip on disk. An outage is logged when it starts, every 10 s while it lasts and when
//! it ends.
//!
//! # Reading
//! The read methods are synchronous and use the store's own connection, so a second
//! [`Store`] opened on the same directory reads while a writer runs.

pub mod requests;

use crate::consent::{self, Entry, Fields, Record, Verifier, VerifyError, GENESIS_HASH};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::fmt;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Database file name inside the data directory.
pub const DB_FILE: &str = "consent.db";
/// Installation key file name inside the data directory.
pub const KEY_FILE: &str = "installation.key";
/// Most appends written in one transaction.
pub const MAX_BATCH: usize = 512;
/// Appends that may wait for the writer before [`LogHandle::submit`] answers
/// [`StoreError::Busy`] (and [`LogHandle::append`] waits).
pub const QUEUE: usize = 4096;
/// How long a connection waits for another one's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest call or stream id accepted, bytes.
const MAX_ID: usize = 256;
/// Longest field value accepted, bytes.
const MAX_FIELD: usize = 4096;
/// Longest clear personal value accepted, bytes.
const MAX_PERSONAL: usize = 256;

/// Everything that can go wrong with the log. Cloneable: one database failure is the answer to
/// every append of its batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("data directory {path}: {message}")]
    Dir { path: PathBuf, message: String },
    #[error("installation key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("database: {0}")]
    Database(String),
    /// A stored row that cannot be read back as a record.
    #[error("record {seq}: {message}")]
    Corrupt { seq: u64, message: String },
    /// An append or a query refused before touching the database.
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("the store is open read-only")]
    ReadOnly,
    /// The writer's queue is full ([`LogHandle::submit`] only).
    #[error("consent log queue is full")]
    Busy,
    #[error("consent log writer has stopped")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match storage_failure(&e) {
            Some(cause) => StoreError::Database(format!("{e} ({cause})")),
            None => StoreError::Database(e.to_string()),
        }
    }
}

/// Plain words for a failure of the storage under the log (rather than of its contents), so
/// the operator reading the error knows what to fix.
fn storage_failure(e: &rusqlite::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code()? {
        ErrorCode::DiskFull => Some("disk full: free space on the data directory's file system"),
        ErrorCode::ReadOnly => {
            Some("read-only: the data directory or its file system does not accept writes")
        }
        ErrorCode::SystemIoFailure => Some(
            "I/O error: the data directory's file system failed a write (failing disk, or \
             remounted read-only)",
        ),
        ErrorCode::CannotOpen => Some("cannot open the database file"),
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            Some("locked by another process for too long")
        }
        _ => None,
    }
}

/// A clear personal value (a caller's number) kept outside the chain, under its pseudonym.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonalData {
    /// The pseudonym ([`Store::pseudonymize`]): 64 lowercase hex.
    pub hash: String,
    /// What it is, e.g. `phone`.
    pub kind: String,
    /// The clear value.
    pub value: String,
}

impl fmt::Debug for PersonalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonalData")
            .field("hash", &self.hash)
            .field("kind", &self.kind)
            .field("value", &consent::Redacted(&self.value))
            .finish()
    }
}

/// A durable append: its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: u64,
    pub hash: String,
    pub ts: String,
}

/// Which records to read. `since` is an RFC 3339 time (or a `YYYY-MM-DD` date, midnight UTC);
/// records committed at or after it are returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub call_sid: Option<String>,
    pub since: Option<String>,
}

/// A chain that verified: how many records, and the last one's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub count: u64,
    /// Hash of the last record; [`GENESIS_HASH`] for an empty log.
    pub tip: String,
}

struct Secret([u8; 32]);

/// An open consent log.
pub struct Store {
    dir: PathBuf,
    secret: Secret,
    has_key: bool,
    read_only: bool,
    conn: Mutex<Connection>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("read_only", &self.read_only)
            .field("has_key", &self.has_key)
            .finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    stream_sid TEXT,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_call_sid ON records(call_sid);
CREATE TABLE IF NOT EXISTS personal_data (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    redacted_at TEXT
);
PRAGMA user_version = 1;
";

const COLUMNS: &str = "seq, ts, call_sid, stream_sid, kind, fields, prev_hash, hash";

impl Store {
    /// Open (creating if needed) the log in `data_dir`: the directory, `consent.db` (WAL,
    /// `synchronous=FULL`) and the installation key.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let dir_error = |e: std::io::Error| StoreError::Dir {
            path: data_dir.to_path_buf(),
            message: e.to_string(),
        };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(data_dir).map_err(dir_error)?;
        if !data_dir.is_dir() {
            return Err(dir_error(std::io::Error::other("not a directory")));
        }
        let secret = load_or_create_key(&data_dir.join(KEY_FILE))?;
        let db = data_dir.join(DB_FILE);
        // The database holds clear personal data: owner-only, and SQLite gives its -wal and
        // -shm files the database file's mode.
        let mut create = std::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            create.mode(0o600);
        }
        match create.open(&db) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(StoreError::Database(format!(
                    "cannot create {}: {e}",
                    db.display()
                )))
            }
        }
        let conn = Connection::open_with_flags(
            &db,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "cannot switch {} to WAL mode (got {mode})",
                data_dir.join(DB_FILE).display()
            )));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(requests::SCHEMA)?;
        Ok(Store {
            dir: data_dir.to_path_buf(),
            secret,
            has_key: true,
            read_only: false,
            conn: Mutex::new(conn),
        })
    }

    /// Open an existing log for reading only (audits, tests): creates nothing, and this
    /// connection refuses every write. The installation key is read if present; without it
    /// [`Store::pseudonymize`] uses a random throw-away key, so its pseudonyms match no record
    /// ([`Store::has_key`] tells).
    pub fn open_read_only(data_dir: &Path) -> Result<Store, StoreError> {
        let db = data_dir.join(DB_FILE);
        if !db.is_file() {
            return Err(StoreError::Dir {
                path: data_dir.to_path_buf(),
                message: format!("no consent log here ({} not found)", db.display()),
            });
        }
        let key_path = data_dir.join(KEY_FILE);
        let (secret, has_key) = if key_path.exists() {
            (read_key(&key_path)?, true)
        } else {
            (random_secret(), false)
        };
        // Read-write without create, then query_only: a WAL database may need its -shm file
        // made even to be read.
        let conn = Connection::open_with_flags(
            &db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch("PRAGMA query_only=1;")?;
        let has_records: bool = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'",
                [],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if !has_records {
            return Err(StoreError::Database(format!(
                "{} has no records table: not a consent log",
                db.display()
            )));
        }
        Ok(Store {
            dir: data_dir.to_path_buf(),
            secret,
            has_key,
            read_only: true,
            conn: Mutex::new(conn),
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// False only for a read-only store opened without its installation key.
    pub fn has_key(&self) -> bool {
        self.has_key
    }

    /// Keyed hash of a phone number under this installation's key
    /// ([`consent::pseudonymize`]).
    pub fn pseudonymize(&self, number: &str) -> String {
        consent::pseudonymize(&self.secret.0, number)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection half-changed: every
        // statement is its own unit. Keep going.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start the writer on a dedicated blocking thread; it owns this store's connection.
    /// Must be called within a tokio runtime. The task ends after [`LogHandle::close`], or
    /// when every handle is dropped, once everything queued is written.
    pub fn start_writer(self) -> (LogHandle, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let fail = Arc::new(AtomicBool::new(false));
        let conn = self.conn.into_inner().unwrap_or_else(|p| p.into_inner());
        let writer = Writer {
            conn,
            rx,
            fail: fail.clone(),
            failing: false,
            read_only: self.read_only,
            outage: None,
        };
        let task = tokio::task::spawn_blocking(move || writer.run());
        (LogHandle { tx, fail }, task)
    }

    /// Records matching `filter`, in seq order.
    pub fn records(&self, filter: &Filter) -> Result<Vec<Record>, StoreError> {
        let since = match &filter.since {
            Some(s) => Some(consent::parse_ts(s).map_err(StoreError::Invalid)?),
            None => None,
        };
        let mut sql = format!("SELECT {COLUMNS} FROM records");
        let mut args: Vec<&str> = Vec::new();
        if let Some(c) = &filter.call_sid {
            args.push(c);
            sql.push_str(" WHERE call_sid = ?1");
        }
        if let Some(s) = &since {
            args.push(s);
            sql.push_str(if args.len() == 1 { " WHERE" } else { " AND" });
            sql.push_str(&format!(" ts >= ?{}", args.len()));
        }
        sql.push_str(" ORDER BY seq");
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(
                read_record(row).map_err(|(seq, message)| StoreError::Corrupt {
                    seq: seq.unwrap_or(0),
                    message,
                })?,
            );
        }
        Ok(out)
    }

    /// Every record of one call, in seq order.
    pub fn call_timeline(&self, call_sid: &str) -> Result<Vec<Record>, StoreError> {
        self.records(&Filter {
            call_sid: Some(call_sid.to_string()),
            since: None,
        })
    }

    /// The `decision` field (`record` / `no_record`) of the call's latest `decision` record.
    pub fn decision_for(&self, call_sid: &str) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, fields FROM records WHERE call_sid = ?1 AND kind = 'decision'
             ORDER BY seq DESC LIMIT 1",
        )?;
        let row: Option<(i64, String)> = stmt
            .query_row([call_sid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((seq, text)) = row else {
            return Ok(None);
        };
        let fields: Fields = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            seq: u64::try_from(seq).unwrap_or(0),
            message: format!("fields are not valid: {e}"),
        })?;
        Ok(fields.decision)
    }

    /// Whether any record of this kind exists (e.g. whether the log predates a kind).
    pub fn has_kind(&self, kind: &str) -> Result<bool, StoreError> {
        let conn = self.conn();
        let found: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM records WHERE kind = ?1 LIMIT 1",
                [kind],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// Verify the whole chain: the record count, or the first bad seq and why.
    pub fn verify(&self) -> Result<Result<u64, VerifyError>, StoreError> {
        Ok(self.verify_full()?.map(|v| v.count))
    }

    /// [`Store::verify`], also giving the tip hash (to save elsewhere: see
    /// [`Store::seq_of_hash`]). Reads one consistent snapshot.
    pub fn verify_full(&self) -> Result<Result<Verified, VerifyError>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let mut v = Verifier::new();
        {
            let mut stmt = tx.prepare(&format!("SELECT {COLUMNS} FROM records ORDER BY seq"))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let r = match read_record(row) {
                    Ok(r) => r,
                    Err((seq, why)) => return Ok(Err(v.unreadable(seq, &why))),
                };
                if let Err(e) = v.push(&r) {
                    return Ok(Err(e));
                }
            }
        }
        tx.finish()?;
        Ok(Ok(Verified {
            count: v.count(),
            tip: v.tip().to_string(),
        }))
    }

    /// The seq of the record with this hash, if any. A tip saved earlier that is still in a
    /// verifying chain proves that nothing up to it was cut off or rewritten since.
    pub fn seq_of_hash(&self, hash: &str) -> Result<Option<u64>, StoreError> {
        let conn = self.conn();
        let seq: Option<i64> = conn
            .query_row("SELECT seq FROM records WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()))
    }

    /// Blank the clear value of personal data first seen before `older_than` (retention). The
    /// pseudonyms in the chain stay, so the log still verifies. Returns how many were blanked.
    /// Old page images are overwritten (`secure_delete`) and the WAL is checkpointed, so the
    /// clear values do not linger in the files.
    pub fn redact_personal(&self, older_than: time::OffsetDateTime) -> Result<usize, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        let cutoff = consent::format_ts(older_than);
        let now = consent::format_ts(time::OffsetDateTime::now_utc());
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE personal_data SET value = '', redacted_at = ?1
             WHERE redacted_at IS NULL AND first_seen < ?2",
            params![now, cutoff],
        )?;
        // Best effort: a reader in progress can hold part of the WAL for a moment.
        let _: rusqlite::Result<(i64, i64, i64)> =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            });
        tracing::info!(redacted = n, "personal data redacted");
        Ok(n)
    }
}

/// Decode one row; on failure, the seq if it was readable and why.
fn read_record(row: &rusqlite::Row<'_>) -> Result<Record, (Option<u64>, String)> {
    let seq: i64 = row.get(0).map_err(|e| (None, format!("seq: {e}")))?;
    let seq = u64::try_from(seq).map_err(|_| (None, format!("seq {seq} is negative")))?;
    let text = |i: usize, name: &str| -> Result<String, (Option<u64>, String)> {
        row.get::<_, String>(i)
            .map_err(|e| (Some(seq), format!("{name}: {e}")))
    };
    let stream_sid: Option<String> = row
        .get(3)
        .map_err(|e| (Some(seq), format!("stream_sid: {e}")))?;
    let fields_text = text(5, "fields")?;
    let fields: Fields = serde_json::from_str(&fields_text)
        .map_err(|e| (Some(seq), format!("fields are not valid: {e}")))?;
    Ok(Record {
        seq,
        ts: text(1, "ts")?,
        call_sid: text(2, "call_sid")?,
        stream_sid,
        kind: text(4, "kind")?,
        fields,
        prev_hash: text(6, "prev_hash")?,
        hash: text(7, "hash")?,
    })
}

fn random_secret() -> Secret {
    use rand::RngCore;
    let mut k = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    Secret(k)
}

fn read_key(path: &Path) -> Result<Secret, StoreError> {
    let err = |message: String| StoreError::Key {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let t = text.trim();
    if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(
            "corrupt: expected 64 hex digits (32 bytes); restore it from backup — a new key \
             would give every caller a new pseudonym"
                .into(),
        ));
    }
    let mut k = [0u8; 32];
    for (i, chunk) in t.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).map_err(|e| err(e.to_string()))?;
        k[i] = u8::from_str_radix(s, 16).map_err(|e| err(e.to_string()))?;
    }
    Ok(Secret(k))
}

fn load_or_create_key(path: &Path) -> Result<Secret, StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            let secret = random_secret();
            let written = file
                .write_all(format!("{}\n", consent::hex(&secret.0)).as_bytes())
                .and_then(|()| file.sync_all())
                .and_then(|()| sync_parent(path));
            if let Err(e) = written {
                // Never leave a half-written key behind to be read as corrupt next time.
                let _ = std::fs::remove_file(path);
                return Err(StoreError::Key {
                    path: path.to_path_buf(),
                    message: format!("cannot write: {e}"),
                });
            }
            tracing::info!(path = %path.display(), "created installation key");
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another process may be writing it this instant: give it a moment.
            for _ in 0..5 {
                if std::fs::metadata(path).is_ok_and(|m| m.len() >= 64) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            read_key(path)
        }
        Err(e) => Err(StoreError::Key {
            path: path.to_path_buf(),
            message: format!("cannot create: {e}"),
        }),
    }
}

/// Make a new file's directory entry durable (a key lost in a crash would orphan every
/// pseudonym already in the log).
fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn check_len(what: &str, s: &str, max: usize) -> Result<(), StoreError> {
    if s.len() > max {
        return Err(StoreError::Invalid(format!(
            "{what} is {} bytes, more than {max}",
            s.len()
        )));
    }
    Ok(())
}

fn validate(entry: &Entry, personal: &Option<PersonalData>) -> Result<(), StoreError> {
    if entry.call_sid.is_empty() {
        return Err(StoreError::Invalid("empty call_sid".into()));
    }
    check_len("call_sid", &entry.call_sid, MAX_ID)?;
    if let Some(s) = &entry.stream_sid {
        check_len("stream_sid", s, MAX_ID)?;
    }
    for name in Fields::NAMES {
        if let Some(v) = entry.fields.get(name) {
            check_len(name, v, MAX_FIELD)?;
        }
    }
    if !entry.fields.extra.is_empty() {
        return Err(StoreError::Invalid(
            "fields unknown to this version cannot be written".into(),
        ));
    }
    if let Some(p) = personal {
        if !consent::is_hash_hex(&p.hash) {
            return Err(StoreError::Invalid(
                "personal data hash is not 64 lowercase hex".into(),
            ));
        }
        if p.kind.is_empty() {
            return Err(StoreError::Invalid("personal data kind is empty".into()));
        }
        check_len("personal data kind", &p.kind, 32)?;
        check_len("personal data value", &p.value, MAX_PERSONAL)?;
        // The clear value goes beside the chain, never into it.
        let clear = p.value.trim();
        if clear.len() >= 5
            && Fields::NAMES
                .iter()
                .any(|n| entry.fields.get(n).is_some_and(|v| v.contains(clear)))
        {
            return Err(StoreError::Invalid(
                "the entry's fields hold the clear personal value".into(),
            ));
        }
    }
    Ok(())
}

type Reply = oneshot::Sender<Result<Committed, StoreError>>;

enum Msg {
    Append(Box<Item>),
    Flush(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

/// Where appends go. Cheap to clone; every clone feeds the same writer.
#[derive(Clone)]
pub struct LogHandle {
    tx: mpsc::Sender<Msg>,
    fail: Arc<AtomicBool>,
}

impl fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogHandle")
            .field("closed", &self.tx.is_closed())
            .finish_non_exhaustive()
    }
}

/// The answer to a [`LogHandle::submit`]: resolves once the record is durable (or failed).
#[must_use = "a Pending does nothing unless awaited; dropping it is fine if the answer is not needed"]
pub struct Pending(oneshot::Receiver<Result<Committed, StoreError>>);

impl Future for Pending {
    type Output = Result<Committed, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(StoreError::Closed)))
    }
}

impl LogHandle {
    /// Append and wait until the record is durable. Waits for room if the queue is full.
    pub async fn append(
        &self,
        entry: Entry,
        personal: Option<PersonalData>,
    ) -> Result<Committed, StoreError> {
        validate(&entry, &personal)?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Msg::Append(Box::new(Item {
                entry,
                personal,
                reply,
            })))
            .await
            .map_err(|_| StoreError::Closed)?;
        Pending(answer).await
    }

    /// Queue an append without waiting (callable from sync code). The returned [`Pending`]
    /// resolves once it is durable; dropping it leaves the append queued. Fails at once with
    /// [`StoreError::Busy`] if the queue is full, [`StoreError::Closed`] after close, or
    /// [`StoreError::Invalid`].
    pub fn submit(
        &self,
        entry: Entry,
        personal: Option<PersonalData>,
    ) -> Result<Pending, StoreError> {
        validate(&entry, &personal)?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Msg::Append(Box::new(Item {
                entry,
                personal,
                reply,
            })))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => StoreError::Busy,
                mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
            })?;
        Ok(Pending(answer))
    }

    /// Wait until everything queued before this call has been written (or failed).
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Write everything queued, then stop the writer (for every clone). Later appends answer
    /// [`StoreError::Closed`].
    pub async fn close(self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Test hook: while on, the writer's connection is switched to `query_only`, so every
    /// batch fails inside SQLite exactly as on a read-only database; off restores it.
    #[doc(hidden)]
    pub fn inject_failure(&self, on: bool) {
        self.fail.store(on, Ordering::SeqCst);
    }
}

struct Writer {
    conn: Connection,
    rx: mpsc::Receiver<Msg>,
    fail: Arc<AtomicBool>,
    failing: bool,
    read_only: bool,
    /// Since when writes have been failing, if they are.
    outage: Option<Outage>,
}

/// A run of failed batches: counted, logged when it starts, every [`OUTAGE_REPORT`] while
/// it lasts, and when it ends (one line per batch would flood the log under load).
struct Outage {
    since: std::time::Instant,
    reported: std::time::Instant,
    batches: u64,
    records: u64,
}

/// How often a continuing write outage is logged again.
const OUTAGE_REPORT: Duration = Duration::from_secs(10);

struct Item {
    entry: Entry,
    personal: Option<PersonalData>,
    reply: Reply,
}

impl Writer {
    fn run(mut self) {
        let mut batch: Vec<Item> = Vec::with_capacity(MAX_BATCH);
        let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
        let mut closes: Vec<oneshot::Sender<()>> = Vec::new();
        while let Some(first) = self.rx.blocking_recv() {
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Append(item) => batch.push(*item),
                    Msg::Flush(ack) => flushes.push(ack),
                    Msg::Close(ack) => {
                        // Refuse new messages; what is already queued is still written.
                        self.rx.close();
                        closes.push(ack);
                    }
                }
                if batch.len() >= MAX_BATCH {
                    break;
                }
                next = self.rx.try_recv().ok();
            }
            if !batch.is_empty() {
                self.write(&mut batch);
            }
            for ack in flushes.drain(..) {
                let _ = ack.send(());
            }
        }
        for ack in closes {
            let _ = ack.send(());
        }
        tracing::debug!("consent log writer stopped");
    }

    fn write(&mut self, batch: &mut Vec<Item>) {
        let fail = self.fail.load(Ordering::SeqCst);
        if fail != self.failing {
            let sql = if fail || self.read_only {
                "PRAGMA query_only=1"
            } else {
                "PRAGMA query_only=0"
            };
            if self.conn.execute_batch(sql).is_ok() {
                self.failing = fail;
            }
        }
        let n = batch.len();
        let (items, replies): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|i| ((i.entry, i.personal), i.reply))
            .unzip();
        // The transaction is rolled back on any failure and the next one reads the chain tip
        // from the database again, so a failed batch leaves nothing behind, in memory or on
        // disk, and the writer simply carries on with the next.
        match commit(&mut self.conn, items) {
            Ok(done) => {
                if let Some(o) = self.outage.take() {
                    tracing::warn!(
                        failed_batches = o.batches,
                        refused_records = o.records,
                        seconds = o.since.elapsed().as_secs_f64().round(),
                        "consent log writes succeed again; recording resumes"
                    );
                }
                for (reply, c) in replies.into_iter().zip(done) {
                    let _ = reply.send(Ok(c));
                }
            }
            Err(e) => {
                let now = std::time::Instant::now();
                match &mut self.outage {
                    None => {
                        tracing::error!(
                            records = n,
                            error = %e,
                            "consent log write failed: no consent can be made durable, so calls \
                             are bridged WITHOUT recording until writes succeed again"
                        );
                        self.outage = Some(Outage {
                            since: now,
                            reported: now,
                            batches: 1,
                            records: n as u64,
                        });
                    }
                    Some(o) => {
                        o.batches += 1;
                        o.records += n as u64;
                        if now.duration_since(o.reported) >= OUTAGE_REPORT {
                            o.reported = now;
                            tracing::error!(
                                failed_batches = o.batches,
                                refused_records = o.records,
                                seconds = now.duration_since(o.since).as_secs_f64().round(),
                                error = %e,
                                "consent log writes still failing: calls are bridged WITHOUT \
                                 recording"
                            );
                        }
                    }
                }
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Write a batch in one transaction, continuing the chain from the tip read inside it.
fn commit(
    conn: &mut Connection,
    items: Vec<(Entry, Option<PersonalData>)>,
) -> Result<Vec<Committed>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done = append_in(&tx, items)?;
    tx.commit()?;
    Ok(done)
}

/// Append entries to the chain inside an open `BEGIN IMMEDIATE` transaction, continuing from
/// the tip read inside it (the writer's batches and [`requests`]' changes both come here, so
/// the log stays one chain). The caller commits.
fn append_in(
    tx: &Connection,
    items: Vec<(Entry, Option<PersonalData>)>,
) -> Result<Vec<Committed>, StoreError> {
    let tip: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (mut seq, mut prev) = match tip {
        Some((s, h)) => (
            u64::try_from(s).map_err(|_| StoreError::Corrupt {
                seq: 0,
                message: format!("last seq {s} is negative"),
            })?,
            h,
        ),
        None => (0, GENESIS_HASH.to_string()),
    };
    let ts = consent::format_ts(time::OffsetDateTime::now_utc());
    let mut done = Vec::with_capacity(items.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO records (seq, ts, call_sid, stream_sid, kind, fields, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut personal_insert = tx.prepare_cached(
            "INSERT INTO personal_data (hash, kind, value, first_seen) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (hash) DO UPDATE SET
                 value = excluded.value,
                 first_seen = CASE WHEN redacted_at IS NULL THEN first_seen
                                   ELSE excluded.first_seen END,
                 redacted_at = NULL",
        )?;
        for (entry, personal) in items {
            seq += 1;
            let r = Record::seal(&prev, seq, ts.clone(), entry);
            let seq_i = i64::try_from(seq)
                .map_err(|_| StoreError::Database("sequence number overflow".into()))?;
            insert.execute(params![
                seq_i,
                r.ts,
                r.call_sid,
                r.stream_sid,
                r.kind,
                r.fields.canonical_json(),
                r.prev_hash,
                r.hash
            ])?;
            if let Some(p) = personal {
                personal_insert.execute(params![p.hash, p.kind, p.value, ts])?;
            }
            done.push(Committed {
                seq,
                hash: r.hash.clone(),
                ts: ts.clone(),
            });
            prev = r.hash;
        }
    }
    Ok(done)
}
