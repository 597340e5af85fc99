//! Mattermost, through an incoming webhook: a Markdown message with one attachment per
//! mention (Mattermost's Slack-compatible attachments).
//!
//! Limits (developers.mattermost.com): a post's message is at most 16,383 characters;
//! attachments count toward the post's size, so text and attachments are kept well
//! below it (10 attachments, 3,000 characters each).
//!
//! Escaping: Markdown control characters are backslash-escaped, `&`, `<`, `>` become
//! entities, and `@channel`, `@here`, `@all` are defused.

use serde_json::{Value, json};

use super::{at_most, defuse_mentions, fit, literal, meta_line, severity_emoji};
use crate::model::digest::DigestData;
use crate::notify::view::{Locale, View, clip, digest};

pub const MAX_MESSAGE: usize = 16_383;
pub const MAX_ATTACHMENT_TEXT: usize = 3000;
pub const MAX_MENTIONS: usize = 10;
/// Post size budget for message + attachments, in bytes of JSON.
pub const MAX_POST_BYTES: usize = 60_000;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '*' | '_' | '~' | '`' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if super::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    defuse_mentions(&out)
}

fn color(v: &View) -> &'static str {
    crate::notify::email::severity_color(v.severity)
}

pub fn payload(v: &View, locale: Locale, username: Option<&str>, channel: Option<&str>) -> Value {
    let build = |shown: usize| {
        let mut text = format!(
            "{} **{} · [{}] {}** · {}\n{}",
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
                .map(|(k, val)| format!("{}{}**{}**", escape(k), locale.colon(), escape(val)))
                .collect();
            text.push('\n');
            text.push_str(&facts.join(" · "));
        }
        if let Some(d) = &v.description {
            text.push_str(&format!("\n_{}_", escape(d)));
        }
        if let Some(more) = v.more_line(locale, shown) {
            text.push_str(&format!("\n_{}_", escape(&more)));
        }
        let attachments: Vec<Value> = v
            .mentions
            .iter()
            .take(shown)
            .map(|m| {
                let excerpt: String = m
                    .excerpt
                    .iter()
                    .map(|f| {
                        let t = escape(&f.text);
                        if f.hit { format!("**{t}**") } else { t }
                    })
                    .collect();
                json!({
                    "color": color(v),
                    "title": clip(&literal(&m.title), 200),
                    "title_link": m.url,
                    "text": clip(&excerpt, MAX_ATTACHMENT_TEXT),
                    "footer": clip(&meta_line(m, locale, literal), 300),
                    "fallback": clip(&literal(&m.title), 200),
                })
            })
            .collect();
        let mut body = json!({ "text": clip(&text, MAX_MESSAGE), "attachments": attachments });
        if let Some(u) = username {
            body["username"] = json!(u);
        }
        if let Some(c) = channel {
            body["channel"] = json!(c);
        }
        body
    };
    fit(v.mentions.len().min(MAX_MENTIONS), build, check)
}

pub fn check(p: &Value) -> Result<(), String> {
    at_most("message", &p["text"], MAX_MESSAGE)?;
    let n = serde_json::to_vec(p).map(|b| b.len()).unwrap_or(usize::MAX);
    if n > MAX_POST_BYTES {
        return Err(format!("post of {n} bytes, the budget is {MAX_POST_BYTES}"));
    }
    for a in p["attachments"].as_array().into_iter().flatten() {
        at_most("attachment text", &a["text"], MAX_ATTACHMENT_TEXT)?;
    }
    Ok(())
}

/// A digest for Mattermost (one Markdown message).
pub fn digest_payload(d: &DigestData, l: Locale) -> Value {
    let body = digest::formatted(d, l, |line| match line {
        digest::Line::Heading(h) => format!("#### {}", escape(h)),
        digest::Line::Text(t) => escape(t),
        digest::Line::Key(t) => format!("**{}**", escape(t)),
        digest::Line::Link(t, u, m) => format!(
            "- [{}]({}) — {}",
            escape(&clip(t, 150)),
            super::link_url(u),
            escape(m)
        ),
    })
    .join("\n\n");
    json!({"text": clip(&format!("**{}**\n\n{body}", escape(&digest::title(d, l))), MAX_MESSAGE)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("[lien](http://x) **b** @All"),
            "\\[lien\\]\\(http\\://x\\) \\*\\*b\\*\\* @\u{200B}All"
        );
    }
}
