//! Every forum preset against pages shaped like that engine's own templates (see
//! tests/data/forums/README.md for where each shape comes from), served by the loopback
//! fixture server and read through a real daemon run: posts, authors, dates (absolute and
//! relative, in the board's time zone), quotes left out, the page holding the last post.

mod common;

use chrono::{NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use common::*;

/// A date as the test expects it.
enum When {
    /// RFC 3339 in UTC.
    At(&'static str),
    /// Yesterday at this local time, in the board's time zone.
    Yesterday(&'static str),
}

/// A page of the fixture server: path, query it must carry, and a file (or, for a
/// redirect, the Location).
type Page = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// One expected post: id suffix, author, date, text.
type Expect = (&'static str, &'static str, When, &'static str);

struct Engine {
    engine: &'static str,
    dir: &'static str,
    /// Path of the forum root on the fixture server, and the topic list under it.
    base: &'static str,
    list: &'static str,
    timezone: &'static str,
    locale: &'static str,
    /// (path, query that must be present, file in `dir`)
    pages: &'static [Page],
    /// (path, query, Location): "go to last post" links that redirect.
    redirects: &'static [Page],
    /// Posts expected in all, and the title of the topic.
    count: usize,
    title: &'static str,
    /// The first post, a reply quoting it (the text without the quote), and the post on
    /// the topic's last page.
    first: Expect,
    quoting: Expect,
    last_page: Expect,
}

fn fixture(dir: &str, name: &str, host: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/forums")
        .join(dir)
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8(bytes)
        .expect("fixtures are UTF-8")
        .replace("HOST", host)
        .into_bytes()
}

fn expected_date(w: &When, tz: Tz) -> String {
    match w {
        When::At(s) => s.to_string(),
        When::Yesterday(hm) => {
            let day = Utc::now().with_timezone(&tz).date_naive() - chrono::Duration::days(1);
            let t = NaiveTime::parse_from_str(hm, "%H:%M").unwrap();
            tz.from_local_datetime(&day.and_time(t))
                .earliest()
                .unwrap()
                .with_timezone(&Utc)
                .to_rfc3339()
        }
    }
}

async fn check(e: &Engine) {
    let srv = FeedServer::start().await;
    let host = srv.addr.to_string();
    for (path, when, file) in e.pages {
        srv.set_when(
            path,
            when,
            Route::ok("text/html; charset=utf-8", fixture(e.dir, file, &host)),
        );
    }
    for (path, when, to) in e.redirects {
        let mut r = Route::status(302);
        r.headers = vec![("Location".into(), srv.url(to))];
        srv.set_when(path, when, r);
    }
    let setup = Setup::new();
    // The pages were saved years ago: the first poll's look-back reaches them.
    setup.write(&with_source(&format!(
        "id = \"{id}\"\nkind = \"forum\"\nengine = \"{engine}\"\nbase_url = \"{base}\"\nforums = [\"{list}\"]\ntimezone = \"{tz}\"\nlocale = \"{locale}\"\nbackfill = \"36500d\"",
        id = e.dir,
        engine = e.engine,
        base = srv.url(e.base),
        list = e.list,
        tz = e.timezone,
        locale = e.locale,
    )));
    let r = run_once(setup.load()).await;
    let s = &r.per_source[e.dir];
    assert_eq!((r.failures, s.failed_pages), (0, 0), "{}: {r:?}", e.engine);
    let m = indexed(&setup);
    let ids: Vec<&str> = m.iter().map(|m| m.native_id.as_deref().unwrap()).collect();
    assert_eq!(m.len(), e.count, "{}: {ids:?}", e.engine);
    let tz: Tz = e.timezone.parse().unwrap();
    for (id, author, when, text) in [&e.first, &e.quoting, &e.last_page] {
        let p = m
            .iter()
            .find(|m| m.native_id.as_deref().unwrap().ends_with(id))
            .unwrap_or_else(|| panic!("{}: no post {id} in {ids:?}", e.engine));
        assert_eq!(
            p.author.as_deref(),
            Some(*author),
            "{}: author of {id}",
            e.engine
        );
        assert_eq!(
            p.published_at.to_rfc3339(),
            expected_date(when, tz),
            "{}: date of {id}",
            e.engine
        );
        assert_eq!(p.text, *text, "{}: text of {id}", e.engine);
        assert_eq!(p.title, e.title, "{}: title of {id}", e.engine);
        assert!(p.url.starts_with("http://"), "{}: {}", e.engine, p.url);
        assert!(
            !p.url.contains("sid=") && !p.url.contains("&s="),
            "{}: session id in {}",
            e.engine,
            p.url
        );
    }
    // Polled again: the list did not move, nothing is read twice.
    let r = run_once(setup.load()).await;
    assert_eq!((r.failures, r.new_mentions), (0, 0), "{}: {r:?}", e.engine);
    assert_eq!(indexed(&setup).len(), e.count, "{}", e.engine);
}

macro_rules! engines {
    ($($test:ident => $e:expr;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                check(&$e).await;
            }
        )*
    };
}

const EN_FIRST: &str = "My Acme kettle lost its lid after a week. Support never answered.";
const EN_REPLY: &str = "Same here, Acme replaced mine after two letters.";
const EN_LAST: &str = "Globex kettles have the same lid problem, by the way.";
const EN_TITLE: &str = "Acme kettle: lid broke after a week";

engines! {
    phpbb2_subsilver => Engine {
        engine: "phpbb2",
        dir: "phpbb2",
        base: "/phpbb2/",
        list: "viewforum.php?f=1",
        timezone: "America/New_York",
        locale: "en",
        pages: &[
            ("/phpbb2/viewforum.php", &[], "list.html"),
            ("/phpbb2/viewtopic.php", &[("t", "5")], "topic.html"),
            ("/phpbb2/viewtopic.php", &[("p", "203")], "topic_p2.html"),
        ],
        redirects: &[],
        count: 3,
        title: EN_TITLE,
        first: (":201", "jakob", When::At("2019-05-26T20:34:00+00:00"), EN_FIRST),
        // The signature after the "_________________" line is left out too.
        quoting: (":202", "lena", When::At("2019-05-26T22:02:00+00:00"), EN_REPLY),
        last_page: (":203", "marta", When::At("2019-05-27T13:00:00+00:00"), EN_LAST),
    };
    phpbb30_prosilver => Engine {
        engine: "phpbb30",
        dir: "phpbb30",
        base: "/p30/",
        list: "viewforum.php?f=2",
        timezone: "Europe/London",
        locale: "en",
        pages: &[
            ("/p30/viewforum.php", &[], "list.html"),
            ("/p30/viewtopic.php", &[("t", "7")], "topic.html"),
            ("/p30/viewtopic.php", &[("t", "7"), ("p", "303")], "topic_p2.html"),
        ],
        redirects: &[],
        count: 3,
        title: EN_TITLE,
        // "by Jakob » Sun May 26, 2019 4:34 pm"
        first: (":301", "Jakob", When::At("2019-05-26T15:34:00+00:00"), EN_FIRST),
        quoting: (":302", "lena", When::At("2019-05-26T17:02:00+00:00"), EN_REPLY),
        last_page: (":303", "marta", When::At("2019-05-27T08:00:00+00:00"), EN_LAST),
    };
    xenforo1 => Engine {
        engine: "xenforo1",
        dir: "xenforo1",
        base: "/xf1/",
        list: "forums/appliances.4/",
        timezone: "America/New_York",
        locale: "en",
        pages: &[
            ("/xf1/forums/appliances.4/", &[], "list.html"),
            ("/xf1/threads/acme-kettle-lid-broke-after-a-week.9120/", &[], "topic.html"),
            ("/xf1/threads/acme-kettle-lid-broke-after-a-week.9120/page-2", &[], "topic_p2.html"),
        ],
        redirects: &[],
        count: 3,
        title: "Support Acme kettle: lid broke after a week",
        // An old post: `<span class="DateTime" title="Apr 3, 2018 at 12:50 PM">` (New York).
        first: (":61001", "jakob", When::At("2018-04-03T16:50:00+00:00"), EN_FIRST),
        // A recent one: `<abbr class="DateTime" data-time="…">`.
        quoting: (":61002", "lena", When::At("2018-04-03T19:50:00+00:00"), EN_REPLY),
        last_page: (":61003", "marta", When::At("2018-04-05T13:30:00+00:00"), EN_LAST),
    };
    vbulletin3 => Engine {
        engine: "vbulletin3",
        dir: "vbulletin3",
        base: "/vb3/",
        list: "forumdisplay.php?f=3",
        timezone: "America/New_York",
        locale: "en",
        pages: &[
            ("/vb3/forumdisplay.php", &[], "list.html"),
            ("/vb3/showthread.php", &[("t", "44")], "topic.html"),
            ("/vb3/showthread.php", &[("p", "803")], "topic_p2.html"),
        ],
        redirects: &[],
        count: 3,
        title: EN_TITLE,
        first: (":801", "jakob", When::At("2019-05-26T20:34:00+00:00"), EN_FIRST),
        quoting: (":802", "lena", When::Yesterday("18:05"), EN_REPLY),
        last_page: (":803", "marta", When::At("2019-05-27T13:00:00+00:00"), EN_LAST),
    };
    smf2 => Engine {
        engine: "smf2",
        dir: "smf2",
        base: "/smf/",
        list: "index.php?board=1.0",
        timezone: "Europe/Paris",
        locale: "fr",
        pages: &[
            ("/smf/index.php", &[("board", "1.0")], "list.html"),
            ("/smf/index.php", &[("topic", "9.0")], "topic.html"),
            ("/smf/index.php", &[("topic", "9.2")], "topic_p2.html"),
        ],
        redirects: &[],
        count: 3,
        title: "Couvercle de bouilloire Acme",
        // "« le: 26 mai 2019 à 16:34:12 »"
        first: (":901", "margaux", When::At("2019-05-26T14:34:00+00:00"),
            "Le couvercle de ma bouilloire Acme a cassé au bout d'une semaine. Le SAV ne répond pas."),
        // "« Réponse #1 le: Hier à 18:05:40 »"
        quoting: (":902", "lena", When::Yesterday("18:05"),
            "Pareil, Acme a fini par la remplacer après deux courriers."),
        last_page: (":903", "marta", When::At("2019-05-27T07:00:00+00:00"),
            "Les bouilloires Globex ont le même défaut de couvercle."),
    };
    mybb => Engine {
        engine: "mybb",
        dir: "mybb",
        base: "/mybb/",
        list: "forumdisplay.php?fid=2",
        timezone: "Europe/London",
        locale: "en",
        pages: &[
            ("/mybb/forumdisplay.php", &[], "list.html"),
            ("/mybb/showthread.php", &[("tid", "30")], "topic.html"),
            ("/mybb/showthread.php", &[("tid", "30"), ("page", "2")], "topic_p2.html"),
        ],
        // "Last Post" goes through action=lastpost, which redirects to the page.
        redirects: &[("/mybb/showthread.php", &[("tid", "30"), ("action", "lastpost")], "/mybb/showthread.php?tid=30&page=2")],
        count: 3,
        title: EN_TITLE,
        first: (":3001", "jakob", When::At("2019-05-26T15:34:00+00:00"), EN_FIRST),
        // `<span title="05-25-2019">Yesterday</span>, 06:02 PM`
        quoting: (":3002", "lena", When::Yesterday("18:02"), EN_REPLY),
        // `<span title="05-27-2019, 09:00 AM">2 hours ago</span>`
        last_page: (":3003", "marta", When::At("2019-05-27T08:00:00+00:00"), EN_LAST),
    };
    invision => Engine {
        engine: "invision",
        dir: "invision",
        base: "/ips/",
        list: "forum/4-appliances/",
        timezone: "UTC",
        locale: "en",
        pages: &[
            ("/ips/forum/4-appliances/", &[], "list.html"),
            ("/ips/topic/88-acme-kettle-lid-broke-after-a-week/", &[], "topic.html"),
            ("/ips/topic/88-acme-kettle-lid-broke-after-a-week/page/2/", &[], "topic_p2.html"),
        ],
        redirects: &[("/ips/topic/88-acme-kettle-lid-broke-after-a-week/", &[("do", "getLastComment")], "/ips/topic/88-acme-kettle-lid-broke-after-a-week/page/2/")],
        count: 3,
        title: EN_TITLE,
        first: (":5001", "jakob", When::At("2019-05-26T14:34:00+00:00"), EN_FIRST),
        quoting: (":5002", "lena", When::At("2019-05-26T16:02:00+00:00"), EN_REPLY),
        last_page: (":5003", "marta", When::At("2019-05-27T07:00:00+00:00"), EN_LAST),
    };
    nodebb => Engine {
        engine: "nodebb",
        dir: "nodebb",
        base: "/nodebb/",
        list: "category/4/appliances",
        timezone: "UTC",
        locale: "en",
        pages: &[
            ("/nodebb/category/4/appliances", &[], "list.html"),
            ("/nodebb/topic/88/acme-kettle-lid-broke-after-a-week", &[], "topic.html"),
            ("/nodebb/topic/88/acme-kettle-lid-broke-after-a-week/3", &[], "topic_p2.html"),
        ],
        redirects: &[],
        count: 3,
        title: EN_TITLE,
        first: (":8801", "jakob", When::At("2019-05-26T14:34:00+00:00"), EN_FIRST),
        quoting: (":8802", "lena", When::At("2019-05-26T16:02:00+00:00"), EN_REPLY),
        last_page: (":8803", "marta", When::At("2019-05-27T07:00:00+00:00"), EN_LAST),
    };
    // Served to a client without JavaScript inside `<noscript>`; the list has no link to
    // the last page, so the topic is read forward (rel="next").
    discourse_noscript => Engine {
        engine: "discourse",
        dir: "discourse",
        base: "/disc/",
        list: "latest",
        timezone: "UTC",
        locale: "en",
        pages: &[
            ("/disc/latest", &[], "list.html"),
            ("/disc/t/acme-kettle-lid-broke-after-a-week/88", &[("page", "2")], "topic_p2.html"),
            ("/disc/t/acme-kettle-lid-broke-after-a-week/88", &[], "topic.html"),
        ],
        redirects: &[],
        count: 3,
        title: EN_TITLE,
        first: ("88#1", "jakob", When::At("2019-05-26T14:34:00+00:00"), EN_FIRST),
        quoting: ("88#2", "lena", When::At("2019-05-26T16:02:00+00:00"), EN_REPLY),
        // An older crawler view: the date only as text ("May 27, 2019,  7:00am").
        last_page: ("88#3", "marta", When::At("2019-05-27T07:00:00+00:00"), EN_LAST),
    };
}
