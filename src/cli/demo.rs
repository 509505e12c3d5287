//! `hookforge demo`: the reference receiver checked by the harness, every vendor.

use super::*;

pub fn run() -> ExitCode {
    runtime().block_on(demo())
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
    }
}

pub async fn demo() -> ExitCode {
    let dir = std::env::temp_dir().join(format!(
        "hookforge-demo-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
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
    let server = match hookforge::receive::serve::start(cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the reference receiver: {e}");
            return ExitCode::FAILURE;
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
        let url = format!("http://{}/hooks/{}", server.addr, v.id);
        let mut h = hookforge::conformance::harness::Harness::new(v, url).concurrency(8);
        if let Some(s) = secrets.get(v.id) {
            h = h.secret(s.clone());
        }
        let total = v.events.iter().map(|e| e.samples.len()).sum::<usize>() + 5;
        if let Some(b) = progress_bar(total as u64, v.id) {
            let b2 = b.clone();
            h = h.on_case(move |c| {
                b2.inc(1);
                b2.set_message(c.id.clone());
            });
            let r = h.run().await;
            b.finish_and_clear();
            match r {
                Ok(r) => reports.push(r),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            match h.run().await {
                Ok(r) => reports.push(r),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let r = reports.last().expect("just pushed");
        let failures: Vec<&hookforge::conformance::report::CaseResult> = r
            .cases
            .iter()
            .filter(|c| c.outcome != hookforge::conformance::report::Outcome::Pass)
            .collect();
        println!(
            "{:<13} {:>4} passed, {} failed, {} skipped",
            v.id, r.passed, r.failed, r.skipped
        );
        for c in failures {
            println!("    {:?} {}: {}", c.outcome, c.id, c.detail);
        }
    }
    // Give the worker a moment to hand the last deliveries to the handler.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stored = server
        .inbox
        .store()
        .list(None, usize::MAX)
        .map(|r| r.len())
        .unwrap_or(0);
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
    let _ = std::fs::remove_dir_all(&dir);
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
