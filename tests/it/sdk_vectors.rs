//! The catalogue vendors' auth against the vendors' own libraries and
//! published vectors, both directions (run in full by `scripts/sdk-vectors`,
//! which `.ci/run` runs):
//! - deliveries signed as the vendor signs them (by its SDK, or accepted by
//!   its SDK's verifier before they were written), checked in at
//!   `tests/vectors/sdk-signed.json`, and vectors the vendors publish
//!   (`tests/vectors/published/`): the vendor's catalogue manifest accepts
//!   each and refuses it with one body byte changed;
//! - deliveries hookforge signs with the same keys, written for the script,
//!   whose SDK verifiers must accept them (and refuse them tampered);
//! - every catalogue vendor that claims a proof has one here.

use std::time::{Duration, UNIX_EPOCH};

use hookforge::auth::{Secret, SignContext, Signer, Verifier};
use hookforge::{HeaderMap, Manifest};
use serde_json::{Value, json};

fn vectors() -> Vec<Value> {
    let doc: Value = serde_json::from_str(include_str!("../vectors/sdk-signed.json")).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

/// The vectors vendors publish, one file per vendor.
fn published() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/published");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

/// The vendor's catalogue manifest (a vendor not in the catalogue, such as
/// Twilio, whose samples are not public, from `tests/fixtures/<id>`), or,
/// for a vector without a vendor, a manifest around its inline `auth`.
fn manifest(v: &Value) -> Manifest {
    if let Some(id) = v["vendor"].as_str() {
        if let Some(spec) = hookforge::vendor(id) {
            return spec.manifest().clone();
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(id);
        let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap_or_else(|_| {
            panic!("vector names vendor {id}: not in the catalogue nor tests/fixtures")
        });
        return Manifest::from_json(&text).unwrap();
    }
    let m = json!({
        "id": "acme", "name": "Acme", "event_type": {"pointer": "/type"},
        "auth": v["auth"], "success": {"statuses": ["2xx"]},
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

fn headers_of(v: &Value) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for h in v["headers"].as_array().unwrap() {
        let (k, val) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
        headers.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            val.parse().unwrap(),
        );
    }
    headers
}

/// `v` verifies as signed (at its signing time: vectors are checked in)
/// and is refused with one body byte changed, or, for a JWT that does not
/// cover the body, with its claims changed.
fn accepted_then_refused_tampered(v: &Value) {
    let name = text(v, "name");
    let m = manifest(v);
    let verifier = verifier_for(&m, v);
    let headers = headers_of(v);
    let at = UNIX_EPOCH + Duration::from_secs(v["timestamp"].as_u64().unwrap_or(0) + 5);
    let body = text(v, "body");
    verifier
        .verify_at(&headers, body.as_bytes(), at)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let covers_body =
        !matches!(&m.auth, hookforge::manifest::Auth::Jwt(j) if j.body_sha256_claim.is_none());
    let (headers, body) = if covers_body {
        (headers, tampered(body))
    } else {
        let token = headers["authorization"].to_str().unwrap().to_string();
        let mut forged = HeaderMap::new();
        forged.insert("authorization", tampered_claims(&token).parse().unwrap());
        (forged, body.to_string())
    };
    let err = verifier
        .verify_at(&headers, body.as_bytes(), at)
        .unwrap_err();
    // A signature that no longer matches, or a JWT whose body hash does not.
    let text = err.to_string();
    assert!(
        text.contains("does not match") || text.contains("SHA-256 of the body"),
        "{name}: {err}"
    );
}

/// The values the signature covers that deliveries do not carry, as the
/// receiver has them (a vector's `settings`: PayPal's `webhook_id`).
fn settings_of(v: &Value) -> Vec<(String, String)> {
    let Some(settings) = v["settings"].as_object() else {
        return vec![];
    };
    settings
        .iter()
        .map(|(k, val)| (k.clone(), val.as_str().unwrap().to_string()))
        .collect()
}

/// The vector's verify key, configured; or, for a vendor whose deliveries
/// name their key's URL (AWS SNS), served as that URL's content.
fn verifier_for(m: &Manifest, v: &Value) -> Verifier {
    let name = text(v, "name");
    let key = text(v, "verify_key");
    let fetched = matches!(&m.auth, hookforge::manifest::Auth::Signature(s) if s.key_url.is_some());
    let secrets = if fetched {
        vec![]
    } else {
        vec![Secret::new(key)]
    };
    let verifier = Verifier::for_manifest_at(m, secrets, None, v["url"].as_str())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let verifier = settings_of(v)
        .into_iter()
        .fold(verifier, |x, (k, val)| x.with_setting(k, val));
    if !fetched {
        return verifier;
    }
    struct Served(std::sync::Arc<str>);
    impl hookforge::auth::remote::RemoteKeys for Served {
        fn get(&self, _url: &str) -> Option<std::sync::Arc<str>> {
            Some(self.0.clone())
        }
    }
    verifier.with_remote_keys(std::sync::Arc::new(Served(key.into())))
}

#[test]
fn deliveries_the_vendors_libraries_sign_are_accepted_and_refused_when_tampered() {
    let all = vectors();
    assert!(all.len() >= 5, "{} SDK vectors", all.len());
    for v in &all {
        accepted_then_refused_tampered(v);
    }
}

#[test]
fn vectors_the_vendors_publish_are_accepted_and_refused_when_tampered() {
    for v in published() {
        assert!(
            v["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("https://")),
            "{v}"
        );
        accepted_then_refused_tampered(&v);
    }
}

/// A catalogue vendor whose manifest says its auth was proven by an SDK or
/// a published vector has that vector here (or, for `sdk`, a receiver on
/// that SDK in `tests/receivers`, which `scripts/check-receivers` runs).
#[test]
fn every_proof_a_catalogue_vendor_claims_is_a_vector_that_is_checked() {
    use hookforge::manifest::catalogue::ProofKind;
    let sdk: Vec<String> = vectors()
        .iter()
        .map(|v| text(v, "vendor").to_string())
        .collect();
    let published: Vec<String> = published()
        .iter()
        .map(|v| text(v, "vendor").to_string())
        .collect();
    let receivers = include_str!("../receivers/receivers.txt");
    let mut claims = 0;
    for id in hookforge::vendor_dir::catalogue::ids() {
        let m = hookforge::vendor(id).unwrap().manifest();
        let Some(proof) = &m.proof else { continue };
        claims += 1;
        let has = |list: &[String]| list.iter().any(|v| v == id);
        let on_receiver = receivers
            .lines()
            .any(|l| l.split_whitespace().next() == Some(id));
        match proof.by {
            ProofKind::Sdk => assert!(
                has(&sdk) || on_receiver,
                "{id} claims an SDK proof; no vector or receiver has it"
            ),
            ProofKind::PublishedVector => assert!(
                has(&published),
                "{id} claims a published vector; tests/vectors/published has none"
            ),
            ProofKind::Documented => {}
        }
    }
    // Vectors of vendors outside the catalogue (Twilio, a fixture) prove
    // the auth family only.
    for id in sdk.iter().chain(&published) {
        let Some(v) = hookforge::vendor(id) else {
            continue;
        };
        let m = v.manifest();
        assert!(
            m.proof
                .as_ref()
                .is_some_and(|p| p.by != ProofKind::Documented),
            "{id} has a vector; its manifest does not say so"
        );
    }
    assert!(claims > 0);
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
            let m = manifest(&v);
            let signer = Signer::for_manifest_at(
                &m,
                Secret::new(text(&v, "sign_key")),
                None,
                v["url"].as_str(),
            )
            .unwrap();
            let signer = settings_of(&v)
                .into_iter()
                .fold(signer, |x, (k, val)| x.with_setting(k, val));
            // A vendor whose deliveries name their key's URL: a URL on its
            // first host (the SDK's check is given the key for it).
            let key_host = match &m.auth {
                hookforge::manifest::Auth::Signature(s) => s
                    .key_url
                    .as_ref()
                    .map(|k| k.hosts[0].replace('*', "us-west-2")),
                _ => None,
            };
            let signer = match key_host {
                Some(host) => signer.with_key_url(format!("https://{host}/hookforge.pem")),
                None => signer,
            };
            let ctx = SignContext::now("msg_sdk_vectors");
            // A signature in the body (AWS SNS) rewrites the body.
            let body = text(&v, "body").as_bytes().to_vec();
            let body = signer.sign_body(&body, &ctx).unwrap_or(body);
            let headers: Vec<Value> = signer
                .sign(&body, &ctx)
                .into_iter()
                .map(|(k, val)| json!([k.as_str(), val.to_str().unwrap()]))
                .collect();
            v["body"] = json!(String::from_utf8(body).unwrap());
            v["headers"] = Value::Array(headers);
            v["timestamp"] = json!(ctx.timestamp);
            // A scheme with versions is signed as its `algorithm`'s version.
            let version = match &m.auth {
                hookforge::manifest::Auth::Signature(s) => s.versions.as_ref().and_then(|vs| {
                    vs.of(s.algorithm)
                        .map(|x| format!(", as {} {x}", vs.pointer))
                }),
                _ => None,
            };
            v["name"] = json!(format!(
                "{} [signed by hookforge{}]",
                text(&v, "name"),
                version.unwrap_or_default()
            ));
            v
        })
        .collect();
    let doc = json!({"note": "signed by hookforge's Signer", "vectors": signed});
    std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

/// The handshake of `v` named in a vector.
fn handshake_of<'m>(m: &'m Manifest, v: &Value) -> &'m hookforge::manifest::Handshake {
    let name = text(v, "handshake");
    m.handshakes
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("{}: no handshake {name}", m.id))
}

