//! No secret in any error text (issue 12): every notifier kind and every source credential
//! is given a recognisable secret, each failure path is driven (connection refused,
//! redirect loop, 4xx/5xx whose body echoes the URL, the token and the request, TLS
//! failure), and the secret is looked for in the daemon's logs, `veille alerts`,
//! `veille sources`, the API, the metrics and the bytes of the state database.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use common::*;

/// Every secret holds this; none may be seen anywhere.
const MARK: &str = "S3CR3T";
const READ: &str = "read-token-0123456789abcdef0123456789abcdef";

#[derive(Clone)]
struct Echo {
    addr: SocketAddr,
    /// Each request as the server saw it: URL, Authorization, body.
    seen: Arc<Mutex<Vec<String>>>,
}

/// The worst receiver: `/feed.xml` is a feed with a crisis item; `/loop/…` redirects to
/// itself; `/status/NNN/…` (and anything else, with 500) answers NNN with a body quoting
/// the whole URL, the Authorization header and the request body.
async fn echo(
    State(e): State<Echo>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!("http://{}{uri}", e.addr);
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = String::from_utf8_lossy(&body).into_owned();
    e.seen
        .lock()
        .unwrap()
        .push(format!("{method} {url} auth={auth} body={body}"));
    let path = uri.path();
    if path == "/feed.xml" {
        return (
            [(header::CONTENT_TYPE, "application/rss+xml")],
            rss(&[("Boycott Acme", "https://b.example/1", "x", &ago(1))]),
        )
            .into_response();
    }
    if path.starts_with("/loop/") {
        return (StatusCode::FOUND, [(header::LOCATION, uri.to_string())], "").into_response();
    }
    let code = path
        .strip_prefix("/status/")
        .and_then(|r| r.split('/').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or(500);
    let quoted = serde_json::json!({
        "error": format!("no hook at {url}"),
        "you_sent": {"method": method.as_str(), "authorization": auth, "body": body},
    });
    (StatusCode::from_u16(code).unwrap(), quoted.to_string()).into_response()
}

async fn start_echo() -> Echo {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let e = Echo {
        addr: listener.local_addr().unwrap(),
        seen: Arc::default(),
    };
    let app = axum::Router::new()
        .fallback(axum::routing::any(echo))
        .with_state(e.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    e
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

/// Where each secret goes and how it fails.
fn config(s: &Setup, echo: SocketAddr, tls_port: u16, closed: u16, api_port: u16) -> String {
    let e = format!("http://{echo}");
    // Notifiers.
    s.secret("smtp", &format!("smtp-{MARK}-password"));
    s.secret(
        "slack",
        &format!("{e}/loop/services/T0/B0/slack-{MARK}-path"),
    );
    s.secret(
        "mattermost",
        &format!("{e}/status/500/hooks/mattermost-{MARK}-path"),
    );
    s.secret(
        "teams",
        &format!("{e}/status/400/webhookb2/teams-{MARK}-path"),
    );
    s.secret(
        "discord",
        &format!("http://127.0.0.1:{closed}/api/webhooks/1/discord-{MARK}-path"),
    );
    s.secret(
        "gchat",
        &format!(
            "https://127.0.0.1:{tls_port}/v1/spaces/AAA/messages?key=gchat-{MARK}-key&token=gchat-{MARK}-token"
        ),
    );
    s.secret("telegram", &format!("777:telegram{MARK}token"));
    s.secret("ntfy", &format!("tk_ntfy{MARK}token"));
    s.secret(
        "hook-url",
        &format!("{e}/status/503/hook/webhook-{MARK}-path?sig=webhook-{MARK}-query"),
    );
    s.secret("hook-signing", &format!("signing-{MARK}-secret-0123456789"));
    // Source credentials.
    s.secret("reddit-id", &format!("reddit-{MARK}-id"));
    s.secret("reddit-secret", &format!("reddit-{MARK}-secret"));
    s.secret("youtube", &format!("youtube-{MARK}-key"));
    s.secret("stackexchange", &format!("se-{MARK}-key"));
    s.secret("bluesky", &format!("bsky-{MARK}-app-password"));
    s.secret("mastodon", &format!("mastodon-{MARK}-token"));
    s.secret("discourse", &format!("discourse-{MARK}-key"));
    s.secret("flarum", &format!("flarum-{MARK}-token"));
    s.secret("lemmy", &format!("lemmy-{MARK}-token"));
    s.secret("api-read", READ);
    let notifiers = format!(
        r#"
[notifier.mail]
kind = "email"
smtp_url = "smtps://veille@127.0.0.1:{tls_port}"
password_file = "secrets/smtp"
from = "veille@example.org"
to = ["cm@example.org"]

[notifier.slack]
kind = "slack"
url_file = "secrets/slack"
allow_private = true

[notifier.mattermost]
kind = "mattermost"
url_file = "secrets/mattermost"
allow_private = true

[notifier.teams]
kind = "teams"
url_file = "secrets/teams"
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
chat_id = "-100123"
base_url = "{e}/loop/"
allow_private = true

[notifier.phone]
kind = "ntfy"
url = "{e}/status/401/ntfy"
topic = "acme-crisis"
token_file = "secrets/ntfy"
allow_private = true

[notifier.hook]
kind = "webhook"
url_file = "secrets/hook-url"
secret_file = "secrets/hook-signing"
allow_private = true

# A URL written in the config: not a secret file, but its path and query are still
# kept out of every error.
[notifier.plain]
kind = "webhook"
url = "{e}/status/500/plain/plain-{MARK}-path?token=plain-{MARK}-query"
allow_private = true
"#
    );
    let sources = format!(
        r#"
[[source]]
id = "feed"
kind = "rss"
url = "{e}/feed.xml"
allow_private = true
backfill_alerts = true

[[source]]
id = "reddit"
kind = "reddit"
base_url = "{e}/status/403/reddit/"
auth_url = "{e}/status/401/reddit-auth/"
username = "tester"
subreddits = ["acme"]
client_id_file = "secrets/reddit-id"
client_secret_file = "secrets/reddit-secret"
allow_private = true

[[source]]
id = "youtube"
kind = "youtube"
base_url = "{e}/status/403/youtube/"
key_file = "secrets/youtube"
allow_private = true

[[source]]
id = "stackexchange"
kind = "stackexchange"
base_url = "{e}/loop/se/"
site = "stackoverflow"
key_file = "secrets/stackexchange"
allow_private = true

[[source]]
id = "bluesky"
kind = "bluesky"
base_url = "{e}/status/401/bsky/"
identifier = "acme.bsky.social"
app_password_file = "secrets/bluesky"
allow_private = true

[[source]]
id = "mastodon"
kind = "mastodon"
base_url = "http://127.0.0.1:{closed}/"
query = "acme"
token_file = "secrets/mastodon"
allow_private = true

[[source]]
id = "discourse"
kind = "discourse"
base_url = "https://127.0.0.1:{tls_port}/"
latest = true
api_key_file = "secrets/discourse"
api_username = "system"
allow_private = true

[[source]]
id = "flarum"
kind = "flarum"
base_url = "{e}/status/500/flarum/"
token_file = "secrets/flarum"
allow_private = true

[[source]]
id = "lemmy"
kind = "lemmy"
base_url = "{e}/status/401/lemmy/"
token_file = "secrets/lemmy"
allow_private = true
"#
    );
    base_config().replace(
        "listen = \"\"",
        &format!("listen = \"127.0.0.1:{api_port}\""),
    ) + &sources
        + &notifiers
        + "\n[[api.token]]\nname = \"grafana\"\nscope = \"read\"\nfile = \"secrets/api-read\"\n"
}

const NOTIFIERS: &[&str] = &[
    "mail",
    "slack",
    "mattermost",
    "teams",
    "discord",
    "gchat",
    "telegram",
    "phone",
    "hook",
    "plain",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_cli_api_metrics_or_state() {
    let echo = start_echo().await;
    // A TLS server whose certificate no system root signs: every TLS failure path.
    let tls = SmtpServer::start_with(free_port(), false, "implicit");
    let closed = free_port();
    let api_port = free_port();
    let s = Setup::new();
    s.write(&config(&s, echo.addr, tls.port, closed, api_port));
    s.rules(
        "r.toml",
        &format!(
            "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [{}]\n",
            NOTIFIERS
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let cfg = s.config_path();
    let check = Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["check", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // As systemd runs it: stderr is the journal's stream (JOURNAL_STREAM names it), the
    // path a production install logs through. Plain stderr is checked by tests/cli.rs.
    let log_path = s.path().join("journal.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let journal_stream = {
        use std::os::unix::fs::MetadataExt;
        let m = log_file.metadata().unwrap();
        format!("{}:{}", m.dev(), m.ino())
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("RUST_LOG", "debug")
        .env("JOURNAL_STREAM", journal_stream)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();
    let db = s.path().join("data/state.sqlite");
    let credentialed = 8;
    tokio::task::block_in_place(|| {
        wait_until(
            "every delivery tried and every source failed",
            Duration::from_secs(90),
            || {
                db.exists()
                    && count(
                        &db,
                        // The brand's alert to each notifier; `[ops]` alerts about the
                        // failing notifiers come on top, their texts checked below too.
                        "SELECT COUNT(*) FROM deliveries d JOIN alerts a ON a.seq = d.alert_seq
                         WHERE a.rule != 'ops' AND d.attempts > 0 AND d.last_error IS NOT NULL",
                    ) == NOTIFIERS.len() as i64
                    && count(
                        &db,
                        "SELECT COUNT(*) FROM sources WHERE last_error IS NOT NULL",
                    ) == credentialed
            },
        )
    });

    // The secrets were really in play: the receivers saw them.
    let seen = echo.seen.lock().unwrap().join("\n");
    for needle in [
        "youtube-S3CR3T-key",
        "bsky-S3CR3T-app-password",
        "hook/webhook-S3CR3T-path",
        "bot777:telegramS3CR3Ttoken",
        "tk_ntfyS3CR3Ttoken",
        "lemmy-S3CR3T-token",
        "plain-S3CR3T-query",
    ] {
        assert!(seen.contains(needle), "{needle} never sent:\n{seen}");
    }

    // What the API answers, read token in hand.
    let http = reqwest::Client::new();
    let mut answers = String::new();
    for path in ["/api/alerts", "/api/sources", "/metrics"] {
        let r = http
            .get(format!("http://127.0.0.1:{api_port}{path}"))
            .bearer_auth(READ)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        answers.push_str(&r.text().await.unwrap());
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::block_in_place(|| child.wait().unwrap());
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "{logs}");
    // Every line went the journal's way: a syslog priority first.
    assert!(
        logs.lines().all(|l| ["<3>", "<4>", "<6>", "<7>"]
            .iter()
            .any(|p| l.starts_with(p))),
        "{logs}"
    );
    assert!(
        logs.lines().any(|l| l.starts_with("<4>")),
        "warnings: {logs}"
    );

    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_veille"))
            .args(args)
            .args(["--config", cfg.to_str().unwrap()])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let alerts = cli(&["alerts"]);
    let sources = cli(&["sources"]);
    let mut stored = Vec::new();
    for f in std::fs::read_dir(s.path().join("data")).unwrap() {
        let p = f.unwrap().path();
        if p.is_file() && p.to_string_lossy().contains("state.sqlite") {
            stored.extend(std::fs::read(p).unwrap());
        }
    }
    let stored = String::from_utf8_lossy(&stored).into_owned();

    // Each failure path was taken, and says what happened without the secret.
    let e = echo.addr;
    for (what, needle) in [
        ("slack", format!("redirect loop at http://{e}/…")),
        ("telegram", format!("redirect loop at http://{e}/…")),
        ("mattermost", "HTTP 500".to_string()),
        ("teams", "HTTP 400".to_string()),
        ("discord", "cannot connect".to_string()),
        ("gchat", "certificate".to_string()),
        ("mail", "certificate".to_string()),
        ("phone", "HTTP 401".to_string()),
        ("hook", "HTTP 503".to_string()),
        ("plain", "HTTP 500".to_string()),
    ] {
        // The brand alert's delivery (alerts about veille itself are listed too).
        let lines: Vec<&str> = alerts
            .lines()
            .filter(|l| l.contains(&format!("→ {what}: ")))
            .collect();
        assert!(!lines.is_empty(), "no delivery line for {what}:\n{alerts}");
        assert!(
            lines.iter().any(|l| l.contains(&needle)),
            "{what}: {lines:?}"
        );
    }
    for (id, needle) in [
        ("reddit", "HTTP 401"),
        ("youtube", "403"),
        ("stackexchange", "redirect loop"),
        ("bluesky", "401"),
        ("mastodon", "connect"),
        ("discourse", "invalid peer cert"),
        ("flarum", "500"),
        ("lemmy", "401"),
    ] {
        let line = sources
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("no line for {id}:\n{sources}"));
        assert!(line.contains(needle), "{id}: {line}\n{sources}");
    }

    // And the secret is nowhere. Reddit's credentials go as HTTP Basic: their base64
    // form is looked for too.
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("reddit-{MARK}-id:reddit-{MARK}-secret"));
    for (place, text) in [
        ("the logs", &logs),
        ("`veille alerts`", &alerts),
        ("`veille sources`", &sources),
        ("the API and metrics", &answers),
        ("the state database", &stored),
    ] {
        for needle in [MARK, basic.as_str()] {
            if let Some(at) = text.find(needle) {
                let mut start = at.saturating_sub(300);
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let around: String = text[start..].chars().take(400).collect();
                panic!("a secret in {place}: …{around}…");
            }
        }
    }
    assert!(logs.contains("alert delivery failed"), "{logs}");
}
