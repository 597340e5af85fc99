//! A digest in words (French or English), then in each notifier's format.

use serde_json::{Value, json};

use super::data::{BrandDigest, DigestData};
use crate::mention::Label;
use crate::notify::chat::{discord, googlechat, link_url, literal, mattermost, slack, telegram};
use crate::notify::view::{Locale, clip, compact};

/// One piece of a digest, before any format.
#[derive(Debug, Clone)]
pub enum Line {
    /// A brand's heading.
    Heading(String),
    Text(String),
    /// A mention: title, URL, "site · author · reach".
    Link(String, String, String),
}

struct Words {
    digest: &'static str,
    mentions: &'static str,
    stories: &'static str,
    vs_previous: &'static str,
    no_previous: &'static str,
    sentiment: &'static str,
    negative: &'static str,
    neutral: &'static str,
    positive: &'static str,
    share_of_voice: &'static str,
    top: &'static str,
    sites: &'static str,
    authors: &'static str,
    new_sources: &'static str,
    incidents: &'static str,
    none: &'static str,
    volume: &'static str,
}

const EN: Words = Words {
    digest: "Digest",
    mentions: "mentions",
    stories: "stories",
    vs_previous: "vs the previous period",
    no_previous: "none the period before",
    sentiment: "Sentiment",
    negative: "negative",
    neutral: "neutral",
    positive: "positive",
    share_of_voice: "Share of voice",
    top: "Top mentions by reach",
    sites: "Top sites",
    authors: "Top authors",
    new_sources: "New sources",
    incidents: "Open incidents",
    none: "none",
    volume: "Volume",
};

const FR: Words = Words {
    digest: "Synthèse",
    mentions: "mentions",
    stories: "sujets",
    vs_previous: "par rapport à la période précédente",
    no_previous: "aucune la période précédente",
    sentiment: "Tonalité",
    negative: "négatives",
    neutral: "neutres",
    positive: "positives",
    share_of_voice: "Part de voix",
    top: "Mentions les plus vues",
    sites: "Sites les plus actifs",
    authors: "Auteurs les plus actifs",
    new_sources: "Nouvelles sources",
    incidents: "Incidents ouverts",
    none: "aucun",
    volume: "Volume",
};

fn words(l: Locale) -> &'static Words {
    match l {
        Locale::En => &EN,
        Locale::Fr => &FR,
    }
}

/// The chart's caption word.
pub fn volume(l: Locale) -> &'static str {
    words(l).volume
}

/// ": " in English, " : " in French typography.
fn colon(l: Locale) -> &'static str {
    match l {
        Locale::En => ": ",
        Locale::Fr => " : ",
    }
}

fn pct(x: f64, l: Locale) -> String {
    match l {
        Locale::En => format!("{x:.0}%"),
        Locale::Fr => format!("{x:.0} %"),
    }
}

/// "Digest morning · 13/03 08:00 → 16/03 08:00"
pub fn title(d: &DigestData, l: Locale) -> String {
    let f = match l {
        Locale::En => "%Y-%m-%d %H:%M",
        Locale::Fr => "%d/%m/%Y %H:%M",
    };
    format!(
        "{} {} · {} → {} UTC",
        words(l).digest,
        d.name,
        d.start.format(f),
        d.end.format(f)
    )
}

