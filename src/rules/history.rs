//! What rule evaluation reads and records, asked for by name: counts and mentions of a
//! window of the index, the authors and sites a brand met before, incidents and
//! silences. The store implements it over the ingest stage's transaction and the index
//! (`store::RuleHistory`); rules never name the store, and a test can hand them anything.

use chrono::{DateTime, Utc};

use crate::matching::SearchRequest;
use crate::mention::Mention;
use crate::model::{Incident, Silence};

pub trait History {
    /// What reading or recording can fail with; evaluation passes it on untouched, so
    /// the caller sees the kind (a busy database, a damaged index…).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Mentions matching `req` (at most `req.limit`), newest first.
    fn search(&self, req: &SearchRequest) -> Result<Vec<Mention>, Self::Error>;
    fn count(&self, req: &SearchRequest) -> Result<u64, Self::Error>;
    /// Distinct stories among them (syndicated copies count once).
    fn count_stories(&self, req: &SearchRequest) -> Result<u64, Self::Error>;

    /// Whether `brand` met this author (or site) before the mentions being evaluated.
    fn known_author(&self, brand: &str, author: &str) -> Result<bool, Self::Error>;
    fn known_site(&self, brand: &str, site: &str) -> Result<bool, Self::Error>;

    fn open_incident(
        &self,
        rule: &str,
        brand: &str,
        group: &str,
    ) -> Result<Option<Incident>, Self::Error>;
    fn open_incidents(&self) -> Result<Vec<Incident>, Self::Error>;
    /// Opens an incident; returns its id.
    fn create_incident(
        &self,
        rule: &str,
        brand: &str,
        group: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, Self::Error>;
    /// The condition held at `now`; `alerted` when an alert goes out for it.
    fn touch_incident(&self, id: i64, now: DateTime<Utc>, alerted: bool)
    -> Result<(), Self::Error>;
    /// The condition still holds at `now` (time passed, nothing new to say).
    fn incident_holds(&self, id: i64, now: DateTime<Utc>) -> Result<(), Self::Error>;
    fn resolve_incident(&self, id: i64, now: DateTime<Utc>) -> Result<(), Self::Error>;

    fn silences(&self) -> Result<Vec<Silence>, Self::Error>;
}
