//! Parsing deliveries: locate the event type and id (without building a
//! document tree), then deserialize exactly the type for that event.

use std::fmt;

use http::HeaderMap;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::Manifest;
use hookforge_manifest::Locator;

mod delivery;
mod fields;
mod maybe;
pub mod rfc8259;
mod timestamp;
mod unique;

pub use fields::{
    EventFields, Fields, TopLevelKeys, deserialize_fields, extra_entry, parse_event, required,
    set_maybe_model, set_model, set_once,
};

pub use delivery::{Delivery, UnknownEvent};
pub use maybe::Maybe;
pub use timestamp::{FlexTimestamp, Timestamp, TimestampError};
pub use unique::decode_value;

/// Why a delivery could not be parsed. Every message says where and what was
/// expected; none of them contains the body itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("empty body: expected a JSON object")]
    Empty,
    #[error("body is not valid UTF-8 (first bad byte at offset {offset}): expected a JSON object")]
    NotUtf8 { offset: usize },
    #[error("body is a JSON {found}, expected a JSON object")]
    NotAnObject { found: &'static str },
    #[error("body is not valid JSON: {message}")]
    Syntax { message: String },
    #[error("no event type: expected a string at {location}")]
    MissingEventType { location: String },
    #[error("event type at {location} must be a string, found {found}")]
    EventTypeNotString { location: String, found: String },
    #[error("event id at {location} must be a string or integer, found {found}")]
    EventIdNotScalar { location: String, found: String },
    #[error(
        "header `{header}` says the event is {header_value:?} but the body says {body_value:?}"
    )]
    EventTypeMismatch {
        header: String,
        header_value: String,
        body_value: String,
    },
    #[error("header `{header}` is not valid UTF-8 text")]
    HeaderNotText { header: String },
    #[error("form field `{field}` is not UTF-8 text once percent-decoded")]
    FormNotUtf8 { field: String },
    #[error(
        "header `{header}` was sent {count} times with different values: which one the vendor meant cannot be told"
    )]
    HeaderRepeated { header: String, count: usize },
    #[error("`{event}` payload: at `{path}`: {message}")]
    Payload {
        event: String,
        path: String,
        message: String,
    },
}

impl ParseError {
    /// True when the body is JSON but does not fit our model of the
    /// vendor's deliveries (the envelope or the event's typed payload): what
    /// the vendor sends is theirs to define, so such a delivery is kept, not
    /// refused. False when the body is not JSON at all.
    pub fn is_misfit(&self) -> bool {
        !matches!(
            self,
            ParseError::Empty
                | ParseError::NotUtf8 { .. }
                | ParseError::Syntax { .. }
                | ParseError::FormNotUtf8 { .. }
        )
    }
}

/// The event type and id of a delivery, located as the manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub event_type: String,
    pub event_id: Option<String>,
}

impl Envelope {
    /// Checks the body is a JSON object and reads the event type (required)
    /// and event id (optional) from the body and/or headers. Generated code
    /// uses a cached [`EnvelopeReader`] instead.
    pub fn read(
        body: &[u8],
        headers: &HeaderMap,
        manifest: &Manifest,
    ) -> Result<Envelope, ParseError> {
        EnvelopeReader::new(manifest).read(body, headers)
    }
}

/// Reads envelopes for one vendor; built once from its manifest.
#[derive(Debug, Clone)]
pub struct EnvelopeReader {
    event_type: Locator,
    event_id: Option<Locator>,
    /// Body pointers to look for: the event type's first (if any), then the id's.
    paths: Vec<Vec<String>>,
    type_in_body: bool,
    id_in_body: bool,
    type_header: Option<http::HeaderName>,
    id_header: Option<http::HeaderName>,
    /// `"<type key>"`, searched for by the one-pass read's guess; built once,
    /// as building a vector searcher costs more than most searches.
    type_key_finder: Option<memchr::memmem::Finder<'static>>,
}

