//! `kind = "stackexchange"`: questions of one site through `/2.3/search/advanced`
//! (`sort=creation`, `fromdate` = watermark minus overlap, `filter=withbody`), paging
//! while `has_more`. The API's own throttling is obeyed: the `backoff` field (seconds
//! before calling the method again), `quota_remaining`, and HTTP 400 with error 502
//! `throttle_violation`. Responses are always compressed; reqwest decodes them.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api::{self, Cursor, Item, MAX_PAGES, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::crawl::{FetchError, Http};
use crate::mention::Engagement;
use crate::model::{Secret, SourceFile};
use crate::text;

/// Settings of a `kind = "stackexchange"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackExchangeConfig {
    /// Default https://api.stackexchange.com.
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// API site parameter: "stackoverflow", "superuser", "fr.stackoverflow"…
    pub site: String,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    /// App key (raises the quota from 300 to 10,000 calls a day), from a file.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub key_env: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StackExchange {
    base: Url,
    site: String,
    key: Option<Secret>,
    pub search: SearchTerms,
}

impl StackExchange {
    /// Whether an app key is configured (it raises the daily quota from 300 requests
    /// to 10,000).
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }
}

impl StackExchangeConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        base_dir: &Path,
    ) -> Option<StackExchange> {
        let base = match &self.base_url {
            Some(b) => api::base_url(file, b)?,
            None => Url::parse("https://api.stackexchange.com/").expect("valid URL"),
        };
        let key = api::secret(file, span, "key", self.key_file, self.key_env, base_dir)?;
        Some(StackExchange {
            base,
            site: self.site,
            key,
            search: SearchTerms::new(self.query, self.brands),
        })
    }
}

