//! One Rust type per distinct object shape, not one per place it appears.
//!
//! Published schemas inline the same object wherever an event carries it
//! (GitHub's `repository` in every event, Stripe's `charge` in every
//! `charge.*`). typify names an inline object after its place, so each copy
//! became its own struct with its own deserializer: the same code compiled
//! dozens of times. Before typify sees the schemas, every object shape that
//! occurs more than once is moved into a definition of its own and each
//! place refers to it.
//!
//! Two places share a type only when their normalised schemas are equal,
//! descriptions included, so no place loses a field, a type or a doc line.
//! Names are made from what the places have in common
//! (`ChargeCapturedDataObject` and `ChargeFailedDataObject` share
//! `ChargeDataObject`), so they stay put while unrelated events change.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use heck::ToUpperCamelCase;
use serde_json::{Value, json};

/// Where one copy of a shape sits: the definition it is in and the path of
/// property names (and `Item` for array items) down to it.
struct Place {
    owner: String,
    path: Vec<String>,
}

/// Every shape that could be shared, keyed by its canonical JSON text.
#[derive(Default)]
struct Shapes {
    count: HashMap<String, usize>,
    /// Each shape's shareable descendants (at any depth), with multiplicity.
    inside: HashMap<String, HashMap<String, usize>>,
    places: HashMap<String, Vec<Place>>,
}

/// Moves every object shape that occurs more than once (outside the
/// definitions' roots) into a definition of its own. `definitions` holds the
/// normalised schemas typify will get, each root already named.
pub fn share_identical_shapes(definitions: &mut BTreeMap<String, Value>) {
    let mut shapes = Shapes::default();
    for (owner, root) in definitions.iter() {
        for_each_child(root, &mut |seg, child| {
            shapes.collect(child, owner, &[seg.to_string()]);
        });
    }
    let shared = shapes.choose();
    if shared.is_empty() {
        return;
    }
    let names = shapes.name(&shared, definitions);
    let mut found: HashMap<&str, Value> = HashMap::new();
    for root in definitions.values_mut() {
        for_each_child_mut(root, &mut |child| replace(child, &names, &mut found));
    }
    // A body is rewritten in turn, which finds the shapes shared only
    // inside shared ones; each shape's first copy becomes its definition.
    // Every shape chosen occurs at least twice in what is left, so each is
    // met here (one not met would leave a `$ref` typify refuses, by name).
    let mut pending: Vec<(&str, Value)> = found.drain().collect();
    while let Some((key, mut body)) = pending.pop() {
        let name = &names[key];
        if definitions.contains_key(name) {
            continue;
        }
        for_each_child_mut(&mut body, &mut |child| replace(child, &names, &mut found));
        pending.extend(found.drain());
        definitions.insert(name.clone(), body);
    }
    let shared: BTreeSet<String> = names.into_values().collect();
    settle_names(definitions, shared);
}

/// typify names an object left inline after its owner and place, and does
/// not check that the name is free: a shared type can take the name an
/// inline object inside another shared type then gets
/// (`EventDataMessageHeaders`). Such a shared type is renamed until none
/// clashes.
fn settle_names(definitions: &mut BTreeMap<String, Value>, mut shared: BTreeSet<String>) {
    loop {
        let mut inline = BTreeSet::new();
        for (owner, root) in definitions.iter() {
            for_each_child(root, &mut |seg, child| {
                inline_names(child, owner, &[seg.to_string()], &mut inline);
            });
        }
        let Some(old) = shared.iter().find(|n| inline.contains(*n)).cloned() else {
            return;
        };
        let new = (2..)
            .map(|i| format!("{old}{i}"))
            .find(|n| !inline.contains(n) && !definitions.contains_key(n))
            .expect("some number is free");
        let body = definitions.remove(&old).expect("a shared definition");
        definitions.insert(new.clone(), body);
        let renames = BTreeMap::from([(old.clone(), new.clone())]);
        for def in definitions.values_mut() {
            hookforge_manifest::refs::rename(def, &renames);
        }
        shared.remove(&old);
        shared.insert(new);
    }
}

