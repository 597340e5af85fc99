//! `[daemon]` and `[crawl]`: read, then checked for everything `veille run` would refuse
//! or choke on later (an address it cannot bind, a zero-sized limit, a zone it does not
//! know), each problem at the position of its value so that `veille check` lists them
//! all, as FILE:LINE:COLUMN, in one run.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use crate::crawl::CrawlConfig;
use crate::model::{Duration, SourceFile, localtime};

/// `[daemon]`: where veille keeps its data and listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Index and state live here (relative paths are relative to the config file).
    pub data_dir: PathBuf,
    /// Address of the HTTP API, metrics and WebSub callbacks; "" turns it off.
    pub listen: String,
    /// Public base URL at which hubs can reach this daemon (e.g. "https://veille.example.org").
    /// When set, feeds that advertise a WebSub hub are subscribed to.
    pub public_url: Option<url::Url>,
    /// Directory of rule files (`*.toml` with `[[rule]]` entries).
    pub rules_dir: PathBuf,
    /// Also index items that match no brand (lets a brand added later search the past,
    /// at the cost of a larger index). Off by default.
    pub keep_unmatched: bool,
    /// Log level or filter ("info", "debug", "veille=debug,tantivy=warn"); `RUST_LOG`
    /// wins when set.
    pub log_level: String,
    /// At SIGTERM, how long in-flight fetches and deliveries may take before veille exits
    /// (what is cut short is redone at next start).
    pub shutdown_timeout: Duration,
    /// Time zone of every time a person reads (CLI tables, e-mails, chat messages,
    /// digests), as an IANA name ("Europe/Paris"); default: the system's. JSON and the
    /// API stay in UTC.
    pub timezone: Option<String>,
    /// `timezone`, resolved (the system's when not set).
    #[serde(skip)]
    pub tz: chrono_tz::Tz,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            data_dir: PathBuf::from("/var/lib/veille"),
            listen: "127.0.0.1:8650".into(),
            public_url: None,
            rules_dir: PathBuf::from("rules"),
            keep_unmatched: false,
            log_level: "info".into(),
            shutdown_timeout: Duration::from_secs(10),
            timezone: None,
            tz: system_zone(),
        }
    }
}

/// The system's zone: `TZ` when it names one (as the C library reads it), else what
/// the system is set to (`/etc/localtime` through `iana-time-zone`), else UTC — a
/// container often has no zone at all, and UTC is then what its clock shows.
pub fn system_zone() -> chrono_tz::Tz {
    if let Ok(tz) = std::env::var("TZ") {
        // ":Europe/Paris" is the POSIX form of a zone file name.
        if let Ok(z) = tz.trim_start_matches(':').parse::<chrono_tz::Tz>() {
            return z;
        }
    }
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|n| n.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::Tz::UTC)
}

/// Where each key's value of a table is, to report a problem at the value itself.
fn value_spans(v: &Spanned<DeValue<'_>>) -> HashMap<String, Range<usize>> {
    match v.get_ref() {
        DeValue::Table(t) => t
            .iter()
            .map(|(k, v)| (k.get_ref().to_string(), v.span()))
            .collect(),
        _ => HashMap::new(),
    }
}

/// Problems found in one table, each at its key's value (the table's own span when the
/// key was not written: a default cannot be wrong).
struct Problems<'f, 'a> {
    file: &'f mut SourceFile<'a>,
    spans: HashMap<String, Range<usize>>,
    table: Range<usize>,
}

impl Problems<'_, '_> {
    fn at(&mut self, key: &str, message: impl Into<String>) {
        let span = self.spans.get(key).cloned().unwrap_or(self.table.clone());
        self.file.error(span, message);
    }
}

/// `host:port`, `[v6]:port` or `ip:port` with a port that exists; "" (off) is fine.
/// Names are not resolved here: `check` must not depend on the DNS of the moment.
fn listen_error(addr: &str) -> Option<String> {
    if addr.is_empty() || addr.parse::<std::net::SocketAddr>().is_ok() {
        return None;
    }
    let expected = "expected HOST:PORT such as \"127.0.0.1:8650\" or \"[::1]:8650\" (or \"\" for no HTTP server)";
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Some(format!("`listen = \"{addr}\"` has no port: {expected}"));
    };
    if port.parse::<u16>().is_err() {
        return Some(format!(
            "`listen = \"{addr}\"`: `{port}` is not a port (0 to 65535): {expected}"
        ));
    }
    let name_ok = !host.is_empty()
        && !host.contains([':', '[', ']', '/', ' '])
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    (!name_ok).then(|| {
        format!("`listen = \"{addr}\"`: `{host}` is not a host name or address: {expected}")
    })
}

