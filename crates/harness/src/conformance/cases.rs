//! The cases of a conformance run: every sample as the vendor sends it, and
//! the negative cases a receiver must survive, one function each.

use serde_json::{Value, json};

use crate::VendorSpec;
use crate::auth::{Secret, Signer};
pub use crate::conformance::delivery::mutate_id;
use crate::conformance::delivery::{Attempt, for_attempt, vendor_delivery};
use crate::conformance::error::HarnessError;
use crate::schema_walk::walk;

/// What one case sends and how its answer is judged.
pub(crate) struct Plan {
    pub id: String,
    /// Requests in order; every one is sent and judged.
    pub steps: Vec<Step>,
    /// Why the case does not apply (then `steps` is empty).
    pub skip: Option<String>,
    /// The steps are sent at once, not one after another.
    pub concurrent: bool,
    /// A vendor handshake: sent before every other case, one at a time.
    pub handshake: bool,
}

impl Plan {
    /// Whether the case judges by the receiver's reports alone: it makes a
    /// handler fail through the observer.
    pub fn needs_observer(&self) -> bool {
        self.steps.iter().any(|s| s.expect == Expect::HandlerFails)
    }

    /// A case that does not apply, and why.
    pub(crate) fn skipped(id: String, why: String) -> Plan {
        Plan {
            skip: Some(why),
            ..Plan::new(id, Vec::new())
        }
    }

    fn new(id: String, steps: Vec<Step>) -> Plan {
        Plan {
            id,
            steps,
            skip: None,
            concurrent: false,
            handshake: false,
        }
    }
}

pub(crate) struct Step {
    pub what: String,
    /// POST, or GET for a GET handshake.
    pub method: http::Method,
    /// The query string (without `?`), for handshakes that carry one.
    pub query: Option<String>,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    pub expect: Expect,
    /// The event id the delivery carries (in its body or the vendor's id
    /// header): what a receiver's observe report is matched on.
    pub event_id: Option<String>,
    /// For a handshake, the answer the vendor requires.
    pub handshake: Option<crate::handshake::Answer>,
    /// Where the delivery comes from, for what a lost one means.
    pub origin: Origin,
    /// Header names sent in Title-Case (`Stripe-Signature`), not lowercase.
    pub title_case: bool,
    /// How to sign it again when it is sent, for a signature over a
    /// timestamp or a body stamped at sending: cases are planned before the
    /// run, and a run longer than the vendor's window (Paddle's 5 s,
    /// Linear's 60 s) would send stale ones.
    pub resign: Option<Resign>,
}

/// A step's delivery before signing, and the headers signing gave it at
/// planning time (a step whose headers were changed after, to test a bad
/// credential, is sent as planned).
#[derive(Clone)]
pub(crate) struct Resign {
    pub body: Vec<u8>,
    pub attempt: Attempt,
    pub signer: Signer,
    pub planned_at: u64,
    pub planned_headers: Vec<(String, String)>,
    /// The vendor's body timestamps set to the sending time; not for a
    /// delivery sent as received (`inbox forward`).
    pub stamp_body: bool,
    /// Shared by the copies of one event (`duplicate`): the first sent
    /// sets the body's stamp, the others repeat it, so the copies stay one
    /// event (stamped a second apart, an id-less vendor's were two).
    pub stamp_once: Option<std::sync::Arc<std::sync::OnceLock<i64>>>,
}

impl Resign {
    /// The step's body and headers signed now, its timestamp as far from
    /// now as it was from the planning time; `None` if its headers were
    /// changed after signing.
    pub fn now(
        &self,
        v: &VendorSpec,
        headers: &[(String, String)],
    ) -> Option<(Vec<u8>, crate::conformance::delivery::Headers)> {
        if headers != self.planned_headers.as_slice() {
            return None;
        }
        let now = crate::util::since_epoch().as_secs();
        let mut attempt = self.attempt.clone();
        attempt.timestamp = Some(match attempt.timestamp {
            Some(t) => now.saturating_add(t).saturating_sub(self.planned_at),
            None => now,
        });
        let at_ms = match &self.stamp_once {
            Some(cell) => *cell.get_or_init(stamp_millis),
            None => stamp_millis(),
        };
        // A delivery sent as received keeps its event times; its times of
        // sending are the vendor's on every send (Linear's SDK refuses a
        // `webhookTimestamp` over a minute old).
        let stamped = match self.stamp_body {
            true => crate::conformance::delivery::stamp_times_in_place(v, &self.body, at_ms),
            false => crate::conformance::delivery::stamp_sent_times_in_place(v, &self.body, at_ms),
        };
        let body = stamped.unwrap_or_else(|| self.body.clone());
        vendor_delivery(v, &body, Some(&self.signer), &attempt).ok()
    }
}

/// Now in Unix milliseconds, never the same twice in a run: events whose
/// ids travel in headers (Linear's) differ only by their stamp, and two
/// stamped in one millisecond (or resent in one second) would share a body,
/// so a receiver deduping on the body would look right by chance.
fn stamp_millis() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = crate::util::since_epoch().as_millis() as i64;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// The id of a documented sample's case: `<vendor>/<event>/<sample>`.
pub fn sample_id(vendor: &str, event: &str, sample: &str) -> String {
    format!("{vendor}/{event}/{sample}")
}

/// The id of a recorded delivery's case: `<vendor>/inbox/<inbox id>`.
pub fn recorded_id(vendor: &str, inbox_id: i64) -> String {
    format!("{vendor}/inbox/{inbox_id}")
}

/// The glob that keeps only a run's recorded deliveries (`inbox forward`).
pub fn recorded_glob(vendor: &str) -> String {
    format!("{vendor}/inbox/*")
}

/// The id of a handshake's case: `<vendor>/handshake/<name>`.
pub fn handshake_id(vendor: &str, name: &str) -> String {
    format!("{vendor}/handshake/{name}")
}

/// The id of the case that judges the receiver's reports (`--observe`),
/// added after a run rather than planned.
pub(crate) fn observe_id(vendor: &str) -> String {
    format!("{vendor}/observe")
}

/// The id of the case that judges answer times against the vendor's
/// budget, added after a run rather than planned.
pub(crate) fn budget_id(vendor: &str) -> String {
    format!("{vendor}/budget")
}

/// Which cases a run keeps: every one, or those whose id one of the globs
/// matches (`check --filter`, given once or more).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Selection<'a>(pub &'a [String]);

impl Selection<'_> {
    /// Whether the case `id` is kept: no globs keep every case.
    pub(crate) fn takes(&self, id: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|glob| glob_match(glob, id))
    }

    /// The plans kept, in order.
    pub(crate) fn plans(&self, plans: Vec<Plan>) -> Vec<Plan> {
        plans.into_iter().filter(|p| self.takes(&p.id)).collect()
    }
}

/// `*` matches any run of characters, `?` any one.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut gi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == t[ti]) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some(gi);
            mark = ti;
            gi += 1;
        } else if let Some(s) = star {
            gi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|c| *c == '*')
}

/// A delivery an inbox kept, to send again: its bytes as received, signed
/// afresh (`check --from-inbox`, `inbox forward`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Its id in the inbox: the case is `<vendor>/inbox/<id>`.
    pub id: i64,
    pub event_type: String,
    pub event_id: Option<String>,
    pub body: Vec<u8>,
}

/// Where a step's delivery comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Derived for this run: its id is minted from the run's nonce.
    Fresh,
    /// A documented or recorded delivery, whose id is the same in every run.
    Documented,
    /// An event type no receiver's code can know: acknowledging it without
    /// running a handler is the vendors' own advice (Stripe's samples log
    /// "Unhandled event type" and answer 200), so only its answer counts.
    UnknownType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The vendor's success rule.
    Success,
    /// Not counted as delivered by the vendor (see `harness::judge_refusal`).
    Refusal(Refusal),
    /// A handshake: answered as the vendor requires (a handler running on it
    /// too is noted, not failed).
    Handshake,
    /// An authentic delivery whose handler is made to fail (the observer
    /// refuses its report): any answer; a 2xx only if the receiver then
    /// handles the event itself, since the vendor retries nothing else.
    HandlerFails,
}

/// Why a delivery must be refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// It is not authentic (missing, wrong or stale credential).
    Auth,
    /// Its body is not JSON.
    Malformed,
}

/// A delivery before it is signed: its bytes, and the id for the vendor's
/// id header when the body carries none (GitHub's `X-GitHub-Delivery`).
#[derive(Clone, Debug)]
pub(crate) struct Fresh {
    pub body: Vec<u8>,
    pub id: Option<String>,
}

/// Builds steps as the vendor sends them: every header it sends (type and
/// id headers included), signed when a signer is set.
#[derive(Clone, Copy)]
pub(crate) struct Sender<'a> {
    pub v: &'static VendorSpec,
    pub signer: Option<&'a Signer>,
    /// The event the derived cases are copies of (the first sample's).
    pub base_event: Option<&'static str>,
}

