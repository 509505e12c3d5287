//! Secrets a vendor gives in a handshake (Asana's `X-Hook-Secret`): the
//! receiver echoes it, keeps it in the inbox's store before answering, and
//! verifies later deliveries with it, across restarts. Tested with a real
//! Asana delivery: one Fusebit captured with the secret it was signed with.

use crate::common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hookforge::VendorSpec;
use hookforge::receive::inbox::Inbox;
use hookforge::receive::receiver::Receiver;
use hookforge::receive::store::{SqliteStore, Store};
use tower::ServiceExt;

/// The handshake secret and signed delivery of
/// `tests/vectors/published/asana.json` (as Asana sent them).
const SECRET: &str = "cfecd97ea57de2b55a0a1a343c16fe3e";
const SIGNATURE: &str = "11c89fb59db2a2cfe5eef26a3d7dc77d3ad0bbdd7f23700d7aff2fe6ff8e2581";

fn asana() -> &'static VendorSpec {
    hookforge::vendor("asana").expect("asana is in the catalogue")
}

fn captured() -> Vec<u8> {
    let path =
        common::root().join("vendors/asana/samples/events/fusebit-captured-task-completed.json");
    let mut body = std::fs::read(path).unwrap();
    assert_eq!(
        body.pop(),
        Some(b'\n'),
        "the sample ends with the newline its file added"
    );
    body
}

fn app(store: Arc<dyn Store>, accept_new: bool) -> axum::Router {
    Receiver::builder(asana())
        .inbox(Inbox::new(store))
        .accept_new_secrets(accept_new)
        .build()
        .unwrap()
        .router()
}

fn handshake(secret: &str) -> Request<Body> {
    Request::post("/hooks/asana")
        .header("content-type", "application/json")
        .header("x-hook-secret", secret)
        .body(Body::from(r#"{"events":[]}"#))
        .unwrap()
}

fn delivery(body: Vec<u8>, signature: &str) -> Request<Body> {
    Request::post("/hooks/asana")
        .header("content-type", "application/json")
        .header("x-hook-signature", signature)
        .body(Body::from(body))
        .unwrap()
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let signer = hookforge::auth::Signer::for_manifest(asana().manifest(), secret.into()).unwrap();
    let headers = signer.sign(body, &hookforge::auth::SignContext::now("kept"));
    headers[0].1.to_str().unwrap().to_string()
}

/// Status, the echoed `X-Hook-Secret` (if any) and the body.
async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, Option<String>, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let echoed = resp
        .headers()
        .get("x-hook-secret")
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, echoed, String::from_utf8_lossy(&body).into_owned())
}

