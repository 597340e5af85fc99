//! Near-duplicate stories: copies of one story across publishers share a story id —
//! syndicated copies of an article (wire stories republished across sites, reposts with a
//! different title, trimmed paragraphs or added boilerplate), and headlines or short posts
//! that tell the same thing in nearly the same words.
//!
//! Two signals, the first that finds an earlier story wins:
//! - **Text**: a mention's folded text (title and body) is cut into word 3-grams;
//!   one-permutation MinHash keeps, for each of 64 bins, the smallest hash falling in it.
//!   Locality-sensitive hashing (16 bands of 4 bins) finds earlier mentions likely to be
//!   similar; the estimated Jaccard similarity decides, against `threshold`. Needs 12
//!   words or more.
//! - **Title**: the title's content words (stop words, a trailing " - Publisher" and
//!   markers like "UPDATE 1-" left out), or a short post's whole text when it has no
//!   title. Earlier titles sharing words are found through an index of recent titles per
//!   word; their Jaccard similarity decides, against `title_threshold`. Needs 3 content
//!   words or more. Measured on real headlines grouped into stories by a news aggregator:
//!   `cargo bench --bench stories`.
//!
//! The story id is the id of the story's first mention. Recent mentions stay in memory
//! (bounded).
//!
//! Tests in `story_tests.rs`.

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

/// Content words of a title (or a short post) that say which story it tells: folded
/// words, without stop words, one-letter words and the markers of wire updates; a
/// trailing " - Publisher" (or " | Site") is cut when what is left is a headline.
pub fn title_words(title: &str) -> Vec<u64> {
    let mut t = title.trim();
    for sep in [" - ", " | ", " – ", " — "] {
        if let Some(i) = t.rfind(sep) {
            let (head, tail) = (&t[..i], &t[i + sep.len()..]);
            if tail.split_whitespace().count() <= 4 && head.split_whitespace().count() >= 4 {
                t = head;
            }
        }
    }
    let mut words: Vec<u64> = Vec::with_capacity(16);
    text::tokenize(t, |tok| {
        let w = tok.text;
        if w.starts_with(['#', '@']) || w.len() < 2 || STOP.contains(&w) {
            return;
        }
        words.push(word_hash(w));
    });
    words.sort_unstable();
    words.dedup();
    words.truncate(MAX_TITLE_WORDS);
    words
}

/// Folded stop words of French and English headlines, and wire markers.
const STOP: &[&str] = &[
    "the",
    "an",
    "of",
    "to",
    "in",
    "on",
    "for",
    "at",
    "by",
    "with",
    "from",
    "and",
    "or",
    "but",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "as",
    "it",
    "its",
    "this",
    "that",
    "these",
    "after",
    "over",
    "into",
    "about",
    "up",
    "out",
    "says",
    "say",
    "said",
    "will",
    "would",
    "can",
    "could",
    "has",
    "have",
    "had",
    "not",
    "no",
    "vs",
    "via",
    "than",
    "his",
    "her",
    "their",
    "our",
    "your",
    "you",
    "we",
    "they",
    "he",
    "she",
    "who",
    "what",
    "how",
    "all",
    "just",
    "update",
    "refile",
    "exclusive",
    "breaking",
    "video",
    "photos",
    "le",
    "la",
    "les",
    "un",
    "une",
    "des",
    "de",
    "du",
    "et",
    "ou",
    "en",
    "au",
    "aux",
    "ce",
    "cet",
    "cette",
    "ces",
    "se",
    "sa",
    "son",
    "ses",
    "leur",
    "leurs",
    "pour",
    "par",
    "sur",
    "dans",
    "avec",
    "sans",
    "sous",
    "chez",
    "qui",
    "que",
    "est",
    "sont",
    "ete",
    "etre",
    "ont",
    "il",
    "elle",
    "ils",
    "elles",
    "on",
    "nous",
    "vous",
    "ne",
    "pas",
    "plus",
    "dont",
    "mais",
    "comme",
    "apres",
    "selon",
    "contre",
    "entre",
    "direct",
];
/// Longer titles keep their first words (sorted by hash: an arbitrary but stable sample).
const MAX_TITLE_WORDS: usize = 24;
/// Fewer content words than this: no title signature (too little to compare).
const MIN_TITLE_WORDS: usize = 3;
/// Recent titles remembered per word: a common word must not make every new title compare
/// against thousands of others.
const WORD_BUCKET: usize = 32;

/// Jaccard similarity of two sorted sets.
fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - both;
    if union == 0 {
        0.0
    } else {
        both as f32 / union as f32
    }
}

struct Entry {
    story: String,
    text: Option<(Signature, [u64; BANDS])>,
    title: Vec<u64>,
}

/// Recent mentions and their stories.
pub struct Stories {
    threshold: f32,
    title_threshold: f32,
    capacity: usize,
    /// Oldest first.
    entries: VecDeque<Entry>,
    /// band key → sequence numbers of entries with it
    bands: HashMap<u64, Vec<u64>>,
    /// title word → sequence numbers of recent entries whose title has it
    words: HashMap<u64, Vec<u64>>,
    /// sequence number of `entries[0]`
    first: u64,
}

