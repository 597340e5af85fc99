//! Every chat platform and the signed webhook, end to end: the daemon polls a feed, the
//! rule fires, and each notifier posts to a real HTTP receiver on loopback that answers
//! like the platform (including Discord's 429 with `retry_after` in its body).

mod common;

use std::time::Duration;

use common::*;

const TOKEN: &str = "123456:ABC-DEF_secret-bot-token";
const SECRET: &str = "shared-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_platform_gets_its_native_payload() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Arnaque chez Acme : remboursez-moi @everyone",
            "https://a.example/1",
            "Service client &lt;b&gt;nul&lt;/b&gt;",
            &ago(1),
        )])),
    );
    let ok = || Route::ok("application/json", r#"{"ok":true}"#);
    for p in ["/slack", "/teams", "/gchat", "/ntfy", "/signed"] {
        srv.set(p, ok());
    }
    srv.set(&format!("/bot{TOKEN}/sendMessage"), ok());
    let mut limited = Route::ok(
        "application/json",
        r#"{"message": "You are being rate limited.", "retry_after": 0.4, "global": false}"#,
    );
    limited.status = 429;
    srv.set_seq("/discord", &[], vec![limited, ok()]);

    let s = Setup::new();
    for (name, path) in [
        ("slack", "/slack"),
        ("teams", "/teams"),
        ("discord", "/discord"),
        ("gchat", "/gchat"),
    ] {
        s.secret(name, &srv.url(path));
    }
    s.secret("telegram", TOKEN);
    s.secret("hook-secret", SECRET);
    let base = srv.url("");
    let cfg = base_config()
        + &rss_source("f", &srv.url("/f.xml"))
        + &format!(
            r#"
[notifier.slack]
kind = "slack"
url_file = "secrets/slack"
allow_private = true

[notifier.teams]
kind = "teams"
url_file = "secrets/teams"
locale = "fr"
allow_private = true

[notifier.discord]
kind = "discord"
url_file = "secrets/discord"
allow_private = true

[notifier.gchat]
kind = "googlechat"
url_file = "secrets/gchat"
allow_private = true

[notifier.telegram]
kind = "telegram"
token_file = "secrets/telegram"
chat_id = "-1001234"
base_url = "{base}"
locale = "fr"
allow_private = true

[notifier.ntfy]
kind = "ntfy"
url = "{ntfy}"
topic = "acme-crisis"
allow_private = true

[notifier.signed]
kind = "webhook"
url = "{signed}"
secret_file = "secrets/hook-secret"
allow_private = true
"#,
            ntfy = srv.url("/ntfy"),
            signed = srv.url("/signed"),
        );
    s.write(&cfg);
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nquery = \"arnaque\"\nseverity = \"critical\"\nnotify = [\"slack\", \"teams\", \"discord\", \"gchat\", \"telegram\", \"ntfy\", \"signed\"]\n",
    );
    let report = run_once_with(s.load(), true, Duration::from_secs(20)).await;
    assert_eq!(report.alerts.len(), 1);
    let body = |path: &str| -> serde_json::Value {
        let r = srv.requests(path);
        let last = r
            .last()
            .unwrap_or_else(|| panic!("nothing posted to {path}"));
        assert_eq!(last.method, "POST");
        serde_json::from_str(&last.body).unwrap()
    };

    let slack = body("/slack");
    veille::notify::chat::slack::check(&slack).unwrap();
    assert_eq!(slack["blocks"][0]["type"], "header");

    let teams = body("/teams");
    veille::notify::chat::teams::check(&teams).unwrap();
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(teams.to_string().contains("Nouveau"), "French: {teams}");

    // Discord: the 429 was honoured (retry after its retry_after), then delivered.
    let d = srv.requests("/discord");
    assert_eq!(d.len(), 2, "429 then 200");
    let discord = body("/discord");
    veille::notify::chat::discord::check(&discord).unwrap();
    assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));
    assert!(!discord.to_string().contains("@everyone"));

    let gchat = body("/gchat");
    veille::notify::chat::googlechat::check(&gchat).unwrap();
    assert!(gchat["cardsV2"][0]["card"]["sections"].is_array());

    let tg = body(&format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(
        (tg["chat_id"].as_str(), tg["parse_mode"].as_str()),
        (Some("-1001234"), Some("HTML"))
    );
    assert!(tg["text"].as_str().unwrap().contains("Nouveau"));

    let ntfy = body("/ntfy");
    assert_eq!(
        (ntfy["topic"].as_str(), ntfy["priority"].as_i64()),
        (Some("acme-crisis"), Some(5))
    );
    assert_eq!(ntfy["click"], "https://a.example/1");

    // The signed webhook: the receiver can check who sent it and when.
    let r = srv.requests("/signed");
    let h = &r[0].headers;
    let ts: i64 = h["x-veille-timestamp"].to_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 300);
    assert_eq!(
        h["x-veille-signature"].to_str().unwrap(),
        veille::notify::webhook::signature(SECRET.as_bytes(), ts, r[0].body.as_bytes())
    );
    assert_ne!(
        h["x-veille-signature"].to_str().unwrap(),
        veille::notify::webhook::signature(b"another-secret-123456", ts, r[0].body.as_bytes())
    );

    // Every delivery recorded as delivered; the bot token appears in no error or state.
    let st = veille::store::state::State::open(&s.path().join("data/state.sqlite")).unwrap();
    let rows = st.alerts(10).unwrap();
    for (notifier, state, attempts, err) in &rows[0].deliveries {
        assert_eq!(state, "delivered", "{notifier}: {err:?}");
        if notifier == "discord" {
            assert_eq!(*attempts, 2);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_telegram_message_does_not_leak_the_token() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Arnaque Acme",
            "https://a.example/1",
            "x",
            &ago(1),
        )])),
    );
    let mut bad = Route::ok(
        "application/json",
        r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
    );
    bad.status = 400;
    srv.set(&format!("/bot{TOKEN}/sendMessage"), bad);
    let s = Setup::new();
    s.secret("telegram", TOKEN);
    s.write(
        &(base_config()
            + &rss_source("f", &srv.url("/f.xml"))
            + &format!(
                "\n[notifier.tg]\nkind = \"telegram\"\ntoken_file = \"secrets/telegram\"\nchat_id = \"42\"\nbase_url = \"{}\"\nallow_private = true\n",
                srv.url("")
            )),
    );
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"tg\"]\n",
    );
    run_once_with(s.load(), true, Duration::from_secs(5)).await;
    let st = veille::store::state::State::open(&s.path().join("data/state.sqlite")).unwrap();
    let rows = st.alerts(10).unwrap();
    let (_, state, _, err) = &rows[0].deliveries[0];
    let err = err.clone().unwrap();
    assert_eq!(state, "failed", "a 400 is permanent");
    assert!(err.contains("chat not found"), "{err}");
    assert!(!err.contains("ABC-DEF"), "the token leaked: {err}");
}
