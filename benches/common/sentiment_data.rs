//! The real, human-labelled sentiment data, shared by the trainer
//! (`examples/train_sentiment.rs`) and the evaluation (`benches/sentiment.rs`).
//!
//! The large sets are not in this repository: they are read from the project's shared
//! data folder (`shared/data/sentiment/`, found above this checkout or named by
//! `VEILLE_SHARED_DATA`); see `data/sentiment/PROVENANCE.md` for what each one is, its
//! licence, and how it is split. Splits are fixed by a hash of the text, so every run sees
//! the same train / dev / test lines.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use veille::enrich::train::Example;

/// FNV-1a 64 of `s` (fixes splits, and checks that a referenced line is the one labelled).
pub fn fnv64(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Split {
    Train,
    Dev,
    Test,
}

fn split_of(text: &str) -> Split {
    match fnv64(text) % 10 {
        0 => Split::Test,
        1 => Split::Dev,
        _ => Split::Train,
    }
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `shared/data/sentiment`, from `VEILLE_SHARED_DATA` or the nearest folder above.
pub fn shared() -> PathBuf {
    if let Some(d) = std::env::var_os("VEILLE_SHARED_DATA") {
        return PathBuf::from(d);
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let candidate = d.join("shared/data/sentiment");
        if candidate.is_dir() {
            return candidate;
        }
        dir = d.parent();
    }
    panic!(
        "shared/data/sentiment not found above {}: set VEILLE_SHARED_DATA to the folder holding goemotions/ and xed/",
        env!("CARGO_MANIFEST_DIR")
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ex(label: usize, text: &str, lang: &'static str) -> Example {
    Example {
        label,
        text: text.to_string(),
        lang,
        weight: 1.0,
        polar_only: false,
    }
}

/// GoEmotions (English Reddit comments), sentiment groups: one group per comment only
/// (ambiguous and mixed comments left out). `split`: "train", "dev" or "test".
pub fn goemotions(split: &str) -> Vec<Example> {
    read(&shared().join(format!("goemotions/{split}.tsv")))
        .lines()
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let text = cols.next()?;
            let label = match cols.next()? {
                "1" => 0,
                "2" => 1,
                "3" => 2,
                _ => return None,
            };
            Some(ex(label, text, "en"))
        })
        .collect()
}

/// XED emotions → polarity: anger, disgust, fear, sadness are negative; anticipation,
/// joy, trust positive; surprise alone or a mix of both sides is left out.
fn xed_polarity(labels: &str) -> Option<usize> {
    let (mut neg, mut pos) = (false, false);
    for l in labels.split(',').map(str::trim) {
        match l {
            "1" | "3" | "4" | "6" => neg = true,
            "2" | "5" | "8" => pos = true,
            _ => {}
        }
    }
    match (neg, pos) {
        (true, false) => Some(0),
        (false, true) => Some(2),
        _ => None,
    }
}

/// A subtitle line that is a file path, not text (a few in the French projections).
fn junk(text: &str) -> bool {
    text.contains(".xml.gz") || text.trim().is_empty()
}

/// XED English: annotated lines (polarity) and neutral lines, split 80/10/10 by hash.
pub fn xed_en(split: Split) -> Vec<Example> {
    let dir = shared().join("xed");
    let mut out = Vec::new();
    for l in read(&dir.join("en-annotated.tsv")).lines() {
        if let Some((text, labels)) = l.rsplit_once('\t')
            && !junk(text)
            && split_of(text) == split
            && let Some(p) = xed_polarity(labels)
        {
            out.push(ex(p, text, "en"));
        }
    }
    for l in read(&dir.join("neu_en.txt")).lines() {
        if let Some((_, text)) = l.split_once('\t')
            && !junk(text)
            && split_of(text) == split
        {
            out.push(ex(1, text, "en"));
        }
    }
    out
}

/// The French lines checked by hand (`data/sentiment/fr_xed_checked.tsv`): line number in
/// `xed/fr-projections.tsv`, label, FNV-1a 64 of the text.
fn checked_refs() -> Vec<(usize, usize, u64)> {
    read(&repo("data/sentiment/fr_xed_checked.tsv"))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let label = match c[1] {
                "negative" => 0,
                "neutral" => 1,
                "positive" => 2,
                other => panic!("fr_xed_checked.tsv: bad label {other:?}"),
            };
            (
                c[0].parse().expect("line number"),
                label,
                u64::from_str_radix(c[2], 16).expect("hex hash"),
            )
        })
        .collect()
}

