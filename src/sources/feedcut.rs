//! Readies a feed document for feed-rs: decoded leniently ([`prepare`]), and what is too
//! large cut out of it before feed-rs reads it, so memory follows the configured text
//! size, not the item's.
//!
//! feed-rs builds its whole model (and copies each text several times while unescaping
//! and joining it) before we see an item; a 50 MB `<description>` would cost hundreds of
//! MB on the way to a text that is cut to `[crawl] max_text` anyway. One streaming pass of
//! quick-xml over the document (borrowing it, no copy) finds every field of an item
//! (`<item>`/`<entry>` child) and every run of character data longer than `budget` bytes;
//! the excess is dropped, a " […]" marker put in its place, and elements left open at
//! the cut closed again, so the result is as well-formed as the input. The declaration is
//! rewritten to say UTF-8, which the document is by now. Nothing to change: no copy.
//!
//! A document quick-xml cannot read is left as it is from the error on: feed-rs, which
//! reads XML with the same crate, then reports it.
//!
//! Over 500 lines with its tests (about 370 of code).

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::feedrepair;
use super::feedshape::{self, Publisher};
use crate::crawl::charset;

/// What replaces the cut part of a field.
pub const MARKER: &str = " […]";

const UTF8_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
/// `<![CDATA[`
const CDATA_OPEN: usize = 9;

/// The encoding a document's XML declaration names, if any.
fn xml_declared_encoding(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let head = bytes[..bytes.len().min(200)].trim_ascii_start();
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let decl = &head[..find(head, b"?>")?];
    let rest = &decl[find(decl, b"encoding")? + 8..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    encoding_rs::Encoding::for_label(&rest[..rest.iter().position(|&b| b == quote)?])
}

/// UTF-16 without a BOM, known by its first two characters `<?` (XML 1.0, appendix F):
/// what the bytes are, whatever a label says. Left undecoded, quick-xml (inside feed-rs)
/// sniffs it itself and panics switching decoders at the declaration ("set_encoding()
/// called after prefix buffer was drained"; found by the `feed` fuzz target).
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    if bytes.starts_with(b"\0<\0?") {
        Some(encoding_rs::UTF_16BE)
    } else if bytes.starts_with(b"<\0?\0") {
        Some(encoding_rs::UTF_16LE)
    } else {
        None
    }
}

/// A feed document ready for feed-rs, and what was done to it on the way.
pub struct Prepared<'a> {
    pub doc: Cow<'a, str>,
    /// Byte sequences that were not in the declared UTF-8, read as windows-1252.
    pub repaired: usize,
    /// The encoding guessed from the bytes (not UTF-8, nothing else declared).
    pub guessed: Option<&'static encoding_rs::Encoding>,
    /// Ill-formed characters repaired (bare `&`, stray `<`, unknown entities).
    pub fixes: usize,
    /// Publishers named by the items, by item link ([`feedshape`]).
    pub publishers: Vec<(String, Publisher)>,
    /// Repairs the user should hear of (a document cut off after some items).
    pub notes: Vec<String>,
}

/// The document as feed-rs is to read it: text decoded leniently (BOM, valid UTF-8, the
/// HTTP charset, the XML declaration, then windows-1252 for stray bytes or a guess for a
/// legacy encoding: see [`charset`]), characters repaired ([`feedrepair`]), dialects
/// and links normalized ([`feedshape`]), every item field (XML) or string (JSON) cut to
/// `budget` bytes ([`cut`], [`cut_json`]).
pub fn prepare<'a>(bytes: &'a [u8], content_type: Option<&str>, budget: usize) -> Prepared<'a> {
    let declared = utf16_without_bom(bytes)
        .or_else(|| charset::charset_of(content_type))
        .or_else(|| xml_declared_encoding(bytes));
    let decoded = charset::decode(bytes, declared);
    let mut out = Prepared {
        doc: Cow::Borrowed(""),
        repaired: decoded.repaired,
        guessed: decoded.guessed.then_some(decoded.encoding),
        fixes: 0,
        publishers: Vec::new(),
        notes: Vec::new(),
    };
    // JSON Feed or XML: either way its long texts are cut before feed-rs reads them.
    if decoded.text.trim_start().starts_with('{') {
        out.doc = then(decoded.text, |t| cut_json(t, budget));
        return out;
    }
    let doc = then(decoded.text, |t| {
        let r = feedrepair::repair(t);
        out.fixes = r.fixes;
        if let Some(at) = r.cut_at {
            let line = t[..at].matches('\n').count() + 1;
            out.notes.push(format!(
                "too many ill-formed characters ({} repaired): the document is read up to line {line} only",
                r.fixes
            ));
        }
        r.doc
    });
    let doc = then(doc, |t| {
        let shaped = feedshape::shape(t);
        out.publishers = shaped.publishers;
        out.notes.extend(shaped.notes);
        shaped.doc
    });
    out.doc = then(doc, |t| cut(t, budget));
    out
}

