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
    /// Allowed codes, for the function-word fallback.
    allowed: Vec<&'static str>,
    /// Every allowed language has a function-word list (then a clear count decides).
    all_listed: bool,
}

impl LanguageDetector {
    /// Detection restricted to `codes` (fewer candidates: faster and fewer mistakes).
    pub fn new(codes: &[String]) -> LanguageDetector {
        let allow: Vec<Lang> = LANGS
            .iter()
            .filter(|(c, _)| codes.is_empty() || codes.iter().any(|x| x == c))
            .map(|(_, l)| *l)
            .collect();
        let allowed: Vec<&'static str> = LANGS
            .iter()
            .filter(|(_, l)| allow.contains(l))
            .map(|(c, _)| *c)
            .collect();
        LanguageDetector {
            all_listed: allowed
                .iter()
                .all(|c| FUNCTION_WORDS.iter().any(|(f, _)| f == c)),
            allowed,
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
        // Function words first: on a sentence or more they are decisive, and counting
        // them costs a fraction of whatlang's trigram scoring.
        let scores = self.function_words(&sample);
        if self.all_listed
            && let [(best, hits), rest @ ..] = scores.as_slice()
            && *hits >= 3
            && *hits > 2 * rest.first().map_or(0, |r| r.1)
        {
            return Some(best.to_string());
        }
        let info = self.detector.detect(&sample)?;
        let guess = LANGS
            .iter()
            .find(|(_, l)| *l == info.lang())
            .map(|(c, _)| *c);
        if info.is_reliable() || info.confidence() >= 0.5 {
            return guess.map(str::to_string);
        }
        // Trigrams need more text than a post has: "Acme en panne" or "J'adore Acme,
        // merci !" are too short for whatlang to be sure. Function words decide then.
        // Two function words settle it, one is enough when whatlang agrees; on a tie
        // (Spanish and French share "un" and "de"), whatlang's guess breaks it.
        let hits = scores.first()?.1;
        let top: Vec<&str> = scores
            .iter()
            .take_while(|s| s.1 == hits)
            .map(|s| s.0)
            .collect();
        let agreed = guess.filter(|g| top.contains(g));
        match (top.as_slice(), hits) {
            (_, 0) => None,
            ([only], 2..) => Some(only.to_string()),
            _ => agreed.map(str::to_string),
        }
    }

    /// Allowed languages by number of their function words in `sample`, most first.
    fn function_words(&self, sample: &str) -> Vec<(&'static str, usize)> {
        let table = function_word_table();
        let mut counts = [0usize; FUNCTION_WORDS.len()];
        let folded = crate::text::fold(sample);
        for w in folded
            .split(|c: char| !c.is_alphanumeric() && c != '\'')
            .filter(|w| !w.is_empty())
        {
            // "j'adore", "l'acme": the elided article is the word that counts.
            let (head, elided) = match w.split_once('\'') {
                Some((h, _)) => (h, true),
                None => (w, false),
            };
            let mut mask = table.get(head).copied().unwrap_or(0);
            if elided && ELIDED_FR.contains(&head) {
                mask |= 1; // French is first in FUNCTION_WORDS
            }
            for (i, c) in counts.iter_mut().enumerate() {
                *c += (mask >> i & 1) as usize;
            }
        }
        let mut scores: Vec<(&'static str, usize)> = FUNCTION_WORDS
            .iter()
            .zip(counts)
            .filter(|((code, _), _)| self.allowed.contains(code))
            .map(|((code, _), n)| (*code, n))
            .collect();
        scores.sort_by(|a, b| b.1.cmp(&a.1));
        scores
    }
}

/// Function word → bit set of the languages (indexes in [`FUNCTION_WORDS`]) it belongs to.
fn function_word_table() -> &'static std::collections::HashMap<&'static str, u8> {
    static TABLE: std::sync::OnceLock<std::collections::HashMap<&'static str, u8>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = std::collections::HashMap::new();
        for (i, (_, words)) in FUNCTION_WORDS.iter().enumerate() {
            for w in words.split_whitespace() {
                *t.entry(w).or_insert(0u8) |= 1 << i;
            }
        }
        t
    })
}

/// French elided words, written before an apostrophe (j'adore, qu'il, c'est).
const ELIDED_FR: &[&str] = &[
    "j", "l", "d", "qu", "n", "c", "s", "m", "t", "jusqu", "lorsqu",
];

/// The most frequent function words of each language, folded (no accents, lower case).
/// Words shared by several languages count for each of them.
const FUNCTION_WORDS: &[(&str, &str)] = &[
    (
        "fr",
        "le la les un une des du de et est sont pas ne je tu il elle nous vous ils elles on \
         ce cette ces mon ma mes ton ta votre vos leur au aux avec pour sur dans par chez \
         qui que quoi mais ou donc car tres trop plus moins encore toujours jamais rien \
         suis es sommes etes ai as avons avez ont etait fait cest aussi bien merci",
    ),
    (
        "en",
        "the a an and is are was were be been not no i you he she it we they my your his her \
         our their this that these those of to in on at for with from by about but or so \
         very too more less still always never nothing do does did have has had will would \
         can could should me us them just thanks what who its over after new first up \
         out all into than then there when how now only also back before under most some \
         such year years day people says said get got make made which while",
    ),
    (
        "de",
        "der die das ein eine und ist sind nicht kein ich du er sie es wir ihr mein dein \
         sein unser mit fur auf aus von zu im bei nach uber aber oder sehr zu mehr noch \
         immer nie nichts habe hat haben war wird danke auch",
    ),
    (
        "es",
        "el la los las un una unos y es son no yo tu el ella nosotros ellos mi mis su sus \
         este esta estos de del al en con para por sobre pero o muy mas menos todavia \
         siempre nunca nada soy eres somos tengo tiene fue gracias que",
    ),
    (
        "it",
        "il lo la gli le un una e non io tu lui lei noi voi loro mio mia tuo suo nostro \
         questo questa di del della dei in con per su da ma o molto troppo piu meno ancora \
         sempre mai niente sono sei siamo ho hai ha abbiamo era grazie che anche",
    ),
    (
        "nl",
        "de het een en is zijn niet geen ik jij hij zij wij jullie mijn jouw zijn ons deze \
         dit die dat van in op met voor uit bij naar over maar of heel te meer nog altijd \
         nooit niets heb heeft hebben was wordt bedankt ook",
    ),
    (
        "pt",
        "o a os as um uma e nao eu tu ele ela nos eles meu minha seu sua este esta isso de \
         do da dos das em no na com para por sobre mas ou muito mais menos ainda sempre \
         nunca nada sou somos tenho tem foi obrigado obrigada que",
    ),
];

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

    #[test]
    fn short_posts_fall_back_on_function_words() {
        let codes: Vec<String> = ["fr", "en", "de", "es", "it", "nl", "pt"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let d = LanguageDetector::new(&codes);
        for (text, want) in [
            ("Acme est une arnaque, je suis furieux !", Some("fr")),
            ("J'adore Acme, service génial, merci !", Some("fr")),
            ("Acme ouvre un magasin rue de Rivoli mardi", Some("fr")),
            ("Acme is a scam, refund me now!", Some("en")),
            ("Worst support ever, I want my money back", Some("en")),
            (
                "Acme ist nicht gut und der Support ist schlecht",
                Some("de"),
            ),
            ("Acme", None),
        ] {
            assert_eq!(d.detect("", text).as_deref(), want, "{text}");
        }
    }
}
