//! Signatures described by their parts (the manifest's `signature` scheme):
//! what is signed, the hash, the key, the encoding, and how the header
//! carries it. The `hmac` and `standard-webhooks` schemes run through this
//! too, as the templates [`SignatureAuth::hmac`] and
//! [`SignatureAuth::standard_webhooks`].

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::keys::{SigningKey, VerifyKey};
use super::*;
use crate::manifest::{
    FormatEntry, KeyFormat, SignatureAlgorithm, SignatureAuth, SignedPiece, Slot, TimestampUnit,
};

/// A checked, ready-to-use [`SignatureAuth`] with an HMAC (`{sig}`) format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureScheme {
    header: HeaderName,
    format: String,
    signed_text: String,
    entries: Vec<FormatEntry>,
    separator: Option<String>,
    signed: Vec<SignedPiece>,
    algorithm: SignatureAlgorithm,
    /// HMAC's hash (public-key algorithms fix their own).
    hash: Option<HashAlgorithm>,
    encoding: SignatureEncoding,
    key: KeyFormat,
    timestamp_header: Option<HeaderName>,
    id_header: Option<HeaderName>,
    tolerance: Duration,
    /// Whether a timestamp that far ahead is refused too (the vendor's own
    /// verifier does); ours refuses it either way.
    refuses_future: bool,
    /// How the timestamp is written: Unix seconds, milliseconds (HubSpot)
    /// or RFC 3339 (PayPal).
    unit: TimestampUnit,
    /// Where the delivery names its key's URL (the key is not configured).
    key_url: Option<crate::manifest::KeyUrl>,
    /// Signature, timestamp and nonce in the JSON body (Mailgun) rather
    /// than in headers.
    in_body: Option<BodyParts>,
    /// A time the vendor writes into the body it signs whole (Linear's
    /// `/webhookTimestamp`), in `unit`.
    body_time: Option<String>,
}

/// Where a signature kept in the body is, with its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BodyParts {
    signature: String,
    timestamp: Option<String>,
    nonce: Option<String>,
    /// Values the scheme is bound to.
    fixed: std::collections::BTreeMap<String, String>,
    /// The version the delivery names, and each version's algorithm (SNS's
    /// `SignatureVersion`).
    versions: Option<crate::manifest::SignatureVersions>,
}

/// Values a receiver (or its sender) is configured with that a signature
/// covers: `{setting:NAME}` (PayPal's `webhook_id`).
pub type Settings = std::collections::BTreeMap<String, String>;

/// What a signature covers that the delivery does not carry: the endpoint
/// URL (`{url}`) and the receiver's settings.
#[derive(Clone, Copy)]
pub(super) struct Configured<'a> {
    pub url: Option<&'a str>,
    pub settings: &'a Settings,
}

/// A delivery as received, with what verifying it needs besides the keys.
struct Received<'a> {
    headers: &'a HeaderMap,
    body: &'a [u8],
    at: Configured<'a>,
    now: SystemTime,
}

/// Facts a delivery's signature covers besides the body, as received.
struct Covered<'a> {
    timestamp: Option<&'a str>,
    id: Option<&'a str>,
    url: Option<&'a str>,
    settings: &'a Settings,
    /// `{body_crc32}`, in decimal.
    crc32: Option<String>,
    /// `{form_sorted}`: the body's form fields, sorted, names and values.
    form: Option<Vec<u8>>,
    /// `{body:/pointer}`: the strings at those pointers, in template order
    /// (inside `[…]` groups too; `None` where an optional one is absent).
    fields: Vec<Option<String>>,
}

