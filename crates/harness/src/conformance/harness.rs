//! The conformance harness: replays every sample of a vendor, byte for byte
//! with the headers the vendor really sends, against any receiver over HTTP,
//! plus the negative cases a receiver must survive, and judges each answer by
//! the vendor's own success rule and time budget.
//!
//! ```no_run
//! # async fn t() -> Result<(), Box<dyn std::error::Error>> {
//! use hookforge::conformance::harness::Harness;
//! let report = Harness::new(&hookforge::vendors::prets::VENDOR, "http://127.0.0.1:8080/hooks/prets")
//!     .secret("whsec_...")
//!     .run()
//!     .await?;
//! assert_eq!(report.failed, 0, "{}", report.table());
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::VendorSpec;
use crate::auth::{Secret, Signer};
use crate::conformance::cases::{self, Plan, Sender, Step};
use crate::conformance::judge::{self, Answer, Observed, Sent, Verdict};
use crate::conformance::observe::Observer;
use crate::conformance::report::{CaseResult, Outcome, Redactor, Report, StepResult};

/// The budget when the vendor documents none.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// How long to wait for a receiver's reports after the last answer.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);

pub use super::error::HarnessError;
use super::target::{Signing, check_reachable, client_builder, target_setters};

/// Called with each finished case.
type ProgressFn = Arc<dyn Fn(&CaseResult) + Send + Sync>;

/// A conformance run against one vendor's receiver.
pub struct Harness {
    vendor: &'static VendorSpec,
    url: String,
    signing: Signing,
    handshake_token: Option<Secret>,
    timeout: Option<Duration>,
    /// A private CA (PEM) trusted for `https://` targets, besides the
    /// system's roots.
    ca_cert: Option<Vec<u8>>,
    concurrency: usize,
    filter: Vec<String>,
    sandbox: Option<crate::conformance::sandbox::Sandbox>,
    progress: Option<ProgressFn>,
    /// An in-process receiver to serve on loopback for the run.
    router: Option<std::sync::Mutex<Option<(std::net::TcpListener, axum::Router)>>>,
    /// Where to listen for the receiver's handled reports.
    observe: Option<std::net::SocketAddr>,
    /// An observer already listening (its URL given to the receiver first).
    observer: std::sync::Mutex<Option<Observer>>,
    settle: Duration,
    /// Real deliveries (an inbox's) sent as cases of their own.
    recorded: Vec<Recorded>,
}

pub use super::cases::{Recorded, glob_match};

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("vendor", &self.vendor.id)
            .field("url", &self.url)
            .field("secret", &self.signing.secret)
            .finish()
    }
}

/// How long the vendor waits for an answer: the manifest's
/// `success.timeout_secs`, else its delivery rules' timeout (which the
/// simulator plays too), else [`DEFAULT_BUDGET`].
pub fn vendor_budget(vendor: &VendorSpec) -> Duration {
    let m = vendor.manifest();
    m.success
        .timeout_secs
        .map(Duration::from_secs)
        .or_else(|| {
            m.delivery
                .as_ref()
                .and_then(|d| Duration::try_from_secs_f64(d.timeout_secs).ok())
        })
        .unwrap_or(DEFAULT_BUDGET)
}

impl Harness {
    pub fn new(vendor: &'static VendorSpec, url: impl Into<String>) -> Harness {
        Harness {
            vendor,
            url: url.into(),
            signing: Signing::default(),
            handshake_token: None,
            timeout: None,
            ca_cert: None,
            concurrency: 4,
            filter: Vec::new(),
            sandbox: None,
            progress: None,
            router: None,
            observe: None,
            observer: std::sync::Mutex::new(None),
            settle: DEFAULT_SETTLE,
            recorded: Vec::new(),
        }
    }

    /// Adds real deliveries as cases, `<vendor>/inbox/<id>`, each judged by
    /// the vendor's success rule (with [`Harness::observe`], also handled
    /// once, intact).
    pub fn recorded(mut self, deliveries: Vec<Recorded>) -> Harness {
        self.recorded.extend(deliveries);
        self
    }

