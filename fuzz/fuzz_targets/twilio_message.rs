#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = consentline::fuzz::twilio_message(data);
});