fn fr_lines() -> Vec<String> {
    read(&shared().join("xed/fr-projections.tsv"))
        .lines()
        .map(str::to_string)
        .collect()
}

/// XED French with projected labels (polarity only: no neutral lines), without the
/// lines checked by hand; `Split::Test` is empty (the checked lines are the test).
pub fn xed_fr(split: Split) -> Vec<Example> {
    let held: std::collections::HashSet<usize> =
        checked_refs().into_iter().map(|(n, ..)| n).collect();
    let mut out = Vec::new();
    for (i, l) in fr_lines().iter().enumerate() {
        let Some((text, labels)) = l.rsplit_once('\t') else {
            continue;
        };
        let want = match split_of(text) {
            Split::Dev => Split::Dev,
            _ => Split::Train,
        };
        if held.contains(&(i + 1)) || junk(text) || want != split {
            continue;
        }
        if let Some(p) = xed_polarity(labels) {
            out.push(Example {
                polar_only: true,
                ..ex(p, text, "fr")
            });
        }
    }
    out
}

/// The French lines checked by hand, all three classes. `half`: 0 = dev (even rows of
/// the file), 1 = test (odd rows).
pub fn fr_checked(half: usize) -> Vec<Example> {
    let lines = fr_lines();
    checked_refs()
        .into_iter()
        .enumerate()
        .filter(|(k, _)| k % 2 == half)
        .map(|(_, (n, label, hash))| {
            let line = &lines[n - 1];
            let text = line.rsplit_once('\t').map_or(line.as_str(), |(t, _)| t);
            assert_eq!(
                fnv64(text),
                hash,
                "fr_xed_checked.tsv: line {n} of xed/fr-projections.tsv is not the text that was labelled"
            );
            ex(label, text, "fr")
        })
        .collect()
}

/// VADER's tweets rated by people (in this repository, MIT): `half` 0 = odd lines, 1 =
/// even lines.
pub fn vader_tweets(half: usize) -> Vec<Example> {
    labelled_tsv("data/sentiment/en_vader_tweets.tsv", "en")
        .into_iter()
        .skip(half)
        .step_by(2)
        .collect()
}

/// A `label<TAB>text` file of this repository.
pub fn labelled_tsv(path: &str, lang: &'static str) -> Vec<Example> {
    read(&repo(path))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (label, text) = l.split_once('\t').expect("label<TAB>text");
            let label = match label {
                "negative" => 0,
                "neutral" => 1,
                "positive" => 2,
                other => panic!("{path}: bad label {other:?}"),
            };
            ex(label, text, lang)
        })
        .collect()
}

/// (accuracy, macro-F1, negative precision, negative recall) of predictions.
pub fn scores(pairs: &[(usize, usize)]) -> (f64, f64, f64, f64) {
    let correct = pairs.iter().filter(|(t, p)| t == p).count();
    let mut f1 = 0.0;
    let mut neg = (0.0, 0.0);
    for c in 0..3 {
        let tp = pairs.iter().filter(|(t, p)| *t == c && *p == c).count() as f64;
        let pp = pairs.iter().filter(|(_, p)| *p == c).count() as f64;
        let ap = pairs.iter().filter(|(t, _)| *t == c).count() as f64;
        let p = if pp > 0.0 { tp / pp } else { 0.0 };
        let r = if ap > 0.0 { tp / ap } else { 0.0 };
        f1 += if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        if c == 0 {
            neg = (p, r);
        }
    }
    (
        correct as f64 / pairs.len().max(1) as f64,
        f1 / 3.0,
        neg.0,
        neg.1,
    )
}
