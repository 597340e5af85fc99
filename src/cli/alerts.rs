//! `veille alerts`: the outbox, and what to do with a delivery that failed (retry, requeue, drop).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Config;
use crate::model::redact;
use crate::store::state::{Deliveries, State};
use crate::text;

pub fn alerts(c: &Config, limit: usize) -> anyhow::Result<()> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let mut out = std::io::stdout().lock();
    for row in state.alerts(limit)? {
        let a = &row.alert;
        writeln!(
            out,
            "#{:<5} {}  {:<8} {:<20} {}",
            row.seq,
            a.created_at.format("%Y-%m-%d %H:%M"),
            a.severity,
            a.rule,
            text::single_line(&text::truncate(&a.summary, 100))
        )?;
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
                .map(|e| format!(" — {}", text::single_line(&redact::scrub(e))))
                .unwrap_or_default();
            writeln!(
                out,
                "        → {notifier}: {state} after {attempts} attempt(s){err}"
            )?;
        }
    }
    Ok(())
}

/// `veille alerts retry ID`: the deliveries of alert #ID back in the queue.
pub fn alerts_retry(c: &Config, seq: i64, notifier: Option<&str>) -> anyhow::Result<ExitCode> {
    alerts_requeue(c, Deliveries::Alert { seq, notifier })
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
pub fn alerts_requeue(c: &Config, which: Deliveries<'_>) -> anyhow::Result<ExitCode> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let n = state.requeue_deliveries(which, chrono::Utc::now())?;
    if n == 0 {
        eprintln!(
            "{}: nothing to re-queue (no pending, failed or dropped delivery): see `veille alerts`",
            described(which)
        );
        return Ok(ExitCode::from(2));
    }
    println!(
        "{}: {n} delivery(ies) re-queued; the daemon sends them within 30 s",
        described(which)
    );
    Ok(ExitCode::SUCCESS)
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
        let mut known: Vec<&str> = c.notifiers.keys().map(String::as_str).collect();
        known.sort();
        eprintln!(
            "--to {to}: no such notifier (configured: {})",
            known.join(", ")
        );
        // Something the user named does not exist (shared exit codes).
        return Ok(ExitCode::from(3));
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
        eprintln!(
            "nothing to re-route (no pending, failed or dropped delivery): see `veille alerts`"
        );
        return Ok(ExitCode::from(2));
    }
    println!("the daemon sends them within 30 s");
    Ok(ExitCode::SUCCESS)
}

/// `veille alerts drop ID|--all-failed`: deliveries given up, never sent.
pub fn alerts_drop(c: &Config, which: Deliveries<'_>) -> anyhow::Result<ExitCode> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let n = state.drop_deliveries(which, "dropped with `veille alerts drop`")?;
    if n == 0 {
        eprintln!(
            "{}: nothing to drop (no pending or failed delivery): see `veille alerts`",
            described(which)
        );
        return Ok(ExitCode::from(2));
    }
    println!("{}: {n} delivery(ies) dropped", described(which));
    Ok(ExitCode::SUCCESS)
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
        eprintln!("no delivery waits for a notifier removed from the config");
        return Ok(ExitCode::from(2));
    }
    match (drop, to) {
        (_, Some(to)) => alerts_reroute(c, &which, &to),
        (true, None) => {
            let mut code = ExitCode::SUCCESS;
            for w in which {
                code = alerts_drop(c, w)?;
            }
            Ok(code)
        }
        (false, None) => alerts_requeue(c, which[0]),
    }
}
