//! The SQLite store.

/// Log lines keep the target they had when this was `hookforge::receive::store::sqlite`.
const LOG: &str = "hookforge::receive::store::sqlite";

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::*;

/// SQLite, embedded, in WAL mode. By default every commit is synced to disk
/// before it returns ([`SyncMode::Full`]), so an acknowledged delivery survives a
/// power cut or a kernel crash, not only the process being killed; the
/// group-commit writer makes that one sync per batch of deliveries.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Dropped with the store: the checkpointer thread finishes, and is
    /// waited for.
    _checkpointer: Option<Checkpointer>,
    /// The WAL's file and its size limit in bytes, when the checkpointer
    /// runs (see [`SqliteStore::keep_wal_short`]).
    wal: Option<(PathBuf, u64)>,
    /// The database file and its WAL as opened, to notice either deleted or
    /// replaced: commits into an unlinked WAL that the checkpointer has not
    /// yet copied are lost at the next start (24 of 1,100 acknowledged ones
    /// after `rm inbox.db-wal` and a `kill -9`).
    files: Vec<FileIdentity>,
}

/// A file by path and by identity (device, inode): a path whose file was
/// deleted or replaced no longer has the identity the store opened.
struct FileIdentity {
    path: PathBuf,
    id: (u64, u64),
}

impl FileIdentity {
    #[cfg(unix)]
    fn of(path: &Path) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileIdentity {
            path: path.to_path_buf(),
            id: (m.dev(), m.ino()),
        })
    }

    #[cfg(not(unix))]
    fn of(_path: &Path) -> Option<FileIdentity> {
        None
    }

    fn still_there(&self) -> bool {
        FileIdentity::of(&self.path).is_some_and(|now| now.id == self.id)
    }
}

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The WAL's size past which the writer makes it start over. SQLite starts
/// the WAL over only when a write begins with everything in it copied to the
/// database file. The checkpointer never blocks the writer, so under a
/// steady stream of commits that moment never came: at 3,000 deliveries a
/// second the WAL grew to 447 MB in 15 s (for an 11 MB database), at full
/// load to 700 MB in 8 s, and it kept that size afterwards. Large, because
/// starting over costs the batch that does it a checkpoint's copying and
/// `fsync`s (tens of milliseconds at full load on our machine).
const WAL_LIMIT_BYTES: u64 = 256 << 20;

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
-- Secrets vendors gave in handshakes (Asana's X-Hook-Secret).
CREATE TABLE IF NOT EXISTS kept_secrets (
    vendor TEXT NOT NULL,
    secret TEXT NOT NULL,
    kept_at INTEGER NOT NULL,
    PRIMARY KEY (vendor, secret)
);
-- Inboxes written before dead letters had their name.
UPDATE deliveries SET status = 'dead' WHERE status = 'failed';
";

/// Columns added since the first inbox files, with their types: added to an
/// older file when it is opened.
const ADDED_COLUMNS: [(&str, &str); 3] = [
    ("entity", "TEXT"),
    ("sequence", "INTEGER"),
    ("superseded_by", "INTEGER"),
];

/// Per-entity order: a new delivery looks up the newest of its entity; a
/// claim, the entity's open deliveries only (not its whole history).
const ENTITY_INDEX: &str = "CREATE INDEX IF NOT EXISTS deliveries_entity
    ON deliveries (vendor, entity, sequence) WHERE entity IS NOT NULL;
    CREATE INDEX IF NOT EXISTS deliveries_open_entity
    ON deliveries (vendor, entity, sequence, id)
    WHERE entity IS NOT NULL AND status IN ('pending', 'processing')";

const COLUMNS: &str = "id, vendor, event_type, event_id, dedupe_key, body, headers, received_at, \
                       status, attempts, last_error, next_attempt_at, processed_at, duplicates, \
                       entity, sequence, superseded_by";

/// When a commit reaches the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SyncMode {
    /// Every commit is synced before it returns (`synchronous=FULL`): an
    /// acknowledged delivery survives a power cut.
    #[default]
    Full,
    /// Commits are synced only at checkpoints (`synchronous=NORMAL`): an
    /// acknowledged delivery survives the process being killed, but a power
    /// cut or kernel crash can take the last ~100 ms of them.
    Normal,
}

