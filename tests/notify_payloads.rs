//! Every notification payload, snapshotted (insta) on a hostile alert: HTML, Markdown,
//! Slack mrkdwn controls, @channel / @everyone, right-to-left overrides, very long text.
//! Each payload is also checked against its platform's documented limits, and on a huge
//! alert that must be truncated to fit.

use chrono::{TimeZone, Utc};
use veille::mention::{Label, Sentiment};
use veille::model::Severity;
use veille::model::{Alert, AlertMention, Fragment, Stats, Status};
use veille::notify::chat::{self, Flavor};
use veille::notify::view::{Locale, View};

const HOSTILE_TITLE: &str = "<script>alert(1)</script> **gras** [lien](http://evil.example) <!channel> @channel @everyone \u{202E}txet desrever";
const HOSTILE_TEXT: &str = "Vu sur <b>le forum</b> : *_~`code`~_* | > citation # titre <@U123> <users/all> &amp; @here @All ＠everyone ";

fn mention(i: usize, long: usize) -> AlertMention {
    let at = Utc
        .with_ymd_and_hms(2026, 3, 10, 8, i as u32 % 60, 0)
        .unwrap();
    AlertMention {
        id: format!("m{i}"),
        title: if i == 0 {
            HOSTILE_TITLE.into()
        } else {
            format!("Acme, mention n°{i}")
        },
        url: format!("https://news.example.com/{i}?a=1&b=<2>|x"),
        site: "news.example.com".into(),
        source: "news".into(),
        author: Some(if i == 0 {
            "@everyone".into()
        } else {
            format!("auteur{i}")
        }),
        author_name: None,
        published_at: at,
        reach: Some(1234 * (i as u64 + 1)),
        sentiment: Some(Sentiment {
            score: -0.7,
            label: Label::Negative,
            confidence: None,
        }),
        language: Some("fr".into()),
        excerpt: vec![
            Fragment {
                text: format!("{HOSTILE_TEXT}{}", "x".repeat(long)),
                hit: false,
            },
            Fragment {
                text: "Acme".into(),
                hit: true,
            },
            Fragment {
                text: " est une arnaque".into(),
                hit: false,
            },
        ],
        terms: vec!["acme".into()],
    }
}

/// A spike alert with 12 mentions behind it, 3 carried, the first hostile.
fn hostile() -> Alert {
    Alert {
        key: "acme-bad-buzz:acme::7:2".into(),
        rule: "acme-bad-buzz".into(),
        rule_kind: "spike".into(),
        brand: "acme".into(),
        brand_name: "Acme <Corp> *".into(),
        severity: Severity::Critical,
        created_at: Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap(),
        summary: "spike: 30 mentions of Acme in the last 1h, 10.0× the usual 3.0".into(),
        description: Some("Bad buzz: **answer** within the hour @channel".into()),
        mentions: (0..3).map(|i| mention(i, 0)).collect(),
        total_mentions: 12,
        status: Status::Update,
        incident: 7,
        incident_key: "acme-bad-buzz:acme::7".into(),
        group: None,
        stats: Some(Stats {
            count: 30,
            window: "1h".into(),
            expected: Some(3.0),
            negative_share: None,
            threshold: Some(15.0),
        }),
        batch: None,
        incident_summary: None,
    }
}

/// 20 mentions with 3,000-character excerpts and a 6,000-character description.
fn huge() -> Alert {
    let mut a = hostile();
    a.mentions = (0..20).map(|i| mention(i, 3000)).collect();
    a.total_mentions = 500;
    a.description = Some("d".repeat(6000));
    a
}

const FLAVORS: [Flavor; 5] = [
    Flavor::Slack,
    Flavor::Mattermost,
    Flavor::Teams,
    Flavor::Discord,
    Flavor::GoogleChat,
];

/// Text a user would see, gathered from every string of a payload.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn assert_neutralized(name: &str, p: &serde_json::Value) {
    let mut all = Vec::new();
    strings(p, &mut all);
    for s in &all {
        for ping in ["@channel", "@everyone", "@here", "@All", "＠everyone"] {
            assert!(!s.contains(ping), "{name}: mass ping {ping} left in {s:?}");
        }
        assert!(
            !s.contains('\u{202E}'),
            "{name}: RTL override left in {s:?}"
        );
        assert!(!s.contains("<script"), "{name}: raw HTML in {s:?}");
        assert!(!s.contains("<!channel>"), "{name}: Slack ping in {s:?}");
        assert!(
            !s.contains("<users/all>"),
            "{name}: Google Chat ping in {s:?}"
        );
    }
}

