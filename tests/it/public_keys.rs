//! Public-key signatures in the auth template language: Ed25519 (Discord,
//! Standard Webhooks `v1a`), ECDSA P-256 (SendGrid) and RSA-SHA256. Keys are
//! generated here; RFC 8032's first test vector checks Ed25519 against a
//! published value; the SDKs' own vectors are in `sdk_vectors`.

use hookforge::auth::{AuthError, Secret, SignContext, Signer, Verifier, generate_key_pair};
use hookforge::manifest::SignatureAlgorithm;
use hookforge::{HeaderMap, Manifest};
use serde_json::{Value, json};

fn manifest(auth: Value) -> Manifest {
    let m = json!({
        "id": "acme", "name": "Acme",
        "event_type": {"pointer": "/type"},
        "auth": auth,
        "success": {"statuses": ["2xx"]},
    });
    Manifest::from_json(&m.to_string()).unwrap()
}

fn to_map(pairs: &[(http::HeaderName, http::HeaderValue)]) -> HeaderMap {
    pairs.iter().cloned().collect()
}

/// Discord's scheme: Ed25519 over timestamp + body, hex, in two headers.
fn discord_like(algorithm: &str, key: &str, encoding: &str) -> Manifest {
    manifest(json!({
        "scheme": "signature", "algorithm": algorithm, "key": key,
        "header": "X-Signature", "encoding": encoding,
        "signed": "{timestamp}{body}", "timestamp_header": "X-Signature-Timestamp",
    }))
}

