//! `kind = "discourse"`: a Discourse forum, through its JSON API.
//!
//! Two ways in, both keyed by post id so they never duplicate each other:
//! - the latest posts of the whole forum (`/posts.json`, newest first, paging backwards
//!   with `before=<post id>` down to the newest id already seen) — the dependable one;
//! - search (`/search.json?q=<terms> order:latest after:<date>`), for big forums where
//!   scanning every post is too much.
//!
//! Discourse answers 429 with `Retry-After` (and `Discourse-Rate-Limit-Error-Code`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api::{self, Cursor, Dialect, Item, MAX_PAGES, RateLimit, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::crawl::{FetchError, Http};
use crate::mention::Engagement;
use crate::model::{Secret, SourceFile};
use crate::text;

/// Settings of a `kind = "discourse"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscourseConfig {
    /// The forum, e.g. "https://forum.example.org".
    pub base_url: Spanned<String>,
    /// Read the latest posts of the whole forum (default true).
    #[serde(default = "yes")]
    pub latest: bool,
    /// Also search (a query as written, or derived from `brands`); off unless one is set.
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    /// Admin or user API key (optional; public forums need none), with its username.
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub api_username: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone)]
pub struct Discourse {
    base: Url,
    latest: bool,
    searching: bool,
    pub search: SearchTerms,
    key: Option<(Secret, String)>,
}

impl DiscourseConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        base_dir: &Path,
    ) -> Option<Discourse> {
        let base = api::base_url(file, &self.base_url)?;
        let key = api::secret(
            file,
            span.clone(),
            "api_key",
            self.api_key_file,
            self.api_key_env,
            base_dir,
        )?;
        let key = match (key, self.api_username) {
            (Some(k), Some(u)) => Some((k, u)),
            (None, _) => None,
            (Some(_), None) => {
                file.error(span, "an API key goes with `api_username`");
                return None;
            }
        };
        let searching = self.query.is_some() || !self.brands.is_empty();
        if !self.latest && !searching {
            file.error(
                span,
                "nothing to read: leave `latest` on or set `query`/`brands` to search",
            );
            return None;
        }
        Some(Discourse {
            base,
            latest: self.latest,
            searching,
            search: SearchTerms::new(self.query, self.brands),
            key,
        })
    }
}

#[derive(Deserialize)]
struct LatestPosts {
    #[serde(default)]
    latest_posts: Vec<Post>,
}

#[derive(Debug, Deserialize)]
pub struct Post {
    pub id: i64,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub cooked: Option<String>,
    #[serde(default)]
    pub blurb: Option<String>,
    #[serde(default)]
    pub post_number: Option<i64>,
    #[serde(default)]
    pub topic_id: Option<i64>,
    #[serde(default)]
    pub topic_slug: Option<String>,
    #[serde(default)]
    pub topic_title: Option<String>,
    #[serde(default)]
    pub reply_count: Option<i64>,
    #[serde(default)]
    pub like_count: Option<i64>,
    #[serde(default)]
    pub actions_summary: Vec<Action>,
}

#[derive(Debug, Deserialize)]
pub struct Action {
    pub id: i64,
    #[serde(default)]
    pub count: Option<i64>,
}

#[derive(Deserialize)]
struct SearchResult {
    #[serde(default)]
    posts: Vec<Post>,
    #[serde(default)]
    topics: Vec<Topic>,
}

#[derive(Deserialize)]
struct Topic {
    id: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    slug: String,
}

fn quotes() -> &'static [scraper::Selector] {
    static S: std::sync::OnceLock<Vec<scraper::Selector>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        vec![scraper::Selector::parse("aside.quote, blockquote").expect("valid selector")]
    })
}

impl Discourse {
    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut SearchTerms> {
        Some(&mut self.search)
    }

