//! Wiring: the index, the state, the ingest thread, the delivery workers, WebSub, the
//! HTTP server and the timers, started in that order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::info;

use super::delivery::{RunningOutbox, live_of, start_digests, start_outbox};
use super::signals::{every, service_loop};
use super::{INGEST_QUEUE, RunOptions, TICK, WEBSUB_RENEW_CHECK};
use crate::config::Config;
use crate::crawl::Http;
use crate::ingest::{Ingest, Message, Report, SharedStates};
use crate::matching::Matcher;
use crate::outbox::Wake;
use crate::rules::eval::Evaluator;
use crate::scheduler::{AfterPoll, Carry, Mode};
use crate::store::index::MentionIndex;
use crate::store::state::{SourceRow, State};
use crate::websub::Registry;

/// Every running stage, and what the reload and the shutdown need of them.
pub(super) struct Daemon {
    pub(super) config: Config,
    pub(super) opts: RunOptions,
    pub(super) index: Arc<MentionIndex>,
    pub(super) state: Arc<Mutex<State>>,
    pub(super) states: SharedStates,
    pub(super) http: Http,
    pub(super) wake: Wake,
    pub(super) report: Arc<Mutex<Report>>,
    /// The ingest stage's queue; dropped (with every other sender) to let it finish.
    pub(super) tx: mpsc::Sender<Message>,
    pub(super) ingest_thread: std::thread::JoinHandle<()>,
    pub(super) outbox: Option<RunningOutbox>,
    pub(super) websub: Option<Arc<Registry>>,
    pub(super) after_poll: Option<AfterPoll>,
    pub(super) live: Arc<std::sync::RwLock<crate::api::Live>>,
    pub(super) ready: Arc<std::sync::atomic::AtomicBool>,
    pub(super) api_stop: watch::Sender<bool>,
    pub(super) api_task: Option<JoinHandle<()>>,
    /// Time-driven rules, WebSub renewals, systemd: stopped first at shutdown.
    pub(super) timers: Vec<JoinHandle<()>>,
    /// Each source's failures, interval and next poll, carried from one scheduler
    /// generation to the next.
    pub(super) carry: HashMap<String, Carry>,
    /// When SIGTERM came: every stage of the shutdown shares `drain_timeout` from there.
    pub(super) stopping_since: Option<tokio::time::Instant>,
    /// When this run started (failed deliveries since then are this run's).
    pub(super) started_at: chrono::DateTime<chrono::Utc>,
}

