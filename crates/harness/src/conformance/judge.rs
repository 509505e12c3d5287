//! Verdicts: each step's answer by the vendor's rules, then, with an
//! observer, what the receiver's handler did with the delivery.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::VendorSpec;
use crate::conformance::cases::{Expect, Origin, Refusal};
use crate::conformance::observe::{Handled, payload_difference};
use crate::manifest::StatusPattern;

/// What came back for one request.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Status {
        status: u16,
        text: String,
        /// The answer's headers (handshakes that must echo one: Asana).
        headers: http::HeaderMap,
    },
    Redirect {
        status: u16,
        location: String,
    },
    /// No HTTP answer: timeout, refused connection, TLS failure.
    Nothing(String),
}

impl Answer {
    pub fn status(&self) -> Option<u16> {
        match self {
            Answer::Status { status, .. } | Answer::Redirect { status, .. } => Some(*status),
            Answer::Nothing(_) => None,
        }
    }
}

/// A step's verdict so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub ok: bool,
    pub note: String,
    /// A 2xx only the observer can judge: to a delivery that had to be
    /// refused (harmless only if the handler did not run), or to one whose
    /// handler failed (harmless only if the receiver handles it later).
    pub unconfirmed_2xx: bool,
}

impl Verdict {
    pub(crate) fn pass(note: String) -> Verdict {
        Verdict {
            ok: true,
            note,
            unconfirmed_2xx: false,
        }
    }
    pub(crate) fn fail(note: String) -> Verdict {
        Verdict {
            ok: false,
            note,
            unconfirmed_2xx: false,
        }
    }
}

/// Judges an answer by the vendor's success rule, or by what the vendor
/// counts as a refusal: by default any 4xx (GitHub, Stripe and Svix retry
/// every non-2xx alike, and their libraries answer 400); a 5xx is a crash;
/// a 2xx means the vendor counts the delivery as delivered.
pub(crate) fn answer(vendor: &VendorSpec, expect: Expect, got: &Answer, observed: bool) -> Verdict {
    let success = &vendor.manifest().success;
    let (status, text) = match got {
        Answer::Nothing(why) => return Verdict::fail(why.clone()),
        Answer::Redirect { status, location } => {
            return Verdict::fail(format!(
                "answered {status} redirecting to {location}: vendors do not follow redirects, so every delivery to this URL would be lost"
            ));
        }
        Answer::Status { status, text, .. } => (*status, text),
    };
    let refusal = match expect {
        Expect::Success if success.accepts(status) => {
            return Verdict::pass(format!("answered {status} (success)"));
        }
        Expect::Success => {
            return Verdict::fail(format!(
                "expected success ({}), got {status}: {text:?}",
                StatusPattern::list(&success.statuses, " or ")
            ));
        }
        Expect::Refusal(r) => r,
        // Judged by `handshake`.
        Expect::Handshake => return Verdict::fail("a handshake judged as a delivery".into()),
        Expect::HandlerFails => return failed_handler_answer(vendor, status),
    };
    refusal_answered(vendor, refusal, (status, text), observed)
}

/// Judges the answer to a delivery whose handler failed on purpose: the
/// vendor must see a status it retries.
fn failed_handler_answer(vendor: &VendorSpec, status: u16) -> Verdict {
    let success = &vendor.manifest().success;
    if success.accepts(status) {
        return Verdict {
            ok: true,
            note: format!("answered {status} though its handler failed"),
            unconfirmed_2xx: true,
        };
    }
    // A status the vendor documents as final (HubSpot's 400 to 405,
    // Okta's and Zoom's 4xx) is never retried.
    let refused = success.refused.as_deref().unwrap_or_default();
    if refused.iter().any(|p| p.matches(status)) {
        return Verdict::fail(format!(
            "answered {status} when its handler failed, but {} does not retry {}: the event is \
             lost; answer 5xx (or 429) when handling fails",
            vendor.name,
            StatusPattern::list(refused, " or ")
        ));
    }
    Verdict::pass(format!(
        "answered {status} when its handler failed: the vendor retries it"
    ))
}