#[test]
fn chat_payloads() {
    let alert = hostile();
    for flavor in FLAVORS {
        for locale in [Locale::En, Locale::Fr] {
            let p = chat::payload(flavor, &alert, locale, Some("veille"), None);
            let name = format!("{}_{:?}", flavor.name(), locale).to_lowercase();
            chat::check(flavor, &p).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_neutralized(&name, &p);
            insta::assert_json_snapshot!(name, p);
        }
    }
}

#[test]
fn telegram_and_ntfy_payloads() {
    let alert = hostile();
    for locale in [Locale::En, Locale::Fr] {
        let v = View::new(&alert, locale);
        let t = chat::telegram::payload(&v, locale, "-100123");
        chat::telegram::check(&t).unwrap();
        let text = t["text"].as_str().unwrap();
        assert!(!text.contains("<script") && text.contains("&lt;script&gt;"));
        assert_neutralized("telegram", &t);
        insta::assert_json_snapshot!(format!("telegram_{locale:?}").to_lowercase(), t);
        let n = chat::ntfy::payload(&v, locale, "acme-alerts");
        chat::ntfy::check(&n).unwrap();
        assert_eq!(n["priority"], 5);
        insta::assert_json_snapshot!(format!("ntfy_{locale:?}").to_lowercase(), n);
    }
}

#[test]
fn webhook_body_and_schema() {
    let alert = hostile();
    let body = veille::notify::webhook::payload(&alert);
    insta::assert_json_snapshot!("webhook", body);
    // Every key of the body is described by the published schema.
    let schema: serde_json::Value = serde_json::from_str(veille::notify::webhook::SCHEMA).unwrap();
    let props = &schema["properties"]["alert"]["properties"];
    for key in body["alert"].as_object().unwrap().keys() {
        assert!(props.get(key).is_some(), "alert.{key} is not in the schema");
    }
    let mprops = &props["mentions"]["items"]["properties"];
    for key in body["alert"]["mentions"][0].as_object().unwrap().keys() {
        assert!(
            mprops.get(key).is_some(),
            "mention.{key} is not in the schema"
        );
    }
    for key in schema["properties"]["alert"]["required"]
        .as_array()
        .unwrap()
    {
        assert!(
            body["alert"].get(key.as_str().unwrap()).is_some(),
            "{key} missing"
        );
    }
    // Digests go through the same webhook: their body is in the schema too.
    let d = serde_json::to_value(hostile_digest(1, 3, 40)).unwrap();
    let dschema = &schema["properties"]["digest"];
    let covers = |schema: &serde_json::Value, value: &serde_json::Value, what: &str| {
        for key in value.as_object().unwrap().keys() {
            assert!(
                schema["properties"].get(key).is_some(),
                "{what}.{key} is not in the schema"
            );
        }
        for key in schema["required"].as_array().unwrap() {
            assert!(
                value.get(key.as_str().unwrap()).is_some(),
                "{what}.{key} missing"
            );
        }
    };
    covers(dschema, &d, "digest");
    let bschema = &dschema["properties"]["brands"]["items"];
    covers(bschema, &d["brands"][0], "digest.brands[]");
    for (list, what) in [
        ("top", "top[]"),
        ("share_of_voice", "share_of_voice[]"),
        ("incidents", "incidents[]"),
    ] {
        covers(
            &bschema["properties"][list]["items"],
            &d["brands"][0][list][0],
            what,
        );
    }
}

#[test]
fn email_parts() {
    let alert = hostile();
    for locale in [Locale::En, Locale::Fr] {
        let style = veille::notify::email::Style::bundled(locale, "example.org");
        let (txt, html) = veille::notify::email::render(&alert, &style).unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<b>le forum"), "mention HTML is escaped");
        assert!(!html.contains('\u{202E}') || html.contains("dir=\"auto\""));
        let subject = veille::notify::email::subject(&alert, locale);
        assert!(!subject.contains('\n') && !subject.contains('\u{202E}'));
        let l = format!("{locale:?}").to_lowercase();
        insta::assert_snapshot!(
            format!("email_txt_{l}"),
            format!("Subject: {subject}\n\n{txt}")
        );
        insta::assert_snapshot!(format!("email_html_{l}"), html);
    }
}

#[test]
fn huge_alerts_are_cut_to_every_platform_limit() {
    let alert = huge();
    for flavor in FLAVORS {
        let p = chat::payload(flavor, &alert, Locale::Fr, None, None);
        chat::check(flavor, &p).unwrap_or_else(|e| panic!("{}: {e}", flavor.name()));
        // The rest is pointed at, not dropped silently.
        let mut all = Vec::new();
        strings(&p, &mut all);
        assert!(
            all.iter().any(|s| s.contains("veille search --brand acme")),
            "{}: no pointer to the other mentions",
            flavor.name()
        );
    }
    let v = View::new(&alert, Locale::En);
    chat::telegram::check(&chat::telegram::payload(&v, Locale::En, "1")).unwrap();
    chat::ntfy::check(&chat::ntfy::payload(&v, Locale::En, "t")).unwrap();
}

