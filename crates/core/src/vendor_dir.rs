//! Vendors loaded from a directory at run time (`--vendor-dir`), laid out
//! like `schemas/<vendor>/` with an optional `samples/<event>/*.json`.
//!
//! No Rust types are compiled: a delivery is checked against its event's
//! schema with the `jsonschema` crate, made as lenient as the generated
//! models are (validation-only keywords dropped, enums open, optional
//! fields may be `null` or blank, objects open), so a compiled vendor and
//! the same vendor loaded here give the same answers. The payload kept is
//! the delivery's own JSON, so nothing is lost by construction.

use std::collections::HashMap;
use std::path::Path;

use http::HeaderMap;
use serde_json::{Map, Value, json};

use crate::ParseError;
use crate::manifest::json_type;
pub use crate::manifest::vendor_dir::{Disk, Embedded, Files, LoadError};
use crate::manifest::vendor_dir::{VALUE_CONSTRAINTS, VendorSchemas, const_as_type};
use crate::vendor::{Checked, EventInfo, ParsedEvent, SampleInfo, VendorSpec};

/// What a runtime vendor checks deliveries with: one validator per event.
struct RuntimeModel {
    validators: HashMap<String, jsonschema::Validator>,
}

impl crate::vendor::DynModel for RuntimeModel {
    fn parse(
        &self,
        spec: &VendorSpec,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<ParsedEvent, ParseError> {
        let (checked, payload) = self.read(spec, body, headers)?;
        Ok(ParsedEvent {
            event_type: checked.event_type,
            event_id: checked.event_id,
            known: checked.known,
            payload,
        })
    }

    fn check(
        &self,
        spec: &VendorSpec,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<Checked, ParseError> {
        self.read(spec, body, headers).map(|(c, _)| c)
    }
}

/// Where and why a body misfits a schema checked [`as_received`]: the
/// error under the lenient wrapper where there is one, its message cut at
/// 300 characters (a message quotes the value, which can be a whole object).
pub fn misfit_reason(err: &jsonschema::ValidationError<'_>) -> (String, String) {
    let (path, message) = match under_maybe(err) {
        Some(e) => (e.instance_path().to_string(), e.to_string()),
        None => (err.instance_path().to_string(), err.to_string()),
    };
    let mut chars = message.chars();
    let cut: String = chars.by_ref().take(300).collect();
    match chars.next() {
        Some(_) => (path, format!("{cut}…")),
        None => (path, message),
    }
}

/// What failed under the lenient `Maybe<T>` wrapper (`anyOf` of T, `null`
/// and `""`, see [`lenient`]): T's own error, as deep as it goes, rather
/// than "not valid under any of the schemas listed in the 'anyOf'
/// keyword", a keyword the user's schema does not have.
fn under_maybe<'e>(
    e: &'e jsonschema::ValidationError<'_>,
) -> Option<&'e jsonschema::ValidationError<'static>> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let Kind::AnyOf { context } = e.kind() else {
        return None;
    };
    let [inner, null, blank] = context.as_slice() else {
        return None;
    };
    let wrapper = matches!(null.as_slice(), [n] if matches!(n.kind(), Kind::Type { .. }))
        && matches!(blank.as_slice(), [b] if matches!(b.kind(), Kind::Constant { .. }));
    if !wrapper {
        return None;
    }
    let first = inner.first()?;
    Some(under_maybe(first).unwrap_or(first))
}

