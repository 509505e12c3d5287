//! `hookforge infer` on the built-in vendors' samples: each inferred schema
//! accepts every sample it was inferred from (formats checked), and the
//! vendor directory it writes loads and parses them all.

use crate::common;

use std::collections::BTreeMap;

#[test]
fn inferred_schemas_accept_their_own_samples() {
    let mut by_event: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for (v, event, _, body) in common::all_samples() {
        by_event
            .entry(format!("{}/{event}", v.id))
            .or_default()
            .push(serde_json::from_slice(body).unwrap());
    }
    let mut checked = 0;
    for (event, samples) in &by_event {
        let schema = hookforge::infer::infer(event, samples);
        let v = jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{event}: not a valid schema: {e}"));
        for s in samples {
            checked += 1;
            let errors: Vec<String> = v
                .iter_errors(s)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{event}: {errors:?}");
        }
    }
    assert_eq!(checked, 203);
}

#[test]
fn infer_writes_a_vendor_dir_that_loads_and_parses_its_samples() {
    let out = std::env::temp_dir().join(format!("hookforge-infer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let dir = out.join("prets_next");
    let run = common::succeeded(
        common::hookforge_command()
            .args([
                "infer",
                "--vendor-dir",
                dir.to_str().unwrap(),
                "samples/prets",
            ])
            .current_dir(common::root()),
    );
    assert!(
        String::from_utf8_lossy(&run.stderr)
            .contains(r#"8 event(s); event type at {"pointer":"/type"}; event id at {"example":"#),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let vendor = hookforge::vendor_dir::load(&dir).unwrap();
    assert_eq!(vendor.id, "prets_next");
    assert_eq!(vendor.events.len(), 8);
    let mut parsed = 0;
    for e in vendor.events {
        for s in e.samples {
            let p = vendor.parse(s.body, &hookforge::HeaderMap::new()).unwrap();
            assert!(p.known && p.event_type == e.name, "{}", s.path);
            parsed += 1;
        }
    }
    assert_eq!(parsed, 16);
    std::fs::remove_dir_all(&out).unwrap();
}

/// Run again into the directory the user has since edited (the README's
/// onboarding: infer, then write the auth into the manifest), `infer`
/// keeps the manifest and the event schemas as they are; `--overwrite`
/// infers the schemas again, never the manifest.
#[test]
fn infer_again_keeps_the_users_edits() {
    let out = common::temp_dir("infer-again");
    let dir = out.join("acme");
    let infer = |extra: &[&str]| {
        let mut cmd = common::hookforge_command();
        cmd.args([
            "infer",
            "--vendor-dir",
            dir.to_str().unwrap(),
            "samples/prets",
        ])
        .args(extra)
        .current_dir(common::root());
        common::succeeded(&mut cmd)
    };
    infer(&[]);
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["auth"] =
        serde_json::json!({"scheme": "bearer", "header": "Authorization", "prefix": "Bearer "});
    let edited = serde_json::to_vec_pretty(&manifest).unwrap();
    std::fs::write(&manifest_path, &edited).unwrap();
    let schema_path = common::first_file(&dir.join("events"));
    let mut schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&schema_path).unwrap()).unwrap();
    schema["description"] = "written by hand".into();
    std::fs::write(&schema_path, serde_json::to_vec_pretty(&schema).unwrap()).unwrap();

    let again = infer(&[]);
    assert_eq!(std::fs::read(&manifest_path).unwrap(), edited);
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&schema_path).unwrap()).unwrap();
    assert_eq!(kept["description"], "written by hand");
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite infers it again"));

    // A backup beside a schema is not an event file (helper-52's review: it
    // was taken for one, and the event written to `….json.json`).
    let mut backup = schema_path.clone().into_os_string();
    backup.push(".bak");
    std::fs::copy(&schema_path, &backup).unwrap();
    infer(&["--overwrite"]);
    let names: Vec<String> = std::fs::read_dir(dir.join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".json.json")),
        "{names:?}"
    );
    std::fs::remove_file(&backup).unwrap();
    assert_eq!(std::fs::read(&manifest_path).unwrap(), edited);
    let redone: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&schema_path).unwrap()).unwrap();
    assert_ne!(redone["description"], "written by hand");
    std::fs::remove_dir_all(&out).unwrap();
}

