//! Drift proposals from real traffic (`hookforge drift`): what the stored
//! deliveries show that the schemas do not allow (quarantine causes) or do
//! not know (new keys, new enum values, new event types), as one JSON Patch
//! (RFC 6902) per schema file, plus redacted samples of the deliveries.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use jsonschema::error::ValidationErrorKind;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::manifest::Manifest;
use crate::manifest::vendor_dir::VendorSchemas;
use hookforge_schema::schema_walk::json_type;

pub use crate::document::PatchOp;

/// A stored delivery as drift reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// How the caller names it (the inbox row's id): proposals cite it.
    pub id: i64,
    pub event_type: String,
    pub body: Vec<u8>,
    /// The headers stored with it (those the event type and id are read
    /// from go with a new sample).
    pub headers: Vec<(String, String)>,
}

/// A redacted delivery to add as a sample.
#[derive(Debug, Clone, Serialize)]
pub struct NewSample {
    pub event: String,
    /// `samples/<event slug>/<name>.json`
    pub path: PathBuf,
    pub body: Value,
    /// For `<name>.headers` beside it: the delivery's headers the vendor's
    /// event type and id are read from (a sample without them cannot be
    /// parsed or inferred from again).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Proposal {
    /// Deliveries read, and how many showed drift.
    pub deliveries: usize,
    pub drifted: usize,
    /// Deliveries whose body serde_json cannot hold (JSON by RFC 8259 with a
    /// lone surrogate, a number beyond f64, deep nesting): left out, and said.
    pub unreadable: usize,
    /// Deliveries `hookforge check` made (`x_hookforge_*` fields, the
    /// `hookforge_undocumented` event): left out, not proposed as the
    /// vendor's (helper-61's review: they became schema changes).
    pub check_traffic: usize,
    /// Per schema file (relative to the vendor dir): its patch.
    pub patches: BTreeMap<PathBuf, Vec<PatchOp>>,
    /// Event types no schema describes: a schema inferred from their deliveries.
    pub new_events: BTreeMap<String, Value>,
    /// The deliveries of each new event type.
    pub new_event_deliveries: BTreeMap<String, Vec<i64>>,
    /// The file a new event's schema goes to (`events/<slug>.json`), named
    /// as the vendor directory names its others.
    pub new_event_files: BTreeMap<String, PathBuf>,
    pub samples: Vec<NewSample>,
}

/// Where a place in the bundled schema lives on disk: the file (relative to
/// the vendor dir) and the JSON pointer in it.
#[derive(Clone)]
struct SchemaPlace<'s> {
    file: PathBuf,
    ptr: String,
    node: &'s Value,
}

/// The definitions an event's schema can name: its own (in its file), then
/// the vendor's shared ones (`definitions.json`); a name is in one only.
struct Defs<'s> {
    own: Option<&'s Map<String, Value>>,
    own_file: PathBuf,
    shared: &'s Map<String, Value>,
}

impl<'s> Defs<'s> {
    /// The file that holds definition `name`, and the definition.
    fn get(&self, name: &str) -> Option<(PathBuf, &'s Value)> {
        match self.own.and_then(|o| o.get(name)) {
            Some(d) => Some((self.own_file.clone(), d)),
            None => Some((PathBuf::from("definitions.json"), self.shared.get(name)?)),
        }
    }
}

