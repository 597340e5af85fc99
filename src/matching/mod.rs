//! Matching: which brands does a mention talk about?
//!
//! [`Matcher`] is the small interface the pipeline uses: build it from the brands, ask it
//! for the brands of a mention. Today it evaluates each brand's query on a token map of
//! the mention; the percolator of a later issue replaces the inside, not the interface.

pub mod eval;
pub mod naive;
pub mod percolator;
pub mod query;
pub mod search;

use serde::Deserialize;
use toml::Spanned;

pub use eval::{Document, Hits};
pub use percolator::Percolator;
pub use query::{Field, Meta, Query, QueryError};
pub use search::SearchRequest;

use crate::mention::{BrandHit, Mention};

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
    /// Sites (and their subdomains) whose mentions never count for this brand (its own
    /// site, a homonym's…).
    #[serde(default)]
    pub sites_exclude: Vec<String>,
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
    pub sites_exclude: Vec<String>,
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
            sites_exclude: self
                .sites_exclude
                .iter()
                .map(|s| s.trim().trim_start_matches("www.").to_ascii_lowercase())
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

/// Matches mentions against every configured brand: the small interface the pipeline
/// uses. Inside, a [`Percolator`] over all brand queries.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    brands: Vec<Brand>,
    percolator: Option<Percolator>,
}

impl Matcher {
    pub fn new(brands: Vec<Brand>) -> Self {
        let percolator = Percolator::new(brands.iter().map(|b| b.query.clone()).collect());
        Matcher {
            brands,
            percolator: Some(percolator),
        }
    }

    pub fn brands(&self) -> &[Brand] {
        &self.brands
    }

    /// The brands `m` talks about, each with the words that matched and where.
    pub fn match_mention(&self, m: &Mention) -> Vec<BrandHit> {
        let Some(p) = &self.percolator else {
            return Vec::new();
        };
        let doc = Document::of_mention(m);
        let lang = m.language.as_deref().map(primary_language);
        p.matches(&doc)
            .into_iter()
            .filter_map(|(i, hits)| {
                let b = &self.brands[i as usize];
                if let (Some(l), false) = (&lang, b.languages.is_empty())
                    && !b.languages.contains(l)
                {
                    return None;
                }
                if b.sites_exclude
                    .iter()
                    .any(|s| m.site == *s || m.site.ends_with(&format!(".{s}")))
                {
                    return None;
                }
                if let Some(x) = &b.exclude
                    && doc.is_match(x)
                {
                    return None;
                }
                Some(BrandHit {
                    brand: b.id.clone(),
                    terms: hits.words,
                    spans: hits.spans,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand(id: &str, query: &str, langs: &[&str]) -> Brand {
        Brand {
            id: id.into(),
            name: id.into(),
            raw_query: query.into(),
            query: Query::parse(query).unwrap(),
            exclude: None,
            languages: langs.iter().map(|s| s.to_string()).collect(),
            competitors: vec![],
            sites_exclude: vec![],
        }
    }

    fn ids(m: &Matcher, mention: &Mention) -> Vec<String> {
        m.match_mention(mention)
            .into_iter()
            .map(|h| h.brand)
            .collect()
    }

    #[test]
    fn a_mention_can_match_several_brands_and_language_filters() {
        let m = Matcher::new(vec![
            brand("acme", "acme", &["fr"]),
            brand("globex", "globex", &[]),
        ]);
        let mut mention = crate::testutil::mention("Acme contre Globex", "comparatif");
        mention.language = Some("fr-FR".into());
        assert_eq!(ids(&m, &mention), vec!["acme", "globex"]);
        mention.language = Some("en".into());
        assert_eq!(ids(&m, &mention), vec!["globex"]);
    }

    #[test]
    fn exclude_and_sites_exclude() {
        let mut apple = brand("apple", "apple", &[]);
        apple.exclude = Some(Query::parse("fruit OR tarte OR pie").unwrap());
        apple.sites_exclude = vec!["apple.com".into()];
        let m = Matcher::new(vec![apple]);
        assert_eq!(
            ids(&m, &crate::testutil::mention("Apple lance un iPhone", "")),
            vec!["apple"]
        );
        assert!(
            ids(
                &m,
                &crate::testutil::mention("Tarte aux pommes", "apple pie")
            )
            .is_empty()
        );
        let mut own = crate::testutil::mention("Apple news", "");
        own.site = "newsroom.apple.com".into();
        assert!(ids(&m, &own).is_empty());
    }

    #[test]
    fn hits_keep_words_and_places() {
        let m = Matcher::new(vec![brand("acme", "acme AND (scandale OR arnaque)", &[])]);
        let h = &m.match_mention(&crate::testutil::mention("Scandale", "chez Acme"))[0];
        assert_eq!(h.terms, vec!["acme", "scandale"]);
        assert_eq!(h.spans, vec![(0, 0, 8), (1, 5, 9)]);
    }
}
