//! `hookforge serve`: the reference receiver.

use super::*;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// A vendor id, or `all` (repeatable).
    #[arg(long = "vendor", default_value = "all")]
    pub vendors: Vec<String>,
    /// A vendor's secret, as `VENDOR=SECRET` (repeat for several vendors, or
    /// for rotation). Vendors that document no auth accept an optional
    /// shared secret in the `X-Webhook-Secret` header.
    #[arg(long = "secret", value_name = "VENDOR=SECRET", value_parser = SecretArg)]
    pub secrets: Vec<(String, String)>,
    /// Keep the inbox in this SQLite file (in memory when absent).
    #[arg(long, conflicts_with = "database_url")]
    pub db: Option<PathBuf>,
    /// With --db: `full` syncs every commit before the 2xx (survives a power
    /// cut); `normal` syncs only at checkpoints (faster; a power cut or
    /// kernel crash can lose the last ~100 ms of acknowledged deliveries).
    #[arg(long, value_enum, default_value = "full", requires = "db")]
    pub sync: hookforge::receive::store::SyncMode,
    /// Keep the inbox in PostgreSQL, shared with other `serve` processes
    /// (`postgres://user@host:port/db`; also from `HOOKFORGE_DATABASE_URL`,
    /// which keeps a password out of argv).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Also serve the inbox dashboard (see --ui-addr, --ui-token).
    #[arg(long)]
    pub ui: bool,
    #[command(flatten)]
    pub ui_args: super::ui::UiArgs,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Export a trace per delivery (receipt, verification, commit, each
    /// handler attempt) over OTLP/HTTP to this collector
    /// (`http://127.0.0.1:4318`); spans carry no secret, header or body.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// With --database-url: seconds a claimed delivery stays with this
    /// process before another may take it over (default: handler timeout + 30).
    #[arg(long, value_name = "SECS")]
    pub lease: Option<f64>,
    /// A vendor's HMAC format where it is undocumented, as
    /// `VENDOR=HASH:ENCODING` (e.g. `socotra=sha256:base64`; default from the manifest).
    #[arg(long = "hmac-format", value_name = "VENDOR=HASH:ENCODING", value_parser = parse_vendor_hmac)]
    pub hmac_formats: Vec<(String, hookforge::auth::HmacFormat)>,
    /// The public URL a vendor posts to, as registered with it, as
    /// `VENDOR=URL`: for signatures that cover the URL (`{url}` in the manifest).
    #[arg(long = "endpoint", value_name = "VENDOR=URL", value_parser = parse_endpoint)]
    pub endpoints: Vec<(String, String)>,
    /// The token a vendor's handshake checks, as `VENDOR=TOKEN` (Meta's
    /// verify token, chosen when the endpoint was registered).
    #[arg(long = "handshake-token", value_name = "VENDOR=TOKEN", value_parser = parse_token)]
    pub handshake_tokens: Vec<(String, String)>,
    /// Also trust HOST for the keys a vendor's deliveries point at, as
    /// `VENDOR=HOST` (`127.0.0.1:8443`): a local stand-in for the vendor's
    /// certificate host, for tests; the manifest's hosts stay trusted.
    #[arg(long = "key-host", value_name = "VENDOR=HOST", value_parser = parse_token)]
    pub key_hosts: Vec<(String, String)>,
    /// A value a vendor's signature covers that deliveries do not carry, as
    /// `VENDOR.NAME=VALUE` (PayPal: `paypal.webhook_id=WH-…`, the id PayPal
    /// gave the webhook).
    #[arg(long = "setting", value_name = "VENDOR.NAME=VALUE", value_parser = parse_vendor_setting)]
    pub settings: Vec<(String, String, String)>,
    /// Store deliveries without handling them (the worker stays off).
    #[arg(long)]
    pub no_process: bool,
    /// Largest accepted body, in bytes.
    #[arg(long, default_value_t = hookforge::receive::receiver::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    #[command(flatten)]
    pub more: ServeArgs,
}

