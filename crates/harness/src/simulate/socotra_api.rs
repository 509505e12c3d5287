//! Socotra's webhook management API, served by the simulator with the
//! generated management models, so an integrator's recovery script (list
//! diverted events, resend, unsuspend) runs against it unchanged. The
//! webhooks registered here are the ones the simulator delivers to.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as Ext};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use serde_json::{Value, json};

use super::{HookState, Shared, State, Webhook, redeliver};
use crate::Maybe;
use crate::manifest::{FailureHandling, FailureMode, Retry, StatusPattern};
use crate::vendors::socotra::models as m;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/webhooks", put(put_webhook).get(list_webhooks))
        .route("/webhooks/{name}", get(get_webhook).delete(delete_webhook))
        .route("/webhooks/{name}/unsuspend", patch(unsuspend))
        .route("/webhooks/{name}/diverted", get(list_diverted))
        .route(
            "/webhooks/{name}/diverted/{transaction_id}",
            delete(delete_diverted),
        )
        .route(
            "/webhooks/{name}/diverted/{transaction_id}/resend",
            post(resend),
        )
        .with_state(shared)
}

fn error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no webhook named {name:?}"))
}

fn ok_json<T: serde::Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

/// The webhook as Socotra returns it.
fn response(shared: &Shared, hook: &HookState) -> m::WebhookResponse {
    let c = &hook.config;
    let fh = c
        .failure_handling
        .clone()
        .or_else(|| shared.rules.failure_handling.clone())
        .unwrap_or(FailureHandling {
            mode: FailureMode::None,
            act_on_status_codes: Vec::new(),
            act_on_timeout: false,
        });
    let default_strategy = match &shared.rules.retry {
        Retry::Strategies { default, .. } => default.clone(),
        _ => "none".into(),
    };
    let events: Vec<m::EventType> = match &c.events {
        Some(e) => e.iter().map(|s| m::EventType::from(s.as_str())).collect(),
        None => shared
            .vendor
            .events
            .iter()
            .map(|e| m::EventType::from(e.name))
            .collect(),
    };
    m::WebhookResponse {
        alert_integration_name: Maybe::Absent,
        display_name: c.display_name.clone().map_or(Maybe::Absent, Maybe::Present),
        enabled: c.enabled,
        events,
        failure_handling: m::FailureHandlingResponse {
            act_on_status_codes: fh
                .act_on_status_codes
                .iter()
                .map(|p| p.to_string())
                .collect(),
            act_on_timeout: fh.act_on_timeout,
            mode: m::FailureMode::from(fh.mode.as_str()),
            extra: Default::default(),
        },
        integration_name: c.integration.clone(),
        name: c.name.clone(),
        retry_strategy: m::RetryStrategy::from(
            c.retry_strategy.as_deref().unwrap_or(&default_strategy),
        ),
        suspended: hook.suspended_at_ms.is_some() || hook.off.is_some(),
        suspended_timestamp: hook.suspended_at_ms.map_or(Maybe::Absent, |ms| {
            Maybe::Present(m::Timestamp(crate::FlexTimestamp::Millis(ms)))
        }),
        extra: Default::default(),
    }
}

/// `PUT /webhooks`: create or update (by name). An update keeps the
/// webhook's suspension and diverted events.
async fn put_webhook(Ext(shared): Ext<Arc<Shared>>, body: Bytes) -> Response {
    let req: m::WebhookRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not a WebhookRequest: {e}"),
            );
        }
    };
    let mut book = shared.lock();
    let existing = book.hooks.get(&req.name).map(|h| h.config.clone());
    let config = match webhook_config(&shared, &req, existing) {
        Ok(c) => c,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    let hook = book
        .hooks
        .entry(req.name.clone())
        .or_insert_with(|| HookState::new(config.clone()));
    hook.config = config;
    let out = response(&shared, hook);
    drop(book);
    // A stream waiting for its first webhook starts now.
    shared.changed.notify_waiters();
    ok_json(&out)
}

