//! `[[source]]` settings of a forum and `[source.selectors]`, compiled with the engine's
//! preset into the selectors a poll uses; every problem is reported at its place in the
//! config file.

use std::path::Path;

use chrono_tz::Tz;
use regex::Regex;
use scraper::Selector;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::presets::{self, Preset, Scope, Spec};
use super::{Forum, dates, extract};
use crate::config::SourceFile;
use crate::sources::api;

/// Topics read per poll at most (the next poll goes on with the rest).
const DEFAULT_MAX_TOPICS: usize = 20;

/// Settings of a `kind = "forum"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForumConfig {
    /// phpbb2 | phpbb30 | phpbb3 | xenforo1 | xenforo2 | vbulletin3 | vbulletin4 |
    /// vbulletin5 | smf2 | mybb | invision | nodebb | discourse | custom
    pub engine: Spanned<String>,
    /// The forum's root, e.g. "https://forum.example.org/".
    pub base_url: Spanned<String>,
    /// Topic lists to watch, relative to base_url: "viewforum.php?f=12", "forums/cuisine.4/".
    #[serde(default)]
    pub forums: Vec<String>,
    /// Single threads to watch, relative to base_url or absolute.
    #[serde(default)]
    pub threads: Vec<String>,
    /// Time zone of the board, for dates written without offset, e.g. "Europe/Paris".
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    /// Language of dates in words ("Aujourd'hui, 09h41" / "Today, 09:41 AM"): "fr" or "en".
    #[serde(default)]
    pub locale: Option<String>,
    /// Encoding when the page does not say (default: UTF-8, or windows-1252 if not valid UTF-8).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Query parameters to drop from URLs (the engine's session id is always dropped).
    #[serde(default)]
    pub strip_params: Vec<String>,
    /// Topics read per poll at most (default 20).
    #[serde(default)]
    pub max_topics: Option<usize>,
    /// Selectors replacing the preset's (all of them for engine = "custom").
    #[serde(default)]
    pub selectors: Option<Spanned<SelectorsConfig>>,
}

/// CSS selectors and attributes, as written in `[source.selectors]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorsConfig {
    /// One topic in a topic list, and its link.
    pub topic_row: Option<String>,
    pub topic_link: Option<String>,
    /// A value that changes when a reply is posted (last post time), inside the row:
    /// `topic_last_time_attr` of it, or its text.
    pub topic_last_time: Option<String>,
    pub topic_last_time_attr: Option<String>,
    /// Link to the topic's last page (or last post), inside the row.
    pub topic_last_page: Option<String>,
    /// One post in a topic page.
    pub post: Option<String>,
    /// Where the post id is: `post_id_attr` (default "id") of the post element, or of
    /// `post_id` inside it (`post_id_where = "inside"`, the default when `post_id` is
    /// given) or before it (`"before"`: an anchor such as phpBB 2's `<a name="123">`);
    /// `post_id_pattern` picks it out of the value, `post_id_prefix` is removed.
    pub post_id: Option<String>,
    pub post_id_attr: Option<String>,
    pub post_id_where: Option<String>,
    pub post_id_pattern: Option<String>,
    pub post_id_prefix: Option<String>,
    /// Permalink of the post (the `href` of an element inside it).
    pub post_permalink: Option<String>,
    /// Author: text of `post_author` (or its `post_author_attr`); the attribute of the
    /// post element when only `post_author_attr` is given.
    pub post_author: Option<String>,
    pub post_author_attr: Option<String>,
    pub post_author_where: Option<String>,
    /// Date element and attribute, or its text; `post_date_pattern` takes the date out of
    /// a longer text (a regex with a group named `date`); `post_date_format` is
    /// "rfc3339", "naive" (ISO without offset, in the board's time zone), "unix",
    /// "localized" ("Aujourd'hui, 09h41", "Sun May 26, 2019 4:34 pm") or a chrono format.
    pub post_date: Option<String>,
    pub post_date_attr: Option<String>,
    pub post_date_format: Option<String>,
    pub post_date_pattern: Option<String>,
    pub post_date_where: Option<String>,
    /// The post's text, and the parts of it to leave out (quotes, signatures).
    pub post_body: Option<String>,
    pub post_exclude: Option<Vec<String>>,
    /// The topic's title on a topic page.
    pub title: Option<String>,
    /// Links to the previous and next page of a topic.
    pub prev_page: Option<String>,
    pub next_page: Option<String>,
}