impl SignatureScheme {
    /// Checks `spec`; a `{secret}` format is a static credential, not a
    /// signature (see [`Scheme::from_manifest`]).
    pub fn new(spec: &SignatureAuth) -> Result<SignatureScheme, AuthConfigError> {
        let cfg = |e: crate::manifest::ManifestError| AuthConfigError(e.0);
        let entries = spec.format_entries().map_err(cfg)?;
        let signed = spec.signed_pieces().map_err(cfg)?;
        let Some(encoding) = spec.encoding else {
            return Err(AuthConfigError("a `{sig}` format needs `encoding`".into()));
        };
        if spec.hash.is_none() && !spec.algorithm.is_public_key() {
            return Err(AuthConfigError("an HMAC `{sig}` needs `hash`".into()));
        }
        if spec.is_static() {
            return Err(AuthConfigError(
                "a `{secret}` format is a static credential, not a signature".into(),
            ));
        }
        let header_opt = |h: &Option<String>| h.as_deref().map(header_name).transpose();
        let scheme = SignatureScheme {
            // A signature in the body has no header; its place is named in errors.
            header: if spec.signature_pointer.is_some() {
                HeaderName::from_static("x-hookforge-body-signature")
            } else {
                header_name(&spec.header)?
            },
            format: spec.format.clone(),
            signed_text: spec.signed.clone(),
            entries,
            separator: spec.separator.clone(),
            signed,
            algorithm: spec.algorithm,
            hash: spec.hash,
            encoding,
            key: spec.key,
            timestamp_header: header_opt(&spec.timestamp_header)?,
            id_header: header_opt(&spec.id_header)?,
            tolerance: Duration::from_secs(spec.tolerance_secs),
            refuses_future: spec.refuses_future,
            unit: spec.timestamp_unit,
            key_url: spec.key_url.clone(),
            in_body: spec.signature_pointer.clone().map(|signature| BodyParts {
                signature,
                timestamp: spec.timestamp_pointer.clone(),
                nonce: spec.nonce_pointer.clone(),
                fixed: spec.fixed_fields.clone(),
                versions: spec.versions.clone(),
            }),
            body_time: spec.body_timestamp.clone(),
        };
        if scheme.covers(&SignedPiece::Timestamp)
            && !scheme.timestamp_in_format()
            && scheme.timestamp_header.is_none()
            && spec.timestamp_pointer.is_none()
        {
            return Err(AuthConfigError(
                "`{timestamp}` is signed but sent nowhere: add it to the format or name a timestamp header".into(),
            ));
        }
        if scheme.covers(&SignedPiece::Id) && scheme.id_header.is_none() {
            return Err(AuthConfigError(
                "`{id}` is signed but no id header is named".into(),
            ));
        }
        Ok(scheme)
    }

    /// The header that carries the signature.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// HMAC's hash (`None` for public-key algorithms).
    pub fn hash(&self) -> Option<HashAlgorithm> {
        self.hash
    }

    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    pub fn encoding(&self) -> SignatureEncoding {
        self.encoding
    }

    /// With another HMAC hash and encoding (for vendors that do not
    /// document theirs); a public-key algorithm is documented by definition.
    pub fn with_format(
        mut self,
        hash: HashAlgorithm,
        encoding: SignatureEncoding,
    ) -> Result<Self, AuthConfigError> {
        if self.algorithm.is_public_key() {
            return Err(AuthConfigError(format!(
                "the signature is {}, not an HMAC: an HMAC format does not apply",
                self.algorithm.as_str()
            )));
        }
        self.hash = Some(hash);
        self.encoding = encoding;
        Ok(self)
    }

    /// Where deliveries name the URL of their key, for schemes whose key is
    /// fetched rather than configured.
    pub fn key_url(&self) -> Option<&crate::manifest::KeyUrl> {
        self.key_url.as_ref()
    }

    /// The key fetched from a delivery's key URL, as a verifying key.
    pub(super) fn fetched_key(&self, url: &str, pem: &str) -> Result<VerifyKey, AuthError> {
        VerifyKey::new(self.algorithm, KeyFormat::Pem, &Secret::new(pem)).map_err(|_| {
            AuthError::KeyUnavailable {
                url: url.to_string(),
            }
        })
    }

    /// Whether the signature covers the endpoint URL (`{url}`).
    pub fn needs_url(&self) -> bool {
        self.covers(&SignedPiece::Url)
    }

