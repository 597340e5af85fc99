//! Sentiment of a mention in French and English: lexicons and rules, in the manner of
//! VADER (Hutto & Gilbert, 2014).
//!
//! Word valences come from the VADER lexicon (English), its French adaptation, and
//! veille's own lexicon of complaint and crisis vocabulary, idioms and emojis
//! (`data/lexicons/`, credited there with their licenses). On top: negation ("pas
//! terrible", "not bad", "ne … jamais"), intensifiers and diminishers ("très", "trop",
//! "really", "a bit"), words in capitals, "but"/"mais" (what follows weighs more),
//! exclamation marks. The sum becomes a score in [-1, 1]; thresholds chosen on a
//! development set give the label (see `benches/sentiment.rs` for the evaluation).
//!
//! Over 500 lines (tests in `sentiment_tests.rs`): the lexicon rules and the model's
//! combination are one scoring function, kept in one place.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::mention::{Label, Sentiment};
use crate::text;

/// Score at or below which a mention is negative; at or above `POSITIVE`, positive.
/// Chosen on the development sets (data/sentiment/*_dev.tsv) for macro-F1 with a
/// negative precision of at least 0.8: a false crisis alert costs the user's trust.
pub const NEGATIVE: f32 = -0.30;
pub const POSITIVE: f32 = 0.35;

const NEGATIONS: &[&str] = &[
    "pas", "jamais", "aucun", "aucune", "sans", "ni", "personne", "not", "no", "never", "without",
    "nor", "neither", "cannot", "cant", "dont", "doesnt", "didnt", "isnt", "wasnt", "wont", "aint",
    "nothing", "nobody", "hardly",
];
/// Parts of English contractions after the apostrophe is gone: "doesn" + "t".
const NT_STEMS: &[&str] = &[
    "don", "doesn", "didn", "isn", "wasn", "aren", "weren", "won", "can", "couldn", "wouldn",
    "shouldn", "haven", "hasn", "ain",
];
const AFTER_NE: &[&str] = &["pas", "jamais", "plus", "rien", "guere", "point"];
const BOOSTERS: &[&str] = &[
    "tres",
    "trop",
    "vraiment",
    "tellement",
    "super",
    "hyper",
    "ultra",
    "extremement",
    "completement",
    "totalement",
    "grave",
    "archi",
    "si",
    "tant",
    "absolument",
    "very",
    "really",
    "so",
    "extremely",
    "totally",
    "completely",
    "absolutely",
    "incredibly",
    "super",
    "utterly",
    "truly",
    "most",
    "such",
    "way",
];
const DIMINISHERS: &[&str] = &[
    "peu",
    "assez",
    "plutot",
    "moyennement",
    "legerement",
    "bit",
    "slightly",
    "somewhat",
    "kinda",
    "kind",
    "sort",
    "fairly",
    "barely",
    "little",
    "marginally",
    "partly",
];
const CONTRAST: &[&str] = &[
    "mais",
    "cependant",
    "pourtant",
    "neanmoins",
    "but",
    "however",
    "although",
    "though",
    "yet",
];
const EMOTICONS: &[(&str, f32)] = &[
    (":)", 1.8),
    (":-)", 1.8),
    (":D", 2.4),
    (":-D", 2.4),
    ("<3", 2.6),
    (";)", 1.4),
    (":(", -2.0),
    (":-(", -2.0),
    (":'(", -2.2),
    (":/", -1.2),
    (":-/", -1.2),
    (">:(", -2.6),
    ("D:", -1.6),
    (":@", -2.4),
];

struct Lexicons {
    en: HashMap<String, f32>,
    fr: HashMap<String, f32>,
    /// folded multi-word phrases (any language) → valence
    phrases: HashMap<String, f32>,
    /// first words of phrases: only these start a phrase lookup
    phrase_starts: std::collections::HashSet<String>,
    /// longest phrase, in words
    longest: usize,
    /// emoji (first char) → valence
    emojis: HashMap<char, f32>,
}

fn load(
    tsv: &str,
    words: &mut HashMap<String, f32>,
    phrases: &mut HashMap<String, f32>,
    emojis: &mut HashMap<char, f32>,
) {
    for line in tsv.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once('\t') else {
            continue;
        };
        let Ok(v) = v.trim().parse::<f32>() else {
            continue;
        };
        let folded: Vec<String> = text::tokens(k)
            .into_iter()
            .map(|t| t.text)
            .filter(|t| !t.starts_with(['#', '@']))
            .collect();
        match folded.len() {
            0 => {
                // An emoji or emoticon.
                if let Some(c) = k.chars().next()
                    && !c.is_ascii()
                {
                    emojis.insert(c, v);
                }
            }
            1 => {
                words.insert(folded.into_iter().next().unwrap(), v);
            }
            _ => {
                phrases.insert(folded.join(" "), v);
            }
        }
    }
}

