//! Daily quotas of the metered APIs (`[quota]`): YouTube Data API units and Stack
//! Exchange requests. Each poll counts what it spent; the spend of the day is kept in the
//! source's saved state (so a restart does not forget it); the scheduler spaces the polls
//! of a metered kind so that its budget lasts the whole day, and stops calling until the
//! API's own reset once it is spent.
//!
//! ```toml
//! [quota]
//! youtube = 9000          # units a day, shared by every youtube source (free: 10,000)
//! stackexchange = 9000    # requests a day (free: 10,000 with a key, 300 without)
//! ```

use std::time::Duration as StdDuration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::{Source, SourceKind};
pub use crate::model::QuotaSpend as Spend;

/// A YouTube `search.list` call costs 100 units of the project's daily quota.
pub const YOUTUBE_SEARCH_UNITS: u64 = 100;
/// Stack Exchange counts requests: one per call.
pub const STACKEXCHANGE_REQUEST_UNITS: u64 = 1;

/// The free daily quotas, and the default budgets: 90 % of them, leaving room for the
/// same key's use elsewhere (a developer trying a query by hand).
const YOUTUBE_FREE: u64 = 10_000;
const STACKEXCHANGE_FREE_WITH_KEY: u64 = 10_000;
const STACKEXCHANGE_FREE_WITHOUT_KEY: u64 = 300;

/// `[quota]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    /// YouTube Data API units a day for all youtube sources together.
    #[serde(default)]
    pub youtube: Option<u64>,
    /// Stack Exchange requests a day for all stackexchange sources together.
    #[serde(default)]
    pub stackexchange: Option<u64>,
}

/// An API whose calls are counted against a daily quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metered {
    YouTube,
    StackExchange,
}

impl Metered {
    pub fn of(source: &Source) -> Option<Metered> {
        match &source.kind {
            SourceKind::YouTube(_) => Some(Metered::YouTube),
            SourceKind::StackExchange(_) => Some(Metered::StackExchange),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Metered::YouTube => "youtube",
            Metered::StackExchange => "stackexchange",
        }
    }

    /// The quota's day `now` falls in: YouTube's runs from midnight Pacific time,
    /// Stack Exchange's from midnight UTC.
    pub fn day(self, now: DateTime<Utc>) -> NaiveDate {
        match self {
            Metered::YouTube => now
                .with_timezone(&chrono_tz::America::Los_Angeles)
                .date_naive(),
            Metered::StackExchange => now.date_naive(),
        }
    }

    /// When the quota is next reset.
    pub fn next_reset(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tomorrow = self.day(now).succ_opt().unwrap_or(self.day(now));
        let midnight = tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self {
            Metered::YouTube => chrono_tz::America::Los_Angeles
                .from_local_datetime(&midnight)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now + chrono::Duration::days(1)),
            Metered::StackExchange => Utc.from_utc_datetime(&midnight),
        }
    }
}

/// The daily budgets in force, per metered kind, and how many sources share each.
#[derive(Debug, Clone, Default)]
pub struct Budgets {
    youtube: Option<Budget>,
    stackexchange: Option<Budget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Units a day for the kind.
    pub daily: u64,
    /// Enabled sources of the kind, which share it evenly.
    pub sources: u64,
}

impl Budgets {
    /// The budgets of `config` for `sources` (defaults within the free quotas: a Stack
    /// Exchange source without a key is held to the keyless quota).
    pub fn new<'a, I>(config: &QuotaConfig, sources: I) -> Budgets
    where
        I: IntoIterator<Item = &'a Source>,
    {
        let sources: Vec<&Source> = sources.into_iter().filter(|s| s.enabled).collect();
        let enabled =
            |m: Metered| sources.iter().filter(|s| Metered::of(s) == Some(m)).count() as u64;
        let keyless = sources.iter().any(|s| match &s.kind {
            SourceKind::StackExchange(se) => !se.has_key(),
            _ => false,
        });
        let se_free = if keyless {
            STACKEXCHANGE_FREE_WITHOUT_KEY
        } else {
            STACKEXCHANGE_FREE_WITH_KEY
        };
        let budget = |m: Metered, set: Option<u64>, free: u64| {
            let n = enabled(m);
            (n > 0).then(|| Budget {
                daily: set.unwrap_or(free / 10 * 9),
                sources: n,
            })
        };
        Budgets {
            youtube: budget(Metered::YouTube, config.youtube, YOUTUBE_FREE),
            stackexchange: budget(Metered::StackExchange, config.stackexchange, se_free),
        }
    }

