//! Input nested a million deep — markup in a feed item or a forum post, feed XML, JSON
//! from an API, brand and rule queries, config values — is handled in bounded time and
//! memory, with a clear error naming where, through the daemon, the API and the binary.
//! (A recursive walk over any of these used to overflow the stack and abort the process.)

mod common;

use std::process::{Command, Output};

use common::*;
use serde_json::Value;

const DEEP: usize = 1_000_000;

fn veille(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veille"))
        .env_remove("VEILLE_CONFIG")
        .env_remove("RUST_LOG")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Regression: an RSS item of 15,000 nested `<div>` aborted the daemon (stack overflow in
/// the HTML-to-text walk), again at every restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rss_item_nested_a_million_deep_is_indexed_with_its_text() {
    let feeds = FeedServer::start().await;
    let deep = format!("<![CDATA[{}Acme kettle recall]]>", "<div>".repeat(DEEP));
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[
            ("Deep", "https://deep.example/1", &deep, &ago(2)),
            (
                "Acme plain",
                "https://deep.example/2",
                "nothing odd",
                &ago(3),
            ),
        ])),
    );
    let setup = Setup::new();
    // The item's field (5 MB of markup) is within 16 × max_text, so its text is read whole.
    let cfg = base_config().replace("[crawl]", "[crawl]\nmax_text = \"1MB\"");
    setup.write(&(cfg + &rss_source("f", &feeds.url("/f.xml"))));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    let deep = m.iter().find(|m| m.title == "Deep").unwrap();
    assert_eq!(deep.text, "Acme kettle recall");
}

