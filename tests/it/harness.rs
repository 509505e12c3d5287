//! The harness against receivers played by wiremock: a correct one passes,
//! each seeded defect fails exactly its case; what was sent is exactly the
//! samples, with signatures that verify. Plus the sandbox, the reference
//! receiver for all five vendors, reports and exit codes.

use crate::common;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookforge::HeaderMap;
use hookforge::VendorSpec;
use hookforge::auth::{Secret, Verifier};
use hookforge::conformance::cases;
use hookforge::conformance::harness::Harness;
use hookforge::conformance::report::{Outcome, Report};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PRETS_SECRET: &str = "whsec_HarnessHarnessHarnessHarnessHarnessHarn1234";
const SO_SECRET: &str = "superoffice-harness-secret";

/// The budget the defect tests give, and how late a slow receiver answers:
/// far apart, so that a right answer on a busy 2-core machine is never late
/// and a slow one is never in time.
const BUDGET: Duration = Duration::from_secs(3);
const SLOW: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Defect {
    AcceptsBadSignatures,
    RejectsUnknownEvents,
    FailsDuplicates,
    FailsMalformed,
    SlowOn(&'static str),
    /// Answers 307 to another path.
    Redirects,
    /// Bearer: accepts any token that starts with the secret.
    PrefixAuth,
    /// Refuses top-level keys its event's schema does not declare.
    StrictFields,
    /// Refuses string values outside their schema's enum.
    StrictEnums,
    /// Refuses `null` where the schema's type does not list it.
    RejectsNull,
    /// Requires `timestamp`, which the docs make optional.
    RequiresOptional,
    /// Verifies the HMAC over a re-serialization of the parsed body.
    VerifiesReserialized,
    /// Numbers through f64, as JavaScript's `JSON.parse`: refuses an
    /// integer it cannot hold exactly rather than store it rounded.
    LosesPrecision,
}

/// Whether `v` holds an integer that f64 cannot represent exactly.
fn has_unsafe_integer(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(|u| u as f64 as u64 != u)
            .or_else(|| n.as_i64().map(|i| i as f64 as i64 != i))
            .unwrap_or(false),
        serde_json::Value::Array(a) => a.iter().any(has_unsafe_integer),
        serde_json::Value::Object(o) => o.values().any(has_unsafe_integer),
        _ => false,
    }
}

/// The errors the strict draft-07 schema of the delivery's event reports.
fn strict_errors(vendor: &VendorSpec, body: &[u8], headers: &HeaderMap) -> Vec<String> {
    let (Ok(env), Ok(doc)) = (
        vendor.read_envelope(body, headers),
        serde_json::from_slice::<serde_json::Value>(body),
    ) else {
        return Vec::new();
    };
    let Some(info) = vendor.event(&env.event_type) else {
        return Vec::new();
    };
    let schema = vendor.bundled_schema(info);
    let validator = jsonschema::draft7::new(&schema).unwrap();
    validator
        .iter_errors(&doc)
        .map(|e| format!("{:?}", e.kind()))
        .collect()
}

/// A receiver simulated by wiremock: right by default, wrong in one way.
struct Sim {
    vendor: &'static VendorSpec,
    secret: String,
    verifier: Verifier,
    defect: Option<Defect>,
    seen: Mutex<HashSet<String>>,
}

fn headers_of(req: &Request) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in req.headers.iter() {
        h.append(k.clone(), v.clone());
    }
    h
}

impl Respond for Sim {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let headers = headers_of(req);
        if self.defect == Some(Defect::Redirects) {
            return ResponseTemplate::new(307).insert_header("location", "/hooks/elsewhere");
        }
        let auth_ok = match self.defect {
            Some(Defect::PrefixAuth) => headers
                .get("authorization")
                .and_then(|h| h.to_str().ok())
                .is_some_and(|h| h.starts_with(&format!("Bearer {}", self.secret))),
            Some(Defect::VerifiesReserialized) => {
                let canonical = serde_json::from_slice::<serde_json::Value>(&req.body)
                    .map(|v| serde_json::to_vec(&v).unwrap())
                    .unwrap_or_else(|_| req.body.clone());
                self.verifier.verify(&headers, &canonical).is_ok()
            }
            // Only checks that some credential is there.
            Some(Defect::AcceptsBadSignatures) => {
                matches!(
                    self.verifier.verify(&headers, &req.body),
                    Ok(()) | Err(hookforge::auth::AuthError::WrongSignature { .. })
                )
            }
            _ => self.verifier.verify(&headers, &req.body).is_ok(),
        };
        if !auth_ok {
            return ResponseTemplate::new(401);
        }
        let envelope = match self.vendor.read_envelope(&req.body, &headers) {
            Ok(e) => e,
            Err(_) if self.defect == Some(Defect::FailsMalformed) => {
                return ResponseTemplate::new(500);
            }
            Err(_) => return ResponseTemplate::new(400),
        };
        if self.vendor.event(&envelope.event_type).is_none()
            && self.defect == Some(Defect::RejectsUnknownEvents)
        {
            return ResponseTemplate::new(400);
        }
        let doc: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let strict = || strict_errors(self.vendor, &req.body, &headers);
        let refuse = match self.defect {
            Some(Defect::StrictFields) => {
                self.vendor.event(&envelope.event_type).is_some_and(|info| {
                    let schema = self.vendor.bundled_schema(info);
                    doc.as_object()
                        .is_some_and(|o| o.keys().any(|k| schema["properties"].get(k).is_none()))
                })
            }
            Some(Defect::StrictEnums) => strict().iter().any(|e| e.starts_with("Enum")),
            Some(Defect::RejectsNull) => strict().iter().any(|e| e.starts_with("Type")),
            Some(Defect::RequiresOptional) => doc.get("timestamp").is_none(),
            Some(Defect::LosesPrecision) => has_unsafe_integer(&doc),
            _ => false,
        };
        if refuse {
            return ResponseTemplate::new(422);
        }
        let key = hookforge::dedupe_key(envelope.event_id.as_deref(), &req.body);
        let first = self.seen.lock().unwrap().insert(key);
        if !first && self.defect == Some(Defect::FailsDuplicates) {
            return ResponseTemplate::new(500);
        }
        let ok = ResponseTemplate::new(200).set_body_string("{\"status\":\"accepted\"}");
        match self.defect {
            Some(Defect::SlowOn(event)) if envelope.event_type == event => ok.set_delay(SLOW),
            _ => ok,
        }
    }
}

