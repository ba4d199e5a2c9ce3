//! `consentline prompts`: load the catalog exactly as the server will and list it.

use anyhow::Result;
use consentline::prompt::{Catalog, LoadOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct PromptsArgs {
    /// Directory holding prompts.toml and the WAV files.
    #[arg(long, default_value = "prompts")]
    pub dir: PathBuf,
    /// Longest prompt accepted, seconds.
    #[arg(long, default_value_t = consentline::prompt::DEFAULT_MAX_SECONDS)]
    pub max_seconds: f64,
    /// One JSON object per prompt instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Row<'a> {
    id: &'a str,
    language: &'a str,
    duration_ms: u64,
    sha256: String,
    level_dbm0: f32,
    source: String,
    source_format: &'a str,
    transcript: &'a str,
}

pub fn run(args: &PromptsArgs) -> Result<()> {
    let catalog = Catalog::load(
        &args.dir,
        LoadOptions {
            max_seconds: args.max_seconds,
        },
    )?;
    if !args.json {
        println!(
            "{:<28} {:<4} {:>8}  {:<64}  transcript",
            "id", "lang", "duration", "sha256 (of the μ-law audio sent)"
        );
    }
    for p in catalog.iter() {
        if args.json {
            let row = Row {
                id: &p.id,
                language: &p.language,
                duration_ms: p.duration_ms(),
                sha256: p.sha256_hex(),
                level_dbm0: (p.level_dbm0 * 10.0).round() / 10.0,
                source: p.source.display().to_string(),
                source_format: &p.source_format,
                transcript: &p.transcript,
            };
            println!("{}", serde_json::to_string(&row)?);
        } else {
            let seconds = p.duration_ms() as f64 / 1000.0;
            println!(
                "{:<28} {:<4} {:>7.2}s  {}  {}",
                p.id,
                p.language,
                seconds,
                p.sha256_hex(),
                p.transcript
            );
        }
    }
    if !args.json {
        println!(
            "{} prompts in {}: {}",
            catalog.len(),
            catalog.languages().len(),
            catalog.languages().join(", ")
        );
    }
    Ok(())
}
