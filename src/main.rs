//! The `veille` command line: run the daemon, check a config, search mentions, run the
//! offline demo.
//!
//! Over 500 lines: the command line's definition is one clap tree (about 260 lines, whose
//! doc comments are the `--help` text and the man pages), then logging setup and the
//! dispatch to `cli`, `daemon` and `demo`; the commands' work is in `cli/`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use veille::cli::When;
use veille::config::{Config, Duration};

#[derive(Parser)]
#[command(
    name = "veille",
    version,
    about = "Watch what is said online about your brands, and get alerted when it matters.",
    long_about = "veille polls news feeds, forums and social networks, keeps every mention of your \
brands searchable, and sends alerts by e-mail and team chat when a rule says so.\n\n\
Start with `veille demo` to see the whole pipeline run offline on sample data."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format: text (human-readable; the journal's own format under systemd) or
    /// json (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Clone)]
struct ConfigArg {
    /// Config file.
    #[arg(
        long,
        short,
        env = "VEILLE_CONFIG",
        default_value = "/etc/veille/veille.toml"
    )]
    config: PathBuf,
}

#[derive(Subcommand)]
enum AlertsAction {
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
enum NotifyAction {
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
enum SourcesAction {
    /// Fetch one source right now and print what it yields (title, author, date, URL,
    /// first words, brands matched); nothing is stored.
    Test {
        #[command(flatten)]
        config: ConfigArg,
        /// The source id.
        id: String,
    },
}

#[derive(Subcommand)]
enum RulesAction {
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
    },
}

#[derive(Subcommand)]
enum SilenceAction {
    /// Silence alerts of a rule and/or brand for a while: they are recorded, not
    /// delivered (and delivered when the silence ends if their incident is still open).
    Add {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long)]
        brand: Option<String>,
        /// How long, e.g. 2h.
        #[arg(long = "for")]
        duration: Duration,
        /// Why (shown in `veille silence list`).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List silences.
    List {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// End a silence now.
    Expire {
        #[command(flatten)]
        config: ConfigArg,
        id: i64,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: poll the sources, index mentions, raise and deliver alerts.
    ///
    /// Stops cleanly on SIGTERM or Ctrl-C: fetches in flight finish (or are redone at
    /// next start), the index is committed, undelivered alerts stay in the outbox.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Poll every source once, deliver the alerts, then exit. Exit status 4 when
        /// alerts are still pending or failed at exit (`veille alerts` shows them).
        #[arg(long)]
        once: bool,
    },
    /// Check the config file and every rule file; print each problem as
    /// FILE:LINE:COLUMN: message. Exit status 2 when there is a problem.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Search indexed mentions, newest first.
    ///
    /// QUERY uses the brand query language: words, "quoted phrases", AND, OR, NOT (ET,
    /// OU, SAUF) and parentheses. Without QUERY, every mention matches.
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
        /// How many mentions to print.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// One JSON object per line, for scripts.
        #[arg(long)]
        json: bool,
        /// The query.
        query: Vec<String>,
    },
    /// List the configured sources with their state: health, last success, next poll,
    /// failures, items seen, last error. `veille sources test ID` fetches one now.
    Sources {
        #[command(flatten)]
        config: ConfigArg,
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
        /// Period, e.g. 30d.
        #[arg(long, default_value = "30d")]
        since: Duration,
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
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
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        #[command(subcommand)]
        action: Option<AlertsAction>,
    },
    /// Notifiers: `veille notify test NOTIFIER` sends a test message.
    Notify {
        #[command(subcommand)]
        action: NotifyAction,
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
    Man { dir: PathBuf },
}

/// Logs go to the journal when systemd started us with its journal on stderr, to stderr
/// otherwise (JSON with `--log-format json`). `RUST_LOG` wins over `default`.
///
/// Lines written to stderr go through [`LogWriter`]: known secrets are scrubbed and
/// control characters in values escaped, so hostile text cannot forge a line.
fn init_logging(default: &str, format: LogFormat) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use veille::model::redact::LogWriter;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    if format == LogFormat::Json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(|| LogWriter { ansi: false }),
            )
            .init();
        return;
    }
    if stderr_is_journal() {
        // Through stderr, not the journal's native protocol: the native fields would go
        // out as they are, and a secret an error quotes with them (tests/secrets.rs)
        // must be scrubbed on the way like every other line. journald reads the level
        // from the sd-daemon(3) prefix and stamps the time itself.
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .without_time()
                    .with_ansi(false)
                    .with_level(false)
                    .with_writer(JournalLines),
            )
            .init();
        return;
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    registry
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || LogWriter { ansi })
                .with_ansi(ansi),
        )
        .init();
}

/// Log lines for the journal: scrubbed like stderr's, each prefixed with its syslog
/// priority (`<3>` error … `<7>` debug) as sd-daemon(3) describes.
struct JournalLines;

