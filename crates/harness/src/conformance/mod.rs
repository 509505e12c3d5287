//! Conformance: what a vendor sends ([`delivery`]), replayed against any
//! receiver with the negative cases it must survive ([`harness`]), the
//! vendor API a receiver may call back ([`sandbox`]), and sustained
//! [`load`].

pub mod cases;
pub mod delivery;
pub(crate) mod error;
pub mod harness;
pub mod html;
pub(crate) mod judge;
pub mod load;
pub mod observe;
pub mod report;
pub mod sandbox;
pub mod target;