impl<'s> SchemaPlace<'s> {
    fn child(&self, token: &str, defs: &Defs<'s>) -> Option<SchemaPlace<'s>> {
        if token == "$ref" {
            let name = self
                .node
                .get("$ref")?
                .as_str()?
                .rsplit_once("/definitions/")?
                .1;
            let (file, node) = defs.get(name)?;
            return Some(SchemaPlace {
                file,
                ptr: format!("/definitions/{}", crate::manifest::escape_token(name)),
                node,
            });
        }
        let next = match self.node {
            Value::Object(o) => o.get(&crate::manifest::unescape_token(token))?,
            Value::Array(a) => a.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
        Some(SchemaPlace {
            file: self.file.clone(),
            ptr: format!("{}/{token}", self.ptr),
            node: next,
        })
    }

    /// Follows `$ref`s to the schema that says something.
    fn resolved(mut self, defs: &Defs<'s>) -> SchemaPlace<'s> {
        for _ in 0..16 {
            if self.node.get("$ref").is_none() {
                break;
            }
            match self.child("$ref", defs) {
                Some(next) => self = next,
                None => break,
            }
        }
        self
    }
}

/// Adds `op` to `ops` (one copy's, merged with another's): an equal op is
/// there already; two replacements of one `type` take both types, of one
/// `required` only the names both keep; anything else is added after.
fn merge_op(ops: &mut Vec<PatchOp>, op: &PatchOp) {
    let same_place = |o: &&mut PatchOp| o.op == op.op && o.path == op.path;
    match ops.iter_mut().find(same_place) {
        Some(o) if o.value == op.value => cite(o, op),
        Some(o) if o.op == "replace" => {
            cite(o, op);
            if let (Some(Value::Array(mine)), Some(Value::Array(theirs))) =
                (&mut o.value, &op.value)
            {
                if o.path.ends_with("/type") {
                    for t in theirs {
                        if !mine.contains(t) {
                            mine.push(t.clone());
                        }
                    }
                } else if o.path.ends_with("/required") {
                    mine.retain(|k| theirs.contains(k));
                }
            }
            o.why = format!("{}; {}", o.why, op.why);
        }
        _ => ops.push(op.clone()),
    }
}

/// `op`'s deliveries cited by `o` too.
fn cite(o: &mut PatchOp, op: &PatchOp) {
    for d in &op.deliveries {
        if !o.deliveries.contains(d) {
            o.deliveries.push(*d);
        }
    }
}

/// Proposes how the vendor dir `dir` should change to fit `deliveries`
/// (this vendor's); `samples` is where its samples are (new events are not
/// named after a sample directory there).
pub fn propose(dir: &Path, samples: &Path, deliveries: &[Observed]) -> Result<Proposal, Error> {
    let vs = VendorSchemas::load(dir)?;
    let mut out = Proposal::default();
    let mut found = Findings::default();
    let mut sampled: BTreeSet<String> = BTreeSet::new();
    let mut redactor = Redactor::default();
    for d in deliveries {
        let (event, body) = (&d.event_type, &d.body);
        found.current = d.id;
        out.deliveries += 1;
        let Ok(doc) = serde_json::from_slice::<Value>(body) else {
            out.unreadable += 1;
            continue;
        };
        let marked =
            (d.headers.iter()).any(|(k, _)| k.eq_ignore_ascii_case(hookforge_core::CHECK_HEADER));
        if marked || event.starts_with("hookforge_undocumented") || holds_check_marks(&doc) {
            out.check_traffic += 1;
            continue;
        }
        let Some(es) = vs.events.iter().find(|e| &e.name == event) else {
            found
                .unknown_headers
                .entry(event.clone())
                .or_insert_with(|| locator_headers(&vs.manifest, &d.headers));
            found.unknown.entry(event.clone()).or_default().push(doc);
            found
                .unknown_ids
                .entry(event.clone())
                .or_default()
                .push(d.id);
            out.drifted += 1;
            continue;
        };
        if found.examine(&vs, es, &doc)? {
            out.drifted += 1;
            if sampled.insert(event.clone()) {
                out.samples.push(NewSample {
                    event: event.clone(),
                    path: PathBuf::from("samples").join(&es.slug).join("drift-1.json"),
                    body: redactor.redact(&doc, ""),
                    headers: locator_headers(&vs.manifest, &d.headers),
                });
            }
        }
    }
    // New events get stems no event file or sample directory has (one left
    // by an event whose schema is gone would mix its samples with theirs).
    let files = crate::infer::EventFiles::of(&dir.join("events"), samples);
    found.finish(&mut out, &mut redactor, files);
    patch_twins(&vs, &mut out.patches);
    Ok(out)
}

/// Of `headers`, those `manifest`'s event type and id are read from.
fn locator_headers(manifest: &Manifest, headers: &[(String, String)]) -> Vec<(String, String)> {
    let names: Vec<&str> = manifest.headers_read().collect();
    headers
        .iter()
        .filter(|(name, _)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .cloned()
        .collect()
}

/// Whether `doc` has a field or value `hookforge check` puts in
/// (`x_hookforge_…`, `hookforge_undocumented_value`): deliveries stored
/// before `serve` kept [`hookforge_core::CHECK_HEADER`].
fn holds_check_marks(doc: &Value) -> bool {
    match doc {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.starts_with("x_hookforge_") || holds_check_marks(v)),
        Value::Array(a) => a.iter().any(holds_check_marks),
        Value::String(s) => s.starts_with("hookforge_undocumented"),
        _ => false,
    }
}

/// A definition may stand, identically, in an event file and in
/// `definitions.json` (the loader takes that, and refuses the two once they
/// differ). Every copy gets the same ops: all of them, from every copy, in
/// one order; so the copies stay identical, or the applied directory would
/// no longer load.
fn patch_twins(vs: &VendorSchemas, patches: &mut BTreeMap<PathBuf, Vec<PatchOp>>) {
    let mut holders: Vec<(PathBuf, &Map<String, Value>)> =
        vec![(PathBuf::from("definitions.json"), &vs.definitions)];
    for es in &vs.events {
        if let Some(defs) = es.schema.get("definitions").and_then(Value::as_object) {
            holders.push((
                PathBuf::from("events").join(format!("{}.json", es.slug)),
                defs,
            ));
        }
    }
    let names: BTreeSet<&String> = holders.iter().flat_map(|(_, d)| d.keys()).collect();
    for name in names {
        let prefix = format!("/definitions/{}", crate::manifest::escape_token(name));
        let under = |op: &PatchOp| {
            op.path == prefix
                || op
                    .path
                    .strip_prefix(&prefix)
                    .is_some_and(|r| r.starts_with('/'))
        };
        // Copies of one value; a name defined differently is refused by the
        // loader, so there is at most one such group.
        let Some(first) = holders.iter().find_map(|(_, d)| d.get(name)) else {
            continue;
        };
        let twins: Vec<&PathBuf> = holders
            .iter()
            .filter(|(_, d)| d.get(name) == Some(first))
            .map(|(f, _)| f)
            .collect();
        if twins.len() < 2 {
            continue;
        }
        let mut merged: Vec<PatchOp> = Vec::new();
        for file in &twins {
            for op in patches
                .get(*file)
                .into_iter()
                .flatten()
                .filter(|o| under(o))
            {
                merge_op(&mut merged, op);
            }
        }
        if merged.is_empty() {
            continue;
        }
        for file in twins {
            let ops = patches.entry(file.clone()).or_default();
            ops.retain(|o| !under(o));
            ops.extend(merged.iter().cloned());
            // Parents before children, as the ops of one file are kept
            // (stable: ops at one path keep their order in every copy).
            ops.sort_by(|a, b| a.path.cmp(&b.path));
        }
    }
}

/// What the deliveries showed so far.
#[derive(Default)]
struct Findings {
    /// Ops by (file, path): later evidence merges into earlier proposals.
    ops: BTreeMap<(PathBuf, String), PatchOp>,
    /// New keys: their values, to infer one schema from all of them.
    new_keys: BTreeMap<(PathBuf, String), (String, Vec<Value>)>,
    /// Deliveries of undocumented events, by event type.
    unknown: BTreeMap<String, Vec<Value>>,
    unknown_ids: BTreeMap<String, Vec<i64>>,
    /// The first delivery's headers the type and id are read from, per new event.
    unknown_headers: BTreeMap<String, Vec<(String, String)>>,
    /// The deliveries behind each op and new key, by the same keys.
    evidence: BTreeMap<(PathBuf, String), BTreeSet<i64>>,
    /// The delivery being examined.
    current: i64,
}

impl Findings {
    /// Records what one delivery of a documented event shows; whether it
    /// showed anything new.
    fn examine(
        &mut self,
        vs: &VendorSchemas,
        es: &crate::manifest::vendor_dir::EventSchema,
        doc: &Value,
    ) -> Result<bool, Error> {
        let root = SchemaPlace {
            file: PathBuf::from("events").join(format!("{}.json", es.slug)),
            ptr: String::new(),
            node: &es.schema,
        };
        let defs = &Defs {
            own: es.schema.get("definitions").and_then(Value::as_object),
            own_file: root.file.clone(),
            shared: &vs.definitions,
        };
        let before = self.ops.len() + self.new_keys.len();
        let seen_before: BTreeMap<(PathBuf, String), usize> = self
            .new_keys
            .iter()
            .map(|(k, v)| (k.clone(), v.1.len()))
            .collect();
        let validator = jsonschema::draft7::new(&vs.bundled(es)).map_err(|e| Error::Schema {
            file: root.file.clone(),
            event: es.name.clone(),
            message: e.to_string(),
        })?;
        for err in validator.iter_errors(doc) {
            if let Some((place, keyword)) = locate(&err, &root, defs)
                && let Some(key) = self.record(&err, &place, &keyword, &es.name)
            {
                self.evidence.entry(key).or_default().insert(self.current);
            }
        }
        walk_new_keys(&root.resolved(defs), defs, doc, &mut self.new_keys);
        let mut grew = false;
        for (key, (_, values)) in &self.new_keys {
            if seen_before.get(key).copied().unwrap_or(0) < values.len() {
                grew = true;
                self.evidence
                    .entry(key.clone())
                    .or_default()
                    .insert(self.current);
            }
        }
        Ok(self.ops.len() + self.new_keys.len() > before || grew)
    }

    /// The patch op one validation error asks for, merged into what earlier
    /// deliveries asked for at the same place.
    fn record(
        &mut self,
        err: &jsonschema::ValidationError<'_>,
        at: &SchemaPlace<'_>,
        keyword: &str,
        event: &str,
    ) -> Option<(PathBuf, String)> {
        let instance = err.instance().clone().into_owned();
        let place = format!("`{}` of `{event}`", err.instance_path());
        let kw_ptr = format!("{}/{keyword}", at.ptr);
        let key = (at.file.clone(), kw_ptr.clone());
        match err.kind() {
            ValidationErrorKind::Type { .. } => {
                let mut types =
                    merged(&self.ops, &key).unwrap_or_else(|| match at.node.get("type") {
                        Some(Value::Array(a)) => a.clone(),
                        Some(t) => vec![t.clone()],
                        None => vec![],
                    });
                let t = Value::from(json_type(&instance));
                if !types.contains(&t) {
                    types.push(t);
                }
                let why = format!("{place} was {}", describe(&instance));
                self.ops
                    .insert(key.clone(), replace(kw_ptr, Value::Array(types), why));
                Some(key)
            }
            ValidationErrorKind::Required { property } => {
                let mut required =
                    merged(&self.ops, &key).unwrap_or_else(|| array_at(at.node, "required"));
                required.retain(|r| r != property);
                let why = format!("{place} came without {property}");
                self.ops
                    .insert(key.clone(), replace(kw_ptr, Value::Array(required), why));
                Some(key)
            }
            ValidationErrorKind::Enum { .. } => {
                let k = (at.file.clone(), format!("{kw_ptr}/-{instance}"));
                self.ops.entry(k.clone()).or_insert(PatchOp {
                    op: "add",
                    path: format!("{kw_ptr}/-"),
                    value: Some(instance.clone()),
                    why: format!("{place} held the new value {instance}"),
                    deliveries: Vec::new(),
                });
                Some(k)
            }
            // A new branch in a `oneOf` can overlap one it has (`number`
            // beside `integer`): a value both take would then be refused
            // ("valid under more than one"), a change `diff` calls breaking
            // (helper-61). The branches are made an `anyOf`, which takes
            // every value the `oneOf` took, and the branch added there.
            ValidationErrorKind::OneOfNotValid { .. }
                if at.node.get("anyOf").is_none()
                    && !(at.node.get("oneOf").and_then(Value::as_array))
                        .is_some_and(|b| b.contains(&json!({ "type": json_type(&instance) }))) =>
            {
                self.one_of_to_any_of(at, kw_ptr, &place, &instance)
            }
            // The type is a branch already (another constraint failed), or
            // an `anyOf` stands beside: no patch is safe to propose here.
            ValidationErrorKind::OneOfNotValid { .. } => None,
            ValidationErrorKind::AnyOf { .. } => {
                let t = json_type(&instance);
                let k = (at.file.clone(), format!("{kw_ptr}/-{t}"));
                self.ops.entry(k.clone()).or_insert(PatchOp {
                    op: "add",
                    path: format!("{kw_ptr}/-"),
                    value: Some(json!({ "type": t })),
                    why: format!(
                        "{place} was {}, which no branch allows",
                        describe(&instance)
                    ),
                    deliveries: Vec::new(),
                });
                Some(k)
            }
            ValidationErrorKind::Constant { .. } => None,
            // Pattern, format, lengths, bounds: the vendor's real value
            // breaks a constraint we wrote; drop the constraint.
            _ => {
                // The rule, not the value: reasons are printed and kept,
                // and the value may be personal (helper-61).
                let rule = at.node.get(keyword).map(|v| v.to_string());
                let why = format!(
                    "{place} does not meet `{keyword}: {}`",
                    rule.unwrap_or_default()
                );
                self.ops.entry(key.clone()).or_insert(PatchOp {
                    op: "remove",
                    path: kw_ptr,
                    value: None,
                    why,
                    deliveries: Vec::new(),
                });
                Some(key)
            }
        }
    }

    /// A `oneOf` no branch of which takes `instance`: the branches become an
    /// `anyOf` with the instance's type added, the `oneOf` removed.
    fn one_of_to_any_of(
        &mut self,
        at: &SchemaPlace<'_>,
        kw_ptr: String,
        place: &str,
        instance: &Value,
    ) -> Option<(PathBuf, String)> {
        let t = json_type(instance);
        let k = (at.file.clone(), format!("{}/anyOf", at.ptr));
        let mut branches = merged(&self.ops, &k).unwrap_or_else(|| array_at(at.node, "oneOf"));
        let branch = json!({ "type": t });
        if !branches.contains(&branch) {
            branches.push(branch);
        }
        let why = format!(
            "{place} was {}, which no branch allows (the `oneOf` becomes an `anyOf`, so no value two branches take is refused)",
            describe(instance)
        );
        self.ops.insert(
            k.clone(),
            add_op(format!("{}/anyOf", at.ptr), Value::Array(branches), why),
        );
        let gone = (at.file.clone(), kw_ptr.clone());
        self.ops.entry(gone).or_insert(PatchOp {
            op: "remove",
            path: kw_ptr,
            value: None,
            why: "replaced by the `anyOf` beside it".into(),
            deliveries: Vec::new(),
        });
        Some(k)
    }

    /// The proposal: one schema inferred per new key, the ops per file,
    /// a schema and a redacted sample per undocumented event.
    fn finish(
        mut self,
        out: &mut Proposal,
        redactor: &mut Redactor,
        mut files: crate::infer::EventFiles,
    ) {
        let mut ops = self.ops;
        for ((file, path), (key, values)) in self.new_keys {
            let mut schema = crate::infer::infer(&key, &values);
            // Its definitions (objects of one shape seen twice) would sit
            // under the new property, where `#/definitions/…` does not
            // reach them: the patched file did not load (helper-61).
            inline_definitions(&mut schema);
            if let Value::Object(o) = &mut schema {
                o.remove("$schema");
                o.remove("title");
                let seen = format!(
                    "Not in the docs; seen in {} stored deliveries.",
                    values.len()
                );
                o.insert("description".into(), seen.into());
            }
            let why = format!("the key `{key}` arrived {} time(s)", values.len());
            ops.insert(
                (file, path.clone()),
                PatchOp {
                    op: "add",
                    path,
                    value: Some(schema),
                    why,
                    deliveries: Vec::new(),
                },
            );
        }
        for (key, mut op) in ops {
            op.deliveries = self
                .evidence
                .get(&key)
                .map(|ids| ids.iter().copied().collect())
                .unwrap_or_default();
            out.patches.entry(key.0).or_default().push(op);
        }
        for (event, docs) in self.unknown {
            let slug = files.stem(&event);
            out.new_events
                .insert(event.clone(), crate::infer::infer(&event, &docs));
            out.new_event_files.insert(
                event.clone(),
                PathBuf::from("events").join(format!("{slug}.json")),
            );
            if let Some(ids) = self.unknown_ids.get(&event) {
                out.new_event_deliveries.insert(event.clone(), ids.clone());
            }
            out.samples.push(NewSample {
                path: PathBuf::from("samples").join(slug).join("drift-1.json"),
                headers: self.unknown_headers.remove(&event).unwrap_or_default(),
                event,
                body: redactor.redact(&docs[0], ""),
            });
        }
    }
}

/// `schema` with its own `definitions` written in place of the refs to
/// them (an inferred schema has no recursive ones).
fn inline_definitions(schema: &mut Value) {
    let Some(Value::Object(defs)) = schema.as_object_mut().and_then(|o| o.remove("definitions"))
    else {
        return;
    };
    fn inline(v: &mut Value, defs: &Map<String, Value>, depth: usize) {
        if let Some(def) = (v.get("$ref").and_then(Value::as_str))
            .and_then(|r| r.strip_prefix("#/definitions/"))
            .and_then(|name| defs.get(&crate::manifest::unescape_token(name)))
            .filter(|_| depth < 64)
        {
            *v = def.clone();
            return inline(v, defs, depth + 1);
        }
        match v {
            Value::Object(o) => o.values_mut().for_each(|c| inline(c, defs, depth)),
            Value::Array(a) => a.iter_mut().for_each(|c| inline(c, defs, depth)),
            _ => {}
        }
    }
    inline(schema, &defs, 0);
}

fn add_op(path: String, value: Value, why: String) -> PatchOp {
    PatchOp {
        op: "add",
        path,
        value: Some(value),
        why,
        deliveries: Vec::new(),
    }
}

fn replace(path: String, value: Value, why: String) -> PatchOp {
    PatchOp {
        op: "replace",
        path,
        value: Some(value),
        why,
        deliveries: Vec::new(),
    }
}

/// Where in the vendor's files a validation error points, and its keyword.
/// Paths are absolute in the bundled document: into the event's own
/// schema, or into the shared definitions.
fn locate<'s>(
    err: &jsonschema::ValidationError<'_>,
    root: &SchemaPlace<'s>,
    defs: &Defs<'s>,
) -> Option<(SchemaPlace<'s>, String)> {
    let tokens: Vec<String> = err
        .schema_path()
        .as_str()
        .split('/')
        .skip(1)
        .map(String::from)
        .collect();
    let (keyword, parent) = tokens.split_last()?;
    let (mut at, parent) = match parent {
        [d, name, rest @ ..] if d == "definitions" => {
            let (file, node) = defs.get(&crate::manifest::unescape_token(name))?;
            let place = SchemaPlace {
                file,
                ptr: format!("/definitions/{name}"),
                node,
            };
            (place, rest)
        }
        _ => (root.clone(), parent),
    };
    for t in parent {
        match at.child(t, defs) {
            Some(next) => at = next,
            None => break,
        }
    }
    Some((at, keyword.clone()))
}

fn describe(v: &Value) -> String {
    match v {
        // Not its text: reasons are printed and kept, and it may be personal.
        Value::String(s) => format!("a string of {} characters", s.chars().count()),
        Value::Object(_) => "an object".into(),
        Value::Array(_) => "an array".into(),
        // Not even a number's value (an amount, a phone number's digits).
        other => json_type(other).to_string(),
    }
}

/// Keys of `doc` that the schema at `at` does not declare, by the place
/// their property would be added.
fn walk_new_keys<'s>(
    at: &SchemaPlace<'s>,
    defs: &Defs<'s>,
    doc: &Value,
    out: &mut BTreeMap<(PathBuf, String), (String, Vec<Value>)>,
) {
    match doc {
        Value::Object(o) => {
            let Some(props) = at.node.get("properties").and_then(Value::as_object) else {
                // A map (`additionalProperties` schema) or an untyped object: data.
                return;
            };
            for (k, v) in o {
                if props.contains_key(k) {
                    if let Some(child) = at
                        .child("properties", defs)
                        .and_then(|p| p.child(&crate::manifest::escape_token(k), defs))
                    {
                        walk_new_keys(&child.resolved(defs), defs, v, out);
                    }
                } else {
                    let e = out
                        .entry((
                            at.file.clone(),
                            format!("{}/properties/{}", at.ptr, crate::manifest::escape_token(k)),
                        ))
                        .or_insert_with(|| (k.clone(), Vec::new()));
                    e.1.push(v.clone());
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = at.child("items", defs) {
                let items = items.resolved(defs);
                for v in a {
                    walk_new_keys(&items, defs, v, out);
                }
            }
        }
        _ => {}
    }
    // Nullable wrappers: the object branch of an `anyOf`.
    if let (Value::Object(_), Some(Value::Array(branches))) = (doc, at.node.get("anyOf"))
        && at.node.get("properties").is_none()
    {
        for (i, b) in branches.iter().enumerate() {
            if b.get("type").and_then(Value::as_str) == Some("null") {
                continue;
            }
            if let Some(branch) = at
                .child("anyOf", defs)
                .and_then(|x| x.child(&i.to_string(), defs))
            {
                walk_new_keys(&branch.resolved(defs), defs, doc, out);
                break;
            }
        }
    }
}

/// A `…name` key whose word before `name` is one of these names a thing,
/// not a person (`fileName`, HubSpot's `propertyName`, `company_name`);
/// matched on that word, so `applicantName` or `objectOwnerName` is still a
/// person's.
const NOT_A_PERSON: &[&str] = &[
    "file",
    "event",
    "type",
    "property",
    "field",
    "object",
    "app",
    "host",
    "domain",
    "company",
    "product",
    "workflow",
    "repo",
    "repository",
    "environment",
    "tag",
    "branch",
    "plan",
    "org",
    "organization",
    "team",
    "project",
    "label",
    "job",
    "step",
    "package",
    "service",
    "queue",
    "topic",
    "table",
    "template",
    "channel",
    "group",
    "category",
    "brand",
    "store",
    "shop",
    "site",
    "model",
    "variant",
    "feature",
    "price",
    "item",
    "license",
    "region",
    "zone",
    "bucket",
    "key",
    "schema",
    "list",
    "campaign",
    "form",
    "page",
    "status",
    "state",
    "stage",
];

/// Objects whose bare `name` is a thing's (a repository's, a plan's), not a
/// person's; under any other, `name` is taken for a person's.
const THINGS: &[&str] = &[
    "repository",
    "repo",
    "project",
    "product",
    "plan",
    "price",
    "company",
    "organization",
    "org",
    "team",
    "workflow",
    "workflow_run",
    "workflow_job",
    "environment",
    "label",
    "labels",
    "branch",
    "tag",
    "file",
    "app",
    "installation",
    "event",
    "package",
    "release",
    "milestone",
    "check_run",
    "check_suite",
    "deployment",
    "job",
    "step",
    "steps",
    "item",
    "items",
    "line_item",
    "line_items",
    "category",
    "store",
    "shop",
    "channel",
    "webhook",
    "hook",
    "integration",
    "license",
    "subscription",
    "variant",
    "pipeline",
    "stage",
    "field",
    "fields",
    "property",
    "properties",
    "object",
    "status",
    "state",
    "type",
    "board",
    "list",
    "card",
    "column",
    "space",
    "folder",
    "currency",
    "country",
    "region",
    "zone",
    "queue",
    "topic",
];

/// Keys (lowercased, `_` and `-` dropped) whose values are credentials or
/// identify a person or machine however they look.
fn secret_key(k: &str) -> bool {
    let k: String = k.chars().filter(|c| *c != '_' && *c != '-').collect();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "apikey",
        "authorization",
        "signature",
        "privatekey",
        "accesskey",
        "iban",
        "cvv",
        "ssn",
        "cardnumber",
    ]
    .iter()
    .any(|w| k.contains(w))
        || matches!(k.as_str(), "key" | "ip" | "pin" | "bic")
        || k.ends_with("ipaddress")
}

/// What a string is, for redaction.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Email,
    Phone,
    Name,
    Handle,
    Id,
    Secret,
}

/// Replaces personal data and credentials consistently: the same value
/// always becomes the same replacement, a replacement keeps the value's
/// shape (a UUID stays a UUID, digits stay digits of the same length, an
/// id keeps its prefix), and a person's e-mail, handle or name met inside
/// other text (a URL, a note) is replaced there too.
#[derive(Default)]
pub struct Redactor {
    seen: HashMap<String, String>,
    /// Values replaced that may also stand inside other strings.
    spread: Vec<(String, String)>,
}

impl Redactor {
    /// `v` redacted; `key` is the member name it was found under ("" for
    /// a whole document).
    pub fn redact(&mut self, v: &Value, key: &str) -> Value {
        let mut out = self.value(v, key, "");
        self.spread
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        self.spread.dedup();
        let spread = std::mem::take(&mut self.spread);
        spread_into(&mut out, &spread);
        self.spread = spread;
        out
    }

