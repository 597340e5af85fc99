//! Matching: which brands does a mention talk about?
//!
//! [`Matcher`] is the small interface the pipeline uses: build it from the brands, ask it
//! for the brands of a mention. Today it evaluates each brand's query on a token map of
//! the mention; the percolator of a later issue replaces the inside, not the interface.

pub mod query;

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

pub use query::{Query, QueryError};

use crate::mention::{BrandHit, Mention};
use crate::text;

/// `[[brand]]` in the config: what to watch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandConfig {
    /// Short id used by rules and in search (`--brand acme`).
    pub id: Spanned<String>,
    /// Display name in alerts; defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    /// What must match, e.g. `"acme corp" OR (acme AND (produit OR service)) NOT "road runner"`.
    pub query: Spanned<String>,
    /// What disqualifies a mention even when `query` matches (homonyms, e.g. `fruit OR tarte`).
    #[serde(default)]
    pub exclude: Option<Spanned<String>>,
    /// Only mentions in these languages (ISO 639-1 codes). Mentions whose language is
    /// unknown are kept.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Ids of competitor brands (also configured as `[[brand]]`), for share of voice.
    #[serde(default)]
    pub competitors: Vec<Spanned<String>>,
}

/// A brand ready to match.
#[derive(Debug, Clone)]
pub struct Brand {
    pub id: String,
    pub name: String,
    /// The query as written (sources derive their API searches from it).
    pub raw_query: String,
    pub query: Query,
    pub exclude: Option<Query>,
    pub languages: Vec<String>,
    pub competitors: Vec<String>,
}

impl BrandConfig {
    /// Parses the queries. Errors carry the column inside the query string.
    pub fn build(&self) -> Result<Brand, (Spanned<String>, QueryError)> {
        let query = Query::parse(self.query.get_ref()).map_err(|e| (self.query.clone(), e))?;
        let exclude = match &self.exclude {
            Some(x) => Some(Query::parse(x.get_ref()).map_err(|e| (x.clone(), e))?),
            None => None,
        };
        Ok(Brand {
            id: self.id.get_ref().clone(),
            name: self
                .name
                .clone()
                .unwrap_or_else(|| self.id.get_ref().clone()),
            raw_query: self.query.get_ref().clone(),
            query,
            exclude,
            languages: self.languages.iter().map(|l| primary_language(l)).collect(),
            competitors: self
                .competitors
                .iter()
                .map(|c| c.get_ref().clone())
                .collect(),
        })
    }
}

