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
    /// How the vendor delivers over time (budget, retries, what it does after
    /// failures), as `hookforge simulate` plays it. Absent: [`DeliveryRules::assumed`].
    #[serde(default)]
    pub delivery: Option<DeliveryRules>,
}

/// A vendor's delivery rules over time. Every rule the vendor does not
/// document is named in `assumed`, so reports can say it was assumed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRules {
    /// How long the vendor waits for an answer before it counts a timeout.
    pub timeout_secs: f64,
    /// When a failed delivery is tried again.
    pub retry: Retry,
    /// The vendor switches the whole webhook off after this many
    /// consecutive failed attempts (SuperOffice's TooManyErrors).
    #[serde(default)]
    pub disable_after: Option<DisableAfter>,
    /// What happens to a delivery that failed its last retry, for vendors
    /// that let the webhook choose (Socotra's `failureHandling`): the default
    /// of a webhook registered without it.
    #[serde(default)]
    pub failure_handling: Option<FailureHandling>,
    /// JSON pointers of timestamps that are not date-time strings (e.g. epoch
    /// milliseconds), refreshed for each simulated event. Date-time strings
    /// anywhere in a body are refreshed in their own format anyway.
    #[serde(default)]
    pub fresh_times: Vec<String>,
    /// The rules above that are hookforge's assumptions, not the vendor's
    /// documentation: any of [`DeliveryRules::RULES`].
    #[serde(default)]
    pub assumed: Vec<String>,
    /// Where the rules come from, in words.
    #[serde(default)]
    pub note: String,
}

impl DeliveryRules {
    /// The names `assumed` may list.
    pub const RULES: [&'static str; 5] = [
        "timeout_secs",
        "retry",
        "retry.schedule",
        "disable_after",
        "failure_handling",
    ];

    /// The rules used for a vendor whose manifest has none: a 30 s budget
    /// (the common upper end) and no retries, so a receiver is tested as if
    /// it had to get every delivery right the first time. All assumed.
    pub fn assumed() -> DeliveryRules {
        DeliveryRules {
            timeout_secs: 30.0,
            retry: Retry::None,
            disable_after: None,
            failure_handling: None,
            fresh_times: Vec::new(),
            assumed: vec!["timeout_secs".into(), "retry".into()],
            note: "the manifest documents no delivery rules; hookforge assumed them".into(),
        }
    }

    /// Whether `rule` (one of [`DeliveryRules::RULES`]) is assumed; a rule
    /// counts as assumed when its parent is (`retry` covers `retry.schedule`).
    pub fn is_assumed(&self, rule: &str) -> bool {
        self.assumed.iter().any(|a| {
            a == rule
                || rule
                    .strip_prefix(a.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        })
    }

    fn check(&self) -> Result<(), ManifestError> {
        let bad = |what: String| Err(ManifestError(format!("`delivery.{what}")));
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0) {
            return bad(format!(
                "timeout_secs` must be a positive number of seconds; got {}",
                self.timeout_secs
            ));
        }
        let positive = |d: &f64| d.is_finite() && *d >= 0.0;
        match &self.retry {
            Retry::None => {}
            Retry::Delays { delays_secs } => {
                if !delays_secs.iter().all(positive) {
                    return bad("retry.delays_secs` must be seconds, none negative".into());
                }
            }
            Retry::Backoff {
                first_secs,
                factor,
                max_delay_secs,
                for_secs,
            } => {
                let ok = [first_secs, max_delay_secs, for_secs]
                    .into_iter()
                    .all(|d| positive(d) && *d > 0.0)
                    && factor.is_finite()
                    && *factor >= 1.0;
                if !ok {
                    return bad("retry` backoff needs positive first_secs, max_delay_secs and for_secs, and a factor of at least 1".into());
                }
            }
            Retry::Strategies {
                strategies,
                default,
            } => {
                if !strategies.contains_key(default) {
                    return bad(format!(
                        "retry.default` {default:?} is not one of the strategies ({})",
                        strategies.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
                if let Some((name, _)) = strategies.iter().find(|(_, d)| !d.iter().all(positive)) {
                    return bad(format!(
                        "retry.strategies.{name}` must be seconds, none negative"
                    ));
                }
            }
        }
        if let Some(d) = &self.disable_after
            && d.consecutive_failures == 0
        {
            return bad("disable_after.consecutive_failures` must be at least 1".into());
        }
        if let Some(f) = &self.failure_handling {
            if !FailureHandling::MODES.contains(&f.mode.as_str()) {
                return bad(format!(
                    "failure_handling.mode` must be none, divert or suspend; got {:?}",
                    f.mode
                ));
            }
            if let Some(code) = f.act_on_status_codes.iter().find(|c| !status_pattern_ok(c)) {
                return bad(format!(
                    "failure_handling.act_on_status_codes`: {code:?} is not a status code or a class like \"5xx\""
                ));
            }
        }
        if let Some(p) = self.fresh_times.iter().find(|p| !p.starts_with('/')) {
            return bad(format!(
                "fresh_times` entries are JSON pointers starting with `/`; got {p:?}"
            ));
        }
        if let Some(a) = self
            .assumed
            .iter()
            .find(|a| !Self::RULES.contains(&a.as_str()))
        {
            return bad(format!(
                "assumed`: {a:?} is not a rule; expected one of {}",
                Self::RULES.join(", ")
            ));
        }
        Ok(())
    }
}

/// When a failed delivery is tried again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Retry {
    /// One attempt, never retried.
    None,
    /// Fixed delays: before the 2nd, 3rd, … attempt.
    Delays { delays_secs: Vec<f64> },
    /// Exponential backoff (`first_secs`, times `factor`, at most
    /// `max_delay_secs`) for up to `for_secs` after the first attempt.
    Backoff {
        first_secs: f64,
        factor: f64,
        max_delay_secs: f64,
        for_secs: f64,
    },
    /// Named schedules a webhook chooses from (Socotra's `retryStrategy`).
    Strategies {
        strategies: std::collections::BTreeMap<String, Vec<f64>>,
        default: String,
    },
}

/// The webhook is switched off after consecutive failures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableAfter {
    pub consecutive_failures: u32,
    /// The vendor's name for the state (`TooManyErrors`).
    pub state: String,
}

/// What happens to a delivery whose retries all failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureHandling {
    /// `none` (given up), `divert` (kept for the vendor's API to list and
    /// resend) or `suspend` (the webhook stops until unsuspended).
    pub mode: String,
    /// Answers that trigger the mode: codes (`"500"`) or classes (`"5xx"`).
    pub act_on_status_codes: Vec<String>,
    /// Whether a timeout (no answer in the budget) triggers the mode.
    pub act_on_timeout: bool,
}