    fn value(&mut self, v: &Value, key: &str, parent: &str) -> Value {
        // Everything under a credential's key is the credential's
        // (`"token": {"value": …}`), numbers included (`"pin": 1234`).
        if secret_key(&key.to_ascii_lowercase()) {
            return self.secret(v);
        }
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, c)| (k.clone(), self.value(c, k, key)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|c| self.value(c, key, parent)).collect()),
            Value::String(s) => Value::String(self.string(s, key, parent)),
            Value::Number(n) if phone_key(&key.to_ascii_lowercase()) => same_digits(n),
            other => other.clone(),
        }
    }

    /// A credential's value, whatever its shape: strings and numbers
    /// replaced, the structure kept.
    fn secret(&mut self, v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, c)| (k.clone(), self.secret(c))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(|c| self.secret(c)).collect()),
            Value::String(s) => Value::String(self.replaced(s, Kind::Secret)),
            Value::Number(n) => same_digits(n),
            other => other.clone(),
        }
    }

    fn kind(text: &str, key: &str, parent: &str) -> Option<Kind> {
        let k = key.to_ascii_lowercase();
        if is_address(text) {
            return Some(Kind::Email);
        }
        if secret_key(&k) {
            return Some(Kind::Secret);
        }
        if phone_key(&k) {
            return Some(Kind::Phone);
        }
        if matches!(
            k.as_str(),
            "login" | "username" | "user_name" | "handle" | "screen_name"
        ) {
            return Some(Kind::Handle);
        }
        // A thing's names are all a thing's (a repository's `full_name`).
        let things = THINGS.contains(&parent.to_ascii_lowercase().as_str());
        let person_name = match k.strip_suffix("name") {
            Some(_) if things => false,
            Some("") => true,
            Some(whose) => {
                let whose = whose.trim_end_matches(['_', '-']);
                !NOT_A_PERSON.iter().any(|thing| whose.ends_with(thing))
            }
            None => k.ends_with("person") || matches!(k.as_str(), "author" | "owner" | "assignee"),
        };
        if person_name && !text.is_empty() {
            return Some(Kind::Name);
        }
        if k == "id" || k.ends_with("id") || k.ends_with("number") {
            return Some(Kind::Id);
        }
        None
    }

    fn string(&mut self, text: &str, key: &str, parent: &str) -> String {
        match Self::kind(text, key, parent) {
            Some(kind) => self.replaced(text, kind),
            None => self.free_text(text),
        }
    }

    /// `text` replaced as a value of `kind`, the same way every time.
    fn replaced(&mut self, text: &str, kind: Kind) -> String {
        if let Some(r) = self.seen.get(text) {
            return r.clone();
        }
        let n = self.seen.len() + 1;
        let r = match kind {
            Kind::Email => format!("person{n}@example.com"),
            Kind::Name => format!("Person {n}"),
            Kind::Handle => format!("user{n}"),
            Kind::Id => same_shape(text, true),
            Kind::Phone | Kind::Secret => same_shape(text, false),
        };
        // Met again inside other text (a profile URL, a callback's query):
        // addresses, logins and long credentials; a name is too often a
        // word (`main`) to replace inside others.
        let spreads = match kind {
            Kind::Email | Kind::Handle => text.len() >= 4,
            Kind::Secret => text.len() >= 8,
            _ => false,
        };
        if spreads {
            self.spread.push((text.to_string(), r.clone()));
        }
        self.seen.insert(text.to_string(), r.clone());
        r
    }

    /// Text that is none of the above: the e-mail addresses and phone
    /// numbers inside it replaced (`write to jane@doe.dev`, `?email=…`).
    fn free_text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((start, end, kind)) = next_contact(rest) {
            out.push_str(&rest[..start]);
            let found = &rest[start..end];
            let r = match self.seen.get(found) {
                Some(r) => r.clone(),
                None => {
                    let n = self.seen.len() + 1;
                    let r = match kind {
                        Kind::Email => format!("person{n}@example.com"),
                        _ => same_shape(found, false),
                    };
                    self.seen.insert(found.to_string(), r.clone());
                    r
                }
            };
            out.push_str(&r);
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }
}

