//! The words of every message, French and English, in one table: alerts and digests
//! take theirs from here (`locale = "fr"` or `"en"` on each notifier), with the way each
//! language writes numbers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Fr,
}

/// The fixed words of messages.
#[derive(Debug, Serialize)]
pub struct Texts {
    pub new: &'static str,
    pub update: &'static str,
    pub resolved: &'static str,
    pub critical: &'static str,
    pub warning: &'static str,
    pub info: &'static str,
    pub why: &'static str,
    pub rule: &'static str,
    pub brand: &'static str,
    pub mentions: &'static str,
    pub reach: &'static str,
    pub sentiment: &'static str,
    pub negative: &'static str,
    pub neutral: &'static str,
    pub positive: &'static str,
    pub by: &'static str,
    pub open: &'static str,
    pub expected: &'static str,
    pub negative_share: &'static str,
    pub threshold: &'static str,
    pub window: &'static str,
    pub footer: &'static str,
    // Batches of an incident and its summary.
    /// "Since", the previous message of the incident.
    pub since_last: &'static str,
    /// How the mentions shown in full were chosen.
    pub shown_first: &'static str,
    pub order: &'static str,
    pub first: &'static str,
    pub last: &'static str,
    pub peak: &'static str,
    // Digests.
    pub digest: &'static str,
    /// "mentions", in a count ("42 mentions").
    pub mentions_count: &'static str,
    pub stories: &'static str,
    pub vs_previous: &'static str,
    pub no_previous: &'static str,
    /// "Sentiment", heading a digest line.
    pub sentiment_heading: &'static str,
    /// Shares of mentions: "negative" / "négatives".
    pub negative_mentions: &'static str,
    pub neutral_mentions: &'static str,
    pub positive_mentions: &'static str,
    pub share_of_voice: &'static str,
    pub top_mentions: &'static str,
    pub top_sites: &'static str,
    pub top_authors: &'static str,
    pub new_sources: &'static str,
    pub open_incidents: &'static str,
    pub none: &'static str,
    /// The chart's caption.
    pub volume: &'static str,
}

pub const EN: Texts = Texts {
    new: "New",
    update: "Update",
    resolved: "Resolved",
    critical: "CRITICAL",
    warning: "WARNING",
    info: "INFO",
    why: "Why",
    rule: "Rule",
    brand: "Brand",
    mentions: "Mentions",
    reach: "reach",
    sentiment: "sentiment",
    negative: "negative",
    neutral: "neutral",
    positive: "positive",
    by: "by",
    open: "Open",
    expected: "Usual",
    negative_share: "Negative",
    threshold: "Threshold",
    window: "Window",
    footer: "Sent by veille. Mentions are quoted as published; links go to the original pages.",
    since_last: "Since the last message",
    shown_first: "Shown first",
    order: "largest reach, then most negative, then newest",
    first: "First",
    last: "Last",
    peak: "Peak hour",
    digest: "Digest",
    mentions_count: "mentions",
    stories: "stories",
    vs_previous: "vs the previous period",
    no_previous: "none the period before",
    sentiment_heading: "Sentiment",
    negative_mentions: "negative",
    neutral_mentions: "neutral",
    positive_mentions: "positive",
    share_of_voice: "Share of voice",
    top_mentions: "Top mentions by reach",
    top_sites: "Top sites",
    top_authors: "Top authors",
    new_sources: "New sources",
    open_incidents: "Open incidents",
    none: "none",
    volume: "Volume",
};