impl Daemon {
    pub(super) async fn start(
        mut config: Config,
        opts: RunOptions,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<Daemon, super::Error> {
        let started_at = opts.clock.now();
        let index = Arc::new(MentionIndex::open(&config.index_dir())?);
        let writer = index.writer()?;
        let state = State::open(&config.state_path())?;
        let rows = state.sources()?;
        let states: SharedStates = Arc::new(Mutex::new(
            rows.iter()
                .map(|r| (r.id.clone(), r.state.clone()))
                .collect(),
        ));
        crate::metrics::declare(&known(&config, &rows));
        let state = Arc::new(Mutex::new(state));
        let http = Http::new(&config.crawl)
            .map_err(super::Error::Http)?
            .with_clock(opts.clock.clone());
        let wake = Wake::default();
        let report = opts
            .report
            .clone()
            .unwrap_or_else(|| Arc::new(Mutex::new(Report::default())));

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
        let recent = index.search(&crate::matching::SearchRequest {
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
            ops: config.ops.clone(),
            stage_hook: opts.stage_hook.clone(),
        };
        let ingest_thread = std::thread::Builder::new()
            .name("veille-ingest".into())
            .spawn(move || ingest.run(rx))
            .map_err(super::Error::IngestThread)?;

        // What the API sees, before the notifiers move to their workers.
        let live = Arc::new(std::sync::RwLock::new(live_of(&config)));
        // Delivery workers, and the digests on their schedule.
        let outbox = opts.deliver.then(|| {
            let mut o = start_outbox(
                std::mem::take(&mut config.notifiers),
                &http,
                &state,
                &wake,
                &opts,
                &config.ops,
            );
            if opts.mode == Mode::Forever {
                o.digests = Some(start_digests(
                    &o,
                    &config,
                    &index,
                    &state,
                    &http,
                    &opts.clock,
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
            Arc::new(move |s: &crate::sources::Source, p: &crate::model::Poll| reg.after_poll(s, p))
                as AfterPoll
        });

        // HTTP server (health, metrics, API, WebSub callbacks).
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (api_stop, api_stop_rx) = watch::channel(false);
        let api_task = if config.daemon.listen.is_empty() {
            None
        } else {
            let listener = tokio::net::TcpListener::bind(&config.daemon.listen)
                .await
                .map_err(|source| super::Error::Listen {
                    addr: config.daemon.listen.clone(),
                    source,
                })?;
            if let Ok(addr) = listener.local_addr() {
                info!(listen = %addr, "HTTP server listening");
            }
            let app = crate::api::router(crate::api::ApiState {
                websub: websub.clone(),
                index: index.clone(),
                state: state.clone(),
                live: live.clone(),
                ready: ready.clone(),
                wake: wake.clone(),
                clock: opts.clock.clone(),
            });
            Some(tokio::spawn(crate::api::serve(listener, app, api_stop_rx)))
        };

        let mut timers = Vec::new();
        if opts.mode == Mode::Forever {
            // Time-driven rules (flatlines, resolutions, silences ending) tick in the
            // ingest stage.
            let tick_tx = tx.clone();
            timers.push(every(TICK, shutdown.clone(), move || {
                let tx = tick_tx.clone();
                async move { tx.send(crate::model::Event::Tick.into()).await.is_ok() }
            }));
            // WebSub leases are renewed on time even when their feed is polled rarely or
            // fails.
            if let Some(reg) = &websub {
                let reg = reg.clone();
                timers.push(every(WEBSUB_RENEW_CHECK, shutdown.clone(), move || {
                    reg.renew_due();
                    async { true }
                }));
            }
        }

        let now = opts.clock.now();
        let carry: HashMap<String, Carry> = rows
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
        // Index, state, listeners and workers are up.
        ready.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = crate::systemd::notify(&[crate::systemd::NotifyState::Ready]);
        if opts.mode == Mode::Forever {
            timers.push(tokio::spawn(service_loop(
                state.clone(),
                index.clone(),
                live.clone(),
                opts.clock.clone(),
                shutdown.clone(),
            )));
        }
        Ok(Daemon {
            config,
            opts,
            index,
            state,
            states,
            http,
            wake,
            report,
            tx,
            ingest_thread,
            outbox,
            websub,
            after_poll,
            live,
            ready,
            api_stop,
            api_task,
            timers,
            carry,
            stopping_since: None,
            started_at,
        })
    }
}

/// What `config` names, for the metrics that exist from the start; `rows` (the state
/// database) tells what is known of the sources polled before this start, so a restart
/// does not show them down.
pub(super) fn known(config: &Config, rows: &[SourceRow]) -> crate::metrics::Known {
    let rows: HashMap<&str, &SourceRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    crate::metrics::Known {
        sources: config
            .sources
            .iter()
            .map(|s| {
                let row = rows.get(s.id.as_str());
                crate::metrics::KnownSource {
                    id: s.id.clone(),
                    kind: s.kind_name().into(),
                    up: row.is_some_and(|r| r.failures == 0 && r.last_success.is_some()),
                    last_success: row.and_then(|r| r.last_success).map(|t| t.timestamp()),
                }
            })
            .collect(),
        brands: config.brands.iter().map(|b| b.id.clone()).collect(),
        rules: config
            .rules
            .iter()
            .map(|r| (r.id.clone(), crate::rules::route(r, &config.routes)))
            .collect(),
    }
}
