//! Vendor payloads drift: new fields, new event types, new enum values and
//! `null` where a field is optional must all parse, and re-serialize to the
//! same JSON value.

use crate::common;

use common::{all_samples, json_diff, root, typed_debug};
use hookforge::vendors::{prets, superoffice};
use hookforge::{HeaderMap, Maybe, VendorSpec};
use serde_json::{Value, json};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures").join(rel)).unwrap()
}

fn assert_round_trip(v: &VendorSpec, body: &[u8], what: &str) -> hookforge::ParsedEvent {
    let p = v
        .parse(body, &HeaderMap::new())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let input: Value = serde_json::from_slice(body).unwrap();
    let diffs = json_diff(&input, &p.payload);
    assert!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
    p
}

#[test]
fn unknown_event_types_are_kept_whole() {
    for (v, f) in [
        (&prets::VENDOR, "prets/unknown-event.json"),
        (&superoffice::VENDOR, "superoffice/unknown-event.json"),
    ] {
        let p = assert_round_trip(v, &fixture(f), f);
        assert!(!p.known, "{f}");
    }
    let e = prets::parse(&fixture("prets/unknown-event.json"), &HeaderMap::new()).unwrap();
    let prets::Event::Unknown(u) = &e else {
        panic!("expected Unknown, got {e:?}")
    };
    assert_eq!(u.event_type, "quote.financing.installment_plan_changed");
    assert_eq!(u.payload["data"]["installments"], json!([3, 6, 12]));
    assert_eq!(e.kind(), None);
}

#[test]
fn unknown_fields_are_kept_at_every_level() {
    let body = fixture("prets/unknown-field.json");
    assert_round_trip(&prets::VENDOR, &body, "prets/unknown-field.json");
    let prets::Event::QuoteUpdated(q) = prets::parse(&body, &HeaderMap::new()).unwrap() else {
        panic!("expected QuoteUpdated")
    };
    assert_eq!(q.extra["livemode"], json!(false));
    assert_eq!(q.organization.extra["region"], json!("eu-west"));
    assert_eq!(q.data.extra["amount"]["currency"], json!("EUR"));

    let body = fixture("superoffice/unknown-field.json");
    assert_round_trip(
        &superoffice::VENDOR,
        &body,
        "superoffice/unknown-field.json",
    );
    let superoffice::Event::ContactChanged(c) =
        superoffice::parse(&body, &HeaderMap::new()).unwrap()
    else {
        panic!("expected ContactChanged")
    };
    assert_eq!(c.extra["TenantRegion"], json!("eu"));
    assert_eq!(
        c.field_values.as_option().unwrap()["business_idx"],
        json!(3)
    );
}

#[test]
fn unknown_enum_values_are_kept() {
    let body = fixture("prets/unknown-enum.json");
    assert_round_trip(&prets::VENDOR, &body, "prets/unknown-enum.json");
    let prets::Event::QuoteFinancingCompleted(q) = prets::parse(&body, &HeaderMap::new()).unwrap()
    else {
        panic!("expected QuoteFinancingCompleted")
    };
    assert_eq!(
        q.version,
        prets::models::ApiVersion::Unknown("2027-03-01".into())
    );
    assert!(!q.version.is_known());
    assert_eq!(q.version.as_str(), "2027-03-01");
}

#[test]
fn null_optional_fields_and_the_test_event() {
    let body = fixture("prets/optional-null.json");
    assert_round_trip(&prets::VENDOR, &body, "prets/optional-null.json");
    let prets::Event::QuoteCreated(q) = prets::parse(&body, &HeaderMap::new()).unwrap() else {
        panic!()
    };
    assert_eq!(q.event_id, Maybe::Null);
    assert_eq!(q.data.external_id, Maybe::Null);

    let body = fixture("superoffice/test-event.json");
    let p = assert_round_trip(&superoffice::VENDOR, &body, "superoffice/test-event.json");
    assert!(p.known && p.event_type == "test");
}

#[test]
fn timestamps_keep_their_text_and_parse_on_demand() {
    let so = std::fs::read(root().join("samples/superoffice/quote.approved/doc-1.json")).unwrap();
    let superoffice::Event::QuoteApproved(q) = superoffice::parse(&so, &HeaderMap::new()).unwrap()
    else {
        panic!()
    };
    let ts = q.timestamp.as_option().unwrap();
    assert_eq!(ts.as_str(), "2018-04-24T08:13:02.8352175Z");
    assert_eq!(ts.to_utc().unwrap().timestamp_subsec_nanos(), 835_217_500);
}