/// Judges the answer to a delivery the receiver must refuse.
fn refusal_answered(
    vendor: &VendorSpec,
    refusal: Refusal,
    (status, text): (u16, &String),
    observed: bool,
) -> Verdict {
    let success = &vendor.manifest().success;
    if success.refuses(status) {
        let clearer =
            refusal == Refusal::Auth && success.refused.is_none() && !matches!(status, 401 | 403);
        return Verdict::pass(if clearer {
            format!("refused with {status} (401 or 403 is the clearer answer)")
        } else {
            format!("refused with {status}")
        });
    }
    if status >= 500 {
        return Verdict::fail(format!(
            "answered {status}: crashed instead of refusing (the vendor retries a 5xx, again and again): {text:?}"
        ));
    }
    if success.accepts(status) {
        let what = match refusal {
            Refusal::Auth => "an unauthenticated delivery",
            Refusal::Malformed => "a body that is not JSON",
        };
        // A 2xx to a failed authentication is a fault even if the handler
        // never runs: with a wrong secret (a rotation, a typo) every real
        // delivery is then acknowledged and dropped, and the vendor neither
        // retries nor alerts (helper-70 seeded such a receiver; it passed).
        if refusal == Refusal::Auth {
            return Verdict::fail(format!(
                "answered {status} to {what}: the vendor counts it as delivered, so with a wrong secret \
                 (a rotation, a typo) every real delivery would be acknowledged and lost, and the vendor \
                 would neither retry nor alert; refuse it with 401 or 403"
            ));
        }
        if observed {
            return Verdict {
                ok: true,
                note: format!("answered {status} to {what}"),
                unconfirmed_2xx: true,
            };
        }
        return Verdict::fail(format!(
            "answered {status} to {what}: the vendor counts it as delivered (run with --observe to show the handler did not run)"
        ));
    }
    let documented = match &success.refused {
        Some(p) => format!(
            "{} documents {} as a refusal",
            vendor.name,
            StatusPattern::list(p, " or ")
        ),
        None => "a refusal is a 4xx".into(),
    };
    Verdict::fail(format!("answered {status}; {documented}: {text:?}"))
}

/// Judges the answer to a handshake against the one the vendor requires:
/// the same status and body (JSON compared as JSON; a text answer also in
/// the other forms the vendor's manifest says it accepts).
pub(crate) fn handshake(
    vendor: &VendorSpec,
    required: &crate::handshake::Answer,
    got: &Answer,
) -> Verdict {
    let (status, text) = match got {
        Answer::Nothing(why) => return Verdict::fail(why.clone()),
        Answer::Redirect { status, location } => {
            return Verdict::fail(format!(
                "answered {status} redirecting to {location}: {} does not follow redirects",
                vendor.name
            ));
        }
        Answer::Status {
            status,
            text,
            headers,
        } => {
            if let Some(missing) = missing_header(required, headers) {
                // The value may be a secret (Asana's): named, never shown.
                return Verdict::fail(format!(
                    "answered {status} without echoing header `{missing}` with the value sent: {} requires it, or it does not send events to this URL",
                    vendor.name
                ));
            }
            (*status, text.as_str())
        }
    };
    let want = String::from_utf8_lossy(&required.body);
    let as_json = |t: &str| serde_json::from_str::<Value>(t).ok();
    let same = match (as_json(&want), as_json(text)) {
        (Some(w), Some(g)) if want.trim_start().starts_with(['{', '[']) => w == g,
        _ => {
            text.trim() == want.trim()
                || (required.also.iter()).any(|form| carries(form, text, want.trim()))
        }
    };
    let accepted = status == required.status || required.also_statuses.contains(&status);
    // A 204 carries no body: the answer is its status (and headers) alone.
    if accepted && (same || (status == 204 && text.is_empty())) {
        return Verdict::pass(format!("answered {status} as {} requires", vendor.name));
    }
    Verdict::fail(format!(
        "answered {status} {text:?}; {} requires {} {want:?} ({}), or it does not send events to this URL",
        vendor.name, required.status, required.content_type
    ))
}

