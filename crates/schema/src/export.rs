//! A vendor's webhooks as documents other tools read: AsyncAPI 3.0 (the
//! receiver's channel and `receive` operation, one message per event with
//! its payload schema, headers and samples) and OpenAPI 3.1 (one `webhooks`
//! entry per event). Both carry the manifest's security scheme. The shared
//! definitions become `components/schemas`; refs are rewritten to match.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::VendorSpec;
use crate::manifest::{Auth, HeaderSpec, StatusPattern};

/// A name usable as an AsyncAPI/OpenAPI component key (`[A-Za-z0-9._-]`):
/// `ordering::file_added` → `ordering__file_added`.
pub fn component_key(event: &str) -> String {
    event
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Unique component keys for the vendor's events, in order.
fn keys(v: &VendorSpec) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.events
        .iter()
        .map(|e| {
            let base = component_key(e.name);
            let mut key = base.clone();
            let mut n = 2;
            while !seen.insert(key.clone()) {
                key = format!("{base}_{n}");
                n += 1;
            }
            key
        })
        .collect()
}

/// A schema as a component: no `$schema`/`$id`/`definitions` of its own,
/// refs into the shared definitions pointed at `components/schemas`.
fn component_schema(schema: &Value) -> Value {
    let mut s = schema.clone();
    if let Value::Object(o) = &mut s {
        o.remove("$schema");
        o.remove("$id");
        o.remove("definitions");
    }
    retarget_refs(&mut s);
    s
}

fn retarget_refs(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref")
                && let Some(at) = r.find("#/definitions/")
            {
                *r = format!("#/components/schemas/{}", &r[at + "#/definitions/".len()..]);
            }
            o.values_mut().for_each(retarget_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(retarget_refs),
        _ => {}
    }
}

/// The shared definitions and those inside event files (what `hookforge
/// infer` writes), each a component; an event's definition whose name is
/// taken by another schema is renamed `<Event><Name>` (see [`payload`]).
fn definitions(v: &VendorSpec) -> Map<String, Value> {
    let mut out: Map<String, Value> = match v.definitions() {
        Value::Object(defs) => defs
            .into_iter()
            .map(|(k, s)| (k, component_schema(&s)))
            .collect(),
        _ => Map::new(),
    };
    for e in v.events {
        let (_, local) = localized(v, e, &out);
        out.extend(local);
    }
    out
}

/// An event's schema as a message payload, its own definitions' refs
/// pointing where [`definitions`] put them.
fn payload(v: &VendorSpec, e: &crate::EventInfo) -> Value {
    let mut taken = match v.definitions() {
        Value::Object(defs) => defs
            .into_iter()
            .map(|(k, s)| (k, component_schema(&s)))
            .collect(),
        _ => Map::new(),
    };
    for other in v.events {
        let (schema, local) = localized(v, other, &taken);
        if other.name == e.name {
            return component_schema(&schema);
        }
        taken.extend(local);
    }
    component_schema(&serde_json::from_str(e.schema_json).expect("embedded schema is JSON"))
}

/// `e`'s schema with its own definitions renamed where `taken` holds
/// another schema under the name, and those definitions as components.
fn localized(
    v: &VendorSpec,
    e: &crate::EventInfo,
    taken: &Map<String, Value>,
) -> (Value, Map<String, Value>) {
    let mut schema: Value = serde_json::from_str(e.schema_json).expect("embedded schema is JSON");
    let Some(Value::Object(local)) = schema.as_object_mut().and_then(|o| o.remove("definitions"))
    else {
        return (schema, Map::new());
    };
    let _ = v;
    let prefix: String = e
        .name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
        .collect();
    let mut renames = std::collections::BTreeMap::new();
    for (name, def) in &local {
        if taken.get(name).is_some_and(|t| *t != component_schema(def)) {
            renames.insert(name.clone(), format!("{prefix}{name}"));
        }
    }
    let rename = |v: &mut Value| rename_local_refs(v, &renames);
    rename(&mut schema);
    let defs = local
        .into_iter()
        .map(|(name, mut def)| {
            rename(&mut def);
            (
                renames.get(&name).cloned().unwrap_or(name),
                component_schema(&def),
            )
        })
        .collect();
    (schema, defs)
}