impl<'a> Sender<'a> {
    pub fn new(v: &'static VendorSpec, signer: Option<&'a Signer>) -> Sender<'a> {
        let base_event = v
            .events
            .iter()
            .find(|e| !e.samples.is_empty())
            .map(|e| e.name);
        Sender {
            v,
            signer,
            base_event,
        }
    }

    /// The same sender with another signer (a wrong secret, or none).
    pub fn signed_by<'b>(&self, signer: Option<&'b Signer>) -> Sender<'b> {
        Sender {
            v: self.v,
            signer,
            base_event: self.base_event,
        }
    }

    /// The event a body is a delivery of: the body's own type where the
    /// vendor puts it there, else the event the case copies.
    fn event_of(&self, body: &[u8]) -> Option<String> {
        if self.v.manifest().event_type.header.is_none()
            && let Ok(env) = self.v.read_envelope(body, &http::HeaderMap::new())
        {
            return Some(env.event_type);
        }
        self.base_event.map(str::to_string)
    }

    pub fn step(&self, what: impl Into<String>, d: Fresh, expect: Expect) -> Step {
        self.step_as(what, d, expect, None, None)
    }

    /// A step for `event` (the type sent in the vendor's type header), at
    /// `timestamp` (unix seconds; now when `None`).
    pub fn step_as(
        &self,
        what: impl Into<String>,
        d: Fresh,
        expect: Expect,
        event: Option<&str>,
        timestamp: Option<u64>,
    ) -> Step {
        self.attempt_step(what, d, expect, (event, 0, timestamp))
    }

    /// A step as `step_as`, for attempt `n` (0 the first; the vendor's
    /// retry headers from 1).
    fn attempt_step(
        &self,
        what: impl Into<String>,
        delivery: Fresh,
        expect: Expect,
        attempt: (Option<&str>, u32, Option<u64>),
    ) -> Step {
        self.stamped_step(what, self.stamped(delivery), expect, attempt)
    }

    /// [`Sender::attempt_step`] of a delivery already [`Sender::stamped`]:
    /// copies of one event sent together carry the same stamps.
    fn stamped_step(
        &self,
        what: impl Into<String>,
        delivery: Fresh,
        expect: Expect,
        (event, number, timestamp): (Option<&str>, u32, Option<u64>),
    ) -> Step {
        let attempt = Attempt {
            attempt: number,
            timestamp,
            event_type: event
                .map(str::to_string)
                .or_else(|| self.event_of(&delivery.body)),
            event_id: delivery.id.clone(),
        };
        let signed = vendor_delivery(self.v, &delivery.body, self.signer, &attempt);
        let stamps = self.v.manifest().delivery.as_ref();
        let timed = self
            .signer
            .is_some_and(|s| s.scheme().tolerance().is_some())
            || stamps.is_some_and(|r| !r.fresh_times.is_empty());
        let resign = match (&signed, self.signer) {
            (Ok((_, headers)), Some(signer)) if timed => Some(Resign {
                body: delivery.body.clone(),
                attempt: attempt.clone(),
                signer: signer.clone(),
                planned_at: crate::util::since_epoch().as_secs(),
                planned_headers: headers.clone(),
                stamp_body: true,
                stamp_once: None,
            }),
            _ => None,
        };
        let (wire, headers) =
            signed.unwrap_or_else(|_| (delivery.body.clone(), self.bare_headers(&delivery.body)));
        Step {
            what: what.into(),
            method: http::Method::POST,
            query: None,
            event_id: sent_id(self.v, &delivery.body, &headers),
            body: wire,
            headers,
            expect,
            handshake: None,
            origin: Origin::Fresh,
            title_case: false,
            resign,
        }
    }

    /// The delivery with the vendor's body timestamps (`fresh_times`) set to
    /// now, as the vendor stamps each attempt when it sends it (a signed
    /// timestamp may lie back within its window; these are checked against
    /// windows the manifest does not know, Linear's SDK's 60 s); the body as
    /// it was where the vendor has none.
    fn stamped(&self, d: Fresh) -> Fresh {
        let at_ms = stamp_millis();
        match crate::conformance::delivery::stamp_times_in_place(self.v, &d.body, at_ms) {
            Some(body) => Fresh { body, ..d },
            None => d,
        }
    }

    /// The content type and auth alone, for a vendor whose headers cannot
    /// be built (a manifest header value that is not a valid header).
    fn bare_headers(&self, body: &[u8]) -> Vec<(String, String)> {
        let mut h = vec![("Content-Type".to_string(), "application/json".to_string())];
        if let Some(s) = self.signer {
            let ctx = crate::auth::SignContext::now("msg_malformed");
            for (k, v) in s.sign(body, &ctx) {
                h.push((k.to_string(), v.to_str().unwrap_or_default().to_string()));
            }
        }
        h
    }
}

/// The event id a delivery carries: at the vendor's body pointer, else in
/// its id header as sent.
fn sent_id(v: &VendorSpec, body: &[u8], headers: &[(String, String)]) -> Option<String> {
    let map = crate::util::header_map(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // As the receiver reads it: the body's id (with the values `with` adds,
    // Adyen's), else the id header.
    v.envelope_reader().read_id(body, &map)
}

/// The catalogue: which cases a run has, each named by its id
/// (`<vendor>/auth/missing`), each sent a delivery of its own whose event id
/// derives from the run's nonce and the case id.
pub(crate) struct Catalogue<'a> {
    /// Signs as the configured secret does (or not at all).
    pub sender: Sender<'a>,
    /// Signs with a secret that is certainly not the configured one.
    pub wrong: Option<&'a Signer>,
    /// Signs with the configured secret with characters appended (static
    /// credentials only: bearer and shared-secret schemes).
    pub longer: Option<&'a Signer>,
    /// The configured secret, if any (auth cases run even when the vendor
    /// documents no authentication; handshake answers may be keyed with it).
    pub secret: Option<&'a Secret>,
    /// The token a handshake's `token_query` must equal.
    pub handshake_token: Option<&'a Secret>,
    pub nonce: String,
    /// Real deliveries (an inbox's), each a case `<vendor>/inbox/<id>`.
    pub recorded: &'a [Recorded],
}

impl Catalogue<'_> {
    /// Every case, before any filter ([`Selection`]): the handshakes (the
    /// vendor performs them before it sends an event, and one may hand over
    /// the secret the rest are signed with), each sample, the negative
    /// cases, then the recorded deliveries.
    pub fn plans(&self, rewrite: &dyn Fn(&[u8]) -> Vec<u8>) -> Result<Vec<Plan>, HarnessError> {
        let mut plans = self.documented(rewrite)?;
        plans.extend(recorded(self.sender, self.recorded));
        Ok(plans)
    }

    /// The cases from the vendor's documentation and the negative ones.
    fn documented(&self, rewrite: &dyn Fn(&[u8]) -> Vec<u8>) -> Result<Vec<Plan>, HarnessError> {
        let s = self.sender;
        if self.base().is_none() {
            return Ok(samples(s, &self.nonce, rewrite));
        }
        let handshakes = s.v.manifest().handshakes.iter();
        let mut plans: Vec<Plan> = handshakes.map(|h| handshake(self, h)).collect();
        plans.extend(samples(s, &self.nonce, rewrite));
        let documented = !matches!(s.v.manifest().auth, crate::manifest::Auth::None { .. });
        if documented || self.secret.is_some() {
            plans.extend(self.auth_cases());
        } else {
            plans.extend(auth_not_applicable(s.v));
        }
        plans.push(unknown_event(s, self.fresh("unknown-event"))?);
        plans.push(header_case(s, self.fresh("headers/case")));
        plans.push(duplicate(s, self.fresh("duplicate")));
        plans.push(duplicate_concurrent(s, self.fresh("duplicate/concurrent")));
        plans.extend(retry_first_lost(s, self.fresh("retry/first-lost")));
        plans.extend(retry_after_failure(s, self.fresh("retry/after-failure")));
        plans.extend(batch_several(s, self.fresh("batch/several"), &self.nonce));
        if s.v.manifest().body.is_form() {
            plans.extend(not_for_forms(s.v));
        } else {
            let bad_id = self.fresh("malformed#bad").id;
            plans.push(malformed(s, bad_id, self.fresh("malformed")));
        }
        plans.extend(drift_probes(self)?);
        if !s.v.manifest().body.is_form() {
            plans.extend(byte_probes(self)?);
        }
        Ok(plans)
    }

    fn auth_cases(&self) -> Vec<Plan> {
        let s = self.sender;
        let mut plans = auth(
            s,
            self.fresh("auth/missing"),
            self.fresh("auth/invalid"),
            self.wrong,
        );
        // Static credentials: the secret with characters appended.
        if self.longer.is_some() {
            plans.push(auth_prefix(s, self.fresh("auth/prefix"), self.longer));
        }
        // Timestamped schemes: a replay outside the window, and where the
        // vendor refuses it too, a timestamp as far ahead.
        if let Some(tolerance) = s.signer.and_then(|signer| signer.scheme().tolerance()) {
            let secs = tolerance.as_secs();
            plans.push(match tolerance_assumed(s.v) {
                false => auth_stale(s, self.fresh("auth/stale"), secs),
                true => Plan::skipped(
                    format!("{}/auth/stale", s.v.id),
                    format!(
                        "{} documents no freshness window and its own verifier checks none: the {secs} s \
                         that `hookforge serve` applies against replays is hookforge's, so a receiver \
                         that accepts an old timestamp follows the vendor",
                        s.v.name
                    ),
                ),
            });
            if s.signer
                .is_some_and(|signer| signer.scheme().refuses_future())
            {
                plans.push(auth_future(s, self.fresh("auth/future"), secs));
            }
        }
        plans.extend(other_label(s, self.fresh("auth/other-label")));
        plans.extend(rotation(s, self.fresh("auth/rotation"), self.wrong));
        plans.extend(truncated(s, self.fresh("auth/truncated")));
        // Only an id ties the two deliveries together.
        if s.v.manifest().event_id.is_some() && s.signer.is_some() {
            let d = self.fresh("auth/refused-then-valid");
            plans.push(refused_then_valid(s, d, self.wrong));
        }
        plans
    }

    /// The body the derived cases copy: the vendor's first sample.
    fn base(&self) -> Option<&'static [u8]> {
        self.sender
            .v
            .events
            .iter()
            .flat_map(|e| e.samples)
            .next()
            .map(|sample| sample.body)
    }

    /// A new delivery for the case `case` (its id after the vendor).
    pub fn fresh(&self, case: &str) -> Fresh {
        let base = self.base().unwrap_or(b"{}");
        fresh(self.sender.v, base, &format!("{}/{case}", self.nonce))
    }
}

/// The secret with characters appended (the `auth/prefix` case).
pub(crate) fn longer_secret(real: &Secret) -> String {
    format!("{}x9", real.expose())
}

/// One case per sample, its body passed through `rewrite` (the sandbox
/// points vendor URLs at itself).
/// Where the vendor sends the id only in a header, each run mints it anew
/// (`nonce`), so a receiver that remembers ids across runs sees new ones;
/// the documented bytes are sent as they are.
fn samples(s: Sender<'_>, nonce: &str, rewrite: &dyn Fn(&[u8]) -> Vec<u8>) -> Vec<Plan> {
    let header_id =
        s.v.manifest()
            .event_id
            .as_ref()
            .is_some_and(|l| l.pointer.is_none() && l.header.is_some());
    let mut plans = Vec::new();
    for e in s.v.events {
        for sample in e.samples {
            let body = rewrite(sample.body);
            let id = header_id.then(|| {
                let like = crate::conformance::delivery::minted_id(s.v, &body);
                mutate_id(&like, &format!("{nonce}{}", sample.path))
            });
            let d = Fresh { body, id };
            let what = format!("sample {}", sample.path);
            let step = s.step_as(what, d, Expect::Success, Some(e.name), None);
            plans.push(Plan::new(
                sample_id(s.v.id, e.name, sample.name),
                vec![Step {
                    origin: Origin::Documented,
                    ..step
                }],
            ));
        }
    }
    plans
}

