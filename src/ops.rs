//! veille watches itself (`[ops]`): alerts about veille, not about a brand — a source
//! that became unhealthy and its recovery, a notifier that fails for good, a queue whose
//! oldest delivery is too old, deliveries waiting for a notifier removed from the config.
//!
//! They go through the outbox like any alert (durable, retried, with an Idempotency-Key
//! and Message-ID), to the notifiers of `[ops] notify`; one about a notifier never goes to
//! that notifier (if it was the only ops one, to every other notifier). Each is told once
//! per transition: a source's by its `unhealthy` flag, the others by a condition kept in
//! the state database ([`State::raise_condition`]), told again at most once per
//! [`HOLD`].

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::model::{Alert, Duration, Severity, Status, redact};
use crate::store::state::{Raised, State, Waiting};

/// The same condition is told at most once in this time (a notifier that fails, works
/// once, fails again must not page every time).
pub const HOLD: chrono::Duration = chrono::Duration::hours(1);
/// How often the outbox is looked at for late queues and orphaned deliveries.
pub const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// `[ops]`: where veille's alerts about itself go, and which are sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Notifiers that get veille's alerts about itself. Absent: every notifier that
    /// people read (e-mail and chat; webhooks feed other programs); `[]` turns them off.
    pub notify: Option<Vec<Spanned<String>>>,
    /// A source became unhealthy (failing for `[crawl] unhealthy_after`), and recovered.
    pub sources: bool,
    /// A notifier failed for good (a revoked webhook, a refused address).
    pub notifiers: bool,
    /// A notifier's oldest pending delivery is older than `outbox_max_age`, or deliveries
    /// wait for a notifier that is no longer in the config.
    pub outbox: bool,
    /// Age of the oldest pending delivery of a notifier past which it is reported.
    pub outbox_max_age: Duration,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            notify: None,
            sources: true,
            notifiers: true,
            outbox: true,
            outbox_max_age: Duration::from_secs(30 * 60),
        }
    }
}

impl OpsConfig {
    /// `[ops]` in force, `notifiers` being every configured one (by id, with its kind).
    pub fn build<'a>(&self, notifiers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Ops {
        let notify = match &self.notify {
            Some(named) => named.iter().map(|n| n.get_ref().clone()).collect(),
            None => notifiers
                .into_iter()
                .filter(|(_, kind)| *kind != "webhook")
                .map(|(id, _)| id.to_string())
                .collect(),
        };
        Ops {
            notify,
            sources: self.sources,
            notifiers: self.notifiers,
            outbox: self.outbox,
            outbox_max_age: self.outbox_max_age.chrono(),
        }
    }
}

/// `[ops]` as the stages use it. `Ops::default()` sends nothing.
#[derive(Debug, Clone, Default)]
pub struct Ops {
    pub notify: Vec<String>,
    pub sources: bool,
    pub notifiers: bool,
    pub outbox: bool,
    pub outbox_max_age: chrono::Duration,
}

impl Ops {
    /// Whether source transitions are told.
    pub fn watches_sources(&self) -> bool {
        self.sources && !self.notify.is_empty()
    }

