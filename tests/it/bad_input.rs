//! Bad input never panics and always gets a specific error.

use crate::common;

use hookforge::vendors::{prets, superoffice};
use hookforge::{HeaderMap, ParseError, VendorSpec};

fn parse(v: &VendorSpec, body: &[u8]) -> Result<hookforge::ParsedEvent, ParseError> {
    v.parse(body, &HeaderMap::new())
}

fn nested(depth: usize, open: &str, close: &str, prefix: &str, suffix: &str) -> Vec<u8> {
    let mut s = String::with_capacity(depth * 2 + prefix.len() + suffix.len());
    s.push_str(prefix);
    s.push_str(&open.repeat(depth));
    s.push_str(&close.repeat(depth));
    s.push_str(suffix);
    s.into_bytes()
}

#[test]
fn empty_and_blank_bodies() {
    for v in hookforge::vendors::ALL.iter().copied() {
        assert_eq!(parse(v, b"").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(v, b" \r\n\t").unwrap_err(), ParseError::Empty);
    }
}

#[test]
fn invalid_utf8_names_the_offset() {
    let body = b"{\"type\": \"quote.created\", \"x\": \"\xff\xfe\"}";
    let err = parse(&prets::VENDOR, body).unwrap_err();
    assert_eq!(err, ParseError::NotUtf8 { offset: 32 });
    assert!(err.to_string().contains("offset 32"), "{err}");
}

