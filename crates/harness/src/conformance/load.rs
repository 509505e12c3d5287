//! `hookforge load`: signed deliveries sent open-loop at a fixed rate, so a
//! slow receiver shows up as latency instead of silently lowering the rate.
//! Latency is measured from when each request was *scheduled*, which counts
//! the time a request waited behind slow ones (no coordinated omission).
//!
//! Lean on purpose, so the generator is not what limits the rate: bodies are
//! signed before the clock starts, a fixed set of keep-alive connections
//! (sized to the rate) takes the scheduled sends in turn, each on its own
//! HTTP/1.1 connection for `http://` targets, and latencies go into an HDR
//! histogram per connection (no per-request allocation or task).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use serde::Serialize;

use crate::VendorSpec;
use crate::conformance::cases::fresh;
use crate::conformance::delivery::{Attempt, vendor_delivery};
use crate::conformance::error::HarnessError;
use crate::conformance::target::Signing;

/// Distinct deliveries prepared before sending; longer runs cycle through
/// them (the receiver then sees duplicates, which it must also answer 2xx).
pub const MAX_DISTINCT: usize = 20_000;

/// The most deliveries one run may send (a bound, so a typo cannot run for days).
pub const MAX_DELIVERIES: usize = 10_000_000;

/// A body with the headers to send it with.
type Prepared = (Bytes, HeaderMap);

/// The prepared deliveries, replaced by newly signed ones as the run goes.
type Deliveries = Arc<std::sync::RwLock<Arc<Vec<Prepared>>>>;

/// Keep-alive connections for a rate: enough for 4 ms of sends in flight
/// (at least 8), at most 512. `LoadConfig::connections` overrides it.
pub fn connections_for(rate: f64) -> usize {
    ((rate * 0.004).ceil() as usize).clamp(8, 512)
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub vendor: &'static VendorSpec,
    pub url: String,
    /// How deliveries are signed for the receiver.
    pub signing: Signing,
    /// Deliveries per second.
    pub rate: f64,
    pub duration: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// A private CA (PEM) trusted for an `https://` target.
    pub ca_cert: Option<Vec<u8>>,
    /// Keep-alive connections; `None`: [`connections_for`] the rate.
    pub connections: Option<usize>,
    /// How often the deliveries are signed again during the run
    /// ([`RESIGN_EVERY`]): a signature's time must stay within the
    /// receiver's tolerance however long the run.
    pub resign_every: Duration,
}

/// Well inside the shortest tolerance a vendor gives a signature's time
/// (Linear's SDK: a minute; Stripe, Slack, Standard Webhooks: 5 minutes).
pub const RESIGN_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    pub target_rate: f64,
    pub sent: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Successful deliveries per second over the whole run.
    pub achieved_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub elapsed_s: f64,
    /// Keep-alive connections used.
    pub connections: usize,
    /// Why deliveries failed, and how many for each reason (`answered 500`,
    /// `no answer within 5.0 s`, `no answer: the connection failed`).
    pub failures: std::collections::BTreeMap<String, usize>,
}

impl LoadReport {
    /// Whether the receiver kept up: every delivery succeeded and the
    /// achieved rate is within 2% of the target.
    pub fn sustained(&self) -> bool {
        self.failed == 0 && self.achieved_rate >= 0.98 * self.target_rate
    }

    pub fn summary(&self) -> String {
        format!(
            "target {:.0}/s over {} connections: sent {}, succeeded {}, failed {}, achieved {:.0}/s over {:.1} s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.target_rate,
            self.connections,
            self.sent,
            self.succeeded,
            self.failed,
            self.achieved_rate,
            self.elapsed_s,
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        ) + &self.failure_reasons()
    }

    /// `; failures: answered 500 ×6, …`, or nothing when none failed.
    fn failure_reasons(&self) -> String {
        if self.failures.is_empty() {
            return String::new();
        }
        let each: Vec<String> = (self.failures.iter())
            .map(|(why, n)| format!("{why} ×{n}"))
            .collect();
        format!("; failures: {}", each.join(", "))
    }
}

