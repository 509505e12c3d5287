//! Where deliveries are kept: the [`Store`] trait and what it stores, with
//! two implementations: SQLite (embedded, feature `sqlite`; the default of
//! `hookforge serve --db`) and memory (tests, `serve` without `--db`).
//! Every insert either commits or returns a [`StoreError`]: the receiver
//! answers 2xx only after an `Ok`.

use serde::Serialize;

#[doc(hidden)]
pub mod contract;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(all(test, feature = "sqlite"))]
pub(crate) use sqlite::tests::fresh_db;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, SyncMode};

pub use crate::util::{dedupe_key, now_ms};

/// What every store operation returns.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A database connection string; its password never shows in `Debug` or
/// `Display` (both print it redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }
    /// The full string, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", redact_url(&self.0))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// A connection string as messages show it: only user, host, port and
/// database, whatever form it came in (URL, `password=` keywords, a
/// `?password=` query parameter); one that cannot be read is not shown.
pub fn redact_url(url: &str) -> String {
    #[cfg(feature = "postgres")]
    if let Ok(c) = url.parse::<::postgres::Config>() {
        use ::postgres::config::Host;
        let hosts: Vec<String> = c
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        let ports: Vec<String> = c.get_ports().iter().map(u16::to_string).collect();
        let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
        let port = if ports.is_empty() {
            String::new()
        } else {
            format!(":{}", ports.join(","))
        };
        let db = c.get_dbname().unwrap_or_default();
        return format!("postgres://{user}{}{port}/{db}", hosts.join(","));
    }
    let _ = url;
    "(a database URL hookforge cannot read; not shown, as it may hold a password)".into()
}

/// One page of a search, newest first, and how many match in all.
pub type SearchPage = (Vec<StoredDelivery>, u64);

/// What the dashboard looks for; every field narrows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub status: Option<Status>,
    pub vendor: Option<String>,
    /// A part of the event type.
    pub event: Option<String>,
    /// Received at or after, at or before (ms since the epoch).
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl Search {
    pub fn matches(&self, d: &StoredDelivery) -> bool {
        self.status.is_none_or(|s| d.status == s)
            && self.vendor.as_deref().is_none_or(|v| d.vendor == v)
            && self
                .event
                .as_deref()
                .is_none_or(|e| d.event_type.contains(e))
            && self.since_ms.is_none_or(|t| d.received_at_ms >= t)
            && self.until_ms.is_none_or(|t| d.received_at_ms <= t)
    }
}

/// Which vendors' deliveries a claim may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendors<'a> {
    Any,
    /// Only these: a worker claims the vendors it has handlers for (and free
    /// slots), so another process's vendors stay pending for it.
    Only(&'a [&'a str]),
}

