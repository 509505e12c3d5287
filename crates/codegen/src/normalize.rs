//! The normalisation pass: turns the vendor's validation schemas into what
//! typify should see.
//!
//! The schemas on disk say what a *valid* payload is (they are what the
//! harness and the tests validate against). Parsing must be more forgiving,
//! because vendors drift: an id that stops matching its pattern must still be
//! delivered to the handler, not dropped. So, for typify only:
//! - validation-only keywords (`pattern`, `format`, lengths, bounds, `const`,
//!   `default`, `examples`) are removed; strings stay `String`, integers `i64`;
//! - `format: date-time` becomes `hookforge::Timestamp`, which keeps the
//!   original text (round trips exactly) and parses on demand;
//! - every object is opened (`additionalProperties: {}`), so typify adds a
//!   flattened `extra` map that keeps fields the schema does not know;
//! - named string enums become open enums that we emit ourselves (typify's
//!   are closed); any other enum is its values' type;
//! - definitions inside an event's file (what `hookforge infer` writes) join
//!   the shared ones, renamed after the event where a name is taken.

use std::collections::BTreeMap;

use heck::{ToSnakeCase, ToUpperCamelCase};
use schemars::schema::Schema;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::schema::{VALUE_CONSTRAINTS, VendorSchemas, const_as_type};
use hookforge_manifest::json_type;

/// A string enum from the definitions, emitted as an open enum.
#[derive(Debug, Clone)]
pub struct OpenEnum {
    pub name: String,
    pub description: String,
    pub values: Vec<String>,
}

/// What typify gets, plus the enums we emit ourselves.
pub struct TypifyInput {
    pub definitions: BTreeMap<String, Schema>,
    pub open_enums: Vec<OpenEnum>,
    /// Event type string → Rust type name of its payload.
    pub event_types: Vec<(String, String)>,
}

/// Dropped before typify, besides the value constraints: annotations, and
/// `propertyNames` (the models keep any key).
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "examples",
    "default",
    "propertyNames",
];

pub fn typify_input(vs: &VendorSchemas) -> Result<TypifyInput, Error> {
    let file_defs = vs.dir.join(crate::schema::DEFINITIONS_FILE);
    // Normalised schemas by type name, and the file each came from.
    let mut definitions: BTreeMap<String, Value> = BTreeMap::new();
    let mut files = BTreeMap::new();
    let mut open_enums = Vec::new();
    for (name, schema) in &vs.definitions {
        if let Some(values) = string_enum(schema) {
            open_enums.push(OpenEnum {
                name: name.to_upper_camel_case(),
                description: schema
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                values,
            });
        }
        let mut s = schema.clone();
        normalize(&mut s, &format!("#/definitions/{name}"))
            .map_err(|m| Error::at(&file_defs, m))?;
        definitions.insert(name.clone(), s);
        files.insert(name.clone(), file_defs.clone());
    }
    let mut event_types = Vec::new();
    for ev in &vs.events {
        let type_name = ev.name.to_upper_camel_case();
        let file = vs.dir.join("events").join(format!("{}.json", ev.slug));
        if type_name.is_empty() || type_name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(Error::at(
                &file,
                format!("event `{}` gives no usable type name", ev.name),
            ));
        }
        // `account.status` and a definition `AccountStatus` can both exist:
        // the event's payload type then takes an `Event` suffix.
        let type_name = if definitions.contains_key(&type_name) {
            format!("{type_name}Event")
        } else {
            type_name
        };
        if definitions.contains_key(&type_name) {
            return Err(Error::at(
                &file,
                format!(
                    "event `{}` would be named `{type_name}`, which another type already uses",
                    ev.name
                ),
            ));
        }
        let mut s = ev.schema.clone();
        for (name, mut def) in hoist_local_definitions(&mut s, &type_name, vs, &definitions) {
            if let Some(values) = string_enum(&def) {
                open_enums.push(OpenEnum {
                    name: name.to_upper_camel_case(),
                    description: String::new(),
                    values,
                });
            }
            normalize(&mut def, &format!("#/definitions/{name}"))
                .map_err(|m| Error::at(&file, m))?;
            files.insert(name.clone(), file.clone());
            definitions.insert(name, def);
        }
        normalize(&mut s, "#").map_err(|m| Error::at(&file, m))?;
        files.insert(type_name.clone(), file.clone());
        definitions.insert(type_name.clone(), s);
        event_types.push((ev.name.clone(), type_name));
    }
    crate::share::share_identical_shapes(&mut definitions);
    let definitions = definitions
        .into_iter()
        .map(|(name, s)| {
            // A shared shape came from several files: the vendor names it.
            let file = files.get(&name).unwrap_or(&vs.dir);
            Ok((name, to_schema(s, file)?))
        })
        .collect::<Result<_, Error>>()?;
    Ok(TypifyInput {
        definitions,
        open_enums,
        event_types,
    })
}

