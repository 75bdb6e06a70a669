//! The code's shape, checked: imports run one way. A module that imports a
//! module which imports it back (directly or around a longer circle) fails
//! here, and so does a web handler module that imports another handler.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The web modules that hold handlers; they share leaf modules only.
const HANDLERS: &[&str] = &[
    "api", "apply", "audit", "pages", "pwpush", "requests", "staff",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Each `src` module (`service`, `web::api`…) and its code, without
/// comments and without its unit tests.
fn modules() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = code
                .lines()
                .map(|line| line.split("//").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n");
            (parts.join("::"), code)
        })
        .collect()
}

/// The identifiers that follow each `prefix` in `code`, with the one after
/// them when there is one: `crate::web::api` gives `("web", Some("api"))`.
fn paths_after<'c>(code: &'c str, prefix: &str) -> Vec<(&'c str, Option<&'c str>)> {
    let ident = |text: &'c str| {
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        &text[..end]
    };
    code.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &code[at + prefix.len()..];
            let first = ident(rest);
            let second = rest[first.len()..]
                .strip_prefix("::")
                .map(ident)
                .filter(|s| s.starts_with(|c: char| c.is_ascii_lowercase()));
            (first, second)
        })
        .filter(|(first, _)| !first.is_empty())
        .collect()
}

/// The imports between the crate's top-level modules, and between the
/// modules of `web`.
fn graphs() -> (Graph, Graph) {
    let mut top = Graph::new();
    let mut web = Graph::new();
    for (module, code) in modules() {
        let mut parts = module.split("::");
        let top_module = parts.next().unwrap_or_default().to_owned();
        let web_module = (top_module == "web")
            .then(|| parts.next().map(str::to_owned))
            .flatten();
        for (first, second) in paths_after(&code, "crate::") {
            if first != top_module {
                top.entry(top_module.clone())
                    .or_default()
                    .insert(first.to_owned());
            } else if let (Some(from), Some(to)) = (&web_module, second) {
                web.entry(from.clone()).or_default().insert(to.to_owned());
            }
        }
        if let Some(from) = &web_module {
            for (to, _) in paths_after(&code, "super::") {
                web.entry(from.clone()).or_default().insert(to.to_owned());
            }
        }
    }
    for graph in [&mut top, &mut web] {
        for (from, to) in graph.iter_mut() {
            to.remove(from);
        }
    }
    (top, web)
}

/// A circle of imports, if there is one.
fn circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut found = path[start..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(graph, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(graph, node, &mut Vec::new(), &mut done))
}

#[test]
fn the_crates_modules_import_one_another_in_one_direction_only() {
    let (top, _) = graphs();
    assert!(top.contains_key("service"), "the scan found the modules");
    assert_eq!(circle(&top), None, "an import circle between modules");
}

#[test]
fn web_modules_import_in_one_direction_and_handlers_import_only_leaves() {
    let (_, web) = graphs();
    assert_eq!(circle(&web), None, "an import circle inside web");
    for handler in HANDLERS {
        let imports = web.get(*handler).cloned().unwrap_or_default();
        let others: Vec<_> = imports
            .iter()
            .filter(|m| HANDLERS.contains(&m.as_str()))
            .collect();
        assert!(
            others.is_empty(),
            "web::{handler} imports handler modules {others:?}"
        );
    }
}

#[test]
fn a_circle_is_found_where_there_is_one() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(from, to)| (from.to_owned(), BTreeSet::from([to.to_owned()])))
        .collect();
    assert_eq!(
        circle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
