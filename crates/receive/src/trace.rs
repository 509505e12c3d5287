//! Traces: one per delivery, from receipt (the `delivery` span, with
//! `verify` and `store` inside) to each handler attempt (`handle`), which
//! continues the delivery's trace across the inbox through the W3C
//! `traceparent` stored with it. Spans carry the vendor, event type, event
//! id, delivery id, attempt and outcome: never a secret, a header or the body.
//!
//! The spans are `tracing` spans under the target [`TARGET`]; an
//! OpenTelemetry layer (`hookforge serve --otlp-endpoint`) exports them.
//! Without feature `otel` (or without such a layer) nothing is stored.

/// The target of every span here: a log subscriber can leave them out.
pub const TARGET: &str = "hookforge::trace";

/// The header name the trace context is stored under, with the delivery.
pub const TRACEPARENT: &str = "traceparent";

/// The current span's trace context as a `traceparent` value, when an
/// OpenTelemetry layer records it.
#[cfg(feature = "otel")]
pub fn current_traceparent() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

#[cfg(not(feature = "otel"))]
pub fn current_traceparent() -> Option<String> {
    None
}

/// Makes `span` a child of the stored `traceparent` (a malformed one is
/// ignored: the span starts a trace of its own).
#[cfg(feature = "otel")]
pub fn continue_from(span: &tracing::Span, traceparent: &str) {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let parts: Vec<&str> = traceparent.trim().split('-').collect();
    let [_, trace, parent, flags] = parts.as_slice() else {
        return;
    };
    let (Ok(trace), Ok(parent), Ok(flags)) = (
        TraceId::from_hex(trace),
        SpanId::from_hex(parent),
        u8::from_str_radix(flags, 16),
    ) else {
        return;
    };
    let remote = SpanContext::new(
        trace,
        parent,
        TraceFlags::new(flags),
        true,
        TraceState::NONE,
    );
    if remote.is_valid() {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
}

#[cfg(not(feature = "otel"))]
pub fn continue_from(_span: &tracing::Span, _traceparent: &str) {}