/// Reads and checks `[daemon]`.
pub(super) fn daemon(
    file: &mut SourceFile<'_>,
    value: Spanned<DeValue<'_>>,
) -> Option<DaemonConfig> {
    let spans = value_spans(&value);
    let table = value.span();
    let mut d = file.de::<DaemonConfig>(value)?;
    let mut p = Problems { file, spans, table };
    if tracing_subscriber::EnvFilter::try_new(&d.log_level).is_err() {
        p.at(
            "log_level",
            format!(
                "`log_level = \"{}\"` is not a level or filter: expected error, warn, info, debug, trace or e.g. \"veille=debug,info\"",
                d.log_level
            ),
        );
    }
    if let Some(e) = listen_error(&d.listen) {
        p.at("listen", e);
    }
    if let Some(u) = &d.public_url
        && !matches!(u.scheme(), "http" | "https")
    {
        p.at(
            "public_url",
            format!(
                "`public_url` must be an http:// or https:// URL, not {}",
                u.scheme()
            ),
        );
    }
    if let Some(name) = &d.timezone {
        match localtime::parse(name) {
            Ok(tz) => d.tz = tz,
            Err(e) => p.at("timezone", e),
        }
    }
    Some(d)
}

/// Reads and checks `[crawl]`: every limit that would stop the crawler (a zero-sized
/// body, no concurrency) or make no sense (a minimum above its maximum).
pub(super) fn crawl(file: &mut SourceFile<'_>, value: Spanned<DeValue<'_>>) -> Option<CrawlConfig> {
    let spans = value_spans(&value);
    let table = value.span();
    let c = file.de::<CrawlConfig>(value)?;
    let mut p = Problems { file, spans, table };
    if c.max_text.0 < crate::crawl::MIN_MAX_TEXT as u64 {
        p.at("max_text", "`max_text` must be at least 1KB");
    }
    if c.max_body.0 == 0 {
        p.at(
            "max_body",
            "`max_body` must be more than 0 (e.g. \"10MB\"): nothing could be fetched",
        );
    }
    for (key, n) in [("concurrency", c.concurrency), ("per_host", c.per_host)] {
        if n == 0 {
            p.at(
                key,
                format!("`{key}` must be at least 1: nothing could be fetched"),
            );
        }
    }
    if c.max_redirects > 5 {
        p.at("max_redirects", "`max_redirects` must be between 0 and 5");
    }
    for (key, d) in [
        ("timeout", c.timeout),
        ("connect_timeout", c.connect_timeout),
        ("auto_min", c.auto_min),
        ("unhealthy_after", c.unhealthy_after),
        ("push_poll_every", c.push_poll_every),
    ] {
        if d.is_zero() {
            p.at(key, format!("`{key}` must be longer than 0s"));
        }
    }
    if c.auto_min > c.auto_max {
        p.at(
            "auto_min",
            format!(
                "`auto_min` ({}) is longer than `auto_max` ({})",
                c.auto_min, c.auto_max
            ),
        );
    }
    Some(c)
}

/// Reads and checks `[enrich]`: thresholds in their range, languages veille knows.
pub(super) fn enrich(
    file: &mut SourceFile<'_>,
    value: Spanned<DeValue<'_>>,
) -> Option<crate::enrich::EnrichConfig> {
    let spans = value_spans(&value);
    let table = value.span();
    let e = file.de::<crate::enrich::EnrichConfig>(value)?;
    let mut p = Problems { file, spans, table };
    for (key, v) in [
        ("story_threshold", e.story_threshold),
        ("story_title_threshold", e.story_title_threshold),
    ] {
        if !(0.05..=1.0).contains(&v) {
            p.at(key, format!("`{key}` must be between 0.05 and 1"));
        }
    }
    for l in &e.languages {
        if !crate::enrich::language::supported().any(|s| s == l) {
            p.at(
                "languages",
                format!(
                    "unknown language `{l}` in [enrich] languages: expected some of {}",
                    crate::enrich::language::supported()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_run_could_not_bind_are_refused() {
        for ok in [
            "",
            "127.0.0.1:8650",
            "[::1]:8650",
            "localhost:8650",
            "0.0.0.0:0",
        ] {
            assert_eq!(listen_error(ok), None, "{ok}");
        }
        for bad in ["not-an-addr:99999", "8650", "127.0.0.1", ":8650", "a b:80"] {
            assert!(listen_error(bad).is_some(), "{bad}");
        }
    }
}
