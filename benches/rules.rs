//! Rule engine benchmark, two figures:
//!
//! 1. evaluation cost per mention with 1,000 rules over 100 brands (every kind), on a
//!    real tantivy index and SQLite state holding a week of history;
//! 2. alerting latency of the whole daemon: a mention served by a loopback feed server →
//!    fetched → matched, enriched, indexed → rule → outbox → webhook received by a
//!    loopback receiver; p50 / p99 over a few hundred mentions.
//!
//!     cargo bench --bench rules

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::Setup;
use veille::enrich::Enricher;
use veille::matching::Matcher;
use veille::mention::Mention;
use veille::rules::eval::Evaluator;
use veille::store::RuleHistory;
use veille::store::index::MentionIndex;
use veille::store::state::State;

const BRANDS: usize = 100;
const WORDS: &[&str] = &[
    "service",
    "client",
    "prix",
    "livraison",
    "commande",
    "magasin",
    "produit",
    "nouveau",
    "rappel",
    "panne",
    "merci",
    "bravo",
    "retard",
    "colis",
    "application",
    "mise",
    "jour",
    "offre",
    "promo",
    "qualité",
    "delivery",
    "order",
    "price",
    "store",
    "update",
    "great",
    "support",
    "refund",
    "waiting",
    "launch",
    "review",
    "battery",
    "screen",
    "weekend",
];
const MOODS: &[&str] = &[
    "c'est une arnaque, remboursez-moi",
    "scandale, je suis furieux",
    "super produit, merci",
    "ouverture d'un nouveau magasin",
    "worst support ever, total scam",
    "great update, well done",
    "",
    "",
];

fn brand_token(i: usize) -> String {
    format!("marq{i:03}")
}

/// Config with 100 brands and a webhook notifier; rules with 10 rules per brand.
fn setup(hook: &str, every: &str, sources: &[String]) -> Setup {
    let s = Setup::new();
    let mut cfg = format!(
        "[daemon]\ndata_dir = \"data\"\nrules_dir = \"rules\"\nlisten = \"\"\n\n[crawl]\ncontact = \"mailto:bench@example.org\"\nper_host = 64\nper_host_delay = \"0s\"\nconcurrency = 64\n\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{hook}\"\nallow_private = true\n"
    );
    for i in 0..BRANDS {
        let b = brand_token(i);
        cfg += &format!(
            "\n[[brand]]\nid = \"{b}\"\nname = \"Marque {i}\"\nquery = '{b} OR \"{b} group\"'\n"
        );
    }
    for (i, url) in sources.iter().enumerate() {
        cfg += &format!(
            "\n[[source]]\nid = \"s{i}\"\nkind = \"rss\"\nurl = \"{url}\"\nevery = \"{every}\"\nallow_private = true\n"
        );
    }
    s.write(&cfg);
    let mut rules = String::new();
    for i in 0..BRANDS {
        let b = brand_token(i);
        let r = |n: usize, body: &str| {
            format!("\n[[rule]]\nid = \"{b}-{n}\"\nbrand = \"{b}\"\nnotify = [\"hook\"]\n{body}\n")
        };
        rules += &r(
            0,
            "kind = \"match\"\nquery = \"arnaque OR scandale OR scam OR boycott*\"\nseverity = \"critical\"\ngroup_by = \"story\"\nrealert = \"0s\"",
        );
        rules += &r(
            1,
            "kind = \"match\"\nsentiment_below = -0.4\nreach_at_least = 1000",
        );
        rules += &r(
            2,
            "kind = \"match\"\nfirst_time_author = true\ngroup_by = \"author\"",
        );
        rules += &r(3, "kind = \"threshold\"\nwindow = \"1h\"\nmin_count = 50");
        rules += &r(4, "kind = \"threshold\"\nwindow = \"1d\"\nmin_count = 500");
        rules += &r(
            5,
            "kind = \"spike\"\nwindow = \"1h\"\nbaseline = \"7d\"\nratio = 3.0\nmin_count = 20",
        );
        rules += &r(
            6,
            "kind = \"sentiment_shift\"\nwindow = \"6h\"\nnegative_share = 0.4\nmin_count = 10",
        );
        rules += &r(7, "kind = \"new_source\"\nnew = \"site\"");
        rules += &r(8, "kind = \"flatline\"\nwindow = \"1d\"\nmin_count = 1");
        rules += &r(
            9,
            "kind = \"match\"\nsource_kinds = [\"mastodon\"]\nlanguages = [\"fr\"]",
        );
    }
    s.rules("bench.toml", &rules);
    s
}

