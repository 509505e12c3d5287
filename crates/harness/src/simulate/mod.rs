//! Play the vendor over time: a stream of fresh events delivered with the
//! vendor's rules from its manifest (time budget, retries and their counter
//! header, what it does after repeated failures), with seeded faults between
//! vendor and receiver, and — for Socotra — the vendor's webhook management
//! API. The verdict says, per event, what the vendor saw and, when the
//! receiver's inbox is reachable, whether it was handled exactly once.
//!
//! ```no_run
//! # async fn t() -> Result<(), Box<dyn std::error::Error>> {
//! use hookforge::simulate::Simulator;
//! let report = Simulator::new(&hookforge::vendors::prets::VENDOR)
//!     .url("http://127.0.0.1:8080/hooks/prets")
//!     .secret("whsec_…")
//!     .events(50)
//!     .faults("lost-response=5%,duplicate=2%".parse()?)
//!     .time_scale(3600.0)
//!     .run()
//!     .await?;
//! assert!(report.passed, "{}", report.table());
//! # Ok(()) }
//! ```

pub mod events;
pub mod faults;
pub mod report;
mod socotra_api;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;

use crate::VendorSpec;
use crate::auth::{Secret, Signer};
use crate::conformance::delivery::{Attempt, vendor_delivery};
use crate::conformance::target::{Signing, target_setters};
use crate::manifest::{DeliveryRules, FailureHandling, FailureMode, Retry, WebhookManagement};
pub use events::SimEvent;
pub use faults::Faults;
use faults::{Roll, roll};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use report::StoreInbox;
pub use report::{Handled, HandledRecords, ObservedInbox, Report, Verdict};

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Unusable options (exit 2 in the CLI).
    #[error("{0}")]
    Config(String),
    /// Nothing listens at the receiver's URL (exit 2 in the CLI).
    #[error("cannot reach {}: {reason}", crate::conformance::error::shown_url(.url))]
    Unreachable { url: String, reason: String },
    #[error("cannot serve the management API on {addr}: {source}")]
    Api {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The receiver's inbox could not be read for the verdict.
    #[error("cannot read the receiver's inbox: {0}")]
    Inbox(String),
    /// The receiver failed a handshake the vendor requires before sending
    /// any event (exit 1 in the CLI): nothing was sent.
    #[error(
        "the receiver failed the {vendor} handshake `{name}`: {reason}; {vendor} sends no events to it"
    )]
    Handshake {
        vendor: String,
        name: String,
        reason: String,
    },
}

impl SimError {
    /// Errors in the options or the target, as opposed to the run.
    pub fn is_usage(&self) -> bool {
        !matches!(self, SimError::Inbox(_) | SimError::Handshake { .. })
    }
}

/// A webhook as the simulated vendor keeps it: where it sends, which
/// events, and (for vendors that let a webhook choose) its retry strategy
/// and failure handling. `None` means the vendor's default from the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub name: String,
    /// The integration (Socotra) whose URL receives the deliveries.
    pub integration: String,
    pub url: String,
    /// Event types sent; `None`: all.
    pub events: Option<Vec<String>>,
    pub enabled: bool,
    pub retry_strategy: Option<String>,
    pub failure_handling: Option<FailureHandling>,
    pub display_name: Option<String>,
}

/// What the simulated vendor answered itself for one request it sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Answer {
    /// The receiver's status code.
    Status { status: u16 },
    /// No answer within the vendor's time budget.
    Timeout,
    /// The receiver answered `status`, but the answer never reached the
    /// vendor (an injected fault): the vendor counts a timeout.
    Lost { status: u16 },
    /// No connection, or it broke before an answer.
    Error { reason: String },
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Status { status } => write!(f, "{status}"),
            Answer::Timeout => f.write_str("timeout"),
            Answer::Lost { status } => write!(f, "{status} (lost)"),
            // reqwest names a failed connect `(Connect)`; anything else broke
            // an open connection (closed before the answer, reset).
            Answer::Error { reason } if reason.contains("(Connect)") => {
                f.write_str("no connection")
            }
            Answer::Error { .. } => f.write_str("connection broke"),
        }
    }
}

/// One request the vendor sent.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptLog {
    /// The vendor's attempt number (0 first), as in its retry header.
    pub attempt: u32,
    /// Milliseconds since the simulation started (real time).
    pub at_ms: u64,
    pub answer: Answer,
    /// A duplicate of the attempt before it (an injected fault).
    pub duplicate: bool,
}

/// Where an event stands with the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Being delivered or waiting for a retry.
    InFlight,
    /// The vendor got a success answer.
    Delivered,
    /// Failed and kept for the management API (Socotra divert).
    Diverted,
    /// Held: the webhook is suspended or switched off.
    Suspended,
    /// The vendor stopped trying.
    GivenUp,
    /// Deleted from the diverted events through the API.
    Discarded,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::InFlight => "in flight",
            State::Delivered => "delivered",
            State::Diverted => "diverted",
            State::Suspended => "suspended",
            State::GivenUp => "given up",
            State::Discarded => "discarded",
        }
    }
}

