//! How forum polls behave over time against the loopback fixture server: a failing topic
//! page is skipped without losing or repeating anything, a failing topic list fails the
//! poll and says which URL, watched threads are read on from where the last poll
//! stopped, pages are fetched with conditional GET, robots.txt survives a restart, and
//! custom selectors find ids before posts and dates inside text.

mod common;

use chrono::{TimeZone, Utc};
use common::*;

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/forums")
            .join(dir)
            .join(name),
    )
    .unwrap()
}

fn html(bytes: impl Into<Vec<u8>>) -> Route {
    Route::ok("text/html; charset=utf-8", bytes)
}

/// A phpBB 3.3 (prosilver) topic list, one row per (topic id, last post time).
fn phpbb_list(topics: &[(u32, &str)]) -> String {
    let rows: String = topics
        .iter()
        .map(|(t, last)| {
            format!(
                r#"<li class="row bg1"><dl class="row-item topic_read"><dt><div class="list-inner"><a href="./viewtopic.php?t={t}&amp;sid=5ec2e7" class="topictitle">Sujet {t}</a></div></dt>
<dd class="posts">1 <dfn>Réponses</dfn></dd><dd class="lastpost"><span><dfn>Dernier message </dfn>par <a href="./memberlist.php?mode=viewprofile&amp;u=2" class="username">lea</a><br /><time datetime="{last}">{last}</time></span></dd></dl></li>"#
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE html><html dir="ltr" lang="fr"><head><meta charset="utf-8" /></head><body id="phpbb" class="section-viewforum ltr"><div class="forumbg"><div class="inner"><ul class="topiclist topics">{rows}</ul></div></div></body></html>"#
    )
}

/// A phpBB 3.3 topic page with one post.
fn phpbb_topic(t: u32, post: u32) -> String {
    format!(
        r#"<!DOCTYPE html><html dir="ltr" lang="fr"><head><meta charset="utf-8" /></head><body id="phpbb" class="section-viewtopic ltr">
<h2 class="topic-title"><a href="./viewtopic.php?t={t}">Sujet {t}</a></h2>
<div id="p{post}" class="post has-profile bg2"><div class="inner"><div class="postbody"><div id="post_content{post}">
<h3 class="first"><a href="./viewtopic.php?p={post}#p{post}">Sujet {t}</a></h3>
<p class="author"><span class="responsive-hide">par <strong><a href="./memberlist.php?mode=viewprofile&amp;u=2" class="username">lea</a></strong> » </span><time datetime="2026-03-10T08:00:00+00:00">mar. 10 mars 2026 09:00</time></p>
<div class="content">Message {post} sur Acme.</div></div></div></div></div></body></html>"#
    )
}

/// The test pages were saved years ago: the first poll's look-back reaches them.
fn phpbb_source(srv: &FeedServer, extra: &str) -> String {
    with_source(&format!(
        "id = \"gourmand\"\nkind = \"forum\"\nengine = \"phpbb3\"\nbase_url = \"{}\"\nbackfill = \"36500d\"\n{extra}",
        srv.url("/")
    ))
}

fn topic_requests(srv: &FeedServer, from: usize) -> Vec<String> {
    srv.requests("/viewtopic.php")[from..]
        .iter()
        .map(|r| r.query.get("t").cloned().unwrap_or_default())
        .collect()
}

/// A topic answering 404 in the middle of a list: the poll goes on, saves what it read,
/// and the next poll neither reads the topics again nor loses the one that failed for a
/// while (500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_topic_is_skipped_and_the_poll_goes_on() {
    let srv = FeedServer::start().await;
    let t = "2026-03-10T08:00:00+00:00";
    srv.set(
        "/viewforum.php",
        html(phpbb_list(&[(10, t), (11, t), (12, t), (13, t)])),
    );
    srv.set_when("/viewtopic.php", &[("t", "10")], html(phpbb_topic(10, 100)));
    srv.set_when("/viewtopic.php", &[("t", "11")], Route::status(404));
    srv.set_when("/viewtopic.php", &[("t", "12")], html(phpbb_topic(12, 120)));
    srv.set_seq(
        "/viewtopic.php",
        &[("t", "13")],
        vec![Route::status(500), html(phpbb_topic(13, 130))],
    );
    let setup = Setup::new();
    setup.write(&phpbb_source(&srv, "forums = [\"viewforum.php?f=2\"]"));
    let r = run_once(setup.load()).await;
    let s = &r.per_source["gourmand"];
    assert_eq!(
        (r.failures, s.failed_pages, r.new_mentions),
        (0, 2, 2),
        "{r:?}"
    );
    assert_eq!(topic_requests(&srv, 0), ["10", "11", "12", "13"]);
    let texts: Vec<String> = indexed(&setup).into_iter().map(|m| m.text).collect();
    assert!(
        texts.contains(&"Message 100 sur Acme.".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"Message 120 sur Acme.".to_string()),
        "{texts:?}"
    );

    // Next poll, same list: only the topic that failed for a while is read again; the
    // one that is gone is not asked for again, the ones read are not read twice.
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 1), "{r:?}");
    assert_eq!(topic_requests(&srv, 4), ["13"]);
    assert_eq!(indexed(&setup).len(), 3);

    // `veille sources test` names the page that failed.
    let config = setup.config_path();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
            .args([
                "sources",
                "test",
                "--config",
                config.to_str().unwrap(),
                "gourmand",
            ])
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("{}viewtopic.php?t=11: HTTP 404", srv.url("/"))),
        "{stdout}"
    );
    assert!(!stdout.contains("sid="), "{stdout}");
}

