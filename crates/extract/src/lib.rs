//! Finding example payloads in vendor documentation text and repairing the
//! defects these docs really have, recording every repair in words a
//! reviewer can check against the doc.
//!
//! Vendor-independent: which event an example belongs to, and what replaces
//! a `"<string>"` placeholder, is decided by the caller (`samples.rs`).

/// One example found in a doc, repaired into valid JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// 1-based, inclusive line range of the example in the doc.
    pub lines: (usize, usize),
    /// The last few prose lines before the example (its heading, in practice).
    pub context: String,
    /// The repaired text (valid JSON), keeping the doc's layout.
    pub text: String,
    pub repairs: Vec<String>,
}

/// An example that could not be made valid JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Unrepairable {
    pub line: usize,
    pub message: String,
}

/// A line of an example with the doc line it came from.
#[derive(Debug, Clone)]
struct Line {
    no: usize,
    text: String,
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}')
}

/// Finds every example payload in `doc`: each balanced `{…}` region that
/// contains a `"key":` (or `"key" =>`) member, and each run of members at the
/// start of a line with no opening brace (a doc that lost the outer braces).
pub fn find_examples(doc: &str) -> Vec<Result<Example, Unrepairable>> {
    let lines: Vec<&str> = doc.split('\n').collect();
    let mut out = Vec::new();
    let mut prose: Vec<String> = Vec::new();
    // Current block: collected lines and brace depth.
    // Current block: collected lines, depth, repairs, and whether it is a
    // batch (an array: only then do brackets count toward its end, so a
    // truncated `"items": [` in an object example cannot swallow the doc).
    let mut block: Option<(Vec<Line>, usize, Vec<String>, bool)> = None;
    for (i, raw) in lines.iter().enumerate() {
        let no = i + 1;
        let mut rest: &str = raw;
        loop {
            match &mut block {
                None => {
                    if looks_like_member(rest) {
                        // Members without the outer `{`: depth starts at 1.
                        let repairs = vec![format!(
                            "added the missing outer `{{` before line {no} (the example starts with a bare member)"
                        )];
                        block = Some((Vec::new(), 1, repairs, false));
                        continue;
                    }
                    let array = array_start(rest);
                    let Some(pos) = array.or_else(|| rest.find('{')) else {
                        if !rest.trim().is_empty() {
                            prose.push(rest.trim().to_string());
                        }
                        break;
                    };
                    let before = &rest[..pos];
                    if !before.trim().is_empty() {
                        prose.push(before.trim().to_string());
                    }
                    let mut repairs = Vec::new();
                    if !before.trim().is_empty() {
                        repairs.push(format!(
                            "cut the example out of the prose it shares line {no} with"
                        ));
                    }
                    block = Some((Vec::new(), 0, repairs, array.is_some()));
                    rest = &rest[pos..];
                }
                Some((blines, depth, repairs, array)) => {
                    let (end, new_depth) = scan_depth(rest, *depth, *array);
                    *depth = new_depth;
                    match end {
                        None => {
                            blines.push(Line {
                                no,
                                text: rest.to_string(),
                            });
                            break;
                        }
                        Some(end) => {
                            blines.push(Line {
                                no,
                                text: rest[..end].to_string(),
                            });
                            let after = &rest[end..];
                            if !after.trim().is_empty() {
                                repairs.push(format!(
                                    "cut the example out of the prose it shares line {no} with"
                                ));
                            }
                            let (blines, _, repairs, _) = block.take().expect("in a block");
                            let context = prose
                                .iter()
                                .rev()
                                .take(3)
                                .rev()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(" / ");
                            if is_example(&blines) {
                                out.push(repair(blines, repairs, context));
                            }
                            prose.clear();
                            rest = after;
                        }
                    }
                }
            }
        }
    }
    if let Some((blines, _, _, _)) = block
        && is_example(&blines)
    {
        out.push(Err(Unrepairable {
            line: blines[0].no,
            message: "the example's braces never close before the end of the doc".into(),
        }));
    }
    out
}

