//! Local `$ref`s (`#/definitions/Name`), as every schema tool follows and
//! renames them: one copy, so the loader, the generator, the export and the
//! schema walk agree on what a ref points at.

use std::collections::BTreeMap;

use serde_json::Value;

/// How many `$ref`s in a row are followed: a ref that names itself, or a
/// ring of them, is cut off here rather than looping.
pub const MAX_HOPS: usize = 32;

/// `schema` with its local `$ref`s followed, `definition` looking a name up.
pub fn resolve<'a>(
    mut schema: &'a Value,
    definition: impl Fn(&str) -> Option<&'a Value>,
) -> &'a Value {
    for _ in 0..MAX_HOPS {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/definitions/"))
            .and_then(&definition)
        {
            Some(next) => schema = next,
            None => break,
        }
    }
    schema
}

/// Every `$ref` string in `v`, however deep, given to `f` to change.
pub fn each_ref(v: &mut Value, f: &mut impl FnMut(&mut String)) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref") {
                f(r);
            }
            o.values_mut().for_each(|c| each_ref(c, f));
        }
        Value::Array(a) => a.iter_mut().for_each(|c| each_ref(c, f)),
        _ => {}
    }
}

/// `#/definitions/<old>` refs to `#/definitions/<new>`, everywhere in `v`.
pub fn rename(v: &mut Value, renames: &BTreeMap<String, String>) {
    each_ref(v, &mut |r| {
        if let Some(new) = r
            .strip_prefix("#/definitions/")
            .and_then(|name| renames.get(name))
        {
            *r = format!("#/definitions/{new}");
        }
    });
}
