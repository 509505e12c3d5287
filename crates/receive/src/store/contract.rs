//! The contract every [`Store`] keeps, as one function each store's tests
//! run (memory and SQLite in the unit tests, PostgreSQL in
//! `tests/postgres.rs`). Not a stable API.

use super::*;

/// A Prets delivery with this event id.
pub fn delivery(key: &str) -> NewDelivery {
    NewDelivery {
        vendor: "prets".into(),
        event_type: "quote.created".into(),
        event_id: Some(key.into()),
        dedupe_key: dedupe_key(Some(key), b"{}"),
        body: b"{}".to_vec(),
        headers: vec![("content-type".into(), "application/json".into())],
        received_at_ms: 1000,
        misfit: None,
        order: None,
    }
}

/// The contract every store keeps, on a fresh (empty) store: increasing
/// ids (not necessarily dense), dedupe, claims, retries, dead letters,
/// requeue, quarantine, skipping busy vendors, retention.
pub fn exercise(store: &dyn Store) {
    let (one, two, claimed) = inserts_and_claims(store);
    outcomes_and_fencing(store, one, two, &claimed);
    quarantine_and_vendors(store, one, two);
    inline_start(store);
    dashboard_queries(store);
    retention(store, one);
    kept_secrets(store);
}

/// Secrets from handshakes: kept per vendor, once each, oldest first.
fn kept_secrets(store: &dyn Store) {
    use crate::auth::Secret;
    let shown = |v: &str| -> Vec<String> {
        let kept = store.kept_secrets(v).unwrap();
        kept.iter().map(|s| s.expose().to_string()).collect()
    };
    let keep = |v: &str, s: &str, keep: Keep| store.keep_secret(v, &Secret::new(s), keep).unwrap();
    assert!(shown("asana").is_empty());
    assert!(keep("asana", "first", Keep::OnlyFirst));
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(!keep("asana", "second", Keep::OnlyFirst), "only the first");
    assert!(keep("asana", "first", Keep::OnlyFirst), "the first again");
    assert!(keep("asana", "second", Keep::Also));
    assert!(keep("asana", "first", Keep::Also));
    assert!(keep("other", "theirs", Keep::OnlyFirst));
    assert_eq!(shown("asana"), ["first", "second"]);
    assert_eq!(shown("other"), ["theirs"]);
    assert_eq!(store.forget_secrets("asana").unwrap(), 2);
    assert!(shown("asana").is_empty());
    assert_eq!(shown("other"), ["theirs"]);
    first_handshakes_racing(store);
}

/// Anyone can send a first handshake: of several racing, one is kept.
fn first_handshakes_racing(store: &dyn Store) {
    use crate::auth::Secret;
    let kept: Vec<bool> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|i| {
                scope.spawn(move || {
                    let secret = Secret::new(format!("racing-secret-{i:02}-0123456789"));
                    store.keep_secret("racing", &secret, Keep::OnlyFirst)
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().unwrap().unwrap())
            .collect()
    });
    assert_eq!(kept.iter().filter(|k| **k).count(), 1, "{kept:?}");
    assert_eq!(store.kept_secrets("racing").unwrap().len(), 1);
    store.forget_secrets("racing").unwrap();
}

fn new_id(r: Inserted) -> i64 {
    match r {
        Inserted::New(id) => id,
        other => panic!("expected a new row, got {other:?}"),
    }
}

/// Increasing ids, dedupe, a claim of both, a busy row not replayed.
fn inserts_and_claims(store: &dyn Store) -> (i64, i64, Vec<StoredDelivery>) {
    let one = new_id(store.insert(&delivery("a")).unwrap());
    let two = new_id(store.insert(&delivery("b")).unwrap());
    assert!(two > one);
    assert_eq!(
        store.insert(&delivery("a")).unwrap(),
        Inserted::Duplicate(one, Status::Pending)
    );
    let claimed = store.claim(1000, 10, crate::store::Vendors::Any).unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![one, two]
    );
    assert!(
        claimed
            .iter()
            .all(|d| d.attempts == 1 && d.status == Status::Processing)
    );
    // A delivery being handled is not replayed (two handlers at once).
    assert!(matches!(
        store.requeue(one),
        Err(crate::store::StoreError::Busy { id }) if id == one
    ));
    assert!(!store.requeue(i64::MAX).unwrap(), "no such delivery");
    assert!(
        store
            .claim(1000, 10, crate::store::Vendors::Any)
            .unwrap()
            .is_empty()
    );
    (one, two, claimed)
}

