//! Sources: where mentions come from. One file per `kind = "..."`.
//!
//! A source is polled by the scheduler with its last saved [`SourceState`] and returns a
//! [`Poll`]: the mentions it found and the state to save once they are committed.

pub mod api;
pub mod bluesky;
pub mod discourse;
pub mod feedcut;
pub mod flarum;
pub mod forum;
pub mod googlenews;
pub mod hackernews;
pub mod lemmy;
pub mod mastodon;
pub mod reddit;
pub mod rss;
pub mod stackexchange;
pub mod youtube;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::Duration;
use crate::config::diag::SourceFile;
use crate::crawl::{AllowPrivate, FetchError, Http, Validators};
use crate::mention::Mention;

/// Keys every `[[source]]` takes, whatever its kind.
pub const COMMON_KEYS: &[&str] = &["id", "kind", "every", "allow_private", "enabled"];

/// The part of `[[source]]` shared by every kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceCommon {
    /// Unique id, used in logs, state and search (`source:`).
    pub id: Spanned<String>,
    /// What the source is: "rss", …
    pub kind: Spanned<String>,
    /// Polling interval, e.g. "10m" (default 10m), or "auto": polled more often when it
    /// publishes often, less when it rarely changes, within `[crawl] auto_min`/`auto_max`.
    /// A random jitter of ±10 % is added.
    #[serde(default)]
    pub every: Option<Spanned<Every>>,
    /// Allow this source to reach private addresses: `true` for loopback and LAN;
    /// link-local and cloud-metadata addresses only when named,
    /// `["loopback", "lan", "link_local"]`. Off by default.
    #[serde(default)]
    pub allow_private: AllowPrivate,
    /// Set to false to keep a source configured but not polled.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// `every = "10m"` or `every = "auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Fixed(Duration),
    Auto,
}

impl<'de> Deserialize<'de> for Every {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "auto" {
            return Ok(Every::Auto);
        }
        s.parse()
            .map(Every::Fixed)
            .map_err(|e| serde::de::Error::custom(format!("{e}, or \"auto\"")))
    }
}

/// A source ready to poll.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    /// Where `id` is written in the config file (for duplicate-id errors).
    pub id_span: std::ops::Range<usize>,
    /// Polling interval (for `every = "auto"`, the starting point).
    pub every: Duration,
    /// Adapt the interval to how often the source publishes.
    pub auto: bool,
    pub allow_private: AllowPrivate,
    pub enabled: bool,
    pub kind: SourceKind,
}

/// What is saved between polls: HTTP validators and a kind-specific cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    #[serde(default)]
    pub validators: Validators,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<serde_json::Value>,
}

/// The result of one poll.
#[derive(Debug, Default)]
pub struct Poll {
    pub mentions: Vec<Mention>,
    /// State to save once `mentions` are committed.
    pub state: SourceState,
    pub not_modified: bool,
    pub bytes: usize,
    /// Wait at least this long before the next poll (an API said its quota is spent).
    pub retry_after: Option<std::time::Duration>,
    /// WebSub hub advertised by the feed: (hub URL, topic = the feed's self URL).
    pub hub: Option<(url::Url, url::Url)>,
    /// Things a person setting the source up should know (a selector that matched
    /// nothing, for instance); shown by `veille sources test`.
    pub warnings: Vec<String>,
    /// Pages of a multi-page source that failed and were skipped (each logged with its
    /// URL); the poll went on without them.
    pub failed_pages: usize,
    /// Items the source could not map (a bug met on them); the others are in `mentions`.
    pub failed: Vec<ItemFailure>,
}

/// An item that could not be processed: it alone is dropped (and counted, logged and
/// shown by `veille sources`), never its source or its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    /// Its URL (or, without one, its guid) as far as it is known.
    pub url: String,
    /// Where it failed: "parse" (the source's mapping); "match", "enrich", "index" or
    /// "rules" in the ingest stage.
    pub stage: &'static str,
    pub error: String,
}

/// The message of a caught panic (`panic!("…")` carries a `&str` or a `String`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Minimum polling interval: below it a source is hammered.
const MIN_EVERY: Duration = Duration::from_secs(10);
const DEFAULT_EVERY: Duration = Duration::from_secs(600);
const YOUTUBE_EVERY: Duration = Duration::from_secs(3600);

