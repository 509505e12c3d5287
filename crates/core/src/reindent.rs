//! A JSON text re-indented, one value a line, and nothing else changed:
//! keys keep their order, a key given twice shows twice, a number shows as
//! written. What `inbox show` and the dashboard show of a delivery's body:
//! a parsed `Value` sorted the keys, kept the last of two copies and
//! rounded `12345678901234567890123` to `1.2345678901234568e+22`, so the
//! body shown was not the one that arrived (helper-58's review).

use crate::parse::rfc8259;

/// The lines of `body` re-indented, each with whether it holds the first
/// value at `mark` (a serde path like `data.items[0].id`); `None` when the
/// body is not JSON by the grammar, or starts with a byte order mark (shown
/// as text, as it came).
pub fn reindent(body: &[u8], mark: Option<&str>) -> Option<Vec<(String, bool)>> {
    if body.starts_with(rfc8259::BOM) || !rfc8259::is_json(body) {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    Indenter::default().run(text, mark)
}

/// The deepest nesting shown re-indented (serde_json's recursion limit).
const MAX_DEPTH: usize = 128;

/// A container being shown: its path, and where it is among its values.
struct Frame {
    path: String,
    object: bool,
    /// The next element's index (arrays).
    index: usize,
    /// The key just read and not yet given its value (objects).
    key: Option<(String, String)>,
}

#[derive(Default)]
struct Indenter {
    stack: Vec<Frame>,
    lines: Vec<(String, bool)>,
    marked: bool,
}

impl Indenter {
    fn run(mut self, text: &str, mark: Option<&str>) -> Option<Vec<(String, bool)>> {
        let mut rest = text.trim_start();
        while let Some(c) = rest.chars().next() {
            let len = token_len(rest)?;
            let token = &rest[..len];
            match c {
                // Indents grow with depth: past serde_json's own limit the
                // body is shown as text, not as gigabytes of spaces.
                '{' | '[' if self.stack.len() >= MAX_DEPTH => return None,
                '{' | '[' => self.open(token, c == '{', mark),
                '}' | ']' => self.close(token),
                ',' => self.comma(),
                ':' => {}
                '"' if self.expects_key() => {
                    let name = serde_json::from_str::<String>(token).ok()?;
                    self.stack.last_mut()?.key = Some((token.to_string(), name));
                }
                _ => {
                    let (prefix, path) = self.next_value();
                    self.push(format!("{prefix}{token}"), &path, mark);
                }
            }
            rest = rest[len..].trim_start();
        }
        Some(self.lines)
    }

    fn expects_key(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|f| f.object && f.key.is_none())
    }

    /// The next value's line prefix (indent and key) and path.
    fn next_value(&mut self) -> (String, String) {
        let indent = "  ".repeat(self.stack.len());
        match self.stack.last_mut() {
            None => (indent, String::new()),
            Some(f) if f.object => {
                let (raw, name) = f.key.take().unwrap_or_default();
                let path = if f.path.is_empty() {
                    name
                } else {
                    format!("{}.{name}", f.path)
                };
                (format!("{indent}{raw}: "), path)
            }
            Some(f) => (indent, format!("{}[{}]", f.path, f.index)),
        }
    }

    fn open(&mut self, token: &str, object: bool, mark: Option<&str>) {
        let (prefix, path) = self.next_value();
        self.push(format!("{prefix}{token}"), &path, mark);
        self.stack.push(Frame {
            path,
            object,
            index: 0,
            key: None,
        });
    }

    fn close(&mut self, token: &str) {
        self.stack.pop();
        let indent = "  ".repeat(self.stack.len());
        // An empty container closes on its opening line: `{}`, `[]`.
        match self.lines.last_mut() {
            Some((line, _)) if line.ends_with(['{', '[']) => line.push_str(token),
            _ => self.lines.push((format!("{indent}{token}"), false)),
        }
    }

    fn comma(&mut self) {
        if let Some((line, _)) = self.lines.last_mut() {
            line.push(',');
        }
        if let Some(f) = self.stack.last_mut() {
            f.index += 1;
        }
    }

    fn push(&mut self, line: String, path: &str, mark: Option<&str>) {
        let marked = !self.marked && !path.is_empty() && mark == Some(path);
        self.marked |= marked;
        self.lines.push((line, marked));
    }
}

/// The length of the token at the start of `s` (a valid JSON text's).
fn token_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    match b.first()? {
        b'{' | b'}' | b'[' | b']' | b',' | b':' => Some(1),
        b'"' => crate::util::lex::string_end(b, 0).map(|(end, _)| end),
        _ => crate::util::lex::skip_value(b, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(body: &str, mark: Option<&str>) -> String {
        let lines = reindent(body.as_bytes(), mark).unwrap();
        lines
            .iter()
            .map(|(l, m)| {
                if *m {
                    format!("<{l}>\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect()
    }

    #[test]
    fn the_text_is_the_bodys_own_reindented() {
        let body = r#"{"z":1,"a":{"id":"x","id":"y"},"n":12345678901234567890123,"p":0.30000000000000004441,"e":{},"l":[],"s":"a,\"b}","u":[1,{"k":null}]}"#;
        assert_eq!(
            shown(body, None),
            r#"{
  "z": 1,
  "a": {
    "id": "x",
    "id": "y"
  },
  "n": 12345678901234567890123,
  "p": 0.30000000000000004441,
  "e": {},
  "l": [],
  "s": "a,\"b}",
  "u": [
    1,
    {
      "k": null
    }
  ]
}
"#
        );
    }

    #[test]
    fn the_value_at_a_path_is_marked_once() {
        let text = shown(
            r#"{"data":{"quoteId":5,"list":[1,{"x":null}]}}"#,
            Some("data.list[1].x"),
        );
        assert!(text.contains("<        \"x\": null>"), "{text}");
        let twice = shown(r#"{"a":{"b":1},"a":{"b":2}}"#, Some("a"));
        assert_eq!(twice.matches('<').count(), 1, "{twice}");
        assert!(reindent(b"{\"a\":", None).is_none());
        assert!(shown("[1e400]", None).contains("1e400"));
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        assert!(reindent(deep.as_bytes(), None).is_none());
        assert!(shown(" \"text\" ", Some("")).starts_with("\"text\""));
    }
}
