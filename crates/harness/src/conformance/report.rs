//! What a conformance run found: each case's outcome, and the whole run as a
//! table, JSON (serde) or JUnit XML.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub outcome: Outcome,
    /// What failed, or (on a pass) what was checked.
    pub detail: String,
    /// The last step's status.
    pub status: Option<u16>,
    /// All steps' time together.
    pub latency_ms: Option<f64>,
    /// Every request the case sent, each with its answer and verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepResult>,
}

/// One request of a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    /// What the step is for ("a valid delivery signed with the wrong secret").
    pub what: String,
    /// What was sent: event, size, headers (credentials redacted).
    pub request: String,
    pub status: Option<u16>,
    pub ms: f64,
    pub ok: bool,
    /// The verdict in words.
    pub note: String,
}

/// Removes every secret (and everything derived from one) from text a
/// report shows, whatever the receiver echoed back.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// Adds a secret or a value derived from one; also its JSON-escaped and
    /// percent-encoded spellings, as an echoing receiver may write them.
    pub fn add(&mut self, secret: &str) {
        // Shorter than this, a derived value would blank out ordinary words.
        if secret.len() < 4 {
            return;
        }
        self.add_secret(secret);
    }

    /// Adds a configured secret, however short: it must never show. So must
    /// the key inside it: a Standard Webhooks secret without its `whsec_`
    /// (which Svix's libraries take as the secret), and a base64 key's bytes
    /// as text, hex and base64 again.
    pub fn add_secret(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        self.add_needles(secret);
        let key = secret.strip_prefix("whsec_").unwrap_or(secret);
        if key != secret && key.len() >= 4 {
            self.add_needles(key);
        }
        self.add_key_bytes(key);
    }

    /// A secret that is base64 (8 bytes or more decoded): its bytes in the
    /// spellings a receiver's debug output uses.
    fn add_key_bytes(&mut self, key: &str) {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let Some(bytes) = STANDARD.decode(key).ok().filter(|b| b.len() >= 8) else {
            return;
        };
        let hex = crate::util::hex(&bytes);
        for spelling in [
            hex.to_ascii_uppercase(),
            hex,
            URL_SAFE_NO_PAD.encode(&bytes),
        ] {
            self.add_needles(&spelling);
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            self.add_needles(text);
        }
    }

    fn add_needles(&mut self, secret: &str) {
        let json = serde_json::to_string(secret).expect("strings serialize");
        let json = json[1..json.len() - 1].to_string();
        let mut variants = vec![secret.to_string(), json.replace('/', "\\/"), json];
        let pct: String = secret
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b => format!("%{b:02X}"),
            })
            .collect();
        variants.push(pct);
        for v in variants {
            if !self.needles.contains(&v) {
                self.needles.push(v);
            }
        }
        // Longest first, so a secret inside a longer needle goes with it.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    pub fn clean(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), "[redacted]");
            }
        }
        out
    }

    /// Cleans every text of a case.
    pub fn case(&self, c: &mut CaseResult) {
        c.detail = self.clean(&c.detail);
        for s in &mut c.steps {
            s.what = self.clean(&s.what);
            s.request = self.clean(&s.request);
            s.note = self.clean(&s.note);
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub vendor: String,
    pub cases: Vec<CaseResult>,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Follow-up calls the receiver made to the sandboxed vendor API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<crate::conformance::sandbox::SandboxReport>,
    /// Answer times of the sample replays next to the vendor's budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
}

/// Answer times of the sample replays, in milliseconds, and the budget the
/// vendor waits before it counts a delivery as failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub replays: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub budget_ms: f64,
}

impl Timing {
    /// From the latencies of the replays; `None` when there are none.
    pub fn of(mut latencies: Vec<f64>, budget: std::time::Duration) -> Option<Timing> {
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            let idx = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[idx]
        };
        Some(Timing {
            replays: latencies.len(),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: latencies[latencies.len() - 1],
            budget_ms: budget.as_secs_f64() * 1000.0,
        })
    }

    /// The `<vendor>/budget` case: fails when the p99 reaches the budget.
    pub fn case(&self, vendor: &str) -> CaseResult {
        let summary = format!(
            "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} replays; the vendor waits {:.1} s",
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.replays,
            self.budget_ms / 1000.0
        );
        let late = self.p99_ms >= self.budget_ms;
        CaseResult {
            id: super::cases::budget_id(vendor),
            outcome: if late { Outcome::Fail } else { Outcome::Pass },
            detail: if late {
                format!(
                    "{summary}: the p99 answer time reaches the budget, so the vendor would count those deliveries as failed"
                )
            } else {
                summary
            },
            status: None,
            latency_ms: Some(self.p99_ms),
            steps: Vec::new(),
        }
    }
}