/// The topic list itself failing fails the poll, with its URL (without the session id
/// or a token) in the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_topic_list_fails_the_poll_and_says_which_url() {
    let srv = FeedServer::start().await;
    srv.set("/viewforum.php", Route::status(500));
    let setup = Setup::new();
    setup.write(&phpbb_source(
        &srv,
        "forums = [\"viewforum.php?f=2&sid=5ec2e7&token=s3cr3t\"]",
    ));
    let r = run_once(setup.load()).await;
    assert_eq!(r.failures, 1, "{r:?}");
    let error = r.per_source["gourmand"].last_error.clone().unwrap();
    assert_eq!(
        error,
        format!("{}viewforum.php?f=2: HTTP 500", srv.url("/"))
    );
    assert!(srv.requests("/viewtopic.php").is_empty());
}

/// `threads = [...]`: each poll goes on from the last page read (rel="next"), with
/// conditional GET on that page. phpBB 3.2 (date as text after "»", French) and 3.0
/// subsilver2 (a table per post, the id in `<a name>`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watched_threads_are_read_on_from_where_the_last_poll_stopped() {
    let srv = FeedServer::start().await;
    let host = srv.addr.to_string();
    let page = |f: &str| {
        String::from_utf8(fixture("phpbb32", f))
            .unwrap()
            .replace("HOST", &host)
    };
    srv.set_when(
        "/p32/viewtopic.php",
        &[("t", "20")],
        html(page("topic.html")),
    );
    srv.set_when(
        "/p32/viewtopic.php",
        &[("t", "20"), ("start", "2")],
        html(page("topic_p2.html")),
    );
    srv.set_when(
        "/p30/viewtopic.php",
        &[("t", "12")],
        html(fixture("phpbb30", "subsilver2_topic.html")),
    );
    let setup = Setup::new();
    let mut cfg = base_config();
    for (id, engine, base, thread) in [
        ("p32", "phpbb3", srv.url("/p32/"), "viewtopic.php?t=20"),
        ("p30", "phpbb30", srv.url("/p30/"), "viewtopic.php?f=3&t=12"),
    ] {
        cfg.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nkind = \"forum\"\nengine = \"{engine}\"\nbase_url = \"{base}\"\nthreads = [\"{thread}\"]\ntimezone = \"Europe/Paris\"\nlocale = \"fr\"\nallow_private = true\nbackfill = \"36500d\"\n"
        ));
    }
    setup.write(&cfg);
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 5), "{r:?}");
    let m = indexed(&setup);
    let by = |id: &str| {
        m.iter()
            .find(|m| m.native_id.as_deref().unwrap().ends_with(id))
            .unwrap_or_else(|| panic!("{id}"))
            .clone()
    };
    let first = by(":2001");
    assert_eq!(first.author.as_deref(), Some("margaux"));
    // "par margaux » mar. 10 mars 2026 09:41" in Paris.
    assert_eq!(first.published_at.to_rfc3339(), "2026-03-10T08:41:00+00:00");
    assert_eq!(first.title, "Bouilloire Acme : le couvercle");
    assert_eq!(
        by(":2002").text,
        "La charnière Acme se change en deux minutes, voir la notice."
    );
    assert_eq!(by(":2002").author.as_deref(), Some("modo"));
    assert_eq!(
        by(":2003").text,
        "Les bouilloires Globex ont le même défaut."
    );
    // subsilver2: "Posté: Dim 26 Mai 2019 16:34", signature and quote left out.
    let s1 = by(":1201");
    assert_eq!(
        (s1.author.as_deref(), s1.published_at.to_rfc3339().as_str()),
        (Some("margaux"), "2019-05-26T14:34:00+00:00")
    );
    assert_eq!(
        s1.text,
        "Le couvercle de ma bouilloire Acme a cassé au bout d'une semaine."
    );
    assert_eq!(
        by(":1202").text,
        "Écrivez au service client d'Acme, ils remplacent les couvercles."
    );

    // Two more replies: one on page 2, which now links to a page 3.
    let before = srv.requests("/p32/viewtopic.php").len();
    srv.set_when(
        "/p32/viewtopic.php",
        &[("t", "20"), ("start", "2")],
        html(page("topic_p2_more.html")),
    );
    srv.set_when(
        "/p32/viewtopic.php",
        &[("t", "20"), ("start", "4")],
        html(page("topic_p3.html")).with_etag("\"p3-v1\"", "Tue, 10 Mar 2026 09:00:00 GMT"),
    );
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let starts: Vec<String> = srv.requests("/p32/viewtopic.php")[before..]
        .iter()
        .map(|r| r.query.get("start").cloned().unwrap_or_default())
        .collect();
    assert_eq!(starts, ["2", "4"], "from the last page read, not the first");
    let m = indexed(&setup);
    let today = m
        .iter()
        .find(|m| m.native_id.as_deref().unwrap().ends_with(":2005"))
        .unwrap();
    let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    assert_eq!(
        today.published_at.with_timezone(&paris).date_naive(),
        Utc::now().with_timezone(&paris).date_naive(),
        "\"Aujourd'hui, 00:01\""
    );

    // Nothing new: page 3 answers 304 to its validators.
    let before = srv.requests("/p32/viewtopic.php").len();
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 0), "{r:?}");
    let last = &srv.requests("/p32/viewtopic.php")[before..];
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].query.get("start").map(String::as_str), Some("4"));
    assert_eq!(last[0].headers["if-none-match"], "\"p3-v1\"");
}