/// A field as the config (or a preset) writes it, before compiling.
#[derive(Debug, Clone, Default)]
struct SpecText {
    select: Option<String>,
    scope: Option<Scope>,
    attr: Option<String>,
    pattern: Option<String>,
    format: Option<String>,
}

impl From<&Spec> for SpecText {
    fn from(s: &Spec) -> Self {
        SpecText {
            select: s.select.map(str::to_string),
            scope: Some(s.scope),
            attr: s.attr.map(str::to_string),
            pattern: s.pattern.map(str::to_string),
            format: s.format.map(str::to_string),
        }
    }
}

/// Compiles config values, reporting each problem at the `[source.selectors]` table.
struct Compiler<'f, 'a> {
    file: &'f mut SourceFile<'a>,
    span: std::ops::Range<usize>,
    ok: bool,
}

impl Compiler<'_, '_> {
    fn fail(&mut self, message: String) {
        self.file.error(self.span.clone(), message);
        self.ok = false;
    }

    fn selector(&mut self, name: &str, v: &str) -> Option<Selector> {
        if v.trim().is_empty() {
            return None;
        }
        match Selector::parse(v) {
            Ok(s) => Some(s),
            Err(e) => {
                self.fail(format!("invalid CSS selector for `{name}` (`{v}`): {e}"));
                None
            }
        }
    }

    fn field(&mut self, name: &str, s: &SpecText) -> Option<extract::Field> {
        let select = match &s.select {
            Some(v) => Some(self.selector(name, v)?),
            None => None,
        };
        let pattern = match &s.pattern {
            Some(p) => match Regex::new(p) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.fail(format!("invalid pattern for `{name}` (`{p}`): {e}"));
                    return None;
                }
            },
            None => None,
        };
        let format = match &s.format {
            Some(f) => match dates::DateFormat::parse(f) {
                Some(f) => Some(f),
                None => {
                    self.fail(format!("unknown date format `{f}` for `{name}`: expected rfc3339, naive, unix, localized or a chrono format such as \"%d/%m/%Y %H:%M\""));
                    return None;
                }
            },
            None => None,
        };
        let scope = match (&select, s.scope) {
            (None, _) => Scope::Own,
            (Some(_), Some(Scope::Own) | None) => Scope::Inside,
            (Some(_), Some(scope)) => scope,
        };
        Some(extract::Field {
            select,
            scope,
            attr: s.attr.clone(),
            pattern,
            format,
        })
    }

    fn fields(&mut self, name: &str, specs: &[SpecText]) -> extract::Fields {
        extract::Fields(specs.iter().filter_map(|s| self.field(name, s)).collect())
    }

    fn scope(&mut self, name: &str, v: &Option<String>) -> Option<Scope> {
        match v.as_deref()? {
            "self" => Some(Scope::Own),
            "inside" => Some(Scope::Inside),
            "before" => Some(Scope::Before),
            other => {
                self.fail(format!(
                    "unknown `{name}` `{other}`: expected self, inside or before"
                ));
                None
            }
        }
    }
}

/// The preset's alternatives, or one spec built from the config keys that are set (the
/// keys left out are taken from the preset's first alternative).
fn group(preset: &[Spec], user: SpecText, set: bool) -> Vec<SpecText> {
    if !set {
        return preset.iter().map(SpecText::from).collect();
    }
    let first = preset.first().map(SpecText::from).unwrap_or_default();
    let select = match (&user.select, user.scope) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(Scope::Own)) => None,
        (None, _) => first.select,
    };
    vec![SpecText {
        scope: user.scope.or(first.scope),
        attr: user.attr.or(first.attr),
        pattern: user.pattern.or(first.pattern),
        format: user.format.or(first.format),
        select,
    }]
}

