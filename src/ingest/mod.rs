//! The ingest stage: what happens to a batch of fetched items, top to bottom.
//!
//! 0. a source's first poll is a backfill: items older than its look-back are skipped,
//!    the rest fires no rule (see `backfill.rs`);
//! 1. drop items already processed (SQLite `seen`), and copies within the batch;
//! 2. match them against the brands;
//! 3. index them in tantivy (upsert by id) and commit — searchable from here on;
//! 4. in one SQLite transaction: mark them processed, save each source's new state
//!    (validators, cursor), evaluate rules and write their alerts to the outbox;
//! 5. wake the delivery workers.
//!
//! A crash between 3 and 4 redoes the batch at the next start: the upsert keeps one copy
//! in the index and the rules run once, because step 4 never happened.
//! It runs on its own thread: tantivy and SQLite calls block.
//!
//! A failure while processing one mention (a panic in matching, enrichment, indexing or
//! a rule) fails that mention alone: it is taken out of the batch, logged with its source
//! and URL, counted (`veille_items_failed_total`) and recorded as seen with its error, so
//! it is shown by `veille sources` and never retried; the rest of the batch goes on. A
//! panic outside any one mention fails the batch (refetched), never the thread.
//!
//! Over 500 lines: the ingest stage is read top to bottom as one sequence (dedup, match,
//! enrich, index, rules, outbox) with its batch bookkeeping; its guard against one
//! mention's failure is apart in `guard.rs`.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::clock::Clock;
use crate::matching::Matcher;
use crate::mention::Mention;
use crate::model::panic_message;
use crate::outbox::Wake;
use crate::rules::eval::{Evaluator, Origin};
use crate::store::RuleHistory;
use crate::store::index::{MentionIndex, MentionWriter};
use crate::store::state::State;

mod backfill;
mod guard;
mod report;
use backfill::Backfill;
pub use guard::StageHook;
use guard::{Failed, each_guarded, rules_guarded};
pub use report::{Report, SourceReport};

/// Why a batch was not recorded: nothing of it was, so its sources are fetched again.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

impl Error {
    /// What kind of failure it is (a busy database passes, a damaged one does not).
    pub fn kind(&self) -> crate::store::ErrorKind {
        match self {
            Error::Store(e) => e.kind(),
        }
    }
}

pub use crate::model::SharedStates;
pub use crate::model::event::Event;

/// What the ingest stage receives: an event of the fetching side, or a new configuration.
#[derive(Debug)]
pub enum Message {
    Event(Event),
    /// Brands, rules and enrichment settings, applied between batches (what came before
    /// is processed with the old ones).
    Reload(Box<Reloaded>),
}

impl From<Event> for Message {
    fn from(e: Event) -> Message {
        Message::Event(e)
    }
}

/// What the ingest stage takes from a reloaded configuration.
pub struct Reloaded {
    pub matcher: Matcher,
    pub evaluator: Evaluator,
    pub enrich: crate::enrich::EnrichConfig,
    pub keep_unmatched: bool,
    pub unhealthy_after: chrono::Duration,
    pub ops: crate::ops::Ops,
}

impl std::fmt::Debug for Reloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloaded")
            .field("rules", &self.evaluator.rules().len())
            .finish_non_exhaustive()
    }
}

/// When the ingest stage last took work (unix seconds): the systemd watchdog is pinged
/// only while it keeps doing so (the daemon sends it a tick every 15 s).
pub static HEARTBEAT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn beat(clock: &dyn Clock) {
    HEARTBEAT.store(
        clock.now().timestamp(),
        std::sync::atomic::Ordering::Relaxed,
    );
}

pub struct Ingest {
    pub matcher: Matcher,
    pub enricher: crate::enrich::Enricher,
    pub evaluator: Evaluator,
    pub index: Arc<MentionIndex>,
    pub writer: MentionWriter,
    pub state: Arc<Mutex<State>>,
    pub states: SharedStates,
    pub wake: Wake,
    pub clock: Arc<dyn Clock>,
    pub report: Arc<Mutex<Report>>,
    pub keep_unmatched: bool,
    /// A source failing without interruption this long is marked unhealthy.
    pub unhealthy_after: chrono::Duration,
    /// `[ops]`: who is told when a source becomes unhealthy and when it recovers.
    pub ops: crate::ops::Ops,
    /// Test hook, see [`StageHook`]; `None` in the daemon.
    pub stage_hook: Option<StageHook>,
}

/// Events taken from the channel at once: one commit covers them all.
const MAX_EVENTS_PER_BATCH: usize = 512;

