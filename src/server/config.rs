//! Server configuration: embedded defaults, then a TOML file, then environment variables,
//! then command-line flags (each overriding the one before).
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! data = "./data"
//! prompts = "./prompts"
//! public_url = "https://consent.example.com"   # else taken from Host / X-Forwarded-Proto
//! twilio_auth_token = "..."                     # or TWILIO_AUTH_TOKEN
//! max_calls = 2000
//! max_connections = 1000         # HTTP connections not yet upgraded; more get 503
//! header_timeout_seconds = 10    # slowloris: a request's headers (and a webhook's body)
//!
//! [default_line]
//! forward_to = "+14155550100"
//! language = "en"
//!
//! [lines."+18005550199"]
//! forward_to = "+14155550123"
//! language = "es"
//!
//! [lines."+18005550100"]
//! forward_to = ""          # no bridge: goodbye and hang up
//!
//! [lines."+18005550111"]
//! flow = "privacy"         # the CCPA request line; 0 reaches forward_to, never recorded
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How one called number is handled.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// Which IVR runs on the line: "consent" (default) or "privacy".
    pub flow: Option<String>,
    /// Where to bridge the caller after the IVR. Unset: the default line's; empty (`""`):
    /// no bridge, a goodbye and hang-up.
    pub forward_to: Option<String>,
    /// Prompt language, e.g. "en" or "es".
    pub language: Option<String>,
    /// Caller ID to present on the bridged leg.
    pub caller_id: Option<String>,
}

/// The settings file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub prompts: Option<PathBuf>,
    pub public_url: Option<String>,
    pub twilio_auth_token: Option<String>,
    pub max_calls: Option<usize>,
    pub max_connections: Option<usize>,
    pub header_timeout_seconds: Option<u64>,
    pub wake_coalesce_us: Option<u64>,
    pub default_line: Option<LineConfig>,
    #[serde(default)]
    pub lines: BTreeMap<String, LineConfig>,
}

/// Resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub prompts: PathBuf,
    /// Base URL Twilio reaches us at, without a trailing slash.
    pub public_url: Option<String>,
    pub twilio_auth_token: Option<String>,
    /// Live media streams accepted at once; more are refused with 503.
    pub max_calls: usize,
    /// HTTP connections open at once that are not (yet) media streams: webhooks, upgrade
    /// requests, idle keep-alives. More are answered 503 and closed, so a flood of idle
    /// connections cannot use up the process's file descriptors.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (and a webhook its body);
    /// idle keep-alive connections are closed after it too. Slowloris protection.
    pub header_timeout: Duration,
    /// How long a runtime worker with nothing to do waits before sleeping on the sockets.
    /// Each wake-up then handles about this long's worth of every call's frames instead of
    /// one message: on a loaded 2-vCPU VM, 1 ms cut the server's CPU per call by about a
    /// fifth (fewer context switches and wake-ups), for at most 1 ms of added latency.
    pub wake_coalesce: Duration,
    pub default_line: LineConfig,
    pub lines: BTreeMap<String, LineConfig>,
}

/// Values given on the command line (they win over everything else).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub prompts: Option<PathBuf>,
    pub forward_to: Option<String>,
    pub public_url: Option<String>,
    pub max_calls: Option<usize>,
    pub max_connections: Option<usize>,
    pub header_timeout_seconds: Option<u64>,
    pub wake_coalesce_us: Option<u64>,
    /// Numbers that run the privacy flow (added to, or overriding, the file's lines).
    pub privacy_lines: Vec<String>,
}

