//! What the fetching side sends the ingest stage: the outcome of a poll, a push, a
//! schedule, or the passing of time. Plain data: in one process it goes through a
//! bounded channel, between machines it can go through a queue.

use chrono::{DateTime, Utc};

use crate::mention::Mention;
use crate::model::Poll;

/// What a poll produced, sent from the scheduler to the ingest stage.
#[derive(Debug)]
pub enum Event {
    Polled {
        source: String,
        poll: Poll,
    },
    Failed {
        source: String,
        error: String,
        /// A bug in veille met while polling (a caught panic), not a network or server
        /// error: the source is marked unhealthy at once.
        internal: bool,
    },
    /// When the source is due next (for `veille sources`), and its adaptive interval.
    Scheduled {
        source: String,
        next_due: DateTime<Utc>,
        auto_every: Option<u64>,
    },
    /// Items pushed by a WebSub hub: new mentions, no change to the source's state.
    Pushed {
        source: String,
        mentions: Vec<Mention>,
    },
    /// Time passed: flatlines, resolutions, silences that ended.
    Tick,
}

impl Event {
    pub fn source(&self) -> &str {
        match self {
            Event::Polled { source, .. }
            | Event::Failed { source, .. }
            | Event::Scheduled { source, .. }
            | Event::Pushed { source, .. } => source,
            Event::Tick => "",
        }
    }

    /// The mentions it carries (polled or pushed).
    pub fn mentions(&self) -> &[Mention] {
        match self {
            Event::Polled { poll, .. } => &poll.mentions,
            Event::Pushed { mentions, .. } => mentions,
            _ => &[],
        }
    }
}