/// One event for the journal.
struct JournalLine {
    priority: &'static str,
}

impl std::io::Write for JournalLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let clean =
            veille::model::redact::LogWriter { ansi: false }.clean(&String::from_utf8_lossy(buf));
        let mut out = String::with_capacity(clean.len() + 3);
        // Control characters are escaped by `clean`: one event is one line.
        out.push_str(self.priority);
        out.push_str(&clean);
        std::io::stderr().write_all(out.as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for JournalLines {
    type Writer = JournalLine;
    fn make_writer(&'a self) -> JournalLine {
        JournalLine { priority: "<6>" }
    }
    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> JournalLine {
        let priority = match *meta.level() {
            tracing::Level::ERROR => "<3>",
            tracing::Level::WARN => "<4>",
            tracing::Level::INFO => "<6>",
            _ => "<7>",
        };
        JournalLine { priority }
    }
}

/// systemd sets JOURNAL_STREAM to the device and inode of the journal stream it connected
/// to stderr; it is ours only if stderr is still that stream.
fn stderr_is_journal() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(v) = std::env::var("JOURNAL_STREAM") else {
            return false;
        };
        let Some((dev, ino)) = v.split_once(':') else {
            return false;
        };
        let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
            return false;
        };
        dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
    }
    #[cfg(not(unix))]
    false
}

