//! JSON Web Tokens as a delivery's proof (the manifest's `jwt` scheme):
//! Google Pub/Sub push sends an OIDC token in `Authorization: Bearer …`,
//! Plaid a JWT in `Plaid-Verification` whose claims carry the body's hash.

use serde::{Deserialize, Serialize};

use crate::ManifestError;

/// How a vendor's JWT is found and what it must say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtAuth {
    /// The header that carries the token.
    pub header: String,
    /// Text before the token (`Bearer `).
    #[serde(default)]
    pub prefix: String,
    /// The algorithms the vendor signs with; any other `alg` is refused
    /// (`none` never verifies).
    pub algorithms: Vec<JwtAlgorithm>,
    /// The `iss` values accepted; empty: not checked.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// The `aud` required: a text, or `{url}` (the endpoint URL the vendor
    /// posts to, as Pub/Sub's default audience); absent: not checked.
    pub audience: Option<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    #[serde(default = "leeway")]
    pub leeway_secs: u64,
    /// Refuse tokens issued (`iat`) longer ago than this (Plaid: 300).
    pub max_age_secs: Option<u64>,
    /// Where the vendor publishes its keys as a JWKS document (Google's
    /// `https://www.googleapis.com/oauth2/v3/certs`): fetched and cached by
    /// the receiver, in addition to any keys configured.
    pub jwks_url: Option<String>,
    /// A claim holding the hex SHA-256 of the body (Plaid's
    /// `request_body_sha256`): binds the token to this body.
    pub body_sha256_claim: Option<String>,
}

fn leeway() -> u64 {
    60
}

/// The JWS algorithms hookforge verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    HS256,
    RS256,
    ES256,
}

impl JwtAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::HS256 => "HS256",
            JwtAlgorithm::RS256 => "RS256",
            JwtAlgorithm::ES256 => "ES256",
        }
    }
}

impl JwtAuth {
    pub(crate) fn check(&self) -> Result<(), ManifestError> {
        let bad = |m: &str| Err(ManifestError(format!("`auth.{m}")));
        if self.algorithms.is_empty() {
            return bad(
                "algorithms`: name the algorithms the vendor signs with (HS256, RS256, ES256)",
            );
        }
        let shared = self.algorithms.contains(&JwtAlgorithm::HS256);
        if shared && self.algorithms.len() > 1 {
            // A public key accepted as an HS256 secret would let anyone who
            // has the public key sign (the algorithm-confusion attack).
            return bad(
                "algorithms`: HS256 (a shared secret) cannot be mixed with public-key algorithms",
            );
        }
        if let Some(url) = &self.jwks_url {
            let loopback = ["http://127.0.0.1:", "http://localhost:"]
                .iter()
                .any(|p| url.starts_with(p));
            if !url.starts_with("https://") && !loopback {
                return bad("jwks_url`: keys are fetched over https only");
            }
        }
        if self.header.is_empty() {
            return bad("header`: name the header that carries the token");
        }
        Ok(())
    }
}
