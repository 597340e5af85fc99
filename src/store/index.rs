//! The tantivy index of mentions: searchable text, brand, source, site, language, dates.
//!
//! Text fields use veille's own tokenizer ([`crate::text::tokenize`]), the one the live
//! matcher uses, and brand queries are translated into tantivy queries term for term:
//! a query finds the same mentions in search as it matches live.
//!
//! The translation of brand queries into tantivy queries is in `index_translate.rs`, the
//! tests in `index_tests.rs`.

use std::ops::Bound;
use std::path::Path;

use chrono::{DateTime, Utc};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query as TQuery, RangeQuery, TermQuery};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, STORED, STRING,
    Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{Token as TToken, TokenStream, Tokenizer};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

use super::{Error, Result};
use crate::matching::{Document, Query, SearchRequest};
use crate::mention::Mention;
use crate::text;

/// Bumped when the schema changes; an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 2;
const TOKENIZER: &str = "veille";

/// tantivy adapter around [`text::tokenize`].
#[derive(Clone, Default)]
pub struct VeilleTokenizer;

pub struct VeilleTokenStream {
    tokens: Vec<TToken>,
    next: usize,
}

impl Tokenizer for VeilleTokenizer {
    type TokenStream<'a> = VeilleTokenStream;
    fn token_stream<'a>(&'a mut self, s: &'a str) -> VeilleTokenStream {
        let mut tokens = Vec::new();
        text::tokenize(s, |t| {
            tokens.push(TToken {
                offset_from: t.start,
                offset_to: t.end,
                position: t.position as usize,
                text: t.text.to_string(),
                position_length: 1,
            })
        });
        VeilleTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for VeilleTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &TToken {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut TToken {
        &mut self.tokens[self.next - 1]
    }
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    json: Field,
    title: Field,
    text: Field,
    author: Field,
    brand: Field,
    source: Field,
    source_kind: Field,
    site: Field,
    lang: Field,
    published: Field,
    fetched: Field,
    reach: Field,
    sentiment: Field,
    label: Field,
    story: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let date = DateOptions::default()
        .set_indexed()
        .set_fast()
        .set_precision(DateTimePrecision::Seconds);
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        json: b.add_text_field("json", STORED),
        title: b.add_text_field("title", words.clone()),
        text: b.add_text_field("text", words.clone()),
        author: b.add_text_field("author", words),
        brand: b.add_text_field("brand", STRING),
        source: b.add_text_field("source", STRING),
        source_kind: b.add_text_field("source_kind", STRING),
        site: b.add_text_field("site", STRING),
        lang: b.add_text_field("lang", STRING),
        published: b.add_date_field("published", date.clone()),
        fetched: b.add_date_field("fetched", date),
        reach: b.add_u64_field("reach", NumericOptions::default().set_fast().set_indexed()),
        sentiment: b.add_f64_field(
            "sentiment",
            NumericOptions::default().set_fast().set_indexed(),
        ),
        label: b.add_text_field("label", STRING),
        story: b.add_text_field("story", STRING),
    };
    (b.build(), fields)
}

pub struct MentionIndex {
    index: Index,
    reader: IndexReader,
    f: Fields,
}

/// The single writer; only the ingest stage holds one.
pub struct MentionWriter {
    writer: IndexWriter,
    f: Fields,
}

