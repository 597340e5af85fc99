//! `--json` on every command that lists or shows something (issue 17 point 3): each
//! command's objects carry the fields the README documents; with them, `veille
//! incidents`, silences with their author, and tables that align and strip what would
//! move the terminal's text, in local time with its zone.

mod common;

use common::cli::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_json() {
    let f = fixture().await;
    let rows = f.json(&["sources"]);
    assert_eq!(rows.len(), 1);
    has(
        &rows[0],
        &[
            "id",
            "kind",
            "health",
            "every",
            "failures",
            "items_seen",
            "items_failed",
            "last_polled",
            "last_success",
            "next_due",
            "last_error",
            "last_error_at",
        ],
    );
    assert_eq!(
        (rows[0]["id"].as_str(), rows[0]["health"].as_str()),
        (Some("forum-conso"), Some("ok"))
    );
    utc(&rows[0]["last_success"]);
    // `sources test ID`: what one poll yields, one mention per line.
    let items = f.json(&["sources", "test", "forum-conso"]);
    assert_eq!(items.len(), 3);
    has(
        &items[0],
        &["id", "title", "url", "published_at", "matched_brands"],
    );
    assert_eq!(items[0]["matched_brands"][0], "acme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_json_and_a_table_in_local_time_without_bidi_controls() {
    let f = fixture().await;
    let rows = f.json(&["alerts"]);
    assert!(!rows.is_empty());
    has(&rows[0], &["seq", "alert", "deliveries"]);
    has(
        &rows[0]["alert"],
        &[
            "rule",
            "brand",
            "severity",
            "created_at",
            "summary",
            "mentions",
            "incident",
            "status",
        ],
    );
    has(
        &rows[0]["deliveries"][0],
        &["notifier", "state", "attempts", "last_error"],
    );
    let created = utc(&rows[0]["alert"]["created_at"]);

    // The hostile title is in an alert's summary, and the table shows it without its
    // right-to-left override.
    let hostile = rows
        .iter()
        .find(|r| r["alert"]["rule"] == "hostile")
        .unwrap();
    assert!(
        hostile["alert"]["summary"]
            .as_str()
            .unwrap()
            .contains('\u{202E}')
    );
    let table = f.ok(&["alerts"]);
    assert!(table.contains("gnp.exe remboursez"), "{table}");
    assert!(!table.contains('\u{202E}'), "{table:?}");
    // Local time with its zone: Paris is UTC+1 in winter, UTC+2 in summer.
    let paris = created.with_timezone(&chrono_tz::Europe::Paris);
    let shown = format!("{} {}", paris.format("%Y-%m-%d %H:%M"), paris.format("%Z"));
    assert!(
        shown.ends_with(" CET") || shown.ends_with(" CEST"),
        "{shown}"
    );
    assert!(table.contains(&shown), "{shown} not in\n{table}");
    // The rule column starts at the same display column on every row.
    let col = |l: &str| {
        let i = ["crisis", "hostile", "rule"]
            .iter()
            .find_map(|w| l.find(w))?;
        Some(unicode_width::UnicodeWidthStr::width(&l[..i]))
    };
    let starts: Vec<usize> = table
        .lines()
        .filter(|l| !l.starts_with("  "))
        .filter_map(col)
        .collect();
    assert!(
        starts.len() >= 2 && starts.iter().all(|&c| c == starts[0]),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authors_json_and_a_table_without_internal_keys() {
    let f = fixture().await;
    let rows = f.json(&["authors", "--brand", "acme"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        has(
            r,
            &[
                "author",
                "name",
                "where",
                "mentions",
                "reach",
                "negative",
                "influence",
            ],
        );
    }
    assert_eq!(rows[0]["author"], "Zoë Ångström");
    assert_eq!(rows[0]["mentions"], 2);
    assert_eq!(rows[0]["where"], "forum.example");
    let table = f.ok(&["authors", "--brand", "acme"]);
    assert!(
        !table.contains("forum.example:"),
        "an internal key shows: {table}"
    );
    // The counts line up although one name is two columns per character.
    let ends: Vec<usize> = table
        .lines()
        .skip(1)
        .map(|l| unicode_width::UnicodeWidthStr::width(l.split("forum.example").next().unwrap()))
        .collect();
    assert!(ends.len() == 2 && ends[0] == ends[1], "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_list_json_records_the_author() {
    let f = fixture().await;
    f.ok(&[
        "silence",
        "add",
        "--brand",
        "acme",
        "--for",
        "2h",
        "--reason",
        "statement out",
    ]);
    f.ok(&[
        "silence", "add", "--rule", "crisis", "--for", "1h", "--author", "bob",
    ]);
    let rows = f.json(&["silence", "list"]);
    assert_eq!(rows.len(), 2);
    for r in &rows {
        has(
            r,
            &[
                "id",
                "rule",
                "brand",
                "starts_at",
                "ends_at",
                "expired_at",
                "reason",
                "author",
                "active",
            ],
        );
    }
    // The default author is the user running the command.
    assert_eq!(
        (rows[0]["author"].as_str(), rows[0]["reason"].as_str()),
        (Some("alice"), Some("statement out"))
    );
    assert_eq!(rows[1]["author"], "bob");
    assert_eq!(rows[0]["active"], true);
    let table = f.ok(&["silence", "list"]);
    assert!(table.contains("alice") && table.contains("bob"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_json_lists_and_dry_runs() {
    let f = fixture().await;
    let rows = f.json(&["digest"]);
    assert_eq!(rows.len(), 1);
    has(
        &rows[0],
        &[
            "name", "schedule", "timezone", "next", "last", "notify", "retries",
        ],
    );
    // Without a zone of its own, the digest runs in the installation's.
    assert_eq!(rows[0]["timezone"], "Europe/Paris");
    let next = utc(&rows[0]["next"]).with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(next.format("%H:%M").to_string(), "08:00");
    let out = f.ok(&["digest", "--now", "daily", "--dry-run", "--json"]);
    let d: Value = serde_json::from_str(&out).unwrap();
    has(&d, &["name", "start", "end", "brands"]);
    assert_eq!(d["brands"][0]["id"], "acme");
    let title = f.ok(&["digest", "--now", "daily", "--dry-run"]);
    let first = title.lines().next().unwrap_or_default().to_string();
    assert!(
        first.ends_with(" CET") || first.ends_with(" CEST"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_test_json() {
    let f = fixture().await;
    let rows = f.json(&["rules", "test", "crisis", "--from", "1d"]);
    assert!(!rows.is_empty());
    has(&rows[0], &["alert", "notify", "silenced"]);
    assert_eq!(rows[0]["alert"]["rule"], "crisis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_list_show_and_ack() {
    let f = fixture().await;
    let rows = f.json(&["incidents", "--open"]);
    assert!(!rows.is_empty());
    has(
        &rows[0],
        &[
            "id",
            "rule",
            "brand",
            "group",
            "state",
            "opened_at",
            "last_true_at",
            "last_alert_at",
            "resolved_at",
            "alerts",
            "suppressed",
            "acked_at",
            "acked_by",
        ],
    );
    // The incident of the hostile mention: its page shows the title, made safe.
    let id = rows.iter().find(|r| r["rule"] == "hostile").unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let crisis = f.json(&["incidents", "--rule", "crisis", "--brand", "acme"]);
    assert!(
        !crisis.is_empty() && crisis.len() < rows.len(),
        "{crisis:?}"
    );
    assert!(crisis.iter().all(|r| r["rule"] == "crisis"), "{crisis:?}");
    assert!(f.json(&["incidents", "--brand", "globex"]).is_empty());

    let shown = f.json(&["incidents", "show", &id]);
    has(&shown[0], &["incident", "alerts"]);
    let alert = &shown[0]["alerts"][0];
    has(alert, &["seq", "alert", "deliveries"]);
    assert!(!alert["alert"]["mentions"].as_array().unwrap().is_empty());
    let page = f.ok(&["incidents", "show", &id]);
    assert!(
        page.contains("gnp.exe remboursez") && !page.contains('\u{202E}'),
        "{page}"
    );

    let out = f.ok(&["incidents", "ack", &id]);
    assert!(out.contains("acknowledged by alice"), "{out}");
    let acked = f.json(&["incidents", "show", &id]);
    assert_eq!(acked[0]["incident"]["acked_by"], "alice");
    let table = f.ok(&["incidents"]);
    assert!(table.contains("acked by alice"), "{table}");

    // Names that do not exist: status 3.
    for args in [
        vec!["incidents", "show", "999"],
        vec!["incidents", "ack", "999"],
        vec!["incidents", "--rule", "nosuch"],
        vec!["incidents", "--brand", "nosuch"],
    ] {
        let out = f.run(&args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
