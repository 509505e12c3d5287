//! JSON Web Tokens as a delivery's proof (the manifest's `jwt` scheme): the
//! token's signature (HS256 with a shared secret; RS256 and ES256 with the
//! vendor's public key, as PEM or a JWKS document), then its claims: expiry,
//! issue time, issuer, audience, and a body hash where the vendor binds one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::keys::{SigningKey, VerifyKey};
use super::*;
use crate::manifest::{JwtAlgorithm, JwtAuth, KeyFormat, SignatureAlgorithm};

/// A checked [`JwtAuth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtScheme {
    header: HeaderName,
    spec: JwtAuth,
}

/// One key a token may be signed with: its algorithm and, from a JWKS,
/// its `kid`.
#[derive(Clone)]
pub(super) struct JwtKey {
    alg: JwtAlgorithm,
    kid: Option<String>,
    key: VerifyKey,
}

fn signature_algorithm(alg: JwtAlgorithm) -> SignatureAlgorithm {
    match alg {
        JwtAlgorithm::HS256 => SignatureAlgorithm::Hmac,
        JwtAlgorithm::RS256 => SignatureAlgorithm::RsaSha256,
        // JWS writes ECDSA signatures as `r || s`.
        JwtAlgorithm::ES256 => SignatureAlgorithm::EcdsaP256Sha256Fixed,
    }
}

impl JwtScheme {
    pub fn new(spec: &JwtAuth) -> Result<JwtScheme, AuthConfigError> {
        Ok(JwtScheme {
            header: header_name(&spec.header)?,
            spec: spec.clone(),
        })
    }

    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// How old a token may be: its `max_age_secs`, else the leeway.
    pub fn tolerance(&self) -> Duration {
        Duration::from_secs(self.spec.max_age_secs.unwrap_or(self.spec.leeway_secs))
    }

    /// Where the vendor publishes its keys, when it does.
    pub fn jwks_url(&self) -> Option<&str> {
        self.spec.jwks_url.as_deref()
    }

    /// The keys of the vendor's published JWKS, as fetched (none if the
    /// document is unusable: then only configured keys verify).
    pub(super) fn published_keys(&self, jwks: &str) -> Vec<JwtKey> {
        self.jwks(jwks).unwrap_or_default()
    }

    /// Whether the audience is the endpoint URL (`{url}`).
    pub fn needs_url(&self) -> bool {
        self.spec.audience.as_deref() == Some("{url}")
    }

    /// The keys a configured secret stands for: the HS256 secret; a public
    /// key (PEM, or base64 DER) for each public-key algorithm it fits; or
    /// every usable key of a JWKS document (`{"keys": […]}`).
    pub(super) fn keys(&self, s: &Secret) -> Result<Vec<JwtKey>, AuthConfigError> {
        if self.spec.algorithms == [JwtAlgorithm::HS256] {
            let key = VerifyKey::new(SignatureAlgorithm::Hmac, KeyFormat::Utf8, s)?;
            return Ok(vec![JwtKey {
                alg: JwtAlgorithm::HS256,
                kid: None,
                key,
            }]);
        }
        if s.expose().trim_start().starts_with('{') {
            return self.jwks(s.expose());
        }
        let keys: Vec<JwtKey> = self
            .spec
            .algorithms
            .iter()
            .filter_map(|alg| {
                let key = VerifyKey::new(signature_algorithm(*alg), KeyFormat::Pem, s).ok()?;
                Some(JwtKey {
                    alg: *alg,
                    kid: None,
                    key,
                })
            })
            .collect();
        if keys.is_empty() {
            return Err(AuthConfigError(format!(
                "not a public key for {}: expected PEM (or base64 DER SubjectPublicKeyInfo) or a JWKS document",
                self.algorithm_list()
            )));
        }
        Ok(keys)
    }

    fn algorithm_list(&self) -> String {
        let names: Vec<&str> = self.spec.algorithms.iter().map(|a| a.as_str()).collect();
        names.join(", ")
    }

