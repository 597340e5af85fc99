//! SQLite state: per-source state, mentions already processed, rule state, alerts and
//! their outbox. WAL mode; versioned migrations from the first release.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::alerts::Alert;
use crate::sources::SourceState;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
/// Never edit a released migration: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: first release
    r#"
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL DEFAULT '{}',
        last_polled INTEGER,
        last_success INTEGER,
        last_error TEXT,
        last_error_at INTEGER,
        failures INTEGER NOT NULL DEFAULT 0,
        items_seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE seen (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        seen_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE rule_state (
        rule TEXT NOT NULL,
        brand TEXT NOT NULL,
        last_fired_at INTEGER NOT NULL,
        PRIMARY KEY (rule, brand)
    ) WITHOUT ROWID;
    CREATE TABLE alerts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        brand TEXT NOT NULL,
        severity TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        alert_seq INTEGER NOT NULL REFERENCES alerts(seq),
        notifier TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        delivered_at INTEGER,
        PRIMARY KEY (alert_seq, notifier)
    );
    CREATE INDEX deliveries_queue ON deliveries (notifier, state, alert_seq);
    CREATE TABLE attempts (
        alert_seq INTEGER NOT NULL,
        notifier TEXT NOT NULL,
        at INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        error TEXT
    );
    "#,
    // 2: crawler health and schedule, WebSub subscriptions
    r#"
    ALTER TABLE sources ADD COLUMN next_due INTEGER;
    ALTER TABLE sources ADD COLUMN auto_every INTEGER;
    ALTER TABLE sources ADD COLUMN failing_since INTEGER;
    ALTER TABLE sources ADD COLUMN unhealthy INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE websub (
        token TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        hub TEXT NOT NULL,
        topic TEXT NOT NULL,
        secret TEXT NOT NULL,
        requested_at INTEGER NOT NULL,
        verified_at INTEGER,
        lease_until INTEGER
    );
    CREATE INDEX websub_source ON websub (source);
    "#,
    // 3: authors and sites per brand (influencers, first-time authors and sites)
    r#"
    CREATE TABLE authors (
        brand TEXT NOT NULL,
        author TEXT NOT NULL,
        name TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        mentions INTEGER NOT NULL DEFAULT 0,
        reach INTEGER,
        PRIMARY KEY (brand, author)
    ) WITHOUT ROWID;
    CREATE TABLE sites (
        brand TEXT NOT NULL,
        site TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        mentions INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (brand, site)
    ) WITHOUT ROWID;
    "#,
    // 4: incidents, silences; deliveries may be held by a silence
    r#"
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule TEXT NOT NULL,
        brand TEXT NOT NULL,
        grp TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
        opened_at INTEGER NOT NULL,
        last_true_at INTEGER NOT NULL,
        last_alert_at INTEGER NOT NULL,
        resolved_at INTEGER,
        alerts INTEGER NOT NULL DEFAULT 0,
        suppressed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX incidents_open ON incidents (state, rule, brand, grp);
    CREATE TABLE silences (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule TEXT,
        brand TEXT,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        expired_at INTEGER
    );
    ALTER TABLE alerts ADD COLUMN incident INTEGER;
    ALTER TABLE alerts ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
    CREATE TABLE deliveries_v4 (
        alert_seq INTEGER NOT NULL REFERENCES alerts(seq),
        notifier TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'silenced')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        delivered_at INTEGER,
        PRIMARY KEY (alert_seq, notifier)
    );
    INSERT INTO deliveries_v4 SELECT * FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_v4 RENAME TO deliveries;
    CREATE INDEX deliveries_queue ON deliveries (notifier, state, alert_seq);
    "#,
    // 5: an incident can be acknowledged (someone is on it: no more updates)
    r#"
    ALTER TABLE incidents ADD COLUMN acked_at INTEGER;
    ALTER TABLE incidents ADD COLUMN acked_by TEXT;
    "#,
    // 6: when each digest was last sent
    r#"
    CREATE TABLE digests (
        name TEXT PRIMARY KEY,
        last_sent INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 7: digests waiting to be delivered again (one per digest and notifier: a newer
    // digest replaces an older one that never went out)
    r#"
    CREATE TABLE digest_retries (
        digest TEXT NOT NULL,
        notifier TEXT NOT NULL,
        due INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        next_try INTEGER NOT NULL,
        last_error TEXT NOT NULL,
        PRIMARY KEY (digest, notifier)
    ) WITHOUT ROWID;
    "#,
    // 8: a delivery can be dropped by hand; the installation's id (random, made here,
    // once), which makes Message-IDs and delivery keys unique beyond this data directory
    r#"
    CREATE TABLE deliveries_v8 (
        alert_seq INTEGER NOT NULL REFERENCES alerts(seq),
        notifier TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'silenced', 'dropped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        delivered_at INTEGER,
        PRIMARY KEY (alert_seq, notifier)
    );
    INSERT INTO deliveries_v8 SELECT * FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_v8 RENAME TO deliveries;
    CREATE INDEX deliveries_queue ON deliveries (notifier, state, alert_seq);
    CREATE TABLE installation (id TEXT NOT NULL);
    INSERT INTO installation (id) VALUES (lower(hex(randomblob(16))));
    "#,
    // 9: items whose processing failed: kept in `seen` with why (so they are skipped, not
    // retried at every poll), counted per source with the last one
    r#"
    ALTER TABLE seen ADD COLUMN url TEXT;
    ALTER TABLE seen ADD COLUMN error TEXT;
    ALTER TABLE sources ADD COLUMN items_failed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sources ADD COLUMN last_item_error TEXT;
    ALTER TABLE sources ADD COLUMN last_item_error_at INTEGER;
    "#,
];

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

pub fn ms(d: DateTime<Utc>) -> i64 {
    d.timestamp_millis()
}

pub fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// A connection to the state database.
pub struct State {
    conn: Connection,
}

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
}

