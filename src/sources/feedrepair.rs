//! Character-level repairs of a feed document, as a browser would make them, so that one
//! bare `&` does not reject a whole feed ("Fish & Chips"): done on the decoded text
//! before any XML parser sees it.
//!
//! - a `&` that does not start a reference becomes `&amp;` (kept as a character);
//! - an HTML named entity (`&eacute;`, `&nbsp;`, `&hellip;`: XML knows only five) becomes
//!   its character reference; an unknown name keeps its `&` as a character;
//! - a character reference to a character XML forbids (`&#0;`, `&#xD800;`) becomes
//!   U+FFFD, and one to a C1 control (`&#150;`) the windows-1252 character browsers show;
//! - a `<` that cannot start markup (`a < b`) becomes `&lt;`;
//! - an XML declaration naming an encoding other than UTF-8 is rewritten: the text is
//!   UTF-8 by now, and quick-xml panics when a declaration switches encodings after its
//!   first bytes (`set_encoding() called after prefix buffer was drained`).
//!
//! Comments, CDATA sections, processing instructions and the DOCTYPE are left alone.
//!
//! One pass over the document, each byte looked at a bounded number of times (a
//! reference is looked for in the 41 bytes after its `&`, a DOCTYPE's `[` only before its
//! first `>`): linear on a hostile body. The repaired copy may grow by at most half the
//! document (each bare `&` becomes five bytes); past that the document is cut where the
//! repairs stopped, and the items before the cut are read (a page made of bare `&` is
//! not a feed; a real one has far fewer).

use std::borrow::Cow;

/// What an XML declaration becomes when it names another encoding than UTF-8.
const UTF8_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Bytes the repairs may add, besides half the document's length.
const GROWTH_SLACK: usize = 64 << 10;

/// A repaired document.
pub struct Repaired<'a> {
    pub doc: Cow<'a, str>,
    /// Ill-formed spots fixed (HTML entities, which are common and harmless, are not
    /// counted).
    pub fixes: usize,
    /// Where the document was cut because its repairs would have grown it too much.
    pub cut_at: Option<usize>,
}

