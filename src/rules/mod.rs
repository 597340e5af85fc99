//! Rules: when does a mention, or a burst of them, deserve an alert?
//!
//! Rule files are `rules/*.toml` with `[[rule]]` entries (and optional `[[rule.test]]`
//! cases). Where a rule is evaluated: [`eval::Evaluator::evaluate`] (on new mentions)
//! and [`eval::Evaluator::tick`] (with time: flatlines, resolutions, silences ending).

pub mod eval;
pub mod excerpt;
mod history;
mod incident;
mod parse;

pub use history::History;
pub use parse::{parse_file, rule_files};

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use crate::matching::Query;
use crate::model::Duration;
use crate::model::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKindName {
    Match,
    Threshold,
    Spike,
    SentimentShift,
    NewSource,
    Flatline,
}

/// What alerts of one rule are grouped by into incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One incident per rule and brand.
    #[default]
    None,
    /// One per story (syndicated copies of an article together).
    Story,
    Site,
    Author,
    Source,
}

/// One `[[rule]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique id, shown in alerts.
    pub id: Spanned<String>,
    /// Brand id the rule watches.
    pub brand: Spanned<String>,
    /// match | threshold | spike | sentiment_shift | new_source | flatline
    pub kind: Spanned<RuleKindName>,
    /// Extra query mentions must also match, e.g. `arnaque OR boycott OR scandale`.
    #[serde(default)]
    pub query: Option<Spanned<String>>,
    /// Only mentions from these source kinds (rss, reddit, mastodon…).
    #[serde(default)]
    pub source_kinds: Vec<String>,
    /// Only mentions in these languages.
    #[serde(default)]
    pub languages: Vec<String>,
    /// match: only mentions whose sentiment score is below this (-1 … 1), e.g. -0.3.
    #[serde(default)]
    pub sentiment_below: Option<Spanned<f32>>,
    /// match: only mentions with this sentiment label, "negative", "neutral" or
    /// "positive" — the label search and digests show.
    #[serde(default)]
    pub sentiment: Option<Spanned<String>>,
    /// match, new_source, first-time conditions: a mention published longer ago than this
    /// is indexed and counted, never alerted (default 24h).
    #[serde(default)]
    pub max_age: Option<Duration>,
    /// new_source and first-time conditions fire only once the brand has been watched
    /// this long (default 7d): on day one every site is new.
    #[serde(default)]
    pub warm_up: Option<Duration>,
    /// match: only mentions with at least this reach.
    #[serde(default)]
    pub reach_at_least: Option<u64>,
    /// match: only the first mention of the brand by an author / on a site.
    #[serde(default)]
    pub first_time_author: bool,
    #[serde(default)]
    pub first_time_site: bool,
    /// new_source: "site", "author" or "both" (default).
    #[serde(default)]
    pub new: Option<Spanned<String>>,
    /// threshold, spike, sentiment_shift, flatline: the sliding window.
    #[serde(default)]
    pub window: Option<Spanned<Duration>>,
    /// threshold, spike, sentiment_shift: mentions needed in the window; flatline: fewer
    /// than this fires.
    #[serde(default)]
    pub min_count: Option<Spanned<u32>>,
    /// spike: how far back the normal rate is measured (e.g. 7d), before the window.
    #[serde(default)]
    pub baseline: Option<Spanned<Duration>>,
    /// spike: how many times the normal rate makes a spike (e.g. 3.0).
    #[serde(default)]
    pub ratio: Option<Spanned<f32>>,
    /// spike: mentions the baseline needs before a spike can fire (default 1: a brand
    /// with no history has no usual rate; ElastAlert's `threshold_ref`).
    #[serde(default)]
    pub min_baseline: Option<Spanned<u32>>,
    /// sentiment_shift: share of negative mentions that fires (0–1, e.g. 0.4).
    #[serde(default)]
    pub negative_share: Option<Spanned<f32>>,
    /// flatline: watch one source instead of the whole brand.
    #[serde(default)]
    pub source: Option<String>,
    /// threshold, spike: count "mentions" (default) or "stories" (syndicated copies of
    /// one article count once).
    #[serde(default)]
    pub count: Option<Spanned<String>>,
    #[serde(default)]
    pub severity: Severity,
    /// Notifier names. Without them, the `[[route]]` entries of the config decide.
    #[serde(default)]
    pub notify: Vec<Spanned<String>>,
    /// An open incident gets at most one update per this time.
    #[serde(default)]
    pub realert: Option<Duration>,
    /// An incident resolves when its condition has not held for this long.
    #[serde(default)]
    pub resolve_after: Option<Duration>,
    /// Send a notice when an incident resolves (default true).
    #[serde(default = "yes")]
    pub notify_resolved: bool,
    /// Group alerts into incidents by story, site, author or source (default: none).
    #[serde(default)]
    pub group_by: GroupBy,
    /// Free text shown in alerts: why this rule exists, what to do.
    #[serde(default)]
    pub description: Option<String>,
    /// Test cases `veille check` runs.
    #[serde(default)]
    pub test: Vec<RuleTestConfig>,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