/// What [`State::summary`] counts.
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
    pub deliveries: Vec<(String, String, u32, Option<String>)>,
}

impl State {
    /// A throw-away database (backtests).
    pub fn open_in_memory() -> anyhow::Result<State> {
        let conn = Connection::open_in_memory()?;
        let mut s = State { conn };
        s.migrate()?;
        Ok(s)
    }

    pub fn open(path: &Path) -> anyhow::Result<State> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open state database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut s = State { conn };
        s.migrate()
            .with_context(|| format!("cannot migrate state database {}", path.display()))?;
        Ok(s)
    }

    fn migrate(&mut self) -> anyhow::Result<()> {
        // One writer at a time, version read inside the lock: the daemon and a command
        // (`veille alerts`) opening a new database at once must not both migrate it.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: usize =
            tx.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
        anyhow::ensure!(
            version <= MIGRATIONS.len(),
            "state database has schema version {version}, newer than this veille ({}): upgrade veille",
            MIGRATIONS.len()
        );
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn schema_version(&self) -> anyhow::Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    pub fn transaction(&mut self) -> anyhow::Result<Transaction<'_>> {
        Ok(self.conn.transaction()?)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    // ---- sources ----

    pub fn sources(&self) -> anyhow::Result<Vec<SourceRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, state, last_polled, last_success, last_error, last_error_at, failures, items_seen,
                    next_due, auto_every, failing_since, unhealthy,
                    items_failed, last_item_error, last_item_error_at
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
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- outbox ----

    /// The next delivery for `notifier`, among the first pending delivery of each incident
    /// (order is kept within an incident): the oldest alert of those due at `now`, else
    /// the one due soonest — never one waiting out its backoff ahead of one that is due.
    /// An alert whose payload cannot be read is set aside as failed, so it cannot hold the
    /// queue.
    pub fn next_delivery(
        &self,
        notifier: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<PendingDelivery>> {
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

    pub fn mark_delivered(
        &mut self,
        seq: i64,
        notifier: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
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
    ) -> anyhow::Result<()> {
        let error = crate::config::redact::scrub(error);
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
    pub fn pending_count(&self) -> anyhow::Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Figures for metrics and the service status line.
    pub fn summary(&self, now: DateTime<Utc>) -> anyhow::Result<Summary> {
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

    pub fn digest_last_sent(&self, name: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
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

    pub fn set_digest_sent(&self, name: &str, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO digests (name, last_sent) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET last_sent = ?2",
            params![name, ms(at)],
        )?;
        Ok(())
    }

    /// Records (or replaces) the retry of one digest to one notifier.
    pub fn set_digest_retry(&self, r: &DigestRetry) -> anyhow::Result<()> {
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

    pub fn digest_retries(&self) -> anyhow::Result<Vec<DigestRetry>> {
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

    pub fn remove_digest_retry(&self, digest: &str, notifier: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "DELETE FROM digest_retries WHERE digest = ?1 AND notifier = ?2",
            params![digest, notifier],
        )?;
        Ok(())
    }

    /// Notifiers that have deliveries waiting.
    pub fn pending_notifiers(&self) -> anyhow::Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT notifier FROM deliveries WHERE state = 'pending'")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Latest alerts with their delivery states.
    pub fn alerts(&self, limit: usize) -> anyhow::Result<Vec<AlertRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, payload FROM alerts ORDER BY seq DESC LIMIT ?1")?;
        let rows: Vec<(i64, String)> = stmt
            .query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
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
                alert: serde_json::from_str(&payload)?,
                deliveries,
            });
        }
        Ok(out)
    }
}

// ---- writes made inside the ingest transaction ----

/// Which of `ids` were never processed.
pub fn unseen(tx: &Transaction<'_>, ids: &[&str]) -> anyhow::Result<Vec<bool>> {
    let mut stmt = tx.prepare_cached("SELECT 1 FROM seen WHERE id = ?1")?;
    ids.iter()
        .map(|id| Ok(!stmt.exists(params![id])?))
        .collect()
}

pub fn mark_seen(
    tx: &Transaction<'_>,
    id: &str,
    source: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO seen (id, source, seen_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, source, ms(now)])?;
    Ok(())
}

