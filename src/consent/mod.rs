//! Consent log records and their hash chain (pure; no I/O). Being written: see issue 4.
