//! Reading topic lists and topic pages with the compiled selectors: topics, posts (id,
//! author, date, text without quotes), previous and next pages.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use ego_tree::NodeId;
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::dates::{self, Board, DateFormat};
use super::presets::Scope;
use crate::text;

/// One compiled way to read a field (see [`super::presets::Spec`]).
#[derive(Debug, Clone)]
pub struct Field {
    pub select: Option<Selector>,
    pub scope: Scope,
    pub attr: Option<String>,
    pub pattern: Option<Regex>,
    pub format: Option<DateFormat>,
}

impl Field {
    /// The value of one element: its attribute or text, then the pattern's group.
    fn value(&self, target: ElementRef<'_>) -> Option<String> {
        let raw = match &self.attr {
            Some(a) => target.value().attr(a)?.to_string(),
            None => text::collapse_whitespace(&target.text().collect::<String>()),
        };
        let v = match &self.pattern {
            None => raw,
            Some(re) => {
                let caps = re.captures(&raw)?;
                caps.name("value")
                    .or_else(|| caps.name("date"))
                    .or_else(|| caps.get(1))
                    .or_else(|| caps.get(0))?
                    .as_str()
                    .to_string()
            }
        };
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    }

    /// Every value this field finds for `post`, in document order.
    fn values<'a>(&self, post: ElementRef<'a>, page: &PageIndex<'a>) -> Vec<String> {
        let targets: Vec<ElementRef<'a>> = match (&self.select, self.scope) {
            (None, _) | (_, Scope::Own) => vec![post],
            (Some(s), Scope::Inside) => post.select(s).collect(),
            (Some(s), Scope::Before) => page.before(post, s).into_iter().collect(),
        };
        targets.into_iter().filter_map(|t| self.value(t)).collect()
    }
}

/// Alternatives for one field: the first that yields something wins.
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<Field>);

impl Fields {
    pub fn get<'a>(&self, el: ElementRef<'a>, page: &PageIndex<'a>) -> Option<String> {
        self.0
            .iter()
            .find_map(|f| f.values(el, page).into_iter().next())
    }

    /// The first value that parses as a date.
    pub fn date<'a>(
        &self,
        el: ElementRef<'a>,
        page: &PageIndex<'a>,
        board: Board,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.0.iter().find_map(|f| {
            let format = f.format.clone().unwrap_or(DateFormat::Rfc3339);
            f.values(el, page)
                .into_iter()
                .find_map(|v| dates::parse(&v, &format, board, now))
        })
    }

    fn uses_before(&self) -> bool {
        self.0.iter().any(|f| f.scope == Scope::Before)
    }
}

/// The compiled selectors of a forum source.
#[derive(Debug, Clone)]
pub struct Selectors {
    pub row: Option<Selector>,
    pub link: Option<Selector>,
    pub last_time: Fields,
    pub last_page: Fields,
    pub post: Selector,
    pub id: Fields,
    pub id_prefix: String,
    pub id_per_topic: bool,
    pub permalink: Fields,
    pub author: Fields,
    pub date: Fields,
    pub body: Selector,
    pub exclude: Vec<Selector>,
    pub title: Option<Selector>,
    pub prev: Option<Selector>,
    pub next: Option<Selector>,
}

/// Document order of a page's elements, for fields found before their post.
pub struct PageIndex<'a> {
    doc: &'a Html,
    order: HashMap<NodeId, usize>,
    /// (start, end) positions of each post, in document order.
    posts: Vec<(usize, usize)>,
}

