//! Evaluating one query on one mention: the exact semantics every path (live matching,
//! search, rules) shares.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::query::{Field, Meta, Query};
use crate::mention::Mention;
use crate::text;

/// Field slots in a [`Document`].
const TITLE: u8 = 0;
const TEXT: u8 = 1;
const AUTHOR: u8 = 2;

/// One word occurrence.
#[derive(Debug, Clone, Copy)]
struct Entry {
    field: u8,
    /// FNV-1a of the folded word: lookups compare numbers, and words only on a hit.
    hash: u64,
    /// The folded word in the arena.
    word: (u32, u32),
    pos: u32,
    /// Byte range in the original field text.
    orig: (u32, u32),
}

fn hash(w: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in w.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What matched: the folded words, and where they are (field 0 = title, 1 = text,
/// 2 = author; byte offsets in that field's text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hits {
    pub words: Vec<String>,
    pub spans: Vec<(u8, u32, u32)>,
}

/// The words of a mention with their positions, per field; plus the properties `site:`,
/// `lang:` and `source:` look at.
///
/// Built in one tokenizing pass; the sorted index used by lookups is made on the first
/// lookup only, so a mention the percolator's prefilter rules out never pays for it.
pub struct Document<'m> {
    /// All folded words, each preceded by a space, with a space at the end: the text the
    /// percolator's Aho-Corasick prefilter scans (" acme " is the word, " boycott" a prefix).
    arena: String,
    /// Word occurrences in text order.
    entries: Vec<Entry>,
    /// The same, sorted by field, hash, position (made on first use).
    sorted: OnceCell<Vec<Entry>>,
    pub site: &'m str,
    pub lang: Option<&'m str>,
    pub source: &'m str,
    pub source_kind: &'m str,
}

impl<'m> Document<'m> {
    fn empty(
        site: &'m str,
        lang: Option<&'m str>,
        source: &'m str,
        source_kind: &'m str,
        cap: usize,
    ) -> Self {
        let mut arena = String::with_capacity(cap + 8);
        arena.push(' ');
        Document {
            arena,
            entries: Vec::with_capacity(cap / 5),
            sorted: OnceCell::new(),
            site,
            lang,
            source,
            source_kind,
        }
    }

