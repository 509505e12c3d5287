//! Never lose an authentic delivery: each fault a receiver meets in
//! production, reproduced, with what must hold. RELIABILITY.md lists them.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hookforge::receive::inbox::{Inbox, RetryPolicy, WorkerConfig};
use hookforge::receive::receiver::Receiver;
use hookforge::receive::serve::{ServeConfig, ServerLimits};
use hookforge::receive::store::{MemoryStore, SqliteStore, Status, Store, StoredDelivery};
use hookforge::vendors::{prets, superoffice};
use hookforge::{BoxFuture, RawHandler};
use hookforge::{HandlerResult, HeaderMap, VendorSpec};
use tower::ServiceExt;

const PRETS_SECRET: &str = "whsec_Zx9Qm2Lk7Vb4Np1Rt6Yh3Jd8Fs5Gw0Ca2Ue7Io4Pk9Q";
const SO_SECRET: &str = "so-reliability-secret-7c1d";

fn prets_delivery(i: usize) -> (String, Vec<u8>) {
    common::prets_delivery("evt_01KVRELIABLE", i)
}

fn prets_req(body: Vec<u8>) -> Request<Body> {
    Request::post("/hooks/prets")
        .header("authorization", format!("Bearer {PRETS_SECRET}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

/// One HTTP/1.1 POST on its own connection: the status code.
fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<u16> {
    common::try_post(addr.port(), path, headers, body)
}

fn bearer() -> String {
    format!("Bearer {PRETS_SECRET}")
}

fn post_prets(addr: SocketAddr, body: &[u8]) -> std::io::Result<u16> {
    post(
        addr,
        "/hooks/prets",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &bearer()),
        ],
        body,
    )
}

/// `hookforge serve` in a child process: its address from the start line,
/// and its stderr, drained all along (a full pipe would block its logging).
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Served {
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The drain thread ends with the pipe.
        std::thread::sleep(Duration::from_millis(50));
        self.stderr.lock().unwrap().clone()
    }
}

fn spawn_serve(cmd: &mut Command) -> Served {
    cmd.env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let pipe = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "no address in start line {line:?}; stderr: {}",
                stderr.lock().unwrap()
            )
        });
    Served {
        child,
        addr,
        stderr,
    }
}

fn hookforge() -> Command {
    common::hookforge_command()
}

// ---------------------------------------------------------------------------
// 1. A 2xx only after a commit that succeeded.

