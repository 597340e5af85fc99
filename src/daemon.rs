//! `veille run`: wires the stages together and runs them until shutdown.
//!
//! scheduler ──(bounded channel)──► ingest thread ──(SQLite outbox + wake)──► delivery workers

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::alerts::outbox::{DeliveryEvent, Outbox, Wake};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crawl::Http;
use crate::crawl::scheduler::{AfterPoll, Carry, HttpPoller, Mode, Scheduler};
use crate::crawl::websub::Registry;
use crate::matching::Matcher;
use crate::pipeline::{Ingest, Report, SharedStates};
use crate::rules::eval::Evaluator;
use crate::store::index::MentionIndex;
use crate::store::state::State;

/// Items waiting between the fetchers and the ingest stage.
const INGEST_QUEUE: usize = 256;
/// How often time-driven rules are looked at.
const TICK: StdDuration = StdDuration::from_secs(15);
/// How often WebSub leases are looked at for renewal.
const WEBSUB_RENEW_CHECK: StdDuration = StdDuration::from_secs(300);
/// Longest sleep of the digest runner between two looks at the clock.
const DIGEST_MAX_SLEEP: StdDuration = StdDuration::from_secs(3600);

pub struct RunOptions {
    pub mode: Mode,
    pub clock: Arc<dyn Clock>,
    /// Run the delivery workers (tests turn it off to leave alerts in the outbox).
    pub deliver: bool,
    /// Deliveries are reported here as they happen.
    pub events: Option<mpsc::UnboundedSender<DeliveryEvent>>,
    /// In `Once` mode, how long to wait for the outbox to empty before returning.
    pub outbox_timeout: StdDuration,
    /// At shutdown, how long in-flight work may take.
    pub drain_timeout: StdDuration,
    /// Each message reloads the configuration from its file (SIGHUP).
    pub reload: Option<mpsc::Receiver<()>>,
    /// Test hook of the ingest stage (makes one stage fail on chosen mentions).
    #[doc(hidden)]
    pub stage_hook: Option<crate::pipeline::StageHook>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            mode: Mode::Forever,
            clock: Arc::new(SystemClock),
            deliver: true,
            events: None,
            outbox_timeout: StdDuration::from_secs(30),
            drain_timeout: StdDuration::from_secs(10),
            reload: None,
            stage_hook: None,
        }
    }
}

