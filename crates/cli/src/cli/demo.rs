//! `hookforge demo`: the reference receiver checked by the harness, every vendor.

use super::*;

pub fn run() -> Outcome {
    runtime()?.block_on(demo())
}

/// A secret in the vendor's documented format, random per run.
pub fn demo_secret(v: &VendorSpec) -> Option<String> {
    use hookforge::manifest::Auth;
    let seed = format!("{:?}{}", std::time::SystemTime::now(), v.id);
    let key = hookforge::dedupe_key(None, seed.as_bytes());
    let random: String = key["sha256:".len()..].chars().take(43).collect();
    match v.manifest().auth {
        // No documented auth: a shared secret in X-Webhook-Secret, as a
        // production receiver should be configured (never unsigned).
        Auth::None { .. } => Some(format!("shared-{}", &random[..24])),
        Auth::Bearer { .. } => Some(format!("whsec_{random}")),
        Auth::StandardWebhooks { .. } => Some(format!(
            "whsec_{}",
            "aG9va2ZvcmdlLWRlbW8tc2VjcmV0LW9mLTMyYnl0ZXM="
        )),
        Auth::Hmac { .. } => Some(format!("demo-{}", &random[..24])),
        // A key pair, not one secret: not demonstrated.
        Auth::Signature(ref s) if s.algorithm.is_public_key() => None,
        Auth::Signature(ref s) => Some(match s.key {
            hookforge::manifest::KeyFormat::Utf8 => format!("demo-{}", &random[..24]),
            // 32 bytes of the random hex, as base64 (a Standard Webhooks key).
            hookforge::manifest::KeyFormat::Base64 => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(&random.as_bytes()[..32])
            }
            hookforge::manifest::KeyFormat::Whsec => {
                use base64::Engine;
                let key =
                    base64::engine::general_purpose::STANDARD.encode(&random.as_bytes()[..32]);
                format!("whsec_{key}")
            }
            hookforge::manifest::KeyFormat::Hex => random[..42].to_string(),
            // Key formats of public-key algorithms (above).
            hookforge::manifest::KeyFormat::Pem | hookforge::manifest::KeyFormat::Whpk => {
                return None;
            }
        }),
        // A JWT vendor's keys are not one secret either.
        Auth::Jwt(_) => None,
    }
}

pub async fn demo() -> Outcome {
    let dir = std::env::temp_dir().join(format!(
        "hookforge-demo-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Err(Failure::failed(format!(
            "cannot create {}: {e}",
            dir.display()
        )));
    }
    let code = run_in(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    code
}

/// The demo, with its SQLite inbox in `dir`.
async fn run_in(dir: &std::path::Path) -> Outcome {
    // The vendors hookforge ships as vendor directories (GitHub, Stripe, …)
    // are served and checked beside the compiled ones.
    for id in hookforge::vendor_dir::catalogue::ids() {
        if hookforge::vendor(id).is_none() {
            return Err(Failure::failed(format!(
                "the shipped vendor directory vendors/{id} does not load"
            )));
        }
    }
    let (server, secrets) = match start_receiver(dir).await {
        Ok(s) => s,
        Err(e) => {
            return Err(Failure::failed(format!(
                "cannot start the reference receiver: {e}"
            )));
        }
    };
    println!(
        "hookforge demo: the reference receiver (hookforge serve) is listening on http://{}",
        server.addr
    );
    println!("with its {}.", server.store_description);
    println!(
        "Replaying every documented and synthesized sample, plus the negative cases, for each vendor:\n"
    );
    let mut reports = Vec::new();
    for v in hookforge::vendors() {
        match check_vendor(&server, v, secrets.get(v.id)).await {
            Ok(r) => {
                print_vendor(&r);
                reports.push(r);
            }
            Err(e) => {
                return Err(Failure::failed(e));
            }
        }
    }
    // Give the worker a moment to hand the last deliveries to the handler.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stored = match server.inbox.store().list(None, usize::MAX) {
        Ok(rows) => rows.len(),
        Err(e) => {
            return Err(Failure::failed(format!("cannot read the inbox back: {e}")));
        }
    };
    let (passed, failed, skipped) = reports.iter().fold((0, 0, 0), |(p, f, s), r| {
        (p + r.passed, f + r.failed, s + r.skipped)
    });
    println!(
        "\nThe receiver verified, typed and stored {stored} distinct deliveries (duplicates counted once) in its SQLite inbox, a temporary file removed now."
    );
    println!(
        "Try it yourself: hookforge serve, then hookforge check --vendor prets --url http://127.0.0.1:8080/hooks/prets --secret ..."
    );
    println!("\ndemo: {passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}

/// The reference receiver for every vendor, each with a fresh secret in
/// its documented format; and those secrets by vendor.
async fn start_receiver(
    dir: &std::path::Path,
) -> Result<
    (
        hookforge::receive::serve::Server,
        std::collections::BTreeMap<&'static str, String>,
    ),
    hookforge::receive::serve::ServeError,
> {
    let mut cfg = hookforge::receive::serve::ServeConfig::new(([127, 0, 0, 1], 0).into());
    cfg.db = Some(dir.join("inbox.db"));
    let mut secrets = std::collections::BTreeMap::new();
    for v in hookforge::vendors() {
        if let Some(s) = demo_secret(v) {
            cfg.secrets.insert(
                v.id.to_string(),
                vec![hookforge::auth::Secret::new(s.clone())],
            );
            secrets.insert(v.id, s);
        }
    }
    Ok((hookforge::receive::serve::start(cfg).await?, secrets))
}

/// The harness against one vendor's route, with a progress bar on a terminal.
async fn check_vendor(
    server: &hookforge::receive::serve::Server,
    v: &'static VendorSpec,
    secret: Option<&String>,
) -> Result<hookforge::conformance::report::Report, hookforge::conformance::harness::HarnessError> {
    let url = format!("http://{}/hooks/{}", server.addr, v.id);
    let mut h = hookforge::conformance::harness::Harness::new(v, url).concurrency(8);
    if let Some(s) = secret {
        h = h.secret(s.clone());
    }
    let total = h.planned_cases().unwrap_or(0);
    let bar = progress_bar(total as u64, v.id);
    if let Some(b) = bar.clone() {
        h = h.on_case(move |c| {
            b.inc(1);
            b.set_message(c.id.clone());
        });
    }
    let r = h.run().await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    r
}

/// One line per vendor, then each case that did not pass.
fn print_vendor(r: &hookforge::conformance::report::Report) {
    println!(
        "{:<13} {:>4} passed, {} failed, {} skipped",
        r.vendor, r.passed, r.failed, r.skipped
    );
    for c in r
        .cases
        .iter()
        .filter(|c| c.outcome != hookforge::conformance::report::Outcome::Pass)
    {
        println!("    {:?} {}: {}", c.outcome, c.id, c.detail);
    }
}