#[test]
fn top_level_values_that_are_not_objects() {
    for (body, found) in [
        (&b"[{\"type\":\"quote.created\"}]"[..], "array"),
        (b"\"quote.created\"", "string"),
        (b"42", "number"),
        (b"-1", "number"),
        (b"true", "boolean"),
        (b"null", "null"),
    ] {
        for v in hookforge::vendors::ALL.iter().copied() {
            let err = parse(v, body).unwrap_err();
            assert_eq!(
                err,
                ParseError::NotAnObject { found },
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(err.to_string().contains("expected a JSON object"));
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    const DEPTH: usize = 100_000;
    let cases = [
        // Where the envelope reader skips values.
        nested(DEPTH, "[", "]", r#"{"type":"quote.created","deep":"#, "}"),
        // Inside a field the typed model reads.
        nested(
            DEPTH,
            "{\"a\":",
            "}",
            r#"{"type":"quote.created","data":"#,
            "}",
        ),
        // Along the path of the event type itself.
        nested(DEPTH, "{\"type\":", "}", "", ""),
        // In an unknown event, kept as raw JSON.
        nested(DEPTH, "[", "]", r#"{"type":"quote.brand_new","deep":"#, "}"),
        // Not even an object.
        nested(DEPTH, "[", "]", "", ""),
    ];
    for body in cases {
        let err = parse(&prets::VENDOR, &body).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                ParseError::Syntax { .. }
                    | ParseError::NotAnObject { .. }
                    | ParseError::Payload { .. }
            ),
            "{msg}"
        );
    }
    let body = nested(DEPTH, "[", "]", r#"{"type":"quote.created","deep":"#, "}");
    let msg = parse(&prets::VENDOR, &body).unwrap_err().to_string();
    assert!(msg.contains("recursion limit"), "{msg}");
}

#[test]
fn a_number_where_a_string_belongs_names_the_path() {
    let body = br#"{"type":"quote.created","version":"2026-06-01","organization":{},"data":{"quoteId":5}}"#;
    let err = parse(&prets::VENDOR, body).unwrap_err();
    let ParseError::Payload {
        event,
        path,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (event.as_str(), path.as_str()),
        ("quote.created", "data.quoteId")
    );
    assert!(message.contains("expected a string"), "{message}");

    let body = br#"{"Event":"contact.created","PrimaryKey":"527331"}"#;
    let err = parse(&superoffice::VENDOR, body).unwrap_err();
    assert!(
        matches!(&err, ParseError::Payload { path, .. } if path == "PrimaryKey"),
        "{err}"
    );
    assert!(err.to_string().contains("expected i64"), "{err}");

    let body = br#"{"Event":"contact.created","Changes":["a", 2]}"#;
    let err = parse(&superoffice::VENDOR, body).unwrap_err();
    assert!(
        matches!(&err, ParseError::Payload { path, .. } if path == "Changes[1]"),
        "{err}"
    );
}

#[test]
fn required_fields_are_named_when_missing() {
    let body = br#"{"type":"quote.created","organization":{},"data":{}}"#;
    let err = parse(&prets::VENDOR, body).unwrap_err();
    assert!(err.to_string().contains("missing field `version`"), "{err}");
}

#[test]
fn event_type_problems() {
    let err = parse(&prets::VENDOR, br#"{"eventId":"evt_x"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no event type: expected a string at body `/type`"
    );
    let err = parse(&prets::VENDOR, br#"{"type":7}"#).unwrap_err();
    assert!(
        matches!(err, ParseError::EventTypeNotString { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("found number 7"), "{err}");
    let err = parse(&prets::VENDOR, br#"{"type":null}"#).unwrap_err();
    assert!(err.to_string().contains("found null"), "{err}");
}

/// A type or id header sent twice with different values names no one
/// event: the delivery is a misfit (kept, quarantined), not read as the
/// first value. The same value twice is that value. Before, the first won
/// (helper-54's review: two `X-GitHub-Event`s, `issues` and `push`, read as
/// `issues.opened`).
#[test]
fn a_type_or_id_header_repeated_with_different_values_is_a_misfit() {
    let body = br#"{"Event":"quote.sent"}"#;
    let mut h = HeaderMap::new();
    h.append("x-superoffice-eventid", "abc".parse().unwrap());
    h.append("x-superoffice-eventid", "abd".parse().unwrap());
    let err = superoffice::parse_delivery(body, &h).unwrap_err();
    assert!(
        matches!(err, ParseError::HeaderRepeated { count: 2, .. }),
        "{err}"
    );
    assert!(err.is_misfit());
    assert_eq!(
        err.to_string(),
        "header `x-superoffice-eventid` was sent 2 times with different values: which one the vendor meant cannot be told"
    );
    assert_eq!(Err(err), superoffice::__parse_delivery_careful(body, &h));
    let mut h = HeaderMap::new();
    h.append("x-superoffice-event", "quote.sent".parse().unwrap());
    h.append("x-superoffice-event", "quote.approved".parse().unwrap());
    let err = superoffice::VENDOR
        .parse(br#"{"EventId":"e"}"#, &h)
        .unwrap_err();
    assert!(matches!(err, ParseError::HeaderRepeated { .. }), "{err}");
    // One value, as read (trimmed), is one value.
    let mut h = HeaderMap::new();
    h.append("x-superoffice-eventid", "abc".parse().unwrap());
    h.append("x-superoffice-eventid", "abc ".parse().unwrap());
    let d = superoffice::parse_delivery(body, &h).unwrap();
    assert_eq!(d.event_id.as_deref(), Some("abc"));
}

#[test]
fn superoffice_header_and_body_must_agree() {
    let body = br#"{"Event":"quote.sent","EventId":"1fc5752a-6de8-412d-847a-12d5529a0ec6"}"#;
    let mut h = HeaderMap::new();
    h.insert("x-superoffice-event", "quote.approved".parse().unwrap());
    let err = superoffice::VENDOR.parse(body, &h).unwrap_err();
    assert!(matches!(err, ParseError::EventTypeMismatch { .. }), "{err}");
    // Header names match case-insensitively; agreeing header is fine.
    let mut h = HeaderMap::new();
    h.insert("X-SUPEROFFICE-EVENT", "quote.sent".parse().unwrap());
    assert!(superoffice::VENDOR.parse(body, &h).is_ok());
    // Event id from the header when the body has none.
    let mut h = HeaderMap::new();
    h.insert("x-superoffice-eventid", "abc".parse().unwrap());
    let d = superoffice::parse_delivery(br#"{"Event":"quote.sent"}"#, &h).unwrap();
    assert_eq!(d.event_id.as_deref(), Some("abc"));
    // Event type from the header when the body has none: then the payload
    // must still deserialize (Event is required by the schema).
    let mut h = HeaderMap::new();
    h.insert("x-superoffice-event", "quote.sent".parse().unwrap());
    let err = superoffice::VENDOR
        .parse(br#"{"PrimaryKey":1}"#, &h)
        .unwrap_err();
    assert!(err.to_string().contains("missing field `Event`"), "{err}");
}

#[test]
fn truncated_and_trailing_garbage() {
    let full =
        std::fs::read(common::root().join("samples/prets/quote.created/doc-1.json")).unwrap();
    for cut in [1, full.len() / 3, full.len() / 2, full.len() - 2] {
        let err = parse(&prets::VENDOR, &full[..cut]).unwrap_err();
        assert!(
            matches!(err, ParseError::Syntax { .. }),
            "cut at {cut}: {err}"
        );
        assert!(err.to_string().contains("line"), "{err}");
    }
    let mut extra = full.clone();
    extra.extend_from_slice(b" {}");
    let err = parse(&prets::VENDOR, &extra).unwrap_err();
    assert!(err.to_string().contains("trailing characters"), "{err}");
}

/// JSON path of a value, in serde_path_to_error's notation (`a.b[0].c`).
fn string_leaves(
    v: &serde_json::Value,
    path: String,
    out: &mut Vec<(String, Vec<String>)>,
    ptr: Vec<String>,
) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, c) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let mut q = ptr.clone();
                q.push(k.clone());
                string_leaves(c, p, out, q);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let mut q = ptr.clone();
                q.push(i.to_string());
                string_leaves(c, format!("{path}[{i}]"), out, q);
            }
        }
        serde_json::Value::String(_) => out.push((path, ptr)),
        _ => {}
    }
}

#[test]
fn every_vendor_rejects_bad_input_with_a_specific_error() {
    for v in hookforge::vendors::ALL.iter().copied() {
        let sample = v.events.iter().flat_map(|e| e.samples).next().unwrap();
        let body = sample.body;
        let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
        // Truncated.
        let err = parse(v, &body[..body.len() / 2]).unwrap_err();
        assert!(matches!(err, ParseError::Syntax { .. }), "{}: {err}", v.id);
        // The event type as a number.
        let ptr = v.manifest().event_type.pointer.clone().unwrap();
        let mut d = doc.clone();
        *d.pointer_mut(&ptr).unwrap() = serde_json::json!(12);
        let err = parse(v, &serde_json::to_vec(&d).unwrap()).unwrap_err();
        assert!(
            matches!(err, ParseError::EventTypeNotString { .. }),
            "{}: {err}",
            v.id
        );
        // Deep nesting inside an otherwise valid delivery.
        let mut d = doc.clone();
        d.as_object_mut()
            .unwrap()
            .insert("deep".into(), serde_json::json!(null));
        let text = serde_json::to_string(&d).unwrap().replace(
            "\"deep\":null",
            &format!("\"deep\":{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        );
        let err = parse(v, text.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("recursion limit"),
            "{}: {err}",
            v.id
        );
        // A number where a typed string belongs: some string field must be
        // typed, and the error must name exactly its path.
        let mut leaves = Vec::new();
        string_leaves(&doc, String::new(), &mut leaves, Vec::new());
        let mut named = 0;
        for (path, ptr) in leaves {
            let pointer: String = ptr.iter().map(|t| format!("/{t}")).collect();
            if Some(&pointer) == v.manifest().event_type.pointer.as_ref() {
                continue;
            }
            let mut d = doc.clone();
            *d.pointer_mut(&pointer).unwrap() = serde_json::json!(12345);
            if let Err(ParseError::Payload {
                path: p, message, ..
            }) = parse(v, &serde_json::to_vec(&d).unwrap())
            {
                assert_eq!(p, path, "{}: {message}", v.id);
                assert!(message.contains("integer `12345`"), "{}: {message}", v.id);
                named += 1;
            }
        }
        assert!(
            named > 0,
            "{}: no typed string field in {}",
            v.id,
            sample.path
        );
    }
}
