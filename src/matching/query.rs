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
//! Over 500 lines: the query language's lexer, parser and error messages (about 800
//! lines) with their tests; evaluation is in `eval.rs` and `percolator.rs`.

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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Phrase(String, Option<u32>),
    /// `title:`, `site:`… (the value follows)
    Field(String),
    LParen,
    RParen,
    And,
    Or,
    Not,
    Near(u32),
}

const FIELDS: &[&str] = &["title", "text", "author", "site", "lang", "source"];

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '«' | '»')
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
            c if is_quote(c) => {
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
                let mut slop = None;
                if i < chars.len() && chars[i] == '~' {
                    let digits: String = chars[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    if digits.is_empty() {
                        return Err(QueryError {
                            column: i,
                            message: "expected a number of words after `~`, like \"acme panne\"~5"
                                .into(),
                        });
                    }
                    slop = Some(digits.parse().map_err(|_| QueryError {
                        column: i + 1,
                        message: "proximity too large".into(),
                    })?);
                    i += 1 + digits.len();
                }
                out.push((Tok::Phrase(s, slop), start));
            }
            _ => {
                let start = i;
                let mut s = String::new();
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')')
                    && !is_quote(chars[i])
                {
                    s.push(chars[i]);
                    i += 1;
                    // `title:` ends a token: its value (word, phrase, group) follows. (Only
                    // short tokens can be a field: `a:::…` stays linear.)
                    if chars[i - 1] == ':'
                        && s.len() <= "source:".len()
                        && FIELDS.contains(&s[..s.len() - 1].to_ascii_lowercase().as_str())
                    {
                        break;
                    }
                }
                let tok = match s.as_str() {
                    "AND" | "ET" => Tok::And,
                    "OR" | "OU" => Tok::Or,
                    "NOT" | "SAUF" => Tok::Not,
                    w if w.starts_with("NEAR/")
                        || w.starts_with("PRES/")
                        || w.starts_with("PRÈS/") =>
                    {
                        let n = w.split('/').nth(1).unwrap_or("");
                        Tok::Near(n.parse().map_err(|_| QueryError {
                            column: start,
                            message: format!("`{w}`: expected a number of words, like NEAR/5"),
                        })?)
                    }
                    w if w.ends_with(':')
                        && FIELDS.contains(&w[..w.len() - 1].to_ascii_lowercase().as_str()) =>
                    {
                        Tok::Field(w[..w.len() - 1].to_ascii_lowercase())
                    }
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
    /// Nesting of the group being parsed (see [`MAX_DEPTH`]).
    depth: usize,
    /// Words so far (see [`MAX_WORDS`]).
    words: usize,
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

    /// One level deeper (a parenthesis, a `NOT`, a field), refused past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!(
                "parentheses, NOT and fields nested more than {MAX_DEPTH} deep: write the query flatter"
            ));
        }
        Ok(())
    }

    /// Counts the words of a new part of the query, refused past [`MAX_WORDS`].
    fn count(&mut self, q: Query, column: usize) -> Result<Query, QueryError> {
        self.words += match &q {
            Query::Phrase { words, .. } => words.len(),
            _ => 1,
        };
        if self.words > MAX_WORDS {
            return Err(QueryError {
                column,
                message: format!(
                    "more than {MAX_WORDS} words in one query: split it into several brands or topics"
                ),
            });
        }
        Ok(q)
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
        let mut parts = vec![self.near_expr()?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    parts.push(self.near_expr()?);
                }
                // Implicit AND: `acme panne`, `acme (a OR b)`. A bare NOT is left to
                // `expr`, where it excludes from the whole expression.
                Some(Tok::Word(_) | Tok::Phrase(..) | Tok::LParen | Tok::Field(_)) => {
                    parts.push(self.near_expr()?);
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

    /// `word NEAR/k word`.
    fn near_expr(&mut self) -> Result<Query, QueryError> {
        let left_col = self.column();
        let left = self.unary()?;
        let Some(Tok::Near(k)) = self.peek().cloned() else {
            return Ok(left);
        };
        self.pos += 1;
        let right_col = self.column();
        let right = self.unary()?;
        let word = |q: &Query, col: usize| match q {
            Query::Term { field, word } => Ok((*field, word.clone())),
            _ => Err(QueryError {
                column: col,
                message: "NEAR joins two words: for phrases write \"acme panne\"~5".into(),
            }),
        };
        let (fa, a) = word(&left, left_col)?;
        let (fb, b) = word(&right, right_col)?;
        if fa != fb {
            return Err(QueryError {
                column: right_col,
                message: "both sides of NEAR must be in the same field".into(),
            });
        }
        if k == 0 {
            return Err(QueryError {
                column: right_col,
                message: "NEAR/0 is empty: expected NEAR/1 or more".into(),
            });
        }
        if matches!(self.peek(), Some(Tok::Near(_))) {
            return self.err("one NEAR at a time: for more words write \"a b c\"~5");
        }
        // Within k words of each other: a window of 2 positions plus k − 1.
        Ok(Query::Phrase {
            field: fa,
            words: vec![a, b],
            slop: Some(k - 1),
        })
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        if self.peek() == Some(&Tok::Not) {
            self.enter()?;
            self.pos += 1;
            let q = Query::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(q);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Query, QueryError> {
        let column = self.column();
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.enter()?;
                self.pos += 1;
                if self.peek() == Some(&Tok::RParen) {
                    return self.err("empty parentheses: expected a term or a phrase");
                }
                let q = self.expr()?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.err("expected `)` to close the parenthesis");
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(q)
            }
            Some(Tok::Field(f)) => {
                self.enter()?;
                self.pos += 1;
                let vcol = self.column();
                match f.as_str() {
                    "site" | "lang" | "source" => {
                        let value = match self.peek().cloned() {
                            Some(Tok::Word(w)) => w,
                            Some(Tok::Phrase(p, None)) => p,
                            _ => {
                                return self.err(format!(
                                    "expected a value after `{f}:`, like {f}:{}",
                                    example(&f)
                                ));
                            }
                        };
                        self.pos += 1;
                        let key = match f.as_str() {
                            "site" => Meta::Site,
                            "lang" => Meta::Lang,
                            _ => Meta::Source,
                        };
                        let mut value = value.trim().to_lowercase();
                        if key == Meta::Site {
                            value = value
                                .trim_start_matches("https://")
                                .trim_start_matches("http://")
                                .trim_start_matches("www.")
                                .trim_end_matches('/')
                                .to_string();
                        }
                        if value.is_empty() {
                            return Err(QueryError {
                                column: vcol,
                                message: format!("empty value for `{f}:`"),
                            });
                        }
                        self.depth -= 1;
                        self.count(Query::Meta { key, value }, column)
                    }
                    _ => {
                        let field = match f.as_str() {
                            "title" => Field::Title,
                            "text" => Field::Text,
                            _ => Field::Author,
                        };
                        if matches!(
                            self.peek(),
                            None | Some(Tok::RParen | Tok::And | Tok::Or | Tok::Not | Tok::Near(_))
                        ) {
                            return self
                                .err(format!("expected a word, a phrase or `(` after `{f}:`"));
                        }
                        let inner = self.primary()?;
                        self.depth -= 1;
                        set_field(inner, field).map_err(|message| QueryError {
                            column: vcol,
                            message,
                        })
                    }
                }
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                let q = self.word(&w, column)?;
                self.count(q, column)
            }
            Some(Tok::Phrase(p, slop)) => {
                self.pos += 1;
                let words = words_of(&p, self.raw);
                let q = match (words.len(), slop) {
                    (0, _) => Err(QueryError {
                        column,
                        message: "empty phrase: expected words between the quotes".into(),
                    }),
                    (1, _) => Ok(Query::Term {
                        field: Field::Any,
                        word: words.into_iter().next().unwrap(),
                    }),
                    (_, slop) => Ok(Query::Phrase {
                        field: Field::Any,
                        words,
                        slop,
                    }),
                }?;
                self.count(q, column)
            }
            Some(Tok::RParen) => self.err("unexpected `)`: expected a term, a phrase or `(`"),
            Some(Tok::And | Tok::Or) => {
                self.err("expected a term, a phrase or `(` before this operator")
            }
            Some(Tok::Near(_)) => self.err("expected a word before NEAR"),
            Some(Tok::Not) => unreachable!("handled in unary"),
            None => self.err("unexpected end of query: expected a term, a phrase or `(`"),
        }
    }

    fn word(&self, w: &str, column: usize) -> Result<Query, QueryError> {
        // #hashtag and @handle are words of their own.
        if let Some(rest) = w.strip_prefix('#').or_else(|| w.strip_prefix('@')) {
            let sigil = &w[..1];
            let inner = words_of(rest, self.raw);
            return match inner.len() {
                1 => Ok(Query::Term {
                    field: Field::Any,
                    word: format!("{sigil}{}", inner[0]),
                }),
                _ => Err(QueryError {
                    column,
                    message: format!("`{w}`: expected letters or digits after `{sigil}`"),
                }),
            };
        }
        if let Some(stem) = w.strip_suffix('*') {
            let inner = words_of(stem, self.raw);
            return match inner.len() {
                1 if inner[0].chars().count() >= MIN_PREFIX => Ok(Query::Prefix {
                    field: Field::Any,
                    prefix: inner[0].clone(),
                }),
                1 | 0 => Err(QueryError {
                    column,
                    message: format!(
                        "`{w}`: a wildcard needs at least {MIN_PREFIX} letters before `*`"
                    ),
                }),
                _ => Err(QueryError {
                    column,
                    message: format!("`{w}`: a wildcard applies to one word"),
                }),
            };
        }
        let words = words_of(w, self.raw);
        match words.len() {
            0 => Err(QueryError {
                column,
                message: format!("`{w}` has no letters or digits: expected a word"),
            }),
            1 => Ok(Query::Term {
                field: Field::Any,
                word: words.into_iter().next().unwrap(),
            }),
            _ => Ok(Query::Phrase {
                field: Field::Any,
                words,
                slop: None,
            }),
        }
    }
}

fn example(f: &str) -> &'static str {
    match f {
        "site" => "example.com",
        "lang" => "fr",
        _ => "reddit",
    }
}

