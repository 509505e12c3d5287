//! The dashboard and the HTML report in a real browser (headless Chromium
//! through chromedriver, driven with fantoccini): filter the inbox to
//! quarantined, open one, see its misfit marked, press replay and see its
//! status change; open a check report and find each failed case.
//!
//! These need Chromium: `scripts/browser-tests` installs Debian's
//! `chromium` and `chromium-driver` and runs them (`.ci/run` does). Under a
//! plain `cargo test` they are ignored. With HOOKFORGE_SCREENSHOTS=DIR the
//! pages are saved there as PNG (the README's come from `docs/`).

#[path = "it/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hookforge::receive::store::{SqliteStore, Status, Store};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free loopback port, and a headless Chromium session.
async fn browser(dir: &std::path::Path) -> (Driver, Client) {
    let port = common::free_port();
    let driver = Driver(
        Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: run scripts/browser-tests"),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = dir.join("profile");
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1200,1000", format!("--user-data-dir={}", profile.display())
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    (driver, client)
}

async fn screenshot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("HOOKFORGE_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

/// An inbox in `dir` with 8 Prets deliveries and 2 quarantined ones; the
/// store and the quarantined ids.
fn inbox_with_two_misfits(dir: &std::path::Path) -> (Arc<SqliteStore>, Vec<i64>) {
    let store = Arc::new(SqliteStore::open(&dir.join("inbox.db")).unwrap());
    for i in 0..8 {
        let (id, body) = common::prets_delivery("evt_01KVBROWSER", i);
        store
            .insert(&common::new_delivery("prets", &id, body))
            .unwrap();
    }
    // Two authentic deliveries that misfit the model: quarantined.
    let mut quarantined = Vec::new();
    for i in 8..10 {
        let (id, body) = common::prets_delivery("evt_01KVBROWSER", i);
        let body = String::from_utf8(body)
            .unwrap()
            .replace(&format!("\"quo_{i}\""), "5");
        let mut d = common::new_delivery("prets", &id, body.into_bytes());
        d.misfit = Some(
            "`quote.updated` payload: at `data.quoteId`: invalid type: integer `5`, expected a string"
                .into(),
        );
        if let hookforge::receive::store::Inserted::New(n) = store.insert(&d).unwrap() {
            quarantined.push(n);
        }
    }
    (store, quarantined)
}

/// Claims and completes the oldest pending delivery of `store`; its id.
fn handle_one(store: &SqliteStore) -> i64 {
    use hookforge::receive::store::Vendors;
    let d = store.claim(i64::MAX, 1, Vendors::Any).unwrap().remove(0);
    assert!(store.complete(d.attempt(), 0).unwrap());
    d.id
}

/// The dashboard on `store`, served on loopback; its base URL.
async fn serve_dashboard(store: &Arc<SqliteStore>) -> String {
    let app = hookforge::ui::router(store.clone(), None);
    format!("http://{}", common::serve_app(app).await)
}

/// Filters to quarantined with the form, as a person would, and finds the
/// two quarantined rows.
async fn filter_to_quarantined(c: &Client) {
    c.find(Locator::Css("select[name=status]"))
        .await
        .unwrap()
        .select_by_value("quarantined")
        .await
        .unwrap();
    c.find(Locator::Css("form.filters button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Wait for the filtered page before reading it.
    let started = Instant::now();
    while !c
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("status=quarantined")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the filter did not load"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = c
        .find_all(Locator::Css("table.deliveries tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert!(r.text().await.unwrap().contains("quarantined"));
    }
}

/// Opens the newest of the `quarantined` rows and sees where it misfits,
/// with no credential on the page; its id.
async fn open_the_newest_misfit(c: &Client, quarantined: &[i64]) -> i64 {
    c.find(Locator::Css("table.deliveries tbody tr a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mark = c
        .wait()
        .for_element(Locator::Css("mark#misfit"))
        .await
        .unwrap();
    let id = *quarantined.iter().max().unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with(&format!("/deliveries/{id}"))
    );
    assert!(mark.text().await.unwrap().contains("\"quoteId\": 5"));
    screenshot(c, "delivery.png").await;
    // No credential on the page.
    assert!(!c.source().await.unwrap().contains("whsec_"));
    id
}

/// The misfit `id` offers Re-parse, not Replay (replayed, it would fail on
/// the same misfit until dead): re-parsed, it stays quarantined with the
/// reason, on the page and in `store`.
async fn reparse_and_see_it_still_quarantined(c: &Client, store: &SqliteStore, id: i64) {
    assert!(c.find(Locator::Css("button[name=replay]")).await.is_err());
    c.find(Locator::Css("button[name=reparse]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The answer is a redirect back to the page, now with a note.
    let note = c.wait().for_element(Locator::Css("p.note")).await.unwrap();
    assert!(note.text().await.unwrap().contains("Still quarantined"));
    assert_eq!(store.get(id).unwrap().unwrap().status, Status::Quarantined);
}

/// Replay of a delivery already handled: pending again, attempts reset, on
/// the page and in `store`.
async fn replay_and_see_it_pending(c: &Client, base: &str, store: &SqliteStore, id: i64) {
    c.goto(&format!("{base}/deliveries/{id}")).await.unwrap();
    c.find(Locator::Css("button[name=replay]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("p.note")).await.unwrap();
    let status = c
        .find(Locator::Css("h2 .status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status, "pending");
    assert!(
        c.find(Locator::Css("p.note"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Queued")
    );
    assert_eq!(store.get(id).unwrap().unwrap().status, Status::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: run scripts/browser-tests"]
async fn the_dashboard_filters_shows_a_misfit_and_replays_a_handled_delivery() {
    let dir = std::env::temp_dir().join(format!("hookforge-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (store, quarantined) = inbox_with_two_misfits(&dir);
    let base = serve_dashboard(&store).await;

    let (_driver, c) = browser(&dir).await;
    c.goto(&format!("{base}/")).await.unwrap();
    screenshot(&c, "dashboard.png").await;
    filter_to_quarantined(&c).await;
    let id = open_the_newest_misfit(&c, &quarantined).await;
    reparse_and_see_it_still_quarantined(&c, &store, id).await;
    let handled = handle_one(&store);
    replay_and_see_it_pending(&c, &base, &store, handled).await;
    c.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium: run scripts/browser-tests"]
async fn the_html_report_shows_each_failed_case() {
    use hookforge::conformance::report::{CaseResult, Outcome, Report, Timing};
    let dir = std::env::temp_dir().join(format!("hookforge-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A real run: the reference receiver's router, with a wrong secret for
    // Prets so its authenticated cases fail, next to a right one.
    let prets = &hookforge::vendors::prets::VENDOR;
    let secret = "whsec_BrowserBrowserBrowserBrowserBrowserBrows123";
    let receiver = hookforge::receive::receiver::Receiver::builder(prets)
        .secret(secret)
        .inbox(hookforge::receive::inbox::Inbox::new(Arc::new(
            hookforge::receive::store::MemoryStore::new(),
        )))
        .build()
        .unwrap();
    let url = format!(
        "http://{}/hooks/prets",
        common::serve_app(receiver.router()).await
    );
    let report = hookforge::conformance::harness::Harness::new(prets, url)
        .secret("whsec_WrongWrongWrongWrongWrongWrongWrongWrong123")
        .run()
        .await
        .unwrap();
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.id.clone())
        .collect();
    assert!(!failed.is_empty());
    // A second vendor whose one case passes.
    let other = Report {
        vendor: "acme".into(),
        cases: vec![CaseResult {
            id: "acme/invoice.paid/doc-1".into(),
            outcome: Outcome::Pass,
            detail: "sent invoice.paid; answered 200".into(),
            status: Some(200),
            latency_ms: Some(2.0),
            steps: Vec::new(),
        }],
        passed: 1,
        failed: 0,
        skipped: 0,
        sandbox: None,
        timing: Timing::of(vec![2.0], Duration::from_secs(30)),
    };
    let file = dir.join("report.html");
    std::fs::write(
        &file,
        hookforge::conformance::html::report(&[report.clone(), other]),
    )
    .unwrap();

    let (_driver, c) = browser(&dir).await;
    c.goto(&format!("file://{}", file.display())).await.unwrap();
    screenshot(&c, "report.png").await;
    let rows = c
        .find_all(Locator::Css("table.cases tr.fail td.id"))
        .await
        .unwrap();
    let mut shown = Vec::new();
    for r in rows {
        shown.push(r.text().await.unwrap());
    }
    assert_eq!(shown, failed);
    // Each failed case can be found by its id, with its reason.
    for id in &failed {
        let row = c.find(Locator::Id(id)).await.unwrap();
        let text = row.text().await.unwrap();
        assert!(
            text.contains("fail") && text.contains("401"),
            "{id}: {text}"
        );
    }
    // The summary, the histogram, and nothing fetched from elsewhere.
    let summary = c
        .find(Locator::Css("table.vendors"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(summary.contains("prets") && summary.contains("acme"));
    assert!(
        !c.find_all(Locator::Css("section svg rect"))
            .await
            .unwrap()
            .is_empty()
    );
    let source = std::fs::read_to_string(&file).unwrap();
    assert!(!source.contains("src=\"http") && !source.contains("href=\"http"));
    assert!(!source.contains("<script"));
    assert!(!source.contains("whsec_Wrong"));
    c.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
