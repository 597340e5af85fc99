//! `kind = "rss"`: RSS 0.9x/1.0/2.0, Atom 1.0 and JSON Feed, through feed-rs.
//!
//! Where a feed is fetched: [`Rss::poll`]. Conditional GET keeps polls of an unchanged
//! feed to a 304; the bytes go to feed-rs undecoded so it can honour the XML prolog.
//!
//! Over 500 lines with its tests (about 400 of code).

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
                    },
                    not_modified: false,
                    bytes: bytes.len(),
                    hub,
                    warnings,
                    retry_after: None,
                    failed_pages: 0,
                    failed: parsed.failed,
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
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

    /// An entry with this title trips a panic in its mapping.
    pub(super) const PANIC_TITLE: &str = "panic in the mapping";

    fn feed_url() -> Url {
        Url::parse("https://news.example.fr/rss/une.xml").unwrap()
    }

    #[test]
    fn rss2_with_relative_links_entities_and_no_date() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Actu</title><link>https://news.example.fr/</link><language>fr-FR</language>
<item><title>Acme &amp;eacute;pingl&#233; : le &lt;b&gt;scandale&lt;/b&gt;</title>
<link>/articles/acme-scandale?utm_source=rss#top</link>
<description><![CDATA[<p>Les clients d&eacute;noncent une <em>arnaque</em>&nbsp;!</p>]]></description>
<author>redaction@example.fr (Sofiane Benali)</author>
<pubDate>Tue, 10 Mar 2026 08:15:00 +0100</pubDate></item>
<item><title>Sans date</title><guid isPermaLink="false">abc-1</guid><description>Texte</description></item>
</channel></rss>"#;
        let m = parse(
            xml.as_bytes(),
            Some("application/rss+xml"),
            &feed_url(),
            "s",
            &[],
            now(),
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].url, "https://news.example.fr/articles/acme-scandale");
        assert_eq!(m[0].title, "Acme épinglé : le scandale");
        assert_eq!(m[0].text, "Les clients dénoncent une arnaque !");
        assert_eq!(m[0].author.as_deref(), Some("Sofiane Benali"));
        assert_eq!(m[0].language.as_deref(), Some("fr"));
        assert_eq!(
            m[0].published_at,
            Utc.with_ymd_and_hms(2026, 3, 10, 7, 15, 0).unwrap()
        );
        // No date: the fetch time; no link: the guid makes the id.
        assert_eq!(m[1].published_at, now());
        assert_eq!(m[1].native_id.as_deref(), Some("abc-1"));
    }

    #[test]
    fn latin1_declared_feed_is_windows_1252() {
        let mut xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><item><title>Caf\xe9 \x80 l\x92Acme</title><link>https://x.example/a</link></item></channel></rss>".to_vec();
        let m = parse(&xml, Some("text/xml"), &feed_url(), "s", &[], now()).unwrap();
        assert_eq!(m[0].title, "Café € l’Acme");
        // Same bytes, declared by the HTTP header only.
        xml = b"<rss version=\"2.0\"><channel><title>t</title><item><title>Caf\xe9 \x80</title><link>https://x.example/a</link></item></channel></rss>".to_vec();
        let m = parse(
            &xml,
            Some("text/xml; charset=iso-8859-1"),
            &feed_url(),
            "s",
            &[],
            now(),
        )
        .unwrap();
        assert_eq!(m[0].title, "Café €");
        // Undeclared and not UTF-8: read as windows-1252 rather than failing.
        let m = parse(&xml, None, &feed_url(), "s", &[], now()).unwrap();
        assert_eq!(m[0].title, "Café €");
    }

    #[test]
    fn utf8_prolog_with_a_windows_1252_byte_keeps_every_item() {
        // Regression: one stray byte made the whole feed "not a valid RSS" (every item lost).
        let bytes = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>\
            <item><title>L’été d’Acme</title><link>https://x.example/1</link></item>\
            <item><title>Acme : l"
                .as_bytes(),
            b"\x92",
            b"avis</title><link>https://x.example/2</link></item></channel></rss>",
        ]
        .concat();
        assert!(std::str::from_utf8(&bytes).is_err());
        for ct in [None, Some("application/rss+xml; charset=utf-8")] {
            let parsed =
                parse_feed(&bytes, ct, &feed_url(), "s", &[], now()).expect("lenient decoding");
            let titles: Vec<&str> = parsed.mentions.iter().map(|m| m.title.as_str()).collect();
            assert_eq!(titles, ["L’été d’Acme", "Acme : l’avis"], "{ct:?}");
            assert_eq!(parsed.repaired, 1);
        }
    }

    #[test]
    fn an_entry_that_trips_a_bug_is_reported_and_the_others_kept() {
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>t</title>\
             <item><title>Acme 1</title><link>https://x.example/1</link></item>\
             <item><title>{PANIC_TITLE}</title><link>https://x.example/bad</link></item>\
             <item><title>Acme 3</title><link>https://x.example/3</link></item></channel></rss>"
        );
        let parsed = parse_feed(xml.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
        let titles: Vec<&str> = parsed.mentions.iter().map(|m| m.title.as_str()).collect();
        assert_eq!(titles, ["Acme 1", "Acme 3"]);
        assert_eq!(
            parsed.failed,
            [ItemFailure {
                url: "https://x.example/bad".into(),
                stage: "parse",
                error: "internal error: test: mapping this entry fails".into(),
            }]
        );
    }

    #[test]
    fn valid_utf8_wins_over_a_wrong_latin1_label() {
        let xml = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><item><title>Café Acme</title><link>https://x.example/1</link></item></channel></rss>";
        let m = parse(xml.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
        assert_eq!(m[0].title, "Café Acme");
        let m = parse(
            xml.as_bytes(),
            Some("text/xml; charset=iso-8859-1"),
            &feed_url(),
            "s",
            &[],
            now(),
        )
        .unwrap();
        assert_eq!(m[0].title, "Café Acme");
    }

    #[test]
    fn an_item_larger_than_max_text_is_cut_with_a_marker() {
        let para =
            "&lt;p&gt;Le fabricant Acme a pr&amp;eacute;sent&amp;eacute; sa gamme.&lt;/p&gt;";
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>Acme</title><link>https://x.example/big</link><description>{}</description></item><item><title>Acme 2</title><link>https://x.example/small</link><description>court</description></item></channel></rss>",
            para.repeat(200_000)
        );
        let parsed =
            parse_feed_limited(xml.as_bytes(), None, &feed_url(), "s", &[], now(), 4096).unwrap();
        let m = &parsed.mentions;
        assert_eq!(m.len(), 2);
        assert!(m[0].text.len() <= 4096, "{}", m[0].text.len());
        assert!(m[0].text.len() > 3000, "{}", m[0].text.len());
        assert!(
            m[0].text
                .starts_with("Le fabricant Acme a présenté sa gamme.")
        );
        assert!(
            m[0].text.ends_with(crate::mention::CUT_MARKER),
            "{}",
            &m[0].text[4000..]
        );
        assert_eq!(
            (m[1].url.as_str(), m[1].text.as_str()),
            ("https://x.example/small", "court")
        );
    }

    #[test]
    fn a_json_feed_item_larger_than_max_text_is_cut_too() {
        let json = format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{{"id":"1","url":"https://j.example/1","title":"Acme","content_html":"{}"}}]}}"#,
            r"<p>Acme a pr\u00e9sent\u00e9 sa gamme.</p>\n".repeat(100_000)
        );
        let m = parse_feed_limited(json.as_bytes(), None, &feed_url(), "s", &[], now(), 2048)
            .unwrap()
            .mentions;
        assert!(m[0].text.starts_with("Acme a présenté sa gamme."));
        assert!(m[0].text.len() <= 2048 && m[0].text.ends_with(crate::mention::CUT_MARKER));
    }

    #[test]
    fn atom_with_xml_base_and_html_content() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en" xml:base="https://blog.example.com/">
