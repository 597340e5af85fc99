//! An alert's excerpts: the words of a mention that made a rule fire, highlighted in a
//! window of its text. Built here, with the tokenizer matching uses, when a rule raises
//! an alert; the alert then carries them as plain pieces each notifier escapes.

use crate::mention::Mention;
use crate::model::alert::{AlertMention, Fragment};
use crate::text;

/// Length of an excerpt, in bytes of the original text (about two lines).
pub const EXCERPT_LEN: usize = 280;

impl AlertMention {
    /// The mention as an alert shows it, its excerpt cut around the words that matched
    /// `brand` (and `extra_terms`, those of the rule's own query).
    pub fn new(m: &Mention, brand: &str, extra_terms: &[String]) -> Self {
        let mut terms: Vec<String> = m.hit(brand).map(|h| h.terms.clone()).unwrap_or_default();
        terms.extend(extra_terms.iter().cloned());
        terms.sort();
        terms.dedup();
        let body = if m.text.is_empty() { &m.title } else { &m.text };
        AlertMention {
            id: m.id.clone(),
            title: if m.title.is_empty() {
                text::truncate(&m.text, 80)
            } else {
                m.title.clone()
            },
            url: m.url.clone(),
            site: m.site.clone(),
            source: m.source.clone(),
            author: m.author.clone(),
            author_name: m.author_name.clone(),
            published_at: m.published_at,
            reach: m.reach,
            sentiment: m.sentiment,
            language: m.language.clone(),
            excerpt: excerpt(body, &terms, EXCERPT_LEN),
            terms,
        }
    }
}

/// Cuts a window of about `max` bytes around the first matched word, split into
/// highlighted and plain pieces.
pub fn excerpt(body: &str, terms: &[String], max: usize) -> Vec<Fragment> {
    let mut hits = Vec::new();
    text::tokenize(body, |t| {
        if terms.iter().any(|x| x == t.text) {
            hits.push((t.start, t.end));
        }
    });
    let floor = |mut i: usize| {
        while !body.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let mut start = match hits.first() {
        Some(&(s, _)) if s > max / 3 => floor(s - max / 3),
        _ => 0,
    };
    // Start on a word boundary.
    if start > 0
        && let Some(sp) = body[start..].find(char::is_whitespace)
        && sp < 30
    {
        start += sp + 1;
    }
    let end = floor((start + max).min(body.len()));
    let mut out = Vec::new();
    let mut push = |text: &str, hit: bool| {
        if !text.is_empty() {
            out.push(Fragment {
                text: text.to_string(),
                hit,
            });
        }
    };
    if start > 0 {
        push("…", false);
    }
    let mut cursor = start;
    for &(s, e) in hits.iter().filter(|&&(s, e)| s >= start && e <= end) {
        push(&body[cursor..s], false);
        push(&body[s..e], true);
        cursor = e;
    }
    push(&body[cursor..end], false);
    if end < body.len() {
        push("…", false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: &[Fragment]) -> String {
        f.iter()
            .map(|f| {
                if f.hit {
                    format!("[{}]", f.text)
                } else {
                    f.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn highlights_folded_terms_in_original_text() {
        let f = excerpt(
            "Le SCANDALE Acmé continue",
            &["acme".into(), "scandale".into()],
            200,
        );
        assert_eq!(render(&f), "Le [SCANDALE] [Acmé] continue");
    }

    #[test]
    fn window_around_first_hit() {
        let body = format!("{} acme {}", "blabla ".repeat(100), "fin ".repeat(100));
        let r = render(&excerpt(&body, &["acme".into()], 100));
        assert!(r.starts_with('…') && r.ends_with('…'), "{r}");
        assert!(r.contains("[acme]"));
        assert!(r.len() < 120, "{}", r.len());
    }

    #[test]
    fn no_hit_gives_the_beginning() {
        assert_eq!(render(&excerpt("court", &[], 100)), "court");
    }
}