/// From samples alone, `infer` finds the event type and id where the
/// hand-written manifests say they are, for every vendor whose samples name
/// their event in the body (GitHub's and Shopify's do so in a header, which
/// their samples do not carry).
#[test]
fn infer_finds_the_event_type_and_id_the_manifests_name() {
    use hookforge::onboard::{Sample, event_id, event_type};
    let mut by_vendor: BTreeMap<&str, BTreeMap<String, Vec<Sample>>> = BTreeMap::new();
    let catalogue = hookforge::vendor_dir::catalogue::ids().flat_map(|id| {
        let v = hookforge::vendor(id).unwrap();
        v.events
            .iter()
            .flat_map(move |e| e.samples.iter().map(move |s| (v, e.name, s.path, s.body)))
    });
    for (v, event, _, body) in common::all_samples().into_iter().chain(catalogue) {
        let body = serde_json::from_slice(body).unwrap();
        by_vendor
            .entry(v.id)
            .or_default()
            .entry(hookforge::infer::event_slug(event))
            .or_default()
            .push(Sample {
                body,
                headers: vec![],
            });
    }
    let mut checked = Vec::new();
    for (id, events) in by_vendor {
        let m = hookforge::vendor(id).unwrap().manifest();
        let Some(want) = &m.event_type.pointer else {
            continue;
        };
        if m.event_type.header.is_some() && m.event_type.join.is_some() {
            continue; // GitHub: a header joined with a field
        }
        let events: Vec<(String, Vec<Sample>)> = events.into_iter().collect();
        let found = event_type(&events).map(|f| f.locator["pointer"].clone());
        let id_found =
            event_id(&events, None).and_then(|l| l["pointer"].as_str().map(String::from));
        let id_want = m.event_id.as_ref().and_then(|l| l.pointer.clone());
        checked.push(format!(
            "{id}: type {}, id {}",
            if found.as_ref().and_then(|f| f.as_str()) == Some(want.as_str()) {
                "same"
            } else {
                "differs"
            },
            if id_found == id_want {
                "same"
            } else {
                "differs"
            },
        ));
    }
    eprintln!("{checked:#?}");
    // The type is found where every manifest says; the id where most do
    // (the rest send it in a header their samples do not carry, or name
    // it in a way only the docs explain: SNS's `MessageId`).
    let types_differ: Vec<_> = checked
        .iter()
        .filter(|c| c.contains("type differs"))
        .collect();
    assert!(types_differ.is_empty(), "{types_differ:?}");
    let ids_same = checked.iter().filter(|c| c.ends_with("id same")).count();
    assert!(
        checked.len() >= 30 && ids_same * 4 >= checked.len() * 3,
        "{ids_same} of {}: {checked:#?}",
        checked.len()
    );
}

