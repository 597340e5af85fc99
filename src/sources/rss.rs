//! `kind = "rss"`: RSS 0.9x/1.0/2.0, Atom 1.0 and JSON Feed, through feed-rs.
//!
//! Where a feed is fetched: [`Rss::poll`]. Conditional GET keeps polls of an unchanged
//! feed to a 304; the bytes go to feed-rs undecoded so it can honour the XML prolog.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, Text};
use serde::Deserialize;
use url::Url;

use super::{Poll, Source, SourceState};
use crate::config::diag::SourceFile;
use crate::crawl::{self, FetchError, Fetched, Http};
use crate::mention::{self, Mention};
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
                let parsed = parse_feed(
                    &bytes,
                    content_type.as_deref(),
                    &url,
                    &source.id,
                    &self.strip_params,
                    now,
                )
                .map_err(FetchError::Invalid)?;
                // WebSub discovery: HTTP Link headers first, then the feed's own links.
                let hub = crate::crawl::websub::discover(&headers, &url).or(parsed.hub);
                Ok(Poll {
                    mentions: parsed.mentions,
                    state: SourceState {
                        validators,
                        cursor: None,
                    },
                    not_modified: false,
                    bytes: bytes.len(),
                    hub,
                    warnings: Vec::new(),
                    retry_after: None,
                })
            }
        }
    }
}

/// The charset named in a Content-Type header, if any.
fn charset_of(content_type: Option<&str>) -> Option<&'static encoding_rs::Encoding> {
    let ct = content_type?;
    let label = ct
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"'))?;
    encoding_rs::Encoding::for_label(label.as_bytes())
}

/// Brings the document to bytes feed-rs decodes right.
///
/// Order of authority: BOM, then the HTTP charset, then the XML declaration (feed-rs
/// reads it itself; ISO-8859-1 is decoded as windows-1252, as WHATWG says). A charset
/// header that contradicts the bytes (says UTF-8, bytes are not) is ignored, and an
/// undeclared non-UTF-8 document is read as windows-1252, what such feeds really are.
fn prepare<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    if let Some(enc) = bom_or_utf16(bytes) {
        return to_utf8(bytes, enc);
    }
    let declared_in_xml = xml_declared_encoding(bytes).is_some();
    match charset_of(content_type) {
        Some(enc) if enc == encoding_rs::UTF_8 => {
            if std::str::from_utf8(bytes).is_ok() || declared_in_xml {
                return Cow::Borrowed(bytes);
            }
            to_utf8(bytes, encoding_rs::WINDOWS_1252)
        }
        Some(enc) => to_utf8(bytes, enc),
        None if !declared_in_xml && std::str::from_utf8(bytes).is_err() => {
            to_utf8(bytes, encoding_rs::WINDOWS_1252)
        }
        None => Cow::Borrowed(bytes),
    }
}

fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    let head = String::from_utf8_lossy(head);
    let decl_end = head.find("?>")?;
    let decl = &head[..decl_end];
    if !decl.trim_start().starts_with("<?xml") {
        return None;
    }
    let pos = decl.find("encoding")?;
    let rest = decl[pos + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    let rest = &rest[quote.len_utf8()..];
    Some(rest[..rest.find(quote)?].to_string())
}

/// Decodes to UTF-8 and rewrites the XML declaration so feed-rs does not decode twice.
fn to_utf8(bytes: &[u8], enc: &'static encoding_rs::Encoding) -> Cow<'static, [u8]> {
    let (decoded, _, _) = enc.decode(bytes);
    let mut s = decoded.into_owned();
    if let Some(declared) = xml_declared_encoding(s.as_bytes())
        && let Some(pos) = s.find(&declared)
    {
        s.replace_range(pos..pos + declared.len(), "UTF-8");
    }
    Cow::Owned(s.into_bytes())
}

/// A parsed feed: its items, and the WebSub hub it advertises (hub URL, self URL).
pub struct ParsedFeed {
    pub mentions: Vec<Mention>,
    pub hub: Option<(Url, Url)>,
}

/// Parses a feed document into mentions.
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

pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
    source_id: &str,
    strip_params: &[String],
    fetched_at: DateTime<Utc>,
) -> Result<ParsedFeed, String> {
    let bytes = declared_utf8(prepare(bytes, content_type));
    let feed = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .build()
        .parse(&bytes[..])
        .map_err(|e| format!("not a valid RSS, Atom or JSON feed: {e}"))?;
    let link = |rel: &str| {
        feed.links
            .iter()
            .find(|l| l.rel.as_deref() == Some(rel))
            .and_then(|l| feed_url.join(l.href.trim()).ok())
    };
    let hub = link("hub").map(|h| (h, link("self").unwrap_or_else(|| feed_url.clone())));
    Ok(ParsedFeed {
        mentions: feed
            .entries
            .iter()
            .filter_map(|e| {
                entry_to_mention(&feed, e, feed_url, source_id, strip_params, fetched_at)
            })
            .collect(),
        hub,
    })
}

