//! The brand query language: terms, "quoted phrases", AND / OR / NOT (and the French
//! ET / OU / SAUF), parentheses, implicit AND between terms.
//!
//! Operators are upper case only: "or" is a French word (gold), "et" a common one.
//!
//! Precedence, from tightest: NOT directly after AND or `(` (`acme AND NOT fruit`), then
//! AND (explicit or implicit), then OR, then NOT/SAUF used between two expressions, which
//! excludes from everything before it: `a OR b NOT c` means `(a OR b) AND NOT c`, the way
//! users of the commercial tools write exclusions at the end of a query.
//! Words are folded by [`crate::text`] exactly like indexed text, so a query means the
//! same thing live, in search and in rules.

use std::fmt;

use crate::text;

/// A parsed query. Terms hold folded words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// One folded word.
    Term(String),
    /// Consecutive folded words (two or more).
    Phrase(Vec<String>),
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
}

/// A query that does not parse: where (0-based character column) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {}: {message}", column + 1)]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Phrase(String),
    LParen,
    RParen,
    And,
    Or,
    Not,
}

/// (token, character column)
fn lex(input: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push((Tok::LParen, i));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, i));
                i += 1;
            }
            '"' | '“' | '”' | '«' | '»' => {
                let start = i;
                let close: &[char] = match c {
                    '«' => &['»'],
                    '“' => &['”', '"'],
                    _ => &['"', '”'],
                };
                i += 1;
                let mut s = String::new();
                while i < chars.len() && !close.contains(&chars[i]) {
                    s.push(chars[i]);
                    i += 1;
                }
                if i == chars.len() {
                    return Err(QueryError {
                        column: start,
                        message: "unterminated phrase: expected a closing quote".into(),
                    });
                }
                i += 1;
                out.push((Tok::Phrase(s), start));
            }
            _ => {
                let start = i;
                let mut s = String::new();
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '"' | '“' | '”' | '«' | '»')
                {
                    s.push(chars[i]);
                    i += 1;
                }
                let tok = match s.as_str() {
                    "AND" | "ET" => Tok::And,
                    "OR" | "OU" => Tok::Or,
                    "NOT" | "SAUF" => Tok::Not,
                    _ => Tok::Word(s),
                };
                out.push((tok, start));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    /// Keep words as written (accents, case) instead of folding them: used to build the
    /// search queries sent to source APIs.
    raw: bool,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn column(&self) -> usize {
        self.toks.get(self.pos).map(|(_, c)| *c).unwrap_or(self.end)
    }
    fn err<T>(&self, message: impl Into<String>) -> Result<T, QueryError> {
        Err(QueryError {
            column: self.column(),
            message: message.into(),
        })
    }

    /// `or_expr (NOT or_expr)*`: the lowest-precedence "except".
    fn expr(&mut self) -> Result<Query, QueryError> {
        let mut q = self.or_expr()?;
        let mut excluded = Vec::new();
        while self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            excluded.push(Query::Not(Box::new(self.or_expr()?)));
        }
        if !excluded.is_empty() {
            let mut parts = match q {
                Query::And(v) => v,
                other => vec![other],
            };
            parts.extend(excluded);
            q = Query::And(parts);
        }
        Ok(q)
    }

    fn or_expr(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.and_expr()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Query::Or(parts)
        })
    }

    fn and_expr(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    parts.push(self.unary()?);
                }
                // Implicit AND: `acme panne`, `acme (a OR b)`. A bare NOT is left to
                // `expr`, where it excludes from the whole expression.
                Some(Tok::Word(_) | Tok::Phrase(_) | Tok::LParen) => {
                    parts.push(self.unary()?);
                }
                _ => break,
            }
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Query::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Query::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Query, QueryError> {
        let column = self.column();
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                if self.peek() == Some(&Tok::RParen) {
                    return self.err("empty parentheses: expected a term or a phrase");
                }
                let q = self.expr()?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.err("expected `)` to close the parenthesis");
                }
                self.pos += 1;
                Ok(q)
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                words_query(&w, self.raw).ok_or(QueryError {
                    column,
                    message: format!("`{w}` has no letters or digits: expected a word"),
                })
            }
            Some(Tok::Phrase(p)) => {
                self.pos += 1;
                words_query(&p, self.raw).ok_or(QueryError {
                    column,
                    message: "empty phrase: expected words between the quotes".into(),
                })
            }
            Some(Tok::RParen) => self.err("unexpected `)`: expected a term, a phrase or `(`"),
            Some(Tok::And | Tok::Or) => {
                self.err("expected a term, a phrase or `(` before this operator")
            }
            Some(Tok::Not) => unreachable!("handled in unary"),
            None => self.err("unexpected end of query: expected a term, a phrase or `(`"),
        }
    }
}

/// A word or phrase as the tokenizer sees it: one token is a term, several a phrase.
fn words_query(s: &str, raw: bool) -> Option<Query> {
    let mut words: Vec<String> = text::tokens(s)
        .into_iter()
        .map(|t| {
            if raw {
                s[t.start..t.end].to_string()
            } else {
                t.text
            }
        })
        .collect();
    match words.len() {
        0 => None,
        1 => Some(Query::Term(words.pop().unwrap())),
        _ => Some(Query::Phrase(words)),
    }
}

impl Query {
    /// Parses a query; the error points at the column where it went wrong.
    pub fn parse(input: &str) -> Result<Query, QueryError> {
        Query::parse_with(input, false)
    }

    /// Parses keeping words as written (for search queries sent to source APIs).
    pub fn parse_raw(input: &str) -> Result<Query, QueryError> {
        Query::parse_with(input, true)
    }

