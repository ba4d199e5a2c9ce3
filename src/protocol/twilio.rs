//! Twilio Media Streams messages, request signatures and TwiML. Being written: see issue 4.
