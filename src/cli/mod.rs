//! Subcommands of the `consentline` binary.

pub mod dtmf;
pub mod prompts;
