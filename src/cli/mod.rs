//! The commands of `veille` besides `run` and `demo`, one file per command: what they
//! print (`search`, `authors`, `sources`, `alerts`, `digests`) and what they change
//! (`alerts retry|requeue|drop`, `silence`, `digest --now`). `main.rs` parses the command
//! line and calls them.

mod alerts;
mod digest;
mod notify;
mod rules;
mod search;
mod sources;

pub use alerts::{
    alerts, alerts_act, alerts_drop, alerts_requeue, alerts_reroute, alerts_retry, orphaned,
};
pub use digest::{digest_now, digests};
pub use notify::notify_test;
pub use rules::{SilenceCmd, rules_test, silence};
pub use search::{Filters, authors, search};
pub use sources::{source_test, sources};

use chrono::Utc;

use crate::config::Config;
use crate::model::Duration;
use crate::store::index::MentionIndex;

fn open_index(c: &Config) -> anyhow::Result<MentionIndex> {
    let dir = c.index_dir();
    anyhow::ensure!(
        dir.join("meta.json").exists(),
        "no index in {}: veille has not run with this config yet (try `veille run --once`)",
        dir.display()
    );
    Ok(MentionIndex::open(&dir)?)
}

/// A point in time on the command line: `now`, a duration ago (`30d`, `2h`), a date
/// (`2026-11-01`, midnight UTC) or an RFC 3339 date-time (`2026-11-01T08:00:00+01:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    Ago(Duration),
    At(chrono::DateTime<Utc>),
}

impl When {
    pub fn at(self, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
        match self {
            When::Now => now,
            When::Ago(d) => now - d.chrono(),
            When::At(t) => t,
        }
    }
}

impl std::str::FromStr for When {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("now") {
            return Ok(When::Now);
        }
        if let Ok(d) = s.parse::<Duration>() {
            return Ok(When::Ago(d));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(When::At(t.with_timezone(&Utc)));
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(When::At(d.and_time(chrono::NaiveTime::MIN).and_utc()));
        }
        Err(format!(
            "`{s}`: expected now, a duration ago (30d, 2h), a date (2026-11-01) or a date-time (2026-11-01T08:00:00Z)"
        ))
    }
}