/// One event on its way to one webhook.
#[derive(Debug, Clone)]
struct EventDelivery {
    event: usize,
    webhook: String,
    attempts: Vec<AttemptLog>,
    state: State,
    detail: Option<String>,
    /// Attempts before the current cycle (a resend or unsuspend starts one).
    cycle_start: usize,
    /// Vendor-clock seconds spent in retry delays this cycle.
    vendor_elapsed: f64,
}

impl EventDelivery {
    fn sent(&self) -> usize {
        self.attempts.iter().filter(|a| !a.duplicate).count()
    }
}

#[derive(Debug)]
struct HookState {
    config: Webhook,
    suspended_at_ms: Option<i64>,
    /// Switched off by the vendor (`TooManyErrors`).
    off: Option<String>,
    consecutive_failures: u32,
    held: Vec<usize>,
    diverted: Vec<usize>,
}

/// The webhooks and every event's delivery to them: what the delivery
/// tasks and the management API share, under one lock.
#[derive(Default)]
struct Deliveries {
    hooks: BTreeMap<String, HookState>,
    tracks: Vec<EventDelivery>,
    in_flight: usize,
    stream_done: bool,
}

/// Called whenever an event reaches a state (for progress).
pub type OnChange = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How far a simulation is.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Deliveries no longer in flight.
    pub settled: usize,
    /// Deliveries so far (events × webhooks they went to).
    pub tracks: usize,
    pub events: usize,
    /// The delivery that just changed: "event type → state".
    pub last: String,
}

/// The rates of new events `simulate` takes: an event a day to a million a second.
const MIN_RATE: f64 = 1.0 / 86_400.0;
const MAX_RATE: f64 = 1_000_000.0;
/// Vendor seconds per real second: a thousandth to a billion.
const MIN_TIME_SCALE: f64 = 0.001;
const MAX_TIME_SCALE: f64 = 1e9;

struct Shared {
    vendor: &'static VendorSpec,
    rules: DeliveryRules,
    client: reqwest::Client,
    signer: Option<Signer>,
    timeout: Duration,
    time_scale: f64,
    faults: Faults,
    seed: u64,
    rate: f64,
    integrations: BTreeMap<String, String>,
    events: Vec<SimEvent>,
    book: Mutex<Deliveries>,
    changed: Notify,
    started: Instant,
    on_change: Option<OnChange>,
}

/// Builds and starts a simulation.
pub struct Simulator {
    vendor: &'static VendorSpec,
    url: Option<String>,
    integration: String,
    signing: Signing,
    handshake_token: Option<Secret>,
    events: usize,
    rate: f64,
    faults: Faults,
    seed: u64,
    time_scale: f64,
    timeout: Option<Duration>,
    rules: Option<DeliveryRules>,
    retry_strategy: Option<String>,
    failure_handling: Option<FailureHandling>,
    default_webhook: bool,
    api_addr: Option<SocketAddr>,
    inbox: Option<Arc<dyn HandledRecords>>,
    observe: Option<SocketAddr>,
    settle: Duration,
    ca_cert: Option<Vec<u8>>,
    on_change: Option<OnChange>,
}

/// The name of the webhook the simulator registers from `url`.
pub const DEFAULT_WEBHOOK: &str = "hookforge";

impl Simulator {
    pub fn new(vendor: &'static VendorSpec) -> Simulator {
        Simulator {
            vendor,
            url: None,
            integration: DEFAULT_WEBHOOK.into(),
            signing: Signing::default(),
            handshake_token: None,
            events: 20,
            rate: 10.0,
            faults: Faults::default(),
            seed: 1,
            time_scale: 1.0,
            timeout: None,
            rules: None,
            retry_strategy: None,
            failure_handling: None,
            default_webhook: true,
            api_addr: None,
            inbox: None,
            observe: None,
            settle: Duration::from_secs(10),
            ca_cert: None,
            on_change: None,
        }
    }

    /// The receiver's endpoint: the URL of the integration, and of the
    /// webhook the simulator registers itself (unless `default_webhook(false)`).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
    /// The name of the integration `url` belongs to (Socotra webhooks name
    /// an integration); default `hookforge`.
    pub fn integration(mut self, name: impl Into<String>) -> Self {
        self.integration = name.into();
        self
    }
    target_setters!();

