//! Signing and verification round trips, per scheme; every signature
//! variant against vectors computed outside hookforge (Python's hmac), and
//! SuperOffice signatures checked by an HMAC computed here from SHA-256 alone.

use crate::common;

use base64::Engine;
use hookforge::HeaderMap;
use hookforge::auth::{AuthError, Scheme, Secret, SignContext, Signer, Verifier};
use hookforge::manifest::{HashAlgorithm, SignatureEncoding};
use http::HeaderName;
use sha2::{Digest, Sha256};

/// HMAC-SHA256 written out from RFC 2104, independent of the `hmac` crate.
fn independent_hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[test]
fn the_independent_hmac_matches_rfc_4231() {
    // RFC 4231 test case 2.
    let mac = independent_hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn superoffice_signatures_match_an_independent_hmac() {
    let v = hookforge::vendor("superoffice").unwrap();
    for secret in [
        "s3cr3t",
        "a much longer secret with spaces and ünïcödé, longer than sixty-four bytes in total!!",
    ] {
        let signer = Signer::for_manifest(v.manifest(), Secret::new(secret)).unwrap();
        for e in v.events.iter().filter(|e| !e.samples.is_empty()).take(10) {
            let body = e.samples[0].body;
            let headers = signer.sign(body, &SignContext::now("x"));
            assert_eq!(headers.len(), 1);
            assert_eq!(headers[0].0, "x-superoffice-signature");
            let expected = base64::engine::general_purpose::STANDARD
                .encode(independent_hmac_sha256(secret.as_bytes(), body));
            assert_eq!(headers[0].1.to_str().unwrap(), expected, "{}", e.name);
        }
    }
}

#[test]
fn the_sign_command_prints_what_an_independent_hmac_computes() {
    let path = common::root().join("samples/superoffice/quote.approved/doc-1.json");
    let out = common::succeeded(
        common::hookforge_command()
            .args(["sign", "--vendor", "superoffice", "--secret", "topsecret"])
            .arg(&path),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let sig = text
        .lines()
        .find_map(|l| l.strip_prefix("X-Superoffice-Signature: "))
        .unwrap_or_else(|| panic!("no signature line in {text}"));
    let body = std::fs::read(&path).unwrap();
    let expected = base64::engine::general_purpose::STANDARD
        .encode(independent_hmac_sha256(b"topsecret", &body));
    assert_eq!(sig, expected);
    // The documented headers come with it.
    for h in [
        "Content-Type: application/json; charset=utf-8",
        "User-Agent: NetServer-Webhook/",
        "X-Superoffice-Event: quote.approved",
        "X-Superoffice-Eventid: 1fc5752a-6de8-412d-847a-12d5529a0ec6",
        "X-SuperOffice-Retry: 0",
    ] {
        assert!(text.contains(h), "{h} missing from:\n{text}");
    }
    assert!(
        !text.contains("X-Hook-Test"),
        "only the test event carries X-Hook-Test"
    );
}

fn to_map(pairs: Vec<(HeaderName, http::HeaderValue)>) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k, v);
    }
    h
}