fn text_of(t: &Text) -> String {
    text::html_to_text(&t.content)
}

/// "redaction@example.org (Sofiane Benali)" comes out of feed-rs as "(Sofiane Benali)".
fn clean_author(name: &str) -> Option<String> {
    let n = name.trim();
    let n = match (n.find('('), n.rfind(')')) {
        (Some(a), Some(b)) if b > a => &n[a + 1..b],
        _ => n,
    };
    let n = text::html_to_text(n);
    (!n.is_empty()).then_some(n)
}

fn entry_to_mention(
    feed: &Feed,
    e: &Entry,
    feed_url: &Url,
    source_id: &str,
    strip_params: &[String],
    fetched_at: DateTime<Utc>,
) -> Option<Mention> {
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
    let (id, url, site) = match &link {
        Some(u) => (mention::id_from_url(u), u.to_string(), mention::site_of(u)),
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
    let title = e.title.as_ref().map(text_of).unwrap_or_default();
    let body = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(text::html_to_text)
        .filter(|s| !s.is_empty())
        .or_else(|| e.summary.as_ref().map(text_of))
        .unwrap_or_default();
    if title.is_empty() && body.is_empty() {
        return None;
    }
    let author = e
        .authors
        .iter()
        .chain(feed.authors.iter())
        .find_map(|p| p.name.as_deref().and_then(clean_author));
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

/// The encoding a BOM names, or UTF-16 without BOM (`<?` as two-byte units): what the
/// bytes are, whatever a label says.
fn bom_or_utf16(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    match encoding_rs::Encoding::for_bom(bytes) {
        Some((enc, _)) => Some(enc),
        None if bytes.starts_with(b"\0<\0?") => Some(encoding_rs::UTF_16BE),
        None if bytes.starts_with(b"<\0?\0") => Some(encoding_rs::UTF_16LE),
        None => None,
    }
}

/// What feed-rs is given: UTF-8 whose XML declaration says so, or names no encoding.
///
/// quick-xml, inside feed-rs, switches decoders when the declaration names another
/// encoding than UTF-8, and panics when the declaration ends past the 64 bytes it looks
/// ahead (a long declaration; a UTF-16 one, see [`bom_or_utf16`]). A document whose
/// declaration still names another encoding is decoded here instead; a UTF-16 label on
/// bytes that are not UTF-16 is not believed.
fn declared_utf8(bytes: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
    let declared =
        xml_declared_encoding(&bytes).and_then(|l| Encoding::for_label(l.trim().as_bytes()));
    let enc = match declared {
        None => return utf8_declarations(bytes),
        Some(enc) if enc == UTF_8 => return utf8_declarations(bytes),
        Some(enc) if enc == UTF_16LE || enc == UTF_16BE => match std::str::from_utf8(&bytes) {
            Ok(_) => UTF_8,
            Err(_) => WINDOWS_1252,
        },
        Some(enc) => enc,
    };
    utf8_declarations(Cow::Owned(to_utf8(&bytes, enc).into_owned()))
}

/// Replaces every XML declaration that names another encoding than UTF-8 with one that
/// says UTF-8, which the document is by now. quick-xml reads each declaration, not only
/// the first, and panics on one further down (`<?xml … encoding="ISO-8859-1"?>` pasted
/// into an item) the same way. A declaration is found as quick-xml finds it: `<?xml` and
/// a space, up to the first `?>`, its `encoding` read by quick-xml itself.
fn utf8_declarations(doc: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    use quick_xml::events::{BytesDecl, BytesStart};
    const UTF8_DECL: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>"#;
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut out: Vec<u8> = Vec::new();
    let (mut copied, mut from) = (0, 0);
    while let Some(at) = find(&doc[from..], b"<?xml").map(|p| from + p) {
        from = at + 5;
        if !doc
            .get(at + 5)
            .is_some_and(|b| matches!(b, b' ' | b'\r' | b'\n' | b'\t'))
        {
            continue;
        }
        let Some(end) = find(&doc[at..], b"?>").map(|p| at + p + 2) else {
            break;
        };
        let content = String::from_utf8_lossy(&doc[at + 2..end - 2]);
        let decl = BytesDecl::from_start(BytesStart::from_content(content, 3));
        if decl.encoder().is_some_and(|e| e != encoding_rs::UTF_8) {
            out.extend_from_slice(&doc[copied..at]);
            out.extend_from_slice(UTF8_DECL);
            copied = end;
        }
        from = end;
    }
    if copied == 0 {
        return doc;
    }
    out.extend_from_slice(&doc[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

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
