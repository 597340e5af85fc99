//! What the sentiment of a mention is read from: toward the brand, not the page.
//!
//! A long article that praises the brand in one paragraph and covers a war in the others
//! is not "negative for the brand". For a text longer than a couple of sentences, the
//! sentiment is read from the sentences holding the brand's matched terms and their
//! neighbours (the title too when it names the brand); the whole text is the fallback
//! when no matched term is known (unmatched mentions kept with `keep_unmatched`).

use crate::mention::BrandHit;

/// Texts of at most this many sentences are read whole.
const SHORT: usize = 3;
/// Sentences kept on each side of a sentence with a matched term.
const AROUND: usize = 1;
/// At most this many bytes are read (the start of a long text without matched terms, or
/// of many brand sentences): the cost per mention stays bounded.
pub const MAX_BYTES: usize = 4000;

/// Byte ranges of the sentences of `text`: a sentence ends at `.`, `!`, `?`, `…` or a line
/// break followed by white space (or the end).
pub fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end_mark = matches!(c, '.' | '!' | '?' | '…' | '\n');
        if !end_mark {
            continue;
        }
        // Runs of marks ("?!", "...") end one sentence.
        while let Some(&(_, n)) = chars.peek() {
            if matches!(n, '.' | '!' | '?' | '…' | '"' | '»' | ')' | '\u{201d}') {
                chars.next();
            } else {
                break;
            }
        }
        let after = chars.peek().map(|&(j, _)| j).unwrap_or(text.len());
        let followed_by_space = chars.peek().is_none_or(|&(_, n)| n.is_whitespace());
        if (c == '\n' || followed_by_space) && !text[start..after].trim().is_empty() {
            out.push((start, after));
            start = after;
        }
        let _ = i;
    }
    if !text[start..].trim().is_empty() {
        out.push((start, text.len()));
    }
    out
}

/// The text to read the sentiment from: `title` and `text`, or for a long text the
/// sentences around the brands' matched terms.
pub fn around_brands(title: &str, text: &str, hits: &[BrandHit]) -> String {
    let spans = hits.iter().flat_map(|h| h.spans.iter());
    let in_title = spans.clone().any(|&(f, ..)| f == 0);
    let in_text: Vec<usize> = spans
        .filter(|&&(f, ..)| f == 1)
        .map(|&(_, s, _)| s as usize)
        .collect();
    let sents = sentences(text);
    let mut out = String::with_capacity(text.len().min(MAX_BYTES) + title.len() + 2);
    let push = |out: &mut String, s: &str| {
        let s = s.trim();
        if s.is_empty() || out.len() >= MAX_BYTES {
            return;
        }
        if !out.is_empty() {
            out.push_str(if out.ends_with(['.', '!', '?', '…']) {
                " "
            } else {
                ". "
            });
        }
        let mut end = s.len().min(MAX_BYTES - out.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&s[..end]);
    };
    if sents.len() <= SHORT || in_text.is_empty() && !in_title {
        // Short, or no matched term in it: the whole of it.
        push(&mut out, title);
        push(&mut out, text);
        return out;
    }
    if in_title {
        push(&mut out, title);
    }
    let mut keep = vec![false; sents.len()];
    for start in in_text {
        if let Some(k) = sents.iter().position(|&(a, b)| a <= start && start < b) {
            for flag in &mut keep[k.saturating_sub(AROUND)..=(k + AROUND).min(sents.len() - 1)] {
                *flag = true;
            }
        }
    }
    for (k, &(a, b)) in sents.iter().enumerate() {
        if keep[k] {
            push(&mut out, &text[a..b]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str, term: &str) -> BrandHit {
        let spans = text
            .match_indices(term)
            .map(|(i, m)| (1u8, i as u32, (i + m.len()) as u32))
            .collect();
        BrandHit {
            brand: "acme".into(),
            terms: vec![term.to_lowercase()],
            spans,
        }
    }

    #[test]
    fn splits_sentences_on_marks_followed_by_space() {
        let t = "Il pleut. Acme v2.0 sort demain ! Vraiment ?! Oui…\nFin";
        let s: Vec<&str> = sentences(t).iter().map(|&(a, b)| t[a..b].trim()).collect();
        assert_eq!(
            s,
            [
                "Il pleut.",
                "Acme v2.0 sort demain !",
                "Vraiment ?!",
                "Oui…",
                "Fin"
            ]
        );
    }

    #[test]
    fn a_short_text_is_read_whole() {
        let t = "Acme est génial. La guerre est horrible.";
        assert_eq!(
            around_brands("Titre", t, &[hit(t, "Acme")]),
            format!("Titre. {t}")
        );
    }

    #[test]
    fn a_long_text_is_read_around_the_brand() {
        let t = "La guerre a fait des centaines de morts. Les bombardements continuent. \
                 Les réfugiés fuient. Acme a ouvert une cantine pour les réfugiés. \
                 Les bénévoles sont ravis. Le conflit s'enlise. Les négociations échouent.";
        let got = around_brands("Guerre : le bilan s'alourdit", t, &[hit(t, "Acme")]);
        assert_eq!(
            got,
            "Les réfugiés fuient. Acme a ouvert une cantine pour les réfugiés. Les bénévoles sont ravis."
        );
        // No matched term known: the whole text (title first).
        assert!(around_brands("T", t, &[]).starts_with("T. La guerre"));
    }

    #[test]
    fn what_is_read_is_bounded() {
        let t = "Acme est là. ".repeat(5000);
        assert!(around_brands("", &t, &[hit(&t, "Acme")]).len() <= MAX_BYTES);
        assert!(around_brands("", &t, &[]).len() <= MAX_BYTES);
    }
}
