//! An API answer body mapped by every JSON source kind.
//! The entry point is `veille::fuzzing::api_json`, shared with tests/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veille::fuzzing::api_json(data));
