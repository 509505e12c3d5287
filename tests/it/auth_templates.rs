//! The manifest's `signature` scheme (the auth template language) against
//! real vendors' schemes: vectors computed with Python's hmac
//! (tests/vectors/make_templates.py), including GitHub's and Slack's
//! published examples and the Standard Webhooks specification's; the five
//! built-in vendors written out in it; the event type GitHub builds from a
//! header and a body field.

use std::time::{Duration, UNIX_EPOCH};

use hookforge::auth::{AuthError, Scheme, Secret, SignContext, Signer, Verifier};
use hookforge::{HeaderMap, Manifest};
use serde_json::{Value, json};

fn manifest(auth: &Value) -> Result<Manifest, String> {
    let m = json!({
        "id": "acme", "name": "Acme",
        "event_type": {"pointer": "/type"},
        "auth": auth,
        "success": {"statuses": ["2xx"]},
    });
    Manifest::from_json(&m.to_string()).map_err(|e| e.to_string())
}

fn to_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

struct Vector {
    name: String,
    manifest: Manifest,
    secret: String,
    body: Vec<u8>,
    ctx: SignContext,
    url: Option<String>,
    headers: Vec<(String, String)>,
}

fn vectors() -> Vec<Vector> {
    let doc: Value = serde_json::from_str(include_str!("../vectors/templates.json")).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            name: v["name"].as_str().unwrap().into(),
            manifest: manifest(&v["auth"]).unwrap(),
            secret: v["secret"].as_str().unwrap().into(),
            body: v["body"].as_str().unwrap().as_bytes().to_vec(),
            ctx: SignContext {
                message_id: v["message_id"].as_str().unwrap_or("unused").into(),
                timestamp: v["timestamp"].as_u64().unwrap_or(0),
            },
            url: v["url"].as_str().map(String::from),
            headers: v["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
                .collect(),
        })
        .collect()
}

fn signer(v: &Vector) -> Signer {
    Signer::for_manifest_at(
        &v.manifest,
        Secret::new(v.secret.clone()),
        None,
        v.url.as_deref(),
    )
    .unwrap()
}

fn verifier(v: &Vector) -> Verifier {
    Verifier::for_manifest_at(
        &v.manifest,
        vec![Secret::new(v.secret.clone())],
        None,
        v.url.as_deref(),
    )
    .unwrap()
}

