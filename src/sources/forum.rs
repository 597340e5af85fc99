//! `kind = "forum"`: classic forums without an API, scraped with CSS selectors.
//!
//! Built-in presets for phpBB 3 (prosilver), XenForo 2, vBulletin 4 and vBulletin 5 give
//! the selectors, date formats and quirks; `engine = "custom"` (or `[source.selectors]`
//! overrides) covers the rest. Each poll: read the topic lists → topics that are new or
//! whose last-post time moved → read those topics (first page and last page) → keep the
//! posts not seen before. Quoted blocks are left out of a post's text, so quoting a
//! complaint is not a second mention; session ids (`sid`) are stripped from every URL;
//! robots.txt is obeyed; requests to the forum are spaced by `[crawl] per_host_delay` (or
//! the forum's Crawl-delay, when longer).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Selector};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::api::{self, Cursor, Cursors, Item};
use super::{Poll, Source, SourceState};
use crate::config::SourceFile;
use crate::crawl::{self, FetchError, Fetched, Http, Validators};
use crate::mention;
use crate::text;

/// Topics read per poll at most (the next poll goes on with the rest).
const DEFAULT_MAX_TOPICS: usize = 20;

/// Settings of a `kind = "forum"` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForumConfig {
    /// phpbb3 | xenforo2 | vbulletin4 | vbulletin5 | custom
    pub engine: Spanned<String>,
    /// The forum's root, e.g. "https://forum.example.org/".
    pub base_url: Spanned<String>,
    /// Topic lists to watch, relative to base_url: "viewforum.php?f=12", "forums/cuisine.4/".
    pub forums: Vec<String>,
    /// Time zone of the board, for dates written without offset (vBulletin), e.g. "Europe/Paris".
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    /// Language of relative dates ("Aujourd'hui, 09h41" / "Today, 09:41 AM"): "fr" or "en".
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
    /// One topic in a topic list.
    pub topic_row: Option<String>,
    /// The topic's link, inside the row.
    pub topic_link: Option<String>,
    /// The time of the topic's last post, inside the row (read from `topic_last_time_attr`,
    /// or its text).
    pub topic_last_time: Option<String>,
    pub topic_last_time_attr: Option<String>,
    /// Link to the topic's last page, inside the row.
    pub topic_last_page: Option<String>,
    /// One post in a topic page.
    pub post: Option<String>,
    /// Attribute of the post element holding its id, and the prefix to remove ("p").
    pub post_id_attr: Option<String>,
    pub post_id_prefix: Option<String>,
    /// Permalink of the post (an `a` inside it).
    pub post_permalink: Option<String>,
    /// Author name (text of this element, or `post_author_attr` of the post element).
    pub post_author: Option<String>,
    pub post_author_attr: Option<String>,
    /// Date element and attribute ("datetime"), or its text when no attribute.
    pub post_date: Option<String>,
    pub post_date_attr: Option<String>,
    /// "rfc3339", a chrono format such as "%Y-%m-%dT%H:%M:%S%z", "naive" (ISO without
    /// offset, in the board's time zone) or "localized" ("Aujourd'hui, 09h41").
    pub post_date_format: Option<String>,
    /// The post's text.
    pub post_body: Option<String>,
    /// Parts of the body to leave out (quotes, signatures).
    pub post_exclude: Option<Vec<String>>,
    /// The topic's title on a topic page.
    pub title: Option<String>,
}

