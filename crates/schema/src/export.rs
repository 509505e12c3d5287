//! A vendor's webhooks as documents other tools read: AsyncAPI 3.0 (the
//! receiver's channel and `receive` operation, one message per event with
//! its payload schema, headers and samples) and OpenAPI 3.1 (one `webhooks`
//! entry per event). Both carry the manifest's security scheme. The shared
//! definitions become `components/schemas`; refs are rewritten to match. A
//! sample whose data holds a `$ref` is not an example there: those tools
//! would try to resolve it.

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
        .map(|e| crate::first_free(&component_key(e.name), |key| seen.insert(key.to_string())))
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
    crate::manifest::refs::each_ref(v, &mut |r| {
        if let Some(at) = r.find("#/definitions/") {
            *r = format!("#/components/schemas/{}", &r[at + "#/definitions/".len()..]);
        }
    });
}

/// The vendor's shared definitions (`definitions.json`), each a component.
fn shared_components(v: &VendorSpec) -> Map<String, Value> {
    match v.definitions() {
        Value::Object(defs) => defs
            .into_iter()
            .map(|(k, s)| (k, component_schema(&s)))
            .collect(),
        _ => Map::new(),
    }
}

/// The shared definitions and those inside event files (what `hookforge
/// infer` writes), each a component; an event's definition whose name is
/// taken by another schema is renamed `<Event><Name>` (see [`payload`]).
fn definitions(v: &VendorSpec) -> Map<String, Value> {
    let mut out = shared_components(v);
    for e in v.events {
        let (_, local) = localized(e, &out);
        out.extend(local);
    }
    out
}

/// An event's schema as a message payload, its own definitions' refs
/// pointing where [`definitions`] put them.
fn payload(v: &VendorSpec, e: &crate::EventInfo) -> Value {
    let mut taken = shared_components(v);
    for other in v.events {
        let (schema, local) = localized(other, &taken);
        if other.name == e.name {
            return component_schema(&schema);
        }
        taken.extend(local);
    }
    component_schema(&serde_json::from_str(e.schema_json).expect("embedded schema is JSON"))
}

