//! The PostgreSQL store: one inbox shared by several receiver processes.
//!
//! Client: the `postgres` crate (the synchronous face of `tokio-postgres`,
//! by the same maintainers): the [`Store`] trait is blocking and its calls
//! already run on the blocking pool or the inbox's writer thread, so an
//! async client would only add a runtime hop per call.
//!
//! Several processes share the table safely:
//! - deduplication is the same unique `(vendor, dedupe_key)` as SQLite's;
//! - a claim takes a lease (`locked_until`) with `FOR UPDATE SKIP LOCKED`,
//!   so two processes never claim the same row, a live process's work is
//!   never taken while its lease runs, and a crashed process's rows are
//!   claimed again once their lease expires (this is what `recover` means
//!   here: it never resets another process's live work);
//! - leases are timed by the database's clock, not each host's, and the
//!   holder renews its lease while its handler runs ([`Store::renew`]);
//! - an outcome is recorded only by the attempt that holds the row (same
//!   `attempts` and `locked_by`): a process whose lease ran out can neither
//!   mark done nor requeue what another process now handles (fencing);
//! - migrations are versioned in `hookforge_migrations` and applied at
//!   open under an advisory lock, so processes starting together agree.

/// Log lines keep the target they had when this was `hookforge::receive::store::postgres`.
const LOG: &str = "hookforge::receive::store::postgres";

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ::postgres::{Client, NoTls, Row as PgRow};

use super::*;

/// Versioned migrations, applied in order, each once.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE deliveries (
        id BIGSERIAL PRIMARY KEY,
        vendor TEXT NOT NULL,
        event_type TEXT NOT NULL,
        event_id TEXT,
        dedupe_key TEXT NOT NULL,
        body BYTEA NOT NULL,
        headers JSONB NOT NULL,
        received_at BIGINT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt_at BIGINT NOT NULL,
        processed_at BIGINT,
        duplicates INTEGER NOT NULL DEFAULT 0,
        locked_until BIGINT,
        locked_by TEXT,
        UNIQUE (vendor, dedupe_key)
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);",
    ),
    (
        2,
        "ALTER TABLE deliveries ADD COLUMN entity TEXT, ADD COLUMN sequence BIGINT,
            ADD COLUMN superseded_by BIGINT;
        CREATE INDEX deliveries_entity ON deliveries (vendor, entity, sequence)
            WHERE entity IS NOT NULL;",
    ),
    (
        3,
        // Claims read only pending and processing rows of one vendor, in due
        // order: an index of those alone, in that order, gives a claim its
        // first rows without reading the handled ones (one sequential scan
        // of the table per claim) or sorting the whole backlog.
        "CREATE INDEX deliveries_claimable ON deliveries (vendor, next_attempt_at, id)
            WHERE status IN ('pending', 'processing');",
    ),
    (
        4,
        // Secrets vendors gave in handshakes (Asana's X-Hook-Secret).
        "CREATE TABLE kept_secrets (
            vendor TEXT NOT NULL,
            secret TEXT NOT NULL,
            kept_at BIGINT NOT NULL,
            PRIMARY KEY (vendor, secret)
        );",
    ),
];

/// Set on every connection: the claim's plan looks costly enough for
/// PostgreSQL to JIT-compile it, 15 ms of compiling for a query that runs
/// in well under one.
const SESSION: &str = "SET jit = off; SET plan_cache_mode = force_custom_plan";

/// Marks the given new rows stale where a delivery of the same entity with
/// a higher sequence arrived before them (a lower id).
const MARK_STALE: &str = "UPDATE deliveries SET superseded_by = stale.newer
    FROM (SELECT d.id, (
            SELECT o.id FROM deliveries AS o
            WHERE o.vendor = d.vendor AND o.entity = d.entity AND o.sequence > d.sequence AND o.id < d.id
            ORDER BY o.sequence DESC, o.id DESC LIMIT 1) AS newer
          FROM deliveries AS d
          WHERE d.id = ANY($1) AND d.entity IS NOT NULL AND d.sequence IS NOT NULL) AS stale
    WHERE deliveries.id = stale.id AND stale.newer IS NOT NULL";

/// As SQLite's: no entity, or the first open one of an entity none of whose
/// rows is being handled (a processing row whose lease ran out counts as
/// open, not handled: it is claimed again first). Looked up through the
/// entity index: a status condition here let PostgreSQL pick the claimable
/// index instead and read every open row of the vendor per candidate
/// (5 ms a claim, measured).
const FIRST_OF_ITS_ENTITY: &str = "(d.entity IS NULL OR NOT EXISTS (
    SELECT 1 FROM deliveries AS o
    WHERE o.vendor = d.vendor AND o.entity = d.entity AND o.id <> d.id
      AND ((o.status = 'processing' AND o.locked_until >= $6)
           OR ((o.status = 'pending' OR o.status = 'processing')
               AND (coalesce(o.sequence, 0), o.id) < (coalesce(d.sequence, 0), d.id)))))";