/// Loads the config, printing every problem; `None` means exit status 2.
fn load(path: &std::path::Path) -> Option<Config> {
    match Config::load(path) {
        Ok(c) => Some(c),
        Err(d) => {
            for x in &d.0 {
                eprintln!("{x}");
            }
            eprintln!("{} problem(s) found", d.0.len());
            None
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Command::Demo { .. }
            | Command::Search { .. }
            | Command::Check { .. }
            | Command::Sources { .. }
            | Command::Alerts { .. }
            | Command::Notify { .. }
            | Command::Authors { .. }
            | Command::Rules { .. }
            | Command::Silence { .. }
            | Command::Digest { .. }
    );
    // `veille run` logs at the config's level, once the config is read.
    if !matches!(cli.command, Command::Run { .. }) {
        init_logging(if quiet { "warn" } else { "info" }, cli.log_format);
    }
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Check { config } => {
            let Some(c) = load(&config.config) else {
                return Ok(ExitCode::from(2));
            };
            // Rule test cases run now, through the real ingest stage.
            let mut failed = 0;
            let mut ran = 0;
            let now = veille::clock::Clock::now(&veille::clock::SystemClock);
            for r in &c.rules {
                for t in &r.tests {
                    ran += 1;
                    if let Err(e) =
                        veille::backtest::run_test(&c.brands, &c.routes, &c.enrich, r, t, now)
                    {
                        eprintln!("{}: {e}", r.file.display());
                        failed += 1;
                    }
                }
            }
            if failed > 0 {
                eprintln!("{failed} of {ran} rule test(s) failed");
                return Ok(ExitCode::from(2));
            }
            println!(
                "{}: OK — {} brand(s), {} source(s), {} notifier(s), {} rule(s) from {}, {ran} rule test(s) passed",
                config.config.display(),
                c.brands.len(),
                c.sources.len(),
                c.notifiers.len(),
                c.rules.len(),
                c.daemon.rules_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config, once } => {
            let Some(c) = load(&config.config) else {
                return Ok(ExitCode::from(2));
            };
            init_logging(&c.daemon.log_level, cli.log_format);
            let report = rt.block_on(async {
                let shutdown = veille::daemon::signal_shutdown();
                let opts = veille::daemon::RunOptions {
                    reload: Some(veille::daemon::signal_reload()),
                    drain_timeout: c.daemon.shutdown_timeout.std(),
                    mode: if once {
                        veille::scheduler::Mode::Once
                    } else {
                        veille::scheduler::Mode::Forever
                    },
                    ..Default::default()
                };
                veille::daemon::run(c, opts, shutdown).await
            })?;
            // The daemon kept its shutdown budget; a blocking task still busy past it (an
            // ingest commit cut short) must not hold the exit: what it had not committed
            // is fetched again at the next start.
            rt.shutdown_timeout(std::time::Duration::from_millis(500));
            if once && report.ingest_unfinished {
                // Stopped before everything fetched was ingested: not a clean run.
                eprintln!(
                    "stopped before every fetched item was ingested: {} new mention(s) committed; the rest is fetched again at the next run",
                    report.new_mentions
                );
                return Ok(ExitCode::FAILURE);
            }
            if once && (report.pending_at_exit > 0 || report.failed_at_exit > 0) {
                // cron sees it: alerts that did not reach anyone (shared exit codes).
                eprintln!(
                    "{} alert delivery(ies) still pending and {} failed: see `veille alerts`",
                    report.pending_at_exit, report.failed_at_exit
                );
                return Ok(ExitCode::from(EXIT_UNDELIVERED));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Search {
            config,
            brand,
            source,
            sentiment,
            lang,
            since,
            until,
            limit,
            json,
            query,
        } => {
            let Some(c) = load(&config.config) else {
                return Ok(ExitCode::from(2));
            };
            let filters = veille::cli::Filters {
                brand,
                source,
                sentiment,
                lang,
                since,
                until,
            };
            veille::cli::search(&c, filters, limit, json, &query.join(" "))
        }
        Command::Sources { config, action } => match action {
            None => {
                let Some(c) = load(&config.config) else {
                    return Ok(ExitCode::from(2));
                };
                veille::cli::sources(&c)?;
                Ok(ExitCode::SUCCESS)
            }
            Some(SourcesAction::Test { config, id }) => {
                let Some(c) = load(&config.config) else {
                    return Ok(ExitCode::from(2));
                };
                rt.block_on(veille::cli::source_test(&c, &id))
            }
        },
        Command::Authors {
            config,
            brand,
            since,
            limit,
        } => {
            let Some(c) = load(&config.config) else {
                return Ok(ExitCode::from(2));
            };
            veille::cli::authors(&c, &brand, since, limit)
        }
        Command::Rules {
            action:
                RulesAction::Test {
                    config,
                    rule,
                    from,
                    to,
                },
        } => {
            let Some(c) = load(&config.config) else {
                return Ok(ExitCode::from(2));
            };
            veille::cli::rules_test(&c, &rule, from, to)
        }
        Command::Silence { action } => {
            let (config, what) = match action {
                SilenceAction::Add {
                    config,
                    rule,
                    brand,
                    duration,
                    reason,
                } => (
                    config,
                    veille::cli::SilenceCmd::Add {
                        rule,
                        brand,
                        duration,
                        reason,
                    },
                ),
                SilenceAction::List { config } => (config, veille::cli::SilenceCmd::List),
                SilenceAction::Expire { config, id } => {
                    (config, veille::cli::SilenceCmd::Expire(id))
                }
            };
            let Some(c) = load(&config.config) else {
                return Ok(ExitCode::from(2));
            };
            veille::cli::silence(&c, what)
        }
        Command::Alerts {
            config,
            limit,
            action,
        } => match action {
            None => {
                let Some(c) = load(&config.config) else {
                    return Ok(ExitCode::from(2));
                };
                veille::cli::alerts(&c, limit)?;
                Ok(ExitCode::SUCCESS)
            }
            Some(a) => {
                let (drop, config, id, notifier, all_failed, all_orphaned, to) = match a {
                    AlertsAction::Retry {
                        config,
                        id,
                        notifier,
                        all_failed,
                        all_orphaned,
                        to,
                    } => (false, config, id, notifier, all_failed, all_orphaned, to),
                    AlertsAction::Drop {
                        config,
                        id,
                        notifier,
                        all_failed,
                        all_orphaned,
                    } => (true, config, id, notifier, all_failed, all_orphaned, None),
                };
                let Some(c) = load(&config.config) else {
                    return Ok(ExitCode::from(2));
                };
                veille::cli::alerts_act(
                    &c,
                    drop,
                    id,
                    notifier.as_deref(),
                    all_failed,
                    all_orphaned,
                    to,
                )
            }
        },
        Command::Notify {
            action: NotifyAction::Test { config, notifier },
        } => {
            let Some(c) = load(&config.config) else {
                return Ok(ExitCode::from(2));
            };
            rt.block_on(veille::cli::notify_test(c, &notifier))
        }
        Command::Digest {
            config,
            now,
            dry_run,
            locale,
            name,
        } => {
            let Some(c) = load(&config.config) else {
                return Ok(ExitCode::from(2));
            };
            let locale = match locale.as_deref() {
                None => None,
                Some("fr") => Some(veille::notify::view::Locale::Fr),
                Some("en") => Some(veille::notify::view::Locale::En),
                Some(other) => {
                    eprintln!("--locale {other}: expected en or fr");
                    return Ok(ExitCode::from(2));
                }
            };
            match (now, name) {
                (true, Some(name)) => {
                    rt.block_on(veille::cli::digest_now(c, &name, dry_run, locale))
                }
                _ => veille::cli::digests(&c),
            }
        }
        Command::Demo { keep } => rt.block_on(veille::demo::run(keep)),
        Command::Man { dir } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("cannot write manual pages in {}", dir.display()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `veille run --once` left alerts pending or failed (shared exit codes: 0 ok, 1 runtime
/// failure, 2 usage or configuration, 3 not found, 4 this).
const EXIT_UNDELIVERED: u8 = 4;