/// `f` applied to `doc`, without a copy when neither changes anything.
fn then<'a>(doc: Cow<'a, str>, f: impl for<'x> FnOnce(&'x str) -> Cow<'x, str>) -> Cow<'a, str> {
    match doc {
        Cow::Borrowed(t) => f(t),
        Cow::Owned(t) => match f(&t) {
            Cow::Owned(changed) => Cow::Owned(changed),
            Cow::Borrowed(_) => Cow::Owned(t),
        },
    }
}

/// `doc` with every item field and every run of character data cut to `budget` bytes.
pub fn cut(doc: &str, budget: usize) -> Cow<'_, str> {
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut r = Reader::from_str(doc);
    r.config_mut().trim_markup_names_in_closing_tags = true;
    let mut depth = 0usize;
    // Depths of the open <item>/<entry> elements.
    let mut items: Vec<usize> = Vec::new();
    // The open field: its depth and where its content starts.
    let mut field: Option<(usize, usize)> = None;
    // Names of the elements open inside the field (to close them after a cut).
    let mut open: Vec<Range<usize>> = Vec::new();
    // Where the current run of character data started.
    let mut run: Option<usize> = None;
    // A cut in progress: from where, and what goes in place of the rest.
    let mut skip: Option<(usize, String)> = None;
    loop {
        let start = r.buffer_position() as usize;
        let Ok(event) = r.read_event() else { break };
        let end = r.buffer_position() as usize;
        let char_data = matches!(
            event,
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)
        );
        if !char_data {
            run = None;
            // A cut outside a field ends with its run of character data.
            if field.is_none()
                && let Some((at, with)) = skip.take()
            {
                edits.push((at..start, with));
            }
        }
        match &event {
            Event::Eof => break,
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                if skip.is_some() {
                    continue;
                }
                let from = *run.get_or_insert(start);
                let limit = field.map_or(from, |(_, s)| s) + budget;
                if end <= limit {
                    continue;
                }
                // Cut inside this event, at a character boundary, never inside an
                // entity (references are events of their own) or a CDATA opening.
                let room = limit.saturating_sub(start);
                let (at, cdata) = match event {
                    Event::Text(_) => (floor_boundary(doc, start + room), false),
                    Event::CData(_) if room > CDATA_OPEN => {
                        (floor_boundary(doc, start + room), true)
                    }
                    _ => (start, false),
                };
                let to_close: &[Range<usize>] = if field.is_some() { &open } else { &[] };
                let mut with = String::from(if cdata { "]]>" } else { "" });
                with.push_str(&closing(doc, to_close));
                skip = Some((at, with));
            }
            Event::Decl(d) => {
                let utf8 = d
                    .encoding()
                    .and_then(Result::ok)
                    .is_none_or(|e| e.eq_ignore_ascii_case("utf-8"));
                // Inside a field being cut, the declaration goes with the cut: a second
                // edit there would overlap it (a panic the `feed` fuzz target found).
                if !utf8 && skip.is_none() {
                    edits.push((start..end, UTF8_DECL.into()));
                }
            }
            Event::End(_) => {
                if let Some((d, _)) = field
                    && d == depth
                {
                    if let Some((at, with)) = skip.take() {
                        edits.push((at..start, with));
                    }
                    field = None;
                    open.clear();
                } else if field.is_some() && skip.is_none() {
                    open.pop();
                }
                if items.last() == Some(&depth) {
                    items.pop();
                }
                depth = depth.saturating_sub(1);
            }
            // Start, Empty, Comment, PI, DocType.
            _ => {
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
                if skip.is_some() {
                    continue;
                }
                if let Some((_, content)) = field {
                    if end - content > budget {
                        // Markup-heavy content (XHTML): cut before this element.
                        skip = Some((start, closing(doc, &open)));
                    } else if let Event::Start(e) = &event {
                        let name = start + 1;
                        open.push(name..name + e.name().as_ref().len());
                    }
                } else if let Event::Start(e) = &event {
                    if matches!(e.local_name().into_inner(), "item" | "entry") {
                        items.push(depth);
                    } else if items.last().is_some_and(|&d| d + 1 == depth) {
                        field = Some((depth, end));
                    }
                }
            }
        }
    }
    // Unterminated at the end (or an error): the cut runs to the end of the document.
    if let Some((at, with)) = skip {
        let to = (r.buffer_position() as usize).clamp(at, doc.len());
        edits.push((at..to, with));
    }
    if edits.is_empty() {
        return Cow::Borrowed(doc);
    }
    let removed: usize = edits.iter().map(|(r, _)| r.len()).sum();
    let mut out = String::with_capacity(doc.len().saturating_sub(removed) + edits.len() * 64);
    let mut at = 0;
    for (range, with) in edits {
        out.push_str(&doc[at..range.start]);
        out.push_str(&with);
        at = range.end;
    }
    out.push_str(&doc[at..]);
    Cow::Owned(out)
}