fn lexicons() -> &'static Lexicons {
    static L: OnceLock<Lexicons> = OnceLock::new();
    L.get_or_init(|| {
        let mut en = HashMap::new();
        let mut fr = HashMap::new();
        let mut phrases = HashMap::new();
        let mut emojis = HashMap::new();
        load(
            include_str!("../../data/lexicons/vader_en.tsv"),
            &mut en,
            &mut phrases,
            &mut emojis,
        );
        load(
            include_str!("../../data/lexicons/vader_fr.tsv"),
            &mut fr,
            &mut phrases,
            &mut emojis,
        );
        // The domain lexicon wins over both.
        let mut domain = HashMap::new();
        load(
            include_str!("../../data/lexicons/domain.tsv"),
            &mut domain,
            &mut phrases,
            &mut emojis,
        );
        for (k, v) in &domain {
            en.insert(k.clone(), *v);
            fr.insert(k.clone(), *v);
        }
        let longest = phrases
            .keys()
            .map(|p: &String| p.split(' ').count())
            .max()
            .unwrap_or(1);
        let phrase_starts = phrases
            .keys()
            .filter_map(|p| p.split(' ').next())
            .map(str::to_string)
            .collect();
        Lexicons {
            en,
            fr,
            phrases,
            phrase_starts,
            longest,
            emojis,
        }
    })
}

struct Word<'a> {
    /// range of the folded word in the arena
    folded: (usize, usize),
    original: &'a str,
    /// Index of its sentence in the text.
    sentence: u32,
}

/// What the lexicons and rules see in a text: the features of the sentiment model.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    /// VADER-style compound score in [-1, 1].
    pub compound: f32,
    /// Sums of positive and (absolute) negative valences, after modifiers.
    pub positive: f32,
    pub negative: f32,
    pub bangs: f32,
    pub question: bool,
    /// Hashes of the model's sparse features: `w:<word>` (`w:not_<word>` after a
    /// negation), `b:<word> <word>` bigrams, character n-grams inside words (`c:` + bytes
    /// of `^word$`) and symbols (`e:` + an emoji), see [`fnv`].
    pub features: Vec<u64>,
}

/// Character n-gram sizes used as features, as (smallest, largest); (0, 0) for none.
pub type Grams = (u8, u8);

/// FNV-1a, continued over `bytes`.
pub fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Scores `text` in `lang` ("fr", "en"; other or unknown: both lexicons).
pub fn score(text_in: &str, lang: Option<&str>) -> f32 {
    parts(text_in, lang).compound
}

/// Lexicon scoring, keeping what the model needs (with the shipped model's n-grams).
pub fn parts(text_in: &str, lang: Option<&str>) -> Parts {
    parts_with(text_in, lang, MODEL.grams)
}