/// One case per recorded delivery, its bytes as stored, signed afresh (a
/// fresh timestamp where the scheme has one); the event id travels in the
/// vendor's id header where the body has none.
pub(crate) fn recorded(s: Sender<'_>, deliveries: &[Recorded]) -> Vec<Plan> {
    let header_id =
        s.v.manifest()
            .event_id
            .as_ref()
            .is_some_and(|l| l.pointer.is_none() && l.header.is_some());
    deliveries
        .iter()
        .map(|d| {
            // Its times of sending are now's, as on every send by the vendor.
            let now_ms = crate::util::now_ms();
            let body =
                crate::conformance::delivery::stamp_sent_times_in_place(s.v, &d.body, now_ms);
            let fresh = Fresh {
                body: body.unwrap_or_else(|| d.body.clone()),
                id: d.event_id.clone().filter(|_| header_id),
            };
            let what = format!("stored delivery {} ({})", d.id, d.event_type);
            // As received: the body's own times are not set to now, so a
            // receiver that dedupes by the body sees the same bytes
            // (helper-56's review: HubSpot's `occurredAt` was rewritten).
            let attempt = (Some(d.event_type.as_str()), 0, None);
            let mut step = s.stamped_step(what, fresh, Expect::Success, attempt);
            if let Some(r) = &mut step.resign {
                r.stamp_body = false;
            }
            Plan::new(
                recorded_id(s.v.id, d.id),
                vec![Step {
                    origin: Origin::Documented,
                    ..step
                }],
            )
        })
        .collect()
}

/// A delivery without its credentials, and one signed with a wrong secret:
/// both must be refused.
fn auth(s: Sender<'_>, unsigned: Fresh, wrong_body: Fresh, wrong: Option<&Signer>) -> Vec<Plan> {
    let refused = Expect::Refusal(Refusal::Auth);
    let unsigned = Fresh {
        body: without_body_signature(s.v, unsigned.body),
        ..unsigned
    };
    [
        (
            "missing",
            None,
            "a valid delivery without its signature or bearer",
            unsigned,
        ),
        (
            "invalid",
            wrong,
            "a valid delivery signed with the wrong secret",
            wrong_body,
        ),
    ]
    .into_iter()
    .map(|(name, signer, what, fresh)| {
        let step = s.signed_by(signer).step(what, fresh, refused);
        Plan::new(format!("{}/auth/{name}", s.v.id), vec![step])
    })
    .collect()
}

/// For a vendor that signs inside the body (SNS's `/Signature`): the body
/// without that field, as an unsigned delivery of it would be (a sample
/// copied from the docs carries the docs' own signature).
fn without_body_signature(v: &VendorSpec, body: Vec<u8>) -> Vec<u8> {
    let hookforge_core::manifest::Auth::Signature(sig) = &v.manifest().auth else {
        return body;
    };
    let Some(pointer) = &sig.signature_pointer else {
        return body;
    };
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    if crate::util::remove_at(&mut doc, pointer).is_some() {
        serde_json::to_vec(&doc).unwrap_or(body)
    } else {
        body
    }
}

/// The cases about JSON bytes, skipped for a vendor that sends forms: any
/// bytes are a form (so nothing is malformed), and a form has no JSON
/// layout to vary.
fn not_for_forms(v: &VendorSpec) -> Vec<Plan> {
    let why = format!(
        "{} sends forms (application/x-www-form-urlencoded), not JSON",
        v.name
    );
    [
        "malformed",
        "bytes/whitespace",
        "bytes/key-order",
        "bytes/unicode-escapes",
        "bytes/numbers",
        "bytes/utf8",
    ]
    .into_iter()
    .map(|id| Plan::skipped(format!("{}/{id}", v.id), why.clone()))
    .collect()
}

/// The auth cases, skipped: the vendor documents none and no secret is set.
fn auth_not_applicable(v: &VendorSpec) -> Vec<Plan> {
    ["missing", "invalid", "prefix"]
        .into_iter()
        .map(|id| {
            Plan::skipped(
                format!("{}/auth/{id}", v.id),
                format!(
                    "{} documents no authentication and no secret is configured",
                    v.name
                ),
            )
        })
        .collect()
}

/// An event type the vendor could send but the schemas do not know, shaped
/// like `like` (`orders/create` → `hookforge_undocumented/create`).
fn undocumented_like(like: &str) -> String {
    match like.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        Some(i) => format!("hookforge_undocumented{}", &like[i..]),
        None => "hookforge_undocumented".into(),
    }
}

/// An event type the vendor has not documented: must succeed (kept, not
/// refused). Where the type travels in a header (Shopify's topic, GitHub's
/// event), the header carries the new type and the body stays a real one.
fn unknown_event(sender: Sender<'_>, fresh: Fresh) -> Result<Plan, HarnessError> {
    let loc = &sender.v.manifest().event_type;
    if let Some(only) = &loc.value {
        // Nothing in the delivery names a type: sending the sample again
        // would pass while testing nothing.
        return Ok(Plan::skipped(
            format!("{}/unknown-event", sender.v.id),
            format!(
                "{} sends one kind of delivery (its event type is always `{only}`): there is no type to make new",
                sender.v.name
            ),
        ));
    }
    let like = sender.base_event.unwrap_or("event");
    let mut d = fresh;
    let in_body = loc.pointer.as_deref().filter(|_| loc.join.is_none());
    let event = match in_body {
        Some(p) => {
            // Body and header (when the vendor sends one) both carry it.
            let mut doc: Value = serde_json::from_slice(&d.body).map_err(|e| {
                HarnessError::Internal(format!("a fresh delivery is not JSON: {e}"))
            })?;
            let t = undocumented_like(like);
            if let Some(slot) = doc.pointer_mut(p) {
                *slot = Value::String(t.clone());
            }
            d.body = serde_json::to_vec(&doc).expect("Value serializes");
            t
        }
        // Only the header says it (Shopify's topic), or its first part
        // (GitHub's `issues` of `issues.opened`): the body stays a real one.
        None => {
            let head = match &loc.join {
                Some(j) => like.split(j.as_str()).next().unwrap_or(like),
                None => like,
            };
            undocumented_like(head)
        }
    };
    let what = format!("an undocumented event type `{event}`");
    let step = sender.step_as(what, d, Expect::Success, Some(&event), None);
    Ok(Plan::new(
        format!("{}/unknown-event", sender.v.id),
        vec![Step {
            origin: Origin::UnknownType,
            ..step
        }],
    ))
}

/// The same event twice, the second as the vendor retries it: its retry
/// headers, signed again at a later timestamp (so a receiver that dedupes
/// on the signature or the whole request sees a new one). Both must
/// succeed; observed, the event is handled once.
fn duplicate(s: Sender<'_>, d: Fresh) -> Plan {
    let now = crate::util::since_epoch().as_secs();
    let tolerance = s.signer.and_then(|signer| signer.scheme().tolerance());
    // Both inside the replay window, however short (Paddle's is 5 s).
    let gap = tolerance.map_or(60, |t| (t.as_secs() / 2).clamp(1, 60));
    // One event, its body's times stamped once: a retry repeats the event's
    // own times (HubSpot's `occurredAt`); stamped apart, its id-less copies
    // keyed apart, and a receiver deduping as HubSpot says lost the retry.
    let d = s.stamped(d);
    let first = s.stamped_step(
        "a new delivery",
        d.clone(),
        Expect::Success,
        (None, 0, Some(now - gap)),
    );
    let what = match tolerance {
        Some(_) => format!(
            "the same event again as the vendor retries it: attempt 2, signed again {gap} s later"
        ),
        None => "the same event again as the vendor retries it: attempt 2".to_string(),
    };
    let again = s.stamped_step(
        what,
        Fresh {
            body: for_attempt(s.v, &d.body, 1).into_owned(),
            ..d
        },
        Expect::Success,
        (None, 1, Some(now)),
    );
    Plan::new(format!("{}/duplicate", s.v.id), one_event([first, again]))
}

/// A valid delivery with its header names in Title-Case (`Stripe-Signature`,
/// `X-Github-Event`), as senders over HTTP/1.1 write them; every other case
/// sends them lowercase, as HTTP/2 does. Header names are case-insensitive:
/// a receiver that looks them up by one exact spelling fails one or the
/// other (an API Gateway REST proxy keeps the sender's case).
fn header_case(s: Sender<'_>, d: Fresh) -> Plan {
    let what = "a valid delivery with its header names in Title-Case (`Content-Type`)";
    let step = Step {
        title_case: true,
        ..s.step(what, d, Expect::Success)
    };
    Plan::new(format!("{}/headers/case", s.v.id), vec![step])
}

/// The same event twice at once, as when the vendor's timeout ran out while
/// the first attempt was still being handled (Slack waits 3 s): handled
/// once. A receiver that checks for the id, handles, and only then records
/// it handles both. The attempt that loses the race may be refused (the
/// vendor retries it later); see `RunCtx::run_plan`.
fn duplicate_concurrent(s: Sender<'_>, d: Fresh) -> Plan {
    let now = crate::util::since_epoch().as_secs();
    // Stamped once: the two copies are one event (stamped apart, a body
    // time in milliseconds could differ, and an id-less vendor's copies
    // were then two events).
    let d = s.stamped(d);
    let first = s.stamped_step(
        "a new delivery",
        d.clone(),
        Expect::Success,
        (None, 0, Some(now)),
    );
    let again = s.stamped_step(
        "the same event at the same time, as the vendor retries it while the first is handled",
        Fresh {
            body: for_attempt(s.v, &d.body, 1).into_owned(),
            ..d
        },
        Expect::Success,
        (None, 1, Some(now)),
    );
    Plan {
        concurrent: true,
        ..Plan::new(
            format!("{}/duplicate/concurrent", s.v.id),
            one_event([first, again]),
        )
    }
}

/// Copies of one event: re-signed at sending, they share the body's stamp.
fn one_event<const N: usize>(mut steps: [Step; N]) -> Vec<Step> {
    let once = std::sync::Arc::new(std::sync::OnceLock::new());
    for step in &mut steps {
        if let Some(r) = &mut step.resign {
            r.stamp_once = Some(once.clone());
        }
    }
    steps.into()
}

