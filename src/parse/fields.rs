//! The generated models' deserializers: one pass over an object, known keys
//! matched directly, unknown keys kept in `extra` as they go by.
//!
//! `#[derive(Deserialize)]` with `#[serde(flatten)] extra` buffers every
//! unknown entry into serde's private tree before converting it, and cannot
//! be fed entries one at a time. The generator emits a [`Fields`] builder per
//! model instead; [`deserialize_fields`] drives it from any deserializer, and
//! [`parse_event`] drives a vendor's builders straight from the body, so the
//! event type and the typed model come out of one read.

use std::fmt;
use std::marker::PhantomData;

use http::HeaderMap;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{EnvelopeReader, Key};
use crate::Delivery;

/// Collects one object's entries into a model (generated, one per model).
pub trait Fields<'de>: Default {
    type Output;
    /// The model's name, for "expected struct X" errors.
    const NAME: &'static str;
    /// Reads the value of `key` from `value`; an unknown key goes to `extra`.
    fn field<D: Deserializer<'de>>(&mut self, key: Key<'de>, value: D) -> Result<(), D::Error>;
    /// The model, or the first required field (in declaration order) missing.
    fn finish<E: de::Error>(self) -> Result<Self::Output, E>;
}

/// `Deserialize` for a model whose builder is `B`.
pub fn deserialize_fields<'de, D: Deserializer<'de>, B: Fields<'de>>(
    d: D,
) -> Result<B::Output, D::Error> {
    d.deserialize_map(ObjectVisitor::<B>(PhantomData))
}

struct ObjectVisitor<B>(PhantomData<B>);

impl<'de, B: Fields<'de>> Visitor<'de> for ObjectVisitor<B> {
    type Value = B::Output;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", B::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<B::Output, A::Error> {
        let mut b = B::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            map.next_value_seed(FieldSeed { b: &mut b, key })?;
        }
        b.finish()
    }
}

struct FieldSeed<'b, 'de, B> {
    b: &'b mut B,
    key: Key<'de>,
}

impl<'de, B: Fields<'de>> DeserializeSeed<'de> for FieldSeed<'_, 'de, B> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.b.field(self.key, d)
    }
}

/// A builder for whichever event a delivery turns out to be (generated, one
/// per vendor): the known event's model, or the raw JSON of an unknown one.
pub trait EventFields<'de>: Sized {
    type Event;
    /// The builder for `event_type`.
    fn for_type(event_type: &str) -> Self;
    fn field<D: Deserializer<'de>>(&mut self, key: Key<'de>, value: D) -> Result<(), D::Error>;
    fn finish<E: de::Error>(self, event_type: &str) -> Result<Self::Event, E>;
}

/// Reads a known field's value into its slot; a second value for the same
/// key is serde's "duplicate field" error, as with `derive(Deserialize)`.
pub fn set_once<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    slot: &mut Option<T>,
    name: &'static str,
    value: D,
) -> Result<(), D::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(T::deserialize(value)?);
    Ok(())
}

/// A required field's value, or serde's "missing field" error.
pub fn required<T, E: de::Error>(slot: Option<T>, name: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(name))
}

/// Builds the `extra` entry of an unknown key, and the raw payload of an
/// unknown event.
pub fn extra_entry<'de, D: Deserializer<'de>>(
    extra: &mut serde_json::Map<String, Value>,
    key: Key<'de>,
    value: D,
) -> Result<(), D::Error> {
    // Last one wins on a repeated key, as in `serde_json::Value`.
    extra.insert(key.into_string(), Value::deserialize(value)?);
    Ok(())
}

