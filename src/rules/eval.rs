//! Rule evaluation, run by the ingest stage inside the transaction that records a batch,
//! so an alert is written exactly when its mentions are: never lost, never twice.
//!
//! A rule whose condition holds opens an incident (or updates the open one, at most once
//! per `realert`); when the condition has not held for `resolve_after`, the incident
//! resolves and, unless the rule says otherwise, a resolution notice goes out. Windows
//! and counts come from the index, so they survive restarts. Everything read or recorded
//! goes through [`History`]: an evaluation fails only when it does, with its error.
//!
//! Over 500 lines: the evaluation of every rule kind over one history, which the kinds
//! share (filters, windows, grouping); incidents and what their messages carry are apart
//! in `incident.rs`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::{GroupBy, History, Route, Rule, RuleKind, route};
use crate::matching::{Brand, Document, SearchRequest};
use crate::mention::{Label, Mention};
use crate::model::alert::MAX_MENTIONS_PER_ALERT;
use crate::model::{Alert, AlertMention, Stats};

/// An alert to enqueue, with the notifiers it goes to.
#[derive(Debug, Clone)]
pub struct Firing {
    pub alert: Alert,
    pub notify: Vec<String>,
    /// A silence covers it: recorded, not delivered (until the silence ends).
    pub silenced: bool,
}

pub struct Evaluator {
    rules: Vec<Rule>,
    brands: HashMap<String, Brand>,
    routes: Vec<Route>,
}

/// What fired: the mentions to show, how many there were, one line, the figures.
pub(super) struct Condition {
    pub(super) group: String,
    /// Windowed rules: the newest of the window. Batched ones: every new mention.
    pub(super) mentions: Vec<AlertMention>,
    pub(super) total: usize,
    pub(super) summary: String,
    pub(super) stats: Option<Stats>,
    /// match and new_source: `mentions` are all the new ones, held within `realert`
    /// and carried by the incident's next message (see `incident.rs`).
    pub(super) batched: bool,
}

/// Where the mentions being evaluated come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Polls of sources already known.
    Live,
    /// The first poll of a source whose config asks for alerts on it
    /// (`backfill_alerts = true`): match rules fire, new_source and first-time
    /// conditions never do (every site and author of a backlog is "new").
    Backfill,
}

impl Evaluator {
    pub fn new(rules: Vec<Rule>, brands: &[Brand]) -> Self {
        Evaluator::with_routes(rules, brands, Vec::new())
    }