/// Takes the `definitions` out of an event's schema, each named as it is
/// unless the shared definitions (or an earlier event's) hold another
/// schema under that name: then `<EventType><Name>`, with the event's refs
/// (in its schema and its definitions) rewritten to match.
fn hoist_local_definitions(
    event: &mut Value,
    type_name: &str,
    vs: &VendorSchemas,
    taken: &BTreeMap<String, Value>,
) -> Vec<(String, Value)> {
    let Some(Value::Object(local)) = event.as_object_mut().and_then(|o| o.remove("definitions"))
    else {
        return Vec::new();
    };
    let mut renames = BTreeMap::new();
    for (name, def) in &local {
        let clash = vs.definitions.get(name).is_some_and(|d| d != def)
            || taken.contains_key(name) && !vs.definitions.contains_key(name);
        if clash {
            renames.insert(name.clone(), format!("{type_name}{name}"));
        }
    }
    let rename = |v: &mut Value| hookforge_manifest::refs::rename(v, &renames);
    rename(event);
    local
        .into_iter()
        .filter(|(name, def)| renames.contains_key(name) || vs.definitions.get(name) != Some(def))
        .map(|(name, mut def)| {
            rename(&mut def);
            (renames.get(&name).cloned().unwrap_or(name), def)
        })
        .collect()
}

fn to_schema(v: Value, file: &std::path::Path) -> Result<Schema, Error> {
    serde_json::from_value(v).map_err(|e| Error::at(file, format!("not a usable schema: {e}")))
}

/// The values of a schema that is exactly a string enum.
fn string_enum(schema: &Value) -> Option<Vec<String>> {
    let values = schema.get("enum")?.as_array()?;
    values
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn is_nullable(o: &Map<String, Value>) -> bool {
    match o.get("type") {
        Some(Value::Array(a)) => a.iter().any(|t| t == "null"),
        _ => false,
    }
}

/// A property typed `null` alone would become `()` and reject every real
/// value. Docs that only ever show `null` say nothing about the type: such a
/// property must be any value (`{}` with a description saying it is unknown).
fn refuse_null_alone(v: &Value, at: &str) -> Result<(), String> {
    let only_null = match v.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(a)) => !a.is_empty() && a.iter().all(|t| t == "null"),
        _ => false,
    } || v.get("const") == Some(&Value::Null);
    if only_null {
        return Err(format!(
            "`{at}` is typed `null` alone, so every real value would be refused: if the docs only ever show null, make it any value ({{\"description\": \"Unknown: …\"}})"
        ));
    }
    Ok(())
}

fn rust_type(path: &str) -> Value {
    json!({"crate": "hookforge", "version": "*", "path": path})
}

