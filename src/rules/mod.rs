//! Rules: when does a mention, or a burst of them, deserve an alert?
//!
//! Rule files are `rules/*.toml` with `[[rule]]` entries (and optional `[[rule.test]]`
//! cases). Where a rule is evaluated: [`eval::Evaluator::evaluate`] (on new mentions)
//! and [`eval::Evaluator::tick`] (with time: flatlines, resolutions, silences ending).

pub mod eval;
pub mod excerpt;
mod history;

pub use history::History;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::matching::Query;
use crate::model::Duration;
use crate::model::Severity;
use crate::model::diag::SourceFile;

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
    pub reach_at_least: Option<u64>,
    pub first_time_author: bool,
    pub first_time_site: bool,
}

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

/// Keys that only some kinds use: reported when given to another kind.
fn check_unused(file: &mut SourceFile<'_>, c: &RuleConfig, kind: &str, allowed: &[&str]) -> bool {
    // Keys without a span of their own are reported at the rule's id.
    let at_id = |set: bool| set.then(|| c.id.span());
    let present: [(&str, Option<std::ops::Range<usize>>); 14] = [
        ("count", c.count.as_ref().map(|w| w.span())),
        ("reach_at_least", at_id(c.reach_at_least.is_some())),
        ("first_time_author", at_id(c.first_time_author)),
        ("first_time_site", at_id(c.first_time_site)),
        ("group_by", at_id(c.group_by != GroupBy::None)),
        ("min_baseline", c.min_baseline.as_ref().map(|w| w.span())),
        ("window", c.window.as_ref().map(|w| w.span())),
        ("min_count", c.min_count.as_ref().map(|w| w.span())),
        ("baseline", c.baseline.as_ref().map(|w| w.span())),
        ("ratio", c.ratio.as_ref().map(|w| w.span())),
        (
            "negative_share",
            c.negative_share.as_ref().map(|w| w.span()),
        ),
        ("new", c.new.as_ref().map(|w| w.span())),
        (
            "sentiment_below",
            c.sentiment_below.as_ref().map(|w| w.span()),
        ),
        ("source", c.source.as_ref().map(|_| c.id.span())),
    ];
    let mut ok = true;
    for (name, span) in present {
        if let Some(s) = span
            && !allowed.contains(&name)
        {
            file.error(s, format!("`{name}` is not used by kind = \"{kind}\""));
            ok = false;
        }
    }
    ok
}

fn need<T: Copy>(
    file: &mut SourceFile<'_>,
    v: &Option<Spanned<T>>,
    name: &str,
    kind: &str,
    example: &str,
    span: &std::ops::Range<usize>,
) -> Option<T> {
    match v {
        Some(x) => Some(*x.get_ref()),
        None => {
            file.error(
                span.clone(),
                format!("kind = \"{kind}\" needs `{name}` (e.g. {name} = {example})"),
            );
            None
        }
    }
}

