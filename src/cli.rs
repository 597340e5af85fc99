//! What the read-only commands print: `veille search`, `veille sources`, `veille alerts`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::config::{Config, Duration, redact};
use crate::matching::Query;
use crate::store::index::{MentionIndex, SearchRequest};
use crate::store::outbox::Deliveries;
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

/// A point in time on the command line: `now`, a duration ago (`30d`, `2h`), a date
/// (`2026-11-01`, midnight UTC) or an RFC 3339 date-time (`2026-11-01T08:00:00+01:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    Ago(Duration),
    At(chrono::DateTime<Utc>),
}

impl When {
    pub fn at(self, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
        match self {
            When::Now => now,
            When::Ago(d) => now - d.chrono(),
            When::At(t) => t,
        }
    }
}

impl std::str::FromStr for When {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("now") {
            return Ok(When::Now);
        }
        if let Ok(d) = s.parse::<Duration>() {
            return Ok(When::Ago(d));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
            return Ok(When::At(t.with_timezone(&Utc)));
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(When::At(d.and_time(chrono::NaiveTime::MIN).and_utc()));
        }
        Err(format!(
            "`{s}`: expected now, a duration ago (30d, 2h), a date (2026-11-01) or a date-time (2026-11-01T08:00:00Z)"
        ))
    }
}

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
            // Errors recorded by an older veille may hold a secret or a line break.
            let err = err
                .as_deref()
                .map(|e| format!(" — {}", text::single_line(&redact::scrub(e))))
                .unwrap_or_default();
            writeln!(
                out,
                "        → {notifier}: {state} after {attempts} attempt(s){err}"
            )?;
        }
    }
    Ok(())
}

/// `veille alerts retry ID`: the deliveries of alert #ID back in the queue.
pub fn alerts_retry(c: &Config, seq: i64, notifier: Option<&str>) -> anyhow::Result<ExitCode> {
    alerts_requeue(c, Deliveries::Alert { seq, notifier })
}

/// What a re-queue or drop acted on, for its messages.
fn described(which: Deliveries<'_>) -> String {
    let to = |n: Option<&str>| n.map(|n| format!(" to {n}")).unwrap_or_default();
    match which {
        Deliveries::Alert { seq, notifier } => format!("alert #{seq}{}", to(notifier)),
        Deliveries::AllFailed { notifier } => format!("failed deliveries{}", to(notifier)),
    }
}

/// `veille alerts retry ID|--all-failed`: deliveries back in the queue, due now.
pub fn alerts_requeue(c: &Config, which: Deliveries<'_>) -> anyhow::Result<ExitCode> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let n = state.requeue_deliveries(which, chrono::Utc::now())?;
    if n == 0 {
        eprintln!(
            "{}: nothing to re-queue (no pending, failed or dropped delivery): see `veille alerts`",
            described(which)
        );
        return Ok(ExitCode::from(2));
    }
    println!(
        "{}: {n} delivery(ies) re-queued; the daemon sends them within 30 s",
        described(which)
    );
    Ok(ExitCode::SUCCESS)
}

