//! The one-pass read (`parse_delivery`) against the two-pass careful path,
//! and the generated deserializers' losslessness, on samples mutated the way
//! vendors drift: extra keys anywhere, `null` and `""` in place of values,
//! keys in any order (so the event type comes first, last or between).

use crate::common;

use common::{all_samples, json_diff};
use hookforge::HeaderMap;
use hookforge::vendors::{collateralxp, cowbell, prets, socotra, superoffice};
use http::HeaderValue;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Parses with both paths; they must agree exactly. Returns the event
/// re-serialized, or the error.
fn both(vendor: &str, body: &[u8], headers: &HeaderMap) -> Result<Value, hookforge::ParseError> {
    macro_rules! go {
        ($($v:ident),*) => {
            match vendor {
                $(stringify!($v) => {
                    let fast = $v::parse_delivery(body, headers);
                    let careful = $v::__parse_delivery_careful(body, headers);
                    assert_eq!(fast, careful, "{vendor}: one pass and two passes disagree on {}", String::from_utf8_lossy(body));
                    fast.map(|d| serde_json::to_value(&d.event).unwrap())
                })*
                other => panic!("add `{other}` to this test"),
            }
        };
    }
    go!(collateralxp, cowbell, prets, socotra, superoffice)
}

#[derive(Debug, Clone)]
enum Change {
    /// A new key (in the object chosen by the index) with a scalar or object value.
    AddKey(usize, String, Value),
    /// The value of the chosen key set to `null`.
    Null(usize),
    /// The value of the chosen key set to `""`.
    Blank(usize),
}

fn change() -> impl Strategy<Value = Change> {
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zé\\\\\"/]{0,8}".prop_map(Value::from),
        ("[a-z]{1,6}", any::<u32>()).prop_map(|(k, n)| {
            let mut m = Map::new();
            m.insert(k, Value::from(n));
            Value::Object(m)
        }),
    ];
    prop_oneof![
        (any::<usize>(), "[a-zA-Z_]{1,12}", value).prop_map(|(i, k, v)| Change::AddKey(i, k, v)),
        any::<usize>().prop_map(Change::Null),
        any::<usize>().prop_map(Change::Blank),
    ]
}

fn apply(doc: &mut Value, c: &Change) {
    let objs: Vec<String> = common::json_nodes(doc)
        .into_iter()
        .filter(|(_, v)| v.is_object())
        .map(|(p, _)| p)
        .collect();
    let mut entries: Vec<(String, String)> = Vec::new();
    for p in &objs {
        if let Some(Value::Object(m)) = doc.pointer(p) {
            entries.extend(m.keys().map(|k| (p.clone(), k.clone())));
        }
    }
    match c {
        Change::AddKey(i, k, v) => {
            let p = &objs[i % objs.len()];
            if let Some(Value::Object(m)) = doc.pointer_mut(p) {
                m.entry(format!("x_{k}")).or_insert_with(|| v.clone());
            }
        }
        Change::Null(i) | Change::Blank(i) if !entries.is_empty() => {
            let (p, k) = &entries[i % entries.len()];
            let new = match c {
                Change::Null(_) => Value::Null,
                _ => Value::from(""),
            };
            if let Some(Value::Object(m)) = doc.pointer_mut(p) {
                m.insert(k.clone(), new);
            }
        }
        _ => {}
    }
}

/// JSON text with each object's keys rotated by `turn`, so the envelope's
/// keys land anywhere in the body.
fn write(v: &Value, turn: usize) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            let n = keys.len().max(1);
            keys.rotate_left(turn % n);
            let entries: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap(),
                        write(&m[k], turn)
                    )
                })
                .collect();
            format!("{{{}}}", entries.join(","))
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| write(x, turn)).collect();
            format!("[{}]", items.join(","))
        }
        other => serde_json::to_string(other).unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn one_pass_agrees_with_two_and_keeps_every_key(
        pick in any::<usize>(),
        changes in prop::collection::vec(change(), 0..6),
        turn in 0usize..8,
        with_header in any::<bool>(),
    ) {
        let samples = all_samples();
        let (v, _event, _path, body) = &samples[pick % samples.len()];
        let mut doc: Value = serde_json::from_slice(body).unwrap();
        for c in &changes {
            apply(&mut doc, c);
        }
        let text = write(&doc, turn);
        let mut headers = HeaderMap::new();
        // SuperOffice also names the event in a header.
        if with_header && v.id == "superoffice"
            && let Some(Value::String(t)) = doc.get("Event")
            && let Ok(h) = HeaderValue::from_str(t)
        {
            headers.insert("x-superoffice-event", h);
        }
        if let Ok(back) = both(v.id, text.as_bytes(), &headers) {
            let diffs = json_diff(&doc, &back);
            prop_assert!(diffs.is_empty(), "{}: {}\n{}", v.id, text, diffs.join("\n"));
        }
    }
}

