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
        let list: Vec<_> = all
            .iter()
            .map(|v| {
                serde_json::json!({
                    "id": v.id,
                    "name": v.name,
                    "events": v.events.len(),
                    "samples": v.events.iter().map(|e| e.samples.len()).sum::<usize>(),
                    "auth": auth_scheme(v),
                    "body": v.manifest().body.content_type(),
                    "handshakes": handshakes(v),
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(list));
    }
    let mut out = format!(
        "{:<18} {:<18} {:>6} {:>8}  {:<17} {}\n",
        "ID", "NAME", "EVENTS", "SAMPLES", "AUTH", "HANDSHAKES"
    );
    for v in all {
        let samples: usize = v.events.iter().map(|e| e.samples.len()).sum();
        let hs = handshakes(v);
        out.push_str(&format!(
            "{:<18} {:<18} {:>6} {:>8}  {:<17} {}\n",
            v.id,
            v.name,
            v.events.len(),
            samples,
            auth_scheme(v),
            if hs.is_empty() {
                "-".to_string()
            } else {
                hs.join(", ")
            }
        ));
    }
    print_text(&out)
}

/// The names of the handshakes a vendor requires.
fn handshakes(v: &VendorSpec) -> Vec<&str> {
    v.manifest()
        .handshakes
        .iter()
        .map(|h| h.name.as_str())
        .collect()
}
