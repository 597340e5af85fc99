//! The address policy through the real HTTP client: a loopback redirector points sources
//! and webhooks at each class of address — loopback, LAN, link-local and cloud metadata,
//! written as literals or behind a host name — and every connection, redirects included,
//! is decided by `allow_private`. `allow_private = true` opens loopback and LAN only; the
//! metadata service stays closed unless `"link_local"` is named.
//! (169.254.169.254 used to be followed through a redirect from an allowed source.)

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use common::*;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use veille::crawl::{AllowPrivate, CrawlConfig, FetchError, Http, Validators, fetch};
use veille::store::state::State;

const LINK_LOCAL_REFUSAL: &str = "it is a link-local or cloud-metadata address, which allow_private = true does not open; set allow_private = [\"loopback\", \"lan\", \"link_local\"] on this source or notifier to allow it";

/// Metadata endpoints and link-local addresses, as literal URLs.
const LINK_LOCAL: &[(&str, &str)] = &[
    (
        "aws",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    ),
    ("ecs", "http://169.254.170.2/v2/credentials"),
    ("v6", "http://[fe80::1]/"),
    ("awsv6", "http://[fd00:ec2::254]/latest/meta-data/"),
    ("alibaba", "http://100.100.100.200/latest/meta-data/"),
    ("mapped", "http://[::ffff:169.254.169.254]/latest/"),
    ("nat64", "http://[64:ff9b::a9fe:a9fe]/latest/"),
];

/// The redirector: `/to/NAME` answers 302 to that name's target.
fn redirect(server: &FeedServer, name: &str, target: &str) -> String {
    let mut r = Route::status(302);
    r.headers.push(("Location".into(), target.into()));
    server.set(&format!("/to/{name}"), r);
    server.url(&format!("/to/{name}"))
}

