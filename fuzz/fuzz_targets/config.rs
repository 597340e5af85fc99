//! A config file as `veille check` loads it, and the same text as a rule file.
//! The entry point is `veille::fuzzing::config`, shared with tests/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veille::fuzzing::config(data));