/// Sends `rate × duration` deliveries open-loop and measures them.
pub async fn run(
    cfg: &LoadConfig,
    progress: Option<&(dyn Fn(usize) + Sync)>,
) -> Result<LoadReport, HarnessError> {
    let total = planned_total(cfg)?;
    let prepared: Deliveries = Arc::new(std::sync::RwLock::new(Arc::new(prepare(cfg, total)?)));
    let target = Target::reach(cfg).await?;
    // Aborted however `run` ends, a dropped future included.
    let _resigning = AbortOnDrop(tokio::spawn(resign(cfg.clone(), total, prepared.clone())));
    let connections = cfg
        .connections
        .unwrap_or_else(|| connections_for(cfg.rate))
        .max(1);
    let start = Instant::now();
    let done = send_all(cfg, target, prepared, total, connections, start, progress).await?;
    Ok(summarize(cfg, total, start, connections, done))
}

/// A task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Signs the deliveries anew every `cfg.resign_every`, off the senders'
/// threads. Were one signing to fail, the old signatures stay and the
/// receiver's refusals show it; the failure is logged.
async fn resign(cfg: LoadConfig, total: usize, prepared: Deliveries) {
    loop {
        tokio::time::sleep(cfg.resign_every).await;
        let again = cfg.clone();
        match tokio::task::spawn_blocking(move || prepare(&again, total)).await {
            Ok(Ok(next)) => {
                *prepared
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not sign the deliveries anew"),
            Err(e) => tracing::warn!(error = %e, "could not sign the deliveries anew"),
        }
    }
}

/// How many deliveries the run sends, within [`MAX_DELIVERIES`].
fn planned_total(cfg: &LoadConfig) -> Result<usize, HarnessError> {
    if !(cfg.rate > 0.0 && cfg.rate.is_finite()) {
        return Err(HarnessError::Config(
            "the rate must be a positive number of deliveries per second".into(),
        ));
    }
    let total_f = cfg.rate * cfg.duration.as_secs_f64();
    if total_f > MAX_DELIVERIES as f64 {
        return Err(HarnessError::Config(format!(
            "rate × duration asks for {total_f:.0} deliveries; the limit is {MAX_DELIVERIES}"
        )));
    }
    if cfg.resign_every.is_zero() {
        return Err(HarnessError::Config(
            "the deliveries must be signed anew after some time, not continuously".into(),
        ));
    }
    let total = total_f.round() as usize;
    if total == 0 {
        return Err(HarnessError::Config(format!(
            "rate × duration asks for no delivery ({} per second for {:.3} s)",
            cfg.rate,
            cfg.duration.as_secs_f64()
        )));
    }
    Ok(total)
}

/// Up to [`MAX_DISTINCT`] distinct signed deliveries, sent in turn.
fn prepare(cfg: &LoadConfig, total: usize) -> Result<Vec<Prepared>, HarnessError> {
    let signer = cfg
        .signing
        .signer(cfg.vendor, cfg.signing.secret.as_ref(), Some(&cfg.url))?;
    let (event, base) = cfg
        .vendor
        .events
        .iter()
        .flat_map(|e| e.samples.iter().map(move |s| (e.name, s.body)))
        .next()
        .ok_or_else(|| HarnessError::Config(format!("{} has no samples", cfg.vendor.id)))?;
    let attempt = Attempt {
        event_type: Some(event.to_string()),
        ..Attempt::default()
    };
    let run_id = crate::util::since_epoch().as_micros();
    let prepared: Vec<Prepared> = (0..total.clamp(1, MAX_DISTINCT))
        .map(|i| {
            let d = fresh(cfg.vendor, base, &format!("load-{run_id}-{i}"));
            let attempt = Attempt {
                event_id: d.id,
                ..attempt.clone()
            };
            let body = d.body;
            let (wire, headers) = vendor_delivery(cfg.vendor, &body, signer.as_ref(), &attempt)
                .map_err(|e| HarnessError::Config(format!("{}: {e}", cfg.vendor.id)))?;
            let mut map = HeaderMap::new();
            for (k, v) in headers {
                let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) else {
                    return Err(HarnessError::Internal(
                        "a prepared header is not a valid HTTP header".into(),
                    ));
                };
                map.append(k, v);
            }
            Ok((Bytes::from(wire), map))
        })
        .collect::<Result<_, HarnessError>>()?;
    Ok(prepared)
}

/// Where the deliveries go: plain HTTP on our own keep-alive connections,
/// or HTTPS through reqwest (rustls) with the same connection count.
#[derive(Clone)]
enum Target {
    Plain {
        addr: String,
        uri: http::Uri,
        host: HeaderValue,
    },
    Tls {
        client: reqwest::Client,
        url: String,
    },
}