    /// Like [`Harness::observe`], with an observer already listening, so the
    /// receiver can be told its URL before the run.
    pub fn with_observer(mut self, observer: Observer) -> Harness {
        self.observe = Some(observer.addr());
        self.observer = std::sync::Mutex::new(Some(observer));
        self
    }

    /// Listens on `addr` for the receiver's reports of what its handler
    /// processed (`POST /handled`, see [`crate::conformance::observe`]), and
    /// judges behaviour: each authentic delivery handled exactly once with
    /// its payload intact, no refused one handled.
    pub fn observe(mut self, addr: std::net::SocketAddr) -> Harness {
        self.observe = Some(addr);
        self
    }

    /// How long after the last answer reports may still arrive.
    pub fn settle(mut self, d: Duration) -> Harness {
        self.settle = d;
        self
    }

    /// A harness for an axum `Router` in this process: it is served on a
    /// free loopback port for the run, and `path` is its endpoint for the
    /// vendor (e.g. `/hooks/prets`).
    pub fn for_router(
        vendor: &'static VendorSpec,
        router: axum::Router,
        path: &str,
    ) -> Result<Harness, HarnessError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| HarnessError::Io {
                what: "cannot bind a loopback port",
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| HarnessError::Io {
            what: "cannot read the loopback port's address",
            source,
        })?;
        let mut h = Harness::new(vendor, format!("http://{addr}{path}"));
        h.router = Some(std::sync::Mutex::new(Some((listener, router))));
        Ok(h)
    }

    target_setters!();

    pub fn concurrency(mut self, n: usize) -> Harness {
        self.concurrency = n.max(1);
        self
    }

    /// Only cases whose id matches this glob (`*` and `?`); called again,
    /// cases matching any of the globs.
    pub fn filter(mut self, glob: impl Into<String>) -> Harness {
        self.filter.push(glob.into());
        self
    }

    /// Serve the vendor's API from `sandbox`, point sample URLs at it, and
    /// report the receiver's follow-up calls.
    pub fn sandbox(mut self, sandbox: crate::conformance::sandbox::Sandbox) -> Harness {
        self.sandbox = Some(sandbox);
        self
    }

    /// Called after each case (progress bars).
    pub fn on_case(mut self, f: impl Fn(&CaseResult) + Send + Sync + 'static) -> Harness {
        self.progress = Some(Arc::new(f));
        self
    }

    /// The time budget in force: the one given, else [`vendor_budget`].
    pub fn budget(&self) -> Duration {
        self.timeout.unwrap_or_else(|| vendor_budget(self.vendor))
    }

    /// A signature that covers `{url}` is over the URL posted to.
    fn signer(&self, secret: Option<&Secret>) -> Result<Option<Signer>, HarnessError> {
        self.signing.signer(self.vendor, secret, Some(&self.url))
    }

    /// Every case of the run, before filtering (the catalogue in `cases`
    /// chooses them). `nonce` makes this run's ids new.
    fn plans(&self, nonce: u128) -> Result<Vec<Plan>, HarnessError> {
        let signer = self.signer(self.signing.secret.as_ref())?;
        let wrong = self.signer(Some(&Secret::new(cases::wrong_secret(
            self.signing.secret.as_ref(),
            signer.as_ref().map(|s| s.scheme()),
        ))))?;
        // Only static credentials have a meaningful longer form (and a
        // longer Standard Webhooks key is not a key).
        let scheme = signer.as_ref().map(|s| s.scheme().name());
        let longer = match (&self.signing.secret, scheme) {
            (Some(real), Some("bearer" | "shared-secret")) => {
                self.signer(Some(&Secret::new(cases::longer_secret(real))))?
            }
            _ => None,
        };
        let rewrite = |body: &[u8]| match &self.sandbox {
            Some(sb) => sb.rewrite(body),
            None => body.to_vec(),
        };
        let sender = Sender::new(self.vendor, signer.as_ref());
        cases::Catalogue {
            sender,
            wrong: wrong.as_ref(),
            longer: longer.as_ref(),
            secret: self.signing.secret.as_ref(),
            handshake_token: self.handshake_token.as_ref(),
            nonce: nonce.to_string(),
            recorded: &self.recorded,
        }
        .plans(&rewrite)
    }

    /// Every secret the run uses, and what it derives from them, to keep
    /// out of the report.
    fn redactor(&self, plans: &[Plan]) -> Redactor {
        let mut r = Redactor::default();
        if let Some(real) = &self.signing.secret {
            r.add_secret(real.expose());
            // Derived: blanked only when long enough not to hit ordinary
            // words (a one-letter secret's wrong twin is one letter too).
            r.add(&cases::wrong_secret(Some(real), None));
            r.add(&cases::longer_secret(real));
        }
        // The verify token rides in a handshake's query (Meta's), which
        // a step's request line shows.
        if let Some(token) = &self.handshake_token {
            r.add_secret(token.expose());
        }
        for step in plans.iter().flat_map(|p| &p.steps) {
            add_credentials(&mut r, self.vendor, &step.headers);
        }
        r
    }

    /// How many cases a run will report (after the filter): for progress.
    pub fn planned_cases(&self) -> Result<usize, HarnessError> {
        let selection = self.selection();
        let n = selection.plans(self.plans(0)?).len();
        let id = self.vendor.id;
        let observe =
            usize::from(self.observe.is_some() && selection.takes(&cases::observe_id(id)));
        Ok(n + observe + usize::from(selection.takes(&cases::budget_id(id))))
    }

    fn selection(&self) -> cases::Selection<'_> {
        cases::Selection(&self.filter)
    }

    /// Runs every case.
    pub async fn run(&self) -> Result<Report, HarnessError> {
        let _server = self.serve_router()?;
        let client = |title_case: bool| {
            let b = client_builder(self.ca_cert.as_deref())?
                .timeout(self.budget())
                .connect_timeout(Duration::from_secs(5));
            let b = if title_case {
                b.http1_title_case_headers()
            } else {
                b
            };
            b.build()
                .map_err(|e| HarnessError::Internal(format!("cannot build the HTTP client: {e}")))
        };
        let (title_case_client, client) = (client(true)?, client(false)?);
        check_reachable(&self.url).await?;
        let ready = self.observer.lock().ok().and_then(|mut o| o.take());
        let observer = match (ready, self.observe) {
            (Some(o), _) => Some(o),
            (None, Some(addr)) => Some(Observer::start(addr).await.map_err(|e| {
                HarnessError::Config(format!("cannot listen for reports on {addr}: {e}"))
            })?),
            (None, None) => None,
        };
        let selection = self.selection();
        let all = self.plans(crate::util::since_epoch().as_micros())?;
        let redactor = Arc::new(self.redactor(&all));
        let plans = selection.plans(all);
        let plans = match observer {
            Some(_) => plans,
            None => plans.into_iter().map(unobserved).collect(),
        };
        let ctx = Arc::new(RunCtx {
            client,
            title_case_client,
            url: self.url.clone(),
            budget: self.budget(),
            vendor: self.vendor,
            observed: observer.is_some(),
            fail_next: observer.as_ref().map(Observer::fail_next),
            redactor: redactor.clone(),
        });
        let mut runs = self.send_all(ctx, plans).await?;
        twins_may_wait(&mut runs);
        let mut extra = Vec::new();
        if let Some(obs) = &observer {
            tokio::time::sleep(self.settle).await;
            let observed = judge_observed(self.vendor, &mut runs, obs, self.settle);
            if selection.takes(&cases::observe_id(self.vendor.id)) {
                extra.push(observe_case(self.vendor, &observed, obs));
            }
        }
        let mut cases: Vec<CaseResult> = runs.into_iter().map(CaseRun::finish).collect();
        if let Some(t) = self.timing(&cases)
            && selection.takes(&cases::budget_id(self.vendor.id))
        {
            extra.push(t.case(self.vendor.id));
        }
        if let Some(p) = &self.progress {
            extra.iter().for_each(|c| p(c));
        }
        cases.extend(extra);
        for c in &mut cases {
            redactor.case(c);
        }
        let sandbox = match &self.sandbox {
            Some(s) => {
                let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
                Some(s.report_for(self.vendor, &ids).await)
            }
            None => None,
        };
        let count = |o| cases.iter().filter(|c| c.outcome == o).count();
        Ok(Report {
            vendor: self.vendor.id.to_string(),
            passed: count(Outcome::Pass),
            failed: count(Outcome::Fail),
            skipped: count(Outcome::Skip),
            sandbox,
            timing: self.timing(&cases),
            cases,
        })
    }

    /// Serves the in-process receiver, if any, for the run.
    fn serve_router(&self) -> Result<Option<AbortOnDrop>, HarnessError> {
        let Some((listener, router)) = self.router.as_ref().and_then(|m| m.lock().ok()?.take())
        else {
            return Ok(None);
        };
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|source| HarnessError::Io {
                what: "cannot serve the router",
                source,
            })?;
        Ok(Some(AbortOnDrop(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }))))
    }

    /// Sends every plan, `concurrency` at a time; results in plan order.
    /// Handshakes go first, one at a time and finished before any other
    /// case, as the vendor sends them (one may hand over the secret).
    async fn send_all(
        &self,
        ctx: Arc<RunCtx>,
        mut plans: Vec<Plan>,
    ) -> Result<Vec<CaseRun>, HarnessError> {
        let ctx_redactor = ctx.redactor.clone();
        let report = |run: &CaseRun| {
            if let Some(p) = &self.progress {
                let mut shown = run.clone().finish();
                ctx_redactor.case(&mut shown);
                p(&shown);
            }
        };
        let first = plans.iter().take_while(|p| p.handshake).count();
        let rest = plans.split_off(first);
        let mut results = Vec::new();
        for (i, plan) in plans.into_iter().enumerate() {
            let run = ctx.run_plan(plan).await;
            report(&run);
            results.push((i, run));
        }
        let sem = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut set = tokio::task::JoinSet::new();
        for (i, plan) in rest.into_iter().enumerate() {
            let i = i + first;
            let (sem, ctx) = (sem.clone(), ctx.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                (i, ctx.run_plan(plan).await)
            });
        }
        while let Some(r) = set.join_next().await {
            let (i, run) =
                r.map_err(|e| HarnessError::Internal(format!("a case's task failed: {e}")))?;
            report(&run);
            results.push((i, run));
        }
        results.sort_by_key(|(i, _)| *i);
        Ok(results.into_iter().map(|(_, c)| c).collect())
    }

    /// Answer times of the sample replays against the vendor's budget.
    fn timing(&self, cases: &[CaseResult]) -> Option<crate::conformance::report::Timing> {
        let v = self.vendor;
        let sample_ids: std::collections::HashSet<String> = v
            .events
            .iter()
            .flat_map(|e| {
                e.samples
                    .iter()
                    .map(move |s| cases::sample_id(v.id, e.name, s.name))
            })
            .collect();
        // A replay with no HTTP answer (refused, cut, timed out) is a failed
        // delivery to the vendor: it counts as taking the whole budget.
        let budget_ms = self.budget().as_secs_f64() * 1000.0;
        crate::conformance::report::Timing::of(
            cases
                .iter()
                .filter(|c| sample_ids.contains(&c.id))
                .filter_map(|c| match c.status {
                    Some(_) => c.latency_ms,
                    None => Some(c.latency_ms.unwrap_or(0.0).max(budget_ms)),
                })
                .collect(),
            self.budget(),
        )
    }
}