    /// How many events to send (default 20).
    pub fn events(mut self, n: usize) -> Self {
        self.events = n;
        self
    }
    /// New events per second (default 10).
    pub fn rate(mut self, per_sec: f64) -> Self {
        self.rate = per_sec;
        self
    }
    pub fn faults(mut self, f: Faults) -> Self {
        self.faults = f;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Vendor seconds per real second: 3600 plays an hour of retry delays
    /// in a second. The answer budget stays real time (see `timeout`).
    pub fn time_scale(mut self, x: f64) -> Self {
        self.time_scale = x;
        self
    }
    /// Replaces the manifest's delivery rules.
    pub fn rules(mut self, r: DeliveryRules) -> Self {
        self.rules = Some(r);
        self
    }
    /// The registered webhook's retry strategy (Socotra: none, one, three).
    pub fn retry_strategy(mut self, s: impl Into<String>) -> Self {
        self.retry_strategy = Some(s.into());
        self
    }
    /// The registered webhook's failure handling (Socotra).
    pub fn failure_handling(mut self, f: FailureHandling) -> Self {
        self.failure_handling = Some(f);
        self
    }
    /// Whether to register a webhook for `url` at start (default yes). When
    /// not, events wait until one is registered through the management API.
    pub fn default_webhook(mut self, yes: bool) -> Self {
        self.default_webhook = yes;
        self
    }
    /// Serve the vendor's management API (Socotra) on this address.
    pub fn api_addr(mut self, addr: SocketAddr) -> Self {
        self.api_addr = Some(addr);
        self
    }
    /// Listens on `addr` for the receiver's reports of what its handler
    /// processed (`POST /handled`, see [`crate::conformance::observe`]) and
    /// gives the exactly-once verdict from them: any receiver, any language.
    pub fn observe(mut self, addr: SocketAddr) -> Self {
        self.observe = Some(addr);
        self
    }

    /// Where the verdict looks up what the receiver handled.
    pub fn inbox(mut self, inbox: impl HandledRecords) -> Self {
        self.inbox = Some(Arc::new(inbox));
        self
    }
    /// How long the verdict waits for the receiver to finish handling what
    /// it acknowledged (default 10 s).
    pub fn settle(mut self, t: Duration) -> Self {
        self.settle = t;
        self
    }
    pub fn on_change(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.on_change = Some(Arc::new(f));
        self
    }

    fn config_error(&self, what: String) -> SimError {
        SimError::Config(format!("{}: {what}", self.vendor.id))
    }

    /// Starts the stream (and the API); see [`Running`].
    pub async fn start(self) -> Result<Running, SimError> {
        let v = self.vendor;
        let rules = self
            .rules
            .clone()
            .unwrap_or_else(|| v.manifest().delivery_rules());
        let url = self.checked_url(&rules)?;
        crate::conformance::target::check_reachable(&url)
            .await
            .map_err(|e| match e {
                crate::conformance::error::HarnessError::Unreachable { url, reason } => {
                    SimError::Unreachable { url, reason }
                }
                other => SimError::Config(other.to_string()),
            })?;
        // The endpoint, for signatures that cover it (Square's `{url}`).
        let signer = self
            .signing
            .signer(v, self.signing.secret.as_ref(), self.url.as_deref())
            .map_err(|e| SimError::Config(e.to_string()))?;
        let timeout = self
            .timeout
            .unwrap_or_else(|| Duration::from_secs_f64(rules.timeout_secs));
        let client = crate::conformance::target::client_builder(self.ca_cert.as_deref())
            .map_err(|e| SimError::Config(e.to_string()))?
            .build()
            .map_err(|e| SimError::Config(format!("cannot build the HTTP client: {e}")))?;
        // As the vendor does: no events until every handshake passes.
        let sender = crate::conformance::cases::Sender::new(v, signer.as_ref());
        // Not those that make the receiver call the vendor back (SNS's
        // SubscribeURL): the example's URL is the vendor's own. Nor those
        // the vendor sends only to another endpoint (Discord's interactions).
        let performed =
            |h: &&crate::manifest::Handshake| h.visit.is_none() && h.other_endpoint.is_none();
        for h in v.manifest().handshakes.iter().filter(performed) {
            handshake(
                &client,
                &url,
                sender,
                h,
                self.signing.secret.as_ref(),
                self.handshake_token.as_ref(),
            )
            .await?;
        }
        let events = events::build(v, self.events, self.seed, crate::util::now_ms())
            .map_err(|e| SimError::Config(e.to_string()))?;
        let shared = Arc::new(Shared {
            vendor: v,
            rules,
            client,
            signer,
            timeout,
            time_scale: self.time_scale,
            faults: self.faults.clone(),
            seed: self.seed,
            rate: self.rate,
            integrations: BTreeMap::from([(self.integration.clone(), url.clone())]),
            events,
            book: Mutex::new(self.first_webhooks(url)),
            changed: Notify::new(),
            started: Instant::now(),
            on_change: self.on_change.clone(),
        });
        let api = self.serve_api(&shared).await?;
        let inbox = match self.observe {
            Some(addr) => {
                let observer = crate::conformance::observe::Observer::start(addr)
                    .await
                    .map_err(|e| {
                        SimError::Config(format!("cannot listen for reports on {addr}: {e}"))
                    })?;
                let per_attempt = shared.vendor.manifest().per_attempt();
                let inbox = report::ObservedInbox::new(observer).per_attempt(per_attempt);
                Some(Arc::new(inbox) as Arc<dyn HandledRecords>)
            }
            None => self.inbox,
        };
        let stream = tokio::spawn(stream(shared.clone()));
        Ok(Running {
            shared,
            api,
            stream,
            inbox,
            settle: self.settle,
        })
    }

    /// The receiver's URL, once the settings are checked against each other
    /// and against what the vendor documents.
    fn checked_url(&self, rules: &DeliveryRules) -> Result<String, SimError> {
        // Bounded, so every gap and scaled delay is a duration a clock can
        // wait (1e-20 per second panicked converting the gap, and hung).
        if !(MIN_RATE..=MAX_RATE).contains(&self.rate) {
            return Err(self.config_error(format!(
                "the rate must be between {MIN_RATE:.6} (an event a day) and {MAX_RATE} events per second"
            )));
        }
        if !(MIN_TIME_SCALE..=MAX_TIME_SCALE).contains(&self.time_scale) {
            return Err(self.config_error(format!(
                "the time scale must be between {MIN_TIME_SCALE} and {MAX_TIME_SCALE}"
            )));
        }
        let Some(url) = self.url.clone() else {
            return Err(self.config_error("no receiver URL".into()));
        };
        if let Some(s) = &self.retry_strategy {
            match &rules.retry {
                Retry::Strategies { strategies, .. } if strategies.contains_key(s) => {}
                Retry::Strategies { strategies, .. } => {
                    return Err(self.config_error(format!(
                        "unknown retry strategy {s:?}: expected one of {}",
                        strategies.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
                _ => {
                    return Err(self
                        .config_error("the vendor has no retry strategies to choose from".into()));
                }
            }
        }
        if self.failure_handling.is_some() && rules.failure_handling.is_none() {
            return Err(self.config_error(
                "the vendor has no failure handling to configure (only Socotra's webhooks divert or suspend)".into(),
            ));
        }
        let v = self.vendor;
        let management = v.manifest().api.as_ref().and_then(|a| a.webhook_management);
        if self.api_addr.is_some() && management != Some(WebhookManagement::Socotra) {
            return Err(self.config_error(format!(
                "{} documents no webhook management API to simulate (manifest `api.webhook_management`)",
                v.name
            )));
        }
        if !self.default_webhook && self.api_addr.is_none() {
            return Err(self.config_error(
                "without the default webhook, one must be registered through the management API: give an API address".into(),
            ));
        }
        Ok(url)
    }

    /// The webhooks registered before the API serves: the default one, at
    /// `url`, unless turned off.
    fn first_webhooks(&self, url: String) -> Deliveries {
        let mut deliveries = Deliveries::default();
        if self.default_webhook {
            let config = Webhook {
                name: DEFAULT_WEBHOOK.into(),
                integration: self.integration.clone(),
                url,
                events: None,
                enabled: true,
                retry_strategy: self.retry_strategy.clone(),
                failure_handling: self.failure_handling.clone(),
                display_name: None,
            };
            deliveries
                .hooks
                .insert(config.name.clone(), HookState::new(config));
        }
        deliveries
    }

    /// Serves the webhook management API, when asked for: its address and task.
    async fn serve_api(
        &self,
        shared: &Arc<Shared>,
    ) -> Result<Option<(SocketAddr, tokio::task::JoinHandle<()>)>, SimError> {
        let Some(addr) = self.api_addr else {
            return Ok(None);
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Api { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Api { addr, source })?;
        let app = socotra_api::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(target: "hookforge::simulate", "the management API stopped: {e}");
            }
        });
        Ok(Some((local, task)))
    }

    /// Starts, waits until nothing is in flight, and gives the verdict.
    pub async fn run(self) -> Result<Report, SimError> {
        self.start().await?.finish().await
    }
}

impl HookState {
    fn new(config: Webhook) -> HookState {
        HookState {
            config,
            suspended_at_ms: None,
            off: None,
            consecutive_failures: 0,
            held: Vec::new(),
            diverted: Vec::new(),
        }
    }
}

/// A simulation under way.
pub struct Running {
    shared: Arc<Shared>,
    api: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
    stream: tokio::task::JoinHandle<()>,
    inbox: Option<Arc<dyn HandledRecords>>,
    settle: Duration,
}

impl Running {
    /// The management API's base URL, when served.
    pub fn api_url(&self) -> Option<String> {
        self.api.as_ref().map(|(a, _)| format!("http://{a}"))
    }

    /// Waits until every event was sent and none is in flight: each is
    /// delivered, given up, or parked (diverted, or held by a suspended webhook).
    pub async fn idle(&self) {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let book = self.shared.lock();
                if book.stream_done && book.in_flight == 0 {
                    return;
                }
            }
            changed.await;
        }
    }

    /// Like [`Running::idle`], and also nothing diverted or suspended.
    pub async fn all_final(&self) {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let book = self.shared.lock();
                let parked = book.tracks.iter().any(|t| {
                    matches!(
                        t.state,
                        State::Diverted | State::Suspended | State::InFlight
                    )
                });
                if book.stream_done && book.in_flight == 0 && !parked {
                    return;
                }
            }
            changed.await;
        }
    }

    /// The verdict as things stand: per event, what the vendor saw and
    /// (with an inbox) what the receiver handled, waiting up to the settle
    /// time for acknowledged events still being handled.
    pub async fn report(&self) -> Result<Report, SimError> {
        report::build(&self.shared, self.inbox.clone(), self.settle).await
    }

    /// Waits until idle, gives the verdict and stops the API.
    pub async fn finish(self) -> Result<Report, SimError> {
        self.idle().await;
        let r = self.report().await;
        self.stop();
        r
    }

    /// Stops sending and serving.
    pub fn stop(&self) {
        self.stream.abort();
        if let Some((_, t)) = &self.api {
            t.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    /// Whether the vendor counts this answer a success.
    fn accepts(&self, answer: &Answer) -> bool {
        matches!(answer, Answer::Status { status } if self.vendor.manifest().success.accepts(*status))
    }

    fn lock(&self) -> MutexGuard<'_, Deliveries> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn progress(&self, book: &Deliveries, track: usize) {
        self.changed.notify_waiters();
        if let Some(f) = &self.on_change {
            let t = &book.tracks[track];
            let settled = book
                .tracks
                .iter()
                .filter(|t| t.state != State::InFlight)
                .count();
            f(&Progress {
                settled,
                tracks: book.tracks.len(),
                events: self.events.len(),
                last: format!("{} → {}", self.events[t.event].event_type, t.state.as_str()),
            });
        }
    }

    /// The retry delay (vendor seconds) after `done` attempts of the
    /// current cycle, or `None` when the vendor stops retrying.
    fn next_delay(&self, hook: &Webhook, done: usize, elapsed: f64) -> Option<f64> {
        let k = done.checked_sub(1)?;
        match &self.rules.retry {
            Retry::None => None,
            Retry::Delays { delays_secs } => delays_secs.get(k).copied(),
            Retry::Backoff(backoff) => backoff.delay(k, elapsed),
            Retry::Strategies {
                strategies,
                default,
            } => {
                let name = hook.retry_strategy.as_deref().unwrap_or(default);
                strategies.get(name).and_then(|d| d.get(k)).copied()
            }
        }
    }

    /// One attempt, and the answer's `Retry-After` in seconds when the
    /// vendor honours it for that status.
    async fn send(&self, url: &str, ev: &SimEvent, attempt: u32) -> (Answer, Asked) {
        let body = crate::conformance::delivery::for_attempt(self.vendor, &ev.body, attempt);
        let (wire, headers) = match vendor_delivery(
            self.vendor,
            &body,
            self.signer.as_ref(),
            &Attempt {
                attempt,
                timestamp: None,
                event_type: Some(ev.event_type.clone()),
                event_id: ev.header_id.clone(),
            },
        ) {
            Ok(h) => h,
            Err(e) => {
                let reason = format!("cannot build the vendor's headers: {e}");
                return (Answer::Error { reason }, Asked::default());
            }
        };
        let mut req = self.client.post(url).timeout(self.timeout).body(wire);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let asked = self.asked(status, r.headers());
                // Read the answer so the connection can be reused; its
                // content does not matter to the vendor.
                match crate::conformance::target::read_answer(r).await {
                    Err(e) if e.is_timeout() => (Answer::Timeout, Asked::default()),
                    _ => (Answer::Status { status }, asked),
                }
            }
            Err(e) if e.is_timeout() => (Answer::Timeout, Asked::default()),
            Err(e) => (
                Answer::Error {
                    reason: error_chain(&e),
                },
                Asked::default(),
            ),
        }
    }
}

