//! `veille digests` and `veille digest --now`: the digests, and one sent (or written) now.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Config;
use crate::model::localtime;
use crate::model::redact;
use crate::not_found;
use crate::store::state::State;

use super::table::{Align, Table};

/// `veille digest [--json]`: the digests, their schedule and next run, in each digest's
/// zone (the installation's unless the digest names its own).
pub fn digests(c: &Config, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if c.digests.is_empty() {
        if !json {
            writeln!(out, "no [digest.NAME] in {}", c.path.display())?;
        }
        return Ok(());
    }
    let st = State::open(&c.state_path()).context("cannot open the state database")?;
    let now = chrono::Utc::now();
    let retries = st.digest_retries()?;
    let mut t = Table::new(&[
        ("digest", Align::Left, 24),
        ("schedule", Align::Left, 24),
        ("zone", Align::Left, 32),
        ("next", Align::Left, 24),
        ("last", Align::Left, 24),
        ("to", Align::Left, 80),
    ]);
    for d in &c.digests {
        let last = st.digest_last_sent(&d.name)?;
        let next = d.next(now);
        if json {
            let v = serde_json::json!({
                "name": d.name, "schedule": d.schedule, "timezone": d.tz.name(),
                "next": next, "last": last, "notify": d.notify,
                "retries": retries.iter().filter(|r| r.digest == d.name).map(|r| serde_json::json!({
                    "notifier": r.notifier, "due": r.due, "attempts": r.attempts,
                    "next_try": r.next_try, "last_error": redact::scrub(&r.last_error),
                })).collect::<Vec<_>>(),
            });
            writeln!(out, "{v}")?;
            continue;
        }
        t.row([
            d.name.clone(),
            d.schedule.clone(),
            d.tz.name().to_string(),
            next.map(|t| localtime::display(t, &d.tz))
                .unwrap_or_else(|| "never".into()),
            last.map(|t| localtime::display(t, &d.tz))
                .unwrap_or_else(|| "-".into()),
            d.notify.join(", "),
        ]);
        // Deliveries that failed and will be tried again by the daemon.
        for r in retries.iter().filter(|r| r.digest == d.name) {
            t.note(&format!(
                "{} → {}: not delivered yet (due {}, {} attempt(s), next try {}): {}",
                r.digest,
                r.notifier,
                localtime::display(r.due, &d.tz),
                r.attempts,
                localtime::display(r.next_try, &d.tz),
                crate::text::truncate(&redact::scrub(&r.last_error), 200)
            ));
        }
    }
    if !json {
        t.write(&mut out)?;
    }
    Ok(())
}

/// `veille digest --now NAME [--dry-run [FILE]]`.
pub async fn digest_now(
    c: Config,
    name: &str,
    dry_run: Option<std::path::PathBuf>,
    locale: Option<crate::notify::view::Locale>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let Some(d) = c.digests.iter().find(|d| d.name == name) else {
        not_found!(
            "unknown digest `{name}`: configured digests are {}",
            super::ids(c.digests.iter().map(|d| d.name.as_str()))
        );
    };
    let index = crate::store::index::MentionIndex::open(&c.index_dir())?;
    let st = State::open(&c.state_path()).context("cannot open the state database")?;
    let data = crate::digest::data::compute(d, &c.brands, &index, &st, chrono::Utc::now())?;
    let installation = st.installation_id()?;
    drop(st);
    if let Some(path) = dry_run {
        // The language the digest's readers get, unless asked otherwise.
        let locale = locale
            .or_else(|| {
                d.notify
                    .iter()
                    .find_map(|n| c.notifiers.get(n).and_then(|n| n.locale()))
            })
            .unwrap_or_default();
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
            _ if json => {
                let mut v = serde_json::to_vec(&data)?;
                v.push(b'\n');
                v
            }
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
            _ => crate::notify::view::digest::text(&data, locale).into_bytes(),
        };
        if path.as_os_str() == "-" {
            std::io::stdout().write_all(&bytes)?;
        } else {
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(
                std::io::stdout().lock(),
                "digest {name} written to {}",
                path.display()
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let http = crate::crawl::Http::new(&c.crawl)?;
    let notifiers: std::collections::HashMap<String, crate::notify::Notifier> =
        c.notifiers.into_iter().collect();
    let mut failed = false;
    for (n, r) in crate::digest::send(d, &data, &notifiers, &http, &installation).await {
        match r {
            // A closed stdout must not stop the sending: the report is best effort.
            Ok(()) => _ = writeln!(std::io::stdout(), "✓ {n}"),
            Err(e) => {
                failed = true;
                _ = writeln!(std::io::stdout(), "✗ {n}: {}", e.message);
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