#[test]
fn each_algorithm_signs_and_verifies_and_refuses_tampering_and_other_keys() {
    let cases = [
        ("ed25519", SignatureAlgorithm::Ed25519, "hex"),
        (
            "ecdsa-p256-sha256",
            SignatureAlgorithm::EcdsaP256Sha256,
            "base64",
        ),
        (
            "ecdsa-p256-sha256-fixed",
            SignatureAlgorithm::EcdsaP256Sha256Fixed,
            "base64",
        ),
        ("rsa-sha256", SignatureAlgorithm::RsaSha256, "base64"),
    ];
    for (name, alg, encoding) in cases {
        let m = discord_like(name, "pem", encoding);
        let pair = generate_key_pair(alg).unwrap();
        let other = generate_key_pair(alg).unwrap();
        let signer = Signer::for_manifest(&m, pair.private_pem.clone()).unwrap();
        let verifier = Verifier::for_manifest(&m, vec![Secret::new(&pair.public_pem)]).unwrap();
        let body = br#"{"type":"ping","n":1}"#;
        let headers = to_map(&signer.sign(body, &SignContext::now("x")));
        verifier
            .verify(&headers, body)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // One byte changed in the body.
        let err = verifier
            .verify(&headers, br#"{"type":"ping","n":2}"#)
            .unwrap_err();
        assert!(
            matches!(err, AuthError::WrongSignature { .. }),
            "{name}: {err}"
        );
        // Signed by another key of the same kind.
        let forged = Signer::for_manifest(&m, other.private_pem).unwrap();
        let forged = to_map(&forged.sign(body, &SignContext::now("x")));
        assert!(verifier.verify(&forged, body).is_err(), "{name}");
        // Key rotation: either active public key verifies.
        let both = Verifier::for_manifest(
            &m,
            vec![Secret::new(other.public_pem), Secret::new(pair.public_pem)],
        )
        .unwrap();
        both.verify(&headers, body).unwrap();
    }
}

/// RFC 8032, section 7.1, TEST 1: the empty message.
#[test]
fn ed25519_matches_rfc_8032_test_1() {
    let m = manifest(json!({
        "scheme": "signature", "algorithm": "ed25519", "key": "hex",
        "header": "X-Signature-Ed25519", "encoding": "hex",
    }));
    let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let secret = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let sig = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    let verifier = Verifier::for_manifest(&m, vec![Secret::new(public)]).unwrap();
    let mut h = HeaderMap::new();
    h.insert("x-signature-ed25519", sig.parse().unwrap());
    verifier.verify(&h, b"").unwrap();
    // The signer, from the 32-byte seed, makes the same (deterministic) signature.
    let signer = Signer::for_manifest(&m, Secret::new(secret)).unwrap();
    let signed = signer.sign(b"", &SignContext::now("x"));
    assert_eq!(signed[0].1, sig);
}

#[test]
fn manifest_and_key_errors_say_what_was_expected() {
    let bad = |auth: Value| {
        let m = json!({
            "id": "acme", "name": "Acme", "event_type": {"pointer": "/type"},
            "auth": auth, "success": {"statuses": ["2xx"]},
        });
        Manifest::from_json(&m.to_string()).unwrap_err().to_string()
    };
    let e = bad(
        json!({"scheme": "signature", "algorithm": "ed25519", "header": "X-Sig", "encoding": "hex"}),
    );
    assert!(e.contains("needs `key`: hex, base64, pem or whpk"), "{e}");
    let e = bad(
        json!({"scheme": "signature", "algorithm": "ed25519", "key": "hex", "hash": "sha256", "header": "X-Sig", "encoding": "hex"}),
    );
    assert!(e.contains("`hash` is for HMAC"), "{e}");
    let e = bad(
        json!({"scheme": "signature", "algorithm": "ed448", "key": "hex", "header": "X-Sig", "encoding": "hex"}),
    );
    assert!(e.contains("/auth") && e.contains("ed448"), "{e}");
    // A key that is not one: the error names the algorithm and the format,
    // and shows no part of the key.
    let m = discord_like("ed25519", "hex", "hex");
    let err = Verifier::for_manifest(&m, vec![Secret::new("00ff")]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not an ed25519 public key") && text.contains("`hex`"),
        "{text}"
    );
    assert!(!text.contains("00ff"), "{text}");
    // An HMAC format override does not apply to a public-key signature.
    let err = hookforge::auth::Scheme::from_manifest_with(&m, Some("sha256:hex".parse().unwrap()))
        .unwrap_err();
    assert!(err.to_string().contains("not an HMAC"), "{err}");
}

/// Twilio's scheme: HMAC-SHA1 over the URL and the form fields sorted by
/// name, base64. The expected value is Twilio's documented example.
#[test]
fn twilio_signs_the_url_and_the_sorted_form_fields() {
    let m = manifest(json!({
        "scheme": "signature", "header": "X-Twilio-Signature",
        "signed": "{url}{form_sorted}", "hash": "sha1", "encoding": "base64",
    }));
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let body = b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
    let verifier =
        Verifier::for_manifest_at(&m, vec![Secret::new("12345")], None, Some(url)).unwrap();
    let mut h = HeaderMap::new();
    h.insert(
        "x-twilio-signature",
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ=".parse().unwrap(),
    );
    verifier.verify(&h, body).unwrap();
    // Field order in the body does not matter; field values do.
    let reordered = b"To=%2B18005551212&Caller=%2B12349013030&CallSid=CA1234567890ABCDE&Digits=1234&From=%2B12349013030";
    verifier.verify(&h, reordered).unwrap();
    let changed = b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1235&From=%2B12349013030&To=%2B18005551212";
    assert!(verifier.verify(&h, changed).is_err());
}

fn hookforge() -> std::process::Command {
    let mut cmd = crate::common::hookforge_command();
    cmd.current_dir(crate::common::root())
        .env_remove("RUST_LOG");
    cmd
}

/// From the command line, as a user would: `keygen` makes the pair, `serve`
/// holds the public key, `check` signs with the private one; every case
/// passes, the wrong-key case signed by another generated key included.
/// `sign` with the public key (a mistake users make) is refused clearly.
#[test]
fn keygen_serve_and_check_a_vendor_that_signs_with_ed25519() {
    let dir = "tests/fixtures/standard_webhooks_v1a";
    let out = crate::common::succeeded(hookforge().args(["keygen", "--vendor-dir", dir, "--json"]));
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (private, public) = (
        keys["private_key"].as_str().unwrap(),
        keys["public_key"].as_str().unwrap(),
    );
    assert!(public.starts_with("whpk_"), "{public}");
    let key_file = crate::common::temp_dir("v1a").join("private.pem");
    std::fs::write(&key_file, private).unwrap();

    let mut serve = serve_vendor_dir(dir);
    serve.arg(format!("standard_webhooks_v1a={public}"));
    let text = check_passes(serve, |port, check| {
        check
            .args(["check", "--vendor-dir", dir, "--url"])
            .arg(format!(
                "http://127.0.0.1:{port}/hooks/standard_webhooks_v1a"
            ))
            .arg("--secret-file")
            .arg(&key_file);
    });
    for case in ["auth/missing", "auth/invalid", "auth/stale"] {
        assert!(text.contains(case), "{case} not run:\n{text}");
    }
    assert!(!text.contains("BEGIN PRIVATE KEY"), "{text}");

    let sign = hookforge()
        .args(["sign", "--vendor-dir", dir, "--secret", public])
        .arg(format!(
            "{dir}/samples/user.created/{}",
            first_sample(dir, "user.created")
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&sign.stderr);
    assert_eq!(sign.status.code(), Some(2), "{err}");
    assert!(
        err.contains("starts with `whsk_` (this is a `whpk_` key") && !err.contains(public),
        "{err}"
    );
}

/// Starts `serve` (its stdout names its port), runs the `check` that
/// `args` builds against it, stops it, and asserts `check` exited 0; its
/// report.
fn check_passes(
    mut serve: std::process::Command,
    args: impl FnOnce(u16, &mut std::process::Command),
) -> String {
    serve
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let (mut child, port) = crate::common::spawn_listening(serve);
    let mut check = hookforge();
    args(port, &mut check);
    let out = check.output().unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    text
}

/// `serve` for the vendor dir `dir` on an ephemeral port, `--secret` next.
fn serve_vendor_dir(dir: &str) -> std::process::Command {
    let mut serve = crate::common::serve_vendor_dir_on(dir, "127.0.0.1:0");
    serve.arg("--secret");
    serve
}

fn first_sample(dir: &str, event: &str) -> String {
    let d = crate::common::root().join(dir).join("samples").join(event);
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.remove(0)
}

/// A vendor that sends forms (Twilio), from the command line: `serve`
/// verifies the signature over the URL and the sorted fields and stores the
/// fields as JSON; `check` sends every case as a form, signed as Twilio
/// signs, and passes (the JSON-byte cases are skipped, saying why).
#[test]
fn a_form_vendor_is_served_and_checked_as_twilio_sends() {
    let dir = "tests/fixtures/twilio";
    let port = crate::common::free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/twilio");
    let db = crate::common::temp_dir("twilio").join("inbox.db");
    let mut serve = crate::common::serve_vendor_dir_on(dir, &format!("127.0.0.1:{port}"));
    serve
        .args(["--secret", "twilio=0123456789abcdef0123456789abcdef"])
        .arg("--endpoint")
        .arg(format!("twilio={url}"))
        .arg("--db")
        .arg(&db);
    let text = check_passes(serve, |_, check| {
        let secret = "0123456789abcdef0123456789abcdef";
        check.args([
            "check",
            "--vendor-dir",
            dir,
            "--secret",
            secret,
            "--url",
            &url,
        ]);
    });
    assert!(
        text.contains("sends forms (application/x-www-form-urlencoded), not JSON"),
        "{text}"
    );
    // Stored as the JSON of the fields, the sample's text intact.
    let out = crate::common::succeeded(
        hookforge()
            .args(["inbox", "--db"])
            .arg(&db)
            .args(["list", "--json"]),
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The sample's delivery (probes drop or change fields), its text intact.
    let found = rows.as_array().unwrap().iter().any(|r| {
        let out = crate::common::succeeded(
            hookforge()
                .args(["inbox", "--db"])
                .arg(&db)
                .args(["show", &r["id"].to_string()]),
        );
        String::from_utf8_lossy(&out.stdout)
            .contains("\"Body\": \"Hello from hookforge: ümlaut & co.\"")
    });
    assert!(found, "{rows:#}");
}

/// A signature kept in the body (Mailgun): HMAC-SHA256 of the timestamp and
/// token found in the body's `signature` object. The expected value was
/// computed with Python's `hmac` (not by hookforge).
#[test]
fn a_signature_in_the_body_is_read_from_its_pointers() {
    let v =
        hookforge::vendor_dir::load(&crate::common::root().join("tests/fixtures/mailgun")).unwrap();
    let m = v.manifest();
    let key = "mailgun-signing-key-0123456789ab";
    let body = |token: &str, sig: &str| {
        json!({
            "signature": {"timestamp": "1733300000", "token": token, "signature": sig},
            "event-data": {"event": "delivered", "id": "CPgfbmQMTCKtHW6uIWtuVe"}
        })
        .to_string()
    };
    let token = "f1e2d3c4b5a6978877665544332211ffeeddccbbaa99887766";
    let good = body(
        token,
        "5b9c64ac3f81cb6cb555331bdffe7cb65b819fcb24ed61707bdf5479b74d14ad",
    );
    let verifier = Verifier::for_manifest(m, vec![Secret::new(key)]).unwrap();
    let at = |s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
    let none = HeaderMap::new();
    verifier
        .verify_at(&none, good.as_bytes(), at(1_733_300_010))
        .unwrap();
    // Another token under the same signature; a stale delivery; no signature.
    let forged = body(
        "00e2d3c4b5a6978877665544332211ffeeddccbbaa99887766",
        "5b9c64ac3f81cb6cb555331bdffe7cb65b819fcb24ed61707bdf5479b74d14ad",
    );
    assert!(matches!(
        verifier.verify_at(&none, forged.as_bytes(), at(1_733_300_010)),
        Err(AuthError::WrongSignature { .. })
    ));
    let err = verifier
        .verify_at(&none, good.as_bytes(), at(1_733_309_000))
        .unwrap_err();
    assert!(matches!(err, AuthError::StaleTimestamp { .. }), "{err}");
    let err = verifier
        .verify_at(
            &none,
            br#"{"event-data": {"event": "delivered"}}"#,
            at(1_733_300_010),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("body field `/signature/signature`"),
        "{err}"
    );
    // hookforge signs the same way: a fresh token, the timestamp, the signature.
    let signer = Signer::for_manifest(m, Secret::new(key)).unwrap();
    let ctx = SignContext {
        message_id: "m1".into(),
        timestamp: 1_733_300_000,
    };
    let signed = signer.sign_body(good.as_bytes(), &ctx).unwrap();
    let doc: Value = serde_json::from_slice(&signed).unwrap();
    assert_ne!(doc["signature"]["token"], token);
    verifier
        .verify_at(&none, &signed, at(1_733_300_010))
        .unwrap();
}

/// The harness sends such a vendor's deliveries with the signature written
/// into each body; `serve` verifies them; every case passes.
#[test]
fn a_vendor_that_signs_in_the_body_is_served_and_checked() {
    let dir = "tests/fixtures/mailgun";
    let key = "mailgun-signing-key-0123456789ab";
    let mut serve = serve_vendor_dir(dir);
    serve.arg(format!("mailgun={key}"));
    check_passes(serve, |port, check| {
        check
            .args(["check", "--vendor-dir", dir, "--secret", key, "--url"])
            .arg(format!("http://127.0.0.1:{port}/hooks/mailgun"));
    });
}

/// A wrong public key given to `serve` is named as a key problem (not as a
/// short shared secret), exit 2, and nothing starts.
#[test]
fn serve_names_a_bad_public_key_as_such() {
    for (dir, id, extra) in [
        (
            "tests/fixtures/standard_webhooks_v1a",
            "standard_webhooks_v1a",
            vec![],
        ),
        (
            "tests/fixtures/pubsub",
            "pubsub",
            vec!["--endpoint", "pubsub=https://example.com/p"],
        ),
    ] {
        let out = serve_vendor_dir(dir)
            .arg(format!("{id}=abc"))
            .args(extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("key") && !err.contains("shorter than"),
            "{err}"
        );
    }
}