/// Whether `text` is `want` in another form the vendor accepts (Slack's
/// `challenge=…` or `{"challenge": …}`); only the forms it documents, since
/// another vendor (Meta) takes the text alone.
fn carries(form: &crate::manifest::AnswerForm, text: &str, want: &str) -> bool {
    use crate::manifest::AnswerForm;
    match form {
        AnswerForm::JsonField(name) => serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.get(name)?.as_str().map(|got| got == want))
            .unwrap_or(false),
        AnswerForm::FormField(name) => form_urlencoded::parse(text.trim().as_bytes())
            .any(|(k, v)| k == name.as_str() && v == want),
    }
}

/// A header the required answer has that the answer lacks (or carries
/// with another value).
fn missing_header<'a>(
    required: &'a crate::handshake::Answer,
    headers: &http::HeaderMap,
) -> Option<&'a str> {
    required
        .headers
        .iter()
        .find(|(name, value)| {
            headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .is_none_or(|got| got.trim() != value.trim())
        })
        .map(|(name, _)| name.as_str())
}

/// How a key without an event id starts: the body's digest follows.
const ID_LESS: &str = "sha256:";

/// What the harness sent, by delivery: the event id (or, for a vendor that
/// sends none, the body's digest) and every body sent under it.
#[derive(Default)]
pub(crate) struct Sent {
    bodies: HashMap<String, Vec<Value>>,
    /// Keys in the order first sent, authentic ones marked: a report with no
    /// usable id goes to the first authentic key whose body it equals that
    /// has no report yet.
    order: Vec<(String, bool)>,
    /// Keys sent at least once as a delivery to refuse.
    refused: std::collections::HashSet<String>,
    /// How many times each key was sent as an authentic delivery.
    authentic_sends: HashMap<String, usize>,
    /// Keys whose first delivery's handler was made to fail.
    failed: std::collections::HashSet<String>,
}

impl Sent {
    /// `key`'s first delivery had its handler fail (`retry/after-failure`).
    pub fn failed_first(&mut self, key: &str) {
        self.failed.insert(key.to_string());
    }

    /// The key a step's delivery is known by: its event id, else the
    /// body's digest; for `manifest`'s vendor the digest
    /// leaves out the fields it changes on every attempt (HubSpot's
    /// `attemptNumber`), so its retry is the same delivery, as `serve`
    /// keys it.
    pub fn vendor_key(
        manifest: Option<&crate::manifest::Manifest>,
        event_id: Option<&str>,
        body: &[u8],
    ) -> String {
        match (event_id, manifest) {
            (Some(id), _) => id.to_string(),
            (None, Some(m)) => {
                let key = crate::util::vendor_dedupe_key(m, None, body);
                format!("{ID_LESS}{}", key.trim_start_matches("sha256:"))
            }
            (None, None) => format!("{ID_LESS}{}", crate::util::sha256_hex(body)),
        }
    }

    pub fn add(&mut self, key: &str, body: &[u8], authentic: bool) {
        let entry = self.bodies.entry(key.to_string()).or_default();
        if let Ok(v) = serde_json::from_slice::<Value>(body) {
            entry.push(v);
        }
        if authentic {
            *self.authentic_sends.entry(key.to_string()).or_default() += 1;
        } else {
            self.refused.insert(key.to_string());
        }
        match self.order.iter_mut().find(|(k, _)| k == key) {
            Some((_, a)) => *a |= authentic,
            None => self.order.push((key.to_string(), authentic)),
        }
    }

    /// Keys sent both as a delivery to refuse and as an authentic one.
    fn refused_first(&self) -> std::collections::HashSet<String> {
        let authentic = self.order.iter().filter(|(_, a)| *a).map(|(k, _)| k);
        authentic
            .filter(|k| self.refused.contains(*k))
            .cloned()
            .collect()
    }