async fn sim(vendor: &'static VendorSpec, secret: &str, defect: Option<Defect>) -> MockServer {
    sim_verifying(vendor, secret, vec![Secret::new(secret)], defect).await
}

/// [`sim`] whose verifier holds `secrets` (none: no credential configured).
async fn sim_verifying(
    vendor: &'static VendorSpec,
    secret: &str,
    secrets: Vec<Secret>,
    defect: Option<Defect>,
) -> MockServer {
    let server = MockServer::start().await;
    let verifier = Verifier::for_manifest(vendor.manifest(), secrets).unwrap();
    Mock::given(method("POST"))
        .respond_with(Sim {
            vendor,
            secret: secret.to_string(),
            verifier,
            defect,
            seen: Mutex::new(HashSet::new()),
        })
        .mount(&server)
        .await;
    server
}

/// [`sim`] of Prets with `defect`, started on `rt` (for the CLI tests).
fn prets_sim_on(rt: &tokio::runtime::Runtime, defect: Option<Defect>) -> MockServer {
    rt.block_on(sim(
        &hookforge::vendors::prets::VENDOR,
        PRETS_SECRET,
        defect,
    ))
}

/// A harness run against `vendor`'s endpoint on `server` with the defect
/// tests' budget.
async fn run_with_budget(vendor: &'static VendorSpec, server: &MockServer, secret: &str) -> Report {
    Harness::new(vendor, format!("{}/hooks/{}", server.uri(), vendor.id))
        .secret(secret)
        .timeout(BUDGET)
        .run()
        .await
        .unwrap()
}

/// `hookforge <command> --vendor <vendor> --url <url> --secret <secret>`,
/// for the caller to add flags to and run.
fn hookforge_against(
    command: &str,
    vendor: &str,
    url: &str,
    secret: &str,
) -> std::process::Command {
    let mut cmd = common::hookforge_command();
    cmd.args([
        command, "--vendor", vendor, "--url", url, "--secret", secret,
    ]);
    cmd
}

/// Runs `cmd` off the async runtime (it may call back into a server the
/// test serves on it); its output.
async fn output_of(mut cmd: std::process::Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// Serves `app` on a free loopback port; the URL of `vendor`'s route there.
async fn serve_app(app: axum::Router, vendor: &str) -> String {
    let url = format!(
        "http://{}/hooks/{vendor}",
        crate::common::serve_app(app).await
    );
    url
}

/// Vendors none of whose samples has a value where its schema has a string
/// enum (besides the event type): their `drift/unknown-enum` case is skipped.
const NO_ENUM_SAMPLE: &[&str] = &[
    "collateralxp",
    "socotra",
    "superoffice",
    "github",
    "shopify",
    "slack",
    "standard_webhooks",
    "stripe",
];

/// The cases besides the samples a run against `v` has, and how many of
/// them are skipped, when a secret is configured: auth missing and invalid,
/// prefix for static credentials, stale for timestamped schemes (future
/// where the vendor refuses that too), other-label for labelled signatures,
/// truncated for signatures in a header, retry/first-lost where retries
/// are marked,
/// refused-then-valid where deliveries carry an id, unknown event,
/// headers/case, duplicate, duplicate/concurrent, malformed, four drift and five byte
/// probes, budget.
fn negative_cases(vendor: &VendorSpec) -> (usize, usize) {
    use hookforge::manifest::Auth;
    let prefix = match vendor.manifest().auth {
        Auth::Bearer { .. } | Auth::None { .. } => 1,
        Auth::Signature(ref s) if s.is_static() => 1,
        _ => 0,
    };
    // A replay outside the window, for schemes with one.
    let scheme = hookforge::auth::Scheme::from_manifest(vendor.manifest()).ok();
    let stale = scheme.as_ref().and_then(|s| s.tolerance()).is_some() as usize;
    let future = scheme.as_ref().is_some_and(|s| s.refuses_future()) as usize;
    let label = (scheme.as_ref())
        .and_then(|s| s.signature())
        .is_some_and(|s| s.signature_label().is_some()) as usize;
    let truncated = (scheme.as_ref())
        .and_then(|s| s.signature())
        .is_some_and(|s| s.signs_in_header()) as usize;
    let refused_then_valid = vendor.manifest().event_id.is_some() as usize;
    // A handler made to fail, then the retry: skipped, since these runs
    // have no observer to fail it.
    let after_failure = vendor.manifest().event_id.is_some() as usize;
    // A signature made with another secret first, where the vendor sends one
    // per active secret.
    let rotation = (label == 1 && vendor.manifest().auth.sends_several_signatures()) as usize;
    // A retry alone, where retries are marked (headers, per-attempt fields).
    let manifest = vendor.manifest();
    let retry_marked = manifest
        .headers
        .iter()
        .any(|h| h.only_when.as_deref() == Some("retry"))
        || manifest
            .delivery
            .as_ref()
            .is_some_and(|d| !d.per_attempt.is_empty());
    // A batch of several events, for vendors that batch.
    let batch = manifest
        .event_type
        .pointer
        .as_deref()
        .is_some_and(|p| p.contains("/0/"))
        || (vendor.events.iter().flat_map(|e| e.samples).next())
            .is_some_and(|sample| sample.body.trim_ascii_start().starts_with(b"["));
    // One case per handshake the manifest describes.
    let handshakes = vendor.manifest().handshakes.len();
    (
        2 + prefix
            + stale
            + future
            + label
            + truncated
            + refused_then_valid
            + after_failure
            + rotation
            + retry_marked as usize
            + batch as usize
            + 5
            + 4
            + 5
            + 1
            + handshakes,
        usize::from(NO_ENUM_SAMPLE.contains(&vendor.id)) + after_failure,
    )
}

fn samples_of(v: &VendorSpec) -> usize {
    v.events.iter().map(|e| e.samples.len()).sum()
}

/// The ids of the failed cases in a `--report-json` file.
fn failed_in_json(path: &std::path::Path) -> BTreeSet<String> {
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "fail")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn failed_ids(r: &Report) -> BTreeSet<String> {
    r.cases
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.id.clone())
        .collect()
}

