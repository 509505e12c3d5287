//! What a vendor sends: the exact headers of a delivery for a given body, as
//! documented in the manifest and signed by the vendor's scheme. Used by
//! `hookforge sign` and by the conformance harness.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::auth::{SignContext, Signer};
use crate::{ParseError, VendorSpec};

/// Why headers could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadersError {
    #[error("the body is not a delivery of this vendor: {0}")]
    Body(#[from] ParseError),
    #[error("header `{0}` would not be a valid header value")]
    Value(String),
    #[error("header {0:?} in the manifest is not a valid header name")]
    Name(String),
}

/// Options for one delivery attempt.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    /// 0 on the first delivery.
    pub attempt: u32,
    /// Unix seconds; now when `None`.
    pub timestamp: Option<u64>,
}

/// The headers the vendor sends with `body`, in the manifest's order and
/// spelling. Without a signer, headers that carry a signature or secret are
/// left out. Every value is a valid header value.
pub fn vendor_headers(
    vendor: &VendorSpec,
    body: &[u8],
    signer: Option<&Signer>,
    attempt: &Attempt,
) -> Result<Vec<(String, String)>, HeadersError> {
    let envelope = vendor.read_envelope(body, &HeaderMap::new())?;
    let event_id = envelope.event_id.clone().unwrap_or_else(|| {
        // Vendors without ids get a stable one derived from the body, so
        // Standard Webhooks signing has a message id.
        format!("msg_{}", &crate::util::sha256_hex(body)[..24])
    });
    let mut ctx = SignContext::now(event_id.clone());
    if let Some(ts) = attempt.timestamp {
        ctx.timestamp = ts;
    }
    let signed: Vec<(HeaderName, HeaderValue)> =
        signer.map(|s| s.sign(body, &ctx)).unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut used_signed = vec![false; signed.len()];
    for spec in &vendor.manifest().headers {
        match spec.only_when.as_deref() {
            Some("secret") if signer.is_none() => continue,
            Some(cond)
                if cond.starts_with("event=") && cond["event=".len()..] != envelope.event_type =>
            {
                continue;
            }
            _ => {}
        }
        let name = HeaderName::from_bytes(spec.name.as_bytes())
            .map_err(|_| HeadersError::Name(spec.name.clone()))?;
        let auth_filled = ["{signature}", "{secret}", "{timestamp}"]
            .iter()
            .any(|p| spec.value.contains(p))
            || signed.iter().any(|(n, _)| *n == name);
        if auth_filled {
            // Filled in by the signer (same header name), or dropped unsigned.
            if let Some(i) = signed.iter().position(|(n, _)| *n == name) {
                used_signed[i] = true;
                out.push((spec.name.clone(), text(&signed[i].1)));
            }
            continue;
        }
        let value = spec
            .value
            .replace("{event_type}", &envelope.event_type)
            .replace("{event_id}", &event_id)
            .replace("{attempt}", &attempt.attempt.to_string());
        HeaderValue::from_str(&value).map_err(|_| HeadersError::Value(spec.name.clone()))?;
        out.push((spec.name.clone(), value));
    }
    // Auth headers the manifest does not list (a shared secret switched on
    // for a vendor that documents none).
    for (i, (n, v)) in signed.into_iter().enumerate() {
        if !used_signed[i] {
            out.push((n.to_string(), text(&v)));
        }
    }
    Ok(out)
}

fn text(v: &HeaderValue) -> String {
    v.to_str().expect("signers produce ASCII").to_string()
}