/// Records an item whose processing failed: marked seen with its error, so it is skipped
/// from now on (a poisoned item is neither retried at every poll nor allowed to hold its
/// batch back), and counted for its source, with the error.
pub fn item_failed(
    tx: &Transaction<'_>,
    source: &str,
    id: &str,
    url: &str,
    error: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    tx.prepare_cached(
        "INSERT INTO seen (id, source, seen_at, url, error) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET url = ?4, error = ?5",
    )?
    .execute(params![id, source, ms(now), url, error])?;
    tx.prepare_cached(
        "INSERT INTO sources (id, items_failed, last_item_error, last_item_error_at)
         VALUES (?1, 1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET items_failed = items_failed + 1,
             last_item_error = ?2, last_item_error_at = ?3",
    )?
    .execute(params![source, format!("{error} ({url})"), ms(now)])?;
    Ok(())
}

/// Records a successful poll (with its new validators/cursor). Returns true when the
/// source was unhealthy and has now recovered.
pub fn source_success(
    tx: &Transaction<'_>,
    id: &str,
    state: &SourceState,
    new_items: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let was_unhealthy = tx
        .prepare_cached("SELECT unhealthy FROM sources WHERE id = ?1")?
        .query_row(params![id], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0)
        != 0;
    tx.prepare_cached(
        "INSERT INTO sources (id, state, last_polled, last_success, failures, items_seen)
         VALUES (?1, ?2, ?3, ?3, 0, ?4)
         ON CONFLICT (id) DO UPDATE SET state = ?2, last_polled = ?3, last_success = ?3,
             failures = 0, items_seen = items_seen + ?4, failing_since = NULL, unhealthy = 0",
    )?
    .execute(params![
        id,
        serde_json::to_string(state)?,
        ms(now),
        new_items as i64
    ])?;
    Ok(was_unhealthy)
}

/// Records a failed poll. Returns true when the source has been failing for
/// `unhealthy_after` and this failure marks it unhealthy.
pub fn source_failure(
    tx: &Transaction<'_>,
    id: &str,
    error: &str,
    now: DateTime<Utc>,
    unhealthy_after: chrono::Duration,
) -> anyhow::Result<bool> {
    // An API may quote its key back in an error: no known secret is stored.
    let error = crate::config::redact::scrub(error);
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
        return Ok(true);
    }
    Ok(false)
}

/// Records when a source is due next (and its adaptive interval).
pub fn source_scheduled(
    tx: &Transaction<'_>,
    id: &str,
    next_due: DateTime<Utc>,
    auto_every: Option<u64>,
) -> anyhow::Result<()> {
    tx.prepare_cached(
        "INSERT INTO sources (id, next_due, auto_every) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET next_due = ?2, auto_every = COALESCE(?3, auto_every)",
    )?
    .execute(params![id, ms(next_due), auto_every.map(|v| v as i64)])?;
    Ok(())
}

/// Whether `brand` has a mention by `author` / on `site` recorded before now.
pub fn known_author(tx: &Transaction<'_>, brand: &str, author: &str) -> anyhow::Result<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM authors WHERE brand = ?1 AND author = ?2")?
        .exists(params![brand, author])?)
}

pub fn known_site(tx: &Transaction<'_>, brand: &str, site: &str) -> anyhow::Result<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM sites WHERE brand = ?1 AND site = ?2")?
        .exists(params![brand, site])?)
}