/// `#/definitions/<old>` refs to `#/definitions/<new>`.
fn rename_local_refs(v: &mut Value, renames: &std::collections::BTreeMap<String, String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref")
                && let Some(new) = r
                    .strip_prefix("#/definitions/")
                    .and_then(|n| renames.get(n))
            {
                *r = format!("#/definitions/{new}");
            }
            o.values_mut().for_each(|c| rename_local_refs(c, renames));
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rename_local_refs(c, renames)),
        _ => {}
    }
}

fn samples(e: &crate::EventInfo) -> Vec<(String, Value)> {
    e.samples
        .iter()
        .filter_map(|s| Some((s.name.to_string(), serde_json::from_slice(s.body).ok()?)))
        .collect()
}

/// The headers of a delivery as a JSON Schema object (names as sent).
fn headers_schema(v: &VendorSpec) -> Value {
    let mut props = Map::new();
    for h in &v.manifest().headers {
        props.insert(h.name.clone(), header_schema(h));
    }
    json!({ "type": "object", "properties": props })
}

fn header_schema(h: &HeaderSpec) -> Value {
    let mut d = format!("Sent as `{}`", h.value);
    if let Some(when) = &h.only_when {
        d.push_str(&format!(", only when {when}"));
    }
    if let Some(n) = &h.note {
        d.push_str(&format!(" ({n})"));
    }
    d.push('.');
    if h.value.contains('{') {
        json!({ "type": "string", "description": d })
    } else {
        json!({ "type": "string", "const": h.value, "description": d })
    }
}

/// The manifest's authentication as a security scheme (name, scheme), or
/// `None` when the vendor documents none.
fn security_scheme(vendor: &VendorSpec, openapi: bool) -> Option<(String, Value)> {
    match &vendor.manifest().auth {
        Auth::None { .. } => None,
        Auth::Bearer { header, prefix, .. }
            if header.eq_ignore_ascii_case("authorization") && prefix.trim() == "Bearer" =>
        {
            Some((
                "bearer".into(),
                json!({ "type": "http", "scheme": "bearer", "description": "The static secret shown at registration, sent as `Authorization: Bearer <secret>`." }),
            ))
        }
        Auth::Bearer { header, prefix, .. } => Some((
            "sharedSecret".into(),
            json!({ "type": "httpApiKey", "name": header, "in": "header", "description": format!("The static secret, sent as `{header}: {prefix}<secret>`.") }),
        )),
        Auth::Hmac {
            header,
            hash,
            encoding,
            documented,
            ..
        } => Some((
            "signature".into(),
            json!({
                "type": if openapi { "apiKey" } else { "httpApiKey" },
                "name": header,
                "in": "header",
                "description": format!(
                    "HMAC-{} of the raw request body keyed with the webhook secret, {} encoded{}.",
                    format!("{hash:?}").to_uppercase(),
                    format!("{encoding:?}").to_lowercase(),
                    if *documented { "" } else { " (the algorithm is not documented by the vendor; this is hookforge's configurable default)" }
                )
            }),
        )),
        Auth::Signature(s) if s.is_static() => Some((
            "sharedSecret".into(),
            json!({ "type": if openapi { "apiKey" } else { "httpApiKey" }, "name": s.header, "in": "header", "description": format!("The static secret, sent as `{}: {}`.", s.header, s.format.replace("{secret}", "<secret>")) }),
        )),
        Auth::Signature(s) => Some((
            "signature".into(),
            json!({
                "type": if openapi { "apiKey" } else { "httpApiKey" },
                "name": s.header,
                "in": "header",
                "description": format!(
                    "`{}`, where sig is the {}-encoded {} of `{}`{}{}.",
                    s.format,
                    s.encoding.map(|e| format!("{e:?}").to_lowercase()).unwrap_or_default(),
                    match s.hash {
                        Some(h) => format!("HMAC-{} keyed with the webhook secret", format!("{h:?}").to_uppercase()),
                        None => format!("{} signature by the vendor's private key", s.algorithm.as_str()),
                    },
                    s.signed,
                    s.timestamp_header.as_ref().map(|h| format!("; the timestamp is sent in `{h}`")).unwrap_or_default(),
                    s.id_header.as_ref().map(|h| format!("; the id in `{h}`")).unwrap_or_default(),
                )
            }),
        )),
        Auth::Jwt(j) => Some((
            "jwt".into(),
            json!({
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": format!(
                    "A JWT ({}) in `{}`{}.",
                    j.algorithms.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "),
                    j.header,
                    j.audience.as_ref().map(|a| format!(", audience {a}")).unwrap_or_default()
                )
            }),
        )),
        Auth::StandardWebhooks { tolerance_secs } => Some((
            "standardWebhooks".into(),
            json!({
                "type": if openapi { "apiKey" } else { "httpApiKey" },
                "name": "webhook-signature",
                "in": "header",
                "description": format!("Standard Webhooks: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` with `webhook-id` and `webhook-timestamp` (tolerance {tolerance_secs} s).")
            }),
        )),
    }
}