/// [`parts`] with character n-grams of the given sizes.
pub fn parts_with(text_in: &str, lang: Option<&str>, grams: Grams) -> Parts {
    let lex = lexicons();
    let mut arena = String::with_capacity(text_in.len());
    let mut words: Vec<Word<'_>> = Vec::with_capacity(text_in.len() / 5);
    let (mut sentence, mut last_end) = (0u32, 0usize);
    text::tokenize(text_in, |t| {
        // A negation does not reach over a sentence end ("sans clim ni eau. Scandaleux").
        if text_in
            .get(last_end..t.start)
            .is_some_and(|gap| gap.contains(['.', '!', '?', ';', '\n']))
        {
            sentence += 1;
        }
        last_end = t.end;
        if !t.text.starts_with(['#', '@']) {
            let start = arena.len();
            arena.push_str(t.text);
            words.push(Word {
                folded: (start, arena.len()),
                original: &text_in[t.start..t.end],
                sentence,
            });
        }
    });
    let f = |w: &Word<'_>| &arena[w.folded.0..w.folded.1];
    let maps: [Option<&HashMap<String, f32>>; 2] = match lang {
        Some("fr") => [Some(&lex.fr), None],
        Some("en") => [Some(&lex.en), None],
        _ => [Some(&lex.fr), Some(&lex.en)],
    };
    let shouting_everywhere =
        words.iter().filter(|w| is_caps(w.original)).count() * 2 > words.len();
    let contrast_at = words.iter().rposition(|w| CONTRAST.contains(&f(w)));

    let mut sum = 0.0f32;
    let (mut positive, mut negative) = (0.0f32, 0.0f32);
    let mut key = String::with_capacity(64);
    // Word features: unigrams (marked after a negation) and bigrams.
    let mut features = Vec::with_capacity(words.len() * 2);
    let mut negation_left = 0u8;
    for (k, w) in words.iter().enumerate() {
        let word = f(w);
        let mut h = fnv(FNV_START, if negation_left > 0 { b"w:not_" } else { b"w:" });
        h = fnv(h, word.as_bytes());
        features.push(h);
        if k > 0 {
            let b = fnv(
                fnv(
                    fnv(fnv(FNV_START, b"b:"), f(&words[k - 1]).as_bytes()),
                    b" ",
                ),
                word.as_bytes(),
            );
            features.push(b);
        }
        if grams.0 > 0 && word.len() > 2 {
            char_grams(word, grams, &mut features);
        }
        negation_left = negation_left.saturating_sub(1);
        if is_negation(word, (k > 0).then(|| f(&words[k - 1]))) {
            negation_left = 3;
        }
    }
    for c in text_in
        .chars()
        .filter(|c| !c.is_ascii() && !c.is_alphanumeric())
    {
        let mut b = [0u8; 4];
        features.push(fnv(fnv(FNV_START, b"e:"), c.encode_utf8(&mut b).as_bytes()));
    }
    let mut i = 0;
    while i < words.len() {
        // Longest phrase first ("pas terrible" before "terrible").
        let mut found: Option<(usize, f32)> = None;
        if lex.phrase_starts.contains(f(&words[i])) {
            for n in (2..=lex.longest.min(words.len() - i)).rev() {
                key.clear();
                for (j, w) in words[i..i + n].iter().enumerate() {
                    if j > 0 {
                        key.push(' ');
                    }
                    key.push_str(f(w));
                }
                if let Some(v) = lex.phrases.get(key.as_str()) {
                    found = Some((n, *v));
                    break;
                }
            }
        }
        if found.is_none() {
            let w = f(&words[i]);
            found = maps
                .iter()
                .flatten()
                .find_map(|m| m.get(w))
                .map(|v| (1, *v));
        }
        let Some((n, mut v)) = found else {
            i += 1;
            continue;
        };
        if is_caps(words[i].original) && !shouting_everywhere {
            v += v.signum() * 0.733;
        }
        // Intensifiers and diminishers just before.
        for (d, k) in (1..=3).filter_map(|d| i.checked_sub(d).map(|k| (d, k))) {
            let prev = f(&words[k]);
            let scale = 1.0 - 0.05 * (d as f32 - 1.0);
            if BOOSTERS.contains(&prev) {
                v += v.signum() * 0.293 * scale;
            } else if DIMINISHERS.contains(&prev) {
                v -= v.signum() * 0.293 * scale;
            }
        }
        // Idioms already carry their negation ("pas terrible"); single words are flipped.
        if n == 1 && negated(&words, &arena, i) {
            v *= -0.74;
        }
        let v = match contrast_at {
            Some(c) if i < c => v * 0.5,
            Some(c) if i > c => v * 1.5,
            _ => v,
        };
        sum += v;
        if v > 0.0 {
            positive += v;
        } else {
            negative -= v;
        }
        i += n;
    }
    // Emojis are never ASCII: ASCII characters are skipped without a lookup.
    let mut symbols = 0.0f32;
    for c in text_in.chars().filter(|c| !c.is_ascii()) {
        if let Some(v) = lex.emojis.get(&c) {
            symbols += v;
        }
    }
    if text_in.contains([':', ';', '<', '>']) {
        for (e, v) in EMOTICONS {
            symbols += v * text_in.matches(e).count() as f32;
        }
    }
    sum += symbols;
    if symbols > 0.0 {
        positive += symbols;
    } else {
        negative -= symbols;
    }
    let bangs = text_in.matches('!').count().min(4) as f32;
    if sum != 0.0 {
        sum += sum.signum() * bangs * 0.292;
    }
    Parts {
        compound: sum / (sum * sum + 15.0).sqrt(),
        positive,
        negative,
        bangs,
        question: text_in.contains('?'),
        features,
    }
}

