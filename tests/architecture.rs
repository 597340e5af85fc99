//! The layers of the code, held by a test (DESIGN.md "Layers").
//!
//! Reads the `crate::` paths of every file under src/ (grouped `use crate::{a, b::c}`,
//! and paths written inline; comments, and `#[cfg(test)]` items and files, left out) and
//! fails on:
//!
//! 1. an import of a higher layer;
//! 2. any cycle between top-level modules, within a layer too;
//! 3. a source kind importing the store or a notifier, or a notifier importing the store;
//! 4. an SQL statement written outside src/store/;
//! 5. a top-level module missing from the table, or a `lib.rs` layout drawing that does
//!    not say what the table says.
//!
//! Each failure names the file, the line, the path and the layers involved.
//!
//! Over 600 lines: the reader of `crate::` paths and its own tests sit with the layer
//! table they check, so a reader sees the rule and its enforcement together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module and its layer, bottom (a) to top (e). `lib.rs`'s layout
/// drawing shows the same table.
const LAYERS: &[(&str, char)] = &[
    // (a) the data model: plain types, config primitives, time as an input, counters
    ("model", 'a'),
    ("mention", 'a'),
    ("clock", 'a'),
    ("metrics", 'a'),
    // test builders (a dev-only feature), over model types only
    ("testutil", 'a'),
    // (b) pure logic
    ("text", 'b'),
    ("matching", 'b'),
    ("enrich", 'b'),
    ("rules", 'b'),
    ("backoff", 'b'),
    // (c) adapters
    ("crawl", 'c'),
    ("sources", 'c'),
    ("store", 'c'),
    ("notify", 'c'),
    ("systemd", 'c'),
    // (d) stages and their wiring
    ("scheduler", 'd'),
    ("websub", 'd'),
    ("ingest", 'd'),
    ("ops", 'd'),
    ("outbox", 'd'),
    ("digest", 'd'),
    ("backtest", 'd'),
    // (e) edges
    ("config", 'e'),
    ("daemon", 'e'),
    ("api", 'e'),
    ("cli", 'e'),
    ("demo", 'e'),
    ("fuzzing", 'e'),
];

/// Imports between two modules of one layer (c) that are not allowed either.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    (
        "sources",
        "store",
        "a source turns bytes into mentions: it knows nothing of the store",
    ),
    ("sources", "notify", "a source knows nothing of notifiers"),
    (
        "notify",
        "store",
        "a notifier gets a finished alert or digest: it knows nothing of the store",
    ),
];

/// Words that begin an SQL statement (as written in veille: upper case).
const SQL: &[&str] = &[
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "ALTER TABLE",
    "DROP TABLE",
    "SAVEPOINT ",
    "PRAGMA ",
];

fn layer_name(l: char) -> &'static str {
    match l {
        'a' => "model",
        'b' => "pure logic",
        'c' => "adapters",
        'd' => "stages",
        'e' => "edges",
        _ => "?",
    }
}

fn layer_of(module: &str) -> Option<char> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// One `crate::` path met in a file.
#[derive(Debug, Clone)]
struct Import {
    file: String,
    line: usize,
    path: String,
    from: String,
    to: String,
}

/// A file split by a small lexer: its code (string and char literals blanked, comments
/// removed, line breaks kept) and its string literals with their line.
struct Lexed {
    code: String,
    strings: Vec<(usize, String)>,
}

