//! Playing the vendor against any receiver: [`conformance`] replays a
//! vendor's deliveries byte for byte with the negative cases a receiver must
//! survive, and judges what it observes; [`simulate`] plays the vendor over
//! time (retries, divert/suspend, faults) with a verdict per event.

pub mod conformance;
pub mod simulate;

// The paths the modules were written against.
use hookforge_core::{
    Envelope, FlexTimestamp, Maybe, ParseError, VendorSpec, auth, form, handshake, manifest, parse,
    util, vendors,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use hookforge_receive as receive;
use hookforge_schema::schema_walk;
