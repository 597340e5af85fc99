//! Incidents and what their messages carry, alertmanager style: a `match` or
//! `new_source` incident sends its first message at once; within `realert` its new
//! mentions are held (in the state, so a restart loses none) and the next message — the
//! update once `realert` has passed, or the resolution — carries all of them: how many,
//! the [`SHOWN_IN_FULL`] most important in full ([`ORDER`]), and a `veille search` line
//! for the rest. The resolution notice sums up the whole incident.
//!
//! Windowed rules (threshold, spike, sentiment_shift, flatline) say what their window
//! holds at each message; they hold nothing.

use chrono::{DateTime, Utc};
use tracing::debug;

use super::eval::{Condition, Evaluator, Firing};
use super::{History, Rule};
use crate::model::alert::incident_key;
use crate::model::batch::{MAX_MORE_IDS, ORDER, SHOWN_IN_FULL, by_importance, search_line};
use crate::model::{Alert, AlertMention, Batch, Incident, Status};

impl Evaluator {
    /// Opens or updates the incident of `c`. Within `realert` (or acknowledged) nothing
    /// is sent: a batched condition's mentions wait for the incident's next message.
    pub(super) fn fire<H: History>(
        &self,
        h: &H,
        rule: &Rule,
        c: Condition,
        now: DateTime<Utc>,
    ) -> Result<Option<Firing>, H::Error> {
        let (id, status, n, since) = match h.open_incident(&rule.id, &rule.brand, &c.group)? {
            None => (
                h.create_incident(&rule.id, &rule.brand, &c.group, now)?,
                Status::New,
                1,
                None,
            ),
            Some(inc)
                if inc.acked_at.is_none() && now - inc.last_alert_at >= rule.realert.chrono() =>
            {
                (
                    inc.id,
                    Status::Update,
                    inc.alerts + 1,
                    Some(inc.last_alert_at),
                )
            }
            Some(inc) => {
                if c.batched {
                    h.hold_mentions(inc.id, &c.mentions, now)?;
                }
                debug!(rule = %rule.id, brand = %rule.brand, incident = inc.id, held = c.mentions.len(), acked = inc.acked_at.is_some(), "within realert or acknowledged: mentions held for the next message");
                h.touch_incident(inc.id, now, false)?;
                return Ok(None);
            }
        };
        h.touch_incident(id, now, true)?;
        let mut alert = self.base_alert(rule, id, &c.group, status, now);
        alert.key = format!("{}:{n}", alert.incident_key);
        alert.stats = c.stats;
        if c.batched {
            let mut carried = if status == Status::Update {
                h.take_held(id)?
            } else {
                Vec::new()
            };
            carried.extend(c.mentions);
            h.record_sent(id, &carried, now)?;
            alert.summary = match since {
                Some(t) => self.batch_summary(rule, &c.group, carried.len(), t),
                None => c.summary,
            };
            self.carry(rule, &mut alert, carried, since);
        } else {
            alert.summary = c.summary;
            alert.mentions = c.mentions;
            alert.total_mentions = c.total;
        }
        Ok(Some(self.firing(h, rule, alert, now)?))
    }

    /// An update for an open incident whose held mentions are due (`realert` passed),
    /// though nothing new arrived since: what was held goes out now.
    pub(super) fn flush<H: History>(
        &self,
        h: &H,
        rule: &Rule,
        inc: &Incident,
        now: DateTime<Utc>,
    ) -> Result<Option<Firing>, H::Error> {
        if inc.acked_at.is_some()
            || now - inc.last_alert_at < rule.realert.chrono()
            || h.held_count(inc.id)? == 0
        {
            return Ok(None);
        }
        let held = h.take_held(inc.id)?;
        h.incident_alerted(inc.id, now)?;
        let mut alert = self.base_alert(rule, inc.id, &inc.group, Status::Update, now);
        alert.key = format!("{}:{}", alert.incident_key, inc.alerts + 1);
        alert.summary = self.batch_summary(rule, &inc.group, held.len(), inc.last_alert_at);
        self.carry(rule, &mut alert, held, Some(inc.last_alert_at));
        Ok(Some(self.firing(h, rule, alert, now)?))
    }

