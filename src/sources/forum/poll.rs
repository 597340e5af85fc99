//! One poll of a forum source: the topic lists (entry pages), then the topics whose last
//! post moved and the watched threads, page by page.
//!
//! A page that fails is logged with its URL, counted and skipped; the topic is tried
//! again at the next poll (unless the page is gone: 404/410), and what was read is saved.
//! Only the topic lists failing, all of them, fails the poll. Pages are fetched with the
//! validators of their last answer (conditional GET), and robots.txt is saved in the
//! state with its expiry, so a restart does not fetch it again.

use std::collections::{HashSet, VecDeque};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use scraper::Html;
use url::Url;

use super::dates::Board;
use super::extract::{Post, Selectors, Topic};
use super::state::{Saved, forget_old_topics, load};
use crate::crawl::fetch::redact_url;
use crate::crawl::{self, FetchError, Fetched, Http};
use crate::mention;
use crate::sources::api::{self, Item};
use crate::sources::{Poll, Source, SourceState};

#[derive(Debug, Clone)]
pub struct Forum {
    pub(super) base: Url,
    pub(super) lists: Vec<Url>,
    pub(super) threads: Vec<Url>,
    pub(super) board: Board,
    pub(super) encoding: Option<&'static encoding_rs::Encoding>,
    pub(super) strip: Vec<String>,
    pub(super) max_topics: usize,
    pub(super) sel: Selectors,
}

/// How reading a topic ended.
#[derive(Debug, PartialEq)]
enum Read {
    /// Up to its last post (or gone): the topic's marker moves.
    Done,
    /// Cut short (a failed page, the page cap): read again next poll.
    Unfinished,
}

/// One poll in progress.
struct Run<'a> {
    forum: &'a Forum,
    source: &'a Source,
    http: &'a Http,
    now: DateTime<Utc>,
    poll: Poll,
    saved: Saved,
    first_request: bool,
    /// A page answered 429/503: no more requests this poll (and how long to wait).
    stopped: Option<Option<StdDuration>>,
    /// The first page that failed, for a poll that read nothing.
    first_error: Option<FetchError>,
    /// Pages fetched successfully (200 or 304).
    pages_ok: usize,
}

fn gone(e: &FetchError) -> bool {
    matches!(e.inner(), FetchError::Status(404 | 410))
}

impl<'a> Run<'a> {
    fn clean(&self, u: &Url) -> Url {
        mention::canonical_url(u.as_str(), &self.forum.strip).unwrap_or_else(|| u.clone())
    }

    /// One page, politely: robots.txt first, then the per-host delay, with the
    /// validators of its last answer. `None`: not modified.
    async fn fetch(
        &mut self,
        url: &Url,
        conditional: bool,
    ) -> Result<Option<(Html, Url)>, FetchError> {
        let robots = self
            .http
            .robots
            .check(self.http, self.source.allow_private, url)
            .await?;
        let delay = robots
            .crawl_delay
            .unwrap_or_default()
            .max(self.http.limits.per_host_delay.std());
        if !self.first_request {
            tokio::time::sleep(delay).await;
        }
        self.first_request = false;
        let key = url.as_str();
        let validators = conditional
            .then(|| self.saved.validators(key))
            .flatten()
            .unwrap_or_default();
        let fetched = crawl::fetch::get(
            self.http,
            self.source.allow_private,
            url,
            &validators,
            "text/html",
        )
        .await
        .map_err(|e| e.at(url))?;
        self.pages_ok += 1;
        match fetched {
            Fetched::NotModified => Ok(None),
            Fetched::Body {
                bytes,
                content_type,
                validators,
                url: final_url,
                ..
            } => {
                self.poll.bytes += bytes.len();
                self.saved.set_validators(key, validators);
                let html =
                    super::decode_html_owned(bytes, content_type.as_deref(), self.forum.encoding);
                Ok(Some((super::parse_page(&html), final_url)))
            }
        }
    }

