//! Entry points of the fuzz targets (`fuzz/fuzz_targets/*.rs`) and of
//! `tests/fuzz_regressions.rs`. Each takes bytes an attacker controls and runs them
//! through the code the daemon runs on them; a panic, a stack overflow or a hang in one of
//! them is a bug. The targets live here, in the library, so that the regular test suite
//! builds and runs them too (the `fuzz/` crate is not part of the main build).
//!
//! Not an API: hidden from the docs, free to change with the fuzz targets.

use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use toml::de::{DeTable, DeValue};
use url::Url;

use crate::config::{Config, SourceFile};
use crate::matching::naive::NaiveDoc;
use crate::matching::{Document, Percolator, Query};
use crate::sources::{Source, SourceKind};

/// Every target: its name (the file in `fuzz/fuzz_targets/`, the folder of its corpus and
/// regressions) and its entry point.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("html_to_text", html_to_text),
    ("feed", feed),
    ("forum", forum),
    ("query", query),
    ("config", config),
    ("api_json", api_json),
];

/// The entry point of the target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// A fixed fetch time: runs are reproducible.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
}

/// HTML → text, as feed items, API bodies and forum posts are read: whole, and leaving out
/// quotes and Mastodon's invisible link parts.
pub fn html_to_text(data: &[u8]) {
    static EXCLUDE: LazyLock<Vec<scraper::Selector>> = LazyLock::new(|| {
        ["blockquote", "aside.quote", "span.invisible"]
            .iter()
            .map(|s| scraper::Selector::parse(s).expect("valid selector"))
            .collect()
    });
    let html = String::from_utf8_lossy(data);
    crate::text::html_to_text(&html);
    crate::text::html_to_text_without(&html, &EXCLUDE);
}

/// A feed body, as `kind = "rss"` parses it with no charset, a UTF-8 one and a
/// windows-1252 one in the Content-Type, with the default `max_text` and with a tiny one
/// (every field is then cut, which exercises the cutting of the document before feed-rs
/// reads it); then as `kind = "googlenews"` reads it.
pub fn feed(data: &[u8]) {
    let url = Url::parse("https://news.example.org/feed.xml").expect("valid URL");
    for content_type in [
        None,
        Some("application/rss+xml; charset=UTF-8"),
        Some("text/xml; charset=windows-1252"),
    ] {
        let _ = crate::sources::rss::parse_feed(data, content_type, &url, "fuzz", &[], now());
    }
    let _ = crate::sources::rss::parse_feed_limited(data, None, &url, "fuzz", &[], now(), 7);
    for s in sources() {
        if let SourceKind::GoogleNews(g) = &s.kind {
            let _ = g.mentions_of(&s.id, data, None, &url, now(), 64);
        }
    }
}

/// A forum page, read by each preset (every engine `engine = "..."` accepts, and a
/// custom one) as a topic list, as a topic and for its neighbour pages.
pub fn forum(data: &[u8]) {
    let page = Url::parse("https://forum.example.org/viewtopic.php?t=1&sid=abc").unwrap();
    for s in sources() {
        if let SourceKind::Forum(f) = &s.kind {
            f.read_page(s, data, Some("text/html"), &page, now());
        }
    }
}

/// A brand or search query: the first line is the query, the next lines a mention's
/// title and text. The query must print back to itself, and the live evaluator, the
/// percolator and the naive evaluator must agree on the mention.
pub fn query(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    let mut lines = input.splitn(3, '\n');
    let q = lines.next().unwrap_or_default();
    let title = lines.next().unwrap_or_default();
    let text = lines.next().unwrap_or_default();
    let _ = Query::parse_raw(q);
    let Ok(parsed) = Query::parse(q) else { return };
    let printed = parsed.to_string();
    assert_eq!(
        Query::parse(&printed).as_ref(),
        Ok(&parsed),
        "`{q}` prints as `{printed}`, which parses to something else"
    );
    parsed.anchors();
    parsed.positive_words(&mut Vec::new());
    parsed.is_exact_in_index();
    let m = crate::testutil::mention(title, text);
    let live = Document::of_mention(&m).is_match(&parsed);
    let naive = NaiveDoc::of_mention(&m).eval(&parsed);
    let percolated = !Percolator::new(vec![parsed.clone()])
        .matching_ids(&Document::of_mention(&m), &mut Vec::new())
        .is_empty();
    assert_eq!(
        live, naive,
        "evaluator vs naive for `{parsed}` on {title:?} / {text:?}"
    );
    assert_eq!(
        percolated, naive,
        "percolator vs naive for `{parsed}` on {title:?} / {text:?}"
    );
}

