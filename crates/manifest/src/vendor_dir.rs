//! Loading a vendor's schema directory and bundling its `$ref`s: shared by
//! the generator and by vendors loaded at run time (`--vendor-dir`).
//!
//! Layout of `schemas/<vendor>/`:
//! - `manifest.json`: the vendor manifest (see `hookforge-manifest`);
//! - `definitions.json`: shared definitions (`{"definitions": {...}}`), optional;
//! - `events/<slug>.json`: one JSON Schema (draft-07) per event. Its `title` is
//!   the event type string; when the manifest reads the event type from the
//!   body, the schema must also pin it with `const` at that pointer.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::Manifest;

/// Keywords that only constrain values the generated models accept anyway
/// (bounds and patterns): the generator drops them, and so does the runtime's
/// lenient view of a vendor directory, so both accept the same payloads.
pub const VALUE_CONSTRAINTS: &[&str] = &[
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// Removes a schema object's `const`; unless the object names a `type`, it
/// gets the `type` of the constant's value. The models read a pinned value
/// as its type: another value is drift to keep, not an error.
pub fn const_as_type(o: &mut Map<String, Value>) {
    if let Some(c) = o.remove("const")
        && !o.contains_key("type")
    {
        let t = match c {
            Value::String(_) => "string",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_f64() => "number",
            Value::Number(_) => "integer",
            Value::Null => "null",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        o.insert("type".into(), t.into());
    }
}

/// Why a vendor directory cannot be used: the file, and what is wrong in it
/// (JSON errors give line and column; manifest errors name the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    pub message: String,
}

impl LoadError {
    pub fn at(file: &Path, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for LoadError {}

type Error = LoadError;

/// Where a vendor directory's files come from: a folder on disk, or files
/// embedded in the binary (the catalogue of known vendors).
pub trait Files: Send + Sync {
    /// A file's bytes; `rel` is relative to the directory (`events/push.json`).
    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>>;
    /// The names of the files directly in the folder `rel`, sorted
    /// (`NotFound` when there is no such folder).
    fn list(&self, rel: &str) -> std::io::Result<Vec<String>>;
    /// Whether `rel` is a folder.
    fn is_dir(&self, rel: &str) -> bool;
    /// How `rel` is shown in errors and sample paths.
    fn show(&self, rel: &str) -> PathBuf;
    /// The files below `rel`, as their own directory.
    fn sub(&self, rel: &str) -> Arc<dyn Files>;
}

/// A vendor directory on disk.
#[derive(Debug, Clone)]
pub struct Disk(pub PathBuf);

impl Files for Disk {
    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        fs::read(self.0.join(rel))
    }
    fn list(&self, rel: &str) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(self.0.join(rel))?
            .filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }
    fn is_dir(&self, rel: &str) -> bool {
        self.0.join(rel).is_dir()
    }
    fn show(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.0.clone()
        } else {
            self.0.join(rel)
        }
    }
    fn sub(&self, rel: &str) -> Arc<dyn Files> {
        Arc::new(Disk(self.0.join(rel)))
    }
}

/// A vendor directory embedded in the binary: `(path, bytes)` pairs with
/// `/`-separated paths relative to the directory, shown under `root`.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    pub root: &'static str,
    pub files: &'static [(&'static str, &'static [u8])],
}

impl Embedded {
    fn prefix(rel: &str) -> String {
        if rel.is_empty() {
            String::new()
        } else {
            format!("{}/", rel.trim_end_matches('/'))
        }
    }
}

impl Files for Embedded {
    fn read(&self, rel: &str) -> std::io::Result<Vec<u8>> {
        self.files
            .iter()
            .find(|(p, _)| *p == rel)
            .map(|(_, b)| b.to_vec())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not embedded"))
    }
    fn list(&self, rel: &str) -> std::io::Result<Vec<String>> {
        if !self.is_dir(rel) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such embedded folder",
            ));
        }
        let prefix = Self::prefix(rel);
        let mut names: Vec<String> = self
            .files
            .iter()
            .filter_map(|(p, _)| p.strip_prefix(prefix.as_str()))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_string)
            .collect();
        names.sort();
        Ok(names)
    }
    fn is_dir(&self, rel: &str) -> bool {
        let prefix = Self::prefix(rel);
        self.files
            .iter()
            .any(|(p, _)| p.starts_with(prefix.as_str()))
    }
    fn show(&self, rel: &str) -> PathBuf {
        Path::new(self.root).join(rel)
    }
    fn sub(&self, rel: &str) -> Arc<dyn Files> {
        let prefix = Self::prefix(rel);
        let files: Vec<(&'static str, &'static [u8])> = self
            .files
            .iter()
            .filter_map(|(p, b)| Some((p.strip_prefix(prefix.as_str())?, *b)))
            .collect();
        let root: &'static str = Box::leak(self.show(rel).display().to_string().into_boxed_str());
        Arc::new(Embedded {
            root,
            files: Box::leak(files.into_boxed_slice()),
        })
    }
}

