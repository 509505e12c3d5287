//! `hookforge serve --metrics-addr` exposes Prometheus metrics: deliveries
//! by vendor, event and outcome, verification failures, inbox depth by
//! status, oldest pending age and handler durations, each counted right.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_MetricsMetricsMetricsMetricsMetricsMetric12";

/// One request on its own connection; the status and body.
fn request(port: u16, head: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = resp
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

fn post(port: u16, content_type: &str, auth: &str, body: &[u8]) -> u16 {
    let head = format!(
        "POST /hooks/prets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nAuthorization: Bearer {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    request(port, &head, body).0
}

fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// `serve` for Prets with its metrics on a free port; the child, its port
/// and the metrics port.
fn serve_with_metrics() -> (std::process::Child, u16, u16) {
    let metrics_port = common::free_port();
    let mut cmd = common::serve_prets(SECRET);
    cmd.args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let (child, port) = common::spawn_listening(cmd);
    (child, port, metrics_port)
}

/// Two deliveries, a duplicate, a forgery, a wrong content type and a
/// misfit, each answered as it should be.
fn send_one_of_each_outcome(port: u16) {
    let (_, a) = common::prets_delivery("evt_01KVMETRICS", 1);
    let (_, b) = common::prets_delivery("evt_01KVMETRICS", 2);
    assert_eq!(post(port, "application/json", SECRET, &a), 200);
    assert_eq!(post(port, "application/json", SECRET, &b), 200);
    assert_eq!(post(port, "application/json", SECRET, &a), 200); // duplicate
    assert_eq!(post(port, "application/json", "wrong", &a), 401);
    assert_eq!(post(port, "text/plain", SECRET, &a), 415);
    // Authentic, but `data.quoteId` is a number: quarantined.
    let (_, misfit) = common::prets_delivery("evt_01KVMETRICS", 3);
    let misfit = String::from_utf8(misfit).unwrap().replace("\"quo_3\"", "3");
    assert_eq!(
        post(port, "application/json", SECRET, misfit.as_bytes()),
        200
    );
}

/// The metrics once both deliveries are counted done (or after 20 s): the
/// gauges are read from the inbox every 2 s.
fn scrape_once_both_are_done(metrics_port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let scrape = || {
        request(
            metrics_port,
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            b"",
        )
    };
    loop {
        let (status, text) = scrape();
        assert_eq!(status, 200);
        let done = value(&text, "hookforge_inbox_depth{status=\"done\"}");
        if done == Some(2.0) || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn serve_exposes_prometheus_metrics_that_count_what_happened() {
    let (mut child, port, metrics_port) = serve_with_metrics();
    send_one_of_each_outcome(port);
    let text = scrape_once_both_are_done(metrics_port);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_counted(&text);
}

/// What `send_one_of_each_outcome` sent, counted in the metrics `text`.
fn assert_counted(text: &str) {
    let d = |labels: &str| value(text, &format!("hookforge_deliveries_total{{{labels}}}"));
    assert_eq!(
        d("vendor=\"prets\",event=\"quote.updated\",outcome=\"accepted\",reason=\"\""),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        d("vendor=\"prets\",event=\"quote.updated\",outcome=\"duplicate\",reason=\"\""),
        Some(1.0)
    );
    assert_eq!(
        d("vendor=\"prets\",event=\"quote.updated\",outcome=\"quarantined\",reason=\"\""),
        Some(1.0)
    );
    assert_eq!(
        d("vendor=\"prets\",event=\"-\",outcome=\"rejected\",reason=\"unauthenticated\""),
        Some(1.0)
    );
    assert_eq!(
        d("vendor=\"prets\",event=\"-\",outcome=\"rejected\",reason=\"not_json\""),
        Some(1.0)
    );
    assert_eq!(
        value(
            text,
            "hookforge_verification_failures_total{vendor=\"prets\"}"
        ),
        Some(1.0)
    );
    for (status, n) in [
        ("done", 2.0),
        ("quarantined", 1.0),
        ("pending", 0.0),
        ("dead", 0.0),
    ] {
        assert_eq!(
            value(
                text,
                &format!("hookforge_inbox_depth{{status=\"{status}\"}}")
            ),
            Some(n),
            "{status}: {text}"
        );
    }
    assert_eq!(
        value(text, "hookforge_oldest_pending_age_seconds"),
        Some(0.0)
    );
    assert_eq!(
        value(
            text,
            "hookforge_handler_duration_seconds_count{vendor=\"prets\",outcome=\"ok\"}"
        ),
        Some(2.0)
    );
    assert!(text.contains("# HELP hookforge_deliveries_total"));
}
