//! A small sentiment model on top of the lexicons: multinomial logistic regression over
//! word and bigram features (marked after a negation) and the lexicon's own scores.
//!
//! Trained offline on openly licensed labelled data (`data/sentiment/*_train.tsv`,
//! provenance in `data/sentiment/PROVENANCE.md`) by
//! `cargo run --release --example train_sentiment`, which writes
//! `data/sentiment/model.tsv`; the binary embeds that file, nothing is downloaded.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::sentiment::{Parts, feature_hash, parts};
use crate::mention::Label;

/// Classes, in this order.
pub const LABELS: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];
/// Dense features: compound, positive, negative, bangs, question, French, English, bias.
const DENSE: usize = 8;

fn dense(p: &Parts, lang: Option<&str>) -> [f32; DENSE] {
    [
        p.compound,
        (p.positive / 4.0).min(2.0),
        (p.negative / 4.0).min(2.0),
        p.bangs / 3.0,
        p.question as u8 as f32,
        (lang == Some("fr")) as u8 as f32,
        (lang == Some("en")) as u8 as f32,
        1.0,
    ]
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    sparse: HashMap<u64, [f32; 3]>,
    dense: [[f32; 3]; DENSE],
    /// A mention is negative only when P(negative) reaches this (precision first).
    pub tau: f32,
    /// Feature names, kept for writing the model out.
    names: HashMap<u64, String>,
}

fn softmax(z: [f32; 3]) -> [f32; 3] {
    let m = z[0].max(z[1]).max(z[2]);
    let e = [(z[0] - m).exp(), (z[1] - m).exp(), (z[2] - m).exp()];
    let s = e[0] + e[1] + e[2];
    [e[0] / s, e[1] / s, e[2] / s]
}

impl Model {
    /// Class probabilities (negative, neutral, positive).
    pub fn probabilities(&self, p: &Parts, lang: Option<&str>) -> [f32; 3] {
        let mut z = [0.0f32; 3];
        for (i, x) in dense(p, lang).iter().enumerate() {
            for c in 0..3 {
                z[c] += self.dense[i][c] * x;
            }
        }
        for h in &p.features {
            if let Some(w) = self.sparse.get(h) {
                for c in 0..3 {
                    z[c] += w[c];
                }
            }
        }
        softmax(z)
    }

    /// The label from probabilities: the most likely class, but negative only when
    /// likely enough.
    pub fn decide(&self, pr: [f32; 3]) -> Label {
        if pr[0] >= self.tau && pr[0] >= pr[1] && pr[0] >= pr[2] {
            Label::Negative
        } else if pr[2] >= pr[1] {
            Label::Positive
        } else {
            Label::Neutral
        }
    }

    /// Trains on `(label, text, language)` examples.
    pub fn train(examples: &[(Label, String, String)], l2: f32, epochs: usize) -> Model {
        let data: Vec<(usize, Parts, &str)> = examples
            .iter()
            .map(|(l, t, lang)| {
                (
                    LABELS.iter().position(|x| x == l).unwrap(),
                    parts(t, Some(lang)),
                    lang.as_str(),
                )
            })
            .collect();
        let mut names = HashMap::new();
        for (_, t, lang) in examples {
            for n in feature_names(t, Some(lang)) {
                names.insert(feature_hash(&n), n);
            }
        }
        let mut m = Model {
            tau: 0.5,
            names,
            ..Default::default()
        };
        // AdaGrad on the regularized log-loss.
        let lr = 0.5f32;
        let mut g2_sparse: HashMap<u64, [f32; 3]> = HashMap::new();
        let mut g2_dense = [[1e-6f32; 3]; DENSE];
        for _ in 0..epochs {
            let mut grad_sparse: HashMap<u64, [f32; 3]> = HashMap::new();
            let mut grad_dense = [[0.0f32; 3]; DENSE];
            for (y, p, lang) in &data {
                let d = dense(p, Some(lang));
                let pr = m.probabilities(p, Some(lang));
                for c in 0..3 {
                    let err = pr[c] - if c == *y { 1.0 } else { 0.0 };
                    for (i, x) in d.iter().enumerate() {
                        grad_dense[i][c] += err * x;
                    }
                    for h in &p.features {
                        grad_sparse.entry(*h).or_insert([0.0; 3])[c] += err;
                    }
                }
            }
            let n = data.len() as f32;
            for (i, row) in grad_dense.iter().enumerate() {
                for c in 0..3 {
                    let g = row[c] / n
                        + if i + 1 < DENSE {
                            l2 * m.dense[i][c]
                        } else {
                            0.0
                        };
                    g2_dense[i][c] += g * g;
                    m.dense[i][c] -= lr * g / g2_dense[i][c].sqrt();
                }
            }
            for (h, gr) in grad_sparse {
                let w = m.sparse.entry(h).or_insert([0.0; 3]);
                let acc = g2_sparse.entry(h).or_insert([1e-6; 3]);
                for c in 0..3 {
                    let g = gr[c] / n + l2 * w[c];
                    acc[c] += g * g;
                    w[c] -= lr * g / acc[c].sqrt();
                }
            }
        }
        // Weights too small to matter are dropped: a smaller file, same predictions.
        m.sparse.retain(|_, w| w.iter().any(|x| x.abs() > 0.01));
        m
    }

