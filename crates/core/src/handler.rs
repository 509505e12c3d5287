//! What a handler is, to the receiver, the inbox and generated code alike:
//! here, so that none of them imports another for it.

use std::future::Future;
use std::pin::Pin;

use http::HeaderMap;

use crate::VendorSpec;

/// What a handler returns; an error makes the receiver answer 5xx so the
/// vendor retries.
pub type HandlerResult = Result<(), BoxError>;

/// Any error a handler wants to report.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A vendor's handler with its types erased: parses the raw delivery and
/// dispatches it. Generated code provides one per vendor
/// (`<vendor>::Dispatcher(your_handler)`).
pub trait RawHandler: Send + Sync + 'static {
    fn vendor(&self) -> &'static VendorSpec;
    fn handle<'a>(&'a self, body: &'a [u8], headers: &'a HeaderMap)
    -> BoxFuture<'a, HandlerResult>;
}
