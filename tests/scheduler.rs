//! The scheduler with a paused tokio clock and a fake poller: per-host limits and delays,
//! lateness order, backoff and Retry-After, without waiting for real time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use veille::clock::SystemClock;
use veille::config::Duration as Dur;
use veille::crawl::{CrawlConfig, FetchError};
use veille::scheduler::{Mode, Poller, Scheduler};
use veille::sources::{Poll, Source, SourceKind, SourceState};

/// Records when each source is polled and how many run at once per host.
#[derive(Default)]
struct FakePoller {
    log: Mutex<Vec<(String, Instant)>>,
    running: Mutex<HashMap<String, usize>>,
    max_running: Mutex<HashMap<String, usize>>,
    /// How long a poll takes, per source id prefix.
    took: HashMap<&'static str, Duration>,
    /// Sources that fail, and the Retry-After they send.
    failing: HashMap<&'static str, Option<Duration>>,
    /// Sources whose poll panics (a bug in a source module).
    panicking: Vec<&'static str>,
    /// Sources that serve items without dates (they carry the fetch time).
    undated: Vec<&'static str>,
}

impl Poller for FakePoller {
    fn poll<'a>(
        &'a self,
        source: &'a Source,
        _state: &'a SourceState,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Poll, FetchError>> {
        Box::pin(async move {
            let host = source.host();
            self.log
                .lock()
                .unwrap()
                .push((source.id.clone(), Instant::now()));
            {
                let mut r = self.running.lock().unwrap();
                let n = r.entry(host.clone()).or_default();
                *n += 1;
                let mut m = self.max_running.lock().unwrap();
                let mx = m.entry(host.clone()).or_default();
                *mx = (*mx).max(*n);
            }
            let took = self
                .took
                .iter()
                .find(|(p, _)| source.id.starts_with(*p))
                .map(|(_, d)| *d)
                .unwrap_or(Duration::from_millis(100));
            tokio::time::sleep(took).await;
            *self.running.lock().unwrap().get_mut(&host).unwrap() -= 1;
            if self.panicking.iter().any(|p| source.id.starts_with(*p)) {
                panic!("bug in the {} source", source.id);
            }
            if let Some((_, ra)) = self.failing.iter().find(|(p, _)| source.id.starts_with(*p)) {
                return Err(match ra {
                    Some(d) => FetchError::RateLimited {
                        status: 429,
                        retry_after: Some(*d),
                    },
                    None => FetchError::Status(500),
                });
            }
            if self.undated.iter().any(|p| source.id.starts_with(*p)) {
                let now = Utc::now();
                let mentions = (0..3)
                    .map(|i| {
                        let mut m = veille::testutil::mention(&format!("item {i}"), "");
                        m.published_at = now;
                        m.fetched_at = now;
                        m
                    })
                    .collect();
                return Ok(Poll {
                    mentions,
                    ..Default::default()
                });
            }
            Ok(Poll::default())
        })
    }
}

fn source(id: &str, host: &str, every_secs: u64) -> Arc<Source> {
    Arc::new(Source {
        id: id.into(),
        id_span: 0..0,
        every: Dur::from_secs(every_secs),
        auto: false,
        allow_private: veille::crawl::AllowPrivate::PRIVATE,
        enabled: true,
        backfill: veille::sources::DEFAULT_BACKFILL,
        backfill_alerts: false,
        kind: SourceKind::Rss(veille::sources::rss::Rss {
            url: url::Url::parse(&format!("http://{host}/{id}.xml")).unwrap(),
            strip_params: vec![],
        }),
    })
}

