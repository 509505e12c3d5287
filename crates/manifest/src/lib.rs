//! The vendor manifest: what hookforge needs to know about a vendor besides the
//! shape of its payloads. It lives in `schemas/<vendor>/manifest.json`, is
//! checked by the generator at generation time and read again by the runtime
//! (receiver, harness, CLI), so both sides share these types.

use serde::{Deserialize, Serialize};

pub mod body;
pub mod catalogue;
pub mod handshake;
pub mod jwt;
pub mod refs;
pub mod vendor_dir;

pub use handshake::{AnswerForm, Handshake};

/// The JSON Schema type of a value (`integer` for whole numbers).
pub fn json_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
pub use jwt::{JwtAlgorithm, JwtAuth};

/// One JSON Pointer reference token unescaped (RFC 6901: `~1` is `/`,
/// `~0` is `~`, in that order).
pub fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// One object key as a JSON Pointer reference token (RFC 6901: `~` is
/// written `~0`, then `/` is written `~1`).
pub fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The pointers in `doc` that `pattern` names: a JSON Pointer whose `*`
/// tokens stand for every index of an array or key of an object there
/// (HubSpot's `/*/attemptNumber`: each notification of a batch). A pattern
/// without `*` names itself, whether or not `doc` holds it.
pub fn pointers_matching(doc: &serde_json::Value, pattern: &str) -> Vec<String> {
    if !pattern.split('/').any(|t| t == "*") {
        return vec![pattern.to_string()];
    }
    let mut at = vec![(String::new(), doc)];
    for token in pattern.split('/').skip(1) {
        at = at
            .into_iter()
            .flat_map(|(ptr, v)| -> Vec<(String, &serde_json::Value)> {
                match (token, v) {
                    ("*", serde_json::Value::Array(a)) => (a.iter().enumerate())
                        .map(|(i, x)| (format!("{ptr}/{i}"), x))
                        .collect(),
                    ("*", serde_json::Value::Object(o)) => (o.iter())
                        .map(|(k, x)| (format!("{ptr}/{}", escape_token(k)), x))
                        .collect(),
                    (t, v) => v
                        .pointer(&format!("/{t}"))
                        .map(|x| vec![(format!("{ptr}/{t}"), x)])
                        .unwrap_or_default(),
                }
            })
            .collect();
    }
    at.into_iter().map(|(p, _)| p).collect()
}

/// [`pointers_matching`] for each of `patterns`, in order.
pub fn pointers_matching_any(doc: &serde_json::Value, patterns: &[String]) -> Vec<String> {
    (patterns.iter())
        .flat_map(|p| pointers_matching(doc, p))
        .collect()
}

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
    pub delivery: Option<DeliveryRules>,
    /// What the vendor's API offers a receiver, as far as the harness plays
    /// it (the sandbox and the simulator).
    pub api: Option<VendorApi>,
    /// Requests that test the endpoint rather than deliver an event, and
    /// the answers the vendor requires (see [`Handshake`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handshakes: Vec<Handshake>,
    /// How bodies are encoded (default: JSON).
    #[serde(default, skip_serializing_if = "is_default")]
    pub body: body::BodyFormat,
    /// How this vendor's auth was proven (catalogue vendors say; absent: not stated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<catalogue::Proof>,
    /// Where the event schemas came from (published, or inferred from samples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schemas: Option<catalogue::SchemaSource>,
    /// Event families the vendor documents that have no sample, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsampled: Vec<catalogue::Unsampled>,
    /// Which deliveries are about one entity, and which of them is newer
    /// (see [`Ordering`]); absent: deliveries are handled as they come.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordering: Option<Ordering>,
}

/// Per-entity ordering: the worker hands one entity's deliveries to the
/// handler one at a time, lowest sequence first, and marks one that arrives
/// after a newer one of the same entity stale (Prets: `/data/quoteId` and
/// `/timestamp`, so a `quote.updated` that arrives after the
/// `quote.financing.completed` it preceded cannot overwrite newer state
/// unnoticed). Deliveries whose key is absent are handled as they come.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ordering {
    /// The entity a delivery is about: a pointer into the body, or a header.
    pub key: Locator,
    /// How new it is: a number, or an RFC 3339 timestamp.
    pub sequence: Locator,
}

/// A text field that was an optional one: `null` reads as empty, as it
/// did, so a manifest written with `"note": null` still loads.
pub(crate) fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The vendor's API, as the harness plays it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorApi {
    /// Calls a receiver is documented to make after an event, each
    /// `METHOD /path` with `{/json/pointer}` filled from the delivery (Prets:
    /// `GET /v1/quotes/{/data/quoteId}`); the sandbox expects them.
    #[serde(default)]
    pub follow_ups: Vec<String>,
    /// The documented webhook management API `hookforge simulate --api-addr`
    /// plays, by kind.
    pub webhook_management: Option<WebhookManagement>,
}

/// A webhook management API the simulator knows how to play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookManagement {
    /// Socotra's `/webhook/{tenant}/webhooks` (register, list, update,
    /// delete, redeliver), with its generated models.
    Socotra,
}

impl VendorApi {
    /// The follow-up calls for one delivery: each template with its
    /// `{/pointer}` placeholders filled from `doc`; a template whose pointer
    /// is missing or not a string or number is left out.
    pub fn follow_ups_for(&self, doc: &serde_json::Value) -> Vec<String> {
        self.follow_ups
            .iter()
            .filter_map(|t| fill_pointers(t, doc))
            .collect()
    }
}

impl VendorApi {
    /// Each follow-up is `METHOD /path`, its placeholders closed JSON
    /// pointers (`{/data/id}`).
    fn check(&self) -> Result<(), ManifestError> {
        for (i, t) in self.follow_ups.iter().enumerate() {
            let bad = |why: &str| {
                Err(ManifestError(format!(
                    "`api.follow_ups[{i}]` ({t:?}): {why}"
                )))
            };
            let Some((method, path)) = t.split_once(' ') else {
                return bad("expected `METHOD /path`, e.g. `GET /v1/quotes/{/data/quoteId}`");
            };
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                return bad("the method must be upper case, e.g. GET");
            }
            if !path.starts_with('/') {
                return bad("the path must start with `/`");
            }
            let mut rest = path;
            while let Some(open) = rest.find('{') {
                let Some(close) = rest[open..].find('}') else {
                    return bad("a `{` is not closed");
                };
                if !rest[open + 1..open + close].starts_with('/') {
                    return bad(
                        "a placeholder is a JSON pointer into the delivery, e.g. `{/data/id}`",
                    );
                }
                rest = &rest[open + close + 1..];
            }
        }
        Ok(())
    }
}

