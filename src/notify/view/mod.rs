//! What every message says, before any format: an alert ([`View`]) or a digest
//! ([`digest`]) put into words in the notifier's language (`locale = "fr"` or `"en"`,
//! one word table: [`Texts`]). Each notifier then escapes these plain strings for its
//! own format — nothing here is escaped.

pub mod digest;
mod words;

use serde::Serialize;

pub use words::{EN, FR, Locale, Texts, clip, compact, number, percent};

use crate::mention::Label;
use crate::model::{Alert, Fragment, Severity, Status};

/// One mention as messages show it.
#[derive(Debug, Clone, Serialize)]
pub struct MentionView {
    pub title: String,
    pub url: String,
    pub site: String,
    pub author: Option<String>,
    pub date: String,
    /// "12.5k"
    pub reach: Option<String>,
    pub sentiment: Option<Label>,
    /// Localized label of `sentiment`.
    pub sentiment_text: Option<String>,
    pub excerpt: Vec<Fragment>,
}

/// The alert in words.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub status: Status,
    /// "New", "Update", "Resolved" (localized).
    pub status_text: String,
    pub severity: Severity,
    /// "CRITICAL" / "CRITIQUE"…
    pub severity_text: String,
    pub brand: String,
    pub rule: String,
    /// One line for subjects and chat headers: "[CRITICAL] Acme · rule: why".
    pub headline: String,
    /// Why it fired, in the notifier's language.
    pub why: String,
    /// Figures (label, value): count, usual rate, threshold, negative share, window.
    pub facts: Vec<(String, String)>,
    pub description: Option<String>,
    pub mentions: Vec<MentionView>,
    /// Mentions behind the alert beyond those shown.
    pub more: usize,
    /// Where the rest is: a `veille search` command line.
    pub more_hint: String,
    pub date: String,
    /// What the reader can do about it (label, command): acknowledge the incident,
    /// silence the rule for the brand. None for a resolution.
    pub actions: Vec<(String, String)>,
}

impl View {
    /// The alert in words, its times in UTC (tests and previews).
    pub fn new(alert: &Alert, locale: Locale) -> View {
        Self::new_in(alert, locale, &chrono_tz::Tz::UTC)
    }

    /// The alert in words, its times in `tz` with the zone shown ("02/12/2026 03:22 CET"):
    /// a team reads its crisis at its own hour.
    pub fn new_in(alert: &Alert, locale: Locale, tz: &chrono_tz::Tz) -> View {
        let t = locale.texts();
        let status_text = match alert.status {
            Status::New => t.new,
            Status::Update => t.update,
            Status::Resolved => t.resolved,
        };
        let severity_text = match alert.severity {
            Severity::Critical => t.critical,
            Severity::Warning => t.warning,
            Severity::Info => t.info,
        };
        let why = no_bidi(&why(alert, locale, tz));
        let fmt_date = |d: chrono::DateTime<chrono::Utc>| {
            crate::model::localtime::display_with(d, tz, locale.date_format())
        };
        let mut facts = Vec::new();
        if let Some(s) = &alert.stats {
            facts.push((t.mentions.to_string(), s.count.to_string()));
            facts.push((t.window.to_string(), s.window.clone()));
            if let Some(e) = s.expected {
                facts.push((t.expected.to_string(), number(e, locale)));
            }
            if let Some(n) = s.negative_share {
                facts.push((t.negative_share.to_string(), percent(n, locale)));
            }
            if let Some(x) = s.threshold {
                let v = if alert.rule_kind == "sentiment_shift" {
                    percent(x / 100.0, locale)
                } else {
                    number(x, locale)
                };
                facts.push((t.threshold.to_string(), v));
            }
        }
        // A batch: since when, and how the mentions shown were chosen.
        if let Some(b) = &alert.batch {
            facts.push((t.mentions.to_string(), b.count.to_string()));
            if let Some(since) = b.since {
                facts.push((t.since_last.to_string(), fmt_date(since)));
            }
            if b.count > alert.mentions.len() {
                facts.push((t.shown_first.to_string(), t.order.to_string()));
            }
        }
        // A resolution: the incident as a whole.
        if let Some(s) = &alert.incident_summary {
            let total = format!("{} {}", s.mentions, t.mentions_count);
            facts.push((t.mentions.to_string(), total));
            facts.push((t.first.to_string(), fmt_date(s.first)));
            facts.push((t.last.to_string(), fmt_date(s.last)));
            facts.push((
                t.peak.to_string(),
                format!(
                    "{} ({} {})",
                    fmt_date(s.peak_hour),
                    s.peak_count,
                    t.mentions_count
                ),
            ));
        }
        let mentions: Vec<MentionView> = alert
            .mentions
            .iter()
            .map(|m| MentionView {
                title: no_bidi(&m.title),
                url: m.url.clone(),
                site: no_bidi(&m.site),
                author: m
                    .author_name
                    .as_ref()
                    .or(m.author.as_ref())
                    .map(|a| no_bidi(a)),
                date: fmt_date(m.published_at),
                reach: m.reach.map(|r| compact(r, locale)),
                sentiment: m.sentiment.map(|s| s.label),
                sentiment_text: m.sentiment.map(|s| {
                    match s.label {
                        Label::Negative => t.negative,
                        Label::Neutral => t.neutral,
                        Label::Positive => t.positive,
                    }
                    .to_string()
                }),
                excerpt: m
                    .excerpt
                    .iter()
                    .map(|f| Fragment {
                        text: no_bidi(&f.text),
                        hit: f.hit,
                    })
                    .collect(),
            })
            .collect();
        let more = alert.total_mentions.saturating_sub(mentions.len());
        let since = alert
            .stats
            .as_ref()
            .map(|s| s.window.clone())
            .unwrap_or_else(|| "1d".into());
        // A batch names its exact time range (and the rule's query); otherwise the window.
        let more_hint = match &alert.batch {
            Some(b) => b.search.clone(),
            None => format!("veille search --brand {} --since {since}", alert.brand),
        };
        let mut actions = Vec::new();
        if alert.status != Status::Resolved {
            if alert.incident > 0 {
                let ack = format!("veille incidents ack {}", alert.incident);
                actions.push((t.acknowledge.to_string(), ack));
            }
            let silence = format!(
                "veille silence add --rule {} --brand {} --for 1d",
                alert.rule, alert.brand
            );
            actions.push((t.silence_for_a_day.to_string(), silence));
        }
        View {
            status: alert.status,
            status_text: status_text.to_string(),
            severity: alert.severity,
            severity_text: severity_text.to_string(),
            brand: alert.brand_name.clone(),
            rule: alert.rule.clone(),
            headline: format!(
                "[{severity_text}] {} · {}{}{why}",
                alert.brand_name,
                alert.rule,
                locale.colon()
            ),
            why,
            facts,
            description: alert.description.clone(),
            mentions,
            more,
            more_hint,
            date: fmt_date(alert.created_at),
            actions,
        }
    }

