//! The delivery side of the daemon: the outbox workers and the digest runner, started
//! together (they share the notifiers) and stopped together on reload or shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::config::Config;
use crate::crawl::Http;
use crate::outbox::{Outbox, Wake};
use crate::store::index::MentionIndex;
use crate::store::state::State;

use super::DIGEST_MAX_SLEEP;

/// Running delivery workers (and the digest schedule, which uses the same notifiers).
pub(super) struct RunningOutbox {
    pub(super) stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    pub(super) notifiers: Arc<HashMap<String, crate::notify::Notifier>>,
    pub(super) digests: Option<tokio::task::JoinHandle<()>>,
}

impl RunningOutbox {
    /// Asks the workers to stop after their current attempt; waits at most `limit`.
    ///
    /// Past the limit the tasks are aborted rather than left running: the next workers
    /// (after a reload) must not deliver the same items alongside them. State is written
    /// between awaits, so an abort leaves a delivery pending, to be retried.
    pub(super) async fn stop(self, limit: StdDuration) {
        let _ = self.stop.send(true);
        // One deadline for both.
        let deadline = tokio::time::Instant::now() + limit;
        if let Some(mut d) = self.digests {
            // A digest being sent may finish within the limit.
            if tokio::time::timeout_at(deadline, &mut d).await.is_err() {
                d.abort();
                let _ = d.await;
                info!("digest delivery still in flight; it will be retried");
            }
        }
        let mut task = self.task;
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
            info!("delivery still in flight; it will be retried");
        }
    }
}

pub(super) fn start_outbox(
    notifiers: std::collections::BTreeMap<String, crate::notify::Notifier>,
    http: &Http,
    state: &Arc<Mutex<State>>,
    wake: &Wake,
    opts: &super::RunOptions,
    ops: &crate::ops::Ops,
) -> RunningOutbox {
    let (stop, stop_rx) = watch::channel(false);
    let installation = state.lock().unwrap().installation_id().unwrap_or_else(|e| {
        // Made by a migration, so only a damaged database lacks it.
        warn!(error = %e, "no installation id in the state database");
        String::from("unknown")
    });
    let outbox = Arc::new(Outbox {
        state: state.clone(),
        notifiers: Arc::new(notifiers.into_iter().collect()),
        http: http.clone(),
        wake: wake.clone(),
        events: opts.events.clone(),
        installation,
        clock: opts.clock.clone(),
        ops: ops.clone(),
        pace: opts.pace,
    });
    // Deliveries for notifiers no longer configured stay in the outbox, said once here,
    // shown by `veille alerts` as orphaned, and told by [ops].
    if let Ok(names) = state.lock().unwrap().pending_notifiers() {
        for n in names.iter().filter(|n| !outbox.notifiers.contains_key(*n)) {
            warn!(notifier = %n, "alerts wait for a notifier that is no longer configured: `veille alerts retry --all-orphaned --to NOTIFIER` re-routes them");
        }
    }
    // The first look now, before anything is polled: `run --once` delivers what it raises.
    outbox.check_queues();
    RunningOutbox {
        notifiers: outbox.notifiers.clone(),
        stop,
        task: tokio::spawn(outbox.run(stop_rx)),
        digests: None,
    }
}

/// The digest runner over the notifiers of `o`.
pub(super) fn start_digests(
    o: &RunningOutbox,
    config: &Config,
    index: &Arc<MentionIndex>,
    state: &Arc<Mutex<State>>,
    http: &Http,
    clock: &Arc<dyn Clock>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(
        crate::digest::Runner {
            digests: config.digests.clone(),
            brands: config.brands.clone(),
            notifiers: o.notifiers.clone(),
            index: index.clone(),
            state: state.clone(),
            http: http.clone(),
            clock: clock.clone(),
            max_sleep: DIGEST_MAX_SLEEP,
        }
        .run(o.stop.subscribe()),
    )
}

/// In `Once` mode: waits (at most `timeout`) for the outbox of the configured notifiers
/// to empty (deliveries for a removed notifier would wait forever).
pub(super) async fn wait_for_outbox(
    state: &Arc<Mutex<State>>,
    notifiers: &[String],
    timeout: StdDuration,
    shutdown: &mut watch::Receiver<bool>,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let pending = state.lock().unwrap().pending_for(notifiers).unwrap_or(0);
        if pending == 0 || *shutdown.borrow() || tokio::time::Instant::now() >= deadline {
            if pending > 0 {
                info!(
                    pending,
                    "alerts still waiting for delivery; they stay in the outbox"
                );
            }
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(StdDuration::from_millis(50)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// What the API may see change on reload: its tokens and the lists of sources, brands
/// and rules.
pub(super) fn live_of(c: &Config) -> crate::api::Live {
    crate::api::Live {
        tokens: c.api_tokens.clone(),
        sources: c
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.kind_name().to_string()))
            .collect(),
        notifiers: c.notifiers.keys().cloned().collect(),
        brands: c.brands.iter().map(|b| b.id.clone()).collect(),
        rules: c.rules.iter().map(|r| r.id.clone()).collect(),
    }
}
