//! `X-Twilio-Signature` (<https://www.twilio.com/docs/usage/security>).
//!
//! The signature is `base64(HMAC-SHA1(auth_token, url + name₁ + value₁ + name₂ + value₂ …))`
//! where `url` is the full URL Twilio requested (scheme, host, path and query string, exactly
//! as configured) and the POST parameters are sorted by name (then by value, for repeated
//! names), concatenated without separators. A GET has no parameters.
//!
//! **WebSocket upgrade of a Media Stream:** Twilio signs the upgrade request (a GET) over
//! the `wss://` URL written in `<Stream url="…">` and no parameters. Recompute it with that
//! `wss://` URL (not `https://`, even behind a TLS terminator) and `&[]`; a reverse proxy that
//! rewrites the scheme, host or path breaks validation unless the public URL is restored.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

fn mac(auth_token: &str, url: &str, sorted: &[&(String, String)]) -> Option<[u8; 20]> {
    // HMAC takes keys of any length, so this never fails.
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).ok()?;
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    Some(mac.finalize().into_bytes().into())
}

fn sorted(params: &[(String, String)]) -> Vec<&(String, String)> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    sorted
}

/// The `X-Twilio-Signature` Twilio sends for a request to `url` carrying POST `params`
/// (pass `&[]` for a GET, including the Media Stream WebSocket upgrade on its `wss://` URL).
/// Names are sorted byte-wise.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    mac(auth_token, url, &sorted(params))
        .map(|m| STANDARD.encode(m))
        .unwrap_or_default()
}

/// Whether `header_value` is the right `X-Twilio-Signature` for this request; the comparison
/// takes the same time wherever the strings differ.
///
/// Like Twilio's own helper libraries, it also accepts the signature computed over `url` with
/// the scheme's default port (`:443` for `https`/`wss`, `:80` for `http`/`ws`) added when
/// `url` has none, or removed when it has it: Twilio may sign either form.
pub fn validate_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header_value: &str,
) -> bool {
    let sorted = sorted(params);
    let matches = |url: &str| -> bool {
        mac(auth_token, url, &sorted).is_some_and(|m| {
            let expected = STANDARD.encode(m);
            bool::from(expected.as_bytes().ct_eq(header_value.trim().as_bytes()))
        })
    };
    // Evaluate both so the time taken does not depend on which form matched.
    let direct = matches(url);
    let alternate = other_port_form(url).is_some_and(|u| matches(&u));
    direct | alternate
}

/// `url` with its default port toggled: added when absent, removed when present. `None` for
/// other schemes, other ports, or URLs without an authority.
fn other_port_form(url: &str) -> Option<String> {
    let scheme_end = url.find("://")?;
    let default_port = match url[..scheme_end].to_ascii_lowercase().as_str() {
        "https" | "wss" => "443",
        "http" | "ws" => "80",
        _ => return None,
    };
    let authority_start = scheme_end + 3;
    let authority_len = url[authority_start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - authority_start);
    let authority_end = authority_start + authority_len;
    let authority = &url[authority_start..authority_end];
    if authority.is_empty() {
        return None;
    }
    // A port is a `:digits` suffix after the host (and after an IPv6 literal's `]`).
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host = &authority[host_start..];
    let after_bracket = host.rfind(']').map_or(0, |i| i + 1);
    match host[after_bracket..].rfind(':') {
        Some(colon) => {
            let port = &host[after_bracket + colon + 1..];
            if port != default_port {
                return None;
            }
            let cut_from = authority_start + host_start + after_bracket + colon;
            Some(format!("{}{}", &url[..cut_from], &url[authority_end..]))
        }
        None => Some(format!(
            "{}:{}{}",
            &url[..authority_end],
            default_port,
            &url[authority_end..]
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_port_forms() {
        let t = |u: &str| other_port_form(u);
        assert_eq!(
            t("https://a.example/x?y=1").as_deref(),
            Some("https://a.example:443/x?y=1")
        );
        assert_eq!(
            t("https://a.example:443/x").as_deref(),
            Some("https://a.example/x")
        );
        assert_eq!(t("wss://a.example").as_deref(), Some("wss://a.example:443"));
        assert_eq!(
            t("ws://a.example:80/m").as_deref(),
            Some("ws://a.example/m")
        );
        assert_eq!(t("https://a.example:8443/x"), None);
        assert_eq!(t("https://[::1]/x").as_deref(), Some("https://[::1]:443/x"));
        assert_eq!(t("https://u:p@h:443/").as_deref(), Some("https://u:p@h/"));
        assert_eq!(t("ftp://h/"), None);
        assert_eq!(t("no scheme"), None);
        assert_eq!(t("https:///path"), None);
    }
}