    /// Who is told about a problem of the notifier `about` (or of something else): the ops
    /// notifiers but `about`; if that leaves none, every configured notifier but `about`.
    pub fn targets<'a>(
        &self,
        about: Option<&str>,
        configured: impl IntoIterator<Item = &'a String>,
    ) -> Vec<String> {
        let not_about = |n: &&String| Some(n.as_str()) != about;
        let ops: Vec<String> = self.notify.iter().filter(not_about).cloned().collect();
        if !ops.is_empty() || self.notify.is_empty() {
            return ops;
        }
        configured.into_iter().filter(not_about).cloned().collect()
    }

    /// One look at the outbox: raises or clears "late" (oldest pending delivery of a
    /// configured notifier older than `outbox_max_age`) and "orphaned" (deliveries
    /// pending for a notifier not in `configured`). Returns whether an alert was enqueued.
    pub fn check_outbox(
        &self,
        state: &mut State,
        configured: &[String],
        now: DateTime<Utc>,
    ) -> crate::store::Result<bool> {
        if !self.outbox || self.notify.is_empty() {
            return Ok(false);
        }
        let mut told = false;
        let mut late = Vec::new();
        let mut orphaned = Vec::new();
        for w in state.waiting()? {
            let known = configured.contains(&w.notifier);
            let (what, alert) = if !known {
                orphaned.push(format!("orphaned:{}", w.notifier));
                (orphaned.last(), orphaned_alert(&w, now))
            } else if now - w.oldest > self.outbox_max_age {
                late.push(format!("late:{}", w.notifier));
                (late.last(), late_alert(&w, self.outbox_max_age, now))
            } else {
                continue;
            };
            let what = what.expect("just pushed");
            let targets = self.targets(Some(&w.notifier), configured);
            told |= state.raise_condition(what, now, HOLD, &alert, &targets)? == Raised::Told;
        }
        for (prefix, now_active) in [("orphaned:", &orphaned), ("late:", &late)] {
            for what in state.active_conditions(prefix)? {
                if !now_active.contains(&what) {
                    state.clear_condition(&what)?;
                }
            }
        }
        Ok(told)
    }
}

