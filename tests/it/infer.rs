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
        std::process::Command::new(env!("CARGO_BIN_EXE_hookforge"))
            .args([
                "infer",
                "--vendor-dir",
                dir.to_str().unwrap(),
                "samples/prets",
            ])
            .current_dir(common::root()),
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("8 event(s); event type at /type"));
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
