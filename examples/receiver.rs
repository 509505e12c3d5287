//! docs/receiving.md's receiver example: the page shows the lines between
//! the markers, and `tests/it/readme.rs` checks that they are the same.
//!
//! `PRETS_SECRET=whsec_… cargo run --example receiver` builds the route and
//! its inbox (in `inbox.db`) and says so; serving it is your app's part.

use hookforge::vendors::prets::Handler;

/// Accepts every Prets event (the default of each `Handler` method).
struct Quotes;

impl Handler for Quotes {}

#[tokio::main]
async fn main() -> Result<(), hookforge::BoxError> {
    // manual:begin
    use hookforge::receive::inbox::Inbox;
    use hookforge::receive::receiver::Receiver;
    use hookforge::receive::store::SqliteStore;
    use hookforge::vendors::prets;
    use std::sync::Arc;

    let inbox = Inbox::new(Arc::new(SqliteStore::open("inbox.db".as_ref())?));
    inbox.handle(prets::Dispatcher(Quotes)); // your prets::Handler
    let app = Receiver::builder(&prets::VENDOR)
        .secret(std::env::var("PRETS_SECRET")?)
        .inbox(inbox.clone())
        .build()?
        .router(); // POST /hooks/prets
    inbox.spawn_worker();
    // manual:end
    let _: axum::Router = app;
    println!("a Prets route over inbox.db, with its worker: serve it in your axum app");
    Ok(())
}
