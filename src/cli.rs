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
        label: None,
        lang: None,
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
        "{:<20} {:<8} {:<10} {:<11} {:<11} {:<10} {:>8} {:>7}  last error",
        "source", "kind", "health", "every", "last ok", "next", "failures", "items"
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
            "{:<20} {:<8} {:<10} {:<11} {:<11} {:<10} {:>8} {:>7}  {}",
            text::truncate(&s.id, 20),
            s.kind_name(),
            health,
            every,
            relative(row.last_success, now),
            if row.next_due.is_some() {
                relative(row.next_due, now)
            } else {
                "-".into()
            },
            row.failures,
            row.items_seen,
            row.last_error
                .map(|e| format!(
                    "{} ({})",
                    text::truncate(&text::single_line(&e), 80),
                    relative(row.last_error_at, now)
                ))
                .unwrap_or_default()
        )?;
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
    Ok(ExitCode::SUCCESS)
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
