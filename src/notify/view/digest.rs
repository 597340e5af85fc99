//! A digest in words, before any format: its title, and each brand's figures as lines
//! (headings, text, links). Each notifier formats these lines for its platform.

use serde::Serialize;

use super::{Locale, compact};
use crate::mention::Label;
use crate::model::Severity;
use crate::model::digest::{BrandDigest, DigestData, IncidentLine};

/// One piece of a digest, before any format.
#[derive(Debug, Clone)]
pub enum Line {
    /// A brand's heading.
    Heading(String),
    Text(String),
    /// The key figures, shown first and in bold where the platform allows.
    Key(String),
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

/// Open incidents listed in full; a digest is read, not searched.
const MAX_INCIDENTS: usize = 5;

/// One of the three figures a digest opens with, for a brand.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// "9", "56 %", "2"
    pub value: String,
    /// "mentions", "negative", "open incidents" — agreeing with the value.
    pub label: String,
    /// "+50 % vs previous period", when there is something to compare with.
    pub change: Option<String>,
    /// The figure is bad news (negative share up, incidents open): shown in red.
    pub alarm: bool,
}

fn signed(x: f64) -> &'static str {
    if x >= 0.0 { "+" } else { "" }
}

/// What a reader must see first, large: the volume and its change, the negative share
/// and its change (in points), the open incidents.
pub fn figures(b: &BrandDigest, l: Locale) -> [Figure; 3] {
    let w = l.texts();
    let volume = Figure {
        value: b.count.to_string(),
        label: l.plural(b.count, w.mention_one, w.mentions_count).into(),
        change: Some(match b.change {
            Some(c) => format!("{}{} {}", signed(c), pct(c, l), w.vs_previous_short),
            None => w.no_previous.to_string(),
        }),
        alarm: false,
    };
    let share = |neg: u64, all: u64| (all > 0).then(|| neg as f64 * 100.0 / all as f64);
    let now = share(b.negative, b.negative + b.neutral + b.positive);
    let before = share(b.previous_negative, b.previous);
    let points = match (now, before) {
        (Some(n), Some(p)) => Some((n - p).round()),
        _ => None,
    };
    let negative = Figure {
        value: now.map_or_else(|| "–".to_string(), |n| pct(n, l)),
        label: w.negative_share_label.into(),
        change: points.map(|d| {
            format!(
                "{}{} {} {}",
                signed(d),
                super::words::number(d, l),
                w.points_unit,
                w.vs_previous_short
            )
        }),
        alarm: points.is_some_and(|d| d > 0.0),
    };
    let open = b.incidents.len() as u64;
    let incidents = Figure {
        value: open.to_string(),
        label: l
            .plural(open, w.open_incident_one, w.open_incident_many)
            .into(),
        change: None,
        alarm: open > 0,
    };
    [volume, negative, incidents]
}

/// The three figures on one line, for chat and plain text:
/// "9 mentions (+50 % …) · 56 % negative (+12 pts …) · 2 open incidents".
pub fn figures_line(b: &BrandDigest, l: Locale) -> String {
    figures(b, l)
        .iter()
        .map(|f| match &f.change {
            Some(c) => format!("{} {} ({c})", f.value, f.label),
            None => format!("{} {}", f.value, f.label),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The figures of one brand, as lines of text: its heading, the key figures, then the
/// details.
pub fn brand_lines(b: &BrandDigest, l: Locale, tz: &chrono_tz::Tz) -> Vec<Line> {
    let mut out = vec![Line::Heading(b.name.clone()), Line::Key(figures_line(b, l))];
    out.extend(detail_lines(b, l, tz));
    out
}

/// Everything after the key figures: sentiment, share of voice, top mentions, sites and
/// authors, new sites and new authors apart, and open incidents by what they are about.
pub fn detail_lines(b: &BrandDigest, l: Locale, tz: &chrono_tz::Tz) -> Vec<Line> {
    let w = l.texts();
    let colon = l.colon();
    let mut out = Vec::new();
    // Stories only when syndication makes them differ from mentions.
    if b.stories > 0 && b.stories < b.count {
        out.push(Line::Text(format!("{} {}", b.stories, w.stories)));
    }
    let counted = |n: u64, one: &str, many: &str| format!("{n} {}", l.plural(n, one, many));
    out.push(Line::Text(format!(
        "{}{colon}{}, {}, {}",
        w.sentiment_heading,
        counted(b.negative, w.negative_one, w.negative_mentions),
        counted(b.neutral, w.neutral_one, w.neutral_mentions),
        counted(b.positive, w.positive_one, w.positive_mentions),
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
                    // Agreeing with "mention" (feminine in French).
                    match s {
                        Label::Negative => w.negative_one,
                        Label::Neutral => w.neutral_one,
                        Label::Positive => w.positive_one,
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
    // Sites and people apart: a new site is a new outlet, a new author a new voice.
    if b.new_sites.is_empty() && b.new_authors.is_empty() {
        out.push(Line::Text(w.no_new_sources.to_string()));
    }
    for (heading, names) in [(w.new_sites, &b.new_sites), (w.new_authors, &b.new_authors)] {
        if !names.is_empty() {
            out.push(Line::Text(format!("{heading}{colon}{}", names.join(", "))));
        }
    }
    // None open is already said by the key figures.
    if !b.incidents.is_empty() {
        out.push(Line::Text(format!(
            "{}{}",
            w.open_incidents,
            colon.trim_end()
        )));
        // The most severe first, then the most recent; the rest is one command away.
        let mut open: Vec<&IncidentLine> = b.incidents.iter().collect();
        open.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.id.cmp(&a.id)));
        for i in open.iter().take(MAX_INCIDENTS) {
            out.push(Line::Text(incident_line(i, l, tz)));
        }
        if open.len() > MAX_INCIDENTS {
            out.push(Line::Text(l.more_incidents(open.len() - MAX_INCIDENTS)));
        }
    }
    out
}

/// "CRITICAL · 15 new mentions of Acme · #12, open since 2026-12-02 08:14 UTC, 3 alerts,
/// acknowledged by alice" — what the incident is about first, its number for commands.
fn incident_line(i: &IncidentLine, l: Locale, tz: &chrono_tz::Tz) -> String {
    let w = l.texts();
    let about = match &i.latest {
        Some(a) => super::no_bidi(&super::why(a, l, tz)),
        None => i.title.clone(),
    };
    let severity = match i.severity {
        Severity::Critical => w.critical,
        Severity::Warning => w.warning,
        Severity::Info => w.info,
    };
    let alerts = i.alerts.max(0) as u64;
    let mut s = format!(
        "{severity} · {about} · #{}, {} {}, {alerts} {}",
        i.id,
        w.open_since,
        crate::model::localtime::display_with(i.opened_at, tz, l.date_format()),
        l.plural(alerts, w.alert_one, w.alert_many)
    );
    if let Some(by) = &i.acked_by {
        s.push_str(&format!(", {} {by}", w.acked_by));
    }
    s
}

/// The whole digest as plain text (ntfy, `--dry-run`, the e-mail's text part).
pub fn text(d: &DigestData, l: Locale) -> String {
    let mut s = title(d, l);
    for b in &d.brands {
        for line in brand_lines(b, l, &d.tz) {
            match line {
                Line::Heading(h) => s.push_str(&format!("\n\n== {h} ==")),
                Line::Text(t) | Line::Key(t) => s.push_str(&format!("\n{t}")),
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
            brand_lines(b, l, &d.tz)
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
