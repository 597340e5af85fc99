//! WebSub round trip against a local hub: discovery, subscription, verification of
//! intent, signed content distribution into the pipeline, forged content ignored.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use common::*;
use hmac::{Hmac, KeyInit, Mac};
use veille::matching::Query;
use veille::matching::SearchRequest;
use veille::store::index::MentionIndex;

#[derive(Clone, Default)]
struct Hub {
    subscriptions: Arc<Mutex<Vec<HashMap<String, String>>>>,
    /// (status, body) of our verification GET.
    verified: Arc<Mutex<Option<(u16, String)>>>,
}

async fn subscribe(State(hub): State<Hub>, body: axum::body::Bytes) -> axum::http::StatusCode {
    let f: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    hub.subscriptions.lock().unwrap().push(f.clone());
    // Verification of intent, after answering 202 (as hubs do).
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let url = format!(
            "{}?hub.mode=subscribe&hub.topic={}&hub.challenge=ch4ll3nge&hub.lease_seconds=3600",
            f["hub.callback"],
            url::form_urlencoded::byte_serialize(f["hub.topic"].as_bytes()).collect::<String>()
        );
        let r = reqwest::get(&url).await.unwrap();
        let status = r.status().as_u16();
        *hub.verified.lock().unwrap() = Some((status, r.text().await.unwrap()));
    });
    axum::http::StatusCode::ACCEPTED
}

