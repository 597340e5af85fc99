//! A deliberately simple evaluator — linear scans over a word list, brute-force windows —
//! written apart from [`super::eval`] so that property tests can check the fast paths
//! (the percolator, the index) against something obviously right.

use super::query::{Field, Meta, Query};
use crate::mention::Mention;
use crate::text;

pub struct NaiveDoc {
    /// (field: 0 title, 1 text, 2 author; folded word; position)
    words: Vec<(u8, String, u32)>,
    site: String,
    lang: Option<String>,
    source: String,
    kind: String,
}

impl NaiveDoc {
    pub fn of_mention(m: &Mention) -> NaiveDoc {
        let mut words = Vec::new();
        let mut push = |field: u8, s: &str| {
            let base = words
                .iter()
                .filter(|(f, _, _)| *f == field)
                .map(|(_, _, p)| p + 2) // one empty position between values, as tantivy
                .max()
                .unwrap_or(0);
            for t in text::tokens(s) {
                words.push((field, t.text, base + t.position));
            }
        };
        push(0, &m.title);
        push(1, &m.text);
        if let Some(a) = &m.author {
            push(2, a);
        }
        if let Some(a) = &m.author_name {
            push(2, a);
        }
        NaiveDoc {
            words,
            site: m.site.clone(),
            lang: m.language.clone(),
            source: m.source.clone(),
            kind: m.source_kind.clone(),
        }
    }

    fn fields(f: Field) -> Vec<u8> {
        match f {
            Field::Any => vec![0, 1],
            Field::Title => vec![0],
            Field::Text => vec![1],
            Field::Author => vec![2],
        }
    }

    fn at(&self, f: u8, w: &str, p: u32) -> bool {
        self.words
            .iter()
            .any(|(ff, ww, pp)| *ff == f && ww == w && *pp == p)
    }

    pub fn eval(&self, q: &Query) -> bool {
        match q {
            Query::Term { field, word } => Self::fields(*field)
                .iter()
                .any(|f| self.words.iter().any(|(ff, w, _)| ff == f && w == word)),
            Query::Prefix { field, prefix } => Self::fields(*field).iter().any(|f| {
                self.words
                    .iter()
                    .any(|(ff, w, _)| ff == f && w.starts_with(prefix.as_str()))
            }),
            Query::Phrase {
                field,
                words,
                slop: None,
            } => Self::fields(*field).iter().any(|&f| {
                self.words
                    .iter()
                    .filter(|(ff, w, _)| *ff == f && *w == words[0])
                    .any(|(_, _, p)| {
                        words
                            .iter()
                            .enumerate()
                            .all(|(i, w)| self.at(f, w, p + i as u32))
                    })
            }),
            Query::Phrase {
                field,
                words,
                slop: Some(s),
            } => {
                let span = (words.len() as u32 - 1).saturating_add(*s);
                Self::fields(*field).iter().any(|&f| {
                    // Try every window starting at a word of the field.
                    self.words
                        .iter()
                        .filter(|(ff, _, _)| *ff == f)
                        .any(|(_, _, start)| {
                            words.iter().all(|w| {
                                let need = words.iter().filter(|x| *x == w).count();
                                let have = self
                                    .words
                                    .iter()
                                    .filter(|(ff, ww, p)| {
                                        *ff == f
                                            && ww == w
                                            && *p >= *start
                                            && *p <= start.saturating_add(span)
                                    })
                                    .count();
                                have >= need
                            })
                        })
                })
            }
            Query::Meta {
                key: Meta::Site,
                value,
            } => self.site == *value || self.site.ends_with(&format!(".{value}")),
            Query::Meta {
                key: Meta::Lang,
                value,
            } => self.lang.as_deref().is_some_and(|l| {
                l.split(['-', '_'])
                    .next()
                    .unwrap_or("")
                    .eq_ignore_ascii_case(value)
            }),
            Query::Meta {
                key: Meta::Source,
                value,
            } => self.source.eq_ignore_ascii_case(value) || self.kind.eq_ignore_ascii_case(value),
            Query::And(v) => v.iter().all(|q| self.eval(q)),
            Query::Or(v) => v.iter().any(|q| self.eval(q)),
            Query::Not(q) => !self.eval(q),
        }
    }
}