/// The preset of an engine.
fn preset(engine: &str) -> Option<(SelectorsConfig, &'static [&'static str])> {
    let s = |v: &str| Some(v.to_string());
    Some(match engine {
        "phpbb3" => (
            SelectorsConfig {
                topic_row: s("ul.topiclist.topics > li.row"),
                topic_link: s("a.topictitle"),
                topic_last_time: s("dd.lastpost time[datetime]"),
                topic_last_time_attr: s("datetime"),
                topic_last_page: s(".pagination li:last-child a"),
                post: s("div.post[id^='p']"),
                post_id_attr: s("id"),
                post_id_prefix: s("p"),
                post_permalink: s("h3 a[href*='#p']"),
                post_author: s("p.author .username, p.author .username-coloured"),
                post_author_attr: None,
                post_date: s("p.author time[datetime]"),
                post_date_attr: s("datetime"),
                post_date_format: s("rfc3339"),
                post_body: s("div.content"),
                post_exclude: Some(vec!["blockquote".into()]),
                title: s("h2.topic-title a"),
            },
            &["sid"],
        ),
        "xenforo2" => (
            SelectorsConfig {
                topic_row: s("div.structItem--thread"),
                topic_link: s(".structItem-title a[data-tp-primary]"),
                topic_last_time: s("time.structItem-latestDate"),
                topic_last_time_attr: s("datetime"),
                topic_last_page: s(".structItem-pageJump a:last-child"),
                post: s("article.message--post"),
                post_id_attr: s("data-content"),
                post_id_prefix: s("post-"),
                post_permalink: s(".message-attribution-main a[href]"),
                post_author: None,
                post_author_attr: s("data-author"),
                post_date: s(".message-attribution-main time.u-dt"),
                post_date_attr: s("datetime"),
                post_date_format: s("%Y-%m-%dT%H:%M:%S%z"),
                post_body: s(".message-body .bbWrapper"),
                post_exclude: Some(vec!["blockquote.bbCodeBlock--quote".into()]),
                title: s("h1.p-title-value"),
            },
            &[],
        ),
        "vbulletin4" => (
            SelectorsConfig {
                topic_row: s("ol#threads > li.threadbit"),
                topic_link: s("a.title"),
                topic_last_time: s(".threadlastpost dd:last-child"),
                topic_last_time_attr: None,
                topic_last_page: s("dl.pagination a:last-child"),
                post: s("ol#posts > li[id^='post_']"),
                post_id_attr: s("id"),
                post_id_prefix: s("post_"),
                post_permalink: s("a.postcounter"),
                post_author: s(".username_container .username"),
                post_author_attr: None,
                post_date: s(".posthead .postdate .date"),
                post_date_attr: None,
                post_date_format: s("localized"),
                post_body: s("div[id^='post_message_'] blockquote.postcontent"),
                post_exclude: Some(vec![".bbcode_container".into()]),
                title: s("span.threadtitle, h2.title"),
            },
            &["s"],
        ),
        "vbulletin5" => (
            SelectorsConfig {
                topic_row: s(".topic-list .topic-item"),
                topic_link: s("a.topic-title"),
                topic_last_time: s(".lastpost-date time, .lastpost time"),
                topic_last_time_attr: s("datetime"),
                topic_last_page: s(".pagenav a:last-child"),
                post: s("li.b-post[data-node-id]"),
                post_id_attr: s("data-node-id"),
                post_id_prefix: None,
                post_permalink: s("a.b-post__count"),
                post_author: s(".b-userinfo__details [itemprop='name'], .author a"),
                post_author_attr: None,
                post_date: s("time[itemprop='dateCreated']"),
                post_date_attr: s("datetime"),
                post_date_format: s("naive"),
                post_body: s(".js-post__content-text"),
                post_exclude: Some(vec![".bbcode_container".into()]),
                title: s(".b-post__title, h1"),
            },
            &[],
        ),
        "custom" => (SelectorsConfig::default(), &[]),
        _ => return None,
    })
}

#[derive(Debug, Clone)]
struct Field {
    /// None: the element itself.
    select: Option<Selector>,
    attr: Option<String>,
}

