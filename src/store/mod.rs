//! The durable consent log (SQLite) and its group-commit writer task. Being written: see issue 4.
