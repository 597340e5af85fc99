//! Small builders shared by unit tests, integration tests and benchmarks.

use chrono::{TimeZone, Utc};

use crate::alerts::{Alert, AlertMention, Fragment};
use crate::mention::{Mention, hash_id};
use crate::rules::Severity;

/// A mention with the given title and text; its id derives from both.
pub fn mention(title: &str, text: &str) -> Mention {
    let at = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
    let id = hash_id("test", &format!("{title}\u{0}{text}"));
    Mention {
        url: format!("https://news.example.com/{id}"),
        id,
        site: "news.example.com".into(),
        source: "test".into(),
        source_kind: "rss".into(),
        native_id: None,
        title: title.into(),
        text: text.into(),
        author: Some("Jane Doe".into()),
        author_name: None,
        published_at: at,
        fetched_at: at,
        language: None,
        reach: None,
        engagement: Default::default(),
        brands: Vec::new(),
        sentiment: None,
        story: None,
    }
}

/// An alert with one mention.
pub fn alert() -> Alert {
    let at = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
    Alert {
        key: "acme-crisis:acme:1".into(),
        rule: "acme-crisis".into(),
        rule_kind: "match".into(),
        brand: "acme".into(),
        brand_name: "Acme".into(),
        severity: Severity::Warning,
        created_at: at,
        summary: "new mention of Acme".into(),
        description: None,
        mentions: vec![AlertMention {
            id: "m1".into(),
            title: "Acme en panne".into(),
            url: "https://news.example.com/acme".into(),
            site: "news.example.com".into(),
            source: "news".into(),
            author: Some("Jane".into()),
            author_name: None,
            published_at: at,
            reach: Some(12_500),
            sentiment: Some(crate::mention::Sentiment {
                score: -0.8,
                label: crate::mention::Label::Negative,
                confidence: None,
            }),
            language: Some("fr".into()),
            excerpt: vec![
                Fragment {
                    text: "Le service ".into(),
                    hit: false,
                },
                Fragment {
                    text: "Acme".into(),
                    hit: true,
                },
                Fragment {
                    text: " est en panne".into(),
                    hit: false,
                },
            ],
            terms: vec!["acme".into()],
        }],
        total_mentions: 1,
        status: crate::alerts::Status::New,
        incident: 1,
        incident_key: "acme-crisis:acme::1".into(),
        group: None,
        stats: None,
    }
}
