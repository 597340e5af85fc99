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