/// Done, failed and retried, dead, requeued; a stale attempt fenced out.
fn outcomes_and_fencing(store: &dyn Store, one: i64, two: i64, claimed: &[StoredDelivery]) {
    let (first, second) = (claimed[0].attempt(), claimed[1].attempt());
    assert!(store.complete(first, 2000).unwrap());
    assert!(store.fail(second, "boom", Some(5000)).unwrap());
    // Outcomes count once: the same attempt cannot record another.
    assert!(!store.complete(first, 2100).unwrap(), "done already");
    assert!(!store.complete(second, 2100).unwrap(), "pending again");
    assert!(
        store
            .claim(4999, 10, crate::store::Vendors::Any)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_due().unwrap(), Some(5000));
    let again = store.claim(5000, 10, crate::store::Vendors::Any).unwrap();
    assert_eq!((again[0].id, again[0].attempts), (two, 2));
    // A crash while processing: recover returns it to pending (a store with
    // leases, once the lease has run out), and the attempt it was in can no
    // longer record an outcome (fencing).
    if let Some(lease) = store.lease() {
        std::thread::sleep(lease + std::time::Duration::from_millis(100));
    }
    assert_eq!(store.recover().unwrap(), 1);
    let third = store.claim(5000, 10, crate::store::Vendors::Any).unwrap();
    assert_eq!(third[0].attempts, 3);
    assert!(!store.fail(again[0].attempt(), "stale", None).unwrap());
    assert!(!store.complete(again[0].attempt(), 5100).unwrap());
    assert!(store.renew(third[0].attempt()).unwrap());
    assert!(
        store
            .fail(third[0].attempt(), "still broken", None)
            .unwrap()
    );
    let d = store.get(two).unwrap().unwrap();
    assert_eq!(
        (d.status, d.last_error.as_deref()),
        (Status::Dead, Some("still broken"))
    );
    assert!(store.requeue(two).unwrap());
    assert_eq!(store.get(two).unwrap().unwrap().status, Status::Pending);
    let a = store.get(one).unwrap().unwrap();
    assert_eq!(
        (a.status, a.duplicates, a.processed_at_ms),
        (Status::Done, 1, Some(2000))
    );
    assert_eq!(store.list(Some(Status::Done), 10).unwrap().len(), 1);
    assert_eq!(store.list(None, 10).unwrap().len(), 2);
    // One row per vendor and key, found by them.
    let found = store.find("prets", &a.dedupe_key).unwrap();
    assert_eq!(found.iter().map(|d| d.id).collect::<Vec<_>>(), vec![one]);
    assert!(store.find("other", &a.dedupe_key).unwrap().is_empty());
    assert!(store.find("prets", "no such key").unwrap().is_empty());
    assert_eq!(
        a.headers,
        vec![("content-type".to_string(), "application/json".to_string())]
    );
    // Replaying resets the attempt count.
    assert_eq!(store.get(two).unwrap().unwrap().attempts, 0);
}