/// Status and body the same (as JSON when both are JSON).
fn same_answer(want: &Value, status: u16, body: &str) -> bool {
    let want_body = text(want, "body");
    let json = |t: &str| serde_json::from_str::<Value>(t).ok();
    want["status"].as_u64() == Some(u64::from(status))
        && match (json(want_body), json(body)) {
            (Some(a), Some(b)) => a == b,
            _ => want_body.trim() == body.trim(),
        }
}

/// Handshakes signed as the vendor signs them (just now, by
/// `scripts/sdk-vectors`), each answered by the vendor's SDK: hookforge's
/// receiver gives the same answer (from `HOOKFORGE_SDK_HANDSHAKES`).
#[tokio::test]
#[ignore = "run by scripts/sdk-vectors, which makes the handshakes with the vendors' SDKs"]
async fn handshakes_the_vendors_libraries_answer_are_answered_the_same() {
    use tower::ServiceExt;
    let file = std::env::var("HOOKFORGE_SDK_HANDSHAKES").expect("HOOKFORGE_SDK_HANDSHAKES");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let list = doc["handshakes"].as_array().unwrap();
    assert!(list.len() >= 3, "{} handshakes", list.len());
    for v in list {
        let spec = hookforge::vendor(text(v, "vendor")).unwrap();
        let mut b = hookforge::receive::receiver::Receiver::builder(spec)
            .secret(text(v, "verify_key"))
            .inbox(hookforge::receive::inbox::Inbox::new(std::sync::Arc::new(
                hookforge::receive::store::MemoryStore::new(),
            )));
        if let Some(t) = v["token"].as_str() {
            b = b.handshake_token(t);
        }
        let r = &v["request"];
        let query = text(r, "query");
        let uri = format!(
            "/hooks/{}{}{query}",
            spec.id,
            if query.is_empty() { "" } else { "?" }
        );
        let mut req = http::Request::builder().method(text(r, "method")).uri(uri);
        for h in r["headers"].as_array().unwrap() {
            req = req.header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
        }
        let req = req
            .body(axum::body::Body::from(text(r, "body").to_string()))
            .unwrap();
        let resp = b.build().unwrap().router().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(
            same_answer(&v["answer"], status, &body),
            "{}: hookforge answered {status} {body:?}; the SDK {}",
            text(v, "name"),
            v["answer"]
        );
    }
}

