//! Digests: scheduled summaries of what was said about each brand.
//!
//! ```toml
//! [digest.morning]
//! schedule = "0 8 * * MON-FRI"      # cron: minute hour day-of-month month day-of-week
//! timezone = "Europe/Paris"         # default: [daemon] timezone
//! brands = ["acme"]                 # default: every brand
//! notify = ["crisis-mail", "team-chat"]
//! top = 5                           # top mentions, sites and authors shown
//! ```
//!
//! A digest covers the time since the schedule's previous occurrence (Monday's 8:00
//! digest covers Friday 8:00 → Monday 8:00) and compares it with the period of the same
//! length before. What it holds: [`data`] (the figures, [`crate::model::digest`]); how
//! each notifier shows it: in its own file of [`crate::notify`], from the words of
//! [`crate::notify::view::digest`]. The daemon sends digests on schedule ([`Runner`], which also retries
//! failed deliveries across restarts); `veille digest --now NAME` sends one at once,
//! `--dry-run` writes it instead.
//!
//! Over 500 lines with its tests (about 450 of code): the digest schedule, the send with
//! its retries, and the runner; the figures are in `data.rs`, the words in
//! `notify::view::digest`.

pub mod data;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;
use toml::Spanned;

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::crawl::Http;
use crate::model::digest::DigestData;
use crate::notify::{DeliveryError, Notifier};
use crate::store::state::{DigestRetry, State};

/// `[digest.NAME]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    pub schedule: Spanned<String>,
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub brands: Vec<Spanned<String>>,
    pub notify: Vec<Spanned<String>>,
    #[serde(default = "five")]
    pub top: usize,
}

fn five() -> usize {
    5
}

/// A digest ready to run.
#[derive(Debug, Clone)]
pub struct Digest {
    pub name: String,
    pub schedule: String,
    cron: Cron,
    pub tz: Tz,
    /// Brand ids; empty: every brand.
    pub brands: Vec<String>,
    pub notify: Vec<String>,
    pub top: usize,
}

impl DigestConfig {
    /// Checks the schedule and time zone; `Err((span, message))` otherwise.
    pub fn build(&self, name: &str) -> Result<Digest, (std::ops::Range<usize>, String)> {
        let cron = Cron::from_str(self.schedule.get_ref()).map_err(|e| {
            (
                self.schedule.span(),
                format!(
                    "invalid schedule `{}`: {e} (expected five fields: minute hour day-of-month month day-of-week, e.g. \"0 8 * * MON-FRI\")",
                    self.schedule.get_ref()
                ),
            )
        })?;
        let tz = match &self.timezone {
            // The config assembly puts `[daemon] timezone` here once it is read.
            None => Tz::UTC,
            Some(t) => t.get_ref().parse::<Tz>().map_err(|_| {
                (
                    t.span(),
                    format!(
                        "unknown time zone `{}`: expected an IANA name such as \"Europe/Paris\"",
                        t.get_ref()
                    ),
                )
            })?,
        };
        if self.top == 0 || self.top > 50 {
            return Err((
                self.schedule.span(),
                "`top` must be between 1 and 50".into(),
            ));
        }
        Ok(Digest {
            name: name.to_string(),
            schedule: self.schedule.get_ref().clone(),
            cron,
            tz,
            brands: self.brands.iter().map(|b| b.get_ref().clone()).collect(),
            notify: self.notify.iter().map(|n| n.get_ref().clone()).collect(),
            top: self.top,
        })
    }
}

