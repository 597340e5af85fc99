//! The outbox by hand — `veille alerts retry|drop` and the API re-queue or drop
//! deliveries (re-routing is in `ops.rs`) — and the installation's id, which every delivery key carries.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Result, State, ms};

/// Which deliveries a re-queue or a drop acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deliveries<'a> {
    /// The deliveries of one alert (`#seq` in `veille alerts`), to one notifier or all.
    Alert { seq: i64, notifier: Option<&'a str> },
    /// Every failed delivery, to one notifier or all.
    AllFailed { notifier: Option<&'a str> },
    /// Every delivery to one notifier that is pending or failed (those waiting for a
    /// notifier removed from the config).
    Waiting { notifier: &'a str },
}

impl State {
    /// This installation's id: random, made once with the state database, kept there.
    pub fn installation_id(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT id FROM installation LIMIT 1", [], |r| r.get(0))?)
    }

    /// Puts deliveries back in the queue, due now: for one alert, those pending (their
    /// backoff is skipped), failed or dropped; with `AllFailed`, the failed ones. Returns
    /// how many.
    pub fn requeue_deliveries(&self, which: Deliveries<'_>, now: DateTime<Utc>) -> Result<usize> {
        Ok(match which {
            Deliveries::Alert { seq, notifier } => self.conn.execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?3,
                     pending_since = CASE WHEN state = 'pending' THEN pending_since ELSE ?3 END
                 WHERE alert_seq = ?1 AND state IN ('pending', 'failed', 'dropped')
                   AND (?2 IS NULL OR notifier = ?2)",
                params![seq, notifier, ms(now)],
            )?,
            Deliveries::AllFailed { notifier } => self.conn.execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?2, pending_since = ?2
                 WHERE state = 'failed' AND (?1 IS NULL OR notifier = ?1)",
                params![notifier, ms(now)],
            )?,
            Deliveries::Waiting { notifier } => self.conn.execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?2,
                     pending_since = CASE WHEN state = 'pending' THEN pending_since ELSE ?2 END
                 WHERE state IN ('pending', 'failed') AND notifier = ?1",
                params![notifier, ms(now)],
            )?,
        })
    }

    /// Gives deliveries up for good: for one alert, those pending, held by a silence or
    /// failed; with `AllFailed`, the failed ones. They are never sent and show as
    /// `dropped`, with `why` before their last error. Returns how many.
    pub fn drop_deliveries(&self, which: Deliveries<'_>, why: &str) -> Result<usize> {
        const SET: &str = "UPDATE deliveries SET state = 'dropped',
                 last_error = ?1 || COALESCE(' (last error: ' || last_error || ')', '')";
        Ok(match which {
            Deliveries::Alert { seq, notifier } => self.conn.execute(
                &format!(
                    "{SET} WHERE alert_seq = ?2 AND state IN ('pending', 'silenced', 'failed')
                       AND (?3 IS NULL OR notifier = ?3)"
                ),
                params![why, seq, notifier],
            )?,
            Deliveries::AllFailed { notifier } => self.conn.execute(
                &format!("{SET} WHERE state = 'failed' AND (?2 IS NULL OR notifier = ?2)"),
                params![why, notifier],
            )?,
            Deliveries::Waiting { notifier } => self.conn.execute(
                &format!("{SET} WHERE state IN ('pending', 'failed') AND notifier = ?2"),
                params![why, notifier],
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(key: &str, incident: i64, at: DateTime<Utc>) -> crate::model::Alert {
        let mut a = crate::testutil::alert();
        a.key = key.into();
        a.incident = incident;
        a.created_at = at;
        a
    }

    fn enqueue(s: &mut State, a: &crate::model::Alert) {
        let b = s.batch().unwrap();
        b.enqueue_alert(a, &["hook".to_string()], false).unwrap();
        b.commit().unwrap();
    }

    fn next(s: &State, now: DateTime<Utc>) -> Option<String> {
        s.next_delivery("hook", now).unwrap().map(|d| d.alert.key)
    }

    /// Regression: the oldest pending alert of a channel went first, always, so one
    /// alert retrying forever held every later alert to that channel.
    #[test]
    fn an_alert_in_backoff_does_not_hold_other_incidents() {
        let mut s = State::open_in_memory().unwrap();
        let t0 = Utc::now();
        enqueue(&mut s, &alert("a:1", 1, t0));
        enqueue(&mut s, &alert("a:2", 1, t0));
        enqueue(&mut s, &alert("b:1", 2, t0));
        enqueue(&mut s, &alert("c:1", 3, t0));
        // Due alike: in the order they were raised.
        assert_eq!(next(&s, t0).as_deref(), Some("a:1"));
        // a:1 fails and waits; b:1, of another incident, goes first. a:2 waits behind a:1,
        // its incident's first message.
        let later = t0 + chrono::Duration::minutes(10);
        s.mark_failed(1, "hook", t0, "HTTP 500", Some(later))
            .unwrap();
        assert_eq!(next(&s, t0).as_deref(), Some("b:1"));
        s.mark_delivered(3, "hook", t0).unwrap();
        // c:1 waits too, less long: nothing is due, the soonest comes next.
        let sooner = t0 + chrono::Duration::minutes(2);
        s.mark_failed(4, "hook", t0, "HTTP 503", Some(sooner))
            .unwrap();
        let d = s.next_delivery("hook", t0).unwrap().unwrap();
        assert_eq!(
            (d.alert.key.as_str(), d.next_attempt_at),
            ("c:1", super::super::from_ms(ms(sooner)))
        );
        // Both due: the older alert first.
        assert_eq!(next(&s, later).as_deref(), Some("a:1"));
        // a:1 given up: the rest of its incident goes.
        s.mark_failed(1, "hook", t0, "HTTP 400", None).unwrap();
        assert_eq!(next(&s, later).as_deref(), Some("a:2"));
    }

    #[test]
    fn an_unreadable_alert_is_set_aside() {
        let mut s = State::open_in_memory().unwrap();
        let t0 = Utc::now();
        enqueue(&mut s, &alert("bad", 1, t0));
        enqueue(&mut s, &alert("good", 2, t0));
        s.conn
            .execute("UPDATE alerts SET payload = '{' WHERE key = 'bad'", [])
            .unwrap();
        assert_eq!(next(&s, t0).as_deref(), Some("good"));
        let rows = s
            .conn
            .query_row(
                "SELECT state, last_error FROM deliveries WHERE alert_seq = 1",
                [],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .unwrap();
        assert_eq!(rows.0, "failed");
        assert!(rows.1.contains("cannot be read"), "{}", rows.1);
    }

    #[test]
    fn requeue_and_drop_by_alert_or_all_failed() {
        let mut s = State::open_in_memory().unwrap();
        let t0 = Utc::now();
        for (i, k) in ["x:1", "y:1", "z:1"].iter().enumerate() {
            enqueue(&mut s, &alert(k, i as i64 + 1, t0));
        }
        s.mark_failed(1, "hook", t0, "HTTP 404", None).unwrap();
        s.mark_failed(2, "hook", t0, "HTTP 410", None).unwrap();
        let later = t0 + chrono::Duration::hours(1);
        s.mark_failed(3, "hook", t0, "HTTP 503", Some(later))
            .unwrap();
        // A pending delivery in backoff is due again at once.
        fn all(notifier: Option<&str>) -> Deliveries<'_> {
            Deliveries::AllFailed { notifier }
        }
        let one = |seq| Deliveries::Alert {
            seq,
            notifier: None,
        };
        assert_eq!(s.requeue_deliveries(one(3), t0).unwrap(), 1);
        assert_eq!(
            s.next_delivery("hook", t0)
                .unwrap()
                .unwrap()
                .next_attempt_at,
            super::super::from_ms(ms(t0))
        );
        assert_eq!(s.requeue_deliveries(all(Some("other")), t0).unwrap(), 0);
        assert_eq!(s.drop_deliveries(one(1), "dropped by test").unwrap(), 1);
        assert_eq!(s.requeue_deliveries(all(None), t0).unwrap(), 1, "only #2");
        assert_eq!(s.drop_deliveries(one(2), "dropped by test").unwrap(), 1);
        assert_eq!(s.drop_deliveries(one(3), "dropped by test").unwrap(), 1);
        assert_eq!(s.pending_count().unwrap(), 0);
        let rows = s.alerts(10).unwrap();
        let (_, state, _, err) = &rows.last().unwrap().deliveries[0];
        assert_eq!(state, "dropped");
        assert_eq!(
            err.as_deref(),
            Some("dropped by test (last error: HTTP 404)")
        );
        // A dropped delivery can be brought back by its alert's number.
        assert_eq!(s.requeue_deliveries(one(1), t0).unwrap(), 1);
        assert_eq!(s.pending_count().unwrap(), 1);
    }

    #[test]
    fn installation_id_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.sqlite");
        let id = State::open(&p).unwrap().installation_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(State::open(&p).unwrap().installation_id().unwrap(), id);
        let other = tempfile::tempdir().unwrap();
        let id2 = State::open(&other.path().join("s.sqlite"))
            .unwrap()
            .installation_id()
            .unwrap();
        assert_ne!(id, id2);
    }
}