/// A retry whose first attempt never arrived (lost on the way, or refused
/// by a proxy): attempt 2 alone, with the vendor's retry headers and
/// per-attempt fields, must be handled. A receiver that ignores every
/// request marked as a retry (`X-Slack-Retry-Num`) loses it. Only for
/// vendors whose retries differ from a first attempt.
fn retry_first_lost(s: Sender<'_>, d: Fresh) -> Option<Plan> {
    let m = s.v.manifest();
    let marked = m
        .headers
        .iter()
        .any(|h| h.only_when.as_deref() == Some("retry"));
    if !marked && m.delivery.as_ref().is_none_or(|d| d.per_attempt.is_empty()) {
        return None;
    }
    let retry = Fresh {
        body: for_attempt(s.v, &d.body, 1).into_owned(),
        ..d
    };
    let what = "a retry (attempt 2) of an event whose first attempt never arrived";
    let step = s.attempt_step(what, retry, Expect::Success, (None, 1, None));
    Some(Plan::new(
        format!("{}/retry/first-lost", s.v.id),
        vec![step],
    ))
}

/// A delivery whose handler fails (the observer refuses its report, as a
/// database that is down would), then the vendor's retry: the event must be
/// handled once, on the retry or by the receiver's own retry of a delivery
/// it acknowledged. A receiver that keeps the id recorded after a failure
/// acknowledges the retry as a duplicate and loses the event. Needs the
/// event id (what the observer refuses a report by) and `--observe`
/// ([`Plan::needs_observer`]).
fn retry_after_failure(s: Sender<'_>, d: Fresh) -> Option<Plan> {
    s.v.manifest().event_id.as_ref()?;
    let id = format!("{}/retry/after-failure", s.v.id);
    let rules = s.v.manifest().delivery.as_ref();
    if rules.is_some_and(|r| matches!(r.retry, crate::manifest::Retry::None)) {
        let why = format!(
            "{} does not retry a failed delivery, so a receiver whose handler fails keeps the \
             event only by storing it before it answers (or by a redelivery by hand)",
            s.v.name
        );
        return Some(Plan::skipped(id, why));
    }
    let now = crate::util::since_epoch().as_secs();
    let d = s.stamped(d);
    let what = "a new delivery whose handler fails: the observer refuses its report (503)";
    let first = s.stamped_step(what, d.clone(), Expect::HandlerFails, (None, 0, Some(now)));
    let retry = Fresh {
        body: for_attempt(s.v, &d.body, 1).into_owned(),
        ..d
    };
    let what = "the vendor's retry of it (attempt 2), sent only if the first was not answered 2xx";
    let again = s.stamped_step(what, retry, Expect::Success, (None, 1, Some(now)));
    Some(Plan::new(id, one_event([first, again])))
}

/// The field that marks the body of `auth/refused-then-valid`'s refused
/// delivery, for telling the observer's reports of the two apart.
pub(crate) const REFUSED_MARK: &str = "x_hookforge_refused";

/// A delivery signed with a wrong secret, then the same event id correctly
/// signed (the vendor rotated its secret before the receiver did, then
/// retried): the first refused, the second handled. A receiver that records
/// the id before verifying takes the second for a duplicate and loses it.
/// The refused body carries one field more, so an observer tells apart
/// which of the two a handler ran for.
fn refused_then_valid(s: Sender<'_>, d: Fresh, wrong: Option<&Signer>) -> Plan {
    let mut doc: Value = serde_json::from_slice(&d.body).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut doc {
        o.insert(REFUSED_MARK.into(), Value::Bool(true));
    }
    let refused = Fresh {
        body: serde_json::to_vec(&doc).unwrap_or_else(|_| d.body.clone()),
        id: d.id.clone(),
    };
    let steps = vec![
        s.signed_by(wrong).step(
            "a delivery signed with the wrong secret",
            refused,
            Expect::Refusal(Refusal::Auth),
        ),
        s.step(
            "the same event id right after, correctly signed",
            d,
            Expect::Success,
        ),
    ];
    Plan::new(format!("{}/auth/refused-then-valid", s.v.id), steps)
}

/// A correctly signed delivery whose signature carries another label than
/// the one the vendor checks (`v0=` for Stripe's `v1=`, `v1a,` for
/// Standard Webhooks' `v1,`, `sha1=` for GitHub's `sha256=`): the vendors'
/// libraries find no signature of their version and refuse it; a receiver
/// that takes whatever follows the `=` does not.
fn other_label(s: Sender<'_>, d: Fresh) -> Option<Plan> {
    let scheme = s.signer?.scheme().signature()?;
    let (label, separator) = scheme.signature_label()?;
    let mut step = s.step("", d, Expect::Refusal(Refusal::Auth));
    let header = scheme.header().as_str();
    let (_, value) = (step.headers.iter_mut()).find(|(k, _)| k.eq_ignore_ascii_case(header))?;
    let other = relabel(label);
    *value = match separator {
        Some(sep) => (value.split(sep))
            .map(|e| match e.strip_prefix(label) {
                Some(rest) => format!("{other}{rest}"),
                None => e.to_string(),
            })
            .collect::<Vec<_>>()
            .join(sep),
        None => format!("{other}{}", value.strip_prefix(label)?),
    };
    step.what = format!(
        "a correctly signed delivery whose signature is labelled `{other}` instead of `{label}`"
    );
    Some(Plan::new(
        format!("{}/auth/other-label", s.v.id),
        vec![step],
    ))
}

/// A correctly signed delivery whose header carries, before the right
/// signature, one made with another secret, as the vendor sends during a
/// secret rotation (Stripe, PagerDuty, Standard Webhooks: the manifest's
/// `several_signatures`). The vendors' libraries try each; a receiver
/// that checks only the first refuses every delivery while the vendor
/// rotates (helper-70 seeded one; it passed).
fn rotation(s: Sender<'_>, d: Fresh, wrong: Option<&Signer>) -> Option<Plan> {
    if !s.v.manifest().auth.sends_several_signatures() {
        return None;
    }
    let scheme = s.signer?.scheme().signature()?;
    let (label, Some(sep)) = scheme.signature_label()? else {
        return None;
    };
    let header = scheme.header().as_str();
    let at = Some(crate::util::since_epoch().as_secs());
    let other = s
        .signed_by(Some(wrong?))
        .step_as("", d.clone(), Expect::Success, None, at);
    let mut step = s.step_as("", d, Expect::Success, None, at);
    let find = |headers: &[(String, String)]| {
        (headers.iter())
            .find(|(k, _)| k.eq_ignore_ascii_case(header))
            .map(|(_, v)| v.clone())
    };
    let old_sigs: Vec<String> = (find(&other.headers)?.split(sep))
        .filter(|e| e.starts_with(label))
        .map(str::to_string)
        .collect();
    let (_, value) = (step.headers.iter_mut()).find(|(k, _)| k.eq_ignore_ascii_case(header))?;
    let mut entries: Vec<String> = value.split(sep).map(str::to_string).collect();
    let first_sig = entries.iter().position(|e| e.starts_with(label))?;
    entries.splice(first_sig..first_sig, old_sigs);
    *value = entries.join(sep);
    step.what =
        "a correctly signed delivery whose header carries first a signature made with another \
                 secret, as the vendor sends while a secret is rotated"
            .into();
    Some(Plan::new(format!("{}/auth/rotation", s.v.id), vec![step]))
}

/// A correctly signed delivery whose signature is cut to its first half:
/// a receiver that compares by prefix (`expected.startswith(given)`, or
/// only as many characters as were sent) takes it, and a forger need send
/// no signature at all (`v1=`).
fn truncated(s: Sender<'_>, d: Fresh) -> Option<Plan> {
    let scheme = s.signer?.scheme().signature()?;
    let mut step = s.step("", d, Expect::Refusal(Refusal::Auth));
    let header = scheme.header().as_str();
    let (_, value) = (step.headers.iter_mut()).find(|(k, _)| k.eq_ignore_ascii_case(header))?;
    *value = scheme.truncate_signatures(value)?;
    step.what = "a correctly signed delivery whose signature is cut to its first half".into();
    Some(Plan::new(format!("{}/auth/truncated", s.v.id), vec![step]))
}

/// Another version label for a signature: the vendor's own other version
/// where there is a well-known one, else the label changed.
fn relabel(label: &str) -> String {
    let (name, delim) = label.split_at(label.len() - 1);
    let other = if name.contains("sha256") {
        name.replace("sha256", "sha1")
    } else if name.contains("sha1") || name.contains("sha512") {
        name.replace("sha1", "sha256").replace("sha512", "sha256")
    } else if name == "v1" && delim == "," {
        "v1a".to_string()
    } else {
        match name.chars().last().and_then(|c| c.to_digit(10)) {
            Some(d) => format!(
                "{}{}",
                &name[..name.len() - 1],
                if d > 0 { d - 1 } else { 1 }
            ),
            None => format!("{name}x"),
        }
    };
    format!("{other}{delim}")
}

/// Where a batch vendor's deliveries hold their events: the body itself
/// (a JSON array: HubSpot, SendGrid) or the array the event type's pointer
/// goes through (Adyen's `/notificationItems/0/…`); `None` for others.
fn batch_at(v: &VendorSpec, doc: &Value) -> Option<String> {
    if doc.is_array() {
        return Some(String::new());
    }
    let pointer = v.manifest().event_type.pointer.as_deref()?;
    let (prefix, _) = pointer.split_once("/0/")?;
    doc.pointer(prefix)?.is_array().then(|| prefix.to_string())
}

/// `batch/several`: a batch vendor's delivery with two more events after
/// the sample's, each with ids of its own (the manifest's `fresh_ids`) and
/// a mark (`x_hookforge_item`). The documented samples of HubSpot and Adyen
/// hold one event each, so a receiver that handles only a batch's first
/// event passed every case (helper-70); observed, the handler must get
/// the whole batch.
fn batch_several(s: Sender<'_>, d: Fresh, nonce: &str) -> Option<Plan> {
    let mut doc: Value = serde_json::from_slice(&d.body).ok()?;
    let at = batch_at(s.v, &doc)?;
    let id = format!("{}/batch/several", s.v.id);
    // A vendor that signs each event in the body (Adyen) has each signed.
    let items = doc.pointer_mut(&at)?.as_array_mut()?;
    let first = items.first()?.clone();
    for k in 1..=2 {
        let mut item = first.clone();
        if let Value::Object(o) = &mut item {
            o.insert("x_hookforge_item".into(), json!(k));
        }
        items.push(item);
    }
    let n = items.len();
    fresh_body_ids(s.v, &mut doc, &format!("{nonce}/batch/several"));
    let body = serde_json::to_vec(&doc).expect("Value serializes");
    let what =
        format!("a batch of {n} events (two copies of the first added, with ids of their own)");
    let step = s.step(what, Fresh { body, id: d.id }, Expect::Success);
    Some(Plan::new(id, vec![step]))
}

