//! The README's and the manual's code examples are the files under
//! `examples/`, which `cargo test` compiles: each page shows exactly a
//! file's marked lines.

/// The README and docs/library.md show exactly `examples/quickstart.rs`'s
/// marked lines.
#[test]
fn the_readme_example_is_the_example_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::read_to_string(root.join("examples/quickstart.rs")).unwrap();
    let marked = file
        .split("// README:begin\n")
        .nth(1)
        .and_then(|rest| rest.split("// README:end").next())
        .expect("examples/quickstart.rs has its README markers");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let shown = readme
        .split("## In your code")
        .nth(1)
        .and_then(|rest| rest.split("```rust\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has its example under `## In your code`");
    assert_eq!(shown, marked, "README.md and examples/quickstart.rs differ");
    let manual = std::fs::read_to_string(root.join("docs/library.md")).unwrap();
    let shown = first_rust_block(&manual, "# hookforge in your code");
    assert_eq!(
        shown, marked,
        "docs/library.md and examples/quickstart.rs differ"
    );
}

/// docs/receiving.md shows exactly `examples/receiver.rs`'s marked lines
/// (which `cargo test` compiles).
#[test]
fn the_manuals_receiver_is_the_example_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::read_to_string(root.join("examples/receiver.rs")).unwrap();
    let marked: String = file
        .split("    // manual:begin\n")
        .nth(1)
        .and_then(|rest| rest.split("    // manual:end").next())
        .expect("examples/receiver.rs has its markers")
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let manual = std::fs::read_to_string(root.join("docs/receiving.md")).unwrap();
    let shown = first_rust_block(&manual, "In your own axum app:");
    assert_eq!(
        shown, marked,
        "docs/receiving.md and examples/receiver.rs differ"
    );
}

/// The first ```rust block after `heading` in `page`.
fn first_rust_block<'a>(page: &'a str, heading: &str) -> &'a str {
    page.split(heading)
        .nth(1)
        .and_then(|rest| rest.split("```rust\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("no ```rust block after {heading:?}"))
}
