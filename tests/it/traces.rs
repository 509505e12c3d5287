//! `serve --otlp-endpoint`: one trace per delivery, exported over OTLP/HTTP
//! to a receiver started here (it decodes the collector protocol's own
//! protobuf messages): the `delivery` span with `verify` and `store` inside,
//! and the `handle` span of the handler attempt in the same trace, a child
//! of the delivery across the inbox. No secret or body in any attribute.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

const SECRET: &str = "whsec_TracesTracesTracesTracesTracesTracesTracesX";

/// Every span the OTLP receiver was sent.
type Spans = Arc<Mutex<Vec<Span>>>;

fn otlp_receiver(rt: &tokio::runtime::Runtime) -> (u16, Spans) {
    let spans: Spans = Arc::default();
    let sink = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut all = sink.lock().unwrap();
                for rs in req.resource_spans {
                    for ss in rs.scope_spans {
                        all.extend(ss.spans);
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let port = rt.block_on(common::serve_app(app)).port();
    (port, spans)
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let v = span
        .attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?;
    Some(match v.value.as_ref()? {
        AnyValue::StringValue(s) => s.clone(),
        AnyValue::IntValue(i) => i.to_string(),
        other => format!("{other:?}"),
    })
}

/// `serve` for Prets on an inbox in `dir`, exporting its traces to the
/// OTLP receiver on port `otlp`; the child and its port.
fn serve_traced(dir: &std::path::Path, otlp: u16) -> (std::process::Child, u16) {
    let mut cmd = common::serve_prets(SECRET);
    cmd.arg("--db")
        .arg(dir.join("inbox.db"))
        .arg(format!("--otlp-endpoint=http://127.0.0.1:{otlp}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    common::spawn_listening(cmd)
}

/// The spans received so far named `name`.
fn named(spans: &Spans, name: &str) -> Vec<Span> {
    spans
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.name == name)
        .cloned()
        .collect()
}

/// Spans are exported in batches: waits (up to 30 s) for the handler's and
/// both deliveries'.
fn wait_for_the_handler_span(spans: &Spans) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while named(spans, "handle").is_empty() || named(spans, "delivery").len() < 2 {
        assert!(
            Instant::now() < deadline,
            "spans seen: {:?}",
            spans
                .lock()
                .unwrap()
                .iter()
                .map(|s| &s.name)
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The accepted delivery (`event_id`) and the refused one are a trace each;
/// verification, the commit and the handler attempt are in the accepted one.
fn assert_one_trace_per_delivery(spans: &Spans, event_id: &str) {
    let deliveries = named(spans, "delivery");
    let accepted = deliveries
        .iter()
        .find(|s| attribute(s, "outcome").as_deref() == Some("accepted"))
        .expect("the accepted delivery's span");
    assert_eq!(attribute(accepted, "event_id").as_deref(), Some(event_id));
    assert_eq!(
        attribute(accepted, "event").as_deref(),
        Some("quote.updated")
    );
    assert_eq!(
        attribute(accepted, "http.response.status_code").as_deref(),
        Some("200")
    );
    let refused = deliveries
        .iter()
        .find(|s| attribute(s, "outcome").as_deref() == Some("unauthenticated"))
        .expect("the refused delivery's span");
    assert_ne!(
        refused.trace_id, accepted.trace_id,
        "one trace per delivery"
    );
    // Receipt: verification and the commit inside the delivery span.
    for child_name in ["verify", "store"] {
        assert!(
            named(spans, child_name)
                .iter()
                .any(|s| s.trace_id == accepted.trace_id && s.parent_span_id == accepted.span_id),
            "{child_name} inside the accepted delivery"
        );
    }
    // The handler attempt, across the inbox: same trace, the delivery its parent.
    let handle = named(spans, "handle");
    assert_eq!(handle.len(), 1, "only the accepted delivery is handled");
    assert_eq!(handle[0].trace_id, accepted.trace_id);
    assert_eq!(handle[0].parent_span_id, accepted.span_id);
    assert_eq!(attribute(&handle[0], "outcome").as_deref(), Some("ok"));
    assert_eq!(attribute(&handle[0], "attempt").as_deref(), Some("1"));
}

/// Nothing secret, no header and no body (`body`) in any attribute.
fn assert_no_secret_or_body_in_attributes(spans: &Spans, body: Vec<u8>) {
    let body_text = String::from_utf8(body).unwrap();
    let quote = "quo_1";
    assert!(body_text.contains(quote));
    for s in spans.lock().unwrap().iter() {
        for a in &s.attributes {
            let v = format!("{:?}", a.value);
            assert!(!v.contains("whsec_"), "{}: {v}", a.key);
            assert!(
                !v.contains(quote) && !v.contains("northwind"),
                "{}: {v}",
                a.key
            );
        }
    }
}

#[test]
fn each_delivery_is_one_trace_from_receipt_to_its_handler() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (otlp, spans) = otlp_receiver(&rt);
    let dir = common::temp_dir("traces");
    let (mut child, port) = serve_traced(&dir, otlp);
    let (event_id, body) = common::prets_delivery("evt_01KVTRACE", 1);
    assert_eq!(common::post_prets(port, SECRET, &body).unwrap(), 200);
    let (_, forged) = common::prets_delivery("evt_01KVTRACE", 2);
    assert_eq!(
        common::post_prets(port, "whsec_wrong", &forged).unwrap(),
        401
    );

    wait_for_the_handler_span(&spans);
    child.kill().unwrap();
    child.wait().unwrap();

    assert_one_trace_per_delivery(&spans, &event_id);
    assert_no_secret_or_body_in_attributes(&spans, body);
    std::fs::remove_dir_all(&dir).unwrap();
}