fn lex(src: &str) -> Lexed {
    let b: Vec<char> = src.chars().collect();
    let mut code = String::with_capacity(src.len());
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let n = b.len();
    let keep_lines = |code: &mut String, s: &[char]| {
        for c in s {
            code.push(if *c == '\n' { '\n' } else { ' ' });
        }
    };
    while i < n {
        let c = b[i];
        // Line comment (doc comments too: their paths are links, not imports).
        if c == '/' && i + 1 < n && b[i + 1] == '/' {
            while i < n && b[i] != '\n' {
                i += 1;
            }
            continue;
        }
        // Block comment, nested.
        if c == '/' && i + 1 < n && b[i + 1] == '*' {
            let start = i;
            let mut depth = 0;
            while i < n {
                if b[i] == '/' && i + 1 < n && b[i + 1] == '*' {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && i + 1 < n && b[i + 1] == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += b[start..i].iter().filter(|c| **c == '\n').count();
            keep_lines(&mut code, &b[start..i]);
            continue;
        }
        // Raw string: r"…", r#"…"#, br#"…"#.
        let raw_start = if c == 'r' && (i == 0 || !is_ident(b[i - 1])) {
            Some(i + 1)
        } else if c == 'b' && i + 1 < n && b[i + 1] == 'r' && (i == 0 || !is_ident(b[i - 1])) {
            Some(i + 2)
        } else {
            None
        };
        if let Some(mut j) = raw_start {
            let mut hashes = 0;
            while j < n && b[j] == '#' {
                hashes += 1;
                j += 1;
            }
            if j < n && b[j] == '"' {
                let start_line = line;
                let body_start = j + 1;
                let mut k = body_start;
                loop {
                    if k >= n {
                        break;
                    }
                    if b[k] == '"' && (0..hashes).all(|h| k + 1 + h < n && b[k + 1 + h] == '#') {
                        break;
                    }
                    k += 1;
                }
                let body: String = b[body_start..k.min(n)].iter().collect();
                line += body.matches('\n').count();
                strings.push((start_line, body));
                let end = (k + 1 + hashes).min(n);
                keep_lines(&mut code, &b[i..end]);
                i = end;
                continue;
            }
        }
        if c == '"' {
            let start_line = line;
            let mut k = i + 1;
            let mut body = String::new();
            while k < n && b[k] != '"' {
                if b[k] == '\\' && k + 1 < n {
                    body.push(b[k]);
                    k += 1;
                }
                body.push(b[k]);
                k += 1;
            }
            line += body.matches('\n').count();
            strings.push((start_line, body));
            let end = (k + 1).min(n);
            keep_lines(&mut code, &b[i..end]);
            i = end;
            continue;
        }
        // A char literal ('x', '\n', '\u{…}'), not a lifetime ('a).
        if c == '\'' {
            let lit_end = if i + 2 < n && b[i + 1] == '\\' {
                (i + 2..n).find(|&k| b[k] == '\'')
            } else if i + 2 < n && b[i + 2] == '\'' {
                Some(i + 2)
            } else {
                None
            };
            if let Some(e) = lit_end {
                keep_lines(&mut code, &b[i..=e]);
                i = e + 1;
                continue;
            }
        }
        if c == '\n' {
            line += 1;
        }
        code.push(c);
        i += 1;
    }
    Lexed { code, strings }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The code with `#[cfg(test)]` items (test modules, test-only functions and uses)
/// blanked out, line breaks kept. Returns the names of test modules declared as files.
fn without_tests(code: &str) -> (String, Vec<String>) {
    let b: Vec<char> = code.chars().collect();
    let mut out: Vec<char> = b.clone();
    let mut files = Vec::new();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= b.len() {
        if b[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + marker.len();
        // The item: up to its `;` or its block.
        let mut depth = 0;
        let mut end = b.len();
        while j < b.len() {
            match b[j] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = j + 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        let item: String = b[start + marker.len()..end].iter().collect();
        let words: Vec<&str> = item
            .split(|c: char| !is_ident(c))
            .filter(|w| !w.is_empty())
            .collect();
        if item.trim_end().ends_with(';')
            && let Some(p) = words.iter().position(|w| *w == "mod")
            && let Some(name) = words.get(p + 1)
        {
            files.push(name.to_string());
        }
        for c in out.iter_mut().take(end).skip(start) {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end;
    }
    (out.into_iter().collect(), files)
}

/// The lines `without_tests` blanked: those of `#[cfg(test)]` items.
fn test_lines(code: &str, without: &str) -> BTreeSet<usize> {
    code.lines()
        .zip(without.lines())
        .enumerate()
        .filter(|(_, (a, b))| a.trim() != b.trim() && b.trim().is_empty())
        .map(|(i, _)| i + 1)
        .collect()
}

/// The first segment of every `crate::` path in `code`, with its line and text.
fn crate_paths(code: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let b: Vec<char> = code.chars().collect();
    let pat: Vec<char> = "crate::".chars().collect();
    let mut i = 0;
    while i + pat.len() <= b.len() {
        if b[i..i + pat.len()] != pat[..] || (i > 0 && (is_ident(b[i - 1]) || b[i - 1] == '$')) {
            i += 1;
            continue;
        }
        let line = b[..i].iter().filter(|c| **c == '\n').count() + 1;
        let mut j = i + pat.len();
        while j < b.len() && b[j].is_whitespace() {
            j += 1;
        }
        if j < b.len() && b[j] == '{' {
            // Grouped: every top-level item of the group.
            let mut depth = 0;
            let mut k = j;
            let mut item = String::new();
            let mut items = Vec::new();
            while k < b.len() {
                let c = b[k];
                match c {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            item.push(c);
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            items.push(std::mem::take(&mut item));
                            break;
                        }
                        item.push(c);
                    }
                    ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                    c => item.push(c),
                }
                k += 1;
            }
            for it in items {
                let it: String = it.split_whitespace().collect::<Vec<_>>().join("");
                let first: String = it.chars().take_while(|c| is_ident(*c)).collect();
                if !first.is_empty() && first != "self" {
                    out.push((line, first, format!("crate::{it}")));
                }
            }
            i = k;
        } else {
            let mut rest: String = b[j..]
                .iter()
                .take_while(|c| is_ident(**c) || **c == ':')
                .collect();
            // `crate::config::{Secret, SourceFile}`: the group, shown whole.
            let after = j + rest.chars().count();
            if rest.ends_with("::") && b.get(after) == Some(&'{') {
                let group: String = b[after..].iter().take_while(|c| **c != '}').collect();
                rest.push_str(&group.split_whitespace().collect::<Vec<_>>().join(" "));
                rest.push('}');
            }
            let first: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            if !first.is_empty() {
                out.push((
                    line,
                    first,
                    format!("crate::{}", rest.trim_end_matches(':')),
                ));
            }
            i = j;
        }
    }
    out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") && !is_unit_test_file(&p) {
            out.push(p);
        }
    }
}

/// A module's unit tests kept in their own file (`#[cfg(test)] #[path = "x_tests.rs"] mod
/// tests;`, or `tests.rs` beside a `mod.rs`): skipped like `#[cfg(test)]` items inside a file.
fn is_unit_test_file(p: &Path) -> bool {
    let name = p.file_name().unwrap_or_default().to_string_lossy();
    name == "tests.rs" || name.ends_with("_tests.rs")
}

/// The top-level module a file belongs to (`src/notify/chat/slack.rs` → notify).
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The file a `mod name;` declared in `file` lives in.
fn child_files(file: &Path, name: &str) -> [PathBuf; 2] {
    let stem = file.file_stem().unwrap().to_string_lossy();
    let dir = if stem == "mod" || stem == "lib" {
        file.parent().unwrap().to_path_buf()
    } else {
        file.with_extension("")
    };
    [
        dir.join(format!("{name}.rs")),
        dir.join(name).join("mod.rs"),
    ]
}

struct Scan {
    imports: Vec<Import>,
    /// SQL met outside src/store/: (file, line, text).
    sql: Vec<(String, usize, String)>,
    modules: BTreeSet<String>,
}

fn scan() -> Scan {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // main.rs is the binary: it uses the library as `veille::`.
    files.retain(|f| f.file_name().is_none_or(|n| n != "main.rs") || f.parent() != Some(&src));
    let mut test_files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut lexed = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let l = lex(&text);
        let (code, tests) = without_tests(&l.code);
        for t in tests {
            test_files.extend(child_files(f, &t));
        }
        // Strings of test items are test data (a headline saying "UPDATE 1-…"), not SQL.
        let blanked = test_lines(&l.code, &code);
        let strings: Vec<(usize, String)> = l
            .strings
            .into_iter()
            .filter(|(line, _)| !blanked.contains(line))
            .collect();
        lexed.insert(f.clone(), (code, strings));
    }
    let mut imports = Vec::new();
    let mut sql = Vec::new();
    let mut modules = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let name = format!("src/{}", rel.display());
        let (code, strings) = &lexed[f];
        if !name.starts_with("src/store/") && !test_files.contains(f) {
            for (line, s) in strings {
                if let Some(k) = SQL.iter().find(|k| s.contains(*k)) {
                    sql.push((name.clone(), *line, format!("{k}…")));
                }
            }
        }
        if rel == Path::new("lib.rs") || test_files.contains(f) {
            continue;
        }
        let from = top_module(rel);
        modules.insert(from.clone());
        for (line, to, path) in crate_paths(code) {
            if to != from {
                imports.push(Import {
                    file: name.clone(),
                    line,
                    path,
                    from: from.clone(),
                    to,
                });
            }
        }
    }
    Scan {
        imports,
        sql,
        modules,
    }
}

