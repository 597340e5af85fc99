//! Issue 14: alerts a community manager can act on without checking. Every matched
//! mention accounted for (batched into the incident's next message), no alert about old
//! news (max_age, a new source's backfill), no "new site" on day one (warm-up), and
//! conditions on the sentiment label. The real ingest stage with an injected clock; the
//! messages go through the real outbox to the webhook receiver and SMTP server.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use common::ingest::*;
use common::{Setup, SmtpServer, WebhookReceiver, base_config};
use veille::clock::ManualClock;
use veille::ingest::Event;
use veille::mention::Mention;
use veille::model::Status;
use veille::sources::Poll;

/// A mention of Acme published now, with its reach.
fn acme(h: &mut Harness, i: usize, reach: Option<u64>) -> Mention {
    h.n += 1;
    let title = format!("Arnaque Acme, témoignage {i} <b>&</b>");
    let mut m = veille::testutil::mention(&title, &format!("{title} (item {})", h.n));
    m.published_at = h.clock.now_utc();
    m.fetched_at = m.published_at;
    m.reach = reach;
    m
}

/// Delivers everything in the outbox through the real workers; returns once the
/// receivers got `n` messages (or after 20 s, and the test's counts then fail).
async fn deliver(setup: &Setup, h: &Harness, hook: &WebhookReceiver, smtp: &SmtpServer, n: usize) {
    let cfg = setup.load();
    let outbox = Arc::new(veille::outbox::Outbox {
        state: h.state.clone(),
        notifiers: Arc::new(cfg.notifiers.into_iter().collect()),
        http: veille::crawl::Http::new(&cfg.crawl).unwrap(),
        wake: Default::default(),
        events: None,
        installation: "test".into(),
        clock: Arc::new(h.clock.clone()),
        ops: cfg.ops.clone(),
        pace: true,
    });
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(outbox.run(rx));
    // Waiting on real sockets, not on time logic.
    for _ in 0..400 {
        if hook.received().len() >= n && smtp.messages().len() >= n {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
}

fn batch_rule(extra: &str) -> String {
    format!(
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nquery = \"arnaque\"\nrealert = \"1h\"\nresolve_after = \"2h\"\nnotify = [\"hook\", \"mail\"]\n{extra}"
    )
}

fn receivers_config(hook: &WebhookReceiver, smtp: &SmtpServer) -> String {
    format!(
        "{}\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{}\"\nallow_private = true\n\n[notifier.mail]\nkind = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\nfrom = \"veille@example.org\"\nto = [\"cm@example.org\"]\n",
        base_config(),
        hook.url("/hook"),
        smtp.port
    )
}

/// 30 mentions in one hour under `realert = "1h"`: the first goes out at once, the 29
/// others are held and go out together when realert has passed; the resolution sums up
/// the incident. Counts in the messages sum to 30 and every id is there, in full or in
/// the batch's list; the e-mails say as much, with the mention text escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_mentions_in_an_hour_are_all_accounted_for() {
    let hook = WebhookReceiver::start().await;
    let smtp = SmtpServer::start();
    let s = Setup::new();
    s.write(&receivers_config(&hook, &smtp));
    s.rules("r.toml", &batch_rule(""));
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let mut ids = BTreeSet::new();
    for i in 0..30 {
        clock.set(t0() + Duration::minutes(2 * i as i64));
        let m = acme(&mut h, i, Some(100 * i as u64));
        ids.insert(m.id.clone());
        h.feed_mentions(vec![m]);
        h.tick();
    }
    assert_eq!(h.alerts().len(), 1, "only the first within realert");
    clock.set(t0() + Duration::minutes(61));
    let update = h.tick();
    assert_eq!(update.len(), 1, "realert passed: the held mentions go out");
    assert_eq!(update[0].status, Status::Update);
    clock.set(t0() + Duration::minutes(58 + 121));
    let resolved = h.tick();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].status, Status::Resolved);

    deliver(&s, &h, &hook, &smtp, 3).await;
    let bodies: Vec<serde_json::Value> = hook.received().iter().map(|r| r.json()).collect();
    assert_eq!(bodies.len(), 3, "new, update, resolution");
    let mut counted = 0;
    let mut got = BTreeSet::new();
    for b in &bodies {
        let a = &b["alert"];
        if let Some(batch) = a.get("batch") {
            counted += batch["count"].as_u64().unwrap();
            for m in a["mentions"].as_array().unwrap() {
                got.insert(m["id"].as_str().unwrap().to_string());
            }
            for id in batch["more_ids"].as_array().unwrap() {
                got.insert(id.as_str().unwrap().to_string());
            }
        }
    }
    assert_eq!(counted, 30, "counts in the messages sum to 30");
    assert_eq!(got, ids, "every mention in full or listed");
    let upd = &bodies[1]["alert"];
    assert_eq!(upd["total_mentions"], 29);
    assert_eq!(upd["mentions"].as_array().unwrap().len(), 5, "five in full");
    // The most important first: the largest reach.
    assert_eq!(upd["mentions"][0]["reach"], 2900);
    assert_eq!(upd["mentions"][4]["reach"], 2500);
    assert_eq!(
        upd["batch"]["search"],
        "veille search --brand acme --since 2026-03-10T08:02:00Z --until 2026-03-10T08:58:01Z -n 29 arnaque"
    );
    let sum = &bodies[2]["alert"]["incident_summary"];
    assert_eq!(sum["mentions"], 30);
    assert_eq!(sum["peak_count"], 30);
    assert_eq!(sum["messages"], 2);
    assert_eq!(sum["first"], "2026-03-10T08:00:00Z");
    assert_eq!(sum["last"], "2026-03-10T08:58:00Z");

    // The e-mails: the update says how many since when, how to see the rest, and the
    // hostile title is escaped in the HTML part.
    let mails = smtp.messages();
    assert_eq!(mails.len(), 3);
    let m = mail_parser::MessageParser::default()
        .parse(&mails[1])
        .unwrap();
    let text = m.body_text(0).unwrap().into_owned();
    let html = m.body_html(0).unwrap().into_owned();
    assert!(
        text.contains("29 new mentions of Acme since the last message (2026-03-10 08:00 UTC)"),
        "{text}"
    );
    assert!(
        text.contains(
            "and 24 more mentions: veille search --brand acme --since 2026-03-10T08:02:00Z"
        ),
        "{text}"
    );
    assert!(
        text.contains("largest reach, then most negative, then newest"),
        "{text}"
    );
    assert!(
        html.contains("témoignage 29 &lt;b&gt;&amp;&lt;&#x2f;b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>&</b>"));
    let r = mail_parser::MessageParser::default()
        .parse(&mails[2])
        .unwrap();
    let text = r.body_text(0).unwrap().into_owned();
    assert!(
        text.contains("incident resolved: 30 mentions of Acme from 2026-03-10 08:00 UTC to 2026-03-10 08:58 UTC, peak 30 between 08:00 and 09:00 UTC"),
        "{text}"
    );
}

