//! `veille run`: wires the stages together and runs them until shutdown.
//!
//! scheduler ──(bounded channel)──► ingest thread ──(SQLite outbox + wake)──► delivery workers
//!
//! [`start`]: wiring · [`reload`]: scheduler generations and SIGHUP · [`shutdown`]: the
//! drain · [`delivery`]: outbox workers and digests · [`signals`]: signals and systemd.

mod delivery;
mod error;
mod reload;
mod shutdown;
mod signals;
mod start;

pub use error::Error;

pub use signals::{signal_reload, signal_shutdown};

use std::sync::Arc;
use std::time::Duration as StdDuration;

use tokio::sync::{mpsc, watch};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::ingest::Report;
use crate::outbox::DeliveryEvent;
use crate::scheduler::Mode;

/// Items waiting between the fetchers and the ingest stage.
const INGEST_QUEUE: usize = 256;
/// How often time-driven rules are looked at.
const TICK: StdDuration = StdDuration::from_secs(15);
/// How often WebSub leases are looked at for renewal.
const WEBSUB_RENEW_CHECK: StdDuration = StdDuration::from_secs(300);
/// Longest sleep of the digest runner between two looks at the clock.
const DIGEST_MAX_SLEEP: StdDuration = StdDuration::from_secs(3600);

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
    /// Each message reloads the configuration from its file (SIGHUP).
    pub reload: Option<mpsc::Receiver<()>>,
    /// Test hook of the ingest stage (makes one stage fail on chosen mentions).
    #[doc(hidden)]
    pub stage_hook: Option<crate::ingest::StageHook>,
    /// Keep each chat platform's pace between two messages (off for the demo, whose
    /// receiver is its own).
    pub pace: bool,
    /// The running totals the ingest stage keeps, shared with the caller, who may watch
    /// them as the run goes (the demo prints each stage as it happens).
    pub report: Option<Arc<std::sync::Mutex<crate::ingest::Report>>>,
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
            reload: None,
            stage_hook: None,
            pace: true,
            report: None,
        }
    }
}

/// Runs the daemon until `shutdown` turns true (or, in `Once` mode, until every source
/// was polled once and the outbox is empty). Returns what happened.
///
/// Three steps, one file each: [`start`] wires the stages, [`reload`] runs the scheduler
/// in generations (a SIGHUP ends one and applies the new configuration), [`shutdown`]
/// drains them in order within `drain_timeout`.
pub async fn run(
    config: Config,
    opts: RunOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Report, Error> {
    let mut daemon = start::Daemon::start(config, opts, &shutdown).await?;
    daemon.generations(&mut shutdown).await;
    daemon.shutdown(&mut shutdown).await
}