impl Report {
    /// A readable table, failures with their detail, and the counts.
    pub fn table(&self) -> String {
        let width = self.cases.iter().map(|c| c.id.len()).max().unwrap_or(10);
        let mut out = String::new();
        for c in &self.cases {
            let mark = match c.outcome {
                Outcome::Pass => "PASS",
                Outcome::Fail => "FAIL",
                Outcome::Skip => "SKIP",
            };
            let status = c.status.map_or("-".to_string(), |s| s.to_string());
            let ms = c
                .latency_ms
                .map_or("-".to_string(), |m| format!("{m:.0} ms"));
            out.push_str(&format!("{mark}  {:<width$}  {status:>3}  {ms:>8}\n", c.id));
            if c.outcome == Outcome::Pass {
                continue;
            }
            if c.steps.len() > 1 {
                for (i, s) in c.steps.iter().enumerate() {
                    let status = s.status.map_or("-".to_string(), |s| s.to_string());
                    let mark = if s.ok { "ok" } else { "FAILED" };
                    out.push_str(&format!(
                        "      step {}: {} -> {status} in {:.0} ms, {mark}: {}\n",
                        i + 1,
                        s.what,
                        s.ms,
                        s.note
                    ));
                }
            } else if !c.detail.is_empty() {
                out.push_str(&format!("      {}\n", c.detail));
            }
        }
        if let Some(sb) = &self.sandbox {
            out.push_str(&sb.table());
        }
        if let Some(t) = &self.timing {
            out.push_str(&format!(
                "answer times: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; budget {:.1} s\n",
                t.p50_ms,
                t.p99_ms,
                t.max_ms,
                t.budget_ms / 1000.0
            ));
        }
        out.push_str(&format!(
            "{}: {} passed, {} failed, {} skipped\n",
            self.vendor, self.passed, self.failed, self.skipped
        ));
        out
    }

    /// JUnit XML, one suite per report.
    pub fn junit(reports: &[Report]) -> String {
        let mut out = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hookforge check\">\n",
        );
        for r in reports {
            let time: f64 = r.cases.iter().filter_map(|c| c.latency_ms).sum::<f64>() / 1000.0;
            out.push_str(&format!(
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{time:.3}\">\n",
                xml(&r.vendor),
                r.cases.len(),
                r.failed,
                r.skipped
            ));
            for c in &r.cases {
                let t = c.latency_ms.unwrap_or(0.0) / 1000.0;
                out.push_str(&format!(
                    "    <testcase classname=\"hookforge.{}\" name=\"{}\" time=\"{t:.3}\"",
                    xml(&r.vendor),
                    xml(&c.id)
                ));
                match c.outcome {
                    Outcome::Pass => out.push_str("/>\n"),
                    Outcome::Fail => out.push_str(&format!(
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                        xml(&c.detail.chars().take(200).collect::<String>()),
                        xml(&c.detail)
                    )),
                    Outcome::Skip => out.push_str(&format!(
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        xml(&c.detail)
                    )),
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Escapes text for XML attributes and content.
fn xml(s: &str) -> String {
    hookforge_core::util::escape_markup(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver that echoes a Standard Webhooks secret without its prefix,
    /// or the key it holds as text or hex, has it scrubbed all the same.
    #[test]
    fn the_key_inside_a_secret_is_scrubbed_in_every_spelling() {
        use base64::Engine;
        let key = b"standard secret 0123456789";
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        let mut r = Redactor::default();
        r.add_secret(&format!("whsec_{b64}"));
        let echoed = format!(
            "secret={b64} text={} hex={} HEX={}",
            std::str::from_utf8(key).unwrap(),
            crate::util::hex(key),
            crate::util::hex(key).to_ascii_uppercase()
        );
        let cleaned = r.clean(&echoed);
        assert_eq!(
            cleaned,
            "secret=[redacted] text=[redacted] hex=[redacted] HEX=[redacted]"
        );
    }

    #[test]
    fn xml_escapes() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
