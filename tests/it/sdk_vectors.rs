//! hookforge against the vendors' own libraries, both directions (run in
//! full by `scripts/sdk-vectors`, which `.ci/run` runs):
//! - deliveries signed as the vendor signs them (Twilio's SDK; Discord's and
//!   SendGrid's verifiers accepted them before they were written), checked
//!   in at `tests/vectors/sdk-signed.json`: hookforge accepts each and
//!   refuses it with one body byte changed;
//! - deliveries hookforge signs with the same keys, written for the script,
//!   whose SDK verifiers must accept them (and refuse them tampered).

use std::time::{Duration, UNIX_EPOCH};

use hookforge::auth::{Secret, SignContext, Signer, Verifier};
use hookforge::{HeaderMap, Manifest};
use serde_json::{Value, json};

fn vectors() -> Vec<Value> {
    let doc: Value = serde_json::from_str(include_str!("../vectors/sdk-signed.json")).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn manifest(auth: &Value) -> Manifest {
    let m = json!({
        "id": "acme", "name": "Acme", "event_type": {"pointer": "/type"},
        "auth": auth, "success": {"statuses": ["2xx"]},
    });
    Manifest::from_json(&m.to_string()).unwrap()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// One byte of the body changed: its first digit.
fn tampered(body: &str) -> String {
    let at = body.find(|c: char| c.is_ascii_digit()).unwrap();
    let c = if &body[at..=at] == "1" { "2" } else { "1" };
    format!("{}{c}{}", &body[..at], &body[at + 1..])
}

/// One character in the middle of a token's claims changed.
fn tampered_claims(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let (claims, at) = (parts[1], parts[1].len() / 2);
    let c = if &claims[at..=at] == "A" { "B" } else { "A" };
    let claims = format!("{}{c}{}", &claims[..at], &claims[at + 1..]);
    format!("{}.{claims}.{}", parts[0], parts[2])
}

#[test]
fn deliveries_the_vendors_libraries_sign_are_accepted_and_refused_when_tampered() {
    let all = vectors();
    assert_eq!(all.len(), 5);
    for v in all {
        let name = text(&v, "name");
        let m = manifest(&v["auth"]);
        let verifier = Verifier::for_manifest_at(
            &m,
            vec![Secret::new(text(&v, "verify_key"))],
            None,
            v["url"].as_str(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut headers = HeaderMap::new();
        for h in v["headers"].as_array().unwrap() {
            let (k, val) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                val.parse().unwrap(),
            );
        }
        // As of the signing time (the vectors are checked in).
        let at = UNIX_EPOCH + Duration::from_secs(v["timestamp"].as_u64().unwrap_or(0) + 5);
        let body = text(&v, "body");
        verifier
            .verify_at(&headers, body.as_bytes(), at)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // A JWT does not cover the body (Pub/Sub's): its claims are tampered.
        let (headers, body) = if v["auth"]["scheme"] == "jwt" {
            let token = headers["authorization"].to_str().unwrap().to_string();
            let mut forged = HeaderMap::new();
            forged.insert("authorization", tampered_claims(&token).parse().unwrap());
            (forged, body.to_string())
        } else {
            (headers, tampered(body))
        };
        let err = verifier
            .verify_at(&headers, body.as_bytes(), at)
            .unwrap_err();
        assert!(err.to_string().contains("does not match"), "{name}: {err}");
    }
}

/// Writes hookforge's own signatures for `scripts/sdk-vectors` to check
/// with the SDKs (to `HOOKFORGE_SDK_OUT`).
#[test]
#[ignore = "run by scripts/sdk-vectors, which checks the output with the vendors' SDKs"]
fn write_hookforge_signed_vectors() {
    let out = std::env::var("HOOKFORGE_SDK_OUT").expect("HOOKFORGE_SDK_OUT: where to write");
    let signed: Vec<Value> = vectors()
        .into_iter()
        .map(|mut v| {
            let m = manifest(&v["auth"]);
            let signer = Signer::for_manifest_at(
                &m,
                Secret::new(text(&v, "sign_key")),
                None,
                v["url"].as_str(),
            )
            .unwrap();
            let ctx = SignContext::now("msg_sdk_vectors");
            let headers: Vec<Value> = signer
                .sign(text(&v, "body").as_bytes(), &ctx)
                .into_iter()
                .map(|(k, val)| json!([k.as_str(), val.to_str().unwrap()]))
                .collect();
            v["headers"] = Value::Array(headers);
            v["timestamp"] = json!(ctx.timestamp);
            v["name"] = json!(format!("{} [signed by hookforge]", text(&v, "name")));
            v
        })
        .collect();
    let doc = json!({"note": "signed by hookforge's Signer", "vectors": signed});
    std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}