/// The webhook a request asks for, over the one it updates (`existing`):
/// what the request leaves out is kept. The error says which field is wrong.
fn webhook_config(
    shared: &Shared,
    req: &m::WebhookRequest,
    existing: Option<Webhook>,
) -> Result<Webhook, String> {
    let integration = match req.integration_name.as_option() {
        Some(i) => i.clone(),
        None => match (&existing, shared.integrations.keys().next()) {
            (Some(e), _) => e.integration.clone(),
            (None, Some(first)) if shared.integrations.len() == 1 => first.clone(),
            _ => return Err("`integrationName` is required: it names the integration whose URL receives the deliveries".into()),
        },
    };
    let Some(url) = shared.integrations.get(&integration).cloned() else {
        let known: Vec<String> = shared
            .integrations
            .iter()
            .map(|(k, v)| format!("{k} ({v})"))
            .collect();
        return Err(format!(
            "`integrationName`: no integration {integration:?}; this simulator has {}",
            known.join(", ")
        ));
    };
    let retry_strategy = match req.retry_strategy.as_option() {
        None => existing.as_ref().and_then(|e| e.retry_strategy.clone()),
        Some(m::RetryStrategy::Unknown(s)) => {
            return Err(format!("`retryStrategy`: {s:?} is not none, one or three"));
        }
        Some(s) => Some(s.as_str().to_string()),
    };
    let failure_handling = match req.failure_handling.as_option() {
        None => existing.as_ref().and_then(|e| e.failure_handling.clone()),
        Some(f) => Some(failure_handling(shared, f)?),
    };
    Ok(Webhook {
        name: req.name.clone(),
        integration,
        url,
        events: match req.events.as_option() {
            Some(e) => Some(e.iter().map(|t| t.as_str().to_string()).collect()),
            None => existing.as_ref().and_then(|e| e.events.clone()),
        },
        enabled: req
            .enabled
            .as_option()
            .copied()
            .unwrap_or_else(|| existing.as_ref().is_none_or(|e| e.enabled)),
        retry_strategy,
        failure_handling,
        display_name: req
            .display_name
            .as_option()
            .cloned()
            .or_else(|| existing.and_then(|e| e.display_name)),
    })
}

/// A request's `failureHandling` over the vendor's default.
fn failure_handling(
    shared: &Shared,
    request: &m::FailureHandlingRequest,
) -> Result<FailureHandling, String> {
    let base = shared
        .rules
        .failure_handling
        .clone()
        .unwrap_or(FailureHandling {
            mode: FailureMode::None,
            act_on_status_codes: Vec::new(),
            act_on_timeout: false,
        });
    let mode = match request.mode.as_option() {
        Some(m::FailureMode::Unknown(s)) => {
            return Err(format!(
                "`failureHandling.mode`: {s:?} is not none, divert or suspend"
            ));
        }
        Some(mode) => FailureMode::parse(mode.as_str()).ok_or_else(|| {
            format!("`failureHandling.mode`: {mode} is not none, divert or suspend")
        })?,
        None => base.mode,
    };
    let codes = match request.act_on_status_codes.as_option() {
        Some(asked) => asked
            .iter()
            .map(|c| c.parse())
            .collect::<Result<Vec<StatusPattern>, String>>()
            .map_err(|e| format!("`failureHandling.actOnStatusCodes`: {e}"))?,
        None => base.act_on_status_codes,
    };
    Ok(FailureHandling {
        mode,
        act_on_status_codes: codes,
        act_on_timeout: request
            .act_on_timeout
            .as_option()
            .copied()
            .unwrap_or(base.act_on_timeout),
    })
}

async fn list_webhooks(Ext(shared): Ext<Arc<Shared>>) -> Response {
    let book = shared.lock();
    ok_json(&m::WebhooksResponse {
        webhooks: book.hooks.values().map(|h| response(&shared, h)).collect(),
        extra: Default::default(),
    })
}

async fn get_webhook(Ext(shared): Ext<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let book = shared.lock();
    match book.hooks.get(&name) {
        Some(h) => ok_json(&response(&shared, h)),
        None => not_found(&name),
    }
}

/// Deleting a webhook gives up what it held or diverted.
async fn delete_webhook(Ext(shared): Ext<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let mut book = shared.lock();
    let Some(h) = book.hooks.remove(&name) else {
        return not_found(&name);
    };
    for t in h.held.into_iter().chain(h.diverted) {
        let tr = &mut book.tracks[t];
        tr.state = State::GivenUp;
        tr.detail = Some("the webhook was deleted".into());
    }
    drop(book);
    shared.changed.notify_waiters();
    StatusCode::NO_CONTENT.into_response()
}

/// Unsuspending resumes delivery of everything the webhook held, in order.
async fn unsuspend(Ext(shared): Ext<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let mut book = shared.lock();
    let book = &mut *book;
    let Some(h) = book.hooks.get_mut(&name) else {
        return not_found(&name);
    };
    if h.off.is_some() {
        return error(
            StatusCode::CONFLICT,
            format!("webhook {name:?} was switched off, not suspended"),
        );
    }
    h.suspended_at_ms = None;
    let mut held = std::mem::take(&mut h.held);
    // In the order the events were sent: concurrent failures may have
    // been held out of order.
    held.sort_unstable();
    let out = response(&shared, h);
    redeliver(&shared, book, held);
    ok_json(&out)
}