#[tokio::test]
async fn a_correct_receiver_passes_and_receives_exactly_the_samples() {
    for (vendor, secret) in [
        (&hookforge::vendors::prets::VENDOR, PRETS_SECRET),
        (&hookforge::vendors::superoffice::VENDOR, SO_SECRET),
    ] {
        let server = sim(vendor, secret, None).await;
        let url = format!("{}/hooks/{}", server.uri(), vendor.id);
        let report = Harness::new(vendor, url)
            .secret(secret)
            .run()
            .await
            .unwrap();
        assert_eq!(report.failed, 0, "{}", report.table());
        let (negative, skipped) = negative_cases(vendor);
        assert_eq!(report.skipped, skipped, "{}", report.table());
        assert_eq!(report.cases.len(), samples_of(vendor) + negative);

        // What wiremock recorded: every sample, byte for byte, with the
        // documented headers and a signature that verifies.
        let received = server.received_requests().await.unwrap();
        let verifier =
            Verifier::for_manifest(vendor.manifest(), vec![Secret::new(secret)]).unwrap();
        for e in vendor.events {
            for s in e.samples {
                let req = received
                    .iter()
                    .find(|r| r.body == s.body)
                    .unwrap_or_else(|| panic!("{} was not sent byte for byte", s.path));
                let h = headers_of(req);
                verifier
                    .verify(&h, &req.body)
                    .unwrap_or_else(|err| panic!("{}: {err}", s.path));
                for spec in &vendor.manifest().headers {
                    let conditional = spec.only_when.as_deref().is_some_and(|c| c != "secret");
                    if !conditional {
                        assert!(
                            h.contains_key(spec.name.as_str()),
                            "{}: header {} missing",
                            s.path,
                            spec.name
                        );
                    }
                }
                if vendor.id == "superoffice" {
                    assert_eq!(h["x-superoffice-event"], e.name);
                    assert_eq!(
                        h.contains_key("x-hook-test"),
                        e.name == "test",
                        "{}",
                        s.path
                    );
                }
            }
        }
    }
}

/// Each seeded defect and the cases it must fail (and no other); `slow` is
/// the event the slow defect delays.
fn seeded_defects(slow: &'static str) -> Vec<(Defect, BTreeSet<String>)> {
    let slow_cases = [
        format!("prets/{slow}/doc-1"),
        format!("prets/{slow}/doc-2"),
        // Two of 16 replays too slow: the p99 reaches the budget.
        "prets/budget".to_string(),
    ];
    let table: [(Defect, &[&str]); 10] = [
        (
            Defect::AcceptsBadSignatures,
            &[
                "prets/auth/invalid",
                "prets/auth/prefix",
                "prets/auth/refused-then-valid",
            ],
        ),
        (Defect::RejectsUnknownEvents, &["prets/unknown-event"]),
        (Defect::FailsDuplicates, &["prets/duplicate"]),
        (Defect::FailsMalformed, &["prets/malformed"]),
        (Defect::PrefixAuth, &["prets/auth/prefix"]),
        // The numbers probe adds a field too, so a strict model fails it.
        (
            Defect::StrictFields,
            &[
                "prets/drift/extra-field",
                "prets/bytes/numbers",
                "prets/bytes/utf8",
            ],
        ),
        (Defect::StrictEnums, &["prets/drift/unknown-enum"]),
        (Defect::RejectsNull, &["prets/drift/null-optional"]),
        (Defect::RequiresOptional, &["prets/drift/missing-optional"]),
        (Defect::LosesPrecision, &["prets/bytes/numbers"]),
    ];
    let mut out: Vec<(Defect, BTreeSet<String>)> = table
        .into_iter()
        .map(|(d, ids)| (d, ids.iter().map(|s| s.to_string()).collect()))
        .collect();
    out.push((Defect::SlowOn(slow), slow_cases.into_iter().collect()));
    out
}

#[tokio::test]
async fn each_seeded_defect_fails_exactly_its_case() {
    let prets = &hookforge::vendors::prets::VENDOR;
    let expectations = seeded_defects("quote.financing.completed");
    for (defect, want) in expectations {
        let server = sim(prets, PRETS_SECRET, Some(defect)).await;
        let report = run_with_budget(prets, &server, PRETS_SECRET).await;
        assert_eq!(failed_ids(&report), want, "{defect:?}:\n{}", report.table());
        for c in report
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Fail && c.id != "prets/budget")
        {
            // The detail says what was sent and what came back, without secrets.
            assert!(c.detail.contains("sent "), "{}", c.detail);
            assert!(!c.detail.contains(PRETS_SECRET), "{}", c.detail);
            if let Defect::SlowOn(_) = defect {
                assert!(
                    c.detail.contains("no answer within the 3.0 s budget"),
                    "{}",
                    c.detail
                );
            }
        }
    }
}

