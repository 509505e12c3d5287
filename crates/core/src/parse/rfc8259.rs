//! Whether bytes are JSON by RFC 8259's grammar alone, for the bodies our
//! parser cannot hold: a lone surrogate escape (`"\ud83d"`, what
//! JavaScript's `JSON.stringify` makes of a cut emoji), a number beyond
//! `f64` (`1e400`), nesting deeper than serde_json's 128 levels, or a UTF-8
//! byte order mark before the text (RFC 8259 forbids sending one, but a
//! .NET vendor may). Such an authentic delivery is the vendor's data: it is
//! kept (quarantined with the reason), never refused. Iterative, so any
//! depth is checked without recursion.

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether `body` (after an optional BOM) is one JSON text.
pub fn is_json(body: &[u8]) -> bool {
    let b = body.strip_prefix(BOM).unwrap_or(body);
    // RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
    if std::str::from_utf8(b).is_err() {
        return false;
    }
    Checker { b, i: 0 }.document()
}

struct Checker<'a> {
    b: &'a [u8],
    i: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Open {
    Array,
    Object,
}

impl Checker<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn document(mut self) -> bool {
        let mut open: Vec<Open> = Vec::new();
        loop {
            // A value is expected here.
            self.ws();
            match self.peek() {
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if !self.eat(b']') {
                        open.push(Open::Array);
                        continue;
                    }
                }
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if !self.eat(b'}') {
                        if !self.key() {
                            return false;
                        }
                        open.push(Open::Object);
                        continue;
                    }
                }
                Some(b'"') => {
                    if !self.string() {
                        return false;
                    }
                }
                Some(b't') => self.i = self.literal(b"true"),
                Some(b'f') => self.i = self.literal(b"false"),
                Some(b'n') => self.i = self.literal(b"null"),
                Some(b'-' | b'0'..=b'9') => {
                    if !self.number() {
                        return false;
                    }
                }
                _ => return false,
            }
            if self.i > self.b.len() {
                return false;
            }
            // After a value: close containers, or go on to the next value.
            loop {
                self.ws();
                match open.last() {
                    None => return self.i == self.b.len(),
                    Some(Open::Array) if self.eat(b']') => {
                        open.pop();
                    }
                    Some(Open::Object) if self.eat(b'}') => {
                        open.pop();
                    }
                    Some(Open::Array) if self.eat(b',') => break,
                    Some(Open::Object) if self.eat(b',') => {
                        self.ws();
                        if !self.key() {
                            return false;
                        }
                        break;
                    }
                    Some(_) => return false,
                }
            }
        }
    }

    /// `"name" :` of an object member.
    fn key(&mut self) -> bool {
        if self.peek() != Some(b'"') || !self.string() {
            return false;
        }
        self.ws();
        self.eat(b':')
    }

    /// Past the literal, or past the end (a mismatch) when it is not there.
    fn literal(&self, word: &[u8]) -> usize {
        if self.b[self.i..].starts_with(word) {
            self.i + word.len()
        } else {
            self.b.len() + 1
        }
    }

    /// A string: any escape of the grammar, `\u` with any four hex digits
    /// (lone surrogates included); no raw control character.
    fn string(&mut self) -> bool {
        self.i += 1;
        loop {
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    self.i += 1;
                    return true;
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            let hex = self.b.get(self.i + 1..self.i + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return false;
                            }
                            self.i += 5;
                        }
                        _ => return false,
                    }
                }
                Some(c) if c < 0x20 => return false,
                Some(_) => self.i += 1,
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, of any size.
    fn number(&mut self) -> bool {
        self.eat(b'-');
        let digits = |c: &mut Self| {
            let start = c.i;
            while matches!(c.peek(), Some(b'0'..=b'9')) {
                c.i += 1;
            }
            c.i - start
        };
        if self.eat(b'0') {
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                return false;
            }
        } else if digits(self) == 0 {
            return false;
        }
        if self.eat(b'.') && digits(self) == 0 {
            return false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if digits(self) == 0 {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_our_parser_cannot_hold_is_still_json() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for ok in [
            r#"{"a": "\ud83d"}"#,
            r#"{"n": 1e400, "m": -0.5E-7, "z": 0}"#,
            "\u{feff}{\"bom\": true}",
            deep.as_str(),
            r#" [1, "x", true, false, null, {"k": [ ]}, {}] "#,
            r#""just a string""#,
            r#"{"esc": "\"\\\/\b\f\n\r\t\u00e9"}"#,
        ] {
            assert!(is_json(ok.as_bytes()), "{ok}");
        }
        assert!(is_json(b"\xEF\xBB\xBF{}"));
    }

    #[test]
    fn what_is_not_json_is_not() {
        let unclosed = "[".repeat(200);
        for bad in [
            "",
            "{",
            "{\"this is\": not JSON, \"truncated",
            r#"{"a": 01}"#,
            r#"{"a": 1.}"#,
            r#"{"a": .5}"#,
            r#"{"a": 1e}"#,
            r#"{"a": +1}"#,
            r#"{"a": "\x"}"#,
            r#"{"a": "\u12"}"#,
            "{\"a\": \"raw\ttab\"}",
            r#"{"a": 1,}"#,
            r#"[1, 2,]"#,
            r#"{"a" 1}"#,
            r#"{a: 1}"#,
            r#"{"a": tru}"#,
            r#"{} {}"#,
            r#"{"a": NaN}"#,
            unclosed.as_str(),
            "\u{feff}\u{feff}{}",
        ] {
            assert!(!is_json(bad.as_bytes()), "{bad}");
        }
        assert!(!is_json(b"{\"a\": \"\xff\"}"), "not UTF-8");
    }
}
