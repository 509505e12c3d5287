//! The ceilings for the wrk benchmark, on the same runtime settings as
//! `hookforge serve`. Run through `benches/wrk/run.sh`.
//!
//! `wrk-ceiling ADDR [bare|read|minimal]`:
//! - `bare` (the default): a bare axum route answering 200 to any POST
//!   without reading the body; issue 11's ceiling.
//! - `read`: reads the body, answers 200 with a small JSON answer; the least
//!   any receiver must do before it can store anything.
//! - `minimal`: what an integrator would write by hand in plain axum for an
//!   in-memory receiver: checks the bearer in constant time, parses the body
//!   into a `serde_json::Value`, keeps it by its `eventId` (a duplicate is
//!   acknowledged) and answers with a small JSON answer. No metrics, no
//!   headers kept, no typed model, no worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use subtle::ConstantTimeEq;

#[derive(Default)]
struct Kept {
    secret: Vec<u8>,
    deliveries: Mutex<HashMap<String, Vec<u8>>>,
}

async fn read(body: Bytes) -> Response {
    let answer = serde_json::json!({ "status": "accepted", "bytes": body.len() });
    (StatusCode::OK, axum::Json(answer)).into_response()
}

async fn minimal(State(kept): State<Arc<Kept>>, headers: HeaderMap, body: Bytes) -> Response {
    let authentic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|token| bool::from(token.ct_eq(&kept.secret)));
    if !authentic {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let (Some(id), Some(event)) = (
        value.get("eventId").and_then(|v| v.as_str()),
        value.get("type").and_then(|v| v.as_str()),
    ) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(mut map) = kept.deliveries.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let status = if map.contains_key(id) {
        "duplicate"
    } else {
        map.insert(id.to_owned(), body.to_vec());
        "accepted"
    };
    drop(map);
    let answer = serde_json::json!({ "event": event, "status": status });
    (StatusCode::OK, axum::Json(answer)).into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let mode = args.next().unwrap_or_else(|| "bare".into());
    let app = match mode.as_str() {
        "bare" => Router::new().route("/hooks/prets", post(|| async { "ok" })),
        "read" => Router::new().route("/hooks/prets", post(read)),
        "minimal" => {
            let Ok(secret) = std::env::var("PRETS_SECRET") else {
                eprintln!("error: `minimal` checks the bearer: set PRETS_SECRET");
                std::process::exit(2);
            };
            let kept = Arc::new(Kept {
                secret: secret.into_bytes(),
                ..Kept::default()
            });
            Router::new()
                .route("/hooks/prets", post(minimal))
                .with_state(kept)
        }
        other => {
            eprintln!("error: unknown mode `{other}` (bare, read or minimal)");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "ceiling ({mode}) listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await
}
