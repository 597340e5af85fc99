//! Digests end to end: mentions indexed by the daemon, then `veille digest --now` sends the
//! summary by e-mail (a real SMTP server; the chart as an inline PNG), to Slack and to a
//! signed webhook; `--dry-run` writes it instead.

mod common;

use std::process::Command;

use common::*;
use mail_parser::MimeHeaders;

fn veille(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(args)
        .output()
        .unwrap()
}

async fn setup(smtp_port: u16, hooks: &WebhookReceiver) -> Setup {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[
            (
                "Arnaque chez Acme, remboursez-moi",
                "https://a.example/1",
                "Honteux, service client nul",
                &ago(5),
            ),
            (
                "Acme : pire service client, je suis furieux",
                "https://b.example/2",
                "Jamais plus",
                &ago(15),
            ),
            (
                "Acme ouvre un magasin à Lyon",
                "https://c.example/3",
                "Inauguration mardi",
                &ago(25),
            ),
            (
                "J'adore Acme, service génial, merci !",
                "https://d.example/4",
                "Bravo",
                &ago(35),
            ),
            (
                "Globex lance une cafetière",
                "https://e.example/5",
                "Nouveau produit",
                &ago(45),
            ),
        ])),
    );
    let s = Setup::new();
    s.secret("slack", &hooks.url("/slack"));
    s.secret("hook", "digest-secret-0123456789");
    let cfg = base_config().replace(
        "query = '\"acme corp\" OR acme NOT \"road runner\"'",
        "query = '\"acme corp\" OR acme NOT \"road runner\"'\ncompetitors = [\"globex\"]",
    ) + &rss_source("f", &feeds.url("/f.xml"))
        + &format!(
            r#"
[notifier.mail]
kind = "email"
smtp_url = "smtp://127.0.0.1:{smtp_port}"
from = "Veille <veille@example.org>"
to = ["cm@example.org"]
locale = "fr"

[notifier.slack]
kind = "slack"
url_file = "secrets/slack"
allow_private = true

[notifier.hook]
kind = "webhook"
url = "{hook}"
secret_file = "secrets/hook"
allow_private = true

[digest.yearly]
schedule = "0 0 1 1 *"        # the period: since January 1st
timezone = "Europe/Paris"
brands = ["acme"]
notify = ["mail", "slack", "hook"]
top = 3
"#,
            hook = hooks.url("/hook")
        );
    s.write(&cfg);
    // Index the mentions (no rule needed).
    run_once(s.load()).await;
    drop(feeds);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_now_sends_by_mail_chat_and_webhook() {
    let smtp = SmtpServer::start();
    let hooks = WebhookReceiver::start().await;
    let s = setup(smtp.port, &hooks).await;
    let cfg = s.config_path();
    let cfg = cfg.to_str().unwrap();

    // The list shows the schedule.
    let out = veille(&["digest", "--config", cfg]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("yearly") && list.contains("Europe/Paris"),
        "{list}"
    );

    let out = tokio::task::spawn_blocking({
        let cfg = cfg.to_string();
        move || veille(&["digest", "--config", &cfg, "--now", "yearly"])
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("✓ mail") && stdout.contains("✓ slack") && stdout.contains("✓ hook"),
        "{stdout}"
    );

    // E-mail: text, HTML and the chart inline, in French.
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    let msg = mail_parser::MessageParser::default()
        .parse(&mails[0])
        .unwrap();
    assert!(
        msg.subject().unwrap().starts_with("Synthèse yearly"),
        "{:?}",
        msg.subject()
    );
    let text = msg.body_text(0).unwrap();
    // The key figures first, then the details; French typography (no-break spaces
    // before ":" and "%"), sites and people apart, adjectives agreeing with their count.
    let first_lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).take(3).collect();
    assert!(first_lines[2].starts_with("4 mentions ("), "{text}");
    assert!(first_lines[2].contains(" négatives"), "{text}");
    assert!(first_lines[2].ends_with(" · 0 incident ouvert"), "{text}");
    assert!(
        text.contains("Part de voix\u{a0}: Acme 80\u{202f}%, Globex 20\u{202f}%"),
        "{text}"
    );
    assert!(text.contains("Nouveaux sites\u{a0}: "), "{text}");
    assert!(!text.contains("Nouvelles sources"), "{text}");
    let sentiment = text.lines().find(|l| l.starts_with("Tonalité")).unwrap();
    let agrees = |word_one: &str, word_many: &str| {
        sentiment.split(", ").any(|part| {
            let part = part.trim_start_matches("Tonalité\u{a0}: ");
            let (n, word) = part.split_once(' ').unwrap();
            let n: u64 = n.parse().unwrap();
            word == if n <= 1 { word_one } else { word_many }
        })
    };
    assert!(agrees("négative", "négatives"), "{sentiment}");
    assert!(agrees("neutre", "neutres"), "{sentiment}");
    assert!(agrees("positive", "positives"), "{sentiment}");
    let html = msg.body_html(0).unwrap();
    let cid = html
        .split("src=\"cid:")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("an inline image")
        .to_string();
    let png = msg
        .parts
        .iter()
        .find(|p| p.content_id() == Some(cid.as_str()))
        .expect("the chart part");
    assert!(png.contents().starts_with(b"\x89PNG"));
    // The key figures large, the chart described for readers who block images.
    assert!(html.contains("font-size:32px"), "{html}");
    assert!(html.contains("alt=\"Mentions par "), "{html}");
    assert!(msg.header("List-Id").is_some());

    // Slack: Block Kit within its limits.
    let slack = hooks.on("/slack");
    assert_eq!(slack.len(), 1);
    let j = slack[0].json();
    veille::notify::chat::slack::check(&j).unwrap();
    assert!(j.to_string().contains("Share of voice"));

    // Webhook: the figures as JSON, signed.
    let h = &hooks.on("/hook")[0];
    let j = h.json();
    let b = &j["digest"]["brands"][0];
    assert_eq!(
        (b["id"].as_str(), b["count"].as_u64()),
        (Some("acme"), Some(4))
    );
    assert_eq!(
        b["negative"].as_u64().unwrap()
            + b["neutral"].as_u64().unwrap()
            + b["positive"].as_u64().unwrap(),
        4
    );
    assert!(b["negative"].as_u64().unwrap() >= 2, "{b}");
    let stories = b["stories"].as_u64().unwrap();
    assert!((1..=4).contains(&stories), "{b}");
    assert_eq!(b["share_of_voice"][1]["brand"], "Globex");
    assert_eq!(b["top"].as_array().unwrap().len(), 3, "top = 3");
    assert_eq!(
        b["new_sites"].as_array().unwrap().len(),
        3,
        "the first three sites of the year"
    );
    let ts: i64 = h.headers["x-veille-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        h.headers["x-veille-signature"].to_str().unwrap(),
        veille::notify::webhook::signature(b"digest-secret-0123456789", ts, h.body.as_bytes())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_text_html_or_eml_and_sends_nothing() {
    let hooks = WebhookReceiver::start().await;
    let s = setup(free_port(), &hooks).await;
    let cfg = s.config_path().to_str().unwrap().to_string();
    let dir = s.path().to_path_buf();
    let (text, html, eml) = tokio::task::spawn_blocking(move || {
        let text = veille(&[
            "digest",
            "--config",
            &cfg,
            "--now",
            "yearly",
            "--dry-run",
            "--locale",
            "fr",
        ]);
        let h = dir.join("d.html");
        let e = dir.join("d.eml");
        veille(&[
            "digest",
            "--config",
            &cfg,
            "--now",
            "yearly",
            "--dry-run",
            h.to_str().unwrap(),
        ]);
        veille(&[
            "digest",
            "--config",
            &cfg,
            "--now",
            "yearly",
            "--dry-run",
            e.to_str().unwrap(),
        ]);
        (
            String::from_utf8_lossy(&text.stdout).to_string(),
            std::fs::read_to_string(h).unwrap(),
            std::fs::read(e).unwrap(),
        )
    })
    .await
    .unwrap();
    assert!(text.starts_with("Synthèse yearly"), "{text}");
    assert!(text.contains("Tonalité\u{a0}: "), "{text}");
    assert!(
        html.contains("data:image/png;base64,iVBORw0KGgo"),
        "chart inline"
    );
    // Without --locale, the language of the digest's notifier (French here).
    let m = mail_parser::MessageParser::default().parse(&eml).unwrap();
    assert!(m.subject().unwrap().starts_with("Synthèse yearly"));
    assert!(hooks.received().is_empty(), "a dry run sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_digest_missed_while_stopped_is_sent_once_at_start() {
    let hooks = WebhookReceiver::start().await;
    let s = setup(free_port(), &hooks).await;
    let mut cfg = s.load();
    // Hourly; last sent three hours ago: the daemon was down at the last two times.
    let text = std::fs::read_to_string(s.config_path())
        .unwrap()
        .replace("schedule = \"0 0 1 1 *\"", "schedule = \"0 * * * *\"")
        .replace(
            "notify = [\"mail\", \"slack\", \"hook\"]",
            "notify = [\"hook\"]",
        );
    s.write(&text);
    cfg = veille::config::Config::load(&s.config_path()).unwrap_or(cfg);
    let state = std::sync::Arc::new(std::sync::Mutex::new(
        veille::store::state::State::open(&cfg.state_path()).unwrap(),
    ));
    let three_hours_ago = chrono::Utc::now() - chrono::Duration::hours(3);
    state
        .lock()
        .unwrap()
        .set_digest_sent("yearly", three_hours_ago)
        .unwrap();
    let index =
        std::sync::Arc::new(veille::store::index::MentionIndex::open(&cfg.index_dir()).unwrap());
    let http = veille::crawl::Http::new(&cfg.crawl).unwrap();
    let notifiers = std::sync::Arc::new(cfg.notifiers.into_iter().collect());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(
        veille::digest::Runner {
            digests: cfg.digests.clone(),
            brands: cfg.brands.clone(),
            notifiers,
            index,
            state: state.clone(),
            http,
            clock: std::sync::Arc::new(veille::clock::SystemClock),
            max_sleep: std::time::Duration::from_secs(3600),
        }
        .run(stop_rx),
    );
    for _ in 0..100 {
        if !hooks.on("/hook").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Give a second send (that must not happen) a chance to show up.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    // Of the two missed hours, only the latest is sent, covering the hour before it.
    let got = hooks.on("/hook");
    assert_eq!(got.len(), 1, "{got:?}");
    let j = got[0].json();
    let end: chrono::DateTime<chrono::Utc> = j["digest"]["end"].as_str().unwrap().parse().unwrap();
    let start: chrono::DateTime<chrono::Utc> =
        j["digest"]["start"].as_str().unwrap().parse().unwrap();
    let now = chrono::Utc::now();
    assert!(
        now - end < chrono::Duration::minutes(60) && end <= now,
        "{end}"
    );
    assert_eq!(end - start, chrono::Duration::hours(1));
    let last = state
        .lock()
        .unwrap()
        .digest_last_sent("yearly")
        .unwrap()
        .unwrap();
    assert_eq!(last, end, "recorded, so a restart does not send it again");
}

/// A digest the channel refuses for a while (503) is tried again with backoff, across a
/// restart, until it goes out once; a newer digest replaces one that never went out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_digest_is_retried_across_restarts_then_replaced_by_the_next() {
    use chrono::{Duration as Cd, DurationRound};
    use std::sync::Arc;
    let hooks = WebhookReceiver::start().await;
    let s = setup(free_port(), &hooks).await;
    let text = std::fs::read_to_string(s.config_path())
        .unwrap()
        .replace("schedule = \"0 0 1 1 *\"", "schedule = \"0 * * * *\"")
        .replace(
            "notify = [\"mail\", \"slack\", \"hook\"]",
            "notify = [\"hook\"]",
        );
    s.write(&text);
    let cfg = s.load();
    let state = Arc::new(std::sync::Mutex::new(
        veille::store::state::State::open(&cfg.state_path()).unwrap(),
    ));
    let index = Arc::new(veille::store::index::MentionIndex::open(&cfg.index_dir()).unwrap());
    let http = veille::crawl::Http::new(&cfg.crawl).unwrap();
    let notifiers: Arc<std::collections::HashMap<_, _>> =
        Arc::new(cfg.notifiers.into_iter().collect());
    // One minute past the hour; the digest of the hour is due.
    let hour = chrono::Utc::now().duration_trunc(Cd::hours(1)).unwrap();
    let clock = veille::clock::ManualClock::new(hour + Cd::minutes(1));
    state
        .lock()
        .unwrap()
        .set_digest_sent("yearly", hour - Cd::hours(1))
        .unwrap();
    let start = || {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(
            veille::digest::Runner {
                digests: cfg.digests.clone(),
                brands: cfg.brands.clone(),
                notifiers: notifiers.clone(),
                index: index.clone(),
                state: state.clone(),
                http: http.clone(),
                clock: Arc::new(clock.clone()),
                max_sleep: std::time::Duration::from_millis(10),
            }
            .run(stop_rx),
        );
        (stop, task)
    };
    let retries = || state.lock().unwrap().digest_retries().unwrap();
    async fn until(what: &str, mut f: impl FnMut() -> bool) {
        for _ in 0..400 {
            if f() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}");
    }

    *hooks.state.script.lock().unwrap() = vec![503, 503, 503];
    let (stop, task) = start();
    until("the first attempt", || hooks.on("/hook").len() == 1).await;
    until("the retry recorded", || retries().len() == 1).await;
    let r = &retries()[0];
    assert_eq!((r.attempts, r.due), (1, hour));
    assert_eq!(r.next_try, hour + Cd::minutes(1) + Cd::seconds(30));
    assert!(r.last_error.contains("503"), "{}", r.last_error);
    // Not before its time.
    clock.advance(Cd::seconds(20));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(hooks.on("/hook").len(), 1);

    // A restart: the retry is in the state, and goes on from there.
    stop.send(true).unwrap();
    task.await.unwrap();
    let (stop, task) = start();
    clock.advance(Cd::seconds(15));
    until("the second attempt", || {
        retries().first().is_some_and(|r| r.attempts == 2)
    })
    .await;
    assert_eq!(hooks.on("/hook").len(), 2);
    assert_eq!(retries()[0].next_try, clock_now(&clock) + Cd::seconds(60));
    clock.advance(Cd::seconds(61));
    until("the third attempt", || hooks.on("/hook").len() == 3).await;
    until("the third failure recorded", || {
        retries().first().is_some_and(|r| r.attempts == 3)
    })
    .await;
    // `veille digest` shows what waits.
    let out = veille(&["digest", "--config", s.config_path().to_str().unwrap()]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("yearly → hook: not delivered yet")
            && listing.contains("3 attempt(s)")
            && listing.contains("503"),
        "{listing}"
    );

    // The next hour comes while it still fails: the new digest replaces it and goes out.
    clock.set(hour + Cd::hours(1) + Cd::seconds(5));
    until("the next digest", || hooks.on("/hook").len() == 4).await;
    until("no retry left", || retries().is_empty()).await;
    clock.advance(Cd::minutes(10));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    let got = hooks.on("/hook");
    assert_eq!(got.len(), 4, "sent once it was accepted, never again");
    let ends: Vec<String> = got
        .iter()
        .map(|h| h.json()["digest"]["end"].as_str().unwrap().to_string())
        .collect();
    let end =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        ends[..3],
        [end(hour), end(hour), end(hour)],
        "the same period each time"
    );
    assert_eq!(ends[3], end(hour + Cd::hours(1)));
}

fn clock_now(c: &veille::clock::ManualClock) -> chrono::DateTime<chrono::Utc> {
    use veille::clock::Clock;
    c.now()
}
