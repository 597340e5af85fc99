//! Text handling shared by every stage: HTML → plain text ([`html`], bounded by
//! [`nesting`]), folding, tokenizing.
//!
//! The matcher, the index and the highlighter must agree on what a "word" is, or a query
//! would match live but not in search. They all go through [`tokenize`] here.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

mod html;
pub mod nesting;

pub use html::{element_text, html_to_text, html_to_text_without, parse_document, parse_fragment};

/// One word of a text: its folded form, where it sits in the original text, and its
/// position (index among the words, for phrases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
    pub position: u32,
}

/// Folded owned token, for callers that keep the tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedToken {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub position: u32,
}

/// French elisions that precede a word ("l'Acme", "qu'Acme"): dropped so that the word
/// after the apostrophe is matched on its own.
const ELISIONS: &[&str] = &[
    "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu",
];

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}' | '\u{2018}')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || (!c.is_ascii() && is_combining_mark(c))
}

/// Appends the folded form of `c`: lower case, accents removed, ligatures expanded.
pub fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let special = match c {
        'œ' | 'Œ' => "oe",
        'æ' | 'Æ' => "ae",
        'ß' | 'ẞ' => "ss",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' => "d",
        'ł' | 'Ł' => "l",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        _ => "",
    };
    if !special.is_empty() {
        out.push_str(special);
        return;
    }
    // A compatibility decomposition can bring punctuation (ŀ is "l·", ½ is "1⁄2"): only
    // word characters are kept of a letter or digit, so that folding a word gives one
    // word — a query printed back then reads as the same words (found by the `query` fuzz
    // target). Other characters fold as before.
    let word = c.is_alphanumeric();
    decompose_compatible(c, |d| {
        if is_combining_mark(d) {
            return;
        }
        for l in d.to_lowercase() {
            if !is_combining_mark(l) && (!word || l.is_alphanumeric()) {
                out.push(l);
            }
        }
    });
}

/// Folds a whole string (used for single words in queries, hosts, authors).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// Splits `text` into folded words and calls `sink` for each one.
///
/// Word boundaries are Unicode alphanumeric runs, so "acme" never matches inside
/// "acmetal". French elisions (l', d', qu' …) and English possessive "'s" are dropped.
/// A word written as a hashtag or a handle (`#acme`, `@acme`) gives two tokens at the
/// same position: `acme` and `#acme` (or `@acme`), so `acme` matches it and `#acme` only
/// matches the hashtag.
pub fn tokenize(text: &str, mut sink: impl FnMut(Token<'_>)) {
    let mut buf = String::with_capacity(32);
    let mut tagged = String::with_capacity(33);
    let mut start = 0usize;
    let mut in_word = false;
    let mut position = 0u32;
    // Set when the current word directly follows an apostrophe glued to a word: a lone
    // "s" there is an English possessive and is dropped.
    let mut after_apostrophe = false;
    let mut pending_apostrophe_break = false;
    let mut pending_sigil: Option<char> = None;
    let mut sigil: Option<char> = None;
    let mut prev: Option<char> = None;

    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_word_char(c) {
            if !in_word {
                in_word = true;
                start = i;
                buf.clear();
                after_apostrophe = pending_apostrophe_break;
                sigil = pending_sigil.take();
            }
            pending_apostrophe_break = false;
            fold_char(c, &mut buf);
            prev = Some(c);
            continue;
        }
        let next_is_word = chars.peek().is_some_and(|&(_, n)| is_word_char(n));
        let word = Word {
            buf: &buf,
            start,
            end: i,
            after_apostrophe,
            sigil,
        };
        if in_word && is_apostrophe(c) && next_is_word {
            in_word = false;
            if ELISIONS.contains(&buf.as_str()) {
                // "l'acme": forget the elided article, the next word stands alone.
                pending_apostrophe_break = false;
                prev = Some(c);
                continue;
            }
            emit(word, &mut tagged, &mut position, &mut sink);
            pending_apostrophe_break = true;
            prev = Some(c);
            continue;
        }
        if in_word {
            in_word = false;
            emit(word, &mut tagged, &mut position, &mut sink);
        }
        pending_apostrophe_break = false;
        // `#acme` / `@acme`, but not the `@` of an e-mail address.
        pending_sigil = ((c == '#' || c == '@') && next_is_word && !prev.is_some_and(is_word_char))
            .then_some(c);
        prev = Some(c);
    }
    if in_word {
        let word = Word {
            buf: &buf,
            start,
            end: text.len(),
            after_apostrophe,
            sigil,
        };
        emit(word, &mut tagged, &mut position, &mut sink);
    }
}

struct Word<'a> {
    buf: &'a str,
    start: usize,
    end: usize,
    after_apostrophe: bool,
    sigil: Option<char>,
}

