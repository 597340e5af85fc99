//! The command line's conventions (issue 17 points 3 and 4, issue 14 point 8): exit
//! statuses, a closed pipe, query hints, `veille check` listing every problem at its
//! position, and local time with its zone in e-mails and chat messages.

mod common;

use std::process::{Command, Stdio};

use common::Setup;
use common::base_config;
use common::cli::*;

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
    // The alert that went to the chat and the mail: `crisis`.
    let alert = f
        .json(&["alerts"])
        .into_iter()
        .find(|a| a["alert"]["rule"] == "crisis")
        .unwrap();
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
        "[[rule]]\nid = \"r\"\nbrand = \"nobody\"\nkind = \"spike\"\nnotify = [\"ghost\"]\nwindow = \"0s\"\nsentiment = \"negatve\"\nquery = \"acme AND (\"\n",
    );
    let out = veille(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let rules = s.path().join("rules/r.toml").display().to_string();
    for e in [
        format!("{rules}:1:1: kind = \"spike\" needs `ratio`"),
        format!("{rules}:3:9: unknown brand `nobody`"),
        format!("{rules}:5:11: unknown notifier `ghost`"),
        // The rule's own problems, all of them, not only the first.
        format!("{rules}:1:1: kind = \"spike\" needs `baseline`"),
        format!("{rules}:1:1: kind = \"spike\" needs `min_count`"),
        format!("{rules}:6:10: `window` must be longer than 0s"),
        format!("{rules}:7:13: unknown sentiment `negatve`"),
        format!("{rules}:8:"),
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

/// The demo's report is printed with `println!`, which panics on a closed stdout: that
/// ends quietly too (`veille demo | head -1`).
#[test]
fn the_demo_into_a_closed_pipe_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veille"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

/// An e-mail notifier's problems come all at once: a bad server address does not hide
/// a bad sender or recipient.
#[test]
fn check_reports_every_problem_of_an_email_notifier() {
    let s = Setup::new();
    let path = s.write(
        &(base_config()
            + "\n[notifier.mail]\nkind = \"email\"\nsmtp_url = \"ftp://nowhere\"\nfrom = \"not an address\"\nto = [\"ok@example.org\", \"also wrong\"]\n"),
    );
    let out = veille(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for needle in ["invalid smtp_url", "not an address", "also wrong"] {
        assert!(
            err.lines().any(|l| l.contains(needle)),
            "{needle}\nnot in\n{err}"
        );
    }
}
