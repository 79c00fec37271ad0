//! The core's layers, checked from its sources: a module (a file under `src/core`) may use
//! only modules of its own layer or a lower one, and the modules' uses have no cycle.
//!
//! Layers, lowest first: `util` < `types`, `error` < `config` < `translate` < `state` <
//! `pipeline` < `front`, by the first folder (or file) under `src/core`. A cycle across layers
//! always has a use of a higher layer in it, reported as such; the cycles reported besides are
//! those left within a layer, each with the uses that form it. The two lists are empty exactly
//! when the layering holds and the whole graph has no cycle.
//!
//! A module uses another when its code names it by path: `crate::core::a::b::...` (and `use`
//! groups under such a path), `super::...` and `self::...`, and, in a folder's `mod.rs`, a
//! path starting with one of the folder's own modules. A path names the longest module it
//! starts with; the items after it (types, functions) belong to that module. Test code does
//! not count: files ending `_tests.rs`, and any item under `#[cfg(test)]` (the `mod tests` at
//! the end of a file, test helpers). Comments, strings and `pub(crate)`-style visibilities
//! are not paths. The folder-root `src/core/mod.rs` only declares the layers and is skipped.
//!
//! Also checked here, with the same tokenizer: the module's code reads JSON only from bytes
//! (`json_is_read_from_bytes_only`).
//!
//! Std only: a small tokenizer, not a Rust parser. It is tested on synthetic sources below.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first: the first path segments each holds.
const LAYERS: &[&[&str]] = &[&["util"], &["types", "error"], &["config"], &["translate"], &["state"], &["pipeline"], &["front"]];

#[test]

fn core_modules_respect_the_layers_and_have_no_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut files = Vec::new();
    read_dir(&root, &root, &mut files);
    assert!(files.len() > 20, "the core's sources were not found under {}", root.display());
    let problems = check(&files);
    let count = problems.iter().filter(|p| !p.starts_with(' ')).count();
    assert!(problems.is_empty(), "{count} layer problems in src/core:\n{}", problems.join("\n"));
}

/// The module's code reads JSON through one deserializer type, serde_json's reader of bytes:
/// every type read with `from_str` as well as `from_slice` is compiled twice into the module
/// (4 KB gzipped when `Value` and a few records were read both ways). Test code may use either.
#[test]
fn json_is_read_from_bytes_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_dir(&root, &root, &mut files);
    let mut found = Vec::new();
    for (file, source) in files.iter().filter(|(f, _)| !f.ends_with("_tests.rs")) {
        let toks = without_test_items(tokens(&strip(source)));
        for w in toks.windows(3) {
            if let [(Tok::Ident(a), line), (Tok::Colons, _), (Tok::Ident(b), _)] = w {
                if a == "serde_json" && (b == "from_str" || b == "from_reader" || b == "from_value") {
                    found.push(format!("src/{file}:{line}: serde_json::{b} (use serde_json::from_slice)"));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Every `.rs` file under `dir`, as (path relative to `root`, source).
fn read_dir(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("readable source folder").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_dir(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).expect("readable source")));
        }
    }
}