/// Quarantine (stored with its reason, never claimed, released on demand),
/// claims of the vendors asked for, and stats.
fn quarantine_and_vendors(store: &dyn Store, one: i64, two: i64) {
    // Quarantine: stored with its reason, never claimed, released on demand.
    let mut q = delivery("q");
    q.misfit = Some("`quote.created` payload: at `data.quoteId`: expected a string".into());
    let three = new_id(store.insert(&q).unwrap());
    assert!(three > two);
    let d = store.get(three).unwrap().unwrap();
    assert_eq!(
        (d.status, d.last_error),
        (Status::Quarantined, q.misfit.clone())
    );
    let ids = |v: Vec<StoredDelivery>| v.iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .claim(i64::MAX, 10, crate::store::Vendors::Only(&["prets"]))
            .unwrap()),
        vec![two]
    );
    assert!(
        !store.release(one).unwrap(),
        "only quarantined deliveries are released"
    );
    assert!(store.release(three).unwrap());
    let d = store.get(three).unwrap().unwrap();
    assert_eq!((d.status, d.last_error), (Status::Pending, None));
    // Claims take only the vendors asked for.
    assert!(
        store
            .claim(i64::MAX, 10, crate::store::Vendors::Only(&["other"]))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store
            .claim(i64::MAX, 10, crate::store::Vendors::Any)
            .unwrap()),
        vec![three]
    );
    // Stats count every status (the database stores in SQL).
    let stats = store.stats().unwrap();
    let count = |st: Status| {
        stats
            .by_status
            .iter()
            .find(|(s, _)| *s == st)
            .map(|(_, n)| *n)
    };
    assert_eq!(count(Status::Done), Some(1));
    assert_eq!(count(Status::Processing), Some(2));
    assert_eq!(count(Status::Pending), Some(0));
    assert_eq!(stats.oldest_pending_received_at_ms, None);
}

fn inline_start(store: &dyn Store) {
    // An inline handler starts a pending delivery once: a second start
    // (a copy arriving meanwhile) is refused, and so is replaying it.
    let inline = new_id(store.insert(&delivery("inline")).unwrap());
    let started = store.start(inline).unwrap().expect("pending: started");
    assert_eq!(
        started,
        crate::store::Attempt {
            id: inline,
            number: 1
        }
    );
    assert!(store.start(inline).unwrap().is_none());
    assert!(store.requeue(inline).is_err());
    assert!(store.complete(started, 2500).unwrap());
    assert!(
        store.start(inline).unwrap().is_none(),
        "done is not started again"
    );
}

fn dashboard_queries(store: &dyn Store) {
    // The dashboard's queries: counts by vendor and status, and pages newest
    // first without bodies, counted in all.
    let listed = store.list(None, 1000).unwrap();
    let counts = store.counts().unwrap();
    assert_eq!(
        counts.iter().map(|c| c.2).sum::<u64>() as usize,
        listed.len()
    );
    let done = listed.iter().filter(|d| d.status == Status::Done).count() as u64;
    assert!(
        counts
            .iter()
            .any(|(_, s, n)| *s == Status::Done && *n == done)
    );
    let all = crate::store::Search::default();
    let (page, n) = store.search(&all, 0, 2).unwrap();
    assert_eq!(n as usize, listed.len());
    let newest: Vec<i64> = listed.iter().rev().take(2).map(|d| d.id).collect();
    assert_eq!(page.iter().map(|d| d.id).collect::<Vec<_>>(), newest);
    assert!(
        page.iter().all(|d| d.body.is_empty()),
        "lists carry no bodies"
    );
    let (rest, _) = store.search(&all, 2, 10).unwrap();
    assert_eq!(rest.len(), listed.len() - 2);
    let only_done = crate::store::Search {
        status: Some(Status::Done),
        ..Default::default()
    };
    assert_eq!(store.search(&only_done, 0, 10).unwrap().1, done);
    let none = crate::store::Search {
        event: Some("no such event type".into()),
        ..Default::default()
    };
    assert_eq!(store.search(&none, 0, 10).unwrap(), (Vec::new(), 0));
}

fn retention(store: &dyn Store, one: i64) {
    // Retention empties done deliveries processed before the cut only,
    // keeping their keys: a late redelivery is still a duplicate.
    assert_eq!(store.purge_done(2000, 0).unwrap(), 0);
    assert_eq!(store.purge_done(2001, 0).unwrap(), 1);
    let kept = store.get(one).unwrap().unwrap();
    assert!(kept.body.is_empty() && kept.status == Status::Done);
    assert!(matches!(
        store.insert(&delivery("a")).unwrap(),
        Inserted::Duplicate(id, Status::Done) if id == one
    ));
    // Past the vendor's retry horizon the key goes too.
    assert_eq!(store.purge_done(2001, 2001).unwrap(), 0);
    assert!(store.get(one).unwrap().is_none());
}