/// "fr-FR" → "fr".
pub fn primary_language(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The words of a mention, per field, with their positions (for phrases).
pub struct Document {
    fields: Vec<HashMap<String, Vec<u32>>>,
}

impl Document {
    pub fn new(fields: &[&str]) -> Self {
        let fields = fields
            .iter()
            .map(|f| {
                let mut map: HashMap<String, Vec<u32>> = HashMap::new();
                text::tokenize(f, |t| {
                    map.entry(t.text.to_string()).or_default().push(t.position)
                });
                map
            })
            .collect();
        Document { fields }
    }

    pub fn of_mention(m: &Mention) -> Self {
        Document::new(&[&m.title, &m.text])
    }

    fn has_term(&self, t: &str) -> bool {
        self.fields.iter().any(|f| f.contains_key(t))
    }

    fn has_phrase(&self, words: &[String]) -> bool {
        self.fields.iter().any(|f| {
            let Some(first) = f.get(&words[0]) else {
                return false;
            };
            let rest: Option<Vec<&Vec<u32>>> = words[1..].iter().map(|w| f.get(w)).collect();
            let Some(rest) = rest else { return false };
            first.iter().any(|&p| {
                rest.iter()
                    .enumerate()
                    .all(|(i, positions)| positions.contains(&(p + i as u32 + 1)))
            })
        })
    }

    /// Evaluates `q`; on a match returns the positive words that matched.
    pub fn matches(&self, q: &Query) -> Option<Vec<String>> {
        let mut hits = Vec::new();
        if self.eval(q, Some(&mut hits)) {
            hits.sort();
            hits.dedup();
            Some(hits)
        } else {
            None
        }
    }

    fn eval(&self, q: &Query, mut hits: Option<&mut Vec<String>>) -> bool {
        match q {
            Query::Term(t) => {
                let ok = self.has_term(t);
                if ok && let Some(h) = hits {
                    h.push(t.clone());
                }
                ok
            }
            Query::Phrase(p) => {
                let ok = self.has_phrase(p);
                if ok && let Some(h) = hits {
                    h.extend(p.iter().cloned());
                }
                ok
            }
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
}

/// Matches mentions against every configured brand.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    brands: Vec<Brand>,
}

impl Matcher {
    pub fn new(brands: Vec<Brand>) -> Self {
        Matcher { brands }
    }

    pub fn brands(&self) -> &[Brand] {
        &self.brands
    }

    /// The brands `m` talks about, each with the words that matched.
    pub fn match_mention(&self, m: &Mention) -> Vec<BrandHit> {
        let doc = Document::of_mention(m);
        let lang = m.language.as_deref().map(primary_language);
        self.brands
            .iter()
            .filter(|b| match &lang {
                Some(l) if !b.languages.is_empty() => b.languages.contains(l),
                _ => true,
            })
            .filter_map(|b| {
                let terms = doc.matches(&b.query)?;
                if let Some(x) = &b.exclude
                    && doc.matches(x).is_some()
                {
                    return None;
                }
                Some(BrandHit {
                    brand: b.id.clone(),
                    terms,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, text: &str) -> Document {
        Document::new(&[title, text])
    }

    fn q(s: &str) -> Query {
        Query::parse(s).unwrap()
    }

    #[test]
    fn accent_and_case_insensitive() {
        assert!(doc("", "la maison DOREE").matches(&q("Dorée")).is_some());
        assert!(doc("", "la maison Dorée").matches(&q("doree")).is_some());
    }

    #[test]
    fn word_boundaries() {
        assert!(doc("", "acmetal industries").matches(&q("acme")).is_none());
        assert!(doc("", "chez Acme, hier").matches(&q("acme")).is_some());
    }

    #[test]
    fn phrases_are_consecutive_within_a_field() {
        let d = doc("acme", "corp news");
        assert!(d.matches(&q("\"acme corp\"")).is_none());
        assert!(
            doc("", "Acme Corp. news")
                .matches(&q("\"acme corp\""))
                .is_some()
        );
        assert!(doc("", "corp acme").matches(&q("\"acme corp\"")).is_none());
    }

    #[test]
    fn boolean_logic_and_exclusions() {
        let query = q(r#""acme corp" OR (acme AND (produit OR service)) NOT "road runner""#);
        assert!(
            doc("", "Le service Acme est en panne")
                .matches(&query)
                .is_some()
        );
        assert!(doc("", "acme seul").matches(&query).is_none());
        assert!(
            doc("Acme Corp et Road Runner", "")
                .matches(&query)
                .is_none()
        );
    }

    #[test]
    fn hits_list_matching_words_only() {
        let hits = doc("", "scandale chez Acme")
            .matches(&q("acme AND (scandale OR arnaque)"))
            .unwrap();
        assert_eq!(hits, vec!["acme", "scandale"]);
    }

    fn brand(id: &str, query: &str, langs: &[&str]) -> Brand {
        Brand {
            id: id.into(),
            name: id.into(),
            raw_query: query.into(),
            query: q(query),
            exclude: None,
            languages: langs.iter().map(|s| s.to_string()).collect(),
            competitors: vec![],
        }
    }

    #[test]
    fn a_mention_can_match_several_brands_and_language_filters() {
        let m = Matcher::new(vec![
            brand("acme", "acme", &["fr"]),
            brand("globex", "globex", &[]),
        ]);
        let mut mention = crate::testutil::mention("Acme contre Globex", "comparatif");
        mention.language = Some("fr-FR".into());
        let hits: Vec<_> = m
            .match_mention(&mention)
            .into_iter()
            .map(|h| h.brand)
            .collect();
        assert_eq!(hits, vec!["acme", "globex"]);
        mention.language = Some("en".into());
        let hits: Vec<_> = m
            .match_mention(&mention)
            .into_iter()
            .map(|h| h.brand)
            .collect();
        assert_eq!(hits, vec!["globex"]);
    }
}