/// The headers that carry a credential or signature for this vendor.
fn auth_header_names(v: &VendorSpec) -> Vec<String> {
    use crate::manifest::Auth;
    let mut names = match &v.manifest().auth {
        Auth::None { .. } => Vec::new(),
        Auth::Bearer { header, .. } | Auth::Hmac { header, .. } => vec![header.clone()],
        Auth::StandardWebhooks { .. } => vec!["webhook-signature".to_string()],
        Auth::Signature(s) => vec![s.header.clone()],
        Auth::Jwt(j) => vec![j.header.clone()],
    };
    names.push("Authorization".into());
    names
}

/// A case that judges by the receiver's reports alone, skipped when no
/// observer listens.
fn unobserved(plan: Plan) -> Plan {
    match plan.needs_observer() {
        true => Plan::skipped(
            plan.id,
            "needs --observe: only the receiver's reports can make its handler fail and show \
             whether the vendor's retry was then handled"
                .into(),
        ),
        false => plan,
    }
}

/// Judges every step again with the receiver's reports.
fn judge_observed(
    vendor: &VendorSpec,
    runs: &mut [CaseRun],
    obs: &Observer,
    settle: Duration,
) -> Observed {
    let mut sent = Sent::default();
    for step in runs.iter().flat_map(|r| &r.steps) {
        // Handshakes too: a receiver that hands one to its handler reports
        // it, and the report must land on the handshake's case.
        let authentic = matches!(
            step.expect,
            cases::Expect::Success | cases::Expect::Handshake | cases::Expect::HandlerFails
        );
        sent.add(&step.key, &step.json_body(), authentic);
        if step.expect == cases::Expect::HandlerFails {
            sent.failed_first(&step.key);
        }
    }
    let mut observed = Observed::match_reports(&sent, obs.reports(), settle);
    observed.ids_in_body = !vendor.manifest().fresh_ids().is_empty();
    let fail_next = obs.fail_next();
    for step in runs.iter_mut().flat_map(|r| r.steps.iter_mut()) {
        let json = step.json_body();
        let verdict = step.verdict.clone();
        step.verdict = observed.judge(step.expect, &step.key, &json, verdict, step.origin);
        // Never refused: no report carried the id, so no handler failed.
        if step.expect == cases::Expect::HandlerFails && fail_next.disarm(&step.key) {
            step.verdict = judge::Verdict::fail(format!(
                "{}; but no report of event {} reached the observer within {:.1} s to be refused, so \
                 its handler never failed and the case proves nothing: report the event id as the \
                 vendor sends it",
                step.verdict.note,
                step.key,
                settle.as_secs_f64()
            ));
        }
    }
    observed
}

