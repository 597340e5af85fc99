//! Reading rule files: each `[[rule]]` checked key by key, with `FILE:LINE:COLUMN`
//! errors, into a [`Rule`] whose references are checked later against the config.

use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::*;
use crate::matching::Query;
use crate::model::Duration;
use crate::model::diag::SourceFile;

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
    let present: [(&str, Option<std::ops::Range<usize>>); 15] = [
        ("sentiment", c.sentiment.as_ref().map(|w| w.span())),
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

/// The kind of rule `c` says, with the keys it needs; every problem reported in `file`.
fn build_kind(
    file: &mut SourceFile<'_>,
    c: &RuleConfig,
    span: &std::ops::Range<usize>,
) -> Option<RuleKind> {
    Some(match *c.kind.get_ref() {
        RuleKindName::Match => check_unused(
            file,
            c,
            "match",
            &[
                "sentiment_below",
                "sentiment",
                "reach_at_least",
                "first_time_author",
                "first_time_site",
                "group_by",
            ],
        )
        .then_some(RuleKind::Match)?,
        RuleKindName::Threshold => {
            let keys_ok = check_unused(file, c, "threshold", &["window", "min_count", "count"]);
            let window = need(file, &c.window, "window", "threshold", "\"1h\"", span);
            let min_count = need(file, &c.min_count, "min_count", "threshold", "20", span);
            if !keys_ok {
                return None;
            }
            RuleKind::Threshold {
                window: window?,
                min_count: min_count?,
            }
        }
        RuleKindName::Spike => {
            let keys_ok = check_unused(
                file,
                c,
                "spike",
                &[
                    "window",
                    "min_count",
                    "baseline",
                    "ratio",
                    "min_baseline",
                    "count",
                ],
            );
            // Each missing key is reported, not only the first.
            let ratio = need(file, &c.ratio, "ratio", "spike", "3.0", span);
            let window = need(file, &c.window, "window", "spike", "\"1h\"", span);
            let baseline = need(file, &c.baseline, "baseline", "spike", "\"7d\"", span);
            let min_count = need(file, &c.min_count, "min_count", "spike", "20", span);
            if !keys_ok {
                return None;
            }
            let ratio = ratio?;
            if ratio <= 1.0 {
                file.error(
                    c.ratio.as_ref().unwrap().span(),
                    "`ratio` must be greater than 1 (e.g. 3.0: three times the usual rate)",
                );
                return None;
            }
            RuleKind::Spike {
                window: window?,
                baseline: baseline?,
                ratio,
                min_count: min_count?,
                min_baseline: c.min_baseline.as_ref().map_or(1, |m| *m.get_ref()),
            }
        }
        RuleKindName::SentimentShift => {
            let keys_ok = check_unused(
                file,
                c,
                "sentiment_shift",
                &["window", "min_count", "negative_share"],
            );
            let share = need(
                file,
                &c.negative_share,
                "negative_share",
                "sentiment_shift",
                "0.4",
                span,
            );
            let window = need(file, &c.window, "window", "sentiment_shift", "\"6h\"", span);
            let min_count = need(
                file,
                &c.min_count,
                "min_count",
                "sentiment_shift",
                "10",
                span,
            );
            if !keys_ok {
                return None;
            }
            let share = share?;
            if !(0.0..=1.0).contains(&share) {
                file.error(
                    c.negative_share.as_ref().unwrap().span(),
                    "`negative_share` is a share between 0 and 1 (0.4 = 40 %)",
                );
                return None;
            }
            RuleKind::SentimentShift {
                window: window?,
                share,
                min_count: min_count?,
            }
        }
        RuleKindName::NewSource => {
            let keys_ok = check_unused(file, c, "new_source", &["new"]);
            if !keys_ok {
                return None;
            }
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
            let keys_ok = check_unused(file, c, "flatline", &["window", "min_count", "source"]);
            let window = need(file, &c.window, "window", "flatline", "\"6h\"", span);
            let min_count = need(file, &c.min_count, "min_count", "flatline", "1", span);
            if !keys_ok {
                return None;
            }
            RuleKind::Flatline {
                window: window?,
                min_count: min_count?,
                source: c.source.clone(),
            }
        }
    })
}

fn build(file: &mut SourceFile<'_>, item: Spanned<DeValue<'_>>) -> Option<PendingRule> {
    let span = item.span();
    let c: RuleConfig = file.de(item)?;
    // Every problem of the rule is reported in one run: each part is checked even when
    // another failed, and the rule is dropped at the end if any did.
    let kind = build_kind(file, &c, &span);
    let mut bad = false;
    if let Some(w) = &c.window
        && w.get_ref().is_zero()
    {
        file.error(w.span(), "`window` must be longer than 0s");
        bad = true;
    }
    if let Some(m) = &c.min_count
        && *m.get_ref() == 0
    {
        file.error(m.span(), "`min_count` must be at least 1");
        bad = true;
    }
    if let Some(s) = &c.sentiment_below
        && !(-1.0..=1.0).contains(s.get_ref())
    {
        file.error(
            s.span(),
            "`sentiment_below` is a score between -1 and 1 (e.g. -0.3)",
        );
        bad = true;
    }
    // The label, as search and digests show it; a typo is an error naming the values.
    let sentiment = match &c.sentiment {
        None => None,
        Some(s) => match crate::mention::Label::parse(s.get_ref()) {
            Some(l) => Some(l),
            None => {
                file.error(
                    s.span(),
                    format!(
                        "unknown sentiment `{}`: expected \"negative\", \"neutral\" or \"positive\"",
                        s.get_ref()
                    ),
                );
                bad = true;
                None
            }
        },
    };
    let query = match &c.query {
        Some(q) => match Query::parse(q.get_ref()) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                file.string_error(q, e.column, format!("invalid query: {}", e.message));
                bad = true;
                None
            }
        },
        None => None,
    };
    let kind = kind?;
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
            bad = true;
            false
        }
    };
    if bad {
        return None;
    }
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
                sentiment,
                reach_at_least: c.reach_at_least,
                first_time_author: c.first_time_author,
                first_time_site: c.first_time_site,
            },
            query_text: c.query.as_ref().map(|q| q.get_ref().clone()),
            max_age: c.max_age.unwrap_or(DEFAULT_MAX_AGE),
            warm_up: c.warm_up.unwrap_or(DEFAULT_WARM_UP),
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
