//! The manifest's `jwt` scheme: Google Pub/Sub push's OIDC tokens (RS256,
//! issuer, audience = the endpoint URL, keys from a JWKS document) and
//! Plaid's (ES256, issued at most 5 minutes ago, the body's SHA-256 in a
//! claim). Keys are generated here; `sdk_vectors` checks tokens against
//! Google's own library.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hookforge::auth::{AuthError, Secret, SignContext, Signer, Verifier, generate_key_pair};
use hookforge::manifest::SignatureAlgorithm;
use hookforge::{HeaderMap, Manifest};
use serde_json::{Value, json};

const URL: &str = "https://example.com/hooks/pubsub";

fn manifest(auth: Value) -> Manifest {
    let m = json!({
        "id": "acme", "name": "Acme", "event_type": {"pointer": "/type"},
        "auth": auth, "success": {"statuses": ["2xx"]},
    });
    Manifest::from_json(&m.to_string()).unwrap()
}

fn pubsub() -> Manifest {
    manifest(json!({
        "scheme": "jwt", "header": "Authorization", "prefix": "Bearer ",
        "algorithms": ["RS256"], "issuers": ["https://accounts.google.com", "accounts.google.com"],
        "audience": "{url}",
    }))
}

fn plaid() -> Manifest {
    manifest(json!({
        "scheme": "jwt", "header": "Plaid-Verification", "algorithms": ["ES256"],
        "max_age_secs": 300, "body_sha256_claim": "request_body_sha256",
    }))
}

fn headers(pairs: Vec<(http::HeaderName, http::HeaderValue)>) -> HeaderMap {
    pairs.into_iter().collect()
}

/// The signed token with its claims replaced (then re-signed by `signer`'s
/// key only if `resign`; otherwise the old signature stays).
fn token_of(h: &HeaderMap, name: &str) -> String {
    let v = h[name].to_str().unwrap();
    v.strip_prefix("Bearer ").unwrap_or(v).to_string()
}

/// A JWKS document for an RSA public key (its PKCS#1 DER read here).
fn rsa_jwk(pkcs1: &[u8], kid: &str) -> Value {
    // SEQUENCE { INTEGER n, INTEGER e }, lengths in DER's long form.
    fn read(der: &[u8], at: &mut usize) -> Vec<u8> {
        assert!(der[*at] == 0x02 || der[*at] == 0x30);
        *at += 1;
        let mut len = der[*at] as usize;
        *at += 1;
        if len & 0x80 != 0 {
            let n = len & 0x7f;
            len = der[*at..*at + n]
                .iter()
                .fold(0, |a, b| a * 256 + *b as usize);
            *at += n;
        }
        let v = der[*at..*at + len].to_vec();
        *at += len;
        v
    }
    let mut at = 0;
    let body = read(pkcs1, &mut at);
    let mut at = 0;
    let strip = |v: Vec<u8>| v.into_iter().skip_while(|b| *b == 0).collect::<Vec<u8>>();
    let n = strip(read(&body, &mut at));
    let e = strip(read(&body, &mut at));
    json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": B64URL.encode(n), "e": B64URL.encode(e)})
}

