//! `kind = "lemmy"`: `/api/v3/search` (posts and comments, `sort=New`), pages until the
//! watermark. Lemmy answers a spent rate limit with HTTP 400 `{"error":"rate_limit_error"}`
//! (no header): it is treated like a 429. Items are keyed by `ap_id`, their federated
//! identity, so the same post seen on two instances is one mention. Dates of Lemmy ≤ 0.18
//! have no zone: they are UTC.

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

/// Settings of a `kind = "lemmy"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LemmyConfig {
    /// The instance, e.g. "https://lemmy.world".
    pub base_url: Spanned<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    /// Only this community (name@instance or name), optional.
    #[serde(default)]
    pub community: Option<String>,
    /// JWT for instances that require login, from a file (optional).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub token_env: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Lemmy {
    base: Url,
    community: Option<String>,
    token: Option<Secret>,
    pub search: SearchTerms,
}

impl LemmyConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        base_dir: &Path,
    ) -> Option<Lemmy> {
        let base = api::base_url(file, &self.base_url)?;
        let token = api::secret(
            file,
            span,
            "token",
            self.token_file,
            self.token_env,
            base_dir,
        )?;
        Some(Lemmy {
            base,
            community: self.community,
            token,
            search: SearchTerms::new(self.query, self.brands),
        })
    }
}

#[derive(Deserialize)]
struct SearchResponse {
    #[serde(default)]
    posts: Vec<PostView>,
    #[serde(default)]
    comments: Vec<CommentView>,
}

#[derive(Debug, Deserialize)]
pub struct PostView {
    pub post: Post,
    pub creator: Person,
    #[serde(default)]
    pub counts: Counts,
}

#[derive(Debug, Deserialize)]
pub struct CommentView {
    pub comment: Comment,
    pub post: Post,
    pub creator: Person,
    #[serde(default)]
    pub counts: Counts,
}

#[derive(Debug, Deserialize)]
pub struct Post {
    pub ap_id: String,
    pub name: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    pub published: String,
}

#[derive(Debug, Deserialize)]
pub struct Comment {
    pub ap_id: String,
    pub content: String,
    pub published: String,
}

