//! Subcommands of the `consentline` binary.

pub mod audit;
pub mod call;
pub mod dnc;
pub mod dtmf;
pub mod prompts;
pub mod requests;
pub mod serve;