/// Before the handshake nothing verifies; the handshake is echoed and its
/// secret kept; Asana's captured delivery then verifies with it; a second
/// handshake with another secret is refused and its secret does not
/// verify; a receiver opened again on the same inbox file still has it.
#[tokio::test]
async fn asanas_handshake_secret_is_echoed_kept_and_verifies_its_deliveries() {
    let path = common::temp_dir("kept-secrets").join("inbox.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let first = app(store.clone(), false);
    let (s, _, text) = send(&first, delivery(captured(), SIGNATURE)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{text}");
    assert!(text.contains("x_hook_secret"), "{text}");
    let (s, echoed, _) = send(&first, handshake(SECRET)).await;
    assert_eq!((s, echoed.as_deref()), (StatusCode::OK, Some(SECRET)));
    assert_eq!(
        store.list(None, 10).unwrap().len(),
        0,
        "a handshake is not a delivery"
    );
    let (s, _, text) = send(&first, delivery(captured(), SIGNATURE)).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    // The same handshake again (Asana retrying it) is answered as before.
    let (s, echoed, _) = send(&first, handshake(SECRET)).await;
    assert_eq!((s, echoed.as_deref()), (StatusCode::OK, Some(SECRET)));
    // Anyone can send a handshake: one giving another secret is refused.
    let stranger = "0123456789abcdef0123456789abcdef";
    let (s, echoed, text) = send(&first, handshake(stranger)).await;
    assert_eq!((s, echoed), (StatusCode::FORBIDDEN, None), "{text}");
    assert!(
        !text.contains(stranger),
        "the refusal repeats no secret: {text}"
    );
    let forged =
        br#"{"events":[{"action":"deleted","resource":{"gid":"1","resource_type":"project"}}]}"#;
    let (s, _, _) = send(
        &first,
        delivery(forged.to_vec(), &hmac_hex(stranger, forged)),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Restarted on the same file: the kept secret still verifies.
    drop(first);
    let again = app(Arc::new(SqliteStore::open(&path).unwrap()), false);
    let heartbeat = br#"{"events":[]}"#.to_vec();
    let (s, _, text) = send(
        &again,
        delivery(heartbeat.clone(), &hmac_hex(SECRET, &heartbeat)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
}

/// With new secrets accepted (a further webhook being created), a second
/// handshake's secret is kept beside the first and both verify.
#[tokio::test]
async fn a_further_webhooks_secret_is_kept_when_new_secrets_are_accepted() {
    let store: Arc<dyn Store> = Arc::new(hookforge::receive::store::MemoryStore::new());
    let app = app(store.clone(), true);
    let second = "fedcba9876543210fedcba9876543210";
    for secret in [SECRET, second] {
        let (s, echoed, _) = send(&app, handshake(secret)).await;
        assert_eq!((s, echoed.as_deref()), (StatusCode::OK, Some(secret)));
    }
    assert_eq!(store.kept_secrets("asana").unwrap().len(), 2);
    let (s, _, _) = send(&app, delivery(captured(), SIGNATURE)).await;
    assert_eq!(s, StatusCode::OK);
    let body = br#"{"events":[]}"#.to_vec();
    let (s, _, text) = send(&app, delivery(body.clone(), &hmac_hex(second, &body))).await;
    assert_eq!(s, StatusCode::OK, "{text}");
}

/// A secret that could not be stored is not answered as kept: 503 (Asana
/// then fails the webhook's creation, and it can be tried again), no echo,
/// and deliveries signed with it are still refused.
#[tokio::test]
async fn a_secret_the_store_cannot_keep_is_not_acknowledged() {
    // The test store keeps no secrets (the trait's default).
    let store: Arc<dyn Store> = Arc::new(common::FaultStore::default());
    let app = app(store, false);
    let (s, echoed, text) = send(&app, handshake(SECRET)).await;
    assert_eq!(
        (s, echoed),
        (StatusCode::SERVICE_UNAVAILABLE, None),
        "{text}"
    );
    let (s, _, _) = send(&app, delivery(captured(), SIGNATURE)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// `check` hands the receiver its own secret in the handshake, first and
/// alone, then signs every other case with it: against a receiver with no
/// configured secret every case passes. A receiver that answers 200 but
/// does not echo `X-Hook-Secret` fails the handshake case (Asana would not
/// create the webhook), and the message does not show the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_hands_over_its_secret_first_and_requires_the_echo() {
    use hookforge::conformance::harness::Harness;
    let secret = "check-secret-0123456789abcdef";
    let serve = |app: axum::Router| async move {
        let addr = common::serve_app(app).await;
        format!("http://{addr}/hooks/asana")
    };
    let store: Arc<dyn Store> = Arc::new(hookforge::receive::store::MemoryStore::new());
    let url = serve(app(store, false)).await;
    let report = Harness::new(asana(), url)
        .secret(secret)
        .run()
        .await
        .unwrap();
    assert_eq!(report.failed, 0, "{}", report.table());
    assert!(
        report.cases[0].id.ends_with("/handshake/x_hook_secret"),
        "{}",
        report.table()
    );
    let plain = axum::Router::new().route(
        "/hooks/asana",
        axum::routing::any(|| async { (StatusCode::OK, "OK") }),
    );
    let handshake_only = |url: String| async move {
        let h = Harness::new(asana(), url).secret(secret);
        h.filter("*/handshake/*").run().await.unwrap()
    };
    let report = handshake_only(serve(plain).await).await;
    let detail = &report.cases[0].detail;
    assert_eq!(report.failed, 1, "{}", report.table());
    assert!(
        detail.contains("without echoing header `X-Hook-Secret`"),
        "{detail}"
    );
    assert!(!detail.contains(secret), "{detail}");
    // Asana takes 204 No Content as well, with the header echoed.
    let no_content = axum::Router::new().route(
        "/hooks/asana",
        axum::routing::any(|headers: axum::http::HeaderMap| async move {
            use axum::response::IntoResponse;
            let mut answer = StatusCode::NO_CONTENT.into_response();
            if let Some(v) = headers.get("x-hook-secret") {
                answer.headers_mut().insert("x-hook-secret", v.clone());
            }
            answer
        }),
    );
    let report = handshake_only(serve(no_content).await).await;
    assert_eq!(report.failed, 0, "{}", report.table());
}

/// Asana documents its handshake as a POST with `X-Hook-Secret` and no
/// body or content type: it is answered whatever its content type, while a
/// delivery without a JSON content type is still refused (415).
#[tokio::test]
async fn a_handshake_without_a_content_type_is_answered() {
    let app = app(
        Arc::new(hookforge::receive::store::MemoryStore::new()),
        false,
    );
    let bare = Request::post("/hooks/asana")
        .header("x-hook-secret", SECRET)
        .body(Body::empty())
        .unwrap();
    let (s, echoed, text) = send(&app, bare).await;
    assert_eq!(
        (s, echoed.as_deref()),
        (StatusCode::OK, Some(SECRET)),
        "{text}"
    );
    let delivery = Request::post("/hooks/asana")
        .header("x-hook-signature", SIGNATURE)
        .body(Body::from(captured()))
        .unwrap();
    let (s, _, text) = send(&app, delivery).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{text}");
}

/// Anyone can send the first handshake: of eight racing, each with its own
/// secret, exactly one is kept and answered; the rest are refused (403)
/// and verify nothing. (Before the store decided atomically, two racing
/// handshakes were both kept.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_handshakes_keep_exactly_one_secret() {
    let path = common::temp_dir("racing-handshakes").join("inbox.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let app = app(store.clone(), false);
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let secret = format!("racing-{i}-0123456789abcdef");
                (send(&app, handshake(&secret)).await.0, secret)
            })
        })
        .collect();
    let mut answered = Vec::new();
    for racer in racers {
        let (status, secret) = racer.await.unwrap();
        match status {
            StatusCode::OK => answered.push(secret),
            other => assert_eq!(other, StatusCode::FORBIDDEN),
        }
    }
    assert_eq!(answered.len(), 1, "{answered:?}");
    let kept = store.kept_secrets("asana").unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].expose(), answered[0]);
}