/// How to open a [`SqliteStore`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SqliteOptions {
    pub sync: SyncMode,
    /// A SQLite VFS registered by the application (default: the OS's).
    pub vfs: Option<String>,
}

/// A connection that can only read `path`, waiting up to 5 s on a lock.
fn read_only_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (or creates) the inbox at `path`, every commit synced.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        Self::open_with(path, &SqliteOptions::default())
    }

    pub fn open_with(path: &Path, options: &SqliteOptions) -> Result<SqliteStore> {
        Self::open_with_wal_limit(path, options, WAL_LIMIT_BYTES)
    }

    fn open_with_wal_limit(
        path: &Path,
        options: &SqliteOptions,
        wal_limit: u64,
    ) -> Result<SqliteStore> {
        let open = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let connect = || match &options.vfs {
            Some(vfs) => Connection::open_with_flags_and_vfs(
                path,
                rusqlite::OpenFlags::default(),
                vfs.as_str(),
            ),
            None => Connection::open(path),
        };
        let sync = match options.sync {
            SyncMode::Full => "FULL",
            SyncMode::Normal => "NORMAL",
        };
        let conn = connect().map_err(open)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open)?;
        conn.pragma_update(None, "synchronous", sync)
            .map_err(open)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(open)?;
        // SQLite is built with STAT4, which recompiles a statement whenever
        // a bound value its plan might depend on changes: the worker's claim
        // binds a new `now` each time, and recompiling it took about half
        // of its time, holding the connection the writer waits for. Our
        // queries have one sensible plan each, so keep the first.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(open)?;
        conn.execute_batch(SCHEMA).map_err(open)?;
        add_columns(&conn).map_err(open)?;
        // Checkpoints (and, with `synchronous=NORMAL`, the only fsyncs) run
        // on their own connection and thread: left to SQLite, every
        // thousandth page makes one commit wait for them, and the requests
        // riding on that commit with it (that set the receiver's p99).
        let checkpoints = connect().map_err(open)?;
        checkpoints
            .busy_timeout(Duration::from_secs(5))
            .map_err(open)?;
        // The file is cut back to the limit when the WAL starts over: a
        // burst does not keep its disk space, and the file outgrows the
        // limit only when the WAL runs past it.
        conn.pragma_update(None, "journal_size_limit", wal_limit as i64)
            .map_err(open)?;
        let checkpointer = match spawn_checkpointer(checkpoints) {
            Ok(tx) => {
                conn.pragma_update(None, "wal_autocheckpoint", 0)
                    .map_err(open)?;
                Some(tx)
            }
            Err(e) => {
                // Still correct, only slower at the tail: SQLite checkpoints.
                tracing::warn!(target: LOG, error = %e, "cannot start the checkpoint thread; SQLite checkpoints on commit");
                None
            }
        };
        // SQLite puts the WAL beside the file a symlink names, not the link.
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut wal_path = real.into_os_string();
        wal_path.push("-wal");
        let wal_path = PathBuf::from(wal_path);
        // The schema's write above made the WAL; it keeps its inode while
        // this process holds the database open (a restart truncates it).
        let files: Vec<FileIdentity> = [path, wal_path.as_path()]
            .into_iter()
            .filter_map(FileIdentity::of)
            .collect();
        if cfg!(unix) && files.len() < 2 {
            tracing::warn!(target: LOG, path = %path.display(), "cannot take the inbox's or its WAL's identity: their deletion will not be noticed");
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            wal: checkpointer.is_some().then_some((wal_path, wal_limit)),
            _checkpointer: checkpointer,
            files,
        })
    }

    /// Whether the SQLite file at `path` holds an inbox (its `deliveries`
    /// table), read without writing: the commands that inspect an inbox
    /// must not make one out of another application's database.
    pub fn holds_inbox(path: &Path) -> Result<bool> {
        let open = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = read_only_connection(path).map_err(open)?;
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(open)
    }

    /// Opens an inbox another process writes, to read it only: fails when
    /// the file does not exist or is not an inbox (never creates one).
    pub fn open_read_only(path: &Path) -> Result<SqliteStore> {
        let open = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = read_only_connection(path).map_err(open)?;
        conn.query_row("SELECT count(*) FROM deliveries", [], |_| Ok(()))
            .map_err(open)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            _checkpointer: None,
            wal: None,
            files: Vec::new(),
        })
    }

    /// Makes the WAL start over when it has run past its limit: copies what
    /// the checkpointer has not copied yet, here, where no other commit can
    /// slip in, so the next commit writes the WAL from its start (and cuts
    /// its file back to the limit). Costs the batch that runs it about one
    /// checkpoint's copying and `fsync`s, once per limit's worth of WAL. When it cannot
    /// finish (the checkpointer is busy, a reader holds an old snapshot), the
    /// next batch tries again; such a try returns at once, as `PASSIVE` never
    /// waits.
    fn keep_wal_short(&self, conn: &Connection) {
        let Some((path, limit)) = &self.wal else {
            return;
        };
        if std::fs::metadata(path).is_ok_and(|m| m.len() > *limit)
            && let Err(e) = checkpoint_passive(conn)
        {
            tracing::warn!(target: LOG, error = %e, "cannot checkpoint the SQLite inbox's WAL");
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent:
        // every write is one statement or one transaction.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Brings an inbox file written by an older hookforge up to date: the
/// columns added since, and their index.
fn add_columns(conn: &Connection) -> rusqlite::Result<()> {
    let have: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('deliveries')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (name, kind) in ADDED_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE deliveries ADD COLUMN {name} {kind}"))?;
        }
    }
    conn.execute_batch(ENTITY_INDEX)
}

