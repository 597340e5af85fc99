//! Notifiers: where alerts go. `[notifier.NAME]` in the config, one file per format:
//! [`email`] (where an email is built: [`email::build_message`]), [`chat`] (Slack,
//! Mattermost, Teams, Discord, Google Chat, Telegram, ntfy), [`webhook`] (generic JSON,
//! signed). [`view`] puts an alert into words once, in the notifier's language.
//!
//! A delivery returns whether a retry makes sense; the outbox decides about retries.

pub mod chat;
pub mod email;
pub mod view;
pub mod webhook;

use std::path::Path;
use std::time::Duration as StdDuration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use crate::alerts::Alert;
use crate::config::diag::SourceFile;
use crate::crawl::{AllowPrivate, Http};

/// Keys every `[notifier.NAME]` takes.
pub const COMMON_KEYS: &[&str] = &["kind", "allow_private"];
pub const KINDS: &[&str] = &[
    "email",
    "slack",
    "mattermost",
    "teams",
    "discord",
    "googlechat",
    "telegram",
    "ntfy",
    "webhook",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifierCommon {
    /// email | slack | mattermost | teams | discord | googlechat | telegram | ntfy | webhook
    #[allow(dead_code)]
    kind: String,
    /// Allow the webhook URL to be a private address (a chat server on the LAN): `true`
    /// for loopback and LAN; link-local and cloud-metadata addresses only when named,
    /// `["loopback", "lan", "link_local"]`.
    #[serde(default)]
    allow_private: AllowPrivate,
}

/// Why a delivery failed, and whether trying again may help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    /// False for errors that will not go away (bad address, 404, rejected payload).
    pub retryable: bool,
    /// The channel asked us to wait this long (429 Retry-After).
    pub retry_after: Option<StdDuration>,
}

impl DeliveryError {
    /// Every message is scrubbed of known secrets (see [`crate::config::redact`]): it is
    /// stored, logged and shown by `veille alerts` and the API.
    pub fn retryable(message: impl Into<String>) -> Self {
        DeliveryError {
            message: crate::config::redact::scrub(&message.into()),
            retryable: true,
            retry_after: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            message: crate::config::redact::scrub(&message.into()),
            retryable: false,
            retry_after: None,
        }
    }
}

/// A configured notifier.
#[derive(Debug)]
pub struct Notifier {
    pub name: String,
    pub allow_private: AllowPrivate,
    pub kind: NotifierKind,
}

#[derive(Debug)]
pub enum NotifierKind {
    Email(email::Email),
    Chat(chat::Chat),
    Telegram(chat::telegram::Telegram),
    Ntfy(chat::ntfy::Ntfy),
    Webhook(webhook::Webhook),
}

