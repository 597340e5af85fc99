//! Outbox delivery: every alert is in SQLite before anyone is notified; one worker per
//! notifier sends its queue, retrying with exponential backoff and jitter until the
//! channel accepts, and gives up only on permanent errors.
//!
//! Order is kept per incident (an update never overtakes the first message of its
//! incident), not per channel: among the first pending delivery of each incident, the
//! worker takes the oldest alert that is due (or waits for the soonest), so an alert
//! waiting out its backoff never holds back the alerts of other incidents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::crawl::Http;
use crate::notify::Notifier;
use crate::store::state::State;

/// First retry after this, doubling up to [`MAX_BACKOFF`].
const BASE_BACKOFF: StdDuration = StdDuration::from_secs(2);
const MAX_BACKOFF: StdDuration = StdDuration::from_secs(600);
/// A worker looks at the outbox at least this often, for deliveries re-queued or dropped
/// from outside (`veille alerts retry|drop`, the API).
const LOOK_AGAIN: StdDuration = StdDuration::from_secs(30);

/// Delay before attempt `attempts + 1`, with ±20 % jitter so retries of many alerts
/// do not hit a recovering server at once.
pub fn backoff(attempts: u32, retry_after: Option<StdDuration>) -> StdDuration {
    let exp = BASE_BACKOFF.saturating_mul(1u32 << attempts.min(16));
    let base = exp.min(MAX_BACKOFF);
    let jitter = 0.8 + fastrand::f64() * 0.4;
    let d = base.mul_f64(jitter);
    match retry_after {
        Some(r) => d.max(r).min(StdDuration::from_secs(3600)),
        None => d,
    }
}

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
}

impl Outbox {
    /// Runs one worker per notifier until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let mut tasks = Vec::new();
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
                tokio::task::spawn_blocking(move || {
                    st.lock().unwrap().next_delivery(&name, Utc::now())
                })
                .await
                .expect("outbox query task")
            };
            let wait = match next {
                Err(e) => {
                    warn!(notifier = name, error = %e, "cannot read the outbox");
                    StdDuration::from_secs(5)
                }
                Ok(None) => LOOK_AGAIN,
                Ok(Some(d)) => {
                    let now = Utc::now();
                    let pace = last_attempt
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

    async fn attempt(&self, notifier: &Notifier, d: crate::store::state::PendingDelivery) {
        let result = notifier
            .deliver(&d.alert, &self.http, &self.installation)
            .await;
        let now = Utc::now();
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
        let key = crate::alerts::header_safe(&d.alert.key);
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
        let write = tokio::task::spawn_blocking(move || {
            let mut st = st.lock().unwrap();
            match result {
                Ok(()) => st.mark_delivered(seq, &name, now),
                Err(e) => {
                    let next = e.retryable.then(|| {
                        now + chrono::Duration::from_std(backoff(attempts, e.retry_after))
                            .unwrap_or_default()
                    });
                    st.mark_failed(seq, &name, now, &e.message, next)
                }
            }
        })
        .await
        .expect("outbox write task");
        if let Err(e) = write {
            warn!(notifier = %notifier.name, error = %e, "cannot record a delivery attempt");
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
        let b0 = backoff(0, None);
        assert!(b0 >= StdDuration::from_millis(1600) && b0 <= StdDuration::from_millis(2400));
        let b3 = backoff(3, None);
        assert!(b3 >= StdDuration::from_millis(12_800) && b3 <= StdDuration::from_millis(19_200));
        assert!(backoff(30, None) <= StdDuration::from_secs(720));
        assert!(backoff(0, Some(StdDuration::from_secs(90))) >= StdDuration::from_secs(90));
    }
}
