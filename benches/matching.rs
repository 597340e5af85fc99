//! Matching benchmark: 1,000, 10,000 and 100,000 realistic brand queries (phrases,
//! booleans, exclusions, wildcards, proximity) against a stream of ~700-byte mentions,
//! on one core. Prints mentions/s through the percolator, the time and memory to compile
//! the query set, and the naive one-query-at-a-time rate for comparison.
//!
//!     cargo bench --bench matching
//!     cargo bench --bench matching -- 10000     # one size only

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use veille::matching::{Document, Percolator, Query};
use veille::mention::Mention;

/// Counts live heap bytes, to report what the compiled query set takes.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// A small deterministic generator (the benchmark must not depend on the run).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SYLLABLES: &[&str] = &[
    "ac", "me", "glo", "bex", "vi", "ta", "lu", "mi", "no", "ra", "zen", "ko", "da", "ri", "sol",
    "ve", "qua", "tri", "po", "lis", "mar", "bel", "dor", "fi",
];
const WORDS: &[&str] = &[
    "le",
    "la",
    "les",
    "des",
    "une",
    "un",
    "et",
    "ou",
    "pour",
    "avec",
    "sans",
    "chez",
    "client",
    "clients",
    "service",
    "produit",
    "prix",
    "livraison",
    "commande",
    "nouveau",
    "nouvelle",
    "gamme",
    "magasin",
    "france",
    "paris",
    "lyon",
    "annonce",
    "rappel",
    "qualité",
    "avis",
    "semaine",
    "hier",
    "aujourd'hui",
    "marque",
    "entreprise",
    "the",
    "and",
    "with",
    "new",
    "launch",
    "customers",
    "store",
    "price",
    "review",
    "quality",
    "today",
    "support",
    "team",
    "market",
    "growth",
    "sales",
    "année",
    "depuis",
    "encore",
    "très",
    "plus",
    "moins",
    "bien",
    "mal",
    "vraiment",
];
const TRIGGERS: &[&str] = &[
    "panne",
    "arnaque",
    "boycott",
    "scandale",
    "remboursement",
    "bug",
    "avis",
    "rappel",
    "promo",
    "recall",
    "scam",
    "refund",
];

fn brand_name(i: usize) -> String {
    // Distinct, pronounceable, 3–4 syllables: "glovibex".
    let mut n = i;
    let mut s = String::new();
    for _ in 0..3 {
        s.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    if n > 0 {
        s.push_str(SYLLABLES[n % SYLLABLES.len()]);
    }
    s
}

fn queries(n: usize, rng: &mut Rng) -> Vec<Query> {
    (0..n)
        .map(|i| {
            let b = brand_name(i);
            let other = brand_name((i * 7919 + 13) % (n * 2));
            let t = rng.pick(TRIGGERS);
            let w = rng.pick(WORDS);
            let text = match i % 8 {
                0 => format!("\"{b} {w}\" OR {b}"),
                1 => format!(
                    "{b} AND ({t} OR {} OR {})",
                    rng.pick(TRIGGERS),
                    rng.pick(TRIGGERS)
                ),
                2 => format!("{b} NOT {other}"),
                3 => format!("{}* AND {t}", &b[..b.len().min(6)]),
                4 => format!("\"{b} {t}\"~4"),
                5 => format!("({b} OR {other}) AND NOT ({w} OR \"{t} {w}\")"),
                6 => format!("title:{b} OR \"{b} france\""),
                _ => format!("{b} {t} NOT (fruit OR tarte)"),
            };
            Query::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
        })
        .collect()
}

/// ~700-byte mentions; one in five names a brand of the set, half of those with a trigger.
fn mentions(count: usize, brands: usize, rng: &mut Rng) -> Vec<Mention> {
    (0..count)
        .map(|i| {
            let mut words: Vec<String> = Vec::new();
            let mut len = 0;
            while len < 700 {
                let w = rng.pick(WORDS).to_string();
                len += w.len() + 1;
                words.push(w);
            }
            if rng.below(5) == 0 {
                let at = rng.below(words.len() as u64) as usize;
                words[at] = brand_name(rng.below(brands as u64) as usize);
                if rng.below(2) == 0 {
                    let at2 = (at + 1 + rng.below(3) as usize).min(words.len() - 1);
                    words[at2] = rng.pick(TRIGGERS).to_string();
                }
            }
            let text = words.join(" ");
            let title: String = text.split(' ').take(8).collect::<Vec<_>>().join(" ");
            veille::testutil::mention(&format!("{title} {i}"), &text)
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("matching benchmark: run it with `cargo bench --bench matching`");
        return;
    }
    let only: Option<usize> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let sizes: Vec<usize> = only
        .map(|n| vec![n])
        .unwrap_or(vec![1_000, 10_000, 100_000]);
    println!("matching benchmark (one core): ~700-byte mentions, 20 % naming a brand of the set");
    println!(
        "{:>8} {:>12} {:>10} {:>14} {:>14} {:>9} {:>12}",
        "queries", "compile ms", "memory MB", "mentions/s", "naive/s", "speed-up", "matches/1k"
    );
    for n in sizes {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let qs = queries(n, &mut rng);
        let stream = mentions(20_000, n, &mut rng);
        let before = LIVE.load(Ordering::Relaxed);
        let t = Instant::now();
        let p = Percolator::new(qs.clone());
        let compile = t.elapsed().as_secs_f64() * 1000.0;
        let memory = (LIVE.load(Ordering::Relaxed) - before) as f64 / 1e6;
        let mut rates = Vec::new();
        let mut matches = 0;
        for _ in 0..5 {
            matches = 0;
            let t = Instant::now();
            // What the daemon does: every matching query with its hits (the matched
            // words and their positions, kept for highlighting).
            for m in &stream {
                let d = Document::of_mention(m);
                matches += p.matches(&d).len();
            }
            rates.push(stream.len() as f64 / t.elapsed().as_secs_f64());
        }
        // Naive: every query evaluated on every mention (on a sample: it is slow).
        let sample = &stream[..(2_000_000 / n).clamp(20, 2000)];
        let mut naive_rates = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let mut k = 0;
            for m in sample {
                let d = Document::of_mention(m);
                k += qs.iter().filter(|q| d.hits(q).is_some()).count();
            }
            std::hint::black_box(k);
            naive_rates.push(sample.len() as f64 / t.elapsed().as_secs_f64());
        }
        let (rate, naive) = (median(rates), median(naive_rates));
        println!(
            "{n:>8} {compile:>12.0} {memory:>10.1} {rate:>14.0} {naive:>14.0} {:>8.0}x {:>12.1}",
            rate / naive,
            matches as f64 * 1000.0 / stream.len() as f64
        );
        drop(p);
    }
}
