//! Embeds every JSON file of each shipped vendor directory (`vendors/<id>/`
//! at the repository's root) with `include_bytes!`, into
//! `$OUT_DIR/catalogue.rs`.

use std::fs;
use std::path::Path;

fn main() {
    // `vendors` links to the repository's `vendors/` (a copy in the
    // packaged crate).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("vendors");
    let root = root.canonicalize().unwrap_or(root);
    println!("cargo:rerun-if-changed={}", root.display());
    let mut out = String::from(
        "/// Written by build.rs from vendors/: (id, [(path in the vendor dir, bytes)]).\n\
         pub static VENDORS: &[(&str, DirFiles)] = &[\n",
    );
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    for dir in dirs.iter().filter(|d| d.join("manifest.json").is_file()) {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        println!("cargo:rerun-if-changed={}", dir.display());
        out.push_str(&format!("    ({id:?}, &[\n"));
        let mut files = Vec::new();
        json_files(dir, dir, &mut files);
        files.sort();
        for (rel, abs) in files {
            println!("cargo:rerun-if-changed={abs}");
            out.push_str(&format!("        ({rel:?}, include_bytes!({abs:?})),\n"));
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("catalogue.rs");
    fs::write(dest, out).expect("OUT_DIR is writable");
}

fn json_files(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            println!("cargo:rerun-if-changed={}", p.display());
            json_files(base, &p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, p.to_string_lossy().into_owned()));
        }
    }
}
