//! The outbox: every alert is written here, with one delivery per notifier, in the
//! transaction that records its mentions; the delivery workers take them from here.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Batch, Error, Result, State, from_ms, ms};
use crate::model::Alert;

/// A delivery waiting in the outbox.
#[derive(Debug, Clone)]
pub struct PendingDelivery {
    pub alert_seq: i64,
    pub notifier: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub alert: Alert,
}

/// An alert with its delivery states, for listings.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub seq: i64,
    pub alert: Alert,
    /// (notifier, state, attempts, last error), by notifier.
    pub deliveries: Vec<(String, String, u32, Option<String>)>,
}

impl AlertRow {
    /// The alert with its deliveries as `veille alerts --json` and `/api/alerts` show it;
    /// `configured` names the notifiers of the config, so a delivery still pending for
    /// another is marked `orphaned` (it would wait forever).
    pub fn json(&self, configured: &[String]) -> serde_json::Value {
        serde_json::json!({
            "seq": self.seq,
            "alert": self.alert,
            "deliveries": self.deliveries.iter().map(|(notifier, state, attempts, error)| serde_json::json!({
                "notifier": notifier, "state": state, "attempts": attempts,
                "orphaned": state == "pending" && !configured.contains(notifier),
                // Errors recorded by an older veille may hold a secret.
                "last_error": error.as_deref().map(crate::model::redact::scrub),
            })).collect::<Vec<_>>(),
        })
    }
}

impl Batch<'_> {
    /// Writes an alert and one delivery per notifier (held when `silenced`). An alert
    /// whose key exists is ignored: the dedup key makes a redone batch harmless. Returns
    /// whether it was new.
    pub fn enqueue_alert(
        &self,
        alert: &Alert,
        notifiers: &[String],
        silenced: bool,
    ) -> Result<bool> {
        let payload = serde_json::to_string(alert).map_err(|source| Error::Encode {
            what: "an alert",
            source,
        })?;
        let inserted = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO alerts (key, rule, brand, severity, created_at, payload, incident, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                alert.key,
                alert.rule,
                alert.brand,
                alert.severity.as_str(),
                ms(alert.created_at),
                payload,
                alert.incident,
                alert.status.as_str()
            ])?;
        if inserted == 0 {
            return Ok(false);
        }
        let seq = self.tx.last_insert_rowid();
        for n in notifiers {
            self.tx
                .prepare_cached(
                    "INSERT INTO deliveries (alert_seq, notifier, state, next_attempt_at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    seq,
                    n,
                    if silenced { "silenced" } else { "pending" },
                    ms(alert.created_at)
                ])?;
        }
        Ok(true)
    }
}