    /// Drops word features whose weights are all below `min` in absolute value: a
    /// smaller model in the binary, and fewer features that only memorised one example.
    pub fn prune(&mut self, min: f32) {
        self.sparse.retain(|_, w| w.iter().any(|x| x.abs() >= min));
        let kept = &self.sparse;
        self.names.retain(|h, _| kept.contains_key(h));
    }

    /// The model as TSV: `tau`, dense weights, then one line per word feature.
    pub fn to_tsv(&self) -> String {
        let mut out = String::from(
            "# veille sentiment model: logistic regression (negative, neutral, positive)\n",
        );
        let _ = writeln!(out, "tau\t{}", self.tau);
        for (i, w) in self.dense.iter().enumerate() {
            let _ = writeln!(out, "dense:{i}\t{:.5}\t{:.5}\t{:.5}", w[0], w[1], w[2]);
        }
        let mut rows: Vec<(&String, &[f32; 3])> = self
            .sparse
            .iter()
            .filter_map(|(h, w)| self.names.get(h).map(|n| (n, w)))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for (n, w) in rows {
            let _ = writeln!(out, "{n}\t{:.4}\t{:.4}\t{:.4}", w[0], w[1], w[2]);
        }
        out
    }

    pub fn from_tsv(tsv: &str) -> Model {
        let mut m = Model {
            tau: 0.5,
            ..Default::default()
        };
        for line in tsv.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                ["tau", t] => m.tau = t.parse().unwrap_or(0.5),
                [name, a, b, c] => {
                    let w = [
                        a.parse().unwrap_or(0.0),
                        b.parse().unwrap_or(0.0),
                        c.parse().unwrap_or(0.0),
                    ];
                    if let Some(i) = name
                        .strip_prefix("dense:")
                        .and_then(|i| i.parse::<usize>().ok())
                    {
                        if i < DENSE {
                            m.dense[i] = w;
                        }
                    } else {
                        m.sparse.insert(feature_hash(name), w);
                    }
                }
                _ => {}
            }
        }
        m
    }
}

/// The readable names of the word features of `text` (same as [`Parts::features`]).
pub fn feature_names(text: &str, _lang: Option<&str>) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    crate::text::tokenize(text, |t| {
        if !t.text.starts_with(['#', '@']) {
            words.push(t.text.to_string());
        }
    });
    let mut out = Vec::new();
    let mut negation_left = 0u8;
    for (k, w) in words.iter().enumerate() {
        out.push(if negation_left > 0 {
            format!("w:not_{w}")
        } else {
            format!("w:{w}")
        });
        if k > 0 {
            out.push(format!("b:{} {w}", words[k - 1]));
        }
        negation_left = negation_left.saturating_sub(1);
        if super::sentiment::starts_negation(&words, k) {
            negation_left = 3;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_have_the_same_hashes_by_name() {
        let text = "Ce n'est pas bon, vraiment pas mal";
        let p = parts(text, Some("fr"));
        let names = feature_names(text, Some("fr"));
        assert_eq!(
            p.features,
            names.iter().map(|n| feature_hash(n)).collect::<Vec<_>>()
        );
        assert!(names.contains(&"w:not_bon".to_string()));
        assert!(names.contains(&"b:pas mal".to_string()));
    }

    #[test]
    fn learns_and_round_trips() {
        let ex = |l, t: &str| (l, t.to_string(), "en".to_string());
        let data = vec![
            ex(
                Label::Negative,
                "Acme charged me twice, still waiting for my money",
            ),
            ex(Label::Negative, "three weeks and still waiting for Acme"),
            ex(Label::Neutral, "Acme opens a store in Leeds"),
            ex(Label::Neutral, "Does Acme ship to Ireland?"),
            ex(Label::Positive, "Acme sorted it in a day, impressed"),
            ex(Label::Positive, "impressed by Acme support"),
        ];
        let m = Model::train(&data, 0.001, 300);
        let back = Model::from_tsv(&m.to_tsv());
        for (l, t, lang) in &data {
            let p = parts(t, Some(lang));
            assert_eq!(m.decide(m.probabilities(&p, Some(lang))), *l, "{t}");
            let (a, b) = (
                m.probabilities(&p, Some(lang)),
                back.probabilities(&p, Some(lang)),
            );
            assert!((a[0] - b[0]).abs() < 0.01, "{a:?} {b:?}");
        }
    }
}