fn atom(base: &str, hub: &str, entries: &[(&str, &str)]) -> String {
    let mut s = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:blog</id>
<link rel="hub" href="{hub}"/><link rel="self" href="{base}/feed.xml"/><updated>2026-03-10T08:00:00Z</updated>"#
    );
    for (id, title) in entries {
        s.push_str(&format!(
            "<entry><id>urn:{id}</id><title>{title}</title><link href=\"https://blog.example/{id}\"/><updated>{}</updated></entry>",
            chrono::Utc::now().to_rfc3339()
        ));
    }
    s.push_str("</feed>");
    s
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(body);
    let hex: String = m
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn titles(setup: &Setup, q: &str) -> Vec<String> {
    let idx = MentionIndex::open(&setup.path().join("data/index")).unwrap();
    idx.search(&SearchRequest {
        query: Some(Query::parse(q).unwrap()),
        limit: 10,
        ..Default::default()
    })
    .unwrap()
    .into_iter()
    .map(|m| m.title)
    .collect()
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_verify_and_receive_signed_content() {
    let hub = Hub::default();
    let hub_app = axum::Router::new()
        .route("/hub", post(subscribe))
        .with_state(hub.clone());
    let hub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}/hub", hub_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hub_listener, hub_app).await.unwrap() });

    let feeds = FeedServer::start().await;
    let base = feeds.url("");
    feeds.set(
        "/feed.xml",
        Route::ok(
            "application/atom+xml",
            atom(&base, &hub_url, &[("1", "Acme first post")]),
        ),
    );

    let port = free_port();
    let setup = Setup::new();
    let cfg = base_config().replace(
        "listen = \"\"",
        &format!("listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\""),
    ) + &rss_source("blog", &feeds.url("/feed.xml"))
        .replace("kind = \"rss\"", "kind = \"rss\"\nevery = \"10s\"");
    setup.write(&cfg);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let config = setup.load();
    let daemon = tokio::spawn(async move {
        veille::daemon::run(config, veille::daemon::RunOptions::default(), stop_rx).await
    });

    // The first poll finds the hub and subscribes; the hub verifies our intent.
    wait_for("the verification", || {
        hub.verified.lock().unwrap().is_some()
    })
    .await;
    assert_eq!(
        hub.verified.lock().unwrap().clone().unwrap(),
        (200, "ch4ll3nge".to_string())
    );
    let sub = hub.subscriptions.lock().unwrap()[0].clone();
    assert_eq!(sub["hub.mode"], "subscribe");
    assert_eq!(sub["hub.topic"], format!("{base}/feed.xml"));
    assert!(sub["hub.callback"].starts_with(&format!("http://127.0.0.1:{port}/websub/")));
    let secret = sub["hub.secret"].clone();
    assert!(secret.len() >= 32);
    wait_for("the first poll indexed", || {
        !titles(&setup, "first").is_empty()
    })
    .await;

    let client = reqwest::Client::new();
    // Forged content (wrong signature) is ignored.
    let forged = atom(&base, &hub_url, &[("2", "Acme forged scandale")]);
    let r = client
        .post(&sub["hub.callback"])
        .header("content-type", "application/atom+xml")
        .header("x-hub-signature", sign("not-the-secret", forged.as_bytes()))
        .body(forged)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // Signed content goes through the pipeline.
    let pushed = atom(&base, &hub_url, &[("3", "Acme pushed scandale")]);
    let r = client
        .post(&sub["hub.callback"])
        .header("content-type", "application/atom+xml")
        .header("x-hub-signature", sign(&secret, pushed.as_bytes()))
        .body(pushed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    wait_for("the pushed mention", || {
        !titles(&setup, "pushed").is_empty()
    })
    .await;
    assert!(titles(&setup, "forged").is_empty());
    // A verification for a subscription we never asked for is refused.
    let r = client
        .get(format!(
            "http://127.0.0.1:{port}/websub/unknown?hub.mode=subscribe&hub.topic=x&hub.challenge=y"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);

    stop_tx.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    // The subscription is saved with its lease; the feed is now polled only as a safety net.
    let db = rusqlite::Connection::open(setup.path().join("data/state.sqlite")).unwrap();
    let (verified, lease): (Option<i64>, Option<i64>) = db
        .query_row("SELECT verified_at, lease_until FROM websub", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(verified.is_some());
    assert!(lease.unwrap() - verified.unwrap() == 3_600_000);
    let polls = feeds.requests("/feed.xml").len();
    assert!(polls <= 2, "no 10 s polling once pushed: {polls}");
}

/// A push feed added by a reload is subscribed and its pushes are taken; once it is
/// removed by another reload, its pushes get 410 Gone (which ends the subscription).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_and_removes_push_sources() {
    let hub = Hub::default();
    let hub_app = axum::Router::new()
        .route("/hub", post(subscribe))
        .with_state(hub.clone());
    let hub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}/hub", hub_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hub_listener, hub_app).await.unwrap() });

    let feeds = FeedServer::start().await;
    let base = feeds.url("");
    feeds.set(
        "/plain.xml",
        Route::rss(rss(&[("Acme plain", "https://p.example/1", "x", &ago(1))])),
    );
    feeds.set(
        "/feed.xml",
        Route::ok(
            "application/atom+xml",
            atom(&base, &hub_url, &[("1", "Acme first post")]),
        ),
    );
    let port = free_port();
    let setup = Setup::new();
    let head = base_config().replace(
        "listen = \"\"",
        &format!("listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\""),
    ) + &rss_source("plain", &feeds.url("/plain.xml"));
    setup.write(&head);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
    let config = setup.load();
    let daemon = tokio::spawn(async move {
        let opts = veille::daemon::RunOptions {
            reload: Some(reload_rx),
            ..Default::default()
        };
        veille::daemon::run(config, opts, stop_rx).await
    });
    wait_for("the first poll", || !titles(&setup, "plain").is_empty()).await;

    // Reload with the push feed: it is polled, subscribed and verified.
    setup.write(&(head.clone() + &rss_source("blog", &feeds.url("/feed.xml"))));
    reload_tx.send(()).await.unwrap();
    wait_for("the verification", || {
        hub.verified.lock().unwrap().is_some()
    })
    .await;
    let sub = hub.subscriptions.lock().unwrap()[0].clone();
    let client = reqwest::Client::new();
    let push = |title: &str| {
        let body = atom(&base, &hub_url, &[(title, title)]);
        client
            .post(&sub["hub.callback"])
            .header("content-type", "application/atom+xml")
            .header("x-hub-signature", sign(&sub["hub.secret"], body.as_bytes()))
            .body(body)
    };
    let r = push("Acme pushed after reload").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    wait_for("the pushed mention", || {
        !titles(&setup, "\"pushed after reload\"").is_empty()
    })
    .await;

    // Reload without it: its pushes are refused with 410, and its subscription forgotten.
    setup.write(&head);
    reload_tx.send(()).await.unwrap();
    let mut status = 0;
    for _ in 0..200 {
        status = push("Acme probe").send().await.unwrap().status().as_u16();
        if status == 410 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 410);
    let r = push("Acme pushed after removal").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 410);
    stop_tx.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    assert!(titles(&setup, "removal").is_empty());
    let db = rusqlite::Connection::open(setup.path().join("data/state.sqlite")).unwrap();
    let subs: i64 = db
        .query_row("SELECT count(*) FROM websub", [], |r| r.get(0))
        .unwrap();
    assert_eq!(subs, 0);
}

