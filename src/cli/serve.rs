//! `consentline serve`: run the media server.

use anyhow::Result;
use consentline::server::config::{Config, Overrides};
use consentline::server::{shutdown_signal, Server};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; env CONSENTLINE_LISTEN].
    #[arg(long)]
    pub listen: Option<String>,
    /// Data directory for the consent log [default: ./data; env CONSENTLINE_DATA].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Prompt catalog directory [default: ./prompts; env CONSENTLINE_PROMPTS].
    #[arg(long)]
    pub prompts: Option<PathBuf>,
    /// TOML configuration file (lines, bridge destinations, public URL, auth token).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Bridge destination of the default line [env CONSENTLINE_FORWARD_TO].
    #[arg(long)]
    pub forward_to: Option<String>,
    /// A called number that runs the privacy-request line (repeatable) [config: a line with
    /// flow = "privacy"].
    #[arg(long = "privacy-line", value_name = "NUMBER")]
    pub privacy_lines: Vec<String>,
    /// Public base URL Twilio reaches this server at, e.g. https://consent.example.com
    /// [env CONSENTLINE_PUBLIC_URL; default: from each request's Host and X-Forwarded-Proto].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Most live media streams at once; more are refused with 503 [default: 2000; env
    /// CONSENTLINE_MAX_CALLS].
    #[arg(long)]
    pub max_calls: Option<usize>,
    /// Most HTTP connections at once that are not media streams (webhooks, upgrade requests,
    /// idle keep-alives); more are answered 503 and closed [default: 1000; env
    /// CONSENTLINE_MAX_CONNECTIONS].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Seconds a client may take to send a request's headers (and a webhook its body); idle
    /// keep-alive connections close after it too [default: 10; env
    /// CONSENTLINE_HEADER_TIMEOUT_SECONDS].
    #[arg(long, value_name = "SECONDS")]
    pub header_timeout_seconds: Option<u64>,
    /// Microseconds an idle runtime worker waits before sleeping on the sockets, so one
    /// wake-up serves many calls' frames; 0 wakes for every message [default: 1000; at most
    /// 10000; env CONSENTLINE_WAKE_COALESCE_US].
    #[arg(long, value_name = "MICROSECONDS")]
    pub wake_coalesce_us: Option<u64>,
    /// Seconds live calls may take to finish after SIGTERM or Ctrl-C.
    #[arg(long, default_value_t = 60)]
    pub drain_seconds: u64,
    /// Log format.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

pub fn run(args: &ServeArgs) -> Result<()> {
    init_tracing(&args.log_format);
    let overrides = Overrides {
        listen: args.listen.clone(),
        data: args.data.clone(),
        prompts: args.prompts.clone(),
        forward_to: args.forward_to.clone(),
        public_url: args.public_url.clone(),
        privacy_lines: args.privacy_lines.clone(),
        max_calls: args.max_calls,
        max_connections: args.max_connections,
        header_timeout_seconds: args.header_timeout_seconds,
        wake_coalesce_us: args.wake_coalesce_us,
    };
    let config = Config::resolve(
        args.config.as_deref(),
        |k| std::env::var(k).ok(),
        &overrides,
    )?;
    let runtime = super::runtime(None, config.wake_coalesce)?;
    runtime.block_on(async {
        let server = Server::bind(config).await?;
        server
            .run(shutdown_signal(), Duration::from_secs(args.drain_seconds))
            .await
    })
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONSENTLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr, as documented, leaving stdout to whatever the operator pipes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
