//! What a digest holds, computed from the index and the state database.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Digest;
use crate::matching::Brand;
use crate::matching::SearchRequest;
use crate::mention::{Label, Mention};
use crate::model::digest::{BrandDigest, DigestData, IncidentLine, Share, TopMention};
use crate::store::Result;
use crate::store::index::MentionIndex;
use crate::store::state::State;

/// Mentions read per brand and period (the counts themselves are exact).
const READ_LIMIT: usize = 50_000;

fn count(index: &MentionIndex, brand: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<u64> {
    Ok(index.count(&SearchRequest {
        brand: Some(brand.to_string()),
        since: Some(from),
        until: Some(to),
        ..Default::default()
    })? as u64)
}

fn ranked(counts: HashMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

fn incident_line(st: &State, i: &crate::model::Incident) -> Result<IncidentLine> {
    let latest = st.incident_latest_alert(i.id)?;
    Ok(IncidentLine {
        id: i.id,
        rule: i.rule.clone(),
        opened_at: i.opened_at,
        alerts: i.alerts,
        title: latest
            .as_ref()
            .map_or_else(|| i.rule.clone(), |a| a.summary.clone()),
        severity: latest.as_ref().map(|a| a.severity).unwrap_or_default(),
        acked_by: i.acked_by.clone(),
        latest: latest.map(Box::new),
    })
}

pub fn compute(
    digest: &Digest,
    brands: &[Brand],
    index: &MentionIndex,
    st: &State,
    at: DateTime<Utc>,
) -> Result<DigestData> {
    let (start, end) = digest.period(at);
    let length = end - start;
    let prev_start = start - length;
    let name_of = |id: &str| {
        brands
            .iter()
            .find(|b| b.id == id)
            .map(|b| b.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let chosen: Vec<&Brand> = brands
        .iter()
        .filter(|b| digest.brands.is_empty() || digest.brands.contains(&b.id))
        .collect();
    let open = st.incidents(Some("open"), 1000)?;
    let mut out = Vec::new();
    for b in chosen {
        let mentions: Vec<Mention> = index.search(&SearchRequest {
            brand: Some(b.id.clone()),
            since: Some(start),
            until: Some(end),
            limit: READ_LIMIT,
            ..Default::default()
        })?;
        let total = count(index, &b.id, start, end)?;
        let stories = index.count_stories(&SearchRequest {
            brand: Some(b.id.clone()),
            since: Some(start),
            until: Some(end),
            ..Default::default()
        })? as u64;
        let previous = count(index, &b.id, prev_start, start)?;
        let previous_negative = index.count(&SearchRequest {
            brand: Some(b.id.clone()),
            label: Some("negative".into()),
            since: Some(prev_start),
            until: Some(start),
            ..Default::default()
        })? as u64;
        let (mut neg, mut neu, mut pos) = (0, 0, 0);
        let mut sites: HashMap<String, u64> = HashMap::new();
        let mut authors: HashMap<String, u64> = HashMap::new();
        // Hourly buckets up to two days, daily beyond.
        let (bucket, step) = if length <= chrono::Duration::hours(48) {
            ("1h", chrono::Duration::hours(1))
        } else {
            ("1d", chrono::Duration::days(1))
        };
        let n_buckets = ((length.num_seconds() + step.num_seconds() - 1) / step.num_seconds())
            .clamp(1, 400) as usize;
        let mut buckets = vec![0u64; n_buckets];
        for m in &mentions {
            match m.sentiment.map(|s| s.label) {
                Some(Label::Negative) => neg += 1,
                Some(Label::Positive) => pos += 1,
                _ => neu += 1,
            }
            *sites.entry(m.site.clone()).or_default() += 1;
            if let Some(a) = m.author_name.as_ref().or(m.author.as_ref()) {
                *authors.entry(a.clone()).or_default() += 1;
            }
            let i = ((m.published_at - start).num_seconds() / step.num_seconds()).max(0) as usize;
            buckets[i.min(n_buckets - 1)] += 1;
        }
        let mut top: Vec<&Mention> = mentions.iter().collect();
        top.sort_by(|a, b| {
            b.reach
                .unwrap_or(0)
                .cmp(&a.reach.unwrap_or(0))
                .then_with(|| b.published_at.cmp(&a.published_at))
        });
        let top = top
            .into_iter()
            .take(digest.top)
            .map(|m| TopMention {
                title: m.title.clone(),
                url: m.url.clone(),
                site: m.site.clone(),
                author: m.author_name.clone().or(m.author.clone()),
                reach: m.reach,
                sentiment: m.sentiment.map(|s| s.label),
                published_at: m.published_at,
            })
            .collect();
        let mut voice = vec![(b.name.clone(), total)];
        for c in &b.competitors {
            voice.push((name_of(c), count(index, c, start, end)?));
        }
        let all: u64 = voice.iter().map(|v| v.1).sum();
        let share_of_voice = voice
            .into_iter()
            .map(|(brand, count)| Share {
                brand,
                count,
                share: if all > 0 {
                    count as f64 / all as f64
                } else {
                    0.0
                },
            })
            .collect();
        out.push(BrandDigest {
            id: b.id.clone(),
            name: b.name.clone(),
            count: total,
            stories,
            previous,
            previous_negative,
            change: (previous > 0)
                .then(|| (total as f64 - previous as f64) * 100.0 / previous as f64),
            negative: neg,
            neutral: neu,
            positive: pos,
            share_of_voice,
            top,
            top_sites: ranked(sites, digest.top),
            top_authors: ranked(authors, digest.top),
            new_sites: st.new_sites(&b.id, start, end, digest.top)?,
            new_authors: st.new_authors(&b.id, start, end, digest.top)?,
            incidents: open
                .iter()
                .filter(|i| i.brand == b.id)
                .map(|i| incident_line(st, i))
                .collect::<Result<_>>()?,
            buckets,
            bucket: bucket.into(),
        });
    }
    Ok(DigestData {
        name: digest.name.clone(),
        start,
        end,
        brands: out,
        tz: digest.tz,
    })
}
