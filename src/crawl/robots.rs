//! robots.txt (RFC 9309) for sources that scrape HTML pages. Feeds and documented APIs
//! are meant to be fetched by programs and are exempt.
//!
//! The group for the product token "veille" is used if present, else the `*` group.
//! The longest matching rule wins (Allow on a tie); `*` and a final `$` are supported.
//! A 4xx robots.txt allows everything; a 5xx or an unreachable one disallows everything
//! for now (RFC 9309 §2.3.1.4). Files are cached for a day; `Crawl-delay` is reported so
//! the scheduler can space requests to the host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use url::Url;

use super::{FetchError, Fetched, Http, Validators};

const PRODUCT: &str = "veille";
/// RFC 9309: parse at least 500 KiB.
const MAX_LEN: usize = 512 * 1024;
const TTL: Duration = Duration::from_secs(24 * 3600);
const TTL_ERROR: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots {
    /// (allow, pattern)
    rules: Vec<(bool, String)>,
    pub crawl_delay: Option<Duration>,
    /// Everything disallowed (robots.txt unreachable).
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

/// robots.txt files by origin, fetched on first use and kept for a day.
#[derive(Default)]
pub struct RobotsCache {
    entries: Mutex<HashMap<String, (Instant, Arc<Robots>)>>,
}

impl RobotsCache {
    /// The rules for `url`'s origin (fetched if not cached or stale).
    pub async fn get(
        &self,
        http: &Http,
        allow_private: super::AllowPrivate,
        url: &Url,
    ) -> Arc<Robots> {
        let origin = url.origin().ascii_serialization();
        if let Some((at, r)) = self.entries.lock().unwrap().get(&origin)
            && at.elapsed() < if r.deny_all { TTL_ERROR } else { TTL }
        {
            return r.clone();
        }
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
                    Ok(Fetched::Body { bytes, .. }) => {
                        Robots::parse(&String::from_utf8_lossy(&bytes))
                    }
                    Ok(Fetched::NotModified) => Robots::allow_all(),
                    Err(FetchError::Status(code)) if (400..500).contains(&code) => {
                        Robots::allow_all()
                    }
                    Err(FetchError::PrivateAddress(_)) => Robots::allow_all(), // the page fetch reports it
                    Err(e) => {
                        tracing::warn!(origin = %origin, error = %e, "robots.txt unreachable: not scraping this site for now");
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
            .insert(origin, (Instant::now(), robots.clone()));
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
        if r.allowed(url) {
            Ok(r)
        } else if r.deny_all {
            Err(FetchError::Disallowed(format!(
                "robots.txt of {} is unreachable: not fetching {url} for now",
                url.origin().ascii_serialization()
            )))
        } else {
            Err(FetchError::Disallowed(format!(
                "robots.txt disallows {url} for veille"
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
}