    fn parse_with(input: &str, raw: bool) -> Result<Query, QueryError> {
        let toks = lex(input)?;
        let mut p = Parser {
            toks,
            pos: 0,
            end: input.chars().count(),
            raw,
        };
        if p.peek().is_none() {
            return p.err("empty query: expected a term or a phrase");
        }
        let q = p.expr()?;
        if p.pos < p.toks.len() {
            return p.err("unexpected `)`: no parenthesis is open here");
        }
        if !q.has_positive() {
            return Err(QueryError {
                column: 0,
                message: "the query only excludes: expected at least one term that must match"
                    .into(),
            });
        }
        Ok(q)
    }

    /// True when the query can match without being only a negation.
    fn has_positive(&self) -> bool {
        match self {
            Query::Term(_) | Query::Phrase(_) => true,
            Query::And(v) => v.iter().any(Query::has_positive),
            Query::Or(v) => v.iter().all(Query::has_positive),
            Query::Not(_) => false,
        }
    }

    /// Words or phrases of which every matching text contains at least one: what to ask
    /// a search API for, before veille's own matcher checks the results. OR takes the
    /// union; AND takes its most selective part (fewest anchors); NOT gives nothing.
    pub fn anchors(&self) -> Vec<Query> {
        match self {
            Query::Term(_) | Query::Phrase(_) => vec![self.clone()],
            Query::Or(v) => {
                let mut out: Vec<Query> = Vec::new();
                for q in v {
                    for a in q.anchors() {
                        if !out.contains(&a) {
                            out.push(a);
                        }
                    }
                }
                out
            }
            Query::And(v) => v
                .iter()
                .map(Query::anchors)
                .filter(|a| !a.is_empty())
                .min_by_key(Vec::len)
                .unwrap_or_default(),
            Query::Not(_) => Vec::new(),
        }
    }

    /// Every positive word of the query (not under NOT), for highlighting.
    pub fn positive_words(&self, out: &mut Vec<String>) {
        match self {
            Query::Term(t) => out.push(t.clone()),
            Query::Phrase(p) => out.extend(p.iter().cloned()),
            Query::And(v) | Query::Or(v) => v.iter().for_each(|q| q.positive_words(out)),
            Query::Not(_) => {}
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Term(t) => write!(f, "{t}"),
            Query::Phrase(p) => write!(f, "\"{}\"", p.join(" ")),
            Query::And(v) | Query::Or(v) => {
                let op = if matches!(self, Query::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                write!(f, "(")?;
                for (i, q) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    write!(f, "{q}")?;
                }
                write!(f, ")")
            }
            Query::Not(q) => write!(f, "NOT {q}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Query {
        Query::Term(s.into())
    }

    #[test]
    fn parses_the_design_example() {
        let q = Query::parse(r#""acme corp" OR (acme AND (produit OR service)) NOT "road runner""#)
            .unwrap();
        // The trailing NOT excludes "road runner" from the whole query.
        assert_eq!(
            q,
            Query::And(vec![
                Query::Or(vec![
                    Query::Phrase(vec!["acme".into(), "corp".into()]),
                    Query::And(vec![t("acme"), Query::Or(vec![t("produit"), t("service")])]),
                ]),
                Query::Not(Box::new(Query::Phrase(vec![
                    "road".into(),
                    "runner".into()
                ]))),
            ])
        );
    }

    #[test]
    fn implicit_and_and_french_operators() {
        assert_eq!(
            Query::parse("Dorée panne").unwrap(),
            Query::And(vec![t("doree"), t("panne")])
        );
        assert_eq!(
            Query::parse("acme OU globex SAUF fruit OR tarte").unwrap(),
            Query::And(vec![
                Query::Or(vec![t("acme"), t("globex")]),
                Query::Not(Box::new(Query::Or(vec![t("fruit"), t("tarte")])))
            ])
        );
        assert_eq!(
            Query::parse("(acme AND NOT fruit) OR globex").unwrap(),
            Query::Or(vec![
                Query::And(vec![t("acme"), Query::Not(Box::new(t("fruit")))]),
                t("globex")
            ])
        );
    }

    #[test]
    fn lower_case_or_is_a_word() {
        assert_eq!(
            Query::parse("acme or").unwrap(),
            Query::And(vec![t("acme"), t("or")])
        );
    }

    #[test]
    fn hyphenated_word_is_a_phrase() {
        assert_eq!(
            Query::parse("wi-fi").unwrap(),
            Query::Phrase(vec!["wi".into(), "fi".into()])
        );
    }

    #[test]
    fn anchors_cover_every_match() {
        let q =
            Query::parse_raw(r#""Acme Corp" OR (Acme AND (produit OR service)) NOT "road runner""#)
                .unwrap();
        assert_eq!(
            q.anchors(),
            vec![
                Query::Phrase(vec!["Acme".into(), "Corp".into()]),
                Query::Term("Acme".into())
            ]
        );
        let q = Query::parse_raw("(Dorée OR doree) AND (panne OR bug OR arnaque)").unwrap();
        assert_eq!(
            q.anchors(),
            vec![Query::Term("Dorée".into()), Query::Term("doree".into())]
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = Query::parse("acme AND (panne OR").unwrap_err();
        assert_eq!(e.column, 18);
        assert!(e.message.contains("expected a term"), "{e}");
        let e = Query::parse("acme \"panne").unwrap_err();
        assert_eq!(e.column, 5);
        let e = Query::parse("acme )").unwrap_err();
        assert_eq!(e.column, 5);
        let e = Query::parse("NOT acme").unwrap_err();
        assert!(e.message.contains("only excludes"));
        let e = Query::parse("(acme").unwrap_err();
        assert!(e.message.contains("expected `)`"), "{e}");
    }
}
