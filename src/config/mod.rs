//! The config file (`/etc/veille/veille.toml`) and the rule files it points to: types,
//! loading, validation. Every problem is reported as `FILE:LINE:COLUMN: what was expected`,
//! and loading goes on after a problem so that `veille check` lists them all at once.
//!
//! Over 500 lines: the assembly of every stage's settings, in file order; each stage's
//! own keys are parsed in its module.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

// The primitives live in the model (every layer reads them); named here too for the
// binary, tests and benches that build configs.
pub use crate::model::{
    ByteSize, Diagnostic, Diagnostics, Duration, Secret, SecretRef, SourceFile,
};

use crate::crawl::CrawlConfig;
use crate::matching::{Brand, BrandConfig, QueryError};
use crate::notify::Notifier;
use crate::rules::Rule;
use crate::sources::Source;
pub use settings::DaemonConfig;

/// A loaded, validated configuration.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub daemon: DaemonConfig,
    pub crawl: CrawlConfig,
    pub enrich: crate::enrich::EnrichConfig,
    pub brands: Vec<Brand>,
    pub sources: Vec<Source>,
    pub notifiers: BTreeMap<String, Notifier>,
    pub rules: Vec<Rule>,
    pub routes: Vec<crate::rules::Route>,
    /// Bearer tokens of the HTTP API (`[[api.token]]`).
    pub api_tokens: Vec<crate::api::Token>,
    /// Scheduled summaries (`[digest.NAME]`).
    pub digests: Vec<crate::digest::Digest>,
    /// Daily budgets of the metered APIs (`[quota]`).
    pub quota: crate::sources::quota::QuotaConfig,
    /// veille's alerts about itself (`[ops]`).
    pub ops: crate::ops::Ops,
}

const SECTIONS: &[&str] = &[
    "daemon", "crawl", "enrich", "brand", "source", "notifier", "route", "api", "digest", "quota",
    "ops",
];

