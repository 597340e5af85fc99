//! Sources: where mentions come from. One file per `kind = "..."`.
//!
//! A source is polled by the scheduler with its last saved [`SourceState`] and returns a
//! [`Poll`]: the mentions it found and the state to save once they are committed.

pub mod api;
pub mod bluesky;
pub mod discourse;
pub mod feedcut;
pub mod feedrepair;
pub mod feedshape;
pub mod flarum;
pub mod forum;
pub mod googlenews;
pub mod hackernews;
pub mod lemmy;
pub mod mastodon;
pub mod paging;
pub mod quota;
pub mod reddit;
pub mod rss;
pub mod stackexchange;
pub mod youtube;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::crawl::{AllowPrivate, FetchError, Http};
use crate::model::Duration;
use crate::model::diag::SourceFile;
// What a poll produces is plain data of the model; named here too, where sources make it.
pub use crate::model::{ItemFailure, Poll, SourceState, panic_message};

/// Keys every `[[source]]` takes, whatever its kind.
pub const COMMON_KEYS: &[&str] = &[
    "id",
    "kind",
    "every",
    "allow_private",
    "enabled",
    "backfill",
    "backfill_alerts",
];

/// How far back the first poll of a source looks, every kind alike (`backfill`): API
/// sources ask for no older items, feeds and pages have older ones skipped.
pub const DEFAULT_BACKFILL: Duration = Duration::from_secs(7 * 24 * 3600);

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
    /// How far back the first poll looks (default 7d); older items are skipped.
    #[serde(default)]
    pub backfill: Option<Duration>,
    /// Alert on the first poll's items too (default false: a first poll is indexed
    /// and searchable, but old news raises no alert).
    #[serde(default)]
    pub backfill_alerts: bool,
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
    /// First-poll look-back ([`DEFAULT_BACKFILL`]).
    pub backfill: Duration,
    /// Alert on the first poll's items.
    pub backfill_alerts: bool,
    pub kind: SourceKind,
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
                // What a metered API's calls cost is kept in the state it saves, by the
                // API's own day, so the budget survives restarts.
                if let Some(m) = quota::Metered::of(self) {
                    poll.state.quota = Some(quota::Spend::add(
                        state.quota,
                        m.day(now),
                        poll.quota_units,
                    ));
                }
                // Normalization: no stage after this sees more than `[crawl] max_text`.
                let max_text = http.limits.max_text();
                for m in &mut poll.mentions {
                    m.cap(max_text);
                }
                poll.look_back = Some(self.backfill.chrono());
                poll.backfill_alerts = self.backfill_alerts;
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
            backfill: common.backfill.unwrap_or(DEFAULT_BACKFILL),
            backfill_alerts: common.backfill_alerts,
            kind,
        })
    }
}
