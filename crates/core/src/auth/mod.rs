//! Authenticity: signing deliveries (for the harness) and verifying them (for
//! receivers), over the raw body bytes, per the vendor's manifest.
//!
//! Secrets are [`Secret`]s: their `Debug` is redacted, they are never put in
//! errors or logs, and every comparison is constant-time. Several secrets can
//! be active at once, so a secret can be rotated without dropping deliveries.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName};

use crate::Manifest;

mod jwt;
mod keys;
pub mod remote;
mod sign;
mod signature;
mod verify;

use std::borrow::Cow;

use crate::manifest::{Auth, HashAlgorithm, SignatureAuth, SignatureEncoding};
pub use jwt::JwtScheme;
pub use sign::{SignContext, Signer};
pub use signature::{Settings, SignatureScheme};
pub use verify::Verifier;

#[cfg(feature = "public-keys")]
pub use keys::{KeyPair, generate_key_pair};

/// The shortest shared secret taken without being told to (`serve
/// --allow-weak-secret`), and the shortest a handshake may hand over: a
/// shorter one can be guessed.
pub const MIN_SECRET_BYTES: usize = 16;

/// A webhook secret. Its `Debug` never shows the value.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret's value: only for signing and verifying.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret::new(s)
    }
}

/// Why a delivery failed authentication. Messages name the header and what
/// was expected, never a secret or the value received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("missing header `{header}`")]
    MissingHeader { header: String },
    #[error("malformed {}: {expected}", place(header))]
    MalformedHeader {
        header: String,
        expected: Cow<'static, str>,
    },
    #[error("{} does not match any configured secret", place(header))]
    WrongSignature { header: String },
    #[error(
        "{} is {age_secs} s old, more than the {tolerance_secs} s tolerance",
        timed(header)
    )]
    StaleTimestamp {
        header: String,
        age_secs: u64,
        tolerance_secs: u64,
    },
    #[error(
        "{} is {ahead_secs} s in the future, more than the {tolerance_secs} s tolerance",
        timed(header)
    )]
    FutureTimestamp {
        header: String,
        ahead_secs: u64,
        tolerance_secs: u64,
    },
    /// The delivery names a key URL hookforge may not fetch.
    #[error("the key URL in {place} is refused: {why}")]
    KeyUrl {
        place: String,
        why: remote::UrlRefused,
    },
    /// The key the delivery names could not be fetched (the vendor retries).
    #[error("the vendor's key at {url} is not available")]
    KeyUnavailable { url: String },
    /// No secret yet: the vendor gives it in a handshake (Asana's
    /// `X-Hook-Secret`, sent when the webhook is created).
    #[error(
        "no secret to check `{header}` with yet: the vendor gives it in its `{handshake}` handshake"
    )]
    AwaitingSecret { header: String, handshake: String },
    /// A verified token whose claims do not hold (issuer, audience, body hash).
    #[error("the JWT in `{header}`: claim `{claim}` is not {expected}")]
    Claim {
        header: String,
        claim: String,
        expected: String,
    },
}

/// Where a credential is, for messages: a header, or a body field (the
/// `header` of a scheme that signs in the body is `body <pointer>`).
fn place(header: &str) -> String {
    match header.strip_prefix("body ") {
        Some(pointer) => format!("body field `{pointer}`"),
        None => format!("header `{header}`"),
    }
}

/// A timestamp's place for messages: `` `stripe-signature` `` as before, a
/// body field as `body field /webhookTimestamp`.
fn timed(header: &str) -> String {
    match header.strip_prefix("body ") {
        Some(pointer) => format!("body field `{pointer}`"),
        None => format!("`{header}`"),
    }
}

/// A secret or scheme that cannot be used, found when configuring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthConfigError(pub String);

/// How one vendor's deliveries are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// Nothing to check.
    None,
    /// A static secret in a header, after an optional prefix (`Bearer `).
    Bearer { header: HeaderName, prefix: String },
    /// HMAC of the raw body, encoded, in a header.
    Hmac {
        header: HeaderName,
        hash: HashAlgorithm,
        encoding: SignatureEncoding,
    },
    /// Standard Webhooks: HMAC-SHA256 of `id.timestamp.body`, `v1,<base64>`.
    StandardWebhooks { tolerance: Duration },
    /// A shared secret sent verbatim in a header: the opt-in for vendors that
    /// document no authentication.
    SharedSecret { header: HeaderName },
    /// Any HMAC signature described by its parts (the manifest's `signature`
    /// scheme: GitHub, Slack, Stripe, Shopify…).
    Signature(Box<SignatureScheme>),
    /// A JSON Web Token in a header (the manifest's `jwt` scheme).
    Jwt(Box<JwtScheme>),
}

/// The header an opted-in shared secret is expected in, by default.
pub const DEFAULT_SHARED_SECRET_HEADER: &str = "x-webhook-secret";

fn header_name(name: &str) -> Result<HeaderName, AuthConfigError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| AuthConfigError(format!("{name:?} is not a valid header name")))
}

