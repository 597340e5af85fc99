//! How deep markup may nest before a parser sees it.
//!
//! html5ever's tree builder looks through its stack of open elements for most tags, so a
//! fragment nested n deep costs about n² steps (10,000 nested `<div>`: seconds, 1,000,000:
//! hours), and every walk over the tree needs n steps of depth. Browsers cap the tree
//! instead (Blink and WebKit nest at most 512 levels); veille does the same before
//! parsing: [`bound_html`] finds the tags the way the HTML tokenizer does (one linear
//! pass), estimates how deep the tree builder would nest them, and when that passes
//! [`MAX_HTML_DEPTH`] leaves out the tags below that depth. Their text stays.
//!
//! Feeds are handed to feed-rs, which recurses into some nested elements (`media:group`):
//! [`check_xml_depth`] refuses a document nested deeper than [`MAX_XML_DEPTH`].

use std::borrow::Cow;
use std::collections::HashMap;

use memchr::memmem;

/// Deepest HTML nesting given to the tree builder, as in Blink and WebKit.
pub const MAX_HTML_DEPTH: usize = 512;

/// Deepest element nesting accepted in a feed. Real feeds nest a few levels (an Atom
/// entry with XHTML content a few dozen).
pub const MAX_XML_DEPTH: usize = 256;

/// `html` as is when it nests at most [`MAX_HTML_DEPTH`] deep (the usual case), else a
/// copy without the tags that would nest deeper.
pub fn bound_html(html: &str) -> Cow<'_, str> {
    bound_html_at(html, MAX_HTML_DEPTH)
}

