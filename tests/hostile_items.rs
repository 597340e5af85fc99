//! One hostile or buggy item costs that item, never its source, its batch or the daemon;
//! its size costs what `[crawl] max_text` allows; its charset label is not trusted.
//! Real feed server, real tantivy and SQLite in a temp dir, the real binary for
//! `veille sources`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use veille::ingest::{Report, StageHook};
use veille::mention::{CUT_MARKER, Mention};
use veille::scheduler::Mode;
use veille::store::state::State;

const MATCH_RULE: &str = r#"
[[rule]]
id = "every-acme"
brand = "acme"
kind = "match"
severity = "info"
realert = "0s"
notify = ["hook"]
"#;

const NOTIFIER: &str = r#"
[notifier.hook]
kind = "webhook"
url = "http://127.0.0.1:9/never-called"
allow_private = true
"#;

/// `veille run --once` in this process, with a hook in the ingest stage; alerts stay in
/// the outbox.
async fn run_with_hook(setup: &Setup, hook: StageHook) -> Report {
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let opts = veille::daemon::RunOptions {
        mode: Mode::Once,
        deliver: false,
        stage_hook: Some(hook),
        ..Default::default()
    };
    veille::daemon::run(setup.load(), opts, rx).await.unwrap()
}

/// `veille sources` through the binary.
fn sources_listing(setup: &Setup) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["sources", "--config", setup.config_path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn metrics(setup: &Setup) -> String {
    let st = State::open(&setup.path().join("data/state.sqlite")).unwrap();
    let figures = st.summary(chrono::Utc::now()).unwrap().figures();
    veille::metrics::get().render(&figures).unwrap()
}

/// A panic in one stage on one mention (a bug met on hostile text) drops that mention:
/// the others of its batch are indexed and alerted, a later batch is still ingested (the
/// ingest thread lives on), the failure is logged, counted, shown by `veille sources` and
/// recorded as seen with its error, so the next poll skips it instead of failing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_one_stage_fails_that_mention_only() {
    for stage in ["match", "enrich", "index", "rules"] {
        let feeds = FeedServer::start().await;
        let poison = "https://p.example/poison";
        feeds.set(
            "/f.xml",
            Route::rss(rss(&[
                ("Acme one", "https://p.example/1", "x", &ago(3)),
                ("Acme poison", poison, "x", &ago(2)),
                ("Acme two", "https://p.example/2", "x", &ago(1)),
            ])),
        );
        // Served later: a batch of its own, after the panic.
        let mut later = Route::rss(rss(&[("Acme later", "https://l.example/1", "x", &ago(1))]));
        later.delay = Some(Duration::from_millis(400));
        feeds.set("/later.xml", later);
        let setup = Setup::new();
        let id = format!("poisoned-{stage}");
        setup.write(
            &(base_config()
                + NOTIFIER
                + &rss_source(&id, &feeds.url("/f.xml"))
                + &rss_source(&format!("later-{stage}"), &feeds.url("/later.xml"))),
        );
        setup.rules("acme.toml", MATCH_RULE);
        let calls: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let hook: StageHook = {
            let calls = calls.clone();
            Arc::new(move |s: &'static str, m: &Mention| {
                calls.lock().unwrap().push((s.to_string(), m.title.clone()));
                if s == stage && m.title.contains("poison") {
                    panic!("test: {s} fails on this mention");
                }
            })
        };

        let report = run_with_hook(&setup, hook.clone()).await;
        let src = &report.per_source[&id];
        assert_eq!(src.items_failed, 1, "{stage}");
        assert_eq!(src.last_error, None, "the source is fine: {stage}");
        let err = src.last_item_error.clone().unwrap();
        assert!(
            err.starts_with(&format!("{stage}: internal error: test: {stage} fails"))
                && err.contains(poison),
            "{err}"
        );
        let mut titles: Vec<String> = indexed(&setup).into_iter().map(|m| m.title).collect();
        titles.sort();
        let mut expected = vec!["Acme later", "Acme one", "Acme two"];
        if stage == "rules" {
            // Indexed before the rules ran: searchable, just not alerted.
            expected.insert(2, "Acme poison");
        }
        assert_eq!(titles, expected, "{stage}");
        let alerted: Vec<String> = report
            .alerts
            .iter()
            .flat_map(|a| a.mentions.iter().map(|m| m.title.clone()))
            .collect();
        for t in ["Acme one", "Acme two", "Acme later"] {
            assert!(alerted.iter().any(|a| a == t), "{t} alerted: {alerted:?}");
        }
        assert!(!alerted.iter().any(|a| a.contains("poison")), "{alerted:?}");

        // Recorded as seen, with why.
        let db = rusqlite::Connection::open(setup.path().join("data/state.sqlite")).unwrap();
        let (url, error): (String, String) = db
            .query_row(
                "SELECT url, error FROM seen WHERE error IS NOT NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(url, poison);
        assert!(
            error.starts_with(&format!("{stage}: internal error")),
            "{error}"
        );
        drop(db);

        // Counted per source and stage.
        let line = format!("veille_items_failed_total{{source=\"{id}\",stage=\"{stage}\"}} 1");
        assert!(metrics(&setup).contains(&line), "{line}");

        // Shown by `veille sources`: the source is ok, one item failed, and which.
        let listing = sources_listing(&setup);
        let row = listing
            .lines()
            .position(|l| l.starts_with(&format!("{id} ")))
            .unwrap();
        let lines: Vec<&str> = listing.lines().collect();
        // health ok; failures 0, items 3, failed 1 (columns, whatever their widths).
        let cols: Vec<&str> = lines[row].split_whitespace().collect();
        assert!(
            cols.contains(&"ok") && cols.windows(3).any(|w| w == ["0", "3", "1"]),
            "{listing}"
        );
        assert!(
            lines[row + 1].contains("last failed item") && lines[row + 1].contains(poison),
            "{listing}"
        );

        // The next poll serves it again: skipped, not failed again.
        calls.lock().unwrap().clear();
        feeds.set(
            "/f.xml",
            Route::rss(rss(&[
                ("Acme poison", poison, "x", &ago(2)),
                ("Acme three", "https://p.example/3", "x", &ago(1)),
            ])),
        );
        let report = run_with_hook(&setup, hook).await;
        assert_eq!(report.per_source[&id].items_failed, 0, "{stage}");
        let calls = calls.lock().unwrap().clone();
        assert!(
            !calls.iter().any(|(_, t)| t.contains("poison")),
            "{stage}: {calls:?}"
        );
        assert!(calls.iter().any(|(_, t)| t == "Acme three"));
    }
}