    /// A page that could not be read: logged with its URL, counted, skipped. A rate
    /// limit stops the poll's requests.
    fn failed(&mut self, url: &Url, e: FetchError) {
        if let FetchError::Disallowed(why) = &e {
            self.poll.warnings.push(why.clone());
        } else {
            self.poll.failed_pages += 1;
            tracing::warn!(source = %self.source.id, url = %redact_url(url), error = %e.inner(), "forum page skipped");
            self.poll.warnings.push(format!("skipped: {e}"));
            if let FetchError::RateLimited { retry_after, .. } = e.inner() {
                self.stopped = Some(*retry_after);
            }
        }
        self.first_error.get_or_insert(e);
    }

    /// Turns a topic page into mentions; returns (posts found, posts new).
    fn posts(&mut self, doc: &Html, page: &Url, fallback_title: &str) -> (usize, usize) {
        let sel = &self.forum.sel;
        let title = sel.title(doc).unwrap_or_else(|| fallback_title.to_string());
        let host = self.forum.base.host_str().unwrap_or_default().to_string();
        let strip = &self.forum.strip;
        let clean =
            |u: &Url| mention::canonical_url(u.as_str(), strip).unwrap_or_else(|| u.clone());
        let (posts, missing) = sel.posts(doc, page, &host, self.forum.board, self.now, clean);
        if posts.is_empty() && missing.is_empty() {
            self.poll.warnings.push(format!(
                "post selector matched nothing on {}",
                redact_url(page)
            ));
        }
        for (what, n) in missing {
            self.poll.warnings.push(format!(
                "{what} matched nothing in {n} post(s) on {}",
                redact_url(page)
            ));
        }
        let mut seen = self.saved.cursors.remove("posts").unwrap_or_default();
        let found = posts.len();
        let mut new = 0;
        for p in posts {
            if !seen.remember(&p.key) {
                continue;
            }
            new += 1;
            let m = mention_of(&self.source.id, &title, p, self.now);
            self.poll.mentions.push(m);
        }
        self.saved.cursors.insert("posts".into(), seen);
        (found, new)
    }

    /// Reads a topic seen in a list: its first page and the page of its last post, then
    /// back (`prev`) while every post of a page is new; or, when the list gives no last
    /// page, forward from where the last poll stopped.
    async fn topic(&mut self, t: &Topic, known: bool, resume: &mut Option<String>) -> Read {
        match &t.last_page {
            Some(last) if *last != t.url => self.first_and_last(t, last, known).await,
            _ => self.forward(&t.url, &t.title, resume).await,
        }
    }

    async fn first_and_last(&mut self, t: &Topic, last: &Url, known: bool) -> Read {
        let mut queue: VecDeque<Url> = VecDeque::from([t.url.clone(), last.clone()]);
        let mut visited: Vec<Url> = Vec::new();
        while let Some(page) = queue.pop_front() {
            if visited.contains(&page) {
                continue;
            }
            visited.push(page.clone());
            let (doc, at) = match self.fetch(&page, true).await {
                Ok(Some(d)) => d,
                Ok(None) => continue,
                Err(e) => {
                    let gone = gone(&e) || matches!(e, FetchError::Disallowed(_));
                    self.failed(&page, e);
                    if gone {
                        continue;
                    }
                    return Read::Unfinished;
                }
            };
            let (found, new) = self.posts(&doc, &at, &t.title);
            // Every post of a later page is new: more replies than a page came since
            // the last poll, so read backwards until a page holds a known post. (Not
            // for a topic seen for the first time: its old replies are not news.)
            if known
                && page != t.url
                && found > 0
                && new == found
                && visited.len() < api::MAX_PAGES + 1
                && let Some(prev) = self.forward_or_back(&doc, &at, false)
                && !visited.contains(&prev)
            {
                queue.push_back(prev);
            }
        }
        Read::Done
    }

