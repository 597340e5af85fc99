//! The one `Mention` type that flows through the whole pipeline, canonical URLs and
//! stable ids.
//!
//! Over 500 lines with its tests (about 390 of code).

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

/// Something said online that a source served: a post, an article, a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    /// Stable id: derived from the canonical URL (or, without a link, from the source's own
    /// id), so the same item served twice or by two feeds is one mention.
    pub id: String,
    /// Canonical permalink (tracking parameters and fragment removed).
    pub url: String,
    /// Host of `url`, lower case, without "www." — the publisher's site when an
    /// aggregator relays the item (the link unwrapped, or the `<source url>` it names).
    pub site: String,
    /// The publisher's name when an aggregator relays the item (RSS `<source>`, Bing
    /// News `News:Source`, Atom `<source><title>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Id of the configured source that fetched it.
    pub source: String,
    /// Kind of that source ("rss", "mastodon", …).
    pub source_kind: String,
    /// The source's own id for the item (RSS guid, Atom id, status URI), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_id: Option<String>,
    pub title: String,
    /// Plain text (HTML already turned into text).
    pub text: String,
    /// Author handle or name, as stable as the source allows (`@user@instance`, `u/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Display name, when the source gives one besides the handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    pub published_at: DateTime<Utc>,
    pub fetched_at: DateTime<Utc>,
    /// Language code when known (declared by the source or detected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Audience estimate (followers, subscribers) when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<u64>,
    #[serde(default, skip_serializing_if = "Engagement::is_empty")]
    pub engagement: Engagement,
    /// Brands this mention matched (filled by the matching stage).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brands: Vec<BrandHit>,
    /// Tone of the mention (filled by enrichment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
    /// Near-duplicate group: copies of one story share it (filled by enrichment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<String>,
}

/// Sentiment: a score in [-1, 1], its label, and how sure the model is of that label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub score: f32,
    /// What rules, search and digests read (`sentiment = "negative"`): toward the brand
    /// when the mention is long (the sentences around its matched terms).
    pub label: Label,
    /// Probability of the label (0–1); a label the model is unsure of is neutral.
    /// Absent on mentions indexed before veille computed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Negative,
    Neutral,
    Positive,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Positive => "positive",
        }
    }

    pub fn parse(s: &str) -> Option<Label> {
        match s.to_ascii_lowercase().as_str() {
            "negative" | "negatif" | "négatif" | "neg" => Some(Label::Negative),
            "neutral" | "neutre" => Some(Label::Neutral),
            "positive" | "positif" | "pos" => Some(Label::Positive),
            _ => None,
        }
    }
}

/// Likes, replies, shares and score as the source reports them; `None` is "unknown",
/// not zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
}

impl Engagement {
    pub fn is_empty(&self) -> bool {
        self == &Engagement::default()
    }
}

/// A brand a mention matched, with the folded terms that made it match (for highlighting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandHit {
    pub brand: String,
    /// Folded words that matched.
    #[serde(default)]
    pub terms: Vec<String>,
    /// Where they are: (field 0 = title, 1 = text, 2 = author; byte range in that field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<(u8, u32, u32)>,
}

/// Ends a text that was cut (`[crawl] max_text`).
pub const CUT_MARKER: &str = " […]";