    /// Where a report without a known id belongs. One that carries a case
    /// mark (`x_hookforge_nonce`) goes to the delivery with that mark,
    /// whatever else it changed. One without goes, in this order, to a
    /// delivery equal to it to the letter and sent more often than reported
    /// (two samples with the same bytes); a marked one equal to it but for
    /// the mark and not yet reported (a receiver whose model drops the
    /// mark); any delivery equal to it (handled again); any marked one equal
    /// but for the mark.
    fn by_payload(&self, payload: &Value, taken: &HashMap<String, Vec<Handled>>) -> Option<String> {
        use crate::conformance::observe::{same_payload, same_payload_exactly};
        let bodies = |k: &String| self.bodies.get(k).map_or(&[][..], Vec::as_slice);
        let reported = |k: &String| taken.get(k).map_or(0, Vec::len);
        let room = |(k, _): &&(String, bool)| {
            reported(k) < self.authentic_sends.get(k).copied().unwrap_or(0)
        };
        let marked = |(k, _): &&(String, bool)| bodies(k).iter().any(|b| mark_of(b).is_some());
        let equal = |k: &String| bodies(k).iter().any(|b| same_payload_exactly(b, payload));
        let loose = |k: &String| bodies(k).iter().any(|b| same_payload(b, payload));
        let keys = || self.order.iter();
        let found = match mark_of(payload) {
            Some(mark) => {
                let carries =
                    |(k, _): &&(String, bool)| bodies(k).iter().any(|b| mark_of(b) == Some(mark));
                (keys().filter(room).find(carries)).or_else(|| keys().find(carries))
            }
            None => (keys().filter(room).find(|(k, _)| equal(k)))
                .or_else(|| keys().filter(marked).filter(room).find(|(k, _)| loose(k)))
                .or_else(|| keys().find(|(k, _)| equal(k)))
                .or_else(|| keys().filter(marked).find(|(k, _)| loose(k))),
        };
        found.map(|(k, _)| k.clone())
    }
}

/// The mark that tells a case's delivery apart (`x_hookforge_nonce`, at the
/// top or in a batch's first event), if the body carries one.
fn mark_of(body: &Value) -> Option<&str> {
    let top = match body {
        Value::Array(events) => events.first()?,
        other => other,
    };
    top.get("x_hookforge_nonce")?.as_str()
}

/// The receiver's reports, matched to what was sent: by the id it read,
/// else by the payload it handled.
pub(crate) struct Observed {
    by_key: HashMap<String, Vec<Handled>>,
    /// Every body sent under each key.
    sent_bodies: HashMap<String, Vec<Value>>,
    /// Keys sent both as a delivery to refuse and as an authentic one
    /// (`auth/refused-then-valid`).
    refused_first: std::collections::HashSet<String>,
    /// How many times each key was sent as an authentic delivery.
    authentic_sends: HashMap<String, usize>,
    /// Keys whose first delivery's handler was made to fail.
    failed_first: std::collections::HashSet<String>,
    pub unmatched: Vec<Handled>,
    pub total: usize,
    pub settle: Duration,
    /// The bodies carry ids a receiver dedupes on though the vendor names
    /// no event id (`delivery.fresh_ids`: HubSpot's eventId): its retry is
    /// not to be taken for a new event.
    pub ids_in_body: bool,
}

impl Observed {
    pub fn match_reports(sent: &Sent, reports: Vec<Handled>, settle: Duration) -> Observed {
        let mut by_key: HashMap<String, Vec<Handled>> = HashMap::new();
        let mut unmatched = Vec::new();
        let total = reports.len();
        for r in reports {
            let by_id = r
                .event_id
                .as_deref()
                .filter(|id| sent.bodies.contains_key(*id))
                .map(str::to_string);
            let key = by_id.or_else(|| sent.by_payload(&r.payload, &by_key));
            match key {
                Some(k) => by_key.entry(k).or_default().push(r),
                None => unmatched.push(r),
            }
        }
        Observed {
            by_key,
            sent_bodies: sent.bodies.clone(),
            refused_first: sent.refused_first(),
            authentic_sends: sent.authentic_sends.clone(),
            failed_first: sent.failed.clone(),
            unmatched,
            total,
            settle,
            ids_in_body: false,
        }
    }

