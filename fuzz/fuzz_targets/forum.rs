//! A forum page read by each preset (phpBB 3, XenForo 2, vBulletin 4 and 5).
//! The entry point is `veille::fuzzing::forum`, shared with tests/fuzz_regressions.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| veille::fuzzing::forum(data));