/// The figures of one brand, as lines of text.
pub fn brand_lines(b: &BrandDigest, l: Locale) -> Vec<Line> {
    let w = words(l);
    let mut out = vec![Line::Heading(b.name.clone())];
    let change = match b.change {
        Some(c) => format!(
            "{}{} {}",
            if c >= 0.0 { "+" } else { "" },
            pct(c, l),
            w.vs_previous
        ),
        None => w.no_previous.to_string(),
    };
    // Stories only when syndication makes them differ from mentions.
    let stories = if b.stories > 0 && b.stories < b.count {
        format!(", {} {}", b.stories, w.stories)
    } else {
        String::new()
    };
    out.push(Line::Text(format!(
        "{} {}{stories} ({change})",
        b.count, w.mentions
    )));
    let n = (b.negative + b.neutral + b.positive).max(1) as f64;
    let colon = colon(l);
    out.push(Line::Text(format!(
        "{}{colon}{} {}, {} {}, {} {}",
        w.sentiment,
        pct(b.negative as f64 * 100.0 / n, l),
        w.negative,
        pct(b.neutral as f64 * 100.0 / n, l),
        w.neutral,
        pct(b.positive as f64 * 100.0 / n, l),
        w.positive
    )));
    if b.share_of_voice.len() > 1 {
        let sov: Vec<String> = b
            .share_of_voice
            .iter()
            .map(|s| format!("{} {}", s.brand, pct(s.share * 100.0, l)))
            .collect();
        out.push(Line::Text(format!(
            "{}{colon}{}",
            w.share_of_voice,
            sov.join(", ")
        )));
    }
    if !b.top.is_empty() {
        out.push(Line::Text(format!("{}{}", w.top, colon.trim_end())));
        for m in &b.top {
            let mut meta = vec![m.site.clone()];
            if let Some(a) = &m.author {
                meta.push(a.clone());
            }
            if let Some(r) = m.reach {
                meta.push(compact(r, l));
            }
            if let Some(s) = m.sentiment {
                meta.push(
                    match s {
                        Label::Negative => w.negative,
                        Label::Neutral => w.neutral,
                        Label::Positive => w.positive,
                    }
                    .to_string(),
                );
            }
            out.push(Line::Link(m.title.clone(), m.url.clone(), meta.join(" · ")));
        }
    }
    let list = |v: &[(String, u64)]| {
        v.iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !b.top_sites.is_empty() {
        out.push(Line::Text(format!(
            "{}{colon}{}",
            w.sites,
            list(&b.top_sites)
        )));
    }
    if !b.top_authors.is_empty() {
        out.push(Line::Text(format!(
            "{}{colon}{}",
            w.authors,
            list(&b.top_authors)
        )));
    }
    let mut new: Vec<String> = b.new_sites.clone();
    new.extend(b.new_authors.iter().cloned());
    out.push(Line::Text(format!(
        "{}{colon}{}",
        w.new_sources,
        if new.is_empty() {
            w.none.to_string()
        } else {
            new.join(", ")
        }
    )));
    let inc: Vec<String> = b
        .incidents
        .iter()
        .map(|i| format!("#{} {} ({})", i.id, i.rule, i.alerts))
        .collect();
    out.push(Line::Text(format!(
        "{}{colon}{}",
        w.incidents,
        if inc.is_empty() {
            w.none.to_string()
        } else {
            inc.join(", ")
        }
    )));
    out
}

/// The whole digest as plain text (ntfy, `--dry-run`, the e-mail's text part).
pub fn text(d: &DigestData, l: Locale) -> String {
    let mut s = title(d, l);
    for b in &d.brands {
        for line in brand_lines(b, l) {
            match line {
                Line::Heading(h) => s.push_str(&format!("\n\n== {h} ==")),
                Line::Text(t) => s.push_str(&format!("\n{t}")),
                Line::Link(t, u, m) => s.push_str(&format!("\n  - {t}\n    {m}\n    {u}")),
            }
        }
    }
    s.push('\n');
    s
}

/// Each line formatted with `fmt`, brands joined.
fn formatted(d: &DigestData, l: Locale, fmt: impl Fn(&Line) -> String) -> Vec<String> {
    d.brands
        .iter()
        .map(|b| {
            brand_lines(b, l)
                .iter()
                .map(&fmt)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

pub fn slack_payload(d: &DigestData, l: Locale) -> Value {
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text",
        "text": clip(&literal(&title(d, l)), slack::MAX_HEADER)}})];
    for text in formatted(d, l, |line| match line {
        Line::Heading(h) => format!("*{}*", slack::escape(h)),
        Line::Text(t) => slack::escape(t),
        Line::Link(t, u, m) => format!(
            "• <{}|{}> — {}",
            link_url(u),
            slack::escape(&clip(t, 150)),
            slack::escape(m)
        ),
    }) {
        blocks.push(json!({"type": "divider"}));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, slack::MAX_SECTION_TEXT)}}));
    }
    if blocks.len() > slack::MAX_BLOCKS {
        // Too many brands for one message: say so, with where to see them all.
        let left = (blocks.len() - (slack::MAX_BLOCKS - 1)).div_ceil(2);
        blocks.truncate(slack::MAX_BLOCKS - 1);
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
            "text": slack::escape(&more_brands(left, &d.name, l))}]}));
    }
    json!({"text": clip(&slack::escape(&title(d, l)), slack::MAX_FALLBACK), "blocks": blocks})
}

pub fn mattermost_payload(d: &DigestData, l: Locale) -> Value {
    let body = formatted(d, l, |line| match line {
        Line::Heading(h) => format!("#### {}", mattermost::escape(h)),
        Line::Text(t) => mattermost::escape(t),
        Line::Link(t, u, m) => format!(
            "- [{}]({}) — {}",
            mattermost::escape(&clip(t, 150)),
            link_url(u),
            mattermost::escape(m)
        ),
    })
    .join("\n\n");
    json!({"text": clip(&format!("**{}**\n\n{body}", mattermost::escape(&title(d, l))), mattermost::MAX_MESSAGE)})
}

