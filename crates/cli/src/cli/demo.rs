//! `hookforge demo`: the reference receiver checked by the harness, every vendor.

use super::*;

pub fn run() -> Outcome {
    runtime()?.block_on(demo())
}

/// What the demo gives one vendor's receiver and its harness: a shared
/// secret for both, or a key pair split between them; for a vendor whose
/// deliveries name their key's URL, that URL (served by the demo); and the
/// token a handshake checks.
#[derive(Default)]
struct DemoKeys {
    /// `serve`'s secret (a shared secret, or the public key).
    receiver: Option<String>,
    /// The harness's (the same shared secret, or the private key).
    sender: Option<String>,
    /// The public key, served at `key_url` on loopback.
    key_url: Option<String>,
    handshake_token: Option<String>,
    /// Values the signature covers that deliveries do not carry (PayPal's
    /// `webhook_id`), the same on both sides.
    settings: Vec<(String, String)>,
}

impl DemoKeys {
    fn for_vendor(v: &VendorSpec, keys: &KeyServer) -> Result<DemoKeys, Failure> {
        let token = v
            .manifest()
            .handshakes
            .iter()
            .any(|h| h.token_query.is_some())
            .then(|| format!("verify-{}", &random(v, "token")[..20]));
        let mut k = match demo_secret(v) {
            Some(s) => DemoKeys {
                receiver: Some(s.clone()),
                sender: Some(s),
                ..DemoKeys::default()
            },
            None => {
                let (_, pair, public) = super::keygen::key_pair(v)?;
                let key_url = fetches_key(v).then(|| keys.serve(v.id, &pair.public_pem));
                DemoKeys {
                    receiver: Some(public),
                    sender: Some(pair.private_pem.expose().to_string()),
                    key_url,
                    ..DemoKeys::default()
                }
            }
        };
        k.handshake_token = token;
        if let hookforge::manifest::Auth::Signature(s) = &v.manifest().auth {
            k.settings = s
                .settings()
                .into_iter()
                .map(|n| {
                    let value = format!("demo-{}", &random(v, &n)[..16]);
                    (n, value)
                })
                .collect();
        }
        Ok(k)
    }
}

/// Whether the vendor's deliveries name the URL of their key.
fn fetches_key(v: &VendorSpec) -> bool {
    matches!(&v.manifest().auth, hookforge::manifest::Auth::Signature(s) if s.key_url.is_some())
}

/// Random hex for a vendor, different each run.
fn random(v: &VendorSpec, what: &str) -> String {
    let seed = format!("{:?}{}{what}", std::time::SystemTime::now(), v.id);
    let key = hookforge::dedupe_key(None, seed.as_bytes());
    key["sha256:".len()..].to_string()
}

/// Public keys served on loopback, for vendors whose deliveries name the
/// URL of their key (as AWS SNS and PayPal serve their certificates).
struct KeyServer {
    addr: std::net::SocketAddr,
    keys: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>,
}

