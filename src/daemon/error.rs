//! Why the daemon could not start or stop cleanly: each step that can fail names itself,
//! so `main` prints the step and its cause (`{:#}`), and a caller can tell a bad
//! environment (address in use, unreadable data directory) from a bug (a panicked stage).

/// A failure of `daemon::run`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The mention index or the state database could not be opened or read.
    #[error("cannot open the data in the data directory")]
    Store(#[from] crate::store::Error),
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
    #[error("cannot load the WebSub subscriptions")]
    WebSub(#[from] crate::websub::Error),
    #[error("cannot start the ingest thread")]
    IngestThread(#[source] std::io::Error),
    #[error("cannot listen on {addr} ([daemon] listen)")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// A bug: the ingest stage panicked outside the per-item guard.
    #[error("the ingest thread panicked")]
    IngestPanicked,
    #[error("the ingest thread could not be joined")]
    Join(#[from] tokio::task::JoinError),
}