pub fn teams_payload(d: &DigestData, l: Locale) -> Value {
    let run = |t: &str| json!({"type": "TextRun", "text": literal(t)});
    let mut body = vec![json!({"type": "RichTextBlock", "inlines": [
        {"type": "TextRun", "size": "Large", "weight": "Bolder", "text": literal(&title(d, l))}
    ]})];
    for b in &d.brands {
        for line in brand_lines(b, l) {
            body.push(match line {
                Line::Heading(h) => json!({"type": "RichTextBlock", "separator": true, "inlines": [
                    {"type": "TextRun", "weight": "Bolder", "size": "Medium", "text": literal(&h)}]}),
                Line::Text(t) => json!({"type": "RichTextBlock", "inlines": [run(&t)]}),
                Line::Link(t, u, m) => json!({"type": "RichTextBlock", "inlines": [
                    {"type": "TextRun", "color": "Accent", "text": literal(&clip(&t, 150)),
                     "selectAction": {"type": "Action.OpenUrl", "url": link_url(&u)}},
                    run(&format!(" — {m}"))]}),
            });
        }
    }
    let mut p = json!({"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
        "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "msteams": {"width": "Full"}, "body": body}}]});
    // Over the size limit: drop lines from the end.
    while crate::notify::chat::teams::check(&p).is_err() {
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

pub fn discord_payload(d: &DigestData, l: Locale) -> Value {
    let mut embeds = Vec::new();
    for (b, text) in d.brands.iter().zip(formatted(d, l, |line| match line {
        Line::Heading(_) => String::new(),
        Line::Text(t) => discord::escape(t),
        Line::Link(t, u, m) => format!(
            "• [{}]({}) — {}",
            discord::escape(&clip(t, 150)),
            link_url(u),
            discord::escape(m)
        ),
    })) {
        embeds.push(json!({"title": clip(&literal(&b.name), discord::MAX_TITLE),
            "description": clip(text.trim(), discord::MAX_DESCRIPTION), "color": 0x2980B9}));
    }
    embeds.truncate(discord::MAX_EMBEDS);
    let mut p = json!({"content": clip(&discord::escape(&title(d, l)), discord::MAX_CONTENT),
        "embeds": embeds, "allowed_mentions": {"parse": []}});
    while discord::check(&p).is_err() && p["embeds"].as_array().is_some_and(|e| !e.is_empty()) {
        p["embeds"].as_array_mut().expect("embeds").pop();
    }
    p
}

pub fn googlechat_payload(d: &DigestData, l: Locale) -> Value {
    let mut sections = Vec::new();
    for (b, text) in d.brands.iter().zip(formatted(d, l, |line| match line {
        Line::Heading(_) => String::new(),
        Line::Text(t) => googlechat::escape(t),
        Line::Link(t, u, m) => format!(
            "• <a href=\"{}\">{}</a> — {}",
            googlechat::escape(u),
            googlechat::escape(&clip(t, 150)),
            googlechat::escape(m)
        ),
    })) {
        sections.push(json!({"header": literal(&b.name), "widgets": [
            {"textParagraph": {"text": clip(text.trim(), googlechat::MAX_TEXT)}}]}));
    }
    let card = |sections: &[Value]| {
        json!({"cardsV2": [{"cardId": "veille-digest", "card": {
            "header": {"title": clip(&literal(&title(d, l)), 200)}, "sections": sections}}]})
    };
    // Over the message size limit: the last brands give way to a note.
    let mut p = card(&sections);
    let total = sections.len();
    while googlechat::check(&p).is_err() && sections.len() > 1 {
        sections.pop();
        let mut with_note = sections.clone();
        with_note.push(json!({"widgets": [{"textParagraph": {
            "text": googlechat::escape(&more_brands(total - sections.len(), &d.name, l))}}]}));
        p = card(&with_note);
    }
    p
}

/// "3 more brands: veille digest --now NAME --dry-run" — what a cut message points to.
fn more_brands(n: usize, digest: &str, l: Locale) -> String {
    match l {
        Locale::Fr => {
            format!("… et {n} marque(s) de plus : veille digest --now {digest} --dry-run")
        }
        Locale::En => format!("… and {n} more brand(s): veille digest --now {digest} --dry-run"),
    }
}

pub fn telegram_payload(d: &DigestData, l: Locale, chat_id: &str) -> Value {
    let body = formatted(d, l, |line| match line {
        Line::Heading(h) => format!("<b>{}</b>", telegram::escape(h)),
        Line::Text(t) => telegram::escape(t),
        Line::Link(t, u, m) => format!(
            "• <a href=\"{}\">{}</a> — {}",
            telegram::escape(u),
            telegram::escape(&clip(t, 150)),
            telegram::escape(m)
        ),
    })
    .join("\n\n");
    let mut text = format!("<b>{}</b>\n\n{body}", telegram::escape(&title(d, l)));
    if text.chars().count() > telegram::MAX_TEXT {
        // Cut at a line break, so no HTML tag is left open.
        let mut cut = String::new();
        for line in text.lines() {
            if cut.chars().count() + line.chars().count() + 2 > telegram::MAX_TEXT {
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

pub fn ntfy_payload(d: &DigestData, l: Locale, topic: &str) -> Value {
    // Plain text there (no markup, no mass pings): only the bidi controls go.
    let mut message: String = text(d, l)
        .chars()
        .filter(|c| !crate::notify::chat::is_bidi_control(*c))
        .collect();
    while message.len() > crate::notify::chat::ntfy::MAX_MESSAGE_BYTES - 3 {
        message.pop();
    }
    json!({"topic": topic, "title": clip(&literal(&title(d, l)), crate::notify::chat::ntfy::MAX_TITLE),
        "message": message, "priority": 3, "tags": ["bar_chart"]})
}
