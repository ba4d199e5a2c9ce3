//! `consentline audit`: verify, export and show the consent log. Every subcommand opens the
//! log read-only and needs only `consent.db` (not the installation key), so an auditor can run
//! it on a copy.

use super::csv_cell;
use anyhow::{anyhow, bail, Context, Result};
use consentline::consent::{self, Fields, Record};
use consentline::store::{Filter, Store};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the whole hash chain. Prints the record count and the tip hash (save it
    /// elsewhere: a later `--expect-tip` detects records cut off or rewritten).
    Verify(VerifyArgs),
    /// Export records, one per line, as JSON lines or CSV on standard output.
    Export(ExportArgs),
    /// A readable timeline of one call, and whether its records verify.
    Show(ShowArgs),
    /// Check a `consentline load --ledger` file against the log: every call the load
    /// generator saw bridged with recording must have its durable "record" decision and
    /// bridge answer in the log. Exit 1 naming each call that lacks them.
    Ledger(LedgerArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Data directory holding consent.db.
    #[arg(long, env = "CONSENTLINE_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// A tip hash printed by an earlier verify: fail unless that record is still in the chain.
    #[arg(long, value_name = "HASH")]
    pub expect_tip: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Data directory holding consent.db.
    #[arg(long, env = "CONSENTLINE_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Only this call's records.
    #[arg(long = "call", value_name = "CALL_SID")]
    pub call: Option<String>,
    /// Only records committed at or after this time (RFC 3339, or a YYYY-MM-DD date in UTC).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// The call's CallSid.
    pub call_sid: String,
    /// Data directory holding consent.db.
    #[arg(long, env = "CONSENTLINE_DATA", default_value = "./data")]
    pub data: PathBuf,
}

#[derive(clap::Args)]
pub struct LedgerArgs {
    /// The ledger: JSON lines, one per call, as `consentline load --ledger` writes them.
    pub file: PathBuf,
    /// Data directory holding consent.db.
    #[arg(long, env = "CONSENTLINE_DATA", default_value = "./data")]
    pub data: PathBuf,
}

pub fn run(args: &AuditArgs) -> Result<()> {
    match &args.command {
        AuditCommand::Verify(a) => verify(a),
        AuditCommand::Export(a) => ignore_broken_pipe(export(a)),
        AuditCommand::Show(a) => show(a),
        AuditCommand::Ledger(a) => ledger(a),
    }
}

fn open(data: &Path) -> Result<Store> {
    Store::open_read_only(data).map_err(|e| anyhow!("{e}"))
}

fn verify(args: &VerifyArgs) -> Result<()> {
    let store = open(&args.data)?;
    let verified = match store.verify_full().map_err(|e| anyhow!("{e}"))? {
        Ok(v) => v,
        Err(e) => bail!(
            "{e} ({} records before it verify; {})",
            e.seq.saturating_sub(1),
            args.data.join(consentline::store::DB_FILE).display()
        ),
    };
    let mut line = format!(
        "ok: {} records, chain intact, tip {}",
        verified.count, verified.tip
    );
    if let Some(expected) = &args.expect_tip {
        let expected = expected.trim().to_ascii_lowercase();
        match store.seq_of_hash(&expected).map_err(|e| anyhow!("{e}"))? {
            Some(seq) => line.push_str(&format!("; expected tip is record {seq}")),
            None => bail!(
                "expected tip {expected} is not in the log: records were cut off or rewritten \
                 since it was saved (the log now has {} records, tip {})",
                verified.count,
                verified.tip
            ),
        }
    }
    println!("{line}");
    Ok(())
}

/// Export columns after the record's own: every known field (consent and privacy-request
/// fields alike), then unknown ones as JSON.
const FIELD_COLUMNS: [&str; Fields::NAMES.len()] = [
    "line",
    "caller",
    "prompt_id",
    "language",
    "prompt_sha256",
    "digit",
    "digit_source",
    "at_ms",
    "attempt",
    "decision",
    "reason",
    "recording_sid",
    "answer",
    "detail",
    "confirmation",
    "request_type",
    "requester",
    "status",
    "manner",
    "received",
    "due",
    "honor_due",
    "receipt_due",
    "extended_due",
    "basis",
    "callback",
    "number",
    "opt_out_date",
    "source",
];

fn extra_json(fields: &Fields) -> Option<String> {
    let extra: serde_json::Map<String, serde_json::Value> = fields
        .extra_fields()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    (!extra.is_empty()).then(|| serde_json::Value::Object(extra).to_string())
}

fn export(args: &ExportArgs) -> Result<()> {
    let store = open(&args.data)?;
    let records = store
        .records(&Filter {
            call_sid: args.call.clone(),
            since: args.since.clone(),
        })
        .map_err(|e| anyhow!("{e}"))?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Jsonl => {
            for r in &records {
                // Written by hand to keep the column order (serde_json's map sorts keys).
                let mut line = String::from("{");
                let mut first = true;
                let mut put = |k: &str, v: serde_json::Value| {
                    if !first {
                        line.push(',');
                    }
                    first = false;
                    line.push_str(&serde_json::Value::String(k.into()).to_string());
                    line.push(':');
                    line.push_str(&v.to_string());
                };
                let s = |v: Option<&str>| v.map_or(serde_json::Value::Null, |v| v.into());
                put("seq", r.seq.into());
                put("ts", s(Some(&r.ts)));
                put("call_sid", s(Some(&r.call_sid)));
                put("stream_sid", s(r.stream_sid.as_deref()));
                put("kind", s(Some(&r.kind)));
                for name in FIELD_COLUMNS {
                    put(name, s(r.fields.get(name)));
                }
                let extra: serde_json::Map<String, serde_json::Value> = r
                    .fields
                    .extra_fields()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                put(
                    "extra",
                    if extra.is_empty() {
                        serde_json::Value::Null
                    } else {
                        serde_json::Value::Object(extra)
                    },
                );
                put("prev_hash", s(Some(&r.prev_hash)));
                put("hash", s(Some(&r.hash)));
                line.push('}');
                writeln!(out, "{line}")?;
            }
        }
        Format::Csv => {
            let mut header: Vec<&str> = vec!["seq", "ts", "call_sid", "stream_sid", "kind"];
            header.extend(FIELD_COLUMNS);
            header.extend(["extra", "prev_hash", "hash"]);
            write_csv_row(&mut out, header.iter().map(|h| Some(*h)))?;
            for r in &records {
                let seq = r.seq.to_string();
                let extra = extra_json(&r.fields);
                let mut row: Vec<Option<&str>> = vec![
                    Some(&seq),
                    Some(&r.ts),
                    Some(&r.call_sid),
                    r.stream_sid.as_deref(),
                    Some(&r.kind),
                ];
                row.extend(FIELD_COLUMNS.iter().map(|n| r.fields.get(n)));
                row.extend([extra.as_deref(), Some(&r.prev_hash), Some(&r.hash)]);
                write_csv_row(&mut out, row.into_iter())?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn write_csv_row<'a>(
    out: &mut impl Write,
    cells: impl Iterator<Item = Option<&'a str>>,
) -> io::Result<()> {
    let line: Vec<_> = cells.map(|c| csv_cell(c.unwrap_or(""))).collect();
    // CRLF line ends, as RFC 4180 says.
    write!(out, "{}\r\n", line.join(","))
}

fn ignore_broken_pipe(r: Result<()>) -> Result<()> {
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

/// Control characters (terminal escapes) from the wire printed harmlessly.
fn clean(s: &str) -> String {
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

fn short(hash: &str) -> String {
    match hash.get(..8) {
        Some(h) if hash.len() > 8 => format!("{h}…"),
        _ => hash.to_string(),
    }
}

/// The meaningful part of a record; fields not part of it follow as name=value.
fn summary(r: &Record) -> String {
    let f = &r.fields;
    let g = |n: &str| f.get(n).map(clean);
    let mut parts: Vec<String> = Vec::new();
    let used: Vec<&'static str> = match r.kind.as_str() {
        "call_started" => {
            if let Some(l) = g("line") {
                parts.push(format!("line {l}"));
            }
            if let Some(c) = g("caller") {
                parts.push(format!("caller {}", short(&c)));
            }
            if let Some(l) = g("language") {
                parts.push(format!("language {l}"));
            }
            vec!["line", "caller", "language"]
        }
        "prompt_started" | "prompt_played" | "prompt_interrupted" => {
            let mut p = g("prompt_id").unwrap_or_else(|| "?".into());
            if let Some(l) = g("language") {
                p.push_str(&format!(" ({l})"));
            }
            if let Some(h) = g("prompt_sha256") {
                p.push_str(&format!(" sha256 {}", short(&h)));
            }
            if let Some(a) = g("attempt") {
                p.push_str(&format!(", attempt {a}"));
            }
            parts.push(p);
            vec!["prompt_id", "language", "prompt_sha256", "attempt"]
        }
        "key" => {
            let mut p = g("digit").unwrap_or_else(|| "?".into());
            if let Some(s) = g("digit_source") {
                p.push_str(&format!(" ({s})"));
            }
            if let Some(at) = g("at_ms") {
                match at.parse::<f64>() {
                    Ok(ms) => p.push_str(&format!(" at {:.2} s", ms / 1000.0)),
                    Err(_) => p.push_str(&format!(" at {at} ms")),
                }
            }
            parts.push(p);
            vec!["digit", "digit_source", "at_ms"]
        }
        "decision" => {
            parts.push(g("decision").unwrap_or_else(|| "?".into()));
            if let Some(reason) = g("reason") {
                parts.push(format!("reason: {reason}"));
            }
            vec!["decision", "reason"]
        }
        "bridge_answered" => {
            if let Some(a) = g("answer") {
                parts.push(a);
            }
            if let Some(d) = g("decision") {
                parts.push(format!("decision {d}"));
            }
            vec!["answer", "decision"]
        }
        "recording_reference" => {
            if let Some(s) = g("recording_sid") {
                parts.push(format!("recording {s}"));
            }
            vec!["recording_sid"]
        }
        "call_ended" => {
            if let Some(reason) = g("reason") {
                parts.push(reason);
            }
            vec!["reason"]
        }
        _ => Vec::new(),
    };
    for name in Fields::NAMES {
        if !used.contains(&name) {
            if let Some(v) = g(name) {
                parts.push(format!("{name}={v}"));
            }
        }
    }
    for (k, v) in f.extra_fields() {
        parts.push(format!("{}={}", clean(k), clean(&v.to_string())));
    }
    parts.join(", ")
}

fn show(args: &ShowArgs) -> Result<()> {
    let store = open(&args.data)?;
    let records = store
        .call_timeline(&args.call_sid)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("reading call {}", clean(&args.call_sid)))?;
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        bail!(
            "no records for call {} in {}",
            clean(&args.call_sid),
            args.data.display()
        );
    };
    let day = first.ts.get(..10).unwrap_or("");
    println!(
        "call {}: {} records, {} (times UTC)",
        clean(&args.call_sid),
        records.len(),
        clean(day)
    );
    let mut streams: Vec<&str> = records
        .iter()
        .filter_map(|r| r.stream_sid.as_deref())
        .collect();
    streams.dedup();
    for s in streams {
        println!("stream {}", clean(s));
    }
    let mut altered = 0;
    for r in &records {
        let time = match (r.ts.get(..10), r.ts.get(11..23)) {
            (Some(d), Some(t)) if d == day && r.ts.len() == 24 => t.to_string(),
            _ => clean(&r.ts),
        };
        let text = summary(r);
        let mark = if consent::compute_hash(r) != r.hash {
            altered += 1;
            "   !! contents altered"
        } else {
            ""
        };
        println!("{time}  #{:<6} {:<20} {text}{mark}", r.seq, clean(&r.kind));
    }
    match store.verify_full().map_err(|e| anyhow!("{e}"))? {
        Ok(v) => {
            println!(
                "verified: these {} records are part of an intact chain of {} records (tip {})",
                records.len(),
                v.count,
                v.tip
            );
            Ok(())
        }
        Err(e) if e.seq > last.seq && altered == 0 => {
            println!(
                "verified: these {} records are intact and chained from the start of the log \
                 (seq 1 to {}); the log fails later, at {e}: run `consentline audit verify`",
                records.len(),
                last.seq
            );
            Ok(())
        }
        Err(e) => {
            println!("NOT VERIFIED: {e}");
            bail!(
                "{e}: the records of call {} do not verify",
                clean(&args.call_sid)
            )
        }
    }
}

/// One ledger line, as far as the check needs it (other fields are ignored, so the ledger
/// may grow).
struct LedgerCall {
    call_sid: String,
    bridged_with_recording: bool,
    expected_recording: bool,
    ok: bool,
}

fn read_ledger(path: &Path) -> Result<Vec<LedgerCall>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut calls = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{} line {}", path.display(), i + 1);
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}: not JSON", at()))?;
        let call_sid = v["call_sid"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| anyhow!("{}: no call_sid", at()))?
            .to_string();
        let flag = |name: &str| -> Result<bool> {
            match &v[name] {
                serde_json::Value::Bool(b) => Ok(*b),
                serde_json::Value::Null => Ok(false),
                other => bail!("{}: {name} is {other}, not true or false", at()),
            }
        };
        if !v["bridged_with_recording"].is_boolean() {
            bail!("{}: no bridged_with_recording (true or false)", at());
        }
        calls.push(LedgerCall {
            bridged_with_recording: flag("bridged_with_recording")?,
            expected_recording: flag("expected_recording")?,
            ok: flag("ok")?,
            call_sid,
        });
    }
    Ok(calls)
}

