//! `kind = "rss"`: RSS 0.9x/1.0/2.0, Atom 1.0 and JSON Feed, through feed-rs.
//!
//! Where a feed is fetched: [`Rss::poll`]. Conditional GET keeps polls of an unchanged
//! feed to a 304; the bytes go to feed-rs undecoded so it can honour the XML prolog.
//!
//! Tests in `rss_tests.rs`.

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, Text};
use serde::Deserialize;
use url::Url;

use std::collections::HashMap;

use super::feedcut;
use super::feedshape::Publisher;
use super::{ItemFailure, Poll, Source, SourceState, panic_message};
use crate::crawl::{self, FetchError, Fetched, Http};
use crate::mention::{self, Mention};
use crate::model::diag::SourceFile;
use crate::text;

/// Settings of a `kind = "rss"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RssConfig {
    /// Feed URL (RSS, Atom or JSON Feed).
    pub url: toml::Spanned<String>,
    /// Extra query parameters to drop from item links (besides utm_*, fbclid, gclid…).
    #[serde(default)]
    pub strip_params: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rss {
    pub url: Url,
    pub strip_params: Vec<String>,
}

impl RssConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        _span: std::ops::Range<usize>,
        _base_dir: &std::path::Path,
    ) -> Option<Rss> {
        match Url::parse(self.url.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(Rss {
                url: u,
                strip_params: self.strip_params,
            }),
            Ok(u) => {
                file.error(
                    self.url.span(),
                    format!(
                        "unsupported URL scheme `{}`: expected http or https",
                        u.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                file.error(
                    self.url.span(),
                    format!("invalid URL: {e}: expected an http(s) feed URL"),
                );
                None
            }
        }
    }
}

const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";

impl Rss {
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut super::api::SearchTerms> {
        None
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        let fetched = crawl::fetch::get(
            http,
            source.allow_private,
            &self.url,
            &state.validators,
            ACCEPT,
        )
        .await?;
        match fetched {
            Fetched::NotModified => Ok(Poll {
                state: state.clone(),
                not_modified: true,
                ..Poll::default()
            }),
            Fetched::Body {
                bytes,
                content_type,
                validators,
                url,
                headers,
            } => {
                let parsed = parse_feed_limited(
                    &bytes,
                    content_type.as_deref(),
                    &url,
                    &source.id,
                    &self.strip_params,
                    now,
                    http.limits.max_text(),
                )
                .map_err(FetchError::Invalid)?;
                let warnings = parsed.warnings;
                // WebSub discovery: HTTP Link headers first, then the feed's own links.
                let hub = crate::crawl::links::websub_hub(&headers, &url).or(parsed.hub);
                Ok(Poll {
                    mentions: parsed.mentions,
                    state: SourceState {
                        validators,
                        cursor: None,
                        quota: None,
                    },
                    not_modified: false,
                    bytes: bytes.len(),
                    hub,
                    warnings,
                    retry_after: None,
                    failed_pages: 0,
                    failed: parsed.failed,
                    ..Default::default()
                })
            }
        }
    }
}

/// Raw bytes of an item field kept for text extraction, per byte of `max_text`: room for
/// the markup and entities around the words.
const MARKUP_ROOM: usize = 16;

/// A parsed feed: its items, and the WebSub hub it advertises (hub URL, self URL).
pub struct ParsedFeed {
    pub mentions: Vec<Mention>,
    pub hub: Option<(Url, Url)>,
    /// Byte sequences that were not in the declared UTF-8, read as windows-1252.
    pub repaired: usize,
    /// Entries that could not be mapped (a bug met on them).
    pub failed: Vec<ItemFailure>,
    /// What was read leniently (a guessed charset, repaired characters, a cut-off
    /// document), for `veille sources test` and the poll's log.
    pub warnings: Vec<String>,
}

/// Parses a feed document into mentions (texts cut at the default `max_text`).
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
    source_id: &str,
    strip_params: &[String],
    fetched_at: DateTime<Utc>,
) -> Result<Vec<Mention>, String> {
    parse_feed(
        bytes,
        content_type,
        feed_url,
        source_id,
        strip_params,
        fetched_at,
    )
    .map(|p| p.mentions)
}