pub const FR: Texts = Texts {
    new: "Nouveau",
    update: "Mise à jour",
    resolved: "Résolu",
    critical: "CRITIQUE",
    warning: "ALERTE",
    info: "INFO",
    why: "Pourquoi",
    rule: "Règle",
    brand: "Marque",
    mentions: "Mentions",
    reach: "audience",
    sentiment: "tonalité",
    negative: "négatif",
    neutral: "neutre",
    positive: "positif",
    by: "par",
    open: "Ouvrir",
    expected: "Habituel",
    negative_share: "Négatives",
    threshold: "Seuil",
    window: "Fenêtre",
    footer: "Envoyé par veille. Les mentions sont citées telles que publiées ; les liens mènent aux pages d'origine.",
    since_last: "Depuis le dernier message",
    shown_first: "En premier",
    order: "plus forte audience, puis plus négatives, puis plus récentes",
    first: "Première",
    last: "Dernière",
    peak: "Heure de pointe",
    digest: "Synthèse",
    mentions_count: "mentions",
    stories: "sujets",
    vs_previous: "par rapport à la période précédente",
    no_previous: "aucune la période précédente",
    sentiment_heading: "Tonalité",
    negative_mentions: "négatives",
    neutral_mentions: "neutres",
    positive_mentions: "positives",
    share_of_voice: "Part de voix",
    top_mentions: "Mentions les plus vues",
    top_sites: "Sites les plus actifs",
    top_authors: "Auteurs les plus actifs",
    new_sources: "Nouvelles sources",
    open_incidents: "Incidents ouverts",
    none: "aucun",
    volume: "Volume",
};

impl Locale {
    pub fn texts(self) -> &'static Texts {
        match self {
            Locale::En => &EN,
            Locale::Fr => &FR,
        }
    }

    /// ": " in English, " : " in French typography.
    pub fn colon(self) -> &'static str {
        match self {
            Locale::En => ": ",
            Locale::Fr => " : ",
        }
    }

    /// How a date and time is written (chrono's `format`), UTC implied.
    pub fn date_format(self) -> &'static str {
        match self {
            Locale::En => "%Y-%m-%d %H:%M",
            Locale::Fr => "%d/%m/%Y %H:%M",
        }
    }

    /// "and 12 more mention(s): HINT" — what a cut alert points to.
    pub fn more_mentions(self, n: usize, hint: &str) -> String {
        match self {
            Locale::En => format!("and {n} more mention(s): {hint}"),
            Locale::Fr => format!("et {n} autre(s) mention(s) : {hint}"),
        }
    }

    /// "… and 3 more brand(s): veille digest --now NAME --dry-run" — what a cut digest
    /// points to.
    pub fn more_brands(self, n: usize, digest: &str) -> String {
        match self {
            Locale::Fr => {
                format!("… et {n} marque(s) de plus : veille digest --now {digest} --dry-run")
            }
            Locale::En => {
                format!("… and {n} more brand(s): veille digest --now {digest} --dry-run")
            }
        }
    }
}

/// "12 500" → "12.5k" / "12,5 k".
pub fn compact(n: u64, locale: Locale) -> String {
    let (v, unit) = match n {
        0..=999 => return n.to_string(),
        1_000..=999_999 => (n as f64 / 1e3, "k"),
        _ => (n as f64 / 1e6, "M"),
    };
    let s = if v < 100.0 {
        format!("{v:.1}").trim_end_matches(".0").to_string()
    } else {
        format!("{v:.0}")
    };
    match locale {
        Locale::En => format!("{s}{unit}"),
        Locale::Fr => format!("{} {unit}", s.replace('.', ",")),
    }
}

pub fn number(x: f64, locale: Locale) -> String {
    let s = if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    };
    match locale {
        Locale::En => s,
        Locale::Fr => s.replace('.', ","),
    }
}

pub fn percent(share: f64, locale: Locale) -> String {
    points(share * 100.0, locale)
}

/// A percentage given in points: "42%", "42 %".
pub fn points(x: f64, locale: Locale) -> String {
    match locale {
        Locale::En => format!("{x:.0}%"),
        Locale::Fr => format!("{x:.0} %"),
    }
}

/// Shortens `s` to at most `max` characters, ending with "…" when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_both_languages() {
        assert_eq!(compact(12_500, Locale::En), "12.5k");
        assert_eq!(compact(12_500, Locale::Fr), "12,5 k");
        assert_eq!(compact(2_400_000, Locale::En), "2.4M");
        assert_eq!(compact(999, Locale::Fr), "999");
        assert_eq!(percent(0.456, Locale::Fr), "46 %");
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("éléphant", 4), "élé…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
