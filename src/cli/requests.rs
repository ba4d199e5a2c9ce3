//! `consentline requests`: the staff side of the privacy-request line. Reads open the log
//! read-only; every change is a chained record written through `store::requests`.

use super::csv_cell;
use anyhow::{anyhow, bail, Context, Result};
use consentline::consent::Record;
use consentline::privacy::{deadline, ConfirmationNumber, Status};
use consentline::store::requests::{format_date, parse_date, RequestFilter, RequestRow};
use consentline::store::{Store, DB_FILE};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use time::Date;

#[derive(clap::Args)]
pub struct RequestsArgs {
    #[command(subcommand)]
    pub command: RequestsCommand,
}

#[derive(clap::Subcommand)]
pub enum RequestsCommand {
    /// List requests: confirmation, received, type, requester, status, deadline, days left.
    List(ListArgs),
    /// Every field of one request and its chained history.
    Show(ShowArgs),
    /// Change a request's status (a chained record): verifying, fulfilled, or denied with
    /// --basis.
    Update(UpdateArgs),
    /// Extend a request to know, delete or correct once, to 90 days, with the reason given to
    /// the consumer (a chained record).
    Extend(ExtendArgs),
    /// Every request, one per line, as CSV or JSON lines.
    Export(ExportArgs),
    /// Verify the chain and check the requests and do-not-contact tables against it.
    Verify(DataArg),
}

#[derive(clap::Args)]
pub struct DataArg {
    /// Data directory holding consent.db.
    #[arg(long, env = "CONSENTLINE_DATA", default_value = "./data")]
    pub data: PathBuf,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Only requests with this status (received, awaiting_verification, verifying,
    /// fulfilled, denied, abandoned).
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only requests whose deadline is before this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub due_before: Option<String>,
    /// Only open requests past their deadline.
    #[arg(long)]
    pub overdue: bool,
    /// Count days left (and overdue) as of this date (default: today in California).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// The confirmation number (spaces and dashes allowed).
    pub confirmation: String,
    #[command(flatten)]
    pub data: DataArg,
    /// Count days left as of this date (default: today in California).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum NewStatus {
    Verifying,
    Fulfilled,
    Denied,
}

#[derive(clap::Args)]
pub struct UpdateArgs {
    /// The confirmation number.
    pub confirmation: String,
    #[arg(long, value_enum)]
    pub status: NewStatus,
    /// The basis of a denial (required with --status denied, refused otherwise).
    #[arg(long, value_name = "TEXT")]
    pub basis: Option<String>,
    #[command(flatten)]
    pub data: DataArg,
}

#[derive(clap::Args)]
pub struct ExtendArgs {
    /// The confirmation number.
    pub confirmation: String,
    /// Why more time is needed (the consumer must be told).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub data: DataArg,
    /// The date the extension is given (default: today in California); it must not be after
    /// the original due date.
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
}

pub fn run(args: &RequestsArgs) -> Result<()> {
    match &args.command {
        RequestsCommand::List(a) => list(a),
        RequestsCommand::Show(a) => show(a),
        RequestsCommand::Update(a) => update(a),
        RequestsCommand::Extend(a) => extend(a),
        RequestsCommand::Export(a) => ignore_broken_pipe(export(a)),
        RequestsCommand::Verify(a) => verify(&a.data),
    }
}

/// Open the log to read (no key needed, nothing created).
pub(crate) fn open_read(data: &Path) -> Result<Store> {
    Store::open_read_only(data).map_err(|e| anyhow!("{e}"))
}

/// Open an existing log to change it (never creates a new one).
pub(crate) fn open_write(data: &Path) -> Result<Store> {
    let db = data.join(DB_FILE);
    if !db.is_file() {
        bail!(
            "data directory {}: no consent log here ({} not found)",
            data.display(),
            db.display()
        );
    }
    Store::open(data).map_err(|e| anyhow!("{e}"))
}

pub(crate) fn today_or(arg: &Option<String>) -> Result<Date> {
    match arg {
        Some(s) => parse_date(s).map_err(|e| anyhow!("--today: {e}")),
        None => Ok(deadline::receipt_date(time::OffsetDateTime::now_utc())),
    }
}

fn confirmation(s: &str) -> Result<ConfirmationNumber> {
    ConfirmationNumber::parse(s).map_err(|e| anyhow!("{}: {e}", clean(s)))
}

fn opt(d: Option<Date>) -> String {
    d.map_or_else(|| "-".into(), format_date)
}

fn days_left(r: &RequestRow, today: Date) -> String {
    match r.days_left(today) {
        None => "-".into(),
        Some(n) if n < 0 => format!("overdue {}", -n),
        Some(n) => n.to_string(),
    }
}

fn list(args: &ListArgs) -> Result<()> {
    let today = today_or(&args.today)?;
    let status = args
        .status
        .as_deref()
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                anyhow!(
                    "--status {}: not a status (received, awaiting_verification, verifying, \
                     fulfilled, denied, abandoned)",
                    clean(s)
                )
            })
        })
        .transpose()?;
    let due_before = args
        .due_before
        .as_deref()
        .map(|s| parse_date(s).map_err(|e| anyhow!("--due-before: {e}")))
        .transpose()?;
    let store = open_read(&args.data.data)?;
    let rows = store
        .list_requests(&RequestFilter {
            status,
            due_before,
            overdue_on: args.overdue.then_some(today),
        })
        .map_err(|e| anyhow!("{e}"))?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    writeln!(
        out,
        "{:<12} {:<10}  {:<8} {:<9} {:<22} {:<10}  DAYS LEFT",
        "CONFIRMATION", "RECEIVED", "TYPE", "REQUESTER", "STATUS", "DUE/HONOR"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<12} {:<10}  {:<8} {:<9} {:<22} {:<10}  {}",
            r.confirmation,
            format_date(r.received_date),
            r.request_type.map_or("-", |t| t.as_str()),
            r.requester.map_or("-", |t| t.as_str()),
            r.status.as_str(),
            opt(r.deadline()),
            days_left(r, today)
        )?;
    }
    writeln!(
        out,
        "{} request{} (as of {})",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        format_date(today)
    )?;
    out.flush()?;
    Ok(())
}