impl Config {
    /// Defaults that run with no configuration at all.
    pub fn defaults() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("data"),
            prompts: PathBuf::from("prompts"),
            public_url: None,
            twilio_auth_token: None,
            max_calls: 2000,
            max_connections: 1000,
            header_timeout: Duration::from_secs(10),
            wake_coalesce: Duration::from_micros(1000),
            default_line: LineConfig {
                flow: Some("consent".into()),
                forward_to: None,
                language: Some("en".into()),
                caller_id: None,
            },
            lines: BTreeMap::new(),
        }
    }

    /// Build from an optional file, the environment (`env` is a lookup so tests can pass
    /// their own) and command-line overrides.
    pub fn resolve(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        cli: &Overrides,
    ) -> anyhow::Result<Config> {
        let mut config = Config::defaults();
        let mut listen: Option<String> = None;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let f: FileConfig =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            listen = f.listen;
            if let Some(d) = f.data {
                config.data = d;
            }
            if let Some(p) = f.prompts {
                config.prompts = p;
            }
            config.public_url = f.public_url;
            config.twilio_auth_token = f.twilio_auth_token;
            if let Some(m) = f.max_calls {
                config.max_calls = m;
            }
            if let Some(m) = f.max_connections {
                config.max_connections = m;
            }
            if let Some(s) = f.header_timeout_seconds {
                config.header_timeout = Duration::from_secs(s);
            }
            if let Some(us) = f.wake_coalesce_us {
                config.wake_coalesce = Duration::from_micros(us);
            }
            if let Some(line) = f.default_line {
                config.default_line = merge_line(&config.default_line, &line);
            }
            config.lines = f.lines;
        }
        // Environment.
        if let Some(v) = env("CONSENTLINE_LISTEN") {
            listen = Some(v);
        }
        if let Some(v) = env("CONSENTLINE_DATA") {
            config.data = v.into();
        }
        if let Some(v) = env("CONSENTLINE_PROMPTS") {
            config.prompts = v.into();
        }
        if let Some(v) = env("CONSENTLINE_PUBLIC_URL") {
            config.public_url = Some(v);
        }
        if let Some(v) = env("TWILIO_AUTH_TOKEN").filter(|v| !v.is_empty()) {
            config.twilio_auth_token = Some(v);
        }
        if let Some(v) = env("CONSENTLINE_FORWARD_TO") {
            config.default_line.forward_to = Some(v);
        }
        let number = |name: &str| -> anyhow::Result<Option<u64>> {
            env(name)
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number"))
                })
                .transpose()
        };
        if let Some(v) = number("CONSENTLINE_MAX_CALLS")? {
            config.max_calls = v as usize;
        }
        if let Some(v) = number("CONSENTLINE_MAX_CONNECTIONS")? {
            config.max_connections = v as usize;
        }
        if let Some(v) = number("CONSENTLINE_HEADER_TIMEOUT_SECONDS")? {
            config.header_timeout = Duration::from_secs(v);
        }
        if let Some(v) = number("CONSENTLINE_WAKE_COALESCE_US")? {
            config.wake_coalesce = Duration::from_micros(v);
        }
        // Command line.
        if let Some(v) = &cli.listen {
            listen = Some(v.clone());
        }
        if let Some(v) = &cli.data {
            config.data = v.clone();
        }
        if let Some(v) = &cli.prompts {
            config.prompts = v.clone();
        }
        if let Some(v) = &cli.forward_to {
            config.default_line.forward_to = Some(v.clone());
        }
        if let Some(v) = &cli.public_url {
            config.public_url = Some(v.clone());
        }
        if let Some(v) = cli.max_calls {
            config.max_calls = v;
        }
        if let Some(v) = cli.max_connections {
            config.max_connections = v;
        }
        if let Some(v) = cli.header_timeout_seconds {
            config.header_timeout = Duration::from_secs(v);
        }
        if let Some(v) = cli.wake_coalesce_us {
            config.wake_coalesce = Duration::from_micros(v);
        }
        if config.wake_coalesce > Duration::from_millis(10) {
            anyhow::bail!(
                "wake_coalesce_us must be at most 10000 (10 ms): it delays every message"
            );
        }
        if config.max_calls == 0 || config.max_connections == 0 {
            anyhow::bail!("max_calls and max_connections must be at least 1");
        }
        if config.header_timeout.is_zero() {
            anyhow::bail!("header_timeout_seconds must be at least 1");
        }
        for number in &cli.privacy_lines {
            config.lines.entry(number.clone()).or_default().flow = Some("privacy".into());
        }
        if let Some(l) = listen {
            config.listen = l
                .parse()
                .map_err(|_| anyhow::anyhow!("listen address {l:?} is not HOST:PORT"))?;
        }
        for flow in config.flows() {
            if flow != "consent" && flow != "privacy" {
                anyhow::bail!("unknown flow {flow:?} (expected \"consent\" or \"privacy\")");
            }
        }
        if let Some(url) = &mut config.public_url {
            while url.ends_with('/') {
                url.pop();
            }
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                anyhow::bail!("public_url {url:?} must start with https:// or http://");
            }
        }
        Ok(config)
    }

    /// The settings for a called number: its own entry over the default line. An empty
    /// `forward_to` comes back as `None` (no bridge).
    pub fn line(&self, called: &str) -> LineConfig {
        let mut line = match self.lines.get(called) {
            Some(line) => merge_line(&self.default_line, line),
            None => self.default_line.clone(),
        };
        line.forward_to = line.forward_to.filter(|f| !f.trim().is_empty());
        line
    }

    /// Flows any line runs.
    pub fn flows(&self) -> Vec<String> {
        let mut flows: Vec<String> = std::iter::once(&self.default_line)
            .chain(self.lines.values())
            .map(|l| l.flow.clone().unwrap_or_else(|| "consent".into()))
            .collect();
        flows.sort();
        flows.dedup();
        flows
    }

    /// Languages any line uses (the prompt catalog must cover them all).
    pub fn languages(&self) -> Vec<String> {
        let mut langs: Vec<String> = std::iter::once(&self.default_line)
            .chain(self.lines.values())
            .filter_map(|l| l.language.clone())
            .collect();
        langs.sort();
        langs.dedup();
        langs
    }
}

