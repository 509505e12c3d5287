//! The few steps of JSON's grammar the fast paths take without parsing:
//! whitespace, a string's end, a value's end. Shared by the one-pass
//! envelope read (`parse::fields`) and the tolerant span scan
//! ([`super::json::json_span_scanned`]). They check no grammar beyond
//! what they step over: callers parse what they keep.

pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// For a string starting at `i` (its opening quote): the index after its
/// closing quote, and whether it has escapes.
pub(crate) fn string_end(b: &[u8], i: usize) -> Option<(usize, bool)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut at = i + 1;
    let mut escaped = false;
    loop {
        let j = at + memchr::memchr2(b'"', b'\\', b.get(at..)?)?;
        if b[j] == b'"' {
            return Some((j + 1, escaped));
        }
        escaped = true;
        at = j + 2;
    }
}

/// The index after the value starting at `i`.
pub(crate) fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i).map(|(end, _)| end),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?.0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            // A scalar ends at what follows it, or with the text.
            let len = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(b.len() - i);
            (len > 0).then_some(i + len)
        }
    }
}
