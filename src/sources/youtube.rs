//! `kind = "youtube"`: YouTube Data API v3 `search.list` (videos, newest first,
//! `publishedAfter` = watermark minus overlap, following `nextPageToken`). Each call costs
//! quota; a spent quota (HTTP 403 `quotaExceeded`) is reported as such and the source
//! waits until the daily reset (midnight Pacific time).

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api::{self, Cursor, Item, MAX_PAGES, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::crawl::{FetchError, Http};
use crate::model::{Secret, SourceFile};
use crate::text;

/// Settings of a `kind = "youtube"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YouTubeConfig {
    /// Default https://www.googleapis.com.
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    /// API key (Google Cloud console → APIs & Services → Credentials), from a file.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub key_env: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    /// Preferred language of results (`relevanceLanguage`), e.g. "fr".
    #[serde(default)]
    pub language: Option<String>,
    /// `regionCode`, e.g. "FR".
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone)]
pub struct YouTube {
    base: Url,
    key: Secret,
    language: Option<String>,
    region: Option<String>,
    pub search: SearchTerms,
}

impl YouTubeConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        base_dir: &Path,
    ) -> Option<YouTube> {
        let base = match &self.base_url {
            Some(b) => api::base_url(file, b)?,
            None => Url::parse("https://www.googleapis.com/").expect("valid URL"),
        };
        let Some(key) = api::secret(
            file,
            span.clone(),
            "key",
            self.key_file,
            self.key_env,
            base_dir,
        )?
        else {
            file.error(span, "the YouTube Data API needs an API key: set key_file");
            return None;
        };
        Some(YouTube {
            base,
            key,
            language: self.language,
            region: self.region,
            search: SearchTerms::new(self.query, self.brands),
        })
    }
}

#[derive(Deserialize)]
struct SearchList {
    #[serde(default)]
    items: Vec<SearchResult>,
    #[serde(rename = "nextPageToken", default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SearchResult {
    pub id: ResultId,
    pub snippet: Snippet,
}

#[derive(Debug, Deserialize)]
pub struct ResultId {
    #[serde(rename = "videoId", default)]
    pub video_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Snippet {
    #[serde(rename = "publishedAt")]
    pub published_at: String,
    #[serde(rename = "channelId", default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "channelTitle", default)]
    pub channel_title: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorReason>,
}

#[derive(Deserialize)]
struct ErrorReason {
    #[serde(default)]
    reason: String,
}

pub fn video_item(r: &SearchResult) -> Option<Item> {
    let id = r.id.video_id.clone()?;
    Some(Item {
        key: id.clone(),
        url: format!("https://www.youtube.com/watch?v={id}"),
        // Snippets carry HTML entities (&#39;, &quot;, &amp;): decoded once.
        title: text::html_to_text(&r.snippet.title),
        text: text::html_to_text(&r.snippet.description),
        author: r
            .snippet
            .channel_id
            .clone()
            .map(|c| format!("youtube/channel/{c}")),
        author_name: r.snippet.channel_title.as_deref().map(text::html_to_text),
        published_at: api::parse_date(&r.snippet.published_at),
        ..Default::default()
    })
}

/// Next midnight in California (UTC−8, or UTC−7 in summer: −8 is used, at worst an hour late).
fn next_pacific_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let pacific = now - chrono::Duration::hours(8);
    let elapsed = chrono::Duration::seconds(pacific.num_seconds_from_midnight() as i64);
    now - elapsed + chrono::Duration::days(1)
}