fn emit(w: Word<'_>, tagged: &mut String, position: &mut u32, sink: &mut impl FnMut(Token<'_>)) {
    if w.buf.is_empty() || (w.after_apostrophe && w.buf == "s") {
        return;
    }
    sink(Token {
        text: w.buf,
        start: w.start,
        end: w.end,
        position: *position,
    });
    if let Some(s) = w.sigil {
        tagged.clear();
        tagged.push(s);
        tagged.push_str(w.buf);
        sink(Token {
            text: tagged,
            start: w.start - 1,
            end: w.end,
            position: *position,
        });
    }
    *position += 1;
}

/// Tokenizes into owned tokens.
pub fn tokens(text: &str) -> Vec<OwnedToken> {
    let mut out = Vec::new();
    tokenize(text, |t| {
        out.push(OwnedToken {
            text: t.text.to_string(),
            start: t.start,
            end: t.end,
            position: t.position,
        })
    });
    out
}

/// Collapses runs of spaces (including no-break spaces) into one and runs of line breaks
/// into one (paragraphs stay on their own lines), trims the ends.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    let mut newlines = 0u8;
    for c in s.chars() {
        if c == '\n' || c == '\r' {
            newlines = newlines.saturating_add(if c == '\n' { 1 } else { 0 });
            pending_space = false;
            continue;
        }
        if c.is_whitespace() || c == '\u{a0}' {
            pending_space = true;
            continue;
        }
        if c.is_control() {
            continue;
        }
        if !out.is_empty() {
            if newlines > 0 {
                out.push('\n');
            } else if pending_space {
                out.push(' ');
            }
        }
        newlines = 0;
        pending_space = false;
        out.push(c);
    }
    out
}

/// Cuts `s` to at most `max` bytes on a char boundary, adding "…" when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s[..end].trim_end())
}

/// Removes control characters (CR, LF, escape sequences) from a single-line value such
/// as an email subject or a log field: hostile text must not inject headers.
pub fn single_line(s: &str) -> String {
    collapse_whitespace(
        &s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokens(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn folds_case_accents_and_ligatures() {
        assert_eq!(fold("Dorée"), "doree");
        assert_eq!(fold("ŒUVRE Ægis Straße"), "oeuvre aegis strasse");
        assert_eq!(fold("ﬁlm"), "film");
        assert_eq!(fold("ÉCOLE"), "ecole");
    }

    #[test]
    fn a_letter_whose_decomposition_holds_punctuation_folds_to_letters_only() {
        // ŀ (U+0140) decomposes to "l·": the middle dot would split the word when the
        // folded form is read again.
        assert_eq!(fold("paraŀlel"), "parallel");
        assert_eq!(words("paraŀlel"), vec!["parallel"]);
        assert_eq!(words(&fold("paraŀlel")), words("paraŀlel"));
    }

    #[test]
    fn decomposed_accents_stay_in_the_word() {
        // "e" + combining acute accent, as some feeds send it.
        assert_eq!(words("Dore\u{301}e"), vec!["doree"]);
    }

    #[test]
    fn word_boundaries() {
        assert_eq!(
            words("acme, acmetal! ACME."),
            vec!["acme", "acmetal", "acme"]
        );
    }

    #[test]
    fn elisions_and_possessives() {
        assert_eq!(words("l'Acme d’Acme qu'Acme"), vec!["acme", "acme", "acme"]);
        assert_eq!(words("Acme's new kettle"), vec!["acme", "new", "kettle"]);
        assert_eq!(words("it's a test"), vec!["it", "a", "test"]);
    }

    #[test]
    fn hashtags_and_handles_are_words_too() {
        let t = tokens("Boycott #Acme, cc @acme_fr et x@acme.com");
        let words: Vec<(&str, u32)> = t.iter().map(|t| (t.text.as_str(), t.position)).collect();
        assert_eq!(
            words,
            vec![
                ("boycott", 0),
                ("acme", 1),
                ("#acme", 1),
                ("cc", 2),
                ("acme", 3),
                ("@acme", 3),
                ("fr", 4),
                ("et", 5),
                ("x", 6),
                ("acme", 7),
                ("com", 8)
            ]
        );
        let tag = &t[2];
        assert_eq!(
            &"Boycott #Acme, cc @acme_fr et x@acme.com"[tag.start..tag.end],
            "#Acme"
        );
    }

    #[test]
    fn offsets_point_into_the_original() {
        let text = "Le scandale d'Acmé";
        let t = tokens(text);
        let last = t.last().unwrap();
        assert_eq!(&text[last.start..last.end], "Acmé");
        assert_eq!(last.text, "acme");
        assert_eq!(last.position, 2);
    }

    #[test]
    fn single_line_strips_header_injection() {
        assert_eq!(single_line("Hello\r\nBcc: x@y"), "Hello Bcc: x@y");
    }

    #[test]
    fn truncate_on_char_boundary() {
        assert_eq!(truncate("éééé", 3), "é…");
    }
}