/// A config file, as `veille check` reads it, and the same text as a rule file. Problems
/// are rendered as `veille check` prints them.
pub fn config(data: &[u8]) {
    // `veille check` reads the file as UTF-8 and reports it when it is not.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/nonexistent/veille-fuzz/veille.toml");
    if let Err(e) = Config::from_str(path, text) {
        let _ = e.to_string();
    }
    let mut file = SourceFile::new(path, text);
    crate::rules::parse_file(&mut file);
    let _ = crate::config::Diagnostics(file.diags).to_string();
}

/// An API answer body, mapped by every JSON source kind (each reads the fields it knows);
/// each mention's reach is then estimated from the counts the answer gave.
pub fn api_json(data: &[u8]) {
    static ENRICHER: LazyLock<crate::enrich::Enricher> =
        LazyLock::new(|| crate::enrich::Enricher::new(&Default::default()));
    for s in sources() {
        let mapped = match &s.kind {
            SourceKind::HackerNews(k) => k.page_mentions(s, data, now()),
            SourceKind::Reddit(k) => k.page_mentions(s, data, now()),
            SourceKind::Mastodon(k) => k.page_mentions(s, data, now()),
            SourceKind::Bluesky(k) => k.page_mentions(s, data, now()),
            SourceKind::Lemmy(k) => k.page_mentions(s, data, now()),
            SourceKind::Discourse(k) => k.page_mentions(s, data, now()),
            SourceKind::Flarum(k) => k.page_mentions(s, data, now()),
            SourceKind::StackExchange(k) => k.page_mentions(s, data, now()),
            SourceKind::YouTube(k) => k.page_mentions(s, data, now()),
            SourceKind::Rss(_) | SourceKind::GoogleNews(_) | SourceKind::Forum(_) => continue,
        };
        for m in mapped.iter().flatten() {
            ENRICHER.reach(m);
        }
    }
}

/// One source of each kind the targets need, built from config text like any other.
/// Credentials are read from /dev/null: they are never used, nothing is fetched.
const SOURCES: &str = r#"
[[source]]
id = "googlenews"
kind = "googlenews"
query = "acme"

[[source]]
id = "hackernews"
kind = "hackernews"
query = "acme"

[[source]]
id = "reddit"
kind = "reddit"
username = "veille-fuzz"
query = "acme"

[[source]]
id = "mastodon"
kind = "mastodon"
instances = ["https://mastodon.example.org"]
hashtags = ["acme"]

[[source]]
id = "bluesky"
kind = "bluesky"
identifier = "veille.example.org"
app_password_file = "/dev/null"
query = "acme"

[[source]]
id = "lemmy"
kind = "lemmy"
base_url = "https://lemmy.example.org"
query = "acme"

[[source]]
id = "discourse"
kind = "discourse"
base_url = "https://discourse.example.org"

[[source]]
id = "flarum"
kind = "flarum"
base_url = "https://flarum.example.org"

[[source]]
id = "stackexchange"
kind = "stackexchange"
site = "stackoverflow"
query = "acme"

[[source]]
id = "youtube"
kind = "youtube"
key_file = "/dev/null"
query = "acme"
"#;

/// One forum source per preset, every other one reading dates in English in a time zone
/// (the others French, in UTC), and a custom one whose fields are found before the post.
fn forum_sources() -> String {
    let mut out = String::new();
    let engines = crate::sources::forum::engine_names();
    for (i, engine) in engines.split(", ").filter(|e| *e != "custom").enumerate() {
        out.push_str(&format!(
            "[[source]]\nid = \"forum-{engine}\"\nkind = \"forum\"\nengine = \"{engine}\"\n\
             base_url = \"https://forum.example.org/\"\nforums = [\"index.php\"]\n"
        ));
        if i % 2 == 1 {
            out.push_str("timezone = \"America/New_York\"\nlocale = \"en\"\n");
        }
        out.push('\n');
    }
    out.push_str(CUSTOM_FORUM);
    out
}