/// Topic lists and topic pages are fetched with the validators of their last answer; a
/// list that answers 304 means no topic moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forum_pages_use_conditional_get() {
    let srv = FeedServer::start().await;
    let t = "2026-03-10T08:00:00+00:00";
    srv.set(
        "/viewforum.php",
        html(phpbb_list(&[(10, t)])).with_etag("\"list-1\"", "Tue, 10 Mar 2026 08:00:00 GMT"),
    );
    srv.set_when(
        "/viewtopic.php",
        &[("t", "10")],
        html(phpbb_topic(10, 100)).with_etag("\"t10-1\"", "Tue, 10 Mar 2026 08:00:00 GMT"),
    );
    let setup = Setup::new();
    setup.write(&phpbb_source(&srv, "forums = [\"viewforum.php?f=2\"]"));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 1), "{r:?}");
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 0), "{r:?}");
    let lists = srv.requests("/viewforum.php");
    assert_eq!(lists.len(), 2);
    assert!(lists[0].headers.get("if-none-match").is_none());
    assert_eq!(lists[1].headers["if-none-match"], "\"list-1\"");
    assert_eq!(srv.requests("/viewtopic.php").len(), 1, "the list said 304");
    // What the validators are kept in: the source's state, bounded.
    let state = source_row(&setup, "gourmand").state.cursor.unwrap();
    assert_eq!(state["~pages"].as_array().unwrap().len(), 2, "{state}");
}

