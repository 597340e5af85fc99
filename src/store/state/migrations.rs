//! The schema of the state database, one migration per change since the first release.

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
/// Never edit a released migration: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // 10: `rule_state` (first release) was never read: incidents took its place
    r#"
    DROP TABLE IF EXISTS rule_state;
    "#,
    // 11: what veille has told about itself ([ops]): one row per condition (a notifier
    // failing for good, a late queue, deliveries for a removed notifier), so each is told
    // once, not at every look; since when a delivery re-queued, released from a silence
    // or re-routed has been pending (NULL: since its alert was raised), so a queue is
    // "late" by how long it has really been waiting
    r#"
    CREATE TABLE ops_conditions (
        what TEXT PRIMARY KEY,
        active INTEGER NOT NULL,
        since INTEGER NOT NULL,
        raised_at INTEGER
    ) WITHOUT ROWID;
    ALTER TABLE deliveries ADD COLUMN pending_since INTEGER;
    "#,
    // 12: who added a silence (the CLI's user, the API token's name), a field of its own
    // instead of "(by alice)" appended to the reason
    r#"
    ALTER TABLE silences ADD COLUMN author TEXT;
    "#,
    // 13: every mention of a match or new_source incident, with its payload while no
    // message has carried it yet (held back by `realert`: a restart loses none); when each
    // brand was first watched (warm-up of new_source and first-time conditions); a
    // source's last poll whose items were all older than its look-back
    r#"
    CREATE TABLE incident_mentions (
        incident INTEGER NOT NULL,
        mention TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        added_at INTEGER NOT NULL,
        payload TEXT,
        PRIMARY KEY (incident, mention)
    ) WITHOUT ROWID;
    CREATE TABLE brands_watched (
        brand TEXT PRIMARY KEY,
        since INTEGER NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE sources ADD COLUMN old_items INTEGER;
    ALTER TABLE sources ADD COLUMN old_items_at INTEGER;
    "#,
];

/// Brings the database to the latest schema, inside one write transaction: the daemon and
/// a command (`veille alerts`) opening a new database at once must not both migrate it.
pub(super) fn migrate(conn: &mut rusqlite::Connection) -> super::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: usize =
        tx.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(super::Error::TooNew {
            found: version,
            supported: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}
