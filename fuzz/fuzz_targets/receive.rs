//! The receiver's request handling with attacker-chosen content type and
//! body, authenticated or not: always an HTTP answer, never a panic, and a
//! 2xx only for deliveries that are stored.
#![no_main]

mod common;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use common::World;
use hookforge::receive::inbox::Inbox;
use hookforge::receive::receiver::Receiver;
use hookforge::receive::store::{MemoryStore, Store};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const SECRET: &str = "whsec_Zx9Qm2Lk7Vb4Np1Rt6Yh3Jd8Fs5Gw0Ca2Ue7Io4Pk9";

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    common::world(&W, || {
        let store = Arc::new(MemoryStore::with_capacity(usize::MAX));
        let app = Receiver::builder(&hookforge::vendors::prets::VENDOR)
            .secret(SECRET)
            .inbox(Inbox::new(store.clone()))
            .build()
            .unwrap()
            .router();
        (store, app)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let w = world();
    let mut req = http::Request::post("/hooks/prets");
    if flags & 1 == 1 {
        req = req.header("authorization", format!("Bearer {SECRET}"));
    }
    let ct = match flags >> 1 & 3 {
        0 => "application/json",
        1 => "application/cloudevents+json; charset=utf-8",
        2 => "text/plain",
        _ => "application/json; charset=\u{0}",
    };
    if let Ok(v) = http::HeaderValue::from_str(ct) {
        req = req.header("content-type", v);
    }
    let req = req.body(Body::from(body.to_vec())).unwrap();
    let before = w.store.list(None, usize::MAX).unwrap().len();
    let resp = w.rt.block_on(w.app.clone().oneshot(req)).unwrap();
    let after = w.store.list(None, usize::MAX).unwrap();
    // Authentic JSON by RFC 8259 is the vendor's data: never refused as
    // malformed, even where serde_json cannot hold it.
    if flags & 1 == 1 && flags >> 1 & 3 != 2 && hookforge::parse::rfc8259::is_json(body) {
        assert_ne!(resp.status(), 400, "authentic JSON refused with 400");
    }
    if resp.status().is_success() {
        assert_eq!(flags & 1, 1, "2xx without authentication");
        // Stored now, or an earlier delivery with the same idempotency key
        // (event id, or body hash) is: a duplicate.
        let key = hookforge::vendors::prets::VENDOR
            .read_envelope(body, &hookforge::HeaderMap::new())
            .ok()
            .and_then(|e| e.event_id);
        assert!(
            after.len() == before + 1
                || after
                    .iter()
                    .any(|d| d.body == body || (key.is_some() && d.event_id == key)),
            "2xx for a delivery that is not in the inbox"
        );
    } else {
        assert_eq!(after.len(), before, "refused, yet stored");
    }
});
