//! Signals and the service manager: SIGHUP asks for a reload, SIGTERM/SIGINT for a
//! shutdown; while the daemon runs, systemd gets WATCHDOG=1 pings and a STATUS= line.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::clock::Clock;
use crate::store::index::MentionIndex;
use crate::store::state::State;

use super::TICK;

/// Talks to systemd while the daemon runs: WATCHDOG=1 while the ingest stage keeps
/// working (a stuck pipeline stops the pings and systemd restarts the service), and a
/// STATUS= line with a live summary.
pub(super) async fn service_loop(
    state: Arc<Mutex<State>>,
    index: Arc<MentionIndex>,
    live: Arc<std::sync::RwLock<crate::api::Live>>,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    let watchdog = sd_notify::watchdog_enabled();
    let every = watchdog
        .map(|w| (w / 2).max(StdDuration::from_secs(1)))
        .unwrap_or(StdDuration::from_secs(30))
        .min(StdDuration::from_secs(30));
    // The ingest stage gets a tick every 15 s: twice that without a beat means stuck.
    let stale_after = watchdog.unwrap_or_default().max(TICK * 2).as_secs() as i64;
    let mut ticker = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = until_true(&mut shutdown) => return,
        }
        let now = clock.now();
        let beat = crate::ingest::HEARTBEAT.load(std::sync::atomic::Ordering::Relaxed);
        let alive = now.timestamp() - beat <= stale_after;
        if watchdog.is_some() {
            if alive {
                let _ = crate::systemd::notify(&[crate::systemd::NotifyState::Watchdog]);
            } else {
                warn!(
                    seconds = now.timestamp() - beat,
                    "the ingest stage has not taken work for a while; not pinging the watchdog"
                );
            }
        }
        let st = state.clone();
        let ix = index.clone();
        let configured = live.read().unwrap().sources.len();
        let status = tokio::task::spawn_blocking(move || -> crate::store::Result<String> {
            let s = st.lock().unwrap().summary(now)?;
            let hour = ix.count(&crate::matching::SearchRequest {
                since: Some(now - chrono::Duration::hours(1)),
                ..Default::default()
            })?;
            Ok(format!(
                "{} sources ({} due, {} failing, {} unhealthy) · {hour} mentions in the last hour · {} alerts pending · {} open incidents",
                configured, s.due, s.failing, s.unhealthy, s.pending, s.open_incidents
            ))
        })
        .await;
        if let Ok(Ok(line)) = status {
            let _ = crate::systemd::notify(&[crate::systemd::NotifyState::Status(&line)]);
        }
    }
}

/// Runs `f` every `period` until shutdown, or until `f` answers false.
pub(super) fn every<F, Fut>(
    period: StdDuration,
    mut stop: watch::Receiver<bool>,
    mut f: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => if !f().await { return },
                _ = stop.changed() => return,
            }
        }
    })
}

/// Resolves when `rx` turns true; never if its sender is gone without doing so.
pub(super) async fn until_true(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

pub(super) async fn next_signal(rx: &mut Option<mpsc::Receiver<()>>) -> Option<()> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Reload requests fed by SIGHUP.
pub fn signal_reload() -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(1);
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            warn!("cannot listen for SIGHUP; reload by restarting");
            return;
        };
        while hup.recv().await.is_some() {
            info!("SIGHUP received, reloading the configuration");
            // A reload already queued covers this one.
            let _ = tx.try_send(());
        }
    });
    #[cfg(not(unix))]
    drop(tx);
    rx
}

/// A shutdown signal fed by SIGTERM and SIGINT.
pub fn signal_shutdown() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => info!("SIGINT received, shutting down"),
                _ = term.recv() => info!("SIGTERM received, shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        let _ = tx.send(true);
    });
    rx
}