/// The inbox file cannot grow (a file-size limit with SIGXFSZ ignored, so
/// writes fail with EFBIG as on a full disk). Before the fix, SQLite's
/// failed commit went unseen and every delivery was answered 200.
#[test]
fn a_full_disk_never_gets_a_2xx_and_the_server_keeps_answering() {
    let dir = common::temp_dir("fsize");
    let db = dir.join("inbox.db");
    // 384 KiB: room for a few hundred deliveries, not for 1,500.
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"ulimit -f 384 && trap "" XFSZ && exec "$@""#)
        .arg("bash")
        .arg(env!("CARGO_BIN_EXE_hookforge"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--vendor",
            "prets",
            "--no-process",
        ])
        .arg("--secret")
        .arg(format!("prets={PRETS_SECRET}"))
        .arg("--db")
        .arg(&db);
    let server = spawn_serve(&mut cmd);
    let addr = server.addr;
    const TOTAL: usize = 1500;
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (next, acked, refused) = (next.clone(), acked.clone(), refused.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= TOTAL {
                        break;
                    }
                    let (id, body) = prets_delivery(i);
                    match post_prets(addr, &body).expect("the server stays up") {
                        200 => acked.lock().unwrap().push(id),
                        503 => {
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                        other => panic!("delivery {i}: unexpected {other}"),
                    }
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    // Still answering after the failures.
    let health = {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r
    };
    let log = server.stop();
    let acked = acked.lock().unwrap().clone();
    let refused = refused.load(Ordering::SeqCst);
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert_eq!(acked.len() + refused, TOTAL);
    // "Restart": open the inbox without the limit; every 2xx is there.
    let store = SqliteStore::open(&db).unwrap();
    let stored: std::collections::HashSet<String> = store
        .list(None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter_map(|d| d.event_id)
        .collect();
    let lost: Vec<_> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    eprintln!(
        "file-size limit: {} answered 200, {refused} answered 503, {} stored, {} of the 200s lost",
        acked.len(),
        stored.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "answered 200 but not stored: {} of them",
        lost.len()
    );
    assert!(refused > 0, "the file-size limit was never reached");
    assert!(
        log.contains("status=503 reason=cannot store the delivery: inbox database:"),
        "{log}"
    );
    assert!(!acked.is_empty(), "nothing fit under the limit");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// While the store has not committed, the vendor has no answer.
#[tokio::test]
async fn no_answer_before_the_store_commits() {
    let store = Arc::new(common::FaultStore::default());
    let app = common::prets_router(PRETS_SECRET, Inbox::new(store.clone()));
    store.hold();
    let (_, body) = prets_delivery(1);
    let pending = tokio::spawn(app.oneshot(prets_req(body)));
    common::within(20, "the insert to reach the store", async {
        while store.inserts_seen.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!pending.is_finished(), "answered before the commit");
    store.release();
    let resp = common::within(20, "the answer", pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(store.list(None, 10).unwrap().len(), 1);
}

/// A full in-memory inbox answers 503 with Retry-After, never a silent drop.
#[tokio::test]
async fn a_full_memory_inbox_answers_503() {
    let store = Arc::new(MemoryStore::with_capacity(2));
    let app = common::prets_router(PRETS_SECRET, Inbox::new(store.clone()));
    let mut statuses = Vec::new();
    for i in 0..3 {
        let resp = app
            .clone()
            .oneshot(prets_req(prets_delivery(i).1))
            .await
            .unwrap();
        statuses.push((resp.status(), resp.headers().get("retry-after").cloned()));
    }
    assert_eq!(statuses[0].0, StatusCode::OK);
    assert_eq!(statuses[1].0, StatusCode::OK);
    assert_eq!(statuses[2].0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(statuses[2].1.as_ref().unwrap(), "5");
    assert_eq!(store.list(None, 10).unwrap().len(), 2);
}

// ---------------------------------------------------------------------------
// 2. Quarantine.

/// The misfits of the issue: authentic, JSON, not what our model says.
fn misfits() -> Vec<(&'static str, &'static VendorSpec, Vec<u8>)> {
    let mut out = Vec::new();
    let base: serde_json::Value = serde_json::from_slice(&prets_delivery(7).1).unwrap();
    for (name, path, value) in [
        (
            "prets quoteId is a number",
            "/data/quoteId",
            serde_json::json!(5),
        ),
        (
            "prets organization is null",
            "/organization",
            serde_json::Value::Null,
        ),
        (
            "prets version is a number",
            "/version",
            serde_json::json!(20260601),
        ),
    ] {
        let mut v = base.clone();
        *v.pointer_mut(path).unwrap() = value;
        v["eventId"] = format!("evt_misfit_{}", out.len()).into();
        out.push((name, &prets::VENDOR, serde_json::to_vec(&v).unwrap()));
    }
    let so: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::root().join("samples/superoffice/quote.approved/doc-1.json"))
            .unwrap(),
    )
    .unwrap();
    let mut so = so;
    so["Changes"] = "everything".into();
    out.push((
        "superoffice Changes is a string",
        &superoffice::VENDOR,
        serde_json::to_vec(&so).unwrap(),
    ));
    out
}

fn signed_headers(v: &VendorSpec, secret: &str, body: &[u8]) -> Vec<(String, String)> {
    let signer =
        hookforge::auth::Signer::for_manifest(v.manifest(), hookforge::auth::Secret::new(secret))
            .unwrap();
    let mut h: Vec<(String, String)> = hookforge::conformance::delivery::vendor_headers(
        v,
        body,
        Some(&signer),
        &hookforge::conformance::delivery::Attempt::default(),
    )
    .unwrap()
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if !h
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        h.push(("content-type".into(), "application/json".into()));
    }
    h
}

/// Each misfit is answered 200, stored as quarantined with the parse error,
/// listed by `inbox list --status quarantined --json`; `inbox reparse`
/// leaves real misfits and releases what fits now; `--on-misfit reject`
/// keeps the old refusal.
#[test]
fn authentic_misfits_are_quarantined_listed_and_reparsed() {
    let dir = common::temp_dir("quarantine");
    let db = dir.join("inbox.db");
    post_misfits(&db);
    let q = check_quarantined_listed(&db);
    // A delivery quarantined by an older binary whose model has since been
    // fixed: it fits this binary's model.
    let store = SqliteStore::open(&db).unwrap();
    let (id, body) = prets_delivery(99);
    let mut old = common::new_delivery("prets", &id, body);
    old.misfit = Some("an older model refused it".into());
    store.insert(&old).unwrap();
    drop(store);
    let still_bad = q[0]["id"].as_i64().unwrap().to_string();
    check_reparse(&db, &still_bad, &id);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `serve` for Prets and SuperOffice into the inbox at `db`, processing
/// nothing, with `extra` flags.
fn serve_misfit_inbox(db: &Path, extra: &[&str]) -> Served {
    let mut cmd = hookforge();
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--no-process",
        "--vendor",
        "prets",
        "--vendor",
        "superoffice",
    ])
    .arg("--secret")
    .arg(format!("prets={PRETS_SECRET}"))
    .arg("--secret")
    .arg(format!("superoffice={SO_SECRET}"))
    .arg("--db")
    .arg(db)
    .args(extra);
    spawn_serve(&mut cmd)
}

/// `body` posted to `v`'s endpoint at `addr`, signed as `v` signs: the
/// status code.
fn send_signed(addr: SocketAddr, v: &VendorSpec, body: &[u8]) -> u16 {
    let secret = if v.id == "prets" {
        PRETS_SECRET
    } else {
        SO_SECRET
    };
    let h = signed_headers(v, secret, body);
    let refs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post(addr, &format!("/hooks/{}", v.id), &refs, body).unwrap()
}

/// The misfits are refused (and nothing stored) with `--on-misfit reject`,
/// then answered 200 and quarantined into `db` without it.
fn post_misfits(db: &Path) {
    // Refused when asked to, and nothing stored.
    let strict = serve_misfit_inbox(db, &["--on-misfit", "reject"]);
    for (name, v, body) in misfits() {
        assert_eq!(send_signed(strict.addr, v, &body), 400, "{name}");
    }
    strict.stop();
    let server = serve_misfit_inbox(db, &[]);
    for (name, v, body) in misfits() {
        assert_eq!(send_signed(server.addr, v, &body), 200, "{name}");
    }
    // Not JSON at all, though authentic: still refused.
    let not_json = post_prets(server.addr, b"{\"type\": oops").unwrap();
    assert_eq!(not_json, 400);
    let log = server.stop();
    assert_eq!(
        log.matches("WARN hookforge::receive::receiver: quarantined delivery")
            .count(),
        misfits().len(),
        "{log}"
    );
}

/// `inbox list --status <status> --json` of the inbox at `db`.
fn inbox_list(db: &Path, status: &str) -> Vec<serde_json::Value> {
    let out = common::succeeded(
        hookforge()
            .args(["inbox", "--db"])
            .arg(db)
            .args(["list", "--status", status, "--json"]),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every misfit is listed as quarantined with its parse error; the list.
fn check_quarantined_listed(db: &Path) -> Vec<serde_json::Value> {
    let q = inbox_list(db, "quarantined");
    assert_eq!(q.len(), misfits().len(), "{q:#?}");
    let errors: Vec<&str> = q
        .iter()
        .map(|r| r["last_error"].as_str().unwrap())
        .collect();
    for want in [
        "`quote.updated` payload: at `data.quoteId`: invalid type: integer `5`, expected a string",
        "`quote.updated` payload: at `organization`",
        "`quote.updated` payload: at `version`",
        "`quote.approved` payload: at `Changes`",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{want} not in {errors:#?}"
        );
    }
    q
}

/// `inbox reparse` of the row `still_bad` (a real misfit) fails; of all,
/// releases only the delivery `fixed_id`, which fits now.
fn check_reparse(db: &Path, still_bad: &str, fixed_id: &str) {
    let reparse = |args: &[&str]| {
        hookforge()
            .args(["inbox", "--db"])
            .arg(db)
            .arg("reparse")
            .args(args)
            .output()
            .unwrap()
    };
    let out = reparse(&["--id", still_bad]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = reparse(&["--all"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("reparse: 1 moved to pending, 4 still quarantined"),
        "{text}"
    );
    assert_eq!(inbox_list(db, "quarantined").len(), 4);
    let pending = inbox_list(db, "pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["event_id"], fixed_id);
    assert_eq!(pending[0]["last_error"], serde_json::Value::Null);
}

// ---------------------------------------------------------------------------
// 4. A worker that survives its handlers.

/// What the misbehaving handler does on each call, by call number.
#[derive(Clone, Copy)]
enum Act {
    Panic,
    Hang,
    Fail,
    Succeed,
    /// Succeeds after 300 ms.
    Slow,
}

struct Scripted {
    vendor: &'static VendorSpec,
    script: Vec<Act>,
    calls: Arc<AtomicUsize>,
}

/// Accepts one delivery into `inbox`, as the receiver does after verifying it.
async fn accept(inbox: &Inbox, vendor: &str, event_id: &str, body: Vec<u8>) {
    inbox
        .accept(common::new_delivery(vendor, event_id, body))
        .await
        .unwrap();
}

/// Registers a [`Scripted`] handler for `vendor` on `inbox`; its call count.
fn scripted(inbox: &Inbox, vendor: &'static VendorSpec, script: Vec<Act>) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    inbox.handle(Scripted {
        vendor,
        script,
        calls: calls.clone(),
    });
    calls
}

impl RawHandler for Scripted {
    fn vendor(&self) -> &'static VendorSpec {
        self.vendor
    }
    fn handle<'a>(&'a self, _body: &'a [u8], _h: &'a HeaderMap) -> BoxFuture<'a, HandlerResult> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let act = self.script.get(n).copied().unwrap_or(Act::Succeed);
        Box::pin(async move {
            match act {
                Act::Panic => panic!("handler bug on call {n}"),
                Act::Hang => {
                    std::future::pending::<()>().await;
                    Ok(())
                }
                Act::Fail => Err(format!("downstream unavailable (call {n})").into()),
                Act::Succeed => Ok(()),
                Act::Slow => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok(())
                }
            }
        })
    }
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_attempts,
    }
}

/// An inbox over `store` retrying fast up to `max_attempts`, one handler
/// call at a time per vendor, each cut off after `handler_timeout`.
fn one_slot_inbox(store: &Arc<MemoryStore>, max_attempts: u32, handler_timeout: Duration) -> Inbox {
    Inbox::new(store.clone())
        .with_retry(fast_retry(max_attempts))
        .with_worker(WorkerConfig {
            handler_timeout,
            concurrency_per_vendor: 1,
            skip_stale: false,
        })
}

async fn wait_for(store: &dyn Store, what: &str, f: impl Fn(&[StoredDelivery]) -> bool) {
    common::within(30, what, async {
        loop {
            if f(&store.list(None, 1000).unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// A panic, a hang, then a failure are three failed attempts; the fourth
/// succeeds. Meanwhile the other vendor's deliveries keep flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_hangs_and_failures_are_failed_attempts_and_other_vendors_keep_flowing() {
    let store = Arc::new(MemoryStore::new());
    // A second: long enough that no instant call is cut off on a busy machine.
    let inbox = one_slot_inbox(&store, 10, Duration::from_secs(1));
    let bad_calls = scripted(
        &inbox,
        &prets::VENDOR,
        vec![Act::Panic, Act::Hang, Act::Fail],
    );
    let good_calls = scripted(&inbox, &superoffice::VENDOR, vec![]);
    inbox.spawn_worker();
    let so_delivery =
        |i: usize| common::new_delivery("superoffice", &format!("so-{i}"), b"{}".to_vec());
    let (id, body) = prets_delivery(1);
    accept(&inbox, "prets", &id, body).await;
    // While Prets' only slot is held by the hanging call, SuperOffice flows.
    wait_for(store.as_ref(), "the hanging call", |_| {
        bad_calls.load(Ordering::SeqCst) >= 2
    })
    .await;
    for i in 0..20 {
        inbox.accept(so_delivery(i)).await.unwrap();
    }
    wait_for(
        store.as_ref(),
        "SuperOffice deliveries while Prets hangs",
        |rows| {
            rows.iter()
                .filter(|d| d.vendor == "superoffice" && d.status == Status::Done)
                .count()
                == 20
        },
    )
    .await;
    wait_for(store.as_ref(), "the Prets delivery to succeed", prets_done).await;
    let d = first_of(store.as_ref(), "prets");
    assert_eq!(d.attempts, 4, "panic, hang, failure, success");
    assert_eq!(bad_calls.load(Ordering::SeqCst), 4);
    assert_eq!(good_calls.load(Ordering::SeqCst), 20);
}

/// Stopping (`serve` on SIGTERM) drains the worker: the handler call in
/// flight finishes and its delivery is `done`, and nothing more is claimed.
#[tokio::test]
async fn a_drain_lets_running_handlers_finish_and_claims_nothing_more() {
    let store = Arc::new(MemoryStore::new());
    let inbox = one_slot_inbox(&store, 3, Duration::from_secs(10));
    let calls = scripted(&inbox, &prets::VENDOR, vec![Act::Slow]);
    inbox.spawn_worker();
    let (id, body) = prets_delivery(1);
    accept(&inbox, "prets", &id, body).await;
    wait_for(store.as_ref(), "the slow call", |_| {
        calls.load(Ordering::SeqCst) >= 1
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    assert_eq!(inbox.drain(deadline).await, 0, "a handler still running");
    let (id2, body2) = prets_delivery(2);
    accept(&inbox, "prets", &id2, body2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = store.list(None, 10).unwrap();
    let status = |id: &str| {
        rows.iter()
            .find(|d| d.event_id.as_deref() == Some(id))
            .unwrap()
            .status
    };
    assert_eq!((status(&id), status(&id2)), (Status::Done, Status::Pending));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// After `max_attempts` a delivery is dead; `replay` resets its attempts.
#[tokio::test]
async fn dead_letters_after_max_attempts_and_replay_resets_attempts() {
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone()).with_retry(fast_retry(2));
    scripted(&inbox, &prets::VENDOR, vec![Act::Fail, Act::Panic]);
    inbox.spawn_worker();
    let app = common::prets_router(PRETS_SECRET, inbox);
    assert_eq!(
        app.oneshot(prets_req(prets_delivery(3).1))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    wait_for(store.as_ref(), "a dead letter", |rows| {
        rows.iter().any(|d| d.status == Status::Dead)
    })
    .await;
    let d = store.get(1).unwrap().unwrap();
    assert_eq!(d.attempts, 2);
    assert!(
        d.last_error
            .as_deref()
            .unwrap()
            .contains("handler panicked: handler bug on call 1"),
        "{d:?}"
    );
    assert!(store.requeue(1).unwrap());
    wait_for(store.as_ref(), "the replay", |rows| {
        rows.iter().any(|d| d.status == Status::Done)
    })
    .await;
    assert_eq!(
        store.get(1).unwrap().unwrap().attempts,
        1,
        "replay starts counting again"
    );
}

/// The worker loop's supervisor starts it again when it panics.
#[tokio::test]
async fn a_supervised_loop_is_restarted_after_a_panic() {
    let starts = Arc::new(AtomicUsize::new(0));
    let s = starts.clone();
    let sup = tokio::spawn(hookforge::receive::inbox::supervise(
        "test loop",
        move || {
            let s = s.clone();
            async move {
                if s.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("loop bug");
                }
                std::future::pending::<()>().await;
            }
        },
    ));
    common::within(20, "three starts", async {
        while starts.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(!sup.is_finished());
    sup.abort();
}

/// Handles delivery `id` now, as the worker would: started, then completed.
fn handle_now(store: &dyn Store, id: i64) {
    let held = store.start(id).unwrap().expect("pending");
    let done = store.complete(held, hookforge::receive::store::now_ms());
    assert!(done.unwrap(), "delivery {id} was taken over");
}

/// `--retain`: done deliveries past the retention are deleted; others stay.
#[tokio::test]
async fn retention_purges_only_old_done_deliveries() {
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone());
    for i in 0..2 {
        let (id, body) = prets_delivery(i);
        let mut d = common::new_delivery("prets", &id, body);
        d.received_at_ms = 0;
        inbox.accept(d).await.unwrap();
    }
    handle_now(store.as_ref(), 1);
    inbox.spawn_retention(Duration::from_millis(200), Duration::from_secs(3600));
    wait_for(store.as_ref(), "the purge", |rows| {
        rows.iter()
            .any(|d| d.status == Status::Done && d.body.is_empty())
    })
    .await;
    // A late retry of the purged delivery is a duplicate, not handled again.
    let (id, body) = prets_delivery(0);
    let again = inbox
        .accept(common::new_delivery("prets", &id, body))
        .await
        .unwrap();
    assert!(
        matches!(
            again,
            hookforge::receive::store::Inserted::Duplicate(1, Status::Done)
        ),
        "{again:?}"
    );
    let pending: Vec<_> = store
        .list(None, 10)
        .unwrap()
        .into_iter()
        .filter(|d| d.status == Status::Pending)
        .collect();
    assert_eq!(pending.len(), 1);
}

/// Past the vendors' retry horizon the key goes too.
#[tokio::test]
async fn retention_forgets_keys_only_past_the_retry_horizon() {
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone());
    let (id, body) = prets_delivery(0);
    accept(&inbox, "prets", &id, body).await;
    handle_now(store.as_ref(), 1);
    inbox.spawn_retention(Duration::from_millis(100), Duration::from_millis(100));
    wait_for(store.as_ref(), "the key forgotten", |rows| rows.is_empty()).await;
    // Prets retries for 24 h: serve keeps keys at least that long.
    let horizon = hookforge::receive::serve::retry_horizon(&[&prets::VENDOR]);
    assert!(horizon >= Duration::from_secs(86_400), "{horizon:?}");
}

// ---------------------------------------------------------------------------
// 5. A hardened server.

async fn start(cfg: ServeConfig) -> hookforge::receive::serve::Server {
    hookforge::receive::serve::start(cfg).await.unwrap()
}

fn limits_cfg() -> ServeConfig {
    let mut cfg = ServeConfig::new(([127, 0, 0, 1], 0).into());
    cfg.vendors = vec![&prets::VENDOR];
    cfg.secrets.insert(
        "prets".into(),
        vec![hookforge::auth::Secret::new(PRETS_SECRET)],
    );
    cfg.limits = ServerLimits {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        max_connections: 1024,
        max_connections_per_ip: None,
    };
    cfg.body_timeout = Duration::from_secs(1);
    cfg
}

/// Reads until the peer closes; the time that took.
fn time_to_close(mut s: TcpStream) -> Duration {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return t.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return t.elapsed(),
            Err(e) => panic!("still open after 30 s: {e}"),
        }
    }
}

/// `count` connections to `addr`, each having sent `head` and nothing more.
fn half_sent(addr: SocketAddr, count: usize, head: &[u8]) -> Vec<TcpStream> {
    (0..count)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(head).unwrap();
            s
        })
        .collect()
}

/// Slowloris: sockets that send half a request line are cut off; so is an
/// idle keep-alive connection; a body that stops arriving gets 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off() {
    let server = start(limits_cfg()).await;
    let addr = server.addr;
    let closed = tokio::task::spawn_blocking(move || {
        let slow = half_sent(addr, 3, b"POST /hooks/prets HTT");
        let slow: Vec<Duration> = slow.into_iter().map(time_to_close).collect();
        // Idle keep-alive: one full request, then silence.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let idle = time_to_close(idle);
        // A body that stops: 408, then the connection closes.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(
            format!(
                "POST /hooks/prets HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"type\":",
                bearer()
            )
            .as_bytes(),
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        (slow, idle, String::from_utf8_lossy(&resp).into_owned())
    })
    .await
    .unwrap();
    let (slow, idle, body_resp) = closed;
    eprintln!("closed after: slow headers {slow:?}, idle {idle:?}");
    assert!(body_resp.starts_with("HTTP/1.1 408"), "{body_resp}");
    assert!(
        body_resp.contains("did not arrive within 1.0 s"),
        "{body_resp}"
    );
}

/// Past the connection cap, a new client waits until a slot frees: here
/// only when the header timeout cuts off the sockets holding them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let mut cfg = limits_cfg();
    cfg.limits.max_connections = 2;
    let server = start(cfg).await;
    let addr = server.addr;
    let waited = tokio::task::spawn_blocking(move || {
        let holders = half_sent(addr, 2, b"POST /hooks/prets HTTP/1.1\r\n");
        std::thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        let (_, body) = prets_delivery(5);
        let code = post_prets(addr, &body).unwrap();
        drop(holders);
        (code, t.elapsed())
    })
    .await
    .unwrap();
    assert_eq!(waited.0, 200);
    // Served only once a holder was cut off (header timeout: 1 s).
    assert!(
        waited.1 >= Duration::from_millis(800),
        "served after {:?}",
        waited.1
    );
}

/// `--max-connections-per-ip 2`: one address holding two connections gets
/// 503 for a third, while a client at another address is served (before,
/// the third was served too, and one address could take every slot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut cfg = limits_cfg();
    cfg.limits.max_connections = 4;
    cfg.limits.max_connections_per_ip = Some(2);
    let server = start(cfg).await;
    let addr = server.addr;
    let connect_from = |ip: [u8; 4]| async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((ip, 0).into()).unwrap();
        socket.connect(addr).await.unwrap()
    };
    let (_, body) = prets_delivery(6);
    let request = format!(
        "POST /hooks/prets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {PRETS_SECRET}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let answer = |mut s: tokio::net::TcpStream| {
        let (request, body) = (request.clone(), body.clone());
        async move {
            let _ = s.write_all(request.as_bytes()).await;
            let _ = s.write_all(&body).await;
            let mut out = String::new();
            let _ = common::within(5, "an answer", s.read_to_string(&mut out)).await;
            out.split_whitespace().nth(1).unwrap_or("none").to_string()
        }
    };
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from([127, 0, 0, 1]).await;
        s.write_all(b"POST /hooks/prets HTTP/1.1\r\n")
            .await
            .unwrap();
        holders.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = answer(connect_from([127, 0, 0, 1]).await).await;
    let other = answer(connect_from([127, 0, 0, 2]).await).await;
    drop(holders);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = answer(connect_from([127, 0, 0, 1]).await).await;
    assert_eq!(third, "503", "a third connection from one address");
    assert_eq!(other, "200", "another address");
    assert_eq!(
        after, "200",
        "the address's connections closed: served again"
    );
}

