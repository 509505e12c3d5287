//! `hookforge drift`: what real traffic in the inbox shows that the schemas
//! do not allow or know, as a JSON Patch per schema file and redacted
//! samples; `--apply` writes them.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub inbox: stores::InboxLocation,
    /// Only this vendor's deliveries (default: every vendor in the inbox).
    #[arg(long)]
    pub vendor: Option<String>,
    /// The vendor directory to compare with and patch (default:
    /// `schemas/<vendor>` or `vendors/<vendor>`; `hookforge export
    /// vendor-dir` writes one for a vendor hookforge knows).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Where new samples go (default: `samples/<vendor>` beside `schemas/<vendor>`,
    /// else `DIR/samples`).
    #[arg(long, value_name = "DIR")]
    pub samples: Option<PathBuf>,
    /// How many stored deliveries to read, newest first.
    #[arg(long, default_value_t = 10_000)]
    pub limit: usize,
    /// Write the patched schemas, the new event schemas and the samples.
    #[arg(long)]
    pub apply: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(mut args: Args, vendor_dir: &[PathBuf]) -> Outcome {
    // `--vendor-dir DIR` names the directory to compare with, as `--schemas`.
    match (vendor_dir, &args.schemas) {
        ([], _) => {}
        ([dir], None) => args.schemas = Some(dir.clone()),
        ([dir], Some(schemas)) if dir == schemas => {}
        _ => {
            return Err(Failure::usage(
                "drift compares with one vendor directory: give --vendor-dir or --schemas, once",
            ));
        }
    }
    let (by_vendor, untyped) = observed(&args)?;
    if args.schemas.is_some() && by_vendor.len() > 1 {
        let vendors: Vec<&str> = by_vendor.keys().map(String::as_str).collect();
        return Err(Failure::usage(format!(
            "the inbox holds deliveries of {}: --schemas names one vendor's directory, so give --vendor too",
            vendors.join(", ")
        )));
    }
    let mut all = serde_json::Map::new();
    let mut text = String::new();
    let mut applied: Vec<PathBuf> = Vec::new();
    if untyped > 0 {
        text.push_str(&format!(
            "{untyped} deliveries left out: their event type could not be read (`inbox list --status quarantined`)\n"
        ));
    }
    // Every vendor's proposal first: a vendor whose directory or schemas
    // cannot be read stops the run before anything is written.
    let mut proposals = Vec::new();
    for (vendor, deliveries) in by_vendor {
        let (dir, samples) = vendor_paths(&args, &vendor)?;
        // Another vendor's directory would take every event for a new one.
        if let Ok(theirs) = hookforge::manifest::vendor_dir::VendorSchemas::load(&dir)
            && theirs.manifest.id != vendor
        {
            return Err(Failure::usage(format!(
                "{} is the directory of vendor {:?}, and the deliveries are {vendor}'s: give --vendor {} or that vendor's directory",
                dir.display(),
                theirs.manifest.id,
                theirs.manifest.id
            )));
        }
        let p = hookforge::drift::propose(&dir, &samples, &deliveries)
            .map_err(|e| Failure::usage(format!("{vendor}: {e}")))?;
        text.push_str(&described(&vendor, &dir, &p));
        proposals.push((vendor, dir, samples, p));
    }
    for (vendor, dir, samples, p) in proposals {
        let anything = !p.patches.is_empty() || !p.new_events.is_empty() || !p.samples.is_empty();
        if args.apply && anything {
            apply(&dir, &samples, &p).map_err(|e| {
                // Each vendor's apply is all-or-nothing; earlier vendors' are done.
                let before = match applied.as_slice() {
                    [] => String::new(),
                    dirs => format!(
                        " (already applied to {} before it)",
                        dirs.iter()
                            .map(|d| d.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                Failure::failed(format!("{vendor}: {e}{before}"))
            })?;
            applied.push(dir.clone());
        }
        all.insert(vendor, serde_json::to_value(&p).expect("serializes"));
    }
    if args.apply {
        text.push_str(&applied_note(&applied));
    }
    // Said in JSON too, beside the vendors (whose names have no parentheses).
    if untyped > 0 {
        all.insert(
            "(event type unreadable)".into(),
            serde_json::json!({ "left_out": untyped }),
        );
    }
    if args.json {
        print_json(&serde_json::Value::Object(all))
    } else {
        print_text(&text)
    }
}

/// The inbox's deliveries per vendor (of `--vendor`, if given), and how
/// many were left out because their event type could not be read (stored
/// under a placeholder: no event to propose a schema for).
fn observed(
    args: &Args,
) -> Result<(BTreeMap<String, Vec<hookforge::drift::Observed>>, usize), Failure> {
    let store = args.inbox.open()?;
    let rows = store
        .list(None, args.limit)
        .map_err(|e| Failure::usage(format!("cannot read the inbox: {e}")))?;
    let mut by_vendor: BTreeMap<String, Vec<hookforge::drift::Observed>> = BTreeMap::new();
    let unreadable = hookforge::receive::receiver::UNREADABLE_EVENT_TYPE;
    let mut untyped = 0usize;
    for r in rows {
        if args.vendor.as_deref().is_some_and(|v| v != r.vendor) {
            continue;
        }
        if r.event_type == unreadable {
            untyped += 1;
            continue;
        }
        by_vendor
            .entry(r.vendor)
            .or_default()
            .push(hookforge::drift::Observed {
                id: r.id,
                event_type: r.event_type,
                body: r.body,
                headers: r.headers,
            });
    }
    if by_vendor.is_empty() {
        let of = args
            .vendor
            .as_deref()
            .map(|v| format!(" of {v}"))
            .unwrap_or_default();
        return Err(Failure::usage(format!("no stored deliveries{of}")));
    }
    Ok((by_vendor, untyped))
}

/// The vendor directory to compare with and where its samples go.
fn vendor_paths(args: &Args, vendor: &str) -> Result<(PathBuf, PathBuf), Failure> {
    let default_dir = PathBuf::from("schemas").join(vendor);
    let dir = match &args.schemas {
        Some(d) => d.clone(),
        None => default_schemas(vendor)?,
    };
    let samples = args.samples.clone().unwrap_or_else(|| {
        if dir == default_dir {
            PathBuf::from("samples").join(vendor)
        } else {
            dir.join("samples")
        }
    });
    Ok((dir, samples))
}

/// The proposal for `vendor` against `dir`, as text.
fn described(vendor: &str, dir: &Path, proposal: &hookforge::drift::Proposal) -> String {
    let mut text = format!(
        "{vendor}: {} deliveries read, {} show drift against {}\n",
        proposal.deliveries,
        proposal.drifted,
        dir.display()
    );
    if proposal.unreadable > 0 {
        text.push_str(&format!(
            "{vendor}: {} left out: JSON hookforge's parser cannot hold (see `inbox list --status quarantined`)\n",
            proposal.unreadable
        ));
    }
    if proposal.check_traffic > 0 {
        text.push_str(&format!(
            "{vendor}: {} left out: made by `hookforge check` (its X-Hookforge-Check header or body marks), not the vendor's\n",
            proposal.check_traffic
        ));
    }
    for (file, ops) in &proposal.patches {
        text.push_str(&format!("  {}\n", file.display()));
        for op in ops {
            text.push_str(&format!(
                "    {:<7} {}  ({}; {})\n",
                op.op,
                Shown(&op.path),
                Shown(&op.why),
                cited(&op.deliveries)
            ));
        }
    }
    for event in proposal.new_events.keys() {
        let ids = proposal.new_event_deliveries.get(event).map(Vec::as_slice);
        text.push_str(&format!(
            "  new event `{}`: a schema inferred from its deliveries ({})\n",
            Shown(event),
            cited(ids.unwrap_or_default())
        ));
    }
    for s in &proposal.samples {
        text.push_str(&format!("  sample for `{}` (redacted)\n", Shown(&s.event)));
    }
    text
}

/// What `--apply` did, and for a built-in vendor's `schemas/` what to run next.
fn applied_note(applied: &[PathBuf]) -> String {
    if applied.is_empty() {
        return "nothing to apply.\n".into();
    }
    let shown: Vec<String> = applied.iter().map(|d| d.display().to_string()).collect();
    let mut note = format!("applied to {}.", shown.join(", "));
    if applied
        .iter()
        .any(|d| d.components().any(|c| c.as_os_str() == "schemas"))
    {
        note.push_str(" Built-in vendors: run `cargo xtask codegen` and the tests (`cargo insta review` shows what the typed parses gained).");
    }
    note + "\n"
}

/// The vendor directory to compare with when `--schemas` is not given:
/// `schemas/<vendor>` (a built-in vendor, in hookforge's repository) or
/// `vendors/<vendor>` (a catalogue vendor), else an error saying how to
/// get one.
fn default_schemas(vendor: &str) -> Result<PathBuf, Failure> {
    let candidates = [PathBuf::from("schemas"), PathBuf::from("vendors")].map(|p| p.join(vendor));
    if let Some(dir) = candidates
        .iter()
        .find(|d| d.join("manifest.json").is_file())
    {
        return Ok(dir.clone());
    }
    Err(Failure::usage(format!(
        "no vendor directory for {vendor} here (looked for schemas/{vendor} and vendors/{vendor}): \
         write one with `hookforge export vendor-dir --vendor {vendor} --out DIR`, then `drift --schemas DIR`"
    )))
}

/// Writes the proposal: every file is made first (patched text, new
/// schemas, samples) and written beside its target, and only when all are
/// written are they renamed into place, so a failure (a full disk, a name
/// the file system refuses) leaves the directory as it was.
fn apply(dir: &Path, samples: &Path, proposal: &hookforge::drift::Proposal) -> Result<(), String> {
    let files = planned(dir, samples, proposal)?;
    still_loads(dir, samples, &files)?;
    let staged: Vec<PathBuf> = files
        .iter()
        .map(|(path, _)| {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".drift-tmp");
            path.with_file_name(name)
        })
        .collect();
    // The directories made for new files, outermost first: removed again
    // (with what was staged in them) if anything fails.
    let mut made: Vec<PathBuf> = Vec::new();
    let written = files
        .iter()
        .zip(&staged)
        .try_for_each(|((path, text), tmp)| {
            if let Some(parent) = path.parent() {
                // Absolute, so the outermost missing directory is a real one
                // (a relative path's ancestors end at "").
                let parent = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
                let missing = parent.ancestors().take_while(|a| !a.exists()).last();
                std::fs::create_dir_all(&parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
                let missing = missing.map(Path::to_path_buf);
                made.extend(missing);
            }
            std::fs::write(tmp, text).map_err(|e| format!("{}: {e}", path.display()))
        });
    let undo = |staged: &[PathBuf]| {
        staged
            .iter()
            .for_each(|tmp| drop(std::fs::remove_file(tmp)));
        made.iter().for_each(|d| drop(std::fs::remove_dir_all(d)));
    };
    if let Err(e) = written {
        undo(&staged);
        return Err(format!("{e}; nothing in {} was changed", dir.display()));
    }
    for (n, ((path, _), tmp)) in files.iter().zip(&staged).enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            staged[n..]
                .iter()
                .for_each(|t| drop(std::fs::remove_file(t)));
            let done: Vec<String> = files[..n]
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect();
            return Err(format!(
                "{}: {e}; applied before it: {}",
                path.display(),
                if done.is_empty() {
                    "nothing".into()
                } else {
                    done.join(", ")
                }
            ));
        }
    }
    Ok(())
}

/// The directory as `apply` would leave it, loaded as `serve` loads it,
/// before anything is written: a patch that leaves a schema that does not
/// compile (a `$ref` to a definition it did not bring) is refused, and the
/// directory stays as it was (helper-61's review).
fn still_loads(dir: &Path, samples: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    let patched: BTreeMap<String, Vec<u8>> = files
        .iter()
        .filter_map(|(path, text)| {
            let rel = path.strip_prefix(dir).ok()?.to_str()?.replace('\\', "/");
            Some((rel, text.clone().into_bytes()))
        })
        .collect();
    let overlay = Overlay {
        base: hookforge::vendor_dir::Disk(dir.to_path_buf()),
        patched,
    };
    let samples = hookforge::vendor_dir::Disk(samples.to_path_buf());
    match hookforge::vendor_dir::load_from(&overlay, &samples) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "the patched directory would not load ({e}); nothing in {} was changed",
            dir.display()
        )),
    }
}

