//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use hookforge::{HeaderMap, VendorSpec};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The typed parse of a delivery, in Debug form, for snapshots. Every vendor
/// with generated code must be listed here.
pub fn typed_debug(vendor: &str, body: &[u8], headers: &HeaderMap) -> String {
    use hookforge::vendors::*;
    match vendor {
        "collateralxp" => format!("{:#?}", collateralxp::parse(body, headers)),
        "cowbell" => format!("{:#?}", cowbell::parse(body, headers)),
        "prets" => format!("{:#?}", prets::parse(body, headers)),
        "socotra" => format!("{:#?}", socotra::parse(body, headers)),
        "superoffice" => format!("{:#?}", superoffice::parse(body, headers)),
        other => panic!("add vendor `{other}` to tests/common/mod.rs::typed_debug"),
    }
}

#[allow(unused_imports)] // not every test binary compares round trips
pub use hookforge_testing::json_diff;

/// Every sample of every vendor: (vendor, event name, sample path, body).
pub fn all_samples() -> Vec<(
    &'static VendorSpec,
    &'static str,
    &'static str,
    &'static [u8],
)> {
    let mut out = Vec::new();
    for v in hookforge::vendors::ALL.iter().copied() {
        for e in v.events {
            for s in e.samples {
                out.push((v, e.name, s.path, s.body));
            }
        }
    }
    out
}

pub fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// A store that fails or holds its inserts on demand and otherwise behaves
/// as the in-memory store: for "no 2xx without a commit" tests.
#[derive(Default)]
pub struct FaultStore {
    pub inner: hookforge::receive::store::MemoryStore,
    /// Every insert fails (as a full disk would) while set.
    pub fail_inserts: std::sync::atomic::AtomicBool,
    /// Inserts wait while set, until `release()`.
    held: std::sync::Mutex<bool>,
    cv: std::sync::Condvar,
    /// Inserts that reached the store (held, failed or done).
    pub inserts_seen: std::sync::atomic::AtomicUsize,
    /// How many of the next `complete` calls fail (a database blip).
    pub fail_completes: std::sync::atomic::AtomicUsize,
}

impl FaultStore {
    pub fn hold(&self) {
        *self.held.lock().unwrap() = true;
    }
    pub fn release(&self) {
        *self.held.lock().unwrap() = false;
        self.cv.notify_all();
    }
}

