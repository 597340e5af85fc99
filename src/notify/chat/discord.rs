//! Discord, through a channel webhook: a short `content` line and embeds (one for the
//! alert, one per mention).
//!
//! Limits (discord.com/developers/docs/resources/message#embed-object-embed-limits):
//! `content` 2,000 characters; 10 embeds; an embed's title 256, description 4,096,
//! footer 2,048, 25 fields of 256/1,024; the embeds' text 6,000 characters in total.
//! Webhooks take 5 requests every 2 seconds; a 429 carries `retry_after` (seconds) in
//! its JSON body as well as Retry-After.
//!
//! Escaping: Markdown control characters are backslash-escaped in descriptions (titles
//! and footers are shown literally), and `allowed_mentions: {"parse": []}` makes Discord
//! ping nobody whatever the text says; `@everyone` is also defused for the eye.

use serde_json::{Value, json};

use super::{defuse_mentions, fit, meta_line, one_line, severity_emoji};
use crate::model::digest::DigestData;
use crate::notify::view::{Locale, View, clip, digest};

pub const MAX_CONTENT: usize = 2000;
pub const MAX_EMBEDS: usize = 10;
pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_FOOTER: usize = 2048;
pub const MAX_FIELDS: usize = 25;
pub const MAX_FIELD_NAME: usize = 256;
pub const MAX_FIELD_VALUE: usize = 1024;
pub const MAX_EMBED_TOTAL: usize = 6000;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '-' | '[' | ']' | '(' | ')'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            c if super::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    defuse_mentions(&out)
}

/// Literal fields (titles, footers, field names): no Markdown there.
fn literal(s: &str) -> String {
    super::literal(s)
}

fn color(v: &View) -> u32 {
    match v.severity {
        crate::model::Severity::Critical => 0xC0392B,
        crate::model::Severity::Warning => 0xE67E22,
        crate::model::Severity::Info => 0x2980B9,
    }
}

pub fn payload(v: &View, locale: Locale, username: Option<&str>) -> Value {
    let build = |shown: usize| {
        let mut head = json!({
            "title": clip(&literal(&format!("{} · [{}] {} · {}", v.status_text, v.severity_text, v.brand, v.rule)), MAX_TITLE),
            "description": clip(&escape(&v.why), MAX_DESCRIPTION),
            "color": color(v),
        });
        let mut fields: Vec<Value> = v
            .facts
            .iter()
            .take(MAX_FIELDS)
            .map(|(k, val)| json!({"name": clip(k, MAX_FIELD_NAME), "value": clip(val, MAX_FIELD_VALUE), "inline": true}))
            .collect();
        if let Some(d) = &v.description {
            fields.push(
                json!({"name": "ℹ️", "value": clip(&escape(d), MAX_FIELD_VALUE), "inline": false}),
            );
        }
        if !fields.is_empty() {
            head["fields"] = Value::Array(fields);
        }
        if let Some(more) = v.more_line(locale, shown) {
            head["footer"] = json!({"text": clip(&literal(&more), MAX_FOOTER)});
        }
        let mut embeds = vec![head];
        for m in v.mentions.iter().take(shown) {
            let excerpt: String = m
                .excerpt
                .iter()
                .map(|f| {
                    let t = escape(&one_line(&f.text));
                    if f.hit { format!("**{t}**") } else { t }
                })
                .collect();
            embeds.push(json!({
                "title": clip(&literal(&m.title), MAX_TITLE),
                "url": m.url,
                "description": clip(&excerpt, MAX_DESCRIPTION),
                "footer": {"text": clip(&meta_line(m, locale, literal), MAX_FOOTER)},
                "color": color(v),
            }));
        }
        let mut body = json!({
            "content": clip(&format!("{} {}", severity_emoji(v.severity), escape(&one_line(&v.headline))), MAX_CONTENT),
            "embeds": embeds,
            "allowed_mentions": {"parse": []},
        });
        if let Some(u) = username {
            body["username"] = json!(u);
        }
        body
    };
    fit(v.mentions.len().min(MAX_EMBEDS - 1), build, check)
}

fn len(v: &Value) -> usize {
    super::chars(v)
}

pub fn check(p: &Value) -> Result<(), String> {
    super::at_most("content", &p["content"], MAX_CONTENT)?;
    if p["allowed_mentions"]["parse"] != json!([]) {
        return Err("allowed_mentions must disable every ping".into());
    }
    let embeds = p["embeds"].as_array().ok_or("no embeds")?;
    if embeds.len() > MAX_EMBEDS {
        return Err(format!(
            "{} embeds, the limit is {MAX_EMBEDS}",
            embeds.len()
        ));
    }
    let mut total = 0;
    for e in embeds {
        super::at_most("embed title", &e["title"], MAX_TITLE)?;
        super::at_most("embed description", &e["description"], MAX_DESCRIPTION)?;
        super::at_most("embed footer", &e["footer"]["text"], MAX_FOOTER)?;
        total += len(&e["title"]) + len(&e["description"]) + len(&e["footer"]["text"]);
        let fields = e["fields"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if fields.len() > MAX_FIELDS {
            return Err("too many fields".into());
        }
        for f in fields {
            super::at_most("field name", &f["name"], MAX_FIELD_NAME)?;
            super::at_most("field value", &f["value"], MAX_FIELD_VALUE)?;
            total += len(&f["name"]) + len(&f["value"]);
        }
    }
    if total > MAX_EMBED_TOTAL {
        return Err(format!(
            "embeds hold {total} characters, the limit is {MAX_EMBED_TOTAL}"
        ));
    }
    Ok(())
}

/// A digest for Discord (one embed per brand).
pub fn digest_payload(d: &DigestData, l: Locale) -> Value {
    let mut embeds = Vec::new();
    for (b, text) in d
        .brands
        .iter()
        .zip(digest::formatted(d, l, |line| match line {
            digest::Line::Heading(_) => String::new(),
            digest::Line::Text(t) => escape(t),
            digest::Line::Key(t) => format!("**{}**", escape(t)),
            digest::Line::Link(t, u, m) => format!(
                "• [{}]({}) — {}",
                escape(&clip(t, 150)),
                super::link_url(u),
                escape(m)
            ),
        }))
    {
        embeds.push(json!({"title": clip(&super::literal(&b.name), MAX_TITLE),
            "description": clip(text.trim(), MAX_DESCRIPTION), "color": 0x2980B9}));
    }
    embeds.truncate(MAX_EMBEDS);
    let mut p = json!({"content": clip(&escape(&digest::title(d, l)), MAX_CONTENT),
        "embeds": embeds, "allowed_mentions": {"parse": []}});
    while check(&p).is_err() && p["embeds"].as_array().is_some_and(|e| !e.is_empty()) {
        p["embeds"].as_array_mut().expect("embeds").pop();
    }
    p
}
