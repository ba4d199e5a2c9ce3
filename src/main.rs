//! The `consentline` command. Each subcommand lives in `cli/`; this file only parses
//! arguments and turns errors into a one-line message and a non-zero exit.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "consentline",
    version,
    about = "IVR front door for call-recording consent and CCPA privacy requests"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the media server (Twilio webhooks and media streams, consent log).
    Serve(cli::serve::ServeArgs),
    /// Play Twilio's side of a call against a running server (a simulated caller).
    Call(cli::call::CallArgs),
    /// Many simulated calls at once, each checking its expected outcome.
    Load(cli::load::LoadArgs),
    /// Verify, export or show the consent log.
    Audit(cli::audit::AuditArgs),
    /// Detect DTMF keys in a WAV file; prints one JSON object per key per line.
    Dtmf(cli::dtmf::DtmfArgs),
    /// Load and list the prompt catalog; fails if any prompt is invalid.
    Prompts(cli::prompts::PromptsArgs),
    /// Privacy requests (staff): list, show, update, extend, export, verify.
    Requests(cli::requests::RequestsArgs),
    /// The do-not-contact list (staff): check, add, export.
    Dnc(cli::dnc::DncArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Serve(a) => cli::serve::run(&a),
        Command::Call(a) => cli::call::run(&a),
        Command::Load(a) => cli::load::run_load(&a),
        Command::Audit(a) => cli::audit::run(&a),
        Command::Dtmf(a) => cli::dtmf::run(&a),
        Command::Prompts(a) => cli::prompts::run(&a),
        Command::Requests(a) => cli::requests::run(&a),
        Command::Dnc(a) => cli::dnc::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line per problem, no backtrace: these are user errors, not bugs.
            eprintln!("consentline: {e:#}");
            ExitCode::FAILURE
        }
    }
}