fn fill_pointers(template: &str, doc: &serde_json::Value) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{/") {
        let end = start + rest[start..].find('}')?;
        out.push_str(&rest[..start]);
        let value = match doc.pointer(&rest[start + 1..end])? {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
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
    pub disable_after: Option<DisableAfter>,
    /// What happens to a delivery that failed its last retry, for vendors
    /// that let the webhook choose (Socotra's `failureHandling`): the default
    /// of a webhook registered without it.
    pub failure_handling: Option<FailureHandling>,
    /// JSON pointers of timestamps that are not date-time strings (e.g. epoch
    /// milliseconds), refreshed for each simulated event. Date-time strings
    /// anywhere in a body are refreshed in their own format anyway.
    #[serde(default)]
    pub fresh_times: Vec<String>,
    /// Of `fresh_times`, those that are the time of sending, not of the
    /// event (Linear's `/webhookTimestamp`, which its SDK refuses when more
    /// than a minute old): set to the sending time even on a delivery sent
    /// as received (`inbox forward`), as the vendor sets them on every send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent_times: Vec<String>,
    /// JSON pointers (`*` for every element) of body fields the vendor
    /// changes on every attempt of the same event (Coinbase Commerce's
    /// `/attempt_number`, HubSpot's `/*/attemptNumber`): a retry that
    /// differs only there is the same delivery, not a changed body, and
    /// without an event id it dedupes as one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_attempt: Vec<String>,
    /// JSON pointers (`*` for every element) of ids the body carries that
    /// are not the manifest's event id, made new for each simulated event
    /// (HubSpot's `/*/eventId`, which receivers dedupe on): without them a
    /// run with more events than samples repeats them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fresh_ids: Vec<String>,
    /// The answers after which the vendor waits at least the answer's
    /// `Retry-After` before its next retry (HubSpot's `"429"`); the
    /// simulator does the same, so a receiver shedding load sees when the
    /// vendor comes back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_after: Vec<StatusPattern>,
    /// An answer header by which the receiver asks the vendor not to retry
    /// (Slack's `X-Slack-No-Retry: 1`): the simulator gives the event up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_retry: Option<NoRetry>,
    /// The rules above that are hookforge's assumptions, not the vendor's
    /// documentation: any of [`DeliveryRules::RULES`].
    #[serde(default)]
    pub assumed: Vec<String>,
    /// Where the rules come from, in words.
    #[serde(default)]
    pub note: String,
}

/// The answer header, and its value, that stops the vendor's retries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoRetry {
    pub header: String,
    pub value: String,
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
            sent_times: Vec::new(),
            per_attempt: Vec::new(),
            fresh_ids: Vec::new(),
            retry_after: Vec::new(),
            no_retry: None,
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
        if let Some(n) = &self.no_retry
            && (!is_token(&n.header) || n.value.is_empty())
        {
            return bad(format!(
                "no_retry` needs a header name (letters, digits, `-`) and a value; got {:?}: {:?}",
                n.header, n.value
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
            Retry::Backoff(backoff) => {
                if !backoff.holds() {
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
        if let Some(p) = self.fresh_times.iter().find(|p| !p.starts_with('/')) {
            return bad(format!(
                "fresh_times` entries are JSON pointers starting with `/`; got {p:?}"
            ));
        }
        if let Some(p) = self
            .sent_times
            .iter()
            .find(|p| !self.fresh_times.contains(p))
        {
            return bad(format!(
                "sent_times` entries are also `fresh_times` entries; {p:?} is not"
            ));
        }
        for (name, list) in [
            ("per_attempt", &self.per_attempt),
            ("fresh_ids", &self.fresh_ids),
        ] {
            if let Some(p) = list.iter().find(|p| !p.starts_with('/')) {
                return bad(format!(
                    "{name}` entries are JSON pointers starting with `/`; got {p:?}"
                ));
            }
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
    /// Exponential backoff for a while after the first attempt.
    Backoff(Backoff),
    /// Named schedules a webhook chooses from (Socotra's `retryStrategy`).
    Strategies {
        strategies: std::collections::BTreeMap<String, Vec<f64>>,
        default: String,
    },
}

impl Retry {
    /// How long after the first attempt the vendor may still send the same
    /// delivery again (seconds): its last retry.
    pub fn horizon_secs(&self) -> f64 {
        let sum = |d: &[f64]| d.iter().sum::<f64>();
        match self {
            Retry::None => 0.0,
            Retry::Delays { delays_secs } => sum(delays_secs),
            Retry::Backoff(backoff) => backoff.for_secs,
            Retry::Strategies { strategies, .. } => {
                strategies.values().map(|d| sum(d)).fold(0.0, f64::max)
            }
        }
    }
}

/// Exponential backoff: `first_secs`, times `factor` after each attempt, at
/// most `max_delay_secs`, for up to `for_secs` after the first attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    pub first_secs: f64,
    pub factor: f64,
    pub max_delay_secs: f64,
    pub for_secs: f64,
}

impl Backoff {
    /// The delay before the next attempt after `retries` retries, or `None`
    /// when it would fall past `for_secs` (`elapsed`: seconds since the
    /// first attempt).
    pub fn delay(&self, retries: usize, elapsed: f64) -> Option<f64> {
        let d =
            (self.first_secs * self.factor.powi(retries.min(64) as i32)).min(self.max_delay_secs);
        (elapsed + d <= self.for_secs).then_some(d)
    }

    /// Positive, finite times and a factor of at least 1.
    fn holds(&self) -> bool {
        [self.first_secs, self.max_delay_secs, self.for_secs]
            .iter()
            .all(|d| d.is_finite() && *d > 0.0)
            && self.factor.is_finite()
            && self.factor >= 1.0
    }
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
    pub mode: FailureMode,
    /// Answers that trigger the mode: codes (`"500"`) or classes (`"5xx"`).
    pub act_on_status_codes: Vec<StatusPattern>,
    /// Whether a timeout (no answer in the budget) triggers the mode.
    pub act_on_timeout: bool,
}

/// What the vendor does with a delivery whose retries all failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureMode {
    /// Given up.
    None,
    /// Kept for the vendor's API to list and resend.
    Divert,
    /// The webhook stops until unsuspended.
    Suspend,
}

impl FailureMode {
    pub const ALL: [FailureMode; 3] =
        [FailureMode::None, FailureMode::Divert, FailureMode::Suspend];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureMode::None => "none",
            FailureMode::Divert => "divert",
            FailureMode::Suspend => "suspend",
        }
    }

    /// `none`, `divert` or `suspend`.
    pub fn parse(s: &str) -> Option<FailureMode> {
        FailureMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl std::str::FromStr for FailureMode {
    type Err = String;

    fn from_str(s: &str) -> Result<FailureMode, String> {
        FailureMode::parse(s).ok_or_else(|| format!("{s:?}: expected none, divert or suspend"))
    }
}

impl std::fmt::Display for FailureMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FailureHandling {
    /// Whether an answer with `status` triggers the mode.
    pub fn acts_on_status(&self, status: u16) -> bool {
        self.act_on_status_codes.iter().any(|p| p.matches(status))
    }
}

/// An HTTP status or a class of them, as manifests write it: `"503"` or
/// `"5xx"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StatusPattern {
    /// One status, 100–599.
    Code(u16),
    /// Every status of a class: `Class(5)` is 500–599.
    Class(u8),
}

impl StatusPattern {
    /// `2xx`.
    pub const SUCCESS: StatusPattern = StatusPattern::Class(2);

    /// Whether `status` is this one or in this class.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => u16::from(c) == status / 100,
        }
    }

    /// The patterns as a manifest lists them: `5xx, 429`.
    pub fn list(patterns: &[StatusPattern], separator: &str) -> String {
        let shown: Vec<String> = patterns.iter().map(ToString::to_string).collect();
        shown.join(separator)
    }
}

impl std::str::FromStr for StatusPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<StatusPattern, String> {
        let b = s.as_bytes();
        if b.len() == 3 && b[1..].eq_ignore_ascii_case(b"xx") && (b'1'..=b'5').contains(&b[0]) {
            return Ok(StatusPattern::Class(b[0] - b'0'));
        }
        match s.parse::<u16>() {
            Ok(c) if (100..600).contains(&c) => Ok(StatusPattern::Code(c)),
            _ => Err(format!(
                "{s:?} is not a status code (100 to 599) or a class like \"5xx\""
            )),
        }
    }
}

impl TryFrom<String> for StatusPattern {
    type Error = String;

    fn try_from(s: String) -> Result<StatusPattern, String> {
        s.parse()
    }
}

impl From<StatusPattern> for String {
    fn from(p: StatusPattern) -> String {
        p.to_string()
    }
}

impl std::fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusPattern::Code(c) => write!(f, "{c}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// Where a value lives in a delivery: a JSON pointer into the body and/or a
/// header. When both are given the body is authoritative and the header must
/// agree with it when present; the header is used when the body lacks the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locator {
    pub pointer: Option<String>,
    pub header: Option<String>,
    /// Join the header and the body value with this text instead (GitHub:
    /// `X-GitHub-Event` + `.` + `/action` → `issues.opened`). The header is
    /// then required, and the body value added only when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join: Option<String>,
    /// A value in the vendor's own format (GitHub's delivery GUID), so that
    /// the harness and the simulator mint ids of the same shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// For `event_type` only: every delivery is this one event, its type
    /// written nowhere (a Pub/Sub push message; a batch that is a JSON
    /// array, as SendGrid and HubSpot send). The body may then be an array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// For `event_id` only: other body values that, with this one, name one
    /// event, where the vendor's id alone names something shared (Adyen's
    /// `pspReference` is the payment's, the same on its AUTHORISATION,
    /// REFUND and CHARGEBACK; Adyen dedupes on it with `eventCode` and
    /// `success`). The id is the values joined with `:`, in this order after
    /// the pointer's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
}