impl MentionIndex {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path) -> Result<MentionIndex> {
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { what, path, source }
        };
        std::fs::create_dir_all(dir).map_err(io("create index directory", dir))?;
        let (schema, f) = schema();
        let version_file = dir.join("veille-schema-version");
        let has_index = dir.join("meta.json").exists();
        let open = |what, e: tantivy::TantivyError| Error::Open {
            what,
            path: dir.to_path_buf(),
            source: Box::new(e.into()),
        };
        let index = if has_index {
            let v: u32 = std::fs::read_to_string(&version_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            if v != SCHEMA_VERSION {
                return Err(Error::IndexVersion {
                    dir: dir.to_path_buf(),
                    found: v,
                    needs: SCHEMA_VERSION,
                });
            }
            Index::open_in_dir(dir).map_err(|e| open("open index in", e))?
        } else {
            let i = Index::create_in_dir(dir, schema).map_err(|e| open("create index in", e))?;
            std::fs::write(&version_file, SCHEMA_VERSION.to_string())
                .map_err(io("write", &version_file))?;
            i
        };
        index.tokenizers().register(TOKENIZER, VeilleTokenizer);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(MentionIndex { index, reader, f })
    }

    /// Takes the index writer (fails if another process holds it).
    pub fn writer(&self) -> Result<MentionWriter> {
        let writer = self
            .index
            .writer_with_num_threads(2, 64 << 20)
            .map_err(Error::IndexLocked)?;
        Ok(MentionWriter { writer, f: self.f })
    }

    /// Makes the last commit visible to searches.
    pub fn reload(&self) -> Result<()> {
        self.reader.reload()?;
        Ok(())
    }

    fn filters(&self, req: &SearchRequest) -> Box<dyn TQuery> {
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        if let Some(q) = &req.query {
            clauses.push((Occur::Must, self.translate(q, true)));
        }
        if let Some(b) = &req.brand {
            clauses.push((Occur::Must, term_query(self.f.brand, b)));
        }
        if let Some(s) = &req.source {
            clauses.push((Occur::Must, term_query(self.f.source, &s.to_lowercase())));
        }
        if let Some(l) = &req.label {
            clauses.push((Occur::Must, term_query(self.f.label, l)));
        }
        if let Some(l) = &req.lang {
            clauses.push((
                Occur::Must,
                term_query(self.f.lang, &crate::matching::primary_language(l)),
            ));
        }
        if !req.source_kinds.is_empty() {
            clauses.push((
                Occur::Must,
                either(
                    req.source_kinds
                        .iter()
                        .map(|k| term_query(self.f.source_kind, &k.to_lowercase())),
                ),
            ));
        }
        if !req.langs.is_empty() {
            clauses.push((
                Occur::Must,
                either(
                    req.langs
                        .iter()
                        .map(|l| term_query(self.f.lang, &crate::matching::primary_language(l))),
                ),
            ));
        }
        if req.since.is_some() || req.until.is_some() {
            let bound = |d: Option<DateTime<Utc>>, incl: bool| match d {
                Some(d) => {
                    let t = Term::from_field_date(self.f.published, to_tantivy(d));
                    if incl {
                        Bound::Included(t)
                    } else {
                        Bound::Excluded(t)
                    }
                }
                None => Bound::Unbounded,
            };
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(req.since, true),
                    bound(req.until, false),
                )),
            ));
        }
        if clauses.is_empty() {
            return Box::new(AllQuery);
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Mentions matching `req`, newest first.
    pub fn search(&self, req: &SearchRequest) -> Result<Vec<Mention>> {
        let searcher = self.reader.searcher();
        let q = self.filters(req);
        let limit = req.limit.max(1);
        let exact = req.query.as_ref().is_none_or(Query::is_exact_in_index);
        if exact {
            let top: Vec<(Option<tantivy::DateTime>, DocAddress)> = searcher.search(
                &q,
                &TopDocs::with_limit(limit)
                    .and_offset(req.offset)
                    .order_by_fast_field("published", Order::Desc),
            )?;
            return top
                .into_iter()
                .map(|(_, addr)| self.load(&searcher, addr))
                .collect();
        }
        // Proximity: candidates newest first, checked with the matcher's evaluator, page
        // after page until enough are found.
        let query = req.query.as_ref().expect("inexact implies a query");
        let mut out = Vec::new();
        let mut skipped = 0;
        let mut from = 0;
        let page = (limit + req.offset).max(64) * 2;
        loop {
            let top: Vec<(Option<tantivy::DateTime>, DocAddress)> = searcher.search(
                &q,
                &TopDocs::with_limit(page)
                    .and_offset(from)
                    .order_by_fast_field("published", Order::Desc),
            )?;
            let n = top.len();
            for (_, addr) in top {
                let m = self.load(&searcher, addr)?;
                if Document::of_mention(&m).is_match(query) {
                    if skipped < req.offset {
                        skipped += 1;
                    } else {
                        out.push(m);
                        if out.len() == limit {
                            return Ok(out);
                        }
                    }
                }
            }
            if n < page {
                return Ok(out);
            }
            from += page;
        }
    }

    /// The mention with this id.
    pub fn get(&self, id: &str) -> Result<Option<Mention>> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.f.id, id),
            IndexRecordOption::Basic,
        );
        let top: Vec<(tantivy::Score, DocAddress)> =
            searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        top.first()
            .map(|(_, addr)| self.load(&searcher, *addr))
            .transpose()
    }

    /// How many mentions match `req` (limit and offset ignored).
    pub fn count(&self, req: &SearchRequest) -> Result<usize> {
        let searcher = self.reader.searcher();
        let q = self.filters(req);
        match &req.query {
            Some(query) if !query.is_exact_in_index() => {
                let docs = searcher.search(&q, &tantivy::collector::DocSetCollector)?;
                let mut n = 0;
                for addr in docs {
                    if Document::of_mention(&self.load(&searcher, addr)?).is_match(query) {
                        n += 1;
                    }
                }
                Ok(n)
            }
            _ => Ok(searcher.search(&q, &Count)?),
        }
    }

    /// Number of distinct stories among the mentions `req` selects (syndicated copies of
    /// one article count once; a mention without a story is its own).
    pub fn count_stories(&self, req: &SearchRequest) -> Result<usize> {
        let searcher = self.reader.searcher();
        let q = self.filters(req);
        let docs = searcher.search(&q, &tantivy::collector::DocSetCollector)?;
        let mut stories = std::collections::HashSet::new();
        for addr in docs {
            let m = self.load(&searcher, addr)?;
            if let Some(query) = &req.query
                && !query.is_exact_in_index()
                && !Document::of_mention(&m).is_match(query)
            {
                continue;
            }
            stories.insert(m.story.unwrap_or(m.id));
        }
        Ok(stories.len())
    }

    /// A searcher over the last committed state (benches compare raw tantivy plans).
    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// Total number of mentions.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn load(&self, searcher: &tantivy::Searcher, addr: DocAddress) -> Result<Mention> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let json = doc
            .get_first(self.f.json)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::Corrupt("indexed document without its stored mention".into()))?;
        serde_json::from_str(json)
            .map_err(|e| Error::Corrupt(format!("an indexed mention cannot be read: {e}")))
    }
}

