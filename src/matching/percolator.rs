//! The percolator: every brand query compiled together, matched against one mention.
//!
//! Each query gets a set of anchors — words (or word prefixes) of which any matching
//! mention contains at least one (see [`prefilter`]). One Aho-Corasick automaton over all
//! anchors scans the mention's folded words once (`" acme "` is the word, `" boycott"`
//! the prefix); only the queries whose anchors were found are evaluated. Queries with no
//! possible anchor (only `site:` or `lang:` conditions, or only negations under OR) are
//! evaluated on every mention.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use super::eval::{Document, Hits};
use super::query::Query;

/// An anchor of the prefilter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Anchor {
    Word(String),
    Prefix(String),
}

/// Very common French and English words: never chosen as anchors when a query offers
/// anything else (they would make every mention a candidate).
const COMMON: &[&str] = &[
    "a",
    "au",
    "aux",
    "avec",
    "ce",
    "ces",
    "dans",
    "de",
    "des",
    "du",
    "elle",
    "en",
    "est",
    "et",
    "il",
    "ils",
    "je",
    "la",
    "le",
    "les",
    "leur",
    "lui",
    "mais",
    "me",
    "mes",
    "ne",
    "nous",
    "on",
    "ou",
    "par",
    "pas",
    "pour",
    "qu",
    "que",
    "qui",
    "sa",
    "se",
    "ses",
    "son",
    "sur",
    "ta",
    "te",
    "tu",
    "un",
    "une",
    "vous",
    "y",
    "plus",
    "tres",
    "bien",
    "fait",
    "etre",
    "avoir",
    "tout",
    "france",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "but",
    "by",
    "for",
    "from",
    "has",
    "have",
    "he",
    "i",
    "in",
    "is",
    "it",
    "its",
    "not",
    "of",
    "on",
    "or",
    "our",
    "she",
    "so",
    "that",
    "the",
    "their",
    "they",
    "this",
    "to",
    "was",
    "we",
    "were",
    "what",
    "when",
    "which",
    "who",
    "will",
    "with",
    "you",
    "new",
    "all",
    "can",
    "more",
    "one",
    "just",
    "get",
    // frequent in what customers and the press write about brands
    "client",
    "clients",
    "service",
    "services",
    "produit",
    "produits",
    "prix",
    "offre",
    "commande",
    "livraison",
    "magasin",
    "marque",
    "marques",
    "entreprise",
    "societe",
    "groupe",
    "nouveau",
    "nouvelle",
    "gamme",
    "avis",
    "annonce",
    "rappel",
    "qualite",
    "semaine",
    "annee",
    "hier",
    "aujourd",
    "hui",
    "depuis",
    "encore",
    "moins",
    "vraiment",
    "mal",
    "achat",
    "vente",
    "ventes",
    "paris",
    "lyon",
    "customer",
    "customers",
    "product",
    "products",
    "price",
    "store",
    "review",
    "quality",
    "today",
    "support",
    "team",
    "market",
    "growth",
    "sales",
    "launch",
    "company",
    "brand",
    "order",
    "delivery",
    "week",
    "year",
    "really",
    "good",
    "bad",
    "still",
    "since",
    "app",
    "site",
    "web",
    "internet",
    "euros",
];

/// How bad an anchor is: how many queries share it (a rough stand-in for how common it
/// is in text), much worse for very common words, slightly worse when short.
fn cost(w: &str, shared: &HashMap<String, u32>) -> u64 {
    let base = shared.get(w).copied().unwrap_or(1) as u64;
    let common = if COMMON.contains(&w) { 10_000 } else { 1 };
    base * common * 16 + 16u64.saturating_sub(w.len() as u64)
}

/// Anchors of `q`, or `None` when a matching mention need not contain any word.
fn prefilter(q: &Query, shared: &HashMap<String, u32>) -> Option<Vec<Anchor>> {
    match q {
        Query::Term { word, .. } => Some(vec![Anchor::Word(word.clone())]),
        Query::Prefix { prefix, .. } => Some(vec![Anchor::Prefix(prefix.clone())]),
        // Every word of a phrase is there: the cheapest is enough.
        Query::Phrase { words, .. } => Some(vec![Anchor::Word(
            words.iter().min_by_key(|w| cost(w, shared))?.clone(),
        )]),
        Query::Meta { .. } | Query::Not(_) => None,
        Query::Or(v) => {
            let mut out = Vec::new();
            for sub in v {
                for a in prefilter(sub, shared)? {
                    if !out.contains(&a) {
                        out.push(a);
                    }
                }
            }
            Some(out)
        }
        // Any one part of an AND will do: the cheapest.
        Query::And(v) => v
            .iter()
            .filter_map(|sub| prefilter(sub, shared))
            .min_by_key(|a| a.iter().map(|x| anchor_cost(x, shared)).sum::<u64>()),
    }
}

fn anchor_cost(a: &Anchor, shared: &HashMap<String, u32>) -> u64 {
    match a {
        Anchor::Word(w) => cost(w, shared),
        // A prefix stands for several words.
        Anchor::Prefix(p) => cost(p, shared) * 4,
    }
}

/// How many queries each word appears in.
fn shared_words(queries: &[Query]) -> HashMap<String, u32> {
    let mut shared: HashMap<String, u32> = HashMap::new();
    for q in queries {
        let mut words = Vec::new();
        q.positive_words(&mut words);
        words.sort();
        words.dedup();
        for w in words {
            *shared.entry(w).or_default() += 1;
        }
    }
    shared
}