/// The problems in a tree of core sources given as (path relative to `src/core`, source):
/// each use of a higher layer, then each cycle. Empty when the tree is clean.
fn check(files: &[(String, String)]) -> Vec<String> {
    let modules: BTreeMap<Vec<String>, String> = files.iter().map(|(f, _)| (module_path(f), f.clone())).collect();
    let mut graph: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (file, source) in files {
        if file.ends_with("_tests.rs") || file == "mod.rs" {
            continue;
        }
        let edges = graph.entry(file.clone()).or_default();
        for (target, line) in uses(file, source, &modules) {
            if &target != file && target != "mod.rs" {
                edges.entry(target).or_insert(line);
            }
        }
    }
    let mut problems = Vec::new();
    // Uses of a higher layer; what is left has a cycle only within a layer.
    let mut level = graph.clone();
    for (from, edges) in &graph {
        for (to, line) in edges {
            let (a, b) = (layer(from), layer(to));
            if b > a {
                let back = if graph.get(to).is_some_and(|e| e.contains_key(from)) { ", which uses it back" } else { "" };
                problems.push(format!("layer: src/core/{from}:{line} ({}) uses src/core/{to} ({}){back}", LAYERS[a][0], LAYERS[b][0]));
                level.get_mut(from).map(|e| e.remove(to));
            }
        }
    }
    for component in cycles(&level) {
        let ring: Vec<String> = shortest_cycle(&level, &component).iter().map(|f| format!("src/core/{f}")).collect();
        problems.push(format!("cycle: {}", ring.join(" → ")));
        for from in &component {
            for (to, line) in &level[from] {
                if component.contains(to) {
                    problems.push(format!("  src/core/{from}:{line} → src/core/{to}"));
                }
            }
        }
    }
    problems
}

/// A file's module path under the core: `a/b.rs` → [a, b], `a/mod.rs` → [a].
fn module_path(file: &str) -> Vec<String> {
    let mut segs: Vec<String> = file.trim_end_matches(".rs").split('/').map(str::to_string).collect();
    if segs.last().is_some_and(|s| s == "mod") {
        segs.pop();
    }
    segs
}

/// A file's layer, by its first segment; a file outside every layer panics, so that a new
/// top-level module gets a place in the table.
fn layer(file: &str) -> usize {
    let first = module_path(file).into_iter().next().unwrap_or_default();
    LAYERS.iter().position(|names| names.contains(&first.as_str())).unwrap_or_else(|| panic!("src/core/{file} is in no layer"))
}

/// The modules `file` uses, each with the line of its first use.
fn uses(file: &str, source: &str, modules: &BTreeMap<Vec<String>, String>) -> Vec<(String, usize)> {
    let own = module_path(file);
    let children: BTreeSet<String> = if file.ends_with("mod.rs") {
        modules.keys().filter(|m| m.len() == own.len() + 1 && m.starts_with(&own)).map(|m| m[own.len()].clone()).collect()
    } else {
        BTreeSet::new()
    };
    let toks = without_test_items(tokens(&strip(source)));
    let mut found = Vec::new();
    let mut parsed_to = 0; // the tokens of a path already read
    for i in 0..toks.len() {
        let Tok::Ident(first) = &toks[i].0 else { continue };
        let starts = matches!(first.as_str(), "crate" | "super" | "self") || children.contains(first);
        let after_colons = i > 0 && toks[i - 1].0 == Tok::Colons;
        if i < parsed_to || !starts || after_colons || toks.get(i + 1).map(|t| &t.0) != Some(&Tok::Colons) {
            continue;
        }
        let mut paths = Vec::new();
        parsed_to = i;
        tree(&toks, &mut parsed_to, Vec::new(), &mut paths);
        for path in paths {
            let Some(absolute) = absolute(&own, file.ends_with("mod.rs"), path) else { continue };
            if let Some(target) = resolve(modules, &absolute) {
                found.push((target, toks[i].1));
            }
        }
    }
    found
}

/// A path as segments under the core, from `own` (the using module); `None` outside the core.
fn absolute(own: &[String], is_folder: bool, path: Vec<String>) -> Option<Vec<String>> {
    let mut segs = path.into_iter().peekable();
    let mut base: Vec<String> = match segs.peek().map(String::as_str) {
        Some("crate") => {
            segs.next();
            (segs.next()? == "core").then(Vec::new)?
        }
        Some("self") => {
            segs.next();
            own.to_vec()
        }
        Some("super") => {
            let mut base = own.to_vec();
            while segs.peek().is_some_and(|s| s == "super") {
                segs.next();
                base.pop()?;
            }
            base
        }
        _ if is_folder => own.to_vec(),
        _ => return None,
    };
    base.extend(segs.filter(|s| s != "self"));
    Some(base)
}

