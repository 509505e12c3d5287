//! Reaching a target as a vendor does: what the harness, `load` and the
//! simulator share.

use std::time::Duration;

use super::error::HarnessError;

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