/// Leases are renewed before they lapse whatever the polling does, once per lease (not
/// again while the hub has not answered), with the same callback and secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_are_renewed_on_time_and_once() {
    use veille::clock::ManualClock;
    let hub = Hub::default();
    // This hub records requests and never verifies.
    let recorded = hub.subscriptions.clone();
    let hub_app = axum::Router::new().route(
        "/hub",
        post(move |body: axum::body::Bytes| {
            let recorded = recorded.clone();
            async move {
                let f: HashMap<String, String> =
                    url::form_urlencoded::parse(&body).into_owned().collect();
                recorded.lock().unwrap().push(f);
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let hub_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_url = format!("http://{}/hub", hub_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hub_listener, hub_app).await.unwrap() });

    let setup = Setup::new();
    setup.write(&(base_config() + &rss_source("blog", "http://127.0.0.1:9/feed.xml")));
    let cfg = setup.load();
    std::fs::create_dir_all(&cfg.daemon.data_dir).unwrap();
    let state = veille::store::state::State::open(&cfg.state_path()).unwrap();
    let t0 = chrono::Utc::now();
    state
        .save_subscription(&veille::store::state::SubscriptionRow {
            token: "tok".into(),
            source: "blog".into(),
            hub: hub_url.to_string(),
            topic: "http://127.0.0.1:9/feed.xml".into(),
            secret: "s3cr3t".into(),
            requested_at: t0,
            verified_at: Some(t0),
            lease_until: Some(t0 + chrono::Duration::hours(1)),
        })
        .unwrap();
    let clock = ManualClock::new(t0 + chrono::Duration::minutes(10));
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    let sources: Vec<Arc<veille::sources::Source>> =
        cfg.sources.iter().cloned().map(Arc::new).collect();
    let reg = veille::websub::Registry::load(
        url::Url::parse("http://veille.example").unwrap(),
        veille::crawl::Http::new(&cfg.crawl).unwrap(),
        Arc::new(Mutex::new(state)),
        Arc::new(clock.clone()),
        &sources,
        tx,
        Duration::from_secs(3600),
    )
    .unwrap();
    assert_eq!(reg.renew_due(), 0, "54 minutes of lease left");
    clock.set(t0 + chrono::Duration::minutes(55));
    assert_eq!(reg.renew_due(), 1);
    wait_for("the renewal", || {
        hub.subscriptions.lock().unwrap().len() == 1
    })
    .await;
    let f = hub.subscriptions.lock().unwrap()[0].clone();
    assert_eq!(f["hub.mode"], "subscribe");
    assert_eq!(f["hub.callback"], "http://veille.example/websub/tok");
    assert_eq!(f["hub.secret"], "s3cr3t");
    // Not again while the hub has not answered…
    clock.set(t0 + chrono::Duration::minutes(58));
    assert_eq!(reg.renew_due(), 0);
    // …and a removed source is not renewed at all.
    reg.set_sources(&[]);
    clock.set(t0 + chrono::Duration::minutes(59) + chrono::Duration::hours(1));
    assert_eq!(reg.renew_due(), 0);
}
