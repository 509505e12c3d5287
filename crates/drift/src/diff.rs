//! What changed between two versions of a vendor, for a receiver that keeps
//! everything it is sent: every change in the manifest and the event
//! schemas, each classed as breaking (an event or field removed, a field
//! made required, a type or enum narrowed, the auth or the event type/id
//! location changed) or compatible (an event, field or enum value added, a
//! type widened, a field made optional), and the old samples replayed
//! against the new schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Error;
use crate::manifest::vendor_dir::{VendorSchemas, bundle};

/// How a change affects a lossless receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Breaking,
    Compatible,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub class: Class,
    /// The event (or `manifest`).
    pub event: String,
    /// Where in the payload (`data.quoteId`), or the manifest field.
    pub path: String,
    pub what: String,
    /// The other places the same shared definition is reached from (it is
    /// compared once, at `path`): the change holds there too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_at: Vec<String>,
}

/// An old sample that no longer validates against the new schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Misfit {
    pub sample: String,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub changes: Vec<Change>,
    /// Old samples checked against the new schemas.
    pub samples_checked: usize,
    pub samples_failing: Vec<Misfit>,
}

impl Diff {
    pub fn breaking(&self) -> bool {
        self.changes.iter().any(|c| c.class == Class::Breaking) || !self.samples_failing.is_empty()
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        for c in &self.changes {
            let class = match c.class {
                Class::Breaking => "BREAKING  ",
                Class::Compatible => "compatible",
            };
            s.push_str(&format!(
                "{class} {} {}: {}{}\n",
                c.event,
                c.path,
                c.what,
                also_at(&c.also_at)
            ));
        }
        for m in &self.samples_failing {
            s.push_str(&format!(
                "BREAKING   sample {} no longer validates: {}\n",
                m.sample,
                m.errors.join("; ")
            ));
        }
        let breaking = self
            .changes
            .iter()
            .filter(|c| c.class == Class::Breaking)
            .count();
        s.push_str(&format!(
            "{} changes ({breaking} breaking); {} old samples checked against the new schemas, {} no longer validate\n",
            self.changes.len(),
            self.samples_checked,
            self.samples_failing.len()
        ));
        s
    }
}

/// How many other places a change keeps (a definition reached along
/// every path of a deep tree is reached thousands of ways).
const ALSO_AT_KEPT: usize = 50;

/// " (also at a, b and 3 more places)", or nothing.
fn also_at(places: &[String]) -> String {
    const SHOWN: usize = 3;
    match places.len() {
        0 => String::new(),
        n if n <= SHOWN => format!(" (also at {})", places.join(", ")),
        n => format!(
            " (also at {} and {}{} more places)",
            places[..SHOWN].join(", "),
            if n >= ALSO_AT_KEPT { "at least " } else { "" },
            n - SHOWN
        ),
    }
}

/// A vendor directory as hookforge loads it (the same loader as the
/// generator's and the receiver's), plus its samples
/// (`samples/<event>/*.json` inside it unless given elsewhere).
struct VendorDir {
    /// The manifest as written, to compare field by field.
    manifest: Value,
    definitions: Map<String, Value>,
    events: BTreeMap<String, (PathBuf, Value)>,
    samples: Vec<(String, String, Value)>,
}

/// Refuses sample directories given by the user that name no event.
fn unmatched_sample_dirs(
    dir: &Path,
    events: &[crate::manifest::vendor_dir::EventSchema],
) -> Result<(), Error> {
    let mut unmatched: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::Sample {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !events.iter().any(|e| &e.slug == name))
        .collect();
    if unmatched.is_empty() {
        return Ok(());
    }
    unmatched.sort();
    let expected = events.iter().map(|e| e.slug.clone()).take(5).collect();
    Err(Error::UnmatchedSamples {
        dir: dir.to_path_buf(),
        unmatched,
        expected,
    })
}

