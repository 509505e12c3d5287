//! The `hookforge` command line.
//!
//! Exit codes: 0 success, 1 a check or parse failed, 2 usage error or an
//! unreachable target.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use hookforge::{HeaderMap, VendorSpec};

#[derive(Parser)]
#[command(
    name = "hookforge",
    version,
    about = "Receive other companies' webhooks correctly"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the vendors hookforge knows.
    Vendors {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a vendor's documented events.
    Events {
        #[arg(long, value_parser = vendor_ids())]
        vendor: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Parse one delivery body and print the typed value re-serialized.
    Parse {
        #[arg(long, value_parser = vendor_ids())]
        vendor: String,
        /// A header sent with the delivery, as `Name: value` (repeatable).
        #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
        headers: Vec<(http::HeaderName, http::HeaderValue)>,
        /// The body; `-` or nothing reads standard input.
        file: Option<PathBuf>,
    },
    /// Run the reference receiver: one route per vendor at /hooks/<vendor>.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// A vendor id, or `all` (repeatable).
        #[arg(long = "vendor", default_value = "all")]
        vendors: Vec<String>,
        /// A vendor's secret, as `VENDOR=SECRET` (repeat for several vendors, or
        /// for rotation). Vendors that document no auth accept an optional
        /// shared secret in the `X-Webhook-Secret` header.
        #[arg(long = "secret", value_name = "VENDOR=SECRET", value_parser = parse_secret)]
        secrets: Vec<(String, String)>,
        /// Keep the inbox in this SQLite file (in memory when absent).
        #[arg(long)]
        db: Option<PathBuf>,
        /// A vendor's HMAC format where it is undocumented, as
        /// `VENDOR=HASH:ENCODING` (e.g. `socotra=sha256:base64`; default from the manifest).
        #[arg(long = "hmac-format", value_name = "VENDOR=HASH:ENCODING", value_parser = parse_vendor_hmac)]
        hmac_formats: Vec<(String, hookforge::auth::HmacFormat)>,
        /// Store deliveries without handling them (the worker stays off).
        #[arg(long)]
        no_process: bool,
        /// Largest accepted body, in bytes.
        #[arg(long, default_value_t = hookforge::receive::receiver::DEFAULT_BODY_LIMIT)]
        body_limit: usize,
        #[command(flatten)]
        more: ServeArgs,
    },
    /// Print the exact headers the vendor would send with a body.
    Sign {
        #[arg(long, value_parser = vendor_ids())]
        vendor: String,
        /// The webhook secret (omit for vendors without auth).
        #[arg(long)]
        secret: Option<String>,
        /// Unix seconds for timestamped schemes (default: now).
        #[arg(long)]
        timestamp: Option<u64>,
        /// HMAC format where the vendor does not document it, as HASH:ENCODING.
        #[arg(long, value_name = "HASH:ENCODING", value_parser = parse_hmac)]
        hmac_format: Option<hookforge::auth::HmacFormat>,
        /// The body; `-` or nothing reads standard input.
        file: Option<PathBuf>,
    },
    /// Replay every sample (and the negative cases) against a receiver.
    Check {
        #[arg(long, value_parser = vendor_ids())]
        vendor: String,
        /// The receiver's endpoint for this vendor.
        #[arg(long)]
        url: String,
        /// The secret the receiver is configured with.
        #[arg(long)]
        secret: Option<String>,
        /// Seconds to wait for each answer (default: the vendor's budget, or 30).
        #[arg(long)]
        timeout: Option<f64>,
        /// HMAC format where the vendor does not document it, as HASH:ENCODING.
        #[arg(long, value_name = "HASH:ENCODING", value_parser = parse_hmac)]
        hmac_format: Option<hookforge::auth::HmacFormat>,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Only cases whose id matches (`*`, `?`), e.g. 'prets/auth/*'.
        #[arg(long)]
        filter: Option<String>,
        /// Write the report as JSON.
        #[arg(long, value_name = "FILE")]
        report_json: Option<PathBuf>,
        /// Write the report as JUnit XML.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Serve the vendor's API from a local sandbox and report follow-up calls.
        #[arg(long)]
        sandbox: bool,
        /// Where the sandbox listens (implies --sandbox), so your receiver can be
        /// pointed at it beforehand.
        #[arg(long, value_name = "ADDR")]
        sandbox_addr: Option<std::net::SocketAddr>,
    },
    /// Start the reference receiver and run the whole suite against it, for every vendor.
    Demo,
    /// Send signed deliveries at a fixed rate and report the achieved rate and latency.
    Load {
        #[arg(long, value_parser = vendor_ids())]
        vendor: String,
        #[arg(long)]
        url: String,
        #[arg(long)]
        secret: Option<String>,
        /// Deliveries per second.
        #[arg(long)]
        rate: f64,
        /// HMAC format where the vendor does not document it, as HASH:ENCODING.
        #[arg(long, value_name = "HASH:ENCODING", value_parser = parse_hmac)]
        hmac_format: Option<hookforge::auth::HmacFormat>,
        /// Seconds to send for.
        #[arg(long)]
        duration: f64,
        /// Seconds to wait for each answer.
        #[arg(long, default_value_t = 30.0)]
        timeout: f64,
        #[arg(long)]
        json: bool,
    },
    /// Inspect and replay the SQLite inbox.
    Inbox {
        /// The inbox file.
        #[arg(long, default_value = "hookforge-inbox.db")]
        db: PathBuf,
        #[command(subcommand)]
        action: InboxAction,
    },
}