fn show(args: &ShowArgs) -> Result<()> {
    let conf = confirmation(&args.confirmation)?;
    let today = today_or(&args.today)?;
    let store = open_read(&args.data.data)?;
    let Some(r) = store.get_request(conf).map_err(|e| anyhow!("{e}"))? else {
        bail!(
            "no request with confirmation number {conf} in {}",
            args.data.data.display()
        );
    };
    let history = store.request_history(conf).map_err(|e| anyhow!("{e}"))?;
    let line = |k: &str, v: &str| println!("{k:<18} {}", clean(v));
    line("confirmation", &r.confirmation);
    line(
        "type",
        &r.request_type
            .map_or("(not chosen)".into(), |t| format!("{t} ({})", t.describe())),
    );
    line("requester", r.requester.map_or("-", |x| x.as_str()));
    line("status", r.status.as_str());
    line("received", &r.received_ts);
    line("day 0", &format_date(r.received_date));
    line("manner", &r.manner);
    line("language", r.language.as_deref().unwrap_or("-"));
    line("call", &r.call_sid);
    line(
        "callback",
        &r.callback_hash
            .as_deref()
            .map_or("-".into(), |h| format!("keyed hash {h}")),
    );
    if r.receipt_due.is_some() {
        line(
            "confirm receipt",
            &format!("{} (on the call)", opt(r.receipt_due)),
        );
    }
    if r.due.is_some() {
        line("respond by", &opt(r.due));
    }
    if let Some(d) = r.extended_due {
        line("extended to", &format_date(d));
        line(
            "extension reason",
            r.extension_reason.as_deref().unwrap_or("-"),
        );
    }
    if r.honor_due.is_some() {
        line("honour by", &opt(r.honor_due));
    }
    if let Some(b) = &r.basis {
        line("denial basis", b);
    }
    if let Some(d) = &r.detail {
        line("abandoned at", d);
    }
    line("days left", &days_left(&r, today));
    line("updated", &r.updated_ts);
    println!("history ({} chained records):", history.len());
    for h in &history {
        println!(
            "  #{:<6} {}  {:<17} {}  {}",
            h.seq,
            clean(&h.ts),
            clean(&h.kind),
            summary(h),
            short(&h.hash)
        );
    }
    let chain = store.verify_full().map_err(|e| anyhow!("{e}"))?;
    let view = store.check_view().map_err(|e| anyhow!("{e}"))?;
    let mine: Vec<&String> = view
        .problems
        .iter()
        .filter(|p| p.contains(&r.confirmation))
        .collect();
    match (&chain, mine.is_empty()) {
        (Ok(v), true) => {
            println!(
                "verified: chain intact ({} records, tip {}); this row matches its records",
                v.count, v.tip
            );
            Ok(())
        }
        (Err(e), _) => bail!("NOT VERIFIED: the chain fails at {e}"),
        (Ok(_), false) => bail!("NOT VERIFIED: {}", clean(mine[0])),
    }
}

fn summary(r: &Record) -> String {
    let f = &r.fields;
    let mut parts = Vec::new();
    for name in [
        "request_type",
        "requester",
        "status",
        "basis",
        "due",
        "honor_due",
        "extended_due",
        "reason",
        "detail",
    ] {
        if let Some(v) = f.get(name) {
            parts.push(format!("{name}={}", clean(v)));
        }
    }
    parts.join(" ")
}

fn short(hash: &str) -> String {
    hash.get(..12)
        .map_or_else(|| hash.to_string(), |h| format!("{h}…"))
}

fn update(args: &UpdateArgs) -> Result<()> {
    let conf = confirmation(&args.confirmation)?;
    let status = match args.status {
        NewStatus::Verifying => Status::Verifying,
        NewStatus::Fulfilled => Status::Fulfilled,
        NewStatus::Denied => Status::Denied,
    };
    let store = open_write(&args.data.data)?;
    let row = store
        .update_status(conf, status, args.basis.as_deref())
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("request {conf}"))?;
    println!("{conf}: status {} (record {})", row.status, row.last_seq);
    Ok(())
}

