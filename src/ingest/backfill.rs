//! The first poll of a source is a backfill: what it returns is old news for whoever
//! watches the brand today. Every source kind gets the same treatment here, whatever its
//! API allows: items published before the source's look-back (`backfill`, default 7d) are
//! skipped (recorded as seen, not indexed); the others are indexed and searchable but
//! fire no rule — unless the source says `backfill_alerts = true`, and even then no
//! `new_source` or first-time condition (on a first poll every site and author is new).
//!
//! Any poll whose items are all older than the look-back is noted for `veille sources`
//! (a feed that stopped being updated, or a look-back too short for a slow forum).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::mention::Mention;
use crate::model::Event;
use crate::store::state::Batch;

/// What this batch's first polls change.
#[derive(Debug, Default)]
pub(super) struct Backfill {
    /// Sources polled for the first time: the look-back's cut-off, and whether the
    /// source asks for alerts on it.
    first: HashMap<String, (Option<DateTime<Utc>>, bool)>,
    /// Items older than the cut-off: (id, source), recorded as seen.
    skipped_ids: Vec<(String, String)>,
    /// Per polled source: Some(n) when its n items were all older than its look-back.
    old: Vec<(String, Option<u64>)>,
    /// Whether a poll happened in this batch (the brands are being watched).
    polled: bool,
    /// Items skipped as older than the look-back.
    pub(super) skipped: u64,
    /// Matched mentions of first polls, indexed without alerts.
    pub(super) silent: u64,
}

impl Backfill {
    pub(super) fn of(
        batch: &Batch<'_>,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> crate::store::Result<Backfill> {
        let mut b = Backfill::default();
        for e in events {
            let Event::Polled { source, poll } = e else {
                continue;
            };
            b.polled = true;
            let cutoff = poll.look_back.map(|d| now - d);
            // Items served: those kept and those an API source left out as too old.
            let served = poll.mentions.len() + poll.too_old;
            if let Some(c) = cutoff
                && served > 0
            {
                let all_old = poll.mentions.iter().all(|m| m.published_at < c);
                b.old
                    .push((source.clone(), all_old.then_some(served as u64)));
            }
            if !batch.first_poll(source)? {
                continue;
            }
            b.first
                .insert(source.clone(), (cutoff, poll.backfill_alerts));
            if let Some(c) = cutoff {
                for m in poll.mentions.iter().filter(|m| m.published_at < c) {
                    b.skipped_ids.push((m.id.clone(), source.clone()));
                }
            }
        }
        b.skipped = b.skipped_ids.len() as u64;
        Ok(b)
    }

    /// Published before the look-back of its source's first poll: skipped.
    pub(super) fn too_old(&self, m: &Mention) -> bool {
        self.first
            .get(&m.source)
            .and_then(|(c, _)| *c)
            .is_some_and(|c| m.published_at < c)
    }

    /// Splits mentions to evaluate into those of known sources, and those of first polls
    /// that ask for alerts; the other first-poll mentions are left out (no alert).
    pub(super) fn split(&self, ms: &[Mention]) -> (Vec<Mention>, Vec<Mention>) {
        let mut live = Vec::new();
        let mut backfilled = Vec::new();
        for m in ms {
            match self.first.get(&m.source) {
                None => live.push(m.clone()),
                Some((_, true)) => backfilled.push(m.clone()),
                Some((_, false)) => {}
            }
        }
        (live, backfilled)
    }

    /// Counts the matched mentions of first polls indexed without alerts.
    pub(super) fn count_silent(&mut self, matched: &[Mention]) {
        self.silent += matched
            .iter()
            .filter(|m| matches!(self.first.get(&m.source), Some((_, false))))
            .count() as u64;
    }

    /// Records, in the batch's transaction: skipped items as seen, the brands as watched
    /// from now on (warm-up), the sources whose items were all too old.
    pub(super) fn record<'a>(
        &self,
        tx: &Batch<'_>,
        brands: impl IntoIterator<Item = &'a str>,
        now: DateTime<Utc>,
    ) -> crate::store::Result<()> {
        for (id, source) in &self.skipped_ids {
            tx.mark_seen(id, source, now)?;
        }
        if self.polled {
            tx.watch_brands(brands, now)?;
        }
        for (source, n) in &self.old {
            tx.old_items(source, *n, now)?;
        }
        Ok(())
    }
}
