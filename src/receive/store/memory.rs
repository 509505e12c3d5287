//! The in-memory store.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;

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
    fn insert_mode(&self) -> InsertMode {
        InsertMode::Immediate
    }

    fn insert(&self, d: &NewDelivery) -> Result<Inserted, StoreError> {
        self.insert_owned(d.clone())
    }

    fn insert_owned(&self, d: NewDelivery) -> Result<Inserted, StoreError> {
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
        let received_at_ms = d.received_at_ms;
        m.rows.insert(
            id,
            StoredDelivery {
                id,
                vendor: d.vendor,
                event_type: d.event_type,
                event_id: d.event_id,
                dedupe_key: d.dedupe_key,
                body: d.body,
                headers: d.headers,
                received_at_ms,
                status,
                attempts: 0,
                last_error: d.misfit,
                next_attempt_at_ms: received_at_ms,
                processed_at_ms: None,
                duplicates: 0,
            },
        );
        m.by_key.insert(key, id);
        if status == Status::Pending {
            m.due.insert((received_at_ms, id));
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
