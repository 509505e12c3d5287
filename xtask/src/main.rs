//! Project automation.
//!
//! - `cargo xtask codegen [--check]`: regenerate `generated/` (or check it is current);
//! - `cargo xtask extract --vendor V DOC [--check]`: documented examples of V's doc
//!   become samples with provenance, events without one get a synthesized sample;
//! - `cargo xtask extract --all DOCS_DIR [--check]`: the same for every vendor,
//!   reading `DOCS_DIR/<vendor>.txt`;
//! - `cargo xtask examples DOC`: list the examples found in a doc and their repairs;
//! - `cargo xtask docs [--check]`: write (check) the README's catalogue table; every
//!   relative link of the manual holds.

mod catalogue;
mod docs;
mod samples;
mod synth;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage:
  cargo xtask codegen [--check]
  cargo xtask extract --vendor VENDOR DOC [--check]
  cargo xtask extract --all DOCS_DIR [--check]
  cargo xtask examples DOC
  cargo xtask docs [--check]

  codegen            regenerate generated/ from schemas/ and samples/
  codegen --check    exit 1, naming each stale file, if generated/ is not up to date
  extract            turn a vendor doc's examples into samples/<vendor>/ (with provenance)
                     and synthesize samples for events without one; --check compares
                     instead of writing and exits 1 on any difference
  examples           print each example found in DOC with its line range and repairs
  docs               write README.md's catalogue table from vendors/
  docs --check       exit 1, naming each, if the catalogue table is stale, a relative link
                     in README.md, the top-level *.md files or docs/ is broken, or
                     docs/SUMMARY.md misses a page";

/// README.md as it should be, and as it is.
fn readme_with_catalogue() -> Result<(String, String), String> {
    let root = workspace_root();
    let readme =
        std::fs::read_to_string(root.join("README.md")).map_err(|e| format!("README.md: {e}"))?;
    let want = catalogue::with_table(&readme, &catalogue::table(&root)?)?;
    Ok((want, readme))
}

fn write_catalogue() -> ExitCode {
    match readme_with_catalogue().and_then(|(want, _)| {
        std::fs::write(workspace_root().join("README.md"), want).map_err(|e| e.to_string())
    }) {
        Ok(()) => {
            println!("README.md: catalogue table written from vendors/");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn catalogue_problems() -> Vec<String> {
    match readme_with_catalogue() {
        Ok((want, have)) if want == have => Vec::new(),
        Ok(_) => vec!["README.md: the catalogue table is stale; run `cargo xtask docs`".into()],
        Err(e) => vec![e],
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["extract", rest @ ..] => extract_cmd(rest),
        ["examples", doc] => examples(Path::new(doc)),
        ["docs"] => write_catalogue(),
        ["docs", "--check"] => {
            let mut problems = catalogue_problems();
            problems.extend(docs::check(&workspace_root()));
            for p in &problems {
                eprintln!("{p}");
            }
            if problems.is_empty() {
                println!("docs: every link holds");
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn codegen(check: bool) -> ExitCode {
    let root = workspace_root();
    let result = match hookforge_codegen::workspace_codegen(&root, check) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    if check {
        if result.is_fresh() {
            println!("generated/ is up to date");
            return ExitCode::SUCCESS;
        }
        for p in &result.stale {
            eprintln!("stale: {} (run `cargo xtask codegen`)", rel(p));
        }
        for p in &result.orphaned {
            eprintln!(
                "orphaned: {} (no schema generates it; run `cargo xtask codegen`)",
                rel(p)
            );
        }
        return ExitCode::FAILURE;
    }
    for p in &result.stale {
        println!("wrote {}", rel(p));
    }
    for p in &result.orphaned {
        println!("removed {}", rel(p));
    }
    if result.is_fresh() {
        println!("generated/ was already up to date");
    }
    ExitCode::SUCCESS
}

fn extract_cmd(args: &[&str]) -> ExitCode {
    let check = args.contains(&"--check");
    let rest: Vec<&str> = args.iter().copied().filter(|a| *a != "--check").collect();
    let root = workspace_root();
    let jobs: Vec<(String, Option<PathBuf>)> = match rest.as_slice() {
        ["--vendor", vendor, doc] | [doc, "--vendor", vendor] => {
            vec![(vendor.to_string(), Some(PathBuf::from(doc)))]
        }
        ["--all", dir] => match every_vendor_doc(&root, Path::new(dir)) {
            Ok(jobs) => jobs,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => return usage(),
    };
    let (mut failed, mut wrote) = (false, false);
    for (vendor, doc) in jobs {
        if let Some(d) = &doc
            && !d.is_file()
        {
            eprintln!("error: cannot read {}", d.display());
            return ExitCode::from(2);
        }
        let (changed, ok) = extract_one(&root, &vendor, doc.as_deref(), check);
        wrote |= changed;
        failed |= !ok;
    }
    if check && failed {
        eprintln!(
            "samples/ does not match extraction; run `cargo xtask extract --all <vendor-docs>`"
        );
    }
    if wrote {
        // The sample list is part of the generated code.
        let code = codegen(false);
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Every vendor with schemas, and its doc in `dir` (`<vendor>.txt`) when
/// there is one.
fn every_vendor_doc(root: &Path, dir: &Path) -> Result<Vec<(String, Option<PathBuf>)>, String> {
    let dirs = hookforge_codegen::vendor_dirs(&root.join("schemas")).map_err(|e| e.to_string())?;
    Ok(dirs
        .iter()
        .map(|d| {
            let id = d
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let doc = dir.join(format!("{id}.txt"));
            (id, doc.exists().then_some(doc))
        })
        .collect())
}

/// Extracts one vendor's samples, writing them or (`check`) comparing; each
/// problem printed. Whether files changed, and whether all went well.
fn extract_one(root: &Path, vendor: &str, doc: Option<&Path>, check: bool) -> (bool, bool) {
    let plan = match samples::plan(root, vendor, doc) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {vendor}: {e}");
            return (false, false);
        }
    };
    let mut failed = false;
    for p in &plan.problems {
        eprintln!("unrepairable: {p}");
        failed = true;
    }
    let documented = plan.files.keys().filter(|k| k.contains("/doc-")).count();
    let synthesized = plan
        .files
        .keys()
        .filter(|k| k.ends_with("/synthesized.json"))
        .count();
    let mut wrote = false;
    if check {
        let diffs = samples::compare(root, &plan);
        for d in &diffs {
            eprintln!("{d}");
        }
        if diffs.is_empty() {
            println!(
                "samples/{vendor}: up to date ({documented} documented, {synthesized} synthesized)"
            );
        } else {
            failed = true;
        }
    } else {
        match samples::write(root, &plan) {
            Ok(changes) => {
                for c in &changes {
                    println!("{c}");
                }
                wrote = !changes.is_empty();
                println!("samples/{vendor}: {documented} documented, {synthesized} synthesized");
            }
            Err(e) => {
                eprintln!("error: {vendor}: {e}");
                failed = true;
            }
        }
    }
    (wrote, !failed)
}

fn examples(doc: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(doc) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", doc.display());
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for found in hookforge_extract::find_examples(&text) {
        match found {
            Ok(ex) => {
                let line = serde_json::json!({
                    "lines": [ex.lines.0, ex.lines.1],
                    "context": ex.context,
                    "repairs": ex.repairs,
                    "payload": serde_json::from_str::<serde_json::Value>(&ex.text).expect("valid"),
                });
                println!("{line}");
            }
            Err(u) => {
                eprintln!("unrepairable: {}:{}: {}", doc.display(), u.line, u.message);
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
