//! `hookforge infer`: a draft-07 schema from sample payloads of one event,
//! or a whole vendor directory from a directory of samples per event.

use hookforge::onboard;
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
    /// With `--vendor-dir OUT`: the vendor's id (default: OUT's name).
    #[arg(long)]
    pub id: Option<String>,
    /// With `--vendor-dir OUT`: infer again the event schemas OUT already
    /// has, replacing any hand edits in them. Without it they are kept, as
    /// is an existing `manifest.json` (only an `event_type` or `event_id`
    /// it lacks is filled in).
    #[arg(long)]
    pub overwrite: bool,
}

/// The samples in `files`; those in `named` (given on the command line:
/// perhaps a pipe, `<(…)`) are read whatever they are, the others (found in
/// a directory) only if regular files.
/// A file that cannot be read is a usage error (2); one that is not JSON
/// failed to parse (1), as `parse` says of it.
fn read_samples(files: &[PathBuf], named: &[PathBuf]) -> Result<Vec<Value>, Failure> {
    files
        .iter()
        .map(|f| {
            let what = f.display().to_string();
            let text = read_sample_file(f, named.contains(f), &what).map_err(Failure::usage)?;
            // Read as `parse` and `serve` read a body: a key given twice is
            // refused here too, or its sample would be kept and then
            // quarantined by the vendor directory made from it.
            if text.starts_with(b"\xEF\xBB\xBF") {
                // serde_json says only "expected value at line 1 column 1".
                return Err(Failure::failed(format!(
                    "{what}: starts with a UTF-8 byte order mark, which JSON text must not (RFC 8259, section 8.1); remove its first 3 bytes"
                )));
            }
            hookforge::parse::decode_value(&text, &what).map_err(|e| {
                // A raw form body (`a=1&b=2`): say how such samples are kept.
                let form = !text.starts_with(b"{") && !text.starts_with(b"[") && text.contains(&b'=');
                let hint = if form {
                    format!("; a form body is kept as a JSON object of its fields, with `Content-Type: {FORM}` in the sample's .headers file")
                } else {
                    String::new()
                };
                Failure::failed(format!("{what}: {e}{hint}"))
            })
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
    let samples = match read_samples(&files, &a.inputs) {
        Ok(samples) => samples,
        Err(failure) => return Ok(Err(failure)),
    };
    Ok(print_json(&hookforge::infer::infer(&title, &samples)))
}

/// `OUT/manifest.json`, `OUT/events/<event>.json` and `OUT/samples/<event>/`
/// from `SAMPLES/<event>/*.json` (with `<name>.headers` beside a sample
/// whose vendor sends the type or id in a header).
fn vendor(args: &Args, out: &std::path::Path) -> Result<Outcome, String> {
    let [samples_dir] = args.inputs.as_slice() else {
        return Err(
            "with --vendor-dir OUT, give one directory of samples (one subdirectory per event)"
                .into(),
        );
    };
    // A sample that is not JSON failed to parse (1), as from `infer FILE`.
    let events = match read_events(samples_dir) {
        Ok(events) => events,
        Err(Failure::Usage(m)) => return Err(m),
        Err(failed) => return Ok(Err(failed)),
    };
    let grouped: Vec<(String, Vec<onboard::Sample>)> = events
        .iter()
        .map(|(dir, files)| (dir.clone(), files.iter().map(|(_, s)| s.clone()).collect()))
        .collect();
    let found = onboard::event_type(&grouped);
    let event_id = onboard::event_id(&grouped, found.as_ref().and_then(|f| f.pointer.as_deref()));
    let id = vendor_id(args.id.as_deref(), out)?;
    std::fs::create_dir_all(out.join("events")).map_err(|e| format!("{}: {e}", out.display()))?;
    let manifest = draft_manifest(&id, found.as_ref(), event_id.as_ref(), &grouped);
    let manifest_path = out.join("manifest.json");
    write_manifest(&manifest_path, &manifest)?;
    let mut stems = hookforge::infer::EventFiles::of_dir(out);
    for (i, (dir, files)) in events.iter().enumerate() {
        let name = found.as_ref().map_or(dir.clone(), |f| f.names[i].clone());
        let pins = (found.as_ref(), event_id.as_ref());
        let stem = stems.stem(&name);
        write_event(out, (&name, &stem), files, pins, args.overwrite)?;
    }
    eprintln!(
        "wrote {} with {} event(s); event type {}; event id {}",
        out.display(),
        events.len(),
        match &found {
            Some(f) => format!("at {}", f.locator),
            None => "not found".into(),
        },
        match &event_id {
            Some(l) => format!("at {l}"),
            None =>
                "not found (no field or header named like one has a distinct value in every sample)"
                    .into(),
        }
    );
    if !names_event_type(&manifest_path) {
        return Ok(Err(type_not_found(&events, &grouped, &manifest_path)));
    }
    Ok(Ok(()))
}

/// The manifest `infer` drafts: what the samples show (where the event type
/// and id are, the headers they are read from, a form body), the rest left
/// for the user to fill in.
fn draft_manifest(
    id: &str,
    found: Option<&onboard::EventType>,
    event_id: Option<&Value>,
    grouped: &[(String, Vec<onboard::Sample>)],
) -> Value {
    let mut manifest = json!({
        "id": id,
        "name": id,
        "description": "Inferred by hookforge infer; check every field against the vendor's docs.",
        "auth": {"scheme": "none", "note": "not inferred: describe the vendor's scheme (see docs/vendors.md, Authentication in the manifest)"},
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "success": {"statuses": ["2xx"]},
        "schemas": {"from": "inferred", "note": "inferred by hookforge infer from the samples; required: the event type, the event id and envelope fields present in every sample"},
    });
    // Not found, it is left out rather than guessed: a guessed header (no
    // vendor sends) made every real delivery a misfit, and `check` passed.
    if let Some(f) = found {
        manifest["event_type"] = f.locator.clone();
    }
    if let Some(l) = event_id {
        manifest["event_id"] = l.clone();
    }
    // Samples whose headers say the vendor posts a form: the manifest says
    // so, or `serve` would answer the vendor's real deliveries 415.
    if posts_forms(grouped) {
        manifest["body"] = json!({"encoding": "form"});
        manifest["headers"] = json!([{"name": "Content-Type", "value": FORM}]);
    }
    // A header the type or id is read from is one the vendor sends: listed,
    // `check` and `simulate` send it and `serve` keeps it with the delivery
    // (else every stored delivery lacked its type and was never handled).
    let read_from = [
        ("{event_type}", found.map(|f| &f.locator)),
        ("{event_id}", event_id),
    ];
    for (value, locator) in read_from {
        if let Some(name) = locator.and_then(|l| l["header"].as_str()) {
            manifest["headers"]
                .as_array_mut()
                .expect("a list")
                .push(json!({"name": name, "value": value}));
        }
    }
    manifest
}

/// Writes the drafted manifest, or keeps one already there (filling in the
/// event type or id it lacks).
fn write_manifest(manifest_path: &std::path::Path, manifest: &Value) -> Result<(), String> {
    match kept_manifest(manifest_path, manifest)? {
        Kept::New => write_json(manifest_path, manifest)?,
        Kept::AsIs => {
            eprintln!("kept {} as it is", manifest_path.display());
            note_other_locators(manifest_path, manifest);
        }
        Kept::Filled(kept) => {
            eprintln!(
                "kept {}, adding the event type or id it lacked",
                manifest_path.display()
            );
            write_json(manifest_path, &kept)?;
        }
    }
    Ok(())
}

/// Why no event type was found, and what to do: one directory per event
/// named as the vendor names it, or the batch rule.
fn type_not_found(
    events: &Events,
    grouped: &[(String, Vec<onboard::Sample>)],
    manifest_path: &std::path::Path,
) -> Failure {
    let mut dirs: Vec<&str> = events.iter().map(|(d, _)| d.as_str()).take(6).collect();
    if events.len() > 6 {
        dirs[5] = "…";
    }
    if onboard::is_batch(grouped) {
        return Failure::failed(format!(
            "the samples are JSON arrays (batches), in {} directories ({}): a vendor that posts batches \
             sends one kind of delivery, named with `{{\"value\": \"…\"}}` as `event_type` in {} \
             (docs/vendors.md): put its samples in one directory",
            events.len(),
            dirs.join(", "),
            manifest_path.display()
        ));
    }
    Failure::failed(format!(
        "the event type was not found: no body field or `.headers` header has, in every sample, \
         its directory's name as its value ({}).{} Name each directory as the vendor names the event, \
         or set `event_type` in {} yourself (a `pointer` or a `header`: docs/vendors.md)",
        dirs.join(", "),
        nearest_miss(events, grouped),
        manifest_path.display()
    ))
}

/// Whether the manifest written or kept says where the event type is (a
/// kept one may, though the samples do not show it).
fn names_event_type(path: &std::path::Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|text| serde_json::from_slice::<Value>(&text).ok())
        .is_some_and(|m| m.get("event_type").is_some())
}

/// Says where the kept manifest's event type or id differs from what the
/// samples suggest: the new schemas pin the samples' (check them).
fn note_other_locators(path: &std::path::Path, inferred: &Value) {
    let Ok(text) = std::fs::read(path) else {
        return;
    };
    let Ok(kept) = serde_json::from_slice::<Value>(&text) else {
        return;
    };
    for key in ["event_type", "event_id"] {
        if let (Some(yours), Some(ours)) = (kept.get(key), inferred.get(key))
            && yours != ours
        {
            eprintln!(
                "note: {} names `{key}` {yours}; the samples suggest {ours}, which the event schemas written now pin: check them",
                path.display()
            );
        }
    }
}

/// What becomes of a manifest already in the vendor directory.
enum Kept {
    /// There is none: the inferred one is written.
    New,
    /// It stays as written.
    AsIs,
    /// It gets the `event_type` or `event_id` it lacked.
    Filled(Value),
}

/// The manifest already at `path`, with the `event_type` and `event_id`
/// it lacks taken from `inferred`. Auth, headers and the rest are the
/// user's, and stay as written.
fn kept_manifest(path: &std::path::Path, inferred: &Value) -> Result<Kept, String> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Kept::New),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut kept: Value = serde_json::from_slice(&text).map_err(|e| {
        format!(
            "{}: not JSON ({e}); fix it, or remove it to infer a new one",
            path.display()
        )
    })?;
    let Some(fields) = kept.as_object_mut() else {
        return Err(format!("{}: not a JSON object", path.display()));
    };
    let mut filled = false;
    for key in ["event_type", "event_id"] {
        if let (false, Some(v)) = (fields.contains_key(key), inferred.get(key)) {
            fields.insert(key.into(), v.clone());
            filled = true;
        }
    }
    Ok(if filled {
        Kept::Filled(kept)
    } else {
        Kept::AsIs
    })
}