    pub fn with_routes(rules: Vec<Rule>, brands: &[Brand], routes: Vec<Route>) -> Self {
        Evaluator {
            rules,
            brands: brands.iter().map(|b| (b.id.clone(), b.clone())).collect(),
            routes,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The longest `max_age` of the rules of `brand` that look at single mentions
    /// (match, new_source): a mention older than it alerts no one.
    pub fn max_age(&self, brand: &str) -> Option<crate::model::Duration> {
        self.rules
            .iter()
            .filter(|r| r.brand == brand)
            .filter(|r| matches!(r.kind, RuleKind::Match | RuleKind::NewSource { .. }))
            .map(|r| r.max_age)
            .max()
    }

    /// Ids of the brands the rules know (those watched).
    pub fn brand_ids(&self) -> impl Iterator<Item = &str> {
        self.brands.keys().map(String::as_str)
    }

    pub(super) fn brand_name(&self, id: &str) -> String {
        self.brands
            .get(id)
            .map(|b| b.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// Does `m` pass the rule's filters? Returns the words the rule's query matched.
    fn passes(rule: &Rule, m: &Mention) -> Option<Vec<String>> {
        m.hit(&rule.brand)?;
        let f = &rule.filters;
        if !f.source_kinds.is_empty() && !f.source_kinds.contains(&m.source_kind.to_lowercase()) {
            return None;
        }
        if !f.languages.is_empty()
            && !m
                .language
                .as_deref()
                .is_some_and(|l| f.languages.contains(&crate::matching::primary_language(l)))
        {
            return None;
        }
        match &f.query {
            None => Some(Vec::new()),
            Some(q) => Document::of_mention(m).matches(q),
        }
    }

    /// The index request for the rule's mentions in `[now - window, now]`.
    fn window_request(rule: &Rule, now: DateTime<Utc>, window: chrono::Duration) -> SearchRequest {
        SearchRequest {
            query: rule.filters.query.clone(),
            brand: Some(rule.brand.clone()),
            source: match &rule.kind {
                RuleKind::Flatline { source, .. } => source.clone(),
                _ => None,
            },
            source_kinds: rule.filters.source_kinds.clone(),
            langs: rule.filters.languages.clone(),
            since: Some(now - window),
            until: Some(now + chrono::Duration::seconds(1)),
            limit: MAX_MENTIONS_PER_ALERT,
            ..Default::default()
        }
    }

    fn recent<H: History>(
        &self,
        rule: &Rule,
        h: &H,
        req: &SearchRequest,
    ) -> Result<Vec<AlertMention>, H::Error> {
        Ok(h.search(req)?
            .iter()
            .map(|m| {
                let extra = rule
                    .filters
                    .query
                    .as_ref()
                    .and_then(|q| Document::of_mention(m).matches(q))
                    .unwrap_or_default();
                AlertMention::new(m, &rule.brand, &extra)
            })
            .collect())
    }

    /// The windowed condition of `rule` at `now`, if it holds.
    fn windowed<H: History>(
        &self,
        rule: &Rule,
        h: &H,
        now: DateTime<Utc>,
    ) -> Result<Option<Condition>, H::Error> {
        let name = self.brand_name(&rule.brand);
        let Some(window) = rule.kind.window() else {
            return Ok(None);
        };
        let req = Self::window_request(rule, now, window.chrono());
        // Mentions, or stories (copies of one wire story count once).
        let counted = |r: &SearchRequest| -> Result<u64, H::Error> {
            if rule.count_stories {
                h.count_stories(r)
            } else {
                h.count(r)
            }
        };
        let what = if rule.count_stories {
            "stories"
        } else {
            "mentions"
        };
        let count = counted(&req)?;
        let stats = |expected, share, threshold: f64| {
            Some(Stats {
                count,
                window: window.to_string(),
                expected,
                negative_share: share,
                threshold: Some(threshold),
            })
        };
        let (holds, summary, stats) = match &rule.kind {
            RuleKind::Threshold { min_count, .. } => (
                count >= *min_count as u64,
                format!("{count} {what} of {name} in the last {window} (threshold {min_count})"),
                stats(None, None, *min_count as f64),
            ),
            RuleKind::Spike {
                baseline,
                ratio,
                min_count,
                min_baseline,
                ..
            } => {
                // The usual rate, measured over `baseline` before the current window.
                let base_req = SearchRequest {
                    since: Some(now - window.chrono() - baseline.chrono()),
                    until: Some(now - window.chrono()),
                    ..req.clone()
                };
                let base = counted(&base_req)? as f64;
                let expected = base * window.as_secs() as f64 / baseline.as_secs().max(1) as f64;
                let holds = base >= *min_baseline as f64
                    && count >= *min_count as u64
                    && count as f64 >= *ratio as f64 * expected.max(1e-9);
                let times = if expected > 0.0 {
                    format!("{:.1}×", count as f64 / expected)
                } else {
                    "far above".into()
                };
                (
                    holds,
                    format!(
                        "spike: {count} {what} of {name} in the last {window}, {times} the usual {expected:.1}"
                    ),
                    stats(Some(expected), None, *min_count as f64),
                )
            }
            RuleKind::SentimentShift {
                share, min_count, ..
            } => {
                let neg = h.count(&SearchRequest {
                    label: Some(Label::Negative.as_str().into()),
                    ..req.clone()
                })?;
                let s = if count > 0 {
                    neg as f64 / count as f64
                } else {
                    0.0
                };
                (
                    count >= *min_count as u64 && s >= *share as f64,
                    format!(
                        "{:.0} % negative mentions of {name} in the last {window} ({neg} of {count})",
                        s * 100.0
                    ),
                    stats(None, Some(s), *share as f64 * 100.0),
                )
            }
            RuleKind::Flatline {
                min_count, source, ..
            } => {
                // Only once the brand (or source) has a history older than the window: a
                // new installation is not a flatline.
                let history = h.count(&SearchRequest {
                    since: None,
                    until: Some(now - window.chrono()),
                    limit: 1,
                    ..req.clone()
                })?;
                let from = source
                    .as_ref()
                    .map(|s| format!(" from source {s}"))
                    .unwrap_or_default();
                (
                    history > 0 && count < *min_count as u64,
                    format!(
                        "only {count} mention(s) of {name}{from} in the last {window} (expected at least {min_count})"
                    ),
                    stats(None, None, *min_count as f64),
                )
            }
            _ => return Ok(None),
        };
        if !holds {
            return Ok(None);
        }
        Ok(Some(Condition {
            group: String::new(),
            mentions: self.recent(rule, h, &req)?,
            total: count as usize,
            summary,
            stats,
            batched: false,
        }))
    }

    /// Evaluates every rule against `new` (mentions just committed to the index).
    pub fn evaluate<H: History>(
        &self,
        h: &H,
        new: &[Mention],
        now: DateTime<Utc>,
    ) -> Result<Vec<Firing>, H::Error> {
        self.evaluate_from(h, new, now, Origin::Live)
    }

    /// [`Evaluator::evaluate`] for mentions of `origin`.
    pub fn evaluate_from<H: History>(
        &self,
        h: &H,
        new: &[Mention],
        now: DateTime<Utc>,
        origin: Origin,
    ) -> Result<Vec<Firing>, H::Error> {
        let mut out = Vec::new();
        for rule in &self.rules {
            let relevant: Vec<(&Mention, Vec<String>)> = new
                .iter()
                .filter_map(|m| Self::passes(rule, m).map(|t| (m, t)))
                .collect();
            if relevant.is_empty() {
                continue;
            }
            // Mention-driven conditions look at recent mentions only: old news (a new
            // source's backlog, a late-indexed post) is indexed and counted, not alerted.
            let fresh = |m: &Mention| now - m.published_at <= rule.max_age.chrono();
            // "New" needs history: not during the brand's warm-up, nor on a backfill.
            let warm = origin == Origin::Live
                && h.watched_since(&rule.brand)?
                    .is_some_and(|t| now - t >= rule.warm_up.chrono());
            let name = self.brand_name(&rule.brand);
            let conditions: Vec<Condition> = match &rule.kind {
                RuleKind::Match => {
                    let f = &rule.filters;
                    let mut groups: BTreeMap<String, Vec<(&Mention, Vec<String>)>> =
                        BTreeMap::new();
                    let first_time = f.first_time_author || f.first_time_site;
                    for (m, terms) in relevant {
                        if !fresh(m) || (first_time && !warm) {
                            continue;
                        }
                        if f.sentiment
                            .is_some_and(|l| m.sentiment.is_none_or(|s| s.label != l))
                        {
                            continue;
                        }
                        if f.sentiment_below
                            .is_some_and(|t| m.sentiment.is_none_or(|s| s.score >= t))
                        {
                            continue;
                        }
                        if f.reach_at_least
                            .is_some_and(|r| m.reach.is_none_or(|x| x < r))
                        {
                            continue;
                        }
                        if f.first_time_author
                            && m.author_key()
                                .is_none_or(|a| h.known_author(&rule.brand, &a).unwrap_or(true))
                        {
                            continue;
                        }
                        if f.first_time_site && h.known_site(&rule.brand, &m.site)? {
                            continue;
                        }
                        groups
                            .entry(group_key(rule.group_by, m))
                            .or_default()
                            .push((m, terms));
                    }
                    groups
                        .into_iter()
                        .map(|(group, ms)| Condition {
                            summary: match ms.len() {
                                1 => format!("new mention of {name}: {}", ms[0].0.title),
                                n => format!("{n} new mentions of {name}"),
                            },
                            total: ms.len(),
                            mentions: ms
                                .iter()
                                .map(|(m, t)| AlertMention::new(m, &rule.brand, t))
                                .collect(),
                            group,
                            stats: None,
                            batched: true,
                        })
                        .collect()
                }
                RuleKind::NewSource { sites, authors } => {
                    let mut groups: BTreeMap<String, (String, Vec<&Mention>)> = BTreeMap::new();
                    for (m, _) in relevant.iter().filter(|(m, _)| warm && fresh(m)) {
                        if *sites && !m.site.is_empty() && !h.known_site(&rule.brand, &m.site)? {
                            groups
                                .entry(format!("site:{}", m.site))
                                .or_insert_with(|| {
                                    (
                                        format!("a new site talks about {name}: {}", m.site),
                                        Vec::new(),
                                    )
                                })
                                .1
                                .push(m);
                        }
                        if *authors
                            && let Some(a) = m.author_key()
                            && !h.known_author(&rule.brand, &a)?
                        {
                            let who = m
                                .author_name
                                .clone()
                                .or(m.author.clone())
                                .unwrap_or(a.clone());
                            groups
                                .entry(format!("author:{a}"))
                                .or_insert_with(|| {
                                    (
                                        format!("a new author talks about {name}: {who}"),
                                        Vec::new(),
                                    )
                                })
                                .1
                                .push(m);
                        }
                    }
                    groups
                        .into_iter()
                        .map(|(group, (summary, ms))| Condition {
                            summary,
                            total: ms.len(),
                            mentions: ms
                                .iter()
                                .map(|m| AlertMention::new(m, &rule.brand, &[]))
                                .collect(),
                            group,
                            stats: None,
                            batched: true,
                        })
                        .collect()
                }
                // Flatlines are about what does not arrive: see `tick`.
                RuleKind::Flatline { .. } => Vec::new(),
                _ => self.windowed(rule, h, now)?.into_iter().collect(),
            };
            for c in conditions {
                if let Some(f) = self.fire(h, rule, c, now)? {
                    out.push(f);
                }
            }
        }
        Ok(out)
    }

    pub(super) fn firing<H: History>(
        &self,
        h: &H,
        rule: &Rule,
        alert: Alert,
        now: DateTime<Utc>,
    ) -> Result<Firing, H::Error> {
        let silenced = h
            .silences()?
            .iter()
            .any(|s| s.active(now) && s.covers(&rule.id, &rule.brand));
        Ok(Firing {
            notify: route(rule, &self.routes),
            silenced,
            alert,
        })
    }

    /// What time alone changes: flatlines, conditions still holding, incidents to
    /// resolve, silences that ended. Run every few seconds by the ingest stage.
    pub fn tick<H: History>(&self, h: &H, now: DateTime<Utc>) -> Result<Vec<Firing>, H::Error> {
        let mut out = Vec::new();
        for rule in &self.rules {
            if rule.kind.window().is_none() {
                continue;
            }
            match self.windowed(rule, h, now)? {
                Some(c) if matches!(rule.kind, RuleKind::Flatline { .. }) => {
                    if let Some(f) = self.fire(h, rule, c, now)? {
                        out.push(f);
                    }
                }
                // Still holding: the open incident stays open.
                Some(c) => {
                    if let Some(inc) = h.open_incident(&rule.id, &rule.brand, &c.group)? {
                        h.incident_holds(inc.id, now)?;
                    }
                }
                None => {}
            }
        }
        for inc in h.open_incidents()? {
            let rule = self
                .rules
                .iter()
                .find(|r| r.id == inc.rule && r.brand == inc.brand);
            let Some(rule) = rule else {
                // The rule was removed from the configuration: close quietly.
                h.resolve_incident(inc.id, now)?;
                continue;
            };
            let fired = if now - inc.last_true_at >= rule.resolve_after.chrono() {
                self.resolve(h, rule, &inc, now)?
            } else {
                // Mentions held within `realert` go out once it has passed, even when
                // nothing new arrives to trigger an update.
                self.flush(h, rule, &inc, now)?
            };
            out.extend(fired);
        }
        Ok(out)
    }
}

/// The incident group of a mention for `by`.
fn group_key(by: GroupBy, m: &Mention) -> String {
    match by {
        GroupBy::None => String::new(),
        GroupBy::Story => format!("story:{}", m.story.as_deref().unwrap_or(&m.id)),
        GroupBy::Site => format!("site:{}", m.site),
        GroupBy::Author => format!("author:{}", m.author_key().unwrap_or_default()),
        GroupBy::Source => format!("source:{}", m.source),
    }
}
