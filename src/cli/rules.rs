//! `veille rules test` (a rule replayed over history) and `veille silence`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::config::Config;
use crate::model::Duration;
use crate::store::index::MentionIndex;
use crate::store::state::State;
use crate::text;

use super::*;

/// `veille rules test`: replay history through a rule.
pub fn rules_test(c: &Config, rule: &str, from: When, to: When) -> anyhow::Result<ExitCode> {
    let Some(r) = c.rules.iter().find(|r| r.id == rule) else {
        eprintln!(
            "unknown rule `{rule}`: configured rules are {}",
            c.rules
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(ExitCode::from(2));
    };
    let now = Utc::now();
    let (start, end) = (from.at(now), to.at(now));
    if start >= end {
        eprintln!("--from must come before --to ({start} is not before {end})");
        return Ok(ExitCode::from(2));
    }
    let index = MentionIndex::open(&c.index_dir())?;
    let firings = crate::backtest::replay(&index, &c.brands, &c.routes, r, start, end)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "rule {} ({}) over {} → {}: {} alert(s)",
        r.id,
        r.kind.name(),
        start.format("%Y-%m-%d %H:%M"),
        end.format("%Y-%m-%d %H:%M"),
        firings.len()
    )?;
    for f in &firings {
        let a = &f.alert;
        writeln!(
            out,
            "\n{}  [{}] {} {}",
            a.created_at.format("%Y-%m-%d %H:%M"),
            a.status.as_str(),
            a.severity,
            text::single_line(&a.summary)
        )?;
        for m in &a.mentions {
            writeln!(
                out,
                "    {}  {}  {}",
                m.published_at.format("%m-%d %H:%M"),
                text::truncate(&text::single_line(&m.title), 80),
                m.url
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub enum SilenceCmd {
    Add {
        rule: Option<String>,
        brand: Option<String>,
        duration: Duration,
        reason: String,
    },
    List,
    Expire(i64),
}

/// `veille silence add|list|expire`.
pub fn silence(c: &Config, cmd: SilenceCmd) -> anyhow::Result<ExitCode> {
    let st = State::open(&c.state_path()).context("cannot open the state database")?;
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    match cmd {
        SilenceCmd::Add {
            rule,
            brand,
            duration,
            reason,
        } => {
            if rule.is_none() && brand.is_none() {
                eprintln!("give --rule, --brand or both: a silence of everything is not allowed");
                return Ok(ExitCode::from(2));
            }
            if let Some(r) = &rule
                && !c.rules.iter().any(|x| &x.id == r)
            {
                eprintln!("unknown rule `{r}`");
                return Ok(ExitCode::from(2));
            }
            if let Some(b) = &brand
                && c.brand(b).is_none()
            {
                eprintln!("unknown brand `{b}`");
                return Ok(ExitCode::from(2));
            }
            let id = st.add_silence(
                rule.as_deref(),
                brand.as_deref(),
                now,
                now + duration.chrono(),
                &reason,
            )?;
            writeln!(
                out,
                "silence #{id} until {}",
                (now + duration.chrono()).format("%Y-%m-%d %H:%M UTC")
            )?;
        }
        SilenceCmd::List => {
            for s in st.silences()? {
                let state = if s.active(now) { "active" } else { "ended" };
                writeln!(
                    out,
                    "#{:<4} {state:<7} rule {:<20} brand {:<12} until {}  {}",
                    s.id,
                    s.rule.as_deref().unwrap_or("*"),
                    s.brand.as_deref().unwrap_or("*"),
                    s.expired_at
                        .unwrap_or(s.ends_at)
                        .format("%Y-%m-%d %H:%M UTC"),
                    text::single_line(&s.reason)
                )?;
            }
        }
        SilenceCmd::Expire(id) => {
            if st.expire_silence(id, now)? {
                writeln!(
                    out,
                    "silence #{id} ended; held alerts of open incidents go out at the next tick"
                )?;
            } else {
                eprintln!("no active silence #{id}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
