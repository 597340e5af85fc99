//! The delivery promise under SIGKILL (issue 12): the real binary is killed at random
//! points of `veille run --once` — fetching, ingesting, delivering — again and again while
//! a feed serves new items, a (slow) webhook receiver and the real SMTP server receive.
//! Nothing may be lost; copies may arrive (a kill between the receiver's acceptance and
//! the outbox's record), and each carries its original's key.
//!
//! Prints its figures: `cargo test --test crash -- --nocapture`. `VEILLE_CRASH_KILLS`
//! sets the number of kills (default 20; the model is 50) and
//! `VEILLE_CRASH_SEED` the random seed.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// New items per feed request, and how many the feed shows at once.
const NEW_PER_POLL: usize = 3;
const WINDOW: usize = 45;
const RESPONSES: usize = 400;

const WORDS: &[&str] = &[
    "service",
    "client",
    "colis",
    "retard",
    "remboursement",
    "facture",
    "magasin",
    "livraison",
    "panne",
    "garantie",
    "écran",
    "batterie",
    "promesse",
    "vendeur",
    "commande",
    "avis",
    "qualité",
    "prix",
    "attente",
    "téléphone",
    "réponse",
    "courrier",
    "agence",
    "contrat",
    "abonnement",
    "résiliation",
    "erreur",
    "compte",
    "carte",
    "appli",
    "mise",
    "jour",
    "bug",
    "serveur",
    "rupture",
    "stock",
    "produit",
    "rappel",
    "sécurité",
    "fuite",
    "données",
    "mot",
    "passe",
    "support",
    "ticket",
    "semaine",
    "mois",
    "hier",
    "matin",
    "soir",
    "voisin",
    "famille",
    "cadeau",
    "noël",
    "soldes",
    "ville",
    "quartier",
    "train",
];

/// The text of item `n`: the brand and words drawn for it alone (no two items are
/// near-copies, so each is its own story and its own incident).
fn item_text(n: usize, seed: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let words: Vec<&str> = (0..14).map(|_| WORDS[rng.usize(..WORDS.len())]).collect();
    format!("Acme {n} {}", words.join(" "))
}

