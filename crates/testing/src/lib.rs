//! The compatibility kit for a vendor generated in a user's `build.rs`
//! (feature `testing`): call it from the crate's tests.
//!
//! ```ignore
//! #[test]
//! fn samples() {
//!     hookforge::testing::assert_samples(&acme_webhooks::acme::VENDOR);
//! }
//!
//! #[test]
//! fn snapshots() {
//!     // One insta snapshot per sample: the typed parse. After a schema
//!     // change, `cargo insta review` shows every payload it affects.
//!     hookforge::snapshot_samples!(acme_webhooks::acme);
//! }
//! ```

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use hookforge_core::{EventInfo, VendorSpec};

/// The headers a sample of `event` needs when the vendor sends the event
/// type in a header (the samples are bodies only).
pub fn headers_for(vendor: &VendorSpec, event: &EventInfo, body: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    let loc = &vendor.manifest().event_type;
    let Some(name) = loc.header.as_deref() else {
        return h;
    };
    // A joined type (GitHub's `issues` + `.opened`): the header holds the part
    // before the body's value.
    let mut value = event.name.to_string();
    if let (Some(join), Some(p)) = (&loc.join, &loc.pointer) {
        let doc: Option<Value> = serde_json::from_slice(body).ok();
        if let Some(b) = doc
            .as_ref()
            .and_then(|d| d.pointer(p))
            .and_then(Value::as_str)
            && let Some(head) = event.name.strip_suffix(&format!("{join}{b}"))
        {
            value = head.to_string();
        }
    }
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(&value),
    ) {
        h.insert(n, v);
    }
    h
}

/// Checks every sample of `vendor`: it validates against its event's schema,
/// parses into its own event (documented, same type), and round-trips (the
/// typed value re-serialized equals the sample, numbers by value). Returns
/// how many samples were checked, or every failure, each naming the sample.
pub fn check_samples(vendor: &VendorSpec) -> Result<usize, Vec<String>> {
    let mut failures = Vec::new();
    let mut checked = 0;
    for event in vendor.events {
        let schema = vendor.bundled_schema(event);
        let validator = match jsonschema::draft7::new(&schema) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: the schema is not valid: {e}", event.name));
                continue;
            }
        };
        for s in event.samples {
            checked += 1;
            let doc: Value = match serde_json::from_slice(s.body) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{}: not JSON: {e}", s.path));
                    continue;
                }
            };
            for err in validator.iter_errors(&doc) {
                failures.push(format!(
                    "{}: does not validate at `{}`: {err}",
                    s.path,
                    err.instance_path()
                ));
            }
            match vendor.parse(s.body, &headers_for(vendor, event, s.body)) {
                Err(e) => failures.push(format!("{}: does not parse: {e}", s.path)),
                Ok(p) if p.event_type != event.name || !p.known => failures.push(format!(
                    "{}: parsed as `{}`{}, not `{}`",
                    s.path,
                    p.event_type,
                    if p.known { "" } else { " (unknown)" },
                    event.name
                )),
                Ok(p) => {
                    for d in json_diff(&doc, &p.payload) {
                        failures.push(format!("{}: does not round-trip: {d}", s.path));
                    }
                }
            }
        }
    }
    if failures.is_empty() {
        Ok(checked)
    } else {
        Err(failures)
    }
}

/// [`check_samples`], panicking with every failure.
#[track_caller]
pub fn assert_samples(vendor: &VendorSpec) {
    if let Err(failures) = check_samples(vendor) {
        panic!(
            "{} of {}'s samples fail:\n{}",
            failures.len(),
            vendor.id,
            failures.join("\n")
        );
    }
}

/// Compares two JSON values key by key. Numbers are equal when their values
/// are (`1` and `1.0` are); every other difference is reported with its path.
pub fn json_diff(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_at("$", expected, actual, &mut out);
    out
}

fn diff_at(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    None => out.push(format!("{path}.{k}: missing after round trip")),
                    Some(w) => diff_at(&format!("{path}.{k}"), v, w, out),
                }
            }
            for k in y.keys() {
                if !x.contains_key(k) {
                    out.push(format!("{path}.{k}: added by round trip"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{path}: {} items became {}", x.len(), y.len()));
            }
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                diff_at(&format!("{path}[{i}]"), v, w, out);
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            if !same_number(x, y) {
                out.push(format!("{path}: {x} became {y}"));
            }
        }
        _ => {
            if a != b {
                out.push(format!("{path}: {a} became {b}"));
            }
        }
    }
}

pub use hookforge_core::util::same_number;

/// One insta snapshot per sample of a generated vendor module: its typed
/// parse (`{:#?}`), named `<event slug>__<sample>`. Expands in the calling
/// crate, so the snapshots live beside its tests; review changes with
/// `cargo insta review`.
#[macro_export]
macro_rules! snapshot_samples {
    ($vendor:path) => {{
        use $vendor as __vendor;
        for __event in __vendor::EVENTS {
            for __sample in __event.samples {
                let __headers = $crate::headers_for(&__vendor::VENDOR, __event, __sample.body);
                let __text = match __vendor::parse(__sample.body, &__headers) {
                    Ok(e) => format!("{e:#?}"),
                    Err(e) => format!("does not parse: {e}"),
                };
                let mut __settings = $crate::__private::insta::Settings::clone_current();
                __settings.set_snapshot_suffix(format!("{}__{}", __event.slug, __sample.name));
                __settings.set_description(__sample.path);
                __settings.set_prepend_module_to_snapshot(false);
                __settings.set_omit_expression(true);
                __settings.bind(|| {
                    $crate::__private::insta::assert_snapshot!("sample", __text);
                });
            }
        }
    }};
}

/// Used by [`snapshot_samples!`]'s expansion; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use insta;
}
