//! `kind = "webhook"`: the alert as JSON, POSTed to any URL.
//!
//! Body: `{"version": 1, "alert": {…}}` where `alert` is [`crate::alerts::Alert`]
//! serialized. The `Idempotency-Key` header carries the alert's dedup key: a receiver
//! that sees the same key twice (a retry after a lost acknowledgement) can drop it.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{DeliveryError, load_secret, post_json};
use crate::alerts::Alert;
use crate::config::diag::SourceFile;
use crate::crawl::Http;

/// Settings of a `kind = "webhook"` notifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Endpoint URL, when it is not a secret. Otherwise use `url_file` or `url_env`.
    #[serde(default)]
    pub url: Option<toml::Spanned<String>>,
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    #[serde(default)]
    pub url_env: Option<String>,
}

#[derive(Debug)]
pub struct Webhook {
    url: crate::config::Secret,
}

impl WebhookConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: Range<usize>,
        base_dir: &Path,
    ) -> Option<Webhook> {
        let secret = load_secret(
            file,
            span.clone(),
            "url",
            self.url_file,
            self.url_env,
            base_dir,
        )?;
        let (url, at) = match (self.url, secret) {
            (Some(u), None) => (u.get_ref().clone(), u.span()),
            (None, Some(s)) => (s.expose().to_string(), span),
            (Some(u), Some(_)) => {
                file.error(u.span(), "set either url or url_file/url_env, not both");
                return None;
            }
            (None, None) => {
                file.error(span, "missing `url` (or url_file / url_env)");
                return None;
            }
        };
        match Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(Webhook {
                url: crate::config::Secret::new(url),
            }),
            _ => {
                file.error(at, "invalid webhook URL: expected an http(s) URL");
                None
            }
        }
    }
}

/// The JSON body sent for an alert.
pub fn payload(alert: &Alert) -> serde_json::Value {
    json!({ "version": 1, "alert": alert })
}

impl Webhook {
    pub async fn send(
        &self,
        alert: &Alert,
        http: &Http,
        allow_private: bool,
    ) -> Result<(), DeliveryError> {
        let url = Url::parse(self.url.expose())
            .map_err(|_| DeliveryError::permanent("webhook URL is not a valid URL"))?;
        post_json(
            http,
            allow_private,
            &url,
            &payload(alert),
            &[("Idempotency-Key", alert.key.clone())],
        )
        .await
    }
}