/// Restricts every word of `q` to `field`.
fn set_field(q: Query, field: Field) -> Result<Query, String> {
    Ok(match q {
        Query::Term {
            field: Field::Any,
            word,
        } => Query::Term { field, word },
        Query::Prefix {
            field: Field::Any,
            prefix,
        } => Query::Prefix { field, prefix },
        Query::Phrase {
            field: Field::Any,
            words,
            slop,
        } => Query::Phrase { field, words, slop },
        Query::Term { .. } | Query::Prefix { .. } | Query::Phrase { .. } => {
            return Err(
                "a field inside another field: write `title:acme`, not `text:(title:acme)`".into(),
            );
        }
        m @ Query::Meta { .. } => m,
        Query::And(v) => Query::And(
            v.into_iter()
                .map(|q| set_field(q, field))
                .collect::<Result<_, _>>()?,
        ),
        Query::Or(v) => Query::Or(
            v.into_iter()
                .map(|q| set_field(q, field))
                .collect::<Result<_, _>>()?,
        ),
        Query::Not(q) => Query::Not(Box::new(set_field(*q, field)?)),
    })
}

/// A word or phrase as the tokenizer sees it (folded, or as written when `raw`).
fn words_of(s: &str, raw: bool) -> Vec<String> {
    text::tokens(s)
        .into_iter()
        .filter(|t| !t.text.starts_with(['#', '@']))
        .map(|t| {
            if raw {
                s[t.start..t.end].to_string()
            } else {
                t.text
            }
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Query {
        Query::Term {
            field: Field::Any,
            word: s.into(),
        }
    }

    fn phrase(w: &[&str]) -> Query {
        Query::Phrase {
            field: Field::Any,
            words: w.iter().map(|s| s.to_string()).collect(),
            slop: None,
        }
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
                    phrase(&["acme", "corp"]),
                    Query::And(vec![t("acme"), Query::Or(vec![t("produit"), t("service")])]),
                ]),
                Query::Not(Box::new(phrase(&["road", "runner"]))),
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
        assert_eq!(Query::parse("wi-fi").unwrap(), phrase(&["wi", "fi"]));
    }

    #[test]
    fn proximity_wildcards_fields_tags() {
        assert_eq!(
            Query::parse("\"acme panne\"~5").unwrap(),
            Query::Phrase {
                field: Field::Any,
                words: vec!["acme".into(), "panne".into()],
                slop: Some(5)
            }
        );
        assert_eq!(
            Query::parse("acme NEAR/5 panne").unwrap(),
            Query::Phrase {
                field: Field::Any,
                words: vec!["acme".into(), "panne".into()],
                slop: Some(4)
            }
        );
        assert_eq!(
            Query::parse("Boycott*").unwrap(),
            Query::Prefix {
                field: Field::Any,
                prefix: "boycott".into()
            }
        );
        assert_eq!(
            Query::parse("title:(Acme OR \"acme corp\") author:margaux").unwrap(),
            Query::And(vec![
                Query::Or(vec![
                    Query::Term {
                        field: Field::Title,
                        word: "acme".into()
                    },
                    Query::Phrase {
                        field: Field::Title,
                        words: vec!["acme".into(), "corp".into()],
                        slop: None
                    },
                ]),
                Query::Term {
                    field: Field::Author,
                    word: "margaux".into()
                },
            ])
        );
        assert_eq!(
            Query::parse("acme site:https://www.Example.com/ lang:FR source:reddit").unwrap(),
            Query::And(vec![
                t("acme"),
                Query::Meta {
                    key: Meta::Site,
                    value: "example.com".into()
                },
                Query::Meta {
                    key: Meta::Lang,
                    value: "fr".into()
                },
                Query::Meta {
                    key: Meta::Source,
                    value: "reddit".into()
                },
            ])
        );
        assert_eq!(
            Query::parse("#Acmé @acme").unwrap(),
            Query::And(vec![t("#acme"), t("@acme")])
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            r#""acme corp" OR (acme AND (produit OR service)) NOT "road runner""#,
            "title:\"acme panne\"~3 OR text:boycott* OR author:jane",
            "(#acme OR @acme) site:example.com lang:fr",
            "acme NEAR/2 panne",
        ] {
            let q = Query::parse(s).unwrap();
            assert_eq!(Query::parse(&q.to_string()).unwrap(), q, "{s} -> {q}");
        }
    }

    #[test]
    fn anchors_cover_every_match() {
        let q =
            Query::parse_raw(r#""Acme Corp" OR (Acme AND (produit OR service)) NOT "road runner""#)
                .unwrap();
        assert_eq!(
            q.anchors(),
            vec![
                Query::Phrase {
                    field: Field::Any,
                    words: vec!["Acme".into(), "Corp".into()],
                    slop: None
                },
                t("Acme")
            ]
        );
        let q = Query::parse_raw("(Dorée OR doree) AND (panne OR bug OR arnaque)").unwrap();
        assert_eq!(q.anchors(), vec![t("Dorée"), t("doree")]);
        assert!(
            Query::parse("site:example.com")
                .unwrap()
                .anchors()
                .is_empty()
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
        let e = Query::parse("acme bo*").unwrap_err();
        assert_eq!(e.column, 5);
        assert!(e.message.contains("at least 3 letters"), "{e}");
        let e = Query::parse("\"acme corp\" NEAR/3 panne").unwrap_err();
        assert!(e.message.contains("NEAR joins two words"), "{e}");
        let e = Query::parse("acme NEAR/x panne").unwrap_err();
        assert_eq!(e.column, 5);
        let e = Query::parse("acme site:").unwrap_err();
        assert!(e.message.contains("expected a value after `site:`"), "{e}");
        let e = Query::parse("\"a b\"~").unwrap_err();
        assert!(e.message.contains("number of words"), "{e}");
    }

    /// Regression: 1,500 nested parentheses in `GET /api/mentions?q=` overflowed the
    /// stack of the recursive parser and killed the daemon.
    #[test]
    fn nesting_is_capped_with_the_column() {
        let ok = format!("{}acme{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(Query::parse(&ok).unwrap(), t("acme"));
        for deep in [
            format!("{}acme{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("acme {}", "NOT ".repeat(100_000)) + "x",
            format!("acme AND {}x", "title:".repeat(100_000)),
            format!("acme AND {}(x", "(x OR ".repeat(100_000)),
        ] {
            let e = Query::parse(&deep).unwrap_err();
            assert!(e.message.contains("nested more than 64 deep"), "{e}");
            assert!(e.column < 2 * 7 * MAX_DEPTH, "{e}");
        }
        // Depth is nesting, not length: many groups side by side are fine.
        let side_by_side = "(acme OR NOT x) title:(a b) site:example.com ".repeat(100);
        assert!(Query::parse(&side_by_side).is_ok());
        let e = Query::parse(&format!("acme {}x{}", "(".repeat(70), ")".repeat(70))).unwrap_err();
        assert_eq!(e.column, 5 + MAX_DEPTH, "the 65th parenthesis: {e}");
    }

    #[test]
    fn long_flat_lists_are_flat_and_capped() {
        let words =
            |n: usize, op: &str| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(op);
        // A list of the allowed length is one flat node, whatever its length.
        match Query::parse(&words(MAX_WORDS, " OR ")).unwrap() {
            Query::Or(v) => assert_eq!(v.len(), MAX_WORDS),
            q => panic!("{q:?}"),
        }
        match Query::parse(&words(MAX_WORDS, " ")).unwrap() {
            Query::And(v) => assert_eq!(v.len(), MAX_WORDS),
            q => panic!("{q:?}"),
        }
        for op in [" OR ", " ", " AND ", " NOT "] {
            let long = words(100_000, op);
            let e = Query::parse(&long).unwrap_err();
            assert!(e.message.contains("more than 1024 words"), "{op}: {e}");
            // The column is where the 1,025th word starts.
            let col = long.find(&format!("w{MAX_WORDS}")).unwrap();
            assert_eq!(e.column, col, "{op}");
        }
        let phrase = format!("\"{}\"", words(2000, " "));
        assert!(Query::parse(&phrase).is_err());
        // Colons do not make the lexer quadratic.
        let colons = format!("acme{}", ":".repeat(200_000));
        assert!(Query::parse(&colons).is_ok());
    }

    #[test]
    fn huge_proximity_does_not_overflow() {
        let q = Query::parse("\"acme panne\"~4294967295").unwrap();
        let d = super::super::Document::new(&["acme ... panne", ""]);
        assert!(d.is_match(&q));
        let n = super::super::naive::NaiveDoc::of_mention(&crate::testutil::mention(
            "acme ... panne",
            "",
        ));
        assert!(n.eval(&q));
    }
}