/// Runs the daemon until `shutdown` turns true (or, in `Once` mode, until every source
/// was polled once and the outbox is empty). Returns what happened.
pub async fn run(
    config: Config,
    opts: RunOptions,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Report> {
    let mut config = config;
    let index = Arc::new(MentionIndex::open(&config.index_dir())?);
    let writer = index.writer()?;
    let state = State::open(&config.state_path())?;
    let rows = state.sources()?;
    let states: SharedStates = Arc::new(Mutex::new(
        rows.iter()
            .map(|r| (r.id.clone(), r.state.clone()))
            .collect(),
    ));
    let state = Arc::new(Mutex::new(state));
    let mut http = Http::new(&config.crawl).context("cannot build the HTTP client")?;
    let wake = Wake::default();
    let report = Arc::new(Mutex::new(Report::default()));

    let sources: Vec<Arc<_>> = config.sources.iter().cloned().map(Arc::new).collect();
    info!(
        sources = sources.len(),
        brands = config.brands.len(),
        rules = config.rules.len(),
        notifiers = config.notifiers.len(),
        data_dir = %config.daemon.data_dir.display(),
        "veille starting"
    );

    // Ingest stage on its own thread.
    let (tx, rx) = mpsc::channel(INGEST_QUEUE);
    // Near-duplicate detection remembers recent stories across restarts.
    let mut enricher = crate::enrich::Enricher::new(&config.enrich);
    let recent = index.search(&crate::store::index::SearchRequest {
        since: Some(opts.clock.now() - chrono::Duration::days(3)),
        limit: config.enrich.story_memory.min(100_000),
        ..Default::default()
    })?;
    for m in recent.iter().rev() {
        enricher
            .stories
            .remember_known(m.story.as_deref().unwrap_or(&m.id), &m.title, &m.text);
    }
    let ingest = Ingest {
        matcher: Matcher::new(config.brands.clone()),
        enricher,
        evaluator: Evaluator::with_routes(
            config.rules.clone(),
            &config.brands,
            config.routes.clone(),
        ),
        index: index.clone(),
        writer,
        state: state.clone(),
        states: states.clone(),
        wake: wake.clone(),
        clock: opts.clock.clone(),
        report: report.clone(),
        keep_unmatched: config.daemon.keep_unmatched,
        unhealthy_after: config.crawl.unhealthy_after.chrono(),
        stage_hook: opts.stage_hook.clone(),
    };
    let ingest_thread = std::thread::Builder::new()
        .name("veille-ingest".into())
        .spawn(move || ingest.run(rx))
        .context("cannot start the ingest thread")?;

    // Delivery workers, and the digests on their schedule.
    let mut outbox = opts.deliver.then(|| {
        let mut o = start_outbox(
            std::mem::take(&mut config.notifiers),
            &http,
            &state,
            &wake,
            opts.events.clone(),
        );
        if opts.mode == Mode::Forever {
            o.digests = Some(tokio::spawn(
                crate::digest::Runner {
                    digests: config.digests.clone(),
                    brands: config.brands.clone(),
                    notifiers: o.notifiers.clone(),
                    index: index.clone(),
                    state: state.clone(),
                    http: http.clone(),
                    clock: opts.clock.clone(),
                    max_sleep: DIGEST_MAX_SLEEP,
                }
                .run(o.stop.subscribe()),
            ));
        }
        o
    });

    // WebSub, when hubs can reach us. Subscriptions are made after a poll finds a hub;
    // a reload hands the registry the new sources.
    let websub = match &config.daemon.public_url {
        Some(url) => Some(Registry::load(
            url.clone(),
            http.clone(),
            state.clone(),
            opts.clock.clone(),
            &sources,
            tx.clone(),
            config.crawl.push_poll_every.std(),
        )?),
        None => None,
    };
    let after_poll: Option<AfterPoll> = websub.clone().map(|reg| {
        Arc::new(move |s: &crate::sources::Source, p: &crate::sources::Poll| reg.after_poll(s, p))
            as AfterPoll
    });

    // HTTP server (health, metrics, API, WebSub callbacks).
    let live = Arc::new(std::sync::RwLock::new(crate::api::Live::of(&config)));
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (api_stop_tx, api_stop_rx) = watch::channel(false);
    let api_task = if config.daemon.listen.is_empty() {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&config.daemon.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} ([daemon] listen)",
                    config.daemon.listen
                )
            })?;
        info!(listen = %listener.local_addr()?, "HTTP server listening");
        let app = crate::api::router(crate::api::ApiState {
            websub: websub.clone(),
            index: index.clone(),
            state: state.clone(),
            live: live.clone(),
            ready: ready.clone(),
            wake: wake.clone(),
        });
        Some(tokio::spawn(crate::api::serve(listener, app, api_stop_rx)))
    };

    // Time-driven rules (flatlines, resolutions, silences ending) tick in the ingest stage.
    let ticker = (opts.mode == Mode::Forever).then(|| {
        let tx = tx.clone();
        every(TICK, shutdown.clone(), move || {
            let tx = tx.clone();
            async move { tx.send(crate::pipeline::Event::Tick).await.is_ok() }
        })
    });

    // WebSub leases are renewed on time even when their feed is polled rarely or fails.
    let renewals = match (&websub, opts.mode) {
        (Some(reg), Mode::Forever) => {
            let reg = reg.clone();
            Some(every(WEBSUB_RENEW_CHECK, shutdown.clone(), move || {
                reg.renew_due();
                async { true }
            }))
        }
        _ => None,
    };

    // The scheduler runs in generations: a reload stops the current one (in-flight
    // fetches finish) and starts the next with the new sources, carrying each source's
    // failures, interval and next poll over.
    let now = opts.clock.now();
    let mut carry: HashMap<String, Carry> = rows
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                Carry {
                    failures: r.failures,
                    auto_every: r.auto_every,
                    due_in: r.next_due.map(|d| (d - now).to_std().unwrap_or_default()),
                },
            )
        })
        .collect();
    let mut reload = opts.reload;
    // When SIGTERM came: every stage of the shutdown shares `drain_timeout` from there.
    let mut stopping_since: Option<tokio::time::Instant> = None;
    // Index, state, listeners and workers are up.
    ready.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = crate::systemd::notify(&[crate::systemd::NotifyState::Ready]);
    let service = (opts.mode == Mode::Forever).then(|| {
        tokio::spawn(service_loop(
            state.clone(),
            index.clone(),
            live.clone(),
            shutdown.clone(),
        ))
    });
    loop {
        let sources: Vec<Arc<_>> = config.sources.iter().cloned().map(Arc::new).collect();
        let get = |s: &crate::sources::Source| carry.get(&s.id);
        let (gen_stop_tx, gen_stop_rx) = watch::channel(false);
        let scheduler = Scheduler {
            failures: sources
                .iter()
                .map(|s| get(s).map_or(0, |c| c.failures))
                .collect(),
            auto_every: sources
                .iter()
                .map(|s| get(s).and_then(|c| c.auto_every))
                .collect(),
            first_due: sources
                .iter()
                .map(|s| get(s).and_then(|c| c.due_in))
                .collect(),
            sources,
            poller: Arc::new(HttpPoller(http.clone())),
            limits: config.crawl.clone(),
            states: states.clone(),
            tx: tx.clone(),
            clock: opts.clock.clone(),
            drain_timeout: opts.drain_timeout,
            after_poll: after_poll.clone(),
        };
        let mut generation = tokio::spawn(scheduler.run(opts.mode, gen_stop_rx));
        let next = loop {
            tokio::select! {
                done = &mut generation => {
                    // `Once` mode: every source was polled.
                    carry = done.unwrap_or_default();
                    break None;
                }
                _ = until_true(&mut shutdown) => {
                    stopping_since = Some(tokio::time::Instant::now());
                    let _ = gen_stop_tx.send(true);
                    let _ = (&mut generation).await;
                    break None;
                }
                Some(()) = next_signal(&mut reload) => {
                    match Config::load(&config.path) {
                        Err(diags) => {
                            for d in &diags.0 {
                                error!(problem = %d, "reload refused; the running configuration stays in force");
                            }
                        }
                        Ok(new) => {
                            info!("reloading: waiting for in-flight fetches");
                            let _ = gen_stop_tx.send(true);
                            carry = (&mut generation).await.unwrap_or_default();
                            break Some(new);
                        }
                    }
                }
            }
        };
        let Some(mut new) = next else { break };
        let _ = crate::systemd::notify(&[crate::systemd::NotifyState::Reloading]);
        *live.write().unwrap() = crate::api::Live::of(&new);
        let notifier_count = new.notifiers.len();
        // Settings read once at start.
        for (what, changed) in [
            (
                "[daemon] data_dir",
                new.daemon.data_dir != config.daemon.data_dir,
            ),
            ("[daemon] listen", new.daemon.listen != config.daemon.listen),
            (
                "[daemon] public_url",
                new.daemon.public_url != config.daemon.public_url,
            ),
        ] {
            if changed {
                warn!("{what} changed: it takes effect at the next restart");
            }
        }
        match Http::new(&new.crawl) {
            Ok(h) => http = h,
            Err(e) => {
                warn!(error = %e, "new [crawl] settings refused; the previous HTTP client stays")
            }
        }
        if let Some(reg) = &websub {
            let sources: Vec<Arc<_>> = new.sources.iter().cloned().map(Arc::new).collect();
            reg.set_sources(&sources);
        }
        let _ = tx
            .send(crate::pipeline::Event::Reload(Box::new(
                crate::pipeline::Reloaded {
                    matcher: Matcher::new(new.brands.clone()),
                    evaluator: Evaluator::with_routes(
                        new.rules.clone(),
                        &new.brands,
                        new.routes.clone(),
                    ),
                    enrich: new.enrich.clone(),
                    keep_unmatched: new.daemon.keep_unmatched,
                    unhealthy_after: new.crawl.unhealthy_after.chrono(),
                },
            )))
            .await;
        // Delivery: the current attempts finish, then workers for the new notifiers start.
        // Pending deliveries wait in SQLite meanwhile, so nothing is lost.
        if let Some(o) = outbox.take() {
            o.stop(opts.drain_timeout).await;
            let mut o = start_outbox(
                std::mem::take(&mut new.notifiers),
                &http,
                &state,
                &wake,
                opts.events.clone(),
            );
            o.digests = Some(tokio::spawn(
                crate::digest::Runner {
                    digests: new.digests.clone(),
                    brands: new.brands.clone(),
                    notifiers: o.notifiers.clone(),
                    index: index.clone(),
                    state: state.clone(),
                    http: http.clone(),
                    clock: opts.clock.clone(),
                    max_sleep: DIGEST_MAX_SLEEP,
                }
                .run(o.stop.subscribe()),
            ));
            outbox = Some(o);
        }
        info!(
            sources = new.sources.len(),
            brands = new.brands.len(),
            rules = new.rules.len(),
            notifiers = notifier_count,
            "configuration reloaded"
        );
        config = new;
        let _ = crate::systemd::notify(&[crate::systemd::NotifyState::Ready]);
    }
    ready.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = crate::systemd::notify(&[crate::systemd::NotifyState::Stopping]);
    if let Some(t) = service {
        t.abort();
        let _ = t.await;
    }
    if let Some(t) = ticker {
        t.abort();
        let _ = t.await;
    }
    if let Some(t) = renewals {
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
    let _ = api_stop_tx.send(true);
    if let Some(mut t) = api_task
        && tokio::time::timeout(left(), &mut t).await.is_err()
    {
        t.abort(); // open connections (a slow client) do not hold the shutdown
    }

    // Every sender is gone: the ingest thread finishes what is queued and commits.
    let join = tokio::task::spawn_blocking(move || ingest_thread.join());
    match tokio::time::timeout(left().max(StdDuration::from_secs(1)), join).await {
        Ok(joined) => {
            joined?.map_err(|_| anyhow::anyhow!("the ingest thread panicked"))?;
            info!("ingest drained");
        }
        // Nothing is lost: a source's state only moves once its items are committed,
        // so what was not is fetched again at the next start.
        Err(_) => warn!(
            "ingest still busy at the shutdown limit; uncommitted items are fetched again at next start"
        ),
    }

    if let Some(o) = outbox {
        if opts.mode == Mode::Once {
            wait_for_outbox(&state, opts.outbox_timeout, &mut shutdown).await;
        }
        // An attempt cut short stays pending and is made again at the next start.
        o.stop(left().max(StdDuration::from_millis(500))).await;
    }
    info!("veille stopped");
    let r = report.lock().unwrap().clone();
    Ok(r)
}