/// Why a call the caller saw bridged with recording lacks its evidence, if it does.
fn missing_evidence(store: &Store, call_sid: &str, want_bridge: bool) -> Result<Option<String>> {
    let records = store
        .call_timeline(call_sid)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("reading call {}", clean(call_sid)))?;
    let decision = records
        .iter()
        .rev()
        .find(|r| r.kind == "decision")
        .and_then(|r| r.fields.decision.clone());
    let mut why = Vec::new();
    match decision.as_deref() {
        Some("record") => {}
        Some(other) => why.push(format!("its latest decision is {}", clean(other))),
        None if records.is_empty() => why.push("no records at all".into()),
        None => why.push("no decision record".into()),
    }
    let bridged = records
        .iter()
        .any(|r| r.kind == "bridge_answered" && r.fields.decision.as_deref() == Some("record"));
    if want_bridge && !bridged && !records.is_empty() {
        why.push("no bridge answer record with recording".into());
    }
    Ok((!why.is_empty()).then(|| why.join("; ")))
}

fn ledger(args: &LedgerArgs) -> Result<()> {
    let calls = read_ledger(&args.file)?;
    let store = open(&args.data)?;
    // Logs written before the bridge answer was logged have no such records to require.
    let want_bridge = store
        .has_kind("bridge_answered")
        .map_err(|e| anyhow!("{e}"))?;
    let recorded: Vec<&LedgerCall> = calls.iter().filter(|c| c.bridged_with_recording).collect();
    let as_expected = calls.iter().filter(|c| c.ok).count();
    let unrecorded = calls
        .iter()
        .filter(|c| c.expected_recording && !c.bridged_with_recording)
        .count();
    println!(
        "ledger: {} calls ({as_expected} as expected, {} not); {} bridged with recording, {unrecorded} \
         expected recording but were not bridged with it (the safe direction)",
        calls.len(),
        calls.len() - as_expected,
        recorded.len()
    );
    let mut missing = Vec::new();
    for call in &recorded {
        if let Some(why) = missing_evidence(&store, &call.call_sid, want_bridge)? {
            println!("MISSING {}: {why}", clean(&call.call_sid));
            missing.push(call.call_sid.clone());
        }
    }
    let have = recorded.len() - missing.len();
    println!(
        "log: {have} of {} calls bridged with recording have a durable \"record\" decision{}",
        recorded.len(),
        if want_bridge {
            " and bridge answer"
        } else {
            " (this log has no bridge answer records)"
        }
    );
    if !missing.is_empty() {
        bail!(
            "{} of {} calls bridged with recording lack their durable consent records in {}",
            missing.len(),
            recorded.len(),
            args.data.display()
        );
    }
    println!("ok: every call bridged with recording has its consent on file (check the chain with `audit verify`)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_has_every_known_field_once() {
        let mut columns = FIELD_COLUMNS.to_vec();
        columns.sort();
        let mut names = Fields::NAMES.to_vec();
        names.sort();
        assert_eq!(columns, names);
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell(" lead"), "\" lead\"");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn clean_escapes_control_characters() {
        assert_eq!(clean("CA1\u{1b}[31m"), "CA1\\u{1b}[31m");
        assert_eq!(clean("ok é"), "ok é");
    }
}