fn bound_html_at(html: &str, max: usize) -> Cow<'_, str> {
    // Every element needs a `<`: fewer of them than the cap cannot nest deeper.
    if memchr::memchr_iter(b'<', html.as_bytes())
        .nth(max)
        .is_none()
    {
        return Cow::Borrowed(html);
    }
    let mut sim = Sim::new(max);
    let mut scan = Scanner { s: html, pos: 0 };
    while let Some(tag) = scan.next_tag(sim.foreign()) {
        match sim.tag(&tag) {
            Next::Keep => {}
            Next::Drop => sim.drop_tag(html, &tag),
            Next::RawText => scan.skip_raw_text(&tag.name),
            Next::Plaintext => break,
        }
    }
    match sim.out {
        Some(mut out) => {
            out.push_str(&html[sim.copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(html),
    }
}

/// A tag as the HTML tokenizer sees it.
struct Tag<'a> {
    /// Byte range of the whole tag in the document.
    start: usize,
    end: usize,
    /// Lower case.
    name: Cow<'a, str>,
    end_tag: bool,
    self_closing: bool,
    /// Has a `color`, `face` or `size` attribute (a `<font>` that leaves SVG content).
    font_attr: bool,
}

/// Finds tags, comments and raw text the way the HTML tokenizer does (WHATWG §13.2.5),
/// without building tokens: tag boundaries are all the depth estimate needs.
struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    /// Position just after the next `>` at or after `from` (the end when there is none).
    fn after_gt(&self, from: usize) -> usize {
        memchr::memchr(b'>', &self.bytes()[from.min(self.s.len())..])
            .map_or(self.s.len(), |i| from + i + 1)
    }

    fn after(&self, from: usize, needle: &[u8]) -> usize {
        let from = from.min(self.s.len());
        memmem::find(&self.bytes()[from..], needle)
            .map_or(self.s.len(), |i| from + i + needle.len())
    }

    fn next_tag(&mut self, foreign: bool) -> Option<Tag<'a>> {
        let b = self.bytes();
        loop {
            let lt = self.pos + memchr::memchr(b'<', &b[self.pos..])?;
            let rest = &b[lt + 1..];
            match rest.first() {
                Some(b'!') if rest.starts_with(b"!--") => {
                    // `<!-->` and `<!--->` end at once; otherwise `-->` or `--!>`.
                    let body = lt + 4;
                    self.pos = if b[body..].starts_with(b">") {
                        body + 1
                    } else if b[body..].starts_with(b"->") {
                        body + 2
                    } else {
                        self.after(body, b"-->").min(self.after(body, b"--!>"))
                    };
                }
                Some(b'!') if foreign && rest.starts_with(b"![CDATA[") => {
                    self.pos = self.after(lt + 9, b"]]>");
                }
                // Doctype, bogus comments.
                Some(b'!' | b'?') => self.pos = self.after_gt(lt + 2),
                Some(b'/') => match rest.get(1) {
                    Some(c) if c.is_ascii_alphabetic() => return self.tag(lt, lt + 2, true),
                    Some(_) => self.pos = self.after_gt(lt + 2),
                    None => return None,
                },
                Some(c) if c.is_ascii_alphabetic() => return self.tag(lt, lt + 1, false),
                // A `<` that starts nothing is text.
                _ => self.pos = lt + 1,
            }
        }
    }

    /// Reads a tag whose name starts at `i`; `None` at the end of input (the tokenizer
    /// drops a tag left open at the end).
    fn tag(&mut self, start: usize, i: usize, end_tag: bool) -> Option<Tag<'a>> {
        let b = self.bytes();
        let mut j = i;
        while j < b.len() && !is_space(b[j]) && b[j] != b'/' && b[j] != b'>' {
            j += 1;
        }
        let raw = &self.s[i..j];
        let name = if raw.bytes().any(|c| c.is_ascii_uppercase()) {
            Cow::Owned(raw.to_ascii_lowercase())
        } else {
            Cow::Borrowed(raw)
        };
        let (mut self_closing, mut font_attr) = (false, false);
        // Attributes: names, then values in quotes (which may hold `>`) or bare.
        loop {
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match b.get(j)? {
                b'>' => break,
                b'/' => {
                    j += 1;
                    if b.get(j) == Some(&b'>') {
                        self_closing = true;
                        break;
                    }
                    continue;
                }
                _ => {}
            }
            let name_start = j;
            j += 1; // a first `=` belongs to the name
            while j < b.len() && !is_space(b[j]) && !matches!(b[j], b'/' | b'>' | b'=') {
                j += 1;
            }
            let attr = &b[name_start..j];
            font_attr |= [&b"color"[..], b"face", b"size"]
                .iter()
                .any(|n| attr.eq_ignore_ascii_case(n));
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            if b.get(j) != Some(&b'=') {
                continue;
            }
            j += 1;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match b.get(j)? {
                q @ (b'"' | b'\'') => {
                    let close = memchr::memchr(*q, &b[j + 1..])?;
                    j += close + 2;
                }
                b'>' => break,
                _ => {
                    while j < b.len() && !is_space(b[j]) && b[j] != b'>' {
                        j += 1;
                    }
                }
            }
        }
        self.pos = j + 1;
        Some(Tag {
            start,
            end: j + 1,
            name,
            end_tag,
            self_closing,
            font_attr,
        })
    }

    /// Skips the text of `<script>`, `<style>`, `<textarea>`… up to its end tag.
    fn skip_raw_text(&mut self, name: &str) {
        let b = self.bytes();
        let n = name.len();
        let mut from = self.pos;
        while let Some(i) = memmem::find(&b[from..], b"</") {
            let at = from + i;
            let end = at + 2 + n;
            if b.len() > end
                && b[at + 2..end].eq_ignore_ascii_case(name.as_bytes())
                && (is_space(b[end]) || matches!(b[end], b'/' | b'>'))
            {
                self.pos = at;
                return;
            }
            from = at + 2;
        }
        self.pos = b.len();
    }
}

/// What to do with a tag.
enum Next {
    Keep,
    /// Leave it out: it would nest deeper than the cap.
    Drop,
    /// Keep it; its content is text up to its end tag.
    RawText,
    /// Keep it; everything after it is text.
    Plaintext,
}

/// What the tree builder would do with the tags, told well enough to bound its depth:
/// an estimate that can be too high on sloppy markup, never far too low.
struct Sim {
    max: usize,
    /// Open elements counted towards the depth: (name, children are SVG/MathML content).
    stack: Vec<(String, bool)>,
    /// How many of each name `stack` holds.
    open: HashMap<String, u32>,
    /// Formatting elements (`<b>`, `<a>`…) closed by another element's end tag: the tree
    /// builder opens them again around the next text.
    reopened: HashMap<String, u32>,
    reopened_total: usize,
    /// Start tags left out, whose end tags are left out too.
    dropped: HashMap<String, u32>,
    /// The document without the left-out tags, up to `copied` (made at the first one).
    out: Option<String>,
    copied: usize,
}

impl Sim {
    fn new(max: usize) -> Sim {
        Sim {
            max,
            stack: Vec::new(),
            open: HashMap::new(),
            reopened: HashMap::new(),
            reopened_total: 0,
            dropped: HashMap::new(),
            out: None,
            copied: 0,
        }
    }

