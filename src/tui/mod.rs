//! The terminal UI. The state machine ([`app`]) is pure: events in, effects out, no I/O,
//! so it is tested without a terminal or a server. Drawing and the event loop build on it.

pub mod action;
pub mod app;
pub mod details;
pub mod display;
pub mod event;
pub mod fetch;
pub mod filter;
pub mod help;
pub mod history;
pub mod layout;
pub mod names;
pub mod numbers;
pub mod panel;
pub mod picture;
pub mod preferences;
pub mod prompt;
pub mod run;
pub mod search;
pub mod search_all;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod view;
pub mod when;
pub mod windows;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The modules of `src/tui` each module's code (tests aside) names, from its file and
    /// the files of its submodules.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
        let mut files = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("src/tui") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let modules: BTreeSet<String> = files
            .iter()
            .filter_map(|f| {
                let rel = f.strip_prefix(&dir).ok()?;
                let first = rel.components().next()?.as_os_str().to_str()?;
                Some(first.trim_end_matches(".rs").to_string())
            })
            .filter(|m| m != "mod")
            .collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &files {
            let rel = f.strip_prefix(&dir).expect("inside");
            let nested = rel.components().count() > 1;
            let Some(module) = rel
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .map(|m| m.trim_end_matches(".rs").to_string())
                .filter(|m| m != "mod")
            else {
                continue;
            };
            let source = std::fs::read_to_string(f).expect("read");
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            let prefixes: &[&str] = if nested {
                &["crate::tui::", "super::super::"]
            } else {
                &["crate::tui::", "super::"]
            };
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for prefix in prefixes {
                    for (at, _) in line.match_indices(prefix) {
                        let name: String = line[at + prefix.len()..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if modules.contains(&name) && name != module {
                            graph.entry(module.clone()).or_default().insert(name);
                        }
                    }
                    // `use super::{a, b}` names several at once.
                    if let Some(at) = line.find(&format!("{prefix}{{")) {
                        let inside = &line[at + prefix.len() + 1..];
                        for name in inside.split([',', '}', ' ']) {
                            let name = name.split("::").next().unwrap_or_default();
                            if modules.contains(name) && name != module {
                                graph.entry(module.clone()).or_default().insert(name.into());
                            }
                        }
                    }
                }
            }
        }
        graph
    }

    #[test]
    fn the_modules_of_the_ui_import_each_other_in_one_direction() {
        let graph = imports();
        assert!(
            graph.get("app").is_some_and(|a| a.contains("history")),
            "the scan sees imports: {graph:?}"
        );
        // A depth-first walk that meets a module already on its path has found a cycle.
        fn visit(
            m: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(i) = path.iter().position(|p| p == m) {
                let mut cycle = path[i..].to_vec();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            if done.contains(m) {
                return None;
            }
            path.push(m.to_string());
            for next in graph.get(m).into_iter().flatten() {
                if let Some(c) = visit(next, graph, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(m.to_string());
            None
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            let cycle = visit(m, &graph, &mut Vec::new(), &mut done);
            assert!(
                cycle.is_none(),
                "import cycle: {}",
                cycle.unwrap_or_default().join(" → ")
            );
        }
    }
}
