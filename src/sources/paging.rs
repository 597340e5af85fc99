//! Where each query of an API source stands (a [`Cursor`] per query, saved in the
//! source's state), and the one loop every API source runs over its queries, with the one
//! way a rate limit stops it.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration as StdDuration;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::Source;
use crate::crawl::{FetchError, Http};
use crate::model::{Poll, SourceState};

/// Ids remembered per query, to drop what an overlapping poll fetches again.
pub const SEEN_CAP: usize = 2000;
/// Each poll looks this far behind the watermark, for late-indexed items.
pub const OVERLAP_SECS: i64 = 600;
/// Pages fetched per query and poll at most; an unfinished walk resumes at the next poll
/// (see [`Cursor::start_walk`]).
pub const MAX_PAGES: usize = 5;

/// Where a query stands: the newest timestamp seen and the ids seen lately.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Newest item time (Unix seconds) or id, depending on the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<i64>,
    /// API-specific position (newest id, paging token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub seen: VecDeque<String>,
    /// The last poll stopped at its page limit with more to read: the next one goes on
    /// from where it stopped, without looking back over the overlap first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub behind: bool,
    /// A newest-first walk that did not reach the watermark within `MAX_PAGES` (or was
    /// stopped by a rate limit): the page (number, token or id) it resumes at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// The newest item of that unfinished walk: the watermark once it finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<i64>,
    /// Polls the current walk has been going on for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumed: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Polls a walk may take before it is given up: a query that gets more than `MAX_PAGES`
/// pages of new items every poll would otherwise never let the watermark move.
const MAX_RESUMES: u32 = 6;

impl Cursor {
    pub fn has_seen(&self, id: &str) -> bool {
        self.seen.iter().any(|s| s == id)
    }

    /// Remembers an id; returns false if it was already known.
    pub fn remember(&mut self, id: &str) -> bool {
        if self.has_seen(id) {
            return false;
        }
        self.seen.push_back(id.to_string());
        while self.seen.len() > SEEN_CAP {
            self.seen.pop_front();
        }
        true
    }

    /// Starts a newest-first walk: where to resume (if the last one was cut short) and
    /// the newest item already met by it.
    ///
    /// A burst of more than `MAX_PAGES` pages is read over several polls: the walk goes
    /// on down to the old watermark before the watermark moves, so the oldest items of the
    /// burst are not skipped; items newer than the walk wait for the next one.
    pub fn start_walk(&mut self) -> (Option<String>, Option<i64>) {
        match self.resume.take() {
            Some(r) => (Some(r), self.pending.take().or(self.watermark)),
            None => (None, self.watermark),
        }
    }

    /// Ends a walk: finished (`next` is None), the watermark moves to `newest`; cut short,
    /// the next poll resumes at `next`.
    pub fn end_walk(&mut self, source: &str, newest: Option<i64>, next: Option<String>) {
        match next {
            Some(token) if self.resumed < MAX_RESUMES => {
                self.resume = Some(token);
                self.pending = newest;
                self.resumed += 1;
            }
            cut => {
                if cut.is_some() {
                    tracing::warn!(
                        source,
                        polls = self.resumed + 1,
                        "more new items every poll than {MAX_PAGES} pages hold: the rest of this burst is skipped (poll more often, or narrow the query)"
                    );
                }
                if let Some(n) = newest {
                    self.advance(n);
                }
                self.pending = None;
                self.resumed = 0;
            }
        }
    }

    pub fn advance(&mut self, t: i64) {
        self.watermark = Some(self.watermark.map_or(t, |w| w.max(t)));
    }

    /// Watermark minus the overlap, for `since`-style parameters.
    pub fn since(&self) -> Option<i64> {
        self.watermark.map(|w| w - OVERLAP_SECS)
    }
}

/// The pages one walk has asked for. A server that hands back a page token this walk
/// already fetched, or a page that brings nothing new, ends the walk there: a repeating
/// or stuck server then costs one more request, not [`MAX_PAGES`] per query and poll
/// (quota-metered APIs such as YouTube's count every one).
#[derive(Debug, Default)]
pub struct Pages {
    asked: std::collections::HashSet<String>,
}

impl Pages {
    /// Records that the page at `token` (`None`: the first page) is about to be fetched;
    /// false if this walk fetched it already, and the walk should stop.
    pub fn first_time(&mut self, token: Option<&str>) -> bool {
        self.asked.insert(token.unwrap_or_default().to_string())
    }

    /// Whether a page that added `new` items (after dropping those already seen) is worth
    /// following: a page of nothing new means the walk reached what was read before.
    pub fn worth_following(new: usize) -> bool {
        new > 0
    }
}

/// One cursor per query of a source, saved in its state.
pub type Cursors = BTreeMap<String, Cursor>;

