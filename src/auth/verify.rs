//! Checking deliveries: every scheme, against one or more active secrets,
//! in constant time.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName};
use subtle::ConstantTimeEq;

use super::*;

/// Checks deliveries against one or more active secrets.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    secrets: Vec<Secret>,
    /// Decoded keys, per secret, for HMAC schemes.
    keys: Vec<Vec<u8>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme.name())
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Verifier {
    /// A verifier for `scheme`. Schemes other than `None` need at least one secret.
    pub fn new(scheme: Scheme, secrets: Vec<Secret>) -> Result<Verifier, AuthConfigError> {
        if matches!(scheme, Scheme::None) && !secrets.is_empty() {
            // A secret nobody checks would read as protection that is not there.
            return Err(AuthConfigError(
                "secrets were given for a scheme that checks nothing (`none`)".into(),
            ));
        }
        if scheme.needs_secret() && secrets.is_empty() {
            return Err(AuthConfigError(format!(
                "the {} scheme needs at least one secret",
                scheme.name()
            )));
        }
        let keys = secrets
            .iter()
            .map(|s| key_bytes(&scheme, s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Verifier {
            scheme,
            secrets,
            keys,
        })
    }

    /// The vendor's documented scheme. For vendors that document none,
    /// secrets switch on a shared secret in [`DEFAULT_SHARED_SECRET_HEADER`].
    pub fn for_manifest(m: &Manifest, secrets: Vec<Secret>) -> Result<Verifier, AuthConfigError> {
        Verifier::for_manifest_with(m, secrets, None)
    }

    /// Like [`Verifier::for_manifest`], with an HMAC format override.
    pub fn for_manifest_with(
        m: &Manifest,
        secrets: Vec<Secret>,
        format: Option<HmacFormat>,
    ) -> Result<Verifier, AuthConfigError> {
        let scheme = match Scheme::from_manifest_with(m, format)? {
            Scheme::None if !secrets.is_empty() => Scheme::SharedSecret {
                header: HeaderName::from_static(DEFAULT_SHARED_SECRET_HEADER),
            },
            s => s,
        };
        Verifier::new(scheme, secrets)
    }

    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Verifies a delivery at the current time.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError> {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// Verifies a delivery as if received at `now` (for timestamped schemes).
    pub fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), AuthError> {
        match &self.scheme {
            Scheme::None => Ok(()),
            Scheme::Bearer { header, prefix } => {
                let value = text_header(headers, header)?;
                let token = strip_prefix_ignore_case(value, prefix).ok_or_else(|| {
                    AuthError::MalformedHeader {
                        header: header.to_string(),
                        expected: "the documented prefix (e.g. `Bearer `) followed by the secret",
                    }
                })?;
                self.any_secret_equals(token.trim().as_bytes(), header)
            }
            Scheme::SharedSecret { header } => {
                let value = text_header(headers, header)?;
                self.any_secret_equals(value.trim().as_bytes(), header)
            }
            Scheme::Hmac {
                header,
                hash,
                encoding,
            } => {
                let value = text_header(headers, header)?;
                let given =
                    decode(value.trim(), *encoding).ok_or_else(|| AuthError::MalformedHeader {
                        header: header.to_string(),
                        expected: match encoding {
                            SignatureEncoding::Base64 => "a base64 HMAC of the body",
                            SignatureEncoding::Hex => "a hexadecimal HMAC of the body",
                        },
                    })?;
                if given.len() != digest_len(*hash) {
                    return Err(AuthError::MalformedHeader {
                        header: header.to_string(),
                        expected: "an HMAC of the documented length",
                    });
                }
                for key in &self.keys {
                    let mac = hmac(*hash, key, &[body]);
                    if bool::from(mac.ct_eq(&given)) {
                        return Ok(());
                    }
                }
                Err(AuthError::WrongSignature {
                    header: header.to_string(),
                })
            }
            Scheme::StandardWebhooks { tolerance } => {
                self.verify_standard(headers, body, now, *tolerance)
            }
        }
    }

    fn any_secret_equals(&self, given: &[u8], header: &HeaderName) -> Result<(), AuthError> {
        // Compare against every secret, without stopping early, so timing says
        // nothing about which (if any) matched.
        let mut ok = subtle::Choice::from(0);
        for s in &self.secrets {
            ok |= s.0.as_bytes().ct_eq(given);
        }
        if bool::from(ok) {
            Ok(())
        } else {
            Err(AuthError::WrongSignature {
                header: header.to_string(),
            })
        }
    }

    fn verify_standard(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        tolerance: Duration,
    ) -> Result<(), AuthError> {
        let id_h = HeaderName::from_static("webhook-id");
        let ts_h = HeaderName::from_static("webhook-timestamp");
        let sig_h = HeaderName::from_static("webhook-signature");
        let id = text_header(headers, &id_h)?;
        let ts_text = text_header(headers, &ts_h)?;
        let sigs = text_header(headers, &sig_h)?;
        let ts: u64 = ts_text
            .trim()
            .parse()
            .map_err(|_| AuthError::MalformedHeader {
                header: ts_h.to_string(),
                expected: "Unix seconds",
            })?;
        let now_s = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let tol = tolerance.as_secs();
        if now_s > ts && now_s - ts > tol {
            return Err(AuthError::StaleTimestamp {
                age_secs: now_s - ts,
                tolerance_secs: tol,
            });
        }
        if ts > now_s && ts - now_s > tol {
            return Err(AuthError::FutureTimestamp {
                ahead_secs: ts - now_s,
                tolerance_secs: tol,
            });
        }
        // As the reference libraries do, entries that are not `v1,<base64>`
        // are skipped: another entry (a rotated key) may still verify.
        let candidates: Vec<Vec<u8>> = sigs
            .split_whitespace()
            .filter_map(|part| part.split_once(','))
            .filter(|(version, _)| *version == "v1")
            .filter_map(|(_, sig)| B64.decode(sig).ok())
            .collect();
        if candidates.is_empty() {
            return Err(AuthError::MalformedHeader {
                header: sig_h.to_string(),
                expected: "at least one `v1,<base64>` signature",
            });
        }
        let prefix = format!("{}.{}.", id.trim(), ts_text.trim());
        for key in &self.keys {
            let mac = hmac(HashAlgorithm::Sha256, key, &[prefix.as_bytes(), body]);
            for c in &candidates {
                if bool::from(mac.ct_eq(c)) {
                    return Ok(());
                }
            }
        }
        Err(AuthError::WrongSignature {
            header: sig_h.to_string(),
        })
    }
}
