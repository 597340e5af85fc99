//! Near-duplicate stories: syndicated copies of one article (wire stories republished
//! across sites, reposts with a different title, trimmed paragraphs or added
//! boilerplate) share a story id.
//!
//! Each mention's folded text is cut into word 3-grams; one-permutation MinHash keeps,
//! for each of 64 bins, the smallest hash falling in it. Locality-sensitive hashing
//! (16 bands of 4 bins) finds earlier mentions likely to be similar; the estimated
//! Jaccard similarity (share of equal bins) decides, against `threshold`. The story id
//! is the id of the story's first mention. Recent signatures stay in memory (bounded).

use std::collections::{HashMap, VecDeque};

use crate::text;

const BINS: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = BINS / BANDS;
/// Texts shorter than this (in words) are their own story: too little to compare.
const MIN_WORDS: usize = 12;
/// Entries remembered per band key: a story copied a thousand times must not make every
/// new copy compare against all of them; its latest copies are enough.
const BUCKET: usize = 8;
/// Similarity from which a candidate is taken as the story without looking further.
const NEAR_COPY: f32 = 0.9;

type Signature = [u64; BINS];

fn mix(mut x: u64) -> u64 {
    // splitmix64 finalizer: good bits for bins and values.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn word_hash(w: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in w.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The MinHash signature of `title` and `text`, or `None` for a text too short.
pub fn signature(title: &str, text_in: &str) -> Option<Signature> {
    let mut words: Vec<u64> = Vec::with_capacity(128);
    for s in [title, text_in] {
        text::tokenize(s, |t| {
            if !t.text.starts_with(['#', '@']) {
                words.push(word_hash(t.text));
            }
        });
    }
    if words.len() < MIN_WORDS {
        return None;
    }
    let mut sig = [u64::MAX; BINS];
    for w in words.windows(3) {
        let h = mix(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42));
        let bin = (h >> 58) as usize; // top 6 bits: one of 64 bins
        let v = h & ((1 << 58) - 1);
        if v < sig[bin] {
            sig[bin] = v;
        }
    }
    // Densify: an empty bin borrows from the next filled one (a different value per
    // distance, so two texts agree on it only if they agree on the source bin).
    for i in 0..BINS {
        if sig[i] == u64::MAX {
            for d in 1..BINS {
                let j = (i + d) % BINS;
                if sig[j] != u64::MAX && sig[j] < (1 << 58) {
                    sig[i] = mix(sig[j] ^ d as u64) | (1 << 59);
                    break;
                }
            }
        }
    }
    Some(sig)
}

/// Estimated Jaccard similarity of two signatures.
pub fn similarity(a: &Signature, b: &Signature) -> f32 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f32 / BINS as f32
}

fn band_keys(sig: &Signature) -> [u64; BANDS] {
    let mut keys = [0u64; BANDS];
    for (b, key) in keys.iter_mut().enumerate() {
        let mut h = mix(b as u64 + 1);
        for v in &sig[b * ROWS..(b + 1) * ROWS] {
            h = mix(h ^ v);
        }
        *key = h;
    }
    keys
}

/// Recent signatures and their stories.
pub struct Stories {
    threshold: f32,
    capacity: usize,
    /// (story id, signature, band keys), oldest first.
    entries: VecDeque<(String, Signature, [u64; BANDS])>,
    /// band key → indices (absolute sequence numbers) of entries with it
    bands: HashMap<u64, Vec<u64>>,
    /// sequence number of `entries[0]`
    first: u64,
}

impl Stories {
    pub fn new(threshold: f32, capacity: usize) -> Stories {
        Stories {
            threshold,
            capacity: capacity.max(1),
            entries: VecDeque::new(),
            bands: HashMap::new(),
            first: 0,
        }
    }