/// The marker and the end tags of the elements open at the cut, innermost first.
fn closing(doc: &str, open: &[Range<usize>]) -> String {
    let mut with = String::from(MARKER);
    for name in open.iter().rev() {
        with.push_str("</");
        with.push_str(&doc[name.clone()]);
        with.push('>');
    }
    with
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A JSON Feed with every string longer than `budget` bytes cut (with the marker). The
/// strings are cut while serde_json reads them, so a huge one is never copied whole
/// (once at most, when it carries escapes); a document it cannot read is left as it is.
pub fn cut_json(doc: &str, budget: usize) -> Cow<'_, str> {
    if doc.len() <= budget {
        return Cow::Borrowed(doc);
    }
    let cut = std::cell::Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(doc);
    let seed = Capped { budget, cut: &cut };
    match serde::de::DeserializeSeed::deserialize(seed, &mut de) {
        Ok(value) if cut.get() => {
            serde_json::to_string(&value).map_or(Cow::Borrowed(doc), Cow::Owned)
        }
        _ => Cow::Borrowed(doc),
    }
}

/// Reads a JSON value with its strings cut to `budget` bytes. Nesting is bounded by
/// serde_json's own recursion limit (128).
#[derive(Clone, Copy)]
struct Capped<'c> {
    budget: usize,
    cut: &'c std::cell::Cell<bool>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Capped<'_> {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Capped<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        if v.len() <= self.budget {
            return Ok(v.into());
        }
        self.cut.set(true);
        let mut s = v[..floor_boundary(v, self.budget)].to_string();
        s.push_str(MARKER);
        Ok(s.into())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(out.into())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(self)?;
            out.insert(k, v);
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss(desc: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><rss><channel><title>t</title><item><title>a</title><description>{desc}</description><link>https://x.example/1</link></item></channel></rss>"
        )
    }

    #[test]
    fn small_documents_are_not_copied() {
        let doc = rss("&lt;p&gt;Acme&lt;/p&gt;");
        assert!(matches!(cut(&doc, 1000), Cow::Borrowed(_)));
    }

    #[test]
    fn a_long_escaped_field_is_cut_with_a_marker_and_the_rest_kept() {
        let doc = rss(&"&lt;p&gt;Acmé caf&amp;eacute;&lt;/p&gt;".repeat(1000));
        let out = cut(&doc, 100);
        assert!(out.len() < 400, "{}", out.len());
        let desc =
            &out[out.find("<description>").unwrap() + 13..out.find("</description>").unwrap()];
        assert!(desc.len() <= 100 + MARKER.len(), "{desc}");
        assert!(desc.ends_with(MARKER), "{desc}");
        // Cut between entities, never inside one.
        assert!(!desc.trim_end_matches(MARKER).contains("&l;"));
        assert!(out.contains("<link>https://x.example/1</link></item></channel></rss>"));
    }

    #[test]
    fn cdata_is_closed_after_the_cut() {
        let doc = rss(&format!("<![CDATA[{}]]>", "<p>été</p>".repeat(1000)));
        let out = cut(&doc, 50);
        assert!(out.contains("]]> […]</description>"), "{out}");
        assert!(out.len() < 300);
    }

    #[test]
    fn xhtml_content_is_cut_and_its_open_elements_closed() {
        let doc = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id><content type=\"xhtml\"><div><ul>{}</ul></div></content><link href=\"https://x.example/1\"/></entry></feed>",
            "<li><b>Acme</b></li>".repeat(1000)
        );
        let out = cut(&doc, 200);
        assert!(out.len() < 500, "{}", out.len());
        assert!(out.contains(" […]</ul></div></content><link"), "{out}");
        // As well-formed as the input.
        let mut r = Reader::from_str(&out);
        loop {
            match r.read_event() {
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("{e}: {out}"),
            }
        }
    }

    #[test]
    fn a_long_channel_text_is_cut_too() {
        let doc = format!(
            "<rss><channel><description>{}</description><item><title>a</title></item></channel></rss>",
            "x".repeat(10_000)
        );
        let out = cut(&doc, 100);
        assert!(out.contains(&format!("{}{MARKER}</description><item>", "x".repeat(100))));
    }

    #[test]
    fn the_declaration_says_utf8_after_decoding() {
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss/>";
        assert_eq!(cut(doc, 100), format!("{UTF8_DECL}<rss/>"));
        let doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss/>";
        assert!(matches!(cut(doc, 100), Cow::Borrowed(_)));
    }

    #[test]
    fn cut_at_a_character_boundary() {
        let doc = rss(&"é".repeat(100));
        for budget in 1..20 {
            let out = cut(&doc, budget);
            assert!(out.contains(MARKER), "{budget}");
        }
    }

    #[test]
    fn json_strings_are_cut_as_they_are_read() {
        let doc = format!(
            r#"{{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{{"id":"1","url":"https://j.example/1","content_html":"{}","n":1.5,"ok":true,"tags":["a",null]}}]}}"#,
            "<p>caf\\u00e9 \\\"Acme\\\"</p>\\n".repeat(1000)
        );
        let out = cut_json(&doc, 100);
        assert!(out.len() < 400, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let html = v["items"][0]["content_html"].as_str().unwrap();
        assert!(
            html.starts_with("<p>café \"Acme\"</p>\n") && html.ends_with(MARKER),
            "{html}"
        );
        assert!(html.len() <= 100 + MARKER.len());
        assert_eq!(v["items"][0]["url"], "https://j.example/1");
        assert_eq!(v["items"][0]["n"], 1.5);
        assert_eq!(v["items"][0]["tags"], serde_json::json!(["a", null]));
        // Nothing to cut, or not JSON: left as it is.
        assert!(matches!(cut_json(r#"{"a":"b"}"#, 100), Cow::Borrowed(_)));
        let broken = format!("{{\"a\":\"{}", "x".repeat(200));
        assert_eq!(cut_json(&broken, 100), broken);
    }

    #[test]
    fn a_non_ascii_quote_in_the_declaration_is_not_a_panic() {
        // Regression: the declaration reader sliced inside a multi-byte character.
        let xml = "<?xml version=\"1.0\" encoding=é?><rss version=\"2.0\"><channel><title>t</title></channel></rss>";
        let _ = prepare(xml.as_bytes(), None, 100).doc;
        assert_eq!(xml_declared_encoding(xml.as_bytes()), None);
        assert_eq!(
            xml_declared_encoding(b"  <?xml version='1.0' encoding='koi8-r'?><rss/>"),
            encoding_rs::Encoding::for_label(b"koi8-r")
        );
    }

    #[test]
    fn broken_documents_are_left_for_the_parser() {
        let doc = format!(
            "<rss><channel><item><title>{}</titl></item>",
            "x".repeat(50)
        );
        let out = cut(&doc, 1000);
        assert_eq!(out, doc);
    }
}