fn inline_names(v: &Value, owner: &str, path: &[String], out: &mut BTreeSet<String>) {
    if object_shape(v).is_some() {
        out.insert(
            place_words(&Place {
                owner: owner.to_string(),
                path: path.to_vec(),
            })
            .concat(),
        );
    }
    for_each_child(v, &mut |seg, child| {
        let mut p = path.to_vec();
        p.push(seg.to_string());
        inline_names(child, owner, &p, out);
    });
}

/// Replaces a shared shape by a reference (remembering its body), or looks
/// further down.
fn replace<'k>(
    v: &mut Value,
    names: &'k BTreeMap<String, String>,
    bodies: &mut HashMap<&'k str, Value>,
) {
    if let Some(nullable) = object_shape(v)
        && let Some((key, name)) = names.get_key_value(&shape_key(v, nullable))
    {
        let r = json!({ "$ref": format!("#/definitions/{name}") });
        let place = if nullable {
            json!({ "anyOf": [r, { "type": "null" }] })
        } else {
            r
        };
        let mut body = std::mem::replace(v, place);
        if nullable {
            body["type"] = json!("object");
        }
        bodies.entry(key.as_str()).or_insert(body);
        return;
    }
    for_each_child_mut(v, &mut |c| replace(c, names, bodies));
}

/// Whether `v` is an object with properties (what typify makes a struct
/// of), and if so whether it is nullable (`["object", "null"]`).
fn object_shape(v: &Value) -> Option<bool> {
    let o = v.as_object()?;
    o.get("properties")
        .and_then(Value::as_object)
        .filter(|p| !p.is_empty())?;
    match o.get("type") {
        None => Some(false),
        Some(t) if t == "object" => Some(false),
        Some(Value::Array(a))
            if a.len() == 2 && a.contains(&json!("object")) && a.contains(&json!("null")) =>
        {
            Some(true)
        }
        Some(_) => None,
    }
}

/// A shape's identity: its JSON, a nullable one's with the type `object`, so
/// that nullable and required places share one type (a nullable place
/// refers to it as `anyOf [type, null]`).
fn shape_key(v: &Value, nullable: bool) -> String {
    if !nullable {
        return v.to_string();
    }
    let mut body = v.clone();
    body["type"] = json!("object");
    body.to_string()
}

/// The places a struct can sit at, with the name segment typify's would add:
/// property values, array items and map values. Branches of `anyOf`,
/// `oneOf` and `allOf` are left inline (typify names and merges those by
/// their own rules) but looked through.
fn for_each_child<'v>(v: &'v Value, f: &mut impl FnMut(&str, &'v Value)) {
    let Some(o) = v.as_object() else { return };
    if let Some(Value::Object(props)) = o.get("properties") {
        for (k, p) in props {
            f(k, p);
        }
    }
    if let Some(items) = o.get("items") {
        f("item", items);
    }
    if let Some(extra) = o.get("additionalProperties") {
        f("value", extra);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(a)) = o.get(key) {
            for branch in a {
                for_each_child(branch, f);
            }
        }
    }
}

fn for_each_child_mut(v: &mut Value, f: &mut impl FnMut(&mut Value)) {
    let Some(o) = v.as_object_mut() else { return };
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for p in props.values_mut() {
            f(p);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(c) = o.get_mut(key) {
            f(c);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(a)) = o.get_mut(key) {
            for branch in a {
                for_each_child_mut(branch, f);
            }
        }
    }
}

impl Shapes {
    /// Records `v` and everything below it; returns the shareable shapes
    /// found at or below `v`, with multiplicity.
    fn collect(&mut self, v: &Value, owner: &str, path: &[String]) -> HashMap<String, usize> {
        let mut below: HashMap<String, usize> = HashMap::new();
        for_each_child(v, &mut |seg, child| {
            let mut p = path.to_vec();
            p.push(seg.to_string());
            for (k, n) in self.collect(child, owner, &p) {
                *below.entry(k).or_default() += n;
            }
        });
        let Some(nullable) = object_shape(v) else {
            return below;
        };
        let key = shape_key(v, nullable);
        *self.count.entry(key.clone()).or_default() += 1;
        self.places.entry(key.clone()).or_default().push(Place {
            owner: owner.to_string(),
            path: path.to_vec(),
        });
        self.inside
            .entry(key.clone())
            .or_insert_with(|| below.clone());
        *below.entry(key).or_default() += 1;
        below
    }

