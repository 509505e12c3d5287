//! `hookforge load`: signed deliveries sent open-loop at a fixed rate, so a
//! slow receiver shows up as latency instead of silently lowering the rate.
//! Latency is measured from when each request was *scheduled*, which counts
//! the time a request waited behind slow ones (no coordinated omission).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::VendorSpec;
use crate::auth::{Secret, Signer};
use crate::conformance::cases::fresh_delivery;
use crate::conformance::delivery::{Attempt, vendor_headers};
use crate::conformance::harness::HarnessError;

/// Distinct deliveries prepared before sending; longer runs cycle through
/// them (the receiver then sees duplicates, which it must also answer 2xx).
pub const MAX_DISTINCT: usize = 20_000;

/// The most deliveries one run may send (a bound, so a typo cannot run for days).
pub const MAX_DELIVERIES: usize = 10_000_000;

/// A body with the headers to send it with.
type Prepared = (Vec<u8>, Vec<(String, String)>);

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub vendor: &'static VendorSpec,
    pub url: String,
    pub secret: Option<Secret>,
    /// Overrides the vendor's HMAC format.
    pub hmac_format: Option<crate::auth::HmacFormat>,
    /// Deliveries per second.
    pub rate: f64,
    pub duration: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// A private CA (PEM) trusted for an `https://` target.
    pub ca_cert: Option<Vec<u8>>,
}

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
}

impl LoadReport {
    /// Whether the receiver kept up: every delivery succeeded and the
    /// achieved rate is within 2% of the target.
    pub fn sustained(&self) -> bool {
        self.failed == 0 && self.achieved_rate >= 0.98 * self.target_rate
    }

    pub fn summary(&self) -> String {
        format!(
            "target {:.0}/s: sent {}, succeeded {}, failed {}, achieved {:.0}/s over {:.1} s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.target_rate,
            self.sent,
            self.succeeded,
            self.failed,
            self.achieved_rate,
            self.elapsed_s,
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

/// Sends `rate × duration` deliveries open-loop and measures them.
pub async fn run(
    cfg: &LoadConfig,
    progress: Option<&(dyn Fn(usize) + Sync)>,
) -> Result<LoadReport, HarnessError> {
    let total = planned_total(cfg)?;
    let prepared = Arc::new(prepare(cfg, total)?);
    let client = reachable_client(cfg).await?;
    let start = Instant::now();
    let latencies = send_all(cfg, client, prepared, total, start, progress).await?;
    Ok(summarize(cfg, total, start, latencies))
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
    Ok(total_f.round() as usize)
}

/// Up to [`MAX_DISTINCT`] distinct signed deliveries, sent in turn.
fn prepare(cfg: &LoadConfig, total: usize) -> Result<Vec<Prepared>, HarnessError> {
    let signer = cfg
        .secret
        .as_ref()
        .map(|s| Signer::for_manifest_with(cfg.vendor.manifest(), s.clone(), cfg.hmac_format))
        .transpose()
        .map_err(|e| HarnessError::Config(e.to_string()))?;
    let base = cfg
        .vendor
        .events
        .iter()
        .flat_map(|e| e.samples)
        .next()
        .ok_or_else(|| HarnessError::Config(format!("{} has no samples", cfg.vendor.id)))?
        .body;
    let run_id = crate::util::since_epoch().as_micros();
    let prepared: Vec<Prepared> = (0..total.clamp(1, MAX_DISTINCT))
        .map(|i| {
            let body = fresh_delivery(cfg.vendor, base, &format!("load-{run_id}-{i}"));
            let headers = vendor_headers(cfg.vendor, &body, signer.as_ref(), &Attempt::default())
                .unwrap_or_default();
            (body, headers)
        })
        .collect();
    Ok(prepared)
}

/// An HTTP client, once something answers at the target.
async fn reachable_client(cfg: &LoadConfig) -> Result<reqwest::Client, HarnessError> {
    let client = crate::conformance::harness::client_builder(cfg.ca_cert.as_deref())?
        .timeout(cfg.timeout)
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| HarnessError::Internal(format!("cannot build the HTTP client: {e}")))?;
    // Fail fast when nothing listens.
    if let Err(e) = client.get(&cfg.url).send().await
        && e.is_connect()
    {
        return Err(HarnessError::Unreachable {
            url: cfg.url.clone(),
            reason: e.to_string(),
        });
    }
    Ok(client)
}

/// Sends `total` deliveries on schedule (open loop: a slow answer does not
/// delay the next request); each one's success and latency from its
/// scheduled time.
async fn send_all(
    cfg: &LoadConfig,
    client: reqwest::Client,
    prepared: Arc<Vec<Prepared>>,
    total: usize,
    start: Instant,
    progress: Option<&(dyn Fn(usize) + Sync)>,
) -> Result<Vec<(bool, f64)>, HarnessError> {
    let success = cfg.vendor.manifest().success.clone();
    let interval = Duration::from_secs_f64(1.0 / cfg.rate);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..total {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, prepared, url, success) = (
            client.clone(),
            prepared.clone(),
            cfg.url.clone(),
            success.clone(),
        );
        set.spawn(async move {
            let (body, headers) = &prepared[i % prepared.len()];
            let mut req = client.post(&url).body(body.clone());
            for (k, v) in headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let ok = match req.send().await {
                Ok(r) => success.accepts(r.status().as_u16()),
                Err(_) => false,
            };
            (ok, scheduled.elapsed())
        });
        if let Some(p) = progress
            && i % 256 == 0
        {
            p(i);
        }
    }
    let mut results = Vec::with_capacity(total);
    while let Some(r) = set.join_next().await {
        let (ok, latency) =
            r.map_err(|e| HarnessError::Internal(format!("a request's task failed: {e}")))?;
        results.push((ok, latency.as_secs_f64() * 1000.0));
    }
    Ok(results)
}

/// The achieved rate and latency percentiles.
fn summarize(
    cfg: &LoadConfig,
    total: usize,
    start: Instant,
    results: Vec<(bool, f64)>,
) -> LoadReport {
    let succeeded = results.iter().filter(|r| r.0).count();
    let mut latencies: Vec<f64> = results.into_iter().map(|r| r.1).collect();
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let idx = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[idx]
    };
    LoadReport {
        target_rate: cfg.rate,
        sent: total,
        succeeded,
        failed: total - succeeded,
        achieved_rate: succeeded as f64 / elapsed.max(cfg.duration.as_secs_f64()),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        elapsed_s: elapsed,
    }
}
