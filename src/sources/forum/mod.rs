//! `kind = "forum"`: classic forums without an API, scraped with CSS selectors.
//!
//! Presets (`presets.rs`) give each engine's selectors, date formats and quirks;
//! `engine = "custom"` (or `[source.selectors]` overrides) covers the rest. A source
//! watches topic lists (`forums`) and single threads (`threads`); `poll.rs` reads them,
//! `extract.rs` turns pages into posts, `dates.rs` reads the dates boards print.

mod config;
mod dates;
mod extract;
mod poll;
mod presets;
mod state;

use html5ever::tendril::TendrilSink;
use scraper::Html;

use crate::crawl::charset;

pub use config::{ForumConfig, SelectorsConfig};
pub use poll::Forum;
/// Every preset's engine name, then `custom`, comma-separated.
pub use presets::names as engine_names;

/// Decodes an HTML page leniently (see [`charset`]): a BOM, then valid UTF-8, then the
/// charset declared by the HTTP header, `<meta charset>` or the configured `encoding`,
/// and bytes that are not in a declared UTF-8 read as windows-1252.
pub fn decode_html(
    bytes: &[u8],
    content_type: Option<&str>,
    fallback: Option<&'static encoding_rs::Encoding>,
) -> String {
    charset::decode(bytes, declared_charset(bytes, content_type, fallback))
        .text
        .into_owned()
}

/// The page handed over: a UTF-8 page is not copied.
pub(super) fn decode_html_owned(
    bytes: Vec<u8>,
    content_type: Option<&str>,
    fallback: Option<&'static encoding_rs::Encoding>,
) -> String {
    let declared = declared_charset(&bytes, content_type, fallback);
    charset::decode_owned(bytes, declared).0
}

/// The charset a page declares: HTTP header, then `<meta charset>`, then the configured
/// `encoding`.
fn declared_charset(
    bytes: &[u8],
    content_type: Option<&str>,
    fallback: Option<&'static encoding_rs::Encoding>,
) -> Option<&'static encoding_rs::Encoding> {
    let from_meta = || {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).to_ascii_lowercase();
        let i = head.find("charset=")?;
        let rest = head[i + 8..].trim_start_matches(['"', '\'']);
        let label: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        encoding_rs::Encoding::for_label(label.as_bytes())
    };
    charset::charset_of(content_type)
        .or_else(from_meta)
        .or(fallback)
}

/// Parses a page as a browser without JavaScript does: `<noscript>` content is markup
/// (Discourse serves its posts there). Nesting is bounded first, as for every HTML parse
/// ([`crate::text::nesting`]).
fn parse_page(html: &str) -> Html {
    let html = crate::text::nesting::bound_html(html);
    let opts = html5ever::ParseOpts {
        tree_builder: html5ever::tree_builder::TreeBuilderOpts {
            scripting_enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    html5ever::driver::parse_document(scraper::HtmlTreeSink::new(Html::new_document()), opts)
        .one(html.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_encodings() {
        let latin = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"></head><body>Caf\xe9 \x80 l\x92Acme</body></html>";
        assert!(decode_html(latin, Some("text/html"), None).contains("Café € l’Acme"));
        assert!(decode_html(latin, None, None).contains("Café € l’Acme"));
        assert!(decode_html("é".as_bytes(), Some("text/html; charset=utf-8"), None).contains('é'));
        assert!(decode_html(b"\xe9t\xe9", Some("text/html; charset=utf-8"), None).contains("été"));
    }

    #[test]
    fn noscript_content_is_parsed_as_markup() {
        let doc = parse_page(
            r#"<html><body><noscript data-path="/t/x/1"><div class="crawler-post" id="post_1"><div class="post"><p>Acme</p></div></div></noscript></body></html>"#,
        );
        let sel = scraper::Selector::parse("div.crawler-post div.post").unwrap();
        assert_eq!(doc.select(&sel).count(), 1);
    }
}
