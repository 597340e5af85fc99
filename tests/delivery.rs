//! Delivery under hostile input, through the real webhook receiver and SMTP server: one
//! alert never blocks a channel, what retrying cannot fix fails at once, deliveries can be
//! re-queued or dropped by hand (CLI and API), and e-mail Message-IDs are unique per
//! installation and notifier yet stable on a resend.
//!
//! Over 600 lines: each hostile delivery case needs its own receiver script and config.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use veille::store::state::State;

/// An RSS document whose items have an `<author>` (raw XML: entities are the caller's).
fn rss_by(items: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>https://feed.example/</link>"#,
    );
    for (title, link, author) in items {
        s.push_str(&format!(
            "<item><title>{title}</title><link>{link}</link><description>{title}</description><author>{author}</author><pubDate>{}</pubDate></item>",
            ago(1)
        ));
    }
    s.push_str("</channel></rss>");
    s
}

fn webhook(name: &str, url: &str) -> String {
    format!("\n[notifier.{name}]\nkind = \"webhook\"\nurl = \"{url}\"\nallow_private = true\n")
}

fn email(name: &str, port: u16, locale: &str) -> String {
    format!(
        "\n[notifier.{name}]\nkind = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\nfrom = \"veille@example.org\"\nto = [\"cm@example.org\"]\nlocale = \"{locale}\"\n"
    )
}

fn state(setup: &Setup) -> State {
    State::open(&setup.path().join("data/state.sqlite")).unwrap()
}

/// The state database itself, to set up what no command does (a crash, time passing).
fn sqlite(setup: &Setup) -> rusqlite::Connection {
    rusqlite::Connection::open(setup.path().join("data/state.sqlite")).unwrap()
}

/// (notifier, state, attempts, last error) of every delivery, oldest alert first, with the
/// first mention's title.
fn deliveries(setup: &Setup) -> Vec<(i64, String, String, String, u32, Option<String>)> {
    let mut out = Vec::new();
    for row in state(setup).alerts(100).unwrap().into_iter().rev() {
        let title = row
            .alert
            .mentions
            .first()
            .map(|m| m.title.clone())
            .unwrap_or_default();
        for (n, st, attempts, err) in row.deliveries {
            out.push((row.seq, title.clone(), n, st, attempts, err));
        }
    }
    out
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    head.split("\r\n")
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim())
}

/// Regression (issue 12): an author with a line feed, with a rule grouped by author, put
/// the line feed in the alert key, hence in `Idempotency-Key`; the request could not be
/// built, the error was retried forever, and every later alert to that webhook waited
/// behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn author_with_a_line_feed_gives_a_clean_key_and_holds_nothing() {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss_by(&[
            (
                "Boycott Acme",
                "https://b.example/1",
                "c@example.org (Line&#10;Feed)",
            ),
            ("Arnaque Acme", "https://b.example/2", "d@example.org (Bob)"),
        ])),
    );
    let hooks = WebhookReceiver::start().await;
    let smtp = SmtpServer::start();
    let setup = Setup::new();
    setup.write(
        &(base_config()
            + &rss_source("f", &feeds.url("/f.xml"))
            + &webhook("hook", &hooks.url("/h"))
            + &email("mail", smtp.port, "en")),
    );
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\ngroup_by = \"author\"\nnotify = [\"hook\", \"mail\"]\n",
    );
    let r = run_once_with(setup.load(), true, Duration::from_secs(20)).await;
    assert_eq!(r.alerts.len(), 2, "{:#?}", r.alerts);
    let hostile = r
        .alerts
        .iter()
        .find(|a| a.group.as_deref().is_some_and(|g| g.contains('\n')))
        .expect("the author keeps its line feed in the incident's group");
    assert!(
        hostile.key.bytes().all(|b| b.is_ascii_graphic()),
        "{:?}",
        hostile.key
    );
    assert!(hostile.key.contains("line%0Afeed"), "{}", hostile.key);

    let got = hooks.on("/h");
    assert_eq!(got.len(), 2, "both alerts delivered");
    for h in &got {
        let key = h.headers["idempotency-key"].to_str().unwrap();
        assert!(key.bytes().all(|b| b.is_ascii_graphic()), "{key:?}");
        assert!(key.starts_with(h.json()["alert"]["key"].as_str().unwrap()));
    }
    // E-mails: one each, with a one-line subject.
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2);
    for raw in &mails {
        let m = mail_parser::MessageParser::default().parse(raw).unwrap();
        let subject = m.subject().unwrap();
        assert!(!subject.chars().any(char::is_control), "{subject:?}");
    }
    assert!(
        deliveries(&setup)
            .iter()
            .all(|d| d.3 == "delivered" && d.4 == 1),
        "{:#?}",
        deliveries(&setup)
    );

    // Later alerts go out too.
    feeds.set(
        "/f.xml",
        Route::rss(rss_by(&[(
            "Scandale Acme",
            "https://b.example/3",
            "e@example.org (Eve)",
        )])),
    );
    let r = run_once_with(setup.load(), true, Duration::from_secs(20)).await;
    assert_eq!(r.alerts.len(), 1);
    assert_eq!(hooks.on("/h").len(), 3);
    assert_eq!(state(&setup).pending_count().unwrap(), 0);
}

