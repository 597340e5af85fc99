//! Element-level repairs of a feed document before feed-rs reads it: what feed-rs 3.0
//! does not read, or rejects whole, rewritten into what it reads.
//!
//! Over 600 lines on purpose: `shape` is one pass of quick-xml's reader over the document
//! and each feed dialect's repair an arm of that one loop — splitting the loop would split
//! the state its arms share. The table below is its map; tests in `feedshape_tests.rs`.
//!
//! **Pre-processing, not a patch to feed-rs**: the crate is used as published (no
//! vendored fork to keep up), and each rewrite below is one small, tested edit of the
//! document. Where feed-rs itself is the cause (each could be a small upstream patch):
//!
//! | feed-rs 3.0 | here |
//! | --- | --- |
//! | knows only the RSS 1.0 namespace: RSS 0.90 (`my.netscape.com/rdf/simple/0.9/`), UserLand's and Harvard's give 0 items | those namespaces become RSS 1.0's |
//! | knows only Atom 1.0: Atom 0.3 (`purl.org/atom/ns#`, and its drafts') gives 0 items | it becomes Atom 1.0, its elements renamed (`issued` → `published`, `modified` → `updated`, `tagline` → `subtitle`, `copyright` → `rights`, `url` → `uri`), its `mode="escaped"`/`"base64"` texts turned into Atom 1.0 ones |
//! | rejects `<rss>` without a `version` (or with one it does not know, 0.93, 2.01…): "no root element" | it reads as 2.0; items straight under `<rss>` get the `<channel>` they lack |
//! | rejects the whole feed for one Atom text it cannot read (an empty `<title/>`, an unknown `type`) | that text is dropped or given a type it knows |
//! | reads an RSS `<title>`/`<description>` holding unescaped markup as empty | the markup is escaped, its text kept |
//! | drops an RSS 1.0 item without `<link>` | it gets a link that is not a web address ([`NO_LINK`]) |
//! | takes no permalink `<guid>` as the link (the item's link is the feed's) | an item without `<link>` gets its permalink `<guid>` as link |
//! | reads no `feedburner:origLink`, no `<source>` of an item (nor Bing's `News:Source`) | the origLink goes before the feedproxy link; the publisher is read here ([`Publisher`]) |
//!
//! The quick-xml panic on a UTF-16 declaration met after the prefix is avoided before
//! this (the text is decoded to UTF-8 and its declaration rewritten: `feedrepair`), as are
//! bare `&` and HTML entities. A document cut off (or ill-formed) after some complete
//! items keeps those items: it is cut after the last one and its open elements closed.
//!
//! One pass of quick-xml's reader; edits are collected in document order and applied
//! once; undoing an element's edits is a truncation: linear on a hostile body.

use std::borrow::Cow;
use std::ops::Range;

use base64::Engine;
use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// The publisher an aggregator names for an item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Publisher {
    pub name: Option<String>,
    /// Its site (RSS `<source url>`, Atom `<source><link>`).
    pub url: Option<String>,
}

/// A document ready for feed-rs, and what was learnt on the way.
pub struct Shaped<'a> {
    pub doc: Cow<'a, str>,
    /// Publishers by the link (as written) of the item they were named in.
    pub publishers: Vec<(String, Publisher)>,
    /// What was repaired that the user should know (a cut-off document).
    pub notes: Vec<String>,
}

