//! Handshakes: requests a vendor sends to test an endpoint, before it sends
//! any event (Slack's `url_verification`, Zoom's `endpoint.url_validation`,
//! Meta's `hub.challenge` GET) or now and then (Discord's PING), and the
//! answer it requires. A receiver answers them and never stores them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ManifestError;

/// One handshake: which request is one, what to answer, and a documented
/// example of the request for the harness and the simulator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handshake {
    /// Its name (`url_verification`): the harness case `<vendor>/handshake/<name>`.
    pub name: String,
    #[serde(default)]
    pub method: HandshakeMethod,
    /// What makes a request this handshake; every condition must hold.
    pub when: Vec<Condition>,
    /// Whether the request carries the vendor's authentication and must
    /// pass it before it is answered (Slack, Discord, Twitch sign theirs).
    #[serde(default)]
    pub authenticated: bool,
    /// A query parameter that must equal the receiver's handshake token
    /// (Meta's `hub.verify_token`, chosen when the endpoint is registered).
    pub token_query: Option<String>,
    pub answer: HandshakeAnswer,
    /// A URL the receiver must GET before answering (AWS SNS's
    /// `SubscriptionConfirmation` carries `SubscribeURL`).
    pub visit: Option<Visit>,
    /// A request header or body field whose value the receiver keeps as
    /// the vendor's secret, verifying later deliveries with it (Asana's
    /// `X-Hook-Secret`, sent when a webhook is created; Notion's
    /// `verification_token`, which the user also pastes into Notion).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep: Option<Keep>,
    /// The vendor's other endpoint this handshake is sent to, when not to
    /// the one receiving its events (Discord's Interactions Endpoint URL,
    /// which may point at the same receiver): `serve` answers it, `check`
    /// skips it and `simulate` does not send it, since the vendor sends no
    /// such request to an endpoint that only receives events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_endpoint: Option<String>,
    /// The request as the vendor documents it.
    pub example: HandshakeExample,
    #[serde(default)]
    pub note: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HandshakeMethod {
    Get,
    #[default]
    Post,
    /// A HEAD the vendor sends to check the URL before it delivers to it
    /// (Trello, when a webhook is created): any HEAD is one.
    Head,
}

impl HandshakeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeMethod::Get => "GET",
            HandshakeMethod::Post => "POST",
            HandshakeMethod::Head => "HEAD",
        }
    }
}

/// What a handshake gives the receiver to keep (see [`Handshake::keep`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keep {
    /// The header that carries the secret (Asana's `X-Hook-Secret`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Or the body field, a JSON pointer to a string (Notion's
    /// `/verification_token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl Keep {
    /// Where the secret is, in words: ``header `X-Hook-Secret` `` or
    /// ``body field `/verification_token` ``.
    pub fn place(&self) -> String {
        match (&self.header, &self.pointer) {
            (Some(h), _) => format!("header `{h}`"),
            (None, Some(p)) => format!("body field `{p}`"),
            (None, None) => "nowhere".into(),
        }
    }
}

/// Where the URL to visit is, and the hosts it may name (as `key_url`:
/// `https`, a `*` label for exactly one label).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    pub pointer: String,
    pub hosts: Vec<String>,
}

/// One test on the request: the JSON value at a body `pointer`, a
/// `header` or a `query` parameter; present, or equal to `equals`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub pointer: Option<String>,
    pub header: Option<String>,
    pub query: Option<String>,
    /// The value required (a header or query parameter: a string); absent:
    /// present is enough.
    pub equals: Option<Value>,
}

/// What to answer. `body` and header values are templates: `{body:/ptr}`
/// (a string at a body pointer), `{query:name}`, `{header:name}`, and
/// `{hmac_sha256_hex:/ptr}` (the HMAC-SHA256, hex, of the string at the
/// pointer, keyed with the vendor secret: Zoom). In a JSON answer each
/// value is escaped as a JSON string's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeAnswer {
    #[serde(default = "ok")]
    pub status: u16,
    /// Other statuses the vendor accepts as well (Asana: 204 beside 200);
    /// `status` is the one the receiver sends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_statuses: Vec<u16>,
    pub content_type: String,
    #[serde(default)]
    pub headers: Vec<AnswerHeader>,
    pub body: String,
    /// Other forms of `body` the vendor accepts as well (Slack: the
    /// challenge as a form field or in a JSON object, besides plain text).
    /// Only for judging an answer: a receiver sends `body`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<AnswerForm>,
}

