//! The vendor manifest: what hookforge needs to know about a vendor besides the
//! shape of its payloads. It lives in `schemas/<vendor>/manifest.json`, is
//! checked by the generator at generation time and read again by the runtime
//! (receiver, harness, CLI), so both sides share these types.

use serde::{Deserialize, Serialize};

/// One vendor's delivery contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Stable lower-case id (`prets`): module name, CLI value, route segment.
    pub id: String,
    /// Human-readable name (`Prets`).
    pub name: String,
    /// One line on what the vendor is.
    #[serde(default)]
    pub description: String,
    /// Where the vendor's webhook documentation lives.
    #[serde(default)]
    pub docs: Vec<String>,
    /// Where the event type is read.
    pub event_type: Locator,
    /// Where the event id (the idempotency key) is read, if the vendor sends one.
    #[serde(default)]
    pub event_id: Option<Locator>,
    /// How deliveries are authenticated.
    pub auth: Auth,
    /// Headers sent with every delivery, in the order the vendor sends them.
    #[serde(default)]
    pub headers: Vec<HeaderSpec>,
    /// What the vendor counts as a successful delivery.
    pub success: Success,
    /// Free-form notes on retries, as documented (or why unknown).
    #[serde(default)]
    pub retries: String,
}

/// Where a value lives in a delivery: a JSON pointer into the body and/or a
/// header. When both are given the body is authoritative and the header must
/// agree with it when present; the header is used when the body lacks the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locator {
    #[serde(default)]
    pub pointer: Option<String>,
    #[serde(default)]
    pub header: Option<String>,
}

impl Locator {
    /// The pointer split into unescaped reference tokens (RFC 6901).
    pub fn pointer_tokens(&self) -> Option<Vec<String>> {
        let p = self.pointer.as_deref()?;
        Some(
            p.split('/')
                .skip(1)
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect(),
        )
    }

    /// Describes the locator for error messages: "body `/type`" or "header `X-Event`".
    pub fn describe(&self) -> String {
        match (&self.pointer, &self.header) {
            (Some(p), Some(h)) => format!("body `{p}` (or header `{h}`)"),
            (Some(p), None) => format!("body `{p}`"),
            (None, Some(h)) => format!("header `{h}`"),
            (None, None) => "nowhere (manifest names neither pointer nor header)".into(),
        }
    }
}

/// How a vendor authenticates deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Auth {
    /// The vendor documents no authentication.
    None {
        #[serde(default)]
        note: String,
    },
    /// A static secret sent as-is in a header, e.g. `Authorization: Bearer whsec_…`.
    Bearer {
        header: String,
        #[serde(default)]
        prefix: String,
        /// Regular expression the secret is documented to match.
        #[serde(default)]
        secret_pattern: Option<String>,
    },
    /// An HMAC over (part of) the raw body, encoded in a header.
    Hmac {
        header: String,
        hash: HashAlgorithm,
        encoding: SignatureEncoding,
        /// What is signed; `body` is the raw request body bytes.
        signed: SignedContent,
        /// Whether the algorithm is documented by the vendor or a configurable guess.
        #[serde(default = "yes")]
        documented: bool,
    },
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    StandardWebhooks {
        #[serde(default = "default_tolerance")]
        tolerance_secs: u64,
    },
}

fn yes() -> bool {
    true
}

