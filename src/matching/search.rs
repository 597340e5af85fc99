//! A search over indexed mentions, as plain data: the index runs it (store), the rule
//! engine, the digests, the API and the CLI ask for it.

use chrono::{DateTime, Utc};

use super::Query;

/// A search: a query plus filters.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: Option<Query>,
    /// Sentiment label: "negative", "neutral", "positive".
    pub label: Option<String>,
    pub lang: Option<String>,
    pub brand: Option<String>,
    pub source: Option<String>,
    /// Any of these source kinds (rss, reddit…).
    pub source_kinds: Vec<String>,
    /// Any of these languages.
    pub langs: Vec<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub limit: usize,
    pub offset: usize,
}
