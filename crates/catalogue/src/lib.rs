//! The catalogue: the vendor directories hookforge ships (`vendors/<id>/`
//! in the repository: manifest, schemas, samples and their provenance),
//! embedded so that every stage knows them by name. The runtime loads them
//! (`hookforge::vendor("github")`); the generator writes one out to
//! generate its typed Rust from a user's `build.rs`
//! (`hookforge_codegen::Builder::catalogue_vendor`). Data only: no parsing.

use std::path::{Path, PathBuf};

/// One vendor directory: (path in the directory, bytes) pairs.
pub type DirFiles = &'static [(&'static str, &'static [u8])];

include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));

/// The ids of the shipped vendors, sorted.
pub fn ids() -> impl Iterator<Item = &'static str> {
    VENDORS.iter().map(|(id, _)| *id)
}

/// One vendor's files, or `None` if the catalogue has no such vendor.
pub fn files(id: &str) -> Option<DirFiles> {
    VENDORS.iter().find(|(i, _)| *i == id).map(|(_, f)| *f)
}

/// Writes vendor `id`'s directory under `parent` (as `parent/<id>/`),
/// replacing what a previous write left there; returns its path.
pub fn write_dir(id: &str, parent: &Path) -> std::io::Result<PathBuf> {
    let files = files(id).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "the catalogue has no vendor {id:?} (it has: {})",
                ids().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let dir = parent.join(id);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(&path, bytes)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_vendor_has_a_manifest_and_written_dirs_match_the_embedded_files() {
        assert!(super::ids().count() >= 5);
        let tmp = std::env::temp_dir().join(format!("hookforge-catalogue-{}", std::process::id()));
        for id in super::ids() {
            let files = super::files(id).unwrap();
            assert!(files.iter().any(|(p, _)| *p == "manifest.json"), "{id}");
            let dir = super::write_dir(id, &tmp).unwrap();
            for (rel, bytes) in files {
                assert_eq!(std::fs::read(dir.join(rel)).unwrap(), *bytes, "{id}/{rel}");
            }
        }
        assert!(
            super::write_dir("no_such_vendor", &tmp)
                .unwrap_err()
                .to_string()
                .contains("has no vendor")
        );
        std::fs::remove_dir_all(tmp).unwrap();
    }
}
