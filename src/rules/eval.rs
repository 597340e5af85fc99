//! Rule evaluation, run by the ingest stage inside the transaction that records a batch,
//! so an alert is written exactly when its mentions are: never lost, never twice.
//!
//! A rule whose condition holds opens an incident (or updates the open one, at most once
//! per `realert`); when the condition has not held for `resolve_after`, the incident
//! resolves and, unless the rule says otherwise, a resolution notice goes out. Windows
//! and counts come from the index, so they survive restarts.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use tracing::debug;

use super::{GroupBy, Route, Rule, RuleKind, route};
use crate::alerts::{Alert, AlertMention, MAX_MENTIONS_PER_ALERT, Stats, Status};
use crate::matching::{Brand, Document};
use crate::mention::{Label, Mention};
use crate::store::index::{MentionIndex, SearchRequest};
use crate::store::state;

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
struct Condition {
    group: String,
    mentions: Vec<AlertMention>,
    total: usize,
    summary: String,
    stats: Option<Stats>,
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

    fn brand_name(&self, id: &str) -> String {
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

    fn recent(
        &self,
        rule: &Rule,
        index: &MentionIndex,
        req: &SearchRequest,
    ) -> anyhow::Result<Vec<AlertMention>> {
        Ok(index
            .search(req)?
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
    fn windowed(
        &self,
        rule: &Rule,
        index: &MentionIndex,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Condition>> {
        let name = self.brand_name(&rule.brand);
        let Some(window) = rule.kind.window() else {
            return Ok(None);
        };
        let req = Self::window_request(rule, now, window.chrono());
        // Mentions, or stories (copies of one wire story count once).
        let counted = |r: &SearchRequest| -> anyhow::Result<u64> {
            Ok(if rule.count_stories {
                index.count_stories(r)?
            } else {
                index.count(r)?
            } as u64)
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
                let neg = index.count(&SearchRequest {
                    label: Some(Label::Negative.as_str().into()),
                    ..req.clone()
                })? as u64;
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
                let history = index.count(&SearchRequest {
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
            mentions: self.recent(rule, index, &req)?,
            total: count as usize,
            summary,
            stats,
        }))
    }

    /// Evaluates every rule against `new` (mentions just committed to the index).
    pub fn evaluate(
        &self,
        tx: &Transaction<'_>,
        index: &MentionIndex,
        new: &[Mention],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Firing>> {
        let mut out = Vec::new();
        for rule in &self.rules {
            let relevant: Vec<(&Mention, Vec<String>)> = new
                .iter()
                .filter_map(|m| Self::passes(rule, m).map(|t| (m, t)))
                .collect();
            if relevant.is_empty() {
                continue;
            }
            let name = self.brand_name(&rule.brand);
            let conditions: Vec<Condition> = match &rule.kind {
                RuleKind::Match => {
                    let f = &rule.filters;
                    let mut groups: BTreeMap<String, Vec<(&Mention, Vec<String>)>> =
                        BTreeMap::new();
                    for (m, terms) in relevant {
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
                            && m.author_key().is_none_or(|a| {
                                state::known_author(tx, &rule.brand, &a).unwrap_or(true)
                            })
                        {
                            continue;
                        }
                        if f.first_time_site && state::known_site(tx, &rule.brand, &m.site)? {
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
                                .take(MAX_MENTIONS_PER_ALERT)
                                .map(|(m, t)| AlertMention::new(m, &rule.brand, t))
                                .collect(),
                            group,
                            stats: None,
                        })
                        .collect()
                }
                RuleKind::NewSource { sites, authors } => {
                    let mut groups: BTreeMap<String, (String, Vec<&Mention>)> = BTreeMap::new();
                    for (m, _) in &relevant {
                        if *sites
                            && !m.site.is_empty()
                            && !state::known_site(tx, &rule.brand, &m.site)?
                        {
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
                            && !state::known_author(tx, &rule.brand, &a)?
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
                                .take(MAX_MENTIONS_PER_ALERT)
                                .map(|m| AlertMention::new(m, &rule.brand, &[]))
                                .collect(),
                            group,
                            stats: None,
                        })
                        .collect()
                }
                // Flatlines are about what does not arrive: see `tick`.
                RuleKind::Flatline { .. } => Vec::new(),
                _ => self.windowed(rule, index, now)?.into_iter().collect(),
            };
            for c in conditions {
                if let Some(f) = self.fire(tx, rule, c, now)? {
                    out.push(f);
                }
            }
        }
        Ok(out)
    }

    /// Opens or updates the incident of `c`; returns the alert unless within `realert`.
    fn fire(
        &self,
        tx: &Transaction<'_>,
        rule: &Rule,
        c: Condition,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Firing>> {
        let (id, status, n) = match state::open_incident(tx, &rule.id, &rule.brand, &c.group)? {
            None => (
                state::create_incident(tx, &rule.id, &rule.brand, &c.group, now)?,
                Status::New,
                1,
            ),
            Some(inc)
                if inc.acked_at.is_none() && now - inc.last_alert_at >= rule.realert.chrono() =>
            {
                (inc.id, Status::Update, inc.alerts + 1)
            }
            Some(inc) => {
                debug!(rule = %rule.id, brand = %rule.brand, incident = inc.id, acked = inc.acked_at.is_some(), "within realert or acknowledged: incident updated silently");
                state::touch_incident(tx, inc.id, now, false)?;
                return Ok(None);
            }
        };
        state::touch_incident(tx, id, now, true)?;
        let incident_key = crate::alerts::incident_key(&rule.id, &rule.brand, &c.group, id);
        let alert = Alert {
            key: format!("{incident_key}:{n}"),
            rule: rule.id.clone(),
            rule_kind: rule.kind.name().into(),
            brand: rule.brand.clone(),
            brand_name: self.brand_name(&rule.brand),
            severity: rule.severity,
            created_at: now,
            summary: c.summary,
            description: rule.description.clone(),
            mentions: c.mentions,
            total_mentions: c.total,
            status,
            incident: id,
            incident_key,
            group: (!c.group.is_empty()).then_some(c.group),
            stats: c.stats,
        };
        Ok(Some(self.firing(tx, rule, alert, now)?))
    }

    fn firing(
        &self,
        tx: &Transaction<'_>,
        rule: &Rule,
        alert: Alert,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Firing> {
        let silenced = state::silences(tx)?
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
    pub fn tick(
        &self,
        tx: &Transaction<'_>,
        index: &MentionIndex,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Firing>> {
        let mut out = Vec::new();
        for rule in &self.rules {
            if rule.kind.window().is_none() {
                continue;
            }
            match self.windowed(rule, index, now)? {
                Some(c) if matches!(rule.kind, RuleKind::Flatline { .. }) => {
                    if let Some(f) = self.fire(tx, rule, c, now)? {
                        out.push(f);
                    }
                }
                // Still holding: the open incident stays open.
                Some(c) => {
                    if let Some(inc) = state::open_incident(tx, &rule.id, &rule.brand, &c.group)? {
                        tx.execute(
                            "UPDATE incidents SET last_true_at = ?2 WHERE id = ?1",
                            rusqlite::params![inc.id, state::ms(now)],
                        )?;
                    }
                }
                None => {}
            }
        }
        for inc in state::open_incidents(tx)? {
            let rule = self
                .rules
                .iter()
                .find(|r| r.id == inc.rule && r.brand == inc.brand);
            let Some(rule) = rule else {
                // The rule was removed from the configuration: close quietly.
                state::resolve_incident(tx, inc.id, now)?;
                continue;
            };
            if now - inc.last_true_at < rule.resolve_after.chrono() {
                continue;
            }
            state::resolve_incident(tx, inc.id, now)?;
            if !rule.notify_resolved {
                continue;
            }
            let name = self.brand_name(&rule.brand);
            let incident_key =
                crate::alerts::incident_key(&rule.id, &rule.brand, &inc.group, inc.id);
            let alert = Alert {
                key: format!("{incident_key}:resolved"),
                rule: rule.id.clone(),
                rule_kind: rule.kind.name().into(),
                brand: rule.brand.clone(),
                brand_name: name.clone(),
                severity: rule.severity,
                created_at: now,
                summary: format!(
                    "resolved: {} for {name}, quiet since {} ({} alert(s))",
                    rule.id,
                    inc.last_true_at.format("%Y-%m-%d %H:%M UTC"),
                    inc.alerts
                ),
                description: rule.description.clone(),
                mentions: Vec::new(),
                total_mentions: 0,
                status: Status::Resolved,
                incident: inc.id,
                incident_key,
                group: (!inc.group.is_empty()).then_some(inc.group.clone()),
                stats: None,
            };
            out.push(self.firing(tx, rule, alert, now)?);
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