    fn depth(&self) -> usize {
        self.stack.len() + self.reopened_total
    }

    fn foreign(&self) -> bool {
        self.stack.last().is_some_and(|(_, f)| *f)
    }

    fn tag(&mut self, tag: &Tag<'_>) -> Next {
        let n: &str = &tag.name;
        if tag.end_tag {
            if let Some(c) = self.dropped.get_mut(n).filter(|c| **c > 0) {
                *c -= 1;
                return Next::Drop;
            }
            self.close(n);
            return Next::Keep;
        }
        let kind = Kind::of(n);
        if self.foreign() && (breaks_out(n) || (n == "font" && tag.font_attr)) {
            while self.foreign() {
                self.pop();
            }
        }
        let foreign = self.foreign();
        // What the element adds to the depth; `None` when it adds nothing.
        let push = if kind == Kind::Foreign {
            (!tag.self_closing).then_some(true)
        } else if foreign {
            (!tag.self_closing).then(|| !is_integration_point(n))
        } else if matches!(kind, Kind::Void | Kind::ImpliedEnd) {
            None
        } else {
            if kind == Kind::FormattingSingle
                && (self.open.get(n).is_some_and(|c| *c > 0)
                    || self.reopened.get(n).is_some_and(|c| *c > 0))
            {
                // A second `<a>` (or `<nobr>`) closes the first.
                self.close(n);
            }
            // In HTML content `<div/>` is an open `<div>`.
            Some(false)
        };
        if let Some(children_foreign) = push {
            let map = if self.depth() >= self.max {
                &mut self.dropped
            } else {
                &mut self.open
            };
            match map.get_mut(n) {
                Some(c) => *c += 1,
                None => {
                    map.insert(n.to_string(), 1);
                }
            }
            if self.depth() >= self.max {
                return Next::Drop;
            }
            self.stack.push((n.to_string(), children_foreign));
        }
        match kind {
            _ if foreign => Next::Keep,
            Kind::RawText => Next::RawText,
            Kind::Plaintext => Next::Plaintext,
            _ => Next::Keep,
        }
    }

    /// An end tag: closes `name` and everything opened inside it, if it is open.
    fn close(&mut self, name: &str) {
        if self.open.get(name).is_some_and(|c| *c > 0) {
            while let Some(top) = self.pop() {
                if top == name {
                    break;
                }
                if matches!(Kind::of(&top), Kind::Formatting | Kind::FormattingSingle) {
                    *self.reopened.entry(top).or_default() += 1;
                    self.reopened_total += 1;
                }
            }
        } else if let Some(c) = self.reopened.get_mut(name).filter(|c| **c > 0) {
            *c -= 1;
            self.reopened_total -= 1;
        }
    }

    fn pop(&mut self) -> Option<String> {
        let (name, _) = self.stack.pop()?;
        if let Some(c) = self.open.get_mut(&name) {
            *c -= 1;
        }
        Some(name)
    }

    /// Copies the document up to `tag` and leaves the tag out; a left-out block tag still
    /// keeps the words around it apart.
    fn drop_tag(&mut self, html: &str, tag: &Tag<'_>) {
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(html.len()));
        out.push_str(&html[self.copied..tag.start]);
        if super::html::is_block(&tag.name) && !out.ends_with('\n') {
            out.push('\n');
        }
        self.copied = tag.end;
    }
}

/// What the tree builder does with an element, as far as depth goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Holds nothing.
    Void,
    /// Closes an open one of its kind (`<p>`, `<li>`, `<td>`…), or is merged or ignored:
    /// nests only inside other, counted, elements.
    ImpliedEnd,
    /// Comes back around the next text when closed by another element's end tag.
    Formatting,
    /// Formatting, and a second one closes the first (`<a>`, `<nobr>`).
    FormattingSingle,
    /// Its content is text up to its end tag.
    RawText,
    /// Everything after it is text.
    Plaintext,
    /// `<svg>`, `<math>`: SVG/MathML content follows.
    Foreign,
    Other,
}