/// A vendor whose docs give no auth is not served (404) unless it has a
/// shared secret or is explicitly allowed unsigned.
#[tokio::test]
async fn vendors_without_auth_are_served_only_with_a_secret_or_when_allowed() {
    let cxp = &hookforge::vendors::collateralxp::VENDOR;
    let body =
        std::fs::read(common::root().join("samples/collateralxp/ordering.file_added/doc-1.json"))
            .unwrap();
    let try_post = |addr: SocketAddr, h: Vec<(&'static str, &'static str)>| {
        let body = body.clone();
        tokio::task::spawn_blocking(move || {
            let mut headers = vec![("Content-Type", "application/json")];
            headers.extend(h);
            post(addr, "/hooks/collateralxp", &headers, &body).unwrap()
        })
    };
    let mut cfg = ServeConfig::new(([127, 0, 0, 1], 0).into());
    cfg.vendors = vec![cxp];
    let s = start(cfg.clone()).await;
    assert_eq!(s.served, vec![]);
    assert!(
        s.not_served[0]
            .1
            .contains("or allow it unsigned explicitly"),
        "{:?}",
        s.not_served
    );
    assert_eq!(try_post(s.addr, vec![]).await.unwrap(), 404);
    let mut allowed = cfg.clone();
    allowed.allow_unsigned = vec!["collateralxp".into()];
    let s = start(allowed).await;
    assert_eq!(try_post(s.addr, vec![]).await.unwrap(), 200);
    let mut shared = cfg;
    shared
        .secrets
        .insert("collateralxp".into(), vec!["cxp-shared-1".into()]);
    let s = start(shared).await;
    assert_eq!(try_post(s.addr, vec![]).await.unwrap(), 401);
    assert_eq!(
        try_post(s.addr, vec![("X-Webhook-Secret", "cxp-shared-1")])
            .await
            .unwrap(),
        200
    );
    // Asking to serve a signing vendor unsigned is a mistake, not a no-op.
    let mut wrong = ServeConfig::new(([127, 0, 0, 1], 0).into());
    wrong.allow_unsigned = vec!["prets".into()];
    let err = hookforge::receive::serve::start(wrong)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("prets: it signs its deliveries"),
        "{err}"
    );
    // The library refuses the same way.
    let err = Receiver::builder(cxp)
        .inbox(Inbox::new(Arc::new(MemoryStore::new())))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("documents no authentication"),
        "{err}"
    );
}

