//! A kill -9 of the receiver under load loses no acknowledged delivery: every
//! delivery that got a 2xx is in the inbox after restart, and each is handled
//! exactly once by the receiver that comes back.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_KillTestKillTestKillTestKillTestKillTest123";
/// Bounds: at most this many deliveries, and at most this long.
const MAX_DELIVERIES: usize = 600;
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn serve(db: &std::path::Path, process: bool) -> (Child, u16) {
    let mut cmd = common::serve_prets(SECRET);
    cmd.arg("--db")
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !process {
        cmd.arg("--no-process");
    }
    start(cmd)
}

fn start(cmd: Command) -> (Child, u16) {
    common::spawn_listening(cmd)
}

/// Every row of the inbox at `db`, read by the CLI.
fn inbox_rows(db: &Path) -> Vec<serde_json::Value> {
    let out = common::succeeded(
        common::hookforge_command()
            .args(["inbox", "--db"])
            .arg(db)
            .args(["list", "--json", "--limit", "100000"]),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What a load cut short by a kill saw.
struct Load {
    /// Event ids answered 2xx before the kill.
    acked: Vec<String>,
    /// Requests sent and not yet answered when the kill was sent.
    in_flight: usize,
}

/// Sends distinct Prets deliveries from 4 senders until `kill_after` are
/// acknowledged, then SIGKILLs `receiver` mid-stream, and proves it was
/// mid-stream: requests were in flight and not everything was sent.
fn load_then_kill(
    receiver: &mut Child,
    port: u16,
    prefix: &'static str,
    kill_after: usize,
    ready: &dyn Fn() -> bool,
) -> Load {
    let load = common::PretsLoad::start(&[port; 4], SECRET, prefix, MAX_DELIVERIES, TIME_LIMIT);
    // Kill mid-stream, while requests are in flight, once the scenario's
    // own condition holds (handlers running, under a loaded machine too).
    load.wait_until(kill_after, ready);
    let in_flight = load.in_flight();
    receiver.kill().unwrap(); // SIGKILL
    receiver.wait().unwrap();
    let acked = load.stop();
    assert!(
        acked.len() >= kill_after,
        "only {} deliveries acknowledged",
        acked.len()
    );
    // The kill landed mid-stream: requests had been sent and not answered,
    // and fewer deliveries were acknowledged than the senders would send.
    assert!(in_flight >= 1, "nothing was in flight when the kill landed");
    assert!(
        acked.len() < MAX_DELIVERIES,
        "every delivery finished before the kill"
    );

    Load { acked, in_flight }
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_delivery() {
    let dir = std::env::temp_dir().join(format!("hookforge-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("inbox.db");
    let _ = std::fs::remove_file(&db);

    // First life: store only, so every acknowledged delivery must be handled
    // by the second life, exactly once.
    let (mut first, port) = serve(&db, false);
    let load = load_then_kill(&mut first, port, "evt_01KVKILLTEST", 150, &|| true);
    let (acked, in_flight) = (load.acked, load.in_flight);

    // Second life: handles what was stored.
    let (mut second, _port) = serve(&db, true);
    let (handled, reader) = common::handled_ids(second.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let stored_count = || inbox_rows(&db);
    loop {
        let rows = stored_count();
        if rows.iter().all(|r| r["status"] == "done") || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Wait (bounded) for the log lines of the last deliveries, then stop.
    let rows_now = stored_count().len();
    while handled.lock().unwrap().len() < rows_now
        && Instant::now() < deadline + Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    second.kill().unwrap();
    second.wait().unwrap();
    reader.join().unwrap();

    let rows = stored_count();
    let stored: std::collections::HashMap<String, &serde_json::Value> = rows
        .iter()
        .map(|r| (r["event_id"].as_str().unwrap().to_string(), r))
        .collect();
    let handled = handled.lock().unwrap().clone();
    let mut lost = Vec::new();
    let mut wrong_count = Vec::new();
    for id in &acked {
        if !stored.contains_key(id) {
            lost.push(id.clone());
        }
        let n = handled.iter().filter(|h| *h == id).count();
        if n != 1 {
            wrong_count.push(format!("{id} handled {n} times"));
        }
    }
    eprintln!(
        "kill -9 test: {in_flight} in flight at the kill, {} acknowledged before it, {} stored, {} handled after restart",
        acked.len(),
        rows.len(),
        handled.len()
    );
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(wrong_count.is_empty(), "{wrong_count:?}");
    assert!(
        rows.iter()
            .all(|r| r["status"] == "done" && r["attempts"] == 1),
        "not all done once"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The receiver of the processing test, in its own process: this test
/// binary, re-run by `kill_9_while_handling_…` with the variables below.
/// It stores into SQLite and hands each delivery to a handler that takes
/// 50 ms and then appends `<life> <event id>` to a log file.
#[test]
#[ignore = "the child process of kill_9_while_handling_recovers_what_was_in_progress"]
fn child_receiver_with_a_slow_handler() {
    use hookforge::receive::inbox::Inbox;
    use hookforge::receive::store::SqliteStore;

    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} unset: this test is run by its parent"))
    };
    let (db, log, life) = (
        var("HOOKFORGE_KILL_DB"),
        var("HOOKFORGE_KILL_LOG"),
        var("HOOKFORGE_KILL_LIFE"),
    );
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let inbox = Inbox::new(Arc::new(SqliteStore::open(Path::new(&db)).unwrap()));
            let log = std::path::PathBuf::from(log);
            inbox.handle(common::OnPretsId(move |id: String| {
                let (log, life) = (log.clone(), life.clone());
                async move {
                    // The first life's handlers run long, so a handler is
                    // still running when the kill lands, however late the
                    // test thread is scheduled after seeing one start.
                    let ms = if life == "first" { 400 } else { 50 };
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    common::append_line(&log, &format!("{life} {id}"))?;
                    Ok(())
                }
            }));
            let _worker = inbox.spawn_worker();
            let app = common::prets_router(SECRET, inbox);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("listening on http://{}", listener.local_addr().unwrap());
            hookforge::receive::serve::serve_router(listener, app, Default::default())
                .await
                .unwrap();
        });
}

fn slow_receiver(db: &Path, log: &Path, life: &str) -> (Child, u16) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        "kill::child_receiver_with_a_slow_handler",
        "--nocapture",
    ])
    .env("HOOKFORGE_KILL_DB", db)
    .env("HOOKFORGE_KILL_LOG", log)
    .env("HOOKFORGE_KILL_LIFE", life)
    .env_remove("RUST_LOG")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    start(cmd)
}

/// Whether some delivery is `processing`, read from the inbox file itself
/// (a second SQLite reader beside the receiver).
fn any_processing(db: &Path) -> bool {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM deliveries WHERE status = 'processing'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .is_ok_and(|n| n > 0)
}

/// With processing on, a kill -9 leaves deliveries `processing`; the next
/// life puts them back and handles them. Every acknowledged delivery is
/// handled; one finished before the kill is not handled again; one the kill
/// interrupted is handled again by the next life (at least once: its first
/// handling may have finished without being recorded).
#[test]
fn kill_9_while_handling_recovers_what_was_in_progress() {
    let dir =
        std::env::temp_dir().join(format!("hookforge-kill-processing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (db, log) = (dir.join("inbox.db"), dir.join("handled.log"));

    let (mut first, port) = slow_receiver(&db, &log, "first");
    // Killed while a handler runs (under a loaded machine too).
    let processing = || any_processing(&db);
    let load = load_then_kill(&mut first, port, "evt_01KVPROCKILL", 100, &processing);
    let at_kill = inbox_rows(&db);
    let status_at_kill = |s: &str| -> Vec<String> {
        at_kill
            .iter()
            .filter(|r| r["status"] == s)
            .map(|r| r["event_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (was_processing, was_done) = (status_at_kill("processing"), status_at_kill("done"));
    // The kill landed while handlers ran: recovery has something to do.
    assert!(
        !was_processing.is_empty(),
        "nothing was processing at the kill"
    );
    // Only deliveries being handled are `processing`: at most the 4 handler
    // slots, not a batch claimed ahead of them.
    assert!(
        was_processing.len() <= 4,
        "{} processing at the kill, with 4 handler slots",
        was_processing.len()
    );

    let (mut second, _) = slow_receiver(&db, &log, "second");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !inbox_rows(&db).iter().all(|r| r["status"] == "done") {
        assert!(
            Instant::now() < deadline,
            "not all done within 60 s after restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    second.kill().unwrap();
    second.wait().unwrap();

    let rows = inbox_rows(&db);
    let stored: std::collections::HashMap<&str, &serde_json::Value> = rows
        .iter()
        .map(|r| (r["event_id"].as_str().unwrap(), r))
        .collect();
    let log = std::fs::read_to_string(&log).unwrap();
    let handled =
        |life: &str, id: &str| log.lines().filter(|l| *l == format!("{life} {id}")).count();
    let mut wrong = Vec::new();
    for id in &load.acked {
        if !stored.contains_key(id.as_str()) {
            wrong.push(format!("{id}: acknowledged, not stored"));
        }
        let (h1, h2) = (handled("first", id), handled("second", id));
        let expected = if was_done.contains(id) {
            (1, 0)
        } else if was_processing.contains(id) {
            (h1.min(1), 1) // Its first handling may or may not have finished.
        } else {
            (0, 1)
        };
        if (h1, h2) != expected {
            wrong.push(format!(
                "{id}: handled {h1}× before the kill, {h2}× after; expected {expected:?}"
            ));
        }
    }
    for id in &was_processing {
        if stored[id.as_str()]["attempts"] != 2 {
            wrong.push(format!(
                "{id}: recovered, but {} attempts",
                stored[id.as_str()]["attempts"]
            ));
        }
    }
    eprintln!(
        "kill -9 while handling: {} in flight, {} acknowledged, {} processing and {} done at the kill, {} stored",
        load.in_flight,
        load.acked.len(),
        was_processing.len(),
        was_done.len(),
        rows.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A SIGTERM (every deploy sends one) stops the receiver gently: a request
/// still being sent is read, committed and answered 200, new connections
/// are refused, an idle keep-alive connection does not hold the exit, and
/// the process exits 0. Killed at once instead, the request is cut and the
/// vendor counts a failed delivery.
#[test]
fn sigterm_answers_the_request_in_flight_then_exits() {
    use std::io::Read;
    let dir = common::temp_dir("sigterm");
    let db = dir.join("inbox.db");
    let mut cmd = common::serve_prets(SECRET);
    cmd.arg("--db")
        .arg(&db)
        .args(["--shutdown-grace", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let (mut child, port) = start(cmd);
    let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (id, body) = common::prets_delivery("evt_sigterm_", 1);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // `Expect: 100-continue`: the `100 Continue` shows the server is in the
    // request, reading its body, however loaded the machine (a sleep would
    // only guess).
    let head = format!(
        "POST /hooks/prets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {SECRET}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&interim)
    );
    let (first, rest) = body.split_at(body.len() / 2);
    s.write_all(first).unwrap();
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // The listener closes: a new connection is refused. Waited for up to
    // the grace period, not a guess at how fast a loaded machine is (2 s
    // failed once under a parallel build).
    let refused = (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    assert!(refused, "new connections still accepted 10 s after SIGTERM");
    s.write_all(rest).unwrap();
    let mut answer = String::new();
    let read = s.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the request in flight at SIGTERM got {answer:?} ({read:?})"
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("still running 15 s after its request was answered (grace 10 s)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let rows = inbox_rows(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["event_id"], id.as_str());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The inbox file deleted while `serve` runs (a cleanup script, a volume
/// swapped): commits would go to the unlinked file and be lost at the next
/// start, so deliveries are refused with 503 (the vendor retries them) and
/// `/health` says why, instead of 200s that are then lost.
#[test]
fn a_deleted_inbox_file_refuses_deliveries_and_fails_health() {
    refused_after_removing("deleted-db", &["", "-wal", "-shm"], "inbox.db", false);
}

/// Only the WAL removed: commits went on into the unlinked WAL, and what the
/// checkpointer had not copied yet was lost at the next start (24 of 1,100
/// acknowledged deliveries in a run by hand with a `kill -9`).
#[test]
fn a_deleted_wal_refuses_deliveries_and_fails_health() {
    refused_after_removing("deleted-wal", &["-wal"], "inbox.db-wal", false);
}

/// The same through a symlink to the inbox: SQLite keeps the WAL beside
/// the file the link names, where the check must look too (helper-49's
/// review: it looked beside the link, found nothing, and checked nothing).
#[cfg(unix)]
#[test]
fn a_deleted_wal_behind_a_symlink_refuses_deliveries() {
    refused_after_removing("deleted-wal-link", &["-wal"], "inbox.db-wal", true);
}

/// One delivery stored, then the files `suffixes` name removed: the next
/// delivery gets 503 and `/health` 503, naming `named`. `through_link`:
/// `serve` is given a symlink to the inbox.
fn refused_after_removing(dir_name: &str, suffixes: &[&str], named: &str, through_link: bool) {
    let dir = common::temp_dir(dir_name);
    let db = dir.join("inbox.db");
    let given = if through_link {
        let link = dir.join("link.db");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&db, &link).unwrap();
        link
    } else {
        db.clone()
    };
    let (mut child, port) = serve(&given, false);
    let (_, body) = common::prets_delivery("evt_deleted_", 1);
    assert_eq!(common::post_prets(port, SECRET, &body).unwrap(), 200);
    for suffix in suffixes {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let (_, body) = common::prets_delivery("evt_deleted_", 2);
    let status = common::post_prets(port, SECRET, &body).unwrap();
    let health = health_of(port);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 503, "a delivery after removing {suffixes:?}");
    assert!(
        health.starts_with("HTTP/1.1 503")
            && health.contains("deleted or replaced")
            && health.contains(&format!("{named} ")),
        "{health}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `GET /health`'s whole answer.
fn health_of(port: u16) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}
