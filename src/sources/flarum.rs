//! `kind = "flarum"`: a Flarum forum through its JSON:API.
//!
//! Discussions come newest activity first (`/api/discussions?sort=-lastPostedAt`, or
//! `filter[q]=<terms>` to search); a discussion whose `lastPostedAt` moved since the last
//! poll has its newest posts read (`/api/posts?filter[discussion]=<id>&sort=-createdAt`),
//! down to the posts already seen. Authors come from the `included` users.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api::{self, Cursor, Dialect, Item, RateLimit, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::config::{Secret, SourceFile};
use crate::crawl::{FetchError, Http};
use crate::mention::Engagement;
use crate::text;

/// Discussions whose posts are read per poll at most.
const MAX_DISCUSSIONS: usize = 20;

/// Settings of a `kind = "flarum"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlarumConfig {
    /// The forum, e.g. "https://discuss.example.org".
    pub base_url: Spanned<String>,
    /// Search discussions (a query as written, or derived from `brands`) instead of
    /// reading the most active ones.
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    /// API token (optional), sent as `Authorization: Token <token>`.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub token_env: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Flarum {
    base: Url,
    searching: bool,
    pub search: SearchTerms,
    token: Option<Secret>,
}

impl FlarumConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        base_dir: &Path,
    ) -> Option<Flarum> {
        let base = api::base_url(file, &self.base_url)?;
        let token = api::secret(
            file,
            span,
            "token",
            self.token_file,
            self.token_env,
            base_dir,
        )?;
        Some(Flarum {
            base,
            searching: self.query.is_some() || !self.brands.is_empty(),
            search: SearchTerms::new(self.query, self.brands),
            token,
        })
    }
}

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    data: Vec<Resource>,
    #[serde(default)]
    included: Vec<Resource>,
}

#[derive(Debug, Deserialize)]
struct Resource {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    attributes: serde_json::Value,
    #[serde(default)]
    relationships: serde_json::Value,
}

impl Resource {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attributes.get(k).and_then(|v| v.as_str())
    }
    fn rel_id(&self, k: &str) -> Option<&str> {
        self.relationships.get(k)?.get("data")?.get("id")?.as_str()
    }
}

fn quotes() -> &'static [scraper::Selector] {
    static S: std::sync::OnceLock<Vec<scraper::Selector>> = std::sync::OnceLock::new();
    S.get_or_init(|| vec![scraper::Selector::parse("blockquote").expect("valid selector")])
}

impl Flarum {
    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut SearchTerms> {
        Some(&mut self.search)
    }

    async fn get(
        &self,
        source: &Source,
        http: &Http,
        url: &Url,
        now: DateTime<Utc>,
    ) -> Result<Document, FetchError> {
        let auth = self.token.as_ref().map(|t| format!("Token {}", t.expose()));
        let resp = api::send(http, source.allow_private, url, |c| {
            let r = c
                .get(url.clone())
                .header("accept", "application/vnd.api+json");
            match &auth {
                Some(a) => r.header("authorization", a),
                None => r,
            }
        })
        .await?;
        if !resp.ok() {
            let rate = RateLimit::parse(&resp.headers, Dialect::RetryAfter, now);
            return Err(api::status_error(&resp, &rate, now));
        }
        resp.json()
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        let mut cursors = api::cursors(state);
        let mut poll = Poll::default();
        let queries: Vec<Option<String>> = if self.searching {
            self.search.each().into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        // One cursor for the forum: discussions are shared by every query.
        let cursor = cursors.entry("posts".into()).or_default();
        for q in queries {
            let mut url = api::endpoint(&self.base, "api/discussions");
            {
                let mut qp = url.query_pairs_mut();
                match &q {
                    Some(q) => qp.append_pair("filter[q]", q),
                    None => qp.append_pair("sort", "-lastPostedAt"),
                };
                qp.append_pair("page[limit]", "50");
            }
            let doc = self.get(source, http, &url, now).await?;
            let since = cursor.watermark;
            let mut bumped: Vec<(&Resource, i64)> = doc
                .data
                .iter()
                .filter(|d| d.kind == "discussions")
                .filter_map(|d| {
                    let last = d
                        .attr("lastPostedAt")
                        .and_then(api::parse_date)?
                        .timestamp();
                    // First poll: the discussions of the last day.
                    let floor = since
                        .map(|s| s - api::OVERLAP_SECS)
                        .unwrap_or(now.timestamp() - 86_400);
                    (last >= floor).then_some((d, last))
                })
                .collect();
            bumped.sort_by_key(|(_, t)| -t);
            for (d, last) in bumped.into_iter().take(MAX_DISCUSSIONS) {
                self.discussion_posts(source, http, d, cursor, now, &mut poll)
                    .await?;
                cursor.advance(last);
            }
        }
        poll.state = api::save(state, &cursors);
        Ok(poll)
    }

    async fn discussion_posts(
        &self,
        source: &Source,
        http: &Http,
        d: &Resource,
        cursor: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        let mut url = api::endpoint(&self.base, "api/posts");
        url.query_pairs_mut()
            .append_pair("filter[discussion]", &d.id)
            .append_pair("sort", "-createdAt")
            .append_pair("page[limit]", "50");
        let doc = self.get(source, http, &url, now).await?;
        let users: HashMap<&str, &Resource> = doc
            .included
            .iter()
            .filter(|r| r.kind == "users")
            .map(|u| (u.id.as_str(), u))
            .collect();
        let title = d.attr("title").unwrap_or_default();
        let slug = d.attr("slug").unwrap_or_default();
        for p in doc.data.iter().filter(|r| r.kind == "posts") {
            if p.attr("contentType").is_some_and(|t| t != "comment") {
                continue; // renames, stickies…: not something anyone said
            }
            let key = format!("{}:{}", self.host(), p.id);
            if cursor.has_seen(&key) {
                break; // newest first: the rest was read before
            }
            let number = p
                .attributes
                .get("number")
                .and_then(|n| n.as_i64())
                .unwrap_or(1);
            let user = p.rel_id("user").and_then(|u| users.get(u));
            let item = Item {
                key: key.clone(),
                url: api::endpoint(&self.base, &format!("d/{}-{}/{number}", d.id, slug))
                    .to_string(),
                title: text::collapse_whitespace(title),
                text: text::html_to_text_without(
                    p.attr("contentHtml").unwrap_or_default(),
                    quotes(),
                ),
                author: user.and_then(|u| u.attr("username")).map(str::to_string),
                author_name: user.and_then(|u| u.attr("displayName")).map(str::to_string),
                published_at: p.attr("createdAt").and_then(api::parse_date),
                engagement: Engagement {
                    replies: d.attributes.get("commentCount").and_then(|v| v.as_i64()),
                    ..Default::default()
                },
                ..Default::default()
            };
            cursor.remember(&key);
            poll.mentions
                .push(item.into_mention(&source.id, "flarum", now));
        }
        Ok(())
    }
}
