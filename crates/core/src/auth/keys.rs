//! Keys: the shared secret an HMAC scheme keys with, and for public-key
//! algorithms the vendor's public key (verifying) or private key (signing,
//! for tests and the harness). Public-key algorithms run on aws-lc-rs, the
//! provider rustls already brings in, behind the `public-keys` feature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use subtle::ConstantTimeEq;

use super::{AuthConfigError, MIN_STANDARD_KEY_BYTES, Secret, digest_len, hmac};
use crate::manifest::{HashAlgorithm, KeyFormat, SignatureAlgorithm};

/// What a receiver checks signatures with.
#[derive(Clone)]
pub(super) enum VerifyKey {
    Shared(Vec<u8>),
    /// The parsed key, and its bytes for another version of the scheme
    /// (AWS SNS's SHA-1 and SHA-256 versions share the certificate).
    #[cfg(feature = "public-keys")]
    Public(
        aws_lc_rs::signature::ParsedPublicKey,
        Option<std::sync::Arc<[u8]>>,
    ),
}

/// What a sender signs with.
pub(super) enum SigningKey {
    Shared(Vec<u8>),
    #[cfg(feature = "public-keys")]
    Private(private::PrivateKey),
}

impl VerifyKey {
    /// The key a configured secret (or, for public-key algorithms, the
    /// vendor's public key) stands for.
    pub fn new(
        algorithm: SignatureAlgorithm,
        format: KeyFormat,
        secret: &Secret,
    ) -> Result<VerifyKey, AuthConfigError> {
        if !algorithm.is_public_key() {
            return shared_key(format, secret).map(VerifyKey::Shared);
        }
        public_key(algorithm, format, secret)
    }

    /// Whether `sig` signs `message` (its parts, concatenated) under this key.
    pub fn verifies(&self, hash: Option<HashAlgorithm>, message: &[&[u8]], sig: &[u8]) -> bool {
        match self {
            VerifyKey::Shared(key) => {
                let hash = hash.unwrap_or(HashAlgorithm::Sha256);
                sig.len() == digest_len(hash) && bool::from(hmac(hash, key, message).ct_eq(sig))
            }
            #[cfg(feature = "public-keys")]
            VerifyKey::Public(key, _) => key.verify_sig(&message.concat(), sig).is_ok(),
        }
    }

    /// The same public key for another public-key algorithm (`None` for a
    /// shared secret, or a key that algorithm does not take).
    pub fn for_algorithm(&self, algorithm: SignatureAlgorithm) -> Option<VerifyKey> {
        #[cfg(not(feature = "public-keys"))]
        let _ = algorithm;
        match self {
            VerifyKey::Shared(_) => None,
            #[cfg(feature = "public-keys")]
            VerifyKey::Public(_, bytes) => {
                let bytes = bytes.as_ref()?;
                aws_lc_rs::signature::ParsedPublicKey::new(private::verification(algorithm), bytes)
                    .ok()
                    .map(|k| VerifyKey::Public(k, Some(bytes.clone())))
            }
        }
    }
}

impl SigningKey {
    pub fn new(
        algorithm: SignatureAlgorithm,
        format: KeyFormat,
        secret: &Secret,
    ) -> Result<SigningKey, AuthConfigError> {
        if !algorithm.is_public_key() {
            return shared_key(format, secret).map(SigningKey::Shared);
        }
        #[cfg(feature = "public-keys")]
        return private::PrivateKey::new(algorithm, format, secret).map(SigningKey::Private);
        #[cfg(not(feature = "public-keys"))]
        Err(without_public_keys(algorithm))
    }

    /// The signature over `message` (its parts, concatenated).
    pub fn sign(&self, hash: Option<HashAlgorithm>, message: &[&[u8]]) -> Vec<u8> {
        match self {
            SigningKey::Shared(key) => hmac(hash.unwrap_or(HashAlgorithm::Sha256), key, message),
            #[cfg(feature = "public-keys")]
            SigningKey::Private(key) => key.sign(&message.concat()),
        }
    }
}