impl hookforge::receive::store::Store for FaultStore {
    fn insert(
        &self,
        d: &hookforge::receive::store::NewDelivery,
    ) -> Result<hookforge::receive::store::Inserted, hookforge::receive::store::StoreError> {
        use std::sync::atomic::Ordering;
        self.inserts_seen.fetch_add(1, Ordering::SeqCst);
        let mut held = self.held.lock().unwrap();
        while *held {
            held = self.cv.wait(held).unwrap();
        }
        drop(held);
        if self.fail_inserts.load(Ordering::SeqCst) {
            return Err(hookforge::receive::store::StoreError::Backend(
                "injected fault: the disk is full".into(),
            ));
        }
        self.inner.insert(d)
    }
    fn claim(
        &self,
        now_ms: i64,
        limit: usize,
        vendors: hookforge::receive::store::Vendors<'_>,
    ) -> Result<Vec<hookforge::receive::store::StoredDelivery>, hookforge::receive::store::StoreError>
    {
        self.inner.claim(now_ms, limit, vendors)
    }
    fn start(
        &self,
        id: i64,
    ) -> Result<Option<hookforge::receive::store::Attempt>, hookforge::receive::store::StoreError>
    {
        self.inner.start(id)
    }
    fn complete_many(
        &self,
        done: &[(hookforge::receive::store::Attempt, i64)],
    ) -> Result<Vec<bool>, hookforge::receive::store::StoreError> {
        use std::sync::atomic::Ordering;
        let failing = self
            .fail_completes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(hookforge::receive::store::StoreError::Backend(
                "injected fault: the database went away".into(),
            ));
        }
        self.inner.complete_many(done)
    }
    fn fail(
        &self,
        attempt: hookforge::receive::store::Attempt,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<bool, hookforge::receive::store::StoreError> {
        self.inner.fail(attempt, error, retry_at_ms)
    }
    fn recover(&self) -> Result<usize, hookforge::receive::store::StoreError> {
        self.inner.recover()
    }
    fn list(
        &self,
        status: Option<hookforge::receive::store::Status>,
        limit: usize,
    ) -> Result<Vec<hookforge::receive::store::StoredDelivery>, hookforge::receive::store::StoreError>
    {
        self.inner.list(status, limit)
    }
    fn get(
        &self,
        id: i64,
    ) -> Result<
        Option<hookforge::receive::store::StoredDelivery>,
        hookforge::receive::store::StoreError,
    > {
        self.inner.get(id)
    }
    fn find(
        &self,
        vendor: &str,
        dedupe_key: &str,
    ) -> Result<Vec<hookforge::receive::store::StoredDelivery>, hookforge::receive::store::StoreError>
    {
        self.inner.find(vendor, dedupe_key)
    }
    fn requeue(&self, id: i64) -> Result<bool, hookforge::receive::store::StoreError> {
        self.inner.requeue(id)
    }
    fn release(&self, id: i64) -> Result<bool, hookforge::receive::store::StoreError> {
        hookforge::receive::store::Store::release(&self.inner, id)
    }
    fn requarantine(
        &self,
        id: i64,
        error: &str,
    ) -> Result<(), hookforge::receive::store::StoreError> {
        self.inner.requarantine(id, error)
    }
    fn purge_done(
        &self,
        before_ms: i64,
        forget_before_ms: i64,
    ) -> Result<usize, hookforge::receive::store::StoreError> {
        self.inner.purge_done(before_ms, forget_before_ms)
    }
    fn next_due(&self) -> Result<Option<i64>, hookforge::receive::store::StoreError> {
        self.inner.next_due()
    }
}

/// Runs `f` under a deadline so a broken property fails the test instead of
/// hanging it.
pub async fn within<T>(secs: u64, what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("timed out after {secs} s: {what}"))
}

/// A Prets `quote.updated` delivery with its own event id (`<prefix><i>`):
/// (event id, body).
pub fn prets_delivery(prefix: &str, i: usize) -> (String, Vec<u8>) {
    let id = format!("{prefix}{i:014}");
    let body = serde_json::json!({
        "eventId": id, "version": "2026-06-01", "timestamp": "2026-06-15T09:30:12Z",
        "organization": {"organizationId": "mer_01HZQ7K8ABCDEFGHJKMNPQRSTV", "slug": "northwind-cycles"},
        "data": {"quoteId": format!("quo_{i}"), "externalId": "INV-1"},
        "type": "quote.updated"
    });
    (id, serde_json::to_vec(&body).unwrap())
}

/// A delivery to hand to a store or inbox directly, as the receiver would.
pub fn new_delivery(
    vendor: &str,
    event_id: &str,
    body: Vec<u8>,
) -> hookforge::receive::store::NewDelivery {
    hookforge::receive::store::NewDelivery {
        vendor: vendor.into(),
        event_type: "quote.updated".into(),
        event_id: Some(event_id.into()),
        dedupe_key: format!("id:{event_id}"),
        body,
        headers: vec![("content-type".into(), "application/json".into())],
        received_at_ms: hookforge::receive::store::now_ms(),
        misfit: None,
        order: None,
    }
}

/// Spawns a receiver (`cmd` must pipe stdout) and reads its port from the
/// first stdout line that names its `http://127.0.0.1:PORT` address.
#[allow(dead_code)]
/// Kills a server spawned with piped stderr and returns what it logged.
pub fn kill_and_read_log(mut child: std::process::Child) -> String {
    use std::io::Read;
    child.kill().unwrap();
    let mut log = String::new();
    (child.stderr.take().unwrap())
        .read_to_string(&mut log)
        .unwrap();
    child.wait().unwrap();
    log
}

