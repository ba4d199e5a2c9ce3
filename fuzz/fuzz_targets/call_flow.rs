#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = consentline::fuzz::call_flow(data);
});
