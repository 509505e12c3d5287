//! Receiving: the axum [`receiver`] verifies, parses and stores each
//! delivery in the [`inbox`] before answering; the inbox's worker hands it
//! to your handler; [`serve`] runs it all behind a hardened HTTP server.

mod fetched_keys;
mod handshake;
pub mod inbox;
pub mod receiver;
pub mod replay;
pub mod serve;
pub mod store;
pub mod trace;

// The paths the modules were written against, from the core.
use hookforge_core::form;
use hookforge_core::handshake as core_handshake;
use hookforge_core::{
    BoxError, BoxFuture, Checked, HandlerResult, ParseError, RawHandler, VendorSpec, auth,
    manifest, parse, util, vendor, vendors,
};