/// Cuts `s` to at most `max` bytes on a character boundary, the last ones being
/// [`CUT_MARKER`]; a text that fits is left alone.
pub fn cap_text(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut end = max.saturating_sub(CUT_MARKER.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.truncate(s.trim_end().len());
    s.push_str(CUT_MARKER);
    s.shrink_to_fit();
}

impl Mention {
    /// Holds every text of the mention to `max` bytes (`[crawl] max_text`): what sources
    /// hand over is capped here, before matching, enrichment and the index see it.
    pub fn cap(&mut self, max: usize) {
        cap_text(&mut self.title, max);
        cap_text(&mut self.text, max);
        for s in [&mut self.author, &mut self.author_name, &mut self.publisher]
            .into_iter()
            .flatten()
        {
            cap_text(s, max);
        }
    }

    pub fn brand_ids(&self) -> impl Iterator<Item = &str> {
        self.brands.iter().map(|b| b.brand.as_str())
    }

    pub fn hit(&self, brand: &str) -> Option<&BrandHit> {
        self.brands.iter().find(|b| b.brand == brand)
    }

    /// The author, normalized per platform: social handles are global
    /// (`mastodon:@anna@piaille.fr`, `reddit:u/anna`), names on a site are the site's
    /// (`forum.example.org:anna`).
    pub fn author_key(&self) -> Option<String> {
        let a = self.author.as_deref()?.trim().to_lowercase();
        if a.is_empty() {
            return None;
        }
        Some(match self.source_kind.as_str() {
            "mastodon" | "reddit" | "bluesky" | "hackernews" | "lemmy" | "youtube"
            | "stackexchange" => {
                format!("{}:{a}", self.source_kind)
            }
            _ => format!("{}:{a}", self.site),
        })
    }
}

/// Query parameters that only track the reader and never change the page.
fn is_tracking_param(name: &str, extra: &[String]) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || matches!(
            n.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "gclsrc"
                | "msclkid"
                | "yclid"
                | "igshid"
                | "mc_cid"
                | "mc_eid"
                | "_hsenc"
                | "_hsmi"
                | "mkt_tok"
                | "oly_anon_id"
                | "oly_enc_id"
                | "vero_id"
                | "wt_mc"
                | "xtor"
                | "at_medium"
                | "at_campaign"
                | "ref_src"
                | "spm"
        )
        || extra.iter().any(|e| e.eq_ignore_ascii_case(&n))
}

/// Canonical form of a URL: a known redirector's link unwrapped to the page it leads to
/// ([`unwrap_redirect`]), host lower-cased (the `url` crate does it), default port and
/// fragment dropped, tracking parameters (and `extra_params`, e.g. phpBB `sid`) removed.
pub fn canonical_url(raw: &str, extra_params: &[String]) -> Option<Url> {
    let mut url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.host_str()?;
    // A redirector's target may itself be a redirector's link: a few rounds at most.
    for _ in 0..4 {
        match unwrap_redirect(&url) {
            Some(target) => url = target,
            None => break,
        }
    }
    url.set_fragment(None);
    if let Some(q) = url.query() {
        // Filter the raw segments: the rest of the query stays byte for byte as written
        // (vBulletin's `?3301-slug&p=5` must not become `?3301-slug=&p=5`).
        let kept: Vec<&str> = q
            .split('&')
            .filter(|seg| !seg.is_empty())
            .filter(|seg| {
                let key = seg.split('=').next().unwrap_or_default();
                let key = url::form_urlencoded::parse(key.as_bytes())
                    .next()
                    .map(|(k, _)| k.into_owned())
                    .unwrap_or_default();
                !is_tracking_param(&key, extra_params)
            })
            .collect();
        let kept = kept.join("&");
        url.set_query((!kept.is_empty()).then_some(kept.as_str()));
    }
    Some(url)
}

/// The page a known redirector's link leads to, when the link carries it:
///
/// | links of | look like | target in |
/// | --- | --- | --- |
/// | Google (Alerts, search) | `google.com/url?…` (any Google country domain) | `url=`, else `q=` |
/// | Google News (older feeds) | `news.google.com/news/url?…` | `url=` |
/// | Google News articles | `news.google.com/rss/articles/CBMi…` | the id, when it holds the URL (older ids; newer ones do not, and stay as they are) |
/// | Bing News | `bing.com/news/apiclick.aspx?…` | `url=` |
/// | Bing | `bing.com/ck/a?…` | `u=a1<base64url>` |
/// | Facebook | `l.facebook.com/l.php?…` | `u=` |
/// | Reddit | `out.reddit.com/…?…` | `url=` |
/// | YouTube | `youtube.com/redirect?…` | `q=` |
/// | DuckDuckGo | `duckduckgo.com/l/?…` | `uddg=` |
/// | LinkedIn | `linkedin.com/redir/redirect?…` | `url=` |
/// | Tumblr | `t.umblr.com/redirect?…` | `z=` |
/// | VK | `vk.com/away.php?…` | `to=` |
/// | Slack | `slack-redir.net/link?…` | `url=` |
///
/// FeedBurner's `feedproxy.google.com` links carry no target: the feed's
/// `feedburner:origLink` is read instead (sources/feedshape.rs).
pub fn unwrap_redirect(url: &Url) -> Option<Url> {
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let path = url.path();
    let param = |names: &[&str]| {
        names.iter().find_map(|n| {
            url.query_pairs()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.into_owned())
        })
    };
    let target = match (host, path) {
        ("news.google.com", p)
            if p.starts_with("/rss/articles/") || p.starts_with("/articles/") =>
        {
            google_news_article(p.rsplit('/').next()?)
        }
        ("news.google.com", "/news/url" | "/url") => param(&["url"]),
        (h, "/url") if h.starts_with("google.") => param(&["url", "q"]),
        ("bing.com", "/news/apiclick.aspx") => param(&["url"]),
        ("bing.com", "/ck/a") => {
            let u = param(&["u"])?;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(u.strip_prefix("a1")?.trim_end_matches('='))
                .ok()?;
            String::from_utf8(bytes).ok()
        }
        ("l.facebook.com" | "lm.facebook.com" | "m.facebook.com" | "facebook.com", "/l.php") => {
            param(&["u"])
        }
        ("out.reddit.com", _) => param(&["url"]),
        ("youtube.com" | "m.youtube.com", "/redirect") => param(&["q"]),
        ("duckduckgo.com", "/l/") => param(&["uddg"]),
        ("linkedin.com", "/redir/redirect") => param(&["url"]),
        ("t.umblr.com", "/redirect") => param(&["z"]),
        ("vk.com", "/away.php") => param(&["to"]),
        ("slack-redir.net", "/link") => param(&["url"]),
        _ => None,
    }?;
    let target = Url::parse(target.trim()).ok()?;
    (matches!(target.scheme(), "http" | "https") && target.host_str().is_some()).then_some(target)
}