/// Whether `s` is one e-mail address.
fn is_address(s: &str) -> bool {
    next_contact(s).is_some_and(|(a, b, k)| a == 0 && b == s.len() && k == Kind::Email)
}

/// The first e-mail address or phone number in `s`: its byte range.
fn next_contact(s: &str) -> Option<(usize, usize, Kind)> {
    let email = s
        .char_indices()
        .filter(|(_, c)| *c == '@')
        .find_map(|(at, _)| {
            // What people's addresses hold: not `/`, `=` or `?`, so an
            // address in a URL's query is found without the URL before it.
            let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
            let host = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
            // After the character that ends the address's start: it may be
            // several bytes (`josé.garcia@…`, `«jane@…»`).
            let start = s[..at]
                .rfind(|c: char| !local(c))
                .map_or(0, |i| i + s[i..].chars().next().map_or(1, char::len_utf8));
            let end = s[at + 1..]
                .find(|c: char| !host(c))
                .map_or(s.len(), |i| at + 1 + i);
            let end = start.max(at + 1 + s[at + 1..end].trim_end_matches('.').len());
            let domain = &s[at + 1..end];
            let tld = domain.rsplit('.').next().unwrap_or("");
            (start < at
                && domain.contains('.')
                && tld.len() >= 2
                && tld.chars().all(|c| c.is_ascii_alphabetic()))
            .then_some((start, end, Kind::Email))
        });
    let phone = phone_in(s).map(|(a, b)| (a, b, Kind::Phone));
    match (email, phone) {
        (Some(e), Some(p)) => Some(if p.0 < e.0 { p } else { e }),
        (e, p) => e.or(p),
    }
}

