//! The vendors hookforge knows: the built-in ones, those registered at run
//! time, and (feature `vendor-dir`) the shipped vendor directories, loaded
//! on first use.

use crate::VendorSpec;

/// Vendors registered at run time ([`register`]).
static REGISTERED: std::sync::RwLock<Vec<&'static VendorSpec>> = std::sync::RwLock::new(Vec::new());

/// Every vendor, sorted by id: the built-in ones, and those [`register`]ed
/// (which replace a built-in vendor with the same id).
pub fn vendors() -> Vec<&'static VendorSpec> {
    let registered = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
    let mut all: Vec<&'static VendorSpec> = crate::vendors::ALL
        .iter()
        .copied()
        .filter(|b| registered.iter().all(|r| r.id != b.id))
        .chain(registered.iter().copied())
        .collect();
    all.sort_by_key(|v| v.id);
    all
}

/// A vendor by id (see [`vendors`]).
///
/// Besides the compiled and registered vendors, a vendor hookforge ships as
/// a vendor directory (GitHub, Stripe, …; see `vendor_dir::catalogue`) is
/// loaded and registered on first use.
pub fn vendor(id: &str) -> Option<&'static VendorSpec> {
    let found = vendors().into_iter().find(|v| v.id == id);
    #[cfg(feature = "vendor-dir")]
    let found = found.or_else(|| {
        let v = crate::vendor_dir::catalogue::load(id)?.ok()?;
        register(v);
        Some(v)
    });
    found
}

/// Makes a vendor (e.g. one loaded with `vendor_dir::load`) known to
/// [`vendor`] and [`vendors`], for the rest of the process. A later vendor
/// with the same id replaces an earlier one.
pub fn register(v: &'static VendorSpec) {
    let mut registered = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    registered.retain(|r| r.id != v.id);
    registered.push(v);
}
