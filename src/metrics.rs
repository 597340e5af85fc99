//! Prometheus metrics, served as text at `/metrics`.
//!
//! Counters and histograms are recorded where things happen (scheduler, ingest stage,
//! outbox); what is a matter of state (outbox depth, unhealthy sources) is read from the
//! state database at scrape time, so it is right even after a restart.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::state::State;

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
        Metrics { registry, ..m }
    }

    /// The Prometheus text exposition, with the state-derived gauges read now.
    pub fn render(&self, state: &State) -> anyhow::Result<String> {
        let s = state.summary(chrono::Utc::now())?;
        self.outbox_pending.set(s.pending as i64);
        self.outbox_oldest_seconds.set(s.oldest_pending_seconds);
        self.sources.set(s.sources as i64);
        self.sources_unhealthy.set(s.unhealthy as i64);
        self.incidents_open.set(s.open_incidents as i64);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
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
