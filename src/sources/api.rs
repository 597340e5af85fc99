//! Plumbing shared by the API sources: bounded JSON requests, rate-limit dialects brought
//! to one "remaining / reset at" model, search terms derived from brand queries, and the
//! Mention builder. Cursors and the loop over a source's queries: [`super::paging`].

use std::time::Duration as StdDuration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use url::Url;

// Every API source takes its cursors and its query loop from here too.
pub use super::paging::{
    Cursor, Cursors, MAX_PAGES, OVERLAP_SECS, Pages, SEEN_CAP, Walk, Walker, cursors, each_query,
    save, walk_queries,
};

use crate::crawl::{AllowPrivate, FetchError, Http};
use crate::matching::{Brand, Query};
use crate::mention::{self, Engagement, Mention};
use crate::text;

/// An HTTP answer, whatever its status.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    /// A 200 answer carrying `body`, for code that maps bodies without a server (the fuzz
    /// entry points of `veille::fuzzing`, with the `fuzzing` feature).
    pub fn with_body(body: &[u8]) -> Response {
        Response {
            status: 200,
            headers: HeaderMap::new(),
            body: body.to_vec(),
        }
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, FetchError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            FetchError::Invalid(format!("unexpected JSON ({e}): {}", self.excerpt_of(160)))
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A short excerpt of the body, for error messages.
    pub fn excerpt(&self) -> String {
        self.excerpt_of(200)
    }

    /// The start of the body on one line, at most `max` bytes. Only the head is read: a
    /// megabytes-long answer that fails to parse costs no more than a short one.
    fn excerpt_of(&self, max: usize) -> String {
        let head = &self.body[..self.body.len().min(max.saturating_mul(8))];
        text::truncate(&text::single_line(&String::from_utf8_lossy(head)), max)
    }
}

/// Sends a request built on `http`'s client; bounded in time and size like a feed fetch.
pub async fn send(
    http: &Http,
    allow_private: AllowPrivate,
    url: &Url,
    build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
) -> Result<Response, FetchError> {
    http.check_url(allow_private, url)
        .map_err(|e| FetchError::PrivateAddress(e.to_string()))?;
    let timeout = http.limits.timeout.std();
    let max = http.limits.max_body.0;
    let work = async {
        let mut resp = build(http.client(allow_private))
            .send()
            .await
            .map_err(|e| FetchError::from_reqwest(e, timeout))?;
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(http.limits.max_body));
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::from_reqwest(e, timeout))?
        {
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(FetchError::TooLarge(http.limits.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(timeout + StdDuration::from_secs(1), work).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout(timeout)),
    }
}

/// Rate-limit state after a response: how many calls remain, and when the window resets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimit {
    pub remaining: Option<f64>,
    pub reset_at: Option<DateTime<Utc>>,
}

/// How each API writes its rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `X-RateLimit-Remaining` + `X-RateLimit-Reset` as an ISO-8601 timestamp.
    Mastodon,
    /// `X-Ratelimit-Remaining` as a float + `X-Ratelimit-Reset` in seconds from now.
    Reddit,
    /// `RateLimit-Remaining` + `RateLimit-Reset` in Unix epoch seconds.
    Bluesky,
    /// Only `Retry-After` on 429 (Discourse, Lemmy behind a proxy…).
    RetryAfter,
}