    /// The shapes to share, outermost first. Sharing a shape leaves one copy
    /// of what is inside it, so a shape that only ever occurs inside another
    /// shared one stays inline there.
    fn choose(&mut self) -> Vec<String> {
        let mut candidates: Vec<&String> = self
            .count
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k)
            .collect();
        // Larger first: an enclosing shape is always longer than its parts.
        candidates.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let candidates: Vec<String> = candidates.into_iter().cloned().collect();
        let mut shared = Vec::new();
        for key in candidates {
            let n = self.count[&key];
            if n < 2 {
                continue;
            }
            for (inner, m) in &self.inside[&key] {
                if let Some(c) = self.count.get_mut(inner) {
                    *c -= (n - 1) * m;
                }
            }
            shared.push(key);
        }
        shared
    }

    /// A name per shared shape: the words every place's own name begins and
    /// ends with (`Meta2` when `Meta` is taken), else the first place's
    /// name; never a definition's name or that of an object left inline.
    fn name(
        &self,
        shared: &[String],
        definitions: &BTreeMap<String, Value>,
    ) -> BTreeMap<String, String> {
        let is_shared: BTreeSet<&String> = shared.iter().collect();
        let mut taken: BTreeSet<String> = definitions.keys().cloned().collect();
        for (key, places) in &self.places {
            if !is_shared.contains(key) {
                taken.extend(places.iter().map(|p| place_words(p).concat()));
            }
        }
        let mut sorted: Vec<&String> = shared.iter().collect();
        // Names are given in a fixed order so that one shape's name does
        // not depend on how the hash map iterates.
        sorted.sort_by_key(|k| {
            let first = &self.places[*k][0];
            (first.owner.clone(), first.path.clone(), (*k).clone())
        });
        let mut names = BTreeMap::new();
        for key in sorted {
            let words: Vec<Vec<String>> = self.places[key].iter().map(place_words).collect();
            let base = common_name(&words).unwrap_or_else(|| words[0].concat());
            let mut name = base.clone();
            let mut i = 2;
            while taken.contains(&name) {
                name = format!("{base}{i}");
                i += 1;
            }
            taken.insert(name.clone());
            names.insert(key.clone(), name);
        }
        names
    }
}

/// The name typify would give an inline object at this place, as words.
fn place_words(p: &Place) -> Vec<String> {
    let mut words = camel_words(&p.owner);
    for seg in &p.path {
        words.extend(camel_words(&seg.to_upper_camel_case()));
    }
    words
}

fn camel_words(s: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() && prev_lower || words.is_empty() {
            words.push(String::new());
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        words.last_mut().expect("pushed above").push(c);
    }
    words
}