/// Every sample as it is, with its keys in several orders: both paths give
/// the same delivery and it re-serializes to the same JSON.
#[test]
fn every_sample_parses_the_same_in_one_pass() {
    let mut checked = 0;
    for (v, _event, path, body) in all_samples() {
        let doc: Value = serde_json::from_slice(body).unwrap();
        for turn in 0..4 {
            let text = write(&doc, turn);
            let back = both(v.id, text.as_bytes(), &HeaderMap::new())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            let diffs = json_diff(&doc, &back);
            assert!(diffs.is_empty(), "{path}:\n{}", diffs.join("\n"));
            checked += 1;
        }
    }
    // Counted in tests/it/samples.rs.
    assert_eq!(checked, 4 * 203);
}

/// Inputs the one-pass read must hand to the careful path, which words the
/// error; both give the same answer.
#[test]
fn envelope_faults_give_the_careful_paths_errors() {
    let h = HeaderMap::new();
    for body in [
        &br#"{"type":"quote.created","type":"quote.created","eventId":"1"}"#[..],
        br#"{"eventId":"1","eventId":"2","type":"quote.created"}"#,
        br#"{"type":7,"eventId":"1"}"#,
        br#"{"eventId":{"a":1},"type":"x.y"}"#,
        br#"{"eventId":"1"}"#,
        br#"{"type":"x.y","eventId":"1"} trailing"#,
        br#"{"type":"x.y","eventId":"1","data":"\xff"}"#,
        br#"[1,2]"#,
        b"",
    ] {
        let fast = prets::parse_delivery(body, &h);
        assert!(fast.is_err(), "{}", String::from_utf8_lossy(body));
        assert_eq!(fast, prets::__parse_delivery_careful(body, &h));
    }
    let mut h = HeaderMap::new();
    h.insert(
        "x-superoffice-event",
        HeaderValue::from_static("contact.created"),
    );
    let body = br#"{"Event":"contact.changed","EventId":"e"}"#;
    let fast = superoffice::parse_delivery(body, &h);
    assert!(
        matches!(fast, Err(hookforge::ParseError::EventTypeMismatch { .. })),
        "{fast:?}"
    );
    assert_eq!(fast, superoffice::__parse_delivery_careful(body, &h));
}

/// The type is first looked for anywhere in the body; a decoy nested before
/// the top-level type (or inside a string) must not decide the event.
#[test]
fn a_nested_type_before_the_top_level_one_is_not_the_event_type() {
    let h = HeaderMap::new();
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "socotra",
            br#"{"data":{"type":"claim.create"},"id":"1","timestamp":1,"transactionId":"t","type":"policy.issue","username":"u"}"#,
            "policy.issue",
        ),
        (
            "socotra",
            br#"{"data":{"note":"\"type\":\"claim.create\"", "l":[{"type" : "claim.update"}]},"id":"1","timestamp":1,"transactionId":"t","type":"policy.issue"}"#,
            "policy.issue",
        ),
        (
            "socotra",
            br#"{"data":{"type":7},"id":"1","timestamp":1,"transactionId":"t","type":"policy.issue"}"#,
            "policy.issue",
        ),
        (
            "prets",
            br#"{"eventId":"e1","version":"2026-06-01","timestamp":"2026-06-15T09:30:12Z","organization":{"organizationId":"o","slug":"s"},"data":{"quoteId":"q","type":"quote.created"},"type":"quote.updated"}"#,
            "quote.updated",
        ),
        (
            "prets",
            br#"{"eventId":"e1","version":"2026-06-01","timestamp":"2026-06-15T09:30:12Z","organization":{"organizationId":"o","slug":"s"},"data":{"quoteId":"q","type":"not.an.event"},"type":"quote.updated"}"#,
            "quote.updated",
        ),
    ];
    for (vendor, body, want) in cases {
        macro_rules! check {
            ($v:ident) => {{
                let fast = $v::parse_delivery(body, &h);
                assert_eq!(fast, $v::__parse_delivery_careful(body, &h));
                let d = fast.unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
                assert_eq!(d.event_type, want, "{}", String::from_utf8_lossy(body));
                assert_eq!(d.event.event_type(), want);
            }};
        }
        match vendor {
            "socotra" => check!(socotra),
            _ => check!(prets),
        }
    }
}