impl Locator {
    /// The pointer split into unescaped reference tokens (RFC 6901).
    pub fn pointer_tokens(&self) -> Option<Vec<String>> {
        let p = self.pointer.as_deref()?;
        Some(p.split('/').skip(1).map(unescape_token).collect())
    }

    /// Describes the locator for error messages: "body `/type`" or "header `X-Event`".
    pub fn describe(&self) -> String {
        if let Some(v) = &self.value {
            return format!("always `{v}` (a fixed event type)");
        }
        if let (Some(p), Some(h), Some(j)) = (&self.pointer, &self.header, &self.join) {
            return format!("header `{h}` (joined by {j:?} with body `{p}` when present)");
        }
        let base = match (&self.pointer, &self.header) {
            (Some(p), Some(h)) => format!("body `{p}` (or header `{h}`)"),
            (Some(p), None) => format!("body `{p}`"),
            (None, Some(h)) => format!("header `{h}`"),
            (None, None) => "nowhere (manifest names neither pointer nor header)".into(),
        };
        if self.with.is_empty() {
            return base;
        }
        let with: Vec<String> = self.with.iter().map(|w| format!("`{w}`")).collect();
        format!("{base} and {}, joined with `:`", with.join(", "))
    }
}

/// How a vendor authenticates deliveries.
// Read once per manifest and matched on everywhere: a boxed variant would
// save a few hundred bytes per vendor and cost every match a deref.
#[allow(clippy::large_enum_variant)]
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
    /// A scheme described by its parts (see [`SignatureAuth`]): covers
    /// GitHub, Slack, Stripe, Shopify and Standard Webhooks, and expresses the
    /// three schemes above.
    Signature(SignatureAuth),
    /// A JSON Web Token in a header (see [`JwtAuth`]).
    Jwt(JwtAuth),
}

/// An authentication scheme described by its parts.
///
/// `format` is how the `header` carries the credential: `{sig}` (an HMAC,
/// computed over `signed`), or `{secret}` (the secret itself, e.g.
/// `Bearer {secret}`), optionally with `{timestamp}` as a further entry
/// (`t={timestamp},v1={sig}`, entries split by `separator`). Entries that
/// match no part of the format (a `v0=` beside `v1=`) are skipped, and a
/// `{sig}` entry may repeat (key rotation).
///
/// `signed` is a template over `{body}` (the raw bytes), `{timestamp}`,
/// `{id}` (from `id_header`) and `{url}` (the endpoint the vendor posts to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureAuth {
    /// The header that carries the signature (empty when it is in the
    /// body, at `signature_pointer`).
    #[serde(default)]
    pub header: String,
    /// Where in the JSON body the signature is (Mailgun's
    /// `/signature/signature`), instead of a header.
    pub signature_pointer: Option<String>,
    /// Where in the JSON body `{timestamp}` is (Mailgun's
    /// `/signature/timestamp`).
    pub timestamp_pointer: Option<String>,
    /// A time the vendor writes into the body it signs whole (Linear's
    /// `/webhookTimestamp`, in `timestamp_unit`): not a `{timestamp}` of the
    /// template, but covered by `{body}`, and refused outside
    /// `tolerance_secs` as the vendor's own verifier does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_timestamp: Option<String>,
    /// A body value the vendor makes new for every delivery (Mailgun's
    /// `/signature/token`): written afresh when signing.
    pub nonce_pointer: Option<String>,
    /// Body values this scheme is bound to, by JSON pointer (AWS SNS's
    /// `/SignatureVersion` = `"2"`, the version whose algorithm this is):
    /// written when signing, required when verifying. With `signature_pointer`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fixed_fields: std::collections::BTreeMap<String, String>,
    /// A body value naming the version of the scheme, and each version's
    /// algorithm (AWS SNS's `/SignatureVersion`: "1" SHA1withRSA, "2"
    /// SHA256withRSA): verified with the version the delivery names; signed
    /// with `algorithm`'s version. With `signature_pointer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<SignatureVersions>,
    #[serde(default = "default_format")]
    pub format: String,
    /// Splits the header into entries; none: the whole value is one entry.
    pub separator: Option<String>,
    /// The vendor documents sending one `{sig}` entry per active secret
    /// while a secret is rotated (Stripe, PagerDuty, Standard Webhooks):
    /// `check`'s `auth/rotation` puts a signature made with another secret
    /// before the right one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub several_signatures: bool,
    #[serde(default = "default_signed")]
    pub signed: String,
    /// How `{sig}` is made: an HMAC (the default, with `hash`) or a
    /// public-key signature (the vendor signs with its private key; a
    /// receiver's "secret" is the vendor's public key).
    #[serde(default)]
    pub algorithm: SignatureAlgorithm,
    /// Required with `{sig}` for HMAC; not used by public-key algorithms.
    pub hash: Option<HashAlgorithm>,
    /// Required with `{sig}`.
    pub encoding: Option<SignatureEncoding>,
    /// How the secret becomes the HMAC key.
    #[serde(default)]
    pub key: KeyFormat,
    /// Where `{timestamp}` is sent when it is not an entry of `format`.
    pub timestamp_header: Option<String>,
    /// Where `{id}` is sent.
    pub id_header: Option<String>,
    /// How old a signed timestamp may be (and, with `refuses_future`, how
    /// far ahead of now).
    #[serde(default = "default_tolerance")]
    pub tolerance_secs: u64,
    /// Whether the vendor's own verifier (its docs or SDK) also refuses a
    /// timestamp more than `tolerance_secs` ahead of now (Standard Webhooks,
    /// Slack), not only one that old (Stripe). The harness then sends a
    /// future-dated delivery that must be refused.
    #[serde(default, skip_serializing_if = "is_false")]
    pub refuses_future: bool,
    /// Whether `tolerance_secs` is hookforge's, not the vendor's: the vendor
    /// documents no window and its own verifier checks none (Discord,
    /// SendGrid). `serve` still refuses older timestamps, against replays;
    /// the harness does not fail a receiver that accepts them.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tolerance_assumed: bool,
    /// Where the delivery names the URL of the vendor's certificate (or
    /// public key) for a public-key `algorithm`, fetched from an allowed
    /// host and cached (PayPal's `PAYPAL-CERT-URL`, AWS SNS's
    /// `SigningCertURL`).
    pub key_url: Option<KeyUrl>,
    /// The timestamp's unit: Unix seconds (the default) or milliseconds
    /// (HubSpot's `X-HubSpot-Request-Timestamp`).
    #[serde(default)]
    pub timestamp_unit: TimestampUnit,
    /// Whether the vendor documents the scheme, or it is a configurable guess.
    #[serde(default = "yes")]
    pub documented: bool,
}

fn default_format() -> String {
    "{sig}".into()
}

fn default_signed() -> String {
    "{body}".into()
}

/// How a secret becomes an HMAC key, or how a public key is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyFormat {
    /// The secret's UTF-8 bytes, as given (GitHub, Slack, Stripe, Shopify).
    #[default]
    Utf8,
    /// The secret is base64; the key is what it decodes to (a public key:
    /// the raw key or its DER `SubjectPublicKeyInfo`, as SendGrid shows it).
    Base64,
    /// An optional `whsec_` prefix, then base64 (Standard Webhooks).
    Whsec,
    /// Hexadecimal (Discord's Ed25519 public keys).
    Hex,
    /// PEM (`-----BEGIN PUBLIC KEY-----`).
    Pem,
    /// `whpk_` (public) or `whsk_` (secret) then base64: Standard
    /// Webhooks' asymmetric (`v1a`) keys.
    Whpk,
}