fn describe(i: &Import) -> String {
    let (lf, lt) = (
        layer_of(&i.from).unwrap_or('?'),
        layer_of(&i.to).unwrap_or('?'),
    );
    format!(
        "{}:{}: `{}`: {} (layer {lf}, {}) imports {} (layer {lt}, {})",
        i.file,
        i.line,
        i.path,
        i.from,
        layer_name(lf),
        i.to,
        layer_name(lt)
    )
}

#[test]
fn every_module_has_a_layer() {
    let s = scan();
    let missing: Vec<&String> = s.modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "top-level modules missing from the layer table of tests/architecture.rs (and lib.rs's layout): {missing:?}"
    );
    let unknown: Vec<&str> = LAYERS
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| !s.modules.contains(*m))
        .collect();
    assert!(
        unknown.is_empty(),
        "the layer table names modules src/ does not have: {unknown:?}"
    );
}

#[test]
fn no_import_goes_up_a_layer() {
    let s = scan();
    let up: Vec<String> = s
        .imports
        .iter()
        .filter(|i| match (layer_of(&i.from), layer_of(&i.to)) {
            (Some(a), Some(b)) => b > a,
            _ => false,
        })
        .map(|i| describe(i) + ", a higher layer")
        .collect();
    assert!(
        up.is_empty(),
        "{} import(s) go up a layer (a module imports only from its layer or below):\n{}",
        up.len(),
        up.join("\n")
    );
}