impl Shared {
    /// What an answer with `status` and `headers` asks of the retries,
    /// where the vendor honours it.
    fn asked(&self, status: u16, headers: &reqwest::header::HeaderMap) -> Asked {
        let retry_after = (self.rules.retry_after.iter())
            .any(|p| p.matches(status))
            .then(|| retry_after_secs(headers, std::time::SystemTime::now().into()))
            .flatten();
        let no_retry = self.rules.no_retry.as_ref().is_some_and(|n| {
            let value = headers.get(n.header.as_str()).and_then(|v| v.to_str().ok());
            value.is_some_and(|v| v.trim() == n.value)
        });
        Asked {
            retry_after,
            no_retry,
        }
    }
}

/// What an answer asked of the vendor's retries (only what the vendor
/// honours): a longer wait, or none at all.
#[derive(Clone, Copy, Debug, Default)]
struct Asked {
    /// `Retry-After`, in seconds.
    retry_after: Option<f64>,
    /// The vendor's no-retry header (Slack's `X-Slack-No-Retry: 1`).
    no_retry: bool,
}

/// `Retry-After` as seconds from `now`: delta-seconds or an HTTP date
/// (RFC 9110 §10.2.3). A value that is neither is ignored, as a vendor
/// would; a date in the past is no wait.
fn retry_after_secs(
    headers: &reqwest::header::HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<f64> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs as f64);
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .num_milliseconds()
            .max(0) as f64
            / 1000.0,
    )
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The order events go out in: each event swaps with the next with the
/// reorder probability.
fn order(n: usize, faults: &Faults, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut i = 0;
    while i + 1 < n {
        if roll(seed, Roll::Reorder, i, 0) < faults.reorder {
            order.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    order
}

/// Sends the events at the rate, each to every webhook that takes it.
async fn stream(shared: Arc<Shared>) {
    let start = tokio::time::Instant::now();
    let gap = Duration::from_secs_f64(1.0 / shared.rate);
    for (k, i) in order(shared.events.len(), &shared.faults, shared.seed)
        .into_iter()
        .enumerate()
    {
        tokio::time::sleep_until(start + gap.mul_f64(k as f64)).await;
        // Nothing registered yet (API mode): wait for a webhook.
        let tracks = loop {
            let changed = shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut book = shared.lock();
                if !book.hooks.is_empty() {
                    let ty = &shared.events[i].event_type;
                    let names: Vec<String> = book
                        .hooks
                        .values()
                        .filter(|h| h.config.events.as_ref().is_none_or(|e| e.contains(ty)))
                        .map(|h| h.config.name.clone())
                        .collect();
                    let mut ids = Vec::new();
                    for webhook in names {
                        book.tracks.push(EventDelivery {
                            event: i,
                            webhook,
                            attempts: Vec::new(),
                            state: State::InFlight,
                            detail: None,
                            cycle_start: 0,
                            vendor_elapsed: 0.0,
                        });
                        book.in_flight += 1;
                        ids.push(book.tracks.len() - 1);
                    }
                    break ids;
                }
            }
            changed.await;
        };
        for t in tracks {
            tokio::spawn(deliver(shared.clone(), t));
        }
    }
    shared.lock().stream_done = true;
    shared.changed.notify_waiters();
}

/// What happened to a track, decided under the lock.
enum Next {
    Retry(f64),
    Stop,
}

/// Delivers one event to one webhook until it succeeds, is parked, or the
/// vendor gives up. Exactly one `in_flight` is released when it returns.
/// Performs handshake `spec` against `url` as the vendor does before it
/// sends events; an error when the answer is not the one it requires.
async fn handshake(
    client: &reqwest::Client,
    url: &str,
    sender: crate::conformance::cases::Sender<'_>,
    spec: &crate::manifest::Handshake,
    secret: Option<&Secret>,
    token: Option<&Secret>,
) -> Result<(), SimError> {
    let step = crate::conformance::cases::handshake_step(sender, spec, secret, token)
        .map_err(|why| SimError::Config(format!("{}: {why}", sender.v.id)))?;
    // Every reason may quote what was sent (a transport error names the URL
    // with Meta's token in its query) or what the receiver echoed back: the
    // credentials are kept out, as `check` keeps them out of its report.
    let mut redactor = crate::conformance::report::Redactor::default();
    for s in [secret, token].into_iter().flatten() {
        redactor.add_secret(s.expose());
    }
    crate::conformance::harness::add_credentials(&mut redactor, sender.v, &step.headers);
    let failed = |reason: String| SimError::Handshake {
        vendor: sender.v.name.to_string(),
        name: spec.name.clone(),
        reason: redactor.clean(&reason),
    };
    let target = match &step.query {
        Some(q) => format!("{url}{}{q}", if url.contains('?') { '&' } else { '?' }),
        None => url.to_string(),
    };
    let mut req = client.request(step.method.clone(), target);
    if step.method != http::Method::GET {
        req = req.body(step.body.clone());
    }
    for (k, v) in &step.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| failed(format!("no answer: {e}")))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = crate::conformance::target::read_answer(resp)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let got = crate::conformance::judge::Answer::Status {
        status,
        text,
        headers,
    };
    let required = step
        .handshake
        .as_ref()
        .expect("a handshake step carries its answer");
    let verdict = crate::conformance::judge::handshake(sender.v, required, &got);
    if verdict.ok {
        tracing::info!(vendor = sender.v.id, handshake = %spec.name, "handshake passed");
        return Ok(());
    }
    Err(failed(verdict.note))
}

