//! The scheduler: polls each source at its own interval (with jitter), runs at most
//! `concurrency` fetches at once, backs off after errors, and hands results to the
//! ingest stage through a bounded channel (a slow ingest slows fetching, not memory).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{info, warn};

use super::Http;
use crate::clock::Clock;
use crate::pipeline::{Event, SharedStates};
use crate::sources::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Poll every enabled source once, then stop (demo, tests, `veille run --once`).
    Once,
    /// Poll forever, until shutdown.
    Forever,
}

pub struct Scheduler {
    pub sources: Vec<Arc<Source>>,
    pub http: Http,
    pub states: SharedStates,
    pub tx: mpsc::Sender<Event>,
    pub clock: Arc<dyn Clock>,
    /// Consecutive failures per source at start (from the state database).
    pub failures: Vec<u32>,
    /// How long in-flight fetches may run after shutdown is asked.
    pub drain_timeout: StdDuration,
}

/// Interval with ±10 % jitter, so sources configured alike do not fire together.
pub fn jittered(every: StdDuration) -> StdDuration {
    every.mul_f64(0.9 + fastrand::f64() * 0.2)
}

/// Delay after `failures` consecutive errors: 1 min doubling up to 6 h (±20 % jitter),
/// never less than what the server asked for with Retry-After.
pub fn error_backoff(failures: u32, retry_after: Option<StdDuration>) -> StdDuration {
    let base =
        StdDuration::from_secs(60).saturating_mul(1u32 << failures.saturating_sub(1).min(12));
    let d = base
        .min(StdDuration::from_secs(6 * 3600))
        .mul_f64(0.8 + fastrand::f64() * 0.4);
    retry_after.map_or(d, |r| d.max(r))
}

struct Done {
    idx: usize,
    ok: bool,
    retry_after: Option<StdDuration>,
}

impl Scheduler {
    pub async fn run(self, mode: Mode, mut shutdown: watch::Receiver<bool>) {
        let concurrency = self.http.limits.concurrency.max(1);
        let sem = Arc::new(Semaphore::new(concurrency));
        let mut failures = self.failures.clone();
        failures.resize(self.sources.len(), 0);
        let mut heap: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
        let start = Instant::now();
        for (i, s) in self.sources.iter().enumerate() {
            if !s.enabled {
                continue;
            }
            // First polls spread over a few seconds at start, not all at the same instant.
            let delay = match mode {
                Mode::Once => StdDuration::ZERO,
                Mode::Forever => s
                    .every
                    .std()
                    .div_f64(10.0)
                    .min(StdDuration::from_secs(10))
                    .mul_f64(fastrand::f64()),
            };
            heap.push(Reverse((start + delay, i)));
        }
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let mut tasks = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if mode == Mode::Once && heap.is_empty() && tasks.is_empty() {
                break;
            }
            let next = heap.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                _ = tokio::time::sleep_until(next.unwrap_or_else(|| Instant::now() + StdDuration::from_secs(3600))), if next.is_some() => {
                    let now = Instant::now();
                    while let Some(Reverse((at, idx))) = heap.peek().copied() {
                        if at > now {
                            break;
                        }
                        heap.pop();
                        tasks.spawn(self.poll_task(idx, sem.clone(), done_tx.clone()));
                    }
                }
                Some(d) = done_rx.recv() => {
                    let s = &self.sources[d.idx];
                    let delay = if d.ok {
                        failures[d.idx] = 0;
                        jittered(s.every.std())
                    } else {
                        failures[d.idx] += 1;
                        error_backoff(failures[d.idx], d.retry_after)
                    };
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
    }

    fn poll_task(
        &self,
        idx: usize,
        sem: Arc<Semaphore>,
        done: mpsc::UnboundedSender<Done>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let source = self.sources[idx].clone();
        let http = self.http.clone();
        let states = self.states.clone();
        let tx = self.tx.clone();
        let clock = self.clock.clone();
        async move {
            let Ok(_permit) = sem.acquire_owned().await else {
                return;
            };
            let state = states
                .lock()
                .unwrap()
                .get(&source.id)
                .cloned()
                .unwrap_or_default();
            let started = std::time::Instant::now();
            let result = source.poll(&http, &state, clock.now()).await;
            let ms = started.elapsed().as_millis() as u64;
            let (event, ok, retry_after) = match result {
                Ok(poll) => {
                    if poll.not_modified {
                        info!(source = %source.id, ms, "not modified");
                    } else {
                        info!(source = %source.id, items = poll.mentions.len(), bytes = poll.bytes, ms, "fetched");
                    }
                    (
                        Event::Polled {
                            source: source.id.clone(),
                            poll,
                        },
                        true,
                        None,
                    )
                }
                Err(e) => {
                    warn!(source = %source.id, kind = source.kind_name(), error = %e, ms, "fetch failed");
                    let retry_after = e.retry_after();
                    (
                        Event::Failed {
                            source: source.id.clone(),
                            error: e.to_string(),
                        },
                        false,
                        retry_after,
                    )
                }
            };
            // Back-pressure: waits while the ingest stage is busy.
            if tx.send(event).await.is_err() {
                return;
            }
            let _ = done.send(Done {
                idx,
                ok,
                retry_after,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_honours_retry_after() {
        let b1 = error_backoff(1, None);
        assert!(b1 >= StdDuration::from_secs(48) && b1 <= StdDuration::from_secs(72));
        let b3 = error_backoff(3, None);
        assert!(b3 >= StdDuration::from_secs(192) && b3 <= StdDuration::from_secs(288));
        assert!(error_backoff(40, None) <= StdDuration::from_secs(6 * 3600 * 12 / 10));
        assert_eq!(
            error_backoff(1, Some(StdDuration::from_secs(3600))),
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
}
