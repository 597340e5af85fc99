//! Story grouping on real headlines (not a timing benchmark): pairwise precision, recall
//! and F1 of the stories veille forms from titles alone, against the stories a news
//! aggregator formed, for a range of `[enrich] story_title_threshold` values.
//!
//!     cargo bench --bench stories
//!
//! Data: a sample of the UCI "News Aggregator" dataset (Gasparetti, CC BY 4.0): headlines
//! with their story ids, in publication order, as `story<TAB>host<TAB>title` lines. It is
//! not in this repository (see data/stories/README.md): the file is
//! `shared/data/stories/uci-news-sample.tsv` above this checkout, or the path in
//! `VEILLE_STORIES`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use veille::enrich::story::Stories;

fn data_file() -> PathBuf {
    if let Some(p) = std::env::var_os("VEILLE_STORIES") {
        return PathBuf::from(p);
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let f = d.join("shared/data/stories/uci-news-sample.tsv");
        if f.is_file() {
            return f;
        }
        dir = d.parent();
    }
    panic!("no headline sample: set VEILLE_STORIES or see data/stories/README.md");
}

/// (precision, recall, F1) over pairs of headlines: a pair is positive when both are in
/// one story.
fn pairwise(gold: &[usize], got: &[usize]) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
    for i in 0..gold.len() {
        for j in i + 1..gold.len() {
            match (gold[i] == gold[j], got[i] == got[j]) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                _ => {}
            }
        }
    }
    let p = tp as f64 / (tp + fp).max(1) as f64;
    let r = tp as f64 / (tp + fn_).max(1) as f64;
    (
        p,
        r,
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        },
    )
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("story evaluation: run it with `cargo bench --bench stories`");
        return;
    }
    let path = data_file();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ids: HashMap<String, usize> = HashMap::new();
    let rows: Vec<(usize, String)> = text
        .lines()
        .filter_map(|l| {
            let mut c = l.splitn(3, '\t');
            let (story, _host, title) = (c.next()?, c.next()?, c.next()?);
            let n = ids.len();
            Some((
                *ids.entry(story.to_string()).or_insert(n),
                title.to_string(),
            ))
        })
        .collect();
    let gold: Vec<usize> = rows.iter().map(|(s, _)| *s).collect();
    let mut same_title: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, t)) in rows.iter().enumerate() {
        same_title
            .entry(veille::text::fold(t.trim()))
            .or_default()
            .push(i);
    }
    println!(
        "{} headlines, {} stories ({}); titles alone, in publication order:",
        rows.len(),
        ids.len(),
        path.display()
    );
    println!(
        "{:>9} {:>10} {:>8} {:>6} {:>16}",
        "threshold", "precision", "recall", "F1", "identical titles"
    );
    for t in [
        0.25f32, 0.3, 0.32, 0.34, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
    ] {
        let mut s = Stories::new(0.5, t, 100_000);
        let mut story_ids: HashMap<String, usize> = HashMap::new();
        let got: Vec<usize> = rows
            .iter()
            .enumerate()
            .map(|(i, (_, title))| {
                let story = s.assign(&format!("m{i}"), title, "");
                let n = story_ids.len();
                *story_ids.entry(story).or_insert(n)
            })
            .collect();
        let (p, r, f) = pairwise(&gold, &got);
        // Identical titles (after folding) from two publishers: grouped?
        let (mut pairs, mut grouped) = (0, 0);
        for v in same_title.values() {
            for a in 0..v.len() {
                for b in a + 1..v.len() {
                    pairs += 1;
                    grouped += (got[v[a]] == got[v[b]]) as usize;
                }
            }
        }
        let default = if t == veille::enrich::STORY_TITLE_THRESHOLD {
            " (default)"
        } else {
            ""
        };
        println!("{t:>9} {p:>10.3} {r:>8.3} {f:>6.3} {grouped:>8}/{pairs}{default}");
    }
}
