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
