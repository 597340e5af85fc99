//! The feed corpus (tests/data/feeds/MANIFEST.tsv): each file served by the loopback
//! fixture server with its content type and read by the real `rss` source, as
//! `veille sources test` does; what it yields is compared with what a correct reader gives
//! (item count, first title, first link) and printed as a table
//! (`cargo test --test feed_corpus -- --nocapture`).
//!
//! It asserts that nothing panics and that every case gives what the manifest says, but
//! those `KNOWN_FAILING` lists with their reason (none now); a case that starts passing
//! is reported so it can be taken off.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use common::*;
use futures_util::FutureExt;
use url::Url;
use veille::sources::SourceState;

/// Files that do not give what a correct reader gives, each with the reason: none (the
/// feed-parsing round of issue 15 emptied it). A case that breaks goes here only with an
/// honest one-line reason.
const KNOWN_FAILING: &[(&str, &str)] = &[];

struct Case {
    file: String,
    content_type: String,
    items: usize,
    title: String,
    link: String,
}

fn corpus_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/feeds")
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("MANIFEST.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file\t") && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 5, "bad manifest line {l:?}");
            Case {
                file: f[0].into(),
                content_type: f[1].into(),
                items: f[2].parse().unwrap_or_else(|_| panic!("items of {}", f[0])),
                title: f[3].into(),
                link: f[4].into(),
            }
        })
        .collect()
}

/// A document a correct reader may reject: holding no item, and ill-formed or not a feed
/// at all (no channel, no item, no entry).
fn may_be_rejected(c: &Case, bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes).replace('\0', "");
    let not_a_feed = !["<channel", "<item", "<entry"]
        .iter()
        .any(|t| text.contains(t));
    c.items == 0
        && (not_a_feed
            || c.file.contains("/illformed/")
            || c.file.contains("invalid")
            || c.file.contains("bozo_"))
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The link a correct reader gives, as veille writes mention URLs.
fn expected_link(c: &Case, feed: &Url) -> String {
    let raw = match c.link.as_str() {
        "(feed)" => return feed.to_string(),
        l => match l.strip_prefix("rel:") {
            Some(r) => feed.join(r).map(|u| u.to_string()).unwrap_or_default(),
            None => l.to_string(),
        },
    };
    veille::mention::canonical_url(&raw, &[])
        .map(|u| u.to_string())
        .unwrap_or(raw)
}