/// A malformed body (refused), then a valid delivery right after (success:
/// the receiver survived). Both carry every header the vendor sends.
fn malformed(s: Sender<'_>, bad_id: Option<String>, good: Fresh) -> Plan {
    let bad = Fresh {
        body: b"{\"this is\": not JSON, \"truncated".to_vec(),
        id: bad_id,
    };
    Plan::new(
        format!("{}/malformed", s.v.id),
        vec![
            s.step(
                "a correctly signed body that is not JSON",
                bad,
                Expect::Refusal(Refusal::Malformed),
            ),
            s.step("a valid delivery right after", good, Expect::Success),
        ],
    )
}

/// A secret that is certainly not the configured one, in the same format
/// and of the same length (so a signature has the right length and
/// encoding): every letter and digit shifted by one within its class; a
/// Standard Webhooks key with every byte changed.
pub(crate) fn wrong_secret(
    secret: Option<&Secret>,
    scheme: Option<&crate::auth::Scheme>,
) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    // A public-key scheme: another key pair's private key (PEM, which every
    // key format accepts), so the signature is well-formed but not the vendor's.
    let algorithm = match scheme {
        Some(crate::auth::Scheme::Jwt(j)) => j.signing_algorithm(),
        _ => scheme
            .and_then(|secret| secret.signature())
            .map(|secret| secret.algorithm()),
    };
    if let Some(alg) = algorithm.filter(|a| a.is_public_key())
        && let Ok(pair) = crate::auth::generate_key_pair(alg)
    {
        return pair.private_pem.expose().to_string();
    }
    let Some(real) = secret.map(Secret::expose) else {
        return "hookforge-conformance-wrong-secret".into();
    };
    if let Some(key) = real.strip_prefix("whsec_").and_then(|k| b64.decode(k).ok()) {
        let flipped: Vec<u8> = key.iter().map(|b| b ^ 0xa5).collect();
        return format!("whsec_{}", b64.encode(flipped));
    }
    // Padded base64 (an Airtable MAC secret) stays base64 that decodes:
    // its bytes changed, re-encoded.
    if real.ends_with('=')
        && let Ok(bytes) = b64.decode(real)
    {
        let flipped: Vec<u8> = bytes.iter().map(|b| b ^ 0xa5).collect();
        return b64.encode(flipped);
    }
    // A hexadecimal key (Adyen's) stays hexadecimal.
    if !real.is_empty() && real.chars().all(|c| c.is_ascii_hexdigit()) {
        return real
            .chars()
            .map(|c| match c {
                'f' => '0',
                'F' => '0',
                '9' => 'a',
                c => (c as u8 + 1) as char,
            })
            .collect();
    }
    let shifted: String = real
        .chars()
        .map(|c| match c {
            'a'..='y' | 'A'..='Y' | '0'..='8' => (c as u8 + 1) as char,
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            c => c,
        })
        .collect();
    if shifted == real {
        // Nothing to shift (no letter or digit): change the last character.
        let mut v: Vec<char> = real.chars().collect();
        if let Some(last) = v.last_mut() {
            *last = if *last == '-' { '_' } else { '-' };
        }
        return v.into_iter().collect();
    }
    shifted
}

/// A new delivery based on `base`: a fresh event id where the vendor sends
/// one (same shape, last characters changed), in the body or for its id
/// header; otherwise a nonce field (receivers must keep unknown fields) so
/// content-hash dedupe sees it as new.
pub(crate) fn fresh(v: &VendorSpec, base: &[u8], nonce: &str) -> Fresh {
    let Ok(mut doc) = serde_json::from_slice::<Value>(base) else {
        return Fresh {
            body: base.to_vec(),
            id: None,
        };
    };
    let loc = v.manifest().event_id.as_ref();
    let id_ptr = loc.and_then(|l| l.pointer.as_deref());
    let slot = id_ptr.and_then(|p| doc.pointer_mut(p));
    if let Some(Value::String(id)) = slot {
        *id = mutate_id(id, nonce);
    } else if let Some(Value::Number(n)) = slot
        && let Some(fresh) = mutate_id(&n.to_string(), nonce).parse::<u64>().ok()
    {
        // An integer id stays an integer, with as many digits.
        *n = fresh.into();
    } else if loc.is_some_and(|l| l.header.is_some()) {
        let like = crate::conformance::delivery::minted_id(v, base);
        return Fresh {
            body: base.to_vec(),
            id: Some(mutate_id(&like, nonce)),
        };
    } else if let Some(Value::Object(o)) = nonce_slot(&mut doc) {
        // No id to make new: a field of its own tells the receiver's
        // reports of each case apart.
        o.insert("x_hookforge_nonce".into(), Value::String(nonce.into()));
    }
    fresh_body_ids(v, &mut doc, nonce);
    Fresh {
        body: serde_json::to_vec(&doc).expect("Value serializes"),
        id: None,
    }
}

/// The ids a body carries besides the event id (`delivery.fresh_ids`,
/// HubSpot's `/*/eventId`) made new for the case: a receiver deduping on
/// them (as HubSpot says to) would otherwise take every case made from one
/// sample for a retry of the first.
fn fresh_body_ids(v: &VendorSpec, doc: &mut Value, nonce: &str) {
    for pointer in crate::manifest::pointers_matching_any(doc, v.manifest().fresh_ids()) {
        let salt = format!("{nonce}{pointer}");
        match doc.pointer_mut(&pointer) {
            Some(Value::String(id)) => *id = mutate_id(id, &salt),
            Some(Value::Number(n)) if n.as_u64().is_some() => {
                // Nine digits at least, so a placeholder (`3`) does not
                // repeat; 18 at most, so the new one fits a u64.
                let digits = format!("{:1<9}", n.to_string());
                let digits = &digits[digits.len().saturating_sub(18)..];
                if let Ok(fresh) = mutate_id(digits, &salt).parse::<u64>() {
                    *n = fresh.into();
                }
            }
            _ => {}
        }
    }
}

/// Where [`fresh`] marks a delivery without an id: the body, or a batch's
/// first event (SendGrid and HubSpot send JSON arrays).
fn nonce_slot(doc: &mut Value) -> Option<&mut Value> {
    match doc {
        Value::Array(events) => events.first_mut(),
        other => Some(other),
    }
}