/// Talks to systemd while the daemon runs: WATCHDOG=1 while the ingest stage keeps
/// working (a stuck pipeline stops the pings and systemd restarts the service), and a
/// STATUS= line with a live summary.
async fn service_loop(
    state: Arc<Mutex<State>>,
    index: Arc<MentionIndex>,
    live: Arc<std::sync::RwLock<crate::api::Live>>,
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
        let now = chrono::Utc::now();
        let beat = crate::pipeline::HEARTBEAT.load(std::sync::atomic::Ordering::Relaxed);
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
        let status = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            let s = st.lock().unwrap().summary(now)?;
            let hour = ix.count(&crate::store::index::SearchRequest {
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
fn every<F, Fut>(
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

/// Running delivery workers (and the digest schedule, which uses the same notifiers).
struct RunningOutbox {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    notifiers: Arc<HashMap<String, crate::notify::Notifier>>,
    digests: Option<tokio::task::JoinHandle<()>>,
}

impl RunningOutbox {
    /// Asks the workers to stop after their current attempt; waits at most `limit`.
    ///
    /// Past the limit the tasks are aborted rather than left running: the next workers
    /// (after a reload) must not deliver the same items alongside them. State is written
    /// between awaits, so an abort leaves a delivery pending, to be retried.
    async fn stop(self, limit: StdDuration) {
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

fn start_outbox(
    notifiers: std::collections::BTreeMap<String, crate::notify::Notifier>,
    http: &Http,
    state: &Arc<Mutex<State>>,
    wake: &Wake,
    events: Option<mpsc::UnboundedSender<DeliveryEvent>>,
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
        events,
        installation,
    });
    // Deliveries for notifiers no longer configured stay in the outbox, said once.
    if let Ok(names) = state.lock().unwrap().pending_notifiers() {
        for n in names.iter().filter(|n| !outbox.notifiers.contains_key(*n)) {
            warn!(notifier = %n, "alerts wait for a notifier that is no longer configured");
        }
    }
    RunningOutbox {
        notifiers: outbox.notifiers.clone(),
        stop,
        task: tokio::spawn(outbox.run(stop_rx)),
        digests: None,
    }
}

/// Resolves when `rx` turns true; never if its sender is gone without doing so.
async fn until_true(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn next_signal(rx: &mut Option<mpsc::Receiver<()>>) -> Option<()> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn wait_for_outbox(
    state: &Arc<Mutex<State>>,
    timeout: StdDuration,
    shutdown: &mut watch::Receiver<bool>,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let pending = state.lock().unwrap().pending_count().unwrap_or(0);
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
