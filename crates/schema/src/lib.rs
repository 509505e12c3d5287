//! Schema tools over the core's vendors: [`infer`] a draft-07 schema from
//! sample payloads, [`schema_walk`] every place of a schema, and [`export`]
//! a vendor's webhooks as AsyncAPI 3.0 or OpenAPI 3.1.

pub mod export;
pub mod infer;
pub mod onboard;
pub mod schema_walk;

// The paths the modules were written against, from the core.
#[cfg(test)]
use hookforge_core::vendors;
use hookforge_core::{EventInfo, VendorSpec, manifest};

/// `base`, or `base_2`, `base_3`, … : the first that `claim` takes (it
/// returns false for a name already taken).
fn first_free(base: &str, mut claim: impl FnMut(&str) -> bool) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while !claim(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}