/// The database's clock in milliseconds since the epoch: leases are set and
/// compared by it, so hosts whose clocks disagree still agree on them.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// The row is held by this attempt of this process.
const HELD: &str = "id = $1 AND attempts = $2 AND status = 'processing' AND locked_by = $3";

/// What each delivery of a batch became (new, or a duplicate with the
/// stored row's status), from the rows the INSERT returned, and the extra
/// duplicates per row that repeats within the batch add.
fn batch_outcomes(
    ds: &[NewDelivery],
    first: &std::collections::HashMap<(&str, &str), usize>,
    rows: &[::postgres::Row],
) -> Result<(Vec<Inserted>, std::collections::HashMap<i64, i32>)> {
    use std::collections::HashMap;
    let mut stored: HashMap<(String, String), (i64, i32, String)> = HashMap::new();
    for r in rows {
        stored.insert((r.get(1), r.get(2)), (r.get(0), r.get(3), r.get(4)));
    }
    let mut out = Vec::with_capacity(ds.len());
    let mut repeats: HashMap<i64, i32> = HashMap::new();
    for (i, d) in ds.iter().enumerate() {
        let Some((id, dups, status)) = stored.get(&(d.vendor.clone(), d.dedupe_key.clone())) else {
            return Err(StoreError::Backend(
                "the batch insert returned fewer rows than it was given".into(),
            ));
        };
        let status = Status::parse(status).ok_or_else(|| {
            StoreError::Backend(format!("the inbox holds an unknown status {status:?}").into())
        })?;
        let is_first = first[&(d.vendor.as_str(), d.dedupe_key.as_str())] == i;
        out.push(if is_first && *dups == 0 {
            Inserted::New(*id)
        } else {
            if !is_first {
                *repeats.entry(*id).or_default() += 1;
            }
            Inserted::Duplicate(*id, status)
        });
    }
    Ok((out, repeats))
}

/// An arbitrary constant: the advisory lock that serializes migrations.
const MIGRATION_LOCK: i64 = 0x686f_6f6b_666f_7267;
/// Another: the one that serializes keeping handshake secrets.
const KEPT_SECRETS_LOCK: i64 = 0x686f_6f6b_6b65_7074;

const COLUMNS: &str = "id, vendor, event_type, event_id, dedupe_key, body, headers::text, received_at, \
                       status, attempts, last_error, next_attempt_at, processed_at, duplicates, \
                       entity, sequence, superseded_by";

/// The connection. The `postgres` client blocks on its own runtime, also
/// when dropped, which panics inside async code (a store dropped when the
/// server stops): there it is dropped on a thread of its own.
struct Conn(Option<Client>);

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.0
            .as_ref()
            .expect("the client is taken only when dropped")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.0
            .as_mut()
            .expect("the client is taken only when dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(client));
        }
    }
}

/// PostgreSQL, shared by every receiver process pointed at the database.
pub struct PostgresStore {
    /// One connection per kind of work, so the receiver's inserts, the
    /// worker's claims and outcomes, and the dashboard's and gauges' reads
    /// never wait for each other's round trips (one shared connection held
    /// a process to about 1,300 deliveries/s).
    conns: [Mutex<Conn>; 3],
    /// Held while a role's connection is being replaced: one connect at a
    /// time per role (see `reopen`).
    reconnecting: [Mutex<()>; 3],
    /// How many reconnects each role has attempted: a caller that saw a
    /// failed connection reconnects only if nobody has tried since.
    generation: [std::sync::atomic::AtomicU64; 3],
    /// Connects made to replace a connection, for tests and operators.
    reconnects: std::sync::atomic::AtomicU64,
    /// Kept to reconnect a connection the server closed (a restart, a
    /// failover, an administrator's `pg_terminate_backend`); never printed.
    url: String,
    lease_ms: i64,
    /// This process, as written in `locked_by` (for operators).
    owner: String,
}