/// One event's schema (its type and id pinned) in `events/<slug>.json`,
/// and its samples, copied with their `.headers` files.
fn write_event(
    out: &std::path::Path,
    (name, slug): (&str, &str),
    files: &[(PathBuf, onboard::Sample)],
    (found, event_id): (Option<&onboard::EventType>, Option<&Value>),
    overwrite: bool,
) -> Result<(), String> {
    let docs: Vec<Value> = files.iter().map(|(_, s)| s.body.clone()).collect();
    let mut pins = Vec::new();
    // Required only where every sample of the event has it: GitHub's
    // `action`, joined to the header, is in `issues` bodies and not in
    // `push` ones, and requiring it there quarantined every push
    // (helper-61's review).
    let in_all = |p: &str| docs.iter().all(|d| d.pointer(p).is_some());
    if let Some(p) = found.and_then(|f| f.pointer.clone()).filter(|p| in_all(p)) {
        // Joined with a header: the body holds the second part only.
        let value = match found.map(|f| &f.locator) {
            Some(l) if l.get("header").is_some() => docs[0].pointer(&p).cloned(),
            _ => Some(Value::String(name.to_string())),
        };
        pins.push((p, value));
    }
    if let Some(p) = event_id
        .and_then(|l| l["pointer"].as_str())
        .filter(|p| in_all(p))
    {
        pins.push((p.to_string(), None));
    }
    let schema = hookforge::infer::infer_pinned(name, &docs, &pins);
    // A schema nests about twice as deep as its samples: past serde_json's
    // limit (128) the directory written could not be loaded again.
    let text = serde_json::to_string(&schema).map_err(|e| e.to_string())?;
    if let Err(e) = serde_json::from_str::<Value>(&text) {
        return Err(format!(
            "{name}: its samples nest too deep for a schema that can be read back ({e}); no schema written"
        ));
    }
    let path = out.join("events").join(format!("{slug}.json"));
    if path.exists() && !overwrite {
        eprintln!(
            "kept {} as it is (--overwrite infers it again)",
            path.display()
        );
    } else {
        write_json(&path, &schema)?;
    }
    let sample_dir = out.join("samples").join(slug);
    std::fs::create_dir_all(&sample_dir).map_err(|e| format!("{}: {e}", sample_dir.display()))?;
    for (f, _) in files {
        for from in [f.clone(), f.with_extension("headers")] {
            if from.exists() {
                let target = sample_dir.join(from.file_name().unwrap_or_default());
                copy_sample(&from, &target, overwrite)?;
            }
        }
    }
    Ok(())
}