impl Config {
    /// Loads the config file and every rule file of its rules directory.
    pub fn load(path: &Path) -> Result<Config, Diagnostics> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics(vec![Diagnostic {
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        Config::from_str(path, &text)
    }

    /// Loads from `text` as if read from `path` (relative paths resolve against its
    /// directory).
    pub fn from_str(path: &Path, text: &str) -> Result<Config, Diagnostics> {
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut file = SourceFile::new(path, text);
        let parsed = parse_main(&mut file, &base_dir);
        let mut diags = file.diags;
        // Rule files are checked even when the main file has problems, against the brands
        // and notifiers it declares, so one `veille check` lists everything.
        let Some((mut cfg, declared)) = parsed else {
            return Err(Diagnostics(diags));
        };
        cfg.daemon.data_dir = base_dir.join(&cfg.daemon.data_dir);
        cfg.daemon.rules_dir = base_dir.join(&cfg.daemon.rules_dir);

        // Rules, each file reported on its own.
        let brand_ids: HashSet<&str> = declared.brands.iter().map(String::as_str).collect();
        let mut rule_ids: HashSet<String> = HashSet::new();
        match crate::rules::rule_files(&cfg.daemon.rules_dir) {
            Err(e) => diags.push(Diagnostic {
                file: cfg.daemon.rules_dir.clone(),
                line: 1,
                column: 1,
                message: format!("cannot read the rules directory: {e}"),
            }),
            Ok(files) => {
                for rf in files {
                    let rtext = match std::fs::read_to_string(&rf) {
                        Ok(t) => t,
                        Err(e) => {
                            diags.push(Diagnostic {
                                file: rf.clone(),
                                line: 1,
                                column: 1,
                                message: format!("cannot read the rule file: {e}"),
                            });
                            continue;
                        }
                    };
                    let mut f = SourceFile::new(&rf, &rtext);
                    let pending = crate::rules::parse_file(&mut f);
                    let built: HashSet<String> =
                        pending.iter().map(|p| p.rule.id.clone()).collect();
                    rule_refs::check_unbuilt(&mut f, &built, &brand_ids, &declared.notifiers);
                    for p in pending {
                        let c = &p.config;
                        if !rule_ids.insert(p.rule.id.clone()) {
                            f.error(c.id.span(), format!("duplicate rule id `{}`", p.rule.id));
                            continue;
                        }
                        // Every problem of the rule is reported, not only the first.
                        let mut ok = true;
                        if !brand_ids.contains(p.rule.brand.as_str()) {
                            f.error(
                                c.brand.span(),
                                format!(
                                    "unknown brand `{}`: expected one of the configured brands ({})",
                                    p.rule.brand,
                                    list(brand_ids.iter().copied())
                                ),
                            );
                            ok = false;
                        }
                        for n in &c.notify {
                            if !declared.notifiers.contains(n.get_ref()) {
                                f.error(
                                    n.span(),
                                    format!(
                                        "unknown notifier `{}`: expected one of the configured notifiers ({})",
                                        n.get_ref(),
                                        list(declared.notifiers.iter().map(String::as_str))
                                    ),
                                );
                                ok = false;
                            }
                        }
                        if let crate::rules::RuleKind::Flatline {
                            source: Some(src), ..
                        } = &p.rule.kind
                            && !cfg.sources.iter().any(|s| &s.id == src)
                        {
                            f.error(
                                c.id.span(),
                                format!("rule `{}` watches the unknown source `{src}`: expected the id of a [[source]]", p.rule.id),
                            );
                            ok = false;
                        }
                        if ok && crate::rules::route(&p.rule, &cfg.routes).is_empty() {
                            f.error(
                                c.id.span(),
                                format!(
                                    "rule `{}` has no `notify` and no [[route]] matches it: its alerts would reach no one",
                                    p.rule.id
                                ),
                            );
                            ok = false;
                        }
                        if ok {
                            cfg.rules.push(p.rule);
                        }
                    }
                    diags.extend(f.diags);
                }
            }
        }
        if diags.is_empty() {
            Ok(cfg)
        } else {
            Err(Diagnostics(diags))
        }
    }

    pub fn brand(&self, id: &str) -> Option<&Brand> {
        self.brands.iter().find(|b| b.id == id)
    }

    pub fn index_dir(&self) -> PathBuf {
        self.daemon.data_dir.join("index")
    }

    pub fn state_path(&self) -> PathBuf {
        self.daemon.data_dir.join("state.sqlite")
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = items.collect();
    if v.is_empty() {
        return "none configured".into();
    }
    v.sort();
    v.join(", ")
}

/// Ids declared in the main file, even those whose definition has a problem.
#[derive(Default)]
struct Declared {
    brands: HashSet<String>,
    notifiers: HashSet<String>,
}

/// Parses the main file. `None` only for a TOML syntax error; otherwise what could be
/// built, problems being recorded in `file`.
fn parse_main(file: &mut SourceFile<'_>, base_dir: &Path) -> Option<(Config, Declared)> {
    let root = match DeTable::parse(file.text) {
        Ok(r) => r,
        Err(e) => {
            file.toml_error(0..0, &e);
            return None;
        }
    };
    let mut daemon = DaemonConfig::default();
    let mut crawl = CrawlConfig::default();
    let mut quota = crate::sources::quota::QuotaConfig::default();
    let mut enrich = crate::enrich::EnrichConfig::default();
    let mut brand_cfgs: Vec<BrandConfig> = Vec::new();
    let mut sources: Vec<Source> = Vec::new();
    let mut notifiers: BTreeMap<String, Notifier> = BTreeMap::new();
    let mut brand_tables = Vec::new();
    let mut route_tables = Vec::new();
    let mut api_tokens = Vec::new();
    let mut digest_tables = Vec::new();
    let mut source_tables = Vec::new();
    let mut ops = crate::ops::OpsConfig::default();
    let mut declared = Declared::default();

    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "daemon" => {
                if let Some(d) = settings::daemon(file, value) {
                    daemon = d;
                }
            }
            "api" => {
                if let Some(a) = file.de::<crate::api::ApiConfig>(value) {
                    for t in &a.token {
                        match t.load(base_dir) {
                            Ok(tok) => api_tokens.push(tok),
                            Err(e) => file.error(t.name.span(), e),
                        }
                    }
                }
            }
            "quota" => {
                let span = value.span();
                if let Some(q) = file.de::<crate::sources::quota::QuotaConfig>(value) {
                    if q.youtube == Some(0) || q.stackexchange == Some(0) {
                        file.error(span, "a daily quota must be at least 1 (to stop a source, set `enabled = false` on it)");
                    }
                    quota = q;
                }
            }
            "crawl" => {
                if let Some(c) = settings::crawl(file, value) {
                    crawl = c;
                }
            }
            "enrich" => {
                if let Some(e) = settings::enrich(file, value) {
                    enrich = e;
                }
            }
            "brand" => brand_tables = array_of_tables(file, value, "brand"),
            "route" => route_tables = array_of_tables(file, value, "route"),
            "source" => source_tables = array_of_tables(file, value, "source"),
            "notifier" => {
                let span = value.span();
                let DeValue::Table(t) = value.into_inner() else {
                    file.error(span, "expected `[notifier.NAME]` tables");
                    continue;
                };
                for (name, nv) in t {
                    declared.notifiers.insert(name.get_ref().to_string());
                    if let Some(n) = Notifier::from_toml(file, name.get_ref(), nv, base_dir) {
                        notifiers.insert(n.name.clone(), n);
                    }
                }
            }
            "digest" => {
                let span = value.span();
                let DeValue::Table(t) = value.into_inner() else {
                    file.error(span, "expected `[digest.NAME]` tables");
                    continue;
                };
                for (name, dv) in t {
                    if let Some(c) = file.de::<crate::digest::DigestConfig>(dv) {
                        match c.build(name.get_ref()) {
                            Ok(d) => digest_tables.push((c, d)),
                            Err((at, msg)) => file.error(at, msg),
                        }
                    }
                }
            }
            "ops" => {
                if let Some(o) = file.de::<crate::ops::OpsConfig>(value) {
                    ops = o;
                }
            }
            other => file.error(
                key.span(),
                format!(
                    "unknown section `{other}`: expected one of {}",
                    SECTIONS.join(", ")
                ),
            ),
        }
    }
    for t in brand_tables {
        if let Some(id) = t
            .get_ref()
            .as_table()
            .and_then(|t| t.get("id"))
            .and_then(|v| v.get_ref().as_str())
        {
            declared.brands.insert(id.to_string());
        }
        if let Some(b) = file.de::<BrandConfig>(t) {
            brand_cfgs.push(b);
        }
    }
    for t in source_tables {
        if let Some(s) = Source::from_toml(file, t, base_dir) {
            sources.push(s);
        }
    }

    // Brands: unique ids, valid queries, known competitors.
    let mut brands = Vec::new();
    let ids: HashSet<String> = brand_cfgs.iter().map(|b| b.id.get_ref().clone()).collect();
    let mut seen = HashSet::new();
    for bc in &brand_cfgs {
        if !seen.insert(bc.id.get_ref().clone()) {
            file.error(
                bc.id.span(),
                format!("duplicate brand id `{}`", bc.id.get_ref()),
            );
            continue;
        }
        for c in &bc.competitors {
            if !ids.contains(c.get_ref()) {
                file.error(
                    c.span(),
                    format!(
                        "unknown competitor `{}`: expected the id of another [[brand]]",
                        c.get_ref()
                    ),
                );
            }
        }
        for l in &bc.languages {
            if l.len() < 2 || l.len() > 3 || !l.chars().all(|c| c.is_ascii_alphabetic()) {
                file.error(
                    bc.id.span(),
                    format!("invalid language `{l}` in brand `{}`: expected an ISO 639-1 code like \"fr\"", bc.id.get_ref()),
                );
            }
        }
        match bc.build() {
            Ok(b) => brands.push(b),
            Err((s, e)) => query_error(file, &s, &e),
        }
    }
    // API sources derive their searches from the brands' queries.
    for s in &mut sources {
        let (id, id_span) = (s.id.clone(), s.id_span.clone());
        if let Some(search) = s.search_mut() {
            for b in &search.brands {
                if !ids.contains(b) {
                    file.error(
                        id_span.clone(),
                        format!("source `{id}` names the unknown brand `{b}`: expected the id of a [[brand]]"),
                    );
                }
            }
            search.resolve(&brands);
        }
    }
    let mut routes = Vec::new();
    for t in route_tables {
        if let Some(r) = file.de::<crate::rules::RouteConfig>(t) {
            for n in &r.notify {
                if !declared.notifiers.contains(n.get_ref()) {
                    file.error(
                        n.span(),
                        format!("unknown notifier `{}` in [[route]]: expected one of the configured notifiers", n.get_ref()),
                    );
                }
            }
            routes.push(crate::rules::Route::from(&r));
        }
    }
    let mut digests = Vec::new();
    for (c, mut d) in digest_tables {
        // A digest without its own zone runs and reads in the installation's.
        if c.timezone.is_none() {
            d.tz = daemon.tz;
        }
        let mut ok = true;
        for b in &c.brands {
            if !declared.brands.contains(b.get_ref()) {
                file.error(
                    b.span(),
                    format!("unknown brand `{}` in [digest.{}]", b.get_ref(), d.name),
                );
                ok = false;
            }
        }
        for n in &c.notify {
            if !declared.notifiers.contains(n.get_ref()) {
                file.error(
                    n.span(),
                    format!("unknown notifier `{}` in [digest.{}]", n.get_ref(), d.name),
                );
                ok = false;
            }
        }
        if c.notify.is_empty() {
            file.error(
                c.schedule.span(),
                format!("[digest.{}] has an empty `notify`", d.name),
            );
            ok = false;
        }
        if ok {
            digests.push(d);
        }
    }
    for n in ops.notify.iter().flatten() {
        if !declared.notifiers.contains(n.get_ref()) {
            file.error(
                n.span(),
                format!(
                    "unknown notifier `{}` in [ops] notify: expected one of the configured notifiers ({})",
                    n.get_ref(),
                    list(declared.notifiers.iter().map(String::as_str))
                ),
            );
        }
    }
    for n in notifiers.values_mut() {
        n.set_timezone(daemon.tz);
    }
    let mut seen = HashSet::new();
    for s in &sources {
        if !seen.insert(s.id.clone()) {
            file.error(s.id_span.clone(), format!("duplicate source id `{}`", s.id));
        }
    }
    let ops = ops.build(notifiers.iter().map(|(id, n)| (id.as_str(), n.kind_name())));
    Some((
        Config {
            path: file.path.to_path_buf(),
            daemon,
            crawl,
            enrich,
            brands,
            sources,
            notifiers,
            rules: Vec::new(),
            routes,
            api_tokens,
            digests,
            quota,
            ops,
        },
        declared,
    ))
}

fn array_of_tables<'i>(
    file: &mut SourceFile<'_>,
    value: Spanned<DeValue<'i>>,
    name: &str,
) -> Vec<Spanned<DeValue<'i>>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(a) => a.into_iter().collect(),
        _ => {
            file.error(span, format!("expected `[[{name}]]` (an array of tables)"));
            Vec::new()
        }
    }
}

/// Reports a query error at its column inside the TOML string.
pub fn query_error(file: &mut SourceFile<'_>, s: &Spanned<String>, e: &QueryError) {
    file.string_error(s, e.column, format!("invalid query: {}", e.message));
}

mod rule_refs;
mod settings;
#[cfg(test)]
mod tests;