fn describe(v: &VendorSpec) -> String {
    let m = v.manifest();
    let mut d = m.description.clone();
    if !m.docs.is_empty() {
        d.push_str(&format!("\n\nVendor documentation: {}", m.docs.join(", ")));
    }
    d.push_str(&format!(
        "\n\nSuccess: {} answers{}. Generated by hookforge from its schemas.",
        StatusPattern::list(&m.success.statuses, ", "),
        m.success
            .timeout_secs
            .map(|t| format!(" within {t} s"))
            .unwrap_or_default()
    ));
    d
}

/// The vendor's webhooks as an AsyncAPI 3.0 document: the receiver's
/// endpoint is the channel (`/hooks/<vendor>`), the operation is `receive`.
pub fn asyncapi(vendor: &VendorSpec) -> Value {
    let keys = keys(vendor);
    let mut messages = Map::new();
    let mut channel_messages = Map::new();
    let mut op_messages = Vec::new();
    for (e, key) in vendor.events.iter().zip(&keys) {
        let examples: Vec<Value> = samples(e)
            .into_iter()
            .map(|(name, payload)| json!({ "name": name, "payload": payload }))
            .collect();
        let mut m = json!({
            "name": e.name,
            "title": e.name,
            "contentType": "application/json",
            "headers": headers_schema(vendor),
            "payload": payload(vendor, e),
        });
        if !e.description.is_empty() {
            m["summary"] = Value::String(e.description.to_string());
        }
        if !examples.is_empty() {
            m["examples"] = Value::Array(examples);
        }
        messages.insert(key.clone(), m);
        channel_messages.insert(
            key.clone(),
            json!({ "$ref": format!("#/components/messages/{key}") }),
        );
        op_messages.push(json!({ "$ref": format!("#/channels/deliveries/messages/{key}") }));
    }
    let security = security_scheme(vendor, false);
    let mut components = json!({
        "messages": messages,
        "schemas": definitions(vendor),
    });
    let mut operation = json!({
        "action": "receive",
        "title": format!("Receive {} deliveries", vendor.name),
        "summary": "Each delivery is one HTTPS POST of one event to your endpoint.",
        "channel": { "$ref": "#/channels/deliveries" },
        "messages": op_messages,
        "bindings": { "http": { "method": "POST" } },
    });
    if let Some((name, scheme)) = &security {
        components["securitySchemes"] = json!({ name: scheme });
        operation["security"] = json!([{ "$ref": format!("#/components/securitySchemes/{name}") }]);
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": format!("{} webhooks", vendor.name),
            "version": env!("CARGO_PKG_VERSION"),
            "description": describe(vendor),
        },
        "defaultContentType": "application/json",
        "servers": {
            "receiver": {
                "host": "receiver.example.com",
                "protocol": "https",
                "description": "Your endpoint (hookforge serve listens on /hooks/<vendor>).",
            }
        },
        "channels": {
            "deliveries": {
                "address": format!("/hooks/{}", vendor.id),
                "title": format!("{} deliveries", vendor.name),
                "messages": channel_messages,
            }
        },
        "operations": { format!("receive{}", crate::infer::pascal_case(vendor.id)): operation },
        "components": components,
    })
}

