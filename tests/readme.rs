//! The README's library example, kept compiling.

use hookforge::HandlerResult;
use hookforge::vendors::prets::{self, Handler, models};

struct Quotes(std::sync::Mutex<Vec<String>>);

impl Handler for Quotes {
    async fn on_quote_created(&self, e: models::QuoteCreated) -> HandlerResult {
        let id = e.data.quote_id.as_option(); // Maybe<String>: absent, null, blank or present
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

/// The README's receiver example, kept compiling (the secret passed in
/// rather than read from the environment).
async fn readme_receiver(
    db: &std::path::Path,
    secret: String,
) -> Result<axum::Router, hookforge::BoxError> {
    use hookforge::receive::inbox::Inbox;
    use hookforge::receive::receiver::Receiver;
    use hookforge::receive::store::SqliteStore;
    use std::sync::Arc;

    let inbox = Inbox::new(Arc::new(SqliteStore::open(db)?));
    inbox.handle(prets::Dispatcher(Quotes(Default::default())));
    let app = Receiver::builder(&prets::VENDOR)
        .secret(secret)
        .inbox(inbox.clone())
        .build()?
        .router();
    inbox.spawn_worker();
    Ok(app)
}

#[tokio::test]
async fn readme_receiver_example_builds_a_router() {
    let dir = std::env::temp_dir().join(format!("hookforge-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = readme_receiver(&dir.join("inbox.db"), "whsec_readme".into()).await;
    assert!(app.is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}