/// `"key": …` or `"key" => …` at the start of a (trimmed) line, with a typographic
/// or plain quote.
fn looks_like_member(s: &str) -> bool {
    let t = s.trim_start();
    let mut chars = t.chars();
    if !chars.next().is_some_and(is_quote) {
        return false;
    }
    let rest: String = chars.collect();
    let Some(close) = rest.find(is_quote) else {
        return false;
    };
    let key = &rest[..close];
    let after = rest[close..].chars().skip(1).collect::<String>();
    let after = after.trim_start();
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.$@ ".contains(c))
        && (after.starts_with(':') || after.starts_with("=>"))
}

fn is_example(lines: &[Line]) -> bool {
    lines
        .iter()
        .any(|l| looks_like_member(&l.text) || has_member(&l.text))
}

/// A key and its colon anywhere on the line, with plain or typographic
/// quotes: a one-line `{“event_type”: “order.shipped”}` is an example too.
fn has_member(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        is_quote(*c) && chars[i + 1..].iter().find(|c| !c.is_whitespace()) == Some(&':')
    })
}

/// Where a JSON array of objects starts on the line: a `[` first on it,
/// followed by `{` or by nothing (the objects on the next lines). SendGrid
/// documents its batches so; taken from their first `{`, each element was
/// a sample of its own (helper-61's review). A `[` in prose (a Markdown
/// link) is not first on its line.
fn array_start(s: &str) -> Option<usize> {
    let pos = s.len() - s.trim_start().len();
    let after = s[pos..].strip_prefix('[')?.trim_start();
    (after.is_empty() || after.starts_with('{')).then_some(pos)
}

/// Scans `s` from brace depth `depth`; returns the byte offset just after the
/// brace that closes the block (if it closes on this line) and the new depth.
/// Braces inside string literals do not count; a string never spans lines.
fn scan_depth(s: &str, mut depth: usize, brackets: bool) -> (Option<usize>, usize) {
    for (i, c, code) in Literals::new(s, is_quote) {
        let (open, close) = match c {
            '{' => (true, false),
            '}' => (false, true),
            '[' => (brackets, false),
            ']' => (false, brackets),
            _ => (false, false),
        };
        if code && open {
            depth += 1;
        } else if code && close {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return (Some(i + 1), 0);
            }
        }
    }
    (None, depth)
}

/// Walks a line's characters, saying of each whether it is code (outside a
/// string literal, and not one of its quotes). A string never spans lines.
struct Literals<'a, Q> {
    chars: std::str::CharIndices<'a>,
    quote: Q,
    in_str: bool,
    escaped: bool,
}

impl<'a, Q: Fn(char) -> bool> Literals<'a, Q> {
    fn new(s: &'a str, quote: Q) -> Self {
        Literals {
            chars: s.char_indices(),
            quote,
            in_str: false,
            escaped: false,
        }
    }
}

impl<Q: Fn(char) -> bool> Iterator for Literals<'_, Q> {
    type Item = (usize, char, bool);
    fn next(&mut self) -> Option<Self::Item> {
        let (i, c) = self.chars.next()?;
        if self.in_str {
            if self.escaped {
                self.escaped = false;
            } else if c == '\\' {
                self.escaped = true;
            } else if (self.quote)(c) {
                self.in_str = false;
            }
            return Some((i, c, false));
        }
        if (self.quote)(c) {
            self.in_str = true;
            return Some((i, c, false));
        }
        Some((i, c, true))
    }
}

fn plain_quote(c: char) -> bool {
    c == '"'
}

fn line_list(nos: &[usize]) -> String {
    let mut nos = nos.to_vec();
    nos.dedup();
    let s: Vec<String> = nos.iter().map(|n| n.to_string()).collect();
    match s.len() {
        1 => format!("line {}", s[0]),
        _ => format!("lines {}", s.join(", ")),
    }
}

