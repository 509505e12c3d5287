//! The `hookforge` command line (the `hookforge` package's binary calls
//! [`main`]).
//!
//! Exit codes: 0 success, 1 a check or parse failed, 2 usage error or an
//! unreachable target.

// The commands are written against the `hookforge` facade's paths; here
// they name the crates the facade re-exports.
extern crate self as hookforge;

mod cli;

use hookforge_core::{
    HeaderMap, VendorSpec, auth, dedupe_key, manifest, parse, register, vendor, vendor_dir, vendors,
};
use hookforge_drift::{diff, drift};
use hookforge_harness::{conformance, simulate};
use hookforge_receive as receive;
use hookforge_schema::{export, infer, onboard};
use hookforge_ui as ui;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hookforge",
    version,
    about = "Receive other companies' webhooks correctly"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// A vendor that is not built in: a directory laid out like
    /// `schemas/<vendor>/` (manifest.json, definitions.json, events/), with
    /// optional `samples/<event>/*.json`. Usable wherever `--vendor` is;
    /// with one directory, `--vendor` may be left out. Repeatable. For
    /// `infer`, the directory it writes (OUT).
    #[arg(long = "vendor-dir", value_name = "DIR", global = true)]
    vendor_dir: Vec<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// List the vendors hookforge knows.
    Vendors(cli::vendors::Args),
    /// List a vendor's documented events.
    Events(cli::events::Args),
    /// Parse one delivery body and print the typed value re-serialized.
    Parse(cli::parse::Args),
    /// Run the reference receiver: one route per vendor at /hooks/<vendor>.
    Serve(cli::serve::Args),
    /// Print the exact headers the vendor would send with a body.
    Sign(cli::sign::Args),
    /// A throwaway key pair for a vendor that signs with a private key (with
    /// `--json`: `private_key` and `public_key`).
    Keygen(cli::keygen::Args),
    /// Replay every sample (and the negative cases) against a receiver.
    Check(cli::check::Args),
    /// Start the reference receiver and run the whole suite against it, for every vendor.
    Demo,
    /// Send signed deliveries at a fixed rate and report the achieved rate and latency.
    Load(cli::load::Args),
    /// Inspect and replay the SQLite inbox.
    Inbox(cli::inbox::Args),
    /// Find the example payloads in a vendor's documentation text and repair them into samples.
    Extract(cli::extract::Args),
    /// Infer a draft-07 schema from sample payloads of one event, or (with
    /// `--vendor-dir OUT SAMPLES_DIR`) a vendor directory from samples per event.
    Infer(cli::infer::Args),
    /// What changed between two vendor directories; exit 1 when anything is breaking.
    Diff(cli::diff::Args),
    /// Propose schema patches and redacted samples from the deliveries in the inbox.
    Drift(cli::drift::Args),
    /// Serve the inbox dashboard (list, filter, inspect, replay, re-parse).
    Ui(cli::ui::Args),
    /// Write a vendor's webhooks as an AsyncAPI 3.0 or OpenAPI 3.1 document.
    Export(cli::export::Args),
    /// Play the vendor over time: retries, divert/suspend, faults; a verdict per event.
    Simulate(cli::simulate::Args),
}

/// Runs the command line: parses `std::env::args`, runs the command, and
/// returns its exit code (0 success, 1 failed, 2 usage or unreachable).
pub fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(),
    }
}

fn try_main() -> cli::Outcome {
    // Runtime vendors are loaded before clap parses, so that `--vendor`
    // (checked against the known ids) accepts them.
    let args = cli::vendor_dirs::load_from_args(std::env::args_os().collect())
        .map_err(cli::Failure::usage)?;
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Infer(a) => cli::infer::run(a, &cli.vendor_dir),
        Command::Vendors(a) => cli::vendors::run(a),
        Command::Events(a) => cli::events::run(a),
        Command::Parse(a) => cli::parse::run(a),
        Command::Serve(a) => cli::serve::run(a),
        Command::Sign(a) => cli::sign::run(a),
        Command::Keygen(a) => cli::keygen::run(a),
        Command::Check(a) => cli::check::run(a),
        Command::Demo => cli::demo::run(),
        Command::Load(a) => cli::load::run(a),
        Command::Inbox(a) => cli::inbox::run(a),
        Command::Simulate(a) => cli::simulate::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Ui(a) => cli::ui::run(a),
        Command::Diff(a) => cli::diff::run(a),
        Command::Drift(a) => cli::drift::run(a, &cli.vendor_dir),
        Command::Extract(a) => cli::extract::run(a),
    }
}
