//! Rule evaluation through the real ingest stage (tantivy + SQLite in a temp dir), with
//! an injected clock: windows, thresholds and realert without sleeping.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use common::*;
use veille::alerts::outbox::Wake;
use veille::clock::ManualClock;
use veille::matching::Matcher;
use veille::mention::Mention;
use veille::pipeline::{Event, Ingest, Report};
use veille::rules::eval::Evaluator;
use veille::sources::Poll;
use veille::store::index::MentionIndex;
use veille::store::state::State;

struct Harness {
    ingest: Ingest,
    clock: ManualClock,
    state: Arc<Mutex<State>>,
    n: usize,
}

impl Harness {
    fn new(setup: &Setup, clock: ManualClock) -> Harness {
        let cfg = setup.load();
        let index = Arc::new(MentionIndex::open(&cfg.index_dir()).unwrap());
        let state = Arc::new(Mutex::new(State::open(&cfg.state_path()).unwrap()));
        let ingest = Ingest {
            matcher: Matcher::new(cfg.brands.clone()),
            enricher: veille::enrich::Enricher::new(&cfg.enrich),
            evaluator: Evaluator::new(cfg.rules.clone(), &cfg.brands),
            writer: index.writer().unwrap(),
            index,
            state: state.clone(),
            states: Arc::default(),
            wake: Wake::default(),
            clock: Arc::new(clock.clone()),
            report: Arc::new(Mutex::new(Report::default())),
            keep_unmatched: false,
            unhealthy_after: chrono::Duration::hours(1),
        };
        Harness {
            ingest,
            clock,
            state,
            n: 0,
        }
    }

    /// Feeds one batch of mentions published now; returns the rules that fired.
    fn feed(&mut self, titles: &[&str]) -> Vec<String> {
        let mentions: Vec<Mention> = titles
            .iter()
            .map(|t| {
                self.n += 1;
                let mut m = veille::testutil::mention(t, &format!("{t} (item {})", self.n));
                m.published_at = self.clock.now_utc();
                m.fetched_at = self.clock.now_utc();
                m
            })
            .collect();
        self.feed_mentions(mentions)
    }

    fn feed_mentions(&mut self, mentions: Vec<Mention>) -> Vec<String> {
        let before = self.ingest.report.lock().unwrap().alerts.len();
        self.ingest
            .process(vec![Event::Polled {
                source: "test".into(),
                poll: Poll {
                    mentions,
                    ..Default::default()
                },
            }])
            .unwrap();
        let r = self.ingest.report.lock().unwrap();
        r.alerts[before..].iter().map(|a| a.rule.clone()).collect()
    }

    fn pending(&self) -> u64 {
        self.state.lock().unwrap().pending_count().unwrap()
    }
}

trait Now {
    fn now_utc(&self) -> chrono::DateTime<Utc>;
}
impl Now for ManualClock {
    fn now_utc(&self) -> chrono::DateTime<Utc> {
        veille::clock::Clock::now(self)
    }
}

fn setup(rules: &str) -> Setup {
    let s = Setup::new();
    s.write(&(base_config() + "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nallow_private = true\n"));
    s.rules("r.toml", rules);
    s
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap()
}

#[test]
fn threshold_fires_at_the_count_then_waits_for_realert() {
    let s = setup(
        r#"[[rule]]
id = "volume"
brand = "acme"
kind = "threshold"
window = "1h"
min_count = 3
realert = "2h"
notify = ["hook"]
"#,
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    assert!(h.feed(&["Acme un", "Acme deux"]).is_empty());
    assert!(h.feed(&["Globex"]).is_empty(), "other brands do not count");
    assert_eq!(h.feed(&["Acme trois"]), vec!["volume"]);
    assert_eq!(h.pending(), 1, "the alert is in the outbox");
    clock.advance(Duration::minutes(10));
    assert!(h.feed(&["Acme quatre"]).is_empty(), "within realert");
    // Three hours later the old mentions left the window: one is not enough.
    clock.advance(Duration::hours(3));
    assert!(h.feed(&["Acme cinq"]).is_empty());
    clock.advance(Duration::minutes(1));
    assert!(h.feed(&["Acme six"]).is_empty());
    clock.advance(Duration::minutes(1));
    assert_eq!(h.feed(&["Acme sept"]), vec!["volume"]);
    let alert = h
        .ingest
        .report
        .lock()
        .unwrap()
        .alerts
        .last()
        .cloned()
        .unwrap();
    assert_eq!(alert.total_mentions, 3);
    assert!(
        alert
            .summary
            .starts_with("3 mentions of Acme in the last 1h"),
        "{}",
        alert.summary
    );
    assert_eq!(alert.mentions[0].title, "Acme sept", "newest first");
}

#[test]
fn threshold_window_survives_a_restart() {
    let s = setup(
        "[[rule]]\nid = \"volume\"\nbrand = \"acme\"\nkind = \"threshold\"\nwindow = \"1h\"\nmin_count = 3\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    {
        let mut h = Harness::new(&s, clock.clone());
        assert!(h.feed(&["Acme un", "Acme deux"]).is_empty());
    }
    clock.advance(Duration::minutes(20));
    let mut h = Harness::new(&s, clock.clone());
    assert_eq!(
        h.feed(&["Acme trois"]),
        vec!["volume"],
        "counts come from the index"
    );
}

#[test]
fn match_rule_with_query_and_realert() {
    let s = setup(
        r#"[[rule]]
id = "crisis"
brand = "acme"
kind = "match"
query = "arnaque OR boycott"
severity = "critical"
realert = "30m"
notify = ["hook"]
"#,
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    assert!(
        h.feed(&["Acme lance un produit"]).is_empty(),
        "no crisis word"
    );
    assert!(
        h.feed(&["Boycott Globex"]).is_empty(),
        "not the rule's brand"
    );
    assert_eq!(
        h.feed(&["Arnaque chez Acme", "Boycott d'Acme"]),
        vec!["crisis"]
    );
    let a = h.ingest.report.lock().unwrap().alerts[0].clone();
    assert_eq!(a.total_mentions, 2, "one alert for the batch");
    let hit_words: Vec<String> = a.mentions[0]
        .excerpt
        .iter()
        .filter(|f| f.hit)
        .map(|f| f.text.to_lowercase())
        .collect();
    assert!(!hit_words.is_empty());
    clock.advance(Duration::minutes(10));
    assert!(
        h.feed(&["Encore une arnaque Acme"]).is_empty(),
        "within realert"
    );
    clock.advance(Duration::minutes(30));
    assert_eq!(h.feed(&["Nouvelle arnaque Acme"]), vec!["crisis"]);
}

#[test]
fn a_mention_processed_twice_alerts_once() {
    let s =
        setup("[[rule]]\nid = \"all\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"hook\"]\n");
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let m = veille::testutil::mention("Acme", "x");
    assert_eq!(h.feed_mentions(vec![m.clone(), m.clone()]), vec!["all"]);
    assert!(h.feed_mentions(vec![m.clone()]).is_empty());
    // Even a new process with the same data: the mention is known.
    drop(h);
    let mut h2 = Harness::new(&s, clock);
    assert!(h2.feed_mentions(vec![m]).is_empty());
    assert_eq!(h2.pending(), 1);
}