#[test]
fn email_templates_can_be_overridden_and_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_dir = dir.path();
    std::fs::create_dir(cfg_dir.join("rules")).unwrap();
    std::fs::create_dir(cfg_dir.join("tpl")).unwrap();
    std::fs::write(
        cfg_dir.join("tpl/alert.txt"),
        "CUSTOM {{ v.brand }} — {{ v.why }}\n{% for m in v.mentions %}* {{ m.title }}\n{% endfor %}",
    )
    .unwrap();
    let config = |extra: &str| {
        format!(
            "[daemon]\ndata_dir = \"data\"\nrules_dir = \"rules\"\nlisten = \"\"\n\n[[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = \"acme\"\n\n[notifier.mail]\nkind = \"email\"\nsmtp_url = \"smtp://127.0.0.1:2525\"\nfrom = \"v@example.org\"\nto = [\"cm@example.org\"]\ntemplates_dir = \"tpl\"\n{extra}"
        )
    };
    let path = cfg_dir.join("veille.toml");
    std::fs::write(
        &path,
        config("list_id = \"Acme crisis <crisis.acme.example>\"\n"),
    )
    .unwrap();
    let cfg = veille::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let veille::notify::NotifierKind::Email(e) = &cfg.notifiers["mail"].kind else {
        panic!("an e-mail notifier");
    };
    let (from, to, style) = e.parts();
    let origin = veille::notify::email::Origin {
        installation: "test",
        notifier: "mail",
    };
    let msg = veille::notify::email::build_message(&hostile(), from, to, style, origin).unwrap();
    let raw = String::from_utf8(msg.formatted()).unwrap();
    assert!(
        raw.contains("List-Id: Acme crisis <crisis.acme.example>"),
        "{raw}"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.starts_with("CUSTOM Acme <Corp> *"), "{text}");
    // The HTML part is still the bundled one (only alert.txt was overridden).
    assert!(parsed.body_html(0).unwrap().contains("<mark"));

    // A template that does not compile is reported with its file and line.
    std::fs::write(
        cfg_dir.join("tpl/alert.html"),
        "<p>\n{% if v.brand %}\nno end",
    )
    .unwrap();
    std::fs::write(&path, config("")).unwrap();
    let err = veille::config::Config::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("tpl/alert.html:3: unexpected end of input"),
        "{err}"
    );
}

#[test]
fn email_ca_file_is_checked_when_the_config_loads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/ca.pem");
    let path = dir.path().join("veille.toml");
    let load = |url: &str, ca_file: &str| {
        std::fs::write(
            &path,
            format!(
                "[daemon]\ndata_dir = \"data\"\nrules_dir = \"rules\"\nlisten = \"\"\n\n[[brand]]\nid = \"acme\"\nname = \"Acme\"\nquery = \"acme\"\n\n[notifier.mail]\nkind = \"email\"\nsmtp_url = \"{url}\"\nfrom = \"v@example.org\"\nto = [\"cm@example.org\"]\nca_file = {ca_file:?}\n"
            ),
        )
        .unwrap();
        veille::config::Config::load(&path).map_err(|e| e.to_string())
    };
    let ca = ca.display().to_string();
    assert!(load("smtps://relay.example:465", &ca).is_ok());
    assert!(load("smtp://relay.example:587?tls=required", &ca).is_ok());
    let err = load("smtp://relay.example:25", &ca).unwrap_err();
    assert!(
        err.contains("veille.toml:13:12: ca_file is set but smtp_url uses no TLS"),
        "{err}"
    );
    let err = load("smtps://relay.example:465", "missing.pem").unwrap_err();
    assert!(
        err.contains("veille.toml:13:12: ca_file") && err.contains("missing.pem"),
        "{err}"
    );
    let err = load("smtps://relay.example:465", "junk.pem").unwrap_err();
    assert!(err.contains("expected PEM certificates"), "{err}");
}

