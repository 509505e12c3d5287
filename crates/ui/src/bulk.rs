//! Replaying a filtered list at once: the list offers it, a page asks to
//! confirm the count, and only a confirmation whose count still holds
//! queues anything (the set may change between the two pages).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use crate::receive::replay::{ReplayError, Selection, replay as replay_selection};
use crate::receive::store::{Search, Status};
use crate::{Ui, blocking, encode, form, page, search_of, store_error};

/// The filter fields a bulk form carries over from the list.
const FIELDS: [&str; 5] = ["status", "vendor", "event", "since", "until"];

/// Whether deliveries in this status may be queued again in bulk.
fn replayable(status: Option<Status>) -> bool {
    matches!(status, Some(Status::Dead | Status::Done | Status::Pending))
}

/// The list's "Replay these" button, shown when the filter names a status
/// that can be replayed and something matches.
pub(crate) fn replay_form(
    search: &Search,
    query: &BTreeMap<String, String>,
    total: usize,
    csrf: &str,
) -> Markup {
    if !replayable(search.status) || total == 0 {
        return html! {};
    }
    html! {
        form class="bulk" method="post" action="/replay" {
            input type="hidden" name="csrf" value=(csrf);
            (carried(query))
            button type="submit" { "Replay these " (total) "…" }
        }
    }
}

/// The filter fields as hidden inputs.
fn carried(query: &BTreeMap<String, String>) -> Markup {
    html! {
        @for k in FIELDS {
            @if let Some(v) = query.get(k).filter(|v| !v.is_empty()) {
                input type="hidden" name=(k) value=(v);
            }
        }
    }
}

/// `POST /replay`: without a matching `confirm` count, the confirmation
/// page; with it, the replay, then back to the list with what it did.
pub(crate) async fn replay(State(ui): State<Arc<Ui>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = match form(&ui, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let search = match search_of(&fields) {
        Ok(s) => s,
        Err(bad) => return bad.into_response(),
    };
    if !replayable(search.status) {
        let why = match search.status {
            Some(Status::Processing) => ReplayError::Processing,
            Some(Status::Quarantined) => ReplayError::Quarantined,
            _ => ReplayError::NoStatus,
        };
        return (
            StatusCode::BAD_REQUEST,
            page("Not replayed", html! { p { (why) } }),
        )
            .into_response();
    }
    let selection = Selection {
        search,
        event_type: None,
    };
    let counted = selection.clone();
    let total = match blocking(&ui, move |s| s.search(&counted.search, 0, 0)).await {
        Ok(Ok((_, total))) => total,
        Ok(Err(e)) => return store_error(e),
        Err(e) => return store_error(e),
    };
    let confirmed = fields.get("confirm").and_then(|c| c.parse::<u64>().ok());
    if confirmed != Some(total) || total == 0 {
        return confirm_page(&selection, &fields, total, confirmed, &ui.csrf).into_response();
    }
    let chosen = selection.clone();
    let message = match blocking(&ui, move |s| replay_selection(s, &chosen, false)).await {
        Ok(Ok(done)) => format!(
            "Queued {}: the next running receiver with this inbox handles them.{}",
            done.queued.len(),
            if done.busy.is_empty() {
                String::new()
            } else {
                format!(
                    " {} were being handled and were left alone.",
                    done.busy.len()
                )
            }
        ),
        Ok(Err(e)) => return store_error(e),
        Err(e) => return store_error(e),
    };
    let mut back: Vec<String> = FIELDS
        .iter()
        .filter_map(|k| fields.get(*k).filter(|v| !v.is_empty()).map(|v| (k, v)))
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    back.push(crate::note_query(&ui, &message));
    Redirect::to(&format!("/?{}", back.join("&"))).into_response()
}

/// Asks to confirm the count; says so when the set changed since the
/// count the form was sent with.
fn confirm_page(
    selection: &Selection,
    fields: &BTreeMap<String, String>,
    total: u64,
    confirmed: Option<u64>,
    csrf: &str,
) -> impl IntoResponse {
    let body = html! {
        @if let Some(was) = confirmed.filter(|was| *was != total) {
            p class="note" role="status" {
                "The matching deliveries changed: " (was) " when you confirmed, " (total) " now. Nothing was queued."
            }
        }
        @if total == 0 {
            p { "Nothing matches " (selection.describe()) "." }
        } @else {
            form method="post" action="/replay" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="confirm" value=(total);
                (carried(fields))
                p { "Replay " strong { (total) } " deliveries (" (selection.describe()) ")? "
                    "Each goes back to pending with its attempts reset, and the next running receiver with this inbox hands it to the handler again." }
                button type="submit" { "Replay " (total) }
            }
        }
        p { a href="/" { "Back to the list" } }
    };
    page("Replay deliveries", body)
}