/// Secrets from the environment (comma-separated, rotation) and from a file.
#[test]
fn secrets_come_from_the_environment_and_files() {
    let dir = common::temp_dir("secrets");
    let file = dir.join("so.secret");
    std::fs::write(&file, format!("{SO_SECRET}\n")).unwrap();
    let mut cmd = hookforge();
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--no-process"])
        .env(
            "HOOKFORGE_SECRET_PRETS",
            format!("whsec_OldSecretOldSecretOldSecretOldSecretOldSecr,{PRETS_SECRET}"),
        )
        .arg("--secret-file")
        .arg(format!("superoffice={}", file.display()));
    let server = spawn_serve(&mut cmd);
    let addr = server.addr;
    let (_, body) = prets_delivery(11);
    let code = post_prets(addr, &body).unwrap();
    let so_body =
        std::fs::read(common::root().join("samples/superoffice/quote.approved/doc-1.json"))
            .unwrap();
    let h = signed_headers(&superoffice::VENDOR, SO_SECRET, &so_body);
    let refs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let so_code = post(addr, "/hooks/superoffice", &refs, &so_body).unwrap();
    let stderr = server.stop();
    assert_eq!((code, so_code), (200, 200), "{stderr}");
    assert!(
        stderr.contains("not serving collateralxp: its docs give no authentication"),
        "{stderr}"
    );
    assert!(!stderr.contains(PRETS_SECRET) && !stderr.contains(SO_SECRET));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// Group commit: deliveries that arrive together share a transaction, and
// each still hears "stored" only once its own row is committed.

/// One row of a batch fails (a trigger refuses it): the batch's transaction
/// is abandoned and every delivery is stored on its own, so the others are
/// stored exactly once and only the bad one gets an error.
#[test]
fn a_batch_with_one_failing_row_stores_the_others_and_fails_only_that_one() {
    let dir = common::temp_dir("batch-fault");
    let db = dir.join("inbox.db");
    let store = SqliteStore::open(&db).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON deliveries WHEN NEW.event_id = 'bad'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .unwrap();
    let batch: Vec<_> = ["a", "bad", "b", "a"]
        .iter()
        .map(|id| common::new_delivery("prets", id, b"{}".to_vec()))
        .collect();
    let results = store.insert_many(&batch);
    let shown: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(hookforge::receive::store::Inserted::New(_)) => "new".to_string(),
            Ok(hookforge::receive::store::Inserted::Duplicate(..)) => "duplicate".to_string(),
            Err(e) => format!("error: {e}"),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "new",
            "error: inbox database: refused by the test",
            "new",
            "duplicate"
        ]
    );
    let mut stored: Vec<_> = store
        .list(None, 100)
        .unwrap()
        .into_iter()
        .map(|d| (d.event_id.unwrap(), d.duplicates))
        .collect();
    stored.sort();
    assert_eq!(stored, [("a".to_string(), 1), ("b".to_string(), 0)]);
}

