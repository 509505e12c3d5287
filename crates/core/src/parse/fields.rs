//! The generated models' deserializers: one pass over an object, known keys
//! matched directly, unknown keys kept in `extra` as they go by.
//!
//! `#[derive(Deserialize)]` with `#[serde(flatten)] extra` buffers every
//! unknown entry into serde's private tree before converting it, and cannot
//! be fed entries one at a time. The generator emits a [`Fields`] builder per
//! model instead; [`deserialize_fields`] drives it from any deserializer, and
//! [`parse_event`] drives a vendor's builders straight from the body, so the
//! event type and the typed model come out of one read.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use http::HeaderMap;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::Delivery;
use super::{EnvelopeReader, Key};
use crate::util::lex::{skip_value, skip_ws, string_end};

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

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<B::Output, A::Error> {
        let mut b = B::default();
        fill(&mut b, map)?;
        b.finish()
    }
}

/// Feeds every entry of an object to its builder.
fn fill<'de, B: Fields<'de>, A: MapAccess<'de>>(b: &mut B, mut map: A) -> Result<(), A::Error> {
    while let Some(key) = map.next_key::<Key<'de>>()? {
        map.next_value_seed(FieldSeed { b: &mut *b, key })?;
    }
    Ok(())
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
    vacant(slot, name)?;
    *slot = Some(T::deserialize(value)?);
    Ok(())
}

/// serde's "duplicate field" error when the slot already has its value.
fn vacant<T, E: de::Error>(slot: &Option<T>, name: &'static str) -> Result<(), E> {
    match slot {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}

/// [`set_once`] for a field whose type is a generated model (builder `B`):
/// the object's entries go straight into the builder and the model is
/// written into the slot. Returned instead, a large model is copied once in
/// every frame between the builder and the slot.
pub fn set_model<'de, B: Fields<'de>, D: Deserializer<'de>>(
    slot: &mut Option<B::Output>,
    name: &'static str,
    value: D,
) -> Result<(), D::Error> {
    vacant(slot, name)?;
    // Not `deserialize_any`, as `set_maybe_model` must: serde_json then
    // reports a wrong value (an array, say) at another position than the
    // model's own `Deserialize` does; `model_into_tests` compares the two.
    value.deserialize_map(ModelInto::<B, Plain> {
        slot,
        _b: PhantomData,
    })
}

/// [`set_model`] for a `Maybe<model>` field: `null` and `""` as
/// [`Maybe`](super::Maybe) reads them, an object into the slot, and any other
/// value the same error as `Maybe<model>` gives.
pub fn set_maybe_model<'de, B: Fields<'de>, D: Deserializer<'de>>(
    slot: &mut Option<super::Maybe<B::Output>>,
    name: &'static str,
    value: D,
) -> Result<(), D::Error> {
    vacant(slot, name)?;
    value.deserialize_any(ModelInto::<B, InMaybe> {
        slot,
        _b: PhantomData,
    })
}

/// What a slot filled by [`ModelInto`] holds: the model itself ([`Plain`]),
/// or a `Maybe` of it ([`InMaybe`]), which also takes `null` and `""`.
trait Wrap<M> {
    type Slot;
    fn present(model: M) -> Self::Slot;
    fn null() -> Option<Self::Slot>;
    fn blank() -> Option<Self::Slot>;
}

struct Plain;

impl<M> Wrap<M> for Plain {
    type Slot = M;
    fn present(model: M) -> M {
        model
    }
    fn null() -> Option<M> {
        None
    }
    fn blank() -> Option<M> {
        None
    }
}

struct InMaybe;

impl<M> Wrap<M> for InMaybe {
    type Slot = super::Maybe<M>;
    fn present(model: M) -> Self::Slot {
        super::Maybe::Present(model)
    }
    fn null() -> Option<Self::Slot> {
        Some(super::Maybe::Null)
    }
    fn blank() -> Option<Self::Slot> {
        Some(super::Maybe::Blank)
    }
}

/// Fills builder `B` from an object and writes the model, as `W` wraps it,
/// into `slot`. Every value `W` does not take is the "invalid type: …,
/// expected struct X" error of the model's own deserializer.
struct ModelInto<'s, 'de, B: Fields<'de>, W: Wrap<B::Output>> {
    slot: &'s mut Option<W::Slot>,
    _b: PhantomData<(B, W, &'de ())>,
}

