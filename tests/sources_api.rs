//! API sources against a local server answering like the real endpoints (shapes from
//! SOURCES.md): paging over two pages, a rate-limit reply, escaping traps, and the full
//! pipeline indexing the right mentions with the right fields, once.
//!
//! Over 600 lines: one test per API source kind, each with its endpoint's fixtures inline
//! (the shapes are the point of the test, so they are read beside it).

mod common;

// Reach in the index is the source's audience (followers, subscribers, reputation)
// plus what engagement adds (Enricher::reach): hence the `+ N` below.
use chrono::Utc;
use common::*;
use serde_json::{Value, json};

fn iso(minutes_ago: i64) -> String {
    (Utc::now() - chrono::Duration::minutes(minutes_ago))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn epoch(minutes_ago: i64) -> i64 {
    (Utc::now() - chrono::Duration::minutes(minutes_ago)).timestamp()
}

fn by_title<'a>(m: &'a [veille::mention::Mention], t: &str) -> &'a veille::mention::Mention {
    m.iter()
        .find(|m| m.title.contains(t) || m.text.contains(t))
        .unwrap_or_else(|| {
            panic!(
                "no mention with {t:?} in {:?}",
                m.iter().map(|m| (&m.title, &m.text)).collect::<Vec<_>>()
            )
        })
}

// ---------------------------------------------------------------------------------------

fn status(id: u64, uri: &str, text: &str, ago: i64) -> Value {
    json!({"id": id.to_string(), "created_at": iso(ago), "spoiler_text": "", "visibility": "public", "language": "fr",
        "uri": uri, "url": format!("https://piaille.fr/@margaux_l/{id}"), "replies_count": 1, "reblogs_count": 2,
        "favourites_count": 3, "content": format!("<p>{text}</p>"),
        "account": {"acct": "margaux_l@piaille.fr", "display_name": "Margaux L.", "followers_count": 342}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_hashtags_over_two_instances_with_paging_and_rate_limit() {
    let srv = FeedServer::start().await;
    let tag = "/api/v1/timelines/tag/acme";
    let mut first = status(
        102,
        "https://piaille.fr/users/margaux_l/statuses/102",
        "Encore une <strong>arnaque</strong> chez Acme &amp; Cie",
        5,
    );
    first["spoiler_text"] = json!("boycott");
    srv.json(
        tag,
        json!([
            first,
            status(
                101,
                "https://piaille.fr/users/m/statuses/101",
                "Acme #acme",
                9
            )
        ]),
    );
    // The second instance serves the same post (same uri) and one of its own.
    srv.json(
        &format!("/i2{tag}"),
        json!([
            status(
                900,
                "https://piaille.fr/users/m/statuses/101",
                "Acme #acme",
                9
            ),
            status(
                901,
                "https://other.example/users/x/statuses/1",
                "Acme vu d'ailleurs",
                7
            )
        ]),
    );
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"masto\"\nkind = \"mastodon\"\nbase_url = \"{}\"\ninstances = [\"{}\"]\nhashtags = [\"#acme\"]",
        srv.url("/"),
        srv.url("/i2/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 3), "{r:?}");
    let m = indexed(&setup);
    let a = by_title(&m, "boycott");
    assert_eq!(a.text, "Encore une arnaque chez Acme & Cie");
    assert_eq!(a.author.as_deref(), Some("@margaux_l@piaille.fr"));
    assert_eq!(a.author_name.as_deref(), Some("Margaux L."));
    assert_eq!(
        (a.reach, a.engagement.likes, a.engagement.shares),
        (Some(342 + 60), Some(3), Some(2))
    );
    assert_eq!(a.language.as_deref(), Some("fr"));
    assert_eq!(a.source_kind, "mastodon");

    // Next poll walks forward from the newest id: a full page of 40, then the rest, then
    // the instance says its quota is spent until a reset time.
    let page: Vec<Value> = (103..143)
        .map(|i| {
            status(
                i,
                &format!("https://piaille.fr/s/{i}"),
                &format!("Acme post {i}"),
                3,
            )
        })
        .collect();
    srv.json_when(tag, &[("min_id", "102")], json!(page));
    let mut last = Route::ok(
        "application/json",
        json!([status(143, "https://piaille.fr/s/143", "Acme last", 1)]).to_string(),
    );
    let reset = (Utc::now() + chrono::Duration::minutes(20))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    last.headers = vec![
        ("X-RateLimit-Remaining".into(), "0".into()),
        ("X-RateLimit-Reset".into(), reset),
    ];
    srv.set_when(tag, &[("min_id", "142")], last);
    srv.json_when(&format!("/i2{tag}"), &[("min_id", "901")], json!([]));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 41), "{r:?}");
    assert_eq!(indexed(&setup).len(), 44);
    let due = source_row(&setup, "masto").next_due.unwrap() - Utc::now();
    assert!(
        due > chrono::Duration::minutes(19),
        "waits for the reset: {due}"
    );
    let reqs = srv.requests(tag);
    assert_eq!(reqs.last().unwrap().query["limit"], "40");
    // A 429 is an error with the wait.
    srv.set_when(tag, &[("min_id", "143")], Route::status(429));
    let r = run_once(setup.load()).await;
    assert!(
        r.per_source["masto"]
            .last_error
            .as_deref()
            .unwrap()
            .contains("rate limited (HTTP 429)")
    );
}

/// Remote posts reach an instance late, with ids from their creation time (Snowflake):
/// each poll walks again over the last ten minutes of ids, and the seen-set keeps what
/// was already indexed from coming twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_catches_late_remote_posts() {
    let sf = |minutes_ago: i64| -> u64 {
        let ms = (Utc::now() - chrono::Duration::minutes(minutes_ago)).timestamp_millis() as u64;
        ms << 16
    };
    let srv = FeedServer::start().await;
    let tag = "/api/v1/timelines/tag/acme";
    let (known, late) = (sf(5), sf(8));
    srv.json(
        tag,
        json!([status(known, "https://piaille.fr/s/known", "Acme known", 5)]),
    );
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"masto\"\nkind = \"mastodon\"\nbase_url = \"{}\"\nhashtags = [\"acme\"]",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!(r.new_mentions, 1, "{r:?}");
    // Next poll: from ten minutes before the newest id, the late post shows up (with the
    // known one again); from the newest id itself, nothing would.
    let overlap = (((known >> 16) - 600_000) << 16).to_string();
    srv.json_when(
        tag,
        &[("min_id", &overlap)],
        json!([
            status(known, "https://piaille.fr/s/known", "Acme known", 5),
            status(
                late,
                "https://remote.example/s/late",
                "Acme late remote post",
                8
            )
        ]),
    );
    srv.json_when(tag, &[("min_id", &known.to_string())], json!([]));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 1), "{r:?}");
    let m = indexed(&setup);
    assert_eq!(m.len(), 2);
    by_title(&m, "late remote post");
}