#[test]
fn published_examples_are_the_vectors() {
    // The figures in GitHub's and Slack's docs, not only Python's.
    let all = vectors();
    let find = |n: &str| all.iter().find(|v| v.name.starts_with(n)).unwrap();
    assert_eq!(
        find("github (").headers[0].1,
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
    assert_eq!(
        find("slack").headers[1].1,
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    );
    assert_eq!(
        find("standard").headers[2].1,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

#[test]
fn every_vector_signs_and_verifies_like_python() {
    let all = vectors();
    assert_eq!(all.len(), 8);
    for v in &all {
        let signed: Vec<(String, String)> = signer(v)
            .sign(&v.body, &v.ctx)
            .into_iter()
            .map(|(k, val)| (k.to_string(), val.to_str().unwrap().to_string()))
            .collect();
        assert_eq!(signed, v.headers, "{}: signer", v.name);
        let at = UNIX_EPOCH + Duration::from_secs(v.ctx.timestamp + 5);
        let ver = verifier(v);
        ver.verify_at(&to_map(&v.headers), &v.body, at)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        // One byte more, and it fails.
        let mut other = v.body.clone();
        other.push(b' ');
        assert!(
            matches!(
                ver.verify_at(&to_map(&v.headers), &other, at),
                Err(AuthError::WrongSignature { .. })
            ),
            "{}: a changed body verified",
            v.name
        );
        // Another key fails too.
        let wrong = Verifier::for_manifest_at(
            &v.manifest,
            vec![Secret::new(wrong_secret(&v.secret))],
            None,
            v.url.as_deref(),
        )
        .unwrap();
        assert!(
            matches!(
                wrong.verify_at(&to_map(&v.headers), &v.body, at),
                Err(AuthError::WrongSignature { .. })
            ),
            "{}: another secret verified",
            v.name
        );
    }
}

/// Same length and alphabet (valid base64 stays valid base64).
fn wrong_secret(s: &str) -> String {
    let (head, tail) = s.split_at(s.len() - 6);
    let flipped: String = tail
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    format!("{head}{flipped}")
}

#[test]
fn stripe_header_with_rotated_and_old_scheme_entries() {
    let all = vectors();
    let stripe = all.iter().find(|v| v.name == "stripe").unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(stripe.ctx.timestamp + 5);
    let real = &stripe.headers[0].1;
    let v1 = real.split(',').nth(1).unwrap();
    // Another key's v1 first, a v0 entry, spaces after commas: still verifies.
    let header = format!(
        "t={}, v1={}, v0=deadbeef, {v1}",
        stripe.ctx.timestamp,
        "ab".repeat(32)
    );
    verifier(stripe)
        .verify_at(
            &to_map(&[("stripe-signature".into(), header)]),
            &stripe.body,
            at,
        )
        .unwrap();
    // Older than the tolerance: refused, naming the header.
    let late = UNIX_EPOCH + Duration::from_secs(stripe.ctx.timestamp + 301);
    let err = verifier(stripe)
        .verify_at(&to_map(&stripe.headers), &stripe.body, late)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`stripe-signature` is 301 s old, more than the 300 s tolerance"
    );
    // Ahead of our clock by more than the tolerance: taken, as stripe-python
    // takes it (it checks the past only), so a receiver whose clock runs
    // behind Stripe's loses nothing.
    let early = UNIX_EPOCH + Duration::from_secs(stripe.ctx.timestamp - 3600);
    verifier(stripe)
        .verify_at(&to_map(&stripe.headers), &stripe.body, early)
        .unwrap();
    // A changed timestamp breaks the signature (it is signed).
    let moved = real.replace(
        &format!("t={}", stripe.ctx.timestamp),
        &format!("t={}", stripe.ctx.timestamp + 1),
    );
    assert!(matches!(
        verifier(stripe).verify_at(
            &to_map(&[("stripe-signature".into(), moved)]),
            &stripe.body,
            at
        ),
        Err(AuthError::WrongSignature { .. })
    ));
    // No v1 entry at all: malformed, saying what was expected.
    let err = verifier(stripe)
        .verify_at(
            &to_map(&[("stripe-signature".into(), "t=1,v0=abc".into())]),
            &stripe.body,
            at,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed header `stripe-signature`: `t={timestamp},v1={sig}` with {sig} a hexadecimal HMAC of `{timestamp}.{body}`"
    );
}

#[test]
fn slack_timestamp_header_is_required_and_checked() {
    let all = vectors();
    let slack = all.iter().find(|v| v.name.starts_with("slack")).unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(slack.ctx.timestamp);
    let only_sig = vec![slack.headers[1].clone()];
    assert_eq!(
        verifier(slack)
            .verify_at(&to_map(&only_sig), &slack.body, at)
            .unwrap_err(),
        AuthError::MissingHeader {
            header: "x-slack-request-timestamp".into()
        }
    );
    let mut bad = slack.headers.clone();
    bad[0].1 = "yesterday".into();
    assert_eq!(
        verifier(slack)
            .verify_at(&to_map(&bad), &slack.body, at)
            .unwrap_err()
            .to_string(),
        "malformed header `x-slack-request-timestamp`: a timestamp in Unix seconds"
    );
}

#[test]
fn url_signatures_need_the_endpoint() {
    let all = vectors();
    let square = all.iter().find(|v| v.name.starts_with("square")).unwrap();
    let err = Verifier::for_manifest(&square.manifest, vec![Secret::new("k")]).unwrap_err();
    assert!(err.to_string().contains("endpoint URL"), "{err}");
    assert!(Signer::for_manifest(&square.manifest, Secret::new("k")).is_err());
    // Another URL (the same body and signature, posted elsewhere) fails.
    let elsewhere = Verifier::for_manifest_at(
        &square.manifest,
        vec![Secret::new(square.secret.clone())],
        None,
        Some("https://example.com/hooks/other"),
    )
    .unwrap();
    assert!(matches!(
        elsewhere.verify(&to_map(&square.headers), &square.body),
        Err(AuthError::WrongSignature { .. })
    ));
}

#[test]
fn template_errors_name_the_field() {
    let cases = [
        (
            json!({"scheme": "signature", "header": "X-Sig", "signed": "{timestamp}.{bodee}", "hash": "sha256", "encoding": "hex"}),
            "`auth.signed` (at `/auth/signed`): unknown placeholder `{bodee}`; expected {body}, {form_sorted}, {body_crc32}, {body:/pointer}, {setting:NAME}, {timestamp}, {id} or {url}",
        ),
        (
            json!({"scheme": "signature", "header": "X-Sig", "signed": "{timestamp}", "hash": "sha256", "encoding": "hex"}),
            "`auth.signed` (at `/auth/signed`): must contain `{body}`, `{form_sorted}` or `{body_crc32}` exactly once (or name body fields with `{body:/pointer}`)",
        ),
        (
            json!({"scheme": "signature", "header": "X-Sig", "signed": "{timestamp}.{body}", "hash": "sha256", "encoding": "hex"}),
            "`auth.signed` (at `/auth/signed`) uses `{timestamp}`: add it to `auth.format` or name `auth.timestamp_header`",
        ),
        (
            json!({"scheme": "signature", "header": "X-Sig", "format": "t={timestamp}", "hash": "sha256", "encoding": "hex"}),
            "`auth.format` (at `/auth/format`): needs exactly one `{sig}` or one `{secret}`",
        ),
        (
            json!({"scheme": "signature", "header": "X-Sig", "format": "sha256={sig}"}),
            "`auth` (at `/auth`): a `{sig}` format needs `hash` (sha1, sha256, sha512) and `encoding` (hex, base64)",
        ),
        (
            json!({"scheme": "signature", "header": "X-Sig", "signed": "{id}.{body}", "hash": "sha256", "encoding": "hex"}),
            "`auth.signed` (at `/auth/signed`) uses `{id}`: name `auth.id_header`",
        ),
        (
            json!({"scheme": "signature", "header": "X-Sig", "format": "{sig}", "timestamp_header": "X-Ts", "hash": "sha256", "encoding": "hex"}),
            "`auth` (at `/auth`): a timestamp is sent but `auth.signed` does not cover `{timestamp}`, so it proves nothing",
        ),
        (
            json!({"scheme": "signature", "algorithm": "rsa-sha256", "key": "pem", "encoding": "base64", "signature_pointer": "/Signature", "versions": {"pointer": "/SignatureVersion", "algorithms": {"1": "rsa-sha1"}}}),
            "`auth.versions` (at `/auth/versions`): `auth.algorithm` (rsa-sha256) is what hookforge signs with: it must be one of the versions (\"1\" (rsa-sha1))",
        ),
        (
            json!({"scheme": "signature", "algorithm": "rsa-sha256", "key": "pem", "encoding": "base64", "header": "X-Sig", "versions": {"pointer": "/v", "algorithms": {"2": "rsa-sha256"}}}),
            "`auth.versions` (at `/auth/versions`): versions are told apart by a body value: name `auth.signature_pointer`",
        ),
        (
            json!({"scheme": "signature", "algorithm": "rsa-sha256", "key": "pem", "encoding": "base64", "signature_pointer": "/Signature", "versions": {"pointer": "/v", "algorithms": {"2": "rsa-sha256", "3": "hmac"}}}),
            "`auth.versions` (at `/auth/versions`): each version's algorithm is a public-key one (rsa-sha256, rsa-sha1, …)",
        ),
    ];
    for (auth, expected) in cases {
        assert_eq!(manifest(&auth).unwrap_err(), expected, "{auth}");
    }
}

/// The built-in vendors' schemes, written out in the template language.
fn explicit(vendor: &str) -> Value {
    match vendor {
        "prets" => {
            json!({"scheme": "signature", "header": "Authorization", "format": "Bearer {secret}"})
        }
        "superoffice" => {
            json!({"scheme": "signature", "header": "X-SuperOffice-Signature", "hash": "sha256", "encoding": "base64"})
        }
        "socotra" => {
            json!({"scheme": "signature", "header": "Socotra-Signature", "hash": "sha256", "encoding": "hex", "documented": false})
        }
        // No documented auth: the opted-in shared secret.
        "cowbell" | "collateralxp" => {
            json!({"scheme": "signature", "header": "X-Webhook-Secret", "format": "{secret}"})
        }
        other => panic!("a sixth built-in vendor, {other}: write its scheme out here"),
    }
}

#[test]
fn the_five_vendors_written_in_the_language_sign_and_verify_the_same() {
    for v in hookforge::vendors::ALL.iter().copied() {
        let m = manifest(&explicit(v.id)).unwrap();
        let secret = match v.id {
            "prets" => "whsec_0123456789012345678901234567890123456789abc",
            _ => "a-shared-secret",
        };
        let body = v.events[0].samples[0].body;
        let ctx = SignContext {
            message_id: "m1".into(),
            timestamp: 1_700_000_000,
        };
        let builtin = Signer::for_manifest(v.manifest(), Secret::new(secret)).unwrap();
        let written = Signer::for_manifest(&m, Secret::new(secret)).unwrap();
        let norm = |h: Vec<(http::HeaderName, http::HeaderValue)>| -> Vec<(String, String)> {
            h.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                .collect()
        };
        assert_eq!(
            norm(written.sign(body, &ctx)),
            norm(builtin.sign(body, &ctx)),
            "{}",
            v.id
        );
        let headers = to_map(&norm(written.sign(body, &ctx)));
        Verifier::for_manifest(v.manifest(), vec![Secret::new(secret)])
            .unwrap()
            .verify(&headers, body)
            .unwrap_or_else(|e| panic!("{}: {e}", v.id));
        Verifier::for_manifest(&m, vec![Secret::new(secret)])
            .unwrap()
            .verify(&headers, body)
            .unwrap_or_else(|e| panic!("{}: {e}", v.id));
    }
    // Standard Webhooks: the `standard-webhooks` shorthand is the template.
    let short = manifest(&json!({"scheme": "standard-webhooks"})).unwrap();
    let long = manifest(&json!({"scheme": "signature", "header": "webhook-signature", "format": "v1,{sig}", "separator": " ", "signed": "{id}.{timestamp}.{body}", "hash": "sha256", "encoding": "base64", "key": "whsec", "timestamp_header": "webhook-timestamp", "id_header": "webhook-id", "refuses_future": true})).unwrap();
    assert_eq!(
        Scheme::from_manifest(&short).unwrap().signature(),
        Scheme::from_manifest(&long).unwrap().signature()
    );
}

#[test]
fn github_event_type_joins_header_and_action() {
    let m = Manifest::from_json(
        &json!({
            "id": "github", "name": "GitHub",
            "event_type": {"header": "X-GitHub-Event", "pointer": "/action", "join": "."},
            "event_id": {"header": "X-GitHub-Delivery"},
            "auth": {"scheme": "signature", "header": "X-Hub-Signature-256", "format": "sha256={sig}", "hash": "sha256", "encoding": "hex"},
            "success": {"statuses": ["2xx"]},
        })
        .to_string(),
    )
    .unwrap();
    let reader = hookforge::EnvelopeReader::new(&m);
    let h = |event: &str| {
        to_map(&[
            ("x-github-event".into(), event.into()),
            ("x-github-delivery".into(), "72d3162e-cc78-11e3".into()),
        ])
    };
    let e = reader
        .read(br#"{"action":"opened","issue":{"number":1}}"#, &h("issues"))
        .unwrap();
    assert_eq!(e.event_type, "issues.opened");
    assert_eq!(e.event_id.as_deref(), Some("72d3162e-cc78-11e3"));
    // `push` has no action: the header alone.
    let e = reader
        .read(br#"{"ref":"refs/heads/main"}"#, &h("push"))
        .unwrap();
    assert_eq!(e.event_type, "push");
    // Without the header there is no type; the error says where it is read.
    let err = reader
        .read(br#"{"action":"opened"}"#, &HeaderMap::new())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("header `X-GitHub-Event` (joined by \".\" with body `/action` when present)"),
        "{err}"
    );
    // `join` without both halves is a manifest error naming the field.
    let bad = json!({"id": "g", "name": "G", "event_type": {"header": "X-E", "join": "."}, "auth": {"scheme": "none"}, "success": {"statuses": ["2xx"]}});
    assert_eq!(
        Manifest::from_json(&bad.to_string())
            .unwrap_err()
            .to_string(),
        "`event_type.join` (at `/event_type/join`) joins a `header` and a `pointer`: name both"
    );
}

/// PayPal's shape: `<transmission id>|<RFC 3339 time>|<webhook id>|<CRC-32
/// of the body>`, the webhook id a receiver setting. The expected signature
/// is Python's (`hmac`, `zlib.crc32`), over
/// `tx-1|2024-09-13T21:18:40Z|WH-1|2696896422`.
#[test]
fn a_setting_a_body_crc32_and_an_rfc3339_time_are_signed_as_paypal_signs_them() {
    let m = manifest(&json!({
        "scheme": "signature", "header": "X-Sig", "hash": "sha256", "encoding": "base64",
        "signed": "{id}|{timestamp}|{setting:webhook_id}|{body_crc32}",
        "id_header": "X-Transmission-Id", "timestamp_header": "X-Transmission-Time",
        "timestamp_unit": "rfc3339",
    }))
    .unwrap();
    let body = br#"{"id":"WH-EVT-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#;
    let ctx = SignContext {
        message_id: "tx-1".into(),
        timestamp: 1_726_262_320,
    };
    let signer = Signer::for_manifest(&m, Secret::new("k3y"))
        .unwrap()
        .with_setting("webhook_id", "WH-1");
    let headers: HeaderMap = signer.sign(body, &ctx).into_iter().collect();
    assert_eq!(headers["x-transmission-time"], "2024-09-13T21:18:40Z");
    assert_eq!(
        headers["x-sig"],
        "V59XFBwvwjKIa+8KrtKgHwhuOcPDMTgsrk9TLakaVko="
    );
    let at = UNIX_EPOCH + Duration::from_secs(1_726_262_330);
    let verifier = |id: &str| {
        Verifier::for_manifest(&m, vec![Secret::new("k3y")])
            .unwrap()
            .with_setting("webhook_id", id)
    };
    verifier("WH-1").verify_at(&headers, body, at).unwrap();
    // Another webhook's id, another body (same length), a stale time: refused.
    assert!(matches!(
        verifier("WH-2").verify_at(&headers, body, at),
        Err(AuthError::WrongSignature { .. })
    ));
    let other = br#"{"id":"WH-EVT-2","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#;
    assert!(verifier("WH-1").verify_at(&headers, other, at).is_err());
    let late = UNIX_EPOCH + Duration::from_secs(1_726_262_320 + 3600);
    assert!(matches!(
        verifier("WH-1").verify_at(&headers, body, late),
        Err(AuthError::StaleTimestamp { .. })
    ));
    // Without the setting the verifier says what it lacks; a receiver
    // built that way refuses to start.
    let bare = Verifier::for_manifest(&m, vec![Secret::new("k3y")]).unwrap();
    assert_eq!(bare.missing_settings(), ["webhook_id"]);
}

/// Recurly's `<ms timestamp>,<sig>[,<sig>]`: entries without prefixes are
/// told apart by position, later ones signatures (a rotated key's too).
#[test]
fn prefixless_entries_are_read_by_position() {
    let m = manifest(&json!({
        "scheme": "signature", "header": "recurly-signature", "format": "{timestamp},{sig}",
        "separator": ",", "signed": "{timestamp}.{body}", "hash": "sha256", "encoding": "hex",
        "timestamp_unit": "milliseconds",
    }))
    .unwrap();
    let ctx = SignContext {
        message_id: "m".into(),
        timestamp: 1_700_000_000,
    };
    let old = Signer::for_manifest(&m, Secret::new("old"))
        .unwrap()
        .sign(b"{}", &ctx);
    let new = Signer::for_manifest(&m, Secret::new("new"))
        .unwrap()
        .sign(b"{}", &ctx);
    let (old, new) = (old[0].1.to_str().unwrap(), new[0].1.to_str().unwrap());
    let both = format!("{},{}", new, old.split_once(',').unwrap().1);
    let mut headers = HeaderMap::new();
    headers.insert("recurly-signature", both.parse().unwrap());
    let at = UNIX_EPOCH + Duration::from_secs(1_700_000_001);
    for key in ["old", "new"] {
        Verifier::for_manifest(&m, vec![Secret::new(key)])
            .unwrap()
            .verify_at(&headers, b"{}", at)
            .unwrap();
    }
    assert!(
        Verifier::for_manifest(&m, vec![Secret::new("other")])
            .unwrap()
            .verify_at(&headers, b"{}", at)
            .is_err()
    );
}

/// A signature in the body bound to a version field (AWS SNS's
/// `SignatureVersion` "2"): signing writes it, and a delivery that says
/// another version is refused, naming the field, before any signature check.
#[test]
fn fixed_fields_are_written_when_signing_and_required_when_verifying() {
    let m = manifest(&json!({
        "scheme": "signature", "hash": "sha256", "encoding": "base64",
        "signature_pointer": "/Signature", "signed": "Message\n{body:/Message}\n",
        "fixed_fields": {"/SignatureVersion": "2"},
    }))
    .unwrap();
    let ctx = SignContext {
        message_id: "m".into(),
        timestamp: 1_700_000_000,
    };
    let signer = Signer::for_manifest(&m, Secret::new("k3y-k3y-k3y-k3y-k3y")).unwrap();
    let signed = signer
        .sign_body(br#"{"Message":"hi","SignatureVersion":"1"}"#, &ctx)
        .unwrap();
    let doc: Value = serde_json::from_slice(&signed).unwrap();
    assert_eq!(doc["SignatureVersion"], "2");
    let verifier = Verifier::for_manifest(&m, vec![Secret::new("k3y-k3y-k3y-k3y-k3y")]).unwrap();
    verifier.verify(&HeaderMap::new(), &signed).unwrap();
    let mut v1 = doc.clone();
    v1["SignatureVersion"] = json!("1");
    let err = verifier
        .verify(&HeaderMap::new(), v1.to_string().as_bytes())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed body field `/SignatureVersion`: \"2\", the only version of this scheme hookforge checks"
    );
    // Named only with a signature in the body.
    let e = manifest(&json!({
        "scheme": "signature", "header": "X-Sig", "hash": "sha256", "encoding": "hex",
        "fixed_fields": {"/v": "2"},
    }))
    .unwrap_err();
    assert!(e.contains("signature_pointer"), "{e}");
}

/// A time the vendor writes into the body it signs whole (Linear's
/// `webhookTimestamp`, Unix ms): signing stamps it in place, every other
/// byte kept; a correctly signed body whose time is outside the window, or
/// that has none, is refused, naming the field.
#[test]
fn a_signed_body_time_is_stamped_in_place_and_refused_when_stale() {
    let m = manifest(&json!({
        "scheme": "signature", "header": "Linear-Signature", "hash": "sha256",
        "encoding": "hex", "body_timestamp": "/webhookTimestamp",
        "timestamp_unit": "milliseconds", "tolerance_secs": 60, "refuses_future": true,
    }))
    .unwrap();
    let secret = || Secret::new("lin_wh_k3y-k3y-k3y-k3y");
    let signer = Signer::for_manifest(&m, secret()).unwrap();
    let verifier = Verifier::for_manifest(&m, vec![secret()]).unwrap();
    let now = 1_700_000_000;
    let ctx = SignContext {
        message_id: "d".into(),
        timestamp: now,
    };
    let body = b"{\n  \"type\": \"Issue\",\n  \"webhookTimestamp\": 1676056940508 , \"n\": 1.50\n}";
    let stamped = signer.sign_body(body, &ctx).unwrap();
    assert_eq!(
        String::from_utf8(stamped.clone()).unwrap(),
        "{\n  \"type\": \"Issue\",\n  \"webhookTimestamp\": 1700000000000 , \"n\": 1.50\n}"
    );
    let headers = |b: &[u8]| {
        let h: Vec<(String, String)> = signer
            .sign(b, &ctx)
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        to_map(&h)
    };
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    verifier
        .verify_at(&headers(&stamped), &stamped, at(now + 60))
        .unwrap();
    let stale = verifier
        .verify_at(&headers(&stamped), &stamped, at(now + 61))
        .unwrap_err();
    assert_eq!(
        stale.to_string(),
        "body field `/webhookTimestamp` is 61 s old, more than the 60 s tolerance"
    );
    assert!(matches!(
        verifier.verify_at(&headers(&stamped), &stamped, at(now - 61)),
        Err(AuthError::FutureTimestamp { .. })
    ));
    // Signed, but without the time: refused as Linear's SDK refuses it.
    let bare = br#"{"type":"Issue"}"#;
    let err = verifier
        .verify_at(&headers(bare), bare, at(now))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed body field `/webhookTimestamp`: a timestamp in Unix milliseconds"
    );
    // A whole number written with a fraction, as JavaScript takes it.
    let float = b"{\"webhookTimestamp\":1700000000512.0}";
    verifier.verify_at(&headers(float), float, at(now)).unwrap();
    // A body already stamped for this send keeps its milliseconds.
    let fresh = b"{\"webhookTimestamp\":1700000000512}";
    assert_eq!(signer.sign_body(fresh, &ctx), None);
    // Only with a signature over the whole body, sent apart from it.
    let e = manifest(&json!({
        "scheme": "signature", "header": "X-Sig", "hash": "sha256", "encoding": "hex",
        "signed": "{timestamp}.{body:/a}", "timestamp_header": "X-Ts",
        "body_timestamp": "/t",
    }))
    .unwrap_err();
    assert!(e.contains("auth.body_timestamp"), "{e}");
}

/// Adyen signs each event of a batch in the body: every item must verify,
/// and signing signs each (helper-71: only the first item's signature was
/// checked, so a forged REFUND beside an authentic item was stored).
#[test]
fn every_item_of_a_batch_signed_in_the_body_must_verify() {
    const SECRET: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
    let m = hookforge::vendor("adyen").unwrap().manifest();
    let signer = Signer::for_manifest(m, Secret::new(SECRET)).unwrap();
    let verifier = Verifier::for_manifest(m, vec![Secret::new(SECRET)]).unwrap();
    let sample = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("vendors/adyen/samples/AUTHORISATION/openapi-example.json"),
    )
    .unwrap();
    let mut doc: Value = serde_json::from_slice(&sample).unwrap();
    let first = doc["notificationItems"][0].clone();
    let mut second = first.clone();
    second["NotificationRequestItem"]["pspReference"] = json!("SECONDPSP0000001");
    doc["notificationItems"] = json!([first, second]);
    let ctx = SignContext::now("a");
    let signed = signer
        .sign_body(&serde_json::to_vec(&doc).unwrap(), &ctx)
        .unwrap();
    verifier.verify(&HeaderMap::new(), &signed).unwrap();
    let signed: Value = serde_json::from_slice(&signed).unwrap();
    let sig = |d: &Value, i: usize| {
        d["notificationItems"][i]["NotificationRequestItem"]["additionalData"]["hmacSignature"]
            .clone()
    };
    assert_ne!(sig(&signed, 0), sig(&signed, 1));
    let item1 = "/notificationItems/1/NotificationRequestItem";
    // The second item's amount changed after signing.
    let mut forged = signed.clone();
    forged["notificationItems"][1]["NotificationRequestItem"]["amount"]["value"] = json!(99999999);
    let err = verifier
        .verify(&HeaderMap::new(), &serde_json::to_vec(&forged).unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "body field `{item1}/additionalData/hmacSignature` does not match any configured secret"
        )
    );
    // The second item unsigned.
    let mut unsigned = signed.clone();
    unsigned["notificationItems"][1]["NotificationRequestItem"]["additionalData"]
        .as_object_mut()
        .unwrap()
        .remove("hmacSignature");
    let err = verifier
        .verify(&HeaderMap::new(), &serde_json::to_vec(&unsigned).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains(item1), "{err}");
    // No events, or events in an object (whose key "0" the pointers reach,
    // the others unchecked): nothing is signed (helper-72: an empty batch
    // verified).
    let items = &signed["notificationItems"];
    for shape in [
        json!([]),
        json!({"0": items[0], "1": items[1]}),
        json!(null),
    ] {
        let mut doc = signed.clone();
        doc["notificationItems"] = shape;
        let err = verifier
            .verify(&HeaderMap::new(), &serde_json::to_vec(&doc).unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed body field `/notificationItems`: a non-empty array of events, each signed"
        );
    }
}