impl VendorDir {
    fn load(dir: &Path, samples: Option<&Path>) -> Result<VendorDir, Error> {
        let vs = VendorSchemas::load(dir)?;
        let manifest = serde_json::from_str(&vs.manifest_json).expect("loaded from JSON");
        let samples_dir = samples
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.join("samples"));
        let mut out = VendorDir {
            manifest,
            definitions: vs.definitions,
            events: BTreeMap::new(),
            samples: Vec::new(),
        };
        if samples.is_some() {
            unmatched_sample_dirs(&samples_dir, &vs.events)?;
        }
        for e in vs.events {
            out.samples
                .extend(read_samples(&samples_dir, &e.slug, &e.name)?);
            let file = dir.join("events").join(format!("{}.json", e.slug));
            out.events.insert(e.name, (file, e.schema));
        }
        Ok(out)
    }

    /// The schema with its `$ref`s followed (one level at a time), each
    /// name looked up in the event's own definitions `own`, then the shared.
    fn resolve<'a>(&'a self, own: &'a Map<String, Value>, mut v: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(name) = ref_name(v) else {
                return v;
            };
            match own.get(name).or_else(|| self.definitions.get(name)) {
                Some(d) => v = d,
                None => return v,
            }
        }
        v
    }

    /// A self-contained schema for validators.
    fn bundled(&self, schema: &Value) -> Value {
        bundle(schema, &self.definitions)
    }
}

/// The samples of one event (`(event, "slug/file.json", body)`), sorted by
/// file name; none when the event has no sample directory.
fn read_samples(
    dir: &Path,
    slug: &str,
    event: &str,
) -> Result<Vec<(String, String, Value)>, Error> {
    let Ok(entries) = std::fs::read_dir(dir.join(slug)) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let sample_err = |message: String| Error::Sample {
                path: f.clone(),
                message,
            };
            let text = std::fs::read_to_string(&f).map_err(|e| sample_err(e.to_string()))?;
            let body = serde_json::from_str(&text)
                .map_err(|e| sample_err(format!("not valid JSON: {e}")))?;
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            Ok((event.to_string(), format!("{slug}/{name}"), body))
        })
        .collect()
}

/// The JSON types a schema admits (`None`: any). A `const` counts as its
/// value's type, as hookforge's receiver reads it (another value of that
/// type is drift to keep, not an error).
fn types(s: &Value) -> Option<BTreeSet<String>> {
    let value_type = |v: &Value| match v {
        Value::Number(n) if !n.is_f64() => "integer".to_string(),
        other => crate::manifest::json_type(other).to_string(),
    };
    let mut out = BTreeSet::new();
    match (s.get("type"), s.get("enum"), s.get("const")) {
        (Some(Value::String(t)), ..) => {
            out.insert(t.clone());
        }
        (Some(Value::Array(a)), ..) => {
            out.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
        }
        // An enum alone admits its values' types (it is open), a `const`
        // its value's.
        (None, Some(Value::Array(values)), _) => out.extend(values.iter().map(value_type)),
        (None, _, Some(c)) => {
            out.insert(value_type(c));
        }
        _ => {
            let (_, alts) = ["anyOf", "oneOf"]
                .iter()
                .find_map(|k| Some((k, s.get(*k)?.as_array()?)))?;
            for alt in alts {
                out.extend(types(alt)?);
            }
            return Some(out);
        }
    }
    // An integer is a number too.
    if out.contains("number") {
        out.insert("integer".into());
    }
    Some(out)
}

fn strings(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default()
}

/// Two definitions compared (old, new), whether inside a `oneOf`, and
/// whether the field reaching them is optional.
type Pair = (String, String, bool, bool);

