//! The receiver answers every bad request with the right status and a clear
//! log line, never panics, and never logs a secret.
//!
//! Alone in its test binary: tracing caches per-callsite interest globally,
//! so a capturing subscriber only sees everything when no other test runs
//! beside it.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use hookforge::auth::{Scheme, Secret, SignContext, Signer, Verifier};
use hookforge::receive::inbox::Inbox;
use hookforge::receive::receiver::{OnMisfit, Receiver};
use hookforge::receive::store::{MemoryStore, Store};
use hookforge::vendors::{cowbell, prets, superoffice};

use tower::ServiceExt;

const PRETS_SECRET: &str = "whsec_Zx9Qm2Lk7Vb4Np1Rt6Yh3Jd8Fs5Gw0Ca2Ue7Io4Pk9";
const SO_SECRET: &str = "so-secret-5f1c9e";
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_OLD_SECRET: &str = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";
const SHARED_SECRET: &str = "shared-4b8d2f";

/// Captured log output.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

fn sample(path: &str) -> Vec<u8> {
    std::fs::read(common::root().join("samples").join(path)).unwrap()
}

fn app(store: Arc<MemoryStore>) -> Router {
    let inbox = Inbox::new(store);
    let prets = Receiver::builder(&prets::VENDOR)
        .secret(PRETS_SECRET)
        .inbox(inbox.clone())
        .body_limit(1024 * 1024)
        .build()
        .unwrap();
    let so = Receiver::builder(&superoffice::VENDOR)
        .secret(SO_SECRET)
        .inbox(inbox.clone())
        .build()
        .unwrap();
    // Standard Webhooks with two active secrets, mounted for Cowbell's payloads.
    let sw = Verifier::new(
        Scheme::StandardWebhooks {
            tolerance: Duration::from_secs(300),
        },
        vec![Secret::new(SW_SECRET), Secret::new(SW_OLD_SECRET)],
    )
    .unwrap();
    let cowbell_sw = Receiver::builder(&cowbell::VENDOR)
        .verifier(sw)
        .inbox(inbox.clone())
        .build()
        .unwrap();
    let cxp = Receiver::builder(&hookforge::vendors::collateralxp::VENDOR)
        .secret(SHARED_SECRET)
        .inbox(inbox.clone())
        .build()
        .unwrap();
    // The same vendor with misfits rejected, and with an inbox that cannot store.
    let strict = Receiver::builder(&prets::VENDOR)
        .secret(PRETS_SECRET)
        .inbox(inbox.clone())
        .on_misfit(OnMisfit::Reject)
        .build()
        .unwrap();
    let broken = Arc::new(common::FaultStore::default());
    broken
        .fail_inserts
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let failing = Receiver::builder(&prets::VENDOR)
        .secret(PRETS_SECRET)
        .inbox(Inbox::new(broken))
        .build()
        .unwrap();
    Router::new()
        .merge(prets.router())
        .merge(so.router())
        .merge(cxp.router())
        .route("/sw/cowbell", cowbell_sw.method_router())
        .route("/strict/prets", strict.method_router())
        .route("/failing/prets", failing.method_router())
}

/// Requests in `cases()` that must be refused (non-2xx): changed on purpose
/// when a case is added.
const BAD_REQUESTS: usize = 32;
/// Requests in `cases()` that must be accepted, quarantined ones included.
const GOOD_REQUESTS: usize = 13;

struct Case {
    name: &'static str,
    req: Request<Body>,
    status: StatusCode,
    log: &'static str,
}

fn post(uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Request<Body> {
    let mut b = Request::post(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body)).unwrap()
}

fn prets_req(auth: Option<&str>, ct: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut h = vec![];
    if let Some(a) = auth {
        h.push(("authorization", a));
    }
    if let Some(c) = ct {
        h.push(("content-type", c));
    }
    post("/hooks/prets", &h, body)
}

fn bearer() -> String {
    format!("Bearer {PRETS_SECRET}")
}

fn so_sig(secret: &str, body: &[u8]) -> String {
    let s = Signer::for_manifest(superoffice::VENDOR.manifest(), Secret::new(secret)).unwrap();
    s.sign(body, &SignContext::now("x"))[0]
        .1
        .to_str()
        .unwrap()
        .to_string()
}

