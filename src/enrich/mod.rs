//! Enrichment: what veille knows about a mention besides its words — language, sentiment,
//! near-duplicate story, reach. Runs in the ingest stage on every mention to be indexed.

pub mod focus;
pub mod language;
pub mod model;
pub mod sentiment;
pub mod story;
pub mod train;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::mention::Mention;

/// Default `story_title_threshold`: chosen on real headlines grouped into stories by a news
/// aggregator for a pairwise precision of at least 0.9 (`cargo bench --bench stories`).
pub const STORY_TITLE_THRESHOLD: f32 = 0.35;

/// `[enrich]` in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichConfig {
    /// Languages to recognize when a source does not declare one (ISO 639-1).
    pub languages: Vec<String>,
    /// Estimated Jaccard similarity of two texts (word 3-grams) from which they are one
    /// story (0–1).
    pub story_threshold: f32,
    /// Jaccard similarity of two titles' content words (or two short posts') from which
    /// they are one story (0–1). Lower groups more variants of a headline, and more
    /// headlines that only share a topic.
    pub story_title_threshold: f32,
    /// Recent mentions kept in memory to find near-duplicates.
    pub story_memory: usize,
    /// Audience of sites, used as their mentions' reach (e.g. `"lemonde.fr" = 2000000`).
    pub site_reach: BTreeMap<String, u64>,
    /// Weight of sites (and their subdomains), multiplying their mentions' reach: an
    /// aggregator or a spam farm counts less (`0.1`), a trade paper your customers read
    /// more (`3.0`). Default 1.
    pub site_weight: BTreeMap<String, f64>,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            languages: vec![
                "fr".into(),
                "en".into(),
                "de".into(),
                "es".into(),
                "it".into(),
                "nl".into(),
                "pt".into(),
            ],
            story_threshold: 0.5,
            story_title_threshold: STORY_TITLE_THRESHOLD,
            story_memory: 100_000,
            site_reach: BTreeMap::new(),
            site_weight: BTreeMap::new(),
        }
    }
}

pub struct Enricher {
    languages: language::LanguageDetector,
    pub stories: story::Stories,
    site_reach: BTreeMap<String, u64>,
    site_weight: BTreeMap<String, f64>,
}

impl Enricher {
    pub fn new(c: &EnrichConfig) -> Enricher {
        Enricher {
            languages: language::LanguageDetector::new(&c.languages),
            stories: story::Stories::new(
                c.story_threshold,
                c.story_title_threshold,
                c.story_memory,
            ),
            site_reach: c.site_reach.clone(),
            site_weight: c.site_weight.clone(),
        }
    }

    /// New settings after a reload; the memory of recent stories is kept (a new
    /// `story_threshold` or `story_memory` applies at the next start).
    pub fn reconfigure(&mut self, c: &EnrichConfig) {
        self.languages = language::LanguageDetector::new(&c.languages);
        self.site_reach = c.site_reach.clone();
        self.site_weight = c.site_weight.clone();
    }

    /// Fills language (when the source gave none), sentiment, story and reach.
    /// Sets the language when the source did not declare one. Runs before matching, so
    /// that `lang:` and a brand's `languages` see the same language live as in search.
    pub fn language(&self, m: &mut Mention) {
        if m.language.is_none() {
            m.language = self.languages.detect(&m.title, &m.text);
        }
    }

    pub fn enrich(&mut self, m: &mut Mention) {
        self.language(m);
        let lang = m.language.as_deref().map(crate::matching::primary_language);
        // Toward the brand: a long text is read around its matched terms.
        let body = focus::around_brands(&m.title, &m.text, &m.brands);
        m.sentiment = Some(sentiment::analyze(&body, lang.as_deref()));
        m.story = Some(self.stories.assign(&m.id, &m.title, &m.text));
        m.reach = self.reach(m);
    }

