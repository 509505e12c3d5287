//! Form-encoded deliveries (`application/x-www-form-urlencoded`) as JSON:
//! each field a string (a repeated field an array of them, in order), and
//! with the manifest's `json_field` (Slack's `payload`) the event is that
//! field's JSON, with the other fields added. Signatures are checked over
//! the bytes as received; everything after works on the JSON.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::manifest::body::BodyFormat;

/// The JSON object a form body stands for.
pub fn form_to_json(body: &[u8], format: &BodyFormat) -> Value {
    let mut fields = Map::new();
    for (k, v) in form_urlencoded::parse(body) {
        let v = Value::String(v.into_owned());
        match fields.get_mut(k.as_ref()) {
            Some(Value::Array(a)) => a.push(v),
            Some(first) => *first = Value::Array(vec![first.take(), v]),
            None => {
                fields.insert(k.into_owned(), v);
            }
        }
    }
    let embedded = format
        .json_field
        .as_deref()
        .and_then(|f| fields.get(f)?.as_str())
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    match (embedded, format.json_field.as_deref()) {
        (Some(Value::Object(mut event)), Some(field)) => {
            fields.remove(field);
            // The other fields beside it, never over what the JSON says.
            for (k, v) in fields {
                event.entry(k).or_insert(v);
            }
            Value::Object(event)
        }
        _ => Value::Object(fields),
    }
}

/// The first field (its name, decoded lossily) whose name or value is not
/// UTF-8 once percent-decoded: read as text it would be stored with U+FFFD
/// in place of the bytes, and two such deliveries could not be told apart.
pub fn non_utf8_field(body: &[u8]) -> Option<String> {
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let name = decoded(halves.next().unwrap_or_default());
        let value = decoded(halves.next().unwrap_or_default());
        if std::str::from_utf8(&name).is_err() || std::str::from_utf8(&value).is_err() {
            return Some(String::from_utf8_lossy(&name).into_owned());
        }
    }
    None
}

/// A form component's bytes: `+` a space, `%XX` that byte.
fn decoded(part: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(part.len());
    let mut i = 0;
    while i < part.len() {
        let escaped = (part[i] == b'%')
            .then(|| Some(hex(*part.get(i + 1)?)? * 16 + hex(*part.get(i + 2)?)?))
            .flatten();
        match (part[i], escaped) {
            (_, Some(byte)) => (out.push(byte as u8), i += 3),
            (b'+', None) => (out.push(b' '), i += 1),
            (b, None) => (out.push(b), i += 1),
        };
    }
    out
}

/// The form body a JSON event is sent as: top-level fields as form fields
/// (strings as they are, other values as JSON text; arrays as repeated
/// fields); with `json_field`, the whole event in that one field.
pub fn json_to_form(event: &Value, format: &BodyFormat) -> Vec<u8> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    if let Some(field) = &format.json_field {
        out.append_pair(field, &event.to_string());
        return out.finish().into_bytes();
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Value::Object(o) = event {
        for (k, v) in o {
            match v {
                Value::Array(items) => {
                    for item in items {
                        out.append_pair(k, &text(item));
                    }
                }
                other => {
                    out.append_pair(k, &text(other));
                }
            }
        }
    }
    out.finish().into_bytes()
}

/// The bytes a vendor sends for a JSON event (a form for form vendors;
/// a body that is not JSON is sent as it is).
pub fn wire_body<'a>(format: &BodyFormat, json: &'a [u8]) -> Cow<'a, [u8]> {
    if !format.is_form() {
        return Cow::Borrowed(json);
    }
    match serde_json::from_slice::<Value>(json) {
        Ok(v) => Cow::Owned(json_to_form(&v, format)),
        Err(_) => Cow::Borrowed(json),
    }
}

/// The JSON bytes of a received body (a form for form vendors).
pub fn json_body<'a>(format: &BodyFormat, wire: &'a [u8]) -> Cow<'a, [u8]> {
    if !format.is_form() {
        return Cow::Borrowed(wire);
    }
    let v = form_to_json(wire, format);
    Cow::Owned(serde_json::to_vec(&v).expect("Value serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::body::BodyEncoding;

    fn form(json_field: Option<&str>) -> BodyFormat {
        BodyFormat {
            encoding: BodyEncoding::Form,
            json_field: json_field.map(str::to_string),
            content_types: Vec::new(),
        }
    }

    /// helper-71: `Digits=%ff` and `Digits=%fe` were both stored as U+FFFD,
    /// and the second answered as a duplicate of the first.
    #[test]
    fn fields_that_are_not_utf8_are_named() {
        assert_eq!(
            non_utf8_field(b"CallSid=CA1&Digits=%ff"),
            Some("Digits".into())
        );
        assert_eq!(non_utf8_field(b"a=1&%fe=2"), Some("\u{fffd}".into()));
        assert_eq!(non_utf8_field(b"Body=%C3%BCmlaut+%26&x=%zz&y="), None);
        assert_eq!(non_utf8_field(b"raw=\xff"), Some("raw".into()));
    }

    #[test]
    fn fields_repeat_as_arrays_and_round_trip() {
        let f = form(None);
        let v = form_to_json(b"To=%2B1800&Body=a+b%26c&MediaUrl=x&MediaUrl=y", &f);
        assert_eq!(
            v,
            serde_json::json!({"To": "+1800", "Body": "a b&c", "MediaUrl": ["x", "y"]})
        );
        assert_eq!(form_to_json(&json_to_form(&v, &f), &f), v);
    }

    #[test]
    fn a_json_field_is_the_event_and_the_other_fields_join_it() {
        let f = form(Some("payload"));
        let v = form_to_json(
            b"payload=%7B%22type%22%3A%22block_actions%22%7D&extra=1",
            &f,
        );
        assert_eq!(
            v,
            serde_json::json!({"type": "block_actions", "extra": "1"})
        );
        // A payload that is not JSON stays a field: nothing is lost.
        let v = form_to_json(b"payload=%7Bnot", &f);
        assert_eq!(v, serde_json::json!({"payload": "{not"}));
    }
}