pub fn cursors(state: &SourceState) -> Cursors {
    state
        .cursor
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

pub fn save(state: &SourceState, cursors: &Cursors) -> SourceState {
    SourceState {
        validators: state.validators.clone(),
        cursor: serde_json::to_value(cursors).ok(),
        // Kept: `Source::poll` adds this poll's spend to it.
        quota: state.quota,
    }
}

/// One query's walk of an API source, as [`walk_queries`] runs it for each query.
///
/// A trait rather than an async closure: a closure borrowing the source, the HTTP client
/// and the cursor is higher-ranked over those borrows, and the compiler then cannot prove
/// the poll's future `Send` for the scheduler's tasks.
pub trait Walk {
    /// What one query is (a search term, a timeline…).
    type Query;
    /// Reads the query's new items into `poll`, moving its `cursor`.
    fn walk(
        &mut self,
        query: Self::Query,
        cursor: &mut Cursor,
        poll: &mut Poll,
    ) -> impl Future<Output = Result<(), FetchError>> + Send;
}

/// A source kind with what its poll was given: the walker most API sources use.
pub struct Walker<'a, K> {
    pub kind: &'a K,
    pub source: &'a Source,
    pub http: &'a Http,
    pub now: DateTime<Utc>,
}

/// Runs `walker` for each query of a poll, with the query's cursor (`key` names it in
/// the source's state), then returns the poll with the cursors saved in its state. See
/// [`walk_queries`] for what a rate limit does.
pub async fn each_query<W: Walk>(
    state: &SourceState,
    queries: impl IntoIterator<Item = (String, W::Query)>,
    walker: &mut W,
) -> Result<Poll, FetchError> {
    let mut cursors = cursors(state);
    let mut poll = Poll::default();
    walk_queries(&mut cursors, &mut poll, queries, walker).await?;
    poll.state = save(state, &cursors);
    Ok(poll)
}

