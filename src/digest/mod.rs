//! Digests: scheduled summaries of what was said about each brand.
//!
//! ```toml
//! [digest.morning]
//! schedule = "0 8 * * MON-FRI"      # cron: minute hour day-of-month month day-of-week
//! timezone = "Europe/Paris"         # default UTC
//! brands = ["acme"]                 # default: every brand
//! notify = ["crisis-mail", "team-chat"]
//! top = 5                           # top mentions, sites and authors shown
//! ```
//!
//! A digest covers the time since the schedule's previous occurrence (Monday's 8:00
//! digest covers Friday 8:00 → Monday 8:00) and compares it with the period of the same
//! length before. What it holds: [`data`]; its chart: [`chart`]; how each notifier shows
//! it: [`render`]. The daemon sends digests on schedule; `veille digest --now NAME` sends
//! one at once, `--dry-run` writes it instead.

pub mod chart;
pub mod data;
pub mod render;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;
use toml::Spanned;

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

/// Computes the digest for the period ending at `at` and delivers it to each of its
/// notifiers (transient errors are tried three times). Returns each notifier's outcome.
pub async fn send(
    digest: &Digest,
    data: &data::DigestData,
    notifiers: &std::collections::HashMap<String, crate::notify::Notifier>,
    http: &crate::crawl::Http,
) -> Vec<(String, Result<(), crate::notify::DeliveryError>)> {
    let mut out = Vec::new();
    for name in &digest.notify {
        let Some(n) = notifiers.get(name) else {
            out.push((
                name.clone(),
                Err(crate::notify::DeliveryError::permanent(format!(
                    "notifier {name} is not configured"
                ))),
            ));
            continue;
        };
        let mut result = n.deliver_digest(data, http).await;
        for wait in [2u64, 10] {
            match &result {
                Err(e) if e.retryable => {
                    let d = e
                        .retry_after
                        .unwrap_or_default()
                        .max(std::time::Duration::from_secs(wait));
                    tokio::time::sleep(d).await;
                    result = n.deliver_digest(data, http).await;
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

/// Runs the digests on schedule until `stop` turns true. A digest whose time passed while
/// veille was stopped (less than 12 hours ago) is sent at start, once.
pub async fn run(
    digests: Vec<Digest>,
    brands: Vec<crate::matching::Brand>,
    notifiers: std::sync::Arc<std::collections::HashMap<String, crate::notify::Notifier>>,
    index: std::sync::Arc<crate::store::index::MentionIndex>,
    state: std::sync::Arc<std::sync::Mutex<crate::store::state::State>>,
    http: crate::crawl::Http,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if digests.is_empty() {
        return;
    }
    loop {
        let now = Utc::now();
        // What is due now, and when the next one is.
        let mut next: Option<DateTime<Utc>> = None;
        for d in &digests {
            let last = state
                .lock()
                .unwrap()
                .digest_last_sent(&d.name)
                .ok()
                .flatten();
            let due = match last {
                Some(l) => d.next(l),
                // First run ever: from now on.
                None => {
                    let _ = state.lock().unwrap().set_digest_sent(&d.name, now);
                    d.next(now)
                }
            };
            let Some(due) = due else { continue };
            if due <= now {
                // Only the latest of the times missed is sent (a burst of stale digests
                // helps nobody), and only if it is recent.
                let due = d.latest(now).unwrap_or(due).max(due);
                if now - due > chrono::Duration::hours(12) {
                    tracing::info!(digest = %d.name, missed = %due, "digest time passed long ago; skipped");
                } else {
                    let data = {
                        let st = state.lock().unwrap();
                        data::compute(d, &brands, &index, &st, due)
                    };
                    match data {
                        Ok(data) => {
                            send(d, &data, &notifiers, &http).await;
                        }
                        Err(e) => {
                            tracing::warn!(digest = %d.name, error = format!("{e:#}"), "digest not computed")
                        }
                    }
                }
                let _ = state.lock().unwrap().set_digest_sent(&d.name, due);
                next = Some(now);
                continue;
            }
            next = Some(next.map_or(due, |n| n.min(due)));
        }
        let wait = next
            .map(|n| (n - Utc::now()).to_std().unwrap_or_default())
            .unwrap_or(std::time::Duration::from_secs(3600))
            .min(std::time::Duration::from_secs(3600));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            r = stop.changed() => if r.is_err() || *stop.borrow() { return },
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
