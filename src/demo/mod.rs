//! `veille demo`: the real pipeline, offline. A loopback web server serves four sample
//! feeds (French and English, RSS/Atom/JSON Feed, one in windows-1252, duplicates, a
//! homonym, crisis vocabulary) and receives chat webhooks; a loopback SMTP server takes
//! the e-mails. The daemon runs once over them with the example rules of `rules/`.

mod live;
pub mod server;
pub mod smtp;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use crate::clock::SystemClock;
use crate::config::Config;
use crate::daemon::{self, RunOptions};
use crate::scheduler::Mode;

/// The example rules, as shipped in `rules/`.
pub const RULES: &[(&str, &str)] = &[
    ("acme.toml", include_str!("../../rules/acme.toml")),
    (
        "competitors.toml",
        include_str!("../../rules/competitors.toml"),
    ),
];

fn config_text(web: std::net::SocketAddr, smtp: std::net::SocketAddr) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"# Written by `veille demo`: every server is on loopback, hence allow_private.
[daemon]
data_dir = "data"
rules_dir = "rules"
listen = ""             # no HTTP server for a one-shot run


[crawl]
contact = "https://github.com/veille/veille (demo)"
timeout = "10s"
per_host_delay = "0s"   # the four sample "sites" share one loopback server

[[brand]]
id = "acme"
name = "Acme"
query = '"acme corp" OR acme NOT "road runner"'
languages = ["fr", "en"]
competitors = ["globex"]

[[brand]]
id = "globex"
name = "Globex"
query = "globex"
"#
    );
    for (name, _, _) in server::FEEDS {
        let id = name.split('.').next().unwrap_or(name);
        let _ = write!(
            s,
            "\n[[source]]\nid = \"{id}\"\nkind = \"rss\"\nurl = \"http://{web}/feeds/{name}\"\nevery = \"5m\"\nallow_private = true\n"
        );
        // The demo plays a day already under way: its one poll stands for what a live
        // poll would bring, so it may alert. What is older than the rules' max_age
        // (24h) is indexed without alerting, what is older than the look-back (7d) is
        // skipped, and no site is "new" on a first poll.
        s.push_str("backfill_alerts = true\n");
        if id == "forum" {
            // phpBB puts the reader's session id in links: not part of the address.
            s.push_str("strip_params = [\"sid\"]\n");
        }
    }
    let _ = write!(
        s,
        r#"
[notifier.crisis-mail]
kind = "email"
smtp_url = "smtp://{smtp}"
from = "Veille <veille@demo.example>"
to = ["community@demo.example"]

[notifier.team-chat]
kind = "slack"
url_file = "secrets/team-chat-url"
allow_private = true

[notifier.competitor-feed]
kind = "webhook"
url_file = "secrets/competitor-feed-url"
allow_private = true

[[route]]
severity = ["critical"]
notify = ["crisis-mail", "team-chat"]

[[route]]
brands = ["globex"]
notify = ["competitor-feed"]

[[route]]
notify = ["team-chat"]

# `veille digest --config THIS --now demo --dry-run` shows what the team would get.
[digest.demo]
schedule = "0 8 * * *"
notify = ["crisis-mail", "team-chat"]
top = 3
"#
    );
    s
}

fn write_setup(
    dir: &Path,
    web: std::net::SocketAddr,
    smtp: std::net::SocketAddr,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir.join("rules"))?;
    std::fs::create_dir_all(dir.join("secrets"))?;
    for (name, text) in RULES {
        std::fs::write(dir.join("rules").join(name), text)?;
    }
    std::fs::write(
        dir.join("secrets/team-chat-url"),
        format!("http://{web}/hooks/team-chat\n"),
    )?;
    std::fs::write(
        dir.join("secrets/competitor-feed-url"),
        format!("http://{web}/hooks/competitor-feed\n"),
    )?;
    let path = dir.join("veille.toml");
    std::fs::write(&path, config_text(web, smtp))?;
    Ok(path)
}

