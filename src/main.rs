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
    }
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