impl Field {
    fn get(&self, el: ElementRef<'_>) -> Option<String> {
        let target = match &self.select {
            Some(s) => el.select(s).next()?,
            None => el,
        };
        let v = match &self.attr {
            Some(a) => target.value().attr(a)?.to_string(),
            None => text::collapse_whitespace(&target.text().collect::<String>()),
        };
        (!v.trim().is_empty()).then(|| v.trim().to_string())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum DateFormat {
    Rfc3339,
    Chrono(String),
    Naive,
    Localized,
}

#[derive(Debug, Clone)]
struct Selectors {
    row: Selector,
    link: Selector,
    last_time: Option<Field>,
    last_page: Option<Selector>,
    post: Selector,
    post_id: Field,
    id_prefix: String,
    permalink: Option<Field>,
    author: Field,
    date: Field,
    date_format: DateFormat,
    body: Selector,
    exclude: Vec<Selector>,
    title: Option<Selector>,
}

#[derive(Debug, Clone)]
pub struct Forum {
    base: Url,
    lists: Vec<Url>,
    tz: Tz,
    french: bool,
    encoding: Option<&'static encoding_rs::Encoding>,
    strip: Vec<String>,
    max_topics: usize,
    sel: Selectors,
}

impl ForumConfig {
    pub fn build(
        self,
        file: &mut SourceFile<'_>,
        span: std::ops::Range<usize>,
        _base_dir: &Path,
    ) -> Option<Forum> {
        let engine = self.engine.get_ref().as_str();
        let Some((mut cfg, session_params)) = preset(engine) else {
            file.error(
                self.engine.span(),
                format!("unknown engine `{engine}`: expected phpbb3, xenforo2, vbulletin4, vbulletin5 or custom"),
            );
            return None;
        };
        let sel_span = self
            .selectors
            .as_ref()
            .map(|s| s.span())
            .unwrap_or(span.clone());
        if let Some(o) = self.selectors.map(Spanned::into_inner) {
            macro_rules! over {
                ($($f:ident),*) => { $( if o.$f.is_some() { cfg.$f = o.$f.clone(); } )* };
            }
            over!(
                topic_row,
                topic_link,
                topic_last_time,
                topic_last_time_attr,
                topic_last_page,
                post,
                post_id_attr,
                post_id_prefix,
                post_permalink,
                post_author,
                post_author_attr,
                post_date,
                post_date_attr,
                post_date_format,
                post_body,
                post_exclude,
                title
            );
        }
        let sel = compile(file, sel_span, &cfg)?;
        let base = api::base_url(file, &self.base_url)?;
        if self.forums.is_empty() {
            file.error(span, "`forums` is empty: list the topic-list pages to watch, e.g. [\"viewforum.php?f=2\"]");
            return None;
        }
        let lists: Vec<Url> = self
            .forums
            .iter()
            .filter_map(|f| base.join(f.trim_start_matches('/')).ok())
            .collect();
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
        let mut strip: Vec<String> = session_params.iter().map(|s| s.to_string()).collect();
        strip.extend(self.strip_params);
        Some(Forum {
            base,
            lists,
            tz,
            french: self.locale.as_deref().is_none_or(|l| l.starts_with("fr")),
            encoding,
            strip,
            max_topics: self.max_topics.unwrap_or(DEFAULT_MAX_TOPICS),
            sel,
        })
    }
}

fn compile(
    file: &mut SourceFile<'_>,
    span: std::ops::Range<usize>,
    c: &SelectorsConfig,
) -> Option<Selectors> {
    let mut ok = true;
    let mut one = |name: &str, v: &Option<String>, required: bool| -> Option<Selector> {
        match v {
            Some(s) => match Selector::parse(s) {
                Ok(sel) => Some(sel),
                Err(e) => {
                    file.error(
                        span.clone(),
                        format!("invalid CSS selector for `{name}` (`{s}`): {e}"),
                    );
                    ok = false;
                    None
                }
            },
            None => {
                if required {
                    file.error(
                        span.clone(),
                        format!("missing selector `{name}` in [source.selectors]"),
                    );
                    ok = false;
                }
                None
            }
        }
    };
    let row = one("topic_row", &c.topic_row, true);
    let link = one("topic_link", &c.topic_link, true);
    let last_time = one("topic_last_time", &c.topic_last_time, false);
    let last_page = one("topic_last_page", &c.topic_last_page, false);
    let post = one("post", &c.post, true);
    let permalink = one("post_permalink", &c.post_permalink, false);
    let author = one("post_author", &c.post_author, false);
    let date = one("post_date", &c.post_date, false);
    let body = one("post_body", &c.post_body, true);
    let title = one("title", &c.title, false);
    let exclude: Vec<Selector> = c
        .post_exclude
        .iter()
        .flatten()
        .filter_map(|s| one("post_exclude", &Some(s.clone()), false))
        .collect();
    if c.post_author.is_none() && c.post_author_attr.is_none() {
        file.error(
            span.clone(),
            "missing `post_author` (or `post_author_attr`) in [source.selectors]",
        );
        ok = false;
    }
    let date_format = match c.post_date_format.as_deref().unwrap_or("rfc3339") {
        "rfc3339" => DateFormat::Rfc3339,
        "naive" => DateFormat::Naive,
        "localized" => DateFormat::Localized,
        f if f.contains('%') => DateFormat::Chrono(f.to_string()),
        f => {
            file.error(span, format!("unknown post_date_format `{f}`: expected rfc3339, naive, localized or a chrono format"));
            return None;
        }
    };
    if !ok {
        return None;
    }
    Some(Selectors {
        row: row?,
        link: link?,
        last_time: last_time.map(|s| Field {
            select: Some(s),
            attr: c.topic_last_time_attr.clone(),
        }),
        last_page,
        post: post?,
        post_id: Field {
            select: None,
            attr: Some(c.post_id_attr.clone().unwrap_or_else(|| "id".into())),
        },
        id_prefix: c.post_id_prefix.clone().unwrap_or_default(),
        permalink: permalink.map(|s| Field {
            select: Some(s),
            attr: Some("href".into()),
        }),
        author: Field {
            select: author,
            attr: if c.post_author.is_none() {
                c.post_author_attr.clone()
            } else {
                None
            },
        },
        date: Field {
            select: date,
            attr: c.post_date_attr.clone(),
        },
        date_format,
        body: body?,
        exclude,
        title,
    })
}

/// Decodes an HTML page: BOM, then the HTTP charset, then `<meta charset>`, then the
/// configured encoding, then UTF-8 if valid, else windows-1252 (what "Latin-1" pages are).
pub fn decode_html(
    bytes: &[u8],
    content_type: Option<&str>,
    fallback: Option<&'static encoding_rs::Encoding>,
) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc
            .decode_without_bom_handling(&bytes[bom..])
            .0
            .into_owned();
    }
    let from_header = content_type.and_then(|ct| {
        ct.split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
            .and_then(|(_, v)| {
                encoding_rs::Encoding::for_label(v.trim().trim_matches('"').as_bytes())
            })
    });
    let from_meta = || {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).to_ascii_lowercase();
        let i = head.find("charset=")?;
        let rest = head[i + 8..].trim_start_matches(['"', '\'']);
        let label: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        encoding_rs::Encoding::for_label(label.as_bytes())
    };
    let enc = from_header.or_else(from_meta).or(fallback);
    match enc {
        // A page that says UTF-8 but is not is read for what it is.
        Some(e) if e == encoding_rs::UTF_8 && std::str::from_utf8(bytes).is_err() => {
            encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned()
        }
        Some(e) => e.decode(bytes).0.into_owned(),
        None if std::str::from_utf8(bytes).is_ok() => String::from_utf8_lossy(bytes).into_owned(),
        None => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// Parses a forum date. `now` anchors relative dates ("Aujourd'hui", "Yesterday") in `tz`.
fn parse_date(
    raw: &str,
    format: &DateFormat,
    tz: Tz,
    day_first: bool,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let raw = raw.replace('\u{a0}', " ");
    let raw = raw.trim();
    let local = |n: NaiveDateTime| {
        tz.from_local_datetime(&n)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    };
    match format {
        DateFormat::Rfc3339 => DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|d| d.with_timezone(&Utc)),
        DateFormat::Chrono(f) => DateTime::parse_from_str(raw, f)
            .ok()
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| NaiveDateTime::parse_from_str(raw, f).ok().and_then(local)),
        DateFormat::Naive => DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| {
                NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
                    .ok()
                    .and_then(local)
            }),
        DateFormat::Localized => {
            let s = raw.to_lowercase().replace('’', "'");
            let today = now.with_timezone(&tz).date_naive();
            let day = if s.starts_with("aujourd'hui") || s.starts_with("today") {
                today
            } else if s.starts_with("hier") || s.starts_with("yesterday") {
                today.pred_opt()?
            } else {
                numeric_date(&s, today, day_first)?
            };
            let time = clock_time(&s).unwrap_or(NaiveTime::MIN);
            local(day.and_time(time))
        }
    }
}

