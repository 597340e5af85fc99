//! Bearer tokens of the HTTP API: `[[api.token]]` entries, each with a name, a scope and
//! the file holding the token (never the token itself in the config).

use std::path::{Path, PathBuf};

use axum::http::HeaderMap;
use serde::Deserialize;
use toml::Spanned;

use super::ApiError;
use crate::model::Secret;

/// `[api]`
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    #[serde(default)]
    pub token: Vec<TokenConfig>,
}

/// `[[api.token]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who uses it (shown in logs and as the acknowledger of incidents).
    pub name: Spanned<String>,
    /// "read" (search, lists) or "admin" (also acknowledge, silence).
    pub scope: Scope,
    /// File holding the token (at least 32 characters; e.g. `openssl rand -hex 32`).
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Admin,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub name: String,
    pub scope: Scope,
    secret: Secret,
}

impl TokenConfig {
    pub fn load(&self, base_dir: &Path) -> Result<Token, String> {
        let path = base_dir.join(&self.file);
        let secret = crate::model::SecretRef::File(path.clone()).load()?;
        if secret.expose().trim().len() < 32 {
            return Err(format!(
                "the token in {} is too short: use at least 32 characters (e.g. `openssl rand -hex 32`)",
                path.display()
            ));
        }
        Ok(Token {
            name: self.name.get_ref().clone(),
            scope: self.scope,
            secret: Secret::new(secret.expose().trim()),
        })
    }
}

/// Constant-time comparison: how long it takes says nothing about the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token presented in `Authorization: Bearer …`, if it is valid and allows `needed`.
pub fn authorize<'t>(
    headers: &HeaderMap,
    tokens: &'t [Token],
    needed: Scope,
) -> Result<&'t Token, ApiError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("missing `Authorization: Bearer <token>`"))?;
    let token = tokens
        .iter()
        .find(|t| same(t.secret.expose().as_bytes(), given.as_bytes()))
        .ok_or_else(|| ApiError::unauthorized("unknown token"))?;
    if token.scope < needed {
        return Err(ApiError::forbidden(
            "this token is read-only; an admin token is needed",
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_is_exact() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