/// Many deliveries at once through the receiver with a SQLite inbox (so
/// through the group-commit writer): every 200 is a committed row, a
/// repeated id is a duplicate, nothing is stored twice.
#[test]
fn concurrent_deliveries_through_group_commit_are_each_stored_once() {
    let dir = common::temp_dir("batch-many");
    let db = dir.join("inbox.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
        let inbox = Inbox::new(store.clone());
        let app = common::prets_router(PRETS_SECRET, inbox);
        const N: usize = 400;
        let tasks: Vec<_> = (0..N)
            .map(|i| {
                let app = app.clone();
                // Every tenth delivery repeats the one before it.
                let n = if i % 10 == 9 { i - 1 } else { i };
                tokio::spawn(async move {
                    let (id, body) = prets_delivery(n);
                    let r = app.oneshot(prets_req(body)).await.unwrap();
                    (id, r.status())
                })
            })
            .collect();
        let mut acked = std::collections::BTreeSet::new();
        for t in tasks {
            let (id, status) = t.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{id}");
            acked.insert(id);
        }
        let rows = store.list(None, usize::MAX).unwrap();
        let stored: std::collections::BTreeSet<String> =
            rows.iter().filter_map(|d| d.event_id.clone()).collect();
        assert_eq!(rows.len(), N - N / 10, "one row per distinct delivery");
        assert_eq!(stored, acked);
        assert_eq!(
            rows.iter().map(|d| d.duplicates).sum::<u32>(),
            (N / 10) as u32
        );
    });
}