/// [`fresh`]'s body alone.
pub fn fresh_delivery(v: &VendorSpec, base: &[u8], nonce: &str) -> Vec<u8> {
    fresh(v, base, nonce).body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("prets/*", "prets/quote.created/doc-1"));
        assert!(glob_match("*/auth/*", "prets/auth/missing"));
        assert!(glob_match(
            "prets/quote.?reated/*",
            "prets/quote.created/doc-1"
        ));
        assert!(!glob_match("prets/auth/*", "prets/quote.created/doc-1"));
        assert!(glob_match("*", ""));
    }

    /// Stamps taken at once on two threads, far faster than one a
    /// millisecond, are all different (the clock alone repeats itself).
    #[test]
    fn stamps_are_never_the_same_twice() {
        let take = || (0..2000).map(|_| stamp_millis()).collect::<Vec<_>>();
        let (a, b) = std::thread::scope(|s| {
            let (a, b) = (s.spawn(take), s.spawn(take));
            (a.join().unwrap(), b.join().unwrap())
        });
        let all: std::collections::BTreeSet<i64> = a.iter().chain(&b).copied().collect();
        assert_eq!(all.len(), 4000);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "in order on one thread");
    }

    #[test]
    fn mutated_ids_keep_their_format() {
        let ulid = "evt_01KV59VZ502G6BXAD1YKNHQHNB";
        let m = mutate_id(ulid, "x");
        assert_ne!(m, ulid);
        assert_eq!(m.len(), ulid.len());
        assert!(
            m[4..]
                .bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
            "{m}"
        );
        let uuid = "1fc5752a-6de8-412d-847a-12d5529a0ec6";
        let m = mutate_id(uuid, "x");
        assert_ne!(m, uuid);
        assert!(m.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{m}");
        assert_eq!(mutate_id(uuid, "x"), m);
        assert_ne!(mutate_id(uuid, "y"), m);
    }

    /// The copies of one event, re-signed when sent a second apart, carry
    /// one body stamp: HubSpot's `occurredAt` is the event's. Stamped at
    /// each send, the copies were two id-less deliveries (helper-57).
    #[test]
    fn copies_of_one_event_share_their_body_stamp_when_resigned() {
        let plans = plans_of("hubspot", "hubspot-test-secret-0123456789");
        let v = hookforge_core::vendor("hubspot").unwrap();
        for id in ["hubspot/duplicate", "hubspot/duplicate/concurrent"] {
            let stamps: Vec<Value> = (plan(&plans, id).steps.iter())
                .map(|step| {
                    std::thread::sleep(std::time::Duration::from_millis(1100));
                    let (body, _) = step.resign.as_ref().unwrap().now(v, &step.headers).unwrap();
                    serde_json::from_slice::<Value>(&body).unwrap()[0]["occurredAt"].clone()
                })
                .collect();
            assert_eq!(stamps[0], stamps[1], "{id}");
        }
    }

    /// Adyen's `eventCode` is an enum and its event type: the unknown-enum
    /// probe changes another enum, or the case is an unknown event under
    /// another name (helper-70: a strict-enum receiver passed it).
    #[test]
    fn the_unknown_enum_probe_leaves_the_event_type_alone() {
        let key = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
        let plans = plans_of("adyen", key);
        let step = &plan(&plans, "adyen/drift/unknown-enum").steps[0];
        let item = &serde_json::from_slice::<Value>(&step.body).unwrap()["notificationItems"][0];
        let item = &item["NotificationRequestItem"];
        assert_ne!(item["eventCode"], "hookforge_undocumented_value", "{item}");
        assert!(
            step.body
                .windows(28)
                .any(|w| w == b"hookforge_undocumented_value")
        );
    }

    /// OpenAI's first samples carry only required fields: `drift/null-optional`
    /// takes the first sample with optional fields (or sends the schema's
    /// absent ones as null), and `drift/unknown-enum` gives an enum a value
    /// it does not list (helper-70: a receiver whose model refuses an
    /// undocumented null or enum value was never tested there).
    #[test]
    fn a_sample_without_optional_fields_gets_them_as_null() {
        fn nulls(v: &Value) -> usize {
            match v {
                Value::Null => 1,
                Value::Array(a) => a.iter().map(nulls).sum(),
                Value::Object(o) => o.values().map(nulls).sum(),
                _ => 0,
            }
        }
        let plans = plans_of("openai", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let case = plan(&plans, "openai/drift/null-optional");
        assert_eq!(case.skip, None);
        let body: Value = serde_json::from_slice(&case.steps[0].body).unwrap();
        assert!(nulls(&body) > 0, "{body}");
        // Its first sample with an optional field: `agent.session.created`.
        assert_eq!(body["type"], "agent.session.created", "{body}");
        assert_eq!(body["data"]["connect"], Value::Null, "{body}");
        assert!(
            body["type"].is_string() && body["data"].is_object(),
            "{body}"
        );
        let case = plan(&plans, "openai/drift/unknown-enum");
        assert_eq!(case.skip, None);
        let body: Value = serde_json::from_slice(&case.steps[0].body).unwrap();
        assert!(
            body.to_string().contains("hookforge_undocumented_value"),
            "{body}"
        );
        assert_ne!(body["type"], "hookforge_undocumented_value", "{body}");
        assert_eq!(
            body["data"]["required_action"]["type"], "hookforge_undocumented_value",
            "{body}"
        );
    }

    /// HubSpot's samples are batches of one: `batch/several` sends three
    /// events, each with an `eventId` of its own (helper-70: a receiver
    /// handling only the first event passed every case).
    #[test]
    fn a_batch_of_several_events_has_ids_of_their_own() {
        let plans = plans_of("hubspot", "hubspot-test-secret-0123456789");
        let step = &plan(&plans, "hubspot/batch/several").steps[0];
        let events: Vec<Value> = serde_json::from_slice(&step.body).unwrap();
        let ids: std::collections::BTreeSet<String> =
            events.iter().map(|e| e["eventId"].to_string()).collect();
        assert_eq!((events.len(), ids.len()), (3, 3), "{events:?}");
    }

    /// A catalogue over `vendor` signed with `secret`, for tests.
    fn plans_of(vendor: &str, secret: &str) -> Vec<Plan> {
        let v = hookforge_core::vendor(vendor).unwrap();
        let url = Some("https://example.com/hooks");
        let signer = Signer::for_manifest_at(v.manifest(), Secret::new(secret), None, url).unwrap();
        let secret = Secret::new(secret);
        Catalogue {
            sender: Sender::new(v, Some(&signer)),
            wrong: None,
            longer: None,
            secret: Some(&secret),
            handshake_token: None,
            nonce: "t".into(),
            recorded: &[],
        }
        .plans(&|b: &[u8]| b.to_vec())
        .unwrap()
    }

    fn plan<'p>(plans: &'p [Plan], id: &str) -> &'p Plan {
        plans
            .iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    }

    /// The harness sends the flagged plans first, one at a time: Slack's
    /// handshake is exactly the leading plan, and no other case is flagged.
    #[test]
    fn handshakes_lead_and_only_they_are_flagged() {
        let plans = plans_of("slack", "8f742231b10e8888abcd99yyyzzz85a5");
        let flagged: Vec<&str> = (plans.iter().filter(|p| p.handshake))
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(flagged, ["slack/handshake/url_verification"]);
        assert!(plans[0].handshake);
    }

    /// HubSpot sends a batch (a JSON array) and no event id: each case's
    /// delivery is still its own (the first event carries the case's
    /// mark), the new key goes into the first event, and the timestamp
    /// sent unsigned is in HubSpot's milliseconds.
    #[test]
    fn batches_without_ids_get_a_mark_a_new_key_and_the_vendors_time_unit() {
        let plans = plans_of("hubspot", "hubspot-client-secret-0123");
        let body = |id: &str| -> Value {
            serde_json::from_slice(&plan(&plans, id).steps[0].body).unwrap()
        };
        assert_ne!(body("hubspot/auth/invalid"), body("hubspot/duplicate"));
        assert!(body("hubspot/duplicate")[0]["x_hookforge_nonce"].is_string());
        let drift = body("hubspot/drift/extra-field");
        assert_eq!(drift[0]["x_hookforge_new_field"], json!({"added": true}));
        let missing = &plan(&plans, "hubspot/auth/missing").steps[0];
        let stamp = (missing.headers.iter())
            .find(|(k, _)| k.eq_ignore_ascii_case("X-HubSpot-Request-Timestamp"))
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(stamp.len(), 13, "milliseconds: {stamp}");
    }

    /// Discord documents no freshness window: `auth/stale` is skipped,
    /// saying why; Stripe documents one, and it is sent.
    #[test]
    fn stale_is_sent_only_where_the_window_is_the_vendors() {
        let ed25519 = crate::manifest::SignatureAlgorithm::Ed25519;
        let pair = crate::auth::generate_key_pair(ed25519).unwrap();
        let discord = plans_of("discord", pair.private_pem.expose());
        let stale = plan(&discord, "discord/auth/stale");
        assert!(
            stale
                .skip
                .as_deref()
                .is_some_and(|why| why.contains("no freshness window"))
        );
        let stripe = plans_of("stripe", "whsec_stale0123456789");
        assert!(plan(&stripe, "stripe/auth/stale").skip.is_none());
    }

    /// The event type stays, and so does the optional object it is in;
    /// every other optional field goes.
    #[test]
    fn clearing_optional_fields_keeps_the_type_and_its_objects() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "event": {
                    "type": "object",
                    "properties": {"type": {"type": "string"}, "user": {"type": "string"}}
                }
            }
        });
        let mut doc = json!({"id": "1", "event": {"type": "message", "user": "U1"}});
        let n = clear_optional(&mut doc, Some(schema.clone()), true, &["/event/type"]);
        assert_eq!(doc, json!({"event": {"type": "message"}}));
        assert_eq!(n, 2);
        let mut doc = json!({"id": "1", "event": {"type": "message", "user": "U1"}});
        clear_optional(&mut doc, Some(schema.clone()), false, &["/event/type"]);
        assert_eq!(
            doc,
            json!({"id": null, "event": {"type": "message", "user": null}})
        );
        // A field the sample already has as null is no change: not counted,
        // so a sample with nothing else to clear adds its absent ones instead.
        let mut doc = json!({"id": null, "event": {"type": "message"}});
        assert_eq!(
            clear_optional(&mut doc, Some(schema), false, &["/event/type"]),
            0
        );
    }
}

/// The real secret with characters appended: a receiver that checks only
/// that the credential *starts with* the secret accepts it. For bearer and
/// shared-secret schemes (`longer` signs with the longer secret).
fn auth_prefix(s: Sender<'_>, d: Fresh, longer: Option<&Signer>) -> Plan {
    Plan::new(
        format!("{}/auth/prefix", s.v.id),
        vec![s.signed_by(longer).step(
            "a valid delivery whose credential is the secret with characters appended",
            d,
            Expect::Refusal(Refusal::Auth),
        )],
    )
}

/// Whether the vendor's timestamp window is hookforge's assumption.
fn tolerance_assumed(v: &VendorSpec) -> bool {
    matches!(&v.manifest().auth, crate::manifest::Auth::Signature(a) if a.tolerance_assumed)
}

/// A correctly signed delivery whose timestamp is outside the tolerance:
/// for timestamped schemes (Standard Webhooks), a replay.
fn auth_stale(s: Sender<'_>, d: Fresh, tolerance_secs: u64) -> Plan {
    let age = tolerance_secs + 300;
    let stale = crate::util::since_epoch().as_secs().saturating_sub(age);
    let what = format!(
        "a correctly signed delivery timestamped {age} s ago (tolerance {tolerance_secs} s)"
    );
    Plan::new(
        format!("{}/auth/stale", s.v.id),
        vec![s.step_as(what, d, Expect::Refusal(Refusal::Auth), None, Some(stale))],
    )
}

/// A correctly signed delivery timestamped beyond the tolerance ahead of
/// now: for vendors whose own verifier refuses that too (Standard Webhooks,
/// Slack); Stripe's does not, so it is not sent there.
fn auth_future(s: Sender<'_>, d: Fresh, tolerance_secs: u64) -> Plan {
    let ahead = tolerance_secs + 300;
    let future = crate::util::since_epoch().as_secs() + ahead;
    let what = format!(
        "a correctly signed delivery timestamped {ahead} s in the future (tolerance {tolerance_secs} s)"
    );
    Plan::new(
        format!("{}/auth/future", s.v.id),
        vec![s.step_as(what, d, Expect::Refusal(Refusal::Auth), None, Some(future))],
    )
}

/// The same JSON value in other bytes, each signed over its own bytes: a
/// receiver must verify the bytes it received, not a re-serialization, and
/// keep numbers exactly. `fresh` gives a new delivery per probe.
fn byte_probes(catalogue: &Catalogue<'_>) -> Result<Vec<Plan>, HarnessError> {
    let sender = catalogue.sender;
    let value = |d: &Fresh| -> Result<Value, HarnessError> {
        serde_json::from_slice(&d.body)
            .map_err(|e| HarnessError::Internal(format!("a fresh delivery is not JSON: {e}")))
    };
    let with = |d: &Fresh, body: Vec<u8>| Fresh {
        body,
        id: d.id.clone(),
    };
    let (bw, bk, bu, bn, b8) = (
        catalogue.fresh("bytes/whitespace"),
        catalogue.fresh("bytes/key-order"),
        catalogue.fresh("bytes/unicode-escapes"),
        catalogue.fresh("bytes/numbers"),
        catalogue.fresh("bytes/utf8"),
    );
    let (numbers, numbers_how) = big_integer(sender, value(&bn)?);
    let mut text = value(&b8)?;
    if let Some(Value::Object(o)) = nonce_slot(&mut text) {
        o.insert("x_hookforge_text".into(), json!(UTF8_TEXT));
    }
    let probes: [(&str, String, Fresh); 5] = [
        (
            "whitespace",
            "pretty-printed with CRLF line ends and tabs".into(),
            with(&bw, write_json(&value(&bw)?, Style::Pretty)),
        ),
        (
            "key-order",
            "every object's keys in reverse order".into(),
            with(&bk, write_json(&value(&bk)?, Style::ReversedKeys)),
        ),
        (
            "unicode-escapes",
            "non-ASCII characters, `/` and each string's first letter \\u-escaped".into(),
            with(&bu, write_json(&value(&bu)?, Style::Escaped)),
        ),
        ("numbers", numbers_how, with(&bn, numbers)),
        (
            "utf8",
            format!("with raw UTF-8 text in an added field ({UTF8_TEXT:?}, not \\u-escaped)"),
            with(&b8, serde_json::to_vec(&text).expect("Value serializes")),
        ),
    ];
    Ok(probes
        .into_iter()
        .map(|(kind, how, d)| {
            Plan::new(
                format!("{}/bytes/{kind}", sender.v.id),
                vec![sender.step(format!("a valid delivery, {how}"), d, Expect::Success)],
            )
        })
        .collect())
}

