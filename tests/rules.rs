//! Rule evaluation through the real ingest stage (tantivy + SQLite in a temp dir), with
//! an injected clock: windows, thresholds and realert without sleeping.
//!
//! Over 600 lines: one test per rule kind and condition through one ingest harness
//! (`tests/common/ingest.rs`); issue 14's batching and ages are in `alerting.rs`.

mod common;

use chrono::Duration;
use common::ingest::*;
use common::{Setup, base_config};
use veille::clock::ManualClock;
use veille::model::{Alert, Status};

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
        "within realert: held, not sent"
    );
    clock.advance(Duration::minutes(30));
    assert_eq!(h.feed(&["Nouvelle arnaque Acme"]), vec!["crisis"]);
    // Regression (issue 14): the mention held within realert was dropped ("suppressed");
    // the update carries it with the new one.
    let u = h.last();
    assert_eq!(u.status, Status::Update);
    assert_eq!(u.total_mentions, 2, "the held mention and the new one");
    let mut titles: Vec<&str> = u.mentions.iter().map(|m| m.title.as_str()).collect();
    titles.sort();
    assert_eq!(titles, ["Encore une arnaque Acme", "Nouvelle arnaque Acme"]);
    let b = u.batch.as_ref().unwrap();
    assert_eq!((b.count, b.since), (2, Some(t0())));
    assert!(
        u.summary
            .starts_with("2 new mention(s) of Acme since the last message"),
        "{}",
        u.summary
    );
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

fn statuses(alerts: &[Alert]) -> Vec<(&str, i64)> {
    alerts
        .iter()
        .map(|a| (a.status.as_str(), a.incident))
        .collect()
}

