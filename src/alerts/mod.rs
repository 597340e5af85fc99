//! Alerts: what a rule raised, as it is stored in the outbox and delivered.
//!
//! An alert is self-contained (mention titles, links and highlighted excerpts are copied
//! in), so delivery never depends on the index, and a stored alert can be re-sent as is.

pub mod outbox;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::mention::Mention;
use crate::rules::Severity;
use crate::text;

/// Mentions carried in one alert; the total count is kept beside them.
pub const MAX_MENTIONS_PER_ALERT: usize = 20;
/// Length of an excerpt, in bytes of the original text (about two lines).
pub const EXCERPT_LEN: usize = 280;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable dedup key: the same firing always has the same key, so a redone batch or a
    /// restart cannot create it twice. Made of [`incident_key`] and the message number,
    /// safe in any header; each delivery's key ([`delivery_key`]) is built on it.
    pub key: String,
    pub rule: String,
    pub rule_kind: String,
    pub brand: String,
    pub brand_name: String,
    pub severity: Severity,
    pub created_at: DateTime<Utc>,
    /// One line: why it fired ("3 new mentions match …", "24 mentions in 1h (≥ 20)").
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub mentions: Vec<AlertMention>,
    /// Mentions behind the alert (may exceed `mentions.len()`).
    pub total_mentions: usize,
    /// new, update or resolved.
    #[serde(default)]
    pub status: Status,
    /// The incident this alert belongs to (its database id).
    #[serde(default)]
    pub incident: i64,
    /// Stable name of the incident ("rule:brand:group:id"): e-mails of one incident form
    /// one thread (Message-ID of the first, In-Reply-To/References for the others).
    #[serde(default)]
    pub incident_key: String,
    /// What the incident groups on (a story, a site…), when the rule groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Figures behind a windowed alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
}

/// The stable name of an incident, `rule:brand:group:id`, safe by construction: each
/// part is [`key_part`]-encoded, so a group made of hostile text (an author with a line
/// feed) gives a key that fits in any header, log line or file name.
pub fn incident_key(rule: &str, brand: &str, group: &str, id: i64) -> String {
    format!(
        "{}:{}:{}:{id}",
        key_part(rule),
        key_part(brand),
        key_part(group)
    )
}

/// Longest encoded part of a key; a longer one is cut and ends with a hash of the whole.
const MAX_KEY_PART: usize = 64;

/// `s` percent-encoded except for letters, digits, `-._~` and `:` (visible ASCII only),
/// then cut to [`MAX_KEY_PART`] with a hash of `s` so distinct values stay distinct.
pub fn key_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() <= MAX_KEY_PART {
        return out;
    }
    // Cut before a %XX triplet, never inside one.
    let mut end = MAX_KEY_PART - 17;
    while out[..end].ends_with('%') || out[..end - 1].ends_with('%') {
        end -= 1;
    }
    format!(
        "{}~{}",
        &out[..end],
        &crate::mention::hash_id("key", s)[..16]
    )
}

/// A value safe in an HTTP or mail header: visible ASCII stays (so a key made by
/// [`incident_key`] is unchanged), anything else is percent-encoded, and a very long value
/// is cut with a hash. It protects keys stored before keys were safe by construction.
pub fn header_safe(s: &str) -> String {
    if s.len() <= 200 && s.bytes().all(|b| b.is_ascii_graphic()) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > 200 {
        let mut end = 160;
        while out[..end].ends_with('%') || out[..end - 1].ends_with('%') {
            end -= 1;
        }
        out = format!("{}~{}", &out[..end], crate::mention::hash_id("key", s));
    }
    out
}

/// The key of one delivery — an alert to one notifier of one installation — sent as the
/// webhook `Idempotency-Key` and hashed into the e-mail Message-ID: the same on every
/// resend of that delivery, different for another alert, notifier or installation, so a
/// receiver can drop copies without ever dropping a message it has not seen.
pub fn delivery_key(installation: &str, notifier: &str, alert_key: &str) -> String {
    format!(
        "{}/{}@{}",
        header_safe(alert_key),
        key_part(notifier),
        key_part(installation)
    )
}

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    New,
    Update,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Update => "update",
            Status::Resolved => "resolved",
        }
    }
}

/// The numbers a windowed rule looked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Stats {
    /// Mentions in the window.
    pub count: u64,
    pub window: String,
    /// spike: mentions expected in such a window (from the baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
    /// sentiment_shift: share of negative mentions (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_share: Option<f64>,
    /// The rule's level: threshold and spike `min_count`, flatline's minimum,
    /// sentiment_shift's share in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMention {
    pub id: String,
    pub title: String,
    pub url: String,
    pub site: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Display name, when the source gives one beside the handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    pub published_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<crate::mention::Sentiment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Excerpt cut into plain and highlighted pieces; each notifier escapes each piece
    /// for its own format.
    pub excerpt: Vec<Fragment>,
    pub terms: Vec<String>,
}

