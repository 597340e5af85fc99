//! Small builders shared by unit tests, integration tests and benchmarks.

use chrono::{TimeZone, Utc};

use crate::mention::{Mention, hash_id};
use crate::model::Alert;

/// A mention with the given title and text; its id derives from both.
pub fn mention(title: &str, text: &str) -> Mention {
    let at = Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap();
    let id = hash_id("test", &format!("{title}\u{0}{text}"));
    Mention {
        url: format!("https://news.example.com/{id}"),
        id,
        site: "news.example.com".into(),
        publisher: None,
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

/// An alert with one mention (see [`Alert::sample`]).
pub fn alert() -> Alert {
    Alert::sample()
}