impl EnvelopeReader {
    pub fn new(manifest: &Manifest) -> EnvelopeReader {
        let type_ptr = manifest.event_type.pointer_tokens();
        let id_ptr = manifest.event_id.as_ref().and_then(|l| l.pointer_tokens());
        EnvelopeReader {
            event_type: manifest.event_type.clone(),
            event_id: manifest.event_id.clone(),
            type_header: header_name(Some(&manifest.event_type)),
            id_header: header_name(manifest.event_id.as_ref()),
            type_in_body: type_ptr.is_some(),
            id_in_body: id_ptr.is_some(),
            // Without a searcher (a type not at one top-level key) the read
            // finds the type by the skim.
            type_key_finder: match type_ptr.as_deref() {
                Some([key]) => serde_json::to_vec(key)
                    .ok()
                    .map(|quoted| memchr::memmem::Finder::new(&quoted).into_owned()),
                _ => None,
            },
            paths: type_ptr.into_iter().chain(id_ptr).collect(),
        }
    }

    /// The searcher for the quoted top-level type key (when the type is at
    /// one).
    pub(crate) fn type_key_finder(&self) -> Option<&memchr::memmem::Finder<'static>> {
        self.type_key_finder.as_ref()
    }

    /// Where the event type and id sit when both are top-level keys of the
    /// body (or headers): what [`parse_event`] can read in one pass.
    pub fn top_level_keys(&self) -> Option<TopLevelKeys<'_>> {
        // A type joined from a header and the body, or a fixed one, takes
        // the careful path.
        if self.event_type.join.is_some() || self.event_type.value.is_some() {
            return None;
        }
        // So does an id made of several body values.
        if self.event_id.as_ref().is_some_and(|l| !l.with.is_empty()) {
            return None;
        }
        fn single(p: Option<&Vec<String>>) -> Option<Option<&str>> {
            match p.map(Vec::as_slice) {
                None => Some(None),
                Some([one]) => Some(Some(one.as_str())),
                Some(_) => None,
            }
        }
        let mut paths = self.paths.iter();
        let event_type = single(if self.type_in_body {
            paths.next()
        } else {
            None
        })?;
        let event_id = single(if self.id_in_body { paths.next() } else { None })?;
        Some(TopLevelKeys {
            event_type,
            event_id,
        })
    }

    /// The event type from its header, if the manifest names one and it was sent.
    pub fn header_type(&self, headers: &HeaderMap) -> Result<Option<String>, ParseError> {
        header_text(headers, self.type_header.as_ref())
    }

    /// The event id from the value found in the body (if any), else from its
    /// header. A blank one counts as none: as a deduplication key it would
    /// make every later delivery with a blank id a duplicate of the first.
    pub fn event_id(
        &self,
        body_id: Option<Value>,
        headers: &HeaderMap,
    ) -> Result<Option<String>, ParseError> {
        let body_id = body_id.filter(|v| !v.as_str().is_some_and(|s| s.trim().is_empty()));
        Ok(match (body_id, &self.event_id) {
            (Some(Value::String(s)), _) => Some(s),
            // An id beyond 64 bits (or with a fraction) lost digits when it
            // was parsed, and two events would share what is left: the
            // delivery is known by its id header, if any, else by its body.
            (Some(Value::Number(n)), Some(_)) if n.is_f64() => {
                header_text(headers, self.id_header.as_ref())?
            }
            (Some(Value::Number(n)), _) => Some(n.to_string()),
            // `header_text` reads a blank header as none.
            (Some(Value::Null) | None, Some(_)) => header_text(headers, self.id_header.as_ref())?,
            (Some(other), Some(loc)) => {
                return Err(ParseError::EventIdNotScalar {
                    location: loc.describe(),
                    found: describe(&other),
                });
            }
            (_, None) => None,
        })
    }

    /// The event id alone, for an authentic delivery whose envelope cannot
    /// be read (GitHub's without `X-GitHub-Event`, a body without its
    /// type): the vendor's retries still share it, so it still dedupes.
    pub fn read_id(&self, body: &[u8], headers: &HeaderMap) -> Option<String> {
        let pointer = self.event_id.as_ref()?.pointer.as_deref();
        let body_id = pointer.and_then(|p| {
            let doc: Value = serde_json::from_slice(body).ok()?;
            doc.pointer(p).cloned()
        });
        let id = self.event_id(body_id, headers).ok().flatten();
        self.with_parts(id, body)
    }

    /// The id with the body values `event_id.with` adds (Adyen's eventCode
    /// and success after its pspReference), joined with `:`; a value that is
    /// missing or null counts as empty, so the id stays readable.
    fn with_parts(&self, id: Option<String>, body: &[u8]) -> Option<String> {
        let with = self
            .event_id
            .as_ref()
            .map_or(&[][..], |l| l.with.as_slice());
        let id = id?;
        if with.is_empty() {
            return Some(id);
        }
        let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let parts = with.iter().map(|p| match doc.pointer(p) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        });
        Some(
            std::iter::once(id)
                .chain(parts)
                .collect::<Vec<_>>()
                .join(":"),
        )
    }

    /// See [`Envelope::read`].
    pub fn read(&self, body: &[u8], headers: &HeaderMap) -> Result<Envelope, ParseError> {
        if let Some(fixed) = &self.event_type.value {
            return self.read_fixed(fixed, body, headers);
        }
        check_object(body)?;
        let mut found: [Option<Value>; 2] = [None, None];
        if !self.paths.is_empty() {
            let wanted: [&[String]; 2] = [
                self.paths.first().map_or(&[][..], Vec::as_slice),
                self.paths.get(1).map_or(&[][..], Vec::as_slice),
            ];
            let mut de = serde_json::Deserializer::from_slice(body);
            Seek {
                paths: &wanted[..self.paths.len()],
                depth: 0,
                found: &mut found,
            }
            .deserialize(&mut de)
            .and_then(|()| de.end())
            .map_err(syntax)?;
        }
        let [first, second] = found;
        let (body_type, body_id) = match (self.type_in_body, self.id_in_body) {
            (true, true) => (first, second),
            (true, false) => (first, None),
            (false, true) => (None, first),
            (false, false) => (None, None),
        };

        let loc = &self.event_type;
        let body_type = match body_type {
            None => None,
            // A blank type names no event: read as missing (quarantined when
            // authentic), not as an unknown event called "".
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                return Err(ParseError::EventTypeNotString {
                    location: format!("body `{}`", loc.pointer.as_deref().unwrap_or_default()),
                    found: describe(&other),
                });
            }
        };
        let header_type = header_text(headers, self.type_header.as_ref())?;
        let event_type = match (&loc.join, body_type, header_type) {
            // GitHub: `X-GitHub-Event` + `.` + `/action` when there is one.
            (Some(join), Some(b), Some(h)) => format!("{h}{join}{b}"),
            (Some(_), None, Some(h)) => h,
            (Some(_), _, None) => {
                return Err(ParseError::MissingEventType {
                    location: loc.describe(),
                });
            }
            (None, b, h) => match (b, h) {
                (Some(b), Some(h)) if b != h => {
                    return Err(ParseError::EventTypeMismatch {
                        header: loc.header.clone().unwrap_or_default(),
                        header_value: h,
                        body_value: b,
                    });
                }
                (Some(b), _) => b,
                (None, Some(h)) => h,
                (None, None) => {
                    return Err(ParseError::MissingEventType {
                        location: loc.describe(),
                    });
                }
            },
        };

        let event_id = self.with_parts(self.event_id(body_id, headers)?, body);
        Ok(Envelope {
            event_type,
            event_id,
        })
    }
}