    /// A document of title and text only (tests, rules on bare text).
    pub fn new(fields: &[&str]) -> Document<'static> {
        let mut d = Document::empty("", None, "", "", fields.iter().map(|f| f.len()).sum());
        for (i, f) in fields.iter().enumerate().take(3) {
            d.add(i as u8, f);
        }
        d
    }

    pub fn of_mention(m: &'m Mention) -> Document<'m> {
        let mut d = Document::empty(
            &m.site,
            m.language.as_deref(),
            &m.source,
            &m.source_kind,
            m.title.len() + m.text.len(),
        );
        d.add(TITLE, &m.title);
        d.add(TEXT, &m.text);
        if let Some(a) = &m.author {
            d.add(AUTHOR, a);
        }
        if let Some(a) = &m.author_name {
            d.add(AUTHOR, a);
        }
        d
    }

    fn add(&mut self, field: u8, s: &str) {
        let arena = &mut self.arena;
        let entries = &mut self.entries;
        // Positions of a second author string (display name after handle) continue
        // after the first with one position left empty, as tantivy does between the
        // values of a field (POSITION_GAP): an exact phrase never spans two values.
        let base = entries
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.pos + 2)
            .max()
            .unwrap_or(0);
        text::tokenize(s, |t| {
            let start = arena.len() as u32;
            arena.push_str(t.text);
            entries.push(Entry {
                field,
                hash: hash(t.text),
                word: (start, arena.len() as u32),
                pos: base + t.position,
                orig: (t.start as u32, t.end as u32),
            });
            arena.push(' ');
        });
    }

    fn sorted(&self) -> &[Entry] {
        self.sorted.get_or_init(|| {
            let mut v = self.entries.clone();
            v.sort_unstable_by_key(|e| (e.field, e.hash, e.pos));
            v
        })
    }

    /// The folded words, space-separated, with spaces at both ends.
    pub fn folded(&self) -> &str {
        &self.arena
    }

    fn word(&self, e: &Entry) -> &str {
        &self.arena[e.word.0 as usize..e.word.1 as usize]
    }

    /// Occurrences of `w` in `field`, in position order.
    fn lookup(&self, field: u8, w: &str) -> Cow<'_, [Entry]> {
        let s = self.sorted();
        let h = hash(w);
        let lo = s.partition_point(|e| (e.field, e.hash) < (field, h));
        let hi = lo + s[lo..].partition_point(|e| e.field == field && e.hash == h);
        let found = &s[lo..hi];
        if found.iter().all(|e| self.word(e) == w) {
            Cow::Borrowed(found)
        } else {
            // A hash collision: keep the right word only.
            Cow::Owned(
                found
                    .iter()
                    .filter(|e| self.word(e) == w)
                    .copied()
                    .collect(),
            )
        }
    }

    /// Occurrences in `field` of words starting with `p`.
    fn lookup_prefix(&self, field: u8, p: &str) -> Vec<Entry> {
        self.entries
            .iter()
            .filter(|e| e.field == field && self.word(e).starts_with(p))
            .copied()
            .collect()
    }

    /// Evaluates `q`; on a match returns the positive words that matched.
    pub fn matches(&self, q: &Query) -> Option<Vec<String>> {
        self.hits(q).map(|h| h.words)
    }

    /// Evaluates `q`; on a match returns the positive words that matched and where.
    pub fn hits(&self, q: &Query) -> Option<Hits> {
        let mut found: Vec<Entry> = Vec::new();
        if !self.eval(q, Some(&mut found)) {
            return None;
        }
        let mut words: Vec<String> = found.iter().map(|e| self.word(e).to_string()).collect();
        words.sort();
        words.dedup();
        let mut spans: Vec<(u8, u32, u32)> = found
            .iter()
            .map(|e| (e.field, e.orig.0, e.orig.1))
            .collect();
        spans.sort_unstable();
        spans.dedup();
        Some(Hits { words, spans })
    }

    fn record(found: &[Entry], hits: &mut Option<&mut Vec<Entry>>) {
        if let Some(h) = hits.as_deref_mut() {
            h.extend_from_slice(found);
        }
    }

    /// Evaluates `q` without collecting words.
    pub fn is_match(&self, q: &Query) -> bool {
        self.eval(q, None)
    }

    fn slots(field: Field) -> &'static [u8] {
        match field {
            Field::Any => &[TITLE, TEXT],
            Field::Title => &[TITLE],
            Field::Text => &[TEXT],
            Field::Author => &[AUTHOR],
        }
    }

    fn eval(&self, q: &Query, mut hits: Option<&mut Vec<Entry>>) -> bool {
        match q {
            Query::Term { field, word } => {
                let mut ok = false;
                for &f in Self::slots(*field) {
                    let found = self.lookup(f, word);
                    ok |= !found.is_empty();
                    Self::record(&found, &mut hits);
                }
                ok
            }
            Query::Prefix { field, prefix } => {
                let mut ok = false;
                for &f in Self::slots(*field) {
                    let found = self.lookup_prefix(f, prefix);
                    ok |= !found.is_empty();
                    Self::record(&found, &mut hits);
                }
                ok
            }
            Query::Phrase { field, words, slop } => {
                let mut ok = false;
                for &f in Self::slots(*field) {
                    let here = match slop {
                        None => self.exact_phrase(f, words),
                        Some(s) => self.within(f, words, *s),
                    };
                    if here {
                        ok = true;
                        for w in words {
                            Self::record(&self.lookup(f, w), &mut hits);
                        }
                    }
                }
                ok
            }
            Query::Meta { key, value } => match key {
                Meta::Site => {
                    self.site == value
                        || self
                            .site
                            .strip_suffix(value.as_str())
                            .is_some_and(|r| r.ends_with('.'))
                }
                Meta::Lang => self
                    .lang
                    .is_some_and(|l| super::primary_language(l) == *value),
                Meta::Source => {
                    self.source.eq_ignore_ascii_case(value)
                        || self.source_kind.eq_ignore_ascii_case(value)
                }
            },
            // No short-circuit while collecting hits: every matching word is highlighted.
            Query::And(v) => {
                let mut all = true;
                for sub in v {
                    all &= self.eval(sub, hits.as_deref_mut());
                    if !all && hits.is_none() {
                        return false;
                    }
                }
                all
            }
            Query::Or(v) => {
                let mut any = false;
                for sub in v {
                    any |= self.eval(sub, hits.as_deref_mut());
                    if any && hits.is_none() {
                        return true;
                    }
                }
                any
            }
            Query::Not(sub) => !self.eval(sub, None),
        }
    }

    fn exact_phrase(&self, f: u8, words: &[String]) -> bool {
        let first = self.lookup(f, &words[0]);
        if first.is_empty() {
            return false;
        }
        let rest: Vec<Cow<'_, [Entry]>> = words[1..].iter().map(|w| self.lookup(f, w)).collect();
        if rest.iter().any(|r| r.is_empty()) {
            return false;
        }
        first.iter().any(|e| {
            rest.iter().enumerate().all(|(i, r)| {
                r.binary_search_by_key(&(e.pos + i as u32 + 1), |x| x.pos)
                    .is_ok()
            })
        })
    }

    /// All `words` in field `f` within a window of `len - 1 + slop` positions, any order
    /// (a word repeated in the query needs as many occurrences).
    fn within(&self, f: u8, words: &[String], slop: u32) -> bool {
        // `"a b"~4294967295` must not overflow.
        let span = (words.len() as u32 - 1).saturating_add(slop);
        // Distinct words and how many of each are needed.
        let mut need: Vec<(&str, usize)> = Vec::new();
        for w in words {
            match need.iter_mut().find(|(x, _)| *x == w) {
                Some(n) => n.1 += 1,
                None => need.push((w, 1)),
            }
        }
        let mut occ: Vec<(u32, usize)> = Vec::new();
        for (i, (w, n)) in need.iter().enumerate() {
            let found = self.lookup(f, w);
            if found.len() < *n {
                return false;
            }
            occ.extend(found.iter().map(|e| (e.pos, i)));
        }
        occ.sort_unstable();
        // Sliding window over positions: the smallest span holding every needed word.
        let mut have = vec![0usize; need.len()];
        let mut satisfied = 0;
        let mut lo = 0;
        for hi in 0..occ.len() {
            let k = occ[hi].1;
            have[k] += 1;
            if have[k] == need[k].1 {
                satisfied += 1;
            }
            while satisfied == need.len() {
                if occ[hi].0 - occ[lo].0 <= span {
                    return true;
                }
                let k = occ[lo].1;
                if have[k] == need[k].1 {
                    satisfied -= 1;
                }
                have[k] -= 1;
                lo += 1;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, text: &str) -> Document<'static> {
        Document::new(&[title, text])
    }

    fn q(s: &str) -> Query {
        Query::parse(s).unwrap()
    }

    #[test]
    fn accent_and_case_insensitive_word_boundaries() {
        assert!(doc("", "la maison DOREE").is_match(&q("Dorée")));
        assert!(doc("", "acmetal industries").matches(&q("acme")).is_none());
        assert!(doc("", "chez Acme, hier").is_match(&q("acme")));
        assert!(doc("", "l'Acme et d'Acme, Acme's").is_match(&q("\"acme et acme acme\"")));
    }

    #[test]
    fn phrases_are_consecutive_within_a_field() {
        assert!(!doc("acme", "corp news").is_match(&q("\"acme corp\"")));
        assert!(doc("", "Acme Corp. news").is_match(&q("\"acme corp\"")));
        assert!(!doc("", "corp acme").is_match(&q("\"acme corp\"")));
    }

    #[test]
    fn proximity_any_order_within_the_window() {
        let d = doc("", "la bouilloire Acme est encore une fois en panne");
        assert!(d.is_match(&q("\"acme panne\"~5")));
        assert!(!d.is_match(&q("\"acme panne\"~4")));
        assert!(d.is_match(&q("\"panne acme\"~5")), "any order");
        assert!(d.is_match(&q("acme NEAR/6 panne")));
        assert!(!d.is_match(&q("acme NEAR/5 panne")));
        assert!(
            !doc("acme", "panne").is_match(&q("\"acme panne\"~9")),
            "one field at a time"
        );
        assert!(doc("", "acme x acme").is_match(&q("\"acme acme\"~1")));
        assert!(!doc("", "acme x y acme").is_match(&q("\"acme acme\"~1")));
    }

    #[test]
    fn wildcards_fields_tags_and_properties() {
        let d = doc("Boycotts en vue", "chez #Acme via @globex_fr");
        assert_eq!(d.matches(&q("boycott*")).unwrap(), vec!["boycotts"]);
        assert!(d.is_match(&q("title:boycott*")));
        assert!(!d.is_match(&q("text:boycott*")));
        assert!(d.is_match(&q("#acme")) && d.is_match(&q("acme")) && d.is_match(&q("@globex")));
        assert!(
            !doc("", "acme").is_match(&q("#acme")),
            "a plain word is not a hashtag"
        );
        let mut m = crate::testutil::mention("Acme", "panne");
        m.site = "blog.example.com".into();
        m.language = Some("fr-FR".into());
        m.source = "lemonde".into();
        m.author = Some("Jane Doe".into());
        let d = Document::of_mention(&m);
        for yes in [
            "acme site:example.com",
            "site:blog.example.com",
            "lang:fr acme",
            "source:lemonde",
            "source:rss",
            "author:jane",
        ] {
            assert!(d.is_match(&q(yes)), "{yes}");
        }
        for no in [
            "site:ample.com",
            "site:other.example.com",
            "lang:en",
            "source:reddit",
            "author:acme",
        ] {
            assert!(!d.is_match(&q(no)), "{no}");
        }
    }

    #[test]
    fn hits_carry_their_places() {
        let d = doc("Acme", "Le scandale Acmé");
        let h = d.hits(&q("acme scandale")).unwrap();
        assert_eq!(h.words, vec!["acme", "scandale"]);
        assert_eq!(h.spans, vec![(0, 0, 4), (1, 3, 11), (1, 12, 17)]);
        assert_eq!(d.folded(), " acme le scandale acme ");
    }

    #[test]
    fn boolean_logic_and_hits() {
        let query = q(r#""acme corp" OR (acme AND (produit OR service)) NOT "road runner""#);
        assert!(doc("", "Le service Acme est en panne").is_match(&query));
        assert!(!doc("", "acme seul").is_match(&query));
        assert!(!doc("Acme Corp et Road Runner", "").is_match(&query));
        let hits = doc("", "scandale chez Acme")
            .matches(&q("acme AND (scandale OR arnaque)"))
            .unwrap();
        assert_eq!(hits, vec!["acme", "scandale"]);
    }
}