/// Copies into the database file what it can of the WAL without waiting
/// for anyone.
fn checkpoint_passive(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// Copies committed WAL pages into the database file now and then
/// (`PASSIVE`: never blocks the writer), and once more when the store is
/// dropped. A failing checkpoint is logged and tried again: the WAL only
/// grows meanwhile, and nothing committed is at risk.
fn spawn_checkpointer(conn: Connection) -> std::io::Result<Checkpointer> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let checkpoint = move || {
        if let Err(e) = checkpoint_passive(&conn) {
            tracing::warn!(target: LOG, error = %e, "cannot checkpoint the SQLite inbox's WAL");
        }
    };
    let thread = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(CHECKPOINT_EVERY)
            {
                checkpoint();
            }
            checkpoint();
        })?;
    Ok(Checkpointer {
        stop: Some(tx),
        thread: Some(thread),
    })
}

/// The checkpointer thread: told to finish and joined when dropped, so its
/// last checkpoint and the close of its connection (which touch the WAL
/// and shared-memory files) are over once the store is gone. Without the
/// join, a caller removing the inbox's directory raced them.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            // A panicked checkpointer has nothing left to finish.
            let _ = t.join();
        }
    }
}

/// A delivery's columns that need encoding first.
struct Row {
    headers: String,
    status: Status,
}

impl Row {
    fn of(d: &NewDelivery) -> Result<Row> {
        let headers = serde_json::to_string(&d.headers).map_err(|source| StoreError::Encode {
            what: "the headers",
            source,
        })?;
        let status = d.first_status();
        Ok(Row { headers, status })
    }
}