/// Runs the scheduler for `span` of (paused) time; returns the poller's records.
async fn run(
    sources: Vec<Arc<Source>>,
    poller: FakePoller,
    limits: CrawlConfig,
    mode: Mode,
    span: Duration,
) -> Arc<FakePoller> {
    let poller = Arc::new(poller);
    let (tx, mut rx) = mpsc::channel(1024);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let (stop_tx, stop_rx) = watch::channel(false);
    let n = sources.len();
    let sched = Scheduler {
        sources,
        poller: poller.clone(),
        limits,
        states: Arc::default(),
        tx,
        clock: Arc::new(SystemClock),
        failures: vec![0; n],
        auto_every: vec![None; n],
        first_due: Vec::new(),
        drain_timeout: Duration::from_secs(5),
        after_poll: None,
        budgets: Default::default(),
    };
    let task = tokio::spawn(sched.run(mode, stop_rx));
    if mode == Mode::Forever {
        tokio::time::sleep(span).await;
        stop_tx.send(true).unwrap();
    }
    task.await.unwrap();
    poller
}

fn limits(concurrency: usize, per_host: usize, delay_ms: u64) -> CrawlConfig {
    CrawlConfig {
        concurrency,
        per_host,
        per_host_delay: Dur(Duration::from_millis(delay_ms)),
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn per_host_limit_and_delay_never_hold_back_other_hosts() {
    let t0 = Instant::now();
    let mut sources: Vec<_> = (0..6)
        .map(|i| source(&format!("slow{i}"), "slow.example", 600))
        .collect();
    sources.extend((0..3).map(|i| source(&format!("fast{i}"), &format!("fast{i}.example"), 600)));
    let poller = FakePoller {
        took: HashMap::from([("slow", Duration::from_secs(10))]),
        ..Default::default()
    };
    let p = run(
        sources,
        poller,
        limits(4, 2, 1000),
        Mode::Once,
        Duration::ZERO,
    )
    .await;
    let log = p.log.lock().unwrap().clone();
    assert_eq!(log.len(), 9);
    // Never more than 2 fetches at once on the slow host.
    assert_eq!(p.max_running.lock().unwrap()["slow.example"], 2);
    // The other hosts start at once, not behind the slow host's queue.
    for (id, at) in &log {
        if id.starts_with("fast") {
            assert!(
                *at - t0 < Duration::from_millis(50),
                "{id} waited {:?}",
                *at - t0
            );
        }
    }
    // Starts on the slow host are at least the per-host delay apart.
    let mut slow: Vec<Instant> = log
        .iter()
        .filter(|(id, _)| id.starts_with("slow"))
        .map(|(_, t)| *t)
        .collect();
    slow.sort();
    for w in slow.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(1000),
            "{:?}",
            w[1] - w[0]
        );
    }
    // 6 polls of 10 s, 2 at a time: about 30 s in all.
    assert!(*slow.last().unwrap() - t0 >= Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn the_latest_source_goes_first() {
    // One slot: sources run strictly one after the other, in due order.
    let sources: Vec<_> = (0..5)
        .map(|i| source(&format!("s{i}"), &format!("h{i}.example"), 600))
        .collect();
    let p = run(
        sources,
        FakePoller::default(),
        limits(1, 2, 0),
        Mode::Once,
        Duration::ZERO,
    )
    .await;
    let order: Vec<String> = p
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(order, vec!["s0", "s1", "s2", "s3", "s4"]);
}

#[tokio::test(start_paused = true)]
async fn failing_sources_back_off_exponentially_and_honour_retry_after() {
    let t0 = Instant::now();
    let sources = vec![
        source("ok", "ok.example", 60),
        source("broken", "broken.example", 60),
        source("limited", "limited.example", 60),
    ];
    let poller = FakePoller {
        failing: HashMap::from([
            ("broken", None),
            ("limited", Some(Duration::from_secs(1800))),
        ]),
        ..Default::default()
    };
    let p = run(
        sources,
        poller,
        limits(8, 2, 0),
        Mode::Forever,
        Duration::from_secs(3600),
    )
    .await;
    let log = p.log.lock().unwrap().clone();
    let times = |id: &str| -> Vec<f64> {
        log.iter()
            .filter(|(i, _)| i == id)
            .map(|(_, t)| (*t - t0).as_secs_f64())
            .collect()
    };
    // A healthy source every 60 s (±10 %): about 60 polls in an hour.
    let ok = times("ok");
    assert!((50..=70).contains(&ok.len()), "{}", ok.len());
    // A failing one: gaps of ~1, 2, 4, 8, 16 min (±20 %), so only a handful in an hour.
    let broken = times("broken");
    let gaps: Vec<f64> = broken.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 4 && gaps.len() <= 6, "{gaps:?}");
    for (i, g) in gaps.iter().enumerate() {
        let expected = 60.0 * 2f64.powi(i as i32);
        assert!(
            *g >= expected * 0.79 && *g <= expected * 1.21 + 0.2,
            "gap {i}: {g} vs {expected}"
        );
    }
    // Retry-After: 1800 s is honoured even on the first failure.
    let limited = times("limited");
    assert!(limited.len() <= 3, "{limited:?}");
    assert!(limited[1] - limited[0] >= 1800.0, "{limited:?}");
}

/// A poll that panics (a bug) fails that source, which is retried with backoff; its slots
/// are freed, the others go on, and a one-shot run still ends. A hostile Retry-After of
/// centuries is cut to a day instead of overflowing.
#[tokio::test(start_paused = true)]
async fn a_panicking_poll_fails_its_source_and_nothing_else() {
    let t0 = Instant::now();
    let sources = vec![
        source("bug", "same.example", 60),
        source("ok", "same.example", 60),
        source("hostile", "hostile.example", 60),
    ];
    let poller = || FakePoller {
        panicking: vec!["bug"],
        failing: HashMap::from([("hostile", Some(Duration::from_secs(u64::MAX / 4)))]),
        ..Default::default()
    };
    // One shot: ends although a poll panicked.
    let p = tokio::time::timeout(
        Duration::from_secs(60),
        run(
            sources.clone(),
            poller(),
            limits(1, 1, 0),
            Mode::Once,
            Duration::ZERO,
        ),
    )
    .await
    .expect("a one-shot run ends");
    assert_eq!(p.log.lock().unwrap().len(), 3);
    // Forever, with one connection for the shared host: `ok` is polled on time although
    // `bug` panics on that host; `bug` backs off like a failing source.
    let p = run(
        sources,
        poller(),
        limits(1, 1, 0),
        Mode::Forever,
        Duration::from_secs(600),
    )
    .await;
    let log = p.log.lock().unwrap().clone();
    let count = |id: &str| log.iter().filter(|(i, _)| i == id).count();
    assert!((9..=12).contains(&count("ok")), "{}", count("ok"));
    assert!((2..=4).contains(&count("bug")), "{}", count("bug"));
    assert_eq!(count("hostile"), 1, "polled again only after a day");
    assert!(log.iter().all(|(_, t)| *t - t0 <= Duration::from_secs(601)));
}

/// A source told to wait (backoff, Retry-After) before a restart or reload still waits
/// after it, even beyond its own interval.
#[tokio::test(start_paused = true)]
async fn a_saved_wait_survives_a_restart() {
    let t0 = Instant::now();
    let poller = Arc::new(FakePoller::default());
    let (tx, mut rx) = mpsc::channel(1024);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let (stop_tx, stop_rx) = watch::channel(false);
    let sched = Scheduler {
        sources: vec![
            source("waiting", "a.example", 60),
            source("fresh", "b.example", 60),
        ],
        poller: poller.clone(),
        limits: limits(8, 2, 0),
        states: Arc::default(),
        tx,
        clock: Arc::new(SystemClock),
        failures: vec![3, 0],
        auto_every: vec![None, None],
        first_due: vec![Some(Duration::from_secs(1800)), None],
        drain_timeout: Duration::from_secs(5),
        after_poll: None,
        budgets: Default::default(),
    };
    let task = tokio::spawn(sched.run(Mode::Forever, stop_rx));
    tokio::time::sleep(Duration::from_secs(1900)).await;
    stop_tx.send(true).unwrap();
    task.await.unwrap();
    let log = poller.log.lock().unwrap().clone();
    let first = |id: &str| {
        log.iter()
            .find(|(i, _)| i == id)
            .map(|(_, t)| (*t - t0).as_secs_f64())
            .unwrap()
    };
    assert!(first("fresh") < 10.0);
    assert!(first("waiting") >= 1800.0, "{}", first("waiting"));
}

/// `every = "auto"`: a feed whose items have no dates tells nothing of its rate, so its
/// interval stays put (it used to fall to the minimum: undated items all carry the fetch
/// time); an unchanged one is polled less and less often.
#[tokio::test(start_paused = true)]
async fn auto_interval_ignores_undated_items() {
    let auto = |id: &str, host: &str| {
        let mut s = (*source(id, host, 600)).clone();
        s.auto = true;
        Arc::new(s)
    };
    let poller = FakePoller {
        undated: vec!["undated"],
        ..Default::default()
    };
    let p = run(
        vec![auto("undated", "a.example"), auto("quiet", "b.example")],
        poller,
        limits(8, 2, 0),
        Mode::Forever,
        Duration::from_secs(3 * 3600),
    )
    .await;
    let log = p.log.lock().unwrap().clone();
    let count = |id: &str| log.iter().filter(|(i, _)| i == id).count();
    // Every 10 min (±10 %) for 3 h: about 18 polls, not 90 at the 2 min floor.
    assert!(
        (15..=21).contains(&count("undated")),
        "{}",
        count("undated")
    );
    // Nothing new each time: 10, 15, 22.5, 33.75, 50.6 min… — a handful.
    assert!(count("quiet") <= 7, "{}", count("quiet"));
}

/// Sources of a metered kind, as the config makes them.
fn youtube_sources(n: usize) -> (tempfile::TempDir, Vec<Arc<Source>>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("secrets/yt"), "test-key-0123456789").unwrap();
    let mut text = String::from(
        "[daemon]\ndata_dir = \"data\"\nrules_dir = \"rules\"\nlisten = \"\"\n\n\
         [[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = \"acme\"\n\n[quota]\nyoutube = 600\n",
    );
    for i in 0..n {
        text += &format!(
            "\n[[source]]\nid = \"yt{i}\"\nkind = \"youtube\"\nbase_url = \"http://yt{i}.example/\"\nkey_file = \"secrets/yt\"\nevery = \"10m\"\n"
        );
    }
    let c = veille::config::Config::from_str(&dir.path().join("veille.toml"), &text)
        .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(c.quota.youtube, Some(600));
    let sources = c.sources.into_iter().map(Arc::new).collect();
    (dir, sources)
}

