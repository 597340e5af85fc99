//! The drain, in order and within one `drain_timeout` counted from SIGTERM: timers, then
//! the HTTP server, then the ingest stage (it finishes what is queued and commits), then
//! the delivery workers (an attempt cut short stays pending for the next start).

use std::time::Duration as StdDuration;

use tokio::sync::watch;
use tracing::{info, warn};

use super::delivery::wait_for_outbox;
use super::start::Daemon;
use crate::ingest::Report;
use crate::scheduler::Mode;

impl Daemon {
    pub(super) async fn shutdown(
        self,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Report, super::Error> {
        let Daemon {
            opts,
            state,
            report,
            tx,
            ingest_thread,
            outbox,
            websub,
            after_poll,
            ready,
            api_stop,
            api_task,
            timers,
            stopping_since,
            started_at,
            ..
        } = self;
        ready.store(false, std::sync::atomic::Ordering::Relaxed);
        let _ = crate::systemd::notify(&[crate::systemd::NotifyState::Stopping]);
        for t in timers {
            t.abort();
            let _ = t.await;
        }
        // The WebSub registry holds a sender too: drop it so the ingest stage can finish.
        drop(websub);
        drop(after_poll);
        drop(tx);
        // What is left of the shutdown's time (all of it outside a shutdown, e.g. `Once`).
        let left = || match stopping_since {
            Some(t) => opts.drain_timeout.saturating_sub(t.elapsed()),
            None => opts.drain_timeout,
        };
        let _ = api_stop.send(true);
        if let Some(mut t) = api_task
            && tokio::time::timeout(left(), &mut t).await.is_err()
        {
            t.abort(); // open connections (a slow client) do not hold the shutdown
        }

        // Every sender is gone: the ingest thread finishes what is queued and commits.
        // `--once` ingests everything it fetched, however long that takes, unless it is
        // asked to stop; a stopping daemon has what is left of its shutdown time.
        let join = tokio::task::spawn_blocking(move || ingest_thread.join());
        tokio::pin!(join);
        let joined = if opts.mode == Mode::Once && stopping_since.is_none() {
            tokio::select! {
                j = &mut join => Ok(j),
                // The guard `wait_for` answers is dropped at once (it is not `Send`).
                _ = async { shutdown.wait_for(|stop| *stop).await.is_ok() } => {
                    tokio::time::timeout(opts.drain_timeout, &mut join).await
                }
            }
        } else {
            tokio::time::timeout(left().max(StdDuration::from_secs(1)), &mut join).await
        };
        let mut unfinished = false;
        match joined {
            Ok(joined) => {
                joined?.map_err(|_| super::Error::IngestPanicked)?;
                info!("ingest drained");
            }
            // Nothing is lost: a source's state only moves once its items are committed,
            // so what was not is fetched again at the next start.
            Err(_) => {
                unfinished = true;
                warn!(
                    "ingest still busy at the shutdown limit; uncommitted items are fetched again at next start"
                )
            }
        }

        if let Some(o) = outbox {
            if opts.mode == Mode::Once {
                let names: Vec<String> = o.notifiers.keys().cloned().collect();
                wait_for_outbox(&state, &names, opts.outbox_timeout, shutdown).await;
            }
            // An attempt cut short stays pending and is made again at the next start.
            o.stop(left().max(StdDuration::from_millis(500))).await;
        }
        let mut r = report.lock().unwrap().clone();
        r.ingest_unfinished = unfinished;
        if opts.mode == Mode::Once {
            // What this run leaves undelivered: `veille run --once` exits 4 on it.
            match state.lock().unwrap().undelivered_since(started_at) {
                Ok((pending, failed)) => (r.pending_at_exit, r.failed_at_exit) = (pending, failed),
                Err(e) => warn!(error = %e, "cannot count the deliveries left in the outbox"),
            }
        }
        info!("veille stopped");
        Ok(r)
    }
}