pub fn run(args: Args) -> Outcome {
    let Args {
        addr,
        vendors,
        secrets,
        db,
        sync,
        database_url,
        ui,
        ui_args,
        metrics_addr,
        otlp_endpoint,
        lease,
        hmac_formats,
        endpoints,
        handshake_tokens,
        key_hosts,
        settings,
        no_process,
        body_limit,
        more,
    } = args;
    let mut cfg = hookforge::receive::serve::ServeConfig::new(addr);
    cfg.sync = sync;
    cfg.hmac_formats = hmac_formats.into_iter().collect();
    cfg.endpoints = endpoints.into_iter().collect();
    cfg.handshake_tokens = handshake_tokens
        .into_iter()
        .map(|(v, t)| (v, hookforge::auth::Secret::new(t)))
        .collect();
    for (v, host) in key_hosts {
        cfg.key_hosts.entry(v).or_default().push(host);
    }
    for (v, name, value) in settings {
        cfg.settings.entry(v).or_default().insert(name, value);
    }
    let mut secrets = secrets;
    match extra_secrets(&more.secret_files) {
        Ok(extra) => secrets.extend(extra),
        Err(e) => {
            return Err(Failure::usage(e));
        }
    }
    more.limits(&mut cfg)?;
    let grace = duration_arg(more.shutdown_grace, "shutdown-grace")?;
    if let Some(l) = lease {
        match duration_arg(l, "lease") {
            Ok(d) => cfg.lease = Some(d),
            Err(f) => return Err(f),
        }
    }
    cfg.database_url = database_url
        .or_else(stores::database_url_from_env)
        .filter(|_| db.is_none())
        .map(hookforge::receive::store::DatabaseUrl::new);
    if ui {
        ui_args.token()?;
    }
    let ui = ui.then_some(ui_args);
    serve(
        cfg,
        vendors,
        secrets,
        more.allow_weak_secret,
        db,
        !no_process,
        body_limit,
        ServeExtras {
            metrics_addr,
            ui,
            otlp_endpoint,
            grace,
        },
    )
}

/// What runs beside the receiver: metrics and the dashboard.
pub struct ServeExtras {
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub ui: Option<super::ui::UiArgs>,
    /// Where to export trace spans (OTLP/HTTP).
    pub otlp_endpoint: Option<String>,
    /// How long a stop waits for requests in flight and running handlers.
    pub grace: std::time::Duration,
}

impl ServeArgs {
    /// The limits, the worker's and the retry settings into `cfg`.
    fn limits(&self, cfg: &mut hookforge::receive::serve::ServeConfig) -> Result<(), Failure> {
        if self.max_connections == 0 || self.handler_concurrency == 0 || self.max_attempts == 0 {
            return Err(Failure::usage(
                "--max-connections, --handler-concurrency and --max-attempts must be at least 1",
            ));
        }
        cfg.limits = hookforge::receive::serve::ServerLimits {
            header_read_timeout: duration_arg(self.header_read_timeout, "header-read-timeout")?,
            idle_timeout: duration_arg(self.idle_timeout, "idle-timeout")?,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip.map(|n| n as usize),
        };
        cfg.body_timeout = duration_arg(self.body_timeout, "body-timeout")?;
        cfg.worker = hookforge::receive::inbox::WorkerConfig {
            handler_timeout: duration_arg(self.handler_timeout, "handler-timeout")?,
            concurrency_per_vendor: self.handler_concurrency,
            skip_stale: self.skip_stale,
        };
        cfg.retry.max_attempts = self.max_attempts;
        cfg.on_misfit = self.on_misfit;
        cfg.allow_unsigned = self.allow_unsigned.clone();
        cfg.accept_new_secrets = self.accept_new_secrets.clone();
        cfg.retain = self.retain;
        cfg.memory_capacity = self.memory_capacity;
        Ok(())
    }
}