#[test]
fn what_sign_produces_verify_accepts_for_every_scheme() {
    let schemes = [
        (
            Scheme::Bearer {
                header: HeaderName::from_static("authorization"),
                prefix: "Bearer ".into(),
            },
            "whsec_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
        ),
        (
            Scheme::Hmac {
                header: HeaderName::from_static("x-superoffice-signature"),
                hash: HashAlgorithm::Sha256,
                encoding: SignatureEncoding::Base64,
            },
            "so",
        ),
        (
            Scheme::Hmac {
                header: HeaderName::from_static("socotra-signature"),
                hash: HashAlgorithm::Sha256,
                encoding: SignatureEncoding::Hex,
            },
            "soc",
        ),
        (
            Scheme::Hmac {
                header: HeaderName::from_static("x-sig"),
                hash: HashAlgorithm::Sha1,
                encoding: SignatureEncoding::Hex,
            },
            "sha1",
        ),
        (
            Scheme::Hmac {
                header: HeaderName::from_static("x-sig"),
                hash: HashAlgorithm::Sha512,
                encoding: SignatureEncoding::Base64,
            },
            "sha512",
        ),
        (
            Scheme::StandardWebhooks {
                tolerance: std::time::Duration::from_secs(300),
            },
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        (
            Scheme::SharedSecret {
                header: HeaderName::from_static("x-webhook-secret"),
            },
            "shared",
        ),
    ];
    let body = br#"{"type":"quote.created","data":{"quoteId":"q"}}"#;
    for (scheme, secret) in schemes {
        let name = scheme.name();
        let signer = Signer::new(scheme.clone(), Secret::new(secret)).unwrap();
        let headers = to_map(signer.sign(body, &SignContext::now("msg_1")));
        let verifier = Verifier::new(scheme.clone(), vec![Secret::new(secret)]).unwrap();
        verifier
            .verify(&headers, body)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // A different body fails where the body is signed; a wrong secret
        // always fails, named by its header.
        let sig_header = match &scheme {
            Scheme::Bearer { header, .. }
            | Scheme::SharedSecret { header }
            | Scheme::Hmac { header, .. } => header.to_string(),
            _ => "webhook-signature".to_string(),
        };
        let wrong = Err(AuthError::WrongSignature {
            header: sig_header.clone(),
        });
        match scheme {
            Scheme::Bearer { .. } | Scheme::SharedSecret { .. } => {
                assert_eq!(verifier.verify(&headers, b"{}"), Ok(()), "{name}")
            }
            _ => assert_eq!(verifier.verify(&headers, b"{}"), wrong, "{name}"),
        }
        let other = Verifier::new(
            scheme.clone(),
            vec![Secret::new(if secret.starts_with("whsec_M") {
                "whsec_YW5vdGhlci1rZXktb2YtMjQtYnl0ZXMh"
            } else {
                "other"
            })],
        )
        .unwrap();
        assert_eq!(other.verify(&headers, body), wrong, "{name}");
        // Without the header: missing, named.
        let mut without = headers.clone();
        without.remove(sig_header.as_str());
        assert_eq!(
            verifier.verify(&without, body),
            Err(AuthError::MissingHeader { header: sig_header }),
            "{name}"
        );
    }
}

/// Every signature variant (hash × encoding for HMAC, Standard Webhooks,
/// bearer, shared secret) against headers computed by Python's standard
/// library (tests/vectors/make_signatures.py), not by hookforge.
#[test]
fn signatures_match_vectors_computed_outside_hookforge() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/signatures.json")).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    // 2 bodies × (2 secrets × (6 HMAC + bearer + shared) + 2 Standard
    // Webhooks keys) + the specification's own example.
    assert_eq!(vectors.len(), 37);
    let mut seen = std::collections::BTreeSet::new();
    for v in vectors {
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        let scheme = match s("scheme").as_str() {
            "hmac" => Scheme::Hmac {
                header: HeaderName::from_bytes(s("header").as_bytes()).unwrap(),
                hash: match s("hash").as_str() {
                    "sha1" => HashAlgorithm::Sha1,
                    "sha256" => HashAlgorithm::Sha256,
                    _ => HashAlgorithm::Sha512,
                },
                encoding: match s("encoding").as_str() {
                    "hex" => SignatureEncoding::Hex,
                    _ => SignatureEncoding::Base64,
                },
            },
            "bearer" => Scheme::Bearer {
                header: HeaderName::from_bytes(s("header").as_bytes()).unwrap(),
                prefix: s("prefix"),
            },
            "shared-secret" => Scheme::SharedSecret {
                header: HeaderName::from_bytes(s("header").as_bytes()).unwrap(),
            },
            _ => Scheme::StandardWebhooks {
                tolerance: std::time::Duration::from_secs(300),
            },
        };
        let what = format!(
            "{} {} {} secret {}…",
            s("scheme"),
            v["hash"].as_str().unwrap_or(""),
            v["encoding"].as_str().unwrap_or(""),
            &s("secret")[..4]
        );
        seen.insert(format!(
            "{} {} {}",
            s("scheme"),
            v["hash"].as_str().unwrap_or(""),
            v["encoding"].as_str().unwrap_or("")
        ));
        let body = s("body");
        let ts = v["timestamp"].as_u64().unwrap_or(1_700_000_000);
        let ctx = SignContext {
            message_id: v["message_id"].as_str().unwrap_or("msg").to_string(),
            timestamp: ts,
        };
        let expected: Vec<(String, String)> = v["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
            .collect();
        let signed: Vec<(String, String)> = Signer::new(scheme.clone(), Secret::new(s("secret")))
            .unwrap()
            .sign(body.as_bytes(), &ctx)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        assert_eq!(signed, expected, "{what}");
        // The verifier accepts the independently computed headers…
        let mut map = HeaderMap::new();
        for (k, val) in &expected {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                val.parse().unwrap(),
            );
        }
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(ts);
        let verifier = Verifier::new(scheme.clone(), vec![Secret::new(s("secret"))]).unwrap();
        assert_eq!(
            verifier.verify_at(&map, body.as_bytes(), at),
            Ok(()),
            "{what}"
        );
        // …and refuses them with one character of the signature changed
        // (one that carries only data bits, in hex and base64 alike).
        let (k, val) = expected.last().unwrap();
        let mut flipped = val.clone().into_bytes();
        let at_char = val.trim_end_matches('=').len() - 2;
        flipped[at_char] = if flipped[at_char] == b'0' { b'1' } else { b'0' };
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            String::from_utf8(flipped).unwrap().parse().unwrap(),
        );
        assert_eq!(
            verifier.verify_at(&map, body.as_bytes(), at),
            Err(AuthError::WrongSignature { header: k.clone() }),
            "{what}"
        );
    }
    // Every variant is covered.
    assert_eq!(seen.len(), 9, "{seen:?}");
}

