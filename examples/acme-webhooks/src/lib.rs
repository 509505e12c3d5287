//! Typed webhooks for "Acme Billing", a vendor hookforge does not ship:
//! its schemas live in this crate and `build.rs` generates the code.

/// Models, `Event`, `EventKind`, `Handler`, `dispatch` and `parse` for Acme.
#[allow(clippy::all)]
pub mod acme {
    include!(concat!(env!("OUT_DIR"), "/acme.rs"));
}
