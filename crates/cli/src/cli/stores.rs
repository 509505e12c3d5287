//! Opening an existing inbox and choosing deliveries from it: what
//! `inbox`, `inbox forward`, `check --from-inbox`, `drift` and `ui` share.

use super::*;

use hookforge::conformance::harness::Recorded;
use hookforge::receive::replay::Selection;
use hookforge::receive::store::Store;

/// Where an existing inbox is: the same two flags for `inbox`, `ui` and `drift`.
#[derive(clap::Args)]
pub struct InboxLocation {
    /// The SQLite inbox file.
    #[arg(long, default_value = "hookforge-inbox.db")]
    pub db: PathBuf,
    /// A PostgreSQL inbox instead (`postgres://user@host/db`; also from
    /// `HOOKFORGE_DATABASE_URL`, which keeps a password out of argv).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl InboxLocation {
    pub fn open(&self) -> Result<std::sync::Arc<dyn hookforge::receive::store::Store>, Failure> {
        open_store(&self.db, self.database_url.clone())
    }
}

/// The inbox to read: PostgreSQL when a URL is given (or in
/// `HOOKFORGE_DATABASE_URL`), else the SQLite file, which must exist.
pub fn open_store(
    db: &std::path::Path,
    database_url: Option<String>,
) -> Result<std::sync::Arc<dyn hookforge::receive::store::Store>, Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::usage(e);
    match database_url.or_else(database_url_from_env) {
        Some(url) => hookforge::receive::store::PostgresStore::connect(
            &url,
            std::time::Duration::from_secs(60),
        )
        .map(|s| std::sync::Arc::new(s) as _)
        .map_err(|e| fail(&e)),
        None if !db.is_file() => Err(fail(&format!(
            "no inbox at {} (pass --db PATH or --database-url URL)",
            db.display()
        ))),
        // SQLite takes an empty file for an empty database, and would make
        // it an inbox: a file to inspect is never made into one here.
        None if db.metadata().is_ok_and(|m| m.len() == 0) => {
            Err(fail(&format!("{} is empty: not an inbox", db.display())))
        }
        // Nor is another application's database made into one.
        None => match hookforge::receive::store::SqliteStore::holds_inbox(db) {
            Ok(true) => open_sqlite(db).map_err(|e| fail(&e)),
            Ok(false) => Err(fail(&format!(
                "{} is a SQLite database without an inbox's `deliveries` table: not an inbox (pass the file `hookforge serve --db` writes)",
                db.display()
            ))),
            Err(e) => Err(fail(&e)),
        },
    }
}

/// The SQLite inbox at `db`; read-only when it cannot be written (a file
/// or directory of another user's), so that it can still be listed.
fn open_sqlite(
    db: &std::path::Path,
) -> Result<
    std::sync::Arc<dyn hookforge::receive::store::Store>,
    hookforge::receive::store::StoreError,
> {
    use hookforge::receive::store::SqliteStore;
    match SqliteStore::open(db) {
        Ok(s) => Ok(std::sync::Arc::new(s)),
        // Only for want of write access: a corrupt file or a held lock is
        // said as it is.
        Err(e) if e.is_read_only() => {
            let s = SqliteStore::open_read_only(db).map_err(|_| e)?;
            eprintln!(
                "note: {} cannot be written, so it is opened read-only: list, show and drift work; replay and reparse do not",
                db.display()
            );
            Ok(std::sync::Arc::new(s))
        }
        Err(e) => Err(e),
    }
}

/// `HOOKFORGE_DATABASE_URL`, when set and not empty.
pub fn database_url_from_env() -> Option<String> {
    std::env::var("HOOKFORGE_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// Which stored deliveries a bulk command takes.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SelectionArgs {
    /// Only this vendor's deliveries.
    #[arg(long)]
    pub vendor: Option<String>,
    #[command(flatten)]
    pub filter: InboxFilter,
}

/// The filters on stored deliveries besides their vendor.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct InboxFilter {
    /// Only deliveries in this status: pending, processing, done, quarantined or dead.
    #[arg(long, value_parser = status_arg)]
    pub status: Option<hookforge::receive::store::Status>,
    /// Only this event type (exactly).
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// Only those received at or after WHEN: RFC 3339
    /// (`2026-12-01T09:00:00Z`), a date (midnight UTC) or a duration ago (`24h`).
    #[arg(long, value_name = "WHEN", value_parser = parse_instant)]
    pub since: Option<i64>,
    /// Only those received at or before WHEN (as `--since`).
    #[arg(long, value_name = "WHEN", value_parser = parse_instant)]
    pub until: Option<i64>,
}

