//! The durable inbox: every verified delivery is stored *before* the vendor
//! gets its 2xx, deduplicated by (vendor, event id) or by a hash of the body
//! when the vendor sends no id, and handed to the handler by a worker with
//! at-least-once semantics. Failures are retried with backoff; after the
//! last attempt a delivery is `dead` (a dead letter, replayable). An
//! authentic delivery that does not fit our model is `quarantined`, never
//! dropped. Everything stays visible (`hookforge inbox list`).
//!
//! The store is a small trait: SQLite (embedded, the default) and memory
//! (tests, `hookforge serve` without `--db`) implement it; a server database
//! can follow.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};

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
    /// Why the body does not fit the typed model of its event: the delivery
    /// is kept as `quarantined` (not handed to the handler) with this error.
    pub misfit: Option<String>,
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
    /// Authentic, but does not fit the typed model of its event: kept whole,
    /// not handled, until `inbox reparse` finds that it fits.
    Quarantined,
    /// Gave up after the last attempt (a dead letter); `replay` requeues it.
    Dead,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Processing,
        Status::Done,
        Status::Quarantined,
        Status::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Done => "done",
            Status::Quarantined => "quarantined",
            Status::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
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

impl StoredDelivery {
    /// The stored headers as a header map (entries that are not valid
    /// headers cannot have been stored by the receiver and are skipped).
    pub fn header_map(&self) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                headers.append(k, v);
            }
        }
        headers
    }
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New(i64),
    /// Already stored (id, its status).
    Duplicate(i64, Status),
}

/// Why the store could not do what was asked. Whenever `insert` returns one
/// of these, the delivery is *not* stored and the vendor must not get a 2xx.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the inbox is full ({capacity} deliveries held); retry later")]
    Full { capacity: usize },
    #[error("cannot open the inbox at {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        source: rusqlite::Error,
    },
    #[error("inbox database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("inbox store task failed: {0}")]
    Task(String),
    #[error("inbox store: {0}")]
    Other(String),
}

/// Where deliveries are kept. Methods are blocking and short; async callers
/// run them on the blocking pool.
pub trait Store: Send + Sync + 'static {
    /// Stores a delivery durably (returns only after the commit succeeded),
    /// or records that it is a duplicate.
    fn insert(&self, d: &NewDelivery) -> Result<Inserted, StoreError>;
    /// Claims up to `limit` pending deliveries due at `now_ms` (marks them
    /// processing and counts the attempt), skipping the vendors in `skip`.
    fn claim(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &[&str],
    ) -> Result<Vec<StoredDelivery>, StoreError>;
    fn complete(&self, id: i64, now_ms: i64) -> Result<(), StoreError>;
    /// Records a failed attempt: retry at `retry_at_ms`, or make it `dead` when `None`.
    fn fail(&self, id: i64, error: &str, retry_at_ms: Option<i64>) -> Result<(), StoreError>;
    /// Returns deliveries left processing by a process that died to pending.
    fn recover(&self) -> Result<usize, StoreError>;
    fn list(&self, status: Option<Status>, limit: usize)
    -> Result<Vec<StoredDelivery>, StoreError>;
    fn get(&self, id: i64) -> Result<Option<StoredDelivery>, StoreError>;
    /// Makes a delivery pending, due now, with its attempt count reset.
    /// Returns false if there is none.
    fn requeue(&self, id: i64) -> Result<bool, StoreError>;
    /// Moves a quarantined delivery to pending (it fits the model now).
    /// Returns false if it is not quarantined.
    fn release(&self, id: i64) -> Result<bool, StoreError>;
    /// Records a new reason for a quarantined delivery.
    fn requarantine(&self, id: i64, error: &str) -> Result<(), StoreError>;
    /// Deletes `done` deliveries processed before `before_ms`; returns how many.
    fn purge_done(&self, before_ms: i64) -> Result<usize, StoreError>;
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
-- Inboxes written before dead letters had their name.
UPDATE deliveries SET status = 'dead' WHERE status = 'failed';
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
        let open = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open)?;
        conn.pragma_update(None, "synchronous", sync)
            .map_err(open)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(open)?;
        conn.execute_batch(SCHEMA).map_err(open)?;
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
    let status = Status::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            8,
            rusqlite::types::Type::Text,
            format!("unknown delivery status {status:?}").into(),
        )
    })?;
    let headers = serde_json::from_str(&headers).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(StoredDelivery {
        id: r.get(0)?,
        vendor: r.get(1)?,
        event_type: r.get(2)?,
        event_id: r.get(3)?,
        dedupe_key: r.get(4)?,
        body: r.get(5)?,
        headers,
        received_at_ms: r.get(7)?,
        status,
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        next_attempt_at_ms: r.get(11)?,
        processed_at_ms: r.get(12)?,
        duplicates: r.get(13)?,
    })
}

