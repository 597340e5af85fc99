//! Rules: when does a mention, or a burst of them, deserve an alert?
//!
//! Rule files are `rules/*.toml` with `[[rule]]` entries. Where a rule is evaluated:
//! [`eval::Evaluator::evaluate`].

pub mod eval;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::Duration;
use crate::config::diag::SourceFile;
use crate::matching::Query;

/// How urgent an alert is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKindName {
    Match,
    Threshold,
}

/// One `[[rule]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique id, shown in alerts.
    pub id: Spanned<String>,
    /// Brand id the rule watches.
    pub brand: Spanned<String>,
    /// `match` (each mention) or `threshold` (at least `min_count` mentions in `window`).
    pub kind: Spanned<RuleKindName>,
    /// Extra query a mention must also match, e.g. `arnaque OR boycott OR scandale`.
    #[serde(default)]
    pub query: Option<Spanned<String>>,
    /// Sliding window (threshold).
    #[serde(default)]
    pub window: Option<Spanned<Duration>>,
    /// Mentions needed within the window (threshold).
    #[serde(default)]
    pub min_count: Option<Spanned<u32>>,
    #[serde(default)]
    pub severity: Severity,
    /// Notifier names to deliver to.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    /// No new alert for the same rule and brand within this time.
    #[serde(default)]
    pub realert: Option<Duration>,
    /// Free text shown in alerts: why this rule exists, what to do.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    Match,
    Threshold { window: Duration, min_count: u32 },
}

impl RuleKind {
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Match => "match",
            RuleKind::Threshold { .. } => "threshold",
        }
    }
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub brand: String,
    pub kind: RuleKind,
    pub query: Option<Query>,
    pub severity: Severity,
    pub notify: Vec<String>,
    pub realert: Duration,
    pub description: Option<String>,
    pub file: PathBuf,
}

/// A rule whose references (brand, notifiers) are still to be checked against the config.
pub struct PendingRule {
    pub rule: Rule,
    pub config: RuleConfig,
}

/// Reads every `[[rule]]` of one rule file.
pub fn parse_file(file: &mut SourceFile<'_>) -> Vec<PendingRule> {
    let root = match DeTable::parse(file.text) {
        Ok(r) => r,
        Err(e) => {
            file.toml_error(0..0, &e);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (key, value) in root.into_inner() {
        if key.get_ref() != "rule" {
            file.error(
                key.span(),
                format!(
                    "unknown key `{}`: a rule file holds `[[rule]]` entries only",
                    key.get_ref()
                ),
            );
            continue;
        }
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            file.error(span, "expected `[[rule]]` (an array of tables)");
            continue;
        };
        for item in items {
            if let Some(r) = build(file, item) {
                out.push(r);
            }
        }
    }
    out
}

fn build(file: &mut SourceFile<'_>, item: Spanned<DeValue<'_>>) -> Option<PendingRule> {
    let span = item.span();
    let c: RuleConfig = file.de(item)?;
    let kind = match c.kind.get_ref() {
        RuleKindName::Match => {
            for (present, name) in [
                (c.window.as_ref().map(|w| w.span()), "window"),
                (c.min_count.as_ref().map(|m| m.span()), "min_count"),
            ] {
                if let Some(s) = present {
                    file.error(
                        s,
                        format!("`{name}` is not used by kind = \"match\": remove it or use kind = \"threshold\""),
                    );
                    return None;
                }
            }
            RuleKind::Match
        }
        RuleKindName::Threshold => {
            let (Some(window), Some(min_count)) = (&c.window, &c.min_count) else {
                file.error(
                    span,
                    "kind = \"threshold\" needs `window` (e.g. \"1h\") and `min_count` (e.g. 20)",
                );
                return None;
            };
            if window.get_ref().is_zero() {
                file.error(window.span(), "`window` must be longer than 0s");
                return None;
            }
            if *min_count.get_ref() == 0 {
                file.error(min_count.span(), "`min_count` must be at least 1");
                return None;
            }
            RuleKind::Threshold {
                window: *window.get_ref(),
                min_count: *min_count.get_ref(),
            }
        }
    };
    let query = match &c.query {
        Some(q) => match Query::parse(q.get_ref()) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                crate::config::query_error(file, q, &e);
                return None;
            }
        },
        None => None,
    };
    // A threshold re-fires at most once per window by default; a match rule on every batch.
    let realert = c.realert.unwrap_or(match &kind {
        RuleKind::Threshold { window, .. } => *window,
        RuleKind::Match => Duration::default(),
    });
    Some(PendingRule {
        rule: Rule {
            id: c.id.get_ref().clone(),
            brand: c.brand.get_ref().clone(),
            kind,
            query,
            severity: c.severity,
            notify: c.notify.iter().map(|n| n.get_ref().clone()).collect(),
            realert,
            description: c.description.clone(),
            file: file.path.to_path_buf(),
        },
        config: c,
    })
}

/// The rule files of a directory, sorted by name.
pub fn rule_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}