impl Kind {
    fn of(name: &str) -> Kind {
        match name {
            "area" | "base" | "basefont" | "bgsound" | "col" | "frame" | "image" | "input"
            | "keygen" | "link" | "param" | "source" | "track" | "wbr" => Kind::Void,
            "p" | "li" | "dd" | "dt" | "option" | "optgroup" | "tr" | "td" | "th" | "tbody"
            | "thead" | "tfoot" | "rb" | "rp" | "rt" | "rtc" | "caption" | "colgroup" | "html"
            | "head" | "body" | "frameset" => Kind::ImpliedEnd,
            "b" | "big" | "code" | "em" | "font" | "i" | "s" | "small" | "strike" | "strong"
            | "tt" | "u" => Kind::Formatting,
            "a" | "nobr" => Kind::FormattingSingle,
            "script" | "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript"
            | "textarea" | "title" => Kind::RawText,
            "plaintext" => Kind::Plaintext,
            "br" | "embed" | "hr" | "img" | "meta" => Kind::Void,
            "svg" | "math" => Kind::Foreign,
            _ => Kind::Other,
        }
    }
}

/// HTML start tags that end SVG/MathML content (`<font>` too, with some attributes).
fn breaks_out(name: &str) -> bool {
    matches!(
        name,
        "b" | "big"
            | "blockquote"
            | "body"
            | "br"
            | "center"
            | "code"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "em"
            | "embed"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "head"
            | "hr"
            | "i"
            | "img"
            | "li"
            | "listing"
            | "menu"
            | "meta"
            | "nobr"
            | "ol"
            | "p"
            | "pre"
            | "ruby"
            | "s"
            | "small"
            | "span"
            | "strong"
            | "strike"
            | "sub"
            | "sup"
            | "table"
            | "tt"
            | "u"
            | "ul"
            | "var"
    )
}

/// SVG/MathML elements whose children are HTML again.
fn is_integration_point(name: &str) -> bool {
    matches!(
        name,
        "foreignobject" | "desc" | "title" | "mi" | "mo" | "mn" | "ms" | "mtext" | "annotation-xml"
    )
}

/// A feed nested deeper than [`MAX_XML_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "elements nested {depth} deep (line {line}, column {column}): veille reads feeds nested at most {max} deep"
)]
pub struct TooDeep {
    /// Deepest nesting in the document.
    pub depth: usize,
    /// Where the nesting first went past the limit (1-based).
    pub line: usize,
    pub column: usize,
    pub max: usize,
}

/// Refuses an XML document whose elements nest deeper than [`MAX_XML_DEPTH`], in one
/// streaming pass. Whatever else is wrong with it is left to the feed parser.
pub fn check_xml_depth(xml: &[u8]) -> Result<(), TooDeep> {
    check_xml_depth_at(xml, MAX_XML_DEPTH)
}