fn merge_line(base: &LineConfig, over: &LineConfig) -> LineConfig {
    LineConfig {
        flow: over.flow.clone().or_else(|| base.flow.clone()),
        forward_to: over.forward_to.clone().or_else(|| base.forward_to.clone()),
        language: over.language.clone().or_else(|| base.language.clone()),
        caller_id: over.caller_id.clone().or_else(|| base.caller_id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\ndata = \"/var/lib/c\"\n[default_line]\nforward_to = \"+1000\"\n[lines.\"+1800\"]\nlanguage = \"es\"\n",
        )
        .unwrap();
        let env = |k: &str| (k == "CONSENTLINE_DATA").then(|| "/env/data".to_string());
        let cli = Overrides {
            listen: Some("127.0.0.1:7000".into()),
            ..Overrides::default()
        };
        let c = Config::resolve(Some(&file), env, &cli).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.data, PathBuf::from("/env/data"));
        let line = c.line("+1800");
        assert_eq!(line.language.as_deref(), Some("es"));
        assert_eq!(line.forward_to.as_deref(), Some("+1000"));
        assert_eq!(c.line("+1999").language.as_deref(), Some("en"));
        assert_eq!(c.languages(), ["en", "es"]);
    }

    #[test]
    fn defaults_need_nothing() {
        let c = Config::resolve(None, |_| None, &Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data, PathBuf::from("data"));
        assert!(c.twilio_auth_token.is_none());
    }

    #[test]
    fn connection_limits_layer_like_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "max_calls = 10\nmax_connections = 20\nheader_timeout_seconds = 3\n",
        )
        .unwrap();
        let c = Config::resolve(Some(&file), |_| None, &Overrides::default()).unwrap();
        assert_eq!(
            (c.max_calls, c.max_connections, c.header_timeout),
            (10, 20, Duration::from_secs(3))
        );
        let env = |k: &str| match k {
            "CONSENTLINE_MAX_CONNECTIONS" => Some("30".to_string()),
            "CONSENTLINE_HEADER_TIMEOUT_SECONDS" => Some("4".to_string()),
            _ => None,
        };
        let cli = Overrides {
            max_calls: Some(5),
            header_timeout_seconds: Some(2),
            ..Overrides::default()
        };
        let c = Config::resolve(Some(&file), env, &cli).unwrap();
        assert_eq!(
            (c.max_calls, c.max_connections, c.header_timeout),
            (5, 30, Duration::from_secs(2))
        );
        let d = Config::defaults();
        assert_eq!(
            (d.max_connections, d.header_timeout),
            (1000, Duration::from_secs(10))
        );
        let zero = Overrides {
            max_connections: Some(0),
            ..Overrides::default()
        };
        assert!(Config::resolve(None, |_| None, &zero).is_err());
        let bad = |k: &str| (k == "CONSENTLINE_MAX_CONNECTIONS").then(|| "many".to_string());
        let err = Config::resolve(None, bad, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("CONSENTLINE_MAX_CONNECTIONS"), "{err}");
    }

    #[test]
    fn wake_coalescing_layers_and_is_bounded() {
        assert_eq!(
            Config::defaults().wake_coalesce,
            Duration::from_micros(1000)
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "wake_coalesce_us = 250\n").unwrap();
        let c = Config::resolve(Some(&file), |_| None, &Overrides::default()).unwrap();
        assert_eq!(c.wake_coalesce, Duration::from_micros(250));
        let env = |k: &str| (k == "CONSENTLINE_WAKE_COALESCE_US").then(|| "0".to_string());
        let c = Config::resolve(Some(&file), env, &Overrides::default()).unwrap();
        assert!(c.wake_coalesce.is_zero());
        let too_long = Overrides {
            wake_coalesce_us: Some(50_000),
            ..Overrides::default()
        };
        let err = Config::resolve(None, |_| None, &too_long)
            .unwrap_err()
            .to_string();
        assert!(err.contains("wake_coalesce_us"), "{err}");
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let cli = Overrides {
            listen: Some("nope".into()),
            ..Overrides::default()
        };
        let err = Config::resolve(None, |_| None, &cli)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
    }
}
