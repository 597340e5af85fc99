//! What rule evaluation reads and records, asked for by name: counts and mentions of a
//! window of the index, the authors and sites a brand met before, incidents and
//! silences. The store implements it over the ingest stage's transaction and the index
//! (`store::RuleHistory`); rules never name the store, and a test can hand them anything.

use chrono::{DateTime, Utc};

use crate::matching::SearchRequest;
use crate::mention::Mention;
use crate::model::{AlertMention, Incident, IncidentSummary, Silence};

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
    /// A message went out for incident `id` at `now` without its condition holding anew
    /// (held mentions sent once `realert` passed).
    fn incident_alerted(&self, id: i64, now: DateTime<Utc>) -> Result<(), Self::Error>;
    fn resolve_incident(&self, id: i64, now: DateTime<Utc>) -> Result<(), Self::Error>;

    fn silences(&self) -> Result<Vec<Silence>, Self::Error>;

    /// Mentions of incident `id` that wait for its next message (held back by `realert`
    /// or an acknowledgement): kept until a message carries them, across restarts.
    fn hold_mentions(
        &self,
        id: i64,
        mentions: &[AlertMention],
        now: DateTime<Utc>,
    ) -> Result<(), Self::Error>;
    /// Mentions a message of incident `id` carries now.
    fn record_sent(
        &self,
        id: i64,
        mentions: &[AlertMention],
        now: DateTime<Utc>,
    ) -> Result<(), Self::Error>;
    /// Takes the mentions waiting on incident `id`, oldest first.
    fn take_held(&self, id: i64) -> Result<Vec<AlertMention>, Self::Error>;
    fn held_count(&self, id: i64) -> Result<u64, Self::Error>;
    /// Incident `id` as a whole, for its resolution; `messages` sent so far.
    fn incident_summary(
        &self,
        id: i64,
        messages: i64,
    ) -> Result<Option<IncidentSummary>, Self::Error>;
    /// Since when `brand` has been watched (its first recorded poll), if ever.
    fn watched_since(&self, brand: &str) -> Result<Option<DateTime<Utc>>, Self::Error>;
}