/// Counts a mention of `brand` for its author and site.
pub fn record_author_and_site(
    tx: &Transaction<'_>,
    brand: &str,
    m: &crate::mention::Mention,
) -> anyhow::Result<()> {
    let at = ms(m.published_at);
    if let Some(author) = m.author_key() {
        tx.prepare_cached(
            "INSERT INTO authors (brand, author, name, first_seen, last_seen, mentions, reach) VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5)
             ON CONFLICT (brand, author) DO UPDATE SET last_seen = MAX(last_seen, ?4), first_seen = MIN(first_seen, ?4),
                 mentions = mentions + 1, reach = MAX(COALESCE(reach, 0), COALESCE(?5, 0)), name = COALESCE(?3, name)",
        )?
        .execute(params![brand, author, m.author_name.as_deref().or(m.author.as_deref()), at, m.reach.map(|r| r as i64)])?;
    }
    if !m.site.is_empty() {
        tx.prepare_cached(
            "INSERT INTO sites (brand, site, first_seen, last_seen, mentions) VALUES (?1, ?2, ?3, ?3, 1)
             ON CONFLICT (brand, site) DO UPDATE SET last_seen = MAX(last_seen, ?3), first_seen = MIN(first_seen, ?3),
                 mentions = mentions + 1",
        )?
        .execute(params![brand, m.site, at])?;
    }
    Ok(())
}

/// An incident: alerts of one rule, brand and group, from the first to the resolution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Incident {
    pub id: i64,
    pub rule: String,
    pub brand: String,
    pub group: String,
    pub state: String,
    pub opened_at: DateTime<Utc>,
    pub last_true_at: DateTime<Utc>,
    pub last_alert_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub alerts: i64,
    /// Updates not sent (within `realert`, or acknowledged).
    pub suppressed: i64,
    pub acked_at: Option<DateTime<Utc>>,
    pub acked_by: Option<String>,
}

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

/// Incidents, newest first: `state` = "open", "resolved" or None for both.
pub fn incidents(
    conn: &Connection,
    state: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<Incident>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![state, limit as i64], incident_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn incident(conn: &Connection, id: i64) -> anyhow::Result<Option<Incident>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1"
        ))?
        .query_row(params![id], incident_row)
        .optional()?)
}

/// Acknowledges an open incident: no more updates are sent for it (its resolution is).
/// Returns false when there is no open incident with that id.
pub fn ack_incident(
    conn: &Connection,
    id: i64,
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    Ok(conn.execute(
        "UPDATE incidents SET acked_at = ?2, acked_by = ?3 WHERE id = ?1 AND state = 'open'",
        params![id, ms(now), by],
    )? > 0)
}

pub fn open_incident(
    tx: &Transaction<'_>,
    rule: &str,
    brand: &str,
    group: &str,
) -> anyhow::Result<Option<Incident>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE state = 'open' AND rule = ?1 AND brand = ?2 AND grp = ?3"
        ))?
        .query_row(params![rule, brand, group], incident_row)
        .optional()?)
}

pub fn open_incidents(conn: &Connection) -> anyhow::Result<Vec<Incident>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE state = 'open' ORDER BY id"
    ))?;
    let rows = stmt.query_map([], incident_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn create_incident(
    tx: &Transaction<'_>,
    rule: &str,
    brand: &str,
    group: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO incidents (rule, brand, grp, state, opened_at, last_true_at, last_alert_at, alerts)
         VALUES (?1, ?2, ?3, 'open', ?4, ?4, ?4, 0)",
    )?
    .execute(params![rule, brand, group, ms(now)])?;
    Ok(tx.last_insert_rowid())
}

/// The condition held at `now`; `alerted` when an alert went out for it.
pub fn touch_incident(
    tx: &Transaction<'_>,
    id: i64,
    now: DateTime<Utc>,
    alerted: bool,
) -> anyhow::Result<()> {
    if alerted {
        tx.prepare_cached("UPDATE incidents SET last_true_at = ?2, last_alert_at = ?2, alerts = alerts + 1 WHERE id = ?1")?
            .execute(params![id, ms(now)])?;
    } else {
        tx.prepare_cached(
            "UPDATE incidents SET last_true_at = ?2, suppressed = suppressed + 1 WHERE id = ?1",
        )?
        .execute(params![id, ms(now)])?;
    }
    Ok(())
}

pub fn resolve_incident(tx: &Transaction<'_>, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    tx.prepare_cached("UPDATE incidents SET state = 'resolved', resolved_at = ?2 WHERE id = ?1")?
        .execute(params![id, ms(now)])?;
    Ok(())
}

