//! The sentiment model: multinomial logistic regression (negative, neutral, positive) over
//! hashed features — words (marked after a negation), word bigrams, character n-grams
//! inside words — and a few dense ones from the lexicons (their score, positive and
//! negative sums, exclamation and question marks, the language).
//!
//! Trained offline on real, human-labelled text (`cargo run --release --example
//! train_sentiment`; data, licences and figures in `data/sentiment/PROVENANCE.md`), which
//! writes `data/sentiment/model.bin`. The binary embeds that file; nothing is downloaded.
//!
//! File format (little-endian): `VSM2`, u32 hash bits, the smallest and largest
//! character n-gram sizes (u8 each, 2 bytes padding), u32 dense count, f32 temperature,
//! the thresholds (f32 negative, f32 positive; English then French), the dense weights
//! (f32, 3 per feature), f32 scale, then 3 × 2^bits signed bytes (weights / scale).

use super::sentiment::Parts;
use crate::mention::Label;

/// Classes, in this order.
pub const LABELS: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];
/// Dense features: compound, positive, negative, bangs, question, French, English, bias.
pub const DENSE: usize = 8;
const MAGIC: &[u8; 4] = b"VSM2";

/// The dense features of a text.
pub fn dense(p: &Parts, lang: Option<&str>) -> [f32; DENSE] {
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

/// Each sparse feature of a text counts 1/√n (n features in all): a long text is not
/// more sure of itself for having more words, and character n-grams do not drown the rest.
pub fn sparse_scale(n: usize) -> f32 {
    1.0 / (n.max(1) as f32).sqrt()
}

/// The bucket of a feature hash among `2^bits`.
pub fn bucket(h: u64, bits: u32) -> usize {
    // FNV's high bits are weak: mix first (splitmix64 finalizer).
    let mut x = h;
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x >> (64 - bits)) as usize
}

#[derive(Debug, Clone)]
pub struct Model {
    pub bits: u32,
    /// Character n-gram sizes the model was trained with.
    pub grams: super::sentiment::Grams,
    /// Three weights per bucket.
    pub sparse: Vec<[f32; 3]>,
    pub dense: [[f32; 3]; DENSE],
    /// Logits are divided by this before the softmax (calibration on the dev sets).
    pub temperature: f32,
    /// Per language (0: English and any other, 1: French), (negative, positive): a text
    /// is negative only when P(negative) reaches the first, positive when P(positive)
    /// reaches the second; otherwise neutral (low confidence is neutral).
    pub taus: [(f32, f32); 2],
}

/// The row of [`Model::taus`] for a language.
pub fn tau_row(lang: Option<&str>) -> usize {
    (lang == Some("fr")) as usize
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("sentiment model: {0}")]
    Format(&'static str),
}

fn softmax(z: [f32; 3]) -> [f32; 3] {
    let m = z[0].max(z[1]).max(z[2]);
    let e = [(z[0] - m).exp(), (z[1] - m).exp(), (z[2] - m).exp()];
    let s = e[0] + e[1] + e[2];
    [e[0] / s, e[1] / s, e[2] / s]
}

impl Model {
    pub fn new(bits: u32) -> Model {
        Model {
            bits,
            grams: (0, 0),
            sparse: vec![[0.0; 3]; 1 << bits],
            dense: [[0.0; 3]; DENSE],
            temperature: 1.0,
            taus: [(0.5, 0.5); 2],
        }
    }

    /// Raw scores per class (before temperature and softmax).
    pub fn logits(&self, p: &Parts, lang: Option<&str>) -> [f32; 3] {
        let mut z = [0.0f32; 3];
        for (i, x) in dense(p, lang).iter().enumerate() {
            for (c, zc) in z.iter_mut().enumerate() {
                *zc += self.dense[i][c] * x;
            }
        }
        let mut sum = [0.0f32; 3];
        for h in &p.features {
            let w = &self.sparse[bucket(*h, self.bits)];
            for c in 0..3 {
                sum[c] += w[c];
            }
        }
        let scale = sparse_scale(p.features.len());
        for c in 0..3 {
            z[c] += sum[c] * scale;
        }
        z
    }

    /// Calibrated class probabilities (negative, neutral, positive).
    pub fn probabilities(&self, p: &Parts, lang: Option<&str>) -> [f32; 3] {
        let z = self.logits(p, lang);
        let t = self.temperature.max(0.05);
        softmax([z[0] / t, z[1] / t, z[2] / t])
    }