    fn item(&self, p: &Post, topic: Option<(&str, &str)>) -> Item {
        let (title, slug) = topic
            .map(|(t, s)| (t.to_string(), s.to_string()))
            .unwrap_or_else(|| {
                (
                    p.topic_title.clone().unwrap_or_default(),
                    p.topic_slug.clone().unwrap_or_default(),
                )
            });
        let url = api::endpoint(
            &self.base,
            &format!(
                "t/{}/{}/{}",
                if slug.is_empty() { "-" } else { &slug },
                p.topic_id.unwrap_or(0),
                p.post_number.unwrap_or(1)
            ),
        );
        // Quotes repeat other posts: left out, or a quote would count as a second mention.
        let text = match (&p.cooked, &p.blurb) {
            (Some(c), _) => text::html_to_text_without(c, quotes()),
            (None, Some(b)) => text::html_to_text(b),
            _ => String::new(),
        };
        let likes = p.like_count.or_else(|| {
            p.actions_summary
                .iter()
                .find(|a| a.id == 2)
                .and_then(|a| a.count)
        });
        Item {
            key: format!("{}:{}", self.host(), p.id),
            url: url.to_string(),
            title: text::html_to_text(&title),
            text,
            author: p.username.clone(),
            author_name: p.name.clone(),
            published_at: api::parse_date(&p.created_at),
            engagement: Engagement {
                likes,
                replies: p.reply_count,
                shares: None,
                score: None,
            },
            ..Default::default()
        }
    }

    async fn get(
        &self,
        source: &Source,
        http: &Http,
        url: &Url,
        now: DateTime<Utc>,
    ) -> Result<api::Response, FetchError> {
        let resp = api::send(http, source.allow_private, url, |c| {
            let mut r = c.get(url.clone()).header("accept", "application/json");
            if let Some((k, u)) = &self.key {
                r = r.header("Api-Key", k.expose()).header("Api-Username", u);
            }
            r
        })
        .await?;
        if !resp.ok() {
            let rate = RateLimit::parse(&resp.headers, Dialect::RetryAfter, now);
            if resp.status == 429 {
                // `extras.wait_seconds` when there is no Retry-After.
                let wait = serde_json::from_slice::<serde_json::Value>(&resp.body)
                    .ok()
                    .and_then(|v| v["extras"]["wait_seconds"].as_u64());
                return Err(FetchError::RateLimited {
                    status: 429,
                    retry_after: rate.wait(now).or(wait.map(std::time::Duration::from_secs)),
                });
            }
            return Err(api::status_error(&resp, &rate, now));
        }
        Ok(resp)
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        // The latest posts (None), then each search.
        let mut walks: Vec<(String, Option<String>)> = Vec::new();
        if self.latest {
            walks.push(("latest".into(), None));
        }
        if self.searching {
            walks.extend(
                self.search
                    .each()
                    .into_iter()
                    .map(|q| (format!("q:{q}"), Some(q))),
            );
        }
        api::each_query(
            state,
            walks,
            &mut api::Walker {
                kind: self,
                source,
                http,
                now,
            },
        )
        .await
    }

    /// `/posts.json`, newest first, backwards with `before` down to the newest id seen.
    async fn latest_posts(
        &self,
        source: &Source,
        http: &Http,
        cursor: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        let known = cursor.watermark;
        let (resume, mut newest) = cursor.start_walk();
        let mut before: Option<i64> = resume.and_then(|b| b.parse().ok());
        let mut done = false;
        let mut pages = api::Pages::default();
        for _ in 0..MAX_PAGES {
            if !pages.first_time(before.map(|b| b.to_string()).as_deref()) {
                done = true;
                break;
            }
            let mut url = api::endpoint(&self.base, "posts.json");
            if let Some(b) = before {
                url.query_pairs_mut().append_pair("before", &b.to_string());
            }
            let resp = self.get(source, http, &url, now).await?;
            poll.bytes += resp.body.len();
            let page: LatestPosts = resp.json()?;
            let mut reached = page.latest_posts.is_empty();
            for p in &page.latest_posts {
                if known.is_some_and(|k| p.id <= k) {
                    reached = true;
                    continue;
                }
                newest = Some(newest.map_or(p.id, |n| n.max(p.id)));
                let item = self.item(p, None);
                if cursor.remember(&item.key) {
                    poll.mentions
                        .push(item.into_mention(&source.id, "discourse", now));
                }
            }
            before = page.latest_posts.iter().map(|p| p.id).min();
            // First poll: the newest page only.
            if reached || known.is_none() || before.is_none() {
                done = true;
                break;
            }
        }
        // Not down to the known posts yet: the next poll goes on below `before`.
        cursor.end_walk(
            &source.id,
            newest,
            (!done).then(|| before.map(|b| b.to_string())).flatten(),
        );
        Ok(())
    }

