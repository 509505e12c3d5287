//! Typed parse + dispatch vs `serde_json::Value` vs `IgnoredAny`, measured
//! interleaved: each round times one pass of every method over the same
//! corpus, in rotating order, so a noisy moment on a shared machine hits all
//! of them alike. Prints medians and minimums over the rounds and the ratios,
//! overall and per vendor. Run: `cargo bench --bench parse_ratio [-- ROUNDS]`.
//! For a profiler, `-- profile typed|value|ignored [VENDOR]` runs one method
//! alone for ten seconds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::typed;
use hookforge::HeaderMap;

mod common;

/// (vendor id, body) pairs.
type Corpus<'a> = Vec<(&'a str, &'a [u8])>;

/// One pass over the corpus with method 0 (typed parse + dispatch), 1
/// (`Value`) or 2 (`IgnoredAny`).
fn pass(method: usize, corpus: &[(&str, &[u8])], headers: &HeaderMap) -> Duration {
    let t = Instant::now();
    for (vendor, body) in corpus {
        match method {
            0 => typed(vendor, body, headers).unwrap(),
            1 => {
                black_box(serde_json::from_slice::<serde_json::Value>(body).unwrap());
            }
            _ => {
                black_box(serde_json::from_slice::<serde::de::IgnoredAny>(body).unwrap());
            }
        }
    }
    t.elapsed()
}

fn stats(mut xs: Vec<Duration>) -> (f64, f64) {
    xs.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (us(xs[xs.len() / 2]), us(xs[0]))
}

fn profile(args: &[String]) {
    let method = match args.first().map(String::as_str) {
        Some("typed") => 0,
        Some("value") => 1,
        Some("ignored") => 2,
        other => {
            eprintln!("usage: parse_ratio profile typed|value|ignored [VENDOR] (got {other:?})");
            std::process::exit(2);
        }
    };
    if let Some(id) = args.get(1)
        && !hookforge::vendors().iter().any(|v| v.id == id.as_str())
    {
        eprintln!("error: no built-in vendor `{id}`");
        std::process::exit(2);
    }
    let headers = HeaderMap::new();
    let corpus: Corpus = hookforge::vendors()
        .into_iter()
        .filter(|v| args.get(1).is_none_or(|id| id == v.id))
        .flat_map(|v| {
            v.events
                .iter()
                .flat_map(move |e| e.samples.iter().map(move |s| (v.id, s.body)))
        })
        .collect();
    let t = Instant::now();
    let mut passes = 0u64;
    while t.elapsed() < Duration::from_secs(10) {
        pass(method, &corpus, &headers);
        passes += 1;
    }
    println!("{passes} passes over {} samples", corpus.len());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "profile") {
        return profile(&args[i + 1..]);
    }
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let headers = HeaderMap::new();
    let mut all: Corpus = Vec::new();
    for v in hookforge::vendors() {
        for e in v.events {
            for s in e.samples {
                all.push((v.id, s.body));
            }
        }
    }
    let mut groups: Vec<(String, Corpus)> = vec![("all".into(), all.clone())];
    for v in hookforge::vendors() {
        groups.push((
            v.id.to_string(),
            all.iter().copied().filter(|(id, _)| *id == v.id).collect(),
        ));
    }
    println!(
        "{rounds} interleaved rounds; times in µs per pass over the corpus (median / minimum)"
    );
    println!(
        "| corpus | samples | typed | Value | IgnoredAny | typed vs Value (median, min) | typed vs IgnoredAny (median, min) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, corpus) in &groups {
        let mut times: [Vec<Duration>; 3] = Default::default();
        // Warm up every path once.
        for m in 0..3 {
            pass(m, corpus, &headers);
        }
        for r in 0..rounds {
            for k in 0..3 {
                let m = (r + k) % 3;
                times[m].push(pass(m, corpus, &headers));
            }
        }
        let [t, v, i] = times.map(stats);
        println!(
            "| {name} | {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2}×, {:.2}× | {:.2}×, {:.2}× |",
            corpus.len(),
            t.0,
            t.1,
            v.0,
            v.1,
            i.0,
            i.1,
            t.0 / v.0,
            t.1 / v.1,
            t.0 / i.0,
            t.1 / i.1
        );
    }
}
