//! Prometheus metrics of the real daemon. In a test binary of its own: the metrics
//! registry is process-wide (one daemon per process in production), so a second daemon
//! started by a concurrent test would declare its own sources and drop this one's.

mod common;

use common::api::{Running, start_daemon};
use common::*;
use serde_json::Value;

/// Every series the configuration names is exported from the start, at zero, before
/// anything happened (`rate()` and absence alerts need it); and the example alerting
/// rules and Grafana dashboard in deploy/ name only series veille exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_exist_from_start_and_deploy_examples_name_only_them() {
    let feeds = FeedServer::start().await;
    // A source that fails: it never succeeds, so its health series say so.
    feeds.set("/down.xml", Route::status(500));
    let s = Setup::new();
    let port = free_port();
    let cfg = base_config().replace("listen = \"\"", &format!("listen = \"127.0.0.1:{port}\""))
        + &rss_source("down", &feeds.url("/down.xml"))
        + "\n[notifier.pager]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nallow_private = true\n";
    s.write(&cfg);
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"quiet\"\nbrand = \"globex\"\nkind = \"match\"\nquery = \"never-said\"\nnotify = [\"pager\"]\n",
    );
    let Running {
        api,
        stop,
        task: daemon,
    } = start_daemon(s.load(), port).await;
    let (st, m) = api.call("GET", "/metrics", None, None).await;
    assert_eq!(st, 200);
    for needle in [
        "veille_alerts_total{rule=\"quiet\",status=\"new\",state=\"pending\"} 0",
        "veille_alerts_total{rule=\"quiet\",status=\"resolved\",state=\"silenced\"} 0",
        "veille_delivery_attempts_total{notifier=\"pager\",rule=\"quiet\",outcome=\"delivered\"} 0",
        "veille_delivery_attempts_total{notifier=\"pager\",rule=\"quiet\",outcome=\"failed\"} 0",
        "veille_items_failed_total{source=\"down\",stage=\"parse\"} ",
        "veille_mentions_ingested_total{brand=\"globex\"} ",
        "veille_fetches_total{kind=\"rss\",outcome=\"not_modified\"} ",
        "veille_source_up{source=\"down\",kind=\"rss\"} 0",
        "veille_source_last_success_timestamp_seconds{source=\"down\"} 0",
        &format!(
            "veille_build_info{{version=\"{}\",commit=\"",
            env!("CARGO_PKG_VERSION")
        ),
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }
    let commit = m
        .split("veille_build_info{")
        .nth(1)
        .and_then(|r| r.split("commit=\"").nth(1))
        .and_then(|r| r.split('"').next())
        .unwrap();
    assert!(!commit.is_empty(), "{m}");

    // The names in the examples, each a sample exported above.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let rules = std::fs::read_to_string(root.join("prometheus/veille-alerts.yml")).unwrap();
    let dashboard = std::fs::read_to_string(root.join("grafana/veille-dashboard.json")).unwrap();
    let dash: Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    let exprs: Vec<String> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    let mut named = std::collections::BTreeSet::new();
    for text in exprs.iter().map(String::as_str).chain([rules.as_str()]) {
        let mut rest = text;
        while let Some(at) = rest.find("veille_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            named.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    let exported: std::collections::BTreeSet<&str> = m
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let missing: Vec<&String> = named
        .iter()
        .filter(|n| !exported.contains(n.as_str()))
        .collect();
    assert!(missing.is_empty(), "not exported: {missing:?}\n{m}");
    // Both examples cover the health series this issue added.
    for n in [
        "veille_source_up",
        "veille_source_last_success_timestamp_seconds",
        "veille_delivery_attempts_total",
        "veille_outbox_oldest_age_seconds",
    ] {
        assert!(named.contains(n), "{n} is in neither example");
    }
    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
}