impl Target {
    /// The target, once something answers there (fails fast when nothing listens).
    async fn reach(cfg: &LoadConfig) -> Result<Target, HarnessError> {
        let unreachable = |reason: String| HarnessError::Unreachable {
            url: cfg.url.clone(),
            reason,
        };
        // The URL parser `check` and `simulate` use first: `http::Uri` takes
        // a port past 65535, and the port then read as absent (80).
        reqwest::Url::parse(&cfg.url)
            .map_err(|e| HarnessError::Config(format!("--url {}: {e}", cfg.url)))?;
        let uri: http::Uri = cfg
            .url
            .parse()
            .map_err(|e| HarnessError::Config(format!("--url {}: {e}", cfg.url)))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(HarnessError::Config(format!(
                    "--url {}: expected an http:// or https:// URL",
                    cfg.url
                )));
            }
        }
        if uri.scheme_str() == Some("http") {
            let authority = uri
                .authority()
                .ok_or_else(|| HarnessError::Config(format!("--url {} has no host", cfg.url)))?;
            let addr = format!(
                "{}:{}",
                authority.host(),
                authority.port_u16().unwrap_or(80)
            );
            let host = HeaderValue::from_str(authority.as_str())
                .map_err(|e| HarnessError::Config(format!("--url {}: {e}", cfg.url)))?;
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let uri: http::Uri = path
                .parse()
                .map_err(|e| HarnessError::Config(format!("--url {}: {e}", cfg.url)))?;
            tokio::net::TcpStream::connect(&addr)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            return Ok(Target::Plain { addr, uri, host });
        }
        let client = crate::conformance::target::client_builder(cfg.ca_cert.as_deref())?
            .timeout(cfg.timeout)
            .pool_max_idle_per_host(connections_for(cfg.rate))
            .build()
            .map_err(|e| HarnessError::Internal(format!("cannot build the HTTP client: {e}")))?;
        if let Err(e) = client.get(&cfg.url).send().await
            && e.is_connect()
        {
            return Err(unreachable(e.to_string()));
        }
        Ok(Target::Tls {
            client,
            url: cfg.url.clone(),
        })
    }
}

/// One connection's share of the run.
struct Tally {
    latency_us: Histogram<u64>,
    succeeded: usize,
    failed: usize,
    /// Failures by reason.
    failures: std::collections::BTreeMap<String, usize>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latency_us: histogram(),
            succeeded: 0,
            failed: 0,
            failures: Default::default(),
        }
    }

    /// One delivery answered after `us` µs; `failure` says why it failed.
    fn record(&mut self, us: u64, failure: Option<String>) {
        self.latency_us.saturating_record(us);
        match failure {
            None => self.succeeded += 1,
            Some(why) => {
                self.failed += 1;
                *self.failures.entry(why).or_default() += 1;
            }
        }
    }

    fn merge(&mut self, t: Tally) -> Result<(), HarnessError> {
        self.latency_us
            .add(&t.latency_us)
            .map_err(|e| HarnessError::Internal(format!("cannot merge latencies: {e}")))?;
        self.succeeded += t.succeeded;
        self.failed += t.failed;
        for (why, n) in t.failures {
            *self.failures.entry(why).or_default() += n;
        }
        Ok(())
    }
}

