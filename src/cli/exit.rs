//! Exit statuses of `veille`, in one place (README "Exit status" and `veille --help`
//! list them): scripts and cron tell a typo from an outage by them.
//!
//! Commands fail with a [`CliError`] saying which kind of failure it is; `main` turns it
//! into the status. Any other error is a runtime failure (1).

use std::process::ExitCode;

/// Everything went as asked.
pub const EXIT_OK: u8 = 0;
/// A runtime failure: the network, the disk, a delivery, the data.
pub const EXIT_FAILURE: u8 = 1;
/// A usage or configuration error: a bad flag or value, a config `veille check` refuses.
pub const EXIT_USAGE: u8 = 2;
/// Something the user named does not exist: a source, brand, rule, alert, incident…
pub const EXIT_NOT_FOUND: u8 = 3;
/// `veille run --once` finished with alerts still pending or failed.
pub const EXIT_UNDELIVERED: u8 = 4;

/// The exit statuses as `--help` shows them.
pub const EXIT_STATUS_HELP: &str = "Exit status: 0 ok · 1 runtime failure · 2 usage or configuration error · \
3 something named does not exist (source, brand, rule, alert, incident…) · \
4 `run --once` ended with alerts still pending or failed";

/// A failure that is the user's to fix, with the status it ends with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag's value, a combination of flags or a query that cannot be used.
    #[error("{0}")]
    Usage(String),
    /// A name or number the user gave that matches nothing.
    #[error("{0}")]
    NotFound(String),
}

impl CliError {
    pub fn code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::NotFound(_) => EXIT_NOT_FOUND,
        }
    }
}

/// `Err(CliError::Usage)` with a formatted message.
#[macro_export]
macro_rules! usage {
    ($($t:tt)*) => { return Err($crate::cli::CliError::Usage(format!($($t)*)).into()) };
}

/// `Err(CliError::NotFound)` with a formatted message.
#[macro_export]
macro_rules! not_found {
    ($($t:tt)*) => { return Err($crate::cli::CliError::NotFound(format!($($t)*)).into()) };
}

/// The status an error of a command ends with, and whether to print it: a closed
/// stdout (`veille alerts | head -1`) ends quietly with 0, like a command that printed
/// everything it had to.
pub fn status_of(e: &anyhow::Error) -> (ExitCode, bool) {
    if let Some(c) = e.downcast_ref::<CliError>() {
        return (ExitCode::from(c.code()), true);
    }
    let broken_pipe = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return (ExitCode::from(EXIT_OK), false);
    }
    (ExitCode::from(EXIT_FAILURE), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_ends_quietly_and_errors_keep_their_status() {
        let pipe: anyhow::Error =
            anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
                .context("writing");
        assert_eq!(status_of(&pipe), (ExitCode::from(0), false));
        let nf: anyhow::Error = CliError::NotFound("x".into()).into();
        assert_eq!(status_of(&nf), (ExitCode::from(3), true));
        let other = anyhow::anyhow!("disk full");
        assert_eq!(status_of(&other), (ExitCode::from(1), true));
    }
}
