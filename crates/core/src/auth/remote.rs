//! Keys a delivery points at: the URL of the vendor's certificate, named in
//! a header or the body (PayPal, AWS SNS). The URL must name an allowed host
//! (checked before anything is fetched); fetching and caching belong to the
//! receiver (see `hookforge::receive`), which hands the verifier what it
//! holds through [`RemoteKeys`].

use std::sync::Arc;

use http::HeaderMap;

use super::AuthError;
use crate::manifest::KeyUrl;

/// Keys fetched earlier, by URL (a PEM certificate or public key).
pub trait RemoteKeys: Send + Sync {
    fn get(&self, url: &str) -> Option<Arc<str>>;
}

/// The key URL a delivery names, if its scheme reads one; refused unless it
/// is `https` on an allowed host (or an allowed loopback `host:port`).
pub fn key_url_of(spec: &KeyUrl, headers: &HeaderMap, body: &[u8]) -> Result<String, AuthError> {
    let (place, url) = match (&spec.header, &spec.pointer) {
        (Some(h), _) => (format!("header `{h}`"), {
            // Named twice, neither is trusted (see `text_header`).
            let mut values = headers.get_all(h.as_str()).iter();
            match (values.next(), values.next()) {
                (Some(v), None) => v.to_str().ok().map(str::to_string),
                _ => None,
            }
        }),
        (None, Some(p)) => (
            format!("body `{p}`"),
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|doc| doc.pointer(p)?.as_str().map(str::to_string)),
        ),
        (None, None) => return Err(refused("the manifest", "a key URL")),
    };
    let url = url.ok_or_else(|| refused(&place, "the URL of the vendor's certificate"))?;
    check_host(&url, &spec.hosts).map_err(|why| AuthError::KeyUrl { place, why })?;
    Ok(url)
}

fn refused(place: &str, expected: &'static str) -> AuthError {
    AuthError::MalformedHeader {
        header: place.to_string(),
        expected: expected.into(),
    }
}

/// Why a URL a delivery names may not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefused {
    NotAbsolute,
    UserInformation,
    /// The host is not one the manifest lists.
    Host(String),
    /// Neither https nor http to loopback.
    Scheme(String),
}

impl std::fmt::Display for UrlRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlRefused::NotAbsolute => f.write_str("not an absolute URL"),
            UrlRefused::UserInformation => f.write_str("a URL with user information"),
            UrlRefused::Host(host) => {
                write!(f, "host `{host}` is not one the vendor serves keys from")
            }
            UrlRefused::Scheme(scheme) => {
                write!(f, "`{scheme}`: keys are fetched over https only")
            }
        }
    }
}

impl std::error::Error for UrlRefused {}

/// Why `url` may not be fetched, if it may not.
pub fn check_host(url: &str, hosts: &[String]) -> Result<(), UrlRefused> {
    let (scheme, rest) = url.split_once("://").ok_or(UrlRefused::NotAbsolute)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(UrlRefused::UserInformation);
    }
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    let allowed = hosts.iter().any(|h| {
        if loopback {
            // A loopback host is named with its port: only that server.
            authority.eq_ignore_ascii_case(h)
        } else {
            host_matches(host, h)
        }
    });
    if !allowed {
        return Err(UrlRefused::Host(host.to_string()));
    }
    match (scheme, loopback) {
        ("https", _) | ("http", true) => Ok(()),
        _ => Err(UrlRefused::Scheme(scheme.to_string())),
    }
}

/// Whether `host` is `pattern`, label by label, where a `*` label stands
/// for exactly one non-empty label (`sns.*.amazonaws.com` is SNS in any
/// region, never `attacker.s3.amazonaws.com`).
fn host_matches(host: &str, pattern: &str) -> bool {
    let (hl, pl): (Vec<&str>, Vec<&str>) =
        (host.split('.').collect(), pattern.split('.').collect());
    hl.len() == pl.len()
        && hl
            .iter()
            .zip(&pl)
            .all(|(h, p)| !h.is_empty() && (*p == "*" || h.eq_ignore_ascii_case(p)))
}

/// The `SubjectPublicKeyInfo` inside a DER X.509 certificate.
pub fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
    // OPTIONAL, serialNumber, signature, issuer, validity, subject,
    // subjectPublicKeyInfo, ... }, ... }
    let (cert, _) = element(der)?;
    let (tbs, _) = element(content(cert)?)?;
    let mut rest = content(tbs)?;
    if rest.first() == Some(&0xa0) {
        rest = element(rest)?.1;
    }
    for _ in 0..5 {
        rest = element(rest)?.1;
    }
    element(rest).map(|(spki, _)| spki)
}

/// The first DER element of `der` (tag, length and content) and what follows.
fn element(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let first = *der.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let len = der
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, b| a << 8 | *b as usize);
        (len, 2 + n)
    };
    let end = head.checked_add(len)?;
    Some((der.get(..end)?, der.get(end..)?))
}

/// The content of one DER element.
fn content(element: &[u8]) -> Option<&[u8]> {
    let first = *element.get(1)? as usize;
    let head = if first < 0x80 { 2 } else { 2 + (first & 0x7f) };
    element.get(head..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_hosts_over_https() {
        let hosts = [
            "api.paypal.com".to_string(),
            "sns.*.amazonaws.com".into(),
            "127.0.0.1:9443".into(),
        ];
        let ok = |u: &str| check_host(u, &hosts);
        assert!(ok("https://api.paypal.com/v1/notifications/certs/CERT-360caa42").is_ok());
        assert!(ok("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem").is_ok());
        assert!(ok("https://SNS.eu-west-2.amazonaws.com:443/x.pem").is_ok());
        assert!(ok("http://127.0.0.1:9443/cert.pem").is_ok());
        for bad in [
            "https://attacker.s3.amazonaws.com/x.pem",
            "https://sns.a.b.amazonaws.com/x.pem",
            "https://sns..amazonaws.com/x.pem",
            "https://s3.amazonaws.com/x.pem",
            "http://api.paypal.com/cert",
            "https://api.paypal.com.evil.example/cert",
            "https://amazonaws.com.evil.example/x.pem",
            "https://evilamazonaws.com/x.pem",
            "https://api.paypal.com@evil.example/cert",
            "http://127.0.0.1:9444/cert.pem",
            "file:///etc/passwd",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }
}