/// Another form of a text answer that a vendor accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerForm {
    /// A JSON object whose field of this name holds the text.
    JsonField(String),
    /// A form (`application/x-www-form-urlencoded`) whose field of this
    /// name holds the text.
    FormField(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerHeader {
    pub name: String,
    pub value: String,
}

/// The documented request: its query string (without `?`), headers
/// besides the vendor's usual ones, and JSON body (POST).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandshakeExample {
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub headers: Vec<AnswerHeader>,
    pub body: Option<Value>,
}

fn ok() -> u16 {
    200
}

/// A piece of an answer template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerPiece {
    Text(String),
    Body(String),
    Query(String),
    Header(String),
    HmacSha256Hex(String),
}

/// Parses an answer template; `field` names it in errors.
pub fn answer_pieces(template: &str, field: &str) -> Result<Vec<AnswerPiece>, ManifestError> {
    let bad = |m: String| ManifestError(format!("`{field}`: {m}"));
    let mut out = Vec::new();
    let mut rest = template;
    // A placeholder is `{name:…}`; any other `{` is text (JSON answers).
    while let Some(open) = find_placeholder(rest) {
        if open > 0 {
            out.push(AnswerPiece::Text(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| bad(format!("unclosed `{{` in {template:?}")))?;
        let inner = &rest[open + 1..open + close];
        let (kind, arg) = inner.split_once(':').unwrap_or((inner, ""));
        let pointer = || {
            if arg.starts_with('/') {
                Ok(arg.to_string())
            } else {
                Err(bad(format!(
                    "`{{{inner}}}` needs a JSON pointer starting with `/`"
                )))
            }
        };
        out.push(match kind {
            "body" => AnswerPiece::Body(pointer()?),
            "hmac_sha256_hex" => AnswerPiece::HmacSha256Hex(pointer()?),
            "query" if !arg.is_empty() => AnswerPiece::Query(arg.to_string()),
            "header" if !arg.is_empty() => AnswerPiece::Header(arg.to_string()),
            _ => {
                return Err(bad(format!(
                    "unknown placeholder `{{{inner}}}`; expected {{body:/pointer}}, {{query:name}}, {{header:name}} or {{hmac_sha256_hex:/pointer}}"
                )));
            }
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(AnswerPiece::Text(rest.to_string()));
    }
    Ok(out)
}

/// Where the next `{name:` starts (lower-case letters, digits, `_`, then `:`).
fn find_placeholder(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find('{').map(|i| i + from) {
        let name_len = text[i + 1..]
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if name_len > 0 && text.as_bytes().get(i + 1 + name_len) == Some(&b':') {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// Makes the error for a field of the handshake being checked.
type Bad<'a> = dyn Fn(&str, &str) -> ManifestError + 'a;

impl Handshake {
    /// Checks what serde cannot; `index` is its place in `handshakes`.
    pub(crate) fn check(&self, index: usize) -> Result<(), ManifestError> {
        let at = format!("handshakes[{index}]");
        let bad = |field: &str, m: &str| ManifestError(format!("`{at}.{field}`: {m}"));
        self.check_name(&bad)?;
        self.check_conditions(&bad)?;
        self.check_visit_and_keep(&bad)?;
        self.check_answer(&at, &bad)
    }

    fn check_name(&self, bad: &Bad) -> Result<(), ManifestError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
        if self.name.is_empty() || !self.name.chars().all(allowed) {
            return Err(bad("name", "letters, digits, `_`, `.` and `-` only"));
        }
        if let Some(endpoint) = &self.other_endpoint {
            if endpoint.trim().is_empty() {
                return Err(bad("other_endpoint", "names the other endpoint; empty"));
            }
            // `check` and `simulate` skip it, so the secret would never reach the receiver.
            if self.keep.is_some() {
                return Err(bad(
                    "other_endpoint",
                    "a handshake that hands over the secret (`keep`) must reach this endpoint",
                ));
            }
        }
        Ok(())
    }

    /// The `when` conditions, and that a GET names no body.
    fn check_conditions(&self, bad: &Bad) -> Result<(), ManifestError> {
        // A HEAD is never a delivery: every HEAD is the check.
        if self.when.is_empty() && self.method != HandshakeMethod::Head {
            return Err(bad(
                "when",
                "needs at least one condition, or every request would be one",
            ));
        }
        let get = self.method == HandshakeMethod::Get;
        for (j, c) in self.when.iter().enumerate() {
            let named = [&c.pointer, &c.header, &c.query]
                .iter()
                .filter(|x| x.is_some())
                .count();
            if named != 1 {
                return Err(bad(
                    &format!("when[{j}]"),
                    "names exactly one of `pointer`, `header`, `query`",
                ));
            }
            if c.pointer.as_ref().is_some_and(|p| !p.starts_with('/')) {
                return Err(bad(
                    &format!("when[{j}].pointer"),
                    "a JSON pointer starts with `/`",
                ));
            }
            if get && c.pointer.is_some() {
                return Err(bad(&format!("when[{j}].pointer"), "a GET has no body"));
            }
        }
        if get && self.example.body.is_some() {
            return Err(bad("example.body", "a GET has no body"));
        }
        Ok(())
    }

    fn check_visit_and_keep(&self, bad: &Bad) -> Result<(), ManifestError> {
        if let Some(visit) = &self.visit {
            if !visit.pointer.starts_with('/') || visit.hosts.is_empty() {
                return Err(bad(
                    "visit",
                    "names a body `pointer` (starting with `/`) and the `hosts` it may name",
                ));
            }
            if !self.authenticated {
                // Else anyone could make the receiver call any allowed URL.
                return Err(bad(
                    "authenticated",
                    "a handshake that visits a URL must be `authenticated`",
                ));
            }
        }
        if let Some(keep) = &self.keep {
            let (field, carried) = match (&keep.header, &keep.pointer) {
                (Some(h), None) => (
                    "keep.header",
                    self.when.iter().any(|c| c.header.as_ref() == Some(h)),
                ),
                (None, Some(p)) => (
                    "keep.pointer",
                    self.when.iter().any(|c| c.pointer.as_ref() == Some(p)),
                ),
                _ => return Err(bad("keep", "names exactly one of `header`, `pointer`")),
            };
            if !carried {
                // Else a request without it could be taken for one.
                return Err(bad(
                    field,
                    "must also be a `when` condition (the handshake is the request that carries it)",
                ));
            }
            if self.authenticated {
                return Err(bad(
                    "authenticated",
                    "a handshake that gives the secret cannot be signed with it",
                ));
            }
        }
        Ok(())
    }

    /// The answer's statuses and its `{…}` pieces.
    fn check_answer(&self, at: &str, bad: &Bad) -> Result<(), ManifestError> {
        let statuses = std::iter::once(&self.answer.status).chain(&self.answer.also_statuses);
        if statuses.into_iter().any(|s| !(100..600).contains(s)) {
            return Err(bad("answer.status", "an HTTP status, 100 to 599"));
        }
        let mut pieces = answer_pieces(&self.answer.body, &format!("{at}.answer.body"))?;
        for (j, h) in self.answer.headers.iter().enumerate() {
            pieces.extend(answer_pieces(
                &h.value,
                &format!("{at}.answer.headers[{j}].value"),
            )?);
        }
        let signs = pieces
            .iter()
            .any(|p| matches!(p, AnswerPiece::HmacSha256Hex(_)));
        if signs && !self.authenticated {
            // The answer would be an HMAC, keyed with the vendor secret, of
            // text anyone can send: a signing oracle for forged deliveries.
            return Err(bad(
                "authenticated",
                "an answer with `{hmac_sha256_hex:…}` must be `authenticated`: answering an unsigned request would sign what a stranger chose with the vendor secret",
            ));
        }
        Ok(())
    }

    /// Whether the answer is JSON (values are escaped into it).
    pub fn answers_json(&self) -> bool {
        let essence = self
            .answer
            .content_type
            .split(';')
            .next()
            .unwrap_or_default();
        essence.trim().eq_ignore_ascii_case("application/json")
    }
}