/// The words every name starts with followed by those every name ends with
/// (`None` when there are none of either).
fn common_name(names: &[Vec<String>]) -> Option<String> {
    let shortest = names.iter().map(Vec::len).min()?;
    let first = &names[0];
    let suffix = (0..shortest)
        .take_while(|&i| {
            names
                .iter()
                .all(|n| n[n.len() - 1 - i] == first[first.len() - 1 - i])
        })
        .count();
    let prefix = (0..shortest - suffix)
        .take_while(|&i| names.iter().all(|n| n[i] == first[i]))
        .count();
    if suffix == 0 {
        return None;
    }
    Some(first[..prefix].concat() + &first[first.len() - suffix..].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(names: &[&str]) -> Vec<Vec<String>> {
        names.iter().map(|n| camel_words(n)).collect()
    }

    #[test]
    fn a_name_keeps_the_words_every_place_begins_and_ends_with() {
        let w = words(&["ChargeCapturedDataObject", "ChargeFailedDataObject"]);
        assert_eq!(common_name(&w).as_deref(), Some("ChargeDataObject"));
        let w = words(&["IssuesOpenedRepository", "PushRepository"]);
        assert_eq!(common_name(&w).as_deref(), Some("Repository"));
        // Different keys: no common ending, so the caller takes the first place's name.
        assert_eq!(
            common_name(&words(&["OrderBilling", "OrderShipping"])),
            None
        );
        assert_eq!(camel_words("Api2Key"), ["Api2", "Key"]);
    }

    #[test]
    fn only_equal_shapes_are_shared_and_each_place_refers_to_its_shape() {
        let obj = |d: &str| json!({"type": "object", "description": d, "properties": {"a": {"type": "string"}}});
        let mut defs = BTreeMap::from([
            (
                "One".to_string(),
                json!({"properties": {"x": obj("same"), "y": obj("other")}}),
            ),
            ("Two".to_string(), json!({"properties": {"x": obj("same")}})),
        ]);
        share_identical_shapes(&mut defs);
        assert_eq!(defs["X"], obj("same"));
        assert_eq!(
            defs["One"]["properties"]["x"],
            json!({"$ref": "#/definitions/X"})
        );
        assert_eq!(
            defs["Two"]["properties"]["x"],
            json!({"$ref": "#/definitions/X"})
        );
        // A description is part of the shape: `y` keeps its own.
        assert_eq!(defs["One"]["properties"]["y"], obj("other"));
        assert_eq!(defs.len(), 3);
    }

    #[test]
    fn a_shape_inside_a_shared_one_stays_inline_unless_it_recurs_elsewhere() {
        let inner = json!({"type": "object", "properties": {"c": {"type": "string"}}});
        let outer = json!({"type": "object", "properties": {"b": inner.clone()}});
        let mut defs = BTreeMap::from([
            (
                "E1".to_string(),
                json!({"properties": {"o": outer.clone()}}),
            ),
            (
                "E2".to_string(),
                json!({"properties": {"o": outer.clone()}}),
            ),
        ]);
        share_identical_shapes(&mut defs);
        assert_eq!(defs["O"], outer, "{defs:#?}");
        assert_eq!(defs.len(), 3);
        defs.insert("E3".into(), json!({"properties": {"b": inner.clone()}}));
        share_identical_shapes(&mut defs);
        assert_eq!(
            defs["O"]["properties"]["b"],
            json!({"$ref": "#/definitions/B"})
        );
        assert_eq!(defs["B"], inner);
    }

    #[test]
    fn a_nullable_place_refers_to_the_same_type_or_null() {
        let obj = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let nullable = json!({"type": ["object", "null"], "properties": {"a": {"type": "string"}}});
        let mut defs = BTreeMap::from([
            ("One".to_string(), json!({"properties": {"x": obj.clone()}})),
            ("Two".to_string(), json!({"properties": {"x": nullable}})),
        ]);
        share_identical_shapes(&mut defs);
        assert_eq!(defs["X"], obj);
        assert_eq!(
            defs["Two"]["properties"]["x"],
            json!({"anyOf": [{"$ref": "#/definitions/X"}, {"type": "null"}]})
        );
    }

    #[test]
    fn a_shared_type_never_takes_the_name_typify_gives_an_inline_object() {
        let str_prop = |k: &str| json!({"properties": {k: {"type": "string"}}});
        let mut defs = BTreeMap::from([
            // typify names `O.b` `OB`.
            ("O".to_string(), json!({"properties": {"b": str_prop("c")}})),
            ("OB".to_string(), str_prop("d")),
            (
                "E".to_string(),
                json!({"properties": {"x": {"$ref": "#/definitions/OB"}}}),
            ),
        ]);
        settle_names(&mut defs, BTreeSet::from(["OB".to_string()]));
        assert_eq!(defs["OB2"], str_prop("d"));
        assert!(!defs.contains_key("OB"));
        assert_eq!(
            defs["E"]["properties"]["x"],
            json!({"$ref": "#/definitions/OB2"})
        );
    }
}
