//! Privacy requests and the do-not-contact list, kept in the consent chain.
//!
//! # One source of truth
//! Every change is a chained record ([`Kind::RequestReceived`], [`Kind::RequestUpdated`],
//! [`Kind::DncAdded`]) in the same chain as the consent records. The tables `requests` (one
//! row per confirmation number, its current state) and `dnc` (one row per number hash, its
//! latest opt-out) are a **derived view**: each row is what folding that request's (or
//! number's) records in seq order gives ([`fold`]), and it is written in the same
//! `BEGIN IMMEDIATE` transaction as the records it reflects, so the two never disagree after
//! a crash. Editing the tables without a record is not caught by `audit verify` (which checks
//! the chain only) but by [`Store::check_view`] (`consentline requests verify`), which refolds
//! the chain and names every row that differs; and every staff change first refolds its
//! request's records and refuses to act on a row that disagrees with them.
//!
//! # Concurrency
//! These methods write through the store's own connection in a `BEGIN IMMEDIATE`
//! transaction that reads the chain tip inside it, exactly like the group-commit writer (they
//! share its code), so while a writer runs on another [`Store`] of the same directory the two
//! serialize on SQLite's write lock and the chain stays one chain. A server that has moved one
//! store into [`Store::start_writer`] opens a second `Store` on the same directory for these
//! calls and runs them with `tokio::task::spawn_blocking`. A method returns `Ok` only after its
//! transaction committed with `synchronous=FULL`.
//!
//! # Personal data
//! A callback or do-not-contact number enters the chain and the tables only as its keyed hash
//! ([`Store::pseudonymize`] of its E.164 form, [`privacy::normalize_phone`]); the clear number
//! goes to the redactable `personal_data` table.

use super::{append_in, read_record, Committed, PersonalData, Store, StoreError};
use crate::consent::{self, Entry, Fields, Kind, Record};
use crate::privacy::{self, deadline, ConfirmationNumber, RequestType, Requester, Status};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};

/// The derived tables, created by [`Store::open`].
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    confirmation TEXT PRIMARY KEY,
    call_sid TEXT NOT NULL,
    received_ts TEXT NOT NULL,
    received_date TEXT NOT NULL,
    request_type TEXT,
    requester TEXT,
    language TEXT,
    manner TEXT NOT NULL,
    status TEXT NOT NULL,
    callback_hash TEXT,
    due TEXT,
    honor_due TEXT,
    receipt_due TEXT,
    extended_due TEXT,
    extension_reason TEXT,
    basis TEXT,
    detail TEXT,
    updated_ts TEXT NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_status ON requests(status);
CREATE TABLE IF NOT EXISTS dnc (
    number_hash TEXT PRIMARY KEY,
    added_date TEXT NOT NULL,
    source TEXT NOT NULL,
    last_seq INTEGER NOT NULL
);
";

/// `call_sid` of records made by staff outside any call (a number added with `dnc add`).
pub const STAFF: &str = "staff";

