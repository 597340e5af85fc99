//! Microsoft Teams: an Adaptive Card (schema 1.4) posted to an incoming webhook or a
//! Workflows (Power Automate) "post to a channel when a webhook request is received" URL;
//! both take the same `{"type": "message", "attachments": [card]}` envelope.
//!
//! Limits (learn.microsoft.com, connectors and Workflows): a message is at most 28 KB.
//!
//! Escaping: hostile text goes only into `TextRun`s of `RichTextBlock`s, which Teams shows
//! literally (no Markdown, no HTML, no @-mentions: those need explicit entities).

use serde_json::{Value, json};

use super::{fit, meta_line, one_line, severity_emoji};
use crate::model::Severity;
use crate::model::digest::DigestData;
use crate::notify::view::{Locale, View, clip, digest};

pub const MAX_BYTES: usize = 28 * 1024;
pub const MAX_MENTIONS: usize = 10;

fn run(text: &str) -> Value {
    json!({"type": "TextRun", "text": text})
}

/// Literal text: Teams shows TextRuns as they are; see [`super::literal`].
fn plain(s: &str) -> String {
    super::literal(s)
}

pub fn payload(v: &View, locale: Locale) -> Value {
    let t = locale.texts();
    let color = match v.severity {
        Severity::Critical => "Attention",
        Severity::Warning => "Warning",
        Severity::Info => "Accent",
    };
    let build = |shown: usize| {
        let mut body = vec![
            json!({"type": "RichTextBlock", "inlines": [{
                "type": "TextRun", "size": "Large", "weight": "Bolder", "color": color,
                "text": plain(&one_line(&format!(
                    "{} {} · [{}] {}",
                    severity_emoji(v.severity), v.status_text, v.severity_text, v.brand
                ))),
            }]}),
            json!({"type": "RichTextBlock", "inlines": [
                {"type": "TextRun", "weight": "Bolder", "text": format!("{}{}", plain(&v.rule), locale.colon())},
                run(&plain(&v.why)),
            ]}),
        ];
        if !v.facts.is_empty() {
            body.push(json!({"type": "FactSet", "facts": v.facts.iter()
                .map(|(k, val)| json!({"title": k, "value": val})).collect::<Vec<_>>()}));
        }
        if let Some(d) = &v.description {
            body.push(json!({"type": "RichTextBlock", "inlines": [
                {"type": "TextRun", "italic": true, "isSubtle": true, "text": plain(d)}
            ]}));
        }
        for m in v.mentions.iter().take(shown) {
            let excerpt: Vec<Value> = m
                .excerpt
                .iter()
                .map(|f| {
                    let mut r = run(&plain(&one_line(&f.text)));
                    if f.hit {
                        r["weight"] = json!("Bolder");
                        r["highlight"] = json!(true);
                    }
                    r
                })
                .collect();
            body.push(json!({
                "type": "Container",
                "separator": true,
                "spacing": "Medium",
                "items": [
                    {"type": "RichTextBlock", "inlines": [{
                        "type": "TextRun", "weight": "Bolder", "color": "Accent",
                        "text": plain(&one_line(&clip(&m.title, 200))),
                        "selectAction": {"type": "Action.OpenUrl", "url": m.url},
                    }]},
                    {"type": "RichTextBlock", "inlines": excerpt},
                    {"type": "RichTextBlock", "inlines": [{
                        "type": "TextRun", "isSubtle": true, "size": "Small",
                        "text": plain(&meta_line(m, locale, |s| s.to_string())),
                    }]},
                ],
            }));
        }
        if let Some(more) = v.more_line(locale, shown) {
            body.push(
                json!({"type": "RichTextBlock", "separator": true, "inlines": [
                    {"type": "TextRun", "isSubtle": true, "text": more}
                ]}),
            );
        }
        let mut card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": {"width": "Full"},
            "body": body,
        });
        if let Some(first) = v.mentions.first() {
            card["actions"] =
                json!([{"type": "Action.OpenUrl", "title": t.open, "url": first.url}]);
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        })
    };
    fit(v.mentions.len().min(MAX_MENTIONS), build, check)
}

pub fn check(p: &Value) -> Result<(), String> {
    let n = serde_json::to_vec(p).map(|b| b.len()).unwrap_or(usize::MAX);
    if n > MAX_BYTES {
        return Err(format!("card of {n} bytes, the limit is {MAX_BYTES}"));
    }
    let card = &p["attachments"][0]["content"];
    if card["type"] != "AdaptiveCard" {
        return Err("no Adaptive Card".into());
    }
    // Hostile text only in TextRuns: no TextBlock (which renders Markdown) anywhere.
    if serde_json::to_string(card)
        .unwrap_or_default()
        .contains("\"TextBlock\"")
    {
        return Err("TextBlock renders Markdown: use RichTextBlock/TextRun".into());
    }
    Ok(())
}

/// A digest for Teams (an Adaptive Card).
pub fn digest_payload(d: &DigestData, l: Locale) -> Value {
    let run = |t: &str| json!({"type": "TextRun", "text": super::literal(t)});
    let mut body = vec![json!({"type": "RichTextBlock", "inlines": [
        {"type": "TextRun", "size": "Large", "weight": "Bolder", "text": super::literal(&digest::title(d, l))}
    ]})];
    for b in &d.brands {
        for line in digest::brand_lines(b, l, &d.tz) {
            body.push(match line {
                digest::Line::Heading(h) => json!({"type": "RichTextBlock", "separator": true, "inlines": [
                    {"type": "TextRun", "weight": "Bolder", "size": "Medium", "text": super::literal(&h)}]}),
                digest::Line::Text(t) => json!({"type": "RichTextBlock", "inlines": [run(&t)]}),
                digest::Line::Key(t) => json!({"type": "RichTextBlock", "inlines": [
                    {"type": "TextRun", "weight": "Bolder", "text": super::literal(&t)}]}),
                digest::Line::Link(t, u, m) => json!({"type": "RichTextBlock", "inlines": [
                    {"type": "TextRun", "color": "Accent", "text": super::literal(&clip(&t, 150)),
                     "selectAction": {"type": "Action.OpenUrl", "url": super::link_url(&u)}},
                    run(&format!(" — {m}"))]}),
            });
        }
    }
    let mut p = json!({"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
        "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "msteams": {"width": "Full"}, "body": body}}]});
    // Over the size limit: drop lines from the end.
    while check(&p).is_err() {
        let body = p["attachments"][0]["content"]["body"]
            .as_array_mut()
            .expect("body");
        if body.len() <= 1 {
            break;
        }
        body.pop();
    }
    p
}
