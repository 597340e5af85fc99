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

use super::api::{self, Cursor, Dialect, Item, MAX_PAGES, RateLimit, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::crawl::{FetchError, Http};
use crate::mention::Engagement;
use crate::model::{Secret, SourceFile};
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
    #[serde(default)]
    links: Links,
}

/// JSON:API paging links.
#[derive(Debug, Default, Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
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

    /// The next page of a listing, if the forum gives one on its own origin (a hostile
    /// `links.next` does not send veille elsewhere).
    fn next_page(&self, links: &Links) -> Option<Url> {
        let next = self.base.join(links.next.as_deref()?).ok()?;
        (next.origin() == self.base.origin()).then_some(next)
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
        let queries = queries.into_iter().map(|q| {
            let key = q
                .as_ref()
                .map_or("latest".to_string(), |q| format!("q:{q}"));
            (key, q)
        });
        // Posts seen, shared by every query (a discussion found twice is read once); a
        // watermark per query (one query's finds do not hide another's).
        let mut walker = Posts {
            walker: api::Walker {
                kind: self,
                source,
                http,
                now,
            },
            seen: cursors.remove("posts").unwrap_or_default(),
        };
        api::walk_queries(&mut cursors, &mut poll, queries, &mut walker).await?;
        cursors.insert("posts".into(), walker.seen);
        poll.state = api::save(state, &cursors);
        Ok(poll)
    }

    /// One query's walk: the discussions bumped since its watermark, then their new posts
    /// (`seen` is shared by every query).
    #[allow(clippy::too_many_arguments)]
    async fn query(
        &self,
        source: &Source,
        http: &Http,
        q: Option<String>,
        mark: &mut Cursor,
        seen: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        // First poll: the discussions of the source's look-back (`backfill`).
        let first_poll = mark.watermark.is_none() && seen.watermark.is_none();
        let floor = mark
            .watermark
            .or(seen.watermark.take()) // state written by an older veille
            .map(|s| s - api::OVERLAP_SECS)
            .unwrap_or(now.timestamp() - source.backfill.as_secs() as i64);
        // Posts are read down to the floor of the oldest poll whose discussions are
        // not all read yet (a backlog moves the watermark before its last ones).
        let posts_floor = mark.pending.unwrap_or(floor);
        let mut url = api::endpoint(&self.base, "api/discussions");
        {
            let mut qp = url.query_pairs_mut();
            match &q {
                // By last post, like the listing: the floor test below relies on it
                // (an old discussion with new replies must come before quiet ones).
                Some(q) => qp
                    .append_pair("filter[q]", q)
                    .append_pair("sort", "-lastPostedAt"),
                None => qp.append_pair("sort", "-lastPostedAt"),
            };
            qp.append_pair("page[limit]", "50");
        }
        let mut bumped: Vec<(Resource, i64)> = Vec::new();
        let mut pages = api::Pages::default();
        for _ in 0..MAX_PAGES {
            if !pages.first_time(Some(url.as_str())) {
                break;
            }
            let doc = self.get(source, http, &url, now).await?;
            let mut reached_floor = false;
            for d in doc.data.into_iter().filter(|d| d.kind == "discussions") {
                let Some(last) = d.attr("lastPostedAt").and_then(api::parse_date) else {
                    continue;
                };
                let last = last.timestamp();
                if last >= floor {
                    bumped.push((d, last));
                } else {
                    reached_floor = true;
                    if first_poll {
                        poll.too_old += 1;
                    }
                }
            }
            match self.next_page(&doc.links) {
                Some(next) if !reached_floor => url = next,
                _ => break,
            }
        }
        // Oldest first, so that the watermark only moves over what was read: what
        // does not fit in this poll is read by the next one.
        bumped.sort_by_key(|(d, t)| (*t, d.id.clone()));
        let mut once = std::collections::HashSet::new();
        bumped.retain(|(d, _)| once.insert(d.id.clone()));
        for (d, last) in bumped.iter().take(MAX_DISCUSSIONS) {
            self.discussion_posts(source, http, d, posts_floor, seen, now, poll)
                .await?;
            mark.advance(*last);
        }
        mark.pending = (bumped.len() > MAX_DISCUSSIONS).then_some(posts_floor);
        Ok(())
    }

    async fn discussion_posts(
        &self,
        source: &Source,
        http: &Http,
        d: &Resource,
        floor: i64,
        cursor: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        let mut url = api::endpoint(&self.base, "api/posts");
        url.query_pairs_mut()
            .append_pair("filter[discussion]", &d.id)
            .append_pair("sort", "-createdAt")
            .append_pair("page[limit]", "50");
        // Newest first, page after page, until a post read before.
        let mut pages = api::Pages::default();
        for _ in 0..MAX_PAGES {
            if !pages.first_time(Some(url.as_str())) {
                return Ok(());
            }
            let doc = self.get(source, http, &url, now).await?;
            if self.posts_page(source, d, &doc, floor, cursor, now, poll) {
                return Ok(());
            }
            match self.next_page(&doc.links) {
                Some(next) => url = next,
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// Takes the new posts of one page; true once a known post, or one older than the
    /// window (`floor`), is reached.
    #[allow(clippy::too_many_arguments)]
    fn posts_page(
        &self,
        source: &Source,
        d: &Resource,
        doc: &Document,
        floor: i64,
        cursor: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> bool {
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
                return true; // newest first: the rest was read before
            }
            let created = p.attr("createdAt").and_then(api::parse_date);
            if created.is_some_and(|c| c.timestamp() < floor) {
                return true; // older than what this poll looks at
            }
            let number = p
                .attributes
                .get("number")
                .and_then(|n| n.as_i64())
                .unwrap_or(1);
            let user = p.rel_id("user").and_then(|u| users.get(u));
            let item = Item {
                key: key.clone(),
                url: api::endpoint(
                    &self.base,
                    &format!("d/{}/{number}", discussion_path(&d.id, slug)),
                )
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
        false
    }
}

/// Flarum's walker: with the posts seen, shared by every query of a poll.
struct Posts<'a> {
    walker: api::Walker<'a, Flarum>,
    seen: Cursor,
}

impl api::Walk for Posts<'_> {
    type Query = Option<String>;
    async fn walk(
        &mut self,
        q: Option<String>,
        mark: &mut Cursor,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        let w = &self.walker;
        w.kind
            .query(w.source, w.http, q, mark, &mut self.seen, w.now, poll)
            .await
    }
}

impl Flarum {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        // A listing's discussions (their last post times, the next page), then the posts
        // of the page under its first included discussion, as `discussion_posts` reads them.
        let doc: Document = api::Response::with_body(body).json()?;
        let _ = self.next_page(&doc.links);
        let discussions = doc.data.iter().chain(&doc.included);
        let discussions = discussions.filter(|d| d.kind == "discussions");
        let _ = discussions
            .clone()
            .filter_map(|d| d.attr("lastPostedAt").and_then(api::parse_date))
            .count();
        let unnamed = Resource {
            kind: "discussions".into(),
            id: "1".into(),
            attributes: serde_json::Value::Null,
            relationships: serde_json::Value::Null,
        };
        let d = discussions.clone().next().unwrap_or(&unnamed);
        let mut poll = Poll::default();
        self.posts_page(
            source,
            d,
            &doc,
            i64::MIN,
            &mut Cursor::default(),
            now,
            &mut poll,
        );
        Ok(poll.mentions)
    }
}

