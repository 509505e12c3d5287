//! Signing deliveries as the vendor does: for `hookforge sign`, the harness
//! and load.

use std::fmt;

use http::{HeaderName, HeaderValue};

use super::*;

/// Facts a signature may cover besides the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignContext {
    /// The delivery's id (Standard Webhooks' `webhook-id`, `{id}`).
    pub message_id: String,
    /// Unix seconds (`{timestamp}`).
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
    /// What signature schemes sign with (`None`: a static credential).
    key: Option<std::sync::Arc<keys::SigningKey>>,
    signature: Option<SignatureScheme>,
    endpoint: Option<String>,
    /// The URL of the certificate, for schemes whose deliveries name it.
    key_url: Option<String>,
    /// Values the signature covers that deliveries do not carry.
    settings: signature::Settings,
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
    /// A signer for `scheme`; schemes that sign the endpoint URL need
    /// [`Signer::for_endpoint`].
    pub fn new(scheme: Scheme, secret: Secret) -> Result<Signer, AuthConfigError> {
        Signer::build(scheme, secret, None)
    }

    /// A signer for a scheme whose signature covers the URL posted to.
    pub fn for_endpoint(
        scheme: Scheme,
        secret: Secret,
        url: impl Into<String>,
    ) -> Result<Signer, AuthConfigError> {
        Signer::build(scheme, secret, Some(url.into()))
    }

    fn build(
        scheme: Scheme,
        secret: Secret,
        endpoint: Option<String>,
    ) -> Result<Signer, AuthConfigError> {
        let signature = scheme.signature();
        let key = match (&signature, &scheme) {
            (_, Scheme::Jwt(j)) => Some(std::sync::Arc::new(j.signing_key(&secret)?)),
            (Some(sig), _) => Some(std::sync::Arc::new(sig.signing_key(&secret)?)),
            (None, _) => {
                check_static(&secret)?;
                None
            }
        };
        if signature.as_ref().is_some_and(|s| s.needs_url()) && endpoint.is_none() {
            return Err(AuthConfigError(
                "the signature covers the endpoint URL (`{url}`): give the URL the deliveries go to".into(),
            ));
        }
        Ok(Signer {
            scheme,
            secret,
            key,
            signature,
            endpoint,
            key_url: None,
            settings: Default::default(),
        })
    }

    /// A value the signature covers that deliveries do not carry
    /// (`{setting:NAME}`: PayPal's `webhook_id`).
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Signer {
        self.settings.insert(name.into(), value.into());
        self
    }

    /// Whether the settings given are those the signature covers: none
    /// missing (PayPal's `webhook_id`: signed as empty, no receiver's copy
    /// matches) and none it does not cover (a misspelt name signs nothing).
    pub fn check_settings(&self) -> Result<(), AuthConfigError> {
        let covered: Vec<&str> = self.signature.iter().flat_map(|s| s.settings()).collect();
        if let Some(missing) = covered.iter().find(|n| !self.settings.contains_key(**n)) {
            return Err(AuthConfigError(format!(
                "the signature covers the setting `{missing}`, which deliveries do not carry: give it as the receiver has it (--setting {missing}=VALUE)"
            )));
        }
        if let Some(unknown) = self
            .settings
            .keys()
            .find(|k| !covered.contains(&k.as_str()))
        {
            let covers = match covered.is_empty() {
                true => "none".to_string(),
                false => covered.join(", "),
            };
            return Err(AuthConfigError(format!(
                "the signature covers no setting `{unknown}` (it covers {covers})"
            )));
        }
        Ok(())
    }

    /// Whether deliveries name the URL of their certificate (`key_url`
    /// schemes) and this signer was given none to name: they would then
    /// name the vendor's own, which this key does not match.
    pub fn lacks_key_url(&self) -> bool {
        self.key_url.is_none()
            && self
                .signature
                .as_ref()
                .is_some_and(|s| s.key_url().is_some())
    }

    fn configured(&self) -> signature::Configured<'_> {
        signature::Configured {
            url: self.endpoint.as_deref(),
            settings: &self.settings,
        }
    }

    /// The URL deliveries name for their certificate (`key_url` schemes):
    /// where the matching certificate is served.
    pub fn with_key_url(mut self, url: impl Into<String>) -> Signer {
        self.key_url = Some(url.into());
        self
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
        Signer::for_manifest_at(m, secret, format, None)
    }

    /// Like [`Signer::for_manifest_with`], with the endpoint URL for
    /// signatures that cover it (ignored by the others).
    pub fn for_manifest_at(
        m: &Manifest,
        secret: Secret,
        format: Option<HmacFormat>,
        endpoint: Option<&str>,
    ) -> Result<Signer, AuthConfigError> {
        let scheme = match Scheme::from_manifest_with(m, format)? {
            Scheme::None => Scheme::SharedSecret {
                header: HeaderName::from_static(DEFAULT_SHARED_SECRET_HEADER),
            },
            s => s,
        };
        Signer::build(scheme, secret, endpoint.map(str::to_string))
    }

    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// For a scheme that keeps its signature in the body (Mailgun, each
    /// item of Adyen's batch): the body signed (timestamp, fresh nonce and
    /// signature written in); for one that signs a time in the body
    /// (Linear's `webhookTimestamp`), the body with that time set. `None`
    /// for other schemes: their proof travels in headers.
    pub fn sign_body(&self, body: &[u8], ctx: &SignContext) -> Option<Vec<u8>> {
        let (sig, key) = (self.signature.as_ref()?, self.key.as_ref()?);
        // A key URL kept in the body goes in before the body is signed.
        let named = self.key_url_pointer().map(|p| {
            let mut doc: serde_json::Value = serde_json::from_slice(body).ok()?;
            let slot = doc.pointer_mut(p)?;
            *slot = serde_json::Value::String(self.key_url.clone()?);
            serde_json::to_vec(&doc).ok()
        });
        let body = match &named {
            Some(Some(b)) => b.as_slice(),
            _ => body,
        };
        sig.sign_body(key, body, ctx, self.configured())
            .or_else(|| named.flatten())
    }

    fn key_url_pointer(&self) -> Option<&str> {
        self.key_url.as_ref()?;
        self.signature.as_ref()?.key_url()?.pointer.as_deref()
    }

    /// The authentication headers for `body`.
    pub fn sign(&self, body: &[u8], ctx: &SignContext) -> Vec<(HeaderName, HeaderValue)> {
        if let (Some(sig), Some(key)) = (&self.signature, &self.key) {
            let mut out = sig.sign(key, body, ctx, self.configured());
            // The certificate's URL, where the vendor names it in a header.
            if let (Some(url), Some(h)) =
                (&self.key_url, sig.key_url().and_then(|k| k.header.as_ref()))
                && let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(h.as_bytes()),
                    HeaderValue::from_str(url),
                )
            {
                out.push((name, value));
            }
            return out;
        }
        if let (Scheme::Jwt(j), Some(key)) = (&self.scheme, &self.key) {
            return j.sign(key, body, ctx, self.endpoint.as_deref());
        }
        let value = |s: String| HeaderValue::from_str(&s).expect("secrets are header text");
        match &self.scheme {
            Scheme::Bearer { header, prefix } => {
                vec![(header.clone(), value(format!("{prefix}{}", self.secret.0)))]
            }
            Scheme::SharedSecret { header } => vec![(header.clone(), value(self.secret.0.clone()))],
            _ => Vec::new(),
        }
    }
}
