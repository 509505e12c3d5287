//! Handshakes from the manifest, answered by the receiver and never stored:
//! Slack's signed `url_verification` (from the shipped catalogue), Zoom's
//! `endpoint.url_validation` (an HMAC of the plainToken, only for a signed
//! request) and Meta's verification GET (the verify token decides).

use crate::common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hookforge::VendorSpec;
use hookforge::auth::{Secret, SignContext, Signer};
use hookforge::receive::inbox::Inbox;
use hookforge::receive::receiver::Receiver;
use hookforge::receive::store::{MemoryStore, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

fn fixture(id: &str) -> &'static VendorSpec {
    hookforge::vendor_dir::load(&common::root().join("tests/fixtures").join(id)).unwrap()
}

fn slack() -> &'static VendorSpec {
    hookforge::vendor_dir::catalogue::load("slack")
        .unwrap()
        .unwrap()
}

/// A receiver for `v` with `secret` and (optionally) a handshake token,
/// and the store behind it.
fn receiver(
    v: &'static VendorSpec,
    secret: &str,
    token: Option<&str>,
) -> (axum::Router, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let mut b = Receiver::builder(v)
        .secret(secret)
        .inbox(Inbox::new(store.clone()));
    if let Some(t) = token {
        b = b.handshake_token(t);
    }
    (b.build().unwrap().router(), store)
}

/// A POST of `body`, signed with `secret` as the vendor signs (unsigned: `None`).
fn post(v: &'static VendorSpec, body: &Value, secret: Option<&str>) -> Request<Body> {
    let bytes = serde_json::to_vec(body).unwrap();
    let mut req =
        Request::post(format!("/hooks/{}", v.id)).header("content-type", "application/json");
    if let Some(s) = secret {
        let signer = Signer::for_manifest(v.manifest(), Secret::new(s)).unwrap();
        for (k, val) in signer.sign(&bytes, &SignContext::now("hs")) {
            req = req.header(k, val);
        }
    }
    req.body(Body::from(bytes)).unwrap()
}