impl Digest {
    /// The next time the digest is due, strictly after `after`.
    pub fn next(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The latest time the digest was due, at or before `at`.
    pub fn latest(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&at.with_timezone(&self.tz), true)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The period a digest sent at `at` covers: from the schedule's previous occurrence
    /// (strictly before `at`) to `at`.
    pub fn period(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self
            .cron
            .find_previous_occurrence(&at.with_timezone(&self.tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(at - chrono::Duration::days(1));
        (start, at)
    }
}

/// Delivers a computed digest to one notifier, once.
async fn deliver_to(
    name: &str,
    data: &DigestData,
    notifiers: &HashMap<String, Notifier>,
    http: &Http,
    installation: &str,
) -> Result<(), DeliveryError> {
    match notifiers.get(name) {
        Some(n) => n.deliver_digest(data, http, installation).await,
        None => Err(DeliveryError::permanent(format!(
            "notifier {name} is not configured"
        ))),
    }
}

/// Delivers a digest to each of its notifiers now, for `veille digest --now`: transient
/// errors are tried three times, then reported. Returns each notifier's outcome.
pub async fn send(
    digest: &Digest,
    data: &DigestData,
    notifiers: &HashMap<String, Notifier>,
    http: &Http,
    installation: &str,
) -> Vec<(String, Result<(), DeliveryError>)> {
    let mut out = Vec::new();
    for name in &digest.notify {
        let mut result = deliver_to(name, data, notifiers, http, installation).await;
        for wait in [2u64, 10] {
            match &result {
                Err(e) if e.retryable => {
                    let d = e
                        .retry_after
                        .unwrap_or_default()
                        .min(MAX_RETRY_AFTER)
                        .max(StdDuration::from_secs(wait));
                    tokio::time::sleep(d).await;
                    result = deliver_to(name, data, notifiers, http, installation).await;
                }
                _ => break,
            }
        }
        match &result {
            Ok(()) => tracing::info!(digest = %digest.name, notifier = %name, "digest delivered"),
            Err(e) => {
                tracing::warn!(digest = %digest.name, notifier = %name, error = %e.message, "digest not delivered")
            }
        }
        out.push((name.clone(), result));
    }
    out
}

/// The longest wait a channel's Retry-After can impose on a digest.
const MAX_RETRY_AFTER: StdDuration = StdDuration::from_secs(3600);

/// Wait before the next attempt after failures: 30 s doubling up to 30 min, or longer if
/// the channel asked for it (at most an hour). No jitter: one digest goes to a notifier
/// at a time, and `veille digest` shows exact retry times.
pub const BACKOFF: Backoff = Backoff {
    first: StdDuration::from_secs(30),
    max: StdDuration::from_secs(1800),
    jitter: 0.0,
    max_retry_after: MAX_RETRY_AFTER,
};

fn backoff(attempts: u32, retry_after: Option<StdDuration>) -> chrono::Duration {
    chrono::Duration::from_std(BACKOFF.delay(attempts, retry_after))
        .unwrap_or(chrono::Duration::minutes(30))
}

type Stop = tokio::sync::watch::Receiver<bool>;

/// Sends the digests on schedule (see [`Runner::run`]).
pub struct Runner {
    pub digests: Vec<Digest>,
    pub brands: Vec<crate::matching::Brand>,
    pub notifiers: Arc<HashMap<String, Notifier>>,
    pub index: Arc<crate::store::index::MentionIndex>,
    pub state: Arc<Mutex<State>>,
    pub http: Http,
    pub clock: Arc<dyn Clock>,
    /// Longest sleep between two looks at the clock (an hour; tests moving a manual
    /// clock use a few milliseconds).
    pub max_sleep: StdDuration,
}

impl Runner {
    /// Runs until `stop` turns true.
    ///
    /// A digest whose time passed while veille was stopped (less than 12 hours ago) is
    /// sent at start, once. A delivery that fails for a transient reason is kept in the
    /// state and tried again with backoff — across restarts — until it goes out or the
    /// next digest of the same schedule replaces it; a permanent failure is logged.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.digests.is_empty() {
            return;
        }
        loop {
            let next = self.due_digests(&stop).await;
            let next = match (next, self.retries(&stop).await) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wait = next
                .map(|n| (n - self.clock.now()).to_std().unwrap_or_default())
                .unwrap_or(self.max_sleep)
                .min(self.max_sleep);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                r = stop.changed() => if r.is_err() || *stop.borrow() { return },
            }
        }
    }

    /// The installation id (see [`State::installation_id`]), for delivery keys.
    fn installation(&self) -> String {
        self.state
            .lock()
            .unwrap()
            .installation_id()
            .unwrap_or_default()
    }

