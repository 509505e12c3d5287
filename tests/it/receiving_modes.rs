//! Receiving modes: the inbox answers before a slow handler finishes, inline
//! mode answers 500 when the handler fails, failed handlers are retried.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hookforge::receive::inbox::Inbox;
use hookforge::receive::receiver::Receiver;
use hookforge::receive::store::{MemoryStore, Status, Store};
use hookforge::vendors::prets;
use hookforge::{BoxFuture, RawHandler};
use hookforge::{HandlerResult, HeaderMap, VendorSpec};
use tower::ServiceExt;

const PRETS_SECRET: &str = "whsec_Zx9Qm2Lk7Vb4Np1Rt6Yh3Jd8Fs5Gw0Ca2Ue7Io4Pk9";

fn sample(path: &str) -> Vec<u8> {
    std::fs::read(common::root().join("samples").join(path)).unwrap()
}

fn prets_req(body: Vec<u8>) -> Request<Body> {
    common::prets_request(PRETS_SECRET, body)
}

fn app(store: Arc<MemoryStore>) -> axum::Router {
    common::prets_router(PRETS_SECRET, Inbox::new(store))
}

/// The receiver in inbox mode, `gate` its handler, and the worker that runs
/// it (to abort at the end).
fn app_with_worker(inbox: Inbox, gate: Gate) -> (axum::Router, tokio::task::JoinHandle<()>) {
    inbox.handle(gate);
    let worker = inbox.spawn_worker();
    (common::prets_router(PRETS_SECRET, inbox), worker)
}

/// The receiver in inline mode: `handler` runs before the answer, the
/// deliveries recorded in `store`.
fn inline_app(handler: Gate, store: &Arc<MemoryStore>) -> axum::Router {
    Receiver::builder(&prets::VENDOR)
        .secret(PRETS_SECRET)
        .inline(handler, Inbox::new(store.clone()))
        .build()
        .unwrap()
        .router()
}

#[tokio::test]
async fn get_is_not_allowed() {
    let app = app(Arc::new(MemoryStore::new()));
    let resp = app
        .oneshot(Request::get("/hooks/prets").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// A handler that waits until released, then succeeds or fails: `entered`
/// counts calls that started, `calls` those that finished.
struct Gate {
    release: Arc<tokio::sync::Notify>,
    fail: bool,
    entered: Arc<AtomicUsize>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Gate {
    fn new(release: &Arc<tokio::sync::Notify>, fail: bool) -> Gate {
        Gate {
            release: release.clone(),
            fail,
            entered: Arc::default(),
            calls: Arc::default(),
        }
    }
}

/// Polls `done` every 10 ms for up to `secs` seconds.
async fn eventually(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    common::within(secs, what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

impl RawHandler for Gate {
    fn vendor(&self) -> &'static VendorSpec {
        &prets::VENDOR
    }
    fn handle<'a>(&'a self, body: &'a [u8], h: &'a HeaderMap) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let p = prets::VENDOR.parse(body, h)?;
            self.entered.fetch_add(1, Ordering::SeqCst);
            self.release.notified().await;
            self.calls.lock().unwrap().push(p.event_type);
            if self.fail {
                Err("downstream unavailable".into())
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test]
async fn inbox_mode_answers_before_a_slow_handler_finishes() {
    let release = Arc::new(tokio::sync::Notify::new());
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone());
    let gate = Gate::new(&release, false);
    let (entered, calls) = (gate.entered.clone(), gate.calls.clone());
    let (app, worker) = app_with_worker(inbox, gate);
    // A receiver that ran the handler before answering would never answer
    // here: the handler waits for a release that comes only afterwards.
    let resp = common::within(
        30,
        "the answer, while the handler is held",
        app.oneshot(prets_req(sample("prets/quote.created/doc-1.json"))),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // The handler did start (from the inbox), and has not finished.
    eventually(30, "the worker to start the handler", || {
        entered.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(calls.lock().unwrap().is_empty());
    release.notify_one();
    eventually(30, "the delivery to be done", || {
        store.list(Some(Status::Done), 10).unwrap().len() == 1
    })
    .await;
    assert_eq!(*calls.lock().unwrap(), vec!["quote.created"]);
    worker.abort();
}

#[tokio::test]
async fn inline_mode_answers_500_when_the_handler_fails_and_retries_are_processed() {
    let release = Arc::new(tokio::sync::Notify::new());
    release.notify_one();
    let store = Arc::new(MemoryStore::new());
    let handler = Gate::new(&release, true);
    let calls = handler.calls.clone();
    let app = inline_app(handler, &store);
    let body = sample("prets/quote.updated/doc-1.json");
    let resp = common::within(
        30,
        "the inline answer",
        app.clone().oneshot(prets_req(body.clone())),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let v: serde_json::Value = serde_json::from_slice(
        &axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("downstream unavailable"),
        "{v}"
    );
    // The vendor's retry is handled again (not swallowed as a duplicate).
    release.notify_one();
    let resp = common::within(30, "the retry's answer", app.oneshot(prets_req(body)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(calls.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn failed_handlers_are_retried_with_backoff_and_stay_visible() {
    let release = Arc::new(tokio::sync::Notify::new());
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone()).with_retry(hookforge::receive::inbox::RetryPolicy {
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(40),
        max_attempts: 3,
    });
    let gate = Gate::new(&release, true);
    let calls = gate.calls.clone();
    let (app, worker) = app_with_worker(inbox, gate);
    let resp = app
        .oneshot(prets_req(sample("prets/quote.superseded/doc-1.json")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    eventually(30, "three failed attempts", || {
        release.notify_one();
        store.list(Some(Status::Dead), 10).unwrap().len() == 1
    })
    .await;
    let failed = store.list(Some(Status::Dead), 10).unwrap();
    assert_eq!(failed.len(), 1, "{:?}", store.list(None, 10));
    assert_eq!(failed[0].attempts, 3);
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("downstream unavailable")
    );
    assert_eq!(calls.lock().unwrap().len(), 3);
    worker.abort();
}

/// Inline mode: a copy of a delivery that arrives while the first is still
/// being handled is told to come back (503), not handled a second time at
/// once; once the first is done, a copy is a duplicate, not handled again.
#[tokio::test]
async fn inline_mode_never_handles_a_delivery_twice_at_once() {
    let release = Arc::new(tokio::sync::Notify::new());
    let store = Arc::new(MemoryStore::new());
    let handler = Gate::new(&release, false);
    let (entered, calls) = (handler.entered.clone(), handler.calls.clone());
    let app = inline_app(handler, &store);
    let body = sample("prets/quote.updated/doc-1.json");
    let first = tokio::spawn(app.clone().oneshot(prets_req(body.clone())));
    eventually(30, "the first copy in its handler", || {
        entered.load(Ordering::SeqCst) == 1
    })
    .await;
    let again = common::within(
        30,
        "the second copy's answer",
        app.clone().oneshot(prets_req(body.clone())),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(again.headers().contains_key("retry-after"));
    release.notify_one();
    let first = common::within(30, "the first answer", first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let late = common::within(30, "a late copy", app.oneshot(prets_req(body)))
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::OK);
    assert_eq!(entered.load(Ordering::SeqCst), 1, "handled once");
    assert_eq!(calls.lock().unwrap().len(), 1);
}