impl Scheme {
    /// The scheme a manifest documents.
    pub fn from_manifest(m: &Manifest) -> Result<Scheme, AuthConfigError> {
        Ok(match &m.auth {
            Auth::None { .. } => Scheme::None,
            Auth::Bearer { header, prefix, .. } => Scheme::Bearer {
                header: header_name(header)?,
                prefix: prefix.clone(),
            },
            Auth::Hmac {
                header,
                hash,
                encoding,
                ..
            } => Scheme::Hmac {
                header: header_name(header)?,
                hash: *hash,
                encoding: *encoding,
            },
            Auth::StandardWebhooks { tolerance_secs } => Scheme::StandardWebhooks {
                tolerance: Duration::from_secs(*tolerance_secs),
            },
            // A static credential: the secret after a prefix, as bearer.
            Auth::Signature(s) if s.is_static() => {
                let entries = s.format_entries().map_err(|e| AuthConfigError(e.0))?;
                Scheme::Bearer {
                    header: header_name(&s.header)?,
                    prefix: entries[0].prefix.clone(),
                }
            }
            Auth::Signature(s) => Scheme::Signature(Box::new(SignatureScheme::new(s)?)),
            Auth::Jwt(j) => Scheme::Jwt(Box::new(JwtScheme::new(j)?)),
        })
    }

    /// The scheme as a signature template, for the schemes that are one.
    pub fn signature(&self) -> Option<SignatureScheme> {
        let spec = match self {
            Scheme::Hmac {
                header,
                hash,
                encoding,
            } => SignatureAuth::hmac(header.as_str(), *hash, *encoding),
            Scheme::StandardWebhooks { tolerance } => {
                SignatureAuth::standard_webhooks(tolerance.as_secs())
            }
            Scheme::Signature(s) => return Some((**s).clone()),
            _ => return None,
        };
        Some(SignatureScheme::new(&spec).expect("the built-in templates are valid"))
    }

    /// The replay window, for schemes that sign a timestamp.
    pub fn tolerance(&self) -> Option<Duration> {
        if let Scheme::Jwt(j) = self {
            return Some(j.tolerance());
        }
        self.signature().and_then(|s| s.tolerance())
    }

    /// Whether the vendor refuses a signed timestamp that far ahead too.
    pub fn refuses_future(&self) -> bool {
        self.signature().is_some_and(|s| s.refuses_future())
    }

    pub fn name(&self) -> &'static str {
        match self {
            Scheme::None => "none",
            Scheme::Bearer { .. } => "bearer",
            Scheme::Hmac { .. } => "hmac",
            Scheme::StandardWebhooks { .. } => "standard-webhooks",
            Scheme::SharedSecret { .. } => "shared-secret",
            Scheme::Signature(_) => "signature",
            Scheme::Jwt(_) => "jwt",
        }
    }

    /// Whether deliveries carry something to verify.
    pub fn needs_secret(&self) -> bool {
        !matches!(self, Scheme::None)
    }
}

/// Hash and encoding of an HMAC signature, e.g. `sha256:hex`: overrides a
/// vendor's HMAC format where the vendor does not document it (Socotra).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HmacFormat {
    pub hash: HashAlgorithm,
    pub encoding: SignatureEncoding,
}

impl std::str::FromStr for HmacFormat {
    type Err = AuthConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            AuthConfigError(format!(
                "{s:?} is not HASH:ENCODING (hash sha1, sha256 or sha512; encoding hex or base64)"
            ))
        };
        let (h, e) = s.split_once(':').ok_or_else(bad)?;
        let hash = match h.to_ascii_lowercase().as_str() {
            "sha1" => HashAlgorithm::Sha1,
            "sha256" => HashAlgorithm::Sha256,
            "sha512" => HashAlgorithm::Sha512,
            _ => return Err(bad()),
        };
        let encoding = match e.to_ascii_lowercase().as_str() {
            "hex" => SignatureEncoding::Hex,
            "base64" => SignatureEncoding::Base64,
            _ => return Err(bad()),
        };
        Ok(HmacFormat { hash, encoding })
    }
}

impl Scheme {
    /// The scheme a manifest documents, with an HMAC format override.
    pub fn from_manifest_with(
        m: &Manifest,
        format: Option<HmacFormat>,
    ) -> Result<Scheme, AuthConfigError> {
        match (Scheme::from_manifest(m)?, format) {
            (s, None) => Ok(s),
            (Scheme::Hmac { header, .. }, Some(f)) => Ok(Scheme::Hmac {
                header,
                hash: f.hash,
                encoding: f.encoding,
            }),
            (Scheme::Signature(s), Some(f)) => Ok(Scheme::Signature(Box::new(
                s.with_format(f.hash, f.encoding)?,
            ))),
            (s, Some(_)) => Err(AuthConfigError(format!(
                "{} signs with the {} scheme, not HMAC: an HMAC format does not apply",
                m.id,
                s.name()
            ))),
        }
    }
}

/// The shortest Standard Webhooks key accepted (the spec generates 24 to 64 bytes).
pub const MIN_STANDARD_KEY_BYTES: usize = 24;

