//! Receiving modes: the inbox answers before a slow handler finishes, inline
//! mode answers 500 when the handler fails, failed handlers are retried.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hookforge::inbox::{Inbox, MemoryStore, Status, Store};
use hookforge::receiver::{BoxFuture, RawHandler, Receiver};
use hookforge::vendors::prets;
use hookforge::{HandlerResult, HeaderMap, VendorSpec};
use tower::ServiceExt;

const PRETS_SECRET: &str = "whsec_Zx9Qm2Lk7Vb4Np1Rt6Yh3Jd8Fs5Gw0Ca2Ue7Io4Pk9";

fn sample(path: &str) -> Vec<u8> {
    std::fs::read(common::root().join("samples").join(path)).unwrap()
}

fn prets_req(body: Vec<u8>) -> Request<Body> {
    Request::post("/hooks/prets")
        .header("authorization", format!("Bearer {PRETS_SECRET}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn app(store: Arc<MemoryStore>) -> axum::Router {
    Receiver::builder(&prets::VENDOR)
        .secret(PRETS_SECRET)
        .inbox(Inbox::new(store))
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

/// A handler that waits until released, then succeeds or fails.
struct Gate {
    release: Arc<tokio::sync::Notify>,
    fail: bool,
    calls: Arc<Mutex<Vec<String>>>,
}

impl RawHandler for Gate {
    fn vendor(&self) -> &'static VendorSpec {
        &prets::VENDOR
    }
    fn handle<'a>(
        &'a self,
        body: &'a [u8],
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let p = prets::VENDOR.parse(body, headers)?;
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
    let calls = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone());
    inbox.handle(Gate {
        release: release.clone(),
        fail: false,
        calls: calls.clone(),
    });
    let worker = inbox.spawn_worker();
    let app = Receiver::builder(&prets::VENDOR)
        .secret(PRETS_SECRET)
        .inbox(inbox)
        .build()
        .unwrap()
        .router();
    let resp = app
        .oneshot(prets_req(sample("prets/quote.created/doc-1.json")))
        .await
        .unwrap();
    // Answered while the handler is still blocked.
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(calls.lock().unwrap().is_empty());
    release.notify_one();
    for _ in 0..200 {
        if store.list(Some(Status::Done), 10).unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*calls.lock().unwrap(), vec!["quote.created"]);
    assert_eq!(store.list(Some(Status::Done), 10).unwrap().len(), 1);
    worker.abort();
}

#[tokio::test]
async fn inline_mode_answers_500_when_the_handler_fails_and_retries_are_processed() {
    let release = Arc::new(tokio::sync::Notify::new());
    release.notify_one();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::new(MemoryStore::new());
    let handler = Gate {
        release: release.clone(),
        fail: true,
        calls: calls.clone(),
    };
    let app = Receiver::builder(&prets::VENDOR)
        .secret(PRETS_SECRET)
        .inline(handler, Inbox::new(store.clone()))
        .build()
        .unwrap()
        .router();
    let body = sample("prets/quote.updated/doc-1.json");
    let resp = app.clone().oneshot(prets_req(body.clone())).await.unwrap();
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
    let resp = app.oneshot(prets_req(body)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(calls.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn failed_handlers_are_retried_with_backoff_and_stay_visible() {
    let release = Arc::new(tokio::sync::Notify::new());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone()).with_retry(hookforge::inbox::RetryPolicy {
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(40),
        max_attempts: 3,
    });
    inbox.handle(Gate {
        release: release.clone(),
        fail: true,
        calls: calls.clone(),
    });
    let worker = inbox.spawn_worker();
    let app = Receiver::builder(&prets::VENDOR)
        .secret(PRETS_SECRET)
        .inbox(inbox)
        .build()
        .unwrap()
        .router();
    let resp = app
        .oneshot(prets_req(sample("prets/quote.superseded/doc-1.json")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    for _ in 0..500 {
        release.notify_one();
        if store.list(Some(Status::Dead), 10).unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
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
