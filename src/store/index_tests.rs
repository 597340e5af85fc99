//! Tests of `store/index.rs`.

use super::*;
use crate::mention::BrandHit;
use crate::testutil::mention;

fn setup(mentions: Vec<Mention>) -> (tempfile::TempDir, MentionIndex) {
    let dir = tempfile::tempdir().unwrap();
    let idx = MentionIndex::open(dir.path()).unwrap();
    let mut w = idx.writer().unwrap();
    w.upsert(&mentions).unwrap();
    w.commit().unwrap();
    idx.reload().unwrap();
    (dir, idx)
}

fn ids(idx: &MentionIndex, q: &str) -> Vec<String> {
    let req = SearchRequest {
        query: Some(Query::parse(q).unwrap()),
        limit: 100,
        ..Default::default()
    };
    let mut v: Vec<String> = idx
        .search(&req)
        .unwrap()
        .into_iter()
        .map(|m| m.title)
        .collect();
    v.sort();
    v
}

#[test]
fn queries_mean_the_same_as_live_matching() {
    let (_d, idx) = setup(vec![
        mention("Le service Acme en panne", "rien"),
        mention("Acme Corp rachète Globex", ""),
        mention("acmetal", "la maison Dorée"),
        mention("Road runner", "Acme Corp et road runner"),
    ]);
    assert_eq!(
        ids(&idx, "acme"),
        vec![
            "Acme Corp rachète Globex",
            "Le service Acme en panne",
            "Road runner"
        ]
    );
    assert_eq!(ids(&idx, "doree"), vec!["acmetal"]);
    assert_eq!(
        ids(
            &idx,
            r#""acme corp" OR (acme AND (produit OR service)) NOT "road runner""#
        ),
        vec!["Acme Corp rachète Globex", "Le service Acme en panne"]
    );
    assert_eq!(
        ids(&idx, "doree OR (acme AND NOT service AND NOT corp)"),
        vec!["acmetal"]
    );
    // Proximity is verified with the matcher's own semantics.
    assert_eq!(
        ids(&idx, "\"acme panne\"~1"),
        vec!["Le service Acme en panne"]
    );
    assert!(ids(&idx, "\"acme panne\"~0").is_empty());
    assert_eq!(
        ids(&idx, "acme NOT \"corp road\"~3"),
        vec!["Acme Corp rachète Globex", "Le service Acme en panne"]
    );
    assert_eq!(ids(&idx, "serv* acme"), vec!["Le service Acme en panne"]);
    assert_eq!(
        ids(&idx, "title:acme NOT title:road*"),
        vec!["Acme Corp rachète Globex", "Le service Acme en panne"]
    );
    assert_eq!(ids(&idx, "site:example.com doree"), vec!["acmetal"]);
    assert!(ids(&idx, "site:ample.com doree").is_empty());
}

#[test]
fn upsert_keeps_one_copy_and_filters_work() {
    let mut a = mention("Acme", "x");
    a.brands = vec![BrandHit {
        brand: "acme".into(),
        terms: vec![],
        spans: vec![],
    }];
    let (_d, idx) = setup(vec![a.clone(), mention("Other", "y")]);
    let mut w = idx.writer().unwrap();
    w.upsert(&[a.clone()]).unwrap();
    w.commit().unwrap();
    idx.reload().unwrap();
    assert_eq!(idx.len(), 2);
    let req = SearchRequest {
        brand: Some("acme".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(idx.count(&req).unwrap(), 1);
    assert_eq!(idx.search(&req).unwrap()[0], a);
    let later = SearchRequest {
        since: Some(a.published_at + chrono::Duration::hours(1)),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(idx.count(&later).unwrap(), 0);
}
