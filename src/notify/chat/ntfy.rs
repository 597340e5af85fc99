//! ntfy (ntfy.sh or a self-hosted server): a JSON publish to a topic, so titles in any
//! language need no header encoding.
//!
//! ```toml
//! [notifier.phone]
//! kind = "ntfy"
//! url = "https://ntfy.sh"              # the server
//! topic = "acme-crisis-7f3a"           # long and unguessable on a public server
//! token_file = "/etc/veille/secrets/ntfy"   # optional access token
//! ```
//!
//! Limits (docs.ntfy.sh/publish): a message over 4,096 bytes becomes an attachment, so
//! messages are kept under it; the title is kept under 250 characters. Priority follows
//! the severity (critical 5 "urgent", warning 4, info 3).
//!
//! ntfy shows plain text (Markdown is off unless asked), so nothing needs escaping; mass
//! pings do not exist there.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::{fit, meta_line, one_line};
use crate::crawl::Http;
use crate::model::Alert;
use crate::model::Secret;
use crate::model::Severity;
use crate::model::diag::SourceFile;
use crate::model::digest::DigestData;
use crate::notify::view::{Locale, View, clip, digest};
use crate::notify::{DeliveryError, load_secret, post_json};

pub const MAX_MESSAGE_BYTES: usize = 4096;
pub const MAX_TITLE: usize = 250;
pub const MAX_MENTIONS: usize = 5;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtfyConfig {
    /// The server, e.g. "https://ntfy.sh".
    pub url: String,
    pub topic: String,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub locale: Locale,
}

pub struct Ntfy {
    url: Url,
    topic: String,
    token: Option<Secret>,
    locale: Locale,
    /// Zone of the times in messages (`[daemon] timezone`).
    pub(crate) tz: chrono_tz::Tz,
}

impl std::fmt::Debug for Ntfy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ntfy")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Ntfy {
    /// The language of its messages.
    pub fn locale(&self) -> Locale {
        self.locale
    }
}

impl NtfyConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: Range<usize>,
        base_dir: &Path,
    ) -> Option<Ntfy> {
        let token = load_secret(
            file,
            span.clone(),
            "token",
            self.token_file,
            self.token_env,
            base_dir,
        )?;
        let url = match Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                crate::model::redact::register_url(&u);
                u
            }
            _ => {
                file.error(
                    span,
                    "invalid ntfy url: expected the server, e.g. \"https://ntfy.sh\"",
                );
                return None;
            }
        };
        let topic_ok = !self.topic.is_empty()
            && self.topic.len() <= 64
            && self
                .topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !topic_ok {
            file.error(span, "invalid ntfy topic: 1 to 64 letters, digits, - or _");
            return None;
        }
        Some(Ntfy {
            url,
            topic: self.topic,
            token,
            locale: self.locale,
            tz: chrono_tz::Tz::UTC,
        })
    }
}

pub fn payload(v: &View, locale: Locale, topic: &str) -> Value {
    let build = |shown: usize| {
        let mut msg = v.why.clone();
        if !v.facts.is_empty() {
            let facts: Vec<String> = v
                .facts
                .iter()
                .map(|(k, val)| format!("{k}: {val}"))
                .collect();
            msg.push('\n');
            msg.push_str(&facts.join(" · "));
        }
        for m in v.mentions.iter().take(shown) {
            msg.push_str(&format!(
                "\n\n{}\n{}\n{}",
                one_line(&clip(&m.title, 150)),
                meta_line(m, locale, |s| s.to_string()),
                m.url
            ));
        }
        if let Some(more) = v.more_line(locale, shown) {
            msg.push_str(&format!("\n\n{more}"));
        }
        let msg: String = msg
            .chars()
            .filter(|c| !super::is_bidi_control(*c))
            .collect();
        let mut body = json!({
            "topic": topic,
            "title": clip(&super::literal(&format!("{} · [{}] {} · {}", v.status_text, v.severity_text, v.brand, v.rule)), MAX_TITLE),
            "message": msg,
            "priority": match v.severity { Severity::Critical => 5, Severity::Warning => 4, Severity::Info => 3 },
            "tags": [match v.severity {
                Severity::Critical => "rotating_light",
                Severity::Warning => "warning",
                Severity::Info => "information_source",
            }],
        });
        if let Some(first) = v.mentions.first() {
            body["click"] = json!(first.url);
            body["actions"] =
                json!([{"action": "view", "label": locale.texts().open, "url": first.url}]);
        }
        body
    };
    let p = fit(v.mentions.len().min(MAX_MENTIONS), build, check);
    if check(&p).is_ok() {
        return p;
    }
    let mut p = build(0);
    let mut m = p["message"].as_str().unwrap_or_default().to_string();
    while m.len() > MAX_MESSAGE_BYTES - 3 {
        m.pop();
    }
    m.push('…');
    p["message"] = json!(m);
    p
}

pub fn check(p: &Value) -> Result<(), String> {
    let n = p["message"].as_str().map_or(0, str::len);
    if n > MAX_MESSAGE_BYTES {
        return Err(format!(
            "message of {n} bytes, the limit is {MAX_MESSAGE_BYTES}"
        ));
    }
    super::at_most("title", &p["title"], MAX_TITLE)
}

impl Ntfy {
    pub fn min_interval(&self) -> StdDuration {
        StdDuration::from_millis(200)
    }

    pub async fn send(
        &self,
        alert: &Alert,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let view = View::new_in(alert, self.locale, &self.tz);
        let body = payload(&view, self.locale, &self.topic);
        self.post(body, http, allow_private).await
    }

    pub async fn send_digest(
        &self,
        d: &DigestData,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let body = digest_payload(d, self.locale, &self.topic);
        self.post(body, http, allow_private).await
    }

    async fn post(
        &self,
        body: Value,
        http: &Http,
        allow_private: crate::crawl::AllowPrivate,
    ) -> Result<(), DeliveryError> {
        let mut headers = Vec::new();
        if let Some(t) = &self.token {
            headers.push(("Authorization", format!("Bearer {}", t.expose())));
        }
        post_json(http, allow_private, &self.url, &body, &headers).await
    }
}

/// A digest for ntfy (plain text).
pub fn digest_payload(d: &DigestData, l: Locale, topic: &str) -> Value {
    // Plain text there (no markup, no mass pings): only the bidi controls go.
    let mut message: String = digest::text(d, l)
        .chars()
        .filter(|c| !super::is_bidi_control(*c))
        .collect();
    while message.len() > MAX_MESSAGE_BYTES - 3 {
        message.pop();
    }
    json!({"topic": topic, "title": clip(&super::literal(&digest::title(d, l)), MAX_TITLE),
        "message": message, "priority": 3, "tags": ["bar_chart"]})
}