fn compile(
    c: &mut Compiler<'_, '_>,
    p: &Preset,
    o: &SelectorsConfig,
    needs_list: bool,
) -> Option<extract::Selectors> {
    let pick = |user: &Option<String>, preset: &str| user.clone().unwrap_or(preset.to_string());
    let row = pick(&o.topic_row, p.row);
    let link = pick(&o.topic_link, p.link);
    if needs_list && (row.is_empty() || link.is_empty()) {
        c.fail("missing selector `topic_row` or `topic_link` in [source.selectors]: needed to read the `forums` topic lists".into());
    }
    let post = pick(&o.post, p.post);
    let body = pick(&o.post_body, p.body);
    if post.is_empty() || body.is_empty() {
        c.fail("missing selector `post` or `post_body` in [source.selectors]".into());
    }
    let id_where = c.scope("post_id_where", &o.post_id_where);
    let author_where = c.scope("post_author_where", &o.post_author_where);
    let date_where = c.scope("post_date_where", &o.post_date_where);
    let id = group(
        p.id,
        SpecText {
            select: o.post_id.clone(),
            // `post_id_attr` alone names an attribute of the post element (as before).
            scope: id_where.or(o.post_id.is_none().then_some(Scope::Own)),
            attr: Some(o.post_id_attr.clone().unwrap_or_else(|| "id".into())),
            pattern: o.post_id_pattern.clone(),
            format: None,
        },
        o.post_id.is_some()
            || o.post_id_attr.is_some()
            || o.post_id_where.is_some()
            || o.post_id_pattern.is_some(),
    );
    let author = group(
        p.author,
        SpecText {
            select: o.post_author.clone(),
            scope: author_where.or(o.post_author.is_none().then_some(Scope::Own)),
            attr: o.post_author_attr.clone(),
            ..Default::default()
        },
        o.post_author.is_some() || o.post_author_attr.is_some(),
    );
    if author.is_empty() {
        c.fail("missing `post_author` (or `post_author_attr`) in [source.selectors]".into());
    }
    let date = group(
        p.date,
        SpecText {
            select: o.post_date.clone(),
            scope: date_where,
            attr: o.post_date_attr.clone(),
            pattern: o.post_date_pattern.clone(),
            format: o.post_date_format.clone(),
        },
        o.post_date.is_some()
            || o.post_date_attr.is_some()
            || o.post_date_format.is_some()
            || o.post_date_pattern.is_some(),
    );
    let href = |sel: &Option<String>| SpecText {
        select: sel.clone(),
        attr: Some("href".into()),
        ..Default::default()
    };
    let permalink = group(
        p.permalink,
        href(&o.post_permalink),
        o.post_permalink.is_some(),
    );
    let last_page = group(
        p.last_page,
        href(&o.topic_last_page),
        o.topic_last_page.is_some(),
    );
    let last_time = group(
        p.last_time,
        SpecText {
            select: o.topic_last_time.clone(),
            attr: o.topic_last_time_attr.clone(),
            ..Default::default()
        },
        o.topic_last_time.is_some(),
    );
    let exclude: Vec<String> = o
        .post_exclude
        .clone()
        .unwrap_or_else(|| p.exclude.iter().map(|s| s.to_string()).collect());
    let sel = extract::Selectors {
        row: c.selector("topic_row", &row),
        link: c.selector("topic_link", &link),
        last_time: c.fields("topic_last_time", &last_time),
        last_page: c.fields("topic_last_page", &last_page),
        post: c.selector("post", &post)?,
        id: c.fields("post_id", &id),
        id_prefix: o.post_id_prefix.clone().unwrap_or(p.id_prefix.to_string()),
        id_per_topic: p.id_per_topic,
        permalink: c.fields("post_permalink", &permalink),
        author: c.fields("post_author", &author),
        date: c.fields("post_date", &date),
        body: c.selector("post_body", &body)?,
        exclude: exclude
            .iter()
            .filter_map(|e| c.selector("post_exclude", e))
            .collect(),
        title: c.selector("title", &pick(&o.title, p.title)),
        prev: c.selector("prev_page", &pick(&o.prev_page, p.prev)),
        next: c.selector("next_page", &pick(&o.next_page, p.next)),
    };
    c.ok.then_some(sel)
}

