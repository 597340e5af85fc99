//! Sentiment evaluation (not a timing benchmark): accuracy, macro-F1 and the negative
//! class's precision and recall on real, human-labelled held-out text, per language and
//! source kind, for what veille ships and for its lexicons alone.
//!
//!     cargo bench --bench sentiment
//!
//! None of these sets chose anything: the model, its temperature and its thresholds were
//! chosen on the dev splits (`examples/train_sentiment.rs`). Data and licences:
//! `data/sentiment/PROVENANCE.md`; the large sets are read from the shared data folder
//! (`VEILLE_SHARED_DATA`, or `shared/data/sentiment` above this checkout).

#[path = "common/sentiment_data.rs"]
mod data;

use data::Split;
use veille::enrich::sentiment;
use veille::enrich::train::Example;
use veille::mention::Label;

fn index(l: Label) -> usize {
    match l {
        Label::Negative => 0,
        Label::Neutral => 1,
        Label::Positive => 2,
    }
}

fn row(name: &str, set: &[Example], f: fn(&str, Option<&str>) -> veille::mention::Sentiment) {
    let pairs: Vec<(usize, usize)> = set
        .iter()
        .map(|e| (e.label, index(f(&e.text, Some(e.lang)).label)))
        .collect();
    let (acc, f1, np, nr) = data::scores(&pairs);
    let target = if np >= 0.80 && nr >= 0.50 && f1 >= 0.65 {
        ""
    } else {
        "  short of target"
    };
    println!(
        "{name:<46} {:>6} {acc:>9.3} {f1:>9.3} {np:>14.3} {nr:>11.3}{target}",
        set.len()
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("sentiment evaluation: run it with `cargo bench --bench sentiment`");
        return;
    }
    let sets: Vec<(&str, Vec<Example>)> = vec![
        (
            "en, Reddit comments (GoEmotions test)",
            data::goemotions("test"),
        ),
        ("en, film subtitles (XED test)", data::xed_en(Split::Test)),
        ("en, tweets (VADER ground truth)", {
            let mut v = data::vader_tweets(0);
            v.extend(data::vader_tweets(1));
            v
        }),
        (
            "fr, film subtitles (XED, checked; test half)",
            data::fr_checked(1),
        ),
        (
            "fr, brand mentions written by an AI",
            data::labelled_tsv("data/sentiment/fr_test.tsv", "fr"),
        ),
        (
            "en, brand mentions written by an AI",
            data::labelled_tsv("data/sentiment/en_test.tsv", "en"),
        ),
    ];
    println!("target on real text: negative precision ≥ 0.80 at recall ≥ 0.50, macro-F1 ≥ 0.65\n");
    for (method, f) in [
        (
            "shipped model",
            sentiment::analyze as fn(&str, Option<&str>) -> _,
        ),
        ("lexicons + rules alone", sentiment::analyze_lexicon),
    ] {
        println!(
            "{method}:\n{:<46} {:>6} {:>9} {:>9} {:>14} {:>11}",
            "language, source (set)",
            "items",
            "accuracy",
            "macro-F1",
            "neg precision",
            "neg recall"
        );
        for (name, set) in &sets {
            row(name, set, f);
        }
        println!();
    }
}