    /// An authentic delivery handled once: passes when the payload reported
    /// is one of the bodies sent under its key (documented samples may
    /// share an id), else names what changed.
    fn payload_verdict(&self, key: &str, body: &[u8], got: &Value, verdict: Verdict) -> Verdict {
        let same_id = self.sent_bodies.get(key).map_or(&[][..], Vec::as_slice);
        if same_id.iter().any(|b| payload_difference(b, got).is_none()) {
            let shared = if same_id.len() > 1 {
                format!(" (its id is shared by {} bodies sent)", same_id.len())
            } else {
                String::new()
            };
            return Verdict::pass(format!(
                "{}; handled once, payload intact{shared}",
                verdict.note
            ));
        }
        let sent: Option<Value> = serde_json::from_slice(body).ok();
        let diff = sent
            .and_then(|s| payload_difference(&s, got))
            .unwrap_or_else(|| "not the JSON sent".into());
        Verdict::fail(format!(
            "{}, handled once, but the payload changed: {diff}",
            verdict.note
        ))
    }

    /// Judges a step again with what its handler did; `origin`: where the
    /// step's delivery comes from (a sample keeps its id in every run).
    pub fn judge(
        &self,
        expect: Expect,
        key: &str,
        body: &[u8],
        verdict: Verdict,
        origin: Origin,
    ) -> Verdict {
        let all = self.by_key.get(key).map_or(&[][..], Vec::as_slice);
        // Under a key sent refused and then authentic, each report belongs
        // to the delivery whose body it carries (the refused one is marked).
        let shared = self.refused_first.contains(key);
        let refused_body = |h: &Handled| {
            h.payload
                .get(crate::conformance::cases::REFUSED_MARK)
                .is_some()
        };
        let handled: Vec<Handled> = match expect {
            Expect::Refusal(_) if shared => {
                all.iter().filter(|h| refused_body(h)).cloned().collect()
            }
            Expect::Success if shared => all.iter().filter(|h| !refused_body(h)).cloned().collect(),
            _ => all.to_vec(),
        };
        let n = handled.len();
        let within = format!("{:.1} s", self.settle.as_secs_f64());
        match expect {
            Expect::Success if !verdict.ok => verdict,
            Expect::Success if n == 0 && shared => Verdict::fail(format!(
                "{}, but its handler never ran within {within}: a delivery with the same id was refused just before, \
                 and a receiver that records the id before verifying takes this one for a duplicate and loses it",
                verdict.note
            )),
            Expect::Success if n == 0 && self.failed_first.contains(key) => Verdict::fail(format!(
                "{}, but its handler never ran within {within}: this is the vendor's retry of a delivery \
                 whose handler failed, and a receiver that keeps the id recorded after a failure takes \
                 the retry for a duplicate and loses the event",
                verdict.note
            )),
            Expect::Success if n == 0 && origin == Origin::UnknownType => Verdict::pass(format!(
                "{}; its handler did not run within {within}, which is fine for a type your code does not know \
                 if you keep or log it (hookforge's models keep it as `Unknown` with its raw JSON)",
                verdict.note
            )),
            Expect::Success if n == 0 && origin == Origin::Documented => Verdict::fail(format!(
                "{}, but its handler never ran within {within}: the vendor will not send it again, so it is lost \
                 (a documented sample keeps its id: if this receiver handled it in an earlier run, restart it with an empty store)",
                verdict.note
            )),
            Expect::Success if n == 0 => Verdict::fail(format!(
                "{}, but its handler never ran within {within}: the vendor will not send it again, so it is lost \
                 (its id is new to this run: a receiver that took it for a duplicate dedupes on something coarser than the event id)",
                verdict.note
            )),
            // Without an id (the key is the body's digest) a receiver
            // cannot tell the vendor's retry from a new event.
            Expect::Success
                if n > 1
                    && key.starts_with(ID_LESS)
                    && !self.ids_in_body
                    && n <= self.authentic_sends.get(key).copied().unwrap_or(0) =>
            {
                Verdict::pass(format!(
                    "{}; handled {n}× for the {n} times it was sent: the vendor sends no event id, so a \
                     receiver cannot tell its retry from a new event (deduplicate on a digest of the body \
                     if handling twice matters)",
                    verdict.note
                ))
            }
            Expect::Success if n > 1 => Verdict::fail(format!(
                "{}, and its handler ran {n} times for the same delivery (id {key})",
                verdict.note
            )),
            Expect::Success => self.payload_verdict(key, body, &handled[0].payload, verdict),
            // Handing a verified handshake to the handler loses nothing; say
            // so, and let it pass.
            Expect::Handshake if n > 0 => Verdict::pass(format!(
                "{}; its handler ran too ({n}×), harmless if it ignores handshakes, which are not events",
                verdict.note
            )),
            Expect::Handshake => verdict,
            Expect::HandlerFails => handler_failed(verdict, n, &within),
            Expect::Refusal(_) if n > 0 => Verdict::fail(format!(
                "{}, but its handler ran ({n}×) for a delivery it had to refuse",
                verdict.note
            )),
            Expect::Refusal(_) if verdict.unconfirmed_2xx => Verdict::pass(format!(
                "{}, but no report of handling it arrived within {within} (harmless if it never \
                 will; a 4xx is the clearer answer)",
                verdict.note
            )),
            Expect::Refusal(_) => Verdict {
                note: format!("{}; not handled", verdict.note),
                ..verdict
            },
        }
    }
}