/// `limit` and `offset` from the query; anything else is refused.
fn page(query: Option<&str>) -> Result<(usize, usize), String> {
    let (mut limit, mut offset) = (100usize, 0usize);
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let n = v.parse::<usize>().map_err(|e| match e.kind() {
            std::num::IntErrorKind::PosOverflow => {
                format!("`{k}` is larger than {}; got {v:?}", usize::MAX)
            }
            _ => format!("`{k}` must be a non-negative integer; got {v:?}"),
        })?;
        match k {
            "limit" => limit = n,
            "offset" => offset = n,
            other => return Err(format!("unknown query parameter `{other}`")),
        }
    }
    Ok((limit, offset))
}

fn diverted_event(body: &[u8]) -> Option<m::WebhookDivertedEventResponse> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    let data = match doc.get("data") {
        Some(Value::Object(o)) => o.clone(),
        _ => Default::default(),
    };
    let timestamp = match doc.get("timestamp") {
        Some(Value::Number(n)) => crate::FlexTimestamp::Millis(n.as_i64()?),
        Some(Value::String(s)) => crate::FlexTimestamp::Text(s.clone()),
        _ => return None,
    };
    Some(m::WebhookDivertedEventResponse {
        data: m::EventStreamData(data),
        event_id: text("id")?,
        event_type: m::EventType::from(text("type")?.as_str()),
        timestamp: m::Timestamp(timestamp),
        transaction_id: text("transactionId")?,
        username: text("username").map_or(Maybe::Absent, Maybe::Present),
        extra: Default::default(),
    })
}

async fn list_diverted(
    Ext(shared): Ext<Arc<Shared>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (limit, offset) = match page(query.as_deref()) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let book = shared.lock();
    let Some(h) = book.hooks.get(&name) else {
        return not_found(&name);
    };
    let events = h
        .diverted
        .iter()
        .skip(offset)
        .take(limit)
        .filter_map(|&t| diverted_event(&shared.events[book.tracks[t].event].body))
        .collect();
    ok_json(&m::WebhookDivertedEventsResponse {
        events,
        webhook_name: name,
        extra: Default::default(),
    })
}

/// The position in `diverted` of the event with this transaction id.
fn find_diverted(
    shared: &Shared,
    book: &super::Deliveries,
    h: &HookState,
    tid: &str,
) -> Option<usize> {
    h.diverted.iter().position(|&t| {
        diverted_event(&shared.events[book.tracks[t].event].body)
            .is_some_and(|e| e.transaction_id == tid)
    })
}

/// Takes the diverted event with this transaction id off the webhook's
/// list; its track, or the answer saying why not.
fn take_diverted(
    shared: &Shared,
    book: &mut super::Deliveries,
    name: &str,
    tid: &str,
) -> Result<usize, (StatusCode, String)> {
    let Some(h) = book.hooks.get(name) else {
        return Err((StatusCode::NOT_FOUND, format!("no webhook named {name:?}")));
    };
    let Some(i) = find_diverted(shared, book, h, tid) else {
        return Err((
            StatusCode::NOT_FOUND,
            format!("webhook {name:?} has no diverted event with transactionId {tid:?}"),
        ));
    };
    Ok(book
        .hooks
        .get_mut(name)
        .expect("found above")
        .diverted
        .remove(i))
}

/// Takes the diverted event off the webhook's list and hands its track to
/// `then`; 204, or 404 saying what was not found.
fn on_diverted(
    shared: &Arc<Shared>,
    (name, tid): (String, String),
    then: impl FnOnce(&Arc<Shared>, &mut super::Deliveries, usize),
) -> Response {
    let mut book = shared.lock();
    match take_diverted(shared, &mut book, &name, &tid) {
        Ok(t) => {
            then(shared, &mut book, t);
            StatusCode::NO_CONTENT.into_response()
        }
        Err((status, message)) => error(status, message),
    }
}

async fn delete_diverted(
    Ext(shared): Ext<Arc<Shared>>,
    Path(at): Path<(String, String)>,
) -> Response {
    on_diverted(&shared, at, |shared, book, t| {
        book.tracks[t].state = State::Discarded;
        book.tracks[t].detail = Some("deleted from the diverted events".into());
        shared.changed.notify_waiters();
    })
}

/// Accepted: the resend runs with the webhook's retry strategy.
async fn resend(Ext(shared): Ext<Arc<Shared>>, Path(at): Path<(String, String)>) -> Response {
    on_diverted(&shared, at, |shared, book, t| {
        redeliver(shared, book, vec![t])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_parsed_and_bad_ones_named() {
        assert_eq!(page(None), Ok((100, 0)));
        assert_eq!(page(Some("limit=2&offset=4")), Ok((2, 4)));
        assert!(page(Some("limit=-1")).unwrap_err().contains("`limit`"));
        assert!(page(Some("page=2")).unwrap_err().contains("`page`"));
    }
}