fn so_req(sig: Option<&str>, extra: &[(&str, &str)], body: Vec<u8>) -> Request<Body> {
    let mut h = vec![("content-type", "application/json; charset=utf-8")];
    if let Some(s) = sig {
        h.push(("X-SuperOffice-Signature", s));
    }
    h.extend_from_slice(extra);
    post("/hooks/superoffice", &h, body)
}

fn sw_req(
    body: &[u8],
    ts: u64,
    secret: &str,
    tweak: impl FnOnce(&mut Vec<(String, String)>),
) -> Request<Body> {
    let s = Signer::new(
        Scheme::StandardWebhooks {
            tolerance: Duration::from_secs(300),
        },
        Secret::new(secret),
    )
    .unwrap();
    let mut h: Vec<(String, String)> = s
        .sign(
            body,
            &SignContext {
                message_id: "msg_2b7f1c".into(),
                timestamp: ts,
            },
        )
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    h.push(("content-type".into(), "application/json".into()));
    tweak(&mut h);
    let refs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post("/sw/cowbell", &refs, body.to_vec())
}

/// The longest run of 8 or more characters of `secret` found in `text`.
fn leaked_piece<'s>(secret: &'s str, text: &str) -> Option<&'s str> {
    const MIN: usize = 8;
    (0..secret.len().saturating_sub(MIN - 1))
        .flat_map(|i| (i + MIN..=secret.len()).map(move |j| &secret[i..j]))
        .filter(|p| text.contains(p))
        .max_by_key(|p| p.len())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn cases() -> Vec<Case> {
    let quote = sample("prets/quote.created/doc-1.json");
    let so = sample("superoffice/quote.approved/doc-1.json");
    let so_disagreeing = String::from_utf8(so.clone())
        .unwrap()
        .replace(
            "1fc5752a-6de8-412d-847a-12d5529a0ec6",
            "1fc5752a-6de8-412d-847a-12d5529a0ec7",
        )
        .into_bytes();
    assert_ne!(so_disagreeing, so);
    let cow = sample("cowbell/quote.status/doc-1.json");
    let cxp = sample("collateralxp/ordering.file_added/doc-1.json");
    let json = Some("application/json");
    let deep = format!(
        "{{\"type\":\"quote.created\",\"d\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    )
    .into_bytes();
    let mut unknown: serde_json::Value = serde_json::from_slice(&quote).unwrap();
    unknown["type"] = "quote.teleported".into();
    unknown["eventId"] = "evt_01KV59VZ50UNKNWNEVENTTYPE0".into();
    let mut so_other: serde_json::Value = serde_json::from_slice(&so).unwrap();
    so_other["PrimaryKey"] = 1.into();
    let so_other = serde_json::to_vec(&so_other).unwrap();
    let number_for_string = br#"{"type":"quote.created","version":"2026-06-01","organization":{},"data":{"quoteId":5}}"#.to_vec();
    let big = vec![b' '; 10 * 1024 * 1024];
    vec![
        // Bearer (Prets).
        Case {
            name: "bearer missing",
            req: prets_req(None, json, quote.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "missing header `authorization`",
        },
        Case {
            name: "bearer without prefix",
            req: prets_req(Some(PRETS_SECRET), json, quote.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "malformed header `authorization`",
        },
        Case {
            name: "basic instead of bearer",
            req: prets_req(Some("Basic dXNlcjpwYXNz"), json, quote.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "malformed header `authorization`",
        },
        Case {
            name: "bearer wrong secret",
            req: prets_req(
                Some("Bearer whsec_0000000000000000000000000000000000000000000"),
                json,
                quote.clone(),
            ),
            status: StatusCode::UNAUTHORIZED,
            log: "does not match any configured secret",
        },
        Case {
            name: "bearer truncated",
            req: prets_req(Some(&bearer()[..bearer().len() - 3]), json, quote.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "does not match any configured secret",
        },
        Case {
            name: "bearer empty",
            req: prets_req(Some("Bearer "), json, quote.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "does not match",
        },
        // Bodies.
        Case {
            name: "empty body",
            req: prets_req(Some(&bearer()), json, vec![]),
            status: StatusCode::BAD_REQUEST,
            log: "empty body",
        },
        Case {
            name: "truncated body",
            req: prets_req(Some(&bearer()), json, quote[..quote.len() / 2].to_vec()),
            status: StatusCode::BAD_REQUEST,
            log: "not valid JSON",
        },
        Case {
            name: "non-UTF-8 body",
            req: prets_req(Some(&bearer()), json, b"{\"type\":\"\xff\xfe\"}".to_vec()),
            status: StatusCode::BAD_REQUEST,
            log: "not valid UTF-8",
        },
        // JSON by RFC 8259 that serde_json cannot hold: kept, not refused.
        Case {
            name: "deeply nested body",
            req: prets_req(Some(&bearer()), json, deep),
            status: StatusCode::OK,
            log: "recursion limit",
        },
        // Authentic JSON that misfits our model: kept (quarantined), 200.
        Case {
            name: "JSON array",
            req: prets_req(
                Some(&bearer()),
                json,
                b"[{\"type\":\"quote.created\"}]".to_vec(),
            ),
            status: StatusCode::OK,
            log: "quarantined delivery: authentic, but it does not fit the model",
        },
        Case {
            name: "number where a string belongs",
            req: prets_req(Some(&bearer()), json, number_for_string.clone()),
            status: StatusCode::OK,
            log: "data.quoteId",
        },
        // A vendor-controlled string cannot forge a log line.
        Case {
            name: "event type with a newline",
            req: prets_req(
                Some(&bearer()),
                json,
                br#"{"type":"quote.created\nFORGED  INFO hookforge: accepted delivery evt_FORGED","eventId":"evt_nl"}"#.to_vec(),
            ),
            status: StatusCode::OK,
            log: "quote.created\\nFORGED",
        },
        Case {
            name: "no event type",
            req: prets_req(Some(&bearer()), json, br#"{"eventId":"evt_1"}"#.to_vec()),
            status: StatusCode::OK,
            log: "no event type",
        },
        Case {
            name: "blank event type",
            req: prets_req(Some(&bearer()), json, br#"{"type":" ","eventId":"evt_2"}"#.to_vec()),
            status: StatusCode::OK,
            log: "no event type",
        },
        Case {
            name: "misfit rejected when asked to",
            req: post(
                "/strict/prets",
                &[("authorization", &bearer()), ("content-type", "application/json")],
                br#"{"type":"quote.created","version":"2026-06-01","organization":{},"data":{"quoteId":6}}"#.to_vec(),
            ),
            status: StatusCode::BAD_REQUEST,
            log: "at `data.quoteId`: invalid type: integer `6`, expected a string",
        },
        Case {
            name: "misfit unauthenticated",
            req: prets_req(Some("Bearer nope"), json, number_for_string.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "does not match any configured secret",
        },
        Case {
            name: "store cannot commit",
            req: post(
                "/failing/prets",
                &[("authorization", &bearer()), ("content-type", "application/json")],
                quote.clone(),
            ),
            status: StatusCode::SERVICE_UNAVAILABLE,
            log: "cannot store the delivery: inbox store: injected fault: the disk is full",
        },
        Case {
            name: "10 MB body",
            req: prets_req(Some(&bearer()), json, big),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            log: "exceeds the 1048576-byte limit",
        },
        Case {
            name: "wrong content type",
            req: prets_req(Some(&bearer()), Some("text/plain"), quote.clone()),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            log: "is not JSON",
        },
        Case {
            name: "form content type",
            req: prets_req(
                Some(&bearer()),
                Some("application/x-www-form-urlencoded"),
                quote.clone(),
            ),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            log: "is not JSON",
        },
        Case {
            name: "missing content type",
            req: prets_req(Some(&bearer()), None, quote.clone()),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            log: "missing or unreadable Content-Type",
        },
        Case {
            name: "compressed body",
            req: post(
                "/hooks/prets",
                &[
                    ("authorization", &bearer()),
                    ("content-type", "application/json"),
                    ("content-encoding", "gzip"),
                ],
                quote.clone(),
            ),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            log: "content encoding \"gzip\" is not accepted",
        },
        Case {
            name: "charset not utf-8",
            req: prets_req(
                Some(&bearer()),
                Some("application/json; charset=ISO-8859-1"),
                quote.clone(),
            ),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            log: "charset \"ISO-8859-1\" is not accepted: expected utf-8",
        },
        // Accepted cases.
        Case {
            name: "valid delivery",
            req: prets_req(Some(&bearer()), json, quote.clone()),
            status: StatusCode::OK,
            log: "accepted delivery",
        },
        Case {
            name: "duplicate event id",
            req: prets_req(Some(&bearer()), json, quote.clone()),
            status: StatusCode::OK,
            log: "duplicate delivery acknowledged",
        },
        Case {
            name: "unknown event type",
            req: prets_req(Some(&bearer()), json, serde_json::to_vec(&unknown).unwrap()),
            status: StatusCode::OK,
            log: "event=quote.teleported",
        },
        // HMAC (SuperOffice).
        Case {
            name: "hmac missing",
            req: so_req(None, &[], so.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "missing header `x-superoffice-signature`",
        },
        Case {
            name: "hmac garbled",
            req: so_req(Some("%%%not-base64%%%"), &[], so.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "a base64 HMAC",
        },
        Case {
            name: "hmac truncated",
            req: so_req(Some(&so_sig(SO_SECRET, &so)[..20]), &[], so.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "malformed header `x-superoffice-signature`",
        },
        Case {
            name: "hmac of another body",
            req: so_req(Some(&so_sig(SO_SECRET, &so_other)), &[], so.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "does not match",
        },
        Case {
            name: "hmac wrong secret",
            req: so_req(Some(&so_sig("not-the-secret", &so)), &[], so.clone()),
            status: StatusCode::UNAUTHORIZED,
            log: "does not match",
        },
        // Another event id: the delivery below is not its retry.
        Case {
            name: "event header disagrees with body",
            req: so_req(
                Some(&so_sig(SO_SECRET, &so_disagreeing)),
                &[("X-SuperOffice-Event", "quote.sent")],
                so_disagreeing.clone(),
            ),
            status: StatusCode::OK,
            log: "says the event is \"quote.sent\"",
        },
        Case {
            name: "hmac valid, lower-case header",
            req: post(
                "/hooks/superoffice",
                &[
                    ("content-type", "application/json"),
                    ("x-superoffice-signature", &so_sig(SO_SECRET, &so)),
                ],
                so.clone(),
            ),
            status: StatusCode::OK,
            log: "accepted delivery",
        },
        // Standard Webhooks.
        Case {
            name: "sw stale timestamp",
            req: sw_req(&cow, now() - 600, SW_SECRET, |_| {}),
            status: StatusCode::UNAUTHORIZED,
            log: "s old, more than the 300 s tolerance",
        },
        Case {
            name: "sw future timestamp",
            req: sw_req(&cow, now() + 600, SW_SECRET, |_| {}),
            status: StatusCode::UNAUTHORIZED,
            log: "in the future",
        },
        Case {
            name: "sw missing id",
            req: sw_req(&cow, now(), SW_SECRET, |h| {
                h.retain(|(k, _)| k != "webhook-id")
            }),
            status: StatusCode::UNAUTHORIZED,
            log: "missing header `webhook-id`",
        },
        Case {
            name: "sw garbled signature",
            req: sw_req(&cow, now(), SW_SECRET, |h| {
                for (k, v) in h.iter_mut() {
                    if k == "webhook-signature" {
                        *v = "v1 abc".into();
                    }
                }
            }),
            status: StatusCode::UNAUTHORIZED,
            log: "malformed header `webhook-signature`",
        },
        Case {
            name: "sw non-numeric timestamp",
            req: sw_req(&cow, now(), SW_SECRET, |h| {
                for (k, v) in h.iter_mut() {
                    if k == "webhook-timestamp" {
                        *v = "yesterday".into();
                    }
                }
            }),
            status: StatusCode::UNAUTHORIZED,
            log: "Unix seconds",
        },
        Case {
            name: "sw unknown secret",
            req: sw_req(&cow, now(), "whsec_YW4tdW5rbm93bi1zZWNyZXQtb2YtMzItYnl0ZXMhISE=", |_| {}),
            status: StatusCode::UNAUTHORIZED,
            log: "does not match",
        },
        Case {
            name: "sw rotated (old) secret",
            req: sw_req(&cow, now(), SW_OLD_SECRET, |_| {}),
            status: StatusCode::OK,
            log: "accepted delivery",
        },
        // Shared secret switched on for a vendor that documents no auth.
        Case {
            name: "shared secret missing",
            req: post(
                "/hooks/collateralxp",
                &[("content-type", "application/json")],
                cxp.clone(),
            ),
            status: StatusCode::UNAUTHORIZED,
            log: "missing header `x-webhook-secret`",
        },
        Case {
            name: "shared secret wrong",
            req: post(
                "/hooks/collateralxp",
                &[
                    ("content-type", "application/json"),
                    ("x-webhook-secret", "nope"),
                ],
                cxp.clone(),
            ),
            status: StatusCode::UNAUTHORIZED,
            log: "does not match",
        },
        Case {
            name: "shared secret right",
            req: post(
                "/hooks/collateralxp",
                &[
                    ("content-type", "application/json"),
                    ("x-webhook-secret", SHARED_SECRET),
                ],
                cxp.clone(),
            ),
            status: StatusCode::OK,
            log: "accepted delivery",
        },
        // Transport.
        Case {
            name: "declared length over the limit",
            req: {
                let mut r = prets_req(Some(&bearer()), json, quote.clone());
                r.headers_mut()
                    .insert("content-length", "99999999".parse().unwrap());
                r
            },
            status: StatusCode::PAYLOAD_TOO_LARGE,
            log: "exceeds the 1048576-byte limit",
        },
    ]
}

/// Captures every log line from here on, from every thread.
fn capture_logs() -> Logs {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Global, not thread-local: the store insert logs from the blocking pool.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    logs
}

/// Sends `case` to `app` and adds to `failures` each way its answer or its
/// log line is wrong.
async fn judge(app: &Router, logs: &Logs, case: Case, failures: &mut Vec<String>) {
    let resp = app.clone().oneshot(case.req).await.unwrap();
    let status = resp.status();
    let retry_after = resp.headers().get("retry-after").cloned();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let log = logs.take();
    if log.lines().any(|l| l.starts_with("FORGED")) {
        failures.push(format!(
            "{}: a delivery forged a log line:\n{log}",
            case.name
        ));
    }
    if status != case.status {
        failures.push(format!(
            "{}: got {status}, want {} ({})",
            case.name,
            case.status,
            String::from_utf8_lossy(&body)
        ));
    }
    if !log.contains(case.log) {
        failures.push(format!("{}: log lacks {:?}: {log}", case.name, case.log));
    }
    // Every answer is JSON that says what happened.
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !(v.get("error").is_some() || v.get("status").is_some()) {
        failures.push(format!(
            "{}: answer is not a JSON verdict: {}",
            case.name,
            String::from_utf8_lossy(&body)
        ));
    }
    if case.status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_none() {
        failures.push(format!("{}: 503 without Retry-After", case.name));
    }
    let text = format!("{log}{}", String::from_utf8_lossy(&body));
    note_leaked_secrets(case.name, &text, failures);
}

/// Not even part of a secret in `text` (the log and the answer of the case
/// `name`): a log of the presented (truncated) token would leak all but its
/// last characters.
fn note_leaked_secrets(name: &str, text: &str, failures: &mut Vec<String>) {
    for secret in [
        PRETS_SECRET,
        SO_SECRET,
        SW_SECRET,
        SW_OLD_SECRET,
        SHARED_SECRET,
    ] {
        if let Some(piece) = leaked_piece(secret, text) {
            failures.push(format!(
                "{}: part of a secret ({} chars) leaked into the log or answer",
                name,
                piece.len()
            ));
        }
    }
}

/// What was accepted is in the inbox once (the duplicate only counted),
/// the misfits quarantined, and no authentication header stored.
fn assert_stored_once_without_auth_headers(store: &MemoryStore) {
    let stored = store.list(None, 100).unwrap();
    assert_eq!(stored.len(), 12, "{stored:?}");
    let quarantined: Vec<_> = stored
        .iter()
        .filter(|d| d.status == hookforge::receive::store::Status::Quarantined)
        .collect();
    // Five misfits (a blank event type among them), and the nesting
    // serde_json cannot hold.
    assert_eq!(quarantined.len(), 6, "{quarantined:?}");
    assert!(quarantined.iter().all(|d| d.last_error.is_some()));
    let quote = stored
        .iter()
        .find(|d| {
            d.event_type == "quote.created"
                && d.status != hookforge::receive::store::Status::Quarantined
        })
        .unwrap();
    assert_eq!(quote.duplicates, 1);
    // Authentication headers are not stored with the delivery.
    for d in &stored {
        assert!(
            d.headers.iter().all(|(k, _)| k != "authorization"
                && !k.contains("signature")
                && k != "x-webhook-secret"),
            "{:?}",
            d.headers
        );
    }
    let so = stored.iter().find(|d| d.vendor == "superoffice").unwrap();
    assert!(so.headers.iter().any(|(k, _)| k == "content-type"));
}

#[tokio::test]
async fn every_bad_request_gets_the_right_status_and_log_line() {
    let logs = capture_logs();
    let store = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let cases = cases();
    let bad = cases.iter().filter(|c| !c.status.is_success()).count();
    assert_eq!(
        (bad, cases.len() - bad),
        (BAD_REQUESTS, GOOD_REQUESTS),
        "bad and good requests"
    );
    let mut failures = Vec::new();
    for case in cases {
        judge(&app, &logs, case, &mut failures).await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_stored_once_without_auth_headers(&store);
}

/// A blank event id (`""`, or only spaces) identifies nothing: deliveries
/// carrying one are told apart by their bodies, not all taken for
/// duplicates of the first. (Keyed `id:` alone, the second and third were
/// acknowledged and dropped.)
#[tokio::test]
async fn blank_event_ids_do_not_make_different_deliveries_duplicates() {
    let store = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let json = Some("application/json");
    let mut quote: serde_json::Value =
        serde_json::from_slice(&sample("prets/quote.created/doc-1.json")).unwrap();
    for (n, id) in ["", "   ", ""].iter().enumerate() {
        quote["eventId"] = serde_json::json!(id);
        quote["sequence"] = serde_json::json!(n);
        let req = prets_req(Some(&bearer()), json, serde_json::to_vec(&quote).unwrap());
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let stored = store.list(None, 10).unwrap();
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(
        stored
            .iter()
            .all(|d| d.duplicates == 0 && d.event_id.is_none())
    );
    assert!(stored.iter().all(|d| d.dedupe_key.starts_with("sha256:")));
}

/// An authentic delivery whose type cannot be read (no type, or GitHub's
/// without `X-GitHub-Event`) is still keyed by its id: its retry is a
/// duplicate. (Keyed by the body's hash, a retry with a changed body, as
/// Coinbase's `attempt_number`, was stored and handled again.)
#[tokio::test]
async fn an_id_still_dedupes_when_the_type_cannot_be_read() {
    let store = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let json = Some("application/json");
    for body in [
        r#"{"eventId":"evt_untyped"}"#,
        r#"{"eventId":"evt_untyped","attempt":2}"#,
    ] {
        let req = prets_req(Some(&bearer()), json, body.as_bytes().to_vec());
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let stored = store.list(None, 10).unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].event_id.as_deref(), Some("evt_untyped"));
    assert_eq!(stored[0].duplicates, 1);
    assert_eq!(
        stored[0].status,
        hookforge::receive::store::Status::Quarantined
    );
}

/// A repeated id with another body, or another event type, is acknowledged
/// as a duplicate (the first is kept) and logged as a WARN naming the id;
/// the same body again is not. A real `hookforge serve`, its log read from stderr.
#[test]
fn a_repeated_id_with_another_body_is_warned_about() {
    let dir = common::temp_dir("changed-body");
    // In the format Prets documents, which `serve` checks.
    let secret = "whsec_Zx9Qm2Lk7Vb4Np1Rt6Yh3Jd8Fs5Gw0Ca2Ue7Io4Pk9A";
    let mut cmd = common::serve_prets(secret);
    cmd.arg("--db").arg(dir.join("inbox.db"));
    cmd.stdout(std::process::Stdio::piped());
    cmd.stderr(std::process::Stdio::piped());
    let (child, port) = common::spawn_listening(cmd);
    let mut quote: serde_json::Value =
        serde_json::from_slice(&sample("prets/quote.created/doc-1.json")).unwrap();
    quote["eventId"] = "evt_changed_body".into();
    let first = serde_json::to_vec(&quote).unwrap();
    quote["sequence"] = 7.into();
    let changed = serde_json::to_vec(&quote).unwrap();
    quote["type"] = "quote.financing.updated".into();
    let retyped = serde_json::to_vec(&quote).unwrap();
    for body in [&first, &first, &changed, &retyped] {
        assert_eq!(common::post_prets(port, secret, body).unwrap(), 200);
    }
    let log = common::kill_and_read_log(child);
    let warned: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("different body"))
        .collect();
    assert_eq!(warned.len(), 2, "{log}");
    assert!(
        warned[0].contains("WARN") && warned[0].contains("evt_changed_body"),
        "{}",
        warned[0]
    );
    // A changed type is named, stored and new (helper-71: silent before).
    let retyped: Vec<&str> = (log.lines())
        .filter(|l| l.contains("different event type"))
        .collect();
    assert_eq!(retyped.len(), 1, "{log}");
    assert!(
        retyped[0].contains("quote.created") && retyped[0].contains("quote.financing.updated"),
        "{}",
        retyped[0]
    );
    assert_eq!(
        log.matches("duplicate delivery acknowledged").count(),
        3,
        "{log}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A wrong path or method gets an answer that says what is served: the
/// paths this server receives at (404), the methods the endpoint takes and
/// its `Allow` header (405). axum's own answers have empty bodies.
#[tokio::test]
async fn a_wrong_path_or_method_is_told_what_is_served() {
    use hookforge::receive::serve::{ServeConfig, router};
    let mut cfg = ServeConfig::new(([127, 0, 0, 1], 0).into());
    cfg.vendors = vec![&prets::VENDOR];
    cfg.secrets
        .insert("prets".into(), vec![Secret::new(PRETS_SECRET)]);
    let inbox = Inbox::new(Arc::new(MemoryStore::new()));
    let (app, served, _) = router(&cfg, &inbox).unwrap();
    assert_eq!(served.len(), 1);
    let call = |method: &str, uri: &str| {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let app = app.clone();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let allow = resp
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_string());
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
                .await
                .unwrap();
            (status, allow, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (s, _, text) = call("POST", "/hooks/stripe").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        text.contains("no endpoint at /hooks/stripe") && text.contains("/hooks/prets"),
        "{text}"
    );
    let (s, allow, text) = call("GET", "/hooks/prets").await;
    assert_eq!(
        (s, allow.as_deref()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("POST"))
    );
    assert!(
        text.contains("GET is not accepted here") && text.contains("POST"),
        "{text}"
    );
}

/// A form field that is not UTF-8 once percent-decoded (Twilio sends
/// UTF-8): refused 400 naming the field, once the signature verified
/// (helper-71: stored with U+FFFD in its place, so a second such delivery
/// with other bytes was answered as a duplicate and dropped).
#[tokio::test]
async fn a_form_field_that_is_not_utf8_is_refused_by_name() {
    let v = hookforge::vendor("twilio_voice").unwrap();
    let (url, secret) = (
        "https://example.com/hooks/twilio_voice",
        "0123456789abcdef0123456789abcdef",
    );
    let store = Arc::new(MemoryStore::new());
    let app = Receiver::builder(v)
        .secret(secret)
        .endpoint(url)
        .inbox(Inbox::new(store.clone()))
        .build()
        .unwrap()
        .router();
    let signer =
        Signer::for_manifest_at(v.manifest(), Secret::new(secret), None, Some(url)).unwrap();
    let send = |body: &'static [u8]| {
        let mut req = Request::post("/hooks/twilio_voice")
            .header("Content-Type", "application/x-www-form-urlencoded");
        for (k, val) in signer.sign(body, &SignContext::now("call")) {
            req = req.header(k, val);
        }
        app.clone().oneshot(req.body(Body::from(body)).unwrap())
    };
    let resp = send(b"CallSid=CA1&AccountSid=AC1&CallStatus=ringing&Digits=%ff")
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let text = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text).contains("form field `Digits` is not UTF-8"),
        "{text:?}"
    );
    assert!(store.list(None, 10).unwrap().is_empty());
    // The same delivery in UTF-8 is kept.
    let resp = send(b"CallSid=CA1&AccountSid=AC1&CallStatus=ringing&Digits=%C3%BC")
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// A request hyper refuses before any route sees it (101 header lines:
/// 431) is answered and logged as a WARN; it was logged at DEBUG only, so
/// an operator saw a vendor failing with nothing in the log (helper-71).
#[test]
fn a_request_refused_before_routing_is_logged() {
    use std::io::{Read, Write};
    let secret = "whsec_Zx9Qm2Lk7Vb4Np1Rt6Yh3Jd8Fs5Gw0Ca2Ue7Io4Pk9A";
    let mut cmd = common::serve_prets(secret);
    cmd.stdout(std::process::Stdio::piped());
    cmd.stderr(std::process::Stdio::piped());
    let (child, port) = common::spawn_listening(cmd);
    let mut req = String::from("POST /hooks/prets HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for i in 0..101 {
        req.push_str(&format!("X-Proxy-{i}: hop\r\n"));
    }
    req.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // The log line is written once the connection ends.
    std::thread::sleep(Duration::from_millis(300));
    let log = common::kill_and_read_log(child);
    let line = log.lines().find(|l| l.contains("not valid HTTP/1.1"));
    assert!(line.is_some_and(|l| l.contains("WARN")), "{log}");
}