    /// The story of a new mention (`id` when it starts a new one); remembers it.
    pub fn assign(&mut self, id: &str, title: &str, text_in: &str) -> String {
        let Some(sig) = signature(title, text_in) else {
            return id.to_string();
        };
        let keys = band_keys(&sig);
        let mut best: Option<(f32, &str)> = None;
        let mut checked: Vec<u64> = Vec::new();
        'scan: for k in &keys {
            for &seq in self.bands.get(k).map(|v| v.as_slice()).unwrap_or(&[]) {
                if seq < self.first || checked.contains(&seq) {
                    continue;
                }
                checked.push(seq);
                let (story, other, _) = &self.entries[(seq - self.first) as usize];
                let s = similarity(&sig, other);
                if s >= self.threshold && best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, story));
                    // A near-copy: no other candidate would be a better story (and a
                    // wire story's hundred copies need not all be compared).
                    if s >= NEAR_COPY {
                        break 'scan;
                    }
                }
            }
        }
        let story = best
            .map(|(_, s)| s.to_string())
            .unwrap_or_else(|| id.to_string());
        self.remember(story.clone(), sig, keys);
        story
    }

    /// Adds a mention whose story is already known (rebuilding after a restart).
    pub fn remember_known(&mut self, story: &str, title: &str, text_in: &str) {
        if let Some(sig) = signature(title, text_in) {
            let keys = band_keys(&sig);
            self.remember(story.to_string(), sig, keys);
        }
    }

    fn remember(&mut self, story: String, sig: Signature, keys: [u64; BANDS]) {
        let seq = self.first + self.entries.len() as u64;
        for k in keys {
            let bucket = self.bands.entry(k).or_default();
            bucket.push(seq);
            if bucket.len() > BUCKET {
                bucket.remove(0);
            }
        }
        self.entries.push_back((story, sig, keys));
        while self.entries.len() > self.capacity {
            let (_, _, old) = self.entries.pop_front().expect("not empty");
            let gone = self.first;
            self.first += 1;
            for k in old {
                if let Some(v) = self.bands.get_mut(&k) {
                    v.retain(|&s| s != gone);
                    if v.is_empty() {
                        self.bands.remove(&k);
                    }
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIRE: &str = "Le fabricant Acme a annoncé mardi le rappel de 20 000 bouilloires connectées Kettle One vendues en France depuis septembre, après plusieurs cas de surchauffe signalés par des clients. L'entreprise promet un remboursement intégral ou un échange, et invite les propriétaires à cesser immédiatement d'utiliser l'appareil. Aucun blessé n'a été signalé à ce stade, selon la direction.";

    #[test]
    fn syndicated_copies_share_a_story() {
        let mut s = Stories::new(0.5, 1000);
        let a = s.assign("a", "Acme rappelle 20 000 bouilloires", WIRE);
        assert_eq!(a, "a");
        // Another site: different title, boilerplate added, last sentence trimmed.
        let trimmed = WIRE.rsplit_once(" Aucun").unwrap().0;
        let b = s.assign("b", "Rappel massif chez Acme", &format!("{trimmed} Lire aussi : nos conseils pour bien choisir sa bouilloire. Abonnez-vous à notre newsletter."));
        assert_eq!(b, "a");
        let c = s.assign("c", "Info AFP", &format!("(AFP) - {WIRE}"));
        assert_eq!(c, "a");
        // A different article about the same brand is another story.
        let d = s.assign(
            "d",
            "Acme ouvre un centre de recherche",
            "Acme a inauguré à Lyon un centre de recherche qui emploiera deux cents ingénieurs chargés de concevoir les prochains objets connectés de la marque, a annoncé son directeur général lors d'une conférence de presse.",
        );
        assert_eq!(d, "d");
        // Too short to compare: its own story.
        assert_eq!(s.assign("e", "Acme", "rappel des bouilloires"), "e");
    }

    #[test]
    fn a_story_copied_many_times_stays_fast_and_grouped() {
        let mut s = Stories::new(0.5, 100_000);
        for i in 0..2_000 {
            assert_eq!(
                s.assign(&format!("m{i}"), "Copie", &format!("{WIRE} {i}")),
                "m0"
            );
        }
        // Buckets stay small: each new copy compares with a bounded number of others.
        assert!(s.bands.values().all(|v| v.len() <= BUCKET));
    }

    #[test]
    fn bounded_memory() {
        let mut s = Stories::new(0.5, 3);
        for i in 0..10 {
            s.assign(&i.to_string(), "", &format!("{WIRE} {i}"));
        }
        assert_eq!(s.len(), 3);
        assert!(s.bands.values().all(|v| v.iter().all(|&q| q >= s.first)));
    }
}
