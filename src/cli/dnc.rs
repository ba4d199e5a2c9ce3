//! `consentline dnc`: the do-not-contact list (opt-outs). Every addition is a chained record;
//! numbers are matched by their keyed hash, so `check` and `add` need the installation key.

use super::requests::{
    clean, ignore_broken_pipe, open_read, open_write, today_or, write_table, Format,
};
use anyhow::{anyhow, Result};
use consentline::consent::Redacted;
use consentline::privacy::{self, twelve_months_after};
use consentline::store::requests::{format_date, parse_date, STAFF};
use std::io::{self, Write};

#[derive(clap::Args)]
pub struct DncArgs {
    #[command(subcommand)]
    pub command: DncCommand,
}

#[derive(clap::Subcommand)]
pub enum DncCommand {
    /// Is this number on the list, since when, and may it be asked to opt in today?
    Check(CheckArgs),
    /// Put a number on the list (a chained record).
    Add(AddArgs),
    /// The whole list, as CSV or JSON lines (clear numbers where not yet redacted).
    Export(ExportArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The phone number (10 digits for a US number, or +country code and number).
    pub number: String,
    #[command(flatten)]
    pub data: super::requests::DataArg,
    /// Check as of this date (default: today in California).
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
}

#[derive(clap::Args)]
pub struct AddArgs {
    /// The phone number (10 digits for a US number, or +country code and number).
    pub number: String,
    #[command(flatten)]
    pub data: super::requests::DataArg,
    /// Date of the opt-out (default: today in California).
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// Where the opt-out came from: a confirmation number, or `staff`.
    #[arg(long, default_value = STAFF)]
    pub source: String,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub data: super::requests::DataArg,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
}

pub fn run(args: &DncArgs) -> Result<()> {
    match &args.command {
        DncCommand::Check(a) => check(a),
        DncCommand::Add(a) => add(a),
        DncCommand::Export(a) => ignore_broken_pipe(export(a)),
    }
}

fn number(s: &str) -> Result<String> {
    privacy::normalize_phone(s).map_err(|e| anyhow!("{}: {e}", Redacted(&clean(s))))
}

fn check(args: &CheckArgs) -> Result<()> {
    let n = number(&args.number)?;
    let today = today_or(&args.today)?;
    let store = open_read(&args.data.data)?;
    if !store.has_key() {
        return Err(anyhow!(
            "{}: the installation key is missing, so numbers cannot be matched",
            args.data.data.display()
        ));
    }
    let last = store.dnc_check(&n).map_err(|e| anyhow!("{e}"))?;
    let may = privacy::may_ask_opt_in(last, today);
    match last {
        None => println!("{}: not on the do-not-contact list", Redacted(&n)),
        Some(d) => println!(
            "{}: on the do-not-contact list, last opt-out {}; may be asked to opt in from {}: {}",
            Redacted(&n),
            format_date(d),
            format_date(twelve_months_after(d)),
            if may { "yes" } else { "not yet" }
        ),
    }
    Ok(())
}

fn add(args: &AddArgs) -> Result<()> {
    let n = number(&args.number)?;
    let date = match &args.date {
        Some(s) => parse_date(s).map_err(|e| anyhow!("--date: {e}"))?,
        None => today_or(&None)?,
    };
    let store = open_write(&args.data.data)?;
    let c = store
        .dnc_add(&n, date, &args.source)
        .map_err(|e| anyhow!("{e}"))?;
    println!(
        "{}: on the do-not-contact list as of {} (record {})",
        Redacted(&n),
        format_date(date),
        c.seq
    );
    Ok(())
}

fn export(args: &ExportArgs) -> Result<()> {
    let store = open_read(&args.data.data)?;
    let list = store.dnc_export().map_err(|e| anyhow!("{e}"))?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    write_table(
        &mut out,
        args.format,
        &["number", "number_hash", "added_date", "source", "last_seq"],
        list.iter().map(|e| {
            vec![
                e.number.clone(),
                Some(e.number_hash.clone()),
                Some(format_date(e.added_date)),
                Some(e.source.clone()),
                Some(e.last_seq.to_string()),
            ]
        }),
    )?;
    out.flush()?;
    Ok(())
}
