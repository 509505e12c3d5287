//! The cases of a conformance run: every sample as the vendor sends it, and
//! the negative cases a receiver must survive, one function each.

use serde_json::{Value, json};

use crate::VendorSpec;
use crate::auth::{Secret, Signer};
use crate::conformance::delivery::{Attempt, vendor_headers};
use crate::conformance::harness::HarnessError;
use crate::schema_walk::walk;

/// What one case sends and how its answer is judged.
pub(crate) struct Plan {
    pub id: String,
    /// Requests in order; all must meet their expectation.
    pub steps: Vec<Step>,
    /// Why the case does not apply (then `steps` is empty).
    pub skip: Option<String>,
}

pub(crate) struct Step {
    pub what: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    pub expect: Expect,
}

#[derive(Clone, Copy)]
pub(crate) enum Expect {
    /// The vendor's success rule.
    Success,
    /// 401 or 403.
    Unauthorized,
    /// Any 4xx.
    ClientError,
}

/// The headers the vendor sends with `body`, signed when `signer` is set.
pub(crate) fn headers(
    v: &VendorSpec,
    body: &[u8],
    signer: Option<&Signer>,
) -> Vec<(String, String)> {
    headers_as(v, body, signer, None)
}

/// [`headers`] for a delivery of `event`. Vendors whose type is joined from a
/// header and the body need it; for the derived cases (fresh copies of the
/// first sample) it is the first sample's event.
pub(crate) fn headers_as(
    v: &VendorSpec,
    body: &[u8],
    signer: Option<&Signer>,
    event: Option<&str>,
) -> Vec<(String, String)> {
    let event_type = event.map(str::to_string).or_else(|| {
        v.manifest().event_type.join.as_ref()?;
        v.events
            .iter()
            .find(|e| !e.samples.is_empty())
            .map(|e| e.name.to_string())
    });
    let attempt = Attempt {
        event_type,
        ..Attempt::default()
    };
    vendor_headers(v, body, signer, &attempt).unwrap_or_else(|_| {
        // Bodies that are not deliveries (the malformed case) still get
        // the vendor's content type and auth.
        let mut h = vec![("Content-Type".to_string(), "application/json".to_string())];
        if let Some(s) = signer {
            for (k, v) in s.sign(body, &crate::auth::SignContext::now("msg_malformed")) {
                h.push((k.to_string(), v.to_str().unwrap_or_default().to_string()));
            }
        }
        h
    })
}

/// One case per sample, its body passed through `rewrite` (the sandbox
/// points vendor URLs at itself).
pub(crate) fn samples(
    v: &VendorSpec,
    signer: Option<&Signer>,
    rewrite: impl Fn(&[u8]) -> Vec<u8>,
) -> Vec<Plan> {
    let mut plans = Vec::new();
    for e in v.events {
        for s in e.samples {
            let body = rewrite(s.body);
            plans.push(Plan {
                id: format!("{}/{}/{}", v.id, e.name, s.name),
                steps: vec![Step {
                    what: format!("sample {}", s.path),
                    headers: headers_as(v, &body, signer, Some(e.name)),
                    body,
                    expect: Expect::Success,
                }],
                skip: None,
            });
        }
    }
    plans
}

/// A delivery without its credentials, and one signed with a wrong secret:
/// both must be refused with 401 or 403.
pub(crate) fn auth(
    v: &VendorSpec,
    unsigned_body: Vec<u8>,
    wrong_body: Vec<u8>,
    wrong: Option<&Signer>,
) -> Vec<Plan> {
    vec![
        Plan {
            id: format!("{}/auth/missing", v.id),
            steps: vec![Step {
                what: "a valid delivery without its signature or bearer".into(),
                headers: headers(v, &unsigned_body, None),
                body: unsigned_body,
                expect: Expect::Unauthorized,
            }],
            skip: None,
        },
        Plan {
            id: format!("{}/auth/invalid", v.id),
            steps: vec![Step {
                what: "a valid delivery signed with the wrong secret".into(),
                headers: headers(v, &wrong_body, wrong),
                body: wrong_body,
                expect: Expect::Unauthorized,
            }],
            skip: None,
        },
    ]
}

