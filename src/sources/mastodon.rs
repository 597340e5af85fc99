//! `kind = "mastodon"`: hashtag timelines over one or more instances (public), and
//! full-text status search when a token is configured (the instance must run
//! Elasticsearch/OpenSearch; only statuses of accounts that opted in are searchable).
//!
//! Paging walks forward with `min_id` from the newest status seen; the first poll takes
//! the newest page only. A status is keyed by its `uri`, so the same post seen through two
//! instances is one mention.

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

/// Settings of a `kind = "mastodon"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    /// Instance, e.g. "https://mastodon.social".
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// More instances to watch the same hashtags on.
    #[serde(default)]
    pub instances: Vec<Spanned<String>>,
    /// Hashtags to follow, without '#'.
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// Full-text search (needs a token): a query sent as written…
    #[serde(default)]
    pub query: Option<String>,
    /// …or derived from these brands' queries (all brands when empty).
    #[serde(default)]
    pub brands: Vec<String>,
    /// User access token with `read:search` (and `read:statuses`), from a file.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub token_env: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Mastodon {
    pub instances: Vec<Url>,
    pub hashtags: Vec<String>,
    pub search: SearchTerms,
    token: Option<Secret>,
}

impl MastodonConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        base_dir: &Path,
    ) -> Option<Mastodon> {
        let mut instances = Vec::new();
        for v in self.base_url.iter().chain(self.instances.iter()) {
            instances.push(api::base_url(file, v)?);
        }
        if instances.is_empty() {
            file.error(
                span.clone(),
                "missing `base_url`: the Mastodon instance, e.g. \"https://mastodon.social\"",
            );
            return None;
        }
        let token = api::secret(
            file,
            span.clone(),
            "token",
            self.token_file,
            self.token_env,
            base_dir,
        )?;
        if self.hashtags.is_empty() && token.is_none() {
            file.error(
                span,
                "nothing to watch: set `hashtags` (public timelines) or a token (token_file) for full-text search",
            );
            return None;
        }
        Some(Mastodon {
            instances,
            hashtags: self
                .hashtags
                .iter()
                .map(|h| h.trim_start_matches('#').to_string())
                .collect(),
            search: SearchTerms::new(self.query, self.brands),
            token,
        })
    }
}

/// The parts of a Mastodon `Status` veille reads.
#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub uri: String,
    #[serde(default)]
    pub url: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub spoiler_text: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub replies_count: Option<i64>,
    #[serde(default)]
    pub reblogs_count: Option<i64>,
    #[serde(default)]
    pub favourites_count: Option<i64>,
    #[serde(default)]
    pub quotes_count: Option<i64>,
    pub account: Account,
    #[serde(default)]
    pub reblog: Option<Box<Status>>,
}

#[derive(Debug, Deserialize)]
pub struct Account {
    pub acct: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub followers_count: Option<u64>,
}

#[derive(Deserialize)]
struct SearchResult {
    #[serde(default)]
    statuses: Vec<Status>,
}

/// Larger snowflake id (longer string, then lexical).
fn newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

fn invisible() -> &'static [scraper::Selector] {
    static S: std::sync::OnceLock<Vec<scraper::Selector>> = std::sync::OnceLock::new();
    S.get_or_init(|| vec![scraper::Selector::parse("span.invisible").expect("valid selector")])
}

pub fn status_item(s: &Status) -> Item {
    let s = s.reblog.as_deref().unwrap_or(s);
    Item {
        key: s.uri.clone(),
        url: s.url.clone().unwrap_or_else(|| s.uri.clone()),
        title: text::html_to_text(&s.spoiler_text),
        // Link previews hide the scheme and the tail of URLs in invisible spans.
        text: text::html_to_text_without(&s.content, invisible()),
        author: Some(format!("@{}", s.account.acct)),
        author_name: Some(s.account.display_name.clone()),
        published_at: api::parse_date(&s.created_at),
        language: s.language.clone(),
        reach: s.account.followers_count,
        engagement: Engagement {
            likes: s.favourites_count,
            replies: s.replies_count,
            shares: match (s.reblogs_count, s.quotes_count) {
                (Some(r), Some(q)) => Some(r.saturating_add(q)),
                (r, q) => r.or(q),
            },
            score: None,
        },
    }
}