#[derive(Deserialize)]
struct Wrapper {
    #[serde(default)]
    items: Vec<Question>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    quota_remaining: Option<i64>,
    #[serde(default)]
    backoff: Option<u64>,
    #[serde(default)]
    error_id: Option<i64>,
    #[serde(default)]
    error_name: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Question {
    pub question_id: i64,
    pub link: String,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub creation_date: i64,
    #[serde(default)]
    pub score: Option<i64>,
    #[serde(default)]
    pub answer_count: Option<i64>,
    #[serde(default)]
    pub owner: Option<Owner>,
}

#[derive(Debug, Deserialize)]
pub struct Owner {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub reputation: Option<u64>,
    #[serde(default)]
    pub user_id: Option<i64>,
}

pub fn question_item(site: &str, q: &Question) -> Item {
    let owner = q.owner.as_ref();
    Item {
        key: format!("{site}:q:{}", q.question_id),
        url: q.link.clone(),
        // Titles and names come entity-encoded (&#39;, &quot;): decoded once.
        title: text::html_to_text(&q.title),
        text: text::html_to_text(q.body.as_deref().unwrap_or("")),
        author: owner
            .and_then(|o| o.user_id)
            .map(|id| format!("{site}/users/{id}"))
            .or_else(|| owner.and_then(|o| o.display_name.as_deref().map(text::html_to_text))),
        author_name: owner.and_then(|o| o.display_name.as_deref().map(text::html_to_text)),
        published_at: api::from_epoch(q.creation_date),
        language: None,
        reach: owner.and_then(|o| o.reputation),
        engagement: Engagement {
            likes: None,
            replies: q.answer_count,
            shares: None,
            score: q.score,
        },
    }
}

impl StackExchange {
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
        let since = cursor
            .since()
            .unwrap_or(now.timestamp() - source.backfill.as_secs() as i64);
        let (resume, mut newest) = cursor.start_walk();
        let first = resume.and_then(|p| p.parse::<usize>().ok()).unwrap_or(1);
        let mut next = None;
        for page in first..first + MAX_PAGES {
            let mut url = api::endpoint(&self.base, "2.3/search/advanced");
            {
                let mut qp = url.query_pairs_mut();
                qp.append_pair("site", &self.site)
                    .append_pair("q", q)
                    .append_pair("sort", "creation")
                    .append_pair("order", "desc")
                    .append_pair("fromdate", &since.to_string())
                    .append_pair("pagesize", "100")
                    .append_pair("page", &page.to_string())
                    .append_pair("filter", "withbody");
                if let Some(k) = &self.key {
                    qp.append_pair("key", k.expose());
                }
            }
            // Stack Exchange counts every request against the day's quota.
            poll.quota_units += super::quota::STACKEXCHANGE_REQUEST_UNITS;
            let resp = api::send(http, source.allow_private, &url, |c| c.get(url.clone())).await?;
            let w: Wrapper = resp.json()?;
            if let Some(id) = w.error_id {
                return Err(
                    if id == 502 || w.error_name.as_deref() == Some("throttle_violation") {
                        FetchError::RateLimited {
                            status: resp.status,
                            retry_after: Some(std::time::Duration::from_secs(
                                w.error_message
                                    .as_deref()
                                    .and_then(|m| {
                                        m.split_whitespace().find_map(|t| t.parse::<u64>().ok())
                                    })
                                    .unwrap_or(3600),
                            )),
                        }
                    } else {
                        FetchError::Api(format!(
                            "Stack Exchange error {id} {}: {}",
                            w.error_name.unwrap_or_default(),
                            w.error_message.unwrap_or_default()
                        ))
                    },
                );
            }
            if !resp.ok() {
                return Err(FetchError::Api(format!(
                    "HTTP {}: {}",
                    resp.status,
                    resp.excerpt()
                )));
            }
            poll.bytes += resp.body.len();
            let before = poll.mentions.len();
            for item in &w.items {
                newest = Some(newest.map_or(item.creation_date, |n| n.max(item.creation_date)));
                let it = question_item(&self.site, item);
                if cursor.remember(&it.key) {
                    poll.mentions
                        .push(it.into_mention(&source.id, "stackexchange", now));
                }
            }
            // More pages: where the next poll goes on if this one stops here.
            next = w.has_more.then(|| (page + 1).to_string());
            // `backoff`: do not call this method again before that many seconds.
            if let Some(b) = w.backoff {
                poll.retry_after = Some(std::time::Duration::from_secs(b));
                break;
            }
            if w.quota_remaining.is_some_and(|q| q <= 0) {
                // The daily quota resets at midnight UTC.
                let midnight = (now + chrono::Duration::days(1))
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
                    .and_utc();
                poll.retry_after = (midnight - now).to_std().ok();
                break;
            }
            // A page of nothing new: what follows was read before (or the server repeats).
            if !w.has_more || !api::Pages::worth_following(poll.mentions.len() - before) {
                next = None;
                break;
            }
        }
        cursor.end_walk(&source.id, newest, next);
        Ok(())
    }
}

impl api::Walk for api::Walker<'_, StackExchange> {
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

impl StackExchange {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        let w: Wrapper = api::Response::with_body(body).json()?;
        Ok(w.items
            .iter()
            .map(|q| question_item(&self.site, q).into_mention(&source.id, "stackexchange", now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_question_with_entities() {
        let q: Question = serde_json::from_str(r#"{"question_id":7812345,"link":"https://stackoverflow.com/questions/7812345/acme-sdk-crash",
            "title":"Acme SDK&#39;s &quot;init&quot; crashes","body":"<p>Using <code>acme::init()</code> &amp; it fails</p>",
            "creation_date":1773129600,"score":3,"answer_count":1,"owner":{"user_id":42,"display_name":"J&#233;r&#244;me","reputation":1520,"user_type":"registered"}}"#).unwrap();
        let m = question_item("stackoverflow", &q).into_mention("s", "stackexchange", Utc::now());
        assert_eq!(m.title, "Acme SDK's \"init\" crashes");
        assert_eq!(m.text, "Using acme::init() & it fails");
        assert_eq!(m.author_name.as_deref(), Some("Jérôme"));
        assert_eq!(m.author.as_deref(), Some("stackoverflow/users/42"));
        assert_eq!(m.reach, Some(1520));
    }
}