/// A mention of one or two brands, with some mood.
fn mention(n: usize, at: chrono::DateTime<Utc>) -> Mention {
    let rnd = |k: usize| (n.wrapping_mul(2654435761).wrapping_add(k * 40503)) % 1_000_003;
    let b1 = brand_token(rnd(1) % BRANDS);
    let b2 = brand_token(rnd(2) % BRANDS);
    let mut text = String::new();
    for k in 0..30 {
        text.push_str(WORDS[rnd(10 + k) % WORDS.len()]);
        text.push(' ');
    }
    let mood = MOODS[rnd(3) % MOODS.len()];
    let second = if rnd(4) % 4 == 0 { b2.as_str() } else { "" };
    let mut m = veille::testutil::mention(
        &format!("{b1} {mood} n°{n}"),
        &format!("{text} {b1} {second} {mood}"),
    );
    m.id = veille::mention::hash_id("bench", &n.to_string());
    m.url = format!("https://site{}.example/{n}", rnd(5) % 300);
    m.site = format!("site{}.example", rnd(5) % 300);
    m.author = Some(format!("author{}", rnd(6) % 2000));
    m.reach = Some((rnd(7) % 5000) as u64);
    m.language = Some(if rnd(8) % 2 == 0 { "fr" } else { "en" }.into());
    m.published_at = at;
    m.fetched_at = at;
    m
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn evaluation_cost() {
    let s = setup("http://127.0.0.1:9/hook", "1h", &[]);
    let cfg = s.load();
    assert_eq!(cfg.rules.len(), 1000);
    let index = MentionIndex::open(&cfg.index_dir()).unwrap();
    let mut writer = index.writer().unwrap();
    let mut st = State::open(&cfg.state_path()).unwrap();
    let matcher = Matcher::new(cfg.brands.clone());
    let mut enricher = Enricher::new(&cfg.enrich);
    let evaluator = Evaluator::with_routes(cfg.rules.clone(), &cfg.brands, cfg.routes.clone());
    let now = Utc::now();
    let prepare = |m: &mut Mention, enricher: &mut Enricher| {
        m.brands = matcher.match_mention(m);
        enricher.enrich(m);
    };
    // A week of history: 20,000 mentions.
    let t = Instant::now();
    let mut n = 0;
    for chunk in 0..4 {
        let mut batch: Vec<Mention> = (0..5000)
            .map(|k| {
                n += 1;
                let ago = chrono::Duration::seconds(((chunk * 5000 + k) * 30) as i64 + 3600);
                mention(n, now - ago)
            })
            .collect();
        batch.iter_mut().for_each(|m| prepare(m, &mut enricher));
        writer.upsert(&batch).unwrap();
        writer.commit().unwrap();
        let tx = st.batch().unwrap();
        for m in &batch {
            for b in m.brand_ids() {
                tx.record_author_and_site(b, m).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    index.reload().unwrap();
    println!(
        "history: {n} mentions over 7 days indexed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // New mentions in batches of 50, as the ingest stage sees them; only `evaluate` is
    // timed (matching, enrichment and indexing have their own benchmarks).
    let mut per_mention = Vec::new();
    let mut firings = 0;
    for _run in 0..5 {
        let mut spent = Duration::ZERO;
        let mut count = 0;
        for _ in 0..20 {
            let mut batch: Vec<Mention> = (0..50)
                .map(|_| {
                    n += 1;
                    mention(n, now)
                })
                .collect();
            batch.iter_mut().for_each(|m| prepare(m, &mut enricher));
            writer.upsert(&batch).unwrap();
            writer.commit().unwrap();
            index.reload().unwrap();
            let tx = st.batch().unwrap();
            let history = RuleHistory {
                batch: &tx,
                index: &index,
            };
            let t = Instant::now();
            firings += evaluator.evaluate(&history, &batch, now).unwrap().len();
            spent += t.elapsed();
            for m in &batch {
                for b in m.brand_ids() {
                    tx.record_author_and_site(b, m).unwrap();
                }
            }
            tx.commit().unwrap();
            count += batch.len();
        }
        per_mention.push(spent.as_secs_f64() * 1e6 / count as f64);
    }
    let lo = per_mention.iter().cloned().fold(f64::MAX, f64::min);
    let hi = per_mention.iter().cloned().fold(0.0, f64::max);
    println!(
        "rule evaluation, 1000 rules over 100 brands: {:.0} µs per mention (median of 5 runs of 1000 mentions in batches of 50; min {lo:.0}, max {hi:.0}; {firings} alerts raised)",
        median(&mut per_mention)
    );
    let tx = st.batch().unwrap();
    let history = RuleHistory {
        batch: &tx,
        index: &index,
    };
    let t = Instant::now();
    let ticked = evaluator.tick(&history, now).unwrap().len();
    println!(
        "tick (windowed rules, resolutions): {:.1} ms for 1000 rules ({ticked} alerts)",
        t.elapsed().as_secs_f64() * 1e3
    );
    drop(history);
    drop(tx);
    writer.close().unwrap();
}

/// Feed server: each source path serves one new item per request, whose title carries a
/// sequence number; the time each number was served is kept.
#[derive(Clone, Default)]
struct Served(Arc<Mutex<HashMap<usize, Instant>>>);

async fn latency() {
    use axum::extract::State as AxState;
    let served = Served::default();
    let counter = Arc::new(Mutex::new(0usize));
    let feed = {
        let served = served.clone();
        let counter = counter.clone();
        axum::Router::new().fallback(move || {
            let served = served.clone();
            let counter = counter.clone();
            async move {
                let n = {
                    let mut c = counter.lock().unwrap();
                    *c += 1;
                    *c
                };
                let m = mention(1_000_000 + n, Utc::now());
                let body = common::rss(&[(
                    &m.title,
                    &format!("https://news.example/{n}"),
                    &m.text,
                    &Utc::now().to_rfc2822(),
                )]);
                served.0.lock().unwrap().insert(n, Instant::now());
                ([("content-type", "application/rss+xml")], body)
            }
        })
    };
    let feed_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed_addr = feed_listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(feed_listener, feed).await.unwrap() });

    let received: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let hook = axum::Router::new()
        .fallback(
            |AxState(r): AxState<Arc<Mutex<HashMap<usize, Instant>>>>, body: String| async move {
                let now = Instant::now();
                if let Some(i) = body.find("n°") {
                    let digits: String = body[i + "n°".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    if let Ok(n) = digits.parse::<usize>() {
                        r.lock().unwrap().entry(n - 1_000_000).or_insert(now);
                    }
                }
                "ok"
            },
        )
        .with_state(received.clone());
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = hook_listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(hook_listener, hook).await.unwrap() });

    // 100 sources polled every 10 s: about ten new mentions a second.
    let sources: Vec<String> = (0..100)
        .map(|i| format!("http://{feed_addr}/feed{i}.xml"))
        .collect();
    let s = setup(&format!("http://{hook_addr}/hook"), "10s", &sources);
    let cfg = s.load();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(veille::daemon::run(
        cfg,
        veille::daemon::RunOptions::default(),
        stop_rx,
    ));
    let wanted = 400;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let got = received.lock().unwrap().len();
        if got >= wanted {
            break;
        }
    }
    let _ = stop_tx.send(true);
    let _ = run.await;
    let served = served.0.lock().unwrap();
    let received = received.lock().unwrap();
    let mut lat: Vec<f64> = received
        .iter()
        .filter_map(|(n, at)| {
            served
                .get(n)
                .map(|s| at.duration_since(*s).as_secs_f64() * 1e3)
        })
        .collect();
    let total = served.len();
    if lat.is_empty() {
        println!("alerting latency: no alert received");
        return;
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "alerting latency, feed served → webhook received (1000 rules, 100 sources): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} mentions ({} served)",
        p(0.5),
        p(0.99),
        lat[lat.len() - 1],
        lat.len(),
        total
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("rules benchmark: run it with `cargo bench --bench rules`");
        return;
    }
    evaluation_cost();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(latency());
}
