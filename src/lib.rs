//! consentline: the phone front door for call-recording consent and CCPA privacy requests.
//!
//! # Architecture
//! The crate is split so that everything that decides is pure and everything that waits is
//! thin:
//!
//! - [`media`]: DSP. G.711 codecs, dBm0 levels, tone synthesis and the Q.24 DTMF receiver.
//!   Pure and synchronous, no allocation per sample, no clock, no I/O.
//! - [`prompt`]: the voice prompt catalog. WAV files are read, downmixed, resampled to 8 kHz,
//!   levelled and encoded to μ-law once at start-up, cut into 20 ms frames shared behind `Arc`,
//!   and fingerprinted with the SHA-256 of exactly the audio a caller hears.
//! - [`audio`]: reading WAV files of any common encoding for the command-line tools.
//! - [`call`]: the consent IVR as a sans-IO state machine: inputs and time in, actions out.
//! - [`protocol`]: provider wire formats (Twilio first): parse and serialize, no sockets.
//! - [`consent`]: consent-log records and their hash chain (pure).
//! - [`store`]: the durable log (SQLite) behind one group-commit writer task.
//! - [`caller`]: a simulated Twilio caller (the `call` command, end-to-end tests, load).
//! - [`server`]: the tokio edge: webhooks, one task per media stream, graceful shutdown.
//!
//! # Panic policy
//! Bad external input (audio, files, wire messages) is an error value, never a panic. A panic
//! is a bug.

pub mod audio;
pub mod call;
pub mod caller;
pub mod consent;
#[doc(hidden)]
pub mod fuzz;
pub mod load;
pub mod media;
pub mod privacy;
pub mod prompt;
pub mod protocol;
pub mod server;
pub mod store;
