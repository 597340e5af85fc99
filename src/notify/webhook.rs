//! `kind = "webhook"`: the alert as JSON, POSTed to any URL.
//!
//! Body: `{"version": 1, "alert": {…}}` where `alert` is [`crate::alerts::Alert`]
//! serialized; `webhook.schema.json` (JSON Schema) documents it. Headers:
//!
//! - `Idempotency-Key`: the delivery's key, `ALERT_KEY/NOTIFIER@INSTALLATION`
//!   ([`crate::alerts::delivery_key`]), the same on every resend; a receiver that sees the
//!   same key twice (a resend after a crash or a lost acknowledgement) drops the copy.
//! - with `secret_file` (or `secret_env`): `X-Veille-Timestamp` (unix seconds) and
//!   `X-Veille-Signature: v1=<hex>`, the HMAC-SHA256 of `"<timestamp>.<body>"` with the
//!   shared secret. A receiver recomputes it over the raw body, compares in constant
//!   time, and refuses timestamps more than 5 minutes old (replays).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{DeliveryError, load_secret, post_body};
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
    /// Shared secret for the signature header.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    #[serde(default)]
    pub secret_env: Option<String>,
}

#[derive(Debug)]
pub struct Webhook {
    url: crate::config::Secret,
    secret: Option<crate::config::Secret>,
}

/// The JSON Schema of the body.
pub const SCHEMA: &str = include_str!("webhook.schema.json");

impl WebhookConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: Range<usize>,
        base_dir: &Path,
    ) -> Option<Webhook> {
        let signing = load_secret(
            file,
            span.clone(),
            "secret",
            self.secret_file,
            self.secret_env,
            base_dir,
        )?;
        if signing.as_ref().is_some_and(|s| s.expose().len() < 16) {
            file.error(
                span.clone(),
                "the webhook secret is too short: use at least 16 characters",
            );
            return None;
        }
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
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                // Even written in the config, a webhook URL's path and query stay out of
                // every log line and error.
                crate::config::redact::register_url(&u);
                Some(Webhook {
                    url: crate::config::Secret::new(url),
                    secret: signing,
                })
            }
            _ => {
                file.error(at, "invalid webhook URL: expected an http(s) URL");
                None
            }
        }
    }
}

/// The name of one digest's issue, `digest:NAME:END` (its period's end, unix seconds).
pub fn digest_key(d: &crate::digest::data::DigestData) -> String {
    format!(
        "digest:{}:{}",
        crate::alerts::key_part(&d.name),
        d.end.timestamp()
    )
}

/// The JSON body sent for an alert.
pub fn payload(alert: &Alert) -> serde_json::Value {
    json!({ "version": 1, "alert": alert })
}

/// `v1=<hex>`: HMAC-SHA256 of `"<timestamp>.<body>"`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(64 + 3);
    hex.push_str("v1=");
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

impl Webhook {
    /// Posts the alert with `key` (see [`crate::alerts::delivery_key`]) as its
    /// `Idempotency-Key`.
    pub async fn send(
        &self,
        alert: &Alert,
        key: String,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        self.post(&payload(alert), key, http, allow_private).await
    }

    /// `{"version": 1, "digest": {…}}`, signed like alerts, with `key` built on
    /// [`digest_key`].
    pub async fn send_digest(
        &self,
        d: &crate::digest::data::DigestData,
        key: String,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        self.post(
            &json!({"version": 1, "digest": d}),
            key,
            http,
            allow_private,
        )
        .await
    }

    async fn post(
        &self,
        value: &serde_json::Value,
        key: String,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let url = Url::parse(self.url.expose())
            .map_err(|_| DeliveryError::permanent("webhook URL is not a valid URL"))?;
        let body = serde_json::to_vec(value)
            .map_err(|e| DeliveryError::permanent(format!("cannot encode the body: {e}")))?;
        let mut headers = vec![("Idempotency-Key", crate::alerts::header_safe(&key))];
        if let Some(secret) = &self.secret {
            let ts = chrono::Utc::now().timestamp();
            headers.push(("X-Veille-Timestamp", ts.to_string()));
            headers.push((
                "X-Veille-Signature",
                signature(secret.expose().as_bytes(), ts, &body),
            ));
        }
        post_body(
            http,
            allow_private,
            &url,
            body,
            "application/json",
            &headers,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Reference: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'secret-0123456789'
        assert_eq!(
            signature(b"secret-0123456789", 1_700_000_000, br#"{"a":1}"#),
            "v1=692511b180bbcd561410894fd2bedac27a99690e45169490ea808f433b5d0097"
        );
    }
}