/// `e`'s schema with its own definitions renamed where `taken` holds
/// another schema under the name, and those definitions as components.
fn localized(e: &crate::EventInfo, taken: &Map<String, Value>) -> (Value, Map<String, Value>) {
    let mut schema: Value = serde_json::from_str(e.schema_json).expect("embedded schema is JSON");
    let Some(Value::Object(local)) = schema.as_object_mut().and_then(|o| o.remove("definitions"))
    else {
        return (schema, Map::new());
    };
    let prefix = crate::infer::pascal_case(e.name);
    let mut renames = std::collections::BTreeMap::new();
    for (name, def) in &local {
        if taken.get(name).is_some_and(|t| *t != component_schema(def)) {
            renames.insert(name.clone(), format!("{prefix}{name}"));
        }
    }
    let rename = |v: &mut Value| crate::manifest::refs::rename(v, &renames);
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

fn samples(e: &crate::EventInfo) -> Vec<(String, Value)> {
    e.samples
        .iter()
        .filter_map(|s| Some((s.name.to_string(), serde_json::from_slice(s.body).ok()?)))
        .filter(|(_, body)| !has_ref_key(body))
        .collect()
}

/// Whether a body holds a `$ref` anywhere (Square's custom attribute
/// definitions carry a JSON Schema `$ref` as data). AsyncAPI and OpenAPI
/// tools resolve every `$ref` in a document, examples included, so such a
/// sample is left out of the examples; it is still the vendor's sample
/// everywhere else.
fn has_ref_key(v: &Value) -> bool {
    let mut found = false;
    crate::manifest::refs::each_ref(&mut v.clone(), &mut |_| found = true);
    found
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
    if !h.note.is_empty() {
        d.push_str(&format!(" ({})", h.note));
    }
    d.push('.');
    // A literal value is what one delivery carried (GitHub's hook id, a
    // User-Agent with a build suffix), not a promise: an example, never a
    // `const` that would refuse the next real delivery.
    if h.value.contains('{') {
        json!({ "type": "string", "description": d })
    } else {
        json!({ "type": "string", "examples": [h.value], "description": d })
    }
}

/// The body's media type as the vendor sends it: the manifest's content
/// type (SNS posts its JSON as `text/plain`) or its encoding's.
fn content_type(v: &VendorSpec) -> String {
    let body = &v.manifest().body;
    match body.content_types.first() {
        Some(c) if !body.is_form() => c.clone(),
        _ => body.content_type().to_string(),
    }
}

/// The OpenAPI media type object for a body whose event is `schema`: a
/// form whose field carries the event as JSON (Slack's `payload`) says so
/// with an `encoding`.
fn media(v: &VendorSpec, schema: Value) -> Value {
    match &v.manifest().body.json_field {
        Some(field) if v.manifest().body.is_form() => json!({
            "schema": {
                "type": "object",
                "properties": { field.as_str(): schema },
                "required": [field],
            },
            "encoding": { field.as_str(): { "contentType": "application/json" } },
        }),
        _ => json!({ "schema": schema }),
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
        // A signature in the body (Mailgun, Adyen, SNS) is no header
        // scheme; `describe` says where it is.
        Auth::Signature(s) if s.header.is_empty() => None,
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
    if let Auth::Signature(s) = &m.auth
        && let Some(at) = s
            .signature_pointer
            .as_deref()
            .filter(|_| s.header.is_empty())
    {
        d.push_str(&format!(
            "\n\nSigned in the body: the signature is at `{at}`, over `{}`.",
            s.signed
        ));
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
            "contentType": content_type(vendor),
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
        "defaultContentType": content_type(vendor),
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

/// A draft-07 schema in OpenAPI 3.1's dialect (JSON Schema 2020-12): the
/// keywords 2020-12 renamed are renamed, so that they keep their meaning
/// (tuple `items` is `prefixItems`, `additionalItems` is `items`,
/// `dependencies` splits into `dependentRequired` and `dependentSchemas`).
fn openapi_schema(mut schema: Value) -> Value {
    to_2020_12(&mut schema);
    schema
}

fn to_2020_12(schema: &mut Value) {
    let Value::Object(o) = schema else { return };
    if let Some(Value::Array(tuple)) = o.get("items").cloned() {
        o.insert("prefixItems".into(), Value::Array(tuple));
        match o.remove("additionalItems") {
            Some(rest) => o.insert("items".into(), rest),
            None => o.remove("items"),
        };
    }
    if let Some(Value::Object(deps)) = o.remove("dependencies") {
        let (required, schemas): (Map<_, _>, Map<_, _>) =
            deps.into_iter().partition(|(_, d)| d.is_array());
        for (key, part) in [
            ("dependentRequired", required),
            ("dependentSchemas", schemas),
        ] {
            if !part.is_empty() {
                o.insert(key.into(), Value::Object(part));
            }
        }
    }
    // Only into subschemas: a property named `items`, or an example
    // holding `dependencies`, is data, not a keyword.
    for (key, child) in o.iter_mut() {
        match (key.as_str(), child) {
            (
                "properties" | "patternProperties" | "definitions" | "$defs" | "dependentSchemas",
                Value::Object(map),
            ) => map.values_mut().for_each(to_2020_12),
            ("prefixItems" | "allOf" | "anyOf" | "oneOf", Value::Array(list)) => {
                list.iter_mut().for_each(to_2020_12)
            }
            (
                "items"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames",
                sub,
            ) => to_2020_12(sub),
            _ => {}
        }
    }
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
            .map(|(name, payload)| {
                let value = match &vendor.manifest().body.json_field {
                    Some(field) if vendor.manifest().body.is_form() => json!({ field: payload }),
                    _ => payload,
                };
                (component_key(&name), json!({ "value": value }))
            })
            .collect();
        let mut media = media(vendor, openapi_schema(payload(vendor, e)));
        if !examples.is_empty() {
            media["examples"] = Value::Object(examples);
        }
        let mut op = json!({
            "operationId": operation_id,
            "summary": e.name,
            "parameters": params,
            "requestBody": { "required": true, "content": { content_type(vendor): media } },
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
    let schemas: Map<String, Value> = definitions(vendor)
        .into_iter()
        .map(|(k, s)| (k, openapi_schema(s)))
        .collect();
    let mut components = json!({ "schemas": schemas });
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

    fn catalogue_vendor(id: &str) -> &'static VendorSpec {
        hookforge_core::vendor_dir::catalogue::load(id)
            .expect("a catalogue vendor")
            .expect("it loads")
    }

    /// Square's `booking.custom_attribute_definition.owned.created` carries
    /// `"schema": {"$ref": "https://…"}` as data; as an example, AsyncAPI's
    /// parser fetched it (CI's validate-with-ecosystem failed).
    #[test]
    fn a_sample_holding_a_ref_key_is_no_example() {
        assert!(has_ref_key(&json!({"data": [{"schema": {"$ref": "x"}}]})));
        assert!(!has_ref_key(
            &json!({"data": [{"schema": {"ref": "$ref"}}]})
        ));
        let square = catalogue_vendor("square");
        let doc = asyncapi(square);
        let messages = doc["components"]["messages"].as_object().unwrap();
        let held = &messages["booking.custom_attribute_definition.owned.created"];
        assert!(held.get("examples").is_none(), "{held}");
        assert!(messages.values().any(|m| m.get("examples").is_some()));
        for doc in [doc.to_string(), openapi(square).to_string()] {
            assert!(!doc.contains("squarecdn.com/schemas"));
        }
    }

    /// Draft-07 keywords 2020-12 renamed keep their meaning in OpenAPI 3.1;
    /// a property named like a keyword, and example data, are left alone
    /// (helper-58's review: a tuple `items` was exported as it was).
    #[test]
    fn draft_07_keywords_become_2020_12_in_openapi() {
        let got = openapi_schema(json!({
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false},
                "list": {"type": "array", "items": {"type": "string"}},
                "items": {"type": "string"},
                "dependencies": {"type": "object", "properties": {"a": {"type": "string"}}}
            },
            "dependencies": {"tags": ["list"], "list": {"required": ["items"]}},
            "examples": [{"dependencies": {"x": ["y"]}, "items": [1]}]
        }));
        assert_eq!(
            got,
            json!({
                "type": "object",
                "properties": {
                    "tags": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false},
                    "list": {"type": "array", "items": {"type": "string"}},
                    "items": {"type": "string"},
                    "dependencies": {"type": "object", "properties": {"a": {"type": "string"}}}
                },
                "dependentRequired": {"tags": ["list"]},
                "dependentSchemas": {"list": {"required": ["items"]}},
                "examples": [{"dependencies": {"x": ["y"]}, "items": [1]}]
            })
        );
    }

    /// A literal header value is one delivery's, an example; the body's
    /// media type is the vendor's; a signature in the body is no header
    /// scheme (helper-58's review).
    #[test]
    fn headers_are_examples_and_bodies_keep_their_media_type() {
        let catalogue = hookforge_core::vendor_dir::catalogue::ids()
            .map(catalogue_vendor)
            .collect::<Vec<_>>();
        for v in crate::vendors().iter().copied().chain(catalogue) {
            for h in &v.manifest().headers {
                assert!(
                    header_schema(h).get("const").is_none(),
                    "{} {}",
                    v.id,
                    h.name
                );
            }
            let doc = openapi(v);
            if let Some(Value::Object(schemes)) = doc.pointer("/components/securitySchemes") {
                for (name, s) in schemes {
                    assert_ne!(s.get("name"), Some(&json!("")), "{} {name}", v.id);
                }
            }
        }
        let media_of = |id: &str| {
            let doc = openapi(catalogue_vendor(id));
            let first = doc["webhooks"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap();
            let content = first["post"]["requestBody"]["content"].as_object().unwrap();
            content.keys().cloned().collect::<Vec<_>>()
        };
        assert_eq!(
            media_of("twilio_voice"),
            ["application/x-www-form-urlencoded"]
        );
        assert_eq!(media_of("aws_sns"), ["text/plain"]);
        assert_eq!(media_of("github"), ["application/json"]);
        let sns = asyncapi(catalogue_vendor("aws_sns"));
        assert_eq!(sns["defaultContentType"], "text/plain");
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
