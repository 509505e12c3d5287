//! The durable inbox: every verified delivery is stored *before* the vendor
//! gets its 2xx, deduplicated by (vendor, event id) or by a hash of the body
//! when the vendor sends no id, and handed to the handler by a worker with
//! at-least-once semantics. Failures are retried with backoff and stay
//! visible (`hookforge inbox list`).
//!
//! The store is a small trait: SQLite (embedded, the default) and memory
//! (tests, `hookforge serve` without `--db`) implement it; a server database
//! can follow.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::receiver::RawHandler;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The idempotency key of a delivery: the vendor's event id, or a hash of
/// the body for vendors that send none.
pub fn dedupe_key(event_id: Option<&str>, body: &[u8]) -> String {
    match event_id {
        Some(id) => format!("id:{id}"),
        None => {
            let h = Sha256::digest(body);
            let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
    }
}

/// A verified delivery to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub vendor: String,
    pub event_type: String,
    pub event_id: Option<String>,
    pub dedupe_key: String,
    pub body: Vec<u8>,
    /// The headers that matter for reprocessing (never authentication headers).
    pub headers: Vec<(String, String)>,
    pub received_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for the worker (first time, or for a retry).
    Pending,
    /// Claimed by a worker; returned to pending if the process dies.
    Processing,
    /// Handled successfully.
    Done,
    /// Gave up after the last retry; `replay` requeues it.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Done => "done",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "pending" => Status::Pending,
            "processing" => Status::Processing,
            "done" => Status::Done,
            "failed" => Status::Failed,
            _ => return None,
        })
    }
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredDelivery {
    pub id: i64,
    pub vendor: String,
    pub event_type: String,
    pub event_id: Option<String>,
    pub dedupe_key: String,
    #[serde(skip)]
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    pub received_at_ms: i64,
    pub status: Status,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at_ms: i64,
    pub processed_at_ms: Option<i64>,
    /// How many more times the same delivery arrived.
    pub duplicates: u32,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New(i64),
    /// Already stored (id, its status).
    Duplicate(i64, Status),
}

#[derive(Debug, thiserror::Error)]
#[error("inbox store: {0}")]
pub struct StoreError(pub String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// Where deliveries are kept. Methods are blocking and short; async callers
/// run them on the blocking pool.
pub trait Store: Send + Sync + 'static {
    /// Stores a delivery durably, or records that it is a duplicate.
    fn insert(&self, d: &NewDelivery) -> Result<Inserted, StoreError>;
    /// Claims up to `limit` pending deliveries due at `now_ms` (marks them processing).
    fn claim(&self, now_ms: i64, limit: usize) -> Result<Vec<StoredDelivery>, StoreError>;
    fn complete(&self, id: i64, now_ms: i64) -> Result<(), StoreError>;
    /// Records a failure: retry at `retry_at_ms`, or give up when `None`.
    fn fail(&self, id: i64, error: &str, retry_at_ms: Option<i64>) -> Result<(), StoreError>;
    /// Returns deliveries left processing by a process that died to pending.
    fn recover(&self) -> Result<usize, StoreError>;
    fn list(&self, status: Option<Status>, limit: usize)
    -> Result<Vec<StoredDelivery>, StoreError>;
    fn get(&self, id: i64) -> Result<Option<StoredDelivery>, StoreError>;
    /// Makes a delivery pending and due now. Returns false if there is none.
    fn requeue(&self, id: i64) -> Result<bool, StoreError>;
    /// The soonest `next_attempt_at` of pending deliveries.
    fn next_due(&self) -> Result<Option<i64>, StoreError>;
}

/// SQLite, embedded. WAL with `synchronous=NORMAL`: a committed insert
/// survives the process being killed (what the 2xx promises); surviving a
/// power cut needs [`SqliteStore::open_full_sync`].
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    vendor TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_id TEXT,
    dedupe_key TEXT NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at INTEGER NOT NULL,
    processed_at INTEGER,
    duplicates INTEGER NOT NULL DEFAULT 0,
    UNIQUE (vendor, dedupe_key)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
";

const COLUMNS: &str = "id, vendor, event_type, event_id, dedupe_key, body, headers, received_at, \
                       status, attempts, last_error, next_attempt_at, processed_at, duplicates";

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, "NORMAL")
    }

    /// Like [`SqliteStore::open`], syncing every commit to disk.
    pub fn open_full_sync(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, "FULL")
    }

    fn open_with(path: &Path, sync: &str) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", sync)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent:
        // every write is one statement or one transaction.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn row_to_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDelivery> {
    let headers: String = r.get(6)?;
    let status: String = r.get(8)?;
    Ok(StoredDelivery {
        id: r.get(0)?,
        vendor: r.get(1)?,
        event_type: r.get(2)?,
        event_id: r.get(3)?,
        dedupe_key: r.get(4)?,
        body: r.get(5)?,
        headers: serde_json::from_str(&headers).unwrap_or_default(),
        received_at_ms: r.get(7)?,
        status: Status::parse(&status).unwrap_or(Status::Pending),
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        next_attempt_at_ms: r.get(11)?,
        processed_at_ms: r.get(12)?,
        duplicates: r.get(13)?,
    })
}