/// A phone number inside text: a `+` or digit, then digits with the
/// separators people write (spaces, `-`, `.`, parentheses), 9 to 15
/// digits, with a separator or a leading `+` (a bare run of digits is an
/// id or a time, not a number someone dials).
fn phone_in(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let starts = (b[i] == b'+' || b[i] == b'(' || b[i].is_ascii_digit())
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if starts {
            let (mut j, mut digits, mut last_digit, mut separated) = (i, 0, i, b[i] == b'+');
            while j < b.len() && (b[j].is_ascii_digit() || b"+ -.()".contains(&b[j])) {
                if b[j].is_ascii_digit() {
                    digits += 1;
                    last_digit = j;
                } else if j > i {
                    separated = true;
                }
                j += 1;
            }
            let ends = last_digit + 1 == b.len() || !b[last_digit + 1].is_ascii_alphanumeric();
            let found = &s[i..last_digit + 1];
            if (9..=15).contains(&digits) && separated && ends && !date_or_amount(found) {
                return Some((i, last_digit + 1));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// A date (`2026-12-06 07`) or an amount (`1234567.89`), which a run of
/// digits and separators may also be: not a phone number.
fn date_or_amount(found: &str) -> bool {
    let b = found.as_bytes();
    let date = b.windows(10).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..].iter().all(u8::is_ascii_digit)
    });
    let separators: Vec<u8> = b.iter().copied().filter(|c| !c.is_ascii_digit()).collect();
    date || separators == [b'.']
}