fn check_xml_depth_at(xml: &[u8], max: usize) -> Result<(), TooDeep> {
    use quick_xml::events::Event;
    // UTF-16 (announced by its byte-order mark) is read as UTF-8 for counting.
    let decoded;
    let xml = match encoding_rs::Encoding::for_bom(xml) {
        Some((enc, _)) if enc != encoding_rs::UTF_8 => {
            decoded = enc.decode(xml).0.into_owned();
            decoded.as_bytes()
        }
        _ => xml,
    };
    let mut r = quick_xml::Reader::from_reader(xml);
    let config = r.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    let (mut depth, mut deepest, mut first_over) = (0usize, 0usize, None);
    let mut buf = Vec::new();
    loop {
        match r.read_event_into(&mut buf) {
            Ok(Event::Start(_)) => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > max && first_over.is_none() {
                    first_over = Some(r.buffer_position());
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        buf.clear();
    }
    let Some(at) = first_over else {
        return Ok(());
    };
    let before = &xml[..(at as usize).min(xml.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.len()
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
    Err(TooDeep {
        depth: deepest,
        line,
        column,
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Depth of the tree scraper builds (iteratively).
    fn tree_depth(html: &str) -> usize {
        let doc = scraper::Html::parse_fragment(html);
        let mut deepest = 0;
        let mut stack = vec![(doc.tree.root(), 0usize)];
        while let Some((n, d)) = stack.pop() {
            deepest = deepest.max(d);
            stack.extend(n.children().map(|c| (c, d + 1)));
        }
        deepest
    }

    #[test]
    fn ordinary_markup_is_left_alone() {
        let page =
            "<div class=post><p>Acme <b>bad</b> <a href='/x'>link</a><p>second<br>line</div>"
                .repeat(200);
        assert!(matches!(bound_html_at(&page, 16), Cow::Borrowed(_)));
        // Hundreds of self-closed SVG shapes and unclosed paragraphs nest nothing.
        let icons = format!("<svg>{}</svg>", "<path d='M0 0'/>".repeat(1000));
        assert!(matches!(bound_html_at(&icons, 16), Cow::Borrowed(_)));
        let paras = "<p>one<li>two<td>three".repeat(1000);
        assert!(matches!(bound_html_at(&paras, 16), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_nesting_is_cut_at_the_limit_and_keeps_its_text() {
        let n = 5_000;
        let html = format!(
            "<p>start</p>{}acme{}<p>end</p>",
            "<div><span>".repeat(n),
            "</span></div>".repeat(n)
        );
        let bounded = bound_html_at(&html, 64);
        assert!(matches!(bounded, Cow::Owned(_)));
        assert!(tree_depth(&bounded) <= 64 + 4, "{}", tree_depth(&bounded));
        let text = crate::text::html_to_text(&bounded);
        assert_eq!(text, "start\nacme\nend");
    }

    #[test]
    fn tricks_that_nest_without_looking_nested_are_counted() {
        let cases = [
            // Self-closing HTML elements are not closed.
            "<div/>".repeat(2000),
            // Formatting elements closed by another end tag come back around the next text.
            (0..2000)
                .map(|i| format!("<div><b id={i}></div>x"))
                .collect(),
            // An HTML tag leaves SVG content; the SVG end tag then closes nothing.
            "<svg><div/></svg>".repeat(2000),
            // Children of foreignObject are HTML: self-closing means nothing there.
            format!("<svg><foreignObject>{}", "<span/>".repeat(2000)),
            // Stray end tags close nothing.
            "<div></p></li></span>".repeat(2000),
            // `>` inside a quoted attribute does not end the tag; `/` in a bare value does
            // not close it.
            "<div title='a>b' data-x=\"<\">".repeat(2000),
            "<div a=b/>".repeat(2000),
            // Markup inside comments and raw text is text; the tags around it count.
            "<!-- </div> --><span><textarea></span></textarea>".repeat(2000),
        ];
        for html in cases {
            let bounded = bound_html_at(&html, 64);
            let d = tree_depth(&bounded);
            assert!(d <= 2 * 64, "{d} deep after bounding {}…", &html[..40]);
        }
    }

    #[test]
    fn script_text_is_not_markup() {
        let html = format!(
            "<script>{}</script><div>{}acme",
            "if (a<b) x = '<div>';".repeat(100),
            "<i>".repeat(100)
        );
        let bounded = bound_html_at(&html, 16);
        assert!(bounded.contains("if (a<b) x = '<div>';"), "{bounded}");
        assert_eq!(crate::text::html_to_text(&bounded), "acme");
    }

    #[test]
    fn attributes_comments_and_text_survive_the_rewrite() {
        let html = format!(
            "<a href=\"/x?a=1&amp;b=&quot;2&quot;\" title='x<y'>T&amp;J &lt;3<!-- c --></a>{}",
            "<div>".repeat(100)
        );
        let bounded = bound_html_at(&html, 16);
        let doc = scraper::Html::parse_fragment(&bounded);
        let a = doc
            .select(&scraper::Selector::parse("a").unwrap())
            .next()
            .unwrap();
        assert_eq!(a.value().attr("href"), Some("/x?a=1&b=\"2\""));
        assert_eq!(a.value().attr("title"), Some("x<y"));
        assert_eq!(a.text().collect::<String>(), "T&J <3");
    }

    #[test]
    fn a_million_nested_divs_in_one_pass() {
        let html = "<div>".repeat(1_000_000) + "acme";
        let bounded = bound_html(&html);
        assert!(bounded.len() < 10_000, "{}", bounded.len());
        assert_eq!(crate::text::html_to_text(&html), "acme");
    }

    #[test]
    fn xml_depth() {
        let ok = format!("<rss>{}x{}</rss>", "<a>".repeat(10), "</a>".repeat(10));
        assert_eq!(check_xml_depth_at(ok.as_bytes(), 16), Ok(()));
        let deep = format!(
            "<?xml version=\"1.0\"?>\n<rss>\n{}x{}</rss>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        let e = check_xml_depth_at(deep.as_bytes(), 16).unwrap_err();
        assert_eq!((e.depth, e.line, e.column), (101, 3, 48));
        assert!(e.to_string().contains("nested 101 deep"), "{e}");
        // Unclosed and mismatched elements still count.
        let sloppy = "<a><b></c>".repeat(50);
        assert!(check_xml_depth_at(sloppy.as_bytes(), 16).is_err());
        // UTF-16 is read through its byte-order mark.
        let mut utf16 = vec![0xff, 0xfe];
        for u in deep.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(check_xml_depth_at(&utf16, 16).unwrap_err().depth, 101);
    }
}
