//! Backtesting and rule tests: the live evaluator and ingest stage, replayed.
//!
//! `veille rules test RULE --from 30d` replays the indexed history through one rule,
//! mention by mention in publication order with the clock set to each mention's time
//! (and a tick every few minutes in between), on a throw-away state database: it prints
//! when the rule would have fired, and delivers nothing. `[[rule.test]]` cases go through
//! the whole ingest stage (matching, enrichment, index, rules) in a temporary directory.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::enrich::EnrichConfig;
use crate::ingest::{Ingest, Report};
use crate::matching::{Brand, SearchRequest};
use crate::mention::{Mention, hash_id};
use crate::model::{Event, Poll, Status};
use crate::rules::eval::{Evaluator, Firing};
use crate::rules::{Route, Rule, RuleTestConfig, TestMention};
use crate::store::RuleHistory;
use crate::store::index::MentionIndex;
use crate::store::state::State;

/// Time between two ticks of a replay.
const TICK: chrono::Duration = chrono::Duration::minutes(5);

/// Replays `[from, to]` of `index` through `rule` (with the configured `brands` and
/// `routes`); returns what it would have raised.
pub fn replay(
    index: &MentionIndex,
    brands: &[Brand],
    routes: &[Route],
    rule: &Rule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> crate::store::Result<Vec<Firing>> {
    let mut mentions = index.search(&SearchRequest {
        brand: Some(rule.brand.clone()),
        since: Some(from),
        until: Some(to),
        limit: 1_000_000,
        ..Default::default()
    })?;
    mentions.sort_by_key(|m| m.published_at);
    let evaluator = Evaluator::with_routes(vec![rule.clone()], brands, routes.to_vec());
    let mut st = State::open_in_memory()?;
    // Authors and sites seen before the replay are known: "first time" means the same
    // as it did live.
    {
        let before = index.search(&SearchRequest {
            brand: Some(rule.brand.clone()),
            until: Some(from),
            limit: 1_000_000,
            ..Default::default()
        })?;
        let batch = st.batch()?;
        for m in &before {
            batch.record_author_and_site(&rule.brand, m)?;
        }
        // Watched since its oldest mention in the index: the warm-up of new_source and
        // first-time conditions counts from there, as it did live from the first poll.
        let oldest = before.iter().chain(&mentions).map(|m| m.published_at).min();
        batch.watch_brands([rule.brand.as_str()], oldest.unwrap_or(from).min(from))?;
        batch.commit()?;
    }
    let mut out = Vec::new();
    let mut clock = from;
    // Ticks on a fixed grid (every 5 minutes of the clock), whatever `from` is: held
    // mentions go out at a tick, so two windows over the same history give the same
    // firings.
    let step = TICK.num_milliseconds();
    let mut next_tick = DateTime::<Utc>::from_timestamp_millis(
        (from.timestamp_millis().div_euclid(step) + 1) * step,
    )
    .unwrap_or(from + TICK);
    let mut i = 0;
    loop {
        let next_mention = mentions.get(i).map(|m| m.published_at);
        // Ticks due before the next mention (or until the end). A tick at the very time
        // of a mention comes after it, as in the live ingest stage.
        let due = |t: DateTime<Utc>| match next_mention.filter(|m| *m <= to) {
            Some(m) => t < m,
            None => t <= to,
        };
        while due(next_tick) {
            let batch = st.batch()?;
            out.extend(evaluator.tick(
                &RuleHistory {
                    batch: &batch,
                    index,
                },
                next_tick,
            )?);
            batch.commit()?;
            clock = next_tick;
            next_tick += TICK;
        }
        let Some(at) = next_mention.filter(|t| *t <= to) else {
            break;
        };
        // Mentions published at the same second are one batch, as in a poll.
        let batch: Vec<Mention> = mentions[i..]
            .iter()
            .take_while(|m| m.published_at == at)
            .cloned()
            .collect();
        i += batch.len();
        clock = clock.max(at);
        let tx = st.batch()?;
        out.extend(evaluator.evaluate(&RuleHistory { batch: &tx, index }, &batch, clock)?);
        for m in &batch {
            for b in m.brand_ids() {
                tx.record_author_and_site(b, m)?;
            }
        }
        tx.commit()?;
    }
    Ok(out)
}

/// Runs one `[[rule.test]]` case at `end` (its mentions' ages count back from it), with
/// the configured `brands`, `routes` and enrichment; `Err` says what differed.
pub fn run_test(
    brands: &[Brand],
    routes: &[Route],
    enrich: &EnrichConfig,
    rule: &Rule,
    test: &RuleTestConfig,
    end: DateTime<Utc>,
) -> Result<(), String> {
    let fail = |e: &dyn std::error::Error| {
        let mut m = format!("test `{}` of rule `{}`: {e}", test.name, rule.id);
        let mut source = e.source();
        while let Some(s) = source {
            m.push_str(&format!(": {s}"));
            source = s.source();
        }
        m
    };
    let dir = tempfile::tempdir().map_err(|e| fail(&e))?;
    let index = Arc::new(MentionIndex::open(&dir.path().join("index")).map_err(|e| fail(&e))?);
    let st = Arc::new(Mutex::new(
        State::open(&dir.path().join("state.sqlite")).map_err(|e| fail(&e))?,
    ));
    let clock = crate::clock::ManualClock::new(end);
    let report = Arc::new(Mutex::new(Report::default()));
    let mut ingest = Ingest {
        matcher: crate::matching::Matcher::new(brands.to_vec()),
        enricher: crate::enrich::Enricher::new(enrich),
        evaluator: Evaluator::with_routes(vec![rule.clone()], brands, routes.to_vec()),
        writer: index.writer().map_err(|e| fail(&e))?,
        index: index.clone(),
        state: st.clone(),
        states: Arc::default(),
        wake: Default::default(),
        clock: Arc::new(clock.clone()),
        report: report.clone(),
        keep_unmatched: false,
        unhealthy_after: chrono::Duration::hours(1),
        ops: Default::default(),
        stage_hook: None,
    };
    let mut spec = test.mentions.clone();
    spec.sort_by_key(|m| std::cmp::Reverse(m.ago));
    // Mentions published at the same time arrive together, as one poll would bring them.
    let mut batches: Vec<(DateTime<Utc>, Vec<Mention>)> = Vec::new();
    for (i, t) in spec.iter().enumerate() {
        let at = end - t.ago.chrono();
        if batches.last().is_none_or(|b| b.0 != at) {
            batches.push((at, Vec::new()));
        }
        let batch = &mut batches.last_mut().expect("just pushed").1;
        for j in 0..t.count.max(1) {
            batch.push(test_mention(
                &format!("{}/{}/{i}/{j}", rule.id, test.name),
                t,
                at,
            ));
        }
    }
    // The test runs on an installation already warmed up: the source polled and the
    // brand watched for the rule's warm-up before the first mention.
    let start = batches.first().map_or(end, |b| b.0) - rule.warm_up.chrono();
    clock.set(start - chrono::Duration::seconds(1));
    ingest
        .process(vec![Event::Polled {
            source: "test".into(),
            poll: Poll::default(),
        }])
        .map_err(|e| fail(&e))?;
    for (at, mentions) in batches {
        clock.set(at);
        ingest
            .process(vec![Event::Polled {
                source: "test".into(),
                poll: Poll {
                    mentions,
                    ..Default::default()
                },
            }])
            .map_err(|e| fail(&e))?;
    }
    clock.set(end + test.then.map(|d| d.chrono()).unwrap_or_default());
    ingest.process(vec![Event::Tick]).map_err(|e| fail(&e))?;
    ingest.writer.close().map_err(|e| fail(&e))?;
    let alerts = report
        .lock()
        .unwrap()
        .alerts
        .iter()
        .filter(|a| a.status != Status::Resolved)
        .count();
    if alerts != test.expect_alerts {
        return Err(format!(
            "test `{}` of rule `{}`: expected {} alert(s), the rule raised {alerts}",
            test.name, rule.id, test.expect_alerts
        ));
    }
    Ok(())
}

fn test_mention(key: &str, t: &TestMention, at: DateTime<Utc>) -> Mention {
    let id = hash_id("rule-test", key);
    let site = t.site.clone().unwrap_or_else(|| "test.example".into());
    Mention {
        url: format!("https://{site}/{id}"),
        id,
        site,
        publisher: None,
        source: "test".into(),
        source_kind: t.source_kind.clone().unwrap_or_else(|| "rss".into()),
        native_id: None,
        title: t.title.clone(),
        text: t.text.clone(),
        author: t.author.clone(),
        author_name: None,
        published_at: at,
        fetched_at: at,
        language: t.language.clone(),
        reach: t.reach,
        engagement: Default::default(),
        brands: Vec::new(),
        sentiment: None,
        story: None,
    }
}