fn hostile_digest(brands: usize, tops: usize, long: usize) -> veille::model::digest::DigestData {
    use veille::model::digest::{BrandDigest, DigestData, IncidentLine, Share, TopMention};
    let at = Utc.with_ymd_and_hms(2026, 3, 10, 7, 0, 0).unwrap();
    let filler = "arnaque ".repeat(long / 8);
    DigestData {
        name: "morning".into(),
        start: at - chrono::Duration::days(1),
        end: at,
        tz: chrono_tz::Tz::UTC,
        brands: (0..brands)
            .map(|i| BrandDigest {
                id: format!("b{i}"),
                name: format!("{HOSTILE_TITLE} {i}"),
                count: 40,
                stories: 25,
                previous: 10,
                previous_negative: 2,
                change: Some(300.0),
                negative: 20,
                neutral: 15,
                positive: 5,
                share_of_voice: vec![
                    Share {
                        brand: format!("{HOSTILE_TITLE} {i}"),
                        count: 40,
                        share: 0.8,
                    },
                    Share {
                        brand: "@everyone Globex".into(),
                        count: 10,
                        share: 0.2,
                    },
                ],
                top: (0..tops)
                    .map(|k| TopMention {
                        title: format!("{HOSTILE_TITLE} {filler} {k}"),
                        url: format!("https://evil.example/a?x=<b>|{k})"),
                        site: "evil.example".into(),
                        author: Some(format!("{HOSTILE_TEXT}")),
                        reach: Some(12_000),
                        sentiment: Some(Label::Negative),
                        published_at: at - chrono::Duration::hours(k as i64 % 20),
                    })
                    .collect(),
                top_sites: vec![("evil.example".into(), 12), ("<b>x</b>.example".into(), 3)],
                top_authors: vec![(HOSTILE_TEXT.into(), 5)],
                new_sites: vec!["@here.example".into()],
                new_authors: vec![HOSTILE_TITLE.into()],
                incidents: vec![IncidentLine {
                    id: 7,
                    rule: format!("{HOSTILE_TITLE} rule"),
                    opened_at: at - chrono::Duration::hours(3),
                    alerts: 4,
                    title: format!("{HOSTILE_TITLE} incident"),
                    severity: veille::model::Severity::Critical,
                    acked_by: Some(HOSTILE_TEXT.into()),
                    latest: None,
                }],
                buckets: (0..24).collect(),
                bucket: "1h".into(),
            })
            .collect(),
    }
}

/// Every digest payload on hostile text: neutralized, within each platform's limits —
/// for a small digest (snapshotted) and for a huge one that must be cut to fit.
#[test]
fn digest_payloads_are_escaped_and_fit() {
    use veille::notify::chat::{discord, googlechat, mattermost, ntfy, slack, teams, telegram};
    for (size, d) in [
        ("small", hostile_digest(1, 3, 40)),
        ("huge", hostile_digest(60, 50, 3000)),
    ] {
        let payloads = [
            (
                "slack",
                Some(Flavor::Slack),
                slack::digest_payload(&d, Locale::En),
            ),
            (
                "mattermost",
                Some(Flavor::Mattermost),
                mattermost::digest_payload(&d, Locale::En),
            ),
            (
                "teams",
                Some(Flavor::Teams),
                teams::digest_payload(&d, Locale::En),
            ),
            (
                "discord",
                Some(Flavor::Discord),
                discord::digest_payload(&d, Locale::En),
            ),
            (
                "googlechat",
                Some(Flavor::GoogleChat),
                googlechat::digest_payload(&d, Locale::En),
            ),
            (
                "telegram",
                None,
                telegram::digest_payload(&d, Locale::Fr, "-100123"),
            ),
            (
                "ntfy",
                None,
                ntfy::digest_payload(&d, Locale::Fr, "acme-digest"),
            ),
        ];
        for (name, flavor, p) in payloads {
            let what = format!("digest {name} ({size})");
            match (flavor, name) {
                (Some(f), _) => chat::check(f, &p),
                (None, "telegram") => chat::telegram::check(&p),
                _ => chat::ntfy::check(&p),
            }
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            digest_neutralized(&what, name, &p);
            if size == "small" {
                insta::assert_json_snapshot!(format!("digest_{name}"), p);
            }
        }
        if size == "huge" {
            // What was cut is said, not silently dropped.
            let s = slack::digest_payload(&d, Locale::En).to_string();
            assert!(s.contains("more brands"), "slack");
            let g = googlechat::digest_payload(&d, Locale::En).to_string();
            assert!(g.contains("more brands"), "googlechat");
        }
    }
}

/// As [`assert_neutralized`], for digests: Markdown platforms show `<script>` escaped
/// with backslashes (inert text there), and ntfy's message is plain text.
fn digest_neutralized(what: &str, platform: &str, p: &serde_json::Value) {
    let mut all = Vec::new();
    strings(p, &mut all);
    for s in &all {
        assert!(
            !s.contains('\u{202E}'),
            "{what}: RTL override left in {s:?}"
        );
        if platform == "ntfy" {
            continue; // plain text: no markup, no mass pings
        }
        for ping in ["@channel", "@everyone", "@here", "@All", "＠everyone"] {
            assert!(!s.contains(ping), "{what}: mass ping {ping} left in {s:?}");
        }
        assert!(
            !s.contains("<!channel>") && !s.contains("<users/all>"),
            "{what}: ping in {s:?}"
        );
        let raw = s.replace("\\<", "");
        assert!(
            !raw.contains("<script") && !raw.contains("<b>le forum"),
            "{what}: raw HTML in {s:?}"
        );
    }
}