impl Store for SqliteStore {
    fn insert(&self, d: &NewDelivery) -> Result<Inserted, StoreError> {
        let headers = serde_json::to_string(&d.headers).expect("strings serialize");
        let conn = self.conn();
        let (id, dups, status): (i64, u32, String) = conn.query_row(
            "INSERT INTO deliveries (vendor, event_type, event_id, dedupe_key, body, headers, received_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (vendor, dedupe_key) DO UPDATE SET duplicates = duplicates + 1
             RETURNING id, duplicates, status",
            params![d.vendor, d.event_type, d.event_id, d.dedupe_key, d.body, headers, d.received_at_ms],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(if dups == 0 {
            Inserted::New(id)
        } else {
            Inserted::Duplicate(id, Status::parse(&status).unwrap_or(Status::Pending))
        })
    }

    fn claim(&self, now_ms: i64, limit: usize) -> Result<Vec<StoredDelivery>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let rows = {
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE deliveries SET status = 'processing', attempts = attempts + 1
                 WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1
                              ORDER BY next_attempt_at, id LIMIT ?2)
                 RETURNING {COLUMNS}"
            ))?;
            stmt.query_map(params![now_ms, limit as i64], row_to_delivery)?
                .collect::<Result<Vec<_>, _>>()?
        };
        tx.commit()?;
        let mut rows = rows;
        rows.sort_by_key(|d| (d.next_attempt_at_ms, d.id));
        Ok(rows)
    }

    fn complete(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE deliveries SET status = 'done', processed_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, now_ms],
        )?;
        Ok(())
    }

    fn fail(&self, id: i64, error: &str, retry_at_ms: Option<i64>) -> Result<(), StoreError> {
        match retry_at_ms {
            Some(at) => self.conn().execute(
                "UPDATE deliveries SET status = 'pending', last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
                params![id, error, at],
            )?,
            None => self.conn().execute(
                "UPDATE deliveries SET status = 'failed', last_error = ?2 WHERE id = ?1",
                params![id, error],
            )?,
        };
        Ok(())
    }

    fn recover(&self) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "UPDATE deliveries SET status = 'pending' WHERE status = 'processing'",
            [],
        )?)
    }

    fn list(
        &self,
        status: Option<Status>,
        limit: usize,
    ) -> Result<Vec<StoredDelivery>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE (?1 IS NULL OR status = ?1) ORDER BY id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(
                params![status.map(Status::as_str), limit as i64],
                row_to_delivery,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn get(&self, id: i64) -> Result<Option<StoredDelivery>, StoreError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?1"),
                [id],
                row_to_delivery,
            )
            .optional()?)
    }

    fn requeue(&self, id: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2 WHERE id = ?1",
            params![id, now_ms()],
        )?;
        Ok(n > 0)
    }

    fn next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn().query_row(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }
}

/// An in-memory store: deduplicates and queues like SQLite, keeps nothing
/// across restarts.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    rows: Vec<StoredDelivery>,
    by_key: HashMap<(String, String), usize>,
    /// Pending deliveries by (next attempt, id): claims take from the front
    /// instead of scanning every row.
    due: std::collections::BTreeSet<(i64, i64)>,
}

