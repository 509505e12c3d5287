//! `hookforge extract DOC --out DIR`: the example payloads in a vendor's
//! documentation text, repaired into JSON, with where each came from and
//! every repair made (the same extraction as `cargo xtask extract`).

use super::*;

#[derive(clap::Args)]
pub struct Args {
    /// The documentation, as text.
    pub doc: PathBuf,
    /// Where the samples and `provenance.json` go.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Group the samples by the event type found at this JSON pointer
    /// (e.g. `/type`): `DIR/<event>/doc-N.json`, ready for `hookforge infer`
    /// or a vendor directory's `samples/`.
    #[arg(long, value_name = "POINTER")]
    pub event_pointer: Option<String>,
    /// Replace files in DIR that hold something else (a sample edited by
    /// hand, another page's); without it nothing is written then.
    #[arg(long)]
    pub overwrite: bool,
}

/// The directory `--event-pointer` puts the examples without an event type
/// in; `infer` passes over it.
pub const NO_EVENT_TYPE: &str = "_no_event_type";

pub fn run(args: Args) -> Outcome {
    let text = std::fs::read_to_string(&args.doc)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", args.doc.display())))?;
    if let Some(p) = &args.event_pointer
        && !p.starts_with('/')
    {
        return Err(Failure::usage(format!(
            "--event-pointer must be a JSON pointer starting with `/`; got {p:?}"
        )));
    }
    let Extracted {
        mut files,
        examples,
        unrepairable,
    } = extracted(&args, &text);
    let provenance = serde_json::json!({
        "source": args.doc.file_name().map(|f| f.to_string_lossy().into_owned()),
        "source_sha256": hookforge_sha256(text.as_bytes()),
        "examples": examples,
        "unrepairable": unrepairable,
    });
    files.push((
        args.out.join("provenance.json"),
        serde_json::to_string_pretty(&provenance).expect("Value serializes") + "\n",
    ));
    write_unless_overwriting(&files, args.overwrite)?;
    let repaired = examples
        .iter()
        .filter(|e| e["repairs"].as_array().is_some_and(|r| !r.is_empty()))
        .count();
    println!(
        "{}: {} examples written to {} ({repaired} repaired), {} unrepairable",
        args.doc.display(),
        examples.len(),
        args.out.display(),
        unrepairable.len()
    );
    for u in &unrepairable {
        eprintln!(
            "unrepairable: {}:{}: {}",
            args.doc.display(),
            u["line"],
            u["message"].as_str().unwrap_or_default()
        );
    }
    if unrepairable.is_empty() {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}

/// The examples found in a document: the files to write, and what
/// `provenance.json` says of each found and each unrepairable.
struct Extracted {
    files: Vec<(PathBuf, String)>,
    examples: Vec<serde_json::Value>,
    unrepairable: Vec<serde_json::Value>,
}

fn extracted(args: &Args, text: &str) -> Extracted {
    let mut out = Extracted {
        files: Vec::new(),
        examples: Vec::new(),
        unrepairable: Vec::new(),
    };
    let mut per_dir: std::collections::BTreeMap<String, usize> = Default::default();
    // One directory per event type, named so no two types share one.
    let mut stems: std::collections::HashMap<String, String> = Default::default();
    // Examples without an event type go to `_no_event_type`: no event's.
    let mut taken = std::collections::HashSet::from([NO_EVENT_TYPE.to_string()]);
    for found in hookforge_extract::find_examples(text) {
        let ex = match found {
            Ok(ex) => ex,
            Err(u) => {
                out.unrepairable
                    .push(serde_json::json!({"line": u.line, "message": u.message}));
                continue;
            }
        };
        let value: serde_json::Value =
            serde_json::from_str(&ex.text).expect("extraction yields valid JSON");
        let group = match &args.event_pointer {
            Some(p) => match value.pointer(p).and_then(|v| v.as_str()) {
                Some(event) => stems
                    .entry(event.to_string())
                    .or_insert_with(|| {
                        hookforge::infer::EventNaming::DEFAULT.unique_slug(event, &mut taken)
                    })
                    .clone(),
                None => NO_EVENT_TYPE.to_string(),
            },
            None => String::new(),
        };
        let n = per_dir.entry(group.clone()).or_default();
        *n += 1;
        let rel = if group.is_empty() {
            format!("doc-{n}.json")
        } else {
            format!("{group}/doc-{n}.json")
        };
        out.examples.push(serde_json::json!({
            "file": rel,
            "lines": [ex.lines.0, ex.lines.1],
            "context": ex.context,
            "repairs": ex.repairs,
        }));
        out.files
            .push((args.out.join(&rel), ex.text.clone() + "\n"));
    }
    out
}

/// Writes `files`; one that exists with other contents is refused (checked
/// before anything is written, so a refusal changes nothing) unless
/// `overwrite`.
fn write_unless_overwriting(files: &[(PathBuf, String)], overwrite: bool) -> Result<(), Failure> {
    let differing: Vec<String> = (files.iter())
        .filter(|(path, body)| std::fs::read(path).is_ok_and(|old| old != body.as_bytes()))
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !differing.is_empty() && !overwrite {
        return Err(Failure::usage(format!(
            "{} already exist(s) with other contents: {} (--overwrite to replace, or another --out)",
            differing.len(),
            differing.join(", ")
        )));
    }
    for (path, body) in files {
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, body))
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

fn hookforge_sha256(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}
