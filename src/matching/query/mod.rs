//! The brand query language, as community managers write it in the commercial tools:
//!
//! | syntax | meaning |
//! | --- | --- |
//! | `acme` | the word (case, accents, elisions and possessives ignored) |
//! | `"acme corp"` | the words next to each other, in order |
//! | `"acme panne"~5`, `acme NEAR/5 panne` | the words within 5 words of each other, any order |
//! | `boycott*` | words starting with "boycott" |
//! | `#acme`, `@acme` | the hashtag, the handle |
//! | `title:acme`, `text:(a OR b)`, `author:margaux` | only in that part of the mention |
//! | `site:example.com`, `lang:fr`, `source:reddit` | the site (and its subdomains), the language, the source id or kind |
//! | `a AND b`, `a b`, `a OR b`, `a NOT b`, `(…)`; `ET`, `OU`, `SAUF` | boolean logic |
//!
//! Operators are upper case only: "or" is a French word (gold), "et" a common one.
//! Precedence, from tightest: NEAR, NOT directly after AND or `(` (`acme AND NOT fruit`),
//! AND (explicit or implicit), OR, then NOT/SAUF between two expressions, which excludes
//! from everything before it: `a OR b NOT c` means `(a OR b) AND NOT c`, the way users of
//! the commercial tools write exclusions at the end of a query.
//!
//! Words are folded by [`crate::text`] exactly like indexed text, so a query means the
//! same thing live, in search and in rules.
//!
//! The lexer is in `lex.rs`, the parser in `parse.rs`, the tests in `tests.rs`;
//! evaluation is in `eval.rs` and `percolator.rs`.

mod lex;
mod parse;

use lex::lex;
use parse::Parser;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::text;

/// Where a word must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Title or text.
    Any,
    Title,
    Text,
    Author,
}

/// Properties of the mention, not words in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Meta {
    /// The site and its subdomains.
    Site,
    /// Primary language code.
    Lang,
    /// Source id or source kind.
    Source,
}

/// A parsed query. Words are folded (or as written, for [`Query::parse_raw`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    Term {
        field: Field,
        word: String,
    },
    Prefix {
        field: Field,
        prefix: String,
    },
    /// Consecutive words in order (`slop: None`), or all the words within a window of
    /// `len - 1 + slop` positions, in any order.
    Phrase {
        field: Field,
        words: Vec<String>,
        slop: Option<u32>,
    },
    Meta {
        key: Meta,
        value: String,
    },
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

/// Shortest prefix a wildcard accepts: `a*` would match half the language.
pub const MIN_PREFIX: usize = 3;

/// Deepest nesting of parentheses, `NOT` and fields in one query. Real queries nest a
/// few levels; the parser and every walk over a query recurse once per level.
pub const MAX_DEPTH: usize = 64;

/// Most words (terms, phrase words, wildcards, `site:`-like conditions) in one query,
/// like Lucene's 1,024 clauses: a longer list belongs in several brands or topics.
pub const MAX_WORDS: usize = 1024;

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
            depth: 0,
            words: 0,
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
    pub fn has_positive(&self) -> bool {
        match self {
            Query::Term { .. }
            | Query::Prefix { .. }
            | Query::Phrase { .. }
            | Query::Meta { .. } => true,
            Query::And(v) => v.iter().any(Query::has_positive),
            Query::Or(v) => v.iter().all(Query::has_positive),
            Query::Not(_) => false,
        }
    }

    /// Words or phrases of which every matching text contains at least one: what to ask
    /// a search API for, before veille's own matcher checks the results. OR takes the
    /// union; AND takes its most selective part (fewest anchors); NOT and properties of
    /// the mention (site:, lang:) give nothing.
    pub fn anchors(&self) -> Vec<Query> {
        match self {
            Query::Term { word, .. } => vec![Query::Term {
                field: Field::Any,
                word: word.clone(),
            }],
            Query::Prefix { prefix, .. } => vec![Query::Term {
                field: Field::Any,
                word: prefix.clone(),
            }],
            Query::Phrase {
                words, slop: None, ..
            } => vec![Query::Phrase {
                field: Field::Any,
                words: words.clone(),
                slop: None,
            }],
            Query::Phrase { words, .. } => {
                // Proximity: any one of its words will do; the longest is the rarest.
                let w = words
                    .iter()
                    .max_by_key(|w| w.len())
                    .cloned()
                    .unwrap_or_default();
                vec![Query::Term {
                    field: Field::Any,
                    word: w,
                }]
            }
            Query::Meta { .. } => Vec::new(),
            Query::Or(v) => {
                let mut out: Vec<Query> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for q in v {
                    let a = q.anchors();
                    if a.is_empty() {
                        return Vec::new(); // one branch cannot be anchored: none can
                    }
                    for x in a {
                        if seen.insert(x.clone()) {
                            out.push(x);
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
            Query::Term { word, .. } => out.push(word.clone()),
            Query::Prefix { prefix, .. } => out.push(prefix.clone()),
            Query::Phrase { words, .. } => out.extend(words.iter().cloned()),
            Query::Meta { .. } => {}
            Query::And(v) | Query::Or(v) => v.iter().for_each(|q| q.positive_words(out)),
            Query::Not(_) => {}
        }
    }

    /// True when the index can answer the query exactly (no proximity to verify).
    pub fn is_exact_in_index(&self) -> bool {
        match self {
            Query::Phrase { slop: Some(_), .. } => false,
            Query::And(v) | Query::Or(v) => v.iter().all(Query::is_exact_in_index),
            Query::Not(q) => q.is_exact_in_index(),
            _ => true,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Any => "",
            Field::Title => "title:",
            Field::Text => "text:",
            Field::Author => "author:",
        })
    }
}

/// Prints a query so that parsing the text gives the same query back.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Term { field, word } => write!(f, "{field}{word}"),
            Query::Prefix { field, prefix } => write!(f, "{field}{prefix}*"),
            // `#acme NEAR/3 panne`: a quoted phrase would drop the hashtag's `#`.
            Query::Phrase {
                field,
                words,
                slop: Some(s),
            } if words.len() == 2 && words.iter().any(|w| w.starts_with(['#', '@'])) => {
                let k = s.saturating_add(1);
                write!(f, "{field}{} NEAR/{k} {field}{}", words[0], words[1])
            }
            Query::Phrase { field, words, slop } => {
                write!(f, "{field}\"{}\"", words.join(" "))?;
                if let Some(s) = slop {
                    write!(f, "~{s}")?;
                }
                Ok(())
            }
            Query::Meta { key, value } => {
                let k = match key {
                    Meta::Site => "site",
                    Meta::Lang => "lang",
                    Meta::Source => "source",
                };
                if value.contains(char::is_whitespace) {
                    write!(f, "{k}:\"{value}\"")
                } else {
                    write!(f, "{k}:{value}")
                }
            }
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

/// A hint when `input` holds a lower-case operator word (`or`, `and`, `not`, `ou`, `et`,
/// `sauf`) outside quotes: it is searched as a word — by design, "or" and "et" are French
/// words — which is rarely what an English speaker typing `acme or globex` meant.
pub fn operator_hint(input: &str) -> Option<String> {
    let mut quoted = false;
    let mut words = Vec::new();
    let mut word = String::new();
    for c in input.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && c.is_alphabetic() {
            word.push(c);
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    words.push(word);
    let w = words
        .iter()
        .find(|w| matches!(w.as_str(), "or" | "and" | "not" | "ou" | "et" | "sauf"))?;
    Some(format!(
        "`{w}` is searched as a word (operators are upper-case); write {} to use it as an operator",
        w.to_uppercase()
    ))
}