pub fn spawn_listening(mut cmd: std::process::Command) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut child = cmd.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("http://127.0.0.1:") {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("the receiver exited before naming its address");
        }
    }
    let port = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in startup line {line:?}"));
    (child, port)
}

/// A free loopback port (for servers that cannot report the one they got).
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One Prets delivery as an HTTP/1.1 POST on its own connection, with the
/// bearer `secret`; the status code.
#[allow(dead_code)]
pub fn post_prets(port: u16, secret: &str, body: &[u8]) -> std::io::Result<u16> {
    let bearer = format!("Bearer {secret}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", bearer.as_str()),
    ];
    try_post(port, "/hooks/prets", &headers, body)
}

/// One HTTP/1.1 POST to `path` on its own connection, written byte by byte
/// (no client library between the test and the receiver); the status code.
#[allow(dead_code)]
pub fn try_post(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    // A bound on a hang, not a latency check: a loaded 2-core CI host took
    // over 20 s to serve one test's client (reliability.rs, the non-reading
    // clients).
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {resp:?}")))
}

/// `hookforge serve` for Prets on an ephemeral loopback port with the bearer
/// `secret` and no inherited log filter; callers add their flags and pipes.
#[allow(dead_code)]
pub fn serve_prets(secret: &str) -> std::process::Command {
    let mut cmd = hookforge_command();
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--vendor", "prets"])
        .arg("--secret")
        .arg(format!("prets={secret}"))
        .env_remove("RUST_LOG");
    cmd
}

/// Copies a directory tree (vendor dirs for tests that edit them).
#[allow(dead_code)]
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A fresh directory under the system temp dir.
#[allow(dead_code)]
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "hookforge-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// [`try_post`] that panics on a transport error.
#[allow(dead_code)]
pub fn post_to(port: u16, path: &str, headers: &[(String, String)], body: &[u8]) -> u16 {
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    try_post(port, path, &refs, body).unwrap()
}

/// The event ids `serve` logs as handled (its `handled event` lines on
/// `stderr`, read on a thread until the process ends).
#[allow(dead_code)]
pub fn handled_ids(
    stderr: std::process::ChildStderr,
) -> (
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    std::thread::JoinHandle<()>,
) {
    use std::io::BufRead;
    let handled = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = handled.clone();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("handled event")
                && let Some(rest) = line.split("event_id=\"").nth(1)
            {
                let id = rest.split('"').next().unwrap_or_default();
                sink.lock().unwrap().push(id.to_string());
            }
        }
    });
    (handled, reader)
}

/// Asserts `out` exited with `code` and its stderr says `text`.
pub fn fails_saying(out: &std::process::Output, code: i32, text: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert!(err.contains(text), "{err}");
}

/// Asserts `out` exited 0 and its stdout says `text`.
#[track_caller]
pub fn succeeds_saying(out: &std::process::Output, text: &str) {
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains(text),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts `out` exited with `code` and printed exactly the lines
/// `expected` describes, each a glob (`*` any text, `?` one character).
#[track_caller]
pub fn assert_lines(out: &std::process::Output, code: i32, expected: &[&str]) {
    let text = String::from_utf8_lossy(&out.stdout);
    let said = || format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{}", said());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{}", said());
    for (line, pattern) in lines.iter().zip(expected) {
        assert!(
            hookforge::conformance::harness::glob_match(pattern, line),
            "`{line}` is not `{pattern}`:\n{}",
            said()
        );
    }
}