/// [`parse_feed_limited`] at the default `max_text`.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
    source_id: &str,
    strip_params: &[String],
    fetched_at: DateTime<Utc>,
) -> Result<ParsedFeed, String> {
    parse_feed_limited(
        bytes,
        content_type,
        feed_url,
        source_id,
        strip_params,
        fetched_at,
        crate::crawl::DEFAULT_MAX_TEXT,
    )
}

/// Parses a feed document into mentions whose texts are at most `max_text` bytes.
pub fn parse_feed_limited(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
    source_id: &str,
    strip_params: &[String],
    fetched_at: DateTime<Utc>,
    max_text: usize,
) -> Result<ParsedFeed, String> {
    // feed-rs recurses into nested elements: too deep a feed would overflow the stack.
    // Checked on the bytes served (so the error says where in them), and again on the
    // decoded document, which is what feed-rs reads (UTF-16 without a BOM, say).
    text::nesting::check_xml_depth(bytes).map_err(|e| e.to_string())?;
    let budget = max_text.saturating_mul(MARKUP_ROOM);
    let prepared = feedcut::prepare(bytes, content_type, budget);
    let doc = prepared.doc;
    text::nesting::check_xml_depth(doc.as_bytes()).map_err(|e| e.to_string())?;
    let feed = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .build()
        .parse(doc.as_bytes())
        .map_err(|e| format!("not a valid RSS, Atom or JSON feed: {e}"))?;
    drop(doc);
    let mut warnings = Vec::new();
    if prepared.repaired > 0 {
        warnings.push(format!(
            "{} byte sequence(s) are not in the declared encoding: read as windows-1252",
            prepared.repaired
        ));
    }
    if let Some(enc) = prepared.guessed {
        warnings.push(format!(
            "not UTF-8 and no charset declared: read as {} (guessed from the bytes)",
            enc.name()
        ));
    }
    if prepared.fixes > 0 {
        warnings.push(format!(
            "{} ill-formed character(s) repaired (a bare &, an unknown entity, a stray <)",
            prepared.fixes
        ));
    }
    warnings.extend(prepared.notes);
    let publishers: HashMap<String, Publisher> = prepared
        .publishers
        .into_iter()
        .filter_map(|(link, p)| Some((link_key(feed_url, &link, strip_params)?, p)))
        .collect();
    let link = |rel: &str| {
        feed.links
            .iter()
            .find(|l| l.rel.as_deref() == Some(rel))
            .and_then(|l| feed_url.join(l.href.trim()).ok())
    };
    let hub = link("hub").map(|h| (h, link("self").unwrap_or_else(|| feed_url.clone())));
    let item = Item {
        feed: &feed,
        publishers: &publishers,
        feed_url,
        source_id,
        strip_params,
        fetched_at,
        budget,
    };
    // One entry that trips a bug is dropped and reported; the others are kept.
    let mut mentions = Vec::new();
    let mut failed = Vec::new();
    for e in &feed.entries {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| item.mention(e))) {
            Ok(Some(mut m)) => {
                m.cap(max_text);
                mentions.push(m);
            }
            Ok(None) => {}
            Err(panic) => failed.push(ItemFailure {
                url: entry_ref(e),
                stage: "parse",
                error: format!("internal error: {}", panic_message(&*panic)),
            }),
        }
    }
    Ok(ParsedFeed {
        mentions,
        hub,
        repaired: prepared.repaired,
        failed,
        warnings,
    })
}

/// How an entry is named in logs and `veille sources`: its link, else its id; one line,
/// at most 512 bytes.
fn entry_ref(e: &Entry) -> String {
    let raw = e.links.first().map_or(e.id.as_str(), |l| l.href.as_str());
    let mut s: String = head(raw, 512)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s.truncate(s.trim_end().len());
    s
}

/// At most `max` bytes of `s`, cut on a character boundary: what text extraction reads.
fn head(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// An item link as mention URLs are written: resolved against the feed's URL, canonical
/// (redirectors unwrapped).
fn link_key(feed_url: &Url, raw: &str, strip_params: &[String]) -> Option<String> {
    let u = feed_url.join(raw.trim()).ok()?;
    mention::canonical_url(u.as_str(), strip_params).map(|u| u.to_string())
}

/// What maps a feed's entries to mentions.
struct Item<'a> {
    feed: &'a Feed,
    /// Publishers named by the items, by mention URL.
    publishers: &'a HashMap<String, Publisher>,
    feed_url: &'a Url,
    source_id: &'a str,
    strip_params: &'a [String],
    fetched_at: DateTime<Utc>,
    /// Bytes of a field read for its text.
    budget: usize,
}

