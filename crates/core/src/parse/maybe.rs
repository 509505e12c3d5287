//! `Maybe<T>`: an optional field that remembers how it was missing: absent,
//! `null`, or an empty string standing in for a value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{
    BorrowedStrDeserializer, MapAccessDeserializer, SeqAccessDeserializer, StrDeserializer,
};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An optional field of a vendor payload.
///
/// `Option<T>` cannot tell a missing key from `"key": null`, so a model built
/// on it re-serializes a different document than it received. `Maybe` keeps
/// the difference: generated structs mark these fields
/// `#[serde(default, skip_serializing_if = "Maybe::is_absent")]`, so absent
/// stays absent, `null` stays `null` and a value stays a value. Vendors also
/// send `""` for "no value" in fields that otherwise hold a number or an
/// object; that is `Blank`, and it serializes back as `""`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Maybe<T> {
    /// The key was not in the payload.
    #[default]
    Absent,
    /// The key was present with the value `null`.
    Null,
    /// The key held `""` where the field's type is not a string.
    Blank,
    /// The key was present with a value.
    Present(T),
}

impl<T> Maybe<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Maybe::Absent)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Maybe::Null)
    }

    pub fn is_blank(&self) -> bool {
        matches!(self, Maybe::Blank)
    }

    pub fn is_present(&self) -> bool {
        matches!(self, Maybe::Present(_))
    }

    /// The value, treating absent, `null` and blank alike.
    pub fn as_option(&self) -> Option<&T> {
        match self {
            Maybe::Present(v) => Some(v),
            _ => None,
        }
    }

    /// The value, treating absent, `null` and blank alike.
    pub fn into_option(self) -> Option<T> {
        match self {
            Maybe::Present(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_ref(&self) -> Maybe<&T> {
        match self {
            Maybe::Absent => Maybe::Absent,
            Maybe::Null => Maybe::Null,
            Maybe::Blank => Maybe::Blank,
            Maybe::Present(v) => Maybe::Present(v),
        }
    }
}

impl<T> From<Option<T>> for Maybe<T> {
    /// `None` becomes `Null`: a value set in code is sent as an explicit key.
    fn from(o: Option<T>) -> Self {
        match o {
            Some(v) => Maybe::Present(v),
            None => Maybe::Null,
        }
    }
}

impl<T> From<T> for Maybe<T> {
    fn from(v: T) -> Self {
        Maybe::Present(v)
    }
}

impl<T: Serialize> Serialize for Maybe<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // Absent is only reached when a struct forgets `skip_serializing_if`.
            Maybe::Absent | Maybe::Null => s.serialize_none(),
            Maybe::Blank => s.serialize_str(""),
            Maybe::Present(v) => v.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Absence is handled by `#[serde(default)]`; here the key was present.
        // The value is read once and handed on to `T` (no buffering), so an
        // empty string can become `Blank` when `T` is not a string.
        d.deserialize_any(MaybeVisitor(PhantomData))
    }
}

struct MaybeVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for MaybeVisitor<T> {
    type Value = Maybe<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value, null or an empty string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Maybe<T>, E> {
        Ok(Maybe::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Maybe<T>, E> {
        Ok(Maybe::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Maybe<T>, D::Error> {
        T::deserialize(d).map(Maybe::Present)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Maybe<T>, E> {
        T::deserialize(v.into_deserializer()).map(Maybe::Present)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Maybe<T>, E> {
        T::deserialize(v.into_deserializer()).map(Maybe::Present)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Maybe<T>, E> {
        T::deserialize(v.into_deserializer()).map(Maybe::Present)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Maybe<T>, E> {
        T::deserialize(v.into_deserializer()).map(Maybe::Present)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Maybe<T>, E> {
        match T::deserialize(BorrowedStrDeserializer::<E>::new(v)) {
            Ok(t) => Ok(Maybe::Present(t)),
            Err(_) if v.is_empty() => Ok(Maybe::Blank),
            Err(e) => Err(e),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Maybe<T>, E> {
        match T::deserialize(StrDeserializer::<E>::new(v)) {
            Ok(t) => Ok(Maybe::Present(t)),
            Err(_) if v.is_empty() => Ok(Maybe::Blank),
            Err(e) => Err(e),
        }
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Maybe<T>, A::Error> {
        T::deserialize(Present(SeqAccessDeserializer::new(seq))).map(Maybe::Present)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Maybe<T>, A::Error> {
        T::deserialize(Present(MapAccessDeserializer::new(map))).map(Maybe::Present)
    }
}

/// A map or sequence already begun, read as a present value. serde's access
/// deserializers send `deserialize_option` and `deserialize_newtype_struct`
/// to `deserialize_any`, which an `Option` (a nullable object's model,
/// `struct X(Option<XInner>)`) refuses: "invalid type: map, expected option".
struct Present<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Present<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        v.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        #[serde(default, skip_serializing_if = "Maybe::is_absent")]
        a: Maybe<String>,
        #[serde(default, skip_serializing_if = "Maybe::is_absent")]
        n: Maybe<f64>,
        #[serde(default, skip_serializing_if = "Maybe::is_absent")]
        o: Maybe<BTreeMap<String, i64>>,
        #[serde(default, skip_serializing_if = "Maybe::is_absent")]
        l: Maybe<Vec<bool>>,
    }

    /// A nullable object's model (typify's `struct X(Option<Inner>)`)
    /// inside `Maybe`, given an object: present.
    #[test]
    fn a_nullable_models_object_is_present() {
        #[derive(Debug, PartialEq, Deserialize)]
        #[serde(transparent)]
        struct X(Option<BTreeMap<String, i64>>);
        #[derive(Debug, PartialEq, Deserialize)]
        struct W {
            #[serde(default)]
            x: Maybe<X>,
        }
        let w: W = serde_json::from_str(r#"{"x":{"k":1}}"#).unwrap();
        assert_eq!(
            w.x,
            Maybe::Present(X(Some(BTreeMap::from([("k".into(), 1)]))))
        );
        let w: W = serde_json::from_str(r#"{"x":null}"#).unwrap();
        assert_eq!(w.x, Maybe::Null);
    }

    #[test]
    fn keeps_absent_null_blank_and_value_apart() {
        for text in [
            r#"{}"#,
            r#"{"a":null,"n":null,"o":null,"l":null}"#,
            r#"{"a":"","n":"","o":"","l":""}"#,
            r#"{"a":"x","n":1.5,"o":{"k":1},"l":[true]}"#,
        ] {
            let s: S = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&s).unwrap(), text);
        }
        let s: S = serde_json::from_str(r#"{"a":"","n":""}"#).unwrap();
        assert_eq!((s.a, s.n), (Maybe::Present(String::new()), Maybe::Blank));
        let s: S = serde_json::from_str(r#"{"n":7}"#).unwrap();
        assert_eq!(s.n, Maybe::Present(7.0));
    }

    #[test]
    fn wrong_types_are_still_errors() {
        assert!(serde_json::from_str::<S>(r#"{"n":"seven"}"#).is_err());
        assert!(serde_json::from_str::<S>(r#"{"o":[1]}"#).is_err());
        assert!(serde_json::from_str::<S>(r#"{"l":{"a":true}}"#).is_err());
        let e = serde_json::from_str::<S>(r#"{"o":{"k":"x"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected i64"), "{e}");
    }
}