impl<'de, B: Fields<'de>, W: Wrap<B::Output>> Visitor<'de> for ModelInto<'_, 'de, B, W> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", B::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let mut b = B::default();
        fill(&mut b, map)?;
        *self.slot = Some(W::present(b.finish()?));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        match W::null() {
            Some(null) => {
                *self.slot = Some(null);
                Ok(())
            }
            None => Err(E::invalid_type(de::Unexpected::Unit, &self)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        match W::blank() {
            Some(blank) if v.is_empty() => {
                *self.slot = Some(blank);
                Ok(())
            }
            _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }
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
/// The event's builder must exist before the first entry can go to it, so
/// when the type is only in the body it is found first: by a guess (the
/// first `"<key>": "<string>"` anywhere, one vector search), checked by the
/// read against the top-level type; when the guess is wrong, by a skim of
/// the top level (values skipped unvalidated and unallocated, stopping at
/// the type). Keeping the earlier entries as raw slices and parsing them
/// again once the type showed up cost more: every one of them was tokenized
/// and UTF-8 checked twice. `None` means "take the careful
/// path": the body does not fit (not JSON, a missing or odd type or id, a
/// repeated envelope key, a field the model rejects), and the careful path
/// finds and words the error exactly.
pub fn parse_event<'de, B: EventFields<'de>>(
    body: &'de [u8],
    headers: &HeaderMap,
    reader: &EnvelopeReader,
) -> Option<Delivery<B::Event>> {
    let keys = reader.top_level_keys()?;
    let header_type = reader.header_type(headers).ok()?;
    // UTF-8 checked once for the whole body: reading from a `str`, serde_json
    // skips the check it would otherwise make on every string (a tenth of
    // the parse on these payloads of short strings).
    let body = std::str::from_utf8(body).ok()?;
    // Where the type is only in the body, the first `"<key>": "<string>"`
    // anywhere in it is a guess (one vector search); the read checks the
    // top-level type against it, and a wrong guess (that text nested deeper)
    // is read again after the skim, which finds the top-level one for sure.
    let (known_type, guessed) = match (&header_type, keys.event_type) {
        (Some(h), _) => (Key::Borrowed(h.as_str()), false),
        (None, Some(key)) => match reader.type_key_finder().and_then(|f| guess_type(body, f)) {
            Some(t) => (t, true),
            None => (skim_to_type(body, key)?, false),
        },
        // The type belongs in a header that was not sent.
        (None, None) => return None,
    };
    // The result is written into `out` rather than returned: returned, a
    // large event is copied once at every frame it passes through.
    let mut out = None;
    let mut read = |known_type: &str, mismatch: &Cell<bool>| {
        // A blank type is the careful path's to refuse, as a missing one.
        if known_type.trim().is_empty() {
            return false;
        }
        let mut de = serde_json::Deserializer::from_str(body);
        de.deserialize_map(OnePass::<B, B::Event> {
            keys,
            known_type,
            mismatch,
            headers,
            reader,
            out: &mut out,
            _b: PhantomData,
        })
        .and_then(|()| de.end())
        .is_ok()
    };
    let mismatch = Cell::new(false);
    if !read(known_type.as_str(), &mismatch) {
        if !(guessed && mismatch.get()) {
            return None;
        }
        let skimmed = skim_to_type(body, keys.event_type?)?;
        if !read(skimmed.as_str(), &Cell::new(false)) {
            return None;
        }
    }
    out
}

/// The string value of the first top-level `type_key`, scanning no further
/// than that entry; `None` when there is none, it is not a string, or the
/// scan meets something it does not expect.
///
/// A lexical scan, not a parse: it only finds where values end, and the real
/// pass validates every byte and checks that the type it reads there is this
/// one (else the careful path decides). Stopping serde_json half-way would
/// take an error, and serde_json builds an error's message and counts lines
/// for its position: more than the scan itself on these small bodies.
fn skim_to_type<'de>(body: &'de str, type_key: &str) -> Option<Key<'de>> {
    let b = body.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        let (key_end, key_escaped) = string_end(b, i)?;
        let key = &body[i..key_end];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let is_type = if key_escaped {
            serde_json::from_str::<Key<'_>>(key).ok()?.as_str() == type_key
        } else {
            &key[1..key.len() - 1] == type_key
        };
        if is_type {
            return string_at(body, i);
        }
        i = skip_ws(b, skip_value(b, i)?);
        if b.get(i) != Some(&b',') {
            return None;
        }
        i += 1;
    }
}