#[test]
fn pubsub_tokens_verify_with_a_jwks_and_their_claims_are_checked() {
    let m = pubsub();
    let pair = generate_key_pair(SignatureAlgorithm::RsaSha256).unwrap();
    let other = generate_key_pair(SignatureAlgorithm::RsaSha256).unwrap();
    let jwks =
        json!({"keys": [rsa_jwk(&other.public_raw, "old"), rsa_jwk(&pair.public_raw, "new")]});
    let verifier =
        Verifier::for_manifest_at(&m, vec![Secret::new(jwks.to_string())], None, Some(URL))
            .unwrap();
    let signer = Signer::for_manifest_at(&m, pair.private_pem.clone(), None, Some(URL)).unwrap();
    let body = br#"{"message":{"data":"aGk=","messageId":"1"},"subscription":"projects/p/subscriptions/s"}"#;
    let now = 1_733_300_000;
    let ctx = SignContext {
        message_id: "m".into(),
        timestamp: now,
    };
    let h = headers(signer.sign(body, &ctx));
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    verifier.verify_at(&h, body, at(now + 5)).unwrap();
    // Expired (exp is iat + 60, leeway 60).
    let err = verifier.verify_at(&h, body, at(now + 200)).unwrap_err();
    assert!(matches!(err, AuthError::StaleTimestamp { .. }), "{err}");
    assert!(err.to_string().contains("JWT `exp`"), "{err}");
    // Another audience: the token was for another endpoint.
    let elsewhere = Verifier::for_manifest_at(
        &m,
        vec![Secret::new(jwks.to_string())],
        None,
        Some("https://example.com/other"),
    )
    .unwrap();
    let err = elsewhere.verify_at(&h, body, at(now + 5)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the JWT in `authorization`: claim `aud` is not this endpoint's audience"
    );
    // Claims changed after signing: the signature no longer holds.
    let token = token_of(&h, "authorization");
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims =
        json!({"iss": "accounts.google.com", "aud": URL, "iat": now, "exp": now + 3600});
    let forged = format!(
        "Bearer {}.{}.{}",
        parts[0],
        B64URL.encode(forged_claims.to_string()),
        parts[2]
    );
    let mut hf = HeaderMap::new();
    hf.insert("authorization", forged.parse().unwrap());
    assert!(matches!(
        verifier.verify_at(&hf, body, at(now + 5)),
        Err(AuthError::WrongSignature { .. })
    ));
    // `alg: none` (no signature) is not an algorithm the vendor uses.
    let none = format!(
        "Bearer {}.{}.",
        B64URL.encode(r#"{"alg":"none","typ":"JWT"}"#),
        B64URL.encode(forged_claims.to_string())
    );
    hf.insert("authorization", none.parse().unwrap());
    let err = verifier.verify_at(&hf, body, at(now + 5)).unwrap_err();
    assert!(err.to_string().contains("a JWT signed with RS256"), "{err}");
    // A key the JWKS does not hold.
    let stranger = Signer::for_manifest_at(
        &m,
        generate_key_pair(SignatureAlgorithm::RsaSha256)
            .unwrap()
            .private_pem,
        None,
        Some(URL),
    )
    .unwrap();
    let hs = headers(stranger.sign(body, &ctx));
    assert!(matches!(
        verifier.verify_at(&hs, body, at(now + 5)),
        Err(AuthError::WrongSignature { .. })
    ));
}

#[test]
fn plaid_tokens_bind_the_body_and_expire_after_five_minutes() {
    let m = plaid();
    let pair = generate_key_pair(SignatureAlgorithm::EcdsaP256Sha256Fixed).unwrap();
    let verifier = Verifier::for_manifest(&m, vec![Secret::new(&pair.public_pem)]).unwrap();
    let signer = Signer::for_manifest(&m, pair.private_pem).unwrap();
    let body =
        br#"{"webhook_type":"TRANSACTIONS","webhook_code":"SYNC_UPDATES_AVAILABLE","item_id":"x"}"#;
    let now = 1_733_300_000;
    let h = headers(signer.sign(
        body,
        &SignContext {
            message_id: "m".into(),
            timestamp: now,
        },
    ));
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    verifier.verify_at(&h, body, at(now + 10)).unwrap();
    // The token is good, the body is not the one it was issued for.
    let err = verifier
        .verify_at(&h, br#"{"webhook_type":"TRANSACTIONS","webhook_code":"SYNC_UPDATES_AVAILABLE","item_id":"y"}"#, at(now + 10))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("claim `request_body_sha256` is not the SHA-256 of the body received"),
        "{err}"
    );
    // Issued more than 5 minutes (and the leeway) ago: a replay.
    let err = verifier.verify_at(&h, body, at(now + 400)).unwrap_err();
    assert!(matches!(err, AuthError::StaleTimestamp { .. }), "{err}");
}

#[test]
fn jwt_manifest_mistakes_are_named() {
    let bad = |auth: Value| {
        let m = json!({"id": "acme", "name": "Acme", "event_type": {"pointer": "/type"}, "auth": auth, "success": {"statuses": ["2xx"]}});
        Manifest::from_json(&m.to_string()).unwrap_err().to_string()
    };
    // The algorithm-confusion attack: a public key taken as an HS256 secret.
    let e =
        bad(json!({"scheme": "jwt", "header": "Authorization", "algorithms": ["HS256", "RS256"]}));
    assert!(
        e.contains("/auth/algorithms") && e.contains("cannot be mixed"),
        "{e}"
    );
    let e = bad(json!({"scheme": "jwt", "header": "Authorization", "algorithms": ["none"]}));
    assert!(e.contains("/auth") && e.contains("none"), "{e}");
    // `{url}` as audience needs the endpoint.
    let err = Verifier::for_manifest(&pubsub(), vec![Secret::new("{\"keys\": []}")]).unwrap_err();
    assert!(
        err.to_string().contains("audience is the endpoint URL"),
        "{err}"
    );
}

/// From the command line: `keygen` for a JWT vendor, `serve` holding the
/// public key (from a file) with its endpoint as the audience, `check`
/// signing tokens with the private key: every case passes, `auth/invalid`
/// signed by another generated key and `auth/stale` an expired token.
#[test]
fn a_jwt_vendor_is_served_and_checked_from_the_cli() {
    let dir = "tests/fixtures/pubsub";
    let hookforge = || {
        let mut c = crate::common::hookforge_command();
        c.current_dir(crate::common::root()).env_remove("RUST_LOG");
        c
    };
    let out = crate::common::succeeded(hookforge().args(["keygen", "--vendor-dir", dir, "--json"]));
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tmp = crate::common::temp_dir("pubsub");
    let (private, public) = (tmp.join("private.pem"), tmp.join("public.pem"));
    std::fs::write(&private, keys["private_key"].as_str().unwrap()).unwrap();
    std::fs::write(&public, keys["public_key"].as_str().unwrap()).unwrap();
    let port = crate::common::free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/pubsub");
    let mut serve = crate::common::serve_vendor_dir_on(dir, &format!("127.0.0.1:{port}"));
    serve
        .arg("--secret-file")
        .arg(format!("pubsub={}", public.display()))
        .arg("--endpoint")
        .arg(format!("pubsub={url}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let (mut child, _) = crate::common::spawn_listening(serve);
    let check = hookforge()
        .args(["check", "--vendor-dir", dir, "--url", &url, "--secret-file"])
        .arg(&private)
        .output()
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&check.stdout);
    let err = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(0), "{text}{err}");
    for case in ["auth/missing", "auth/invalid", "auth/stale"] {
        assert!(
            text.contains(&format!("PASS  pubsub/{case}")),
            "{case}:\n{text}"
        );
    }
}

/// Keys the vendor publishes (`jwks_url`, Google's certs): the receiver
/// fetches the JWKS once, caches it, and verifies tokens with it; no key is
/// configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_keys_are_fetched_and_cached() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::ServiceExt;
    let pair = generate_key_pair(SignatureAlgorithm::RsaSha256).unwrap();
    let jwks = json!({"keys": [rsa_jwk(&pair.public_raw, "k1")]}).to_string();
    let fetches = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let app = axum::Router::new().route(
        "/oauth2/v3/certs",
        axum::routing::get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let jwks = jwks.clone();
            async move { ([("cache-control", "public, max-age=21600")], jwks) }
        }),
    );
    let addr = crate::common::serve_app(app).await;

    let dir = crate::common::temp_dir("jwks-url");
    crate::common::copy_dir(&crate::common::root().join("tests/fixtures/pubsub"), &dir);
    let m = dir.join("manifest.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    doc["id"] = json!("pubsub_published");
    doc["auth"]["jwks_url"] = json!(format!("http://{addr}/oauth2/v3/certs"));
    std::fs::write(&m, doc.to_string()).unwrap();
    let v = hookforge::vendor_dir::load(&dir).unwrap();
    let receiver = hookforge::receive::receiver::Receiver::builder(v)
        .endpoint(URL)
        .inbox(hookforge::receive::inbox::Inbox::new(std::sync::Arc::new(
            hookforge::receive::store::MemoryStore::new(),
        )))
        .build()
        .unwrap()
        .router();
    let sample = v.events[0].samples[0].body;
    let post = |signer: &Signer, n: u64| {
        let mut body: Value = serde_json::from_slice(sample).unwrap();
        body["message"]["messageId"] = json!(n.to_string());
        let body = serde_json::to_vec(&body).unwrap();
        let mut req = axum::http::Request::post("/hooks/pubsub_published")
            .header("content-type", "application/json");
        for (k, val) in signer.sign(&body, &SignContext::now("m")) {
            req = req.header(k, val);
        }
        req.body(axum::body::Body::from(body)).unwrap()
    };
    let signer = Signer::for_manifest_at(v.manifest(), pair.private_pem, None, Some(URL)).unwrap();
    for n in 0..2 {
        let resp = receiver.clone().oneshot(post(&signer, n)).await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    let stranger = generate_key_pair(SignatureAlgorithm::RsaSha256).unwrap();
    let stranger =
        Signer::for_manifest_at(v.manifest(), stranger.private_pem, None, Some(URL)).unwrap();
    let resp = receiver.clone().oneshot(post(&stranger, 9)).await.unwrap();
    assert_eq!(resp.status(), 401);
}