/// A YouTube search costs 100 units: with 600 a day for two sources, each may search
/// three times a day, so its polls are 8 hours apart whatever its `every`; once the
/// budget is spent, the next poll waits for the API's reset (midnight Pacific time).
#[tokio::test(start_paused = true)]
async fn a_daily_quota_is_spread_over_the_day_and_never_overrun() {
    use veille::model::QuotaSpend;
    use veille::sources::quota::{Budgets, Metered, QuotaConfig};

    struct Metering {
        log: Mutex<Vec<(String, Instant)>>,
        spent: Mutex<HashMap<String, u64>>,
    }
    impl Poller for Metering {
        fn poll<'a>(
            &'a self,
            source: &'a Source,
            _state: &'a SourceState,
            now: DateTime<Utc>,
        ) -> BoxFuture<'a, Result<Poll, FetchError>> {
            Box::pin(async move {
                self.log
                    .lock()
                    .unwrap()
                    .push((source.id.clone(), Instant::now()));
                tokio::time::sleep(Duration::from_secs(1)).await;
                let mut spent = self.spent.lock().unwrap();
                let units = spent.entry(source.id.clone()).or_default();
                *units += 100;
                // As `Source::poll` records it for a real YouTube source.
                let mut poll = Poll {
                    quota_units: 100,
                    ..Default::default()
                };
                poll.state.quota = Some(QuotaSpend {
                    day: Metered::YouTube.day(now),
                    units: *units,
                });
                Ok(poll)
            })
        }
    }

    let (_dir, sources) = youtube_sources(2);
    let budgets = Budgets::new(
        &QuotaConfig {
            youtube: Some(600),
            stackexchange: None,
        },
        sources.iter().map(|s| &**s),
    );
    let poller = Arc::new(Metering {
        log: Mutex::default(),
        spent: Mutex::default(),
    });
    let states: veille::model::SharedStates = Arc::default();
    let saved_states = states.clone();
    let (tx, mut rx) = mpsc::channel(1024);
    // The ingest stage's part: each poll's state saved for the scheduler to read.
    let saved = states.clone();
    let scheduled = Arc::new(Mutex::new(Vec::new()));
    let sched_log = scheduled.clone();
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            match m {
                veille::ingest::Message::Event(veille::model::Event::Polled { source, poll }) => {
                    saved.lock().unwrap().insert(source, poll.state);
                }
                veille::ingest::Message::Event(veille::model::Event::Scheduled {
                    source,
                    next_due,
                    ..
                }) => sched_log.lock().unwrap().push((source, next_due)),
                _ => {}
            }
        }
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let sched = Scheduler {
        sources,
        poller: poller.clone(),
        // One poll at a time: each sees the spend of the one before.
        limits: limits(1, 1, 0),
        states,
        tx,
        clock: Arc::new(SystemClock),
        failures: vec![0; 2],
        auto_every: vec![None; 2],
        first_due: Vec::new(),
        drain_timeout: Duration::from_secs(5),
        after_poll: None,
        budgets,
    };
    let t0 = Instant::now();
    let task = tokio::spawn(sched.run(Mode::Forever, stop_rx));
    // 17 hours: three polls each (at about 0, 8 and 16 h), the budget then spent.
    tokio::time::sleep(Duration::from_secs(17 * 3600)).await;
    stop_tx.send(true).unwrap();
    task.await.unwrap();

    let log = poller.log.lock().unwrap().clone();
    for id in ["yt0", "yt1"] {
        let times: Vec<Duration> = log
            .iter()
            .filter(|(s, _)| s == id)
            .map(|(_, t)| *t - t0)
            .collect();
        assert_eq!(times.len(), 3, "{id}: {times:?}");
        for w in times.windows(2) {
            // 86,400 s × 100 units / 300 units a source a day, after a poll of 1 s.
            let gap = (w[1] - w[0]).as_secs();
            assert!((8 * 3600..8 * 3600 + 5).contains(&gap), "{id}: {times:?}");
        }
    }
    // The poll that spent the budget's last units puts the next one at the reset.
    let now = Utc::now();
    let reset = Metered::YouTube.next_reset(now);
    let last_poller = log.last().map(|(s, _)| s.clone()).unwrap();
    let last = scheduled
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(s, _)| *s == last_poller)
        .map(|(_, d)| *d)
        .unwrap();
    assert!(
        (last - reset).num_seconds().abs() < 120,
        "next poll {last}, reset {reset}"
    );

    // A restart before the reset, told to poll at once: the spent budget (in the saved
    // states) keeps the API from being called.
    let (_dir, sources) = youtube_sources(2);
    let polls_before = poller.log.lock().unwrap().len();
    let (tx, mut rx) = mpsc::channel(1024);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let (stop_tx, stop_rx) = watch::channel(false);
    let sched = Scheduler {
        budgets: Budgets::new(
            &QuotaConfig {
                youtube: Some(600),
                stackexchange: None,
            },
            sources.iter().map(|s| &**s),
        ),
        sources,
        poller: poller.clone(),
        limits: limits(4, 1, 0),
        states: saved_states,
        tx,
        clock: Arc::new(SystemClock),
        failures: vec![0; 2],
        auto_every: vec![None; 2],
        first_due: vec![Some(Duration::ZERO); 2],
        drain_timeout: Duration::from_secs(5),
        after_poll: None,
    };
    let task = tokio::spawn(sched.run(Mode::Forever, stop_rx));
    tokio::time::sleep(Duration::from_secs(3600)).await;
    stop_tx.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(poller.log.lock().unwrap().len(), polls_before);
}
