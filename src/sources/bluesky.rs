//! `kind = "bluesky"`: `app.bsky.feed.searchPosts` through an authenticated session.
//!
//! Unauthenticated search was turned off in 2025: veille opens a session on your PDS
//! with an app password (`com.atproto.server.createSession`), renews it when it expires,
//! and searches with `sort=latest`, `since` = watermark minus overlap, following `cursor`.
//! Follower counts are not in search results: one `app.bsky.actor.getProfiles` call per
//! 25 new authors fills the reach.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::json;
use toml::Spanned;
use url::Url;

use super::api::{self, Cursor, Dialect, Item, MAX_PAGES, RateLimit, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::crawl::{FetchError, Http};
use crate::mention::Engagement;
use crate::model::{Secret, SourceFile};

/// Settings of a `kind = "bluesky"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    /// Your PDS, default https://bsky.social (it proxies searches to the AppView).
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// Your handle or DID.
    pub identifier: String,
    /// An app password (Settings → App passwords), from a file.
    #[serde(default)]
    pub app_password_file: Option<PathBuf>,
    #[serde(default)]
    pub app_password_env: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    /// Only posts in this language (BCP-47), optional.
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Bluesky {
    base: Url,
    identifier: String,
    password: Secret,
    lang: Option<String>,
    pub search: SearchTerms,
    session: Arc<Mutex<Option<Secret>>>,
}

impl BlueskyConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        base_dir: &Path,
    ) -> Option<Bluesky> {
        let base = match &self.base_url {
            Some(b) => api::base_url(file, b)?,
            None => Url::parse("https://bsky.social/").expect("valid URL"),
        };
        let Some(password) = api::secret(
            file,
            span.clone(),
            "app_password",
            self.app_password_file,
            self.app_password_env,
            base_dir,
        )?
        else {
            file.error(
                span,
                "Bluesky search needs a session: set app_password_file (an app password)",
            );
            return None;
        };
        Some(Bluesky {
            base,
            identifier: self.identifier,
            password,
            lang: self.lang,
            search: SearchTerms::new(self.query, self.brands),
            session: Arc::default(),
        })
    }
}

#[derive(Deserialize)]
struct Session {
    #[serde(rename = "accessJwt")]
    access_jwt: String,
}

