//! Typed parse + dispatch of the whole sample corpus, against the same bytes
//! read into `serde_json::Value` and skipped with `IgnoredAny` (the floor any
//! JSON reader pays). Run: `cargo bench --bench parse`.

mod common;

use common::typed;
use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use hookforge::HeaderMap;

fn main() {
    divan::main();
}

/// (vendor id, body) for every sample of every vendor.
fn corpus() -> Vec<(&'static str, &'static [u8])> {
    let mut out = Vec::new();
    for v in hookforge::vendors() {
        for e in v.events {
            for s in e.samples {
                out.push((v.id, s.body));
            }
        }
    }
    out
}

fn bytes(c: &[(&str, &[u8])]) -> BytesCount {
    BytesCount::new(c.iter().map(|(_, b)| b.len()).sum::<usize>())
}

#[divan::bench]
fn typed_parse_and_dispatch(b: Bencher) {
    let c = corpus();
    let headers = HeaderMap::new();
    b.counter(bytes(&c)).bench(|| {
        for (vendor, body) in &c {
            let r = typed(vendor, body, &headers);
            black_box(r).unwrap();
        }
    });
}

#[divan::bench]
fn serde_json_value(b: Bencher) {
    let c = corpus();
    b.counter(bytes(&c)).bench(|| {
        for (_, body) in &c {
            black_box(serde_json::from_slice::<serde_json::Value>(body).unwrap());
        }
    });
}

/// The value vendor-dir (catalogue) models and unknown events read: a
/// `Value` that refuses a key twice. Against `serde_json_value`, the cost
/// of that check.
#[divan::bench]
fn value_refusing_a_key_twice(b: Bencher) {
    let c = corpus();
    b.counter(bytes(&c)).bench(|| {
        for (_, body) in &c {
            black_box(hookforge::parse::decode_value(body, "bench").unwrap());
        }
    });
}

#[divan::bench]
fn ignored_any(b: Bencher) {
    let c = corpus();
    b.counter(bytes(&c)).bench(|| {
        for (_, body) in &c {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(body).unwrap());
        }
    });
}

/// The first pass alone: locating the event type and id.
#[divan::bench]
fn envelope_only(b: Bencher) {
    let c = corpus();
    let headers = HeaderMap::new();
    b.counter(bytes(&c)).bench(|| {
        for (vendor, body) in &c {
            let v = hookforge::vendor(vendor).unwrap();
            black_box(v.read_envelope(body, &headers).unwrap());
        }
    });
}

const VENDORS: &[&str] = &["collateralxp", "cowbell", "prets", "socotra", "superoffice"];

/// Per vendor: typed parse and dispatch.
#[divan::bench(args = VENDORS)]
fn typed_by_vendor(b: Bencher, vendor: &str) {
    let c: Vec<_> = corpus().into_iter().filter(|(v, _)| *v == vendor).collect();
    let headers = HeaderMap::new();
    b.counter(bytes(&c)).bench(|| {
        for (v, body) in &c {
            black_box(typed(v, body, &headers)).unwrap();
        }
    });
}

/// Per vendor: the same bytes into `serde_json::Value`.
#[divan::bench(args = VENDORS)]
fn value_by_vendor(b: Bencher, vendor: &str) {
    let c: Vec<_> = corpus().into_iter().filter(|(v, _)| *v == vendor).collect();
    b.counter(bytes(&c)).bench(|| {
        for (_, body) in &c {
            black_box(serde_json::from_slice::<serde_json::Value>(body).unwrap());
        }
    });
}

/// Per vendor: the envelope pass alone.
#[divan::bench(args = VENDORS)]
fn envelope_by_vendor(b: Bencher, vendor: &str) {
    let c: Vec<_> = corpus().into_iter().filter(|(v, _)| *v == vendor).collect();
    let headers = HeaderMap::new();
    let spec = hookforge::vendor(vendor).unwrap();
    b.counter(bytes(&c)).bench(|| {
        for (_, body) in &c {
            black_box(spec.read_envelope(body, &headers).unwrap());
        }
    });
}
