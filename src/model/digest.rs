//! What a digest holds: the figures of a period for each brand, computed by the digest
//! stage from the index and the state, put into words by each notifier.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::mention::Label;

#[derive(Debug, Clone, Serialize)]
pub struct DigestData {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub brands: Vec<BrandDigest>,
    /// The zone its times are read in (the digest's, else `[daemon] timezone`); the
    /// JSON stays UTC.
    #[serde(skip)]
    pub tz: chrono_tz::Tz,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopMention {
    pub title: String,
    pub url: String,
    pub site: String,
    pub author: Option<String>,
    pub reach: Option<u64>,
    pub sentiment: Option<Label>,
    pub published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub brand: String,
    pub count: u64,
    /// 0–1
    pub share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentLine {
    pub id: i64,
    pub rule: String,
    pub opened_at: DateTime<Utc>,
    pub alerts: i64,
    /// What its latest alert said (the rule engine's one-line summary, in English); the
    /// rule id when no alert of it is kept.
    pub title: String,
    pub severity: crate::model::Severity,
    /// Who acknowledged it, when someone did.
    pub acked_by: Option<String>,
    /// That latest alert, which messages put into their own language.
    #[serde(skip)]
    pub latest: Option<Box<crate::model::Alert>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BrandDigest {
    pub id: String,
    pub name: String,
    pub count: u64,
    /// Distinct stories among them (syndicated copies of one article count once).
    pub stories: u64,
    pub previous: u64,
    /// Negative mentions in the previous period (the change of the negative share).
    #[serde(default)]
    pub previous_negative: u64,
    /// Change against the previous period, in percent (None when it had none).
    pub change: Option<f64>,
    pub negative: u64,
    pub neutral: u64,
    pub positive: u64,
    /// The brand and its competitors, by mentions in the period.
    pub share_of_voice: Vec<Share>,
    pub top: Vec<TopMention>,
    pub top_sites: Vec<(String, u64)>,
    pub top_authors: Vec<(String, u64)>,
    pub new_sites: Vec<String>,
    pub new_authors: Vec<String>,
    pub incidents: Vec<IncidentLine>,
    /// Mentions per bucket over the period, oldest first.
    pub buckets: Vec<u64>,
    /// "1h" or "1d"
    pub bucket: String,
}