impl RuntimeModel {
    fn read(
        &self,
        spec: &VendorSpec,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<(Checked, Value), ParseError> {
        let env = spec.read_envelope(body, headers)?;
        let value = crate::parse::decode_value(body, &env.event_type)?;
        let known = match self.validators.get(&env.event_type) {
            None => false,
            Some(v) => {
                if let Some(err) = v.iter_errors(&value).next() {
                    let (path, message) = misfit_reason(&err);
                    return Err(ParseError::Payload {
                        event: env.event_type,
                        path: dotted(&path),
                        message,
                    });
                }
                true
            }
        };
        Ok((
            Checked {
                event_type: env.event_type,
                event_id: env.event_id,
                known,
            },
            value,
        ))
    }
}

/// `/data/items/0/id` → `data.items[0].id`, as the compiled models name paths.
fn dotted(pointer: &str) -> String {
    if pointer.is_empty() {
        return "(top level)".into();
    }
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        let token = crate::manifest::unescape_token(token);
        if token.chars().all(|c| c.is_ascii_digit()) && !token.is_empty() {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

/// The schema as the generated models read it: lenient where they are.
/// A bundled event schema as hookforge's receiver checks deliveries
/// against it: enums open, value constraints, `format`, `const`'s value and
/// `additionalProperties: false` dropped, optional fields also `null` or
/// `""` (see [`lenient`]). `diff` replays old samples against this too.
pub fn as_received(bundled: &Value) -> Value {
    let mut schema = bundled.clone();
    if let Value::Object(o) = &mut schema {
        // Draft-07 validators follow `$schema`; the lenient copy has none.
        o.remove("$schema");
    }
    lenient(&mut schema);
    schema
}

fn lenient(value: &mut Value) {
    let Value::Object(o) = value else {
        return;
    };
    if let Some(values) = o.get("enum").and_then(Value::as_array) {
        // Open enums: any value of the types listed (any string, for the
        // usual string enum).
        let mut types: Vec<&str> = values.iter().map(json_type).collect();
        types.sort_unstable();
        types.dedup();
        *value = match types.as_slice() {
            [one] => json!({"type": one}),
            _ => json!({"type": types}),
        };
        return;
    }
    for k in VALUE_CONSTRAINTS.iter().chain(&["format"]) {
        o.remove(*k);
    }
    const_as_type(o);
    if o.get("additionalProperties") == Some(&Value::Bool(false)) {
        o.remove("additionalProperties");
    }
    let required: Vec<String> = o
        .get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for (k, p) in props.iter_mut() {
            lenient(p);
            if !required.contains(k) {
                // `Maybe<T>`: absent, `null`, `""` where another type belongs, or T.
                *p = json!({"anyOf": [p.take(), {"type": "null"}, {"const": ""}]});
            }
        }
    }
    // `not` forbids: made lenient, it would forbid more (`not: {enum:
    // [deleted]}` would become `not: {type: string}`, refusing every
    // string). Dropped, as the receiver keeps what the vendor sends.
    o.remove("not");
    // `items` as one schema or a tuple of them.
    for key in [
        "items",
        "additionalProperties",
        "additionalItems",
        "contains",
    ] {
        match o.get_mut(key) {
            Some(Value::Array(a)) => a.iter_mut().for_each(lenient),
            Some(child) => lenient(child),
            None => {}
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(a)) = o.get_mut(key) {
            a.iter_mut().for_each(lenient);
        }
    }
    if let Some(Value::Object(patterns)) = o.get_mut("patternProperties") {
        patterns.values_mut().for_each(lenient);
    }
    if let Some(Value::Object(defs)) = o.get_mut("definitions") {
        defs.values_mut().for_each(lenient);
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Loads a vendor directory, with samples from `DIR/samples/<event>/`.
///
/// The vendor lives as long as the process (it is leaked, like the
/// compiled vendors' statics): load each directory once.
pub fn load(dir: &Path) -> Result<&'static VendorSpec, LoadError> {
    load_with_samples(dir, &dir.join("samples"))
}

/// The vendor directories hookforge ships (`vendors/<id>/` in its
/// repository), embedded in the binary and known by name.
pub mod catalogue {
    use super::*;

    /// The ids of the shipped vendor directories.
    pub fn ids() -> impl Iterator<Item = &'static str> {
        hookforge_catalogue::ids()
    }

    /// A shipped vendor's files (path within its directory, bytes), as in
    /// the repository's `vendors/<id>/`.
    pub fn files(id: &str) -> Option<&'static [(&'static str, &'static [u8])]> {
        hookforge_catalogue::files(id)
    }

    /// Loads a shipped vendor (once per process; later calls return the
    /// same one) and registers it, so [`crate::vendor`] knows it.
    pub fn load(id: &str) -> Option<Result<&'static VendorSpec, LoadError>> {
        static LOADED: std::sync::Mutex<Vec<&'static VendorSpec>> =
            std::sync::Mutex::new(Vec::new());
        let files = hookforge_catalogue::files(id)?;
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = loaded.iter().find(|v| v.id == id) {
            return Some(Ok(*v));
        }
        let root: &'static str = leak(format!("vendors/{id}"));
        let dir = Embedded { root, files };
        let result = load_from(&dir, dir.sub("samples").as_ref());
        if let Ok(v) = result {
            loaded.push(v);
        }
        Some(result)
    }
}

