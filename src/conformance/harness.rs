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

use serde::Serialize;
use serde_json::Value;

use crate::VendorSpec;
use crate::auth::{Secret, Signer};
use crate::conformance::delivery::{Attempt, vendor_headers};

/// The budget when the vendor documents none.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

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
    pub detail: String,
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
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
}

/// Why a run could not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("target {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{0}")]
    Config(String),
}

/// Called with each finished case.
type ProgressFn = Arc<dyn Fn(&CaseResult) + Send + Sync>;

/// A conformance run against one vendor's receiver.
pub struct Harness {
    vendor: &'static VendorSpec,
    url: String,
    secret: Option<Secret>,
    hmac_format: Option<crate::auth::HmacFormat>,
    timeout: Option<Duration>,
    concurrency: usize,
    filter: Option<String>,
    sandbox: Option<crate::conformance::sandbox::Sandbox>,
    progress: Option<ProgressFn>,
    /// An in-process receiver to serve on loopback for the run.
    router: Option<std::sync::Mutex<Option<(std::net::TcpListener, axum::Router)>>>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("vendor", &self.vendor.id)
            .field("url", &self.url)
            .field("secret", &self.secret)
            .finish()
    }
}

/// What one case sends and how its answer is judged.
struct Plan {
    id: String,
    /// Requests in order; all must meet their expectation.
    steps: Vec<Step>,
}

struct Step {
    what: String,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    expect: Expect,
}

#[derive(Clone, Copy)]
enum Expect {
    /// The vendor's success rule.
    Success,
    /// 401 or 403.
    Unauthorized,
    /// Any 4xx.
    ClientError,
}