/// Adds an unknown key to every object of a payload: a structured value at
/// the top, a string below (some nested objects are maps of strings).
fn add_unknown_everywhere(v: &mut Value, n: &mut usize) {
    fn walk(v: &mut Value, n: &mut usize, top: bool) {
        match v {
            Value::Object(o) => {
                for child in o.values_mut() {
                    walk(child, n, false);
                }
                let drift = if top {
                    json!({"nested": [1, "two", null, {"three": 3.5}]})
                } else {
                    json!("drift")
                };
                o.insert("x_hookforge_drift".into(), drift);
                *n += 1;
            }
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, n, false)),
            _ => {}
        }
    }
    walk(v, n, true);
}

#[test]
fn every_sample_keeps_fields_added_at_every_level() {
    for (v, _event, path, body) in all_samples() {
        let mut doc: Value = serde_json::from_slice(body).unwrap();
        let mut n = 0;
        add_unknown_everywhere(&mut doc, &mut n);
        let bytes = serde_json::to_vec(&doc).unwrap();
        let p = assert_round_trip(v, &bytes, path);
        assert!(p.known, "{path}");
        // Every added key is in the parse, once per object it was added to.
        let kept = serde_json::to_string(&p.payload)
            .unwrap()
            .matches("\"x_hookforge_drift\"")
            .count();
        assert_eq!(kept, n, "{path}");
    }
}

/// Optional fields found in all samples × 3 variations.
const OPTIONAL_FIELD_VARIATIONS: usize = 4305;

#[test]
fn every_optional_field_of_every_sample_accepts_null_blank_and_absence() {
    let mut checked = 0;
    for (v, event, path, body) in all_samples() {
        let schema = v.bundled_schema(v.event(event).unwrap());
        let doc: Value = serde_json::from_slice(body).unwrap();
        // Every declared-but-not-required key at every depth (the walk is
        // the library's; its own unit test pins what it finds).
        let keys = hookforge::schema_walk::walk(&schema, &doc).optional;
        for ptr in keys {
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            let key = &hookforge::manifest::unescape_token(key);
            for variation in ["absent", "null", "\"\""] {
                let mut d = doc.clone();
                let obj = d.pointer_mut(parent).unwrap().as_object_mut().unwrap();
                match variation {
                    "absent" => {
                        obj.remove(key);
                    }
                    "null" => {
                        obj.insert(key.to_string(), Value::Null);
                    }
                    _ => {
                        obj.insert(key.to_string(), Value::String(String::new()));
                    }
                }
                let bytes = serde_json::to_vec(&d).unwrap();
                let what = format!("{path} with {ptr} {variation}");
                assert_round_trip(v, &bytes, &what);
                checked += 1;
            }
        }
    }
    // Exact, so that a change that stops descending somewhere shows here (a
    // new sample or schema change updates this number on purpose).
    assert_eq!(checked, OPTIONAL_FIELD_VARIATIONS);
}

#[test]
fn typed_parse_of_drift_fixtures_is_stable() {
    for f in [
        "prets/unknown-field.json",
        "prets/unknown-enum.json",
        "superoffice/unknown-event.json",
    ] {
        let vendor = f.split('/').next().unwrap();
        insta::assert_snapshot!(f, typed_debug(vendor, &fixture(f), &HeaderMap::new()));
    }
}

#[test]
fn the_round_trip_comparison_itself_catches_losses() {
    let a = json!({"a": null, "b": [1, 2], "n": 1, "s": "x"});
    assert!(json_diff(&a, &a).is_empty());
    assert!(json_diff(&a, &json!({"a": null, "b": [1, 2], "n": 1.0, "s": "x"})).is_empty());
    let lost = json!({"b": [1, 2], "n": 1, "s": "x"});
    assert_eq!(json_diff(&a, &lost), vec!["$.a: missing after round trip"]);
    assert_eq!(
        json_diff(&a, &json!({"a": null, "b": [1], "n": 2, "s": "x"})).len(),
        2
    );
    // Above 2^53 an integer that went through f64 comes back changed; the
    // comparison must see it (it once compared through f64 and did not).
    assert_eq!(
        json_diff(
            &json!({"n": 9_007_199_254_740_993_u64}),
            &json!({"n": 9_007_199_254_740_992.0})
        ),
        vec!["$.n: 9007199254740993 became 9007199254740992.0"]
    );
    assert_eq!(
        json_diff(&json!({"n": -3}), &json!({"n": -3.5})),
        vec!["$.n: -3 became -3.5"]
    );
    assert!(json_diff(&json!({"n": 2.5}), &json!({"n": 2.5})).is_empty());
    assert_eq!(
        json_diff(
            &json!({"t": "2018-04-24T08:13:02.8352175Z"}),
            &json!({"t": "2018-04-24T08:13:02.835217500Z"})
        )
        .len(),
        1
    );
}