impl RateLimit {
    pub fn parse(headers: &HeaderMap, dialect: Dialect, now: DateTime<Utc>) -> RateLimit {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
        let mut r = RateLimit::default();
        match dialect {
            Dialect::Mastodon => {
                r.remaining = h("x-ratelimit-remaining").and_then(|v| v.parse().ok());
                r.reset_at = h("x-ratelimit-reset")
                    .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
                    .map(|d| d.with_timezone(&Utc));
            }
            Dialect::Reddit => {
                r.remaining = h("x-ratelimit-remaining").and_then(|v| v.parse().ok());
                r.reset_at = h("x-ratelimit-reset")
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|s| s.is_finite())
                    .map(|s| {
                        let cap = crate::crawl::fetch::MAX_RETRY_AFTER.as_secs_f64();
                        now + chrono::Duration::milliseconds((s.clamp(0.0, cap) * 1000.0) as i64)
                    });
            }
            Dialect::Bluesky => {
                r.remaining = h("ratelimit-remaining").and_then(|v| v.parse().ok());
                r.reset_at = h("ratelimit-reset")
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(|s| Utc.timestamp_opt(s, 0).single());
            }
            Dialect::RetryAfter => {}
        }
        if let Some(wait) =
            h("retry-after").and_then(|v| crate::crawl::fetch::parse_retry_after(v, now))
        {
            r.remaining = Some(0.0);
            r.reset_at = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
        }
        r
    }

    /// How long to wait before the next call: until the reset when nothing remains (at
    /// most a day, whatever the server says).
    pub fn wait(&self, now: DateTime<Utc>) -> Option<StdDuration> {
        match (self.remaining, self.reset_at) {
            (Some(r), Some(at)) if r < 1.0 && at > now => (at - now)
                .to_std()
                .ok()
                .map(|d| d.min(crate::crawl::fetch::MAX_RETRY_AFTER)),
            (Some(r), None) if r < 1.0 => Some(StdDuration::from_secs(60)),
            _ => None,
        }
    }

    /// The error for a refused call, waiting as the API asked.
    pub fn error(&self, status: u16, now: DateTime<Utc>) -> FetchError {
        FetchError::RateLimited {
            status,
            retry_after: self.wait(now).or(Some(StdDuration::from_secs(60))),
        }
    }
}

/// A non-2xx answer as an error: rate limits become [`FetchError::RateLimited`], the rest
/// carry the status and what the API said.
pub fn status_error(resp: &Response, rate: &RateLimit, now: DateTime<Utc>) -> FetchError {
    match resp.status {
        429 | 503 => rate.error(resp.status, now),
        s => FetchError::Api(format!("HTTP {s}: {}", resp.excerpt())),
    }
}

/// `query = "..."` (sent as written) or `brands = [...]` (derived from their queries;
/// all brands when neither is given).
#[derive(Debug, Clone, Default)]
pub struct SearchTerms {
    pub raw: Option<String>,
    pub brands: Vec<String>,
    /// Filled once brands are known: what each matching mention must contain.
    pub anchors: Vec<Query>,
}

impl SearchTerms {
    pub fn new(raw: Option<String>, brands: Vec<String>) -> Self {
        SearchTerms {
            raw,
            brands,
            anchors: Vec::new(),
        }
    }

    /// Derives the anchors from the brands' queries, as written (accents kept).
    pub fn resolve(&mut self, brands: &[Brand]) {
        let mut anchors: Vec<Query> = Vec::new();
        for b in brands {
            if !self.brands.is_empty() && !self.brands.contains(&b.id) {
                continue;
            }
            let Ok(q) = Query::parse_raw(&b.raw_query) else {
                continue;
            };
            for a in q.anchors() {
                if !anchors.contains(&a) {
                    anchors.push(a);
                }
            }
        }
        self.anchors = anchors;
    }

    /// One search string per anchor (`acme`, `"acme corp"`), or the raw query alone.
    pub fn each(&self) -> Vec<String> {
        if let Some(r) = &self.raw {
            return vec![r.clone()];
        }
        self.anchors.iter().map(anchor_text).collect()
    }

    /// All anchors in one query joined with `or` (" OR " or "|"), or the raw query.
    pub fn joined(&self, or: &str) -> String {
        self.raw.clone().unwrap_or_else(|| self.each().join(or))
    }
}

fn anchor_text(q: &Query) -> String {
    match q {
        Query::Term { word, .. } => word.clone(),
        Query::Phrase { words, .. } => format!("\"{}\"", words.join(" ")),
        other => other.to_string(),
    }
}

/// What an API item gives, before it becomes a [`Mention`].
#[derive(Debug, Default)]
pub struct Item {
    /// The source's own key for the item (status URI, fullname, post id…).
    pub key: String,
    pub url: String,
    pub title: String,
    /// Already plain text.
    pub text: String,
    pub author: Option<String>,
    pub author_name: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub language: Option<String>,
    pub reach: Option<u64>,
    pub engagement: Engagement,
}