impl MemoryInner {
    fn row(&mut self, id: i64) -> Option<&mut StoredDelivery> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| self.rows.get_mut(i))
    }

    /// Makes a row pending at `at`, keeping `due` in step.
    fn set_pending(&mut self, id: i64, at: i64) {
        self.leave_pending(id);
        if let Some(r) = self.row(id) {
            r.status = Status::Pending;
            r.next_attempt_at_ms = at;
            self.due.insert((at, id));
        }
    }

    fn leave_pending(&mut self, id: i64) {
        if let Some(r) = self.row(id)
            && r.status == Status::Pending
        {
            let key = (r.next_attempt_at_ms, id);
            self.due.remove(&key);
        }
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn insert(&self, d: &NewDelivery) -> Result<Inserted, StoreError> {
        let mut m = self.lock();
        let key = (d.vendor.clone(), d.dedupe_key.clone());
        if let Some(&i) = m.by_key.get(&key) {
            let row = &mut m.rows[i];
            row.duplicates += 1;
            return Ok(Inserted::Duplicate(row.id, row.status));
        }
        let id = m.rows.len() as i64 + 1;
        m.rows.push(StoredDelivery {
            id,
            vendor: d.vendor.clone(),
            event_type: d.event_type.clone(),
            event_id: d.event_id.clone(),
            dedupe_key: d.dedupe_key.clone(),
            body: d.body.clone(),
            headers: d.headers.clone(),
            received_at_ms: d.received_at_ms,
            status: Status::Pending,
            attempts: 0,
            last_error: None,
            next_attempt_at_ms: d.received_at_ms,
            processed_at_ms: None,
            duplicates: 0,
        });
        let idx = m.rows.len() - 1;
        m.by_key.insert(key, idx);
        m.due.insert((d.received_at_ms, id));
        Ok(Inserted::New(id))
    }

    fn claim(&self, now_ms: i64, limit: usize) -> Result<Vec<StoredDelivery>, StoreError> {
        let mut m = self.lock();
        let ready: Vec<(i64, i64)> = m
            .due
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .take(limit)
            .copied()
            .collect();
        let mut out = Vec::with_capacity(ready.len());
        for key in ready {
            m.due.remove(&key);
            if let Some(r) = m.row(key.1) {
                r.status = Status::Processing;
                r.attempts += 1;
                out.push(r.clone());
            }
        }
        Ok(out)
    }

    fn complete(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        let mut m = self.lock();
        m.leave_pending(id);
        if let Some(r) = m.row(id) {
            r.status = Status::Done;
            r.processed_at_ms = Some(now_ms);
            r.last_error = None;
        }
        Ok(())
    }

    fn fail(&self, id: i64, error: &str, retry_at_ms: Option<i64>) -> Result<(), StoreError> {
        let mut m = self.lock();
        if let Some(r) = m.row(id) {
            r.last_error = Some(error.to_string());
        }
        match retry_at_ms {
            Some(at) => m.set_pending(id, at),
            None => {
                m.leave_pending(id);
                if let Some(r) = m.row(id) {
                    r.status = Status::Failed;
                }
            }
        }
        Ok(())
    }

    fn recover(&self) -> Result<usize, StoreError> {
        let mut m = self.lock();
        let stuck: Vec<(i64, i64)> = m
            .rows
            .iter()
            .filter(|r| r.status == Status::Processing)
            .map(|r| (r.id, r.next_attempt_at_ms))
            .collect();
        for (id, at) in &stuck {
            m.set_pending(*id, *at);
        }
        Ok(stuck.len())
    }

    fn list(
        &self,
        status: Option<Status>,
        limit: usize,
    ) -> Result<Vec<StoredDelivery>, StoreError> {
        let m = self.lock();
        Ok(m.rows
            .iter()
            .filter(|r| status.is_none_or(|s| r.status == s))
            .take(limit)
            .cloned()
            .collect())
    }

    fn get(&self, id: i64) -> Result<Option<StoredDelivery>, StoreError> {
        Ok(self.lock().row(id).map(|r| r.clone()))
    }

    fn requeue(&self, id: i64) -> Result<bool, StoreError> {
        let mut m = self.lock();
        if m.row(id).is_none() {
            return Ok(false);
        }
        m.set_pending(id, now_ms());
        Ok(true)
    }

    fn next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.lock().due.first().map(|(at, _)| *at))
    }
}

/// When to retry a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Attempts before giving up (the delivery then stays `failed`, visible).
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

/// The store plus the handlers its worker calls, per vendor.
#[derive(Clone)]
pub struct Inbox {
    store: Arc<dyn Store>,
    handlers: Arc<Mutex<HashMap<&'static str, Arc<dyn RawHandler>>>>,
    notify: Arc<Notify>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox").field("retry", &self.retry).finish()
    }
}

impl Inbox {
    pub fn new(store: Arc<dyn Store>) -> Inbox {
        Inbox {
            store,
            handlers: Arc::default(),
            notify: Arc::new(Notify::new()),
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Inbox {
        self.retry = retry;
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

    /// Stores a delivery (on the blocking pool) and wakes the worker.
    pub async fn accept(&self, d: NewDelivery) -> Result<Inserted, StoreError> {
        let store = self.store.clone();
        let r = tokio::task::spawn_blocking(move || store.insert(&d))
            .await
            .map_err(|e| StoreError(format!("store task failed: {e}")))??;
        if matches!(r, Inserted::New(_)) {
            self.notify.notify_one();
        }
        Ok(r)
    }

    /// Runs the worker until the process ends: claims due deliveries, hands
    /// each to its vendor's handler, records the outcome.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        let inbox = self.clone();
        tokio::spawn(async move { inbox.work().await })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError(format!("store task failed: {e}")))?
    }

    async fn work(&self) {
        match self.blocking(|s| s.recover()).await {
            Ok(n) if n > 0 => tracing::info!(
                count = n,
                "requeued deliveries left processing by a previous run"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot recover in-flight deliveries"),
        }
        loop {
            let batch = match self.blocking(|s| s.claim(now_ms(), 64)).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim deliveries; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                let wait = match self.blocking(|s| s.next_due()).await {
                    Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(0, 1000) as u64),
                    _ => Duration::from_secs(1),
                };
                let _ = tokio::time::timeout(wait, self.notify.notified()).await;
                continue;
            }
            for d in batch {
                self.process(d).await;
            }
        }
    }

