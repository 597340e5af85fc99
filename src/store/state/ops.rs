//! What veille tells about itself (`[ops]`): the conditions raised (a notifier failing for
//! good, a late queue, deliveries waiting for a removed notifier), so each is told once
//! and not at every look; the outbox per notifier, as the ops watcher reads it; deliveries
//! re-routed to another notifier by hand; what `run --once` left undelivered.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Deliveries, Result, State, from_ms, ms};
use crate::model::Alert;

/// The outbox of one notifier, for the ops watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub notifier: String,
    /// Deliveries pending.
    pub pending: u64,
    /// Since when the longest-waiting delivery has been pending: since its alert was
    /// raised, or since it was re-queued, released from a silence or re-routed.
    pub oldest: DateTime<Utc>,
}

/// How a raise went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// The condition was already active: nothing written.
    Already,
    /// Active now, its alert enqueued.
    Told,
    /// Active now, but told less than `hold` ago: not told again (a notifier that fails,
    /// works, fails again must not page every time).
    Held,
}

impl State {
    /// Raises condition `what` at `now` and, in the same transaction, enqueues `alert` to
    /// `targets` — unless it is active already, or was told less than `hold` ago.
    pub fn raise_condition(
        &mut self,
        what: &str,
        now: DateTime<Utc>,
        hold: chrono::Duration,
        alert: &Alert,
        targets: &[String],
    ) -> Result<Raised> {
        let b = self.batch()?;
        let row: Option<(i64, Option<i64>)> =
            b.tx.query_row(
                "SELECT active, raised_at FROM ops_conditions WHERE what = ?1",
                params![what],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let raised = match row {
            Some((1, _)) => return Ok(Raised::Already),
            Some((_, Some(at))) if now - from_ms(at) < hold => Raised::Held,
            _ => Raised::Told,
        };
        let told = raised == Raised::Told && !targets.is_empty();
        b.tx.execute(
            "INSERT INTO ops_conditions (what, active, since, raised_at) VALUES (?1, 1, ?2, ?3)
             ON CONFLICT (what) DO UPDATE SET active = 1, since = ?2,
                 raised_at = COALESCE(?3, raised_at)",
            params![what, ms(now), told.then(|| ms(now))],
        )?;
        if told {
            b.enqueue_alert(alert, targets, false)?;
        }
        b.commit()?;
        Ok(raised)
    }

    /// Ends condition `what`; returns since when it was active, if it was.
    pub fn clear_condition(&self, what: &str) -> Result<Option<DateTime<Utc>>> {
        let since: Option<i64> = self
            .conn
            .query_row(
                "UPDATE ops_conditions SET active = 0 WHERE what = ?1 AND active = 1 RETURNING since",
                params![what],
                |r| r.get(0),
            )
            .optional()?;
        Ok(since.map(from_ms))
    }

    /// Conditions active now whose name starts with `prefix`.
    pub fn active_conditions(&self, prefix: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT what FROM ops_conditions WHERE active = 1 AND substr(what, 1, length(?1)) = ?1 ORDER BY what",
        )?;
        let rows = stmt.query_map(params![prefix], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every notifier with deliveries pending: how many, and since when the longest one
    /// has waited.
    pub fn waiting(&self) -> Result<Vec<Waiting>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.notifier, COUNT(*), MIN(COALESCE(d.pending_since, a.created_at))
             FROM deliveries d JOIN alerts a ON a.seq = d.alert_seq
             WHERE d.state = 'pending' GROUP BY d.notifier ORDER BY d.notifier",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Waiting {
                notifier: r.get(0)?,
                pending: r.get::<_, i64>(1)? as u64,
                oldest: from_ms(r.get(2)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deliveries pending for one of `notifiers` (those the workers will send).
    pub fn pending_for(&self, notifiers: &[String]) -> Result<u64> {
        let names = serde_json::to_string(notifiers).unwrap_or_else(|_| "[]".into());
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries
             WHERE state = 'pending' AND notifier IN (SELECT value FROM json_each(?1))",
            params![names],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// What a run left undelivered: deliveries pending, and those that failed for good
    /// after an attempt at or after `since` (older failures were reported by their run).
    pub fn undelivered_since(&self, since: DateTime<Utc>) -> Result<(u64, u64)> {
        let pending = self.pending_count()?;
        let failed: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries d WHERE d.state = 'failed' AND EXISTS (
                 SELECT 1 FROM attempts t
                 WHERE t.alert_seq = d.alert_seq AND t.notifier = d.notifier AND t.at >= ?1)",
            params![ms(since)],
            |r| r.get(0),
        )?;
        Ok((pending, failed as u64))
    }

    /// Moves deliveries that were not delivered (pending, failed or dropped; not those
    /// held by a silence) to the notifier `to`: each becomes `dropped` ("re-routed to
    /// …"), and the alert gets a delivery to `to`, due now, unless `to` already has it
    /// delivered or waiting. Returns how many deliveries were moved.
    pub fn reroute_deliveries(
        &mut self,
        which: Deliveries<'_>,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let b = self.batch()?;
        let (seq, notifier, states) = match which {
            Deliveries::Alert { seq, notifier } => {
                (Some(seq), notifier, "'pending', 'failed', 'dropped'")
            }
            Deliveries::AllFailed { notifier } => (None, notifier, "'failed'"),
            Deliveries::Waiting { notifier } => (None, Some(notifier), "'pending', 'failed'"),
        };
        let moved: Vec<i64> = {
            let mut stmt = b.tx.prepare(&format!(
                "UPDATE deliveries SET state = 'dropped',
                     last_error = 're-routed to ' || ?3 || COALESCE(' (last error: ' || last_error || ')', '')
                 WHERE state IN ({states}) AND notifier != ?3
                   AND (?1 IS NULL OR alert_seq = ?1) AND (?2 IS NULL OR notifier = ?2)
                 RETURNING alert_seq"
            ))?;
            let rows = stmt.query_map(params![seq, notifier, to], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for s in &moved {
            b.tx.execute(
                "INSERT INTO deliveries (alert_seq, notifier, state, next_attempt_at, pending_since)
                 VALUES (?1, ?2, 'pending', ?3, ?3)
                 ON CONFLICT (alert_seq, notifier) DO UPDATE SET state = 'pending',
                     next_attempt_at = ?3, pending_since = ?3
                 WHERE state IN ('failed', 'dropped')",
                params![s, to, ms(now)],
            )?;
        }
        b.commit()?;
        Ok(moved.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(key: &str) -> Alert {
        let mut a = crate::testutil::alert();
        a.key = key.into();
        a
    }

    #[test]
    fn a_condition_is_told_once_then_held_after_it_clears() {
        let mut s = State::open_in_memory().unwrap();
        let t0 = Utc::now();
        let hold = chrono::Duration::hours(1);
        let to = ["pager".to_string()];
        let raise = |s: &mut State, key: &str, at| {
            s.raise_condition("notifier-failed:hook", at, hold, &alert(key), &to)
                .unwrap()
        };
        assert_eq!(raise(&mut s, "ops:1", t0), Raised::Told);
        assert_eq!(raise(&mut s, "ops:2", t0), Raised::Already);
        assert_eq!(
            s.active_conditions("notifier-failed:").unwrap(),
            ["notifier-failed:hook"]
        );
        assert_eq!(
            s.clear_condition("notifier-failed:hook").unwrap(),
            Some(from_ms(ms(t0)))
        );
        assert_eq!(s.clear_condition("notifier-failed:hook").unwrap(), None);
        // Failing again ten minutes later: active, not told again.
        let soon = t0 + chrono::Duration::minutes(10);
        assert_eq!(raise(&mut s, "ops:3", soon), Raised::Held);
        s.clear_condition("notifier-failed:hook").unwrap();
        let later = t0 + chrono::Duration::hours(2);
        assert_eq!(raise(&mut s, "ops:4", later), Raised::Told);
        let keys: Vec<String> = s
            .alerts(10)
            .unwrap()
            .into_iter()
            .map(|r| r.alert.key)
            .collect();
        assert_eq!(keys, ["ops:4", "ops:1"]);
    }

    #[test]
    fn reroute_moves_what_was_not_delivered() {
        let mut s = State::open_in_memory().unwrap();
        let t0 = Utc::now();
        for k in ["a", "b"] {
            let b = s.batch().unwrap();
            b.enqueue_alert(&alert(k), &["old".into(), "kept".into()], false)
                .unwrap();
            b.commit().unwrap();
        }
        s.mark_delivered(1, "kept", t0).unwrap();
        assert_eq!(s.pending_for(&["kept".into()]).unwrap(), 1);
        let w = s.waiting().unwrap();
        assert_eq!(
            w.iter()
                .map(|w| (w.notifier.as_str(), w.pending))
                .collect::<Vec<_>>(),
            [("kept", 1), ("old", 2)]
        );
        // Alert 1 to `kept`: its delivery there is done, so nothing new is sent.
        let one = Deliveries::Alert {
            seq: 1,
            notifier: Some("old"),
        };
        assert_eq!(s.reroute_deliveries(one, "kept", t0).unwrap(), 1);
        assert_eq!(s.pending_for(&["kept".into()]).unwrap(), 1);
        // Every delivery waiting for `old`, to `new`.
        let all = Deliveries::Waiting { notifier: "old" };
        assert_eq!(s.reroute_deliveries(all, "new", t0).unwrap(), 1);
        assert_eq!(s.pending_for(&["new".into()]).unwrap(), 1);
        let rows = s.alerts(10).unwrap();
        let old = rows[0].deliveries.iter().find(|d| d.0 == "old").unwrap();
        assert_eq!(
            (old.1.as_str(), old.3.as_deref()),
            ("dropped", Some("re-routed to new"))
        );
        assert_eq!(s.undelivered_since(t0).unwrap(), (2, 0));
    }

    /// A week-old alert re-queued by hand has waited since then, not for a week: its
    /// queue is not "late" at once.
    #[test]
    fn a_requeued_delivery_waits_from_its_requeue() {
        let mut s = State::open_in_memory().unwrap();
        let now = Utc::now();
        let mut a = alert("old");
        a.created_at = now - chrono::Duration::days(7);
        let b = s.batch().unwrap();
        b.enqueue_alert(&a, &["hook".into()], false).unwrap();
        b.commit().unwrap();
        assert_eq!(s.waiting().unwrap()[0].oldest, from_ms(ms(a.created_at)));
        s.mark_failed(1, "hook", now, "HTTP 404", None).unwrap();
        let which = Deliveries::AllFailed { notifier: None };
        assert_eq!(s.requeue_deliveries(which, now).unwrap(), 1);
        assert_eq!(s.waiting().unwrap()[0].oldest, from_ms(ms(now)));
    }
}