/// "redaction@example.org (Sofiane Benali)" comes out of feed-rs as "(Sofiane Benali)".
fn clean_author(name: &str, budget: usize) -> Option<String> {
    let n = head(name, budget).trim();
    let n = match (n.find('('), n.rfind(')')) {
        (Some(a), Some(b)) if b > a => &n[a + 1..b],
        _ => n,
    };
    let n = text::html_to_text(n);
    (!n.is_empty()).then_some(n)
}

impl Item<'_> {
    fn text_of(&self, t: &Text) -> String {
        text::html_to_text(head(&t.content, self.budget))
    }

    fn mention(&self, e: &Entry) -> Option<Mention> {
        #[cfg(test)]
        if e.title
            .as_ref()
            .is_some_and(|t| t.content == tests::PANIC_TITLE)
        {
            panic!("test: mapping this entry fails");
        }
        let Item {
            feed,
            publishers,
            feed_url,
            source_id,
            strip_params,
            fetched_at,
            budget,
        } = *self;
        let link = e
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or_else(|| e.links.first())
            .and_then(|l| {
                // Relative links left unresolved (e.g. RSS without base) resolve here.
                feed_url.join(l.href.trim()).ok()
            })
            .and_then(|u| mention::canonical_url(u.as_str(), strip_params));
        let native_id = (!e.id.is_empty()).then(|| e.id.clone());
        let publisher = link.as_ref().and_then(|u| publishers.get(u.as_str()));
        let (id, url, site) = match &link {
            Some(u) => {
                // A link left on the aggregator's site: the site is the publisher's.
                let theirs = publisher
                    .and_then(|p| p.url.as_deref())
                    .and_then(|p| mention::canonical_url(p, &[]))
                    .filter(|_| mention::is_aggregator_link(u));
                let site = mention::site_of(theirs.as_ref().unwrap_or(u));
                (mention::id_from_url(u), u.to_string(), site)
            }
            None => {
                // No link: the guid is all we have; the mention points at the feed's site.
                let key = native_id.clone()?;
                (
                    mention::hash_id("guid", &key),
                    feed_url.to_string(),
                    mention::site_of(feed_url),
                )
            }
        };
        let title = e
            .title
            .as_ref()
            .map(|t| self.text_of(t))
            .unwrap_or_default();
        let body = e
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref())
            .map(|b| text::html_to_text(head(b, budget)))
            .filter(|s| !s.is_empty())
            .or_else(|| e.summary.as_ref().map(|t| self.text_of(t)))
            .unwrap_or_default();
        if title.is_empty() && body.is_empty() {
            return None;
        }
        let author = e
            .authors
            .iter()
            .chain(feed.authors.iter())
            .find_map(|p| p.name.as_deref().and_then(|n| clean_author(n, budget)));
        // Dates in the future (bad clocks, scheduled posts) are clamped to the fetch time.
        let published_at = e
            .published
            .or(e.updated)
            .map(|d| d.min(fetched_at))
            .unwrap_or(fetched_at);
        let language = e
            .language
            .clone()
            .or_else(|| feed.language.clone())
            .map(|l| crate::matching::primary_language(&l))
            .filter(|l| !l.is_empty());
        Some(Mention {
            id,
            url,
            site,
            publisher: publisher
                .and_then(|p| p.name.as_deref())
                .map(text::html_to_text)
                .filter(|n| !n.is_empty()),
            source: source_id.to_string(),
            source_kind: "rss".into(),
            native_id,
            title,
            text: body,
            author,
            author_name: None,
            published_at,
            fetched_at,
            language,
            reach: None,
            engagement: Default::default(),
            brands: Vec::new(),
            sentiment: None,
            story: None,
        })
    }
}

#[cfg(test)]
#[path = "rss_tests.rs"]
mod tests;