const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A date as stored: `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

/// Parse a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s.trim(), DATE).map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// A request taken on the call, ready to file.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub call_sid: String,
    pub stream_sid: Option<String>,
    pub request_type: RequestType,
    /// Asked for know, delete and correct; `None` when not asked (opt-out, limit).
    pub requester: Option<Requester>,
    /// The caller's language, e.g. `en` or `es`.
    pub language: String,
    /// The confirmed callback number, clear (any common US or E.164 spelling).
    pub callback_number: Option<String>,
    /// When the request was received (day 0 is its date in California,
    /// [`deadline::receipt_date`]).
    pub received: OffsetDateTime,
}

/// A call that ended part-way through a request.
#[derive(Debug, Clone)]
pub struct AbandonedRequest {
    pub call_sid: String,
    pub stream_sid: Option<String>,
    /// The type, if the caller got as far as choosing one.
    pub request_type: Option<RequestType>,
    pub requester: Option<Requester>,
    pub language: String,
    /// A callback number, if one was confirmed.
    pub callback_number: Option<String>,
    /// When the call reached the privacy menu.
    pub received: OffsetDateTime,
    /// Where the caller hung up, e.g. `menu`, `callback_number`, `requester`.
    pub step: String,
}

/// A request durably on file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledRequest {
    pub confirmation: ConfirmationNumber,
    /// Day 0.
    pub received_date: Date,
    /// Respond by (know, delete, correct).
    pub due: Option<Date>,
    /// Honour by (opt-out, limit).
    pub honor_due: Option<Date>,
    /// Confirm receipt by (know, delete, correct; met on the call).
    pub receipt_due: Option<Date>,
    /// The `request_received` record.
    pub committed: Committed,
}

/// The current state of one request (a row of the `requests` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub confirmation: String,
    /// The call it was filed on (later staff records carry the same call_sid).
    pub call_sid: String,
    /// When it was received, record `ts` form.
    pub received_ts: String,
    /// Day 0 (California date of `received_ts`).
    pub received_date: Date,
    /// `None` only for a call abandoned before a type was chosen.
    pub request_type: Option<RequestType>,
    pub requester: Option<Requester>,
    pub language: Option<String>,
    pub manner: String,
    pub status: Status,
    pub callback_hash: Option<String>,
    pub due: Option<Date>,
    pub honor_due: Option<Date>,
    pub receipt_due: Option<Date>,
    pub extended_due: Option<Date>,
    pub extension_reason: Option<String>,
    /// Basis of a denial.
    pub basis: Option<String>,
    /// Where an abandoned call ended.
    pub detail: Option<String>,
    /// Commit time of the last record applied.
    pub updated_ts: String,
    /// Seq of the last record applied.
    pub last_seq: u64,
}

impl RequestRow {
    /// The date the business must act by: the extended due date if extended, else the
    /// response due date (know, delete, correct) or the honour-by date (opt-out, limit).
    pub fn deadline(&self) -> Option<Date> {
        self.extended_due.or(self.due).or(self.honor_due)
    }

    /// Still open and its deadline is before `today`.
    pub fn is_overdue(&self, today: Date) -> bool {
        !self.status.is_final() && self.deadline().is_some_and(|d| d < today)
    }

    /// Days from `today` to the deadline (negative when overdue); `None` once final or
    /// without a deadline.
    pub fn days_left(&self, today: Date) -> Option<i64> {
        if self.status.is_final() {
            return None;
        }
        self.deadline().map(|d| (d - today).whole_days())
    }
}

/// Which requests to list. All given conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    pub status: Option<Status>,
    /// Deadline ([`RequestRow::deadline`]) strictly before this date.
    pub due_before: Option<Date>,
    /// Only requests overdue on this date (open, deadline before it).
    pub overdue_on: Option<Date>,
}

/// One number on the do-not-contact list (a row of the `dnc` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DncEntry {
    pub number_hash: String,
    /// Date of the latest opt-out.
    pub added_date: Date,
    /// Where the latest opt-out came from: a confirmation number, or `staff`.
    pub source: String,
    pub last_seq: u64,
    /// The clear number, if still held (not redacted) in `personal_data`.
    pub number: Option<String>,
}

/// The outcome of [`Store::check_view`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewCheck {
    /// Requests in the chain.
    pub requests: usize,
    /// Numbers on the do-not-contact list according to the chain.
    pub dnc: usize,
    /// Every difference between the tables and the chain, one line each (empty: consistent).
    pub problems: Vec<String>,
}

/// Folding request and do-not-contact records (in seq order) into the current state: the
/// definition of the `requests` and `dnc` tables.
pub mod fold {
    use super::*;

    fn field_date(f: &Fields, name: &str) -> Result<Option<Date>, String> {
        f.get(name)
            .map(|s| parse_date(s).map_err(|e| format!("{name}: {e}")))
            .transpose()
    }

    /// Day 0 of a request received at `received` (a record `ts`-form or RFC 3339 time).
    pub fn received_date(received: &str) -> Result<Date, String> {
        OffsetDateTime::parse(received, &time::format_description::well_known::Rfc3339)
            .map(deadline::receipt_date)
            .map_err(|_| format!("received {received:?} is not an RFC 3339 time"))
    }

    /// Apply one `request_received` or `request_updated` record to the state of its request.
    pub fn apply_request(state: &mut Option<RequestRow>, r: &Record) -> Result<(), String> {
        let f = &r.fields;
        let conf = f
            .confirmation
            .clone()
            .ok_or("record has no confirmation number")?;
        match r.kind.as_str() {
            "request_received" => {
                if state.is_some() {
                    return Err(format!("confirmation {conf} filed twice"));
                }
                let received_ts = f.received.clone().unwrap_or_else(|| r.ts.clone());
                let status = f.status.as_deref().ok_or("request has no status")?;
                *state = Some(RequestRow {
                    confirmation: conf,
                    call_sid: r.call_sid.clone(),
                    received_date: received_date(&received_ts)?,
                    received_ts,
                    request_type: f
                        .request_type
                        .as_deref()
                        .map(|t| RequestType::parse(t).ok_or(format!("unknown type {t:?}")))
                        .transpose()?,
                    requester: f
                        .requester
                        .as_deref()
                        .map(|t| Requester::parse(t).ok_or(format!("unknown requester {t:?}")))
                        .transpose()?,
                    language: f.language.clone(),
                    manner: f
                        .manner
                        .clone()
                        .unwrap_or_else(|| privacy::MANNER_PHONE.into()),
                    status: Status::parse(status).ok_or(format!("unknown status {status:?}"))?,
                    callback_hash: f.callback.clone(),
                    due: field_date(f, "due")?,
                    honor_due: field_date(f, "honor_due")?,
                    receipt_due: field_date(f, "receipt_due")?,
                    extended_due: None,
                    extension_reason: None,
                    basis: f.basis.clone(),
                    detail: f.detail.clone(),
                    updated_ts: r.ts.clone(),
                    last_seq: r.seq,
                });
            }
            "request_updated" => {
                let row = state
                    .as_mut()
                    .ok_or(format!("update of confirmation {conf} before it was filed"))?;
                if let Some(s) = f.status.as_deref() {
                    row.status = Status::parse(s).ok_or(format!("unknown status {s:?}"))?;
                }
                if let Some(b) = &f.basis {
                    row.basis = Some(b.clone());
                }
                if let Some(d) = field_date(f, "extended_due")? {
                    row.extended_due = Some(d);
                    row.extension_reason = f.reason.clone();
                }
                row.updated_ts.clone_from(&r.ts);
                row.last_seq = r.seq;
            }
            other => return Err(format!("{other} is not a request record")),
        }
        Ok(())
    }

    /// Apply one `dnc_added` record: the list keeps each number's latest opt-out date (and,
    /// for equal dates, the later record's source).
    pub fn apply_dnc(state: &mut Option<DncEntry>, r: &Record) -> Result<(), String> {
        let f = &r.fields;
        let hash = f.number.clone().ok_or("dnc record has no number")?;
        let date = field_date(f, "opt_out_date")?.ok_or("dnc record has no opt_out_date")?;
        let source = f.source.clone().unwrap_or_default();
        match state {
            Some(e) if e.added_date > date => e.last_seq = r.seq,
            _ => {
                *state = Some(DncEntry {
                    number_hash: hash,
                    added_date: date,
                    source,
                    last_seq: r.seq,
                    number: None,
                })
            }
        }
        Ok(())
    }
}

const REQUEST_COLUMNS: &str = "confirmation, call_sid, received_ts, received_date, request_type, \
     requester, language, manner, status, callback_hash, due, honor_due, receipt_due, \
     extended_due, extension_reason, basis, detail, updated_ts, last_seq";

fn opt_date(s: Option<String>) -> Result<Option<Date>, String> {
    s.map(|s| parse_date(&s)).transpose()
}

fn read_row(row: &rusqlite::Row<'_>) -> Result<RequestRow, StoreError> {
    let conf: String = row.get(0)?;
    let bad = |what: &str, e: String| {
        StoreError::Database(format!("requests table, confirmation {conf}: {what}: {e}"))
    };
    let status: String = row.get(8)?;
    let kind: Option<String> = row.get(4)?;
    let requester: Option<String> = row.get(5)?;
    let seq: i64 = row.get(18)?;
    Ok(RequestRow {
        call_sid: row.get(1)?,
        received_ts: row.get(2)?,
        received_date: parse_date(&row.get::<_, String>(3)?)
            .map_err(|e| bad("received_date", e))?,
        request_type: kind
            .map(|k| RequestType::parse(&k).ok_or_else(|| bad("request_type", k)))
            .transpose()?,
        requester: requester
            .map(|k| Requester::parse(&k).ok_or_else(|| bad("requester", k)))
            .transpose()?,
        language: row.get(6)?,
        manner: row.get(7)?,
        status: Status::parse(&status).ok_or_else(|| bad("status", status.clone()))?,
        callback_hash: row.get(9)?,
        due: opt_date(row.get(10)?).map_err(|e| bad("due", e))?,
        honor_due: opt_date(row.get(11)?).map_err(|e| bad("honor_due", e))?,
        receipt_due: opt_date(row.get(12)?).map_err(|e| bad("receipt_due", e))?,
        extended_due: opt_date(row.get(13)?).map_err(|e| bad("extended_due", e))?,
        extension_reason: row.get(14)?,
        basis: row.get(15)?,
        detail: row.get(16)?,
        updated_ts: row.get(17)?,
        last_seq: u64::try_from(seq).unwrap_or(0),
        confirmation: conf.clone(),
    })
}

fn write_row(tx: &Connection, r: &RequestRow) -> Result<(), StoreError> {
    let seq = i64::try_from(r.last_seq).unwrap_or(i64::MAX);
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO requests ({REQUEST_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19)"
        ),
        params![
            r.confirmation,
            r.call_sid,
            r.received_ts,
            format_date(r.received_date),
            r.request_type.map(RequestType::as_str),
            r.requester.map(Requester::as_str),
            r.language,
            r.manner,
            r.status.as_str(),
            r.callback_hash,
            r.due.map(format_date),
            r.honor_due.map(format_date),
            r.receipt_due.map(format_date),
            r.extended_due.map(format_date),
            r.extension_reason,
            r.basis,
            r.detail,
            r.updated_ts,
            seq,
        ],
    )?;
    Ok(())
}

fn write_dnc(tx: &Connection, e: &DncEntry) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO dnc (number_hash, added_date, source, last_seq)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            e.number_hash,
            format_date(e.added_date),
            e.source,
            i64::try_from(e.last_seq).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(())
}

fn has_table(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false))
}

fn get_row(conn: &Connection, conf: &str) -> Result<Option<RequestRow>, StoreError> {
    if !has_table(conn, "requests")? {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REQUEST_COLUMNS} FROM requests WHERE confirmation = ?1"
    ))?;
    let mut rows = stmt.query([conf])?;
    match rows.next()? {
        Some(row) => Ok(Some(read_row(row)?)),
        None => Ok(None),
    }
}

fn get_dnc(conn: &Connection, hash: &str) -> Result<Option<DncEntry>, StoreError> {
    if !has_table(conn, "dnc")? {
        return Ok(None);
    }
    let row: Option<(String, String, i64)> = conn
        .query_row(
            "SELECT added_date, source, last_seq FROM dnc WHERE number_hash = ?1",
            [hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(d, source, seq)| {
        Ok(DncEntry {
            number_hash: hash.to_string(),
            added_date: parse_date(&d)
                .map_err(|e| StoreError::Database(format!("dnc table: {e}")))?,
            source,
            last_seq: u64::try_from(seq).unwrap_or(0),
            number: None,
        })
    })
    .transpose()
}

/// Records of the given kinds, in seq order, optionally only those of one call (indexed) or
/// whose `fields` text contains a needle (a full scan; callers check the parsed fields).
enum Only<'a> {
    All,
    Call(&'a str),
    Containing(&'a str),
}

fn records_of_kinds(
    conn: &Connection,
    kinds: &[Kind],
    only: Only<'_>,
) -> Result<Vec<Record>, StoreError> {
    let list = kinds
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(",");
    let mut sql = format!(
        "SELECT seq, ts, call_sid, stream_sid, kind, fields, prev_hash, hash FROM records
         WHERE kind IN ({list})"
    );
    match only {
        Only::All => {}
        Only::Call(_) => sql.push_str(" AND call_sid = ?1"),
        Only::Containing(_) => sql.push_str(" AND instr(fields, ?1) > 0"),
    }
    sql.push_str(" ORDER BY seq");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = match only {
        Only::All => stmt.query([])?,
        Only::Call(n) | Only::Containing(n) => stmt.query([n])?,
    };
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

/// The chained records of one request, in seq order. Every record of a request carries the
/// call_sid of the call it was filed on, so with the table row's call_sid this is an indexed
/// look-up; `call_sid = None` scans the whole log.
fn request_history(
    conn: &Connection,
    conf: &str,
    call_sid: Option<&str>,
) -> Result<Vec<Record>, StoreError> {
    let needle = format!("\"confirmation\":\"{conf}\"");
    let only = match call_sid {
        Some(c) => Only::Call(c),
        None => Only::Containing(&needle),
    };
    let mut out = records_of_kinds(conn, &[Kind::RequestReceived, Kind::RequestUpdated], only)?;
    out.retain(|r| r.fields.confirmation.as_deref() == Some(conf));
    Ok(out)
}

/// The state of a request by its records, checked against its table row: a row changed
/// without a record is refused.
fn checked_state(conn: &Connection, conf: &str) -> Result<RequestRow, StoreError> {
    let row = get_row(conn, conf)?;
    let history = request_history(conn, conf, row.as_ref().map(|r| r.call_sid.as_str()))?;
    let mut state = None;
    for r in &history {
        fold::apply_request(&mut state, r).map_err(|message| StoreError::Corrupt {
            seq: r.seq,
            message,
        })?;
    }
    match (state, row) {
        (None, None) => Err(StoreError::Invalid(format!(
            "no request with confirmation number {conf}"
        ))),
        (Some(s), Some(r)) if s == r => Ok(s),
        _ => Err(StoreError::Database(format!(
            "the requests table disagrees with the chain for {conf}: it was changed without \
             a record (run `consentline requests verify`)"
        ))),
    }
}

/// A record as `append_in` sealed it (the fold reads seq, ts, call_sid, kind and fields).
fn as_record(entry: Entry, c: &Committed) -> Record {
    Record {
        seq: c.seq,
        ts: c.ts.clone(),
        call_sid: entry.call_sid,
        stream_sid: entry.stream_sid,
        kind: entry.kind.as_str().to_string(),
        fields: entry.fields,
        prev_hash: String::new(),
        hash: c.hash.clone(),
    }
}

/// A callback number's E.164 form, pseudonym and personal-data row.
fn phone(store: &Store, number: &str) -> Result<(String, PersonalData), StoreError> {
    let e164 = privacy::normalize_phone(number).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let hash = store.pseudonymize(&e164);
    Ok((
        hash.clone(),
        PersonalData {
            hash,
            kind: "phone".into(),
            value: e164,
        },
    ))
}

impl Store {
    /// Run `f` in a `BEGIN IMMEDIATE` transaction on this store's connection and commit.
    fn write_tx<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Append `entries` to the chain and apply them to the derived tables, in `tx`.
    fn append_and_apply(
        &self,
        tx: &Connection,
        entries: Vec<(Entry, Option<PersonalData>)>,
        mut request: Option<RequestRow>,
    ) -> Result<(Vec<Committed>, Option<RequestRow>), StoreError> {
        for (e, p) in &entries {
            super::validate(e, p)?;
        }
        let kept: Vec<Entry> = entries.iter().map(|(e, _)| e.clone()).collect();
        let done = append_in(tx, entries)?;
        for (entry, c) in kept.into_iter().zip(&done) {
            let r = as_record(entry, c);
            let fail = |message: String| StoreError::Corrupt {
                seq: c.seq,
                message,
            };
            match r.kind.as_str() {
                "dnc_added" => {
                    let hash = r.fields.number.clone().unwrap_or_default();
                    let mut state = get_dnc(tx, &hash)?;
                    fold::apply_dnc(&mut state, &r).map_err(fail)?;
                    if let Some(e) = state {
                        write_dnc(tx, &e)?;
                    }
                }
                _ => {
                    fold::apply_request(&mut request, &r).map_err(fail)?;
                    if let Some(row) = &request {
                        write_row(tx, row)?;
                    }
                }
            }
        }
        Ok((done, request))
    }

    /// A fresh confirmation number not used by any request yet.
    fn new_confirmation(tx: &Connection) -> Result<ConfirmationNumber, StoreError> {
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            let c = ConfirmationNumber::generate(&mut rng);
            let s = c.to_string();
            // The table is written with every request record, so it knows every number
            // (a row deleted behind our back shows up in `check_view` as "filed twice").
            if get_row(tx, &s)?.is_none() {
                return Ok(c);
            }
        }
        Err(StoreError::Database(
            "could not find an unused confirmation number".into(),
        ))
    }

    /// File a request taken on the call: a new confirmation number, the due dates, status
    /// `awaiting_verification` (know, delete, correct) or `received` (opt-out, limit), and
    /// for an opt-out with a callback number the number on the do-not-contact list, all in
    /// one transaction (one `request_received` record, plus one `dnc_added` record for an
    /// opt-out). Returns once durable.
    pub fn file_request(&self, req: NewRequest) -> Result<FiledRequest, StoreError> {
        let kind = req.request_type;
        let received_date = deadline::receipt_date(req.received);
        let (due, receipt_due, honor_due) = if kind.needs_verification() {
            (
                Some(deadline::response_due(received_date)),
                Some(deadline::confirm_receipt_due(received_date)),
                None,
            )
        } else {
            (None, None, Some(deadline::honor_due(received_date)))
        };
        let callback = req
            .callback_number
            .as_deref()
            .map(|n| phone(self, n))
            .transpose()?;
        self.write_tx(|tx| {
            let conf = Self::new_confirmation(tx)?;
            let fields = Fields {
                confirmation: Some(conf.to_string()),
                request_type: Some(kind.as_str().into()),
                requester: req.requester.map(|r| r.as_str().into()),
                language: Some(req.language.clone()),
                manner: Some(privacy::MANNER_PHONE.into()),
                status: Some(privacy::initial_status(kind).as_str().into()),
                received: Some(consent::format_ts(req.received)),
                callback: callback.as_ref().map(|(h, _)| h.clone()),
                due: due.map(format_date),
                receipt_due: receipt_due.map(format_date),
                honor_due: honor_due.map(format_date),
                ..Fields::default()
            };
            let mut entries = vec![(
                Entry {
                    call_sid: req.call_sid.clone(),
                    stream_sid: req.stream_sid.clone(),
                    kind: Kind::RequestReceived,
                    fields,
                },
                callback.as_ref().map(|(_, p)| p.clone()),
            )];
            if kind == RequestType::OptOut {
                if let Some((hash, _)) = &callback {
                    entries.push((
                        Entry {
                            call_sid: req.call_sid.clone(),
                            stream_sid: req.stream_sid.clone(),
                            kind: Kind::DncAdded,
                            fields: Fields {
                                number: Some(hash.clone()),
                                opt_out_date: Some(format_date(received_date)),
                                source: Some(conf.to_string()),
                                ..Fields::default()
                            },
                        },
                        None,
                    ));
                }
            }
            let (done, _) = self.append_and_apply(tx, entries, None)?;
            Ok(FiledRequest {
                confirmation: conf,
                received_date,
                due,
                honor_due,
                receipt_due,
                committed: done[0].clone(),
            })
        })
    }

    /// Record a call that ended part-way through a request: a `request_received` record with
    /// status `abandoned`, its own confirmation number, whatever was chosen so far and where
    /// the caller hung up (`detail`). No due dates, and no do-not-contact entry.
    pub fn record_abandoned(&self, req: AbandonedRequest) -> Result<FiledRequest, StoreError> {
        let received_date = deadline::receipt_date(req.received);
        let callback = req
            .callback_number
            .as_deref()
            .map(|n| phone(self, n))
            .transpose()?;
        self.write_tx(|tx| {
            let conf = Self::new_confirmation(tx)?;
            let fields = Fields {
                confirmation: Some(conf.to_string()),
                request_type: req.request_type.map(|t| t.as_str().into()),
                requester: req.requester.map(|r| r.as_str().into()),
                language: Some(req.language.clone()),
                manner: Some(privacy::MANNER_PHONE.into()),
                status: Some(Status::Abandoned.as_str().into()),
                received: Some(consent::format_ts(req.received)),
                callback: callback.as_ref().map(|(h, _)| h.clone()),
                detail: Some(req.step.clone()),
                ..Fields::default()
            };
            let entry = Entry {
                call_sid: req.call_sid.clone(),
                stream_sid: req.stream_sid.clone(),
                kind: Kind::RequestReceived,
                fields,
            };
            let (done, _) = self.append_and_apply(
                tx,
                vec![(entry, callback.as_ref().map(|(_, p)| p.clone()))],
                None,
            )?;
            Ok(FiledRequest {
                confirmation: conf,
                received_date,
                due: None,
                honor_due: None,
                receipt_due: None,
                committed: done[0].clone(),
            })
        })
    }

    /// Staff change of status ([`privacy::check_transition`]): `verifying` (know, delete,
    /// correct), `fulfilled`, or `denied` with its basis. One `request_updated` record.
    pub fn update_status(
        &self,
        confirmation: ConfirmationNumber,
        status: Status,
        basis: Option<&str>,
    ) -> Result<RequestRow, StoreError> {
        let conf = confirmation.to_string();
        self.write_tx(|tx| {
            let row = checked_state(tx, &conf)?;
            privacy::check_transition(row.request_type, row.status, status, basis)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let fields = Fields {
                status: Some(status.as_str().into()),
                basis: basis.map(|b| b.trim().to_string()),
                ..Fields::default()
            };
            self.chain_update(tx, row, &conf, fields)
        })
    }

    /// Extend the response deadline of a request to know, delete or correct, once, to 90 days
    /// after receipt, with the reason the consumer is told (§7021(b)). Refused for opt-out and
    /// limit, for a final request, a second time, without a reason, or after the original due
    /// date (`today` is later than it: the extension must be given within the first 45 days).
    pub fn extend(
        &self,
        confirmation: ConfirmationNumber,
        reason: &str,
        today: Date,
    ) -> Result<RequestRow, StoreError> {
        let conf = confirmation.to_string();
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid("an extension needs its reason".into()));
        }
        self.write_tx(|tx| {
            let row = checked_state(tx, &conf)?;
            let invalid = |m: String| Err(StoreError::Invalid(m));
            let Some(kind) = row.request_type.filter(|k| k.needs_verification()) else {
                return invalid(format!(
                    "only requests to know, delete or correct can be extended, not {}",
                    row.request_type.map_or("this request", RequestType::as_str)
                ));
            };
            if row.status.is_final() {
                return invalid(format!("the request is already {}", row.status));
            }
            if let Some(d) = row.extended_due {
                return invalid(format!(
                    "the request was already extended (to {}): a request can be extended once",
                    format_date(d)
                ));
            }
            let due = row.due.unwrap_or(deadline::response_due(row.received_date));
            if today > due {
                return invalid(format!(
                    "the {kind} request was due {}: an extension must be given before then",
                    format_date(due)
                ));
            }
            let fields = Fields {
                extended_due: Some(format_date(deadline::extended_due(row.received_date))),
                reason: Some(reason.to_string()),
                ..Fields::default()
            };
            self.chain_update(tx, row, &conf, fields)
        })
    }

    /// Chain a `request_updated` record for `conf` carrying `fields`, and apply it to the view.
    fn chain_update(
        &self,
        tx: &Connection,
        row: RequestRow,
        conf: &str,
        fields: Fields,
    ) -> Result<RequestRow, StoreError> {
        let entry = Entry {
            call_sid: row.call_sid.clone(),
            stream_sid: None,
            kind: Kind::RequestUpdated,
            fields: Fields {
                confirmation: Some(conf.to_string()),
                ..fields
            },
        };
        let (_, row) = self.append_and_apply(tx, vec![(entry, None)], Some(row))?;
        row.ok_or_else(|| StoreError::Database("request vanished".into()))
    }

    /// One request's current state.
    pub fn get_request(
        &self,
        confirmation: ConfirmationNumber,
    ) -> Result<Option<RequestRow>, StoreError> {
        get_row(&self.conn(), &confirmation.to_string())
    }

    /// One request's chained records (received, then every update), in seq order.
    pub fn request_history(
        &self,
        confirmation: ConfirmationNumber,
    ) -> Result<Vec<Record>, StoreError> {
        let conf = confirmation.to_string();
        let conn = self.conn();
        let row = get_row(&conn, &conf)?;
        request_history(&conn, &conf, row.as_ref().map(|r| r.call_sid.as_str()))
    }

    /// Requests matching `filter`, oldest received first.
    pub fn list_requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>, StoreError> {
        let mut rows = self.export_requests()?;
        rows.retain(|r| {
            filter.status.is_none_or(|s| r.status == s)
                && filter
                    .due_before
                    .is_none_or(|d| r.deadline().is_some_and(|x| x < d))
                && filter.overdue_on.is_none_or(|t| r.is_overdue(t))
        });
        Ok(rows)
    }

    /// Every request, oldest received first.
    pub fn export_requests(&self) -> Result<Vec<RequestRow>, StoreError> {
        let conn = self.conn();
        if !has_table(&conn, "requests")? {
            return Ok(Vec::new());
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests ORDER BY received_ts, confirmation"
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read_row(row)?);
        }
        Ok(out)
    }

    /// Put a number on the do-not-contact list as of `date` (one `dnc_added` record; the clear
    /// number goes to personal data). `source` is a confirmation number or `staff`.
    pub fn dnc_add(&self, number: &str, date: Date, source: &str) -> Result<Committed, StoreError> {
        let source = source.trim();
        if source.is_empty() {
            return Err(StoreError::Invalid(
                "a do-not-contact entry needs its source".into(),
            ));
        }
        let (hash, personal) = phone(self, number)?;
        self.write_tx(|tx| {
            let entry = Entry {
                call_sid: STAFF.into(),
                stream_sid: None,
                kind: Kind::DncAdded,
                fields: Fields {
                    number: Some(hash.clone()),
                    opt_out_date: Some(format_date(date)),
                    source: Some(source.to_string()),
                    ..Fields::default()
                },
            };
            let (done, _) = self.append_and_apply(tx, vec![(entry, Some(personal))], None)?;
            Ok(done[0].clone())
        })
    }

    /// The date of the latest opt-out of this number, if it is on the list. Fails without
    /// the installation key (a pseudonym under another key matches nothing), and for text
    /// that is not a phone number.
    pub fn dnc_check(&self, number: &str) -> Result<Option<Date>, StoreError> {
        if !self.has_key {
            return Err(StoreError::Invalid(
                "the installation key is needed to check a number".into(),
            ));
        }
        let (hash, _) = phone(self, number)?;
        Ok(get_dnc(&self.conn(), &hash)?.map(|e| e.added_date))
    }

    /// May a flow ask this caller to opt in to anything today? The one rule,
    /// [`privacy::may_ask_opt_in`], on this number's latest opt-out. A caller ID that is not
    /// a phone number (`anonymous`) cannot be checked and is never asked.
    pub fn may_ask_opt_in(&self, number: &str, today: Date) -> Result<bool, StoreError> {
        match self.dnc_check(number) {
            Ok(last) => Ok(privacy::may_ask_opt_in(last, today)),
            Err(StoreError::Invalid(_)) if privacy::normalize_phone(number).is_err() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The do-not-contact list, with the clear numbers still held (not redacted).
    pub fn dnc_export(&self) -> Result<Vec<DncEntry>, StoreError> {
        let conn = self.conn();
        if !has_table(&conn, "dnc")? {
            return Ok(Vec::new());
        }
        let mut stmt = conn.prepare(
            "SELECT d.number_hash, d.added_date, d.source, d.last_seq, p.value
             FROM dnc d LEFT JOIN personal_data p ON p.hash = d.number_hash
             ORDER BY d.added_date, d.number_hash",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let date: String = r.get(1)?;
            let seq: i64 = r.get(3)?;
            let number: Option<String> = r.get(4)?;
            out.push(DncEntry {
                number_hash: r.get(0)?,
                added_date: parse_date(&date)
                    .map_err(|e| StoreError::Database(format!("dnc table: {e}")))?,
                source: r.get(2)?,
                last_seq: u64::try_from(seq).unwrap_or(0),
                number: number.filter(|n| !n.is_empty()),
            });
        }
        Ok(out)
    }

    /// Refold every request and do-not-contact record of the chain and compare with the
    /// `requests` and `dnc` tables (one consistent snapshot). Does not verify the chain
    /// itself: run [`Store::verify`] too.
    pub fn check_view(&self) -> Result<ViewCheck, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let records = records_of_kinds(
            &tx,
            &[Kind::RequestReceived, Kind::RequestUpdated, Kind::DncAdded],
            Only::All,
        )?;
        let mut problems = Vec::new();
        let mut requests: BTreeMap<String, Option<RequestRow>> = BTreeMap::new();
        let mut dnc: BTreeMap<String, Option<DncEntry>> = BTreeMap::new();
        for r in &records {
            let result = if r.kind == Kind::DncAdded.as_str() {
                let key = r.fields.number.clone().unwrap_or_default();
                fold::apply_dnc(dnc.entry(key).or_default(), r)
            } else {
                let key = r.fields.confirmation.clone().unwrap_or_default();
                fold::apply_request(requests.entry(key).or_default(), r)
            };
            if let Err(e) = result {
                problems.push(format!("record {}: {e}", r.seq));
            }
        }
        let table_rows: BTreeMap<String, RequestRow> = if has_table(&tx, "requests")? {
            let mut stmt = tx.prepare(&format!("SELECT {REQUEST_COLUMNS} FROM requests"))?;
            let mut rows = stmt.query([])?;
            let mut out = BTreeMap::new();
            while let Some(row) = rows.next()? {
                match read_row(row) {
                    Ok(r) => {
                        out.insert(r.confirmation.clone(), r);
                    }
                    Err(e) => problems.push(e.to_string()),
                }
            }
            out
        } else {
            BTreeMap::new()
        };
        let chain_rows: BTreeMap<String, RequestRow> = requests
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        for (conf, want) in &chain_rows {
            match table_rows.get(conf) {
                None => problems.push(format!("request {conf}: in the chain, missing from the table")),
                Some(got) if got != want => problems.push(format!(
                    "request {conf}: table row differs from the chain (chain: status {}, table: status {}; last record {} vs {})",
                    want.status, got.status, want.last_seq, got.last_seq
                )),
                Some(_) => {}
            }
        }
        for conf in table_rows.keys() {
            if !chain_rows.contains_key(conf) {
                problems.push(format!("request {conf}: in the table but not in the chain"));
            }
        }
        let chain_dnc: BTreeMap<String, DncEntry> = dnc
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        let mut table_dnc: BTreeMap<String, DncEntry> = BTreeMap::new();
        if has_table(&tx, "dnc")? {
            let mut stmt = tx.prepare("SELECT number_hash FROM dnc")?;
            let hashes: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for h in hashes {
                match get_dnc(&tx, &h) {
                    Ok(Some(e)) => {
                        table_dnc.insert(h, e);
                    }
                    Ok(None) => {}
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
        for (hash, want) in &chain_dnc {
            let short = hash.get(..12).unwrap_or(hash);
            match table_dnc.get(hash) {
                None => problems.push(format!(
                    "do-not-contact {short}…: in the chain, missing from the table"
                )),
                Some(got) if got != want => problems.push(format!(
                    "do-not-contact {short}…: table row differs from the chain (chain: {}, table: {})",
                    format_date(want.added_date),
                    format_date(got.added_date)
                )),
                Some(_) => {}
            }
        }
        for hash in table_dnc.keys() {
            if !chain_dnc.contains_key(hash) {
                let short = hash.get(..12).unwrap_or(hash);
                problems.push(format!(
                    "do-not-contact {short}…: in the table but not in the chain"
                ));
            }
        }
        tx.finish()?;
        Ok(ViewCheck {
            requests: chain_rows.len(),
            dnc: chain_dnc.len(),
            problems,
        })
    }
}