/// A vendor directory on disk with some files replaced or added in memory.
struct Overlay {
    base: hookforge::vendor_dir::Disk,
    /// By path relative to the directory, `/`-separated.
    patched: BTreeMap<String, Vec<u8>>,
}

impl hookforge::vendor_dir::Files for Overlay {
    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        match self.patched.get(rel) {
            Some(bytes) => Ok(bytes.clone()),
            None => self.base.read(rel),
        }
    }
    fn list(&self, rel: &str) -> std::io::Result<Vec<String>> {
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        let added = (self.patched.keys())
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|name| !name.contains('/'))
            .map(str::to_string);
        let mut names = match self.base.list(rel) {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.is_dir(rel) => Vec::new(),
            Err(e) => return Err(e),
        };
        names.extend(added);
        names.sort();
        names.dedup();
        Ok(names)
    }
    fn is_dir(&self, rel: &str) -> bool {
        self.base.is_dir(rel) || (self.patched.keys()).any(|k| k.starts_with(&format!("{rel}/")))
    }
    fn show(&self, rel: &str) -> PathBuf {
        self.base.show(rel)
    }
    fn sub(&self, rel: &str) -> std::sync::Arc<dyn hookforge::vendor_dir::Files> {
        let prefix = format!("{rel}/");
        std::sync::Arc::new(Overlay {
            base: hookforge::vendor_dir::Disk(self.base.0.join(rel)),
            patched: (self.patched.iter())
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
                .collect(),
        })
    }
}

