//! `veille notify test NOTIFIER` and the exit status of `veille run --once` (issue 14
//! point 7), through the real binary, the real webhook receiver and the real SMTP server.

mod common;

use std::process::{Command, Output};

use common::*;

fn veille(setup: &Setup, args: &[&str]) -> Output {
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

/// A webhook whose URL is a secret (in `secrets/NAME`), as chat webhooks are.
fn secret_webhook(setup: &Setup, name: &str, url: &str) -> String {
    setup.secret(name, url);
    format!(
        "\n[notifier.{name}]\nkind = \"webhook\"\nurl_file = \"secrets/{name}\"\nallow_private = true\n"
    )
}

const TOKEN: &str = "T0KEN-9f8e7d6c5b4a39281706f5e4d3c2b1a0";

/// A test message goes through the real path of each kind, says it is a test, and the
/// command says it was delivered; the state database is not touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_delivers_a_labelled_message_by_webhook_and_email() {
    let hooks = WebhookReceiver::start().await;
    let smtp = SmtpServer::start();
    let setup = Setup::new();
    setup.write(
        &(base_config()
            + &secret_webhook(&setup, "hook", &hooks.url(&format!("/hooks/{TOKEN}")))
            + &format!(
                "\n[notifier.mail]\nkind = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\nfrom = \"veille@example.org\"\nto = [\"cm@example.org\"]\nlocale = \"fr\"\n",
                smtp.port
            )),
    );
    let out = tokio::task::spawn_blocking({
        let p = setup.config_path();
        move || {
            Command::new(env!("CARGO_BIN_EXE_veille"))
                .args(["notify", "test", "hook", "-c"])
                .arg(p)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "hook (webhook): sending a test message…\nhook: delivered\n"
    );
    let got = hooks.received();
    assert_eq!(got.len(), 1);
    let alert = &got[0].json()["alert"];
    assert_eq!(
        (&alert["rule"], &alert["rule_kind"]),
        (&"test".into(), &"ops".into())
    );
    assert!(
        alert["summary"]
            .as_str()
            .unwrap()
            .starts_with("TEST message from veille to notifier hook"),
        "{alert}"
    );
    assert!(got[0].headers.contains_key("idempotency-key"));

    let out = veille(&setup, &["notify", "test", "mail"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("mail: delivered"));
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    let raw = text(&mails[0]);
    let subject = raw
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .unwrap_or_default();
    assert!(subject.contains("veille itself"), "{subject}");
    assert!(
        raw.contains("TEST message from veille to notifier mail"),
        "{raw}"
    );
    assert!(
        !setup.path().join("data/state.sqlite").exists(),
        "a test leaves no state behind"
    );
}

/// When it fails, the command says why and whether the outbox would retry — without the
/// webhook URL's secret path — and exits 1; an unknown notifier exits 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_says_why_it_failed_without_the_secret() {
    let hooks = WebhookReceiver::start().await;
    let setup = Setup::new();
    let closed = free_port();
    setup.write(
        &(base_config()
            + &secret_webhook(&setup, "revoked", &hooks.url(&format!("/gone/{TOKEN}")))
            + &secret_webhook(&setup, "down", &hooks.url(&format!("/busy/{TOKEN}")))
            + &secret_webhook(
                &setup,
                "closed",
                &format!("http://127.0.0.1:{closed}/hooks/{TOKEN}"),
            )),
    );
    hooks
        .state
        .fail_when
        .lock()
        .unwrap()
        .push(("to notifier revoked".into(), 410));
    hooks
        .state
        .fail_when
        .lock()
        .unwrap()
        .push(("to notifier down".into(), 503));
    let cases = [
        (
            "revoked",
            "revoked: not delivered, a permanent error: the outbox would give up: HTTP 410",
        ),
        (
            "down",
            "down: not delivered, a temporary error: the outbox would try again: HTTP 503",
        ),
        (
            "closed",
            "closed: not delivered, a temporary error: the outbox would try again:",
        ),
    ];
    for (name, said) in cases {
        let out = tokio::task::spawn_blocking({
            let p = setup.config_path();
            move || {
                Command::new(env!("CARGO_BIN_EXE_veille"))
                    .args(["notify", "test", name, "-c"])
                    .arg(p)
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(said), "{name}: {err}");
        assert!(
            !err.contains(TOKEN) && !text(&out.stdout).contains(TOKEN),
            "{err}"
        );
    }
    let out = veille(&setup, &["notify", "test", "nowhere"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("unknown notifier `nowhere`: configured: closed, down, revoked"),
        "{}",
        text(&out.stderr)
    );
}

/// cron sees undelivered alerts: `run --once` exits 4 when a delivery failed for good in
/// the run, 0 once nothing is left; the help says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_exits_4_when_an_alert_was_not_delivered() {
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
    hooks
        .state
        .fail_when
        .lock()
        .unwrap()
        .push(("Boycott".into(), 410));
    let setup = Setup::new();
    setup.write(
        &(base_config()
            + &rss_source("f", &feeds.url("/f.xml"))
            + &secret_webhook(&setup, "hook", &hooks.url("/h"))),
    );
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\ngroup_by = \"story\"\nnotify = [\"hook\"]\n",
    );
    let run = || {
        let p = setup.config_path();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_veille"))
                .args(["run", "--once", "-c"])
                .arg(p)
                .output()
                .unwrap()
        })
    };
    let out = run().await.unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("0 alert delivery(ies) still pending and 1 failed"),
        "{}",
        text(&out.stderr)
    );
    // A failure of an earlier run is that run's: this one delivered what it raised.
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[
            ("Boycott Acme", "https://b.example/1", "x", &ago(2)),
            ("Scandale Acme", "https://b.example/2", "y", &ago(1)),
        ])),
    );
    let out = run().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(hooks.received().len(), 2);

    let help = veille(&setup, &["run", "--help"]);
    assert!(
        text(&help.stdout).contains("Exit status 4 when alerts are still pending or failed"),
        "{}",
        text(&help.stdout)
    );
}
