//! Each source's saved state (validators, cursor), its health and schedule.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Batch, Error, Result, State, from_ms, ms};
use crate::model::SourceState;

/// One source's row, for `veille sources` and the scheduler.
#[derive(Debug, Clone, Default)]
pub struct SourceRow {
    pub id: String,
    pub state: SourceState,
    pub last_polled: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub failures: u32,
    pub items_seen: u64,
    pub next_due: Option<DateTime<Utc>>,
    pub auto_every: Option<u64>,
    pub failing_since: Option<DateTime<Utc>>,
    pub unhealthy: bool,
    /// Items dropped because processing them failed, and the last such failure
    /// ("stage: error (url)").
    pub items_failed: u64,
    pub last_item_error: Option<String>,
    pub last_item_error_at: Option<DateTime<Utc>>,
    /// The last poll served this many items, all older than the source's look-back
    /// (`backfill`): nothing new came of it (None: not the case).
    pub old_items: Option<u64>,
    pub old_items_at: Option<DateTime<Utc>>,
}

/// What [`State::summary`] counts: figures for metrics and the service status line.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub pending: u64,
    pub oldest_pending_seconds: i64,
    pub sources: u64,
    pub unhealthy: u64,
    pub failing: u64,
    pub due: u64,
    pub open_incidents: u64,
}

impl Summary {
    /// The figures the metrics endpoint shows as gauges.
    pub fn figures(&self) -> crate::metrics::StateFigures {
        crate::metrics::StateFigures {
            pending: self.pending,
            oldest_pending_seconds: self.oldest_pending_seconds,
            sources: self.sources,
            unhealthy: self.unhealthy,
            open_incidents: self.open_incidents,
        }
    }
}