/// One timeline or search of a poll.
pub struct Walk {
    base: Url,
    path: String,
    params: Vec<(&'static str, String)>,
    search: bool,
}

impl Mastodon {
    pub fn search_mut(&mut self) -> Option<&mut SearchTerms> {
        Some(&mut self.search)
    }

    pub fn host(&self) -> String {
        self.instances[0].host_str().unwrap_or_default().to_string()
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        // Each instance's hashtag timelines, then its searches (with a token).
        let mut walks: Vec<(String, Walk)> = Vec::new();
        for base in &self.instances {
            for tag in &self.hashtags {
                let path = format!("api/v1/timelines/tag/{}", urlencode(tag));
                walks.push((
                    format!("{base}|tag:{tag}"),
                    Walk {
                        base: base.clone(),
                        path,
                        params: Vec::new(),
                        search: false,
                    },
                ));
            }
            if self.token.is_some() {
                for q in self.search.each() {
                    let params = vec![
                        ("q", q.clone()),
                        ("type", "statuses".to_string()),
                        ("resolve", "false".to_string()),
                    ];
                    walks.push((
                        format!("{base}|q:{q}"),
                        Walk {
                            base: base.clone(),
                            path: "api/v2/search".to_string(),
                            params,
                            search: true,
                        },
                    ));
                }
            }
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

    /// Walks one timeline or search forward from the cursor.
    #[allow(clippy::too_many_arguments)]
    async fn walk(
        &self,
        source: &Source,
        http: &Http,
        base: &Url,
        path: &str,
        params: &[(&'static str, String)],
        search: bool,
        cursor: &mut Cursor,
        now: DateTime<Utc>,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        const LIMIT: usize = 40;
        let first_poll = cursor.position.is_none();
        // Remote posts arrive late with ids from their own creation time: walk again over
        // the last minutes (the seen-set drops what is known) — unless the last poll
        // stopped at its page limit, then go on from there.
        let mut from = match &cursor.position {
            Some(p) if !cursor.behind => Some(overlap_id(p)),
            p => p.clone(),
        };
        let mut truncated = true;
        let mut pages = api::Pages::default();
        for _ in 0..MAX_PAGES {
            // The same `min_id` again (a server repeating its page): nothing more to read.
            if !pages.first_time(from.as_deref()) {
                truncated = false;
                break;
            }
            let mut url = api::endpoint(base, path);
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
                q.append_pair("limit", &LIMIT.to_string());
                if let Some(min) = &from {
                    q.append_pair("min_id", min);
                }
            }
            let token = self
                .token
                .as_ref()
                .map(|t| format!("Bearer {}", t.expose()));
            let resp = api::send(http, source.allow_private, &url, |c| {
                let r = c.get(url.clone()).header("accept", "application/json");
                match &token {
                    Some(t) => r.header("authorization", t),
                    None => r,
                }
            })
            .await?;
            let rate = RateLimit::parse(&resp.headers, Dialect::Mastodon, now);
            if !resp.ok() {
                return Err(api::status_error(&resp, &rate, now));
            }
            poll.bytes += resp.body.len();
            let statuses: Vec<Status> = if search {
                resp.json::<SearchResult>()?.statuses
            } else {
                resp.json()?
            };
            let count = statuses.len();
            for s in &statuses {
                if cursor.position.as_deref().is_none_or(|p| newer(&s.id, p)) {
                    cursor.position = Some(s.id.clone());
                }
                if from.as_deref().is_none_or(|p| newer(&s.id, p)) {
                    from = Some(s.id.clone());
                }
                let item = status_item(s);
                if cursor.remember(&item.key) {
                    poll.mentions
                        .push(item.into_mention(&source.id, "mastodon", now));
                }
            }
            if let Some(w) = rate.wait(now) {
                poll.retry_after = Some(poll.retry_after.map_or(w, |p| p.max(w)));
                truncated = count == LIMIT;
                break;
            }
            // The first poll takes the newest page only: no backfill of the whole history.
            if first_poll || count < LIMIT {
                truncated = false;
                break;
            }
        }
        cursor.behind = truncated;
        Ok(())
    }
}

/// Mastodon ids are Snowflake-like: milliseconds since the epoch in the high bits. The id
/// `OVERLAP_SECS` before `id`, to look back for late-arriving remote posts; small ids
/// (other server software) are left as they are.
fn overlap_id(id: &str) -> String {
    match id.parse::<u64>() {
        Ok(n) if n >> 16 > 1_000_000_000_000 => {
            let ms = (n >> 16).saturating_sub(api::OVERLAP_SECS as u64 * 1000);
            (ms << 16).to_string()
        }
        _ => id.to_string(),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl api::Walk for api::Walker<'_, Mastodon> {
    type Query = Walk;
    async fn walk(
        &mut self,
        q: Walk,
        cursor: &mut Cursor,
        poll: &mut Poll,
    ) -> Result<(), FetchError> {
        let w = q;
        self.kind
            .walk(
                self.source,
                self.http,
                &w.base,
                &w.path,
                &w.params,
                w.search,
                cursor,
                self.now,
                poll,
            )
            .await
    }
}

impl Mastodon {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        // A timeline is an array of statuses, a search an object holding them.
        let resp = api::Response::with_body(body);
        let statuses: Vec<Status> = match resp.json() {
            Ok(v) => v,
            Err(_) => resp.json::<SearchResult>()?.statuses,
        };
        Ok(statuses
            .iter()
            .map(|s| {
                let _ = overlap_id(&s.id);
                status_item(s).into_mention(&source.id, "mastodon", now)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_documented_status() {
        let s: Status = serde_json::from_str(r#"{"id":"116203814387712007","created_at":"2026-03-10T07:58:12.000Z","sensitive":true,"spoiler_text":"boycott",
 "visibility":"public","language":"fr","uri":"https://piaille.fr/users/margaux_l/statuses/116203814001122334",
 "url":"https://piaille.fr/@margaux_l/116203814001122334","replies_count":4,"reblogs_count":12,"favourites_count":9,
 "quotes_count":1,"edited_at":"2026-03-10T08:03:40.000Z","content":"<p>Encore une <strong>arnaque</strong> chez Brioche Dorée Lumière … <a href=\"https://x.example/long/path\"><span class=\"invisible\">https://</span><span class=\"ellipsis\">x.example/long</span><span class=\"invisible\">/path</span></a></p>",
 "account":{"acct":"margaux_l@piaille.fr","display_name":"Margaux L. :verified_fake:","followers_count":342},
 "tags":[{"name":"acme","url":"https://mastodon.social/tags/acme"}]}"#).unwrap();
        let m = status_item(&s).into_mention("m", "mastodon", Utc::now());
        assert_eq!(m.title, "boycott");
        assert_eq!(
            m.text,
            "Encore une arnaque chez Brioche Dorée Lumière … x.example/long"
        );
        assert_eq!(m.author.as_deref(), Some("@margaux_l@piaille.fr"));
        assert_eq!(m.author_name.as_deref(), Some("Margaux L. :verified_fake:"));
        assert_eq!(m.reach, Some(342));
        assert_eq!(m.engagement.shares, Some(13));
        assert_eq!(m.url, "https://piaille.fr/@margaux_l/116203814001122334");
        assert_eq!(m.language.as_deref(), Some("fr"));
    }

    #[test]
    fn snowflake_order() {
        assert!(newer("116203814387712008", "116203814387712007"));
        assert!(newer("1000", "999"));
        assert!(!newer("999", "1000"));
    }
}
