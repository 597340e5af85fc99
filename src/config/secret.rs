//! Secrets (passwords, webhook URLs, tokens): read from a file or an environment variable,
//! never written in the main config file, never printed.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A secret value. `Debug` and `Display` print `***` so it cannot leak into logs, and
/// every copy of its value in an error text is scrubbed (see [`super::redact`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret made at run time (a session token); one read from the configuration
    /// comes from [`SecretRef::load`].
    pub fn new(s: impl Into<String>) -> Self {
        let s = s.into();
        super::redact::register_transient(&s);
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from: `<name>_file = "/etc/veille/secrets/x"` or
/// `<name>_env = "VEILLE_X"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum SecretRef {
    File(PathBuf),
    Env(String),
}

impl SecretRef {
    /// Builds the reference from the two optional keys; `None` when neither is set.
    pub fn from_keys(
        name: &str,
        file: Option<PathBuf>,
        env: Option<String>,
        base_dir: &Path,
    ) -> Result<Option<SecretRef>, String> {
        match (file, env) {
            (Some(_), Some(_)) => Err(format!("set either {name}_file or {name}_env, not both")),
            (Some(f), None) => Ok(Some(SecretRef::File(base_dir.join(f)))),
            (None, Some(e)) => Ok(Some(SecretRef::Env(e))),
            (None, None) => Ok(None),
        }
    }

    /// Reads the secret now. Trailing newlines (as `echo x > file` writes) are removed.
    pub fn load(&self) -> Result<Secret, String> {
        match self {
            SecretRef::File(p) => std::fs::read_to_string(p)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|e| format!("cannot read secret file {}: {e}", p.display())),
            SecretRef::Env(v) => std::env::var(v)
                .map(Secret)
                .map_err(|_| format!("environment variable {v} is not set")),
        }
        .inspect(|s| super::redact::register(&s.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    }

    #[test]
    fn reads_file_without_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let r = SecretRef::from_keys("password", Some("pw".into()), None, dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(r.load().unwrap().expose(), "s3cret");
    }
}
