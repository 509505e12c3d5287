//! Project automation: `cargo xtask codegen [--check]`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask codegen [--check]

  codegen           regenerate generated/ from schemas/ and samples/
  codegen --check   exit 1, naming each stale file, if generated/ is not up to date";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
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