/// A worker claims only the vendors it has handlers for: a Socotra
/// delivery in an inbox shared with a process that handles only Prets stays
/// pending for the process that handles Socotra (it went `dead` after
/// `--max-attempts` with "no handler registered").
#[tokio::test]
async fn a_worker_leaves_other_vendors_deliveries_for_their_process() {
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone()).with_retry(fast_retry(2));
    scripted(&inbox, &prets::VENDOR, vec![]);
    inbox.spawn_worker();
    accept(&inbox, "socotra", "soc-1", b"{}".to_vec()).await;
    let (id, body) = prets_delivery(7);
    accept(&inbox, "prets", &id, body).await;
    wait_for(store.as_ref(), "the Prets delivery", prets_done).await;
    // Several claim rounds later, the Socotra delivery is untouched.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let soc = first_of(store.as_ref(), "socotra");
    assert_eq!((soc.status, soc.attempts), (Status::Pending, 0), "{soc:?}");
    // The process that handles Socotra takes it.
    let other = Inbox::new(store.clone());
    scripted(&other, &hookforge::vendors::socotra::VENDOR, vec![]);
    other.spawn_worker();
    wait_for(store.as_ref(), "the Socotra delivery", |rows| {
        rows.iter()
            .any(|d| d.vendor == "socotra" && d.status == Status::Done)
    })
    .await;
}

