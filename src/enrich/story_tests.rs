//! Tests of `enrich/story.rs`.

use super::*;

const WIRE: &str = "Le fabricant Acme a annoncé mardi le rappel de 20 000 bouilloires connectées Kettle One vendues en France depuis septembre, après plusieurs cas de surchauffe signalés par des clients. L'entreprise promet un remboursement intégral ou un échange, et invite les propriétaires à cesser immédiatement d'utiliser l'appareil. Aucun blessé n'a été signalé à ce stade, selon la direction.";

#[test]
fn syndicated_copies_share_a_story() {
    let mut s = Stories::new(0.5, 0.35, 1000);
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
    let mut s = Stories::new(0.5, 0.35, 100_000);
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
fn identical_headlines_from_two_publishers_are_one_story() {
    // Regression: titles under 12 words had no signature, so copies were never grouped.
    let mut s = Stories::new(0.5, 0.35, 1000);
    let t = "ECB to reveal bad loan hurdles for euro zone bank test";
    assert_eq!(s.assign("a", t, ""), "a");
    assert_eq!(s.assign("b", t, ""), "a");
    // Wire markers and a publisher's suffix do not make another story.
    assert_eq!(
        s.assign(
            "c",
            "UPDATE 1-ECB to reveal bad loan hurdles for euro zone bank test - sources",
            ""
        ),
        "a"
    );
    assert_eq!(
        s.assign(
            "d",
            "ECB to reveal bad loan hurdles for euro zone bank test - Reuters",
            ""
        ),
        "a"
    );
    // Another story that shares a few words is not grouped.
    assert_eq!(
        s.assign(
            "e",
            "ECB keeps rates on hold as euro zone inflation slows",
            ""
        ),
        "e"
    );
    // French headlines, accents and elisions folded.
    assert_eq!(
        s.assign(
            "f",
            "Acme rappelle 20 000 bouilloires défectueuses en France",
            ""
        ),
        "f"
    );
    assert_eq!(
        s.assign(
            "g",
            "Acme rappelle 20 000 bouilloires défectueuses en France | Le Parisien",
            ""
        ),
        "f"
    );
}

#[test]
fn short_posts_without_a_title_are_compared_on_their_text() {
    let mut s = Stories::new(0.5, 0.35, 1000);
    let a = s.assign(
        "a",
        "",
        "Acme recalls 20,000 smart kettles over overheating risk",
    );
    let b = s.assign(
        "b",
        "",
        "RT Acme recalls 20,000 smart kettles over overheating risk!",
    );
    assert_eq!((a.as_str(), b.as_str()), ("a", "a"));
    // Two words in common are not a story.
    assert_eq!(
        s.assign("c", "", "Acme kettles are on sale this weekend"),
        "c"
    );
}

#[test]
fn bounded_memory() {
    let mut s = Stories::new(0.5, 0.35, 3);
    for i in 0..10 {
        s.assign(&i.to_string(), "", &format!("{WIRE} {i}"));
    }
    assert_eq!(s.len(), 3);
    assert!(s.bands.values().all(|v| v.iter().all(|&q| q >= s.first)));
    assert!(s.words.values().all(|v| v.iter().all(|&q| q >= s.first)));
}
