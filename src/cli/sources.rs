//! `veille sources` (each source's health) and `veille sources test ID` (one poll, nothing saved).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::config::Config;
use crate::model::{Duration, redact};
use crate::store::state::State;
use crate::text;

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

/// `veille sources`: every configured source with its state.
pub fn sources(c: &Config) -> anyhow::Result<()> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let rows = state.sources()?;
    let now = Utc::now();
    let unhealthy_after = c.crawl.unhealthy_after.chrono();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<20} {:<8} {:<10} {:<11} {:<11} {:<18} {:>8} {:>7} {:>6}  last error",
        "source", "kind", "health", "every", "last ok", "next poll", "failures", "items", "failed"
    )?;
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
        writeln!(
            out,
            "{:<20} {:<8} {:<10} {:<11} {:<11} {:<18} {:>8} {:>7} {:>6}  {}",
            text::truncate(&s.id, 20),
            s.kind_name(),
            health,
            every,
            relative(row.last_success, now),
            match (row.next_due, row.failures) {
                (None, _) => "-".into(),
                // After errors the next poll is the backoff (or the server's Retry-After).
                (Some(_), 0) => relative(row.next_due, now),
                (Some(_), _) => format!("{} (backoff)", relative(row.next_due, now)),
            },
            row.failures,
            row.items_seen,
            row.items_failed,
            row.last_error
                .map(|e| format!(
                    "{} ({})",
                    text::truncate(&text::single_line(&redact::scrub(&e)), 80),
                    relative(row.last_error_at, now)
                ))
                .unwrap_or_default()
        )?;
        // A poll that brought only old items: why a source shows nothing new.
        if let Some(n) = row.old_items {
            writeln!(
                out,
                "{:<20} last poll ({}): its {n} item(s) were all older than the look-back (backfill = \"{}\"): none alerts (skipped on a first poll)",
                "",
                relative(row.old_items_at, now),
                s.backfill
            )?;
        }
        // Items dropped by a failure: the source goes on, the last one is shown.
        if let Some(e) = &row.last_item_error {
            writeln!(
                out,
                "{:<20} last failed item ({}): {}",
                "",
                relative(row.last_item_error_at, now),
                text::truncate(&text::single_line(e), 160)
            )?;
        }
    }
    Ok(())
}

/// `veille sources test ID`: fetches one source now and prints what it yields; stores
/// nothing.
pub async fn source_test(c: &Config, id: &str) -> anyhow::Result<ExitCode> {
    let Some(source) = c.sources.iter().find(|s| s.id == id) else {
        eprintln!(
            "unknown source `{id}`: configured sources are {}",
            c.sources
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(ExitCode::from(2));
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
        Err(e) => {
            println!("{id}: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{id} ({}): {} item(s), {} bytes, {} ms",
        source.kind_name(),
        poll.mentions.len(),
        poll.bytes,
        started.elapsed().as_millis()
    )?;
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
            m.published_at.format("%Y-%m-%d %H:%M"),
            text::single_line(&m.title)
        )?;
        writeln!(
            out,
            "    by {} · {}{}",
            m.author.as_deref().unwrap_or("(no author)"),
            m.url,
            m.language
                .as_deref()
                .map(|l| format!(" · {l}"))
                .unwrap_or_default()
        )?;
        writeln!(
            out,
            "    {}",
            text::truncate(&text::single_line(&m.text), 160)
        )?;
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
        writeln!(out, "\nwarning: {w}")?;
    }
    for f in &poll.failed {
        writeln!(
            out,
            "\nitem failed ({}): {} ({})",
            f.stage,
            text::single_line(&f.error),
            f.url
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