/// A file name prefix for shared definitions referenced from event schemas.
pub const DEFINITIONS_FILE: &str = "definitions.json";
/// The shared definitions as an event schema (in `events/`) refers to them:
/// a `$ref` resolves against the referring file, as every JSON Schema tool
/// resolves it.
pub const EVENTS_TO_DEFINITIONS: &str = "../definitions.json";

#[derive(Debug, Clone)]
pub struct VendorSchemas {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// The manifest as it is on disk, re-serialized compactly.
    pub manifest_json: String,
    /// Shared definitions, refs already rewritten to `#/definitions/...`.
    pub definitions: Map<String, Value>,
    pub events: Vec<EventSchema>,
}

#[derive(Debug, Clone)]
pub struct EventSchema {
    /// The event type string as the vendor sends it (`quote.created`).
    pub name: String,
    /// The file stem, used for sample directories (`quote.created`).
    pub slug: String,
    pub description: String,
    /// The event schema with refs rewritten to `#/definitions/...` (not yet
    /// carrying the definitions; see [`VendorSchemas::bundled`]).
    pub schema: Value,
}

impl VendorSchemas {
    pub fn load(dir: &Path) -> Result<VendorSchemas, Error> {
        VendorSchemas::load_from(&Disk(dir.to_path_buf()))
    }

    /// Loads a vendor directory from `files` (on disk or embedded).
    pub fn load_from(files: &dyn Files) -> Result<VendorSchemas, Error> {
        let manifest_path = files.show("manifest.json");
        let manifest_text = read_text(files, "manifest.json")?;
        let manifest = Manifest::from_json(&manifest_text)
            .map_err(|e| Error::at(&manifest_path, e.to_string()))?;
        let manifest_value: Value = serde_json::from_str(&manifest_text)
            .map_err(|e| Error::at(&manifest_path, e.to_string()))?;
        let manifest_json = serde_json::to_string(&manifest_value).expect("Value serializes");
        let definitions = load_definitions(files)?;
        let events_dir = files.show("events");
        let names: Vec<String> = files
            .list("events")
            .map_err(|e| Error::at(&events_dir, e.to_string()))?
            .into_iter()
            .filter(|n| n.ends_with(".json"))
            .collect();
        if names.is_empty() {
            return Err(Error::at(&events_dir, "no event schemas (*.json) found"));
        }
        let mut events: Vec<EventSchema> = Vec::new();
        for name in names {
            let event = load_event(files, &name, &manifest, &definitions)?;
            if events.iter().any(|e| e.name == event.name) {
                let file = files.show(&format!("events/{name}"));
                return Err(Error::at(
                    &file,
                    format!("event `{}` is defined twice", event.name),
                ));
            }
            events.push(event);
        }
        Ok(VendorSchemas {
            dir: files.show(""),
            manifest,
            manifest_json,
            definitions,
            events,
        })
    }

    /// The definitions as a compact JSON object, for embedding.
    pub fn definitions_json(&self) -> String {
        serde_json::to_string(&self.definitions).expect("Value serializes")
    }

    /// A self-contained draft-07 schema for one event.
    pub fn bundled(&self, event: &EventSchema) -> Value {
        bundle(&event.schema, &self.definitions)
    }
}

