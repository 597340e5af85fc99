//! The notifier kinds, registered once: each `kind = "..."` with what it is and how its
//! `[notifier.NAME]` table is read. The config loader reads notifiers through this table
//! (so `veille check` names the kinds it knows from it), and a test holds the README to
//! it; nothing else lists the kinds.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Notifier, NotifierKind, chat, email, webhook};
use crate::crawl::AllowPrivate;
use crate::model::diag::SourceFile;

/// Keys every `[notifier.NAME]` takes.
pub const COMMON_KEYS: &[&str] = &["kind", "allow_private"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifierCommon {
    /// One of [`KINDS`].
    #[allow(dead_code)]
    kind: String,
    /// Allow the webhook URL to be a private address (a chat server on the LAN): `true`
    /// for loopback and LAN; link-local and cloud-metadata addresses only when named,
    /// `["loopback", "lan", "link_local"]`.
    #[serde(default)]
    allow_private: AllowPrivate,
}

type Build = fn(
    &mut SourceFile<'_>,
    Spanned<DeTable<'_>>,
    Range<usize>,
    &Path,
    &'static str,
) -> Option<(NotifierCommon, NotifierKind)>;

/// One notifier kind.
pub struct Kind {
    /// Its `kind = "..."`.
    pub name: &'static str,
    /// What it sends, in a few words.
    pub about: &'static str,
    build: Build,
}

/// Every notifier kind this build knows.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "email",
        about: "e-mail over SMTP, text and HTML",
        build: email_kind,
    },
    Kind {
        name: "slack",
        about: "Slack incoming webhook, Block Kit",
        build: chat_kind,
    },
    Kind {
        name: "mattermost",
        about: "Mattermost incoming webhook, Markdown attachments",
        build: chat_kind,
    },
    Kind {
        name: "teams",
        about: "Microsoft Teams webhook or Workflows URL, an Adaptive Card",
        build: chat_kind,
    },
    Kind {
        name: "discord",
        about: "Discord webhook, embeds",
        build: chat_kind,
    },
    Kind {
        name: "googlechat",
        about: "Google Chat space webhook, cards v2",
        build: chat_kind,
    },
    Kind {
        name: "telegram",
        about: "Telegram Bot API sendMessage",
        build: telegram_kind,
    },
    Kind {
        name: "ntfy",
        about: "ntfy publish (JSON)",
        build: ntfy_kind,
    },
    Kind {
        name: "webhook",
        about: "generic JSON, signed",
        build: webhook_kind,
    },
];

fn names() -> String {
    KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

fn email_kind(
    file: &mut SourceFile<'_>,
    t: Spanned<DeTable<'_>>,
    _span: Range<usize>,
    base_dir: &Path,
    _name: &'static str,
) -> Option<(NotifierCommon, NotifierKind)> {
    let (c, k) = file.de_split::<NotifierCommon, email::EmailConfig>(t, COMMON_KEYS, "notifier")?;
    Some((c, NotifierKind::Email(k.build(file, base_dir)?)))
}

fn chat_kind(
    file: &mut SourceFile<'_>,
    t: Spanned<DeTable<'_>>,
    span: Range<usize>,
    base_dir: &Path,
    name: &'static str,
) -> Option<(NotifierCommon, NotifierKind)> {
    let flavor = chat::Flavor::from_kind(name)?;
    let (c, k) = file.de_split::<NotifierCommon, chat::ChatConfig>(t, COMMON_KEYS, "notifier")?;
    Some((
        c,
        NotifierKind::Chat(k.build(file, span, base_dir, flavor)?),
    ))
}

fn telegram_kind(
    file: &mut SourceFile<'_>,
    t: Spanned<DeTable<'_>>,
    span: Range<usize>,
    base_dir: &Path,
    _name: &'static str,
) -> Option<(NotifierCommon, NotifierKind)> {
    let (c, k) = file.de_split::<NotifierCommon, chat::telegram::TelegramConfig>(
        t,
        COMMON_KEYS,
        "notifier",
    )?;
    Some((c, NotifierKind::Telegram(k.build(file, span, base_dir)?)))
}

fn ntfy_kind(
    file: &mut SourceFile<'_>,
    t: Spanned<DeTable<'_>>,
    span: Range<usize>,
    base_dir: &Path,
    _name: &'static str,
) -> Option<(NotifierCommon, NotifierKind)> {
    let (c, k) =
        file.de_split::<NotifierCommon, chat::ntfy::NtfyConfig>(t, COMMON_KEYS, "notifier")?;
    Some((c, NotifierKind::Ntfy(k.build(file, span, base_dir)?)))
}

fn webhook_kind(
    file: &mut SourceFile<'_>,
    t: Spanned<DeTable<'_>>,
    span: Range<usize>,
    base_dir: &Path,
    _name: &'static str,
) -> Option<(NotifierCommon, NotifierKind)> {
    let (c, k) =
        file.de_split::<NotifierCommon, webhook::WebhookConfig>(t, COMMON_KEYS, "notifier")?;
    Some((c, NotifierKind::Webhook(k.build(file, span, base_dir)?)))
}

impl Notifier {
    /// Reads one `[notifier.NAME]` table through the kind it names; secrets are read now
    /// so `veille check` reports a missing secret file.
    pub fn from_toml(
        file: &mut SourceFile<'_>,
        name: &str,
        value: Spanned<DeValue<'_>>,
        base_dir: &Path,
    ) -> Option<Notifier> {
        let span = value.span();
        let DeValue::Table(t) = value.into_inner() else {
            file.error(span, format!("expected a table `[notifier.{name}]`"));
            return None;
        };
        let Some((kind, kind_span)) = t
            .get("kind")
            .and_then(|k| k.get_ref().as_str().map(|s| (s.to_string(), k.span())))
        else {
            file.error(
                span,
                format!(
                    "missing `kind` in [notifier.{name}]: expected one of {}",
                    names()
                ),
            );
            return None;
        };
        let Some(registered) = KINDS.iter().find(|k| k.name == kind) else {
            file.error(
                kind_span,
                format!(
                    "unknown notifier kind `{kind}`: expected one of {}",
                    names()
                ),
            );
            return None;
        };
        let t = Spanned::new(span.clone(), t);
        let (common, built) = (registered.build)(file, t, span, base_dir, registered.name)?;
        Some(Notifier {
            name: name.to_string(),
            kind_name: registered.name,
            allow_private: common.allow_private,
            kind: built,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README documents every kind of the table, in its notifier section.
    #[test]
    fn the_readme_shows_every_notifier_kind() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("### Add a notifier")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("README has an \"Add a notifier\" section");
        for k in KINDS {
            assert!(
                section.contains(&format!("kind = \"{}\"", k.name))
                    || section.contains(&format!(" {} |", k.name))
                    || section.contains(&format!("| {}", k.name)),
                "README's \"Add a notifier\" does not show kind = \"{}\" ({})",
                k.name,
                k.about
            );
        }
    }

    #[test]
    fn every_kind_builds_through_the_table() {
        for k in KINDS {
            let text = format!("[n]\nkind = \"{}\"\n", k.name);
            let mut file = SourceFile::new(Path::new("x.toml"), &text);
            let root = DeTable::parse(&text).unwrap();
            let (_, v) = root.into_inner().into_iter().next().unwrap();
            // No kind builds without its settings: each says what is missing, none is
            // taken for another.
            assert!(Notifier::from_toml(&mut file, "n", v, Path::new(".")).is_none());
            assert!(
                !file.diags.is_empty() && !file.diags[0].message.contains("unknown notifier kind"),
                "{}: {:?}",
                k.name,
                file.diags
            );
        }
    }
}
