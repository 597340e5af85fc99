//! Crawl benchmark: 10,000 feeds under distinct host names (all resolving to loopback,
//! so per-host limits apply as in real life), 90 % answering 304 and 10 % answering 200
//! with 50 items; the real scheduler, HTTP client and feed parser over them.
//!
//! The feed server runs in a child process, so the figures are the crawler's alone.
//!
//!     cargo bench --bench crawl                 # 5 rounds of 10,000 feeds
//!     cargo bench --bench crawl -- 20000 3 64   # feeds, rounds, concurrency

use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{mpsc, watch};
use veille::config::Duration as Dur;
use veille::crawl::{CrawlConfig, Http, Validators};
use veille::ingest::{Event, Message};
use veille::scheduler::{HttpPoller, Mode, Scheduler};
use veille::sources::{Source, SourceKind, SourceState};

const ITEMS: usize = 50;

fn feed_body(n: usize) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Feed {n}</title><link>https://feed{n}.bench.test/</link><description>Bench feed</description><language>fr</language>"
    );
    for i in 0..ITEMS {
        s.push_str(&format!(
            "<item><title>Article {i} du flux {n} : Acme annonce une nouvelle bouilloire</title><link>https://feed{n}.bench.test/articles/{i}?utm_source=rss</link><guid>feed{n}-{i}</guid><description>&lt;p&gt;Le fabricant Acme a présenté aujourd&amp;rsquo;hui sa nouvelle gamme. Les premiers avis des clients sont partagés : certains saluent le design, d&amp;rsquo;autres regrettent le prix de 120&amp;nbsp;€.&lt;/p&gt;</description><author>redaction@feed{n}.bench.test (Jeanne Martin)</author><pubDate>Tue, 10 Mar 2026 08:{:02}:00 +0100</pubDate></item>",
            i % 60
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// Child process: a plain HTTP/1.1 server (hyper through axum) on every loopback address.
fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use axum::http::{HeaderMap, StatusCode, header};
        use axum::response::IntoResponse;
        let bodies: Arc<Vec<String>> = Arc::new((0..100).map(feed_body).collect());
        let app = axum::Router::new().fallback(move |headers: HeaderMap| {
            let bodies = bodies.clone();
            async move {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("");
                let n: usize = host
                    .trim_start_matches("feed")
                    .split('.')
                    .next()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0);
                let etag = format!("\"v{n}\"");
                let inm = headers
                    .get(header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok());
                if !n.is_multiple_of(10) && inm == Some(etag.as_str()) {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                (
                    [
                        (header::CONTENT_TYPE, "application/rss+xml".to_string()),
                        (header::ETAG, etag),
                    ],
                    bodies[n % 100].clone(),
                )
                    .into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        std::io::stdout().flush().unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

/// Every `*.bench.test` name resolves to one loopback address (a new one per round, so
/// that client ports in TIME_WAIT from the previous round are not in the way).
struct Loopback(Ipv4Addr);

impl Resolve for Loopback {
    fn resolve(&self, _name: Name) -> Resolving {
        let ip = self.0;
        Box::pin(async move {
            Ok(Box::new(std::iter::once(SocketAddr::new(IpAddr::V4(ip), 0))) as Addrs)
        })
    }
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::var("VEILLE_BENCH_SERVE").is_ok() {
        serve();
        return;
    }
    // `cargo test --all-targets` builds and runs benches without `--bench`: only check
    // that it builds, do not hammer the machine from the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("crawl benchmark: run it with `cargo bench --bench crawl`");
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let feeds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let concurrency: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(CrawlConfig::default().concurrency);

    let mut server = Command::new(std::env::current_exe().unwrap())
        .env("VEILLE_BENCH_SERVE", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("server port");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let limits = CrawlConfig {
        concurrency,
        per_host_delay: Dur(Duration::ZERO),
        timeout: Dur(Duration::from_secs(30)),
        ..Default::default()
    };
    let sources: Vec<Arc<Source>> = (0..feeds)
        .map(|n| {
            Arc::new(Source {
                id: format!("feed{n}"),
                id_span: 0..0,
                every: Dur::from_secs(600),
                auto: false,
                allow_private: veille::crawl::AllowPrivate::PRIVATE,
                enabled: true,
                backfill: veille::sources::DEFAULT_BACKFILL,
                backfill_alerts: false,
                kind: SourceKind::Rss(veille::sources::rss::Rss {
                    url: url::Url::parse(&format!("http://feed{n}.bench.test:{port}/feed.xml"))
                        .unwrap(),
                    strip_params: vec![],
                }),
            })
        })
        .collect();

    println!(
        "crawl benchmark: {feeds} feeds on distinct hosts, 90 % 304 / 10 % 200 with {ITEMS} items, concurrency {}, {rounds} rounds",
        limits.concurrency
    );
    let (mut walls, mut rates, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let http = Http::with_resolver(
            &limits,
            Some(Arc::new(Loopback(Ipv4Addr::new(
                127,
                0,
                1,
                1 + round as u8,
            )))),
        )
        .unwrap();
        // Validators from a previous round: 90 % of the feeds will answer 304.
        let states = Arc::new(std::sync::Mutex::new(
            (0..feeds)
                .map(|n| {
                    (
                        format!("feed{n}"),
                        SourceState {
                            validators: Validators {
                                etag: Some(format!("\"v{n}\"")),
                                last_modified: None,
                            },
                            cursor: None,
                            quota: None,
                        },
                    )
                })
                .collect(),
        ));
        let (tx, mut rx) = mpsc::channel(4096);
        let (_stop, stop_rx) = watch::channel(false);
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let (polled, items, failed) = rt.block_on(async {
            let consumer = tokio::spawn(async move {
                let (mut polled, mut items, mut failed) = (0usize, 0usize, 0usize);
                while let Some(e) = rx.recv().await {
                    match e {
                        Message::Event(Event::Polled { poll, .. }) => {
                            polled += 1;
                            items += poll.mentions.len();
                        }
                        Message::Event(Event::Failed { error, .. }) => {
                            if failed == 0 {
                                eprintln!("first failure: {error}");
                            }
                            failed += 1;
                        }
                        _ => {}
                    }
                }
                (polled, items, failed)
            });
            let sched = Scheduler {
                sources: sources.clone(),
                poller: Arc::new(HttpPoller(http)),
                limits: limits.clone(),
                states,
                tx,
                clock: Arc::new(veille::clock::SystemClock),
                failures: vec![0; feeds],
                auto_every: vec![None; feeds],
                first_due: Vec::new(),
                drain_timeout: Duration::from_secs(10),
                after_poll: None,
                budgets: Default::default(),
            };
            sched.run(Mode::Once, stop_rx).await;
            consumer.await.unwrap()
        });
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        println!(
            "  round {}: {polled} polled ({failed} failed), {items} items parsed, {wall:.2} s wall, {:.0} sources/s, {cpu:.2} s CPU, peak RSS {:.0} MB",
            round + 1,
            feeds as f64 / wall,
            peak_rss_mb()
        );
        walls.push(wall);
        rates.push(feeds as f64 / wall);
        cpus.push(cpu);
    }
    println!(
        "median: {:.2} s per round of {feeds} feeds, {:.0} sources/s, {:.2} s CPU; peak RSS {:.0} MB",
        median(&mut walls),
        median(&mut rates),
        median(&mut cpus),
        peak_rss_mb()
    );
    let _ = server.kill();
}
