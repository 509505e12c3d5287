//! The in-memory store.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;

/// An in-memory store: deduplicates and queues like SQLite, keeps nothing
/// across restarts. It holds at most `capacity` deliveries not yet handled,
/// and at most `max_bytes` of their bodies, and refuses more (the receiver
/// answers 503) rather than growing without bound. Handled deliveries never
/// count against the cap: past `max_bytes` in all, the oldest handled ones
/// are dropped, their keys kept so a late redelivery is still a duplicate.
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
    capacity: usize,
    max_bytes: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(MemoryStore::DEFAULT_CAPACITY)
    }
}

#[derive(Default)]
struct MemoryInner {
    rows: std::collections::BTreeMap<i64, StoredDelivery>,
    /// Ordered maps, not hash maps: a hash map doubles and rehashes every
    /// entry at once as it grows, under the store's lock, which every
    /// request waits for (tens of milliseconds at a few hundred thousand
    /// rows: the receiver's p99).
    by_key: std::collections::BTreeMap<(String, String), i64>,
    /// Secrets vendors gave in handshakes, per vendor.
    secrets: std::collections::BTreeMap<String, Vec<crate::auth::Secret>>,
    next_id: i64,
    /// Pending deliveries by (next attempt, id): claims take from the front
    /// instead of scanning every row.
    due: std::collections::BTreeSet<(i64, i64)>,
    /// Handled (`done`) rows, oldest first, and their bodies' bytes.
    done: std::collections::BTreeSet<i64>,
    done_bytes: usize,
    /// Every held row's body bytes.
    total_bytes: usize,
    /// Keys of handled rows dropped to make room, oldest first: still
    /// duplicates, but only the newest `capacity` of them are remembered.
    evicted: std::collections::VecDeque<(String, String)>,
    /// Per (vendor, entity) of ordered vendors: its open (pending or
    /// processing) rows by (sequence, id), whether one is being handled,
    /// and the highest sequence stored (with its row), for staleness.
    entities: std::collections::BTreeMap<(String, String), Entity>,
}

#[derive(Default)]
struct Entity {
    open: std::collections::BTreeSet<(i64, i64)>,
    busy: bool,
    newest: Option<(i64, i64)>,
}

impl MemoryInner {
    /// The row's entity key and its place in the entity's order.
    fn place(&self, id: i64) -> Option<((String, String), (i64, i64))> {
        let r = self.rows.get(&id)?;
        let entity = r.entity.clone()?;
        Some(((r.vendor.clone(), entity), (r.sequence.unwrap_or(0), id)))
    }

    /// Keeps the row's entity in step with its status: open while pending
    /// or processing, busy while processing.
    fn track(&mut self, id: i64) {
        let Some((key, at)) = self.place(id) else {
            return;
        };
        let status = self.rows.get(&id).map(|r| r.status);
        let e = self.entities.entry(key).or_default();
        match status {
            Some(Status::Pending) => {
                e.open.insert(at);
            }
            Some(Status::Processing) => {
                e.open.insert(at);
                e.busy = true;
                return;
            }
            _ => {
                e.open.remove(&at);
            }
        }
        e.busy = false;
    }

    /// Whether the worker may hand this pending row over now: no entity, or
    /// the first open one of an entity none of whose rows is being handled.
    fn may_claim(&self, id: i64) -> bool {
        match self.place(id) {
            None => true,
            Some((key, at)) => self
                .entities
                .get(&key)
                .is_none_or(|e| !e.busy && e.open.first() == Some(&at)),
        }
    }

    /// Whether `attempt` is the handling the row is in.
    fn holds(&self, attempt: Attempt) -> bool {
        self.rows
            .get(&attempt.id)
            .is_some_and(|r| r.status == Status::Processing && r.attempts == attempt.number)
    }

    /// Makes a row pending at `at`, keeping `due` in step.
    fn set_pending(&mut self, id: i64, at: i64) {
        self.leave_pending(id);
        self.leave_done(id);
        if let Some(r) = self.rows.get_mut(&id) {
            r.status = Status::Pending;
            r.next_attempt_at_ms = at;
            self.due.insert((at, id));
        }
        self.track(id);
    }