/// Each file `apply` writes, with its new content.
fn planned(
    dir: &Path,
    samples: &Path,
    proposal: &hookforge::drift::Proposal,
) -> Result<Vec<(PathBuf, String)>, String> {
    let mut out = Vec::new();
    for (file, ops) in &proposal.patches {
        let path = dir.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let patched =
            hookforge::drift::apply(&text, ops).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((path, patched));
    }
    let pinned_key = hookforge::manifest::vendor_dir::VendorSchemas::load(dir)
        .ok()
        .filter(|m| m.manifest.event_type.join.is_none())
        .and_then(
            |m| match m.manifest.event_type.pointer_tokens()?.as_slice() {
                [key] => Some(key.clone()),
                _ => None,
            },
        );
    for (event, schema) in &proposal.new_events {
        let Some(file) = proposal.new_event_files.get(event) else {
            return Err(format!("no file named for the new event {event:?}"));
        };
        let mut schema = schema.clone();
        // Pinned, as the vendor's other schemas pin the event type.
        if let Some(key) = &pinned_key {
            schema["properties"][key] = serde_json::json!({"const": event});
        }
        out.push((dir.join(file), json_text(&schema)));
    }
    let mut numbered = std::collections::HashSet::new();
    for s in &proposal.samples {
        // `samples/<event>/drift-1.json`, or the next free number.
        let event_dir = samples.join(
            s.path
                .parent()
                .and_then(Path::file_name)
                .unwrap_or_default(),
        );
        let path = (1..)
            .map(|n| event_dir.join(format!("drift-{n}.json")))
            .find(|p| !p.exists() && numbered.insert(p.clone()))
            .expect("a free number");
        if !s.headers.is_empty() {
            let lines: String = s
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect();
            out.push((path.with_extension("headers"), lines));
        }
        out.push((path, json_text(&s.body)));
    }
    Ok(out)
}

/// The deliveries behind a change, as `inbox show ID` takes them.
fn cited(ids: &[i64]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(i64::to_string).collect();
    match ids.len() {
        0 => "no delivery recorded".into(),
        1 => format!("delivery {}", shown[0]),
        n if n <= 5 => format!("deliveries {}", shown.join(", ")),
        n => format!("deliveries {}, and {} more", shown.join(", "), n - 5),
    }
}