impl State {
    pub fn sources(&self) -> Result<Vec<SourceRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, state, last_polled, last_success, last_error, last_error_at, failures, items_seen,
                    next_due, auto_every, failing_since, unhealthy,
                    items_failed, last_item_error, last_item_error_at, old_items, old_items_at
             FROM sources ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            let state: String = r.get(1)?;
            Ok(SourceRow {
                id: r.get(0)?,
                state: serde_json::from_str(&state).unwrap_or_default(),
                last_polled: r.get::<_, Option<i64>>(2)?.map(from_ms),
                last_success: r.get::<_, Option<i64>>(3)?.map(from_ms),
                last_error: r.get(4)?,
                last_error_at: r.get::<_, Option<i64>>(5)?.map(from_ms),
                failures: r.get(6)?,
                items_seen: r.get::<_, i64>(7)? as u64,
                next_due: r.get::<_, Option<i64>>(8)?.map(from_ms),
                auto_every: r.get::<_, Option<i64>>(9)?.map(|v| v as u64),
                failing_since: r.get::<_, Option<i64>>(10)?.map(from_ms),
                unhealthy: r.get::<_, i64>(11)? != 0,
                items_failed: r.get::<_, i64>(12)? as u64,
                last_item_error: r.get(13)?,
                last_item_error_at: r.get::<_, Option<i64>>(14)?.map(from_ms),
                old_items: r.get::<_, Option<i64>>(15)?.map(|v| v as u64),
                old_items_at: r.get::<_, Option<i64>>(16)?.map(from_ms),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Figures for metrics and the service status line.
    pub fn summary(&self, now: DateTime<Utc>) -> Result<Summary> {
        let c = &self.conn;
        let (pending, oldest): (i64, Option<i64>) = c.query_row(
            "SELECT COUNT(*), MIN(a.created_at) FROM deliveries d JOIN alerts a ON a.seq = d.alert_seq WHERE d.state = 'pending'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (sources, unhealthy, failing, due): (i64, i64, i64, i64) = c.query_row(
            "SELECT COUNT(*), COALESCE(SUM(unhealthy), 0), COALESCE(SUM(failures > 0), 0),
                    COALESCE(SUM(next_due IS NOT NULL AND next_due <= ?1), 0) FROM sources",
            params![ms(now)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let open_incidents: i64 = c.query_row(
            "SELECT COUNT(*) FROM incidents WHERE state = 'open'",
            [],
            |r| r.get(0),
        )?;
        Ok(Summary {
            pending: pending as u64,
            oldest_pending_seconds: oldest.map_or(0, |t| ((ms(now) - t) / 1000).max(0)),
            sources: sources as u64,
            unhealthy: unhealthy as u64,
            failing: failing as u64,
            due: due as u64,
            open_incidents: open_incidents as u64,
        })
    }
}

impl Batch<'_> {
    /// Records a successful poll (with its new validators/cursor). When the source was
    /// unhealthy and has now recovered, returns since when it was failing.
    pub fn source_success(
        &self,
        id: &str,
        state: &SourceState,
        new_items: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let tx = &self.tx;
        let was_unhealthy = tx
            .prepare_cached("SELECT failing_since FROM sources WHERE id = ?1 AND unhealthy != 0")?
            .query_row(params![id], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .map(|since| from_ms(since.unwrap_or_else(|| ms(now))));
        let state = serde_json::to_string(state).map_err(|source| Error::Encode {
            what: "a source state",
            source,
        })?;
        tx.prepare_cached(
            "INSERT INTO sources (id, state, last_polled, last_success, failures, items_seen)
             VALUES (?1, ?2, ?3, ?3, 0, ?4)
             ON CONFLICT (id) DO UPDATE SET state = ?2, last_polled = ?3, last_success = ?3,
                 failures = 0, items_seen = items_seen + ?4, failing_since = NULL, unhealthy = 0",
        )?
        .execute(params![id, state, ms(now), new_items as i64])?;
        Ok(was_unhealthy)
    }

    /// Records a failed poll. When the source has been failing for `unhealthy_after` and
    /// this failure marks it unhealthy, returns since when it has been failing.
    pub fn source_failure(
        &self,
        id: &str,
        error: &str,
        now: DateTime<Utc>,
        unhealthy_after: chrono::Duration,
    ) -> Result<Option<DateTime<Utc>>> {
        let tx = &self.tx;
        // An API may quote its key back in an error: no known secret is stored.
        let error = crate::model::redact::scrub(error);
        tx.prepare_cached(
            "INSERT INTO sources (id, last_polled, last_error, last_error_at, failures, failing_since)
             VALUES (?1, ?2, ?3, ?2, 1, ?2)
             ON CONFLICT (id) DO UPDATE SET last_polled = ?2, last_error = ?3, last_error_at = ?2,
                 failures = failures + 1, failing_since = COALESCE(failing_since, ?2)",
        )?
        .execute(params![id, ms(now), error.as_str()])?;
        let (since, unhealthy): (i64, i64) = tx
            .prepare_cached("SELECT failing_since, unhealthy FROM sources WHERE id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if unhealthy == 0 && now - from_ms(since) >= unhealthy_after {
            tx.prepare_cached("UPDATE sources SET unhealthy = 1 WHERE id = ?1")?
                .execute(params![id])?;
            return Ok(Some(from_ms(since)));
        }
        Ok(None)
    }

    /// Records when a source is due next (and its adaptive interval).
    pub fn source_scheduled(
        &self,
        id: &str,
        next_due: DateTime<Utc>,
        auto_every: Option<u64>,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO sources (id, next_due, auto_every) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET next_due = ?2, auto_every = COALESCE(?3, auto_every)",
            )?
            .execute(params![id, ms(next_due), auto_every.map(|v| v as i64)])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_state_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::open(&dir.path().join("s.sqlite")).unwrap();
        let now = Utc::now();
        let st = SourceState {
            validators: crate::model::Validators {
                etag: Some("W/\"abc\"".into()),
                last_modified: None,
            },
            cursor: None,
            quota: None,
        };
        let b = s.batch().unwrap();
        b.source_success("feed", &st, 3, now).unwrap();
        b.source_failure("feed", "HTTP 500", now, chrono::Duration::hours(1))
            .unwrap();
        b.commit().unwrap();
        let rows = s.sources().unwrap();
        assert_eq!(rows[0].state, st);
        assert_eq!(rows[0].failures, 1);
        assert_eq!(rows[0].items_seen, 3);
        assert_eq!(rows[0].last_error.as_deref(), Some("HTTP 500"));
    }

    /// Regression: a source marked unhealthy on a long failure recovers on its first
    /// success, and says so once.
    #[test]
    fn an_unhealthy_source_recovers_on_success() {
        let mut s = State::open_in_memory().unwrap();
        let t0 = Utc::now();
        let b = s.batch().unwrap();
        assert!(
            b.source_failure("f", "HTTP 500", t0, chrono::Duration::hours(1))
                .unwrap()
                .is_none()
        );
        let later = t0 + chrono::Duration::hours(2);
        let since = Some(from_ms(ms(t0)));
        assert_eq!(
            b.source_failure("f", "HTTP 500", later, chrono::Duration::hours(1))
                .unwrap(),
            since
        );
        assert_eq!(
            b.source_success("f", &SourceState::default(), 0, later)
                .unwrap(),
            since
        );
        assert!(
            b.source_success("f", &SourceState::default(), 0, later)
                .unwrap()
                .is_none()
        );
        b.commit().unwrap();
        assert_eq!(s.summary(later).unwrap().unhealthy, 0);
    }
}
