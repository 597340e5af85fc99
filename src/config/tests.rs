use std::path::{Path, PathBuf};

use super::*;

/// A config dir with a rules directory and a secret file.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rules")).unwrap();
        std::fs::write(dir.path().join("smtp-password"), "s3cret\n").unwrap();
        std::fs::write(
            dir.path().join("slack-url"),
            "https://hooks.slack.com/services/T/B/X\n",
        )
        .unwrap();
        Dir { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn rule_file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join("rules").join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn load(&self, text: &str) -> Result<Config, Diagnostics> {
        let p = self.path().join("veille.toml");
        std::fs::write(&p, text).unwrap();
        Config::load(&p)
    }
}

const GOOD: &str = r#"
[daemon]
data_dir = "data"

[crawl]
contact = "mailto:ops@example.org"
timeout = "20s"

[[brand]]
id = "acme"
name = "Acme"
query = '"acme corp" OR (acme AND (produit OR service)) NOT "road runner"'
languages = ["fr", "en"]
competitors = ["globex"]

[[brand]]
id = "globex"
query = "globex"

[[source]]
id = "lemonde"
kind = "rss"
url = "https://www.lemonde.fr/rss/une.xml"
every = "10m"

[notifier.crisis-mail]
kind = "email"
smtp_url = "smtps://veille@smtp.example.org:465"
password_file = "smtp-password"
from = "veille@example.org"
to = ["cm@example.org"]

[notifier.team-chat]
kind = "slack"
url_file = "slack-url"
"#;

const GOOD_RULES: &str = r#"
[[rule]]
id = "acme-crisis"
brand = "acme"
kind = "match"
query = "arnaque OR boycott OR scandale"
severity = "critical"
notify = ["crisis-mail", "team-chat"]

[[rule]]
id = "acme-volume"
brand = "acme"
kind = "threshold"
window = "1h"
min_count = 20
notify = ["team-chat"]
realert = "2h"
"#;

fn messages(e: &Diagnostics) -> Vec<String> {
    e.0.iter()
        .map(|d| format!("{}:{}:{}", d.line, d.column, d.message))
        .collect()
}

#[test]
fn the_design_example_loads() {
    let d = Dir::new();
    d.rule_file("acme.toml", GOOD_RULES);
    let c = d.load(GOOD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.brands.len(), 2);
    assert_eq!(c.brands[0].competitors, vec!["globex"]);
    assert_eq!(c.sources[0].every.as_secs(), 600);
    assert_eq!(c.crawl.timeout.as_secs(), 20);
    assert_eq!(c.rules.len(), 2);
    assert_eq!(c.rules[1].realert.as_secs(), 7200);
    assert_eq!(c.daemon.data_dir, d.path().join("data"));
    assert_eq!(c.notifiers.len(), 2);
}

#[test]
fn unknown_key_is_reported_at_its_line() {
    let d = Dir::new();
    let text = GOOD.replace("every = \"10m\"", "every = \"10m\"\nevry = \"5m\"");
    let e = d.load(&text).unwrap_err();
    let m = messages(&e);
    assert_eq!(m.len(), 1, "{m:?}");
    let line = text.lines().position(|l| l.starts_with("evry")).unwrap() + 1;
    assert!(
        m[0].starts_with(&format!("{line}:1:unknown field `evry`")),
        "{m:?}"
    );
    // The report names the file.
    assert!(e.to_string().contains("veille.toml:"), "{e}");
}

#[test]
fn unknown_section_and_bad_duration() {
    let d = Dir::new();
    let text = GOOD.replace("every = \"10m\"", "every = \"10 minutes\"") + "\n[oops]\n";
    let m = messages(&d.load(&text).unwrap_err());
    assert!(
        m.iter()
            .any(|x| x.contains("invalid duration `10 minutes`")),
        "{m:?}"
    );
    assert!(
        m.iter().any(|x| x.contains("unknown section `oops`")),
        "{m:?}"
    );
}