async fn deliver(shared: Arc<Shared>, track: usize) {
    loop {
        let Some((url, attempt, event)) = next_attempt(&shared, track) else {
            return;
        };
        let sent = send_with_faults(&shared, &url, event, attempt).await;
        let next = {
            let mut book = shared.lock();
            let book = &mut *book;
            let t = &mut book.tracks[track];
            t.attempts.push(AttemptLog {
                attempt,
                at_ms: sent.at_ms,
                answer: sent.answer.clone(),
                duplicate: false,
            });
            if let Some((at_ms, a)) = sent.duplicate {
                t.attempts.push(AttemptLog {
                    attempt,
                    at_ms,
                    answer: a,
                    duplicate: true,
                });
            }
            judge_attempt(&shared, book, track, &sent.answer, sent.asked)
        };
        match next {
            Next::Retry(d) => {
                let real = Duration::try_from_secs_f64(d / shared.time_scale)
                    .unwrap_or(Duration::from_secs(365 * 24 * 3600));
                tokio::time::sleep(real).await
            }
            Next::Stop => return,
        }
    }
}

/// The next attempt's URL, number and event, or `None` when the track is
/// settled instead (its webhook deleted, off, suspended or disabled).
fn next_attempt(shared: &Shared, track: usize) -> Option<(String, u32, usize)> {
    let mut book = shared.lock();
    let book = &mut *book;
    let t = &mut book.tracks[track];
    let Some(hook) = book.hooks.get_mut(&t.webhook) else {
        let why = Some("the webhook was deleted".into());
        settle(shared, book, track, State::GivenUp, why);
        return None;
    };
    let held = if let Some(off) = &hook.off {
        Some(format!("the webhook is {off}: the vendor switched it off"))
    } else if hook.suspended_at_ms.is_some() {
        Some("the webhook is suspended".into())
    } else if !hook.config.enabled {
        Some("the webhook is disabled".into())
    } else {
        None
    };
    if let Some(why) = held {
        hook.held.push(track);
        settle(shared, book, track, State::Suspended, Some(why));
        return None;
    }
    Some((hook.config.url.clone(), t.sent() as u32, t.event))
}

