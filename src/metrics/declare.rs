//! The series that exist from the start: every source, brand, rule and notifier the
//! configuration names, with each label value the code can give, at zero.

use std::collections::BTreeMap;

use super::{
    AlertLabels, BrandLabel, DeliveryLabels, FetchLabels, ItemLabels, KindLabel, Metrics,
    SourceKindLabels, SourceLabel,
};

/// The label values the code gives, so that [`declare`] can create every series.
pub const FETCH_OUTCOMES: [&str; 3] = ["ok", "not_modified", "error"];
pub const ITEM_STAGES: [&str; 5] = ["parse", "match", "enrich", "index", "rules"];
pub const ALERT_STATUSES: [&str; 3] = ["new", "update", "resolved"];
pub const ALERT_STATES: [&str; 2] = ["pending", "silenced"];
pub const DELIVERY_OUTCOMES: [&str; 3] = ["delivered", "retry", "failed"];

/// What a configuration names, for [`declare`].
#[derive(Debug, Default, Clone)]
pub struct Known {
    pub sources: Vec<KnownSource>,
    pub brands: Vec<String>,
    /// Each rule with the notifiers its alerts go to (its `notify`, or the routes').
    pub rules: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone)]
pub struct KnownSource {
    pub id: String,
    pub kind: String,
    /// What the state database says of a source already polled before this start: its
    /// last poll succeeded, and when it last did (Unix seconds).
    pub up: bool,
    pub last_success: Option<i64>,
}

impl Metrics {
    /// Creates, at zero, every series `known` names. The health series of sources no
    /// longer configured go away (a removed source is not "down"); counters stay, as
    /// counters do. Series already there keep their values, so a reload loses no count.
    pub fn declare(&self, known: &Known) {
        let mut declared = self.declared.lock().unwrap_or_else(|e| e.into_inner());
        let now: BTreeMap<String, String> = known
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.kind.clone()))
            .collect();
        for (id, kind) in declared.iter() {
            if now.get(id) != Some(kind) {
                self.forget_source(id, kind);
            }
        }
        for s in &known.sources {
            if declared.get(&s.id) == Some(&s.kind) {
                continue;
            }
            self.source_up
                .get_or_create(&SourceKindLabels {
                    source: s.id.clone(),
                    kind: s.kind.clone(),
                })
                .set(s.up as i64);
            self.source_last_success
                .get_or_create(&SourceLabel {
                    source: s.id.clone(),
                })
                .set(s.last_success.unwrap_or(0));
            for stage in ITEM_STAGES {
                let _ = self.items_failed.get_or_create(&ItemLabels {
                    source: s.id.clone(),
                    stage: stage.into(),
                });
            }
            let kind = KindLabel {
                kind: s.kind.clone(),
            };
            for outcome in FETCH_OUTCOMES {
                let _ = self.fetches.get_or_create(&FetchLabels {
                    kind: s.kind.clone(),
                    outcome: outcome.into(),
                });
            }
            let _ = self.fetch_seconds.get_or_create(&kind);
            let _ = self.fetched_bytes.get_or_create(&kind);
        }
        *declared = now;
        for b in &known.brands {
            let _ = self
                .mentions
                .get_or_create(&BrandLabel { brand: b.clone() });
        }
        for (rule, notifiers) in &known.rules {
            for status in ALERT_STATUSES {
                for state in ALERT_STATES {
                    let _ = self.alerts.get_or_create(&AlertLabels {
                        rule: rule.clone(),
                        status: status.into(),
                        state: state.into(),
                    });
                }
            }
            for n in notifiers {
                for outcome in DELIVERY_OUTCOMES {
                    let _ = self.deliveries.get_or_create(&DeliveryLabels {
                        notifier: n.clone(),
                        rule: rule.clone(),
                        outcome: outcome.into(),
                    });
                }
            }
        }
    }

    fn forget_source(&self, id: &str, kind: &str) {
        self.source_up.remove(&SourceKindLabels {
            source: id.into(),
            kind: kind.into(),
        });
        self.source_last_success
            .remove(&SourceLabel { source: id.into() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            sources: vec![
                KnownSource {
                    id: "lemonde".into(),
                    kind: "rss".into(),
                    up: true,
                    last_success: Some(1_700_000_000),
                },
                KnownSource {
                    id: "fresh".into(),
                    kind: "mastodon".into(),
                    up: false,
                    last_success: None,
                },
            ],
            brands: vec!["acme".into()],
            rules: vec![("crisis".into(), vec!["mail".into()])],
        }
    }

    #[test]
    fn declare_exports_every_series_at_zero() {
        let m = Metrics::new();
        m.declare(&known());
        let text = m.encode().unwrap();
        for line in [
            "veille_fetches_total{kind=\"rss\",outcome=\"not_modified\"} 0",
            "veille_fetches_total{kind=\"mastodon\",outcome=\"error\"} 0",
            "veille_fetch_duration_seconds_count{kind=\"rss\"} 0",
            "veille_fetched_bytes_total{kind=\"mastodon\"} 0",
            "veille_mentions_ingested_total{brand=\"acme\"} 0",
            "veille_items_failed_total{source=\"fresh\",stage=\"parse\"} 0",
            "veille_alerts_total{rule=\"crisis\",status=\"resolved\",state=\"silenced\"} 0",
            "veille_delivery_attempts_total{notifier=\"mail\",rule=\"crisis\",outcome=\"retry\"} 0",
            "veille_source_up{source=\"lemonde\",kind=\"rss\"} 1",
            "veille_source_up{source=\"fresh\",kind=\"mastodon\"} 0",
            "veille_source_last_success_timestamp_seconds{source=\"lemonde\"} 1700000000",
            "veille_source_last_success_timestamp_seconds{source=\"fresh\"} 0",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(
            text.contains(&format!(
                "veille_build_info{{version=\"{}\",commit=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION"),
                env!("VEILLE_COMMIT")
            )),
            "{text}"
        );
    }

    /// A reload keeps the counts and states of the sources it keeps, and drops the health
    /// series of a source it removes (else it would read as down for ever).
    #[test]
    fn a_reload_keeps_values_and_forgets_removed_sources() {
        let m = Metrics::new();
        m.declare(&known());
        m.source_polled("fresh", "mastodon", Some(1_800_000_000));
        m.fetches
            .get_or_create(&FetchLabels {
                kind: "mastodon".into(),
                outcome: "ok".into(),
            })
            .inc();
        let mut k = known();
        k.sources.retain(|s| s.id == "fresh");
        m.declare(&k);
        let text = m.encode().unwrap();
        assert!(
            text.contains("veille_source_up{source=\"fresh\",kind=\"mastodon\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "veille_source_last_success_timestamp_seconds{source=\"fresh\"} 1800000000"
            ),
            "{text}"
        );
        assert!(
            text.contains("veille_fetches_total{kind=\"mastodon\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            !text.contains("veille_source_up{source=\"lemonde\""),
            "{text}"
        );
        assert!(
            !text.contains("veille_source_last_success_timestamp_seconds{source=\"lemonde\""),
            "{text}"
        );
    }

    #[test]
    fn a_failed_poll_marks_the_source_down_and_keeps_its_last_success() {
        let m = Metrics::new();
        m.declare(&known());
        m.source_polled("lemonde", "rss", None);
        let text = m.encode().unwrap();
        assert!(
            text.contains("veille_source_up{source=\"lemonde\",kind=\"rss\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "veille_source_last_success_timestamp_seconds{source=\"lemonde\"} 1700000000"
            ),
            "{text}"
        );
    }
}
