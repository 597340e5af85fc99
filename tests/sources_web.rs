//! News search and forums against a local server: Google News RSS, Discourse and Flarum
//! APIs, and HTML forums (phpBB 3, XenForo 2, vBulletin 4 and 5) scraped with the presets.
//!
//! Over 600 lines: one test per engine with its captured pages' expectations inline.

mod common;

use chrono::Utc;
use common::*;
use serde_json::json;

fn iso(minutes_ago: i64) -> String {
    (Utc::now() - chrono::Duration::minutes(minutes_ago))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/forums")
            .join(name),
    )
    .unwrap()
}

fn html(bytes: Vec<u8>) -> Route {
    Route::ok("text/html", bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn googlenews_query_edition_and_publisher() {
    let srv = FeedServer::start().await;
    let item = |id: &str, title: &str, publisher: &str| {
        format!(
            r##"<item><title>{title} - {publisher}</title><link>https://news.google.com/rss/articles/{id}?oc=5</link><guid isPermaLink="false">{id}</guid><pubDate>{}</pubDate><description>&lt;a href="https://news.google.com/rss/articles/{id}?oc=5" target="_blank"&gt;{title}&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font color="#6f6f6f"&gt;{publisher}&lt;/font&gt;</description><source url="https://www.{id}.example">{publisher}</source></item>"##,
            ago(30)
        )
    };
    let feed = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator><title>"acme" - Google Actualités</title><link>https://news.google.com/search?q=acme</link><language>fr</language><copyright>Copyright © 2026 Google. All rights reserved. This XML feed is made available solely for the purpose of rendering Google News results within a personal feed reader for personal, non-commercial use.</copyright>{}{}</channel></rss>"#,
        item(
            "CBMiA",
            "Acme - Globex : le match des bouilloires",
            "Le Quotidien"
        ),
        item("CBMiB", "Rappel massif chez Acme", "Ouest &amp; Co")
    );
    srv.set("/rss/search", Route::rss(feed));
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"gn\"\nkind = \"googlenews\"\nbase_url = \"{}\"\nbrands = [\"acme\"]\nlanguage = \"fr\"\ncountry = \"fr\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    let a = m.iter().find(|m| m.title.contains("match")).unwrap();
    assert_eq!(
        a.title, "Acme - Globex : le match des bouilloires",
        "only the publisher suffix is removed"
    );
    assert_eq!(a.author.as_deref(), Some("Le Quotidien"));
    // The description is HTML escaped inside XML, with &nbsp; and a <font> tag: decoded
    // exactly once, into plain text with no markup nor entity left.
    assert!(
        !a.text.contains('<') && !a.text.contains("&nbsp;") && !a.text.contains("&amp;"),
        "{:?}",
        a.text
    );
    assert!(a.text.contains("le match des bouilloires"), "{:?}", a.text);
    assert_eq!(a.source_kind, "googlenews");
    assert_eq!(a.language.as_deref(), Some("fr"));
    let b = m.iter().find(|m| m.title.contains("Rappel")).unwrap();
    assert_eq!(
        (b.title.as_str(), b.author.as_deref()),
        ("Rappel massif chez Acme", Some("Ouest & Co"))
    );
    let q = &srv.requests("/rss/search")[0].query;
    assert_eq!(q["q"], "\"acme corp\" OR acme when:1d");
    assert_eq!(
        (q["hl"].as_str(), q["gl"].as_str(), q["ceid"].as_str()),
        ("fr", "FR", "FR:fr")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discourse_latest_posts_backwards_and_search_429() {
    let srv = FeedServer::start().await;
    let post = |id: i64, n: i64, cooked: &str, ago: i64| {
        json!({"id": id, "name": "Anne", "username": "anne_b", "created_at": iso(ago), "cooked": cooked, "post_number": n,
            "topic_id": 880, "topic_slug": "acme-support", "topic_title": "Acme support &amp; refunds", "reply_count": 0,
            "actions_summary": [{"id": 2, "count": 4}], "post_url": format!("/t/acme-support/880/{n}")})
    };
    srv.json("/posts.json", json!({"latest_posts": [post(502, 2, "<p>Acme replied, finally</p>", 10), post(501, 1, "<p>Acme support is silent</p>", 20)]}));
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"disc\"\nkind = \"discourse\"\nbase_url = \"{}\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    let p = m.iter().find(|m| m.text.contains("finally")).unwrap();
    assert_eq!(p.url, format!("{}t/acme-support/880/2", srv.url("/")));
    assert_eq!(
        (p.title.as_str(), p.engagement.likes),
        ("Acme support & refunds", Some(4))
    );

    // Newer posts: the first page, then `before` the oldest of it, down to id 502.
    srv.json("/posts.json", json!({"latest_posts": [post(505, 5, "<p>Acme 505</p>", 1), post(504, 4, "<aside class=\"quote\"><blockquote>Acme support is silent</blockquote></aside><p>Acme 504 reply</p>", 2)]}));
    srv.json_when("/posts.json", &[("before", "504")], json!({"latest_posts": [post(503, 3, "<p>Acme 503</p>", 3), post(502, 2, "<p>Acme replied, finally</p>", 10)]}));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 3), "{r:?}");
    let m = indexed(&setup);
    assert_eq!(
        m.iter().find(|m| m.text.contains("504")).unwrap().text,
        "Acme 504 reply",
        "quotes left out"
    );
    assert!(
        !srv.requests("/posts.json")
            .iter()
            .any(|r| r.query.get("before").map(String::as_str) == Some("502")),
        "stops at the known id"
    );

    // Search, rate limited by Discourse.
    let mut limited = Route::ok("application/json", json!({"errors": ["You’ve performed this action too many times."], "error_type": "rate_limit", "extras": {"wait_seconds": 39}}).to_string());
    limited.status = 429;
    limited.headers = vec![
        ("Retry-After".into(), "39".into()),
        (
            "Discourse-Rate-Limit-Error-Code".into(),
            "ip_10_secs_limit".into(),
        ),
    ];
    srv.set("/search.json", limited);
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"disc\"\nkind = \"discourse\"\nbase_url = \"{}\"\nlatest = false\nquery = \"acme\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert!(
        r.per_source["disc"]
            .last_error
            .as_deref()
            .unwrap()
            .contains("rate limited (HTTP 429), retry after 39s")
    );
    assert!(srv.requests("/search.json")[0].query["q"].starts_with("acme order:latest after:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flarum_discussions_and_posts_with_included_users() {
    // Discussion 42 as Flarum 1.x gives it (its slug starts with the id), discussion 7 as
    // older versions did: each URL carries the id once.
    let srv = FeedServer::start().await;
    srv.json("/api/discussions", json!({"links": {"first": "x"}, "data": [
        {"type": "discussions", "id": "42", "attributes": {"title": "Acme ou Globex ?", "slug": "42-acme-ou-globex", "commentCount": 3, "createdAt": iso(60), "lastPostedAt": iso(5), "lastPostNumber": 3}},
        {"type": "discussions", "id": "7", "attributes": {"title": "Vieux sujet Acme", "slug": "vieux", "commentCount": 1, "createdAt": iso(21_000), "lastPostedAt": iso(20_000), "lastPostNumber": 1}}
    ]}));
    srv.json_when("/api/posts", &[("filter[discussion]", "42")], json!({"data": [
        {"type": "posts", "id": "303", "attributes": {"number": 3, "createdAt": iso(5), "contentType": "comment", "contentHtml": "<blockquote><p>Acme c'est nul</p></blockquote><p>Globex est pire, d&#39;après moi</p>"}, "relationships": {"user": {"data": {"type": "users", "id": "9"}}}},
        {"type": "posts", "id": "302", "attributes": {"number": 2, "createdAt": iso(30), "contentType": "discussionRenamed", "contentHtml": null}, "relationships": {}},
        {"type": "posts", "id": "301", "attributes": {"number": 1, "createdAt": iso(60), "contentType": "comment", "contentHtml": "<p>Acme c'est nul</p>"}, "relationships": {"user": {"data": {"type": "users", "id": "8"}}}}
    ], "included": [
        {"type": "users", "id": "9", "attributes": {"username": "lea", "displayName": "Léa"}},
        {"type": "users", "id": "8", "attributes": {"username": "tom", "displayName": "Tom"}}
    ]}));
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"fl\"\nkind = \"flarum\"\nbase_url = \"{}\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    let p = m.iter().find(|m| m.text.contains("pire")).unwrap();
    assert_eq!(
        p.text, "Globex est pire, d'après moi",
        "quote left out, entities decoded"
    );
    assert_eq!(
        (p.author.as_deref(), p.author_name.as_deref()),
        (Some("lea"), Some("Léa"))
    );
    assert_eq!(p.url, format!("{}d/42-acme-ou-globex/3", srv.url("/")));
    assert_eq!(p.title, "Acme ou Globex ?");
    assert!(
        srv.requests("/api/posts")
            .iter()
            .all(|r| r.query["filter[discussion]"] == "42"),
        "old discussions are not read"
    );
    // Nothing new: the discussion's last post did not move.
    let r = run_once(setup.load()).await;
    assert_eq!(r.new_mentions, 0);
}

/// Flarum listings follow `links.next` (discussions and posts) until the window's floor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flarum_follows_links_next_for_discussions_and_posts() {
    let srv = FeedServer::start().await;
    let disc = |id: u32, ago: i64| json!({"type": "discussions", "id": id.to_string(), "attributes": {"title": format!("Acme sujet {id}"), "slug": format!("s{id}"), "commentCount": 2, "createdAt": iso(ago + 60), "lastPostedAt": iso(ago), "lastPostNumber": 2}});
    let post = |id: u32, ago: i64| json!({"type": "posts", "id": id.to_string(), "attributes": {"number": id, "createdAt": iso(ago), "contentType": "comment", "contentHtml": format!("<p>Acme message {id}</p>")}, "relationships": {}});
    srv.json("/api/discussions", json!({
        "links": {"next": srv.url("/api/discussions?sort=-lastPostedAt&page%5Blimit%5D=50&page%5Boffset%5D=50")},
        "data": [disc(1, 5), disc(2, 6), disc(3, 7)]}));
    srv.json_when("/api/discussions", &[("page[offset]", "50")], json!({
        "links": {"next": srv.url("/api/discussions?sort=-lastPostedAt&page%5Blimit%5D=50&page%5Boffset%5D=100")},
        "data": [disc(4, 8), disc(5, 20_000)]}));
    // Discussion 1 has two pages of new posts.
    srv.json_when("/api/posts", &[("filter[discussion]", "1")], json!({
        "links": {"next": srv.url("/api/posts?filter%5Bdiscussion%5D=1&sort=-createdAt&page%5Boffset%5D=50")},
        "data": [post(102, 5)]}));
    srv.json_when(
        "/api/posts",
        &[("filter[discussion]", "1"), ("page[offset]", "50")],
        json!({"data": [post(101, 6)]}),
    );
    for (d, p) in [(2, 201), (3, 301), (4, 401)] {
        srv.json_when(
            "/api/posts",
            &[("filter[discussion]", &d.to_string())],
            json!({"data": [post(p, 9)]}),
        );
    }
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"fl\"\nkind = \"flarum\"\nbase_url = \"{}\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 5), "{r:?}");
    let texts: std::collections::BTreeSet<String> =
        indexed(&setup).into_iter().map(|m| m.text).collect();
    for id in [101, 102, 201, 301, 401] {
        assert!(texts.contains(&format!("Acme message {id}")), "{texts:?}");
    }
    // The listing stopped at the old discussion: no third page, no posts of discussion 5.
    assert!(
        !srv.requests("/api/discussions").iter().any(|r| r
            .query
            .get("page[offset]")
            .map(String::as_str)
            == Some("100"))
    );
    assert!(
        !srv.requests("/api/posts")
            .iter()
            .any(|r| r.query["filter[discussion]"] == "5")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phpbb_topics_pages_quotes_sid_and_robots() {
    let srv = FeedServer::start().await;
    srv.set(
        "/robots.txt",
        Route::ok(
            "text/plain",
            "User-agent: *\nDisallow: /viewtopic.php?t=99\nDisallow: /memberlist.php\n",
        ),
    );
    srv.set("/viewforum.php", html(fixture("phpbb_list.html")));
    srv.set_when(
        "/viewtopic.php",
        &[("t", "10")],
        html(fixture("phpbb_topic_10.html")),
    );
    srv.set_when(
        "/viewtopic.php",
        &[("t", "10"), ("start", "15")],
        html(fixture("phpbb_topic_10_p2.html")),
    );
    srv.set_when(
        "/viewtopic.php",
        &[("t", "11")],
        html(fixture("phpbb_topic_11.html")),
    );
    srv.set_when(
        "/viewtopic.php",
        &[("t", "99")],
        html(b"<html>secret</html>".to_vec()),
    );
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"gourmand\"\nkind = \"forum\"\nengine = \"phpbb3\"\nbase_url = \"{}\"\nforums = [\"viewforum.php?f=2\"]\ntimezone = \"Europe/Paris\"\nbackfill = \"36500d\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!(r.failures, 0, "{r:?}");
    let m = indexed(&setup);
    let titles: Vec<(&str, &str)> = m
        .iter()
        .map(|m| (m.native_id.as_deref().unwrap(), m.text.as_str()))
        .collect();
    // p101, p102, p120 (topic 10, both pages) and p110 (mentions Acme too).
    assert_eq!(m.len(), 4, "{titles:?}");
    let p101 = m
        .iter()
        .find(|m| m.native_id.as_deref().unwrap().ends_with(":101"))
        .unwrap();
    assert_eq!(
        p101.text,
        "Ma bouilloire Acme ne chauffe plus après 3 mois et le SAV ne répond pas. C'est une arnaque !"
    );
    assert_eq!(p101.author.as_deref(), Some("margaux_l"));
    assert_eq!(p101.title, "Bouilloire Acme : SAV injoignable");
    assert_eq!(p101.published_at.to_rfc3339(), "2026-03-08T17:05:00+00:00");
    assert_eq!(
        p101.url,
        format!("{}viewtopic.php?p=101#p101", srv.url("/")),
        "sid stripped"
    );
    let p102 = m
        .iter()
        .find(|m| m.native_id.as_deref().unwrap().ends_with(":102"))
        .unwrap();
    assert_eq!(
        p102.text, "Merci de rester courtois, nous avons contacté le fabricant.",
        "the quote is not a second mention"
    );
    assert_eq!(p102.author.as_deref(), Some("modo"), "coloured username");
    let p120 = m
        .iter()
        .find(|m| m.native_id.as_deref().unwrap().ends_with(":120"))
        .unwrap();
    assert_eq!(p120.author.as_deref(), Some("Invité"), "guest");
    // robots.txt was read and obeyed; no request ever carried the sid.
    assert!(
        srv.requests("/viewtopic.php")
            .iter()
            .all(|r| r.query.get("t").map(String::as_str) != Some("99"))
    );
    assert!(
        srv.requests("/viewtopic.php")
            .iter()
            .all(|r| !r.query.contains_key("sid"))
    );
    assert_eq!(srv.requests("/robots.txt").len(), 1);

    // Nothing moved: the list is read, no topic page.
    let before = srv.requests("/viewtopic.php").len();
    let r = run_once(setup.load()).await;
    assert_eq!(r.new_mentions, 0);
    assert_eq!(srv.requests("/viewtopic.php").len(), before);

    // Bumped by more than a page of replies: the last page (all new) is read, then the
    // pages before it (rel="prev") until one holds a known post.
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    let list = text(fixture("phpbb_list.html"))
        .replace(
            r#"<li><a class="button" href="./viewtopic.php?t=10&amp;start=15&amp;sid=4f0c1d2e9a" role="button">2</a></li>"#,
            r#"<li><a class="button" href="./viewtopic.php?t=10&amp;start=15&amp;sid=4f0c1d2e9a" role="button">2</a></li><li><a class="button" href="./viewtopic.php?t=10&amp;start=30&amp;sid=4f0c1d2e9a" role="button">3</a></li>"#,
        )
        .replace("p=120&amp;sid=4f0c1d2e9a#p120", "p=131&amp;sid=4f0c1d2e9a#p131")
        .replace("2026-03-10T08:41:00+00:00", "2026-03-10T10:00:00+00:00");
    assert!(list.contains("start=30") && list.contains("p131"));
    srv.set("/viewforum.php", html(list.into_bytes()));
    let p2 = text(fixture("phpbb_topic_10_p2.html"));
    let start = p2.find("<div id=\"p120\"").unwrap();
    let end = p2.find("</body>").unwrap();
    let post = |id: u32| {
        p2[start..end]
            .replace("120", &id.to_string())
            .replace("Même problème", &format!("Réponse {id}"))
    };
    let page2 = format!("{}{}{}", &p2[..end], post(121), &p2[end..]);
    let page3 = format!(
        "{}{}{}{}",
        p2[..start].replace(
            "<head>",
            r#"<head><link rel="prev" href="./viewtopic.php?t=10&amp;start=15&amp;sid=4f0c1d2e9a" />"#
        ),
        post(130),
        post(131),
        &p2[end..]
    );
    srv.set_when(
        "/viewtopic.php",
        &[("t", "10"), ("start", "15")],
        html(page2.into_bytes()),
    );
    srv.set_when(
        "/viewtopic.php",
        &[("t", "10"), ("start", "30")],
        html(page3.into_bytes()),
    );
    let before = srv.requests("/viewtopic.php").len();
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 3), "{r:?}");
    let read: Vec<String> = srv.requests("/viewtopic.php")[before..]
        .iter()
        .map(|r| {
            r.query
                .get("start")
                .cloned()
                .unwrap_or_else(|| "first".into())
        })
        .collect();
    assert_eq!(
        read,
        ["first", "30", "15"],
        "first page, last page, then back one"
    );
    let texts: Vec<String> = indexed(&setup).into_iter().map(|m| m.text).collect();
    for id in [121, 130, 131] {
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with(&format!("Réponse {id}"))),
            "{texts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xenforo_vbulletin4_and_vbulletin5_presets() {
    let srv = FeedServer::start().await;
    srv.set("/xf/forums/conso.4/", html(fixture("xenforo_list.html")));
    srv.set(
        "/threads/acme-bouilloire-remboursement.4521/",
        html(fixture("xenforo_thread.html")),
    );
    srv.set(
        "/threads/acme-bouilloire-remboursement.4521/page-2",
        html(b"<html><body></body></html>".to_vec()),
    );
    let host = srv.addr.to_string();
    let sub = |b: Vec<u8>| {
        let s = String::from_utf8_lossy(&b).to_string();
        let _ = s;
        let mut out = Vec::new();
        let needle = b"HOST";
        let mut i = 0;
        while i < b.len() {
            if b[i..].starts_with(needle) {
                out.extend_from_slice(host.as_bytes());
                i += needle.len();
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    };
    // vBulletin 4 pages declare ISO-8859-1 and contain windows-1252 bytes (€, ’).
    srv.set("/vb4/forumdisplay.php", html(sub(fixture("vb4_list.html"))));
    srv.set("/vb4/showthread.php", html(sub(fixture("vb4_thread.html"))));
    srv.set("/forum/conso", html(fixture("vb5_list.html")));
    srv.set(
        "/forum/conso/7700-globex-et-acme-comparatif",
        html(fixture("vb5_thread.html")),
    );
    let setup = Setup::new();
    let mut cfg = base_config();
    for (id, engine, base, list) in [
        ("xf", "xenforo2", srv.url("/"), "xf/forums/conso.4/"),
        (
            "vb4",
            "vbulletin4",
            srv.url("/vb4/"),
            "forumdisplay.php?f=3",
        ),
        ("vb5", "vbulletin5", srv.url("/"), "forum/conso"),
    ] {
        cfg.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nkind = \"forum\"\nengine = \"{engine}\"\nbase_url = \"{base}\"\nforums = [\"{list}\"]\ntimezone = \"Europe/Paris\"\nlocale = \"fr\"\nallow_private = true\nbackfill = \"36500d\"\n"
        ));
    }
    setup.write(&cfg);
    let r = run_once(setup.load()).await;
    assert_eq!(r.failures, 0, "{r:?}");
    let m = indexed(&setup);
    let by = |id: &str| {
        m.iter()
            .find(|m| m.native_id.as_deref().unwrap().ends_with(id))
            .unwrap_or_else(|| {
                panic!(
                    "{id} in {:?}",
                    m.iter().map(|m| &m.native_id).collect::<Vec<_>>()
                )
            })
    };
    // XenForo: author from data-author, offset without colon, quote excluded, title without prefix label.
    let x1 = by(":88001");
    assert_eq!(x1.author.as_deref(), Some("kettle_fan"));
    assert_eq!(x1.published_at.to_rfc3339(), "2026-03-09T09:00:00+00:00");
    assert_eq!(
        x1.text,
        "Acme refuse de me rembourser ma bouilloire rappelée. Quelqu'un a réussi ?"
    );
    assert!(
        x1.title
            .ends_with("Acme : bouilloire rappelée, remboursement ?"),
        "{}",
        x1.title
    );
    let x2 = by(":88002");
    assert_eq!(x2.text, "Envoyez une mise en demeure, ça marche.");
    assert_eq!(
        x2.url,
        format!(
            "{}threads/acme-bouilloire-remboursement.4521/post-88002#post-88002",
            srv.url("/")
        )
    );
    // vBulletin 4: windows-1252, relative French dates in the board's time zone, <base href>.
    let v1 = by(":51001");
    assert_eq!(
        v1.text,
        "Ma bouilloire Acme fuit, le prix était 89 € et l’entreprise ne répond pas. Honteux."
    );
    assert_eq!(v1.author.as_deref(), Some("Sophie"));
    let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    let yesterday = (Utc::now().with_timezone(&paris).date_naive() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        v1.published_at
            .with_timezone(&paris)
            .to_rfc3339()
            .starts_with(&format!("{yesterday}T18:05:00")),
        "{}",
        v1.published_at
    );
    assert!(
        v1.url.starts_with(&format!(
            "{}showthread.php?3301-Acme-la-bouilloire-qui-fuit&p=51001",
            srv.url("/vb4/")
        )),
        "{}",
        v1.url
    );
    let v2 = by(":51002");
    assert_eq!(
        v2.text, "Pareil chez moi, j’ai écrit au service client d’Acme.",
        "quote container excluded"
    );
    // vBulletin 5: datetime without offset, in the board's time zone.
    let v5 = by(":7701");
    assert_eq!(v5.author.as_deref(), Some("lucie"));
    assert_eq!(v5.published_at.to_rfc3339(), "2026-03-10T08:30:00+00:00");
    assert_eq!(v5.title, "Globex et Acme : comparatif");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_test_reports_selectors_that_matched_nothing() {
    let srv = FeedServer::start().await;
    srv.set("/viewforum.php", html(fixture("phpbb_list.html")));
    // A theme that renamed the post container: nothing matches.
    srv.set(
        "/viewtopic.php",
        html(b"<html><body><div class='message'>Acme</div></body></html>".to_vec()),
    );
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"gourmand\"\nkind = \"forum\"\nengine = \"phpbb3\"\nbase_url = \"{}\"\nforums = [\"viewforum.php?f=2\"]",
        srv.url("/")
    )));
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
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{s}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(s.contains("post selector matched nothing"), "{s}");

    // With the real theme: what each post yields — date, title, author, link, first words.
    srv.set_when(
        "/viewtopic.php",
        &[("t", "10")],
        html(fixture("phpbb_topic_10.html")),
    );
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
            // Times are shown in the system's zone, with its name.
            .env("TZ", "UTC")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "2026-03-08 17:05 UTC  Bouilloire Acme : SAV injoignable",
        "by margaux_l",
        "viewtopic.php?p=101#p101",
        "Ma bouilloire Acme ne chauffe plus",
        "acme",
    ] {
        assert!(s.contains(expected), "missing {expected:?} in\n{s}");
    }
    assert!(!s.contains("sid="), "{s}");
    // Nothing was stored.
    assert!(
        !setup.path().join("data/state.sqlite").exists()
            || source_row(&setup, "gourmand").last_success.is_none()
    );
}

