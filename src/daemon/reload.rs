//! The scheduler runs in generations: a reload (SIGHUP) stops the current one (in-flight
//! fetches finish), applies the new configuration to every stage, and starts the next
//! generation with the new sources, carrying each source's failures, interval and next
//! poll over. A configuration that does not load is refused; the running one stays.

use std::sync::Arc;

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::delivery::{live_of, start_digests, start_outbox};
use super::signals::{next_signal, until_true};
use super::start::Daemon;
use crate::config::Config;
use crate::crawl::Http;
use crate::matching::Matcher;
use crate::rules::eval::Evaluator;
use crate::scheduler::{HttpPoller, Scheduler};

impl Daemon {
    /// Runs scheduler generations until shutdown (or, in `Once` mode, until every source
    /// was polled once).
    pub(super) async fn generations(&mut self, shutdown: &mut watch::Receiver<bool>) {
        let mut reload = self.opts.reload.take();
        loop {
            let (gen_stop_tx, gen_stop_rx) = watch::channel(false);
            let mut generation = tokio::spawn(self.scheduler().run(self.opts.mode, gen_stop_rx));
            let next = loop {
                tokio::select! {
                    done = &mut generation => {
                        // `Once` mode: every source was polled.
                        self.carry = done.unwrap_or_default();
                        break None;
                    }
                    _ = until_true(shutdown) => {
                        self.stopping_since = Some(tokio::time::Instant::now());
                        let _ = gen_stop_tx.send(true);
                        let _ = (&mut generation).await;
                        break None;
                    }
                    Some(()) = next_signal(&mut reload) => {
                        crate::systemd::reload_begin();
                        match Config::load(&self.config.path) {
                            Err(diags) => {
                                for d in &diags.0 {
                                    error!(problem = %d, "reload refused; the running configuration stays in force");
                                }
                                crate::systemd::reload_refused(diags.0.len());
                            }
                            Ok(new) => {
                                info!("reloading: waiting for in-flight fetches");
                                let _ = gen_stop_tx.send(true);
                                self.carry = (&mut generation).await.unwrap_or_default();
                                break Some(new);
                            }
                        }
                    }
                }
            };
            let Some(new) = next else { break };
            self.apply(new).await;
        }
    }

    /// The next generation's scheduler, over the current sources.
    fn scheduler(&self) -> Scheduler {
        let sources: Vec<Arc<_>> = self.config.sources.iter().cloned().map(Arc::new).collect();
        let get = |s: &crate::sources::Source| self.carry.get(&s.id);
        Scheduler {
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
            poller: Arc::new(HttpPoller(self.http.clone())),
            limits: self.config.crawl.clone(),
            states: self.states.clone(),
            tx: self.tx.clone(),
            clock: self.opts.clock.clone(),
            drain_timeout: self.opts.drain_timeout,
            after_poll: self.after_poll.clone(),
            budgets: crate::sources::quota::Budgets::new(&self.config.quota, &self.config.sources),
        }
    }

    /// Hands a new configuration to every stage.
    async fn apply(&mut self, mut new: Config) {
        *self.live.write().unwrap() = live_of(&new);
        let notifier_count = new.notifiers.len();
        let config = &self.config;
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
            Ok(h) => self.http = h.with_clock(self.opts.clock.clone()),
            Err(e) => {
                warn!(error = %e, "new [crawl] settings refused; the previous HTTP client stays")
            }
        }
        if let Some(reg) = &self.websub {
            let sources: Vec<Arc<_>> = new.sources.iter().cloned().map(Arc::new).collect();
            reg.set_sources(&sources);
        }
        let _ = self
            .tx
            .send(crate::ingest::Message::Reload(Box::new(
                crate::ingest::Reloaded {
                    matcher: Matcher::new(new.brands.clone()),
                    evaluator: Evaluator::with_routes(
                        new.rules.clone(),
                        &new.brands,
                        new.routes.clone(),
                    ),
                    enrich: new.enrich.clone(),
                    keep_unmatched: new.daemon.keep_unmatched,
                    unhealthy_after: new.crawl.unhealthy_after.chrono(),
                    ops: new.ops.clone(),
                },
            )))
            .await;
        // Delivery: the current attempts finish, then workers for the new notifiers start.
        // Pending deliveries wait in SQLite meanwhile, so nothing is lost.
        if let Some(o) = self.outbox.take() {
            o.stop(self.opts.drain_timeout).await;
            let mut o = start_outbox(
                std::mem::take(&mut new.notifiers),
                &self.http,
                &self.state,
                &self.wake,
                &self.opts,
                &new.ops,
            );
            o.digests = Some(start_digests(
                &o,
                &new,
                &self.index,
                &self.state,
                &self.http,
                &self.opts.clock,
            ));
            self.outbox = Some(o);
        }
        info!(
            sources = new.sources.len(),
            brands = new.brands.len(),
            rules = new.rules.len(),
            notifiers = notifier_count,
            "configuration reloaded"
        );
        let rows = self.state.lock().unwrap().sources().unwrap_or_default();
        crate::metrics::declare(&super::start::known(&new, &rows));
        self.config = new;
        crate::systemd::reload_applied();
    }
}
