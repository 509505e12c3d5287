//! Answering a vendor's handshakes (see [`crate::manifest::handshake`]):
//! which request is one, and the answer the vendor requires. The receiver
//! answers them; the harness and the simulator render the same answer to
//! judge a receiver's.

use http::{HeaderMap, Method};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::Manifest;
use crate::auth::Secret;
use crate::manifest::HashAlgorithm;
use crate::manifest::handshake::{
    AnswerPiece, Condition, Handshake, HandshakeMethod, answer_pieces,
};

/// The parts of a request a handshake can look at.
#[derive(Clone, Copy)]
pub struct HandshakeRequest<'a> {
    pub method: &'a Method,
    /// The query string, without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The answer to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Other statuses the vendor accepts too (for judging an answer).
    pub also_statuses: Vec<u16>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Other forms of `body` the vendor accepts (for judging an answer).
    pub also: Vec<crate::manifest::AnswerForm>,
}

/// Why a handshake cannot be answered. No secret or token in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error(
        "handshake `{name}`: the query parameter `{query}` is not the configured handshake token"
    )]
    WrongToken { name: String, query: String },
    #[error(
        "handshake `{name}`: the request has no query parameter `{query}`: expected the configured handshake token there"
    )]
    MissingToken { name: String, query: String },
    #[error("handshake `{name}`: no handshake token is configured for the `{query}` check")]
    NoToken { name: String, query: String },
    #[error("handshake `{name}`: the request has no {what}")]
    Missing { name: String, what: String },
    /// The value to echo is not a string (the vendor always sends one): an
    /// answer made of its JSON text would echo what no vendor sent.
    #[error("handshake `{name}`: the value at `{pointer}` is {found}, expected a string")]
    NotText {
        name: String,
        pointer: String,
        found: String,
    },
    #[error("handshake `{name}`: `{{hmac_sha256_hex:…}}` needs the vendor secret")]
    NoSecret { name: String },
}

impl<'a> HandshakeRequest<'a> {
    fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// The handshake `req` is, if any. `json` is the body parsed (once, by the
/// caller) when the vendor has POST handshakes.
pub fn find<'m>(
    manifest: &'m Manifest,
    req: &HandshakeRequest<'_>,
    json: Option<&Value>,
) -> Option<&'m Handshake> {
    let method = match *req.method {
        Method::GET => HandshakeMethod::Get,
        Method::POST => HandshakeMethod::Post,
        Method::HEAD => HandshakeMethod::Head,
        _ => return None,
    };
    manifest
        .handshakes
        .iter()
        .filter(|h| h.method == method)
        .find(|h| h.when.iter().all(|c| holds(c, req, json)))
}

fn holds(c: &Condition, req: &HandshakeRequest<'_>, json: Option<&Value>) -> bool {
    let found: Option<Value> = if let Some(p) = &c.pointer {
        json.and_then(|j| j.pointer(p)).cloned()
    } else if let Some(h) = &c.header {
        req.header(h).map(|v| Value::String(v.to_string()))
    } else if let Some(q) = &c.query {
        req.query_param(q).map(Value::String)
    } else {
        None
    };
    match (&found, &c.equals) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(v), Some(want)) => v == want,
    }
}

/// The answer to `h` for `req`: `secret` keys `{hmac_sha256_hex:…}`,
/// `token` is what `token_query` must equal.
pub fn answer(
    handshake: &Handshake,
    req: &HandshakeRequest<'_>,
    json: Option<&Value>,
    secret: Option<&Secret>,
    token: Option<&Secret>,
) -> Result<Answer, HandshakeError> {
    if let Some(query) = &handshake.token_query {
        let Some(token) = token else {
            return Err(HandshakeError::NoToken {
                name: handshake.name.clone(),
                query: query.clone(),
            });
        };
        let Some(given) = req.query_param(query) else {
            return Err(HandshakeError::MissingToken {
                name: handshake.name.clone(),
                query: query.clone(),
            });
        };
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return Err(HandshakeError::WrongToken {
                name: handshake.name.clone(),
                query: query.clone(),
            });
        }
    }
    let fill = |template: &str, json_escape: bool| {
        render(handshake, template, req, json, secret, json_escape)
    };
    let mut headers = Vec::new();
    for a in &handshake.answer.headers {
        headers.push((a.name.clone(), fill(&a.value, false)?));
    }
    Ok(Answer {
        status: handshake.answer.status,
        also_statuses: handshake.answer.also_statuses.clone(),
        content_type: handshake.answer.content_type.clone(),
        headers,
        body: fill(&handshake.answer.body, handshake.answers_json())?.into_bytes(),
        also: handshake.answer.also.clone(),
    })
}

fn render(
    handshake: &Handshake,
    template: &str,
    req: &HandshakeRequest<'_>,
    json: Option<&Value>,
    secret: Option<&Secret>,
    json_escape: bool,
) -> Result<String, HandshakeError> {
    let missing = |what: String| HandshakeError::Missing {
        name: handshake.name.clone(),
        what,
    };
    let body_string = |p: &str| -> Result<String, HandshakeError> {
        match json.and_then(|j| j.pointer(p)) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(HandshakeError::NotText {
                name: handshake.name.clone(),
                pointer: p.to_string(),
                found: crate::parse::describe(other),
            }),
            None => Err(missing(format!("value at `{p}`"))),
        }
    };
    // Checked when the manifest loaded.
    let pieces = answer_pieces(template, "answer").unwrap_or_default();
    let mut out = String::new();
    for piece in pieces {
        let value = match piece {
            AnswerPiece::Text(t) => {
                out.push_str(&t);
                continue;
            }
            AnswerPiece::Body(p) => body_string(&p)?,
            AnswerPiece::Query(q) => req
                .query_param(&q)
                .ok_or_else(|| missing(format!("query parameter `{q}`")))?,
            AnswerPiece::Header(name) => req
                .header(&name)
                .ok_or_else(|| missing(format!("header `{name}`")))?
                .to_string(),
            AnswerPiece::HmacSha256Hex(p) => {
                let key = secret.ok_or_else(|| HandshakeError::NoSecret {
                    name: handshake.name.clone(),
                })?;
                let mac = crate::auth::hmac(
                    HashAlgorithm::Sha256,
                    key.expose().as_bytes(),
                    &[body_string(&p)?.as_bytes()],
                );
                crate::util::hex(&mac)
            }
        };
        if json_escape {
            let quoted = Value::String(value).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        } else {
            out.push_str(&value);
        }
    }
    Ok(out)
}

/// The example request of `h` as the vendor sends it: query, extra
/// headers and body bytes.
pub fn example_request(h: &Handshake) -> (String, Vec<(String, String)>, Vec<u8>) {
    let headers = h
        .example
        .headers
        .iter()
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect();
    let body = h
        .example
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).expect("Value serializes"))
        .unwrap_or_default();
    (h.example.query.clone(), headers, body)
}