/// The `<vendor>/observe` case: every report matched a delivery sent.
fn observe_case(vendor: &VendorSpec, observed: &Observed, obs: &Observer) -> CaseResult {
    let (outcome, detail) = if observed.total == 0 {
        (
            Outcome::Fail,
            format!(
                "no report arrived at {} within {:.1} s of the last answer: the receiver must POST each delivery it handles there",
                obs.url(),
                observed.settle.as_secs_f64()
            ),
        )
    } else if observed.unmatched.is_empty() {
        (
            Outcome::Pass,
            format!(
                "{} reports, each matched to a delivery sent",
                observed.total
            ),
        )
    } else {
        let ids: Vec<String> = observed
            .unmatched
            .iter()
            .take(5)
            .map(|r| r.event_id.clone().unwrap_or_else(|| "(no id)".into()))
            .collect();
        (
            Outcome::Fail,
            format!(
                "{} of {} reports match no delivery sent (by id, nor by payload): {}",
                observed.unmatched.len(),
                observed.total,
                ids.join(", ")
            ),
        )
    };
    CaseResult {
        id: cases::observe_id(vendor.id),
        outcome,
        detail,
        status: None,
        latency_ms: None,
        steps: Vec::new(),
    }
}

/// Stops an in-process receiver when the run ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct RunCtx {
    client: reqwest::Client,
    /// Writes header names in Title-Case (`headers/case`).
    title_case_client: reqwest::Client,
    url: String,
    budget: Duration,
    /// Answers are cleaned before they are cut, so no part of a secret
    /// survives at the cut.
    redactor: Arc<Redactor>,
    vendor: &'static VendorSpec,
    observed: bool,
    /// Where a step arms its handler's failure (`retry/after-failure`).
    fail_next: Option<crate::conformance::observe::FailNext>,
}

