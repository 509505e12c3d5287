//! Walks a JSON instance alongside its bundled draft-07 schema (the one
//! [`crate::VendorSpec::bundled_schema`] gives): through `$ref`, `allOf`, and
//! the `anyOf`/`oneOf` members whose `type` admits the value. The harness
//! uses it to build drift probes; the tests to vary every optional field.

pub use hookforge_core::manifest::json_type;
use serde_json::Value;

/// What the schema says about the places in one instance, as JSON pointers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Walk {
    /// Keys the schema declares (`properties`) but does not require. Map
    /// entries (`additionalProperties`) are data, not fields, and are not
    /// listed; objects inside them are walked.
    pub optional: Vec<String>,
    /// String values whose schema is a string `enum`.
    pub enums: Vec<String>,
    /// Integer values whose schema is an unbounded `integer` or `number`
    /// (no `maximum`, `enum` or `const`): where a vendor could send an
    /// integer above 2^53.
    pub integers: Vec<String>,
}

/// Walks `instance` with `schema` (its `definitions` resolve `$ref`s).
pub fn walk(schema: &Value, instance: &Value) -> Walk {
    let defs = schema.get("definitions").cloned().unwrap_or(Value::Null);
    let mut found = Walk::default();
    walk_into(schema, &defs, instance, "", &mut found);
    found.optional.sort();
    found.optional.dedup();
    found.enums.sort();
    found.enums.dedup();
    found.integers.sort();
    found.integers.dedup();
    found
}

fn walk_into(schema: &Value, defs: &Value, instance: &Value, at: &str, found: &mut Walk) {
    let branches = branches(schema, defs, instance);
    match instance {
        Value::Object(o) => {
            let required: Vec<&str> = branches
                .iter()
                .filter_map(|b| b.get("required").and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (k, child) in o {
                let ptr = format!("{at}/{}", crate::manifest::escape_token(k));
                let declared: Vec<&Value> = branches
                    .iter()
                    .filter_map(|b| b.get("properties").and_then(|p| p.get(k)))
                    .collect();
                if declared.is_empty() {
                    for b in &branches {
                        if let Some(cs @ Value::Object(_)) = b.get("additionalProperties") {
                            walk_into(cs, defs, child, &ptr, found);
                        }
                    }
                } else if !required.contains(&k.as_str()) {
                    found.optional.push(ptr.clone());
                }
                for cs in declared {
                    walk_into(cs, defs, child, &ptr, found);
                }
            }
        }
        Value::Array(a) => {
            for b in &branches {
                if let Some(items) = b.get("items") {
                    for (i, child) in a.iter().enumerate() {
                        walk_into(items, defs, child, &format!("{at}/{i}"), found);
                    }
                }
            }
        }
        Value::String(_) => {
            let is_enum = branches.iter().any(|b| {
                b.get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string))
            });
            if is_enum {
                found.enums.push(at.to_string());
            }
        }
        Value::Number(n) if n.is_u64() || n.is_i64() => {
            let numeric = |t: &Value| matches!(t.as_str(), Some("integer" | "number"));
            let typed = branches.iter().any(|b| match b.get("type") {
                Some(Value::Array(ts)) => ts.iter().any(numeric),
                Some(t) => numeric(t),
                None => false,
            });
            let bounded = branches.iter().any(|b| {
                ["maximum", "exclusiveMaximum", "enum", "const"]
                    .iter()
                    .any(|k| b.get(*k).is_some())
            });
            if typed && !bounded && !at.is_empty() {
                found.integers.push(at.to_string());
            }
        }
        _ => {}
    }
}

/// How many `$ref`s in a row, or nested `allOf`/`anyOf`/`oneOf`, are
/// followed: a schema that refers to itself without an object in between
/// is cut off here rather than looping.
const MAX_HOPS: usize = hookforge_core::manifest::refs::MAX_HOPS;

/// `schema` with its `$ref`s followed.
fn resolve<'a>(schema: &'a Value, defs: &'a Value) -> &'a Value {
    hookforge_core::manifest::refs::resolve(schema, |name| defs.get(name))
}

/// `schema` resolved, and every `allOf` member and every `anyOf`/`oneOf`
/// member whose `type` admits the instance, recursively.
fn branches<'a>(schema: &'a Value, defs: &'a Value, instance: &Value) -> Vec<&'a Value> {
    let mut out = Vec::new();
    collect_branches(schema, defs, instance, 0, &mut out);
    out
}

fn collect_branches<'a>(
    schema: &'a Value,
    defs: &'a Value,
    instance: &Value,
    depth: usize,
    out: &mut Vec<&'a Value>,
) {
    let s = resolve(schema, defs);
    // A schema met again (through a cycle, or twice in a union) adds nothing.
    if out.iter().any(|seen| std::ptr::eq(*seen, s)) || depth >= MAX_HOPS {
        return;
    }
    out.push(s);
    for b in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_branches(b, defs, instance, depth + 1, out);
    }
    for key in ["anyOf", "oneOf"] {
        for b in s.get(key).and_then(Value::as_array).into_iter().flatten() {
            if admits(resolve(b, defs), instance) {
                collect_branches(b, defs, instance, depth + 1, out);
            }
        }
    }
}

fn admits(schema: &Value, instance: &Value) -> bool {
    let kind = json_type(instance);
    let fits = |t: &str| t == kind || (t == "number" && kind == "integer");
    match schema.get("type") {
        None => true,
        Some(Value::String(t)) => fits(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(fits),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_optional_fields_and_enums_through_refs_and_unions() {
        let schema = json!({
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "state": {"$ref": "#/definitions/State"},
                "owner": {"anyOf": [{"$ref": "#/definitions/Owner"}, {"type": "null"}]},
                "tags": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Owner"}}
            },
            "definitions": {
                "State": {"type": "string", "enum": ["open", "closed"]},
                "Owner": {"type": "object", "required": ["name"],
                          "properties": {"name": {"type": "string"}, "mail": {"type": "string"}}}
            }
        });
        let doc = json!({"id": "1", "state": "open",
                         "owner": {"name": "a", "mail": "m"},
                         "tags": {"x": {"name": "b", "mail": "n"}}});
        let w = walk(&schema, &doc);
        assert_eq!(
            w.optional,
            ["/owner", "/owner/mail", "/state", "/tags", "/tags/x/mail"]
        );
        assert_eq!(w.enums, ["/state"]);
    }

    #[test]
    fn schemas_that_refer_to_themselves_end() {
        let schema = json!({
            "$ref": "#/definitions/A",
            "definitions": {
                "A": {"$ref": "#/definitions/B"},
                "B": {"allOf": [{"$ref": "#/definitions/A"}, {"$ref": "#/definitions/B"}],
                      "properties": {"x": {}}}
            }
        });
        assert_eq!(walk(&schema, &json!({"x": 1})).optional, ["/x"]);
    }
}
