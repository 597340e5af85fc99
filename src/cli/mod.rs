//! The commands of `veille` besides `run` and `demo`, one file per command: what they
//! print (`search`, `authors`, `sources`, `alerts`, `incidents`, `digests`) and what
//! they change (`alerts retry|requeue|drop`, `incidents ack`, `silence`, `digest --now`).
//! [`args`] is the command line's definition, [`exit`](CliError) its exit statuses,
//! `table` how a terminal is shown text (display widths, no control or bidi
//! characters). `main.rs` parses the command line and calls them.

mod alerts;
pub mod args;
mod digest;
mod exit;
mod incidents;
mod notify;
mod rules;
mod search;
mod sources;
mod table;

pub use alerts::{
    alerts, alerts_act, alerts_drop, alerts_requeue, alerts_reroute, alerts_retry, orphaned,
};
pub use digest::{digest_now, digests};
pub use exit::*;
pub use incidents::{IncidentFilter, current_user, incident_ack, incident_show, incidents};
pub use notify::notify_test;
pub use rules::{SilenceCmd, rules_test, silence};
pub use search::{Filters, authors, search};
pub use sources::{source_test, sources};
pub use table::{Align, Table, clean, clean_lines};

/// The shared time expressions (`7d`, `2026-11-01`, RFC 3339): one parser with the API.
pub use crate::model::When;

use crate::config::Config;
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

/// "a, b, c" (sorted), or "none configured": what the user could have named.
fn ids<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = items.collect();
    if v.is_empty() {
        return "none configured".into();
    }
    v.sort_unstable();
    v.join(", ")
}