fn header_text(
    headers: &HeaderMap,
    name: Option<&http::HeaderName>,
) -> Result<Option<String>, ParseError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let all = headers.get_all(name);
    let first = all.iter().next();
    // Repeats of one value are one value; different ones are not the
    // first's to win (an unsigned header a proxy or attacker added).
    // Compared as read (trimmed), so `push` and `push ` are one value.
    let text = |v: &http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).trim().to_string();
    if let Some(v) = first
        && all.iter().any(|other| text(other) != text(v))
    {
        return Err(ParseError::HeaderRepeated {
            header: name.to_string(),
            count: all.iter().count(),
        });
    }
    match first {
        None => Ok(None),
        Some(v) => {
            // A blank value names nothing, as if the header were not sent.
            // UTF-8, not only the visible ASCII `to_str` takes.
            std::str::from_utf8(v.as_bytes())
                .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))
                .map_err(|_| ParseError::HeaderNotText {
                    header: name.to_string(),
                })
        }
    }
}

/// A manifest's header name, parsed once. Names that are not valid header
/// names cannot match anything a client sends.
fn header_name(loc: Option<&Locator>) -> Option<http::HeaderName> {
    loc.and_then(|l| l.header.as_deref())
        .and_then(|h| http::HeaderName::from_bytes(h.as_bytes()).ok())
}