fn read_text(files: &dyn Files, rel: &str) -> Result<String, Error> {
    let bytes = files
        .read(rel)
        .map_err(|e| Error::at(&files.show(rel), e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| Error::at(&files.show(rel), "not UTF-8"))
}

fn read_json(files: &dyn Files, rel: &str) -> Result<Value, Error> {
    serde_json::from_str(&read_text(files, rel)?)
        .map_err(|e| Error::at(&files.show(rel), format!("not valid JSON: {e}")))
}

/// `definitions.json`'s `definitions`, their refs made local (none when
/// the file is absent).
fn load_definitions(files: &dyn Files) -> Result<Map<String, Value>, Error> {
    let defs_path = files.show(DEFINITIONS_FILE);
    let mut definitions = Map::new();
    if !files
        .list("")
        .is_ok_and(|names| names.iter().any(|n| n == DEFINITIONS_FILE))
    {
        return Ok(definitions);
    }
    let v = read_json(files, DEFINITIONS_FILE)?;
    let Some(defs) = v.get("definitions").and_then(Value::as_object) else {
        return Err(Error::at(
            &defs_path,
            "expected an object with a `definitions` object",
        ));
    };
    for (k, mut s) in defs.clone() {
        rewrite_refs(&mut s, &defs_path, DEFINITIONS_FILE)?;
        definitions.insert(k, s);
    }
    Ok(definitions)
}

/// One event schema, `events/<name>`: its title is the event type, which
/// the schema must pin where the manifest reads the type from the body.
fn load_event(
    files: &dyn Files,
    name: &str,
    manifest: &Manifest,
    definitions: &Map<String, Value>,
) -> Result<EventSchema, Error> {
    let rel = format!("events/{name}");
    let file = files.show(&rel);
    let mut schema = read_json(files, &rel)?;
    rewrite_refs(&mut schema, &file, EVENTS_TO_DEFINITIONS)?;
    // Both kinds of ref read `#/definitions/Name` once bundled: one name
    // cannot mean two schemas.
    if let Some(Value::Object(own)) = schema.get("definitions")
        && let Some(name) = own
            .iter()
            .find(|(name, def)| definitions.get(*name).is_some_and(|d| d != *def))
            .map(|(name, _)| name)
    {
        return Err(Error::at(
            &file,
            format!(
                "`definitions/{name}` is defined here and, differently, in {DEFINITIONS_FILE}: rename one (both are `#/definitions/{name}` once bundled)"
            ),
        ));
    }
    let slug = name.strip_suffix(".json").unwrap_or(name).to_string();
    let event = schema
        .get("title")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::at(
                &file,
                "an event schema needs a `title`: the event type string",
            )
        })?
        .to_string();
    let description = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    // A type joined from a header and the body is not pinned by the body alone.
    let pointer = manifest
        .event_type
        .pointer_tokens()
        .filter(|_| manifest.event_type.join.is_none());
    if let Some(tokens) = &pointer {
        let pinned = const_at(&schema, tokens, definitions);
        if pinned.as_deref() != Some(event.as_str()) {
            return Err(Error::at(
                &file,
                format!(
                    "the event type at `{}` must be pinned with `\"const\": {:?}` (the title); found {:?}",
                    manifest.event_type.pointer.as_deref().unwrap_or_default(),
                    event,
                    pinned
                ),
            ));
        }
    }
    Ok(EventSchema {
        name: event,
        slug,
        description,
        schema,
    })
}

/// `definitions.json#/definitions/X` → `#/definitions/X`: the schema files
/// refer to the shared file; a bundled schema carries its definitions inside.
/// (The generator accepts no other kind of `$ref`.)
pub fn local_refs(v: &mut Value) {
    crate::refs::each_ref(v, &mut |r| {
        if let Some(at) = r.find('#') {
            *r = r[at..].to_string();
        }
    });
}

/// Attaches `definitions` to an event schema so that its `#/definitions/...`
/// refs resolve inside one document.
pub fn bundle(schema: &Value, definitions: &Map<String, Value>) -> Value {
    let mut out = schema.clone();
    if let Value::Object(o) = &mut out
        && !definitions.is_empty()
    {
        // The event's own definitions stay beside the shared ones (a name
        // in both is refused when the event is loaded).
        let own = o
            .entry("definitions")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(own) = own {
            for (name, def) in definitions {
                own.entry(name.clone()).or_insert_with(|| def.clone());
            }
        }
    }
    out
}

/// Rewrites `<file>#/definitions/X` to `#/definitions/X`, where `<file>` is
/// the shared definitions file as seen from the referring file (`external`:
/// `../definitions.json` from an event schema), and rejects refs the bundler
/// cannot follow, or that a standard tool would resolve elsewhere.
fn rewrite_refs(v: &mut Value, file: &Path, external: &str) -> Result<(), Error> {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref") {
                if let Some(rest) = r.strip_prefix(external)
                    && rest.starts_with('#')
                {
                    *r = rest.to_string();
                }
                if !r.starts_with("#/definitions/") {
                    return Err(Error::at(
                        file,
                        format!(
                            "unsupported $ref {r:?}: use `{external}#/definitions/Name` (refs resolve against the referring file) or `#/definitions/Name`"
                        ),
                    ));
                }
            }
            for (_, child) in o.iter_mut() {
                rewrite_refs(child, file, external)?;
            }
        }
        Value::Array(a) => {
            for child in a {
                rewrite_refs(child, file, external)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Follows `properties` along `tokens` (an index into an array: its
/// `items`; an `allOf` branch, where the schema composes one), resolving
/// local refs, and returns the `const` string found at the end.
fn const_at(schema: &Value, tokens: &[String], defs: &Map<String, Value>) -> Option<String> {
    let cur = crate::refs::resolve(schema, |name| defs.get(name));
    let here = match tokens.split_first() {
        None => cur.get("const").and_then(Value::as_str).map(str::to_string),
        Some((t, rest)) => {
            let next = match cur.get("items") {
                Some(items) if t.parse::<usize>().is_ok() => Some(items),
                _ => cur.get("properties").and_then(|p| p.get(t)),
            };
            next.and_then(|n| const_at(n, rest, defs))
        }
    };
    here.or_else(|| {
        cur.get("allOf")?
            .as_array()?
            .iter()
            .find_map(|branch| const_at(branch, tokens, defs))
    })
}
