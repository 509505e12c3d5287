//! `cargo xtask extract`: a vendor's documented examples become
//! `samples/<vendor>/<event>/doc-<n>.json`, events without one get a
//! `synthesized.json`, and `samples/<vendor>/provenance.json` says where each
//! came from and every change made to it.
//!
//! What is vendor-specific lives here: how an example is matched to its event
//! when the doc does not say (Prets), and what replaces a `"<string>"`
//! placeholder. Everything else is `extract.rs` and `synth.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use hookforge_codegen::VendorSchemas;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::synth::{self, Synth};
use hookforge_extract::{self as extract, Example};

/// The files one vendor's `samples/<vendor>/` should hold, by relative path.
pub struct Plan {
    pub vendor: String,
    pub files: BTreeMap<String, Vec<u8>>,
    /// Examples that could not be turned into samples, with their doc line.
    pub problems: Vec<String>,
}

const PLACEHOLDER: &str = "\"<string>\"";

/// What a plan accumulates: files by path, problems, provenance records,
/// and how many documented examples each event has.
#[derive(Default)]
struct Draft {
    files: BTreeMap<String, Vec<u8>>,
    problems: Vec<String>,
    records: Vec<Value>,
    per_event: BTreeMap<String, usize>,
}

pub fn plan(root: &Path, vendor: &str, doc: Option<&Path>) -> Result<Plan, String> {
    let schemas =
        VendorSchemas::load(&root.join("schemas").join(vendor)).map_err(|e| e.to_string())?;
    let mut d = Draft::default();
    let doc_name = doc.map(|d| {
        d.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    });
    if let Some(doc) = doc {
        documented(
            &mut d,
            &schemas,
            vendor,
            doc,
            doc_name.as_deref().unwrap_or_default(),
        )?;
    }
    synthesized(&mut d, &schemas, vendor)?;
    finish(d, vendor, doc_name)
}

/// The examples found in the vendor's doc, repaired, each assigned to its
/// event and with its placeholders filled.
fn documented(
    draft: &mut Draft,
    schemas: &VendorSchemas,
    vendor: &str,
    doc: &Path,
    doc_name: &str,
) -> Result<(), String> {
    let text = fs::read_to_string(doc).map_err(|e| format!("{}: {e}", doc.display()))?;
    let pointer = schemas
        .manifest
        .event_type
        .pointer
        .clone()
        .unwrap_or_default();
    for (index, found) in extract::find_examples(&text).into_iter().enumerate() {
        let ex = match found {
            Ok(ex) => ex,
            Err(u) => {
                draft
                    .problems
                    .push(format!("{doc_name}:{}: {}", u.line, u.message));
                continue;
            }
        };
        let value: Value = serde_json::from_str(&ex.text).expect("extract returns valid JSON");
        let (event, how) = match value.pointer(&pointer).and_then(Value::as_str) {
            Some(e) if e != "<string>" => (e.to_string(), None),
            _ => match positional_event(vendor, index) {
                Some((e, why)) => (e.to_string(), Some(why)),
                None => {
                    draft.problems.push(format!(
                        "{doc_name}:{}: no event type at `{pointer}` and no rule to assign one",
                        ex.lines.0
                    ));
                    continue;
                }
            },
        };
        let Some(schema) = schemas.events.iter().find(|e| e.name == event) else {
            draft.problems.push(format!(
                "{doc_name}:{}: example of event `{event}`, which no schema in schemas/{vendor}/events defines",
                ex.lines.0
            ));
            continue;
        };
        let n = draft.per_event.entry(schema.slug.clone()).or_default();
        *n += 1;
        let rel = format!("{}/doc-{n}.json", schema.slug);
        let mut repairs = ex.repairs.clone();
        let text = match fill_placeholders(vendor, &event, &rel, *n, &ex, &mut repairs) {
            Ok(t) => t,
            Err(e) => {
                draft
                    .problems
                    .push(format!("{doc_name}:{}: {e}", ex.lines.0));
                continue;
            }
        };
        if let Some(why) = how {
            repairs.push(format!("event type `{event}` assigned: {why}"));
        }
        draft.files.insert(rel.clone(), text.into_bytes());
        draft.records.push(json!({
            "path": rel,
            "origin": "documented",
            "doc": doc_name,
            "lines": [ex.lines.0, ex.lines.1],
            "context": ex.context,
            "repairs": repairs,
        }));
    }
    Ok(())
}