/// A case as sent: each step with its answer and verdict so far.
#[derive(Clone)]
struct CaseRun {
    id: String,
    skip: Option<String>,
    steps: Vec<StepRun>,
}

#[derive(Clone)]
struct StepRun {
    what: String,
    /// Where the delivery comes from (see `Step::origin`).
    origin: cases::Origin,
    format: crate::manifest::body::BodyFormat,
    request: String,
    expect: cases::Expect,
    key: String,
    body: Vec<u8>,
    answer: Answer,
    ms: f64,
    verdict: Verdict,
}

impl StepRun {
    /// The body as JSON (a form vendor's form read as its fields), as the
    /// receiver stores it and its handler reports it.
    fn json_body(&self) -> Vec<u8> {
        crate::form::json_body(&self.format, &self.body).into_owned()
    }
}

impl CaseRun {
    fn finish(self) -> CaseResult {
        if self.steps.is_empty() {
            return CaseResult {
                id: self.id,
                outcome: Outcome::Skip,
                detail: self.skip.unwrap_or_default(),
                status: None,
                latency_ms: None,
                steps: Vec::new(),
            };
        }
        let ok = self.steps.iter().all(|s| s.verdict.ok);
        let several = self.steps.len() > 1;
        let detail: Vec<String> = self
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| !ok || s.verdict.ok)
            .filter(|(_, s)| ok || !s.verdict.ok)
            .map(|(i, s)| {
                let head = if several {
                    format!("step {}: ", i + 1)
                } else {
                    String::new()
                };
                format!("{head}{}: sent {}; {}", s.what, s.request, s.verdict.note)
            })
            .collect();
        CaseResult {
            id: self.id,
            outcome: if ok { Outcome::Pass } else { Outcome::Fail },
            detail: detail.join(" | "),
            status: self.steps.last().and_then(|s| s.answer.status()),
            latency_ms: Some(self.steps.iter().map(|s| s.ms).sum()),
            steps: self
                .steps
                .into_iter()
                .map(|s| StepResult {
                    status: s.answer.status(),
                    what: s.what,
                    request: s.request,
                    ms: s.ms,
                    ok: s.verdict.ok,
                    note: s.verdict.note,
                })
                .collect(),
        }
    }
}