/// A static credential (bearer, shared secret) is checked as given; an
/// empty one would match an empty header.
fn check_static(s: &Secret) -> Result<(), AuthConfigError> {
    if s.0.is_empty() {
        return Err(AuthConfigError("a secret must not be empty".into()));
    }
    Ok(())
}

/// The one value of a credential header. Given twice, it is refused: which
/// copy a proxy, framework or the vendor's library reads differs, so
/// checking one would let the other through unchecked.
fn text_header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<&'h str, AuthError> {
    let mut values = headers.get_all(name).iter();
    let v = values.next().ok_or_else(|| AuthError::MissingHeader {
        header: name.to_string(),
    })?;
    if values.next().is_some() {
        return Err(AuthError::MalformedHeader {
            header: name.to_string(),
            expected: format!("one value, not {}", headers.get_all(name).iter().count()).into(),
        });
    }
    v.to_str().map_err(|_| AuthError::MalformedHeader {
        header: name.to_string(),
        expected: "ASCII text".into(),
    })
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    if value.len() >= prefix.len()
        && value.is_char_boundary(prefix.len())
        && value[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        Some(&value[prefix.len()..])
    } else {
        None
    }
}

fn digest_len(hash: HashAlgorithm) -> usize {
    match hash {
        HashAlgorithm::Sha1 => 20,
        HashAlgorithm::Sha256 => 32,
        HashAlgorithm::Sha512 => 64,
    }
}

/// HMAC over the concatenation of `parts`.
pub fn hmac(hash: HashAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut m =
            <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }
    match hash {
        HashAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
        HashAlgorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
        HashAlgorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts),
    }
}

fn encode(bytes: &[u8], encoding: SignatureEncoding) -> String {
    match encoding {
        SignatureEncoding::Base64 => B64.encode(bytes),
        SignatureEncoding::Hex => crate::util::hex(bytes),
    }
}

fn decode(text: &str, encoding: SignatureEncoding) -> Option<Vec<u8>> {
    match encoding {
        SignatureEncoding::Base64 => B64.decode(text).ok(),
        SignatureEncoding::Hex => keys::decode_hex(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn standard_webhooks_published_test_vector() {
        let v = Verifier::new(
            Scheme::StandardWebhooks {
                tolerance: Duration::from_secs(300),
            },
            vec![Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")],
        )
        .unwrap();
        let h = headers(&[
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            (
                "webhook-signature",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ]);
        let at = UNIX_EPOCH + Duration::from_secs(1614265330 + 10);
        v.verify_at(&h, br#"{"test": 2432232314}"#, at).unwrap();
        // The signer produces the same signature.
        let s = Signer::new(
            v.scheme().clone(),
            Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        )
        .unwrap();
        let signed = s.sign(
            br#"{"test": 2432232314}"#,
            &SignContext {
                message_id: "msg_p5jXN8AQM9LWM0D4loKWxJek".into(),
                timestamp: 1614265330,
            },
        );
        assert_eq!(
            signed[2].1,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // Stale and future timestamps.
        let late = UNIX_EPOCH + Duration::from_secs(1614265330 + 301);
        assert!(matches!(
            v.verify_at(&h, br#"{"test": 2432232314}"#, late),
            Err(AuthError::StaleTimestamp { .. })
        ));
        let early = UNIX_EPOCH + Duration::from_secs(1614265330 - 301);
        assert!(matches!(
            v.verify_at(&h, br#"{"test": 2432232314}"#, early),
            Err(AuthError::FutureTimestamp { .. })
        ));
        // A changed body fails.
        assert!(matches!(
            v.verify_at(&h, br#"{"test": 2432232315}"#, at),
            Err(AuthError::WrongSignature { .. })
        ));
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("whsec_supersecret");
        assert!(!format!("{s:?}").contains("supersecret"));
        let v = Verifier::new(
            Scheme::Bearer {
                header: HeaderName::from_static("authorization"),
                prefix: "Bearer ".into(),
            },
            vec![s.clone()],
        )
        .unwrap();
        assert!(!format!("{v:?}").contains("supersecret"));
        let signer = Signer::new(v.scheme().clone(), s).unwrap();
        assert!(!format!("{signer:?}").contains("supersecret"));
        let err = v
            .verify(&headers(&[("authorization", "Bearer whsec_guess")]), b"{}")
            .unwrap_err();
        assert!(!err.to_string().contains("guess"));
    }

    #[test]
    fn rotation_accepts_any_active_secret() {
        let scheme = Scheme::Hmac {
            header: HeaderName::from_static("x-sig"),
            hash: HashAlgorithm::Sha256,
            encoding: SignatureEncoding::Hex,
        };
        let old = Signer::new(scheme.clone(), "old".into()).unwrap();
        let new = Signer::new(scheme.clone(), "new".into()).unwrap();
        let v = Verifier::new(scheme, vec!["new".into(), "old".into()]).unwrap();
        let ctx = SignContext::now("x");
        for s in [old, new] {
            let mut h = HeaderMap::new();
            for (k, val) in s.sign(b"body", &ctx) {
                h.insert(k, val);
            }
            v.verify(&h, b"body").unwrap();
        }
    }
}
