//! Real local servers for integration tests: a feed server, a webhook receiver and an
//! SMTP server (aiosmtpd, installed by scripts/test-deps.sh).

#![allow(dead_code)]

pub mod api;
pub mod cli;
pub mod ingest;

use std::collections::HashMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

// ---------------------------------------------------------------------------------------
// Feed server

/// How the server answers one path.
#[derive(Clone, Debug)]
pub struct Route {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub delay: Option<Duration>,
    pub headers: Vec<(String, String)>,
}

impl Route {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route {
            status: 200,
            body: body.into(),
            content_type: content_type.into(),
            etag: None,
            last_modified: None,
            delay: None,
            headers: vec![],
        }
    }
    pub fn rss(body: impl Into<Vec<u8>>) -> Route {
        Route::ok("application/rss+xml", body)
    }
    pub fn status(code: u16) -> Route {
        let mut r = Route::ok("text/plain", format!("status {code}"));
        r.status = code;
        r
    }
    pub fn with_etag(mut self, etag: &str, last_modified: &str) -> Route {
        self.etag = Some(etag.into());
        self.last_modified = Some(last_modified.into());
        self
    }
}

/// A request the feed server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub query: HashMap<String, String>,
    pub method: String,
    pub headers: HeaderMap,
    pub body: String,
}

/// Answers for a path: the first whose query conditions all hold (most specific first);
/// a route with a queue answers its queued responses first, then the last one forever.
#[derive(Clone, Debug)]
pub struct Rule {
    pub when: Vec<(String, String)>,
    pub queue: Vec<Route>,
}

#[derive(Clone, Default)]
pub struct FeedState {
    pub routes: Arc<Mutex<HashMap<String, Vec<Rule>>>>,
    pub log: Arc<Mutex<Vec<Seen>>>,
}

pub struct FeedServer {
    pub addr: SocketAddr,
    pub state: FeedState,
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        let state = FeedState::default();
        let app = Router::new()
            .fallback(any(serve_route))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FeedServer { addr, state }
    }
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    /// The answer for `path` (whatever the query), replacing earlier ones.
    pub fn set(&self, path: &str, route: Route) {
        self.state.routes.lock().unwrap().insert(
            path.into(),
            vec![Rule {
                when: vec![],
                queue: vec![route],
            }],
        );
    }

    /// An answer for `path` when the query has all of `when`.
    pub fn set_when(&self, path: &str, when: &[(&str, &str)], route: Route) {
        self.set_seq(path, when, vec![route]);
    }

    /// Answers for `path` and `when`, in order, the last one repeated.
    pub fn set_seq(&self, path: &str, when: &[(&str, &str)], routes: Vec<Route>) {
        let when: Vec<(String, String)> = when
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut all = self.state.routes.lock().unwrap();
        let rules = all.entry(path.into()).or_default();
        rules.retain(|r| r.when != when);
        rules.push(Rule {
            when,
            queue: routes,
        });
        rules.sort_by_key(|r| std::cmp::Reverse(r.when.len()));
    }

    pub fn json(&self, path: &str, value: serde_json::Value) {
        self.set(path, Route::ok("application/json", value.to_string()));
    }

    pub fn json_when(&self, path: &str, when: &[(&str, &str)], value: serde_json::Value) {
        self.set_when(path, when, Route::ok("application/json", value.to_string()));
    }
    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

async fn serve_route(
    State(st): State<FeedState>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    st.log.lock().unwrap().push(Seen {
        path: path.clone(),
        query: query.clone(),
        method: method.to_string(),
        headers: headers.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let route = {
        let mut all = st.routes.lock().unwrap();
        all.get_mut(&path).and_then(|rules| {
            let rule = rules
                .iter_mut()
                .find(|r| r.when.iter().all(|(k, v)| query.get(k) == Some(v)))?;
            if rule.queue.len() > 1 {
                Some(rule.queue.remove(0))
            } else {
                rule.queue.first().cloned()
            }
        })
    };
    let Some(route) = route else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    if let Some(d) = route.delay {
        tokio::time::sleep(d).await;
    }
    // Conditional GET as RFC 9110 says: If-None-Match wins over If-Modified-Since.
    if route.status == 200 {
        let inm = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok());
        let ims = headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok());
        let not_modified = match (inm, &route.etag, ims, &route.last_modified) {
            (Some(i), Some(e), _, _) => i == e,
            (None, _, Some(i), Some(l)) => i == l,
            _ => false,
        };
        if not_modified {
            return StatusCode::NOT_MODIFIED.into_response();
        }
    }
    let mut resp = Response::builder()
        .status(route.status)
        .header(header::CONTENT_TYPE, route.content_type.as_str());
    if let Some(e) = &route.etag {
        resp = resp.header(header::ETAG, e.as_str());
    }
    if let Some(l) = &route.last_modified {
        resp = resp.header(header::LAST_MODIFIED, l.as_str());
    }
    for (k, v) in &route.headers {
        resp = resp.header(k.as_str(), v.as_str());
    }
    resp.body(axum::body::Body::from(route.body)).unwrap()
}