impl KeyServer {
    async fn start() -> Result<KeyServer, Failure> {
        let keys: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>> =
            Default::default();
        let served = keys.clone();
        let app = axum::Router::new().route(
            "/keys/{file}",
            axum::routing::get(
                move |axum::extract::Path(file): axum::extract::Path<String>| {
                    let key = served.lock().ok().and_then(|k| k.get(&file).cloned());
                    async move {
                        match key {
                            Some(pem) => Ok(pem),
                            None => Err(axum::http::StatusCode::NOT_FOUND),
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Failure::failed(format!("cannot listen for the key server: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Failure::failed(e.to_string()))?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(KeyServer { addr, keys })
    }

    /// Serves `pem` for vendor `id`; its URL.
    fn serve(&self, id: &str, pem: &str) -> String {
        let file = format!("{id}.pem");
        if let Ok(mut k) = self.keys.lock() {
            k.insert(file.clone(), pem.to_string());
        }
        format!("http://{}/keys/{file}", self.addr)
    }
}

/// A secret in the vendor's documented format, random per run (`None`: the
/// vendor signs with a key pair).
fn demo_secret(vendor: &VendorSpec) -> Option<String> {
    use hookforge::manifest::Auth;
    let random: String = random(vendor, "secret").chars().take(43).collect();
    match vendor.manifest().auth {
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
        // A JWT vendor's keys are one shared secret for HS256 only.
        Auth::Jwt(ref j) if j.algorithms.iter().all(|a| a.as_str() == "HS256") => {
            Some(format!("demo-{}", &random[..32]))
        }
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
    let key_server = KeyServer::start().await?;
    let mut keys = std::collections::BTreeMap::new();
    for v in hookforge::vendors() {
        keys.insert(v.id, DemoKeys::for_vendor(v, &key_server)?);
    }
    let server = match start_receiver(dir, &keys, key_server.addr).await {
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
        match check_vendor(&server, v, keys.get(v.id)).await {
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
    println!(
        "\nThen each vendor over time: 3 events, a quarter of the answers lost on the way, so each is retried on the vendor's own schedule (ten hours of it a second), judged against the inbox:\n"
    );
    let mut sim_failed = 0;
    for v in hookforge::vendors() {
        let passed = simulate_vendor(&server, v, keys.get(v.id), &dir.join("inbox.db")).await?;
        sim_failed += usize::from(!passed);
    }
    println!("\ndemo: {passed} passed, {failed} failed, {skipped} skipped");
    println!(
        "simulated: {} vendors, {} failed",
        hookforge::vendors().len(),
        sim_failed
    );
    if failed > 0 || sim_failed > 0 {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}

/// The reference receiver for every vendor, each with its demo keys (the
/// key server trusted for the vendors whose deliveries name their key).
async fn start_receiver(
    dir: &std::path::Path,
    keys: &std::collections::BTreeMap<&'static str, DemoKeys>,
    key_server: std::net::SocketAddr,
) -> Result<hookforge::receive::serve::Server, hookforge::receive::serve::ServeError> {
    // Signatures over the endpoint URL (Square's, Pub/Sub's audience) need
    // the receiver's URL before it listens: a free port is chosen first
    // (and another if something took it meanwhile).
    let mut tries = 0;
    loop {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| hookforge::receive::serve::ServeError::Config {
                vendor: "-".into(),
                message: format!("no free loopback port: {e}"),
            })?;
        let cfg = receiver_config(dir, keys, key_server, port);
        match hookforge::receive::serve::start(cfg).await {
            Err(e) if tries < 3 && e.to_string().contains("in use") => tries += 1,
            other => return other,
        }
    }
}

/// The demo receiver's configuration on `port`.
fn receiver_config(
    dir: &std::path::Path,
    keys: &std::collections::BTreeMap<&'static str, DemoKeys>,
    key_server: std::net::SocketAddr,
    port: u16,
) -> hookforge::receive::serve::ServeConfig {
    let mut cfg = hookforge::receive::serve::ServeConfig::new(([127, 0, 0, 1], port).into());
    cfg.db = Some(dir.join("inbox.db"));
    for v in hookforge::vendors().iter().filter(|v| signs_url(v)) {
        cfg.endpoints.insert(
            v.id.to_string(),
            format!("http://127.0.0.1:{port}/hooks/{}", v.id),
        );
    }
    for (id, k) in keys {
        if let Some(s) = &k.receiver {
            cfg.secrets.insert(
                id.to_string(),
                vec![hookforge::auth::Secret::new(s.clone())],
            );
        }
        if let Some(t) = &k.handshake_token {
            cfg.handshake_tokens
                .insert(id.to_string(), hookforge::auth::Secret::new(t.clone()));
        }
        for (name, value) in &k.settings {
            cfg.settings
                .entry(id.to_string())
                .or_default()
                .insert(name.clone(), value.clone());
        }
        if k.key_url.is_some() {
            cfg.key_hosts
                .insert(id.to_string(), vec![key_server.to_string()]);
        }
    }
    cfg
}

/// Whether the vendor's proof covers the URL it posts to.
fn signs_url(v: &VendorSpec) -> bool {
    match &v.manifest().auth {
        hookforge::manifest::Auth::Signature(s) => s.signed.contains("{url}"),
        hookforge::manifest::Auth::Jwt(j) => j.audience.as_deref() == Some("{url}"),
        _ => false,
    }
}

/// The harness against one vendor's route, with a progress bar on a terminal.
async fn check_vendor(
    server: &hookforge::receive::serve::Server,
    v: &'static VendorSpec,
    keys: Option<&DemoKeys>,
) -> Result<hookforge::conformance::report::Report, hookforge::conformance::harness::HarnessError> {
    let url = format!("http://{}/hooks/{}", server.addr, v.id);
    let mut h = hookforge::conformance::harness::Harness::new(v, url).concurrency(8);
    let none = DemoKeys::default();
    let k = keys.unwrap_or(&none);
    if let Some(s) = &k.sender {
        h = h.secret(s.clone());
    }
    if let Some(u) = &k.key_url {
        h = h.key_url(u.clone());
    }
    for (name, value) in &k.settings {
        h = h.setting(name.clone(), value.clone());
    }
    if let Some(t) = &k.handshake_token {
        h = h.handshake_token(t.clone());
    }
    run_with_progress(h, v.id).await
}

/// The vendor played over time against the demo's receiver: retries on
/// its documented schedule after lost answers, each event judged against
/// the inbox. One line; whether every event was handled exactly once.
async fn simulate_vendor(
    server: &hookforge::receive::serve::Server,
    vendor: &'static VendorSpec,
    keys: Option<&DemoKeys>,
    inbox: &std::path::Path,
) -> Result<bool, Failure> {
    let faults = "lost-response=25%"
        .parse()
        .map_err(|e: String| Failure::failed(e))?;
    let mut sim = hookforge::simulate::Simulator::new(vendor)
        .url(format!("http://{}/hooks/{}", server.addr, vendor.id))
        .events(3)
        .rate(50.0)
        .seed(7)
        .time_scale(36_000.0)
        .faults(faults)
        .settle(std::time::Duration::from_secs(5))
        .inbox(hookforge::simulate::StoreInbox::sqlite(inbox));
    let none = DemoKeys::default();
    let k = keys.unwrap_or(&none);
    if let Some(s) = &k.sender {
        sim = sim.secret(s.clone());
    }
    if let Some(u) = &k.key_url {
        sim = sim.key_url(u.clone());
    }
    if let Some(t) = &k.handshake_token {
        sim = sim.handshake_token(t.as_str());
    }
    for (name, value) in &k.settings {
        sim = sim.setting(name.clone(), value.clone());
    }
    let running = sim
        .start()
        .await
        .map_err(|e| Failure::failed(format!("{}: {e}", vendor.id)))?;
    running.idle().await;
    let report = running.report().await.map_err(Failure::failed)?;
    running.stop();
    let join = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "{:<18} {} deliveries ({}); verdicts: {}",
        vendor.id,
        report.deliveries.len(),
        join(&report.states),
        join(&report.verdicts)
    );
    Ok(report.passed)
}

/// One line per vendor, then each case that did not pass.
fn print_vendor(r: &hookforge::conformance::report::Report) {
    println!(
        "{:<18} {:>4} passed, {} failed, {} skipped",
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
