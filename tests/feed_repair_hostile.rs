//! A hostile 64 MB feed body of bare `&` or HTML entities, served on loopback and read by
//! the real `rss` source: the character repairs (sources/feedrepair.rs) and the dialect
//! rewrites (sources/feedshape.rs) make one pass over it, grow it by at most half, and
//! keep the items that can be kept. The time of each read is printed (not asserted):
//! `cargo test --test feed_repair_hostile -- --nocapture` (a debug build, as the suite
//! runs it: about 20 s per body on a shared 2-core machine, linear; see the README).

mod common;

use std::time::Instant;

use chrono::Utc;
use common::*;
use veille::sources::{Poll, SourceState};

/// Just under `max_body` (64 MB).
const BODY: usize = (64 << 20) - 4096;

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Hostile</title><link>https://hostile.example/</link><item><title>Fish & Chips</title><link>https://hostile.example/1?a=1&b=2</link><description>Acme&nbsp;&eacute;t&eacute;</description></item><item><title>Second</title><link>https://hostile.example/2</link></item><item><title>Huge</title><link>https://hostile.example/3</link><description>"#;
const TAIL: &str = "</description></item></channel></rss>";

/// The feed with its third item's description made of `unit` repeated up to 64 MB.
fn body(unit: &str) -> Vec<u8> {
    let mut s = String::with_capacity(BODY + unit.len());
    s.push_str(HEAD);
    while s.len() + unit.len() + TAIL.len() <= BODY {
        s.push_str(unit);
    }
    s.push_str(TAIL);
    s.into_bytes()
}

/// Runs of white space (a no-break space included) as one space.
fn words(s: &str) -> String {
    s.split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn poll(unit: &str) -> (Poll, f64) {
    let srv = FeedServer::start().await;
    srv.set("/feed.xml", Route::ok("application/rss+xml", body(unit)));
    let cfg = base_config().replace(
        "[crawl]",
        "[crawl]\nmax_body = \"64MB\"\nmax_text = \"64KB\"",
    ) + &rss_source("hostile", &srv.url("/feed.xml"));
    let setup = Setup::new();
    setup.write(&cfg);
    let config = setup.load();
    let http = veille::crawl::Http::new(&config.crawl).unwrap();
    let source = config.sources[0].clone();
    let t = Instant::now();
    let poll = source
        .poll(&http, &SourceState::default(), Utc::now())
        .await
        .expect("the feed is read");
    (poll, t.elapsed().as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mb_body_of_bare_ampersands_keeps_the_items_before_the_cut() {
    let (poll, secs) = poll("& ").await;
    println!("64 MB of bare `&`: read in {secs:.2} s");
    // Repairing every `&` would make it 192 MB: it is cut where the repairs reach half
    // its size, inside the third item; the two before are kept, repaired.
    let titles: Vec<&str> = poll.mentions.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(titles, ["Fish & Chips", "Second"], "{:?}", poll.warnings);
    assert_eq!(poll.mentions[0].url, "https://hostile.example/1?a=1&b=2");
    assert_eq!(words(&poll.mentions[0].text), "Acme été");
    let warnings = poll.warnings.join("\n");
    assert!(
        warnings.contains("too many ill-formed characters")
            && warnings.contains("read the 2 complete item(s)"),
        "{warnings}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mb_body_of_html_entities_is_read_whole() {
    let (poll, secs) = poll("caf&eacute;&nbsp;&hellip; AT&T &#150; &bogus; ").await;
    println!("64 MB of HTML entities: read in {secs:.2} s");
    // Entities do not grow it (a few bare `&` do, far from the limit): every item is
    // read, the huge text cut to max_text.
    let titles: Vec<&str> = poll.mentions.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Fish & Chips", "Second", "Huge"],
        "{:?}",
        poll.warnings
    );
    let huge = &poll.mentions[2].text;
    assert!(
        words(huge).starts_with("café … AT&T – &bogus; café … AT&T"),
        "{}",
        &huge[..80]
    );
    assert!(huge.len() <= 64 << 10, "{}", huge.len());
    assert!(
        !poll.warnings.join("\n").contains("too many"),
        "{:?}",
        poll.warnings
    );
}