/// The fast path of a vendor's `parse_delivery`: reads the envelope and the
/// typed event in one pass over the body, when the manifest puts the event
/// type (and id, if any) at top-level keys of the body or in headers.
///
/// Entries that come before the event type are kept as borrowed raw slices
/// (a skim, no allocation) and handed to the event's builder once the type is
/// known; everything after it goes straight to the builder. `None` means
/// "take the careful path": the body does not fit (not JSON, a missing or
/// odd type or id, a repeated envelope key, a field the model rejects), and
/// the careful path finds and words the error exactly.
pub fn parse_event<'de, B: EventFields<'de>>(
    body: &'de [u8],
    headers: &HeaderMap,
    reader: &EnvelopeReader,
) -> Option<Delivery<B::Event>> {
    let keys = reader.top_level_keys()?;
    let header_type = reader.header_type(headers).ok()?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let found = de
        .deserialize_map(OnePass::<B> {
            keys,
            header_type: header_type.as_deref(),
            _b: PhantomData,
        })
        .and_then(|v| de.end().map(|()| v))
        .ok()?;
    let (event_type, body_id, event) = found;
    let event_id = reader.event_id(body_id, headers).ok()?;
    Some(Delivery {
        event_type,
        event_id,
        event,
    })
}

/// The envelope's keys at the top of the body: the event type's (None when
/// it is only in a header) and the event id's (None when there is none, or
/// it is only in a header).
#[derive(Debug, Clone, Copy)]
pub struct TopLevelKeys<'r> {
    pub event_type: Option<&'r str>,
    pub event_id: Option<&'r str>,
}

struct OnePass<'r, B> {
    keys: TopLevelKeys<'r>,
    header_type: Option<&'r str>,
    _b: PhantomData<B>,
}

/// Stops the read without a useful message: the careful path words it.
fn bail<E: de::Error>() -> E {
    E::custom("hookforge: take the careful path")
}

impl<'de, B: EventFields<'de>> Visitor<'de> for OnePass<'_, B> {
    type Value = (String, Option<Value>, B::Event);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut event_type: Option<String> = None;
        let mut builder: Option<B> = self.header_type.map(B::for_type);
        if self.keys.event_type.is_none() {
            event_type = self.header_type.map(str::to_string);
        }
        let mut early: Vec<(Key<'de>, &'de RawValue)> = Vec::new();
        let mut body_id: Option<Value> = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let k = key.as_str();
            let is_type = self.keys.event_type == Some(k);
            let is_id = self.keys.event_id == Some(k);
            if !(is_type || is_id) {
                match &mut builder {
                    Some(b) if event_type.is_some() => map.next_value_seed(Feed { b, key })?,
                    _ => early.push((key, map.next_value()?)),
                }
                continue;
            }
            // An envelope key: read it, then hand the same bytes to the model.
            let raw: &'de RawValue = map.next_value()?;
            if is_id {
                // A repeated id: the last one counts, as on the careful path.
                body_id = Some(serde_json::from_str(raw.get()).map_err(|_| bail())?);
            }
            if is_type {
                if event_type.is_some() {
                    return Err(bail());
                }
                let Ok(Value::String(t)) = serde_json::from_str::<Value>(raw.get()) else {
                    return Err(bail());
                };
                match self.header_type {
                    Some(h) if h != t => return Err(bail()),
                    Some(_) => {}
                    None => builder = Some(B::for_type(&t)),
                }
                event_type = Some(t);
                let b = builder.as_mut().expect("set above");
                for (key, raw) in early.drain(..) {
                    feed_raw(b, key, raw)?;
                }
            }
            match &mut builder {
                Some(b) if event_type.is_some() => feed_raw(b, key, raw)?,
                _ => early.push((key, raw)),
            }
        }
        let (Some(event_type), Some(mut b)) = (event_type, builder) else {
            return Err(bail());
        };
        for (key, raw) in early {
            feed_raw(&mut b, key, raw)?;
        }
        let event = b.finish(&event_type)?;
        Ok((event_type, body_id, event))
    }
}

struct Feed<'b, 'de, B> {
    b: &'b mut B,
    key: Key<'de>,
}

impl<'de, B: EventFields<'de>> DeserializeSeed<'de> for Feed<'_, 'de, B> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.b.field(self.key, d)
    }
}

fn feed_raw<'de, B: EventFields<'de>, E: de::Error>(
    b: &mut B,
    key: Key<'de>,
    raw: &'de RawValue,
) -> Result<(), E> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    b.field(key, &mut de).map_err(|_| bail())
}