/// A sample's `.headers` file that cannot be read (not UTF-8 here) or names
/// no header is an error naming the file, not a sample without headers (the
/// event type or id the vendor sends there was silently missed).
#[test]
fn infer_refuses_a_headers_file_it_cannot_use() {
    let (out, samples) = samples_of("infer-headers", "order.created");
    std::fs::write(samples.join("order.created/one.json"), br#"{"id": 1}"#).unwrap();
    let headers = samples.join("order.created/one.headers");
    for (text, expected) in [
        (
            &b"X-Topic: order.created\n\xff\xfe\n"[..],
            "stream did not contain valid UTF-8",
        ),
        (
            &b"X Topic: order.created\n"[..],
            "\"X Topic\" is not a header name",
        ),
    ] {
        std::fs::write(&headers, text).unwrap();
        let run = infer_into(&out.join("acme"), &samples);
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{err}");
        assert!(
            err.contains("one.headers") && err.contains(expected),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// Samples whose bodies and headers nowhere name their event: `infer`
/// writes the schemas but no `event_type`, and exits 1 saying what to set.
/// Before, it wrote `{"header": "X-Event-Type"}`, a header no vendor sends,
/// and exited 0; every real delivery was then a misfit while `check` passed
/// (helper-54's review).
#[test]
fn infer_without_an_event_type_guesses_none_and_fails() {
    let out = common::temp_dir("infer-no-type");
    let samples = out.join("samples");
    for (dir, body) in [
        ("alpha", r#"{"kind": "x", "id": "1"}"#),
        ("beta", r#"{"kind": "y", "id": "2"}"#),
    ] {
        std::fs::create_dir_all(samples.join(dir)).unwrap();
        std::fs::write(samples.join(dir).join("a.json"), body).unwrap();
    }
    let run = infer_into(&out.join("acme"), &samples);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the event type was not found") && err.contains("(alpha, beta)"),
        "{err}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("acme/manifest.json")).unwrap())
            .unwrap();
    assert!(manifest.get("event_type").is_none(), "{manifest:#}");
    // Set by hand, it is kept: infer again succeeds (helper-55: it failed
    // again with the same advice).
    let mut manifest = manifest;
    manifest["event_type"] = serde_json::json!({"pointer": "/kind"});
    std::fs::write(out.join("acme/manifest.json"), manifest.to_string()).unwrap();
    let again = infer_into(&out.join("acme"), &samples);
    common::assert_ok(&again);
    assert!(out.join("acme/events").read_dir().unwrap().count() == 2);
    std::fs::remove_dir_all(&out).unwrap();
}

/// A vendor whose manifest reads the event type and id from headers it
/// does not list (as `infer` writes it): `sign` prints those headers, as
/// the receiver needs them. Before, it printed only the content type and
/// signature, and the delivery it described was a misfit (helper-54).
#[test]
fn sign_sends_the_type_and_id_headers_the_manifest_reads() {
    let (out, samples) = samples_of("infer-sign", "push");
    for (name, body, id) in [("a", "created", "h1"), ("b", "deleted", "h2")] {
        std::fs::write(
            samples.join(format!("push/{name}.json")),
            format!(r#"{{"action": "{body}", "repo": "x"}}"#),
        )
        .unwrap();
        std::fs::write(
            samples.join(format!("push/{name}.headers")),
            format!("X-Hook-Event: push\nX-Hook-Id: {id}\n"),
        )
        .unwrap();
    }
    let dir = out.join("acme");
    let inferred = infer_into(&dir, &samples);
    common::assert_ok(&inferred);
    let signed = common::hookforge(&[
        "sign",
        "--vendor-dir",
        dir.to_str().unwrap(),
        "--event",
        "push",
        samples.join("push/a.json").to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&signed.stdout);
    common::assert_ok(&signed);
    assert!(text.contains("X-Hook-Event: push\n"), "{text}");
    assert!(text.contains("X-Hook-Id: "), "{text}");
    std::fs::remove_dir_all(&out).unwrap();
}

/// GitHub's event type is its header joined with the body's `action`,
/// which `push` and `ping` bodies lack: their schemas do not require it.
/// Before, every event's schema required `action`, so `parse` refused the
/// push sample `infer` was given and every live push was quarantined
/// (helper-61's review, on octokit/webhooks' payloads).
#[test]
fn a_joined_field_is_required_only_where_its_samples_have_it() {
    let out = common::temp_dir("infer-join");
    let samples = out.join("samples");
    let github = common::root().join("vendors/github/samples");
    for (event, header, files) in [
        (
            "issues.opened",
            "issues",
            &["opened.json", "with-organization.json"][..],
        ),
        (
            "push",
            "push",
            &["payload.json", "with-new-branch.json"][..],
        ),
        ("ping", "ping", &["payload.json", "with-app_id.json"][..]),
    ] {
        std::fs::create_dir_all(samples.join(event)).unwrap();
        for (n, file) in files.iter().enumerate() {
            std::fs::copy(
                github.join(event).join(file),
                samples.join(event).join(file),
            )
            .unwrap();
            let stem = file.trim_end_matches(".json");
            std::fs::write(
                samples.join(event).join(format!("{stem}.headers")),
                format!("X-GitHub-Event: {header}\nX-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0{n}58\n"),
            )
            .unwrap();
        }
    }
    let dir = out.join("gh");
    let manifest = inferred_manifest(&dir, &samples);
    assert_eq!(manifest["event_type"]["pointer"], "/action", "{manifest:#}");
    for (header, file) in [
        ("push", "push/payload.json"),
        ("ping", "ping/payload.json"),
        ("issues", "issues.opened/opened.json"),
    ] {
        let parsed = common::hookforge(&[
            "parse",
            "--vendor-dir",
            dir.to_str().unwrap(),
            "--header",
            &format!("X-GitHub-Event: {header}"),
            samples.join(file).to_str().unwrap(),
        ]);
        common::assert_ok(&parsed);
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// A sample that is not JSON failed to parse (exit 1, as `parse` says of
/// it); one that cannot be read is a usage error (2). Both were 2
/// (helper-61's review).
#[test]
fn a_sample_that_is_not_json_fails_to_parse() {
    let out = common::temp_dir("infer-not-json");
    let bad = out.join("bad.json");
    std::fs::write(&bad, "{bad").unwrap();
    let o = common::hookforge(&["infer", bad.to_str().unwrap()]);
    common::fails_saying(&o, 1, "bad.json: body is not valid JSON");
    let o = common::hookforge(&["infer", out.join("missing.json").to_str().unwrap()]);
    common::fails_saying(&o, 2, "missing.json");
    std::fs::remove_dir_all(&out).unwrap();
}

/// A sample in an event directory that `parse` and `serve` would refuse
/// fails `infer --vendor-dir` as `infer FILE` fails it (exit 1), naming the
/// file and the problem: a key given twice (it was copied into the vendor
/// directory, whose receiver then quarantined it), a byte order mark (said
/// as "expected value at line 1 column 1"), a trailing comma (exit 2 here,
/// 1 from `infer FILE`). A sample nested so deep that its schema could not
/// be read back writes no schema (it wrote one `events` then refused).
/// helper-67's review.
#[test]
fn samples_infer_cannot_use_are_refused_by_name() {
    let out = common::temp_dir("infer-refused");
    let deep = format!("{}1{}", "{\"a\":".repeat(64), "}".repeat(64));
    let cases: [(&str, Vec<u8>, i32, &str); 4] = [
        (
            "dup",
            br#"{"type":"x","name":"a","name":"b"}"#.to_vec(),
            1,
            "duplicate field `name`",
        ),
        (
            "bom",
            b"\xEF\xBB\xBF{\"type\":\"x\"}".to_vec(),
            1,
            "byte order mark",
        ),
        (
            "comma",
            br#"{"type":"x",}"#.to_vec(),
            1,
            "not valid JSON: trailing comma",
        ),
        ("deep", deep.into_bytes(), 2, "nest too deep"),
    ];
    for (name, bad, code, says) in cases {
        let samples = out.join(name).join("samples/x");
        std::fs::create_dir_all(&samples).unwrap();
        std::fs::write(samples.join("ok.json"), br#"{"type":"x"}"#).unwrap();
        std::fs::write(samples.join("bad.json"), &bad).unwrap();
        let dir = out.join(name).join("vendor");
        let o = infer_into(&dir, samples.parent().unwrap());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
        if code == 1 {
            assert!(err.contains("bad.json"), "{name}: {err}");
        }
        assert!(!dir.join("events/x.json").exists(), "{name}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// `infer` run again on its own `OUT/samples` keeps every sample's bytes,
/// and without `--overwrite` keeps a sample edited by hand. Before,
/// `fs::copy` onto the same file truncated every sample to nothing (exit 0),
/// and an edited sample was silently replaced (helper-67's review).
#[test]
fn infer_on_its_own_samples_keeps_them_and_keeps_edits() {
    let out = common::temp_dir("infer-own-samples");
    let dir = out.join("acme");
    let root = common::root();
    common::succeeded(
        common::hookforge_command()
            .args(["infer", "--vendor-dir"])
            .arg(&dir)
            .arg(root.join("samples/prets")),
    );
    let before = common::tree_text(&dir.join("samples"));
    assert!(before.iter().any(|(_, bytes)| !bytes.is_empty()));
    let again = infer_into(&dir, &dir.join("samples"));
    common::assert_ok(&again);
    assert_eq!(common::tree_text(&dir.join("samples")), before);

    let edited = common::first_file(&common::first_file(&dir.join("samples")));
    std::fs::write(&edited, br#"{"edited": "by hand"}"#).unwrap();
    let rerun = common::hookforge_command()
        .args(["infer", "--vendor-dir"])
        .arg(&dir)
        .arg(root.join("samples/prets"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&rerun.stderr);
    assert!(err.contains("--overwrite copies"), "{err}");
    assert_eq!(std::fs::read(&edited).unwrap(), br#"{"edited": "by hand"}"#);
    std::fs::remove_dir_all(&out).unwrap();
}

/// A vendor whose event type and id are in headers: `infer` lists both
/// headers in the manifest, and `serve` keeps the headers the type and id
/// are read from with each stored delivery even when the manifest does not
/// list them. Before, the delivery was acknowledged, stored without its
/// type, and never handled, while `check` passed (helper-67's review).
#[test]
fn a_type_read_from_a_header_is_kept_with_the_stored_delivery() {
    let (out, samples) = samples_of("infer-header-type", "push");
    for (name, id) in [("a", "h1"), ("b", "h2")] {
        let headers = format!("X-Hook-Event: push\nX-Hook-Id: {id}\n");
        write_sample(&samples.join("push"), name, r#"{"repo": "x"}"#, &headers);
    }
    // What `extract --event-pointer` could not place is passed over (it was
    // taken for an event, and no event type fitted it).
    std::fs::create_dir_all(samples.join("_no_event_type")).unwrap();
    std::fs::write(samples.join("_no_event_type/z.json"), br#"{"note": "x"}"#).unwrap();
    let dir = out.join("acme");
    let inferred = infer_into(&dir, &samples);
    common::assert_ok(&inferred);
    assert!(!dir.join("samples/_no_event_type").exists());
    // `parse DIR` reads each sample's `.headers` file, as `infer` did.
    let d = dir.to_str().unwrap();
    let parsed = common::hookforge(&["parse", "--vendor-dir", d, &format!("{d}/samples")]);
    common::assert_ok(&parsed);
    let report = String::from_utf8_lossy(&parsed.stdout);
    assert!(report.contains("2 files: 2 ok"), "{report}");
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert!(
        listed.contains(&"X-Hook-Event") && listed.contains(&"X-Hook-Id"),
        "{listed:?}"
    );
    // serve's own guard: the same vendor with the headers left unlisted.
    manifest["headers"] =
        serde_json::json!([{"name": "Content-Type", "value": "application/json"}]);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();

    let mut serve = common::serve_vendor_dir_on(dir.to_str().unwrap(), "127.0.0.1:0");
    serve
        .args(["--allow-unsigned", "acme", "--db"])
        .arg(out.join("inbox.db"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (mut child, port) = common::spawn_listening(serve);
    let (handled, reader) = common::handled_ids(child.stderr.take().unwrap());
    let headers = [
        ("Content-Type".to_string(), "application/json".to_string()),
        ("X-Hook-Event".to_string(), "push".to_string()),
        ("X-Hook-Id".to_string(), "h9".to_string()),
    ];
    assert_eq!(
        common::post_to(port, "/hooks/acme", &headers, br#"{"repo": "y"}"#),
        200
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while handled.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    assert_eq!(*handled.lock().unwrap(), ["h9"]);
    std::fs::remove_dir_all(&out).unwrap();
}

/// Samples that are JSON arrays (a batch, as SendGrid posts) make one event
/// named with `value`, and the directory parses its own samples; arrays in
/// several directories are refused with what to do. Before, `/0/event` was
/// proposed, which a manifest refuses for an array body, and every sample
/// failed `parse` (helper-67's review).
#[test]
fn batch_samples_make_one_event_named_by_value() {
    let (out, samples) = samples_of("infer-batch", "events");
    for (name, kinds) in [("a", ["processed", "delivered"]), ("b", ["open", "click"])] {
        let items: Vec<serde_json::Value> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| serde_json::json!({"event": k, "sg_event_id": format!("{name}{i}")}))
            .collect();
        let body = serde_json::to_vec(&items).unwrap();
        std::fs::write(samples.join(format!("events/{name}.json")), body).unwrap();
    }
    let dir = out.join("mailer");
    let manifest = inferred_manifest(&dir, &samples);
    assert_eq!(
        manifest["event_type"],
        serde_json::json!({"value": "events"})
    );
    let d = dir.to_str().unwrap();
    let parsed = common::hookforge(&["parse", "--vendor-dir", d, &format!("{d}/samples")]);
    common::assert_ok(&parsed);

    std::fs::create_dir_all(samples.join("more")).unwrap();
    std::fs::copy(samples.join("events/a.json"), samples.join("more/a.json")).unwrap();
    let two = infer_into(&out.join("two"), &samples);
    common::fails_saying(&two, 1, "JSON arrays (batches)");
    std::fs::remove_dir_all(&out).unwrap();
}

/// With one sample misfiled (a `pull` in `push/`), "the event type was not
/// found" names the place that came nearest and the sample it misses.
/// Before, it listed only the directories (helper-67's review).
#[test]
fn a_type_not_found_names_the_samples_that_disagree() {
    let (out, samples) = samples_of("infer-misfiled", "push");
    for (file, body) in [
        ("push/a.json", r#"{"type": "push", "id": "1"}"#),
        ("push/b.json", r#"{"type": "pull", "id": "2"}"#),
        ("pull/a.json", r#"{"type": "pull", "id": "3"}"#),
    ] {
        let path = samples.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let o = infer_into(&out.join("vendor"), &samples);
    common::fails_saying(&o, 1, "Nearest: the field /type, right in 2 of 3 samples;");
    common::fails_saying(&o, 1, "push/b.json has \"pull\"");
    std::fs::remove_dir_all(&out).unwrap();
}

/// Samples whose `.headers` say the vendor posts a form (Twilio) make a
/// manifest that reads forms, so `serve` takes the vendor's real deliveries
/// (it answered them 415); a raw form sample is refused with how such
/// samples are kept (helper-67's review).
#[test]
fn form_samples_make_a_vendor_that_reads_forms() {
    let (out, samples) = samples_of("infer-form", "ringing");
    for (name, sid) in [("a", "CA1"), ("b", "CA2")] {
        let body = format!(r#"{{"CallSid": "{sid}", "CallStatus": "ringing"}}"#);
        let headers = "Content-Type: application/x-www-form-urlencoded\n";
        write_sample(&samples.join("ringing"), name, &body, headers);
    }
    let dir = out.join("phone");
    let manifest = inferred_manifest(&dir, &samples);
    assert_eq!(manifest["body"], serde_json::json!({"encoding": "form"}));
    assert_eq!(
        manifest["headers"][0]["value"],
        "application/x-www-form-urlencoded"
    );

    std::fs::write(
        samples.join("ringing/c.json"),
        "CallSid=CA3&CallStatus=ringing",
    )
    .unwrap();
    let raw = infer_into(&out.join("again"), &samples);
    let err = String::from_utf8_lossy(&raw.stderr);
    assert_eq!(raw.status.code(), Some(1), "{err}");
    assert!(
        err.contains("c.json") && err.contains("a form body is kept as a JSON object"),
        "{err}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// `<name>.json` with `body` and `<name>.headers` with `headers` in `dir`.
/// A scratch directory named `name` with an empty `samples/EVENT/` inside
/// it: (the scratch directory, its `samples`).
fn samples_of(name: &str, event: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let out = common::temp_dir(name);
    let samples = out.join("samples");
    std::fs::create_dir_all(samples.join(event)).unwrap();
    (out, samples)
}

fn write_sample(dir: &std::path::Path, name: &str, body: &str, headers: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{name}.json")), body).unwrap();
    std::fs::write(dir.join(format!("{name}.headers")), headers).unwrap();
}

/// `infer --vendor-dir OUT SAMPLES`, which must succeed; OUT's manifest.
fn inferred_manifest(out: &std::path::Path, samples: &std::path::Path) -> serde_json::Value {
    let inferred = infer_into(out, samples);
    let err = String::from_utf8_lossy(&inferred.stderr);
    assert!(inferred.status.success(), "{err}");
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// `hookforge infer --vendor-dir OUT SAMPLES`.
fn infer_into(out: &std::path::Path, samples: &std::path::Path) -> std::process::Output {
    common::hookforge_command()
        .args(["infer", "--vendor-dir"])
        .arg(out)
        .arg(samples)
        .output()
        .unwrap()
}