impl Vendors<'_> {
    pub fn allows(&self, vendor: &str) -> bool {
        match self {
            Vendors::Any => true,
            Vendors::Only(v) => v.contains(&vendor),
        }
    }

    /// The allowed vendors as a JSON array, or `None` for any.
    #[cfg(feature = "sqlite")]
    fn json(&self) -> Option<String> {
        match self {
            Vendors::Any => None,
            Vendors::Only(v) => Some(serde_json::to_string(v).expect("strings serialize")),
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
    /// Its entity and sequence, for vendors whose manifest orders them.
    pub order: Option<hookforge_core::parse::OrderPlace>,
}

impl NewDelivery {
    /// The status it is stored with: quarantined when it misfits the
    /// model (kept, not handled), else pending.
    pub fn first_status(&self) -> Status {
        if self.misfit.is_some() {
            Status::Quarantined
        } else {
            Status::Pending
        }
    }
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
    /// The entity it is about and its sequence (ordered vendors only).
    pub entity: Option<String>,
    pub sequence: Option<i64>,
    /// Stale: it arrived after this newer delivery of the same entity.
    pub superseded_by: Option<i64>,
}

impl StoredDelivery {
    /// The stored headers as a header map (entries that are not valid
    /// headers cannot have been stored by the receiver and are skipped).
    pub fn header_map(&self) -> http::HeaderMap {
        crate::util::header_map(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The attempt a claim (or [`Store::start`]) just counted: what the
    /// outcome is recorded against.
    pub fn attempt(&self) -> Attempt {
        Attempt {
            id: self.id,
            number: self.attempts,
        }
    }
}

/// One handling of a delivery, as this process holds it: the delivery's id
/// and the attempt its claim counted. Outcomes are recorded against it and
/// apply only while the delivery is still held by that attempt, so a process
/// whose lease ran out (another took the delivery over and counted a new
/// attempt) can no longer mark it done or requeue it (fencing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub id: i64,
    pub number: u32,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New(i64),
    /// Already stored (id, its status).
    Duplicate(i64, Status),
}

/// Which handshake secrets [`Store::keep_secret`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Only the vendor's first: another already kept refuses this one.
    OnlyFirst,
    /// This one beside any already kept (a further webhook being created).
    Also,
}

/// Why the store could not do what was asked. Whenever `insert` returns one
/// of these, the delivery is *not* stored and the vendor must not get a 2xx.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the inbox is full ({capacity} deliveries held); retry later")]
    Full { capacity: usize },
    #[error("the inbox is full ({max_bytes} bytes of deliveries not yet handled); retry later")]
    FullBytes { max_bytes: usize },
    #[error(
        "delivery {id} is being handled now: it cannot be handled (or replayed) again at the same time; try again once it is done or dead"
    )]
    Busy { id: i64 },
    #[cfg(feature = "sqlite")]
    #[error("cannot open the inbox at {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        source: rusqlite::Error,
    },
    #[cfg(feature = "sqlite")]
    #[error("inbox database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file was deleted or replaced while the store had it open.
    #[error(
        "the inbox file {path} was deleted or replaced while in use: what is committed now would be lost at the next start; restart the receiver"
    )]
    Gone { path: std::path::PathBuf },
    /// The blocking task that ran the store call panicked or was cancelled.
    #[error("inbox store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A value could not be encoded for storage.
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    /// Any other store's own error (a server database, a test double).
    #[error("inbox store: {0}")]
    Backend(#[source] crate::BoxError),
    /// The store does not keep secrets vendors give in handshakes.
    #[error("this inbox store cannot keep the secret a vendor gives in its handshake")]
    CannotKeepSecrets,
}

impl StoreError {
    /// Whether the database could not be written for want of access (a
    /// file or directory of another user's, a read-only mount), so that it
    /// can still be opened to read.
    pub fn is_read_only(&self) -> bool {
        #[cfg(feature = "sqlite")]
        if let StoreError::Open {
            source: rusqlite::Error::SqliteFailure(f, _),
            ..
        } = self
        {
            use rusqlite::ErrorCode;
            return matches!(f.code, ErrorCode::ReadOnly | ErrorCode::PermissionDenied);
        }
        false
    }
}

/// What an inbox holds, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InboxStats {
    /// Deliveries per status (every status, zero included).
    pub by_status: Vec<(Status, u64)>,
    /// When the oldest delivery still pending arrived.
    pub oldest_pending_received_at_ms: Option<i64>,
}

impl InboxStats {
    /// Tallies stored deliveries.
    pub fn of(rows: &[StoredDelivery]) -> InboxStats {
        InboxStats {
            by_status: Status::ALL
                .iter()
                .map(|st| (*st, rows.iter().filter(|r| r.status == *st).count() as u64))
                .collect(),
            oldest_pending_received_at_ms: rows
                .iter()
                .filter(|r| r.status == Status::Pending)
                .map(|r| r.received_at_ms)
                .min(),
        }
    }
}

