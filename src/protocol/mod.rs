//! Provider wire formats: parse and serialize only, no sockets.

pub mod twilio;
