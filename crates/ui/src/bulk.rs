//! Replaying a filtered list at once: the list offers it, a page asks to
//! confirm the set, and only a confirmation whose set still matches (its
//! count and a digest of its ids) queues anything: the set may change
//! between the two pages, keeping its count.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use crate::receive::replay::{ReplayError, Selection, replay_confirmed, set_digest};
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
    let Some(confirmed) = fields.get("confirm").cloned() else {
        return first_confirm(&ui, selection, fields).await;
    };
    let chosen = selection.clone();
    let message = match blocking(&ui, move |s| replay_confirmed(s, &chosen, &confirmed)).await {
        Ok(Ok(Ok(done))) => format!(
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
        Ok(Ok(Err(now))) => {
            let was = fields.get("confirm").map(|c| count_of(c)).unwrap_or(0);
            return confirm_page(&selection, &fields, &now, Some(was), &ui.csrf).into_response();
        }
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

/// The first press of "Replay these": the confirmation page, pinning the
/// set that matches now.
async fn first_confirm(
    ui: &Arc<Ui>,
    selection: Selection,
    fields: BTreeMap<String, String>,
) -> Response {
    let chosen = selection.clone();
    match blocking(ui, move |s| chosen.rows(s)).await {
        Ok(Ok(rows)) => {
            let digest = set_digest(&rows);
            confirm_page(&selection, &fields, &digest, None, &ui.csrf).into_response()
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => store_error(e),
    }
}

/// How many deliveries a [`set_digest`] was made of.
fn count_of(digest: &str) -> u64 {
    digest
        .split_once('-')
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0)
}

/// Asks to confirm the set `digest` pins; says so when the set changed
/// since the one the form was sent with (`was` deliveries), even if the
/// count is the same.
fn confirm_page(
    selection: &Selection,
    fields: &BTreeMap<String, String>,
    digest: &str,
    was: Option<u64>,
    csrf: &str,
) -> impl IntoResponse {
    let total = count_of(digest);
    let body = html! {
        @if let Some(was) = was {
            p class="note" role="status" {
                "The matching deliveries changed since you confirmed (" (was) " then, " (total) " now"
                @if was == total { ", not the same ones" }
                "). Nothing was queued."
            }
        }
        @if total == 0 {
            p { "Nothing matches " (selection.describe()) "." }
        } @else {
            form method="post" action="/replay" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="confirm" value=(digest);
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