/// Writes what the demo's servers received into `dir/received`: each e-mail as it came
/// (`mail-N.eml`), each webhook payload (`HOOK-N.json`). Returns how many of each.
fn keep_received(
    dir: &Path,
    mails: &[String],
    hooks: &[(String, String)],
) -> anyhow::Result<(usize, usize)> {
    let out = dir.join("received");
    std::fs::create_dir_all(&out)?;
    for (i, m) in mails.iter().enumerate() {
        std::fs::write(out.join(format!("mail-{}.eml", i + 1)), m)?;
    }
    for (i, (hook, body)) in hooks.iter().enumerate() {
        // Hook names come from the demo's own config; kept to a safe file name anyway.
        let name: String = hook
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        std::fs::write(out.join(format!("{name}-{}.json", i + 1)), body)?;
    }
    Ok((mails.len(), hooks.len()))
}

pub async fn run(keep: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let clock: Arc<dyn crate::clock::Clock> = Arc::new(SystemClock);
    let (web, received) = server::start(clock.clone())
        .await
        .context("cannot start the demo web server")?;
    let (smtp, inbox) = smtp::start()
        .await
        .context("cannot start the demo SMTP server")?;
    let tmp;
    let dir: PathBuf = match &keep {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d)?.next().is_some() {
                anyhow::bail!(
                    "{} is not empty: give --keep a new or empty directory",
                    d.display()
                );
            }
            std::fs::create_dir_all(d)?;
            d.canonicalize()?
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let config_path = write_setup(&dir, web, smtp)?;
    let config = Config::load(&config_path).map_err(|d| anyhow::anyhow!("demo config: {d}"))?;

    println!("veille demo — the whole pipeline, offline\n");
    println!(
        "  sample feeds   http://{web}/feeds/  ({} feeds)",
        server::FEEDS.len()
    );
    println!("  SMTP server    {smtp}");
    println!("  chat webhooks  http://{web}/hooks/");
    println!("  data dir       {}", dir.display());
    println!(
        "  brands         {}",
        config
            .brands
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  rules          {}\n",
        config
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let brands: Vec<(String, String)> = config
        .brands
        .iter()
        .map(|b| (b.id.clone(), b.name.clone()))
        .collect();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (_stop, stop_rx) = watch::channel(false);
    let running = Arc::new(std::sync::Mutex::new(crate::ingest::Report::default()));
    let opts = RunOptions {
        mode: Mode::Once,
        clock,
        deliver: true,
        events: Some(events_tx),
        outbox_timeout: Duration::from_secs(20),
        drain_timeout: Duration::from_secs(10),
        // Its own receivers: no platform's pace to keep.
        pace: false,
        report: Some(running.clone()),
        ..Default::default()
    };
    println!("As it happens");
    let (done_tx, done_rx) = watch::channel(false);
    let follower = tokio::spawn(live::follow(running, events_rx, done_rx));
    let report = daemon::run(config, opts, stop_rx).await;
    let _ = done_tx.send(true);
    let (delivered, failed) = follower.await.unwrap_or_default();
    let report = report?;

    println!("\nSources polled");
    println!(
        "  {} sources, {} items fetched, {} new after de-duplication, {} mentioning a brand",
        report.per_source.len(),
        report.items,
        report.new_mentions,
        report.indexed
    );
    println!(
        "  old items: {} older than the sources' look-back (backfill = {}) skipped, {} older than the rules' max_age indexed without alerting\n",
        report.backfill_skipped,
        crate::sources::DEFAULT_BACKFILL,
        report.too_old_to_alert
    );
    println!("Mentions per brand");
    for (id, name) in &brands {
        println!(
            "  {name:<12} {}",
            report.per_brand.get(id).copied().unwrap_or(0)
        );
    }
    println!("\nAlerts raised: {}", report.alerts.len());
    println!("Deliveries: {delivered} made, {failed} failed");
    let mails = inbox.lock().unwrap().len();
    let hooks = received.lock().unwrap().len();
    println!(
        "\n  the SMTP server received {mails} e-mail(s); the webhooks received {hooks} payload(s)"
    );
    if let Some(d) = &keep {
        let (m, h) = keep_received(&dir, &inbox.lock().unwrap(), &received.lock().unwrap())?;
        let c = config_path.display();
        println!(
            "\nData kept in {}, with what the servers received ({m} e-mail(s) as .eml, {h} payload(s) as .json) in {}. Try:\n  veille search --config {c} acme\n  veille search --config {c} --brand acme 'arnaque OR boycott'\n  veille alerts --config {c}\n  veille incidents --config {c}\n  veille digest --config {c} --now demo --dry-run",
            d.display(),
            dir.join("received").display(),
        );
    }
    Ok(if failed == 0 && delivered > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
