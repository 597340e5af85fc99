//! HTML → plain text, for every source that receives markup.
//!
//! Markup is hostile: it is bounded in depth before parsing ([`super::nesting`]) and
//! walked with an explicit stack, so no document can overflow a stack or make the parser
//! quadratic.

use std::collections::HashSet;

use ego_tree::{NodeId, NodeRef};
use scraper::{Html, Node};

use super::{collapse_whitespace, nesting};

/// Parses an HTML fragment, nested at most [`nesting::MAX_HTML_DEPTH`] deep.
pub fn parse_fragment(html: &str) -> Html {
    Html::parse_fragment(&nesting::bound_html(html))
}

/// Parses a whole HTML page, nested at most [`nesting::MAX_HTML_DEPTH`] deep.
pub fn parse_document(html: &str) -> Html {
    Html::parse_document(&nesting::bound_html(html))
}

/// Turns an HTML fragment (or plain text that may carry entities) into plain text:
/// tags removed, entities decoded once, blocks separated by line breaks, whitespace
/// collapsed. Scripts, styles and the selectors in `exclude` are dropped.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return collapse_whitespace(html);
    }
    let doc = parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    walk(doc.tree.root(), &mut out, &HashSet::new());
    collapse_whitespace(&out)
}

/// Like [`html_to_text`], leaving out the elements matched by `exclude` (quoted posts in
/// forums, Mastodon's invisible link parts…).
pub fn html_to_text_without(html: &str, exclude: &[scraper::Selector]) -> String {
    if exclude.is_empty() {
        return html_to_text(html);
    }
    let doc = parse_fragment(html);
    let skip: HashSet<NodeId> = exclude
        .iter()
        .flat_map(|s| doc.select(s).map(|e| e.id()))
        .collect();
    let mut out = String::with_capacity(html.len());
    walk(doc.tree.root(), &mut out, &skip);
    collapse_whitespace(&out)
}

/// Text of an element already parsed (forum posts), leaving out `exclude`.
pub fn element_text(el: scraper::ElementRef<'_>, exclude: &[scraper::Selector]) -> String {
    let skip: HashSet<NodeId> = exclude
        .iter()
        .flat_map(|s| el.select(s).map(|e| e.id()))
        .collect();
    let mut out = String::new();
    walk(*el, &mut out, &skip);
    collapse_whitespace(&out)
}

/// What to write once an element's children are done.
#[derive(Clone, Copy)]
enum After {
    Nothing,
    Newline,
    Space,
}

/// Writes the text under `root` (not `root` itself), depth first, with an explicit stack:
/// one entry per open element, holding the next child to visit.
fn walk(root: NodeRef<'_, Node>, out: &mut String, skip: &HashSet<NodeId>) {
    let mut stack = vec![(root.first_child(), After::Nothing)];
    while let Some((next, _)) = stack.last_mut() {
        let Some(node) = *next else {
            match stack.pop() {
                Some((_, After::Newline)) => out.push('\n'),
                Some((_, After::Space)) => out.push(' '),
                _ => {}
            }
            continue;
        };
        *next = node.next_sibling();
        if skip.contains(&node.id()) {
            continue;
        }
        let after = match node.value() {
            Node::Text(t) => {
                out.push_str(&t.text);
                continue;
            }
            Node::Element(e) => {
                let name = e.name();
                if matches!(name, "script" | "style" | "noscript" | "template" | "head") {
                    continue;
                }
                if name == "br" {
                    out.push('\n');
                    continue;
                }
                let block = is_block(name);
                if block {
                    out.push('\n');
                }
                if name == "img"
                    && let Some(alt) = e.attr("alt")
                {
                    out.push(' ');
                    out.push_str(alt);
                    out.push(' ');
                }
                if block {
                    After::Newline
                } else if matches!(name, "td" | "th") {
                    After::Space
                } else {
                    After::Nothing
                }
            }
            _ => After::Nothing,
        };
        stack.push((node.first_child(), after));
    }
}

pub(super) fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "pre"
            | "tr"
            | "table"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "figure"
            | "figcaption"
            | "dd"
            | "dt"
            | "hr"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_decodes_once_and_separates_blocks() {
        let s = html_to_text(
            "<p>Caf&eacute; &amp;amp; th&eacute;</p><p>Second&nbsp;para<br>line</p><script>x()</script>",
        );
        assert_eq!(s, "Café &amp; thé\nSecond para\nline");
    }

    #[test]
    fn plain_text_untouched() {
        assert_eq!(html_to_text("  a   b \n\n\n c "), "a b\nc");
    }

    #[test]
    fn tables_images_and_exclusions() {
        let html = "<table><tr><td>a</td><td>b</td></tr></table><img alt='Acme logo'>\
            <blockquote>quoted <b>acme</b></blockquote><div>own <i>words</i></div>";
        assert_eq!(html_to_text(html), "a b\nAcme logo\nquoted acme\nown words");
        let quotes = [scraper::Selector::parse("blockquote").unwrap()];
        assert_eq!(
            html_to_text_without(html, &quotes),
            "a b\nAcme logo\nown words"
        );
        let doc = Html::parse_fragment(html);
        let div = doc
            .select(&scraper::Selector::parse("div").unwrap())
            .next()
            .unwrap();
        assert_eq!(element_text(div, &[]), "own words");
    }

    /// Regression: one feed item of 15,000 nested `<div>` overflowed the stack of the
    /// recursive walk and aborted the daemon.
    #[test]
    fn deeply_nested_markup_neither_overflows_nor_stalls() {
        let n = 1_000_000;
        let html = format!("{}Acme{}", "<div>".repeat(n), "</div>".repeat(n));
        assert_eq!(html_to_text(&html), "Acme");
        let quotes = [scraper::Selector::parse("blockquote").unwrap()];
        let html = format!("own{}quoted", "<blockquote>".repeat(n));
        assert_eq!(html_to_text_without(&html, &quotes), "own");
    }
}