fn to_tantivy(d: DateTime<Utc>) -> tantivy::DateTime {
    tantivy::DateTime::from_timestamp_secs(d.timestamp())
}

impl MentionWriter {
    /// Adds mentions, replacing any earlier copy with the same id (so a batch redone
    /// after a crash is indexed once).
    pub fn upsert(&mut self, mentions: &[Mention]) -> Result<()> {
        let f = self.f;
        for m in mentions {
            self.writer.delete_term(Term::from_field_text(f.id, &m.id));
            let mut doc = TantivyDocument::default();
            doc.add_text(f.id, &m.id);
            let json = serde_json::to_string(m).map_err(|source| Error::Encode {
                what: "a mention",
                source,
            })?;
            doc.add_text(f.json, json);
            doc.add_text(f.title, &m.title);
            doc.add_text(f.text, &m.text);
            // Handle and display name, as the matcher sees them (`author:`).
            if let Some(a) = &m.author {
                doc.add_text(f.author, a);
            }
            if let Some(a) = &m.author_name {
                doc.add_text(f.author, a);
            }
            for b in m.brand_ids() {
                doc.add_text(f.brand, b);
            }
            doc.add_text(f.source, m.source.to_lowercase());
            doc.add_text(f.source_kind, m.source_kind.to_lowercase());
            // The site and each parent domain: `site:example.com` finds news.example.com.
            let mut site = m.site.as_str();
            loop {
                doc.add_text(f.site, site);
                match site.split_once('.') {
                    Some((_, parent)) if parent.contains('.') => site = parent,
                    _ => break,
                }
            }
            if let Some(l) = &m.language {
                doc.add_text(f.lang, crate::matching::primary_language(l));
            }
            doc.add_date(f.published, to_tantivy(m.published_at));
            doc.add_date(f.fetched, to_tantivy(m.fetched_at));
            if let Some(r) = m.reach {
                doc.add_u64(f.reach, r);
            }
            if let Some(s) = &m.sentiment {
                doc.add_f64(f.sentiment, s.score as f64);
                doc.add_text(f.label, s.label.as_str());
            }
            if let Some(story) = &m.story {
                doc.add_text(f.story, story);
            }
            self.writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Makes added mentions durable. Call [`MentionIndex::reload`] to see them in search.
    pub fn commit(&mut self) -> Result<()> {
        self.writer.commit()?;
        Ok(())
    }

    /// Waits for background segment merges, so the index directory is left tidy (and can
    /// be deleted, for temporary indexes).
    pub fn close(self) -> Result<()> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}

/// Brand queries into tantivy queries (`MentionIndex::translate`).
#[path = "index_translate.rs"]
mod translate;
use translate::{either, term_query};

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
