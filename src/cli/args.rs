//! The command line's definition: one clap tree, whose doc comments are the `--help`
//! text and the man pages (`veille man DIR`). Every flag and argument has a help line (a
//! test walks the tree). `main.rs` parses it and dispatches.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use super::When;
use super::exit::EXIT_STATUS_HELP;
use crate::model::Duration;

#[derive(Parser)]
#[command(
    name = "veille",
    version,
    about = "Watch what is said online about your brands, and get alerted when it matters.",
    long_about = "veille polls news feeds, forums and social networks, keeps every mention of your \
brands searchable, and sends alerts by e-mail and team chat when a rule says so.\n\n\
Start with `veille demo` to see the whole pipeline run offline on sample data.",
    after_help = EXIT_STATUS_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format: text (human-readable; the journal's own format under systemd) or
    /// json (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Clone)]
pub struct ConfigArg {
    /// Config file.
    #[arg(
        long,
        short,
        env = "VEILLE_CONFIG",
        default_value = "/etc/veille/veille.toml"
    )]
    pub config: PathBuf,
}

/// `--limit`: at least 1 (0 is refused rather than read as "none" or "all", in the CLI
/// as in the API).
fn limit(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("0: give at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}`: expected a number of at least 1")),
    }
}

#[derive(Subcommand)]
pub enum AlertsAction {
    /// Re-queue deliveries: those of one alert (its number in `veille alerts`) that are
    /// pending (sent now, without waiting for their backoff), failed or dropped; or, with
    /// --all-failed, every failed one. The running daemon sends them within half a minute.
    /// With --to, they go to another notifier instead (re-routed); --all-orphaned
    /// --to NOTIFIER re-routes every delivery waiting for a notifier no longer configured.
    Retry {
        #[command(flatten)]
        config: ConfigArg,
        /// The alert's number (#N in `veille alerts`).
        #[arg(
            required_unless_present_any = ["all_failed", "all_orphaned"],
            conflicts_with_all = ["all_failed", "all_orphaned"]
        )]
        id: Option<i64>,
        /// Only this notifier (default: every notifier of the alert).
        #[arg(long)]
        notifier: Option<String>,
        /// Every failed delivery (of --notifier, or of all notifiers).
        #[arg(long, conflicts_with = "all_orphaned")]
        all_failed: bool,
        /// Every delivery waiting for a notifier removed from the config (needs --to).
        #[arg(long, requires = "to")]
        all_orphaned: bool,
        /// Send them to this notifier instead (the old deliveries show as dropped,
        /// "re-routed to NOTIFIER").
        #[arg(long, value_name = "NOTIFIER")]
        to: Option<String>,
    },
    /// Give deliveries up for good: those of one alert that are pending, held by a
    /// silence or failed; or, with --all-failed, every failed one. They are never sent and
    /// show as dropped (`retry ID` brings them back).
    Drop {
        #[command(flatten)]
        config: ConfigArg,
        /// The alert's number (#N in `veille alerts`).
        #[arg(
            required_unless_present_any = ["all_failed", "all_orphaned"],
            conflicts_with_all = ["all_failed", "all_orphaned"]
        )]
        id: Option<i64>,
        /// Only this notifier (default: every notifier of the alert).
        #[arg(long)]
        notifier: Option<String>,
        /// Every failed delivery (of --notifier, or of all notifiers).
        #[arg(long, conflicts_with = "all_orphaned")]
        all_failed: bool,
        /// Every delivery waiting for a notifier removed from the config.
        #[arg(long)]
        all_orphaned: bool,
    },
}

#[derive(Subcommand)]
pub enum NotifyAction {
    /// Send a clearly labelled test message through NOTIFIER, as an alert goes (its
    /// templates and language, its HTTP or SMTP connection), and print the outcome:
    /// delivered, or the error and whether the outbox would retry it. Exit status 0 when
    /// delivered, 1 when not, 3 when there is no such notifier.
    Test {
        #[command(flatten)]
        config: ConfigArg,
        /// The notifier's name ([notifier.NAME]).
        notifier: String,
    },
}