#[test]
fn every_vendor_signs_what_its_own_receiver_verifies() {
    for v in hookforge::vendors::ALL.iter().copied() {
        let secret = match v.id {
            "prets" => "whsec_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
            _ => "vendor-secret",
        };
        let signer = Signer::for_manifest(v.manifest(), Secret::new(secret)).unwrap();
        let verifier = Verifier::for_manifest(v.manifest(), vec![Secret::new(secret)]).unwrap();
        let body = v
            .events
            .iter()
            .find(|e| !e.samples.is_empty())
            .unwrap()
            .samples[0]
            .body;
        let headers = hookforge::conformance::delivery::vendor_headers(
            v,
            body,
            Some(&signer),
            &Default::default(),
        )
        .unwrap();
        let mut map = HeaderMap::new();
        for (k, val) in &headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                val.parse().unwrap(),
            );
        }
        verifier
            .verify(&map, body)
            .unwrap_or_else(|e| panic!("{}: {e}", v.id));
        assert!(
            v.parse(body, &map).is_ok(),
            "{}: the signed headers must agree with the body",
            v.id
        );
        every_credential_header_given_twice_is_refused(v, &verifier, &map, body);
    }
}

/// A credential header sent twice (a second, forged copy beside the real
/// one, in either order) is refused naming the header: which copy a proxy
/// or library reads differs, so checking only the first let a forged second
/// through to whatever reads the last.
fn every_credential_header_given_twice_is_refused(
    v: &hookforge::VendorSpec,
    verifier: &Verifier,
    signed: &HeaderMap,
    body: &[u8],
) {
    let credentials: Vec<&HeaderName> = signed
        .keys()
        .filter(|name| {
            let mut without = signed.clone();
            without.remove(*name);
            verifier.verify(&without, body).is_err()
        })
        .collect();
    assert!(!credentials.is_empty(), "{}: no credential header", v.id);
    for name in credentials {
        let real = signed.get(name).unwrap().clone();
        for forged_first in [false, true] {
            let mut twice = signed.clone();
            twice.remove(name);
            let forged = http::HeaderValue::from_static("forged");
            let (a, b) = if forged_first {
                (forged, real.clone())
            } else {
                (real.clone(), forged)
            };
            twice.append(name.clone(), a);
            twice.append(name.clone(), b);
            let err = verifier
                .verify(&twice, body)
                .expect_err(&format!("{}: `{name}` twice was accepted", v.id))
                .to_string();
            assert!(
                err.contains(&format!("`{name}`")) && err.contains("one value, not 2"),
                "{}: {err}",
                v.id
            );
        }
    }
}