/// Response `i` of the feed: items `max(1, 3i-44)..=3i`, newest first; response 0 is empty.
fn response(i: usize, seed: u64) -> Route {
    let last = i * NEW_PER_POLL;
    let first = last.saturating_sub(WINDOW - 1).max(1);
    let items: Vec<(String, String, String, String)> = (first..=last)
        .rev()
        .map(|n| {
            (
                format!("Acme {n}"),
                format!("https://news.example/{n}"),
                item_text(n, seed),
                ago(1),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str, &str)> = items
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
        .collect();
    Route::rss(rss(&refs))
}

fn veille(config: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_veille"));
    c.args(["run", "--once", "--config", config.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    head.split("\r\n")
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim().to_string())
}

/// Copies by key: (messages, distinct keys, copies whose content differs from the first
/// message of their key).
fn copies<'a>(messages: impl Iterator<Item = (String, &'a str)>) -> (usize, usize, Vec<String>) {
    let mut first: HashMap<String, &str> = HashMap::new();
    let mut total = 0;
    let mut differ = Vec::new();
    for (key, content) in messages {
        total += 1;
        match first.get(&key) {
            Some(orig) if *orig != content => differ.push(key),
            Some(_) => {}
            None => {
                first.insert(key, content);
            }
        }
    }
    (total, first.len(), differ)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_nothing_and_copies_keep_their_key() {
    let kills: usize = std::env::var("VEILLE_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("VEILLE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    println!("crash test: {kills} kills, seed {seed} (VEILLE_CRASH_SEED to replay)");

    let feeds = FeedServer::start().await;
    feeds.set_seq(
        "/f.xml",
        &[],
        (0..RESPONSES).map(|i| response(i, seed)).collect(),
    );
    let hooks = WebhookReceiver::start().await;
    // A receiver that takes a moment to answer: the window in which a kill makes a copy.
    *hooks.state.delay.lock().unwrap() = Duration::from_millis(150);
    let smtp = SmtpServer::start();
    let s = Setup::new();
    s.write(
        &(base_config()
            + &rss_source("f", &feeds.url("/f.xml"))
            + &format!(
                "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{}\"\nallow_private = true\n",
                hooks.url("/h")
            )
            + &format!(
                "\n[notifier.mail]\nkind = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\nfrom = \"veille@example.org\"\nto = [\"cm@example.org\"]\n",
                smtp.port
            )),
    );
    s.rules(
        "r.toml",
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\ngroup_by = \"story\"\nnotify = [\"hook\", \"mail\"]\n",
    );
    let config = s.config_path();

    let started = Instant::now();
    // Two clean runs: the first on an empty feed (the source is known from then on), the
    // second with new items, timed: kills fall anywhere in 1.5 times a whole run (some
    // runs end before their kill).
    assert!(veille(&config).status().unwrap().success());
    let t = Instant::now();
    assert!(veille(&config).status().unwrap().success());
    let span = t.elapsed().mul_f64(1.5);

    let mut killed = 0;
    let mut finished = 0;
    while killed < kills {
        let mut child = veille(&config).spawn().unwrap();
        let at = span.mul_f64(rng.f64());
        let deadline = Instant::now() + at;
        let exited = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        match exited {
            Some(st) => {
                assert!(st.success(), "a run ended with {st}");
                finished += 1;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                killed += 1;
            }
        }
    }
    // Then runs left alone until the outbox is empty.
    for _ in 0..3 {
        let out = veille(&config).stderr(Stdio::piped()).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let took = started.elapsed();

    // Served: every item of every response the feed gave.
    let requests = feeds.requests("/f.xml").len();
    let served_last = (requests.saturating_sub(1)).min(RESPONSES - 1) * NEW_PER_POLL;
    let served: HashSet<String> = (1..=served_last)
        .map(|n| format!("https://news.example/{n}"))
        .collect();
    let indexed = indexed(&s);
    let indexed_ids: HashSet<&str> = indexed.iter().map(|m| m.id.as_str()).collect();
    let indexed_urls: HashSet<&str> = indexed.iter().map(|m| m.url.as_str()).collect();

    let st = veille::store::state::State::open(&s.path().join("data/state.sqlite")).unwrap();
    let alerts = st.alerts(100_000).unwrap();
    let alerted: HashSet<&str> = alerts
        .iter()
        .flat_map(|a| a.alert.mentions.iter().map(|m| m.url.as_str()))
        .collect();
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    let mut undelivered = Vec::new();
    for a in &alerts {
        for (n, state, _, err) in &a.deliveries {
            if state == "delivered" {
                *delivered.entry(n.clone()).or_default() += 1;
            } else {
                undelivered.push(format!("#{} {n}: {state} {err:?}", a.seq));
            }
        }
    }
    let hooks_got = hooks.on("/h");
    let (hook_total, hook_keys, hook_differ) = copies(hooks_got.iter().map(|h| {
        (
            h.headers["idempotency-key"].to_str().unwrap().to_string(),
            h.body.as_str(),
        )
    }));
    let mails: Vec<String> = smtp
        .messages()
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    // A copy's content: everything but the Date header lettre may restamp.
    let bodies: Vec<(String, String)> = mails
        .iter()
        .map(|m| {
            let id = header(m, "Message-ID").expect("a Message-ID");
            let parsed = mail_parser::MessageParser::default()
                .parse(m.as_bytes())
                .unwrap();
            let content = format!(
                "{}\n{}",
                parsed.subject().unwrap_or_default(),
                parsed.body_text(0).unwrap_or_default()
            );
            (id, content)
        })
        .collect();
    let (mail_total, mail_keys, mail_differ) =
        copies(bodies.iter().map(|(id, c)| (id.clone(), c.as_str())));
    let hook_alert_keys: HashSet<String> = hooks_got
        .iter()
        .map(|h| h.json()["alert"]["key"].as_str().unwrap().to_string())
        .collect();

    println!(
        "crash test figures ({killed} kills, each within {span:.1?} of a start; {finished} runs ended on their own; {took:.1?} in all):"
    );
    println!("  feed requests        {requests}");
    println!("  items served         {}", served.len());
    println!("  items indexed        {}", indexed.len());
    println!("  alerts raised        {}", alerts.len());
    for (n, c) in &delivered {
        println!("  delivered to {n:<8} {c}");
    }
    println!(
        "  webhook: {hook_total} received, {hook_keys} distinct Idempotency-Keys, {} duplicates",
        hook_total - hook_keys
    );
    println!(
        "  e-mail:  {mail_total} received, {mail_keys} distinct Message-IDs, {} duplicates",
        mail_total - mail_keys
    );

    // Nothing lost: served → indexed once → alerted → delivered to each channel.
    assert!(killed >= kills);
    assert!(!served.is_empty());
    assert_eq!(indexed_ids.len(), indexed.len(), "a mention indexed twice");
    let missing: Vec<&String> = served
        .iter()
        .filter(|u| !indexed_urls.contains(u.as_str()))
        .collect();
    assert!(missing.is_empty(), "served, never indexed: {missing:?}");
    assert_eq!(
        indexed.len(),
        served.len(),
        "indexed what was never served?"
    );
    let unalerted: Vec<&str> = indexed_urls
        .iter()
        .filter(|u| !alerted.contains(*u))
        .copied()
        .collect();
    assert!(
        unalerted.is_empty(),
        "indexed, never alerted: {unalerted:?}"
    );
    assert!(undelivered.is_empty(), "{undelivered:#?}");
    assert_eq!(delivered.get("hook"), Some(&alerts.len()));
    assert_eq!(delivered.get("mail"), Some(&alerts.len()));
    assert_eq!(hook_keys, alerts.len(), "one Idempotency-Key per alert");
    assert_eq!(hook_alert_keys.len(), alerts.len());
    assert_eq!(mail_keys, alerts.len(), "one Message-ID per alert");
    // Copies carry their original's key: same key, same content.
    assert!(hook_differ.is_empty(), "{hook_differ:?}");
    assert!(mail_differ.is_empty(), "{mail_differ:?}");
}
