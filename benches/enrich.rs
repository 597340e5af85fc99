//! Enrichment cost per mention: language detection (when the source declares none),
//! sentiment (toward the brand: the sentences around its matched terms), story (text and
//! title) and reach, on varied French and English texts, short and long.
//!
//!     cargo bench --bench enrich
//!
//! Texts: the real tweets and the written brand mentions of `data/sentiment/` (short posts,
//! reviews, headlines), each mention a different one, and articles of 8 to 30 sentences
//! made of them with the brand in one paragraph — every mention different, in the mix a
//! monitoring daemon sees (about one in five long).

use std::time::Instant;

use veille::enrich::{EnrichConfig, Enricher};
use veille::mention::{BrandHit, Mention};

fn lines(path: &str) -> Vec<String> {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("{}: {e}", full.display()))
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, t)| t.trim().to_string()))
        .filter(|t| !t.is_empty())
        .collect()
}

/// A matched mention of "Acme" (spans where the matcher would put them).
fn mention(i: usize, title: &str, text: &str, lang: &str) -> Mention {
    let mut m = veille::testutil::mention(title, text);
    m.id = format!("m{i}");
    m.language = (i % 4 != 0).then(|| lang.to_string());
    m.engagement.likes = Some((i % 50) as i64);
    let mut spans = Vec::new();
    for (field, s) in [(0u8, title), (1, text)] {
        for (at, w) in s.match_indices("Acme") {
            spans.push((field, at as u32, (at + w.len()) as u32));
        }
    }
    m.brands = vec![BrandHit {
        brand: "acme".into(),
        terms: vec!["acme".into()],
        spans,
    }];
    m
}

fn corpus() -> Vec<Mention> {
    let mut fr: Vec<String> = lines("data/sentiment/fr_test.tsv");
    fr.extend(lines("data/sentiment/fr_dev.tsv"));
    let mut en: Vec<String> = lines("data/sentiment/en_test.tsv");
    en.extend(lines("data/sentiment/en_dev.tsv"));
    en.extend(lines("data/sentiment/en_vader_tweets.tsv"));
    let mut out = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..20_000 {
        let (pool, lang) = if i % 2 == 0 { (&fr, "fr") } else { (&en, "en") };
        let pick = |r: u64| pool[(r % pool.len() as u64) as usize].clone();
        if i % 5 == 0 {
            // An article: 8 to 30 sentences, the brand in one of them.
            let n = 8 + (next() % 23) as usize;
            let mut body: Vec<String> = (0..n).map(|_| pick(next())).collect();
            let k = (next() % n as u64) as usize;
            body[k] = format!("Acme: {}", body[k]);
            let title = pick(next());
            out.push(mention(i, &title, &body.join(" "), lang));
        } else {
            let text = pick(next());
            let text = if text.contains("Acme") {
                text
            } else {
                format!("{text} #Acme")
            };
            out.push(mention(i, "", &text, lang));
        }
    }
    out
}

/// µs per mention of 5 runs of a fresh enricher over `mentions`, sorted.
fn cost(mentions: &[Mention]) -> Vec<f64> {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let mut e = Enricher::new(&EnrichConfig::default());
        let mut batch = mentions.to_vec();
        let t = Instant::now();
        for m in &mut batch {
            e.enrich(m);
        }
        runs.push(t.elapsed().as_secs_f64() * 1e6 / batch.len() as f64);
        std::hint::black_box(&batch);
    }
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    runs
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("enrichment benchmark: run it with `cargo bench --bench enrich`");
        return;
    }
    let mut mentions = corpus();
    let bytes: usize = mentions.iter().map(|m| m.title.len() + m.text.len()).sum();
    let long = mentions.iter().filter(|m| m.text.len() > 1000).count();
    println!(
        "{} mentions, {} bytes on average, {long} of them articles over 1,000 bytes",
        mentions.len(),
        bytes / mentions.len()
    );
    let runs = cost(&mentions);
    // Where the time goes.
    let detector =
        veille::enrich::language::LanguageDetector::new(&EnrichConfig::default().languages);
    type Part<'a> = (&'a str, Box<dyn Fn(&Mention) + 'a>);
    let parts: [Part; 3] = [
        (
            "language detection",
            Box::new(|m| {
                std::hint::black_box(detector.detect(&m.title, &m.text));
            }),
        ),
        (
            "sentiment (around the brand)",
            Box::new(|m| {
                let body = veille::enrich::focus::around_brands(&m.title, &m.text, &m.brands);
                std::hint::black_box(veille::enrich::sentiment::analyze(
                    &body,
                    m.language.as_deref(),
                ));
            }),
        ),
        (
            "story signature (text)",
            Box::new(|m| {
                std::hint::black_box(veille::enrich::story::signature(&m.title, &m.text));
            }),
        ),
    ];
    for (name, f) in parts {
        let sample = &mentions[..4000];
        let t = Instant::now();
        for m in sample {
            f(m);
        }
        println!(
            "  {name}: {:.1} µs when it runs",
            t.elapsed().as_secs_f64() * 1e6 / sample.len() as f64
        );
    }
    println!(
        "enrichment: {:.1} µs per mention (median of 5 runs over {} mentions; min {:.1}, max {:.1})",
        runs[2],
        mentions.len(),
        runs[0],
        runs[4]
    );
    // The worst case: no source declares a language (forums, HN, Reddit…).
    mentions.iter_mut().for_each(|m| m.language = None);
    let undeclared = cost(&mentions);
    println!(
        "enrichment, no language declared: {:.1} µs per mention (median of 5 runs)",
        undeclared[2]
    );
}