/// An alert stored by an older veille with a line feed in its key is still sent, its
/// `Idempotency-Key` made safe the same way on every attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_key_with_a_line_feed_is_sent_with_a_safe_header() {
    let hooks = WebhookReceiver::start().await;
    let setup = Setup::new();
    setup.write(&(base_config() + &webhook("hook", &hooks.url("/h"))));
    let mut old = veille::testutil::alert();
    old.key = "crisis:acme:author:line\nfeed:1:1".into();
    {
        let mut st = state(&setup);
        let batch = st.batch().unwrap();
        batch.enqueue_alert(&old, &["hook".into()], false).unwrap();
        batch.commit().unwrap();
    }
    run_once_with(setup.load(), true, Duration::from_secs(10)).await;
    let got = hooks.on("/h");
    assert_eq!(got.len(), 1);
    let installation = state(&setup).installation_id().unwrap();
    assert_eq!(
        got[0].headers["idempotency-key"].to_str().unwrap(),
        format!("crisis:acme:author:line%0Afeed:1:1/hook@{installation}")
    );
}

/// What retrying cannot fix is given up at the first attempt: a 400, and a header value
/// HTTP cannot carry (here a bot token with a control character), which never leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_and_an_impossible_header_are_permanent_at_once() {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Boycott Acme",
            "https://b.example/1",
            "x",
            &ago(1),
        )])),
    );
    feeds.set("/ntfy", Route::ok("application/json", "{}"));
    let hooks = WebhookReceiver::start().await;
    hooks.state.script.lock().unwrap().push(400);
    let setup = Setup::new();
    setup.secret("ntfy", "tk_0123\u{7}456789");
    setup.write(
        &(base_config()
            + &rss_source("f", &feeds.url("/f.xml"))
            + &webhook("hook", &hooks.url("/h"))
            + &format!(
                "\n[notifier.phone]\nkind = \"ntfy\"\nurl = \"{}\"\ntopic = \"acme-crisis\"\ntoken_file = \"secrets/ntfy\"\nallow_private = true\n",
                feeds.url("/ntfy")
            )),
    );
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"hook\", \"phone\"]\n",
    );
    run_once_with(setup.load(), true, Duration::from_secs(10)).await;
    let d = deliveries(&setup);
    let hook = d.iter().find(|d| d.2 == "hook").unwrap();
    assert_eq!((hook.3.as_str(), hook.4), ("failed", 1), "{hook:?}");
    assert!(
        hook.5.as_deref().unwrap().starts_with("HTTP 400"),
        "{hook:?}"
    );
    // Not retried (beside it, `[ops]` tells the hook that `phone` failed for good).
    let crisis: Vec<_> = hooks.on("/h").into_iter().filter(|h| !is_ops(h)).collect();
    assert_eq!(crisis.len(), 1, "not retried");
    let phone = d.iter().find(|d| d.2 == "phone").unwrap();
    assert_eq!((phone.3.as_str(), phone.4), ("failed", 1), "{phone:?}");
    assert!(
        phone.5.as_deref().unwrap().contains("Authorization header"),
        "{phone:?}"
    );
    assert!(feeds.requests("/ntfy").is_empty(), "never sent");
}

