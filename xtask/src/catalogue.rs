//! The README's catalogue table, written from the shipped vendor
//! directories (`vendors/<id>/manifest.json`, `events/`, `samples/`):
//! `cargo xtask docs` rewrites it, `cargo xtask docs --check` fails when it
//! is stale.

use std::path::Path;

use serde_json::Value;

const START: &str = "<!-- catalogue:start (cargo xtask docs writes this table) -->";
const END: &str = "<!-- catalogue:end -->";

/// The table, a row per vendor directory.
pub fn table(root: &Path) -> Result<String, String> {
    let mut dirs: Vec<_> = std::fs::read_dir(root.join("vendors"))
        .map_err(|e| format!("vendors/: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    let mut out = String::from(
        "| Vendor | Events | Samples | Families without a sample | Auth | Handshakes | Auth proven by | Schemas |\n|---|---:|---:|---:|---|---|---|---|\n",
    );
    for d in &dirs {
        out.push_str(&row(d)?);
    }
    Ok(out)
}

fn row(dir: &Path) -> Result<String, String> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let m: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let events = count(&dir.join("events"), 1);
    let samples = count(&dir.join("samples"), 2);
    let handshakes: Vec<String> = m["handshakes"]
        .as_array()
        .map(|a| a.iter().map(|h| format!("`{}`", s(&h["name"]))).collect())
        .unwrap_or_default();
    let proof = match s(&m["proof"]["by"]).as_str() {
        "sdk" => format!("SDK (`{}`)", s(&m["proof"]["library"])),
        "published-vector" => format!("[published vector]({})", s(&m["proof"]["source"])),
        "documented" => "documented only".to_string(),
        _ => "-".to_string(),
    };
    // Each is listed, with why, in the manifest and by `hookforge vendors --json`.
    let unsampled = m["unsampled"].as_array().map_or(0, Vec::len);
    let docs = m["docs"].as_array().and_then(|d| d.first()).map(s);
    let name = match docs {
        Some(url) => format!("[{}]({url})", s(&m["name"])),
        None => s(&m["name"]),
    };
    Ok(format!(
        "| {name} (`{}`) | {events} | {samples} | {unsampled} | {} | {} | {proof} | {} |\n",
        s(&m["id"]),
        auth(&m["auth"]),
        if handshakes.is_empty() {
            "-".into()
        } else {
            handshakes.join(", ")
        },
        match s(&m["schemas"]["from"]).as_str() {
            "" => "-".to_string(),
            f => f.to_string(),
        },
    ))
}

/// The auth family, as `hookforge vendors` names it.
fn auth(auth: &Value) -> String {
    let s = |k: &str| auth[k].as_str().unwrap_or("");
    match s("scheme") {
        "none" => "none".into(),
        "bearer" => "static secret".into(),
        "standard-webhooks" => "standard-webhooks".into(),
        "jwt" => format!(
            "jwt-{}",
            auth["algorithms"]
                .as_array()
                .map(|x| x
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect::<Vec<_>>()
                    .join("/"))
                .unwrap_or_default()
        ),
        "hmac" => format!("hmac-{}", s("hash")),
        _ if !auth["format"].as_str().unwrap_or("{sig}").contains("{sig}") => {
            "static secret".into()
        }
        // Versions of one scheme (SNS's SHA-1 and SHA-256): each one.
        _ if auth["versions"]["algorithms"].is_object() => {
            let algs: Vec<&str> = auth["versions"]["algorithms"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values().filter_map(Value::as_str))
                .collect();
            algs.join("/")
        }
        _ => match s("algorithm") {
            "" | "hmac" => format!(
                "hmac-{}",
                if s("hash").is_empty() {
                    "sha256"
                } else {
                    s("hash")
                }
            ),
            alg => alg.into(),
        },
    }
}

/// JSON files `depth` levels below `dir` (samples: `samples/<event>/*.json`).
fn count(dir: &Path, depth: usize) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok().map(|e| e.path()))
        .map(|p| {
            if depth > 1 && p.is_dir() {
                count(&p, depth - 1)
            } else if depth == 1 && p.extension().is_some_and(|x| x == "json") {
                1
            } else {
                0
            }
        })
        .sum()
}

/// README.md with the table between its markers replaced by `table`.
pub fn with_table(readme: &str, table: &str) -> Result<String, String> {
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        return Err(format!(
            "README.md lacks the catalogue markers `{START}` … `{END}`"
        ));
    };
    Ok(format!("{}{START}\n{table}{}", &readme[..a], &readme[b..]))
}
