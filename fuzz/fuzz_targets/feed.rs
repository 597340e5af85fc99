//! A feed body through `sources::rss::parse_feed` (three Content-Types) and the Google News mapping.
//! The entry point is `veille::fuzzing::feed`, shared with tests/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veille::fuzzing::feed(data));