struct Walk<'a> {
    old: &'a VendorDir,
    new: &'a VendorDir,
    /// The event schemas' own definitions (before and after).
    old_own: &'a Map<String, Value>,
    new_own: &'a Map<String, Value>,
    event: &'a str,
    out: &'a mut Vec<Change>,
    /// The definition pairs being compared further up the current path: a
    /// recursive one (a tree's `Node`) is not walked into again.
    within: Vec<(String, String)>,
    /// How many `oneOf` branches the walk is inside: there, what admits more
    /// may make a value match two branches, which `oneOf` refuses.
    in_one_of: usize,
    /// The node compared next is an optional field's: the receiver takes
    /// `null` there whatever its type says (the lenient reading).
    optional: bool,
    /// Definition pairs compared already (and whether inside a `oneOf`):
    /// one referred to from many places is compared once, at the first;
    /// with the path it was compared at and the changes it gave (`out`'s
    /// indices), which the later places are added to.
    /// Keyed also by whether the field is optional: an optional field
    /// takes `null` whatever its definition says, a required one does not.
    /// Kept from one event to the next ([`Walk::key`]): a shared
    /// definition's change is listed once, its other events' places added.
    compared: BTreeMap<Pair, (String, std::ops::Range<usize>)>,
}

/// Keywords that constrain and that hookforge's receiver enforces: one
/// added or changed may refuse a value the old schema took; one removed
/// refuses nothing new.
const ENFORCED: &[&str] = &[
    "contains",
    "additionalItems",
    "propertyNames",
    "dependencies",
    "if",
    "then",
    "else",
];

/// The name a `$ref` to a definition points at.
fn ref_name(v: &Value) -> Option<&str> {
    v.get("$ref")?
        .as_str()?
        .split_once("#/definitions/")
        .map(|(_, n)| n)
}

/// What a branch is, to pair the branches of two versions: the definition
/// it names, else the types it admits.
fn branch_kind(v: &Value) -> String {
    match ref_name(v) {
        Some(name) => format!("ref {name}"),
        None => format!("{:?}", types(v)),
    }
}

/// The branches of `o` and `n` paired: equal ones first, then ones of the
/// same kind, in order; and those of each left over.
fn pair_branches(o: &[Value], n: &[Value]) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
    let mut pairs = Vec::new();
    let (mut old_left, mut new_left): (Vec<usize>, Vec<usize>) =
        ((0..o.len()).collect(), (0..n.len()).collect());
    // Equal first, then of the same kind.
    for by_kind in [false, true] {
        let matches = |a: &Value, b: &Value| {
            if by_kind {
                branch_kind(a) == branch_kind(b)
            } else {
                a == b
            }
        };
        old_left.retain(
            |&i| match new_left.iter().position(|&j| matches(&o[i], &n[j])) {
                Some(k) => {
                    pairs.push((i, new_left.remove(k)));
                    false
                }
                None => true,
            },
        );
    }
    (pairs, old_left, new_left)
}

/// `additionalProperties` as hookforge's receiver reads it: `false`, `true`
/// and `{}` admit any key (new keys are kept, never refused).
fn additional(v: &Value) -> Option<&Value> {
    v.get("additionalProperties")
        .filter(|a| a.as_object().is_some_and(|o| !o.is_empty()))
}