impl Notifier {
    /// Reads one `[notifier.NAME]` table; secrets are read now so `veille check` reports
    /// a missing secret file.
    pub fn from_toml(
        file: &mut SourceFile<'_>,
        name: &str,
        value: Spanned<DeValue<'_>>,
        base_dir: &Path,
    ) -> Option<Notifier> {
        let span = value.span();
        let DeValue::Table(t) = value.into_inner() else {
            file.error(span, format!("expected a table `[notifier.{name}]`"));
            return None;
        };
        let Some(kind) = t
            .get("kind")
            .and_then(|k| k.get_ref().as_str().map(|s| (s.to_string(), k.span())))
        else {
            file.error(
                span,
                format!(
                    "missing `kind` in [notifier.{name}]: expected one of {}",
                    KINDS.join(", ")
                ),
            );
            return None;
        };
        let t = Spanned::new(span.clone(), t);
        let (common, kind) = match kind.0.as_str() {
            "email" => {
                let (c, k) = file.de_split::<NotifierCommon, email::EmailConfig>(
                    t,
                    COMMON_KEYS,
                    "notifier",
                )?;
                (c, NotifierKind::Email(k.build(file, base_dir)?))
            }
            k if chat::Flavor::from_kind(k).is_some() => {
                let flavor = chat::Flavor::from_kind(k).expect("checked");
                let (c, k) =
                    file.de_split::<NotifierCommon, chat::ChatConfig>(t, COMMON_KEYS, "notifier")?;
                (
                    c,
                    NotifierKind::Chat(k.build(file, span, base_dir, flavor)?),
                )
            }
            "telegram" => {
                let (c, k) = file.de_split::<NotifierCommon, chat::telegram::TelegramConfig>(
                    t,
                    COMMON_KEYS,
                    "notifier",
                )?;
                (c, NotifierKind::Telegram(k.build(file, span, base_dir)?))
            }
            "ntfy" => {
                let (c, k) = file.de_split::<NotifierCommon, chat::ntfy::NtfyConfig>(
                    t,
                    COMMON_KEYS,
                    "notifier",
                )?;
                (c, NotifierKind::Ntfy(k.build(file, span, base_dir)?))
            }
            "webhook" => {
                let (c, k) = file.de_split::<NotifierCommon, webhook::WebhookConfig>(
                    t,
                    COMMON_KEYS,
                    "notifier",
                )?;
                (c, NotifierKind::Webhook(k.build(file, span, base_dir)?))
            }
            other => {
                file.error(
                    kind.1,
                    format!(
                        "unknown notifier kind `{other}`: expected one of {}",
                        KINDS.join(", ")
                    ),
                );
                return None;
            }
        };
        Some(Notifier {
            name: name.to_string(),
            allow_private: common.allow_private,
            kind,
        })
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NotifierKind::Email(_) => "email",
            NotifierKind::Chat(c) => c.flavor.name(),
            NotifierKind::Telegram(_) => "telegram",
            NotifierKind::Ntfy(_) => "ntfy",
            NotifierKind::Webhook(_) => "webhook",
        }
    }

    /// Least time between two messages to this channel (the platform's rate limit).
    pub fn min_interval(&self) -> StdDuration {
        match &self.kind {
            NotifierKind::Email(_) | NotifierKind::Webhook(_) => StdDuration::ZERO,
            NotifierKind::Chat(c) => c.min_interval(),
            NotifierKind::Telegram(t) => t.min_interval(),
            NotifierKind::Ntfy(n) => n.min_interval(),
        }
    }

    /// Delivers one digest; `installation` as for [`Notifier::deliver`].
    pub async fn deliver_digest(
        &self,
        d: &crate::digest::data::DigestData,
        http: &Http,
        installation: &str,
    ) -> Result<(), DeliveryError> {
        let p = self.allow_private;
        match &self.kind {
            NotifierKind::Email(e) => {
                let origin = email::Origin {
                    installation,
                    notifier: &self.name,
                };
                e.send_digest(d, origin).await
            }
            NotifierKind::Chat(c) => c.send_digest(d, http, p).await,
            NotifierKind::Telegram(t) => t.send_digest(d, http, p).await,
            NotifierKind::Ntfy(n) => n.send_digest(d, http, p).await,
            NotifierKind::Webhook(w) => {
                let key =
                    crate::alerts::delivery_key(installation, &self.name, &webhook::digest_key(d));
                w.send_digest(d, key, http, p).await
            }
        }
    }

    /// Delivers one alert. `installation` (the state's installation id) makes the
    /// delivery's key — `Idempotency-Key`, Message-ID — unique beyond this data directory.
    pub async fn deliver(
        &self,
        alert: &Alert,
        http: &Http,
        installation: &str,
    ) -> Result<(), DeliveryError> {
        match &self.kind {
            NotifierKind::Email(e) => {
                let origin = email::Origin {
                    installation,
                    notifier: &self.name,
                };
                e.send(alert, origin).await
            }
            NotifierKind::Chat(c) => c.send(alert, http, self.allow_private).await,
            NotifierKind::Telegram(t) => t.send(alert, http, self.allow_private).await,
            NotifierKind::Ntfy(n) => n.send(alert, http, self.allow_private).await,
            NotifierKind::Webhook(w) => {
                let key = crate::alerts::delivery_key(installation, &self.name, &alert.key);
                w.send(alert, key, http, self.allow_private).await
            }
        }
    }
}