/// Runs every repair in a fixed order, then checks the result parses.
fn repair(
    mut lines: Vec<Line>,
    mut repairs: Vec<String>,
    context: String,
) -> Result<Example, Unrepairable> {
    let first = lines.first().map_or(0, |l| l.no);
    let last = lines.last().map_or(0, |l| l.no);
    let braceless = repairs
        .iter()
        .any(|r| r.starts_with("added the missing outer"));

    typographic_quotes(&mut lines, &mut repairs);
    broken_strings(&mut lines, &mut repairs);
    comments(&mut lines, &mut repairs);
    hash_rockets(&mut lines, &mut repairs);
    missing_commas(&mut lines, &mut repairs);
    trailing_commas(&mut lines, &mut repairs);
    obfuscated_emails(&mut lines, &mut repairs);

    let mut text: String = lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    if braceless {
        text = format!("{{\n{text}");
    }
    text.push('\n');
    match serde_json::from_str::<serde_json::Value>(&text) {
        // An object, or a batch of them (a vendor that posts arrays).
        Ok(serde_json::Value::Object(_)) => Ok(Example {
            lines: (first, last),
            context,
            text,
            repairs,
        }),
        Ok(serde_json::Value::Array(items))
            if !items.is_empty() && items.iter().all(|i| i.is_object()) =>
        {
            Ok(Example {
                lines: (first, last),
                context,
                text,
                repairs,
            })
        }
        Ok(_) => Err(Unrepairable {
            line: first,
            message: "the example is valid JSON but not an object".into(),
        }),
        Err(e) => {
            // Map the error's line in the repaired text back to the doc.
            let idx = e.line().saturating_sub(1 + usize::from(braceless));
            let line = lines.get(idx).map_or(first, |l| l.no);
            Err(Unrepairable {
                line,
                message: format!("still not valid JSON after repairs ({e})"),
            })
        }
    }
}

/// Typographic quotes → `"`.
fn typographic_quotes(lines: &mut [Line], repairs: &mut Vec<String>) {
    let typo: Vec<usize> = lines
        .iter()
        .filter(|l| l.text.contains(['\u{201C}', '\u{201D}']))
        .map(|l| l.no)
        .collect();
    if !typo.is_empty() {
        for l in lines.iter_mut() {
            l.text = l.text.replace(['\u{201C}', '\u{201D}'], "\"");
        }
        repairs.push(format!(
            "replaced typographic quotes (“ ”) with \" on {}",
            line_list(&typo)
        ));
    }
}

/// A string literal broken across lines: joined while a line ends inside a string.
fn broken_strings(lines: &mut Vec<Line>, repairs: &mut Vec<String>) {
    let mut i = 0;
    while i < lines.len() {
        if ends_inside_string(&lines[i].text) && i + 1 < lines.len() {
            let next = lines.remove(i + 1);
            repairs.push(format!(
                "joined the string literal broken across lines {}-{} (dropped the line break inside it)",
                lines[i].no, next.no
            ));
            lines[i].text.push_str(next.text.trim_start());
        } else {
            i += 1;
        }
    }
}

/// `//` comments outside strings: removed.
fn comments(lines: &mut Vec<Line>, repairs: &mut Vec<String>) {
    let mut removed = Vec::new();
    for l in lines.iter_mut() {
        if let Some(pos) = outside_strings(&l.text, "//") {
            let comment = l.text[pos..].trim().to_string();
            l.text.truncate(pos);
            l.text = l.text.trim_end().to_string();
            removed.push(format!("`{comment}` (line {})", l.no));
        }
    }
    if !removed.is_empty() {
        repairs.push(format!("removed comments: {}", removed.join(", ")));
        lines.retain(|l| !l.text.trim().is_empty());
    }
}

/// Ruby hash rockets `=>` → `:`.
fn hash_rockets(lines: &mut [Line], repairs: &mut Vec<String>) {
    let mut rockets = Vec::new();
    for l in lines.iter_mut() {
        while let Some(pos) = outside_strings(&l.text, "=>") {
            l.text.replace_range(pos..pos + 2, ":");
            rockets.push(l.no);
        }
    }
    if !rockets.is_empty() {
        repairs.push(format!(
            "replaced Ruby `=>` with `:` on {}",
            line_list(&rockets)
        ));
    }
}