    /// The keys of a JWKS document the scheme's algorithms can use.
    fn jwks(&self, text: &str) -> Result<Vec<JwtKey>, AuthConfigError> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| AuthConfigError(format!("a JWKS document that is not JSON: {e}")))?;
        let keys = doc["keys"]
            .as_array()
            .ok_or_else(|| AuthConfigError("a JWKS document needs a `keys` array".into()))?;
        let out: Vec<JwtKey> = keys.iter().filter_map(|k| self.jwk(k)).collect();
        if out.is_empty() {
            return Err(AuthConfigError(format!(
                "the JWKS document has no key usable for {}",
                self.algorithm_list()
            )));
        }
        Ok(out)
    }

    fn jwk(&self, k: &Value) -> Option<JwtKey> {
        let part = |name: &str| B64URL.decode(k[name].as_str()?).ok();
        let (alg, key) = match k["kty"].as_str()? {
            "RSA" => (JwtAlgorithm::RS256, jwk_rsa(&part("n")?, &part("e")?)?),
            "EC" if k["crv"] == "P-256" => {
                let point = [&[4u8][..], &part("x")?, &part("y")?].concat();
                (JwtAlgorithm::ES256, jwk_point(&point)?)
            }
            _ => return None,
        };
        self.spec.algorithms.contains(&alg).then(|| JwtKey {
            alg,
            kid: k["kid"].as_str().map(str::to_string),
            key,
        })
    }

    /// Verifies a delivery's token against `keys`, then its claims.
    pub(super) fn verify(
        &self,
        keys: &[JwtKey],
        headers: &HeaderMap,
        body: &[u8],
        endpoint: Option<&str>,
        now: SystemTime,
    ) -> Result<(), AuthError> {
        let token = self.token(headers)?;
        let malformed = |expected: &'static str| AuthError::MalformedHeader {
            header: self.header.to_string(),
            expected: expected.into(),
        };
        let parts: Vec<&str> = token.split('.').collect();
        let [head, payload, sig] = parts[..] else {
            return Err(malformed("a JWT: three base64url parts joined by `.`"));
        };
        let decode =
            |p: &str| -> Option<Value> { serde_json::from_slice(&B64URL.decode(p).ok()?).ok() };
        let head = decode(head).ok_or_else(|| malformed("a JWT whose header is base64url JSON"))?;
        let alg = head["alg"].as_str().unwrap_or("none");
        let alg = self
            .spec
            .algorithms
            .iter()
            .copied()
            .find(|a| a.as_str() == alg)
            .ok_or_else(|| AuthError::MalformedHeader {
                header: self.header.to_string(),
                expected: format!("a JWT signed with {}", self.algorithm_list()).into(),
            })?;
        let sig = B64URL
            .decode(sig)
            .map_err(|_| malformed("a JWT whose signature is base64url"))?;
        let signed = [&token.as_bytes()[..token.len() - parts[2].len() - 1]];
        let kid = head["kid"].as_str();
        let mut verified = false;
        for k in keys.iter().filter(|k| k.alg == alg) {
            if k.kid.is_none() || kid.is_none() || k.kid.as_deref() == kid {
                verified |= k.key.verifies(Some(HashAlgorithm::Sha256), &signed, &sig);
            }
        }
        if !verified {
            return Err(AuthError::WrongSignature {
                header: self.header.to_string(),
            });
        }
        let claims =
            decode(payload).ok_or_else(|| malformed("a JWT whose claims are base64url JSON"))?;
        self.check_times(&claims, now)?;
        self.check_claims(&claims, body, endpoint)
    }

    fn token<'h>(&self, headers: &'h HeaderMap) -> Result<&'h str, AuthError> {
        let value = text_header(headers, &self.header)?;
        strip_prefix_ignore_case(value, &self.spec.prefix)
            .map(str::trim)
            .ok_or_else(|| AuthError::MalformedHeader {
                header: self.header.to_string(),
                expected: format!("`{}` followed by a JWT", self.spec.prefix).into(),
            })
    }

    fn check_times(&self, claims: &Value, now: SystemTime) -> Result<(), AuthError> {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let leeway = self.spec.leeway_secs;
        let header = || self.header.to_string();
        let at = |name: &str| claims[name].as_u64();
        if let Some(exp) = at("exp")
            && now > exp + leeway
        {
            return Err(AuthError::StaleTimestamp {
                header: format!("{} (JWT `exp`)", header()),
                age_secs: now - exp,
                tolerance_secs: leeway,
            });
        }
        for name in ["nbf", "iat"] {
            if let Some(t) = at(name)
                && t > now + leeway
            {
                return Err(AuthError::FutureTimestamp {
                    header: format!("{} (JWT `{name}`)", header()),
                    ahead_secs: t - now,
                    tolerance_secs: leeway,
                });
            }
        }
        match (self.spec.max_age_secs, at("iat")) {
            (Some(max), Some(iat)) if now > iat + max + leeway => Err(AuthError::StaleTimestamp {
                header: format!("{} (JWT `iat`)", header()),
                age_secs: now - iat,
                tolerance_secs: max,
            }),
            (Some(_), None) => Err(self.claim("iat", "the time the token was issued")),
            _ if at("exp").is_none() && self.spec.max_age_secs.is_none() => {
                // A token that never expires proves nothing about now.
                Err(self.claim("exp", "an expiry time"))
            }
            _ => Ok(()),
        }
    }

    fn check_claims(
        &self,
        claims: &Value,
        body: &[u8],
        endpoint: Option<&str>,
    ) -> Result<(), AuthError> {
        if !self.spec.issuers.is_empty() {
            let iss = claims["iss"].as_str().unwrap_or_default();
            if !self.spec.issuers.iter().any(|i| i == iss) {
                let expected = format!("one of {}", self.spec.issuers.join(", "));
                return Err(self.claim("iss", &expected));
            }
        }
        if let Some(aud) = &self.spec.audience {
            let want = if aud == "{url}" {
                endpoint.unwrap_or_default()
            } else {
                aud.as_str()
            };
            let ok = match &claims["aud"] {
                Value::String(s) => s == want,
                Value::Array(a) => a.iter().any(|x| x.as_str() == Some(want)),
                _ => false,
            };
            if !ok {
                return Err(self.claim("aud", "this endpoint's audience"));
            }
        }
        if let Some(name) = &self.spec.body_sha256_claim {
            let given = claims[name]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let actual = crate::util::sha256_hex(body);
            if !bool::from(given.as_bytes().ct_eq(actual.as_bytes())) {
                return Err(self.claim(name, "the SHA-256 of the body received"));
            }
        }
        Ok(())
    }

    fn claim(&self, claim: &str, expected: &str) -> AuthError {
        AuthError::Claim {
            header: self.header.to_string(),
            claim: claim.to_string(),
            expected: expected.to_string(),
        }
    }

    /// The algorithm tokens are signed with here (the first listed).
    pub fn signing_algorithm(&self) -> Option<SignatureAlgorithm> {
        self.spec
            .algorithms
            .first()
            .map(|a| signature_algorithm(*a))
    }

    /// What a sender signs with (the first algorithm fits the secret).
    pub(super) fn signing_key(&self, s: &Secret) -> Result<SigningKey, AuthConfigError> {
        let alg = self.spec.algorithms[0];
        let format = if alg == JwtAlgorithm::HS256 {
            KeyFormat::Utf8
        } else {
            KeyFormat::Pem
        };
        SigningKey::new(signature_algorithm(alg), format, s)
    }

    /// A token as the vendor would send it, issued at `ctx.timestamp`.
    pub(super) fn sign(
        &self,
        key: &SigningKey,
        body: &[u8],
        ctx: &SignContext,
        endpoint: Option<&str>,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let alg = self.spec.algorithms[0];
        // Short-lived, as the tokens vendors send are.
        let mut claims = json!({"iat": ctx.timestamp, "exp": ctx.timestamp + 60});
        if let Some(iss) = self.spec.issuers.first() {
            claims["iss"] = json!(iss);
        }
        if let Some(aud) = &self.spec.audience {
            claims["aud"] = json!(if aud == "{url}" {
                endpoint.unwrap_or_default()
            } else {
                aud
            });
        }
        if let Some(name) = &self.spec.body_sha256_claim {
            claims[name] = json!(crate::util::sha256_hex(body));
        }
        let head = json!({"alg": alg.as_str(), "typ": "JWT"});
        let input = format!(
            "{}.{}",
            B64URL.encode(head.to_string()),
            B64URL.encode(claims.to_string())
        );
        let sig = key.sign(Some(HashAlgorithm::Sha256), &[input.as_bytes()]);
        let token = format!("{}{input}.{}", self.spec.prefix, B64URL.encode(sig));
        vec![(
            self.header.clone(),
            HeaderValue::from_str(&token).expect("a JWT is header text"),
        )]
    }
}

#[cfg(feature = "public-keys")]
fn jwk_rsa(n: &[u8], e: &[u8]) -> Option<VerifyKey> {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    let parsed = RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .ok()?;
    Some(VerifyKey::Public(parsed, None))
}

#[cfg(feature = "public-keys")]
fn jwk_point(point: &[u8]) -> Option<VerifyKey> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
    ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .ok()
        .map(|k| VerifyKey::Public(k, None))
}

#[cfg(not(feature = "public-keys"))]
fn jwk_rsa(_: &[u8], _: &[u8]) -> Option<VerifyKey> {
    None
}

#[cfg(not(feature = "public-keys"))]
fn jwk_point(_: &[u8]) -> Option<VerifyKey> {
    None
}
