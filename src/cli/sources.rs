//! `veille sources` (each source's health) and `veille sources test ID` (one poll, nothing saved).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::config::Config;
use crate::model::{Duration, redact};
use crate::not_found;
use crate::sources::quota::{Budgets, Metered, Spend};
use crate::store::state::State;
use crate::text;

use super::table::{Align, Table, clean};

/// "3m ago", "in 2h": short relative times for tables.
fn relative(d: Option<chrono::DateTime<Utc>>, now: chrono::DateTime<Utc>) -> String {
    let Some(d) = d else { return "never".into() };
    let secs = (d - now).num_seconds();
    let abs = secs.unsigned_abs();
    let span = if abs < 90 {
        format!("{abs}s")
    } else if abs < 90 * 60 {
        format!("{}m", abs / 60)
    } else if abs < 36 * 3600 {
        format!("{}h", abs / 3600)
    } else {
        format!("{}d", abs / 86_400)
    };
    if secs < 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// `veille sources [--json]`: every configured source with its state.
pub fn sources(c: &Config, json: bool) -> anyhow::Result<()> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let rows = state.sources()?;
    let now = Utc::now();
    let unhealthy_after = c.crawl.unhealthy_after.chrono();
    let budgets = Budgets::new(&c.quota, &c.sources);
    // (this source's spend today, its kind's, the budget, the API) of a metered source.
    let quota = |s: &crate::sources::Source| {
        let m = Metered::of(s)?;
        let b = budgets.of(m)?;
        let day = m.day(now);
        let spend_of = |id: &str| {
            rows.iter()
                .find(|r| r.id == id)
                .map_or(0, |r| Spend::on(r.state.quota, day))
        };
        let spent: u64 = c
            .sources
            .iter()
            .filter(|p| Metered::of(p) == Some(m))
            .map(|p| spend_of(&p.id))
            .sum();
        Some((spend_of(&s.id), spent, b, m))
    };
    let mut out = std::io::stdout().lock();
    let mut t = Table::new(&[
        ("source", Align::Left, 32),
        ("kind", Align::Left, 24),
        ("health", Align::Left, 10),
        ("every", Align::Left, 12),
        ("last ok", Align::Left, 12),
        ("next poll", Align::Left, 20),
        ("failures", Align::Right, 8),
        ("items", Align::Right, 9),
        ("failed", Align::Right, 7),
        ("last error", Align::Left, 100),
    ]);
    for s in &c.sources {
        let row = rows
            .iter()
            .find(|r| r.id == s.id)
            .cloned()
            .unwrap_or_default();
        let health = if !s.enabled {
            "disabled"
        } else if row.unhealthy
            || row
                .failing_since
                .is_some_and(|f| now - f >= unhealthy_after)
        {
            "UNHEALTHY"
        } else if row.failures > 0 {
            "failing"
        } else if row.last_success.is_some() {
            "ok"
        } else {
            "new"
        };
        let every = match (s.auto, row.auto_every) {
            (true, Some(secs)) => format!("auto:{}", Duration::from_secs(secs)),
            (true, None) => "auto".into(),
            _ => s.every.to_string(),
        };
        if json {
            // Errors recorded by an older veille may hold a secret.
            let v = serde_json::json!({
                "id": s.id,
                "kind": s.kind_name(),
                "health": health.to_lowercase(),
                "every": every,
                "failures": row.failures,
                "items_seen": row.items_seen,
                "items_failed": row.items_failed,
                "last_polled": row.last_polled,
                "last_success": row.last_success,
                "next_due": row.next_due,
                "last_error": row.last_error.as_deref().map(redact::scrub),
                "last_error_at": row.last_error_at,
                "last_item_error": row.last_item_error.as_deref().map(redact::scrub),
                "last_item_error_at": row.last_item_error_at,
                "old_items": row.old_items,
                "old_items_at": row.old_items_at,
                "quota": quota(s).map(|(mine, spent, b, m)| serde_json::json!({
                    "api": m.name(),
                    "spent_today": mine,
                    "kind_spent_today": spent,
                    "daily_budget": b.daily,
                    "resets_at": m.next_reset(now),
                })),
            });
            writeln!(out, "{v}")?;
            continue;
        }
        t.row([
            s.id.clone(),
            s.kind_name().to_string(),
            health.to_string(),
            every,
            relative(row.last_success, now),
            match (row.next_due, row.failures) {
                (None, _) => "-".into(),
                // After errors the next poll is the backoff (or the server's Retry-After).
                (Some(_), 0) => relative(row.next_due, now),
                (Some(_), _) => format!("{} (backoff)", relative(row.next_due, now)),
            },
            row.failures.to_string(),
            row.items_seen.to_string(),
            row.items_failed.to_string(),
            row.last_error
                .map(|e| {
                    format!(
                        "{} ({})",
                        redact::scrub(&e),
                        relative(row.last_error_at, now)
                    )
                })
                .unwrap_or_default(),
        ]);
        // A metered API: what the kind spent of its daily budget, and when it resets.
        if let Some((mine, spent, b, m)) = quota(s) {
            t.note(&format!(
                "{}: quota: {mine} {} today by this source, {spent} of {} for {} source(s) of the kind; resets {}",
                s.id,
                match m {
                    Metered::YouTube => "units",
                    Metered::StackExchange => "requests",
                },
                b.daily,
                b.sources,
                relative(Some(m.next_reset(now)), now),
            ));
        }
        // A poll that brought only old items: why a source shows nothing new.
        if let Some(n) = row.old_items {
            t.note(&format!(
                "{}: last poll ({}): its {n} item(s) were all older than the look-back (backfill = \"{}\"): none alerts (skipped on a first poll)",
                s.id,
                relative(row.old_items_at, now),
                s.backfill
            ));
        }
        // Items dropped by a failure: the source goes on, the last one is shown.
        if let Some(e) = &row.last_item_error {
            t.note(&format!(
                "{}: last failed item ({}): {}",
                s.id,
                relative(row.last_item_error_at, now),
                text::truncate(e, 160)
            ));
        }
    }
    if !json {
        t.write(&mut out)?;
    }
    Ok(())
}

