//! The PostgreSQL inbox against a real server: the store contract (the same
//! function the memory and SQLite stores pass), versioned migrations applied
//! once by processes starting together, leases across processes, and two
//! `hookforge serve` processes on one database with one killed -9 under load.
//!
//! These need a server: `scripts/with-postgres` starts a throwaway cluster
//! on loopback, exports HOOKFORGE_TEST_DATABASE_URL and runs them
//! (`.ci/run` does). Under a plain `cargo test` they are ignored.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookforge::receive::store::contract::{delivery, exercise, exercise_batches};
use hookforge::receive::store::{PostgresStore, Status, Store};

const SECRET: &str = "whsec_PostgresPostgresPostgresPostgresPostgres123";

/// A fresh, empty database for one test; its URL.
fn fresh_db(name: &str) -> String {
    let admin = std::env::var("HOOKFORGE_TEST_DATABASE_URL").expect(
        "HOOKFORGE_TEST_DATABASE_URL is not set: run these tests through scripts/with-postgres",
    );
    let db = format!("hf_{name}_{}", std::process::id());
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    format!("{base}/{db}")
}

#[test]
#[ignore = "needs PostgreSQL: run scripts/with-postgres"]
fn postgres_keeps_the_store_contract_and_migrates_once() {
    let url = fresh_db("contract");
    // Processes starting together: the migration runs once.
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                PostgresStore::connect(&url, Duration::from_secs(30)).map(|s| s.schema_version())
            })
        })
        .collect();
    for s in starts {
        assert_eq!(s.join().unwrap().unwrap().unwrap(), 1);
    }
    let store = PostgresStore::connect(&url, Duration::from_secs(30)).unwrap();
    exercise(&store);
    // Batches (group commit) answer as single inserts would.
    let batches = fresh_db("batches");
    exercise_batches(&PostgresStore::connect(&batches, Duration::from_secs(30)).unwrap());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let applied: i64 = c
        .query_one("SELECT count(*) FROM hookforge_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, 1);
    // Reconnecting finds the deliveries and applies nothing again.
    let again = PostgresStore::connect(&url, Duration::from_secs(30)).unwrap();
    assert_eq!(again.list(None, 10).unwrap().len(), 3);
    // The password never shows in Debug output.
    let shown = format!(
        "{:?}",
        hookforge::receive::store::DatabaseUrl::new("postgres://app:s3cret@127.0.0.1/x")
    );
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[test]
#[ignore = "needs PostgreSQL: run scripts/with-postgres"]
fn a_live_lease_is_never_taken_and_an_expired_one_is() {
    let url = fresh_db("leases");
    let lease = Duration::from_millis(800);
    let a = PostgresStore::connect(&url, lease).unwrap();
    let b = PostgresStore::connect(&url, lease).unwrap();
    for k in ["x", "y", "z"] {
        a.insert(&delivery(k)).unwrap();
    }
    let now = hookforge::receive::store::now_ms();
    let mine = a
        .claim(now, 2, hookforge::receive::store::Vendors::Any)
        .unwrap();
    assert_eq!(mine.len(), 2);
    // The other process gets only what is free, and recover leaves live
    // leases alone.
    let theirs = b
        .claim(now, 10, hookforge::receive::store::Vendors::Any)
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert!(!mine.iter().any(|d| d.id == theirs[0].id));
    assert_eq!(b.recover().unwrap(), 0);
    assert!(
        b.claim(
            hookforge::receive::store::now_ms(),
            10,
            hookforge::receive::store::Vendors::Any
        )
        .unwrap()
        .is_empty()
    );
    // The leases run out (as when the first process died): all three,
    // B's own too, are claimed again, each attempt counted.
    std::thread::sleep(lease + Duration::from_millis(200));
    let taken = b
        .claim(
            hookforge::receive::store::now_ms(),
            10,
            hookforge::receive::store::Vendors::Any,
        )
        .unwrap();
    let ids: HashSet<i64> = taken.iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), 3);
    assert!(mine.iter().all(|d| ids.contains(&d.id)) && ids.contains(&theirs[0].id));
    assert!(
        taken
            .iter()
            .all(|d| d.attempts == 2 && d.status == Status::Processing)
    );
    // next_due reports the soonest lease to expire.
    assert!(a.next_due().unwrap().is_some());
}

/// `hookforge serve` for Prets on the database; its port and a log reader
/// that collects the event ids it handled.
struct Receiver {
    child: Child,
    port: u16,
    handled: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

fn serve(url: &str) -> Receiver {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookforge"));
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--vendor",
        "prets",
        "--secret",
    ])
    .arg(format!("prets={SECRET}"))
    .args(["--handler-timeout", "1", "--lease", "3"])
    .env("HOOKFORGE_DATABASE_URL", url)
    .env("RUST_LOG", "info")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let (mut child, port) = common::spawn_listening(cmd);
    let handled = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let reader = {
        let handled = handled.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("handled event")
                    && let Some(rest) = line.split("event_id=\"").nth(1)
                {
                    handled
                        .lock()
                        .unwrap()
                        .push(rest.split('"').next().unwrap().to_string());
                }
            }
        })
    };
    Receiver {
        child,
        port,
        handled,
        reader,
    }
}

fn post(port: u16, body: &[u8]) -> std::io::Result<u16> {
    common::post_prets(port, SECRET, body)
}