impl RunCtx {
    /// Sends every step of a case, in order, whatever the earlier ones got;
    /// a concurrent case's two steps at once.
    async fn run_plan(&self, plan: Plan) -> CaseRun {
        let mut steps = Vec::new();
        let mut queue = plan.steps.into_iter();
        if plan.concurrent
            && let (Some(a), Some(b)) = (queue.next(), queue.next())
        {
            let (a, b) = tokio::join!(self.send(a, &plan.id), self.send(b, &plan.id));
            steps = race_lost_is_fine(vec![a, b]);
        }
        for step in queue {
            let failing = step.expect == cases::Expect::HandlerFails;
            if let (true, Some(f), Some(id)) = (failing, &self.fail_next, &step.event_id) {
                f.arm(id);
            }
            let run = self.send(step, &plan.id).await;
            // The vendor retries nothing it counted as delivered, nor an
            // answer it takes as final.
            let last = run.verdict.unconfirmed_2xx || !run.verdict.ok;
            steps.push(run);
            if failing && last {
                break;
            }
        }
        CaseRun {
            id: plan.id,
            skip: plan.skip,
            steps,
        }
    }

    /// Sends one step of the case `case` (named in [`hookforge_core::CHECK_HEADER`]).
    async fn send(&self, mut step: Step, case: &str) -> StepRun {
        // Signed again now, if planned long enough ago to matter; a new
        // signature is kept out of what the answer may echo.
        let mut redactor = None;
        if let Some((body, headers)) = (step.resign.as_ref())
            .filter(|r| crate::util::since_epoch().as_secs() > r.planned_at)
            .and_then(|r| r.now(self.vendor, &step.headers))
        {
            let mut r = (*self.redactor).clone();
            add_credentials(&mut r, self.vendor, &headers);
            redactor = Some(r);
            (step.body, step.headers) = (body, headers);
        }
        let redactor = redactor.as_ref().unwrap_or(&self.redactor);
        let started = Instant::now();
        let url = match &step.query {
            Some(q) => format!(
                "{}{}{q}",
                self.url,
                if self.url.contains('?') { '&' } else { '?' }
            ),
            None => self.url.clone(),
        };
        let client = if step.title_case {
            &self.title_case_client
        } else {
            &self.client
        };
        let mut req = client.request(step.method.clone(), url);
        if step.method != http::Method::GET {
            req = req.body(step.body.clone());
        }
        for (k, v) in &step.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        // A case id is made of event names: anything a header value cannot
        // hold is sent as `?`.
        let case: String = case
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '?' })
            .collect();
        req = req.header(hookforge_core::CHECK_HEADER, case);
        let answer = match req.send().await {
            Ok(r) if r.status().is_redirection() => Answer::Redirect {
                status: r.status().as_u16(),
                location: r
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or("(no Location)")
                    .to_string(),
            },
            Ok(r) => {
                let status = r.status().as_u16();
                let headers = r.headers().clone();
                let text = crate::conformance::target::read_answer(r)
                    .await
                    .map(|b| {
                        let clean = redactor.clean(&String::from_utf8_lossy(&b));
                        clean.chars().take(1024).collect()
                    })
                    .unwrap_or_default();
                Answer::Status {
                    status,
                    text,
                    headers,
                }
            }
            Err(e) => Answer::Nothing(no_answer(&e, started.elapsed(), self.budget)),
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let verdict = match &step.handshake {
            Some(required) => judge::handshake(self.vendor, required, &answer),
            None => judge::answer(self.vendor, step.expect, &answer, self.observed),
        };
        StepRun {
            format: self.vendor.manifest().body.clone(),
            request: describe_sent(self.vendor, &step),
            key: Sent::vendor_key(
                Some(self.vendor.manifest()),
                step.event_id.as_deref(),
                &crate::form::json_body(&self.vendor.manifest().body, &step.body),
            ),
            what: step.what,
            origin: step.origin,
            expect: step.expect,
            body: step.body,
            answer,
            ms,
            verdict,
        }
    }
}