fn build(file: &mut SourceFile<'_>, item: Spanned<DeValue<'_>>) -> Option<PendingRule> {
    let span = item.span();
    let c: RuleConfig = file.de(item)?;
    let kind_name = *c.kind.get_ref();
    let kind = match kind_name {
        RuleKindName::Match => check_unused(
            file,
            &c,
            "match",
            &[
                "sentiment_below",
                "reach_at_least",
                "first_time_author",
                "first_time_site",
                "group_by",
            ],
        )
        .then_some(RuleKind::Match)?,
        RuleKindName::Threshold => {
            check_unused(file, &c, "threshold", &["window", "min_count", "count"]).then_some(())?;
            RuleKind::Threshold {
                window: need(file, &c.window, "window", "threshold", "\"1h\"", &span)?,
                min_count: need(file, &c.min_count, "min_count", "threshold", "20", &span)?,
            }
        }
        RuleKindName::Spike => {
            check_unused(
                file,
                &c,
                "spike",
                &[
                    "window",
                    "min_count",
                    "baseline",
                    "ratio",
                    "min_baseline",
                    "count",
                ],
            )
            .then_some(())?;
            let ratio = need(file, &c.ratio, "ratio", "spike", "3.0", &span)?;
            if ratio <= 1.0 {
                file.error(
                    c.ratio.as_ref().unwrap().span(),
                    "`ratio` must be greater than 1 (e.g. 3.0: three times the usual rate)",
                );
                return None;
            }
            RuleKind::Spike {
                window: need(file, &c.window, "window", "spike", "\"1h\"", &span)?,
                baseline: need(file, &c.baseline, "baseline", "spike", "\"7d\"", &span)?,
                ratio,
                min_count: need(file, &c.min_count, "min_count", "spike", "20", &span)?,
                min_baseline: c.min_baseline.as_ref().map_or(1, |m| *m.get_ref()),
            }
        }
        RuleKindName::SentimentShift => {
            check_unused(
                file,
                &c,
                "sentiment_shift",
                &["window", "min_count", "negative_share"],
            )
            .then_some(())?;
            let share = need(
                file,
                &c.negative_share,
                "negative_share",
                "sentiment_shift",
                "0.4",
                &span,
            )?;
            if !(0.0..=1.0).contains(&share) {
                file.error(
                    c.negative_share.as_ref().unwrap().span(),
                    "`negative_share` is a share between 0 and 1 (0.4 = 40 %)",
                );
                return None;
            }
            RuleKind::SentimentShift {
                window: need(
                    file,
                    &c.window,
                    "window",
                    "sentiment_shift",
                    "\"6h\"",
                    &span,
                )?,
                share,
                min_count: need(
                    file,
                    &c.min_count,
                    "min_count",
                    "sentiment_shift",
                    "10",
                    &span,
                )?,
            }
        }
        RuleKindName::NewSource => {
            check_unused(file, &c, "new_source", &["new"]).then_some(())?;
            let (sites, authors) = match c.new.as_ref().map(|n| (n.get_ref().as_str(), n.span())) {
                None | Some(("both", _)) => (true, true),
                Some(("site", _)) => (true, false),
                Some(("author", _)) => (false, true),
                Some((other, s)) => {
                    file.error(s, format!("unknown value `{other}` for `new`: expected \"site\", \"author\" or \"both\""));
                    return None;
                }
            };
            RuleKind::NewSource { sites, authors }
        }
        RuleKindName::Flatline => {
            check_unused(file, &c, "flatline", &["window", "min_count", "source"]).then_some(())?;
            RuleKind::Flatline {
                window: need(file, &c.window, "window", "flatline", "\"6h\"", &span)?,
                min_count: need(file, &c.min_count, "min_count", "flatline", "1", &span)?,
                source: c.source.clone(),
            }
        }
    };
    if let Some(w) = &c.window
        && w.get_ref().is_zero()
    {
        file.error(w.span(), "`window` must be longer than 0s");
        return None;
    }
    if let Some(m) = &c.min_count
        && *m.get_ref() == 0
    {
        file.error(m.span(), "`min_count` must be at least 1");
        return None;
    }
    if let Some(s) = &c.sentiment_below
        && !(-1.0..=1.0).contains(s.get_ref())
    {
        file.error(
            s.span(),
            "`sentiment_below` is a score between -1 and 1 (e.g. -0.3)",
        );
        return None;
    }
    let query = match &c.query {
        Some(q) => match Query::parse(q.get_ref()) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                file.string_error(q, e.column, format!("invalid query: {}", e.message));
                return None;
            }
        },
        None => None,
    };
    // A windowed rule re-alerts at most once per window by default; the others at most
    // once per hour per incident. Incidents resolve after a quiet window (or hour).
    let window = kind.window();
    let realert = c
        .realert
        .unwrap_or(window.unwrap_or(Duration::from_secs(3600)));
    let resolve_after = c
        .resolve_after
        .unwrap_or(window.unwrap_or(Duration::from_secs(3600)));
    let count_stories = match c.count.as_ref().map(|c| (c.span(), c.get_ref().as_str())) {
        None | Some((_, "mentions")) => false,
        Some((_, "stories")) => true,
        Some((span, other)) => {
            file.error(
                span,
                format!("unknown count `{other}`: expected \"mentions\" or \"stories\""),
            );
            return None;
        }
    };
    Some(PendingRule {
        rule: Rule {
            id: c.id.get_ref().clone(),
            brand: c.brand.get_ref().clone(),
            kind,
            filters: Filters {
                query,
                source_kinds: c.source_kinds.iter().map(|s| s.to_lowercase()).collect(),
                languages: c
                    .languages
                    .iter()
                    .map(|l| crate::matching::primary_language(l))
                    .collect(),
                sentiment_below: c.sentiment_below.as_ref().map(|s| *s.get_ref()),
                reach_at_least: c.reach_at_least,
                first_time_author: c.first_time_author,
                first_time_site: c.first_time_site,
            },
            severity: c.severity,
            notify: c.notify.iter().map(|n| n.get_ref().clone()).collect(),
            realert,
            resolve_after,
            notify_resolved: c.notify_resolved,
            group_by: c.group_by,
            count_stories,
            description: c.description.clone(),
            file: file.path.to_path_buf(),
            tests: c.test.clone(),
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
