//! The names a rule refers to (its brand, its notifiers), read from the rule file's TOML
//! even when the rule itself does not build: a rule with a missing `ratio` and an unknown
//! notifier gets both problems in one `veille check`, not one per run.

use std::collections::HashSet;

use toml::de::{DeTable, DeValue};

use crate::model::SourceFile;

/// Reports the unknown brand and notifiers of every `[[rule]]` of `file` whose id is not
/// in `built` (the rules that built are checked with their parsed config).
pub(super) fn check_unbuilt(
    file: &mut SourceFile<'_>,
    built: &HashSet<String>,
    brands: &HashSet<&str>,
    notifiers: &HashSet<String>,
) {
    let Ok(root) = DeTable::parse(file.text) else {
        return; // The syntax error is already reported.
    };
    let Some(rules) = root.get_ref().get("rule") else {
        return;
    };
    let DeValue::Array(items) = rules.get_ref() else {
        return;
    };
    let mut problems = Vec::new();
    for item in items {
        let DeValue::Table(t) = item.get_ref() else {
            continue;
        };
        let id = t.get("id").and_then(|v| v.get_ref().as_str());
        if id.is_some_and(|id| built.contains(id)) {
            continue;
        }
        if let Some(b) = t.get("brand")
            && let Some(name) = b.get_ref().as_str()
            && !brands.contains(name)
        {
            problems.push((
                b.span(),
                format!("unknown brand `{name}`: expected one of the configured brands"),
            ));
        }
        if let Some(n) = t.get("notify")
            && let DeValue::Array(list) = n.get_ref()
        {
            for v in list {
                if let Some(name) = v.get_ref().as_str()
                    && !notifiers.contains(name)
                {
                    problems.push((
                        v.span(),
                        format!(
                            "unknown notifier `{name}`: expected one of the configured notifiers"
                        ),
                    ));
                }
            }
        }
    }
    for (span, m) in problems {
        file.error(span, m);
    }
}
