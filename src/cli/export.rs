//! `hookforge export`: a vendor's webhooks as AsyncAPI 3.0 or OpenAPI 3.1.

use super::*;

#[derive(clap::Args)]
pub struct Args {
    /// The document: `asyncapi` (3.0) or `openapi` (3.1, `webhooks`).
    #[arg(value_parser = ["asyncapi", "openapi"])]
    pub format: String,
    #[arg(long, value_parser = vendor_ids())]
    pub vendor: String,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(a: Args) -> ExitCode {
    let v = spec(&a.vendor);
    let doc = match a.format.as_str() {
        "asyncapi" => hookforge::export::asyncapi(v),
        _ => hookforge::export::openapi(v),
    };
    let text = serde_json::to_string_pretty(&doc).expect("Value serializes") + "\n";
    match &a.out {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                ExitCode::from(2)
            }
        },
        None => print_text(&text),
    }
}