#[test]
#[ignore = "needs PostgreSQL: run scripts/with-postgres"]
fn two_receivers_share_one_inbox_and_a_kill_9_loses_and_repeats_nothing() {
    const MAX: usize = 800;
    const KILL_AFTER: usize = 200;
    let limit = Duration::from_secs(60);
    let url = fresh_db("twoproc");
    let mut a = serve(&url);
    let b = serve(&url);
    let ports = [a.port, b.port];
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // Two senders to each receiver; each delivery goes to one of them.
    let senders: Vec<_> = (0..4)
        .map(|k| {
            let (acked, next, finished, stop) =
                (acked.clone(), next.clone(), finished.clone(), stop.clone());
            let port = ports[k % 2];
            std::thread::spawn(move || {
                let mut errors = 0;
                while !stop.load(Ordering::SeqCst) && started.elapsed() < limit {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= MAX {
                        break;
                    }
                    let (id, body) = common::prets_delivery("evt_01KVPGTWOPROC", i);
                    let answer = post(port, &body);
                    finished.fetch_add(1, Ordering::SeqCst);
                    match answer {
                        Ok(code) if (200..300).contains(&code) => acked.lock().unwrap().push(id),
                        Ok(code) => panic!("delivery {i} answered {code}"),
                        Err(_) => {
                            errors += 1;
                            if errors > 3 {
                                break; // its receiver is gone
                            }
                        }
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < KILL_AFTER && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(5));
    }
    let in_flight = next.load(Ordering::SeqCst).min(MAX) - finished.load(Ordering::SeqCst);
    let pid_a = a.child.id();
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
    let probe = PostgresStore::connect(&url, Duration::from_secs(30)).unwrap();
    // What the killed process held: the only deliveries that may be
    // handled twice (once by it, once after its lease ran out).
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let held_by_a: HashSet<String> = c
        .query(
            "SELECT event_id FROM deliveries WHERE status = 'processing' AND locked_by LIKE $1",
            &[&format!("%:{pid_a}")],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    // The senders to B keep going a little while A is down.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for s in senders {
        s.join().unwrap();
    }
    a.reader.join().unwrap();
    // A comes back; together they finish everything.
    let a2 = serve(&url);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = probe.list(None, 100_000).unwrap();
        if rows.iter().all(|r| r.status == Status::Done) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300)); // the last log lines
    let acked = acked.lock().unwrap().clone();
    let rows = probe.list(None, 100_000).unwrap();
    let mut handled: HashMap<String, usize> = HashMap::new();
    let mut by_process = [0usize; 3];
    for (k, r) in [&a.handled, &b.handled, &a2.handled]
        .into_iter()
        .enumerate()
    {
        for id in r.lock().unwrap().iter() {
            *handled.entry(id.clone()).or_default() += 1;
            by_process[k] += 1;
        }
    }
    for mut r in [b, a2] {
        r.child.kill().unwrap();
        r.child.wait().unwrap();
        r.reader.join().unwrap();
    }
    let stored: HashMap<&str, usize> = rows.iter().fold(HashMap::new(), |mut m, r| {
        *m.entry(r.event_id.as_deref().unwrap()).or_default() += 1;
        m
    });
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !stored.contains_key(id.as_str()))
        .collect();
    let twice_stored: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    let not_done: Vec<_> = rows
        .iter()
        .filter(|r| r.status != Status::Done)
        .map(|r| r.id)
        .collect();
    let unhandled: Vec<&String> = acked
        .iter()
        .filter(|id| !handled.contains_key(*id))
        .collect();
    let repeated: Vec<(&String, &usize)> = handled
        .iter()
        .filter(|(id, n)| **n > 1 && !held_by_a.contains(*id))
        .collect();
    eprintln!(
        "two receivers on PostgreSQL: {in_flight} in flight at the kill, {} acknowledged, {} stored, \
         handled by A/B/A': {by_process:?}, {} held by A at the kill",
        acked.len(),
        rows.len(),
        held_by_a.len()
    );
    assert!(in_flight >= 1, "nothing was in flight when the kill landed");
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert!(twice_stored.is_empty(), "stored twice: {twice_stored:?}");
    assert!(not_done.is_empty(), "not handled within 30 s: {not_done:?}");
    assert!(
        unhandled.is_empty(),
        "acknowledged, never handled: {unhandled:?}"
    );
    assert!(
        repeated.is_empty(),
        "handled twice without a lost lease: {repeated:?}"
    );
    assert!(
        by_process[0] > 0 && by_process[1] > 0,
        "both receivers handled deliveries: {by_process:?}"
    );
}

#[test]
#[ignore = "needs PostgreSQL: run scripts/with-postgres"]
fn simulated_lost_responses_against_serve_on_postgres_are_handled_once() {
    let url = fresh_db("simulate");
    let r = serve(&url);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt.block_on(async {
        let inbox = {
            let url = url.clone();
            tokio::task::spawn_blocking(move || hookforge::simulate::PostgresInbox::connect(&url))
                .await
                .unwrap()
                .unwrap()
        };
        hookforge::simulate::Simulator::new(&hookforge::vendors::prets::VENDOR)
            .url(format!("http://127.0.0.1:{}/hooks/prets", r.port))
            .secret(SECRET)
            .events(30)
            .rate(200.0)
            .faults("lost-response=30%,duplicate=10%".parse().unwrap())
            .seed(5)
            .time_scale(30_000.0)
            .inbox(inbox)
            .run()
            .await
            .unwrap()
    });
    assert!(report.passed, "{}", report.table());
    assert!(report.deliveries.iter().any(|d| d.attempts.len() > 1));
    // The inbox CLI reads the same database (URL from the environment).
    let out = Command::new(env!("CARGO_BIN_EXE_hookforge"))
        .args(["inbox", "list", "--json", "--limit", "1000"])
        .env("HOOKFORGE_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 30);
    assert!(rows.iter().all(|r| r["status"] == "done"));
    let mut r = r;
    r.child.kill().unwrap();
    r.child.wait().unwrap();
    r.reader.join().unwrap();
}
