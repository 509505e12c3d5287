//! Signature verification under every scheme with attacker-chosen header
//! values and body: an error or Ok, never a panic; and a forged delivery
//! never verifies.
#![no_main]

use hookforge::auth::{Scheme, Secret, Verifier};
use hookforge::manifest::{HashAlgorithm, SignatureEncoding};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn verifiers() -> Vec<Verifier> {
    let schemes = [
        Scheme::Bearer {
            header: HeaderName::from_static("authorization"),
            prefix: "Bearer ".into(),
        },
        Scheme::SharedSecret {
            header: HeaderName::from_static("x-webhook-secret"),
        },
        Scheme::Hmac {
            header: HeaderName::from_static("x-sig"),
            hash: HashAlgorithm::Sha256,
            encoding: SignatureEncoding::Base64,
        },
        Scheme::Hmac {
            header: HeaderName::from_static("x-sig"),
            hash: HashAlgorithm::Sha1,
            encoding: SignatureEncoding::Hex,
        },
        Scheme::StandardWebhooks {
            tolerance: std::time::Duration::from_secs(300),
        },
    ];
    schemes
        .into_iter()
        .map(|s| Verifier::new(s, vec![Secret::new(SECRET)]).expect("valid config"))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    // Split the input into header values and a body at 0xff bytes.
    let mut parts = data.splitn(5, |b| *b == 0xff);
    let mut headers = HeaderMap::new();
    for name in ["authorization", "x-sig", "webhook-id", "webhook-timestamp"] {
        if let Some(p) = parts.next()
            && let Ok(v) = HeaderValue::from_bytes(p)
        {
            headers.insert(name, v.clone());
            if name == "authorization" {
                headers.insert("x-webhook-secret", v.clone());
                headers.insert("webhook-signature", v);
            }
        }
    }
    let body = parts.next().unwrap_or_default();
    for v in verifiers() {
        if v.verify(&headers, body).is_ok() {
            // Only the real secret may pass the secret-comparing schemes.
            let auth = headers.get("authorization").map(|h| h.as_bytes().to_vec());
            let shared = headers
                .get("x-webhook-secret")
                .map(|h| h.as_bytes().to_vec());
            match v.scheme() {
                Scheme::Bearer { .. } => assert!(
                    auth.is_some_and(|a| a.trim_ascii().ends_with(SECRET.as_bytes())),
                    "bearer accepted a wrong token"
                ),
                Scheme::SharedSecret { .. } => assert!(
                    shared.is_some_and(|a| a.trim_ascii() == SECRET.as_bytes()),
                    "shared secret accepted a wrong value"
                ),
                // A random input that carries a valid HMAC is a forgery.
                _ => panic!("{} accepted a fuzzer-made signature", v.scheme().name()),
            }
        }
    }
});
