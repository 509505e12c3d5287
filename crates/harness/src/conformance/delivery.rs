//! What a vendor sends: the exact headers of a delivery for a given body, as
//! documented in the manifest and signed by the vendor's scheme. Used by
//! `hookforge sign` and by the conformance harness.

use std::borrow::Cow;

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
    #[error(
        "the event type is read from {0}, not from the body alone: give the event type (`hookforge sign --event TYPE`)"
    )]
    TypeNotInBody(String),
}

/// Headers carrying the type header part of `event_type`, to read the rest
/// of the envelope (the id) with.
fn type_header(vendor: &VendorSpec, body: &[u8], event_type: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let (Some(name), Ok(value)) = (
        vendor.manifest().event_type.header.as_deref(),
        HeaderValue::from_str(&header_part(vendor, body, event_type)),
    ) && let Ok(name) = HeaderName::from_bytes(name.as_bytes())
    {
        h.insert(name, value);
    }
    h
}

/// What the vendor sends in the event type's header: the whole type, or
/// for a joined type the part before `{join}{body value}`.
fn header_part(vendor: &VendorSpec, body: &[u8], event_type: &str) -> String {
    let loc = &vendor.manifest().event_type;
    let (Some(join), Some(tokens)) = (&loc.join, loc.pointer_tokens()) else {
        return event_type.to_string();
    };
    let value: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let mut at = value.as_ref();
    for t in &tokens {
        at = at.and_then(|v| v.get(t));
    }
    match at.and_then(|v| v.as_str()) {
        Some(b) if event_type.ends_with(&format!("{join}{b}")) => {
            event_type[..event_type.len() - join.len() - b.len()].to_string()
        }
        // The body lacks the value (a probe removed it): the header still
        // carries only its own part.
        _ => match event_type.rsplit_once(join.as_str()) {
            Some((head, _)) => head.to_string(),
            None => event_type.to_string(),
        },
    }
}

/// Options for one delivery attempt.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    /// 0 on the first delivery.
    pub attempt: u32,
    /// Unix seconds; now when `None`.
    pub timestamp: Option<u64>,
    /// The event type, when the body alone does not say it (a type joined
    /// from a header and a body field, as GitHub's).
    pub event_type: Option<String>,
    /// The event id, when the vendor sends it only in a header (GitHub's
    /// `X-GitHub-Delivery`); when `None` one is minted from the body.
    pub event_id: Option<String>,
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
    vendor_delivery(vendor, body, signer, attempt).map(|(_, headers)| headers)
}

/// Header names and values, in the order sent.
pub type Headers = Vec<(String, String)>;