    fn compute(&self, d: &Digest, at: DateTime<Utc>) -> crate::store::Result<DigestData> {
        let st = self.state.lock().unwrap();
        data::compute(d, &self.brands, &self.index, &st, at)
    }

    /// Sends the digests that are due; returns when the next one is.
    async fn due_digests(&self, stop: &Stop) -> Option<DateTime<Utc>> {
        let now = self.clock.now();
        let mut next: Option<DateTime<Utc>> = None;
        for d in &self.digests {
            if *stop.borrow() {
                return None;
            }
            let last = self
                .state
                .lock()
                .unwrap()
                .digest_last_sent(&d.name)
                .ok()
                .flatten();
            let due = match last {
                Some(l) => d.next(l),
                // First run ever: from now on.
                None => {
                    let _ = self.state.lock().unwrap().set_digest_sent(&d.name, now);
                    d.next(now)
                }
            };
            let Some(due) = due else { continue };
            if due > now {
                next = Some(next.map_or(due, |n| n.min(due)));
                continue;
            }
            // Only the latest of the times missed is sent (a burst of stale digests helps
            // nobody), and only if it is recent.
            let due = d.latest(now).unwrap_or(due).max(due);
            if now - due > chrono::Duration::hours(12) {
                tracing::info!(digest = %d.name, missed = %due, "digest time passed long ago; skipped");
            } else {
                let stale = self
                    .state
                    .lock()
                    .unwrap()
                    .digest_retries()
                    .unwrap_or_default();
                for r in stale.iter().filter(|r| r.digest == d.name && r.due < due) {
                    tracing::warn!(digest = %d.name, notifier = %r.notifier, due = %r.due, attempts = r.attempts,
                        error = %r.last_error, "digest never delivered: the next one replaces it");
                }
                let data = self.compute(d, due);
                for name in &d.notify {
                    let r = match &data {
                        // A reload or shutdown: the next runner takes it from the state.
                        Ok(_) if *stop.borrow() => Err(DeliveryError::retryable("stopped")),
                        Ok(data) => {
                            deliver_to(
                                name,
                                data,
                                &self.notifiers,
                                &self.http,
                                &self.installation(),
                            )
                            .await
                        }
                        // The index may be busy or briefly broken: try again later.
                        Err(e) => Err(DeliveryError::retryable(format!(
                            "digest not computed: {e:#}"
                        ))),
                    };
                    self.after_attempt(d, name, due, 1, r);
                }
            }
            let _ = self.state.lock().unwrap().set_digest_sent(&d.name, due);
            next = Some(now);
        }
        next
    }