/// The loop over a source's queries, on cursors and a poll the caller holds (a source
/// with a cursor shared by its queries takes it out first).
///
/// A rate limit — a walk's [`FetchError::RateLimited`], or the API saying its quota is
/// spent (`poll.retry_after` set by the walk) — ends the poll: the queries left wait for
/// the next one, and nothing already fetched is dropped. The poll returns its mentions
/// with the wait in `retry_after`; the query the limit interrupted keeps its cursor as it
/// was (what it did read is met again next time and dropped as seen). Only a poll that
/// found nothing fails with the limit. Any other error fails the poll: nothing of it is
/// saved, the next one does it again.
pub async fn walk_queries<W: Walk>(
    cursors: &mut Cursors,
    poll: &mut Poll,
    queries: impl IntoIterator<Item = (String, W::Query)>,
    walker: &mut W,
) -> Result<(), FetchError> {
    let queries: Vec<(String, W::Query)> = queries.into_iter().collect();
    for (key, q) in queries {
        if poll.retry_after.is_some() {
            break;
        }
        let cursor = cursors.entry(key).or_default();
        let before = cursor.clone();
        match walker.walk(q, cursor, poll).await {
            Ok(()) => {}
            Err(FetchError::RateLimited {
                status,
                retry_after,
            }) => {
                *cursor = before;
                if poll.mentions.is_empty() {
                    return Err(FetchError::RateLimited {
                        status,
                        retry_after,
                    });
                }
                let wait = retry_after.unwrap_or(RATE_LIMIT_WAIT);
                tracing::info!(
                    status,
                    wait_s = wait.as_secs(),
                    kept = poll.mentions.len(),
                    "rate limited: what this poll fetched is kept, the rest waits"
                );
                poll.retry_after = Some(poll.retry_after.map_or(wait, |w| w.max(wait)));
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The wait after a rate limit that did not say how long.
const RATE_LIMIT_WAIT: StdDuration = StdDuration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_resumes_then_finishes_or_is_given_up() {
        let mut c = Cursor {
            watermark: Some(100),
            ..Default::default()
        };
        // Cut short: resumes next poll, the watermark waits.
        assert_eq!(c.start_walk(), (None, Some(100)));
        c.end_walk("s", Some(500), Some("5".into()));
        assert_eq!((c.watermark, c.resume.as_deref()), (Some(100), Some("5")));
        // Finished: the watermark moves to the newest item of the whole walk.
        assert_eq!(c.start_walk(), (Some("5".into()), Some(500)));
        c.end_walk("s", Some(500), None);
        assert_eq!(
            (c.watermark, c.resume.as_deref(), c.pending),
            (Some(500), None, None)
        );
        // Cut every poll: given up after MAX_RESUMES polls, so the watermark still moves.
        for _ in 0..MAX_RESUMES {
            let (_, newest) = c.start_walk();
            c.end_walk("s", newest.max(Some(900)), Some("5".into()));
            assert_eq!(c.watermark, Some(500));
        }
        let (_, newest) = c.start_walk();
        c.end_walk("s", newest, Some("5".into()));
        assert_eq!(
            (c.watermark, c.resume.as_deref(), c.resumed),
            (Some(900), None, 0)
        );
    }

    #[test]
    fn cursor_seen_set_is_bounded() {
        let mut c = Cursor::default();
        assert!(c.remember("a"));
        assert!(!c.remember("a"));
        for i in 0..SEEN_CAP + 10 {
            c.remember(&i.to_string());
        }
        assert_eq!(c.seen.len(), SEEN_CAP);
        assert!(!c.has_seen("a"));
        c.advance(100);
        c.advance(50);
        assert_eq!(c.watermark, Some(100));
        assert_eq!(c.since(), Some(100 - OVERLAP_SECS));
    }

    fn poll_of(n: usize) -> Vec<crate::mention::Mention> {
        (0..n)
            .map(|i| crate::testutil::mention(&format!("m{i}"), ""))
            .collect()
    }

    /// A walker scripted by a function of the query, recording what it was asked.
    struct Script<Q, F> {
        asked: Vec<String>,
        f: F,
        query: std::marker::PhantomData<fn(Q)>,
    }

    impl<Q: ToString, F> Walk for Script<Q, F>
    where
        F: FnMut(Q, &mut Cursor, &mut Poll) -> Result<(), FetchError> + Send,
    {
        type Query = Q;
        fn walk(
            &mut self,
            q: Q,
            cursor: &mut Cursor,
            poll: &mut Poll,
        ) -> impl Future<Output = Result<(), FetchError>> + Send {
            self.asked.push(q.to_string());
            let r = (self.f)(q, cursor, poll);
            async move { r }
        }
    }

    fn script<Q, F: FnMut(Q, &mut Cursor, &mut Poll) -> Result<(), FetchError>>(
        f: F,
    ) -> Script<Q, F> {
        Script {
            asked: Vec::new(),
            f,
            query: std::marker::PhantomData,
        }
    }

    /// Regression: a rate limit on a later query dropped the items of the earlier ones.
    #[tokio::test]
    async fn a_rate_limit_keeps_what_earlier_queries_fetched() {
        let state = SourceState::default();
        let queries = ["acme", "globex", "initech"].map(|q| (q.to_string(), q));
        let mut walker = script(|q: &str, cursor: &mut Cursor, poll: &mut Poll| match q {
            "acme" => {
                poll.mentions.extend(poll_of(2));
                cursor.advance(100);
                Ok(())
            }
            _ => {
                cursor.advance(999);
                Err(FetchError::RateLimited {
                    status: 429,
                    retry_after: Some(StdDuration::from_secs(300)),
                })
            }
        });
        let poll = each_query(&state, queries, &mut walker).await.unwrap();
        assert_eq!(
            walker.asked,
            ["acme", "globex"],
            "the rest waits for the next poll"
        );
        assert_eq!(poll.mentions.len(), 2);
        assert_eq!(poll.retry_after, Some(StdDuration::from_secs(300)));
        let saved = cursors(&poll.state);
        assert_eq!(saved["acme"].watermark, Some(100));
        assert_eq!(
            saved.get("globex").and_then(|c| c.watermark),
            None,
            "the interrupted query keeps its cursor as it was"
        );
    }

    #[tokio::test]
    async fn a_rate_limit_before_anything_is_an_error_and_others_fail_the_poll() {
        let state = SourceState::default();
        let mut limited = script(|_: u8, _: &mut Cursor, _: &mut Poll| {
            Err(FetchError::RateLimited {
                status: 429,
                retry_after: None,
            })
        });
        let limited = each_query(&state, [("q".to_string(), 0)], &mut limited).await;
        assert!(matches!(
            limited,
            Err(FetchError::RateLimited { status: 429, .. })
        ));
        let queries = [("a".to_string(), true), ("b".to_string(), false)];
        let mut failing = script(|ok: bool, _: &mut Cursor, poll: &mut Poll| {
            if ok {
                poll.mentions.extend(poll_of(1));
                Ok(())
            } else {
                Err(FetchError::Api("HTTP 500".into()))
            }
        });
        let failed = each_query(&state, queries, &mut failing).await;
        assert!(matches!(failed, Err(FetchError::Api(_))));
    }

    #[tokio::test]
    async fn a_quota_said_spent_stops_the_loop() {
        let state = SourceState::default();
        let queries = [("a".to_string(), 1), ("b".to_string(), 2)];
        let mut spent = script(|_: i32, _: &mut Cursor, poll: &mut Poll| {
            poll.retry_after = Some(StdDuration::from_secs(42));
            Ok(())
        });
        let poll = each_query(&state, queries, &mut spent).await.unwrap();
        assert_eq!(
            (spent.asked.len(), poll.retry_after),
            (1, Some(StdDuration::from_secs(42)))
        );
    }
}
