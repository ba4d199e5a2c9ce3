//! Subcommands of the `consentline` binary.

pub mod audit;
pub mod call;
pub mod dnc;
pub mod dtmf;
pub mod load;
pub mod prompts;
pub mod requests;
pub mod serve;

/// A multi-thread tokio runtime (`workers` threads, default one per core) whose idle workers
/// wait `wake_coalesce` before sleeping on the sockets: interrupt moderation for the reactor,
/// so one wake-up finds many calls' frames ready instead of one (zero: off).
pub fn runtime(
    workers: Option<usize>,
    wake_coalesce: std::time::Duration,
) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    if !wake_coalesce.is_zero() {
        builder.on_thread_park(move || std::thread::sleep(wake_coalesce));
    }
    builder.build()
}

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