/// Regression: a forum post of 30,000 nested `<div>` aborted the daemon the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_post_nested_a_million_deep_is_indexed_with_its_text() {
    let fixture = |name: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/forums")
                .join(name),
        )
        .unwrap()
    };
    let srv = FeedServer::start().await;
    srv.set(
        "/xf/forums/conso.4/",
        Route::ok("text/html", fixture("xenforo_list.html")),
    );
    let reply = "Envoyez une mise en demeure, ça marche.";
    let thread =
        fixture("xenforo_thread.html").replace(reply, &format!("{}{reply}", "<div>".repeat(DEEP)));
    srv.set(
        "/threads/acme-bouilloire-remboursement.4521/",
        Route::ok("text/html", thread),
    );
    srv.set(
        "/threads/acme-bouilloire-remboursement.4521/page-2",
        Route::ok("text/html", "<html><body></body></html>"),
    );
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"xf\"\nkind = \"forum\"\nengine = \"xenforo2\"\nbase_url = \"{}\"\nforums = [\"xf/forums/conso.4/\"]\ntimezone = \"Europe/Paris\"\nlocale = \"fr\"\nbackfill = \"36500d\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!(r.failures, 0, "{r:?}");
    let m = indexed(&setup);
    let post = |id: &str| {
        m.iter()
            .find(|m| m.native_id.as_deref().is_some_and(|n| n.ends_with(id)))
            .unwrap_or_else(|| panic!("{id}"))
    };
    // The deep reply keeps its words (and still leaves out the quote before them); the
    // post before it is untouched.
    assert_eq!(post(":88002").text, reply);
    assert_eq!(
        post(":88001").text,
        "Acme refuse de me rembourser ma bouilloire rappelée. Quelqu'un a réussi ?"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_and_json_nested_a_million_deep_fail_their_source_only() {
    let srv = FeedServer::start().await;
    // A million unknown elements in the channel.
    srv.set(
        "/unknown.xml",
        Route::rss(format!(
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>t</title>{}</channel></rss>",
            "<x>".repeat(DEEP)
        )),
    );
    // Media RSS groups nested inside an item, which feed-rs walks recursively: refused
    // past the limit (left open, to stay under the body limit), read at the limit.
    let media = |depth: usize, close: usize, link: &str| {
        format!(
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>t</title><item><title>Acme media</title><link>{link}</link>{}<media:title>x</media:title>{}</item></channel></rss>",
            "<media:group>".repeat(depth),
            "</media:group>".repeat(close)
        )
    };
    srv.set(
        "/media-deep.xml",
        Route::rss(media(DEEP, 0, "https://m.example/1")),
    );
    srv.set(
        "/media-ok.xml",
        Route::rss(media(250, 250, "https://m.example/2")),
    );
    // JSON from API sources: where any value is accepted (Flarum's attributes), refused at
    // serde_json's recursion limit; in a field that is skipped (Hacker News), skipped
    // without recursion.
    srv.set(
        "/api/discussions",
        Route::ok(
            "application/json",
            format!(
                "{{\"data\": [{{\"type\": \"discussions\", \"id\": \"1\", \"attributes\": {}{}}}]}}",
                "[".repeat(DEEP),
                "]".repeat(DEEP)
            ),
        ),
    );
    srv.set(
        "/api/v1/search_by_date",
        Route::ok(
            "application/json",
            format!(
                "{{\"hits\": [], \"nbPages\": 1, \"extra\": {}{}}}",
                "[".repeat(DEEP),
                "]".repeat(DEEP)
            ),
        ),
    );
    srv.set(
        "/ok.xml",
        Route::rss(rss(&[("Acme fine", "https://ok.example/1", "", &ago(1))])),
    );
    let setup = Setup::new();
    let mut cfg = base_config().replace("[crawl]", "[crawl]\nmax_body = \"16MB\"");
    for id in ["unknown", "media-deep", "media-ok", "ok"] {
        cfg.push_str(&rss_source(id, &srv.url(&format!("/{id}.xml"))));
    }
    cfg.push_str(&format!(
        "\n[[source]]\nid = \"hn\"\nkind = \"hackernews\"\nbase_url = \"{0}\"\nbrands = [\"acme\"]\nallow_private = true\n\n[[source]]\nid = \"fl\"\nkind = \"flarum\"\nbase_url = \"{0}\"\nallow_private = true\n",
        srv.url("/")
    ));
    setup.write(&cfg);
    let r = run_once(setup.load()).await;
    let err = |id: &str| r.per_source[id].last_error.clone().unwrap_or_default();
    assert!(
        err("unknown").contains("elements nested 1000002 deep (line 2, column")
            && err("unknown").contains("at most 256 deep"),
        "{}",
        err("unknown")
    );
    assert!(
        err("media-deep").contains("nested 1000004 deep"),
        "{}",
        err("media-deep")
    );
    assert!(
        err("fl").contains("recursion limit exceeded"),
        "{}",
        err("fl").chars().take(300).collect::<String>()
    );
    for ok in ["media-ok", "ok", "hn"] {
        assert_eq!(err(ok), "", "{ok}");
    }
    assert_eq!(r.failures, 3, "{r:?}");
    let titles: Vec<String> = indexed(&setup).into_iter().map(|m| m.title).collect();
    assert!(titles.contains(&"Acme media".to_string()), "{titles:?}");
    assert!(titles.contains(&"Acme fine".to_string()), "{titles:?}");
    // The failures are recorded against their sources, for `veille sources`.
    assert!(
        source_row(&setup, "unknown")
            .last_error
            .unwrap_or_default()
            .contains("nested 1000002 deep")
    );
}

#[test]
fn check_and_search_refuse_deep_queries_and_config_with_file_line_column() {
    let s = Setup::new();
    let parens = |n: usize| format!("{}acme{}", "(".repeat(n), ")".repeat(n));
    let cfg = base_config().replace(
        "query = \"globex\"",
        &format!("query = \"{}\"", parens(100_000)),
    );
    let path = s.write(&cfg);
    let line = cfg.lines().position(|l| l.contains("((((")).unwrap() + 1;
    s.rules(
        "deep.toml",
        &format!(
            "[[rule]]\nid = \"r\"\nbrand = \"acme\"\nkind = \"match\"\nquery = \"{}\"\n",
            parens(100_000)
        ),
    );
    let out = veille(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let p = path.display();
    let rp = s.path().join("rules/deep.toml");
    // `query = "` then 64 parentheses: the 65th is where the limit is passed.
    let expected = "invalid query: parentheses, NOT and fields nested more than 64 deep";
    assert!(
        err.contains(&format!("{p}:{line}:74: {expected}")),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(
        err.contains(&format!("{}:5:74: {expected}", rp.display())),
        "{}",
        &err[..err.len().min(2000)]
    );

    // TOML values nested 100,000 deep, in the config and in a rule file.
    let deep_array = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let s = Setup::new();
    let path = s.write(&(base_config() + &deep_array));
    let line = base_config().lines().count() + 1;
    let out = veille(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{}:{line}:", path.display()))
            && stderr(&out).contains("max recursion depth"),
        "{}",
        stderr(&out)
    );
    let s = Setup::new();
    let path = s.write(&base_config());
    let table = format!("x = {}1{}\n", "{a = ".repeat(100_000), "}".repeat(100_000));
    s.rules(
        "deep.toml",
        &format!("[[rule]]\nid = \"r\"\nbrand = \"acme\"\nkind = \"match\"\n{table}"),
    );
    let out = veille(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let rp = s.path().join("rules/deep.toml");
    assert!(
        stderr(&out).contains(&format!("{}:5:", rp.display()))
            && stderr(&out).contains("max recursion depth"),
        "{}",
        stderr(&out)
    );

    // `veille search`: 100,000 parentheses (a command-line argument holds at most 128 KB,
    // so they are left open), and 10,000 words.
    let s = Setup::new();
    let path = s.write(&base_config());
    let q = format!("{}acme", "(".repeat(100_000));
    let out = veille(&["search", "--config", path.to_str().unwrap(), &q]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("column 65: parentheses, NOT and fields nested more than 64 deep"),
        "{}",
        stderr(&out).chars().take(300).collect::<String>()
    );
    let q = vec!["acme"; 10_000].join(" OR ");
    let out = veille(&["search", "--config", path.to_str().unwrap(), &q]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("more than 1024 words in one query"),
        "{}",
        stderr(&out).chars().take(300).collect::<String>()
    );
}

/// Regression: a read-scope token was enough to kill the daemon with 1,500 nested
/// parentheses in `GET /api/mentions?q=`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_400_naming_the_column_and_stays_up() {
    const READ: &str = "read-token-0123456789abcdef0123456789abcdef";
    let s = Setup::new();
    s.secret("api-read", READ);
    let port = free_port();
    let cfg = base_config().replace("listen = \"\"", &format!("listen = \"127.0.0.1:{port}\""))
        + "\n[[api.token]]\nname = \"grafana\"\nscope = \"read\"\nfile = \"secrets/api-read\"\n";
    s.write(&cfg);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn(veille::daemon::run(
        s.load(),
        veille::daemon::RunOptions::default(),
        stop_rx,
    ));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let r = http.get(url).bearer_auth(READ).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the daemon never became ready");
    // An HTTP request line holds at most 64 KB (the `http` crate's limit on a URI, on
    // both sides): 60,000 parentheses is the most a client can send through the API.
    let deep = format!("{}acme", "(".repeat(60_000));
    let (status, body) = get(format!("/api/mentions?q={deep}")).await;
    assert_eq!(
        status,
        400,
        "{}",
        body.chars().take(300).collect::<String>()
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("q: column 65: parentheses, NOT and fields nested more than 64 deep"),
        "{v}"
    );
    let flat = vec!["acme"; 6_000].join("+OR+");
    let (status, body) = get(format!("/api/mentions?q={flat}")).await;
    assert_eq!(
        status,
        400,
        "{}",
        body.chars().take(300).collect::<String>()
    );
    assert!(body.contains("column 8193: more than 1024 words"), "{body}");
    // 100,000 parentheses do not fit in a request line: refused before any handler.
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!(
        "GET /api/mentions?q={}acme HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {READ}\r\n\r\n",
        "(".repeat(100_000)
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tcp.write_all(request.as_bytes()).await;
    let mut answer = vec![0u8; 64];
    let n = tcp.read(&mut answer).await.unwrap_or(0);
    let answer = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer}"
    );
    // Still up, and still answering.
    let (status, _) = get("/healthz".into()).await;
    assert_eq!(status, 200);
    let (status, body) = get("/api/mentions?q=(acme%20OR%20globex)".into()).await;
    assert_eq!(status, 200, "{body}");
    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
}
