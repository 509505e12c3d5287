//! JSON documents: values at pointers, every string, and where a value
//! stands in a text (to change one value and keep every other byte).

use super::lex::{skip_value, skip_ws};

/// Removes the member a JSON pointer names from its object; what was there.
pub fn remove_at(doc: &mut serde_json::Value, pointer: &str) -> Option<serde_json::Value> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let key = crate::manifest::unescape_token(last);
    doc.pointer_mut(parent)?.as_object_mut()?.remove(&key)
}

/// `doc` without the fields `patterns` name (JSON pointers, `*` for every
/// element: [`crate::manifest::pointers_matching`]).
pub fn remove_all(doc: &mut serde_json::Value, patterns: &[String]) {
    for pointer in crate::manifest::pointers_matching_any(doc, patterns) {
        remove_at(doc, &pointer);
    }
}

/// `text` with the value at `pointer` replaced by `value`, or added as the
/// last member of its parent object when it has none.
pub fn json_splice(text: &str, pointer: &str, value: &str) -> Option<String> {
    if let Some(at) = json_span(text, pointer) {
        return Some(format!("{}{value}{}", &text[..at.start], &text[at.end..]));
    }
    let (parent, key) = pointer.rsplit_once('/')?;
    let at = json_span(text, parent)?;
    let object = &text[at.clone()];
    let members: serde_json::Map<String, serde_json::Value> = serde_json::from_str(object).ok()?;
    let key = serde_json::Value::String(crate::manifest::unescape_token(key)).to_string();
    let comma = if members.is_empty() { "" } else { "," };
    let end = at.end - 1;
    Some(format!(
        "{}{comma}{key}:{value}{}",
        &text[..end],
        &text[end..]
    ))
}

/// Calls `f` on every string value in `v` (not object keys), depth first.
pub fn each_string_mut(v: &mut serde_json::Value, f: &mut impl FnMut(&mut String)) {
    use serde_json::Value;
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter_mut().for_each(|x| each_string_mut(x, f)),
        Value::Object(o) => o.values_mut().for_each(|x| each_string_mut(x, f)),
        _ => {}
    }
}

/// Calls `f` on every string value in `v` (not object keys), depth first.
pub fn each_string(v: &serde_json::Value, f: &mut impl FnMut(&str)) {
    use serde_json::Value;
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| each_string(x, f)),
        Value::Object(o) => o.values().for_each(|x| each_string(x, f)),
        _ => {}
    }
}

/// Whether two JSON numbers have the same value, exactly: integers compare
/// as integers (never through `f64`, which rounds above 2^53), an integer
/// equals a float only when the float is that integer exactly, floats
/// compare as floats.
pub fn same_number(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    fn int(n: &serde_json::Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    /// A float's exact integer value, if it has one within ±2^63.
    fn float_int(f: f64) -> Option<i128> {
        (f.fract() == 0.0 && f.abs() < 9.223_372_036_854_776e18).then_some(f as i128)
    }
    match (int(x), int(y)) {
        (Some(p), Some(q)) => p == q,
        (Some(p), None) => y.as_f64().and_then(float_int) == Some(p),
        (None, Some(q)) => x.as_f64().and_then(float_int) == Some(q),
        (None, None) => x.as_f64() == y.as_f64(),
    }
}

/// Where the value at `pointer` stands in `text`, found by scanning rather
/// than parsing: for a body serde_json refuses that the vendor's own parser
/// takes (a lone surrogate from a cut emoji, `1e400`, nesting past 128, a
/// leading BOM), so the few values authentication reads are still found.
/// Strings are skipped by their escapes, not decoded; `None` where the text
/// around the path is not JSON.
pub fn json_span_scanned(text: &str, pointer: &str) -> Option<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut at = skip_ws(b, text.strip_prefix('\u{feff}').map_or(0, |_| 3));
    for token in pointer
        .split('/')
        .skip(1)
        .map(crate::manifest::unescape_token)
    {
        at = match b.get(at)? {
            b'{' => scanned_member(text, at, &token)?,
            b'[' => scanned_items(b, at)?.into_iter().nth(token.parse().ok()?)?,
            _ => return None,
        };
    }
    Some(at..skip_value(b, at)?)
}

/// Where the value of member `key` of the object at `i` starts.
fn scanned_member(text: &str, i: usize, key: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut j = skip_ws(b, i + 1);
    while b.get(j) == Some(&b'"') {
        let key_end = skip_value(b, j)?;
        let name: Option<String> = serde_json::from_str(&text[j..key_end]).ok();
        j = skip_ws(b, key_end);
        (b.get(j) == Some(&b':')).then_some(())?;
        j = skip_ws(b, j + 1);
        if name.as_deref() == Some(key) {
            return Some(j);
        }
        j = skip_ws(b, skip_value(b, j)?);
        match b.get(j)? {
            b',' => j = skip_ws(b, j + 1),
            _ => return None,
        }
    }
    None
}

/// Where each item of the array at `i` starts.
fn scanned_items(b: &[u8], i: usize) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b']') {
        return Some(out);
    }
    loop {
        out.push(j);
        j = skip_ws(b, skip_value(b, j)?);
        match b.get(j)? {
            b',' => j = skip_ws(b, j + 1),
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// Where the value at `pointer` stands in `text`, a JSON text (byte
/// offsets): to change one value and keep every other byte.
pub fn json_span(text: &str, pointer: &str) -> Option<std::ops::Range<usize>> {
    use serde_json::value::RawValue;
    let mut raw: &RawValue = serde_json::from_str(text).ok()?;
    for token in pointer
        .split('/')
        .skip(1)
        .map(crate::manifest::unescape_token)
    {
        let inner = raw.get();
        raw = match inner.as_bytes().first() {
            Some(b'{') => {
                let members: std::collections::BTreeMap<String, &RawValue> =
                    serde_json::from_str(inner).ok()?;
                *members.get(&token)?
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(inner).ok()?;
                *items.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
    Some(start..start + raw.get().len())
}

#[cfg(test)]
mod scan_tests {
    use super::*;

    /// Bodies serde_json refuses, whose values authentication reads are
    /// still found (helper-71: Linear and Adyen refused them as forgeries).
    #[test]
    fn values_are_found_in_bodies_serde_json_refuses() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let text = format!(
            "\u{feff}{{\"t\": \"cut \\ud83d\", \"n\": 1e400, \"d\": {deep}, \"a\\\"b\": [1, {{\"x\": \"y\"}}], \"webhookTimestamp\" : 1700000000512 }}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
        let at = |p: &str| json_span_scanned(&text, p).map(|r| &text[r]);
        assert_eq!(at("/webhookTimestamp"), Some("1700000000512"));
        assert_eq!(at("/a\"b/1/x"), Some("\"y\""));
        assert_eq!(at("/t"), Some("\"cut \\ud83d\""));
        assert_eq!(at("/n"), Some("1e400"));
        assert_eq!(at("/missing"), None);
        assert_eq!(json_span_scanned("{\"a\": ", "/a"), None);
        assert_eq!(json_span_scanned("{\"a\" 1}", "/a"), None);
    }
}