/// The first attempt of `retry/after-failure`, with `n` reports accepted
/// for its event (its retry's included; the refused one is not).
fn handler_failed(verdict: Verdict, n: usize, within: &str) -> Verdict {
    match (verdict.unconfirmed_2xx, n) {
        (_, n) if n > 1 => Verdict::fail(format!(
            "{}, and the event was then handled {n} times",
            verdict.note
        )),
        (true, 0) => Verdict::fail(format!(
            "{}, and it was never handled within {within}: the vendor does not retry a delivery \
             answered 2xx, so the event is lost; answer 5xx when handling fails (or keep the \
             delivery and retry the handling yourself)",
            verdict.note
        )),
        (true, _) => Verdict::pass(format!(
            "{}; it handled the event later itself",
            verdict.note
        )),
        (false, _) => verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prets() -> &'static VendorSpec {
        &crate::vendors::prets::VENDOR
    }

    fn status(s: u16) -> Answer {
        Answer::Status {
            status: s,
            text: String::new(),
            headers: http::HeaderMap::new(),
        }
    }

    /// A failed handler's answer: a status the vendor takes as final loses
    /// the event (helper-72: HubSpot's 400 passed as "the vendor retries").
    #[test]
    fn a_failed_handler_must_answer_what_the_vendor_retries() {
        let hubspot = hookforge_core::vendor("hubspot").unwrap();
        let v = answer(hubspot, Expect::HandlerFails, &status(400), true);
        assert!(!v.ok && v.note.contains("does not retry"), "{v:?}");
        let v = answer(hubspot, Expect::HandlerFails, &status(500), true);
        assert!(v.ok && !v.unconfirmed_2xx, "{v:?}");
        let v = answer(hubspot, Expect::HandlerFails, &status(200), true);
        assert!(v.ok && v.unconfirmed_2xx, "{v:?}");
        // Stripe retries every non-2xx.
        let stripe = hookforge_core::vendor("stripe").unwrap();
        assert!(answer(stripe, Expect::HandlerFails, &status(400), true).ok);
    }

    #[test]
    fn refusals_follow_the_vendor_not_401_alone() {
        let auth = Expect::Refusal(Refusal::Auth);
        let v = answer(prets(), auth, &status(400), false);
        assert!(v.ok && v.note.contains("clearer"), "{v:?}");
        let v = answer(prets(), auth, &status(401), false);
        assert!(v.ok && !v.note.contains("clearer"), "{v:?}");
        let v = answer(prets(), auth, &status(500), false);
        assert!(
            !v.ok && v.note.contains("crashed instead of refusing"),
            "{v:?}"
        );
        let v = answer(prets(), auth, &status(200), false);
        assert!(!v.ok, "{v:?}");
        // Observed or not: a wrong secret would acknowledge and drop.
        let v = answer(prets(), auth, &status(200), true);
        assert!(!v.ok && v.note.contains("acknowledged and lost"), "{v:?}");
        let malformed = Expect::Refusal(Refusal::Malformed);
        let v = answer(prets(), malformed, &status(200), true);
        assert!(v.ok && v.unconfirmed_2xx, "{v:?}");
    }

    /// Slack takes its challenge as text, a form field or JSON; a vendor
    /// whose manifest names no other form (Meta) takes the text alone.
    #[test]
    fn handshake_answers_pass_only_in_the_forms_the_vendor_accepts() {
        use crate::manifest::AnswerForm;
        let required = |also: Vec<AnswerForm>| crate::handshake::Answer {
            status: 200,
            also_statuses: Vec::new(),
            content_type: "text/plain".into(),
            headers: Vec::new(),
            body: b"3eZbrw1aBm2r".to_vec(),
            also,
        };
        let text = |t: &str| Answer::Status {
            status: 200,
            text: t.into(),
            headers: http::HeaderMap::new(),
        };
        let slack = required(vec![
            AnswerForm::JsonField("challenge".into()),
            AnswerForm::FormField("challenge".into()),
        ]);
        for answer in [
            "3eZbrw1aBm2r",
            "challenge=3eZbrw1aBm2r",
            r#"{"challenge":"3eZbrw1aBm2r"}"#,
        ] {
            assert!(handshake(prets(), &slack, &text(answer)).ok, "{answer}");
        }
        for wrong in [
            "challenge=other",
            r#"{"token":"3eZbrw1aBm2r"}"#,
            "x=3eZbrw1aBm2r",
        ] {
            assert!(!handshake(prets(), &slack, &text(wrong)).ok, "{wrong}");
        }
        let meta = required(Vec::new());
        assert!(handshake(prets(), &meta, &text("3eZbrw1aBm2r")).ok);
        for other in ["challenge=3eZbrw1aBm2r", r#"{"challenge":"3eZbrw1aBm2r"}"#] {
            assert!(!handshake(prets(), &meta, &text(other)).ok, "{other}");
        }
    }

    /// Of a body that is not JSON: an unauthenticated one fails anyway.
    #[test]
    fn an_observed_2xx_refusal_passes_only_if_not_handled() {
        let broken = Expect::Refusal(Refusal::Malformed);
        let sent = Sent::default();
        let none = Observed::match_reports(&sent, Vec::new(), Duration::from_secs(1));
        let v = answer(prets(), broken, &status(200), true);
        assert!(
            none.judge(broken, "evt_1", b"{}", v.clone(), Origin::Fresh)
                .ok
        );
        let mut sent = Sent::default();
        sent.add("evt_1", b"{}", false);
        let report = Handled {
            event_id: Some("evt_1".into()),
            event_type: None,
            payload: serde_json::json!({}),
            at: std::time::Instant::now(),
        };
        let once = Observed::match_reports(&sent, vec![report], Duration::from_secs(1));
        assert!(!once.judge(broken, "evt_1", b"{}", v, Origin::Fresh).ok);
    }

    /// HubSpot's retry raises `attemptNumber`: with the vendor's manifest its
    /// key is its first attempt's, and with ids in the body (`fresh_ids`)
    /// handling it again fails; without them, a second handling of an
    /// id-less delivery sent twice passes.
    #[test]
    fn a_retry_of_a_vendor_with_body_ids_is_one_delivery() {
        let hubspot = hookforge_core::vendor("hubspot").unwrap().manifest();
        let first = br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"attemptNumber":0}]"#;
        let retry = br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"attemptNumber":1}]"#;
        let other = br#"[{"eventId":9,"subscriptionId":2,"portalId":3,"attemptNumber":0}]"#;
        let key = |b: &[u8]| Sent::vendor_key(Some(hubspot), None, b);
        assert_eq!(key(first), key(retry));
        assert_ne!(key(first), key(other));
        assert_ne!(
            Sent::vendor_key(None, None, first),
            Sent::vendor_key(None, None, retry)
        );
        let mut sent = Sent::default();
        sent.add(&key(first), first, true);
        sent.add(&key(retry), retry, true);
        let report = |body: &[u8]| Handled {
            event_id: None,
            event_type: None,
            payload: serde_json::from_slice(body).unwrap(),
            at: std::time::Instant::now(),
        };
        let reports = vec![report(first), report(retry)];
        let ok = Verdict::pass("answered 200".into());
        let mut observed = Observed::match_reports(&sent, reports.clone(), Duration::from_secs(1));
        let judged = |o: &Observed| {
            o.judge(
                Expect::Success,
                &key(first),
                first,
                ok.clone(),
                Origin::Fresh,
            )
        };
        assert!(
            judged(&observed).ok,
            "id-less: a copy handled per copy sent"
        );
        observed.ids_in_body = true;
        assert!(!judged(&observed).ok, "body ids: handled twice");
    }

    /// Without event ids (Discord, HubSpot) reports are matched by payload:
    /// each lands on the case whose delivery it is, the field marking each
    /// case compared too; a refused delivery's report fails that case; a
    /// delivery sent twice may be handled twice.
    #[test]
    fn reports_without_ids_land_on_the_case_that_sent_them() {
        let sample = br#"{"a":1}"#.to_vec();
        let refused = br#"{"a":1,"x_hookforge_nonce":"auth/invalid"}"#.to_vec();
        let twice = br#"{"a":1,"x_hookforge_nonce":"duplicate"}"#.to_vec();
        let key = |b: &[u8]| Sent::vendor_key(None, None, b);
        let mut sent = Sent::default();
        sent.add(&key(&sample), &sample, true);
        sent.add(&key(&refused), &refused, false);
        sent.add(&key(&twice), &twice, true);
        sent.add(&key(&twice), &twice, true);
        let report = |body: &[u8]| Handled {
            event_id: None,
            event_type: None,
            payload: serde_json::from_slice(body).unwrap(),
            at: std::time::Instant::now(),
        };
        // The refused delivery's report comes first, before the sample's.
        let reports = [&refused, &sample, &twice, &twice].map(|b| report(b));
        let observed = Observed::match_reports(&sent, reports.into(), Duration::from_secs(1));
        assert!(observed.unmatched.is_empty());
        let pass = Verdict::pass("answered".into());
        let judge = |expect, body: &[u8]| {
            observed.judge(expect, &key(body), body, pass.clone(), Origin::Fresh)
        };
        let v = judge(Expect::Refusal(Refusal::Auth), &refused);
        assert!(!v.ok && v.note.contains("handler ran"), "{v:?}");
        let v = judge(Expect::Success, &sample);
        assert!(v.ok && v.note.contains("handled once"), "{v:?}");
        let v = judge(Expect::Success, &twice);
        assert!(v.ok && v.note.contains("handled 2×"), "{v:?}");

        // A receiver whose model drops the mark: its report of the marked
        // delivery equals the sample to the letter, which is reported
        // already, and belongs to the marked one.
        let mut sent = Sent::default();
        let marked = br#"{"a":1,"x_hookforge_nonce":"drift"}"#.to_vec();
        sent.add(&key(&sample), &sample, true);
        sent.add(&key(&marked), &marked, true);
        let stripped = [&sample, &sample].map(|b| report(b));
        let observed = Observed::match_reports(&sent, stripped.into(), Duration::from_secs(1));
        for body in [&sample, &marked] {
            let v = observed.judge(
                Expect::Success,
                &key(body),
                body,
                pass.clone(),
                Origin::Fresh,
            );
            assert!(v.ok && v.note.contains("handled once"), "{v:?}");
        }

        // A marked report whose number was rounded (a float parser) lands on
        // its mark's delivery, which then fails for the changed payload, even
        // with a sample sent twice and equal to it but for the mark and the
        // number: each copy of the sample takes one report.
        let mut sent = Sent::default();
        let big = br#"{"a":1,"n":9007199254740993,"x_hookforge_nonce":"bytes/numbers"}"#.to_vec();
        let rounded = br#"{"a":1,"n":9007199254740992,"x_hookforge_nonce":"bytes/numbers"}"#;
        sent.add(&key(&sample), &sample, true);
        sent.add(&key(&sample), &sample, true);
        sent.add(&key(&big), &big, true);
        let reports = [&sample[..], &rounded[..], &sample[..]].map(report);
        let observed = Observed::match_reports(&sent, reports.into(), Duration::from_secs(1));
        let v = observed.judge(
            Expect::Success,
            &key(&big),
            &big,
            pass.clone(),
            Origin::Fresh,
        );
        assert!(!v.ok && v.note.contains("payload changed"), "{v:?}");
        let v = observed.judge(
            Expect::Success,
            &key(&sample),
            &sample,
            pass.clone(),
            Origin::Fresh,
        );
        assert!(v.ok && v.note.contains("handled 2×"), "{v:?}");
    }
}