// ---------------------------------------------------------------------------------------

fn t3(name: &str, title: &str, ago: i64) -> Value {
    json!({"kind": "t3", "data": {"name": name, "title": title, "selftext": "Le SAV d'Acme <b>ne répond pas</b> & rien",
        "author": "kettle_fan", "permalink": format!("/r/france/comments/{}/acme/", &name[3..]),
        "url": format!("https://www.reddit.com/r/france/comments/{}/acme/", &name[3..]), "created_utc": epoch(ago) as f64,
        "subreddit_name_prefixed": "r/france", "subreddit_subscribers": 2400000, "score": 57, "num_comments": 12,
        "num_crossposts": 1, "ups": 57}})
}

fn listing(children: Vec<Value>, after: Option<&str>) -> Value {
    json!({"kind": "Listing", "data": {"after": after, "before": null, "dist": children.len(), "children": children}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reddit_oauth_search_paging_and_subreddit_listing() {
    let srv = FeedServer::start().await;
    srv.json(
        "/auth/api/v1/access_token",
        json!({"access_token": "tok-123", "token_type": "bearer", "expires_in": 3600}),
    );
    let mut limited = Route::ok("application/json", listing(vec![], None).to_string());
    limited.headers = vec![
        ("x-ratelimit-remaining".into(), "88.0".into()),
        ("x-ratelimit-reset".into(), "412".into()),
    ];
    srv.set("/oauth/r/france/new", limited);
    srv.json(
        "/oauth/search",
        listing(
            vec![
                t3("t3_b", "Acme <3 & kettles", 5),
                t3("t3_a", "Acme Corp rachète Globex", 30),
            ],
            Some("t3_a"),
        ),
    );
    let setup = Setup::new();
    setup.secret("id", "my-client-id\n");
    setup.secret("secret", "my-client-secret\n");
    setup.write(&with_source(&format!(
        "id = \"reddit\"\nkind = \"reddit\"\nbase_url = \"{}\"\nauth_url = \"{}\"\nusername = \"veille_bot\"\nsubreddits = [\"r/france\"]\nclient_id_file = \"secrets/id\"\nclient_secret_file = \"secrets/secret\"",
        srv.url("/oauth/"),
        srv.url("/auth/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    let a = by_title(&m, "kettles");
    assert_eq!(
        a.title, "Acme <3 & kettles",
        "raw_json=1: no HTML escapes to undo"
    );
    assert_eq!(
        a.text, "Le SAV d'Acme <b>ne répond pas</b> & rien",
        "selftext is markdown, kept as written"
    );
    assert_eq!(a.author.as_deref(), Some("u/kettle_fan"));
    assert_eq!(
        (a.reach, a.engagement.score, a.engagement.replies),
        (Some(2_400_000 + 365), Some(57), Some(12))
    );
    assert_eq!(a.url, "https://www.reddit.com/r/france/comments/b/acme/");
    // The token request, and the search as Reddit wants it.
    let tok = &srv.requests("/auth/api/v1/access_token")[0];
    assert_eq!(tok.method, "POST");
    assert_eq!(tok.body, "grant_type=client_credentials");
    assert!(
        tok.headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    let s = &srv.requests("/oauth/search")[0];
    assert_eq!(s.headers["authorization"], "bearer tok-123");
    assert_eq!(s.query["raw_json"], "1");
    assert_eq!(s.query["sort"], "new");
    assert_eq!(
        s.query["q"], "\"acme corp\" OR acme OR globex",
        "derived from the brands"
    );
    let ua = s.headers["user-agent"].to_str().unwrap();
    assert!(ua.ends_with(":veille:0.1.0 (by /u/veille_bot)"), "{ua}");

    // Next poll: two new posts on the first page, then `after` to the next page, which
    // reaches what was already seen.
    srv.json_when(
        "/oauth/search",
        &[("q", "\"acme corp\" OR acme OR globex")],
        listing(
            vec![t3("t3_d", "Acme d", 2), t3("t3_c", "Acme c", 3)],
            Some("t3_c"),
        ),
    );
    srv.json_when(
        "/oauth/search",
        &[("after", "t3_c")],
        listing(
            vec![
                t3("t3_b", "Acme <3 & kettles", 5),
                t3("t3_a", "Acme Corp rachète Globex", 30),
            ],
            Some("t3_a"),
        ),
    );
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    assert!(
        srv.requests("/oauth/search")
            .iter()
            .any(|q| q.query.get("after").map(String::as_str) == Some("t3_c"))
    );
    assert!(
        !srv.requests("/oauth/search")
            .iter()
            .any(|q| q.query.get("after").map(String::as_str) == Some("t3_a")),
        "stopped at the known post"
    );
    assert_eq!(indexed(&setup).len(), 4);

    // The quota spent (Reddit's float remaining, seconds to the reset; then a 429): the
    // source waits for the reset instead of calling again.
    let mut spent = Route::ok("application/json", listing(vec![], None).to_string());
    spent.headers = vec![
        ("x-ratelimit-remaining".into(), "0.0".into()),
        ("x-ratelimit-used".into(), "100".into()),
        ("x-ratelimit-reset".into(), "412".into()),
    ];
    srv.set("/oauth/r/france/new", spent);
    run_once(setup.load()).await;
    let due = source_row(&setup, "reddit").next_due.unwrap() - Utc::now();
    assert!(
        due > chrono::Duration::seconds(400),
        "waits for the reset: {due}"
    );
    let mut refused = Route::ok(
        "application/json",
        r#"{"message": "Too Many Requests", "error": 429}"#,
    );
    refused.status = 429;
    refused.headers = vec![
        ("x-ratelimit-reset".into(), "300".into()),
        ("x-ratelimit-remaining".into(), "0".into()),
    ];
    srv.set("/oauth/r/france/new", refused);
    let r = run_once(setup.load()).await;
    let err = r.per_source["reddit"]
        .last_error
        .clone()
        .unwrap_or_default();
    assert!(err.contains("rate limited (HTTP 429)"), "{err}");
}

// ---------------------------------------------------------------------------------------

fn hit(id: u64, title: Option<&str>, comment: Option<&str>, at: i64) -> Value {
    json!({"objectID": id.to_string(), "created_at": chrono::DateTime::from_timestamp(at, 0).unwrap().to_rfc3339(), "created_at_i": at, "author": "pg_fan",
        "title": title, "story_title": "Globex raises prices", "comment_text": comment, "points": title.map(|_| 42),
        "num_comments": title.map(|_| 7), "_tags": [if title.is_some() {"story"} else {"comment"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hackernews_two_pages_then_watermark() {
    let srv = FeedServer::start().await;
    let p = "/api/v1/search_by_date";
    let (t5, t9) = (epoch(5), epoch(9));
    srv.json_when(p, &[("page", "0")], json!({"hits": [hit(2, Some("Globex raises prices"), None, t5)], "nbHits": 2, "page": 0, "nbPages": 2, "hitsPerPage": 1}));
    srv.json_when(p, &[("page", "1")], json!({"hits": [hit(1, None, Some("<p>Globex&#x27;s support is a scam &#x2F; avoid</p>"), t9)], "nbHits": 2, "page": 1, "nbPages": 2, "hitsPerPage": 1}));
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"hn\"\nkind = \"hackernews\"\nbase_url = \"{}\"\nbrands = [\"globex\"]",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    let c = by_title(&m, "scam");
    assert_eq!(c.text, "Globex's support is a scam / avoid");
    assert_eq!(c.title, "Globex raises prices");
    assert_eq!(c.url, "https://news.ycombinator.com/item?id=1");
    let s = by_title(&m, "raises");
    assert_eq!(
        (s.engagement.score, s.engagement.replies),
        (Some(42), Some(7))
    );
    let q = &srv.requests(p)[0].query;
    assert_eq!(
        (q["query"].as_str(), q["tags"].as_str()),
        ("globex", "(story,comment)")
    );
    // The next poll asks from the watermark minus the overlap; the same hits are not new.
    run_once(setup.load()).await;
    let last = srv.requests(p).last().unwrap().query.clone();
    assert_eq!(
        last["numericFilters"],
        format!("created_at_i>={}", t5 - 600)
    );
    assert_eq!(indexed(&setup).len(), 2);
}

/// A burst longer than the page limit is read over several polls: the walk resumes where
/// it stopped, down to the old watermark, before the watermark moves — the oldest items of
/// the burst are not skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hackernews_burst_beyond_the_page_limit_resumes_next_poll() {
    let srv = FeedServer::start().await;
    let p = "/api/v1/search_by_date";
    // Seven pages of one hit each, newest first.
    let newest = epoch(5);
    for page in 0..7u64 {
        let t = newest - 60 * page as i64;
        srv.json_when(p, &[("page", &page.to_string())], json!({"hits": [hit(100 + page, Some(&format!("Globex story {page}")), None, t)], "nbHits": 7, "page": page, "nbPages": 7, "hitsPerPage": 1}));
    }
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"hn\"\nkind = \"hackernews\"\nbase_url = \"{}\"\nbrands = [\"globex\"]",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 5), "{r:?}");
    let first_filter = srv.requests(p)[0].query["numericFilters"].clone();
    // Next poll: pages 5 and 6 of the same walk (same window), not page 0 again.
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let reqs = srv.requests(p);
    let second: Vec<&str> = reqs[5..].iter().map(|r| r.query["page"].as_str()).collect();
    assert_eq!(second, ["5", "6"]);
    // The same window (on a first poll, "the last day" moved by the seconds between polls).
    let floor = |f: &str| {
        f.trim_start_matches("created_at_i>=")
            .parse::<i64>()
            .unwrap()
    };
    assert!(
        reqs[5..]
            .iter()
            .all(|r| (floor(&r.query["numericFilters"]) - floor(&first_filter)).abs() < 60)
    );
    assert_eq!(indexed(&setup).len(), 7);
    // The walk done, the watermark moves to the newest story: a fresh walk from page 0.
    run_once(setup.load()).await;
    let last = srv.requests(p)[7].query.clone();
    assert_eq!(last["page"], "0");
    assert_eq!(
        last["numericFilters"],
        format!("created_at_i>={}", newest - 600)
    );
}

/// Regression: a rate limit on a later query of a poll dropped what the earlier queries
/// of the same poll had fetched (two idioms for a rate limit, one loop per source). Now one
/// loop for every API source: the items fetched before the limit are indexed, the poll
/// is not a failure, and the query the limit interrupted is asked again next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hackernews_rate_limit_on_a_later_query_keeps_the_earlier_items() {
    let srv = FeedServer::start().await;
    let p = "/api/v1/search_by_date";
    let t = epoch(5);
    // Every query but globex's finds one Acme story; globex's is refused.
    srv.json(p, json!({"hits": [hit(7, Some("Acme corp recalls its anvils"), None, t)], "nbHits": 1, "page": 0, "nbPages": 1, "hitsPerPage": 20}));
    let mut limited = Route::status(429);
    limited.headers = vec![("Retry-After".into(), "1".into())];
    srv.set_when(p, &[("query", "globex")], limited);
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"hn\"\nkind = \"hackernews\"\nbase_url = \"{}\"\nbrands = [\"acme\", \"globex\"]",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    let asked: Vec<String> = srv
        .requests(p)
        .iter()
        .map(|r| r.query["query"].to_string())
        .collect();
    assert_eq!(
        asked.last().map(String::as_str),
        Some("globex"),
        "{asked:?}"
    );
    assert_eq!((r.failures, r.new_mentions), (0, 1), "{r:?}");
    let kept = indexed(&setup);
    assert!(
        by_title(&kept, "anvils")
            .brands
            .iter()
            .any(|b| b.brand == "acme"),
        "{kept:?}"
    );
}

// ---------------------------------------------------------------------------------------

fn post_view(rkey: &str, did: &str, text: &str, ago: i64) -> Value {
    json!({"uri": format!("at://{did}/app.bsky.feed.post/{rkey}"), "cid": "bafy",
        "author": {"did": did, "handle": "zoe.bsky.social", "displayName": "Zoé"},
        "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": iso(ago), "langs": ["fr"]},
        "indexedAt": iso(ago), "likeCount": 3, "replyCount": 1, "repostCount": 2, "quoteCount": 0})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluesky_session_renewal_cursor_paging_and_reach() {
    let srv = FeedServer::start().await;
    srv.set_seq("/xrpc/com.atproto.server.createSession", &[], vec![
        Route::ok("application/json", json!({"accessJwt": "jwt-1", "refreshJwt": "r", "handle": "me", "did": "did:plc:me"}).to_string()),
        Route::ok("application/json", json!({"accessJwt": "jwt-2", "refreshJwt": "r", "handle": "me", "did": "did:plc:me"}).to_string()),
    ]);
    let search = "/xrpc/app.bsky.feed.searchPosts";
    let mut expired = Route::ok(
        "application/json",
        json!({"error": "ExpiredToken", "message": "Token has expired"}).to_string(),
    );
    expired.status = 400;
    srv.set_seq(search, &[], vec![
        expired,
        Route::ok("application/json", json!({"posts": [post_view("3k2", "did:plc:zoe", "Globex encore en panne 😡", 5)], "cursor": "c1"}).to_string()),
    ]);
    let mut limited = Route::ok(
        "application/json",
        json!({"posts": [post_view("3k1", "did:plc:zoe", "Globex & moi", 9)]}).to_string(),
    );
    limited.headers = vec![
        ("RateLimit-Remaining".into(), "0".into()),
        (
            "RateLimit-Reset".into(),
            (Utc::now().timestamp() + 900).to_string(),
        ),
        ("RateLimit-Policy".into(), "3000;w=300".into()),
    ];
    srv.set_when(search, &[("cursor", "c1")], limited);
    srv.json("/xrpc/app.bsky.actor.getProfiles", json!({"profiles": [{"did": "did:plc:zoe", "handle": "zoe.bsky.social", "followersCount": 1234}]}));
    let setup = Setup::new();
    setup.secret("bsky", "app-pass-word\n");
    setup.write(&with_source(&format!(
        "id = \"bsky\"\nkind = \"bluesky\"\nbase_url = \"{}\"\nidentifier = \"me.bsky.social\"\napp_password_file = \"secrets/bsky\"\nquery = \"globex\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    let p = by_title(&m, "panne");
    assert_eq!(p.url, "https://bsky.app/profile/zoe.bsky.social/post/3k2");
    assert_eq!(
        (p.reach, p.engagement.likes, p.engagement.shares),
        (Some(1234 + 60), Some(3), Some(2))
    );
    assert_eq!(p.author.as_deref(), Some("@zoe.bsky.social"));
    let logins = srv.requests("/xrpc/com.atproto.server.createSession");
    assert_eq!(logins.len(), 2, "the expired session was renewed");
    assert!(logins[0].body.contains("app-pass-word"));
    let calls = srv.requests(search);
    assert_eq!(
        calls.last().unwrap().headers["authorization"],
        "Bearer jwt-2"
    );
    assert_eq!(calls[0].query["sort"], "latest");
    assert!(calls[0].query.contains_key("since"));
    let due = source_row(&setup, "bsky").next_due.unwrap() - Utc::now();
    assert!(
        due > chrono::Duration::minutes(14),
        "RateLimit-Reset honoured: {due}"
    );
}

// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lemmy_posts_and_comments_then_its_400_rate_limit() {
    let srv = FeedServer::start().await;
    let p = "/api/v3/search";
    srv.json_when(p, &[("page", "1")], json!({"type_": "All", "communities": [], "users": [],
        "posts": [{"post": {"id": 1, "name": "Acme kettle recall", "body": "Mine **melted**", "ap_id": "https://lemmy.world/post/123", "published": iso(10)},
                   "creator": {"actor_id": "https://lemmy.world/u/anna", "name": "anna", "display_name": null}, "counts": {"score": 12, "upvotes": 14, "comments": 3}}],
        "comments": [{"comment": {"id": 9, "content": "Same, Acme refused the refund", "ap_id": "https://lemmy.ml/comment/9", "published": (Utc::now() - chrono::Duration::minutes(5)).format("%Y-%m-%dT%H:%M:%S%.6f").to_string()},
                      "post": {"name": "Acme kettle recall", "ap_id": "https://lemmy.world/post/123", "published": iso(10)},
                      "creator": {"actor_id": "https://lemmy.ml/u/bob", "name": "bob"}, "counts": {"score": 2, "child_count": 0}}]}));
    srv.json_when(
        p,
        &[("page", "2")],
        json!({"type_": "All", "posts": [], "comments": [], "communities": [], "users": []}),
    );
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"lemmy\"\nkind = \"lemmy\"\nbase_url = \"{}\"\nquery = \"acme\"",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    assert_eq!(
        by_title(&m, "refund").author.as_deref(),
        Some("https://lemmy.ml/u/bob")
    );
    assert_eq!(by_title(&m, "melted").engagement.score, Some(12));
    assert_eq!(srv.requests(p)[0].query["sort"], "New");
    // Lemmy's rate limit is a 400 with a JSON error: a rate limit, not a failure of the source.
    let mut rl = Route::ok(
        "application/json",
        json!({"error": "rate_limit_error"}).to_string(),
    );
    rl.status = 400;
    srv.set(p, rl);
    let r = run_once(setup.load()).await;
    assert!(
        r.per_source["lemmy"]
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("rate limited (HTTP 400)")
    );
    let due = source_row(&setup, "lemmy").next_due.unwrap() - Utc::now();
    assert!(due >= chrono::Duration::minutes(9), "{due}");
}

// ---------------------------------------------------------------------------------------

fn question(id: i64, title: &str, ago: i64) -> Value {
    json!({"question_id": id, "link": format!("https://stackoverflow.com/questions/{id}/x"), "title": title,
        "body": "<p>Using <code>acme::init()</code> &amp; it fails</p>", "creation_date": epoch(ago), "score": 3, "answer_count": 1,
        "tags": ["acme"], "owner": {"user_id": 42, "display_name": "J&#233;r&#244;me", "reputation": 1520, "user_type": "registered"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stackexchange_pages_backoff_and_throttle() {
    let srv = FeedServer::start().await;
    let p = "/2.3/search/advanced";
    srv.json_when(p, &[("page", "1")], json!({"items": [question(2, "Acme SDK&#39;s &quot;init&quot; crashes", 5)], "has_more": true, "quota_max": 10000, "quota_remaining": 9990}));
    srv.json_when(p, &[("page", "2")], json!({"items": [question(1, "Acme on Windows", 9)], "has_more": false, "quota_max": 10000, "quota_remaining": 9989, "backoff": 30}));
    let setup = Setup::new();
    setup.secret("se", "app-key\n");
    setup.write(&with_source(&format!("id = \"so\"\nkind = \"stackexchange\"\nbase_url = \"{}\"\nsite = \"stackoverflow\"\nquery = \"acme\"\nkey_file = \"secrets/se\"", srv.url("/"))));
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    let m = indexed(&setup);
    let q = by_title(&m, "init");
    assert_eq!(q.title, "Acme SDK's \"init\" crashes");
    assert_eq!(q.text, "Using acme::init() & it fails");
    assert_eq!(
        (q.author_name.as_deref(), q.reach),
        (Some("Jérôme"), Some(1520 + 20))
    );
    let req = &srv.requests(p)[0].query;
    assert_eq!(
        (
            req["site"].as_str(),
            req["sort"].as_str(),
            req["key"].as_str()
        ),
        ("stackoverflow", "creation", "app-key")
    );
    assert!(req.contains_key("fromdate"));
    let due = source_row(&setup, "so").next_due.unwrap() - Utc::now();
    assert!(
        due >= chrono::Duration::seconds(29),
        "backoff honoured: {due}"
    );
    // A throttle violation is a rate limit with its wait.
    let mut t = Route::ok("application/json", json!({"error_id": 502, "error_name": "throttle_violation", "error_message": "too many requests from this IP, more requests available in 7200 seconds"}).to_string());
    t.status = 400;
    srv.set(p, t);
    let r = run_once(setup.load()).await;
    assert!(
        r.per_source["so"]
            .last_error
            .as_deref()
            .unwrap()
            .contains("retry after 7200s"),
        "{:?}",
        r.per_source["so"]
    );
}

// ---------------------------------------------------------------------------------------

fn video(id: &str, title: &str, ago: i64) -> Value {
    json!({"kind": "youtube#searchResult", "etag": "e", "id": {"kind": "youtube#video", "videoId": id},
        "snippet": {"publishedAt": (Utc::now() - chrono::Duration::minutes(ago)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "channelId": "UC123", "title": title, "description": "Review &amp; test", "channelTitle": "Tech &amp; Co", "liveBroadcastContent": "none"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn youtube_pages_and_quota_exceeded() {
    let srv = FeedServer::start().await;
    let p = "/youtube/v3/search";
    srv.json(p, json!({"kind": "youtube#searchListResponse", "nextPageToken": "PAGE2", "pageInfo": {"totalResults": 2, "resultsPerPage": 1}, "items": [video("v2", "Acme kettle: it&#39;s a &quot;scam&quot;", 5)]}));
    srv.json_when(
        p,
        &[("pageToken", "PAGE2")],
        json!({"kind": "youtube#searchListResponse", "items": [video("v1", "Globex review", 9)]}),
    );
    let setup = Setup::new();
    setup.secret("yt", "AIza-secret-key\n");
    setup.write(&with_source(&format!("id = \"yt\"\nkind = \"youtube\"\nbase_url = \"{}\"\nkey_file = \"secrets/yt\"\nlanguage = \"fr\"", srv.url("/"))));
    // Without `every`, hourly: the daily quota buys 100 searches.
    assert_eq!(setup.load().sources[0].every.to_string(), "1h");
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 2), "{r:?}");
    // Two searches, 100 units each, counted in the source's saved state by YouTube's
    // day, and shown against the default budget (9,000 of the free 10,000).
    let spend = source_row(&setup, "yt")
        .state
        .quota
        .expect("quota spend saved");
    assert_eq!(spend.units, 200);
    let listing = std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["sources", "--config", setup.config_path().to_str().unwrap()])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("quota: 200 units today by this source, 200 of 9000"),
        "{listing}"
    );
    let m = indexed(&setup);
    let v = by_title(&m, "kettle");
    assert_eq!(v.title, "Acme kettle: it's a \"scam\"");
    assert_eq!(
        (v.author_name.as_deref(), v.url.as_str()),
        (Some("Tech & Co"), "https://www.youtube.com/watch?v=v2")
    );
    let q = &srv.requests(p)[0].query;
    assert_eq!(q["q"], "\"acme corp\"|acme|globex");
    assert_eq!(
        (
            q["order"].as_str(),
            q["type"].as_str(),
            q["relevanceLanguage"].as_str()
        ),
        ("date", "video", "fr")
    );
    assert!(q.contains_key("publishedAfter"));
    let mut quota = Route::ok("application/json", json!({"error": {"code": 403, "message": "The request cannot be completed because you have exceeded your quota.", "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}]}}).to_string());
    quota.status = 403;
    srv.set(p, quota);
    let r = run_once(setup.load()).await;
    let err = r.per_source["yt"].last_error.clone().unwrap();
    assert!(err.starts_with("rate limited (HTTP 403)"), "{err}");
    assert!(!err.contains("AIza"), "the key never shows");
    let due = source_row(&setup, "yt").next_due.unwrap() - Utc::now();
    assert!(
        due > chrono::Duration::minutes(1),
        "waits for the daily reset: {due}"
    );
}

/// Lemmy has no phrase syntax (its search is a substring match): a brand's phrase is sent
/// without quotes, which would otherwise be searched for literally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lemmy_phrases_are_sent_without_quotes() {
    let srv = FeedServer::start().await;
    let p = "/api/v3/search";
    srv.json(
        p,
        json!({"type_": "All", "posts": [], "comments": [], "communities": [], "users": []}),
    );
    let setup = Setup::new();
    setup.write(&with_source(&format!(
        "id = \"lemmy\"\nkind = \"lemmy\"\nbase_url = \"{}\"\nbrands = [\"acme\"]",
        srv.url("/")
    )));
    let r = run_once(setup.load()).await;
    assert_eq!(r.failures, 0, "{r:?}");
    let sent: std::collections::BTreeSet<String> = srv
        .requests(p)
        .iter()
        .map(|r| r.query["q"].clone())
        .collect();
    assert!(sent.contains("acme corp"), "{sent:?}");
    assert!(sent.iter().all(|q| !q.contains('"')), "{sent:?}");
}

/// A server that hands back the same page whatever page is asked for (seen in the wild:
/// a proxy caching without the query string, a token the API repeats) costs one more
/// request, not the page limit: a page token already fetched in the walk, or a page of
/// nothing new, ends it. With the page limit of 5, YouTube's 100 quota units per search
/// made a repeating answer cost 500 units per poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_repeating_a_page_costs_one_more_request_not_the_page_limit() {
    let srv = FeedServer::start().await;
    let yt = "/youtube/v3/search";
    srv.json(yt, json!({"kind": "youtube#searchListResponse", "nextPageToken": "PAGE2", "items": [video("v1", "Acme review", 5)]}));
    let hn = "/api/v1/search_by_date";
    srv.json(hn, json!({"hits": [hit(1, Some("Acme raises prices"), None, epoch(5))], "nbHits": 5000, "page": 0, "nbPages": 50, "hitsPerPage": 100}));
    srv.json(
        "/xrpc/com.atproto.server.createSession",
        json!({"accessJwt": "jwt", "refreshJwt": "r", "handle": "me", "did": "did:plc:me"}),
    );
    let bsky = "/xrpc/app.bsky.feed.searchPosts";
    srv.json(
        bsky,
        json!({"posts": [post_view("3k1", "did:plc:zoe", "Acme encore", 5)], "cursor": "3"}),
    );
    srv.json("/xrpc/app.bsky.actor.getProfiles", json!({"profiles": []}));
    let se = "/2.3/search/advanced";
    srv.json(se, json!({"items": [question(1, "Acme on Windows", 5)], "has_more": true, "quota_max": 10000, "quota_remaining": 9990}));
    let setup = Setup::new();
    setup.secret("yt", "AIza-secret-key\n");
    setup.secret("bsky", "app-pass-word\n");
    setup.secret("se", "app-key\n");
    let base = srv.url("/");
    let sources = [
        format!(
            "id = \"yt\"\nkind = \"youtube\"\nbase_url = \"{base}\"\nkey_file = \"secrets/yt\"\nbrands = [\"acme\"]"
        ),
        format!("id = \"hn\"\nkind = \"hackernews\"\nbase_url = \"{base}\"\nbrands = [\"acme\"]"),
        format!(
            "id = \"so\"\nkind = \"stackexchange\"\nbase_url = \"{base}\"\nsite = \"stackoverflow\"\nquery = \"acme\"\nkey_file = \"secrets/se\""
        ),
        format!(
            "id = \"bsky\"\nkind = \"bluesky\"\nbase_url = \"{base}\"\nidentifier = \"me.bsky.social\"\napp_password_file = \"secrets/bsky\"\nquery = \"acme\""
        ),
    ];
    // One config, four sources: the first through `with_source`, the others appended.
    let mut config = with_source(&sources[0]);
    for s in &sources[1..] {
        config.push_str(&format!("\n[[source]]\n{s}\nallow_private = true\n"));
    }
    setup.write(&config);
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 4), "{r:?}");
    for (path, what) in [(yt, "YouTube"), (bsky, "Bluesky"), (se, "Stack Exchange")] {
        let asked = srv.requests(path).len();
        assert_eq!(asked, 2, "{what}: {asked} requests for one repeated page");
    }
    // Hacker News searches each of the brand's terms apart: two requests for each.
    let mut per_term: std::collections::BTreeMap<String, usize> = Default::default();
    for r in srv.requests(hn) {
        *per_term.entry(r.query["query"].to_string()).or_default() += 1;
    }
    assert!(
        !per_term.is_empty() && per_term.values().all(|&n| n == 2),
        "Hacker News requests per term: {per_term:?}"
    );
    let yt_tokens: Vec<_> = srv
        .requests(yt)
        .iter()
        .map(|q| q.query.get("pageToken").cloned())
        .collect();
    assert_eq!(yt_tokens[1].as_deref(), Some("PAGE2"));
}