/// "08/03/2026" (day first, French boards), "03-08-2026" (month first, English boards),
/// "2026-03-08"; when the usual order gives no valid date, the other one is tried.
fn numeric_date(s: &str, today: NaiveDate, day_first: bool) -> Option<NaiveDate> {
    let token = s
        .split([',', ' '])
        .find(|t| t.chars().filter(|c| c.is_ascii_digit()).count() >= 4)?;
    let parts: Vec<u32> = token
        .split(['/', '-', '.'])
        .filter_map(|p| p.parse().ok())
        .collect();
    let [a, b, c] = parts[..] else { return None };
    let year = |y: u32| if y < 100 { 2000 + y as i32 } else { y as i32 };
    if a > 999 {
        return NaiveDate::from_ymd_opt(a as i32, b, c);
    }
    if day_first {
        NaiveDate::from_ymd_opt(year(c), b, a).or_else(|| NaiveDate::from_ymd_opt(year(c), a, b))
    } else {
        NaiveDate::from_ymd_opt(year(c), a, b).or_else(|| NaiveDate::from_ymd_opt(year(c), b, a))
    }
    .filter(|d| d.year() <= today.year() + 1)
}

/// "09h41", "09:41", "6:05 PM".
fn clock_time(s: &str) -> Option<NaiveTime> {
    let bytes: Vec<char> = s.chars().collect();
    for i in 0..bytes.len() {
        if (bytes[i] == 'h' || bytes[i] == ':') && i > 0 && bytes[i - 1].is_ascii_digit() {
            let start = (0..i)
                .rev()
                .take_while(|&j| bytes[j].is_ascii_digit())
                .last()?;
            let h: u32 = bytes[start..i].iter().collect::<String>().parse().ok()?;
            let m: String = bytes[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let m: u32 = m.parse().ok()?;
            let rest: String = bytes[i + 1..].iter().collect();
            let h = if rest.contains("pm") && h < 12 {
                h + 12
            } else if rest.contains("am") && h == 12 {
                0
            } else {
                h
            };
            return NaiveTime::from_hms_opt(h, m, 0);
        }
    }
    None
}

/// A topic seen in a list.
#[derive(Debug)]
struct Topic {
    url: Url,
    title: String,
    last: Option<String>,
    last_page: Option<Url>,
}

impl Forum {
    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut super::api::SearchTerms> {
        None
    }

    fn clean(&self, u: &Url) -> Url {
        mention::canonical_url(u.as_str(), &self.strip).unwrap_or_else(|| u.clone())
    }

    /// One page, politely: robots.txt first, then the per-host delay.
    async fn page(
        &self,
        source: &Source,
        http: &Http,
        url: &Url,
        first: &mut bool,
        poll: &mut Poll,
    ) -> Result<Html, FetchError> {
        let robots = http.robots.check(http, source.allow_private, url).await?;
        let delay = robots
            .crawl_delay
            .unwrap_or_default()
            .max(http.limits.per_host_delay.std());
        if !*first {
            tokio::time::sleep(delay).await;
        }
        *first = false;
        match crawl::fetch::get(
            http,
            source.allow_private,
            url,
            &Validators::default(),
            "text/html",
        )
        .await?
        {
            Fetched::Body {
                bytes,
                content_type,
                ..
            } => {
                poll.bytes += bytes.len();
                Ok(Html::parse_document(&decode_html(
                    &bytes,
                    content_type.as_deref(),
                    self.encoding,
                )))
            }
            Fetched::NotModified => Ok(Html::parse_document("")),
        }
    }

    fn topics(&self, doc: &Html, page: &Url, poll: &mut Poll) -> Vec<Topic> {
        // Relative links resolve against <base href> when the page has one (vBulletin).
        let base = Selector::parse("base[href]")
            .ok()
            .and_then(|s| doc.select(&s).next())
            .and_then(|b| b.value().attr("href"))
            .and_then(|h| page.join(h).ok())
            .unwrap_or_else(|| page.clone());
        let mut out = Vec::new();
        for row in doc.select(&self.sel.row) {
            let Some(a) = row.select(&self.sel.link).next() else {
                continue;
            };
            let Some(href) = a.value().attr("href") else {
                continue;
            };
            let Ok(url) = base.join(href) else { continue };
            out.push(Topic {
                url: self.clean(&url),
                title: text::collapse_whitespace(&a.text().collect::<String>()),
                last: self.sel.last_time.as_ref().and_then(|f| f.get(row)),
                last_page: self
                    .sel
                    .last_page
                    .as_ref()
                    .and_then(|s| row.select(s).last())
                    .and_then(|l| l.value().attr("href"))
                    .and_then(|h| base.join(h).ok())
                    .map(|u| self.clean(&u)),
            });
        }
        if out.is_empty() {
            poll.warnings
                .push(format!("topic_row / topic_link matched nothing on {page}"));
        }
        out
    }

    fn posts(
        &self,
        source: &Source,
        doc: &Html,
        page: &Url,
        fallback_title: &str,
        now: DateTime<Utc>,
        posts: &mut Cursor,
        poll: &mut Poll,
    ) -> (usize, usize) {
        let base = Selector::parse("base[href]")
            .ok()
            .and_then(|s| doc.select(&s).next())
            .and_then(|b| b.value().attr("href"))
            .and_then(|h| page.join(h).ok())
            .unwrap_or_else(|| page.clone());
        let title = self
            .sel
            .title
            .as_ref()
            .and_then(|s| doc.select(s).next())
            .map(|t| text::collapse_whitespace(&t.text().collect::<String>()))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| fallback_title.to_string());
        let mut found = 0;
        let mut with_id = 0;
        let mut new = 0;
        let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
        for el in doc.select(&self.sel.post) {
            found += 1;
            let Some(raw_id) = self.sel.post_id.get(el) else {
                *missing.entry("post_id_attr").or_default() += 1;
                continue;
            };
            with_id += 1;
            let id = raw_id
                .strip_prefix(self.sel.id_prefix.as_str())
                .unwrap_or(&raw_id)
                .to_string();
            let key = format!("{}:{id}", self.host());
            if !posts.remember(&key) {
                continue;
            }
            new += 1;
            let url = self
                .sel
                .permalink
                .as_ref()
                .and_then(|f| f.get(el))
                .and_then(|h| base.join(&h).ok())
                .map(|u| self.clean(&u))
                .unwrap_or_else(|| {
                    let mut u = self.clean(page);
                    u.set_fragment(Some(&raw_id));
                    u
                });
            let author = self.sel.author.get(el);
            if author.is_none() {
                *missing.entry("post_author").or_default() += 1;
            }
            let date = self
                .sel
                .date
                .get(el)
                .and_then(|d| parse_date(&d, &self.sel.date_format, self.tz, self.french, now));
            if date.is_none() {
                *missing.entry("post_date").or_default() += 1;
            }
            let body = el
                .select(&self.sel.body)
                .next()
                .map(|b| text::element_text(b, &self.sel.exclude))
                .unwrap_or_default();
            if body.is_empty() {
                *missing.entry("post_body").or_default() += 1;
            }
            let item = Item {
                key,
                url: url.to_string(),
                title: title.clone(),
                text: body,
                author,
                published_at: date,
                ..Default::default()
            };
            let mut m = item.into_mention(&source.id, "forum", now);
            // The permalink carries the post anchor; the id stays the forum's own.
            if let Ok(mut u) = Url::parse(&m.url) {
                if u.fragment().is_none() {
                    u.set_fragment(Some(&raw_id));
                }
                m.url = u.to_string();
            }
            poll.mentions.push(m);
        }
        if found == 0 {
            poll.warnings
                .push(format!("post selector matched nothing on {page}"));
        }
        for (what, n) in missing {
            poll.warnings
                .push(format!("{what} matched nothing in {n} post(s) on {page}"));
        }
        (with_id, new)
    }

    /// The page before this one (`rel="prev"`, which phpBB, XenForo and vBulletin all
    /// mark), without session ids.
    fn prev_page(&self, doc: &Html, page: &Url) -> Option<Url> {
        static PREV: std::sync::OnceLock<Selector> = std::sync::OnceLock::new();
        let sel = PREV.get_or_init(|| {
            Selector::parse(r#"link[rel="prev"], a[rel="prev"]"#).expect("valid selector")
        });
        let href = doc.select(sel).next()?.value().attr("href")?;
        let url = page.join(href).ok()?;
        (url.origin() == page.origin()).then(|| self.clean(&url))
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        let old = api::cursors(state);
        let mut cursors = Cursors::new();
        let mut posts = old.get("posts").cloned().unwrap_or_default();
        let mut poll = Poll::default();
        let mut first = true;
        let mut due: Vec<(Topic, bool)> = Vec::new();
        let mut listed: HashSet<String> = HashSet::new();
        for list in &self.lists {
            let doc = self.page(source, http, list, &mut first, &mut poll).await?;
            for t in self.topics(&doc, list, &mut poll) {
                let key = format!("topic:{}", t.url);
                if !listed.insert(key.clone()) {
                    continue;
                }
                let known = old.get(&key).and_then(|c| c.position.clone());
                // New topic, or its last post moved (a list without times: always read).
                let changed = known.is_none() || t.last.is_none() || known != t.last;
                cursors.insert(
                    key,
                    Cursor {
                        position: if changed {
                            known.clone()
                        } else {
                            t.last.clone()
                        },
                        ..Default::default()
                    },
                );
                if changed {
                    due.push((t, known.is_some()));
                }
            }
        }
        for (t, known_topic) in due.into_iter().take(self.max_topics) {
            let mut pages = vec![t.url.clone()];
            if let Some(last) = &t.last_page
                && *last != t.url
            {
                pages.push(last.clone());
            }
            let mut queue: std::collections::VecDeque<Url> = pages.into();
            let mut visited: Vec<Url> = Vec::new();
            while let Some(page) = queue.pop_front() {
                if visited.contains(&page) {
                    continue;
                }
                visited.push(page.clone());
                let doc = match self.page(source, http, &page, &mut first, &mut poll).await {
                    Ok(d) => d,
                    // A topic robots.txt forbids is skipped, not the whole forum.
                    Err(FetchError::Disallowed(why)) => {
                        poll.warnings.push(why);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let (found, new) =
                    self.posts(source, &doc, &page, &t.title, now, &mut posts, &mut poll);
                // Every post of a later page is new: more replies than a page came since
                // the last poll, so read backwards until a page holds a known post.
                // (Not for a topic seen for the first time: its old replies are not news.)
                if known_topic
                    && page != t.url
                    && found > 0
                    && new == found
                    && visited.len() < api::MAX_PAGES + 1
                    && let Some(prev) = self.prev_page(&doc, &page)
                    && !visited.contains(&prev)
                {
                    queue.push_back(prev);
                }
            }
            // Only now is the topic read up to its last post.
            cursors.insert(
                format!("topic:{}", t.url),
                Cursor {
                    position: t.last.clone(),
                    ..Default::default()
                },
            );
        }
        cursors.insert("posts".into(), posts);
        poll.state = api::save(state, &cursors);
        Ok(poll)
    }
}

impl Forum {
    /// What one fetched page gives, read as [`Forum::poll`] reads it — its topics (a list
    /// page), its new posts (a topic page) and its previous page — without fetching: the
    /// entry point of the `forum` fuzz target ([`crate::fuzzing`]).
    #[doc(hidden)]
    pub fn read_page(
        &self,
        source: &Source,
        bytes: &[u8],
        content_type: Option<&str>,
        page: &Url,
        now: DateTime<Utc>,
    ) -> Poll {
        let doc = Html::parse_document(&decode_html(bytes, content_type, self.encoding));
        let mut poll = Poll::default();
        for t in self.topics(&doc, page, &mut poll) {
            poll.warnings.push(format!("topic {} {}", t.url, t.title));
        }
        let mut posts = Cursor::default();
        self.posts(source, &doc, page, "", now, &mut posts, &mut poll);
        if let Some(prev) = self.prev_page(&doc, page) {
            poll.warnings.push(format!("previous page {prev}"));
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

    #[test]
    fn relative_french_and_english_dates_in_the_board_time_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let fr = |s: &str| {
            parse_date(s, &DateFormat::Localized, paris, true, now())
                .unwrap()
                .to_rfc3339()
        };
        let en = |s: &str| {
            parse_date(s, &DateFormat::Localized, paris, false, now())
                .unwrap()
                .to_rfc3339()
        };
        assert_eq!(fr("Aujourd'hui,\u{a0}09h41"), "2026-03-10T08:41:00+00:00");
        assert_eq!(fr("Hier, 18h05"), "2026-03-09T17:05:00+00:00");
        assert_eq!(fr("08/03/2026, 18h05"), "2026-03-08T17:05:00+00:00");
        assert_eq!(en("Today, 09:41 AM"), "2026-03-10T08:41:00+00:00");
        assert_eq!(en("Yesterday, 06:05 PM"), "2026-03-09T17:05:00+00:00");
        assert_eq!(en("03-08-2026, 06:05 PM"), "2026-03-08T17:05:00+00:00");
        assert_eq!(en("03/25/2026, 06:05 PM"), "2026-03-25T17:05:00+00:00");
    }

    #[test]
    fn offsets_without_colon_and_naive_dates() {
        let f = DateFormat::Chrono("%Y-%m-%dT%H:%M:%S%z".into());
        assert_eq!(
            parse_date("2026-03-10T09:41:07+0100", &f, Tz::UTC, true, now())
                .unwrap()
                .to_rfc3339(),
            "2026-03-10T08:41:07+00:00"
        );
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(
            parse_date(
                "2026-03-10T09:41:07",
                &DateFormat::Naive,
                paris,
                true,
                now()
            )
            .unwrap()
            .to_rfc3339(),
            "2026-03-10T08:41:07+00:00"
        );
        assert_eq!(
            parse_date(
                "2026-03-10T08:41:07+00:00",
                &DateFormat::Rfc3339,
                Tz::UTC,
                true,
                now()
            )
            .unwrap()
            .to_rfc3339(),
            "2026-03-10T08:41:07+00:00"
        );
    }

    #[test]
    fn html_encodings() {
        let latin = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"></head><body>Caf\xe9 \x80 l\x92Acme</body></html>";
        assert!(decode_html(latin, Some("text/html"), None).contains("Café € l’Acme"));
        assert!(decode_html(latin, None, None).contains("Café € l’Acme"));
        assert!(decode_html("é".as_bytes(), Some("text/html; charset=utf-8"), None).contains('é'));
        assert!(decode_html(b"\xe9t\xe9", Some("text/html; charset=utf-8"), None).contains("été"));
    }
}
