//! Rule evaluation, run by the ingest stage inside the transaction that records a batch,
//! so an alert is written exactly when its mentions are: never lost, never twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use tracing::debug;

use super::{Rule, RuleKind};
use crate::alerts::{Alert, AlertMention, MAX_MENTIONS_PER_ALERT};
use crate::matching::{Brand, Document};
use crate::mention::{Mention, hash_id};
use crate::store::index::{MentionIndex, SearchRequest};
use crate::store::state;

/// An alert to enqueue, with the notifiers it goes to.
#[derive(Debug, Clone)]
pub struct Firing {
    pub alert: Alert,
    pub notify: Vec<String>,
}

pub struct Evaluator {
    rules: Vec<Rule>,
    brands: HashMap<String, Brand>,
}

impl Evaluator {
    pub fn new(rules: Vec<Rule>, brands: &[Brand]) -> Self {
        Evaluator {
            rules,
            brands: brands.iter().map(|b| (b.id.clone(), b.clone())).collect(),
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Evaluates every rule against `new` (mentions just committed to the index).
    /// Rule state (last firing, for `realert`) is read and written in `tx`.
    pub fn evaluate(
        &self,
        tx: &Transaction<'_>,
        index: &MentionIndex,
        new: &[Mention],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Firing>> {
        let mut out = Vec::new();
        for rule in &self.rules {
            // Mentions of this batch the rule is about, with the rule's own matched words.
            let relevant: Vec<(&Mention, Vec<String>)> = new
                .iter()
                .filter(|m| m.hit(&rule.brand).is_some())
                .filter_map(|m| match &rule.query {
                    None => Some((m, Vec::new())),
                    Some(q) => Document::of_mention(m).matches(q).map(|t| (m, t)),
                })
                .collect();
            if relevant.is_empty() {
                continue;
            }
            if let Some(last) = state::last_fired(tx, &rule.id, &rule.brand)?
                && now < last + rule.realert.chrono()
            {
                debug!(rule = %rule.id, brand = %rule.brand, "within realert: not firing again");
                continue;
            }
            let brand_name = self
                .brands
                .get(&rule.brand)
                .map(|b| b.name.clone())
                .unwrap_or_else(|| rule.brand.clone());
            let alert = match &rule.kind {
                RuleKind::Match => {
                    let mut ids: Vec<&str> = relevant.iter().map(|(m, _)| m.id.as_str()).collect();
                    ids.sort_unstable();
                    let n = relevant.len();
                    Alert {
                        key: format!(
                            "{}:{}:{}",
                            rule.id,
                            rule.brand,
                            hash_id("match", &ids.join(","))
                        ),
                        rule: rule.id.clone(),
                        rule_kind: rule.kind.name().into(),
                        brand: rule.brand.clone(),
                        brand_name: brand_name.clone(),
                        severity: rule.severity,
                        created_at: now,
                        summary: match n {
                            1 => format!("new mention of {brand_name}: {}", relevant[0].0.title),
                            n => format!("{n} new mentions of {brand_name}"),
                        },
                        description: rule.description.clone(),
                        mentions: relevant
                            .iter()
                            .take(MAX_MENTIONS_PER_ALERT)
                            .map(|(m, t)| AlertMention::new(m, &rule.brand, t))
                            .collect(),
                        total_mentions: n,
                    }
                }
                RuleKind::Threshold { window, min_count } => {
                    let req = SearchRequest {
                        query: rule.query.clone(),
                        brand: Some(rule.brand.clone()),
                        since: Some(now - window.chrono()),
                        until: Some(now + chrono::Duration::seconds(1)),
                        limit: MAX_MENTIONS_PER_ALERT,
                        ..Default::default()
                    };
                    let count = index.count(&req)?;
                    if count < *min_count as usize {
                        continue;
                    }
                    let recent = index.search(&req)?;
                    Alert {
                        key: format!("{}:{}:{}", rule.id, rule.brand, now.timestamp_millis()),
                        rule: rule.id.clone(),
                        rule_kind: rule.kind.name().into(),
                        brand: rule.brand.clone(),
                        brand_name: brand_name.clone(),
                        severity: rule.severity,
                        created_at: now,
                        summary: format!(
                            "{count} mentions of {brand_name} in the last {window} (threshold {min_count})"
                        ),
                        description: rule.description.clone(),
                        mentions: recent
                            .iter()
                            .map(|m| {
                                let extra = rule
                                    .query
                                    .as_ref()
                                    .and_then(|q| Document::of_mention(m).matches(q))
                                    .unwrap_or_default();
                                AlertMention::new(m, &rule.brand, &extra)
                            })
                            .collect(),
                        total_mentions: count,
                    }
                }
            };
            state::set_fired(tx, &rule.id, &rule.brand, now)?;
            out.push(Firing {
                alert,
                notify: rule.notify.clone(),
            });
        }
        Ok(out)
    }
}