/// The rest of `serve`'s options.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// A file holding a vendor's secret(s), one per line, as `VENDOR=PATH`
    /// (repeatable). Secrets also come from `HOOKFORGE_SECRET_<VENDOR>`
    /// (comma-separated for rotation), so they need not appear in argv.
    #[arg(long = "secret-file", value_name = "VENDOR=PATH", value_parser = parse_secret_file)]
    secret_files: Vec<(String, PathBuf)>,
    /// Serve this vendor, whose docs give no authentication, without a
    /// shared secret (repeatable). Without it such a vendor is not served.
    #[arg(long = "allow-unsigned", value_name = "VENDOR", value_parser = vendor_ids())]
    allow_unsigned: Vec<String>,
    /// For a vendor that gives its secret in a handshake (Asana's
    /// `X-Hook-Secret`): keep the secret of a further handshake although the
    /// receiver has one (repeatable). Without it only the first is kept,
    /// since anyone can send that handshake: use it while you create
    /// another webhook, then restart without it.
    #[arg(long = "accept-new-secrets", value_name = "VENDOR", value_parser = vendor_ids())]
    accept_new_secrets: Vec<String>,
    /// Accept a shared secret shorter than 16 bytes (a test setup; never in
    /// production: a short secret can be guessed).
    #[arg(long)]
    allow_weak_secret: bool,
    /// What to do with an authentic delivery that does not fit the typed
    /// model: `quarantine` (store it, answer 200) or `reject` (answer 400).
    #[arg(long, default_value = "quarantine")]
    on_misfit: hookforge::receive::receiver::OnMisfit,
    /// Seconds allowed for a request's headers to arrive.
    #[arg(long, default_value_t = 10.0)]
    header_read_timeout: f64,
    /// Seconds allowed for a request's body to arrive.
    #[arg(long, default_value_t = 10.0)]
    body_timeout: f64,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(long, default_value_t = 60.0)]
    idle_timeout: f64,
    /// Connections served at once (more wait in the listen backlog).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Connections served at once per client IP address; past it a client
    /// gets 503 and is closed (off by default: behind a proxy every client
    /// has the proxy's address).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_ip: Option<u32>,
    /// Seconds a handler call may take before it counts as a failed attempt.
    #[arg(long, default_value_t = 30.0)]
    handler_timeout: f64,
    /// Handler calls in flight at once, per vendor.
    #[arg(long, default_value_t = 4)]
    handler_concurrency: usize,
    /// For vendors whose manifest orders deliveries by entity: mark a
    /// delivery that arrives after a newer one of the same entity done
    /// without handling it (by default the handler gets it, with the header
    /// `x-hookforge-stale: <id of the newer one>`).
    #[arg(long)]
    skip_stale: bool,
    /// Seconds a SIGTERM or Ctrl-C leaves the requests in flight to be
    /// answered and the running handlers to finish before the process
    /// exits (new connections are refused at once).
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    shutdown_grace: f64,
    /// Attempts before a delivery becomes `dead`.
    #[arg(long, default_value_t = 10)]
    max_attempts: u32,
    /// Empty `done` deliveries older than this (e.g. `7d`, `12h`, `30m`, `90s`);
    /// their keys stay for the vendors' retry horizon, so late retries are
    /// still duplicates.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    retain: Option<std::time::Duration>,
    /// Deliveries not yet handled the in-memory inbox holds before answering
    /// 503 (without --db); their bodies are also capped at 256 MiB.
    #[arg(long, default_value_t = hookforge::receive::store::MemoryStore::DEFAULT_CAPACITY)]
    memory_capacity: usize,
}

pub fn parse_secret_file(s: &str) -> Result<(String, PathBuf), String> {
    let (v, path) = vendor_pair(s, "VENDOR=PATH")?;
    Ok((v, PathBuf::from(path)))
}

/// A vendor's secrets from the environment (`HOOKFORGE_SECRET_<VENDOR>`,
/// comma-separated) and from `--secret-file` files (one per line).
pub fn extra_secrets(files: &[(String, PathBuf)]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    // Shipped vendor dirs too: a secret in the environment names its vendor.
    for id in all_ids() {
        let var = secret_env_var(id);
        if let Ok(list) = std::env::var(&var)
            && hookforge::vendor(id).is_some()
        {
            for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                out.push((id.to_string(), s.to_string()));
            }
        }
    }
    for (v, path) in files {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the secret file for {v} ({}): {e}",
                path.display()
            )
        })?;
        let before = out.len();
        for secret in secrets_in(&text) {
            out.push((v.clone(), secret));
        }
        if out.len() == before {
            return Err(format!(
                "the secret file for {v} ({}) holds no secret",
                path.display()
            ));
        }
    }
    Ok(out)
}