/// Held mentions are in the state: a restart between two messages loses none, and the
/// resolution flushes what was still held (here, before realert has passed).
#[test]
fn held_mentions_survive_a_restart_and_go_out_with_the_resolution() {
    let s = setup(
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nrealert = \"6h\"\nresolve_after = \"30m\"\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let first = acme(&mut h, 0, None);
    assert_eq!(h.feed_mentions(vec![first]), vec!["crisis"]);
    clock.advance(Duration::minutes(5));
    let held: Vec<Mention> = (1..4).map(|i| acme(&mut h, i, None)).collect();
    let held_ids: BTreeSet<String> = held.iter().map(|m| m.id.clone()).collect();
    assert!(h.feed_mentions(held).is_empty(), "within realert: held");
    drop(h);
    // A new process on the same data directory.
    clock.advance(Duration::minutes(40));
    let mut h = Harness::new(&s, clock.clone());
    let out = h.tick();
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(r.status, Status::Resolved);
    assert_eq!(r.total_mentions, 3);
    let got: BTreeSet<String> = r.mentions.iter().map(|m| m.id.clone()).collect();
    assert_eq!(got, held_ids);
    assert_eq!(r.incident_summary.as_ref().unwrap().mentions, 4);
    assert!(r.summary.contains("4 mention(s)"), "{}", r.summary);
}

/// `notify_resolved = false` sends no resolution notice, but what was held still goes
/// out (as an update): no matched mention is dropped.
#[test]
fn a_quiet_resolution_still_sends_what_was_held() {
    let s = setup(
        "[[rule]]\nid = \"all\"\nbrand = \"acme\"\nkind = \"match\"\nrealert = \"6h\"\nresolve_after = \"10m\"\nnotify_resolved = false\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let m = acme(&mut h, 0, None);
    h.feed_mentions(vec![m]);
    clock.advance(Duration::minutes(1));
    let m = acme(&mut h, 1, None);
    assert!(h.feed_mentions(vec![m]).is_empty());
    clock.advance(Duration::minutes(11));
    let out = h.tick();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].status, out[0].total_mentions), (Status::Update, 1));
    clock.advance(Duration::minutes(11));
    assert!(h.tick().is_empty(), "resolved quietly, once");
}