impl Store for SqliteStore {
    fn insert(&self, d: &NewDelivery) -> Result<Inserted, StoreError> {
        let headers = serde_json::to_string(&d.headers)
            .map_err(|e| StoreError::Other(format!("cannot encode headers: {e}")))?;
        let status = if d.misfit.is_some() {
            Status::Quarantined
        } else {
            Status::Pending
        };
        let mut conn = self.conn();
        // An explicit transaction: the 2xx depends on the COMMIT, and only an
        // explicit commit reports its failure (a full disk, a file-size
        // limit). `query_row` on an autocommit INSERT … RETURNING does not
        // step the statement to the end, so a failed commit went unseen.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (id, dups, status): (i64, u32, String) = tx.query_row(
            "INSERT INTO deliveries (vendor, event_type, event_id, dedupe_key, body, headers, received_at, next_attempt_at, status, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)
             ON CONFLICT (vendor, dedupe_key) DO UPDATE SET duplicates = duplicates + 1
             RETURNING id, duplicates, status",
            params![d.vendor, d.event_type, d.event_id, d.dedupe_key, d.body, headers, d.received_at_ms, status.as_str(), d.misfit],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        tx.commit()?;
        Ok(if dups == 0 {
            Inserted::New(id)
        } else {
            Inserted::Duplicate(id, Status::parse(&status).unwrap_or(Status::Pending))
        })
    }

    fn claim(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &[&str],
    ) -> Result<Vec<StoredDelivery>, StoreError> {
        let skip = serde_json::to_string(skip).map_err(|e| StoreError::Other(e.to_string()))?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let rows = {
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE deliveries SET status = 'processing', attempts = attempts + 1
                 WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1
                              AND vendor NOT IN (SELECT value FROM json_each(?3))
                              ORDER BY next_attempt_at, id LIMIT ?2)
                 RETURNING {COLUMNS}"
            ))?;
            stmt.query_map(params![now_ms, limit as i64, skip], row_to_delivery)?
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
                "UPDATE deliveries SET status = 'dead', last_error = ?2 WHERE id = ?1",
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
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2 WHERE id = ?1",
            params![id, now_ms()],
        )?;
        Ok(n > 0)
    }

    fn release(&self, id: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = ?2
             WHERE id = ?1 AND status = 'quarantined'",
            params![id, now_ms()],
        )?;
        Ok(n > 0)
    }

    fn requarantine(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE deliveries SET last_error = ?2 WHERE id = ?1 AND status = 'quarantined'",
            params![id, error],
        )?;
        Ok(())
    }

    fn purge_done(&self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM deliveries WHERE status = 'done' AND processed_at < ?1",
            [before_ms],
        )?)
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
/// across restarts. It holds at most `capacity` deliveries and refuses more
/// (the receiver answers 503) rather than growing without bound.
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
    capacity: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(MemoryStore::DEFAULT_CAPACITY)
    }
}

#[derive(Default)]
struct MemoryInner {
    rows: std::collections::BTreeMap<i64, StoredDelivery>,
    by_key: HashMap<(String, String), i64>,
    next_id: i64,
    /// Pending deliveries by (next attempt, id): claims take from the front
    /// instead of scanning every row.
    due: std::collections::BTreeSet<(i64, i64)>,
}

impl MemoryInner {
    /// Makes a row pending at `at`, keeping `due` in step.
    fn set_pending(&mut self, id: i64, at: i64) {
        self.leave_pending(id);
        if let Some(r) = self.rows.get_mut(&id) {
            r.status = Status::Pending;
            r.next_attempt_at_ms = at;
            self.due.insert((at, id));
        }
    }

