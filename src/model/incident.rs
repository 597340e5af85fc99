//! Incidents and silences as rules and people see them: plain records the store keeps.

use chrono::{DateTime, Utc};

/// An incident: alerts of one rule, brand and group, from the first to the resolution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Incident {
    pub id: i64,
    pub rule: String,
    pub brand: String,
    pub group: String,
    pub state: String,
    pub opened_at: DateTime<Utc>,
    pub last_true_at: DateTime<Utc>,
    pub last_alert_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub alerts: i64,
    /// Times the condition held again without a message (within `realert`, or
    /// acknowledged); the mentions of those times wait for the incident's next message.
    pub suppressed: i64,
    pub acked_at: Option<DateTime<Utc>>,
    pub acked_by: Option<String>,
}

/// A silence: alerts of the rule and brand (None: any) are recorded, not delivered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Silence {
    pub id: i64,
    pub rule: Option<String>,
    pub brand: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    pub expired_at: Option<DateTime<Utc>>,
    /// Who added it: the user running `veille silence add`, or the API token's name.
    pub author: Option<String>,
}

impl Silence {
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.expired_at.is_none() && self.starts_at <= now && now < self.ends_at
    }

    pub fn covers(&self, rule: &str, brand: &str) -> bool {
        self.rule.as_deref().is_none_or(|r| r == rule)
            && self.brand.as_deref().is_none_or(|b| b == brand)
    }
}
