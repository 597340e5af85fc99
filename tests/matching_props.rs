//! One semantics: random queries over random mentions give the same answers from the
//! percolator (live matching), the matcher's evaluator, a naive evaluator written apart,
//! and the tantivy index (search).

use std::collections::BTreeSet;

use proptest::prelude::*;
use veille::matching::SearchRequest;
use veille::matching::naive::NaiveDoc;
use veille::matching::{Document, Field, Meta, Percolator, Query};
use veille::mention::Mention;
use veille::store::index::MentionIndex;

const DOC_WORDS: &[&str] = &[
    "acme",
    "Acmé",
    "ACME",
    "globex",
    "panne",
    "bug",
    "arnaque",
    "Dorée",
    "doree",
    "corp",
    "service",
    "l'acme",
    "d'Acme",
    "boycott",
    "boycotts",
    "Boycottez",
    "#acme",
    "@acme",
    "acmetal",
    "Acme's",
    "la",
    "de",
    "et",
];
const QUERY_WORDS: &[&str] = &[
    "acme", "globex", "panne", "bug", "arnaque", "doree", "corp", "service", "boycott", "la",
];

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![4 => Just(Field::Any), 1 => Just(Field::Title), 1 => Just(Field::Text), 1 => Just(Field::Author)]
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(QUERY_WORDS).prop_map(str::to_string)
}

fn leaf() -> impl Strategy<Value = Query> {
    prop_oneof![
        6 => (field(), word()).prop_map(|(field, word)| Query::Term { field, word }),
        1 => prop::sample::select(&["#acme", "@acme"][..]).prop_map(|w| Query::Term { field: Field::Any, word: w.to_string() }),
        2 => (field(), prop::sample::select(&["acm", "boycott", "glob", "pann"][..]))
            .prop_map(|(field, p)| Query::Prefix { field, prefix: p.to_string() }),
        3 => (field(), prop::collection::vec(word(), 2..4), prop::option::of(0u32..4))
            .prop_map(|(field, words, slop)| Query::Phrase { field, words, slop }),
        1 => prop_oneof![
            prop::sample::select(&["example.com", "news.example.com", "other.org"][..]).prop_map(|v| Query::Meta { key: Meta::Site, value: v.into() }),
            prop::sample::select(&["fr", "en"][..]).prop_map(|v| Query::Meta { key: Meta::Lang, value: v.into() }),
            prop::sample::select(&["s1", "reddit"][..]).prop_map(|v| Query::Meta { key: Meta::Source, value: v.into() }),
        ],
    ]
}

fn query() -> impl Strategy<Value = Query> {
    leaf()
        .prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Query::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Query::Or),
                inner.prop_map(|q| Query::Not(Box::new(q))),
            ]
        })
        .prop_filter(
            "a query must be able to match positively",
            Query::has_positive,
        )
}

fn text(n: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(DOC_WORDS),
            prop::sample::select(&[" ", ", ", ". ", " - "][..]),
        ),
        n,
    )
    .prop_map(|v| v.into_iter().map(|(w, sep)| format!("{w}{sep}")).collect())
}

fn mention() -> impl Strategy<Value = Mention> {
    (
        text(0..5),
        text(0..14),
        prop::sample::select(&["example.com", "news.example.com", "other.org"][..]),
        prop::sample::select(&[None, Some("fr"), Some("en-GB")][..]),
        prop::sample::select(&["s1", "s2"][..]),
        prop::sample::select(&["rss", "reddit"][..]),
        prop::sample::select(&[None, Some("Jane Doe"), Some("@acme")][..]),
        // A display name besides the handle (Mastodon, Bluesky).
        prop::sample::select(&[None, Some("Acme Service"), Some("Dorée Corp")][..]),
    )
        .prop_map(
            |(title, body, site, lang, source, kind, author, author_name)| {
                let mut m = veille::testutil::mention(&title, &body);
                m.site = site.into();
                m.language = lang.map(str::to_string);
                m.source = source.into();
                m.source_kind = kind.into();
                m.author = author.map(str::to_string);
                m.author_name = author_name.map(str::to_string);
                m.published_at +=
                    chrono::Duration::seconds(title.len() as i64 * 7 + body.len() as i64);
                m
            },
        )
}

fn ids(v: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
    v.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn percolator_evaluator_naive_and_index_agree(
        queries in prop::collection::vec(query(), 1..12),
        docs in prop::collection::vec(mention(), 1..25),
    ) {
        // Unique ids (two random mentions may be equal).
        let mut docs = docs;
        for (i, d) in docs.iter_mut().enumerate() {
            d.id = format!("doc{i}");
        }
        // The text of each query parses back to it: what users write is what runs.
        for q in &queries {
            prop_assert_eq!(&Query::parse(&q.to_string()).unwrap(), q, "{}", q);
        }
        let percolator = Percolator::new(queries.clone());
        let dir = tempfile::tempdir().unwrap();
        let index = MentionIndex::open(dir.path()).unwrap();
        let mut w = index.writer().unwrap();
        w.upsert(&docs).unwrap();
        w.commit().unwrap();
        index.reload().unwrap();
        let mut scratch = Vec::new();
        let by_percolator: Vec<BTreeSet<usize>> = (0..queries.len())
            .map(|qi| {
                ids(docs.iter().enumerate().filter_map(|(di, d)| {
                    percolator
                        .matching_ids(&Document::of_mention(d), &mut scratch)
                        .contains(&(qi as u32))
                        .then_some(di)
                }))
            })
            .collect();
        for (qi, q) in queries.iter().enumerate() {
            let naive = ids(docs.iter().enumerate().filter(|(_, d)| NaiveDoc::of_mention(d).eval(q)).map(|(i, _)| i));
            let evaluator = ids(docs.iter().enumerate().filter(|(_, d)| Document::of_mention(d).is_match(q)).map(|(i, _)| i));
            let found = index.search(&SearchRequest { query: Some(q.clone()), limit: 1000, ..Default::default() }).unwrap();
            let searched = ids(found.iter().map(|m| m.id[3..].parse::<usize>().unwrap()));
            let counted = index.count(&SearchRequest { query: Some(q.clone()), ..Default::default() }).unwrap();
            prop_assert_eq!(&evaluator, &naive, "evaluator vs naive for {}", q);
            prop_assert_eq!(&by_percolator[qi], &naive, "percolator vs naive for {}", q);
            prop_assert_eq!(&searched, &naive, "index vs naive for {}", q);
            prop_assert_eq!(counted, naive.len(), "count for {}", q);
        }
    }
}