    /// Reach estimate: the site's configured audience or what the source reports
    /// (followers, subscribers, reputation), whichever is larger, plus what engagement
    /// adds (a share reaches more people than a like).
    pub fn reach(&self, m: &Mention) -> Option<u64> {
        let site = lookup(&self.site_reach, &m.site).copied();
        let e = &m.engagement;
        // Counts come from the source's answer: saturate, never overflow.
        let n = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
        let reactions = n(e.likes)
            .saturating_add(n(e.replies))
            .saturating_add(n(e.score));
        let engaged = n(e.shares)
            .saturating_mul(20)
            .saturating_add(reactions.saturating_mul(5));
        let weight = lookup(&self.site_weight, &m.site)
            .copied()
            .filter(|w| w.is_finite() && *w >= 0.0)
            .unwrap_or(1.0)
            .min(1000.0);
        match (site.max(m.reach), engaged) {
            (None, 0) => None,
            (base, engaged) => {
                Some((base.unwrap_or(0).saturating_add(engaged) as f64 * weight).round() as u64)
            }
        }
    }
}

/// The entry for a site or the nearest parent domain (`news.example.com`, then
/// `example.com`, then `com`).
fn lookup<'a, T>(map: &'a BTreeMap<String, T>, site: &str) -> Option<&'a T> {
    let mut s = site;
    loop {
        if let Some(w) = map.get(s) {
            return Some(w);
        }
        s = s.split_once('.')?.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_weight_scales_reach_for_a_site_and_its_subdomains() {
        let mut c = EnrichConfig::default();
        c.site_weight.insert("aggregator.example".into(), 0.1);
        c.site_weight.insert("trade.example".into(), 3.0);
        let e = Enricher::new(&c);
        let at = |site: &str| {
            let mut m = crate::testutil::mention("Acme", "x");
            m.site = site.into();
            m.reach = Some(1000);
            e.reach(&m)
        };
        assert_eq!(at("www.aggregator.example"), Some(100));
        assert_eq!(at("trade.example"), Some(3000));
        assert_eq!(at("other.example"), Some(1000));
    }

    #[test]
    fn a_long_article_praising_the_brand_among_war_news_is_not_negative_for_it() {
        let mut e = Enricher::new(&EnrichConfig::default());
        let war = "Les bombardements ont fait des dizaines de morts et de blessés dans la nuit. \
                   Les habitants terrifiés fuient les ruines de leur ville détruite. \
                   Les hôpitaux débordés manquent de tout, et la famine menace. ";
        let brand = "Acme a offert des repas chauds aux réfugiés, un geste salué par tous : \
                     merci Acme, bravo pour cette belle initiative ! ";
        let text = format!("{war}{war}{brand}{war}");
        let mut m = crate::testutil::mention("Guerre : la situation s'aggrave", &text);
        m.language = Some("fr".into());
        let spans = text
            .match_indices("Acme")
            .map(|(i, w)| (1u8, i as u32, (i + w.len()) as u32))
            .collect();
        m.brands = vec![crate::mention::BrandHit {
            brand: "acme".into(),
            terms: vec!["acme".into()],
            spans,
        }];
        e.enrich(&mut m);
        let s = m.sentiment.unwrap();
        assert_ne!(s.label, crate::mention::Label::Negative, "{s:?}");
        let c = s.confidence.expect("a confidence");
        assert!((0.0..=1.0).contains(&c), "{c}");
        // The page as a whole reads worse than what it says of the brand.
        let page = sentiment::analyze(&format!("{}. {text}", m.title), Some("fr"));
        assert!(page.score < s.score, "page {page:?}, brand {s:?}");
    }

    #[test]
    fn enrich_fills_everything() {
        let mut c = EnrichConfig::default();
        c.site_reach.insert("example.com".into(), 50_000);
        let mut e = Enricher::new(&c);
        let mut m = crate::testutil::mention(
            "Acme : une arnaque, remboursez les clients",
            "Le service client d'Acme ne répond plus depuis trois semaines, c'est honteux et les clients sont furieux.",
        );
        m.site = "news.example.com".into();
        m.engagement.shares = Some(10);
        e.enrich(&mut m);
        assert_eq!(m.language.as_deref(), Some("fr"));
        assert_eq!(m.sentiment.unwrap().label, crate::mention::Label::Negative);
        assert_eq!(m.story.as_deref(), Some(m.id.as_str()));
        assert_eq!(m.reach, Some(50_200));
    }
}