    pub fn of(&self, m: Metered) -> Option<Budget> {
        match m {
            Metered::YouTube => self.youtube,
            Metered::StackExchange => self.stackexchange,
        }
    }

    /// How long a source of kind `m` waits before its next poll, given what that poll
    /// cost (`units`) and what the whole kind has spent today (`spent_today`): its share
    /// of the budget spread evenly over the day, or, once the budget is spent, until the
    /// API resets it. None for a kind without budget.
    pub fn wait(
        &self,
        m: Metered,
        units: u64,
        spent_today: u64,
        now: DateTime<Utc>,
    ) -> Option<StdDuration> {
        let b = self.of(m)?;
        if spent_today >= b.daily {
            return (m.next_reset(now) - now).to_std().ok();
        }
        let share = (b.daily / b.sources.max(1)).max(1);
        let day = 86_400.0 * units as f64 / share as f64;
        Some(StdDuration::from_secs_f64(day.min(86_400.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn quota_days_follow_each_api() {
        // 07:30 UTC is still the previous day in California (UTC−8 in winter).
        let now = at("2026-12-02T07:30:00Z");
        assert_eq!(Metered::YouTube.day(now).to_string(), "2026-12-01");
        assert_eq!(Metered::StackExchange.day(now).to_string(), "2026-12-02");
        assert_eq!(Metered::YouTube.next_reset(now), at("2026-12-02T08:00:00Z"));
        // Summer time: midnight in California is 07:00 UTC.
        assert_eq!(
            Metered::YouTube.next_reset(at("2026-07-01T12:00:00Z")),
            at("2026-07-02T07:00:00Z")
        );
        assert_eq!(
            Metered::StackExchange.next_reset(now),
            at("2026-12-03T00:00:00Z")
        );
    }

    #[test]
    fn spend_restarts_each_day() {
        let d1 = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let d2 = d1.succ_opt().unwrap();
        let s = Spend::add(None, d1, 100);
        let s = Spend::add(Some(s), d1, 100);
        assert_eq!(Spend::on(Some(s), d1), 200);
        assert_eq!(Spend::on(Some(s), d2), 0);
        assert_eq!(Spend::add(Some(s), d2, 100).units, 100);
    }

    #[test]
    fn polls_are_spaced_so_the_budget_lasts_the_day() {
        let b = Budgets {
            youtube: Some(Budget {
                daily: 9_000,
                sources: 2,
            }),
            stackexchange: None,
        };
        let now = at("2026-12-02T12:00:00Z");
        // Two sources share 9,000 units: 4,500 each, 100 a search → 45 polls a day,
        // one every 32 minutes.
        let w = b.wait(Metered::YouTube, 100, 1_000, now).unwrap();
        assert_eq!(w.as_secs(), 86_400 * 100 / 4_500);
        // A poll that followed three pages waits three times longer.
        assert_eq!(
            b.wait(Metered::YouTube, 300, 1_000, now).unwrap().as_secs(),
            3 * 86_400 * 100 / 4_500
        );
        // Spent: nothing until midnight Pacific (08:00 UTC in winter).
        let w = b.wait(Metered::YouTube, 100, 9_000, now).unwrap();
        assert_eq!(w.as_secs(), 20 * 3600);
        assert_eq!(b.wait(Metered::StackExchange, 1, 0, now), None);
    }
}