    /// Tries again the deliveries that failed; returns when the next retry is due.
    async fn retries(&self, stop: &Stop) -> Option<DateTime<Utc>> {
        let pending = match self.state.lock().unwrap().digest_retries() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the digest retries");
                return None;
            }
        };
        let mut next: Option<DateTime<Utc>> = None;
        for r in pending {
            if *stop.borrow() {
                return None;
            }
            let now = self.clock.now();
            let digest = self
                .digests
                .iter()
                .find(|d| d.name == r.digest && d.notify.contains(&r.notifier));
            let Some(d) = digest else {
                // The digest or this notifier left the config.
                let _ = self
                    .state
                    .lock()
                    .unwrap()
                    .remove_digest_retry(&r.digest, &r.notifier);
                continue;
            };
            if d.next(r.due).is_some_and(|n| n <= now) {
                tracing::warn!(digest = %d.name, notifier = %r.notifier, due = %r.due, attempts = r.attempts,
                    error = %r.last_error, "digest never delivered: the next one replaces it");
                let _ = self
                    .state
                    .lock()
                    .unwrap()
                    .remove_digest_retry(&r.digest, &r.notifier);
                continue;
            }
            if r.next_try > now {
                next = Some(next.map_or(r.next_try, |n| n.min(r.next_try)));
                continue;
            }
            // The same period, computed again from the index.
            let result = match self.compute(d, r.due) {
                Ok(data) => {
                    let installation = self.installation();
                    deliver_to(
                        &r.notifier,
                        &data,
                        &self.notifiers,
                        &self.http,
                        &installation,
                    )
                    .await
                }
                Err(e) => Err(DeliveryError::retryable(format!(
                    "digest not computed: {e:#}"
                ))),
            };
            if let Some(t) = self.after_attempt(d, &r.notifier, r.due, r.attempts + 1, result) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
    }

    /// Records the outcome of attempt number `attempts`; returns the next try, if any.
    fn after_attempt(
        &self,
        d: &Digest,
        notifier: &str,
        due: DateTime<Utc>,
        attempts: u32,
        result: Result<(), DeliveryError>,
    ) -> Option<DateTime<Utc>> {
        let st = self.state.lock().unwrap();
        match result {
            Ok(()) => {
                tracing::info!(digest = %d.name, notifier, attempts, "digest delivered");
                let _ = st.remove_digest_retry(&d.name, notifier);
                None
            }
            Err(e) if e.retryable => {
                let next_try = self.clock.now() + backoff(attempts, e.retry_after);
                tracing::warn!(digest = %d.name, notifier, attempts, error = %e.message, next_try = %next_try,
                    "digest not delivered; will try again");
                let r = DigestRetry {
                    digest: d.name.clone(),
                    notifier: notifier.to_string(),
                    due,
                    attempts,
                    next_try,
                    last_error: e.message,
                };
                if let Err(e) = st.set_digest_retry(&r) {
                    tracing::warn!(digest = %d.name, error = %e, "cannot record the digest retry");
                }
                Some(next_try)
            }
            Err(e) => {
                tracing::warn!(digest = %d.name, notifier, attempts, error = %e.message,
                    "digest not delivered (permanent error)");
                let _ = st.remove_digest_retry(&d.name, notifier);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn digest(schedule: &str, tz: &str) -> Digest {
        let c: DigestConfig = toml::from_str(&format!(
            "schedule = \"{schedule}\"\ntimezone = \"{tz}\"\nnotify = [\"x\"]\n"
        ))
        .unwrap();
        c.build("d").unwrap()
    }

    #[test]
    fn weekday_mornings_in_paris() {
        let d = digest("0 8 * * MON-FRI", "Europe/Paris");
        // Friday 2026-03-13 10:00 UTC → next: Monday 2026-03-16 08:00 Paris = 07:00 UTC.
        let fri = Utc.with_ymd_and_hms(2026, 3, 13, 10, 0, 0).unwrap();
        let next = d.next(fri).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 3, 16, 7, 0, 0).unwrap());
        // Monday's digest covers the weekend, from Friday 08:00 Paris.
        let (start, end) = d.period(next);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 3, 13, 7, 0, 0).unwrap());
        assert_eq!(end, next);
        // Summer time: 08:00 Paris is 06:00 UTC in July.
        let july = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        assert_eq!(
            d.next(july).unwrap(),
            Utc.with_ymd_and_hms(2026, 7, 2, 6, 0, 0).unwrap()
        );
    }

    #[test]
    fn retry_backoff_doubles_and_caps_what_channels_ask() {
        let s = |a, r: Option<u64>| backoff(a, r.map(StdDuration::from_secs)).num_seconds();
        assert_eq!([s(1, None), s(2, None), s(3, None)], [30, 60, 120]);
        assert_eq!(s(40, None), 1800);
        assert_eq!(s(1, Some(300)), 300);
        // A hostile Retry-After cannot push a digest out by years (nor overflow a date).
        assert_eq!(s(1, Some(u64::MAX / 2)), 3600);
    }

    #[test]
    fn bad_schedules_and_zones_are_located_errors() {
        let c: DigestConfig =
            toml::from_str("schedule = \"0 25 * * *\"\nnotify = [\"x\"]\n").unwrap();
        assert!(c.build("d").unwrap_err().1.contains("invalid schedule"));
        let c: DigestConfig = toml::from_str(
            "schedule = \"0 8 * * *\"\ntimezone = \"Europe/Pariss\"\nnotify = [\"x\"]\n",
        )
        .unwrap();
        assert!(c.build("d").unwrap_err().1.contains("unknown time zone"));
    }
}