fn extend(args: &ExtendArgs) -> Result<()> {
    let conf = confirmation(&args.confirmation)?;
    let today = today_or(&args.today)?;
    let store = open_write(&args.data.data)?;
    let row = store
        .extend(conf, &args.reason, today)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("request {conf}"))?;
    println!(
        "{conf}: extended to {} (record {})",
        opt(row.extended_due),
        row.last_seq
    );
    Ok(())
}

const EXPORT_COLUMNS: [&str; 19] = [
    "confirmation",
    "call_sid",
    "received_ts",
    "received_date",
    "request_type",
    "requester",
    "language",
    "manner",
    "status",
    "callback_hash",
    "due",
    "honor_due",
    "receipt_due",
    "extended_due",
    "extension_reason",
    "basis",
    "detail",
    "updated_ts",
    "last_seq",
];

fn export_cells(r: &RequestRow) -> Vec<Option<String>> {
    vec![
        Some(r.confirmation.clone()),
        Some(r.call_sid.clone()),
        Some(r.received_ts.clone()),
        Some(format_date(r.received_date)),
        r.request_type.map(|t| t.as_str().into()),
        r.requester.map(|t| t.as_str().into()),
        r.language.clone(),
        Some(r.manner.clone()),
        Some(r.status.as_str().into()),
        r.callback_hash.clone(),
        r.due.map(format_date),
        r.honor_due.map(format_date),
        r.receipt_due.map(format_date),
        r.extended_due.map(format_date),
        r.extension_reason.clone(),
        r.basis.clone(),
        r.detail.clone(),
        Some(r.updated_ts.clone()),
        Some(r.last_seq.to_string()),
    ]
}

fn export(args: &ExportArgs) -> Result<()> {
    let store = open_read(&args.data.data)?;
    let rows = store.export_requests().map_err(|e| anyhow!("{e}"))?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    write_table(
        &mut out,
        args.format,
        &EXPORT_COLUMNS,
        rows.iter().map(export_cells),
    )?;
    out.flush()?;
    Ok(())
}

/// Rows as CSV (RFC 4180, CRLF, a header line) or JSON lines (keys in column order; absent
/// values `null`).
pub(crate) fn write_table(
    out: &mut impl Write,
    format: Format,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<Option<String>>>,
) -> io::Result<()> {
    if let Format::Csv = format {
        let header: Vec<_> = columns.iter().map(|c| csv_cell(c)).collect();
        write!(out, "{}\r\n", header.join(","))?;
    }
    for row in rows {
        match format {
            Format::Csv => {
                let cells: Vec<_> = row
                    .iter()
                    .map(|c| csv_cell(c.as_deref().unwrap_or("")))
                    .collect();
                write!(out, "{}\r\n", cells.join(","))?;
            }
            Format::Jsonl => {
                let mut line = String::from("{");
                for (i, (k, v)) in columns.iter().zip(&row).enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    line.push_str(&serde_json::Value::String((*k).into()).to_string());
                    line.push(':');
                    let v = v.as_deref().map_or(serde_json::Value::Null, |s| s.into());
                    line.push_str(&v.to_string());
                }
                line.push('}');
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

fn verify(data: &Path) -> Result<()> {
    let store = open_read(data)?;
    let chain = match store.verify_full().map_err(|e| anyhow!("{e}"))? {
        Ok(v) => v,
        Err(e) => bail!("the chain fails at {e} (run `consentline audit verify`)"),
    };
    let view = store.check_view().map_err(|e| anyhow!("{e}"))?;
    if let Some(first) = view.problems.first() {
        // The full report on standard output; the one-line error on standard error.
        for p in &view.problems {
            println!("{}", clean(p));
        }
        bail!(
            "{} difference{} between the tables and the chain; first: {}",
            view.problems.len(),
            if view.problems.len() == 1 { "" } else { "s" },
            clean(first)
        );
    }
    println!(
        "ok: {} request{} and {} do-not-contact number{} match the chain ({} records, tip {})",
        view.requests,
        if view.requests == 1 { "" } else { "s" },
        view.dnc,
        if view.dnc == 1 { "" } else { "s" },
        chain.count,
        chain.tip
    );
    Ok(())
}

pub(crate) fn ignore_broken_pipe(r: Result<()>) -> Result<()> {
    match r {
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Control characters (terminal escapes) printed harmlessly.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            Format::Csv,
            &["a", "b"],
            [vec![Some("x,y".into()), None]].into_iter(),
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,b\r\n\"x,y\",\r\n");
        let mut out = Vec::new();
        write_table(
            &mut out,
            Format::Jsonl,
            &["b", "a"],
            [vec![Some("1".into()), None]].into_iter(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"b\":\"1\",\"a\":null}\n"
        );
    }
}
