//! Keys a delivery points at (PayPal's `PAYPAL-CERT-URL`, AWS SNS's
//! `SigningCertURL`): the receiver fetches the certificate only from an
//! allowed host, caches it, and verifies with its public key. The test
//! serves the certificate on loopback and the allow-list names that server.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hookforge::VendorSpec;
use hookforge::auth::{Secret, SignContext, Signer};
use hookforge::receive::inbox::Inbox;
use hookforge::receive::receiver::Receiver;
use hookforge::receive::store::MemoryStore;
use serde_json::json;
use tower::ServiceExt;

/// A vendor whose deliveries carry `X-Cert-Url`, allowed on `host`.
fn vendor(host: &str) -> &'static VendorSpec {
    let dir = common::temp_dir("cert-url");
    std::fs::create_dir_all(dir.join("events")).unwrap();
    let manifest = json!({
        "id": "cert_signed", "name": "Certificate-signed",
        "event_type": {"pointer": "/type"},
        "auth": {
            "scheme": "signature", "algorithm": "ecdsa-p256-sha256", "key": "pem",
            "header": "X-Sig", "encoding": "base64", "signed": "{timestamp}.{body}",
            "timestamp_header": "X-Ts",
            "key_url": {"header": "X-Cert-Url", "hosts": [host]},
        },
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "success": {"statuses": ["2xx"]},
    });
    let event = json!({"title": "payment.captured", "type": "object",
        "properties": {"type": {"const": "payment.captured"}}});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.join("events/payment.captured.json"), event.to_string()).unwrap();
    let samples = dir.join("samples/payment.captured");
    std::fs::create_dir_all(&samples).unwrap();
    let sample = json!({"type": "payment.captured", "id": "evt_0001", "amount": 1999});
    std::fs::write(samples.join("one.json"), sample.to_string()).unwrap();
    hookforge::vendor_dir::load(&dir).unwrap()
}

/// A vendor's signing key and its self-signed certificate (P-256).
fn self_signed() -> (rcgen::KeyPair, rcgen::Certificate) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = certificate_for("vendor.example", &key);
    (key, cert)
}

/// A certificate for `name`, self-signed with `key`.
fn certificate_for(name: &str, key: &rcgen::KeyPair) -> rcgen::Certificate {
    rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(key)
        .unwrap()
}

/// Serves `app` on a loopback port; its `host:port`.
async fn serve_on_loopback(app: axum::Router) -> String {
    let addr = common::serve_app(app).await;
    addr.to_string()
}

/// Serves `pem` at `/cert.pem` on loopback (404 elsewhere), counting the
/// fetches; its `host:port`.
async fn certificate_server(pem: String, fetches: Arc<AtomicUsize>) -> String {
    let app = axum::Router::new().route(
        "/cert.pem",
        axum::routing::get(move || {
            fetches.fetch_add(1, Ordering::SeqCst);
            let pem = pem.clone();
            async move { ([("cache-control", "max-age=600")], pem) }
        }),
    );
    serve_on_loopback(app).await
}

/// [`certificate_server`], also answering `GET /confirm` (counted).
async fn certificate_server_with_confirm(pem: String, visits: Arc<AtomicUsize>) -> String {
    let app = axum::Router::new()
        .route("/cert.pem", axum::routing::get(move || async move { pem }))
        .route(
            "/confirm",
            axum::routing::get(move || {
                visits.fetch_add(1, Ordering::SeqCst);
                async { "<ConfirmSubscriptionResponse/>" }
            }),
        );
    serve_on_loopback(app).await
}