/// The vendor's webhooks as an OpenAPI 3.1 document: one `webhooks` entry
/// per event, a POST whose body is the event's schema.
pub fn openapi(vendor: &VendorSpec) -> Value {
    let keys = keys(vendor);
    let success = &vendor.manifest().success;
    let ok_status = success
        .statuses
        .iter()
        .find_map(|s| match s {
            StatusPattern::Code(c) => Some(c.to_string()),
            StatusPattern::Class(_) => None,
        })
        .unwrap_or_else(|| "200".into());
    let security = security_scheme(vendor, true);
    let params: Vec<Value> = vendor
        .manifest()
        .headers
        .iter()
        // OpenAPI describes Content-Type and Authorization elsewhere.
        .filter(|h| {
            !h.name.eq_ignore_ascii_case("content-type")
                && !h.name.eq_ignore_ascii_case("authorization")
        })
        .map(|h| {
            json!({
                "name": h.name,
                "in": "header",
                "required": h.only_when.is_none(),
                "schema": header_schema(h),
            })
        })
        .collect();
    let mut webhooks = Map::new();
    // Unique, as OpenAPI requires: `a.b` and `a/b` both read `a_b` here.
    let mut operation_ids = std::collections::HashSet::new();
    for (e, key) in vendor.events.iter().zip(&keys) {
        let base = format!("{}_{}", vendor.id, key.replace(['.', '-'], "_"));
        let operation_id = (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}_{n}")
                }
            })
            .find(|id| operation_ids.insert(id.clone()))
            .expect("a free suffix");
        let examples: Map<String, Value> = samples(e)
            .into_iter()
            .map(|(name, payload)| (component_key(&name), json!({ "value": payload })))
            .collect();
        let mut media = json!({ "schema": payload(vendor, e) });
        if !examples.is_empty() {
            media["examples"] = Value::Object(examples);
        }
        let mut op = json!({
            "operationId": operation_id,
            "summary": e.name,
            "parameters": params,
            "requestBody": { "required": true, "content": { "application/json": media } },
            "responses": {
                ok_status.clone(): { "description": format!("Received. {} counts {} as success.", vendor.name, StatusPattern::list(&success.statuses, ", ")) }
            },
        });
        if !e.description.is_empty() {
            op["description"] = Value::String(e.description.to_string());
        }
        if let Some((name, _)) = &security {
            op["security"] = json!([{ name: [] }]);
        }
        webhooks.insert(e.name.to_string(), json!({ "post": op }));
    }
    let mut components = json!({ "schemas": definitions(vendor) });
    if let Some((name, scheme)) = &security {
        components["securitySchemes"] = json!({ name: scheme });
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} webhooks", vendor.name),
            "version": env!("CARGO_PKG_VERSION"),
            "description": describe(vendor),
        },
        "webhooks": webhooks,
        "components": components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_component_safe_and_unique() {
        assert_eq!(
            component_key("ordering::file_added"),
            "ordering__file_added"
        );
        assert_eq!(component_key("quote.created"), "quote.created");
        for v in crate::vendors() {
            let k = keys(v);
            assert_eq!(k.len(), v.events.len());
            assert_eq!(k.iter().collect::<BTreeSet<_>>().len(), k.len(), "{}", v.id);
        }
    }

    #[test]
    fn every_ref_points_at_a_component_that_exists() {
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if let Some(Value::String(r)) = o.get("$ref") {
                        out.push(r.clone());
                    }
                    o.values().for_each(|x| refs(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
                _ => {}
            }
        }
        for v in crate::vendors() {
            for doc in [asyncapi(v), openapi(v)] {
                let mut all = Vec::new();
                refs(&doc, &mut all);
                for r in all {
                    let pointer = r
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("external ref {r}"));
                    assert!(doc.pointer(pointer).is_some(), "{}: dangling {r}", v.id);
                }
            }
        }
    }
}