/// A receiver behind a redirect loses every delivery; one that verifies a
/// re-serialization of the body fails the byte-fidelity probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_reserializing_verifiers_are_caught() {
    check_redirects_are_caught().await;
    check_reserializing_verifiers_are_caught().await;
}

/// Against a receiver that answers 307, every case fails but the budget's,
/// nothing follows the redirect, and the CLI says the same.
async fn check_redirects_are_caught() {
    let prets = &hookforge::vendors::prets::VENDOR;
    let server = sim(prets, PRETS_SECRET, Some(Defect::Redirects)).await;
    let report = run_with_budget(prets, &server, PRETS_SECRET).await;
    // Every case fails but the budget's (a 307 is quick), and
    // retry/after-failure's, skipped without --observe.
    assert_eq!(report.failed, report.cases.len() - 2, "{}", report.table());
    let sent = (report.cases.iter()).filter(|c| c.outcome != Outcome::Skip);
    for c in sent.filter(|c| c.id != "prets/budget") {
        assert_eq!(c.status, Some(307), "{}", c.id);
        assert!(
            c.detail
                .contains("answered 307 redirecting to /hooks/elsewhere")
                && c.detail.contains("vendors do not follow redirects"),
            "{}",
            c.detail
        );
    }
    // Nothing followed the redirect.
    let elsewhere = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/hooks/elsewhere")
        .count();
    assert_eq!(elsewhere, 0);

    // The CLI says the same and exits 1.
    let url = format!("{}/hooks/prets", server.uri());
    let out = output_of(hookforge_against("check", "prets", &url, PRETS_SECRET)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "prets: 1 passed, {} failed, 1 skipped",
            report.cases.len() - 2
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("vendors do not follow redirects"),
        "{stdout}"
    );
}

/// Against a receiver that verifies a re-serialization of the body,
/// exactly the cases [`reserializer_failures`] names fail, in the harness
/// and through the CLI.
async fn check_reserializing_verifiers_are_caught() {
    let so = &hookforge::vendors::superoffice::VENDOR;
    let server = sim(so, SO_SECRET, Some(Defect::VerifiesReserialized)).await;
    let report = run_with_budget(so, &server, SO_SECRET).await;
    let failed = failed_ids(&report);
    assert_eq!(
        failed,
        reserializer_failures(so, &report),
        "{}",
        report.table()
    );
    eprintln!(
        "re-serializing verifier: {} of {} cases failed ({} sample replays of {})",
        failed.len(),
        report.cases.len(),
        failed.len() - 4,
        so.events.iter().map(|e| e.samples.len()).sum::<usize>()
    );
    // Through the CLI: exit 1, the same probes failed in the JSON report.
    let url = format!("{}/hooks/superoffice", server.uri());
    let json = std::env::temp_dir().join(format!("hookforge-reser-{}.json", std::process::id()));
    let (out, json) = tokio::task::spawn_blocking(move || {
        let out = hookforge_against("check", "superoffice", &url, SO_SECRET)
            .arg("--report-json")
            .arg(&json)
            .output()
            .unwrap();
        (out, json)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let cli_failed = failed_in_json(&json);
    std::fs::remove_file(&json).unwrap();
    assert_eq!(cli_failed, failed);
}

/// The cases of `report` (a run against `so`) a re-serializing verifier
/// must fail: the four byte probes, and every sample replay whose
/// documented bytes are not what a re-serializer would produce (a vendor
/// sending those bytes loses the delivery at such a receiver). Every other
/// case (the negative cases' bodies are serialized by serde_json) passes.
fn reserializer_failures(so: &VendorSpec, report: &Report) -> BTreeSet<String> {
    let reserialized = |b: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(b)
            .map(|v| serde_json::to_vec(&v).unwrap())
            .ok()
    };
    // The numbers probe puts 2^53 + 1 in a documented integer field of a
    // compact body, which serde_json writes back byte for byte; only an
    // added field with `1.0` and `1e2` (for a vendor without one) would not.
    let numbers_in_added_field = report
        .cases
        .iter()
        .any(|c| c.id == "superoffice/bytes/numbers" && c.detail.contains("added field"));
    let mut expected: BTreeSet<String> = ["whitespace", "key-order", "unicode-escapes"]
        .iter()
        .chain(numbers_in_added_field.then_some(&"numbers"))
        .map(|k| format!("superoffice/bytes/{k}"))
        .collect();
    for e in so.events {
        for s in e.samples {
            if reserialized(s.body).as_deref() != Some(s.body) {
                expected.insert(format!("superoffice/{}/{}", e.name, s.name));
            }
        }
    }
    expected
}

#[test]
fn the_cli_exits_1_on_a_defect_and_writes_json_and_junit_reports() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let prets = &hookforge::vendors::prets::VENDOR;
    let prets_cases = samples_of(prets) + negative_cases(prets).0;
    let server = prets_sim_on(&rt, Some(Defect::FailsDuplicates));
    let dir = std::env::temp_dir().join(format!("hookforge-harness-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, junit) = (dir.join("report.json"), dir.join("junit.xml"));
    let url = format!("{}/hooks/prets", server.uri());
    let out = hookforge_against("check", "prets", &url, PRETS_SECRET)
        .arg("--report-json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("FAIL  prets/duplicate"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "prets: {} passed, 1 failed, 1 skipped",
            prets_cases - 2
        )),
        "{stdout}"
    );
    assert!(!stdout.contains(PRETS_SECRET));

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        (
            report["passed"].as_u64(),
            report["failed"].as_u64(),
            report["skipped"].as_u64()
        ),
        // Skipped: retry/after-failure, which needs --observe.
        (Some(prets_cases as u64 - 2), Some(1), Some(1))
    );
    let cases = report["cases"].as_array().unwrap();
    for c in cases {
        for key in ["id", "outcome", "detail", "status", "latency_ms"] {
            assert!(c.get(key).is_some(), "{key} missing in {c}");
        }
    }
    let dup = cases.iter().find(|c| c["id"] == "prets/duplicate").unwrap();
    assert_eq!(
        (dup["outcome"].as_str(), dup["status"].as_u64()),
        (Some("fail"), Some(500))
    );

    // The JUnit file is well-formed XML with one testcase per case and one failure.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(junit_counts(&xml), (prets_cases, 1, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `testcase` and `failure` elements of a JUnit report, and the depth
