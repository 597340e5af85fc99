//! Notifiers: where alerts go. `[notifier.NAME]` in the config, one file per format:
//! [`email`] (where an email is built: [`email::build_message`]), [`chat`] (Slack,
//! Mattermost, Teams, Discord, Google Chat, Telegram, ntfy), [`webhook`] (generic JSON,
//! signed). [`view`] puts an alert into words once, in the notifier's language.
//!
//! A delivery returns whether a retry makes sense; the outbox decides about retries.

pub mod chart;
pub mod chat;
pub mod email;
mod kinds;
pub mod view;
pub mod webhook;

use std::time::Duration as StdDuration;

use crate::crawl::{AllowPrivate, Http};
use crate::model::Alert;
pub(crate) use crate::model::secret::load_secret;

pub use kinds::{COMMON_KEYS, KINDS, Kind};

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
    /// Every message is scrubbed of known secrets (see [`crate::model::redact`]): it is
    /// stored, logged and shown by `veille alerts` and the API.
    pub fn retryable(message: impl Into<String>) -> Self {
        DeliveryError {
            message: crate::model::redact::scrub(&message.into()),
            retryable: true,
            retry_after: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            message: crate::model::redact::scrub(&message.into()),
            retryable: false,
            retry_after: None,
        }
    }
}

/// A configured notifier.
#[derive(Debug)]
pub struct Notifier {
    pub name: String,
    kind_name: &'static str,
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
    /// The language of its messages; None for a webhook, which sends data.
    pub fn locale(&self) -> Option<view::Locale> {
        match &self.kind {
            NotifierKind::Email(e) => Some(e.parts().2.locale),
            NotifierKind::Chat(c) => Some(c.locale()),
            NotifierKind::Telegram(t) => Some(t.locale()),
            NotifierKind::Ntfy(n) => Some(n.locale()),
            NotifierKind::Webhook(_) => None,
        }
    }

    /// Its `kind = "..."`, as registered in [`KINDS`].
    pub fn kind_name(&self) -> &'static str {
        self.kind_name
    }

    /// Times in this notifier's messages are read in `tz` (`[daemon] timezone`, set
    /// once the whole config is read: `[notifier]` may come before `[daemon]`).
    pub fn set_timezone(&mut self, tz: chrono_tz::Tz) {
        match &mut self.kind {
            NotifierKind::Email(e) => e.style.tz = tz,
            NotifierKind::Chat(c) => c.tz = tz,
            NotifierKind::Telegram(t) => t.tz = tz,
            NotifierKind::Ntfy(n) => n.tz = tz,
            // The generic webhook carries JSON: RFC 3339 UTC, like the API.
            NotifierKind::Webhook(_) => {}
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
        d: &crate::model::digest::DigestData,
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
                let key = crate::model::alert::delivery_key(
                    installation,
                    &self.name,
                    &webhook::digest_key(d),
                );
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
                let key = crate::model::alert::delivery_key(installation, &self.name, &alert.key);
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
    let clean = |m: &str| crate::model::redact::scrub_url(m, url);
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
        .and_then(|v| crate::crawl::fetch::parse_retry_after(v, http.now()));
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