/// The credential headers' values, and each signature of a multi-part one
/// alone (not the `Bearer` word, not a `t=` timestamp).
pub(crate) fn add_credentials(r: &mut Redactor, vendor: &VendorSpec, headers: &[(String, String)]) {
    let auth_headers = auth_header_names(vendor);
    for (k, val) in headers {
        if auth_headers.iter().any(|h| h.eq_ignore_ascii_case(k)) {
            r.add(val);
            for part in val.split([',', ' ']) {
                let value = part.split_once('=').map_or(part, |(_, v)| v);
                if value != "Bearer" && !value.bytes().all(|b| b.is_ascii_digit()) {
                    r.add(value);
                }
            }
        }
    }
}

/// Two attempts of one event sent at once: one must succeed; the other may
/// be refused with an HTTP answer (a receiver that answers 409 "being
/// handled" to the second), since the vendor retries what it did not count
/// as delivered. Whether the event was handled once is the observer's call.
fn race_lost_is_fine(mut steps: Vec<StepRun>) -> Vec<StepRun> {
    let won = steps.iter().filter(|s| s.verdict.ok).count();
    if won == 1 {
        for s in steps.iter_mut().filter(|s| !s.verdict.ok) {
            if let Some(status) = s.answer.status() {
                s.verdict = judge::Verdict::pass(format!(
                    "answered {status} while the other attempt was handled: the vendor retries it later"
                ));
            }
        }
    }
    steps
}

