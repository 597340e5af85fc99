//! Slack, in Block Kit through an incoming webhook.
//!
//! Limits (api.slack.com/reference/block-kit): 50 blocks per message; a header's
//! plain_text 150 characters; a section's text 3,000 and at most 10 fields of 2,000; a
//! context at most 10 elements; the top-level `text` (notification fallback) is kept
//! under 3,000 here. Slack accepts about one message per second per webhook.
//!
//! Escaping: mrkdwn knows only the `&`, `<`, `>` entities and has no escape for `*`,
//! `_`, `~`, `` ` ``, so those become look-alike characters; `<!channel>`-style pings
//! cannot form once `<` is escaped, and `@channel` words are defused.

use serde_json::{Value, json};

use super::{at_most, defuse_mentions, fit, literal, meta_line, one_line, severity_emoji};
use crate::model::digest::DigestData;
use crate::notify::view::{Locale, View, clip, digest};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_HEADER: usize = 150;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_TEXT: usize = 2000;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_FALLBACK: usize = 3000;
/// Mentions shown at most (each takes two blocks).
pub const MAX_MENTIONS: usize = 10;

/// Escapes hostile text for mrkdwn.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' => out.push('∗'),
            '_' => out.push('ˍ'),
            '~' => out.push('∼'),
            '`' => out.push('ˋ'),
            c if super::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    defuse_mentions(&out)
}

pub fn payload(v: &View, locale: Locale, username: Option<&str>, channel: Option<&str>) -> Value {
    let build = |shown: usize| {
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text", "emoji": true, "text": clip(
                &literal(&format!(
                    "{} {} · [{}] {} · {}",
                    severity_emoji(v.severity), v.status_text, v.severity_text, v.brand, v.rule
                )),
                MAX_HEADER,
            )}}),
        ];
        let mut section = json!({"type": "section", "text": {"type": "mrkdwn",
            "text": clip(&escape(&v.why), MAX_SECTION_TEXT)}});
        if !v.facts.is_empty() {
            section["fields"] = Value::Array(
                v.facts
                    .iter()
                    .take(MAX_FIELDS)
                    .map(|(k, val)| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", escape(k), escape(val))}))
                    .collect(),
            );
        }
        blocks.push(section);
        if let Some(d) = &v.description {
            blocks.push(json!({"type": "context", "elements": [
                {"type": "mrkdwn", "text": clip(&escape(d), MAX_SECTION_TEXT)}
            ]}));
        }
        if shown > 0 {
            blocks.push(json!({"type": "divider"}));
        }
        for m in v.mentions.iter().take(shown) {
            let excerpt: String = m
                .excerpt
                .iter()
                .map(|f| {
                    let t = escape(&one_line(&f.text));
                    if f.hit { format!("*{t}*") } else { t }
                })
                .collect();
            let text = format!(
                "*<{}|{}>*\n{}",
                super::link_url(&m.url),
                escape(&one_line(&clip(&m.title, 200))),
                excerpt
            );
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, MAX_SECTION_TEXT)}}));
            blocks.push(json!({"type": "context", "elements": [
                {"type": "mrkdwn", "text": meta_line(m, locale, escape)}
            ]}));
        }
        if let Some(more) = v.more_line(locale, shown) {
            blocks.push(
                json!({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(&more)}]}),
            );
        }
        let mut body = json!({
            "text": clip(&escape(&one_line(&v.headline)), MAX_FALLBACK),
            "blocks": blocks,
        });
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

/// Checks Block Kit's limits.
pub fn check(p: &Value) -> Result<(), String> {
    at_most("text", &p["text"], MAX_FALLBACK)?;
    let blocks = p["blocks"].as_array().ok_or("no blocks")?;
    if blocks.len() > MAX_BLOCKS {
        return Err(format!(
            "{} blocks, the limit is {MAX_BLOCKS}",
            blocks.len()
        ));
    }
    for b in blocks {
        match b["type"].as_str() {
            Some("header") => at_most("header", &b["text"]["text"], MAX_HEADER)?,
            Some("section") => {
                at_most("section text", &b["text"]["text"], MAX_SECTION_TEXT)?;
                if let Some(f) = b["fields"].as_array() {
                    if f.len() > MAX_FIELDS {
                        return Err(format!("{} fields, the limit is {MAX_FIELDS}", f.len()));
                    }
                    for x in f {
                        at_most("field", &x["text"], MAX_FIELD_TEXT)?;
                    }
                }
            }
            Some("context") => {
                let e = b["elements"].as_array().ok_or("context without elements")?;
                if e.len() > MAX_CONTEXT_ELEMENTS {
                    return Err("too many context elements".into());
                }
                for x in e {
                    at_most("context element", &x["text"], MAX_SECTION_TEXT)?;
                }
            }
            Some("divider") => {}
            other => return Err(format!("unexpected block {other:?}")),
        }
    }
    Ok(())
}

/// A digest for Slack (Block Kit sections, one per brand).
pub fn digest_payload(d: &DigestData, l: Locale) -> Value {
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text",
        "text": clip(&super::literal(&digest::title(d, l)), MAX_HEADER)}})];
    for text in digest::formatted(d, l, |line| match line {
        digest::Line::Heading(h) => format!("*{}*", escape(h)),
        digest::Line::Text(t) => escape(t),
        digest::Line::Key(t) => format!("*{}*", escape(t)),
        digest::Line::Link(t, u, m) => format!(
            "• <{}|{}> — {}",
            super::link_url(u),
            escape(&clip(t, 150)),
            escape(m)
        ),
    }) {
        blocks.push(json!({"type": "divider"}));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, MAX_SECTION_TEXT)}}));
    }
    if blocks.len() > MAX_BLOCKS {
        // Too many brands for one message: say so, with where to see them all.
        let left = (blocks.len() - (MAX_BLOCKS - 1)).div_ceil(2);
        blocks.truncate(MAX_BLOCKS - 1);
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
            "text": escape(&digest::more_brands(left, &d.name, l))}]}));
    }
    json!({"text": clip(&escape(&digest::title(d, l)), MAX_FALLBACK), "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<!channel> *gras* & @channel"),
            "&lt;!channel&gt; ∗gras∗ &amp; @\u{200B}channel"
        );
    }
}
