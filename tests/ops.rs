//! veille watches itself (`[ops]`, issue 14 point 6), through the real webhook receiver
//! and the real daemon with an injected clock: a source that becomes unhealthy and then
//! recovers is told once each; a revoked webhook is told through another notifier; the
//! deliveries waiting for a notifier removed from the config are told, shown by
//! `veille alerts`, re-routed and dropped.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use veille::clock::ManualClock;

fn webhook(name: &str, url: &str) -> String {
    format!("\n[notifier.{name}]\nkind = \"webhook\"\nurl = \"{url}\"\nallow_private = true\n")
}

/// One `run --once` of the library's daemon at the clock's time.
async fn once_at(setup: &Setup, clock: &ManualClock, deliver: bool) -> veille::ingest::Report {
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = veille::daemon::RunOptions {
        mode: veille::scheduler::Mode::Once,
        clock: Arc::new(clock.clone()),
        deliver,
        outbox_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    veille::daemon::run(setup.load(), opts, rx).await.unwrap()
}

/// The alerts a receiver got on `path`.
fn alerts_on(hooks: &WebhookReceiver, path: &str) -> Vec<serde_json::Value> {
    hooks
        .on(path)
        .iter()
        .map(|h| h.json()["alert"].clone())
        .collect()
}

fn veille(setup: &Setup, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_veille"))
        .env_remove("VEILLE_CONFIG")
        .env_remove("RUST_LOG")
        .args(args)
        .arg("-c")
        .arg(setup.config_path())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Polled every half hour, failing from t0: unhealthy past `unhealthy_after` (1 h), told
/// once, not again while it keeps failing; recovered, told once, in the same thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_turning_unhealthy_then_recovering_is_told_once_each() {
    let feeds = FeedServer::start().await;
    feeds.set("/f.xml", Route::status(500));
    let hooks = WebhookReceiver::start().await;
    let setup = Setup::new();
    setup.write(
        &(base_config().replace("[crawl]\n", "[crawl]\nunhealthy_after = \"1h\"\n")
            + &rss_source("f", &feeds.url("/f.xml"))
            + &webhook("pager", &hooks.url("/pager"))
            + &webhook("team", &hooks.url("/team"))
            + "\n[ops]\nnotify = [\"pager\"]\n"),
    );
    let t0 = Utc::now();
    let clock = ManualClock::new(t0);
    for minutes in [0, 30, 61, 90] {
        clock.set(t0 + chrono::Duration::minutes(minutes));
        once_at(&setup, &clock, true).await;
    }
    let told = alerts_on(&hooks, "/pager");
    assert_eq!(told.len(), 1, "one alert for the transition: {told:#?}");
    let a = &told[0];
    assert_eq!(
        (&a["rule_kind"], &a["brand"], &a["status"]),
        (&"ops".into(), &"veille".into(), &"new".into())
    );
    let summary = a["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("source f is unhealthy: failing since") && summary.contains("500"),
        "{summary}"
    );
    assert!(source_row(&setup, "f").unhealthy);

    feeds.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Nothing here",
            "https://b.example/1",
            "x",
            &ago(1),
        )])),
    );
    for minutes in [120, 150] {
        clock.set(t0 + chrono::Duration::minutes(minutes));
        once_at(&setup, &clock, true).await;
    }
    let told = alerts_on(&hooks, "/pager");
    assert_eq!(told.len(), 2, "{told:#?}");
    let r = &told[1];
    assert_eq!(r["status"], "resolved");
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .starts_with("source f recovered"),
        "{r}"
    );
    assert_eq!(
        r["incident_key"], a["incident_key"],
        "the recovery answers the unhealthy alert"
    );
    assert!(hooks.on("/team").is_empty(), "only [ops] notify is told");
}

/// A revoked webhook (the receiver answers 410) is told once, to another notifier: the
/// failing one is the only [ops] notifier, so the others hear of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_webhook_is_told_through_the_other_notifier() {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Boycott Acme",
            "https://b.example/1",
            "x",
            &ago(2),
        )])),
    );
    let revoked = WebhookReceiver::start().await;
    revoked
        .state
        .fail_when
        .lock()
        .unwrap()
        .push((String::new(), 410));
    let pager = WebhookReceiver::start().await;
    let setup = Setup::new();
    setup.write(
        &(base_config()
            + &rss_source("f", &feeds.url("/f.xml"))
            + &webhook("team", &revoked.url("/team"))
            + &webhook("pager", &pager.url("/pager"))
            + "\n[ops]\nnotify = [\"team\"]\n"),
    );
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\ngroup_by = \"story\"\nnotify = [\"team\"]\n",
    );
    let clock = ManualClock::new(Utc::now());
    let r = once_at(&setup, &clock, true).await;
    assert_eq!(r.alerts.len(), 1);
    assert_eq!((r.pending_at_exit, r.failed_at_exit), (0, 1));
    let told = alerts_on(&pager, "/pager");
    assert_eq!(told.len(), 1, "{told:#?}");
    let summary = told[0]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("notifier team failed for good: HTTP 410"),
        "{summary}"
    );
    assert_eq!(told[0]["severity"], "critical");
    let key = pager.on("/pager")[0].headers["idempotency-key"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        key.starts_with("ops:notifier-failed:team:") && key.contains("/pager@"),
        "{key}"
    );

    // Still revoked at the next alert: not told again.
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[
            ("Boycott Acme", "https://b.example/1", "x", &ago(2)),
            ("Scandale Acme", "https://b.example/2", "y", &ago(1)),
        ])),
    );
    clock.advance(chrono::Duration::minutes(5));
    let r = once_at(&setup, &clock, true).await;
    assert_eq!(r.alerts.len(), 1);
    assert_eq!(alerts_on(&pager, "/pager").len(), 1, "no storm");
    assert_eq!(revoked.received().len(), 2, "each alert tried once");
}

