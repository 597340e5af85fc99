//! Errors in config and rule files, reported as `FILE:LINE:COLUMN: what was expected`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem in one file, with its position (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Every problem found while loading a config and its rules.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// A source text being checked: turns byte spans into line/column diagnostics.
pub struct SourceFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub diags: Vec<Diagnostic>,
}

impl<'a> SourceFile<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        Self {
            path,
            text,
            diags: Vec::new(),
        }
    }

    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.diags.push(Diagnostic {
            file: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        });
    }

    pub fn toml_error(&mut self, fallback: Range<usize>, e: &toml::de::Error) {
        let span = e.span().unwrap_or(fallback);
        self.error(span, clean_message(e.message()));
    }

    /// Deserializes one value with serde, recording any error at its exact position.
    pub fn de<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'_>>) -> Option<T> {
        let span = value.span();
        match T::deserialize(toml::de::ValueDeserializer::from(value)) {
            Ok(v) => Some(v),
            Err(e) => {
                self.toml_error(span, &e);
                None
            }
        }
    }

    /// Deserializes a table split in two: the keys in `common` go to `C`, the others to
    /// `K`. Both types deny unknown fields, so a typo is reported at its own line.
    pub fn de_split<C: DeserializeOwned, K: DeserializeOwned>(
        &mut self,
        table: Spanned<DeTable<'_>>,
        common: &[&str],
        what: &str,
    ) -> Option<(C, K)> {
        let span = table.span();
        let mut a = DeTable::new();
        let mut b = DeTable::new();
        for (k, v) in table.into_inner() {
            if common.contains(&k.get_ref().as_ref()) {
                a.insert(k, v);
            } else {
                b.insert(k, v);
            }
        }
        let c = self.de::<C>(Spanned::new(span.clone(), DeValue::Table(a)));
        let k = self.de::<K>(Spanned::new(span.clone(), DeValue::Table(b)));
        if k.is_none() {
            // Make the message say which keys the kind accepts besides the common ones.
            if let Some(last) = self.diags.last_mut()
                && last.message.starts_with("unknown field")
                && !last.message.contains(what)
            {
                last.message.push_str(&format!(
                    " (or one of the keys every {what} takes: {})",
                    common.join(", ")
                ));
            }
        }
        Some((c?, k?))
    }
}

impl SourceFile<'_> {
    /// Reports an error at the `column`-th character of the value of the TOML string `s`
    /// (a query error points inside the query, escapes and all).
    pub fn string_error(&mut self, s: &Spanned<String>, column: usize, message: impl Into<String>) {
        let span = s.span();
        let raw = &self.text[span.clone()];
        let multiline = raw.starts_with("\"\"\"") || raw.starts_with("'''");
        let basic = raw.starts_with('"');
        // Skip the opening quote(s) and, for multi-line strings, the newline after them.
        let mut start = span.start + if multiline { 3 } else { 1 };
        if multiline && self.text[start..].starts_with('\n') {
            start += 1;
        }
        let body = &self.text[start..span.end];
        let offset =
            start + raw_offset(body, basic, column).unwrap_or(body.len().saturating_sub(1));
        self.error(offset..offset, message);
    }
}

/// Byte offset in a TOML string's raw text of the `column`-th character of its value:
/// escapes (`\"`, `\u00e9`, a line-ending backslash…) take more room in the file than in
/// the value, so a column in the query is not a column in the file.
fn raw_offset(raw: &str, basic: bool, column: usize) -> Option<usize> {
    if !basic {
        return raw.char_indices().nth(column).map(|(i, _)| i);
    }
    let mut produced = 0;
    let mut it = raw.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if produced == column && c != '\\' {
            return Some(i);
        }
        if c != '\\' {
            produced += 1;
            continue;
        }
        match it.peek().map(|&(_, n)| n) {
            Some('u') | Some('U') => {
                if produced == column {
                    return Some(i);
                }
                let digits = if it.peek().map(|&(_, n)| n) == Some('u') {
                    4
                } else {
                    8
                };
                for _ in 0..=digits {
                    it.next();
                }
                produced += 1;
            }
            // Line-ending backslash (multi-line strings): it and the blank that follows
            // stand for nothing.
            Some(n) if n.is_whitespace() => {
                while it.peek().is_some_and(|&(_, n)| n.is_whitespace()) {
                    it.next();
                }
            }
            Some(_) => {
                if produced == column {
                    return Some(i);
                }
                it.next();
                produced += 1;
            }
            None => {}
        }
    }
    None
}

/// toml's messages end with a newline and sometimes repeat the input; keep one line.
fn clean_message(m: &str) -> String {
    m.trim()
        .lines()
        .next()
        .unwrap_or("invalid value")
        .to_string()
}

/// The text of a TOML string value, if it is one.
pub fn as_str<'a>(v: &'a Spanned<DeValue<'_>>) -> Option<&'a str> {
    v.get_ref().as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbé = 2\n";
        let f = SourceFile::new(Path::new("x.toml"), text);
        assert_eq!(f.position(0), (1, 1));
        assert_eq!(f.position(6), (2, 1));
        // column counts characters, not bytes
        assert_eq!(f.position(10), (2, 4));
    }
}