/// Where a delivery names its key's URL, and the hosts it may name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUrl {
    pub header: Option<String>,
    pub pointer: Option<String>,
    /// Hosts the URL may name: `api.paypal.com`, or with `*` for exactly
    /// one label, `sns.*.amazonaws.com` (SNS in any region; not any host
    /// under amazonaws.com, where anyone can have a bucket). Only `https`,
    /// except a loopback host named with its port (`127.0.0.1:8443`), for
    /// tests.
    pub hosts: Vec<String>,
}

/// The unit of a signed timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimestampUnit {
    #[default]
    Seconds,
    Milliseconds,
    /// An RFC 3339 date and time (PayPal's `PAYPAL-TRANSMISSION-TIME`,
    /// `2026-12-04T16:10:33Z`), signed as sent.
    Rfc3339,
}

/// Versions of a scheme told apart by a body value (see
/// [`SignatureAuth::versions`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureVersions {
    pub pointer: String,
    pub algorithms: std::collections::BTreeMap<String, SignatureAlgorithm>,
}

impl SignatureVersions {
    /// The version `algorithm` is written as, when signing.
    pub fn of(&self, algorithm: SignatureAlgorithm) -> Option<&str> {
        self.algorithms
            .iter()
            .find(|(_, a)| **a == algorithm)
            .map(|(v, _)| v.as_str())
    }

    /// The versions, for messages: `"1" (rsa-sha1) or "2" (rsa-sha256)`.
    pub fn describe(&self) -> String {
        let all: Vec<String> = self
            .algorithms
            .iter()
            .map(|(v, a)| format!("{v:?} ({})", a.as_str()))
            .collect();
        all.join(" or ")
    }
}

/// How `{sig}` is computed and checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureAlgorithm {
    /// HMAC with the manifest's `hash` and a shared secret.
    #[default]
    Hmac,
    /// Ed25519 (RFC 8032): Discord, Standard Webhooks `v1a`.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, the signature ASN.1 DER (SendGrid).
    EcdsaP256Sha256,
    /// ECDSA over P-256 with SHA-256, the signature `r || s` (64 bytes).
    EcdsaP256Sha256Fixed,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048 to 8192 bits.
    RsaSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-1, 2048 to 8192 bits: verified only (AWS
    /// SNS's SignatureVersion 1, a topic's default). hookforge does not sign
    /// with SHA-1; a scheme with `versions` signs with its other version.
    RsaSha1,
}

impl SignatureAlgorithm {
    /// Whether the vendor signs with a private key (receivers hold the
    /// public one).
    pub fn is_public_key(self) -> bool {
        self != SignatureAlgorithm::Hmac
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::Hmac => "hmac",
            SignatureAlgorithm::Ed25519 => "ed25519",
            SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            SignatureAlgorithm::EcdsaP256Sha256Fixed => "ecdsa-p256-sha256-fixed",
            SignatureAlgorithm::RsaSha256 => "rsa-sha256",
            SignatureAlgorithm::RsaSha1 => "rsa-sha1",
        }
    }

    /// Whether hookforge can sign with it (for tests, `check`, `simulate`).
    pub fn can_sign(self) -> bool {
        self != SignatureAlgorithm::RsaSha1
    }
}

/// A piece of the `signed` template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedPiece {
    Text(String),
    Body,
    Timestamp,
    Id,
    Url,
    /// Form parameters (`application/x-www-form-urlencoded` body) sorted
    /// by name, each name followed by its value, nothing between (Twilio).
    FormSorted,
    /// The string at a JSON pointer in the body (`{body:/signature/token}`).
    BodyField(String),
    /// `[…]`: signed only when every body field in it is present (AWS SNS
    /// signs `Subject\n<subject>\n` only for messages that have one).
    Optional(Vec<SignedPiece>),
    /// `{body_crc32}`: the CRC-32 (IEEE) of the raw body, in decimal
    /// (PayPal signs it instead of the body).
    BodyCrc32,
    /// `{setting:NAME}`: a value the receiver is configured with, not sent
    /// in the delivery (PayPal's `webhook_id`, given when the webhook was
    /// registered): `serve --setting VENDOR.NAME=VALUE`, `check --setting NAME=VALUE`.
    Setting(String),
}

/// What an entry of the header `format` carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Sig,
    Secret,
    Timestamp,
}

/// One entry of the header `format`: literal text around one slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatEntry {
    pub prefix: String,
    pub slot: Slot,
    pub suffix: String,
}

impl FormatEntry {
    /// The slot's text, if `part` is this entry.
    pub fn matches<'p>(&self, part: &'p str) -> Option<&'p str> {
        let rest = part.strip_prefix(self.prefix.as_str())?;
        let inner = rest.strip_suffix(self.suffix.as_str())?;
        (!inner.is_empty()).then_some(inner)
    }
}

/// Gathers `[…]` in the template's text into optional groups, each of
/// which must name a body field.
fn optional_groups(pieces: Vec<SignedPiece>) -> Result<Vec<SignedPiece>, String> {
    let mut out = Vec::new();
    let mut group: Option<Vec<SignedPiece>> = None;
    for piece in pieces {
        let SignedPiece::Text(text) = piece else {
            group.as_mut().unwrap_or(&mut out).push(piece);
            continue;
        };
        let mut rest = text.as_str();
        while let Some(at) = rest.find(['[', ']']) {
            if at > 0 {
                let t = SignedPiece::Text(rest[..at].to_string());
                group.as_mut().unwrap_or(&mut out).push(t);
            }
            match (&rest[at..at + 1], group.take()) {
                ("[", None) => group = Some(Vec::new()),
                ("]", Some(g)) => {
                    if !g.iter().any(|p| matches!(p, SignedPiece::BodyField(_))) {
                        return Err("an optional `[…]` part must name a body field".into());
                    }
                    if g.iter().any(|p| {
                        matches!(
                            p,
                            SignedPiece::Body | SignedPiece::FormSorted | SignedPiece::BodyCrc32
                        )
                    }) {
                        return Err("the body itself cannot be optional".into());
                    }
                    out.push(SignedPiece::Optional(g));
                }
                ("[", Some(_)) => return Err("optional `[…]` parts do not nest".into()),
                _ => return Err("`]` without its `[`".into()),
            }
            rest = &rest[at + 1..];
        }
        if !rest.is_empty() {
            group
                .as_mut()
                .unwrap_or(&mut out)
                .push(SignedPiece::Text(rest.to_string()));
        }
    }
    if group.is_some() {
        return Err("`[` without its `]`".into());
    }
    Ok(out)
}

/// Splits `{name}` placeholders from text; errors name the unknown one.
fn placeholders(template: &str) -> Result<Vec<Result<String, String>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Err(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in {template:?}"))?;
        out.push(Ok(rest[open + 1..open + close].to_string()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Err(rest.to_string()));
    }
    Ok(out)
}

