//! The rule engine's view of the store ([`crate::rules::History`]): the index for
//! windows and counts, the ingest transaction for what was met and for incidents.

use chrono::{DateTime, Utc};

use super::index::MentionIndex;
use super::state::Batch;
use super::{Error, Result};
use crate::matching::SearchRequest;
use crate::mention::Mention;
use crate::model::{AlertMention, Incident, IncidentSummary, Silence};

/// Rules evaluated inside `batch`, over `index`: what they record is committed with the
/// batch, or not at all.
pub struct RuleHistory<'a, 'b> {
    pub batch: &'a Batch<'b>,
    pub index: &'a MentionIndex,
}

impl crate::rules::History for RuleHistory<'_, '_> {
    type Error = Error;

    fn search(&self, req: &SearchRequest) -> Result<Vec<Mention>> {
        self.index.search(req)
    }
    fn count(&self, req: &SearchRequest) -> Result<u64> {
        Ok(self.index.count(req)? as u64)
    }
    fn count_stories(&self, req: &SearchRequest) -> Result<u64> {
        Ok(self.index.count_stories(req)? as u64)
    }
    fn known_author(&self, brand: &str, author: &str) -> Result<bool> {
        self.batch.known_author(brand, author)
    }
    fn known_site(&self, brand: &str, site: &str) -> Result<bool> {
        self.batch.known_site(brand, site)
    }
    fn open_incident(&self, rule: &str, brand: &str, group: &str) -> Result<Option<Incident>> {
        self.batch.open_incident(rule, brand, group)
    }
    fn open_incidents(&self) -> Result<Vec<Incident>> {
        self.batch.open_incidents()
    }
    fn create_incident(
        &self,
        rule: &str,
        brand: &str,
        group: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        self.batch.create_incident(rule, brand, group, now)
    }
    fn touch_incident(&self, id: i64, now: DateTime<Utc>, alerted: bool) -> Result<()> {
        self.batch.touch_incident(id, now, alerted)
    }
    fn incident_holds(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.batch.incident_holds(id, now)
    }
    fn incident_alerted(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.batch.incident_alerted(id, now)
    }
    fn resolve_incident(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.batch.resolve_incident(id, now)
    }
    fn silences(&self) -> Result<Vec<Silence>> {
        self.batch.silences()
    }
    fn hold_mentions(&self, id: i64, m: &[AlertMention], now: DateTime<Utc>) -> Result<()> {
        self.batch.hold_mentions(id, m, now)
    }
    fn record_sent(&self, id: i64, m: &[AlertMention], now: DateTime<Utc>) -> Result<()> {
        self.batch.record_sent(id, m, now)
    }
    fn take_held(&self, id: i64) -> Result<Vec<AlertMention>> {
        self.batch.take_held(id)
    }
    fn held_count(&self, id: i64) -> Result<u64> {
        self.batch.held_count(id)
    }
    fn incident_summary(&self, id: i64, messages: i64) -> Result<Option<IncidentSummary>> {
        self.batch.incident_summary(id, messages)
    }
    fn watched_since(&self, brand: &str) -> Result<Option<DateTime<Utc>>> {
        self.batch.watched_since(brand)
    }
}
