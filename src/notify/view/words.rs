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
    /// Under the key figures: "mention" / "mentions".
    pub mention_one: &'static str,
    pub negative_share_label: &'static str,
    pub open_incident_one: &'static str,
    pub open_incident_many: &'static str,
    /// "vs the previous period", short, under a key figure.
    pub vs_previous_short: &'static str,
    /// Percentage points: "pts".
    pub points_unit: &'static str,
    pub new_sites: &'static str,
    pub new_authors: &'static str,
    pub no_new_sources: &'static str,
    /// An incident's state: "open since" / "acknowledged by".
    pub open_since: &'static str,
    pub acked_by: &'static str,
    pub alert_one: &'static str,
    pub alert_many: &'static str,
    /// Sentiment adjectives agreeing with one mention (French: feminine singular).
    pub negative_one: &'static str,
    pub neutral_one: &'static str,
    pub positive_one: &'static str,
    /// How to act on an alert: acknowledge, silence.
    pub acknowledge: &'static str,
    pub silence_for_a_day: &'static str,
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
    no_previous: "none in the previous period",
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
    mention_one: "mention",
    negative_share_label: "negative",
    open_incident_one: "open incident",
    open_incident_many: "open incidents",
    vs_previous_short: "vs previous period",
    points_unit: "pts",
    new_sites: "New sites",
    new_authors: "New authors",
    no_new_sources: "No new site or author",
    open_since: "open since",
    acked_by: "acknowledged by",
    alert_one: "alert",
    alert_many: "alerts",
    negative_one: "negative",
    neutral_one: "neutral",
    positive_one: "positive",
    acknowledge: "Acknowledge",
    silence_for_a_day: "Silence for a day",
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
    footer: "Envoyé par veille. Les mentions sont citées telles que publiées\u{202f}; les liens mènent aux pages d’origine.",
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
    no_previous: "aucune sur la période précédente",
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
    mention_one: "mention",
    negative_share_label: "négatives",
    open_incident_one: "incident ouvert",
    open_incident_many: "incidents ouverts",
    vs_previous_short: "par rapport à la période précédente",
    points_unit: "pts",
    new_sites: "Nouveaux sites",
    new_authors: "Nouveaux auteurs",
    no_new_sources: "Aucun nouveau site ni auteur",
    open_since: "ouvert depuis le",
    acked_by: "pris en charge par",
    alert_one: "alerte",
    alert_many: "alertes",
    negative_one: "négative",
    neutral_one: "neutre",
    positive_one: "positive",
    acknowledge: "Prendre en charge",
    silence_for_a_day: "Mettre en sourdine pour une journée",
};

impl Locale {
    pub fn texts(self) -> &'static Texts {
        match self {
            Locale::En => &EN,
            Locale::Fr => &FR,
        }
    }

    /// ": " in English; in French typography a no-break space before the colon, so a
    /// line never starts with it.
    pub fn colon(self) -> &'static str {
        match self {
            Locale::En => ": ",
            Locale::Fr => "\u{a0}: ",
        }
    }

    /// `one` or `many` after the count `n`: French takes the singular for 0 and 1
    /// ("0 mention", "1 mention"), English only for 1.
    pub fn plural<'a>(self, n: u64, one: &'a str, many: &'a str) -> &'a str {
        let singular = match self {
            Locale::En => n == 1,
            Locale::Fr => n <= 1,
        };
        if singular { one } else { many }
    }

    /// "of Acme" / "d’Acme", "de Globex": French elides "de" before a vowel.
    pub fn of(self, name: &str) -> String {
        match self {
            Locale::En => format!("of {name}"),
            Locale::Fr if elides(name) => format!("d\u{2019}{name}"),
            Locale::Fr => format!("de {name}"),
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
            Locale::En if n == 1 => format!("and 1 more mention: {hint}"),
            Locale::En => format!("and {n} more mentions: {hint}"),
            Locale::Fr if n == 1 => format!("et 1 autre mention\u{a0}: {hint}"),
            Locale::Fr => format!("et {n} autres mentions\u{a0}: {hint}"),
        }
    }

    /// "… and 4 more: veille incidents --open" — what a cut incident list points to.
    pub fn more_incidents(self, n: usize) -> String {
        match self {
            Locale::En => format!("… and {n} more: veille incidents --open"),
            Locale::Fr if n == 1 => "… et 1 autre\u{a0}: veille incidents --open".to_string(),
            Locale::Fr => format!("… et {n} autres\u{a0}: veille incidents --open"),
        }
    }

    /// "… and 3 more brand(s): veille digest --now NAME --dry-run" — what a cut digest
    /// points to.
    pub fn more_brands(self, n: usize, digest: &str) -> String {
        match self {
            Locale::Fr => {
                let marques = if n <= 1 { "marque" } else { "marques" };
                format!("… et {n} {marques} de plus\u{a0}: veille digest --now {digest} --dry-run")
            }
            Locale::En => {
                let brands = if n == 1 { "brand" } else { "brands" };
                format!("… and {n} more {brands}: veille digest --now {digest} --dry-run")
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
        Locale::Fr => format!("{}\u{a0}{unit}", s.replace('.', ",")),
    }
}

/// Whether French elides "de" before `name`: a vowel, accented or not. Not before an h
/// or a y: brand names split there ("d'Hermès" but "de Huawei", "de Yahoo"), and "de"
/// is never wrong enough to mislead.
fn elides(name: &str) -> bool {
    name.chars().next().is_some_and(|c| {
        matches!(
            c.to_lowercase().next().unwrap_or(c),
            'a' | 'e'
                | 'i'
                | 'o'
                | 'u'
                | 'à'
                | 'â'
                | 'é'
                | 'è'
                | 'ê'
                | 'ë'
                | 'î'
                | 'ï'
                | 'ô'
                | 'û'
                | 'ù'
        )
    })
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
        // A narrow no-break space, as French typography puts before "%".
        Locale::Fr => format!("{x:.0}\u{202f}%"),
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
        assert_eq!(compact(12_500, Locale::Fr), "12,5\u{a0}k");
        assert_eq!(compact(2_400_000, Locale::En), "2.4M");
        assert_eq!(compact(999, Locale::Fr), "999");
        assert_eq!(percent(0.456, Locale::Fr), "46\u{202f}%");
    }

    #[test]
    fn french_elides_and_agrees() {
        assert_eq!(Locale::Fr.of("Acme"), "d\u{2019}Acme");
        assert_eq!(Locale::Fr.of("Huawei"), "de Huawei");
        assert_eq!(Locale::Fr.of("Écho"), "d\u{2019}Écho");
        assert_eq!(Locale::Fr.of("Globex"), "de Globex");
        assert_eq!(Locale::En.of("Acme"), "of Acme");
        assert_eq!(Locale::Fr.plural(0, "mention", "mentions"), "mention");
        assert_eq!(Locale::Fr.plural(1, "mention", "mentions"), "mention");
        assert_eq!(Locale::Fr.plural(2, "mention", "mentions"), "mentions");
        assert_eq!(Locale::En.plural(0, "mention", "mentions"), "mentions");
        assert_eq!(
            Locale::Fr.more_mentions(1, "x"),
            "et 1 autre mention\u{a0}: x"
        );
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("éléphant", 4), "élé…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