    fn forward_or_back(&self, doc: &Html, at: &Url, next: bool) -> Option<Url> {
        self.forum.sel.neighbour(doc, at, next, |u| self.clean(u))
    }

    /// Reads from `resume` (or `start`) and on through the `next` links, at most
    /// `MAX_PAGES` further pages; `resume` becomes the last page read.
    async fn forward(&mut self, start: &Url, title: &str, resume: &mut Option<String>) -> Read {
        let mut page = resume
            .as_deref()
            .and_then(|r| Url::parse(r).ok())
            .unwrap_or_else(|| start.clone());
        let mut visited: Vec<Url> = Vec::new();
        loop {
            visited.push(page.clone());
            let (doc, at) = match self.fetch(&page, true).await {
                Ok(Some(d)) => d,
                // Unchanged: no post and no next page was added to it.
                Ok(None) => return Read::Done,
                Err(e) => {
                    let gone = gone(&e) || matches!(e, FetchError::Disallowed(_));
                    self.failed(&page, e);
                    if gone {
                        // The page we stopped at is gone: start over next time.
                        *resume = None;
                        return Read::Done;
                    }
                    return Read::Unfinished;
                }
            };
            self.posts(&doc, &at, title);
            *resume = Some(page.to_string());
            match self.forward_or_back(&doc, &at, true) {
                Some(next) if !visited.contains(&next) => {
                    if visited.len() > api::MAX_PAGES || self.stopped.is_some() {
                        return Read::Unfinished;
                    }
                    page = next;
                }
                _ => return Read::Done,
            }
        }
    }
}

/// A post as a mention of the topic `title`.
fn mention_of(source_id: &str, title: &str, p: Post, now: DateTime<Utc>) -> mention::Mention {
    let item = Item {
        key: p.key,
        url: p.url.to_string(),
        title: title.to_string(),
        text: p.text,
        author: p.author,
        published_at: p.published_at,
        ..Default::default()
    };
    let mut m = item.into_mention(source_id, "forum", now);
    // The canonical URL lost the post anchor; put it back.
    if let Ok(mut u) = Url::parse(&m.url) {
        if u.fragment().is_none() {
            u.set_fragment(Some(&p.anchor));
        }
        m.url = u.to_string();
    }
    m
}

impl Forum {
    /// What one fetched page gives, read as [`Forum::poll`] reads it — its topics (a
    /// list page), its posts as mentions (a topic page), its previous and next pages —
    /// without fetching: the entry point of the `forum` fuzz target (`veille::fuzzing`, with the `fuzzing` feature).
    #[doc(hidden)]
    pub fn read_page(
        &self,
        source: &Source,
        bytes: &[u8],
        content_type: Option<&str>,
        page: &Url,
        now: DateTime<Utc>,
    ) -> Poll {
        let html = super::decode_html(bytes, content_type, self.encoding);
        let doc = super::parse_page(&html);
        let clean =
            |u: &Url| mention::canonical_url(u.as_str(), &self.strip).unwrap_or_else(|| u.clone());
        let mut poll = Poll::default();
        for t in self.sel.topics(&doc, page, clean) {
            poll.warnings.push(format!("topic {} {}", t.url, t.title));
        }
        let title = self.sel.title(&doc).unwrap_or_default();
        let (posts, _) = self
            .sel
            .posts(&doc, page, &self.host(), self.board, now, clean);
        for p in posts {
            poll.mentions.push(mention_of(&source.id, &title, p, now));
        }
        for next in [false, true] {
            if let Some(u) = self.sel.neighbour(&doc, page, next, clean) {
                poll.warnings.push(format!("neighbour {u}"));
            }
        }
        poll
    }

    pub fn host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    pub fn search_mut(&mut self) -> Option<&mut api::SearchTerms> {
        None
    }