#[test]
fn unknown_source_kind() {
    let d = Dir::new();
    let text = GOOD.replace("kind = \"rss\"", "kind = \"rsss\"");
    let m = messages(&d.load(&text).unwrap_err());
    assert!(
        m[0].contains("unknown source kind `rsss`: expected one of rss"),
        "{m:?}"
    );
}

#[test]
fn query_errors_point_inside_the_string() {
    let d = Dir::new();
    let text = GOOD.replace("query = \"globex\"", "query = \"globex AND (\"");
    let m = messages(&d.load(&text).unwrap_err());
    let line = text
        .lines()
        .position(|l| l.contains("globex AND ("))
        .unwrap()
        + 1;
    // `query = "` is 9 characters; the error is at the end of the query (column 22).
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with(&format!("{line}:22:invalid query: unexpected end of query")),
        "{m:?}"
    );
}

#[test]
fn query_error_columns_count_escapes_in_the_file() {
    let d = Dir::new();
    // The value is `"acme corp" AND (`: its end (column 17 of the query) is at the closing
    // quote in the file, 2 escapes later: column 9 + 17 + 2 + 1.
    let text = GOOD.replace("query = \"globex\"", r#"query = "\"acme corp\" AND (""#);
    let m = messages(&d.load(&text).unwrap_err());
    let line = text
        .lines()
        .position(|l| l.contains(r#"\"acme corp"#))
        .unwrap()
        + 1;
    assert!(
        m[0].starts_with(&format!("{line}:29:invalid query")),
        "{m:?}"
    );
    // \u escapes too: `Dorée ET` (8 characters, 13 in the file) ends at column 9 + 13 + 1.
    let text = GOOD.replace("query = \"globex\"", r#"query = "Dor\u00e9e ET""#);
    let m = messages(&d.load(&text).unwrap_err());
    let line = text.lines().position(|l| l.contains("u00e9")).unwrap() + 1;
    assert!(
        m[0].starts_with(&format!("{line}:23:invalid query")),
        "{m:?}"
    );
}

#[test]
fn rules_referencing_missing_things_are_errors() {
    let d = Dir::new();
    let p = d.rule_file(
        "bad.toml",
        r#"[[rule]]
id = "r1"
brand = "initech"
kind = "match"

[[rule]]
id = "r2"
brand = "acme"
kind = "match"
notify = ["pager"]

[[rule]]
id = "r3"
brand = "acme"
kind = "threshold"
window = "1h"

[[rule]]
id = "r4"
brand = "acme"
kind = "spike"
"#,
    );
    let e = d.load(GOOD).unwrap_err();
    let m = messages(&e);
    assert!(
        m.iter()
            .any(|x| x.starts_with("3:9:unknown brand `initech`")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|x| x.starts_with("10:11:unknown notifier `pager`")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|x| x.starts_with("12:1:") && x.contains("needs `min_count`")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|x| x.starts_with("18:1:") && x.contains("needs `ratio`")),
        "{m:?}"
    );
    assert!(e.0.iter().all(|d| d.file == p));
}

#[test]
fn keys_a_rule_kind_does_not_use_are_errors() {
    let d = Dir::new();
    d.rule_file(
        "unused.toml",
        r#"[[rule]]
id = "w"
brand = "acme"
kind = "threshold"
window = "1h"
min_count = 5
group_by = "story"
reach_at_least = 1000

[[rule]]
id = "n"
brand = "acme"
kind = "new_source"
first_time_author = true

[[rule]]
id = "c"
brand = "acme"
kind = "threshold"
window = "1h"
min_count = 5
count = "copies"
"#,
    );
    let m = messages(&d.load(GOOD).unwrap_err());
    assert!(
        m.iter()
            .any(|x| x.contains("unknown count `copies`: expected \"mentions\" or \"stories\"")),
        "{m:?}"
    );
    for (key, kind) in [
        ("group_by", "threshold"),
        ("reach_at_least", "threshold"),
        ("first_time_author", "new_source"),
    ] {
        assert!(
            m.iter()
                .any(|x| x.contains(&format!("`{key}` is not used by kind = \"{kind}\""))),
            "{key}: {m:?}"
        );
    }
}

#[test]
fn secrets_stay_out_of_the_main_file() {
    let d = Dir::new();
    let text = GOOD.replace(
        "smtps://veille@smtp.example.org:465",
        "smtps://veille:hunter2@smtp.example.org:465",
    );
    let e = d.load(&text).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("must not contain the password"), "{s}");
    assert!(!s.contains("hunter2"), "the error repeats the secret: {s}");

    let text = GOOD.replace(
        "password_file = \"smtp-password\"",
        "password_file = \"missing\"",
    );
    let m = messages(&d.load(&text).unwrap_err());
    assert!(m[0].contains("cannot read secret file"), "{m:?}");

    // No secret in the Debug output of a loaded config.
    let c = d.load(GOOD).unwrap();
    let dbg = format!("{c:?}");
    assert!(
        !dbg.contains("s3cret") && !dbg.contains("hooks.slack.com"),
        "{dbg}"
    );
}

#[test]
fn syntax_errors_have_positions() {
    let d = Dir::new();
    let e = d.load("[daemon]\ndata_dir = \n").unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert_eq!(e.0[0].line, 2, "{e}");
}

#[test]
fn duplicate_ids() {
    let d = Dir::new();
    let text = format!("{GOOD}\n[[brand]]\nid = \"acme\"\nquery = \"x\"\n");
    let m = messages(&d.load(&text).unwrap_err());
    assert!(
        m.iter().any(|x| x.contains("duplicate brand id `acme`")),
        "{m:?}"
    );
}

/// `[ops]`: on by default, to the notifiers people read (not webhooks); `notify = []`
/// turns it off; its notifiers must exist, named at their line; its keys are checked
/// like every section's.
#[test]
fn ops_section_is_checked() {
    let d = Dir::new();
    let default = d.load(GOOD).unwrap_or_else(|e| panic!("{e}"));
    let readers: Vec<&String> = default
        .notifiers
        .iter()
        .filter(|(_, n)| n.kind_name() != "webhook")
        .map(|(id, _)| id)
        .collect();
    assert!(!readers.is_empty());
    assert_eq!(default.ops.notify.iter().collect::<Vec<_>>(), readers);
    assert!(default.ops.watches_sources());
    let off = d
        .load(&(GOOD.to_string() + "\n[ops]\nnotify = []\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(off.ops.notify.is_empty() && !off.ops.watches_sources());
    let on = d
        .load(
            &(GOOD.to_string()
                + "\n[ops]\nnotify = [\"team-chat\"]\noutbox_max_age = \"2h\"\nsources = false\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(on.ops.notify, ["team-chat"]);
    assert_eq!(on.ops.outbox_max_age, chrono::Duration::hours(2));
    assert!(!on.ops.watches_sources() && on.ops.notifiers && on.ops.outbox);
    let text = GOOD.to_string() + "\n[ops]\nnotify = [\"pager\"]\noutbox_max_age = \"soon\"\n";
    let m = messages(&d.load(&text).unwrap_err());
    let line = text
        .lines()
        .position(|l| l.starts_with("notify = [\"pager\"]"))
        .unwrap()
        + 1;
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].starts_with(&format!("{}:", line + 1)), "{m:?}");
    let text = GOOD.to_string() + "\n[ops]\nnotify = [\"pager\"]\n";
    let m = messages(&d.load(&text).unwrap_err());
    assert_eq!(
        m,
        [format!(
            "{line}:11:unknown notifier `pager` in [ops] notify: expected one of the configured notifiers (crisis-mail, team-chat)"
        )]
    );
}
