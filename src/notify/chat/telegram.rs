//! Telegram, through the Bot API: `sendMessage` to a chat, in its HTML parse mode.
//!
//! ```toml
//! [notifier.telegram]
//! kind = "telegram"
//! token_file = "/etc/veille/secrets/telegram-bot"   # the bot token (a secret: it is in the URL)
//! chat_id = "-1001234567890"                        # or "@channelname"
//! ```
//!
//! Limits (core.telegram.org/bots/api#sendmessage, /bots/faq): a message's text is at
//! most 4,096 characters; a bot sends about one message per second to a chat (20 a
//! minute in groups); a 429 answer carries `parameters.retry_after` (seconds).
//!
//! Escaping: HTML mode knows only `&lt;`, `&gt;`, `&amp;`, `&quot;`; everything from a
//! mention is escaped with them.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::{defuse_mentions, fit, meta_line, one_line, severity_emoji};
use crate::crawl::Http;
use crate::model::Alert;
use crate::model::Secret;
use crate::model::diag::SourceFile;
use crate::model::digest::DigestData;
use crate::notify::view::{Locale, View, clip, digest};
use crate::notify::{DeliveryError, load_secret, post_json};

pub const MAX_TEXT: usize = 4096;
pub const MAX_MENTIONS: usize = 10;
pub const DEFAULT_BASE: &str = "https://api.telegram.org";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub token_env: Option<String>,
    /// Numeric chat id (groups are negative) or "@channelusername".
    pub chat_id: String,
    /// Bot API server (a local Bot API server, tests).
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub locale: Locale,
}

pub struct Telegram {
    token: Secret,
    chat_id: String,
    base: Url,
    locale: Locale,
    /// Zone of the times in messages (`[daemon] timezone`).
    pub(crate) tz: chrono_tz::Tz,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("chat_id", &self.chat_id)
            .finish_non_exhaustive()
    }
}

impl Telegram {
    /// The language of its messages.
    pub fn locale(&self) -> Locale {
        self.locale
    }
}

impl TelegramConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: Range<usize>,
        base_dir: &Path,
    ) -> Option<Telegram> {
        let token = load_secret(
            file,
            span.clone(),
            "token",
            self.token_file,
            self.token_env,
            base_dir,
        )?;
        let Some(token) = token else {
            file.error(span, "missing bot token: set token_file or token_env");
            return None;
        };
        if token.expose().is_empty() || token.expose().contains(['/', '?', '#', ' ']) {
            file.error(
                span,
                "the bot token read from token_file/token_env does not look like one (123456:ABC…)",
            );
            return None;
        }
        let base = match Url::parse(self.base_url.as_deref().unwrap_or(DEFAULT_BASE)) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                file.error(span, "invalid base_url: expected an http(s) URL");
                return None;
            }
        };
        Some(Telegram {
            token,
            chat_id: self.chat_id,
            base,
            locale: self.locale,
            tz: chrono_tz::Tz::UTC,
        })
    }
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if super::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    defuse_mentions(&out)
}

/// The sendMessage body (without `chat_id` checks: that is the API's job).
pub fn payload(v: &View, locale: Locale, chat_id: &str) -> Value {
    let build = |shown: usize| {
        let mut text = format!(
            "{} <b>{} · [{}] {} · {}</b>\n{}",
            severity_emoji(v.severity),
            escape(&v.status_text),
            escape(&v.severity_text),
            escape(&v.brand),
            escape(&v.rule),
            escape(&v.why)
        );
        if !v.facts.is_empty() {
            let facts: Vec<String> = v
                .facts
                .iter()
                .map(|(k, val)| format!("{}{}<b>{}</b>", escape(k), locale.colon(), escape(val)))
                .collect();
            text.push('\n');
            text.push_str(&facts.join(" · "));
        }
        if let Some(d) = &v.description {
            text.push_str(&format!("\n<i>{}</i>", escape(d)));
        }
        for m in v.mentions.iter().take(shown) {
            let excerpt: String = m
                .excerpt
                .iter()
                .map(|f| {
                    let t = escape(&one_line(&f.text));
                    if f.hit { format!("<b>{t}</b>") } else { t }
                })
                .collect();
            text.push_str(&format!(
                "\n\n<a href=\"{}\">{}</a>\n<i>{}</i>\n{}",
                escape(&m.url),
                escape(&one_line(&clip(&m.title, 200))),
                meta_line(m, locale, escape),
                excerpt
            ));
        }
        if let Some(more) = v.more_line(locale, shown) {
            text.push_str(&format!("\n\n<i>{}</i>", escape(&more)));
        }
        json!({
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
        })
    };
    let p = fit(v.mentions.len().min(MAX_MENTIONS), build, check);
    if check(&p).is_ok() {
        return p;
    }
    // Even without mentions too long (a huge description): plain text, cut.
    let mut p = build(0);
    p["text"] = json!(clip(&escape(&v.headline), MAX_TEXT));
    p
}

pub fn check(p: &Value) -> Result<(), String> {
    super::at_most("text", &p["text"], MAX_TEXT)
}

impl Telegram {
    /// Telegram's limits: about one message a second in a private chat, 20 a minute in a
    /// group or channel (ids starting with `-`, or `@channelname`).
    pub fn min_interval(&self) -> StdDuration {
        if self.chat_id.starts_with(['-', '@']) {
            StdDuration::from_millis(3100)
        } else {
            StdDuration::from_millis(1100)
        }
    }

    pub async fn send(
        &self,
        alert: &Alert,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let view = View::new_in(alert, self.locale, &self.tz);
        let body = payload(&view, self.locale, &self.chat_id);
        self.post(body, http, allow_private).await
    }

    pub async fn send_digest(
        &self,
        d: &DigestData,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let body = digest_payload(d, self.locale, &self.chat_id);
        self.post(body, http, allow_private).await
    }

    async fn post(
        &self,
        body: Value,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| DeliveryError::permanent("invalid Telegram base_url"))?
            .pop_if_empty()
            .push(&format!("bot{}", self.token.expose()))
            .push("sendMessage");
        post_json(http, allow_private, &url, &body, &[]).await
    }
}

/// A digest for Telegram (HTML, cut at a line break when too long).
pub fn digest_payload(d: &DigestData, l: Locale, chat_id: &str) -> Value {
    let body = digest::formatted(d, l, |line| match line {
        digest::Line::Heading(h) => format!("<b>{}</b>", escape(h)),
        digest::Line::Text(t) => escape(t),
        digest::Line::Key(t) => format!("<b>{}</b>", escape(t)),
        digest::Line::Link(t, u, m) => format!(
            "• <a href=\"{}\">{}</a> — {}",
            escape(u),
            escape(&clip(t, 150)),
            escape(m)
        ),
    })
    .join("\n\n");
    let mut text = format!("<b>{}</b>\n\n{body}", escape(&digest::title(d, l)));
    if text.chars().count() > MAX_TEXT {
        // Cut at a line break, so no HTML tag is left open.
        let mut cut = String::new();
        for line in text.lines() {
            if cut.chars().count() + line.chars().count() + 2 > MAX_TEXT {
                break;
            }
            cut.push_str(line);
            cut.push('\n');
        }
        cut.push('…');
        text = cut;
    }
    json!({"chat_id": chat_id, "text": text, "parse_mode": "HTML", "link_preview_options": {"is_disabled": true}})
}