/// A panic while polling (a bug in a source's parsing or mapping) fails that source only;
/// it is shown UNHEALTHY at once with the error, since a bug does not go away by waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_poll_shows_its_source_unhealthy_with_the_error() {
    use veille::scheduler::{Poller, Scheduler};
    use veille::sources::{Poll, Source, SourceState};

    struct Buggy;
    impl Poller for Buggy {
        fn poll<'a>(
            &'a self,
            source: &'a Source,
            _state: &'a SourceState,
            now: chrono::DateTime<chrono::Utc>,
        ) -> futures_util::future::BoxFuture<'a, Result<Poll, veille::crawl::FetchError>> {
            Box::pin(async move {
                if source.id == "buggy" {
                    panic!("bug in the buggy source");
                }
                let mut m = veille::testutil::mention("Acme fine", "");
                m.source = source.id.clone();
                m.published_at = now;
                Ok(Poll {
                    mentions: vec![m],
                    ..Default::default()
                })
            })
        }
    }

    let setup = Setup::new();
    setup.write(
        &(base_config()
            + &rss_source("buggy", "http://127.0.0.1:9/a.xml")
            + &rss_source("fine", "http://127.0.0.1:9/b.xml")),
    );
    let cfg = setup.load();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let n = cfg.sources.len();
    let sched = Scheduler {
        sources: cfg.sources.iter().cloned().map(Arc::new).collect(),
        poller: Arc::new(Buggy),
        limits: cfg.crawl.clone(),
        states: Arc::default(),
        tx,
        clock: Arc::new(veille::clock::SystemClock),
        failures: vec![0; n],
        auto_every: vec![None; n],
        first_due: Vec::new(),
        drain_timeout: Duration::from_secs(5),
        after_poll: None,
        budgets: Default::default(),
    };
    sched.run(Mode::Once, stop_rx).await;
    let mut events = Vec::new();
    while let Ok(veille::ingest::Message::Event(e)) = rx.try_recv() {
        events.push(e);
    }

    // The events go through the real ingest stage into the state database.
    let mut ingest = ingest_for(&cfg);
    ingest.process(events).unwrap();
    ingest.writer.close().unwrap();

    let listing = sources_listing(&setup);
    let line = |id: &str| {
        listing
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id} in {listing}"))
            .to_string()
    };
    let buggy = line("buggy");
    assert!(
        buggy.contains(" UNHEALTHY ") && buggy.contains("internal error: bug in the buggy source"),
        "{listing}"
    );
    assert!(line("fine").contains(" ok "), "{listing}");
    assert_eq!(indexed(&setup).len(), 1);
}

/// The real ingest stage over the index and state of `cfg`.
fn ingest_for(cfg: &veille::config::Config) -> veille::ingest::Ingest {
    let index = Arc::new(veille::store::index::MentionIndex::open(&cfg.index_dir()).unwrap());
    veille::ingest::Ingest {
        matcher: veille::matching::Matcher::new(cfg.brands.clone()),
        enricher: veille::enrich::Enricher::new(&cfg.enrich),
        evaluator: veille::rules::eval::Evaluator::with_routes(vec![], &cfg.brands, vec![]),
        writer: index.writer().unwrap(),
        index,
        state: Arc::new(Mutex::new(State::open(&cfg.state_path()).unwrap())),
        states: Arc::default(),
        wake: veille::outbox::Wake::default(),
        clock: Arc::new(veille::clock::SystemClock),
        report: Arc::default(),
        keep_unmatched: false,
        unhealthy_after: cfg.crawl.unhealthy_after.chrono(),
        ops: cfg.ops.clone(),
        stage_hook: None,
    }
}