/// A delivery as the vendor sends it: the body on the wire (a form vendor's
/// form; a signature kept in the body written into it) and the headers.
pub fn vendor_delivery(
    vendor: &VendorSpec,
    body: &[u8],
    signer: Option<&Signer>,
    attempt: &Attempt,
) -> Result<(Vec<u8>, Headers), HeadersError> {
    let m = vendor.manifest();
    let envelope = match (&attempt.event_type, &m.event_type.join) {
        (Some(t), _) => crate::parse::Envelope {
            event_type: t.clone(),
            event_id: vendor
                .read_envelope(body, &type_header(vendor, body, t))
                .ok()
                .and_then(|e| e.event_id),
        },
        (None, Some(_)) => return Err(HeadersError::TypeNotInBody(m.event_type.describe())),
        (None, None) => vendor.read_envelope(body, &HeaderMap::new())?,
    };
    // A joined type is sent as its header part (`issues` of `issues.opened`).
    let type_header_value = header_part(vendor, body, &envelope.event_type);
    let event_id = envelope
        .event_id
        .clone()
        .or_else(|| attempt.event_id.clone())
        .unwrap_or_else(|| minted_id(vendor, body));
    let mut ctx = SignContext::now(event_id.clone());
    if let Some(ts) = attempt.timestamp {
        ctx.timestamp = ts;
    }
    // A signature kept in the body is written into it; then the body is
    // signed as sent (a form vendor's form bytes).
    let body_signed = signer.and_then(|s| s.sign_body(body, &ctx));
    let body = body_signed.as_deref().unwrap_or(body);
    let wire = crate::form::wire_body(&vendor.manifest().body, body).into_owned();
    let signed: Vec<(HeaderName, HeaderValue)> =
        signer.map(|s| s.sign(&wire, &ctx)).unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut used_signed = vec![false; signed.len()];
    for spec in &vendor.manifest().headers {
        match spec.only_when.as_deref() {
            Some("secret") if signer.is_none() => continue,
            // Sent only when the delivery is retried (Slack's X-Slack-Retry-Num).
            Some("retry") if attempt.attempt == 0 => continue,
            Some(cond)
                if cond.starts_with("event=") && cond["event=".len()..] != envelope.event_type =>
            {
                continue;
            }
            _ => {}
        }
        let name = HeaderName::from_bytes(spec.name.as_bytes())
            .map_err(|_| HeadersError::Name(spec.name.clone()))?;
        let auth_filled = ["{signature}", "{secret}"]
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
        let event_type = if m
            .event_type
            .header
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(&spec.name))
        {
            &type_header_value
        } else {
            &envelope.event_type
        };
        let value = spec
            .value
            .replace("{event_type}", event_type)
            .replace("{event_id}", &event_id)
            .replace("{attempt}", &attempt.attempt.to_string())
            .replace("{timestamp}", &stamp_text(m, ctx.timestamp))
            .replace("{timestamp_rfc3339}", &rfc3339(ctx.timestamp));
        HeaderValue::from_str(&value).map_err(|_| HeadersError::Value(spec.name.clone()))?;
        out.push((spec.name.clone(), value));
    }
    let located = [
        (m.event_type.header.as_deref(), type_header_value.as_str()),
        (id_header(m), event_id.as_str()),
    ];
    add_unlisted(&mut out, &signed, located)?;
    // Auth headers the manifest does not list (a shared secret switched on
    // for a vendor that documents none).
    for (i, (n, v)) in signed.into_iter().enumerate() {
        if !used_signed[i] {
            out.push((n.to_string(), text(&v)));
        }
    }
    Ok((wire, out))
}

/// The event id's header, if the manifest reads the id from one.
fn id_header(m: &crate::manifest::Manifest) -> Option<&str> {
    m.event_id.as_ref().and_then(|l| l.header.as_deref())
}

/// The type's and id's headers where the manifest reads them but does not
/// list them (an inferred manifest): without them the receiver cannot read
/// the delivery's type, and quarantines it. Not where a listed or signed
/// header has the name already.
fn add_unlisted<'a>(
    out: &mut Headers,
    signed: &[(HeaderName, HeaderValue)],
    located: impl IntoIterator<Item = (Option<&'a str>, &'a str)>,
) -> Result<(), HeadersError> {
    for (name, value) in located {
        let Some(name) = name else { continue };
        let sent = |k: &str| k.eq_ignore_ascii_case(name);
        if out.iter().any(|(k, _)| sent(k)) || signed.iter().any(|(k, _)| sent(k.as_str())) {
            continue;
        }
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| HeadersError::Name(name.into()))?;
        HeaderValue::from_str(value).map_err(|_| HeadersError::Value(name.into()))?;
        out.push((name.to_string(), value.to_string()));
    }
    Ok(())
}

/// `{timestamp}` in the signature's unit, as the signer writes it where it
/// signs (HubSpot's milliseconds), for the headers sent unsigned too.
fn stamp_text(m: &crate::manifest::Manifest, secs: u64) -> String {
    match &m.auth {
        crate::manifest::Auth::Signature(s)
            if matches!(
                s.timestamp_unit,
                crate::manifest::TimestampUnit::Milliseconds
            ) =>
        {
            secs.saturating_mul(1000).to_string()
        }
        _ => secs.to_string(),
    }
}

