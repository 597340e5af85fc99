//! What was met before: items already processed (or that failed), and the authors and
//! sites of each brand with when they were first seen.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Batch, Result, State, ms};
use crate::mention::Mention;

impl Batch<'_> {
    /// Which of `ids` were never processed.
    pub fn unseen(&self, ids: &[&str]) -> Result<Vec<bool>> {
        let mut stmt = self.tx.prepare_cached("SELECT 1 FROM seen WHERE id = ?1")?;
        ids.iter()
            .map(|id| Ok(!stmt.exists(params![id])?))
            .collect()
    }

    pub fn mark_seen(&self, id: &str, source: &str, now: DateTime<Utc>) -> Result<()> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO seen (id, source, seen_at) VALUES (?1, ?2, ?3)")?
            .execute(params![id, source, ms(now)])?;
        Ok(())
    }

    /// Records an item whose processing failed: marked seen with its error, so it is
    /// skipped from now on (a poisoned item is neither retried at every poll nor allowed
    /// to hold its batch back), and counted for its source, with the error.
    pub fn item_failed(
        &self,
        source: &str,
        id: &str,
        url: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO seen (id, source, seen_at, url, error) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET url = ?4, error = ?5",
            )?
            .execute(params![id, source, ms(now), url, error])?;
        self.tx
            .prepare_cached(
                "INSERT INTO sources (id, items_failed, last_item_error, last_item_error_at)
                 VALUES (?1, 1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET items_failed = items_failed + 1,
                     last_item_error = ?2, last_item_error_at = ?3",
            )?
            .execute(params![source, format!("{error} ({url})"), ms(now)])?;
        Ok(())
    }

    /// Whether `brand` has a mention by `author` recorded before now.
    pub fn known_author(&self, brand: &str, author: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM authors WHERE brand = ?1 AND author = ?2")?
            .exists(params![brand, author])?)
    }

    /// Whether `brand` has a mention on `site` recorded before now.
    pub fn known_site(&self, brand: &str, site: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM sites WHERE brand = ?1 AND site = ?2")?
            .exists(params![brand, site])?)
    }

    /// Counts a mention of `brand` for its author and site.
    pub fn record_author_and_site(&self, brand: &str, m: &Mention) -> Result<()> {
        let at = ms(m.published_at);
        if let Some(author) = m.author_key() {
            self.tx.prepare_cached(
                "INSERT INTO authors (brand, author, name, first_seen, last_seen, mentions, reach) VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5)
                 ON CONFLICT (brand, author) DO UPDATE SET last_seen = MAX(last_seen, ?4), first_seen = MIN(first_seen, ?4),
                     mentions = mentions + 1, reach = MAX(COALESCE(reach, 0), COALESCE(?5, 0)), name = COALESCE(?3, name)",
            )?
            .execute(params![brand, author, m.author_name.as_deref().or(m.author.as_deref()), at, m.reach.map(|r| r as i64)])?;
        }
        if !m.site.is_empty() {
            self.tx.prepare_cached(
                "INSERT INTO sites (brand, site, first_seen, last_seen, mentions) VALUES (?1, ?2, ?3, ?3, 1)
                 ON CONFLICT (brand, site) DO UPDATE SET last_seen = MAX(last_seen, ?3), first_seen = MIN(first_seen, ?3),
                     mentions = mentions + 1",
            )?
            .execute(params![brand, m.site, at])?;
        }
        Ok(())
    }
}

impl State {
    /// Sites of `brand` first seen in `[from, to)`, most mentioned first, at most `n`.
    pub fn new_sites(
        &self,
        brand: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        n: usize,
    ) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT site FROM sites WHERE brand = ?1 AND first_seen >= ?2 AND first_seen < ?3
             ORDER BY mentions DESC, site LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![brand, ms(from), ms(to), n as i64], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Authors of `brand` (their name when known) first seen in `[from, to)`, most
    /// mentioned first, at most `n`.
    pub fn new_authors(
        &self,
        brand: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        n: usize,
    ) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT COALESCE(name, author) FROM authors WHERE brand = ?1 AND first_seen >= ?2 AND first_seen < ?3
             ORDER BY mentions DESC, COALESCE(name, author) LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![brand, ms(from), ms(to), n as i64], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
