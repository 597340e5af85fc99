//! `kind = "googlenews"`: the Google News search feed (RSS), built from the brand
//! queries, a language and a country:
//! `/rss/search?q=<query> when:1d&hl=fr&gl=FR&ceid=FR:fr`.
//!
//! Items link to a Google redirect (the publisher URL is not in the feed); the publisher
//! is in `<source>`, and the title ends with " - <publisher>", which is removed.
//! Google restricts this feed to personal, non-commercial use: check that your use fits.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use quick_xml::events::Event;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api::{self, SearchTerms};
use super::{Poll, Source, SourceState};
use crate::crawl::{self, FetchError, Fetched, Http};
use crate::mention::{self, Mention};
use crate::model::{Duration, SourceFile};

/// Settings of a `kind = "googlenews"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleNewsConfig {
    /// Default https://news.google.com.
    #[serde(default)]
    pub base_url: Option<Spanned<String>>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    /// Edition language (`hl`), default "fr".
    #[serde(default = "fr")]
    pub language: String,
    /// Edition country (`gl`), default "FR".
    #[serde(default = "country")]
    pub country: String,
    /// Only news of the last… (`when:`), default "1d". Allowed: hours ("12h") or days ("7d").
    #[serde(default)]
    pub window: Option<Spanned<Duration>>,
}

fn fr() -> String {
    "fr".into()
}

fn country() -> String {
    "FR".into()
}

#[derive(Debug, Clone)]
pub struct GoogleNews {
    base: Url,
    language: String,
    country: String,
    when: String,
    pub search: SearchTerms,
}

impl GoogleNewsConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        _span: std::ops::Range<usize>,
        _base_dir: &Path,
    ) -> Option<GoogleNews> {
        let base = match &self.base_url {
            Some(b) => api::base_url(file, b)?,
            None => Url::parse("https://news.google.com/").expect("valid URL"),
        };
        let secs = self
            .window
            .as_ref()
            .map(|w| w.get_ref().as_secs())
            .unwrap_or(86_400);
        let when = if secs.is_multiple_of(86_400) {
            format!("{}d", secs / 86_400)
        } else if secs.is_multiple_of(3600) {
            format!("{}h", secs / 3600)
        } else {
            let w = self.window.as_ref().unwrap();
            file.error(
                w.span(),
                "`window` must be whole hours (\"12h\") or days (\"7d\")",
            );
            return None;
        };
        Some(GoogleNews {
            base,
            language: self.language,
            country: self.country.to_uppercase(),
            when,
            search: SearchTerms::new(self.query, self.brands),
        })
    }
}

/// Publisher names from `<source>`, by item link.
fn publishers(xml: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut r = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let (mut in_item, mut field) = (false, String::new());
    let (mut link, mut source) = (String::new(), String::new());
    loop {
        match r.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().to_string();
                if name == "item" {
                    in_item = true;
                    link.clear();
                    source.clear();
                }
                field = name;
            }
            Ok(Event::Text(t)) if in_item => {
                let v = t.xml10_content().into_owned();
                match field.as_str() {
                    "link" => link.push_str(&v),
                    "source" => source.push_str(&v),
                    _ => {}
                }
            }
            Ok(Event::GeneralRef(e)) if in_item && field == "source" => {
                // Entities inside the publisher name (&amp;).
                if let Ok(Some(c)) = e.resolve_char_ref() {
                    source.push(c);
                } else {
                    let named = match &*e {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        _ => '\'',
                    };
                    source.push(named);
                }
            }
            Ok(Event::End(e)) => {
                if e.local_name().as_ref() == "item" {
                    in_item = false;
                    if let Some(u) = mention::canonical_url(link.trim(), &[]) {
                        out.insert(u.to_string(), source.trim().to_string());
                    }
                }
                field.clear();
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

impl GoogleNews {
    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut SearchTerms> {
        Some(&mut self.search)
    }

    pub fn feed_url(&self) -> Url {
        let mut url = api::endpoint(&self.base, "rss/search");
        url.query_pairs_mut()
            .append_pair(
                "q",
                &format!("{} when:{}", self.search.joined(" OR "), self.when),
            )
            .append_pair("hl", &self.language)
            .append_pair("gl", &self.country)
            .append_pair("ceid", &format!("{}:{}", self.country, self.language));
        url
    }

    /// The mentions of a fetched news feed, texts cut to `max_text` bytes, each with its
    /// publisher (`<source>`) as author and out of its title.
    pub fn mentions_of(
        &self,
        source_id: &str,
        bytes: &[u8],
        content_type: Option<&str>,
        url: &Url,
        now: DateTime<Utc>,
        max_text: usize,
    ) -> Result<Vec<Mention>, FetchError> {
        let parsed =
            super::rss::parse_feed_limited(bytes, content_type, url, source_id, &[], now, max_text)
                .map_err(FetchError::Invalid)?;
        let names = publishers(bytes);
        let mut mentions = parsed.mentions;
        for m in &mut mentions {
            m.source_kind = "googlenews".into();
            m.language = Some(self.language.clone());
            if let Some(p) = names.get(&m.url).filter(|p| !p.is_empty()) {
                // Headlines may contain " - " themselves: strip exactly " - <publisher>".
                if let Some(t) = m.title.strip_suffix(&format!(" - {p}")) {
                    m.title = t.to_string();
                }
                m.author = Some(p.clone());
            }
        }
        Ok(mentions)
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        let url = self.feed_url();
        let fetched = crawl::fetch::get(
            http,
            source.allow_private,
            &url,
            &state.validators,
            "application/rss+xml",
        )
        .await?;
        let Fetched::Body {
            bytes,
            content_type,
            validators,
            url,
            ..
        } = fetched
        else {
            return Ok(Poll {
                state: state.clone(),
                not_modified: true,
                ..Poll::default()
            });
        };
        let mentions = self.mentions_of(
            &source.id,
            &bytes,
            content_type.as_deref(),
            &url,
            now,
            http.limits.max_text(),
        )?;
        Ok(Poll {
            mentions,
            state: SourceState {
                validators,
                cursor: None,
                quota: None,
            },
            bytes: bytes.len(),
            ..Poll::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publisher_stripped_from_titles() {
        let xml = br##"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><generator>NFE/5.0</generator><title>"acme" - Google Actualit&#233;s</title>
<item><title>Acme - Globex : le match des bouilloires - Le Quotidien</title><link>https://news.google.com/rss/articles/CBMiX?oc=5</link><guid isPermaLink="false">CBMiX</guid>
<pubDate>Tue, 10 Mar 2026 07:00:00 GMT</pubDate><description>&lt;a href="https://news.google.com/rss/articles/CBMiX?oc=5"&gt;Acme - Globex : le match des bouilloires&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font color="#6f6f6f"&gt;Le Quotidien&lt;/font&gt;</description>
<source url="https://www.lequotidien.example">Le Quotidien</source></item></channel></rss>"##;
        let p = publishers(xml);
        assert_eq!(
            p["https://news.google.com/rss/articles/CBMiX?oc=5"],
            "Le Quotidien"
        );
    }
}