/// The body of attempt `attempt` (0 the first): the numbers the vendor
/// changes on every attempt (`delivery.per_attempt`, Coinbase Commerce's
/// `/attempt_number`) that much higher; other vendors' bodies as they are.
pub fn for_attempt<'a>(vendor: &VendorSpec, body: &'a [u8], attempt: u32) -> Cow<'a, [u8]> {
    let pointers = vendor.manifest().per_attempt();
    if attempt == 0 || pointers.is_empty() {
        return Cow::Borrowed(body);
    }
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Cow::Borrowed(body);
    };
    let mut changed = false;
    for p in crate::manifest::pointers_matching_any(&doc, pointers) {
        if let Some(slot) = doc.pointer_mut(&p)
            && let Some(n) = slot.as_i64()
        {
            *slot = (n + i64::from(attempt)).into();
            changed = true;
        }
    }
    match changed {
        true => Cow::Owned(serde_json::to_vec(&doc).expect("Value serializes")),
        false => Cow::Borrowed(body),
    }
}

/// Sets the vendor's `fresh_times` (timestamps that are not date-time
/// strings) to `at_ms`, in the unit the value has (seconds or
/// milliseconds), adding one the body lacks in the unit of the vendor's
/// samples that have it. A vendor stamps each delivery as it sends it, and
/// some verifiers refuse a stale or missing stamp: @linear/sdk 98 refuses a
/// `webhookTimestamp` more than 60 s from now, or none. Whether anything
/// changed.
pub fn stamp_times(vendor: &VendorSpec, doc: &mut serde_json::Value, at_ms: i64) -> bool {
    let rules = vendor.manifest().delivery.as_ref();
    stamp(
        vendor,
        doc,
        at_ms,
        rules.map_or(&[][..], |r| r.fresh_times.as_slice()),
    )
}

fn stamp(vendor: &VendorSpec, doc: &mut serde_json::Value, at_ms: i64, which: &[String]) -> bool {
    let mut changed = false;
    for p in which {
        let millis = match doc.pointer(p) {
            Some(v) => time_in_millis(v),
            None => sample_time_in_millis(vendor, p),
        };
        let Some(millis) = millis else { continue };
        let secs = if millis { at_ms } else { at_ms / 1000 };
        let new = match doc.pointer(p) {
            Some(serde_json::Value::String(_)) => serde_json::Value::String(secs.to_string()),
            _ => serde_json::Value::from(secs),
        };
        let Some((parent, key)) = p.rsplit_once('/') else {
            continue;
        };
        if let Some(serde_json::Value::Object(o)) = doc.pointer_mut(parent) {
            o.insert(crate::manifest::unescape_token(key), new);
            changed = true;
        }
    }
    changed
}

/// [`stamp_times`] on a body's bytes: only the stamps change, and every
/// other byte stays as it was (a byte probe's layout, its escapes and its
/// big numbers survive). `None` when nothing changed.
pub fn stamp_times_in_place(vendor: &VendorSpec, body: &[u8], at_ms: i64) -> Option<Vec<u8>> {
    let rules = vendor.manifest().delivery.as_ref();
    stamp_in_place(
        vendor,
        body,
        at_ms,
        rules.map_or(&[][..], |r| r.fresh_times.as_slice()),
    )
}

/// Only the times of sending (`sent_times`) the body has set to `at_ms`,
/// for a delivery sent as received: its event times stay as stored, and
/// nothing is added to it.
pub fn stamp_sent_times_in_place(vendor: &VendorSpec, body: &[u8], at_ms: i64) -> Option<Vec<u8>> {
    let rules = vendor.manifest().delivery.as_ref();
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let present: Vec<String> = (rules.map_or(&[][..], |r| r.sent_times.as_slice()).iter())
        .filter(|p| doc.pointer(p).is_some())
        .cloned()
        .collect();
    stamp_in_place(vendor, body, at_ms, &present)
}

