//! `veille search` and `veille authors`: what the index holds, filtered.

use std::io::Write;
use std::process::ExitCode;

use chrono::Utc;

use crate::config::Config;
use crate::matching::Query;
use crate::matching::SearchRequest;
use crate::model::Duration;
use crate::text;

use super::*;

/// Filters shared by `veille search` and `veille authors`.
#[derive(Debug, Default)]
pub struct Filters {
    pub brand: Option<String>,
    pub source: Option<String>,
    pub sentiment: Option<String>,
    pub lang: Option<String>,
    pub since: Option<When>,
    pub until: Option<When>,
}

/// Checks the filters; a problem is printed and gives `Err(exit code)`.
fn request(c: &Config, f: Filters, query: Option<Query>) -> Result<SearchRequest, ExitCode> {
    if let Some(b) = &f.brand
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
        return Err(ExitCode::from(2));
    }
    let label = match &f.sentiment {
        Some(s) => match crate::mention::Label::parse(s) {
            Some(l) => Some(l.as_str().to_string()),
            None => {
                eprintln!("unknown sentiment `{s}`: expected negative, neutral or positive");
                return Err(ExitCode::from(2));
            }
        },
        None => None,
    };
    let now = Utc::now();
    Ok(SearchRequest {
        query,
        label,
        lang: f.lang,
        brand: f.brand,
        source: f.source,
        source_kinds: Vec::new(),
        langs: Vec::new(),
        since: f.since.map(|w| w.at(now)),
        until: f.until.map(|w| w.at(now)),
        limit: 20,
        offset: 0,
    })
}

pub fn search(
    c: &Config,
    f: Filters,
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
    let mut req = match request(c, f, query) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    req.limit = limit;
    let index = open_index(c)?;
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
        let tone = m
            .sentiment
            .map(|s| format!(" {} {:+.2}", s.label.as_str(), s.score))
            .unwrap_or_default();
        writeln!(out, "{:18}{}  [{}]{tone}", "", m.url, brands.join(", "))?;
    }
    writeln!(out, "{} of {} mention(s)", found.len(), total)?;
    Ok(ExitCode::SUCCESS)
}

/// `veille authors`: authors ranked by mentions × reach over a period, from the index.
pub fn authors(c: &Config, brand: &str, since: Duration, limit: usize) -> anyhow::Result<ExitCode> {
    let f = Filters {
        brand: Some(brand.to_string()),
        since: Some(When::Ago(since)),
        ..Default::default()
    };
    let mut req = match request(c, f, None) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    req.limit = 100_000;
    let index = open_index(c)?;
    // author key → (name, mentions, best reach, negative mentions)
    let mut by: std::collections::HashMap<String, (String, u64, u64, u64)> =
        std::collections::HashMap::new();
    for m in index.search(&req)? {
        let Some(key) = m.author_key() else { continue };
        let e = by.entry(key).or_insert((
            m.author_name
                .clone()
                .or(m.author.clone())
                .unwrap_or_default(),
            0,
            0,
            0,
        ));
        e.1 += 1;
        e.2 = e.2.max(m.reach.unwrap_or(0));
        if m.sentiment
            .is_some_and(|s| s.label == crate::mention::Label::Negative)
        {
            e.3 += 1;
        }
    }
    let mut rows: Vec<(String, (String, u64, u64, u64))> = by.into_iter().collect();
    rows.sort_by_key(|(k, (_, n, reach, _))| (std::cmp::Reverse(n * (*reach).max(1)), k.clone()));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<40} {:<24} {:>8} {:>10} {:>9} {:>12}",
        "author", "name", "mentions", "reach", "negative", "influence"
    )?;
    for (key, (name, n, reach, neg)) in rows.into_iter().take(limit) {
        writeln!(
            out,
            "{:<40} {:<24} {n:>8} {reach:>10} {neg:>9} {:>12}",
            text::truncate(&key, 40),
            text::truncate(&text::single_line(&name), 24),
            n * reach.max(1)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
