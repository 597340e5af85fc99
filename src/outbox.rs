//! Outbox delivery: every alert is in SQLite before anyone is notified; one worker per
//! notifier sends its queue, retrying with exponential backoff and jitter until the
//! channel accepts, and gives up only on permanent errors.
//!
//! Order is kept per incident (an update never overtakes the first message of its
//! incident), not per channel: among the first pending delivery of each incident, the
//! worker takes the oldest alert that is due (or waits for the soonest), so an alert
//! waiting out its backoff never holds back the alerts of other incidents.
//!
//! With `[ops]`, a notifier that fails for good raises an alert about veille itself (to
//! the other notifiers), and a watcher looks at the queues every minute for late and
//! orphaned deliveries (see [`crate::ops`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::crawl::Http;
use crate::notify::Notifier;
use crate::store::state::{PendingDelivery, State};

/// Retries of a delivery: 2 s doubling up to 10 min, ±20 % so retries of many alerts do
/// not hit a recovering server at once; a channel's Retry-After up to an hour.
pub const BACKOFF: Backoff = Backoff {
    first: StdDuration::from_secs(2),
    max: StdDuration::from_secs(600),
    jitter: 0.2,
    max_retry_after: StdDuration::from_secs(3600),
};
/// A worker looks at the outbox at least this often, for deliveries re-queued or dropped
/// from outside (`veille alerts retry|drop`, the API).
const LOOK_AGAIN: StdDuration = StdDuration::from_secs(30);
/// After a failure to read the outbox: a moment for a busy database, longer for one that
/// will not get better by itself (it is logged each time).
const READ_RETRY: StdDuration = StdDuration::from_secs(5);

/// Shared handle the pipeline uses to wake delivery workers after enqueuing alerts.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn wake(&self) {
        self.0.notify_waiters();
    }
}

/// A delivery that just happened, for the demo's report and for tests.
#[derive(Debug, Clone)]
pub struct DeliveryEvent {
    pub notifier: String,
    pub kind: &'static str,
    pub alert_key: String,
    pub subject: String,
    pub ok: bool,
    pub error: Option<String>,
}

pub struct Outbox {
    pub state: Arc<Mutex<State>>,
    pub notifiers: Arc<HashMap<String, Notifier>>,
    pub http: Http,
    pub wake: Wake,
    pub events: Option<tokio::sync::mpsc::UnboundedSender<DeliveryEvent>>,
    /// This installation's id (see [`State::installation_id`]), part of every delivery key.
    pub installation: String,
    pub clock: Arc<dyn Clock>,
    /// `[ops]`: who is told when a notifier fails for good or a queue is late.
    pub ops: crate::ops::Ops,
    /// Keep each platform's pace (one message per `min_interval`); off only against
    /// a receiver of our own (the demo).
    pub pace: bool,
}