impl std::fmt::Debug for PostgresStore {
    // The connection string may hold a password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("lease_ms", &self.lease_ms)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// Which connection a call uses.
#[derive(Clone, Copy)]
enum Role {
    Insert = 0,
    Work = 1,
    Read = 2,
}

fn backend(e: ::postgres::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

impl PostgresStore {
    /// Connects, applies pending migrations, and takes leases of `lease`
    /// on claimed deliveries (make it longer than the handler timeout).
    pub fn connect(url: &str, lease: Duration) -> Result<PostgresStore> {
        let open = |e: ::postgres::Error| {
            StoreError::Backend(format!("cannot open the inbox at {}: {e}", redact_url(url)).into())
        };
        let mut client = session(url).map_err(open)?;
        migrate(&mut client).map_err(open)?;
        let more = |_| {
            session(url)
                .map(|c| Mutex::new(Conn(Some(c))))
                .map_err(open)
        };
        let (worker, reader) = (more(1)?, more(2)?);
        Ok(PostgresStore {
            conns: [Mutex::new(Conn(Some(client))), worker, reader],
            reconnecting: Default::default(),
            generation: Default::default(),
            reconnects: Default::default(),
            url: url.to_string(),
            lease_ms: lease.as_millis().min(i64::MAX as u128) as i64,
            owner: format!(
                "{}:{}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
                std::process::id()
            ),
        })
    }

    fn insert_batch(&self, ds: &[NewDelivery]) -> Result<Vec<Inserted>> {
        use std::collections::HashMap;
        // The first of each key goes into the INSERT; later ones are repeats.
        let mut first: HashMap<(&str, &str), usize> = HashMap::new();
        let mut unique = Vec::new();
        for (i, d) in ds.iter().enumerate() {
            first
                .entry((d.vendor.as_str(), d.dedupe_key.as_str()))
                .or_insert_with(|| {
                    unique.push(i);
                    i
                });
        }
        let col = |f: &dyn Fn(&NewDelivery) -> Option<String>| -> Vec<Option<String>> {
            unique.iter().map(|&i| f(&ds[i])).collect()
        };
        let vendors = col(&|d| Some(d.vendor.clone()));
        let types = col(&|d| Some(d.event_type.clone()));
        let ids = col(&|d| d.event_id.clone());
        let keys = col(&|d| Some(d.dedupe_key.clone()));
        let statuses = col(&|d| Some(d.first_status().as_str().to_string()));
        let errors = col(&|d| d.misfit.clone());
        let mut headers = Vec::with_capacity(unique.len());
        for &i in &unique {
            headers.push(serde_json::to_string(&ds[i].headers).map_err(|source| {
                StoreError::Encode {
                    what: "the headers",
                    source,
                }
            })?);
        }
        let bodies: Vec<&[u8]> = unique.iter().map(|&i| ds[i].body.as_slice()).collect();
        let received: Vec<i64> = unique.iter().map(|&i| ds[i].received_at_ms).collect();
        let entities = col(&|d| d.order.as_ref().map(|o| o.entity.clone()));
        let sequences: Vec<Option<i64>> = unique
            .iter()
            .map(|&i| ds[i].order.as_ref().and_then(|o| o.sequence))
            .collect();
        self.in_transaction(Role::Insert, |mut tx| {
        let rows = tx
            .query(
                "INSERT INTO deliveries (vendor, event_type, event_id, dedupe_key, body, headers, received_at, next_attempt_at, status, last_error,
                                         entity, sequence)
                 SELECT v, t, e, k, b, h::jsonb, r, r, s, l, n, q
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::bigint[], $8::text[], $9::text[],
                             $10::text[], $11::bigint[])
                      AS batch(v, t, e, k, b, h, r, s, l, n, q)
                 ON CONFLICT (vendor, dedupe_key) DO UPDATE SET duplicates = deliveries.duplicates + 1
                 RETURNING id, vendor, dedupe_key, duplicates, status",
                &[&vendors, &types, &ids, &keys, &bodies, &headers, &received, &statuses, &errors, &entities, &sequences],
            )
            .map_err(backend)?;
        if ds.iter().any(|d| d.order.is_some()) {
            let new: Vec<i64> = rows
                .iter()
                .filter(|r| r.get::<_, i32>(3) == 0)
                .map(|r| r.get(0))
                .collect();
            tx.execute(MARK_STALE, &[&new]).map_err(backend)?;
        }
        let (out, repeats) = batch_outcomes(ds, &first, &rows)?;
        for (id, n) in repeats {
            tx.execute(
                "UPDATE deliveries SET duplicates = duplicates + $2 WHERE id = $1",
                &[&id, &n],
            )
            .map_err(backend)?;
        }
        // The 2xx of every delivery in the batch waits for this.
        tx.commit().map_err(backend)?;
        Ok(out)
        })
    }

