//! Brand queries into tantivy queries, term for term with the live matcher: exact for
//! everything but proximity, where the index narrows the candidates the matcher's own
//! evaluator then checks.

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query as TQuery, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::MentionIndex;
use crate::matching::{Field as QField, Meta, Query};

impl MentionIndex {
    fn words_fields(&self, f: QField) -> Vec<Field> {
        match f {
            QField::Any => vec![self.f.title, self.f.text],
            QField::Title => vec![self.f.title],
            QField::Text => vec![self.f.text],
            QField::Author => vec![self.f.author],
        }
    }

    /// A tantivy query matching at least every mention `q` matches (`over`), or at most
    /// those (`!over`). Both are exact for everything but proximity, which the index
    /// cannot express with veille's semantics: there the candidates are verified with the
    /// matcher's own evaluator (see [`MentionIndex::search`]).
    pub fn translate(&self, q: &Query, over: bool) -> Box<dyn TQuery> {
        match q {
            Query::Term { field, word } => either(self.words_fields(*field).into_iter().map(|f| {
                Box::new(TermQuery::new(
                    Term::from_field_text(f, word),
                    IndexRecordOption::WithFreqs,
                )) as Box<dyn TQuery>
            })),
            Query::Prefix { field, prefix } => {
                either(self.words_fields(*field).into_iter().map(|f| {
                    let pattern = format!("{}.*", escape_regex(prefix));
                    match RegexQuery::from_pattern(&pattern, f) {
                        Ok(r) => Box::new(r) as Box<dyn TQuery>,
                        Err(_) => Box::new(EmptyQuery),
                    }
                }))
            }
            Query::Phrase {
                field,
                words,
                slop: None,
            } => either(self.words_fields(*field).into_iter().map(|f| {
                let terms = words.iter().map(|w| Term::from_field_text(f, w)).collect();
                Box::new(PhraseQuery::new(terms)) as Box<dyn TQuery>
            })),
            Query::Phrase {
                field,
                words,
                slop: slop @ Some(_),
            } => {
                if !over {
                    return Box::new(EmptyQuery);
                }
                either(
                    self.words_fields(*field)
                        .into_iter()
                        .map(|f| near_candidates(f, words, *slop)),
                )
            }
            Query::Meta { key, value } => match key {
                Meta::Site => term_query(self.f.site, value),
                Meta::Lang => term_query(self.f.lang, value),
                Meta::Source => either(
                    [
                        term_query(self.f.source, value),
                        term_query(self.f.source_kind, value),
                    ]
                    .into_iter(),
                ),
            },
            Query::And(v) => {
                let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = v
                    .iter()
                    .map(|sub| match sub {
                        Query::Not(inner) => (Occur::MustNot, self.translate(inner, !over)),
                        other => (Occur::Must, self.translate(other, over)),
                    })
                    .collect();
                if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Query::Or(v) => either(v.iter().map(|sub| self.translate(sub, over))),
            // A lone NOT: everything except.
            Query::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn TQuery>),
                (Occur::MustNot, self.translate(inner, !over)),
            ])),
        }
    }
}

/// Escapes a folded word for tantivy's regex syntax.
fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !c.is_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Documents that may hold `words` within veille's window (every word within
/// `len - 1 + slop` positions of the others, any order, in one field): at least those,
/// few more. Each pair of distinct words must be near in the index's own positions — a
/// tantivy phrase of the two with a slop that admits both orders (a transposition costs
/// two) — which cuts the candidates the evaluator then checks from "every document with
/// the words" to "the documents where they are close" (`http NEAR/5 removed` loaded
/// 330,000 documents at a million mentions). Past six words the pairs would cost more
/// than they save: every word in the field.
fn near_candidates(f: Field, words: &[String], slop: Option<u32>) -> Box<dyn TQuery> {
    let span = (words.len() as u32)
        .saturating_sub(1)
        .saturating_add(slop.unwrap_or(0));
    let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = words
        .iter()
        .map(|w| (Occur::Must, term_query(f, w)))
        .collect();
    if words.len() <= 6 {
        for (i, a) in words.iter().enumerate() {
            for b in words.iter().skip(i + 1).filter(|b| *b != a) {
                let pair = vec![
                    (0, Term::from_field_text(f, a)),
                    (1, Term::from_field_text(f, b)),
                ];
                // B one position after A costs nothing; B `d` before A costs `d + 1`.
                let q = PhraseQuery::new_with_offset_and_slop(pair, span.saturating_add(1));
                clauses.push((Occur::Must, Box::new(q)));
            }
        }
    }
    Box::new(BooleanQuery::new(clauses))
}

pub(super) fn either(qs: impl Iterator<Item = Box<dyn TQuery>>) -> Box<dyn TQuery> {
    Box::new(BooleanQuery::new(qs.map(|q| (Occur::Should, q)).collect()))
}

pub(super) fn term_query(field: Field, value: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}
