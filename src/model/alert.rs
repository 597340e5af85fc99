//! Alerts as they are stored in the outbox and delivered: what a rule raised, with the
//! mentions behind it copied in (titles, links, highlighted excerpts), so delivery never
//! depends on the index and a stored alert can be sent again as it is.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Mentions carried in one alert; the total count is kept beside them.
pub const MAX_MENTIONS_PER_ALERT: usize = 20;

/// How urgent an alert is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// match and new_source: the mentions since the incident's previous message (those
    /// held back by `realert` included), how to find those not shown in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<super::Batch>,
    /// Resolution notices: the incident as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_summary: Option<super::IncidentSummary>,
}

impl Alert {
    /// A made-up alert with one mention: a custom e-mail template is rendered with it
    /// when the config is loaded (a template that fails says so then, not at the first
    /// crisis), and tests start from it.
    pub fn sample() -> Alert {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 10, 8, 0, 0).unwrap();
        Alert {
            key: "acme-crisis:acme:1".into(),
            rule: "acme-crisis".into(),
            rule_kind: "match".into(),
            brand: "acme".into(),
            brand_name: "Acme".into(),
            severity: Severity::Warning,
            created_at: at,
            summary: "new mention of Acme".into(),
            description: None,
            mentions: vec![AlertMention {
                id: "m1".into(),
                title: "Acme en panne".into(),
                url: "https://news.example.com/acme".into(),
                site: "news.example.com".into(),
                source: "news".into(),
                author: Some("Jane".into()),
                author_name: None,
                published_at: at,
                reach: Some(12_500),
                sentiment: Some(crate::mention::Sentiment {
                    score: -0.8,
                    label: crate::mention::Label::Negative,
                    confidence: None,
                }),
                language: Some("fr".into()),
                excerpt: vec![
                    Fragment {
                        text: "Le service ".into(),
                        hit: false,
                    },
                    Fragment {
                        text: "Acme".into(),
                        hit: true,
                    },
                    Fragment {
                        text: " est en panne".into(),
                        hit: false,
                    },
                ],
                terms: vec!["acme".into()],
            }],
            total_mentions: 1,
            status: Status::New,
            incident: 1,
            incident_key: "acme-crisis:acme::1".into(),
            group: None,
            stats: None,
            batch: None,
            incident_summary: None,
        }
    }
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
    /// The excerpt as plain text.
    pub fn excerpt_text(&self) -> String {
        self.excerpt.iter().map(|f| f.text.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