    /// "and 12 more mentions: veille search --brand acme --since 1h"
    pub fn more_line(&self, locale: Locale, shown: usize) -> Option<String> {
        let n = self.more + self.mentions.len().saturating_sub(shown);
        (n > 0).then(|| locale.more_mentions(n, &self.more_hint))
    }
}

/// Why the alert fired, from its figures, in `locale`. The English summary the rule
/// engine wrote is the fallback.
fn why(a: &Alert, locale: Locale, tz: &chrono_tz::Tz) -> String {
    let b = &a.brand_name;
    let fr = locale == Locale::Fr;
    // "de Globex", "d’Acme".
    let of_b = locale.of(b);
    // An alert about veille itself ([ops]) says what happened in its summary, recovery
    // included.
    if a.rule_kind == "ops" {
        return a.summary.clone();
    }
    let n_of = |n: u64, one: &'static str, many: &'static str| locale.plural(n, one, many);
    if a.status == Status::Resolved
        && let Some(s) = &a.incident_summary
    {
        // Times in the zone people read, shown with it: "du 10/03/2026 09:00 au
        // 10/03/2026 11:58 CET, pic de 12 entre 10:00 et 11:00 CET".
        let at = |d: chrono::DateTime<chrono::Utc>| {
            crate::model::localtime::display_with(d, tz, locale.date_format())
        };
        let hour =
            |d: chrono::DateTime<chrono::Utc>| d.with_timezone(tz).format("%H:%M").to_string();
        let zone = s.peak_hour.with_timezone(tz).format("%Z").to_string();
        let (from, to) = (
            hour(s.peak_hour),
            hour(s.peak_hour + chrono::Duration::hours(1)),
        );
        return if fr {
            format!(
                "incident résolu\u{a0}: {} {} {of_b} du {} au {}, pic de {} entre {from} et {to} {zone}",
                s.mentions,
                n_of(s.mentions, "mention", "mentions"),
                at(s.first),
                at(s.last),
                s.peak_count,
            )
        } else {
            format!(
                "incident resolved: {} {} of {b} from {} to {}, peak {} between {from} and {to} {zone}",
                s.mentions,
                n_of(s.mentions, "mention", "mentions"),
                at(s.first),
                at(s.last),
                s.peak_count,
            )
        };
    }
    if a.status == Status::Update
        && let Some(batch) = &a.batch
        && let Some(since) = batch.since
    {
        let at = crate::model::localtime::display_with(since, tz, locale.date_format());
        let n = batch.count;
        return match (a.rule_kind.as_str(), fr) {
            ("new_source", true) => format!(
                "{n} {} de la nouvelle source ({}) depuis le {at}",
                n_of(n as u64, "mention de plus", "mentions de plus"),
                a.group.as_deref().unwrap_or("")
            ),
            ("new_source", false) => format!(
                "{n} {} from the new source ({}) since {at}",
                n_of(n as u64, "more mention", "more mentions"),
                a.group.as_deref().unwrap_or("")
            ),
            (_, true) => format!(
                "{n} {} {of_b} depuis le dernier message ({at})",
                n_of(n as u64, "nouvelle mention", "nouvelles mentions")
            ),
            (_, false) => format!(
                "{n} {} of {b} since the last message ({at})",
                n_of(n as u64, "new mention", "new mentions")
            ),
        };
    }
    if a.status == Status::Resolved {
        return if fr {
            format!(
                "incident résolu\u{a0}: la condition de la règle {} ne tient plus",
                a.rule
            )
        } else {
            format!(
                "incident resolved: the condition of rule {} no longer holds",
                a.rule
            )
        };
    }
    let Some(s) = &a.stats else {
        return match (a.rule_kind.as_str(), fr) {
            ("match", true) if a.total_mentions == 1 => format!(
                "nouvelle mention {of_b}\u{a0}: {}",
                a.mentions.first().map_or("", |m| m.title.as_str())
            ),
            ("match", true) => format!("{} nouvelles mentions {of_b}", a.total_mentions),
            ("new_source", true) => match &a.group {
                Some(g) if g.starts_with("site:") => {
                    format!("un nouveau site parle {of_b}\u{a0}: {}", &g[5..])
                }
                _ => format!(
                    "un nouvel auteur parle {of_b}\u{a0}: {}",
                    a.mentions
                        .first()
                        .and_then(|m| m.author_name.clone().or(m.author.clone()))
                        .unwrap_or_default()
                ),
            },
            _ => a.summary.clone(),
        };
    };
    let n = s.count;
    let w = &s.window;
    match (a.rule_kind.as_str(), fr) {
        ("threshold", true) => format!("{n} mentions {of_b} sur {w}"),
        ("threshold", false) => format!("{n} mentions of {b} in the last {w}"),
        ("spike", _) => {
            let e = s.expected.unwrap_or(0.0);
            let times = if e > 0.0 {
                format!("{}×", number((n as f64 / e * 10.0).round() / 10.0, locale))
            } else if fr {
                "bien au-dessus de".into()
            } else {
                "far above".into()
            };
            if fr {
                format!(
                    "pic\u{a0}: {n} mentions {of_b} sur {w}, {times} la normale ({})",
                    number((e * 10.0).round() / 10.0, locale)
                )
            } else {
                format!(
                    "spike: {n} mentions of {b} in the last {w}, {times} the usual {}",
                    number((e * 10.0).round() / 10.0, locale)
                )
            }
        }
        ("sentiment_shift", true) => format!(
            "{} des mentions {of_b} sont négatives sur {w} ({n} mentions)",
            percent(s.negative_share.unwrap_or(0.0), locale)
        ),
        ("sentiment_shift", false) => format!(
            "{} of the mentions of {b} are negative in the last {w} ({n} mentions)",
            percent(s.negative_share.unwrap_or(0.0), locale)
        ),
        ("flatline", true) => format!(
            "seulement {n} {} {of_b} sur {w}",
            locale.plural(n, "mention", "mentions")
        ),
        ("flatline", false) => format!(
            "only {n} {} of {b} in the last {w}",
            locale.plural(n, "mention", "mentions")
        ),
        _ => a.summary.clone(),
    }
}

