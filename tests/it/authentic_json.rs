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

/// A signer for `v` with `secret`, and a receiver with its in-memory inbox.
fn signing_receiver(
    v: &'static VendorSpec,
    secret: &str,
) -> (Signer, Arc<MemoryStore>, axum::Router) {
    let signer = Signer::for_manifest(v.manifest(), Secret::new(secret)).unwrap();
    let store = Arc::new(MemoryStore::new());
    let app = Receiver::builder(v)
        .secret(secret)
        .inbox(Inbox::new(store.clone()))
        .build()
        .unwrap()
        .router();
    (signer, store, app)
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

/// Adyen's `pspReference` is the payment's: its AUTHORISATION, REFUND and
/// CHARGEBACK all carry it. Adyen dedupes on it with `eventCode` and
/// `success`, and so must the receiver (the manifest's `event_id.with`):
/// keyed on the reference alone, the refund and the chargeback were
/// answered "duplicate" and dropped.
#[tokio::test]
async fn adyen_events_of_one_payment_are_each_kept() {
    const SECRET: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
    let v = hookforge::vendor("adyen").unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vendors/adyen/samples");
    let (signer, store, app) = signing_receiver(v, SECRET);
    let mut ids = Vec::new();
    for event in ["AUTHORISATION", "REFUND", "CHARGEBACK", "REFUND"] {
        let sample = std::fs::read(root.join(event).join("openapi-example.json")).unwrap();
        let ctx = SignContext::now("adyen");
        let body = signer.sign_body(&sample, &ctx).unwrap_or(sample);
        let envelope = v.read_envelope(&body, &Default::default()).unwrap();
        ids.push(envelope.event_id.unwrap());
        let req = Request::post("/hooks/adyen").header("Content-Type", "application/json");
        let resp = app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{event}");
    }
    // One payment, three events; the second REFUND is the retry of the first.
    let rows = store.list(None, 10).unwrap();
    let mut kept: Vec<_> = rows.iter().map(|r| r.event_type.as_str()).collect();
    kept.sort();
    assert_eq!(kept, ["AUTHORISATION", "CHARGEBACK", "REFUND"]);
    assert_eq!(ids[0], "QFQTPCQ8HXSKGK82:AUTHORISATION:true");
    assert_eq!(ids[1], ids[3]);
}

/// Numeric event ids beyond 64 bits lose digits when parsed: two events
/// whose ids differ only there were stored as one (the second answered
/// "duplicate" and dropped). They are now known by their bodies; the same
/// body again is still a duplicate.
#[tokio::test]
async fn ids_beyond_64_bits_do_not_merge_events() {
    let prets = hookforge::vendor("prets").unwrap();
    let store = Arc::new(MemoryStore::new());
    let with_id = |id: &str| {
        let body = String::from_utf8(prets_body("1")).unwrap();
        let mut doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        doc["eventId"] = serde_json::Value::Null;
        serde_json::to_string(&doc)
            .unwrap()
            .replace("\"eventId\":null", &format!("\"eventId\":{id}"))
            .into_bytes()
    };
    for id in [
        "18446744073709551616",
        "18446744073709551617",
        "18446744073709551616",
    ] {
        let status = post(prets, PRETS_SECRET, store.clone(), &[], with_id(id)).await;
        assert_eq!(status, StatusCode::OK, "{id}");
    }
    let rows = store.list(None, 10).unwrap();
    assert_eq!(
        rows.len(),
        2,
        "{:?}",
        rows.iter().map(|r| &r.dedupe_key).collect::<Vec<_>>()
    );
    assert_eq!(rows.iter().map(|r| r.duplicates).sum::<u32>(), 1);
}

/// BigCommerce's body `hash` is a SHA-1 of `data` alone (`{type, id}`), so
/// every update of one product carries the same one: deduping on it dropped
/// the second update. The Standard Webhooks `webhook-id` names the message
/// and is kept across retries.
#[tokio::test]
async fn bigcommerce_updates_of_one_product_are_each_kept() {
    const SECRET: &str = "bigcommerce-client-secret-0123456789";
    let v = hookforge::vendor("bigcommerce").unwrap();
    let path = "vendors/bigcommerce/samples/store_product_updated/docs-data.json";
    let sample =
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let later = String::from_utf8(sample.clone())
        .unwrap()
        .replace("1561479233", "1561482833")
        .into_bytes();
    assert_ne!(later, sample);
    let (signer, store, app) = signing_receiver(v, SECRET);
    // Two updates an hour apart, then BigCommerce's retry of the first.
    for (id, body) in [("msg-1", &sample), ("msg-2", &later), ("msg-1", &sample)] {
        // The signer sends `webhook-id` too: it is part of the signed string.
        let mut req =
            Request::post("/hooks/bigcommerce").header("content-type", "application/json");
        for (name, value) in signer.sign(body, &SignContext::now(id)) {
            req = req.header(name, value);
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::from(body.clone())).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{id}");
    }
    let rows = store.list(None, 10).unwrap();
    let mut ids: Vec<_> = rows.iter().filter_map(|r| r.event_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["msg-1", "msg-2"], "{rows:?}");
}

/// A body signed whole whose time is read from it (Linear's
/// `webhookTimestamp`) that serde_json refuses but the vendor's own parser
/// takes (a lone surrogate, as JavaScript writes a cut emoji): kept and
/// quarantined, not refused as a forgery (helper-71: answered 401).
#[tokio::test]
async fn a_body_signed_whole_is_kept_when_serde_json_refuses_it() {
    let send = |app: axum::Router, headers: Vec<(String, String)>, body: Vec<u8>| async move {
        let vendor = if headers.is_empty() {
            "adyen"
        } else {
            "linear"
        };
        let mut req =
            Request::post(format!("/hooks/{vendor}")).header("Content-Type", "application/json");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let uri = app.clone();
        let resp = uri.oneshot(req.body(Body::from(body)).unwrap());
        resp.await.unwrap().status()
    };
    // Linear: signed in a header, its time read from the body.
    let linear = hookforge::vendor("linear").unwrap();
    let (signer, store, app) = signing_receiver(linear, "lin_wh_authentic_json_secret_0123");
    let ms = std::time::UNIX_EPOCH.elapsed().unwrap().as_millis();
    let body = format!(
        r#"{{"action":"create","type":"Issue","data":{{"id":"i1","title":"cut \ud83d"}},"webhookTimestamp":{ms}}}"#
    );
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    let mut headers: Vec<(String, String)> = (signer.sign(body.as_bytes(), &SignContext::now("d")))
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    headers.push(("Linear-Event".into(), "Issue".into()));
    headers.push((
        "Linear-Delivery".into(),
        "7a1f6c1e-0000-4000-8000-000000000001".into(),
    ));
    let status = send(app.clone(), headers.clone(), body.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    let rows = store.list(None, 10).unwrap();
    assert_eq!((rows.len(), rows[0].status), (1, Status::Quarantined));
    // Its time still counts: the same body an hour old is refused.
    let old = body.replace(&ms.to_string(), &(ms - 3_600_000).to_string());
    headers.retain(|(k, _)| k != "Linear-Signature" && k != "linear-signature");
    for (k, v) in signer.sign(old.as_bytes(), &SignContext::now("d")) {
        headers.push((k.to_string(), v.to_str().unwrap().to_string()));
    }
    let status = send(app, headers, old.into_bytes()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Adyen signs named fields, not the bytes: no scan stands in for the
    // parse (a scan could read another copy of a repeated key than the
    // vendor's parser), so such a body is still refused (helper-72).
    const SECRET: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
    let adyen = hookforge::vendor("adyen").unwrap();
    let (signer, store, app) = signing_receiver(adyen, SECRET);
    let sample = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("vendors/adyen/samples/AUTHORISATION/openapi-example.json"),
    )
    .unwrap();
    let signed = signer.sign_body(&sample, &SignContext::now("a")).unwrap();
    let text = String::from_utf8(signed).unwrap();
    let body = text.replacen("{", r#"{"note": "cut \ud83d", "#, 1);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    let status = send(app, Vec::new(), body.into_bytes()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(store.list(None, 10).unwrap().is_empty());
}