impl ForumConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        _base_dir: &Path,
    ) -> Option<Forum> {
        let engine = self.engine.get_ref().as_str();
        let preset = match engine {
            "custom" => &presets::CUSTOM,
            e => match presets::find(e) {
                Some(p) => p,
                None => {
                    file.error(
                        self.engine.span(),
                        format!("unknown engine `{engine}`: expected {}", presets::names()),
                    );
                    return None;
                }
            },
        };
        let base = api::base_url(file, &self.base_url)?;
        if self.forums.is_empty() && self.threads.is_empty() {
            file.error(span, "`forums` and `threads` are empty: list the topic lists to watch, e.g. forums = [\"viewforum.php?f=2\"], or single threads, e.g. threads = [\"viewtopic.php?t=10\"]");
            return None;
        }
        let sel_span = self
            .selectors
            .as_ref()
            .map(|s| s.span())
            .unwrap_or(span.clone());
        let overrides = self.selectors.map(Spanned::into_inner).unwrap_or_default();
        let mut c = Compiler {
            file,
            span: sel_span,
            ok: true,
        };
        let sel = compile(&mut c, preset, &overrides, !self.forums.is_empty())?;
        let join = |f: &String| base.join(f.trim_start_matches('/')).ok();
        let lists: Vec<Url> = self.forums.iter().filter_map(join).collect();
        let threads: Vec<Url> = self.threads.iter().filter_map(join).collect();
        let tz = match &self.timezone {
            Some(t) => match t.get_ref().parse::<Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    file.error(
                        t.span(),
                        format!(
                            "unknown time zone `{}`: expected a name like \"Europe/Paris\"",
                            t.get_ref()
                        ),
                    );
                    return None;
                }
            },
            None => Tz::UTC,
        };
        let encoding = match &self.encoding {
            Some(label) if label != "auto" => {
                match encoding_rs::Encoding::for_label(label.as_bytes()) {
                    Some(e) => Some(e),
                    None => {
                        file.error(
                            span,
                            format!(
                                "unknown encoding `{label}`: expected a label like \"windows-1252\""
                            ),
                        );
                        return None;
                    }
                }
            }
            _ => None,
        };
        let mut strip: Vec<String> = preset.session.iter().map(|s| s.to_string()).collect();
        strip.extend(self.strip_params);
        Some(Forum {
            base,
            lists,
            threads,
            board: dates::Board {
                tz,
                day_first: self.locale.as_deref().is_none_or(|l| l.starts_with("fr")),
            },
            encoding,
            strip,
            max_topics: self.max_topics.unwrap_or(DEFAULT_MAX_TOPICS),
            sel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_compiles() {
        let text = String::new();
        let mut file = SourceFile::new(Path::new("veille.toml"), &text);
        for p in presets::ENGINES.iter().chain([&presets::CUSTOM]) {
            let mut c = Compiler {
                file: &mut file,
                span: 0..0,
                ok: true,
            };
            let custom = p.engine == "custom";
            let sel = compile(&mut c, p, &SelectorsConfig::default(), !custom);
            assert_eq!(sel.is_some(), !custom, "{}", p.engine);
            if let Some(s) = sel {
                assert!(
                    !s.id.0.is_empty() && !s.author.0.is_empty() && !s.date.0.is_empty(),
                    "{}",
                    p.engine
                );
            }
        }
    }
}
