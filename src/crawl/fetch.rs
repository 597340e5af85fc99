//! One bounded HTTP GET: conditional headers, rate-limit replies, body size cut-off.

use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    RETRY_AFTER,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{AllowPrivate, Http, guard};
use crate::config::ByteSize;

/// Validators from the last 200, sent back on the next poll (conditional GET).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// What a GET brought back.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per fetch, moved once: boxing buys nothing
pub enum Fetched {
    /// 304: nothing new since the validators we sent.
    NotModified,
    Body {
        bytes: Vec<u8>,
        content_type: Option<String>,
        validators: Validators,
        /// Final URL after redirects (relative links resolve against it).
        url: Url,
        headers: HeaderMap,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(StdDuration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{0}")]
    PrivateAddress(String),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("rate limited (HTTP {status}){}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        status: u16,
        retry_after: Option<StdDuration>,
    },
    #[error("response body larger than {0}: cut off")]
    TooLarge(ByteSize),
    #[error("invalid response: {0}")]
    Invalid(String),
    /// The API refused the call and said why ("HTTP 401: invalid token").
    #[error("{0}")]
    Api(String),
    /// robots.txt forbids the page (or cannot be read for now).
    #[error("{0}")]
    Disallowed(String),
    #[error("{0}")]
    Other(String),
    /// A failure while fetching one page of a source that fetches several: the URL
    /// (without credentials, see [`redact_url`]) says which.
    #[error("{url}: {error}")]
    At { url: String, error: Box<FetchError> },
}

impl FetchError {
    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<StdDuration> {
        match self {
            FetchError::RateLimited { retry_after, .. } => *retry_after,
            FetchError::At { error, .. } => error.retry_after(),
            _ => None,
        }
    }

    /// This error, saying which URL was being fetched.
    pub fn at(self, url: &Url) -> FetchError {
        match self {
            e @ FetchError::At { .. } => e,
            e => FetchError::At {
                url: redact_url(url),
                error: Box::new(e),
            },
        }
    }

    /// The error without the URL it happened at.
    pub fn inner(&self) -> &FetchError {
        match self {
            FetchError::At { error, .. } => error.inner(),
            e => e,
        }
    }

    /// Short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Timeout(_) => "timeout",
            FetchError::Connect(_) => "connect",
            FetchError::PrivateAddress(_) => "private_address",
            FetchError::Status(_) => "status",
            FetchError::RateLimited { .. } => "rate_limited",
            FetchError::TooLarge(_) => "too_large",
            FetchError::Invalid(_) => "invalid",
            FetchError::Api(_) => "api",
            FetchError::Disallowed(_) => "robots",
            FetchError::Other(_) => "other",
            FetchError::At { error, .. } => error.kind(),
        }
    }

    pub(crate) fn from_reqwest(e: reqwest::Error, timeout: StdDuration) -> FetchError {
        // reqwest puts the whole URL in its messages; an API key can be in its query.
        let e = e.without_url();
        // The guard's error travels inside reqwest's source chain.
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = src {
            if let Some(p) = s.downcast_ref::<guard::PrivateAddress>() {
                return FetchError::PrivateAddress(p.to_string());
            }
            src = s.source();
        }
        if e.is_timeout() {
            return FetchError::Timeout(timeout);
        }
        let msg = error_chain(&e);
        if msg.contains("refusing to connect to") {
            return FetchError::PrivateAddress(msg);
        }
        if e.is_connect() {
            return FetchError::Connect(msg);
        }
        FetchError::Other(msg)
    }
}

/// A URL fit for logs and error messages: no user or password, no fragment, and no query
/// parameter that looks like a credential or a session (`token`, `key`, `sid`, …).
pub fn redact_url(url: &Url) -> String {
    const EXACT: &[&str] = &["s", "sid", "key", "code", "sig", "pass", "pwd", "hash"];
    const PARTS: &[&str] = &[
        "token",
        "secret",
        "passw",
        "apikey",
        "api_key",
        "auth",
        "sess",
        "signature",
        "credential",
    ];
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_fragment(None);
    if let Some(q) = url.query() {
        let kept: Vec<&str> = q
            .split('&')
            .filter(|seg| {
                let key = seg
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                !EXACT.contains(&key.as_str()) && !PARTS.iter().any(|p| key.contains(p))
            })
            .collect();
        u.set_query((!kept.is_empty()).then(|| kept.join("&")).as_deref());
    }
    u.to_string()
}

