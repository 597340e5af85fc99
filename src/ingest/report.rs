//! What the ingest stage counts as it goes: for the demo's report, `veille run` logs
//! and tests.

use std::collections::BTreeMap;

use crate::model::Alert;

/// Running totals, for the demo's report, `veille run` logs and tests.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub polls: u64,
    pub not_modified: u64,
    pub failures: u64,
    pub items: u64,
    pub new_mentions: u64,
    pub indexed: u64,
    pub per_brand: BTreeMap<String, u64>,
    /// Items of first polls older than the source's look-back: skipped.
    pub backfill_skipped: u64,
    /// Matched mentions of first polls: indexed, not alerted.
    pub backfill_silent: u64,
    /// Matched mentions older than the `max_age` of every rule of their brands:
    /// indexed and searchable, too old to alert.
    pub too_old_to_alert: u64,
    pub per_source: BTreeMap<String, SourceReport>,
    pub alerts: Vec<Alert>,
    /// `run --once`: deliveries still pending at exit, and those that failed for good
    /// during the run (`veille run --once` exits 4 when either is not zero).
    pub pending_at_exit: u64,
    pub failed_at_exit: u64,
    /// The ingest stage had not finished when the process stopped (a signal during
    /// `run --once`, or the shutdown limit): what it had not committed is fetched again.
    pub ingest_unfinished: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SourceReport {
    pub polls: u64,
    pub items: u64,
    pub new: u64,
    pub not_modified: u64,
    /// Pages skipped because they failed (the polls went on without them).
    pub failed_pages: u64,
    pub last_error: Option<String>,
    /// Items dropped because processing them failed, and the last such error.
    pub items_failed: u64,
    pub last_item_error: Option<String>,
}