#[test]
fn spike_compares_the_window_with_the_baseline_rate() {
    let s = setup(
        r#"[[rule]]
id = "buzz"
brand = "acme"
kind = "spike"
window = "1h"
baseline = "1d"
ratio = 3.0
min_count = 5
notify = ["hook"]
"#,
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    // A normal day: two mentions an hour.
    for _ in 0..24 {
        assert!(h.feed(&["Acme au quotidien", "Acme encore"]).is_empty());
        clock.advance(Duration::hours(1));
    }
    clock.advance(Duration::minutes(1));
    // Five in the hour: the minimum count, but not three times the usual two.
    assert!(
        h.feed(&["Acme 1", "Acme 2", "Acme 3", "Acme 4", "Acme 5"])
            .is_empty()
    );
    clock.advance(Duration::minutes(5));
    assert_eq!(h.feed(&["Acme 6"]), vec!["buzz"], "6 ≥ 3 × 2");
    let a = h.last();
    let stats = a.stats.clone().unwrap();
    assert_eq!(stats.count, 6);
    let expected = stats.expected.unwrap();
    assert!((expected - 2.0).abs() < 0.2, "{expected}");
    assert!(a.summary.contains("3.0×"), "{}", a.summary);
}

#[test]
fn spike_needs_a_baseline_unless_told_otherwise() {
    let rule = |extra: &str| {
        format!(
            "[[rule]]\nid = \"buzz\"\nbrand = \"acme\"\nkind = \"spike\"\nwindow = \"1h\"\nbaseline = \"7d\"\nratio = 3.0\nmin_count = 4\nnotify = [\"hook\"]\n{extra}"
        )
    };
    // Default: no history, no usual rate, no spike (a new installation is no bad buzz).
    let s = setup(&rule(""));
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    assert!(
        h.feed(&["Acme a", "Acme b", "Acme c", "Acme d", "Acme e"])
            .is_empty()
    );
    // min_baseline = 0: alert on new data too, once min_count is reached.
    let s = setup(&rule("min_baseline = 0\n"));
    let mut h = Harness::new(&s, clock.clone());
    assert!(h.feed(&["Acme a", "Acme b", "Acme c"]).is_empty());
    assert_eq!(h.feed(&["Acme d"]), vec!["buzz"]);
    assert!(
        h.last().summary.contains("far above"),
        "{}",
        h.last().summary
    );
}

#[test]
fn sentiment_shift_fires_on_the_negative_share() {
    let s = setup(
        r#"[[rule]]
id = "mood"
brand = "acme"
kind = "sentiment_shift"
window = "2h"
negative_share = 0.5
min_count = 4
notify = ["hook"]
"#,
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let neg = "Acme est une arnaque honteuse, service client nul, remboursez-moi !";
    let neutral = "Acme ouvre un magasin rue de Rivoli mardi";
    assert!(
        h.feed(&[neutral, "Acme publie ses résultats trimestriels"])
            .is_empty()
    );
    assert!(h.feed(&[neg]).is_empty(), "3 mentions: below min_count");
    clock.advance(Duration::minutes(10));
    assert_eq!(
        h.feed(&["Honte à Acme, pire arnaque de l'année, boycott !"]),
        vec!["mood"]
    );
    let share = h.last().stats.unwrap().negative_share.unwrap();
    assert!((share - 0.5).abs() < 1e-9, "{share}");
    assert!(
        h.last().summary.starts_with("50 % negative"),
        "{}",
        h.last().summary
    );
}

#[test]
fn new_source_alerts_once_per_new_site_and_author() {
    let s = setup(
        // Warm-up off: this test is about what is new, `warm_up` has its own test.
        "[[rule]]\nid = \"newcomers\"\nbrand = \"acme\"\nkind = \"new_source\"\nrealert = \"0s\"\nwarm_up = \"0s\"\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let a = on(&mut h, "Acme et nous", "blog.example.org", "Alice");
    assert_eq!(
        h.feed_mentions(vec![a]).len(),
        2,
        "a new site and a new author"
    );
    let groups: Vec<String> = h.alerts().iter().filter_map(|a| a.group.clone()).collect();
    assert_eq!(
        groups,
        vec!["author:blog.example.org:alice", "site:blog.example.org"]
    );
    clock.advance(Duration::minutes(5));
    let b = on(&mut h, "Acme encore", "blog.example.org", "Alice");
    assert!(h.feed_mentions(vec![b]).is_empty(), "both known now");
    let c = on(&mut h, "Acme vu par Bob", "blog.example.org", "Bob");
    assert_eq!(h.feed_mentions(vec![c]), vec!["newcomers"]);
    assert!(
        h.last().summary.contains("new author"),
        "{}",
        h.last().summary
    );
    // Another brand's history does not count: Alice is new for Globex.
    let d = on(&mut h, "Globex et Acme", "blog.example.org", "Alice");
    assert!(
        h.feed_mentions(vec![d]).is_empty(),
        "the rule is Acme's only"
    );
}

#[test]
fn match_conditions_first_time_sentiment_reach_and_kinds() {
    let s = setup(
        r#"[[rule]]
id = "first-author"
brand = "acme"
kind = "match"
first_time_author = true
warm_up = "0s"
realert = "0s"
notify = ["hook"]

[[rule]]
id = "angry-influencer"
brand = "acme"
kind = "match"
sentiment_below = -0.3
reach_at_least = 10000
source_kinds = ["mastodon"]
languages = ["fr"]
realert = "0s"
notify = ["hook"]
"#,
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let angry = "Acme est une arnaque honteuse, je suis furieux, remboursez-moi !";
    let mut m = on(&mut h, angry, "piaille.fr", "@margaux@piaille.fr");
    m.source_kind = "mastodon".into();
    m.reach = Some(50_000);
    assert_eq!(
        h.feed_mentions(vec![m]),
        vec!["first-author", "angry-influencer"]
    );
    clock.advance(Duration::minutes(1));
    let mut small = on(&mut h, angry, "piaille.fr", "@margaux@piaille.fr");
    small.source_kind = "mastodon".into();
    small.reach = Some(20);
    assert!(
        h.feed_mentions(vec![small]).is_empty(),
        "known author, small reach"
    );
    let mut rss = on(&mut h, angry, "news.example.com", "@tom@piaille.fr");
    rss.reach = Some(90_000);
    assert_eq!(
        h.feed_mentions(vec![rss]),
        vec!["first-author"],
        "not from mastodon"
    );
    let mut happy = on(
        &mut h,
        "J'adore Acme, service génial, merci !",
        "piaille.fr",
        "@zoe@piaille.fr",
    );
    happy.source_kind = "mastodon".into();
    happy.reach = Some(90_000);
    assert_eq!(
        h.feed_mentions(vec![happy]),
        vec!["first-author"],
        "not negative"
    );
}

#[test]
fn flatline_fires_when_mentions_stop_then_resolves() {
    let s = setup(
        "[[rule]]\nid = \"quiet\"\nbrand = \"acme\"\nkind = \"flatline\"\nwindow = \"2h\"\nmin_count = 1\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    assert!(
        h.tick().is_empty(),
        "no history: a new installation is no flatline"
    );
    assert!(h.feed(&["Acme"]).is_empty());
    clock.advance(Duration::hours(1));
    assert!(h.tick().is_empty(), "one mention in the window");
    clock.advance(Duration::hours(2));
    let fired = h.tick();
    assert_eq!(statuses(&fired), vec![("new", 1)]);
    assert!(
        fired[0].summary.starts_with("only 0 mention(s) of Acme"),
        "{}",
        fired[0].summary
    );
    clock.advance(Duration::minutes(30));
    assert!(h.tick().is_empty(), "within realert (the window)");
    assert!(h.feed(&["Acme revient"]).is_empty());
    clock.advance(Duration::minutes(90));
    assert!(h.feed(&["Acme toujours là"]).is_empty());
    assert!(
        h.tick().is_empty(),
        "not quiet for resolve_after (the window) yet"
    );
    clock.advance(Duration::minutes(31));
    let resolved = h.tick();
    assert_eq!(statuses(&resolved), vec![("resolved", 1)]);
}

#[test]
fn incidents_open_update_and_resolve_per_story() {
    let s = setup(
        r#"[[rule]]
id = "crisis"
brand = "acme"
kind = "match"
query = "arnaque OR scandale"
group_by = "site"
realert = "30m"
resolve_after = "1h"
notify = ["hook"]
"#,
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let a = on(&mut h, "Arnaque Acme", "a.example", "x");
    let b = on(&mut h, "Scandale Acme", "b.example", "y");
    h.feed_mentions(vec![a, b]);
    assert_eq!(
        statuses(&h.alerts()),
        vec![("new", 1), ("new", 2)],
        "one incident per site"
    );
    clock.advance(Duration::minutes(10));
    let a2 = on(&mut h, "Arnaque Acme, suite", "a.example", "x");
    assert!(h.feed_mentions(vec![a2]).is_empty(), "within realert");
    clock.advance(Duration::minutes(25));
    let a3 = on(&mut h, "Arnaque Acme, encore", "a.example", "x");
    h.feed_mentions(vec![a3]);
    assert_eq!(statuses(&h.alerts()[2..]), vec![("update", 1)]);
    // b.example has been quiet for an hour, a.example for 25 minutes.
    clock.advance(Duration::minutes(25));
    assert_eq!(statuses(&h.tick()), vec![("resolved", 2)]);
    clock.advance(Duration::minutes(40));
    assert_eq!(statuses(&h.tick()), vec![("resolved", 1)]);
    assert!(h.tick().is_empty(), "resolved once");
    // The same site again: a new incident.
    let a4 = on(&mut h, "Nouveau scandale Acme", "a.example", "x");
    h.feed_mentions(vec![a4]);
    assert_eq!(statuses(&h.alerts()[5..]), vec![("new", 3)]);
    // Each alert went to the hook, resolutions included.
    let d = h.deliveries();
    assert_eq!(d.len(), 6);
    assert!(d.iter().all(|(_, _, n, st)| n == "hook" && st == "pending"));
}

#[test]
fn a_rule_can_skip_resolution_notices() {
    let s = setup(
        "[[rule]]\nid = \"all\"\nbrand = \"acme\"\nkind = \"match\"\nresolve_after = \"10m\"\nnotify_resolved = false\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    assert_eq!(h.feed(&["Acme"]), vec!["all"]);
    clock.advance(Duration::minutes(11));
    assert!(h.tick().is_empty());
    assert_eq!(h.feed(&["Acme encore"]), vec!["all"]);
    assert_eq!(
        h.last().status,
        Status::New,
        "the incident was closed quietly"
    );
}

#[test]
fn silences_hold_deliveries_and_release_them_while_the_incident_is_open() {
    let s = setup(
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nresolve_after = \"3h\"\nnotify = [\"hook\"]\n\n[[rule]]\nid = \"other\"\nbrand = \"acme\"\nkind = \"match\"\nresolve_after = \"30m\"\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let id = {
        let st = h.state.lock().unwrap();
        st.add_silence(
            None,
            Some("acme"),
            t0(),
            t0() + Duration::hours(2),
            "known outage, statement published",
        )
        .unwrap()
    };
    assert_eq!(h.feed(&["Acme en panne"]), vec!["crisis", "other"]);
    assert_eq!(h.pending(), 0, "recorded, not delivered");
    let held = h.deliveries();
    assert!(held.iter().all(|d| d.3 == "silenced"), "{held:?}");
    clock.advance(Duration::hours(1));
    assert!(h.tick().iter().all(|a| a.status == Status::Resolved));
    // `other` resolved during the silence: its alerts stay held; `crisis` is open.
    clock.advance(Duration::hours(1) + Duration::minutes(1));
    h.tick();
    let d = h.deliveries();
    let state_of = |rule: &str, status: &str| {
        d.iter()
            .find(|x| x.0 == rule && x.1 == status)
            .map(|x| x.3.clone())
    };
    assert_eq!(
        state_of("crisis", "new").as_deref(),
        Some("pending"),
        "{d:?}"
    );
    assert_eq!(
        state_of("other", "new").as_deref(),
        Some("silenced"),
        "{d:?}"
    );
    // Expiring a silence by hand releases at the next tick too.
    let st = h.state.lock().unwrap();
    assert!(
        !st.expire_silence(id, clock.now_utc()).unwrap(),
        "already over"
    );
}

#[test]
fn expiring_a_silence_releases_at_the_next_tick() {
    let s = setup(
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let id = {
        let st = h.state.lock().unwrap();
        st.add_silence(Some("crisis"), None, t0(), t0() + Duration::days(1), "test")
            .unwrap()
    };
    h.feed(&["Acme"]);
    assert_eq!(h.pending(), 0);
    h.tick();
    assert_eq!(h.pending(), 0, "still silenced");
    {
        let st = h.state.lock().unwrap();
        assert!(st.expire_silence(id, clock.now_utc()).unwrap());
    }
    clock.advance(Duration::seconds(15));
    h.tick();
    assert_eq!(h.pending(), 1);
}

#[test]
fn routes_decide_where_alerts_without_notify_go() {
    let s = Setup::new();
    s.write(
        &(base_config()
            + r#"
[notifier.hook]
kind = "webhook"
url = "http://127.0.0.1:9/h"
allow_private = true

[notifier.digest]
kind = "webhook"
url = "http://127.0.0.1:9/d"
allow_private = true

[notifier.pager]
kind = "webhook"
url = "http://127.0.0.1:9/p"
allow_private = true

[[route]]
severity = ["critical"]
notify = ["pager", "hook"]
continue = true

[[route]]
brands = ["globex"]
notify = ["digest"]

[[route]]
notify = ["hook"]
"#),
    );
    s.rules(
        "r.toml",
        r#"[[rule]]
id = "acme-crisis"
brand = "acme"
kind = "match"
query = "arnaque"
severity = "critical"

[[rule]]
id = "acme-all"
brand = "acme"
kind = "match"
severity = "info"

[[rule]]
id = "globex-all"
brand = "globex"
kind = "match"
severity = "info"

[[rule]]
id = "globex-crisis"
brand = "globex"
kind = "match"
query = "arnaque"
severity = "critical"

[[rule]]
id = "explicit"
brand = "globex"
kind = "match"
notify = ["pager"]
"#,
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock);
    h.feed(&["Arnaque Acme"]);
    h.feed(&["Arnaque Globex"]);
    let mut got: Vec<(String, String)> = h
        .deliveries()
        .into_iter()
        .map(|(rule, _, n, _)| (rule, n))
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("acme-all", "hook"),
        ("acme-crisis", "hook"),
        ("acme-crisis", "pager"),
        ("explicit", "pager"),
        ("globex-all", "digest"),
        ("globex-crisis", "digest"),
        ("globex-crisis", "hook"),
        ("globex-crisis", "pager"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn backtesting_replays_history_with_the_live_engine() {
    let rules = r#"[[rule]]
id = "crisis"
brand = "acme"
kind = "match"
query = "arnaque"
realert = "30m"
resolve_after = "1h"
notify = ["hook"]

[[rule]]
id = "volume"
brand = "acme"
kind = "threshold"
window = "1h"
min_count = 3
notify = ["hook"]
"#;
    let s = setup(rules);
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    // Six hours in five-minute steps, ticking as the daemon does.
    let script: &[(i64, &[&str])] = &[
        (1, &["Arnaque chez Acme"]),
        (2, &["Acme encore", "Acme toujours"]),
        (4, &["Nouvelle arnaque Acme"]),
        (9, &["Arnaque Acme, suite"]),
        (40, &["Acme", "Acme", "Acme bis"]),
        (50, &["Arnaque Acme, le retour"]),
    ];
    for step in 1..=72 {
        clock.set(t0() + Duration::minutes(5 * step));
        if let Some((_, titles)) = script.iter().find(|(k, _)| *k == step) {
            h.feed(titles);
        }
        h.tick();
    }
    let live: Vec<(String, String, String)> = h
        .alerts()
        .iter()
        .map(|a| {
            (
                a.created_at.format("%H:%M").to_string(),
                a.rule.clone(),
                a.status.as_str().to_string(),
            )
        })
        .collect();
    assert!(live.len() >= 8, "{live:?}");
    assert!(live.iter().any(|a| a.2 == "update") && live.iter().any(|a| a.2 == "resolved"));
    drop(h);
    let cfg = s.load();
    for rule in &cfg.rules {
        let replayed: Vec<(String, String, String)> = veille::backtest::replay(
            &veille::store::index::MentionIndex::open(&cfg.index_dir()).unwrap(),
            &cfg.brands,
            &cfg.routes,
            rule,
            t0(),
            t0() + Duration::hours(6),
        )
        .unwrap()
        .iter()
        .map(|f| {
            (
                f.alert.created_at.format("%H:%M").to_string(),
                f.alert.rule.clone(),
                f.alert.status.as_str().to_string(),
            )
        })
        .collect();
        let want: Vec<_> = live.iter().filter(|a| a.1 == rule.id).cloned().collect();
        assert_eq!(replayed, want, "rule {}", rule.id);
    }
}

/// `count = "stories"`: forty copies of one wire story are one story, not forty
/// mentions — a volume rule on stories ignores syndication.
#[test]
fn threshold_can_count_stories_instead_of_copies() {
    let s = setup(
        r#"[[rule]]
id = "copies"
brand = "acme"
kind = "threshold"
window = "1h"
min_count = 3
notify = ["hook"]

[[rule]]
id = "stories"
brand = "acme"
kind = "threshold"
window = "1h"
min_count = 3
count = "stories"
notify = ["hook"]
"#,
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let wire = "Le fabricant Acme a annoncé mardi le rappel de vingt mille bouilloires connectées \
        vendues en France et en Belgique depuis le mois de septembre, après plusieurs cas de \
        surchauffe signalés par des clients. Les propriétaires sont invités à cesser \
        immédiatement d'utiliser l'appareil et à contacter le service après-vente, qui \
        procédera à un échange gratuit ou à un remboursement intégral sur présentation du \
        ticket de caisse, a précisé l'entreprise dans un communiqué.";
    let copy = |i: usize, site: &str| {
        let mut m = veille::testutil::mention(
            &format!("Acme rappelle ses bouilloires ({site})"),
            &format!("{wire} Lire aussi sur {site}."),
        );
        m.id = format!("copy-{i}");
        m.url = format!("https://{site}/acme-rappel");
        m.site = site.into();
        m.published_at = t0();
        m
    };
    let fired = h.feed_mentions(vec![
        copy(1, "quotidien.example"),
        copy(2, "regional.example"),
        copy(3, "portail.example"),
        copy(4, "agregateur.example"),
    ]);
    assert_eq!(fired, ["copies"], "four copies: 4 mentions, 1 story");
    assert!(
        h.last().summary.contains("4 mentions"),
        "{}",
        h.last().summary
    );
    let fired = h.feed(&[
        "Acme ouvre un magasin à Lyon avec un atelier de réparation",
        "Acme augmente ses prix de dix pour cent sur toute la gamme",
    ]);
    assert_eq!(fired, ["stories"], "now three distinct stories");
    assert!(
        h.last().summary.contains("3 stories"),
        "{}",
        h.last().summary
    );
}
