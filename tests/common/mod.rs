//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use hookforge::{HeaderMap, VendorSpec};
use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The typed parse of a delivery, in Debug form, for snapshots. Every vendor
/// with generated code must be listed here.
pub fn typed_debug(vendor: &str, body: &[u8], headers: &HeaderMap) -> String {
    use hookforge::vendors::*;
    match vendor {
        "collateralxp" => format!("{:#?}", collateralxp::parse(body, headers)),
        "cowbell" => format!("{:#?}", cowbell::parse(body, headers)),
        "prets" => format!("{:#?}", prets::parse(body, headers)),
        "socotra" => format!("{:#?}", socotra::parse(body, headers)),
        "superoffice" => format!("{:#?}", superoffice::parse(body, headers)),
        other => panic!("add vendor `{other}` to tests/common/mod.rs::typed_debug"),
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
            let same = match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            };
            if !same {
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

/// Every sample of every vendor: (vendor, event name, sample path, body).
pub fn all_samples() -> Vec<(
    &'static VendorSpec,
    &'static str,
    &'static str,
    &'static [u8],
)> {
    let mut out = Vec::new();
    for v in hookforge::vendors() {
        for e in v.events {
            for s in e.samples {
                out.push((*v, e.name, s.path, s.body));
            }
        }
    }
    out
}

pub fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}