    async fn process(&self, d: StoredDelivery) {
        let handler = self
            .handlers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(d.vendor.as_str())
            .cloned();
        let outcome = match handler {
            None => Err(format!("no handler registered for vendor `{}`", d.vendor)),
            Some(h) => {
                let mut headers = http::HeaderMap::new();
                for (k, v) in &d.headers {
                    if let (Ok(k), Ok(v)) = (
                        http::HeaderName::from_bytes(k.as_bytes()),
                        http::HeaderValue::from_str(v),
                    ) {
                        headers.append(k, v);
                    }
                }
                h.handle(&d.body, &headers).await.map_err(|e| e.to_string())
            }
        };
        let id = d.id;
        let result = match outcome {
            Ok(()) => self.blocking(move |s| s.complete(id, now_ms())).await,
            Err(error) => {
                let retry_at = (d.attempts < self.retry.max_attempts)
                    .then(|| now_ms() + self.retry.delay(d.attempts).as_millis() as i64);
                tracing::warn!(
                    vendor = %d.vendor, event = %d.event_type, delivery = d.id, attempt = d.attempts,
                    error = %error, gave_up = retry_at.is_none(), "handler failed"
                );
                self.blocking(move |s| s.fail(id, &error, retry_at)).await
            }
        };
        if let Err(e) = result {
            tracing::error!(delivery = d.id, error = %e, "cannot record the outcome; the delivery will be retried");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(key: &str) -> NewDelivery {
        NewDelivery {
            vendor: "prets".into(),
            event_type: "quote.created".into(),
            event_id: Some(key.into()),
            dedupe_key: dedupe_key(Some(key), b"{}"),
            body: b"{}".to_vec(),
            headers: vec![("content-type".into(), "application/json".into())],
            received_at_ms: 1000,
        }
    }

    fn exercise(store: &dyn Store) {
        assert_eq!(store.insert(&delivery("a")).unwrap(), Inserted::New(1));
        assert_eq!(store.insert(&delivery("b")).unwrap(), Inserted::New(2));
        assert_eq!(
            store.insert(&delivery("a")).unwrap(),
            Inserted::Duplicate(1, Status::Pending)
        );
        let claimed = store.claim(1000, 10).unwrap();
        assert_eq!(claimed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![1, 2]);
        assert!(
            claimed
                .iter()
                .all(|d| d.attempts == 1 && d.status == Status::Processing)
        );
        assert!(store.claim(1000, 10).unwrap().is_empty());
        store.complete(1, 2000).unwrap();
        store.fail(2, "boom", Some(5000)).unwrap();
        assert!(store.claim(4999, 10).unwrap().is_empty());
        assert_eq!(store.next_due().unwrap(), Some(5000));
        let again = store.claim(5000, 10).unwrap();
        assert_eq!((again[0].id, again[0].attempts), (2, 2));
        // A crash while processing: recover returns it to pending.
        assert_eq!(store.recover().unwrap(), 1);
        store.fail(2, "still broken", None).unwrap();
        let d = store.get(2).unwrap().unwrap();
        assert_eq!(
            (d.status, d.last_error.as_deref()),
            (Status::Failed, Some("still broken"))
        );
        assert!(store.requeue(2).unwrap());
        assert_eq!(store.get(2).unwrap().unwrap().status, Status::Pending);
        let a = store.get(1).unwrap().unwrap();
        assert_eq!(
            (a.status, a.duplicates, a.processed_at_ms),
            (Status::Done, 1, Some(2000))
        );
        assert_eq!(store.list(Some(Status::Done), 10).unwrap().len(), 1);
        assert_eq!(store.list(None, 10).unwrap().len(), 2);
        assert_eq!(
            a.headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
    }

    #[test]
    fn memory_store_semantics() {
        exercise(&MemoryStore::new());
    }

    #[test]
    fn sqlite_store_semantics_and_persistence() {
        let dir = std::env::temp_dir().join(format!("hookforge-inbox-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("inbox.db");
        let _ = std::fs::remove_file(&path);
        exercise(&SqliteStore::open(&path).unwrap());
        // Reopened, the deliveries are there.
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(reopened.list(None, 10).unwrap().len(), 2);
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