    /// Resolves `inc`: its notice carries what was still held and sums up the incident.
    /// A rule with `notify_resolved = false` still sends what was held, as an update:
    /// no matched mention goes unaccounted for.
    pub(super) fn resolve<H: History>(
        &self,
        h: &H,
        rule: &Rule,
        inc: &Incident,
        now: DateTime<Utc>,
    ) -> Result<Option<Firing>, H::Error> {
        let held = h.take_held(inc.id)?;
        let summary = h.incident_summary(inc.id, inc.alerts)?;
        h.resolve_incident(inc.id, now)?;
        let name = self.brand_name(&rule.brand);
        let since = Some(inc.last_alert_at);
        if !rule.notify_resolved {
            if held.is_empty() {
                return Ok(None);
            }
            let mut alert = self.base_alert(rule, inc.id, &inc.group, Status::Update, now);
            alert.key = format!("{}:{}", alert.incident_key, inc.alerts + 1);
            alert.summary = self.batch_summary(rule, &inc.group, held.len(), inc.last_alert_at);
            self.carry(rule, &mut alert, held, since);
            return Ok(Some(self.firing(h, rule, alert, now)?));
        }
        let mut alert = self.base_alert(rule, inc.id, &inc.group, Status::Resolved, now);
        alert.key = format!("{}:resolved", alert.incident_key);
        let quiet = inc.last_true_at.format("%Y-%m-%d %H:%M UTC");
        alert.summary = match &summary {
            Some(s) => format!(
                "resolved: {} for {name}, quiet since {quiet}: {} mention(s) from {} to {}, peak {} in the hour from {} ({} message(s) before this one)",
                rule.id,
                s.mentions,
                s.first.format("%Y-%m-%d %H:%M UTC"),
                s.last.format("%Y-%m-%d %H:%M UTC"),
                s.peak_count,
                s.peak_hour.format("%Y-%m-%d %H:%M UTC"),
                s.messages,
            ),
            None => format!(
                "resolved: {} for {name}, quiet since {quiet} ({} alert(s))",
                rule.id, inc.alerts
            ),
        };
        alert.incident_summary = summary;
        if !held.is_empty() {
            self.carry(rule, &mut alert, held, since);
        }
        Ok(Some(self.firing(h, rule, alert, now)?))
    }

    /// Puts `carried` in `alert`: the most important in full, the others counted, listed
    /// by id and found by the search line.
    fn carry(
        &self,
        rule: &Rule,
        alert: &mut Alert,
        mut carried: Vec<AlertMention>,
        since: Option<DateTime<Utc>>,
    ) {
        // One mention met twice (held, then in a redone batch) counts once.
        let mut seen = std::collections::HashSet::new();
        carried.retain(|m| seen.insert(m.id.clone()));
        let count = carried.len();
        let from = carried
            .iter()
            .map(|m| m.published_at)
            .min()
            .unwrap_or(alert.created_at);
        let to = carried
            .iter()
            .map(|m| m.published_at)
            .max()
            .unwrap_or(alert.created_at);
        by_importance(&mut carried);
        let rest = carried.split_off(count.min(SHOWN_IN_FULL));
        alert.mentions = carried;
        alert.total_mentions = count;
        alert.batch = Some(Batch {
            count,
            since,
            more_ids: rest
                .iter()
                .take(MAX_MORE_IDS)
                .map(|m| m.id.clone())
                .collect(),
            order: ORDER.into(),
            search: search_line(
                &rule.brand,
                rule.query_text.as_deref(),
                from,
                to,
                count.max(1),
            ),
        });
    }

    /// "12 new mentions of Acme since the last message (2026-03-10 08:00 UTC)".
    fn batch_summary(&self, rule: &Rule, group: &str, n: usize, since: DateTime<Utc>) -> String {
        let name = self.brand_name(&rule.brand);
        let at = since.format("%Y-%m-%d %H:%M UTC");
        let what = match (rule.kind.name(), group.split_once(':')) {
            ("new_source", Some(("site", s))) => format!("from the new site {s} about {name}"),
            ("new_source", Some((_, a))) => format!("by the new author {a} about {name}"),
            _ => format!("of {name}"),
        };
        format!("{n} new mention(s) {what} since the last message ({at})")
    }

    /// An alert of incident `id` with nothing in it yet.
    fn base_alert(
        &self,
        rule: &Rule,
        id: i64,
        group: &str,
        status: Status,
        now: DateTime<Utc>,
    ) -> Alert {
        let key = incident_key(&rule.id, &rule.brand, group, id);
        Alert {
            key: key.clone(),
            rule: rule.id.clone(),
            rule_kind: rule.kind.name().into(),
            brand: rule.brand.clone(),
            brand_name: self.brand_name(&rule.brand),
            severity: rule.severity,
            created_at: now,
            summary: String::new(),
            description: rule.description.clone(),
            mentions: Vec::new(),
            total_mentions: 0,
            status,
            incident: id,
            incident_key: key,
            group: (!group.is_empty()).then(|| group.to_string()),
            stats: None,
            batch: None,
            incident_summary: None,
        }
    }
}
