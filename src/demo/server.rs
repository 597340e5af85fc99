//! The demo's local web: sample feeds (with dates relative to now, ETag and 304) and
//! chat/webhook receivers that keep what they are sent.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;

/// (file name, content type, bytes) of each bundled sample feed.
pub const FEEDS: &[(&str, &str, &[u8])] = &[
    // Declared ISO-8859-1 in its prolog, really windows-1252 (€, ’), no charset header.
    (
        "quotidien.xml",
        "application/rss+xml",
        include_bytes!("samples/quotidien.xml"),
    ),
    (
        "techdaily.xml",
        "application/atom+xml; charset=utf-8",
        include_bytes!("samples/techdaily.xml"),
    ),
    (
        "forum.xml",
        "application/rss+xml; charset=utf-8",
        include_bytes!("samples/forum.xml"),
    ),
    (
        "blog.json",
        "application/feed+json",
        include_bytes!("samples/blog.json"),
    ),
];

/// Payloads received by the hooks: (hook name, body).
pub type Received = Arc<Mutex<Vec<(String, String)>>>;

/// Replaces `{{rfc2822:N}}` / `{{rfc3339:N}}` with the time N minutes ago, so the samples
/// are always fresh (rule windows count recent mentions).
pub fn render(bytes: &[u8], now: DateTime<Utc>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(pos) = find(rest, b"{{rfc") {
        out.extend_from_slice(&rest[..pos]);
        let tail = &rest[pos..];
        let Some(end) = find(tail, b"}}") else { break };
        let tag = String::from_utf8_lossy(&tail[2..end]).to_string();
        let (fmt, mins) = tag.split_once(':').unwrap_or(("", "0"));
        let at = now - Duration::minutes(mins.parse().unwrap_or(0));
        let s = if fmt == "rfc2822" {
            at.to_rfc2822()
        } else {
            at.to_rfc3339()
        };
        out.extend_from_slice(s.as_bytes());
        rest = &tail[end + 2..];
    }
    out.extend_from_slice(rest);
    out
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// What the demo server's handlers share.
#[derive(Clone)]
struct Demo {
    received: Received,
    clock: Arc<dyn Clock>,
}

async fn feed(State(d): State<Demo>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, ct, bytes)) = FEEDS.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such feed").into_response();
    };
    let etag = format!("\"{}\"", crate::mention::hash_id("demo", &name));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [(header::CONTENT_TYPE, *ct), (header::ETAG, etag.as_str())],
        render(bytes, d.clock.now()),
    )
        .into_response()
}

async fn hook(State(d): State<Demo>, Path(name): Path<String>, body: Bytes) -> &'static str {
    d.received
        .lock()
        .unwrap()
        .push((name, String::from_utf8_lossy(&body).into_owned()));
    "ok"
}

/// Serves the samples (dated from `clock`'s now) and records what the hooks receive.
pub async fn start(clock: Arc<dyn Clock>) -> std::io::Result<(std::net::SocketAddr, Received)> {
    let received: Received = Arc::default();
    let app = Router::new()
        .route("/feeds/{name}", get(feed))
        .route("/hooks/{name}", post(hook))
        .with_state(Demo {
            received: received.clone(),
            clock,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, received))
}