fn default_tolerance() -> u64 {
    300
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashAlgorithm {
    Sha256,
    Sha1,
    Sha512,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureEncoding {
    /// Standard base64 with padding.
    Base64,
    /// Lower-case hexadecimal.
    Hex,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignedContent {
    Body,
}

/// A header the vendor sends. `value` may contain the placeholders
/// `{event_type}`, `{event_id}`, `{attempt}` (0 on the first delivery), and
/// `{signature}` / `{secret}` / `{timestamp}` for headers the auth scheme fills in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderSpec {
    pub name: String,
    pub value: String,
    /// Only sent on some deliveries: `"secret"` (when the webhook has a
    /// secret) or `"event=<type>"` (only with that event type).
    #[serde(default)]
    pub only_when: Option<String>,
    /// Why, in words.
    #[serde(default)]
    pub note: Option<String>,
}

/// The vendor's success rule and time budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Success {
    /// Status codes that count as success: `"2xx"` or explicit codes like `"200"`.
    pub statuses: Vec<String>,
    /// How long the vendor waits for the answer, if documented.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl Success {
    /// Whether `status` is a success under this rule.
    pub fn accepts(&self, status: u16) -> bool {
        self.statuses.iter().any(|s| match s.as_str() {
            "2xx" => (200..300).contains(&status),
            other => other.parse::<u16>() == Ok(status),
        })
    }
}

/// Errors found when checking a manifest; each names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError(pub String);

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ManifestError {}

impl Manifest {
    /// Parses and checks a manifest. Errors name the offending field.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = serde_json::from_str(text)
            .map_err(|e| ManifestError(format!("manifest is not valid: {e}")))?;
        m.check()?;
        Ok(m)
    }

    /// Checks what serde cannot: id syntax, pointer syntax, status syntax.
    pub fn check(&self) -> Result<(), ManifestError> {
        let id_ok = !self.id.is_empty()
            && self.id.starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !id_ok {
            return Err(ManifestError(format!(
                "`id` must be lower-case ASCII letters, digits and `_`, starting with a letter; got {:?}",
                self.id
            )));
        }
        let mut locators = vec![("event_type", &self.event_type)];
        if let Some(l) = &self.event_id {
            locators.push(("event_id", l));
        }
        for (field, loc) in locators {
            if loc.pointer.is_none() && loc.header.is_none() {
                return Err(ManifestError(format!(
                    "`{field}` needs a `pointer` or a `header`"
                )));
            }
            if let Some(p) = &loc.pointer
                && !p.starts_with('/')
            {
                return Err(ManifestError(format!(
                    "`{field}.pointer` must be a JSON pointer starting with `/`; got {p:?}"
                )));
            }
        }
        for h in &self.headers {
            if let Some(cond) = &h.only_when
                && cond != "secret"
                && !cond.starts_with("event=")
            {
                return Err(ManifestError(format!(
                    "`headers[{}].only_when` must be \"secret\" or \"event=<type>\"; got {cond:?}",
                    h.name
                )));
            }
            let valid_name = !h.name.is_empty()
                && h.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                return Err(ManifestError(format!(
                    "`headers`: {:?} is not a valid header name",
                    h.name
                )));
            }
        }
        if self.success.statuses.is_empty() {
            return Err(ManifestError("`success.statuses` must not be empty".into()));
        }
        for s in &self.success.statuses {
            let ok = s == "2xx" || s.parse::<u16>().is_ok_and(|c| (100..600).contains(&c));
            if !ok {
                return Err(ManifestError(format!(
                    "`success.statuses` entries are \"2xx\" or a status code; got {s:?}"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_rules() {
        let two = Success {
            statuses: vec!["2xx".into()],
            timeout_secs: Some(30),
        };
        assert!(two.accepts(200) && two.accepts(204) && !two.accepts(301));
        let exact = Success {
            statuses: vec!["200".into()],
            timeout_secs: None,
        };
        assert!(exact.accepts(200) && !exact.accepts(202));
    }

    #[test]
    fn pointer_tokens_unescape() {
        let l = Locator {
            pointer: Some("/a~1b/c~0d".into()),
            header: None,
        };
        assert_eq!(l.pointer_tokens().unwrap(), vec!["a/b", "c~d"]);
    }

    #[test]
    fn bad_manifest_names_field() {
        let err = Manifest::from_json(
            r#"{"id":"Bad","name":"x","event_type":{"pointer":"/t"},"auth":{"scheme":"none"},"success":{"statuses":["2xx"]}}"#,
        )
        .unwrap_err();
        assert!(err.0.contains("`id`"), "{err}");
        let err = Manifest::from_json(
            r#"{"id":"ok","name":"x","event_type":{"pointer":"t"},"auth":{"scheme":"none"},"success":{"statuses":["2xx"]}}"#,
        )
        .unwrap_err();
        assert!(err.0.contains("event_type.pointer"), "{err}");
    }
}
