//! One small vendor per schema feature and the Rust it generates, as insta
//! snapshots: a generator change shows as a small diff per feature, not as
//! a diff over the 47k lines of `generated/`.
//!
//! `tests/golden/<feature>/` is a vendor directory (manifest, one event);
//! `tests/snapshots/golden__<feature>.snap` is its module. Review changes
//! with `cargo insta review`.

use std::path::Path;

#[test]
fn each_schema_feature_generates_its_expected_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut features: Vec<_> = std::fs::read_dir(root.join("tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    features.sort();
    assert!(features.len() >= 11, "{features:?}");
    for dir in features {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let src = hookforge_codegen::generate_vendor(&hookforge_codegen::VendorInput {
            crate_root: root.to_path_buf(),
            schema_dir: dir.clone(),
            sample_dir: dir.join("samples"),
            preamble: "// golden test output".into(),
            embed_prefix: None,
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_snapshot!(name, src);
    }
}
