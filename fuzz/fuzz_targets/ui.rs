//! The dashboard with attacker-chosen method, path, query, Host, Origin and
//! form body: always an answer, never a panic, never a 5xx (the store does
//! not fail here), and no state change without the CSRF token.
#![no_main]

mod common;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use common::World;
use hookforge::receive::store::{MemoryStore, NewDelivery, Status, Store};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    common::world(&W, || {
        let store = Arc::new(MemoryStore::new());
        for i in 0..20 {
            let body = format!(
                r#"{{"type":"quote.created","eventId":"evt_{i}","data":{{"quoteId":"q"}}}}"#
            );
            store
                .insert(&NewDelivery {
                    vendor: "prets".into(),
                    event_type: "quote.created".into(),
                    event_id: Some(format!("evt_{i}")),
                    dedupe_key: format!("id:evt_{i}"),
                    body: body.into_bytes(),
                    headers: Vec::new(),
                    received_at_ms: i,
                    misfit: (i % 3 == 0).then(|| "at `data`: seeded".to_string()),
                    order: None,
                })
                .unwrap();
        }
        let app = hookforge::ui::router(store.clone(), None);
        (store, app)
    })
}

fuzz_target!(|data: &[u8]| {
    // Fields separated by 0xff: method flag, path+query, Host, Origin, body.
    let mut parts = data.split(|b| *b == 0xff);
    let flag = parts.next().and_then(|p| p.first().copied()).unwrap_or(0);
    let text = |p: Option<&[u8]>| String::from_utf8_lossy(p.unwrap_or_default()).into_owned();
    let path = text(parts.next());
    let host = text(parts.next());
    let origin = text(parts.next());
    let body = parts.next().unwrap_or_default().to_vec();
    let uri = format!("/{}", path.trim_start_matches('/'));
    let post = flag & 1 == 1;
    let mut req = if post {
        http::Request::post(uri.as_str())
    } else {
        http::Request::get(uri.as_str())
    };
    if let Ok(v) = http::HeaderValue::from_str(&host)
        && !host.is_empty()
    {
        req = req.header("host", v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&origin)
        && !origin.is_empty()
    {
        req = req.header("origin", v);
    }
    req = req.header("content-type", "application/x-www-form-urlencoded");
    let Ok(req) = req.body(Body::from(body)) else {
        return;
    };
    let w = world();
    let statuses = || -> Vec<Status> {
        let rows = w.store.list(None, 100).unwrap();
        rows.iter().map(|d| d.status).collect()
    };
    let before = statuses();
    let resp = w.rt.block_on(w.app.clone().oneshot(req)).unwrap();
    assert!(
        !resp.status().is_server_error(),
        "{} for {uri}",
        resp.status()
    );
    if post {
        // The fuzzer cannot know the per-process CSRF token: no POST, from
        // any Host or Origin, changes the inbox.
        assert_eq!(
            before,
            statuses(),
            "a POST without the token changed the inbox"
        );
    }
});