    fn leave_pending(&mut self, id: i64) {
        if let Some(r) = self.rows.get(&id)
            && r.status == Status::Pending
        {
            let key = (r.next_attempt_at_ms, id);
            self.due.remove(&key);
        }
    }
}

impl MemoryStore {
    /// Deliveries held before `insert` answers [`StoreError::Full`].
    pub const DEFAULT_CAPACITY: usize = 100_000;

    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    pub fn with_capacity(capacity: usize) -> MemoryStore {
        MemoryStore {
            inner: Mutex::default(),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn insert(&self, d: &NewDelivery) -> Result<Inserted, StoreError> {
        let mut m = self.lock();
        let key = (d.vendor.clone(), d.dedupe_key.clone());
        if let Some(&id) = m.by_key.get(&key)
            && let Some(row) = m.rows.get_mut(&id)
        {
            row.duplicates += 1;
            return Ok(Inserted::Duplicate(row.id, row.status));
        }
        if m.rows.len() >= self.capacity {
            return Err(StoreError::Full {
                capacity: self.capacity,
            });
        }
        m.next_id += 1;
        let id = m.next_id;
        let status = if d.misfit.is_some() {
            Status::Quarantined
        } else {
            Status::Pending
        };
        m.rows.insert(
            id,
            StoredDelivery {
                id,
                vendor: d.vendor.clone(),
                event_type: d.event_type.clone(),
                event_id: d.event_id.clone(),
                dedupe_key: d.dedupe_key.clone(),
                body: d.body.clone(),
                headers: d.headers.clone(),
                received_at_ms: d.received_at_ms,
                status,
                attempts: 0,
                last_error: d.misfit.clone(),
                next_attempt_at_ms: d.received_at_ms,
                processed_at_ms: None,
                duplicates: 0,
            },
        );
        m.by_key.insert(key, id);
        if status == Status::Pending {
            m.due.insert((d.received_at_ms, id));
        }
        Ok(Inserted::New(id))
    }

    fn claim(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &[&str],
    ) -> Result<Vec<StoredDelivery>, StoreError> {
        let mut m = self.lock();
        let ready: Vec<(i64, i64)> = m
            .due
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .filter(|(_, id)| {
                m.rows
                    .get(id)
                    .is_some_and(|r| !skip.contains(&r.vendor.as_str()))
            })
            .take(limit)
            .copied()
            .collect();
        let mut out = Vec::with_capacity(ready.len());
        for key in ready {
            m.due.remove(&key);
            if let Some(r) = m.rows.get_mut(&key.1) {
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
        if let Some(r) = m.rows.get_mut(&id) {
            r.status = Status::Done;
            r.processed_at_ms = Some(now_ms);
            r.last_error = None;
        }
        Ok(())
    }

    fn fail(&self, id: i64, error: &str, retry_at_ms: Option<i64>) -> Result<(), StoreError> {
        let mut m = self.lock();
        if let Some(r) = m.rows.get_mut(&id) {
            r.last_error = Some(error.to_string());
        }
        match retry_at_ms {
            Some(at) => m.set_pending(id, at),
            None => {
                m.leave_pending(id);
                if let Some(r) = m.rows.get_mut(&id) {
                    r.status = Status::Dead;
                }
            }
        }
        Ok(())
    }

    fn recover(&self) -> Result<usize, StoreError> {
        let mut m = self.lock();
        let stuck: Vec<(i64, i64)> = m
            .rows
            .values()
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
            .values()
            .filter(|r| status.is_none_or(|s| r.status == s))
            .take(limit)
            .cloned()
            .collect())
    }

    fn get(&self, id: i64) -> Result<Option<StoredDelivery>, StoreError> {
        Ok(self.lock().rows.get(&id).cloned())
    }

    fn requeue(&self, id: i64) -> Result<bool, StoreError> {
        let mut m = self.lock();
        let Some(r) = m.rows.get_mut(&id) else {
            return Ok(false);
        };
        r.attempts = 0;
        m.set_pending(id, now_ms());
        Ok(true)
    }

    fn release(&self, id: i64) -> Result<bool, StoreError> {
        let mut m = self.lock();
        let Some(r) = m.rows.get_mut(&id) else {
            return Ok(false);
        };
        if r.status != Status::Quarantined {
            return Ok(false);
        }
        r.attempts = 0;
        r.last_error = None;
        m.set_pending(id, now_ms());
        Ok(true)
    }

    fn requarantine(&self, id: i64, error: &str) -> Result<(), StoreError> {
        if let Some(r) = self.lock().rows.get_mut(&id)
            && r.status == Status::Quarantined
        {
            r.last_error = Some(error.to_string());
        }
        Ok(())
    }

    fn purge_done(&self, before_ms: i64) -> Result<usize, StoreError> {
        let mut m = self.lock();
        let old: Vec<(i64, (String, String))> = m
            .rows
            .values()
            .filter(|r| {
                r.status == Status::Done && r.processed_at_ms.is_some_and(|t| t < before_ms)
            })
            .map(|r| (r.id, (r.vendor.clone(), r.dedupe_key.clone())))
            .collect();
        for (id, key) in &old {
            m.rows.remove(id);
            m.by_key.remove(key);
        }
        Ok(old.len())
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
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            handler_timeout: Duration::from_secs(30),
            concurrency_per_vendor: 4,
        }
    }
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
        Inbox {
            store,
            handlers: Arc::default(),
            notify: Arc::new(Notify::new()),
            retry: RetryPolicy::default(),
            worker: WorkerConfig::default(),
            slots: Arc::default(),
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

    /// Stores a delivery (on the blocking pool) and wakes the worker. `Ok`
    /// means the commit succeeded; only then may the vendor get a 2xx.
    pub async fn accept(&self, d: NewDelivery) -> Result<Inserted, StoreError> {
        let r = self.blocking(move |s| s.insert(&d)).await?;
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
        tokio::spawn(supervise("inbox worker", move || {
            let inbox = inbox.clone();
            async move { inbox.work().await }
        }))
    }

    /// Deletes `done` deliveries older than `retain`, now and then, until the
    /// process ends.
    pub fn spawn_retention(&self, retain: Duration) -> tokio::task::JoinHandle<()> {
        let inbox = self.clone();
        let every = (retain / 10).clamp(Duration::from_millis(100), Duration::from_secs(60));
        tokio::spawn(async move {
            loop {
                let before = now_ms() - retain.as_millis() as i64;
                match inbox.blocking(move |s| s.purge_done(before)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(count = n, "purged done deliveries past retention"),
                    Err(e) => tracing::error!(error = %e, "cannot purge done deliveries"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn slot(&self, vendor: &str) -> Arc<Semaphore> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(vendor.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.worker.concurrency_per_vendor.max(1))))
            .clone()
    }

    /// Vendors with every handler slot taken: not claimed from this round.
    fn saturated(&self) -> Vec<String> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, s)| s.available_permits() == 0)
            .map(|(v, _)| v.clone())
            .collect()
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
            let busy = self.saturated();
            let batch = match self
                .blocking(move |s| {
                    let skip: Vec<&str> = busy.iter().map(String::as_str).collect();
                    s.claim(now_ms(), 64, &skip)
                })
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim deliveries; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                let wait = match self.blocking(|s| s.next_due()).await {
                    Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(1, 1000) as u64),
                    _ => Duration::from_secs(1),
                };
                let _ = tokio::time::timeout(wait, self.notify.notified()).await;
                continue;
            }
            for d in batch {
                let slot = self.slot(&d.vendor);
                let inbox = self.clone();
                // Each delivery waits for its own vendor's slot, so the loop
                // goes on claiming for the other vendors.
                tokio::spawn(async move {
                    let Ok(_permit) = slot.acquire_owned().await else {
                        return;
                    };
                    inbox.process(d).await;
                    inbox.notify.notify_one();
                });
            }
        }
    }