    pub async fn poll(
        &self,
        source: &Source,
        http: &Http,
        state: &SourceState,
        now: DateTime<Utc>,
    ) -> Result<Poll, FetchError> {
        let saved = load(state);
        let conditional_lists = !saved.backlog;
        let mut run = Run {
            forum: self,
            source,
            http,
            now,
            poll: Poll::default(),
            saved,
            first_request: true,
            stopped: None,
            first_error: None,
            pages_ok: 0,
        };
        run.saved.restore_robots(http, now);
        run.saved.backlog = false;

        // Entry pages: the topic lists.
        let mut due: Vec<(Topic, bool)> = Vec::new();
        let mut listed: HashSet<String> = HashSet::new();
        let mut lists_ok = 0;
        for list in &self.lists {
            if run.stopped.is_some() {
                break;
            }
            let (doc, at) = match run.fetch(list, conditional_lists).await {
                Ok(Some(d)) => d,
                Ok(None) => {
                    lists_ok += 1;
                    continue;
                }
                Err(e) => {
                    run.failed(list, e);
                    continue;
                }
            };
            lists_ok += 1;
            let topics = self.sel.topics(&doc, &at, |u| run.clean(u));
            if topics.is_empty() {
                run.poll.warnings.push(format!(
                    "topic_row / topic_link matched nothing on {}",
                    redact_url(list)
                ));
            }
            for t in topics {
                let key = format!("topic:{}", t.url);
                if !listed.insert(key.clone()) {
                    continue;
                }
                let mut c = run.saved.cursors.remove(&key).unwrap_or_default();
                let known = c.position.clone();
                // New topic, or its last post moved (a list without markers: always read);
                // a topic left unfinished kept its old marker, so it is read again.
                if known.is_none() || t.last.is_none() || known != t.last {
                    due.push((t, known.is_some()));
                }
                c.watermark = Some(now.timestamp());
                run.saved.cursors.insert(key, c);
            }
        }
        if !self.lists.is_empty() && lists_ok == 0 {
            return Err(run
                .first_error
                .unwrap_or_else(|| FetchError::Other("no topic list read".into())));
        }

        // The topics that moved, at most `max_topics` of them.
        if due.len() > self.max_topics {
            run.saved.backlog = true;
        }
        for (t, known) in due.into_iter().take(self.max_topics) {
            if run.stopped.is_some() {
                run.saved.backlog = true;
                break;
            }
            let key = format!("topic:{}", t.url);
            let mut c = run.saved.cursors.remove(&key).unwrap_or_default();
            match run.topic(&t, known, &mut c.resume).await {
                Read::Done => c.position = t.last.clone(),
                Read::Unfinished => run.saved.backlog = true,
            }
            run.saved.cursors.insert(key, c);
        }

        // Watched threads: read forward from where the last poll stopped.
        for url in &self.threads {
            if run.stopped.is_some() {
                run.saved.backlog = true;
                break;
            }
            let key = format!("thread:{url}");
            let mut c = run.saved.cursors.remove(&key).unwrap_or_default();
            if run.forward(url, "", &mut c.resume).await == Read::Unfinished {
                run.saved.backlog = true;
            }
            run.saved.cursors.insert(key, c);
        }
        // Nothing could be read at all (every watched thread failed, or a rate limit
        // from the first request): the poll fails with the first error.
        if run.pages_ok == 0
            && let Some(e) = run.first_error.take()
        {
            return Err(e);
        }
        if let Some(wait) = run.stopped.take() {
            run.saved.backlog = true;
            run.poll.retry_after = Some(wait.unwrap_or(StdDuration::from_secs(60)));
        }
        forget_old_topics(&mut run.saved.cursors);
        let origins = std::iter::once(&self.base).chain(&self.threads);
        run.saved.save_robots(http, origins, now);
        run.poll.state = SourceState {
            validators: state.validators.clone(),
            cursor: serde_json::to_value(&run.saved).ok(),
            quota: None,
        };
        Ok(run.poll)
    }
}