/// The shortest shared secret accepted without `--allow-weak-secret`.
pub const MIN_SECRET: usize = hookforge::auth::MIN_SECRET_BYTES;

/// Refuses a secret the vendor documents a format for when it does not have
/// it, and a shared secret shorter than [`MIN_SECRET`] bytes unless allowed
/// (a comma-separated environment variable can leave a one-letter secret).
/// The message never shows the secret.
pub fn check_secret(vendor: &VendorSpec, secret: &str, allow_weak: bool) -> Result<(), String> {
    use hookforge::manifest::Auth;
    if let Auth::Bearer {
        secret_pattern: Some(p),
        ..
    } = &vendor.manifest().auth
    {
        let schema = serde_json::json!({"type": "string", "pattern": p});
        let fits = jsonschema::validator_for(&schema)
            .map_err(|e| {
                format!(
                    "{}: the manifest's secret_pattern is not a pattern: {e}",
                    vendor.id
                )
            })?
            .is_valid(&serde_json::json!(secret));
        if !fits {
            return Err(format!(
                "the secret for {} ({} bytes) does not have the format {} documents ({p})",
                vendor.id,
                secret.len(),
                vendor.name
            ));
        }
    }
    // A public key (or a JWKS) is checked by its parser, not by its length.
    let public_key = match &vendor.manifest().auth {
        Auth::Signature(s) => s.algorithm.is_public_key(),
        Auth::Jwt(j) => !j
            .algorithms
            .contains(&hookforge::manifest::JwtAlgorithm::HS256),
        _ => false,
    };
    let weak_ok =
        allow_weak || public_key || matches!(vendor.manifest().auth, Auth::StandardWebhooks { .. });
    if secret.len() < MIN_SECRET && !weak_ok {
        return Err(format!(
            "the secret for {} is {} bytes; shared secrets shorter than {MIN_SECRET} bytes are refused (--allow-weak-secret to accept one)",
            vendor.id,
            secret.len()
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn serve(
    mut cfg: hookforge::receive::serve::ServeConfig,
    vendors: Vec<String>,
    secrets: Vec<(String, String)>,
    allow_weak: bool,
    db: Option<PathBuf>,
    process: bool,
    body_limit: usize,
    extras: ServeExtras,
) -> Outcome {
    cfg.vendors = choose_vendors(&vendors, &secrets)?;
    for (v, secret) in &secrets {
        if let Some(spec) = hookforge::vendor(v)
            && let Err(e) = check_secret(spec, secret, allow_weak)
        {
            return Err(Failure::usage(e));
        }
    }
    for (v, s) in secrets {
        cfg.secrets
            .entry(v)
            .or_default()
            .push(hookforge::auth::Secret::new(s));
    }
    cfg.db = db;
    cfg.process = process;
    if body_limit == 0 {
        return Err(Failure::usage(
            "--body-limit 0 would refuse every delivery (413); give the largest body to accept, in bytes",
        ));
    }
    cfg.body_limit = body_limit;
    let _traces = init_logging(extras.otlp_endpoint.as_deref())?;
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            return Err(Failure::failed(format!("cannot start the runtime: {e}")));
        }
    };
    rt.block_on(run_server(cfg, extras))
}

/// The vendors to serve: those named, or with `all` every vendor that can
/// be served safely (a signing vendor only with its secret).
fn choose_vendors(
    vendors: &[String],
    secrets: &[(String, String)],
) -> Result<Vec<&'static VendorSpec>, Failure> {
    if vendors.iter().any(|v| v == "all") {
        // Serving every vendor: those that sign deliveries need their secret;
        // leave out (and say so) the ones without one rather than accept
        // unauthenticated deliveries for them.
        // (Vendors that document no auth are decided by the library: served
        // with a shared secret or --allow-unsigned, else named and left out.)
        let (ok, left_out): (Vec<_>, Vec<_>) =
            hookforge::vendors().iter().copied().partition(|v| {
                matches!(v.manifest().auth, hookforge::manifest::Auth::None { .. })
                    || secrets.iter().any(|(id, _)| id == v.id)
            });
        for v in &left_out {
            eprintln!(
                "note: not serving {} (its deliveries are signed): pass --secret {}=SECRET",
                v.id, v.id
            );
        }
        Ok(ok)
    } else {
        let mut list = Vec::new();
        for v in vendors {
            match hookforge::vendor(v) {
                Some(s) => list.push(s),
                None => {
                    return Err(Failure::usage(format!(
                        "unknown vendor {v:?} (known: {})",
                        known_ids()
                    )));
                }
            }
        }
        Ok(list)
    }
}

/// Starts the server, prints its address line, and serves until it fails
/// or is stopped (SIGTERM, Ctrl-C), then finishes what is in flight.
async fn run_server(cfg: hookforge::receive::serve::ServeConfig, extras: ServeExtras) -> Outcome {
    let ServeExtras {
        metrics_addr,
        ui,
        grace,
        ..
    } = extras;
    let ui_db = cfg.db.clone();
    let ui_pg = cfg.database_url.clone();
    let in_memory = ui_db.is_none() && ui_pg.is_none();
    let keeping: Vec<&str> = cfg
        .vendors
        .iter()
        .filter(|v| v.manifest().keeps_secret())
        .map(|v| v.id)
        .collect();
    let lease = cfg
        .lease
        .unwrap_or(cfg.worker.handler_timeout + std::time::Duration::from_secs(30));
    if let Some(addr) = metrics_addr {
        install_metrics(addr)?;
    }
    // Every way to fail here is in what was asked: an address in use, a
    // database that cannot be opened or reached, a vendor's configuration.
    let server = hookforge::receive::serve::start(cfg)
        .await
        .map_err(Failure::usage)?;
    if let Some(ui) = &ui {
        // The dashboard reads through a connection of its own, so the
        // receiver's writer never waits behind a page.
        let store = match dashboard_store(ui_db.as_deref(), ui_pg, lease).await? {
            Some(own) => own,
            None => server.inbox.store().clone(),
        };
        ui.start(store).await?;
    }
    if let Some(addr) = metrics_addr {
        hookforge::receive::inbox::spawn_inbox_gauges(
            &server.inbox,
            std::time::Duration::from_secs(2),
        );
        eprintln!("metrics at http://{addr}/metrics");
    }
    announce(&server, in_memory, &keeping)?;
    until_stopped(server, grace).await
}

/// The notes on what is and is not served, then the address line (the
/// first line on stdout, which scripts and tests read).
fn announce(
    server: &hookforge::receive::serve::Server,
    in_memory: bool,
    keeping: &[&str],
) -> Outcome {
    for (v, _) in &server.served {
        if in_memory && keeping.contains(v) {
            eprintln!(
                "note: {v} hands over its secret in a handshake, kept in memory only: lost at restart and not shown by `inbox secrets` (--db FILE or --database-url keeps it)"
            );
        }
    }
    for (v, why) in &server.not_served {
        eprintln!("note: not serving {v}: {why} (--secret {v}=SECRET or --allow-unsigned {v})");
    }
    if server.served.is_empty() {
        return Err(Failure::usage(
            "no vendor can be served (see the notes above)",
        ));
    }
    let vendor_list: Vec<String> = server
        .served
        .iter()
        .map(|(v, how)| format!("{v} ({how})"))
        .collect();
    // The first line on stdout: scripts and tests read the address from it.
    println!(
        "hookforge serve listening on http://{} with {}; vendors: {}",
        server.addr,
        server.store_description,
        vendor_list.join(", ")
    );
    let _ = io::stdout().flush();
    Ok(())
}

/// Serves until the server fails or a signal stops it; then finishes what
/// is in flight within `grace` (a second signal cuts it).
async fn until_stopped(
    mut server: hookforge::receive::serve::Server,
    grace: std::time::Duration,
) -> Outcome {
    let ended = tokio::select! {
        r = &mut server.task => Some(r),
        () = stop_signal() => None,
    };
    match ended {
        Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(Failure::failed(format!("server failed: {e}"))),
        Some(Err(e)) => Err(Failure::failed(format!("server task failed: {e}"))),
        None => {
            tracing::info!(
                grace_secs = grace.as_secs_f64(),
                "stopping: refusing new connections, finishing the requests and handlers in flight"
            );
            // A second signal means now: what is in flight is cut.
            let left = tokio::select! {
                left = server.stop(grace) => left,
                () = stop_signal() => {
                    tracing::warn!("stopped at once by a second signal: requests and handlers in flight were cut");
                    return Ok(());
                }
            };
            if left != Default::default() {
                tracing::warn!(
                    requests_cut = left.connections,
                    handlers_running = left.handlers,
                    "stopped with work in flight after the grace period: the vendor retries cut requests; interrupted handlers run again after the next start"
                );
            }
            Ok(())
        }
    }
}

/// Resolves on SIGTERM (a deploy, `docker stop`, Kubernetes) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Serves Prometheus metrics on `addr`.
fn install_metrics(addr: std::net::SocketAddr) -> Outcome {
    // Handler time in seconds: from 1 ms to the default 30 s timeout.
    let buckets = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("hookforge_handler_duration_seconds".into()),
            &buckets,
        )
        .and_then(|b| b.install())
        .map_err(|e| Failure::usage(format!("cannot serve metrics on {addr}: {e}")))?;
    describe_metrics();
    Ok(())
}

