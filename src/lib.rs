//! veille — a self-hosted brand-mention monitoring daemon.
//!
//! # Layout
//!
//! Five layers, bottom to top; a module imports only from its own layer or below, and
//! the top-level modules form no cycle (held by `tests/architecture.rs`, whose table is
//! this one):
//!
//! ```text
//! (e) edges        config · daemon · api · cli · demo · fuzzing
//! (d) stages       scheduler · websub · ingest · ops · outbox · digest · backtest
//! (c) adapters     crawl · sources · store · notify · systemd
//! (b) pure logic   text · matching · enrich · rules · backoff
//! (a) model        model · mention · clock · metrics · testutil
//! ```
//!
//! Within (c), a source kind knows nothing of the store or the notifiers, and a notifier
//! nothing of the store; only `store/` writes SQL.
//!
//! Data flows through the stages:
//!
//! ```text
//! scheduler ─► sources::* ─► ingest (dedup, match, enrich, index, rules) ─► outbox ─► notify::*
//!  websub ──┘  (crawl: HTTP)          store::index · store::state            digest ─┘
//! ```
//!
//! **(a) model** — plain data, no I/O.
//! - [`model`]: [`model::Alert`], [`model::Severity`], [`model::SourceState`],
//!   [`model::Poll`], [`model::Event`], digest figures ([`model::digest::DigestData`]), and
//!   the config primitives: durations, sizes, secrets, file positions ([`model::diag`]).
//! - [`mention`]: the one [`mention::Mention`] type, canonical URLs, stable ids.
//! - [`clock`]: time as an input ([`clock::Clock`]; tests use [`clock::ManualClock`]).
//! - [`metrics`]: the counters and gauges; the gauges are given their values.
//! - `testutil`: test builders, only with `cfg(test)` or the dev-only `testutil` feature.
//!
//! **(b) pure logic** — over data it is given.
//! - [`text`]: HTML → text, folding and the tokenizer shared by matching and the index.
//! - [`matching`]: the brand query language and the [`matching::Matcher`].
//! - [`enrich`]: language, sentiment, near-duplicate stories, reach.
//! - [`rules`]: rule files; a rule is evaluated in [`rules::eval::Evaluator::evaluate`] over
//!   history it reads through the [`rules::History`] trait (the store implements it).
//! - [`backoff`]: the one backoff with jitter ([`backoff::Backoff`]), constants per caller.
//!
//! **(c) adapters** — one kind of outside thing each.
//! - [`crawl`]: the HTTP client, its limits and private-address guard, conditional GET,
//!   lenient charset decoding, robots.txt.
//! - [`sources`]: one file per source kind; the API sources share one paging loop
//!   ([`sources::paging::walk_queries`]).
//! - [`store`]: the tantivy index ([`store::index`]) and the SQLite state ([`store::state`],
//!   one file per thing stored), owning every SQL statement; typed errors.
//! - [`systemd`]: the service manager's notification socket, never blocking.
//! - [`notify`]: one file per notifier kind, each rendering alerts and digests; the kinds
//!   in one table ([`notify::KINDS`]); the words in [`notify::view`].
//!
//! **(d) stages** — each runs on its own; its entry point:
//! - [`scheduler`]: [`scheduler::Scheduler::run`] polls the sources when due.
//! - [`websub`]: [`websub::Registry`] subscribes, renews and takes pushed feeds.
//! - [`ingest`]: [`ingest::Ingest::run`], the ingest thread — dedup, match, enrich, index,
//!   rules, outbox, in that order; a failure on one mention fails that mention only.
//! - [`ops`]: veille's alerts about itself (`[ops]`), raised by ingest and the outbox.
//! - [`outbox`]: [`outbox::Outbox::run`], one delivery worker per notifier.
//! - [`digest`]: [`digest::Runner::run`] sends scheduled summaries.
//! - [`backtest`]: [`backtest::run_test`] replays a rule over the index's history.
//!
//! **(e) edges** — what names every stage.
//! - [`config`]: [`config::Config::load`], the config and rule files, `FILE:LINE:COLUMN` errors.
//! - [`daemon`]: [`daemon::run`], `veille run`: wiring, reload (SIGHUP), systemd, shutdown.
//! - [`api`]: [`api::serve`], health, metrics, the JSON API, WebSub callbacks.
//! - [`cli`]: the other commands of `veille`.
//! - `fuzzing`: the fuzz targets' entry points (`fuzz/`), behind the `fuzzing` feature.
//! - [`demo`]: [`demo::run`], `veille demo`, the whole pipeline offline on bundled samples.

pub mod api;
pub mod backoff;
pub mod backtest;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod demo;
pub mod digest;
pub mod enrich;
pub mod ingest;
pub mod matching;
pub mod mention;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod ops;
pub mod outbox;
pub mod rules;
pub mod scheduler;
pub mod sources;
pub mod store;
#[cfg(unix)]
pub mod systemd;
pub mod text;
pub mod websub;

#[cfg(any(test, feature = "testutil"))]
pub mod testutil;

/// Entry points of the fuzz targets (`fuzz/`), over test builders: only with the
/// `fuzzing` feature (the fuzz crate and the integration tests turn it on).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
