//! `veille alerts`: the outbox, and what to do with a delivery that failed (retry, requeue, drop).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::incidents::alert_json;
use super::table::{Align, Table};
use crate::config::Config;
use crate::model::{localtime, redact};
use crate::not_found;
use crate::store::state::{Deliveries, State};

/// `veille alerts [--json]`: the latest alerts, each with its deliveries.
pub fn alerts(c: &Config, limit: usize, json: bool) -> anyhow::Result<()> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let rows = state.alerts(limit)?;
    let mut out = std::io::stdout().lock();
    if json {
        for row in &rows {
            writeln!(out, "{}", alert_json(row))?;
        }
        return Ok(());
    }
    let mut t = Table::new(&[
        ("alert", Align::Left, 10),
        ("created", Align::Left, 24),
        ("severity", Align::Left, 8),
        ("rule", Align::Left, 30),
        ("summary", Align::Left, 100),
    ]);
    for row in &rows {
        let a = &row.alert;
        t.row([
            format!("#{}", row.seq),
            localtime::display(a.created_at, &c.daemon.tz),
            a.severity.to_string(),
            a.rule.clone(),
            a.summary.clone(),
        ]);
        for (notifier, state, attempts, err) in &row.deliveries {
            // Errors recorded by an older veille may hold a secret or a line break.
            let err = err
                .as_deref()
                .map(|e| format!(" — {}", redact::scrub(e)))
                .unwrap_or_default();
            t.note(&format!(
                "→ {notifier}: {state} after {attempts} attempt(s){err}"
            ));
        }
    }
    t.write(&mut out)?;
    Ok(())
}

/// `veille alerts retry ID`: the deliveries of alert #ID back in the queue; the status
/// the command ends with.
pub fn alerts_retry(c: &Config, seq: i64, notifier: Option<&str>) -> anyhow::Result<ExitCode> {
    match alerts_requeue(c, Deliveries::Alert { seq, notifier }) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.is::<super::CliError>() => {
            eprintln!("{e}");
            Ok(super::status_of(&e).0)
        }
        Err(e) => Err(e),
    }
}

/// What a re-queue or drop acted on, for its messages.
fn described(which: Deliveries<'_>) -> String {
    let to = |n: Option<&str>| n.map(|n| format!(" to {n}")).unwrap_or_default();
    match which {
        Deliveries::Alert { seq, notifier } => format!("alert #{seq}{}", to(notifier)),
        Deliveries::AllFailed { notifier } => format!("failed deliveries{}", to(notifier)),
    }
}

/// `veille alerts retry ID|--all-failed`: deliveries back in the queue, due now.
pub fn alerts_requeue(c: &Config, which: Deliveries<'_>) -> anyhow::Result<()> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let n = state.requeue_deliveries(which, chrono::Utc::now())?;
    if n == 0 {
        not_found!(
            "{}: nothing to re-queue (no pending, failed or dropped delivery): see `veille alerts`",
            described(which)
        );
    }
    writeln!(
        std::io::stdout().lock(),
        "{}: {n} delivery(ies) re-queued; the daemon sends them within 30 s",
        described(which)
    )?;
    Ok(())
}

/// `veille alerts drop ID|--all-failed`: deliveries given up, never sent.
pub fn alerts_drop(c: &Config, which: Deliveries<'_>) -> anyhow::Result<()> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let n = state.drop_deliveries(which, "dropped with `veille alerts drop`")?;
    if n == 0 {
        not_found!(
            "{}: nothing to drop (no pending or failed delivery): see `veille alerts`",
            described(which)
        );
    }
    writeln!(
        std::io::stdout().lock(),
        "{}: {n} delivery(ies) dropped",
        described(which)
    )?;
    Ok(())
}
