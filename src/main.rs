//! The `veille` command line: run the daemon, check a config, search mentions, run the
//! offline demo. The command line's definition is `veille::cli::args`; here are the
//! logging setup and the dispatch to `cli`, `daemon` and `demo`, whose errors end with
//! the statuses of `veille::cli::exit`.

use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use veille::cli::EXIT_USAGE;
use veille::cli::args::*;
use veille::config::Config;

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

/// `println!` panics when stdout is closed (`veille demo | head -3`); the commands write
/// with `writeln!` and end quietly on a broken pipe (see `veille::cli::status_of`), and
/// this catches the `println!` left (the demo's report): that panic ends the process
/// quietly with status 0, like `head` reading no further. Any other panic is reported
/// as before.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
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

/// The config of a command, or the usage status after its problems are printed.
macro_rules! config {
    ($arg:expr) => {
        match load(&$arg.config) {
            Some(c) => c,
            None => return Ok(ExitCode::from(EXIT_USAGE)),
        }
    };
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    // `veille run` logs at the config's level, once the config is read; the other
    // commands print their results, and log only warnings.
    if !matches!(cli.command, Command::Run { .. }) {
        let quiet = !matches!(cli.command, Command::Man { .. });
        init_logging(if quiet { "warn" } else { "info" }, cli.log_format);
    }
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            let (code, print) = veille::cli::status_of(&e);
            if print {
                // An error may quote what a server or a feed said: made safe to show.
                eprintln!("error: {}", veille::cli::clean_lines(&format!("{e:#}")));
            }
            code
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let ok = Ok(ExitCode::SUCCESS);
    match cli.command {
        Command::Check { config } => {
            let c = config!(config);
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
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            use std::io::Write;
            writeln!(
                std::io::stdout(),
                "{}: OK — {} brand(s), {} source(s), {} notifier(s), {} rule(s) from {}, {ran} rule test(s) passed",
                config.config.display(),
                c.brands.len(),
                c.sources.len(),
                c.notifiers.len(),
                c.rules.len(),
                c.daemon.rules_dir.display()
            )?;
            ok
        }
        Command::Run { config, once } => {
            let c = config!(config);
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
                return Ok(ExitCode::from(veille::cli::EXIT_FAILURE));
            }
            if once && (report.pending_at_exit > 0 || report.failed_at_exit > 0) {
                // cron sees it: alerts that did not reach anyone.
                eprintln!(
                    "{} alert delivery(ies) still pending and {} failed: see `veille alerts`",
                    report.pending_at_exit, report.failed_at_exit
                );
                return Ok(ExitCode::from(veille::cli::EXIT_UNDELIVERED));
            }
            ok
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
            let c = config!(config);
            let filters = veille::cli::Filters {
                brand,
                source,
                sentiment,
                lang,
                since,
                until,
            };
            veille::cli::search(&c, filters, limit, json, &query.join(" "))?;
            ok
        }
        Command::Sources {
            config,
            json,
            action,
        } => match action {
            None => {
                let c = config!(config);
                veille::cli::sources(&c, json)?;
                ok
            }
            Some(SourcesAction::Test { config, id, json }) => {
                let c = config!(config);
                rt.block_on(veille::cli::source_test(&c, &id, json))
            }
        },
        Command::Authors {
            config,
            brand,
            since,
            limit,
            json,
        } => {
            let c = config!(config);
            veille::cli::authors(&c, &brand, since, limit, json)?;
            ok
        }
        Command::Rules {
            action:
                RulesAction::Test {
                    config,
                    rule,
                    from,
                    to,
                    json,
                },
        } => {
            let c = config!(config);
            veille::cli::rules_test(&c, &rule, from, to, json)?;
            ok
        }
        Command::Silence { action } => {
            let (config, what) = match action {
                SilenceAction::Add {
                    config,
                    rule,
                    brand,
                    duration,
                    reason,
                    author,
                } => (
                    config,
                    veille::cli::SilenceCmd::Add {
                        rule,
                        brand,
                        duration,
                        reason,
                        author: author.unwrap_or_else(veille::cli::current_user),
                    },
                ),
                SilenceAction::List { config, json } => {
                    (config, veille::cli::SilenceCmd::List { json })
                }
                SilenceAction::Expire { config, id } => {
                    (config, veille::cli::SilenceCmd::Expire(id))
                }
            };
            let c = config!(config);
            veille::cli::silence(&c, what)?;
            ok
        }
        Command::Alerts {
            config,
            limit,
            json,
            action,
        } => match action {
            None => {
                let c = config!(config);
                veille::cli::alerts(&c, limit, json)?;
                ok
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
                let c = config!(config);
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
            let c = config!(config);
            rt.block_on(veille::cli::notify_test(c, &notifier))
        }
        Command::Incidents {
            config,
            open,
            rule,
            brand,
            limit,
            json,
            action,
        } => {
            match action {
                None => {
                    let c = config!(config);
                    let f = veille::cli::IncidentFilter {
                        open,
                        rule,
                        brand,
                        limit,
                    };
                    veille::cli::incidents(&c, f, json)?;
                }
                Some(IncidentsAction::Show { config, id, json }) => {
                    let c = config!(config);
                    veille::cli::incident_show(&c, id, json)?;
                }
                Some(IncidentsAction::Ack { config, id, author }) => {
                    let c = config!(config);
                    let by = author.unwrap_or_else(veille::cli::current_user);
                    veille::cli::incident_ack(&c, id, &by)?;
                }
            }
            ok
        }
        Command::Digest {
            config,
            now,
            dry_run,
            locale,
            json,
            name,
        } => {
            let c = config!(config);
            let locale = match locale.as_deref() {
                None => None,
                Some("fr") => Some(veille::notify::view::Locale::Fr),
                Some("en") => Some(veille::notify::view::Locale::En),
                Some(other) => {
                    return Err(veille::cli::CliError::Usage(format!(
                        "--locale {other}: expected en or fr"
                    ))
                    .into());
                }
            };
            match (now, name) {
                (true, Some(name)) => {
                    rt.block_on(veille::cli::digest_now(c, &name, dry_run, locale, json))
                }
                _ => {
                    veille::cli::digests(&c, json)?;
                    ok
                }
            }
        }
        Command::Demo { keep } => rt.block_on(veille::demo::run(keep)),
        Command::Man { dir } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("cannot write manual pages in {}", dir.display()))?;
            ok
        }
    }
}
