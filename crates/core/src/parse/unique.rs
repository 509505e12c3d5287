//! A JSON value read so that an object with a key twice is refused, as the
//! generated models refuse a field twice: serde_json's `Value` keeps the
//! last copy, another parser may keep the first, and two readers of one
//! delivery must not see two different values.

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{ParseError, syntax};

/// `body` as a JSON value; a key given twice in one object is a
/// [`ParseError::Payload`] naming where. A second read with path tracking
/// runs only on failure.
pub fn decode_value(body: &[u8], event: &str) -> Result<Value, ParseError> {
    match serde_json::from_slice::<Unique>(body) {
        Ok(Unique(v)) => Ok(v),
        Err(first) if first.is_syntax() || first.is_eof() => Err(syntax(first)),
        Err(first) => Err(super::located::<Unique>(body, event, first)),
    }
}

struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(n.into())
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(n.into())
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Unique(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                // The sender's text in a reason that is logged and shown:
                // cut short and with control characters escaped.
                let shown = crate::util::Shown(crate::util::cap(&key));
                return Err(de::Error::custom(format_args!("duplicate field `{shown}`")));
            }
            let Unique(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_is_refused_where_it_is() {
        let err = decode_value(br#"{"data":{"a":1,"b":[{"id":"x","id":"y"}]}}"#, "e").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("`e` payload: at `data.b[0]`: duplicate field `id`"),
            "{text}"
        );
        let ok = decode_value(
            br#"{"a":{"id":1},"b":{"id":2},"c":[1,2.5,null,true,"s"]}"#,
            "e",
        );
        assert_eq!(
            ok.unwrap(),
            serde_json::json!({"a":{"id":1},"b":{"id":2},"c":[1,2.5,null,true,"s"]})
        );
        assert!(matches!(
            decode_value(b"{\"a\":", "e"),
            Err(ParseError::Syntax { .. })
        ));
    }
}
