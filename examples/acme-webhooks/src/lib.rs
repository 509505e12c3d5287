//! Typed webhooks for "Acme Billing", a vendor hookforge does not ship:
//! its schemas live in this crate and `build.rs` generates the code; and
//! for Linear, generated from hookforge's catalogue by name.

/// Models, `Event`, `EventKind`, `Handler`, `dispatch` and `parse` for Acme.
#[allow(clippy::all)]
pub mod acme {
    include!(concat!(env!("OUT_DIR"), "/acme.rs"));
}

/// The same items for Linear, from the catalogue (`catalogue_vendor("linear")`).
#[allow(clippy::all)]
pub mod linear {
    include!(concat!(env!("OUT_DIR"), "/linear.rs"));
}

/// Every catalogue vendor, generated (only with
/// `HOOKFORGE_EVERY_CATALOGUE_VENDOR=1`, as `scripts/catalogue-models` runs it).
#[cfg(every_catalogue_vendor)]
pub mod catalogue {
    include!(concat!(env!("OUT_DIR"), "/catalogue_models.rs"));
}
