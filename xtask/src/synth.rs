//! Synthesized samples: a deterministic, schema-valid payload for an event
//! the vendor documents without an example.
//!
//! Values come, in order of preference, from the schema's `examples`, its
//! `const` or first `enum` value, its `format` (date-time, uuid, email, uri,
//! date), or a readable placeholder built from the property name. Every
//! property is included, optional ones too, so the sample exercises the
//! whole model.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub struct Synth<'a> {
    pub definitions: &'a Map<String, Value>,
    /// Seed for ids, so each sample's ids differ but never change.
    pub seed: String,
}

impl Synth<'_> {
    pub fn value(&self, schema: &Value, name: &str) -> Result<Value, String> {
        self.at(schema, name, name, 0)
    }

    fn at(&self, schema: &Value, name: &str, path: &str, depth: usize) -> Result<Value, String> {
        if depth > 16 {
            return Err(format!("`{path}`: schema nests too deep to synthesize"));
        }
        let schema = self.resolve(schema)?;
        if let Some(e) = schema
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return Ok(e.clone());
        }
        if let Some(c) = schema.get("const") {
            return Ok(c.clone());
        }
        if let Some(e) = schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return Ok(e.clone());
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = schema.get(key).and_then(Value::as_array) {
                let branch = branches
                    .iter()
                    .find(|b| b.get("type") != Some(&json!("null")))
                    .ok_or_else(|| format!("`{path}`: only null branches"))?;
                return self.at(branch, name, path, depth + 1);
            }
        }
        let ty = match schema.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if schema.get("properties").is_some() => "object",
            _ => {
                return Err(format!(
                    "`{path}`: no type, example, const or enum to synthesize from"
                ));
            }
        };
        Ok(match ty {
            "object" => {
                let mut out = Map::new();
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (k, s) in props {
                        out.insert(k.clone(), self.at(s, k, &format!("{path}.{k}"), depth + 1)?);
                    }
                }
                Value::Object(out)
            }
            "array" => match schema.get("items") {
                Some(items) => json!([self.at(items, name, &format!("{path}[0]"), depth + 1)?]),
                None => json!([]),
            },
            "string" => {
                if schema.get("pattern").is_some() {
                    return Err(format!(
                        "`{path}` has a `pattern`; give the schema an `examples` value to synthesize from"
                    ));
                }
                Value::String(self.string(schema.get("format").and_then(Value::as_str), name, path))
            }
            "integer" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
            "number" => json!(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.5)),
            "boolean" => json!(false),
            "null" => Value::Null,
            other => return Err(format!("`{path}`: unknown type {other:?}")),
        })
    }

    fn string(&self, format: Option<&str>, name: &str, path: &str) -> String {
        match format {
            Some("date-time") => "2026-11-01T12:00:00Z".into(),
            Some("date") => "2026-11-01".into(),
            Some("uuid") => uuid(&format!("{}/{path}", self.seed)),
            Some("email") => format!("{}@example.com", words(name).replace(' ', ".")),
            Some("uri") => format!("https://example.com/{}", words(name).replace(' ', "-")),
            // Ids must differ between samples, or receivers would drop them as duplicates.
            _ if name == "id" || name.ends_with("Id") || name.ends_with("_id") => {
                uuid(&format!("{}/{path}", self.seed))
            }
            _ => format!("example {}", words(name)),
        }
    }

    fn resolve<'s>(&'s self, mut s: &'s Value) -> Result<&'s Value, String> {
        for _ in 0..32 {
            let Some(r) = s.get("$ref").and_then(Value::as_str) else {
                return Ok(s);
            };
            let name = r
                .strip_prefix("#/definitions/")
                .ok_or_else(|| format!("unsupported $ref {r:?}"))?;
            s = self
                .definitions
                .get(name)
                .ok_or_else(|| format!("$ref to unknown definition {name:?}"))?;
        }
        Err("$ref chain too long".into())
    }
}

/// `WebhookName` / `webhook_name` → `webhook name`.
fn words(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' {
            out.push(' ');
            prev_lower = false;
        } else if c.is_uppercase() {
            if prev_lower {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A deterministic UUID (version 4 layout) derived from `seed`.
pub fn uuid(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthesizes_every_property_deterministically() {
        let defs: Map<String, Value> = serde_json::from_value(json!({
            "Id": {"type": "string", "format": "uuid"},
            "Status": {"type": "string", "enum": ["READY", "DECLINED"]}
        }))
        .unwrap();
        let schema = json!({
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"const": "quote.status"},
                "id": {"$ref": "#/definitions/Id"},
                "status": {"$ref": "#/definitions/Status"},
                "modified": {"type": "string", "pattern": "x", "examples": ["2021-05-13T06:07:54.407+0000"]},
                "customerEmail": {"type": ["string", "null"], "format": "email"},
                "count": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}}
            }
        });
        let s = Synth {
            definitions: &defs,
            seed: "t".into(),
        };
        let v = s.value(&schema, "root").unwrap();
        assert_eq!(v["type"], "quote.status");
        assert_eq!(v["status"], "READY");
        assert_eq!(v["modified"], "2021-05-13T06:07:54.407+0000");
        assert_eq!(v["customerEmail"], "customer.email@example.com");
        assert_eq!(v["tags"], json!(["example tags"]));
        assert_eq!(v["id"].as_str().unwrap().len(), 36);
        assert_eq!(v, s.value(&schema, "root").unwrap());
        let no_example = json!({"type": "string", "pattern": "^x$"});
        assert!(s.value(&no_example, "p").unwrap_err().contains("examples"));
    }
}
