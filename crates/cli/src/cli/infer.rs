//! `hookforge infer`: a draft-07 schema from sample payloads of one event,
//! or a whole vendor directory from a directory of samples per event.

use serde_json::{Value, json};

use super::*;

#[derive(clap::Args)]
pub struct Args {
    /// The event type (the schema's `title`; default: the samples' directory name).
    #[arg(long)]
    pub title: Option<String>,
    /// Sample payloads of one event; with `--vendor-dir OUT`, one directory
    /// holding a subdirectory of samples per event.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

fn read_samples(files: &[PathBuf]) -> Result<Vec<Value>, String> {
    files
        .iter()
        .map(|f| {
            let text = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", f.display()))
        })
        .collect()
}

fn json_files(dir: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "provenance.json")
        })
        .collect();
    out.sort();
    Ok(out)
}

pub fn run(a: Args, vendor_dir: &[PathBuf]) -> Outcome {
    let result = match vendor_dir {
        [] => one(&a),
        [out] => vendor(&a, out),
        _ => Err("infer writes one --vendor-dir".into()),
    };
    result.map_err(Failure::usage)?
}

fn one(a: &Args) -> Result<Outcome, String> {
    let mut files = Vec::new();
    for p in &a.inputs {
        if p.is_dir() {
            files.extend(json_files(p)?);
        } else {
            files.push(p.clone());
        }
    }
    let title = a.title.clone().unwrap_or_else(|| {
        a.inputs[0]
            .canonicalize()
            .ok()
            .and_then(|p| {
                let dir = if p.is_dir() {
                    p
                } else {
                    p.parent()?.to_path_buf()
                };
                dir.file_name()?.to_str().map(String::from)
            })
            .unwrap_or_else(|| "event".into())
    });
    let samples = read_samples(&files)?;
    Ok(print_json(&hookforge::infer::infer(&title, &samples)))
}

/// `OUT/manifest.json`, `OUT/events/<event>.json` and `OUT/samples/<event>/`
/// from `SAMPLES/<event>/*.json`.
fn vendor(args: &Args, out: &std::path::Path) -> Result<Outcome, String> {
    let [samples_dir] = args.inputs.as_slice() else {
        return Err(
            "with --vendor-dir OUT, give one directory of samples (one subdirectory per event)"
                .into(),
        );
    };
    let mut events = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(samples_dir)
        .map_err(|e| format!("cannot read {}: {e}", samples_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let files = json_files(&d)?;
        if files.is_empty() {
            continue;
        }
        let name = d
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: the directory name is not UTF-8", d.display()))?
            .to_string();
        events.push((name, files.clone(), read_samples(&files)?));
    }
    if events.is_empty() {
        return Err(format!(
            "{} has no subdirectory of *.json samples (one per event)",
            samples_dir.display()
        ));
    }
    // The event type's place: a top-level string key whose value is the
    // directory name in every sample of every event.
    let candidates: Vec<String> = events[0].2[0]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let type_key = candidates.into_iter().find(|k| {
        events.iter().all(|(name, _, docs)| {
            docs.iter()
                .all(|d| d.get(k).and_then(Value::as_str) == Some(name.as_str()))
        })
    });
    let id = out
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        })
        .filter(|n| n.starts_with(|c: char| c.is_ascii_lowercase()))
        .unwrap_or_else(|| "vendor".into());
    std::fs::create_dir_all(out.join("events")).map_err(|e| format!("{}: {e}", out.display()))?;
    let event_type = match &type_key {
        Some(k) => json!({"pointer": format!("/{k}")}),
        None => json!({"header": "X-Event-Type"}),
    };
    let manifest = json!({
        "id": id,
        "name": id,
        "description": "Inferred by hookforge infer; check every field against the vendor's docs.",
        "event_type": event_type,
        "auth": {"scheme": "none", "note": "not inferred: describe the vendor's scheme (see docs/vendors.md, Authentication in the manifest)"},
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "success": {"statuses": ["2xx"]},
    });
    write_json(&out.join("manifest.json"), &manifest)?;
    for (name, files, docs) in &events {
        let mut schema = hookforge::infer::infer(name, docs);
        if let Some(k) = &type_key {
            // Pinned, as hookforge's schemas pin the event type.
            schema["properties"][k] = json!({"const": name});
        }
        let slug = hookforge::infer::event_slug(name);
        write_json(&out.join("events").join(format!("{slug}.json")), &schema)?;
        let sample_dir = out.join("samples").join(&slug);
        std::fs::create_dir_all(&sample_dir)
            .map_err(|e| format!("{}: {e}", sample_dir.display()))?;
        for f in files {
            let target = sample_dir.join(f.file_name().unwrap_or_default());
            std::fs::copy(f, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        }
    }
    eprintln!(
        "wrote {} with {} event(s); event type {}",
        out.display(),
        events.len(),
        match &type_key {
            Some(k) => format!("at /{k}"),
            None => "not found in the bodies: set `event_type` in the manifest".into(),
        }
    );
    Ok(Ok(()))
}
