//! robots.txt (RFC 9309) for sources that scrape HTML pages. Feeds and documented APIs
//! are meant to be fetched by programs and are exempt.
//!
//! The group for the product token "veille" is used if present, else the `*` group.
//! The longest matching rule wins (Allow on a tie); `*` and a final `$` are supported.
//! A 4xx robots.txt allows everything; a 5xx or an unreachable one disallows everything
//! for now (RFC 9309 §2.3.1.4). Files are cached for as long as their HTTP cache headers
//! say, at most a day (RFC 9309 §2.4); `Crawl-delay` is reported so the scheduler can
//! space requests to the host. A source can save the rules with their expiry in its state
//! and hand them back after a restart ([`RobotsCache::cached`], [`RobotsCache::remember`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{CACHE_CONTROL, EXPIRES, HeaderMap};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{FetchError, Fetched, Http, Validators};

const PRODUCT: &str = "veille";
/// RFC 9309: parse at least 500 KiB.
const MAX_LEN: usize = 512 * 1024;
const TTL: Duration = Duration::from_secs(24 * 3600);
const TTL_ERROR: Duration = Duration::from_secs(3600);
/// A shorter `max-age` is raised to this: a robots.txt is not fetched before every page.
const TTL_MIN: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Robots {
    /// (allow, pattern)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rules: Vec<(bool, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawl_delay: Option<Duration>,
    /// Everything disallowed (robots.txt unreachable).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deny_all: bool,
}

impl Robots {
    pub fn allow_all() -> Robots {
        Robots::default()
    }

    pub fn deny_all() -> Robots {
        Robots {
            deny_all: true,
            ..Default::default()
        }
    }

