//! The command line's conventions (issue 17 point 3, issue 14 point 8): `--json` on every
//! command that lists or shows, with the fields the README documents; `veille
//! incidents`; silences with their author; exit statuses; a closed pipe; tables that
//! align and strip what would move the terminal's text; local time with its zone in
//! tables, e-mails and chat messages. The data comes from the real daemon run once
//! against loopback servers.

mod common;

use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::Value;

/// A title with a right-to-left override: printed as is, it reverses what follows.
const HOSTILE: &str = "Arnaque Acme \u{202E}gnp.exe remboursez";

fn veille(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veille"))
        .env_remove("VEILLE_CONFIG")
        .env_remove("RUST_LOG")
        .env("USER", "alice")
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A feed of mentions by named authors, one of them hostile.
fn feed() -> String {
    let item = |title: &str, link: &str, author: &str, minutes: i64| {
        format!(
            "<item><title>{title}</title><link>{link}</link><description>Acme, service client nul, arnaque</description><dc:creator>{author}</dc:creator><pubDate>{}</pubDate></item>",
            ago(minutes)
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Forum</title><link>https://forum.example/</link>{}{}{}</channel></rss>"#,
        item(HOSTILE, "https://forum.example/1", "Zoë Ångström", 5),
        item(
            "Acme encore une arnaque",
            "https://forum.example/2",
            "東京の店",
            10
        ),
        item(
            "Acme arnaque, mon avis",
            "https://forum.example/3",
            "Zoë Ångström",
            15
        ),
    )
}

/// A config (Europe/Paris), its data after one run, and the receivers it delivered to.
struct Fixture {
    setup: Setup,
    hooks: WebhookReceiver,
    _feeds: FeedServer,
    smtp: SmtpServer,
}

impl Fixture {
    fn cfg(&self) -> String {
        self.setup.config_path().display().to_string()
    }

    /// `veille ARGS --config CFG`, which must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    fn run(&self, args: &[&str]) -> Output {
        let cfg = self.cfg();
        let mut all = args.to_vec();
        all.extend(["--config", &cfg]);
        veille(&all)
    }

    /// The JSON lines of `veille ARGS --json`.
    fn json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = args.to_vec();
        all.push("--json");
        self.ok(&all)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

async fn fixture() -> Fixture {
    let feeds = FeedServer::start().await;
    feeds.set("/forum.xml", Route::rss(feed()));
    let hooks = WebhookReceiver::start().await;
    let smtp = SmtpServer::start();
    let s = Setup::new();
    s.secret("slack", &format!("{}\n", hooks.url("/slack")));
    let cfg = base_config().replace(
        "listen = \"\"",
        "listen = \"\"\ntimezone = \"Europe/Paris\"",
    ) + &rss_source("forum-conso", &feeds.url("/forum.xml"))
        + &format!(
            "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{}\"\nallow_private = true\n",
            hooks.url("/hook")
        )
        + "\n[notifier.chat]\nkind = \"slack\"\nurl_file = \"secrets/slack\"\nallow_private = true\n"
        + &format!(
            "\n[notifier.mail]\nkind = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\nfrom = \"veille@example.org\"\nto = [\"cm@example.org\"]\nallow_private = true\n",
            smtp.port
        )
        + "\n[digest.daily]\nschedule = \"0 8 * * *\"\nnotify = [\"hook\"]\n";
    s.write(&cfg);
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nquery = \"arnaque\"\nnotify = [\"hook\", \"chat\", \"mail\"]\n",
    );
    run_once(s.load()).await;
    Fixture {
        setup: s,
        hooks,
        _feeds: feeds,
        smtp,
    }
}

fn has(v: &Value, fields: &[&str]) {
    for f in fields {
        assert!(v.get(f).is_some(), "no `{f}` in {v}");
    }
}

/// RFC 3339 UTC, as the API writes it.
fn utc(v: &Value) -> chrono::DateTime<chrono::Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a date: {v}"));
    assert!(s.ends_with('Z'), "not UTC: {s}");
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_json() {
    let f = fixture().await;
    let rows = f.json(&["sources"]);
    assert_eq!(rows.len(), 1);
    has(
        &rows[0],
        &[
            "id",
            "kind",
            "health",
            "every",
            "failures",
            "items_seen",
            "items_failed",
            "last_polled",
            "last_success",
            "next_due",
            "last_error",
            "last_error_at",
        ],
    );
    assert_eq!(
        (rows[0]["id"].as_str(), rows[0]["health"].as_str()),
        (Some("forum-conso"), Some("ok"))
    );
    utc(&rows[0]["last_success"]);
    // `sources test ID`: what one poll yields, one mention per line.
    let items = f.json(&["sources", "test", "forum-conso"]);
    assert_eq!(items.len(), 3);
    has(
        &items[0],
        &["id", "title", "url", "published_at", "matched_brands"],
    );
    assert_eq!(items[0]["matched_brands"][0], "acme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_json_and_a_table_in_local_time_without_bidi_controls() {
    let f = fixture().await;
    let rows = f.json(&["alerts"]);
    assert!(!rows.is_empty());
    has(&rows[0], &["seq", "alert", "deliveries"]);
    has(
        &rows[0]["alert"],
        &[
            "rule",
            "brand",
            "severity",
            "created_at",
            "summary",
            "mentions",
            "incident",
            "status",
        ],
    );
    has(
        &rows[0]["deliveries"][0],
        &["notifier", "state", "attempts", "last_error"],
    );
    let created = utc(&rows[0]["alert"]["created_at"]);

    let table = f.ok(&["alerts"]);
    assert!(!table.contains('\u{202E}'), "{table:?}");
    // Local time with its zone: Paris is UTC+1 in winter, UTC+2 in summer.
    let paris = created.with_timezone(&chrono_tz::Europe::Paris);
    let shown = format!("{} {}", paris.format("%Y-%m-%d %H:%M"), paris.format("%Z"));
    assert!(
        shown.ends_with(" CET") || shown.ends_with(" CEST"),
        "{shown}"
    );
    assert!(table.contains(&shown), "{shown} not in\n{table}");
    // The rule column starts at the same display column on every row.
    let col = |l: &str| {
        let i = l.find("crisis").or_else(|| l.find("rule"))?;
        Some(unicode_width::UnicodeWidthStr::width(&l[..i]))
    };
    let starts: Vec<usize> = table
        .lines()
        .filter(|l| !l.starts_with("  "))
        .filter_map(col)
        .collect();
    assert!(
        starts.len() >= 2 && starts.iter().all(|&c| c == starts[0]),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authors_json_and_a_table_without_internal_keys() {
    let f = fixture().await;
    let rows = f.json(&["authors", "--brand", "acme"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        has(
            r,
            &[
                "author",
                "name",
                "where",
                "mentions",
                "reach",
                "negative",
                "influence",
            ],
        );
    }
    assert_eq!(rows[0]["author"], "Zoë Ångström");
    assert_eq!(rows[0]["mentions"], 2);
    assert_eq!(rows[0]["where"], "forum.example");
    let table = f.ok(&["authors", "--brand", "acme"]);
    assert!(
        !table.contains("forum.example:"),
        "an internal key shows: {table}"
    );
    // The counts line up although one name is two columns per character.
    let ends: Vec<usize> = table
        .lines()
        .skip(1)
        .map(|l| unicode_width::UnicodeWidthStr::width(l.split("forum.example").next().unwrap()))
        .collect();
    assert!(ends.len() == 2 && ends[0] == ends[1], "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_list_json_records_the_author() {
    let f = fixture().await;
    f.ok(&[
        "silence",
        "add",
        "--brand",
        "acme",
        "--for",
        "2h",
        "--reason",
        "statement out",
    ]);
    f.ok(&[
        "silence", "add", "--rule", "crisis", "--for", "1h", "--author", "bob",
    ]);
    let rows = f.json(&["silence", "list"]);
    assert_eq!(rows.len(), 2);
    for r in &rows {
        has(
            r,
            &[
                "id",
                "rule",
                "brand",
                "starts_at",
                "ends_at",
                "expired_at",
                "reason",
                "author",
                "active",
            ],
        );
    }
    // The default author is the user running the command.
    assert_eq!(
        (rows[0]["author"].as_str(), rows[0]["reason"].as_str()),
        (Some("alice"), Some("statement out"))
    );
    assert_eq!(rows[1]["author"], "bob");
    assert_eq!(rows[0]["active"], true);
    let table = f.ok(&["silence", "list"]);
    assert!(table.contains("alice") && table.contains("bob"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_json_lists_and_dry_runs() {
    let f = fixture().await;
    let rows = f.json(&["digest"]);
    assert_eq!(rows.len(), 1);
    has(
        &rows[0],
        &[
            "name", "schedule", "timezone", "next", "last", "notify", "retries",
        ],
    );
    // Without a zone of its own, the digest runs in the installation's.
    assert_eq!(rows[0]["timezone"], "Europe/Paris");
    let next = utc(&rows[0]["next"]).with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(next.format("%H:%M").to_string(), "08:00");
    let out = f.ok(&["digest", "--now", "daily", "--dry-run", "--json"]);
    let d: Value = serde_json::from_str(&out).unwrap();
    has(&d, &["name", "start", "end", "brands"]);
    assert_eq!(d["brands"][0]["id"], "acme");
    let title = f.ok(&["digest", "--now", "daily", "--dry-run"]);
    let first = title.lines().next().unwrap_or_default().to_string();
    assert!(
        first.ends_with(" CET") || first.ends_with(" CEST"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_test_json() {
    let f = fixture().await;
    let rows = f.json(&["rules", "test", "crisis", "--from", "1d"]);
    assert!(!rows.is_empty());
    has(&rows[0], &["alert", "notify", "silenced"]);
    assert_eq!(rows[0]["alert"]["rule"], "crisis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_list_show_and_ack() {
    let f = fixture().await;
    let rows = f.json(&["incidents", "--open"]);
    assert!(!rows.is_empty());
    has(
        &rows[0],
        &[
            "id",
            "rule",
            "brand",
            "group",
            "state",
            "opened_at",
            "last_true_at",
            "last_alert_at",
            "resolved_at",
            "alerts",
            "suppressed",
            "acked_at",
            "acked_by",
        ],
    );
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        f.json(&["incidents", "--rule", "crisis", "--brand", "acme"])
            .len(),
        rows.len()
    );
    assert!(f.json(&["incidents", "--brand", "globex"]).is_empty());

    let shown = f.json(&["incidents", "show", &id]);
    has(&shown[0], &["incident", "alerts"]);
    let alert = &shown[0]["alerts"][0];
    has(alert, &["seq", "alert", "deliveries"]);
    assert!(!alert["alert"]["mentions"].as_array().unwrap().is_empty());
    let page = f.ok(&["incidents", "show", &id]);
    assert!(
        page.contains("Acme") && !page.contains('\u{202E}'),
        "{page}"
    );

    let out = f.ok(&["incidents", "ack", &id]);
    assert!(out.contains("acknowledged by alice"), "{out}");
    let acked = f.json(&["incidents", "show", &id]);
    assert_eq!(acked[0]["incident"]["acked_by"], "alice");
    let table = f.ok(&["incidents"]);
    assert!(table.contains("acked by alice"), "{table}");

    // Names that do not exist: status 3.
    for args in [
        vec!["incidents", "show", "999"],
        vec!["incidents", "ack", "999"],
        vec!["incidents", "--rule", "nosuch"],
        vec!["incidents", "--brand", "nosuch"],
    ] {
        let out = f.run(&args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_statuses_say_what_went_wrong() {
    let f = fixture().await;
    let code = |args: &[&str]| {
        let out = f.run(args);
        (out.status.code(), text(&out.stderr))
    };
    // 3: a name that does not exist, in every filter.
    for args in [
        &["search", "--source", "nosuch", "acme"][..],
        &["search", "--brand", "nosuch"],
        &["authors", "--brand", "nosuch"],
        &["sources", "test", "nosuch"],
        &["rules", "test", "nosuch"],
        &["silence", "add", "--brand", "nosuch", "--for", "1h"],
        &["silence", "expire", "999"],
        &["alerts", "retry", "999"],
        &["digest", "--now", "nosuch"],
    ] {
        let (c, err) = code(args);
        assert_eq!(c, Some(3), "{args:?}: {err}");
        assert!(err.contains("nosuch") || err.contains("999"), "{err}");
    }
    // 2: usage.
    for args in [
        &["search", "--limit", "0", "acme"][..],
        &["alerts", "-n", "0"],
        &["search", "--sentiment", "grumpy"],
        &["search", "acme AND (x"],
        &["search", "--since", "yesterday"],
        &["silence", "add", "--for", "1h"],
    ] {
        let (c, err) = code(args);
        assert_eq!(c, Some(2), "{args:?}: {err}");
    }
    // 2: a config that does not load.
    std::fs::write(f.setup.path().join("broken.toml"), "[daemon]\nlisten = 3\n").unwrap();
    let out = veille(&[
        "alerts",
        "--config",
        f.setup.path().join("broken.toml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // 1: a runtime failure (no index where the config says).
    std::fs::remove_dir_all(f.setup.path().join("data/index")).unwrap();
    let (c, err) = code(&["search", "acme"]);
    assert_eq!(c, Some(1), "{err}");
    // A lower-case operator word is a hint, not an error ("or" is a French word).
    let out = f.run(&["alerts"]);
    assert!(out.status.success());
    let help = veille(&["--help"]);
    let help = text(&help.stdout);
    assert!(
        help.contains("Exit status: 0 ok · 1 runtime failure · 2 usage or configuration error · 3"),
        "{help}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lower_case_or_gives_a_hint() {
    let f = fixture().await;
    let out = f.run(&["search", "acme or globex"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("hint: `or` is searched as a word"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_quietly() {
    let f = fixture().await;
    let cfg = f.cfg();
    for args in [
        ["alerts", "--config", &cfg],
        ["sources", "--config", &cfg],
        ["search", "--config", &cfg],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_veille"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the command writes: `veille alerts | head -0`.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = text(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0) | None),
            "{args:?}: {:?} {err}",
            out.status
        );
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_mails_and_chat_messages_show_local_time_with_the_zone() {
    let f = fixture().await;
    let alert = f.json(&["alerts"]).pop().unwrap();
    let published = utc(&alert["alert"]["mentions"][0]["published_at"]);
    let paris = published.with_timezone(&chrono_tz::Europe::Paris);
    let local = format!("{} {}", paris.format("%Y-%m-%d %H:%M"), paris.format("%Z"));
    let utc_text = format!("{} UTC", published.format("%Y-%m-%d %H:%M"));

    let slack = f.hooks.on("/slack");
    assert!(!slack.is_empty(), "no chat message");
    let body = slack[0].json().to_string();
    assert!(body.contains(&local), "{local} not in {body}");
    assert!(!body.contains(&utc_text), "{body}");

    let mails = f.smtp.messages();
    assert!(!mails.is_empty(), "no e-mail");
    let m = mail_parser::MessageParser::default()
        .parse(&mails[0][..])
        .unwrap();
    let plain = m.body_text(0).unwrap().to_string();
    assert!(plain.contains(&local), "{local} not in {plain}");
    // The generic webhook carries JSON: RFC 3339 UTC.
    let hook = f.hooks.on("/hook")[0].json();
    assert!(hook.to_string().contains('Z'), "{hook}");
}

/// `veille check` refuses what `run` would refuse, all of it in one run, each problem at
/// FILE:LINE:COLUMN of its value.
#[test]
fn check_reports_five_problems_in_one_run_at_their_positions() {
    let s = Setup::new();
    let cfg = base_config()
        .replace(
            "listen = \"\"",
            "listen = \"not-an-addr:99999\"\ntimezone = \"Europe/Pariss\"",
        )
        .replace("[crawl]", "[crawl]\nmax_body = \"0\"\nconcurrency = 0")
        + "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"https://hooks.example.org/x\"\n";
    let path = s.write(&cfg);
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"hook\", \"nosuch\"]\n",
    );
    let out = veille(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let p = path.display().to_string();
    // Line and column of `needle`'s value in the config.
    let at = |needle: &str| {
        let (i, l) = cfg
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with(needle))
            .unwrap();
        format!("{p}:{}:{}: ", i + 1, l.find('=').unwrap() + 3)
    };
    let rules = s.path().join("rules/r.toml").display().to_string();
    let expected = [
        format!(
            "{}`listen = \"not-an-addr:99999\"`: `99999` is not a port",
            at("listen")
        ),
        format!("{}unknown time zone `Europe/Pariss`", at("timezone")),
        format!("{}`max_body` must be more than 0", at("max_body")),
        format!("{}`concurrency` must be at least 1", at("concurrency")),
        format!("{rules}:5:19: unknown notifier `nosuch`"),
    ];
    let problems: Vec<&str> = err.lines().filter(|l| l.contains(".toml:")).collect();
    assert_eq!(problems.len(), 5, "{err}");
    for e in &expected {
        assert!(
            problems.iter().any(|l| l.starts_with(e.as_str())),
            "{e}\nnot in\n{err}"
        );
    }
}

/// A rule that does not build still has its brand and notifiers checked: three problems
/// of one rule, three lines.
#[test]
fn check_reports_every_problem_of_a_rule() {
    let s = Setup::new();
    let path = s.write(&base_config());
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"r\"\nbrand = \"nobody\"\nkind = \"spike\"\nnotify = [\"ghost\"]\n",
    );
    let out = veille(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let rules = s.path().join("rules/r.toml").display().to_string();
    for e in [
        format!("{rules}:1:1: kind = \"spike\" needs `ratio`"),
        format!("{rules}:3:9: unknown brand `nobody`"),
        format!("{rules}:5:11: unknown notifier `ghost`"),
    ] {
        assert!(err.lines().any(|l| l.starts_with(&e)), "{e}\nnot in\n{err}");
    }
}

/// Without `[daemon] timezone`, times are read in the system's zone (`TZ` here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_zone_the_systems_is_used() {
    let f = fixture().await;
    let cfg = std::fs::read_to_string(f.setup.config_path())
        .unwrap()
        .replace("timezone = \"Europe/Paris\"\n", "");
    let other = f.setup.path().join("no-zone.toml");
    std::fs::write(&other, cfg).unwrap();
    let alert = f.json(&["alerts"]).pop().unwrap();
    let created = utc(&alert["alert"]["created_at"]).with_timezone(&chrono_tz::America::New_York);
    let shown = format!(
        "{} {}",
        created.format("%Y-%m-%d %H:%M"),
        created.format("%Z")
    );
    let out = Command::new(env!("CARGO_BIN_EXE_veille"))
        .env("TZ", "America/New_York")
        .args(["alerts", "--config", other.to_str().unwrap()])
        .output()
        .unwrap();
    let table = text(&out.stdout);
    assert!(table.contains(&shown), "{shown} not in\n{table}");
}