/// The same handshakes as hookforge makes them (`check` and `simulate`: the
/// manifest's example, signed now), with the answer hookforge requires, for
/// `scripts/sdk-vectors` to put to the SDKs (to `HOOKFORGE_SDK_HANDSHAKES_OUT`).
#[test]
#[ignore = "run by scripts/sdk-vectors, which checks the output with the vendors' SDKs"]
fn write_hookforge_handshakes() {
    let input = std::env::var("HOOKFORGE_SDK_HANDSHAKES").expect("HOOKFORGE_SDK_HANDSHAKES");
    let out = std::env::var("HOOKFORGE_SDK_HANDSHAKES_OUT").expect("HOOKFORGE_SDK_HANDSHAKES_OUT");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(input).unwrap()).unwrap();
    let made: Vec<Value> = doc["handshakes"]
        .as_array()
        .unwrap()
        .iter()
        .map(hookforge_handshake)
        .collect();
    let doc =
        json!({"note": "made by hookforge, answers as hookforge requires", "handshakes": made});
    std::fs::write(out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

/// The handshake of `vector` as hookforge sends it, and the answer it requires.
fn hookforge_handshake(vector: &Value) -> Value {
    use hookforge::handshake::{HandshakeRequest, answer, example_request};
    let m = hookforge::vendor(text(vector, "vendor"))
        .unwrap()
        .manifest();
    let h = handshake_of(m, vector);
    let (mut query, mut headers, body) = example_request(h);
    let token = vector["token"].as_str().map(Secret::new);
    if let (Some(q), Some(t)) = (&h.token_query, &token) {
        let kept: Vec<String> = query
            .split('&')
            .filter(|p| !p.starts_with(&format!("{q}=")))
            .map(str::to_string)
            .collect();
        query = format!("{}&{q}={}", kept.join("&"), t.expose());
    }
    if h.authenticated {
        let signer = Signer::for_manifest(m, Secret::new(text(vector, "sign_key"))).unwrap();
        for (k, val) in signer.sign(&body, &SignContext::now("hs_sdk")) {
            headers.push((k.to_string(), val.to_str().unwrap().to_string()));
        }
        headers.push(("content-type".into(), "application/json".into()));
    }
    let method: http::Method = h.method.as_str().parse().unwrap();
    let mut map = HeaderMap::new();
    for (k, val) in &headers {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            val.parse().unwrap(),
        );
    }
    let req = HandshakeRequest {
        method: &method,
        query: Some(&query),
        headers: &map,
        body: &body,
    };
    let json = serde_json::from_slice::<Value>(&body).ok();
    let secret = Secret::new(text(vector, "verify_key"));
    let want = answer(h, &req, json.as_ref(), Some(&secret), token.as_ref()).unwrap();
    let mut made = vector.clone();
    made["name"] = json!(format!("{} [made by hookforge]", text(vector, "name")));
    made["request"] = json!({
        "method": h.method.as_str(), "query": query, "headers": headers,
        "body": String::from_utf8(body).unwrap(),
    });
    made["answer"] = json!({"status": want.status, "body": String::from_utf8(want.body).unwrap()});
    made
}