    /// Runs one handler call in its own task, under the timeout: a panic or
    /// a hang is a failed attempt, never the worker's end.
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
        let body = d.body.clone();
        let headers = d.header_map();
        let task =
            tokio::spawn(async move { h.handle(&body, &headers).await.map_err(|e| e.to_string()) });
        let abort = task.abort_handle();
        let limit = self.worker.handler_timeout;
        match tokio::time::timeout(limit, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) if e.is_panic() => Err(format!(
                "handler panicked: {}",
                panic_message(e.into_panic().as_ref())
            )),
            Ok(Err(e)) => Err(format!("handler task ended: {e}")),
            Err(_) => {
                abort.abort();
                Err(format!(
                    "handler timed out after {:.1} s",
                    limit.as_secs_f64()
                ))
            }
        }
    }

    async fn process(&self, d: StoredDelivery) {
        let outcome = self.run_handler(&d).await;
        let id = d.id;
        let result = match outcome {
            Ok(()) => self.blocking(move |s| s.complete(id, now_ms())).await,
            Err(error) => {
                let retry_at = (d.attempts < self.retry.max_attempts)
                    .then(|| now_ms() + self.retry.delay(d.attempts).as_millis() as i64);
                tracing::warn!(
                    vendor = %d.vendor, event = %d.event_type, delivery = d.id, attempt = d.attempts,
                    error = %error, dead = retry_at.is_none(), "handler failed"
                );
                self.blocking(move |s| s.fail(id, &error, retry_at)).await
            }
        };
        if let Err(e) = result {
            tracing::error!(delivery = d.id, error = %e, "cannot record the outcome; the delivery will be retried");
        }
    }
}

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
            Ok(()) => tracing::error!(task = name, "stopped; restarting it"),
            Err(e) if e.is_panic() => tracing::error!(
                task = name,
                panic = %panic_message(e.into_panic().as_ref()),
                "panicked; restarting it"
            ),
            Err(_) => return, // cancelled: the runtime is shutting down
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a non-string panic payload)".into())
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
            misfit: None,
        }
    }

    fn exercise(store: &dyn Store) {
        assert_eq!(store.insert(&delivery("a")).unwrap(), Inserted::New(1));
        assert_eq!(store.insert(&delivery("b")).unwrap(), Inserted::New(2));
        assert_eq!(
            store.insert(&delivery("a")).unwrap(),
            Inserted::Duplicate(1, Status::Pending)
        );
        let claimed = store.claim(1000, 10, &[]).unwrap();
        assert_eq!(claimed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![1, 2]);
        assert!(
            claimed
                .iter()
                .all(|d| d.attempts == 1 && d.status == Status::Processing)
        );
        assert!(store.claim(1000, 10, &[]).unwrap().is_empty());
        store.complete(1, 2000).unwrap();
        store.fail(2, "boom", Some(5000)).unwrap();
        assert!(store.claim(4999, 10, &[]).unwrap().is_empty());
        assert_eq!(store.next_due().unwrap(), Some(5000));
        let again = store.claim(5000, 10, &[]).unwrap();
        assert_eq!((again[0].id, again[0].attempts), (2, 2));
        // A crash while processing: recover returns it to pending.
        assert_eq!(store.recover().unwrap(), 1);
        store.fail(2, "still broken", None).unwrap();
        let d = store.get(2).unwrap().unwrap();
        assert_eq!(
            (d.status, d.last_error.as_deref()),
            (Status::Dead, Some("still broken"))
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
        // Replaying resets the attempt count.
        assert_eq!(store.get(2).unwrap().unwrap().attempts, 0);
        // Quarantine: stored with its reason, never claimed, released on demand.
        let mut q = delivery("q");
        q.misfit = Some("`quote.created` payload: at `data.quoteId`: expected a string".into());
        assert_eq!(store.insert(&q).unwrap(), Inserted::New(3));
        let d = store.get(3).unwrap().unwrap();
        assert_eq!(
            (d.status, d.last_error),
            (Status::Quarantined, q.misfit.clone())
        );
        let ids = |v: Vec<StoredDelivery>| v.iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(ids(store.claim(i64::MAX, 10, &["other"]).unwrap()), vec![2]);
        assert!(
            !store.release(1).unwrap(),
            "only quarantined deliveries are released"
        );
        assert!(store.release(3).unwrap());
        let d = store.get(3).unwrap().unwrap();
        assert_eq!((d.status, d.last_error), (Status::Pending, None));
        // Claims skip busy vendors.
        assert!(store.claim(i64::MAX, 10, &["prets"]).unwrap().is_empty());
        assert_eq!(ids(store.claim(i64::MAX, 10, &[]).unwrap()), vec![3]);
        // Retention deletes done deliveries processed before the cut only.
        assert_eq!(store.purge_done(2000).unwrap(), 0);
        assert_eq!(store.purge_done(2001).unwrap(), 1);
        assert!(store.get(1).unwrap().is_none());
    }

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
