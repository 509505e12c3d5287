//! What both parse benchmarks measure: the generated parse and dispatch of
//! one body, with handlers that do nothing.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use hookforge::HeaderMap;
use hookforge::vendors::{collateralxp, cowbell, prets, socotra, superoffice};

/// The default handlers never wait, so one poll completes them.
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

struct Noop;
impl collateralxp::Handler for Noop {}
impl cowbell::Handler for Noop {}
impl prets::Handler for Noop {}
impl socotra::Handler for Noop {}
impl superoffice::Handler for Noop {}

/// Typed parse and dispatch with the vendor's generated code.
pub fn typed(vendor: &str, body: &[u8], headers: &HeaderMap) -> hookforge::HandlerResult {
    macro_rules! go {
        ($($v:ident),*) => {
            match vendor {
                $(stringify!($v) => run($v::dispatch(&Noop, $v::parse(body, headers).unwrap())),)*
                other => panic!("add `{other}` to the benchmark"),
            }
        };
    }
    go!(collateralxp, cowbell, prets, socotra, superoffice)
}