async fn answer(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

fn stored(store: &MemoryStore) -> usize {
    store.list(None, 1000).unwrap().len()
}

#[tokio::test]
async fn slack_url_verification_is_answered_with_the_challenge_only_when_signed() {
    let v = slack();
    let (app, store) = receiver(v, "8f742231b10e8888abcd99yyyzzz85a5", None);
    let h = &v.manifest().handshakes[0];
    let body = h.example.body.clone().unwrap();
    let (status, ct, text) = answer(
        &app,
        post(v, &body, Some("8f742231b10e8888abcd99yyyzzz85a5")),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(ct, "text/plain");
    assert_eq!(text, body["challenge"].as_str().unwrap());
    // Unsigned, or signed with another secret: refused like any delivery.
    let (status, _, text) = answer(&app, post(v, &body, None)).await;
    assert_eq!(status, 401, "{text}");
    let (status, _, _) = answer(&app, post(v, &body, Some("another-secret"))).await;
    assert_eq!(status, 401);
    // A challenge that is not a string (Slack always sends one) is not
    // echoed as JSON text: 400 naming where and what was found.
    for odd in [json!(12345), json!({"a": 1}), json!(null)] {
        let mut body = body.clone();
        body["challenge"] = odd;
        let signed = post(v, &body, Some("8f742231b10e8888abcd99yyyzzz85a5"));
        let (status, _, text) = answer(&app, signed).await;
        assert_eq!(status, 400, "{text}");
        assert!(
            text.contains("`/challenge`") && text.contains("expected a string"),
            "{text}"
        );
    }
    // None of them was stored; a real event still is.
    assert_eq!(stored(&store), 0);
    let event = serde_json::from_slice::<Value>(v.events[0].samples[0].body).unwrap();
    let (status, _, text) = answer(
        &app,
        post(v, &event, Some("8f742231b10e8888abcd99yyyzzz85a5")),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(stored(&store), 1);
}

#[tokio::test]
async fn zoom_url_validation_answers_the_hmac_of_the_plain_token() {
    let v = fixture("zoom");
    let secret = "z-secret-token-1";
    let (app, store) = receiver(v, secret, None);
    let body = json!({"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1654503849680_u64, "event": "endpoint.url_validation"});
    let (status, ct, text) = answer(&app, post(v, &body, Some(secret))).await;
    assert_eq!(
        (status.as_u16(), ct.as_str()),
        (200, "application/json"),
        "{text}"
    );
    let got: Value = serde_json::from_str(&text).unwrap();
    // Zoom's rule: hex HMAC-SHA256 of the plainToken keyed with the secret token.
    let want = common::hmac_sha256_hex(secret.as_bytes(), b"qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(
        got,
        json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": want})
    );
    // A stranger's unsigned request gets no HMAC of its chosen text.
    let (status, _, text) = answer(&app, post(v, &body, None)).await;
    assert_eq!(status, 401, "{text}");
    assert!(!text.contains("encryptedToken"), "{text}");
    assert_eq!(stored(&store), 0);
}

/// During a rotation (two secrets), the answer is keyed with the secret
/// the request was signed with: Zoom checks `encryptedToken` with its
/// current secret, and disables an endpoint that fails revalidation. Before,
/// the first configured secret keyed every answer (helper-64's review).
#[tokio::test]
async fn zoom_url_validation_is_keyed_with_the_secret_that_signed_it() {
    let v = fixture("zoom");
    let (old, new) = ("z-old-secret-token-1", "z-new-secret-token-2");
    let store = Arc::new(MemoryStore::new());
    let app = Receiver::builder(v)
        .secret(old)
        .secret(new)
        .inbox(Inbox::new(store.clone()))
        .build()
        .unwrap()
        .router();
    let body = json!({"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1654503849680_u64, "event": "endpoint.url_validation"});
    for secret in [old, new] {
        let (status, _, text) = answer(&app, post(v, &body, Some(secret))).await;
        assert_eq!(status, 200, "{text}");
        let got: Value = serde_json::from_str(&text).unwrap();
        let want = common::hmac_sha256_hex(secret.as_bytes(), b"qgg8vlvZRS6UYooatFL8Aw");
        assert_eq!(got["encryptedToken"], want.as_str(), "signed with {secret}");
    }
}

#[tokio::test]
async fn meta_verification_get_echoes_the_challenge_for_the_right_token_only() {
    let v = fixture("meta");
    let (app, store) = receiver(v, "app-secret-1", Some("meatyhamhock"));
    let get = |q: &str| {
        Request::get(format!("/hooks/meta?{q}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, ct, text) = answer(
        &app,
        get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock"),
    )
    .await;
    assert_eq!(
        (status.as_u16(), ct.as_str(), text.as_str()),
        (200, "text/plain", "1158201444")
    );
    let (status, _, text) = answer(
        &app,
        get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess"),
    )
    .await;
    assert_eq!(status, 403, "{text}");
    assert!(
        text.contains("hub.verify_token")
            && !text.contains("meatyhamhock")
            && !text.contains("guess"),
        "{text}"
    );
    // Without the token, the answer says it is missing (not that it is wrong).
    let (status, _, text) = answer(&app, get("hub.mode=subscribe&hub.challenge=1158201444")).await;
    assert_eq!(status, 403, "{text}");
    assert!(
        text.contains("has no query parameter `hub.verify_token`"),
        "{text}"
    );
    // A GET that is no handshake names the ones there are.
    let (status, _, text) = answer(&app, get("foo=bar")).await;
    assert_eq!(status, 400);
    assert!(text.contains("verification"), "{text}");
    assert_eq!(stored(&store), 0);
    // Without a configured token, the handshake cannot succeed.
    let (app, _) = receiver(v, "app-secret-1", None);
    let (status, _, text) = answer(
        &app,
        get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=meatyhamhock"),
    )
    .await;
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("no handshake token is configured"), "{text}");
}

#[test]
fn a_handshake_that_would_sign_for_strangers_is_refused_at_load() {
    let dir = common::temp_dir("hs-oracle");
    common::copy_dir(&common::root().join("tests/fixtures/zoom"), &dir);
    let m = dir.join("manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(
        &m,
        text.replace("\"authenticated\": true", "\"authenticated\": false"),
    )
    .unwrap();
    let err = hookforge::vendor_dir::load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("/handshakes/0/authenticated") && err.contains("sign what a stranger chose"),
        "{err}"
    );
}

/// `app` on a loopback port; its base URL.
async fn listen(app: axum::Router) -> String {
    let addr = common::serve_app(app).await;
    format!("http://{addr}")
}

/// `check` passes every case, the handshake included, against the
/// receiver; against one that answers every request with a plain 200 (it
/// stores the handshake as an event), exactly the handshake case fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_a_receiver_that_answers_handshakes_and_fails_one_that_does_not() {
    use hookforge::conformance::harness::Harness;
    use hookforge::conformance::report::Outcome;
    let vendors = [
        (slack(), "slack-signing-secret-1", None),
        (fixture("zoom"), "z-secret-token-1", None),
        (fixture("meta"), "app-secret-1", Some("tok-123")),
    ];
    for (v, secret, token) in vendors {
        let (app, _) = receiver(v, secret, token);
        let base = listen(app).await;
        let mut h = Harness::new(v, format!("{base}/hooks/{}", v.id)).secret(secret);
        if let Some(t) = token {
            h = h.handshake_token(t);
        }
        let report = h.run().await.unwrap();
        assert_eq!(report.failed, 0, "{}: {}", v.id, report.table());
        let hs: Vec<_> = report
            .cases
            .iter()
            .filter(|c| c.id.contains("/handshake/"))
            .collect();
        assert_eq!(hs.len(), 1, "{}", v.id);
        assert_eq!(hs[0].outcome, Outcome::Pass, "{}: {}", v.id, hs[0].detail);

        // A receiver that says 200 to everything (and would store the
        // handshake as a delivery).
        let plain = axum::Router::new().route(
            &format!("/hooks/{}", v.id),
            axum::routing::any(|| async { (StatusCode::OK, "ok") }),
        );
        let base = listen(plain).await;
        let mut h = Harness::new(v, format!("{base}/hooks/{}", v.id))
            .secret(secret)
            .filter("*/handshake/*");
        if let Some(t) = token {
            h = h.handshake_token(t);
        }
        let report = h.run().await.unwrap();
        assert_eq!(report.failed, 1, "{}: {}", v.id, report.table());
        assert!(
            report.cases[0].detail.contains("requires 200"),
            "{}",
            report.cases[0].detail
        );
    }
}

/// `simulate` performs the handshakes first, as the vendor does: against a
/// receiver that answers them it goes on to deliver; against one that does
/// not, it stops with the handshake's failure having sent nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_sends_nothing_until_the_handshake_passes() {
    use hookforge::simulate::{SimError, Simulator};
    let v = fixture("zoom");
    let secret = "z-secret-token-1";
    let (app, store) = receiver(v, secret, None);
    let base = listen(app).await;
    let report = Simulator::new(v)
        .url(format!("{base}/hooks/zoom"))
        .secret(secret)
        // One: the fixture's sample has no id or time to make more distinct.
        .events(1)
        .run()
        .await
        .unwrap();
    assert_eq!(report.states.get("delivered"), Some(&1), "{report:?}");
    assert_eq!(stored(&store), 1);

    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let plain = axum::Router::new().route(
        "/hooks/zoom",
        axum::routing::any(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { (StatusCode::OK, "ok") }
        }),
    );
    let base = listen(plain).await;
    let err = Simulator::new(v)
        .url(format!("{base}/hooks/zoom"))
        .secret(secret)
        .events(1)
        .run()
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::Handshake { .. }), "{err}");
    assert!(err.to_string().contains("endpoint.url_validation"), "{err}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// The other handshakes integrators meet, each described in a manifest and
/// answered as its vendor documents: Okta's verification GET (a header to
/// echo as JSON), Dropbox's (a query parameter, with `nosniff`), Twitch
/// EventSub's `webhook_callback_verification` and Azure Event Grid's
/// subscription validation (values deep in the body).
#[test]
fn okta_dropbox_twitch_and_event_grid_handshakes_are_answered_as_documented() {
    use hookforge::handshake::{HandshakeRequest, answer, find};
    let cases = [
        (
            json!({"name": "verification", "method": "GET",
                   "when": [{"header": "x-okta-verification-challenge"}],
                   "answer": {"content_type": "application/json",
                              "body": "{\"verification\":\"{header:x-okta-verification-challenge}\"}"},
                   "example": {"headers": [{"name": "x-okta-verification-challenge", "value": "2xk5kBnFqpN2oXZ"}]}}),
            "GET",
            "",
            vec![("x-okta-verification-challenge", "2xk5kBnFqpN2oXZ")],
            Value::Null,
            r#"{"verification":"2xk5kBnFqpN2oXZ"}"#,
        ),
        (
            json!({"name": "verification", "method": "GET", "when": [{"query": "challenge"}],
                   "answer": {"content_type": "text/plain", "body": "{query:challenge}",
                              "headers": [{"name": "X-Content-Type-Options", "value": "nosniff"}]},
                   "example": {"query": "challenge=hf5Yx2Qb"}}),
            "GET",
            "challenge=hf5Yx2Qb",
            vec![],
            Value::Null,
            "hf5Yx2Qb",
        ),
        (
            json!({"name": "webhook_callback_verification",
                   "when": [{"header": "Twitch-Eventsub-Message-Type", "equals": "webhook_callback_verification"}],
                   "authenticated": true,
                   "answer": {"content_type": "text/plain", "body": "{body:/challenge}"},
                   "example": {"body": {"challenge": "pogchamp-kappa-360noscope-vohiyo"}}}),
            "POST",
            "",
            vec![(
                "twitch-eventsub-message-type",
                "webhook_callback_verification",
            )],
            json!({"challenge": "pogchamp-kappa-360noscope-vohiyo", "subscription": {"type": "channel.follow"}}),
            "pogchamp-kappa-360noscope-vohiyo",
        ),
        (
            json!({"name": "subscription_validation",
                   "when": [{"header": "aeg-event-type", "equals": "SubscriptionValidation"}],
                   "answer": {"content_type": "application/json",
                              "body": "{\"validationResponse\":\"{body:/0/data/validationCode}\"}"},
                   "example": {"body": [{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                                         "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}}]}}),
            "POST",
            "",
            vec![("aeg-event-type", "SubscriptionValidation")],
            json!([{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                    "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}}]),
            r#"{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}"#,
        ),
    ];
    for (handshake, method, query, headers, body, want) in cases {
        let m = hookforge::Manifest::from_json(
            &json!({"id": "acme", "name": "Acme", "event_type": {"pointer": "/type"},
                    "auth": {"scheme": "none"}, "success": {"statuses": ["2xx"]},
                    "handshakes": [handshake]})
            .to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let map: hookforge::HeaderMap = headers
            .iter()
            .map(|(k, v)| (k.parse::<http::HeaderName>().unwrap(), v.parse().unwrap()))
            .collect();
        let bytes = serde_json::to_vec(&body).unwrap();
        let method: http::Method = method.parse().unwrap();
        let req = HandshakeRequest {
            method: &method,
            query: Some(query),
            headers: &map,
            body: &bytes,
        };
        let json = (!body.is_null()).then_some(&body);
        let h = find(&m, &req, json).expect("recognised");
        let a = answer(h, &req, json, None, None).unwrap();
        assert_eq!(String::from_utf8(a.body).unwrap(), want, "{}", h.name);
        if h.name == "verification" && method == http::Method::GET && query.contains("challenge") {
            assert_eq!(
                a.headers,
                vec![("X-Content-Type-Options".to_string(), "nosniff".to_string())]
            );
        }
        // A request without the handshake's marks is none.
        let plain = HandshakeRequest {
            method: &method,
            query: None,
            headers: &hookforge::HeaderMap::new(),
            body: b"{}",
        };
        assert!(find(&m, &plain, Some(&json!({}))).is_none(), "{}", h.name);
    }
}

/// Trello checks a webhook's URL with a HEAD before it creates the webhook
/// and wants 200: the receiver answers any HEAD with 200 and no body (a GET
/// is still no delivery), and `check`'s handshake case passes it and fails
/// a receiver that takes only POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trellos_head_check_is_answered_with_200() {
    use hookforge::conformance::harness::Harness;
    use tower::ServiceExt;
    let v = hookforge::vendor_dir::catalogue::load("trello")
        .unwrap()
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    let app = Receiver::builder(v)
        .secret("trello-secret-1")
        .endpoint("http://127.0.0.1/hooks/trello")
        .inbox(Inbox::new(store.clone()))
        .build()
        .unwrap()
        .router();
    let answer = |method: &str| {
        let app = app.clone();
        let req = Request::builder()
            .method(method)
            .uri("/hooks/trello")
            .body(Body::empty())
            .unwrap();
        async move { app.oneshot(req).await.unwrap() }
    };
    let head = answer("HEAD").await;
    assert_eq!(head.status(), StatusCode::OK);
    let body = axum::body::to_bytes(head.into_body(), 1024).await.unwrap();
    assert!(body.is_empty());
    // A GET, or a method the endpoint takes not, is told Trello's check is a
    // HEAD (it read "handshakes ()" and "as GET": helper-64's review).
    let text = |r: axum::response::Response| async move {
        String::from_utf8(
            axum::body::to_bytes(r.into_body(), 4096)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    };
    let get = answer("GET").await;
    assert_eq!(get.status(), StatusCode::BAD_REQUEST);
    let said = text(get).await;
    assert!(
        said.contains("HEAD is for Trello's handshakes (callback_check, by HEAD)"),
        "{said}"
    );
    let said = text(answer("PUT").await).await;
    assert!(said.contains("handshakes as HEAD"), "{said}");
    assert!(
        store.list(None, 10).unwrap().is_empty(),
        "a check is never stored"
    );

    let post_only = axum::Router::new().route(
        "/hooks/trello",
        axum::routing::post(|| async { (StatusCode::OK, "ok") }),
    );
    // The handshake case against each: (passed, failed).
    for (receiver, expected) in [(app, (1, 0)), (post_only, (0, 1))] {
        let base = listen(receiver).await;
        let report = Harness::new(v, format!("{base}/hooks/trello"))
            .secret("trello-secret-1")
            .filter("*/handshake/*")
            .run()
            .await
            .unwrap();
        assert_eq!(
            (report.passed, report.failed),
            expected,
            "{}",
            report.table()
        );
    }
}

/// Azure's validation request carries `aeg-event-type:
/// SubscriptionValidation`, one value: a receiver that branches on the
/// header, as Microsoft's docs show, passes. Before, `check` and
/// `simulate` sent the events' `Notification` (helper-64's review).
#[tokio::test]
async fn azure_validation_is_sent_with_its_own_event_type_header() {
    use hookforge::conformance::harness::Harness;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let v = hookforge::vendor_dir::catalogue::load("azure_event_grid")
        .unwrap()
        .unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("aeg-event-type", "SubscriptionValidation"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}),
            ),
        )
        .mount(&server)
        .await;
    let report = Harness::new(v, format!("{}/hooks/azure_event_grid", server.uri()))
        .secret("azure-event-grid-secret-1")
        .filter("*/handshake/*")
        .run()
        .await
        .unwrap();
    assert_eq!((report.passed, report.failed), (1, 0), "{}", report.table());
    let got = server.received_requests().await.unwrap();
    let types: Vec<_> = got[0].headers.get_all("aeg-event-type").iter().collect();
    assert_eq!(types, ["SubscriptionValidation"]);
}

/// A handshake token must be for a served vendor whose handshake checks
/// one, and not empty: `serve` took `meta=` and answered any verification
/// GET carrying an empty token, and took `zoom=abc` for a vendor with no
/// such handshake, saying nothing (helper-64's review).
#[tokio::test]
async fn serve_refuses_an_empty_or_unusable_handshake_token() {
    use hookforge::receive::serve::{ServeConfig, router};
    let meta = fixture("meta");
    let zoom = fixture("zoom");
    for (token_for, token, says) in [
        ("meta", "", "the handshake token is empty"),
        ("zoom", "abc", "has no handshake that checks a token"),
        ("slack", "abc", "a vendor not served"),
    ] {
        let mut cfg = ServeConfig::new(([127, 0, 0, 1], 0).into());
        cfg.vendors = vec![meta, zoom];
        for v in ["meta", "zoom"] {
            cfg.secrets.insert(
                v.into(),
                vec![Secret::new(format!("{v}-serve-secret-0123"))],
            );
        }
        cfg.handshake_tokens
            .insert(token_for.into(), Secret::new(token));
        let inbox = Inbox::new(Arc::new(MemoryStore::new()));
        let Err(err) = router(&cfg, &inbox) else {
            panic!("{token_for}={token}: accepted")
        };
        let err = err.to_string();
        assert!(err.contains(says), "{token_for}={token}: {err}");
    }
}

/// Discord sends the interaction PING only to an Interactions Endpoint
/// URL: against a receiver of webhook events, which answers its own PING
/// 204, `check` skips it (and passes the webhook PING). Before, it failed
/// a correct receiver for not answering `{"type":1}` (helper-64's review).
#[tokio::test]
async fn discord_webhook_events_need_not_answer_the_interaction_ping() {
    use hookforge::conformance::harness::Harness;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let v = hookforge::vendor_dir::catalogue::load("discord")
        .unwrap()
        .unwrap();
    let pair = hookforge::auth::generate_key_pair(hookforge::manifest::SignatureAlgorithm::Ed25519)
        .unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204).insert_header("content-type", "application/json"))
        .mount(&server)
        .await;
    let report = Harness::new(v, format!("{}/hooks/discord", server.uri()))
        .secret(pair.private_pem.expose())
        .filter("*/handshake/*")
        .run()
        .await
        .unwrap();
    assert_eq!(
        (report.passed, report.failed, report.skipped),
        (1, 0, 1),
        "{}",
        report.table()
    );
}
