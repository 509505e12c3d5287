//! The README's library example: README.md shows the lines between the
//! markers, and `tests/it/readme.rs` checks that they are the same.
//!
//! `cargo run --example quickstart` parses a sample Prets delivery and
//! dispatches it to the handler.

// README:begin
use hookforge::HandlerResult;
use hookforge::vendors::prets::{self, Handler, models};

struct Quotes;

impl Handler for Quotes {
    async fn on_quote_created(&self, e: models::QuoteCreated) -> HandlerResult {
        let id = e.data.quote_id.as_option(); // Maybe<String>: absent, null, blank or present
        println!("quote created: {id:?}"); // then GET /v1/quotes/{id} ...
        Ok(())
    }
    // every other event: accepted and ignored by default; unknown ones too
}

async fn receive(body: &[u8], headers: &hookforge::HeaderMap) -> Result<(), hookforge::BoxError> {
    let event = prets::parse(body, headers)?; // reads `type`, then exactly that event's type
    prets::dispatch(&Quotes, event).await?;
    Ok(())
}
// README:end

fn main() -> Result<(), hookforge::BoxError> {
    use std::future::Future;
    let created = prets::EVENTS
        .iter()
        .find(|e| e.name == "quote.created")
        .expect("Prets documents quote.created");
    let headers = hookforge::HeaderMap::new();
    // Nothing here waits, so one poll finishes it: no runtime needed.
    let mut fut = std::pin::pin!(receive(created.samples[0].body, &headers));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => Err("the example's handler waited".into()),
    }
}