/// Without bidirectional overrides and isolates: a U+202E in a title would reverse what
/// follows it, in a text-only mail client as anywhere (URL spoofing).
fn no_bidi(s: &str) -> String {
    s.chars()
        .filter(|c| !crate::notify::chat::is_bidi_control(*c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolution's times are read where the team is (`[daemon] timezone`), with the
    /// zone shown, in French typography and agreement.
    #[test]
    fn a_resolution_speaks_in_the_team_s_time_zone() {
        let mut a = crate::testutil::alert();
        a.status = Status::Resolved;
        let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        a.incident_summary = Some(crate::model::IncidentSummary {
            mentions: 15,
            messages: 3,
            first: at("2026-12-02T08:05:00Z"),
            last: at("2026-12-02T10:58:00Z"),
            peak_hour: at("2026-12-02T09:00:00Z"),
            peak_count: 9,
        });
        let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        let v = View::new_in(&a, Locale::Fr, &paris);
        assert_eq!(
            v.why,
            "incident résolu\u{a0}: 15 mentions d\u{2019}Acme du 02/12/2026 09:05 CET au 02/12/2026 11:58 CET, pic de 9 entre 10:00 et 11:00 CET"
        );
    }

    #[test]
    fn why_is_localized_from_the_figures() {
        let mut a = crate::testutil::alert();
        a.rule_kind = "spike".into();
        a.stats = Some(crate::model::Stats {
            count: 30,
            window: "1h".into(),
            expected: Some(3.0),
            negative_share: None,
            threshold: Some(15.0),
        });
        let fr = View::new(&a, Locale::Fr);
        assert_eq!(
            fr.why,
            "pic\u{a0}: 30 mentions d\u{2019}Acme sur 1h, 10× la normale (3)"
        );
        let en = View::new(&a, Locale::En);
        assert_eq!(
            en.why,
            "spike: 30 mentions of Acme in the last 1h, 10× the usual 3"
        );
        assert!(fr.facts.contains(&("Seuil".into(), "15".into())));
        assert_eq!(fr.mentions[0].reach.as_deref(), Some("12,5\u{a0}k"));
        assert_eq!(fr.mentions[0].sentiment_text.as_deref(), Some("négatif"));
    }
}