    /// The settings the signature covers (`{setting:NAME}`).
    pub fn settings(&self) -> impl Iterator<Item = &str> {
        self.signed.iter().filter_map(|p| match p {
            SignedPiece::Setting(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The replay window, for schemes that sign a timestamp (in the
    /// template, or in the body they sign).
    pub fn tolerance(&self) -> Option<Duration> {
        (self.covers(&SignedPiece::Timestamp) || self.body_time.is_some()).then_some(self.tolerance)
    }

    /// Whether the vendor's own verifier refuses a timestamp more than the
    /// tolerance ahead (see [`SignatureAuth::refuses_future`]).
    pub fn refuses_future(&self) -> bool {
        self.refuses_future && self.tolerance().is_some()
    }

    /// The label the signature carries in its header (`v1=` of Stripe's
    /// `t=…,v1=…`, `sha256=` of GitHub's, `v1,` of Standard Webhooks'), and
    /// the separator between entries; `None` when the signature has no
    /// label or is kept in the body.
    pub fn signature_label(&self) -> Option<(&str, Option<&str>)> {
        if self.in_body.is_some() {
            return None;
        }
        let entry = self.entries.iter().find(|e| e.slot == Slot::Sig)?;
        let label = entry.prefix.as_str();
        let plain = label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=,".contains(c));
        (!label.is_empty() && plain).then_some((label, self.separator.as_deref()))
    }

    fn covers(&self, piece: &SignedPiece) -> bool {
        self.signed.contains(piece)
    }

    fn timestamp_in_format(&self) -> bool {
        self.entries.iter().any(|e| e.slot == Slot::Timestamp)
    }

    /// What a configured secret (a public key, for public-key algorithms)
    /// verifies with.
    pub(super) fn verify_key(&self, s: &Secret) -> Result<VerifyKey, AuthConfigError> {
        VerifyKey::new(self.algorithm, self.key, s)
    }

    /// What a secret (a private key, for public-key algorithms) signs with.
    pub(super) fn signing_key(&self, s: &Secret) -> Result<SigningKey, AuthConfigError> {
        SigningKey::new(self.algorithm, self.key, s)
    }

    /// What the delivery's signature header should look like, for errors.
    fn expected(&self) -> Cow<'static, str> {
        let enc = match self.encoding {
            SignatureEncoding::Base64 => "base64",
            SignatureEncoding::Hex => "hexadecimal",
        };
        let of = if self.signed == [SignedPiece::Body] {
            "the body".to_string()
        } else {
            format!("`{}`", self.signed_text)
        };
        let what = match self.algorithm {
            SignatureAlgorithm::Hmac => "HMAC".to_string(),
            public => format!("{} signature", public.as_str()),
        };
        if self.format == "{sig}" {
            format!("a {enc} {what} of {of}").into()
        } else {
            format!("`{}` with {{sig}} a {enc} {what} of {of}", self.format).into()
        }
    }

    fn message<'a>(&'a self, body: &'a [u8], c: &'a Covered<'a>) -> Vec<&'a [u8]> {
        let mut fields = c.fields.iter();
        let mut out = Vec::new();
        for piece in &self.signed {
            match piece {
                // Signed only when every field in it is there.
                SignedPiece::Optional(group) => {
                    let n = group
                        .iter()
                        .filter(|p| matches!(p, SignedPiece::BodyField(_)))
                        .count();
                    let values: Vec<&Option<String>> = fields.by_ref().take(n).collect();
                    if values.iter().all(|v| v.is_some()) {
                        let mut vals = values.into_iter().flatten();
                        for p in group {
                            out.push(match p {
                                SignedPiece::BodyField(_) => {
                                    vals.next().map_or(&b""[..], |v| v.as_bytes())
                                }
                                other => self.piece(other, body, c),
                            });
                        }
                    }
                }
                SignedPiece::BodyField(_) => out.push(
                    fields
                        .next()
                        .and_then(Option::as_ref)
                        .map_or(&b""[..], |f| f.as_bytes()),
                ),
                other => out.push(self.piece(other, body, c)),
            }
        }
        out
    }

    /// The bytes of one piece that is not a body field.
    fn piece<'a>(&'a self, p: &'a SignedPiece, body: &'a [u8], c: &'a Covered<'a>) -> &'a [u8] {
        match p {
            SignedPiece::Text(t) => t.as_bytes(),
            SignedPiece::Body => body,
            // Present whenever the template has them (checked by the callers).
            SignedPiece::Timestamp => c.timestamp.unwrap_or_default().as_bytes(),
            SignedPiece::Id => c.id.unwrap_or_default().as_bytes(),
            SignedPiece::Url => c.url.unwrap_or_default().as_bytes(),
            SignedPiece::FormSorted => c.form.as_deref().unwrap_or_default(),
            SignedPiece::BodyCrc32 => c.crc32.as_deref().unwrap_or_default().as_bytes(),
            SignedPiece::Setting(n) => c.settings.get(n).map_or(&b""[..], |v| v.as_bytes()),
            SignedPiece::BodyField(_) | SignedPiece::Optional(_) => b"",
        }
    }

    /// `{body_crc32}`, when the template has it.
    fn crc32_of(&self, body: &[u8]) -> Option<String> {
        self.covers(&SignedPiece::BodyCrc32)
            .then(|| crate::util::crc32(body).to_string())
    }

    /// `{form_sorted}`'s bytes, when the template has it.
    fn form_of(&self, body: &[u8]) -> Option<Vec<u8>> {
        self.covers(&SignedPiece::FormSorted)
            .then(|| form_sorted(body))
    }

    /// Verifies a delivery against the decoded keys; a batch whose events
    /// are each signed in the body (Adyen's `notificationItems`) item by
    /// item, every one of which must verify.
    pub(super) fn verify(
        &self,
        keys: &[VerifyKey],
        headers: &HeaderMap,
        body: &[u8],
        at: Configured<'_>,
        now: SystemTime,
    ) -> Result<(), AuthError> {
        let d = Received {
            headers,
            body,
            at,
            now,
        };
        let json = self.body_json(body);
        let Some(prefix) = self.batch_prefix() else {
            return self.verify_one(keys, &d, json.as_ref());
        };
        // Not an array of events (an object whose key "0" the pointers would
        // reach, its other keys unchecked), or none at all: nothing is signed.
        let mut doc = json.ok_or_else(|| self.malformed())?;
        let items = match doc.pointer_mut(prefix).map(std::mem::take) {
            Some(Value::Array(items)) if !items.is_empty() => items,
            _ => {
                return Err(AuthError::MalformedHeader {
                    header: format!("body {prefix}"),
                    expected: "a non-empty array of events, each signed".into(),
                });
            }
        };
        // Each item alone in the batch, where the signed pointers (`…/0/…`) read it.
        for (i, item) in items.into_iter().enumerate() {
            if let Some(slot) = doc.pointer_mut(prefix) {
                *slot = Value::Array(vec![item]);
            }
            self.verify_one(keys, &d, Some(&doc))
                .map_err(|e| at_item(e, prefix, i))?;
        }
        Ok(())
    }

    /// Where the events of a batch signed item by item are: a signature
    /// pointer `{prefix}/0/…` over body fields, not the body (Adyen's
    /// `/notificationItems`).
    fn batch_prefix(&self) -> Option<&str> {
        let parts = self.in_body.as_ref()?;
        if self.covers(&SignedPiece::Body) {
            return None;
        }
        let (prefix, _) = parts.signature.split_once("/0/")?;
        Some(prefix)
    }

    /// The body as the scheme reads it: parsed whole, or, where serde_json
    /// refuses a body the vendor's own parser takes (a lone surrogate from a
    /// cut emoji, `1e400`, nesting past 128, a BOM) and the signature covers
    /// the body's bytes (Linear), its time scanned from the text: an
    /// authentic delivery is then kept (and quarantined by the model), not
    /// refused as a forgery. A scheme that signs named body fields (Adyen,
    /// SNS) gets no fallback: a scan could read another copy of a repeated
    /// key than the vendor's parser, and what is signed must be what is read.
    fn body_json(&self, body: &[u8]) -> Option<Value> {
        if !self.needs_json() {
            return None;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(body) {
            return Some(v);
        }
        let bytes_signed = self.covers(&SignedPiece::Body) && self.in_body.is_none();
        let (Some(p), true) = (&self.body_time, bytes_signed) else {
            return None;
        };
        let text = std::str::from_utf8(body).ok()?;
        let mut doc = Value::Object(Default::default());
        let found = crate::util::json_span_scanned(text, p)
            .and_then(|r| serde_json::from_str::<Value>(&text[r]).ok());
        if let Some(v) = found {
            put(&mut doc, p, v);
        }
        Some(doc)
    }

    /// Verifies one delivery (or one item of a batch, in `json`).
    fn verify_one(
        &self,
        keys: &[VerifyKey],
        delivery: &Received<'_>,
        json: Option<&Value>,
    ) -> Result<(), AuthError> {
        let (headers, body, at, now) = (delivery.headers, delivery.body, delivery.at, delivery.now);
        let (sigs, ts) = match &self.in_body {
            Some(parts) => self.body_entries(parts, headers, json)?,
            None => self.header_entries(headers)?,
        };
        let timestamp = self.checked_timestamp(ts, now)?;
        let id = match (&self.id_header, self.covers(&SignedPiece::Id)) {
            (Some(h), true) => Some(text_header(headers, h)?.trim().to_string()),
            _ => None,
        };
        let candidates: Vec<Vec<u8>> = sigs
            .iter()
            .filter_map(|s| decode(s, self.encoding))
            .filter(|s| self.hash.is_none_or(|h| s.len() == digest_len(h)))
            .collect();
        if candidates.is_empty() {
            return Err(self.malformed());
        }
        let covered = Covered {
            timestamp: timestamp.as_deref(),
            id: id.as_deref(),
            url: at.url,
            settings: at.settings,
            crc32: self.crc32_of(body),
            form: self.form_of(body),
            fields: self.fields_of(json)?,
        };
        let message = self.message(body, &covered);
        // A delivery of another version of the scheme (SNS's SHA-1 one) is
        // checked with the same keys under that version's algorithm.
        let algorithm = self.version_algorithm(json)?;
        let other: Vec<VerifyKey>;
        let keys = if algorithm == self.algorithm {
            keys
        } else {
            other = keys
                .iter()
                .filter_map(|k| k.for_algorithm(algorithm))
                .collect();
            &other[..]
        };
        // Every key against every candidate, without stopping early on a
        // mismatch (HMAC comparisons are constant-time inside).
        let mut verified = false;
        for key in keys {
            for c in &candidates {
                verified |= key.verifies(self.hash, &message, c);
            }
        }
        if !verified {
            return Err(AuthError::WrongSignature {
                header: self.place(),
            });
        }
        // Checked once the signature proved the body, as Linear's SDK does.
        if let Some(p) = &self.body_time {
            let place = format!("body {p}");
            let text = body_string(json, p).map_err(|_| AuthError::MalformedHeader {
                header: place.clone(),
                expected: self.time_expected().into(),
            })?;
            self.checked_timestamp(Some((text, place)), now)?;
        }
        Ok(())
    }

    /// Whether the delivery carries a signature at all (its header, or the
    /// body field): a delivery without one is refused before any key it
    /// names is fetched.
    pub fn present(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        match &self.in_body {
            Some(parts) => {
                (self.body_json(body)).is_some_and(|j| j.pointer(&parts.signature).is_some())
            }
            None => headers.contains_key(&self.header),
        }
    }

    /// Where the signature is, for messages: its header or body pointer.
    fn place(&self) -> String {
        match &self.in_body {
            Some(parts) => format!("body {}", parts.signature),
            None => self.header.to_string(),
        }
    }

    fn malformed(&self) -> AuthError {
        AuthError::MalformedHeader {
            header: self.place(),
            expected: self.expected(),
        }
    }

    fn needs_json(&self) -> bool {
        self.in_body.is_some()
            || self.body_time.is_some()
            || self
                .signed
                .iter()
                .any(|p| matches!(p, SignedPiece::BodyField(_)))
    }

    /// The algorithm of the version the delivery names (the scheme's own
    /// when it has no versions).
    fn version_algorithm(&self, json: Option<&Value>) -> Result<SignatureAlgorithm, AuthError> {
        let Some(v) = self.in_body.as_ref().and_then(|p| p.versions.as_ref()) else {
            return Ok(self.algorithm);
        };
        let named = body_string(json, &v.pointer).ok();
        named
            .and_then(|n| v.algorithms.get(&n).copied())
            .ok_or_else(|| AuthError::MalformedHeader {
                header: format!("body {}", v.pointer),
                expected: format!("a version hookforge checks: {}", v.describe()).into(),
            })
    }

    /// What the `i`th entry of a header is, and its value. Entries without
    /// a prefix or suffix (Recurly's `{timestamp},{sig}`) are told apart by
    /// position, the last one repeating (more signatures, one per active
    /// key). Entries of no known form (a `v0=` beside the `v1=`) are none:
    /// another entry (a rotated key) may still verify.
    fn entry_of<'p>(&self, i: usize, part: &'p str) -> Option<(Slot, &'p str)> {
        let positional = self.entries.len() > 1
            && (self.entries.iter()).all(|e| e.prefix.is_empty() && e.suffix.is_empty());
        let candidates = if positional {
            let at = i.min(self.entries.len() - 1);
            &self.entries[at..=at]
        } else {
            &self.entries[..]
        };
        candidates
            .iter()
            .find_map(|e| e.matches(part).map(|text| (e.slot, text)))
    }

    /// Whether the signature is an entry of a header (not in the body, not
    /// the secret itself): what [`Self::truncate_signatures`] can cut.
    pub fn signs_in_header(&self) -> bool {
        self.in_body.is_none() && self.entries.iter().any(|e| e.slot == Slot::Sig)
    }

    /// A header value with each signature in it cut to its first half, the
    /// rest kept: a receiver that compares by prefix (`expected.startswith(
    /// given)`) takes it. `None` where the signature is not in the header.
    pub fn truncate_signatures(&self, value: &str) -> Option<String> {
        if !self.signs_in_header() {
            return None;
        }
        let sep = self.separator.as_deref();
        let parts: Vec<&str> = sep.map_or(vec![value], |s| value.split(s).collect());
        let mut cut = false;
        let out: Vec<String> = (parts.iter().enumerate())
            .map(|(i, part)| match self.entry_of(i, part.trim()) {
                Some((Slot::Sig, text)) if text.len() >= 2 && text.is_ascii() => {
                    cut = true;
                    part.replacen(text, &text[..text.len() / 2], 1)
                }
                _ => part.to_string(),
            })
            .collect();
        cut.then(|| out.join(sep.unwrap_or_default()))
    }

    /// The signatures in the header's entries, and a timestamp entry with
    /// its place.
    fn header_entries(&self, headers: &HeaderMap) -> Result<Entries, AuthError> {
        let value = text_header(headers, &self.header)?;
        let parts: Vec<&str> = match &self.separator {
            Some(sep) => value
                .split(sep.as_str())
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect(),
            None => vec![value.trim()],
        };
        let mut sigs = Vec::new();
        let mut ts_entry = None;
        for (i, part) in parts.into_iter().enumerate() {
            match self.entry_of(i, part) {
                Some((Slot::Sig, text)) => sigs.push(text.to_string()),
                Some((Slot::Timestamp, text)) => ts_entry = ts_entry.or(Some(text.to_string())),
                Some((Slot::Secret, _)) | None => {}
            }
        }
        if sigs.is_empty() {
            return Err(self.malformed());
        }
        let ts = match (ts_entry, &self.timestamp_header) {
            (Some(t), _) => Some((t, self.header.to_string())),
            (None, Some(h)) if self.covers(&SignedPiece::Timestamp) => {
                Some((text_header(headers, h)?.trim().to_string(), h.to_string()))
            }
            _ => None,
        };
        Ok((sigs, ts))
    }

    /// The signature kept in the body, and its timestamp (in the body, or
    /// a header) with its place.
    fn body_entries(
        &self,
        parts: &BodyParts,
        headers: &HeaderMap,
        json: Option<&Value>,
    ) -> Result<Entries, AuthError> {
        for (p, want) in &parts.fixed {
            if body_string(json, p).ok().as_ref() != Some(want) {
                return Err(AuthError::MalformedHeader {
                    header: format!("body {p}"),
                    expected: format!("{want:?}, the only version of this scheme hookforge checks")
                        .into(),
                });
            }
        }
        let sig = body_string(json, &parts.signature)?;
        let ts = match (&parts.timestamp, &self.timestamp_header) {
            (Some(p), _) => Some((body_string(json, p)?, format!("body {p}"))),
            (None, Some(h)) if self.covers(&SignedPiece::Timestamp) => {
                Some((text_header(headers, h)?.trim().to_string(), h.to_string()))
            }
            _ => None,
        };
        Ok((vec![sig], ts))
    }

    /// The signed timestamp, checked against the tolerance.
    fn checked_timestamp(
        &self,
        ts: Option<(String, String)>,
        now: SystemTime,
    ) -> Result<Option<String>, AuthError> {
        let Some((text, place)) = ts else {
            if !self.covers(&SignedPiece::Timestamp) {
                return Ok(None);
            }
            return Err(AuthError::MalformedHeader {
                header: self.place(),
                expected: format!("`{}` with a timestamp", self.format).into(),
            });
        };
        let secs = self
            .seconds_of(&text)
            .ok_or_else(|| AuthError::MalformedHeader {
                header: place.clone(),
                expected: self.time_expected().into(),
            })?;
        check_age(secs, now, self.tolerance, self.refuses_future, &place)?;
        Ok(Some(text))
    }

    fn time_expected(&self) -> &'static str {
        match self.unit {
            TimestampUnit::Seconds => "a timestamp in Unix seconds",
            TimestampUnit::Milliseconds => "a timestamp in Unix milliseconds",
            TimestampUnit::Rfc3339 => "an RFC 3339 date and time (2026-12-04T16:10:33Z)",
        }
    }

    /// A timestamp as sent, in Unix seconds.
    fn seconds_of(&self, text: &str) -> Option<u64> {
        match self.unit {
            TimestampUnit::Seconds => whole_number(text),
            TimestampUnit::Milliseconds => whole_number(text).map(|ms| ms / 1000),
            TimestampUnit::Rfc3339 => chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .and_then(|t| u64::try_from(t.timestamp()).ok()),
        }
    }

    /// The `{body:/pointer}` values, in template order; those in `[…]`
    /// groups may be absent.
    fn fields_of(&self, json: Option<&Value>) -> Result<Vec<Option<String>>, AuthError> {
        let mut out = Vec::new();
        for p in &self.signed {
            match p {
                SignedPiece::BodyField(ptr) => out.push(Some(body_string(json, ptr)?)),
                SignedPiece::Optional(group) => {
                    for g in group {
                        if let SignedPiece::BodyField(ptr) = g {
                            out.push(body_string(json, ptr).ok());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The timestamp as sent: seconds, milliseconds of the same second, or
    /// that second in RFC 3339 (UTC).
    fn timestamp_text(&self, ctx: &SignContext) -> String {
        match self.unit {
            TimestampUnit::Seconds => ctx.timestamp.to_string(),
            TimestampUnit::Milliseconds => (ctx.timestamp * 1000).to_string(),
            TimestampUnit::Rfc3339 => i64::try_from(ctx.timestamp)
                .ok()
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
        }
    }

    /// The encoded signature over `body` (with its fields as they are).
    fn signature_of(
        &self,
        key: &SigningKey,
        body: &[u8],
        ctx: &SignContext,
        at: Configured<'_>,
    ) -> String {
        let ts = self.timestamp_text(ctx);
        let json = self
            .needs_json()
            .then(|| serde_json::from_slice::<Value>(body).ok())
            .flatten();
        let covered = Covered {
            timestamp: Some(&ts),
            id: Some(&ctx.message_id),
            url: at.url,
            settings: at.settings,
            crc32: self.crc32_of(body),
            form: self.form_of(body),
            fields: self.fields_of(json.as_ref()).unwrap_or_default(),
        };
        encode(
            &key.sign(self.hash, &self.message(body, &covered)),
            self.encoding,
        )
    }

    /// The headers of a signed delivery: id, timestamp, then the signature
    /// (none when the signature is in the body: see [`Self::sign_body`]).
    pub(super) fn sign(
        &self,
        key: &SigningKey,
        body: &[u8],
        ctx: &SignContext,
        at: Configured<'_>,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let value = |s: &str| HeaderValue::from_str(s).expect("signatures are ASCII");
        let ts = self.timestamp_text(ctx);
        let mut out = Vec::new();
        if let (Some(h), true) = (&self.id_header, self.covers(&SignedPiece::Id)) {
            out.push((h.clone(), value(&ctx.message_id)));
        }
        if let Some(h) = &self.timestamp_header {
            out.push((h.clone(), value(&ts)));
        }
        if self.in_body.is_some() {
            return out;
        }
        let sig = self.signature_of(key, body, ctx, at);
        let entries: Vec<String> = self
            .entries
            .iter()
            .map(|e| {
                let slot = match e.slot {
                    Slot::Sig => sig.as_str(),
                    Slot::Timestamp => ts.as_str(),
                    Slot::Secret => "",
                };
                format!("{}{slot}{}", e.prefix, e.suffix)
            })
            .collect();
        let joined = entries.join(self.separator.as_deref().unwrap_or(""));
        out.push((self.header.clone(), value(&joined)));
        out
    }

    /// For a signature kept in the body (Mailgun; each item of Adyen's
    /// batch): the body with its timestamp, a fresh nonce and the signature
    /// written in. For a time in a body signed whole (Linear): the body
    /// with its time set. `None` for other schemes, or a body that is not
    /// a JSON object.
    pub(super) fn sign_body(
        &self,
        key: &SigningKey,
        body: &[u8],
        ctx: &SignContext,
        at: Configured<'_>,
    ) -> Option<Vec<u8>> {
        if self.in_body.is_none() {
            return self.stamp_body_time(body, ctx);
        }
        let mut doc: Value = serde_json::from_slice(body).ok()?;
        let batch = (self.batch_prefix()).filter(|p| doc.pointer(p).is_some_and(Value::is_array));
        let Some(prefix) = batch else {
            self.sign_in_body(key, &mut doc, ctx, at)?;
            return serde_json::to_vec(&doc).ok();
        };
        // Each item signed alone in the batch, as the vendor signs each event.
        let Some(Value::Array(items)) = doc.pointer_mut(prefix).map(std::mem::take) else {
            return None;
        };
        let mut signed = Vec::with_capacity(items.len());
        for item in items {
            *doc.pointer_mut(prefix)? = Value::Array(vec![item]);
            self.sign_in_body(key, &mut doc, ctx, at)?;
            signed.push(doc.pointer_mut(&format!("{prefix}/0"))?.take());
        }
        *doc.pointer_mut(prefix)? = Value::Array(signed);
        serde_json::to_vec(&doc).ok()
    }

    /// The scheme's fields and signature written into `doc` (a batch's
    /// item at index 0).
    fn sign_in_body(
        &self,
        key: &SigningKey,
        doc: &mut Value,
        ctx: &SignContext,
        at: Configured<'_>,
    ) -> Option<()> {
        let parts = self.in_body.as_ref()?;
        if let Some(p) = &parts.timestamp {
            set_pointer(doc, p, Value::String(self.timestamp_text(ctx)));
        }
        for (p, value) in &parts.fixed {
            set_pointer(doc, p, Value::String(value.clone()));
        }
        if let Some(named) = parts.versions.as_ref().and_then(|v| v.of(self.algorithm)) {
            let pointer = &parts.versions.as_ref().expect("matched above").pointer;
            set_pointer(doc, pointer, Value::String(named.to_string()));
        }
        if let Some(p) = &parts.nonce {
            let nonce =
                crate::util::sha256_hex(format!("{}{}", ctx.message_id, ctx.timestamp).as_bytes());
            set_pointer(doc, p, Value::String(nonce[..50].to_string()));
        }
        let unsigned = serde_json::to_vec(doc).ok()?;
        let sig = self.signature_of(key, &unsigned, ctx, at);
        set_pointer(doc, &parts.signature, Value::String(sig));
        Some(())
    }
}

impl SignatureScheme {
    /// The body with its time (`body_time`) set to the signing time and
    /// every other byte kept, as the vendor stamps each send; `None` when
    /// the scheme has none, or the body's stamp is already within a second
    /// of it (stamped to the millisecond for this send).
    fn stamp_body_time(&self, body: &[u8], ctx: &SignContext) -> Option<Vec<u8>> {
        let p = self.body_time.as_ref()?;
        let text = std::str::from_utf8(body).ok()?;
        let doc: Value = serde_json::from_str(text).ok()?;
        let current = body_string(Some(&doc), p).ok();
        if current
            .and_then(|t| self.seconds_of(&t))
            .is_some_and(|secs| secs.abs_diff(ctx.timestamp) <= 1)
        {
            return None;
        }
        // Signed now: to the millisecond, as the vendor stamps, so events
        // sent in one second do not share a body.
        let now = crate::util::since_epoch();
        let stamp = match self.unit {
            TimestampUnit::Milliseconds if ctx.timestamp.abs_diff(now.as_secs()) <= 1 => {
                now.as_millis().to_string()
            }
            _ => self.timestamp_text(ctx),
        };
        let quoted =
            matches!(doc.pointer(p), Some(Value::String(_))) || self.unit == TimestampUnit::Rfc3339;
        let value = match quoted {
            true => Value::String(stamp).to_string(),
            false => stamp,
        };
        crate::util::json_splice(text, p, &value).map(String::into_bytes)
    }
}

/// Sets the value at a JSON pointer, making the objects on the way.
fn set_pointer(doc: &mut Value, pointer: &str, value: Value) {
    let mut at = doc;
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(crate::manifest::unescape_token)
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        // An array on the way (Adyen's `/notificationItems/0/…`) is indexed,
        // never replaced.
        let index = t
            .parse::<usize>()
            .ok()
            .filter(|n| at.as_array().is_some_and(|a| *n < a.len()));
        if let Some(n) = index {
            let item = &mut at.as_array_mut().expect("checked above")[n];
            if last {
                *item = value;
                return;
            }
            at = item;
            continue;
        }
        if !at.is_object() {
            *at = Value::Object(Default::default());
        }
        let o = at.as_object_mut().expect("made an object above");
        if last {
            o.insert(t.clone(), value);
            return;
        }
        at = o.entry(t.clone()).or_insert(Value::Null);
    }
}

/// A timestamp's digits; a JSON number written with a zero fraction
/// (`1700000000512.0`) too, as JavaScript's verifiers take it.
fn whole_number(text: &str) -> Option<u64> {
    if let Ok(n) = text.parse() {
        return Some(n);
    }
    let (whole, fraction) = text.split_once('.')?;
    (fraction.bytes().all(|b| b == b'0') && !fraction.is_empty())
        .then(|| whole.parse().ok())
        .flatten()
}

/// Sets `value` at `pointer` in a document being built, making objects, or
/// arrays for numeric tokens (padded with nulls), on the way.
fn put(doc: &mut Value, pointer: &str, value: Value) {
    let mut at = doc;
    for t in pointer
        .split('/')
        .skip(1)
        .map(crate::manifest::unescape_token)
    {
        at = match t.parse::<usize>() {
            Ok(n) if !at.is_object() => {
                if !at.is_array() {
                    *at = Value::Array(Vec::new());
                }
                let items = at.as_array_mut().expect("made an array above");
                if items.len() <= n {
                    items.resize(n + 1, Value::Null);
                }
                &mut items[n]
            }
            _ => {
                if !at.is_object() {
                    *at = Value::Object(Default::default());
                }
                let o = at.as_object_mut().expect("made an object above");
                o.entry(t).or_insert(Value::Null)
            }
        };
    }
    *at = value;
}

/// An error of a batch's item `i`, placed at that item.
fn at_item(e: AuthError, prefix: &str, i: usize) -> AuthError {
    let (first, item) = (format!("{prefix}/0/"), format!("{prefix}/{i}/"));
    let moved = |h: String| h.replacen(&first, &item, 1);
    match e {
        AuthError::MalformedHeader { header, expected } => AuthError::MalformedHeader {
            header: moved(header),
            expected,
        },
        AuthError::WrongSignature { header } => AuthError::WrongSignature {
            header: moved(header),
        },
        other => other,
    }
}

/// Signature candidates, and the timestamp with where it was found.
type Entries = (Vec<String>, Option<(String, String)>);

/// The string (or number, as written) at `pointer` in the JSON body.
fn body_string(json: Option<&Value>, pointer: &str) -> Result<String, AuthError> {
    match json.and_then(|j| j.pointer(pointer)) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(AuthError::MalformedHeader {
            header: format!("body {pointer}"),
            expected: "a string".into(),
        }),
    }
}

/// A timestamp older than the tolerance is refused. One ahead of now is
/// refused only where the vendor's own verifier refuses it too: Stripe's,
/// Paddle's and HubSpot's libraries check the past only, so a receiver whose
/// clock runs behind theirs (by more than Paddle's 5 s) still takes their
/// deliveries, which are authentic either way.
fn check_age(
    ts: u64,
    now: SystemTime,
    tolerance: Duration,
    refuses_future: bool,
    header: &str,
) -> Result<(), AuthError> {
    let now_s = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let tol = tolerance.as_secs();
    if now_s > ts && now_s - ts > tol {
        return Err(AuthError::StaleTimestamp {
            header: header.to_string(),
            age_secs: now_s - ts,
            tolerance_secs: tol,
        });
    }
    if refuses_future && ts > now_s && ts - now_s > tol {
        return Err(AuthError::FutureTimestamp {
            header: header.to_string(),
            ahead_secs: ts - now_s,
            tolerance_secs: tol,
        });
    }
    Ok(())
}

/// Twilio's signed form: every `application/x-www-form-urlencoded` field
/// sorted by name (then value, for repeated names), each name followed by
/// its value, decoded, with nothing between. A value repeated under one
/// name counts once, as twilio-python (`sorted(set(values))`) and
/// twilio-node (`new Set(...)`) compute it.
fn form_sorted(body: &[u8]) -> Vec<u8> {
    let mut fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    fields.sort();
    fields.dedup();
    let mut out = Vec::new();
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}
