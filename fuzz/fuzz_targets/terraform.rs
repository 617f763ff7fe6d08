#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pipesec_cli::fuzz_targets::terraform(data));