/// `veille sources test ID`: fetches one source now and prints what it yields; stores
/// nothing.
pub async fn source_test(c: &Config, id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let Some(source) = c.sources.iter().find(|s| s.id == id) else {
        not_found!(
            "unknown source `{id}`: configured sources are {}",
            super::ids(c.sources.iter().map(|s| s.id.as_str()))
        );
    };
    let http = crate::crawl::Http::new(&c.crawl)?;
    let matcher = crate::matching::Matcher::new(c.brands.clone());
    let languages = crate::enrich::Enricher::new(&c.enrich);
    let started = std::time::Instant::now();
    let poll = match source
        .poll(&http, &crate::sources::SourceState::default(), Utc::now())
        .await
    {
        Ok(p) => p,
        // A runtime failure (status 1), printed by main.
        Err(e) => anyhow::bail!("{id}: {e}"),
    };
    let mut out = std::io::stdout().lock();
    if json {
        for m in &poll.mentions {
            let mut m = m.clone();
            languages.language(&mut m);
            let brands: Vec<String> = matcher
                .match_mention(&m)
                .into_iter()
                .map(|h| h.brand)
                .collect();
            let mut v = serde_json::to_value(&m)?;
            v["matched_brands"] = brands.into();
            writeln!(out, "{v}")?;
        }
        // What went wrong goes to stderr, the items stay parseable.
        for w in &poll.warnings {
            eprintln!("warning: {}", clean(w));
        }
        for f in &poll.failed {
            eprintln!(
                "item failed ({}): {} ({})",
                f.stage,
                clean(&f.error),
                clean(&f.url)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{id} ({}): {} item(s), {} bytes, {} ms",
        source.kind_name(),
        poll.mentions.len(),
        poll.bytes,
        started.elapsed().as_millis()
    )?;
    if let Some(m) = Metered::of(source) {
        writeln!(
            out,
            "this test spent {} of the daily {} quota",
            poll.quota_units,
            m.name()
        )?;
    }
    if let Some((hub, topic)) = &poll.hub {
        writeln!(out, "WebSub hub {hub} for {topic}")?;
    }
    for m in &poll.mentions {
        // As the pipeline does: the language first, then the brands.
        let mut m = m.clone();
        languages.language(&mut m);
        let m = &m;
        let brands: Vec<String> = matcher
            .match_mention(m)
            .into_iter()
            .map(|h| h.brand)
            .collect();
        writeln!(
            out,
            "\n{}  {}",
            crate::model::localtime::display(m.published_at, &c.daemon.tz),
            clean(&m.title)
        )?;
        writeln!(
            out,
            "    by {} · {}{}",
            clean(m.author.as_deref().unwrap_or("(no author)")),
            clean(&m.url),
            m.language
                .as_deref()
                .map(|l| format!(" · {l}"))
                .unwrap_or_default()
        )?;
        writeln!(out, "    {}", clean(&text::truncate(&m.text, 160)))?;
        writeln!(
            out,
            "    brands: {}",
            if brands.is_empty() {
                "none".into()
            } else {
                brands.join(", ")
            }
        )?;
    }
    for w in &poll.warnings {
        writeln!(out, "\nwarning: {}", clean(w))?;
    }
    for f in &poll.failed {
        writeln!(
            out,
            "\nitem failed ({}): {} ({})",
            f.stage,
            clean(&f.error),
            clean(&f.url)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