/// A missing comma between two members (or array items) on consecutive lines.
fn missing_commas(lines: &mut [Line], repairs: &mut Vec<String>) {
    for i in 0..lines.len().saturating_sub(1) {
        let cur = lines[i].text.trim_end();
        let next = lines[i + 1].text.trim_start();
        let ends_value = cur.ends_with(['"', '}', ']'])
            || cur.ends_with("null")
            || cur.ends_with("true")
            || cur.ends_with("false")
            || cur.ends_with(|c: char| c.is_ascii_digit());
        let next_starts_item = next.starts_with(['"', '{', '[']);
        if ends_value && next_starts_item {
            let no = lines[i].no;
            lines[i].text = format!("{cur},");
            repairs.push(format!(
                "inserted the missing comma at the end of line {no}"
            ));
        }
    }
}

/// Trailing commas before `}` or `]`, across lines and within one.
fn trailing_commas(lines: &mut [Line], repairs: &mut Vec<String>) {
    let mut trailing = Vec::new();
    for i in 0..lines.len() {
        let cur = lines[i].text.trim_end();
        if !cur.ends_with(',') {
            continue;
        }
        let next = lines[i + 1..]
            .iter()
            .map(|l| l.text.trim_start())
            .find(|t| !t.is_empty());
        if next.is_some_and(|t| t.starts_with(['}', ']'])) {
            trailing.push(lines[i].no);
            lines[i].text = cur[..cur.len() - 1].to_string();
        }
    }
    // Within a line too: `1, }` / `"a", ]`.
    for l in lines.iter_mut() {
        if remove_inline_trailing_commas(&mut l.text) {
            trailing.push(l.no);
        }
    }
    if !trailing.is_empty() {
        trailing.sort();
        repairs.push(format!(
            "removed trailing commas on {}",
            line_list(&trailing)
        ));
    }
}

/// E-mail addresses hidden by the page's obfuscation → placeholders.
fn obfuscated_emails(lines: &mut [Line], repairs: &mut Vec<String>) {
    let mut emails = Vec::new();
    for l in lines.iter_mut() {
        if l.text.contains("[email protected]") {
            let key = key_of(&l.text).unwrap_or_else(|| "contact".into());
            let local = email_local_part(&key);
            let addr = format!("{local}@example.com");
            l.text = l.text.replace("[email protected]", &addr);
            emails.push(format!("`{key}` on line {} → {addr}", l.no));
        }
    }
    if !emails.is_empty() {
        repairs.push(format!(
            "e-mail addresses shown as \"[email protected]\" by the page's e-mail obfuscation (originals unknown) replaced by placeholders at example.com: {}",
            emails.join(", ")
        ));
    }
}

/// Removes `,` followed (after spaces) by `}` or `]` within one line,
/// outside strings. Returns whether it removed any.
fn remove_inline_trailing_commas(s: &mut String) -> bool {
    let mut comma: Option<usize> = None;
    let mut remove = Vec::new();
    for (i, c, code) in Literals::new(s, plain_quote) {
        match c {
            _ if !code => comma = None,
            ',' => comma = Some(i),
            '}' | ']' => {
                if let Some(at) = comma.take() {
                    remove.push(at);
                }
            }
            c if c.is_whitespace() => {}
            _ => comma = None,
        }
    }
    for at in remove.iter().rev() {
        s.remove(*at);
    }
    !remove.is_empty()
}

/// Whether a line ends inside an open string literal.
fn ends_inside_string(s: &str) -> bool {
    let mut it = Literals::new(s, plain_quote);
    it.by_ref().for_each(drop);
    it.in_str
}

/// Byte offset of the first `pat` outside string literals.
fn outside_strings(s: &str, pat: &str) -> Option<usize> {
    Literals::new(s, plain_quote)
        .find(|&(i, _, code)| code && s[i..].starts_with(pat))
        .map(|(i, _, _)| i)
}

/// The member key at the start of a line, if any.
fn key_of(line: &str) -> Option<String> {
    let t = line.trim_start().strip_prefix('"')?;
    Some(t[..t.find('"')?].to_string())
}