fn delivery(v: &VendorSpec, private_pem: &str, cert_url: &str, n: u32) -> Request<Body> {
    let body = format!(r#"{{"type":"payment.captured","n":{n}}}"#);
    let signer = Signer::for_manifest(v.manifest(), Secret::new(private_pem)).unwrap();
    let mut req = Request::post(format!("/hooks/{}", v.id))
        .header("content-type", "application/json")
        .header("x-cert-url", cert_url);
    for (k, val) in signer.sign(body.as_bytes(), &SignContext::now("x")) {
        req = req.header(k, val);
    }
    req.body(Body::from(body)).unwrap()
}

/// A receiver's router for `v`, on an in-memory inbox.
fn router(v: &'static VendorSpec) -> axum::Router {
    Receiver::builder(v)
        .inbox(Inbox::new(Arc::new(MemoryStore::new())))
        .build()
        .unwrap()
        .router()
}

/// `cert` served on loopback (counting `fetches`), a vendor allowed on
/// that host, and its receiver: (host, vendor, router).
async fn certificate_vendor(
    cert: &rcgen::Certificate,
    fetches: Arc<AtomicUsize>,
) -> (String, &'static VendorSpec, axum::Router) {
    let host = certificate_server(cert.pem(), fetches).await;
    let v = vendor(&host);
    (host, v, router(v))
}

async fn status(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_fetched_from_an_allowed_host_once_and_verifies() {
    let (key, cert) = self_signed();
    let fetches = Arc::new(AtomicUsize::new(0));
    let (host, v, app) = certificate_vendor(&cert, fetches.clone()).await;
    let private = key.serialize_pem();
    let url = format!("http://{host}/cert.pem");
    for n in 0..3 {
        let (s, text) = status(&app, delivery(v, &private, &url, n)).await;
        assert_eq!(s, 200, "{text}");
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "fetched once, then cached"
    );

    // Signed by another key, pointing at the vendor's certificate.
    let other = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let (s, text) = status(&app, delivery(v, &other, &url, 9)).await;
    assert_eq!(s, 401, "{text}");
    // A URL on a host the manifest does not allow: refused unfetched.
    let port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
    for bad in [
        format!("http://127.0.0.1:{}/cert.pem", port + 1),
        "https://vendor.example.evil.example/cert.pem".to_string(),
        format!("http://{host}@evil.example/cert.pem"),
    ] {
        let (s, text) = status(&app, delivery(v, &private, &bad, 10)).await;
        assert_eq!(s, 401, "{bad}: {text}");
        assert!(
            text.contains("key URL in header `X-Cert-Url` is refused"),
            "{text}"
        );
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // An allowed URL that serves nothing: not the sender's fault, retried.
    let (s, text) = status(
        &app,
        delivery(v, &private, &format!("http://{host}/missing.pem"), 11),
    )
    .await;
    assert_eq!(s, 503, "{text}");
}

/// A delivery without a signature that names a key URL is refused as
/// unsigned (401), and nothing is fetched: a stranger cannot make the
/// receiver call out, nor turn a missing signature into a 503 the vendor
/// would retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_delivery_naming_a_key_url_is_refused_without_a_fetch() {
    let (_, cert) = self_signed();
    let fetches = Arc::new(AtomicUsize::new(0));
    let (host, v, app) = certificate_vendor(&cert, fetches.clone()).await;
    for url in [
        format!("http://{host}/cert.pem"),
        format!("http://{host}/missing.pem"),
    ] {
        let req = Request::post(format!("/hooks/{}", v.id))
            .header("content-type", "application/json")
            .header("x-cert-url", url)
            .body(Body::from(r#"{"type":"payment.captured"}"#))
            .unwrap();
        let (s, text) = status(&app, req).await;
        assert_eq!(s, 401, "{text}");
        assert!(text.contains("missing header `x-sig`"), "{text}");
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 0);
}

/// `check` for such a vendor: its deliveries name the certificate the test
/// serves (`--key-url`), signed with the matching private key; the receiver
/// fetches and verifies; every case passes, `auth/invalid` (another key
/// under the same certificate) refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_signs_for_a_vendor_whose_deliveries_name_their_certificate() {
    use hookforge::conformance::harness::Harness;
    let (key, cert) = self_signed();
    let (host, v, app) = certificate_vendor(&cert, Arc::new(AtomicUsize::new(0))).await;
    let addr = serve_on_loopback(app).await;
    let report = Harness::new(v, format!("http://{addr}/hooks/{}", v.id))
        .secret(key.serialize_pem())
        .key_url(format!("http://{host}/cert.pem"))
        .run()
        .await
        .unwrap();
    assert_eq!(report.failed, 0, "{}", report.table());
    for case in [
        "payment.captured/one",
        "auth/missing",
        "auth/invalid",
        "auth/stale",
    ] {
        let id = format!("{}/{case}", v.id);
        assert!(
            report.cases.iter().any(|c| c.id == id),
            "{id}:\n{}",
            report.table()
        );
    }
    // `simulate` signs the same way.
    let sim = hookforge::simulate::Simulator::new(v)
        .url(format!("http://{addr}/hooks/{}", v.id))
        .secret(key.serialize_pem())
        .key_url(format!("http://{host}/cert.pem"))
        .events(1)
        .run()
        .await
        .unwrap();
    assert_eq!(sim.states.get("delivered"), Some(&1), "{sim:?}");
}

/// AWS SNS (an HTTP/S subscription with SignatureVersion 2): JSON posted as
/// `text/plain`, the signature and the certificate URL in the body, and a
/// signed string of `Name\nvalue\n` lines in which `Subject` appears only
/// when the message has one (an optional `[…]` part).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sns_notification_verifies_with_and_without_a_subject() {
    let (pair, cert) = sns_key_and_certificate();
    let visits = Arc::new(AtomicUsize::new(0));
    let host = certificate_server_with_confirm(cert.pem(), visits.clone()).await;
    let v = sns_vendor(&host);
    let app = router(v);
    let signer = Signer::for_manifest(v.manifest(), pair.private_pem.clone())
        .unwrap()
        .with_key_url(format!("http://{host}/cert.pem"));
    for (id, subject) in [("m-1", Some("Order placed")), ("m-2", None)] {
        let (s, text) = status(&app, sns_post(sns_notification(&signer, id, subject))).await;
        assert_eq!(s, 200, "{id}: {text}");
    }
    check_openssl_signed_notification(&app, &host, pair.private_pem.expose()).await;
    check_subscription_confirmation(&app, &signer, &host, &visits).await;
    // The subject changed after signing: the signature no longer holds.
    let forged = String::from_utf8(sns_notification(&signer, "m-3", Some("Order placed")))
        .unwrap()
        .replace("Order placed", "Order refunded");
    let (s, text) = status(&app, sns_post(forged.into_bytes())).await;
    assert_eq!(s, 401, "{text}");
}

/// An RSA key pair and a self-signed certificate for SNS's host.
fn sns_key_and_certificate() -> (hookforge::auth::KeyPair, rcgen::Certificate) {
    let pair =
        hookforge::auth::generate_key_pair(hookforge::manifest::SignatureAlgorithm::RsaSha256)
            .unwrap();
    let key = rcgen::KeyPair::from_pem(pair.private_pem.expose()).unwrap();
    let cert = certificate_for("sns.us-east-1.amazonaws.com", &key);
    (pair, cert)
}

/// An SNS vendor (SignatureVersion 2) whose certificates and subscription
/// URLs are also allowed on `host`.
fn sns_vendor(host: &str) -> &'static VendorSpec {
    let dir = common::temp_dir("sns");
    std::fs::create_dir_all(dir.join("events")).unwrap();
    let signed = "Message\n{body:/Message}\nMessageId\n{body:/MessageId}\n[Subject\n{body:/Subject}\n]\
                  [SubscribeURL\n{body:/SubscribeURL}\n]Timestamp\n{body:/Timestamp}\n[Token\n{body:/Token}\n]\
                  TopicArn\n{body:/TopicArn}\nType\n{body:/Type}\n";
    let manifest = json!({
        "id": "sns", "name": "AWS SNS",
        "body": {"content_types": ["text/plain"]},
        "event_type": {"pointer": "/Type"}, "event_id": {"pointer": "/MessageId"},
        "auth": {
            "scheme": "signature", "algorithm": "rsa-sha256", "key": "pem", "encoding": "base64",
            "signature_pointer": "/Signature", "signed": signed,
            "key_url": {"pointer": "/SigningCertURL", "hosts": ["sns.*.amazonaws.com", host]},
        },
        "headers": [{"name": "Content-Type", "value": "text/plain; charset=UTF-8"}],
        "success": {"statuses": ["2xx"], "timeout_secs": 15},
        "handshakes": [{
            "name": "SubscriptionConfirmation",
            "when": [{"pointer": "/Type", "equals": "SubscriptionConfirmation"}],
            "authenticated": true,
            "visit": {"pointer": "/SubscribeURL", "hosts": ["sns.*.amazonaws.com", host]},
            "answer": {"content_type": "text/plain", "body": ""},
            "example": {"body": {"Type": "SubscriptionConfirmation"}},
        }],
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let event = json!({"title": "Notification", "type": "object", "properties": {"Type": {"const": "Notification"}}});
    std::fs::write(dir.join("events/Notification.json"), event.to_string()).unwrap();
    hookforge::vendor_dir::load(&dir).unwrap()
}

/// A notification `id` (with `subject`, if any), signed by `signer`.
fn sns_notification(signer: &Signer, id: &str, subject: Option<&str>) -> Vec<u8> {
    let mut m = json!({
        "Type": "Notification", "MessageId": id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Message": "{\"order\":\"123\"}", "Timestamp": "2026-12-04T12:00:00.000Z",
        "SignatureVersion": "2", "SigningCertURL": "", "Signature": "",
    });
    if let Some(s) = subject {
        m["Subject"] = json!(s);
    }
    signer
        .sign_body(m.to_string().as_bytes(), &SignContext::now(id))
        .unwrap()
}

/// A subscription confirmation naming `url` as its SubscribeURL, signed by
/// `signer`.
fn sns_confirmation(signer: &Signer, url: &str) -> Vec<u8> {
    let m = json!({
        "Type": "SubscriptionConfirmation", "MessageId": "c-1", "Token": "2336412f37f",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": url, "Timestamp": "2026-12-04T12:00:00.000Z",
        "SignatureVersion": "2", "SigningCertURL": "", "Signature": "",
    });
    signer
        .sign_body(m.to_string().as_bytes(), &SignContext::now("c-1"))
        .unwrap()
}

/// `body` posted to the SNS endpoint, as SNS posts it (`text/plain`).
fn sns_post(body: Vec<u8>) -> Request<Body> {
    Request::post("/hooks/sns")
        .header("content-type", "text/plain; charset=UTF-8")
        .body(Body::from(body))
        .unwrap()
}

/// Signed by OpenSSL over the string AWS documents for a notification
/// without a subject: hookforge builds the same string.
async fn check_openssl_signed_notification(app: &axum::Router, host: &str, private_pem: &str) {
    let mut doc = json!({
        "Type": "Notification", "MessageId": "m-4",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Message": "hello", "Timestamp": "2026-12-04T12:00:00.000Z",
        "SignatureVersion": "2", "SigningCertURL": format!("http://{host}/cert.pem"),
    });
    let canonical = "Message\nhello\nMessageId\nm-4\nTimestamp\n2026-12-04T12:00:00.000Z\n\
                     TopicArn\narn:aws:sns:us-east-1:123456789012:orders\nType\nNotification\n";
    doc["Signature"] = json!(openssl_sign("-sha256", private_pem, canonical));
    let (s, text) = status(app, sns_post(doc.to_string().into_bytes())).await;
    assert_eq!(s, 200, "{text}");
}

/// A subscription is confirmed by visiting its SubscribeURL (on `host`,
/// counted in `visits`), once the confirmation's signature checks out; it
/// is not stored as an event.
async fn check_subscription_confirmation(
    app: &axum::Router,
    signer: &Signer,
    host: &str,
    visits: &AtomicUsize,
) {
    let confirm = |url: &str| sns_post(sns_confirmation(signer, url));
    let (s, text) = status(app, confirm(&format!("http://{host}/confirm"))).await;
    assert_eq!(s, 200, "{text}");
    assert_eq!(visits.load(Ordering::SeqCst), 1);
    // A URL on another host is not visited.
    let (s, text) = status(app, confirm("https://evil.example/confirm")).await;
    assert_eq!(s, 400, "{text}");
    // A confirmation whose signature does not hold is refused unvisited.
    let forged = String::from_utf8(sns_confirmation(signer, &format!("http://{host}/confirm")))
        .unwrap()
        .replace("2336412f37f", "2336412f380");
    let (s, _) = status(app, sns_post(forged.into_bytes())).await;
    assert_eq!(s, 401);
    assert_eq!(visits.load(Ordering::SeqCst), 1);
}

/// AWS SNS's SignatureVersion 1 (SHA1withRSA, a topic's default), signed
/// by the `openssl` command: the catalogue manifest checks it with the same
/// certificate as version 2, and refuses it claimed as version 2, a SHA-256
/// signature claimed as version 1, and a version it does not know.
#[test]
fn sns_signature_version_1_verifies_with_the_catalogue_manifest() {
    use hookforge::auth::Verifier;
    struct Served(Arc<str>);
    impl hookforge::auth::remote::RemoteKeys for Served {
        fn get(&self, _url: &str) -> Option<Arc<str>> {
            Some(self.0.clone())
        }
    }
    let (pair, cert) = sns_key_and_certificate();
    let manifest = hookforge::vendor("aws_sns").unwrap().manifest();
    let verifier = Verifier::for_manifest_at(manifest, vec![], None, None)
        .unwrap()
        .with_remote_keys(Arc::new(Served(cert.pem().into())));
    let canonical = "Message\nhello\nMessageId\nm-1\nTimestamp\n2026-12-04T12:00:00.000Z\n\
                     TopicArn\narn:aws:sns:us-east-1:123456789012:orders\nType\nNotification\n";
    let message = |version: &str, digest: &str| {
        json!({
            "Type": "Notification", "MessageId": "m-1", "Message": "hello",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
            "Timestamp": "2026-12-04T12:00:00.000Z", "SignatureVersion": version,
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "Signature": openssl_sign(digest, pair.private_pem.expose(), canonical),
        })
        .to_string()
    };
    let verify = |body: String| verifier.verify(&hookforge::HeaderMap::new(), body.as_bytes());
    verify(message("1", "-sha1")).expect("version 1, SHA-1");
    verify(message("2", "-sha256")).expect("version 2, SHA-256");
    for (version, digest) in [("2", "-sha1"), ("1", "-sha256")] {
        let err = verify(message(version, digest)).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{version} {digest}: {err}");
    }
    let err = verify(message("3", "-sha256")).unwrap_err().to_string();
    assert!(
        err.contains("/SignatureVersion") && err.contains("\"1\" (rsa-sha1) or \"2\" (rsa-sha256)"),
        "{err}"
    );
}

/// `message` signed with RSA and `digest` (`-sha256`, `-sha1`) by the
/// `openssl` command (not by hookforge), base64.
fn openssl_sign(digest: &str, private_pem: &str, message: &str) -> String {
    use base64::Engine;
    let dir = common::temp_dir("openssl");
    let (key, msg, sig) = (dir.join("key.pem"), dir.join("msg"), dir.join("sig"));
    std::fs::write(&key, private_pem).unwrap();
    std::fs::write(&msg, message).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", digest, "-sign"])
        .arg(&key)
        .arg("-out")
        .arg(&sig)
        .arg(&msg)
        .output()
        .expect("the openssl command (Debian: openssl)");
    common::assert_ok(&out);
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(&sig).unwrap())
}

/// SNS in the China regions serves its certificates from
/// `sns.<region>.amazonaws.com.cn` (AWS's own validator allows it): the
/// catalogue manifest fetches from there too, and still from no look-alike.
/// Before, every China-region delivery was refused (helper-64's review).
#[test]
fn sns_certificates_come_from_the_china_regions_too() {
    use hookforge::manifest::Auth;
    let manifest = hookforge::vendor("aws_sns").unwrap().manifest();
    let Auth::Signature(sig) = &manifest.auth else {
        panic!("SNS signs its messages")
    };
    let hosts = &sig.key_url.as_ref().unwrap().hosts;
    let check = |url: &str| hookforge::auth::remote::check_host(url, hosts);
    for url in [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
    ] {
        check(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    for url in [
        "https://sns.cn-north-1.amazonaws.com.cn.example.com/x.pem",
        "https://sns.amazonaws.com.cn/x.pem",
        "http://sns.cn-north-1.amazonaws.com.cn/x.pem",
    ] {
        assert!(check(url).is_err(), "{url}");
    }
}

/// `check`, `load` and `simulate` sign for a receiver only with what it
/// needs to verify: a vendor whose deliveries name their certificate's URL
/// (SNS) needs `--key-url`, else they name AWS's own certificate, which
/// this key does not match; PayPal's signature covers `webhook_id`, signed
/// as empty without it; a setting the signature does not cover is a typo.
/// Each is a usage error (exit 2), not a run of deliveries no receiver
/// could verify (helper-64's review).
#[test]
fn signing_for_a_receiver_needs_the_key_url_and_the_settings_it_covers() {
    use hookforge::conformance::target::Signing;
    let pair =
        hookforge::auth::generate_key_pair(hookforge::manifest::SignatureAlgorithm::RsaSha256)
            .unwrap();
    let key = hookforge::auth::Secret::new(pair.private_pem.expose());
    let signer_error = |vendor: &str, signing: Signing| {
        let v = hookforge::vendor(vendor).unwrap();
        let signing = Signing {
            secret: Some(key.clone()),
            ..signing
        };
        match signing.signer(v, signing.secret.as_ref(), None) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    };
    let err = signer_error("aws_sns", Signing::default());
    assert!(err.contains("give --key-url"), "{err}");
    let with_key_url = Signing {
        key_url: Some("https://127.0.0.1:8443/cert.pem".into()),
        ..Signing::default()
    };
    assert_eq!(signer_error("aws_sns", with_key_url), "");
    let paypal = |settings: &[(&str, &str)]| Signing {
        key_url: Some("https://127.0.0.1:8443/cert.pem".into()),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Signing::default()
    };
    let err = signer_error("paypal", paypal(&[]));
    assert!(err.contains("--setting webhook_id=VALUE"), "{err}");
    let err = signer_error(
        "paypal",
        paypal(&[("webhook_id", "WH-1"), ("webhookid", "x")]),
    );
    assert!(err.contains("covers no setting `webhookid`"), "{err}");
    assert_eq!(
        signer_error("paypal", paypal(&[("webhook_id", "WH-1")])),
        ""
    );
}