/// A connection of the dashboard's own to the receiver's database (SQLite
/// or PostgreSQL); `None` for the in-memory inbox, which it shares.
async fn dashboard_store(
    db: Option<&std::path::Path>,
    database_url: Option<hookforge::receive::store::DatabaseUrl>,
    lease: std::time::Duration,
) -> Result<Option<std::sync::Arc<dyn hookforge::receive::store::Store>>, Failure> {
    let cannot =
        |e: &dyn std::fmt::Display| format!("cannot open the inbox for the dashboard: {e}");
    if let Some(path) = db {
        let s = hookforge::receive::store::SqliteStore::open(path)
            .map_err(|e| Failure::usage(cannot(&e)))?;
        return Ok(Some(std::sync::Arc::new(s)));
    }
    let Some(url) = database_url else {
        return Ok(None);
    };
    let opened = tokio::task::spawn_blocking(move || {
        hookforge::receive::store::PostgresStore::connect(url.expose(), lease)
    })
    .await
    .map_err(|e| Failure::failed(cannot(&e)))?;
    let s = opened.map_err(|e| Failure::usage(cannot(&e)))?;
    Ok(Some(std::sync::Arc::new(s)))
}

/// Help texts for the exported metrics.
fn describe_metrics() {
    metrics::describe_counter!(
        "hookforge_deliveries_total",
        "Deliveries by vendor, event and outcome (accepted, duplicate, quarantined, handled, rejected with a reason)"
    );
    metrics::describe_counter!(
        "hookforge_verification_failures_total",
        "Deliveries refused because authentication failed"
    );
    metrics::describe_counter!(
        "hookforge_store_errors_total",
        "Inbox store failures outside the request path, by operation (claim, record, renew, recover, purge, stats)"
    );
    metrics::describe_counter!(
        "hookforge_stale_skipped_total",
        "Stale deliveries (older than one already received for the same entity) marked done unhandled (--skip-stale)"
    );
    metrics::describe_gauge!("hookforge_inbox_depth", "Deliveries in the inbox by status");
    metrics::describe_gauge!(
        "hookforge_oldest_pending_age_seconds",
        "Age of the oldest delivery waiting for its handler (0 when none)"
    );
    metrics::describe_histogram!(
        "hookforge_handler_duration_seconds",
        metrics::Unit::Seconds,
        "Handler calls by vendor and outcome"
    );
}

fn parse_vendor_setting(s: &str) -> Result<(String, String, String), String> {
    let (v, rest) = s
        .split_once('.')
        .ok_or_else(|| format!("{s:?}: expected VENDOR.NAME=VALUE"))?;
    let (name, value) = super::parse_setting(rest)?;
    Ok((v.to_string(), name, value))
}

fn parse_token(s: &str) -> Result<(String, String), String> {
    let (v, token) = vendor_pair(s, "VENDOR=TOKEN")?;
    Ok((v, token.to_string()))
}

fn parse_endpoint(s: &str) -> Result<(String, String), String> {
    let (v, url) = vendor_pair(s, "VENDOR=URL")?;
    if !url.starts_with("https://") && !url.starts_with("http://") {
        return Err(format!("the endpoint for {v} must be an http(s):// URL"));
    }
    Ok((v, url.to_string()))
}