impl FailureHandling {
    pub const MODES: [&'static str; 3] = ["none", "divert", "suspend"];

    /// Whether an answer with `status` triggers the mode.
    pub fn acts_on_status(&self, status: u16) -> bool {
        self.act_on_status_codes
            .iter()
            .any(|p| status_pattern_matches(p, status))
    }
}

fn status_pattern_ok(p: &str) -> bool {
    let b = p.as_bytes();
    p.parse::<u16>().is_ok_and(|c| (100..600).contains(&c))
        || (b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx"))
}

/// `"503"` matches 503; `"5xx"` matches 500–599.
pub fn status_pattern_matches(pattern: &str, status: u16) -> bool {
    let b = pattern.as_bytes();
    if b.len() == 3 && b[1..].eq_ignore_ascii_case(b"xx") {
        return b[0].is_ascii_digit() && u16::from(b[0] - b'0') == status / 100;
    }
    pattern.parse::<u16>() == Ok(status)
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
        if let Some(d) = &self.delivery {
            d.check()?;
        }
        Ok(())
    }

    /// The delivery rules: the manifest's, or [`DeliveryRules::assumed`].
    pub fn delivery_rules(&self) -> DeliveryRules {
        self.delivery.clone().unwrap_or_else(DeliveryRules::assumed)
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

    #[test]
    fn delivery_rules_are_checked_and_name_the_field() {
        let base = r#"{"id":"ok","name":"x","event_type":{"pointer":"/t"},"auth":{"scheme":"none"},"success":{"statuses":["2xx"]},"delivery":"#;
        let with = |d: &str| Manifest::from_json(&format!("{base}{d}}}"));
        let ok = with(
            r#"{"timeout_secs":30,"retry":{"kind":"strategies","strategies":{"none":[],"one":[30]},"default":"none"},"failure_handling":{"mode":"divert","act_on_status_codes":["5xx","429"],"act_on_timeout":true},"assumed":["retry.schedule"]}"#,
        )
        .unwrap();
        let rules = ok.delivery_rules();
        assert!(rules.is_assumed("retry.schedule") && !rules.is_assumed("retry"));
        let fh = rules.failure_handling.unwrap();
        assert!(fh.acts_on_status(503) && fh.acts_on_status(429) && !fh.acts_on_status(404));
        for (d, field) in [
            (
                r#"{"timeout_secs":0,"retry":{"kind":"none"}}"#,
                "delivery.timeout_secs",
            ),
            (
                r#"{"timeout_secs":1,"retry":{"kind":"strategies","strategies":{"one":[1]},"default":"two"}}"#,
                "delivery.retry.default",
            ),
            (
                r#"{"timeout_secs":1,"retry":{"kind":"none"},"failure_handling":{"mode":"drop","act_on_status_codes":[],"act_on_timeout":false}}"#,
                "delivery.failure_handling.mode",
            ),
            (
                r#"{"timeout_secs":1,"retry":{"kind":"none"},"failure_handling":{"mode":"none","act_on_status_codes":["5x"],"act_on_timeout":false}}"#,
                "delivery.failure_handling.act_on_status_codes",
            ),
            (
                r#"{"timeout_secs":1,"retry":{"kind":"none"},"assumed":["speed"]}"#,
                "delivery.assumed",
            ),
            (
                r#"{"timeout_secs":1,"retry":{"kind":"delays","delays_secs":[-1]}}"#,
                "delivery.retry.delays_secs",
            ),
        ] {
            let err = with(d).unwrap_err();
            assert!(err.0.contains(field), "{d}: {err}");
        }
        // No rules: everything assumed, one attempt.
        let none = Manifest::from_json(&format!("{}null}}", base)).unwrap();
        let r = none.delivery_rules();
        assert_eq!(r.retry, Retry::None);
        assert!(r.is_assumed("timeout_secs") && r.is_assumed("retry.schedule"));
    }
}
