//! Google Chat, through a space's incoming webhook: a card v2 with a header, the why, the
//! figures and one section per mention.
//!
//! Limits (developers.google.com/workspace/chat): a message is at most 32,000 bytes; a
//! card's text fields are kept under 4,000 characters here, and at most 100 widgets.
//! Incoming webhooks take about one message per second per space.
//!
//! Escaping: card text takes a small HTML subset (`<b>`, `<i>`, `<a href>`, `<font>`), so
//! `&`, `<`, `>` and `"` become entities; a mass ping needs `<users/all>`, which cannot
//! form once `<` is escaped.

use serde_json::{Value, json};

use super::{defuse_mentions, fit, meta_line, one_line, severity_emoji};
use crate::model::digest::DigestData;
use crate::notify::view::{Locale, View, clip, digest};

pub const MAX_BYTES: usize = 32_000;
pub const MAX_TEXT: usize = 4000;
pub const MAX_WIDGETS: usize = 100;
pub const MAX_MENTIONS: usize = 10;

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

pub fn payload(v: &View, locale: Locale) -> Value {
    let build = |shown: usize| {
        let mut first = vec![json!({"textParagraph": {"text": clip(&escape(&v.why), MAX_TEXT)}})];
        for (k, val) in &v.facts {
            first.push(json!({"decoratedText": {"topLabel": escape(k), "text": escape(val)}}));
        }
        if let Some(d) = &v.description {
            first.push(json!({"textParagraph": {"text": format!("<i>{}</i>", clip(&escape(d), MAX_TEXT - 7))}}));
        }
        let mut sections = vec![json!({"widgets": first})];
        for m in v.mentions.iter().take(shown) {
            let excerpt: String = m
                .excerpt
                .iter()
                .map(|f| {
                    let t = escape(&one_line(&f.text));
                    if f.hit { format!("<b>{t}</b>") } else { t }
                })
                .collect();
            sections.push(json!({"widgets": [
                {"decoratedText": {
                    "topLabel": clip(&meta_line(m, locale, escape), 300),
                    "text": format!("<a href=\"{}\">{}</a>", escape(&m.url), escape(&one_line(&clip(&m.title, 200)))),
                    "wrapText": true,
                }},
                {"textParagraph": {"text": clip(&excerpt, MAX_TEXT)}},
            ]}));
        }
        if let Some(more) = v.more_line(locale, shown) {
            sections.push(json!({"widgets": [{"textParagraph": {"text": format!("<i>{}</i>", escape(&more))}}]}));
        }
        json!({
            "cardsV2": [{
                "cardId": "veille-alert",
                "card": {
                    "header": {
                        "title": clip(&super::literal(&format!(
                            "{} {} · [{}] {}",
                            severity_emoji(v.severity), v.status_text, v.severity_text, v.brand
                        )), 200),
                        "subtitle": clip(&super::literal(&v.rule), 200),
                    },
                    "sections": sections,
                },
            }],
        })
    };
    fit(v.mentions.len().min(MAX_MENTIONS), build, check)
}

pub fn check(p: &Value) -> Result<(), String> {
    let n = serde_json::to_vec(p).map(|b| b.len()).unwrap_or(usize::MAX);
    if n > MAX_BYTES {
        return Err(format!("message of {n} bytes, the limit is {MAX_BYTES}"));
    }
    let sections = p["cardsV2"][0]["card"]["sections"]
        .as_array()
        .ok_or("no card sections")?;
    let widgets: usize = sections
        .iter()
        .map(|s| s["widgets"].as_array().map_or(0, Vec::len))
        .sum();
    if widgets > MAX_WIDGETS {
        return Err(format!("{widgets} widgets, the limit is {MAX_WIDGETS}"));
    }
    for s in sections {
        for w in s["widgets"].as_array().into_iter().flatten() {
            super::at_most("text", &w["textParagraph"]["text"], MAX_TEXT)?;
        }
    }
    Ok(())
}

/// A digest for Google Chat (a card, one section per brand).
pub fn digest_payload(d: &DigestData, l: Locale) -> Value {
    let mut sections = Vec::new();
    for (b, text) in d
        .brands
        .iter()
        .zip(digest::formatted(d, l, |line| match line {
            digest::Line::Heading(_) => String::new(),
            digest::Line::Text(t) => escape(t),
            digest::Line::Key(t) => format!("<b>{}</b>", escape(t)),
            digest::Line::Link(t, u, m) => format!(
                "• <a href=\"{}\">{}</a> — {}",
                escape(u),
                escape(&clip(t, 150)),
                escape(m)
            ),
        }))
    {
        sections.push(json!({"header": super::literal(&b.name), "widgets": [
            {"textParagraph": {"text": clip(text.trim(), MAX_TEXT)}}]}));
    }
    let card = |sections: &[Value]| {
        json!({"cardsV2": [{"cardId": "veille-digest", "card": {
            "header": {"title": clip(&super::literal(&digest::title(d, l)), 200)}, "sections": sections}}]})
    };
    // Over the message size limit: the last brands give way to a note.
    let mut p = card(&sections);
    let total = sections.len();
    while check(&p).is_err() && sections.len() > 1 {
        sections.pop();
        let mut with_note = sections.clone();
        with_note.push(json!({"widgets": [{"textParagraph": {
            "text": escape(&digest::more_brands(total - sections.len(), &d.name, l))}}]}));
        p = card(&with_note);
    }
    p
}