impl Outbox {
    /// Runs one worker per notifier, and the ops watcher, until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let mut tasks = Vec::new();
        {
            let me = self.clone();
            let sd = shutdown.clone();
            tasks.push(tokio::spawn(async move { me.watch(sd).await }));
        }
        for name in self.notifiers.keys() {
            let me = self.clone();
            let name = name.clone();
            let sd = shutdown.clone();
            tasks.push(tokio::spawn(async move { me.worker(&name, sd).await }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    async fn worker(&self, name: &str, mut shutdown: watch::Receiver<bool>) {
        let notifier = &self.notifiers[name];
        // The platform's pace: at most one message per `min_interval`.
        let mut last_attempt: Option<tokio::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Register interest before looking, so a wake between the look and the wait
            // is not lost.
            let notified = self.wake.0.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next = {
                let st = self.state.clone();
                let name = name.to_string();
                let now = self.clock.now();
                tokio::task::spawn_blocking(move || st.lock().unwrap().next_delivery(&name, now))
                    .await
                    .expect("outbox query task")
            };
            let wait = match next {
                Err(e) => {
                    warn!(notifier = name, error = %e, kind = ?e.kind(), "cannot read the outbox");
                    if e.is_retryable() {
                        READ_RETRY
                    } else {
                        LOOK_AGAIN
                    }
                }
                Ok(None) => LOOK_AGAIN,
                Ok(Some(d)) => {
                    let now = self.clock.now();
                    let pace = last_attempt
                        .filter(|_| self.pace)
                        .map(|t| notifier.min_interval().saturating_sub(t.elapsed()))
                        .unwrap_or_default();
                    if d.next_attempt_at > now {
                        (d.next_attempt_at - now).to_std().unwrap_or_default()
                    } else if !pace.is_zero() {
                        pace
                    } else {
                        last_attempt = Some(tokio::time::Instant::now());
                        self.attempt(notifier, d).await;
                        continue;
                    }
                }
            };
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(wait.min(LOOK_AGAIN)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// The notifiers configured, by name.
    fn configured(&self) -> Vec<String> {
        let mut names: Vec<String> = self.notifiers.keys().cloned().collect();
        names.sort();
        names
    }

    /// One look at the queues for `[ops]` (late, orphaned); wakes the workers when it
    /// enqueued an alert.
    pub fn check_queues(&self) {
        let now = self.clock.now();
        let told = self
            .ops
            .check_outbox(&mut self.state.lock().unwrap(), &self.configured(), now);
        match told {
            Ok(true) => self.wake.wake(),
            Ok(false) => {}
            Err(e) => warn!(error = %e, "cannot look at the outbox for [ops]"),
        }
    }

    /// The ops watcher: the queues every [`crate::ops::CHECK_EVERY`] (the first look is
    /// made by whoever starts the outbox, before anything is polled).
    async fn watch(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(crate::ops::CHECK_EVERY) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
            let me = (self.state.clone(), self.ops.clone(), self.configured());
            let now = self.clock.now();
            let told = tokio::task::spawn_blocking(move || {
                me.1.check_outbox(&mut me.0.lock().unwrap(), &me.2, now)
            })
            .await
            .expect("ops watcher task");
            match told {
                Ok(true) => self.wake.wake(),
                Ok(false) => {}
                Err(e) => warn!(error = %e, "cannot look at the outbox for [ops]"),
            }
        }
    }

    async fn attempt(&self, notifier: &Notifier, d: PendingDelivery) {
        let result = notifier
            .deliver(&d.alert, &self.http, &self.installation)
            .await;
        let now = self.clock.now();
        let subject = crate::notify::email::subject(&d.alert, crate::notify::view::Locale::En);
        let outcome = match &result {
            Ok(()) => "delivered",
            Err(e) if e.retryable => "retry",
            Err(_) => "failed",
        };
        crate::metrics::get()
            .deliveries
            .get_or_create(&crate::metrics::DeliveryLabels {
                notifier: notifier.name.clone(),
                rule: d.alert.rule.clone(),
                outcome: outcome.into(),
            })
            .inc();
        // Keys stored before keys were safe by construction may hold any character.
        let key = crate::model::alert::header_safe(&d.alert.key);
        let (ok, error) = match &result {
            Ok(()) => {
                info!(notifier = %notifier.name, seq = d.alert_seq, alert = %key, rule = %d.alert.rule, "alert delivered");
                (true, None)
            }
            Err(e) => {
                warn!(notifier = %notifier.name, seq = d.alert_seq, alert = %key, attempt = d.attempts + 1,
                      retryable = e.retryable, error = %e.message, "alert delivery failed");
                (false, Some(e.message.clone()))
            }
        };
        let st = self.state.clone();
        let name = notifier.name.clone();
        let seq = d.alert_seq;
        let attempts = d.attempts;
        // Who hears of this notifier failing for good, when [ops] watches notifiers.
        let ops_targets = (self.ops.notifiers && !self.ops.notify.is_empty()).then(|| {
            self.ops
                .targets(Some(&notifier.name), self.notifiers.keys())
        });
        let write = tokio::task::spawn_blocking(move || -> crate::store::Result<bool> {
            // One lock for the attempt and what [ops] makes of it: `run --once` waiting for
            // an empty outbox never sees the gap between them.
            let mut st = st.lock().unwrap();
            let condition = format!("notifier-failed:{name}");
            match result {
                Ok(()) => {
                    st.mark_delivered(seq, &name, now)?;
                    if ops_targets.is_some() {
                        st.clear_condition(&condition)?;
                    }
                    Ok(false)
                }
                Err(e) => {
                    let next = e.retryable.then(|| {
                        let wait = BACKOFF.delay(attempts + 1, e.retry_after);
                        now + chrono::Duration::from_std(wait).unwrap_or_default()
                    });
                    st.mark_failed(seq, &name, now, &e.message, next)?;
                    match ops_targets {
                        Some(targets) if next.is_none() => {
                            let alert = crate::ops::notifier_failed(&name, &e.message, now);
                            let raised = st.raise_condition(
                                &condition,
                                now,
                                crate::ops::HOLD,
                                &alert,
                                &targets,
                            )?;
                            Ok(raised == crate::store::state::Raised::Told)
                        }
                        _ => Ok(false),
                    }
                }
            }
        })
        .await
        .expect("outbox write task");
        match write {
            Ok(true) => {
                warn!(notifier = %notifier.name, "notifier failed for good: [ops] told");
                self.wake.wake();
            }
            Ok(false) => {}
            Err(e) => {
                warn!(notifier = %notifier.name, error = %e, "cannot record a delivery attempt")
            }
        }
        if let Some(tx) = &self.events {
            let _ = tx.send(DeliveryEvent {
                notifier: notifier.name.clone(),
                kind: notifier.kind_name(),
                alert_key: d.alert.key.clone(),
                subject,
                ok,
                error,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let b1 = BACKOFF.delay(1, None);
        assert!(b1 >= StdDuration::from_millis(1600) && b1 <= StdDuration::from_millis(2400));
        let b4 = BACKOFF.delay(4, None);
        assert!(b4 >= StdDuration::from_millis(12_800) && b4 <= StdDuration::from_millis(19_200));
        assert!(BACKOFF.delay(31, None) <= StdDuration::from_secs(720));
        assert!(BACKOFF.delay(1, Some(StdDuration::from_secs(90))) >= StdDuration::from_secs(90));
    }
}
