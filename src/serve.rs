//! `hookforge serve`: the reference receiver. One route per vendor
//! (`/hooks/<vendor>`), each verifying, parsing and storing deliveries in the
//! inbox, whose worker logs each typed event.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::VendorSpec;
use crate::auth::Secret;
use crate::inbox::{Inbox, MemoryStore, SqliteStore, Store};
use crate::receiver::{DEFAULT_BODY_LIMIT, LogHandler, Receiver};

/// What to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub vendors: Vec<&'static VendorSpec>,
    /// Secrets per vendor id (several for rotation).
    pub secrets: BTreeMap<String, Vec<Secret>>,
    /// HMAC format overrides per vendor id.
    pub hmac_formats: BTreeMap<String, crate::auth::HmacFormat>,
    /// SQLite inbox; in memory when `None`.
    pub db: Option<PathBuf>,
    /// Run the worker (handle stored deliveries). Off: store only.
    pub process: bool,
    pub body_limit: usize,
}

impl ServeConfig {
    pub fn new(addr: SocketAddr) -> ServeConfig {
        ServeConfig {
            addr,
            vendors: crate::vendors().to_vec(),
            secrets: BTreeMap::new(),
            hmac_formats: BTreeMap::new(),
            db: None,
            process: true,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{vendor}: {message}")]
    Config { vendor: String, message: String },
    #[error("{0}")]
    Store(#[from] crate::inbox::StoreError),
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
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The routes: `/hooks/<vendor>` per vendor and `GET /health`.
pub fn router(cfg: &ServeConfig, inbox: &Inbox) -> Result<Router, ServeError> {
    let mut app = Router::new().route(
        "/health",
        get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    for v in &cfg.vendors {
        let secrets = cfg.secrets.get(v.id).cloned().unwrap_or_default();
        let mut b = Receiver::builder(v)
            .inbox(inbox.clone())
            .body_limit(cfg.body_limit);
        if let Some(f) = cfg.hmac_formats.get(v.id) {
            b = b.hmac_format(*f);
        }
        for s in secrets {
            b = b.secret(s);
        }
        let receiver = b.build().map_err(|e| ServeError::Config {
            vendor: v.id.to_string(),
            message: format!("{e} (pass --secret {}=SECRET)", v.id),
        })?;
        inbox.handle(LogHandler(v));
        app = app.merge(receiver.router());
    }
    Ok(app)
}

/// Binds and serves in the background.
pub async fn start(cfg: ServeConfig) -> Result<Server, ServeError> {
    let (store, store_description): (Arc<dyn Store>, String) = match &cfg.db {
        Some(path) => (
            Arc::new(SqliteStore::open(path)?),
            format!("SQLite inbox {}", path.display()),
        ),
        None => (
            Arc::new(MemoryStore::new()),
            "in-memory inbox (deliveries are lost when the process exits; pass --db PATH to keep them)".into(),
        ),
    };
    let inbox = Inbox::new(store);
    let app = router(&cfg, &inbox)?;
    let listener = tokio::net::TcpListener::bind(cfg.addr)
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
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Server {
        addr,
        store_description,
        inbox,
        task,
    })
}