#[test]
fn collateralxp_added_in_either_documented_shape() {
    use hookforge::vendors::collateralxp;
    let printed = std::fs::read(
        root().join("samples/collateralxp/ordering.workflow.order_workflow.added/doc-1.json"),
    )
    .unwrap();
    let live = fixture("collateralxp/added-second-shape.json");
    for (what, body) in [("printed shape", &printed), ("live-docs shape", &live)] {
        assert_round_trip(&collateralxp::VENDOR, body, what);
        let e = collateralxp::parse(body, &HeaderMap::new()).unwrap();
        let collateralxp::Event::OrderingWorkflowOrderWorkflowAdded(a) = e else {
            panic!("{what}: {e:?}")
        };
        let data = a.data.as_option().unwrap();
        match what {
            "printed shape" => {
                assert!(data.address_resource.is_present() && data.county_id.is_absent())
            }
            _ => assert!(data.county_id.is_present() && data.address_resource.is_absent()),
        }
    }
    // Blank strings and nulls in optional fields.
    assert_round_trip(
        &collateralxp::VENDOR,
        &fixture("collateralxp/optional-blank.json"),
        "blank",
    );
}

#[test]
fn collateralxp_appraised_value_is_a_number_or_a_string() {
    use hookforge::vendors::collateralxp::{self, Event, models::AppraisedValue};
    // The `appraised_value` of a workflow event's sample, as parsed.
    let appraised_value = |event: &str| {
        let sample = root().join(format!("samples/collateralxp/{event}/doc-1.json"));
        let parsed = collateralxp::parse(&std::fs::read(sample).unwrap(), &HeaderMap::new());
        let parsed = parsed.unwrap();
        let value = match &parsed {
            Event::OrderingWorkflowAssignmentWorkflowSubmitted(s) => {
                &s.data.as_option().unwrap().appraised_value
            }
            Event::OrderingWorkflowQualityAssuranceWorkflowCompleted(c) => {
                &c.data.as_option().unwrap().appraised_value
            }
            _ => panic!(),
        };
        value.as_option().cloned()
    };
    assert_eq!(
        appraised_value("ordering.workflow.assignment_workflow.submitted"),
        Some(AppraisedValue::Number(100000.0))
    );
    assert_eq!(
        appraised_value("ordering.workflow.quality_assurance_workflow.completed"),
        Some(AppraisedValue::String("0.0".into()))
    );
}

#[test]
fn cowbell_status_not_in_the_docs_is_kept() {
    use hookforge::vendors::cowbell::{self, Event, models::QuoteStatus};
    let body = fixture("cowbell/unknown-status.json");
    assert_round_trip(&cowbell::VENDOR, &body, "cowbell/unknown-status.json");
    let Event::QuoteStatus(q) = cowbell::parse(&body, &HeaderMap::new()).unwrap() else {
        panic!()
    };
    let data = q.data.as_option().unwrap();
    assert_eq!(
        data.quote_status.as_option(),
        Some(&QuoteStatus::Unknown("EXPIRED".into()))
    );
    // `+0000` timestamps keep their text and parse.
    let modified = data.modified.as_option().unwrap();
    assert_eq!(modified.as_str(), "2021-05-13T06:07:54.407+0000");
    assert_eq!(
        modified.to_utc().unwrap().timestamp_millis(),
        1_620_886_074_407
    );
    assert_eq!("READY".parse::<QuoteStatus>().unwrap(), QuoteStatus::Ready);
}