/// The cheap checks that give the clearest errors: empty, not UTF-8, not an
/// object. UTF-8 is validated once here so later errors can assume text.
impl EnvelopeReader {
    /// A vendor whose every delivery is one event (`event_type.value`): the
    /// body is a JSON object or array (a batch), checked as JSON; the id from
    /// its header or a top-level key.
    fn read_fixed(
        &self,
        fixed: &str,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<Envelope, ParseError> {
        if let Err(e) = check_object(body) {
            match e {
                ParseError::NotAnObject { found: "array" } => {}
                other => return Err(other),
            }
        }
        let doc: Value = serde_json::from_slice(body).map_err(syntax)?;
        let body_id = match self.event_id.as_ref().and_then(|l| l.pointer.as_deref()) {
            Some(p) => doc.pointer(p).cloned(),
            None => None,
        };
        Ok(Envelope {
            event_type: fixed.to_string(),
            event_id: self.with_parts(self.event_id(body_id, headers)?, body),
        })
    }
}

fn check_object(body: &[u8]) -> Result<(), ParseError> {
    let text = std::str::from_utf8(body).map_err(|e| ParseError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let first = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .bytes()
        .next();
    let found = match first {
        None => return Err(ParseError::Empty),
        Some(b'{') => return Ok(()),
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "number",
        Some(_) => {
            return Err(ParseError::Syntax {
                message: "expected `{` at the start of the body".into(),
            });
        }
    };
    if found != "array" {
        // `nope` starts as `null` does: only a body that parses is called
        // a JSON value (it was "a JSON null"). Arrays are checked later.
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(syntax)?;
    }
    Err(ParseError::NotAnObject { found })
}

fn syntax(e: serde_json::Error) -> ParseError {
    ParseError::Syntax {
        message: e.to_string(),
    }
}

pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// One reference token into a value: an object's key, or an array's index.
fn step<'v>(v: &'v Value, token: &str) -> Option<&'v Value> {
    match v {
        Value::Array(a) => a.get(token.parse::<usize>().ok()?),
        _ => v.get(token),
    }
}

/// Where a delivery stands in its entity's order (the manifest's
/// [`ordering`](crate::Manifest::ordering)): the entity, and how new it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlace {
    pub entity: String,
    /// A number, or an RFC 3339 timestamp in microseconds since the epoch;
    /// `None` when the delivery carries none (then only the arrival order).
    pub sequence: Option<i64>,
}

impl OrderPlace {
    /// Reads the manifest's ordering key and sequence from a delivery;
    /// `None` without an ordering, or when the key is absent or not a
    /// string or number (such a delivery is handled as it comes).
    pub fn read(manifest: &Manifest, body: &[u8], headers: &HeaderMap) -> Option<OrderPlace> {
        let o = manifest.ordering.as_ref()?;
        let tokens: Vec<Vec<String>> = [&o.key, &o.sequence]
            .iter()
            .filter_map(|l| l.pointer_tokens())
            .collect();
        let wanted: Vec<&[String]> = tokens.iter().map(Vec::as_slice).collect();
        let mut found = vec![None; wanted.len()];
        if !wanted.is_empty() {
            let mut de = serde_json::Deserializer::from_slice(body);
            Seek {
                paths: &wanted,
                depth: 0,
                found: &mut found,
            }
            .deserialize(&mut de)
            .ok()?;
        }
        let mut from_body = found.into_iter();
        let mut value = |l: &Locator| match (&l.pointer, &l.header) {
            (Some(_), _) => from_body.next().flatten(),
            (None, Some(h)) => headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .map(|v| Value::String(v.to_string())),
            (None, None) => None,
        };
        let entity = match value(&o.key)? {
            Value::String(s) if !s.is_empty() => s,
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let sequence = value(&o.sequence).and_then(|v| sequence_number(&v));
        Some(OrderPlace { entity, sequence })
    }
}

/// A sequence value as a number that orders: integers as they are, RFC 3339
/// timestamps (and integer strings) converted.
fn sequence_number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| {
            chrono::DateTime::parse_from_rfc3339(s.trim())
                .ok()
                .map(|t| t.timestamp_micros())
        }),
        _ => None,
    }
}

/// Walks a JSON document once, keeping only the values at `paths` and
/// skipping everything else with `IgnoredAny` (no allocation for skipped
/// values, the same work as the cheapest possible JSON reader).
struct Seek<'a, 'p> {
    paths: &'a [&'p [String]],
    depth: usize,
    found: &'a mut [Option<Value>],
}