/// Documented samples that share an event id (a docs placeholder: five of
/// Slack's carry `Ev123ABC456`) go out in cases that may overlap, as a
/// vendor's retry may overlap its first attempt. A sample answered "busy,
/// try later" (409, 423, 425, 429, 503) while a twin with its id succeeded
/// is what a receiver that locks an id in progress does; the vendor retries
/// it. Any other refusal stays a failure.
fn twins_may_wait(runs: &mut [CaseRun]) {
    const LATER: [u16; 5] = [409, 423, 425, 429, 503];
    let documented = |s: &&StepRun| s.origin == cases::Origin::Documented;
    let succeeded: std::collections::HashSet<String> = (runs.iter().flat_map(|r| &r.steps))
        .filter(documented)
        .filter(|s| s.verdict.ok)
        .map(|s| s.key.clone())
        .collect();
    let steps = runs.iter_mut().flat_map(|r| r.steps.iter_mut());
    for s in steps.filter(|s| s.origin == cases::Origin::Documented && !s.verdict.ok) {
        if let Some(status) = s.answer.status().filter(|st| LATER.contains(st))
            && succeeded.contains(&s.key)
        {
            s.verdict = judge::Verdict::pass(format!(
                "answered {status} while a sample with the same id was handled: the vendor retries it later"
            ));
        }
    }
}

/// Why a request got no answer: timeout, or the causes of a failed connect
/// (refused, or a TLS certificate the harness does not trust).
fn no_answer(e: &reqwest::Error, after: Duration, budget: Duration) -> String {
    let ms = after.as_secs_f64() * 1000.0;
    if e.is_timeout() {
        return format!(
            "no answer within the {:.1} s budget (after {ms:.0} ms)",
            budget.as_secs_f64()
        );
    }
    let mut why = if e.is_connect() {
        "could not connect".to_string()
    } else {
        format!("request failed: {e}")
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        why.push_str(&format!(": {s}"));
        source = s.source();
    }
    format!("{why} (after {ms:.0} ms)")
}

/// "quote.created (412 bytes) with [Content-Type: …, Authorization
/// (redacted)]": what was sent, with no secret.
fn describe_sent(v: &VendorSpec, step: &Step) -> String {
    let mut map = http::HeaderMap::new();
    for (k, val) in &step.headers {
        if let (Ok(k), Ok(val)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(val),
        ) {
            map.append(k, val);
        }
    }
    let event = match v.read_envelope(&step.body, &map) {
        Ok(e) => e.event_type,
        Err(_) if v.manifest().body.is_form() => "a form".into(),
        Err(_) if serde_json::from_slice::<serde_json::Value>(&step.body).is_err() => {
            "a body that is not JSON".into()
        }
        Err(_) => "a delivery".into(),
    };
    let auth = auth_header_names(v);
    let names: Vec<String> = step
        .headers
        .iter()
        .map(|(k, val)| {
            let lower = k.to_ascii_lowercase();
            if auth.iter().any(|h| h.eq_ignore_ascii_case(k))
                || lower.contains("signature")
                || lower.contains("secret")
            {
                format!("{k} (redacted)")
            } else {
                format!("{k}: {val}")
            }
        })
        .collect();
    format!(
        "{event} ({} bytes) with [{}]",
        step.body.len(),
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-letter secret is blanked; its one-letter wrong twin (`k` → `l`)
    /// is not, or every `l` of the report would be.
    #[test]
    fn a_short_secrets_derived_values_do_not_blank_words() {
        let prets = &crate::vendors::prets::VENDOR;
        let h = Harness::new(prets, "http://127.0.0.1:9/hooks/prets").secret("k");
        let r = h.redactor(&[]);
        assert_eq!(
            r.clean("a valid delivery, signed with k"),
            "a valid delivery, signed with [redacted]"
        );
    }
}
