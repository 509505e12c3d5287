//! `hookforge events`: a vendor's documented events.

use super::*;

pub type Args = VendorJsonArgs;

pub fn run(a: Args) -> Outcome {
    events(a.vendor.spec()?, a.json)
}

pub fn events(v: &VendorSpec, json: bool) -> Outcome {
    if json {
        let list: Vec<_> = v
            .events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "event": e.name,
                    "description": e.description,
                    "samples": e.samples.iter().map(|s| s.path).collect::<Vec<_>>(),
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(list));
    }
    let m = v.manifest();
    let id = match &m.event_id {
        Some(l) => l.describe(),
        None => "none: a delivery is deduplicated by a digest of its body".into(),
    };
    let head = format!(
        "event type: {}\nevent id:   {id}\n\n",
        m.event_type.describe()
    );
    let mut table = Table::new(&["EVENT", "SAMPLES", "DESCRIPTION"], &[1]);
    for e in v.events {
        table.row(vec![
            e.name.to_string(),
            e.samples.len().to_string(),
            e.description.to_string(),
        ]);
    }
    print_text(&(head + &table.render() + &unsampled(m)))
}

/// The families the vendor documents without a sample, each with why.
fn unsampled(m: &hookforge_core::Manifest) -> String {
    if m.unsampled.is_empty() {
        return String::new();
    }
    let mut table = Table::new(&["DOCUMENTED WITHOUT A SAMPLE", "WHY"], &[]);
    for u in &m.unsampled {
        table.row(vec![u.family.clone(), u.why.clone()]);
    }
    format!("\n{}", table.render())
}