#[test]
fn socotra_unknown_type_and_timestamp_forms() {
    use hookforge::vendors::socotra::{self, Event};
    let body = fixture("socotra/unknown-type.json");
    let p = assert_round_trip(&socotra::VENDOR, &body, "socotra/unknown-type.json");
    assert!(!p.known);
    assert!(matches!(
        socotra::parse(&body, &HeaderMap::new()).unwrap(),
        Event::Unknown(_)
    ));

    let body = fixture("socotra/string-timestamp.json");
    assert_round_trip(&socotra::VENDOR, &body, "socotra/string-timestamp.json");
    let Event::PolicyIssue(e) = socotra::parse(&body, &HeaderMap::new()).unwrap() else {
        panic!()
    };
    assert_eq!(
        e.timestamp.to_utc().unwrap().timestamp_millis(),
        1_762_000_000_000
    );
    assert_eq!(e.data["policyLocator"], json!("100000123"));
    // The management API's models are generated too, with their enums.
    let req: socotra::models::WebhookRequest = serde_json::from_value(json!({
        "name": "billing", "events": ["policy.issue", "policy.teleport"],
        "retryStrategy": "three", "failureHandling": {"mode": "divert", "actOnTimeout": true}
    }))
    .unwrap();
    let events = req.events.as_option().unwrap();
    assert_eq!(events[0], socotra::models::EventType::PolicyIssue);
    assert!(!events[1].is_known());
    assert_eq!(
        req.retry_strategy.as_option(),
        Some(&socotra::models::RetryStrategy::Three)
    );
}

#[test]
fn collateralxp_blank_strings_in_number_list_and_object_fields() {
    use hookforge::vendors::collateralxp::{self, Event};
    let body = fixture("collateralxp/blank-non-strings.json");
    assert_round_trip(
        &collateralxp::VENDOR,
        &body,
        "collateralxp/blank-non-strings.json",
    );
    let Event::OrderingWorkflowOrderWorkflowAssigned(a) =
        collateralxp::parse(&body, &HeaderMap::new()).unwrap()
    else {
        panic!()
    };
    let data = a.data.as_option().unwrap();
    assert!(data.auto_reject_hours.is_blank());
    assert!(data.fees.is_blank());
    assert!(data.address_resource.is_blank());
    assert_eq!(
        data.vendor_license_state.as_option().map(String::as_str),
        Some("CT")
    );
}

/// Properties whose docs only ever show `null` (or only an empty list) are
/// any JSON value, so a real value of any kind parses and round-trips.
/// Before, such a field was typed `()` and `"subject": "Re: access"` failed.
#[test]
fn fields_documented_only_as_null_accept_any_value() {
    let values = [
        json!("Re: access"),
        json!(42.5),
        json!({"role": "appraiser", "id": 7}),
        json!(["a", 1, null]),
        json!(true),
    ];
    let mut checked = Vec::new();
    for v in hookforge::vendors::ALL.iter().copied() {
        for e in v.events {
            let schema: Value = serde_json::from_str(e.schema_json).unwrap();
            let Some(data) = schema
                .pointer("/properties/data/properties")
                .and_then(Value::as_object)
            else {
                continue;
            };
            for (name, prop) in data {
                let unknown = |p: &Value| {
                    p.get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| d.starts_with("Unknown:"))
                };
                // The field itself, or the items of a list only shown empty.
                let target = if unknown(prop) {
                    Some(false)
                } else if prop.get("items").is_some_and(unknown) {
                    Some(true)
                } else {
                    None
                };
                let Some(in_list) = target else { continue };
                let sample = e.samples.first().expect("every event has a sample");
                for value in &values {
                    let mut body: Value = serde_json::from_slice(sample.body).unwrap();
                    body["data"][name] = if in_list {
                        json!([value])
                    } else {
                        value.clone()
                    };
                    let bytes = serde_json::to_vec(&body).unwrap();
                    let what = format!("{} {}.data.{name} = {value}", v.id, e.name);
                    assert_round_trip(v, &bytes, &what);
                }
                checked.push(format!("{}.{name}", e.name));
            }
        }
    }
    checked.sort();
    // Exactly the fields the docs show only as null or an empty list.
    assert_eq!(
        checked,
        [
            "ordering::lifecycle_note_added.attachment_sgids",
            "ordering::lifecycle_note_added.author_role",
            "ordering::lifecycle_note_added.subject",
            "ordering::note_added.subject",
            "ordering::note_added_from_integration.subject",
            "ordering::workflow::client_request_workflow::cancelled.trip_fee",
            "ordering::workflow::order_workflow::assigned.assignment_accepted_at",
        ]
    );
}