/// The `utf8` probe's text, sent as raw UTF-8: a verifier that decodes
/// the body as Latin-1 (or any charset but UTF-8) before hashing it, as its
/// library hashes strings as UTF-8, fails it; ASCII bodies never show that.
const UTF8_TEXT: &str = "José Müller, 東京 ✓ 🙂";

/// The `numbers` probe's body: 9007199254740993 (2^53 + 1, which a double
/// cannot hold) in a documented integer field where the schema has one,
/// otherwise in an added field beside `1.0` and `1e2`.
fn big_integer(s: Sender<'_>, mut doc: Value) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(&doc).expect("Value serializes");
    // Not a field the vendor sets on each attempt (SendGrid's `/0/timestamp`):
    // stamped at sending, it would lose the number.
    let rules = s.v.manifest().delivery.as_ref();
    let restamped =
        |p: &String| rules.is_some_and(|r| r.fresh_times.contains(p) || r.per_attempt.contains(p));
    let at = s
        .event_of(&body)
        .and_then(|e| s.v.event(&e))
        .map(|e| walk(&s.v.bundled_schema(e), &doc).integers)
        .and_then(|found| found.into_iter().find(|p| !restamped(p)));
    if let Some(p) = at
        && let Some(slot) = doc.pointer_mut(&p)
    {
        *slot = Value::Number(9_007_199_254_740_993_u64.into());
        let how = format!("with 9007199254740993 (above 2^53) in its documented integer field {p}");
        return (write_json(&doc, Style::Compact), how);
    }
    if let Some(Value::Object(o)) = nonce_slot(&mut doc) {
        o.insert("x_hookforge_numbers".into(), Value::Null);
    }
    let how = "with an added field holding 1.0, 1e2 and 9007199254740993 (above 2^53)".into();
    (write_json(&doc, Style::Compact), how)
}

/// How [`write_json`] lays out the bytes.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    Compact,
    Pretty,
    ReversedKeys,
    Escaped,
}

/// JSON text for `v` in a given style. `x_hookforge_numbers: null` is written
/// as the literal number forms the `numbers` probe promises.
fn write_json(v: &Value, style: Style) -> Vec<u8> {
    let mut out = String::new();
    write_value(v, style, 0, &mut out);
    out.into_bytes()
}

