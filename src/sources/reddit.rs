//! `kind = "reddit"`: site search (newest first) and the `new` listing of subreddits.
//!
//! With `client_id_file`/`client_secret_file`, an app-only OAuth token is fetched (and
//! renewed) and calls go to oauth.reddit.com; without, the public `.json` endpoints are
//! used (10 requests/min). Every call sends `raw_json=1` (otherwise `<`, `>`, `&` come
//! HTML-escaped inside JSON strings) and the User-Agent Reddit requires:
//! `<platform>:<app id>:<version> (by /u/<username>)`.
//!
//! Over 500 lines with its tests (about 475 of code).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api::{self, Cursor, Dialect, Item, MAX_PAGES, RateLimit, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::crawl::{FetchError, Http};
use crate::mention::Engagement;
use crate::model::{Secret, SourceFile};

/// Settings of a `kind = "reddit"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedditConfig {
    /// API host; default https://oauth.reddit.com with credentials, else https://www.reddit.com.
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// Where tokens come from (default https://www.reddit.com).
    #[serde(default)]
    pub auth_url: Option<Spanned<String>>,
    /// Subreddits whose `new` listing is read, without "r/".
    #[serde(default)]
    pub subreddits: Vec<String>,
    /// Site-wide search (default true): a query as written…
    #[serde(default)]
    pub query: Option<String>,
    /// …or derived from these brands' queries (all brands when empty).
    #[serde(default)]
    pub brands: Vec<String>,
    /// Turn site-wide search off (listings only).
    #[serde(default = "yes")]
    pub search: bool,
    /// Your Reddit username, for the User-Agent Reddit requires.
    pub username: String,
    #[serde(default)]
    pub client_id_file: Option<PathBuf>,
    #[serde(default)]
    pub client_id_env: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone)]
pub struct Reddit {
    base: Url,
    auth: Url,
    subreddits: Vec<String>,
    search_on: bool,
    pub search: SearchTerms,
    user_agent: String,
    credentials: Option<(Secret, Secret)>,
    token: Arc<Mutex<Option<(Secret, DateTime<Utc>)>>>,
}

impl RedditConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        base_dir: &Path,
    ) -> Option<Reddit> {
        let id = api::secret(
            file,
            span.clone(),
            "client_id",
            self.client_id_file,
            self.client_id_env,
            base_dir,
        )?;
        let secret = api::secret(
            file,
            span.clone(),
            "client_secret",
            self.client_secret_file,
            self.client_secret_env,
            base_dir,
        )?;
        let credentials = match (id, secret) {
            (Some(i), Some(s)) => {
                // Sent as HTTP Basic: its base64 form is a secret too, should an error
                // page quote the request back.
                use base64::Engine as _;
                crate::model::redact::register(
                    &base64::engine::general_purpose::STANDARD.encode(format!(
                        "{}:{}",
                        i.expose(),
                        s.expose()
                    )),
                );
                Some((i, s))
            }
            (None, None) => None,
            _ => {
                file.error(
                    span,
                    "set both client_id_file and client_secret_file (or neither)",
                );
                return None;
            }
        };
        let default_base = if credentials.is_some() {
            "https://oauth.reddit.com"
        } else {
            "https://www.reddit.com"
        };
        let base = match &self.base_url {
            Some(b) => api::base_url(file, b)?,
            None => Url::parse(&format!("{default_base}/")).expect("valid URL"),
        };
        let auth = match &self.auth_url {
            Some(a) => api::base_url(file, a)?,
            None => Url::parse("https://www.reddit.com/").expect("valid URL"),
        };
        if self.username.trim().is_empty() || self.username.contains(char::is_whitespace) {
            file.error(
                span,
                "`username` must be your Reddit username (it goes in the User-Agent)",
            );
            return None;
        }
        if self.subreddits.is_empty() && !self.search {
            file.error(
                span,
                "nothing to watch: set `subreddits` or leave `search` on",
            );
            return None;
        }
        Some(Reddit {
            base,
            auth,
            subreddits: self
                .subreddits
                .iter()
                .map(|s| s.trim_start_matches("r/").to_string())
                .collect(),
            search_on: self.search,
            search: SearchTerms::new(self.query, self.brands),
            user_agent: format!(
                "{}:veille:{} (by /u/{})",
                std::env::consts::OS,
                env!("CARGO_PKG_VERSION"),
                self.username.trim_start_matches("u/")
            ),
            credentials,
            token: Arc::default(),
        })
    }
}