/// Asserts `out` exited 0, showing its stdout and stderr when not.
#[track_caller]
pub fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` to its end and asserts it succeeded (showing its output when
/// not); its output.
pub fn succeeded(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert_ok(&out);
    out
}

/// Hex HMAC-SHA256, computed here (not by hookforge) for expected values.
#[allow(dead_code)]
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    use sha2::Digest;
    // RFC 2104 over SHA-256 (block size 64), without hookforge's code.
    let mut k = if key.len() > 64 {
        sha2::Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = sha2::Sha256::digest([pad(0x36).as_slice(), message].concat());
    let outer = sha2::Sha256::digest([pad(0x5c).as_slice(), inner.as_slice()].concat());
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

// Helpers for kill, power_cut and receiving_modes.

/// A POST of `body` to the Prets endpoint of an in-process router, with the
/// bearer `secret`.
pub fn prets_request(secret: &str, body: Vec<u8>) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post("/hooks/prets")
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap()
}

/// The Prets receiver's router on `inbox`, with the bearer `secret`.
pub fn prets_router(secret: &str, inbox: hookforge::receive::inbox::Inbox) -> axum::Router {
    hookforge::receive::receiver::Receiver::builder(&hookforge::vendors::prets::VENDOR)
        .secret(secret)
        .inbox(inbox)
        .build()
        .unwrap()
        .router()
}

/// Distinct Prets deliveries (`<prefix><n>`) posted by one sender thread
/// per entry of `ports` (a port listed twice gets two), until `max` are
/// sent, `limit` has passed or [`PretsLoad::stop`]: the load the kill -9
/// tests cut short.
pub struct PretsLoad {
    /// Event ids answered 2xx.
    acked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The next delivery's number: how many were started.
    next: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Requests answered (or failed): with `next`, what was in flight.
    finished: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
    started: std::time::Instant,
    max: usize,
    limit: std::time::Duration,
    senders: Vec<std::thread::JoinHandle<()>>,
}

impl PretsLoad {
    /// Starts the senders, each posting with the bearer `secret`.
    pub fn start(
        ports: &[u16],
        secret: &str,
        prefix: &'static str,
        max: usize,
        limit: std::time::Duration,
    ) -> PretsLoad {
        let mut load = PretsLoad {
            acked: Default::default(),
            next: Default::default(),
            finished: Default::default(),
            stopping: Default::default(),
            started: std::time::Instant::now(),
            max,
            limit,
            senders: Vec::new(),
        };
        load.senders = ports
            .iter()
            .map(|&port| load.sender(port, secret.to_string(), prefix))
            .collect();
        load
    }

    /// One sender to `port`; it gives up after a fourth transport error
    /// (its receiver is gone) and panics on an answer other than 2xx.
    fn sender(
        &self,
        port: u16,
        secret: String,
        prefix: &'static str,
    ) -> std::thread::JoinHandle<()> {
        use std::sync::atomic::Ordering;
        let (acked, next, finished, stopping) = (
            self.acked.clone(),
            self.next.clone(),
            self.finished.clone(),
            self.stopping.clone(),
        );
        let (started, limit, max) = (self.started, self.limit, self.max);
        std::thread::spawn(move || {
            let mut errors = 0;
            while !stopping.load(Ordering::SeqCst) && started.elapsed() < limit {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= max {
                    break;
                }
                let (id, body) = prets_delivery(prefix, i);
                let answer = post_prets(port, &secret, &body);
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
    }

    /// Waits until `acked` deliveries are acknowledged and `ready` holds,
    /// or the time limit has passed.
    pub fn wait_until(&self, acked: usize, ready: &dyn Fn() -> bool) {
        while (self.acked.lock().unwrap().len() < acked || !ready())
            && self.started.elapsed() < self.limit
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        use std::sync::atomic::Ordering;
        self.next.load(Ordering::SeqCst).min(self.max) - self.finished.load(Ordering::SeqCst)
    }

    /// Stops the senders and waits for them (a sender's panic fails the
    /// caller); the event ids answered 2xx.
    pub fn stop(self) -> Vec<String> {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for sender in self.senders {
            sender.join().unwrap();
        }
        self.acked.lock().unwrap().clone()
    }
}

/// The `hookforge` binary under test, to run from the workspace root
/// (where relative fixture paths start): every test starts it here.
pub fn hookforge_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hookforge"));
    cmd.current_dir(root());
    cmd
}

/// Runs hookforge with `args` from the workspace root (where relative
/// fixture paths start); its output.
pub fn hookforge(args: &[&str]) -> std::process::Output {
    hookforge_command()
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// The arguments of a one-second `load` at 50 deliveries a second with a
/// JSON report; `vendor` is `["--vendor", ID]` or `["--vendor-dir", DIR]`.
pub fn load_args<'a>(vendor: [&'a str; 2], url: &'a str, secret: &'a str) -> [&'a str; 12] {
    [
        "load",
        vendor[0],
        vendor[1],
        "--url",
        url,
        "--secret",
        secret,
        "--rate",
        "50",
        "--duration",
        "1",
        "--json",
    ]
}

/// `hookforge serve --vendor-dir <dir> --addr <addr>` from the workspace
/// root with no inherited log filter; callers add secrets and pipes.
pub fn serve_vendor_dir_on(dir: &str, addr: &str) -> std::process::Command {
    let mut cmd = hookforge_command();
    cmd.args(["serve", "--vendor-dir", dir, "--addr", addr])
        .current_dir(root())
        .env_remove("RUST_LOG");
    cmd
}

/// Every file and directory under `dir` (relative path and content; a
/// directory's is empty), sorted: two calls are equal only if nothing under
/// `dir` changed.
pub fn tree_text(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, at: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(at).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push((p.strip_prefix(root).unwrap().join(""), Vec::new()));
                walk(root, &p, out);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The first entry `read_dir` lists in `dir` (any will do).
pub fn first_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// `load` of Prets to `url` at `rate` for `duration` seconds, unsigned.
pub fn load_prets_args<'a>(url: &'a str, rate: &'a str, duration: &'a str) -> Vec<&'a str> {
    vec![
        "load",
        "--vendor",
        "prets",
        "--url",
        url,
        "--rate",
        rate,
        "--duration",
        duration,
    ]
}

/// Serves `app` on a free loopback port until the test's runtime ends.
pub async fn serve_app(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A Prets handler that runs `on` with each delivery's event id: the slow
/// handlers of the child processes in the kill and fencing tests.
pub struct OnPretsId<F>(pub F);

impl<F, Fut> hookforge::RawHandler for OnPretsId<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = hookforge::HandlerResult> + Send + 'static,
{
    fn vendor(&self) -> &'static VendorSpec {
        &hookforge::vendors::prets::VENDOR
    }
    fn handle<'a>(
        &'a self,
        body: &'a [u8],
        headers: &'a HeaderMap,
    ) -> hookforge::BoxFuture<'a, hookforge::HandlerResult> {
        match hookforge::vendors::prets::VENDOR.parse(body, headers) {
            Ok(p) => Box::pin((self.0)(p.event_id.unwrap_or_default())),
            Err(e) => Box::pin(async move { Err(e.into()) }),
        }
    }
}

/// Appends one line to `path` in one write, so lines from several
/// processes never interleave.
pub fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(format!("{line}\n").as_bytes())
}

/// Every object and scalar in `v` with its JSON pointer (arrays are walked,
/// not listed), parents before their children.
pub fn json_nodes(v: &serde_json::Value) -> Vec<(String, &serde_json::Value)> {
    fn walk<'a>(
        v: &'a serde_json::Value,
        at: String,
        out: &mut Vec<(String, &'a serde_json::Value)>,
    ) {
        match v {
            serde_json::Value::Object(o) => {
                out.push((at.clone(), v));
                for (k, c) in o {
                    let token = hookforge::manifest::escape_token(k);
                    walk(c, format!("{at}/{token}"), out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    walk(c, format!("{at}/{i}"), out);
                }
            }
            _ => out.push((at, v)),
        }
    }
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}
