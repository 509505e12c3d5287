//! Reaching a target as a vendor does: what the harness, `load` and the
//! simulator share (the client, the reachability check, how deliveries are
//! signed for the receiver, and the builder methods that set it).

use std::time::Duration;

use super::error::HarnessError;
use crate::VendorSpec;
use crate::auth::{HmacFormat, Secret, Settings, Signer};

/// How the vendor would sign deliveries for the receiver under test: what
/// `check`, `load` and `simulate` are given (`--secret`, `--hmac-format`,
/// `--key-url`, `--setting`).
#[derive(Clone, Debug, Default)]
pub struct Signing {
    /// The secret the receiver is configured with (it signs, or is the
    /// bearer); for a public-key vendor, the private key (PEM).
    pub secret: Option<Secret>,
    /// An HMAC format instead of the manifest's (Socotra's is undocumented).
    pub hmac_format: Option<HmacFormat>,
    /// For a vendor whose deliveries name their certificate's URL: where the
    /// certificate of the private key is served, on a host the receiver allows.
    pub key_url: Option<String>,
    /// Values the signature covers that deliveries do not carry
    /// (`{setting:NAME}`: PayPal's `webhook_id`), as the receiver has them.
    pub settings: Settings,
}

impl Signing {
    /// The vendor's signer for `secret` (the configured one, or another for
    /// the negative cases), over `url` where the signature covers it (Square's
    /// `{url}`); `None` without a secret.
    pub fn signer(
        &self,
        vendor: &VendorSpec,
        secret: Option<&Secret>,
        url: Option<&str>,
    ) -> Result<Option<Signer>, HarnessError> {
        let Some(secret) = secret else {
            return Ok(None);
        };
        let mut signer =
            Signer::for_manifest_at(vendor.manifest(), secret.clone(), self.hmac_format, url)
                .map_err(|e| HarnessError::Config(format!("{}: {e}", vendor.id)))?;
        if let Some(key_url) = &self.key_url {
            signer = signer.with_key_url(key_url.clone());
        }
        for (name, value) in &self.settings {
            signer = signer.with_setting(name.clone(), value.clone());
        }
        let config = |why: String| HarnessError::Config(format!("{}: {why}", vendor.id));
        signer.check_settings().map_err(|e| config(e.to_string()))?;
        if signer.lacks_key_url() {
            return Err(config(
                "its deliveries name the URL of their certificate: give --key-url, where the certificate of this private key is served on a host the receiver allows".into(),
            ));
        }
        if let Some(url) = &self.key_url {
            reqwest::Url::parse(url).map_err(|e| config(format!("--key-url {url}: {e}")))?;
        }
        Ok(Some(signer))
    }
}

/// The builder methods of a target's settings, written once for the
/// builders that keep them (`signing`, `handshake_token`, `timeout` and
/// `ca_cert` fields): the harness and the simulator.
macro_rules! target_setters {
    () => {
        /// How deliveries are signed, all at once (what the CLI's flags give).
        pub fn signing(mut self, signing: $crate::conformance::target::Signing) -> Self {
            self.signing = signing;
            self
        }

        /// The secret the receiver is configured with (it signs, or is the
        /// bearer); for a public-key vendor, the private key (PEM).
        pub fn secret(mut self, secret: impl Into<$crate::auth::Secret>) -> Self {
            self.signing.secret = Some(secret.into());
            self
        }

        /// Signs with this HMAC format instead of the manifest's (Socotra's
        /// is undocumented).
        pub fn hmac_format(mut self, format: $crate::auth::HmacFormat) -> Self {
            self.signing.hmac_format = Some(format);
            self
        }

        /// The URL deliveries name for their certificate (vendors whose
        /// manifest has `key_url`): where the certificate matching the
        /// private key is served, on a host the receiver allows.
        pub fn key_url(mut self, url: impl Into<String>) -> Self {
            self.signing.key_url = Some(url.into());
            self
        }

        /// A value the vendor's signature covers that deliveries do not
        /// carry (`{setting:NAME}`: PayPal's `webhook_id`), as the receiver
        /// has it.
        pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.signing.settings.insert(name.into(), value.into());
            self
        }

        /// The token the receiver's handshakes check (Meta's verify token):
        /// sent in place of the documented example's.
        pub fn handshake_token(mut self, token: impl Into<$crate::auth::Secret>) -> Self {
            self.handshake_token = Some(token.into());
            self
        }

        /// How long to wait for each answer (default: the vendor's budget).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.timeout = Some(timeout);
            self
        }

        /// Trusts this CA certificate (PEM) for an `https://` target,
        /// besides the system's roots.
        pub fn ca_cert(mut self, pem: impl Into<Vec<u8>>) -> Self {
            self.ca_cert = Some(pem.into());
            self
        }
    };
}
pub(crate) use target_setters;

/// An HTTP client as a vendor's: no redirects followed; rustls with the
/// system's roots, plus `ca_cert` (PEM) when given.
pub(crate) fn client_builder(
    ca_cert: Option<&[u8]>,
) -> Result<reqwest::ClientBuilder, HarnessError> {
    // Vendors do not follow redirects: neither does the harness.
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_cert {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| HarnessError::Config(format!("the CA certificate is not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(HarnessError::Config(
                "the CA certificate file holds no certificate".into(),
            ));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    Ok(b)
}

/// The most of an answer's body the harness reads (64 KiB): vendors read
/// little of it, and an endless one must not fill memory or the budget.
pub(crate) const ANSWER_LIMIT: usize = 64 * 1024;

/// Up to [`ANSWER_LIMIT`] bytes of an answer's body; the rest is left
/// unread (the connection then closes rather than being reused).
pub(crate) async fn read_answer(mut resp: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = ANSWER_LIMIT - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() == ANSWER_LIMIT {
            break;
        }
    }
    Ok(out)
}

/// Fails fast (exit 2 in the CLI) when nothing listens at the URL.
pub(crate) async fn check_reachable(url: &str) -> Result<(), HarnessError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| HarnessError::Unreachable {
        url: url.into(),
        reason: format!("not a URL: {e}"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(HarnessError::Unreachable {
            url: url.into(),
            reason: "only http:// and https:// targets are supported".into(),
        });
    }
    // `[::1]` as the URL writes it; `::1` as a socket address takes it.
    let host = parsed
        .host_str()
        .unwrap_or("127.0.0.1")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(HarnessError::Unreachable {
            url: url.into(),
            reason: e.to_string(),
        }),
        Err(_) => Err(HarnessError::Unreachable {
            url: url.into(),
            reason: "connect timed out after 5 s".into(),
        }),
    }
}
