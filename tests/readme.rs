//! The README's library example, kept compiling.

use hookforge::HandlerResult;
use hookforge::vendors::prets::{self, Handler, models};

struct Quotes(std::sync::Mutex<Vec<String>>);

impl Handler for Quotes {
    async fn on_quote_created(&self, e: models::QuoteCreated) -> HandlerResult {
        let id = e.data.quote_id.as_option(); // Maybe<String>: absent, null or present
        self.0.lock().unwrap().extend(id.cloned());
        Ok(())
    }
}

async fn receive(
    q: &Quotes,
    body: &[u8],
    headers: &hookforge::HeaderMap,
) -> Result<(), hookforge::BoxError> {
    let event = prets::parse(body, headers)?;
    prets::dispatch(q, event).await?;
    Ok(())
}

#[test]
fn readme_example_runs() {
    use std::future::Future;
    let q = Quotes(Default::default());
    let body = prets::EVENTS[0].samples[0].body;
    let headers = hookforge::HeaderMap::new();
    let mut fut = std::pin::pin!(receive(&q, body, &headers));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(matches!(
        fut.as_mut().poll(&mut cx),
        std::task::Poll::Ready(Ok(()))
    ));
    assert_eq!(q.0.lock().unwrap().len(), 1);
}
