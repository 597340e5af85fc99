//! WebSub subscriptions: which hub pushes which feed to which callback, with its secret
//! and lease (kept across restarts, so a lease is renewed on time).

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Result, State, from_ms, ms};

/// One row of the `websub` table, as stored (URLs as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub token: String,
    pub source: String,
    pub hub: String,
    pub topic: String,
    pub secret: String,
    pub requested_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub lease_until: Option<DateTime<Utc>>,
}

impl State {
    pub fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT token, source, hub, topic, secret, requested_at, verified_at, lease_until FROM websub",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SubscriptionRow {
                token: r.get(0)?,
                source: r.get(1)?,
                hub: r.get(2)?,
                topic: r.get(3)?,
                secret: r.get(4)?,
                requested_at: from_ms(r.get(5)?),
                verified_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
                lease_until: r.get::<_, Option<i64>>(7)?.map(from_ms),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Saves a subscription, new or renewed (same token).
    pub fn save_subscription(&self, s: &SubscriptionRow) -> Result<()> {
        self.conn.execute(
            "INSERT INTO websub (token, source, hub, topic, secret, requested_at, verified_at, lease_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (token) DO UPDATE SET verified_at = ?7, lease_until = ?8, requested_at = ?6",
            params![
                s.token,
                s.source,
                s.hub,
                s.topic,
                s.secret,
                ms(s.requested_at),
                s.verified_at.map(ms),
                s.lease_until.map(ms)
            ],
        )?;
        Ok(())
    }

    pub fn forget_subscription(&self, token: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM websub WHERE token = ?1", params![token])?;
        Ok(())
    }
}
