//! `kind = "slack"` and `kind = "mattermost"`: a Slack-compatible incoming-webhook payload
//! (`text` + `attachments`), which both accept. They differ in how text is escaped:
//! Slack's mrkdwn only knows `&`, `<`, `>` entities and has no escape for `*_~`, so those
//! are replaced by look-alikes; Mattermost renders Markdown, so they are backslash-escaped.
//! In both, `@channel`, `@here`, `@all` and `@everyone` are defused.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{DeliveryError, load_secret, post_json};
use crate::alerts::Alert;
use crate::config::Secret;
use crate::config::diag::SourceFile;
use crate::crawl::Http;

/// Settings of a `kind = "slack"` / `"mattermost"` notifier. The webhook URL is a secret:
/// it comes from `url_file` or `url_env`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    #[serde(default)]
    pub url_env: Option<String>,
    /// Name shown as the sender (where the webhook allows overriding it).
    #[serde(default)]
    pub username: Option<String>,
    /// Channel override (where the webhook allows it), e.g. "#e-reputation".
    #[serde(default)]
    pub channel: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Slack,
    Mattermost,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Slack => "slack",
            Flavor::Mattermost => "mattermost",
        }
    }
}

pub struct Chat {
    pub flavor: Flavor,
    url: Secret,
    username: Option<String>,
    channel: Option<String>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("flavor", &self.flavor)
            .finish()
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
        if Url::parse(url.expose()).is_err() {
            file.error(
                span,
                "the webhook URL read from url_file/url_env is not a valid URL",
            );
            return None;
        }
        Some(Chat {
            flavor,
            url,
            username: self.username,
            channel: self.channel,
        })
    }
}

/// Escapes hostile text for a chat message body.
pub fn escape(flavor: Flavor, s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match (flavor, c) {
            (_, '&') => out.push_str("&amp;"),
            (_, '<') => out.push_str("&lt;"),
            (_, '>') => out.push_str("&gt;"),
            (Flavor::Slack, '*') => out.push('∗'),
            (Flavor::Slack, '_') => out.push('ˍ'),
            (Flavor::Slack, '~') => out.push('∼'),
            (Flavor::Slack, '`') => out.push('ˋ'),
            (
                Flavor::Mattermost,
                '\\' | '*' | '_' | '~' | '`' | '[' | ']' | '(' | ')' | '#' | '|' | '!',
            ) => {
                out.push('\\');
                out.push(c);
            }
            (_, '\n' | '\r') => out.push(' '),
            _ => out.push(c),
        }
    }
    defuse_mentions(&out)
}

/// `@channel` → `@\u{200B}channel`: still readable, no longer a mass ping.
fn defuse_mentions(s: &str) -> String {
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

fn bold(flavor: Flavor, s: &str) -> String {
    match flavor {
        Flavor::Slack => format!("*{s}*"),
        Flavor::Mattermost => format!("**{s}**"),
    }
}

/// Builds the webhook payload for one alert.
pub fn payload(
    flavor: Flavor,
    alert: &Alert,
    username: Option<&str>,
    channel: Option<&str>,
) -> serde_json::Value {
    let e = |s: &str| escape(flavor, s);
    let header = format!(
        "{}{} {} · {}: {}",
        match alert.status {
            crate::alerts::Status::New => "",
            crate::alerts::Status::Update => "Update — ",
            crate::alerts::Status::Resolved => ":white_check_mark: Resolved — ",
        },
        match alert.severity {
            crate::rules::Severity::Critical => ":rotating_light:",
            crate::rules::Severity::Warning => ":warning:",
            crate::rules::Severity::Info => ":information_source:",
        },
        bold(
            flavor,
            &format!(
                "[{}] {}",
                alert.severity.as_str().to_uppercase(),
                e(&alert.brand_name)
            )
        ),
        e(&alert.rule),
        e(&alert.summary)
    );
    let attachments: Vec<serde_json::Value> = alert
        .mentions
        .iter()
        .take(10)
        .map(|m| {
            let excerpt: String = m
                .excerpt
                .iter()
                .map(|f| {
                    if f.hit {
                        bold(flavor, &e(&f.text))
                    } else {
                        e(&f.text)
                    }
                })
                .collect();
            let mut meta = vec![e(&m.site)];
            if let Some(a) = &m.author {
                meta.push(e(a));
            }
            meta.push(m.published_at.format("%Y-%m-%d %H:%M UTC").to_string());
            json!({
                "color": crate::notify::email::severity_color(alert.severity),
                "title": e(&m.title),
                "title_link": m.url,
                "text": excerpt,
                "footer": meta.join(" · "),
                "fallback": e(&m.title),
                "mrkdwn_in": ["text"],
            })
        })
        .collect();
    let shown = attachments.len();
    let mut text = header;
    if alert.total_mentions > shown {
        text.push_str(&format!(
            "\n_{} more mention(s): `veille search --brand {}`_",
            alert.total_mentions - shown,
            e(&alert.brand)
        ));
    }
    let mut body = json!({ "text": text, "attachments": attachments });
    if let Some(u) = username {
        body["username"] = json!(u);
    }
    if let Some(c) = channel {
        body["channel"] = json!(c);
    }
    body
}

impl Chat {
    pub async fn send(
        &self,
        alert: &Alert,
        http: &Http,
        allow_private: bool,
    ) -> Result<(), DeliveryError> {
        let url = Url::parse(self.url.expose())
            .map_err(|_| DeliveryError::permanent("webhook URL is not a valid URL"))?;
        let body = payload(
            self.flavor,
            alert,
            self.username.as_deref(),
            self.channel.as_deref(),
        );
        post_json(http, allow_private, &url, &body, &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_escaping() {
        assert_eq!(
            escape(Flavor::Slack, "<!channel> *gras* & @channel"),
            "&lt;!channel&gt; ∗gras∗ &amp; @\u{200B}channel"
        );
    }

    #[test]
    fn mattermost_escaping() {
        assert_eq!(
            escape(Flavor::Mattermost, "[lien](http://x) **b** @All"),
            "\\[lien\\]\\(http://x\\) \\*\\*b\\*\\* @\u{200B}All"
        );
    }

    #[test]
    fn payload_shape() {
        let alert = crate::testutil::alert();
        let p = payload(Flavor::Slack, &alert, Some("veille"), None);
        assert!(p["text"].as_str().unwrap().contains("[WARNING]"));
        assert_eq!(p["attachments"][0]["title_link"], alert.mentions[0].url);
        assert_eq!(p["username"], "veille");
    }
}