impl Walk<'_> {
    /// A change that leaves what the receiver accepts as it was (a keyword
    /// it does not enforce, an enum value added to an open enum): never
    /// made breaking by the `oneOf` rule.
    fn push_neutral(&mut self, class: Class, path: &str, what: String) {
        let inside = std::mem::take(&mut self.in_one_of);
        self.push(class, path, what);
        self.in_one_of = inside;
    }

    fn push(&mut self, class: Class, path: &str, what: String) {
        let (class, what) = match class {
            Class::Compatible if self.in_one_of > 0 => (
                Class::Breaking,
                format!(
                    "{what} (inside a `oneOf` branch: a value may now match two branches, which `oneOf` refuses)"
                ),
            ),
            class => (class, what),
        };
        self.out.push(Change {
            class,
            event: self.event.to_string(),
            path: if path.is_empty() {
                "(payload)".into()
            } else {
                path.to_string()
            },
            what,
            also_at: Vec::new(),
        });
    }

    fn compare(&mut self, old: &Value, new: &Value, path: &str, depth: usize) {
        let optional = std::mem::take(&mut self.optional);
        if depth > 24 {
            return;
        }
        // `false` takes nothing: made so, a field refuses every value.
        match (old, new) {
            (o, Value::Bool(false)) if o != new => {
                self.push(
                    Class::Breaking,
                    path,
                    "schema made `false`: no value is taken".into(),
                );
                return;
            }
            (Value::Bool(false), n) if n != old => {
                self.push(
                    Class::Compatible,
                    path,
                    "schema was `false`: values are taken now".into(),
                );
                return;
            }
            _ => {}
        }
        let pair = match (ref_name(old), ref_name(new)) {
            (Some(o), Some(n)) => Some((o.to_string(), n.to_string())),
            _ => None,
        };
        let start = self.out.len();
        if let Some((o, n)) = &pair {
            if self.within.contains(&(o.clone(), n.clone())) {
                return;
            }
            let key = self.key(o, n, optional);
            if let Some((first, found)) = self.compared.get(&key) {
                let (first, found) = (first.clone(), found.clone());
                self.note_also_at(&first, found, path);
                return;
            }
            self.compared
                .insert(key, (format!("{} {path}", self.event), start..start));
            self.within.push((o.clone(), n.clone()));
        }
        let (old, new) = (
            self.old.resolve(self.old_own, old),
            self.new.resolve(self.new_own, new),
        );
        self.compare_types(old, new, path, optional);
        self.compare_enums(old, new, path);
        // Fields matter where the old schema took objects; where its
        // alternatives went away, they are compared one by one instead.
        let objects = types(old).is_none_or(|t| t.contains("object"));
        // A `oneOf` made an `anyOf` is not gone: its properties are
        // compared as they stand.
        let made_any_of = old.get("oneOf").is_some()
            && old.get("anyOf").is_none()
            && new.get("oneOf").is_none()
            && new.get("anyOf").is_some();
        let alternatives_gone = !made_any_of
            && ["anyOf", "oneOf"]
                .iter()
                .any(|k| old.get(*k).is_some() && new.get(*k).is_none());
        if objects && !alternatives_gone {
            self.compare_properties(old, new, path, depth);
        }
        match (old.get("items"), new.get("items")) {
            // Tuples, place by place.
            (Some(Value::Array(o)), Some(Value::Array(n))) => {
                for (i, (oi, ni)) in o.iter().zip(n).enumerate() {
                    self.compare(oi, ni, &format!("{path}[{i}]"), depth + 1);
                }
            }
            (Some(oi), Some(ni)) => self.compare(oi, ni, &format!("{path}[]"), depth + 1),
            (Some(_), None) => self.push(
                Class::Compatible,
                path,
                "`items` removed: any element is taken".into(),
            ),
            (None, Some(_)) => self.push(
                Class::Breaking,
                path,
                "`items` added: an element not of its schema is refused".into(),
            ),
            _ => {}
        }
        self.compare_branches(old, new, path, depth);
        self.compare_patterns(old, new, path, depth);
        self.compare_constraints(old, new, path);
        if let Some((o, n)) = pair {
            self.within.pop();
            let end = self.out.len();
            let key = self.key(&o, &n, optional);
            if let Some(entry) = self.compared.get_mut(&key) {
                entry.1 = start..end;
            }
        }
    }

    /// The key a definition pair is compared once under: an event's own
    /// definition is named with the event, so only `definitions.json`'s
    /// are shared between events.
    fn key(&self, old: &str, new: &str, optional: bool) -> Pair {
        let scoped = |name: &str, own: &Map<String, Value>| match own.contains_key(name) {
            true => format!("{}#{name}", self.event),
            false => name.to_string(),
        };
        (
            scoped(old, self.old_own),
            scoped(new, self.new_own),
            self.in_one_of > 0,
            optional,
        )
    }

    /// A shared definition reached again at `path`: each change it gave at
    /// `first` (and below) holds at `path` too.
    fn note_also_at(&mut self, first: &str, found: std::ops::Range<usize>, path: &str) {
        for change in &mut self.out[found] {
            let here = if change.path == "(payload)" {
                ""
            } else {
                &change.path
            };
            let Some(below) = format!("{} {here}", change.event)
                .strip_prefix(first)
                .map(str::to_string)
            else {
                continue;
            };
            // Another event's place names the event.
            let place = if change.event == self.event {
                format!("{path}{below}")
            } else {
                format!("{} {path}{below}", self.event)
            };
            if change.also_at.len() < ALSO_AT_KEPT && !change.also_at.contains(&place) {
                change.also_at.push(place);
            }
        }
    }

    /// `anyOf`, `oneOf` and `allOf`: branches paired (equal, else of the
    /// same kind) are compared; one left over is classed by keyword: an
    /// alternative removed (`anyOf`, `oneOf`) or a constraint added (`allOf`,
    /// and `oneOf`, where a value may now match two branches) is breaking.
    /// The keyword added is breaking, removed compatible.
    fn compare_branches(&mut self, old: &Value, new: &Value, path: &str, depth: usize) {
        let keys: &[&str] = match self.one_of_made_any_of(old, new, path, depth) {
            true => &["allOf"],
            false => &["anyOf", "oneOf", "allOf"],
        };
        for &key in keys {
            let branches = |s: &Value| s.get(key).and_then(Value::as_array).cloned();
            let (o, n) = match (branches(old), branches(new)) {
                (None, None) => continue,
                (Some(o), None) => {
                    self.push(Class::Compatible, path, format!("`{key}` removed"));
                    // What each alternative admitted, the schema that
                    // replaces them must still admit.
                    if key != "allOf" {
                        for (i, b) in o.iter().enumerate() {
                            self.compare(b, new, &format!("{path}<{key}[{i}] removed>"), depth + 1);
                        }
                    }
                    continue;
                }
                (None, Some(_)) => {
                    self.push(Class::Breaking, path, format!("`{key}` added"));
                    continue;
                }
                (Some(o), Some(n)) => (o, n),
            };
            let (pairs, removed, added) = pair_branches(&o, &n);
            let one_of = usize::from(key == "oneOf");
            self.in_one_of += one_of;
            for (i, j) in pairs {
                self.compare(&o[i], &n[j], &format!("{path}<{key}[{j}]>"), depth + 1);
            }
            self.in_one_of -= one_of;
            for i in removed {
                let class = if key == "allOf" {
                    Class::Compatible
                } else {
                    Class::Breaking
                };
                self.push(class, path, format!("`{key}` branch {i} removed"));
            }
            for j in added {
                let class = if key == "anyOf" {
                    Class::Compatible
                } else {
                    Class::Breaking
                };
                self.push(class, path, format!("`{key}` branch {j} added"));
            }
        }
    }

    /// A `oneOf` replaced by an `anyOf` (what `drift` does to widen one):
    /// it takes every value the `oneOf` took, so only a branch gone is
    /// breaking; the branches are paired as `anyOf` branches. Whether this
    /// was the case.
    fn one_of_made_any_of(&mut self, old: &Value, new: &Value, path: &str, depth: usize) -> bool {
        let branches = |s: &Value, key: &str| s.get(key).and_then(Value::as_array).cloned();
        let (Some(o), None, None, Some(n)) = (
            branches(old, "oneOf"),
            branches(old, "anyOf"),
            branches(new, "oneOf"),
            branches(new, "anyOf"),
        ) else {
            return false;
        };
        self.push(
            Class::Compatible,
            path,
            "`oneOf` made an `anyOf` (every value it took is still taken)".into(),
        );
        let (pairs, removed, added) = pair_branches(&o, &n);
        for (i, j) in pairs {
            self.compare(&o[i], &n[j], &format!("{path}<anyOf[{j}]>"), depth + 1);
        }
        for i in removed {
            self.push(Class::Breaking, path, format!("`oneOf` branch {i} removed"));
        }
        for j in added {
            self.push(Class::Compatible, path, format!("`anyOf` branch {j} added"));
        }
        true
    }

    /// `patternProperties` and `additionalProperties`: the schemas both
    /// have are compared; one added constrains, one removed frees.
    fn compare_patterns(&mut self, old: &Value, new: &Value, path: &str, depth: usize) {
        let (op, np) = (
            object_at(old, "patternProperties"),
            object_at(new, "patternProperties"),
        );
        for (p, ov) in &op {
            match np.get(p) {
                Some(nv) => self.compare(ov, nv, &format!("{path}<{p}>"), depth + 1),
                None => self.push(
                    Class::Compatible,
                    path,
                    format!("pattern property {p:?} removed"),
                ),
            }
        }
        for p in np.keys().filter(|p| !op.contains_key(*p)) {
            self.push(
                Class::Breaking,
                path,
                format!("pattern property {p:?} added"),
            );
        }
        match (additional(old), additional(new)) {
            (Some(o), Some(n)) => self.compare(o, n, &format!("{path}<additional>"), depth + 1),
            (None, Some(n)) => self.push(
                Class::Breaking,
                path,
                format!("additionalProperties {n} added"),
            ),
            (Some(o), None) => self.push(
                Class::Compatible,
                path,
                format!("additionalProperties {o} removed"),
            ),
            (None, None) => {}
        }
        // `false` is dropped as the receiver reads a schema (new keys are
        // kept): it changes nothing for it, and is said.
        let closed = |s: &Value| s.get("additionalProperties") == Some(&Value::Bool(false));
        match (closed(old), closed(new)) {
            (false, true) => self.push_neutral(
                Class::Compatible,
                path,
                "additionalProperties false added (hookforge keeps new keys; a strict validator refuses them)".into(),
            ),
            (true, false) => self.push_neutral(Class::Compatible, path, "additionalProperties false removed".into()),
            _ => {}
        }
    }

    /// The other constraining keywords. Those the receiver enforces: added
    /// or changed is breaking, removed compatible. Those it does not
    /// (`pattern`, `format`, bounds, `const`'s value): compatible, and said.
    fn compare_constraints(&mut self, old: &Value, new: &Value, path: &str) {
        let not_enforced = crate::manifest::vendor_dir::VALUE_CONSTRAINTS
            .iter()
            .chain(&["format", "const", "not"]);
        for key in ENFORCED.iter().chain(not_enforced) {
            let class = if ENFORCED.contains(key) {
                Class::Breaking
            } else {
                Class::Compatible
            };
            let aside = if class == Class::Compatible {
                " (hookforge does not enforce it; a strict validator may)"
            } else {
                ""
            };
            let change = match (old.get(*key), new.get(*key)) {
                (Some(o), Some(n)) if o != n => {
                    Some((class, format!("`{key}` changed from {o} to {n}{aside}")))
                }
                (None, Some(n)) => Some((class, format!("`{key}` {n} added{aside}"))),
                (Some(o), None) => Some((Class::Compatible, format!("`{key}` {o} removed{aside}"))),
                _ => None,
            };
            match change {
                // What the receiver does not enforce changes nothing for it.
                Some((class, what)) if aside.is_empty() => self.push(class, path, what),
                Some((class, what)) => self.push_neutral(class, path, what),
                None => {}
            }
        }
    }

    fn compare_types(&mut self, old: &Value, new: &Value, path: &str, optional: bool) {
        match (types(old), types(new)) {
            // An optional field takes `null` as the receiver reads it, so
            // taking `null` out of its type refuses nothing (helper-61).
            (Some(o), Some(n))
                if optional && o.contains("null") && !n.contains("null") && {
                    let mut without = o.clone();
                    without.remove("null");
                    without == n
                } =>
            {
                self.push_neutral(
                    Class::Compatible,
                    path,
                    "`null` taken out of the type of an optional field (the receiver still takes null there; a strict validator may not)".into(),
                );
            }
            (Some(o), Some(n)) if o != n => {
                let list = |s: &BTreeSet<String>| {
                    s.iter()
                        .filter(|t| *t != "integer" || !s.contains("number"))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" | ")
                };
                let (class, how) = if o.is_subset(&n) {
                    (Class::Compatible, "widened")
                } else {
                    (Class::Breaking, "changed")
                };
                let what = format!("type {how} from {} to {}", list(&o), list(&n));
                self.push(class, path, what);
            }
            (None, Some(n)) => self.push(
                Class::Breaking,
                path,
                format!(
                    "type narrowed from any to {}",
                    n.into_iter().collect::<Vec<_>>().join(" | ")
                ),
            ),
            (Some(_), None) => self.push(Class::Compatible, path, "type widened to any".into()),
            _ => {}
        }
    }

    fn compare_enums(&mut self, old: &Value, new: &Value, path: &str) {
        let (oe, ne) = (strings(old.get("enum")), strings(new.get("enum")));
        if oe.is_empty() && !ne.is_empty() {
            self.push_neutral(
                Class::Compatible,
                path,
                format!("enum of {} values added (the receiver still takes other values; a strict validator may not)", ne.len()),
            );
        }
        if !oe.is_empty() {
            for v in ne.difference(&oe) {
                self.push_neutral(Class::Compatible, path, format!("enum value {v} added"));
            }
        }
        if !ne.is_empty() {
            for v in oe.difference(&ne) {
                self.push(
                    Class::Breaking,
                    path,
                    format!("enum value {v} removed (the receiver still takes it; the generated enum loses its variant)"),
                );
            }
        }
    }

    /// Fields removed, added, made required or optional, and each field
    /// both have compared in turn.
    fn compare_properties(&mut self, old: &Value, new: &Value, path: &str, depth: usize) {
        let (op, np) = (object_at(old, "properties"), object_at(new, "properties"));
        let (or, nr) = (strings(old.get("required")), strings(new.get("required")));
        let child = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        for (k, ov) in &op {
            match np.get(k) {
                Some(nv) => {
                    self.optional = !nr.contains(&Value::String(k.clone()).to_string());
                    self.compare(ov, nv, &child(k), depth + 1)
                }
                None => self.push(Class::Breaking, &child(k), "field removed".into()),
            }
        }
        // A name the old schema left open took any value; typed now, a value
        // of another type is a misfit (compatible still: it is how a vendor's
        // documented new field arrives, but the reader should know). Open as
        // the receiver reads it (`additional`: even `false` keeps new keys),
        // unless a typed `additionalProperties` or a pattern held the name.
        let was_open = additional(old).is_none() && old.get("patternProperties").is_none();
        for (k, nv) in np.iter().filter(|(k, _)| !op.contains_key(*k)) {
            if nr.contains(&Value::String(k.clone()).to_string()) {
                self.push(Class::Breaking, &child(k), "field added as required".into());
            } else if was_open && constrains(nv) {
                self.push(
                    Class::Compatible,
                    &child(k),
                    "field added (before, any value was taken under this name; one not of its type is now a misfit)".into(),
                );
            } else {
                self.push(Class::Compatible, &child(k), "field added".into());
            }
        }
        for k in nr.difference(&or) {
            let name: String = serde_json::from_str(k).unwrap_or_default();
            if op.contains_key(&name) {
                self.push(Class::Breaking, &child(&name), "field made required".into());
            }
        }
        for k in or.difference(&nr) {
            let name: String = serde_json::from_str(k).unwrap_or_default();
            if np.contains_key(&name) {
                self.push(
                    Class::Compatible,
                    &child(&name),
                    "field made optional".into(),
                );
            }
        }
    }
}