<title>Blog</title><id>urn:x</id><updated>2026-03-09T10:00:00Z</updated>
<author><name>Jane Doe</name></author>
<entry><id>urn:1</id><title type="html">Acme &amp;amp; Globex</title>
<link href="posts/1"/><updated>2026-03-09T10:00:00.123Z</updated>
<content type="html">&lt;p&gt;Hello &lt;b&gt;Acme&lt;/b&gt;&lt;/p&gt;</content></entry>
</feed>"#;
        let m = parse(xml.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
        assert_eq!(m[0].url, "https://blog.example.com/posts/1");
        assert_eq!(m[0].title, "Acme & Globex");
        assert_eq!(m[0].text, "Hello Acme");
        assert_eq!(m[0].author.as_deref(), Some("Jane Doe"));
        assert_eq!(m[0].language.as_deref(), Some("en"));
    }

    #[test]
    fn json_feed() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
            {"id":"1","url":"https://j.example/1","title":"Acme","content_html":"<p>Bonjour</p>","date_published":"2026-03-09T10:00:00Z"}]}"#;
        let m = parse(
            json.as_bytes(),
            Some("application/feed+json"),
            &feed_url(),
            "s",
            &[],
            now(),
        )
        .unwrap();
        assert_eq!(m[0].url, "https://j.example/1");
        assert_eq!(m[0].text, "Bonjour");
    }

    #[test]
    fn broken_feeds_are_errors_not_panics() {
        for bad in [
            "",
            "not xml at all",
            "<rss><channel><item><title>trunc",
            "{\"version\":",
        ] {
            assert!(
                parse(bad.as_bytes(), None, &feed_url(), "s", &[], now()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rss_1_0_rdf_and_rss_0_91() {
        let rdf = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://old.example/"><title>Old</title><link>https://old.example/</link><description>d</description></channel>
<item rdf:about="https://old.example/1"><title>Acme en RDF</title><link>https://old.example/1</link><dc:date>2026-03-10T09:00:00+01:00</dc:date><dc:creator>Anne</dc:creator></item>
</rdf:RDF>"#;
        let m = parse(rdf.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
        assert_eq!(m[0].title, "Acme en RDF");
        assert_eq!(m[0].author.as_deref(), Some("Anne"));
        assert_eq!(
            m[0].published_at,
            Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap()
        );
        let rss091 = r#"<?xml version="1.0"?><rss version="0.91"><channel><title>t</title><link>https://o.example/</link><description>d</description><language>en-us</language>
<item><title>Acme 0.91</title><link>https://o.example/a</link><description>old &amp; plain</description></item></channel></rss>"#;
        let m = parse(rss091.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
        assert_eq!(
            (m[0].title.as_str(), m[0].text.as_str()),
            ("Acme 0.91", "old & plain")
        );
        assert_eq!(m[0].language.as_deref(), Some("en"));
    }

    #[test]
    fn future_dates_clamped() {
        let xml = r#"<rss version="2.0"><channel><title>t</title><item><title>x</title><link>https://a.example/1</link><pubDate>Tue, 10 Mar 2099 08:15:00 GMT</pubDate></item></channel></rss>"#;
        let m = parse(xml.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
        assert_eq!(m[0].published_at, now());
    }
}