impl SignatureAuth {
    /// The receiver settings the signed template names (`{setting:NAME}`).
    pub fn settings(&self) -> Vec<String> {
        self.signed_pieces()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| match p {
                SignedPiece::Setting(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    /// The `signed` template, parsed.
    pub fn signed_pieces(&self) -> Result<Vec<SignedPiece>, ManifestError> {
        let bad = |m: String| ManifestError(format!("`auth.signed`: {m}"));
        let mut pieces = Vec::new();
        for p in placeholders(&self.signed).map_err(bad)? {
            pieces.push(match p {
                Err(text) => SignedPiece::Text(text),
                Ok(name) => match name.as_str() {
                    "body" => SignedPiece::Body,
                    "timestamp" => SignedPiece::Timestamp,
                    "id" => SignedPiece::Id,
                    "url" => SignedPiece::Url,
                    "form_sorted" => SignedPiece::FormSorted,
                    "body_crc32" => SignedPiece::BodyCrc32,
                    setting if setting.starts_with("setting:") => {
                        let name = &setting["setting:".len()..];
                        if name.is_empty()
                            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            return Err(bad(format!(
                                "`{{{setting}}}`: a setting's name is letters, digits and `_`"
                            )));
                        }
                        SignedPiece::Setting(name.to_string())
                    }
                    field if field.starts_with("body:/") => {
                        SignedPiece::BodyField(field["body:".len()..].to_string())
                    }
                    other => {
                        return Err(bad(format!(
                            "unknown placeholder `{{{other}}}`; expected {{body}}, {{form_sorted}}, {{body_crc32}}, {{body:/pointer}}, {{setting:NAME}}, {{timestamp}}, {{id}} or {{url}}"
                        )));
                    }
                },
            });
        }
        let pieces = optional_groups(pieces).map_err(bad)?;
        // The content must be covered, once: its bytes or its form fields;
        // or (Mailgun, whose signature covers only its own fields) body
        // fields named one by one.
        let content = |p: &&SignedPiece| {
            matches!(
                p,
                SignedPiece::Body | SignedPiece::FormSorted | SignedPiece::BodyCrc32
            )
        };
        let fields = pieces
            .iter()
            .any(|p| matches!(p, SignedPiece::BodyField(_)));
        match pieces.iter().filter(content).count() {
            0 if fields => {}
            1 => {}
            _ => {
                return Err(bad(
                    "must contain `{body}`, `{form_sorted}` or `{body_crc32}` exactly once (or name body fields with `{body:/pointer}`)".into(),
                ));
            }
        }
        Ok(pieces)
    }

    /// The header `format`, parsed into its entries.
    pub fn format_entries(&self) -> Result<Vec<FormatEntry>, ManifestError> {
        let bad = |m: String| ManifestError(format!("`auth.format`: {m}"));
        let texts: Vec<&str> = match self.separator.as_deref() {
            Some("") => return Err(ManifestError("`auth.separator` must not be empty".into())),
            Some(sep) => self.format.split(sep).collect(),
            None => vec![self.format.as_str()],
        };
        let mut entries = Vec::new();
        for text in texts {
            let parts = placeholders(text).map_err(bad)?;
            let slots: Vec<&String> = parts.iter().filter_map(|p| p.as_ref().ok()).collect();
            let [name] = slots[..] else {
                return Err(bad(format!(
                    "each entry needs exactly one placeholder; {text:?} has {}",
                    slots.len()
                )));
            };
            let slot = match name.as_str() {
                "sig" => Slot::Sig,
                "secret" => Slot::Secret,
                "timestamp" => Slot::Timestamp,
                other => {
                    return Err(bad(format!(
                        "unknown placeholder `{{{other}}}`; expected {{sig}}, {{secret}} or {{timestamp}}"
                    )));
                }
            };
            let at = parts.iter().position(|p| p.is_ok()).expect("one slot");
            let text_of = |r: &[Result<String, String>]| -> String {
                r.iter().filter_map(|p| p.as_ref().err().cloned()).collect()
            };
            entries.push(FormatEntry {
                prefix: text_of(&parts[..at]),
                slot,
                suffix: text_of(&parts[at + 1..]),
            });
        }
        let count = |s: Slot| entries.iter().filter(|e| e.slot == s).count();
        match (count(Slot::Sig), count(Slot::Secret)) {
            (1, 0) | (0, 1) => {}
            _ => return Err(bad("needs exactly one `{sig}` or one `{secret}`".into())),
        }
        if count(Slot::Timestamp) > 1 {
            return Err(bad("`{timestamp}` may appear once".into()));
        }
        Ok(entries)
    }

    /// Whether the credential is the secret itself (no HMAC).
    pub fn is_static(&self) -> bool {
        self.format.contains("{secret}")
    }

    fn check(&self) -> Result<(), ManifestError> {
        let entries = self.format_entries()?;
        let pieces = self.signed_pieces()?;
        if !self.fixed_fields.is_empty() && self.signature_pointer.is_none() {
            return Err(ManifestError(
                "`auth.fixed_fields` are body values a signature in the body is bound to: name `auth.signature_pointer`".into(),
            ));
        }
        if let Some(p) = self.fixed_fields.keys().find(|p| !p.starts_with('/')) {
            return Err(ManifestError(format!(
                "`auth.fixed_fields`: {p:?} is not a JSON pointer (`/SignatureVersion`)"
            )));
        }
        if let Some(v) = &self.versions {
            self.check_versions(v)?;
        }
        self.check_body_timestamp(&pieces)?;
        if !self.header.is_empty() && !is_token(&self.header) {
            return Err(ManifestError(format!(
                "`auth.header`: {:?} is not a header name (letters, digits and `-`, e.g. `X-Signature`)",
                self.header
            )));
        }
        if self.is_static() {
            if self.header.is_empty() {
                return Err(ManifestError(
                    "`auth.header`: a `{secret}` credential is sent in a header: name it (e.g. `Authorization`)".into(),
                ));
            }
            if entries.len() != 1 || !entries[0].suffix.is_empty() {
                return Err(ManifestError(
                    "`auth.format`: a `{secret}` credential is one entry, the secret last (e.g. `Bearer {secret}`)".into(),
                ));
            }
            return Ok(());
        }
        self.check_algorithm()?;
        let ts_entry = entries.iter().any(|e| e.slot == Slot::Timestamp);
        let ts_signed = pieces.contains(&SignedPiece::Timestamp);
        let ts_sent =
            ts_entry || self.timestamp_header.is_some() || self.timestamp_pointer.is_some();
        if self.header.is_empty() == self.signature_pointer.is_none() {
            return Err(ManifestError(
                "`auth`: name the signature's `header`, or its `signature_pointer` in the body (one of them)".into(),
            ));
        }
        if ts_signed && !ts_sent {
            return Err(ManifestError(
                "`auth.signed` uses `{timestamp}`: add it to `auth.format` or name `auth.timestamp_header`".into(),
            ));
        }
        if ts_sent && !ts_signed {
            return Err(ManifestError(
                "`auth`: a timestamp is sent but `auth.signed` does not cover `{timestamp}`, so it proves nothing".into(),
            ));
        }
        if pieces.contains(&SignedPiece::Id) && self.id_header.is_none() {
            return Err(ManifestError(
                "`auth.signed` uses `{id}`: name `auth.id_header`".into(),
            ));
        }
        Ok(())
    }

    /// A body time is proven only by a signature over the whole body, kept
    /// outside it.
    fn check_body_timestamp(&self, pieces: &[SignedPiece]) -> Result<(), ManifestError> {
        let Some(p) = &self.body_timestamp else {
            return Ok(());
        };
        let bad = |m: String| Err(ManifestError(format!("`auth.body_timestamp`: {m}")));
        if !p.starts_with('/') {
            return bad(format!("{p:?} is not a JSON pointer (`/webhookTimestamp`)"));
        }
        if !pieces.contains(&SignedPiece::Body) || self.signature_pointer.is_some() {
            return bad(
                "a time in the body is proven by a signature over `{body}` sent in a header; \
                 a signed timestamp of its own is `timestamp_pointer`"
                    .into(),
            );
        }
        Ok(())
    }

    /// The algorithm's own needs: HMAC a `hash`; public keys a key format
    /// that can write one, and no `hash` (the algorithm fixes it).
    fn check_versions(&self, v: &SignatureVersions) -> Result<(), ManifestError> {
        let bad = |m: String| Err(ManifestError(format!("`auth.versions`: {m}")));
        if self.signature_pointer.is_none() {
            return bad(
                "versions are told apart by a body value: name `auth.signature_pointer`".into(),
            );
        }
        if !v.pointer.starts_with('/') {
            return bad(format!(
                "`pointer` {:?} is not a JSON pointer (`/SignatureVersion`)",
                v.pointer
            ));
        }
        if self.fixed_fields.contains_key(&v.pointer) {
            return bad(format!(
                "{:?} is in `fixed_fields` too: name it in one place",
                v.pointer
            ));
        }
        if v.algorithms.values().any(|a| !a.is_public_key()) {
            return bad(
                "each version's algorithm is a public-key one (rsa-sha256, rsa-sha1, …)".into(),
            );
        }
        if v.of(self.algorithm).is_none() {
            return bad(format!(
                "`auth.algorithm` ({}) is what hookforge signs with: it must be one of the versions ({})",
                self.algorithm.as_str(),
                v.describe()
            ));
        }
        Ok(())
    }

    fn check_algorithm(&self) -> Result<(), ManifestError> {
        let bad = |m: &str| Err(ManifestError(format!("`auth`: {m}")));
        let public = self.algorithm.is_public_key();
        if !public && (self.hash.is_none() || self.encoding.is_none()) {
            return bad(
                "a `{sig}` format needs `hash` (sha1, sha256, sha512) and `encoding` (hex, base64)",
            );
        }
        if self.encoding.is_none() {
            return bad("a `{sig}` format needs `encoding` (hex, base64)");
        }
        if let Some(k) = &self.key_url {
            if !public {
                return bad(
                    "`key_url` is for public-key algorithms: an HMAC key is a shared secret",
                );
            }
            if k.header.is_some() == k.pointer.is_some() {
                return bad("`key_url` names one `header` or one `pointer`");
            }
            if k.hosts.is_empty() {
                return bad("`key_url.hosts` must name the hosts the vendor serves its keys from");
            }
        }
        match (public, self.hash.is_some()) {
            (true, true) => bad("`hash` is for HMAC; a public-key `algorithm` fixes its own hash"),
            (true, false) if matches!(self.key, KeyFormat::Utf8 | KeyFormat::Whsec) => bad(
                "a public-key `algorithm` needs `key`: hex, base64, pem or whpk (how the vendor's public key is written)",
            ),
            _ => Ok(()),
        }
    }

    /// The `hmac` scheme in these terms.
    pub fn hmac(header: &str, hash: HashAlgorithm, encoding: SignatureEncoding) -> SignatureAuth {
        SignatureAuth {
            header: header.into(),
            format: default_format(),
            separator: None,
            several_signatures: false,
            signed: default_signed(),
            algorithm: SignatureAlgorithm::Hmac,
            hash: Some(hash),
            encoding: Some(encoding),
            key: KeyFormat::Utf8,
            timestamp_header: None,
            id_header: None,
            tolerance_secs: default_tolerance(),
            refuses_future: false,
            tolerance_assumed: false,
            key_url: None,
            timestamp_unit: TimestampUnit::Seconds,
            signature_pointer: None,
            timestamp_pointer: None,
            body_timestamp: None,
            nonce_pointer: None,
            fixed_fields: Default::default(),
            versions: None,
            documented: true,
        }
    }

    /// The `standard-webhooks` scheme in these terms.
    pub fn standard_webhooks(tolerance_secs: u64) -> SignatureAuth {
        SignatureAuth {
            format: "v1,{sig}".into(),
            separator: Some(" ".into()),
            // "A space delimited list of signatures", for rotation.
            several_signatures: true,
            signed: "{id}.{timestamp}.{body}".into(),
            key: KeyFormat::Whsec,
            timestamp_header: Some("webhook-timestamp".into()),
            id_header: Some("webhook-id".into()),
            tolerance_secs,
            // The specification refuses "Message timestamp too new" alike.
            refuses_future: true,
            ..SignatureAuth::hmac(
                "webhook-signature",
                HashAlgorithm::Sha256,
                SignatureEncoding::Base64,
            )
        }
    }
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An HTTP header name (RFC 9110 `token`).
fn is_token(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
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
/// `{event_type}`, `{event_id}`, `{attempt}` (0 on the first delivery),
/// `{timestamp}` (unix seconds) and `{timestamp_rfc3339}`, and
/// `{signature}` / `{secret}` for headers the auth scheme fills in (see
/// [`HEADER_PLACEHOLDERS`]; any other is an error).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderSpec {
    pub name: String,
    pub value: String,
    /// Only sent on some deliveries: `"secret"` (when the webhook has a
    /// secret), `"retry"` (on retries, not the first attempt) or
    /// `"event=<type>"` (only with that event type).
    pub only_when: Option<String>,
    /// Why, in words.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "String::is_empty"
    )]
    pub note: String,
}

/// The placeholders a manifest header's `value` may hold.
pub const HEADER_PLACEHOLDERS: &[&str] = &[
    "event_type",
    "event_id",
    "attempt",
    "timestamp",
    "timestamp_rfc3339",
    "signature",
    "secret",
];

/// The vendor's success rule and time budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Success {
    /// Status codes that count as success: `"2xx"` or explicit codes like `"200"`.
    pub statuses: Vec<StatusPattern>,
    /// How long the vendor waits for the answer, if documented.
    pub timeout_secs: Option<u64>,
    /// The answers to an unauthenticated or malformed delivery that the
    /// vendor documents as a refusal (`"401"`, `"4xx"`), and does not retry
    /// (the simulator gives up on them); absent: any 4xx counts as a
    /// refusal for `check`, and is retried, since most vendors treat every
    /// non-2xx alike.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<Vec<StatusPattern>>,
}