/// Whether a schema refuses anything: not `true`, `{}` or only annotations.
fn constrains(schema: &Value) -> bool {
    const ANNOTATIONS: [&str; 5] = ["title", "description", "examples", "default", "$comment"];
    match schema {
        Value::Object(o) => o.keys().any(|k| !ANNOTATIONS.contains(&k.as_str())),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// The manifest fields a receiver depends on that changed: each breaking.
fn manifest_changes(o: &VendorDir, n: &VendorDir) -> Vec<Change> {
    let mut changes = Vec::new();
    for field in ["auth", "event_type", "event_id"] {
        if o.manifest.get(field) != n.manifest.get(field) {
            changes.push(Change {
                class: Class::Breaking,
                event: "manifest".into(),
                path: field.into(),
                what: format!(
                    "changed from {} to {}",
                    o.manifest
                        .get(field)
                        .map_or("nothing".into(), Value::to_string),
                    n.manifest
                        .get(field)
                        .map_or("nothing".into(), Value::to_string)
                ),
                also_at: Vec::new(),
            });
        }
    }
    changes
}

/// The old samples the new schemas refuse, with the reasons.
fn misfits(o: &VendorDir, n: &VendorDir) -> Result<Vec<Misfit>, Error> {
    let mut failing = Vec::new();
    for (event, sample, body) in &o.samples {
        let Some((file, schema)) = n.events.get(event) else {
            failing.push(Misfit {
                sample: sample.clone(),
                errors: vec![format!("event {event} is gone")],
            });
            continue;
        };
        let checked = hookforge_core::vendor_dir::as_received(&n.bundled(schema));
        let validator = jsonschema::draft7::new(&checked).map_err(|e| Error::Schema {
            file: file.clone(),
            event: event.clone(),
            message: e.to_string(),
        })?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| {
                let (at, why) = hookforge_core::vendor_dir::misfit_reason(&e);
                format!("at `{at}`: {why}")
            })
            .collect();
        if !errors.is_empty() {
            failing.push(Misfit {
                sample: sample.clone(),
                errors,
            });
        }
    }
    Ok(failing)
}

/// Compares two vendor directories. `old_samples` overrides where the old
/// vendor's samples are (default: `OLD/samples`).
pub fn diff(old: &Path, new: &Path, old_samples: Option<&Path>) -> Result<Diff, Error> {
    // Each loaded as `serve` loads it: a directory it refuses (a schema
    // that does not compile) is an error, not "0 changes" (helper-61).
    let samples_of = |dir: &Path, given: Option<&Path>| {
        given.map_or_else(|| dir.join("samples"), Path::to_path_buf)
    };
    hookforge_core::vendor_dir::load_with_samples(old, &samples_of(old, old_samples))?;
    hookforge_core::vendor_dir::load_with_samples(new, &samples_of(new, None))?;
    let o = VendorDir::load(old, old_samples)?;
    let n = VendorDir::load(new, None)?;
    let mut changes = manifest_changes(&o, &n);
    let mut compared = BTreeMap::new();
    for (name, (_, os)) in &o.events {
        match n.events.get(name) {
            None => changes.push(Change {
                class: Class::Breaking,
                event: name.clone(),
                path: "(event)".into(),
                what: "event removed".into(),
                also_at: Vec::new(),
            }),
            Some((_, ns)) => {
                let own = |s: &Value| {
                    s.get("definitions")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default()
                };
                let (old_own, new_own) = (own(os), own(ns));
                let mut walk = Walk {
                    old: &o,
                    new: &n,
                    old_own: &old_own,
                    new_own: &new_own,
                    event: name,
                    out: &mut changes,
                    within: Vec::new(),
                    in_one_of: 0,
                    optional: false,
                    compared: std::mem::take(&mut compared),
                };
                walk.compare(os, ns, "", 0);
                compared = walk.compared;
            }
        }
    }
    for name in n.events.keys().filter(|k| !o.events.contains_key(*k)) {
        changes.push(Change {
            class: Class::Compatible,
            event: name.clone(),
            path: "(event)".into(),
            what: "event added".into(),
            also_at: Vec::new(),
        });
    }
    changes.sort_by(|a, b| (a.class, &a.event, &a.path).cmp(&(b.class, &b.event, &b.path)));
    let failing = misfits(&o, &n)?;
    Ok(Diff {
        changes,
        samples_checked: o.samples.len(),
        samples_failing: failing,
    })
}

/// The object under `key` in schema `s` (its `properties`,
/// `patternProperties`), empty when there is none.
fn object_at(s: &Value, key: &str) -> Map<String, Value> {
    s.get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}
