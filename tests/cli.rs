//! The `veille` binary: check, search, demo, crash safety and graceful shutdown.
//!
//! Over 600 lines: each test drives the real binary through a whole scenario (setup,
//! commands, checks), read on its own; the newer CLI subjects live in `cli_json.rs` and
//! `cli_conventions.rs`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn veille() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_veille"));
    c.env_remove("VEILLE_CONFIG").env_remove("RUST_LOG");
    c
}

fn run(args: &[&str]) -> Output {
    veille().args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// How long a daemon under test may take to reach a step. Generous on
/// purpose: CI runs a debug build on 2 shared cores with the other tests of
/// this file in parallel; a bound here only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(90);

/// Waits (bounded) for a condition on an external process.
fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    if !db.exists() {
        return 0;
    }
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

#[test]
fn check_reports_every_problem_with_file_line_column() {
    let s = Setup::new();
    let cfg = base_config().replace("[crawl]", "[crawl]\nconcurency = 4")
        + "\n[[source]]\nid = \"x\"\nkind = \"rss\"\nurl = \"ftp://nope\"\n";
    let path = s.write(&cfg);
    s.rules(
        "bad.toml",
        "[[rule]]\nid = \"r\"\nbrand = \"nobody\"\nkind = \"match\"\n",
    );
    let out = run(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let p = path.display().to_string();
    let line = cfg
        .lines()
        .position(|l| l.starts_with("concurency"))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!("{p}:{line}:1: unknown field `concurency`")),
        "{err}"
    );
    assert!(err.contains("unsupported URL scheme `ftp`"), "{err}");
    let rp = s.path().join("rules/bad.toml").display().to_string();
    assert!(
        err.contains(&format!("{rp}:3:9: unknown brand `nobody`")),
        "{err}"
    );
}

/// A start-up failure names the step, the setting and the cause, and the process ends
/// with an error status instead of running half started.
#[test]
fn a_listen_address_in_use_names_the_setting_and_the_cause() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let s = Setup::new();
    let path = s.write(&base_config().replace("listen = \"\"", &format!("listen = \"{addr}\"")));
    let out = run(&["run", "--once", "--config", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on {addr} ([daemon] listen): "))
            && err.to_lowercase().contains("address already in use"),
        "{err}"
    );
}

#[test]
fn check_accepts_the_shipped_example_config_and_rules() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let s = Setup::new();
    for name in ["smtp-password", "slack-webhook", "competitor-webhook"] {
        s.secret(name, "https://chat.example.org/hooks/abc\n");
    }
    let cfg = std::fs::read_to_string(repo.join("deploy/veille.toml"))
        .unwrap()
        .replace(
            "/etc/veille/secrets/",
            &format!("{}/secrets/", s.path().display()),
        )
        .replace(
            "/etc/veille/rules",
            &repo.join("rules").display().to_string(),
        )
        .replace(
            "/var/lib/veille",
            &s.path().join("data").display().to_string(),
        );
    let path = s.write(&cfg);
    let out = run(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("OK")
            && stdout.contains("9 rule(s)")
            && stdout.contains("13 rule test(s) passed"),
        "{stdout}"
    );
}

