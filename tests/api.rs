//! The HTTP API, metrics and readiness, on the real daemon listening on loopback.

mod common;

use std::time::Duration;

use common::api::{Api, Running, start_daemon};
use common::*;
use serde_json::Value;

const READ: &str = "read-token-0123456789abcdef0123456789abcdef";
const ADMIN: &str = "admin-token-0123456789abcdef0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_search_lists_acks_silences_metrics_and_openapi() {
    let feeds = FeedServer::start().await;
    let hooks = WebhookReceiver::start().await;
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
                "Acme ouvre un magasin à Lyon",
                "https://a.example/2",
                "Inauguration mardi",
                &ago(10),
            ),
            (
                "Globex rachète Initech",
                "https://a.example/3",
                "Le marché bouge",
                &ago(15),
            ),
        ])),
    );
    let s = Setup::new();
    s.secret("api-read", READ);
    s.secret("api-admin", &format!("{ADMIN}\n"));
    let port = free_port();
    let cfg = base_config().replace("listen = \"\"", &format!("listen = \"127.0.0.1:{port}\""))
        + &rss_source("f", &feeds.url("/f.xml"))
        + &format!(
            "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{}\"\nallow_private = true\n",
            hooks.url("/h")
        )
        + "\n[[api.token]]\nname = \"grafana\"\nscope = \"read\"\nfile = \"secrets/api-read\"\n\n[[api.token]]\nname = \"alice\"\nscope = \"admin\"\nfile = \"secrets/api-admin\"\n";
    s.write(&cfg);
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nquery = \"arnaque\"\nnotify = [\"hook\"]\n",
    );
    let Running {
        api,
        stop,
        task: daemon,
    } = start_daemon(s.load(), port).await;
    // Liveness needs no token, and says nothing more than that.
    let (status, body) = api.call("GET", "/healthz", None, None).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    for _ in 0..200 {
        if !hooks.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hooks.received().len(), 1, "the crisis alert went out");

    // Authentication.
    let (st, body) = api.call("GET", "/api/mentions", None, None).await;
    assert_eq!(st, 401, "{body}");
    assert!(body.contains("Bearer"), "{body}");
    let (st, _) = api
        .call("GET", "/api/mentions", Some("wrong-token"), None)
        .await;
    assert_eq!(st, 401);
    let (st, body) = api
        .call("POST", "/api/incidents/1/ack", Some(READ), None)
        .await;
    assert_eq!(st, 403, "read tokens cannot act: {body}");

    // Search: same language as everywhere, filters, pagination.
    let all = api.json("GET", "/api/mentions?brand=acme", READ).await;
    assert_eq!(all["total"], 2);
    assert_eq!(
        all["items"][0]["title"], "Arnaque chez Acme, remboursez-moi",
        "newest first"
    );
    let q = api
        .json(
            "GET",
            "/api/mentions?q=arnaque%20OR%20rachete&limit=1",
            READ,
        )
        .await;
    assert_eq!(
        (q["total"].as_u64(), q["items"].as_array().unwrap().len()),
        (Some(2), 1)
    );
    let page2 = api
        .json(
            "GET",
            "/api/mentions?q=arnaque%20OR%20rachete&limit=1&offset=1",
            READ,
        )
        .await;
    assert_ne!(q["items"][0]["id"], page2["items"][0]["id"]);
    let neg = api
        .json(
            "GET",
            "/api/mentions?sentiment=negative&lang=fr&since=1d",
            READ,
        )
        .await;
    assert_eq!(neg["total"], 1, "{neg}");
    let (st, body) = api
        .call("GET", "/api/mentions?q=acme%20AND%20(x", Some(READ), None)
        .await;
    assert_eq!(st, 400);
    assert!(body.contains("column"), "{body}");
    let (st, body) = api
        .call("GET", "/api/mentions?since=yesterday", Some(READ), None)
        .await;
    assert_eq!(st, 400);
    assert!(body.contains("since"), "{body}");
    let id = all["items"][0]["id"].as_str().unwrap().to_string();
    let one = api.json("GET", &format!("/api/mentions/{id}"), READ).await;
    assert_eq!(one["id"], id.as_str());
    let (st, body) = api
        .call("GET", "/api/mentions/nope", Some(READ), None)
        .await;
    assert_eq!(st, 404);
    assert!(body.contains("error"), "{body}");

    // Alerts, incidents, acknowledgement.
    let alerts = api.json("GET", "/api/alerts", READ).await;
    assert_eq!(alerts["items"][0]["alert"]["rule"], "crisis");
    assert_eq!(alerts["items"][0]["deliveries"][0]["state"], "delivered");
    let inc = api.json("GET", "/api/incidents?state=open", READ).await;
    let inc_id = inc["items"][0]["id"].as_i64().unwrap();
    let acked = api
        .json("POST", &format!("/api/incidents/{inc_id}/ack"), ADMIN)
        .await;
    assert_eq!(acked["acked_by"], "alice");
    // One incident with its alerts, as `veille incidents show ID --json`.
    let one = api
        .json("GET", &format!("/api/incidents/{inc_id}"), READ)
        .await;
    assert_eq!(one["incident"]["id"], inc_id);
    assert_eq!(one["alerts"][0]["alert"]["rule"], "crisis");
    assert_eq!(one["alerts"][0]["deliveries"][0]["state"], "delivered");
    let (st, body) = api
        .call("GET", "/api/incidents/999", Some(READ), None)
        .await;
    assert_eq!(st, 404, "{body}");
    let (st, _) = api
        .call("POST", "/api/incidents/999/ack", Some(ADMIN), None)
        .await;
    assert_eq!(st, 404);

    // Silences.
    let (st, body) = api
        .call(
            "POST",
            "/api/silences",
            Some(ADMIN),
            Some(serde_json::json!({"brand": "acme", "duration": "2h", "reason": "statement out"})),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let sid = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let list = api.json("GET", "/api/silences", READ).await;
    assert_eq!(list["items"][0]["active"], true);
    // Who silenced is a field of its own; the reason stays as written.
    assert_eq!(list["items"][0]["author"], "alice");
    assert_eq!(list["items"][0]["reason"], "statement out");
    let (st, _) = api
        .call(
            "POST",
            "/api/silences",
            Some(ADMIN),
            Some(serde_json::json!({"duration": "2h"})),
        )
        .await;
    assert_eq!(st, 400, "a silence of everything is refused");
    api.json("POST", &format!("/api/silences/{sid}/expire"), ADMIN)
        .await;
    let (st, _) = api
        .call(
            "POST",
            &format!("/api/silences/{sid}/expire"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(st, 404);

    // Sources.
    let src = api.json("GET", "/api/sources", READ).await;
    assert_eq!(src["items"][0]["id"], "f");
    assert_eq!(src["items"][0]["healthy"], true);
    assert!(src["items"][0]["last_success"].is_string());

    // Metrics.
    let (st, m) = api.call("GET", "/metrics", None, None).await;
    assert_eq!(st, 200);
    for needle in [
        "veille_fetches_total{kind=\"rss\",outcome=\"ok\"}",
        "veille_fetch_duration_seconds_bucket",
        "veille_fetched_bytes_total{kind=\"rss\"}",
        "veille_mentions_ingested_total{brand=\"acme\"}",
        "veille_index_duration_seconds_count",
        "veille_match_duration_seconds_count",
        "veille_alerts_total{rule=\"crisis\",status=\"new\",state=\"pending\"}",
        "veille_delivery_attempts_total{notifier=\"hook\",rule=\"crisis\",outcome=\"delivered\"}",
        "veille_outbox_pending 0",
        "veille_outbox_oldest_age_seconds 0",
        "veille_sources_unhealthy 0",
        "veille_incidents_open 1",
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }

    // The OpenAPI document describes exactly what the router serves.
    let doc: Value =
        serde_json::from_str(&api.call("GET", "/api/openapi.json", None, None).await.1).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let concrete = path.replace("{id}", "1");
            let body = (method == "post" && path == "/api/silences")
                .then(|| serde_json::json!({"rule": "crisis", "duration": "1m"}));
            let (st, text) = api
                .call(&method.to_uppercase(), &concrete, Some(ADMIN), body)
                .await;
            assert!(
                op["responses"].get(st.to_string()).is_some(),
                "{method} {path} answered {st}, which the document does not list: {text}"
            );
        }
    }
    documented.sort();
    assert_eq!(
        documented,
        vec![
            "GET /api/alerts",
            "GET /api/incidents",
            "GET /api/incidents/{id}",
            "GET /api/mentions",
            "GET /api/mentions/{id}",
            "GET /api/openapi.json",
            "GET /api/silences",
            "GET /api/sources",
            "POST /api/alerts/drop-failed",
            "POST /api/alerts/retry-failed",
            "POST /api/alerts/{id}/drop",
            "POST /api/alerts/{id}/retry",
            "POST /api/incidents/{id}/ack",
            "POST /api/silences",
            "POST /api/silences/{id}/expire",
        ]
    );
    // What is not documented is not served, and says so in the error shape.
    for (method, path) in [
        ("DELETE", "/api/silences/1"),
        ("PUT", "/api/mentions"),
        ("GET", "/api/rules"),
    ] {
        let (st, body) = api.call(method, path, Some(ADMIN), None).await;
        assert!(st == 404 || st == 405, "{method} {path}: {st}");
        assert_error_shape(&body);
    }

    api_conventions(&api).await;

    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
}

