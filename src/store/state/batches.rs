//! The mentions of each `match` / `new_source` incident: those no message has carried
//! yet wait here with their payload (so a restart between two messages loses none), and
//! all of them make the resolution's summary. When each brand was first watched (the
//! warm-up of `new_source` and first-time conditions).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Batch, Error, Result, from_ms, ms};
use crate::model::{AlertMention, IncidentSummary};

impl Batch<'_> {
    /// Adds mentions to incident `id`, waiting for its next message. A mention already
    /// on the incident is not added twice.
    pub fn hold_mentions(&self, id: i64, ms_: &[AlertMention], now: DateTime<Utc>) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO incident_mentions (incident, mention, published_at, added_at, payload)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for m in ms_ {
            let payload = serde_json::to_string(m).map_err(|source| Error::Encode {
                what: "a mention of an incident",
                source,
            })?;
            stmt.execute(params![id, m.id, ms(m.published_at), ms(now), payload])?;
        }
        Ok(())
    }

    /// Records mentions a message carries now (none waits any more).
    pub fn record_sent(&self, id: i64, ms_: &[AlertMention], now: DateTime<Utc>) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO incident_mentions (incident, mention, published_at, added_at, payload)
             VALUES (?1, ?2, ?3, ?4, NULL)
             ON CONFLICT (incident, mention) DO UPDATE SET payload = NULL",
        )?;
        for m in ms_ {
            stmt.execute(params![id, m.id, ms(m.published_at), ms(now)])?;
        }
        Ok(())
    }

    /// The mentions of incident `id` no message carried yet, oldest first; they count as
    /// carried from here on (the caller puts them in the message of this transaction).
    pub fn take_held(&self, id: i64) -> Result<Vec<AlertMention>> {
        let rows: Vec<(String, String)> = {
            let mut stmt = self.tx.prepare_cached(
                "SELECT mention, payload FROM incident_mentions
                 WHERE incident = ?1 AND payload IS NOT NULL ORDER BY published_at, mention",
            )?;
            let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (mention, payload) in rows {
            // A payload that cannot be read back (damaged data) is logged and skipped:
            // failing here would fail every later batch, and so every later alert.
            match serde_json::from_str::<AlertMention>(&payload) {
                Ok(m) => out.push(m),
                Err(e) => {
                    tracing::warn!(incident = id, mention = %mention, error = %e, "a mention held on an incident cannot be read back; skipped")
                }
            }
        }
        self.tx
            .prepare_cached(
                "UPDATE incident_mentions SET payload = NULL WHERE incident = ?1 AND payload IS NOT NULL",
            )?
            .execute(params![id])?;
        Ok(out)
    }

    /// How many mentions of incident `id` wait for a message.
    pub fn held_count(&self, id: i64) -> Result<u64> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT COUNT(*) FROM incident_mentions WHERE incident = ?1 AND payload IS NOT NULL",
            )?
            .query_row(params![id], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Incident `id` as a whole (None when it counted no mention): how many, the first
    /// and last publication, the busiest clock hour.
    pub fn incident_summary(&self, id: i64, messages: i64) -> Result<Option<IncidentSummary>> {
        let span: Option<(i64, i64, i64)> = self
            .tx
            .prepare_cached(
                "SELECT COUNT(*), MIN(published_at), MAX(published_at) FROM incident_mentions
                 WHERE incident = ?1 HAVING COUNT(*) > 0",
            )?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((count, first, last)) = span else {
            return Ok(None);
        };
        let (hour, peak): (i64, i64) = self
            .tx
            .prepare_cached(
                "SELECT published_at / 3600000 AS h, COUNT(*) AS n FROM incident_mentions
                 WHERE incident = ?1 GROUP BY h ORDER BY n DESC, h LIMIT 1",
            )?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Some(IncidentSummary {
            mentions: count as u64,
            messages,
            first: from_ms(first),
            last: from_ms(last),
            peak_hour: from_ms(hour * 3_600_000),
            peak_count: peak as u64,
        }))
    }

    /// Brands watched from `now` on, unless they were before. A database from before
    /// this table (an upgrade) has the brand's history in `sites`: watched since the
    /// first site met, so an upgrade does not start a new warm-up.
    pub fn watch_brands<'b>(
        &self,
        brands: impl IntoIterator<Item = &'b str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO brands_watched (brand, since)
             VALUES (?1, MIN(?2, COALESCE((SELECT MIN(first_seen) FROM sites WHERE brand = ?1), ?2)))",
        )?;
        for b in brands {
            stmt.execute(params![b, ms(now)])?;
        }
        Ok(())
    }

    /// Since when `brand` has been watched (its first recorded poll).
    pub fn watched_since(&self, brand: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .tx
            .prepare_cached("SELECT since FROM brands_watched WHERE brand = ?1")?
            .query_row(params![brand], |r| r.get::<_, i64>(0))
            .optional()?
            .map(from_ms))
    }

    /// Whether no poll of `source` ever succeeded: this one is its backfill.
    pub fn first_poll(&self, source: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT last_success FROM sources WHERE id = ?1")?
            .query_row(params![source], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten()
            .is_none())
    }

    /// The last poll of `source` returned `n` items, all older than its look-back (or
    /// `None`: not the case); `veille sources` says so.
    pub fn old_items(&self, source: &str, n: Option<u64>, now: DateTime<Utc>) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE sources SET old_items = ?2, old_items_at = CASE WHEN ?2 IS NULL THEN NULL ELSE ?3 END WHERE id = ?1",
            )?
            .execute(params![source, n.map(|n| n as i64), ms(now)])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::State;
    use chrono::TimeZone;

    #[test]
    fn held_mentions_survive_a_restart_and_are_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.sqlite");
        let t = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
        let mut a = crate::model::Alert::sample().mentions[0].clone();
        {
            let mut s = State::open(&p).unwrap();
            let b = s.batch().unwrap();
            let id = b.create_incident("r", "acme", "", t).unwrap();
            b.record_sent(id, std::slice::from_ref(&a), t).unwrap();
            a.id = "m2".into();
            a.published_at = t + chrono::Duration::hours(1);
            b.hold_mentions(id, std::slice::from_ref(&a), t).unwrap();
            b.hold_mentions(id, std::slice::from_ref(&a), t).unwrap();
            b.commit().unwrap();
        }
        let mut s = State::open(&p).unwrap();
        let b = s.batch().unwrap();
        assert_eq!(
            b.held_count(1).unwrap(),
            1,
            "held once, kept across a restart"
        );
        let held = b.take_held(1).unwrap();
        assert_eq!(held, vec![a]);
        assert_eq!(b.held_count(1).unwrap(), 0);
        assert!(b.take_held(1).unwrap().is_empty());
        let sum = b.incident_summary(1, 2).unwrap().unwrap();
        assert_eq!((sum.mentions, sum.peak_count, sum.messages), (2, 1, 2));
        assert_eq!(sum.first, t);
        assert_eq!(sum.last, t + chrono::Duration::hours(1));
    }

    /// An installation upgraded with history: the brand counts as watched since its first
    /// site, not since the upgrade (no new warm-up); a new brand from now.
    #[test]
    fn an_upgrade_keeps_the_brands_history_for_the_warm_up() {
        let t = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
        let mut s = State::open_in_memory().unwrap();
        let b = s.batch().unwrap();
        let mut m = crate::testutil::mention("Acme", "x");
        m.published_at = t - chrono::Duration::days(30);
        b.record_author_and_site("acme", &m).unwrap();
        b.watch_brands(["acme", "globex"], t).unwrap();
        assert_eq!(
            b.watched_since("acme").unwrap(),
            Some(t - chrono::Duration::days(30))
        );
        assert_eq!(b.watched_since("globex").unwrap(), Some(t));
        // Recorded once: a later poll does not move it.
        b.watch_brands(["globex"], t + chrono::Duration::days(1))
            .unwrap();
        assert_eq!(b.watched_since("globex").unwrap(), Some(t));
    }

    use chrono::Utc;
}
