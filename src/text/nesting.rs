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

mod scan;
mod xml;

use scan::{Scanner, Tag};
pub use xml::{TooDeep, check_xml_depth};

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
    let mut scan = Scanner::new(html);
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
}
