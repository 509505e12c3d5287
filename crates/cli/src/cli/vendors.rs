//! `hookforge vendors`: the vendors hookforge knows.

use super::*;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> Outcome {
    vendors(a.json)
}

pub fn vendors(json: bool) -> Outcome {
    // The shipped vendor directories too (GitHub, Stripe, …).
    for id in hookforge::vendor_dir::catalogue::ids() {
        if hookforge::vendor(id).is_none() {
            return Err(Failure::failed(format!(
                "the shipped vendor directory vendors/{id} does not load"
            )));
        }
    }
    let all = hookforge::vendors();
    if json {
        let list: Vec<_> = all.iter().map(|v| as_json(v)).collect();
        return print_json(&serde_json::Value::Array(list));
    }
    let mut table = Table::new(
        &[
            "ID",
            "NAME",
            "EVENTS",
            "SAMPLES",
            "UNSAMPLED",
            "AUTH",
            "HANDSHAKES",
            "PROVEN",
            "SCHEMAS",
        ],
        &[2, 3, 4],
    );
    for v in all {
        let hs = handshakes(v);
        let schemas = v.manifest().schemas.as_ref();
        table.row(vec![
            v.id.to_string(),
            v.name.to_string(),
            v.events.len().to_string(),
            samples(v).to_string(),
            v.manifest().unsampled.len().to_string(),
            auth_scheme(v),
            if hs.is_empty() {
                "-".to_string()
            } else {
                hs.join(", ")
            },
            proven(v).to_string(),
            schemas.map_or("-", |s| s.from.as_str()).to_string(),
        ]);
    }
    print_text(&table.render())
}

fn samples(v: &VendorSpec) -> usize {
    v.events.iter().map(|e| e.samples.len()).sum()
}

/// How the vendor's auth was proven, as its manifest says (`-`: not stated,
/// the five founding vendors, whose auth comes from their docs alone).
fn proven(v: &VendorSpec) -> &'static str {
    v.manifest().proof.as_ref().map_or("-", |p| p.by.as_str())
}

fn as_json(v: &VendorSpec) -> serde_json::Value {
    let m = v.manifest();
    serde_json::json!({
        "id": v.id,
        "name": v.name,
        "events": v.events.len(),
        "samples": samples(v),
        "auth": auth_scheme(v),
        "body": m.body.content_type(),
        "handshakes": handshakes(v),
        "event_type": m.event_type,
        "event_id": m.event_id,
        "proof": m.proof,
        "schemas": m.schemas,
        "unsampled": m.unsampled,
        "docs": m.docs,
    })
}

/// The names of the handshakes a vendor requires.
fn handshakes(v: &VendorSpec) -> Vec<&str> {
    v.manifest()
        .handshakes
        .iter()
        .map(|h| h.name.as_str())
        .collect()
}