/// Loads a vendor directory, with samples from `samples/<event>/` elsewhere
/// (the built-in vendors keep theirs in `samples/<vendor>/`).
pub fn load_with_samples(dir: &Path, samples: &Path) -> Result<&'static VendorSpec, LoadError> {
    load_from(&Disk(dir.to_path_buf()), &Disk(samples.to_path_buf()))
}

/// Loads a vendor from `files` (on disk or embedded, see [`Files`]), with
/// samples from `samples/<event>/*.json`.
pub fn load_from(files: &dyn Files, samples: &dyn Files) -> Result<&'static VendorSpec, LoadError> {
    let vs = VendorSchemas::load_from(files)?;
    let mut validators = HashMap::new();
    let mut events = Vec::new();
    for e in &vs.events {
        let file = files.show(&format!("events/{}.json", e.slug));
        let schema = as_received(&vs.bundled(e));
        let validator = jsonschema::draft7::new(&schema).map_err(|err| {
            LoadError::at(
                &file,
                format!(
                    "not a valid draft-07 schema at `{}`: {err}",
                    err.instance_path()
                ),
            )
        })?;
        validators.insert(e.name.clone(), validator);
        let mut own = e.schema.clone();
        crate::manifest::vendor_dir::local_refs(&mut own);
        events.push(EventInfo {
            name: leak(e.name.clone()),
            slug: leak(e.slug.clone()),
            description: leak(e.description.clone()),
            schema_json: leak(own.to_string()),
            samples: load_samples(samples, &e.slug)?,
        });
    }
    let definitions = Value::Object(Map::from_iter([(
        "definitions".to_string(),
        Value::Object(vs.definitions.clone()),
    )]));
    let spec = VendorSpec::with_model(
        leak(vs.manifest.id.clone()),
        leak(vs.manifest.name.clone()),
        leak(vs.manifest_json.clone()),
        leak(definitions.to_string()),
        Box::leak(events.into_boxed_slice()),
        Box::new(RuntimeModel { validators }),
    );
    Ok(Box::leak(Box::new(spec)))
}

/// The samples of one event: `<slug>/*.json` but `provenance.json`.
fn load_samples(samples: &dyn Files, slug: &str) -> Result<&'static [SampleInfo], LoadError> {
    let mut out = Vec::new();
    if samples.is_dir(slug) {
        let names = samples
            .list(slug)
            .map_err(|err| LoadError::at(&samples.show(slug), err.to_string()))?;
        for name in names {
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            if name == "provenance.json" {
                continue;
            }
            let rel = format!("{slug}/{name}");
            let body = samples
                .read(&rel)
                .map_err(|err| LoadError::at(&samples.show(&rel), err.to_string()))?;
            // A sample goes out as a valid delivery (`check`, `simulate`):
            // one that is not JSON would fail the receiver for our mistake.
            if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
                let why = format!(
                    "a sample must be one JSON value (a form's fields as an object): {err}"
                );
                return Err(LoadError::at(&samples.show(&rel), why));
            }
            out.push(SampleInfo {
                name: leak(stem.to_string()),
                path: leak(samples.show(&rel).display().to_string()),
                body: Box::leak(body.into_boxed_slice()),
            });
        }
    }
    Ok(Box::leak(out.into_boxed_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_named_like_the_compiled_models() {
        assert_eq!(dotted(""), "(top level)");
        assert_eq!(dotted("/data/quoteId"), "data.quoteId");
        assert_eq!(dotted("/data/items/0/a~1b"), "data.items[0].a/b");
    }

    #[test]
    fn optional_fields_take_null_and_blank_enums_are_open() {
        let mut s = json!({
            "type": "object",
            "required": ["id"],
            "additionalProperties": false,
            "properties": {
                "id": {"type": "string", "pattern": "^q_"},
                "n": {"type": "integer", "minimum": 3},
                "kind": {"enum": ["a", "b"]}
            }
        });
        lenient(&mut s);
        let v = jsonschema::draft7::new(&s).unwrap();
        assert!(v.is_valid(&json!({"id": "x", "n": null, "kind": "c", "new": 1})));
        assert!(v.is_valid(&json!({"id": "x", "n": ""})));
        // What the models refuse stays refused: a missing required field,
        // a null required field, a wrong JSON type.
        assert!(!v.is_valid(&json!({"n": 1})));
        assert!(!v.is_valid(&json!({"id": null})));
        assert!(!v.is_valid(&json!({"id": "x", "n": "five"})));
    }
}