/// The string value after the first quoted type key (`finder` searches for
/// it, quotes included), then a colon, anywhere in the body, top level or
/// not; `None` when there is none or what follows is not a string.
fn guess_type<'de>(body: &'de str, finder: &memchr::memmem::Finder<'_>) -> Option<Key<'de>> {
    let b = body.as_bytes();
    let after = finder.find_iter(b).find_map(|at| {
        let i = skip_ws(b, at + finder.needle().len());
        (b.get(i) == Some(&b':')).then_some(i + 1)
    })?;
    string_at(body, skip_ws(b, after))
}

/// The string value starting at `i` (its opening quote), borrowed unless
/// it has escapes; `None` when there is no string there.
fn string_at(body: &str, i: usize) -> Option<Key<'_>> {
    let (end, escaped) = string_end(body.as_bytes(), i)?;
    Some(if escaped {
        Key::Owned(serde_json::from_str(&body[i..end]).ok()?)
    } else {
        Key::Borrowed(&body[i + 1..end - 1])
    })
}

#[cfg(test)]
mod skim_tests {
    use super::skim_to_type;

    fn skim(body: &str) -> Option<String> {
        skim_to_type(body, "type").map(|k| k.as_str().to_string())
    }

    #[test]
    fn finds_the_first_top_level_type() {
        assert_eq!(skim(r#"{"type":"a.b"}"#).as_deref(), Some("a.b"));
        let nested = r#" { "data" : {"type":"inner","l":[1,{"type":"x"},"]}\""]}, "n": -1.5e3 ,
            "t\u0079pe": "a\u002eb", "type": "second" }"#;
        assert_eq!(skim(nested).as_deref(), Some("a.b"));
        assert_eq!(
            skim(r#"{"a":true,"b":null,"type":"last"}"#).as_deref(),
            Some("last")
        );
    }

    #[test]
    fn gives_up_rather_than_guess() {
        for body in [
            "",
            "[]",
            "{}",
            r#"{"type":1}"#,
            r#"{"type":null}"#,
            r#"{"a":1}"#,
            r#"{"a":"unterminated"#,
            r#"{"a" 1, "type":"x"}"#,
            r#"{"a":{"b":1}"#,
            r#"{"a":,"type":"x"}"#,
            r#"{"a":"x\"#,
        ] {
            assert_eq!(skim(body), None, "{body}");
        }
    }
}

/// The envelope's keys at the top of the body: the event type's (None when
/// it is only in a header) and the event id's (None when there is none, or
/// it is only in a header).
#[derive(Debug, Clone, Copy)]
pub struct TopLevelKeys<'r> {
    pub event_type: Option<&'r str>,
    pub event_id: Option<&'r str>,
}

struct OnePass<'r, B, Event> {
    keys: TopLevelKeys<'r>,
    /// The event type from a header, the guess or the skim, known before
    /// the read.
    known_type: &'r str,
    /// Set when the body's type is not `known_type`.
    mismatch: &'r Cell<bool>,
    headers: &'r HeaderMap,
    reader: &'r EnvelopeReader,
    out: &'r mut Option<Delivery<Event>>,
    _b: PhantomData<B>,
}

/// Stops the read without a useful message: the careful path words it.
fn bail<E: de::Error>() -> E {
    E::custom("hookforge: take the careful path")
}

impl<'de, B: EventFields<'de>> Visitor<'de> for OnePass<'_, B, B::Event> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Where the body carries the type, it must be there once and agree
        // with what was known; a type only in a header counts as seen.
        let mut type_seen = self.keys.event_type.is_none();
        let mut b = B::for_type(self.known_type);
        let mut body_id: Option<Value> = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let k = key.as_str();
            let is_type = self.keys.event_type == Some(k);
            let is_id = self.keys.event_id == Some(k);
            if !(is_type || is_id) {
                map.next_value_seed(Feed { b: &mut b, key })?;
                continue;
            }
            // An envelope key: read it, then hand the same bytes to the model.
            // A string without escapes (the common case) is read once and
            // handed on borrowed, as `Maybe` hands strings to its `T`.
            let raw: &'de RawValue = map.next_value()?;
            let plain = plain_string(raw);
            if is_id {
                // A repeated id: the last one counts, as on the careful path.
                body_id = Some(match plain {
                    Some(text) => Value::String(text.to_string()),
                    None => serde_json::from_str(raw.get()).map_err(|_| bail())?,
                });
            }
            if is_type {
                let t = match plain {
                    Some(text) => Key::Borrowed(text),
                    None => serde_json::from_str(raw.get()).map_err(|_| bail())?,
                };
                if type_seen {
                    return Err(bail());
                }
                if t.as_str() != self.known_type {
                    self.mismatch.set(true);
                    return Err(bail());
                }
                type_seen = true;
            }
            match plain {
                Some(text) => b
                    .field(key, BorrowedStrDeserializer::<A::Error>::new(text))
                    .map_err(|_| bail())?,
                None => feed_raw(&mut b, key, raw)?,
            }
        }
        if !type_seen {
            return Err(bail());
        }
        let event_id = self
            .reader
            .event_id(body_id, self.headers)
            .map_err(|_| bail())?;
        *self.out = Some(Delivery {
            event_type: self.known_type.to_string(),
            event_id,
            event: b.finish(self.known_type)?,
        });
        Ok(())
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

