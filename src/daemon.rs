//! `veille run`: wires the stages together and runs them until shutdown.
//!
//! scheduler ──(bounded channel)──► ingest thread ──(SQLite outbox + wake)──► delivery workers

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tracing::info;

use crate::alerts::outbox::{DeliveryEvent, Outbox, Wake};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crawl::Http;
use crate::crawl::scheduler::{AfterPoll, HttpPoller, Mode, Scheduler};
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
    let index = Arc::new(MentionIndex::open(&config.index_dir())?);
    let writer = index.writer()?;
    let state = State::open(&config.state_path())?;
    let rows = state.sources()?;
    let states: SharedStates = Arc::new(Mutex::new(
        rows.iter()
            .map(|r| (r.id.clone(), r.state.clone()))
            .collect(),
    ));
    let failures_by_id: HashMap<&str, u32> =
        rows.iter().map(|r| (r.id.as_str(), r.failures)).collect();
    let state = Arc::new(Mutex::new(state));
    let http = Http::new(&config.crawl).context("cannot build the HTTP client")?;
    let wake = Wake::default();
    let report = Arc::new(Mutex::new(Report::default()));

    let sources: Vec<Arc<_>> = config.sources.iter().cloned().map(Arc::new).collect();
    let failures = sources
        .iter()
        .map(|s| failures_by_id.get(s.id.as_str()).copied().unwrap_or(0))
        .collect();
    let auto_every = sources
        .iter()
        .map(|s| {
            rows.iter()
                .find(|r| r.id == s.id)
                .and_then(|r| r.auto_every)
        })
        .collect();
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
    };
    let ingest_thread = std::thread::Builder::new()
        .name("veille-ingest".into())
        .spawn(move || ingest.run(rx))
        .context("cannot start the ingest thread")?;

    // Delivery workers.
    let (outbox_stop_tx, outbox_stop_rx) = watch::channel(false);
    let notifiers = Arc::new(
        config
            .notifiers
            .into_iter()
            .collect::<HashMap<String, crate::notify::Notifier>>(),
    );
    let outbox = Arc::new(Outbox {
        state: state.clone(),
        notifiers,
        http: http.clone(),
        wake: wake.clone(),
        events: opts.events.clone(),
    });
    let outbox_task = opts
        .deliver
        .then(|| tokio::spawn(outbox.clone().run(outbox_stop_rx)));

    // WebSub, when hubs can reach us.
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

    // HTTP server (health, WebSub callbacks).
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
        });
        Some(tokio::spawn(crate::api::serve(listener, app, api_stop_rx)))
    };

    // Time-driven rules (flatlines, resolutions, silences ending) tick in the ingest stage.
    let ticker = (opts.mode == Mode::Forever).then(|| {
        let tx = tx.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TICK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {
                        if tx.send(crate::pipeline::Event::Tick).await.is_err() {
                            return;
                        }
                    }
                    _ = stop.changed() => return,
                }
            }
        })
    });

    // Scheduler, in this task.
    let scheduler = Scheduler {
        sources,
        poller: Arc::new(HttpPoller(http.clone())),
        limits: config.crawl.clone(),
        states,
        tx,
        clock: opts.clock.clone(),
        failures,
        auto_every,
        drain_timeout: opts.drain_timeout,
        after_poll,
    };
    scheduler.run(opts.mode, shutdown.clone()).await;
    if let Some(t) = ticker {
        t.abort();
        let _ = t.await;
    }
    // The WebSub registry holds a sender too: drop it so the ingest stage can finish.
    drop(websub);
    let _ = api_stop_tx.send(true);
    if let Some(t) = api_task {
        let _ = t.await;
    }

    // The scheduler dropped its sender: the ingest thread finishes what is queued.
    tokio::task::spawn_blocking(move || ingest_thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the ingest thread panicked"))?;
    info!("ingest drained");

    if let Some(task) = outbox_task {
        if opts.mode == Mode::Once {
            wait_for_outbox(&state, opts.outbox_timeout, &mut shutdown).await;
        }
        let _ = outbox_stop_tx.send(true);
        if tokio::time::timeout(opts.drain_timeout, task)
            .await
            .is_err()
        {
            info!("delivery still in flight at shutdown; it will be retried at next start");
        }
    }
    info!("veille stopped");
    let r = report.lock().unwrap().clone();
    Ok(r)
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
