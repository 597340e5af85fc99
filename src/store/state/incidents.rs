//! Incidents (what rules opened, updated, resolved) and silences.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Batch, Result, State, from_ms, ms};
use crate::model::{Incident, Silence};

fn incident_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Incident> {
    Ok(Incident {
        id: r.get(0)?,
        rule: r.get(1)?,
        brand: r.get(2)?,
        group: r.get(3)?,
        opened_at: from_ms(r.get(4)?),
        last_true_at: from_ms(r.get(5)?),
        last_alert_at: from_ms(r.get(6)?),
        alerts: r.get(7)?,
        state: r.get(8)?,
        resolved_at: r.get::<_, Option<i64>>(9)?.map(from_ms),
        suppressed: r.get(10)?,
        acked_at: r.get::<_, Option<i64>>(11)?.map(from_ms),
        acked_by: r.get(12)?,
    })
}

const INCIDENT_COLUMNS: &str = "id, rule, brand, grp, opened_at, last_true_at, last_alert_at, alerts, state, resolved_at, suppressed, acked_at, acked_by";

fn open_incidents(conn: &Connection) -> Result<Vec<Incident>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE state = 'open' ORDER BY id"
    ))?;
    let rows = stmt.query_map([], incident_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn silences(conn: &Connection) -> Result<Vec<Silence>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, rule, brand, starts_at, ends_at, reason, expired_at, author FROM silences ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Silence {
            id: r.get(0)?,
            rule: r.get(1)?,
            brand: r.get(2)?,
            starts_at: from_ms(r.get(3)?),
            ends_at: from_ms(r.get(4)?),
            reason: r.get(5)?,
            expired_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
            author: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl State {
    /// Incidents, newest first: `state` = "open", "resolved" or None for both.
    pub fn incidents(&self, state: Option<&str>, limit: usize) -> Result<Vec<Incident>> {
        self.incidents_of(state, None, None, limit)
    }

    /// Incidents, newest first, of a state, rule and brand (None: any).
    pub fn incidents_of(
        &self,
        state: Option<&str>,
        rule: Option<&str>,
        brand: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Incident>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE (?1 IS NULL OR state = ?1)
             AND (?2 IS NULL OR rule = ?2) AND (?3 IS NULL OR brand = ?3) ORDER BY id DESC LIMIT ?4"
        ))?;
        let rows = stmt.query_map(
            params![state, rule, brand, limit.min(i64::MAX as usize) as i64],
            incident_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn incident(&self, id: i64) -> Result<Option<Incident>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1"
            ))?
            .query_row(params![id], incident_row)
            .optional()?)
    }

    /// Acknowledges an open incident: no more updates are sent for it (its resolution
    /// is). Returns false when there is no open incident with that id.
    pub fn ack_incident(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE incidents SET acked_at = ?2, acked_by = ?3 WHERE id = ?1 AND state = 'open'",
            params![id, ms(now), by],
        )? > 0)
    }

    pub fn open_incidents(&self) -> Result<Vec<Incident>> {
        open_incidents(&self.conn)
    }

    pub fn add_silence(
        &self,
        rule: Option<&str>,
        brand: Option<&str>,
        now: DateTime<Utc>,
        ends: DateTime<Utc>,
        reason: &str,
    ) -> Result<i64> {
        self.add_silence_by(rule, brand, now, ends, reason, None)
    }

    /// [`State::add_silence`], recording who added it.
    pub fn add_silence_by(
        &self,
        rule: Option<&str>,
        brand: Option<&str>,
        now: DateTime<Utc>,
        ends: DateTime<Utc>,
        reason: &str,
        author: Option<&str>,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO silences (rule, brand, starts_at, ends_at, reason, author) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![rule, brand, ms(now), ms(ends), reason, author],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Ends a silence still in force now; false when there is none with that id.
    pub fn expire_silence(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE silences SET expired_at = ?2 WHERE id = ?1 AND expired_at IS NULL AND ends_at > ?2",
            params![id, ms(now)],
        )? > 0)
    }

    pub fn silences(&self) -> Result<Vec<Silence>> {
        silences(&self.conn)
    }
}