impl Ingest {
    /// Processes events until the channel closes (all senders dropped).
    pub fn run(mut self, mut rx: mpsc::Receiver<Message>) {
        beat(&*self.clock);
        while let Some(first) = rx.blocking_recv() {
            beat(&*self.clock);
            let mut events = Vec::new();
            let mut reload = None;
            let mut next = Some(first);
            while let Some(e) = next {
                match e {
                    Message::Reload(r) => {
                        reload = Some(r);
                        break;
                    }
                    Message::Event(e) => events.push(e),
                }
                next = if events.len() < MAX_EVENTS_PER_BATCH {
                    rx.try_recv().ok()
                } else {
                    None
                };
            }
            if events.is_empty() {
                if let Some(r) = reload {
                    self.reload(*r);
                }
                continue;
            }
            let sources: Vec<String> = events.iter().map(|e| e.source().to_string()).collect();
            // The thread never dies: a panic the per-mention guards did not catch fails
            // this batch only.
            match catch_unwind(AssertUnwindSafe(|| self.process(events))) {
                Ok(Ok(())) => {}
                // Nothing was recorded: these sources will be fetched again.
                Ok(Err(e)) => {
                    error!(error = %e, kind = ?e.kind(), sources = %sources.join(","), "batch not recorded; it will be fetched again")
                }
                Err(panic) => {
                    self.state.clear_poison();
                    self.report.clear_poison();
                    self.states.clear_poison();
                    error!(panic = %panic_message(&*panic), sources = %sources.join(","), "internal error while ingesting a batch; not recorded, it will be fetched again");
                }
            }
            if let Some(r) = reload {
                self.reload(*r);
            }
        }
        // Every batch is committed; let background merges finish before exiting.
        if let Err(e) = self.writer.close() {
            error!(error = %e, "index merges did not finish");
        }
    }

    fn reload(&mut self, r: Reloaded) {
        self.matcher = r.matcher;
        self.evaluator = r.evaluator;
        self.enricher.reconfigure(&r.enrich);
        self.keep_unmatched = r.keep_unmatched;
        self.unhealthy_after = r.unhealthy_after;
        self.ops = r.ops;
        info!(
            rules = self.evaluator.rules().len(),
            "ingest: new brands and rules in force"
        );
    }

