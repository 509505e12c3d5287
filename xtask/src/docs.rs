//! `cargo xtask docs --check`: the manual's links hold. Every relative link
//! in README.md, the top-level *.md files and docs/ must name a file that
//! exists, and a `#fragment` a heading of that file; every page under docs/
//! must be listed in docs/SUMMARY.md (the mdBook table of contents).

use std::path::{Path, PathBuf};

/// The problems found, each naming the file and the link.
pub fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut pages: Vec<PathBuf> = [
        "README.md",
        "ARCHITECTURE.md",
        "RELIABILITY.md",
        "BENCHMARKS.md",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect();
    let docs = root.join("docs");
    let mut in_docs: Vec<PathBuf> = std::fs::read_dir(&docs)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    in_docs.retain(|p| p.extension().is_some_and(|e| e == "md"));
    in_docs.sort();
    pages.extend(in_docs.iter().cloned());
    for page in &pages {
        let Ok(text) = std::fs::read_to_string(page) else {
            problems.push(format!("{}: cannot be read", rel(root, page)));
            continue;
        };
        for target in links(&text) {
            if let Some(p) = broken(page, &target) {
                problems.push(format!("{}: link `{target}`: {p}", rel(root, page)));
            }
        }
    }
    let summary = std::fs::read_to_string(docs.join("SUMMARY.md")).unwrap_or_default();
    for p in in_docs.iter().filter(|p| !p.ends_with("SUMMARY.md")) {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if !summary.contains(&format!("({name})")) {
            problems.push(format!("docs/SUMMARY.md does not list docs/{name}"));
        }
    }
    problems
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// The targets of the inline links and images outside code blocks and spans.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let line = strip_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

fn strip_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join("")
}

/// Why a link from `page` does not hold, if it does not.
fn broken(page: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (file, fragment) = match target.split_once('#') {
        Some((f, frag)) => (f, Some(frag)),
        None => (target, None),
    };
    let path = if file.is_empty() {
        page.to_path_buf()
    } else {
        page.parent().unwrap_or(Path::new(".")).join(file)
    };
    if !path.exists() {
        return Some(format!("{} does not exist", path.display()));
    }
    let fragment = fragment?;
    let text = std::fs::read_to_string(&path).ok()?;
    let found = text
        .lines()
        .filter(|l| l.starts_with('#'))
        .any(|h| slug(h.trim_start_matches('#')) == fragment);
    (!found).then(|| format!("no heading `#{fragment}` in {}", path.display()))
}

/// A heading's anchor as GitHub and mdBook make it.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_outside_code_are_found_and_anchors_slugged() {
        let text = "see [a](docs/a.md#x-y) and `[b](nope.md)`\n```\n[c](nope.md)\n```\n![i](p.png)";
        assert_eq!(links(text), vec!["docs/a.md#x-y", "p.png"]);
        assert_eq!(
            slug(" Several receivers on PostgreSQL, and metrics"),
            "several-receivers-on-postgresql-and-metrics"
        );
    }
}
