//! `hookforge parse`: one body to its typed value, re-serialized.

use super::*;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, value_parser = vendor_ids())]
    pub vendor: String,
    /// A header sent with the delivery, as `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// The body; `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
}

pub fn run(a: Args) -> ExitCode {
    parse(spec(&a.vendor), a.headers, a.file)
}

pub fn parse(
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