/// Declares the source kinds: each `kind = "name"` maps to a module with a `XConfig`
/// (serde, `build()`) and a runtime type with `host()`, `poll()` and `search_mut()`.
macro_rules! source_kinds {
    ($($name:literal => $variant:ident($module:ident :: $config:ident, $ty:ident)),* $(,)?) => {
        /// Source kinds this build knows.
        pub const KINDS: &[&str] = &[$($name),*];

        #[derive(Debug, Clone)]
        pub enum SourceKind {
            $($variant($module::$ty)),*
        }

        fn build_kind(
            kind: &str,
            file: &mut SourceFile<'_>,
            t: Spanned<DeTable<'_>>,
            base_dir: &Path,
        ) -> Option<(SourceCommon, SourceKind)> {
            let span = t.span();
            match kind {
                $($name => {
                    let (c, k) = file.de_split::<SourceCommon, $module::$config>(t, COMMON_KEYS, "source")?;
                    Some((c, SourceKind::$variant(k.build(file, span, base_dir)?)))
                })*
                _ => None,
            }
        }

        impl Source {
            pub fn kind_name(&self) -> &'static str {
                match &self.kind {
                    $(SourceKind::$variant(_) => $name),*
                }
            }

            /// Host polled, for per-host politeness and logs.
            pub fn host(&self) -> String {
                match &self.kind {
                    $(SourceKind::$variant(k) => k.host()),*
                }
            }

            /// Fetches what is new since `state`.
            pub async fn poll(
                &self,
                http: &Http,
                state: &SourceState,
                now: DateTime<Utc>,
            ) -> Result<Poll, FetchError> {
                let mut poll = match &self.kind {
                    $(SourceKind::$variant(k) => k.poll(self, http, state, now).await),*
                }?;
                // Normalization: no stage after this sees more than `[crawl] max_text`.
                let max_text = http.limits.max_text();
                for m in &mut poll.mentions {
                    m.cap(max_text);
                }
                Ok(poll)
            }

            /// Search terms of API sources, to derive from the brands once they are known.
            pub fn search_mut(&mut self) -> Option<&mut api::SearchTerms> {
                match &mut self.kind {
                    $(SourceKind::$variant(k) => k.search_mut()),*
                }
            }
        }
    };
}

source_kinds! {
    "rss" => Rss(rss::RssConfig, Rss),
    "mastodon" => Mastodon(mastodon::MastodonConfig, Mastodon),
    "reddit" => Reddit(reddit::RedditConfig, Reddit),
    "hackernews" => HackerNews(hackernews::HackerNewsConfig, HackerNews),
    "bluesky" => Bluesky(bluesky::BlueskyConfig, Bluesky),
    "lemmy" => Lemmy(lemmy::LemmyConfig, Lemmy),
    "stackexchange" => StackExchange(stackexchange::StackExchangeConfig, StackExchange),
    "youtube" => YouTube(youtube::YouTubeConfig, YouTube),
    "googlenews" => GoogleNews(googlenews::GoogleNewsConfig, GoogleNews),
    "discourse" => Discourse(discourse::DiscourseConfig, Discourse),
    "flarum" => Flarum(flarum::FlarumConfig, Flarum),
    "forum" => Forum(forum::ForumConfig, Forum),
}

impl Source {
    /// Reads one `[[source]]` table, reporting problems at their position in `file`.
    pub fn from_toml(
        file: &mut SourceFile<'_>,
        table: Spanned<DeValue<'_>>,
        base_dir: &Path,
    ) -> Option<Source> {
        let span = table.span();
        let DeValue::Table(t) = table.into_inner() else {
            file.error(span, "expected a table `[[source]]`");
            return None;
        };
        let kind = t
            .get("kind")
            .and_then(|k| k.get_ref().as_str().map(|s| (s.to_string(), k.span())));
        let Some((kind, kind_span)) = kind else {
            file.error(
                span,
                format!(
                    "missing `kind` in [[source]]: expected one of {}",
                    KINDS.join(", ")
                ),
            );
            return None;
        };
        if !KINDS.contains(&kind.as_str()) {
            file.error(
                kind_span,
                format!(
                    "unknown source kind `{kind}`: expected one of {}",
                    KINDS.join(", ")
                ),
            );
            return None;
        }
        let t = Spanned::new(span.clone(), t);
        let (common, kind) = build_kind(&kind, file, t, base_dir)?;
        let (every, auto) = match common.every.as_ref().map(|e| (e.span(), *e.get_ref())) {
            Some((span, Every::Fixed(d))) if d < MIN_EVERY => {
                file.error(
                    span,
                    format!("`every` is too short: expected at least {MIN_EVERY}"),
                );
                return None;
            }
            Some((_, Every::Fixed(d))) => (d, false),
            Some((_, Every::Auto)) => (DEFAULT_EVERY, true),
            // One YouTube search costs 100 of the 10,000 daily quota units: every 10
            // minutes would spend it by mid-afternoon.
            None if matches!(kind, SourceKind::YouTube(_)) => (YOUTUBE_EVERY, false),
            None => (DEFAULT_EVERY, false),
        };
        Some(Source {
            id: common.id.get_ref().clone(),
            id_span: common.id.span(),
            every,
            auto,
            allow_private: common.allow_private,
            enabled: common.enabled,
            kind,
        })
    }
}