/// `veille alerts drop ID|--all-failed`: deliveries given up, never sent.
pub fn alerts_drop(c: &Config, which: Deliveries<'_>) -> anyhow::Result<ExitCode> {
    let state = State::open(&c.state_path()).context("cannot open the state database")?;
    let n = state.drop_deliveries(which, "dropped with `veille alerts drop`")?;
    if n == 0 {
        eprintln!(
            "{}: nothing to drop (no pending or failed delivery): see `veille alerts`",
            described(which)
        );
        return Ok(ExitCode::from(2));
    }
    println!("{}: {n} delivery(ies) dropped", described(which));
    Ok(ExitCode::SUCCESS)
}

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
    let firings = crate::rules::backtest::replay(c, r, start, end)?;
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
            let id = crate::store::state::add_silence(
                st.conn(),
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
            for s in crate::store::state::silences(st.conn())? {
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
            if crate::store::state::expire_silence(st.conn(), id, now)? {
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

/// `veille digest`: the digests, their schedule and next run.
pub fn digests(c: &Config) -> anyhow::Result<ExitCode> {
    if c.digests.is_empty() {
        println!("no [digest.NAME] in {}", c.path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let st = State::open(&c.state_path()).context("cannot open the state database")?;
    let now = chrono::Utc::now();
    for d in &c.digests {
        let last = st.digest_last_sent(&d.name)?;
        println!(
            "{:<16} \"{}\" {}  next {}  last {}  → {}",
            d.name,
            d.schedule,
            d.tz,
            d.next(now)
                .map(|t| t
                    .with_timezone(&d.tz)
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string())
                .unwrap_or_else(|| "never".into()),
            last.map(|t| t
                .with_timezone(&d.tz)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string())
                .unwrap_or_else(|| "-".into()),
            d.notify.join(", ")
        );
    }
    // Deliveries that failed and will be tried again by the daemon.
    for r in st.digest_retries()? {
        println!(
            "  {} → {}: not delivered yet (due {}, {} attempt(s), next try {}): {}",
            r.digest,
            r.notifier,
            r.due.format("%Y-%m-%d %H:%M UTC"),
            r.attempts,
            r.next_try.format("%Y-%m-%d %H:%M:%S UTC"),
            crate::text::truncate(
                &crate::text::single_line(&redact::scrub(&r.last_error)),
                200
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `veille digest --now NAME [--dry-run [FILE]]`.
pub async fn digest_now(
    c: Config,
    name: &str,
    dry_run: Option<std::path::PathBuf>,
    locale: crate::notify::view::Locale,
) -> anyhow::Result<ExitCode> {
    let Some(d) = c.digests.iter().find(|d| d.name == name) else {
        eprintln!(
            "unknown digest `{name}`: configured digests are {}",
            c.digests
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(ExitCode::from(2));
    };
    let index = crate::store::index::MentionIndex::open(&c.index_dir())?;
    let st = State::open(&c.state_path()).context("cannot open the state database")?;
    let data = crate::digest::data::compute(d, &c.brands, &index, &st, chrono::Utc::now())?;
    let installation = st.installation_id()?;
    drop(st);
    if let Some(path) = dry_run {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        // The first e-mail notifier of the digest gives sender, recipients and templates.
        let email = d
            .notify
            .iter()
            .find_map(|n| match c.notifiers.get(n).map(|n| &n.kind) {
                Some(crate::notify::NotifierKind::Email(e)) => Some((n.as_str(), e)),
                _ => None,
            });
        let origin = crate::notify::email::Origin {
            installation: &installation,
            notifier: email.map_or("", |(n, _)| n),
        };
        let email = email.map(|(_, e)| e);
        let fallback_from: lettre::message::Mailbox = "veille <veille@localhost>".parse()?;
        let fallback = crate::notify::email::Style::bundled(locale, "localhost");
        let (from, to, style) = match email {
            Some(e) => {
                let (f, t, s) = e.parts();
                (f.clone(), t.to_vec(), s.clone())
            }
            None => (fallback_from.clone(), vec![fallback_from], fallback),
        };
        let mut style = style;
        style.locale = locale;
        let bytes = match ext {
            "eml" => {
                crate::notify::email::build_digest(&data, &from, &to, &style, origin)?.formatted()
            }
            "html" | "htm" => {
                use base64::Engine as _;
                let (mut html, images) = crate::notify::email::render_digest(&data, &style)?;
                for (cid, png) in images {
                    let uri = format!(
                        "data:image/png;base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(png)
                    );
                    html = html.replace(&format!("cid:{cid}"), &uri);
                }
                html.into_bytes()
            }
            _ => crate::digest::render::text(&data, locale).into_bytes(),
        };
        if path.as_os_str() == "-" {
            std::io::stdout().write_all(&bytes)?;
        } else {
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("digest {name} written to {}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let http = crate::crawl::Http::new(&c.crawl)?;
    let notifiers: std::collections::HashMap<String, crate::notify::Notifier> =
        c.notifiers.into_iter().collect();
    let mut failed = false;
    for (n, r) in crate::digest::send(d, &data, &notifiers, &http, &installation).await {
        match r {
            Ok(()) => println!("✓ {n}"),
            Err(e) => {
                failed = true;
                println!("✗ {n}: {}", e.message);
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
