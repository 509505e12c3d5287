//! The durable inbox: every verified delivery is stored *before* the vendor
//! gets its 2xx, deduplicated by (vendor, event id) or by a hash of the body
//! when the vendor sends no id, and handed to the handler by a worker with
//! at-least-once semantics. Failures are retried with backoff; after the
//! last attempt a delivery is `dead` (a dead letter, replayable). An
//! authentic delivery that does not fit our model is `quarantined`, never
//! dropped. Everything stays visible (`hookforge inbox list`). Where rows
//! are kept is the [`Store`]'s business (`super::store`).

/// Log lines keep the target they had when this was `hookforge::receive::inbox`.
const LOG: &str = "hookforge::receive::inbox";

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use super::store::{
    Attempt, InsertMode, Inserted, NewDelivery, Store, StoreError, StoredDelivery, Vendors, now_ms,
};
use crate::RawHandler;

/// When to retry a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Attempts before giving up (the delivery then becomes `dead`, visible
    /// and replayable).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempts + 1`, doubling from `first_delay`.
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// How the worker runs handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// A handler call that takes longer is abandoned and counts as a failed attempt.
    pub handler_timeout: Duration,
    /// Handler calls in flight at once per vendor: a slow vendor uses its
    /// own slots and never stalls another vendor's deliveries.
    pub concurrency_per_vendor: usize,
    /// A stale delivery (one that arrived after a newer one of the same
    /// entity; ordered vendors only) is marked done without the handler.
    /// Otherwise the handler gets it with the header [`STALE_HEADER`].
    pub skip_stale: bool,
}

/// Handed to the handler with a stale delivery: the id of the newer
/// delivery of the same entity that arrived before it.
pub const STALE_HEADER: &str = "x-hookforge-stale";

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            handler_timeout: Duration::from_secs(30),
            concurrency_per_vendor: 4,
            skip_stale: false,
        }
    }
}

/// Counts a store failure outside the request path (`op`: claim, record,
/// renew, recover, purge, stats): the request path's show as rejections
/// with the reason `store_failed`.
pub(crate) fn store_failed(op: &'static str) {
    metrics::counter!("hookforge_store_errors_total", "op" => op).increment(1);
}

/// Whether a store call failed only because the runtime is shutting down
/// (its blocking task was cancelled before it ran).
fn shutting_down(e: &StoreError) -> bool {
    matches!(e, StoreError::Task(join) if join.is_cancelled())
}

/// The store plus the handlers its worker calls, per vendor.
#[derive(Clone)]
pub struct Inbox {
    store: Arc<dyn Store>,
    handlers: Arc<Mutex<HashMap<&'static str, Arc<dyn RawHandler>>>>,
    notify: Arc<Notify>,
    retry: RetryPolicy,
    worker: WorkerConfig,
    slots: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// The group-commit writer, for stores that batch.
    writer: Option<Writer>,
    /// Set by [`Inbox::drain`]: the worker claims nothing more.
    draining: Arc<std::sync::atomic::AtomicBool>,
    /// Claims under way whose deliveries do not hold their slots yet.
    claiming: Arc<std::sync::atomic::AtomicUsize>,
}

/// One claim under way, counted in [`Inbox`]'s `claiming` until dropped.
struct Claiming(Arc<std::sync::atomic::AtomicUsize>);

impl Claiming {
    fn enter(count: &Arc<std::sync::atomic::AtomicUsize>) -> Claiming {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Claiming(count.clone())
    }
}

impl Drop for Claiming {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("retry", &self.retry)
            .field("worker", &self.worker)
            .finish()
    }
}

impl Inbox {
    pub fn new(store: Arc<dyn Store>) -> Inbox {
        let writer = if store.insert_mode() == InsertMode::Batched {
            Writer::start(&store)
        } else {
            None
        };
        Inbox {
            writer,
            store,
            handlers: Arc::default(),
            notify: Arc::new(Notify::new()),
            retry: RetryPolicy::default(),
            worker: WorkerConfig::default(),
            slots: Arc::default(),
            draining: Arc::default(),
            claiming: Arc::default(),
        }
    }