#[derive(Deserialize)]
struct Listing {
    data: ListingData,
}

#[derive(Deserialize)]
struct ListingData {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    children: Vec<Thing>,
}

#[derive(Deserialize)]
struct Thing {
    kind: String,
    data: Post,
}

/// A `t3` link (post).
#[derive(Debug, Deserialize)]
pub struct Post {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub selftext: String,
    #[serde(default)]
    pub author: Option<String>,
    pub permalink: String,
    #[serde(default)]
    pub url: Option<String>,
    pub created_utc: f64,
    #[serde(default)]
    pub subreddit_name_prefixed: Option<String>,
    #[serde(default)]
    pub subreddit_subscribers: Option<u64>,
    #[serde(default)]
    pub score: Option<i64>,
    #[serde(default)]
    pub num_comments: Option<i64>,
    #[serde(default)]
    pub num_crossposts: Option<i64>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

pub fn post_item(p: &Post) -> Item {
    let mut text = p.selftext.clone();
    if let Some(u) = &p.url
        && !u.contains(&p.permalink)
        && text.is_empty()
    {
        text = u.clone(); // a link post: the link is its content
    }
    Item {
        key: p.name.clone(),
        url: format!("https://www.reddit.com{}", p.permalink),
        title: p.title.clone(),
        text,
        author: p
            .author
            .as_deref()
            .filter(|a| *a != "[deleted]")
            .map(|a| format!("u/{a}")),
        author_name: p.subreddit_name_prefixed.clone().map(|s| format!("in {s}")),
        published_at: api::from_epoch(p.created_utc as i64),
        language: None,
        reach: p.subreddit_subscribers,
        engagement: Engagement {
            likes: None,
            replies: p.num_comments,
            shares: p.num_crossposts,
            score: p.score,
        },
    }
}

/// One listing or search of a poll.
pub struct Walk {
    path: String,
    params: Vec<(&'static str, String)>,
}

impl Reddit {
    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut SearchTerms> {
        Some(&mut self.search)
    }

