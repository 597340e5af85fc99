//! What a forum source saves between polls, in its state's cursor: the topics' last-post
//! markers and the posts seen (as every API source), the validators of the pages fetched
//! lately (conditional GET) and robots.txt with its expiry (read again after a restart
//! only once expired). Everything is bounded.

use std::collections::VecDeque;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::crawl::robots::Robots;
use crate::crawl::{Http, Validators};
use crate::sources::SourceState;
use crate::sources::api::Cursors;

/// Page validators kept in the state (the most recent pages).
const MAX_VALIDATORS: usize = 300;
/// Topics remembered (the ones listed longest ago are forgotten first).
const MAX_TOPICS_KEPT: usize = 1000;
/// robots.txt files saved, and rules per file (a larger file is fetched at each start).
const MAX_SAVED_ROBOTS: usize = 4;
const MAX_SAVED_RULES: usize = 500;

/// What a forum source keeps between polls, in its state's cursor.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Saved {
    /// "posts" (ids seen), "topic:<url>" (last post marker; `watermark` = when last
    /// listed), "thread:<url>" (`resume` = the page to read from).
    #[serde(flatten)]
    pub cursors: Cursors,
    #[serde(default, rename = "~pages", skip_serializing_if = "VecDeque::is_empty")]
    pub pages: VecDeque<(String, Validators)>,
    #[serde(default, rename = "~robots", skip_serializing_if = "Vec::is_empty")]
    pub robots: Vec<SavedRobots>,
    /// Topics were left unread (a cap, a failure, a rate limit): the next poll reads the
    /// topic lists in full, even if they did not change.
    #[serde(
        default,
        rename = "~backlog",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub backlog: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SavedRobots {
    origin: String,
    rules: Robots,
    /// Unix seconds.
    expires: i64,
}

pub(super) fn load(state: &SourceState) -> Saved {
    state
        .cursor
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

impl Saved {
    /// The validators of `url`'s last answer.
    pub fn validators(&self, url: &str) -> Option<Validators> {
        self.pages
            .iter()
            .find(|(u, _)| u == url)
            .map(|(_, v)| v.clone())
    }

    /// Records the validators of a page's answer (the most recent pages are kept).
    pub fn set_validators(&mut self, url: &str, v: Validators) {
        self.pages.retain(|(u, _)| u != url);
        if v.etag.is_some() || v.last_modified.is_some() {
            self.pages.push_back((url.to_string(), v));
            while self.pages.len() > MAX_VALIDATORS {
                self.pages.pop_front();
            }
        }
    }

    /// Hands saved robots.txt rules that have not expired to the shared cache.
    pub fn restore_robots(&self, http: &Http, now: DateTime<Utc>) {
        for r in &self.robots {
            let left = r.expires - now.timestamp();
            if left > 0 {
                http.robots.remember(
                    &r.origin,
                    r.rules.clone(),
                    StdDuration::from_secs(left as u64),
                );
            }
        }
    }

    /// Saves the rules cached for the origins this source fetches from.
    pub fn save_robots<'u>(
        &mut self,
        http: &Http,
        origins: impl Iterator<Item = &'u Url>,
        now: DateTime<Utc>,
    ) {
        let mut seen: Vec<String> = Vec::new();
        for u in origins {
            let o = u.origin().ascii_serialization();
            if !seen.contains(&o) {
                seen.push(o);
            }
        }
        self.robots = seen
            .into_iter()
            .take(MAX_SAVED_ROBOTS)
            .filter_map(|origin| {
                let (rules, left) = http.robots.cached(&origin)?;
                (rules.len() <= MAX_SAVED_RULES).then(|| SavedRobots {
                    origin,
                    rules: (*rules).clone(),
                    expires: now.timestamp() + left.as_secs() as i64,
                })
            })
            .collect();
    }
}

