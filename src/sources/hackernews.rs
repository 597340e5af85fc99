//! `kind = "hackernews"`: Hacker News stories and comments through the Algolia API
//! (`search_by_date`, newest first), with a `created_at_i` watermark per query and an
//! overlap, paging with `page=` until `nbPages`.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api::{self, Cursor, Dialect, Item, MAX_PAGES, RateLimit, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::crawl::{FetchError, Http};
use crate::mention::Engagement;
use crate::model::SourceFile;
use crate::text;

/// Settings of a `kind = "hackernews"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HackerNewsConfig {
    /// Default https://hn.algolia.com.
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// A query as written…
    #[serde(default)]
    pub query: Option<String>,
    /// …or derived from these brands' queries (all brands when empty).
    #[serde(default)]
    pub brands: Vec<String>,
    /// "story", "comment" or both (default both).
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct HackerNews {
    base: Url,
    pub search: SearchTerms,
    tags: String,
}

impl HackerNewsConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        _base_dir: &Path,
    ) -> Option<HackerNews> {
        let base = match &self.base_url {
            Some(b) => api::base_url(file, b)?,
            None => Url::parse("https://hn.algolia.com/").expect("valid URL"),
        };
        for t in &self.tags {
            if !matches!(
                t.as_str(),
                "story" | "comment" | "poll" | "show_hn" | "ask_hn"
            ) {
                file.error(
                    span,
                    format!("unknown tag `{t}`: expected story, comment, poll, show_hn or ask_hn"),
                );
                return None;
            }
        }
        let tags = if self.tags.is_empty() {
            "(story,comment)".to_string()
        } else {
            format!("({})", self.tags.join(","))
        };
        Some(HackerNews {
            base,
            search: SearchTerms::new(self.query, self.brands),
            tags,
        })
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    hits: Vec<Hit>,
    #[serde(default)]
    page: usize,
    #[serde(rename = "nbPages", default)]
    nb_pages: usize,
}

#[derive(Debug, Deserialize)]
pub struct Hit {
    #[serde(rename = "objectID")]
    pub object_id: String,
    pub created_at_i: i64,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub story_title: Option<String>,
    #[serde(default)]
    pub story_text: Option<String>,
    #[serde(default)]
    pub comment_text: Option<String>,
    #[serde(default)]
    pub points: Option<i64>,
    #[serde(default)]
    pub num_comments: Option<i64>,
}

pub fn hit_item(h: &Hit) -> Item {
    let body = h
        .comment_text
        .as_deref()
        .or(h.story_text.as_deref())
        .unwrap_or("");
    Item {
        key: h.object_id.clone(),
        url: format!("https://news.ycombinator.com/item?id={}", h.object_id),
        // Titles and texts carry HTML entities (&#x27;, &#x2F;): decoded once here.
        title: text::html_to_text(
            h.title
                .as_deref()
                .or(h.story_title.as_deref())
                .unwrap_or(""),
        ),
        text: text::html_to_text(body),
        author: h.author.clone(),
        author_name: None,
        published_at: api::from_epoch(h.created_at_i),
        language: None,
        reach: None,
        engagement: Engagement {
            likes: None,
            replies: h.num_comments,
            shares: None,
            score: h.points,
        },
    }
}

impl HackerNews {
    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut SearchTerms> {
        Some(&mut self.search)
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        let queries = self.search.each().into_iter().map(|q| (q.clone(), q));
        api::each_query(
            state,
            queries,
            &mut api::Walker {
                kind: self,
                source,
                http,
                now,
            },
        )
        .await
    }

    async fn query(
        &self,
        source: &Source,
        http: &Http,
        q: &str,
        cursor: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        // First poll: the last day; then from the watermark minus the overlap.
        let since = cursor
            .since()
            .unwrap_or(now.timestamp() - source.backfill.as_secs() as i64);
        let (resume, mut newest) = cursor.start_walk();
        let first = resume.and_then(|p| p.parse::<usize>().ok()).unwrap_or(0);
        let mut next = None;
        for page in first..first + MAX_PAGES {
            let mut url = api::endpoint(&self.base, "api/v1/search_by_date");
            url.query_pairs_mut()
                .append_pair("query", q)
                .append_pair("tags", &self.tags)
                .append_pair("numericFilters", &format!("created_at_i>={since}"))
                .append_pair("hitsPerPage", "100")
                .append_pair("page", &page.to_string());
            let resp = api::send(http, source.allow_private, &url, |c| c.get(url.clone())).await?;
            let rate = RateLimit::parse(&resp.headers, Dialect::RetryAfter, now);
            if !resp.ok() {
                return Err(api::status_error(&resp, &rate, now));
            }
            poll.bytes += resp.body.len();
            let p: Page = resp.json()?;
            let before = poll.mentions.len();
            for h in &p.hits {
                newest = Some(newest.map_or(h.created_at_i, |n| n.max(h.created_at_i)));
                if cursor.remember(&h.object_id) {
                    poll.mentions
                        .push(hit_item(h).into_mention(&source.id, "hackernews", now));
                }
            }
            // The last page, or one that brought nothing new (a server repeating a page
            // would otherwise be asked for every page up to the limit).
            if p.page + 1 >= p.nb_pages
                || !api::Pages::worth_following(poll.mentions.len() - before)
            {
                next = None;
                break;
            }
            next = Some((page + 1).to_string());
        }
        cursor.end_walk(&source.id, newest, next);
        Ok(())
    }
}

impl api::Walk for api::Walker<'_, HackerNews> {
    type Query = String;
    async fn walk(
        &mut self,
        q: String,
        cursor: &mut Cursor,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        self.kind
            .query(self.source, self.http, &q, cursor, self.now, poll)
            .await
    }
}

impl HackerNews {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        let p: Page = api::Response::with_body(body).json()?;
        Ok(p.hits
            .iter()
            .map(|h| hit_item(h).into_mention(&source.id, "hackernews", now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_comment_with_entities() {
        let h: Hit = serde_json::from_str(r#"{"objectID":"39612345","created_at":"2026-03-10T08:01:27.000Z","created_at_i":1773129687,
            "author":"pg_fan","comment_text":"<p>Acme&#x27;s kettle is a scam &#x2F; avoid</p>","story_id":39600000,
            "story_title":"Acme recalls kettles","points":null,"num_comments":null,"_tags":["comment"]}"#).unwrap();
        let m = hit_item(&h).into_mention("hn", "hackernews", Utc::now());
        assert_eq!(m.title, "Acme recalls kettles");
        assert_eq!(m.text, "Acme's kettle is a scam / avoid");
        assert_eq!(m.url, "https://news.ycombinator.com/item?id=39612345");
        assert_eq!(m.engagement.score, None);
    }
}
