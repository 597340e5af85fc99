//! The real ingest stage (tantivy + SQLite in a temp dir) with an injected clock, fed
//! mentions by hand: rule evaluation, incidents and batching without sleeping.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use veille::clock::ManualClock;
use veille::ingest::{Event, Ingest, Report};
use veille::matching::Matcher;
use veille::mention::Mention;
use veille::model::Alert;
use veille::outbox::Wake;
use veille::rules::eval::Evaluator;
use veille::sources::Poll;
use veille::store::index::MentionIndex;
use veille::store::state::State;

use super::Setup;

pub struct Harness {
    pub ingest: Ingest,
    pub clock: ManualClock,
    pub state: Arc<Mutex<State>>,
    pub n: usize,
}

impl Harness {
    pub fn new(setup: &Setup, clock: ManualClock) -> Harness {
        let cfg = setup.load();
        let index = Arc::new(MentionIndex::open(&cfg.index_dir()).unwrap());
        let state = Arc::new(Mutex::new(State::open(&cfg.state_path()).unwrap()));
        let ingest = Ingest {
            matcher: Matcher::new(cfg.brands.clone()),
            enricher: veille::enrich::Enricher::new(&cfg.enrich),
            evaluator: Evaluator::with_routes(cfg.rules.clone(), &cfg.brands, cfg.routes.clone()),
            writer: index.writer().unwrap(),
            index,
            state: state.clone(),
            states: Arc::default(),
            wake: Wake::default(),
            clock: Arc::new(clock.clone()),
            report: Arc::new(Mutex::new(Report::default())),
            keep_unmatched: false,
            unhealthy_after: chrono::Duration::hours(1),
            ops: cfg.ops.clone(),
            stage_hook: None,
        };
        let mut h = Harness {
            ingest,
            clock,
            state,
            n: 0,
        };
        // The source "test" polled once before: what the tests feed is live, not the
        // backfill of a new source (see `first_poll_is_a_backfill…` for that).
        h.ingest
            .process(vec![Event::Polled {
                source: "test".into(),
                poll: Poll::default(),
            }])
            .unwrap();
        h
    }

    /// Feeds one batch of mentions published now; returns the rules that fired.
    pub fn feed(&mut self, titles: &[&str]) -> Vec<String> {
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

    pub fn feed_mentions(&mut self, mentions: Vec<Mention>) -> Vec<String> {
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

    /// Time passes: flatlines, resolutions, silences ending. Returns the new alerts.
    pub fn tick(&mut self) -> Vec<Alert> {
        let before = self.ingest.report.lock().unwrap().alerts.len();
        self.ingest.process(vec![Event::Tick]).unwrap();
        self.ingest.report.lock().unwrap().alerts[before..].to_vec()
    }

    pub fn alerts(&self) -> Vec<Alert> {
        self.ingest.report.lock().unwrap().alerts.clone()
    }

    pub fn last(&self) -> Alert {
        self.alerts().last().cloned().expect("an alert")
    }

    /// (rule, status, notifier, delivery state) of every delivery, oldest first.
    pub fn deliveries(&self) -> Vec<(String, String, String, String)> {
        let st = self.state.lock().unwrap();
        let mut rows = st.alerts(usize::MAX >> 1).unwrap();
        rows.reverse();
        rows.iter()
            .flat_map(|a| {
                a.deliveries.iter().map(|(notifier, state, _, _)| {
                    (
                        a.alert.rule.clone(),
                        a.alert.status.as_str().to_string(),
                        notifier.clone(),
                        state.clone(),
                    )
                })
            })
            .collect()
    }

    pub fn pending(&self) -> u64 {
        self.state.lock().unwrap().pending_count().unwrap()
    }
}

pub trait Now {
    fn now_utc(&self) -> chrono::DateTime<Utc>;
}
impl Now for ManualClock {
    fn now_utc(&self) -> chrono::DateTime<Utc> {
        veille::clock::Clock::now(self)
    }
}

/// A config with the test brands and a `hook` webhook notifier (nothing listens: the
/// alerts stay in the outbox), and `rules` in rules/r.toml.
pub fn setup(rules: &str) -> Setup {
    let s = Setup::new();
    s.write(&(super::base_config() + "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nallow_private = true\n"));
    s.rules("r.toml", rules);
    s
}

pub fn t0() -> chrono::DateTime<Utc> {
    chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 10, 8, 0, 0).unwrap()
}

/// A mention published now on `site` by `author`.
pub fn on(h: &mut Harness, title: &str, site: &str, author: &str) -> Mention {
    h.n += 1;
    let mut m = veille::testutil::mention(title, &format!("{title} (item {})", h.n));
    m.site = site.into();
    m.url = format!("https://{site}/{}", h.n);
    m.id = veille::mention::hash_id("test", &m.url);
    m.author = Some(author.into());
    m.published_at = h.clock.now_utc();
    m.fetched_at = m.published_at;
    m
}