/// The repaired document ([module docs](self)).
pub fn repair(doc: &str) -> Repaired<'_> {
    let b = doc.as_bytes();
    let mut out: Option<String> = None;
    // Bytes of `doc` already copied to `out`.
    let mut copied = 0;
    let mut fixes = 0;
    let limit = doc.len() / 2 + GROWTH_SLACK;
    // Bytes the repairs added so far (replacements never shrink by more than they add).
    let mut grown = 0usize;
    let mut edit =
        |out: &mut Option<String>, copied: &mut usize, at: usize, skip: usize, with: &str| {
            let o =
                out.get_or_insert_with(|| String::with_capacity(doc.len() + doc.len() / 8 + 64));
            o.push_str(&doc[*copied..at]);
            o.push_str(with);
            *copied = at + skip;
            grown = grown.saturating_add(with.len().saturating_sub(skip));
            grown <= limit
        };
    let mut cut_at = None;
    let mut i = 0;
    // Inside a start or end tag: the quote of the attribute value we are in, if any.
    let mut in_tag = false;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        // To the next byte that matters, by memchr (a byte loop is slow in debug builds,
        // which the tests run: 64 MB took 20 s).
        let next = match (in_tag, quote) {
            (false, _) => memchr::memchr2(b'&', b'<', &b[i..]),
            (true, None) => memchr::memchr3(b'"', b'\'', b'>', &b[i..]),
            (true, Some(q)) => memchr::memchr2(q, b'&', &b[i..]),
        };
        let Some(next) = next else { break };
        i += next;
        let c = b[i];
        if in_tag {
            match (c, quote) {
                (b'"' | b'\'', None) => quote = Some(c),
                (q, Some(open)) if q == open => quote = None,
                (b'>', None) => in_tag = false,
                (b'&', Some(_)) => {
                    if let Some((skip, with, counted)) = reference(&doc[i..]) {
                        fixes += usize::from(counted);
                        if !edit(&mut out, &mut copied, i, skip, &with) {
                            cut_at = Some(i + skip);
                            break;
                        }
                        i += skip;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'&' => {
                if let Some((skip, with, counted)) = reference(&doc[i..]) {
                    fixes += usize::from(counted);
                    if !edit(&mut out, &mut copied, i, skip, &with) {
                        cut_at = Some(i + skip);
                        break;
                    }
                    i += skip;
                    continue;
                }
                i += 1;
            }
            b'<' => {
                let rest = &doc[i..];
                let skip_to = |end: &str, from: usize| {
                    rest[from..]
                        .find(end)
                        .map_or(b.len(), |p| i + from + p + end.len())
                };
                if rest.starts_with("<!--") {
                    i = skip_to("-->", 4);
                } else if rest.starts_with("<![CDATA[") {
                    i = skip_to("]]>", 9);
                } else if rest.starts_with("<!") {
                    // DOCTYPE, with its internal subset up to "]" if it has one (its `[`
                    // is looked for only before the first `>`: no re-scan to the end).
                    i = match rest.find('>') {
                        Some(c) => match rest[..c].find('[') {
                            Some(o) => match rest[o..].find(']') {
                                Some(p) => skip_to(">", o + p),
                                None => b.len(),
                            },
                            None => i + c + 1,
                        },
                        None => b.len(),
                    };
                } else if rest.starts_with("<?") {
                    let end = skip_to("?>", 2);
                    let pi = &doc[i..end];
                    if is_foreign_declaration(pi) {
                        let with = if i == 0 || doc[..i].trim().is_empty() {
                            UTF8_DECL
                        } else {
                            ""
                        };
                        // Shrinks: never past the limit.
                        edit(&mut out, &mut copied, i, end - i, with);
                    }
                    i = end;
                } else if rest[1..]
                    .chars()
                    .next()
                    .is_some_and(|n| n == '/' || n == '_' || n == ':' || n.is_alphabetic())
                {
                    in_tag = true;
                    quote = None;
                    i += 1;
                } else {
                    fixes += 1;
                    if !edit(&mut out, &mut copied, i, 1, "&lt;") {
                        cut_at = Some(i + 1);
                        break;
                    }
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    let doc = match out {
        None => Cow::Borrowed(doc),
        Some(o) if cut_at.is_some() => Cow::Owned(o),
        Some(mut o) => {
            o.push_str(&doc[copied..]);
            Cow::Owned(o)
        }
    };
    Repaired { doc, fixes, cut_at }
}

/// `<?xml … encoding="X"?>` with X other than UTF-8.
fn is_foreign_declaration(pi: &str) -> bool {
    let Some(rest) = pi.strip_prefix("<?xml") else {
        return false;
    };
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return false;
    }
    let Some(at) = rest.find("encoding") else {
        return false;
    };
    let value = rest[at + 8..]
        .trim_start()
        .trim_start_matches('=')
        .trim_start();
    let label: String = value
        .chars()
        .skip(1)
        .take_while(|c| !matches!(c, '"' | '\'' | '?'))
        .collect();
    encoding_rs::Encoding::for_label(label.trim().as_bytes()) != Some(encoding_rs::UTF_8)
}

/// What the `&` at the start of `s` needs: `None` when it starts a reference XML reads as
/// it is; else how many bytes to replace, with what, and whether it counts as a repair.
fn reference(s: &str) -> Option<(usize, Cow<'static, str>, bool)> {
    let body = &s[1..];
    // References are short: looking further would make a page of bare `&` quadratic.
    let end = memchr::memchr(b';', &body.as_bytes()[..body.len().min(41)]);
    let Some(end) = end else {
        return Some((1, "&amp;".into(), true));
    };
    let name = &body[..end];
    let len = end + 2;
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).ok()
            }
            Some(_) => return Some((1, "&amp;".into(), true)),
            None if !num.is_empty() && num.bytes().all(|c| c.is_ascii_digit()) => num.parse().ok(),
            None => return Some((1, "&amp;".into(), true)),
        };
        return match code {
            Some(0x80..=0x9f) => {
                let byte = [code.unwrap_or(0) as u8];
                let (c, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
                Some((
                    len,
                    format!("&#{};", c.chars().next().map_or(0xfffd, u32::from)).into(),
                    true,
                ))
            }
            Some(c) if xml_char(c) => None,
            _ => Some((len, "&#xFFFD;".into(), true)),
        };
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.bytes().all(|c| c.is_ascii_alphanumeric())
    {
        return Some((1, "&amp;".into(), true));
    }
    if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
        return None;
    }
    match html5ever::data::NAMED_ENTITIES.get(&body[..=end]) {
        Some(&(a, b)) => {
            let mut with = format!("&#{a};");
            if b != 0 {
                with.push_str(&format!("&#{b};"));
            }
            Some((len, with.into(), false))
        }
        // An unknown name: its text is kept as it is written.
        None => Some((1, "&amp;".into(), true)),
    }
}

/// A character XML 1.0 allows.
fn xml_char(c: u32) -> bool {
    matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(doc: &str) -> String {
        repair(doc).doc.into_owned()
    }

    #[test]
    fn a_well_formed_document_is_not_copied() {
        let doc = r#"<?xml version="1.0" encoding="utf-8"?><rss a="x &amp; y"><title>Fish &amp; Chips &#233; &#x2019;</title><!-- & --><![CDATA[ & < ]]></rss>"#;
        let r = repair(doc);
        assert!(matches!(r.doc, Cow::Borrowed(_)));
        assert_eq!((r.fixes, r.cut_at), (0, None));
    }

    #[test]
    fn bare_ampersands_in_text_and_attributes() {
        assert_eq!(
            fixed("<t>Fish & Chips</t><link>https://x.example/?a=1&b=2</link>"),
            "<t>Fish &amp; Chips</t><link>https://x.example/?a=1&amp;b=2</link>"
        );
        assert_eq!(
            fixed(r#"<a href="?a=1&b=2" t='&'>AT&T;</a>"#),
            r#"<a href="?a=1&amp;b=2" t='&amp;'>AT&amp;T;</a>"#
        );
        assert_eq!(repair("<t>a & b & c</t>").fixes, 2);
    }

    #[test]
    fn html_entities_become_characters() {
        assert_eq!(
            fixed("<t>caf&eacute;&nbsp;&hellip; &amp;eacute; &copy;</t>"),
            "<t>caf&#233;&#160;&#8230; &amp;eacute; &#169;</t>"
        );
        assert_eq!(repair("<t>&eacute;</t>").fixes, 0);
        // Unknown: kept as written.
        assert_eq!(fixed("<t>&doesnotexist;</t>"), "<t>&amp;doesnotexist;</t>");
    }

    #[test]
    fn character_references_xml_forbids() {
        assert_eq!(
            fixed("<t>&#0;&#xD800;&#150;&#x92;&#65;</t>"),
            "<t>&#xFFFD;&#xFFFD;&#8211;&#8217;&#65;</t>"
        );
        assert_eq!(
            fixed("<t>&#x;&#;&#12a;</t>"),
            "<t>&amp;#x;&amp;#;&amp;#12a;</t>"
        );
    }

    #[test]
    fn a_stray_less_than_is_text() {
        assert_eq!(fixed("<t>a < b <= c</t>"), "<t>a &lt; b &lt;= c</t>");
        assert_eq!(fixed("<t>x</t><a:b/><_c/>"), "<t>x</t><a:b/><_c/>");
    }

    #[test]
    fn comments_cdata_and_doctype_are_left_alone() {
        let doc = "<!DOCTYPE rss [<!ENTITY a \"&\">]><rss><!-- a & b < c --><d><![CDATA[ & < ]]></d></rss>";
        assert_eq!(fixed(doc), doc);
        let doc = "<!DOCTYPE rss PUBLIC \"-//Netscape//DTD RSS 0.91//EN\" \"x.dtd\"><rss>&</rss>";
        assert!(fixed(doc).ends_with("<rss>&amp;</rss>"));
    }

    #[test]
    fn a_declaration_of_another_encoding_is_rewritten() {
        // Regression: quick-xml panicked on a UTF-16 declaration it met after its prefix.
        assert_eq!(
            fixed("<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss/>"),
            format!("{UTF8_DECL}<rss/>")
        );
        assert_eq!(
            fixed("<rss><?xml version='1.0' encoding='utf-16be'?></rss>"),
            "<rss></rss>"
        );
        let doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?><?xml-stylesheet href=\"a\"?><rss/>";
        assert_eq!(fixed(doc), doc);
        assert_eq!(
            fixed("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss/>"),
            format!("{UTF8_DECL}<rss/>")
        );
    }

    #[test]
    fn repairs_that_would_more_than_half_double_the_document_cut_it() {
        // A hostile page of bare `&`: repaired up to the limit, then cut there.
        let head = "<rss><channel><item><title>ok</title></item><item><title>";
        let doc = format!("{head}{}", "&".repeat(1 << 20));
        let r = repair(&doc);
        let cut = r.cut_at.expect("cut");
        assert!(cut < doc.len());
        // Every `&` before the cut repaired, nothing after it kept.
        assert_eq!(r.doc.len(), head.len() + 5 * (cut - head.len()));
        assert!(r.doc.len() <= doc.len() + doc.len() / 2 + GROWTH_SLACK + 5);
        // A real feed's few bare `&` are far from it.
        let doc = format!("<rss>{}</rss>", "Fish & Chips. ".repeat(10_000));
        let r = repair(&doc);
        assert_eq!((r.cut_at, r.fixes), (None, 10_000));
    }

    #[test]
    fn many_doctype_like_tags_are_read_once() {
        // Regression: each `<!` looked for a `[` to the end of the document.
        let doc = "<!x>".repeat(200_000) + "<rss>&</rss>";
        assert!(fixed(&doc).ends_with("<rss>&amp;</rss>"));
    }

    #[test]
    fn unterminated_constructs_do_not_panic() {
        for doc in [
            "<",
            "&",
            "<!--",
            "<![CDATA[",
            "<?xml",
            "<!DOCTYPE [",
            "<a b=\"",
            "&#",
            "é<é&é",
        ] {
            let _ = repair(doc);
        }
    }
}
