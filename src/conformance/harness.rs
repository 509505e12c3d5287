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
use crate::conformance::cases::{self, Expect, Plan, Step};
use crate::conformance::report::{CaseResult, Outcome, Report};

/// The budget when the vendor documents none.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// Why a run could not happen at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// Nothing answers at the target (the network's fault, or the target's).
    #[error("target {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    /// What the harness was asked to do cannot be done (a bad URL, secret,
    /// format or rate).
    #[error("{0}")]
    Config(String),
    /// A local resource failed (binding a loopback port, serving a router).
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    /// A bug or a resource limit in the harness itself (a task panicked,
    /// the HTTP client could not be built).
    #[error("internal error: {0}")]
    Internal(String),
}

impl HarnessError {
    /// Whether the caller asked for something impossible or unreachable
    /// (the CLI exits 2), rather than the harness failing (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            HarnessError::Unreachable { .. } | HarnessError::Config(_)
        )
    }
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
    /// A private CA (PEM) trusted for `https://` targets, besides the
    /// system's roots.
    ca_cert: Option<Vec<u8>>,
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

impl Harness {
    pub fn new(vendor: &'static VendorSpec, url: impl Into<String>) -> Harness {
        Harness {
            vendor,
            url: url.into(),
            secret: None,
            hmac_format: None,
            timeout: None,
            ca_cert: None,
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

    /// Trusts this CA certificate (PEM) for an `https://` target.
    pub fn ca_cert(mut self, pem: impl Into<Vec<u8>>) -> Harness {
        self.ca_cert = Some(pem.into());
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
            .map(|s| {
                // A signature that covers `{url}` is over the URL posted to.
                Signer::for_manifest_at(
                    self.vendor.manifest(),
                    s.clone(),
                    self.hmac_format,
                    Some(self.url.as_str()),
                )
            })
            .transpose()
            .map_err(|e| HarnessError::Config(format!("{}: {e}", self.vendor.id)))
    }

    /// Every case of the run, before filtering: each sample, then the
    /// negative cases (see `cases`).
    fn plans(&self) -> Result<Vec<Plan>, HarnessError> {
        let signer = self.signer(self.secret.as_ref())?;
        let v = self.vendor;
        let nonce = crate::util::since_epoch().as_micros();
        let mut plans = cases::samples(v, signer.as_ref(), |body| match &self.sandbox {
            Some(sb) => sb.rewrite(body),
            None => body.to_vec(),
        });
        let Some(base) = v
            .events
            .iter()
            .flat_map(|e| e.samples)
            .next()
            .map(|s| s.body)
        else {
            return Ok(plans);
        };
        let fresh = |tag: &str| cases::fresh_delivery(v, base, &format!("{nonce}{tag}"));
        let auth_documented = !matches!(v.manifest().auth, crate::manifest::Auth::None { .. });
        if auth_documented || self.secret.is_some() {
            let wrong = self.signer(Some(&Secret::new(cases::wrong_secret(
                self.secret.as_ref(),
            ))))?;
            plans.extend(cases::auth(v, fresh("a1"), fresh("a2"), wrong.as_ref()));
            // Static credentials: the secret with characters appended.
            let scheme = signer.as_ref().map(|s| s.scheme().name());
            if let (Some("bearer" | "shared-secret"), Some(real)) = (scheme, &self.secret) {
                let longer = self.signer(Some(&Secret::new(format!("{}x9", real.expose()))))?;
                plans.push(cases::auth_prefix(v, fresh("a3"), longer.as_ref()));
            }
            // Timestamped schemes: a replay outside the window.
            if let Some(tolerance) = signer.as_ref().and_then(|s| s.scheme().tolerance()) {
                plans.push(cases::auth_stale(
                    v,
                    fresh("a4"),
                    signer.as_ref(),
                    tolerance.as_secs(),
                ));
            }
        } else {
            plans.extend(cases::auth_not_applicable(v));
        }
        plans.push(cases::unknown_event(v, &fresh("u"), signer.as_ref())?);
        plans.push(cases::duplicate(v, fresh("d"), signer.as_ref()));
        plans.push(cases::malformed(v, fresh("m"), signer.as_ref()));
        plans.extend(cases::drift_probes(
            v,
            &fresh,
            &nonce.to_string(),
            signer.as_ref(),
        )?);
        plans.extend(cases::byte_probes(v, &fresh, signer.as_ref())?);
        Ok(plans)
    }

    /// How many cases a run will report (after the filter): for progress.
    pub fn planned_cases(&self) -> Result<usize, HarnessError> {
        let selected = |id: &str| self.filter.as_deref().is_none_or(|g| glob_match(g, id));
        let n = self.plans()?.iter().filter(|p| selected(&p.id)).count();
        Ok(n + usize::from(selected(&format!("{}/budget", self.vendor.id))))
    }

    /// Runs every case.
    pub async fn run(&self) -> Result<Report, HarnessError> {
        let _server = match self.router.as_ref().and_then(|m| m.lock().ok()?.take()) {
            Some((listener, router)) => {
                let listener = tokio::net::TcpListener::from_std(listener).map_err(|source| {
                    HarnessError::Io {
                        what: "cannot serve the router",
                        source,
                    }
                })?;
                Some(AbortOnDrop(tokio::spawn(async move {
                    let _ = axum::serve(listener, router).await;
                })))
            }
            None => None,
        };
        let client = client_builder(self.ca_cert.as_deref())?
            .timeout(self.budget())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| HarnessError::Internal(format!("cannot build the HTTP client: {e}")))?;
        check_reachable(&self.url).await?;
        let selected = |id: &str| self.filter.as_deref().is_none_or(|g| glob_match(g, id));
        let plans: Vec<Plan> = self
            .plans()?
            .into_iter()
            .filter(|p| selected(&p.id))
            .collect();
        let sample_ids: std::collections::HashSet<String> = self
            .vendor
            .events
            .iter()
            .flat_map(|e| {
                e.samples
                    .iter()
                    .map(move |s| format!("{}/{}/{}", self.vendor.id, e.name, s.name))
            })
            .collect();
        let sem = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut set = tokio::task::JoinSet::new();
        let ctx = Arc::new(RunCtx {
            client,
            url: self.url.clone(),
            budget: self.budget(),
            vendor: self.vendor,
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
                r.map_err(|e| HarnessError::Internal(format!("a case's task failed: {e}")))?;
            if let Some(p) = &self.progress {
                p(&case);
            }
            results.push((i, case));
        }
        results.sort_by_key(|(i, _)| *i);
        let mut cases: Vec<CaseResult> = results.into_iter().map(|(_, c)| c).collect();
        // Answer times of the replays against the vendor's budget.
        let timing = crate::conformance::report::Timing::of(
            cases
                .iter()
                .filter(|c| sample_ids.contains(&c.id))
                .filter_map(|c| c.latency_ms)
                .collect(),
            self.budget(),
        );
        let budget_id = format!("{}/budget", self.vendor.id);
        if let Some(t) = &timing
            && selected(&budget_id)
        {
            let case = t.case(self.vendor.id);
            if let Some(p) = &self.progress {
                p(&case);
            }
            cases.push(case);
        }
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
            timing,
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
}

impl RunCtx {
    async fn run_plan(&self, plan: Plan) -> CaseResult {
        if plan.steps.is_empty() {
            return CaseResult {
                id: plan.id,
                outcome: Outcome::Skip,
                detail: plan.skip.unwrap_or_default(),
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
                Ok(r) if r.status().is_redirection() => {
                    let location = r
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|l| l.to_str().ok())
                        .unwrap_or("(no Location)")
                        .to_string();
                    return CaseResult {
                        id: plan.id,
                        outcome: Outcome::Fail,
                        detail: format!(
                            "{}: sent {sent}; answered {} redirecting to {location}: vendors do not follow redirects, so every delivery to this URL would be lost",
                            step.what,
                            r.status().as_u16()
                        ),
                        status: Some(r.status().as_u16()),
                        latency_ms: Some(total_ms),
                    };
                }
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
                        // The causes say why: refused, or a TLS certificate
                        // the harness does not trust.
                        let mut why = "could not connect".to_string();
                        let mut source = std::error::Error::source(&e);
                        while let Some(s) = source {
                            why.push_str(&format!(": {s}"));
                            source = s.source();
                        }
                        why
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
/// An HTTP client as a vendor's: no redirects followed; rustls with the
/// system's roots, plus `ca_cert` (PEM) when given.
pub(crate) fn client_builder(
    ca_cert: Option<&[u8]>,
) -> Result<reqwest::ClientBuilder, HarnessError> {
    // Vendors do not follow redirects: neither does the harness.
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_cert {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| HarnessError::Config(format!("the CA certificate is not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(HarnessError::Config(
                "the CA certificate file holds no certificate".into(),
            ));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    Ok(b)
}

pub(crate) async fn check_reachable(url: &str) -> Result<(), HarnessError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| HarnessError::Unreachable {
        url: url.into(),
        reason: format!("not a URL: {e}"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(HarnessError::Unreachable {
            url: url.into(),
            reason: "only http:// and https:// targets are supported".into(),
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
}