/// The file of the longest module `segs` starts with (the core's root excluded).
fn resolve(modules: &BTreeMap<Vec<String>, String>, segs: &[String]) -> Option<String> {
    (1..=segs.len()).rev().find_map(|k| modules.get(&segs[..k]).cloned())
}

/// A token and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Colons,
    Punct(char),
}

/// The paths of a use tree starting at `toks[*i]` (a path, maybe ending in `{...}` or `*`),
/// each as its segments after `prefix`.
fn tree(toks: &[(Tok, usize)], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                *i += 1;
                if toks.get(*i).map(|t| &t.0) != Some(&Tok::Colons) {
                    break;
                }
                *i += 1;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                group(toks, i, &path, out);
                return;
            }
            _ => break,
        }
    }
    out.push(path);
}

/// The paths of a `{a, b::c, d as e, ...}` group whose `{` is just behind `toks[*i]`.
fn group(toks: &[(Tok, usize)], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    loop {
        tree(toks, i, prefix.to_vec(), out);
        // Skip what follows the path (`as name`, `*`) up to this group's `,` or `}`.
        while let Some((t, _)) = toks.get(*i) {
            *i += 1;
            match t {
                Tok::Punct(',') => break,
                Tok::Punct('}') => return,
                _ => {}
            }
        }
        if *i >= toks.len() {
            return;
        }
    }
}

/// The tokens of `source` (comments and literals already blanked): identifiers, `::`, and
/// single punctuation characters, each with its line.
fn tokens(source: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), line));
            continue;
        }
        if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Tok::Colons, line));
            i += 2;
            continue;
        }
        if c == '\n' {
            line += 1;
        } else if !c.is_whitespace() {
            out.push((Tok::Punct(c), line));
        }
        i += 1;
    }
    out
}

/// The tokens without the items under `#[cfg(test)]` (and without everything if the file is
/// `#![cfg(test)]`).
fn without_test_items(toks: Vec<(Tok, usize)>) -> Vec<(Tok, usize)> {
    let is = |i: usize, want: &[&str]| {
        want.iter().enumerate().all(|(k, w)| match toks.get(i + k).map(|t| &t.0) {
            Some(Tok::Ident(s)) => s == w,
            Some(Tok::Punct(c)) => w.len() == 1 && w.starts_with(*c),
            _ => false,
        })
    };
    if is(0, &["#", "!", "[", "cfg", "(", "test", ")", "]"]) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !is(i, &["#", "[", "cfg", "(", "test", ")", "]"]) {
            out.push(toks[i].clone());
            i += 1;
            continue;
        }
        i += 7;
        // The item: up to its `;` or its body's closing `}`, at the outer nesting level.
        let mut depth = 0i32;
        while let Some((t, _)) = toks.get(i) {
            i += 1;
            match t {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']') => depth -= 1,
                Tok::Punct('}') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Tok::Punct(';') if depth == 0 => break,
                _ => {}
            }
        }
    }
    out
}

/// `source` with comments, string and character literals replaced by spaces (newlines kept,
/// so lines still count). Lifetimes (`'a`) stay.
fn strip(source: &str) -> String {
    let c: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, s: &[char]| out.extend(s.iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
    let ident = |k: usize| k < c.len() && (c[k].is_alphanumeric() || c[k] == '_');
    let mut i = 0;
    while i < c.len() {
        let end = if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len())
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let (mut depth, mut k) = (0, i);
            while k < c.len() {
                if c[k] == '/' && c.get(k + 1) == Some(&'*') {
                    (depth, k) = (depth + 1, k + 2);
                } else if c[k] == '*' && c.get(k + 1) == Some(&'/') {
                    (depth, k) = (depth - 1, k + 2);
                    if depth == 0 {
                        break;
                    }
                } else {
                    k += 1;
                }
            }
            k
        } else if c[i] == 'r' && (i == 0 || !ident(i - 1) || (c[i - 1] == 'b' && (i < 2 || !ident(i - 2)))) && {
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            c.get(i + 1 + hashes) == Some(&'"')
        } {
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            let body = i + 2 + hashes;
            let close = (body..c.len()).find(|&k| c[k] == '"' && c[k + 1..].iter().take(hashes).filter(|&&h| h == '#').count() == hashes);
            close.map_or(c.len(), |k| k + 1 + hashes)
        } else if c[i] == '"' {
            let mut k = i + 1;
            while k < c.len() && c[k] != '"' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            k + 1
        } else if c[i] == '\'' && (c.get(i + 1) == Some(&'\\') || c.get(i + 2) == Some(&'\'')) {
            let mut k = i + 1;
            while k < c.len() && c[k] != '\'' {
                k += if c[k] == '\\' { 2 } else { 1 };
            }
            k + 1
        } else {
            out.push(c[i]);
            i += 1;
            continue;
        };
        let end = end.min(c.len());
        blank(&mut out, &c[i..end]);
        i = end;
    }
    out
}