impl Stories {
    pub fn new(threshold: f32, title_threshold: f32, capacity: usize) -> Stories {
        Stories {
            threshold,
            title_threshold,
            capacity: capacity.max(1),
            entries: VecDeque::new(),
            bands: HashMap::new(),
            words: HashMap::new(),
            first: 0,
        }
    }

    /// What a mention is compared on: its text signature and its title words (a short
    /// post without a title: its text).
    fn keys(title: &str, text_in: &str) -> (Option<(Signature, [u64; BANDS])>, Vec<u64>) {
        let sig = signature(title, text_in).map(|s| (s, band_keys(&s)));
        let short = if title.trim().is_empty() && sig.is_none() {
            text_in
        } else {
            title
        };
        let mut words = title_words(short);
        if words.len() < MIN_TITLE_WORDS {
            words.clear();
        }
        (sig, words)
    }

    /// The story of a new mention (`id` when it starts a new one); remembers it.
    pub fn assign(&mut self, id: &str, title: &str, text_in: &str) -> String {
        let (sig, words) = Self::keys(title, text_in);
        let story = sig
            .as_ref()
            .and_then(|(s, k)| self.by_text(s, k))
            .or_else(|| self.by_title(&words))
            .unwrap_or_else(|| id.to_string());
        self.remember(Entry {
            story: story.clone(),
            text: sig,
            title: words,
        });
        story
    }

    fn by_text(&self, sig: &Signature, keys: &[u64; BANDS]) -> Option<String> {
        let mut best: Option<(f32, &str)> = None;
        let mut checked: Vec<u64> = Vec::new();
        'scan: for k in keys {
            for &seq in self.bands.get(k).map(|v| v.as_slice()).unwrap_or(&[]) {
                if seq < self.first || checked.contains(&seq) {
                    continue;
                }
                checked.push(seq);
                let e = &self.entries[(seq - self.first) as usize];
                let Some((other, _)) = &e.text else { continue };
                let s = similarity(sig, other);
                if s >= self.threshold && best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, &e.story));
                    // A near-copy: no other candidate would be a better story (and a
                    // wire story's hundred copies need not all be compared).
                    if s >= NEAR_COPY {
                        break 'scan;
                    }
                }
            }
        }
        best.map(|(_, s)| s.to_string())
    }

    fn by_title(&self, words: &[u64]) -> Option<String> {
        if words.is_empty() {
            return None;
        }
        let mut shared: HashMap<u64, u32> = HashMap::new();
        for w in words {
            for &seq in self.words.get(w).map(|v| v.as_slice()).unwrap_or(&[]) {
                if seq >= self.first {
                    *shared.entry(seq).or_default() += 1;
                }
            }
        }
        // Jaccard ≥ t needs at least t × |words| shared words: skip the others unread.
        let need = ((self.title_threshold * words.len() as f32).ceil() as u32).max(2);
        let mut best: Option<(f32, u64)> = None;
        for (seq, n) in shared {
            if n < need {
                continue;
            }
            let e = &self.entries[(seq - self.first) as usize];
            let s = jaccard(words, &e.title);
            // Ties go to the older entry: the story's first mention.
            if s >= self.title_threshold
                && best.is_none_or(|(b, bseq)| s > b || (s == b && seq < bseq))
            {
                best = Some((s, seq));
            }
        }
        best.map(|(_, seq)| self.entries[(seq - self.first) as usize].story.clone())
    }

    /// Adds a mention whose story is already known (rebuilding after a restart).
    pub fn remember_known(&mut self, story: &str, title: &str, text_in: &str) {
        let (text, title) = Self::keys(title, text_in);
        if text.is_some() || !title.is_empty() {
            self.remember(Entry {
                story: story.to_string(),
                text,
                title,
            });
        }
    }

    fn remember(&mut self, e: Entry) {
        if e.text.is_none() && e.title.is_empty() {
            return;
        }
        let seq = self.first + self.entries.len() as u64;
        if let Some((_, keys)) = &e.text {
            for k in keys {
                push_bounded(self.bands.entry(*k).or_default(), seq, BUCKET);
            }
        }
        for w in &e.title {
            push_bounded(self.words.entry(*w).or_default(), seq, WORD_BUCKET);
        }
        self.entries.push_back(e);
        while self.entries.len() > self.capacity {
            let old = self.entries.pop_front().expect("not empty");
            let gone = self.first;
            self.first += 1;
            let keys = old.text.map(|(_, k)| k).unwrap_or_default();
            forget(&mut self.bands, keys.iter(), gone);
            forget(&mut self.words, old.title.iter(), gone);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn push_bounded(bucket: &mut Vec<u64>, seq: u64, max: usize) {
    bucket.push(seq);
    if bucket.len() > max {
        bucket.remove(0);
    }
}

fn forget<'a>(map: &mut HashMap<u64, Vec<u64>>, keys: impl Iterator<Item = &'a u64>, gone: u64) {
    for k in keys {
        if let Some(v) = map.get_mut(k) {
            v.retain(|&s| s != gone);
            if v.is_empty() {
                map.remove(k);
            }
        }
    }
}

#[cfg(test)]
#[path = "story_tests.rs"]
mod tests;
