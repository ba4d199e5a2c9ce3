//! Subcommands of the `consentline` binary.

pub mod audit;
pub mod call;
pub mod dnc;
pub mod dtmf;
pub mod load;
pub mod prompts;
pub mod requests;
pub mod serve;

/// One CSV cell (RFC 4180): quoted when it holds a comma, a quote, a line break or leading or
/// trailing space, with quotes doubled. An absent value is an empty cell.
pub fn csv_cell(v: &str) -> std::borrow::Cow<'_, str> {
    let needs = v.contains([',', '"', '\n', '\r'])
        || v.starts_with(char::is_whitespace)
        || v.ends_with(char::is_whitespace);
    if needs {
        format!("\"{}\"", v.replace('"', "\"\"")).into()
    } else {
        v.into()
    }
}
