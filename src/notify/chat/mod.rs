//! Team chat, each platform in its native format with the same content (see
//! [`super::view`]): one file per platform, each with its escaping, its size limits and
//! a `check` that a payload respects them.
//!
//! - [`slack`]: Block Kit; [`mattermost`]: Slack-compatible attachments in Markdown;
//!   [`teams`]: an Adaptive Card (incoming webhook or Workflows URL); [`discord`]:
//!   embeds; [`googlechat`]: cards v2. All five post to a webhook URL kept as a secret.
//! - [`telegram`]: the Bot API's sendMessage; [`ntfy`]: a JSON publish.
//!
//! Mention text is hostile: each platform escapes it for its own markup, and mass pings
//! (`@channel`, `@here`, `@all`, `@everyone`) are defused everywhere.

pub mod discord;
pub mod googlechat;
pub mod mattermost;
pub mod ntfy;
pub mod slack;
pub mod teams;
pub mod telegram;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use serde::Deserialize;
use url::Url;

use super::view::{Locale, View};
use super::{DeliveryError, load_secret, post_json};
use crate::crawl::Http;
use crate::model::Alert;
use crate::model::Secret;
use crate::model::diag::SourceFile;
use crate::model::digest::DigestData;

/// Settings of the webhook-based chats (slack, mattermost, teams, discord, googlechat).
/// The webhook URL is a secret: it comes from `url_file` or `url_env`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    #[serde(default)]
    pub url_env: Option<String>,
    /// Name shown as the sender, where the platform allows it (Slack, Mattermost, Discord).
    #[serde(default)]
    pub username: Option<String>,
    /// Channel override, where the webhook allows it (Slack legacy, Mattermost).
    #[serde(default)]
    pub channel: Option<String>,
    /// Language of the messages: "en" (default) or "fr".
    #[serde(default)]
    pub locale: Locale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Slack,
    Mattermost,
    Teams,
    Discord,
    GoogleChat,
}

impl Flavor {
    pub fn from_kind(kind: &str) -> Option<Flavor> {
        Some(match kind {
            "slack" => Flavor::Slack,
            "mattermost" => Flavor::Mattermost,
            "teams" => Flavor::Teams,
            "discord" => Flavor::Discord,
            "googlechat" => Flavor::GoogleChat,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Flavor::Slack => "slack",
            Flavor::Mattermost => "mattermost",
            Flavor::Teams => "teams",
            Flavor::Discord => "discord",
            Flavor::GoogleChat => "googlechat",
        }
    }

    /// The platform's pace for one webhook: Slack allows about one message a second,
    /// Discord five every two seconds, Google Chat one write a second per space, Teams
    /// a few a second.
    pub fn min_interval(self) -> StdDuration {
        match self {
            Flavor::Slack | Flavor::GoogleChat => StdDuration::from_millis(1100),
            Flavor::Discord => StdDuration::from_millis(450),
            Flavor::Teams => StdDuration::from_millis(300),
            Flavor::Mattermost => StdDuration::ZERO,
        }
    }
}

pub struct Chat {
    pub flavor: Flavor,
    url: Secret,
    username: Option<String>,
    channel: Option<String>,
    locale: Locale,
    /// Zone of the times in messages (`[daemon] timezone`).
    pub(crate) tz: chrono_tz::Tz,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("flavor", &self.flavor)
            .finish_non_exhaustive()
    }
}

impl Chat {
    /// The language of its messages.
    pub fn locale(&self) -> Locale {
        self.locale
    }
}

impl ChatConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: Range<usize>,
        base_dir: &Path,
        flavor: Flavor,
    ) -> Option<Chat> {
        let url = load_secret(
            file,
            span.clone(),
            "url",
            self.url_file,
            self.url_env,
            base_dir,
        )?;
        let Some(url) = url else {
            file.error(
                span,
                "missing webhook URL: set url_file (a file holding the URL) or url_env",
            );
            return None;
        };
        if !Url::parse(url.expose()).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            file.error(
                span,
                "the webhook URL read from url_file/url_env is not a valid http(s) URL",
            );
            return None;
        }
        Some(Chat {
            flavor,
            url,
            username: self.username,
            channel: self.channel,
            locale: self.locale,
            tz: chrono_tz::Tz::UTC,
        })
    }
}

/// Builds the platform's payload for one alert, its times in UTC.
pub fn payload(
    flavor: Flavor,
    alert: &Alert,
    locale: Locale,
    username: Option<&str>,
    channel: Option<&str>,
) -> serde_json::Value {
    payload_in(
        flavor,
        alert,
        locale,
        &chrono_tz::Tz::UTC,
        username,
        channel,
    )
}

/// Builds the platform's payload for one alert, its times in `tz`.
pub fn payload_in(
    flavor: Flavor,
    alert: &Alert,
    locale: Locale,
    tz: &chrono_tz::Tz,
    username: Option<&str>,
    channel: Option<&str>,
) -> serde_json::Value {
    let view = View::new_in(alert, locale, tz);
    match flavor {
        Flavor::Slack => slack::payload(&view, locale, username, channel),
        Flavor::Mattermost => mattermost::payload(&view, locale, username, channel),
        Flavor::Teams => teams::payload(&view, locale),
        Flavor::Discord => discord::payload(&view, locale, username),
        Flavor::GoogleChat => googlechat::payload(&view, locale),
    }
}