/// Every string in `v` with each `(found, replacement)` replaced inside
/// it, longest first: a login inside its profile URL, an address in a note.
fn spread_into(v: &mut Value, spread: &[(String, String)]) {
    crate::util::each_string_mut(v, &mut |s: &mut String| {
        for (found, r) in spread {
            if s.contains(found.as_str()) {
                *s = replace_bounded(s, found, r);
            }
        }
    });
}

/// `s` with `found` replaced where it stands on its own: between the
/// separators of a URL, a query or text, so a login `api` leaves
/// `api.github.com` alone and `wolfy1339` goes out of `/users/wolfy1339`.
fn replace_bounded(s: &str, found: &str, by: &str) -> String {
    let before = |c: Option<char>| c.is_none_or(|c| "/@ \"'(=:,;<[{".contains(c));
    let after = |c: Option<char>| c.is_none_or(|c| "/?#& \"'),;:>]}".contains(c));
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(found) {
        let end = at + found.len();
        let ok = before(rest[..at].chars().next_back()) && after(rest[end..].chars().next());
        out.push_str(&rest[..at]);
        out.push_str(if ok { by } else { found });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Keys whose values are phone numbers.
fn phone_key(k: &str) -> bool {
    k.contains("phone") || k.contains("mobile") || k == "tel" || k == "fax"
}

/// A number replaced by one with as many digits (a PIN, a phone number
/// sent as a number); the same number the same way, not kept.
fn same_digits(n: &serde_json::Number) -> Value {
    let text = n.to_string();
    let digits: String = same_shape(&text, false);
    serde_json::from_str(&digits)
        .ok()
        .filter(|v: &Value| v.is_number())
        .unwrap_or_else(|| Value::from(0))
}

/// The same shape: a type prefix (`evt_`, `apikey_`, `GHSA-`) kept, and
/// every other character replaced by one of the same class, taken from the
/// value itself for an id (`own`: it keeps its alphabet, a ULID stays
/// Crockford base32, a UUID stays hex) and from the whole class for a
/// secret or phone number (its own characters would give it away), and
/// its length.
fn same_shape(text: &str, own: bool) -> String {
    let h = crate::util::sha256_hex(text.as_bytes());
    let mut hex = h.chars().cycle();
    // An id's type prefix is kept; a secret's is not (`letmein-2024`).
    let keep = text
        .find(['_', '-'])
        .filter(|&i| own && i <= 8 && i > 0 && text[..i].chars().all(|c| c.is_ascii_alphabetic()))
        .map_or(0, |i| i + 1);
    let class = |c: char| -> u8 {
        if c.is_ascii_digit() {
            0
        } else if c.is_ascii_uppercase() {
            1
        } else if c.is_ascii_lowercase() {
            2
        } else {
            3
        }
    };
    let pools: Vec<Vec<char>> = match own {
        true => (0..3)
            .map(|k| text[keep..].chars().filter(|c| class(*c) == k).collect())
            .collect(),
        false => vec![
            ('0'..='9').collect(),
            ('A'..='Z').collect(),
            ('a'..='z').collect(),
        ],
    };
    let mut out: String = text[..keep].to_string();
    for c in text[keep..].chars() {
        let k = class(c);
        let pool = pools.get(usize::from(k)).filter(|p| !p.is_empty());
        out.push(match pool {
            Some(p) => {
                let x = hex.next().and_then(|x| x.to_digit(16)).unwrap_or(0) as usize * 16
                    + hex.next().and_then(|x| x.to_digit(16)).unwrap_or(0) as usize;
                p[x % p.len()]
            }
            None => c,
        });
    }
    out
}

/// Applies a patch to a schema file's text, keeping its key order.
pub use crate::document::apply;

/// The array `node` holds under `keyword`; empty if none.
fn array_at(node: &Value, keyword: &str) -> Vec<Value> {
    node.get(keyword)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The array an earlier delivery's op already set at `key`, to add to.
fn merged(
    ops: &BTreeMap<(PathBuf, String), PatchOp>,
    key: &(PathBuf, String),
) -> Option<Vec<Value>> {
    match ops.get(key) {
        Some(PatchOp {
            value: Some(Value::Array(a)),
            ..
        }) => Some(a.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new sample of a vendor that sends its event type and id in headers
    /// carries those headers (for its `.headers` file), and no other: without
    /// them it could be neither parsed nor inferred from again (helper-67's
    /// review: `drift --apply` wrote GitHub-style samples bare).
    #[test]
    fn a_new_sample_keeps_the_headers_its_type_and_id_are_read_from() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vendors/github");
        let header = |k: &str, v: &str| (k.to_string(), v.to_string());
        let seen = Observed {
            id: 7,
            event_type: "brand_new".into(),
            body: br#"{"zen": "new"}"#.to_vec(),
            headers: vec![
                header("User-Agent", "GitHub-Hookshot/1"),
                header("x-github-event", "brand_new"),
                header("X-GitHub-Delivery", "d-1"),
            ],
        };
        let p = propose(&dir, &dir.join("samples"), &[seen]).unwrap();
        assert_eq!(p.samples.len(), 1, "{p:?}");
        assert_eq!(
            p.samples[0].headers,
            [
                header("x-github-event", "brand_new"),
                header("X-GitHub-Delivery", "d-1")
            ]
        );
    }

    /// A stored delivery serde_json cannot hold (quarantined as JSON beyond
    /// it) is counted as left out, not read as "no drift".
    #[test]
    fn json_beyond_serde_json_is_counted_as_left_out() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/prets");
        let body = br#"{"type": "quote.created", "x": "cut \ud83d"}"#.to_vec();
        let seen = Observed {
            id: 1,
            event_type: "quote.created".into(),
            body,
            headers: vec![],
        };
        let p = propose(&dir, &dir.join("samples"), &[seen]).unwrap();
        assert_eq!((p.deliveries, p.drifted, p.unreadable), (1, 0, 1));
    }

    /// helper-61's review: credentials, addresses and numbers inside text,
    /// and logins inside URLs were kept; company and product names became
    /// "Person N", an address in a URL made the URL an address, and id
    /// prefixes (`apikey_`, `GHSA-`) were lost.
    #[test]
    fn redaction_covers_credentials_and_text_and_spares_things() {
        let mut r = Redactor::default();
        let doc = json!({
            "api_token": "tok_live_9f8e7d6c5b4a", "authorization": "Bearer eyJhbGciOi",
            "password": "hunter2", "iban": "DE89370400440532013000", "ip": "203.0.113.7",
            "notes": "Call +1-202-555-0143 or write to jane@doe.dev",
            "url": "https://acme.test/orders/1?email=jane@doe.dev",
            "company_name": "Acme GmbH", "product_name": "Pro plan",
            "contact_person": "Jane Q. Doe",
            "sender": {"login": "wolfy1339", "html_url": "https://github.com/wolfy1339", "name": "Wolfy"},
            "repository": {"name": "Hello-World", "full_name": "Codertocat/Hello-World"},
            "advisory": {"ghsa_id": "GHSA-c2qf-rxjj-qqgw"},
            "key_id": "apikey_01h04vsc0qhwtsbsxh3422wjs4",
            "amount": "1500", "created_at": "2026-12-06T07:00:00Z", "order": "1670945968441"
        });
        let out = r.redact(&doc, "");
        let text = out.to_string();
        for secret in [
            "tok_live_9f8e7d6c5b4a",
            "eyJhbGciOi",
            "hunter2",
            "DE89370400440532013000",
            "203.0.113.7",
            "202-555-0143",
            "jane@doe.dev",
            "Jane Q. Doe",
            "wolfy1339",
            "Wolfy",
        ] {
            assert!(!text.contains(secret), "{secret} in {out:#}");
        }
        assert!(
            out["notes"].as_str().unwrap().starts_with("Call +"),
            "{out:#}"
        );
        assert!(
            out["url"]
                .as_str()
                .unwrap()
                .starts_with("https://acme.test/orders/1?email=person"),
            "{out:#}"
        );
        assert!(
            out["sender"]["html_url"]
                .as_str()
                .unwrap()
                .starts_with("https://github.com/user"),
            "{out:#}"
        );
        for (at, kept) in [
            ("/company_name", "Acme GmbH"),
            ("/product_name", "Pro plan"),
            ("/repository/name", "Hello-World"),
            ("/amount", "1500"),
            ("/created_at", "2026-12-06T07:00:00Z"),
            ("/order", "1670945968441"),
        ] {
            assert_eq!(out.pointer(at).unwrap(), kept, "{at}");
        }
        assert!(
            out["advisory"]["ghsa_id"]
                .as_str()
                .unwrap()
                .starts_with("GHSA-")
        );
        assert!(out["key_id"].as_str().unwrap().starts_with("apikey_"));
        assert_eq!(out["password"].as_str().unwrap().len(), 7);
    }

    /// helper-62's review of the redactor above: a multi-byte character
    /// before an address panicked; credentials under objects or as numbers,
    /// and inside URLs, were kept, and a secret's prefix too; dates and
    /// amounts were taken for phone numbers; a name replaced inside other
    /// words.
    #[test]
    fn redaction_is_safe_on_text_and_thorough_on_credentials() {
        let mut r = Redactor::default();
        let token = "tok_9f8e7d6c5b4a3f2e";
        let doc = json!({
            "email": "josé.garcia@example.com", "notes": "Kontakt: «jane@doe.dev»",
            "pin": 1234, "token": {"value": "abcdefgh"}, "password": "letmein-2024",
            "auth_token": token, "callback_url": format!("https://x.test/cb?access_token={token}"),
            "fired_at": "2026-12-06 07:00:00", "total": "1234567.89",
            "rule": {"name": "main"}, "ref": "refs/heads/main",
            "sender": {"login": "api"}, "api_url": "https://api.github.com/repos"
        });
        let out = r.redact(&doc, "");
        let text = out.to_string();
        for gone in ["garcia", "jane@doe.dev", "abcdefgh", "letmein", token] {
            assert!(!text.contains(gone), "{gone} in {out:#}");
        }
        assert_ne!(out["pin"], 1234);
        assert!(out["pin"].is_number());
        assert!(
            out["notes"]
                .as_str()
                .unwrap()
                .starts_with("Kontakt: «person"),
            "{out:#}"
        );
        for (at, kept) in [
            ("/fired_at", "2026-12-06 07:00:00"),
            ("/total", "1234567.89"),
            ("/ref", "refs/heads/main"),
            ("/api_url", "https://api.github.com/repos"),
        ] {
            assert_eq!(out.pointer(at).unwrap(), kept, "{at}: {out:#}");
        }
    }

    #[test]
    fn redaction_is_consistent_and_keeps_shapes() {
        let mut r = Redactor::default();
        let out = r.redact(
            &json!({
                "a": {"email": "jane@acme.io", "contactName": "Jane Doe", "eventId": "evt_01KV5A8SA0QW9DEY41RCGFNJA8", "phone": "+1 (555) 010-2233", "propertyName": "dealstage"},
                "b": {"owner": "jane@acme.io", "id": "1fc5752a-6de8-412d-847a-12d5529a0ec6", "eventType": "quote.created", "applicantName": "John Roe"}
            }),
            "",
        );
        assert_eq!(out["a"]["email"], out["b"]["owner"]);
        // Numbered in the order met (keys sorted): the name first.
        assert_eq!(out["a"]["contactName"], "Person 1");
        // The name of a schema's field is no person's (HubSpot's
        // `propertyName`, helper-56's review).
        assert_eq!(out["a"]["propertyName"], "dealstage");
        assert!(
            out["b"]["applicantName"]
                .as_str()
                .unwrap()
                .starts_with("Person ")
        );
        assert_eq!(out["a"]["email"], "person2@example.com");
        let id = out["a"]["eventId"].as_str().unwrap();
        assert!(id.starts_with("evt_") && id.len() == 30 && id != "evt_01KV5A8SA0QW9DEY41RCGFNJA8");
        let phone = out["a"]["phone"].as_str().unwrap();
        assert_ne!(phone, "+1 (555) 010-2233");
        assert_eq!(phone.len(), "+1 (555) 010-2233".len());
        let uuid = out["b"]["id"].as_str().unwrap();
        assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) && uuid.len() == 36);
        assert_eq!(out["b"]["eventType"], "quote.created");
    }
}