/// its elements end at (0 when every one is closed); panics on bad XML.
fn junit_counts(xml: &str) -> (usize, usize, i32) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut testcases, mut failures, mut depth) = (0, 0, 0i32);
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("invalid XML at {}: {e}\n{xml}", reader.buffer_position()))
        {
            quick_xml::events::Event::Start(e) => {
                depth += 1;
                testcases += usize::from(AsRef::<str>::as_ref(&e.name()) == "testcase");
                failures += usize::from(AsRef::<str>::as_ref(&e.name()) == "failure");
            }
            quick_xml::events::Event::Empty(e) => {
                testcases += usize::from(AsRef::<str>::as_ref(&e.name()) == "testcase")
            }
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    (testcases, failures, depth)
}

#[test]
fn unreachable_targets_and_bad_arguments_exit_2() {
    // A port bound (so nothing else can take it) but not listening:
    // connections to it are refused for as long as `held` lives.
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = held.local_addr().unwrap().port();
    let refused = format!("http://127.0.0.1:{port}/hooks/prets");
    for args in [
        vec!["check", "--vendor", "prets", "--url", &refused],
        vec!["check", "--vendor", "prets", "--url", "not a url"],
        vec!["check", "--vendor", "prets"],
        crate::common::load_prets_args("http://127.0.0.1:1/x", "0", "1"),
        crate::common::load_prets_args("http://127.0.0.1:1/x", "1e9", "1e9"),
        // Not an HTTP URL: a usage error, not ten failed deliveries.
        crate::common::load_prets_args("notaurl", "10", "1"),
        crate::common::load_prets_args("ftp://127.0.0.1/x", "10", "1"),
    ] {
        usage_error(&args);
    }
}

/// Runs `hookforge ARGS`, asserts it exits 2, and returns what it said.
fn usage_error(args: &[&str]) -> String {
    let out = common::hookforge_command().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    stderr
}

#[tokio::test]
async fn filters_select_cases_and_auth_is_skipped_for_vendors_without_it() {
    let cxp = &hookforge::vendors::collateralxp::VENDOR;
    let server = sim(cxp, "unused", None).await;
    // No secret configured: the simulated receiver accepts anything.
    let server2 = sim_verifying(cxp, "", Vec::new(), None).await;
    drop(server);
    let report = Harness::new(cxp, format!("{}/hooks/collateralxp", server2.uri()))
        .filter("collateralxp/auth/*")
        .run()
        .await
        .unwrap();
    assert_eq!(report.cases.len(), 3);
    assert!(report.cases.iter().all(|c| c.outcome == Outcome::Skip && c.detail.contains("documents no authentication")));
    // Given twice, a case matching either is kept: the budget, judged from
    // the one sample replay kept with it (how check-receivers runs slow-ack).
    let sample = cases::sample_id(cxp.id, cxp.events[0].name, cxp.events[0].samples[0].name);
    let report = Harness::new(cxp, format!("{}/hooks/collateralxp", server2.uri()))
        .filter(sample.clone())
        .filter("collateralxp/budget")
        .run()
        .await
        .unwrap();
    let ids: Vec<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [sample.as_str(), "collateralxp/budget"],
        "{}",
        report.table()
    );
}

/// A Prets receiver that fetches the quote each event names, from `api`.
async fn fetching_receiver(api: Option<String>) -> String {
    use axum::routing::post;
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/hooks/prets",
        post(move |body: axum::body::Bytes| {
            let (client, api) = (client.clone(), api.clone());
            async move {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if let (Some(api), Some(id)) =
                    (api, v.pointer("/data/quoteId").and_then(|q| q.as_str()))
                {
                    let _ = client
                        .get(format!("{api}/v1/quotes/{id}"))
                        .header("authorization", "Bearer sk_sandbox_api_key")
                        .send()
                        .await;
                }
                "ok"
            }
        }),
    );
    let addr = crate::common::serve_app(app).await;
    format!("http://{addr}/hooks/prets")
}

#[tokio::test]
async fn the_sandbox_reports_the_quote_fetch_when_made_and_its_absence_when_not() {
    let prets = &hookforge::vendors::prets::VENDOR;
    for fetches in [true, false] {
        let sandbox = hookforge::conformance::sandbox::Sandbox::start().await;
        let url = fetching_receiver(fetches.then(|| sandbox.uri())).await;
        let report = Harness::new(prets, url)
            .filter("prets/quote.created/*")
            .sandbox(sandbox)
            .run()
            .await
            .unwrap();
        let sb = report.sandbox.clone().expect("a sandbox report");
        assert_eq!(sb.expected.len(), 2, "{}", report.table());
        for e in &sb.expected {
            assert!(e.call.starts_with("GET /v1/quotes/quo_"), "{e:?}");
            assert_eq!(e.made, fetches, "{}", report.table());
        }
        if fetches {
            assert_eq!(sb.calls.len(), 2);
            assert!(
                sb.calls.iter().all(|c| c.auth == "Bearer (redacted)"),
                "{:?}",
                sb.calls
            );
            assert!(!report.table().contains("sk_sandbox_api_key"));
        } else {
            assert!(sb.calls.is_empty());
        }
    }
}