const RSS1: &str = "http://purl.org/rss/1.0/";
/// The link given to an RSS 1.0 item without one, so that feed-rs keeps it; not a web
/// address, so no mention URL is made of it (`mention::canonical_url` refuses it).
pub const NO_LINK: &str = "urn:x-veille:no-link";
const ATOM: &str = "http://www.w3.org/2005/Atom";
/// Namespaces read as RSS (RSS 0.90, UserLand's and Harvard's RSS 2.0 namespaces).
const RSS_ALIASES: &[&str] = &[
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://backend.userland.com/rss",
    "http://backend.userland.com/rss2",
    "http://backend.userland.com/rss2.1",
    "http://blogs.law.harvard.edu/tech/rss",
];
/// Atom 0.3 and the drafts before it (Echo, Pie, Necho), as feedparser reads them.
const ATOM03: &[&str] = &[
    "http://purl.org/atom/ns#",
    "http://purl.org/echo/",
    "http://purl.org/pie/",
    "http://example.com/newformat#",
    "http://example.com/necho",
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ns {
    Rss,
    Atom,
    Atom03,
    Other,
}

/// An element open at the current point.
struct Open {
    /// Its qualified name in the document (to close it after a cut).
    name: Range<usize>,
    ns: Ns,
    local: String,
    /// Where its start tag begins, and where its content does.
    at: usize,
    content: usize,
    text: bool,
    child: bool,
    /// RSS field holding unescaped markup.
    naked: bool,
    /// Atom 0.3 `mode="base64"` text.
    base64: bool,
    /// How many edits there were before its start tag, and after it: those it made or
    /// its content did are the ones after (undone in one truncation, no re-scan).
    edits_at: usize,
    edits_content: usize,
}

/// What an item says about its links and publisher.
#[derive(Default)]
struct Item {
    /// Index of the item in the stack.
    depth: usize,
    /// Its prefix ("rss:" for `<rss:item>`), which inserted elements take too.
    prefix: String,
    atom: bool,
    /// Right after its start tag.
    first: usize,
    link: Option<String>,
    /// `<guid>` text and whether it is a permalink.
    guid: Option<(String, bool)>,
    orig_link: Option<String>,
    publisher: Publisher,
}

/// Rewrites `doc` (already UTF-8, characters repaired) into what feed-rs reads.
pub fn shape(doc: &str) -> Shaped<'_> {
    let mut s = Scan {
        doc,
        edits: Vec::new(),
        stack: Vec::new(),
        root: None,
        item: None,
        text: String::new(),
        publishers: Vec::new(),
        items: 0,
        safe: None,
        channel: (false, false),
    };
    let mut r = NsReader::from_str(doc);
    r.config_mut().trim_markup_names_in_closing_tags = true;
    let broken = loop {
        let start = r.buffer_position() as usize;
        let (ns, event) = match r.read_resolved_event() {
            Ok((res, ev)) => (s.ns_of(&res), ev),
            Err(e) => break Some((start, e.to_string())),
        };
        let end = r.buffer_position() as usize;
        match event {
            Event::Start(e) => s.start(&e, ns, start, end, false),
            Event::Empty(e) => s.start(&e, ns, start, end, true),
            Event::End(e) => {
                let name = s.range(e.name().as_ref());
                s.end(start, end, name)
            }
            // Text is decoded only where it is read (a few elements): a huge description
            // of 16 M references is not copied.
            Event::Text(t) if s.wants_text() => s.chars(&t.xml10_content()),
            Event::CData(t) if s.wants_text() => s.chars(&t.xml10_content()),
            Event::Text(t) => s.mark_text(&t.into_inner()),
            Event::CData(t) => s.mark_text(&t.into_inner()),
            Event::GeneralRef(g) if s.wants_text() => {
                let c = match g.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_predefined_entity(&g)
                        .unwrap_or_default()
                        .to_string(),
                };
                s.chars(&c);
            }
            Event::GeneralRef(_) => s.mark_text("&"),
            Event::Eof if s.stack.is_empty() => break None,
            Event::Eof => break Some((start, "the document ends inside an element".into())),
            _ => {}
        }
    };
    let mut notes = Vec::new();
    if let Some((at, why)) = broken {
        // Cut after the last complete item; without one, feed-rs says what is wrong.
        if let Some((cut, open, items)) = s.safe.take() {
            s.edits.retain(|(r, _)| r.start < cut);
            let mut close = String::new();
            for (i, name) in open.iter().enumerate().rev() {
                if i == 0 && s.channel == (true, false) {
                    close.push_str("</channel>");
                }
                close.push_str("</");
                close.push_str(&doc[name.clone()]);
                close.push('>');
            }
            s.edits.push((cut..doc.len(), close));
            let line = doc[..at.min(doc.len())].matches('\n').count() + 1;
            notes.push(format!(
                "the feed is cut off or ill-formed at line {line} ({why}): read the {items} complete item(s) before it"
            ));
        }
    }
    Shaped {
        doc: apply(doc, s.edits),
        publishers: s.publishers,
        notes,
    }
}