/// Character n-grams of `^word$` (folded bytes), for spelling variants, inflections and
/// words never seen whole in training ("remboursement", "rembourser", "remboursez").
fn char_grams(word: &str, (lo, hi): Grams, out: &mut Vec<u64>) {
    let mut padded = [0u8; 34];
    let w = &word.as_bytes()[..word.len().min(32)];
    padded[0] = b'^';
    padded[1..=w.len()].copy_from_slice(w);
    padded[w.len() + 1] = b'$';
    let padded = &padded[..w.len() + 2];
    for n in lo as usize..=hi as usize {
        for g in padded.windows(n) {
            out.push(fnv(fnv(FNV_START, b"c:"), g));
        }
    }
}

/// Does `word` (after `prev`) negate what follows? ("pas", "never", the "t" of "doesn't").
fn is_negation(word: &str, prev: Option<&str>) -> bool {
    NEGATIONS.contains(&word) || (word == "t" && prev.is_some_and(|p| NT_STEMS.contains(&p)))
}

fn is_caps(w: &str) -> bool {
    w.chars().filter(|c| c.is_alphabetic()).count() > 1 && w.chars().all(|c| !c.is_lowercase())
}

/// A negation among the three words before, or a French "ne … pas/jamais/plus" around.
fn negated(words: &[Word<'_>], arena: &str, i: usize) -> bool {
    let f = |w: &Word<'_>| &arena[w.folded.0..w.folded.1];
    let before = |k: usize| {
        i.checked_sub(k)
            .filter(|&j| words[j].sentence == words[i].sentence)
            .map(|j| f(&words[j]))
    };
    for k in 1..=3 {
        let Some(w) = before(k) else { break };
        if NEGATIONS.contains(&w) {
            return true;
        }
        // "doesn't like": the apostrophe split "doesn" and "t".
        if w == "t" && before(k + 1).is_some_and(|s| NT_STEMS.contains(&s)) {
            return true;
        }
        if w == "ne" || w == "n" {
            let after = words[i + 1..]
                .iter()
                .take(2)
                .filter(|x| x.sentence == words[i].sentence)
                .any(|x| AFTER_NE.contains(&f(x)));
            let between = words[i - k + 1..i].iter().any(|x| AFTER_NE.contains(&f(x)));
            if after || between {
                return true;
            }
        }
    }
    false
}

/// The model shipped in the binary, trained by `cargo run --release --example
/// train_sentiment` on real, human-labelled text (data and provenance in
/// `data/sentiment/PROVENANCE.md`).
static MODEL: std::sync::LazyLock<super::model::Model> = std::sync::LazyLock::new(|| {
    super::model::Model::from_bytes(include_bytes!("../../data/sentiment/model.bin"))
        .expect("the embedded sentiment model is well formed (tested)")
});

/// Score, label and confidence of `text_in`. The score is P(positive) − P(negative); the
/// label is negative or positive only when the model is confident enough (thresholds
/// chosen on development data for negative precision first: a false crisis alert costs
/// the user's trust), neutral otherwise.
pub fn analyze(text_in: &str, lang: Option<&str>) -> Sentiment {
    let lang = match lang {
        Some(l) if l.starts_with("fr") => Some("fr"),
        Some(l) if l.starts_with("en") => Some("en"),
        other => other,
    };
    let p = parts(text_in, lang);
    let pr = MODEL.probabilities(&p, lang);
    let (mut label, mut confidence) = MODEL.decide(pr, lang);
    // Strong crisis and complaint words ("arnaque", "honte", "boycott", "scam") that the
    // model, trained on Reddit and subtitles, rarely saw: negative when the lexicons are
    // clearly negative and the model leans that way too (French and English only).
    if label != Label::Negative
        && matches!(lang, Some("fr" | "en"))
        && p.compound <= LEXICON_NEGATIVE
        && pr[0] > pr[2]
    {
        (label, confidence) = (Label::Negative, pr[0]);
    }
    Sentiment {
        score: (pr[2] - pr[0]).clamp(-1.0, 1.0),
        label,
        confidence: Some(confidence),
    }
}

/// The lexicon score at or below which a text the model leans negative on is negative
/// (stricter than [`NEGATIVE`], the lexicons-alone threshold).
pub const LEXICON_NEGATIVE: f32 = -0.5;

/// Lexicons and rules only (the VADER-style compound score and fixed thresholds), for
/// comparison in the evaluation.
pub fn analyze_lexicon(text_in: &str, lang: Option<&str>) -> Sentiment {
    let s = score(text_in, lang);
    Sentiment {
        score: s,
        label: label(s),
        confidence: None,
    }
}

pub fn label(score: f32) -> Label {
    if score <= NEGATIVE {
        Label::Negative
    } else if score >= POSITIVE {
        Label::Positive
    } else {
        Label::Neutral
    }
}

#[cfg(test)]
#[path = "sentiment_tests.rs"]
mod tests;
