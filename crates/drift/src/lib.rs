//! Schema evolution: [`diff`] two vendor directories (what breaks a
//! receiver), and [`drift`]: schema patches and redacted samples proposed
//! from the deliveries an inbox holds.

pub mod diff;
mod document;
pub mod drift;
mod error;

pub use error::{Error, PatchError};

// The paths the modules were written against.
use hookforge_core::{manifest, util};
use hookforge_schema::infer;
