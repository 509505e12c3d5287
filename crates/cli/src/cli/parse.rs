//! `hookforge parse`: one body to its typed value, re-serialized.

use super::*;

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    #[command(flatten)]
    pub vendor: VendorArg,
    /// A header sent with the delivery, as `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// The body; `-` or nothing reads standard input. Several files, or a
    /// directory (its `*.json`, recursively), print one line per file.
    pub files: Vec<PathBuf>,
}

pub fn run(a: Args) -> Outcome {
    let v = a.vendor.spec()?;
    match a.files.as_slice() {
        [] => parse(v, a.headers, None),
        [one] if !one.is_dir() => parse(v, a.headers, Some(one.clone())),
        many => parse_many(v, a.headers, many),
    }
}

/// One line per file (`ok`, `unknown` or `FAIL` with the error), then a
/// total; exit 1 when any file fails. For checking captured production
/// payloads in bulk.
fn parse_many(
    vendor: &VendorSpec,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    paths: &[PathBuf],
) -> Outcome {
    let mut files = Vec::new();
    for p in paths {
        if let Err(e) = collect(p, &mut files) {
            return Err(Failure::usage(e));
        }
    }
    // Nothing to parse is not a pass.
    if files.is_empty() {
        let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Failure::usage(format!(
            "no *.json files in {} (provenance.json is not a sample)",
            named.join(", ")
        )));
    }
    let mut map = HeaderMap::new();
    for (k, val) in headers {
        map.append(k, val);
    }
    let (mut ok, mut unknown, mut failed) = (0, 0, 0);
    let mut out = String::new();
    for f in &files {
        let line = match read_sample_file(f, paths.contains(f), "the file") {
            Err(e) => {
                failed += 1;
                format!("FAIL     {}: {e}", f.display())
            }
            Ok(body) => match with_sample_headers(f, &map)
                .map(|map| directory_headers(vendor, f, &body, map))
                .and_then(|(map, from_dir)| {
                    let p = vendor
                        .parse(&body, &map)
                        .map_err(|e| explained(&e, &body))?;
                    Ok((p, from_dir))
                }) {
                Ok((p, from_dir)) if p.known => {
                    ok += 1;
                    let note = if from_dir {
                        "  (its type header from its directory, as check sends it)"
                    } else {
                        ""
                    };
                    format!("ok       {}  {}{note}", f.display(), p.event_type)
                }
                Ok((p, _)) => {
                    unknown += 1;
                    format!(
                        "unknown  {}  {} (not documented; kept whole)",
                        f.display(),
                        p.event_type
                    )
                }
                Err(e) => {
                    failed += 1;
                    format!("FAIL     {}: {e}", f.display())
                }
            },
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!(
        "{}: {} files: {ok} ok, {unknown} unknown event types, {failed} failed\n",
        vendor.id,
        files.len()
    ));
    let printed = print_text(&out);
    if failed > 0 {
        Err(Failure::Reported)
    } else {
        printed
    }
}

/// `p` itself, or the `*.json` files under it (sorted; `provenance.json`
/// skipped). A directory reached twice (a symlink loop) is walked once.
fn collect(p: &std::path::Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    walk(p, out, &mut std::collections::HashSet::new())
}

fn walk(
    p: &std::path::Path,
    out: &mut Vec<PathBuf>,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), String> {
    if !p.is_dir() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let real = std::fs::canonicalize(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    if !seen.insert(real) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|e| format!("cannot read {}: {e}", p.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out, seen)?;
        } else if e.extension().is_some_and(|x| x == "json")
            && e.file_name().is_some_and(|n| n != "provenance.json")
        {
            out.push(e);
        }
    }
    Ok(())
}

pub fn parse(
    v: &VendorSpec,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    file: Option<PathBuf>,
) -> Outcome {
    let body = read_input(file.as_ref()).map_err(Failure::usage)?;
    let mut map = HeaderMap::new();
    for (k, val) in headers {
        map.append(k, val);
    }
    if let Some(f) = &file {
        map = with_sample_headers(f, &map).map_err(Failure::usage)?;
    }
    match v.parse(&body, &map) {
        Ok(p) => print_json(&serde_json::json!({
            "vendor": v.id,
            "event": p.event_type,
            "known": p.known,
            "payload": p.payload,
        })),
        Err(e) => Err(Failure::failed(format!(
            "{} delivery rejected: {}",
            v.name,
            explained(&e, &body)
        ))),
    }
}

/// `given` (the `--header` flags) and, beneath them, the headers of the
/// sample's `<name>.headers` file when there is one, as `infer` and the
/// harness read them: a vendor that sends its event type in a header
/// cannot be parsed from the body alone.
fn with_sample_headers(file: &std::path::Path, given: &HeaderMap) -> Result<HeaderMap, String> {
    let path = file.with_extension("headers");
    if file.extension().is_none_or(|x| x != "json") || !path.is_file() {
        return Ok(given.clone());
    }
    let named = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(&path).map_err(|e| named(&e))?;
    let mut map = given.clone();
    for (name, value) in hookforge::onboard::parse_headers(&text).map_err(|e| named(&e))? {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| named(&e))?;
        let value = http::HeaderValue::from_str(&value).map_err(|e| named(&e))?;
        if !given.contains_key(&name) {
            map.append(name, value);
        }
    }
    Ok(map)
}

/// For a sample of a vendor that sends its event type in a header, with no
/// `.headers` file and no `--header` giving it, in a directory named after
/// one of the vendor's events (the catalogue's samples): the headers the
/// type and id are read from, as `check` sends them with that sample, and
/// whether they were added. Else `map` as it is.
fn directory_headers(
    vendor: &VendorSpec,
    file: &std::path::Path,
    body: &[u8],
    map: HeaderMap,
) -> (HeaderMap, bool) {
    let m = vendor.manifest();
    let Some(type_header) = m.event_type.header.as_deref() else {
        return (map, false);
    };
    // Sample directories are named by the event's slug (`orders-create`).
    let dir = file
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str());
    let event = dir.and_then(|d| vendor.events.iter().find(|e| e.slug == d || e.name == d));
    let Some(event) = event.map(|e| e.name) else {
        return (map, false);
    };
    if map.contains_key(type_header) || file.with_extension("headers").is_file() {
        return (map, false);
    }
    let attempt = hookforge::conformance::delivery::Attempt {
        attempt: 0,
        timestamp: None,
        event_type: Some(event.to_string()),
        event_id: None,
    };
    let Ok((_, sent)) =
        hookforge::conformance::delivery::vendor_delivery(vendor, body, None, &attempt)
    else {
        return (map, false);
    };
    let mut out = map;
    for (name, value) in sent {
        let read = m.headers_read().any(|h| name.eq_ignore_ascii_case(h));
        if let (true, Ok(name), Ok(value)) = (
            read,
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) && !out.contains_key(&name)
        {
            out.append(name, value);
        }
    }
    (out, true)
}

/// The error, and for JSON (by RFC 8259) that the parser cannot hold (1e400,
/// a lone surrogate, deep nesting), that it is JSON all the same and `serve`
/// keeps it, quarantined, rather than refusing it.
fn explained(e: &hookforge_core::ParseError, body: &[u8]) -> String {
    match e {
        hookforge_core::ParseError::Syntax { message }
            if hookforge_core::parse::rfc8259::is_json(body) =>
        {
            format!(
                "the body is JSON, but holds what hookforge's parser cannot ({message}): `serve` keeps such a delivery, quarantined"
            )
        }
        e => e.to_string(),
    }
}
