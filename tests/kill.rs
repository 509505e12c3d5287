//! A kill -9 of the receiver under load loses no acknowledged delivery: every
//! delivery that got a 2xx is in the inbox after restart, and each is handled
//! exactly once by the receiver that comes back.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_KillTestKillTestKillTestKillTestKillTest123";
/// Bounds: at most this many deliveries, and at most this long.
const MAX_DELIVERIES: usize = 600;
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn serve(db: &std::path::Path, process: bool) -> (Child, u16) {
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
    .arg("--db")
    .arg(db)
    .env_remove("RUST_LOG")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if !process {
        cmd.arg("--no-process");
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in startup line {line:?}"));
    (child, port)
}

/// One HTTP/1.1 POST on its own connection; the status code.
fn post(port: u16, body: &[u8]) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let head = format!(
        "POST /hooks/prets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer {SECRET}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {resp:?}")))
}

fn delivery(i: usize) -> (String, Vec<u8>) {
    common::prets_delivery("evt_01KVKILLTEST", i)
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
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    // Requests answered (or failed): with `next`, what was in flight.
    let finished = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (acked, next, stop, finished) =
                (acked.clone(), next.clone(), stop.clone(), finished.clone());
            std::thread::spawn(move || {
                let mut errors = 0;
                while !stop.load(Ordering::SeqCst) && started.elapsed() < TIME_LIMIT {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= MAX_DELIVERIES {
                        break;
                    }
                    let (id, body) = delivery(i);
                    let answer = post(port, &body);
                    finished.fetch_add(1, Ordering::SeqCst);
                    match answer {
                        Ok(code) if (200..300).contains(&code) => acked.lock().unwrap().push(id),
                        Ok(code) => panic!("delivery {i} answered {code}"),
                        Err(_) => {
                            errors += 1;
                            if errors > 3 {
                                break; // The receiver is gone.
                            }
                        }
                    }
                }
            })
        })
        .collect();
    // Kill mid-stream, while requests are in flight.
    while acked.lock().unwrap().len() < 150 && started.elapsed() < TIME_LIMIT {
        std::thread::sleep(Duration::from_millis(5));
    }
    let started_at_kill = next.load(Ordering::SeqCst).min(MAX_DELIVERIES);
    let finished_at_kill = finished.load(Ordering::SeqCst);
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 150,
        "only {} deliveries acknowledged",
        acked.len()
    );
    // The kill landed mid-stream: requests had been sent and not answered,
    // and fewer deliveries were acknowledged than the senders would send.
    let in_flight = started_at_kill - finished_at_kill;
    assert!(in_flight >= 1, "nothing was in flight when the kill landed");
    assert!(
        acked.len() < MAX_DELIVERIES,
        "every delivery finished before the kill"
    );

    // Second life: handles what was stored.
    let (mut second, _port) = serve(&db, true);
    let stderr = second.stderr.take().unwrap();
    let handled = Arc::new(Mutex::new(Vec::<String>::new()));
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
    let deadline = Instant::now() + Duration::from_secs(30);
    let stored_count = || {
        let out = Command::new(env!("CARGO_BIN_EXE_hookforge"))
            .args(["inbox", "--db"])
            .arg(&db)
            .args(["list", "--json", "--limit", "100000"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    };
    loop {
        let rows = stored_count();
        if rows.iter().all(|r| r["status"] == "done") || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the log lines of the last deliveries through, then stop.
    std::thread::sleep(Duration::from_millis(300));
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