fn stamp_in_place(
    vendor: &VendorSpec,
    body: &[u8],
    at_ms: i64,
    which: &[String],
) -> Option<Vec<u8>> {
    if which.is_empty() {
        return None;
    }
    let mut doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    if !stamp(vendor, &mut doc, at_ms, which) {
        return None;
    }
    let mut text = std::str::from_utf8(body).ok()?.to_string();
    for p in which {
        if let Some(new) = doc.pointer(p) {
            text = crate::util::json_splice(&text, p, &new.to_string())?;
        }
    }
    Some(text.into_bytes())
}

/// Whether a Unix time is in milliseconds (`None`: not a Unix time).
fn time_in_millis(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().map(|t| t >= 100_000_000_000),
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.len() >= 12)
        }
        _ => None,
    }
}

/// The unit of the first of the vendor's samples that has a time at `pointer`.
fn sample_time_in_millis(vendor: &VendorSpec, pointer: &str) -> Option<bool> {
    let samples = vendor.events.iter().flat_map(|e| e.samples);
    samples
        .filter_map(|s| serde_json::from_slice::<serde_json::Value>(s.body).ok())
        .find_map(|doc| doc.pointer(pointer).and_then(time_in_millis))
}

/// An id for a delivery whose vendor sends it only in a header: shaped like
/// the manifest's example (GitHub's GUID) when it has one, stable per body.
pub fn minted_id(vendor: &VendorSpec, body: &[u8]) -> String {
    let digest = crate::util::sha256_hex(body);
    match vendor
        .manifest()
        .event_id
        .as_ref()
        .and_then(|l| l.example.as_deref())
    {
        Some(example) => mutate_id(example, &digest),
        // Standard Webhooks signing needs a message id.
        None => format!("msg_{}", &digest[..24]),
    }
}

/// Unix seconds as RFC 3339 in UTC (Shopify's `X-Shopify-Triggered-At`).
fn rfc3339(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn text(v: &HeaderValue) -> String {
    v.to_str().expect("signers produce ASCII").to_string()
}

/// Changes the last characters of an id, each within its own class (digits,
/// hex letters, Crockford letters), so the id keeps its documented format.
pub fn mutate_id(id: &str, nonce: &str) -> String {
    const CROCKFORD_LETTERS: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ";
    let h = crate::util::sha256_hex(nonce.as_bytes());
    let mut seed = h.bytes().cycle();
    let mut chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    for c in chars.iter_mut().skip(n.saturating_sub(10)) {
        let r = seed.next().unwrap_or(b'0') as usize;
        *c = match *c {
            '0'..='9' => (b'0' + (r % 10) as u8) as char,
            'a'..='f' => (b'a' + (r % 6) as u8) as char,
            'A'..='Z' if c.is_ascii_uppercase() => {
                CROCKFORD_LETTERS[r % CROCKFORD_LETTERS.len()] as char
            }
            'g'..='z' => (b'a' + (r % 26) as u8) as char,
            other => other,
        };
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stamping changes the stamp and no other byte: a byte probe's layout
    /// (CRLF, tabs, escapes, big numbers) reaches the receiver as planned.
    /// Before, the body was parsed and written out again, compact.
    #[test]
    fn stamps_change_in_place() {
        let sendgrid = hookforge_core::vendor("sendgrid").unwrap();
        let body = "[\r\n\t{\"email\": \"a\\u0040b.c\",\r\n\t \"timestamp\": 1600000000, \"n\": 9007199254740993}\r\n]";
        let at_ms = 1_796_000_000_123;
        let out = stamp_times_in_place(sendgrid, body.as_bytes(), at_ms).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            body.replace("1600000000", "1796000000")
        );
        // A body without the stamp gets one, in the unit of the samples.
        let linear = hookforge_core::vendor("linear").unwrap();
        let body = "{\r\n\t\"action\": \"create\"\r\n}";
        let out = String::from_utf8(stamp_times_in_place(linear, body.as_bytes(), at_ms).unwrap())
            .unwrap();
        assert!(
            out.starts_with("{\r\n\t\"action\": \"create\"\r\n,\"webhookTimestamp\":"),
            "{out}"
        );
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(doc["webhookTimestamp"].is_number(), "{out}");
    }
}
