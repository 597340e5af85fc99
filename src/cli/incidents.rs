//! `veille incidents`: what rules opened (list, one with its alerts and mentions) and
//! acknowledging one — the same store queries as the API's `/api/incidents`.

use std::io::Write;

use anyhow::Context;
use serde_json::json;

use super::table::{Align, Table};
use crate::config::Config;
use crate::model::{Incident, localtime};
use crate::store::state::State;
use crate::{not_found, usage};

/// Which incidents `veille incidents` lists.
#[derive(Debug, Default)]
pub struct IncidentFilter {
    /// Only open ones.
    pub open: bool,
    pub rule: Option<String>,
    pub brand: Option<String>,
    pub limit: usize,
}

/// Who runs the command, for silences and acknowledgements: `$USER` (or `$LOGNAME`, as
/// under cron), else "unknown".
pub fn current_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// The notifiers of the config (a delivery pending for another is orphaned).
pub(super) fn configured(c: &Config) -> Vec<String> {
    c.notifiers.keys().cloned().collect()
}

fn open_state(c: &Config) -> anyhow::Result<State> {
    State::open(&c.state_path()).context("cannot open the state database")
}

/// "open", "open, acked by alice", "resolved".
fn state_text(i: &Incident) -> String {
    match &i.acked_by {
        Some(by) if i.state == "open" => format!("open, acked by {by}"),
        _ => i.state.clone(),
    }
}

/// `veille incidents [--open] [--rule R] [--brand B]`.
pub fn incidents(c: &Config, f: IncidentFilter, json: bool) -> anyhow::Result<()> {
    if f.limit == 0 {
        usage!("--limit 0: give at least 1");
    }
    if let Some(r) = &f.rule
        && !c.rules.iter().any(|x| &x.id == r)
    {
        not_found!(
            "unknown rule `{r}`: configured rules are {}",
            super::ids(c.rules.iter().map(|r| r.id.as_str()))
        );
    }
    if let Some(b) = &f.brand
        && c.brand(b).is_none()
    {
        not_found!(
            "unknown brand `{b}`: configured brands are {}",
            super::ids(c.brands.iter().map(|b| b.id.as_str()))
        );
    }
    let st = open_state(c)?;
    let state = f.open.then_some("open");
    let rows = st.incidents_of(state, f.rule.as_deref(), f.brand.as_deref(), f.limit)?;
    let mut out = std::io::stdout().lock();
    if json {
        for i in &rows {
            writeln!(out, "{}", serde_json::to_string(i)?)?;
        }
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(out, "no incident{}", if f.open { " open" } else { "" })?;
        return Ok(());
    }
    let tz = &c.daemon.tz;
    let mut t = Table::new(&[
        ("id", Align::Right, 8),
        ("state", Align::Left, 40),
        ("rule", Align::Left, 30),
        ("brand", Align::Left, 20),
        ("opened", Align::Left, 24),
        ("last alert", Align::Left, 24),
        ("alerts", Align::Right, 8),
        ("group", Align::Left, 60),
    ]);
    for i in &rows {
        t.row([
            format!("#{}", i.id),
            state_text(i),
            i.rule.clone(),
            i.brand.clone(),
            localtime::display(i.opened_at, tz),
            localtime::display(i.last_alert_at, tz),
            i.alerts.to_string(),
            i.group.clone(),
        ]);
    }
    t.write(&mut out)?;
    Ok(())
}

/// `veille incidents show ID`: the incident, its alerts and their mentions.
pub fn incident_show(c: &Config, id: i64, json: bool) -> anyhow::Result<()> {
    let st = open_state(c)?;
    let Some(i) = st.incident(id)? else {
        not_found!("no incident #{id}: see `veille incidents`");
    };
    let alerts = st.incident_alerts(id)?;
    let mut out = std::io::stdout().lock();
    if json {
        let v = json!({
            "incident": i,
            "alerts": alerts.iter().map(|a| a.json(&configured(c))).collect::<Vec<_>>(),
        });
        writeln!(out, "{v}")?;
        return Ok(());
    }
    let tz = &c.daemon.tz;
    let clean = super::table::clean;
    writeln!(
        out,
        "incident #{}: {} · rule {} · brand {}",
        i.id,
        state_text(&i),
        clean(&i.rule),
        clean(&i.brand)
    )?;
    if !i.group.is_empty() {
        writeln!(out, "group: {}", clean(&i.group))?;
    }
    writeln!(out, "opened: {}", localtime::display(i.opened_at, tz))?;
    writeln!(
        out,
        "last alert: {}",
        localtime::display(i.last_alert_at, tz)
    )?;
    if let Some(r) = i.resolved_at {
        writeln!(out, "resolved: {}", localtime::display(r, tz))?;
    }
    if let (Some(at), Some(by)) = (i.acked_at, &i.acked_by) {
        writeln!(
            out,
            "acknowledged: {} by {}",
            localtime::display(at, tz),
            clean(by)
        )?;
    }
    writeln!(out, "alerts: {} sent, {} not sent", i.alerts, i.suppressed)?;
    for r in &alerts {
        let a = &r.alert;
        writeln!(
            out,
            "\n#{} {} [{}] {} {}",
            r.seq,
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
                clean(&crate::text::truncate(&m.title, 100)),
                clean(&m.url)
            )?;
        }
        if a.total_mentions > a.mentions.len() {
            writeln!(
                out,
                "    … and {} more",
                a.total_mentions - a.mentions.len()
            )?;
        }
    }
    Ok(())
}

/// `veille incidents ack ID`: someone is on it; no more updates are sent (the
/// resolution is).
pub fn incident_ack(c: &Config, id: i64, by: &str) -> anyhow::Result<()> {
    let st = open_state(c)?;
    let now = chrono::Utc::now();
    if !st.ack_incident(id, by, now)? {
        not_found!("no open incident #{id}: see `veille incidents --open`");
    }
    tracing::info!(incident = id, by, "incident acknowledged");
    writeln!(
        std::io::stdout().lock(),
        "incident #{id} acknowledged by {}: no more updates are sent for it, its resolution is",
        super::table::clean(by)
    )?;
    Ok(())
}
