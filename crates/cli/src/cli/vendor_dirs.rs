//! `--vendor-dir DIR`: vendors loaded at run time, registered before the
//! command line is parsed so that every `--vendor` accepts them.

use std::ffi::OsString;

/// Commands that take one `--vendor`; with a single `--vendor-dir` and no
/// `--vendor`, the directory's vendor is meant.
const ONE_VENDOR: &[&str] = &[
    "events", "parse", "sign", "keygen", "check", "load", "serve", "export", "simulate",
];

/// Loads and registers every `--vendor-dir`, and returns the arguments to
/// parse (with `--vendor ID` added where it was implied).
pub fn load_from_args(mut args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    // `infer --vendor-dir OUT` writes the directory rather than loading it.
    if args.iter().skip(1).any(|a| a == "infer") {
        return Ok(args);
    }
    let mut dirs = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "--" {
            break;
        }
        if a == "--vendor-dir" {
            let dir = args.get(i + 1).ok_or("--vendor-dir needs a directory")?;
            dirs.push(std::path::PathBuf::from(dir));
            i += 2;
            continue;
        }
        if let Some(d) = a.strip_prefix("--vendor-dir=") {
            dirs.push(std::path::PathBuf::from(d));
        }
        i += 1;
    }
    let mut ids = Vec::new();
    for d in &dirs {
        let v = hookforge::vendor_dir::load(d).map_err(|e| e.to_string())?;
        if hookforge::vendors::ALL.iter().any(|b| b.id == v.id) {
            eprintln!(
                "note: {} replaces the built-in vendor `{}` for this run",
                d.display(),
                v.id
            );
        }
        hookforge::register(v);
        ids.push(v.id);
    }
    let has_vendor = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "--vendor" || a.starts_with("--vendor=")
    });
    // The subcommand: the first argument that is neither a flag nor a
    // `--vendor-dir` value.
    let mut sub = None;
    let mut j = 1;
    while j < args.len() {
        let a = args[j].to_string_lossy();
        if a == "--vendor-dir" {
            j += 2;
            continue;
        }
        if !a.starts_with('-') {
            sub = Some(j);
            break;
        }
        j += 1;
    }
    if let ([id], false, Some(at)) = (ids.as_slice(), has_vendor, sub)
        && ONE_VENDOR.contains(&args[at].to_string_lossy().as_ref())
    {
        args.insert(at + 1, OsString::from(format!("--vendor={id}")));
    } else if let (false, Some(at)) = (has_vendor, sub)
        && args[at] == "serve"
    {
        // `serve` with vendor dirs serves those, and says nothing of the
        // built-in vendors nobody asked for.
        for id in ids.iter().rev() {
            args.insert(at + 1, OsString::from(format!("--vendor={id}")));
        }
    }
    Ok(args)
}