// ---------------------------------------------------------------------------------------
// Webhook receiver

#[derive(Clone, Debug)]
pub struct Hook {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Hook {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
pub struct HookState {
    pub received: Arc<Mutex<Vec<Hook>>>,
    /// Statuses to answer with, in order; 200 once exhausted.
    pub script: Arc<Mutex<Vec<u16>>>,
    /// A body holding the text gets that status, every time (before the script).
    pub fail_when: Arc<Mutex<Vec<(String, u16)>>>,
    /// Time taken to answer, after the request is recorded (a slow receiver).
    pub delay: Arc<Mutex<Duration>>,
}

pub struct WebhookReceiver {
    pub addr: SocketAddr,
    pub state: HookState,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        Self::start_on("127.0.0.1:0").await
    }
    pub async fn start_on(addr: &str) -> WebhookReceiver {
        let state = HookState::default();
        let app = Router::new()
            .fallback(any(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WebhookReceiver { addr, state }
    }
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    pub fn received(&self) -> Vec<Hook> {
        self.state.received.lock().unwrap().clone()
    }
    pub fn on(&self, path: &str) -> Vec<Hook> {
        self.received()
            .into_iter()
            .filter(|h| h.path == path)
            .collect()
    }
}

async fn receive(
    State(st): State<HookState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    let forced = st
        .fail_when
        .lock()
        .unwrap()
        .iter()
        .find(|(needle, _)| text.contains(needle.as_str()))
        .map(|(_, status)| *status);
    let status = forced.unwrap_or_else(|| {
        let mut s = st.script.lock().unwrap();
        if s.is_empty() { 200 } else { s.remove(0) }
    });
    st.received.lock().unwrap().push(Hook {
        path: uri.path().to_string(),
        headers,
        body: text,
    });
    let delay = *st.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    (StatusCode::from_u16(status).unwrap(), "ok").into_response()
}

// ---------------------------------------------------------------------------------------
// SMTP server: aiosmtpd, a real third-party server, run through tests/smtp_server.py.

pub struct SmtpServer {
    pub port: u16,
    pub maildir: tempfile::TempDir,
    child: Child,
}

/// The Python interpreter that has aiosmtpd (scripts/test-deps.sh makes a venv in .venv).
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("VEILLE_TEST_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        Self::start_on(free_port(), false)
    }

    /// `refuse`: answer 550 to every recipient (a permanent refusal).
    pub fn start_on(port: u16, refuse: bool) -> SmtpServer {
        Self::start_with(port, refuse, "plain")
    }

    /// Answers 451 (try again later) to the first message, kept as [`Self::rejected`],
    /// then accepts.
    pub fn start_flaky() -> SmtpServer {
        Self::start_mode(free_port(), "flaky", "plain")
    }

    /// The message refused by a flaky server, raw.
    pub fn rejected(&self) -> Option<Vec<u8>> {
        std::fs::read(self.maildir.path().join("0000.rejected")).ok()
    }

    /// `tls`: "plain", "starttls" (required before MAIL) or "implicit", with the test
    /// certificate of tests/data/tls/ (signed by the private CA `ca.pem`).
    pub fn start_with(port: u16, refuse: bool, tls: &str) -> SmtpServer {
        Self::start_mode(port, if refuse { "refuse" } else { "accept" }, tls)
    }

    fn start_mode(port: u16, mode: &str, tls: &str) -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg(port.to_string())
            .arg(maildir.path())
            .arg(mode)
            .arg(tls)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start python for the SMTP server: run scripts/test-deps.sh, which installs aiosmtpd");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "READY",
            "aiosmtpd did not start (is it installed? run scripts/test-deps.sh)"
        );
        SmtpServer {
            port,
            maildir,
            child,
        }
    }