    /// An app-only OAuth token, fetched when missing or about to expire.
    async fn bearer(
        &self,
        source: &Source,
        http: &Http,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, FetchError> {
        let Some((id, secret)) = &self.credentials else {
            return Ok(None);
        };
        if let Some((t, until)) = self.token.lock().unwrap().clone()
            && until > now + chrono::Duration::minutes(5)
        {
            return Ok(Some(format!("bearer {}", t.expose())));
        }
        let url = api::endpoint(&self.auth, "api/v1/access_token");
        let resp = api::send(http, source.allow_private, &url, |c| {
            c.post(url.clone())
                .basic_auth(id.expose(), Some(secret.expose()))
                .header("user-agent", &self.user_agent)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
        })
        .await?;
        if !resp.ok() {
            return Err(FetchError::Api(format!(
                "Reddit refused the app credentials (HTTP {}): {}",
                resp.status,
                resp.excerpt()
            )));
        }
        let tok: Token = resp.json()?;
        let until = now + chrono::Duration::seconds(tok.expires_in.unwrap_or(3600));
        *self.token.lock().unwrap() = Some((Secret::new(tok.access_token.clone()), until));
        Ok(Some(format!("bearer {}", tok.access_token)))
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        let auth = self.bearer(source, http, now).await?;
        let json = if auth.is_some() { "" } else { ".json" };
        let mut walks: Vec<(String, Walk)> = Vec::new();
        if self.search_on {
            let q = self.search.joined(" OR ");
            if !q.is_empty() {
                walks.push((
                    format!("search:{q}"),
                    Walk {
                        path: format!("search{json}"),
                        params: vec![
                            ("q", q),
                            ("sort", "new".into()),
                            ("t", "week".into()),
                            ("type", "link".into()),
                        ],
                    },
                ));
            }
        }
        for sub in &self.subreddits {
            walks.push((
                format!("r/{sub}"),
                Walk {
                    path: format!("r/{sub}/new{json}"),
                    params: vec![],
                },
            ));
        }
        api::each_query(
            state,
            walks,
            &mut Authed {
                walker: api::Walker {
                    kind: self,
                    source,
                    http,
                    now,
                },
                auth: auth.as_deref(),
            },
        )
        .await
    }

    /// Newest first, following `after`, until an item already seen or older than the
    /// watermark.
    #[allow(clippy::too_many_arguments)]
    async fn walk(
        &self,
        source: &Source,
        http: &Http,
        auth: Option<&str>,
        path: &str,
        params: &[(&'static str, String)],
        cursor: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        let first_poll = cursor.watermark.is_none();
        let since = cursor.since();
        let (mut after, mut newest) = cursor.start_walk();
        let mut done = false;
        for _ in 0..MAX_PAGES {
            let mut url = api::endpoint(&self.base, path);
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
                q.append_pair("limit", "100").append_pair("raw_json", "1");
                if let Some(a) = &after {
                    q.append_pair("after", a);
                }
            }
            let resp = api::send(http, source.allow_private, &url, |c| {
                let r = c.get(url.clone()).header("user-agent", &self.user_agent);
                match auth {
                    Some(a) => r.header("authorization", a),
                    None => r,
                }
            })
            .await?;
            let rate = RateLimit::parse(&resp.headers, Dialect::Reddit, now);
            if !resp.ok() {
                return Err(api::status_error(&resp, &rate, now));
            }
            poll.bytes += resp.body.len();
            let listing: Listing = resp.json()?;
            let mut reached_known = false;
            for t in listing.data.children.iter().filter(|t| t.kind == "t3") {
                let created = t.data.created_utc as i64;
                if since.is_some_and(|s| created < s) {
                    reached_known = true;
                    break;
                }
                newest = Some(newest.map_or(created, |n| n.max(created)));
                if cursor.remember(&t.data.name) {
                    poll.mentions
                        .push(post_item(&t.data).into_mention(&source.id, "reddit", now));
                } else {
                    reached_known = true;
                }
            }
            after = listing.data.after;
            done = first_poll || reached_known || after.is_none();
            if let Some(w) = rate.wait(now) {
                poll.retry_after = Some(w);
                break;
            }
            if done {
                break;
            }
        }
        // Not down to the known posts yet: the next poll goes on `after` the last one.
        cursor.end_walk(&source.id, newest, if done { None } else { after });
        Ok(())
    }
}

/// Reddit's walker: with the poll's bearer token, if any.
struct Authed<'a> {
    walker: api::Walker<'a, Reddit>,
    auth: Option<&'a str>,
}

impl api::Walk for Authed<'_> {
    type Query = Walk;
    async fn walk(
        &mut self,
        w: Walk,
        cursor: &mut Cursor,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        let a = &self.walker;
        a.kind
            .walk(
                a.source, a.http, self.auth, &w.path, &w.params, cursor, a.now, poll,
            )
            .await
    }
}

impl Reddit {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        let listing: Listing = api::Response::with_body(body).json()?;
        Ok(listing
            .data
            .children
            .iter()
            .filter(|t| t.kind == "t3")
            .map(|t| post_item(&t.data).into_mention(&source.id, "reddit", now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_post() {
        let p: Post = serde_json::from_str(r#"{"name":"t3_1abcde","title":"Acme kettle <melted>","selftext":"Mine broke & leaked","author":"kettle_fan",
            "permalink":"/r/france/comments/1abcde/acme_kettle_fondue/","url":"https://www.reddit.com/r/france/comments/1abcde/acme_kettle_fondue/",
            "created_utc":1773129600.0,"subreddit_name_prefixed":"r/france","subreddit_subscribers":2400000,"score":57,"num_comments":12,"num_crossposts":1,"ups":57}"#).unwrap();
        let m = post_item(&p).into_mention("r", "reddit", Utc::now());
        assert_eq!(m.title, "Acme kettle <melted>");
        assert_eq!(m.text, "Mine broke & leaked");
        assert_eq!(m.author.as_deref(), Some("u/kettle_fan"));
        assert_eq!(m.reach, Some(2_400_000));
        assert_eq!(
            (
                m.engagement.score,
                m.engagement.replies,
                m.engagement.shares
            ),
            (Some(57), Some(12), Some(1))
        );
        assert_eq!(
            m.url,
            "https://www.reddit.com/r/france/comments/1abcde/acme_kettle_fondue/"
        );
        assert_eq!(m.published_at.timestamp(), 1_773_129_600);
    }
}