/// One attempt as the vendor saw it.
struct Attempted {
    /// When it was sent (ms since the run started).
    at_ms: u64,
    answer: Answer,
    /// What the answer asked of the retries, where the vendor honours it.
    asked: Asked,
    /// A duplicate request's time and answer (an injected fault).
    duplicate: Option<(u64, Answer)>,
}

/// Sends one attempt with the faults the seed picks for it: a delay first,
/// a duplicate request, a lost answer.
async fn send_with_faults(shared: &Shared, url: &str, event: usize, attempt: u32) -> Attempted {
    let n = attempt as usize;
    if let Some((lo, hi)) = shared.faults.delay {
        let r = roll(shared.seed, Roll::Delay, event, n);
        tokio::time::sleep(lo + (hi - lo).mul_f64(r)).await;
    }
    let ev = &shared.events[event];
    let at_ms = shared.now_ms();
    let (mut answer, asked) = shared.send(url, ev, attempt).await;
    let duplicate = if roll(shared.seed, Roll::Duplicate, event, n) < shared.faults.duplicate {
        Some((shared.now_ms(), shared.send(url, ev, attempt).await.0))
    } else {
        None
    };
    if shared.accepts(&answer)
        && roll(shared.seed, Roll::LostResponse, event, n) < shared.faults.lost_response
        && let Answer::Status { status } = answer
    {
        answer = Answer::Lost { status };
    }
    Attempted {
        at_ms,
        answer,
        asked,
        duplicate,
    }
}