    fn set_done(&mut self, id: i64) {
        if let Some(r) = self.rows.get_mut(&id)
            && r.status != Status::Done
        {
            r.status = Status::Done;
            self.done.insert(id);
            self.done_bytes += r.body.len();
        }
        self.track(id);
    }

    fn leave_done(&mut self, id: i64) {
        if let Some(r) = self.rows.get(&id)
            && r.status == Status::Done
        {
            self.done.remove(&id);
            self.done_bytes -= r.body.len();
        }
    }

    /// Removes a row; its key stays when `keep_key` (a dropped handled row
    /// is still a duplicate when it comes again).
    fn remove(&mut self, id: i64, keep_key: bool) {
        self.leave_pending(id);
        self.leave_done(id);
        if let Some((key, at)) = self.place(id)
            && let Some(e) = self.entities.get_mut(&key)
        {
            e.open.remove(&at);
            if e.open.is_empty() && !e.busy {
                self.entities.remove(&key);
            }
        }
        if let Some(r) = self.rows.remove(&id) {
            self.total_bytes -= r.body.len();
            if !keep_key {
                self.by_key.remove(&(r.vendor, r.dedupe_key));
            }
        }
    }

    /// Drops the oldest handled rows while all bodies exceed `max_bytes`;
    /// remembers at most `max_keys` of their keys.
    fn evict_done(&mut self, max_bytes: usize, max_keys: usize) {
        while self.total_bytes > max_bytes {
            let Some(&oldest) = self.done.first() else {
                break;
            };
            if let Some(r) = self.rows.get(&oldest) {
                self.evicted
                    .push_back((r.vendor.clone(), r.dedupe_key.clone()));
            }
            self.remove(oldest, true);
        }
        while self.evicted.len() > max_keys {
            if let Some(key) = self.evicted.pop_front() {
                self.by_key.remove(&key);
            }
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
    /// Deliveries not yet handled held before `insert` answers [`StoreError::Full`].
    pub const DEFAULT_CAPACITY: usize = 100_000;
    /// Bytes of bodies held: past it, unhandled ones make `insert` answer
    /// [`StoreError::FullBytes`], handled ones are dropped oldest first.
    pub const DEFAULT_MAX_BYTES: usize = 256 * 1024 * 1024;

    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    pub fn with_capacity(capacity: usize) -> MemoryStore {
        MemoryStore::with_limits(capacity, MemoryStore::DEFAULT_MAX_BYTES)
    }

    /// At most `capacity` deliveries not yet handled, and `max_bytes` of bodies.
    pub fn with_limits(capacity: usize, max_bytes: usize) -> MemoryStore {
        MemoryStore {
            inner: Mutex::default(),
            capacity,
            max_bytes,
        }
    }

    /// The bytes of the bodies held now (handled ones included).
    pub fn held_bytes(&self) -> usize {
        self.lock().total_bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn insert_mode(&self) -> InsertMode {
        InsertMode::Immediate
    }

    fn keep_secret(&self, vendor: &str, secret: &crate::auth::Secret, keep: Keep) -> Result<bool> {
        let mut g = self.lock();
        let kept = g.secrets.entry(vendor.to_string()).or_default();
        if kept.iter().any(|k| k.expose() == secret.expose()) {
            return Ok(true);
        }
        if keep == Keep::OnlyFirst && !kept.is_empty() {
            return Ok(false);
        }
        kept.push(secret.clone());
        Ok(true)
    }

    fn kept_secrets(&self, vendor: &str) -> Result<Vec<crate::auth::Secret>> {
        Ok(self.lock().secrets.get(vendor).cloned().unwrap_or_default())
    }

    fn forget_secrets(&self, vendor: &str) -> Result<usize> {
        Ok(self.lock().secrets.remove(vendor).map_or(0, |k| k.len()))
    }

    fn insert(&self, d: &NewDelivery) -> Result<Inserted> {
        self.insert_owned(d.clone())
    }

    fn insert_owned(&self, delivery: NewDelivery) -> Result<Inserted> {
        let mut m = self.lock();
        let key = (delivery.vendor.clone(), delivery.dedupe_key.clone());
        if let Some(&id) = m.by_key.get(&key) {
            return Ok(match m.rows.get_mut(&id) {
                Some(row) => {
                    row.duplicates += 1;
                    Inserted::Duplicate(row.id, row.status)
                }
                // Handled, then dropped to make room: still a duplicate.
                None => Inserted::Duplicate(id, Status::Done),
            });
        }
        if m.rows.len() - m.done.len() >= self.capacity {
            return Err(StoreError::Full {
                capacity: self.capacity,
            });
        }
        if m.total_bytes - m.done_bytes + delivery.body.len() > self.max_bytes {
            return Err(StoreError::FullBytes {
                max_bytes: self.max_bytes,
            });
        }
        m.total_bytes += delivery.body.len();
        m.next_id += 1;
        let id = m.next_id;
        let status = delivery.first_status();
        let received_at_ms = delivery.received_at_ms;
        let (entity, sequence) = match delivery.order {
            Some(o) => (Some(o.entity), o.sequence),
            None => (None, None),
        };
        let mut superseded_by = None;
        if let Some(e) = &entity {
            let state = m
                .entities
                .entry((delivery.vendor.clone(), e.clone()))
                .or_default();
            if let Some(seq) = sequence {
                match state.newest {
                    Some((newest, by)) if newest > seq => superseded_by = Some(by),
                    _ => state.newest = Some((seq, id)),
                }
            }
        }
        m.rows.insert(
            id,
            StoredDelivery {
                id,
                vendor: delivery.vendor,
                event_type: delivery.event_type,
                event_id: delivery.event_id,
                dedupe_key: delivery.dedupe_key,
                body: delivery.body,
                headers: delivery.headers,
                received_at_ms,
                status,
                attempts: 0,
                last_error: delivery.misfit,
                next_attempt_at_ms: received_at_ms,
                processed_at_ms: None,
                duplicates: 0,
                entity,
                sequence,
                superseded_by,
            },
        );
        m.by_key.insert(key, id);
        if status == Status::Pending {
            m.due.insert((received_at_ms, id));
        }
        m.track(id);
        m.evict_done(self.max_bytes, self.capacity);
        Ok(Inserted::New(id))
    }

    fn claim(&self, now_ms: i64, limit: usize, only: Vendors<'_>) -> Result<Vec<StoredDelivery>> {
        let mut m = self.lock();
        // Chosen while the due set is read, stopping at the limit (a claim
        // must not copy a whole backlog while it holds the lock); a row
        // taken makes its entity busy for the rest of the round.
        let mut chosen: Vec<(i64, i64)> = Vec::with_capacity(limit.min(64));
        let mut taken: std::collections::HashSet<(String, String)> = Default::default();
        for &(at, id) in &m.due {
            if at > now_ms || chosen.len() == limit {
                break;
            }
            if !m.rows.get(&id).is_some_and(|r| only.allows(&r.vendor)) {
                continue;
            }
            match m.place(id) {
                None => chosen.push((at, id)),
                Some((key, _)) if taken.contains(&key) => {}
                Some((key, _)) if m.may_claim(id) => {
                    taken.insert(key);
                    chosen.push((at, id));
                }
                Some(_) => {}
            }
        }
        let mut out = Vec::with_capacity(chosen.len());
        for key in chosen {
            m.due.remove(&key);
            if let Some(r) = m.rows.get_mut(&key.1) {
                r.status = Status::Processing;
                r.attempts += 1;
                out.push(r.clone());
            }
            m.track(key.1);
        }
        Ok(out)
    }

    fn start(&self, id: i64) -> Result<Option<Attempt>> {
        let mut m = self.lock();
        if m.rows.get(&id).is_none_or(|r| r.status != Status::Pending) {
            return Ok(None);
        }
        m.leave_pending(id);
        let attempt = m.rows.get_mut(&id).map(|r| {
            r.status = Status::Processing;
            r.attempts += 1;
            r.attempt()
        });
        m.track(id);
        Ok(attempt)
    }

    /// Under one lock, as the database stores do it in one transaction.
    fn complete_many(&self, done: &[(Attempt, i64)]) -> Result<Vec<bool>> {
        let mut m = self.lock();
        let mut out = Vec::with_capacity(done.len());
        for &(attempt, now_ms) in done {
            let held = m.holds(attempt);
            if held {
                if let Some(r) = m.rows.get_mut(&attempt.id) {
                    r.processed_at_ms = Some(now_ms);
                    r.last_error = None;
                }
                m.set_done(attempt.id);
            }
            out.push(held);
        }
        // Once for the batch: it evicts the oldest done rows until under
        // the limits, whichever of them this batch finished.
        m.evict_done(self.max_bytes, self.capacity);
        Ok(out)
    }

    fn fail(&self, attempt: Attempt, error: &str, retry_at_ms: Option<i64>) -> Result<bool> {
        let mut m = self.lock();
        if !m.holds(attempt) {
            return Ok(false);
        }
        let id = attempt.id;
        if let Some(r) = m.rows.get_mut(&id) {
            r.last_error = Some(error.to_string());
        }
        match retry_at_ms {
            Some(at) => m.set_pending(id, at),
            None => {
                m.leave_pending(id);
                m.leave_done(id);
                if let Some(r) = m.rows.get_mut(&id) {
                    r.status = Status::Dead;
                }
                m.track(id);
            }
        }
        Ok(true)
    }

    fn recover(&self) -> Result<usize> {
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

    fn list(&self, status: Option<Status>, limit: usize) -> Result<Vec<StoredDelivery>> {
        let m = self.lock();
        Ok(m.rows
            .values()
            .filter(|r| status.is_none_or(|s| r.status == s))
            .take(limit)
            .cloned()
            .collect())
    }

    fn counts(&self) -> Result<Vec<(String, Status, u64)>> {
        let m = self.lock();
        let mut counts: HashMap<(&str, &str), (Status, u64)> = HashMap::new();
        for r in m.rows.values() {
            counts
                .entry((r.vendor.as_str(), r.status.as_str()))
                .or_insert((r.status, 0))
                .1 += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((v, _), (s, n))| (v.to_string(), s, n))
            .collect())
    }

    fn search(&self, q: &Search, offset: usize, limit: usize) -> Result<SearchPage> {
        let m = self.lock();
        let mut total = 0u64;
        let mut page = Vec::new();
        for r in m.rows.values().rev().filter(|r| q.matches(r)) {
            if total as usize >= offset && page.len() < limit {
                // Without the body: lists never copy bodies.
                page.push(StoredDelivery {
                    body: Vec::new(),
                    headers: r.headers.clone(),
                    vendor: r.vendor.clone(),
                    event_type: r.event_type.clone(),
                    event_id: r.event_id.clone(),
                    dedupe_key: r.dedupe_key.clone(),
                    last_error: r.last_error.clone(),
                    entity: r.entity.clone(),
                    ..*r
                });
            }
            total += 1;
        }
        Ok((page, total))
    }

    fn get(&self, id: i64) -> Result<Option<StoredDelivery>> {
        Ok(self.lock().rows.get(&id).cloned())
    }

    fn find(&self, vendor: &str, dedupe_key: &str) -> Result<Vec<StoredDelivery>> {
        let m = self.lock();
        let key = (vendor.to_string(), dedupe_key.to_string());
        Ok(m.by_key
            .get(&key)
            .and_then(|id| m.rows.get(id))
            .cloned()
            .into_iter()
            .collect())
    }

    fn requeue(&self, id: i64) -> Result<bool> {
        let mut m = self.lock();
        let Some(r) = m.rows.get_mut(&id) else {
            return Ok(false);
        };
        if r.status == Status::Processing {
            return Err(StoreError::Busy { id });
        }
        r.attempts = 0;
        m.set_pending(id, now_ms());
        Ok(true)
    }

    fn release(&self, id: i64) -> Result<bool> {
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

    fn requarantine(&self, id: i64, error: &str) -> Result<()> {
        if let Some(r) = self.lock().rows.get_mut(&id)
            && r.status == Status::Quarantined
        {
            r.last_error = Some(error.to_string());
        }
        Ok(())
    }

    fn purge_done(&self, before_ms: i64, forget_before_ms: i64) -> Result<usize> {
        let mut m = self.lock();
        let done_before = |r: &StoredDelivery, t: i64| {
            r.status == Status::Done && r.processed_at_ms.is_some_and(|p| p < t)
        };
        let forget: Vec<i64> = m
            .rows
            .values()
            .filter(|r| done_before(r, forget_before_ms))
            .map(|r| r.id)
            .collect();
        for id in &forget {
            m.remove(*id, false);
        }
        let empty: Vec<i64> = m
            .rows
            .values()
            .filter(|r| done_before(r, before_ms) && !r.body.is_empty())
            .map(|r| r.id)
            .collect();
        for id in &empty {
            let n = match m.rows.get_mut(id) {
                Some(r) => {
                    r.headers.clear();
                    std::mem::take(&mut r.body).len()
                }
                None => 0,
            };
            m.total_bytes -= n;
            m.done_bytes -= n;
        }
        Ok(empty.len())
    }

    fn next_due(&self) -> Result<Option<i64>> {
        Ok(self.lock().due.first().map(|(at, _)| *at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::delivery;

    fn sized(key: &str, bytes: usize) -> NewDelivery {
        NewDelivery {
            body: vec![b' '; bytes],
            ..delivery(key)
        }
    }

    /// `--memory-capacity 3`: handled deliveries free their place.
    #[test]
    fn the_cap_counts_only_deliveries_not_yet_handled() {
        let s = MemoryStore::with_capacity(3);
        for k in ["a", "b", "c"] {
            s.insert(&delivery(k)).unwrap();
        }
        assert!(matches!(
            s.insert(&delivery("d")),
            Err(StoreError::Full { capacity: 3 })
        ));
        for d in s.claim(now_ms(), 10, Vendors::Any).unwrap() {
            s.complete(d.attempt(), now_ms()).unwrap();
        }
        for k in ["d", "e", "f"] {
            assert!(
                matches!(s.insert(&delivery(k)), Ok(Inserted::New(_))),
                "{k}"
            );
        }
        // A handled one is still a duplicate.
        assert!(matches!(
            s.insert(&delivery("a")),
            Ok(Inserted::Duplicate(_, Status::Done))
        ));
    }

    /// Bodies are capped in bytes too: unhandled ones refuse more, handled
    /// ones are dropped oldest first, their keys kept.
    #[test]
    fn bytes_are_capped_and_handled_bodies_make_room() {
        let s = MemoryStore::with_limits(1000, 10_000);
        s.insert(&sized("a", 4_000)).unwrap();
        s.insert(&sized("b", 4_000)).unwrap();
        assert!(matches!(
            s.insert(&sized("c", 4_000)),
            Err(StoreError::FullBytes { max_bytes: 10_000 })
        ));
        for d in s.claim(now_ms(), 10, Vendors::Any).unwrap() {
            s.complete(d.attempt(), now_ms()).unwrap();
        }
        for k in ["c", "d", "e", "f"] {
            assert!(
                matches!(s.insert(&sized(k, 4_000)), Ok(Inserted::New(_))),
                "{k}"
            );
            assert!(s.held_bytes() <= 10_000, "{k}: {}", s.held_bytes());
            for d in s.claim(now_ms(), 10, Vendors::Any).unwrap() {
                s.complete(d.attempt(), now_ms()).unwrap();
            }
        }
        // "a" was dropped to make room, and is still known.
        assert!(s.get(1).unwrap().is_none());
        assert!(matches!(
            s.insert(&sized("a", 4_000)),
            Ok(Inserted::Duplicate(1, Status::Done))
        ));
        // A replayed handled delivery counts again, and leaves `done`.
        let last = s.list(Some(Status::Done), 10).unwrap().pop().unwrap();
        assert!(s.requeue(last.id).unwrap());
        assert_eq!(s.list(Some(Status::Done), 10).unwrap().len(), 1);
    }

    /// The keys of dropped handled rows are bounded too: the newest
    /// `capacity` are still duplicates, older ones are forgotten.
    #[test]
    fn dropped_keys_are_remembered_only_up_to_the_cap() {
        let s = MemoryStore::with_limits(2, 5_000);
        for i in 0..10 {
            s.insert(&sized(&format!("k{i}"), 4_000)).unwrap();
            for d in s.claim(now_ms(), 10, Vendors::Any).unwrap() {
                s.complete(d.attempt(), now_ms()).unwrap();
            }
        }
        assert!(matches!(
            s.insert(&sized("k8", 4_000)),
            Ok(Inserted::Duplicate(_, Status::Done))
        ));
        assert!(matches!(
            s.insert(&sized("k0", 4_000)),
            Ok(Inserted::New(_))
        ));
        assert!(s.lock().by_key.len() <= 2 + 2, "{}", s.lock().by_key.len());
    }
}