fn write_value(value: &Value, style: Style, depth: usize, out: &mut String) {
    let pretty = style == Style::Pretty;
    let newline = |out: &mut String, d: usize| {
        if pretty {
            out.push_str("\r\n");
            out.push_str(&"\t".repeat(d));
        }
    };
    match value {
        Value::Object(o) => {
            out.push('{');
            let mut keys: Vec<&String> = o.keys().collect();
            if style == Style::ReversedKeys {
                keys.reverse();
            }
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_string(k, style, out);
                out.push_str(if pretty { ": " } else { ":" });
                if k.as_str() == "x_hookforge_numbers" && o[*k].is_null() {
                    out.push_str("[1.0, 1e2, 9007199254740993]");
                } else {
                    write_value(&o[*k], style, depth + 1, out);
                }
            }
            if !o.is_empty() {
                newline(out, depth);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_value(x, style, depth + 1, out);
            }
            if !a.is_empty() {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, style, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, style: Style, out: &mut String) {
    if style != Style::Escaped {
        out.push_str(&Value::String(s.to_string()).to_string());
        return;
    }
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            c if (c as u32) < 0x20 || !c.is_ascii() || (i == 0 && c.is_ascii_alphabetic()) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What vendors really change, each signed correctly; each must be accepted.
fn drift_probes(catalogue: &Catalogue<'_>) -> Result<Vec<Plan>, HarnessError> {
    let s = catalogue.sender;
    let mut plans = vec![
        new_keys_probe(s, catalogue.fresh("drift/extra-field"))?,
        unknown_enum_probe(catalogue),
    ];
    // Every optional field null; every optional field absent; but not the
    // event type, the envelope's discriminator, nor the objects it is in
    // (Slack's `/event` of `/event/type`). An optional id goes too: Prets'
    // docs leave `eventId` out of the required fields, and a receiver must
    // still keep such a delivery (deduplicated by its body).
    let envelope: Vec<&str> =
        s.v.manifest()
            .event_type
            .pointer
            .as_deref()
            .into_iter()
            .collect();
    for (kind, absent) in [("null-optional", false), ("missing-optional", true)] {
        let body = &s.v.manifest().body;
        if !absent && body.is_form() && body.json_field.is_none() {
            // A form field cannot be null.
            let why = format!("{} sends form fields, which cannot be null", s.v.name);
            plans.push(drift_plan(
                s,
                kind,
                String::new(),
                &catalogue.fresh("drift/null"),
                None,
                &why,
            ));
            continue;
        }
        let case = format!("drift/{kind}");
        // The first sample with an optional field to change: a vendor's
        // first sample may carry only required ones (OpenAI's do).
        let mut found = None;
        for base in catalogue.sender.v.events.iter().flat_map(|e| e.samples) {
            let d = fresh(s.v, base.body, &format!("{}/{case}", catalogue.nonce));
            let mut doc = json_of(&d)?;
            if let Some(what) = optional_drift(s, &mut doc, absent, &envelope) {
                found = Some((d, what, doc));
                break;
            }
        }
        plans.push(match found {
            Some((d, what, doc)) => drift_plan(s, kind, what, &d, Some(doc), ""),
            None => {
                let why_not = "no sample of this vendor has an optional field";
                drift_plan(
                    s,
                    kind,
                    String::new(),
                    &catalogue.fresh(&case),
                    None,
                    why_not,
                )
            }
        });
    }
    Ok(plans)
}

/// `doc`'s optional fields set to null (`absent`: removed), or, where it
/// has none, the optional fields its schema has and it lacks sent as null:
/// the case's description, or `None` if there were none.
fn optional_drift(
    s: Sender<'_>,
    doc: &mut Value,
    absent: bool,
    envelope: &[&str],
) -> Option<String> {
    let schema = schema_of(s, doc);
    let n = clear_optional(doc, schema.clone(), absent, envelope);
    if n > 0 {
        let how = if absent { "removed" } else { "set to null" };
        return Some(format!(
            "a valid delivery with its {n} optional fields {how}"
        ));
    }
    if absent {
        return None;
    }
    let n = null_absent_optionals(doc, schema.as_ref(), envelope);
    (n > 0).then(|| {
        format!("a valid delivery with {n} optional fields its sample lacks, sent as null")
    })
}

/// The keys `drift/extra-field` adds. Unlike the harness's other
/// `x_hookforge_*` fields (marks a handler may leave out of its report),
/// these must reach the handler: keeping a vendor's new fields is the case.
pub(crate) const NEW_KEYS: [&str; 2] = ["x_hookforge_new_field", "x_hookforge_new_nested_field"];

/// `drift/extra-field`: a new top-level key, and a new key inside a nested
/// object. In a batch (a JSON array of events: SendGrid, HubSpot) the first
/// event's keys are the top level.
fn new_keys_probe(s: Sender<'_>, de: Fresh) -> Result<Plan, HarnessError> {
    let mut doc = json_of(&de)?;
    let top = if doc.is_array() { "/0" } else { "" };
    let nested = (doc.pointer(top))
        .and_then(first_object_path)
        .map(|p| format!("{top}{p}"));
    let Some(Value::Object(o)) = doc.pointer_mut(top) else {
        let why = "the body holds no JSON object to add a key to";
        return Ok(drift_plan(s, "extra-field", String::new(), &de, None, why));
    };
    o.insert(NEW_KEYS[0].into(), json!({"added": true}));
    if let Some(Value::Object(o)) = nested.as_deref().and_then(|p| doc.pointer_mut(p)) {
        o.insert(NEW_KEYS[1].into(), json!("added"));
    }
    let added = match top {
        "" => "a new top-level key",
        _ => "a new key in its first event (/0)",
    };
    let what = match nested.as_deref() {
        Some(p) => format!("a valid delivery with {added} and a new key in {p}"),
        None => format!("a valid delivery with {added} (it has no nested object)"),
    };
    Ok(drift_plan(s, "extra-field", what, &de, Some(doc), ""))
}

/// `drift/unknown-enum`: an enum value outside the documented ones, in the
/// first sample (of any event) whose schema has a string enum where it has
/// a value.
fn unknown_enum_probe(catalogue: &Catalogue<'_>) -> Plan {
    let s = catalogue.sender;
    let dn = catalogue.fresh("drift/unknown-enum");
    let candidates = std::iter::once(dn.clone()).chain(
        s.v.events.iter().flat_map(|e| e.samples).map(|sample| {
            let case = format!("drift/unknown-enum#{}", sample.path);
            fresh(s.v, sample.body, &format!("{}/{case}", catalogue.nonce))
        }),
    );
    // Not the event type's own field (Adyen's `eventCode` is an enum): a
    // value there is an unknown event, which `unknown-event` sends.
    let type_at = s.v.manifest().event_type.pointer.as_deref();
    let found = candidates.into_iter().find_map(|d| {
        let candidate = json_of(&d).ok()?;
        let enums = walk(&schema_of(s, &candidate)?, &candidate).enums;
        let at = enums.into_iter().find(|p| Some(p.as_str()) != type_at)?;
        Some((d, candidate, at))
    });
    // Else an optional top-level enum the base sample lacks, added (OpenAI's
    // `object`): a vendor may start sending it with a value of its own.
    let found = found.or_else(|| {
        let mut doc = json_of(&dn).ok()?;
        let at = absent_enum(&schema_of(s, &doc)?, &doc, type_at)?;
        let Value::Object(o) = &mut doc else {
            return None;
        };
        o.insert(crate::manifest::unescape_token(&at[1..]), Value::Null);
        Some((dn.clone(), doc, at))
    });
    let why_not = "no sample has a value where its schema has a string enum (other than the \
                   event type), and its schema has no optional top-level enum to add";
    match found {
        Some((d, mut doc, p)) => {
            if let Some(slot) = doc.pointer_mut(&p) {
                *slot = Value::String("hookforge_undocumented_value".into());
            }
            let what = format!("a valid delivery with {p} set to a value its enum does not list");
            drift_plan(s, "unknown-enum", what, &d, Some(doc), why_not)
        }
        None => drift_plan(s, "unknown-enum", String::new(), &dn, None, why_not),
    }
}

/// The pointer of an optional top-level field with a string enum that
/// `doc` lacks (not the event type's).
fn absent_enum(schema: &Value, doc: &Value, type_at: Option<&str>) -> Option<String> {
    let required: Vec<&str> = (schema.get("required").and_then(Value::as_array))
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = schema.get("properties")?.as_object()?;
    properties.iter().find_map(|(name, field)| {
        let pointer = format!("/{}", crate::manifest::escape_token(name));
        let enum_of_strings = (field.get("enum").and_then(Value::as_array))
            .is_some_and(|e| !e.is_empty() && e.iter().all(Value::is_string));
        let free = !required.contains(&name.as_str()) && doc.get(name).is_none();
        (enum_of_strings && free && type_at != Some(pointer.as_str())).then_some(pointer)
    })
}

fn json_of(d: &Fresh) -> Result<Value, HarnessError> {
    serde_json::from_slice(&d.body)
        .map_err(|e| HarnessError::Internal(format!("a fresh delivery is not JSON: {e}")))
}

/// The bundled schema of the event `doc` is.
fn schema_of(s: Sender<'_>, doc: &Value) -> Option<Value> {
    let body = serde_json::to_vec(doc).ok()?;
    Some(s.v.bundled_schema(s.v.event(&s.event_of(&body)?)?))
}

/// The plan of one drift probe: `doc` sent as a valid delivery, or (no
/// `doc`) skipped with `why_not`.
fn drift_plan(
    s: Sender<'_>,
    kind: &str,
    what: String,
    d: &Fresh,
    doc: Option<Value>,
    why_not: &str,
) -> Plan {
    let id = format!("{}/drift/{kind}", s.v.id);
    match doc {
        Some(doc) => {
            let body = serde_json::to_vec(&doc).expect("Value serializes");
            let d = Fresh {
                body,
                id: d.id.clone(),
            };
            Plan::new(id, vec![s.step(what, d, Expect::Success)])
        }
        None => Plan::skipped(id, why_not.to_string()),
    }
}

/// Sets every optional field of `doc` to null, or removes it (but the
/// event type's own field); how many it changed.
fn clear_optional(doc: &mut Value, schema: Option<Value>, absent: bool, keep: &[&str]) -> usize {
    let mut optional = schema
        .map(|schema| walk(&schema, doc).optional)
        .unwrap_or_default();
    // A kept field stays, and so does every object it is in.
    let holds = |p: &str, k: &str| k == p || k.strip_prefix(p).is_some_and(|r| r.starts_with('/'));
    optional.retain(|p| !keep.iter().any(|k| holds(p, k)));
    // Deepest first, so a parent set to null or removed last wins.
    optional.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    // Counted: the fields changed. One the sample already has as null is
    // no change, and a case of only those would prove nothing.
    let mut changed = 0;
    for ptr in &optional {
        let (parent, key) = ptr.rsplit_once('/').expect("pointers start with /");
        let key = crate::manifest::unescape_token(key);
        if let Some(Value::Object(o)) = doc.pointer_mut(parent) {
            let was = if absent {
                o.remove(&key)
            } else {
                o.get_mut(&key).map(|v| std::mem::replace(v, Value::Null))
            };
            changed += usize::from(was.is_some_and(|v| absent || !v.is_null()));
        }
    }
    changed
}

/// For a sample that carries none of its optional fields (OpenAI's carry
/// only the required ones): the schema's optional top-level fields, added
/// as null, as a vendor sending one empty would. How many were added.
fn null_absent_optionals(doc: &mut Value, schema: Option<&Value>, keep: &[&str]) -> usize {
    let (Some(schema), Value::Object(o)) = (schema, doc) else {
        return 0;
    };
    let required: Vec<&str> = (schema.get("required").and_then(Value::as_array))
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return 0;
    };
    let mut n = 0;
    for name in properties.keys() {
        let pointer = format!("/{}", crate::manifest::escape_token(name));
        if required.contains(&name.as_str()) || o.contains_key(name) || keep.contains(&&*pointer) {
            continue;
        }
        o.insert(name.clone(), Value::Null);
        n += 1;
    }
    n
}

/// The pointer of the first object nested in the top-level object.
fn first_object_path(doc: &Value) -> Option<String> {
    let o = doc.as_object()?;
    o.iter().find_map(|(k, v)| {
        v.is_object()
            .then(|| format!("/{}", crate::manifest::escape_token(k)))
    })
}

/// `<vendor>/handshake/<name>`: the vendor's documented request, signed
/// when the vendor signs it; the answer must be the one the vendor requires
/// (rendered from the manifest with the configured secret and token).
fn handshake(c: &Catalogue<'_>, h: &crate::manifest::Handshake) -> Plan {
    let id = handshake_id(c.sender.v.id, &h.name);
    let plan = if let Some(endpoint) = &h.other_endpoint {
        let why = format!(
            "{} sends it only to its {endpoint}, not to an endpoint receiving its events",
            c.sender.v.name
        );
        Plan::skipped(id, why)
    } else {
        match handshake_step(c.sender, h, c.secret, c.handshake_token) {
            Ok(step) => Plan::new(id, vec![step]),
            Err(why) => Plan::skipped(id, why),
        }
    };
    Plan {
        handshake: true,
        ..plan
    }
}

/// The request of `handshake` as the vendor sends it, with the answer it
/// requires; why not, when it cannot be made (no token to send).
/// `body` (a JSON object) with the string `value` at `pointer`, which
/// must already be there (the example's placeholder).
fn with_string_at(body: &[u8], pointer: &str, value: &str) -> Result<Vec<u8>, String> {
    let mut json: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the handshake's example body is not JSON: {e}"))?;
    let slot = json
        .pointer_mut(pointer)
        .ok_or_else(|| format!("the handshake's example body has no `{pointer}`"))?;
    *slot = Value::String(value.to_string());
    Ok(serde_json::to_vec(&json).expect("Value serializes"))
}

pub(crate) fn handshake_step(
    sender: Sender<'_>,
    handshake: &crate::manifest::Handshake,
    secret: Option<&Secret>,
    token: Option<&Secret>,
) -> Result<Step, String> {
    use crate::manifest::handshake::HandshakeMethod;
    if let Some(v) = &handshake.visit {
        // The example's URL is the vendor's: the receiver would call it.
        return Err(format!(
            "the receiver would visit the example's `{}` (a real {} URL); hookforge's own tests serve one on loopback",
            v.pointer, sender.v.name
        ));
    }
    let (mut query, mut extra, mut body) = crate::handshake::example_request(handshake);
    if let Some(keep) = &handshake.keep {
        // The handshake hands over the secret later deliveries are signed
        // with: the one this run signs with, not the example's.
        let secret = secret.ok_or_else(|| {
            format!(
                "give --secret: the `{}` handshake hands the receiver the secret deliveries are then signed with",
                handshake.name
            )
        })?;
        if let Some(header) = &keep.header {
            extra.retain(|(k, _)| !k.eq_ignore_ascii_case(header));
            extra.push((header.clone(), secret.expose().to_string()));
        }
        if let Some(pointer) = &keep.pointer {
            body = with_string_at(&body, pointer, secret.expose())?;
        }
    }
    if let Some(q) = &handshake.token_query {
        let token = token.ok_or_else(|| {
            format!("give --handshake-token: the `{q}` the receiver is configured with")
        })?;
        query = with_param(&query, q, token.expose());
    }
    let method = match handshake.method {
        HandshakeMethod::Get => http::Method::GET,
        HandshakeMethod::Post => http::Method::POST,
        HandshakeMethod::Head => http::Method::HEAD,
    };
    let signer = if handshake.authenticated {
        sender.signer
    } else {
        None
    };
    let what = format!("the {} handshake `{}`", sender.v.name, handshake.name);
    let mut step = sender
        .signed_by(signer)
        .step(what, Fresh { body, id: None }, Expect::Handshake);
    if method != http::Method::POST {
        // A GET or HEAD carries no body, so no content type either.
        step.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
    }
    // The example's headers are the handshake's own (Azure's
    // `aeg-event-type: SubscriptionValidation`, not the events' value).
    step.headers
        .retain(|(k, _)| !extra.iter().any(|(e, _)| e.eq_ignore_ascii_case(k)));
    step.headers.extend(extra);
    let mut headers = http::HeaderMap::new();
    for (k, v) in &step.headers {
        if let (Ok(k), Ok(v)) = (k.parse::<http::HeaderName>(), v.parse()) {
            headers.append(k, v);
        }
    }
    let json = serde_json::from_slice::<Value>(&step.body).ok();
    let req = crate::handshake::HandshakeRequest {
        method: &method,
        query: Some(&query),
        headers: &headers,
        body: &step.body,
    };
    let answer = crate::handshake::answer(handshake, &req, json.as_ref(), secret, token)
        .map_err(|e| format!("cannot work out the required answer: {e}"))?;
    step.handshake = Some(answer);
    step.method = method;
    step.query = (!query.is_empty()).then_some(query);
    Ok(step)
}

/// `query` with `name` set to `value` (added, or replacing the example's).
fn with_param(query: &str, name: &str, value: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != name {
            out.append_pair(&k, &v);
        }
    }
    out.append_pair(name, value);
    out.finish()
}
