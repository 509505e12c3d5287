//! `hookforge serve`: the reference receiver. One route per vendor
//! (`/hooks/<vendor>`), each verifying, parsing and storing deliveries in the
//! inbox, whose worker logs each typed event; and [`serve_router`], the
//! hardened HTTP/1 server it runs on (usable with any axum router).

/// Log lines keep the target they had when this was `hookforge::receive::serve`.
const LOG: &str = "hookforge::receive::serve";

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::VendorSpec;
use crate::auth::Secret;
use crate::inbox::{Inbox, RetryPolicy, WorkerConfig};
use crate::manifest::Auth;
use crate::receiver::{DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, LogHandler, OnMisfit, Receiver};
#[cfg(feature = "sqlite")]
use crate::store::SqliteStore;
use crate::store::{MemoryStore, Store};

/// Connection limits of [`serve_router`]: a client that holds a connection
/// without finishing its request is cut off, and connections past the cap
/// wait in the listen backlog instead of taking memory and tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time allowed for a request's headers to arrive (slowloris).
    pub header_read_timeout: Duration,
    /// A connection with no bytes read or written for this long is closed
    /// (idle keep-alive, or a stalled client).
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once per client IP address (`None`: no cap).
    /// A client past it is answered 503 and closed, so one address cannot
    /// take every slot. Behind a proxy every client has the proxy's
    /// address: leave it off there.
    pub max_connections_per_ip: Option<usize>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_connections_per_ip: None,
        }
    }
}

/// What to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub vendors: Vec<&'static VendorSpec>,
    /// Secrets per vendor id (several for rotation).
    pub secrets: BTreeMap<String, Vec<Secret>>,
    /// HMAC format overrides per vendor id.
    pub hmac_formats: BTreeMap<String, crate::auth::HmacFormat>,
    /// Per vendor id, the public URL it posts to (signatures over `{url}`).
    pub endpoints: BTreeMap<String, String>,
    /// Per vendor id, the token its handshakes' `token_query` must equal.
    pub handshake_tokens: BTreeMap<String, Secret>,
    /// Per vendor id, hosts trusted for keys its deliveries point at, beyond
    /// the manifest's (a local stand-in for the vendor's certificate host).
    pub key_hosts: BTreeMap<String, Vec<String>>,
    /// Per vendor id, values its signature covers that deliveries do not
    /// carry (`{setting:NAME}`: PayPal's `webhook_id`).
    pub settings: BTreeMap<String, crate::auth::Settings>,
    /// Vendors that document no authentication and may be served without a
    /// shared secret (anyone who knows the URL can post to them).
    pub allow_unsigned: Vec<String>,
    /// Vendors that give their secret in a handshake (Asana) whose further
    /// handshakes may add a secret while the receiver has one.
    pub accept_new_secrets: Vec<String>,
    /// SQLite inbox; in memory when `None` (and no `database_url`).
    pub db: Option<PathBuf>,
    /// When the SQLite inbox's commits reach the disk (default: each, before
    /// the 2xx).
    #[cfg(feature = "sqlite")]
    pub sync: crate::store::SyncMode,
    /// PostgreSQL inbox, shared with other processes (feature `postgres`).
    pub database_url: Option<crate::store::DatabaseUrl>,
    /// How long a claim on a PostgreSQL delivery lasts before another
    /// process may take it over (default: the handler timeout + 30 s).
    pub lease: Option<Duration>,
    /// Deliveries the in-memory inbox holds before answering 503.
    pub memory_capacity: usize,
    /// Run the worker (handle stored deliveries). Off: store only.
    pub process: bool,
    pub body_limit: usize,
    pub body_timeout: Duration,
    pub on_misfit: OnMisfit,
    pub limits: ServerLimits,
    pub worker: WorkerConfig,
    pub retry: RetryPolicy,
    /// Delete `done` deliveries older than this.
    pub retain: Option<Duration>,
}