impl YouTube {
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
        // One query for all brands: `|` is OR in YouTube search.
        let q = self.search.joined("|");
        api::each_query(
            state,
            [(q.clone(), q)],
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
        let after = api::from_epoch(since)
            .unwrap_or(now)
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        let (mut token, mut newest) = cursor.start_walk();
        let mut pages = api::Pages::default();
        for _ in 0..MAX_PAGES {
            if !pages.first_time(token.as_deref()) {
                token = None;
                break;
            }
            let mut url = api::endpoint(&self.base, "youtube/v3/search");
            {
                let mut qp = url.query_pairs_mut();
                qp.append_pair("part", "snippet")
                    .append_pair("q", q)
                    .append_pair("type", "video")
                    .append_pair("order", "date")
                    .append_pair("publishedAfter", &after)
                    .append_pair("maxResults", "50");
                if let Some(l) = &self.language {
                    qp.append_pair("relevanceLanguage", l);
                }
                if let Some(r) = &self.region {
                    qp.append_pair("regionCode", r);
                }
                if let Some(t) = &token {
                    qp.append_pair("pageToken", t);
                }
                qp.append_pair("key", self.key.expose());
            }
            // The call is charged whatever it answers.
            poll.quota_units += super::quota::YOUTUBE_SEARCH_UNITS;
            let resp = api::send(http, source.allow_private, &url, |c| c.get(url.clone())).await?;
            if !resp.ok() {
                let err: Option<ErrorBody> = serde_json::from_slice(&resp.body).ok();
                let reasons: Vec<String> = err
                    .as_ref()
                    .map(|e| e.error.errors.iter().map(|r| r.reason.clone()).collect())
                    .unwrap_or_default();
                if reasons
                    .iter()
                    .any(|r| r == "quotaExceeded" || r == "dailyLimitExceeded")
                {
                    tracing::warn!(source = %source.id, "YouTube API quota exceeded: no search until the daily reset (midnight Pacific time)");
                    return Err(FetchError::RateLimited {
                        status: resp.status,
                        retry_after: (next_pacific_midnight(now) - now).to_std().ok(),
                    });
                }
                // The key must never reach a log: the message is the API's, not the URL.
                return Err(FetchError::Api(format!(
                    "YouTube API HTTP {}: {}",
                    resp.status,
                    err.map(|e| e.error.message)
                        .unwrap_or_else(|| resp.excerpt())
                )));
            }
            poll.bytes += resp.body.len();
            let list: SearchList = resp.json()?;
            let before = poll.mentions.len();
            for r in &list.items {
                let Some(item) = video_item(r) else { continue };
                if let Some(t) = item.published_at {
                    newest = Some(newest.map_or(t.timestamp(), |n| n.max(t.timestamp())));
                }
                if cursor.remember(&item.key) {
                    poll.mentions
                        .push(item.into_mention(&source.id, "youtube", now));
                }
            }
            token = list
                .next_page_token
                .filter(|_| api::Pages::worth_following(poll.mentions.len() - before));
            if token.is_none() {
                break;
            }
        }
        // Pages left: the next poll goes on with the page token.
        cursor.end_walk(&source.id, newest, token);
        Ok(())
    }
}

impl api::Walk for api::Walker<'_, YouTube> {
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

impl YouTube {
    /// The mentions of one answer body, mapped as `poll` maps a page (without its cursor):
    /// the entry point of the `api_json` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn page_mentions(
        &self,
        source: &Source,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::mention::Mention>, FetchError> {
        let list: SearchList = api::Response::with_body(body).json()?;
        Ok(list
            .items
            .iter()
            .filter_map(video_item)
            .map(|item| item.into_mention(&source.id, "youtube", now))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn maps_a_video_with_entities() {
        let r: SearchResult = serde_json::from_str(r#"{"kind":"youtube#searchResult","etag":"x","id":{"kind":"youtube#video","videoId":"dQw4w9WgXcQ"},
            "snippet":{"publishedAt":"2026-03-10T08:00:00Z","channelId":"UC123","title":"Acme kettle: it&#39;s a &quot;scam&quot; &amp; more",
            "description":"Review","channelTitle":"Tech &amp; Co","liveBroadcastContent":"none","publishTime":"2026-03-10T08:00:00Z"}}"#).unwrap();
        let m = video_item(&r)
            .unwrap()
            .into_mention("y", "youtube", Utc::now());
        assert_eq!(m.title, "Acme kettle: it's a \"scam\" & more");
        assert_eq!(m.author_name.as_deref(), Some("Tech & Co"));
        assert_eq!(m.url, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
    }

    #[test]
    fn quota_resets_at_pacific_midnight() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 20, 0, 0).unwrap(); // 12:00 in California
        assert_eq!(
            next_pacific_midnight(now),
            Utc.with_ymd_and_hms(2026, 3, 11, 8, 0, 0).unwrap()
        );
    }
}