/// A piece of text, highlighted or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}

impl AlertMention {
    pub fn new(m: &Mention, brand: &str, extra_terms: &[String]) -> Self {
        let mut terms: Vec<String> = m.hit(brand).map(|h| h.terms.clone()).unwrap_or_default();
        terms.extend(extra_terms.iter().cloned());
        terms.sort();
        terms.dedup();
        let body = if m.text.is_empty() { &m.title } else { &m.text };
        AlertMention {
            id: m.id.clone(),
            title: if m.title.is_empty() {
                text::truncate(&m.text, 80)
            } else {
                m.title.clone()
            },
            url: m.url.clone(),
            site: m.site.clone(),
            source: m.source.clone(),
            author: m.author.clone(),
            author_name: m.author_name.clone(),
            published_at: m.published_at,
            reach: m.reach,
            sentiment: m.sentiment,
            language: m.language.clone(),
            excerpt: excerpt(body, &terms, EXCERPT_LEN),
            terms,
        }
    }

    /// The excerpt as plain text.
    pub fn excerpt_text(&self) -> String {
        self.excerpt.iter().map(|f| f.text.as_str()).collect()
    }
}

/// Cuts a window of about `max` bytes around the first matched word, split into
/// highlighted and plain pieces.
pub fn excerpt(body: &str, terms: &[String], max: usize) -> Vec<Fragment> {
    let mut hits = Vec::new();
    text::tokenize(body, |t| {
        if terms.iter().any(|x| x == t.text) {
            hits.push((t.start, t.end));
        }
    });
    let floor = |mut i: usize| {
        while !body.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let mut start = match hits.first() {
        Some(&(s, _)) if s > max / 3 => floor(s - max / 3),
        _ => 0,
    };
    // Start on a word boundary.
    if start > 0
        && let Some(sp) = body[start..].find(char::is_whitespace)
        && sp < 30
    {
        start += sp + 1;
    }
    let end = floor((start + max).min(body.len()));
    let mut out = Vec::new();
    let mut push = |text: &str, hit: bool| {
        if !text.is_empty() {
            out.push(Fragment {
                text: text.to_string(),
                hit,
            });
        }
    };
    if start > 0 {
        push("…", false);
    }
    let mut cursor = start;
    for &(s, e) in hits.iter().filter(|&&(s, e)| s >= start && e <= end) {
        push(&body[cursor..s], false);
        push(&body[s..e], true);
        cursor = e;
    }
    push(&body[cursor..end], false);
    if end < body.len() {
        push("…", false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: &[Fragment]) -> String {
        f.iter()
            .map(|f| {
                if f.hit {
                    format!("[{}]", f.text)
                } else {
                    f.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn highlights_folded_terms_in_original_text() {
        let f = excerpt(
            "Le SCANDALE Acmé continue",
            &["acme".into(), "scandale".into()],
            200,
        );
        assert_eq!(render(&f), "Le [SCANDALE] [Acmé] continue");
    }

    #[test]
    fn window_around_first_hit() {
        let body = format!("{} acme {}", "blabla ".repeat(100), "fin ".repeat(100));
        let r = render(&excerpt(&body, &["acme".into()], 100));
        assert!(r.starts_with('…') && r.ends_with('…'), "{r}");
        assert!(r.contains("[acme]"));
        assert!(r.len() < 120, "{}", r.len());
    }

    #[test]
    fn keys_from_hostile_groups_are_safe_and_distinct() {
        let k = incident_key(
            "crisis",
            "acme",
            "author:site:c@example.org (line\nfeed)",
            3,
        );
        assert_eq!(
            k,
            "crisis:acme:author:site:c%40example.org%20%28line%0Afeed%29:3"
        );
        assert!(k.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(header_safe(&k), k, "a made key passes unchanged");
        let long_a = format!("author:{}a", "x".repeat(500));
        let long_b = format!("author:{}b", "x".repeat(500));
        let (a, b) = (key_part(&long_a), key_part(&long_b));
        assert!(a.len() <= MAX_KEY_PART && a != b, "{a} {b}");
        // A cut never splits an escape.
        let accents = key_part(&"é".repeat(40));
        assert!(accents.len() <= MAX_KEY_PART);
        assert!(
            !accents.split('~').next().unwrap().ends_with('%'),
            "{accents}"
        );
        // An old key with a line feed is made safe when sent.
        assert_eq!(header_safe("a\nb"), "a%0Ab");
        let d = delivery_key("f00d", "hook", "crisis:acme::1:1");
        assert_eq!(d, "crisis:acme::1:1/hook@f00d");
        assert_ne!(d, delivery_key("beef", "hook", "crisis:acme::1:1"));
        assert_ne!(d, delivery_key("f00d", "mail-fr", "crisis:acme::1:1"));
    }

    #[test]
    fn no_hit_gives_the_beginning() {
        assert_eq!(render(&excerpt("court", &[], 100)), "court");
    }
}