impl<'de> DeserializeSeed<'de> for Seek<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let key = key.as_str();
            let here = |p: &&[String]| p.get(self.depth).is_some_and(|t| t == key);
            if !self.paths.iter().any(here) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let ends_here = self
                .paths
                .iter()
                .any(|p| p.len() == self.depth + 1 && here(p));
            if ends_here {
                // Keep the value; paths that go deeper are read from it.
                let v: Value = map.next_value()?;
                let mut matching = (0..self.paths.len()).filter(|&i| here(&self.paths[i]));
                if let (Some(i), None) = (matching.next(), matching.next()) {
                    // The common case: one path, ending here; keep the value as is.
                    self.found[i] = Some(v);
                    continue;
                }
                for (i, p) in self.paths.iter().enumerate() {
                    if here(p) {
                        let rest = &p[self.depth + 1..];
                        let mut cur = Some(&v);
                        for t in rest {
                            cur = cur.and_then(|c| step(c, t));
                        }
                        self.found[i] = cur.cloned();
                    }
                }
            } else {
                map.next_value_seed(Seek {
                    paths: self.paths,
                    depth: self.depth + 1,
                    found: self.found,
                })?;
            }
        }
        Ok(())
    }

    // An array on the way: its items are indexed by the path's tokens
    // (Adyen's `/notificationItems/0/NotificationRequestItem/eventCode`).
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let key = index.to_string();
            let here = |p: &&[String]| p.get(self.depth).is_some_and(|t| *t == key);
            let wanted = self.paths.iter().any(here);
            let ends_here = self
                .paths
                .iter()
                .any(|p| p.len() == self.depth + 1 && here(p));
            let more = if !wanted {
                seq.next_element::<IgnoredAny>()?.is_some()
            } else if ends_here {
                match seq.next_element::<Value>()? {
                    Some(v) => {
                        for (i, p) in self.paths.iter().enumerate() {
                            if here(p) {
                                let mut cur = Some(&v);
                                for t in &p[self.depth + 1..] {
                                    cur = cur.and_then(|c| step(c, t));
                                }
                                self.found[i] = cur.cloned();
                            }
                        }
                        true
                    }
                    None => false,
                }
            } else {
                seq.next_element_seed(Seek {
                    paths: self.paths,
                    depth: self.depth + 1,
                    found: &mut *self.found,
                })?
                .is_some()
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A map key, borrowed from the input when it has no escapes.
#[doc(hidden)]
pub enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }

    pub fn into_string(self) -> String {
        match self {
            Key::Borrowed(s) => s.to_string(),
            Key::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(s))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(s.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// Deserializes one event's typed payload. On failure the body is read a
/// second time with path tracking, so the error names the field; the fast
/// path pays nothing for that.
pub fn decode<T: DeserializeOwned>(body: &[u8], event: &str) -> Result<T, ParseError> {
    // From a `str`, serde_json skips its UTF-8 check of every string; the
    // check once over the body is cheaper. Errors are worded from the bytes.
    let read = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    };
    read.map_err(|first| located::<T>(body, event, first))
}

/// `first`, the fast read's error, as a [`ParseError`] naming where in
/// the body it is: the body read a second time with path tracking.
pub(crate) fn located<T: DeserializeOwned>(
    body: &[u8],
    event: &str,
    first: serde_json::Error,
) -> ParseError {
    let mut de = serde_json::Deserializer::from_slice(body);
    let err = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => e,
        Ok(_) => return syntax(first),
    };
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return syntax(inner);
    }
    ParseError::Payload {
        event: event.to_string(),
        path: if path == "." {
            "(top level)".into()
        } else {
            path
        },
        message: inner.to_string(),
    }
}

/// Keeps an unknown event's payload as raw JSON.
pub fn decode_unknown(body: &[u8], event_type: &str) -> Result<UnknownEvent, ParseError> {
    let payload = decode_value(body, event_type)?;
    Ok(UnknownEvent {
        event_type: event_type.to_string(),
        payload,
    })
}

/// Deserializes an open enum from any string (used by generated code).
pub fn deserialize_open_enum<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str>,
{
    let k = Key::deserialize(d)?;
    Ok(T::from(k.as_str()))
}