/// A handshake secret is held to the same minimum as a configured one: a
/// short one could be guessed, so it is refused (400, naming the header and
/// the length) and not kept.
#[tokio::test]
async fn a_short_handshake_secret_is_refused() {
    let store: Arc<dyn Store> = Arc::new(hookforge::receive::store::MemoryStore::new());
    let app = app(store.clone(), false);
    let (s, echoed, text) = send(&app, handshake("abc")).await;
    assert_eq!((s, echoed), (StatusCode::BAD_REQUEST, None), "{text}");
    assert!(
        text.contains("`X-Hook-Secret`") && text.contains("16 to 1024"),
        "{text}"
    );
    assert!(store.kept_secrets("asana").unwrap().is_empty());
}

/// `inbox secrets` counts the kept secrets without showing them, and
/// `--forget` forgets them: a receiver started afterwards takes the next
/// handshake's secret as the first.
#[tokio::test]
async fn inbox_secrets_counts_without_showing_and_forgets() {
    let path = common::temp_dir("forget-secrets").join("inbox.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let (s, _, _) = send(&app(store, false), handshake(SECRET)).await;
    assert_eq!(s, StatusCode::OK);
    let inbox = |extra: &[&str]| {
        let text = inbox_secrets(&path, "asana", extra);
        assert!(!text.contains(SECRET), "{text}");
        text
    };
    assert!(inbox(&[]).contains("asana: 1 kept secret(s)"));
    assert!(inbox(&["--forget"]).contains("forgot 1"));
    assert!(inbox(&[]).contains("asana: 0 kept secret(s)"));
    let next = "fedcba9876543210fedcba9876543210";
    let again = app(Arc::new(SqliteStore::open(&path).unwrap()), false);
    let (s, echoed, _) = send(&again, handshake(next)).await;
    assert_eq!((s, echoed.as_deref()), (StatusCode::OK, Some(next)));
}

/// A manifest whose `keep` handshake could be taken for a delivery, would
/// be signed with the secret it gives, or keeps a secret a public-key
/// scheme cannot use, is refused at load, naming the field.
#[test]
fn keep_handshakes_that_cannot_work_are_refused_at_load() {
    let manifest = |auth: &serde_json::Value,
                    when: serde_json::Value,
                    authenticated: bool,
                    keep: serde_json::Value| {
        serde_json::json!({
            "id": "acme", "name": "Acme", "event_type": {"pointer": "/type"}, "auth": auth,
            "success": {"statuses": ["2xx"]},
            "handshakes": [{"name": "hello", "when": when, "authenticated": authenticated,
                "keep": keep,
                "answer": {"content_type": "text/plain", "body": ""}, "example": {}}],
        })
        .to_string()
    };
    let hmac = serde_json::json!({"scheme": "signature", "header": "X-Sig", "hash": "sha256", "encoding": "hex"});
    let ed25519 = serde_json::json!({"scheme": "signature", "header": "X-Sig", "algorithm": "ed25519", "key": "hex", "encoding": "hex"});
    let header = serde_json::json!([{"header": "X-Hook-Secret"}]);
    let in_header = serde_json::json!({"header": "X-Hook-Secret"});
    let cases = [
        (
            manifest(
                &hmac,
                serde_json::json!([{"pointer": "/type"}]),
                false,
                in_header.clone(),
            ),
            "keep.header",
        ),
        (
            manifest(&hmac, header.clone(), true, in_header.clone()),
            "authenticated",
        ),
        (
            manifest(&ed25519, header.clone(), false, in_header.clone()),
            "shared-secret",
        ),
        // A body field to keep that no condition requires.
        (
            manifest(
                &hmac,
                header.clone(),
                false,
                serde_json::json!({"pointer": "/token"}),
            ),
            "keep.pointer",
        ),
        (
            manifest(
                &hmac,
                header,
                false,
                serde_json::json!({"header": "X-Hook-Secret", "pointer": "/token"}),
            ),
            "names exactly one of `header`, `pointer`",
        ),
    ];
    for (text, names) in cases {
        let err = hookforge::Manifest::from_json(&text)
            .unwrap_err()
            .to_string();
        assert!(err.contains(names), "{names}: {err}");
    }
}

/// Notion posts its `verification_token` in the body when a subscription
/// is created; it signs every later event with it, and the user pastes it
/// into Notion. The receiver keeps it (the first one only), verifies with
/// it, and `inbox secrets --reveal` shows it; without `--reveal` it is only
/// counted. Before, the token was answered and thrown away, so a user had
/// to dig it out of a proxy's log (and `serve` could not verify Notion's
/// events until restarted with it).
#[tokio::test]
async fn notions_verification_token_is_kept_verifies_and_is_revealed_on_request() {
    let notion = hookforge::vendor("notion").expect("notion is in the catalogue");
    let path = common::temp_dir("notion-token").join("inbox.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let app = Receiver::builder(notion)
        .inbox(Inbox::new(store.clone()))
        .build()
        .unwrap()
        .router();
    let token = "secret_NotionNotionNotionNotionNotionNotion12";
    let post = |body: Vec<u8>, signature: Option<String>| {
        let req = Request::post("/hooks/notion").header("content-type", "application/json");
        let req = match signature {
            Some(s) => req.header("x-notion-signature", s),
            None => req,
        };
        req.body(Body::from(body)).unwrap()
    };
    let handshake = |t: &str| {
        post(
            format!(r#"{{"verification_token":"{t}"}}"#).into_bytes(),
            None,
        )
    };
    // A token with a control character is no secret (helper-71: kept).
    let (s, _, text) = send(&app, handshake(r"secret_aaaaaaaaaaaaaaaa\nX")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("printable characters"), "{text}");
    let (s, _, text) = send(&app, handshake(token)).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let (s, _, _) = send(&app, handshake("secret_AnotherAnotherAnotherAnother12")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "anyone can post a handshake");
    let event = std::fs::read(common::root().join("vendors/notion/samples/page.created/docs.json"))
        .unwrap();
    let sign = |key: &str| {
        let signer = hookforge::auth::Signer::for_manifest(notion.manifest(), key.into()).unwrap();
        let headers = signer.sign(&event, &hookforge::auth::SignContext::now("kept"));
        headers[0].1.to_str().unwrap().to_string()
    };
    let (s, _, text) = send(&app, post(event.clone(), Some(sign(token)))).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let forged = sign("secret_AnotherAnotherAnotherAnother12");
    let (s, _, _) = send(&app, post(event.clone(), Some(forged))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        inbox_secrets(&path, "notion", &[]),
        "notion: 1 kept secret(s)\n"
    );
    let revealed = inbox_secrets(&path, "notion", &["--reveal"]);
    assert_eq!(revealed, format!("{token}\n"));
}

/// `inbox --db PATH secrets --vendor VENDOR EXTRA`, which must succeed: its
/// standard output.
fn inbox_secrets(path: &std::path::Path, vendor: &str, extra: &[&str]) -> String {
    let out = common::hookforge_command()
        .args(["inbox", "--db"])
        .arg(path)
        .args(["secrets", "--vendor", vendor])
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}{err}");
    text
}