/// Discourse search: posts joined with their topics (title, slug), the blurb's highlight
/// markup and entities turned into plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discourse_search_joins_posts_and_topics() {
    let srv = FeedServer::start().await;
    srv.json(
        "/search.json",
        json!({
            "posts": [{"id": 901, "name": "Léa", "username": "lea_r", "created_at": iso(20),
                "like_count": 3, "blurb": "mon <span class=\"search-highlight\">Acme</span> refuse le remboursement, c&#39;est honteux",
                "post_number": 4, "topic_id": 77}],
            "topics": [{"id": 77, "title": "SAV Acme : retours d'expérience", "fancy_title": "SAV Acme : retours d&rsquo;expérience",
                "slug": "sav-acme-retours", "posts_count": 12}],
            "grouped_search_result": {"more_posts": null, "term": "acme"}
        }),
    );
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"disc\"\nkind = \"discourse\"\nbase_url = \"{}\"\nlatest = false\nquery = \"acme\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 1), "{r:?}");
    let m = &indexed(&setup)[0];
    assert_eq!(m.title, "SAV Acme : retours d'expérience");
    assert_eq!(m.text, "mon Acme refuse le remboursement, c'est honteux");
    assert_eq!(m.url, format!("{}t/sav-acme-retours/77/4", srv.url("/")));
    assert_eq!(m.author.as_deref(), Some("lea_r"));
    // Polled again: the same post is not indexed twice.
    let r = run_once(setup.load()).await;
    assert_eq!(r.new_mentions, 0);
}