/// Claims are sized by each vendor's own free handler slots: with one slot
/// per vendor, a busy Prets handler and an idle Socotra one, only one Prets
/// delivery is `processing`. Sized by the slots summed over vendors, the
/// claim took two, the second waiting in memory with its attempt counted
/// (on PostgreSQL, its lease running out while it waited).
#[tokio::test]
async fn claims_are_sized_by_each_vendors_free_slots() {
    let store = Arc::new(MemoryStore::new());
    let inbox = Inbox::new(store.clone()).with_worker(WorkerConfig {
        handler_timeout: Duration::from_secs(30),
        concurrency_per_vendor: 1,
        skip_stale: false,
    });
    let calls = scripted(&inbox, &prets::VENDOR, vec![Act::Hang]);
    scripted(&inbox, &hookforge::vendors::socotra::VENDOR, vec![]);
    for i in 0..3 {
        let (id, body) = prets_delivery(40 + i);
        accept(&inbox, "prets", &id, body).await;
    }
    inbox.spawn_worker();
    wait_for(store.as_ref(), "the first Prets delivery taken", |rows| {
        rows.iter().any(|d| d.status == Status::Processing)
    })
    .await;
    // Several claim rounds.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = store.list(None, 10).unwrap();
    let processing = rows
        .iter()
        .filter(|d| d.status == Status::Processing)
        .count();
    assert_eq!(processing, 1, "{rows:#?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Clients that pipeline requests and never read the answers (their
/// receive buffers small) held every connection slot for good: after the
/// idle timeout the server waited for a graceful shutdown that could never
/// finish. Now a connection that moves no byte for another idle period
/// while closing is dropped, and a fresh client is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_their_answers_cannot_hold_the_server() {
    let mut cfg = limits_cfg();
    cfg.limits.max_connections = 4;
    let server = start(cfg).await;
    let addr = server.addr;
    let mut holders = Vec::new();
    for _ in 0..4 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let one = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        let many: Vec<u8> = one
            .iter()
            .copied()
            .cycle()
            .take(one.len() * 40_000)
            .collect();
        // Written until the server stops reading (its answers back up):
        // bounded, and never read back.
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            use tokio::io::AsyncWriteExt;
            let _ = stream.write_all(&many).await;
        })
        .await;
        holders.push(stream);
    }
    // Every slot is held by a client that reads nothing.
    let t = Instant::now();
    let served = tokio::task::spawn_blocking(move || {
        let (_, body) = prets_delivery(9);
        post_prets(addr, &body)
    });
    // The holders' slots free only once the server has answered all the
    // pipelined health checks its send buffers take (14 to 16 s on an idle
    // debug build here, over 20 s on a loaded CI host); without the guard
    // they never free.
    let code = tokio::time::timeout(Duration::from_secs(60), served)
        .await
        .expect(
            "a fresh client was not served within 60 s while non-reading clients held every slot",
        )
        .unwrap()
        .unwrap();
    assert_eq!(code, 200);
    eprintln!("a fresh client was served after {:?}", t.elapsed());
    drop(holders);
}

