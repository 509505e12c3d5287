//! The observation channel. A receiver under test, in any language, reports
//! each delivery its handler processed with
//!
//! ```text
//! POST http://ADDR/handled
//! {"event_id": "<id as read, or null>", "event_type": "<or null>", "payload": <the payload as handled>}
//! ```
//!
//! (answered `204`), so the harness and the simulator judge what it did,
//! not only what it answered: handled exactly once, never when refused, and
//! with the payload intact. A report the harness refuses on purpose
//! (`503`, [`FailNext`]) is a handler that failed: it does not count as
//! handled, and the receiver must not acknowledge the event as if it were.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;

use super::cases::NEW_KEYS;

/// The largest report accepted (a payload as handled, serialized back).
const MAX_REPORT: usize = 64 * 1024 * 1024;

/// One report: a delivery the receiver's handler processed.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// The id as the receiver read it (a number is kept as its text).
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub payload: Value,
    /// When the report arrived.
    pub at: Instant,
}

#[derive(Deserialize)]
struct Wire {
    event_id: Option<Value>,
    event_type: Option<Value>,
    #[serde(default)]
    payload: Value,
}

type Reports = Arc<Mutex<Vec<Handled>>>;

/// Event ids whose next report is refused (`503`), so the receiver's
/// handler fails as it would with its database down.
#[derive(Clone, Default)]
pub struct FailNext(Arc<Mutex<std::collections::HashSet<String>>>);

impl FailNext {
    /// The next report of `event_id` is refused.
    pub fn arm(&self, event_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event_id.to_string());
    }

    /// Takes back an arming no report used; whether there was one.
    pub fn disarm(&self, event_id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(event_id)
    }

    /// Whether this report is to be refused (once per arming).
    fn take(&self, event_id: Option<&str>) -> bool {
        let mut armed = self.0.lock().unwrap_or_else(|e| e.into_inner());
        event_id.is_some_and(|id| armed.remove(id))
    }
}

#[derive(Clone)]
struct Shared {
    reports: Reports,
    fail_next: FailNext,
}

