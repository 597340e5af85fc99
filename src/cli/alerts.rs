//! `veille alerts`: the outbox, and what to do with a delivery that failed (retry, requeue, drop).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::incidents::configured;
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
        let configured = configured(c);
        for row in &rows {
            writeln!(out, "{}", row.json(&configured))?;
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
            // Waiting for a notifier removed from the config: it would wait forever.
            let orphaned;
            let state = if state == "pending" && !c.notifiers.contains_key(notifier) {
                orphaned =
                    format!("orphaned: notifier {notifier} removed from the config, pending");
                &orphaned
            } else {
                state
            };
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
        Deliveries::Waiting { notifier } => format!("deliveries waiting for {notifier}"),
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

/// The deliveries waiting (pending or failed) for notifiers no longer in the config.
pub fn orphaned(c: &Config) -> anyhow::Result<Vec<String>> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    Ok(state
        .pending_notifiers()?
        .into_iter()
        .filter(|n| !c.notifiers.contains_key(n))
        .collect())
}

/// `veille alerts retry ID|--all-failed|--all-orphaned --to NOTIFIER`: deliveries moved to
/// another notifier (the old ones show as dropped, "re-routed to …").
pub fn alerts_reroute(c: &Config, which: &[Deliveries<'_>], to: &str) -> anyhow::Result<ExitCode> {
    if !c.notifiers.contains_key(to) {
        not_found!(
            "--to {to}: no such notifier (configured: {})",
            super::ids(c.notifiers.keys().map(String::as_str))
        );
    }
    let mut state = State::open(&c.state_path()).context("cannot open the state database")?;
    let mut total = 0;
    for w in which {
        let n = state.reroute_deliveries(*w, to, chrono::Utc::now())?;
        if n > 0 {
            println!("{}: {n} delivery(ies) re-routed to {to}", described(*w));
        }
        total += n;
    }
    if total == 0 {
        not_found!(
            "nothing to re-route (no pending, failed or dropped delivery): see `veille alerts`"
        );
    }
    println!("the daemon sends them within 30 s");
    Ok(ExitCode::SUCCESS)
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

/// `veille alerts retry|drop`: which deliveries, then re-queue, re-route or drop them.
#[allow(clippy::too_many_arguments)]
pub fn alerts_act(
    c: &Config,
    drop: bool,
    id: Option<i64>,
    notifier: Option<&str>,
    all_failed: bool,
    all_orphaned: bool,
    to: Option<String>,
) -> anyhow::Result<ExitCode> {
    let orphaned = if all_orphaned {
        orphaned(c)?
    } else {
        Vec::new()
    };
    let which: Vec<Deliveries<'_>> = match id {
        _ if all_orphaned => orphaned
            .iter()
            .map(|n| Deliveries::Waiting { notifier: n })
            .collect(),
        Some(seq) if !all_failed => vec![Deliveries::Alert { seq, notifier }],
        _ => vec![Deliveries::AllFailed { notifier }],
    };
    if which.is_empty() {
        not_found!("no delivery waits for a notifier removed from the config");
    }
    match (drop, to) {
        (_, Some(to)) => return alerts_reroute(c, &which, &to),
        (true, None) => {
            for w in which {
                alerts_drop(c, w)?;
            }
        }
        (false, None) => alerts_requeue(c, which[0])?,
    }
    Ok(ExitCode::SUCCESS)
}
