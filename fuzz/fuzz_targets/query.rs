//! A query (first line) against a mention (next lines): parse, print back, evaluator = percolator = naive.
//! The entry point is `veille::fuzzing::query`, shared with tests/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veille::fuzzing::query(data));
