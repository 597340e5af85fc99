//! HTML → text (`veille::text::html_to_text`, `html_to_text_without`).
//! The entry point is `veille::fuzzing::html_to_text`, shared with tests/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veille::fuzzing::html_to_text(data));