    /// Parses a robots.txt for the "veille" product token.
    pub fn parse(txt: &str) -> Robots {
        let txt = &txt[..floor(txt, MAX_LEN)];
        // Groups: consecutive user-agent lines, then rules until the next user-agent line.
        let mut groups: Vec<(Vec<String>, Robots)> = Vec::new();
        let mut in_agents = false;
        for raw in txt.lines() {
            let line = raw.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !in_agents || groups.is_empty() {
                        groups.push((Vec::new(), Robots::default()));
                    }
                    in_agents = true;
                    groups
                        .last_mut()
                        .unwrap()
                        .0
                        .push(value.to_ascii_lowercase());
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if let Some((_, g)) = groups.last_mut()
                        && !value.is_empty()
                    {
                        g.rules.push((key == "allow", value.to_string()));
                    }
                }
                "crawl-delay" => {
                    in_agents = false;
                    if let Some((_, g)) = groups.last_mut()
                        && let Ok(secs) = value.parse::<f64>()
                        && secs.is_finite()
                        && secs >= 0.0
                    {
                        g.crawl_delay = Some(Duration::from_secs_f64(secs.min(3600.0)));
                    }
                }
                _ => {}
            }
        }
        let mut mine = Robots::default();
        let mut star = Robots::default();
        let mut found = false;
        for (agents, g) in groups {
            if agents.iter().any(|a| a == PRODUCT) {
                found = true;
                mine.rules.extend(g.rules);
                mine.crawl_delay = mine.crawl_delay.or(g.crawl_delay);
            } else if agents.iter().any(|a| a == "*") {
                star.rules.extend(g.rules);
                star.crawl_delay = star.crawl_delay.or(g.crawl_delay);
            }
        }
        if found { mine } else { star }
    }

    /// Number of rules, to bound what is saved in a source's state.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// May `url` be fetched?
    pub fn allowed(&self, url: &Url) -> bool {
        if self.deny_all {
            return false;
        }
        let mut target = url.path().to_string();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        if target == "/robots.txt" {
            return true;
        }
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if matches(pattern, &target) {
                let len = pattern.len();
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

fn floor(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Pattern match with `*` (any sequence) and a trailing `$` (end of URL).
fn matches(pattern: &str, target: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !target.starts_with(part) {
                return false;
            }
            pos = part.len();
            continue;
        }
        if i == parts.len() - 1 && anchored {
            return target.len() >= pos + part.len() && target[pos..].ends_with(part);
        }
        match target[pos..].find(part) {
            Some(at) => pos += at + part.len(),
            None => return false,
        }
    }
    !anchored || pos == target.len()
}

/// How long a robots.txt may be kept: its `Cache-Control: max-age` or `Expires`, between
/// ten minutes and a day; a day when it says nothing.
fn ttl(headers: &HeaderMap) -> Duration {
    let h = |n| headers.get(n).and_then(|v| v.to_str().ok());
    let max_age = h(CACHE_CONTROL).and_then(|cc| {
        cc.split(',').find_map(|d| {
            let (k, v) = d.trim().split_once('=')?;
            (k.trim().eq_ignore_ascii_case("max-age"))
                .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
    });
    let expires = || {
        let at = chrono::DateTime::parse_from_rfc2822(h(EXPIRES)?).ok()?;
        Some(
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .num_seconds()
                .max(0) as u64,
        )
    };
    max_age
        .or_else(expires)
        .map(|s| Duration::from_secs(s).clamp(TTL_MIN, TTL))
        .unwrap_or(TTL)
}

/// robots.txt files by origin, fetched on first use and kept until they expire.
#[derive(Default)]
pub struct RobotsCache {
    /// origin → (expiry, rules)
    entries: Mutex<HashMap<String, (Instant, Arc<Robots>)>>,
}

impl RobotsCache {
    /// The rules cached for `origin` and how long they stay valid.
    pub fn cached(&self, origin: &str) -> Option<(Arc<Robots>, Duration)> {
        let entries = self.entries.lock().unwrap();
        let (expires, r) = entries.get(origin)?;
        let left = expires.checked_duration_since(Instant::now())?;
        Some((r.clone(), left))
    }

    /// Caches rules read earlier (from a source's saved state) for `ttl`, unless fresher
    /// ones are already cached.
    pub fn remember(&self, origin: &str, robots: Robots, ttl: Duration) {
        let mut entries = self.entries.lock().unwrap();
        let now = Instant::now();
        if entries.get(origin).is_some_and(|(e, _)| *e > now) {
            return;
        }
        entries.insert(origin.to_string(), (now + ttl.min(TTL), Arc::new(robots)));
    }

    /// The rules for `url`'s origin (fetched if not cached or stale).
    pub async fn get(
        &self,
        http: &Http,
        allow_private: super::AllowPrivate,
        url: &Url,
    ) -> Arc<Robots> {
        let origin = url.origin().ascii_serialization();
        if let Some((r, _)) = self.cached(&origin) {
            return r;
        }
        let mut keep = TTL;
        let robots = match url.join("/robots.txt") {
            Ok(robots_url) => {
                match super::fetch::get(
                    http,
                    allow_private,
                    &robots_url,
                    &Validators::default(),
                    "text/plain",
                )
                .await
                {
                    Ok(Fetched::Body { bytes, headers, .. }) => {
                        keep = ttl(&headers);
                        Robots::parse(&String::from_utf8_lossy(&bytes))
                    }
                    Ok(Fetched::NotModified) => Robots::allow_all(),
                    Err(FetchError::Status(code)) if (400..500).contains(&code) => {
                        Robots::allow_all()
                    }
                    Err(FetchError::PrivateAddress(_)) => Robots::allow_all(), // the page fetch reports it
                    Err(e) => {
                        tracing::warn!(origin = %origin, error = %e, "robots.txt unreachable: not scraping this site for now");
                        keep = TTL_ERROR;
                        Robots::deny_all()
                    }
                }
            }
            Err(_) => Robots::allow_all(),
        };
        let robots = Arc::new(robots);
        self.entries
            .lock()
            .unwrap()
            .insert(origin, (Instant::now() + keep, robots.clone()));
        robots
    }

    /// Fails with a clear error when robots.txt forbids `url`.
    pub async fn check(
        &self,
        http: &Http,
        allow_private: super::AllowPrivate,
        url: &Url,
    ) -> Result<Arc<Robots>, FetchError> {
        let r = self.get(http, allow_private, url).await;
        let shown = super::fetch::redact_url(url);
        if r.allowed(url) {
            Ok(r)
        } else if r.deny_all {
            Err(FetchError::Disallowed(format!(
                "robots.txt of {} is unreachable: not fetching {shown} for now",
                url.origin().ascii_serialization()
            )))
        } else {
            Err(FetchError::Disallowed(format!(
                "robots.txt disallows {shown} for veille"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(r: &Robots, path: &str) -> bool {
        r.allowed(&Url::parse(&format!("https://f.example{path}")).unwrap())
    }

    #[test]
    fn groups_longest_match_and_wildcards() {
        let r = Robots::parse(
            "User-agent: *\nDisallow: /\n\nUser-agent: Veille\nUser-agent: other\nDisallow: /private/\nAllow: /private/public\nDisallow: /*.php$\nDisallow: /search?q=*&sid=\nCrawl-delay: 2.5\n",
        );
        assert!(ok(&r, "/forum/index.html"));
        assert!(!ok(&r, "/private/x"));
        assert!(ok(&r, "/private/public/y"));
        assert!(!ok(&r, "/viewtopic.php"));
        assert!(ok(&r, "/viewtopic.php?t=1"), "$ anchors at the end");
        assert!(!ok(&r, "/search?q=acme&sid=1"));
        assert!(ok(&r, "/robots.txt"));
        assert_eq!(r.crawl_delay, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn star_group_when_not_named_and_allow_wins_ties() {
        let r = Robots::parse(
            "User-agent: googlebot\nDisallow: /\n\nUser-agent: *\nDisallow: /a\nAllow: /a\n",
        );
        assert!(ok(&r, "/a"));
        assert!(ok(&r, "/b"));
        let r = Robots::parse("# nothing for us\nUser-agent: googlebot\nDisallow: /\n");
        assert!(ok(&r, "/anything"));
        assert!(!ok(&Robots::deny_all(), "/x"));
    }

    #[test]
    fn kept_as_long_as_cache_headers_say_at_most_a_day() {
        let mut h = HeaderMap::new();
        assert_eq!(ttl(&h), TTL);
        h.insert(CACHE_CONTROL, "public, max-age=7200".parse().unwrap());
        assert_eq!(ttl(&h), Duration::from_secs(7200));
        h.insert(CACHE_CONTROL, "max-age=5".parse().unwrap());
        assert_eq!(ttl(&h), TTL_MIN);
        h.insert(CACHE_CONTROL, "max-age=99999999999".parse().unwrap());
        assert_eq!(ttl(&h), TTL);
        let mut h = HeaderMap::new();
        let at = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc2822();
        h.insert(EXPIRES, at.parse().unwrap());
        let t = ttl(&h).as_secs();
        assert!((3 * 3600 - 5..=3 * 3600).contains(&t), "{t}");
    }

    #[test]
    fn remembered_rules_are_used_until_they_expire() {
        let cache = RobotsCache::default();
        let r = Robots::parse("User-agent: *\nDisallow: /private\n");
        cache.remember("https://f.example", r.clone(), Duration::from_secs(60));
        let (got, left) = cache.cached("https://f.example").unwrap();
        assert_eq!(*got, r);
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Robots>(&json).unwrap(), r);
        cache.remember("https://g.example", r, Duration::ZERO);
        assert!(cache.cached("https://g.example").is_none());
    }
}
