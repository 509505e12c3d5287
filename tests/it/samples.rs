//! Every sample of every vendor: validates against its schema, parses into
//! its own variant, round-trips key by key, and has a snapshot of its typed
//! parse.

use crate::common;

use common::{all_samples, json_diff, root, typed_debug};
use hookforge::HeaderMap;
use serde_json::Value;

/// How many samples there are: exact, so that losing one fails.
pub const SAMPLES: usize = 203;

#[test]
fn every_vendor_and_event_is_covered_by_the_sample_walk() {
    let samples = all_samples();
    // Every event of every vendor, not just every vendor, has a sample.
    let bare: Vec<String> = hookforge::vendors::ALL
        .iter()
        .flat_map(|v| v.events.iter().map(move |e| (v.id, e)))
        .filter(|(_, e)| e.samples.is_empty())
        .map(|(v, e)| format!("{v}/{}", e.name))
        .collect();
    assert!(bare.is_empty(), "events without a sample: {bare:?}");
    assert_eq!(
        samples.len(),
        SAMPLES,
        "a sample added or lost: update SAMPLES on purpose"
    );
    // The embedded list is the directory listing: nothing on disk is skipped.
    let on_disk = walk_json(&root().join("samples"));
    let embedded: Vec<String> = samples.iter().map(|s| s.2.to_string()).collect();
    for f in &on_disk {
        assert!(
            embedded.contains(f),
            "{f} is on disk but not embedded (stale generated/?)"
        );
    }
    assert_eq!(on_disk.len(), embedded.len());
}

fn walk_json(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for vendor in std::fs::read_dir(dir).unwrap() {
        let vendor = vendor.unwrap().path();
        if !vendor.is_dir() {
            continue;
        }
        for ev in std::fs::read_dir(&vendor).unwrap() {
            let ev = ev.unwrap().path();
            if !ev.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&ev).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|x| x == "json") {
                    out.push(common::rel(&f));
                }
            }
        }
    }
    out
}

#[test]
fn samples_validate_against_their_schema() {
    let mut failures = Vec::new();
    for (v, event, path, body) in all_samples() {
        let info = v.event(event).unwrap();
        let schema = v.bundled_schema(info);
        let validator = jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("schema of {}/{event} does not compile: {e}", v.id));
        let instance: Value = serde_json::from_slice(body).unwrap();
        for err in validator.iter_errors(&instance) {
            failures.push(format!("{path}: at {}: {err}", err.instance_path()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Reads `file://` URIs from disk and nothing else: a resolver that knows
/// nothing about hookforge's bundling, as any standard tool resolves refs.
struct Files(std::sync::atomic::AtomicUsize);

impl jsonschema::Retrieve for Files {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.scheme().as_str() != "file" {
            return Err(format!("not a file URI: {uri}").into());
        }
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let text = std::fs::read_to_string(uri.path().as_str())
            .map_err(|e| format!("{}: {e}", uri.path()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Every sample validates against its event schema read straight from
/// `schemas/<vendor>/events/`, with each `$ref` resolved against the file
/// that holds it, as the spec says (not through hookforge's bundling).
#[test]
fn samples_validate_against_the_schema_files_as_laid_out_on_disk() {
    let root = common::root();
    let mut failures = Vec::new();
    let mut validated = 0;
    let mut fetched = 0;
    for (v, event, path, body) in all_samples() {
        let info = v.event(event).unwrap();
        let file = root
            .join("schemas")
            .join(v.id)
            .join("events")
            .join(format!("{}.json", info.slug));
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let files = std::sync::Arc::new(Files(Default::default()));
        let validator = match jsonschema::draft7::options()
            .should_validate_formats(true)
            .with_base_uri(format!("file://{}", file.display()))
            .with_retriever(FilesRef(files.clone()))
            .build(&schema)
        {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: {e}", common::rel(&file)));
                continue;
            }
        };
        fetched += files.0.load(std::sync::atomic::Ordering::SeqCst);
        let instance: Value = serde_json::from_slice(body).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|err| format!("{path}: at {}: {err}", err.instance_path()))
            .collect();
        if errors.is_empty() {
            validated += 1;
        }
        failures.extend(errors);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(validated, SAMPLES);
    // The shared definitions were really fetched from their files.
    assert!(fetched > 0);
}

/// The retriever, shared so the test can count what it fetched.
struct FilesRef(std::sync::Arc<Files>);

impl jsonschema::Retrieve for FilesRef {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0.retrieve(uri)
    }
}

#[test]
fn samples_parse_into_their_variant_and_round_trip() {
    let mut failures = Vec::new();
    let mut count = 0;
    for (v, event, path, body) in all_samples() {
        count += 1;
        match v.parse(body, &HeaderMap::new()) {
            Err(e) => failures.push(format!("{path}: {e}")),
            Ok(p) => {
                if p.event_type != event || !p.known {
                    failures.push(format!(
                        "{path}: parsed as {:?} (known: {}), expected {event}",
                        p.event_type, p.known
                    ));
                }
                let input: Value = serde_json::from_slice(body).unwrap();
                for d in json_diff(&input, &p.payload) {
                    failures.push(format!("{path}: {d}"));
                }
            }
        }
    }
    assert_eq!(count, SAMPLES);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn typed_parse_snapshots() {
    insta::glob!("../../samples", "*/*/*.json", |path| {
        let rel = path.strip_prefix(root().join("samples")).unwrap();
        let vendor = rel.iter().next().unwrap().to_str().unwrap();
        let body = std::fs::read(path).unwrap();
        insta::assert_snapshot!(typed_debug(vendor, &body, &HeaderMap::new()));
    });
}
