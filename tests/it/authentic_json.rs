//! An authenticated body that is JSON by RFC 8259 is never refused, even
//! when serde_json cannot hold it (a lone surrogate escape, a number beyond
//! f64, nesting deeper than 128, a leading BOM): it is kept, quarantined with
//! the reason, its bytes intact. A body that is not JSON is refused with 400
//! for every vendor shape, with or without the vendor's type header.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hookforge::VendorSpec;
use hookforge::auth::{Secret, SignContext, Signer};
use hookforge::receive::inbox::Inbox;
use hookforge::receive::receiver::Receiver;
use hookforge::receive::store::{MemoryStore, Status, Store};
use tower::ServiceExt;

const PRETS_SECRET: &str = "whsec_JsonJsonJsonJsonJsonJsonJsonJsonJsonJsonJso";
const SHOPIFY_SECRET: &str = "shopify-authentic-json-secret-0123";

async fn post(
    v: &'static VendorSpec,
    secret: &str,
    store: Arc<MemoryStore>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> StatusCode {
    let app = Receiver::builder(v)
        .secret(secret)
        .inbox(Inbox::new(store))
        .build()
        .unwrap()
        .router();
    let signer = Signer::for_manifest(v.manifest(), Secret::new(secret)).unwrap();
    let mut req = Request::post(format!("/hooks/{}", v.id));
    for (k, val) in signer.sign(&body, &SignContext::now("evt_json")) {
        req = req.header(k, val);
    }
    req = req.header("Content-Type", "application/json");
    for (k, val) in headers {
        req = req.header(*k, *val);
    }
    let resp = app
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    resp.status()
}

fn prets_body(extra: &str) -> Vec<u8> {
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/prets/quote.created/doc-1.json"),
    )
    .unwrap();
    let trimmed = sample.trim_end();
    let body = trimmed.strip_suffix('}').unwrap();
    format!("{body}, \"x_added\": {extra}}}").into_bytes()
}

#[tokio::test]
async fn json_our_parser_cannot_hold_is_kept_not_refused() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a lone surrogate escape", prets_body(r#""cut \ud83d""#)),
        ("a number beyond f64", prets_body("1e400")),
        ("nesting deeper than 128", prets_body(&deep)),
        ("a UTF-8 byte order mark", {
            let mut b = b"\xEF\xBB\xBF".to_vec();
            b.extend(prets_body("1"));
            b
        }),
    ];
    for (what, body) in cases {
        let store = Arc::new(MemoryStore::new());
        let v = &hookforge::vendors::prets::VENDOR;
        let status = post(v, PRETS_SECRET, store.clone(), &[], body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{what}");
        let rows = store.list(None, 10).unwrap();
        assert_eq!(rows.len(), 1, "{what}");
        assert_eq!(rows[0].status, Status::Quarantined, "{what}");
        assert_eq!(rows[0].body, body, "{what}: the bytes are kept as sent");
        let why = rows[0].last_error.as_deref().unwrap_or_default();
        assert!(why.contains("cannot hold"), "{what}: {why}");
    }
}

#[tokio::test]
async fn what_is_not_json_is_refused_for_every_vendor_shape() {
    let not_json = b"{\"this is\": not JSON, \"truncated".to_vec();
    let prets = &hookforge::vendors::prets::VENDOR;
    let store = Arc::new(MemoryStore::new());
    assert_eq!(
        post(prets, PRETS_SECRET, store.clone(), &[], not_json.clone()).await,
        StatusCode::BAD_REQUEST
    );
    // Shopify: the type is only in a header. With it or without it, a body
    // that is not JSON is refused alike (it was 200 "unreadable" without).
    let shopify = hookforge::vendor("shopify").unwrap();
    for headers in [&[("X-Shopify-Topic", "orders/create")][..], &[][..]] {
        let status = post(
            shopify,
            SHOPIFY_SECRET,
            store.clone(),
            headers,
            not_json.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{headers:?}");
    }
    assert!(store.list(None, 10).unwrap().is_empty());
    // JSON without the topic header is the vendor's data: kept.
    let status = post(
        shopify,
        SHOPIFY_SECRET,
        store.clone(),
        &[],
        b"{\"id\": 1}".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rows = store.list(None, 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, Status::Quarantined);
}