    /// The connection for `role`'s work. A panic while holding one leaves
    /// no transaction open: the `postgres` client rolls back a dropped one.
    /// One the server closed is opened again here; if that fails, the old
    /// one stays and the call fails with the server's error (a 503 to the
    /// vendor, who retries), and the next call tries again. Without this a
    /// database restart left every delivery refused until hookforge was.
    fn conn_for(&self, role: Role) -> std::sync::MutexGuard<'_, Conn> {
        let conn = self.lock(role);
        if !conn.is_closed() {
            return conn;
        }
        let seen = self.generation(role);
        // Connected without the lock held: a connect that waits (a host
        // that drops packets) holds up no other call of this role.
        drop(conn);
        self.reopen(role, seen, "the database closed a connection");
        self.lock(role)
    }

    /// `f` in a transaction on `role`'s connection. The server may have
    /// closed it without the client knowing yet (it learns on the next use):
    /// then the BEGIN fails, as closed or as an I/O error (`Connection reset
    /// by peer`, seen in CI), before anything of `f` was sent, and is made
    /// once more on a reopened connection, rather than refusing a second
    /// delivery for the one the closing already cost. A BEGIN the server
    /// itself refused (a database error) is not retried.
    fn in_transaction<T>(
        &self,
        role: Role,
        f: impl FnOnce(::postgres::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let seen = self.generation(role);
        {
            let mut conn = self.conn_for(role);
            match conn.transaction() {
                Ok(tx) => return f(tx),
                Err(e) if e.as_db_error().is_some() => return Err(backend(e)),
                Err(_) => {}
            }
        }
        self.reopen(role, seen, "the database closed a connection");
        let mut conn = self.conn_for(role);
        let tx = conn.transaction().map_err(backend)?;
        f(tx)
    }

    fn generation(&self, role: Role) -> u64 {
        self.generation[role as usize].load(Ordering::Acquire)
    }

    fn lock(&self, role: Role) -> std::sync::MutexGuard<'_, Conn> {
        self.conns[role as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces `role`'s connection with a new one, if one can be made.
    /// One connect at a time per role: a caller that finds one under way
    /// waits for it and uses what it made. Without this, every request
    /// during an outage connected on its own, and a database coming back
    /// met one connect per waiting request at once.
    ///
    /// `seen` is the role's `generation` when the caller found the
    /// connection failed: if a reconnect was tried since, it is not again.
    fn reopen(&self, role: Role, seen: u64, why: &str) {
        let gate = &self.reconnecting[role as usize];
        let _held = gate.lock().unwrap_or_else(|p| p.into_inner());
        let generation = &self.generation[role as usize];
        if generation.load(Ordering::Acquire) != seen {
            return;
        }
        self.reconnects.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("hookforge_store_reconnects_total").increment(1);
        match session(&self.url) {
            Ok(fresh) => {
                tracing::warn!(target: LOG, "{why}; reconnected");
                *self.lock(role) = Conn(Some(fresh));
            }
            Err(e) => tracing::warn!(target: LOG, error = %e, "{why}; reconnecting failed"),
        }
        // Failed or not, the callers that waited for this attempt use its
        // outcome (a 503 if it failed): they do not each try again in turn.
        generation.fetch_add(1, Ordering::Release);
    }

    /// How many connects this store has made to replace a connection.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    /// The worker's connection (claims, outcomes, leases, replays).
    fn conn(&self) -> std::sync::MutexGuard<'_, Conn> {
        self.conn_for(Role::Work)
    }

    /// The highest migration applied.
    pub fn schema_version(&self) -> Result<i32> {
        let row = self
            .conn_for(Role::Read)
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM hookforge_migrations",
                &[],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }
}

/// A connection with this store's session settings. Where the URL sets
/// none, connecting gives up after 10 s and unacknowledged writes after
/// 30 s, so a database that vanished (a failover, a dropped route) is
/// noticed instead of waited for until the kernel's TCP timeouts.
fn session(url: &str) -> Result<Client, ::postgres::Error> {
    let mut config: ::postgres::Config = url.parse()?;
    // Named in the URL at all (`connect_timeout=0` is libpq's "none"): theirs.
    if !url.contains("connect_timeout") {
        config.connect_timeout(Duration::from_secs(10));
    }
    if !url.contains("tcp_user_timeout") {
        config.tcp_user_timeout(Duration::from_secs(30));
    }
    let mut c = config.connect(NoTls)?;
    c.batch_execute(SESSION)?;
    Ok(c)
}

fn migrate(client: &mut Client) -> Result<(), ::postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS hookforge_migrations (
            version INTEGER PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )?;
    let done: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM hookforge_migrations",
            &[],
        )?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > done) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO hookforge_migrations (version) VALUES ($1)",
            &[version],
        )?;
    }
    tx.commit()
}

fn to_delivery(r: &PgRow) -> Result<StoredDelivery> {
    let bad = |what: String| StoreError::Backend(what.into());
    let status: String = r.try_get(8).map_err(backend)?;
    let status =
        Status::parse(&status).ok_or_else(|| bad(format!("unknown delivery status {status:?}")))?;
    let headers: String = r.try_get(6).map_err(backend)?;
    let headers = serde_json::from_str(&headers)
        .map_err(|e| bad(format!("stored headers are not a list of pairs: {e}")))?;
    let attempts: i32 = r.try_get(9).map_err(backend)?;
    let duplicates: i32 = r.try_get(13).map_err(backend)?;
    Ok(StoredDelivery {
        id: r.try_get(0).map_err(backend)?,
        vendor: r.try_get(1).map_err(backend)?,
        event_type: r.try_get(2).map_err(backend)?,
        event_id: r.try_get(3).map_err(backend)?,
        dedupe_key: r.try_get(4).map_err(backend)?,
        body: r.try_get(5).map_err(backend)?,
        headers,
        received_at_ms: r.try_get(7).map_err(backend)?,
        status,
        attempts: attempts.max(0) as u32,
        last_error: r.try_get(10).map_err(backend)?,
        next_attempt_at_ms: r.try_get(11).map_err(backend)?,
        processed_at_ms: r.try_get(12).map_err(backend)?,
        duplicates: duplicates.max(0) as u32,
        entity: r.try_get(14).map_err(backend)?,
        sequence: r.try_get(15).map_err(backend)?,
        superseded_by: r.try_get(16).map_err(backend)?,
    })
}