/// The auth cases, skipped: the vendor documents none and no secret is set.
pub(crate) fn auth_not_applicable(v: &VendorSpec) -> Vec<Plan> {
    ["missing", "invalid", "prefix"]
        .into_iter()
        .map(|id| Plan {
            id: format!("{}/auth/{id}", v.id),
            steps: Vec::new(),
            skip: Some(format!(
                "{} documents no authentication and no secret is configured",
                v.name
            )),
        })
        .collect()
}

/// An event type the vendor has not documented: must succeed (kept, not refused).
pub(crate) fn unknown_event(
    v: &VendorSpec,
    fresh: &[u8],
    signer: Option<&Signer>,
) -> Result<Plan, HarnessError> {
    let mut doc: Value = serde_json::from_slice(fresh)
        .map_err(|e| HarnessError::Internal(format!("a fresh delivery is not JSON: {e}")))?;
    if let Some(p) = &v.manifest().event_type.pointer
        && let Some(slot) = doc.pointer_mut(p)
    {
        *slot = Value::String("hookforge.conformance.undocumented_event".into());
    }
    let body = serde_json::to_vec(&doc).expect("Value serializes");
    Ok(Plan {
        id: format!("{}/unknown-event", v.id),
        steps: vec![Step {
            what: "an undocumented event type".into(),
            headers: headers(v, &body, signer),
            body,
            expect: Expect::Success,
        }],
        skip: None,
    })
}

/// The same delivery twice: both must succeed (the second is a duplicate).
pub(crate) fn duplicate(v: &VendorSpec, body: Vec<u8>, signer: Option<&Signer>) -> Plan {
    let headers = headers(v, &body, signer);
    Plan {
        id: format!("{}/duplicate", v.id),
        steps: vec![
            Step {
                what: "a new delivery".into(),
                body: body.clone(),
                headers: headers.clone(),
                expect: Expect::Success,
            },
            Step {
                what: "the same delivery again".into(),
                body,
                headers,
                expect: Expect::Success,
            },
        ],
        skip: None,
    }
}

/// A malformed body (a 4xx), then a valid delivery right after (success:
/// the receiver survived).
pub(crate) fn malformed(v: &VendorSpec, good: Vec<u8>, signer: Option<&Signer>) -> Plan {
    let bad = b"{\"this is\": not JSON, \"truncated".to_vec();
    Plan {
        id: format!("{}/malformed", v.id),
        steps: vec![
            Step {
                what: "a malformed body".into(),
                headers: headers(v, &bad, signer),
                body: bad,
                expect: Expect::ClientError,
            },
            Step {
                what: "a valid delivery right after".into(),
                headers: headers(v, &good, signer),
                body: good,
                expect: Expect::Success,
            },
        ],
        skip: None,
    }
}

/// A secret that is certainly not the configured one, in the same format
/// and of the same length (so a signature has the right length and
/// encoding): every letter and digit shifted by one within its class; a
/// Standard Webhooks key with every byte changed.
pub(crate) fn wrong_secret(s: Option<&Secret>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some(real) = s.map(Secret::expose) else {
        return "hookforge-conformance-wrong-secret".into();
    };
    if let Some(key) = real.strip_prefix("whsec_").and_then(|k| b64.decode(k).ok()) {
        let flipped: Vec<u8> = key.iter().map(|b| b ^ 0xa5).collect();
        return format!("whsec_{}", b64.encode(flipped));
    }
    let shifted: String = real
        .chars()
        .map(|c| match c {
            'a'..='y' | 'A'..='Y' | '0'..='8' => (c as u8 + 1) as char,
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            c => c,
        })
        .collect();
    if shifted == real {
        // Nothing to shift (no letter or digit): change the last character.
        let mut v: Vec<char> = real.chars().collect();
        if let Some(last) = v.last_mut() {
            *last = if *last == '-' { '_' } else { '-' };
        }
        return v.into_iter().collect();
    }
    shifted
}

