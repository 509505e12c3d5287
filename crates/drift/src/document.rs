//! A JSON document that keeps its keys in the order the file has them, so a
//! patch applied to a schema changes only what the patch changes: the
//! workspace's `serde_json::Value` sorts keys, which turned ten small drift
//! changes into a thousand-line diff.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Number, Value};

use crate::PatchError;

/// JSON with objects as ordered lists of members.
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// A value built elsewhere (its keys sorted, as `Value` keeps them).
    fn from_value(v: Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => Json::Number(n),
            Value::String(s) => Json::String(s),
            Value::Array(a) => Json::Array(a.into_iter().map(Json::from_value).collect()),
            Value::Object(o) => Json::Object(
                o.into_iter()
                    .map(|(k, v)| (k, Json::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// The member or element a pointer names (RFC 6901).
    fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Json> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut at = self;
        for raw in pointer.strip_prefix('/')?.split('/') {
            let token = crate::manifest::unescape_token(raw);
            at = match at {
                Json::Object(members) => members
                    .iter_mut()
                    .find(|(k, _)| *k == token)
                    .map(|(_, v)| v)?,
                Json::Array(items) => items.get_mut(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at)
    }
}

/// One RFC 6902 operation, with why it is proposed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PatchOp {
    pub op: &'static str,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Not part of RFC 6902 (which ignores other members): the evidence,
    /// and the deliveries that showed it (their `Observed::id`s, in `drift`).
    pub why: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<i64>,
}

/// Applies an RFC 6902 patch (`add`, `replace`, `remove`) to the JSON text
/// of a schema file and gives the new text: members keep their order (a
/// new key goes last, a replaced one stays where it was), and the text is
/// pretty-printed as the schema files are (two spaces), ending as the
/// original ended.
pub fn apply(text: &str, ops: &[PatchOp]) -> Result<String, PatchError> {
    let mut doc: Json =
        serde_json::from_str(text).map_err(|e| PatchError::NotJson(e.to_string()))?;
    for op in ops {
        apply_op(&mut doc, op)?;
    }
    let mut out = serde_json::to_string_pretty(&doc).expect("JSON serializes");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn apply_op(doc: &mut Json, op: &PatchOp) -> Result<(), PatchError> {
    let (parent, last) = op
        .path
        .rsplit_once('/')
        .ok_or_else(|| PatchError::NotAPointer {
            path: op.path.clone(),
        })?;
    let last = crate::manifest::unescape_token(last);
    let target = doc
        .pointer_mut(parent)
        .ok_or_else(|| PatchError::NoParent {
            op: op.op,
            path: op.path.clone(),
            parent: parent.to_string(),
        })?;
    let value = || Json::from_value(op.value.clone().unwrap_or(Value::Null));
    match (op.op, target) {
        ("remove", Json::Object(members)) => members.retain(|(k, _)| *k != last),
        ("add" | "replace", Json::Object(members)) => {
            match members.iter_mut().find(|(k, _)| *k == last) {
                Some((_, v)) => *v = value(),
                None => members.push((last, value())),
            }
        }
        ("add", Json::Array(items)) if last == "-" => items.push(value()),
        (op_name, _) => {
            return Err(PatchError::Unsupported {
                op: op_name,
                path: op.path.clone(),
            });
        }
    }
    Ok(())
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(t) => s.serialize_str(t),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
        Number::from_f64(n)
            .map(Json::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }
    fn visit_str<E>(self, t: &str) -> Result<Json, E> {
        Ok(Json::String(t.to_string()))
    }
    fn visit_string<E>(self, t: String) -> Result<Json, E> {
        Ok(Json::String(t))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            // A repeated key: the last wins, as serde_json reads it.
            match members.iter_mut().find(|(have, _)| *have == k) {
                Some((_, old)) => *old = v,
                None => members.push((k, v)),
            }
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(op: &'static str, path: &str, value: Option<Value>) -> PatchOp {
        PatchOp {
            op,
            path: path.into(),
            value,
            why: String::new(),
            deliveries: Vec::new(),
        }
    }

    #[test]
    fn patches_apply_as_rfc_6902_keeping_key_order() {
        let text = "{\n  \"title\": \"t\",\n  \"required\": [\n    \"a\",\n    \"b\"\n  ],\n  \"properties\": {\n    \"z\": {\n      \"type\": \"string\"\n    },\n    \"a\": {\n      \"type\": \"string\"\n    }\n  },\n  \"enum\": [\n    \"x\"\n  ]\n}\n";
        let out = apply(
            text,
            &[
                op("add", "/properties/c", Some(json!({"type": "integer"}))),
                op(
                    "replace",
                    "/properties/z/type",
                    Some(json!(["string", "null"])),
                ),
                op("replace", "/required", Some(json!(["a"]))),
                op("add", "/enum/-", Some(json!("y"))),
                op("remove", "/properties/a/type", None),
            ],
        )
        .unwrap();
        let want = "{\n  \"title\": \"t\",\n  \"required\": [\n    \"a\"\n  ],\n  \"properties\": {\n    \"z\": {\n      \"type\": [\n        \"string\",\n        \"null\"\n      ]\n    },\n    \"a\": {},\n    \"c\": {\n      \"type\": \"integer\"\n    }\n  },\n  \"enum\": [\n    \"x\",\n    \"y\"\n  ]\n}\n";
        assert_eq!(out, want);
        // Nothing to apply: the text comes back as it was.
        assert_eq!(apply(text, &[]).unwrap(), text);
        assert!(
            apply(text, &[op("add", "/missing/x", Some(json!(1)))])
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
        assert!(matches!(apply("{", &[]), Err(PatchError::NotJson(_))));
    }
}
