//! `Maybe<T>`: an optional field that remembers whether it was absent or `null`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An optional field of a vendor payload.
///
/// `Option<T>` cannot tell a missing key from `"key": null`, so a model built
/// on it re-serializes a different document than it received. `Maybe` keeps
/// the difference: generated structs mark these fields
/// `#[serde(default, skip_serializing_if = "Maybe::is_absent")]`, so absent
/// stays absent, `null` stays `null` and a value stays a value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Maybe<T> {
    /// The key was not in the payload.
    #[default]
    Absent,
    /// The key was present with the value `null`.
    Null,
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

    pub fn is_present(&self) -> bool {
        matches!(self, Maybe::Present(_))
    }

    /// The value, treating absent and `null` alike.
    pub fn as_option(&self) -> Option<&T> {
        match self {
            Maybe::Present(v) => Some(v),
            _ => None,
        }
    }

    /// The value, treating absent and `null` alike.
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
            // Only reached when a struct forgets `skip_serializing_if`.
            Maybe::Absent | Maybe::Null => s.serialize_none(),
            Maybe::Present(v) => v.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Absence is handled by `#[serde(default)]`; here the key was present.
        Ok(Option::<T>::deserialize(d)?.map_or(Maybe::Null, Maybe::Present))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        #[serde(default, skip_serializing_if = "Maybe::is_absent")]
        a: Maybe<String>,
    }

    #[test]
    fn keeps_absent_null_and_value_apart() {
        for text in [r#"{}"#, r#"{"a":null}"#, r#"{"a":"x"}"#] {
            let s: S = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&s).unwrap(), text);
        }
        let s: S = serde_json::from_str(r#"{"a":null}"#).unwrap();
        assert!(s.a.is_null() && s.a.as_option().is_none());
    }
}
