//! veille — a self-hosted brand-mention monitoring daemon.
//!
//! # Layout
//!
//! Data flows left to right; each stage is one module with a small public surface.
//!
//! ```text
//! config ─► crawl::scheduler ─► sources::* ─► pipeline (ingest thread) ───────────────► alerts::outbox ─► notify::*
//!  (TOML)    (intervals, jitter,  (fetch +      match ─► store::index ─► store::state      (one worker per   (email, slack,
//!            backoff, limits)     parse into     (brand    (tantivy,      (seen ids, source  notifier, retries mattermost,
//!                                 Mention)       queries)   upsert)       state, rules ─►    with backoff)     webhook)
//!                                                                          alerts outbox)
//! ```
//!
//! - [`config`]: the config file and rule files, validated with `FILE:LINE:COLUMN` errors.
//! - [`mention`]: the one [`mention::Mention`] type, canonical URLs, stable ids.
//! - [`text`]: HTML → text, folding and the tokenizer shared by matching and the index.
//! - [`crawl`]: HTTP client and limits, private-address guard, conditional GET, lenient
//!   charset decoding ([`crawl::charset`]), scheduler.
//! - [`sources`]: one file per source kind (`rss.rs`, …); a feed is fetched in
//!   [`sources::rss::Rss::poll`], its oversized fields cut before parsing
//!   ([`sources::feedcut`]); every mention is capped to `[crawl] max_text` in
//!   [`sources::Source::poll`].
//! - [`matching`]: the brand query language and the [`matching::Matcher`].
//! - [`store`]: the tantivy index and the SQLite state (migrations, outbox tables).
//! - [`pipeline`]: the ingest stage — dedup, match, index, rules, outbox, in that order;
//!   a failure on one mention fails that mention only.
//! - [`rules`]: rule files; a rule is evaluated in [`rules::eval::Evaluator::evaluate`].
//! - [`enrich`]: language, sentiment (lexicons + the shipped model), near-duplicate
//!   stories, reach.
//! - [`alerts`]: the alert payload and the outbox delivery workers.
//! - [`notify`]: notifiers; an email is built in [`notify::email::build_message`], a chat
//!   message in `notify/chat/<platform>.rs`, the words of both in [`notify::view`].
//! - [`digest`]: scheduled summaries (cron), their figures, chart and formats.
//! - [`api`]: the HTTP side — health, metrics ([`metrics`]), the JSON API, WebSub.
//! - [`daemon`]: `veille run`, wiring the stages, reload (SIGHUP), systemd notify and
//!   watchdog, graceful shutdown.
//! - [`demo`]: `veille demo`, the whole pipeline offline on bundled samples.

pub mod alerts;
pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod demo;
pub mod digest;
pub mod enrich;
pub mod matching;
pub mod mention;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod rules;
pub mod sources;
pub mod store;
#[cfg(unix)]
pub mod systemd;
pub mod text;

#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod testutil;