/// `{"error": {"code": "…", "message": "…"}}`, the code one of the documented ones.
fn assert_error_shape(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    let code = v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code: {body}"));
    assert!(
        [
            "bad_request",
            "unauthorized",
            "forbidden",
            "not_found",
            "method_not_allowed",
            "unsupported_media_type",
            "unprocessable"
        ]
        .contains(&code),
        "{body}"
    );
    assert!(
        !v["error"]["message"].as_str().unwrap_or("").is_empty(),
        "{body}"
    );
    v
}

/// The CLI's conventions, in the API: every error in one JSON shape (axum's own
/// rejections included), the CLI's time expressions, `limit=0` refused, unknown names
/// answered 404, a hint for a lower-case operator word.
async fn api_conventions(api: &Api) {
    let cases: &[(&str, &str, Option<Value>, u16)] = &[
        ("GET", "/api/mentions", None, 401),
        ("GET", "/api/mentions?since=yesterday", None, 400),
        ("GET", "/api/mentions?nosuch=1", None, 400),
        ("GET", "/api/mentions?limit=x", None, 400),
        ("GET", "/api/mentions?limit=0", None, 400),
        ("GET", "/api/alerts?limit=0", None, 400),
        ("GET", "/api/mentions?brand=nosuch", None, 404),
        ("GET", "/api/mentions?source=nosuch", None, 404),
        ("GET", "/api/incidents?brand=nosuch", None, 404),
        ("GET", "/api/incidents?rule=nosuch", None, 404),
        ("POST", "/api/incidents/abc/ack", None, 400),
        // A JSON body of the wrong shape: axum answers 422 in plain text by itself.
        (
            "POST",
            "/api/silences",
            Some(serde_json::json!({"brand": "acme"})),
            422,
        ),
        (
            "POST",
            "/api/silences",
            Some(serde_json::json!({"brand": "nosuch", "duration": "1h"})),
            404,
        ),
        ("POST", "/api/silences", None, 415),
    ];
    for (method, path, body, status) in cases {
        let token = (*status != 401).then_some(ADMIN);
        let (st, text) = api.call(method, path, token, body.clone()).await;
        assert_eq!(st, *status, "{method} {path}: {text}");
        assert_error_shape(&text);
    }
    // The CLI's forms of a time: a date, a duration, RFC 3339.
    for since in ["2026-11-01", "7d", "2026-11-01T08:00:00%2B01:00"] {
        let v = api
            .json("GET", &format!("/api/mentions?since={since}"), READ)
            .await;
        assert!(v["total"].as_u64().is_some(), "{since}: {v}");
    }
    let v = api
        .json("GET", "/api/mentions?q=arnaque%20or%20rachete", READ)
        .await;
    assert!(v["hint"].as_str().unwrap_or("").contains("OR"), "{v}");
}

#[test]
fn api_tokens_come_from_files_and_must_be_long() {
    let s = Setup::new();
    s.secret("short", "abc");
    s.write(
        &(base_config()
            + "\n[[api.token]]\nname = \"x\"\nscope = \"read\"\nfile = \"secrets/short\"\n"),
    );
    let e = veille::config::Config::load(&s.config_path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("veille.toml:") && e.contains("too short"), "{e}");
    s.write(
        &(base_config()
            + "\n[[api.token]]\nname = \"y\"\nscope = \"root\"\nfile = \"secrets/short\"\n"),
    );
    let e = veille::config::Config::load(&s.config_path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown variant `root`, expected `read` or `admin`"),
        "{e}"
    );
    s.write(
        &(base_config()
            + "\n[[api.token]]\nname = \"z\"\nscope = \"read\"\ntoken = \"inline-secret\"\n"),
    );
    let e = veille::config::Config::load(&s.config_path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown field `token`"),
        "no secret in the main file: {e}"
    );
}
