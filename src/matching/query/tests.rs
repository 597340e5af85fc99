use super::*;

fn t(s: &str) -> Query {
    Query::Term {
        field: Field::Any,
        word: s.into(),
    }
}

fn phrase(w: &[&str]) -> Query {
    Query::Phrase {
        field: Field::Any,
        words: w.iter().map(|s| s.to_string()).collect(),
        slop: None,
    }
}

#[test]
fn parses_the_design_example() {
    let q = Query::parse(r#""acme corp" OR (acme AND (produit OR service)) NOT "road runner""#)
        .unwrap();
    // The trailing NOT excludes "road runner" from the whole query.
    assert_eq!(
        q,
        Query::And(vec![
            Query::Or(vec![
                phrase(&["acme", "corp"]),
                Query::And(vec![t("acme"), Query::Or(vec![t("produit"), t("service")])]),
            ]),
            Query::Not(Box::new(phrase(&["road", "runner"]))),
        ])
    );
}

#[test]
fn implicit_and_and_french_operators() {
    assert_eq!(
        Query::parse("Dorée panne").unwrap(),
        Query::And(vec![t("doree"), t("panne")])
    );
    assert_eq!(
        Query::parse("acme OU globex SAUF fruit OR tarte").unwrap(),
        Query::And(vec![
            Query::Or(vec![t("acme"), t("globex")]),
            Query::Not(Box::new(Query::Or(vec![t("fruit"), t("tarte")])))
        ])
    );
    assert_eq!(
        Query::parse("(acme AND NOT fruit) OR globex").unwrap(),
        Query::Or(vec![
            Query::And(vec![t("acme"), Query::Not(Box::new(t("fruit")))]),
            t("globex")
        ])
    );
}

#[test]
fn lower_case_or_is_a_word() {
    assert_eq!(
        Query::parse("acme or").unwrap(),
        Query::And(vec![t("acme"), t("or")])
    );
}

#[test]
fn hyphenated_word_is_a_phrase() {
    assert_eq!(Query::parse("wi-fi").unwrap(), phrase(&["wi", "fi"]));
}

#[test]
fn proximity_wildcards_fields_tags() {
    assert_eq!(
        Query::parse("\"acme panne\"~5").unwrap(),
        Query::Phrase {
            field: Field::Any,
            words: vec!["acme".into(), "panne".into()],
            slop: Some(5)
        }
    );
    assert_eq!(
        Query::parse("acme NEAR/5 panne").unwrap(),
        Query::Phrase {
            field: Field::Any,
            words: vec!["acme".into(), "panne".into()],
            slop: Some(4)
        }
    );
    assert_eq!(
        Query::parse("Boycott*").unwrap(),
        Query::Prefix {
            field: Field::Any,
            prefix: "boycott".into()
        }
    );
    assert_eq!(
        Query::parse("title:(Acme OR \"acme corp\") author:margaux").unwrap(),
        Query::And(vec![
            Query::Or(vec![
                Query::Term {
                    field: Field::Title,
                    word: "acme".into()
                },
                Query::Phrase {
                    field: Field::Title,
                    words: vec!["acme".into(), "corp".into()],
                    slop: None
                },
            ]),
            Query::Term {
                field: Field::Author,
                word: "margaux".into()
            },
        ])
    );
    assert_eq!(
        Query::parse("acme site:https://www.Example.com/ lang:FR source:reddit").unwrap(),
        Query::And(vec![
            t("acme"),
            Query::Meta {
                key: Meta::Site,
                value: "example.com".into()
            },
            Query::Meta {
                key: Meta::Lang,
                value: "fr".into()
            },
            Query::Meta {
                key: Meta::Source,
                value: "reddit".into()
            },
        ])
    );
    assert_eq!(
        Query::parse("#Acmé @acme").unwrap(),
        Query::And(vec![t("#acme"), t("@acme")])
    );
}

#[test]
fn display_round_trips() {
    for s in [
        r#""acme corp" OR (acme AND (produit OR service)) NOT "road runner""#,
        "title:\"acme panne\"~3 OR text:boycott* OR author:jane",
        "(#acme OR @acme) site:example.com lang:fr",
        "acme NEAR/2 panne",
    ] {
        let q = Query::parse(s).unwrap();
        assert_eq!(Query::parse(&q.to_string()).unwrap(), q, "{s} -> {q}");
    }
}

#[test]
fn anchors_cover_every_match() {
    let q = Query::parse_raw(r#""Acme Corp" OR (Acme AND (produit OR service)) NOT "road runner""#)
        .unwrap();
    assert_eq!(
        q.anchors(),
        vec![
            Query::Phrase {
                field: Field::Any,
                words: vec!["Acme".into(), "Corp".into()],
                slop: None
            },
            t("Acme")
        ]
    );
    let q = Query::parse_raw("(Dorée OR doree) AND (panne OR bug OR arnaque)").unwrap();
    assert_eq!(q.anchors(), vec![t("Dorée"), t("doree")]);
    assert!(
        Query::parse("site:example.com")
            .unwrap()
            .anchors()
            .is_empty()
    );
}

#[test]
fn errors_point_at_the_column() {
    let e = Query::parse("acme AND (panne OR").unwrap_err();
    assert_eq!(e.column, 18);
    assert!(e.message.contains("expected a term"), "{e}");
    let e = Query::parse("acme \"panne").unwrap_err();
    assert_eq!(e.column, 5);
    let e = Query::parse("acme )").unwrap_err();
    assert_eq!(e.column, 5);
    let e = Query::parse("NOT acme").unwrap_err();
    assert!(e.message.contains("only excludes"));
    let e = Query::parse("(acme").unwrap_err();
    assert!(e.message.contains("expected `)`"), "{e}");
    let e = Query::parse("acme bo*").unwrap_err();
    assert_eq!(e.column, 5);
    assert!(e.message.contains("at least 3 letters"), "{e}");
    let e = Query::parse("\"acme corp\" NEAR/3 panne").unwrap_err();
    assert!(e.message.contains("NEAR joins two words"), "{e}");
    let e = Query::parse("acme NEAR/x panne").unwrap_err();
    assert_eq!(e.column, 5);
    let e = Query::parse("acme site:").unwrap_err();
    assert!(e.message.contains("expected a value after `site:`"), "{e}");
    let e = Query::parse("\"a b\"~").unwrap_err();
    assert!(e.message.contains("number of words"), "{e}");
}

/// Regression: 1,500 nested parentheses in `GET /api/mentions?q=` overflowed the
/// stack of the recursive parser and killed the daemon.
#[test]
fn nesting_is_capped_with_the_column() {
    let ok = format!("{}acme{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(Query::parse(&ok).unwrap(), t("acme"));
    for deep in [
        format!("{}acme{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("acme {}", "NOT ".repeat(100_000)) + "x",
        format!("acme AND {}x", "title:".repeat(100_000)),
        format!("acme AND {}(x", "(x OR ".repeat(100_000)),
    ] {
        let e = Query::parse(&deep).unwrap_err();
        assert!(e.message.contains("nested more than 64 deep"), "{e}");
        assert!(e.column < 2 * 7 * MAX_DEPTH, "{e}");
    }
    // Depth is nesting, not length: many groups side by side are fine.
    let side_by_side = "(acme OR NOT x) title:(a b) site:example.com ".repeat(100);
    assert!(Query::parse(&side_by_side).is_ok());
    let e = Query::parse(&format!("acme {}x{}", "(".repeat(70), ")".repeat(70))).unwrap_err();
    assert_eq!(e.column, 5 + MAX_DEPTH, "the 65th parenthesis: {e}");
}

#[test]
fn long_flat_lists_are_flat_and_capped() {
    let words = |n: usize, op: &str| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(op);
    // A list of the allowed length is one flat node, whatever its length.
    match Query::parse(&words(MAX_WORDS, " OR ")).unwrap() {
        Query::Or(v) => assert_eq!(v.len(), MAX_WORDS),
        q => panic!("{q:?}"),
    }
    match Query::parse(&words(MAX_WORDS, " ")).unwrap() {
        Query::And(v) => assert_eq!(v.len(), MAX_WORDS),
        q => panic!("{q:?}"),
    }
    for op in [" OR ", " ", " AND ", " NOT "] {
        let long = words(100_000, op);
        let e = Query::parse(&long).unwrap_err();
        assert!(e.message.contains("more than 1024 words"), "{op}: {e}");
        // The column is where the 1,025th word starts.
        let col = long.find(&format!("w{MAX_WORDS}")).unwrap();
        assert_eq!(e.column, col, "{op}");
    }
    let phrase = format!("\"{}\"", words(2000, " "));
    assert!(Query::parse(&phrase).is_err());
    // Colons do not make the lexer quadratic.
    let colons = format!("acme{}", ":".repeat(200_000));
    assert!(Query::parse(&colons).is_ok());
}

#[test]
fn huge_proximity_does_not_overflow() {
    let q = Query::parse("\"acme panne\"~4294967295").unwrap();
    let d = super::super::Document::new(&["acme ... panne", ""]);
    assert!(d.is_match(&q));
    let n =
        super::super::naive::NaiveDoc::of_mention(&crate::testutil::mention("acme ... panne", ""));
    assert!(n.eval(&q));
}

#[test]
fn a_lower_case_operator_word_gives_a_hint_not_an_error() {
    assert!(operator_hint("acme or globex").unwrap().contains("OR"));
    assert!(operator_hint("acme et globex").unwrap().contains("ET"));
    assert_eq!(operator_hint("acme OR globex"), None);
    assert_eq!(operator_hint("\"black or white\" acme"), None);
    assert_eq!(operator_hint("orange"), None);
}
