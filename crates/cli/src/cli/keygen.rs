//! `hookforge keygen`: a throwaway key pair for a vendor that signs with a
//! private key, for testing: the private key is what `sign`, `check`,
//! `load` and `simulate` take as `--secret`; the public key, written as the
//! manifest's `key` format says, is what `serve` takes.

use super::*;
use hookforge::manifest::{Auth, KeyFormat};

pub type Args = VendorJsonArgs;

pub fn run(a: Args) -> Outcome {
    let v = a.vendor.spec()?;
    let (algorithm, pair, public) = key_pair(v)?;
    if a.json {
        return print_json(&serde_json::json!({
            "vendor": v.id,
            "algorithm": algorithm.as_str(),
            "private_key": pair.private_pem.expose(),
            "public_key": public,
        }));
    }
    print_text(&format!(
        "# {} ({}): a throwaway key pair for tests.\n# The private key: --secret for sign, check, load and simulate (keep it out of logs).\n{}# The public key: `serve --secret {}=…`.\n{public}\n",
        v.name,
        algorithm.as_str(),
        pair.private_pem.expose(),
        v.id
    ))
}

/// A key pair made for a vendor: its algorithm, the pair, and the public
/// key written as the vendor shows it.
pub type Generated = (
    hookforge::manifest::SignatureAlgorithm,
    hookforge::auth::KeyPair,
    String,
);

/// A new key pair for a vendor that signs with a private key, and its
/// public key as the vendor shows it; a usage error for other vendors.
pub fn key_pair(v: &VendorSpec) -> Result<Generated, Failure> {
    let (algorithm, format) = key_algorithm(v)?;
    if !algorithm.is_public_key() {
        return Err(Failure::usage(format!(
            "{} signs with a shared secret (HMAC), not a key pair",
            v.id
        )));
    }
    key_pair_of(algorithm, format)
}

/// The algorithm `v` signs with and the form of its public key, for a
/// vendor that signs at all with a signature or JWT scheme.
pub fn key_algorithm(
    v: &VendorSpec,
) -> Result<(hookforge::manifest::SignatureAlgorithm, KeyFormat), Failure> {
    // A JWT vendor's public key is PEM (or a JWKS document holding it).
    Ok(match &v.manifest().auth {
        Auth::Signature(sig) => (sig.algorithm, sig.key),
        Auth::Jwt(_) => {
            let scheme =
                hookforge::auth::Scheme::from_manifest(v.manifest()).map_err(Failure::usage)?;
            let alg = match scheme {
                hookforge::auth::Scheme::Jwt(j) => j.signing_algorithm(),
                _ => None,
            };
            (alg.unwrap_or_default(), KeyFormat::Pem)
        }
        _ => {
            return Err(Failure::usage(format!(
                "{} does not sign with a private key: it has no key pair",
                v.id
            )));
        }
    })
}

/// A new key pair for `algorithm`, and its public key written as `format`.
fn key_pair_of(
    algorithm: hookforge::manifest::SignatureAlgorithm,
    format: KeyFormat,
) -> Result<Generated, Failure> {
    let pair = hookforge::auth::generate_key_pair(algorithm).map_err(Failure::failed)?;
    let public = written_as(format, &pair);
    Ok((algorithm, pair, public))
}

/// The public key as the vendor shows it (the manifest's `key` format).
fn written_as(format: KeyFormat, pair: &hookforge::auth::KeyPair) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    match format {
        KeyFormat::Hex => pair.public_raw.iter().map(|b| format!("{b:02x}")).collect(),
        KeyFormat::Whpk => format!("whpk_{}", b64.encode(&pair.public_raw)),
        KeyFormat::Pem => pair.public_pem.trim_end().to_string(),
        // The DER SubjectPublicKeyInfo, as SendGrid shows its key.
        _ => pair
            .public_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect(),
    }
}
