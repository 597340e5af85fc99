//! A digest in words, before any format: its title, and each brand's figures as lines
//! (headings, text, links). Each notifier formats these lines for its platform.

use super::{Locale, compact};
use crate::mention::Label;
use crate::model::digest::{BrandDigest, DigestData};

/// One piece of a digest, before any format.
#[derive(Debug, Clone)]
pub enum Line {
    /// A brand's heading.
    Heading(String),
    Text(String),
    /// A mention: title, URL, "site · author · reach".
    Link(String, String, String),
}

use super::words::points as pct;

/// "Digest morning · 13/03 08:00 → 16/03 08:00"
pub fn title(d: &DigestData, l: Locale) -> String {
    let f = l.date_format();
    let start = d.start.with_timezone(&d.tz);
    format!(
        "{} {} · {} → {}",
        l.texts().digest,
        d.name,
        start.format(f),
        crate::model::localtime::display_with(d.end, &d.tz, f)
    )
}

/// The figures of one brand, as lines of text.
pub fn brand_lines(b: &BrandDigest, l: Locale) -> Vec<Line> {
    let w = l.texts();
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
        b.count, w.mentions_count
    )));
    let n = (b.negative + b.neutral + b.positive).max(1) as f64;
    let colon = l.colon();
    out.push(Line::Text(format!(
        "{}{colon}{} {}, {} {}, {} {}",
        w.sentiment_heading,
        pct(b.negative as f64 * 100.0 / n, l),
        w.negative_mentions,
        pct(b.neutral as f64 * 100.0 / n, l),
        w.neutral_mentions,
        pct(b.positive as f64 * 100.0 / n, l),
        w.positive_mentions
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
        out.push(Line::Text(format!(
            "{}{}",
            w.top_mentions,
            colon.trim_end()
        )));
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
                        Label::Negative => w.negative_mentions,
                        Label::Neutral => w.neutral_mentions,
                        Label::Positive => w.positive_mentions,
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
            w.top_sites,
            list(&b.top_sites)
        )));
    }
    if !b.top_authors.is_empty() {
        out.push(Line::Text(format!(
            "{}{colon}{}",
            w.top_authors,
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
        w.open_incidents,
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
pub fn formatted(d: &DigestData, l: Locale, fmt: impl Fn(&Line) -> String) -> Vec<String> {
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

/// "3 more brands: veille digest --now NAME --dry-run" — what a cut message points to.
pub fn more_brands(n: usize, digest: &str, l: Locale) -> String {
    l.more_brands(n, digest)
}