fn feed(server: &FeedServer) {
    server.set(
        "/ok.xml",
        Route::rss(rss(&[(
            "Acme reached",
            "https://ok.example/1",
            "",
            &ago(1),
        )])),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_private_true_follows_loopback_but_not_metadata_redirects() {
    let srv = FeedServer::start().await;
    feed(&srv);
    let setup = Setup::new();
    let mut cfg = base_config();
    for (name, target) in LINK_LOCAL {
        // Redirected to, and configured directly.
        cfg.push_str(&rss_source(
            &format!("via-{name}"),
            &redirect(&srv, name, target),
        ));
        cfg.push_str(&rss_source(&format!("direct-{name}"), target));
    }
    // Control: a redirect to loopback, allowed by allow_private = true.
    cfg.push_str(&rss_source(
        "via-loopback",
        &redirect(&srv, "loopback", &srv.url("/ok.xml")),
    ));
    // The same redirect without allow_private: loopback is refused.
    cfg.push_str(
        &rss_source("closed", &redirect(&srv, "closed", &srv.url("/ok.xml")))
            .replace("allow_private = true\n", ""),
    );
    setup.write(&cfg);
    let r = run_once(setup.load()).await;
    let err = |id: &str| r.per_source[id].last_error.clone().unwrap_or_default();
    for (name, target) in LINK_LOCAL {
        for id in [format!("via-{name}"), format!("direct-{name}")] {
            let e = err(&id);
            assert!(e.contains(LINK_LOCAL_REFUSAL), "{id} ({target}): {e}");
            assert!(e.contains("refusing to connect to"), "{id}: {e}");
        }
    }
    assert_eq!(err("via-loopback"), "");
    assert_eq!(r.new_mentions, 1, "{r:?}");
    assert!(
        err("closed").contains("it is a private address (loopback); set allow_private = true"),
        "{}",
        err("closed")
    );
    // The redirector was asked; nothing behind it was.
    assert_eq!(srv.requests("/ok.xml").len(), 1);
    let row = source_row(&setup, "via-aws");
    assert!(
        row.last_error
            .unwrap_or_default()
            .contains(LINK_LOCAL_REFUSAL),
        "recorded for `veille sources`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_link_local_opens_it_and_crawl_allow_private_does_not() {
    let srv = FeedServer::start().await;
    feed(&srv);
    let setup = Setup::new();
    // [crawl] allow_private = true for every source: still not link-local.
    let mut cfg = base_config().replace("[crawl]", "[crawl]\nallow_private = true");
    cfg.push_str(&format!(
        "\n[[source]]\nid = \"global\"\nkind = \"rss\"\nurl = \"{}\"\n",
        redirect(&srv, "aws", LINK_LOCAL[0].1)
    ));
    // Named explicitly: the guard lets the connection be tried (an IPv6 link-local
    // address without an interface fails at once, which is all this test needs).
    cfg.push_str(&format!(
        "\n[[source]]\nid = \"named\"\nkind = \"rss\"\nurl = \"{}\"\nallow_private = [\"loopback\", \"link_local\"]\n",
        redirect(&srv, "v6", "http://[fe80::1]:9/")
    ));
    setup.write(&cfg);
    let r = run_once(setup.load()).await;
    let err = |id: &str| r.per_source[id].last_error.clone().unwrap_or_default();
    assert!(
        err("global").contains(LINK_LOCAL_REFUSAL),
        "{}",
        err("global")
    );
    let named = err("named");
    assert!(
        named.starts_with("cannot connect") && !named.contains("refusing to connect"),
        "tried, not refused: {named}"
    );

    // Only link-local named (and nothing in [crawl]): loopback stays refused.
    let setup = Setup::new();
    setup.write(&format!(
        "{}\n[[source]]\nid = \"only-link-local\"\nkind = \"rss\"\nurl = \"{}\"\nallow_private = [\"link_local\"]\n",
        base_config(),
        srv.url("/ok.xml")
    ));
    let r = run_once(setup.load()).await;
    let e = r.per_source["only-link-local"].last_error.clone();
    assert!(
        e.as_deref()
            .unwrap_or_default()
            .contains("private address (loopback)"),
        "{e:?}"
    );
}

/// Resolves test host names to chosen addresses, as a DNS record would.
struct Names(HashMap<&'static str, IpAddr>);

impl Resolve for Names {
    fn resolve(&self, name: Name) -> Resolving {
        let ip = self.0.get(name.as_str()).copied();
        Box::pin(async move {
            let ip = ip.ok_or("no such test name")?;
            Ok(Box::new(std::iter::once(SocketAddr::new(ip, 0))) as Addrs)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_names_are_decided_on_the_address_they_resolve_to() {
    let srv = FeedServer::start().await;
    feed(&srv);
    let names = Names(HashMap::from([
        ("metadata.test", "169.254.169.254".parse().unwrap()),
        ("metadata6.test", "fd00:ec2::254".parse().unwrap()),
        ("here.test", "127.0.0.1".parse().unwrap()),
    ]));
    let http = Http::with_resolver(&CrawlConfig::default(), Some(Arc::new(names))).unwrap();
    let port = srv.addr.port();
    let get = |url: String, allow: AllowPrivate| {
        let http = http.clone();
        async move {
            let url = url::Url::parse(&url).unwrap();
            fetch::get(&http, allow, &url, &Validators::default(), "*/*").await
        }
    };
    let refused = |r: Result<fetch::Fetched, FetchError>| match r {
        Err(FetchError::PrivateAddress(e)) => e,
        other => panic!("not refused by the guard: {other:?}"),
    };
    // A name for this machine: allowed with allow_private = true only.
    assert!(
        get(
            format!("http://here.test:{port}/ok.xml"),
            AllowPrivate::PRIVATE
        )
        .await
        .is_ok()
    );
    let e = refused(
        get(
            format!("http://here.test:{port}/ok.xml"),
            AllowPrivate::NONE,
        )
        .await,
    );
    assert!(
        e.contains("refusing to connect to here.test (127.0.0.1)"),
        "{e}"
    );
    // Names for the metadata service, asked directly or through a redirect.
    for name in ["metadata.test", "metadata6.test"] {
        let e = refused(get(format!("http://{name}/latest/"), AllowPrivate::PRIVATE).await);
        assert!(e.contains(&format!("refusing to connect to {name}")), "{e}");
        assert!(e.contains(LINK_LOCAL_REFUSAL), "{e}");
        let via = redirect(&srv, name, &format!("http://{name}/latest/"));
        let e = refused(get(via, AllowPrivate::PRIVATE).await);
        assert!(e.contains(LINK_LOCAL_REFUSAL), "{e}");
    }
    // A redirect to a literal link-local address, through the same client.
    let via = redirect(&srv, "literal", "http://169.254.169.254/latest/");
    let e = refused(get(via, AllowPrivate::PRIVATE).await);
    assert!(
        e.contains("169.254.169.254") && e.contains(LINK_LOCAL_REFUSAL),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_held_to_the_same_policy() {
    let srv = FeedServer::start().await;
    srv.set(
        "/f.xml",
        Route::rss(rss(&[(
            "Scandale Acme",
            "https://s.example/1",
            "x",
            &ago(1),
        )])),
    );
    let hooks = WebhookReceiver::start().await;
    let setup = Setup::new();
    setup.secret("slack", "http://[fd00:ec2::254]/services/T0/B0/secret");
    let cfg = base_config()
        + &rss_source("f", &srv.url("/f.xml"))
        + &format!(
            "\n[notifier.redirected]\nkind = \"webhook\"\nurl = \"{}\"\nallow_private = true\n",
            redirect(&srv, "hook", "http://169.254.169.254/latest/user-data")
        )
        + "\n[notifier.direct]\nkind = \"slack\"\nurl_file = \"secrets/slack\"\nallow_private = true\n"
        + &format!(
            "\n[notifier.fine]\nkind = \"webhook\"\nurl = \"{}\"\nallow_private = true\n",
            hooks.url("/h")
        );
    setup.write(&cfg);
    setup.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nnotify = [\"redirected\", \"direct\", \"fine\"]\n",
    );
    run_once(setup.load()).await;
    // The brand's alert; beside it, `[ops]` tells that `direct` failed for good (to the
    // other notifiers, `direct` being the only one it would use by default).
    let got = hooks.on("/h");
    let crisis: Vec<_> = got
        .iter()
        .filter(|h| h.json()["alert"]["rule"] == "crisis")
        .collect();
    assert_eq!(crisis.len(), 1, "the allowed webhook got the alert");
    assert!(
        got.iter().any(|h| h.json()["alert"]["rule"] == "ops"
            && h.body.contains("notifier direct failed for good")),
        "{got:?}"
    );
    let st = State::open(&setup.path().join("data/state.sqlite")).unwrap();
    let rows = st.alerts(10).unwrap();
    let crisis = rows.iter().find(|r| r.alert.rule == "crisis").unwrap();
    let deliveries: HashMap<String, (String, Option<String>)> = crisis
        .deliveries
        .iter()
        .map(|(n, state, _, err)| (n.clone(), (state.clone(), err.clone())))
        .collect();
    for n in ["redirected", "direct"] {
        let (state, err) = &deliveries[n];
        let err = err.clone().unwrap_or_default();
        // Refused for good: retrying cannot change the address.
        assert_eq!(state, "failed", "{n}: {err}");
        assert!(err.contains(LINK_LOCAL_REFUSAL), "{n}: {err}");
    }
    assert_eq!(deliveries["fine"].0, "delivered");
}

#[test]
fn check_refuses_unknown_address_classes() {
    let s = Setup::new();
    let cfg = base_config()
        + "\n[[source]]\nid = \"a\"\nkind = \"rss\"\nurl = \"https://a.example/f.xml\"\nallow_private = [\"lan\", \"metadata\"]\n"
        + "\n[[source]]\nid = \"b\"\nkind = \"rss\"\nurl = \"https://b.example/f.xml\"\nallow_private = \"yes\"\n"
        + "\n[notifier.n]\nkind = \"webhook\"\nurl = \"https://hooks.example/x\"\nallow_private = [\"link-local\"]\n";
    let path = s.write(&cfg);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["check", "--config", path.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = |needle: &str| cfg.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let p = path.display();
    assert!(
        err.contains(&format!("{p}:{}:", line("\"metadata\"")))
            && err.contains("unknown address class `metadata` in allow_private: expected \"loopback\", \"lan\" or \"link_local\""),
        "{err}"
    );
    assert!(
        err.contains(&format!("{p}:{}:", line("\"yes\"")))
            && err.contains("a list of \"loopback\", \"lan\", \"link_local\""),
        "{err}"
    );
    assert!(err.contains("unknown address class `link-local`"), "{err}");
    // The accepted forms.
    let s = Setup::new();
    let cfg = base_config()
        + "\n[[source]]\nid = \"a\"\nkind = \"rss\"\nurl = \"https://a.example/f.xml\"\nallow_private = [\"loopback\", \"lan\", \"link_local\"]\n"
        + "\n[[source]]\nid = \"b\"\nkind = \"rss\"\nurl = \"https://b.example/f.xml\"\nallow_private = false\n";
    let path = s.write(&cfg);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["check", "--config", path.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
