//! hookforge: receive other companies' webhooks correctly.
//!
//! Each vendor module under [`vendors`] is generated from `schemas/<vendor>/`
//! and has typed models, an `Event` enum, a `Handler` trait, `dispatch` and
//! `parse`. The stages, in the order data flows through them:
//!
//! - [`parse`]: a body (and headers) to a typed event, losslessly;
//! - [`auth`]: signing and verifying deliveries, both sides;
//! - `receive` (feature `receiver`): the axum receiver, the durable inbox
//!   and its worker, the hardened server;
//! - `conformance` (feature `harness`): replaying a vendor's deliveries
//!   against any receiver, the sandbox, load;
//! - `simulate` (feature `harness`): playing the vendor over time (retries,
//!   divert/suspend, faults) with a verdict per event.
//!
//! With `default-features = false` only the models, parsing and auth are
//! built. See `ARCHITECTURE.md` for where things live.

#[cfg(feature = "diff")]
pub use hookforge_drift::{diff, drift};
pub use hookforge_schema::{export, infer, onboard, schema_walk};
#[cfg(feature = "testing")]
pub use hookforge_testing::{self as testing, snapshot_samples};

#[cfg(feature = "receiver")]
pub use hookforge_receive as receive;

#[cfg(feature = "harness")]
pub use hookforge_harness::{conformance, simulate};

#[cfg(feature = "ui")]
pub use hookforge_ui as ui;

/// Finding the example payloads in a vendor's documentation text and
/// repairing them into JSON (`hookforge extract`).
#[cfg(feature = "extract")]
pub use hookforge_extract as extract;

// The core: parsing, auth, the registry and the built-in vendors.
#[doc(hidden)]
pub use hookforge_core::DynModel;
#[cfg(feature = "vendor-dir")]
pub use hookforge_core::vendor_dir;
pub use hookforge_core::{
    BoxError, BoxFuture, Checked, Delivery, Envelope, EnvelopeReader, EventInfo, FlexTimestamp,
    HandlerResult, HeaderMap, Manifest, Maybe, ParseError, ParsedEvent, RawHandler, SampleInfo,
    Timestamp, TimestampError, UnknownEvent, UnknownEventType, VendorSpec, auth, dedupe_key, form,
    handshake, manifest, parse, register, vendor, vendors,
};
// The stages below share the core's small helpers.
#[allow(unused_imports)]
pub(crate) use hookforge_core::util;

/// Used by generated code; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use hookforge_core::__private::*;
}
