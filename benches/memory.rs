//! Peak memory of the daemon while it ingests one huge feed item: the real binary runs
//! `veille run --once` on a temp data dir against a loopback server serving an RSS feed
//! whose single item is 1, 10 or 50 MB of HTML (plus one small item); its peak RSS
//! (the child's own `ru_maxrss`, from wait4) is printed beside the body limit, with a
//! baseline run on a small feed. The target: under 3 × `max_body`.
//!
//!     cargo bench --bench memory             # 3 runs per size, medians
//!     cargo bench --bench memory -- 5        # runs per size
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it does one quick smoke run.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

/// `[crawl] max_body` of every run: above the largest item.
const MAX_BODY_MB: u64 = 64;

const PARAGRAPH: &str = "&lt;p&gt;Le fabricant &lt;b&gt;Acme&lt;/b&gt; a pr&amp;eacute;sent&amp;eacute; mardi sa nouvelle bouilloire connect&amp;eacute;e. Les premiers avis des clients sont partag&amp;eacute;s : certains saluent le design, d&amp;rsquo;autres regrettent le prix de 120&amp;nbsp;&amp;euro;.&lt;/p&gt;\n";

/// An RSS feed with one item of about `size` bytes and one small one.
fn feed(size: usize) -> Vec<u8> {
    let mut s = String::with_capacity(size + 1024);
    s.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Bench</title><link>https://bench.example/</link><language>fr</language>"#);
    s.push_str("<item><title>Acme : le dossier complet</title><link>https://bench.example/big</link><description>");
    while s.len() < size {
        s.push_str(PARAGRAPH);
    }
    s.push_str("</description></item><item><title>Acme en bref</title><link>https://bench.example/small</link><description>Court.</description></item></channel></rss>");
    s.into_bytes()
}

/// Serves `/<n>.xml` with the feed of that many bytes, one connection per request.
fn serve(feeds: Arc<Vec<(String, Vec<u8>)>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let feeds = feeds.clone();
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&req);
                let path = req.split_whitespace().nth(1).unwrap_or("/");
                let Some((_, body)) = feeds.iter().find(|(p, _)| p == path) else {
                    let _ = conn.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(body);
            });
        }
    });
    addr
}

/// Runs `veille run --once` on `url` in a fresh data dir; returns its peak RSS in bytes
/// and the wall time.
fn run_once(url: &str) -> (u64, f64) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    let config = dir.path().join("veille.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[daemon]
data_dir = "data"
rules_dir = "rules"
listen = ""
log_level = "warn"

[crawl]
max_body = "{MAX_BODY_MB}MB"
timeout = "300s"

[[brand]]
id = "acme"
name = "Acme"
query = "acme"

[[source]]
id = "bench"
kind = "rss"
url = "{url}"
allow_private = true
"#
        ),
    )
    .unwrap();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["run", "--once", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start the veille binary");
    let (status, maxrss_kb) = wait_with_rusage(child.id());
    assert!(status == 0, "veille run --once exited with status {status}");
    check_indexed(&dir.path().join("data/index"));
    (maxrss_kb * 1024, started.elapsed().as_secs_f64())
}

/// Both items were indexed, the big one cut to `max_text`.
fn check_indexed(index: &Path) {
    let idx = veille::store::index::MentionIndex::open(index).unwrap();
    let all = idx
        .search(&veille::store::index::SearchRequest {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 2, "both items indexed");
    assert!(
        all.iter()
            .all(|m| m.text.len() <= veille::crawl::DEFAULT_MAX_TEXT)
    );
}

/// Waits for `pid`; its exit status and its own peak RSS in KiB (not its siblings').
fn wait_with_rusage(pid: u32) -> (i32, u64) {
    let mut status = 0;
    // SAFETY: plain syscall on our own child; `usage` is a zeroed out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(r, pid as libc::pid_t, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss as u64)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    // Item sizes in MB; 0 is the baseline (a small feed).
    let sizes: &[usize] = if bench { &[0, 1, 10, 50] } else { &[1] };
    let feeds: Arc<Vec<(String, Vec<u8>)>> = Arc::new(
        sizes
            .iter()
            .map(|&n| (format!("/{n}.xml"), feed((n << 20).max(1024))))
            .collect(),
    );
    let addr = serve(feeds);
    if !bench {
        let (rss, secs) = run_once(&format!("http://{addr}/1.xml"));
        println!(
            "memory smoke run: one 1 MB item, peak RSS {:.0} MB in {secs:.1} s (`cargo bench --bench memory` for the figures)",
            mb(rss)
        );
        return;
    }
    println!(
        "Peak RSS of `veille run --once` ingesting one item, max_body = {MAX_BODY_MB} MB (target: under 3 × max_body = {} MB), max_text = 64 KB; median of {runs} runs",
        3 * MAX_BODY_MB
    );
    println!(
        "{:>10}  {:>10}  {:>14}  {:>7}",
        "item", "peak RSS", "min … max", "time"
    );
    for &n in sizes {
        let url = format!("http://{addr}/{n}.xml");
        let mut peaks = Vec::new();
        let mut times = Vec::new();
        for _ in 0..runs {
            let (rss, secs) = run_once(&url);
            peaks.push(rss);
            times.push((secs * 1000.0) as u64);
        }
        let label = if n == 0 {
            "baseline".to_string()
        } else {
            format!("{n} MB")
        };
        println!(
            "{label:>10}  {:>7.0} MB  {:>5.0} … {:>3.0} MB  {:>5.2} s",
            mb(median(peaks.clone())),
            mb(*peaks.iter().min().unwrap()),
            mb(*peaks.iter().max().unwrap()),
            median(times) as f64 / 1000.0
        );
    }
}
