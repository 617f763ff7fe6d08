#![no_main]

// The template reader's YAML half, compiled from the CLI's own source file.
#[path = "../../../cli/src/input/template/yaml.rs"]
mod yaml;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(reason) = yaml::parse(text) {
        assert!(!reason.trim().is_empty(), "an empty error");
    }
});