/// A sample synthesized from the schema for every event without a
/// documented one.
fn synthesized(d: &mut Draft, schemas: &VendorSchemas, vendor: &str) -> Result<(), String> {
    for ev in &schemas.events {
        if d.per_event.contains_key(&ev.slug) {
            continue;
        }
        let rel = format!("{}/synthesized.json", ev.slug);
        let synth = Synth {
            definitions: &schemas.definitions,
            seed: format!("{vendor}/{rel}"),
        };
        let value = synth
            .value(&ev.schema, "payload")
            .map_err(|e| format!("schemas/{vendor}/events/{}.json: {e}", ev.slug))?;
        let mut text = serde_json::to_string_pretty(&value).expect("Value serializes");
        text.push('\n');
        d.files.insert(rel.clone(), text.into_bytes());
        d.records.push(json!({
            "path": rel,
            "origin": "synthesized",
            "schema": format!("schemas/{vendor}/events/{}.json", ev.slug),
            "note": "No documented example: generated from the schema by `cargo xtask extract` (values from the schema's examples, const/enum or format; every property included). Not vendor data.",
        }));
    }
    Ok(())
}

/// The provenance file, and the plan.
fn finish(mut d: Draft, vendor: &str, doc_name: Option<String>) -> Result<Plan, String> {
    d.records
        .sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    let provenance = json!({
        "vendor": vendor,
        "doc": doc_name,
        "generated_by": format!("cargo xtask extract --vendor {vendor} <vendor-docs>/{}", doc_name.clone().unwrap_or_default()),
        "samples": d.records,
    });
    let mut text = serde_json::to_string_pretty(&provenance).expect("Value serializes");
    text.push('\n');
    d.files.insert("provenance.json".into(), text.into_bytes());
    Ok(Plan {
        vendor: vendor.to_string(),
        files: d.files,
        problems: d.problems,
    })
}

/// Differences between a plan and `samples/<vendor>/` on disk.
pub fn compare(root: &Path, plan: &Plan) -> Vec<String> {
    let dir = root.join("samples").join(&plan.vendor);
    let on_disk = hookforge_codegen::digest::list_files(&dir).unwrap_or_default();
    let mut out = Vec::new();
    for (rel, bytes) in &plan.files {
        match fs::read(dir.join(rel)) {
            Err(_) => out.push(format!("missing: samples/{}/{rel}", plan.vendor)),
            Ok(b) if &b != bytes => out.push(format!("differs: samples/{}/{rel}", plan.vendor)),
            Ok(_) => {}
        }
    }
    for rel in on_disk {
        if !plan.files.contains_key(&rel) {
            out.push(format!(
                "not produced by extraction: samples/{}/{rel}",
                plan.vendor
            ));
        }
    }
    out
}

/// Writes a plan, removing files extraction no longer produces.
pub fn write(root: &Path, plan: &Plan) -> Result<Vec<String>, String> {
    let dir = root.join("samples").join(&plan.vendor);
    let mut changed = Vec::new();
    for line in compare(root, plan) {
        changed.push(line);
    }
    if dir.exists() {
        for rel in hookforge_codegen::digest::list_files(&dir).map_err(|e| e.to_string())? {
            if !plan.files.contains_key(&rel) {
                fs::remove_file(dir.join(&rel)).map_err(|e| e.to_string())?;
            }
        }
    }
    for (rel, bytes) in &plan.files {
        let path: PathBuf = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    // Remove event directories left empty.
    if let Ok(rd) = fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir()
                && fs::read_dir(&p)
                    .map(|mut r| r.next().is_none())
                    .unwrap_or(false)
            {
                let _ = fs::remove_dir(&p);
            }
        }
    }
    Ok(changed)
}

/// Prets prints its examples without the event type (`"type": "<string>"`):
/// two runs of eight, one per event, in the order of the event descriptions
/// at the end of prets.txt.
const PRETS_ORDER: [&str; 8] = [
    "quote.created",
    "quote.updated",
    "quote.superseded",
    "quote.financing.updated",
    "quote.financing.offer_received",
    "quote.financing.completed",
    "quote.financing.rejected",
    "quote.financing.cancelled",
];

fn positional_event(vendor: &str, index: usize) -> Option<(&'static str, String)> {
    match vendor {
        "prets" => Some((
            PRETS_ORDER[index % 8],
            format!(
                "the doc prints no type; example {} of 8 in run {} (per-event pages, then the Webhooks page), matched by position to the event descriptions at the end of prets.txt",
                index % 8 + 1,
                index / 8 + 1
            ),
        )),
        _ => None,
    }
}

