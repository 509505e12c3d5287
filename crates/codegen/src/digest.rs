// Shared verbatim by the generator and by `build.rs` files (through
// `#[path]`), so that a build can tell whether generated code is older than
// its schemas without linking the generator. Depends only on std and `sha2`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The line in a generated file that records the digest of its inputs.
pub const DIGEST_PREFIX: &str = "// hookforge-inputs-digest: ";

/// Digest of everything a vendor's generated code depends on: every file under
/// the vendor's schema directory (path and content) and the names of its
/// sample files (their bytes are included at compile time, so only the list
/// matters). Paths are relative and sorted so the digest is machine-independent.
pub fn inputs_digest(schema_dir: &Path, sample_dir: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    for rel in list_files(schema_dir)? {
        let bytes = fs::read(schema_dir.join(&rel))?;
        hasher.update(b"schema\0");
        hasher.update(rel.as_bytes());
        hasher.update(b"\0");
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    if sample_dir.exists() {
        for rel in list_files(sample_dir)? {
            hasher.update(b"sample\0");
            hasher.update(rel.as_bytes());
            hasher.update(b"\0");
        }
    }
    let out = hasher.finalize();
    Ok(out.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads the digest recorded in a generated file, if any.
pub fn recorded_digest(generated: &str) -> Option<&str> {
    generated
        .lines()
        .take(5)
        .find_map(|l| l.strip_prefix(DIGEST_PREFIX))
        .map(str::trim)
}

/// All regular files under `dir`, as `/`-separated relative paths, sorted.
pub fn list_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            let ty = entry.file_type()?;
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                let rel = path
                    .strip_prefix(dir)
                    .expect("read_dir yields children of dir")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}