/// A new delivery based on `base`: a fresh event id where the vendor sends
/// one (same shape, last characters changed), otherwise a nonce field
/// (receivers must keep unknown fields) so content-hash dedupe sees it as new.
pub fn fresh_delivery(v: &VendorSpec, base: &[u8], nonce: &str) -> Vec<u8> {
    let mut doc: Value = match serde_json::from_slice(base) {
        Ok(d) => d,
        Err(_) => return base.to_vec(),
    };
    let id_ptr = v
        .manifest()
        .event_id
        .as_ref()
        .and_then(|l| l.pointer.clone());
    match id_ptr.as_deref().and_then(|p| doc.pointer_mut(p)) {
        Some(Value::String(id)) => *id = mutate_id(id, nonce),
        _ => {
            if let Value::Object(o) = &mut doc {
                o.insert("x_hookforge_nonce".into(), Value::String(nonce.into()));
            }
        }
    }
    serde_json::to_vec(&doc).expect("Value serializes")
}

/// Changes the last characters of an id, each within its own class (digits,
/// hex letters, Crockford letters), so the id keeps its documented format.
pub fn mutate_id(id: &str, nonce: &str) -> String {
    const CROCKFORD_LETTERS: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ";
    let h = crate::util::sha256_hex(nonce.as_bytes());
    let mut seed = h.bytes().cycle();
    let mut chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    for c in chars.iter_mut().skip(n.saturating_sub(10)) {
        let r = seed.next().unwrap_or(b'0') as usize;
        *c = match *c {
            '0'..='9' => (b'0' + (r % 10) as u8) as char,
            'a'..='f' => (b'a' + (r % 6) as u8) as char,
            'A'..='Z' if c.is_ascii_uppercase() => {
                CROCKFORD_LETTERS[r % CROCKFORD_LETTERS.len()] as char
            }
            'g'..='z' => (b'a' + (r % 26) as u8) as char,
            other => other,
        };
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutated_ids_keep_their_format() {
        let ulid = "evt_01KV59VZ502G6BXAD1YKNHQHNB";
        let m = mutate_id(ulid, "x");
        assert_ne!(m, ulid);
        assert_eq!(m.len(), ulid.len());
        assert!(
            m[4..]
                .bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
            "{m}"
        );
        let uuid = "1fc5752a-6de8-412d-847a-12d5529a0ec6";
        let m = mutate_id(uuid, "x");
        assert_ne!(m, uuid);
        assert!(m.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{m}");
        assert_eq!(mutate_id(uuid, "x"), m);
        assert_ne!(mutate_id(uuid, "y"), m);
    }
}

/// The real secret with characters appended: a receiver that checks only
/// that the credential *starts with* the secret accepts it. For bearer and
/// shared-secret schemes (`longer` signs with the longer secret).
pub(crate) fn auth_prefix(v: &VendorSpec, body: Vec<u8>, longer: Option<&Signer>) -> Plan {
    Plan {
        id: format!("{}/auth/prefix", v.id),
        steps: vec![Step {
            what: "a valid delivery whose credential is the secret with characters appended".into(),
            headers: headers(v, &body, longer),
            body,
            expect: Expect::Unauthorized,
        }],
        skip: None,
    }
}

/// A correctly signed delivery whose timestamp is outside the tolerance:
/// for timestamped schemes (Standard Webhooks), a replay.
pub(crate) fn auth_stale(
    v: &VendorSpec,
    body: Vec<u8>,
    signer: Option<&Signer>,
    tolerance_secs: u64,
) -> Plan {
    let stale = crate::util::since_epoch()
        .as_secs()
        .saturating_sub(tolerance_secs + 300);
    let attempt = Attempt {
        attempt: 0,
        timestamp: Some(stale),
        event_type: None,
    };
    let headers = vendor_headers(v, &body, signer, &attempt).unwrap_or_default();
    Plan {
        id: format!("{}/auth/stale", v.id),
        steps: vec![Step {
            what: format!(
                "a correctly signed delivery timestamped {} s ago (tolerance {tolerance_secs} s)",
                tolerance_secs + 300
            ),
            headers,
            body,
            expect: Expect::Unauthorized,
        }],
        skip: None,
    }
}

/// The same JSON value in other bytes, each signed over its own bytes: a
/// receiver must verify the bytes it received, not a re-serialization, and
/// keep numbers exactly. `fresh` gives a new delivery per probe.
pub(crate) fn byte_probes(
    v: &VendorSpec,
    fresh: &dyn Fn(&str) -> Vec<u8>,
    signer: Option<&Signer>,
) -> Result<Vec<Plan>, HarnessError> {
    let value = |tag: &str| -> Result<Value, HarnessError> {
        serde_json::from_slice(&fresh(tag))
            .map_err(|e| HarnessError::Internal(format!("a fresh delivery is not JSON: {e}")))
    };
    let mut numbers = value("bn")?;
    if let Value::Object(o) = &mut numbers {
        o.insert("x_hookforge_numbers".into(), Value::Null);
    }
    let probes: [(&str, &str, Vec<u8>); 4] = [
        (
            "whitespace",
            "pretty-printed with CRLF line ends and tabs",
            write_json(&value("bw")?, Style::Pretty),
        ),
        (
            "key-order",
            "every object's keys in reverse order",
            write_json(&value("bk")?, Style::ReversedKeys),
        ),
        (
            "unicode-escapes",
            "non-ASCII characters, `/` and each string's first letter \\u-escaped",
            write_json(&value("bu")?, Style::Escaped),
        ),
        (
            "numbers",
            "an added field holding 1.0, 1e2 and 9007199254740993 (above 2^53)",
            write_json(&numbers, Style::Compact),
        ),
    ];
    Ok(probes
        .into_iter()
        .map(|(kind, how, body)| Plan {
            id: format!("{}/bytes/{kind}", v.id),
            steps: vec![Step {
                what: format!("a valid delivery, {how}"),
                headers: headers(v, &body, signer),
                body,
                expect: Expect::Success,
            }],
            skip: None,
        })
        .collect())
}

/// How [`write_json`] lays out the bytes.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    Compact,
    Pretty,
    ReversedKeys,
    Escaped,
}

/// JSON text for `v` in a given style. `x_hookforge_numbers: null` is written
/// as the literal number forms the `numbers` probe promises.
fn write_json(v: &Value, style: Style) -> Vec<u8> {
    let mut out = String::new();
    write_value(v, style, 0, &mut out);
    out.into_bytes()
}

fn write_value(v: &Value, style: Style, depth: usize, out: &mut String) {
    let pretty = style == Style::Pretty;
    let newline = |out: &mut String, d: usize| {
        if pretty {
            out.push_str("\r\n");
            out.push_str(&"\t".repeat(d));
        }
    };
    match v {
        Value::Object(o) => {
            out.push('{');
            let mut keys: Vec<&String> = o.keys().collect();
            if style == Style::ReversedKeys {
                keys.reverse();
            }
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_string(k, style, out);
                out.push_str(if pretty { ": " } else { ":" });
                if k.as_str() == "x_hookforge_numbers" && o[*k].is_null() {
                    out.push_str("[1.0, 1e2, 9007199254740993]");
                } else {
                    write_value(&o[*k], style, depth + 1, out);
                }
            }
            if !o.is_empty() {
                newline(out, depth);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_value(x, style, depth + 1, out);
            }
            if !a.is_empty() {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, style, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, style: Style, out: &mut String) {
    if style != Style::Escaped {
        out.push_str(&Value::String(s.to_string()).to_string());
        return;
    }
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            c if (c as u32) < 0x20 || !c.is_ascii() || (i == 0 && c.is_ascii_alphabetic()) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What vendors really change, each signed correctly; each must be accepted.
pub(crate) fn drift_probes(
    v: &VendorSpec,
    fresh: &dyn Fn(&str) -> Vec<u8>,
    nonce: &str,
    signer: Option<&Signer>,
) -> Result<Vec<Plan>, HarnessError> {
    let parse = |tag: &str| -> Result<Value, HarnessError> {
        serde_json::from_slice(&fresh(tag))
            .map_err(|e| HarnessError::Internal(format!("a fresh delivery is not JSON: {e}")))
    };
    let schema_of = |doc: &Value| -> Option<Value> {
        let body = serde_json::to_vec(doc).ok()?;
        let event = match v.read_envelope(&body, &http::HeaderMap::new()) {
            Ok(env) => env.event_type,
            // A type joined from a header: the probes derive from the first sample.
            Err(_) => v
                .events
                .iter()
                .find(|e| !e.samples.is_empty())?
                .name
                .to_string(),
        };
        Some(v.bundled_schema(v.event(&event)?))
    };
    let mut plans = Vec::new();
    let mut push = |kind: &str, what: String, doc: Option<Value>, why_not: &str| {
        let (steps, skip) = match doc {
            Some(doc) => {
                let body = serde_json::to_vec(&doc).expect("Value serializes");
                (
                    vec![Step {
                        what,
                        headers: headers(v, &body, signer),
                        body,
                        expect: Expect::Success,
                    }],
                    None,
                )
            }
            None => (Vec::new(), Some(why_not.to_string())),
        };
        plans.push(Plan {
            id: format!("{}/drift/{kind}", v.id),
            steps,
            skip,
        });
    };

    // A new top-level key, and a new key inside a nested object.
    let mut doc = parse("de")?;
    let nested = first_object_path(&doc);
    if let Value::Object(o) = &mut doc {
        o.insert("x_hookforge_new_field".into(), json!({"added": true}));
    }
    if let Some(Value::Object(o)) = nested.as_deref().and_then(|p| doc.pointer_mut(p)) {
        o.insert("x_hookforge_new_nested_field".into(), json!("added"));
    }
    push(
        "extra-field",
        format!(
            "a valid delivery with a new top-level key and a new key in {}",
            nested.as_deref().unwrap_or("(no nested object)")
        ),
        Some(doc),
        "",
    );

    // An enum value outside the documented ones, in the first sample (of
    // any event) whose schema has a string enum where it has a value.
    let mut doc = parse("dn")?;
    let mut found = None;
    for body in std::iter::once(serde_json::to_vec(&doc).expect("Value serializes")).chain(
        v.events
            .iter()
            .flat_map(|e| e.samples)
            .map(|s| fresh_delivery(v, s.body, &format!("dn{nonce}{}", s.path))),
    ) {
        let Ok(candidate) = serde_json::from_slice::<Value>(&body) else {
            continue;
        };
        let at = schema_of(&candidate)
            .and_then(|schema| walk(&schema, &candidate).enums.into_iter().next());
        if at.is_some() {
            (doc, found) = (candidate, at);
            break;
        }
    }
    let what = found
        .as_ref()
        .map(|p| format!("a valid delivery with {p} set to a value its enum does not list"));
    let doc = found.map(|p| {
        if let Some(slot) = doc.pointer_mut(&p) {
            *slot = Value::String("hookforge_undocumented_value".into());
        }
        doc
    });
    push(
        "unknown-enum",
        what.unwrap_or_default(),
        doc,
        "no sample has a value where its schema has a string enum (other than the event type)",
    );

    // Every optional field null; every optional field absent.
    for (kind, tag, absent) in [
        ("null-optional", "du", false),
        ("missing-optional", "dm", true),
    ] {
        let mut doc = parse(tag)?;
        let mut optional = schema_of(&doc)
            .map(|schema| walk(&schema, &doc).optional)
            .unwrap_or_default();
        // Deepest first, so a parent set to null or removed last wins.
        optional.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
        let n = optional.len();
        for ptr in &optional {
            let (parent, key) = ptr.rsplit_once('/').expect("pointers start with /");
            let key = key.replace("~1", "/").replace("~0", "~");
            if let Some(Value::Object(o)) = doc.pointer_mut(parent) {
                if absent {
                    o.remove(&key);
                } else if o.contains_key(&key) {
                    o.insert(key, Value::Null);
                }
            }
        }
        let what = format!(
            "a valid delivery with its {n} optional fields {}",
            if absent { "removed" } else { "set to null" }
        );
        push(
            kind,
            what,
            (n > 0).then_some(doc),
            "this sample has no optional field",
        );
    }
    Ok(plans)
}

/// The pointer of the first object nested in the top-level object.
fn first_object_path(doc: &Value) -> Option<String> {
    let o = doc.as_object()?;
    o.iter().find_map(|(k, v)| {
        v.is_object()
            .then(|| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
    })
}