/// "a: b: c" from an error and its sources, without repeating identical messages.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    // Some crates (lettre) repeat their own prefix in Display: "Connection error:
    // Connection error: …". Say each step of that message once.
    let top = e.to_string();
    let mut steps: Vec<&str> = Vec::new();
    for step in top.split(": ") {
        if steps.last() != Some(&step) {
            steps.push(step);
        }
    }
    let mut parts: Vec<String> = vec![steps.join(": ")];
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !parts.iter().any(|p| p.contains(&m)) {
            parts.push(m);
        }
        src = s.source();
    }
    parts.join(": ")
}

/// The longest wait a server can impose through `Retry-After` or a rate-limit reset: a
/// day (API quotas reset daily). Beyond it a value is hostile or broken, and would
/// overflow date arithmetic.
pub const MAX_RETRY_AFTER: StdDuration = StdDuration::from_secs(24 * 3600);

/// Parses `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), at most
/// [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<StdDuration> {
    parse_retry_after_raw(value, now).map(|d| d.min(MAX_RETRY_AFTER))
}

fn parse_retry_after_raw(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<StdDuration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(StdDuration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(StdDuration::ZERO))
}

/// GET `url` with the validators of the last poll; reads at most `max_body` bytes.
pub async fn get(
    http: &Http,
    allow_private: AllowPrivate,
    url: &Url,
    validators: &Validators,
    accept: &str,
) -> Result<Fetched, FetchError> {
    let limits = &http.limits;
    http.check_url(allow_private, url)
        .map_err(|e| FetchError::PrivateAddress(e.to_string()))?;
    let timeout = limits.timeout.std();
    let mut req = http
        .client(allow_private)
        .get(url.clone())
        .header(ACCEPT, accept);
    if let Some(etag) = &validators.etag {
        req = req.header(IF_NONE_MATCH, etag);
    }
    if let Some(lm) = &validators.last_modified {
        req = req.header(IF_MODIFIED_SINCE, lm);
    }
    // reqwest's timeout covers the body too; the outer one is a safety net.
    let work = async {
        let mut resp = req
            .send()
            .await
            .map_err(|e| FetchError::from_reqwest(e, timeout))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            return Err(FetchError::RateLimited {
                status: status.as_u16(),
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let max = limits.max_body.0;
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(limits.max_body));
        }
        let headers = resp.headers().clone();
        let final_url = resp.url().clone();
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::from_reqwest(e, timeout))?
        {
            if bytes.len() as u64 + chunk.len() as u64 > max {
                return Err(FetchError::TooLarge(limits.max_body));
            }
            bytes.extend_from_slice(&chunk);
        }
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Fetched::Body {
            bytes,
            content_type: header(CONTENT_TYPE),
            validators: Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            },
            url: final_url,
            headers,
        })
    };
    match tokio::time::timeout(timeout + StdDuration::from_secs(1), work).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout(timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn error_chain_says_each_step_once() {
        let e = Layer(
            "Connection error: Connection error: bad certificate",
            Some(Box::new(Layer("bad certificate", None))),
        );
        assert_eq!(error_chain(&e), "Connection error: bad certificate");
        let e = Layer("request failed", Some(Box::new(Layer("timed out", None))));
        assert_eq!(error_chain(&e), "request failed: timed out");
    }

    #[test]
    fn errors_name_the_url_without_credentials() {
        let url = Url::parse("https://bob:hunter2@forum.example/viewtopic.php?t=10&sid=4f0c&start=15&access_token=abc&apiKey=k#p3").unwrap();
        assert_eq!(
            redact_url(&url),
            "https://forum.example/viewtopic.php?t=10&start=15"
        );
        let e = FetchError::Status(404).at(&url).at(&url);
        assert_eq!(
            e.to_string(),
            "https://forum.example/viewtopic.php?t=10&start=15: HTTP 404"
        );
        assert_eq!(
            (e.kind(), e.inner().to_string()),
            ("status", "HTTP 404".to_string())
        );
        let limited = FetchError::RateLimited {
            status: 429,
            retry_after: Some(StdDuration::from_secs(30)),
        }
        .at(&url);
        assert_eq!(limited.retry_after(), Some(StdDuration::from_secs(30)));
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(StdDuration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Tue, 10 Mar 2026 08:05:00 GMT", now),
            Some(StdDuration::from_secs(300))
        );
        assert_eq!(
            parse_retry_after("Tue, 10 Mar 2026 07:00:00 GMT", now),
            Some(StdDuration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        // Hostile values are cut to a day.
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
    }
}
