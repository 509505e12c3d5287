//! `hookforge drift`: deliveries that drifted from the Prets schemas (a new
//! key at the top and inside `data`, a quarantined type change, a new enum
//! value, an event type no schema has) go through `serve` into the inbox;
//! `drift --apply` patches a copy of the schemas so every one of them
//! validates against the strict schemas, adds redacted samples, and a
//! second run finds nothing left.

use crate::common::{self, hookforge};

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

const SECRET: &str = "whsec_DriftDriftDriftDriftDriftDriftDriftDrift123";

/// A Prets delivery that fits the strict schema, with its own id.
fn delivery(i: usize) -> Value {
    let text =
        std::fs::read_to_string(common::root().join("samples/prets/quote.updated/doc-1.json"))
            .unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc["eventId"] = json!(format!("evt_01KV5A8SA0QW9DEY41RCGF{i:04}"));
    doc
}

/// Rewrites the JSON file at `path` with `f` applied.
fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// Every body validates against the strict (file) schemas of `dir`.
fn misfits(dir: &Path, bodies: &[Value]) -> Vec<String> {
    let vs = hookforge::manifest::vendor_dir::VendorSchemas::load(dir).unwrap();
    let mut out = Vec::new();
    for b in bodies {
        let t = b["type"].as_str().unwrap();
        let Some(e) = vs.events.iter().find(|e| e.name == t) else {
            out.push(format!("no schema for {t}"));
            continue;
        };
        let v = jsonschema::draft7::new(&vs.bundled(e)).unwrap();
        out.extend(
            v.iter_errors(b)
                .map(|err| format!("{t} {}: {err}", err.instance_path())),
        );
    }
    out
}