/// Deliveries to a notifier removed from the config: told to [ops], shown as orphaned by
/// `veille alerts`, `run --once` exits 4 while they wait; one re-routed by its number,
/// the other dropped with --all-orphaned; then nothing waits and `run --once` exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_for_a_removed_notifier_are_told_shown_rerouted_and_dropped() {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[
            ("Boycott Acme", "https://b.example/1", "x", &ago(2)),
            ("Scandale Acme", "https://b.example/2", "y", &ago(1)),
        ])),
    );
    let hooks = WebhookReceiver::start().await;
    let setup = Setup::new();
    let base = base_config()
        + &rss_source("f", &feeds.url("/f.xml"))
        + &webhook("pager", &hooks.url("/pager"));
    let rule = |to: &str| {
        format!(
            "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\ngroup_by = \"story\"\nnotify = [\"{to}\"]\n"
        )
    };
    setup.write(&(base.clone() + &webhook("old", &hooks.url("/old"))));
    setup.rules("r.toml", &rule("old"));
    let clock = ManualClock::new(Utc::now());
    // Raised, not delivered: then `old` leaves the config.
    let r = once_at(&setup, &clock, false).await;
    assert_eq!(r.alerts.len(), 2);
    setup.write(&(base + "\n[ops]\nnotify = [\"pager\"]\n"));
    setup.rules("r.toml", &rule("pager"));
    let r = once_at(&setup, &clock, true).await;
    assert_eq!(r.pending_at_exit, 2, "they wait, and did not hold the run");
    let told = alerts_on(&hooks, "/pager");
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(
        told[0]["summary"],
        "2 alert(s) wait for notifier old, which is no longer in the config"
    );
    // Told once, not at every start.
    once_at(&setup, &clock, true).await;
    assert_eq!(alerts_on(&hooks, "/pager").len(), 1);

    let out = veille(&setup, &["alerts"]);
    let list = text(&out.stdout);
    assert_eq!(
        list.matches("→ old: orphaned: notifier old removed from the config, pending")
            .count(),
        2,
        "{list}"
    );
    let out = veille(&setup, &["run", "--once"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("2 alert delivery(ies) still pending and 0 failed"),
        "{}",
        text(&out.stderr)
    );

    // #1 re-routed to pager by its number; a notifier that does not exist is refused.
    let boycott = list
        .lines()
        .find(|l| l.starts_with('#') && l.contains("Boycott"))
        .and_then(|l| l[1..].split_whitespace().next())
        .unwrap_or("1")
        .to_string();
    let out = veille(&setup, &["alerts", "retry", &boycott, "--to", "nowhere"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let out = veille(&setup, &["alerts", "retry", &boycott, "--to", "pager"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 delivery(ies) re-routed to pager"));
    let out = veille(&setup, &["alerts", "drop", "--all-orphaned"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("deliveries waiting for old: 1 delivery(ies) dropped"));

    let out = veille(&setup, &["run", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rerouted: Vec<serde_json::Value> = alerts_on(&hooks, "/pager")
        .into_iter()
        .filter(|a| a["rule"] == "crisis")
        .collect();
    assert_eq!(rerouted.len(), 1, "{rerouted:#?}");
    assert!(
        rerouted[0]["mentions"][0]["title"]
            .as_str()
            .unwrap()
            .contains("Boycott")
    );
    let list = text(&veille(&setup, &["alerts"]).stdout);
    assert!(
        list.contains("→ old: dropped after 0 attempt(s) — re-routed to pager"),
        "{list}"
    );
    assert!(
        list.contains("→ pager: delivered after 1 attempt(s)"),
        "{list}"
    );
    assert!(
        list.contains("→ old: dropped after 0 attempt(s) — dropped with `veille alerts drop`"),
        "{list}"
    );
    assert!(!list.contains("orphaned"), "{list}");
}

/// A notifier answering 503 for longer than `outbox_max_age`: its queue is told late,
/// once, to the [ops] notifier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_waiting_past_outbox_max_age_is_told_once() {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Boycott Acme",
            "https://b.example/1",
            "x",
            &ago(2),
        )])),
    );
    let down = WebhookReceiver::start().await;
    down.state
        .fail_when
        .lock()
        .unwrap()
        .push((String::new(), 503));
    let pager = WebhookReceiver::start().await;
    let setup = Setup::new();
    setup.write(
        &(base_config()
            + &rss_source("f", &feeds.url("/f.xml"))
            + &webhook("team", &down.url("/team"))
            + &webhook("pager", &pager.url("/pager"))
            + "\n[ops]\nnotify = [\"pager\"]\noutbox_max_age = \"30m\"\n"),
    );
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"team\"]\n",
    );
    let t0 = Utc::now();
    let clock = ManualClock::new(t0);
    let run = |clock: &ManualClock| {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let opts = veille::daemon::RunOptions {
            mode: veille::scheduler::Mode::Once,
            clock: Arc::new(clock.clone()),
            // The channel keeps answering 503: wait a moment, not 20 s.
            outbox_timeout: Duration::from_millis(500),
            ..Default::default()
        };
        let config = setup.load();
        async move { veille::daemon::run(config, opts, rx).await.unwrap() }
    };
    let r = run(&clock).await;
    assert_eq!((r.alerts.len(), r.pending_at_exit), (1, 1));
    clock.set(t0 + chrono::Duration::minutes(20));
    run(&clock).await;
    assert!(pager.received().is_empty(), "20 min: not late yet");
    for minutes in [31, 45] {
        clock.set(t0 + chrono::Duration::minutes(minutes));
        run(&clock).await;
    }
    let told = alerts_on(&pager, "/pager");
    assert_eq!(told.len(), 1, "{told:#?}");
    let summary = told[0]["summary"].as_str().unwrap();
    assert_eq!(
        summary,
        "1 alert(s) wait for notifier team, the oldest for 31 min (limit 30 min)"
    );
}

