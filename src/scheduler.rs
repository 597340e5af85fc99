//! The scheduler: decides which source is fetched when.
//!
//! - each source has its interval (`every`, ±10 % jitter) or an adaptive one (`auto`);
//! - due sources start in order of lateness (a heap keyed by due time);
//! - at most `concurrency` fetches run at once, and at most `per_host` per host, with
//!   `per_host_delay` between two starts on one host: a source whose host is busy is
//!   parked and the next due source of another host goes first, so one slow host never
//!   delays the others;
//! - after an error, exponential backoff with jitter; 429/503 Retry-After is honoured;
//! - results go to the ingest stage through a bounded channel (a slow ingest slows
//!   fetching, not memory).
//!
//! Over 500 lines with its tests (about 480 of code).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::crawl::{CrawlConfig, FetchError, Http};
use crate::ingest::Message;
use crate::model::{Event, Poll, SharedStates, SourceState};
use crate::sources::Source;
use crate::sources::quota::{Budgets, Metered, Spend};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Poll every enabled source once, then stop (demo, tests, `veille run --once`).
    Once,
    /// Poll forever, until shutdown.
    Forever,
}

/// What fetches a source. The daemon uses [`HttpPoller`]; scheduling tests use a fake one
/// with a paused clock.
pub trait Poller: Send + Sync + 'static {
    fn poll<'a>(
        &'a self,
        source: &'a Source,
        state: &'a SourceState,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Poll, FetchError>>;
}

pub struct HttpPoller(pub Http);

impl Poller for HttpPoller {
    fn poll<'a>(
        &'a self,
        source: &'a Source,
        state: &'a SourceState,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Poll, FetchError>> {
        Box::pin(source.poll(&self.0, state, now))
    }
}

/// Called after each successful poll (WebSub subscription, for instance).
pub type AfterPoll = Arc<dyn Fn(&Source, &Poll) -> Option<StdDuration> + Send + Sync>;

pub struct Scheduler {
    pub sources: Vec<Arc<Source>>,
    pub poller: Arc<dyn Poller>,
    pub limits: CrawlConfig,
    pub states: SharedStates,
    pub tx: mpsc::Sender<Message>,
    pub clock: Arc<dyn Clock>,
    /// Consecutive failures per source at start (from the state database).
    pub failures: Vec<u32>,
    /// Saved interval of `every = "auto"` sources, in seconds (from the state database).
    pub auto_every: Vec<Option<u64>>,
    /// Time until each source's first poll, when known (its saved next poll, after a
    /// restart or a reload); otherwise a few seconds of jitter. Ignored in `Once` mode.
    pub first_due: Vec<Option<StdDuration>>,
    /// How long in-flight fetches may run after shutdown is asked.
    pub drain_timeout: StdDuration,
    /// Optional hook after a successful poll; may return a minimum interval before the
    /// next poll (a source pushed through WebSub is only polled as a safety net).
    pub after_poll: Option<AfterPoll>,
    /// Daily budgets of the metered APIs: their polls are spaced so that each lasts the
    /// day, and stop until the API's reset once it is spent.
    pub budgets: Budgets,
}

/// Interval with ±10 % jitter, so sources configured alike do not fire together.
pub fn jittered(every: StdDuration) -> StdDuration {
    every.mul_f64(0.9 + fastrand::f64() * 0.2)
}

/// The longest a server can make a source wait (beyond its own interval).
const MAX_DELAY: StdDuration = crate::crawl::fetch::MAX_RETRY_AFTER;

/// Delay after consecutive errors: 1 min doubling up to 6 h (±20 % jitter), never less
/// than what the server asked for with Retry-After.
pub const BACKOFF: Backoff = Backoff {
    first: StdDuration::from_secs(60),
    max: StdDuration::from_secs(6 * 3600),
    jitter: 0.2,
    max_retry_after: MAX_DELAY,
};