impl Batch<'_> {
    pub fn open_incident(&self, rule: &str, brand: &str, group: &str) -> Result<Option<Incident>> {
        Ok(self
            .tx
            .prepare_cached(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE state = 'open' AND rule = ?1 AND brand = ?2 AND grp = ?3"
            ))?
            .query_row(params![rule, brand, group], incident_row)
            .optional()?)
    }

    pub fn open_incidents(&self) -> Result<Vec<Incident>> {
        open_incidents(&self.tx)
    }

    pub fn create_incident(
        &self,
        rule: &str,
        brand: &str,
        group: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO incidents (rule, brand, grp, state, opened_at, last_true_at, last_alert_at, alerts)
                 VALUES (?1, ?2, ?3, 'open', ?4, ?4, ?4, 0)",
            )?
            .execute(params![rule, brand, group, ms(now)])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The condition held at `now`; `alerted` when an alert went out for it.
    pub fn touch_incident(&self, id: i64, now: DateTime<Utc>, alerted: bool) -> Result<()> {
        if alerted {
            self.tx.prepare_cached("UPDATE incidents SET last_true_at = ?2, last_alert_at = ?2, alerts = alerts + 1 WHERE id = ?1")?
                .execute(params![id, ms(now)])?;
        } else {
            self.tx
                .prepare_cached(
                    "UPDATE incidents SET last_true_at = ?2, suppressed = suppressed + 1 WHERE id = ?1",
                )?
                .execute(params![id, ms(now)])?;
        }
        Ok(())
    }

    /// The condition of an open incident still holds at `now` (no alert, nothing
    /// suppressed: time passed).
    pub fn incident_holds(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE incidents SET last_true_at = ?2 WHERE id = ?1")?
            .execute(params![id, ms(now)])?;
        Ok(())
    }

    /// A message went out for incident `id` (held mentions), the condition not renewed.
    pub fn incident_alerted(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE incidents SET last_alert_at = ?2, alerts = alerts + 1 WHERE id = ?1",
            )?
            .execute(params![id, ms(now)])?;
        Ok(())
    }

    /// Resolves incident `id`. Its mentions (`incident_mentions`) are forgotten: the
    /// resolution notice, made before, carried what was held and the summary.
    pub fn resolve_incident(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE incidents SET state = 'resolved', resolved_at = ?2 WHERE id = ?1",
            )?
            .execute(params![id, ms(now)])?;
        self.tx
            .prepare_cached("DELETE FROM incident_mentions WHERE incident = ?1")?
            .execute(params![id])?;
        Ok(())
    }

    pub fn silences(&self) -> Result<Vec<Silence>> {
        silences(&self.tx)
    }

    /// Deliveries held by a silence that no longer applies, for incidents still open, go
    /// out now. Returns how many were released.
    pub fn release_silenced(&self, now: DateTime<Utc>) -> Result<usize> {
        let tx = &self.tx;
        let active: Vec<Silence> = silences(tx)?
            .into_iter()
            .filter(|s| s.active(now))
            .collect();
        let held: Vec<(i64, String, String, String, Option<i64>)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT d.alert_seq, d.notifier, a.rule, a.brand, a.incident FROM deliveries d JOIN alerts a ON a.seq = d.alert_seq
                 WHERE d.state = 'silenced'",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut released = 0;
        for (seq, notifier, rule, brand, incident) in held {
            if active.iter().any(|s| s.covers(&rule, &brand)) {
                continue;
            }
            let open = match incident {
                Some(id) => tx
                    .prepare_cached("SELECT 1 FROM incidents WHERE id = ?1 AND state = 'open'")?
                    .exists(params![id])?,
                None => true,
            };
            if open {
                tx.prepare_cached(
                    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?3, pending_since = ?3 WHERE alert_seq = ?1 AND notifier = ?2",
                )?
                .execute(params![seq, notifier, ms(now)])?;
                released += 1;
            }
        }
        Ok(released)
    }
}