/// A form field repeated with the same value: Twilio's libraries count the
/// value once (twilio-python `sorted(set(values))`, twilio-node `new Set`),
/// so the signature is not the one over both copies. The signature is
/// twilio-python 9.13.0's `RequestValidator.compute_signature` for this form
/// and URL (the version `tests/receivers` pins); hookforge signed
/// `/JCBYG19nUKh7jdvEDohSF2scd0=` before it dropped the repeat.
#[test]
fn a_repeated_twilio_field_value_is_signed_once_as_the_sdks_do() {
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let v = json!({
        "vendor": "twilio_voice",
        "name": "twilio_voice: a value repeated under one name (twilio-python 9.13.0 signs)",
        "verify_key": "12345",
        "url": url,
        "content_type": "application/x-www-form-urlencoded",
        "body": "A=x&A=x&B=1",
        "headers": [["X-Twilio-Signature", "dgU3wwVKiL6AEqaaEhZeYlJqNWQ="]],
    });
    accepted_then_refused_tampered(&v);
    let m = manifest(&v);
    let signer = Signer::for_manifest_at(&m, Secret::new("12345"), None, Some(url)).unwrap();
    let signed = signer.sign(b"A=x&A=x&B=1", &SignContext::now("msg_twilio"));
    assert_eq!(signed[0].1, "dgU3wwVKiL6AEqaaEhZeYlJqNWQ=");
}