fn insert_row(tx: &mut ::postgres::Transaction<'_>, delivery: &NewDelivery) -> Result<Inserted> {
    let headers =
        serde_json::to_string(&delivery.headers).map_err(|source| StoreError::Encode {
            what: "the headers",
            source,
        })?;
    let status = delivery.first_status();
    let row = tx
        .query_one(
            "INSERT INTO deliveries (vendor, event_type, event_id, dedupe_key, body, headers, received_at, next_attempt_at, status, last_error,
                                     entity, sequence)
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $7, $8, $9, $10, $11)
             ON CONFLICT (vendor, dedupe_key) DO UPDATE SET duplicates = deliveries.duplicates + 1
             RETURNING id, duplicates, status",
            &[
                &delivery.vendor,
                &delivery.event_type,
                &delivery.event_id,
                &delivery.dedupe_key,
                &delivery.body,
                &headers,
                &delivery.received_at_ms,
                &status.as_str(),
                &delivery.misfit,
                &delivery.order.as_ref().map(|o| o.entity.as_str()),
                &delivery.order.as_ref().and_then(|o| o.sequence),
            ],
        )
        .map_err(backend)?;
    let id: i64 = row.get(0);
    let dups: i32 = row.get(1);
    let status: String = row.get(2);
    if dups == 0 && delivery.order.is_some() {
        tx.execute(MARK_STALE, &[&vec![id]]).map_err(backend)?;
    }
    Ok(if dups == 0 {
        Inserted::New(id)
    } else {
        Inserted::Duplicate(id, Status::parse(&status).unwrap_or(Status::Pending))
    })
}

impl Store for PostgresStore {
    fn insert_mode(&self) -> InsertMode {
        InsertMode::Batched
    }

    /// Each connection answers a round trip within two seconds (a closed
    /// one is reopened first), so `/health` turns 503 while the database
    /// is down instead of saying ok to an orchestrator.
    fn health(&self) -> Result<()> {
        let answers = |role| self.conn_for(role).is_valid(Duration::from_secs(2));
        for role in [Role::Insert, Role::Work, Role::Read] {
            let seen = self.generation(role);
            // A connection that fails the round trip (closed while idle, or
            // half open) is replaced, and asked once more.
            answers(role)
                .or_else(|_| {
                    self.reopen(role, seen, "a connection failed the health check");
                    answers(role)
                })
                .map_err(|e| {
                    StoreError::Backend(format!("the database does not answer: {e}").into())
                })?;
        }
        Ok(())
    }

    fn insert(&self, d: &NewDelivery) -> Result<Inserted> {
        self.in_transaction(Role::Insert, |mut tx| {
            let inserted = insert_row(&mut tx, d)?;
            // The 2xx waits for this: a failed COMMIT is an error here.
            tx.commit().map_err(backend)?;
            Ok(inserted)
        })
    }