#[tokio::test]
async fn the_sandbox_points_document_links_at_itself() {
    let sandbox = hookforge::conformance::sandbox::Sandbox::start().await;
    let cowbell = &hookforge::vendors::cowbell::VENDOR;
    let info = cowbell.event("policy.non-renewal.document").unwrap();
    let body = sandbox.rewrite(info.samples[0].body);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let link = v["data"]["documentUrl"].as_str().unwrap();
    assert!(link.starts_with(&sandbox.uri()), "{link}");
    let pdf = reqwest::get(link).await.unwrap();
    assert_eq!(pdf.status(), 200);
}

#[tokio::test]
async fn the_reference_receiver_passes_for_all_five_vendors() {
    let mut cfg = hookforge::receive::serve::ServeConfig::new(([127, 0, 0, 1], 0).into());
    let secrets = [
        ("prets", PRETS_SECRET),
        ("superoffice", SO_SECRET),
        ("socotra", "socotra-harness-secret"),
        // Vendors without documented auth: the shared-secret header.
        ("collateralxp", "cxp-harness-shared-secret"),
        ("cowbell", "cowbell-harness-shared-secret"),
    ];
    for (v, s) in secrets {
        cfg.secrets.insert(v.to_string(), vec![Secret::new(s)]);
    }
    // The compiled five (other tests in this binary load shipped vendor
    // dirs, which registers them).
    cfg.vendors = hookforge::vendors::ALL.to_vec();
    let server = hookforge::receive::serve::start(cfg).await.unwrap();
    let mut total = 0;
    for v in hookforge::vendors::ALL.iter().copied() {
        let mut h =
            Harness::new(v, format!("http://{}/hooks/{}", server.addr, v.id)).concurrency(8);
        if let Some((_, s)) = secrets.iter().find(|(id, _)| *id == v.id) {
            h = h.secret(*s);
        }
        let r = h.run().await.unwrap();
        assert_eq!(r.failed, 0, "{}", r.table());
        total += r.passed;
    }
    assert!(total > 200, "{total}");
}

#[tokio::test]
async fn a_receiver_router_can_be_checked_in_process() {
    use hookforge::receive::inbox::Inbox;
    use hookforge::receive::store::MemoryStore;
    let inbox = Inbox::new(Arc::new(MemoryStore::new()));
    let router =
        hookforge::receive::receiver::Receiver::builder(&hookforge::vendors::superoffice::VENDOR)
            .secret(SO_SECRET)
            .inbox(inbox)
            .build()
            .unwrap()
            .router();
    let report = Harness::for_router(
        &hookforge::vendors::superoffice::VENDOR,
        router,
        "/hooks/superoffice",
    )
    .unwrap()
    .secret(SO_SECRET)
    .run()
    .await
    .unwrap();
    assert_eq!(report.failed, 0, "{}", report.table());
    let so = &hookforge::vendors::superoffice::VENDOR;
    let (negative, skipped) = negative_cases(so);
    assert_eq!(
        (report.passed, report.skipped),
        (samples_of(so) + negative - skipped, skipped)
    );
}

#[test]
fn the_cli_fails_exactly_the_defect_case_with_exit_1() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let expectations = seeded_defects("quote.financing.rejected");
    let dir =
        std::env::temp_dir().join(format!("hookforge-harness-defects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (defect, want) in expectations {
        let server = prets_sim_on(&rt, Some(defect));
        let json = dir.join("r.json");
        let url = format!("{}/hooks/prets", server.uri());
        let out = hookforge_against("check", "prets", &url, PRETS_SECRET)
            .args(["--timeout", "3"])
            .arg("--report-json")
            .arg(&json)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{defect:?}: {stdout}");
        assert_eq!(failed_in_json(&json), want, "{defect:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_demo_runs_everything_and_exits_0() {
    let out = common::hookforge_command().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    for v in ["collateralxp", "cowbell", "prets", "socotra", "superoffice"] {
        assert!(
            stdout.contains(&format!("{v:<18}")),
            "{v} missing:\n{stdout}"
        );
    }
    // Every sample of every vendor plus its negative cases (the demo gives
    // even unsigned vendors a shared secret, so no auth case is skipped).
    let (mut passed, mut skipped) = (0, 0);
    // The demo serves the shipped vendor dirs too.
    for id in hookforge::vendor_dir::catalogue::ids() {
        assert!(hookforge::vendor(id).is_some(), "{id}");
        assert!(
            stdout.contains(&format!("{id} ")),
            "{id} missing:
{stdout}"
        );
    }
    // The vendors the demo runs, read afresh (other tests in this binary
    // may have registered vendors of their own): each runs every sample
    // plus its negative cases, none failed. Which are skipped (a drift
    // case without an optional field, a handshake that visits a URL) is
    // the report's to say; the compiled five's skips are known.
    let shipped = hookforge::vendor_dir::catalogue::ids()
        .map(|id| hookforge::vendor_dir::catalogue::load(id).unwrap().unwrap());
    for v in hookforge::vendors::ALL.iter().copied().chain(shipped) {
        let (negative, skips) = negative_cases(v);
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(v.id))
            .unwrap_or_else(|| panic!("{} missing:\n{stdout}", v.id));
        let n: Vec<usize> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|x| x.parse().ok())
            .collect();
        let [ran, failed, skip] = n[..] else {
            panic!("{line}")
        };
        assert_eq!(
            (ran + skip, failed),
            (samples_of(v) + negative, 0),
            "{line}"
        );
        if hookforge::vendors::ALL.iter().any(|c| c.id == v.id) {
            assert_eq!(skip, skips, "{line}");
        }
        passed += ran;
        skipped += skip;
    }
    let expected = format!("demo: {passed} passed, 0 failed, {skipped} skipped");
    assert!(
        stdout.lines().any(|l| l == expected),
        "{expected}\n{stdout}"
    );
    // Then every vendor simulated over time, judged against the inbox.
    let vendors = hookforge::vendors::ALL.len() + hookforge::vendor_dir::catalogue::ids().count();
    let expected = format!("simulated: {vendors} vendors, 0 failed");
    assert!(
        stdout.lines().any(|l| l == expected),
        "{expected}\n{stdout}"
    );
}