impl<'a> PageIndex<'a> {
    fn new(doc: &'a Html, posts: &[ElementRef<'a>], needed: bool) -> PageIndex<'a> {
        let mut order = HashMap::new();
        let mut spans = Vec::new();
        if needed {
            for (i, n) in doc.root_element().descendants().enumerate() {
                order.insert(n.id(), i);
            }
            for p in posts {
                let start = order.get(&p.id()).copied().unwrap_or(0);
                let end = p
                    .descendants()
                    .last()
                    .and_then(|d| order.get(&d.id()).copied())
                    .unwrap_or(start);
                spans.push((start, end));
            }
        }
        PageIndex {
            doc,
            order,
            posts: spans,
        }
    }

    /// The last element matching `sel` between the end of the previous post and `post`.
    fn before(&self, post: ElementRef<'a>, sel: &Selector) -> Option<ElementRef<'a>> {
        let start = *self.order.get(&post.id())?;
        let floor = self
            .posts
            .iter()
            .filter(|(s, _)| *s < start)
            .map(|(_, e)| *e)
            .max()
            .unwrap_or(0);
        self.doc
            .select(sel)
            .filter_map(|e| Some((*self.order.get(&e.id())?, e)))
            .filter(|(i, _)| *i > floor && *i < start)
            .max_by_key(|(i, _)| *i)
            .map(|(_, e)| e)
    }
}

/// A topic seen in a list.
#[derive(Debug, Clone)]
pub struct Topic {
    pub url: Url,
    pub title: String,
    /// Changes when a reply is posted (last post time, post count).
    pub last: Option<String>,
    /// The page holding the last post, when the list links to it.
    pub last_page: Option<Url>,
}

/// A post read from a topic page.
#[derive(Debug, Clone)]
pub struct Post {
    /// Unique on the forum (with the topic's path when post numbers restart per topic).
    pub key: String,
    /// The id as the page writes it, for the URL fragment.
    pub anchor: String,
    pub url: Url,
    pub author: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub text: String,
}

/// Cuts a signature written into the body after a line of underscores (phpBB 2,
/// subsilver2: "_________________").
fn without_signature(t: String) -> String {
    let delimiter = |l: &str| l.trim().len() >= 10 && l.trim().chars().all(|c| c == '_');
    match t.lines().position(delimiter) {
        Some(i) => t
            .lines()
            .take(i)
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string(),
        None => t,
    }
}

/// Relative links resolve against `<base href>` when the page has one (vBulletin).
pub fn base_of(doc: &Html, page: &Url) -> Url {
    static BASE: std::sync::OnceLock<Selector> = std::sync::OnceLock::new();
    let sel = BASE.get_or_init(|| Selector::parse("base[href]").expect("valid selector"));
    doc.select(sel)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| page.join(h).ok())
        .unwrap_or_else(|| page.clone())
}

impl Selectors {
    pub fn topics(&self, doc: &Html, page: &Url, clean: impl Fn(&Url) -> Url) -> Vec<Topic> {
        let (Some(row), Some(link)) = (&self.row, &self.link) else {
            return Vec::new();
        };
        let base = base_of(doc, page);
        let index = PageIndex::new(doc, &[], false);
        let mut out = Vec::new();
        for r in doc.select(row) {
            let Some(a) = r.select(link).next() else {
                continue;
            };
            let Some(url) = a.value().attr("href").and_then(|h| base.join(h).ok()) else {
                continue;
            };
            let last_page = self
                .last_page
                .0
                .iter()
                .find_map(|f| f.values(r, &index).pop())
                .and_then(|h| base.join(&h).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| clean(&u));
            out.push(Topic {
                url: clean(&url),
                title: text::collapse_whitespace(&a.text().collect::<String>()),
                last: self.last_time.get(r, &index),
                last_page,
            });
        }
        out
    }