impl Success {
    /// Whether `status` is one the vendor counts as a refusal.
    pub fn refuses(&self, status: u16) -> bool {
        match &self.refused {
            Some(patterns) => patterns.iter().any(|p| p.matches(status)),
            None => (400..500).contains(&status),
        }
    }

    /// Whether `status` is a success under this rule.
    pub fn accepts(&self, status: u16) -> bool {
        self.statuses.iter().any(|s| s.matches(status))
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

impl Auth {
    /// Whether the vendor sends one signature per active secret while a
    /// secret is rotated (`several_signatures`; Standard Webhooks always).
    pub fn sends_several_signatures(&self) -> bool {
        match self {
            Auth::Signature(sig) => sig.several_signatures,
            Auth::StandardWebhooks { .. } => true,
            _ => false,
        }
    }

    /// Whether deliveries are checked with a shared secret (an HMAC), the
    /// kind a handshake can hand over.
    pub fn uses_shared_secret(&self) -> bool {
        match self {
            Auth::Hmac { .. } | Auth::StandardWebhooks { .. } => true,
            Auth::Signature(s) => !s.is_static() && !s.algorithm.is_public_key(),
            Auth::None { .. } | Auth::Bearer { .. } | Auth::Jwt(_) => false,
        }
    }
}

impl Manifest {
    /// The handshake that gives the vendor's secret, if any (Asana's
    /// `X-Hook-Secret`).
    pub fn secret_handshake(&self) -> Option<(&Handshake, &handshake::Keep)> {
        self.handshakes
            .iter()
            .find_map(|h| h.keep.as_ref().map(|k| (h, k)))
    }

    /// The headers the event type and id are read from: a stored delivery
    /// or a sample without them cannot be told apart.
    pub fn headers_read(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&self.event_type)
            .chain(&self.event_id)
            .filter_map(|l| l.header.as_deref())
    }

    /// Whether the vendor gives its secret in a handshake.
    pub fn keeps_secret(&self) -> bool {
        self.secret_handshake().is_some()
    }

    /// Parses and checks a manifest. Errors name the offending field.
    pub fn from_json(text: &str) -> Result<Manifest, ManifestError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let m: Manifest = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = pointer(&e.path().to_string());
            ManifestError(format!("manifest is not valid at `{at}`: {}", e.inner()))
        })?;
        m.check().map_err(|e| ManifestError(with_pointer(e.0)))?;
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
        match &self.auth {
            Auth::Signature(sig) => sig.check()?,
            Auth::Jwt(jwt) => jwt.check()?,
            _ => {}
        }
        self.event_type.check("event_type")?;
        if let Some(l) = &self.event_id {
            l.check("event_id")?;
        }
        for (i, h) in self.headers.iter().enumerate() {
            h.check(i)?;
        }
        self.success.check()?;
        if let Some(d) = &self.delivery {
            d.check()?;
        }
        if let Some(api) = &self.api {
            api.check()?;
        }
        for (i, h) in self.handshakes.iter().enumerate() {
            h.check(i)?;
        }
        if self.keeps_secret() && !self.auth.uses_shared_secret() {
            return Err(ManifestError(
                "`handshakes[].keep`: a kept secret verifies later deliveries, so `auth` must be a shared-secret scheme (an HMAC)".into(),
            ));
        }
        if let Some(p) = &self.proof {
            p.check().map_err(ManifestError)?;
        }
        if let Some(s) = &self.schemas {
            s.check().map_err(ManifestError)?;
        }
        for (i, u) in self.unsampled.iter().enumerate() {
            u.check(i).map_err(ManifestError)?;
        }
        if let Some(o) = &self.ordering {
            for (field, l) in [("ordering.key", &o.key), ("ordering.sequence", &o.sequence)] {
                l.check(field)?;
                if l.join.is_some() || (l.pointer.is_some() && l.header.is_some()) {
                    return Err(ManifestError(format!(
                        "`{field}` reads one place: a `pointer` or a `header`, not both"
                    )));
                }
            }
        }
        Ok(())
    }

    /// `delivery.per_attempt`: the body fields a retry changes (none when
    /// the manifest has no delivery rules).
    pub fn per_attempt(&self) -> &[String] {
        self.delivery
            .as_ref()
            .map_or(&[], |d| d.per_attempt.as_slice())
    }

    /// `delivery.fresh_ids`: ids the body carries besides the event id,
    /// which receivers dedupe on.
    pub fn fresh_ids(&self) -> &[String] {
        self.delivery
            .as_ref()
            .map_or(&[], |d| d.fresh_ids.as_slice())
    }

    /// The delivery rules: the manifest's, or [`DeliveryRules::assumed`].
    pub fn delivery_rules(&self) -> DeliveryRules {
        self.delivery.clone().unwrap_or_else(DeliveryRules::assumed)
    }
}