/// The text of a JSON string value without escapes (the raw value was
/// validated when it was read, so no escape means no control character
/// either); `None` for anything else.
fn plain_string(raw: &RawValue) -> Option<&str> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

fn feed_raw<'de, B: EventFields<'de>, E: de::Error>(
    b: &mut B,
    key: Key<'de>,
    raw: &'de RawValue,
) -> Result<(), E> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    b.field(key, &mut de).map_err(|_| bail())
}

#[cfg(test)]
mod model_into_tests {
    use super::*;
    use crate::Maybe;

    /// A model with a builder, as the generator writes them.
    #[derive(Debug, PartialEq)]
    struct Inner {
        a: Maybe<String>,
        extra: serde_json::Map<String, Value>,
    }

    #[derive(Default)]
    struct InnerFields {
        a: Option<Maybe<String>>,
        extra: serde_json::Map<String, Value>,
    }

    impl<'de> Fields<'de> for InnerFields {
        type Output = Inner;
        const NAME: &'static str = "Inner";
        fn field<D: Deserializer<'de>>(&mut self, key: Key<'de>, value: D) -> Result<(), D::Error> {
            match key.as_str() {
                "a" => set_once(&mut self.a, "a", value),
                _ => extra_entry(&mut self.extra, key, value),
            }
        }
        fn finish<E: de::Error>(self) -> Result<Inner, E> {
            Ok(Inner {
                a: self.a.unwrap_or_default(),
                extra: self.extra,
            })
        }
    }

    impl<'de> Deserialize<'de> for Inner {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            deserialize_fields::<D, InnerFields>(d)
        }
    }

    fn outcome<T: fmt::Debug>(slot: Option<T>, r: Result<(), serde_json::Error>) -> String {
        match r {
            Ok(()) => format!("{slot:?}"),
            Err(e) => format!("error: {e}"),
        }
    }

    /// Written into the slot, a nested model and a `Maybe` of one come out
    /// exactly as through their own `Deserialize`: same values, same errors
    /// (from text and from a `Value`), same duplicate-key error.
    #[test]
    fn reading_into_the_slot_matches_the_models_own_deserialize() {
        let texts = [
            "null",
            r#""""#,
            r#""x""#,
            "1",
            "-1",
            "1.5",
            "true",
            "[]",
            "[1]",
            "{}",
            r#"{"a":"z","b":[1,{"c":null}]}"#,
            r#"{"a":null,"a2":""}"#,
            r#"{"a":1}"#,
            r#"{"a":"z","a":"y"}"#,
        ];
        for text in texts {
            let value: Value = serde_json::from_str(text).unwrap();
            macro_rules! both {
                ($t:ty, $fast:expr) => {{
                    let (mut fast, mut own) = (None::<$t>, None::<$t>);
                    let f = $fast(
                        &mut fast,
                        "m",
                        &mut serde_json::Deserializer::from_str(text),
                    );
                    let o = set_once(&mut own, "m", &mut serde_json::Deserializer::from_str(text));
                    assert_eq!(outcome(fast, f), outcome(own, o), "{text}");
                    let (mut fast, mut own) = (None::<$t>, None::<$t>);
                    let f = $fast(&mut fast, "m", value.clone());
                    let o = set_once(&mut own, "m", value.clone());
                    assert_eq!(outcome(fast, f), outcome(own, o), "{text} as a Value");
                }};
            }
            both!(Maybe<Inner>, set_maybe_model::<InnerFields, _>);
            both!(Inner, set_model::<InnerFields, _>);
        }
        let mut slot = Some(Maybe::Null);
        let e = set_maybe_model::<InnerFields, _>(&mut slot, "m", Value::Null).unwrap_err();
        assert_eq!(e.to_string(), "duplicate field `m`");
        let mut slot = None;
        set_model::<InnerFields, _>(&mut slot, "m", serde_json::json!({})).unwrap();
        let e = set_model::<InnerFields, _>(&mut slot, "m", serde_json::json!({})).unwrap_err();
        assert_eq!(e.to_string(), "duplicate field `m`");
    }
}