#[derive(Deserialize)]
struct SearchPage {
    #[serde(default)]
    posts: Vec<PostView>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PostView {
    pub uri: String,
    pub author: Author,
    pub record: Record,
    #[serde(rename = "indexedAt", default)]
    pub indexed_at: Option<String>,
    #[serde(rename = "likeCount", default)]
    pub like_count: Option<i64>,
    #[serde(rename = "replyCount", default)]
    pub reply_count: Option<i64>,
    #[serde(rename = "repostCount", default)]
    pub repost_count: Option<i64>,
    #[serde(rename = "quoteCount", default)]
    pub quote_count: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Author {
    pub did: String,
    pub handle: String,
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub text: String,
    #[serde(rename = "createdAt", default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub langs: Vec<String>,
}

#[derive(Deserialize)]
struct Profiles {
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    did: String,
    #[serde(rename = "followersCount", default)]
    followers_count: Option<u64>,
}

pub fn post_item(p: &PostView) -> Item {
    let rkey = p.uri.rsplit('/').next().unwrap_or_default();
    // `handle.invalid` cannot be linked to: the DID always can.
    let who = if p.author.handle == "handle.invalid" {
        &p.author.did
    } else {
        &p.author.handle
    };
    let created = p.record.created_at.as_deref().and_then(api::parse_date);
    let indexed = p.indexed_at.as_deref().and_then(api::parse_date);
    Item {
        key: p.uri.clone(),
        url: format!("https://bsky.app/profile/{who}/post/{rkey}"),
        title: String::new(),
        text: crate::text::collapse_whitespace(&p.record.text),
        author: Some(format!("@{}", p.author.handle)),
        author_name: p.author.display_name.clone(),
        // createdAt is declared by the client and can be backdated or in the future.
        published_at: match (created, indexed) {
            (Some(c), Some(i)) => Some(c.min(i)),
            (c, i) => c.or(i),
        },
        language: p.record.langs.first().cloned(),
        reach: None,
        engagement: Engagement {
            likes: p.like_count,
            replies: p.reply_count,
            shares: match (p.repost_count, p.quote_count) {
                (Some(r), Some(q)) => Some(r.saturating_add(q)),
                (r, q) => r.or(q),
            },
            score: None,
        },
    }
}

impl Bluesky {
    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut SearchTerms> {
        Some(&mut self.search)
    }

    async fn login(&self, source: &Source, http: &Http) -> Result<Secret, FetchError> {
        if let Some(s) = self.session.lock().unwrap().clone() {
            return Ok(s);
        }
        let url = api::endpoint(&self.base, "xrpc/com.atproto.server.createSession");
        let body = json!({"identifier": self.identifier, "password": self.password.expose()});
        let resp = api::send(http, source.allow_private, &url, |c| {
            c.post(url.clone()).json(&body)
        })
        .await?;
        if !resp.ok() {
            return Err(FetchError::Api(format!(
                "Bluesky refused the app password for {} (HTTP {}): {}",
                self.identifier,
                resp.status,
                resp.excerpt()
            )));
        }
        let s: Session = resp.json()?;
        let s = Secret::new(s.access_jwt);
        *self.session.lock().unwrap() = Some(s.clone());
        Ok(s)
    }

    /// GET with the session; an expired session is renewed once.
    async fn get(
        &self,
        source: &Source,
        http: &Http,
        url: &Url,
        now: DateTime<Utc>,
    ) -> Result<(api::Response, RateLimit), FetchError> {
        for attempt in 0..2 {
            let token = self.login(source, http).await?;
            let auth = format!("Bearer {}", token.expose());
            let resp = api::send(http, source.allow_private, url, |c| {
                c.get(url.clone()).header("authorization", &auth)
            })
            .await?;
            let rate = RateLimit::parse(&resp.headers, Dialect::Bluesky, now);
            if resp.status == 400 || resp.status == 401 {
                let body = String::from_utf8_lossy(&resp.body);
                if attempt == 0 && (body.contains("ExpiredToken") || body.contains("InvalidToken"))
                {
                    *self.session.lock().unwrap() = None;
                    continue;
                }
            }
            if !resp.ok() {
                return Err(api::status_error(&resp, &rate, now));
            }
            return Ok((resp, rate));
        }
        Err(FetchError::Api(
            "Bluesky session could not be renewed".into(),
        ))
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        let queries = self.search.each().into_iter().map(|q| (q.clone(), q));
        let mut poll = api::each_query(
            state,
            queries,
            &mut api::Walker {
                kind: self,
                source,
                http,
                now,
            },
        )
        .await?;
        self.fill_reach(source, http, now, &mut poll).await;
        Ok(poll)
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
        let since = cursor
            .since()
            .unwrap_or(now.timestamp() - source.backfill.as_secs() as i64);
        let since = api::from_epoch(since)
            .unwrap_or(now)
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        let (mut page_cursor, mut newest) = cursor.start_walk();
        let mut pages = api::Pages::default();
        for _ in 0..MAX_PAGES {
            if !pages.first_time(page_cursor.as_deref()) {
                page_cursor = None;
                break;
            }
            let mut url = api::endpoint(&self.base, "xrpc/app.bsky.feed.searchPosts");
            {
                let mut qp = url.query_pairs_mut();
                qp.append_pair("q", q)
                    .append_pair("sort", "latest")
                    .append_pair("since", &since)
                    .append_pair("limit", "100");
                if let Some(l) = &self.lang {
                    qp.append_pair("lang", l);
                }
                if let Some(c) = &page_cursor {
                    qp.append_pair("cursor", c);
                }
            }
            let (resp, rate) = self.get(source, http, &url, now).await?;
            poll.bytes += resp.body.len();
            let page: SearchPage = resp.json()?;
            let before = poll.mentions.len();
            for p in &page.posts {
                let item = post_item(p);
                if let Some(t) = item.published_at {
                    newest = Some(newest.map_or(t.timestamp(), |n| n.max(t.timestamp())));
                }
                if cursor.remember(&p.uri) {
                    poll.mentions
                        .push(item.into_mention(&source.id, "bluesky", now));
                }
            }
            page_cursor = page
                .cursor
                .filter(|_| api::Pages::worth_following(poll.mentions.len() - before));
            if let Some(w) = rate.wait(now) {
                poll.retry_after = Some(w);
                break;
            }
            if page_cursor.is_none() {
                break;
            }
        }
        // Pages left (the limit, or a rate limit): the next poll goes on from there.
        cursor.end_walk(&source.id, newest, page_cursor);
        Ok(())
    }

    /// Followers of the authors of new posts, 25 per call; a failure leaves reach unknown.
    async fn fill_reach(&self, source: &Source, http: &Http, now: DateTime<Utc>, poll: &mut Poll) {
        let mut dids: Vec<String> = Vec::new();
        for m in &poll.mentions {
            if let Some(did) = m
                .native_id
                .as_deref()
                .and_then(|u| u.strip_prefix("at://"))
                .and_then(|u| u.split('/').next())
                && !dids.iter().any(|d| d == did)
            {
                dids.push(did.to_string());
            }
        }
        let mut followers: HashMap<String, u64> = HashMap::new();
        for chunk in dids.chunks(25) {
            let mut url = api::endpoint(&self.base, "xrpc/app.bsky.actor.getProfiles");
            for d in chunk {
                url.query_pairs_mut().append_pair("actors", d);
            }
            match self
                .get(source, http, &url, now)
                .await
                .and_then(|(r, _)| r.json::<Profiles>())
            {
                Ok(p) => followers.extend(
                    p.profiles
                        .into_iter()
                        .filter_map(|p| Some((p.did, p.followers_count?))),
                ),
                Err(e) => {
                    tracing::debug!(source = %source.id, error = %e, "no follower counts");
                    break;
                }
            }
        }
        for m in &mut poll.mentions {
            let did = m
                .native_id
                .as_deref()
                .and_then(|u| u.strip_prefix("at://"))
                .and_then(|u| u.split('/').next());
            if let Some(n) = did.and_then(|d| followers.get(d)) {
                m.reach = Some(*n);
            }
        }
    }
}

impl api::Walk for api::Walker<'_, Bluesky> {
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

impl Bluesky {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        let page: SearchPage = api::Response::with_body(body).json()?;
        Ok(page
            .posts
            .iter()
            .map(|p| post_item(p).into_mention(&source.id, "bluesky", now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_post_view() {
        let p: PostView = serde_json::from_str(r#"{"uri":"at://did:plc:abc123/app.bsky.feed.post/3kxyz","cid":"bafy",
            "author":{"did":"did:plc:abc123","handle":"handle.invalid","displayName":"Zoé"},
            "record":{"$type":"app.bsky.feed.post","text":"Acme c'est une arnaque 😡","createdAt":"2026-03-10T08:00:00.000Z","langs":["fr"]},
            "indexedAt":"2026-03-10T08:00:02.000Z","likeCount":3,"replyCount":1,"repostCount":2,"quoteCount":1}"#).unwrap();
        let m = post_item(&p).into_mention("b", "bluesky", Utc::now());
        assert_eq!(m.url, "https://bsky.app/profile/did:plc:abc123/post/3kxyz");
        assert_eq!(m.text, "Acme c'est une arnaque 😡");
        assert_eq!(m.language.as_deref(), Some("fr"));
        assert_eq!(m.engagement.shares, Some(3));
        assert_eq!(m.author_name.as_deref(), Some("Zoé"));
    }
}
