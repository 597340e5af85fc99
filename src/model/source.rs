//! What a source's poll produces and what is kept between polls: plain data the
//! scheduler, the ingest stage and the store pass along.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::mention::Mention;

/// Validators from the last 200, sent back on the next poll (conditional GET).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// What is saved between polls: HTTP validators and a kind-specific cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    #[serde(default)]
    pub validators: Validators,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<serde_json::Value>,
    /// What the source spent of its API's daily quota (metered APIs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaSpend>,
}

/// Units of a metered API's quota spent on one quota day (the API's own day: YouTube's
/// starts at midnight Pacific time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaSpend {
    pub day: chrono::NaiveDate,
    pub units: u64,
}

impl QuotaSpend {
    /// `previous` plus `units` spent on `day` (a new day starts from zero).
    pub fn add(previous: Option<QuotaSpend>, day: chrono::NaiveDate, units: u64) -> QuotaSpend {
        match previous {
            Some(p) if p.day == day => QuotaSpend {
                day,
                units: p.units.saturating_add(units),
            },
            _ => QuotaSpend { day, units },
        }
    }

    /// Units spent on `day` (none when the record is of another day).
    pub fn on(spend: Option<QuotaSpend>, day: chrono::NaiveDate) -> u64 {
        spend.filter(|s| s.day == day).map_or(0, |s| s.units)
    }
}

/// The result of one poll.
#[derive(Debug, Default)]
pub struct Poll {
    pub mentions: Vec<Mention>,
    /// State to save once `mentions` are committed.
    pub state: SourceState,
    pub not_modified: bool,
    pub bytes: usize,
    /// Wait at least this long before the next poll (an API said its quota is spent).
    pub retry_after: Option<std::time::Duration>,
    /// WebSub hub advertised by the feed: (hub URL, topic = the feed's self URL).
    pub hub: Option<(url::Url, url::Url)>,
    /// Things a person setting the source up should know (a selector that matched
    /// nothing, for instance); shown by `veille sources test`.
    pub warnings: Vec<String>,
    /// Pages of a multi-page source that failed and were skipped (each logged with its
    /// URL); the poll went on without them.
    pub failed_pages: usize,
    /// Items the source could not map (a bug met on them); the others are in `mentions`.
    pub failed: Vec<ItemFailure>,
    /// Units of a metered API's daily quota this poll spent (YouTube units, Stack
    /// Exchange requests).
    pub quota_units: u64,
    /// The source's first-poll look-back (`backfill`): on its first poll, items published
    /// longer ago are skipped (every kind alike); on any poll, items all older than it
    /// are noted for `veille sources`. None: no look-back (tests, `sources test`).
    pub look_back: Option<chrono::Duration>,
    /// The source asks for alerts on its first poll (`backfill_alerts = true`); by
    /// default a first poll is indexed, not alerted.
    pub backfill_alerts: bool,
    /// Items an API source was served on its first poll but left out as older than
    /// the look-back: with none newer, `veille sources` says why nothing came.
    pub too_old: usize,
}

/// An item that could not be processed: it alone is dropped (and counted, logged and
/// shown by `veille sources`), never its source or its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    /// Its URL (or, without one, its guid) as far as it is known.
    pub url: String,
    /// Where it failed: "parse" (the source's mapping); "match", "enrich", "index" or
    /// "rules" in the ingest stage.
    pub stage: &'static str,
    pub error: String,
}

/// The message of a caught panic (`panic!("…")` carries a `&str` or a `String`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Saved state of every source, as of the last committed batch. The scheduler polls with
/// it; the ingest stage updates it only after a commit, so a failed batch is refetched.
pub type SharedStates = Arc<Mutex<HashMap<String, SourceState>>>;