enum Outcome {
    Pass,
    Fail(String),
    Panic(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_corpus_against_the_manifest() {
    let cases = manifest();
    let srv = FeedServer::start().await;
    let mut cfg = base_config();
    for (i, c) in cases.iter().enumerate() {
        let bytes = std::fs::read(corpus_dir().join(&c.file)).unwrap();
        let ct = if c.content_type.is_empty() {
            "application/xml"
        } else {
            &c.content_type
        };
        let path = format!("/feeds/{}", c.file);
        srv.set(&path, Route::ok(ct, bytes));
        cfg.push_str(&rss_source(&format!("f{i}"), &srv.url(&path)));
    }
    let setup = Setup::new();
    setup.write(&cfg);
    let config = setup.load();
    let http = veille::crawl::Http::new(&config.crawl).unwrap();
    let known: BTreeMap<&str, &str> = KNOWN_FAILING.iter().copied().collect();
    let mut rows = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let source = config
            .sources
            .iter()
            .find(|s| s.id == format!("f{i}"))
            .unwrap()
            .clone();
        let feed = Url::parse(&srv.url(&format!("/feeds/{}", c.file))).unwrap();
        let http = http.clone();
        // A panic in a dependency is caught here and reported as the file's outcome.
        let polled = std::panic::AssertUnwindSafe(async move {
            source
                .poll(&http, &SourceState::default(), Utc::now())
                .await
        })
        .catch_unwind()
        .await;
        let (got, outcome) = match polled {
            Err(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                ("PANIC".to_string(), Outcome::Panic(msg))
            }
            Ok(Err(e))
                if may_be_rejected(c, &std::fs::read(corpus_dir().join(&c.file)).unwrap()) =>
            {
                (format!("error: {e}"), Outcome::Pass)
            }
            Ok(Err(e)) => (format!("error: {e}"), Outcome::Fail(format!("error: {e}"))),
            Ok(Ok(poll)) => {
                let first = poll.mentions.first();
                let title = first.map(|m| words(&m.title)).unwrap_or_default();
                let link = first.map(|m| m.url.clone()).unwrap_or_default();
                let mut why = Vec::new();
                if poll.mentions.len() != c.items {
                    why.push(format!(
                        "{} items, expected {}",
                        poll.mentions.len(),
                        c.items
                    ));
                }
                if c.items > 0 && !poll.mentions.is_empty() {
                    if title != words(&c.title) {
                        why.push(format!("title {title:?}, expected {:?}", c.title));
                    }
                    let want = expected_link(c, &feed);
                    if link != want {
                        why.push(format!("link {link}, expected {want}"));
                    }
                }
                let got = format!("{} | {} | {}", poll.mentions.len(), title, link);
                if why.is_empty() {
                    (got, Outcome::Pass)
                } else {
                    (got, Outcome::Fail(why.join("; ")))
                }
            }
        };
        rows.push((c, got, outcome));
    }

    // The table: file, expected, what the source gave, status.
    let (mut pass, mut fail, mut panics) = (0, 0, 0);
    println!("\n{:<72} {:>5} {:>5}  status", "file", "want", "got");
    for (c, got, outcome) in &rows {
        let n = got.split(" | ").next().unwrap_or("");
        let status = match outcome {
            Outcome::Pass => {
                pass += 1;
                if known.contains_key(c.file.as_str()) {
                    "PASS (now passes: take it off KNOWN_FAILING)".to_string()
                } else {
                    "pass".to_string()
                }
            }
            Outcome::Fail(why) => {
                fail += 1;
                format!("FAIL {why}")
            }
            Outcome::Panic(msg) => {
                panics += 1;
                format!("PANIC {msg}")
            }
        };
        println!("{:<72} {:>5} {:>5}  {status}", c.file, c.items, n);
    }
    println!(
        "\n{} files: {pass} pass, {fail} fail, {panics} panic; {} known failing\n",
        rows.len(),
        known.len()
    );

    // What this round holds: no panic outside the known list, no regression.
    let broken: Vec<String> = rows
        .iter()
        .filter(|(c, _, _)| !known.contains_key(c.file.as_str()))
        .filter_map(|(c, got, o)| match o {
            Outcome::Fail(why) => Some(format!("{}: {why} (got {got})", c.file)),
            Outcome::Panic(msg) => Some(format!("{}: panic {msg}", c.file)),
            Outcome::Pass => None,
        })
        .collect();
    assert!(
        broken.is_empty(),
        "cases that should work:\n{}",
        broken.join("\n")
    );
    for (file, _) in KNOWN_FAILING {
        assert!(
            cases.iter().any(|c| c.file == *file),
            "KNOWN_FAILING names {file}, which is not in the manifest"
        );
    }
}

/// Point 4 of issue 15 beyond the link: the site of a relayed item is the publisher's,
/// and the publisher's name (`<source>`, Bing's `News:Source`) is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_items_name_their_publisher_and_its_site() {
    let srv = FeedServer::start().await;
    let mut cfg = base_config();
    let files = [
        // (file, first item's site, its publisher)
        (
            "veille/google_news_articles.xml",
            "lequotidien.example",
            Some("Le Quotidien"),
        ),
        (
            "veille/bing_news.xml",
            "dailynews.example",
            Some("Daily News"),
        ),
        ("veille/google_alerts.xml", "dailynews.example", None),
        (
            "veille/item_source_publisher.xml",
            "lequotidien.example",
            Some("Le Quotidien"),
        ),
        (
            "veille/guid_permalink_only.xml",
            "podcast.example.net",
            None,
        ),
    ];
    for (i, (file, _, _)) in files.iter().enumerate() {
        let path = format!("/feeds/{file}");
        let bytes = std::fs::read(corpus_dir().join(file)).unwrap();
        srv.set(&path, Route::ok("application/rss+xml", bytes));
        cfg.push_str(&rss_source(&format!("p{i}"), &srv.url(&path)));
    }
    let setup = Setup::new();
    setup.write(&cfg);
    let config = setup.load();
    let http = veille::crawl::Http::new(&config.crawl).unwrap();
    for (source, (file, site, publisher)) in config.sources.iter().zip(files) {
        let poll = source
            .poll(&http, &SourceState::default(), Utc::now())
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let m = &poll.mentions[0];
        assert_eq!(
            (m.site.as_str(), m.publisher.as_deref()),
            (site, publisher),
            "{file}: {}",
            m.url
        );
    }
}