    /// Messages received so far, raw, in arrival order.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.maildir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Config

/// A config directory: `veille.toml`, `rules/`, `secrets/`.
pub struct Setup {
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rules")).unwrap();
        std::fs::create_dir(dir.path().join("secrets")).unwrap();
        Setup { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn config_path(&self) -> PathBuf {
        self.path().join("veille.toml")
    }
    pub fn secret(&self, name: &str, value: &str) {
        std::fs::write(self.path().join("secrets").join(name), value).unwrap();
    }
    pub fn rules(&self, name: &str, text: &str) {
        std::fs::write(self.path().join("rules").join(name), text).unwrap();
    }
    pub fn write(&self, text: &str) -> PathBuf {
        std::fs::write(self.config_path(), text).unwrap();
        self.config_path()
    }
    pub fn load(&self) -> veille::config::Config {
        veille::config::Config::load(&self.config_path()).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The `[daemon]`, `[crawl]` and brands most tests use.
pub fn base_config() -> String {
    r#"
[daemon]
data_dir = "data"
rules_dir = "rules"
listen = ""

[crawl]
timeout = "3s"
connect_timeout = "2s"
contact = "mailto:tests@example.org"
per_host_delay = "0s"   # every test server is 127.0.0.1

[[brand]]
id = "acme"
name = "Acme"
query = '"acme corp" OR acme NOT "road runner"'

[[brand]]
id = "globex"
name = "Globex"
query = "globex"
"#
    .to_string()
}

/// An RSS `[[source]]`. Its first poll alerts (`backfill_alerts = true`): tests feed a
/// source once and look at what it raises; tests/alerting.rs covers the backfill.
pub fn rss_source(id: &str, url: &str) -> String {
    format!(
        "\n[[source]]\nid = \"{id}\"\nkind = \"rss\"\nurl = \"{url}\"\nallow_private = true\nbackfill_alerts = true\n"
    )
}

/// Runs the daemon once over every source and returns its report.
pub async fn run_once(config: veille::config::Config) -> veille::ingest::Report {
    run_once_with(config, true, Duration::from_secs(10)).await
}

pub async fn run_once_with(
    config: veille::config::Config,
    deliver: bool,
    outbox_timeout: Duration,
) -> veille::ingest::Report {
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = veille::daemon::RunOptions {
        mode: veille::scheduler::Mode::Once,
        deliver,
        outbox_timeout,
        ..Default::default()
    };
    veille::daemon::run(config, opts, rx).await.unwrap()
}

/// An RSS 2.0 document with the given (title, link, description, pubDate) items.
pub fn rss(items: &[(&str, &str, &str, &str)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Test feed</title><link>https://feed.example/</link>"#,
    );
    for (title, link, desc, date) in items {
        s.push_str(&format!(
            "<item><title>{title}</title><link>{link}</link><description>{desc}</description><pubDate>{date}</pubDate></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// RFC 2822 date `minutes` ago.
pub fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc2822()
}

/// Every mention in the index of `setup`, newest first.
pub fn indexed(setup: &Setup) -> Vec<veille::mention::Mention> {
    let idx = veille::store::index::MentionIndex::open(&setup.path().join("data/index")).unwrap();
    idx.search(&veille::matching::SearchRequest {
        limit: 10_000,
        ..Default::default()
    })
    .unwrap()
}

/// The state row of a source.
pub fn source_row(setup: &Setup, id: &str) -> veille::store::state::SourceRow {
    let st = veille::store::state::State::open(&setup.path().join("data/state.sqlite")).unwrap();
    st.sources()
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap_or_default()
}

/// A config with the base brands and one `[[source]]` (its TOML body after `[[source]]`),
/// whose first poll alerts, as [`rss_source`]'s.
pub fn with_source(body: &str) -> String {
    format!(
        "{}\n[[source]]\n{}\nallow_private = true\nbackfill_alerts = true\n",
        base_config(),
        body.trim()
    )
}

/// Whether a webhook delivery is one of veille's alerts about itself (`[ops]`, on by
/// default), not a brand's.
pub fn is_ops(h: &Hook) -> bool {
    serde_json::from_str::<serde_json::Value>(&h.body)
        .is_ok_and(|j| j["alert"]["rule_kind"] == "ops")
}