impl Harness {
    pub fn new(vendor: &'static VendorSpec, url: impl Into<String>) -> Harness {
        Harness {
            vendor,
            url: url.into(),
            secret: None,
            hmac_format: None,
            timeout: None,
            concurrency: 4,
            filter: None,
            sandbox: None,
            progress: None,
            router: None,
        }
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
            .map_err(|e| HarnessError::Config(format!("cannot bind a loopback port: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HarnessError::Config(e.to_string()))?;
        let mut h = Harness::new(vendor, format!("http://{addr}{path}"));
        h.router = Some(std::sync::Mutex::new(Some((listener, router))));
        Ok(h)
    }

    /// The secret the receiver is configured with (signs, or is the bearer).
    pub fn secret(mut self, s: impl Into<Secret>) -> Harness {
        self.secret = Some(s.into());
        self
    }

    /// Signs with this HMAC format instead of the manifest's (Socotra's is undocumented).
    pub fn hmac_format(mut self, f: crate::auth::HmacFormat) -> Harness {
        self.hmac_format = Some(f);
        self
    }

    /// Overrides the vendor's time budget.
    pub fn timeout(mut self, t: Duration) -> Harness {
        self.timeout = Some(t);
        self
    }

    pub fn concurrency(mut self, n: usize) -> Harness {
        self.concurrency = n.max(1);
        self
    }

    /// Only cases whose id matches this glob (`*` and `?`).
    pub fn filter(mut self, glob: impl Into<String>) -> Harness {
        self.filter = Some(glob.into());
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

    /// The time budget in force.
    pub fn budget(&self) -> Duration {
        self.timeout.unwrap_or_else(|| {
            self.vendor
                .manifest()
                .success
                .timeout_secs
                .map_or(DEFAULT_BUDGET, Duration::from_secs)
        })
    }

    fn signer(&self, secret: Option<&Secret>) -> Result<Option<Signer>, HarnessError> {
        secret
            .map(|s| Signer::for_manifest_with(self.vendor.manifest(), s.clone(), self.hmac_format))
            .transpose()
            .map_err(|e| HarnessError::Config(format!("{}: {e}", self.vendor.id)))
    }

    fn headers(&self, body: &[u8], signer: Option<&Signer>) -> Vec<(String, String)> {
        vendor_headers(self.vendor, body, signer, &Attempt::default()).unwrap_or_else(|_| {
            // Bodies that are not deliveries (the malformed case) still get
            // the vendor's content type and auth.
            let mut h = vec![("Content-Type".to_string(), "application/json".to_string())];
            if let Some(s) = signer {
                for (k, v) in s.sign(body, &crate::auth::SignContext::now("msg_malformed")) {
                    h.push((k.to_string(), v.to_str().unwrap_or_default().to_string()));
                }
            }
            h
        })
    }

    /// Every case of the run, before filtering.
    fn plans(&self) -> Result<Vec<Plan>, HarnessError> {
        let signer = self.signer(self.secret.as_ref())?;
        let v = self.vendor;
        let nonce = crate::util::since_epoch().as_micros();
        let mut plans = Vec::new();
        let mut first: Option<Vec<u8>> = None;
        for e in v.events {
            for s in e.samples {
                let body = match &self.sandbox {
                    Some(sb) => sb.rewrite(s.body),
                    None => s.body.to_vec(),
                };
                first.get_or_insert_with(|| s.body.to_vec());
                plans.push(Plan {
                    id: format!("{}/{}/{}", v.id, e.name, s.name),
                    steps: vec![Step {
                        what: format!("sample {}", s.path),
                        headers: self.headers(&body, signer.as_ref()),
                        body,
                        expect: Expect::Success,
                    }],
                });
            }
        }
        let Some(base) = first else {
            return Ok(plans);
        };
        let fresh = |tag: &str| fresh_delivery(v, &base, &format!("{nonce}{tag}"));
        // Authentication.
        let auth_documented = !matches!(v.manifest().auth, crate::manifest::Auth::None { .. });
        if auth_documented || self.secret.is_some() {
            let body = fresh("a1");
            let unsigned = self.headers(&body, None);
            plans.push(Plan {
                id: format!("{}/auth/missing", v.id),
                steps: vec![Step {
                    what: "a valid delivery without its signature or bearer".into(),
                    body,
                    headers: unsigned,
                    expect: Expect::Unauthorized,
                }],
            });
            let body = fresh("a2");
            let wrong = self.signer(Some(&Secret::new(wrong_secret(self.secret.as_ref()))))?;
            plans.push(Plan {
                id: format!("{}/auth/invalid", v.id),
                steps: vec![Step {
                    what: "a valid delivery signed with the wrong secret".into(),
                    headers: self.headers(&body, wrong.as_ref()),
                    body,
                    expect: Expect::Unauthorized,
                }],
            });
        } else {
            for id in ["missing", "invalid"] {
                plans.push(Plan {
                    id: format!("{}/auth/{id}", v.id),
                    steps: Vec::new(),
                });
            }
        }
        // An event type the vendor has not documented.
        let mut doc: Value =
            serde_json::from_slice(&fresh("u")).map_err(|e| HarnessError::Config(e.to_string()))?;
        if let Some(p) = &v.manifest().event_type.pointer
            && let Some(slot) = doc.pointer_mut(p)
        {
            *slot = Value::String("hookforge.conformance.undocumented_event".into());
        }
        let body = serde_json::to_vec(&doc).expect("Value serializes");
        plans.push(Plan {
            id: format!("{}/unknown-event", v.id),
            steps: vec![Step {
                what: "an undocumented event type".into(),
                headers: self.headers(&body, signer.as_ref()),
                body,
                expect: Expect::Success,
            }],
        });
        // The same delivery twice.
        let body = fresh("d");
        let headers = self.headers(&body, signer.as_ref());
        plans.push(Plan {
            id: format!("{}/duplicate", v.id),
            steps: vec![
                Step {
                    what: "a new delivery".into(),
                    body: body.clone(),
                    headers: headers.clone(),
                    expect: Expect::Success,
                },
                Step {
                    what: "the same delivery again".into(),
                    body,
                    headers,
                    expect: Expect::Success,
                },
            ],
        });
        // Malformed, then a valid delivery right after.
        let bad = b"{\"this is\": not JSON, \"truncated".to_vec();
        let good = fresh("m");
        plans.push(Plan {
            id: format!("{}/malformed", v.id),
            steps: vec![
                Step {
                    what: "a malformed body".into(),
                    headers: self.headers(&bad, signer.as_ref()),
                    body: bad,
                    expect: Expect::ClientError,
                },
                Step {
                    what: "a valid delivery right after".into(),
                    headers: self.headers(&good, signer.as_ref()),
                    body: good,
                    expect: Expect::Success,
                },
            ],
        });
        Ok(plans)
    }

    /// Runs every case.
    pub async fn run(&self) -> Result<Report, HarnessError> {
        let _server = match self.router.as_ref().and_then(|m| m.lock().ok()?.take()) {
            Some((listener, router)) => {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .map_err(|e| HarnessError::Config(format!("cannot serve the router: {e}")))?;
                Some(AbortOnDrop(tokio::spawn(async move {
                    let _ = axum::serve(listener, router).await;
                })))
            }
            None => None,
        };
        let client = reqwest::Client::builder()
            .timeout(self.budget())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| HarnessError::Config(e.to_string()))?;
        check_reachable(&self.url).await?;
        let plans: Vec<Plan> = self
            .plans()?
            .into_iter()
            .filter(|p| self.filter.as_deref().is_none_or(|g| glob_match(g, &p.id)))
            .collect();
        let sem = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut set = tokio::task::JoinSet::new();
        let ctx = Arc::new(RunCtx {
            client,
            url: self.url.clone(),
            budget: self.budget(),
            vendor: self.vendor,
            auth_reason: match self.vendor.manifest().auth {
                crate::manifest::Auth::None { .. } => format!(
                    "{} documents no authentication and no secret is configured",
                    self.vendor.name
                ),
                _ => String::new(),
            },
        });
        for (i, plan) in plans.into_iter().enumerate() {
            let (sem, ctx) = (sem.clone(), ctx.clone());
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                (i, ctx.run_plan(plan).await)
            });
        }
        let mut results = Vec::new();
        while let Some(r) = set.join_next().await {
            let (i, case) =
                r.map_err(|e| HarnessError::Config(format!("case task failed: {e}")))?;
            if let Some(p) = &self.progress {
                p(&case);
            }
            results.push((i, case));
        }
        results.sort_by_key(|(i, _)| *i);
        let cases: Vec<CaseResult> = results.into_iter().map(|(_, c)| c).collect();
        let count = |o| cases.iter().filter(|c| c.outcome == o).count();
        let sandbox = match &self.sandbox {
            Some(s) => {
                let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
                Some(s.report_for(self.vendor, &ids).await)
            }
            None => None,
        };
        Ok(Report {
            vendor: self.vendor.id.to_string(),
            passed: count(Outcome::Pass),
            failed: count(Outcome::Fail),
            skipped: count(Outcome::Skip),
            sandbox,
            cases,
        })
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
    url: String,
    budget: Duration,
    vendor: &'static VendorSpec,
    auth_reason: String,
}

impl RunCtx {
    async fn run_plan(&self, plan: Plan) -> CaseResult {
        if plan.steps.is_empty() {
            return CaseResult {
                id: plan.id,
                outcome: Outcome::Skip,
                detail: self.auth_reason.clone(),
                status: None,
                latency_ms: None,
            };
        }
        let mut last_status = None;
        let mut total_ms = 0.0;
        for step in &plan.steps {
            let started = Instant::now();
            let mut req = self.client.post(&self.url).body(step.body.clone());
            for (k, v) in &step.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let sent = describe_sent(self.vendor, step);
            let resp = req.send().await;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            total_ms += ms;
            let (status, text) = match resp {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = tokio::time::timeout(self.budget, r.bytes())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .map(|b| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned())
                        .unwrap_or_default();
                    (status, text)
                }
                Err(e) => {
                    let why = if e.is_timeout() {
                        format!(
                            "no answer within the {:.1} s budget",
                            self.budget.as_secs_f64()
                        )
                    } else if e.is_connect() {
                        "could not connect".to_string()
                    } else {
                        format!("request failed: {e}")
                    };
                    return CaseResult {
                        id: plan.id,
                        outcome: Outcome::Fail,
                        detail: format!("{}: sent {sent}; {why} (after {ms:.0} ms)", step.what),
                        status: None,
                        latency_ms: Some(total_ms),
                    };
                }
            };
            last_status = Some(status);
            let ok = match step.expect {
                Expect::Success => self.vendor.manifest().success.accepts(status),
                Expect::Unauthorized => status == 401 || status == 403,
                Expect::ClientError => (400..500).contains(&status),
            };
            if !ok {
                let want = match step.expect {
                    Expect::Success => format!(
                        "success ({})",
                        self.vendor.manifest().success.statuses.join(" or ")
                    ),
                    Expect::Unauthorized => "401 or 403".into(),
                    Expect::ClientError => "a 4xx".into(),
                };
                return CaseResult {
                    id: plan.id,
                    outcome: Outcome::Fail,
                    detail: format!(
                        "{}: sent {sent}; expected {want}, got {status} in {ms:.0} ms: {:?}",
                        step.what, text
                    ),
                    status: Some(status),
                    latency_ms: Some(total_ms),
                };
            }
        }
        CaseResult {
            id: plan.id,
            outcome: Outcome::Pass,
            detail: String::new(),
            status: last_status,
            latency_ms: Some(total_ms),
        }
    }
}

/// "quote.created with Content-Type, Authorization (redacted)": what was
/// sent, with no secret.
fn describe_sent(v: &VendorSpec, step: &Step) -> String {
    let event = v
        .read_envelope(&step.body, &http::HeaderMap::new())
        .map(|e| e.event_type)
        .unwrap_or_else(|_| "a non-delivery body".into());
    let names: Vec<String> = step
        .headers
        .iter()
        .map(|(k, val)| {
            let lower = k.to_ascii_lowercase();
            if lower.contains("authorization")
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

/// A secret that is certainly not the configured one, in the same format.
fn wrong_secret(s: Option<&Secret>) -> String {
    match s.map(Secret::expose) {
        Some(real) if real.starts_with("whsec_") => {
            // Standard Webhooks needs base64 after the prefix; bearer any text.
            let candidate = "whsec_aG9va2ZvcmdlLWNvbmZvcm1hbmNlLXdyb25nLXNlY3JldA==";
            if candidate == real {
                "whsec_YW5vdGhlci13cm9uZy1jb25mb3JtYW5jZS1zZWNyZXQ=".into()
            } else {
                candidate.into()
            }
        }
        Some(real) => format!("{real}-but-wrong"),
        None => "hookforge-conformance-wrong-secret".into(),
    }
}

/// A new delivery based on `base`: a fresh event id where the vendor sends
/// one (same shape, last characters changed), otherwise a nonce field
/// (receivers must keep unknown fields) so content-hash dedupe sees it as new.
pub fn fresh_delivery(v: &VendorSpec, base: &[u8], nonce: &str) -> Vec<u8> {
    let mut doc: Value = match serde_json::from_slice(base) {
        Ok(d) => d,
        Err(_) => return base.to_vec(),
    };
    let id_ptr = v
        .manifest()
        .event_id
        .as_ref()
        .and_then(|l| l.pointer.clone());
    match id_ptr.as_deref().and_then(|p| doc.pointer_mut(p)) {
        Some(Value::String(id)) => *id = mutate_id(id, nonce),
        _ => {
            if let Value::Object(o) = &mut doc {
                o.insert("x_hookforge_nonce".into(), Value::String(nonce.into()));
            }
        }
    }
    serde_json::to_vec(&doc).expect("Value serializes")
}

/// Changes the last characters of an id, each within its own class (digits,
/// hex letters, Crockford letters), so the id keeps its documented format.
pub fn mutate_id(id: &str, nonce: &str) -> String {
    const CROCKFORD_LETTERS: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ";
    let h = crate::dedupe_key(None, nonce.as_bytes());
    let mut seed = h.bytes().skip("sha256:".len()).cycle();
    let mut chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    for c in chars.iter_mut().skip(n.saturating_sub(10)) {
        let r = seed.next().unwrap_or(b'0') as usize;
        *c = match *c {
            '0'..='9' => (b'0' + (r % 10) as u8) as char,
            'a'..='f' => (b'a' + (r % 6) as u8) as char,
            'A'..='Z' if c.is_ascii_uppercase() => {
                CROCKFORD_LETTERS[r % CROCKFORD_LETTERS.len()] as char
            }
            'g'..='z' => (b'a' + (r % 26) as u8) as char,
            other => other,
        };
    }
    chars.into_iter().collect()
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

/// Fails fast (exit 2 in the CLI) when nothing listens at the URL.
pub(crate) async fn check_reachable(url: &str) -> Result<(), HarnessError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| HarnessError::Unreachable {
        url: url.into(),
        reason: format!("not a URL: {e}"),
    })?;
    if parsed.scheme() != "http" {
        return Err(HarnessError::Unreachable {
            url: url.into(),
            reason: "only http:// targets are supported (put TLS in front with a local proxy)"
                .into(),
        });
    }
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    match tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(HarnessError::Unreachable {
            url: url.into(),
            reason: e.to_string(),
        }),
        Err(_) => Err(HarnessError::Unreachable {
            url: url.into(),
            reason: "connect timed out after 5 s".into(),
        }),
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
            if c.outcome != Outcome::Pass && !c.detail.is_empty() {
                out.push_str(&format!("      {}\n", c.detail));
            }
        }
        if let Some(sb) = &self.sandbox {
            out.push_str(&sb.table());
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

/// Escapes text for XML attributes and content, dropping characters XML 1.0 forbids.
fn xml(s: &str) -> String {
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

    #[test]
    fn xml_escapes() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
