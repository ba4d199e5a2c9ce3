//! Subcommands of the `consentline` binary.

pub mod audit;
pub mod call;
pub mod dtmf;
pub mod prompts;
pub mod serve;