/// Copies a sample into the vendor directory, but never onto itself (a run
/// on `OUT/samples`: `fs::copy` truncated each file to nothing) and, without
/// `--overwrite`, never over a different file already there (a hand edit).
fn copy_sample(
    from: &std::path::Path,
    target: &std::path::Path,
    overwrite: bool,
) -> Result<(), String> {
    if target.exists() {
        let same = |p: &std::path::Path| std::fs::canonicalize(p).ok();
        if same(from).is_some() && same(from) == same(target) {
            return Ok(());
        }
        let differs = std::fs::read(from).ok() != std::fs::read(target).ok();
        if differs && !overwrite {
            eprintln!(
                "kept {} as it is (--overwrite copies {} over it)",
                target.display(),
                from.display()
            );
            return Ok(());
        }
    }
    std::fs::copy(from, target)
        .map(drop)
        .map_err(|e| format!("{}: {e}", target.display()))
}

/// The place nearest to naming every event, and the samples it misses
/// (three at most), as a sentence to add to "the event type was not found".
fn nearest_miss(events: &Events, grouped: &[(String, Vec<onboard::Sample>)]) -> String {
    let Some(near) = onboard::nearest_event_type(grouped) else {
        return String::new();
    };
    let misses: Vec<String> = near
        .misses
        .iter()
        .take(3)
        .map(|(d, i, value)| {
            let file = events[*d].1[*i].0.display();
            match value {
                Some(v) => format!("{file} has \"{}\"", Shown(v)),
                None => format!("{file} has none"),
            }
        })
        .collect();
    let more = near.misses.len().saturating_sub(3);
    format!(
        " Nearest: {}, right in {} of {} samples; {}{}.",
        near.place,
        near.matched,
        near.total,
        misses.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// Each event directory's samples (with their headers), sorted.
type Events = Vec<(String, Vec<(PathBuf, onboard::Sample)>)>;

fn read_events(samples_dir: &std::path::Path) -> Result<Events, Failure> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(samples_dir)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", samples_dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut events = Vec::new();
    for d in dirs {
        if d.file_name()
            .is_some_and(|n| n == super::extract::NO_EVENT_TYPE)
        {
            eprintln!(
                "skipped {}: `extract`'s examples without an event type (move those that are deliveries into their event's directory)",
                d.display()
            );
            continue;
        }
        let files = json_files(&d).map_err(Failure::usage)?;
        if files.is_empty() {
            eprintln!("skipped {}: no *.json samples in it", d.display());
            continue;
        }
        let name = d
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                Failure::usage(format!("{}: the directory name is not UTF-8", d.display()))
            })?
            .to_string();
        // Onboarding a directory: any sample it cannot use stops it.
        let bodies = read_samples(&files, &[])?;
        let mut samples = Vec::new();
        for (f, body) in files.into_iter().zip(bodies) {
            let h = f.with_extension("headers");
            let headers = if h.exists() {
                let bytes = read_sample_file(&h, false, &h.display().to_string())
                    .map_err(Failure::usage)?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    Failure::usage(format!(
                        "cannot read {}: stream did not contain valid UTF-8",
                        h.display()
                    ))
                })?;
                onboard::parse_headers(&text)
                    .map_err(|e| Failure::usage(format!("{}: {e}", h.display())))?
            } else {
                Vec::new()
            };
            samples.push((f, onboard::Sample { body, headers }));
        }
        events.push((name, samples));
    }
    if events.is_empty() {
        return Err(Failure::usage(format!(
            "{} has no subdirectory of *.json samples (one per event)",
            samples_dir.display()
        )));
    }
    Ok(events)
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Whether the samples' `.headers` give a `Content-Type`, and every one
/// given is a form's.
fn posts_forms(events: &[(String, Vec<onboard::Sample>)]) -> bool {
    let types: Vec<&str> = events
        .iter()
        .flat_map(|(_, samples)| samples)
        .flat_map(|s| &s.headers)
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_str())
        .collect();
    !types.is_empty()
        && types
            .iter()
            .all(|t| t.trim().to_ascii_lowercase().starts_with(FORM))
}

/// `--id`, else OUT's name made an id (lower case, `_` for the rest).
fn vendor_id(given: Option<&str>, out: &std::path::Path) -> Result<String, String> {
    if let Some(id) = given {
        let ok = id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        return if ok {
            Ok(id.to_string())
        } else {
            Err(format!(
                "--id {id:?}: lower-case ASCII letters, digits and `_`, starting with a letter"
            ))
        };
    }
    Ok(out
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
        })
        .filter(|n| n.starts_with(|c: char| c.is_ascii_lowercase()))
        .unwrap_or_else(|| "vendor".into()))
}