/// Sends `total` deliveries on schedule (open loop: delivery `i` is due at
/// `start + i / rate` whatever happened before); `connections` tasks take
/// the due deliveries in turn, each over one keep-alive connection.
async fn send_all(
    cfg: &LoadConfig,
    target: Target,
    prepared: Deliveries,
    total: usize,
    connections: usize,
    start: Instant,
    progress: Option<&(dyn Fn(usize) + Sync)>,
) -> Result<Tally, HarnessError> {
    let success = cfg.vendor.manifest().success.clone();
    let interval = Duration::from_secs_f64(1.0 / cfg.rate);
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let tasks = connections.min(total.max(1));
    let live = Arc::new(AtomicUsize::new(tasks));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (target, prepared, next, finished, success) = (
            target.clone(),
            prepared.clone(),
            next.clone(),
            finished.clone(),
            success.clone(),
        );
        let timeout = cfg.timeout;
        let guard = Live(live.clone());
        set.spawn(async move {
            let _guard = guard;
            let mut tally = Tally::new();
            let mut conn: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>> = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let scheduled = start + interval.mul_f64(i as f64);
                tokio::time::sleep_until(scheduled.into()).await;
                let set = prepared
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                let (body, headers) = &set[i % set.len()];
                let sent = tokio::time::timeout(
                    timeout,
                    send_one(&target, &mut conn, body.clone(), headers),
                )
                .await;
                let failure = match sent {
                    Ok(Some(status)) if success.accepts(status) => None,
                    Ok(Some(status)) => Some(format!("answered {status}")),
                    // A failed or timed-out request: its connection is not reused.
                    Ok(None) => {
                        conn = None;
                        Some("no answer: the connection failed".to_string())
                    }
                    Err(_) => {
                        conn = None;
                        Some(format!("no answer within {:.1} s", timeout.as_secs_f64()))
                    }
                };
                let us = scheduled.elapsed().as_micros().clamp(1, 3_600_000_000) as u64;
                tally.record(us, failure);
                finished.fetch_add(1, Ordering::Relaxed);
            }
            tally
        });
    }
    if let Some(p) = progress {
        // Until every connection's task has ended (or panicked: the guard
        // counts it out either way).
        while live.load(Ordering::Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            p(finished.load(Ordering::Relaxed));
        }
    }
    let mut all = Tally::new();
    while let Some(r) = set.join_next().await {
        all.merge(
            r.map_err(|e| HarnessError::Internal(format!("a connection's task failed: {e}")))?,
        )?;
    }
    Ok(all)
}

/// Counts a connection's task out when it ends, however it ends.
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sends one delivery; the status, or None when the request failed.
async fn send_one(
    target: &Target,
    conn: &mut Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
    body: Bytes,
    headers: &HeaderMap,
) -> Option<u16> {
    match target {
        Target::Plain { addr, uri, host } => {
            if conn.as_ref().is_none_or(|c| c.is_closed()) {
                let stream = tokio::net::TcpStream::connect(addr.as_str()).await.ok()?;
                let _ = stream.set_nodelay(true);
                let (send, connection) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .ok()?;
                tokio::spawn(connection);
                *conn = Some(send);
            }
            let send = conn.as_mut()?;
            send.ready().await.ok()?;
            let mut req = http::Request::new(Full::new(body));
            *req.method_mut() = http::Method::POST;
            *req.uri_mut() = uri.clone();
            let h = req.headers_mut();
            h.reserve(headers.len() + 1);
            h.insert(http::header::HOST, host.clone());
            for (k, v) in headers {
                h.append(k, v.clone());
            }
            let resp = send.send_request(req).await.ok()?;
            let status = resp.status().as_u16();
            // Read the answer to the end so the connection can be reused;
            // past the limit, drop the connection instead.
            let mut body = resp.into_body();
            let mut read = 0;
            while let Some(frame) = body.frame().await {
                read += frame.ok()?.data_ref().map_or(0, |d| d.len());
                if read > crate::conformance::target::ANSWER_LIMIT {
                    *conn = None;
                    break;
                }
            }
            Some(status)
        }
        Target::Tls { client, url } => {
            let r = client
                .post(url)
                .headers(headers.clone())
                .body(body)
                .send()
                .await
                .ok()?;
            let status = r.status().as_u16();
            crate::conformance::target::read_answer(r).await.ok()?;
            Some(status)
        }
    }
}

/// The achieved rate and latency percentiles.
fn summarize(
    cfg: &LoadConfig,
    total: usize,
    start: Instant,
    connections: usize,
    t: Tally,
) -> LoadReport {
    let elapsed = start.elapsed().as_secs_f64();
    let ms = |us: u64| us as f64 / 1000.0;
    let empty = t.latency_us.is_empty();
    let pct = |q: f64| {
        if empty {
            0.0
        } else {
            ms(t.latency_us.value_at_quantile(q))
        }
    };
    LoadReport {
        target_rate: cfg.rate,
        sent: total,
        succeeded: t.succeeded,
        failed: total - t.succeeded,
        achieved_rate: t.succeeded as f64 / elapsed.max(cfg.duration.as_secs_f64()),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: if empty { 0.0 } else { ms(t.latency_us.max()) },
        elapsed_s: elapsed,
        connections,
        failures: t.failures,
    }
}