/// A mention published longer ago than `max_age` (default 24h) is indexed and
/// searchable, and fires no match or new_source rule.
#[test]
fn mentions_older_than_max_age_are_indexed_not_alerted() {
    let s = setup(
        "[[rule]]\nid = \"all\"\nbrand = \"acme\"\nkind = \"match\"\nrealert = \"0s\"\nnotify = [\"hook\"]\n\n[[rule]]\nid = \"short\"\nbrand = \"acme\"\nkind = \"match\"\nmax_age = \"2h\"\nrealert = \"0s\"\nnotify = [\"hook\"]\n\n[[rule]]\nid = \"newcomers\"\nbrand = \"acme\"\nkind = \"new_source\"\nwarm_up = \"0s\"\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0() + Duration::days(30));
    let mut h = Harness::new(&s, clock.clone());
    let mut old = on(
        &mut h,
        "Acme, l'article de l'an dernier",
        "old.example",
        "Ann",
    );
    old.published_at = clock.now_utc() - Duration::hours(25);
    assert!(
        h.feed_mentions(vec![old.clone()]).is_empty(),
        "25h old: no rule fires"
    );
    let mut recent = on(&mut h, "Acme, il y a trois heures", "mid.example", "Bob");
    recent.published_at = clock.now_utc() - Duration::hours(3);
    assert_eq!(
        h.feed_mentions(vec![recent]),
        vec!["all", "newcomers", "newcomers"],
        "within the default 24h (a new site and author), beyond the rule's 2h"
    );
    let index = veille::store::index::MentionIndex::open(&s.load().index_dir()).unwrap();
    let found = index
        .search(&veille::matching::SearchRequest {
            brand: Some("acme".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert!(
        found.iter().any(|m| m.id == old.id),
        "the old one is searchable"
    );
    // The old one's author and site count in history: not "new" now.
    let again = on(&mut h, "Acme encore", "old.example", "Ann");
    assert_eq!(h.feed_mentions(vec![again]), vec!["all", "short"]);
}

/// The first poll of a source is a backfill: items older than the look-back are skipped,
/// the others indexed without alerts (and noted for `veille sources` when all are
/// older); `backfill_alerts = true` alerts on them, but never as "new".
#[test]
fn first_poll_of_a_source_is_a_backfill_unless_asked() {
    let s = setup(
        "[[rule]]\nid = \"all\"\nbrand = \"acme\"\nkind = \"match\"\nrealert = \"0s\"\nnotify = [\"hook\"]\n\n[[rule]]\nid = \"newcomers\"\nbrand = \"acme\"\nkind = \"new_source\"\nwarm_up = \"0s\"\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0() + Duration::days(30));
    let mut h = Harness::new(&s, clock.clone());
    let poll = |h: &mut Harness, source: &str, ms: Vec<Mention>, alerts: bool| {
        let before = h.alerts().len();
        let ms = ms
            .into_iter()
            .map(|mut m| {
                m.source = source.into();
                m
            })
            .collect();
        h.ingest
            .process(vec![Event::Polled {
                source: source.into(),
                poll: Poll {
                    mentions: ms,
                    look_back: Some(Duration::days(7)),
                    backfill_alerts: alerts,
                    ..Default::default()
                },
            }])
            .unwrap();
        h.alerts()[before..].to_vec()
    };
    let now = clock.now_utc();
    let mut ancient = on(&mut h, "Acme il y a un mois", "a.example", "Ann");
    ancient.published_at = now - Duration::days(20);
    let fresh = on(&mut h, "Acme ce matin", "b.example", "Bob");
    assert!(poll(&mut h, "feed", vec![ancient.clone(), fresh.clone()], false).is_empty());
    let report = h.ingest.report.lock().unwrap().clone();
    assert_eq!((report.backfill_skipped, report.backfill_silent), (1, 1));
    let index = veille::store::index::MentionIndex::open(&s.load().index_dir()).unwrap();
    let all = index
        .search(&veille::matching::SearchRequest {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert!(all.iter().any(|m| m.id == fresh.id), "indexed");
    assert!(
        !all.iter().any(|m| m.id == ancient.id),
        "older than the look-back"
    );
    // The second poll is live.
    let next = on(&mut h, "Acme à midi", "b.example", "Bob");
    let fired: Vec<String> = poll(&mut h, "feed", vec![next], false)
        .iter()
        .map(|a| a.rule.clone())
        .collect();
    assert_eq!(
        fired,
        vec!["all"],
        "b.example and Bob were met in the backfill"
    );

    // A source whose first poll serves only old items: noted, nothing alerted.
    let mut stale = on(&mut h, "Acme en 2025", "c.example", "Cy");
    stale.published_at = now - Duration::days(40);
    assert!(poll(&mut h, "stale", vec![stale], false).is_empty());
    let row = common::source_row(&s, "stale");
    assert_eq!(row.old_items, Some(1));

    // backfill_alerts = true: match rules fire on the first poll, new_source does not.
    let asked = on(&mut h, "Acme, backfill voulu", "d.example", "Dee");
    let fired: Vec<String> = poll(&mut h, "wanted", vec![asked], true)
        .iter()
        .map(|a| a.rule.clone())
        .collect();
    assert_eq!(fired, vec!["all"]);
}

/// new_source and first-time conditions wait for the brand's warm-up (default 7 days
/// from its first recorded poll): on day one every site is new.
#[test]
fn new_source_and_first_time_wait_for_the_warm_up() {
    let s = setup(
        "[[rule]]\nid = \"newcomers\"\nbrand = \"acme\"\nkind = \"new_source\"\nnew = \"site\"\nrealert = \"0s\"\nnotify = [\"hook\"]\n\n[[rule]]\nid = \"first\"\nbrand = \"acme\"\nkind = \"match\"\nfirst_time_site = true\nrealert = \"0s\"\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let day_one = on(&mut h, "Acme, jour 1", "one.example", "A");
    assert!(
        h.feed_mentions(vec![day_one]).is_empty(),
        "day one: nothing is new"
    );
    clock.advance(Duration::days(6));
    let day_six = on(&mut h, "Acme, jour 6", "six.example", "B");
    assert!(
        h.feed_mentions(vec![day_six]).is_empty(),
        "still warming up"
    );
    clock.advance(Duration::days(1));
    let seven = on(&mut h, "Acme, jour 7", "seven.example", "C");
    assert_eq!(h.feed_mentions(vec![seven]), vec!["newcomers", "first"]);
    let known = on(&mut h, "Acme encore", "six.example", "D");
    assert!(
        h.feed_mentions(vec![known]).is_empty(),
        "met during the warm-up"
    );
}

/// `sentiment = "negative"` reads the label (the one search and digests show), not the
/// raw score; a typo is a config error naming the file, the line and the values.
#[test]
fn the_sentiment_label_is_a_condition() {
    let s = setup(
        "[[rule]]\nid = \"angry\"\nbrand = \"acme\"\nkind = \"match\"\nsentiment = \"negative\"\nrealert = \"0s\"\nnotify = [\"hook\"]\n\n[[rule]]\nid = \"happy\"\nbrand = \"acme\"\nkind = \"match\"\nsentiment = \"positive\"\nrealert = \"0s\"\nnotify = [\"hook\"]\n",
    );
    let clock = ManualClock::new(t0());
    let mut h = Harness::new(&s, clock.clone());
    let angry = on(
        &mut h,
        "Acme est une arnaque honteuse, service client nul, remboursez-moi !",
        "a.example",
        "A",
    );
    assert_eq!(h.feed_mentions(vec![angry]), vec!["angry"]);
    let label = h.last().mentions[0].sentiment.unwrap().label;
    assert_eq!(label, veille::mention::Label::Negative);
    let happy = on(
        &mut h,
        "J'adore Acme, service génial, merci !",
        "b.example",
        "B",
    );
    assert_eq!(h.feed_mentions(vec![happy]), vec!["happy"]);
    let neutral = on(
        &mut h,
        "Acme ouvre un magasin rue de Rivoli mardi",
        "c.example",
        "C",
    );
    assert!(h.feed_mentions(vec![neutral]).is_empty());

    let bad = Setup::new();
    bad.write(&base_config());
    bad.rules(
        "typo.toml",
        "[[rule]]\nid = \"angry\"\nbrand = \"acme\"\nkind = \"match\"\nsentiment = \"negatve\"\n",
    );
    let e = veille::config::Config::load(&bad.config_path()).expect_err("a config error");
    let msg = e.to_string();
    assert!(msg.contains("typo.toml:5"), "{msg}");
    assert!(
        msg.contains(
            "unknown sentiment `negatve`: expected \"negative\", \"neutral\" or \"positive\""
        ),
        "{msg}"
    );
}

/// RFC 3339 time `minutes` ago, as the APIs write it.
fn iso(minutes: i64) -> String {
    (chrono::Utc::now() - Duration::minutes(minutes)).to_rfc3339()
}

/// Regression (issue 14): API sources looked back 24 hours on their first poll, so a
/// Lemmy community or Flarum forum quieter than one post a day returned nothing, with no
/// hint why. Now every kind looks back `backfill` (7 days), and a poll whose items are
/// all older than that is said so by `veille sources`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lemmy_and_flarum_first_polls_reach_back_a_week_and_say_when_all_is_older() {
    let srv = common::FeedServer::start().await;
    let lemmy = |published: String| {
        serde_json::json!({"type_": "All", "communities": [], "users": [], "comments": [],
            "posts": [{"post": {"id": 1, "name": "Acme kettle, three days on", "body": "Still broken", "ap_id": "https://lemmy.world/post/1", "published": published},
                       "creator": {"actor_id": "https://lemmy.world/u/anna", "name": "anna"}, "counts": {"score": 1, "upvotes": 1, "comments": 0}}]})
    };
    let empty = serde_json::json!({"type_": "All", "posts": [], "comments": [], "communities": [], "users": []});
    srv.json_when(
        "/week/api/v3/search",
        &[("page", "1")],
        lemmy(iso(3 * 1440)),
    );
    srv.json_when("/week/api/v3/search", &[("page", "2")], empty.clone());
    srv.json_when(
        "/old/api/v3/search",
        &[("page", "1")],
        lemmy(iso(30 * 1440)),
    );
    srv.json_when("/old/api/v3/search", &[("page", "2")], empty);
    srv.json("/fl/api/discussions", serde_json::json!({"data": [
        {"type": "discussions", "id": "5", "attributes": {"title": "Acme, avis", "slug": "5-acme", "commentCount": 1, "createdAt": iso(4 * 1440), "lastPostedAt": iso(4 * 1440), "lastPostNumber": 1}}]}));
    srv.json_when("/fl/api/posts", &[("filter[discussion]", "5")], serde_json::json!({"data": [
        {"type": "posts", "id": "51", "attributes": {"number": 1, "createdAt": iso(4 * 1440), "contentType": "comment", "contentHtml": "<p>Acme, bof</p>"}, "relationships": {}}]}));
    let s = Setup::new();
    s.write(&format!(
        "{}\n[[source]]\nid = \"week\"\nkind = \"lemmy\"\nbase_url = \"{}\"\nquery = \"acme\"\nallow_private = true\n\n[[source]]\nid = \"old\"\nkind = \"lemmy\"\nbase_url = \"{}\"\nquery = \"acme\"\nallow_private = true\n\n[[source]]\nid = \"fl\"\nkind = \"flarum\"\nbase_url = \"{}\"\nallow_private = true\n\n[notifier.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nallow_private = true\n",
        base_config(),
        srv.url("/week/"),
        srv.url("/old/"),
        srv.url("/fl/"),
    ));
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"all\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"hook\"]\n",
    );
    let r = common::run_once_with(s.load(), false, StdDuration::from_secs(1)).await;
    assert_eq!(r.failures, 0, "{r:?}");
    assert_eq!(r.per_source["week"].new, 1, "three days back: found");
    assert_eq!(r.per_source["fl"].new, 1, "four days back: found");
    assert_eq!(
        r.per_source["old"].new, 0,
        "thirty days back: older than 7d"
    );
    assert!(r.alerts.is_empty(), "a first poll is a backfill");
    assert_eq!(common::source_row(&s, "old").old_items, Some(1));
    assert_eq!(common::source_row(&s, "week").old_items, None);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["sources", "--config", s.config_path().to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("its 1 item(s) were all older than the look-back (backfill = \"7d\")"),
        "{table}"
    );
}

/// Every chat platform shows the batch as the e-mail does: how many since when, how the
/// mentions shown were chosen, and the search line for the rest.
#[test]
fn chat_messages_show_the_batch() {
    use veille::notify::chat::{Flavor, payload};
    use veille::notify::view::Locale;
    let mut a = veille::model::Alert::sample();
    a.status = Status::Update;
    a.total_mentions = 12;
    let since = a.created_at - Duration::minutes(30);
    a.batch = Some(veille::model::Batch {
        count: 12,
        since: Some(since),
        more_ids: (0..11).map(|i| format!("m{i}")).collect(),
        order: veille::model::batch::ORDER.into(),
        search: "veille search --brand acme --since 2026-03-10T07:31:00Z --until 2026-03-10T07:59:01Z -n 12".into(),
    });
    for flavor in [
        Flavor::Slack,
        Flavor::Mattermost,
        Flavor::Teams,
        Flavor::Discord,
        Flavor::GoogleChat,
    ] {
        // As rendered: the markup's escapes (Mattermost's `\(`, `\:`) read as the
        // characters they protect.
        let p = payload(flavor, &a, Locale::En, None, None)
            .to_string()
            .replace('\\', "");
        for want in [
            "12 new mentions of Acme since the last message (2026-03-10 07:30 UTC)",
            "largest reach, then most negative, then newest",
            "and 11 more mentions",
            "--since 2026-03-10T07:31:00Z --until 2026-03-10T07:59:01Z -n 12",
        ] {
            assert!(p.contains(want), "{}: {want:?} not in {p}", flavor.name());
        }
        let fr = payload(flavor, &a, Locale::Fr, None, None)
            .to_string()
            .replace('\\', "");
        assert!(
            fr.contains("12 nouvelles mentions d’Acme depuis le dernier message"),
            "{}: {fr}",
            flavor.name()
        );
    }
}
