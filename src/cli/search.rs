//! `veille search` and `veille authors`: what the index holds, filtered.

use std::io::Write;

use chrono::Utc;

use super::table::{Align, Table};
use super::*;
use crate::config::Config;
use crate::matching::Query;
use crate::matching::SearchRequest;
use crate::model::localtime;
use crate::{not_found, usage};

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

/// Checks the filters: a brand or source that is not configured is an error (a typo
/// would otherwise look like "nothing was said").
fn request(c: &Config, f: Filters, query: Option<Query>) -> anyhow::Result<SearchRequest> {
    if let Some(b) = &f.brand
        && c.brand(b).is_none()
    {
        not_found!(
            "unknown brand `{b}`: configured brands are {}",
            ids(c.brands.iter().map(|b| b.id.as_str()))
        );
    }
    if let Some(s) = &f.source
        && !c.sources.iter().any(|x| &x.id == s)
    {
        not_found!(
            "unknown source `{s}`: configured sources are {}",
            ids(c.sources.iter().map(|s| s.id.as_str()))
        );
    }
    let label = match &f.sentiment {
        Some(s) => match crate::mention::Label::parse(s) {
            Some(l) => Some(l.as_str().to_string()),
            None => usage!("unknown sentiment `{s}`: expected negative, neutral or positive"),
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

/// `veille search [--json] QUERY`.
pub fn search(c: &Config, f: Filters, limit: usize, json: bool, query: &str) -> anyhow::Result<()> {
    let query_text = query;
    let query = if query.trim().is_empty() {
        None
    } else {
        match Query::parse(query) {
            Ok(q) => Some(q),
            Err(e) => usage!("invalid query: {e}\n  {query}\n  {}^", " ".repeat(e.column)),
        }
    };
    if let Some(h) = crate::matching::query::operator_hint(query_text) {
        eprintln!("hint: {h}");
    }
    let mut req = request(c, f, query)?;
    req.limit = limit;
    let index = open_index(c)?;
    let total = index.count(&req)?;
    let found = index.search(&req)?;
    let mut out = std::io::stdout().lock();
    if json {
        for m in &found {
            writeln!(out, "{}", serde_json::to_string(m)?)?;
        }
        return Ok(());
    }
    for m in &found {
        let brands: Vec<&str> = m.brand_ids().collect();
        let date = localtime::display(m.published_at, &c.daemon.tz);
        let source = table::fit(&clean(&m.source), 16);
        // Padded on display width: `{:<16}` counts characters, not columns.
        let pad = " ".repeat(16usize.saturating_sub(table::width(&source)));
        writeln!(
            out,
            "{date}  {source}{pad} {}",
            clean(&crate::text::truncate(&m.title, 100)),
        )?;
        let tone = m
            .sentiment
            .map(|s| format!(" {} {:+.2}", s.label.as_str(), s.score))
            .unwrap_or_default();
        writeln!(
            out,
            "{:w$}{}  [{}]{tone}",
            "",
            clean(&m.url),
            brands.join(", "),
            w = table::width(&date) + 2
        )?;
    }
    writeln!(out, "{} of {} mention(s)", found.len(), total)?;
    Ok(())
}

/// One author in `veille authors`.
#[derive(serde::Serialize)]
struct AuthorRow {
    /// The handle as the platform writes it.
    author: String,
    /// The display name, when the platform gives one.
    name: Option<String>,
    /// Where: the site for names on a site, the platform for global handles.
    #[serde(rename = "where")]
    place: String,
    mentions: u64,
    reach: u64,
    negative: u64,
    influence: u64,
}

/// `veille authors`: authors ranked by mentions × reach over a period, from the index.
pub fn authors(
    c: &Config,
    brand: &str,
    since: When,
    limit: usize,
    json: bool,
) -> anyhow::Result<()> {
    let f = Filters {
        brand: Some(brand.to_string()),
        since: Some(since),
        ..Default::default()
    };
    let mut req = request(c, f, None)?;
    req.limit = 100_000;
    let index = open_index(c)?;
    // The author key groups one person's mentions; people never see it.
    let mut by: std::collections::HashMap<String, AuthorRow> = std::collections::HashMap::new();
    for m in index.search(&req)? {
        let Some(key) = m.author_key() else { continue };
        let place = key.rsplit_once(':').map_or("", |(p, _)| p).to_string();
        let e = by.entry(key).or_insert_with(|| AuthorRow {
            author: m.author.clone().unwrap_or_default(),
            name: m
                .author_name
                .clone()
                .filter(|n| Some(n) != m.author.as_ref()),
            place,
            mentions: 0,
            reach: 0,
            negative: 0,
            influence: 0,
        });
        e.mentions += 1;
        e.reach = e.reach.max(m.reach.unwrap_or(0));
        e.influence = e.mentions * e.reach.max(1);
        if m.sentiment
            .is_some_and(|s| s.label == crate::mention::Label::Negative)
        {
            e.negative += 1;
        }
    }
    let mut rows: Vec<(String, AuthorRow)> = by.into_iter().collect();
    rows.sort_by(|(ka, a), (kb, b)| b.influence.cmp(&a.influence).then(ka.cmp(kb)));
    let mut out = std::io::stdout().lock();
    if json {
        for (_, r) in rows.iter().take(limit) {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        }
        return Ok(());
    }
    let mut t = Table::new(&[
        ("author", Align::Left, 32),
        ("name", Align::Left, 32),
        ("where", Align::Left, 32),
        ("mentions", Align::Right, 8),
        ("reach", Align::Right, 12),
        ("negative", Align::Right, 8),
        ("influence", Align::Right, 14),
    ]);
    for (_, r) in rows.iter().take(limit) {
        t.row([
            r.author.clone(),
            r.name.clone().unwrap_or_default(),
            r.place.clone(),
            r.mentions.to_string(),
            r.reach.to_string(),
            r.negative.to_string(),
            r.influence.to_string(),
        ]);
    }
    t.write(&mut out)?;
    Ok(())
}