/// The strongly connected components of more than one module (Tarjan's algorithm), each
/// sorted, in the order of their first module.
fn cycles(graph: &BTreeMap<String, BTreeMap<String, usize>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeMap<String, usize>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        w.on_stack.insert(v);
        for to in w.graph.get(v).into_iter().flat_map(|e| e.keys()) {
            if !w.index.contains_key(to.as_str()) {
                visit(w, to);
                let low = w.low[v].min(w.low[to.as_str()]);
                w.low.insert(v, low);
            } else if w.on_stack.contains(to.as_str()) {
                let low = w.low[v].min(w.index[to.as_str()]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(m) = w.stack.pop() {
                w.on_stack.remove(m);
                component.push(m.to_string());
                if m == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut w =
        Walk { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on_stack: BTreeSet::new(), found: Vec::new() };
    for v in graph.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(&mut w, v);
        }
    }
    w.found.sort();
    w.found
}

/// A shortest cycle through the first module of `component`, back to it (breadth first).
fn shortest_cycle(graph: &BTreeMap<String, BTreeMap<String, usize>>, component: &[String]) -> Vec<String> {
    let start = &component[0];
    let mut came_from: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for to in graph[v].keys().filter(|t| component.contains(t)) {
            if to == start {
                let mut ring = vec![v.clone()];
                let mut at = v;
                while let Some(prev) = came_from.get(at) {
                    ring.push((*prev).clone());
                    at = prev;
                }
                ring.reverse();
                ring.push(start.clone());
                return ring;
            }
            if to != start && !came_from.contains_key(to) {
                came_from.insert(to, v);
                queue.push_back(to);
            }
        }
    }
    unreachable!("a strongly connected component has a cycle through each module")
}

/// The checker on synthetic trees: it finds what it must, and only that.
mod checker {
    use super::check;

    fn run(files: &[(&str, &str)]) -> Vec<String> {
        let files: Vec<(String, String)> = files.iter().map(|(f, s)| (f.to_string(), s.to_string())).collect();
        check(&files)
    }

    /// A small tree: one module in each layer, each using only lower ones.
    const CLEAN: &[(&str, &str)] = &[
        ("mod.rs", "pub mod util; pub mod types; pub mod state; pub mod front;"),
        ("util/mod.rs", "pub mod y;"),
        ("util/y.rs", "pub fn y() {}"),
        ("types.rs", "use crate::core::util::y::y;"),
        ("state/mod.rs", "pub mod a; pub mod b;"),
        ("state/a.rs", "use crate::core::types::T;\nuse super::b::B;\npub(super) fn a() {}\npub(crate) fn c() {}"),
        ("state/b.rs", "use crate::core::{types, util::y};\nfn f<'a>(x: &'a str) -> &'a str { super::super::util::y::y(); x }"),
        ("front/mod.rs", "pub mod x;"),
        ("front/x.rs", "pub fn x() { crate::core::state::a::c(); }"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<String> {
        let mut files: Vec<(&str, &str)> = CLEAN.iter().filter(|(f, _)| !extra.iter().any(|(e, _)| e == f)).copied().collect();
        files.extend_from_slice(extra);
        run(&files)
    }

    #[test]
    fn a_clean_tree_has_no_problems() {
        assert_eq!(run(CLEAN), Vec::<String>::new());
    }

    #[test]
    fn uses_of_a_higher_layer_are_found_in_every_path_form() {
        let cases: &[(&str, &str, &str)] = &[
            ("use", "use crate::core::front::x::x;", "layer: src/core/util/y.rs:2 (util) uses src/core/front/x.rs (front)"),
            (
                "inline",
                "fn g() -> u8 { crate::core::state::a::c() }",
                "layer: src/core/util/y.rs:2 (util) uses src/core/state/a.rs (state)",
            ),
            (
                "group",
                "use crate::core::{util::y as w, front::{x::{self, x as z}}};",
                "layer: src/core/util/y.rs:2 (util) uses src/core/front/x.rs (front)",
            ),
            ("folder item", "use crate::core::state::Thing;", "layer: src/core/util/y.rs:2 (util) uses src/core/state/mod.rs (state)"),
            (
                "after a char literal",
                "const Q: char = '\"'; use crate::core::front::x;",
                "layer: src/core/util/y.rs:2 (util) uses src/core/front/x.rs (front)",
            ),
        ];
        for (name, source, want) in cases {
            let source = format!("pub fn y() {{}}\n{source}");
            let source: &'static str = Box::leak(source.into_boxed_str());
            assert_eq!(with(&[("util/y.rs", source)]), vec![want.to_string()], "{name}");
        }
    }

    #[test]
    fn comments_strings_and_test_code_are_not_uses() {
        let source = r####"pub fn y() {}
// crate::core::front::x::x();
/* crate::core::front::x /* nested */ crate::core::front::x */
const A: &str = "crate::core::front::x \" crate::core::front::x";
const B: &str = r#"crate::core::front::x " crate::core::front::x"#;
const C: &[u8] = br##"crate::core::front::x"##;
#[cfg(test)]
pub(crate) fn helper(a: [u8; 2]) { crate::core::front::x::x(); }
#[cfg(test)]
#[path = "y_tests.rs"]
mod more;
#[cfg(test)]
mod tests {
    use crate::core::front::x;
}
"####;
        let tests = ("util/y_tests.rs", "use crate::core::front::x;");
        assert_eq!(with(&[("util/y.rs", source), tests]), Vec::<String>::new());
    }

    #[test]
    fn cycles_within_a_layer_are_found_with_their_uses() {
        let b = "use crate::core::types::T;\nfn f() { super::a::a() }";
        assert_eq!(
            with(&[("state/b.rs", b)]),
            [
                "cycle: src/core/state/a.rs → src/core/state/b.rs → src/core/state/a.rs",
                "  src/core/state/a.rs:2 → src/core/state/b.rs",
                "  src/core/state/b.rs:2 → src/core/state/a.rs",
            ]
        );
    }

    #[test]
    fn a_folder_and_its_modules_can_form_a_cycle() {
        // `pub(super)` is a visibility, not a use; `super::x` and a bare child path are uses.
        let quiet = with(&[("state/mod.rs", "pub mod a; pub mod b;\npub fn m() { a::a() }")]);
        assert_eq!(quiet, Vec::<String>::new());
        let a = "use crate::core::types::T;\nuse super::b::B;\nfn f() { super::m() }";
        let found = with(&[("state/mod.rs", "pub mod a; pub mod b;\npub fn m() { a::a() }"), ("state/a.rs", a)]);
        assert_eq!(found[0], "cycle: src/core/state/a.rs → src/core/state/mod.rs → src/core/state/a.rs");
    }

    #[test]
    fn a_cycle_across_layers_is_reported_as_its_upward_use() {
        let found = with(&[("state/a.rs", "use crate::core::front::x;")]);
        assert_eq!(found, ["layer: src/core/state/a.rs:1 (state) uses src/core/front/x.rs (front), which uses it back"]);
    }
}