/// Next interval of an `every = "auto"` source.
///
/// From the dates of the items served: half the median gap between consecutive items (a
/// feed that publishes every 20 min is polled every 10). Unchanged (304): 1.5 times
/// longer. One item: a bit shorter. Always within `[min, max]`.
pub fn auto_interval(
    current: StdDuration,
    new_items: &[DateTime<Utc>],
    min: StdDuration,
    max: StdDuration,
) -> StdDuration {
    let next = if new_items.is_empty() {
        current.mul_f64(1.5)
    } else if new_items.len() >= 2 {
        let mut d: Vec<i64> = new_items.iter().map(|t| t.timestamp()).collect();
        d.sort_unstable();
        let mut gaps: Vec<i64> = d.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort_unstable();
        let median = gaps[gaps.len() / 2].max(1) as u64;
        StdDuration::from_secs(median / 2)
    } else {
        current.mul_f64(0.75)
    };
    next.clamp(min, max)
}

#[derive(Default)]
struct Host {
    in_flight: usize,
    next_allowed: Option<Instant>,
    /// Due sources waiting for a free connection to this host: (due, index).
    parked: VecDeque<(Instant, usize)>,
}

struct Done {
    idx: usize,
    outcome: Outcome,
}

enum Outcome {
    Ok {
        /// Publication dates of the items served, to estimate how often the source
        /// publishes (empty: not modified); `None` when no item carries a date of its own.
        item_dates: Option<Vec<DateTime<Utc>>>,
        min_next: Option<StdDuration>,
    },
    Failed {
        retry_after: Option<StdDuration>,
    },
}

/// Where a source stood when a scheduler stopped, for the next one (after a reload).
#[derive(Debug, Clone)]
pub struct Carry {
    pub failures: u32,
    /// Current interval (adaptive sources), in seconds.
    pub auto_every: Option<u64>,
    /// Time left until its next poll.
    pub due_in: Option<StdDuration>,
}