/// Builds the platform's payload for one digest.
pub fn digest_payload(flavor: Flavor, d: &DigestData, locale: Locale) -> serde_json::Value {
    match flavor {
        Flavor::Slack => slack::digest_payload(d, locale),
        Flavor::Mattermost => mattermost::digest_payload(d, locale),
        Flavor::Teams => teams::digest_payload(d, locale),
        Flavor::Discord => discord::digest_payload(d, locale),
        Flavor::GoogleChat => googlechat::digest_payload(d, locale),
    }
}

/// Whether `payload` respects the platform's documented limits.
pub fn check(flavor: Flavor, payload: &serde_json::Value) -> Result<(), String> {
    match flavor {
        Flavor::Slack => slack::check(payload),
        Flavor::Mattermost => mattermost::check(payload),
        Flavor::Teams => teams::check(payload),
        Flavor::Discord => discord::check(payload),
        Flavor::GoogleChat => googlechat::check(payload),
    }
}

impl Chat {
    pub fn min_interval(&self) -> StdDuration {
        self.flavor.min_interval()
    }

    pub async fn send_digest(
        &self,
        d: &DigestData,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let url = Url::parse(self.url.expose())
            .map_err(|_| DeliveryError::permanent("webhook URL is not a valid URL"))?;
        let body = digest_payload(self.flavor, d, self.locale);
        post_json(http, allow_private, &url, &body, &[]).await
    }

    pub async fn send(
        &self,
        alert: &Alert,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let url = Url::parse(self.url.expose())
            .map_err(|_| DeliveryError::permanent("webhook URL is not a valid URL"))?;
        let body = payload_in(
            self.flavor,
            alert,
            self.locale,
            &self.tz,
            self.username.as_deref(),
            self.channel.as_deref(),
        );
        post_json(http, allow_private, &url, &body, &[]).await
    }
}

/// `@channel` → `@\u{200B}channel`: still readable, no longer a mass ping.
pub fn defuse_mentions(s: &str) -> String {
    // ASCII lower-casing keeps byte offsets identical between `s` and `lower`.
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len() + 8);
    let mut last = 0;
    for (i, c) in s.char_indices() {
        if c != '@' && c != '＠' {
            continue;
        }
        let after = i + c.len_utf8();
        let rest = &lower[after..];
        if ["channel", "here", "all", "everyone"]
            .iter()
            .any(|w| rest.starts_with(w))
        {
            out.push_str(&s[last..after]);
            out.push('\u{200B}');
            last = after;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// Line breaks and bidirectional overrides out of a one-line field: a right-to-left
/// override (U+202E) in a title must not flip the rest of the message.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c => c,
        })
        .filter(|c| !is_bidi_control(*c))
        .collect()
}

/// Text for fields a platform shows literally (titles, footers, plain text): one line,
/// no bidi controls, mass pings defused, and `<` `>` as look-alikes so no platform can
/// ever read them as markup.
pub fn literal(s: &str) -> String {
    defuse_mentions(
        &one_line(s)
            .chars()
            .filter(|c| !is_bidi_control(*c))
            .map(|c| match c {
                '<' => '‹',
                '>' => '›',
                c => c,
            })
            .collect::<String>(),
    )
}

/// A mention's URL as the target of a Markdown or mrkdwn link: the characters that
/// would end or break the link are percent-encoded (the URL means the same).
pub fn link_url(u: &str) -> String {
    let mut out = String::with_capacity(u.len());
    for c in u.chars() {
        match c {
            ' ' | '(' | ')' | '<' | '>' | '|' | '[' | ']' | '"' | '`' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Bidirectional embedding, override and isolate controls.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Builds with as many of the `n` mentions as the platform's limits allow.
pub(crate) fn fit(
    n: usize,
    build: impl Fn(usize) -> serde_json::Value,
    check: impl Fn(&serde_json::Value) -> Result<(), String>,
) -> serde_json::Value {
    let mut k = n;
    loop {
        let p = build(k);
        if k == 0 || check(&p).is_ok() {
            return p;
        }
        k -= 1;
    }
}

/// Characters of a JSON string value (0 when absent).
pub(crate) fn chars(v: &serde_json::Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// An error when `what` is longer than `max` characters.
pub(crate) fn at_most(what: &str, v: &serde_json::Value, max: usize) -> Result<(), String> {
    let n = chars(v);
    if n > max {
        Err(format!("{what}: {n} characters, the limit is {max}"))
    } else {
        Ok(())
    }
}

/// Emoji for the severity.
pub(crate) fn severity_emoji(s: crate::model::Severity) -> &'static str {
    match s {
        crate::model::Severity::Critical => "🚨",
        crate::model::Severity::Warning => "⚠️",
        crate::model::Severity::Info => "ℹ️",
    }
}

/// "site · author · date · reach 12k · negative", for one mention.
pub(crate) fn meta_line(
    m: &super::view::MentionView,
    locale: Locale,
    esc: impl Fn(&str) -> String,
) -> String {
    let t = locale.texts();
    let mut parts = vec![esc(&one_line(&m.site))];
    if let Some(a) = &m.author {
        parts.push(esc(&one_line(a)));
    }
    parts.push(m.date.clone());
    if let Some(r) = &m.reach {
        parts.push(format!("{} {r}", t.reach));
    }
    if let Some(s) = &m.sentiment_text {
        parts.push(s.clone());
    }
    parts.join(" · ")
}
