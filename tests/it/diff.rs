//! `hookforge diff OLD NEW` on a copy of the Prets vendor with one change of
//! each kind: each is listed with its class, old samples are replayed
//! against the new schemas, and the exit code says whether anything broke.

use crate::common;

use std::path::Path;

use serde_json::{Value, json};

/// A change to one file of a vendor dir.
type Edit = fn(&mut Value);

fn edit(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn hookforge(args: &[&str]) -> std::process::Output {
    common::hookforge_command().args(args).output().unwrap()
}

#[test]
fn every_kind_of_change_is_classed_and_old_samples_are_replayed() {
    let root = common::root();
    let dir = std::env::temp_dir().join(format!("hookforge-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (old, new) = (dir.join("old"), dir.join("new"));
    common::copy_dir(&root.join("schemas/prets"), &old);
    common::copy_dir(&root.join("samples/prets"), &old.join("samples"));
    common::copy_dir(&root.join("schemas/prets"), &new);

    // Unchanged: nothing to report, exit 0.
    let same = hookforge(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&same.stdout);
    assert_eq!(same.status.code(), Some(0), "{text}");
    assert!(
        text.contains("0 changes") && text.contains("16 old samples checked"),
        "{text}"
    );

    make_one_change_of_each_kind(&new);
    check_each_change_is_classed(&old, &new);

    // Only compatible changes: exit 0.
    common::copy_dir(&root.join("schemas/prets"), &new);
    add_archived_event(&new);
    let _ = std::fs::remove_file(new.join("events/quote.superseded.json.bak"));
    let ok = hookforge(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}");
    assert!(
        text.contains("compatible quote.archived (event): event added"),
        "{text}"
    );
    // A directory that is not a vendor: exit 2, naming the file.
    let bad = hookforge(&[
        "diff",
        dir.join("nope").to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("manifest.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--old-samples` with a directory named after no event is refused, naming
/// it (its samples were silently not checked: "0 old samples", exit 0); a
/// sample the new schemas refuse is told by its field and the schema's own
/// rule, not as the whole payload "not valid under any of the schemas
/// listed in the 'anyOf' keyword" of the lenient wrapper (helper-67).
#[test]
fn old_samples_are_matched_by_name_and_misfits_name_the_field() {
    let root = common::root();
    let dir = common::temp_dir("diff-old-samples");
    let (old, new, given) = (dir.join("old"), dir.join("new"), dir.join("given"));
    common::copy_dir(&root.join("schemas/prets"), &old);
    common::copy_dir(&root.join("schemas/prets"), &new);
    common::copy_dir(
        &root.join("samples/prets/quote.created"),
        &given.join("quote.created"),
    );
    common::copy_dir(
        &root.join("samples/prets/quote.created"),
        &given.join("quote-created"),
    );
    let (o, n, g) = (
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        given.to_str().unwrap(),
    );
    let out = hookforge(&["diff", o, n, "--old-samples", g]);
    common::fails_saying(&out, 2, "name no event (quote-created)");

    std::fs::remove_dir_all(given.join("quote-created")).unwrap();
    // `eventId` is optional, so checked under the lenient wrapper.
    edit(&new.join("events/quote.created.json"), |s| {
        s["properties"]["eventId"] = serde_json::json!({"type": "integer"});
    });
    let out = hookforge(&["diff", o, n, "--old-samples", g]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("is not of type \"integer\""), "{text}");
    assert!(!text.contains("anyOf"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Adds the event `quote.archived` to the vendor dir `new`, its type
/// pinned where the manifest reads it, as every loader requires.
fn add_archived_event(new: &Path) {
    std::fs::write(
        new.join("events/quote.archived.json"),
        serde_json::to_string(&json!({
            "title": "quote.archived",
            "type": "object",
            "properties": {"type": {"const": "quote.archived"}}
        }))
        .unwrap(),
    )
    .unwrap();
}

/// Edits the vendor dir `new` with one change of each kind: a field
/// removed, retyped, made required and added; an enum value added; a type
/// widened; the auth changed; an event removed and one added.
fn make_one_change_of_each_kind(new: &Path) {
    edit(&new.join("definitions.json"), |d| {
        let quote = &mut d["definitions"]["QuoteRef"];
        quote["properties"]
            .as_object_mut()
            .unwrap()
            .remove("externalId");
        quote["properties"]["quoteId"]["type"] = json!("integer");
        quote["properties"]["channel"] = json!({"type": "string"});
        quote["required"] = json!(["quoteId"]);
        d["definitions"]["ApiVersion"]["enum"] = json!(["2026-06-01", "2026-09-01"]);
        d["definitions"]["UtcTimestamp"]["type"] = json!(["string", "null"]);
    });
    edit(&new.join("manifest.json"), |m| {
        m["auth"]["prefix"] = json!("Token ");
    });
    std::fs::remove_file(new.join("events/quote.superseded.json")).unwrap();
    add_archived_event(new);
}

/// `diff --json` of `old` and the changed `new`: exit 1, each change listed
/// with its class, and the old samples that no longer validate.
fn check_each_change_is_classed(old: &Path, new: &Path) {
    let out = hookforge(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let has = |class: &str, event: &str, path: &str, what: &str| {
        d["changes"].as_array().unwrap().iter().any(|c| {
            c["class"] == class
                && c["event"].as_str().unwrap().contains(event)
                && c["path"] == path
                && c["what"].as_str().unwrap().contains(what)
        })
    };
    // Each change the edits made, as `class event path: what`.
    for change in [
        "breaking manifest auth: changed from",
        "breaking quote.superseded (event): event removed",
        "compatible quote.archived (event): event added",
        "breaking quote.created data.externalId: field removed",
        "breaking quote.created data.quoteId: type changed from string to integer",
        "breaking quote.created data.quoteId: field made required",
        "compatible quote.created data.channel: field added (before, any value was taken",
        "compatible quote.created version: enum value \"2026-09-01\" added",
        "compatible quote.created timestamp: type widened from string to null | string",
    ] {
        let (class, rest) = change.split_once(' ').unwrap();
        let (event, rest) = rest.split_once(' ').unwrap();
        let (path, what) = rest.split_once(": ").unwrap();
        assert!(has(class, event, path, what), "{d:#}");
    }
    // The old samples' quoteIds are strings: they no longer validate, and
    // the superseded ones lost their event.
    let failing = d["samples_failing"].as_array().unwrap();
    assert!(
        failing
            .iter()
            .any(|m| m["errors"][0].as_str().unwrap().contains("/data/quoteId")),
        "{d:#}"
    );
    assert!(
        failing.iter().any(|m| m["errors"][0]
            .as_str()
            .unwrap()
            .contains("quote.superseded is gone")),
        "{d:#}"
    );
    assert_eq!(d["samples_checked"], 16);
    // A change to a shared definition is one change, naming the other
    // events' places; it was listed once per event (helper-68).
    let quote_id: Vec<&Value> = (d["changes"].as_array().unwrap().iter())
        .filter(|c| {
            c["path"] == "data.quoteId" && c["what"].as_str().unwrap().contains("type changed")
        })
        .collect();
    assert_eq!(quote_id.len(), 1, "{d:#}");
    assert!(
        quote_id[0]["also_at"]
            .as_array()
            .unwrap()
            .contains(&json!("quote.updated data.quoteId")),
        "{d:#}"
    );
}

/// `hookforge extract` makes the same repairs as the extraction the
/// project's own samples come from, on the fixture of each doc defect, and
/// records them in `provenance.json`.
#[test]
fn extract_repairs_each_doc_defect_and_records_it() {
    let fixtures = common::root().join("crates/extract/fixtures/extract");
    let out = std::env::temp_dir().join(format!("hookforge-extract-{}", std::process::id()));
    let mut checked = 0;
    for e in std::fs::read_dir(&fixtures).unwrap() {
        let doc = e.unwrap().path();
        if doc.extension().is_none_or(|x| x != "txt") {
            continue;
        }
        let stem = doc.file_stem().unwrap().to_str().unwrap().to_string();
        let dir = out.join(&stem);
        let run = hookforge(&[
            "extract",
            doc.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(
            run.status.code(),
            Some(0),
            "{stem}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures.join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        let got: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("doc-1.json")).unwrap())
                .unwrap();
        assert_eq!(got, expected, "{stem}");
        let provenance: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("provenance.json")).unwrap())
                .unwrap();
        let repairs = provenance["examples"][0]["repairs"].to_string();
        if let Ok(want) = std::fs::read_to_string(fixtures.join(format!("{stem}.repair"))) {
            assert!(
                repairs.contains(want.trim()),
                "{stem}: {repairs} lacks {want:?}"
            );
        }
        assert_eq!(provenance["source"], format!("{stem}.txt"));
        checked += 1;
    }
    assert!(checked >= 10, "{checked} fixtures");
    // Grouped by event type for a vendor dir's samples/.
    let grouped = out.join("grouped");
    let run = hookforge(&[
        "extract",
        fixtures.join("missing-braces.txt").to_str().unwrap(),
        "--out",
        grouped.to_str().unwrap(),
        "--event-pointer",
        "/meta/event",
    ]);
    assert_eq!(run.status.code(), Some(0));
    // missing-braces.json's `meta.event` is "a".
    let sample = grouped.join("a").join("doc-1.json");
    assert!(sample.exists());
    // Again over a sample edited since: nothing is written without
    // --overwrite (exit 2, the file named); the same output again is fine.
    let doc = fixtures.join("missing-braces.txt");
    let args = [
        "extract",
        doc.to_str().unwrap(),
        "--out",
        grouped.to_str().unwrap(),
        "--event-pointer",
        "/meta/event",
    ];
    assert_eq!(hookforge(&args).status.code(), Some(0));
    std::fs::write(&sample, "{\"edited\": true}\n").unwrap();
    let refused = hookforge(&args);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("doc-1.json"));
    assert_eq!(
        std::fs::read_to_string(&sample).unwrap(),
        "{\"edited\": true}\n"
    );
    let forced = hookforge(&[&args[..], &["--overwrite"]].concat());
    assert_eq!(forced.status.code(), Some(0));
    assert_ne!(
        std::fs::read_to_string(&sample).unwrap(),
        "{\"edited\": true}\n"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// A copy of Prets whose `quote.created` has a `oneOf`, an `allOf`, an
/// `anyOf`, `patternProperties`, value constraints, a recursive shared
/// definition (`tree`) and one of its own (`note`); its directory.
fn combinator_base(dir: &Path) -> std::path::PathBuf {
    let old = dir.join("old");
    common::copy_dir(&common::root().join("schemas/prets"), &old);
    edit(&old.join("events/quote.created.json"), |v| {
        let p = &mut v["properties"];
        p["payment"] = json!({"oneOf": [
            {"type": "object", "properties": {"card": {"type": "string"}}, "required": ["card"]},
            {"type": "object", "properties": {"iban": {"type": "string"}}, "required": ["iban"]}
        ]});
        p["extra"] = json!({"allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "object", "properties": {"b": {"type": "integer"}}}
        ]});
        p["contact"] = json!({"anyOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"type": "null"}
        ]});
        p["labels"] = json!({"type": "object", "patternProperties": {"^x-": {"type": "string"}}});
        p["qty"] = json!({"type": "integer", "minimum": 1});
        p["code"] = json!({"const": "v1"});
        p["pair"] = json!({"type": "array", "items": [{"type": "string"}]});
        p["tree"] = json!({"$ref": "../definitions.json#/definitions/Node"});
        p["note"] = json!({"$ref": "#/definitions/Note"});
        v["definitions"] =
            json!({"Note": {"type": "object", "properties": {"cents": {"type": "integer"}}}});
    });
    edit(&old.join("definitions.json"), |d| {
        d["definitions"]["Node"] = json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}}
        }});
    });
    old
}

/// `diff OLD NEW` after `change` to `file` of a copy of OLD: exit code and
/// the report.
fn diff_after(old: &Path, file: &str, change: Edit) -> (Option<i32>, String) {
    let new = old.with_file_name("new");
    let _ = std::fs::remove_dir_all(&new);
    common::copy_dir(old, &new);
    edit(&new.join(file), change);
    let out = hookforge(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

const EVENT: &str = "events/quote.created.json";

/// Changes inside `oneOf`, `allOf`, `anyOf`, `patternProperties` and an
/// event's own definitions are found and classed, and a change to a
/// recursive definition is reported once. Before, these read "0 changes",
/// exit 0, though the receiver then refused payloads it took before
/// (helper-48's review; helpers 49 and 50 for the branch pairing, own
/// definitions and `oneOf` loosening).
#[test]
fn changes_inside_combinators_and_recursive_definitions_are_classed() {
    let dir = common::temp_dir("diff-combinators");
    let old = combinator_base(&dir);
    // (file edited, the edit, the one breaking change `diff` should report)
    let cases: [(&str, Edit, &str); 11] = [
        (
            EVENT,
            |v| {
                drop(
                    v["properties"]["payment"]["oneOf"]
                        .as_array_mut()
                        .unwrap()
                        .pop(),
                )
            },
            "payment: `oneOf` branch 1 removed",
        ),
        (
            EVENT,
            |v| {
                v["properties"]["payment"]["oneOf"][1]["properties"]["iban"]["type"] =
                    "integer".into()
            },
            "payment<oneOf[1]>.iban: type changed from string to integer",
        ),
        (
            EVENT,
            |v| v["properties"]["extra"]["allOf"][0]["required"] = json!(["a"]),
            "extra<allOf[0]>.a: field made required",
        ),
        (
            EVENT,
            |v| v["properties"]["labels"]["patternProperties"]["^x-"]["type"] = "integer".into(),
            "labels<^x->: type changed from string to integer",
        ),
        (
            "definitions.json",
            |d| d["definitions"]["Node"]["properties"]["name"]["type"] = "integer".into(),
            "tree.name: type changed from string to integer",
        ),
        (
            EVENT,
            |v| v["definitions"]["Note"]["properties"]["cents"]["type"] = "string".into(),
            "note.cents: type changed from integer to string",
        ),
        // A branch retyped while another is added: the pairing finds it.
        (
            EVENT,
            |v| {
                let b = &mut v["properties"]["contact"]["anyOf"];
                b[0]["properties"]["a"]["type"] = "integer".into();
                b.as_array_mut().unwrap().push(json!({"type": "string"}));
            },
            "contact<anyOf[0]>.a: type changed from string to integer",
        ),
        // Looser inside a `oneOf` branch: {"iban": …} now matches both.
        (
            EVENT,
            |v| {
                drop(
                    v["properties"]["payment"]["oneOf"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("required"),
                )
            },
            "payment<oneOf[0]>.card: field made optional (inside a `oneOf` branch",
        ),
        // An enum alone admits its values' types: from a string to numbers.
        (
            EVENT,
            |v| v["properties"]["code"] = json!({"enum": [1, 2]}),
            "code: type changed from string to integer",
        ),
        // The alternatives went, and what replaced them no longer takes one.
        (
            EVENT,
            |v| {
                v["properties"]["contact"] = json!({"type": ["object", "null"],
                    "properties": {"a": {"type": "integer"}}, "required": ["a"]})
            },
            "contact<anyOf[0] removed>.a: type changed from string to integer",
        ),
        (
            EVENT,
            |v| v["properties"]["pair"]["items"][0]["type"] = "integer".into(),
            "pair[0]: type changed from string to integer",
        ),
    ];
    for (file, change, expected) in cases {
        let (code, text) = diff_after(&old, file, change);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains(&format!("BREAKING   quote.created {expected}")),
            "{text}"
        );
        assert!(text.contains("(1 breaking)"), "one breaking line: {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What admits as much or more, or what hookforge's receiver does not
/// enforce, is not breaking: branches reordered, an `anyOf` removed, a
/// bound loosened, `const` or `pattern` changed, `additionalProperties:
/// false` added (new keys are kept). Before, the reorder and these were
/// BREAKING, exit 1 (helpers 49 and 50).
#[test]
fn reordered_branches_and_unenforced_constraints_are_not_breaking() {
    let dir = common::temp_dir("diff-compatible");
    let old = combinator_base(&dir);
    let cases: [Edit; 9] = [
        |v| {
            v["properties"]["payment"]["oneOf"]
                .as_array_mut()
                .unwrap()
                .reverse()
        },
        |v| {
            v["properties"]["contact"] = json!({"type": ["object", "null"],
                "properties": {"a": {"type": "string"}}, "required": ["a"]})
        },
        |v| v["properties"]["qty"]["minimum"] = 0.into(),
        |v| v["properties"]["code"]["const"] = "v2".into(),
        |v| v["properties"]["labels"]["pattern"] = "^x".into(),
        |v| v["additionalProperties"] = false.into(),
        // Constraints the receiver does not enforce, inside a `oneOf` branch
        // and a pattern property, and an enum turned into its one value.
        |v| v["properties"]["payment"]["oneOf"][0]["properties"]["card"]["maxLength"] = 3.into(),
        |v| v["properties"]["labels"]["patternProperties"]["^x-"]["maxLength"] = 2.into(),
        |v| v["properties"]["code"] = json!({"enum": ["v1", "v2"]}),
    ];
    for change in cases {
        let (code, text) = diff_after(&old, EVENT, change);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("(0 breaking)"), "{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A definition reached by many paths is compared once: a chain of 14
/// definitions, each referring twice to the next, and the last retyped, is
/// one change. With a guard against cycles only, it was 16,384 lines, and
/// each level doubled the time (helper-52's review). The change names the
/// other places it holds (before: the first only).
#[test]
fn a_definition_reached_many_ways_is_compared_once() {
    let dir = common::temp_dir("diff-chain");
    let old = dir.join("old");
    common::copy_dir(&common::root().join("schemas/prets"), &old);
    edit(&old.join("definitions.json"), |d| {
        for i in 0..14 {
            let next = json!({"$ref": format!("#/definitions/D{}", i + 1)});
            d["definitions"][format!("D{i}")] =
                json!({"type": "object", "properties": {"l": next.clone(), "r": next}});
        }
        d["definitions"]["D14"] = json!({"type": "string"});
    });
    edit(&old.join(EVENT), |v| {
        v["properties"]["chain"] = json!({"$ref": "../definitions.json#/definitions/D0"});
    });
    let (code, text) = diff_after(&old, "definitions.json", |d| {
        d["definitions"]["D14"]["type"] = "integer".into();
    });
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("1 changes (1 breaking)"), "{text}");
    // Reported once, with the places where a definition holding it is
    // reached again: D14 from D13's `r`, D13 from D12's `r`, and so on.
    let again = format!("(also at chain{}.r, ", ".l".repeat(13));
    assert!(text.contains(&again), "{text}");
    assert!(text.contains("and 11 more places)"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What the receiver takes decides the class (helper-61's review): a field
/// made `false` takes nothing (it read "widened to any"); `null` taken out
/// of an optional field's type refuses nothing (it read BREAKING); an
/// enum added to a free string, `additionalProperties: false` and `items`
/// removed are listed (they were not); a NEW directory `serve` would not
/// load is an error, not "0 changes".
#[test]
fn changes_are_classed_by_what_the_receiver_takes() {
    let dir = common::temp_dir("diff-receiver-view");
    let old = combinator_base(&dir);
    edit(&old.join(EVENT), |v| {
        v["properties"]["memo"] = json!({"type": ["string", "null"]});
        v["properties"]["tags"] = json!({"type": "array", "items": {"type": "string"}});
    });
    let cases: [(Edit, Option<i32>, &str); 6] = [
        (
            |v| v["properties"]["qty"] = json!(false),
            Some(1),
            "BREAKING   quote.created qty: schema made `false`",
        ),
        (
            |v| v["properties"]["memo"] = json!({"type": "string"}),
            Some(0),
            "`null` taken out of the type of an optional field",
        ),
        (
            |v| v["properties"]["memo"] = json!({"type": ["string", "null"], "enum": ["a", "b"]}),
            Some(0),
            "enum of 2 values added",
        ),
        (
            |v| v["additionalProperties"] = json!(false),
            Some(0),
            "additionalProperties false added",
        ),
        (
            |v| v["properties"]["tags"] = json!({"type": "array"}),
            Some(0),
            "`items` removed",
        ),
        (
            |v| v["properties"]["memo"] = json!({"enum": "now"}),
            Some(2),
            "",
        ),
    ];
    for (change, code, says) in cases {
        let (got, text) = diff_after(&old, EVENT, change);
        assert_eq!(got, code, "{says}: {text}");
        assert!(text.contains(says), "{says}: {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One definition reached from an optional and a required field: `null`
/// taken out of it is breaking for the required one. Before, the first
/// (optional) comparison was reused for the second, and `diff` said
/// compatible (helper-62's review).
#[test]
fn a_shared_definition_is_judged_for_each_field_that_needs_it() {
    let dir = common::temp_dir("diff-shared-optional");
    let old = combinator_base(&dir);
    edit(&old.join(EVENT), |v| {
        v["definitions"]["Addr"] =
            json!({"type": ["object", "null"], "properties": {"city": {"type": "string"}}});
        v["properties"]["billing"] = json!({"$ref": "#/definitions/Addr"});
        v["properties"]["shipping"] = json!({"$ref": "#/definitions/Addr"});
        v["required"]
            .as_array_mut()
            .unwrap()
            .push(json!("shipping"));
    });
    let (code, text) = diff_after(&old, EVENT, |v| {
        v["definitions"]["Addr"]["type"] = json!("object");
    });
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("BREAKING   quote.created shipping"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