impl SelectionArgs {
    pub fn selection(&self) -> hookforge::receive::replay::Selection {
        self.filter.selection(self.vendor.clone())
    }
}

impl InboxFilter {
    pub fn selection(&self, vendor: Option<String>) -> hookforge::receive::replay::Selection {
        hookforge::receive::replay::Selection {
            search: hookforge::receive::store::Search {
                status: self.status,
                vendor,
                event: None,
                since_ms: self.since,
                until_ms: self.until,
            },
            event_type: self.event_type.clone(),
        }
    }

    /// Whether any filter is set.
    pub fn is_set(&self) -> bool {
        self.status.is_some()
            || self.event_type.is_some()
            || self.since.is_some()
            || self.until.is_some()
    }
}

fn status_arg(s: &str) -> Result<hookforge::receive::store::Status, String> {
    hookforge::receive::store::Status::parse(s).ok_or_else(|| {
        format!("unknown status {s:?}: expected pending, processing, done, quarantined or dead")
    })
}

/// `check --from-inbox DB`: the deliveries `selection` matches in the inbox
/// at `inbox` (a SQLite file, or a `postgres://` URL).
pub fn recorded(
    inbox: &str,
    selection: &Selection,
    limit: usize,
    redact: bool,
) -> Result<Vec<Recorded>, Failure> {
    let is_url = inbox.starts_with("postgres://") || inbox.starts_with("postgresql://");
    let store = if is_url {
        open_store(std::path::Path::new(""), Some(inbox.to_string()))?
    } else if !std::path::Path::new(inbox).is_file() {
        return Err(Failure::usage(format!(
            "--from-inbox {inbox}: no such inbox file (give a SQLite inbox or a postgres:// URL)"
        )));
    } else {
        open_store(std::path::Path::new(inbox), None)?
    };
    read_recorded(store.as_ref(), selection, limit, redact)
}

/// The newest `limit` deliveries `selection` matches, with their bodies,
/// oldest first; redacted when asked.
pub fn read_recorded(
    store: &dyn Store,
    selection: &Selection,
    limit: usize,
    redact: bool,
) -> Result<Vec<Recorded>, Failure> {
    let cannot = |e: &dyn std::fmt::Display| Failure::failed(format!("cannot read the inbox: {e}"));
    let rows = selection.rows(store).map_err(|e| cannot(&e))?;
    let skip = rows.len().saturating_sub(limit);
    let mut redactor = hookforge::drift::Redactor::default();
    let mut out = Vec::new();
    for row in rows.into_iter().skip(skip) {
        // Gone meanwhile (retention): nothing to send.
        let Some(full) = store.get(row.id).map_err(|e| cannot(&e))? else {
            continue;
        };
        let (body, event_id) = if redact {
            let doc: serde_json::Value = serde_json::from_slice(&full.body).map_err(|e| {
                Failure::usage(format!(
                    "delivery {} is not JSON ({e}): --redact reads JSON bodies only",
                    row.id
                ))
            })?;
            let body = serde_json::to_vec(&redactor.redact(&doc, "")).expect("Value serializes");
            // An id the vendor sends in a header is redacted as ids in the
            // body are, so the copy is a delivery of its own.
            let id = row.event_id.map(|id| {
                match redactor.redact(&serde_json::Value::String(id.clone()), "id") {
                    serde_json::Value::String(new) => new,
                    _ => id,
                }
            });
            (body, id)
        } else {
            (full.body, row.event_id)
        };
        out.push(Recorded {
            id: row.id,
            event_type: row.event_type,
            event_id,
            body,
        });
    }
    Ok(out)
}
