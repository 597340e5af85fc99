//! The `veille` binary on a config and data made by the real daemon, run once against
//! loopback servers (a forum feed with a hostile title and named authors, a webhook, a
//! Slack webhook, the SMTP server): for the tests of the command line's conventions.

use std::process::{Command, Output};

use serde_json::Value;

use super::*;

/// A title with a right-to-left override: printed as is, it reverses what follows.
pub const HOSTILE: &str = "Arnaque Acme \u{202E}gnp.exe remboursez";

pub fn veille(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veille"))
        .env_remove("VEILLE_CONFIG")
        .env_remove("RUST_LOG")
        .env("USER", "alice")
        .args(args)
        .output()
        .unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A feed of mentions by named authors, one of them hostile.
fn feed() -> String {
    let item = |title: &str, link: &str, author: &str, minutes: i64| {
        format!(
            "<item><title>{title}</title><link>{link}</link><description>Acme, service client nul, arnaque</description><dc:creator>{author}</dc:creator><pubDate>{}</pubDate></item>",
            ago(minutes)
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Forum</title><link>https://forum.example/</link>{}{}{}</channel></rss>"#,
        item(HOSTILE, "https://forum.example/1", "Zoë Ångström", 5),
        item(
            "Acme encore une arnaque",
            "https://forum.example/2",
            "東京の店",
            10
        ),
        item(
            "Acme arnaque, mon avis",
            "https://forum.example/3",
            "Zoë Ångström",
            15
        ),
    )
}

/// A config (Europe/Paris), its data after one run, and the receivers it delivered to.
pub struct Fixture {
    pub setup: Setup,
    pub hooks: WebhookReceiver,
    _feeds: FeedServer,
    pub smtp: SmtpServer,
}

impl Fixture {
    pub fn cfg(&self) -> String {
        self.setup.config_path().display().to_string()
    }

    /// `veille ARGS --config CFG`, which must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let cfg = self.cfg();
        let mut all = args.to_vec();
        all.extend(["--config", &cfg]);
        veille(&all)
    }

    /// The JSON lines of `veille ARGS --json`.
    pub fn json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = args.to_vec();
        all.push("--json");
        self.ok(&all)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

pub async fn fixture() -> Fixture {
    let feeds = FeedServer::start().await;
    feeds.set("/forum.xml", Route::rss(feed()));
    let hooks = WebhookReceiver::start().await;
    let smtp = SmtpServer::start();
    let s = Setup::new();
    s.secret("slack", &format!("{}\n", hooks.url("/slack")));
    let cfg = base_config().replace(
        "listen = \"\"",
        "listen = \"\"\ntimezone = \"Europe/Paris\"",
    ) + &rss_source("forum-conso", &feeds.url("/forum.xml"))
        + &format!(
            "\n[notifier.hook]\nkind = \"webhook\"\nurl = \"{}\"\nallow_private = true\n",
            hooks.url("/hook")
        )
        + "\n[notifier.chat]\nkind = \"slack\"\nurl_file = \"secrets/slack\"\nallow_private = true\n"
        + &format!(
            "\n[notifier.mail]\nkind = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\nfrom = \"veille@example.org\"\nto = [\"cm@example.org\"]\nallow_private = true\n",
            smtp.port
        )
        + "\n[digest.daily]\nschedule = \"0 8 * * *\"\nnotify = [\"hook\"]\n";
    s.write(&cfg);
    s.rules(
        "r.toml",
        // `hostile` fires on the hostile mention alone: its summary carries the title.
        "[[rule]]\nid = \"crisis\"\nbrand = \"acme\"\nkind = \"match\"\nquery = \"arnaque\"\nnotify = [\"hook\", \"chat\", \"mail\"]\n\n[[rule]]\nid = \"hostile\"\nbrand = \"acme\"\nkind = \"match\"\nquery = \"remboursez\"\nnotify = [\"hook\"]\n",
    );
    run_once(s.load()).await;
    Fixture {
        setup: s,
        hooks,
        _feeds: feeds,
        smtp,
    }
}

pub fn has(v: &Value, fields: &[&str]) {
    for f in fields {
        assert!(v.get(f).is_some(), "no `{f}` in {v}");
    }
}

/// RFC 3339 UTC, as the API writes it.
pub fn utc(v: &Value) -> chrono::DateTime<chrono::Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a date: {v}"));
    assert!(s.ends_with('Z'), "not UTC: {s}");
    s.parse().unwrap()
}