/// `[[rule.test]]`: mentions at offsets from now, and how many alerts they must raise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTestConfig {
    pub name: String,
    pub mentions: Vec<TestMention>,
    /// Alerts (new or update, not resolutions) the rule must raise.
    pub expect_alerts: usize,
    /// Time after the last mention at which to look (for flatlines and resolutions).
    #[serde(default)]
    pub then: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestMention {
    /// How long before the end of the test the mention is published, e.g. "50m".
    pub ago: Duration,
    /// This many copies (distinct mentions with the same text), for volume rules.
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub source_kind: Option<String>,
    /// Audience (followers…) the source would report.
    #[serde(default)]
    pub reach: Option<u64>,
}

/// Conditions on single mentions (match rules; filters for every kind).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub query: Option<Query>,
    pub source_kinds: Vec<String>,
    pub languages: Vec<String>,
    pub sentiment_below: Option<f32>,
    pub sentiment: Option<crate::mention::Label>,
    pub reach_at_least: Option<u64>,
    pub first_time_author: bool,
    pub first_time_site: bool,
}

/// A mention older than this never fires a match, new_source or first-time condition,
/// unless the rule says `max_age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// How long a brand is watched before new_source and first-time conditions may fire,
/// unless the rule says `warm_up`.
pub const DEFAULT_WARM_UP: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    Match,
    Threshold {
        window: Duration,
        min_count: u32,
    },
    Spike {
        window: Duration,
        baseline: Duration,
        ratio: f32,
        min_count: u32,
        min_baseline: u32,
    },
    SentimentShift {
        window: Duration,
        share: f32,
        min_count: u32,
    },
    NewSource {
        sites: bool,
        authors: bool,
    },
    Flatline {
        window: Duration,
        min_count: u32,
        source: Option<String>,
    },
}

impl RuleKind {
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Match => "match",
            RuleKind::Threshold { .. } => "threshold",
            RuleKind::Spike { .. } => "spike",
            RuleKind::SentimentShift { .. } => "sentiment_shift",
            RuleKind::NewSource { .. } => "new_source",
            RuleKind::Flatline { .. } => "flatline",
        }
    }

    pub fn window(&self) -> Option<Duration> {
        match self {
            RuleKind::Threshold { window, .. }
            | RuleKind::Spike { window, .. }
            | RuleKind::SentimentShift { window, .. }
            | RuleKind::Flatline { window, .. } => Some(*window),
            _ => None,
        }
    }
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub brand: String,
    pub kind: RuleKind,
    pub filters: Filters,
    /// The rule's `query` as written, for the `veille search` line of its messages.
    pub query_text: Option<String>,
    /// See [`DEFAULT_MAX_AGE`].
    pub max_age: Duration,
    /// See [`DEFAULT_WARM_UP`].
    pub warm_up: Duration,
    pub severity: Severity,
    pub notify: Vec<String>,
    pub realert: Duration,
    pub resolve_after: Duration,
    pub notify_resolved: bool,
    pub group_by: GroupBy,
    /// threshold, spike: count distinct stories rather than mentions.
    pub count_stories: bool,
    pub description: Option<String>,
    pub file: PathBuf,
    pub tests: Vec<RuleTestConfig>,
}

/// A rule whose references (brand, notifiers) are still to be checked against the config.
pub struct PendingRule {
    pub rule: Rule,
    pub config: RuleConfig,
}

/// `[[route]]` in the config: where alerts of rules without `notify` go. Routes are
/// tried in order; the first that matches decides, unless it says `continue = true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Only these severities (default: any).
    #[serde(default)]
    pub severity: Vec<Severity>,
    /// Only these brands (default: any).
    #[serde(default)]
    pub brands: Vec<String>,
    /// Only these rules (default: any).
    #[serde(default)]
    pub rules: Vec<String>,
    pub notify: Vec<Spanned<String>>,
    #[serde(default, rename = "continue")]
    pub continue_: bool,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub severity: Vec<Severity>,
    pub brands: Vec<String>,
    pub rules: Vec<String>,
    pub notify: Vec<String>,
    pub continue_: bool,
}

impl From<&RouteConfig> for Route {
    fn from(c: &RouteConfig) -> Route {
        Route {
            severity: c.severity.clone(),
            brands: c.brands.clone(),
            rules: c.rules.clone(),
            notify: c.notify.iter().map(|n| n.get_ref().clone()).collect(),
            continue_: c.continue_,
        }
    }
}

/// Notifiers for an alert of `rule`: its own `notify`, or the routes'.
pub fn route(rule: &Rule, routes: &[Route]) -> Vec<String> {
    if !rule.notify.is_empty() {
        return rule.notify.clone();
    }
    let mut out: Vec<String> = Vec::new();
    for r in routes {
        let hit = (r.severity.is_empty() || r.severity.contains(&rule.severity))
            && (r.brands.is_empty() || r.brands.contains(&rule.brand))
            && (r.rules.is_empty() || r.rules.contains(&rule.id));
        if hit {
            for n in &r.notify {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
            if !r.continue_ {
                break;
            }
        }
    }
    out
}