/// `auth.format` or `headers[2].name` (serde's and our field paths) as a
/// JSON pointer: `/auth/format`, `/headers/2/name`.
fn pointer(path: &str) -> String {
    if path == "." || path.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            out.push('/');
            out.push_str(&escape_token(name));
        }
        for idx in rest.split('[').filter(|x| !x.is_empty()) {
            out.push('/');
            out.push_str(idx.trim_end_matches(']'));
        }
    }
    out
}

/// A check error that starts with a field path gets its JSON pointer too:
/// "`auth.format` (at `/auth/format`): …".
fn with_pointer(message: String) -> String {
    let Some(rest) = message.strip_prefix('`') else {
        return message;
    };
    let Some(end) = rest.find('`') else {
        return message;
    };
    let field = &rest[..end];
    if field.is_empty()
        || !field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._[]".contains(c))
    {
        return message;
    }
    format!("`{field}` (at `{}`){}", pointer(field), &rest[end + 1..])
}

impl Locator {
    /// A locator names a pointer or a header (both, to join them), and a
    /// pointer is a JSON pointer. `field`: where it is in the manifest.
    fn check(&self, field: &str) -> Result<(), ManifestError> {
        if let Some(v) = &self.value {
            if field != "event_type" {
                return Err(ManifestError(format!(
                    "`{field}.value`: only the event type can be fixed"
                )));
            }
            if self.pointer.is_some() || self.header.is_some() || v.is_empty() {
                return Err(ManifestError(format!(
                    "`{field}.value` fixes the event type: give it alone, non-empty, without `pointer` or `header`"
                )));
            }
            return Ok(());
        }
        if self.join.is_some() && (self.pointer.is_none() || self.header.is_none()) {
            return Err(ManifestError(format!(
                "`{field}.join` joins a `header` and a `pointer`: name both"
            )));
        }
        if self.pointer.is_none() && self.header.is_none() {
            return Err(ManifestError(format!(
                "`{field}` needs a `pointer` or a `header`"
            )));
        }
        if let Some(p) = &self.pointer
            && !p.starts_with('/')
        {
            return Err(ManifestError(format!(
                "`{field}.pointer` must be a JSON pointer starting with `/`; got {p:?}"
            )));
        }
        if !self.with.is_empty() && (field != "event_id" || self.pointer.is_none()) {
            return Err(ManifestError(format!(
                "`{field}.with` adds body values to an event id read from a `pointer`: only `event_id` with a `pointer` takes it"
            )));
        }
        if let Some(p) = self.with.iter().find(|p| !p.starts_with('/')) {
            return Err(ManifestError(format!(
                "`{field}.with` holds JSON pointers starting with `/`; got {p:?}"
            )));
        }
        Ok(())
    }
}

