//! What an incident's message accounts for: the mentions that arrived since its previous
//! message (a batch, alertmanager style), and, on resolution, the incident as a whole.
//! A `match` or `new_source` incident within `realert` sends nothing; its new mentions
//! wait here (persisted in the state) until the next message carries them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AlertMention;

/// Mentions shown in full in a message; the others are counted, their ids listed for
/// machines (webhook) and a `veille search` line given to find them.
pub const SHOWN_IN_FULL: usize = 5;
/// Ids of the mentions not shown in full carried in one alert: enough for any incident a
/// person reads, bounded for a storm (the count stays exact).
pub const MAX_MORE_IDS: usize = 1000;
/// How the mentions shown in full are chosen, said in every message that batches.
pub const ORDER: &str = "reach, then most negative, then newest";

/// The mentions since the incident's previous message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Mentions this message accounts for: those shown in full and the others.
    pub count: usize,
    /// When the incident's previous message was made (None: this is the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Ids of the mentions counted but not shown in full (at most [`MAX_MORE_IDS`]).
    #[serde(default)]
    pub more_ids: Vec<String>,
    /// Order of the mentions shown in full ([`ORDER`]).
    pub order: String,
    /// A command line showing every mention of the batch: `veille search …`.
    pub search: String,
}

/// The whole incident, in its resolution notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Mentions the incident counted, from its opening to its resolution.
    pub mentions: u64,
    /// Messages sent before this one.
    pub messages: i64,
    /// Publication time of the first and the last of them.
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// The clock hour with the most mentions (its start) and how many.
    pub peak_hour: DateTime<Utc>,
    pub peak_count: u64,
}

/// Sorts mentions most important first: highest reach (unknown reach last), then most
/// negative score (no sentiment counts as neutral), then newest, then id so the order is
/// total and a redone batch shows the same mentions.
pub fn by_importance(ms: &mut [AlertMention]) {
    ms.sort_by(|a, b| {
        let reach = |m: &AlertMention| m.reach.map_or(-1i128, i128::from);
        let score = |m: &AlertMention| m.sentiment.map_or(0.0, |s| s.score);
        reach(b)
            .cmp(&reach(a))
            .then(score(a).total_cmp(&score(b)))
            .then(b.published_at.cmp(&a.published_at))
            .then(a.id.cmp(&b.id))
    });
}

/// `s` as one shell word (single quotes; a quote inside is closed, escaped, reopened),
/// so the CM can paste the line as it is. Plain words stay bare for readability.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `veille search` line for mentions of `brand` (and the rule's `query`) published in
/// `[from, to]`, listing up to `n`.
pub fn search_line(
    brand: &str,
    query: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    n: usize,
) -> String {
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut line = format!(
        "veille search --brand {} --since {} --until {} -n {n}",
        shell_word(brand),
        fmt(from),
        // `--until` is exclusive: one second past the last.
        fmt(to + chrono::Duration::seconds(1)),
    );
    if let Some(q) = query.filter(|q| !q.trim().is_empty()) {
        line.push(' ');
        line.push_str(&shell_word(q));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mention::{Label, Sentiment};

    fn m(id: &str, reach: Option<u64>, score: Option<f32>, min: i64) -> AlertMention {
        let mut a = crate::model::Alert::sample().mentions[0].clone();
        a.id = id.into();
        a.reach = reach;
        a.sentiment = score.map(|score| Sentiment {
            score,
            label: Label::Neutral,
            confidence: None,
        });
        a.published_at += chrono::Duration::minutes(min);
        a
    }

    #[test]
    fn importance_is_reach_then_negativity_then_recency() {
        let mut v = vec![
            m("unknown-reach", None, Some(-0.9), 0),
            m("small", Some(10), Some(-0.9), 0),
            m("big-neutral", Some(5000), Some(0.1), 0),
            m("big-angry", Some(5000), Some(-0.7), 0),
            m("big-angry-newer", Some(5000), Some(-0.7), 5),
        ];
        by_importance(&mut v);
        let ids: Vec<&str> = v.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "big-angry-newer",
                "big-angry",
                "big-neutral",
                "small",
                "unknown-reach"
            ]
        );
    }

    #[test]
    fn the_search_line_pastes_into_a_shell() {
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 10, 8, 0, 0).unwrap();
        let line = search_line(
            "acme",
            Some("arnaque OR \"l'escroc\""),
            t,
            t + chrono::Duration::minutes(59),
            30,
        );
        assert_eq!(
            line,
            r#"veille search --brand acme --since 2026-03-10T08:00:00Z --until 2026-03-10T08:59:01Z -n 30 'arnaque OR "l'\''escroc"'"#
        );
        assert_eq!(shell_word("$(rm -rf ~)"), "'$(rm -rf ~)'");
    }
}
