//! Enrichment cost per mention: language detection (when the source declares none),
//! sentiment, near-duplicate story and reach, on realistic ~700-byte mentions.
//!
//!     cargo bench --bench enrich

use std::time::Instant;

use veille::enrich::{EnrichConfig, Enricher};

const FR: &str = "Le fabricant Acme a annoncé mardi le rappel de 20 000 bouilloires connectées vendues en France depuis septembre, après plusieurs cas de surchauffe signalés par des clients. L'entreprise promet un remboursement intégral ou un échange, et invite les propriétaires à cesser d'utiliser l'appareil. Sur les réseaux sociaux, plusieurs clients dénoncent un service après-vente injoignable et parlent d'arnaque. « C'est honteux, j'attends depuis trois semaines », écrit une cliente. La direction assure que les demandes seront traitées sous dix jours et qu'aucun blessé n'a été signalé à ce stade.";
const EN: &str = "Acme Corp announced on Tuesday the recall of 20,000 smart kettles sold in the UK since September, after several customers reported overheating. The company promises a full refund or a replacement and asks owners to stop using the device immediately. On social media, many customers complain about a customer service that never answers and call it a scam. \"Worst experience ever, three weeks and still waiting\", one customer wrote. The management says requests will be handled within ten days and that no injuries have been reported so far.";

/// µs per mention of 5 runs of a fresh enricher over `mentions`, sorted.
fn cost(mentions: &[veille::mention::Mention]) -> Vec<f64> {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let mut e = Enricher::new(&EnrichConfig::default());
        let mut batch = mentions.to_vec();
        let t = Instant::now();
        for m in &mut batch {
            e.enrich(m);
        }
        runs.push(t.elapsed().as_secs_f64() * 1e6 / batch.len() as f64);
        std::hint::black_box(&batch);
    }
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    runs
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("enrichment benchmark: run it with `cargo bench --bench enrich`");
        return;
    }
    let mut mentions = Vec::new();
    for i in 0..20_000 {
        let (base, lang) = if i % 2 == 0 { (FR, "fr") } else { (EN, "en") };
        // Each mention a little different; one in four declares no language.
        let cut: String = base.chars().take(base.chars().count() - (i % 97)).collect();
        let text = format!(
            "{cut} {i} {}",
            ["", "Lire aussi la suite.", "👍", "😡 !!"][i % 4]
        );
        let mut m = veille::testutil::mention(&format!("Acme news {i}"), &text);
        m.language = (i % 4 != 0).then(|| lang.to_string());
        m.engagement.likes = Some((i % 50) as i64);
        mentions.push(m);
    }
    let runs = cost(&mentions);
    // Where the time goes.
    let detector =
        veille::enrich::language::LanguageDetector::new(&EnrichConfig::default().languages);
    let parts: [(&str, Box<dyn Fn(&veille::mention::Mention)>); 3] = [
        (
            "language detection",
            Box::new(|m| {
                std::hint::black_box(detector.detect(&m.title, &m.text));
            }),
        ),
        (
            "sentiment",
            Box::new(|m| {
                std::hint::black_box(veille::enrich::sentiment::score(
                    &m.text,
                    m.language.as_deref(),
                ));
            }),
        ),
        (
            "story signature",
            Box::new(|m| {
                std::hint::black_box(veille::enrich::story::signature(&m.title, &m.text));
            }),
        ),
    ];
    for (name, f) in parts {
        let sample = &mentions[..2000];
        let t = Instant::now();
        for m in sample {
            f(m);
        }
        println!(
            "  {name}: {:.1} µs when it runs",
            t.elapsed().as_secs_f64() * 1e6 / sample.len() as f64
        );
    }
    println!(
        "enrichment: {:.1} µs per mention (median of 5 runs over {} mentions; min {:.1}, max {:.1})",
        runs[2],
        mentions.len(),
        runs[0],
        runs[4]
    );
    // The worst case: no source declares a language (forums, HN, Reddit…).
    mentions.iter_mut().for_each(|m| m.language = None);
    let undeclared = cost(&mentions);
    println!(
        "enrichment, no language declared: {:.1} µs per mention (median of 5 runs)",
        undeclared[2]
    );
}
