//! Small helpers every stage uses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Time since the Unix epoch (zero if the clock is before it).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    since_epoch().as_millis() as i64
}

/// Milliseconds since the epoch as RFC 3339 UTC (`2026-12-04T19:20:14.000Z`);
/// out of chrono's range, the number itself.
/// A moment written as RFC 3339 (`2026-12-01T09:00:00Z`) or a date
/// (`2026-12-01`, midnight UTC), in ms since the epoch: what `--since`
/// and the dashboard's filters both take.
pub fn parse_moment(s: &str) -> Option<i64> {
    let s = s.trim();
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| {
                d.and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis()
            })
        })
        .ok()
}

pub fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| format!("{ms} ms since the epoch"))
}

/// Whether `s` is a UUID in its canonical text form (8-4-4-4-12 hex).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256, in lower-case hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

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

/// The idempotency key of a delivery: the vendor's event id, or a hash of
/// the body for vendors that send none.
pub fn dedupe_key(event_id: Option<&str>, body: &[u8]) -> String {
    match event_id {
        // A blank id identifies nothing; the body does.
        Some(id) if !id.trim().is_empty() => format!("id:{id}"),
        Some(_) | None => format!("sha256:{}", sha256_hex(body)),
    }
}

/// [`dedupe_key`] for a vendor whose body changes on every attempt
/// (`delivery.per_attempt`, HubSpot's `/*/attemptNumber`): without an event
/// id, the hash is of the body's bytes with those values set to `0`, so a
/// retry is the same delivery. Before, HubSpot's retries hashed apart and
/// were handled again.
pub fn vendor_dedupe_key(
    manifest: &crate::manifest::Manifest,
    event_id: Option<&str>,
    body: &[u8],
) -> String {
    let per_attempt = manifest.per_attempt();
    let id_less = event_id.is_none_or(|id| id.trim().is_empty());
    if !id_less || per_attempt.is_empty() {
        return dedupe_key(event_id, body);
    }
    // The fields' values blanked in the bytes themselves: a parse and
    // re-serialization would merge bodies that differ only in a number
    // beyond f64's precision, or in a repeated key (helper-57's review).
    let (Ok(text), Ok(doc)) = (
        std::str::from_utf8(body),
        serde_json::from_slice::<serde_json::Value>(body),
    ) else {
        return dedupe_key(None, body);
    };
    let mut text = text.to_string();
    for pointer in crate::manifest::pointers_matching_any(&doc, per_attempt) {
        if let Some(at) = json_span(&text, &pointer) {
            text.replace_range(at, "0");
        }
    }
    format!("sha256:{}", sha256_hex(text.as_bytes()))
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
    Some(at..scanned_end(b, at)?)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
    {
        i += 1;
    }
    i
}

/// The end of the value starting at `i`: a string, a container (brackets
/// counted outside strings, however deep) or a scalar.
fn scanned_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => {
            let mut j = i + 1;
            loop {
                match b.get(j)? {
                    b'\\' => j += 2,
                    b'"' => return Some(j + 1),
                    _ => j += 1,
                }
            }
        }
        b'{' | b'[' => {
            let (mut depth, mut j) = (0usize, i);
            loop {
                match b.get(j)? {
                    b'"' => j = scanned_end(b, j)?,
                    b'{' | b'[' => (depth, j) = (depth + 1, j + 1),
                    b'}' | b']' if depth == 1 => return Some(j + 1),
                    b'}' | b']' => (depth, j) = (depth - 1, j + 1),
                    _ => j += 1,
                }
            }
        }
        _ => {
            let end = b[i..].iter().position(|c| b",}] \t\r\n".contains(c));
            Some(end.map_or(b.len(), |n| i + n)).filter(|e| *e > i)
        }
    }
}

/// Where the value of member `key` of the object at `i` starts.
fn scanned_member(text: &str, i: usize, key: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut j = skip_ws(b, i + 1);
    while b.get(j) == Some(&b'"') {
        let key_end = scanned_end(b, j)?;
        let name: Option<String> = serde_json::from_str(&text[j..key_end]).ok();
        j = skip_ws(b, key_end);
        (b.get(j) == Some(&b':')).then_some(())?;
        j = skip_ws(b, j + 1);
        if name.as_deref() == Some(key) {
            return Some(j);
        }
        j = skip_ws(b, scanned_end(b, j)?);
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
        j = skip_ws(b, scanned_end(b, j)?);
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

/// A vendor-controlled string as a log line may show it: control characters
/// escaped (a newline cannot start a forged line) and at most
/// [`Shown::MAX_CHARS`] characters, the rest counted.
pub struct Shown<'a>(pub &'a str);

impl Shown<'_> {
    pub const MAX_CHARS: usize = 200;
}

/// Whether `c` is written escaped on a terminal: control characters, line
/// separators and bidirectional overrides (which can make a line read as
/// something else).
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` whole, with each [`hidden`] character escaped (`\u{1b}`).
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(hidden) {
        return s.into();
    }
    s.chars()
        .flat_map(|c| {
            let escaped = hidden(c).then(|| c.escape_default());
            escaped
                .into_iter()
                .flatten()
                .chain((!hidden(c)).then_some(c))
        })
        .collect::<String>()
        .into()
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        for (n, c) in self.0.chars().enumerate() {
            if n == Shown::MAX_CHARS {
                let rest = self.0.chars().count() - n;
                return write!(f, "…({rest} more characters)");
            }
            if hidden(c) {
                for e in c.escape_default() {
                    f.write_char(e)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// At most [`Shown::MAX_CHARS`] characters of `s`, for a log field recorded
/// as a string (tracing writes those quoted and escaped already).
pub fn cap(s: &str) -> &str {
    match s.char_indices().nth(Shown::MAX_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Escapes text for XML and HTML attributes and content, dropping the
/// control characters XML 1.0 forbids (a JUnit report with one is refused).
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// A whole HTML page: the one shell hookforge's pages share (the check
/// report and the inbox dashboard). `title` is escaped; `style` and `body`
/// are trusted markup made by the caller.
pub fn html_page(title: &str, style: &str, body: &str) -> String {
    let escaped = escape_markup(title);
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{escaped}</title><style>{style}</style></head><body>{body}</body></html>"
    )
}

#[cfg(test)]
mod shown_tests {
    use super::Shown;

    #[test]
    fn control_characters_are_escaped_and_length_capped() {
        assert_eq!(
            Shown("a\nINFO forged\r\t\u{1b}[31m").to_string(),
            "a\\nINFO forged\\r\\t\\u{1b}[31m"
        );
        let long = "x".repeat(250);
        let shown = Shown(&long).to_string();
        assert!(shown.starts_with(&"x".repeat(200)));
        assert!(shown.ends_with("…(50 more characters)"), "{shown}");
    }
}

/// CRC-32 (IEEE 802.3, the zlib and PNG one) of `bytes`: PayPal signs it
/// in place of the body. Bitwise; bodies are small and this runs once per
/// delivery.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod crc_tests {
    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The check value every CRC-32/ISO-HDLC implementation gives.
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(super::crc32(b""), 0);
    }
}

/// `(name, value)` pairs as a header map; a pair that is no valid header
/// (nothing a receiver stored or a signer wrote) is skipped.
pub fn header_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            headers.append(k, v);
        }
    }
    headers
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