#[derive(Subcommand)]
pub enum SourcesAction {
    /// Fetch one source right now and print what it yields (title, author, date, URL,
    /// first words, brands matched); nothing is stored.
    Test {
        #[command(flatten)]
        config: ConfigArg,
        /// The source id.
        id: String,
        /// One JSON object per item, one per line: the mention as `search --json` prints
        /// it, with `brands` matched.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum RulesAction {
    /// Replay the indexed history through a rule, with the live engine's code, and print
    /// when it would have fired and the mentions behind each firing. Nothing is
    /// delivered, nothing is stored.
    Test {
        #[command(flatten)]
        config: ConfigArg,
        /// The rule id.
        rule: String,
        /// Start of the replay: a duration ago (30d), a date (2026-11-01) or a
        /// date-time (2026-11-01T08:00:00Z).
        #[arg(long, default_value = "30d")]
        from: When,
        /// End of the replay: now (default), a duration ago, a date or a date-time.
        #[arg(long, default_value = "now")]
        to: When,
        /// One JSON object per firing, one per line (fields in the README).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum SilenceAction {
    /// Silence alerts of a rule and/or brand for a while: they are recorded, not
    /// delivered (and delivered when the silence ends if their incident is still open).
    Add {
        #[command(flatten)]
        config: ConfigArg,
        /// Only alerts of this rule (its id); with --brand, of both.
        #[arg(long)]
        rule: Option<String>,
        /// Only alerts about this brand (its id); with --rule, of both.
        #[arg(long)]
        brand: Option<String>,
        /// How long, e.g. 2h.
        #[arg(long = "for")]
        duration: Duration,
        /// Why (shown in `veille silence list`).
        #[arg(long, default_value = "")]
        reason: String,
        /// Who silences (shown in `veille silence list`); default: the user running the
        /// command ($USER).
        #[arg(long)]
        author: Option<String>,
    },
    /// List silences.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// One JSON object per silence, one per line (fields in the README).
        #[arg(long)]
        json: bool,
    },
    /// End a silence now.
    Expire {
        #[command(flatten)]
        config: ConfigArg,
        /// The silence's number (#N in `veille silence list`).
        id: i64,
    },
}

#[derive(Subcommand)]
pub enum IncidentsAction {
    /// One incident: its state, its alerts and the mentions they carried.
    Show {
        #[command(flatten)]
        config: ConfigArg,
        /// The incident's number (#N in `veille incidents`).
        id: i64,
        /// One JSON object: the incident and its alerts (fields in the README).
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an open incident: someone is on it, no more updates are sent (its
    /// resolution is).
    Ack {
        #[command(flatten)]
        config: ConfigArg,
        /// The incident's number (#N in `veille incidents`).
        id: i64,
        /// Who acknowledges; default: the user running the command ($USER).
        #[arg(long)]
        author: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the daemon: poll the sources, index mentions, raise and deliver alerts.
    ///
    /// Stops cleanly on SIGTERM or Ctrl-C: fetches in flight finish (or are redone at
    /// next start), the index is committed, undelivered alerts stay in the outbox.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Poll every source once, ingest everything fetched, deliver the alerts, then
        /// exit. Exit status 4 when alerts are still pending or failed at exit (`veille
        /// alerts` shows them), 1 when stopped before everything was ingested.
        #[arg(long)]
        once: bool,
    },
    /// Check the config file and every rule file for everything `run` would refuse; print
    /// each problem as FILE:LINE:COLUMN: message. Exit status 2 when there is a problem.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Search indexed mentions, newest first.
    ///
    /// QUERY uses the brand query language: words, "quoted phrases", AND, OR, NOT (ET,
    /// OU, SAUF) and parentheses. Operators are upper-case: a lower-case "or" is a word
    /// (it is one in French).
    Search {
        #[command(flatten)]
        config: ConfigArg,
        /// Only mentions of this brand (its id).
        #[arg(long)]
        brand: Option<String>,
        /// Only mentions from this source (its id).
        #[arg(long)]
        source: Option<String>,
        /// Only mentions with this sentiment: negative, neutral or positive.
        #[arg(long)]
        sentiment: Option<String>,
        /// Only mentions in this language (ISO 639-1, e.g. fr).
        #[arg(long)]
        lang: Option<String>,
        /// Only mentions published since then: a duration ago (24h, 7d), a date
        /// (2026-11-01) or a date-time (2026-11-01T08:00:00Z).
        #[arg(long)]
        since: Option<When>,
        /// Only mentions published before then (same forms as --since, or now).
        #[arg(long)]
        until: Option<When>,
        /// How many mentions to print (at least 1).
        #[arg(long, short = 'n', default_value = "20", value_parser = limit)]
        limit: usize,
        /// One JSON object per mention, one per line, for scripts.
        #[arg(long)]
        json: bool,
        /// The query; without it, every mention matches.
        query: Vec<String>,
    },
    /// List the configured sources with their state: health, last success, next poll,
    /// failures, items seen, last error. `veille sources test ID` fetches one now.
    Sources {
        #[command(flatten)]
        config: ConfigArg,
        /// One JSON object per source, one per line (fields in the README).
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<SourcesAction>,
    },
    /// Authors who talk most about a brand, ranked by mentions × reach.
    Authors {
        #[command(flatten)]
        config: ConfigArg,
        /// The brand (its id).
        #[arg(long)]
        brand: String,
        /// Since when: a duration ago (30d), a date (2026-11-01) or a date-time.
        #[arg(long, default_value = "30d")]
        since: When,
        /// How many authors to print (at least 1).
        #[arg(long, short = 'n', default_value = "20", value_parser = limit)]
        limit: usize,
        /// One JSON object per author, one per line (fields in the README).
        #[arg(long)]
        json: bool,
    },
    /// Rules: backtest one against the indexed history.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Silences: add, list, expire.
    Silence {
        #[command(subcommand)]
        action: SilenceAction,
    },
    /// List recent alerts and their delivery state per notifier.
    Alerts {
        #[command(flatten)]
        config: ConfigArg,
        /// How many alerts to print, newest first (at least 1).
        #[arg(long, short = 'n', default_value = "20", value_parser = limit)]
        limit: usize,
        /// One JSON object per alert, one per line (fields in the README).
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<AlertsAction>,
    },
    /// Notifiers: `veille notify test NOTIFIER` sends a test message.
    Notify {
        #[command(subcommand)]
        action: NotifyAction,
    },
    /// Incidents (what rules opened, updated, resolved): list them; `show ID` with its
    /// alerts and mentions; `ack ID`.
    Incidents {
        #[command(flatten)]
        config: ConfigArg,
        /// Only open incidents.
        #[arg(long)]
        open: bool,
        /// Only incidents of this rule (its id).
        #[arg(long)]
        rule: Option<String>,
        /// Only incidents about this brand (its id).
        #[arg(long)]
        brand: Option<String>,
        /// How many incidents to print, newest first (at least 1).
        #[arg(long, short = 'n', default_value = "20", value_parser = limit)]
        limit: usize,
        /// One JSON object per incident, one per line (fields in the README).
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<IncidentsAction>,
    },
    /// Digests: list them with their next run; `--now NAME` computes one for the period
    /// up to now and sends it (or, with `--dry-run`, writes it instead).
    Digest {
        #[command(flatten)]
        config: ConfigArg,
        /// Compute and send the digest NAME now.
        #[arg(long, requires = "name")]
        now: bool,
        /// Write instead of sending: to stdout (text), or to FILE — .eml (the e-mail),
        /// .html (charts inline), anything else as text.
        #[arg(long, num_args = 0..=1, default_missing_value = "-", requires = "now")]
        dry_run: Option<PathBuf>,
        /// Language of a dry run: en or fr (default: that of the digest's first
        /// notifier that has one, else en).
        #[arg(long)]
        locale: Option<String>,
        /// JSON: one object per digest, one per line; with --dry-run, the computed
        /// digest as one object (fields in the README).
        #[arg(long)]
        json: bool,
        /// The digest's name ([digest.NAME] in the config), for --now.
        name: Option<String>,
    },
    /// Run the whole pipeline offline on bundled samples: a local feed server, a local
    /// SMTP server and a local chat webhook; prints what veille found and delivered.
    Demo {
        /// Keep the data directory (index, state, config) here, to try `veille search`
        /// on it afterwards.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Write a manual page for each command (veille.1, veille-run.1, …) into DIR; the
    /// Debian package is built with them.
    #[command(hide = true)]
    Man {
        /// Where to write the pages.
        dir: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every flag and argument of every command says what it is for (`--help`, man pages).
    #[test]
    fn every_flag_and_argument_has_help() {
        fn walk(c: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in c.get_arguments() {
                let id = a.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for s in c.get_subcommands() {
                if s.get_name() == "help" {
                    continue;
                }
                if s.get_about().is_none() {
                    missing.push(format!("{path} {} (the command)", s.get_name()));
                }
                walk(s, &format!("{path} {}", s.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "veille", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:#?}");
    }

    #[test]
    fn a_limit_of_zero_is_refused() {
        assert!(limit("0").is_err());
        assert_eq!(limit("3"), Ok(3));
        let e = Cli::try_parse_from(["veille", "alerts", "-n", "0"])
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 2);
    }
}