#[test]
fn drift_proposes_patches_that_make_real_traffic_fit() {
    let root = common::root();
    let tmp = std::env::temp_dir().join(format!("hookforge-drift-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let dir = tmp.join("prets");
    common::copy_dir(&root.join("schemas/prets"), &dir);
    common::copy_dir(&root.join("samples/prets"), &dir.join("samples"));
    let db = tmp.join("inbox.db");

    let bodies = drifted_deliveries();
    // The new keys fit already (objects are open): they are unknown fields
    // the typed models keep, which drift also proposes to declare.
    assert_eq!(
        misfits(&dir, &bodies).len(),
        3,
        "{:?}",
        misfits(&dir, &bodies)
    );
    serve_and_post(&db, &bodies);

    let (db_s, dir_s, samples_s) = (
        db.to_str().unwrap(),
        dir.to_str().unwrap(),
        dir.join("samples"),
    );
    let samples_s = samples_s.to_str().unwrap();
    #[rustfmt::skip]
    let args = [
        "drift",
        "--db", db_s,
        "--vendor", "prets",
        "--schemas", dir_s,
        "--samples", samples_s,
    ];
    check_proposal_report(&args);
    // Nothing written without --apply.
    assert_eq!(misfits(&dir, &bodies).len(), 3);

    apply_and_check_patch(&root, &dir, &args);
    // Every stored delivery now fits the strict schemas, and the new keys
    // are declared.
    assert_eq!(misfits(&dir, &bodies), Vec::<String>::new());
    check_new_keys_declared(&dir);
    check_drift_samples(&dir);
    // A second run finds nothing left.
    let out = hookforge(&args);
    let again = String::from_utf8_lossy(&out.stdout);
    assert!(
        again.starts_with("prets: 5 deliveries read, 0 show drift"),
        "{again}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Five Prets deliveries: a new key at the top and inside `data`, a type
/// change, a new enum value, an event type no schema has, and one that fits.
fn drifted_deliveries() -> Vec<Value> {
    let mut bodies = Vec::new();
    let mut extra = delivery(1);
    extra["channel"] = json!("web");
    extra["data"]["riskScore"] = json!(0.7);
    extra["data"]["contactEmail"] = json!("jane.doe@acme.io");
    bodies.push(extra);
    let mut retyped = delivery(2);
    retyped["data"]["quoteId"] = json!(5);
    bodies.push(retyped);
    let mut version = delivery(3);
    version["version"] = json!("2027-01-01");
    bodies.push(version);
    let mut new_type = delivery(4);
    new_type["type"] = json!("quote.teleported");
    new_type["data"]["destination"] = json!("mars");
    bodies.push(new_type);
    bodies.push(delivery(5)); // fits: no drift
    bodies
}

/// Posts `bodies` through `serve` into the inbox at `db`, each answered 200.
fn serve_and_post(db: &Path, bodies: &[Value]) {
    let mut cmd = common::hookforge_command();
    cmd.args(["serve", "--vendor", "prets", "--addr", "127.0.0.1:0"])
        .arg("--db")
        .arg(db)
        .arg(format!("--secret=prets={SECRET}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let (mut child, port) = common::spawn_listening(cmd);
    for b in bodies {
        assert_eq!(
            common::post_prets(port, SECRET, &serde_json::to_vec(b).unwrap()).unwrap(),
            200
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `drift` (with `args`, without --apply) reports each change with the
/// deliveries that showed it.
fn check_proposal_report(args: &[&str]) {
    let out = hookforge(args);
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    common::assert_ok(&out);
    assert!(
        report.starts_with("prets: 5 deliveries read, 4 show drift"),
        "{report}"
    );
    for expected in [
        // Each change names the inbox rows that showed it (ids in arrival order).
        "  events/quote.updated.json\n    add     /properties/channel  (the key `channel` arrived 1 time(s); delivery 1)",
        // `data` is the shared `QuoteRef`: the patch goes where it is defined.
        "    add     /definitions/QuoteRef/properties/riskScore  (the key `riskScore` arrived 1 time(s); delivery 1)",
        "    replace /definitions/QuoteRef/properties/quoteId/type  (`/data/quoteId` of `quote.updated` was integer; delivery 2)",
        "    add     /definitions/ApiVersion/enum/-  (`/version` of `quote.updated` held the new value \"2027-01-01\"; delivery 3)",
        "  new event `quote.teleported`: a schema inferred from its deliveries (delivery 4)",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
}

/// `drift --apply` (with `args`) writes to `dir` exactly the patch that
/// `--json` proposes, against the schemas under `root`.
fn apply_and_check_patch(root: &Path, dir: &Path, args: &[&str]) {
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let proposal: Value = serde_json::from_slice(&hookforge(&json_args).stdout).unwrap();
    let mut apply = args.to_vec();
    apply.push("--apply");
    let out = hookforge(&apply);
    common::assert_ok(&out);
    diff_is_the_patch(
        &root.join("schemas/prets"),
        dir,
        &proposal["prets"]["patches"],
    );
}

/// The patched schemas in `dir` declare the new keys and the new type.
fn check_new_keys_declared(dir: &Path) {
    let updated: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("events/quote.updated.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(updated["properties"]["channel"]["type"], "string");
    let defs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("definitions.json")).unwrap())
            .unwrap();
    assert_eq!(
        defs["definitions"]["QuoteRef"]["properties"]["contactEmail"]["format"],
        "email"
    );
    assert_eq!(
        defs["definitions"]["QuoteRef"]["properties"]["quoteId"]["type"],
        json!(["string", "integer"])
    );
}

/// The new samples are redacted and fit too, and the vendor dir loads.
fn check_drift_samples(dir: &Path) {
    let sample = std::fs::read_to_string(dir.join("samples/quote.updated/drift-1.json")).unwrap();
    assert!(!sample.contains("jane.doe@acme.io"), "{sample}");
    assert!(sample.contains("@example.com"), "{sample}");
    let teleported: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("samples/quote.teleported/drift-1.json")).unwrap(),
    )
    .unwrap();
    let drift_samples = vec![serde_json::from_str(&sample).unwrap(), teleported];
    assert_eq!(misfits(dir, &drift_samples), Vec::<String>::new());
    let v = hookforge::vendor_dir::load(dir).unwrap();
    assert!(v.event("quote.teleported").is_some());
}

/// `--apply` changes only what its patch changes: per patched file, the
/// lines `git diff` counts are at most the patch's own lines (each value as
/// it is printed, plus a line per op for its key and a neighbour's comma).
/// Rewriting a file with its keys sorted or re-indented fails this.
fn diff_is_the_patch(before: &Path, after: &Path, patches: &Value) {
    let patches = patches.as_object().expect("patches per file");
    assert!(!patches.is_empty());
    for (file, ops) in patches {
        let ops = ops.as_array().unwrap();
        let patch_lines: usize = ops
            .iter()
            .map(|op| {
                let value_lines = op.get("value").map_or(0, |v| {
                    serde_json::to_string_pretty(v).unwrap().lines().count()
                });
                value_lines + 2
            })
            .sum();
        let out = std::process::Command::new("git")
            .args(["diff", "--no-index", "--numstat", "--"])
            .arg(before.join(file))
            .arg(after.join(file))
            .output()
            .unwrap();
        let stat = String::from_utf8_lossy(&out.stdout);
        let mut fields = stat.split_whitespace();
        let added: usize = fields.next().unwrap().parse().unwrap();
        let removed: usize = fields.next().unwrap().parse().unwrap();
        assert!(
            added + removed <= patch_lines,
            "{file}: the diff is {added}+/{removed}- lines for a patch of {} ops ({patch_lines} lines)",
            ops.len()
        );
    }
}

/// A new event is written under the name its vendor's other files follow:
/// CollateralXP's `ordering::workflow::held` as `ordering.workflow.held`,
/// beside `ordering.workflow.….json`, not `ordering__workflow__held`.
#[test]
fn new_events_are_named_as_the_vendors_other_files() {
    use hookforge::receive::store::Store;
    let root = common::root();
    let tmp = common::temp_dir("drift-naming");
    let dir = tmp.join("collateralxp");
    common::copy_dir(&root.join("schemas/collateralxp"), &dir);
    let db = tmp.join("inbox.db");
    let store = hookforge::receive::store::SqliteStore::open(&db).unwrap();
    let body = br#"{"event":"ordering::workflow::held","data":{"order_id":"ord_1","reason":"awaiting payment"}}"#;
    let mut d = common::new_delivery("collateralxp", "evt_held_1", body.to_vec());
    d.event_type = "ordering::workflow::held".into();
    store.insert(&d).unwrap();
    drop(store);
    let (db_s, dir_s, samples) = (
        db.to_str().unwrap(),
        dir.to_str().unwrap(),
        dir.join("samples"),
    );
    let out = drift(
        db_s,
        "collateralxp",
        dir_s,
        &["--samples", samples.to_str().unwrap(), "--apply"],
    );
    common::assert_ok(&out);
    assert!(dir.join("events/ordering.workflow.held.json").is_file());
    assert!(!dir.join("events/ordering__workflow__held.json").exists());
    assert!(
        samples
            .join("ordering.workflow.held/drift-1.json")
            .is_file()
    );
    let v = hookforge::vendor_dir::load(&dir).unwrap();
    assert!(v.event("ordering::workflow::held").is_some());
    // `--vendor-dir` names the directory as `--schemas` does (run where
    // there is no `schemas/`, which drift would otherwise look in).
    let again = common::hookforge_command()
        .args([
            "--vendor-dir",
            dir_s,
            "drift",
            "--db",
            db_s,
            "--vendor",
            "collateralxp",
        ])
        .current_dir(&tmp)
        .output()
        .unwrap();
    common::assert_ok(&again);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Prets deliveries of the undocumented types `types`, stored in a new
/// inbox in `tmp`; the inbox's path.
fn inbox_of_types(tmp: &Path, types: &[String]) -> PathBuf {
    let db = tmp.join("inbox.db");
    for (i, t) in types.iter().enumerate() {
        let mut body = delivery(100 + i);
        body["type"] = json!(t);
        store(&db, "prets", t, &body);
    }
    db
}

/// `drift --json` of Prets' deliveries in `db` against `dir`: its report.
fn drift_json(db: &Path, dir: &Path) -> Value {
    let out = drift(
        db.to_str().unwrap(),
        "prets",
        dir.to_str().unwrap(),
        &["--json"],
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `hookforge drift --db DB --vendor VENDOR --schemas DIR` and `more`.
fn drift(db: &str, vendor: &str, schemas: &str, more: &[&str]) -> std::process::Output {
    let mut args = vec![
        "drift",
        "--db",
        db,
        "--vendor",
        vendor,
        "--schemas",
        schemas,
    ];
    args.extend(more);
    hookforge(&args)
}

/// `drift --apply` of `vendor`'s deliveries in `db` to the vendor dir `dir`
/// (its samples in `dir/samples`).
fn drift_apply(db: &Path, vendor: &str, dir: &Path) -> std::process::Output {
    let samples = dir.join("samples");
    drift(
        db.to_str().unwrap(),
        vendor,
        dir.to_str().unwrap(),
        &["--samples", samples.to_str().unwrap(), "--apply"],
    )
}

/// `drift --apply` of every vendor in `db`, run in `dir` (so each vendor's
/// directory is looked for in `dir/schemas`, then `dir/vendors`).
fn drift_apply_every_vendor(dir: &Path, db: &Path) -> std::process::Output {
    common::hookforge_command()
        .args(["drift", "--db", db.to_str().unwrap(), "--apply"])
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Stores `body` in the inbox at `db` as a delivery of `vendor`'s
/// `event_type` (its id from `/eventId`, else made up).
fn store(db: &Path, vendor: &str, event_type: &str, body: &Value) {
    use hookforge::receive::store::Store;
    let inbox = hookforge::receive::store::SqliteStore::open(db).unwrap();
    let id = body["eventId"]
        .as_str()
        .unwrap_or("evt_01KVSTORED")
        .to_string();
    let mut d = common::new_delivery(vendor, &id, serde_json::to_vec(body).unwrap());
    d.event_type = event_type.into();
    inbox.insert(&d).unwrap();
}

/// Event types that slug alike (`a/b`, `a b`, `a:b`) or too long for a file
/// name each get their own schema file, and a second run finds no drift;
/// a type holding terminal escapes is shown escaped.
/// Before, the three became one `quote.a_b.json` (the last written; the
/// other two schemas lost) and a 300-byte type failed the apply half-way
/// (helper-48's review).
#[test]
fn drift_names_every_new_event_its_own_file() {
    let (tmp, dir, _) = prets_copy("drift-collide");
    let types: Vec<String> = [
        "quote.a/b",
        "quote.a b",
        "quote.a:b",
        "quote.\u{1b}]0;pwned\u{7}",
    ]
    .into_iter()
    .map(String::from)
    .chain([format!("quote.{}", "x".repeat(300))])
    .collect();
    let db = inbox_of_types(&tmp, &types);
    let args = |apply: bool| {
        let mut a = vec!["drift", "--db", db.to_str().unwrap(), "--vendor", "prets"];
        a.extend(["--schemas", dir.to_str().unwrap()]);
        if apply {
            a.push("--apply");
        }
        hookforge(&a)
    };
    let out = args(true);
    common::assert_ok(&out);
    // The vendor's text never drives the terminal: escaped in drift's
    // report and in `events`.
    let listed = hookforge(&["events", "--vendor-dir", dir.to_str().unwrap()]);
    for text in [&out.stdout, &listed.stdout] {
        let text = String::from_utf8_lossy(text);
        let escaped = "quote.\\u{1b}]0;pwned\\u{7}";
        assert!(!text.contains('\u{1b}') && text.contains(escaped), "{text}");
    }
    let v = hookforge::vendor_dir::load(&dir).unwrap();
    for t in &types {
        assert!(v.event(t).is_some(), "no schema for {t}");
    }
    let again = String::from_utf8_lossy(&args(false).stdout).to_string();
    assert!(!again.contains("new event"), "{again}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A write that fails part-way (here: a directory where a staged file
/// goes) leaves the vendor directory as it was, directories included. Before, the schemas before it
/// were written and every later run stopped at the same place.
#[test]
fn a_failed_drift_apply_changes_nothing() {
    let (tmp, dir, _) = prets_copy("drift-atomic");
    let db = inbox_of_types(&tmp, &["quote.paused".into(), "quote.resumed".into()]);
    // A directory where the second schema's staged file goes: its write
    // fails after the first one's.
    std::fs::create_dir_all(dir.join("events/quote.resumed.json.drift-tmp")).unwrap();
    let before = common::tree_text(&dir);
    let out = drift_apply(&db, "prets", &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("nothing in ") && err.contains(" was changed"),
        "{err}"
    );
    assert_eq!(common::tree_text(&dir), before);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Definitions in an event file and, identically, in `definitions.json`
/// (the loader takes that): every copy gets every change, from either copy.
/// Before, the event's copy alone was patched and the applied directory no
/// longer loaded ("defined here and, differently, in definitions.json");
/// then (helper-55's review) a second new enum value, or a change to the
/// shared copy from another event, still reached one copy only.
#[test]
fn drift_patches_both_copies_of_a_definition_held_twice() {
    let (tmp, dir, db) = prets_copy("drift-twins");
    let shared: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("definitions.json")).unwrap())
            .unwrap();
    edit_json(&dir.join("events/quote.updated.json"), |event| {
        event["definitions"] = json!({
            "QuoteRef": shared["definitions"]["QuoteRef"],
            "ApiVersion": shared["definitions"]["ApiVersion"],
        });
    });
    // Through the event's own copies: a number for the id, two new versions.
    let mut bodies = Vec::new();
    for (i, version) in ["2027-01-01", "2027-02-01"].iter().enumerate() {
        let mut body = delivery(300 + i);
        body["data"]["quoteId"] = json!(5);
        body["version"] = json!(version);
        store(&db, "prets", "quote.updated", &body);
        bodies.push(body);
    }
    // Through the shared copy, from another event: a null id.
    let created =
        std::fs::read_to_string(common::root().join("samples/prets/quote.created/doc-1.json"))
            .unwrap();
    let mut body: Value = serde_json::from_str(&created).unwrap();
    body["eventId"] = json!("evt_01KV5A8SA0QW9DEY41RCGF0399");
    body["data"]["quoteId"] = Value::Null;
    store(&db, "prets", "quote.created", &body);
    bodies.push(body);
    let out = drift_apply(&db, "prets", &dir);
    common::assert_ok(&out);
    hookforge::vendor_dir::load(&dir).expect("the applied directory loads");
    assert_eq!(misfits(&dir, &bodies), Vec::<String>::new());
    let read = |path: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(path)).unwrap()).unwrap()
    };
    let (own, shared) = (read("events/quote.updated.json"), read("definitions.json"));
    for name in ["QuoteRef", "ApiVersion"] {
        assert_eq!(
            own["definitions"][name], shared["definitions"][name],
            "{name}"
        );
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// With several vendors, one whose directory cannot be found stops the run
/// before any vendor's files are written. Before, the vendors before it
/// were already applied (helper-55's review).
#[test]
fn drift_apply_writes_nothing_when_a_later_vendor_has_no_directory() {
    let tmp = common::temp_dir("drift-no-dir");
    common::copy_dir(
        &common::root().join("schemas/prets"),
        &tmp.join("schemas/prets"),
    );
    let db = inbox_of_types(&tmp, &["quote.paused".into()]);
    store(&db, "socotra", "policy.paused", &delivery(201));
    let out = drift_apply_every_vendor(&tmp, &db);
    common::fails_saying(&out, 2, "no vendor directory for socotra");
    assert!(!tmp.join("schemas/prets/events/quote.paused.json").exists());
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// With several vendors, a failed apply names the vendor directories
/// already written before it. Before: "nothing was changed", though the
/// first vendor's files were in place (noted last session, fixed now).
#[test]
fn a_failed_drift_apply_names_what_earlier_vendors_got() {
    let tmp = common::temp_dir("drift-two-vendors");
    for vendor in ["prets", "socotra"] {
        common::copy_dir(
            &common::root().join("schemas").join(vendor),
            &tmp.join("schemas").join(vendor),
        );
    }
    let db = inbox_of_types(&tmp, &["quote.paused".into()]);
    store(&db, "socotra", "policy.paused", &delivery(200));
    // socotra's new schema cannot be staged: it comes after prets' (vendors
    // are applied in name order).
    std::fs::create_dir_all(tmp.join("schemas/socotra/events/policy.paused.json.drift-tmp"))
        .unwrap();
    let out = drift_apply_every_vendor(&tmp, &db);
    common::fails_saying(&out, 1, "socotra: ");
    common::fails_saying(&out, 1, "(already applied to schemas/prets before it)");
    assert!(tmp.join("schemas/prets/events/quote.paused.json").is_file());
    assert!(
        !tmp.join("schemas/socotra/events/policy.paused.json")
            .exists()
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Outside hookforge's repository there is no `schemas/prets`: `drift`
/// says how to get a vendor directory, `export vendor-dir` writes one (the
/// same schemas: `diff` finds nothing), and `drift --schemas` uses it.
/// Before: "schemas/prets/manifest.json: No such file", and no way to get
/// the files (helper-48's review).
#[test]
fn drift_outside_the_repository_says_how_to_get_the_vendor_dir() {
    let tmp = common::temp_dir("drift-outside");
    let db = inbox_of_types(&tmp, &["quote.paused".into()]);
    let run = |args: &[&str]| {
        common::hookforge_command()
            .args(args)
            .current_dir(&tmp)
            .output()
            .unwrap()
    };
    let db_s = db.to_str().unwrap();
    let out = run(&["drift", "--db", db_s, "--vendor", "prets"]);
    common::fails_saying(
        &out,
        2,
        "hookforge export vendor-dir --vendor prets --out DIR",
    );
    let export = [
        "export",
        "vendor-dir",
        "--vendor",
        "prets",
        "--out",
        "prets",
    ];
    common::assert_ok(&run(&export));
    let root = common::root();
    let same = run(&[
        "diff",
        root.join("schemas/prets").to_str().unwrap(),
        "prets",
        "--old-samples",
        root.join("samples/prets").to_str().unwrap(),
    ]);
    common::succeeds_saying(&same, "0 changes (0 breaking); 16 old samples");
    let out = run(&[
        "drift",
        "--db",
        db_s,
        "--vendor",
        "prets",
        "--schemas",
        "prets",
    ]);
    common::succeeds_saying(&out, "new event `quote.paused`");
    // A directory that is there already is not written into.
    assert_eq!(run(&export).status.code(), Some(2));
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A misfit inside an event schema's own definitions is proposed as a patch
/// to that definition in the event's file. Before, `drift` looked only in
/// `definitions.json` and found no drift (helper-49's review).
#[test]
fn drift_patches_an_event_schemas_own_definitions() {
    let (tmp, dir, db) = prets_copy("drift-own-defs");
    let path = dir.join("events/quote.updated.json");
    let mut schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    schema["definitions"] = json!({"Note": {"type": "integer"}});
    schema["properties"]["note"] = json!({"$ref": "#/definitions/Note"});
    std::fs::write(&path, serde_json::to_vec_pretty(&schema).unwrap()).unwrap();
    let mut body = delivery(200);
    body["note"] = json!("a string");
    store(&db, "prets", "quote.updated", &body);
    let report = drift_json(&db, &dir);
    let ops = &report["prets"]["patches"]["events/quote.updated.json"];
    assert!(
        ops.as_array()
            .is_some_and(|o| o.iter().any(|op| op["path"] == "/definitions/Note/type")),
        "{report:#}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Vendor-chosen event types that are path parts (`.`, `..`, `../x`), one
/// whose stem an orphan sample directory has, and one stored under the
/// receiver's "(unreadable)" placeholder: after `--apply` the directory
/// still loads, each sample sits with its own event (a self-`diff` finds
/// none failing), nothing is written outside it, and the placeholder is no
/// event. Before: `events/..json`, the `..` event's samples read from the
/// directory above, an orphan's samples mixed in, and an event named
/// "(unreadable)" (helper-50's review).
#[test]
fn drift_apply_keeps_odd_event_types_inside_their_own_files() {
    let (tmp, dir, _) = prets_copy("drift-odd-types");
    common::copy_dir(&common::root().join("samples/prets"), &dir.join("samples"));
    let orphan = dir.join("samples/quote.a_b");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("kept.json"), delivery(300).to_string()).unwrap();
    let types: Vec<String> = [".", "..", "../../etc", "quote.a b"]
        .map(String::from)
        .to_vec();
    let db = inbox_of_types(&tmp, &types);
    let unreadable = hookforge::receive::receiver::UNREADABLE_EVENT_TYPE;
    store(&db, "prets", unreadable, &delivery(301));
    let outside_before = std::fs::read_dir(&tmp).unwrap().count();
    let out = drift(
        db.to_str().unwrap(),
        "prets",
        dir.to_str().unwrap(),
        &["--apply"],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    common::assert_ok(&out);
    assert!(
        text.contains("1 deliveries left out: their event type could not be read"),
        "{text}"
    );
    assert!(!text.contains("(unreadable)`"), "{text}");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), outside_before);
    let v = hookforge::vendor_dir::load(&dir).unwrap();
    for t in &types {
        assert!(v.event(t).is_some_and(|e| e.samples.len() == 1), "{t}");
    }
    let d = dir.to_str().unwrap();
    let same = hookforge(&["diff", d, d]);
    common::succeeds_saying(&same, "0 no longer validate");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// `--schemas DIR` names one vendor's directory: with deliveries of two
/// vendors in the inbox and no `--vendor`, it is a usage error. Before, the
/// other vendor's event types were proposed (and applied) into DIR as new
/// events (helper-52's review).
#[test]
fn drift_with_schemas_needs_a_vendor_when_the_inbox_has_several() {
    let (tmp, dir, _) = prets_copy("drift-two-vendors");
    let db = inbox_of_types(&tmp, &["quote.paused".into()]);
    store(&db, "cowbell", "policy.bound", &delivery(302));
    let before = common::tree_text(&dir);
    let out = hookforge(&[
        "drift",
        "--db",
        db.to_str().unwrap(),
        "--schemas",
        dir.to_str().unwrap(),
        "--apply",
    ]);
    common::fails_saying(
        &out,
        2,
        "cowbell, prets: --schemas names one vendor's directory",
    );
    assert_eq!(common::tree_text(&dir), before);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A new key holding two objects of one shape: the inferred schema's
/// definitions are written in place, so the patched directory loads.
/// Before, they sat under the new property, unreachable from
/// `#/definitions/…`, and `--apply` wrote a directory nothing could load
/// (helper-61's review).
#[test]
fn drift_apply_leaves_a_directory_that_loads() {
    let (tmp, dir, db) = prets_copy("drift-nested-defs");
    let mut body = delivery(300);
    let user = |id: u32, login: &str| json!({"id": id, "login": login, "url": format!("https://x.test/u/{login}")});
    body["review"] = json!({"author": user(1, "amy"), "approver": user(2, "bob")});
    store(&db, "prets", "quote.updated", &body);
    let out = drift_apply(&db, "prets", &dir);
    common::assert_ok(&out);
    let loaded = hookforge::vendor_dir::load(&dir);
    assert!(loaded.is_ok(), "{:?}", loaded.err().map(|e| e.to_string()));
    assert!(misfits(&dir, &[body]).is_empty());
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A value no branch of a `oneOf` takes: the branches become an `anyOf`
/// with the new type, so a value two branches take (3, an integer and a
/// number) is not refused. Before, a `number` branch was added beside
/// `integer` and every integer became "valid under more than one" of the
/// `oneOf`, a change `diff` itself called breaking (helper-61's review).
#[test]
fn drift_widens_a_one_of_without_refusing_what_it_took() {
    let (tmp, dir, db) = prets_copy("drift-one-of");
    edit_json(&dir.join("events/quote.updated.json"), |s| {
        s["properties"]["kind"] = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
    });
    let before = tmp.join("before");
    common::copy_dir(&dir, &before);
    let mut body = delivery(301);
    body["kind"] = json!(2.5);
    store(&db, "prets", "quote.updated", &body);
    let out = drift_apply(&db, "prets", &dir);
    common::assert_ok(&out);
    let mut three = delivery(302);
    three["kind"] = json!(3);
    let mut text = delivery(303);
    text["kind"] = json!("x");
    assert!(misfits(&dir, &[body, three, text]).is_empty());
    let diff = hookforge(&["diff", before.to_str().unwrap(), dir.to_str().unwrap()]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// What `hookforge check` sent is not the vendor's traffic: its marked
/// fields and its undocumented event are left out and counted, not
/// proposed; and another vendor's directory is refused, not filled with
/// every event as new (helper-61's review).
#[test]
fn drift_leaves_out_check_traffic_and_other_vendors_directories() {
    let (tmp, dir, db) = prets_copy("drift-check-traffic");
    let mut marked = delivery(400);
    marked["x_hookforge_new_field"] = json!({"added": true});
    store(&db, "prets", "quote.updated", &marked);
    let mut undocumented = delivery(401);
    undocumented["type"] = json!("hookforge_undocumented");
    store(&db, "prets", "hookforge_undocumented", &undocumented);
    let report = drift_json(&db, &dir);
    assert_eq!(report["prets"]["check_traffic"], 2, "{report:#}");
    assert_eq!(report["prets"]["patches"], json!({}), "{report:#}");
    assert_eq!(report["prets"]["new_events"], json!({}), "{report:#}");

    let other = tmp.join("superoffice");
    common::copy_dir(&common::root().join("schemas/superoffice"), &other);
    store(&db, "prets", "quote.updated", &delivery(402));
    let out = drift(db.to_str().unwrap(), "prets", other.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is the directory of vendor \"superoffice\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A scratch directory named `name` with a copy of prets' schema directory
/// at `prets/` inside it: (the scratch directory, the copy, the path of an
/// inbox there, not yet created).
fn prets_copy(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let tmp = common::temp_dir(name);
    let dir = tmp.join("prets");
    common::copy_dir(&common::root().join("schemas/prets"), &dir);
    let db = tmp.join("inbox.db");
    (tmp, dir, db)
}

/// `check` run against `serve`, then `drift` on the same inbox: nothing is
/// proposed. Before, the unknown-enum probe's `hookforge_undocumented_value`
/// and the null-optional probe's nulls were taken for the vendor's drift,
/// and `--apply` wrote the placeholder into `definitions.json` (helper-68's
/// review). Every request `check` sends carries `X-Hookforge-Check`, which
/// `serve` keeps.
#[test]
fn check_traffic_in_the_inbox_is_no_drift() {
    let (tmp, dir, db) = prets_copy("drift-after-check");
    let secret = "whsec_DriftDriftDriftDriftDriftDriftDriftDrift123";
    let mut serve = common::serve_prets(secret);
    serve.arg("--db").arg(&db);
    serve.stdout(std::process::Stdio::piped());
    let (mut child, port) = common::spawn_listening(serve);
    let url = format!("http://127.0.0.1:{port}/hooks/prets");
    let check = hookforge(&[
        "check", "--vendor", "prets", "--url", &url, "--secret", secret,
    ]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let before = common::tree_text(&dir);
    let out = drift(
        db.to_str().unwrap(),
        "prets",
        dir.to_str().unwrap(),
        &["--apply"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    common::assert_ok(&out);
    assert!(text.contains(", 0 show drift"), "{text}");
    assert_eq!(common::tree_text(&dir), before, "{text}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