#[derive(Debug, Deserialize)]
pub struct Person {
    pub actor_id: String,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Counts {
    #[serde(default)]
    pub score: Option<i64>,
    #[serde(default)]
    pub upvotes: Option<i64>,
    #[serde(default)]
    pub comments: Option<i64>,
    #[serde(default)]
    pub child_count: Option<i64>,
}

pub fn post_item(v: &PostView) -> Item {
    let mut body = v.post.body.clone().unwrap_or_default();
    if body.is_empty()
        && let Some(u) = &v.post.url
    {
        body = u.clone();
    }
    Item {
        key: v.post.ap_id.clone(),
        url: v.post.ap_id.clone(),
        title: text::collapse_whitespace(&v.post.name),
        text: text::collapse_whitespace(&body),
        author: Some(v.creator.actor_id.clone()),
        author_name: v
            .creator
            .display_name
            .clone()
            .or(Some(v.creator.name.clone())),
        published_at: api::parse_date(&v.post.published),
        language: None,
        reach: None,
        engagement: Engagement {
            likes: v.counts.upvotes,
            replies: v.counts.comments,
            shares: None,
            score: v.counts.score,
        },
    }
}

pub fn comment_item(v: &CommentView) -> Item {
    Item {
        key: v.comment.ap_id.clone(),
        url: v.comment.ap_id.clone(),
        title: text::collapse_whitespace(&v.post.name),
        text: text::collapse_whitespace(&v.comment.content),
        author: Some(v.creator.actor_id.clone()),
        author_name: v
            .creator
            .display_name
            .clone()
            .or(Some(v.creator.name.clone())),
        published_at: api::parse_date(&v.comment.published),
        language: None,
        reach: None,
        engagement: Engagement {
            likes: v.counts.upvotes,
            replies: v.counts.child_count,
            shares: None,
            score: v.counts.score,
        },
    }
}

impl Lemmy {
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
        // First poll: the source's look-back (`backfill`), as for every kind.
        let first_poll = cursor.since().is_none();
        let since = cursor
            .since()
            .unwrap_or(now.timestamp() - source.backfill.as_secs() as i64);
        let (resume, mut newest) = cursor.start_walk();
        let first = resume.and_then(|p| p.parse::<usize>().ok()).unwrap_or(1);
        let mut next = None;
        for page in first..first + MAX_PAGES {
            let mut url = api::endpoint(&self.base, "api/v3/search");
            {
                let mut qp = url.query_pairs_mut();
                qp.append_pair("q", q)
                    .append_pair("type_", "All")
                    .append_pair("sort", "New")
                    .append_pair("listing_type", "All")
                    .append_pair("page", &page.to_string())
                    .append_pair("limit", "50");
                if let Some(c) = &self.community {
                    qp.append_pair("community_name", c);
                }
            }
            let auth = self
                .token
                .as_ref()
                .map(|t| format!("Bearer {}", t.expose()));
            let resp = api::send(http, source.allow_private, &url, |c| {
                let r = c.get(url.clone());
                match &auth {
                    Some(a) => r.header("authorization", a),
                    None => r,
                }
            })
            .await?;
            let rate = RateLimit::parse(&resp.headers, Dialect::RetryAfter, now);
            if resp.status == 400
                && String::from_utf8_lossy(&resp.body).contains("rate_limit_error")
            {
                // Lemmy's rate limit: 400 and no header; its search bucket refills in minutes.
                return Err(FetchError::RateLimited {
                    status: 400,
                    retry_after: Some(
                        rate.wait(now)
                            .unwrap_or(std::time::Duration::from_secs(600)),
                    ),
                });
            }
            if !resp.ok() {
                return Err(api::status_error(&resp, &rate, now));
            }
            poll.bytes += resp.body.len();
            let r: SearchResponse = resp.json()?;
            let mut items: Vec<Item> = r.posts.iter().map(post_item).collect();
            items.extend(r.comments.iter().map(comment_item));
            let mut older = 0;
            let total = items.len();
            let before = poll.mentions.len();
            for item in items {
                let t = item
                    .published_at
                    .map(|d| d.timestamp())
                    .unwrap_or(now.timestamp());
                if t < since {
                    older += 1;
                    continue;
                }
                newest = Some(newest.map_or(t, |n| n.max(t)));
                if cursor.remember(&item.key) {
                    poll.mentions
                        .push(item.into_mention(&source.id, "lemmy", now));
                }
            }
            if first_poll {
                poll.too_old += older;
            }
            // Sorted by New: a page reaching past the watermark is the last one needed.
            // A page of nothing new: what follows was read before (or the server repeats).
            if total == 0 || older > 0 || !api::Pages::worth_following(poll.mentions.len() - before)
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

impl api::Walk for api::Walker<'_, Lemmy> {
    type Query = String;
    async fn walk(
        &mut self,
        q: String,
        cursor: &mut Cursor,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        // Lemmy's search is a substring match (ILIKE '%q%'): it has no phrase syntax, and
        // quotes would be searched for literally. `acme corp` finds the phrase.
        let text = q.replace('"', "");
        self.kind
            .query(self.source, self.http, text.trim(), cursor, self.now, poll)
            .await
    }
}

impl Lemmy {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        let r: SearchResponse = api::Response::with_body(body).json()?;
        let posts = r.posts.iter().map(post_item);
        Ok(posts
            .chain(r.comments.iter().map(comment_item))
            .map(|item| item.into_mention(&source.id, "lemmy", now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_posts_and_comments_with_naive_dates() {
        let v: PostView = serde_json::from_str(r#"{"post":{"id":1,"name":"Acme kettle recall","body":"Mine melted","ap_id":"https://lemmy.world/post/123",
            "published":"2026-03-10T08:00:00.123456Z","language_id":37},"creator":{"actor_id":"https://lemmy.world/u/anna","name":"anna","display_name":null},
            "counts":{"score":12,"upvotes":14,"downvotes":2,"comments":3}}"#).unwrap();
        let m = post_item(&v).into_mention("l", "lemmy", Utc::now());
        assert_eq!(
            (m.title.as_str(), m.text.as_str()),
            ("Acme kettle recall", "Mine melted")
        );
        assert_eq!(m.engagement.score, Some(12));
        assert_eq!(m.author.as_deref(), Some("https://lemmy.world/u/anna"));
        let c: CommentView = serde_json::from_str(r#"{"comment":{"id":9,"content":"Same here, Acme refund refused","ap_id":"https://lemmy.ml/comment/9","published":"2026-03-10T08:05:00"},
            "post":{"name":"Acme kettle recall","ap_id":"https://lemmy.world/post/123","published":"2026-03-10T08:00:00"},
            "creator":{"actor_id":"https://lemmy.ml/u/bob","name":"bob"},"counts":{"score":2,"child_count":0}}"#).unwrap();
        let m = comment_item(&c).into_mention("l", "lemmy", Utc::now());
        assert_eq!(m.published_at.to_rfc3339(), "2026-03-10T08:05:00+00:00");
        assert_eq!(m.title, "Acme kettle recall");
    }
}