    /// The label from probabilities: negative or positive only when likely enough,
    /// otherwise neutral. Returns the label and its confidence (its probability; for a
    /// neutral called for lack of confidence, 1 − the larger of the two others).
    pub fn decide(&self, pr: [f32; 3], lang: Option<&str>) -> (Label, f32) {
        let (tau_negative, tau_positive) = self.taus[tau_row(lang)];
        let neg = pr[0] >= tau_negative && pr[0] >= pr[2];
        let pos = pr[2] >= tau_positive && pr[2] > pr[0];
        if neg {
            (Label::Negative, pr[0])
        } else if pos {
            (Label::Positive, pr[2])
        } else {
            (Label::Neutral, 1.0 - pr[0].max(pr[2]))
        }
    }

    /// The model as bytes (see the module documentation for the format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + DENSE * 12 + self.sparse.len() * 3);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.bits.to_le_bytes());
        out.extend_from_slice(&[self.grams.0, self.grams.1, 0, 0]);
        out.extend_from_slice(&(DENSE as u32).to_le_bytes());
        let [(a, b), (c, d)] = self.taus;
        for x in [self.temperature, a, b, c, d] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for row in &self.dense {
            for x in row {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        let max = self
            .sparse
            .iter()
            .flatten()
            .fold(0.0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        out.extend_from_slice(&scale.to_le_bytes());
        for w in &self.sparse {
            for x in w {
                out.push((x / scale).round().clamp(-127.0, 127.0) as i8 as u8);
            }
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Model, ModelError> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], ModelError> {
            let s = b
                .get(at..at + n)
                .ok_or(ModelError::Format("file too short"))?;
            at += n;
            Ok(s)
        };
        if take(4)? != MAGIC {
            return Err(ModelError::Format("not a veille sentiment model (magic)"));
        }
        let u32_at = |s: &[u8]| u32::from_le_bytes(s.try_into().expect("4 bytes"));
        let f32_at = |s: &[u8]| f32::from_le_bytes(s.try_into().expect("4 bytes"));
        let bits = u32_at(take(4)?);
        if !(8..=24).contains(&bits) {
            return Err(ModelError::Format("hash bits out of range"));
        }
        let g = take(4)?;
        let grams = (g[0], g[1]);
        if grams.0 > grams.1 || grams.1 > 8 {
            return Err(ModelError::Format("character n-gram sizes out of range"));
        }
        if u32_at(take(4)?) as usize != DENSE {
            return Err(ModelError::Format(
                "dense feature count differs from this veille",
            ));
        }
        let mut m = Model::new(bits);
        m.grams = grams;
        m.temperature = f32_at(take(4)?);
        for row in m.taus.iter_mut() {
            *row = (f32_at(take(4)?), f32_at(take(4)?));
        }
        for row in m.dense.iter_mut() {
            for x in row.iter_mut() {
                *x = f32_at(take(4)?);
            }
        }
        let scale = f32_at(take(4)?);
        let body = take(3 << bits)?;
        for (w, q) in m.sparse.iter_mut().zip(body.chunks_exact(3)) {
            for c in 0..3 {
                w[c] = q[c] as i8 as f32 * scale;
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::sentiment::parts_with;
    use crate::enrich::train::{Example, train};

    #[test]
    fn learns_and_round_trips() {
        let ex = |l, t: &str| Example {
            label: l,
            text: t.to_string(),
            lang: "en",
            weight: 1.0,
            polar_only: false,
        };
        let data = vec![
            ex(0, "Acme charged me twice, still waiting for my money"),
            ex(0, "three weeks and still waiting for Acme"),
            ex(1, "Acme opens a store in Leeds"),
            ex(1, "Does Acme ship to Ireland?"),
            ex(2, "Acme sorted it in a day, impressed"),
            ex(2, "impressed by Acme support"),
        ];
        let mut m = train(&data, 12, (3, 4), 1e-6, 30, 7);
        m.taus = [(0.4, 0.4); 2];
        let back = Model::from_bytes(&m.to_bytes()).unwrap();
        for e in &data {
            let p = parts_with(&e.text, Some(e.lang), m.grams);
            let (a, b) = (
                m.probabilities(&p, Some(e.lang)),
                back.probabilities(&p, Some(e.lang)),
            );
            assert_eq!(m.decide(a, Some("en")).0, LABELS[e.label], "{}", e.text);
            assert!((a[0] - b[0]).abs() < 0.02, "{a:?} {b:?}");
        }
    }

    #[test]
    fn a_damaged_model_file_is_an_error_not_a_panic() {
        let m = Model::new(8);
        let bytes = m.to_bytes();
        assert!(Model::from_bytes(&bytes).is_ok());
        assert!(Model::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Model::from_bytes(b"VSM1").is_err());
        assert!(Model::from_bytes(&[]).is_err());
    }
}
