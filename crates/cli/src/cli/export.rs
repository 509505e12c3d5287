//! `hookforge export`: a vendor's webhooks as AsyncAPI 3.0 or OpenAPI 3.1.

use super::*;

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    /// The document: `asyncapi` (3.0) or `openapi` (3.1, `webhooks`).
    #[arg(value_parser = ["asyncapi", "openapi"])]
    pub format: String,
    #[command(flatten)]
    pub vendor: VendorArg,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(a: Args) -> Outcome {
    let v = a.vendor.spec()?;
    let doc = match a.format.as_str() {
        "asyncapi" => hookforge::export::asyncapi(v),
        _ => hookforge::export::openapi(v),
    };
    let text = serde_json::to_string_pretty(&doc).expect("Value serializes") + "\n";
    match &a.out {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => Ok(()),
            Err(e) => Err(Failure::usage(format!(
                "cannot write {}: {e}",
                path.display()
            ))),
        },
        None => print_text(&text),
    }
}