/// An entry its source could not map (a bug in the feed mapping) is reported with its
/// URL once, not at every poll that serves it again; the other items go on.
#[test]
fn an_item_its_source_cannot_map_is_reported_once() {
    use veille::ingest::Event;
    use veille::sources::{ItemFailure, Poll};
    let setup = Setup::new();
    setup.write(&(base_config() + &rss_source("mapped", "http://127.0.0.1:9/a.xml")));
    let cfg = setup.load();
    let mut ingest = ingest_for(&cfg);
    let poll = |title: &str| {
        let mut m = veille::testutil::mention(title, "");
        m.source = "mapped".into();
        Event::Polled {
            source: "mapped".into(),
            poll: Poll {
                mentions: vec![m],
                failed: vec![ItemFailure {
                    url: "https://m.example/bad".into(),
                    stage: "parse",
                    error: "internal error: index out of bounds".into(),
                }],
                ..Default::default()
            },
        }
    };
    ingest.process(vec![poll("Acme one")]).unwrap();
    ingest.process(vec![poll("Acme two")]).unwrap();
    ingest.writer.close().unwrap();
    let row = source_row(&setup, "mapped");
    assert_eq!(row.items_failed, 1);
    assert_eq!(
        row.last_item_error.as_deref(),
        Some("parse: internal error: index out of bounds (https://m.example/bad)")
    );
    assert_eq!(row.items_seen, 2);
    assert_eq!(indexed(&setup).len(), 2);
}

/// Regression: a feed whose prolog says UTF-8 but carries one windows-1252 byte was
/// rejected whole ("not a valid RSS"), every item lost. Now read with the best guess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_utf8_feed_with_one_windows_1252_byte_keeps_its_items() {
    let feeds = FeedServer::start().await;
    // One right single quote in windows-1252 (0x92) among UTF-8 accents.
    let body: Vec<u8> = rss(&[
        ("L’été d’Acme", "https://w.example/1", "déjà vu", &ago(3)),
        ("Acme : l\u{0}avis", "https://w.example/2", "x", &ago(2)),
    ])
    .into_bytes()
    .into_iter()
    .map(|b| if b == 0 { 0x92 } else { b })
    .collect();
    assert!(std::str::from_utf8(&body).is_err());
    feeds.set("/plain.xml", Route::rss(body.clone()));
    feeds.set(
        "/labelled.xml",
        Route::ok("application/rss+xml; charset=UTF-8", body),
    );
    let setup = Setup::new();
    setup.write(
        &(base_config()
            + &rss_source("plain", &feeds.url("/plain.xml"))
            + &rss_source("labelled", &feeds.url("/labelled.xml"))),
    );
    let report = run_once(setup.load()).await;
    for id in ["plain", "labelled"] {
        assert_eq!(report.per_source[id].last_error, None, "{id}");
        assert_eq!(report.per_source[id].items, 2, "{id}");
    }
    let mut titles: Vec<String> = indexed(&setup).into_iter().map(|m| m.title).collect();
    titles.sort();
    assert_eq!(titles, ["Acme : l’avis", "L’été d’Acme"]);
}

/// An item far larger than `[crawl] max_text` is kept, its text cut on a character
/// boundary with a marker; the index stores no more than that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_item_is_stored_cut_to_max_text() {
    let feeds = FeedServer::start().await;
    let para = "&lt;p&gt;Le fabricant Acme a pr&amp;eacute;sent&amp;eacute; sa gamme, à suivre.&lt;/p&gt;\n";
    let huge = para.repeat(20 << 20 >> 7); // about 20 MB
    feeds.set(
        "/big.xml",
        Route::rss(rss(&[
            ("Acme big", "https://b.example/big", &huge, &ago(2)),
            ("Acme small", "https://b.example/small", "court", &ago(1)),
        ])),
    );
    let setup = Setup::new();
    setup.write(
        &(base_config().replace(
            "[crawl]\n",
            "[crawl]\nmax_body = \"32MB\"\nmax_text = \"8KB\"\n",
        ) + &rss_source("big", &feeds.url("/big.xml"))),
    );
    let report = run_once(setup.load()).await;
    assert_eq!(report.per_source["big"].last_error, None);
    let all = indexed(&setup);
    let big = all.iter().find(|m| m.title == "Acme big").unwrap();
    assert!(big.text.len() <= 8 << 10, "{}", big.text.len());
    assert!(big.text.len() > 7 << 10, "{}", big.text.len());
    assert!(
        big.text
            .starts_with("Le fabricant Acme a présenté sa gamme, à suivre.")
    );
    assert!(
        big.text.ends_with(CUT_MARKER),
        "{}",
        &big.text[big.text.len() - 40..]
    );
    let small = all.iter().find(|m| m.title == "Acme small").unwrap();
    assert_eq!(small.text, "court");

    // Below 1KB it is refused, with where.
    setup.write(
        &(base_config().replace("[crawl]\n", "[crawl]\nmax_text = \"100B\"\n")
            + &rss_source("big", &feeds.url("/big.xml"))),
    );
    let err = veille::config::Config::load(&setup.config_path())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("`max_text` must be at least 1KB"), "{err}");
}
