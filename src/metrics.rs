//! Prometheus metrics, served as text at `/metrics`.
//!
//! Counters and histograms are recorded where things happen (scheduler, ingest stage,
//! outbox); what is a matter of state (outbox depth, unhealthy sources) is read from the
//! state database at scrape time, so it is right even after a restart: the HTTP edge
//! reads it and hands the figures to [`Metrics::render`].
//!
//! Every series the configuration names (each source, brand, rule and notifier, with the
//! label values the code can give) exists from the start at zero, through [`declare`]:
//! `rate()` and `increase()` need the zero before the first event, and an alert rule can
//! tell "nothing happened" from "not exported". The daemon, which reads the
//! configuration, tells [`declare`] what it names ([`Known`]).

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Figures of the state database, read at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct StateFigures {
    pub pending: u64,
    pub oldest_pending_seconds: i64,
    pub sources: u64,
    pub unhealthy: u64,
    pub open_incidents: u64,
}

mod declare;
pub use declare::{Known, KnownSource};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FetchLabels {
    /// Source kind: rss, reddit, mastodon…
    pub kind: String,
    /// ok, not_modified, error
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BrandLabel {
    pub brand: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ItemLabels {
    pub source: String,
    /// parse, match, enrich, index, rules
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlertLabels {
    pub rule: String,
    /// new, update, resolved
    pub status: String,
    /// pending (to deliver) or silenced
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub notifier: String,
    /// The rule of the alert (what was delivered, per rule).
    pub rule: String,
    /// delivered, retry, failed
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceKindLabels {
    pub source: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    commit: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 5 ms … ~20 s
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

fn stage_histogram() -> Histogram {
    // 50 µs … ~3 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    pub fetches: Family<FetchLabels, Counter>,
    pub fetch_seconds: Histograms<KindLabel>,
    pub fetched_bytes: Family<KindLabel, Counter>,
    pub mentions: Family<BrandLabel, Counter>,
    pub items_failed: Family<ItemLabels, Counter>,
    pub match_seconds: Histogram,
    pub enrich_seconds: Histogram,
    pub index_seconds: Histogram,
    pub rules_seconds: Histogram,
    pub alerts: Family<AlertLabels, Counter>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    outbox_pending: Gauge,
    outbox_oldest_seconds: Gauge,
    sources: Gauge,
    sources_unhealthy: Gauge,
    incidents_open: Gauge,
    build_info: Family<BuildLabels, Gauge>,
    /// 1 when the source's last poll succeeded (a 304 too), 0 when it failed or before
    /// its first poll.
    pub source_up: Family<SourceKindLabels, Gauge>,
    pub source_last_success: Family<SourceLabel, Gauge>,
    /// The sources [`Metrics::declare`] created series for, with their kind.
    declared: Mutex<BTreeMap<String, String>>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("veille");
        let m = Metrics {
            fetches: Family::default(),
            fetch_seconds: Family::new_with_constructor(latency_histogram),
            fetched_bytes: Family::default(),
            mentions: Family::default(),
            items_failed: Family::default(),
            match_seconds: stage_histogram(),
            enrich_seconds: stage_histogram(),
            index_seconds: stage_histogram(),
            rules_seconds: stage_histogram(),
            alerts: Family::default(),
            deliveries: Family::default(),
            outbox_pending: Gauge::default(),
            outbox_oldest_seconds: Gauge::default(),
            sources: Gauge::default(),
            sources_unhealthy: Gauge::default(),
            incidents_open: Gauge::default(),
            build_info: Family::default(),
            source_up: Family::default(),
            source_last_success: Family::default(),
            declared: Mutex::new(BTreeMap::new()),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "fetches",
            "Source fetches by source kind and outcome",
            m.fetches.clone(),
        );
        r.register(
            "fetch_duration_seconds",
            "Time to fetch and parse a source",
            m.fetch_seconds.clone(),
        );
        r.register(
            "fetched_bytes",
            "Bytes fetched (decompressed), by source kind",
            m.fetched_bytes.clone(),
        );
        r.register(
            "mentions_ingested",
            "New mentions indexed, by brand",
            m.mentions.clone(),
        );
        r.register(
            "items_failed",
            "Items dropped because processing them failed, by source and stage",
            m.items_failed.clone(),
        );
        r.register(
            "match_duration_seconds",
            "Matching one batch of new mentions against every brand",
            m.match_seconds.clone(),
        );
        r.register(
            "enrich_duration_seconds",
            "Enriching one batch (language, sentiment, story, reach)",
            m.enrich_seconds.clone(),
        );
        r.register(
            "index_duration_seconds",
            "Indexing and committing one batch in tantivy",
            m.index_seconds.clone(),
        );
        r.register(
            "rules_duration_seconds",
            "Evaluating every rule on one batch (or one tick)",
            m.rules_seconds.clone(),
        );
        r.register(
            "alerts",
            "Alerts raised, by rule, status and whether a silence held them",
            m.alerts.clone(),
        );
        r.register(
            "delivery_attempts",
            "Delivery attempts by notifier and outcome",
            m.deliveries.clone(),
        );
        r.register(
            "outbox_pending",
            "Deliveries waiting in the outbox",
            m.outbox_pending.clone(),
        );
        r.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest delivery waiting in the outbox (0 when empty)",
            m.outbox_oldest_seconds.clone(),
        );
        r.register(
            "sources",
            "Configured sources known to the state database",
            m.sources.clone(),
        );
        r.register(
            "sources_unhealthy",
            "Sources failing for longer than [crawl] unhealthy_after",
            m.sources_unhealthy.clone(),
        );
        r.register("incidents_open", "Open incidents", m.incidents_open.clone());
        r.register(
            "build_info",
            "Always 1: the version of veille running and the git commit it was built from",
            m.build_info.clone(),
        );
        m.build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                commit: env!("VEILLE_COMMIT").into(),
            })
            .set(1);
        r.register(
            "source_up",
            "1 when the source's last poll succeeded (not modified included), else 0",
            m.source_up.clone(),
        );
        r.register(
            "source_last_success_timestamp_seconds",
            "When the source was last polled successfully (Unix time; 0: never)",
            m.source_last_success.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Records the outcome of one poll of `source`: `Some(when)` (Unix seconds) it
    /// succeeded, `None` it failed.
    pub fn source_polled(&self, source: &str, kind: &str, success: Option<i64>) {
        self.source_up
            .get_or_create(&SourceKindLabels {
                source: source.into(),
                kind: kind.into(),
            })
            .set(success.is_some() as i64);
        if let Some(now) = success {
            self.source_last_success
                .get_or_create(&SourceLabel {
                    source: source.into(),
                })
                .set(now);
        }
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// The Prometheus text exposition, with the state-derived gauges set from `s`.
    pub fn render(&self, s: &StateFigures) -> Result<String, std::fmt::Error> {
        self.outbox_pending.set(s.pending as i64);
        self.outbox_oldest_seconds.set(s.oldest_pending_seconds);
        self.sources.set(s.sources as i64);
        self.sources_unhealthy.set(s.unhealthy as i64);
        self.incidents_open.set(s.open_incidents as i64);
        self.encode()
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

/// Creates every series `known` names, at zero: see [`Metrics::declare`].
pub fn declare(known: &Known) {
    get().declare(known)
}

/// Records the outcome of one poll: `Some(when)` it succeeded, `None` it failed.
pub fn source_polled(source: &str, kind: &str, success: Option<chrono::DateTime<chrono::Utc>>) {
    get().source_polled(source, kind, success.map(|t| t.timestamp()))
}

/// Records one fetch.
pub fn fetch(kind: &str, outcome: &str, seconds: f64, bytes: u64) {
    let m = get();
    m.fetches
        .get_or_create(&FetchLabels {
            kind: kind.into(),
            outcome: outcome.into(),
        })
        .inc();
    let k = KindLabel { kind: kind.into() };
    m.fetch_seconds.get_or_create(&k).observe(seconds);
    if bytes > 0 {
        m.fetched_bytes.get_or_create(&k).inc_by(bytes);
    }
}

/// Counts one item dropped by a failure in `stage`.
pub fn item_failed(source: &str, stage: &str) {
    get()
        .items_failed
        .get_or_create(&ItemLabels {
            source: source.into(),
            stage: stage.into(),
        })
        .inc();
}