/// An enum's replacement: a named string enum becomes our open enum (see
/// `typify_input`), so typify only needs something well-formed; any other
/// enum (inline, as published schemas write them, or of numbers) is kept as
/// its values' type: open by construction, the value intact.
fn enum_as_type(o: &serde_json::Map<String, Value>) -> Option<Value> {
    let values = o.get("enum")?.as_array()?;
    let mut types: Vec<&str> = values.iter().map(json_type).collect();
    types.sort_unstable();
    types.dedup();
    let mut t = match types.as_slice() {
        [one] => json!({"type": one}),
        _ => json!({"type": types}),
    };
    if let Some(d) = o.get("description") {
        t["description"] = d.clone();
    }
    Some(t)
}

/// The ref of a schema that is only an `allOf` of one `$ref` (and its
/// `type: object`).
fn single_ref_all_of(o: &serde_json::Map<String, Value>) -> Option<String> {
    let [one] = o.get("allOf")?.as_array()?.as_slice() else {
        return None;
    };
    let r = one
        .as_object()
        .filter(|x| x.len() == 1)?
        .get("$ref")?
        .as_str()?;
    let rest_ok = o.iter().all(|(k, v)| match k.as_str() {
        "allOf" => true,
        "type" => v == "object",
        _ => false,
    });
    rest_ok.then(|| r.to_string())
}

/// Rewrites one schema in place; `at` is its location for error messages.
fn normalize(value: &mut Value, at: &str) -> Result<(), String> {
    let Value::Object(o) = value else {
        return Ok(());
    };
    if let Some(t) = enum_as_type(o) {
        *value = t;
        return Ok(());
    }
    if let Some(ext) = o.get("x-rust-type").cloned() {
        // The schema names its Rust type (typify's extension): nothing else matters.
        let desc = o.get("description").cloned();
        *value = json!({"x-rust-type": ext});
        if let Some(d) = desc {
            value["description"] = d;
        }
        return Ok(());
    }
    for k in ANNOTATIONS.iter().chain(VALUE_CONSTRAINTS) {
        o.remove(*k);
    }
    // `{"type": "object", "allOf": [{"$ref": X}]}` is X: typify would name
    // the wrapper after its place, which can be X's own name (Clerk's
    // `OrganizationDomain.verification` and `OrganizationDomainVerification`).
    if let Some(r) = single_ref_all_of(o) {
        *value = json!({"$ref": r});
        return Ok(());
    }
    // Keys that make one Rust field name (Pub/Sub's `messageId` beside
    // `message_id`): the later ones are left to the model's `extra` map,
    // kept as sent.
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        let mut seen = std::collections::BTreeSet::new();
        props.retain(|k, _| seen.insert(k.to_snake_case()));
    }
    const_as_type(o);
    if let Some(Value::String(f)) = o.remove("format")
        && f == "date-time"
    {
        let ext = json!({"x-rust-type": rust_type("hookforge::Timestamp")});
        let replacement = if is_nullable(o) {
            json!({"anyOf": [ext, {"type": "null"}]})
        } else {
            ext
        };
        let desc = o.get("description").cloned();
        *value = replacement;
        if let Some(d) = desc {
            value["description"] = d;
        }
        return Ok(());
    }
    let is_object = match o.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(a)) => a.iter().any(|t| t == "object"),
        _ => o.contains_key("properties"),
    };
    if is_object {
        match o.get("additionalProperties") {
            None | Some(Value::Bool(true)) => {
                o.insert("additionalProperties".into(), json!({}));
            }
            _ => {}
        }
    }
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for (k, p) in props.iter_mut() {
            let here = format!("{at}/properties/{k}");
            refuse_null_alone(p, &here)?;
            normalize(p, &here)?;
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = o.get_mut(key) {
            let here = format!("{at}/{key}");
            if key != "not" {
                refuse_null_alone(child, &here)?;
            }
            normalize(child, &here)?;
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(a)) = o.get_mut(key) {
            for (i, child) in a.iter_mut().enumerate() {
                normalize(child, &format!("{at}/{key}/{i}"))?;
            }
            if value_only_branches(o.get("type"), &o[key]) {
                o.remove(key);
            }
        }
    }
    Ok(())
}