/// A failed `complete` (the database went away for a moment) is retried: the
/// delivery ends `done`, handled once, instead of staying `processing` until
/// the next start and being handled again then.
#[tokio::test]
async fn a_failed_complete_is_retried_not_left_processing() {
    let store = Arc::new(common::FaultStore::default());
    store
        .fail_completes
        .store(3, std::sync::atomic::Ordering::SeqCst);
    let inbox = Inbox::new(store.clone()).with_retry(fast_retry(5));
    let calls = scripted(&inbox, &prets::VENDOR, vec![]);
    inbox.spawn_worker();
    let (id, body) = prets_delivery(3);
    accept(&inbox, "prets", &id, body).await;
    wait_for(store.as_ref(), "the delivery done", |rows| {
        rows.iter().all(|d| d.status == Status::Done)
    })
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "handled once");
    let left = store.fail_completes.load(Ordering::SeqCst);
    assert_eq!(left, 0, "the store refused all 3 completes it was told to");
}

/// Whether a Prets delivery is `done` (a [`wait_for`] condition).
fn prets_done(rows: &[StoredDelivery]) -> bool {
    rows.iter()
        .any(|d| d.vendor == "prets" && d.status == Status::Done)
}

/// The first stored delivery of `vendor`.
fn first_of(store: &dyn Store, vendor: &str) -> StoredDelivery {
    store
        .list(None, 100)
        .unwrap()
        .into_iter()
        .find(|d| d.vendor == vendor)
        .unwrap()
}