#[test]
fn socotra_hmac_format_is_configurable() {
    use hookforge::auth::HmacFormat;
    let socotra = hookforge::vendor("socotra").unwrap();
    let body = socotra.events[0].samples[0].body;
    let b64: HmacFormat = "sha256:base64".parse().unwrap();
    let signer =
        Signer::for_manifest_with(socotra.manifest(), Secret::new("k"), Some(b64)).unwrap();
    let headers = to_map(signer.sign(body, &SignContext::now("x")));
    let configured =
        Verifier::for_manifest_with(socotra.manifest(), vec![Secret::new("k")], Some(b64)).unwrap();
    configured.verify(&headers, body).unwrap();
    // The documented default (hex) refuses a base64 signature as malformed,
    // naming the header and the encoding it expected.
    let default = Verifier::for_manifest(socotra.manifest(), vec![Secret::new("k")]).unwrap();
    assert_eq!(
        default.verify(&headers, body),
        Err(AuthError::MalformedHeader {
            header: "socotra-signature".into(),
            expected: "a hexadecimal HMAC of the body".into()
        })
    );
    // Formats are checked; an HMAC format for a bearer vendor is refused.
    for bad in ["md5:hex", "sha256"] {
        assert_eq!(
            bad.parse::<HmacFormat>().unwrap_err().to_string(),
            format!(
                "{bad:?} is not HASH:ENCODING (hash sha1, sha256 or sha512; encoding hex or base64)"
            )
        );
    }
    let prets = hookforge::vendor("prets").unwrap();
    let err =
        Verifier::for_manifest_with(prets.manifest(), vec![Secret::new("whsec_x")], Some(b64))
            .expect_err("an HMAC format for a bearer vendor");
    assert_eq!(
        err.to_string(),
        "prets signs with the bearer scheme, not HMAC: an HMAC format does not apply"
    );
}

/// Standard Webhooks: an empty or short key is a configuration error, and a
/// malformed entry in `webhook-signature` is skipped when another verifies
/// (as the reference libraries do).
#[test]
fn standard_webhooks_key_checks_and_malformed_entries() {
    let scheme = Scheme::StandardWebhooks {
        tolerance: std::time::Duration::from_secs(300),
    };
    for (key, why) in [
        ("whsec_", "(this one decodes to 0)"),
        ("", "(this one decodes to 0)"),
        (
            "whsec_c2hvcnQ=",
            "at least 24 bytes (this one decodes to 5)",
        ),
        ("whsec_not base64!", "`whsec_` followed by base64"),
    ] {
        let err = Verifier::new(scheme.clone(), vec![Secret::new(key)]).unwrap_err();
        assert!(err.to_string().contains(why), "{key:?}: {err}");
        let signer_err = Signer::new(scheme.clone(), Secret::new(key)).err();
        assert_eq!(signer_err, Some(err), "{key:?}");
    }
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = br#"{"test": 2432232314}"#;
    let verifier = Verifier::new(scheme.clone(), vec![Secret::new(secret)]).unwrap();
    let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1614265330);
    let headers = |sig: &str| {
        let mut h = HeaderMap::new();
        h.insert(
            "webhook-id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap(),
        );
        h.insert("webhook-timestamp", "1614265330".parse().unwrap());
        h.insert("webhook-signature", sig.parse().unwrap());
        h
    };
    for sig in [
        good.to_string(),
        format!("v1,%%%notbase64 {good}"),
        format!("garbage {good}"),
        format!("v1a,abc {good} v2,xyz"),
    ] {
        verifier
            .verify_at(&headers(&sig), body, at)
            .unwrap_or_else(|e| panic!("{sig}: {e}"));
    }
    // Nothing verifiable at all: named as malformed; a wrong one as wrong.
    let err = verifier
        .verify_at(&headers("v1,%%% garbage"), body, at)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("malformed header `webhook-signature`"),
        "{err}"
    );
    let err = verifier
        .verify_at(
            &headers("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            body,
            at,
        )
        .unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

/// Secrets for a scheme that checks nothing, and a verifier given together
/// with secrets, are configuration errors, not silent no-ops.
#[test]
fn contradictory_auth_configuration_is_refused() {
    let err = Verifier::new(Scheme::None, vec![Secret::new("s3cret-value")]).unwrap_err();
    assert!(err.to_string().contains("checks nothing"), "{err}");
    assert!(!err.to_string().contains("s3cret-value"));
    let v = Verifier::new(
        Scheme::Bearer {
            header: HeaderName::from_static("authorization"),
            prefix: "Bearer ".into(),
        },
        vec![Secret::new("one-secret")],
    )
    .unwrap();
    let err = hookforge::receive::receiver::Receiver::builder(&hookforge::vendors::prets::VENDOR)
        .verifier(v)
        .secret("another-secret")
        .inbox(hookforge::receive::inbox::Inbox::new(std::sync::Arc::new(
            hookforge::receive::store::MemoryStore::new(),
        )))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("both a verifier and secrets"),
        "{err}"
    );
    assert!(!err.to_string().contains("another-secret"));
}