/// Listens for reports for as long as it lives.
pub struct Observer {
    addr: SocketAddr,
    reports: Reports,
    fail_next: FailNext,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Observer {
    /// Starts listening on `addr` (port 0 picks a free one).
    pub async fn start(addr: SocketAddr) -> std::io::Result<Observer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let reports: Reports = Arc::default();
        let fail_next = FailNext::default();
        let app = axum::Router::new()
            .route("/handled", axum::routing::post(report))
            .layer(DefaultBodyLimit::max(MAX_REPORT))
            .with_state(Shared {
                reports: reports.clone(),
                fail_next: fail_next.clone(),
            });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Observer {
            addr,
            reports,
            fail_next,
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The report URL a receiver posts to.
    pub fn url(&self) -> String {
        format!("http://{}/handled", self.addr)
    }

    /// Where to arm a refused report (see [`FailNext`]).
    pub fn fail_next(&self) -> FailNext {
        self.fail_next.clone()
    }

    /// Every report so far, in arrival order.
    pub fn reports(&self) -> Vec<Handled> {
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn report(State(shared): State<Shared>, body: axum::body::Bytes) -> impl IntoResponse {
    let wire: Wire = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => {
            let msg = format!(
                "expected a JSON object {{\"event_id\": string|number|null, \"event_type\": string|null, \"payload\": any}}: {e}\n"
            );
            return (StatusCode::BAD_REQUEST, msg).into_response();
        }
    };
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) => Some(s),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let event_id = text(wire.event_id);
    if shared.fail_next.take(event_id.as_deref()) {
        let msg = "hookforge check refuses this report on purpose (case retry/after-failure): \
                   your handler failed, so the event must not be acknowledged as handled\n";
        return (StatusCode::SERVICE_UNAVAILABLE, msg).into_response();
    }
    let handled = Handled {
        event_id,
        event_type: text(wire.event_type),
        payload: wire.payload,
        at: Instant::now(),
    };
    shared
        .reports
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(handled);
    StatusCode::NO_CONTENT.into_response()
}

/// Whether a reported payload is the body sent: equal both ways (a `null`
/// may be absent; added `x_hookforge_*` marks only if reported, the new
/// fields of `drift/extra-field` always).
pub fn same_payload(sent: &Value, got: &Value) -> bool {
    payload_difference(sent, got).is_none() && payload_difference(got, sent).is_none()
}

/// [`same_payload`], the `x_hookforge_*` fields compared too: tells apart
/// copies of one sample that differ only in the field marking each case.
pub fn same_payload_exactly(sent: &Value, got: &Value) -> bool {
    differ(sent, Some(got), "", true).is_none() && differ(got, Some(sent), "", true).is_none()
}

/// Where `got` (the payload as the handler saw it) differs from `sent`:
/// every field sent must come back with the same value (strings exactly,
/// numbers by exact decimal value; a `null` may come back absent). Marks
/// the harness added (`x_hookforge_*`) are compared only when reported; the
/// new fields of `drift/extra-field` ([`NEW_KEYS`]) always.
/// `None` when they agree.
pub fn payload_difference(sent: &Value, got: &Value) -> Option<String> {
    differ(sent, Some(got), "", false)
}

fn differ(sent: &Value, got: Option<&Value>, at: &str, strict: bool) -> Option<String> {
    let show = |v: &Value| {
        let t = v.to_string();
        if t.chars().count() > 80 {
            format!("{}…", t.chars().take(80).collect::<String>())
        } else {
            t
        }
    };
    let here = if at.is_empty() { "/" } else { at };
    match (sent, got) {
        (Value::Null, None | Some(Value::Null)) => None,
        (_, None) if NEW_KEYS.iter().any(|k| at.ends_with(&format!("/{k}"))) => Some(format!(
            "{here}: sent {}, the handler did not get it (a field the vendor added: a model that drops unknown fields loses it)",
            show(sent)
        )),
        (_, None) => Some(format!(
            "{here}: sent {}, the handler did not get it",
            show(sent)
        )),
        (Value::Object(s), Some(Value::Object(g))) => s.iter().find_map(|(k, v)| {
            let child = format!("{at}/{}", crate::manifest::escape_token(k));
            match g.get(k) {
                None if !strict
                    && k.starts_with("x_hookforge_")
                    && !NEW_KEYS.contains(&k.as_str()) =>
                {
                    None
                }
                got => differ(v, got, &child, strict),
            }
        }),
        (Value::Array(s), Some(Value::Array(g))) => {
            if s.len() != g.len() {
                return Some(format!(
                    "{here}: sent {} items, the handler got {}",
                    s.len(),
                    g.len()
                ));
            }
            s.iter()
                .zip(g)
                .enumerate()
                .find_map(|(i, (a, b))| differ(a, Some(b), &format!("{at}/{i}"), strict))
        }
        (Value::Number(a), Some(Value::Number(b))) => (!crate::util::same_number(a, b))
            .then(|| format!("{here}: sent {a}, the handler got {b} (not the same number)")),
        (a, Some(b)) if a == b => None,
        (a, Some(b)) => Some(format!(
            "{here}: sent {}, the handler got {}",
            show(a),
            show(b)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A report that is not the contract's JSON gets a 400 saying what is
    /// expected; a good one 204, a numeric id kept as its text.
    #[tokio::test]
    async fn bad_reports_are_refused_with_the_expected_shape() {
        let obs = Observer::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let bad = client
            .post(obs.url())
            .body("not json")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        assert!(bad.text().await.unwrap().contains("expected a JSON object"));
        let good = client
            .post(obs.url())
            .body(r#"{"event_id": 820982911946154508, "event_type": null, "payload": {"a": 1}}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(good.status(), 204);
        let r = obs.reports();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].event_id.as_deref(), Some("820982911946154508"));
        assert_eq!(r[0].event_type, None);
    }

    /// As numbers, not as text: `1.0`, `1` and `1e2`/`100` are one value;
    /// an integer past 2^53 is not the float next to it.
    #[test]
    fn numbers_compare_by_value() {
        let same = |a: &str, b: &str| {
            let n = |t: &str| serde_json::from_str::<serde_json::Number>(t).unwrap();
            crate::util::same_number(&n(a), &n(b))
        };
        assert!(same("1.0", "1"));
        assert!(same("1e2", "100"));
        assert!(same("100.0", "1E2"));
        assert!(same("0.50", "5e-1"));
        assert!(same("-0", "0"));
        assert!(!same("9007199254740993", "9007199254740992"));
        assert!(!same("9007199254740993", "9007199254740992.0"));
        assert!(!same("-1", "1"));
        assert!(!same("10", "1"));
    }

    #[test]
    fn payloads_differ_where_data_was_lost() {
        let sent = json!({"id": 820982911946154508_u64, "a": 1.0, "n": null, "s": "é",
            "x_hookforge_nonce": "z", "list": [1, {"b": "c"}]});
        let same = json!({"id": 820982911946154508_u64, "a": 1, "s": "é", "list": [1, {"b": "c"}]});
        assert_eq!(payload_difference(&sent, &same), None);
        let rounded =
            json!({"id": 820982911946154500_u64, "a": 1, "s": "é", "list": [1, {"b": "c"}]});
        let d = payload_difference(&sent, &rounded).unwrap();
        assert!(d.starts_with("/id: sent 820982911946154508"), "{d}");
        let dropped = json!({"id": 820982911946154508_u64, "a": 1, "s": "é", "list": [1, {}]});
        assert!(
            payload_difference(&sent, &dropped)
                .unwrap()
                .starts_with("/list/1/b")
        );
        let changed =
            json!({"id": 820982911946154508_u64, "a": 1, "s": "e", "list": [1, {"b": "c"}]});
        assert!(
            payload_difference(&sent, &changed)
                .unwrap()
                .starts_with("/s")
        );
    }

    /// The marks may be left out of a report; `drift/extra-field`'s new
    /// fields may not: keeping them is what the case checks.
    #[test]
    fn the_new_fields_must_reach_the_handler() {
        let sent = json!({"a": 1, "x_hookforge_nonce": "z", "x_hookforge_new_field": {"added": true},
            "data": {"b": 2, "x_hookforge_new_nested_field": "added"}});
        let kept = json!({"a": 1, "x_hookforge_new_field": {"added": true},
            "data": {"b": 2, "x_hookforge_new_nested_field": "added"}});
        assert_eq!(payload_difference(&sent, &kept), None);
        let top = json!({"a": 1, "data": {"b": 2, "x_hookforge_new_nested_field": "added"}});
        let d = payload_difference(&sent, &top).unwrap();
        assert!(d.starts_with("/x_hookforge_new_field: sent"), "{d}");
        assert!(d.contains("a model that drops unknown fields"), "{d}");
        let nested = json!({"a": 1, "x_hookforge_new_field": {"added": true}, "data": {"b": 2}});
        let d = payload_difference(&sent, &nested).unwrap();
        assert!(d.starts_with("/data/x_hookforge_new_nested_field"), "{d}");
    }
}