/// The URL inside an older Google News article id: base64url of a protobuf message
/// whose field 4 is the URL (`08 13 22 <length> http…`).
fn google_news_article(id: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .ok()?;
    let at = bytes.windows(4).position(|w| w == b"http")?;
    let url: Vec<u8> = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_graphic())
        .copied()
        .collect();
    String::from_utf8(url).ok()
}

/// A link to an aggregator's own page (a Google News article it could not be unwrapped
/// from, a FeedBurner proxy): the site is then better told by the publisher it names.
pub fn is_aggregator_link(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    matches!(
        host,
        "news.google.com" | "feedproxy.google.com" | "feeds.feedburner.com" | "bing.com"
    ) || host.starts_with("google.")
}

/// Host without "www.", lower case.
pub fn site_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    host.strip_prefix("www.").unwrap_or(&host).to_string()
}

/// Stable mention id from a canonical URL. The scheme and a leading "www." are left out,
/// so http/https and www/bare copies of one page are one mention.
pub fn id_from_url(url: &Url) -> String {
    let mut key = site_of(url);
    if let Some(port) = url.port() {
        key.push(':');
        key.push_str(&port.to_string());
    }
    key.push_str(url.path());
    if let Some(q) = url.query() {
        key.push('?');
        key.push_str(q);
    }
    hash_id("url", &key)
}