    pub fn process(&mut self, events: Vec<Event>) -> Result<(), Error> {
        let now = self.clock.now();

        // 0. First polls (backfills) and the look-back: see `backfill.rs`.
        let mut backfill = {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let batch = st.batch()?;
            Backfill::of(&batch, &events, now)?
        };

        // 1. Candidates: each id once per batch, then only those never processed.
        let mut in_batch = HashSet::new();
        let mut candidates: Vec<Mention> = Vec::new();
        let mut items = 0u64;
        for e in &events {
            items += e.mentions().len() as u64;
            for m in e.mentions() {
                if !backfill.too_old(m) && in_batch.insert(m.id.clone()) {
                    candidates.push(m.clone());
                }
            }
        }
        // Items a source could not map: reported once (they are recorded as seen).
        let mut failed: Vec<Failed> = events
            .iter()
            .filter_map(|e| match e {
                Event::Polled { source, poll } => Some((source, poll)),
                _ => None,
            })
            .flat_map(|(source, poll)| poll.failed.iter().map(|f| Failed::unmapped(source, f)))
            .collect();
        let (fresh_flags, new_failures) = {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let batch = st.batch()?;
            let ids: Vec<&str> = candidates.iter().map(|m| m.id.as_str()).collect();
            let failed_ids: Vec<&str> = failed.iter().map(|f| f.id.as_str()).collect();
            (batch.unseen(&ids)?, batch.unseen(&failed_ids)?)
        };
        failed = failed
            .into_iter()
            .zip(new_failures)
            .filter_map(|(f, new)| new.then_some(f))
            .collect();
        let mut fresh: Vec<Mention> = candidates
            .into_iter()
            .zip(fresh_flags)
            .filter_map(|(m, f)| f.then_some(m))
            .collect();

        let new_count = fresh.len();
        let mut new_per_source: HashMap<String, u64> = HashMap::new();
        for m in &fresh {
            *new_per_source.entry(m.source.clone()).or_default() += 1;
        }

        let hook = self.stage_hook.clone();
        let hook = hook.as_ref();

        // 2. Language, match, then enrich what will be indexed (sentiment, story, reach).
        // The language comes first: queries and brands filter on it.
        let metrics = crate::metrics::get();
        let t = std::time::Instant::now();
        let (enricher, matcher) = (&mut self.enricher, &self.matcher);
        fresh = each_guarded(fresh, "match", hook, &mut failed, |m| {
            enricher.language(m);
            m.brands = matcher.match_mention(m);
        });
        metrics.match_seconds.observe(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let keep_unmatched = self.keep_unmatched;
        let indexed = |m: &Mention| keep_unmatched || !m.brands.is_empty();
        let enricher = &mut self.enricher;
        fresh = each_guarded(fresh, "enrich", hook, &mut failed, |m| {
            if indexed(m) {
                enricher.enrich(m);
            }
        });
        metrics.enrich_seconds.observe(t.elapsed().as_secs_f64());

        // 3. Index, then make it visible.
        let t = std::time::Instant::now();
        let writer = &mut self.writer;
        let mut write_error = None;
        fresh = each_guarded(fresh, "index", hook, &mut failed, |m| {
            if indexed(m)
                && write_error.is_none()
                && let Err(e) = writer.upsert(std::slice::from_ref(m))
            {
                write_error = Some(e);
            }
        });
        if let Some(e) = write_error {
            return Err(e.into());
        }
        let indexed_count = fresh.iter().filter(|m| indexed(m)).count();
        if indexed_count > 0 {
            self.writer.commit()?;
            self.index.reload()?;
            metrics.index_seconds.observe(t.elapsed().as_secs_f64());
        }

        // 4. Record everything in one transaction.
        let mut matched: Vec<Mention> = fresh
            .iter()
            .filter(|m| !m.brands.is_empty())
            .cloned()
            .collect();
        let mut released = false;
        // Alerts about veille itself, in the transaction that records the transition:
        // one per transition, and a redone batch finds its key already there.
        let mut told_ops = false;
        let (firings, too_old) = {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let tx = st.batch()?;
            for e in &events {
                match e {
                    Event::Polled { source, poll } => {
                        let new = new_per_source.get(source.as_str()).copied().unwrap_or(0);
                        if let Some(since) = tx.source_success(source, &poll.state, new, now)? {
                            info!(source = %source, "source recovered");
                            if self.ops.watches_sources() {
                                let a = crate::ops::source_recovered(source, since, now);
                                told_ops |= tx.enqueue_alert(&a, &self.ops.notify, false)?;
                            }
                        }
                    }
                    Event::Failed {
                        source,
                        error,
                        internal,
                    } => {
                        // A bug is not a hiccup: shown unhealthy at once.
                        let after = if *internal {
                            chrono::Duration::zero()
                        } else {
                            self.unhealthy_after
                        };
                        if let Some(since) = tx.source_failure(source, error, now, after)? {
                            warn!(source = %source, error = %error, "source unhealthy: failing for a long time");
                            if self.ops.watches_sources() {
                                let a = crate::ops::source_unhealthy(source, error, since, now);
                                told_ops |= tx.enqueue_alert(&a, &self.ops.notify, false)?;
                            }
                        }
                    }
                    Event::Scheduled {
                        source,
                        next_due,
                        auto_every,
                    } => tx.source_scheduled(source, *next_due, *auto_every)?,
                    Event::Pushed { .. } | Event::Tick => {}
                }
            }
            let t = std::time::Instant::now();
            let evaluator = &self.evaluator;
            let history = RuleHistory {
                batch: &tx,
                index: &self.index,
            };
            let rules = |batch: &[Mention]| {
                if let Some(h) = hook {
                    batch.iter().for_each(|m| h("rules", m));
                }
                let (live, backfilled) = backfill.split(batch);
                let mut f = evaluator.evaluate(&history, &live, now)?;
                f.extend(evaluator.evaluate_from(&history, &backfilled, now, Origin::Backfill)?);
                Ok(f)
            };
            let (mut firings, passed) = rules_guarded(&tx, matched, &mut failed, rules)?;
            matched = passed;
            backfill.count_silent(&matched);
            let too_old = matched
                .iter()
                .filter(|m| {
                    m.brand_ids().all(|b| {
                        evaluator
                            .max_age(b)
                            .is_some_and(|a| now - m.published_at > a.chrono())
                    })
                })
                .count() as u64;
            if events.iter().any(|e| matches!(e, Event::Tick)) {
                // Time-driven rules are looked at again at the next tick if they fail.
                match tx.savepoint(|| evaluator.tick(&history, now))? {
                    Ok(f) => firings.extend(f?),
                    Err(panic) => {
                        error!(panic = %panic_message(&*panic), "internal error in time-driven rules; tried again at the next tick")
                    }
                }
                if tx.release_silenced(now)? > 0 {
                    released = true;
                }
            }
            metrics.rules_seconds.observe(t.elapsed().as_secs_f64());
            for m in &fresh {
                if !failed.iter().any(|f| f.id == m.id) {
                    tx.mark_seen(&m.id, &m.source, now)?;
                }
            }
            backfill.record(&tx, evaluator.brand_ids(), now)?;
            for f in &failed {
                let error = format!("{}: {}", f.item.stage, f.item.error);
                tx.item_failed(&f.source, &f.id, &f.item.url, &error, now)?;
            }
            // After the rules: "first time" means before this batch.
            for m in &matched {
                for b in m.brand_ids() {
                    tx.record_author_and_site(b, m)?;
                }
            }
            let mut enqueued = Vec::new();
            for f in firings {
                if tx.enqueue_alert(&f.alert, &f.notify, f.silenced)? {
                    enqueued.push(f);
                }
            }
            tx.commit()?;
            for m in &matched {
                for b in m.brand_ids() {
                    metrics
                        .mentions
                        .get_or_create(&crate::metrics::BrandLabel {
                            brand: b.to_string(),
                        })
                        .inc();
                }
            }
            for f in &enqueued {
                metrics
                    .alerts
                    .get_or_create(&crate::metrics::AlertLabels {
                        rule: f.alert.rule.clone(),
                        status: f.alert.status.as_str().into(),
                        state: if f.silenced { "silenced" } else { "pending" }.into(),
                    })
                    .inc();
            }
            (enqueued, too_old)
        };
        for f in &failed {
            crate::metrics::item_failed(&f.source, f.item.stage);
            error!(source = %f.source, url = %f.item.url, stage = f.item.stage, error = %f.item.error,
                   "item failed: skipped, the rest of the batch goes on");
        }

        // 5. After the commit: new source states, wake delivery, report.
        {
            let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
            for e in &events {
                if let Event::Polled { source, poll } = e {
                    states.insert(source.clone(), poll.state.clone());
                }
            }
        }
        if !firings.is_empty() || released || told_ops {
            self.wake.wake();
        }
        for f in &firings {
            info!(rule = %f.alert.rule, brand = %f.alert.brand, severity = %f.alert.severity,
                  mentions = f.alert.total_mentions, key = %f.alert.key, "alert raised");
        }
        if backfill.skipped > 0 || backfill.silent > 0 {
            info!(
                older_than_look_back = backfill.skipped,
                indexed_without_alerts = backfill.silent,
                "first poll of a source: a backfill, indexed without alerts"
            );
        }
        if new_count > 0 {
            info!(
                new = new_count,
                matched = matched.len(),
                indexed = indexed_count,
                failed = failed.len(),
                "batch ingested"
            );
        }
        let mut r = self.report.lock().unwrap_or_else(PoisonError::into_inner);
        r.items += items;
        r.new_mentions += new_count as u64;
        r.backfill_skipped += backfill.skipped;
        r.backfill_silent += backfill.silent;
        r.too_old_to_alert += too_old;
        r.indexed += indexed_count as u64;
        for f in &failed {
            let s = r.per_source.entry(f.source.clone()).or_default();
            s.items_failed += 1;
            s.last_item_error = Some(format!(
                "{}: {} ({})",
                f.item.stage, f.item.error, f.item.url
            ));
        }
        for m in &matched {
            for b in m.brand_ids() {
                *r.per_brand.entry(b.to_string()).or_default() += 1;
            }
        }
        for e in &events {
            match e {
                Event::Polled { source, poll } => {
                    r.polls += 1;
                    let s = r.per_source.entry(source.clone()).or_default();
                    s.polls += 1;
                    s.items += poll.mentions.len() as u64;
                    s.new += new_per_source.get(source.as_str()).copied().unwrap_or(0);
                    s.failed_pages += poll.failed_pages as u64;
                    s.last_error = None;
                    if poll.not_modified {
                        s.not_modified += 1;
                        r.not_modified += 1;
                    }
                }
                Event::Failed { source, error, .. } => {
                    r.failures += 1;
                    let s = r.per_source.entry(source.clone()).or_default();
                    s.polls += 1;
                    s.last_error = Some(error.clone());
                }
                Event::Pushed { source, mentions } => {
                    let s = r.per_source.entry(source.clone()).or_default();
                    s.items += mentions.len() as u64;
                    s.new += new_per_source.get(source.as_str()).copied().unwrap_or(0);
                }
                Event::Scheduled { .. } | Event::Tick => {}
            }
        }
        r.alerts.extend(firings.into_iter().map(|f| f.alert));
        Ok(())
    }
}