const ADMIN: &str = "admin-token-0123456789abcdef0123456789abcdef";

/// Through the API: a delivery for a removed notifier is marked orphaned, and
/// `POST /api/alerts/{id}/retry?to=NOTIFIER` re-routes it (404 for a notifier that does
/// not exist); the daemon sends it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_shows_orphaned_deliveries_and_reroutes_them() {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Boycott Acme",
            "https://b.example/1",
            "x",
            &ago(2),
        )])),
    );
    let hooks = WebhookReceiver::start().await;
    let setup = Setup::new();
    setup.secret("admin", ADMIN);
    let port = free_port();
    let base = base_config().replace("listen = \"\"", &format!("listen = \"127.0.0.1:{port}\""))
        + &rss_source("f", &feeds.url("/f.xml"))
        + &webhook("pager", &hooks.url("/pager"))
        + "\n[[api.token]]\nname = \"alice\"\nscope = \"admin\"\nfile = \"secrets/admin\"\n";
    let rule = |to: &str| {
        format!(
            "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"{to}\"]\n"
        )
    };
    setup.write(
        &(base.replace(&format!("127.0.0.1:{port}"), "") + &webhook("old", &hooks.url("/old"))),
    );
    setup.rules("r.toml", &rule("old"));
    let clock = ManualClock::new(Utc::now());
    once_at(&setup, &clock, false).await;
    setup.write(&base);
    setup.rules("r.toml", &rule("pager"));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn(veille::daemon::run(
        setup.load(),
        veille::daemon::RunOptions::default(),
        stop_rx,
    ));
    let http = reqwest::Client::new();
    let call = |method: &str, path: &str| {
        let req = http
            .request(
                method.parse().unwrap(),
                format!("http://127.0.0.1:{port}{path}"),
            )
            .bearer_auth(ADMIN);
        async move {
            for _ in 0..200 {
                if let Ok(r) = req.try_clone().unwrap().send().await {
                    let status = r.status().as_u16();
                    let body: serde_json::Value =
                        serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default();
                    return (status, body);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the API did not answer");
        }
    };
    let (st, list) = call("GET", "/api/alerts").await;
    assert_eq!(st, 200);
    let d = &list["items"][0]["deliveries"][0];
    assert_eq!(
        (&d["notifier"], &d["state"], &d["orphaned"]),
        (&"old".into(), &"pending".into(), &true.into()),
        "{list}"
    );
    let seq = list["items"][0]["seq"].as_i64().unwrap();
    let (st, _) = call("POST", &format!("/api/alerts/{seq}/retry?to=nowhere")).await;
    assert_eq!(st, 404);
    let (st, body) = call("POST", &format!("/api/alerts/{seq}/retry?to=pager")).await;
    assert_eq!((st, body["requeued"].as_u64()), (200, Some(1)), "{body}");
    for _ in 0..200 {
        if !hooks.on("/pager").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = alerts_on(&hooks, "/pager");
    assert_eq!(
        got.len(),
        1,
        "sent at once, not at the next look in 30 s: {got:#?}"
    );
    assert_eq!(got[0]["rule"], "crisis");
    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
}