/// The rest of `serve`'s options.
#[derive(clap::Args)]
struct ServeArgs {
    /// A file holding a vendor's secret(s), one per line, as `VENDOR=PATH`
    /// (repeatable). Secrets also come from `HOOKFORGE_SECRET_<VENDOR>`
    /// (comma-separated for rotation), so they need not appear in argv.
    #[arg(long = "secret-file", value_name = "VENDOR=PATH", value_parser = parse_secret_file)]
    secret_files: Vec<(String, PathBuf)>,
    /// Serve this vendor, whose docs give no authentication, without a
    /// shared secret (repeatable). Without it such a vendor is not served.
    #[arg(long = "allow-unsigned", value_name = "VENDOR", value_parser = vendor_ids())]
    allow_unsigned: Vec<String>,
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
    /// Seconds a handler call may take before it counts as a failed attempt.
    #[arg(long, default_value_t = 30.0)]
    handler_timeout: f64,
    /// Handler calls in flight at once, per vendor.
    #[arg(long, default_value_t = 4)]
    handler_concurrency: usize,
    /// Attempts before a delivery becomes `dead`.
    #[arg(long, default_value_t = 10)]
    max_attempts: u32,
    /// Delete `done` deliveries older than this (e.g. `7d`, `12h`, `30m`, `90s`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    retain: Option<std::time::Duration>,
    /// Deliveries the in-memory inbox holds before answering 503 (without --db).
    #[arg(long, default_value_t = hookforge::receive::store::MemoryStore::DEFAULT_CAPACITY)]
    memory_capacity: usize,
}

fn parse_secret_file(s: &str) -> Result<(String, PathBuf), String> {
    let (v, path) = vendor_pair(s, "VENDOR=PATH")?;
    Ok((v, PathBuf::from(path)))
}