    /// Group commit: one multi-row `INSERT … ON CONFLICT` in one
    /// transaction (a round trip per batch, not per row). A key repeated
    /// inside the batch is inserted once and its repeats counted as
    /// duplicates, as one-by-one inserts would. If anything fails, nothing
    /// of the batch is kept and each delivery is inserted on its own, so
    /// each gets its own exact answer.
    fn insert_many(&self, ds: &[NewDelivery]) -> Vec<Result<Inserted>> {
        if ds.len() < 2 {
            return ds.iter().map(|d| self.insert(d)).collect();
        }
        match self.insert_batch(ds) {
            Ok(all) => all.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::warn!(target: LOG, error = %e, deliveries = ds.len(), "batch insert failed; inserting one by one");
                ds.iter().map(|d| self.insert(d)).collect()
            }
        }
    }

    /// Claims due pending deliveries and deliveries whose lease expired
    /// (their process died), each with a fresh lease.
    fn claim(&self, now_ms: i64, limit: usize, only: Vendors<'_>) -> Result<Vec<StoredDelivery>> {
        let vendor_list: Option<Vec<String>> = match only {
            Vendors::Any => None,
            Vendors::Only(v) => Some(v.iter().map(|s| s.to_string()).collect()),
        };
        // The worker claims for one vendor at a time: then the claimable
        // index, in (vendor, due) order, yields the first rows and the scan
        // stops at the limit (with `ANY` it read and sorted the whole
        // backlog, 13 ms a claim behind 2,400 pending deliveries).
        let vendor_is = match only {
            Vendors::Only([_]) => "vendor = ($4::text[])[1]",
            _ => "($4::text[] IS NULL OR vendor = ANY($4))",
        };
        let mut conn = self.conn();
        // `id = ANY(ARRAY(…))`: the chosen ids, each found by its key. One
        // reading of the database's clock for the whole statement, in a
        // round trip of its own: as a subquery in the claim it changed the
        // plan (3.9 ms a claim instead of 0.16 ms, measured).
        let db_now: i64 = conn
            .query_one(&format!("SELECT {DB_NOW_MS}"), &[])
            .map_err(backend)?
            .get(0);
        let rows = conn
            .query(
                &format!(
                    "UPDATE deliveries SET status = 'processing', attempts = attempts + 1,
                            locked_until = {DB_NOW_MS} + $3, locked_by = $5
                     WHERE id = ANY(ARRAY(
                        SELECT id FROM deliveries AS d
                        WHERE status IN ('pending', 'processing')
                          AND ((status = 'pending' AND next_attempt_at <= $1)
                               OR (status = 'processing' AND locked_until < $6))
                          AND {vendor_is}
                          AND {FIRST_OF_ITS_ENTITY}
                        ORDER BY next_attempt_at, id
                        LIMIT $2
                        FOR UPDATE SKIP LOCKED))
                     RETURNING {COLUMNS}"
                ),
                &[
                    &now_ms,
                    &(limit as i64),
                    &self.lease_ms,
                    &vendor_list,
                    &self.owner,
                    &db_now,
                ],
            )
            .map_err(backend)?;
        let mut out = rows
            .iter()
            .map(to_delivery)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|d| (d.next_attempt_at_ms, d.id));
        Ok(out)
    }

    fn complete_many(&self, done: &[(Attempt, i64)]) -> Result<Vec<bool>> {
        let mut conn = self.conn();
        let mut tx = conn.transaction().map_err(backend)?;
        let stmt = tx
            .prepare(&format!(
                "UPDATE deliveries SET status = 'done', processed_at = $4, last_error = NULL,
                        locked_until = NULL, locked_by = NULL
                 WHERE {HELD}"
            ))
            .map_err(backend)?;
        let mut out = Vec::with_capacity(done.len());
        for (attempt, at) in done {
            let n = tx
                .execute(
                    &stmt,
                    &[&attempt.id, &(attempt.number as i32), &self.owner, at],
                )
                .map_err(backend)?;
            out.push(n == 1);
        }
        tx.commit().map_err(backend)?;
        Ok(out)
    }

    fn fail(&self, attempt: Attempt, error: &str, retry_at_ms: Option<i64>) -> Result<bool> {
        let mut conn = self.conn();
        let (id, number) = (attempt.id, attempt.number as i32);
        let n = match retry_at_ms {
            Some(at) => conn.execute(
                &format!(
                    "UPDATE deliveries SET status = 'pending', last_error = $4, next_attempt_at = $5,
                            locked_until = NULL, locked_by = NULL
                     WHERE {HELD}"
                ),
                &[&id, &number, &self.owner, &error, &at],
            ),
            None => conn.execute(
                &format!(
                    "UPDATE deliveries SET status = 'dead', last_error = $4, locked_until = NULL, locked_by = NULL
                     WHERE {HELD}"
                ),
                &[&id, &number, &self.owner, &error],
            ),
        }
        .map_err(backend)?;
        Ok(n == 1)
    }

    fn lease(&self) -> Option<Duration> {
        Some(Duration::from_millis(self.lease_ms as u64))
    }

    fn renew(&self, attempt: Attempt) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                &format!("UPDATE deliveries SET locked_until = {DB_NOW_MS} + $4 WHERE {HELD}"),
                &[
                    &attempt.id,
                    &(attempt.number as i32),
                    &self.owner,
                    &self.lease_ms,
                ],
            )
            .map_err(backend)?;
        Ok(n == 1)
    }

    /// Returns to pending only deliveries whose lease expired: other
    /// processes may be working on the rest right now.
    fn recover(&self) -> Result<usize> {
        let n = self
            .conn()
            .execute(
                &format!(
                    "UPDATE deliveries SET status = 'pending', locked_until = NULL, locked_by = NULL
                     WHERE status = 'processing' AND locked_until < {DB_NOW_MS}"
                ),
                &[],
            )
            .map_err(backend)?;
        Ok(n as usize)
    }

    fn list(&self, status: Option<Status>, limit: usize) -> Result<Vec<StoredDelivery>> {
        let status = status.map(Status::as_str);
        let rows = self
            .conn_for(Role::Read)
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM deliveries WHERE ($1::text IS NULL OR status = $1) ORDER BY id LIMIT $2"
                ),
                &[&status, &(limit.min(i64::MAX as usize) as i64)],
            )
            .map_err(backend)?;
        rows.iter().map(to_delivery).collect()
    }

    fn counts(&self) -> Result<Vec<(String, Status, u64)>> {
        let rows = self
            .conn_for(Role::Read)
            .query(
                "SELECT vendor, status, COUNT(*) FROM deliveries GROUP BY vendor, status",
                &[],
            )
            .map_err(backend)?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let status: String = r.get(1);
                Some((r.get(0), Status::parse(&status)?, r.get::<_, i64>(2) as u64))
            })
            .collect())
    }

    fn search(&self, query: &Search, offset: usize, limit: usize) -> Result<SearchPage> {
        const WHERE: &str = "($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR vendor = $2)
             AND ($3::text IS NULL OR strpos(event_type, $3) > 0)
             AND ($4::bigint IS NULL OR received_at >= $4) AND ($5::bigint IS NULL OR received_at <= $5)";
        let status = query.status.map(Status::as_str);
        let mut conn = self.conn_for(Role::Read);
        let total: i64 = conn
            .query_one(
                &format!("SELECT COUNT(*) FROM deliveries WHERE {WHERE}"),
                &[
                    &status,
                    &query.vendor,
                    &query.event,
                    &query.since_ms,
                    &query.until_ms,
                ],
            )
            .map_err(backend)?
            .get(0);
        // Lists never read bodies: a page of large deliveries stays small.
        let columns = COLUMNS.replace("body,", "''::bytea AS body,");
        let rows = conn
            .query(
                &format!(
                    "SELECT {columns} FROM deliveries WHERE {WHERE} ORDER BY id DESC LIMIT $6 OFFSET $7"
                ),
                &[
                    &status,
                    &query.vendor,
                    &query.event,
                    &query.since_ms,
                    &query.until_ms,
                    &(limit.min(i64::MAX as usize) as i64),
                    &(offset.min(i64::MAX as usize) as i64),
                ],
            )
            .map_err(backend)?;
        let page = rows
            .iter()
            .map(to_delivery)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((page, total as u64))
    }

    fn find(&self, vendor: &str, dedupe_key: &str) -> Result<Vec<StoredDelivery>> {
        let rows = self
            .conn_for(Role::Read)
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM deliveries WHERE vendor = $1 AND dedupe_key = $2 ORDER BY id"
                ),
                &[&vendor, &dedupe_key],
            )
            .map_err(backend)?;
        rows.iter().map(to_delivery).collect()
    }

    fn get(&self, id: i64) -> Result<Option<StoredDelivery>> {
        let row = self
            .conn_for(Role::Read)
            .query_opt(
                &format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1"),
                &[&id],
            )
            .map_err(backend)?;
        row.as_ref().map(to_delivery).transpose()
    }

    fn start(&self, id: i64) -> Result<Option<Attempt>> {
        let row = self
            .conn()
            .query_opt(
                &format!(
                    "UPDATE deliveries SET status = 'processing', attempts = attempts + 1,
                            locked_until = {DB_NOW_MS} + $2, locked_by = $3
                     WHERE id = $1 AND status = 'pending' RETURNING attempts"
                ),
                &[&id, &self.lease_ms, &self.owner],
            )
            .map_err(backend)?;
        Ok(row.map(|r| Attempt {
            id,
            number: r.get::<_, i32>(0) as u32,
        }))
    }

    fn requeue(&self, id: i64) -> Result<bool> {
        let mut conn = self.conn();
        let n = conn
            .execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2,
                        locked_until = NULL, locked_by = NULL
                 WHERE id = $1 AND status <> 'processing'",
                &[&id, &now_ms()],
            )
            .map_err(backend)?;
        if n > 0 {
            return Ok(true);
        }
        let busy = conn
            .query_opt(
                "SELECT id FROM deliveries WHERE id = $1 AND status = 'processing'",
                &[&id],
            )
            .map_err(backend)?;
        match busy {
            Some(_) => Err(StoreError::Busy { id }),
            None => Ok(false),
        }
    }

    fn release(&self, id: i64) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = $2
                 WHERE id = $1 AND status = 'quarantined'",
                &[&id, &now_ms()],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn requarantine(&self, id: i64, error: &str) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE deliveries SET last_error = $2 WHERE id = $1 AND status = 'quarantined'",
                &[&id, &error],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn purge_done(&self, before_ms: i64, forget_before_ms: i64) -> Result<usize> {
        let mut conn = self.conn();
        let emptied = conn
            .execute(
                "UPDATE deliveries SET body = ''::bytea, headers = '[]'::jsonb
                 WHERE status = 'done' AND processed_at < $1 AND length(body) > 0",
                &[&before_ms],
            )
            .map_err(backend)?;
        conn.execute(
            "DELETE FROM deliveries WHERE status = 'done' AND processed_at < $1",
            &[&forget_before_ms],
        )
        .map_err(backend)?;
        Ok(emptied as usize)
    }

    fn stats(&self) -> Result<InboxStats> {
        let mut conn = self.conn_for(Role::Read);
        let rows = conn
            .query(
                "SELECT status, COUNT(*) FROM deliveries GROUP BY status",
                &[],
            )
            .map_err(backend)?;
        let counts: std::collections::HashMap<String, i64> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let oldest: Option<i64> = conn
            .query_one(
                "SELECT MIN(received_at) FROM deliveries WHERE status = 'pending'",
                &[],
            )
            .map_err(backend)?
            .get(0);
        Ok(InboxStats {
            by_status: Status::ALL
                .iter()
                .map(|st| {
                    (
                        *st,
                        counts.get(st.as_str()).copied().unwrap_or(0).max(0) as u64,
                    )
                })
                .collect(),
            oldest_pending_received_at_ms: oldest,
        })
    }

    /// The soonest due pending delivery, or expiring lease.
    fn next_due(&self) -> Result<Option<i64>> {
        let row = self
            .conn_for(Role::Read)
            .query_one(
                "SELECT MIN(t) FROM (
                    SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status = 'pending'
                    UNION ALL
                    SELECT MIN(locked_until) FROM deliveries WHERE status = 'processing'
                 ) due",
                &[],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn keep_secret(&self, vendor: &str, secret: &crate::auth::Secret, keep: Keep) -> Result<bool> {
        let mut conn = self.conn_for(Role::Insert);
        let mut tx = conn.transaction().map_err(backend)?;
        // Receivers sharing the database take turns: under READ COMMITTED two
        // first handshakes would both see no secret and both be kept.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&KEPT_SECRETS_LOCK])
            .map_err(backend)?;
        tx.execute(
            "INSERT INTO kept_secrets (vendor, secret, kept_at)
             SELECT $1, $2, $3
             WHERE $4 OR NOT EXISTS (SELECT 1 FROM kept_secrets WHERE vendor = $1 AND secret <> $2)
             ON CONFLICT DO NOTHING",
            &[&vendor, &secret.expose(), &now_ms(), &(keep == Keep::Also)],
        )
        .map_err(backend)?;
        let kept: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM kept_secrets WHERE vendor = $1 AND secret = $2)",
                &[&vendor, &secret.expose()],
            )
            .map_err(backend)?
            .get(0);
        tx.commit().map_err(backend)?;
        Ok(kept)
    }

    fn kept_secrets(&self, vendor: &str) -> Result<Vec<crate::auth::Secret>> {
        let rows = self
            .conn_for(Role::Read)
            .query(
                "SELECT secret FROM kept_secrets WHERE vendor = $1 ORDER BY kept_at, secret",
                &[&vendor],
            )
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| crate::auth::Secret::new(r.get::<_, String>(0)))
            .collect())
    }

    fn forget_secrets(&self, vendor: &str) -> Result<usize> {
        let n = self
            .conn_for(Role::Insert)
            .execute("DELETE FROM kept_secrets WHERE vendor = $1", &[&vendor])
            .map_err(backend)?;
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@127.0.0.1:5432/inbox"),
            "postgres://app@127.0.0.1:5432/inbox"
        );
        assert_eq!(
            redact_url("postgres://127.0.0.1/inbox"),
            "postgres://127.0.0.1:5432/inbox"
        );
        // The keyword form, and a password as a query parameter.
        assert_eq!(
            redact_url("host=db.internal port=5433 user=app password=s3cret dbname=inbox"),
            "postgres://app@db.internal:5433/inbox"
        );
        assert_eq!(
            redact_url("postgresql://app@localhost/inbox?password=s3cret&sslmode=disable"),
            "postgres://app@localhost:5432/inbox"
        );
        let unreadable = redact_url("postgres://app:s3cret@[bad");
        assert!(!unreadable.contains("s3cret"), "{unreadable}");
    }

    /// A database host that drops packets (a failover whose name still
    /// points at the old host): the connect gives up after 10 s rather than
    /// the kernel's SYN retries (about 2 min). Made on loopback with a
    /// listener whose accept queue is full, so the kernel drops new SYNs
    /// (filled by trying, not by assuming its size: helper-55).
    #[test]
    fn a_connect_to_a_host_that_drops_packets_gives_up() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let socket = runtime
            .block_on(async { tokio::net::TcpSocket::new_v4() })
            .unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        let listener = runtime.block_on(async { socket.listen(1) }).unwrap();
        // Connections nobody accepts fill the queue (its size is the
        // kernel's: connect until one is not answered, at most 8).
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut queued = Vec::new();
        while queued.len() < 8 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(c) => queued.push(c),
                Err(_) => break,
            }
        }
        assert!(queued.len() < 8, "the accept queue never filled");
        let url = format!("postgres://app@127.0.0.1:{port}/inbox");
        let (done, outcome) = std::sync::mpsc::channel();
        let started = std::time::Instant::now();
        std::thread::spawn(move || drop(done.send(session(&url).map(drop))));
        let answer = outcome
            .recv_timeout(Duration::from_secs(30))
            .expect("still connecting after 30 s");
        let took = started.elapsed();
        let error = answer.expect_err("connected to a host that drops packets");
        // At the timeout, not sooner (a kernel with few SYN retries could
        // give up first, and prove nothing about ours).
        assert!(
            took >= Duration::from_secs(9),
            "gave up after {took:?}: {error}"
        );
        drop((queued, listener));
    }
}
