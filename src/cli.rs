//! What the read-only commands print: `veille search`, `veille sources`, `veille alerts`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::config::{Config, Duration};
use crate::matching::Query;
use crate::store::index::{MentionIndex, SearchRequest};
use crate::store::state::State;
use crate::text;

fn open_index(c: &Config) -> anyhow::Result<MentionIndex> {
    let dir = c.index_dir();
    anyhow::ensure!(
        dir.join("meta.json").exists(),
        "no index in {}: veille has not run with this config yet (try `veille run --once`)",
        dir.display()
    );
    MentionIndex::open(&dir)
}

#[allow(clippy::too_many_arguments)]
pub fn search(
    c: &Config,
    brand: Option<String>,
    source: Option<String>,
    since: Option<Duration>,
    until: Option<Duration>,
    limit: usize,
    json: bool,
    query: &str,
) -> anyhow::Result<ExitCode> {
    let query = if query.trim().is_empty() {
        None
    } else {
        match Query::parse(query) {
            Ok(q) => Some(q),
            Err(e) => {
                eprintln!("invalid query: {e}");
                eprintln!("  {query}");
                eprintln!("  {}^", " ".repeat(e.column));
                return Ok(ExitCode::from(2));
            }
        }
    };
    if let Some(b) = &brand
        && c.brand(b).is_none()
    {
        eprintln!(
            "unknown brand `{b}`: configured brands are {}",
            c.brands
                .iter()
                .map(|b| b.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(ExitCode::from(2));
    }
    let now = Utc::now();
    let index = open_index(c)?;
    let req = SearchRequest {
        query,
        brand,
        source,
        since: since.map(|d| now - d.chrono()),
        until: until.map(|d| now - d.chrono()),
        limit,
        offset: 0,
    };
    let total = index.count(&req)?;
    let found = index.search(&req)?;
    let mut out = std::io::stdout().lock();
    if json {
        for m in &found {
            writeln!(out, "{}", serde_json::to_string(m)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    for m in &found {
        let brands: Vec<&str> = m.brand_ids().collect();
        writeln!(
            out,
            "{}  {:<16} {}",
            m.published_at.format("%Y-%m-%d %H:%M"),
            text::truncate(&m.source, 16),
            text::single_line(&text::truncate(&m.title, 100)),
        )?;
        writeln!(out, "{:18}{}  [{}]", "", m.url, brands.join(", "))?;
    }
    writeln!(out, "{} of {} mention(s)", found.len(), total)?;
    Ok(ExitCode::SUCCESS)
}

pub fn sources(c: &Config) -> anyhow::Result<()> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let rows = state.sources()?;
    let fmt = |d: Option<chrono::DateTime<Utc>>| {
        d.map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "never".into())
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<20} {:<8} {:<8} {:<20} {:>8} {:>8}  last error",
        "source", "kind", "every", "last success", "failures", "items"
    )?;
    for s in &c.sources {
        let row = rows
            .iter()
            .find(|r| r.id == s.id)
            .cloned()
            .unwrap_or_default();
        writeln!(
            out,
            "{:<20} {:<8} {:<8} {:<20} {:>8} {:>8}  {}",
            s.id,
            s.kind_name(),
            s.every.to_string(),
            fmt(row.last_success),
            row.failures,
            row.items_seen,
            row.last_error
                .map(|e| format!("{} ({})", text::truncate(&e, 80), fmt(row.last_error_at)))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

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
            writeln!(
                out,
                "        → {notifier}: {state} after {attempts} attempt(s){}",
                err.as_ref().map(|e| format!(" — {e}")).unwrap_or_default()
            )?;
        }
    }
    Ok(())
}