/// `insert_many` answers as one-by-one inserts would, on a fresh store: a
/// key already stored and a key repeated inside the batch are duplicates,
/// and the repeats are counted.
pub fn exercise_batches(store: &dyn Store) {
    let before = store.insert(&delivery("x")).unwrap();
    let Inserted::New(x) = before else {
        panic!("expected a new row, got {before:?}")
    };
    let mut q = delivery("q");
    q.misfit = Some("at `data`: misfit".into());
    let batch = [
        delivery("x"),
        delivery("y"),
        delivery("y"),
        q,
        delivery("z"),
    ];
    let answers: Vec<Inserted> = store
        .insert_many(&batch)
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(answers[0], Inserted::Duplicate(x, Status::Pending));
    let Inserted::New(y) = answers[1] else {
        panic!("y should be new: {answers:?}")
    };
    assert_eq!(answers[2], Inserted::Duplicate(y, Status::Pending));
    assert!(matches!(answers[3], Inserted::New(_)), "{answers:?}");
    assert!(matches!(answers[4], Inserted::New(_)), "{answers:?}");
    let Inserted::New(q) = answers[3] else {
        unreachable!()
    };
    assert_eq!(store.get(q).unwrap().unwrap().status, Status::Quarantined);
    assert_eq!(store.get(x).unwrap().unwrap().duplicates, 1);
    assert_eq!(store.get(y).unwrap().unwrap().duplicates, 1);
    assert_eq!(store.list(None, 100).unwrap().len(), 4);
}

/// Per-entity order, on a fresh store: one entity's deliveries are claimed
/// one at a time, lowest sequence first (a retry holds back the later ones),
/// while other entities and deliveries without one flow; a delivery that
/// arrives after a newer one of its entity is stale.
pub fn exercise_ordering(store: &dyn Store) {
    let ordered = |key: &str, entity: &str, sequence: i64| NewDelivery {
        order: Some(hookforge_core::parse::OrderPlace {
            entity: entity.into(),
            sequence: Some(sequence),
        }),
        ..delivery(key)
    };
    let a3 = new_id(store.insert(&ordered("o-a3", "A", 3)).unwrap());
    let a1 = new_id(store.insert(&ordered("o-a1", "A", 1)).unwrap());
    let a2 = new_id(store.insert(&ordered("o-a2", "A", 2)).unwrap());
    let b1 = new_id(store.insert(&ordered("o-b1", "B", 1)).unwrap());
    let free = new_id(store.insert(&delivery("o-free")).unwrap());
    let newer = |id: i64| store.get(id).unwrap().unwrap().superseded_by;
    assert_eq!(
        [newer(a3), newer(a1), newer(a2), newer(b1), newer(free)],
        [None, Some(a3), Some(a3), None, None]
    );
    let claim = |now: i64| -> Vec<StoredDelivery> {
        let mut c = store.claim(now, 10, crate::store::Vendors::Any).unwrap();
        c.sort_by_key(|d| d.id);
        c
    };
    let ids = |c: &[StoredDelivery]| c.iter().map(|d| d.id).collect::<Vec<_>>();
    let first = claim(1000);
    assert_eq!(
        ids(&first),
        vec![a1, b1, free],
        "A's lowest, B's, the free one"
    );
    assert!(
        claim(1000).is_empty(),
        "A is being handled: nothing more of it"
    );
    for d in &first {
        assert!(store.complete(d.attempt(), 1000).unwrap());
    }
    let second = claim(1000);
    assert_eq!(ids(&second), vec![a2]);
    assert!(store.complete(second[0].attempt(), 1000).unwrap());
    let third = claim(1000);
    assert_eq!(ids(&third), vec![a3]);
    // A retry keeps its place: the later delivery waits for it.
    assert!(
        store
            .fail(third[0].attempt(), "try again", Some(5000))
            .unwrap()
    );
    let a4 = new_id(store.insert(&ordered("o-a4", "A", 4)).unwrap());
    assert_eq!(newer(a4), None);
    assert!(claim(1000).is_empty(), "a4 waits for a3's retry");
    let retry = claim(5000);
    assert_eq!(ids(&retry), vec![a3]);
    assert!(store.complete(retry[0].attempt(), 5000).unwrap());
    assert_eq!(ids(&claim(5000)), vec![a4]);
}
