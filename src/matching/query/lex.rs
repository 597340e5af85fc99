//! The query lexer: characters to tokens, each with its column.

use super::QueryError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
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

pub(super) const FIELDS: &[&str] = &["title", "text", "author", "site", "lang", "source"];

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '«' | '»')
}

/// (token, character column)
pub(super) fn lex(input: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
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