/// The worker's claim: the due pending deliveries, oldest first, marked as
/// processing in the same statement.
fn claim_sql() -> String {
    format!(
        "UPDATE deliveries SET status = 'processing', attempts = attempts + 1
         WHERE id IN (SELECT id FROM deliveries AS d WHERE status = 'pending' AND next_attempt_at <= ?1
                      AND (?3 IS NULL OR vendor IN (SELECT value FROM json_each(?3)))
                      AND {FIRST_OF_ITS_ENTITY}
                      ORDER BY next_attempt_at, id LIMIT ?2)
         RETURNING {COLUMNS}"
    )
}

/// A delivery without an entity, or the first of its entity's open ones
/// (lowest sequence, then arrival) while none of them is being handled:
/// one entity's deliveries reach the handler one at a time, in order.
const FIRST_OF_ITS_ENTITY: &str = "(d.entity IS NULL OR NOT EXISTS (
    SELECT 1 FROM deliveries AS o
    WHERE o.vendor = d.vendor AND o.entity = d.entity AND o.id <> d.id
      AND o.status IN ('pending', 'processing')
      AND (o.status = 'processing'
           OR (o.status = 'pending'
               AND (coalesce(o.sequence, 0), o.id) < (coalesce(d.sequence, 0), d.id)))))";

/// The newest delivery of the same entity with a higher sequence, if one
/// is stored: the new one is stale.
fn superseded_by(tx: &Connection, d: &NewDelivery) -> rusqlite::Result<Option<i64>> {
    let Some(place) = &d.order else {
        return Ok(None);
    };
    let Some(sequence) = place.sequence else {
        return Ok(None);
    };
    tx.prepare_cached(
        "SELECT id FROM deliveries WHERE vendor = ?1 AND entity = ?2 AND sequence > ?3
         ORDER BY sequence DESC, id DESC LIMIT 1",
    )?
    .query_row(params![d.vendor, place.entity, sequence], |r| r.get(0))
    .optional()
}

/// Inserts one delivery in the open transaction, or counts a duplicate.
fn insert_row(tx: &Connection, d: &NewDelivery, row: &Row) -> Result<Inserted> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO deliveries (vendor, event_type, event_id, dedupe_key, body, headers, received_at, next_attempt_at, status, last_error,
                                 entity, sequence, superseded_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (vendor, dedupe_key) DO UPDATE SET duplicates = duplicates + 1
         RETURNING id, duplicates, status",
    )?;
    let newer = superseded_by(tx, d)?;
    let (id, dups, status): (i64, u32, String) = stmt.query_row(
        params![
            d.vendor,
            d.event_type,
            d.event_id,
            d.dedupe_key,
            d.body,
            row.headers,
            d.received_at_ms,
            row.status.as_str(),
            d.misfit,
            d.order.as_ref().map(|o| &o.entity),
            d.order.as_ref().and_then(|o| o.sequence),
            newer
        ],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(if dups == 0 {
        Inserted::New(id)
    } else {
        Inserted::Duplicate(id, Status::parse(&status).unwrap_or(Status::Pending))
    })
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
        duplicates: count(r.get(13)?),
        entity: r.get(14)?,
        sequence: r.get(15)?,
        superseded_by: r.get(16)?,
    })
}

/// A stored tally as the model holds it; a negative one (written by hand
/// into the file) reads as 0, as the PostgreSQL store reads it. Not for
/// `attempts`, which the lease compares: a count that does not fit is an
/// error there.
fn count(n: i64) -> u32 {
    n.clamp(0, i64::from(u32::MAX)) as u32
}

impl SqliteStore {
    /// A commit into a file deleted or replaced since it was opened is lost
    /// at the next start: refused, so nothing is acknowledged from it.
    fn still_there(&self) -> Result<()> {
        match self.files.iter().find(|f| !f.still_there()) {
            Some(f) => Err(StoreError::Gone {
                path: f.path.clone(),
            }),
            None => Ok(()),
        }
    }
}