    async fn search_posts(
        &self,
        source: &Source,
        http: &Http,
        q: &str,
        cursor: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        // `after:` takes a day: the overlap is a day at worst, the seen set drops repeats.
        let since = cursor
            .since()
            .unwrap_or(now.timestamp() - source.backfill.as_secs() as i64);
        let day = api::from_epoch(since).unwrap_or(now).format("%Y-%m-%d");
        for page in 1..=2 {
            let mut url = api::endpoint(&self.base, "search.json");
            url.query_pairs_mut()
                .append_pair("q", &format!("{q} order:latest after:{day}"))
                .append_pair("page", &page.to_string());
            let resp = self.get(source, http, &url, now).await?;
            poll.bytes += resp.body.len();
            let r: SearchResult = resp.json()?;
            let topics: HashMap<i64, (&str, &str)> = r
                .topics
                .iter()
                .map(|t| (t.id, (t.title.as_str(), t.slug.as_str())))
                .collect();
            for p in &r.posts {
                let item = self.item(p, p.topic_id.and_then(|t| topics.get(&t).copied()));
                if let Some(t) = item.published_at {
                    cursor.advance(t.timestamp());
                }
                if cursor.remember(&item.key) {
                    poll.mentions
                        .push(item.into_mention(&source.id, "discourse", now));
                }
            }
            if r.posts.len() < 50 {
                break;
            }
        }
        Ok(())
    }
}

impl api::Walk for api::Walker<'_, Discourse> {
    type Query = Option<String>;
    async fn walk(
        &mut self,
        q: Option<String>,
        cursor: &mut Cursor,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        let (k, source, http, now) = (self.kind, self.source, self.http, self.now);
        match q {
            None => k.latest_posts(source, http, cursor, now, poll).await,
            Some(q) => k.search_posts(source, http, &q, cursor, now, poll).await,
        }
    }
}

impl Discourse {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        // Read both ways: as the latest posts and as a search answer (posts and topics).
        let resp = api::Response::with_body(body);
        let latest: LatestPosts = resp.json()?;
        let r: SearchResult = resp.json()?;
        let topics: HashMap<i64, (&str, &str)> = r
            .topics
            .iter()
            .map(|t| (t.id, (t.title.as_str(), t.slug.as_str())))
            .collect();
        let searched = r
            .posts
            .iter()
            .map(|p| self.item(p, p.topic_id.and_then(|t| topics.get(&t).copied())));
        Ok(latest
            .latest_posts
            .iter()
            .map(|p| self.item(p, None))
            .chain(searched)
            .map(|item| item.into_mention(&source.id, "discourse", now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_latest_post_without_its_quotes() {
        let d = Discourse {
            base: Url::parse("https://forum.example.org/").unwrap(),
            latest: true,
            searching: false,
            search: SearchTerms::default(),
            key: None,
        };
        let p: Post = serde_json::from_str(r#"{"id":5123,"name":"Anne","username":"anne_b","created_at":"2026-03-10T08:00:00.000Z",
            "cooked":"<aside class=\"quote\"><blockquote><p>Acme is great</p></blockquote></aside><p>No, Acme&#39;s support is a scam</p>",
            "post_number":4,"topic_id":880,"topic_slug":"acme-support","topic_title":"Acme support &amp; refunds","reply_count":2,
            "actions_summary":[{"id":2,"count":7}],"post_url":"/t/acme-support/880/4"}"#).unwrap();
        let m = d.item(&p, None).into_mention("d", "discourse", Utc::now());
        assert_eq!(m.url, "https://forum.example.org/t/acme-support/880/4");
        assert_eq!(m.title, "Acme support & refunds");
        assert_eq!(m.text, "No, Acme's support is a scam");
        assert_eq!(m.engagement.likes, Some(7));
        assert_eq!(m.native_id.as_deref(), Some("forum.example.org:5123"));
    }
}