    /// The posts of a page, and what each field failed to find (for `sources test`).
    pub fn posts(
        &self,
        doc: &Html,
        page: &Url,
        host: &str,
        board: Board,
        now: DateTime<Utc>,
        clean: impl Fn(&Url) -> Url,
    ) -> (Vec<Post>, BTreeMap<&'static str, usize>) {
        let base = base_of(doc, page);
        let els: Vec<ElementRef<'_>> = doc.select(&self.post).collect();
        let needed = self.id.uses_before() || self.author.uses_before() || self.date.uses_before();
        let index = PageIndex::new(doc, &els, needed);
        let mut missing: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut out = Vec::new();
        for el in els {
            let Some(raw_id) = self.id.get(el, &index) else {
                *missing.entry("post_id").or_default() += 1;
                continue;
            };
            let anchor = raw_id.clone();
            let id = raw_id
                .strip_prefix(self.id_prefix.as_str())
                .unwrap_or(&raw_id)
                .to_string();
            let key = if self.id_per_topic {
                format!("{host}:{}#{id}", page.path())
            } else {
                format!("{host}:{id}")
            };
            let mut url = self
                .permalink
                .get(el, &index)
                .and_then(|h| base.join(&h).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| clean(&u))
                .unwrap_or_else(|| clean(page));
            // The permalink carries the post anchor; the id stays the forum's own.
            if url.fragment().is_none() {
                url.set_fragment(Some(&anchor));
            }
            let author = self.author.get(el, &index);
            if author.is_none() {
                *missing.entry("post_author").or_default() += 1;
            }
            let published_at = self.date.date(el, &index, board, now);
            if published_at.is_none() {
                *missing.entry("post_date").or_default() += 1;
            }
            let text = self.body_text(el);
            if text.is_empty() {
                *missing.entry("post_body").or_default() += 1;
            }
            out.push(Post {
                key,
                anchor,
                url,
                author,
                published_at,
                text,
            });
        }
        (out, missing)
    }

    /// Every body element of the post (phpBB 2 splits the body around quotes), without
    /// the excluded parts.
    fn body_text(&self, post: ElementRef<'_>) -> String {
        let mut parts: Vec<ElementRef<'_>> = Vec::new();
        for b in post.select(&self.body) {
            if !parts
                .iter()
                .any(|p| b.ancestors().any(|a| a.id() == p.id()))
            {
                parts.push(b);
            }
        }
        let texts: Vec<String> = parts
            .into_iter()
            .map(|b| without_signature(text::element_text(b, &self.exclude)))
            .filter(|t| !t.is_empty())
            .collect();
        texts.join("\n")
    }

    pub fn title(&self, doc: &Html) -> Option<String> {
        let t = doc.select(self.title.as_ref()?).next()?;
        let t = text::collapse_whitespace(&t.text().collect::<String>());
        (!t.is_empty()).then_some(t)
    }

    /// The page before (or after) this one on the same site, without session ids.
    pub fn neighbour(
        &self,
        doc: &Html,
        page: &Url,
        next: bool,
        clean: impl Fn(&Url) -> Url,
    ) -> Option<Url> {
        let sel = if next { &self.next } else { &self.prev };
        let base = base_of(doc, page);
        let url = doc
            .select(sel.as_ref()?)
            .filter_map(|a| a.value().attr("href"))
            .filter_map(|h| base.join(h).ok())
            .find(|u| u.origin() == page.origin())?;
        let url = clean(&url);
        (url != clean(page)).then_some(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_before_the_post_stops_at_the_previous_post() {
        let doc = Html::parse_document(
            r#"<a name="p1"></a><div class="post">one</div><div class="post">no anchor</div><a name="p3"></a><div class="post">three</div>"#,
        );
        let post = Selector::parse("div.post").unwrap();
        let els: Vec<ElementRef<'_>> = doc.select(&post).collect();
        let index = PageIndex::new(&doc, &els, true);
        let f = Fields(vec![Field {
            select: Some(Selector::parse("a[name]").unwrap()),
            scope: Scope::Before,
            attr: Some("name".into()),
            pattern: None,
            format: None,
        }]);
        let ids: Vec<Option<String>> = els.iter().map(|e| f.get(*e, &index)).collect();
        assert_eq!(ids, [Some("p1".into()), None, Some("p3".into())]);
    }
}