impl Item {
    /// The Mention for this item. Its id derives from `kind` and `key`, so the same item
    /// seen on two instances (Mastodon, Lemmy federation) is one mention.
    pub fn into_mention(self, source: &str, kind: &str, fetched_at: DateTime<Utc>) -> Mention {
        let canonical = mention::canonical_url(&self.url, &[]);
        let url = canonical.as_ref().map(Url::to_string).unwrap_or(self.url);
        let site = canonical.as_ref().map(mention::site_of).unwrap_or_default();
        Mention {
            id: mention::hash_id(kind, &self.key),
            url,
            site,
            publisher: None,
            source: source.to_string(),
            source_kind: kind.to_string(),
            native_id: Some(self.key),
            title: self.title,
            text: self.text,
            author: self.author.filter(|a| !a.is_empty()),
            author_name: self.author_name.filter(|a| !a.is_empty()),
            published_at: self
                .published_at
                .map(|d| d.min(fetched_at))
                .unwrap_or(fetched_at),
            fetched_at,
            language: self
                .language
                .map(|l| crate::matching::primary_language(&l))
                .filter(|l| !l.is_empty()),
            reach: self.reach,
            engagement: self.engagement,
            brands: Vec::new(),
            sentiment: None,
            story: None,
        }
    }
}

/// Parses an ISO-8601 / RFC 3339 date; a date without zone (Lemmy ≤ 0.18) is UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(n.and_utc());
        }
    }
    None
}

pub fn from_epoch(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

/// Reads a credential file named in a source's config.
pub fn secret(
    file: &mut crate::model::SourceFile<'_>,
    span: std::ops::Range<usize>,
    name: &str,
    path: Option<std::path::PathBuf>,
    env: Option<String>,
    base_dir: &std::path::Path,
) -> Option<Option<crate::model::Secret>> {
    crate::model::secret::load_secret(file, span, name, path, env, base_dir)
}

/// A `base_url` from the config, as an http(s) URL without trailing slash issues.
pub fn base_url(file: &mut crate::model::SourceFile<'_>, v: &toml::Spanned<String>) -> Option<Url> {
    let mut s = v.get_ref().trim().to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    match Url::parse(&s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        _ => {
            file.error(
                v.span(),
                "invalid base_url: expected an http(s) URL such as \"https://mastodon.social\"",
            );
            None
        }
    }
}

/// `base.join(path)` for API paths (base ends with '/').
pub fn endpoint(base: &Url, path: &str) -> Url {
    base.join(path.trim_start_matches('/'))
        .unwrap_or_else(|_| base.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn every_dialect_comes_to_remaining_and_reset() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
        let m = RateLimit::parse(
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "2026-03-10T08:20:00.000000Z"),
            ]),
            Dialect::Mastodon,
            now,
        );
        assert_eq!(m.wait(now), Some(StdDuration::from_secs(1200)));
        let r = RateLimit::parse(
            &headers(&[
                ("x-ratelimit-remaining", "88.0"),
                ("x-ratelimit-reset", "412"),
            ]),
            Dialect::Reddit,
            now,
        );
        assert_eq!(r.remaining, Some(88.0));
        assert_eq!(r.wait(now), None);
        let r = RateLimit::parse(
            &headers(&[
                ("x-ratelimit-remaining", "0.0"),
                ("x-ratelimit-reset", "412"),
            ]),
            Dialect::Reddit,
            now,
        );
        assert_eq!(r.wait(now), Some(StdDuration::from_secs(412)));
        let b = RateLimit::parse(
            &headers(&[
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", &(now.timestamp() + 300).to_string()),
            ]),
            Dialect::Bluesky,
            now,
        );
        assert_eq!(b.wait(now), Some(StdDuration::from_secs(300)));
        let d = RateLimit::parse(&headers(&[("retry-after", "42")]), Dialect::RetryAfter, now);
        assert_eq!(d.wait(now), Some(StdDuration::from_secs(42)));
    }

    #[test]
    fn dates_with_and_without_zone() {
        assert_eq!(
            parse_date("2026-03-10T08:01:27.000Z").unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 10, 8, 1, 27).unwrap()
        );
        assert_eq!(
            parse_date("2026-03-10T08:01:27.123456")
                .unwrap()
                .timestamp(),
            Utc.with_ymd_and_hms(2026, 3, 10, 8, 1, 27)
                .unwrap()
                .timestamp()
        );
        assert_eq!(
            parse_date("2026-03-10T09:01:27+01:00").unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 10, 8, 1, 27).unwrap()
        );
    }
}