/// `VENDOR=VALUE` with a known vendor id.
fn vendor_pair<'s>(s: &'s str, expected: &str) -> Result<(String, &'s str), String> {
    let (v, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected {expected}"))?;
    if hookforge::vendor(v).is_none() {
        return Err(format!("unknown vendor {v:?}"));
    }
    Ok((v.to_string(), value))
}

/// `90`, `90s`, `30m`, `12h` or `7d`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a whole number with a unit (s, m, h, d), e.g. 7d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?}: expected s, m, h or d"
            ));
        }
    };
    if secs == 0 {
        return Err("a retention of 0 would delete deliveries as soon as they are done".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// A vendor's secrets from the environment (`HOOKFORGE_SECRET_<VENDOR>`,
/// comma-separated) and from `--secret-file` files (one per line).
fn extra_secrets(files: &[(String, PathBuf)]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for v in hookforge::vendors() {
        let var = format!(
            "HOOKFORGE_SECRET_{}",
            v.id.to_ascii_uppercase().replace('-', "_")
        );
        if let Ok(list) = std::env::var(&var) {
            for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                out.push((v.id.to_string(), s.to_string()));
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
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            out.push((v.clone(), line.to_string()));
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

#[derive(Subcommand)]
enum InboxAction {
    /// List stored deliveries.
    List {
        /// Only this status: pending, processing, done, quarantined, dead.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show one delivery with its body.
    Show { id: i64 },
    /// Queue a delivery (e.g. a dead letter) to be handled again by the next
    /// running receiver, with its attempt count reset.
    Replay { id: i64 },
    /// Parse quarantined deliveries again with this binary's models and move
    /// those that now fit to pending.
    Reparse {
        /// One delivery.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        id: Option<i64>,
        /// Every quarantined delivery.
        #[arg(long)]
        all: bool,
    },
}

fn parse_hmac(s: &str) -> Result<hookforge::auth::HmacFormat, String> {
    s.parse()
        .map_err(|e: hookforge::auth::AuthConfigError| e.to_string())
}

fn parse_vendor_hmac(s: &str) -> Result<(String, hookforge::auth::HmacFormat), String> {
    let (v, f) = vendor_pair(s, "VENDOR=HASH:ENCODING")?;
    Ok((v, parse_hmac(f)?))
}

fn parse_secret(s: &str) -> Result<(String, String), String> {
    let (v, secret) = vendor_pair(s, "VENDOR=SECRET")?;
    if secret.is_empty() {
        return Err(format!("the secret for {v} is empty"));
    }
    Ok((v, secret.to_string()))
}

fn vendor_ids() -> PossibleValuesParser {
    PossibleValuesParser::new(hookforge::vendors().iter().map(|v| v.id))
}

fn parse_header(s: &str) -> Result<(http::HeaderName, http::HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("expected `Name: value`, got {s:?}"))?;
    let name = http::HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{:?} is not a valid header name", name.trim()))?;
    let value = http::HeaderValue::from_str(value.trim()).map_err(|_| {
        format!("the value of header `{name}` contains characters not allowed in a header")
    })?;
    Ok((name, value))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Vendors { json } => vendors(json),
        Command::Events { vendor, json } => events(spec(&vendor), json),
        Command::Parse {
            vendor,
            headers,
            file,
        } => parse(spec(&vendor), headers, file),
        Command::Serve {
            addr,
            vendors,
            secrets,
            db,
            hmac_formats,
            no_process,
            body_limit,
            more,
        } => {
            let mut cfg = hookforge::receive::serve::ServeConfig::new(addr);
            cfg.hmac_formats = hmac_formats.into_iter().collect();
            let mut secrets = secrets;
            match extra_secrets(&more.secret_files) {
                Ok(extra) => secrets.extend(extra),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
            let secs = |v: f64, what: &str| duration_arg(v, what);
            let limits = (
                secs(more.header_read_timeout, "--header-read-timeout"),
                secs(more.body_timeout, "--body-timeout"),
                secs(more.idle_timeout, "--idle-timeout"),
                secs(more.handler_timeout, "--handler-timeout"),
            );
            let (Ok(header_read), Ok(body), Ok(idle), Ok(handler)) = limits else {
                return ExitCode::from(2);
            };
            if more.max_connections == 0 || more.handler_concurrency == 0 || more.max_attempts == 0
            {
                eprintln!(
                    "error: --max-connections, --handler-concurrency and --max-attempts must be at least 1"
                );
                return ExitCode::from(2);
            }
            cfg.limits = hookforge::receive::serve::ServerLimits {
                header_read_timeout: header_read,
                idle_timeout: idle,
                max_connections: more.max_connections,
            };
            cfg.body_timeout = body;
            cfg.worker = hookforge::receive::inbox::WorkerConfig {
                handler_timeout: handler,
                concurrency_per_vendor: more.handler_concurrency,
            };
            cfg.retry.max_attempts = more.max_attempts;
            cfg.on_misfit = more.on_misfit;
            cfg.allow_unsigned = more.allow_unsigned;
            cfg.retain = more.retain;
            cfg.memory_capacity = more.memory_capacity;
            serve(cfg, vendors, secrets, db, !no_process, body_limit)
        }
        Command::Sign {
            vendor,
            secret,
            timestamp,
            hmac_format,
            file,
        } => sign(spec(&vendor), secret, timestamp, hmac_format, file),
        Command::Inbox { db, action } => inbox(db, action),
        Command::Check {
            vendor,
            url,
            secret,
            timeout,
            hmac_format,
            concurrency,
            filter,
            report_json,
            junit,
            sandbox,
            sandbox_addr,
        } => {
            let opts = CheckOpts {
                url,
                secret,
                timeout,
                hmac_format,
                concurrency,
                filter,
                report_json,
                junit,
                sandbox: sandbox || sandbox_addr.is_some(),
                sandbox_addr,
            };
            runtime().block_on(check(spec(&vendor), opts))
        }
        Command::Demo => runtime().block_on(demo()),
        Command::Load {
            vendor,
            url,
            secret,
            rate,
            hmac_format,
            duration,
            timeout,
            json,
        } => {
            let args = LoadArgs {
                url,
                secret,
                hmac_format,
                rate,
                duration,
                timeout,
                json,
            };
            runtime().block_on(load(spec(&vendor), args))
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap_or_else(|e| {
        eprintln!("error: cannot start the async runtime: {e}");
        std::process::exit(1)
    })
}

struct LoadArgs {
    url: String,
    secret: Option<String>,
    hmac_format: Option<hookforge::auth::HmacFormat>,
    rate: f64,
    duration: f64,
    timeout: f64,
    json: bool,
}

struct CheckOpts {
    url: String,
    secret: Option<String>,
    timeout: Option<f64>,
    hmac_format: Option<hookforge::auth::HmacFormat>,
    concurrency: usize,
    filter: Option<String>,
    report_json: Option<PathBuf>,
    junit: Option<PathBuf>,
    sandbox: bool,
    sandbox_addr: Option<std::net::SocketAddr>,
}

fn progress_bar(len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    if !io::IsTerminal::is_terminal(&io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    Some(bar)
}

fn duration_arg(secs: f64, what: &str) -> Result<std::time::Duration, ExitCode> {
    std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            eprintln!("error: --{what} must be a positive number of seconds");
            ExitCode::from(2)
        })
}

async fn check(v: &'static VendorSpec, o: CheckOpts) -> ExitCode {
    let mut h =
        hookforge::conformance::harness::Harness::new(v, o.url.clone()).concurrency(o.concurrency);
    if let Some(s) = o.secret {
        h = h.secret(s);
    }
    if let Some(f) = o.hmac_format {
        h = h.hmac_format(f);
    }
    if let Some(t) = o.timeout {
        match duration_arg(t, "timeout") {
            Ok(d) => h = h.timeout(d),
            Err(code) => return code,
        }
    }
    if let Some(f) = o.filter {
        h = h.filter(f);
    }
    if o.sandbox {
        let sb = match o.sandbox_addr {
            Some(addr) => match hookforge::conformance::sandbox::Sandbox::start_on(addr).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: cannot start the sandbox on {addr}: {e}");
                    return ExitCode::from(2);
                }
            },
            None => hookforge::conformance::sandbox::Sandbox::start().await,
        };
        eprintln!("sandbox serving {}'s API at {}", v.name, sb.uri());
        h = h.sandbox(sb);
    }
    let total = v.events.iter().map(|e| e.samples.len()).sum::<usize>() + 5;
    let bar = progress_bar(total as u64, v.id);
    if let Some(b) = bar.clone() {
        h = h.on_case(move |c| {
            b.inc(1);
            b.set_message(c.id.clone());
        });
    }
    let report = match h.run().await {
        Ok(r) => r,
        // Unreachable target or unusable configuration: both exit 2.
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Err(code) = write_reports(
        std::slice::from_ref(&report),
        o.report_json.as_ref(),
        o.junit.as_ref(),
    ) {
        return code;
    }
    let code = print_text(&report.table());
    if code != ExitCode::SUCCESS {
        return code;
    }
    if report.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn write_reports(
    reports: &[hookforge::conformance::harness::Report],
    json: Option<&PathBuf>,
    junit: Option<&PathBuf>,
) -> Result<(), ExitCode> {
    if let Some(path) = json {
        let value = if reports.len() == 1 {
            serde_json::to_value(&reports[0])
        } else {
            serde_json::to_value(reports)
        }
        .expect("reports serialize");
        let text = serde_json::to_string_pretty(&value).expect("Value serializes");
        std::fs::write(path, text + "\n").map_err(|e| {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::from(2)
        })?;
    }
    if let Some(path) = junit {
        std::fs::write(
            path,
            hookforge::conformance::harness::Report::junit(reports),
        )
        .map_err(|e| {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::from(2)
        })?;
    }
    Ok(())
}

/// A secret in the vendor's documented format, random per run.
fn demo_secret(v: &VendorSpec) -> Option<String> {
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

async fn demo() -> ExitCode {
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
        let failures: Vec<&hookforge::conformance::harness::CaseResult> = r
            .cases
            .iter()
            .filter(|c| c.outcome != hookforge::conformance::harness::Outcome::Pass)
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

async fn load(v: &'static VendorSpec, args: LoadArgs) -> ExitCode {
    let LoadArgs {
        url,
        secret,
        hmac_format,
        rate,
        duration,
        timeout,
        json,
    } = args;
    let (duration, timeout) = match (
        duration_arg(duration, "duration"),
        duration_arg(timeout, "timeout"),
    ) {
        (Ok(d), Ok(t)) => (d, t),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    if !(rate > 0.0 && rate.is_finite()) {
        eprintln!("error: --rate must be a positive number");
        return ExitCode::from(2);
    }
    let cfg = hookforge::conformance::load::LoadConfig {
        vendor: v,
        url,
        secret: secret.map(hookforge::auth::Secret::new),
        hmac_format,
        rate,
        duration,
        timeout,
    };
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let bar = progress_bar(total, "sending");
    let tick = bar
        .clone()
        .map(|b| move |i: usize| b.set_position(i as u64));
    let result = hookforge::conformance::load::run(
        &cfg,
        tick.as_ref().map(|f| f as &(dyn Fn(usize) + Sync)),
    )
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(r) => {
            let code = if json {
                print_json(&serde_json::to_value(&r).expect("report serializes"))
            } else {
                print_text(&format!("{}\n", r.summary()))
            };
            if code != ExitCode::SUCCESS {
                return code;
            }
            if r.failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        // Unreachable target or unusable configuration: both exit 2.
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .init();
}

fn serve(
    mut cfg: hookforge::receive::serve::ServeConfig,
    vendors: Vec<String>,
    secrets: Vec<(String, String)>,
    db: Option<PathBuf>,
    process: bool,
    body_limit: usize,
) -> ExitCode {
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
        cfg.vendors = ok;
    } else {
        let mut list = Vec::new();
        for v in &vendors {
            match hookforge::vendor(v) {
                Some(s) => list.push(s),
                None => {
                    eprintln!("error: unknown vendor {v:?} (known: {})", known_ids());
                    return ExitCode::from(2);
                }
            }
        }
        cfg.vendors = list;
    }
    for (v, s) in secrets {
        cfg.secrets
            .entry(v)
            .or_default()
            .push(hookforge::auth::Secret::new(s));
    }
    cfg.db = db;
    cfg.process = process;
    cfg.body_limit = body_limit;
    init_logging();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let server = match hookforge::receive::serve::start(cfg).await {
            Ok(s) => s,
            Err(e @ hookforge::receive::serve::ServeError::Bind { .. }) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            Err(e @ hookforge::receive::serve::ServeError::Config { .. }) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        for (v, why) in &server.not_served {
            eprintln!("note: not serving {v}: {why}");
        }
        if server.served.is_empty() {
            eprintln!("error: no vendor can be served (see the notes above)");
            return ExitCode::from(2);
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
        tokio::select! {
            r = server.task => match r {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => { eprintln!("error: server failed: {e}"); ExitCode::FAILURE }
                Err(e) => { eprintln!("error: server task failed: {e}"); ExitCode::FAILURE }
            },
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted; shutting down");
                ExitCode::SUCCESS
            }
        }
    })
}

fn known_ids() -> String {
    hookforge::vendors()
        .iter()
        .map(|v| v.id)
        .collect::<Vec<_>>()
        .join(", ")
}

fn sign(
    v: &VendorSpec,
    secret: Option<String>,
    timestamp: Option<u64>,
    hmac_format: Option<hookforge::auth::HmacFormat>,
    file: Option<PathBuf>,
) -> ExitCode {
    let body = match read_input(file.as_ref()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let signer = match secret {
        Some(s) => match hookforge::auth::Signer::for_manifest_with(
            v.manifest(),
            hookforge::auth::Secret::new(s),
            hmac_format,
        ) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: {}: {e}", v.id);
                return ExitCode::from(2);
            }
        },
        None if !matches!(v.manifest().auth, hookforge::manifest::Auth::None { .. }) => {
            eprintln!("error: {} signs its deliveries: pass --secret", v.id);
            return ExitCode::from(2);
        }
        None => None,
    };
    let attempt = hookforge::conformance::delivery::Attempt {
        attempt: 0,
        timestamp,
    };
    match hookforge::conformance::delivery::vendor_headers(v, &body, signer.as_ref(), &attempt) {
        Ok(headers) => {
            let mut out = String::new();
            for (k, val) in headers {
                out.push_str(&format!("{k}: {val}\n"));
            }
            print_text(&out)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn inbox(db: PathBuf, action: InboxAction) -> ExitCode {
    use hookforge::receive::store::{SqliteStore, Status, Store};
    if !db.is_file() {
        eprintln!("error: no inbox at {} (pass --db PATH)", db.display());
        return ExitCode::from(2);
    }
    let store = match SqliteStore::open(&db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match action {
        InboxAction::List {
            status,
            limit,
            json,
        } => {
            let status = match status.as_deref().map(|s| (s, Status::parse(s))) {
                None => None,
                Some((_, Some(st))) => Some(st),
                Some((s, None)) => {
                    eprintln!(
                        "error: unknown status {s:?}: expected pending, processing, done, quarantined or dead"
                    );
                    return ExitCode::from(2);
                }
            };
            store.list(status, limit).map(|rows| {
                if json {
                    print_json(&serde_json::to_value(&rows).expect("rows serialize"))
                } else {
                    let mut out = format!(
                        "{:>6}  {:<10} {:<13} {:<40} {:>3}  {}\n",
                        "ID", "STATUS", "VENDOR", "EVENT", "TRY", "EVENT ID / ERROR"
                    );
                    for r in rows {
                        let last = r
                            .last_error
                            .clone()
                            .unwrap_or_else(|| r.event_id.clone().unwrap_or_default());
                        out.push_str(&format!(
                            "{:>6}  {:<10} {:<13} {:<40} {:>3}  {}\n",
                            r.id,
                            r.status.as_str(),
                            r.vendor,
                            r.event_type,
                            r.attempts,
                            last
                        ));
                    }
                    print_text(&out)
                }
            })
        }
        InboxAction::Show { id } => store.get(id).map(|row| match row {
            None => {
                eprintln!("error: no delivery {id}");
                ExitCode::FAILURE
            }
            Some(r) => {
                let mut v = serde_json::to_value(&r).expect("row serializes");
                v["body"] = match serde_json::from_slice::<serde_json::Value>(&r.body) {
                    Ok(j) => j,
                    Err(_) => {
                        serde_json::Value::String(String::from_utf8_lossy(&r.body).into_owned())
                    }
                };
                print_json(&v)
            }
        }),
        InboxAction::Reparse { id, all } => reparse(&store, id, all),
        InboxAction::Replay { id } => store.requeue(id).map(|found| {
            if found {
                println!(
                    "delivery {id} queued: the next running receiver with this inbox handles it"
                );
                ExitCode::SUCCESS
            } else {
                eprintln!("error: no delivery {id}");
                ExitCode::FAILURE
            }
        }),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}

/// Re-parses quarantined deliveries with this binary's models; those that
/// fit now go to pending. Exit 1 when a named delivery still misfits.
fn reparse(
    store: &hookforge::receive::store::SqliteStore,
    id: Option<i64>,
    all: bool,
) -> Result<ExitCode, hookforge::receive::store::StoreError> {
    use hookforge::receive::store::{Status, Store};
    let rows = match (id, all) {
        (Some(id), _) => match store.get(id)? {
            Some(r) if r.status == Status::Quarantined => vec![r],
            Some(r) => {
                eprintln!(
                    "error: delivery {id} is {}, not quarantined",
                    r.status.as_str()
                );
                return Ok(ExitCode::FAILURE);
            }
            None => {
                eprintln!("error: no delivery {id}");
                return Ok(ExitCode::FAILURE);
            }
        },
        _ => store.list(Some(Status::Quarantined), usize::MAX)?,
    };
    let (mut released, mut still) = (0, 0);
    for r in rows {
        let Some(v) = hookforge::vendor(&r.vendor) else {
            println!(
                "{}: vendor {:?} is unknown to this binary; left quarantined",
                r.id, r.vendor
            );
            still += 1;
            continue;
        };
        match v.check(&r.body, &r.header_map()) {
            Ok(c) => {
                store.release(r.id)?;
                println!(
                    "{}: {} {} now fits; moved to pending",
                    r.id, v.id, c.event_type
                );
                released += 1;
            }
            Err(e) => {
                let why = e.to_string();
                store.requarantine(r.id, &why)?;
                println!("{}: still quarantined: {why}", r.id);
                still += 1;
            }
        }
    }
    println!("reparse: {released} moved to pending, {still} still quarantined");
    Ok(if id.is_some() && still > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn spec(id: &str) -> &'static VendorSpec {
    hookforge::vendor(id).expect("clap only accepts known vendor ids")
}

fn auth_scheme(v: &VendorSpec) -> &'static str {
    match v.manifest().auth {
        hookforge::manifest::Auth::None { .. } => "none",
        hookforge::manifest::Auth::Bearer { .. } => "bearer",
        hookforge::manifest::Auth::Hmac { .. } => "hmac",
        hookforge::manifest::Auth::StandardWebhooks { .. } => "standard-webhooks",
    }
}

fn vendors(json: bool) -> ExitCode {
    let all = hookforge::vendors();
    if json {
        let list: Vec<_> = all
            .iter()
            .map(|v| {
                serde_json::json!({
                    "id": v.id,
                    "name": v.name,
                    "events": v.events.len(),
                    "samples": v.events.iter().map(|e| e.samples.len()).sum::<usize>(),
                    "auth": auth_scheme(v),
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(list));
    }
    let mut out = format!(
        "{:<14} {:<14} {:>6} {:>8}  {}\n",
        "ID", "NAME", "EVENTS", "SAMPLES", "AUTH"
    );
    for v in all {
        let samples: usize = v.events.iter().map(|e| e.samples.len()).sum();
        out.push_str(&format!(
            "{:<14} {:<14} {:>6} {:>8}  {}\n",
            v.id,
            v.name,
            v.events.len(),
            samples,
            auth_scheme(v)
        ));
    }
    print_text(&out)
}

fn events(v: &VendorSpec, json: bool) -> ExitCode {
    if json {
        let list: Vec<_> = v
            .events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "event": e.name,
                    "description": e.description,
                    "samples": e.samples.iter().map(|s| s.path).collect::<Vec<_>>(),
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(list));
    }
    let width = v
        .events
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:<width$} {:>7}  {}\n", "EVENT", "SAMPLES", "DESCRIPTION");
    for e in v.events {
        out.push_str(&format!(
            "{:<width$} {:>7}  {}\n",
            e.name,
            e.samples.len(),
            e.description
        ));
    }
    print_text(&out)
}

fn parse(
    v: &VendorSpec,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    file: Option<PathBuf>,
) -> ExitCode {
    let body = match read_input(file.as_ref()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut map = HeaderMap::new();
    for (k, val) in headers {
        map.append(k, val);
    }
    match v.parse(&body, &map) {
        Ok(p) => print_json(&serde_json::json!({
            "vendor": v.id,
            "event": p.event_type,
            "known": p.known,
            "payload": p.payload,
        })),
        Err(e) => {
            eprintln!("error: {} delivery rejected: {e}", v.name);
            ExitCode::FAILURE
        }
    }
}

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>, String> {
    match file {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        }
        _ => {
            let mut buf = Vec::new();
            io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(buf)
        }
    }
}

fn print_json(v: &serde_json::Value) -> ExitCode {
    let text = serde_json::to_string_pretty(v).expect("Value serializes");
    print_text(&format!("{text}\n"))
}

/// Prints, treating a closed pipe (`| head`) as success rather than a panic.
fn print_text(s: &str) -> ExitCode {
    let mut out = io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write output: {e}");
            ExitCode::FAILURE
        }
    }
}
