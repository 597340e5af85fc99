//! Search latency per query kind on a real tantivy index of real text: p50 and p99 of
//! `MentionIndex::search` (a page of 20, newest first) and `MentionIndex::count` over
//! distinct queries of each kind, and, for proximity, how many documents the index
//! hands to the evaluator under the old plan (every document holding the words) and
//! the new one (the words near each other).
//!
//! Text: human-written Reddit comments (GoEmotions, CC BY 4.0) and film subtitles in
//! English and French (XED, CC BY 4.0), from the shared data folder
//! (`VEILLE_SHARED_DATA`; see `data/sentiment/PROVENANCE.md`); each mention is four of
//! them (about 400 bytes). `VEILLE_BENCH_MENTIONS` mentions (default 200,000).
//!
//! `cargo bench --bench search`

#[path = "common/sentiment_data.rs"]
mod sentiment_data;

use std::collections::HashMap;
use std::time::Instant;

use tantivy::collector::Count;
use veille::matching::{Query, SearchRequest};
use veille::store::index::MentionIndex;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let n: usize = std::env::var("VEILLE_BENCH_MENTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut texts: Vec<String> = Vec::new();
    for split in ["train", "dev", "test"] {
        texts.extend(
            sentiment_data::goemotions(split)
                .into_iter()
                .map(|e| e.text),
        );
    }
    for split in [
        sentiment_data::Split::Train,
        sentiment_data::Split::Dev,
        sentiment_data::Split::Test,
    ] {
        texts.extend(sentiment_data::xed_en(split).into_iter().map(|e| e.text));
        texts.extend(sentiment_data::xed_fr(split).into_iter().map(|e| e.text));
    }
    assert!(
        texts.len() > 1000,
        "no text: is the shared data folder there?"
    );
    println!("{} texts, {n} mentions", texts.len());

    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let started = Instant::now();
    {
        let mut w = index.writer().unwrap();
        let t0 = chrono::Utc::now();
        let mut batch = Vec::with_capacity(10_000);
        for i in 0..n {
            let at = |k: usize| texts[(i * 7 + k * 131) % texts.len()].as_str();
            let mut m = veille::testutil::mention(at(0), &[at(1), at(2), at(3)].join(" "));
            m.id = format!("m{i}");
            m.url = format!("https://bench.example/{i}");
            m.published_at = t0 - chrono::Duration::seconds(i as i64 * 3);
            batch.push(m);
            if batch.len() == 10_000 {
                w.upsert(&batch).unwrap();
                batch.clear();
            }
        }
        w.upsert(&batch).unwrap();
        w.commit().unwrap();
        w.close().unwrap();
    }
    index.reload().unwrap();
    println!(
        "indexed {n} mentions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Words frequent enough to be searched for, from the text itself.
    let mut freq: HashMap<String, usize> = HashMap::new();
    for t in &texts {
        for w in t.split(|c: char| !c.is_alphanumeric()) {
            if w.chars().count() >= 4 {
                *freq.entry(w.to_lowercase()).or_default() += 1;
            }
        }
    }
    let mut words: Vec<(String, usize)> = freq.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let words: Vec<String> = words.into_iter().take(400).map(|(w, _)| w).collect();
    let w = |i: usize| words[i % words.len()].as_str();
    let kinds: Vec<(&str, Vec<String>)> = vec![
        ("term", (0..50).map(|i| w(i * 3).to_string()).collect()),
        (
            "two-term AND",
            (0..50).map(|i| format!("{} {}", w(i), w(i + 17))).collect(),
        ),
        (
            "OR",
            (0..50)
                .map(|i| format!("{} OR {}", w(i), w(i + 29)))
                .collect(),
        ),
        (
            "wildcard",
            (0..50)
                .map(|i| format!("{}*", &w(i)[..w(i).len().min(4)]))
                .collect(),
        ),
        (
            "phrase",
            (0..50)
                .map(|i| format!("\"{} {}\"", w(i), w(i + 1)))
                .collect(),
        ),
        (
            "NEAR/5",
            (0..50)
                .map(|i| format!("{} NEAR/5 {}", w(i), w(i + 5)))
                .collect(),
        ),
    ];
    println!(
        "\n{:<14} {:>10} {:>10} {:>10} {:>10}",
        "kind", "search p50", "search p99", "count p50", "count p99"
    );
    for (kind, queries) in &kinds {
        let parsed: Vec<Query> = queries
            .iter()
            .map(|q| Query::parse(q).unwrap_or_else(|e| panic!("{q}: {e}")))
            .collect();
        let mut search_ms = Vec::new();
        let mut count_ms = Vec::new();
        for q in &parsed {
            let req = SearchRequest {
                query: Some(q.clone()),
                limit: 20,
                ..Default::default()
            };
            // Median of three runs of each query.
            let mut s = Vec::new();
            let mut c = Vec::new();
            for _ in 0..3 {
                let t = Instant::now();
                index.search(&req).unwrap();
                s.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                index.count(&req).unwrap();
                c.push(t.elapsed().as_secs_f64() * 1e3);
            }
            search_ms.push(percentile(&mut s, 0.5));
            count_ms.push(percentile(&mut c, 0.5));
        }
        println!(
            "{kind:<14} {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            percentile(&mut search_ms, 0.5),
            percentile(&mut search_ms, 0.99),
            percentile(&mut count_ms, 0.5),
            percentile(&mut count_ms, 0.99),
        );
        if *kind == "NEAR/5" {
            // What the evaluator is handed: every document with both words (the old
            // plan) against those where they are near (the index's proximity filter).
            let searcher = index.searcher();
            let (mut old, mut new, mut matched) = (0usize, 0usize, 0usize);
            for q in &parsed {
                let Query::Phrase { field, words, .. } = q else {
                    continue;
                };
                let both = Query::And(
                    words
                        .iter()
                        .map(|w| Query::Term {
                            field: *field,
                            word: w.clone(),
                        })
                        .collect(),
                );
                old += searcher
                    .search(&*index.translate(&both, true), &Count)
                    .unwrap();
                new += searcher.search(&*index.translate(q, true), &Count).unwrap();
                matched += index
                    .count(&SearchRequest {
                        query: Some(q.clone()),
                        ..Default::default()
                    })
                    .unwrap();
            }
            println!(
                "  documents checked by the evaluator, 50 queries: {old} with both words (old plan), {new} near (new plan), {matched} matching"
            );
        }
    }
}