/// Regression (issue 12): the outbox took the oldest pending alert of a channel first, so
/// an alert its receiver kept refusing with 500 held every later alert. Order is kept
/// per incident: another incident's alert goes while the first waits out its backoff.
/// Then the stuck delivery is dropped and brought back with the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_retrying_does_not_hold_another_incident() {
    let feeds = FeedServer::start().await;
    let boycott = ("Boycott Acme", "https://b.example/1", "x", ago(2));
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[(boycott.0, boycott.1, boycott.2, &boycott.3)])),
    );
    let hooks = WebhookReceiver::start().await;
    hooks
        .state
        .fail_when
        .lock()
        .unwrap()
        .push(("Boycott".into(), 500));
    let setup = Setup::new();
    setup.write(
        &(base_config()
            + &rss_source("f", &feeds.url("/f.xml"))
            + &webhook("hook", &hooks.url("/h"))),
    );
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\ngroup_by = \"story\"\nnotify = [\"hook\"]\n",
    );
    // Alert A is refused (500): it waits out a backoff.
    run_once_with(setup.load(), true, Duration::from_millis(500)).await;
    assert_eq!(hooks.on("/h").len(), 1);
    // Alert B, of another incident, is raised later: it is not held behind A.
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[
            (boycott.0, boycott.1, boycott.2, &boycott.3),
            ("Scandale Acme", "https://b.example/2", "y", &ago(1)),
        ])),
    );
    run_once_with(setup.load(), true, Duration::from_secs(3)).await;
    let got = hooks.on("/h");
    let accepted: Vec<&Hook> = got.iter().filter(|h| h.body.contains("Scandale")).collect();
    assert_eq!(accepted.len(), 1, "B delivered");
    let d = deliveries(&setup);
    let (seq_a, _, _, st, attempts, err) = d.iter().find(|d| d.1.contains("Boycott")).unwrap();
    assert_eq!(st, "pending");
    assert!(*attempts >= 1);
    assert!(err.as_deref().unwrap().starts_with("HTTP 500"), "{err:?}");
    assert_eq!(
        d.iter().find(|d| d.1.contains("Scandale")).unwrap().3,
        "delivered"
    );

    // By hand: drop A; nothing failed remains to re-queue; bring A back once fixed.
    let cfg = setup.config_path();
    let cfg = cfg.to_str().unwrap();
    let veille = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_veille"))
            .args(args)
            .args(["--config", cfg])
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let seq_a = seq_a.to_string();
    let (code, out) = veille(&["alerts", "drop", &seq_a]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("1 delivery(ies) dropped"), "{out}");
    let (_, listing) = veille(&["alerts"]);
    assert!(
        listing.contains("hook: dropped after") && listing.contains("HTTP 500"),
        "{listing}"
    );
    let (code, out) = veille(&["alerts", "retry", "--all-failed"]);
    // Nothing of what was named (failed deliveries) exists: status 3.
    assert_eq!(code, Some(3), "nothing failed: {out}");
    let (code, out) = veille(&["alerts", "retry"]);
    assert_eq!(code, Some(2), "an alert or --all-failed is required: {out}");
    hooks.state.fail_when.lock().unwrap().clear();
    let (code, out) = veille(&["alerts", "retry", &seq_a, "--notifier", "hook"]);
    assert_eq!(code, Some(0), "{out}");
    run_once_with(setup.load(), true, Duration::from_secs(10)).await;
    let d = deliveries(&setup);
    assert!(d.iter().all(|d| d.3 == "delivered"), "{d:#?}");
}

const READ: &str = "read-token-0123456789abcdef0123456789abcdef";
const ADMIN: &str = "admin-token-0123456789abcdef0123456789abcdef";