/// Whether a combinator on a scalar only constrained values: every branch,
/// normalised, is `{}`, one of the node's own scalar types or a timestamp
/// of a string node (Zoom's
/// `{"type": "string", "anyOf": [{"format": "date-time"}, {"enum": [""]}]}`).
/// The models do not check values, and typify would make a struct of it
/// that refuses every string.
fn value_only_branches(own: Option<&Value>, branches: &Value) -> bool {
    let scalar = |t: &Value| {
        matches!(
            t.as_str(),
            Some("string" | "integer" | "number" | "boolean" | "null")
        )
    };
    let own: Vec<&Value> = match own {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(t) => vec![t],
        None => return false,
    };
    if own.is_empty() || !own.iter().all(|t| scalar(t)) {
        return false;
    }
    let Some(branches) = branches.as_array() else {
        return false;
    };
    branches.iter().all(|b| {
        b.as_object().is_some_and(|b| {
            b.iter().all(|(k, v)| match k.as_str() {
                "description" => true,
                "type" => own.contains(&v),
                // A `format: date-time` branch: still a string to parse.
                "x-rust-type" => {
                    v["path"] == "hookforge::Timestamp" && own.iter().any(|t| *t == "string")
                }
                _ => false,
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_combinator_that_only_constrains_a_scalar_is_dropped() {
        let mut v = json!({"type": "object", "properties": {
            "end": {"type": "string", "anyOf": [{"format": "date-time"}, {"enum": [""]}]},
            "either": {"type": "string", "anyOf": [{"type": "string"}, {"type": "object"}]}
        }});
        normalize(&mut v, "#").unwrap();
        assert_eq!(v["properties"]["end"], json!({"type": "string"}));
        assert!(v["properties"]["either"].get("anyOf").is_some());
    }

    #[test]
    fn strips_validation_and_opens_objects() {
        let mut v = json!({
            "type": "object",
            "properties": {
                "id": {"type": "string", "pattern": "^x$", "minLength": 3},
                "at": {"type": "string", "format": "date-time", "description": "when"},
                "kind": {"const": "a.b"}
            }
        });
        normalize(&mut v, "#").unwrap();
        assert_eq!(v["additionalProperties"], json!({}));
        assert_eq!(v["properties"]["id"], json!({"type": "string"}));
        assert_eq!(v["properties"]["kind"], json!({"type": "string"}));
        assert_eq!(
            v["properties"]["at"]["x-rust-type"]["path"],
            "hookforge::Timestamp"
        );
        assert_eq!(v["properties"]["at"]["description"], "when");
    }

    #[test]
    fn a_property_typed_null_alone_is_refused_with_its_place() {
        for bad in [
            json!({"type": "null"}),
            json!({"type": ["null"]}),
            json!({"const": null}),
        ] {
            let mut v = json!({"properties": {"data": {"properties": {"subject": bad}}}});
            let err = normalize(&mut v, "#").unwrap_err();
            assert!(
                err.contains("`#/properties/data/properties/subject`"),
                "{err}"
            );
            assert!(err.contains("typed `null` alone"), "{err}");
        }
        let mut items = json!({"properties": {"l": {"type": "array", "items": {"type": "null"}}}});
        let err = normalize(&mut items, "#").unwrap_err();
        assert!(err.contains("`#/properties/l/items`"), "{err}");
        // Nullable unions stay fine.
        let mut ok = json!({"properties": {"s": {"type": ["string", "null"]}, "u": {"anyOf": [{"type": "string"}, {"type": "null"}]}}});
        normalize(&mut ok, "#").unwrap();
    }

    #[test]
    fn an_inline_enum_is_its_values_type() {
        let mut v = json!({"properties": {"s": {"enum": ["A"]}, "n": {"enum": [1, 2, null]}}});
        normalize(&mut v, "#").unwrap();
        assert_eq!(v["properties"]["s"], json!({"type": "string"}));
        assert_eq!(v["properties"]["n"], json!({"type": ["integer", "null"]}));
    }
}