/// Many queries, matched together.
#[derive(Debug, Clone)]
pub struct Percolator {
    queries: Vec<Query>,
    ac: Option<AhoCorasick>,
    /// Queries each anchor leads to.
    by_pattern: Vec<Vec<u32>>,
    /// Queries evaluated on every mention.
    always: Vec<u32>,
}

impl Percolator {
    pub fn new(queries: Vec<Query>) -> Percolator {
        let shared = shared_words(&queries);
        let mut patterns: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut by_pattern: Vec<Vec<u32>> = Vec::new();
        let mut always = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            match prefilter(q, &shared) {
                None => always.push(i as u32),
                Some(anchors) => {
                    for a in anchors {
                        let pat = match a {
                            Anchor::Word(w) => format!(" {w} "),
                            Anchor::Prefix(p) => format!(" {p}"),
                        };
                        let id = *index.entry(pat.clone()).or_insert_with(|| {
                            patterns.push(pat);
                            by_pattern.push(Vec::new());
                            patterns.len() - 1
                        });
                        if by_pattern[id].last() != Some(&(i as u32)) {
                            by_pattern[id].push(i as u32);
                        }
                    }
                }
            }
        }
        let ac = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("anchors are plain strings")
        });
        Percolator {
            queries,
            ac,
            by_pattern,
            always,
        }
    }

    pub fn len(&self) -> usize {
        self.queries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    pub fn query(&self, i: usize) -> &Query {
        &self.queries[i]
    }

    /// Queries worth evaluating on `doc` (ascending, no duplicates).
    pub fn candidates(&self, doc: &Document<'_>, seen: &mut Vec<u64>) -> Vec<u32> {
        seen.clear();
        seen.resize(self.queries.len().div_ceil(64), 0);
        let mut out: Vec<u32> = self.always.clone();
        for &q in &self.always {
            seen[q as usize / 64] |= 1 << (q % 64);
        }
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(doc.folded()) {
                for &q in &self.by_pattern[m.pattern().as_usize()] {
                    let (w, b) = (q as usize / 64, 1u64 << (q % 64));
                    if seen[w] & b == 0 {
                        seen[w] |= b;
                        out.push(q);
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Every query matching `doc`, with what matched.
    pub fn matches(&self, doc: &Document<'_>) -> Vec<(u32, Hits)> {
        let mut seen = Vec::new();
        self.candidates(doc, &mut seen)
            .into_iter()
            .filter_map(|q| doc.hits(&self.queries[q as usize]).map(|h| (q, h)))
            .collect()
    }

    /// Query ids matching `doc`, without collecting hits (the fast path).
    pub fn matching_ids(&self, doc: &Document<'_>, seen: &mut Vec<u64>) -> Vec<u32> {
        self.candidates(doc, seen)
            .into_iter()
            .filter(|&q| doc.is_match(&self.queries[q as usize]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        Query::parse(s).unwrap()
    }

    #[test]
    fn anchors_are_sound_and_avoid_common_words() {
        let none = HashMap::new();
        assert_eq!(
            prefilter(&q("acme"), &none),
            Some(vec![Anchor::Word("acme".into())])
        );
        assert_eq!(
            prefilter(&q("\"la maison doree\""), &none),
            Some(vec![Anchor::Word("maison".into())])
        );
        // Two precise words are cheaper than a prefix that stands for many.
        assert_eq!(
            prefilter(&q("(acme OR globex) AND boycott*"), &none),
            Some(vec![
                Anchor::Word("acme".into()),
                Anchor::Word("globex".into())
            ])
        );
        assert_eq!(
            prefilter(
                &q("(acme OR globex OR initech OR umbrella OR hooli) AND boycott*"),
                &none
            ),
            Some(vec![Anchor::Prefix("boycott".into())])
        );
        assert_eq!(prefilter(&q("site:example.com"), &none), None);
        assert_eq!(
            prefilter(&q("acme site:example.com"), &none),
            Some(vec![Anchor::Word("acme".into())])
        );
        // A word many queries share is a poor anchor: the brand is chosen.
        let shared = shared_words(&[q("\"zorvex panne\""), q("panne globex"), q("panne initech")]);
        assert_eq!(
            prefilter(&q("\"zorvex panne\""), &shared),
            Some(vec![Anchor::Word("zorvex".into())])
        );
        assert_eq!(
            prefilter(&q("\"acme service\""), &none),
            Some(vec![Anchor::Word("acme".into())])
        );
    }

    #[test]
    fn only_candidates_are_evaluated_and_results_are_exact() {
        let p = Percolator::new(vec![
            q("acme NOT fruit"),
            q("\"maison doree\""),
            q("boycott* acme"),
            q("site:example.com"),
            q("globex"),
        ]);
        let d = Document::new(&["Boycottons Acme", "la maison Dorée, pas la maison"]);
        let mut seen = Vec::new();
        let c = p.candidates(&d, &mut seen);
        assert_eq!(c, vec![0, 1, 2, 3], "globex is not a candidate");
        assert_eq!(p.matching_ids(&d, &mut seen), vec![0, 1, 2]);
        let hits = p.matches(&d);
        assert_eq!(hits[2].1.words, vec!["acme", "boycottons"]);
    }
}
