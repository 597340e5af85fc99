//! What the demo prints while the run goes: each source as it is polled, each alert as a
//! rule raises it, each delivery as it is made — read from the run's running totals and
//! its delivery events, every 50 ms, so the stages show in the order they happen.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::ingest::Report;
use crate::outbox::DeliveryEvent;

/// Deliveries seen: (made, failed).
pub type Tally = (usize, usize);

/// Prints the run's stages until `done` turns true, then what is left; returns the
/// deliveries it saw.
pub async fn follow(
    report: Arc<Mutex<Report>>,
    mut events: mpsc::UnboundedReceiver<DeliveryEvent>,
    mut done: watch::Receiver<bool>,
) -> Tally {
    let mut polled = BTreeSet::new();
    let mut alerts = 0;
    let mut tally = (0, 0);
    loop {
        let finished = *done.borrow();
        print_new(&report, &mut polled, &mut alerts);
        while let Ok(e) = events.try_recv() {
            if e.ok {
                tally.0 += 1;
                println!("  → {} ({}): {}", e.notifier, e.kind, e.subject);
            } else {
                tally.1 += 1;
                println!(
                    "  ✗ {} ({}): {}",
                    e.notifier,
                    e.kind,
                    e.error.unwrap_or_default()
                );
            }
        }
        if finished {
            return tally;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = done.changed() => {}
        }
    }
}

fn print_new(report: &Mutex<Report>, polled: &mut BTreeSet<String>, alerts: &mut usize) {
    let r = report
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (id, s) in &r.per_source {
        if s.polls > 0 && polled.insert(id.clone()) {
            match &s.last_error {
                Some(e) => println!("  ✗ polled {id}: {e}"),
                None => println!("  ✓ polled {id:<10} {} items, {} new", s.items, s.new),
            }
        }
    }
    for a in r.alerts.iter().skip(*alerts) {
        println!(
            "  ⚑ alert [{}] {} · {}: {}",
            a.severity.as_str().to_uppercase(),
            a.brand_name,
            a.rule,
            crate::text::truncate(&a.summary, 90)
        );
        for m in a.mentions.iter().take(3) {
            println!(
                "      - {} ({})",
                crate::text::truncate(&m.title, 80),
                m.site
            );
        }
        if a.total_mentions > 3 {
            println!("      - … {} more", a.total_mentions - 3);
        }
    }
    *alerts = r.alerts.len();
}