/// POSTs a JSON body and classifies the answer: see [`post_body`].
pub(crate) async fn post_json(
    http: &Http,
    allow_private: AllowPrivate,
    url: &url::Url,
    body: &serde_json::Value,
    headers: &[(&str, String)],
) -> Result<(), DeliveryError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| DeliveryError::permanent(format!("cannot encode the payload: {e}")))?;
    post_body(http, allow_private, url, bytes, "application/json", headers).await
}

/// POSTs `body` and classifies the answer: 2xx delivered; 408, 425, 429 and 5xx worth a
/// retry (honouring Retry-After, or the `retry_after` that Discord and Telegram put in
/// their JSON bodies); other 4xx permanent, and so is what no retry can fix: a header
/// value HTTP cannot carry, a request that cannot be built, a redirect loop, a private
/// address. Error messages never hold the URL, its path or query (webhook URLs and bot
/// tokens are secrets), nor any known secret, even when the receiver echoes them.
pub(crate) async fn post_body(
    http: &Http,
    allow_private: AllowPrivate,
    url: &url::Url,
    body: Vec<u8>,
    content_type: &str,
    headers: &[(&str, String)],
) -> Result<(), DeliveryError> {
    let clean = |m: &str| crate::config::redact::scrub_url(m, url);
    if let Err(e) = http.check_url(allow_private, url) {
        return Err(DeliveryError::permanent(clean(&e.to_string())));
    }
    let mut req = http
        .client(allow_private)
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    for (k, v) in headers {
        if reqwest::header::HeaderValue::from_str(v).is_err() {
            return Err(DeliveryError::permanent(format!(
                "not sent: the {k} header would hold a character HTTP headers cannot carry"
            )));
        }
        req = req.header(*k, v);
    }
    let timeout = http.limits.timeout.std();
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            // Sending again cannot build a request that could not be built, nor end a
            // redirect loop.
            let hopeless = e.is_builder() || e.is_redirect();
            let e = crate::crawl::FetchError::from_reqwest(e, timeout);
            let private = matches!(e, crate::crawl::FetchError::PrivateAddress(_));
            return Err(DeliveryError {
                message: clean(&e.to_string()),
                retryable: !(private || hopeless),
                retry_after: None,
            });
        }
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let header_wait = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::crawl::fetch::parse_retry_after(v, chrono::Utc::now()));
    let body = body_head(resp, MAX_ERROR_BODY).await;
    let body_wait = (status.as_u16() == 429)
        .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
        .flatten()
        .and_then(|v| {
            v["retry_after"]
                .as_f64()
                .or(v["parameters"]["retry_after"].as_f64())
        })
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| StdDuration::from_secs_f64(s.min(86_400.0)));
    // A short, single-line excerpt of the body helps (Slack says "invalid_payload").
    // Scrubbed whole before it is cut, so a secret cannot survive in halves.
    let detail = crate::text::truncate(&crate::text::single_line(&clean(&body)), 200);
    let code = status.as_u16();
    let retryable = matches!(code, 408 | 425 | 429) || status.is_server_error();
    Err(DeliveryError {
        message: if detail.is_empty() {
            format!("HTTP {code}")
        } else {
            format!("HTTP {code}: {detail}")
        },
        retryable,
        retry_after: match (header_wait, body_wait) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
    })
}

/// Bytes of an error body read at most: enough for a reason, never a hostile megabyte.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// The first `max` bytes of a response body, as text.
async fn body_head(mut resp: reqwest::Response, max: usize) -> String {
    let mut buf = Vec::new();
    while buf.len() < max {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            _ => break,
        }
    }
    buf.truncate(max);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Reads a secret given as `<name>_file` / `<name>_env`, reporting problems at `span`.
pub(crate) fn load_secret(
    file: &mut SourceFile<'_>,
    span: std::ops::Range<usize>,
    name: &str,
    path: Option<std::path::PathBuf>,
    env: Option<String>,
    base_dir: &Path,
) -> Option<Option<crate::config::Secret>> {
    match crate::config::SecretRef::from_keys(name, path, env, base_dir) {
        Err(e) => {
            file.error(span, e);
            None
        }
        Ok(None) => Some(None),
        Ok(Some(r)) => match r.load() {
            Ok(s) => Some(Some(s)),
            Err(e) => {
                file.error(span, e);
                None
            }
        },
    }
}
