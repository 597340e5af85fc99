//! A hostile HTTP server, written on raw TCP so it can misbehave in every way: each case
//! must end within the configured limits, with a clear error naming the source.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use veille::store::state::State;

async fn read_request(s: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 8192];
    let mut req = Vec::new();
    loop {
        let n = s.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
        if req.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&req).into_owned()
}

fn gzip_bomb() -> Vec<u8> {
    // 64 MiB of zeros compress to about 64 KiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap()
}

const LATIN1_ITEM: &[u8] = b"<rss version=\"2.0\"><channel><title>t</title><item><title>Acme caf\xe9 \x80</title><link>https://w.example/1</link></item></channel></rss>";

async fn serve(mut s: TcpStream, bomb: std::sync::Arc<Vec<u8>>) {
    let req = read_request(&mut s).await;
    let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
    let head = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\n{extra}Connection: close\r\n\r\n")
    };
    match path.as_str() {
        "/slow" => {
            let _ = s
                .write_all(
                    head(
                        "200 OK",
                        "Content-Type: application/rss+xml\r\nContent-Length: 100000\r\n",
                    )
                    .as_bytes(),
                )
                .await;
            for _ in 0..600 {
                if s.write_all(b"<").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        "/endless" => {
            let _ = s
                .write_all(head("200 OK", "Content-Type: application/rss+xml\r\n").as_bytes())
                .await;
            let chunk = vec![b'x'; 64 * 1024];
            while s.write_all(&chunk).await.is_ok() {}
        }
        "/bomb" => {
            let _ = s
                .write_all(
                    head(
                        "200 OK",
                        &format!("Content-Type: application/rss+xml\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n", bomb.len()),
                    )
                    .as_bytes(),
                )
                .await;
            let _ = s.write_all(&bomb).await;
        }
        "/headers" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
            for i in 0..1_000_000u64 {
                if s.write_all(format!("X-Junk-{i}: {}\r\n", "y".repeat(100)).as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        "/loop" => {
            let _ = s
                .write_all(head("302 Found", "Location: /loop\r\nContent-Length: 0\r\n").as_bytes())
                .await;
        }
        p if p.starts_with("/chain/") => {
            let n: u32 = p[7..].parse().unwrap_or(0);
            let _ = s
                .write_all(
                    head(
                        "302 Found",
                        &format!("Location: /chain/{}\r\nContent-Length: 0\r\n", n + 1),
                    )
                    .as_bytes(),
                )
                .await;
        }
        "/429" => {
            let _ = s
                .write_all(
                    head(
                        "429 Too Many Requests",
                        "Retry-After: 600\r\nContent-Length: 0\r\n",
                    )
                    .as_bytes(),
                )
                .await;
        }
        "/503" => {
            let date = (chrono::Utc::now() + chrono::Duration::hours(2))
                .format("%a, %d %b %Y %H:%M:%S GMT");
            let _ = s
                .write_all(
                    head(
                        "503 Service Unavailable",
                        &format!("Retry-After: {date}\r\nContent-Length: 0\r\n"),
                    )
                    .as_bytes(),
                )
                .await;
        }
        "/malformed" => {
            let body = b"<?xml version=\"1.0\"?><rss><channel><item><title>Acme</titl></item>";
            let _ = s
                .write_all(
                    head(
                        "200 OK",
                        &format!(
                            "Content-Type: application/rss+xml\r\nContent-Length: {}\r\n",
                            body.len()
                        ),
                    )
                    .as_bytes(),
                )
                .await;
            let _ = s.write_all(body).await;
        }
        "/wrong-charset" => {
            // Says UTF-8, sends windows-1252 bytes: decoded as what they really are.
            let _ = s
                .write_all(
                    head("200 OK", &format!("Content-Type: application/rss+xml; charset=utf-8\r\nContent-Length: {}\r\n", LATIN1_ITEM.len()))
                        .as_bytes(),
                )
                .await;
            let _ = s.write_all(LATIN1_ITEM).await;
        }
        _ => {
            let _ = s
                .write_all(head("404 Not Found", "Content-Length: 0\r\n").as_bytes())
                .await;
        }
    }
}

async fn start_hostile() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let bomb = std::sync::Arc::new(gzip_bomb());
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(serve(s, bomb.clone()));
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_misbehaviour_is_bounded_and_reported() {
    let addr = start_hostile().await;
    let setup = Setup::new();
    let mut cfg = base_config().replace("timeout = \"3s\"", "timeout = \"2s\"\nmax_body = \"1MB\"");
    let cases = [
        "slow",
        "endless",
        "bomb",
        "headers",
        "loop",
        "chain/0",
        "429",
        "503",
        "malformed",
        "wrong-charset",
    ];
    for c in cases {
        let id = c.replace("/0", "");
        cfg.push_str(&rss_source(&id, &format!("http://{addr}/{c}")));
    }
    setup.write(&cfg);
    let started = Instant::now();
    let report = run_once(setup.load()).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "bounded by the 2s timeout: took {took:?}"
    );
    let err = |id: &str| report.per_source[id].last_error.clone().unwrap_or_default();
    assert!(
        err("slow").contains("timed out after 2s"),
        "{}",
        err("slow")
    );
    assert!(
        err("endless").contains("larger than 1MB"),
        "{}",
        err("endless")
    );
    assert!(
        err("bomb").contains("larger than 1MB"),
        "decompressed size is capped: {}",
        err("bomb")
    );
    assert!(!err("headers").is_empty(), "endless headers fail");
    assert!(err("loop").contains("redirect loop"), "{}", err("loop"));
    assert!(
        err("chain").contains("more than 5 redirects"),
        "{}",
        err("chain")
    );
    assert!(
        err("429").contains("rate limited (HTTP 429), retry after 600s"),
        "{}",
        err("429")
    );
    assert!(
        err("503").contains("rate limited (HTTP 503)"),
        "{}",
        err("503")
    );
    assert!(
        err("malformed").contains("not a valid RSS"),
        "{}",
        err("malformed")
    );
    assert_eq!(err("wrong-charset"), "");
    assert_eq!(report.new_mentions, 1);

    // Retry-After decides the next poll; the errors are recorded per source.
    let st = State::open(&setup.path().join("data/state.sqlite")).unwrap();
    let rows = st.sources().unwrap();
    let row = |id: &str| rows.iter().find(|r| r.id == id).unwrap().clone();
    let now = chrono::Utc::now();
    let due_429 = row("429").next_due.unwrap() - now;
    assert!(due_429 >= chrono::Duration::seconds(590), "{due_429}");
    let due_503 = row("503").next_due.unwrap() - now;
    assert!(
        due_503 >= chrono::Duration::minutes(110),
        "HTTP-date Retry-After: {due_503}"
    );
    let due_500 = row("malformed").next_due.unwrap() - now;
    assert!(
        due_500 <= chrono::Duration::seconds(75),
        "first backoff ~1 min: {due_500}"
    );
    assert_eq!(row("slow").failures, 1);

    // windows-1252 bytes under a UTF-8 label are decoded for what they are.
    let idx = veille::store::index::MentionIndex::open(&setup.path().join("data/index")).unwrap();
    let m = idx
        .search(&veille::matching::SearchRequest {
            limit: 5,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(m[0].title, "Acme café €");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_resolving_to_loopback_is_refused_at_connection_time() {
    let feeds = FeedServer::start().await;
    feeds.set(
        "/f.xml",
        Route::rss(rss(&[("Acme", "https://p.example/1", "x", &ago(1))])),
    );
    let setup = Setup::new();
    let url = format!("http://localhost:{}/f.xml", feeds.addr.port());
    let src = rss_source("named", &url).replace("allow_private = true\n", "");
    setup.write(&(base_config() + &src));
    let r = run_once(setup.load()).await;
    let err = r.per_source["named"].last_error.clone().unwrap();
    assert!(
        err.contains("private address") && err.contains("allow_private"),
        "{err}"
    );
    assert!(feeds.requests("/f.xml").is_empty());
    // Allowed explicitly, it works.
    let setup = Setup::new();
    setup.write(&(base_config() + &rss_source("named", &url)));
    let r = run_once(setup.load()).await;
    assert_eq!(r.new_mentions, 1);
}