/// `load` waits for an answer as long as the vendor does (Linear: 5 s),
/// not 30 s: an answer after 6 s is a failure. Before, it counted as a
/// success (helper-56's review: GitHub's 10 s budget, an 11 s receiver).
#[test]
fn load_counts_an_answer_later_than_the_vendors_budget_failed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_delay(Duration::from_secs(6)))
            .mount(&server),
    );
    let url = format!("{}/hooks/linear", server.uri());
    let out = hookforge_against("load", "linear", &url, "lin_wh_0123456789abcdef0123456789")
        .args(["--rate", "1", "--duration", "1", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["sent"].as_u64(), r["succeeded"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
}

#[test]
fn load_mode_reports_rate_and_latency() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = prets_sim_on(&rt, None);
    let url = format!("{}/hooks/prets", server.uri());
    let out = hookforge_against("load", "prets", &url, PRETS_SECRET)
        .args(["--rate", "200", "--duration", "1", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["sent"], 200);
    assert_eq!(r["succeeded"], 200);
    assert!(r["p99_ms"].as_f64().unwrap() >= r["p50_ms"].as_f64().unwrap());
    assert!(r["max_ms"].as_f64().unwrap() >= r["p99_ms"].as_f64().unwrap());
    // The HTTP client may resend a request whose pooled connection closed
    // under it (a duplicate delivery, which receivers must absorb anyway):
    // count distinct deliveries.
    let received: Vec<_> = rt
        .block_on(server.received_requests())
        .unwrap()
        .into_iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .collect();
    assert!(received.len() >= 200);
    let ids: HashSet<String> = received
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["eventId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 200);
}

/// `load` refuses a URL whose port is past 65535, as `check` does: before,
/// `http::Uri` took it and read the port as absent, and the deliveries
/// went to port 80. A run that asks for no delivery (0.001 per second for
/// a second) is a usage error, not "sent 0" and exit 0 (helper-64's review).
#[test]
fn load_refuses_a_port_past_65535_and_a_run_of_no_deliveries() {
    for (url, rate, says) in [
        ("http://127.0.0.1:99999/x", "10", "invalid port number"),
        ("http://127.0.0.1:9/x", "0.001", "asks for no delivery"),
    ] {
        let mut args = crate::common::load_prets_args(url, rate, "1");
        args.extend(["--secret", PRETS_SECRET]);
        let stderr = usage_error(&args);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// `load` against a receiver that answers 503: exit 1, and the report says
/// why each delivery failed (it printed only `failed 50`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_says_why_deliveries_failed() {
    let app = axum::Router::new()
        .fallback(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy") });
    let url = serve_app(app, "prets").await;
    let mut load = hookforge_against("load", "prets", &url, PRETS_SECRET);
    load.args(["--rate", "50", "--duration", "1"]);
    let out = output_of(load).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("failures: answered 503 ×50"), "{stdout}");
}

/// A `--filter` that matches no case checks nothing: exit 2 naming it, not
/// a green "0 passed, 0 failed" that a typo in CI would never show; so
/// does a signed vendor checked without its secret (15 failures that were
/// all the missing secret's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_that_matches_nothing_is_a_usage_error() {
    let app = axum::Router::new().fallback(|| async { "ok" });
    let url = serve_app(app, "stripe").await;
    let mut check = hookforge_against("check", "stripe", &url, "whsec_filter_test_0123456789");
    check.args(["--filter", "stripe/nomatch*"]);
    let out = output_of(check).await;
    common::fails_saying(
        &out,
        2,
        "--filter \"stripe/nomatch*\" matches no case of stripe",
    );
    // Of several globs, one that matches nothing is named, though the
    // others matched.
    let mut check = hookforge_against("check", "stripe", &url, "whsec_filter_test_0123456789");
    check.args(["--filter", "stripe/auth/*", "--filter", "stripe/typo*"]);
    common::fails_saying(
        &output_of(check).await,
        2,
        "--filter \"stripe/typo*\" matches no case of stripe",
    );
    // Without a secret, a signed vendor's deliveries would all fail for
    // want of it, not for anything the receiver did: exit 2, saying so.
    let out = common::hookforge_command()
        .args([
            "check",
            "--vendor",
            "stripe",
            "--url",
            "http://127.0.0.1:9/hooks/stripe",
        ])
        .env_remove("HOOKFORGE_SECRET_STRIPE")
        .output()
        .unwrap();
    common::fails_saying(
        &out,
        2,
        "stripe authenticates its deliveries: give the receiver's secret",
    );
}

/// A receiver that finds a header only by its lowercase spelling (as a
/// raw header map that keeps the sender's case is read) passes the replays,
/// which go out lowercase as over HTTP/2, and fails `headers/case`, whose
/// names are in Title-Case as most vendors write them over HTTP/1.1.
#[tokio::test]
async fn header_names_go_out_lowercase_and_in_title_case() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(answer_if_lowercase(sock, seen.clone()));
        }
    });
    let prets = &hookforge::vendors::prets::VENDOR;
    let url = format!("http://127.0.0.1:{port}/hooks/prets");
    let run = |filter: &str| {
        Harness::new(prets, url.clone())
            .secret(PRETS_SECRET)
            .filter(filter)
    };
    let replays = run("prets/quote.created/*").run().await.unwrap();
    assert_eq!(replays.failed, 0, "{}", replays.table());
    let case = run("prets/headers/case").run().await.unwrap();
    assert_eq!(
        failed_ids(&case),
        BTreeSet::from(["prets/headers/case".to_string()])
    );
    let heads = heads.lock().unwrap();
    assert!(
        heads.iter().any(|h| h.contains("\r\nContent-Type: ")),
        "{heads:?}"
    );
}