impl HeaderSpec {
    /// A valid header name, a known condition, and only placeholders
    /// hookforge fills. `index`: its place in `headers`.
    fn check(&self, index: usize) -> Result<(), ManifestError> {
        if let Some(cond) = &self.only_when
            && cond != "secret"
            && cond != "retry"
            && !cond.starts_with("event=")
        {
            return Err(ManifestError(format!(
                "`headers[{index}].only_when` ({}) must be \"secret\", \"retry\" or \"event=<type>\"; got {cond:?}",
                self.name
            )));
        }
        let valid_name = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(ManifestError(format!(
                "`headers[{index}].name`: {:?} is not a valid header name",
                self.name
            )));
        }
        let found = placeholders(&self.value)
            .map_err(|e| ManifestError(format!("`headers[{index}].value` ({}): {e}", self.name)))?;
        for p in found {
            if let Ok(name) = p
                && !HEADER_PLACEHOLDERS.contains(&name.as_str())
            {
                return Err(ManifestError(format!(
                    "`headers[{index}].value` ({}): `{{{name}}}` is not a placeholder hookforge fills; use one of {}",
                    self.name,
                    HEADER_PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(())
    }
}

impl Success {
    /// Statuses are `2xx` or codes; refusals are codes or classes.
    fn check(&self) -> Result<(), ManifestError> {
        if self.statuses.is_empty() {
            return Err(ManifestError("`success.statuses` must not be empty".into()));
        }
        // A class other than 2xx as success would count errors as delivered.
        if let Some(s) = self
            .statuses
            .iter()
            .find(|s| matches!(s, StatusPattern::Class(c) if *c != 2))
        {
            return Err(ManifestError(format!(
                "`success.statuses` entries are \"2xx\" or a status code; got \"{s}\""
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header's note and a schema source were optional: `null` still
    /// loads (as empty), and empty is not written back.
    #[test]
    fn notes_once_optional_take_null() {
        let h: HeaderSpec =
            serde_json::from_str(r#"{"name": "X-A", "value": "1", "note": null}"#).unwrap();
        assert_eq!(h.note, "");
        assert!(!serde_json::to_string(&h).unwrap().contains("note"));
        let s: catalogue::SchemaSource =
            serde_json::from_str(r#"{"from": "inferred", "source": null}"#).unwrap();
        assert_eq!(s.source, "");
    }

    /// `*` stands for every element of an array or object; a pattern
    /// without one names itself.
    #[test]
    fn pointer_patterns_name_every_element() {
        let doc = serde_json::json!([
            {"eventId": 1, "attemptNumber": 0},
            {"eventId": 2, "attemptNumber": 0, "a/b": {"x": 1}}
        ]);
        assert_eq!(
            pointers_matching(&doc, "/*/attemptNumber"),
            ["/0/attemptNumber", "/1/attemptNumber"]
        );
        assert_eq!(pointers_matching(&doc, "/*/a~1b/x"), ["/1/a~1b/x"]);
        assert_eq!(
            pointers_matching(&doc, "/1/*"),
            ["/1/a~1b", "/1/attemptNumber", "/1/eventId"]
        );
        assert_eq!(pointers_matching(&doc, "/9/absent"), ["/9/absent"]);
        assert!(pointers_matching(&doc, "/*/absent").is_empty());
    }

    /// A follow-up the sandbox could never fill is refused at load, naming it.
    #[test]
    fn follow_ups_are_checked_and_filled() {
        let api = |t: &str| VendorApi {
            follow_ups: vec![t.into()],
            webhook_management: None,
        };
        for bad in ["GET", "get /x", "GET x", "GET /v1/{/data", "GET /v1/{data}"] {
            let err = api(bad).check().unwrap_err();
            assert!(err.0.contains("api.follow_ups[0]"), "{bad}: {err}");
        }
        let good = api("GET /v1/quotes/{/data/quoteId}");
        good.check().unwrap();
        let doc = serde_json::json!({"data": {"quoteId": "quo_1"}});
        assert_eq!(good.follow_ups_for(&doc), vec!["GET /v1/quotes/quo_1"]);
        assert!(good.follow_ups_for(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn success_rules() {
        let two = Success {
            statuses: vec![StatusPattern::SUCCESS],
            timeout_secs: Some(30),
            refused: None,
        };
        assert!(two.refuses(400) && two.refuses(499) && !two.refuses(500));
        assert!(two.accepts(200) && two.accepts(204) && !two.accepts(301));
        let exact = Success {
            statuses: vec![StatusPattern::Code(200)],
            timeout_secs: None,
            refused: Some(vec![StatusPattern::Code(401), StatusPattern::Code(403)]),
        };
        assert!(exact.refuses(401) && !exact.refuses(400));
        assert!(exact.accepts(200) && !exact.accepts(202));
    }

    #[test]
    fn pointer_tokens_unescape() {
        let l = Locator {
            pointer: Some("/a~1b/c~0d".into()),
            header: None,
            join: None,
            example: None,
            value: None,
            with: Vec::new(),
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

    /// `with` completes an id read from the body; anywhere else it is named.
    #[test]
    fn event_id_with_is_checked_and_names_the_field() {
        let manifest = |event_id: &str| {
            Manifest::from_json(&format!(
                r#"{{"id":"ok","name":"x","event_type":{{"pointer":"/t"}},"event_id":{event_id},"auth":{{"scheme":"none"}},"success":{{"statuses":["2xx"]}}}}"#
            ))
        };
        manifest(r#"{"pointer":"/id","with":["/code","/success"]}"#).unwrap();
        let err = manifest(r#"{"header":"X-Id","with":["/code"]}"#).unwrap_err();
        assert!(err.0.contains("`event_id.with`"), "{err}");
        let err = manifest(r#"{"pointer":"/id","with":["code"]}"#).unwrap_err();
        assert!(
            err.0.contains("`event_id.with`") && err.0.contains("\"code\""),
            "{err}"
        );
    }

    /// `delivery.no_retry` names a header and a value, and a handshake for
    /// another endpoint is named and hands over no secret: else the header
    /// silently never matched, or `check` skipped the request that gives
    /// the receiver its secret (helper-65's review).
    #[test]
    fn no_retry_and_other_endpoint_are_checked() {
        let manifest = |delivery: &str, handshake: &str| {
            Manifest::from_json(&format!(
                r#"{{"id":"ok","name":"x","event_type":{{"pointer":"/t"}},"auth":{{"scheme":"none"}},"success":{{"statuses":["2xx"]}},"delivery":{{"timeout_secs":3,"retry":{{"kind":"none"}}{delivery}}},"handshakes":[{{"name":"h","when":[{{"pointer":"/t","equals":"h"}}],"answer":{{"status":200,"content_type":"text/plain","body":""}},"example":{{}}{handshake}}}]}}"#
            ))
        };
        manifest(
            r#","no_retry":{"header":"X-No-Retry","value":"1"}"#,
            r#","other_endpoint":"Other URL""#,
        )
        .unwrap();
        for delivery in [
            r#","no_retry":{"header":"X No Retry","value":"1"}"#,
            r#","no_retry":{"header":"X-No-Retry","value":""}"#,
        ] {
            let err = manifest(delivery, "").unwrap_err();
            assert!(err.0.contains("`delivery.no_retry`"), "{err}");
        }
        for handshake in [
            r#","other_endpoint":" ""#,
            r#","other_endpoint":"Other URL","keep":{"header":"X-Hook-Secret"}"#,
        ] {
            let err = manifest("", handshake).unwrap_err();
            assert!(err.0.contains(".other_endpoint`"), "{err}");
        }
    }

    /// Each rule `Handshake::check` holds names the field it refuses.
    #[test]
    fn handshake_rules_are_checked_and_name_the_field() {
        // A valid handshake with `fields` put in place of its own.
        let manifest = |fields: serde_json::Value| {
            let mut handshake = serde_json::json!({
                "name": "h",
                "when": [{"pointer": "/t", "equals": "h"}],
                "answer": {"content_type": "text/plain", "body": ""},
                "example": {},
            });
            for (key, value) in fields.as_object().unwrap() {
                handshake[key] = value.clone();
            }
            Manifest::from_json(&format!(
                r#"{{"id":"ok","name":"x","event_type":{{"pointer":"/t"}},"auth":{{"scheme":"none"}},"success":{{"statuses":["2xx"]}},"handshakes":[{handshake}]}}"#
            ))
        };
        manifest(serde_json::json!({})).unwrap();
        let answer = |status: u16, body: &str| serde_json::json!({"status": status, "content_type": "text/plain", "body": body});
        let refused = [
            (serde_json::json!({"name": "a b"}), "name"),
            (serde_json::json!({"when": []}), "when"),
            (
                serde_json::json!({"when": [{"pointer": "/t", "header": "X"}]}),
                "when[0]",
            ),
            (
                serde_json::json!({"when": [{"pointer": "t"}]}),
                "when[0].pointer",
            ),
            (
                serde_json::json!({"method": "GET", "when": [{"pointer": "/t"}]}),
                "when[0].pointer",
            ),
            (
                serde_json::json!({"method": "GET", "when": [{"query": "q"}], "example": {"body": "x"}}),
                "example.body",
            ),
            (
                serde_json::json!({"visit": {"pointer": "/u", "hosts": ["example.com"]}}),
                "authenticated",
            ),
            (
                serde_json::json!({"keep": {"header": "X-Secret"}}),
                "keep.header",
            ),
            (
                serde_json::json!({"answer": answer(700, "")}),
                "answer.status",
            ),
            (
                serde_json::json!({"answer": answer(200, "{hmac_sha256_hex:/t}")}),
                "authenticated",
            ),
        ];
        for (fields, field) in refused {
            let err = manifest(fields.clone()).unwrap_err();
            assert!(
                err.0.contains(&format!("`handshakes[0].{field}`")),
                "{fields}: {err}"
            );
        }
    }

    /// A credential or signature header must be named, and be a header
    /// name: else `check` failed later with `"" is not a valid header name`.
    #[test]
    fn the_auth_header_is_required_and_a_header_name() {
        let manifest = |auth: &str| {
            Manifest::from_json(&format!(
                r#"{{"id":"ok","name":"x","event_type":{{"pointer":"/t"}},"auth":{auth},"success":{{"statuses":["2xx"]}}}}"#
            ))
        };
        manifest(r#"{"scheme":"signature","header":"Authorization","format":"Bearer {secret}"}"#)
            .unwrap();
        let err = manifest(r#"{"scheme":"signature","format":"Bearer {secret}"}"#).unwrap_err();
        assert!(err.0.contains("`auth.header`"), "{err}");
        let err =
            manifest(r#"{"scheme":"signature","header":"X Sig","hash":"sha256","encoding":"hex"}"#)
                .unwrap_err();
        assert!(
            err.0.contains("`auth.header`") && err.0.contains("\"X Sig\""),
            "{err}"
        );
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
                // A typed mode: serde names the place, as a pointer.
                "/delivery/failure_handling/mode",
            ),
            (
                r#"{"timeout_secs":1,"retry":{"kind":"none"},"failure_handling":{"mode":"none","act_on_status_codes":["5x"],"act_on_timeout":false}}"#,
                // A typed pattern: the entry itself, and what was expected.
                r#"/delivery/failure_handling/act_on_status_codes/0`: "5x" is not a status code (100 to 599) or a class like "5xx""#,
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
