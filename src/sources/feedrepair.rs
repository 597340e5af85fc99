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

use std::borrow::Cow;

/// What an XML declaration becomes when it names another encoding than UTF-8.
const UTF8_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// The repaired document and how many ill-formed spots were fixed (HTML entities, which
/// are common and harmless, are not counted).
pub fn repair(doc: &str) -> (Cow<'_, str>, usize) {
    let b = doc.as_bytes();
    let mut out: Option<String> = None;
    // Bytes of `doc` already copied to `out`.
    let mut copied = 0;
    let mut fixes = 0;
    let edit = |out: &mut Option<String>, copied: &mut usize, at: usize, skip: usize, with: &str| {
        let o = out.get_or_insert_with(|| String::with_capacity(doc.len() + 64));
        o.push_str(&doc[*copied..at]);
        o.push_str(with);
        *copied = at + skip;
    };
    let mut i = 0;
    // Inside a start or end tag: the quote of the attribute value we are in, if any.
    let mut in_tag = false;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if in_tag {
            match (c, quote) {
                (b'"' | b'\'', None) => quote = Some(c),
                (q, Some(open)) if q == open => quote = None,
                (b'>', None) => in_tag = false,
                (b'&', Some(_)) => {
                    if let Some((skip, with, counted)) = reference(&doc[i..]) {
                        edit(&mut out, &mut copied, i, skip, &with);
                        fixes += usize::from(counted);
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
                    edit(&mut out, &mut copied, i, skip, &with);
                    fixes += usize::from(counted);
                    i += skip;
                    continue;
                }
                i += 1;
            }
            b'<' => {
                let rest = &doc[i..];
                let skip_to = |end: &str, from: usize| {
                    rest[from..].find(end).map_or(b.len(), |p| i + from + p + end.len())
                };
                if rest.starts_with("<!--") {
                    i = skip_to("-->", 4);
                } else if rest.starts_with("<![CDATA[") {
                    i = skip_to("]]>", 9);
                } else if rest.starts_with("<!") {
                    // DOCTYPE, with its internal subset up to "]" if it has one.
                    let open = rest.find('[');
                    i = match (open, rest.find('>')) {
                        (Some(o), Some(c)) if o < c => match rest[o..].find(']') {
                            Some(p) => skip_to(">", o + p),
                            None => b.len(),
                        },
                        _ => skip_to(">", 2),
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
                    edit(&mut out, &mut copied, i, 1, "&lt;");
                    fixes += 1;
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    match out {
        None => (Cow::Borrowed(doc), fixes),
        Some(mut o) => {
            o.push_str(&doc[copied..]);
            (Cow::Owned(o), fixes)
        }
    }
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
fn reference(s: &str) -> Option<(usize, String, bool)> {
    let body = &s[1..];
    // References are short: looking further would make a page of bare `&` quadratic.
    let end = body.bytes().take(41).position(|c| c == b';');
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
                Some((len, format!("&#{};", c.chars().next().map_or(0xfffd, u32::from)), true))
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
            Some((len, with, false))
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
        repair(doc).0.into_owned()
    }

    #[test]
    fn a_well_formed_document_is_not_copied() {
        let doc = r#"<?xml version="1.0" encoding="utf-8"?><rss a="x &amp; y"><title>Fish &amp; Chips &#233; &#x2019;</title><!-- & --><![CDATA[ & < ]]></rss>"#;
        let (out, fixes) = repair(doc);
        assert!(matches!(out, Cow::Borrowed(_)));
        assert_eq!(fixes, 0);
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
        assert_eq!(repair("<t>a & b & c</t>").1, 2);
    }

    #[test]
    fn html_entities_become_characters() {
        assert_eq!(
            fixed("<t>caf&eacute;&nbsp;&hellip; &amp;eacute; &copy;</t>"),
            "<t>caf&#233;&#160;&#8230; &amp;eacute; &#169;</t>"
        );
        assert_eq!(repair("<t>&eacute;</t>").1, 0);
        // Unknown: kept as written.
        assert_eq!(fixed("<t>&doesnotexist;</t>"), "<t>&amp;doesnotexist;</t>");
    }

    #[test]
    fn character_references_xml_forbids() {
        assert_eq!(
            fixed("<t>&#0;&#xD800;&#150;&#x92;&#65;</t>"),
            "<t>&#xFFFD;&#xFFFD;&#8211;&#8217;&#65;</t>"
        );
        assert_eq!(fixed("<t>&#x;&#;&#12a;</t>"), "<t>&amp;#x;&amp;#;&amp;#12a;</t>");
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
    fn unterminated_constructs_do_not_panic() {
        for doc in ["<", "&", "<!--", "<![CDATA[", "<?xml", "<!DOCTYPE [", "<a b=\"", "&#", "é<é&é"] {
            let _ = repair(doc);
        }
    }
}