#[test]
fn demo_runs_offline_and_delivers() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("demo");
    let out = run(&["demo", "--keep", dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    for expected in [
        "Sources polled",
        "Mentions per brand",
        "Alerts raised",
        "→ crisis-mail (email)",
        "→ team-chat (slack)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // Each stage as it happens: a source polled, then an alert it raised, then its
    // delivery, before the summary.
    let at = |needle: &str| {
        stdout
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} in {stdout}"))
    };
    assert!(
        at("✓ polled") < at("⚑ alert") && at("⚑ alert") < at("→ "),
        "{stdout}"
    );
    assert!(at("→ ") < at("Sources polled"), "{stdout}");
    // --keep keeps what the servers received, and a config with a digest.
    let received: Vec<String> = std::fs::read_dir(dir.join("received"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mails = received.iter().filter(|f| f.ends_with(".eml")).count();
    let payloads = received.iter().filter(|f| f.ends_with(".json")).count();
    assert!(mails >= 1 && payloads >= 1, "{received:?}");
    assert!(
        stdout.contains(&format!(
            "({mails} e-mail(s) as .eml, {payloads} payload(s) as .json)"
        )),
        "{stdout}"
    );
    let eml = std::fs::read(dir.join("received/mail-1.eml")).unwrap();
    assert!(mail_parser::MessageParser::default().parse(&eml).is_some());
    let out = run(&[
        "digest",
        "--config",
        dir.join("veille.toml").to_str().unwrap(),
        "--now",
        "demo",
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Digest demo"),
        "{}",
        text(&out.stdout)
    );
    assert!(!stdout.contains('✗'), "{stdout}");
    // Issue 14: the forum's old threads are no alert — one older than the look-back is
    // skipped, one older than max_age indexed without alerting — and on a first day no
    // site is "new".
    assert!(
        stdout.contains("old items: 1 older than the sources' look-back (backfill = 7d) skipped, 1 older than the rules' max_age indexed without alerting"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("cartes cadeaux") && !stdout.contains("de l'an dernier"),
        "{stdout}"
    );
    assert!(!stdout.contains("new site"), "{stdout}");
    // The forum's relative links resolve against its xml:base, session ids dropped.
    assert!(
        stdout.contains("(forum-conso.example)") && !stdout.contains("(127.0.0.1)"),
        "{stdout}"
    );
    // The kept data can be searched afterwards, newest first.
    let config = dir.join("veille.toml");
    let out = run(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--brand",
        "acme",
        "arnaque OR boycott",
    ]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}{}", text(&out.stderr));
    let dates: Vec<&str> = s
        .lines()
        .filter(|l| l.starts_with("20"))
        .map(|l| &l[..16])
        .collect();
    assert!(dates.len() >= 2, "{s}");
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first: {s}");
    // The forum's links: resolved against its xml:base, phpBB's session id dropped.
    let out = run(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "injoignable",
    ]);
    let f = text(&out.stdout);
    assert!(
        f.contains("https://forum-conso.example/viewtopic.php?t=9912 ") && !f.contains("sid="),
        "{f}"
    );
    // JSON for scripts.
    let out = run(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--json",
        "--limit",
        "1",
        "globex",
    ]);
    let line = text(&out.stdout);
    let m: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert!(m["title"].as_str().unwrap().contains("Globex"));
    // Filters: sentiment, language and a time window (dates or durations).
    let json_lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["search", "--config", config.to_str().unwrap(), "--json"];
        all.extend_from_slice(args);
        let out = run(&all);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = json_lines(&["--limit", "100", "acme"]);
    let neg_fr = json_lines(&[
        "--limit",
        "100",
        "--sentiment",
        "negative",
        "--lang",
        "fr",
        "acme",
    ]);
    assert!(
        !neg_fr.is_empty() && neg_fr.len() < all.len(),
        "{} of {}",
        neg_fr.len(),
        all.len()
    );
    for m in &neg_fr {
        assert_eq!(m["sentiment"]["label"], "negative", "{m}");
        assert_eq!(m["language"], "fr", "{m}");
    }
    assert_eq!(
        json_lines(&[
            "--limit",
            "100",
            "--since",
            "2000-01-01",
            "--until",
            "now",
            "acme"
        ])
        .len(),
        all.len()
    );
    assert!(json_lines(&["--limit", "100", "--until", "2000-01-01", "acme"]).is_empty());
    let out = run(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--sentiment",
        "grumpy",
        "acme",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A query that does not parse points at the column.
    let out = run(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "acme AND (x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("column 12"),
        "{}",
        text(&out.stderr)
    );
    // Backtesting a rule on the kept history prints its firings with their mentions.
    let cfg = config.to_str().unwrap();
    let out = run(&[
        "rules",
        "test",
        "--config",
        cfg,
        "acme-crisis-words",
        "--from",
        "3650d",
    ]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}{}", text(&out.stderr));
    let n: usize = s
        .split(": ")
        .nth(1)
        .and_then(|x| x.split(' ').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{s}"));
    assert!(n >= 1, "{s}");
    assert!(s.contains("[new] critical"), "{s}");
    assert!(s.to_lowercase().contains("arnaque"), "{s}");
    // The same window written as dates: the same firings; a window before the history:
    // none; a window that ends before it starts: an error.
    let firings = |from: &str, to: &str| -> String {
        let out = run(&[
            "rules",
            "test",
            "--config",
            cfg,
            "acme-crisis-words",
            "--from",
            from,
            "--to",
            to,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .split(": ")
            .nth(1)
            .unwrap_or_default()
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(firings("2000-01-01", "now"), n.to_string());
    assert_eq!(firings("2000-01-01T00:00:00Z", "3650d"), "0");
    let out = run(&[
        "rules",
        "test",
        "--config",
        cfg,
        "acme-crisis-words",
        "--from",
        "1d",
        "--to",
        "2d",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--from must come before --to"));
    let out = run(&[
        "rules",
        "test",
        "--config",
        cfg,
        "acme-crisis-words",
        "--to",
        "yesterday",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("expected now, a duration ago"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["rules", "test", "--config", cfg, "nope"]);
    assert_eq!(out.status.code(), Some(3), "a name that does not exist");
    assert!(text(&out.stderr).contains("unknown rule `nope`"));
    // Silences: add, list, expire.
    let out = run(&[
        "silence",
        "add",
        "--config",
        cfg,
        "--brand",
        "acme",
        "--for",
        "2h",
        "--reason",
        "statement published",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let added = text(&out.stdout);
    let id = added
        .split('#')
        .nth(1)
        .and_then(|x| x.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or_else(|| panic!("{added}"))
        .to_string();
    let list = text(&run(&["silence", "list", "--config", cfg]).stdout);
    assert!(
        list.contains("statement published") && list.contains("acme"),
        "{list}"
    );
    let out = run(&["silence", "expire", "--config", cfg, &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["silence", "expire", "--config", cfg, &id]);
    assert_eq!(out.status.code(), Some(3), "already ended");
    let out = run(&["silence", "add", "--config", cfg, "--for", "1h"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a silence of everything is refused"
    );
}

#[test]
fn check_runs_the_rule_tests_and_reports_failures() {
    let s = Setup::new();
    s.write(&(base_config() + "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nallow_private = true\n"));
    s.rules(
        "r.toml",
        r#"[[rule]]
id = "volume"
brand = "acme"
kind = "threshold"
window = "1h"
min_count = 3
notify = ["hook"]

[[rule.test]]
name = "three in the hour"
mentions = [{ ago = "30m", title = "Acme", count = 3 }]
expect_alerts = 1

[[rule.test]]
name = "wrong on purpose"
mentions = [{ ago = "30m", title = "Acme", count = 2 }]
expect_alerts = 1
"#,
    );
    let out = run(&["check", "--config", s.config_path().to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "test `wrong on purpose` of rule `volume`: expected 1 alert(s), the rule raised 0"
        ),
        "{err}"
    );
    assert!(err.contains("1 of 2 rule test(s) failed"), "{err}");
}

/// Config with one feed holding a crisis item and a webhook notifier at `hook_url`.
async fn crash_setup(feeds: &FeedServer, hook_url: &str) -> Setup {
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Boycott Acme",
            "https://b.example/1",
            "x",
            &ago(1),
        )])),
    );
    let s = Setup::new();
    s.write(
        &(base_config()
            + &rss_source("f", &feeds.url("/f.xml"))
            + &format!("\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{hook_url}\"\nallow_private = true\n")),
    );
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"hook\"]\n",
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_outbox_write_and_delivery_delivers_exactly_once() {
    let feeds = FeedServer::start().await;
    let port = free_port();
    let hook_url = format!("http://127.0.0.1:{port}/hook");
    let s = crash_setup(&feeds, &hook_url).await;
    let config = s.config_path();
    let db = s.path().join("data/state.sqlite");

    // The daemon writes the alert to the outbox; the receiver is down, so it cannot be
    // delivered. Kill it hard (SIGKILL: no cleanup at all).
    let mut child = veille()
        .args(["run", "--config", config.to_str().unwrap()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the alert in the outbox", PATIENCE, || {
        count(&db, "SELECT COUNT(*) FROM alerts") == 1
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'"
        ),
        1
    );

    // The receiver comes up; a new process delivers the alert once...
    let hooks = WebhookReceiver::start_on(&format!("127.0.0.1:{port}")).await;
    let config2 = config.clone();
    let out = tokio::task::spawn_blocking(move || {
        veille()
            .args(["run", "--once", "--config", config2.to_str().unwrap()])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(hooks.received().len(), 1);
    // ...and another restart sends nothing more.
    let out = tokio::task::spawn_blocking(move || {
        veille()
            .args(["run", "--once", "--config", config.to_str().unwrap()])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success());
    assert_eq!(hooks.received().len(), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM alerts"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_secrets_stay_out_of_logs() {
    let feeds = FeedServer::start().await;
    let hooks = WebhookReceiver::start().await;
    let secret_url = hooks.url("/T0KEN-s3cr3t-path");
    let s = crash_setup(&feeds, "http://127.0.0.1:9/unused").await;
    // The chat URL is a secret: it comes from a file and must never be logged.
    s.secret("chat", &secret_url);
    let cfg = std::fs::read_to_string(s.config_path()).unwrap()
        + "\n[notifier.chat]\nkind = \"mattermost\"\nurl_file = \"secrets/chat\"\nallow_private = true\n";
    s.write(&cfg);
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"chat\"]\n",
    );
    let db = s.path().join("data/state.sqlite");
    let child = veille()
        .args(["run", "--config", s.config_path().to_str().unwrap()])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let hooks_ref = &hooks;
    tokio::task::block_in_place(|| {
        wait_until("the alert delivered", PATIENCE, || {
            !hooks_ref.received().is_empty()
        })
    });
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM sources WHERE last_success IS NOT NULL"
        ) == 1
    );
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded shutdown"
    );
    let logs = text(&out.stderr);
    assert!(out.status.success(), "{logs}");
    assert!(
        logs.contains("SIGTERM received") && logs.contains("veille stopped"),
        "{logs}"
    );
    assert!(
        !logs.contains("T0KEN-s3cr3t-path"),
        "a secret leaked into the logs"
    );
}

/// A delivery hanging on a slow chat server does not hold SIGTERM past
/// `shutdown_timeout`: the daemon stops in time, the index is committed, and the alert
/// stays pending for the next start (nothing lost, nothing half-written).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_is_bounded_even_with_a_hanging_delivery() {
    let feeds = FeedServer::start().await;
    let mut hang = Route::ok("text/plain", "ok");
    hang.delay = Some(Duration::from_secs(120));
    feeds.set("/hook", hang);
    let s = crash_setup(&feeds, &feeds.url("/hook")).await;
    let cfg = std::fs::read_to_string(s.config_path()).unwrap().replacen(
        "listen = \"\"",
        "listen = \"\"\nshutdown_timeout = \"2s\"",
        1,
    );
    s.write(&cfg);
    let db = s.path().join("data/state.sqlite");
    let child = veille()
        .args(["run", "--config", s.config_path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let feeds_ref = &feeds;
    tokio::task::block_in_place(|| {
        wait_until("the delivery in flight", PATIENCE, || {
            !feeds_ref.requests("/hook").is_empty()
        })
    });
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let took = started.elapsed();
    let logs = text(&out.stderr);
    assert!(out.status.success(), "{logs}");
    assert!(
        took < Duration::from_secs(5),
        "stopped after {took:?}:\n{logs}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'"
        ),
        1,
        "the alert waits for the next start"
    );
    assert!(logs.contains("veille stopped"), "{logs}");
}

/// Reads a child's stderr into a shared string as it comes.
fn collect(stderr: std::process::ChildStderr) -> std::sync::Arc<std::sync::Mutex<String>> {
    use std::io::BufRead;
    let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let l = logs.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let mut l = l.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    logs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_a_broken_rule_file_keeps_the_old_rules() {
    let feeds = FeedServer::start().await;
    let hooks = WebhookReceiver::start().await;
    let s = crash_setup(&feeds, &hooks.url("/hook")).await;
    let child = veille()
        .args(["run", "--config", s.config_path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = scopeguard(child);
    let logs = collect(child.0.stderr.take().unwrap());
    let pid = child.0.id().to_string();
    let hup = || {
        Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    };
    let hooks_ref = &hooks;
    tokio::task::block_in_place(|| {
        wait_until("the first alert", PATIENCE, || {
            hooks_ref.received().len() == 1
        })
    });

    // A broken rule file: the reload is refused, the old rules stay in force.
    s.rules(
        "zz.toml",
        "[[rule]]\nid = \"oops\"\nbrand = \"acme\"\nkind = \"treshold\"\n",
    );
    hup();
    tokio::task::block_in_place(|| {
        wait_until("the refusal in the logs", PATIENCE, || {
            logs.lock().unwrap().contains("reload refused")
        })
    });
    let l = logs.lock().unwrap().clone();
    assert!(
        l.contains("zz.toml:4:8: unknown variant `treshold`"),
        "the problem is located: {l}"
    );

    // Fixed, with a new source and a new rule: both are in force after the reload.
    std::fs::remove_file(s.path().join("rules/zz.toml")).unwrap();
    feeds.set(
        "/g.xml",
        Route::rss(rss(&[(
            "Globex rachète Initech",
            "https://g.example/1",
            "x",
            &ago(1),
        )])),
    );
    let cfg = std::fs::read_to_string(s.config_path()).unwrap()
        + "\n[[source]]\nid = \"g\"\nkind = \"rss\"\nurl = \""
        + &feeds.url("/g.xml")
        // A new source's first poll is a backfill: asked to alert, as the test expects.
        + "\"\nevery = \"10s\"\nallow_private = true\nbackfill_alerts = true\n";
    s.write(&cfg);
    s.rules(
        "g.toml",
        "[[rule]]\nid = \"competitor\"\nbrand = \"globex\"\nkind = \"match\"\nnotify = [\"hook\"]\n",
    );
    hup();
    tokio::task::block_in_place(|| {
        wait_until("the new rule's alert", PATIENCE, || {
            hooks_ref.received().len() == 2
        })
    });
    let body = hooks.received()[1].body.clone();
    assert!(
        body.contains("competitor") && body.contains("Globex"),
        "{body}"
    );
    assert!(logs.lock().unwrap().contains("configuration reloaded"));
    // The old source was not polled again because of the reload.
    assert_eq!(feeds.requests("/f.xml").len(), 1);
}

/// Kills the child when the test ends, even on failure.
struct ChildGuard(std::process::Child);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
fn scopeguard(c: std::process::Child) -> ChildGuard {
    ChildGuard(c)
}

/// systemd's side of the notify protocol: a datagram socket at NOTIFY_SOCKET.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tells_systemd_ready_watchdog_status_reloading_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let feeds = FeedServer::start().await;
    let hooks = WebhookReceiver::start().await;
    let s = crash_setup(&feeds, &hooks.url("/hook")).await;
    // Secrets that must never reach the logs: an API token and a chat URL.
    let token = "T0KEN-api-0123456789abcdef0123456789abcdef";
    s.secret("api", token);
    s.secret("chat", &hooks.url("/S3CRET-chat-path"));
    let cfg = std::fs::read_to_string(s.config_path()).unwrap()
        + "\n[notifier.chat]\nkind = \"mattermost\"\nurl_file = \"secrets/chat\"\nallow_private = true\n"
        + "\n[[api.token]]\nname = \"ops\"\nscope = \"admin\"\nfile = \"secrets/api\"\n";
    s.write(&cfg);
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"hook\", \"chat\"]\n",
    );
    let sock_path = s.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let child = veille()
        .args([
            "run",
            "--log-format",
            "json",
            "--config",
            s.config_path().to_str().unwrap(),
        ])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "2000000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = scopeguard(child);
    let logs = collect(child.0.stderr.take().unwrap());
    let pid = child.0.id().to_string();
    let mut seen: Vec<String> = Vec::new();
    // Bounded as a whole: watchdog pings arrive every second, so a bound per message
    // would wait for ever for a notification that never comes.
    let wait_for = |what: &str, seen: &mut Vec<String>| {
        let mut buf = [0u8; 4096];
        let started = Instant::now();
        while !seen.iter().any(|m| m.contains(what)) {
            assert!(
                started.elapsed() < PATIENCE,
                "no {what} from the daemon in {PATIENCE:?}; got {seen:?}"
            );
            let n = sock
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no {what} from the daemon ({e}); got {seen:?}"));
            seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    };
    tokio::task::block_in_place(|| {
        wait_for("READY=1", &mut seen);
        wait_for("WATCHDOG=1", &mut seen);
        wait_for("STATUS=", &mut seen);
        let started = Instant::now();
        while !logs.lock().unwrap().contains("\"fetched\"") {
            assert!(
                started.elapsed() < PATIENCE,
                "timed out waiting for the first fetch; daemon log:\n{}",
                logs.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let status = seen.iter().find(|m| m.starts_with("STATUS=")).unwrap();
    assert!(
        status.contains("1 sources") && status.contains("alerts pending"),
        "{status}"
    );
    // systemd (Type=notify-reload) takes a reload cycle only if RELOADING=1 carries a
    // MONOTONIC_USEC read after it sent SIGHUP, and `systemctl reload` returns at the
    // READY=1 that follows: that one must come once the reload has been applied or refused.
    let monotonic_usec = || {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid timespec to write into.
        assert_eq!(
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) },
            0
        );
        t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1_000
    };
    // What queued while the test was not reading (pings, status lines) goes first: the
    // queue holds 10 datagrams, and systemd, unlike this test, reads all the time.
    let drain = || {
        sock.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 4096];
        while sock.recv(&mut buf).is_ok() {}
        sock.set_nonblocking(false).unwrap();
    };
    let handshake = |seen: &[String], before: u64| -> String {
        let reloading = seen
            .iter()
            .position(|m| m.lines().any(|l| l == "RELOADING=1"))
            .unwrap_or_else(|| panic!("no RELOADING=1: {seen:?}"));
        let usec: u64 = seen[reloading]
            .lines()
            .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
            .unwrap_or_else(|| panic!("RELOADING=1 without MONOTONIC_USEC: {seen:?}"))
            .parse()
            .unwrap();
        assert!(
            usec >= before && usec <= monotonic_usec(),
            "MONOTONIC_USEC={usec} is not the time of the reload (signal sent at {before})"
        );
        let ready = seen
            .iter()
            .rposition(|m| m.lines().any(|l| l == "READY=1"))
            .unwrap_or_else(|| panic!("no READY=1: {seen:?}"));
        assert!(ready > reloading, "READY=1 before RELOADING=1: {seen:?}");
        seen[ready].clone()
    };
    // A bad config: refused, still running; RELOADING=1, then READY=1 saying so.
    let good = std::fs::read_to_string(s.config_path()).unwrap();
    s.write(&good.replace("[[brand]]", "[[brnad]]"));
    drain();
    let before = monotonic_usec();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    tokio::task::block_in_place(|| {
        seen.clear();
        wait_for("RELOADING=1", &mut seen);
        wait_for("READY=1", &mut seen);
    });
    let ready = handshake(&seen, before);
    assert!(ready.contains("STATUS=reload refused"), "{ready}");
    tokio::task::block_in_place(|| {
        wait_until("the refusal", PATIENCE, || {
            logs.lock().unwrap().contains("reload refused")
        })
    });
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
    // A good one: RELOADING=1, then READY=1 once the new configuration is in force.
    s.write(&good);
    drain();
    let before = monotonic_usec();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    tokio::task::block_in_place(|| {
        seen.clear();
        wait_for("RELOADING=1", &mut seen);
        wait_for("READY=1", &mut seen);
    });
    let ready = handshake(&seen, before);
    assert!(ready.contains("STATUS=configuration reloaded"), "{ready}");

    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    tokio::task::block_in_place(|| wait_for("STOPPING=1", &mut seen));
    let status = child.0.wait().unwrap();
    assert!(status.success());
    // --log-format json: one object per line; lines about a source carry its id.
    std::thread::sleep(Duration::from_millis(200));
    let logs = logs.lock().unwrap().clone();
    let mut about_source = 0;
    for line in logs.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
        if v["message"] == "fetched" {
            assert_eq!(v["source"], "f", "{line}");
            about_source += 1;
        }
    }
    assert!(about_source >= 1, "{logs}");
    assert!(
        !logs.contains("T0KEN-api") && !logs.contains("S3CRET-chat"),
        "a secret leaked: {logs}"
    );
    assert_eq!(
        logs.matches("configuration reloaded").count(),
        1,
        "only the good config was loaded: {logs}"
    );
    assert_eq!(
        hooks.on("/S3CRET-chat-path").len(),
        1,
        "the chat got the alert"
    );
}