/// Alerts about veille itself: rule `ops`, brand `veille`, no mentions. The message says
/// what it is about and what to do; `why` is this summary in every language.
fn ops_alert(
    key: String,
    thread: String,
    severity: Severity,
    status: Status,
    summary: String,
    todo: String,
    now: DateTime<Utc>,
) -> Alert {
    Alert {
        key: crate::model::alert::header_safe(&key),
        rule: "ops".into(),
        rule_kind: "ops".into(),
        brand: "veille".into(),
        brand_name: "veille itself".into(),
        severity,
        created_at: now,
        summary: crate::text::single_line(&redact::scrub(&summary)),
        description: Some(todo),
        mentions: Vec::new(),
        total_mentions: 0,
        status,
        incident: 0,
        incident_key: crate::model::alert::header_safe(&thread),
        group: None,
        stats: None,
        batch: None,
        incident_summary: None,
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Source `id`, failing since `since`, is unhealthy now.
pub fn source_unhealthy(id: &str, error: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> Alert {
    let thread = format!("ops:source:{id}:{}", since.timestamp_millis());
    ops_alert(
        format!("{thread}:unhealthy"),
        thread,
        Severity::Warning,
        Status::New,
        format!(
            "source {id} is unhealthy: failing since {} — {}",
            at(since),
            crate::text::truncate(error, 300)
        ),
        format!(
            "veille sees nothing this source publishes until it recovers (you will be told). \
             `veille sources` shows its state, `veille sources test {id}` fetches it now."
        ),
        now,
    )
}

/// Source `id` recovered after failing since `since`: answers its unhealthy alert.
pub fn source_recovered(id: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> Alert {
    let thread = format!("ops:source:{id}:{}", since.timestamp_millis());
    ops_alert(
        format!("{thread}:recovered"),
        thread,
        Severity::Info,
        Status::Resolved,
        format!(
            "source {id} recovered: it had been failing since {}",
            at(since)
        ),
        "Mentions it published meanwhile are fetched if it still lists them.".into(),
        now,
    )
}

/// The notifier `name` refused an alert for good.
pub fn notifier_failed(name: &str, error: &str, now: DateTime<Utc>) -> Alert {
    let thread = format!("ops:notifier-failed:{name}:{}", now.timestamp_millis());
    ops_alert(
        thread.clone(),
        thread,
        Severity::Critical,
        Status::New,
        format!(
            "notifier {name} failed for good: {}",
            crate::text::truncate(error, 300)
        ),
        format!(
            "Alerts to {name} are not delivered (a revoked webhook, a refused address?). \
             Fix its settings, then `veille alerts retry --all-failed --notifier {name}`; \
             `veille notify test {name}` tries it."
        ),
        now,
    )
}

fn late_alert(w: &Waiting, max_age: chrono::Duration, now: DateTime<Utc>) -> Alert {
    let thread = format!("ops:late:{}:{}", w.notifier, now.timestamp_millis());
    let minutes = (now - w.oldest).num_minutes();
    ops_alert(
        thread.clone(),
        thread,
        Severity::Warning,
        Status::New,
        format!(
            "{} alert(s) wait for notifier {}, the oldest for {minutes} min (limit {} min)",
            w.pending,
            w.notifier,
            max_age.num_minutes()
        ),
        "`veille alerts` shows why (the last error of each delivery); they keep being retried."
            .into(),
        now,
    )
}

fn orphaned_alert(w: &Waiting, now: DateTime<Utc>) -> Alert {
    let thread = format!("ops:orphaned:{}:{}", w.notifier, now.timestamp_millis());
    ops_alert(
        thread.clone(),
        thread,
        Severity::Warning,
        Status::New,
        format!(
            "{} alert(s) wait for notifier {}, which is no longer in the config",
            w.pending, w.notifier
        ),
        "They are never sent as they are: `veille alerts retry --all-orphaned --to NOTIFIER` \
         sends them to another notifier, `veille alerts drop --all-orphaned` gives them up."
            .into(),
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(notify: &[&str]) -> Ops {
        Ops {
            notify: notify.iter().map(|s| s.to_string()).collect(),
            outbox: true,
            outbox_max_age: chrono::Duration::minutes(30),
            ..Default::default()
        }
    }

    #[test]
    fn an_alert_about_a_notifier_never_goes_to_it() {
        let all: Vec<String> = ["mail", "pager", "slack"].map(String::from).to_vec();
        assert_eq!(ops(&["pager"]).targets(Some("slack"), &all), ["pager"]);
        assert_eq!(
            ops(&["pager", "mail"]).targets(Some("pager"), &all),
            ["mail"]
        );
        // The only ops notifier fails: every other one is told.
        assert_eq!(
            ops(&["pager"]).targets(Some("pager"), &all),
            ["mail", "slack"]
        );
        assert!(ops(&[]).targets(Some("pager"), &all).is_empty(), "off");
    }

    #[test]
    fn late_and_orphaned_queues_are_told_once_and_cleared() {
        let mut s = State::open_in_memory().unwrap();
        let t0 = Utc::now();
        let mut a = crate::testutil::alert();
        a.created_at = t0;
        let b = s.batch().unwrap();
        b.enqueue_alert(&a, &["slack".into(), "gone".into()], false)
            .unwrap();
        b.commit().unwrap();
        let o = ops(&["pager"]);
        let configured: Vec<String> = ["pager", "slack"].map(String::from).to_vec();
        assert!(o.check_outbox(&mut s, &configured, t0).unwrap(), "orphaned");
        assert!(!o.check_outbox(&mut s, &configured, t0).unwrap(), "once");
        // The ops alert (#2) reached the pager; the alert to slack (#1) did not.
        s.mark_delivered(2, "pager", t0).unwrap();
        let later = t0 + chrono::Duration::minutes(31);
        assert!(o.check_outbox(&mut s, &configured, later).unwrap(), "late");
        assert_eq!(
            s.active_conditions("").unwrap(),
            ["late:slack", "orphaned:gone"]
        );
        s.mark_delivered(1, "slack", later).unwrap();
        s.drop_deliveries(
            crate::store::state::Deliveries::Waiting { notifier: "gone" },
            "test",
        )
        .unwrap();
        assert!(!o.check_outbox(&mut s, &configured, later).unwrap());
        assert!(s.active_conditions("").unwrap().is_empty());
        let told: Vec<(String, Vec<String>)> = s
            .alerts(10)
            .unwrap()
            .into_iter()
            .filter(|r| r.alert.rule == "ops")
            .map(|r| {
                (
                    r.alert.summary,
                    r.deliveries.into_iter().map(|d| d.0).collect(),
                )
            })
            .collect();
        assert_eq!(told.len(), 2, "{told:#?}");
        assert!(
            told[0]
                .0
                .contains("wait for notifier slack, the oldest for 31 min")
        );
        assert!(
            told[1]
                .0
                .contains("notifier gone, which is no longer in the config")
        );
        assert!(told.iter().all(|t| t.1 == ["pager"]));
    }
}
