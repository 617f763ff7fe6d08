//! The crate's layering: no two top-level modules import each other, directly or round about.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `crate::<module>` paths a module's files name, as module names.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (index, _) in text.match_indices("crate::") {
        let rest = &text[index + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if modules.contains(&name) {
            found.insert(name);
        }
        // `use crate::{a, b::c}` names several.
        if rest.starts_with('{') {
            let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for part in group.split(',') {
                let name = part.trim().split("::").next().unwrap_or_default();
                if modules.contains(name) {
                    found.insert(name.to_owned());
                }
            }
        }
    }
    found
}

fn sources(path: &Path) -> String {
    if path.is_dir() {
        let mut text = String::new();
        for entry in std::fs::read_dir(path).unwrap() {
            text.push_str(&sources(&entry.unwrap().path()));
        }
        text
    } else if path.extension().is_some_and(|extension| extension == "rs") {
        // Tests may reach anywhere; only the code's own imports make the layers.
        let text = std::fs::read_to_string(path).unwrap();
        text.split("#[cfg(test)]").next().unwrap_or_default().to_owned()
    } else {
        String::new()
    }
}

/// Module → the modules it imports, for every top-level module of `src`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut paths = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !matches!(name.as_str(), "lib" | "main" | "architecture") {
            paths.insert(name, path);
        }
    }
    let modules: BTreeSet<String> = paths.keys().cloned().collect();
    paths
        .into_iter()
        .map(|(name, path)| {
            let mut used = imports(&sources(&path), &modules);
            used.remove(&name);
            (name, used)
        })
        .collect()
}

/// A cycle through `node`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, node: &str, path: &mut Vec<String>) -> Option<Vec<String>> {
    if let Some(start) = path.iter().position(|seen| seen == node) {
        let mut found = path[start..].to_vec();
        found.push(node.to_owned());
        return Some(found);
    }
    path.push(node.to_owned());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(found) = cycle(graph, next, path) {
            return Some(found);
        }
    }
    path.pop();
    None
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let graph = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.contains_key("runner") && graph["commands"].contains("runner"), "{graph:?}");
    for node in graph.keys() {
        assert_eq!(cycle(&graph, node, &mut Vec::new()), None, "an import circle");
    }
}

#[test]
fn the_check_finds_a_circle() {
    let modules: BTreeSet<String> = ["a", "b"].map(str::to_owned).into();
    let graph = BTreeMap::from([
        ("a".to_owned(), imports("use crate::{b::X, error};", &modules)),
        ("b".to_owned(), imports("use crate::a::Y;", &modules)),
    ]);
    assert_eq!(cycle(&graph, "a", &mut Vec::new()), Some(vec!["a".into(), "b".into(), "a".into()]));
}
