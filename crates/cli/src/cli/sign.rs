//! `hookforge sign`: the exact headers a vendor would send.

use super::*;

/// 9999-12-31T23:59:59Z.
const MAX_TIMESTAMP: u64 = 253_402_300_799;

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    #[command(flatten)]
    pub vendor: VendorArg,
    #[command(flatten)]
    pub signing: SigningArgs,
    /// Unix seconds for timestamped schemes (default: now), up to the end
    /// of year 9999: every format a vendor sends its time in (milliseconds,
    /// RFC 3339, a JWT's expiry a minute on) holds it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=MAX_TIMESTAMP))]
    pub timestamp: Option<u64>,
    /// The event type, for vendors whose type is not in the body alone
    /// (joined from a header, as GitHub's `issues` + `opened`).
    #[arg(long, value_name = "TYPE")]
    pub event: Option<String>,
    /// The URL the delivery is posted to, for signatures that cover it (`{url}`).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The body; `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
}

pub fn run(args: Args) -> Outcome {
    let vendor = args.vendor.spec()?;
    let body = read_input(args.file.as_ref()).map_err(Failure::usage)?;
    let signer = signer(vendor, &args)?;
    let (timestamp, event) = (args.timestamp, args.event.clone());
    let attempt = hookforge::conformance::delivery::Attempt {
        attempt: 0,
        timestamp,
        event_type: event,
        event_id: None,
    };
    match hookforge::conformance::delivery::vendor_delivery(
        vendor,
        &body,
        signer.as_ref(),
        &attempt,
    ) {
        Ok((wire, headers)) => {
            if let Some(asked) = &attempt.event_type {
                note_event_read_otherwise(vendor, &wire, &headers, asked);
            }
            let mut out = String::new();
            for (k, val) in headers {
                out.push_str(&format!("{k}: {val}\n"));
            }
            // When what is sent differs from the input (a form vendor's
            // form, a signature written into the body), the body follows
            // after a blank line, as in an HTTP message.
            if wire != body {
                out.push('\n');
                out.push_str(&String::from_utf8_lossy(&wire));
                out.push('\n');
            }
            print_text(&out)
        }
        Err(e @ hookforge::conformance::delivery::HeadersError::TypeNotInBody(_)) => {
            Err(Failure::usage(e))
        }
        Err(e) => Err(Failure::failed(e)),
    }
}

/// Says so when a receiver would read the signed delivery as another event
/// than `--event` asked for (GitHub's type is the header's part joined with
/// the body's `/action`: `--event issues.closed` on an `opened` body is
/// read as `issues.opened`), or `--event` is not a documented event.
fn note_event_read_otherwise(
    vendor: &VendorSpec,
    wire: &[u8],
    headers: &[(String, String)],
    asked: &str,
) {
    let map =
        hookforge_core::util::header_map(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    match vendor.read_envelope(wire, &map) {
        Ok(env) if env.event_type != asked => eprintln!(
            "note: a receiver reads this delivery as `{}`, not `{}`",
            Shown(&env.event_type),
            Shown(asked)
        ),
        _ if vendor.event(asked).is_none() => eprintln!(
            "note: `{}` is not one of {}'s documented events (`hookforge events` with the same --vendor or --vendor-dir lists them)",
            Shown(asked),
            vendor.id
        ),
        _ => {}
    }
}

/// The vendor's signer for `--secret` (with `--endpoint`, `--setting` and
/// `--key-url`), as `check` signs; none for a vendor without auth.
fn signer(vendor: &VendorSpec, a: &Args) -> Result<Option<hookforge::auth::Signer>, Failure> {
    let signing = a.signing.signing(vendor)?;
    if signing.secret.is_none()
        && !matches!(
            vendor.manifest().auth,
            hookforge::manifest::Auth::None { .. }
        )
    {
        return Err(Failure::usage(format!(
            "{} signs its deliveries: pass --secret, --secret-file or {}",
            vendor.id,
            secret_env_var(vendor.id)
        )));
    }
    signing
        .signer(vendor, signing.secret.as_ref(), a.endpoint.as_deref())
        .map_err(|e| Failure::usage(e.to_string()))
}