/// Stable id from a source-specific key (e.g. `mastodon:<uri>`), for items with no link.
pub fn hash_id(namespace: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(namespace.as_bytes());
    h.update([0u8]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(32);
    for b in &digest[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_url_drops_tracking_and_fragment() {
        let u = canonical_url(
            "HTTPS://News.Example.COM:443/a/b?id=3&utm_source=x&fbclid=y&gclid=z#comments",
            &[],
        )
        .unwrap();
        assert_eq!(u.as_str(), "https://news.example.com/a/b?id=3");
    }

    #[test]
    fn canonical_url_strips_configured_params() {
        let u = canonical_url(
            "http://forum.example/viewtopic.php?p=12&sid=abcdef",
            &["sid".into()],
        )
        .unwrap();
        assert_eq!(u.as_str(), "http://forum.example/viewtopic.php?p=12");
    }

    #[test]
    fn same_page_same_id() {
        let a = canonical_url("https://www.example.com/x?utm_medium=rss", &[]).unwrap();
        let b = canonical_url("http://example.com/x#top", &[]).unwrap();
        assert_eq!(id_from_url(&a), id_from_url(&b));
        let c = canonical_url("http://example.com/y", &[]).unwrap();
        assert_ne!(id_from_url(&a), id_from_url(&c));
    }

    #[test]
    fn keeps_the_rest_of_the_query_as_written() {
        let u = canonical_url(
            "http://f.example/showthread.php?3301-Acme-fuit&s=abc&p=51001",
            &["s".into()],
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "http://f.example/showthread.php?3301-Acme-fuit&p=51001"
        );
        let u = canonical_url("http://f.example/?q=a%20b&utm_source=x", &[]).unwrap();
        assert_eq!(u.as_str(), "http://f.example/?q=a%20b");
    }

    #[test]
    fn cap_cuts_on_a_char_boundary_with_a_marker() {
        let mut s = "é".repeat(100);
        cap_text(&mut s, 51);
        assert!(s.len() <= 51, "{}", s.len());
        assert!(s.ends_with(CUT_MARKER) && s.starts_with("éé"), "{s}");
        let mut short = "Acme".to_string();
        cap_text(&mut short, 4);
        assert_eq!(short, "Acme");
        let mut words = "Acme annonce une bouilloire".to_string();
        cap_text(&mut words, 16);
        assert_eq!(words, "Acme annon […]");
    }

    #[test]
    fn redirector_links_are_unwrapped_to_the_publisher() {
        let cases = [
            (
                "https://www.google.com/url?rct=j&sa=t&url=https://www.dailynews.example/business/acme-recall&ct=ga&cd=CAEY&usg=AOvVaw",
                "https://www.dailynews.example/business/acme-recall",
            ),
            (
                "https://www.google.fr/url?sa=t&q=https%3A%2F%2Fblog.example.org%2Facme%3Futm_source%3Dx&usg=x",
                "https://blog.example.org/acme",
            ),
            (
                "http://news.google.com/news/url?sa=t&fd=R&usg=AFQ&url=http://www.lequotidien.example/eco/acme.html",
                "http://www.lequotidien.example/eco/acme.html",
            ),
            (
                "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=A&url=https%3a%2f%2fwww.dailynews.example%2fbusiness%2facme%3fid%3d42&c=1&mkt=en-us",
                "https://www.dailynews.example/business/acme?id=42",
            ),
            (
                "https://www.bing.com/ck/a?!&&p=abc&ptn=3&u=a1aHR0cHM6Ly9hY21lLmV4YW1wbGUvbmV3cw&ntb=1",
                "https://acme.example/news",
            ),
            (
                "https://l.facebook.com/l.php?u=https%3A%2F%2Facme.example%2Fa%3Ffbclid%3Dz&h=AT0",
                "https://acme.example/a",
            ),
            (
                "https://www.youtube.com/redirect?event=video_description&q=https%3A%2F%2Facme.example%2Fv",
                "https://acme.example/v",
            ),
            (
                "https://duckduckgo.com/l/?uddg=https%3A%2F%2Facme.example%2Fd&rut=1",
                "https://acme.example/d",
            ),
            // A redirector's link to another redirector's.
            (
                "https://www.google.com/url?q=https%3A%2F%2Fl.facebook.com%2Fl.php%3Fu%3Dhttps%253A%252F%252Facme.example%252Fn",
                "https://acme.example/n",
            ),
        ];
        for (link, publisher) in cases {
            let u = canonical_url(link, &[]).unwrap();
            assert_eq!(u.as_str(), publisher, "{link}");
        }
        // Nothing to unwrap: the link stays; a target that is not a web page is ignored.
        for link in [
            "https://www.google.com/url?sa=t",
            "https://www.google.com/url?q=javascript:alert(1)",
            "http://feedproxy.google.com/~r/Blog/~3/abc/post.html",
            "https://www.bing.com/news/search?q=acme",
        ] {
            assert_eq!(canonical_url(link, &[]).unwrap().as_str(), link, "{link}");
        }
    }

    #[test]
    fn google_news_article_ids_holding_the_url_are_unwrapped() {
        let url = "https://www.lequotidien.example/eco/acme-rappel.html";
        let mut id = vec![0x08, 0x13, 0x22, url.len() as u8];
        id.extend_from_slice(url.as_bytes());
        id.extend_from_slice(&[0xd2, 0x01, 0x00]);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id);
        let link = format!("https://news.google.com/rss/articles/{id}?oc=5");
        assert_eq!(canonical_url(&link, &[]).unwrap().as_str(), url);
        // Newer ids hold no URL: the link stays Google's.
        let opaque = "https://news.google.com/rss/articles/CBMiAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA0gEA?oc=5";
        assert_eq!(canonical_url(opaque, &[]).unwrap().as_str(), opaque);
        assert!(is_aggregator_link(&Url::parse(opaque).unwrap()));
    }

    #[test]
    fn rejects_non_http() {
        assert!(canonical_url("javascript:alert(1)", &[]).is_none());
        assert!(canonical_url("not a url", &[]).is_none());
    }
}