/// robots.txt is fetched once and kept in the source's state with its expiry (from its
/// Cache-Control header): a restarted daemon does not fetch it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_is_kept_in_the_state_across_restarts() {
    let srv = FeedServer::start().await;
    let mut robots = Route::ok("text/plain", "User-agent: *\nDisallow: /memberlist.php\n");
    robots.headers = vec![("Cache-Control".into(), "public, max-age=7200".into())];
    srv.set("/robots.txt", robots);
    srv.set(
        "/viewforum.php",
        html(phpbb_list(&[(10, "2026-03-10T08:00:00+00:00")])),
    );
    srv.set_when("/viewtopic.php", &[("t", "10")], html(phpbb_topic(10, 100)));
    let setup = Setup::new();
    setup.write(&phpbb_source(&srv, "forums = [\"viewforum.php?f=2\"]"));
    let started = Utc::now().timestamp();
    for _ in 0..3 {
        let r = run_once(setup.load()).await;
        assert_eq!(r.failures, 0, "{r:?}");
    }
    assert_eq!(srv.requests("/robots.txt").len(), 1);
    let state = source_row(&setup, "gourmand").state.cursor.unwrap();
    let saved = &state["~robots"][0];
    assert_eq!(saved["origin"], format!("http://{}", srv.addr));
    let expires = saved["expires"].as_i64().unwrap();
    assert!(
        (started + 7100..=Utc::now().timestamp() + 7200).contains(&expires),
        "{saved}"
    );
}

/// `engine = "custom"`: the id on an anchor before each post, the date taken out of a
/// sentence with a pattern, read by the localized parser or by a chrono format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_selectors_find_ids_before_posts_and_dates_in_text() {
    let srv = FeedServer::start().await;
    srv.set(
        "/coin/sujet-42.html",
        html(fixture("custom", "thread.html")),
    );
    let setup = Setup::new();
    let mut cfg = base_config();
    // Two hosts for one server, so that the two sources' posts are distinct mentions.
    let hosts = [
        srv.url("/coin/"),
        format!("http://localhost:{}/coin/", srv.addr.port()),
    ];
    for ((id, format), base) in [("localized", "localized"), ("chrono", "%d/%m/%Y à %Hh%M")]
        .into_iter()
        .zip(hosts)
    {
        cfg.push_str(&format!(
            r#"
[[source]]
id = "{id}"
kind = "forum"
engine = "custom"
base_url = "{base}"
threads = ["sujet-42.html"]
timezone = "Europe/Paris"
allow_private = true
backfill = "36500d"
[source.selectors]
post = "div.msg"
post_id = "a[name]"
post_id_attr = "name"
post_id_where = "before"
post_id_prefix = "p"
post_author = ".qui"
post_date = ".entete"
post_date_pattern = '(?:le )?(?P<date>\d{{2}}/\d{{2}}/\d{{4}} à \d{{2}}h\d{{2}}|il y a .+)$'
post_date_format = "{format}"
post_body = ".texte"
post_exclude = [".citation"]
title = "h1.sujet"
"#
        ));
    }
    setup.write(&cfg);
    let r = run_once(setup.load()).await;
    assert_eq!(r.failures, 0, "{r:?}");
    let m = indexed(&setup);
    let get = |source: &str, id: &str| {
        m.iter()
            .find(|m| m.source == source && m.native_id.as_deref().unwrap().ends_with(id))
            .unwrap_or_else(|| panic!("{source} {id}"))
    };
    // The third `div.msg` has no anchor of its own after the previous post: no id, left out.
    assert_eq!(m.iter().filter(|m| m.source == "localized").count(), 2);
    let a = get("localized", ":7001");
    assert_eq!(a.author.as_deref(), Some("margaux"));
    assert_eq!(a.published_at.to_rfc3339(), "2019-05-26T14:34:00+00:00");
    assert_eq!(a.title, "Couvercle Acme");
    let b = get("localized", ":7002");
    assert_eq!(b.text, "Pareil, Acme m'a envoyé un couvercle neuf.");
    // "il y a 3 heures"
    let ago = (b.fetched_at - b.published_at).num_minutes();
    assert_eq!(ago, 180, "{} {}", b.fetched_at, b.published_at);
    // A chrono format reads the absolute date; the relative one is left to the fetch time.
    assert_eq!(
        get("chrono", ":7001").published_at,
        Utc.with_ymd_and_hms(2019, 5, 26, 14, 34, 0).unwrap()
    );
    let c = get("chrono", ":7002");
    assert_eq!(c.published_at, c.fetched_at);
}