/// Keeps the `MAX_TOPICS_KEPT` topics listed most recently.
pub(super) fn forget_old_topics(cursors: &mut Cursors) {
    let mut topics: Vec<(i64, String)> = cursors
        .iter()
        .filter(|(k, _)| k.starts_with("topic:"))
        .map(|(k, c)| (c.watermark.unwrap_or(0), k.clone()))
        .collect();
    if topics.len() <= MAX_TOPICS_KEPT {
        return;
    }
    topics.sort();
    for (_, k) in &topics[..topics.len() - MAX_TOPICS_KEPT] {
        cursors.remove(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::api::Cursor;

    #[test]
    fn saved_state_reads_the_cursors_of_earlier_versions_and_round_trips() {
        // What versions before the page validators saved: cursors only.
        let old = serde_json::json!({"posts": {"seen": ["h:1"]}, "topic:https://f.example/t/1": {"position": "2026-03-10"}});
        let s: Saved = serde_json::from_value(old).unwrap();
        assert_eq!(s.cursors["posts"].seen, ["h:1"]);
        assert_eq!(
            s.cursors["topic:https://f.example/t/1"].position.as_deref(),
            Some("2026-03-10")
        );
        assert!(s.pages.is_empty() && s.robots.is_empty() && !s.backlog);
        let mut s = s;
        s.pages.push_back((
            "https://f.example/t/1".into(),
            Validators {
                etag: Some("\"x\"".into()),
                last_modified: None,
            },
        ));
        s.robots.push(SavedRobots {
            origin: "https://f.example".into(),
            rules: Robots::parse("User-agent: *\nDisallow: /m\n"),
            expires: 99,
        });
        s.backlog = true;
        let back: Saved = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back.pages, s.pages);
        assert_eq!((back.robots[0].expires, back.backlog), (99, true));
        assert_eq!(back.cursors.len(), 2);
    }

    #[test]
    fn topics_listed_longest_ago_are_forgotten_first() {
        let mut c = Cursors::new();
        for i in 0..MAX_TOPICS_KEPT + 5 {
            c.insert(
                format!("topic:{i}"),
                Cursor {
                    watermark: Some(i as i64),
                    ..Default::default()
                },
            );
        }
        c.insert("posts".into(), Cursor::default());
        forget_old_topics(&mut c);
        assert_eq!(c.len(), MAX_TOPICS_KEPT + 1);
        assert!(!c.contains_key("topic:4") && c.contains_key("topic:5") && c.contains_key("posts"));
    }

    #[test]
    fn validators_are_bounded_and_expired_robots_are_not_restored() {
        let mut s = Saved::default();
        let v = |e: &str| Validators {
            etag: Some(e.into()),
            last_modified: None,
        };
        for i in 0..MAX_VALIDATORS + 3 {
            s.set_validators(&format!("https://f.example/{i}"), v("x"));
        }
        assert_eq!(s.pages.len(), MAX_VALIDATORS);
        assert!(s.validators("https://f.example/0").is_none());
        s.set_validators("https://f.example/5", Validators::default());
        assert!(
            s.validators("https://f.example/5").is_none(),
            "no validators, nothing kept"
        );
        let http = Http::new(&crate::crawl::CrawlConfig::default()).unwrap();
        let now = Utc::now();
        let rules = Robots::parse("User-agent: *\nDisallow: /\n");
        s.robots = vec![
            SavedRobots {
                origin: "https://old.example".into(),
                rules: rules.clone(),
                expires: now.timestamp() - 1,
            },
            SavedRobots {
                origin: "https://new.example".into(),
                rules,
                expires: now.timestamp() + 60,
            },
        ];
        s.restore_robots(&http, now);
        assert!(http.robots.cached("https://old.example").is_none());
        assert!(http.robots.cached("https://new.example").is_some());
        let urls = [
            Url::parse("https://new.example/a").unwrap(),
            Url::parse("https://new.example/b").unwrap(),
        ];
        s.save_robots(&http, urls.iter(), now);
        assert_eq!(s.robots.len(), 1);
        assert!((now.timestamp() + 55..=now.timestamp() + 60).contains(&s.robots[0].expires));
    }
}