#[test]
fn sources_and_notifiers_know_nothing_of_the_store() {
    let s = scan();
    let bad: Vec<String> = s
        .imports
        .iter()
        .filter_map(|i| {
            FORBIDDEN
                .iter()
                .find(|(a, b, _)| *a == i.from && *b == i.to)
                .map(|(_, _, why)| format!("{}: {why}", describe(i)))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn no_cycle_between_top_level_modules() {
    let s = scan();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in &s.imports {
        edges.entry(&i.from).or_default().insert(&i.to);
    }
    // Tarjan's strongly connected components.
    struct T<'a> {
        edges: &'a BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<&'a str>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            let next: Vec<&'a str> = self
                .edges
                .get(v)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            for w in next {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let l = self.low[v].min(self.low[w]);
                    self.low.insert(v, l);
                } else if self.on.contains(w) {
                    let l = self.low[v].min(self.index[w]);
                    self.low.insert(v, l);
                }
            }
            if self.low[v] == self.index[v] {
                let mut c = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    c.push(w);
                    if w == v {
                        break;
                    }
                }
                if c.len() > 1 {
                    c.sort();
                    self.out.push(c);
                }
            }
        }
    }
    let mut t = T {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<&str> = edges.keys().copied().collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    let mut report = Vec::new();
    for c in &t.out {
        report.push(format!("cycle between {}:", c.join(", ")));
        for i in s
            .imports
            .iter()
            .filter(|i| c.contains(&i.from.as_str()) && c.contains(&i.to.as_str()))
        {
            report.push(format!("  {}", describe(i)));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn only_the_store_writes_sql() {
    let s = scan();
    let lines: Vec<String> = s
        .sql
        .iter()
        .map(|(f, l, k)| format!("{f}:{l}: an SQL statement (`{k}`) outside src/store/"))
        .collect();
    assert!(
        lines.is_empty(),
        "only src/store/ writes SQL (callers ask the store by name):\n{}",
        lines.join("\n")
    );
}

#[test]
fn lib_layout_draws_the_same_layers() {
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let mut drawn: BTreeMap<char, BTreeSet<String>> = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("//!") else {
            continue;
        };
        let rest = rest.trim_start();
        let mut c = rest.chars();
        let (Some('('), Some(l), Some(')')) = (c.next(), c.next(), c.next()) else {
            continue;
        };
        if !('a'..='e').contains(&l) {
            continue;
        }
        // "(c) adapters    crawl · sources · store · notify"
        let after = &rest[3..];
        let Some(at) = after.find(layer_name(l)) else {
            continue;
        };
        let modules = &after[at + layer_name(l).len()..];
        drawn.entry(l).or_default().extend(
            modules
                .split('·')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty()),
        );
    }
    let mut table: BTreeMap<char, BTreeSet<String>> = BTreeMap::new();
    for (m, l) in LAYERS {
        table.entry(*l).or_default().insert(m.to_string());
    }
    assert_eq!(
        drawn, table,
        "lib.rs's layout drawing (`//! (a) model  mention · …` lines) and the table of tests/architecture.rs differ"
    );
}

/// The checks themselves, on small inputs.
#[test]
fn the_reader_finds_what_it_must() {
    let code = r#"
use crate::{model::Alert, store::{self, index}};
// use crate::commented::Out;
fn f() { let x = crate::notify::view::Locale::En; let s = "crate::in_string"; }
#[cfg(test)]
mod tests { use crate::testonly::X; }
#[cfg(test)]
mod more;
"#;
    let l = lex(code);
    let (code, files) = without_tests(&l.code);
    let found: Vec<String> = crate_paths(&code).into_iter().map(|p| p.1).collect();
    assert_eq!(found, ["model", "store", "notify"]);
    assert_eq!(files, ["more"]);
    let blanked = test_lines(&l.code, &code);
    assert!(blanked.contains(&6) && !blanked.contains(&4), "{blanked:?}");
    assert!(l.strings.iter().any(|(_, s)| s == "crate::in_string"));
}
