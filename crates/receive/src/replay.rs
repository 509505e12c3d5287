//! Choosing stored deliveries by filter, and queueing them again: what
//! `hookforge inbox replay --status …`, the dashboard's "Replay these" and
//! `inbox forward` share.

use crate::store::{Search, Status, Store, StoreError, StoredDelivery};

/// Which stored deliveries to take: the dashboard's [`Search`] (status,
/// vendor, a part of the event type, received between) plus an exact event
/// type, which the command line means by `--event-type`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub search: Search,
    pub event_type: Option<String>,
}

/// How many rows one store call reads while selecting.
const PAGE: usize = 1000;

impl Selection {
    /// Every matching delivery, oldest first, without bodies ([`Store::get`]
    /// reads one with its body). Read in full before anything is changed, so
    /// rows that change status as they are replayed cannot shift the pages.
    pub fn rows(&self, store: &dyn Store) -> Result<Vec<StoredDelivery>, StoreError> {
        let mut out = Vec::new();
        loop {
            let (page, _) = store.search(&self.search, out.len(), PAGE)?;
            let last = page.len() < PAGE;
            out.extend(page);
            if last {
                break;
            }
        }
        out.retain(|d| self.event_type.as_deref().is_none_or(|t| d.event_type == t));
        out.reverse();
        Ok(out)
    }

    /// A range that ends before it starts is a mistake, not an empty set.
    pub fn check_range(&self) -> Result<(), ReplayError> {
        match (self.search.since_ms, self.search.until_ms) {
            (Some(since), Some(until)) if since > until => Err(ReplayError::Backwards {
                since: crate::util::iso_ms(since),
                until: crate::util::iso_ms(until),
            }),
            _ => Ok(()),
        }
    }

    /// The filter in words, for summaries: `status dead, vendor prets`.
    pub fn describe(&self) -> String {
        let s = &self.search;
        let mut parts = Vec::new();
        if let Some(st) = s.status {
            parts.push(format!("status {}", st.as_str()));
        }
        if let Some(v) = &s.vendor {
            parts.push(format!("vendor {v}"));
        }
        if let Some(t) = &self.event_type {
            parts.push(format!("event type {t}"));
        }
        if let Some(e) = &s.event {
            parts.push(format!("event type containing {e:?}"));
        }
        if let Some(t) = s.since_ms {
            parts.push(format!("received from {}", crate::util::iso_ms(t)));
        }
        if let Some(t) = s.until_ms {
            parts.push(format!("received until {}", crate::util::iso_ms(t)));
        }
        if parts.is_empty() {
            "every delivery".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Why a bulk replay was refused before anything was queued.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(
        "a bulk replay needs a status (--status dead, done or pending): replaying every delivery at once is never what is meant"
    )]
    NoStatus,
    #[error(
        "deliveries in `processing` are being handled now and cannot be replayed; wait until they are done or dead"
    )]
    Processing,
    #[error(
        "quarantined deliveries do not fit this build's models; `inbox reparse --all` moves those that fit now to pending"
    )]
    Quarantined,
    #[error(
        "delivery {id} is quarantined: it does not fit this build's models, so handling it again would fail the same way (and hold its entity's later deliveries); `inbox reparse --id {id}` moves it to pending once it fits"
    )]
    QuarantinedOne { id: i64 },
    #[error("the range ends before it starts: received from {since} until {until} holds nothing")]
    Backwards { since: String, until: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store failed part way: `queued` were queued before it did.
    #[error("{queued} queued, then the inbox failed: {source}")]
    Interrupted { queued: usize, source: StoreError },
}

/// What a bulk replay did (or, dry, would do).
#[derive(Debug, Default)]
pub struct Replayed {
    /// Queued (or, in a dry run, matching): pending, due now, attempts reset.
    pub queued: Vec<StoredDelivery>,
    /// Matched, but a worker took them meanwhile: left alone.
    pub busy: Vec<i64>,
    /// Matched, but gone (retention) before they could be queued.
    pub gone: Vec<i64>,
}

/// Queues one delivery again (`inbox replay ID`, the dashboard's Replay):
/// pending, due now, attempts reset. `Ok(false)` if there is none. A
/// quarantined one is refused: its handler would fail on the same misfit
/// until it is dead.
pub fn replay_one(store: &dyn Store, id: i64) -> Result<bool, ReplayError> {
    if store
        .get(id)?
        .is_some_and(|d| d.status == Status::Quarantined)
    {
        return Err(ReplayError::QuarantinedOne { id });
    }
    Ok(store.requeue(id)?)
}

/// Queues every delivery `selection` matches again, as `inbox replay ID`
/// does one. Needs a status other than `processing` and `quarantined`.
pub fn replay(
    store: &dyn Store,
    selection: &Selection,
    dry_run: bool,
) -> Result<Replayed, ReplayError> {
    let rows = replayable_rows(store, selection)?;
    if dry_run {
        return Ok(Replayed {
            queued: rows,
            ..Replayed::default()
        });
    }
    requeue(store, rows)
}

/// What a confirmation pinned: how many deliveries matched and a digest of
/// their ids, so that a set that changed but kept its count is caught.
pub fn set_digest(rows: &[StoredDelivery]) -> String {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same ids give the same digest in every
    // process, so a confirmation survives a restart of the dashboard.
    let mut h = std::hash::DefaultHasher::new();
    rows.iter().for_each(|r| r.id.hash(&mut h));
    format!("{}-{:016x}", rows.len(), h.finish())
}

/// Queues what `selection` matches only if it is still the set `digest`
/// ([`set_digest`]) was made from; `Ok(Err(now))` with the digest of what
/// matches now otherwise, queueing nothing.
pub fn replay_confirmed(
    store: &dyn Store,
    selection: &Selection,
    digest: &str,
) -> Result<Result<Replayed, String>, ReplayError> {
    let rows = replayable_rows(store, selection)?;
    let now = set_digest(&rows);
    if now != digest {
        return Ok(Err(now));
    }
    requeue(store, rows).map(Ok)
}

fn replayable_rows(
    store: &dyn Store,
    selection: &Selection,
) -> Result<Vec<StoredDelivery>, ReplayError> {
    match selection.search.status {
        None => return Err(ReplayError::NoStatus),
        Some(Status::Processing) => return Err(ReplayError::Processing),
        Some(Status::Quarantined) => return Err(ReplayError::Quarantined),
        Some(_) => {}
    }
    selection.check_range()?;
    Ok(selection.rows(store)?)
}

fn requeue(store: &dyn Store, rows: Vec<StoredDelivery>) -> Result<Replayed, ReplayError> {
    let mut done = Replayed::default();
    for row in rows {
        match store.requeue(row.id) {
            Ok(true) => done.queued.push(row),
            Ok(false) => done.gone.push(row.id),
            Err(StoreError::Busy { id }) => done.busy.push(id),
            Err(source) => {
                return Err(ReplayError::Interrupted {
                    queued: done.queued.len(),
                    source,
                });
            }
        }
    }
    Ok(done)
}
