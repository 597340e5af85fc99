//! When each digest went out, and digests whose delivery to a notifier failed and will
//! be tried again (across restarts).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, State, from_ms, ms};

/// A digest whose delivery to one notifier failed and will be tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRetry {
    pub digest: String,
    pub notifier: String,
    /// The occurrence of the schedule it was due at (its period ends there).
    pub due: DateTime<Utc>,
    pub attempts: u32,
    pub next_try: DateTime<Utc>,
    pub last_error: String,
}

impl State {
    pub fn digest_last_sent(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT last_sent FROM digests WHERE name = ?1",
                params![name],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(from_ms))
    }

    pub fn set_digest_sent(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO digests (name, last_sent) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET last_sent = ?2",
            params![name, ms(at)],
        )?;
        Ok(())
    }

    /// Records (or replaces) the retry of one digest to one notifier.
    pub fn set_digest_retry(&self, r: &DigestRetry) -> Result<()> {
        self.conn.execute(
            "INSERT INTO digest_retries (digest, notifier, due, attempts, next_try, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (digest, notifier) DO UPDATE
             SET due = ?3, attempts = ?4, next_try = ?5, last_error = ?6",
            params![
                r.digest,
                r.notifier,
                ms(r.due),
                r.attempts,
                ms(r.next_try),
                r.last_error
            ],
        )?;
        Ok(())
    }

    pub fn digest_retries(&self) -> Result<Vec<DigestRetry>> {
        let mut stmt = self.conn.prepare(
            "SELECT digest, notifier, due, attempts, next_try, last_error FROM digest_retries
             ORDER BY next_try",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DigestRetry {
                digest: r.get(0)?,
                notifier: r.get(1)?,
                due: from_ms(r.get(2)?),
                attempts: r.get(3)?,
                next_try: from_ms(r.get(4)?),
                last_error: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn remove_digest_retry(&self, digest: &str, notifier: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM digest_retries WHERE digest = ?1 AND notifier = ?2",
            params![digest, notifier],
        )?;
        Ok(())
    }

    /// The latest alert of an incident, as a digest lists open incidents by what they
    /// are about rather than by number. None when no alert of it is kept or its payload
    /// cannot be read (the digest then names the rule).
    pub fn incident_latest_alert(&self, incident: i64) -> Result<Option<crate::model::Alert>> {
        Ok(self
            .conn
            .query_row(
                "SELECT payload FROM alerts WHERE incident = ?1 ORDER BY seq DESC LIMIT 1",
                params![incident],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|p| serde_json::from_str(&p).ok()))
    }
}