/// What the vendor does after an attempt's answer: settle the track
/// (delivered, webhook switched off, out of retries) or retry after a delay.
fn judge_attempt(
    shared: &Shared,
    book: &mut Deliveries,
    track: usize,
    answer: &Answer,
    asked: Asked,
) -> Next {
    let t = &book.tracks[track];
    let done_in_cycle = t.sent() - t.cycle_start;
    let elapsed = t.vendor_elapsed;
    let Some(hook) = book.hooks.get_mut(&t.webhook) else {
        let why = Some("the webhook was deleted".into());
        settle(shared, book, track, State::GivenUp, why);
        return Next::Stop;
    };
    if shared.accepts(answer) {
        hook.consecutive_failures = 0;
        settle(shared, book, track, State::Delivered, None);
        return Next::Stop;
    }
    hook.consecutive_failures += 1;
    if let Some(d) = &shared.rules.disable_after
        && hook.off.is_none()
        && hook.consecutive_failures >= d.consecutive_failures
    {
        hook.off = Some(d.state.clone());
    }
    if let Some(off) = &hook.off {
        let why = format!(
            "the webhook switched to {off} after {} consecutive failures",
            hook.consecutive_failures
        );
        settle(shared, book, track, State::GivenUp, Some(why));
        return Next::Stop;
    }
    // A status the vendor documents as a refusal is final: it does not
    // retry it (HubSpot's 400, 401, 403, 404, 405). Before, the simulator
    // retried it, and a receiver refusing a first attempt passed.
    let success = &shared.vendor.manifest().success;
    if let (Some(_), Answer::Status { status }) = (&success.refused, answer)
        && success.refuses(*status)
    {
        let why = format!("refused with {status}, which the vendor does not retry");
        settle(shared, book, track, State::GivenUp, Some(why));
        return Next::Stop;
    }
    if asked.no_retry {
        let why = "the answer asked for no retries".to_string();
        settle(shared, book, track, State::GivenUp, Some(why));
        return Next::Stop;
    }
    match shared.next_delay(&hook.config, done_in_cycle, elapsed) {
        Some(d) => {
            // The schedule's delay, or longer when the answer asked for it,
            // but not past the vendor's whole retry window (a Retry-After
            // of 2^64 s is a receiver's bug, not a plan).
            let window = shared.rules.retry.horizon_secs().max(d);
            let d = d.max(asked.retry_after.unwrap_or(0.0).min(window));
            book.tracks[track].vendor_elapsed += d;
            Next::Retry(d)
        }
        None => {
            out_of_retries(shared, book, track, answer, done_in_cycle);
            Next::Stop
        }
    }
}