/// `customerEmail` → `customer`, `agent_email` → `agent`, `email` → `contact`.
fn email_local_part(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    let stem = lower.trim_end_matches("email").trim_end_matches(['_', '-']);
    if stem.is_empty() {
        "contact".into()
    } else {
        stem.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A documented batch (`[ {…}, {…} ]`, SendGrid's) is one example, and
    /// a one-line example with typographic quotes is found; a Markdown link
    /// is not an array. Before, the batch gave one sample per element and
    /// the one-liner none (helper-61's review).
    #[test]
    fn batches_stay_whole_and_one_liners_are_found() {
        let doc = "Events come in a batch, see [the docs](x):\n[\n  {\"event\": \"open\", \"n\": 1},\n  {\"event\": \"click\", \"n\": 2}\n]\nAnd one shipped:\n{“event_type”: “order.shipped”, “id”: 7}\n";
        let found: Vec<Example> = find_examples(doc).into_iter().map(Result::unwrap).collect();
        assert_eq!(
            found.len(),
            2,
            "{:?}",
            found.iter().map(|e| &e.text).collect::<Vec<_>>()
        );
        let batch: serde_json::Value = serde_json::from_str(&found[0].text).unwrap();
        assert_eq!(batch[1]["event"], "click");
        let one: serde_json::Value = serde_json::from_str(&found[1].text).unwrap();
        assert_eq!(one["event_type"], "order.shipped");
        // An object example cut short inside an array still ends at its
        // brace: the next example is found (helper-62's review).
        let cut = "{\n  \"items\": [\n  ...\n}\nNext:\n{\"event\": \"x\"}\n";
        let found = find_examples(cut);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[1].as_ref().is_ok_and(|e| e.text.contains("\"x\"")));
    }

    /// Each fixture is a small doc with one defect kind; `<name>.txt` must
    /// extract to exactly `<name>.json` with a repair mentioning `<name>.repair`.
    #[test]
    fn each_defect_kind_is_repaired_and_recorded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/extract");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                (p.extension()? == "txt").then(|| p.file_stem()?.to_str().map(String::from))?
            })
            .collect();
        names.sort();
        assert!(names.len() >= 9, "fixtures: {names:?}");
        for name in names {
            let doc = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
            let want = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
            let repair_word = std::fs::read_to_string(dir.join(format!("{name}.repair"))).unwrap();
            let found = find_examples(&doc);
            assert_eq!(found.len(), 1, "{name}: {found:?}");
            let ex = found[0].clone().unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(ex.text, want, "{name}");
            let repair_word = repair_word.trim();
            if repair_word.is_empty() {
                assert!(ex.repairs.is_empty(), "{name}: {:?}", ex.repairs);
            } else {
                assert!(
                    ex.repairs.iter().any(|r| r.contains(repair_word)),
                    "{name}: no repair mentions {repair_word:?}: {:?}",
                    ex.repairs
                );
            }
        }
    }

    #[test]
    fn unrepairable_examples_are_reported_with_their_line() {
        let doc = "Intro\n{\n  \"a\": 1,\n  \"b\": [1 2 3]\n}\n";
        let found = find_examples(doc);
        let err = found[0].clone().unwrap_err();
        assert_eq!(err.line, 4, "{err:?}");
        assert!(err.message.contains("not valid JSON"), "{err:?}");
        let doc = "{\n  \"a\": {\n    \"b\": 1\n";
        let err = find_examples(doc)[0].clone().unwrap_err();
        assert!(err.message.contains("never close"), "{err:?}");
    }

    #[test]
    fn prose_braces_are_not_examples() {
        let doc = "Sent as Authorization: Bearer {secret}.\nGET /v1/quotes/{quoteId}\n";
        assert!(find_examples(doc).is_empty());
    }

    #[test]
    fn several_examples_on_shared_lines() {
        let doc = "{\n\"a\": 1\n}{\n\"a\": 2\n}Trailing prose\n";
        let found: Vec<Example> = find_examples(doc).into_iter().map(Result::unwrap).collect();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].lines, (1, 3));
        assert_eq!(found[1].lines, (3, 5));
        assert!(found[1].repairs.iter().any(|r| r.contains("prose")));
    }
}
