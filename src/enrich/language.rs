//! Language of a mention: the source's declaration when it has one, else detected with
//! whatlang among the languages veille is configured for.

use whatlang::{Detector, Lang};

/// ISO 639-1 codes whatlang can detect, mapped to its languages.
const LANGS: &[(&str, Lang)] = &[
    ("fr", Lang::Fra),
    ("en", Lang::Eng),
    ("de", Lang::Deu),
    ("es", Lang::Spa),
    ("it", Lang::Ita),
    ("nl", Lang::Nld),
    ("pt", Lang::Por),
    ("pl", Lang::Pol),
    ("sv", Lang::Swe),
    ("da", Lang::Dan),
    ("ru", Lang::Rus),
    ("tr", Lang::Tur),
    ("ar", Lang::Ara),
    ("ja", Lang::Jpn),
    ("zh", Lang::Cmn),
];

/// Codes this build can detect.
pub fn supported() -> impl Iterator<Item = &'static str> {
    LANGS.iter().map(|(c, _)| *c)
}

pub struct LanguageDetector {
    detector: Detector,
}

impl LanguageDetector {
    /// Detection restricted to `codes` (fewer candidates: faster and fewer mistakes).
    pub fn new(codes: &[String]) -> LanguageDetector {
        let allow: Vec<Lang> = LANGS
            .iter()
            .filter(|(c, _)| codes.is_empty() || codes.iter().any(|x| x == c))
            .map(|(_, l)| *l)
            .collect();
        LanguageDetector {
            detector: Detector::with_allowlist(allow),
        }
    }

    /// The language of `title` + `text`, when the detector is confident.
    pub fn detect(&self, title: &str, text: &str) -> Option<String> {
        // Two hundred characters are enough and keep the cost bounded.
        let mut sample = String::with_capacity(256);
        for c in title
            .chars()
            .chain(". ".chars())
            .chain(text.chars())
            .take(200)
        {
            sample.push(c);
        }
        let info = self.detector.detect(&sample)?;
        if !info.is_reliable() && info.confidence() < 0.5 {
            return None;
        }
        LANGS
            .iter()
            .find(|(_, l)| *l == info.lang())
            .map(|(c, _)| c.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english() {
        let d = LanguageDetector::new(&["fr".into(), "en".into(), "de".into()]);
        assert_eq!(
            d.detect("Rappel de bouilloires", "Le fabricant a annoncé le rappel de vingt mille bouilloires après plusieurs cas de surchauffe signalés par des clients.").as_deref(),
            Some("fr")
        );
        assert_eq!(
            d.detect("Kettle recall", "The manufacturer announced the recall of twenty thousand kettles after several customers reported overheating.").as_deref(),
            Some("en")
        );
    }
}