const CUSTOM_FORUM: &str = r#"
[[source]]
id = "forum-custom"
kind = "forum"
engine = "custom"
base_url = "https://forum.example.org/"
forums = ["index.php"]
[source.selectors]
topic_row = "li.topic"
topic_link = "a.title"
topic_last_time = "time"
topic_last_time_attr = "datetime"
topic_last_page = "a.last"
post = "div.msg"
post_id = "a[name]"
post_id_attr = "name"
post_id_where = "before"
post_id_prefix = "p"
post_author = ".qui"
post_date = ".entete"
post_date_pattern = '(?:le )?(?P<date>\d{2}/\d{2}/\d{4} à \d{2}h\d{2}|il y a .+)$'
post_date_format = "localized"
post_body = ".texte"
post_exclude = ["blockquote", ".signature"]
"#;

fn sources() -> &'static [Source] {
    static BUILT: LazyLock<Vec<Source>> = LazyLock::new(|| {
        let text = format!("{SOURCES}{}", forum_sources());
        let path = Path::new("fuzz-sources.toml");
        let mut file = SourceFile::new(path, &text);
        let root = DeTable::parse(&text).expect("valid TOML");
        let mut out = Vec::new();
        for (key, value) in root.into_inner() {
            let (true, DeValue::Array(tables)) = (key.get_ref() == "source", value.into_inner())
            else {
                continue;
            };
            for t in tables {
                out.extend(Source::from_toml(&mut file, t, Path::new("/")));
            }
        }
        assert!(file.diags.is_empty(), "fuzz sources: {:?}", file.diags);
        out
    });
    &BUILT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_a_target_reads_is_built() {
        let kinds: Vec<&str> = sources().iter().map(Source::kind_name).collect();
        for k in [
            "googlenews",
            "forum",
            "hackernews",
            "reddit",
            "mastodon",
            "bluesky",
            "lemmy",
            "discourse",
            "flarum",
            "stackexchange",
            "youtube",
        ] {
            assert!(kinds.contains(&k), "no {k} source in fuzzing::SOURCES");
        }
        let forums: Vec<&str> = sources()
            .iter()
            .filter(|s| matches!(s.kind, SourceKind::Forum(_)))
            .map(|s| s.id.as_str())
            .collect();
        for engine in crate::sources::forum::engine_names().split(", ") {
            assert!(
                forums.contains(&format!("forum-{engine}").as_str()),
                "no forum source with engine = {engine:?} in fuzzing::forum_sources"
            );
        }
    }

    /// The forum target reaches each preset's extraction, not only its parse: each
    /// source reads posts from a seed page of its engine (the suite's fixture pages).
    #[test]
    fn every_forum_preset_reads_posts_from_a_seed_of_its_engine() {
        // The forum target's seeds are the forum test pages themselves.
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/forums");
        let page = Url::parse("https://forum.example.org/t/1").unwrap();
        let seeded = [
            ("phpbb2", "phpbb2/topic.html"),
            ("phpbb30", "phpbb30/topic.html"),
            ("phpbb3", "phpbb_topic_10.html"),
            ("xenforo1", "xenforo1/topic.html"),
            ("xenforo2", "xenforo_thread.html"),
            ("vbulletin3", "vbulletin3/topic.html"),
            ("vbulletin4", "vb4_thread.html"),
            ("vbulletin5", "vb5_thread.html"),
            ("smf2", "smf2/topic.html"),
            ("mybb", "mybb/topic.html"),
            ("invision", "invision/topic.html"),
            ("nodebb", "nodebb/topic.html"),
            ("discourse", "discourse/topic.html"),
            ("custom", "custom/thread.html"),
        ];
        for engine in crate::sources::forum::engine_names().split(", ") {
            assert!(
                seeded.iter().any(|(e, _)| *e == engine),
                "no seed page for {engine}"
            );
        }
        for (engine, seed) in seeded {
            let s = sources()
                .iter()
                .find(|s| s.id == format!("forum-{engine}"))
                .unwrap_or_else(|| panic!("no forum-{engine} source"));
            let SourceKind::Forum(f) = &s.kind else {
                panic!("forum-{engine} is not a forum")
            };
            let bytes = std::fs::read(seeds.join(seed)).unwrap();
            let poll = f.read_page(s, &bytes, Some("text/html"), &page, now());
            assert!(
                poll.mentions.iter().any(|m| !m.text.is_empty()),
                "{engine}: no post read from {seed}: {:?}",
                poll.warnings
            );
        }
    }
}