    /// Stops the worker claiming deliveries and waits, until `deadline`,
    /// for the handler calls in flight to end. Returns how many still run
    /// then: their deliveries stay `processing`, and the next start hands
    /// them to the handler again.
    pub async fn drain(&self, deadline: tokio::time::Instant) -> usize {
        self.draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let full = self.worker.concurrency_per_vendor.max(1);
        loop {
            let claiming = self.claiming.load(std::sync::atomic::Ordering::SeqCst);
            let running: usize = (self.slots.lock().unwrap_or_else(|p| p.into_inner()))
                .values()
                .map(|slot| full.saturating_sub(slot.available_permits()))
                .sum();
            if (claiming == 0 && running == 0) || tokio::time::Instant::now() >= deadline {
                return running;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Inbox {
        self.retry = retry;
        self
    }

    pub fn with_worker(mut self, worker: WorkerConfig) -> Inbox {
        self.worker = worker;
        self
    }

    /// Registers the handler for one vendor's deliveries.
    pub fn handle(&self, handler: impl RawHandler) -> &Inbox {
        let h: Arc<dyn RawHandler> = Arc::new(handler);
        self.handlers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(h.vendor().id, h);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Stores a delivery (through the group-commit writer, on the blocking
    /// pool, or directly, as the store asks) and wakes the worker. `Ok`
    /// means the commit succeeded; only then may the vendor get a 2xx.
    pub async fn accept(&self, d: NewDelivery) -> Result<Inserted, StoreError> {
        let r = match &self.writer {
            Some(w) => w.insert(d).await?,
            None => self.blocking(move |s| s.insert_owned(d)).await?,
        };
        if matches!(r, Inserted::New(_)) {
            self.notify.notify_one();
        }
        Ok(r)
    }

    /// Runs the worker until the process ends: claims due deliveries, hands
    /// each to its vendor's handler, records the outcome. Should the loop
    /// itself ever stop (a bug), it is logged and started again.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        let inbox = self.clone();
        tokio::spawn(async move {
            // Once per process, before any handler runs: a supervised
            // restart of the loop must not reset rows whose handlers still run.
            inbox.recover().await;
            supervise("inbox worker", move || {
                let inbox = inbox.clone();
                async move { inbox.work().await }
            })
            .await
        })
    }

    /// Empties `done` deliveries older than `retain`, now and then, until
    /// the process ends.
    ///
    /// A purged delivery keeps its key for `horizon` more (the vendors'
    /// retry horizon): a late retry is still a duplicate, never handled again.
    pub fn spawn_retention(
        &self,
        retain: Duration,
        horizon: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let inbox = self.clone();
        let every = (retain / 10).clamp(Duration::from_millis(100), Duration::from_secs(60));
        tokio::spawn(async move {
            loop {
                // Checked: a retention longer than the epoch keeps everything.
                let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                let before = now_ms().saturating_sub(ms(retain));
                let forget = before.saturating_sub(ms(horizon));
                match inbox.blocking(move |s| s.purge_done(before, forget)).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(target: LOG, count = n, "purged done deliveries past retention")
                    }
                    Err(e) => {
                        store_failed("purge");
                        tracing::error!(target: LOG, error = %e, "cannot purge done deliveries")
                    }
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Runs a store call where the store wants it: on the blocking pool, or
    /// directly for a store that never waits on I/O.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if self.store.insert_mode() == InsertMode::Immediate {
            // Never waits on I/O: a hop to the blocking pool would cost more.
            return f(self.store.as_ref());
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(StoreError::Task)?
    }

    fn slot(&self, vendor: &str) -> Arc<Semaphore> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Looked up first: `entry` would want an owned key on every call.
        if let Some(s) = slots.get(vendor) {
            return s.clone();
        }
        slots
            .entry(vendor.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.worker.concurrency_per_vendor.max(1))))
            .clone()
    }

    /// What to claim now: for each vendor with a handler, as many as it has
    /// free handler slots (at most 64), so that a claimed delivery is one
    /// being handled, not one waiting in memory marked `processing` with
    /// its attempt counted (and, on PostgreSQL, its lease running out).
    /// Vendors without a handler here are never claimed: their deliveries
    /// stay pending for the process that has one.
    fn wanted(&self) -> Vec<(&'static str, usize)> {
        if self.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return Vec::new();
        }
        let vendors: Vec<&'static str> = self
            .handlers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect();
        vendors
            .into_iter()
            .map(|v| (v, self.slot(v).available_permits().min(64)))
            .filter(|(_, free)| *free > 0)
            .collect()
    }

    async fn recover(&self) {
        match self.blocking(|s| s.recover()).await {
            Ok(n) if n > 0 => tracing::info!(target: LOG,
                count = n,
                "requeued deliveries left processing by a previous run"
            ),
            Ok(_) => {}
            // The process is exiting before the worker got going (`serve`
            // refusing its configuration): nothing failed.
            Err(e) if shutting_down(&e) => {}
            Err(e) => {
                store_failed("recover");
                tracing::error!(target: LOG, error = %e, "cannot recover in-flight deliveries")
            }
        }
    }

    async fn work(&self) {
        loop {
            // Let the tasks that are ready run first (requests being stored):
            // under load, one claim then takes many deliveries instead of
            // one claim, one spawn and one wake-up per delivery.
            tokio::task::yield_now().await;
            // Counted before `draining` is read (both SeqCst), and until the
            // claimed deliveries hold their slots: a drain that starts at
            // any moment either stops this claim or waits for it.
            let claim = Claiming::enter(&self.claiming);
            let wanted = self.wanted();
            if wanted.is_empty() {
                drop(claim);
                // Every slot is busy (a finishing delivery notifies), or no
                // handler is registered yet.
                let _ = tokio::time::timeout(Duration::from_secs(1), self.notify.notified()).await;
                continue;
            }
            // Leases start at the database no earlier than this.
            let claimed_at = tokio::time::Instant::now();
            let (batch, error) = self
                .blocking(move |s| Ok(claim_each(s, &wanted)))
                .await
                .unwrap_or_else(|e| (Vec::new(), Some(e)));
            if let Some(e) = &error {
                if shutting_down(e) {
                    return;
                }
                store_failed("claim");
                tracing::error!(target: LOG, error = %e, "cannot claim deliveries; retrying in 1 s");
            }
            if batch.is_empty() {
                drop(claim);
                let wait = match (&error, self.blocking(|s| s.next_due()).await) {
                    (None, Ok(Some(at))) => {
                        Duration::from_millis((at - now_ms()).clamp(1, 1000) as u64)
                    }
                    _ => Duration::from_secs(1),
                };
                let _ = tokio::time::timeout(wait, self.notify.notified()).await;
                continue;
            }
            for d in batch {
                let slot = self.slot(&d.vendor);
                let inbox = self.clone();
                // Claims are sized by the free slots, so the slot is free;
                // taken now so that the next round's count sees it taken.
                let permit = slot.clone().try_acquire_owned().ok();
                tokio::spawn(async move {
                    let permit = match permit {
                        Some(p) => p,
                        None => match slot.acquire_owned().await {
                            Ok(p) => p,
                            Err(_) => return,
                        },
                    };
                    inbox.process(d, claimed_at).await;
                    // The slot is free before the worker hears of it: woken
                    // while it was still held, the worker saw no free slot
                    // and waited up to a second for the next notice.
                    drop(permit);
                    inbox.notify.notify_one();
                });
            }
            drop(claim);
        }
    }

    /// Runs one handler call under the timeout: a panic or a hang is a
    /// failed attempt, never the worker's end. It runs inside the
    /// delivery's task (`work` spawns one per delivery), its panics caught
    /// at each poll: a second task per call cost a spawn and a copy of the
    /// body for nothing.
    async fn run_handler(&self, d: &StoredDelivery) -> Result<(), String> {
        let handler = self
            .handlers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(d.vendor.as_str())
            .cloned();
        let Some(h) = handler else {
            return Err(format!("no handler registered for vendor `{}`", d.vendor));
        };
        let mut headers = d.header_map();
        if let Some(newer) = d.superseded_by {
            headers.insert(STALE_HEADER, http::HeaderValue::from(newer));
        }
        let limit = self.worker.handler_timeout;
        // On timeout the call is dropped, which cancels it.
        match tokio::time::timeout(limit, catch_panic(h.handle(&d.body, &headers))).await {
            Ok(Ok(outcome)) => outcome.map_err(|e| e.to_string()),
            Ok(Err(panic)) => Err(format!(
                "handler panicked: {}",
                panic_message(panic.as_ref())
            )),
            Err(_) => Err(format!(
                "handler timed out after {:.1} s",
                limit.as_secs_f64()
            )),
        }
    }

    /// Handles one claimed delivery in its `handle` span, which continues
    /// the delivery's trace (crate::trace).
    async fn process(&self, d: StoredDelivery, claimed_at: tokio::time::Instant) {
        let span = tracing::info_span!(target: crate::trace::TARGET, "handle",
            vendor = %d.vendor, event = crate::util::cap(&d.event_type), delivery = d.id,
            attempt = d.attempts, outcome = tracing::field::Empty);
        if let Some((_, tp)) = d
            .headers
            .iter()
            .find(|(k, _)| k == crate::trace::TRACEPARENT)
        {
            crate::trace::continue_from(&span, tp);
        }
        tracing::Instrument::instrument(self.process_in_span(d, claimed_at), span).await;
    }

    async fn process_in_span(&self, d: StoredDelivery, claimed_at: tokio::time::Instant) {
        if let (Some(newer), true) = (d.superseded_by, self.worker.skip_stale) {
            tracing::info!(target: LOG,
                vendor = %d.vendor, event = %crate::util::Shown(&d.event_type), delivery = d.id, newer,
                "stale delivery skipped: a newer one of the same entity arrived before it"
            );
            metrics::counter!("hookforge_stale_skipped_total", "vendor" => d.vendor.clone())
                .increment(1);
            self.record(&d, Ok(())).await;
            return;
        }
        let started = std::time::Instant::now();
        let outcome = match self.store.lease() {
            None => self.run_handler(&d).await,
            Some(lease) => match self.run_holding_lease(&d, lease, claimed_at).await {
                Some(outcome) => outcome,
                // Another process may be handling it now: it records the outcome.
                None => return,
            },
        };
        metrics::histogram!(
            "hookforge_handler_duration_seconds",
            "vendor" => d.vendor.clone(),
            "outcome" => if outcome.is_ok() { "ok" } else { "failed" }
        )
        .record(started.elapsed().as_secs_f64());
        tracing::Span::current().record("outcome", if outcome.is_ok() { "ok" } else { "failed" });
        if let Err(error) = &outcome {
            tracing::warn!(target: LOG,
                vendor = %d.vendor, event = %crate::util::Shown(&d.event_type), delivery = d.id, attempt = d.attempts,
                error = %crate::util::Shown(error), dead = d.attempts >= self.retry.max_attempts, "handler failed"
            );
        }
        self.record(&d, outcome).await;
    }

    /// Records a handler's outcome against the attempt that ran it. A
    /// database blip must not leave the row `processing` until the next
    /// restart (then handled again): the outcome is recorded with retries.
    async fn record(&self, d: &StoredDelivery, outcome: Result<(), String>) {
        let attempt = d.attempt();
        for (n, pause) in RECORD_RETRIES.iter().enumerate() {
            let result = match &outcome {
                Ok(()) => match &self.writer {
                    Some(w) => w.complete(attempt, now_ms()).await,
                    None => self.blocking(move |s| s.complete(attempt, now_ms())).await,
                },
                Err(error) => {
                    let retry_at = (d.attempts < self.retry.max_attempts)
                        .then(|| now_ms() + self.retry.delay(d.attempts).as_millis() as i64);
                    let error = error.clone();
                    self.blocking(move |s| s.fail(attempt, &error, retry_at))
                        .await
                }
            };
            match result {
                Ok(true) => return,
                Ok(false) => {
                    tracing::warn!(target: LOG,
                        delivery = d.id,
                        attempt = d.attempts,
                        "outcome not recorded: this attempt no longer holds the delivery (its lease ran out and another took it over)"
                    );
                    return;
                }
                Err(e) if n + 1 < RECORD_RETRIES.len() => {
                    store_failed("record");
                    tracing::warn!(target: LOG, delivery = d.id, error = %e, "cannot record the outcome; retrying in {} ms", pause.as_millis());
                    tokio::time::sleep(*pause).await;
                }
                Err(e) => tracing::error!(target: LOG,
                    delivery = d.id,
                    error = %e,
                    "cannot record the outcome after {} tries; it stays processing until the next start",
                    RECORD_RETRIES.len()
                ),
            }
        }
    }

    /// Runs the handler while keeping the delivery's lease; `None` when the
    /// lease was lost (taken over, or not renewed before it ran out), in
    /// which case the handler was cancelled: another process may take the
    /// delivery over, and two handlings must never run at once.
    async fn run_holding_lease(
        &self,
        d: &StoredDelivery,
        lease: Duration,
        claimed_at: tokio::time::Instant,
    ) -> Option<Result<(), String>> {
        tokio::select! {
            outcome = self.run_handler(d) => Some(outcome),
            why = self.keep_lease(d.attempt(), lease, claimed_at) => {
                metrics::counter!("hookforge_leases_lost_total", "vendor" => d.vendor.clone()).increment(1);
                tracing::warn!(target: LOG,
                    vendor = %d.vendor, delivery = d.id, attempt = d.attempts, reason = why,
                    "lease lost: the handler was cancelled (another process may take the delivery over)"
                );
                None
            }
        }
    }

    /// Renews a lease every third of its length until it is lost; returns
    /// why. The lease is counted from when its claim or renewal was *sent*
    /// (the database started it no earlier), less a tenth for the
    /// cancellation to land before another process may claim.
    async fn keep_lease(
        &self,
        attempt: Attempt,
        lease: Duration,
        claimed_at: tokio::time::Instant,
    ) -> &'static str {
        let margin = lease / 10;
        let mut expires = claimed_at + lease;
        loop {
            let next = (tokio::time::Instant::now() + lease / 3).min(expires - margin);
            tokio::time::sleep_until(next).await;
            let sent = tokio::time::Instant::now();
            if sent + margin >= expires {
                return "not renewed before it ran out";
            }
            let renewal = self.blocking(move |s| s.renew(attempt));
            match tokio::time::timeout_at(expires - margin, renewal).await {
                Ok(Ok(true)) => expires = sent + lease,
                Ok(Ok(false)) => return "another attempt holds the delivery now",
                Ok(Err(e)) => {
                    store_failed("renew");
                    tracing::warn!(target: LOG, delivery = attempt.id, error = %e, "cannot renew the lease; trying again")
                }
                Err(_) => return "the renewal did not finish before the lease ran out",
            }
        }
    }
}

/// Claims for each vendor what [`Inbox::wanted`] says; what was claimed
/// before an error is kept (it is `processing` now and must be handled).
fn claim_each(
    store: &dyn Store,
    wanted: &[(&str, usize)],
) -> (Vec<StoredDelivery>, Option<StoreError>) {
    let now = now_ms();
    let mut out = Vec::new();
    for &(vendor, free) in wanted {
        match store.claim(now, free, Vendors::Only(&[vendor])) {
            Ok(batch) => out.extend(batch),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// Pauses between tries to record a handler's outcome (about 6 s in all).
const RECORD_RETRIES: [Duration; 6] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_millis(1600),
    Duration::from_millis(3200),
];

/// Runs `start()` again whenever the future it makes ends (a panic or a
/// return): for loops that must outlive their own bugs.
pub async fn supervise<F, Fut>(name: &'static str, start: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let outcome = tokio::spawn(start()).await;
        match outcome {
            Ok(()) => tracing::error!(target: LOG, task = name, "stopped; restarting it"),
            Err(e) if e.is_panic() => tracing::error!(target: LOG,
                task = name,
                panic = %crate::util::Shown(&panic_message(e.into_panic().as_ref())),
                "panicked; restarting it"
            ),
            Err(_) => return, // cancelled: the runtime is shutting down
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `fut`, turning a panic in any of its polls into an error instead of
/// unwinding through the caller; it is not polled again after one.
async fn catch_panic<T>(
    mut fut: crate::BoxFuture<'_, T>,
) -> Result<T, Box<dyn std::any::Any + Send>> {
    std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    })
    .await
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a non-string panic payload)".into())
}

/// Parses a quarantined delivery again with this binary's models: when it
/// fits now it moves to pending (`Ok(Ok(event type))`), otherwise its new
/// reason is recorded (`Ok(Err(reason))`). Used by `inbox reparse` and the
/// dashboard.
pub fn reparse_delivery(
    store: &dyn Store,
    d: &StoredDelivery,
) -> Result<Result<String, String>, StoreError> {
    let Some(v) = crate::vendor(&d.vendor) else {
        return Ok(Err(format!(
            "vendor {:?} is unknown to this binary; left quarantined",
            d.vendor
        )));
    };
    match v.check(&d.body, &d.header_map()) {
        Ok(c) => {
            store.release(d.id)?;
            Ok(Ok(c.event_type))
        }
        Err(e) => {
            let why = e.to_string();
            store.requarantine(d.id, &why)?;
            Ok(Err(why))
        }
    }
}

/// Publishes the inbox's depth by status and the age of its oldest pending
/// delivery as metrics (`hookforge_inbox_depth{status}`,
/// `hookforge_oldest_pending_age_seconds`), read from the store every `every`.
pub fn spawn_inbox_gauges(inbox: &Inbox, every: Duration) -> tokio::task::JoinHandle<()> {
    let inbox = inbox.clone();
    tokio::spawn(async move {
        loop {
            match inbox.blocking(|s| s.stats()).await {
                Ok(stats) => {
                    for (status, n) in &stats.by_status {
                        metrics::gauge!("hookforge_inbox_depth", "status" => status.as_str())
                            .set(*n as f64);
                    }
                    let age = stats
                        .oldest_pending_received_at_ms
                        .map_or(0.0, |at| (now_ms() - at).max(0) as f64 / 1000.0);
                    metrics::gauge!("hookforge_oldest_pending_age_seconds").set(age);
                }
                Err(e) => {
                    store_failed("stats");
                    tracing::warn!(target: LOG, error = %e, "cannot read the inbox for metrics")
                }
            }
            tokio::time::sleep(every).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, SqliteStore, dedupe_key};

    use crate::store::contract::{delivery, exercise, exercise_batches, exercise_ordering};
    use crate::store::fresh_db;

    #[test]
    fn memory_store_refuses_past_its_capacity() {
        let store = MemoryStore::with_capacity(1);
        store.insert(&delivery("a")).unwrap();
        // A duplicate of a held delivery is still acknowledged.
        assert!(matches!(
            store.insert(&delivery("a")),
            Ok(Inserted::Duplicate(1, _))
        ));
        let err = store.insert(&delivery("b")).unwrap_err();
        assert!(matches!(err, StoreError::Full { capacity: 1 }), "{err}");
        assert_eq!(store.list(None, 10).unwrap().len(), 1);
    }

    #[test]
    fn memory_store_semantics() {
        exercise(&MemoryStore::new());
        exercise_batches(&MemoryStore::new());
        exercise_ordering(&MemoryStore::new());
    }

    #[test]
    fn sqlite_orders_each_entitys_deliveries() {
        let (dir, path) = fresh_db("ordering");
        exercise_ordering(&SqliteStore::open(&path).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// An inbox file from before ordering gains its columns when opened.
    #[test]
    fn an_older_sqlite_inbox_is_brought_up_to_date() {
        let (dir, path) = fresh_db("old");
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE deliveries (id INTEGER PRIMARY KEY, vendor TEXT NOT NULL, event_type TEXT NOT NULL,
                event_id TEXT, dedupe_key TEXT NOT NULL, body BLOB NOT NULL, headers TEXT NOT NULL,
                received_at INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_attempt_at INTEGER NOT NULL,
                processed_at INTEGER, duplicates INTEGER NOT NULL DEFAULT 0, UNIQUE (vendor, dedupe_key));
             INSERT INTO deliveries (vendor, event_type, dedupe_key, body, headers, received_at, next_attempt_at, status)
                VALUES ('prets', 'quote.created', 'id:old', x'7b7d', '[]', 1, 1, 'done');",
        )
        .unwrap();
        drop(old);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.list(None, 10).unwrap()[0].entity, None);
        exercise_ordering(&store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sqlite_batches_answer_as_single_inserts() {
        let (dir, path) = fresh_db("batch");
        exercise_batches(&SqliteStore::open(&path).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Checkpoints happen off the commit path, but they happen: while the
    /// store is open, the database file on its own (without its WAL) comes
    /// to hold what was committed. Without the checkpointer thread (SQLite's
    /// own checkpoints switched off) it never would.
    #[test]
    fn sqlite_checkpoints_on_its_own_thread() {
        let (dir, path) = fresh_db("ckpt");
        let store = SqliteStore::open(&path).unwrap();
        for i in 0..200 {
            store.insert(&delivery(&format!("k{i}"))).unwrap();
        }
        let copy = dir.join("copy.db");
        let mut rows_in_file = 0;
        // A liveness bound, not a timing claim: the thread runs every 100 ms.
        for _ in 0..200 {
            std::fs::copy(&path, &copy).unwrap();
            let _ = std::fs::remove_file(dir.join("copy.db-wal"));
            let c = rusqlite::Connection::open(&copy).unwrap();
            rows_in_file = c
                .query_row("SELECT count(*) FROM deliveries", [], |r| {
                    r.get::<_, i64>(0)
                })
                .unwrap_or(0);
            drop(c);
            if rows_in_file == 200 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(rows_in_file, 200, "the WAL was never checkpointed");
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sqlite_store_semantics_and_persistence() {
        let (dir, path) = fresh_db("inbox");
        exercise(&SqliteStore::open(&path).unwrap());
        // Reopened, the deliveries are there (the contract leaves three).
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(reopened.list(None, 10).unwrap().len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1), Duration::from_secs(1));
        assert_eq!(p.delay(2), Duration::from_secs(2));
        assert_eq!(p.delay(5), Duration::from_secs(16));
        assert_eq!(p.delay(30), Duration::from_secs(300));
    }

    #[test]
    fn dedupe_key_prefers_the_event_id() {
        assert_eq!(dedupe_key(Some("evt_1"), b"x"), "id:evt_1");
        assert!(dedupe_key(None, b"x").starts_with("sha256:2d711642"));
    }
}

/// Work for the writer thread, each with where its answer goes.
enum Job {
    Insert(
        NewDelivery,
        tokio::sync::oneshot::Sender<Result<Inserted, StoreError>>,
    ),
    Complete(
        Attempt,
        i64,
        tokio::sync::oneshot::Sender<Result<bool, StoreError>>,
    ),
}

/// Group commit: one thread takes every delivery that arrived while the
/// previous transaction committed and stores them in one transaction
/// ([`Store::insert_many`]); each caller hears back only after the
/// transaction holding its row committed. Deliveries the worker finished are
/// marked done the same way ([`Store::complete_many`]). Under light load a
/// batch is one delivery, so nothing waits for company.
#[derive(Clone)]
struct Writer {
    jobs: std::sync::mpsc::Sender<Job>,
}

/// The most jobs one round takes.
const MAX_BATCH: usize = 256;

impl Writer {
    /// None when no thread can be started: inserts then go one by one
    /// through the blocking pool (still committed before each answer).
    fn start(store: &Arc<dyn Store>) -> Option<Writer> {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let store = store.clone();
        // Ends when the last inbox clone (and its sender) is dropped.
        std::thread::Builder::new()
            .name("hookforge-inbox-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(j) => batch.push(j),
                            Err(_) => break,
                        }
                    }
                    let (mut inserts, mut answers, mut done, mut done_answers) =
                        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                    for job in batch {
                        match job {
                            Job::Insert(d, tx) => {
                                inserts.push(d);
                                answers.push(tx);
                            }
                            Job::Complete(attempt, at, tx) => {
                                done.push((attempt, at));
                                done_answers.push(tx);
                            }
                        }
                    }
                    if !inserts.is_empty() {
                        write_inserts(store.as_ref(), &inserts, answers);
                    }
                    if !done.is_empty() {
                        write_completions(store.as_ref(), &done, done_answers);
                    }
                }
            })
            .map_err(|e| {
                tracing::error!(target: LOG, error = %e, "cannot start the inbox writer thread; storing deliveries one by one");
            })
            .ok()?;
        Some(Writer { jobs })
    }

    fn gone() -> StoreError {
        StoreError::Backend("the inbox writer thread has stopped".into())
    }

    async fn insert(&self, d: NewDelivery) -> Result<Inserted, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Insert(d, tx))
            .map_err(|_| Self::gone())?;
        rx.await.map_err(|_| Self::gone())?
    }

    async fn complete(&self, attempt: Attempt, at: i64) -> Result<bool, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Complete(attempt, at, tx))
            .map_err(|_| Self::gone())?;
        rx.await.map_err(|_| Self::gone())?
    }
}

/// Marks a batch done in one go; if that fails, one by one, so each
/// caller hears its own outcome.
fn write_completions(
    store: &dyn Store,
    done: &[(Attempt, i64)],
    answers: Vec<tokio::sync::oneshot::Sender<Result<bool, StoreError>>>,
) {
    fn caught<T>(f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
            Err(StoreError::Backend(
                "the store panicked while recording a delivery as done".into(),
            ))
        })
    }
    if let Ok(held) = caught(|| store.complete_many(done))
        && held.len() == answers.len()
    {
        for (tx, held) in answers.into_iter().zip(held) {
            // The caller may have gone: nothing to tell.
            let _ = tx.send(Ok(held));
        }
        return;
    }
    for (&(attempt, at), tx) in done.iter().zip(answers) {
        let _ = tx.send(caught(|| store.complete(attempt, at)));
    }
}

/// Inserts a batch and answers each caller (a panic in the store is an
/// error for all of them: its transaction was rolled back while unwinding).
fn write_inserts(
    store: &dyn Store,
    ds: &[NewDelivery],
    answers: Vec<tokio::sync::oneshot::Sender<Result<Inserted, StoreError>>>,
) {
    let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.insert_many(ds)));
    match results {
        Ok(rs) if rs.len() == answers.len() => {
            for (tx, r) in answers.into_iter().zip(rs) {
                // The caller may have gone (client hung up): nothing to tell.
                let _ = tx.send(r);
            }
        }
        other => {
            let why = match other {
                Err(_) => "the store panicked while inserting".to_string(),
                Ok(rs) => format!(
                    "the store answered {} of {} inserts",
                    rs.len(),
                    answers.len()
                ),
            };
            tracing::error!(target: LOG, reason = %why, "inbox writer: batch not stored");
            for tx in answers {
                let _ = tx.send(Err(StoreError::Backend(why.clone().into())));
            }
        }
    }
}