/// The API re-queues (the workers are woken at once) and drops deliveries; it needs an
/// admin token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_requeues_and_drops_deliveries() {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[
            ("Boycott Acme", "https://b.example/1", "x", &ago(2)),
            ("Scandale Acme", "https://b.example/2", "y", &ago(1)),
        ])),
    );
    let hooks = WebhookReceiver::start().await;
    hooks
        .state
        .fail_when
        .lock()
        .unwrap()
        .extend([("Boycott".into(), 400), ("Scandale".into(), 400)]);
    let setup = Setup::new();
    setup.secret("read", READ);
    setup.secret("admin", ADMIN);
    let port = free_port();
    setup.write(
        &(base_config().replace("listen = \"\"", &format!("listen = \"127.0.0.1:{port}\""))
            + &rss_source("f", &feeds.url("/f.xml"))
            + &webhook("hook", &hooks.url("/h"))
            + "\n[[api.token]]\nname = \"grafana\"\nscope = \"read\"\nfile = \"secrets/read\"\n\n[[api.token]]\nname = \"alice\"\nscope = \"admin\"\nfile = \"secrets/admin\"\n"),
    );
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\ngroup_by = \"story\"\nnotify = [\"hook\"]\n",
    );
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn(veille::daemon::run(
        setup.load(),
        veille::daemon::RunOptions::default(),
        stop_rx,
    ));
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let call = |method: &str, path: &str, token: &str| {
        let req = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(token);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default();
            (status, body)
        }
    };
    let failed = || {
        deliveries(&setup)
            .into_iter()
            .filter(|d| d.3 == "failed")
            .count()
    };
    for _ in 0..400 {
        if failed() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if failed() != 2 {
        let _ = stop.send(true);
        panic!(
            "{:#?} {:?} {:?}",
            deliveries(&setup),
            state(&setup).sources().unwrap(),
            daemon.await
        );
    }
    let d = deliveries(&setup);
    let seq = |t: &str| d.iter().find(|d| d.1.contains(t)).unwrap().0;
    let (boycott, scandale) = (seq("Boycott"), seq("Scandale"));

    // Read tokens look, they do not touch.
    let (st, _) = call("POST", &format!("/api/alerts/{boycott}/retry"), READ).await;
    assert_eq!(st, 403);
    // The receiver accepts the boycott alert now: re-queued, woken, delivered.
    hooks
        .state
        .fail_when
        .lock()
        .unwrap()
        .retain(|f| f.0 != "Boycott");
    let (st, body) = call("POST", "/api/alerts/retry-failed?notifier=hook", ADMIN).await;
    assert_eq!((st, body["requeued"].as_u64()), (200, Some(2)), "{body}");
    let delivered = || {
        deliveries(&setup)
            .into_iter()
            .any(|d| d.0 == boycott && d.3 == "delivered")
    };
    for _ in 0..100 {
        if delivered() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(delivered(), "sent at once, not at the next look in 30 s");
    // The other is refused again; it is dropped for good.
    for _ in 0..100 {
        if failed() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (st, body) = call("POST", &format!("/api/alerts/{scandale}/drop"), ADMIN).await;
    assert_eq!((st, body["dropped"].as_u64()), (200, Some(1)), "{body}");
    let (st, _) = call("POST", "/api/alerts/drop-failed", ADMIN).await;
    assert_eq!(st, 404, "nothing failed any more");
    let (st, _) = call("POST", &format!("/api/alerts/{boycott}/drop"), ADMIN).await;
    assert_eq!(st, 404, "a delivered alert cannot be dropped");
    let (_, list) = call("GET", "/api/alerts", READ).await;
    let states: Vec<(i64, String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["seq"].as_i64().unwrap(),
                i["deliveries"][0]["state"].as_str().unwrap().to_string(),
                i["deliveries"][0]["last_error"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let dropped = states.iter().find(|s| s.0 == scandale).unwrap();
    assert_eq!(dropped.1, "dropped");
    assert!(
        dropped
            .2
            .starts_with("dropped through the API by alice (last error: HTTP 400"),
        "{dropped:?}"
    );
    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
}

/// Issue 14: Message-IDs came from the incident number alone, which restarts at 1 in
/// every data directory. Now: two installations, or an English and a French notifier,
/// never share one; a resend of the same delivery (the crash window between the server's
/// acceptance and the outbox's record) has the same one; an incident's update still
/// answers its first message, per notifier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_ids_are_unique_per_installation_and_notifier_and_stable_on_resend() {
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
    let smtp = SmtpServer::start();
    let config = base_config()
        + &rss_source("f", &feeds.url("/f.xml"))
        + &email("mail-en", smtp.port, "en")
        + &email("mail-fr", smtp.port, "fr");
    let rules = "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"mail-en\", \"mail-fr\"]\n";
    let (one, two) = (Setup::new(), Setup::new());
    for s in [&one, &two] {
        s.write(&config);
        s.rules("r.toml", rules);
    }
    // (Message-ID, In-Reply-To) of the messages received from the `from`th on.
    let ids = |from: usize| -> Vec<(String, Option<String>)> {
        smtp.messages()[from..]
            .iter()
            .map(|raw| {
                let raw = String::from_utf8_lossy(raw).into_owned();
                (
                    header(&raw, "Message-ID").unwrap().to_string(),
                    header(&raw, "In-Reply-To").map(str::to_string),
                )
            })
            .collect()
    };
    run_once_with(one.load(), true, Duration::from_secs(20)).await;
    run_once_with(two.load(), true, Duration::from_secs(20)).await;
    let first = ids(0);
    assert_eq!(first.len(), 4, "two installations × two notifiers");
    let mut unique: Vec<&String> = first.iter().map(|m| &m.0).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        4,
        "incident #1 four times, four Message-IDs: {first:#?}"
    );
    let (a, b) = (state(&one), state(&two));
    assert_eq!(
        a.incidents(None, 10).unwrap()[0].id,
        b.incidents(None, 10).unwrap()[0].id,
        "the same incident number in both"
    );
    assert_ne!(a.installation_id().unwrap(), b.installation_id().unwrap());

    // A resend of the same delivery: the crash window, reproduced by putting the
    // delivery back as the outbox found it before recording the server's answer.
    let before = smtp.messages().len();
    // Straight into the database: no veille command undoes a delivery.
    sqlite(&one)
        .execute(
            "UPDATE deliveries SET state = 'pending' WHERE notifier = 'mail-en'",
            [],
        )
        .unwrap();
    run_once_with(one.load(), true, Duration::from_secs(20)).await;
    let resent = ids(before);
    assert_eq!(resent.len(), 1);
    let original: Vec<&(String, Option<String>)> =
        first.iter().filter(|m| m.0 == resent[0].0).collect();
    assert_eq!(original.len(), 1, "the copy has its original's Message-ID");

    // An update of the incident (realert passed) answers the first message of its
    // notifier: one thread per incident and notifier.
    let roots: Vec<String> = first[..2].iter().map(|m| m.0.clone()).collect();
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[
            ("Boycott Acme", "https://b.example/1", "x", &ago(2)),
            ("Boycott Acme encore", "https://b.example/2", "y", &ago(1)),
        ])),
    );
    // realert (1 hour) has passed since the first message.
    sqlite(&one)
        .execute(
            "UPDATE incidents SET last_alert_at = last_alert_at - 7200000",
            [],
        )
        .unwrap();
    let before = smtp.messages().len();
    let r = run_once_with(one.load(), true, Duration::from_secs(20)).await;
    assert_eq!(r.alerts.len(), 1, "{:#?}", r.alerts);
    assert_eq!(r.alerts[0].status, veille::model::Status::Update);
    let updates = ids(before);
    assert_eq!(updates.len(), 2);
    for u in &updates {
        let root = u.1.as_ref().expect("an update answers the first message");
        assert!(roots.contains(root), "{u:?} not in {roots:?}");
        assert!(!first.iter().any(|m| m.0 == u.0), "a new Message-ID");
    }
    assert_ne!(updates[0].1, updates[1].1, "one thread per notifier");
}

/// Issue 14 point 5: an outbox retry (the relay answered 451, try again later) sends the
/// same Message-ID as the refused attempt: a relay that kept the first copy after all
/// drops the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_retry_after_a_451_sends_the_same_message_id() {
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
    let smtp = SmtpServer::start_flaky();
    let setup = Setup::new();
    setup.write(
        &(base_config() + &rss_source("f", &feeds.url("/f.xml")) + &email("mail", smtp.port, "en")),
    );
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"mail\"]\n",
    );
    // The backoff after a first failure is about 2 s (real time: the system clock).
    run_once_with(setup.load(), true, Duration::from_secs(20)).await;
    let refused =
        String::from_utf8_lossy(&smtp.rejected().expect("a first, refused attempt")).into_owned();
    let accepted = smtp.messages();
    assert_eq!(accepted.len(), 1, "delivered on the retry");
    let accepted = String::from_utf8_lossy(&accepted[0]).into_owned();
    let id = header(&refused, "Message-ID").unwrap();
    assert_eq!(header(&accepted, "Message-ID"), Some(id));
    let d = deliveries(&setup);
    assert_eq!((d[0].3.as_str(), d[0].4), ("delivered", 2), "{d:#?}");
}