/// A silence: alerts of the rule and brand (None: any) are recorded, not delivered.
#[derive(Debug, Clone)]
pub struct Silence {
    pub id: i64,
    pub rule: Option<String>,
    pub brand: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    pub expired_at: Option<DateTime<Utc>>,
}

impl Silence {
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.expired_at.is_none() && self.starts_at <= now && now < self.ends_at
    }

    pub fn covers(&self, rule: &str, brand: &str) -> bool {
        self.rule.as_deref().is_none_or(|r| r == rule)
            && self.brand.as_deref().is_none_or(|b| b == brand)
    }
}

pub fn add_silence(
    conn: &Connection,
    rule: Option<&str>,
    brand: Option<&str>,
    now: DateTime<Utc>,
    ends: DateTime<Utc>,
    reason: &str,
) -> anyhow::Result<i64> {
    conn.execute(
        "INSERT INTO silences (rule, brand, starts_at, ends_at, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![rule, brand, ms(now), ms(ends), reason],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Ends a silence still in force now; false when there is none with that id.
pub fn expire_silence(conn: &Connection, id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
    Ok(conn.execute(
        "UPDATE silences SET expired_at = ?2 WHERE id = ?1 AND expired_at IS NULL AND ends_at > ?2",
        params![id, ms(now)],
    )? > 0)
}

pub fn silences(conn: &Connection) -> anyhow::Result<Vec<Silence>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, rule, brand, starts_at, ends_at, reason, expired_at FROM silences ORDER BY id",
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
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deliveries held by a silence that no longer applies, for incidents still open, go
/// out now. Returns how many were released.
pub fn release_silenced(tx: &Transaction<'_>, now: DateTime<Utc>) -> anyhow::Result<usize> {
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
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?3 WHERE alert_seq = ?1 AND notifier = ?2",
            )?
            .execute(params![seq, notifier, ms(now)])?;
            released += 1;
        }
    }
    Ok(released)
}

pub fn last_fired(
    tx: &Transaction<'_>,
    rule: &str,
    brand: &str,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    Ok(tx
        .prepare_cached("SELECT last_fired_at FROM rule_state WHERE rule = ?1 AND brand = ?2")?
        .query_row(params![rule, brand], |r| r.get::<_, i64>(0))
        .optional()?
        .map(from_ms))
}

pub fn set_fired(
    tx: &Transaction<'_>,
    rule: &str,
    brand: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    tx.prepare_cached(
        "INSERT INTO rule_state (rule, brand, last_fired_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (rule, brand) DO UPDATE SET last_fired_at = ?3",
    )?
    .execute(params![rule, brand, ms(at)])?;
    Ok(())
}

/// Writes an alert and one delivery per notifier (held when `silenced`). An alert whose
/// key exists is ignored: the dedup key makes a redone batch harmless. Returns whether it
/// was new.
pub fn enqueue_alert(
    tx: &Transaction<'_>,
    alert: &Alert,
    notifiers: &[String],
    silenced: bool,
) -> anyhow::Result<bool> {
    let inserted = tx
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
            serde_json::to_string(alert)?,
            alert.incident,
            alert.status.as_str()
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    let seq = tx.last_insert_rowid();
    for n in notifiers {
        tx.prepare_cached(
            "INSERT INTO deliveries (alert_seq, notifier, state, next_attempt_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![seq, n, if silenced { "silenced" } else { "pending" }, ms(alert.created_at)])?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_record_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.sqlite");
        let s = State::open(&p).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(s);
        // Reopening runs nothing again.
        let s = State::open(&p).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let mode: String = s
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn source_state_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::open(&dir.path().join("s.sqlite")).unwrap();
        let now = Utc::now();
        let st = SourceState {
            validators: crate::crawl::Validators {
                etag: Some("W/\"abc\"".into()),
                last_modified: None,
            },
            cursor: None,
        };
        let tx = s.transaction().unwrap();
        source_success(&tx, "feed", &st, 3, now).unwrap();
        source_failure(&tx, "feed", "HTTP 500", now, chrono::Duration::hours(1)).unwrap();
        tx.commit().unwrap();
        let rows = s.sources().unwrap();
        assert_eq!(rows[0].state, st);
        assert_eq!(rows[0].failures, 1);
        assert_eq!(rows[0].items_seen, 3);
        assert_eq!(rows[0].last_error.as_deref(), Some("HTTP 500"));
    }
}