/// The discussion's part of a Flarum URL, `ID-SLUG`: Flarum 1.x's `slug` attribute already
/// starts with the id (`3187-acme-panne`, the default slug driver), older versions give the
/// bare slug (`acme-panne`); an empty slug (or one made of the id alone) gives the id.
fn discussion_path(id: &str, slug: &str) -> String {
    let with_id = slug == id
        || slug
            .strip_prefix(id)
            .is_some_and(|rest| rest.starts_with('-'));
    match (slug.is_empty(), with_id) {
        (true, _) => id.to_string(),
        (false, true) => slug.to_string(),
        (false, false) => format!("{id}-{slug}"),
    }
}

#[cfg(test)]
mod tests {
    use super::discussion_path;

    #[test]
    fn discussion_urls_carry_the_id_once_in_every_flarum_version() {
        // 1.x: the slug starts with the id.
        assert_eq!(
            discussion_path("3187", "3187-acme-panne"),
            "3187-acme-panne"
        );
        // Beta versions: the bare slug.
        assert_eq!(discussion_path("3187", "acme-panne"), "3187-acme-panne");
        // A slug that only looks like it starts with the id.
        assert_eq!(discussion_path("31", "3187-acme"), "31-3187-acme");
        assert_eq!(discussion_path("3187", ""), "3187");
        assert_eq!(discussion_path("3187", "3187"), "3187");
    }
}