/// The HMAC key a secret stands for.
pub(super) fn shared_key(format: KeyFormat, s: &Secret) -> Result<Vec<u8>, AuthConfigError> {
    let key = match format {
        KeyFormat::Utf8 => s.0.as_bytes().to_vec(),
        KeyFormat::Base64 => B64
            .decode(s.0.trim())
            .map_err(|_| AuthConfigError("this scheme's secret must be base64".into()))?,
        KeyFormat::Hex => decode_hex(s.0.trim())
            .ok_or_else(|| AuthConfigError("this scheme's secret must be hexadecimal".into()))?,
        KeyFormat::Whsec => {
            let b64 = s.0.strip_prefix("whsec_").unwrap_or(&s.0);
            let key = B64.decode(b64).map_err(|_| {
                AuthConfigError(
                    "a Standard Webhooks secret must be `whsec_` followed by base64".into(),
                )
            })?;
            // The spec's keys are 24 to 64 random bytes; an empty or short
            // key is a configuration mistake, not a secret.
            if key.len() < MIN_STANDARD_KEY_BYTES {
                return Err(AuthConfigError(format!(
                    "a Standard Webhooks secret must decode to at least {MIN_STANDARD_KEY_BYTES} bytes (this one decodes to {})",
                    key.len()
                )));
            }
            key
        }
        KeyFormat::Pem | KeyFormat::Whpk => {
            return Err(AuthConfigError(
                "`pem` and `whpk` keys are for public-key algorithms, not HMAC".into(),
            ));
        }
    };
    if key.is_empty() {
        return Err(AuthConfigError("a secret must not be empty".into()));
    }
    Ok(key)
}

#[cfg(not(feature = "public-keys"))]
fn without_public_keys(algorithm: SignatureAlgorithm) -> AuthConfigError {
    AuthConfigError(format!(
        "`{}` is a public-key algorithm: this build of hookforge has no `public-keys` feature",
        algorithm.as_str()
    ))
}

#[cfg(not(feature = "public-keys"))]
fn public_key(
    algorithm: SignatureAlgorithm,
    _: KeyFormat,
    _: &Secret,
) -> Result<VerifyKey, AuthConfigError> {
    Err(without_public_keys(algorithm))
}

#[cfg(feature = "public-keys")]
fn public_key(
    algorithm: SignatureAlgorithm,
    format: KeyFormat,
    key: &Secret,
) -> Result<VerifyKey, AuthConfigError> {
    let bytes: std::sync::Arc<[u8]> = key_bytes(format, key.expose(), "whpk_")?.into();
    aws_lc_rs::signature::ParsedPublicKey::new(private::verification(algorithm), &bytes)
        .map(|k| VerifyKey::Public(k, Some(bytes.clone())))
        .map_err(|e| {
            AuthConfigError(format!(
                "not an {} public key ({e}): expected the raw key or its SubjectPublicKeyInfo, written as `{}`",
                algorithm.as_str(),
                format_name(format)
            ))
        })
}

/// A key's bytes as `format` writes them; PEM is read whatever the format
/// (`-----BEGIN` cannot be mistaken for hex or base64).
#[cfg(feature = "public-keys")]
fn key_bytes(format: KeyFormat, text: &str, prefix: &str) -> Result<Vec<u8>, AuthConfigError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN CERTIFICATE") {
        // A certificate (a vendor's signing certificate): its public key.
        let der = pem_body(text)?;
        return super::remote::certificate_spki(&der)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| AuthConfigError("not an X.509 certificate".into()));
    }
    if text.starts_with("-----BEGIN") {
        return pem_body(text);
    }
    let bad = || {
        AuthConfigError(format!(
            "a key written as `{}` could not be decoded",
            format_name(format)
        ))
    };
    match format {
        KeyFormat::Hex => decode_hex(text).ok_or_else(bad),
        KeyFormat::Whpk => {
            let b64 = text.strip_prefix(prefix).ok_or_else(|| {
                let other = if prefix == "whsk_" { "whpk_" } else { "whsk_" };
                let given = if text.starts_with(other) {
                    format!(" (this is a `{other}` key: public keys verify, secret keys sign)")
                } else {
                    String::new()
                };
                AuthConfigError(format!(
                    "a Standard Webhooks key here starts with `{prefix}`{given}"
                ))
            })?;
            B64.decode(b64).map_err(|_| bad())
        }
        _ => B64.decode(text).map_err(|_| bad()),
    }
}