/// Crockford base32, as used by ULIDs.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID whose time part is `ms` and whose random part is derived from `seed`.
fn ulid(ms: i64, seed: &str) -> String {
    let mut out = [0u8; 26];
    let mut t = ms as u64;
    for i in (0..10).rev() {
        out[i] = CROCKFORD[(t % 32) as usize];
        t /= 32;
    }
    let h = Sha256::digest(seed.as_bytes());
    let mut r = u128::from_be_bytes(h[..16].try_into().expect("16 bytes"));
    for i in (10..26).rev() {
        out[i] = CROCKFORD[(r % 32) as usize];
        r /= 32;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

fn letters(seed: &str, n: usize) -> String {
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(n)
        .map(|b| (b'A' + b % 26) as char)
        .collect()
}

/// Replaces each `"<string>"` placeholder with a realistic value in the
/// documented format, recording what and why.
fn fill_placeholders(
    vendor: &str,
    event: &str,
    rel: &str,
    n: usize,
    ex: &Example,
    repairs: &mut Vec<String>,
) -> Result<String, String> {
    if !ex.text.contains(PLACEHOLDER) {
        return Ok(ex.text.clone());
    }
    let mut out = Vec::new();
    for line in ex.text.split('\n') {
        if !line.contains(PLACEHOLDER) {
            out.push(line.to_string());
            continue;
        }
        let key = line
            .trim_start()
            .strip_prefix('"')
            .and_then(|t| t.split('"').next())
            .unwrap_or_default()
            .to_string();
        let (value, why) = placeholder_value(vendor, event, rel, n, &key)
            .ok_or_else(|| format!("no rule to fill the \"<string>\" placeholder of `{key}`"))?;
        let value_json = serde_json::to_string(&value).expect("string serializes");
        repairs.push(format!(
            "placeholder \"<string>\" of `{key}` replaced by {value_json}: {why}"
        ));
        out.push(line.replacen(PLACEHOLDER, &value_json, 1));
    }
    Ok(out.join("\n"))
}

fn placeholder_value(
    vendor: &str,
    event: &str,
    rel: &str,
    n: usize,
    key: &str,
) -> Option<(String, String)> {
    match vendor {
        "prets" => prets_value(event, rel, n, key),
        "cowbell" => cowbell_value(rel, key),
        _ => None,
    }
}

/// When a Prets sample happened: distinct per event and per run, so ids and
/// timestamps differ between samples but never between extractions.
fn prets_time(event: &str, n: usize) -> (DateTime<Utc>, bool) {
    let i = PRETS_ORDER.iter().position(|e| *e == event).unwrap_or(0) as i64;
    let base = Utc
        .with_ymd_and_hms(2026, 6, 15, 9, 30, 12)
        .single()
        .expect("valid date");
    let fractional = n.is_multiple_of(2);
    let t = base + Duration::minutes(7 * i + 90 * (n as i64 - 1));
    let t = if fractional {
        t + Duration::milliseconds(417)
    } else {
        t
    };
    (t, fractional)
}

fn prets_value(event: &str, rel: &str, n: usize, key: &str) -> Option<(String, String)> {
    let (t, fractional) = prets_time(event, n);
    let ms = t.timestamp_millis();
    Some(match key {
        "eventId" => (
            format!("evt_{}", ulid(ms, &format!("prets/{rel}/eventId"))),
            "documented format `evt_` + 26-character Crockford ULID; its time part encodes the timestamp below, its random part is derived from the sample's path".into(),
        ),
        "version" => ("2026-06-01".into(), "the only documented version".into()),
        "timestamp" => {
            let (text, how) = if fractional {
                (t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), "with fractional seconds")
            } else {
                (t.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "without fractional seconds")
            };
            (text, format!("documented format RFC 3339 in UTC, {how} (documented as optional)"))
        }
        "organizationId" => (
            "mer_01HZQ7K8ABCDEFGHJKMNPQRSTV".into(),
            "the example organizationId the docs give".into(),
        ),
        "slug" => (
            "northwind-cycles".into(),
            "format undocumented; an illustrative URL slug".into(),
        ),
        "quoteId" => (
            format!("quo_{}", ulid(ms - 86_400_000, &format!("prets/{rel}/quoteId"))),
            "format undocumented; `quo_` + ULID chosen by analogy with the documented `evt_` and `mer_` ids".into(),
        ),
        "externalId" => (
            format!("INV-2026-{:04}", 40 + n),
            "format undocumented (the merchant's own reference); an illustrative invoice number".into(),
        ),
        "type" => (event.to_string(), "the event this example documents (see the assignment below)".into()),
        _ => return None,
    })
}

fn cowbell_value(rel: &str, key: &str) -> Option<(String, String)> {
    let policy_number = format!("PLM-{}", letters(&format!("cowbell/{rel}/policyNumber"), 7));
    Some(match key {
        "policyId" => (
            synth::uuid(&format!("cowbell/{rel}/policyId")),
            "a UUID, the format of policyId in the documented policy.status example".into(),
        ),
        "policyNumber" => (
            policy_number,
            "`PLM-` + 7 capital letters, the format of policyNumber in the documented policy.status example".into(),
        ),
        "documentUrl" => (
            format!("https://documents.example.com/cowbell/{policy_number}/non-renewal.pdf"),
            "format undocumented beyond being a download link; an illustrative HTTPS URL at example.com (the harness points it at its sandbox)".into(),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_are_well_formed_and_encode_time() {
        let u = ulid(1_781_515_812_000, "x");
        assert_eq!(u.len(), 26);
        assert!(u.bytes().all(|b| CROCKFORD.contains(&b)));
        // The first character of a 48-bit time is 0-7.
        assert!(u.as_bytes()[0] <= b'7');
        assert_eq!(u, ulid(1_781_515_812_000, "x"));
        assert_ne!(u[10..], ulid(1_781_515_812_000, "y")[10..]);
    }
}