impl State {
    /// The next delivery for `notifier`, among the first pending delivery of each incident
    /// (order is kept within an incident): the oldest alert of those due at `now`, else
    /// the one due soonest — never one waiting out its backoff ahead of one that is due.
    /// An alert whose payload cannot be read is set aside as failed, so it cannot hold the
    /// queue.
    pub fn next_delivery(
        &self,
        notifier: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingDelivery>> {
        loop {
            let row = self
                .conn
                .prepare_cached(
                    "SELECT d.alert_seq, d.attempts, d.next_attempt_at, a.payload
                     FROM deliveries d JOIN alerts a ON a.seq = d.alert_seq
                     WHERE d.notifier = ?1 AND d.state = 'pending'
                       AND NOT EXISTS (
                         SELECT 1 FROM deliveries e JOIN alerts b ON b.seq = e.alert_seq
                         WHERE e.notifier = d.notifier AND e.state = 'pending'
                           AND e.alert_seq < d.alert_seq
                           AND a.incident > 0 AND b.incident = a.incident)
                     ORDER BY d.next_attempt_at > ?2,
                       CASE WHEN d.next_attempt_at > ?2 THEN d.next_attempt_at END,
                       d.alert_seq
                     LIMIT 1",
                )?
                .query_row(params![notifier, ms(now)], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .optional()?;
            let Some((seq, attempts, next, payload)) = row else {
                return Ok(None);
            };
            match serde_json::from_str::<Alert>(&payload) {
                Ok(alert) => {
                    return Ok(Some(PendingDelivery {
                        alert_seq: seq,
                        notifier: notifier.to_string(),
                        attempts,
                        next_attempt_at: from_ms(next),
                        alert,
                    }));
                }
                Err(e) => {
                    self.conn.execute(
                        "UPDATE deliveries SET state = 'failed', last_error = ?3
                         WHERE alert_seq = ?1 AND notifier = ?2",
                        params![
                            seq,
                            notifier,
                            format!("the stored alert cannot be read: {e}")
                        ],
                    )?;
                }
            }
        }
    }

    pub fn mark_delivered(&mut self, seq: i64, notifier: &str, now: DateTime<Utc>) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = ?3, last_error = NULL
             WHERE alert_seq = ?1 AND notifier = ?2",
            params![seq, notifier, ms(now)],
        )?;
        tx.execute(
            "INSERT INTO attempts (alert_seq, notifier, at, ok, error) VALUES (?1, ?2, ?3, 1, NULL)",
            params![seq, notifier, ms(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt; `next_attempt_at = None` means give up (permanent error).
    /// A delivery dropped meanwhile stays dropped.
    pub fn mark_failed(
        &mut self,
        seq: i64,
        notifier: &str,
        now: DateTime<Utc>,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let error = crate::model::redact::scrub(error);
        let tx = self.conn.transaction()?;
        match next_attempt_at {
            Some(next) => tx.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4
                 WHERE alert_seq = ?1 AND notifier = ?2 AND state = 'pending'",
                params![seq, notifier, error, ms(next)],
            )?,
            None => tx.execute(
                "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_error = ?3
                 WHERE alert_seq = ?1 AND notifier = ?2 AND state = 'pending'",
                params![seq, notifier, error],
            )?,
        };
        tx.execute(
            "INSERT INTO attempts (alert_seq, notifier, at, ok, error) VALUES (?1, ?2, ?3, 0, ?4)",
            params![seq, notifier, ms(now), error],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deliveries not yet accepted by their channel.
    pub fn pending_count(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Notifiers that have deliveries waiting.
    pub fn pending_notifiers(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT notifier FROM deliveries WHERE state = 'pending'")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Latest alerts with their delivery states, newest first.
    pub fn alerts(&self, limit: usize) -> Result<Vec<AlertRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, payload FROM alerts ORDER BY seq DESC LIMIT ?1")?;
        let rows: Vec<(i64, String)> = stmt
            .query_map(params![limit.min(i64::MAX as usize) as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        self.alert_rows(rows)
    }

    /// The alerts of one incident with their delivery states, oldest first.
    pub fn incident_alerts(&self, incident: i64) -> Result<Vec<AlertRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, payload FROM alerts WHERE incident = ?1 ORDER BY seq")?;
        let rows: Vec<(i64, String)> = stmt
            .query_map(params![incident], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        self.alert_rows(rows)
    }

    fn alert_rows(&self, rows: Vec<(i64, String)>) -> Result<Vec<AlertRow>> {
        let mut d = self.conn.prepare(
            "SELECT notifier, state, attempts, last_error FROM deliveries WHERE alert_seq = ?1 ORDER BY notifier",
        )?;
        let mut out = Vec::new();
        for (seq, payload) in rows {
            let deliveries = d
                .query_map(params![seq], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            out.push(AlertRow {
                seq,
                alert: serde_json::from_str(&payload).map_err(|e| {
                    Error::Corrupt(format!(
                        "alert #{seq}: the stored alert cannot be read: {e}"
                    ))
                })?,
                deliveries,
            });
        }
        Ok(out)
    }
}