#[cfg(feature = "public-keys")]
fn format_name(format: KeyFormat) -> &'static str {
    match format {
        KeyFormat::Utf8 => "utf8",
        KeyFormat::Base64 => "base64",
        KeyFormat::Whsec => "whsec",
        KeyFormat::Hex => "hex",
        KeyFormat::Pem => "pem",
        KeyFormat::Whpk => "whpk",
    }
}

/// The DER inside a PEM block.
#[cfg(feature = "public-keys")]
fn pem_body(text: &str) -> Result<Vec<u8>, AuthConfigError> {
    let b64: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    B64.decode(b64)
        .map_err(|_| AuthConfigError("the PEM block's body is not base64".into()))
}

/// `der` as a PEM block labelled `label`.
#[cfg(feature = "public-keys")]
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

pub(super) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(feature = "public-keys")]
pub use private::{KeyPair, generate_key_pair};

#[cfg(feature = "public-keys")]
mod private {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{self as sig, KeyPair as _};

    use super::*;

    pub(super) fn verification(
        algorithm: SignatureAlgorithm,
    ) -> &'static dyn sig::VerificationAlgorithm {
        match algorithm {
            SignatureAlgorithm::Ed25519 => &sig::ED25519,
            SignatureAlgorithm::EcdsaP256Sha256 => &sig::ECDSA_P256_SHA256_ASN1,
            SignatureAlgorithm::EcdsaP256Sha256Fixed => &sig::ECDSA_P256_SHA256_FIXED,
            SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::Hmac => {
                &sig::RSA_PKCS1_2048_8192_SHA256
            }
            SignatureAlgorithm::RsaSha1 => &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        }
    }

    fn ecdsa(algorithm: SignatureAlgorithm) -> &'static sig::EcdsaSigningAlgorithm {
        match algorithm {
            SignatureAlgorithm::EcdsaP256Sha256Fixed => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            _ => &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        }
    }

    /// A vendor's private key.
    pub(in crate::auth) enum PrivateKey {
        Ed25519(sig::Ed25519KeyPair),
        Ecdsa(sig::EcdsaKeyPair),
        Rsa(sig::RsaKeyPair),
    }

    impl PrivateKey {
        /// PKCS#8 (PEM or DER in the key format); for Ed25519 also the raw
        /// 32-byte seed or NaCl's 64-byte secret key (seed then public key).
        pub fn new(
            algorithm: SignatureAlgorithm,
            format: KeyFormat,
            secret: &Secret,
        ) -> Result<PrivateKey, AuthConfigError> {
            if !algorithm.can_sign() {
                return Err(AuthConfigError(format!(
                    "hookforge verifies {} but does not sign with it (SHA-1 is kept for receiving only): sign with the scheme's other version",
                    algorithm.as_str()
                )));
            }
            let bytes = key_bytes(format, secret.expose(), "whsk_")?;
            let rejected = |e: aws_lc_rs::error::KeyRejected| {
                AuthConfigError(format!(
                    "not an {} private key ({e}): expected PKCS#8 (PEM, or DER written as `{}`)",
                    algorithm.as_str(),
                    format_name(format)
                ))
            };
            Ok(match algorithm {
                SignatureAlgorithm::Ed25519 => PrivateKey::Ed25519(
                    match bytes.len() {
                        32 | 64 => sig::Ed25519KeyPair::from_seed_unchecked(&bytes[..32]),
                        _ => sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&bytes),
                    }
                    .map_err(rejected)?,
                ),
                SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::EcdsaP256Sha256Fixed => {
                    let alg = ecdsa(algorithm);
                    PrivateKey::Ecdsa(
                        sig::EcdsaKeyPair::from_pkcs8(alg, &bytes)
                            .or_else(|_| sig::EcdsaKeyPair::from_private_key_der(alg, &bytes))
                            .map_err(rejected)?,
                    )
                }
                SignatureAlgorithm::RsaSha256
                | SignatureAlgorithm::RsaSha1
                | SignatureAlgorithm::Hmac => PrivateKey::Rsa(
                    sig::RsaKeyPair::from_pkcs8(&bytes)
                        .or_else(|_| sig::RsaKeyPair::from_der(&bytes))
                        .map_err(rejected)?,
                ),
            })
        }

        pub fn sign(&self, message: &[u8]) -> Vec<u8> {
            let rng = SystemRandom::new();
            match self {
                PrivateKey::Ed25519(k) => k.sign(message).as_ref().to_vec(),
                PrivateKey::Ecdsa(k) => k
                    .sign(&rng, message)
                    .expect("ECDSA signing with a valid key")
                    .as_ref()
                    .to_vec(),
                PrivateKey::Rsa(k) => {
                    let mut out = vec![0; k.public_modulus_len()];
                    k.sign(&sig::RSA_PKCS1_SHA256, &rng, message, &mut out)
                        .expect("RSA signing with a valid key");
                    out
                }
            }
        }
    }

    /// A fresh key pair: the private key as PKCS#8 PEM (what `sign`,
    /// `check` and `simulate` take) and the public key as SubjectPublicKeyInfo
    /// PEM (what `serve` takes).
    #[derive(Clone)]
    pub struct KeyPair {
        pub private_pem: Secret,
        pub public_pem: String,
        /// The raw public key (Ed25519: 32 bytes; ECDSA: the SEC1 point);
        /// RSA: the PKCS#1 `RSAPublicKey` DER.
        pub public_raw: Vec<u8>,
    }

    /// A new key pair for `algorithm` (none for HMAC: it has no key pair).
    pub fn generate_key_pair(algorithm: SignatureAlgorithm) -> Result<KeyPair, AuthConfigError> {
        let failed = |_| AuthConfigError("the key pair could not be generated".into());
        let (pkcs8, spki, raw): (Vec<u8>, Vec<u8>, Vec<u8>) = match algorithm {
            SignatureAlgorithm::Hmac => {
                return Err(AuthConfigError("HMAC has no key pair".into()));
            }
            SignatureAlgorithm::Ed25519 => {
                let k = sig::Ed25519KeyPair::generate().map_err(failed)?;
                let raw = k.public_key().as_ref().to_vec();
                let pkcs8: Pkcs8V1Der = k.as_der().map_err(failed)?;
                let spki: PublicKeyX509Der = k.public_key().as_der().map_err(failed)?;
                (pkcs8.as_ref().to_vec(), spki.as_ref().to_vec(), raw)
            }
            SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::EcdsaP256Sha256Fixed => {
                let k = sig::EcdsaKeyPair::generate(ecdsa(algorithm)).map_err(failed)?;
                let raw = k.public_key().as_ref().to_vec();
                let spki: PublicKeyX509Der = k.public_key().as_der().map_err(failed)?;
                (
                    k.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
                    spki.as_ref().to_vec(),
                    raw,
                )
            }
            SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::RsaSha1 => {
                let k = sig::RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let raw = k.public_key().as_ref().to_vec();
                let pkcs8: Pkcs8V1Der = k.as_der().map_err(failed)?;
                let spki: PublicKeyX509Der = k.public_key().as_der().map_err(failed)?;
                (pkcs8.as_ref().to_vec(), spki.as_ref().to_vec(), raw)
            }
        };
        Ok(KeyPair {
            private_pem: Secret::new(pem("PRIVATE KEY", &pkcs8)),
            public_pem: pem("PUBLIC KEY", &spki),
            public_raw: raw,
        })
    }
}