/// How the inbox calls [`Store::insert`] for the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    /// On the blocking pool, one call per delivery (the safe default).
    Blocking,
    /// Straight from the calling task, for every call: the store never
    /// waits on I/O (an in-memory store).
    Immediate,
    /// From one writer thread that passes every delivery that arrived while
    /// the previous commit ran to [`Store::insert_many`], and every finished
    /// one to [`Store::complete_many`] (group commit).
    Batched,
}

/// Where deliveries are kept. Methods are blocking and short; async callers
/// run them on the blocking pool.
pub trait Store: Send + Sync + 'static {
    /// Stores a delivery durably (returns only after the commit succeeded),
    /// or records that it is a duplicate.
    fn insert(&self, d: &NewDelivery) -> Result<Inserted>;
    /// [`Store::insert`], taking the delivery: a store that keeps it in
    /// memory moves it in instead of copying every field.
    fn insert_owned(&self, d: NewDelivery) -> Result<Inserted> {
        self.insert(&d)
    }
    /// Stores several deliveries; one answer per delivery, in order, each
    /// with `insert`'s promise (`Ok` only once its row is committed). A
    /// store may commit them together; the default inserts one by one.
    fn insert_many(&self, ds: &[NewDelivery]) -> Vec<Result<Inserted>> {
        ds.iter().map(|d| self.insert(d)).collect()
    }
    /// How the inbox should call `insert` (default: on the blocking pool);
    /// `Immediate` also applies to the worker's calls.
    /// Whether the store can take deliveries now (`GET /health`): SQLite
    /// checks its file is still the one it opened; others say yes.
    fn health(&self) -> Result<()> {
        Ok(())
    }

    fn insert_mode(&self) -> InsertMode {
        InsertMode::Blocking
    }
    /// Claims up to `limit` pending deliveries due at `now_ms` (marks them
    /// processing and counts the attempt), of the vendors `only` allows.
    fn claim(&self, now_ms: i64, limit: usize, only: Vendors<'_>) -> Result<Vec<StoredDelivery>>;
    /// Marks one pending delivery processing (counting the attempt), for a
    /// handler run inline; `None` if it is not pending (another request is
    /// handling it, or it is done).
    fn start(&self, id: i64) -> Result<Option<Attempt>>;
    /// Marks a delivery done, if `attempt` still holds it (`Ok(false)`
    /// otherwise: its lease ran out and another process took it over).
    fn complete(&self, attempt: Attempt, now_ms: i64) -> Result<bool> {
        let answers = self.complete_many(&[(attempt, now_ms)])?;
        answers.first().copied().ok_or_else(|| {
            StoreError::Backend("complete_many gave no answer for one delivery".into())
        })
    }
    /// Marks several deliveries done, `(attempt, now_ms)` each, with
    /// `complete`'s condition; one answer each, in order. A store may do it
    /// in one transaction.
    fn complete_many(&self, done: &[(Attempt, i64)]) -> Result<Vec<bool>>;
    /// Records a failed attempt: retry at `retry_at_ms`, or make it `dead`
    /// when `None`; with `complete`'s condition.
    fn fail(&self, attempt: Attempt, error: &str, retry_at_ms: Option<i64>) -> Result<bool>;
    /// How long a claim lasts before another process may take the delivery
    /// over; `None` for stores one process owns (no leases).
    fn lease(&self) -> Option<std::time::Duration> {
        None
    }
    /// Extends the lease of a delivery being handled; `Ok(false)` when
    /// `attempt` no longer holds it. Stores without leases: always held.
    fn renew(&self, attempt: Attempt) -> Result<bool> {
        let _ = attempt;
        Ok(true)
    }
    /// Returns deliveries left processing by a process that died to pending.
    fn recover(&self) -> Result<usize>;
    fn list(&self, status: Option<Status>, limit: usize) -> Result<Vec<StoredDelivery>>;
    fn get(&self, id: i64) -> Result<Option<StoredDelivery>>;
    /// The deliveries a vendor's event was stored as, by its deduplication
    /// key: one, or none (the key is unique; a reader counting handlings
    /// should not have to rely on that).
    fn find(&self, vendor: &str, dedupe_key: &str) -> Result<Vec<StoredDelivery>>;
    /// Makes a delivery pending, due now, with its attempt count reset.
    /// Returns false if there is none; [`StoreError::Busy`] while it is
    /// being handled.
    fn requeue(&self, id: i64) -> Result<bool>;
    /// Moves a quarantined delivery to pending (it fits the model now).
    /// Returns false if it is not quarantined.
    fn release(&self, id: i64) -> Result<bool>;
    /// Records a new reason for a quarantined delivery.
    fn requarantine(&self, id: i64, error: &str) -> Result<()>;
    /// Retention: empties the body and headers of `done` deliveries
    /// processed before `before_ms`, keeping their keys as tombstones (a late
    /// redelivery is still a duplicate), and deletes those processed before
    /// `forget_before_ms` entirely. Returns how many bodies were emptied.
    fn purge_done(&self, before_ms: i64, forget_before_ms: i64) -> Result<usize>;
    /// The soonest `next_attempt_at` of pending deliveries.
    fn next_due(&self) -> Result<Option<i64>>;
    /// Keeps a secret a vendor gave in a handshake (Asana's `X-Hook-Secret`)
    /// durably, beside its deliveries; keeping one twice keeps it once. With
    /// [`Keep::OnlyFirst`] it is kept only if `vendor` has no other secret,
    /// decided atomically: of two first handshakes racing (anyone can send
    /// one) exactly one is kept. Whether `secret` is kept now.
    fn keep_secret(&self, vendor: &str, secret: &crate::auth::Secret, keep: Keep) -> Result<bool> {
        let _ = (vendor, secret, keep);
        Err(StoreError::CannotKeepSecrets)
    }
    /// The secrets kept for `vendor`, oldest first.
    fn kept_secrets(&self, vendor: &str) -> Result<Vec<crate::auth::Secret>> {
        let _ = vendor;
        Ok(Vec::new())
    }
    /// Forgets the secrets kept for `vendor` (the next handshake's is then
    /// the first); how many there were.
    fn forget_secrets(&self, vendor: &str) -> Result<usize> {
        let _ = vendor;
        Ok(0)
    }
    /// Deliveries per vendor and status (the dashboard's table). The
    /// default reads every row; the stores count with `GROUP BY`.
    fn counts(&self) -> Result<Vec<(String, Status, u64)>> {
        let mut out: Vec<(String, Status, u64)> = Vec::new();
        for d in self.list(None, usize::MAX)? {
            match out
                .iter_mut()
                .find(|(v, s, _)| *v == d.vendor && *s == d.status)
            {
                Some(entry) => entry.2 += 1,
                None => out.push((d.vendor, d.status, 1)),
            }
        }
        Ok(out)
    }
    /// One page of the deliveries `q` matches, newest first, without their
    /// bodies, and how many match in all. The default reads every row; the
    /// stores select with `WHERE … ORDER BY id DESC LIMIT`.
    fn search(&self, q: &Search, offset: usize, limit: usize) -> Result<SearchPage> {
        let mut all: Vec<StoredDelivery> = self
            .list(None, usize::MAX)?
            .into_iter()
            .filter(|d| q.matches(d))
            .collect();
        all.sort_by_key(|d| std::cmp::Reverse(d.id));
        let total = all.len() as u64;
        let page = all
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|mut d| {
                d.body.clear();
                d
            })
            .collect();
        Ok((page, total))
    }
    /// Counts per status and the oldest pending delivery (for metrics).
    /// The default reads every row; database stores count in SQL.
    fn stats(&self) -> Result<InboxStats> {
        Ok(InboxStats::of(&self.list(None, usize::MAX)?))
    }
}
