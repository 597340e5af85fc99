//! SQLite state: WAL mode, versioned migrations from the first release. Every SQL
//! statement of veille is in this folder, one file per what is stored:
//!
//! - [`migrations`]: the schema;
//! - [`sources`]: each source's state and health, and the summary figures;
//! - [`seen`]: items already processed (and those that failed), authors and sites met;
//! - [`outbox`]: alerts and their deliveries, as the workers take them;
//! - [`requeue`]: the outbox by hand (`veille alerts retry|drop`), the installation id;
//! - [`ops`]: what veille told about itself (`[ops]`), re-routed deliveries;
//! - [`incidents`]: incidents and silences;
//! - [`batches`]: the mentions of each incident, those waiting for its next message;
//! - [`digests`]: when each digest went out, and those to send again;
//! - [`websub`]: WebSub subscriptions.
//!
//! Reads and single writes are methods of [`State`]; what the ingest stage records for a
//! batch goes through one [`Batch`] (a transaction), so it is all or nothing.

mod batches;
mod digests;
mod incidents;
mod migrations;
mod ops;
mod outbox;
mod requeue;
mod seen;
mod sources;
mod websub;

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, Transaction};

pub use super::error::{Error, ErrorKind, Result};
pub use digests::DigestRetry;
pub use ops::{Raised, Waiting};
pub use outbox::{AlertRow, PendingDelivery};
pub use requeue::Deliveries;
pub use sources::{SourceRow, Summary};
pub use websub::SubscriptionRow;

pub(crate) fn ms(d: DateTime<Utc>) -> i64 {
    d.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// A connection to the state database.
pub struct State {
    conn: Connection,
}

/// One write transaction: what the ingest stage records for a batch, all or nothing.
/// Dropped without [`Batch::commit`], it is rolled back.
pub struct Batch<'a> {
    tx: Transaction<'a>,
}

impl State {
    /// A throw-away database (backtests).
    pub fn open_in_memory() -> Result<State> {
        let mut conn = Connection::open_in_memory()?;
        migrations::migrate(&mut conn)?;
        Ok(State { conn })
    }

    pub fn open(path: &Path) -> Result<State> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                what: "create",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open = |what, e: Error| Error::Open {
            what,
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let mut conn = Connection::open(path).map_err(|e| open("open state database", e.into()))?;
        let setup = |c: &Connection| -> rusqlite::Result<()> {
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", "NORMAL")?;
            c.pragma_update(None, "foreign_keys", "ON")?;
            c.busy_timeout(std::time::Duration::from_secs(10))
        };
        setup(&conn).map_err(|e| open("open state database", e.into()))?;
        migrations::migrate(&mut conn).map_err(|e| open("migrate state database", e))?;
        Ok(State { conn })
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Starts a write transaction.
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        Ok(Batch {
            tx: self.conn.transaction()?,
        })
    }
}

impl Batch<'_> {
    pub fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }

    /// Runs `f` inside a savepoint: if it panics, what it wrote is rolled back and the
    /// panic returned (one mention's failure must not undo the batch).
    pub fn savepoint<T>(
        &self,
        f: impl FnOnce() -> T,
    ) -> Result<std::result::Result<T, Box<dyn std::any::Any + Send>>> {
        self.tx.execute_batch("SAVEPOINT one_item")?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        match outcome {
            Ok(_) => self.tx.execute_batch("RELEASE one_item")?,
            Err(_) => self
                .tx
                .execute_batch("ROLLBACK TO one_item; RELEASE one_item")?,
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_record_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.sqlite");
        let s = State::open(&p).unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            migrations::MIGRATIONS.len() as i64
        );
        drop(s);
        // Reopening runs nothing again.
        let s = State::open(&p).unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            migrations::MIGRATIONS.len() as i64
        );
        let mode: String = s
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// A database of the release before (schema 9, with the unused `rule_state` table)
    /// opens and is brought up to date.
    #[test]
    fn a_database_of_the_previous_release_opens() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.sqlite");
        {
            let mut conn = Connection::open(&p).unwrap();
            let tx = conn.transaction().unwrap();
            for (i, sql) in migrations::MIGRATIONS.iter().take(9).enumerate() {
                tx.execute_batch(sql).unwrap();
                tx.pragma_update(None, "user_version", (i + 1) as i64)
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        let s = State::open(&p).unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            migrations::MIGRATIONS.len() as i64
        );
        let tables: i64 = s
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'rule_state'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn a_database_from_a_newer_veille_is_refused_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.sqlite");
        drop(State::open(&p).unwrap());
        Connection::open(&p)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let e = State::open(&p).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Permanent);
        let chain = format!("{}: {}", e, std::error::Error::source(&e).unwrap());
        assert!(chain.contains("newer than this veille"), "{chain}");
    }
}
