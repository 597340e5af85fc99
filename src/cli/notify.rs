//! `veille notify test NOTIFIER`: one clearly labelled test message through the real path
//! — the notifier's templates and language, its HTTP client or SMTP transport, the same
//! classification of the answer as the outbox — and what came of it.

use std::process::ExitCode;

use chrono::Utc;

use crate::config::Config;
use crate::crawl::Http;
use crate::model::{Alert, Severity, Status, redact};

/// Exit status when the message was not delivered (a runtime failure, shared exit codes).
const NOT_DELIVERED: u8 = 1;
/// Exit status when the notifier does not exist (something named that does not exist).
const NO_SUCH_NOTIFIER: u8 = 3;
/// The installation part of a test message's key: a test never touches the state
/// database (run by another user than the daemon, it could leave files the daemon cannot
/// write); its key holds the time, so every test is a new message.
const TEST_INSTALLATION: &str = "notify-test";

/// The test message: about veille itself, severity info, saying it is a test.
pub fn test_alert(notifier: &str, now: chrono::DateTime<Utc>) -> Alert {
    let key = format!("test:{notifier}:{}", now.timestamp_millis());
    Alert {
        key: crate::model::alert::header_safe(&key),
        rule: "test".into(),
        rule_kind: "ops".into(),
        brand: "veille".into(),
        brand_name: "veille itself".into(),
        severity: Severity::Info,
        created_at: now,
        summary: format!(
            "TEST message from veille to notifier {notifier}: if you read this, it works. Nothing happened, nothing to do."
        ),
        description: Some("Sent by `veille notify test`.".into()),
        mentions: Vec::new(),
        total_mentions: 0,
        status: Status::New,
        incident: 0,
        incident_key: crate::model::alert::header_safe(&key),
        group: None,
        stats: None,
        batch: None,
        incident_summary: None,
    }
}

/// Takes the config by value: an e-mail notifier's connection pool must be dropped inside
/// the runtime (lettre spawns a task when it closes).
pub async fn notify_test(c: Config, name: &str) -> anyhow::Result<ExitCode> {
    let Some(n) = c.notifiers.get(name) else {
        let mut known: Vec<&str> = c.notifiers.keys().map(String::as_str).collect();
        known.sort();
        eprintln!(
            "unknown notifier `{name}`: configured: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        return Ok(ExitCode::from(NO_SUCH_NOTIFIER));
    };
    let http = Http::new(&c.crawl)?;
    println!("{name} ({}): sending a test message…", n.kind_name());
    match n
        .deliver(&test_alert(name, Utc::now()), &http, TEST_INSTALLATION)
        .await
    {
        Ok(()) => {
            println!("{name}: delivered");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // Delivery errors are scrubbed when made; scrubbed again, as everything shown.
            let what = if e.retryable {
                "a temporary error: the outbox would try again"
            } else {
                "a permanent error: the outbox would give up"
            };
            eprintln!(
                "{name}: not delivered, {what}: {}",
                crate::text::single_line(&redact::scrub(&e.message))
            );
            Ok(ExitCode::from(NOT_DELIVERED))
        }
    }
}