impl Scheduler {
    /// Polls until `shutdown` (or, in `Once` mode, until each source was polled once).
    /// Returns where each source stood, by id.
    pub async fn run(
        self,
        mode: Mode,
        mut shutdown: watch::Receiver<bool>,
    ) -> HashMap<String, Carry> {
        let concurrency = self.limits.concurrency.max(1);
        let per_host = self.limits.per_host.max(1);
        let per_host_delay = self.limits.per_host_delay.std();
        let mut failures = self.failures.clone();
        failures.resize(self.sources.len(), 0);
        // Current interval per source (adaptive ones start from their saved value).
        let mut interval: Vec<StdDuration> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| match self.auto_every.get(i).copied().flatten() {
                Some(secs) if s.auto => StdDuration::from_secs(secs),
                _ => s.every.std(),
            })
            .collect();
        let mut heap: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
        let mut hosts: HashMap<String, Host> = HashMap::new();
        let host_of: Vec<String> = self.sources.iter().map(|s| s.host()).collect();
        let start = Instant::now();
        for (i, s) in self.sources.iter().enumerate() {
            if !s.enabled {
                continue;
            }
            let saved = self.first_due.get(i).copied().flatten();
            let delay = match mode {
                Mode::Once => StdDuration::ZERO,
                // After errors the saved next poll is a backoff or a server's Retry-After:
                // kept over a restart or reload (a 429's hour is not forgotten). Otherwise
                // at most the interval, so a shorter `every` applies at once.
                Mode::Forever if saved.is_some() => {
                    let failing = self.failures.get(i).copied().unwrap_or(0) > 0;
                    saved
                        .unwrap_or_default()
                        .min(if failing { MAX_DELAY } else { s.every.std() })
                }
                // Due now: the concurrency and per-host limits pace the first round, and
                // the jitter of later intervals spreads the rounds after it.
                Mode::Forever => StdDuration::ZERO,
            };
            heap.push(Reverse((start + delay, i)));
        }
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let mut tasks = JoinSet::new();
        let mut in_flight = 0usize;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Start whatever is due, latest first, within the limits.
            let now = Instant::now();
            while in_flight < concurrency {
                let Some(&Reverse((due, idx))) = heap.peek() else {
                    break;
                };
                if due > now {
                    break;
                }
                heap.pop();
                let host = hosts.entry(host_of[idx].clone()).or_default();
                if host.in_flight >= per_host {
                    host.parked.push_back((due, idx));
                    continue;
                }
                if let Some(at) = host.next_allowed
                    && at > now
                {
                    heap.push(Reverse((at, idx)));
                    continue;
                }
                host.in_flight += 1;
                host.next_allowed = Some(now + per_host_delay);
                in_flight += 1;
                tasks.spawn(self.guarded_poll(idx, done_tx.clone()));
            }
            let parked = hosts.values().any(|h| !h.parked.is_empty());
            if mode == Mode::Once && heap.is_empty() && in_flight == 0 && !parked {
                break;
            }
            let next = heap.peek().map(|Reverse((at, _))| *at);
            let can_start = in_flight < concurrency && next.is_some();
            tokio::select! {
                _ = tokio::time::sleep_until(next.unwrap_or(now)), if can_start => {}
                Some(d) = done_rx.recv() => {
                    in_flight -= 1;
                    let host = hosts.get_mut(&host_of[d.idx]).expect("host of a running fetch");
                    host.in_flight -= 1;
                    if let Some(p) = host.parked.pop_front() {
                        heap.push(Reverse(p));
                    }
                    let s = &self.sources[d.idx];
                    let delay = match d.outcome {
                        Outcome::Ok { item_dates, min_next } => {
                            failures[d.idx] = 0;
                            if s.auto
                                && let Some(dates) = item_dates
                            {
                                interval[d.idx] = auto_interval(
                                    interval[d.idx],
                                    &dates,
                                    self.limits.auto_min.std(),
                                    self.limits.auto_max.std(),
                                );
                            }
                            let base = jittered(interval[d.idx]);
                            min_next.map_or(base, |m| base.max(m.min(MAX_DELAY)))
                        }
                        Outcome::Failed { retry_after } => {
                            failures[d.idx] += 1;
                            BACKOFF.delay(failures[d.idx], retry_after)
                        }
                    };
                    let next_due = self.clock.now() + chrono::Duration::from_std(delay).unwrap_or_default();
                    let scheduled = Event::Scheduled {
                        source: s.id.clone(),
                        next_due,
                        auto_every: s.auto.then(|| interval[d.idx].as_secs()),
                    };
                    // Never block scheduling on a busy ingest stage, nor lose the record.
                    if let Err(mpsc::error::TrySendError::Full(ev)) = self.tx.try_send(scheduled.into()) {
                        let tx = self.tx.clone();
                        tokio::spawn(async move { tx.send(ev).await });
                    }
                    if mode == Mode::Forever {
                        heap.push(Reverse((Instant::now() + delay, d.idx)));
                    }
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = shutdown.changed() => {}
            }
        }
        // Let in-flight fetches finish (bounded): their results are recorded or redone.
        if !tasks.is_empty() {
            info!(in_flight = tasks.len(), "waiting for in-flight fetches");
            let drain = async { while tasks.join_next().await.is_some() {} };
            if tokio::time::timeout(self.drain_timeout, drain)
                .await
                .is_err()
            {
                warn!("in-flight fetches cut short at shutdown; they will be redone at next start");
                tasks.abort_all();
            }
        }
        // What is still queued, plus what finished during the drain.
        let mut due: HashMap<usize, Instant> =
            heap.into_iter().map(|Reverse((at, i))| (i, at)).collect();
        for h in hosts.values() {
            for (at, i) in &h.parked {
                due.insert(*i, *at);
            }
        }
        while let Ok(d) = done_rx.try_recv() {
            if let Outcome::Failed { .. } = d.outcome {
                failures[d.idx] += 1;
            } else {
                failures[d.idx] = 0;
            }
            due.insert(d.idx, Instant::now() + jittered(interval[d.idx]));
        }
        let now = Instant::now();
        self.sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    s.id.clone(),
                    Carry {
                        failures: failures[i],
                        auto_every: s.auto.then(|| interval[i].as_secs()),
                        due_in: due.get(&i).map(|at| at.saturating_duration_since(now)),
                    },
                )
            })
            .collect()
    }

    /// [`Self::poll_task`], with a panic (a bug in a source module) turned into a failed
    /// poll: the source backs off and is retried, its slots are freed, the rest goes on.
    fn guarded_poll(
        &self,
        idx: usize,
        done: mpsc::UnboundedSender<Done>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        use futures_util::FutureExt;
        let task = self.poll_task(idx, done.clone());
        let id = self.sources[idx].id.clone();
        let kind = self.sources[idx].kind_name();
        let tx = self.tx.clone();
        async move {
            let Err(panic) = std::panic::AssertUnwindSafe(task).catch_unwind().await else {
                return;
            };
            let what = crate::sources::panic_message(&*panic);
            error!(source = %id, kind, panic = %what, "internal error while polling; the source is marked unhealthy and retried later");
            crate::metrics::fetch(kind, "error", 0.0, 0);
            crate::metrics::source_polled(&id, kind, None);
            let _ = tx
                .send(
                    Event::Failed {
                        source: id,
                        error: format!("internal error: {what}"),
                        internal: true,
                    }
                    .into(),
                )
                .await;
            let _ = done.send(Done {
                idx,
                outcome: Outcome::Failed { retry_after: None },
            });
        }
    }

    fn poll_task(
        &self,
        idx: usize,
        done: mpsc::UnboundedSender<Done>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let source = self.sources[idx].clone();
        let poller = self.poller.clone();
        let states = self.states.clone();
        let tx = self.tx.clone();
        let clock = self.clock.clone();
        let after_poll = self.after_poll.clone();
        let budgets = self.budgets.clone();
        let metered = Metered::of(&source);
        // The other sources sharing this one's quota (none to look for on an unmetered
        // source: every poll passes here).
        let peers: Vec<String> = match metered {
            None => Vec::new(),
            Some(m) => self
                .sources
                .iter()
                .filter(|s| s.id != source.id && Metered::of(s) == Some(m))
                .map(|s| s.id.clone())
                .collect(),
        };
        async move {
            let state = states
                .lock()
                .unwrap()
                .get(&source.id)
                .cloned()
                .unwrap_or_default();
            // What the kind spent today, this source's share given as `own`.
            let spent = |m: Metered, own: Option<Spend>| {
                let day = m.day(clock.now());
                let states = states
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Spend::on(own, day)
                    + peers
                        .iter()
                        .map(|p| Spend::on(states.get(p).and_then(|s| s.quota), day))
                        .sum::<u64>()
            };
            // A spent budget is not overrun by a poll made before the reset (after a
            // restart, for instance): the API is not called.
            if let Some(m) = metered
                && let Some(b) = budgets.of(m)
                && spent(m, state.quota) >= b.daily
            {
                let now = clock.now();
                let wait = budgets.wait(m, 0, b.daily, now);
                info!(source = %source.id, quota = m.name(), daily = b.daily, reset = %m.next_reset(now), "daily quota spent: no call before the reset");
                let _ = done.send(Done {
                    idx,
                    outcome: Outcome::Ok {
                        item_dates: None,
                        min_next: wait,
                    },
                });
                return;
            }
            let started = std::time::Instant::now();
            let result = poller.poll(&source, &state, clock.now()).await;
            let elapsed = started.elapsed();
            let ms = elapsed.as_millis() as u64;
            match &result {
                Ok(p) => crate::metrics::fetch(
                    source.kind_name(),
                    if p.not_modified { "not_modified" } else { "ok" },
                    elapsed.as_secs_f64(),
                    p.bytes as u64,
                ),
                Err(_) => {
                    crate::metrics::fetch(source.kind_name(), "error", elapsed.as_secs_f64(), 0)
                }
            }
            let success = result.as_ref().ok().map(|_| clock.now());
            crate::metrics::source_polled(&source.id, source.kind_name(), success);
            let (event, outcome) = match result {
                Ok(poll) => {
                    if poll.not_modified {
                        info!(source = %source.id, ms, "not modified");
                    } else {
                        info!(source = %source.id, items = poll.mentions.len(), bytes = poll.bytes, failed_pages = poll.failed_pages, ms, "fetched");
                    }
                    let pushed = after_poll.as_ref().and_then(|f| f(&source, &poll));
                    // An API that said its quota is spent is not called before it resets.
                    // A metered API's budget is spread over the day.
                    let quota_wait = metered.and_then(|m| {
                        let spent = spent(m, poll.state.quota);
                        budgets.wait(m, poll.quota_units, spent, clock.now())
                    });
                    let min_next = [pushed, poll.retry_after, quota_wait]
                        .into_iter()
                        .flatten()
                        .max();
                    // Undated items carry their fetch time: they say nothing of the rate.
                    let dated: Vec<DateTime<Utc>> = poll
                        .mentions
                        .iter()
                        .filter(|m| m.published_at < m.fetched_at)
                        .map(|m| m.published_at)
                        .collect();
                    let item_dates = if poll.not_modified {
                        Some(Vec::new())
                    } else if dated.is_empty() && !poll.mentions.is_empty() {
                        None
                    } else {
                        Some(dated)
                    };
                    (
                        Event::Polled {
                            source: source.id.clone(),
                            poll,
                        },
                        Outcome::Ok {
                            item_dates,
                            min_next,
                        },
                    )
                }
                Err(e) => {
                    warn!(source = %source.id, kind = source.kind_name(), error = %e, ms, "fetch failed");
                    let retry_after = e.retry_after();
                    (
                        Event::Failed {
                            source: source.id.clone(),
                            error: e.to_string(),
                            internal: false,
                        },
                        Outcome::Failed { retry_after },
                    )
                }
            };
            // Back-pressure: waits while the ingest stage is busy.
            if tx.send(event.into()).await.is_err() {
                return;
            }
            let _ = done.send(Done { idx, outcome });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_honours_retry_after() {
        let b1 = BACKOFF.delay(1, None);
        assert!(b1 >= StdDuration::from_secs(48) && b1 <= StdDuration::from_secs(72));
        let b3 = BACKOFF.delay(3, None);
        assert!(b3 >= StdDuration::from_secs(192) && b3 <= StdDuration::from_secs(288));
        assert!(BACKOFF.delay(40, None) <= StdDuration::from_secs(6 * 3600 * 12 / 10));
        assert_eq!(
            BACKOFF.delay(1, Some(StdDuration::from_secs(3600))),
            StdDuration::from_secs(3600)
        );
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let j = jittered(StdDuration::from_secs(600));
            assert!(j >= StdDuration::from_secs(540) && j <= StdDuration::from_secs(660));
        }
    }

    #[test]
    fn auto_interval_follows_the_publication_rate() {
        let min = StdDuration::from_secs(120);
        let max = StdDuration::from_secs(21_600);
        let t0 = Utc::now();
        let every_20_min: Vec<_> = (0..6)
            .map(|i| t0 - chrono::Duration::minutes(20 * i))
            .collect();
        let cur = StdDuration::from_secs(3600);
        assert_eq!(
            auto_interval(cur, &every_20_min, min, max),
            StdDuration::from_secs(600)
        );
        // Nothing new: slower, up to the bound.
        assert_eq!(
            auto_interval(cur, &[], min, max),
            StdDuration::from_secs(5400)
        );
        assert_eq!(auto_interval(max, &[], min, max), max);
        // A burst: never below the bound.
        let burst: Vec<_> = (0..5).map(|i| t0 - chrono::Duration::seconds(i)).collect();
        assert_eq!(auto_interval(cur, &burst, min, max), min);
    }
}