struct Scan<'d> {
    doc: &'d str,
    edits: Vec<(Range<usize>, String)>,
    stack: Vec<Open>,
    root: Option<(Ns, String)>,
    item: Option<Item>,
    /// Character data of the element being read, when it is one we read.
    text: String,
    publishers: Vec<(String, Publisher)>,
    items: usize,
    /// After the last complete item: where, the elements open there, items so far.
    safe: Option<(usize, Vec<Range<usize>>, usize)>,
    /// `<rss>` root: (an item straight under it, a channel under it).
    channel: (bool, bool),
}

impl Scan<'_> {
    fn ns_of(&self, res: &ResolveResult) -> Ns {
        match res {
            ResolveResult::Bound(ns) => {
                let uri = ns.as_ref();
                if uri == RSS1 || RSS_ALIASES.contains(&uri) || uri.is_empty() {
                    Ns::Rss
                } else if uri == ATOM {
                    Ns::Atom
                } else if ATOM03.contains(&uri) {
                    Ns::Atom03
                } else {
                    Ns::Other
                }
            }
            // No namespace: the root's (feed-rs reads `<feed>` without one as Atom).
            _ => match &self.root {
                Some((ns, _)) => *ns,
                None => Ns::Rss,
            },
        }
    }

    /// The range of `part` (borrowed from the document) in the document.
    fn range(&self, part: &str) -> Option<Range<usize>> {
        let start = (part.as_ptr() as usize).checked_sub(self.doc.as_ptr() as usize)?;
        (start + part.len() <= self.doc.len()).then(|| start..start + part.len())
    }

    fn start(&mut self, e: &BytesStart, ns: Ns, at: usize, end: usize, empty: bool) {
        let qname = e.name();
        let qname = qname.as_ref();
        let local = e.local_name().as_ref().to_string();
        let Some(name) = self.range(qname) else {
            return;
        };
        let depth = self.stack.len();
        let edits_at = self.edits.len();
        if let Some(parent) = self.stack.last_mut() {
            parent.child = true;
        }
        self.namespaces(e);
        let mut ns = ns;
        if self.root.is_none() {
            // `<feed version="0.3">` without a namespace is Atom 0.3 too.
            if local == "feed" && ns == Ns::Atom && attr(e, "version").as_deref() == Some("0.3") {
                ns = Ns::Atom03;
            }
            self.root = Some((ns, local.clone()));
            if local == "rss" {
                self.rss_version(e, name.end);
            }
        }
        let atomish = matches!(ns, Ns::Atom | Ns::Atom03);
        if ns == Ns::Atom03 {
            self.rename(name.clone(), &local);
        }
        // RSS fields holding markup, and items straight under <rss>.
        if depth == 1 && self.is_rss_root() {
            match local.as_str() {
                "item" => self.channel.0 = true,
                "channel" => self.channel.1 = true,
                _ => {}
            }
        }
        if let Some(field) = self.stack.last_mut()
            && let Some(item) = &self.item
            && !item.atom
            && depth == item.depth + 2
            && field.ns == Ns::Rss
            && matches!(field.local.as_str(), "title" | "description")
        {
            field.naked = true;
        }
        let mut base64 = false;
        if atomish && self.item_or_feed_text(&local, depth) {
            base64 = self.text_type(e, ns, &name, &local);
        }
        if empty {
            if atomish && self.item_or_feed_text(&local, depth) && attr(e, "src").is_none() {
                // feed-rs rejects the whole feed for one empty text.
                self.edits.push((at..end, String::new()));
            }
            self.element(e, ns, &local, depth, String::new());
            return;
        }
        self.text.clear();
        self.stack.push(Open {
            name,
            ns,
            local: local.clone(),
            at,
            content: end,
            text: false,
            child: false,
            naked: false,
            base64,
            edits_at,
            edits_content: self.edits.len(),
        });
        let is_item = match ns {
            Ns::Rss => local == "item",
            Ns::Atom | Ns::Atom03 => local == "entry",
            Ns::Other => false,
        };
        if is_item && self.item.is_none() {
            self.item = Some(Item {
                depth,
                prefix: qname[..qname.len() - local.len()].to_string(),
                atom: atomish,
                first: end,
                ..Item::default()
            });
        } else {
            self.element(e, ns, &local, depth, String::new());
        }
    }

    /// Attributes read from an element of an item (Atom links, RSS guid's isPermaLink).
    fn element(&mut self, e: &BytesStart, ns: Ns, local: &str, depth: usize, text: String) {
        let Some(item) = &mut self.item else { return };
        let child = depth == item.depth + 1;
        let grandchild = depth == item.depth + 2;
        let in_source = grandchild
            && self
                .stack
                .get(item.depth + 1)
                .is_some_and(|p| p.local == "source");
        match (ns, local) {
            (Ns::Atom | Ns::Atom03, "link") if child || in_source => {
                let rel = attr(e, "rel");
                if rel.as_deref().is_none_or(|r| r == "alternate")
                    && let Some(href) = attr(e, "href")
                {
                    if in_source {
                        item.publisher.url.get_or_insert(href);
                    } else {
                        item.link.get_or_insert(href);
                    }
                }
            }
            (Ns::Rss, "guid") if child => {
                let permalink =
                    attr(e, "isPermaLink").is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
                item.guid = Some((text, permalink));
            }
            (Ns::Rss, "source") if child => {
                item.publisher.url = attr(e, "url");
            }
            _ => {}
        }
    }

    /// Whether the text of the innermost element is read at its end.
    fn wants_text(&self) -> bool {
        self.stack.last().is_some_and(|top| {
            top.base64
                || self.item.is_some()
                    && matches!(
                        top.local.as_str(),
                        "link" | "guid" | "source" | "Source" | "origLink" | "title"
                    )
        })
    }

    /// Text not read: only whether the element has some.
    fn mark_text(&mut self, t: &str) {
        if let Some(top) = self.stack.last_mut()
            && (!t.trim().is_empty() || !t.is_empty() && !top.child)
        {
            top.text = true;
        }
    }

    fn chars(&mut self, t: &str) {
        if let Some(top) = self.stack.last_mut() {
            if !t.trim().is_empty() || !t.is_empty() && !top.child {
                top.text = true;
            }
            self.text.push_str(t);
        }
    }

    fn end(&mut self, at: usize, end: usize, name: Option<Range<usize>>) {
        let Some(open) = self.stack.pop() else { return };
        let depth = self.stack.len();
        let text = std::mem::take(&mut self.text);
        let atomish = matches!(open.ns, Ns::Atom | Ns::Atom03);
        if atomish && self.item_or_feed_text(&open.local, depth) && !open.text && !open.child {
            // Every edit since its start tag is inside it (document order).
            self.edits.truncate(open.edits_at);
            self.edits.push((open.at..end, String::new()));
        } else if open.ns == Ns::Atom03
            && let Some(name) = name
        {
            self.rename(name, &open.local);
        }
        if open.naked {
            let inner = &self.doc[open.content..at];
            self.edits.truncate(open.edits_content);
            self.edits.push((open.content..at, escape(inner)));
        }
        if open.base64 {
            let clean: String = text.split_ascii_whitespace().collect();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(clean) {
                let decoded = String::from_utf8_lossy(&bytes);
                self.edits.push((open.content..at, escape(&decoded)));
            }
        }
        if depth == 0 && self.channel == (true, false) {
            self.edits
                .push((open.content..open.content, "<channel>".into()));
            self.edits.push((at..at, "</channel>".into()));
        }
        let Some(item) = &mut self.item else { return };
        if depth == item.depth {
            self.item_end(end);
            return;
        }
        let child = depth == item.depth + 1;
        let in_source =
            depth == item.depth + 2 && self.stack.last().is_some_and(|p| p.local == "source");
        let value = text.trim().to_string();
        match (open.ns, open.local.as_str()) {
            (Ns::Rss, "link") if child => {
                item.link.get_or_insert(value);
            }
            (Ns::Rss, "guid") if child => {
                let permalink = item.guid.take().is_none_or(|(_, p)| p);
                item.guid = Some((value, permalink));
            }
            (Ns::Rss, "source") if child => item.publisher.name = Some(value),
            (Ns::Other, "Source") if child => item.publisher.name = Some(value),
            (Ns::Other, "origLink") if child => item.orig_link = Some(value),
            (Ns::Atom | Ns::Atom03, "title") if in_source => item.publisher.name = Some(value),
            _ => {}
        }
    }

    fn item_end(&mut self, end: usize) {
        let Some(item) = self.item.take() else { return };
        self.items += 1;
        let web = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        let p = &item.prefix;
        let insert = |href: &str| {
            if item.atom {
                format!("<{p}link rel=\"alternate\" href=\"{}\"/>", escape(href))
            } else {
                format!("<{p}link>{}</{p}link>", escape(href))
            }
        };
        let link = if let Some(orig) = item.orig_link.filter(|u| web(u)) {
            self.edits.push((item.first..item.first, insert(&orig)));
            Some(orig)
        } else if item.link.is_some() {
            item.link
        } else {
            let guid = item.guid.filter(|(g, permalink)| *permalink && web(g));
            let found = guid.map(|(g, _)| g);
            if let Some(u) = &found {
                self.edits.push((item.first..item.first, insert(u)));
            } else if !item.atom && matches!(&self.root, Some((_, r)) if r == "RDF") {
                // feed-rs drops an RSS 1.0 item without a link (rss1::handle_item, "no
                // point returning anything if we are missing a destination"): a link
                // that is not a web address keeps it, and reads as no link (the
                // mention points at the feed, as an RSS 2.0 item without one does).
                self.edits.push((item.first..item.first, insert(NO_LINK)));
            }
            found
        };
        let publisher = item.publisher;
        if let Some(link) = link
            && (publisher.name.as_deref().is_some_and(|n| !n.is_empty()) || publisher.url.is_some())
        {
            self.publishers.push((link, publisher));
        }
        // The elements open here: the same as at the previous item's end when they share
        // a parent (which stands for its ancestors): no copy per item.
        let (parent, depth) = (self.stack.last().map(|o| o.name.start), self.stack.len());
        match &mut self.safe {
            Some((at, open, items))
                if open.len() == depth && open.last().map(|n| n.start) == parent =>
            {
                (*at, *items) = (end, self.items);
            }
            _ => {
                let open = self.stack.iter().map(|o| o.name.clone()).collect();
                self.safe = Some((end, open, self.items));
            }
        }
    }

    fn is_rss_root(&self) -> bool {
        matches!(&self.root, Some((Ns::Rss, l)) if l == "rss")
    }

    /// An Atom text construct of an entry or of the feed (whose rejection would lose the
    /// whole feed).
    fn item_or_feed_text(&self, local: &str, depth: usize) -> bool {
        let parent = depth.checked_sub(1).and_then(|d| self.stack.get(d));
        let of_entry = parent.is_some_and(|p| matches!(p.local.as_str(), "entry" | "feed"));
        of_entry
            && matches!(
                local,
                "title" | "subtitle" | "tagline" | "summary" | "rights" | "copyright" | "content"
            )
    }

    /// Gives an Atom text construct a `type` feed-rs reads; true for an Atom 0.3
    /// base64 text (decoded at its end).
    fn text_type(&mut self, e: &BytesStart, ns: Ns, name: &Range<usize>, local: &str) -> bool {
        let ty = attr(e, "type");
        let mode = attr(e, "mode").unwrap_or_default();
        let lower = ty.as_deref().unwrap_or("").to_ascii_lowercase();
        let html = lower.contains("html");
        let want = if ns == Ns::Atom03 {
            match mode.as_str() {
                "escaped" | "base64" if html => "html",
                "escaped" | "base64" => "text",
                // Inline markup: read as XHTML.
                _ if lower.contains("xhtml") || html => "xhtml",
                _ => "text",
            }
        } else {
            match lower.as_str() {
                // With `src`, a media type feed-rs can parse.
                l if attr(e, "src").is_some() => {
                    if mime(l) {
                        return false;
                    }
                    "text/html"
                }
                "" | "text" | "html" | "xhtml" | "text/html" => return false,
                // Content may be any media type feed-rs can read.
                l if local == "content" && mime(l) => return false,
                _ if lower.contains("xhtml") => "xhtml",
                _ if html => "html",
                _ => "text",
            }
        };
        if ty.as_deref() != Some(want) {
            let value = e
                .attributes()
                .with_checks(false)
                .flatten()
                .find(|a| a.key.local_name().as_ref() == "type");
            match value.and_then(|a| match a.value {
                Cow::Borrowed(v) => self.range(v),
                Cow::Owned(_) => None,
            }) {
                Some(r) => self.edits.push((r, want.into())),
                None => self
                    .edits
                    .push((name.end..name.end, format!(" type=\"{want}\""))),
            }
        }
        ns == Ns::Atom03 && mode == "base64"
    }

    /// Namespace declarations feed-rs does not know, rewritten to those it does.
    fn namespaces(&mut self, e: &BytesStart) {
        for a in e.attributes().with_checks(false).flatten() {
            let key = a.key.as_ref();
            if key != "xmlns" && !key.starts_with("xmlns:") {
                continue;
            }
            let to = if RSS_ALIASES.contains(&a.value.as_ref()) {
                RSS1
            } else if ATOM03.contains(&a.value.as_ref()) {
                ATOM
            } else {
                continue;
            };
            if let Cow::Borrowed(v) = a.value
                && let Some(r) = self.range(v)
            {
                self.edits.push((r, to.into()));
            }
        }
    }

    /// `<rss>` without a version, or with one feed-rs does not know, reads as 2.0.
    fn rss_version(&mut self, e: &BytesStart, name_end: usize) {
        let version = e
            .attributes()
            .with_checks(false)
            .flatten()
            .find(|a| a.key.as_ref() == "version");
        match version {
            Some(a) if matches!(a.value.trim(), "2.0" | "0.91" | "0.92") => {}
            Some(a) => {
                if let Cow::Borrowed(v) = a.value
                    && let Some(r) = self.range(v)
                {
                    self.edits.push((r, "2.0".into()));
                }
            }
            None => self
                .edits
                .push((name_end..name_end, " version=\"2.0\"".into())),
        }
    }

    /// Atom 0.3 names with an Atom 1.0 equivalent.
    fn rename(&mut self, qname: Range<usize>, local: &str) {
        let to = match local {
            "issued" => "published",
            "modified" => "updated",
            "tagline" => "subtitle",
            "copyright" => "rights",
            "url" => "uri",
            _ => return,
        };
        let local_at = qname.end - local.len();
        self.edits.push((local_at..qname.end, to.into()));
    }
}

/// The value of the attribute `local` (any prefix), unescaped.
fn attr(e: &BytesStart, local: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .map(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|_| a.value.trim().to_string())
        })
}

/// A media type feed-rs parses (`type/subtype`, optional parameters).
fn mime(s: &str) -> bool {
    let t = s.split(';').next().unwrap_or("").trim();
    let token = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
    };
    matches!(t.split_once('/'), Some((a, b)) if token(a) && token(b))
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// `doc` with the edits made (ranges in document order, none overlapping).
fn apply(doc: &str, mut edits: Vec<(Range<usize>, String)>) -> Cow<'_, str> {
    if edits.is_empty() {
        return Cow::Borrowed(doc);
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(doc.len() + edits.len() * 32);
    let mut at = 0;
    for (r, with) in edits {
        if r.start < at {
            continue;
        }
        out.push_str(&doc[at..r.start]);
        out.push_str(&with);
        at = r.end;
    }
    out.push_str(&doc[at..]);
    Cow::Owned(out)
}

#[cfg(test)]
#[path = "feedshape_tests.rs"]
mod tests;
