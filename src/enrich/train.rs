//! Training the sentiment model (offline; `examples/train_sentiment.rs` drives it): online
//! AdaGrad on the L2-regularised log-loss of a multinomial logistic regression, then a
//! temperature fitted on development data so that probabilities mean what they say.

use super::model::{DENSE, LABELS, Model, bucket, dense, sparse_scale};
use super::sentiment::{Grams, parts_with};
use crate::mention::Label;

/// One labelled text. `label` indexes [`LABELS`] (0 negative, 1 neutral, 2 positive).
#[derive(Debug, Clone)]
pub struct Example {
    pub label: usize,
    pub text: String,
    pub lang: &'static str,
    /// How much this example counts in the loss (balances sources and classes).
    pub weight: f32,
    /// Only its polarity is known (negative or positive, not whether the text reads as
    /// neutral): the loss is taken over those two classes. For XED's French lines, whose
    /// labels were projected from English subtitles: they would otherwise teach the model
    /// that French is never neutral.
    pub polar_only: bool,
}

impl Example {
    pub fn truth(&self) -> Label {
        LABELS[self.label]
    }
}

struct Prepared {
    label: usize,
    weight: f32,
    polar_only: bool,
    dense: [f32; DENSE],
    buckets: Vec<u32>,
}

fn prepare(data: &[Example], bits: u32, grams: Grams) -> Vec<Prepared> {
    data.iter()
        .map(|e| {
            let p = parts_with(&e.text, Some(e.lang), grams);
            Prepared {
                label: e.label,
                weight: e.weight,
                polar_only: e.polar_only,
                dense: dense(&p, Some(e.lang)),
                buckets: p.features.iter().map(|h| bucket(*h, bits) as u32).collect(),
            }
        })
        .collect()
}

/// A small deterministic generator for the shuffles (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Trains a model with `2^bits` feature buckets and character n-grams of sizes `grams`.
pub fn train(
    data: &[Example],
    bits: u32,
    grams: Grams,
    l2: f32,
    epochs: usize,
    seed: u64,
) -> Model {
    let prepared = prepare(data, bits, grams);
    let mut m = Model::new(bits);
    m.grams = grams;
    let mut acc_sparse = vec![[1e-8f32; 3]; 1 << bits];
    let mut acc_dense = [[1e-8f32; 3]; DENSE];
    let lr = 0.3f32;
    let mut order: Vec<usize> = (0..prepared.len()).collect();
    let mut rng = Rng(seed | 1);
    for _ in 0..epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &k in &order {
            let ex = &prepared[k];
            let mut z = [0.0f32; 3];
            for (i, x) in ex.dense.iter().enumerate() {
                for c in 0..3 {
                    z[c] += m.dense[i][c] * x;
                }
            }
            let scale = sparse_scale(ex.buckets.len());
            for &b in &ex.buckets {
                let w = &m.sparse[b as usize];
                for c in 0..3 {
                    z[c] += w[c] * scale;
                }
            }
            if ex.polar_only {
                z[1] = f32::NEG_INFINITY;
            }
            let mx = z[0].max(z[1]).max(z[2]);
            let e = [(z[0] - mx).exp(), (z[1] - mx).exp(), (z[2] - mx).exp()];
            let s = e[0] + e[1] + e[2];
            let g: [f32; 3] = std::array::from_fn(|c| {
                ex.weight * (e[c] / s - if c == ex.label { 1.0 } else { 0.0 })
            });
            for (i, x) in ex.dense.iter().enumerate() {
                for c in 0..3 {
                    let gr = g[c] * x;
                    acc_dense[i][c] += gr * gr;
                    m.dense[i][c] -= lr * gr / acc_dense[i][c].sqrt();
                }
            }
            for &b in &ex.buckets {
                let (w, a) = (&mut m.sparse[b as usize], &mut acc_sparse[b as usize]);
                for c in 0..3 {
                    let gr = g[c] * scale + l2 * w[c];
                    a[c] += gr * gr;
                    w[c] -= lr * gr / a[c].sqrt();
                }
            }
        }
    }
    m
}

/// The temperature minimising the log-loss on `dev` (a grid search).
pub fn fit_temperature(m: &Model, dev: &[Example]) -> f32 {
    let logits: Vec<([f32; 3], usize)> = dev
        .iter()
        .filter(|e| !e.polar_only)
        .map(|e| {
            let p = parts_with(&e.text, Some(e.lang), m.grams);
            (m.logits(&p, Some(e.lang)), e.label)
        })
        .collect();
    let nll = |t: f32| -> f64 {
        logits
            .iter()
            .map(|(z, y)| {
                let z = [z[0] / t, z[1] / t, z[2] / t];
                let mx = z[0].max(z[1]).max(z[2]);
                let s: f32 = z.iter().map(|v| (v - mx).exp()).sum();
                -((z[*y] - mx) as f64 - (s as f64).ln())
            })
            .sum()
    };
    (10..=200)
        .map(|i| i as f32 / 20.0)
        .min_by(|a, b| nll(*a).total_cmp(&nll(*b)))
        .unwrap_or(1.0)
}