impl ServeConfig {
    pub fn new(addr: SocketAddr) -> ServeConfig {
        ServeConfig {
            addr,
            vendors: crate::vendors().to_vec(),
            secrets: BTreeMap::new(),
            hmac_formats: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            handshake_tokens: BTreeMap::new(),
            key_hosts: BTreeMap::new(),
            settings: BTreeMap::new(),
            allow_unsigned: Vec::new(),
            accept_new_secrets: Vec::new(),
            db: None,
            #[cfg(feature = "sqlite")]
            sync: Default::default(),
            database_url: None,
            lease: None,
            memory_capacity: MemoryStore::DEFAULT_CAPACITY,
            process: true,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            on_misfit: OnMisfit::default(),
            limits: ServerLimits::default(),
            worker: WorkerConfig::default(),
            retry: RetryPolicy::default(),
            retain: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{vendor}: {message}")]
    Config { vendor: String, message: String },
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// A database path was given to a build without the `sqlite` feature.
    #[error("cannot open {path}: hookforge was built without the `sqlite` feature")]
    NoDatabase { path: PathBuf },
    /// A database URL was given to a build without the `postgres` feature,
    /// or together with a SQLite path.
    #[error("{0}")]
    Database(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    /// How deliveries are stored, for the startup line.
    pub store_description: String,
    pub inbox: Inbox,
    /// Vendors served, with how each is authenticated.
    pub served: Vec<(&'static str, String)>,
    /// Vendors asked for but not served (404), with why.
    pub not_served: Vec<(&'static str, String)>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Tells `task` to stop accepting and finish its requests ([`Server::stop`]).
    stop: tokio::sync::watch::Sender<bool>,
}

/// What was still running when [`Server::stop`]'s grace ran out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unfinished {
    /// Connections with a request in flight, closed unanswered: the vendor
    /// retries them (anything already committed is a duplicate then).
    pub connections: bool,
    /// Handler calls still running; their deliveries stay `processing`
    /// and are handled again after the next start.
    pub handlers: usize,
}

impl Server {
    /// Stops as a deploy needs: no new connection is accepted, every
    /// request in flight is read, committed and answered, idle connections
    /// close, the worker claims nothing more and its running handlers get
    /// to finish, all within `grace`. Killing the process instead cuts the
    /// requests in flight, and the vendor counts each as a failed delivery.
    pub async fn stop(mut self, grace: Duration) -> Unfinished {
        let deadline = tokio::time::Instant::now() + grace;
        let _ = self.stop.send(true);
        let connections = tokio::time::timeout_at(deadline, &mut self.task)
            .await
            .is_err();
        if connections {
            self.task.abort();
        }
        let handlers = self.inbox.drain(deadline).await;
        Unfinished {
            connections,
            handlers,
        }
    }
}

/// Each handshake token is for a served vendor with a handshake that checks
/// one, and is not empty (a handshake with an empty token is one anyone
/// can pass). Before, either was taken and ignored or answered.
fn check_handshake_tokens(cfg: &ServeConfig) -> Result<(), ServeError> {
    for (id, token) in &cfg.handshake_tokens {
        let why = match cfg.vendors.iter().find(|v| v.id == id.as_str()) {
            None => "a handshake token was given for a vendor not served".to_string(),
            Some(v)
                if !v
                    .manifest()
                    .handshakes
                    .iter()
                    .any(|h| h.token_query.is_some()) =>
            {
                format!("{} has no handshake that checks a token", v.name)
            }
            Some(_) if token.expose().is_empty() => {
                "the handshake token is empty, which anyone could send".to_string()
            }
            Some(_) => continue,
        };
        return Err(ServeError::Config {
            vendor: id.clone(),
            message: why,
        });
    }
    Ok(())
}

/// How one vendor would be authenticated under `cfg`, or why it is not served.
fn auth_plan(cfg: &ServeConfig, v: &VendorSpec) -> Result<String, String> {
    let n = cfg.secrets.get(v.id).map_or(0, Vec::len);
    let rotation = if n > 1 {
        format!(", {n} secrets")
    } else {
        String::new()
    };
    match v.manifest().auth {
        Auth::None { .. } if n > 0 => Ok(format!(
            "shared secret in {}{rotation}",
            crate::auth::DEFAULT_SHARED_SECRET_HEADER
        )),
        Auth::None { .. } if cfg.allow_unsigned.iter().any(|a| a == v.id) => {
            Ok("UNSIGNED: anyone who knows the URL can post".into())
        }
        Auth::None { .. } => Err(format!(
            "its docs give no authentication: configure a shared secret for the {} header, or allow it unsigned explicitly",
            crate::auth::DEFAULT_SHARED_SECRET_HEADER,
        )),
        Auth::Bearer { .. } => Ok(format!("bearer{rotation}")),
        Auth::Hmac { .. } => Ok(format!("hmac{rotation}")),
        Auth::StandardWebhooks { .. } => Ok(format!("standard-webhooks{rotation}")),
        Auth::Signature(ref s) if s.is_static() => {
            Ok(format!("static secret in {}{rotation}", s.header))
        }
        Auth::Signature(ref s) => Ok(match &s.signature_pointer {
            Some(p) => format!("signature in body {p}{rotation}"),
            None => format!("signature in {}{rotation}", s.header),
        }),
        Auth::Jwt(ref j) => Ok(format!("JWT in {}{rotation}", j.header)),
    }
}

type Plan = (
    Router,
    Vec<(&'static str, String)>,
    Vec<(&'static str, String)>,
);

/// `GET /health`: 200 while the inbox takes deliveries, else 503 and why.
async fn health(store: Arc<dyn crate::store::Store>) -> axum::response::Response {
    bounded_health(move || store.health(), HEALTH_WAIT).await
}

/// `check`'s answer as `/health` gives it; a check that has not answered
/// within `wait` (a database that does not answer) is unavailable.
async fn bounded_health(
    check: impl FnOnce() -> crate::store::Result<()> + Send + 'static,
    wait: std::time::Duration,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let check = tokio::task::spawn_blocking(check);
    match tokio::time::timeout(wait, check).await {
        Ok(Ok(Ok(()))) => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Ok(Ok(Err(e))) => unavailable(e.to_string()),
        Ok(Err(e)) => unavailable(e.to_string()),
        Err(_) => unavailable(format!(
            "the inbox did not answer within {} ms",
            wait.as_millis()
        )),
    }
}

/// How long `GET /health` waits for the inbox.
const HEALTH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn unavailable(reason: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({"status": "unavailable", "reason": reason});
    (http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

/// The routes: `/hooks/<vendor>` per served vendor and `GET /health`, with
/// the vendors served and those left out (and why).
pub fn router(cfg: &ServeConfig, inbox: &Inbox) -> Result<Plan, ServeError> {
    let store = inbox.store().clone();
    let mut app = Router::new().route("/health", get(move || health(store.clone())));
    for id in &cfg.allow_unsigned {
        if let Some(v) = crate::vendor(id)
            && !matches!(v.manifest().auth, Auth::None { .. })
        {
            // Silently ignoring it would suggest signing can be switched off.
            return Err(ServeError::Config {
                vendor: v.id.into(),
                message: "it signs its deliveries, so it cannot be served unsigned".into(),
            });
        }
    }
    check_handshake_tokens(cfg)?;
    let (mut served, mut not_served) = (Vec::new(), Vec::new());
    for v in &cfg.vendors {
        let how = match auth_plan(cfg, v) {
            Ok(how) => how,
            Err(why) => {
                not_served.push((v.id, why));
                continue;
            }
        };
        let secrets = cfg.secrets.get(v.id).cloned().unwrap_or_default();
        let mut b = Receiver::builder(v)
            .inbox(inbox.clone())
            .body_limit(cfg.body_limit)
            .body_timeout(cfg.body_timeout)
            .on_misfit(cfg.on_misfit);
        if let Some(f) = cfg.hmac_formats.get(v.id) {
            b = b.hmac_format(*f);
        }
        if let Some(url) = cfg.endpoints.get(v.id) {
            b = b.endpoint(url.clone());
        }
        if let Some(token) = cfg.handshake_tokens.get(v.id) {
            b = b.handshake_token(token.clone());
        }
        for host in cfg.key_hosts.get(v.id).into_iter().flatten() {
            b = b.key_host(host.clone());
        }
        for (name, value) in cfg.settings.get(v.id).into_iter().flatten() {
            b = b.setting(name.clone(), value.clone());
        }
        if cfg.allow_unsigned.iter().any(|a| a == v.id) {
            b = b.allow_unsigned();
        }
        b = b.accept_new_secrets(cfg.accept_new_secrets.iter().any(|a| a == v.id));
        for s in secrets {
            b = b.secret(s);
        }
        let receiver = b.build().map_err(|e| ServeError::Config {
            vendor: v.id.to_string(),
            message: e.to_string(),
        })?;
        if how.starts_with("UNSIGNED") {
            tracing::warn!(target: LOG,
                vendor = v.id,
                "serving without authentication (allowed unsigned): anyone who knows the URL can post deliveries"
            );
        }
        served.push((v.id, how));
        inbox.handle(LogHandler(v));
        app = app.merge(receiver.router());
    }
    // axum's own 404 has no body: name the endpoints this server has.
    let paths: Vec<String> = served
        .iter()
        .map(|(id, _)| format!("/hooks/{id}"))
        .collect();
    let app = app.fallback(move |uri: axum::http::Uri| async move {
        let error = format!(
            "no endpoint at {}: this server receives at {} (and answers GET /health)",
            crate::util::Shown(uri.path()),
            if paths.is_empty() {
                "no path".to_string()
            } else {
                paths.join(", ")
            }
        );
        (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "error": error })),
        )
    });
    Ok((app, served, not_served))
}

/// The longest a served vendor may send a delivery again after its first
/// attempt (its manifest's delivery rules, assumed ones included), plus its
/// answer budget: how long a purged delivery's key must stay.
pub fn retry_horizon(vendors: &[&'static VendorSpec]) -> Duration {
    vendors
        .iter()
        .map(|v| {
            let r = v.manifest().delivery_rules();
            Duration::try_from_secs_f64(r.retry.horizon_secs() + r.timeout_secs)
                .unwrap_or(Duration::MAX)
        })
        .max()
        .unwrap_or(Duration::ZERO)
}

/// Binds and serves in the background.
pub async fn start(cfg: ServeConfig) -> Result<Server, ServeError> {
    if let (Some(_), Some(_)) = (&cfg.db, &cfg.database_url) {
        return Err(ServeError::Database(
            "give either a SQLite inbox (--db) or a PostgreSQL one (--database-url), not both"
                .into(),
        ));
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = &cfg.database_url {
        // Leases outlast a handler call, so only a dead process's work is
        // taken over by another.
        let lease = cfg
            .lease
            .unwrap_or(cfg.worker.handler_timeout + Duration::from_secs(30));
        if lease <= cfg.worker.handler_timeout {
            return Err(ServeError::Database(format!(
                "the lease ({} s) must be longer than the handler timeout ({} s), or a slow handler's delivery would be taken over while it runs",
                lease.as_secs_f64(),
                cfg.worker.handler_timeout.as_secs_f64()
            )));
        }
        let url = url.clone();
        let described = url.to_string();
        let store = tokio::task::spawn_blocking(move || {
            crate::store::PostgresStore::connect(url.expose(), lease)
        })
        .await
        .map_err(crate::store::StoreError::from)??;
        return start_with(
            cfg,
            Arc::new(store),
            format!("PostgreSQL inbox {described}"),
        )
        .await;
    }
    #[cfg(not(feature = "postgres"))]
    if cfg.database_url.is_some() {
        return Err(ServeError::Database(
            "hookforge was built without the `postgres` feature".into(),
        ));
    }
    let (store, store_description): (Arc<dyn Store>, String) = match &cfg.db {
        #[cfg(feature = "sqlite")]
        Some(path) => (
            Arc::new(SqliteStore::open_with(
                path,
                &crate::store::SqliteOptions {
                    sync: cfg.sync,
                    vfs: None,
                },
            )?),
            match cfg.sync {
                crate::store::SyncMode::Full => {
                    format!("SQLite inbox {}", path.display())
                }
                crate::store::SyncMode::Normal => format!(
                    "SQLite inbox {} (--sync normal: a power cut can lose acknowledged deliveries)",
                    path.display()
                ),
            },
        ),
        #[cfg(not(feature = "sqlite"))]
        Some(path) => {
            return Err(ServeError::NoDatabase {
                path: path.to_path_buf(),
            });
        }
        None => (
            Arc::new(MemoryStore::with_capacity(cfg.memory_capacity)),
            format!(
                "in-memory inbox of at most {} deliveries (lost when the process exits; configure a database to keep them)",
                cfg.memory_capacity
            ),
        ),
    };
    start_with(cfg, store, store_description).await
}

async fn start_with(
    cfg: ServeConfig,
    store: Arc<dyn Store>,
    store_description: String,
) -> Result<Server, ServeError> {
    let inbox = Inbox::new(store)
        .with_worker(cfg.worker)
        .with_retry(cfg.retry);
    let (app, served, not_served) = router(&cfg, &inbox)?;
    let listener = TcpListener::bind(cfg.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: cfg.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: cfg.addr,
        source,
    })?;
    if cfg.process {
        inbox.spawn_worker();
    }
    if let Some(retain) = cfg.retain {
        inbox.spawn_retention(retain, retry_horizon(&cfg.vendors));
    }
    let limits = cfg.limits;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(serve_router_until(listener, app, limits, stopping));
    Ok(Server {
        addr,
        store_description,
        inbox,
        served,
        not_served,
        task,
        stop,
    })
}

/// Serves `app` over HTTP/1.1 on `listener` with [`ServerLimits`]: a header
/// read timeout, an idle timeout and a cap on concurrent connections
/// (`axum::serve` has none of these, so a few slow sockets could hold it).
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
) -> std::io::Result<()> {
    let (_never, stopping) = tokio::sync::watch::channel(false);
    serve_router_until(listener, app, limits, stopping).await
}

/// [`serve_router`] until `stopping` turns true: then it stops accepting,
/// lets every connection finish the request it is in, and returns once
/// all have closed.
pub async fn serve_router_until(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let per_ip = PerIp::default();
    // Refusals linger a moment (see `refuse_busy`) on slots of their own: on
    // the connection slots, one address opening connections fast would
    // fill them all with its own refusals.
    let refusals = Arc::new(tokio::sync::Semaphore::new(REFUSALS_LINGERING));
    // Owned here: when this task is aborted (a stop's grace ran out), the
    // set is dropped and every connection still open is closed with it.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            biased;
            () = stop_requested(&mut stopping) => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        let Some((stream, peer, permit)) = accepted else {
            continue;
        };
        let held = match limits.max_connections_per_ip {
            None => None,
            Some(cap) => match per_ip.enter(peer.ip(), cap) {
                Some(held) => Some(held),
                None => {
                    drop(permit);
                    // Past the lingering refusals' own cap, the socket just
                    // closes (the client may see a reset instead of a 503).
                    if let Ok(lingering) = refusals.clone().try_acquire_owned() {
                        tokio::spawn(refuse_busy(stream, peer, lingering));
                    }
                    continue;
                }
            },
        };
        let app = app.clone();
        let stopping = stopping.clone();
        connections.spawn(async move {
            let _permit = permit;
            let _held = held;
            serve_connection(stream, app, limits, stopping).await;
        });
    }
    // New connections are refused from here; the vendor retries them.
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Returns once a stop is asked for; never if the sender is gone (a
/// `Server` taken apart keeps serving).
async fn stop_requested(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The next connection, with its slot; `None` after a failed accept.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<tokio::sync::Semaphore>,
) -> Option<(TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
    let permit = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    match listener.accept().await {
        Ok((stream, peer)) => {
            let _ = stream.set_nodelay(true);
            Some((stream, peer, permit))
        }
        Err(e) => {
            // Out of file descriptors and the like: wait, don't spin or die.
            tracing::error!(target: LOG, error = %e, "cannot accept a connection; retrying");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Open connections per client address, for
/// [`ServerLimits::max_connections_per_ip`].
#[derive(Clone, Default)]
struct PerIp(Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>);

/// One connection counted against its address until dropped.
struct HeldByIp(PerIp, std::net::IpAddr);

impl PerIp {
    fn enter(&self, ip: std::net::IpAddr, cap: usize) -> Option<HeldByIp> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= cap.max(1) {
            return None;
        }
        *n += 1;
        Some(HeldByIp(self.clone(), ip))
    }
}

impl Drop for HeldByIp {
    fn drop(&mut self) {
        let mut open = (self.0).0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// Tells a client past its address's cap to come back later (if its socket
/// takes the answer at once: never waits on it), then closes. The close
/// lingers up to half a second, reading and dropping what the client sent,
/// since closing a socket with unread input resets it and the client may
/// lose the answer. It holds one of [`REFUSALS_LINGERING`] slots meanwhile
/// (bounded file descriptors), never a connection slot.
/// Refused connections closed gently at once.
const REFUSALS_LINGERING: usize = 64;

async fn refuse_busy(
    mut stream: TcpStream,
    peer: SocketAddr,
    _slot: tokio::sync::OwnedSemaphorePermit,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    tracing::debug!(target: LOG, peer = %peer.ip(), "connection refused: too many from this address");
    let _ = stream.try_write(BUSY);
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: ServerLimits,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let started = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let io = hyper_util::rt::TokioIo::new(Watched {
        inner: stream,
        started,
        last: last.clone(),
    });
    let service = hyper_util::service::TowerToHyperService::new(app);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => Some(r),
        // Stopping: the request in flight is finished and answered, then the
        // connection closes (at once when it is idle); a peer that moves no
        // byte for an idle period meanwhile is dropped, as below.
        () = stop_requested(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            let since = started.elapsed();
            tokio::select! {
                r = conn.as_mut() => Some(r),
                () = quiet_for(started, &last, since, limits.idle_timeout) => None,
            }
        }
        () = quiet_for(started, &last, Duration::ZERO, limits.idle_timeout) => {
            // Finishes a request in flight, then closes; but a peer that
            // moves no byte for another idle period (it stopped reading its
            // answers) is dropped, which closes the socket and frees the slot.
            conn.as_mut().graceful_shutdown();
            let since = started.elapsed();
            tokio::select! {
                r = conn.as_mut() => Some(r),
                () = quiet_for(started, &last, since, limits.idle_timeout) => None,
            }
        }
    };
    match result {
        // Refused before any route saw it (hyper answered 400, or 431 past
        // 100 header lines): without this line an operator sees nothing.
        Some(Err(e)) if e.is_parse() => {
            tracing::warn!(target: LOG, error = %e, "refused a request that is not valid HTTP/1.1 (answered 400, or 431 for more than 100 header lines or a head over 400 KB)");
        }
        Some(Err(e)) => tracing::debug!(target: LOG, error = %e, "connection ended with an error"),
        None => tracing::debug!(target: LOG, "connection dropped: no progress while closing"),
        Some(Ok(())) => {}
    }
}

/// Returns once no byte has moved on the connection for `limit`, counting
/// from `floor` (time since `started`) at the earliest.
async fn quiet_for(started: Instant, last: &AtomicU64, floor: Duration, limit: Duration) {
    loop {
        let moved = Duration::from_millis(last.load(Ordering::Relaxed)).max(floor);
        let quiet = started.elapsed().saturating_sub(moved);
        if quiet >= limit {
            return;
        }
        tokio::time::sleep(limit - quiet).await;
    }
}

/// A stream that records when it last moved bytes, for the idle timeout.
struct Watched {
    inner: TcpStream,
    started: Instant,
    last: Arc<AtomicU64>,
}

impl Watched {
    fn touch(&self) {
        self.last
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.touch();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.touch();
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A health check that does not come back (a connect to a host that
    /// drops packets) is answered 503 at the bound, not waited for.
    #[tokio::test]
    async fn a_health_check_that_hangs_is_unavailable_at_the_bound() {
        let hang = || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            Ok(())
        };
        // The check answers ok, late: a 503 is the bound's.
        let answer = bounded_health(hang, std::time::Duration::from_millis(50)).await;
        assert_eq!(answer.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(
            String::from_utf8_lossy(&body).contains("did not answer within 50 ms"),
            "{body:?}"
        );
        let ok = bounded_health(|| Ok(()), std::time::Duration::from_secs(5)).await;
        assert_eq!(ok.status(), http::StatusCode::OK);
    }
}
