//! What can go wrong in the store, and what kind of failure it is: callers decide from
//! the kind whether to wait and try again, set something aside, or give up.

use std::path::PathBuf;

/// How a caller should take a store error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Busy, locked, an I/O hiccup: the same call may succeed in a moment.
    Retryable,
    /// Something stored cannot be read back: damaged data, not a passing problem.
    Corrupt,
    /// What was asked cannot be stored (a constraint, a value that cannot be encoded).
    BadInput,
    /// Will not get better by waiting (a database from a newer veille, a directory that
    /// cannot be made, an index another process holds).
    Permanent,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Index(#[from] tantivy::TantivyError),
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot {what} {}: {source}", path.display())]
    Open {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: Box<Error>,
    },
    #[error(
        "state database has schema version {found}, newer than this veille ({supported}): upgrade veille"
    )]
    TooNew { found: usize, supported: usize },
    #[error(
        "index in {} has schema version {found}, this veille needs {needs}: move it away and run again to rebuild",
        dir.display()
    )]
    IndexVersion {
        dir: PathBuf,
        found: u32,
        needs: u32,
    },
    #[error("cannot lock the index for writing (is another veille running on this data_dir?)")]
    IndexLocked(#[source] tantivy::TantivyError),
    /// Stored data that cannot be read back.
    #[error("{0}")]
    Corrupt(String),
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        use rusqlite::ErrorCode as C;
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => match e.code {
                C::DatabaseBusy | C::DatabaseLocked | C::SystemIoFailure | C::DiskFull => {
                    ErrorKind::Retryable
                }
                C::DatabaseCorrupt | C::NotADatabase => ErrorKind::Corrupt,
                C::ConstraintViolation | C::TooBig => ErrorKind::BadInput,
                _ => ErrorKind::Permanent,
            },
            Error::Sqlite(rusqlite::Error::FromSqlConversionFailure(..))
            | Error::Sqlite(rusqlite::Error::InvalidColumnType(..)) => ErrorKind::Corrupt,
            Error::Sqlite(_) => ErrorKind::Permanent,
            Error::Index(e) => match e {
                tantivy::TantivyError::IoError(_) | tantivy::TantivyError::LockFailure(..) => {
                    ErrorKind::Retryable
                }
                tantivy::TantivyError::DataCorruption(_) => ErrorKind::Corrupt,
                tantivy::TantivyError::InvalidArgument(_) => ErrorKind::BadInput,
                _ => ErrorKind::Permanent,
            },
            Error::Io { .. } => ErrorKind::Retryable,
            Error::Open { source, .. } => source.kind(),
            Error::TooNew { .. } | Error::IndexVersion { .. } | Error::IndexLocked(_) => {
                ErrorKind::Permanent
            }
            Error::Corrupt(_) => ErrorKind::Corrupt,
            Error::Encode { .. } => ErrorKind::BadInput,
        }
    }

    /// Wait and try again?
    pub fn is_retryable(&self) -> bool {
        self.kind() == ErrorKind::Retryable
    }
}
