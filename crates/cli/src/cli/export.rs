//! `hookforge export`: a vendor's webhooks as AsyncAPI 3.0 or OpenAPI 3.1,
//! or as a vendor directory (what `drift`, `diff` and `--vendor-dir` read).

use super::*;

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    /// The document: `asyncapi` (3.0), `openapi` (3.1, `webhooks`), or
    /// `vendor-dir` (manifest.json, definitions.json, events/, samples/ into
    /// the new directory `--out`: a built-in or catalogue vendor's files for
    /// `drift --schemas` and `diff` outside hookforge's repository).
    pub format: ExportFormat,
    #[command(flatten)]
    pub vendor: VendorArg,
    /// Write here instead of standard output (for `vendor-dir`: the
    /// directory to make; required).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// What `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Asyncapi,
    Openapi,
    VendorDir,
}

pub fn run(a: Args) -> Outcome {
    let v = a.vendor.spec()?;
    let doc = match a.format {
        ExportFormat::Asyncapi => hookforge::export::asyncapi(v),
        ExportFormat::Openapi => hookforge::export::openapi(v),
        ExportFormat::VendorDir => return vendor_dir(v, a.out.as_deref()),
    };
    let text = serde_json::to_string_pretty(&doc).expect("Value serializes") + "\n";
    match &a.out {
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => Ok(()),
            Err(e) => Err(Failure::usage(format!(
                "cannot write {}: {e}",
                path.display()
            ))),
        },
        None => print_text(&text),
    }
}

/// Writes `v`'s vendor directory into `out`, which must not exist or be
/// empty (nothing of the user's is overwritten).
fn vendor_dir(v: &VendorSpec, out: Option<&std::path::Path>) -> Outcome {
    let Some(out) = out else {
        return Err(Failure::usage(
            "export vendor-dir needs --out DIR: the directory to make",
        ));
    };
    if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Failure::usage(format!(
            "{} exists and is not empty: give a new directory",
            out.display()
        )));
    }
    for (rel, bytes) in vendor_files(v) {
        let path = out.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::usage(format!("cannot write {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, bytes)
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!(
        "wrote {}'s vendor directory to {} ({} events): `hookforge drift --schemas {}`, `hookforge diff {} NEW`",
        v.id,
        out.display(),
        v.events.len(),
        out.display(),
        out.display()
    );
    Ok(())
}

/// The files of `v`'s vendor directory: a catalogue vendor's as shipped,
/// byte for byte; a compiled vendor's made from what the binary embeds
/// (the same schemas, written out, refs pointing at `definitions.json`).
fn vendor_files(v: &VendorSpec) -> Vec<(PathBuf, Vec<u8>)> {
    if let Some(files) = hookforge::vendor_dir::catalogue::files(v.id) {
        return files
            .iter()
            .map(|(rel, b)| (PathBuf::from(rel), b.to_vec()))
            .collect();
    }
    let pretty = |v: &serde_json::Value| json_text(v).into_bytes();
    let manifest: serde_json::Value =
        serde_json::from_str(v.manifest_json()).expect("the binary embeds valid JSON");
    let mut out = vec![
        (PathBuf::from("manifest.json"), pretty(&manifest)),
        (
            PathBuf::from("definitions.json"),
            pretty(&serde_json::json!({ "definitions": v.definitions() })),
        ),
    ];
    for e in v.events {
        let mut schema: serde_json::Value =
            serde_json::from_str(e.schema_json).expect("the binary embeds valid JSON");
        let own: Vec<String> = schema
            .get("definitions")
            .and_then(serde_json::Value::as_object)
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        to_shared_refs(&mut schema, &own);
        out.push((
            PathBuf::from(format!("events/{}.json", e.slug)),
            pretty(&schema),
        ));
        for s in e.samples {
            let name = std::path::Path::new(s.path).file_name().unwrap_or_default();
            out.push((
                PathBuf::from("samples").join(e.slug).join(name),
                s.body.to_vec(),
            ));
        }
    }
    out
}

/// `#/definitions/X` to `../definitions.json#/definitions/X` where X is not
/// the event's own, as an event schema on disk refers to shared ones.
fn to_shared_refs(v: &mut serde_json::Value, own: &[String]) {
    hookforge::manifest::refs::each_ref(v, &mut |r| {
        if let Some(name) = r.strip_prefix("#/definitions/")
            && !own.iter().any(|n| n == name)
        {
            *r = format!("../definitions.json{r}");
        }
    });
}
