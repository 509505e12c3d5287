//! Signing deliveries as the vendor does: for `hookforge sign`, the harness
//! and load.

use std::fmt;

use base64::Engine;
use http::{HeaderName, HeaderValue};

use super::*;

/// Facts a signature may cover besides the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignContext {
    /// Standard Webhooks' `webhook-id`.
    pub message_id: String,
    /// Unix seconds, for Standard Webhooks' `webhook-timestamp`.
    pub timestamp: u64,
}

impl SignContext {
    pub fn now(message_id: impl Into<String>) -> SignContext {
        SignContext {
            message_id: message_id.into(),
            timestamp: crate::util::since_epoch().as_secs(),
        }
    }
}

/// Signs deliveries the way the vendor does.
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    secret: Secret,
    key: Vec<u8>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme.name())
            .field("secret", &self.secret)
            .finish()
    }
}

impl Signer {
    pub fn new(scheme: Scheme, secret: Secret) -> Result<Signer, AuthConfigError> {
        let key = key_bytes(&scheme, &secret)?;
        Ok(Signer {
            scheme,
            secret,
            key,
        })
    }

    /// The vendor's scheme (a shared-secret header for vendors with none).
    pub fn for_manifest(m: &Manifest, secret: Secret) -> Result<Signer, AuthConfigError> {
        Signer::for_manifest_with(m, secret, None)
    }

    /// Like [`Signer::for_manifest`], with an HMAC format override.
    pub fn for_manifest_with(
        m: &Manifest,
        secret: Secret,
        format: Option<HmacFormat>,
    ) -> Result<Signer, AuthConfigError> {
        let scheme = match Scheme::from_manifest_with(m, format)? {
            Scheme::None => Scheme::SharedSecret {
                header: HeaderName::from_static(DEFAULT_SHARED_SECRET_HEADER),
            },
            s => s,
        };
        Signer::new(scheme, secret)
    }

    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The authentication headers for `body`.
    pub fn sign(&self, body: &[u8], ctx: &SignContext) -> Vec<(HeaderName, HeaderValue)> {
        let value = |s: String| HeaderValue::from_str(&s).expect("signatures are ASCII");
        match &self.scheme {
            Scheme::None => Vec::new(),
            Scheme::Bearer { header, prefix } => {
                vec![(header.clone(), value(format!("{prefix}{}", self.secret.0)))]
            }
            Scheme::SharedSecret { header } => vec![(header.clone(), value(self.secret.0.clone()))],
            Scheme::Hmac {
                header,
                hash,
                encoding,
            } => {
                let mac = hmac(*hash, &self.key, &[body]);
                vec![(header.clone(), value(encode(&mac, *encoding)))]
            }
            Scheme::StandardWebhooks { .. } => {
                let prefix = format!("{}.{}.", ctx.message_id, ctx.timestamp);
                let mac = hmac(HashAlgorithm::Sha256, &self.key, &[prefix.as_bytes(), body]);
                vec![
                    (
                        HeaderName::from_static("webhook-id"),
                        value(ctx.message_id.clone()),
                    ),
                    (
                        HeaderName::from_static("webhook-timestamp"),
                        value(ctx.timestamp.to_string()),
                    ),
                    (
                        HeaderName::from_static("webhook-signature"),
                        value(format!("v1,{}", B64.encode(mac))),
                    ),
                ]
            }
        }
    }
}
