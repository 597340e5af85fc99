//! `veille rules test` (a rule replayed over history) and `veille silence`.

use std::io::Write;

use anyhow::Context;
use chrono::Utc;

use super::table::{Align, Table, clean};
use super::*;
use crate::config::Config;
use crate::model::{Duration, localtime};
use crate::store::index::MentionIndex;
use crate::store::state::State;
use crate::{not_found, usage};

/// `veille rules test`: replay history through a rule.
pub fn rules_test(c: &Config, rule: &str, from: When, to: When, json: bool) -> anyhow::Result<()> {
    let Some(r) = c.rules.iter().find(|r| r.id == rule) else {
        not_found!(
            "unknown rule `{rule}`: configured rules are {}",
            ids(c.rules.iter().map(|r| r.id.as_str()))
        );
    };
    let now = Utc::now();
    let (start, end) = (from.at(now), to.at(now));
    if start >= end {
        usage!("--from must come before --to ({start} is not before {end})");
    }
    let index = MentionIndex::open(&c.index_dir())?;
    let firings = crate::backtest::replay(&index, &c.brands, &c.routes, r, start, end)?;
    let mut out = std::io::stdout().lock();
    if json {
        for f in &firings {
            let v = serde_json::json!({
                "alert": f.alert, "notify": f.notify, "silenced": f.silenced,
            });
            writeln!(out, "{v}")?;
        }
        return Ok(());
    }
    let tz = &c.daemon.tz;
    writeln!(
        out,
        "rule {} ({}) over {} → {}: {} alert(s)",
        r.id,
        r.kind.name(),
        localtime::display(start, tz),
        localtime::display(end, tz),
        firings.len()
    )?;
    for f in &firings {
        let a = &f.alert;
        writeln!(
            out,
            "\n{}  [{}] {} {}",
            localtime::display(a.created_at, tz),
            a.status.as_str(),
            a.severity,
            clean(&a.summary)
        )?;
        for m in &a.mentions {
            writeln!(
                out,
                "    {}  {}  {}",
                localtime::display(m.published_at, tz),
                clean(&crate::text::truncate(&m.title, 80)),
                clean(&m.url)
            )?;
        }
    }
    Ok(())
}

pub enum SilenceCmd {
    Add {
        rule: Option<String>,
        brand: Option<String>,
        duration: Duration,
        reason: String,
        /// Who silences (the user running the command by default).
        author: String,
    },
    List {
        json: bool,
    },
    Expire(i64),
}

/// `veille silence add|list|expire`.
pub fn silence(c: &Config, cmd: SilenceCmd) -> anyhow::Result<()> {
    let st = State::open(&c.state_path()).context("cannot open the state database")?;
    let now = Utc::now();
    let tz = &c.daemon.tz;
    let mut out = std::io::stdout().lock();
    match cmd {
        SilenceCmd::Add {
            rule,
            brand,
            duration,
            reason,
            author,
        } => {
            if rule.is_none() && brand.is_none() {
                usage!("give --rule, --brand or both: a silence of everything is not allowed");
            }
            if let Some(r) = &rule
                && !c.rules.iter().any(|x| &x.id == r)
            {
                not_found!(
                    "unknown rule `{r}`: configured rules are {}",
                    ids(c.rules.iter().map(|r| r.id.as_str()))
                );
            }
            if let Some(b) = &brand
                && c.brand(b).is_none()
            {
                not_found!(
                    "unknown brand `{b}`: configured brands are {}",
                    ids(c.brands.iter().map(|b| b.id.as_str()))
                );
            }
            let ends = now + duration.chrono();
            let id = st.add_silence_by(
                rule.as_deref(),
                brand.as_deref(),
                now,
                ends,
                &reason,
                Some(&author),
            )?;
            tracing::info!(silence = id, by = %author, "silence added");
            writeln!(out, "silence #{id} until {}", localtime::display(ends, tz))?;
        }
        SilenceCmd::List { json } => {
            let rows = st.silences()?;
            if json {
                for s in &rows {
                    let mut v = serde_json::to_value(s)?;
                    v["active"] = s.active(now).into();
                    writeln!(out, "{v}")?;
                }
                return Ok(());
            }
            if rows.is_empty() {
                writeln!(out, "no silence")?;
                return Ok(());
            }
            let mut t = Table::new(&[
                ("silence", Align::Left, 10),
                ("state", Align::Left, 7),
                ("rule", Align::Left, 30),
                ("brand", Align::Left, 20),
                ("until", Align::Left, 24),
                ("by", Align::Left, 24),
                ("reason", Align::Left, 100),
            ]);
            for s in &rows {
                t.row([
                    format!("#{}", s.id),
                    if s.active(now) { "active" } else { "ended" }.to_string(),
                    s.rule.clone().unwrap_or_else(|| "*".into()),
                    s.brand.clone().unwrap_or_else(|| "*".into()),
                    localtime::display(s.expired_at.unwrap_or(s.ends_at), tz),
                    s.author.clone().unwrap_or_default(),
                    s.reason.clone(),
                ]);
            }
            t.write(&mut out)?;
        }
        SilenceCmd::Expire(id) => {
            if !st.expire_silence(id, now)? {
                not_found!("no active silence #{id}: see `veille silence list`");
            }
            writeln!(
                out,
                "silence #{id} ended; held alerts of open incidents go out at the next tick"
            )?;
        }
    }
    Ok(())
}