/// Reads one request and answers 200 if its `content-type` header is
/// spelled in lowercase, else 400 ("no content type").
async fn answer_if_lowercase(mut sock: tokio::net::TcpStream, heads: Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let length: usize = (head.lines())
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < end + 4 + length {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let status = if head.contains("\r\ncontent-type: ") {
        "200 OK"
    } else {
        "400 Bad Request"
    };
    heads.lock().unwrap().push(head);
    let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = sock.write_all(answer.as_bytes()).await;
}

/// Linear's docs example has no `webhookTimestamp`; its other samples
/// carry one in milliseconds, which @linear/sdk requires within 60 s of
/// now: `check` and `simulate` stamp every delivery as they send it.
#[test]
fn body_timestamps_are_set_to_now_and_added_in_the_samples_unit() {
    use hookforge::conformance::delivery::stamp_times;
    let linear = hookforge::vendor("linear").unwrap();
    let now_ms = 1_764_950_000_123_i64;
    let mut bare = serde_json::json!({"action": "create", "type": "Comment"});
    assert!(stamp_times(linear, &mut bare, now_ms));
    assert_eq!(bare["webhookTimestamp"], now_ms);
    let mut stale = serde_json::json!({"action": "create", "webhookTimestamp": 1711602645358_i64});
    assert!(stamp_times(linear, &mut stale, now_ms));
    assert_eq!(stale["webhookTimestamp"], now_ms);
    // A vendor without body timestamps: untouched.
    let stripe = hookforge::vendor("stripe").unwrap();
    let mut doc = serde_json::json!({"created": 1711602645});
    assert!(!stamp_times(stripe, &mut doc, now_ms));
    assert_eq!(doc["created"], 1711602645);
}

/// The Prets cases matching `filter`, run against a raw receiver on `port`.
async fn prets_on_port(port: u16, timeout_secs: u64, filter: &str) -> Report {
    Harness::new(
        &hookforge::vendors::prets::VENDOR,
        format!("http://127.0.0.1:{port}/hooks/prets"),
    )
    .secret(PRETS_SECRET)
    .timeout(Duration::from_secs(timeout_secs))
    .filter(filter)
    .run()
    .await
    .unwrap()
}

/// A receiver that answers 200 and then streams its body without end: the
/// harness reads 64 KiB of it and no more, so neither its memory nor its
/// time budget goes with it (an outside review saw `check` reach 15.9 GB
/// and abort with a backtrace).
#[tokio::test]
async fn an_endless_answer_is_read_only_so_far() {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let written = Arc::new(AtomicUsize::new(0));
    let counted = written.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let counted = counted.clone();
            std::thread::spawn(move || {
                let mut head = [0u8; 65536];
                let _ = s.read(&mut head);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n");
                let chunk = [b'x'; 65536];
                // Bounded: 1 GB at most, until the client hangs up.
                for _ in 0..16_000 {
                    if s.write_all(&chunk).is_err() {
                        return;
                    }
                    counted.fetch_add(chunk.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let report = prets_on_port(port, 20, "prets/quote.created/*").await;
    assert!(!report.cases.is_empty());
    // What sits in the socket buffers, not the gigabyte offered.
    let sent = written.load(Ordering::Relaxed);
    assert!(
        sent < 64 << 20,
        "the harness read {sent} bytes of one answer"
    );
}

/// A receiver that closes every connection unanswered fails `budget` too:
/// a replay with no answer took, to the vendor, its whole wait (the case
/// passed on the milliseconds the refusals took).
#[tokio::test]
async fn replays_without_an_answer_use_up_the_budget() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(500) {
            drop(stream);
        }
    });
    let report = prets_on_port(port, 5, "prets/*").await;
    let budget = report
        .cases
        .iter()
        .find(|c| c.id == "prets/budget")
        .unwrap();
    assert_eq!(budget.outcome, Outcome::Fail, "{}", budget.detail);
}

/// A long `load` signs its deliveries anew as it goes: each signature's
/// time stays within the receiver's tolerance (5 minutes for Stripe's
/// library). Before, every delivery was signed before the clock started,
/// so a run longer than the tolerance sent stale signatures and blamed the
/// receiver for refusing them (helper-64's review). Here re-signed every
/// second over a 3 s run: at least two signing times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_signs_its_deliveries_anew_during_a_long_run() {
    use hookforge::conformance::load::{LoadConfig, run};
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let cfg = LoadConfig {
        vendor: hookforge::vendor("stripe").unwrap(),
        url: format!("{}/hooks/stripe", server.uri()),
        signing: hookforge::conformance::target::Signing {
            secret: Some(hookforge::auth::Secret::new("whsec_load_resign_0123456789")),
            ..Default::default()
        },
        rate: 4.0,
        duration: Duration::from_secs(3),
        timeout: Duration::from_secs(5),
        ca_cert: None,
        connections: None,
        resign_every: Duration::from_secs(1),
    };
    // Signing without pause is refused (helper-65's review).
    let continuous = LoadConfig {
        resign_every: Duration::ZERO,
        ..cfg.clone()
    };
    let err = run(&continuous, None).await.unwrap_err().to_string();
    assert!(err.contains("not continuously"), "{err}");
    let report = run(&cfg, None).await.unwrap();
    assert_eq!(report.failed, 0, "{}", report.summary());
    let times: BTreeSet<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let sig = r.headers.get("stripe-signature").unwrap().to_str().unwrap();
            sig.split(',').next().unwrap().to_string()
        })
        .collect();
    assert!(times.len() >= 2, "one signing time for 3 s: {times:?}");
}