impl SqliteStore {
    /// After a commit: the file is still the inbox, or the rows the commit
    /// added are taken back out (through the connection that still holds
    /// the moved file) and the answer is `Gone`: they are answered 503, so
    /// the worker must not find them. Rows acknowledged before the move
    /// stay, and the worker still drains them.
    fn kept_or_taken_back(&self, conn: &Connection, inserted: &[Inserted]) -> Result<()> {
        let Err(gone) = self.still_there() else {
            return Ok(());
        };
        for id in inserted.iter().filter_map(|i| match i {
            Inserted::New(id) => Some(id),
            Inserted::Duplicate(..) => None,
        }) {
            if let Err(e) = conn.execute("DELETE FROM deliveries WHERE id = ?1", [id]) {
                tracing::error!(target: LOG, error = %e, id, "cannot take back a delivery committed to a moved inbox file");
            }
        }
        Err(gone)
    }
}

impl Store for SqliteStore {
    fn insert_mode(&self) -> InsertMode {
        InsertMode::Batched
    }

    fn health(&self) -> Result<()> {
        self.still_there()
    }

    fn insert(&self, d: &NewDelivery) -> Result<Inserted> {
        let row = Row::of(d)?;
        // Checked before as well as after: a file already moved or deleted
        // takes no commit at all (answered 503, the row would still be
        // there for this process's worker to handle).
        self.still_there()?;
        let mut conn = self.conn();
        self.keep_wal_short(&conn);
        // An explicit transaction: the 2xx depends on the COMMIT, and only an
        // explicit commit reports its failure (a full disk, a file-size
        // limit). `query_row` on an autocommit INSERT … RETURNING does not
        // step the statement to the end, so a failed commit went unseen.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let inserted = insert_row(&tx, d, &row)?;
        tx.commit()?;
        self.kept_or_taken_back(&conn, &[inserted])?;
        Ok(inserted)
    }

    /// Group commit: one transaction for the whole batch. If anything in it
    /// fails (a row, the commit), nothing of it is kept and each delivery is
    /// inserted on its own, so each gets its own exact answer. (A file found
    /// gone after the commit fails the batch too: what it committed went to
    /// the unlinked file, and each delivery is then refused.)
    fn insert_many(&self, ds: &[NewDelivery]) -> Vec<Result<Inserted>> {
        if ds.len() < 2 {
            return ds.iter().map(|d| self.insert(d)).collect();
        }
        let together = (|| -> Result<Vec<Inserted>> {
            let rows = ds.iter().map(Row::of).collect::<Result<Vec<_>, _>>()?;
            self.still_there()?;
            let mut conn = self.conn();
            self.keep_wal_short(&conn);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut out = Vec::with_capacity(ds.len());
            for (d, row) in ds.iter().zip(&rows) {
                out.push(insert_row(&tx, d, row)?);
            }
            tx.commit()?;
            self.kept_or_taken_back(&conn, &out)?;
            Ok(out)
        })();
        match together {
            Ok(all) => all.into_iter().map(Ok).collect(),
            Err(_) => ds.iter().map(|d| self.insert(d)).collect(),
        }
    }

    fn claim(&self, now_ms: i64, limit: usize, only: Vendors<'_>) -> Result<Vec<StoredDelivery>> {
        let only = only.json();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let rows = {
            let mut stmt = tx.prepare_cached(&claim_sql())?;
            stmt.query_map(params![now_ms, limit as i64, only], row_to_delivery)?
                .collect::<Result<Vec<_>, _>>()?
        };
        tx.commit()?;
        let mut rows = rows;
        rows.sort_by_key(|d| (d.next_attempt_at_ms, d.id));
        Ok(rows)
    }