/// The last retry failed: the webhook's failure handling (or the vendor's
/// default) diverts the delivery, suspends the webhook, or gives up.
fn out_of_retries(
    shared: &Shared,
    book: &mut Deliveries,
    track: usize,
    answer: &Answer,
    done_in_cycle: usize,
) {
    let webhook = book.tracks[track].webhook.clone();
    let Some(hook) = book.hooks.get_mut(&webhook) else {
        return;
    };
    let fh = hook
        .config
        .failure_handling
        .clone()
        .or_else(|| shared.rules.failure_handling.clone());
    let acts = fh.as_ref().is_some_and(|f| match answer {
        Answer::Status { status } => f.acts_on_status(*status),
        // No answer the vendor saw: a timeout to it.
        Answer::Timeout | Answer::Lost { .. } | Answer::Error { .. } => f.act_on_timeout,
    });
    let tries = format!("after {done_in_cycle} attempt(s), last answer {answer}");
    let (state, why) = match fh.as_ref().map(|f| f.mode) {
        Some(FailureMode::Divert) if acts => {
            hook.diverted.push(track);
            (State::Diverted, format!("diverted {tries}"))
        }
        Some(FailureMode::Suspend) if acts => {
            hook.suspended_at_ms = Some(crate::util::now_ms());
            hook.held.push(track);
            (State::Suspended, format!("suspended the webhook {tries}"))
        }
        _ => (State::GivenUp, format!("gave up {tries}")),
    };
    settle(shared, book, track, state, Some(why));
}

/// Puts a track in a state that ends its delivery task.
fn settle(
    shared: &Shared,
    book: &mut Deliveries,
    track: usize,
    state: State,
    detail: Option<String>,
) {
    let t = &mut book.tracks[track];
    t.state = state;
    t.detail = detail;
    book.in_flight -= 1;
    shared.progress(book, track);
}

/// Starts a new delivery cycle for parked tracks (resend, unsuspend), one
/// after the other in their order.
fn redeliver(shared: &Arc<Shared>, book: &mut Deliveries, tracks: Vec<usize>) {
    for &t in &tracks {
        let tr = &mut book.tracks[t];
        tr.state = State::InFlight;
        tr.detail = None;
        tr.cycle_start = tr.sent();
        tr.vendor_elapsed = 0.0;
        book.in_flight += 1;
    }
    shared.changed.notify_waiters();
    let shared = shared.clone();
    tokio::spawn(async move {
        for t in tracks {
            deliver(shared.clone(), t).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_that_broke_is_not_called_no_connection() {
        let refused =
            "error sending request: client error (Connect): tcp connect error: Connection refused";
        let closed = "error sending request: connection closed before message completed";
        let shown = |r: &str| Answer::Error { reason: r.into() }.to_string();
        assert_eq!(shown(refused), "no connection");
        assert_eq!(shown(closed), "connection broke");
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_nothing_else() {
        use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T08:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let at = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            retry_after_secs(&h, now)
        };
        assert_eq!(at("120"), Some(120.0));
        assert_eq!(at(" 5 "), Some(5.0));
        assert_eq!(at("Sun, 06 Dec 2026 08:01:30 GMT"), Some(90.0));
        assert_eq!(at("Sun, 06 Dec 2026 07:00:00 GMT"), Some(0.0));
        assert_eq!(at("-3"), None);
        assert_eq!(at("soon"), None);
        assert_eq!(retry_after_secs(&HeaderMap::new(), now), None);
    }

    #[test]
    fn reordering_swaps_neighbours_only_and_is_seeded() {
        let f = Faults {
            reorder: 0.5,
            ..Faults::default()
        };
        let a = order(200, &f, 7);
        assert_eq!(a, order(200, &f, 7));
        assert_ne!(a, order(200, &f, 8));
        assert!(a.iter().enumerate().all(|(i, &e)| i.abs_diff(e) <= 1));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..200).collect::<Vec<_>>());
        assert_eq!(
            order(10, &Faults::default(), 7),
            (0..10).collect::<Vec<_>>()
        );
    }
}
