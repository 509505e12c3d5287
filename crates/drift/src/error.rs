//! What can go wrong reading vendor directories and applying patches; each
//! error names the file (and the place in it) it is about.

use std::path::PathBuf;

use crate::manifest::vendor_dir::LoadError;

/// Why [`diff`](crate::diff::diff) or [`propose`](crate::drift::propose)
/// could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The vendor directory is not one hookforge can load.
    #[error(transparent)]
    VendorDir(#[from] LoadError),
    /// A sample could not be read or is not JSON.
    #[error("{}: {message}", path.display())]
    Sample { path: PathBuf, message: String },
    /// Sample directories (`--old-samples`) named after no event: their
    /// samples would silently not be checked.
    #[error(
        "{}: {} directories name no event ({}); a sample directory is named by its event file's stem ({})",
        dir.display(),
        unmatched.len(),
        unmatched.join(", "),
        expected.join(", ")
    )]
    UnmatchedSamples {
        dir: PathBuf,
        unmatched: Vec<String>,
        expected: Vec<String>,
    },
    /// An event schema loads but a validator cannot compile it.
    #[error("{}: the schema of `{event}` does not compile: {message}", file.display())]
    Schema {
        file: PathBuf,
        event: String,
        message: String,
    },
}

/// Why a patch op could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("`{path}` is not a JSON pointer")]
    NotAPointer { path: String },
    #[error("{op} {path}: `{parent}` does not exist")]
    NoParent {
        op: &'static str,
        path: String,
        parent: String,
    },
    #[error("the file is not JSON: {0}")]
    NotJson(String),
    #[error("cannot {op} at {path}")]
    Unsupported { op: &'static str, path: String },
}