    /// One transaction for all of them (the worker's share of group commit).
    fn complete_many(&self, done: &[(Attempt, i64)]) -> Result<Vec<bool>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(done.len());
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE deliveries SET status = 'done', processed_at = ?3, last_error = NULL
                 WHERE id = ?1 AND attempts = ?2 AND status = 'processing'",
            )?;
            for (attempt, at) in done {
                out.push(stmt.execute(params![attempt.id, attempt.number, at])? == 1);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn fail(&self, attempt: Attempt, error: &str, retry_at_ms: Option<i64>) -> Result<bool> {
        let held = "id = ?1 AND attempts = ?2 AND status = 'processing'";
        let n = match retry_at_ms {
            Some(at) => self.conn().execute(
                &format!("UPDATE deliveries SET status = 'pending', last_error = ?3, next_attempt_at = ?4 WHERE {held}"),
                params![attempt.id, attempt.number, error, at],
            )?,
            None => self.conn().execute(
                &format!("UPDATE deliveries SET status = 'dead', last_error = ?3 WHERE {held}"),
                params![attempt.id, attempt.number, error],
            )?,
        };
        Ok(n == 1)
    }

    fn recover(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE deliveries SET status = 'pending' WHERE status = 'processing'",
            [],
        )?)
    }

    fn list(&self, status: Option<Status>, limit: usize) -> Result<Vec<StoredDelivery>> {
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

    fn counts(&self) -> Result<Vec<(String, Status, u64)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT vendor, status, COUNT(*) FROM deliveries GROUP BY vendor, status",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(v, s, n)| Some((v, Status::parse(&s)?, n as u64)))
            .collect())
    }

    fn search(&self, query: &Search, offset: usize, limit: usize) -> Result<SearchPage> {
        const WHERE: &str = "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR vendor = ?2)
             AND (?3 IS NULL OR instr(event_type, ?3) > 0)
             AND (?4 IS NULL OR received_at >= ?4) AND (?5 IS NULL OR received_at <= ?5)";
        let conn = self.conn();
        let filter = params![
            query.status.map(Status::as_str),
            query.vendor,
            query.event,
            query.since_ms,
            query.until_ms
        ];
        let total: i64 = conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM deliveries WHERE {WHERE}"))?
            .query_row(filter, |r| r.get(0))?;
        // Lists never read bodies: a page of large deliveries stays small.
        let columns = COLUMNS.replace("body,", "x'' AS body,");
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {columns} FROM deliveries WHERE {WHERE} ORDER BY id DESC LIMIT ?6 OFFSET ?7"
        ))?;
        let page = stmt
            .query_map(
                params![
                    query.status.map(Status::as_str),
                    query.vendor,
                    query.event,
                    query.since_ms,
                    query.until_ms,
                    limit.min(i64::MAX as usize) as i64,
                    offset.min(i64::MAX as usize) as i64
                ],
                row_to_delivery,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((page, total as u64))
    }

    fn find(&self, vendor: &str, dedupe_key: &str) -> Result<Vec<StoredDelivery>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE vendor = ?1 AND dedupe_key = ?2 ORDER BY id"
        ))?;
        let rows = stmt.query_map([vendor, dedupe_key], row_to_delivery)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn get(&self, id: i64) -> Result<Option<StoredDelivery>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?1"),
                [id],
                row_to_delivery,
            )
            .optional()?)
    }

    fn start(&self, id: i64) -> Result<Option<Attempt>> {
        let number: Option<u32> = self
            .conn()
            .query_row(
                "UPDATE deliveries SET status = 'processing', attempts = attempts + 1
                 WHERE id = ?1 AND status = 'pending' RETURNING attempts",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(number.map(|number| Attempt { id, number }))
    }

    fn requeue(&self, id: i64) -> Result<bool> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2
             WHERE id = ?1 AND status <> 'processing'",
            params![id, now_ms()],
        )?;
        if n > 0 {
            return Ok(true);
        }
        let busy: Option<i64> = conn
            .query_row(
                "SELECT id FROM deliveries WHERE id = ?1 AND status = 'processing'",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        match busy {
            Some(_) => Err(StoreError::Busy { id }),
            None => Ok(false),
        }
    }

    fn release(&self, id: i64) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = ?2
             WHERE id = ?1 AND status = 'quarantined'",
            params![id, now_ms()],
        )?;
        Ok(n > 0)
    }

    fn requarantine(&self, id: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE deliveries SET last_error = ?2 WHERE id = ?1 AND status = 'quarantined'",
            params![id, error],
        )?;
        Ok(())
    }

    fn purge_done(&self, before_ms: i64, forget_before_ms: i64) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let emptied = tx.execute(
            "UPDATE deliveries SET body = x'', headers = '[]'
             WHERE status = 'done' AND processed_at < ?1 AND length(body) > 0",
            [before_ms],
        )?;
        tx.execute(
            "DELETE FROM deliveries WHERE status = 'done' AND processed_at < ?1",
            [forget_before_ms],
        )?;
        tx.commit()?;
        Ok(emptied)
    }

    fn next_due(&self) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'")?
            .query_row([], |r| r.get(0))?)
    }

    fn keep_secret(&self, vendor: &str, secret: &crate::auth::Secret, keep: Keep) -> Result<bool> {
        // One statement: SQLite runs it under its write lock, so the check
        // and the insert cannot interleave with another writer's.
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO kept_secrets (vendor, secret, kept_at)
             SELECT ?1, ?2, ?3
             WHERE ?4 OR NOT EXISTS (SELECT 1 FROM kept_secrets WHERE vendor = ?1 AND secret <> ?2)",
            rusqlite::params![vendor, secret.expose(), now_ms(), keep == Keep::Also],
        )?;
        Ok(conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM kept_secrets WHERE vendor = ?1 AND secret = ?2)",
            )?
            .query_row(rusqlite::params![vendor, secret.expose()], |r| r.get(0))?)
    }

    fn kept_secrets(&self, vendor: &str) -> Result<Vec<crate::auth::Secret>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT secret FROM kept_secrets WHERE vendor = ?1 ORDER BY kept_at, secret",
        )?;
        let rows = stmt.query_map([vendor], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(crate::auth::Secret::new(r?));
        }
        Ok(out)
    }

    fn forget_secrets(&self, vendor: &str) -> Result<usize> {
        Ok(self
            .conn()
            .execute("DELETE FROM kept_secrets WHERE vendor = ?1", [vendor])?)
    }

    fn stats(&self) -> Result<InboxStats> {
        let conn = self.conn();
        let mut counts = std::collections::HashMap::new();
        let mut stmt =
            conn.prepare_cached("SELECT status, COUNT(*) FROM deliveries GROUP BY status")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (status, n) = row?;
            counts.insert(status, n.max(0) as u64);
        }
        let oldest: Option<i64> = conn
            .prepare_cached("SELECT MIN(received_at) FROM deliveries WHERE status = 'pending'")?
            .query_row([], |r| r.get(0))?;
        Ok(InboxStats {
            by_status: Status::ALL
                .iter()
                .map(|st| (*st, counts.get(st.as_str()).copied().unwrap_or(0)))
                .collect(),
            oldest_pending_received_at_ms: oldest,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::contract::delivery;
    use super::*;

    /// An empty directory of this test process's own, and the path of an
    /// inbox file in it that does not exist yet.
    pub(crate) fn fresh_db(name: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("hookforge-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("inbox.db");
        (dir, path)
    }

    /// Once the store is dropped its files are left alone: the checkpointer
    /// has made its last checkpoint and closed its connection, which removes
    /// the WAL. (Not joined, it raced a test's `remove_dir_all`: "Directory
    /// not empty" in a CI run.)
    #[test]
    fn a_dropped_store_leaves_its_files_alone() {
        let (dir, path) = fresh_db("dropped");
        for n in 0..200 {
            let store = SqliteStore::open(&path).unwrap();
            store.insert(&delivery(&format!("k{n}"))).unwrap();
            drop(store);
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(names, ["inbox.db"], "after drop {n}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The worker claims with a new `now` every round. With SQLite's STAT4
    /// that recompiled the claim each time unless the plan is kept (QPSG);
    /// SQLite counts recompilations per statement, so this needs no clock.
    #[test]
    fn the_claim_is_not_recompiled_for_each_new_now() {
        let (dir, path) = fresh_db("qpsg");
        let store = SqliteStore::open(&path).unwrap();
        for i in 0..20 {
            store.insert(&delivery(&format!("k{i}"))).unwrap();
        }
        for now in 1000..1010 {
            store.claim(now, 1, crate::store::Vendors::Any).unwrap();
        }
        let recompiled = store
            .conn()
            .prepare_cached(&claim_sql())
            .unwrap()
            .get_status(rusqlite::StatementStatus::RePrepare);
        assert_eq!(recompiled, 0, "the claim was recompiled {recompiled} times");
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Deliveries after the inbox file was moved away are answered 503 and
    /// never reach the worker: one arriving after the move is not committed,
    /// and one committed as the move happened is taken back out. Those
    /// acknowledged before the move are still handled. Before, the worker
    /// handled the 503'd ones, and the vendor's retry was handled again after
    /// a restart (helper-54's review: `mv inbox.db`, then 3 deliveries, each
    /// answered 503 and handled); then, refusing to claim at all stranded the
    /// acknowledged ones (helper-55's review).
    #[test]
    fn deliveries_answered_503_for_a_moved_file_are_never_handled() {
        let (dir, path) = fresh_db("moved");
        let store = SqliteStore::open(&path).unwrap();
        store.insert(&delivery("before")).unwrap();
        let Inserted::New(raced) = store.insert(&delivery("raced")).unwrap() else {
            panic!("not new");
        };
        std::fs::rename(&path, dir.join("moved.db")).unwrap();
        // Committed just before the move was seen: taken back out.
        let taken = store.kept_or_taken_back(&store.conn(), &[Inserted::New(raced)]);
        assert!(matches!(taken, Err(StoreError::Gone { .. })), "{taken:?}");
        let refused = store.insert(&delivery("after")).unwrap_err();
        assert!(matches!(refused, StoreError::Gone { .. }), "{refused}");
        // Read through the store's own connection (the moved file).
        let claimed = store.claim(i64::MAX, 10, Vendors::Any).unwrap();
        let ids: Vec<_> = claimed.iter().map(|d| d.event_id.as_deref()).collect();
        assert_eq!(ids, [Some("before")]);
        assert_eq!(store.list(None, 10).unwrap().len(), 1);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Commit after commit, with no pause for the checkpointer to catch up
    /// (a vendor replaying its backlog as fast as we answer), the WAL still
    /// starts over once it passes its limit, so its file stays near the
    /// limit instead of holding every page ever written.
    #[test]
    fn the_wal_stays_near_its_limit_under_a_steady_stream_of_commits() {
        let (dir, path) = fresh_db("wal");
        let limit = 1 << 20;
        let store =
            SqliteStore::open_with_wal_limit(&path, &SqliteOptions::default(), limit).unwrap();
        let mut largest = 0;
        for i in 0..3000 {
            let mut d = delivery(&format!("k{i}"));
            d.body = vec![b' '; 1024];
            store.insert(&d).unwrap();
            largest = largest.max(std::fs::metadata(dir.join("inbox.db-wal")).unwrap().len());
        }
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
        // Each commit here writes a few pages. The WAL passes the limit by
        // one commit, or by the commits made while the checkpointer was busy
        // and the writer could not checkpoint. Without the writer's share it
        // grew to about 49 MB here.
        assert!(
            largest <= 4 * limit,
            "the WAL's file grew to {largest} bytes; its limit is {limit}"
        );
    }
}
