//! Checking deliveries: every scheme, against one or more active secrets,
//! in constant time.

use std::fmt;
use std::time::SystemTime;

use http::{HeaderMap, HeaderName};
use subtle::ConstantTimeEq;

use super::*;

/// Checks deliveries against one or more active secrets.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    secrets: Vec<Secret>,
    /// Decoded keys, per secret, for signature schemes.
    keys: Vec<keys::VerifyKey>,
    /// The scheme as a signature template, for HMAC schemes.
    signature: Option<SignatureScheme>,
    /// The endpoint URL, for signatures that cover it (`{url}`).
    endpoint: Option<String>,
    /// For a JWT scheme, the keys tokens may be signed with.
    jwt_keys: Vec<jwt::JwtKey>,
    /// Keys fetched from the URLs deliveries name (see [`remote`]).
    remote: Option<std::sync::Arc<dyn remote::RemoteKeys>>,
    /// Values the signature covers that deliveries do not carry.
    settings: signature::Settings,
    /// The handshake that gives the secret, for a vendor that gives it
    /// (then the verifier may start without one).
    secret_handshake: Option<String>,
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
    /// A verifier for `scheme`. Schemes other than `None` need at least one
    /// secret; schemes that sign the endpoint URL need [`Verifier::for_endpoint`].
    pub fn new(scheme: Scheme, secrets: Vec<Secret>) -> Result<Verifier, AuthConfigError> {
        Verifier::build(scheme, secrets, None)
    }

    /// A verifier for a scheme whose signature covers the URL the vendor
    /// posts to (`{url}`): `url` exactly as registered with the vendor
    /// (behind a proxy, the public one, not what this server sees).
    pub fn for_endpoint(
        scheme: Scheme,
        secrets: Vec<Secret>,
        url: impl Into<String>,
    ) -> Result<Verifier, AuthConfigError> {
        Verifier::build(scheme, secrets, Some(url.into()))
    }

    fn build(
        scheme: Scheme,
        secrets: Vec<Secret>,
        endpoint: Option<String>,
    ) -> Result<Verifier, AuthConfigError> {
        Verifier::build_awaiting(scheme, secrets, endpoint, None)
    }

    fn build_awaiting(
        scheme: Scheme,
        secrets: Vec<Secret>,
        endpoint: Option<String>,
        secret_handshake: Option<String>,
    ) -> Result<Verifier, AuthConfigError> {
        if matches!(scheme, Scheme::None) && !secrets.is_empty() {
            // A secret nobody checks would read as protection that is not there.
            return Err(AuthConfigError(
                "secrets were given for a scheme that checks nothing (`none`)".into(),
            ));
        }
        let fetched = scheme.signature().is_some_and(|s| s.key_url().is_some());
        let published = matches!(&scheme, Scheme::Jwt(j) if j.jwks_url().is_some());
        let awaits = secret_handshake.is_some();
        if scheme.needs_secret() && secrets.is_empty() && !fetched && !published && !awaits {
            return Err(AuthConfigError(format!(
                "the {} scheme needs at least one secret",
                scheme.name()
            )));
        }
        let signature = scheme.signature();
        if signature.as_ref().is_some_and(|s| s.needs_url()) && endpoint.is_none() {
            return Err(AuthConfigError(
                "the signature covers the endpoint URL (`{url}`): give the URL registered with the vendor".into(),
            ));
        }
        let jwt_keys = match &scheme {
            Scheme::Jwt(j) => {
                if j.needs_url() && endpoint.is_none() {
                    return Err(AuthConfigError(
                        "the JWT's audience is the endpoint URL (`{url}`): give the URL registered with the vendor".into(),
                    ));
                }
                let mut keys = Vec::new();
                for s in &secrets {
                    keys.extend(j.keys(s)?);
                }
                if keys.is_empty() && j.jwks_url().is_none() {
                    return Err(AuthConfigError(
                        "the jwt scheme needs a key: a secret, a public key or a JWKS document"
                            .into(),
                    ));
                }
                keys
            }
            _ => Vec::new(),
        };
        let keys = match &signature {
            Some(sig) => secrets
                .iter()
                .map(|s| sig.verify_key(s))
                .collect::<Result<Vec<_>, _>>()?,
            None if matches!(scheme, Scheme::Jwt(_)) => Vec::new(),
            None => {
                secrets.iter().try_for_each(check_static)?;
                Vec::new()
            }
        };
        Ok(Verifier {
            scheme,
            secrets,
            keys,
            signature,
            endpoint,
            jwt_keys,
            remote: None,
            settings: Default::default(),
            secret_handshake,
        })
    }

    /// This verifier with `secret` added (one a vendor gave in a handshake).
    pub fn with_secret(&self, secret: Secret) -> Result<Verifier, AuthConfigError> {
        let mut v = self.clone();
        if let Some(sig) = &v.signature {
            v.keys.push(sig.verify_key(&secret)?);
        }
        v.secrets.push(secret);
        Ok(v)
    }

    /// The secret a request that verifies was signed with: the first that
    /// verifies it alone. A handshake answer keyed with the secret (Zoom's
    /// `encryptedToken`) must use that one, or a vendor that moved to the
    /// new secret of a rotation is answered with the old and disables the
    /// endpoint.
    pub fn secret_signing(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        query: Option<&str>,
    ) -> Option<&Secret> {
        // A JWT's keys are not one per secret: not narrowed, the first.
        if self.secrets.len() < 2 || matches!(self.scheme, Scheme::Jwt(_)) {
            return self.secrets.first();
        }
        let verifies_alone = |i: usize| {
            let mut one = self.clone();
            one.secrets = vec![self.secrets[i].clone()];
            if self.signature.is_some() {
                one.keys = self.keys.get(i).cloned().into_iter().collect();
            }
            one.verify_request(headers, body, query).is_ok()
        };
        (0..self.secrets.len())
            .find(|&i| verifies_alone(i))
            .map(|i| &self.secrets[i])
    }

    /// Whether `secret` is one of this verifier's (compared in constant time).
    pub fn knows_secret(&self, secret: &Secret) -> bool {
        let given = secret.expose().as_bytes();
        self.secrets.iter().fold(false, |known, s| {
            known | bool::from(s.expose().as_bytes().ct_eq(given))
        })
    }

    /// Whether the verifier has a secret (or key) to check deliveries with.
    pub fn has_secret(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// A value the signature covers that deliveries do not carry
    /// (`{setting:NAME}`: PayPal's `webhook_id`).
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Verifier {
        self.settings.insert(name.into(), value.into());
        self
    }

    /// The settings the signature covers that this verifier lacks.
    pub fn missing_settings(&self) -> Vec<String> {
        self.signature
            .iter()
            .flat_map(|s| s.settings())
            .filter(|n| !self.settings.contains_key(*n))
            .map(str::to_string)
            .collect()
    }

    fn configured<'a>(&'a self, url: Option<&'a str>) -> signature::Configured<'a> {
        signature::Configured {
            url,
            settings: &self.settings,
        }
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
        Verifier::for_manifest_at(m, secrets, format, None)
    }

    /// Like [`Verifier::for_manifest_with`], with the endpoint URL for
    /// signatures that cover it.
    pub fn for_manifest_at(
        m: &Manifest,
        secrets: Vec<Secret>,
        format: Option<HmacFormat>,
        endpoint: Option<&str>,
    ) -> Result<Verifier, AuthConfigError> {
        let scheme = match Scheme::from_manifest_with(m, format)? {
            Scheme::None if !secrets.is_empty() => Scheme::SharedSecret {
                header: HeaderName::from_static(DEFAULT_SHARED_SECRET_HEADER),
            },
            s => s,
        };
        let handshake = m.secret_handshake().map(|(h, _)| h.name.clone());
        Verifier::build_awaiting(scheme, secrets, endpoint.map(str::to_string), handshake)
    }

    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Where this verifier finds keys deliveries point at (the receiver's
    /// cache of fetched certificates).
    pub fn with_remote_keys(mut self, keys: std::sync::Arc<dyn remote::RemoteKeys>) -> Verifier {
        self.remote = Some(keys);
        self
    }

    /// The key URL a delivery names, for a scheme whose key is fetched:
    /// checked against the manifest's hosts; the caller fetches it. A JWT
    /// scheme's JWKS is fetched only when no key is configured: a key given
    /// to the receiver is the one it trusts (and needs no network).
    pub fn key_url(&self, headers: &HeaderMap, body: &[u8]) -> Result<Option<String>, AuthError> {
        if let Scheme::Jwt(j) = &self.scheme {
            let fetch = self.jwt_keys.is_empty();
            return Ok(j.jwks_url().filter(|_| fetch).map(str::to_string));
        }
        match self.signature.as_ref().and_then(|s| s.key_url()) {
            Some(spec) => remote::key_url_of(spec, headers, body).map(Some),
            None => Ok(None),
        }
    }

    /// Whether the delivery carries the scheme's proof (a signature, a
    /// token) at all: without one there is no key to fetch.
    pub fn carries_proof(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        match (&self.signature, &self.scheme) {
            (Some(sig), _) => sig.present(headers, body),
            (None, Scheme::Jwt(j)) => headers.contains_key(j.header()),
            _ => true,
        }
    }

    /// Verifies a delivery at the current time.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError> {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// Verifies a delivery that came to the endpoint with `query`. A
    /// signature over the URL (Twilio's) covers the whole URL the vendor
    /// posted to, query included (`?step=2` of an action URL), so the query
    /// is added to the configured endpoint when that has none of its own.
    pub fn verify_request(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        query: Option<&str>,
    ) -> Result<(), AuthError> {
        let covers_url = self.signature.as_ref().is_some_and(|s| s.needs_url());
        match (query.filter(|q| !q.is_empty()), self.endpoint.as_deref()) {
            (Some(q), Some(base)) if covers_url && !base.contains('?') => {
                let url = format!("{base}?{q}");
                self.verify_url_at(headers, body, SystemTime::now(), Some(&url))
            }
            _ => self.verify(headers, body),
        }
    }

    /// Verifies a delivery as if received at `now` (for timestamped schemes).
    pub fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), AuthError> {
        self.verify_url_at(headers, body, now, self.endpoint.as_deref())
    }

    /// [`Verifier::verify_at`] with the endpoint URL a `{url}` signature covers.
    fn verify_url_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        url: Option<&str>,
    ) -> Result<(), AuthError> {
        let at = self.configured(url);
        match (&self.signature, &self.scheme) {
            // Without a signature there is nothing to fetch a key for: the
            // check says what is missing.
            (Some(sig), _) if sig.key_url().is_some() && !sig.present(headers, body) => {
                sig.verify(&[], headers, body, at, now)
            }
            (Some(sig), _) if sig.key_url().is_some() => {
                let url = self.key_url(headers, body)?.unwrap_or_default();
                let pem = self.remote.as_ref().and_then(|r| r.get(&url));
                let pem = pem.ok_or_else(|| AuthError::KeyUnavailable { url: url.clone() })?;
                let key = sig.fetched_key(&url, &pem)?;
                sig.verify(&[key], headers, body, at, now)
            }
            (Some(sig), _) if self.keys.is_empty() && sig.key_url().is_none() => {
                Err(AuthError::AwaitingSecret {
                    header: sig.header().to_string(),
                    handshake: self.secret_handshake.clone().unwrap_or_default(),
                })
            }
            (Some(sig), _) => sig.verify(&self.keys, headers, body, at, now),
            (None, Scheme::Bearer { header, prefix }) => {
                let value = text_header(headers, header)?;
                let token = strip_prefix_ignore_case(value, prefix).ok_or_else(|| {
                    AuthError::MalformedHeader {
                        header: header.to_string(),
                        expected: "the documented prefix (e.g. `Bearer `) followed by the secret"
                            .into(),
                    }
                })?;
                self.any_secret_equals(token.trim().as_bytes(), header)
            }
            (None, Scheme::SharedSecret { header }) => {
                let value = text_header(headers, header)?;
                self.any_secret_equals(value.trim().as_bytes(), header)
            }
            (None, Scheme::None) => Ok(()),
            (None, Scheme::Jwt(j)) => {
                // The configured keys, and those the vendor publishes.
                let mut keys = self.jwt_keys.clone();
                if let Some(url) = j.jwks_url()
                    && let Some(doc) = self.remote.as_ref().and_then(|r| r.get(url))
                {
                    keys.extend(j.published_keys(&doc));
                }
                j.verify(&keys, headers, body, self.endpoint.as_deref(), now)
            }
            // `Scheme::signature()` is `Some` for every HMAC scheme; were it
            // not, fail closed.
            (
                None,
                Scheme::Hmac { .. } | Scheme::StandardWebhooks { .. } | Scheme::Signature(_),
            ) => Err(AuthError::WrongSignature {
                header: "(signature)".into(),
            }),
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
}
