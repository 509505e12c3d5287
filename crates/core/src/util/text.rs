//! Vendor-controlled text made safe to show: in logs and terminals
//! (control characters escaped, length capped) and in HTML.

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
