//! The query parser: tokens to a [`Query`], with the precedence and limits the module
//! documentation gives, and error messages that say what to write instead.

use super::lex::Tok;
use super::*;

pub(super) struct Parser {
    pub(super) toks: Vec<(Tok, usize)>,
    pub(super) pos: usize,
    pub(super) end: usize,
    /// Keep words as written (accents, case) instead of folding them: used to build the
    /// search queries sent to source APIs.
    pub(super) raw: bool,
    /// Nesting of the group being parsed (see [`MAX_DEPTH`]).
    pub(super) depth: usize,
    /// Words so far (see [`MAX_WORDS`]).
    pub(super) words: usize,
}

impl Parser {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    pub(super) fn column(&self) -> usize {
        self.toks.get(self.pos).map(|(_, c)| *c).unwrap_or(self.end)
    }
    pub(super) fn err<T>(&self, message: impl Into<String>) -> Result<T, QueryError> {
        Err(QueryError {
            column: self.column(),
            message: message.into(),
        })
    }

    /// One level deeper (a parenthesis, a `NOT`, a field), refused past [`MAX_DEPTH`].
    pub(super) fn enter(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!(
                "parentheses, NOT and fields nested more than {MAX_DEPTH} deep: write the query flatter"
            ));
        }
        Ok(())
    }

    /// Counts the words of a new part of the query, refused past [`MAX_WORDS`].
    pub(super) fn count(&mut self, q: Query, column: usize) -> Result<Query, QueryError> {
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
    pub(super) fn expr(&mut self) -> Result<Query, QueryError> {
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

    pub(super) fn or_expr(&mut self) -> Result<Query, QueryError> {
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

    pub(super) fn and_expr(&mut self) -> Result<Query, QueryError> {
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
    pub(super) fn near_expr(&mut self) -> Result<Query, QueryError> {
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

    pub(super) fn unary(&mut self) -> Result<Query, QueryError> {
        if self.peek() == Some(&Tok::Not) {
            self.enter()?;
            self.pos += 1;
            let q = Query::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(q);
        }
        self.primary()
    }

    pub(super) fn primary(&mut self) -> Result<Query, QueryError> {
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

    pub(super) fn word(&self, w: &str, column: usize) -> Result<Query, QueryError> {
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

pub(super) fn example(f: &str) -> &'static str {
    match f {
        "site" => "example.com",
        "lang" => "fr",
        _ => "reddit",
    }
}

/// Restricts every word of `q` to `field`.
pub(super) fn set_field(q: Query, field: Field) -> Result<Query, String> {
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
pub(super) fn words_of(s: &str, raw: bool) -> Vec<String> {
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
