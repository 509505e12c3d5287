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
        /// Store deliveries without handling them (the worker stays off).
        #[arg(long)]
        no_process: bool,
        /// Largest accepted body, in bytes.
        #[arg(long, default_value_t = hookforge::receiver::DEFAULT_BODY_LIMIT)]
        body_limit: usize,
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
        /// The body; `-` or nothing reads standard input.
        file: Option<PathBuf>,
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

#[derive(Subcommand)]
enum InboxAction {
    /// List stored deliveries.
    List {
        /// Only this status: pending, processing, done, failed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show one delivery with its body.
    Show { id: i64 },
    /// Queue a delivery to be handled again by the next running receiver.
    Replay { id: i64 },
}

fn parse_secret(s: &str) -> Result<(String, String), String> {
    let (v, secret) = s
        .split_once('=')
        .ok_or_else(|| "expected VENDOR=SECRET".to_string())?;
    if hookforge::vendor(v).is_none() {
        return Err(format!("unknown vendor {v:?}"));
    }
    if secret.is_empty() {
        return Err(format!("the secret for {v} is empty"));
    }
    Ok((v.to_string(), secret.to_string()))
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
            no_process,
            body_limit,
        } => serve(addr, vendors, secrets, db, !no_process, body_limit),
        Command::Sign {
            vendor,
            secret,
            timestamp,
            file,
        } => sign(spec(&vendor), secret, timestamp, file),
        Command::Inbox { db, action } => inbox(db, action),
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
    addr: std::net::SocketAddr,
    vendors: Vec<String>,
    secrets: Vec<(String, String)>,
    db: Option<PathBuf>,
    process: bool,
    body_limit: usize,
) -> ExitCode {
    let mut cfg = hookforge::serve::ServeConfig::new(addr);
    if !vendors.iter().any(|v| v == "all") {
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
        let vendor_list: Vec<String> = cfg
            .vendors
            .iter()
            .map(|v| {
                let n = cfg.secrets.get(v.id).map_or(0, Vec::len);
                format!(
                    "{} ({}{})",
                    v.id,
                    auth_scheme(v),
                    if n > 1 {
                        format!(", {n} secrets")
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        let server = match hookforge::serve::start(cfg).await {
            Ok(s) => s,
            Err(e @ hookforge::serve::ServeError::Bind { .. }) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            Err(e @ hookforge::serve::ServeError::Config { .. }) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
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
        Some(s) => match hookforge::auth::Signer::for_manifest(
            v.manifest(),
            hookforge::auth::Secret::new(s),
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
    let attempt = hookforge::delivery::Attempt {
        attempt: 0,
        timestamp,
    };
    match hookforge::delivery::vendor_headers(v, &body, signer.as_ref(), &attempt) {
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
    use hookforge::inbox::{SqliteStore, Status, Store};
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
                        "error: unknown status {s:?}: expected pending, processing, done or failed"
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
