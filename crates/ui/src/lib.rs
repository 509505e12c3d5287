//! The inbox dashboard: server-rendered pages (maud, no JavaScript) over any
//! [`Store`]: counts per vendor and status; a list filterable by vendor,
//! event type, status and time, paginated; a delivery's page with its
//! headers (credentials redacted), its body (the misfit's JSON path marked
//! for a quarantined one), attempts and last error; and the inbox's own
//! operations, replay and re-parse, as POST forms with a CSRF token.
//!
//! Bound to loopback by default; with a token (`hookforge ui --ui-token`),
//! every request must carry it (`Authorization: Bearer`, or the cookie
//! `/login?token=` sets).

// The paths this module was written against.
use hookforge_core::{auth, util};
use hookforge_receive as receive;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};

use crate::auth::Secret;
use crate::receive::inbox::reparse_delivery;
use crate::receive::store::{Status, Store};

/// Deliveries per page.
pub const PAGE: usize = 50;
/// The most rows the dashboard reads for its counts and filters.
pub const SCAN_LIMIT: usize = 100_000;
const COOKIE: &str = "hookforge_ui";

mod body;
mod bulk;

struct Ui {
    store: Arc<dyn Store>,
    /// Protects the POST forms: a page from another site cannot read it.
    csrf: String,
    /// Signs the note a POST's redirect carries, so that a link made
    /// elsewhere cannot put its own words on the dashboard.
    note_key: String,
    token: Option<Secret>,
}

/// The dashboard's routes over `store`. With `token`, every request must
/// present it.
pub fn router(store: Arc<dyn Store>, token: Option<Secret>) -> Router {
    let ui = Arc::new(Ui {
        store,
        csrf: random_hex(),
        note_key: random_hex(),
        token,
    });
    Router::new()
        .route("/", get(index))
        .route("/deliveries/{id}", get(show))
        .route("/deliveries/{id}/replay", post(replay))
        .route("/reparse", post(reparse))
        .route("/replay", post(bulk::replay))
        .route("/login", get(login))
        .layer(middleware::from_fn_with_state(ui.clone(), require_token))
        .layer(middleware::from_fn(guard))
        .with_state(ui)
}

/// Whether a `Host` (or an `Origin`'s host) may address the dashboard:
/// `localhost` or an IP literal. A page on another site can point its own
/// name at 127.0.0.1 (DNS rebinding), but its requests then carry that name,
/// never `localhost` or an address.
fn allowed_host(host_and_port: &str) -> bool {
    let host = match host_and_port.strip_prefix('[') {
        // `[::1]:8090`
        Some(rest) => {
            return rest
                .split(']')
                .next()
                .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
        }
        None => host_and_port
            .rsplit_once(':')
            .map_or(host_and_port, |(h, port)| {
                if port.chars().all(|c| c.is_ascii_digit()) {
                    h
                } else {
                    host_and_port
                }
            }),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Refuses requests addressed to another name (DNS rebinding) and POSTs
/// from another origin; forbids framing (clickjacking) on every answer.
async fn guard(req: Request, next: Next) -> Response {
    let h = req.headers();
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let refuse = |why: String| {
        (
            StatusCode::FORBIDDEN,
            page("Forbidden", html! { p { (why) } }),
        )
            .into_response()
    };
    // Browsers always send Host; a request without one (HTTP/1.0, an
    // in-process call) cannot come from a rebinding page.
    let mut resp = if !host.is_empty() && !allowed_host(host) {
        refuse(format!(
            "This dashboard answers only to localhost or an IP address, not to Host {:?}.",
            crate::util::Shown(host).to_string()
        ))
    } else if req.method() == axum::http::Method::POST
        && let Some(origin) = h.get(header::ORIGIN)
        && !origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(_, rest)| {
                if host.is_empty() {
                    allowed_host(rest)
                } else {
                    rest == host
                }
            })
    {
        refuse("A form from another origin cannot act on this dashboard.".into())
    } else {
        next.run(req).await
    };
    let headers = resp.headers_mut();
    for (k, v) in [
        ("content-security-policy", "frame-ancestors 'none'"),
        ("x-frame-options", "DENY"),
        // Not `no-referrer`: Chromium then sends `Origin: null` with the
        // dashboard's own forms, which the check above must refuse.
        ("referrer-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
    ] {
        headers.insert(k, header::HeaderValue::from_static(v));
    }
    resp
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the operating system's random source");
    crate::util::hex(&b)
}

/// `message=…&note_sig=…`: what a POST tells the page it redirects to.
fn note_query(ui: &Ui, note: &str) -> String {
    format!("message={}&note_sig={}", encode(note), note_sig(ui, note))
}

fn note_sig(ui: &Ui, note: &str) -> String {
    let mac = auth::hmac(
        hookforge_core::manifest::HashAlgorithm::Sha256,
        ui.note_key.as_bytes(),
        &[note.as_bytes()],
    );
    crate::util::hex(&mac[..16])
}

/// The note of a query, shown only when this dashboard signed it.
fn note_of(ui: &Ui, f: &BTreeMap<String, String>) -> Option<String> {
    let (note, sig) = (f.get("message")?, f.get("note_sig")?);
    same(sig, &note_sig(ui, note)).then(|| note.clone())
}

fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

async fn require_token(State(ui): State<Arc<Ui>>, req: Request, next: Next) -> Response {
    let Some(token) = &ui.token else {
        return next.run(req).await;
    };
    if req.uri().path() == "/login" {
        return next.run(req).await;
    }
    let h = req.headers();
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = cookie(h, COOKIE);
    if bearer
        .or(cookie.as_deref())
        .is_some_and(|t| same(t, token.expose()))
    {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            page(
                "Sign in",
                html! { p { "This dashboard needs its token: open " code { "/login?token=…" } "." } },
            ),
        )
            .into_response()
    }
}

fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn login(State(ui): State<Arc<Ui>>, RawQuery(q): RawQuery) -> Response {
    let given = query(q.as_deref()).remove("token").unwrap_or_default();
    match &ui.token {
        Some(t) if same(&given, t.expose()) => (
            [(
                header::SET_COOKIE,
                format!("{COOKIE}={given}; HttpOnly; SameSite=Strict; Path=/"),
            )],
            Redirect::to("/"),
        )
            .into_response(),
        Some(_) => (StatusCode::UNAUTHORIZED, "wrong token").into_response(),
        None => Redirect::to("/").into_response(),
    }
}

/// `a=1&b=x%20y` → map (form or query encoding).
fn query(q: Option<&str>) -> BTreeMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1f24;background:#fff}
header,main{padding:0 1rem;max-width:72rem;margin:auto}
header{border-bottom:1px solid #d0d7de}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.5rem}
a{color:#0550ae}
table{border-collapse:collapse;width:100%}
.scroll{overflow-x:auto}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
form.filters label{display:flex;flex-direction:column;font-size:.85rem}
input,select,button{font:inherit;padding:.25rem .4rem}
button{cursor:pointer}
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto;font-size:.85rem}
mark{background:#ffd8b5;outline:2px solid #d4570e}
.status{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.85rem;background:#eaeef2}
.status-quarantined{background:#fff1c2}.status-dead{background:#ffd7d5}.status-done{background:#dafbe1}
.status-pending,.status-processing{background:#ddf4ff}
.note{padding:.5rem .75rem;background:#ddf4ff;border-left:4px solid #0969da}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
nav.pages{display:flex;gap:1rem;margin:1rem 0}
";

fn page(title: &str, body: Markup) -> Html<String> {
    let body = html! {
        header { h1 { a href="/" { "hookforge inbox" } } }
        main { (body) }
    };
    Html(crate::util::html_page(
        &format!("{title} — hookforge inbox"),
        STYLE,
        &body.into_string(),
    ))
}

fn status_badge(s: Status) -> Markup {
    html! { span class={ "status status-" (s.as_str()) } { (s.as_str()) } }
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A moment as the filter form sends it (`datetime-local`, read as UTC), or
/// as a link may carry it: RFC 3339 or a date (midnight UTC).
fn parse_local(s: &str) -> Option<i64> {
    let s = s.trim();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| t.and_utc().timestamp_millis())
        .ok()
        .or_else(|| crate::util::parse_moment(s))
}

fn store_error(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        page(
            "Inbox unavailable",
            html! { p { "Cannot read the inbox: " (e.to_string()) } },
        ),
    )
        .into_response()
}

async fn blocking<T: Send + 'static>(
    ui: &Arc<Ui>,
    f: impl FnOnce(&dyn Store) -> T + Send + 'static,
) -> Result<T, String> {
    let store = ui.store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| e.to_string())
}

async fn index(State(ui): State<Arc<Ui>>, RawQuery(q): RawQuery) -> Response {
    let f = query(q.as_deref());
    let get = |k: &str| f.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let search = match search_of(&f) {
        Ok(s) => s,
        Err(bad) => return bad.into_response(),
    };
    let (status, vendor, event) = (search.status, search.vendor.clone(), search.event.clone());
    let page_no: usize = match get("page").map(|p| p.trim().parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            return BadFilter {
                field: "page",
                value: get("page").unwrap_or_default().to_string(),
                expected: "a page number from 1".into(),
            }
            .into_response();
        }
    };
    let filtered = search.clone();
    let offset = (page_no - 1).saturating_mul(PAGE);
    // Counted with GROUP BY and paged with LIMIT in the store, bodies left
    // out: a page costs the same for 100 rows or 100,000.
    let (counted, (shown, total)) = match blocking(&ui, move |s| {
        Ok::<_, crate::receive::store::StoreError>((s.counts()?, s.search(&search, offset, PAGE)?))
    })
    .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return store_error(e),
        Err(e) => return store_error(e),
    };
    let mut counts: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for (v, st, n) in &counted {
        *counts
            .entry(v.as_str())
            .or_default()
            .entry(st.as_str())
            .or_default() += n;
    }
    let total = total as usize;
    let pages = total.div_ceil(PAGE).max(1);
    if page_no > pages {
        return BadFilter {
            field: "page",
            value: page_no.to_string(),
            expected: format!("a page number from 1 to {pages}").into(),
        }
        .into_response();
    }
    let vendors: Vec<&str> = counts.keys().copied().collect();
    let link = |p: usize| {
        let mut f = f.clone();
        f.insert("page".into(), p.to_string());
        format!(
            "/?{}",
            f.iter()
                .filter(|(k, v)| !v.is_empty() && !matches!(k.as_str(), "message" | "note_sig"))
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        )
    };
    let quarantined: u64 = counted
        .iter()
        .filter(|(_, st, _)| *st == Status::Quarantined)
        .map(|(_, _, n)| n)
        .sum();
    let message = note_of(&ui, &f);
    let filter = Filter {
        vendors: &vendors,
        vendor: vendor.as_deref(),
        event: event.as_deref(),
        status,
        since: get("since"),
        until: get("until"),
    };
    let body = html! {
        @if let Some(m) = &message { p class="note" role="status" { (m) } }
        (counts_section(&counts, quarantined, &ui.csrf))
        h2 id="deliveries" { "Deliveries" }
        (filter_form(&filter))
        p { (total) " matching" @if pages > 1 { ", page " (page_no) " of " (pages) } "." }
        (bulk::replay_form(&filtered, &f, total, &ui.csrf))
        (deliveries_table(&shown))
        nav class="pages" aria-label="pages" {
            @if page_no > 1 { a href=(link(page_no - 1)) rel="prev" { "← newer" } }
            @if page_no < pages { a href=(link(page_no + 1)) rel="next" { "older →" } }
        }
    };
    page("Deliveries", body).into_response()
}

/// The list's filter from the page's query (or a form carrying the same
/// fields): status, vendor, a part of the event type, received between.
/// A status there is not, or a time that cannot be read, is an error naming
/// the field: ignored, it would widen the list (and a bulk replay) to more
/// than was asked for.
fn search_of(
    fields: &BTreeMap<String, String>,
) -> Result<crate::receive::store::Search, BadFilter> {
    let get = |k: &str| {
        fields
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    let status = match get("status").map(|s| (s, Status::parse(s))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((s, None)) => {
            return Err(BadFilter {
                field: "status",
                value: s.to_string(),
                expected: "pending, processing, done, quarantined or dead".into(),
            });
        }
    };
    let moment = |field: &'static str| match get(field) {
        None => Ok(None),
        Some(v) => parse_local(v).map(Some).ok_or_else(|| BadFilter {
            field,
            value: v.to_string(),
            expected: MOMENTS.into(),
        }),
    };
    let (since_ms, until_ms) = (moment("since")?, moment("until")?);
    if let (Some(since), Some(until)) = (since_ms, until_ms)
        && since > until
    {
        return Err(BadFilter {
            field: "until",
            value: get("until").unwrap_or_default().to_string(),
            expected: format!(
                "a moment at or after since ({})",
                get("since").unwrap_or_default()
            )
            .into(),
        });
    }
    Ok(crate::receive::store::Search {
        status,
        vendor: get("vendor").map(str::to_string),
        event: get("event").map(str::to_string),
        since_ms,
        until_ms,
    })
}

/// The forms a `since` or `until` filter is read in.
const MOMENTS: &str = "a date and time (2026-12-01T09:00, UTC), RFC 3339 (2026-12-01T09:00:00Z) or a date (2026-12-01)";

/// A filter field whose value cannot be used.
struct BadFilter {
    field: &'static str,
    value: String,
    expected: std::borrow::Cow<'static, str>,
}

impl IntoResponse for BadFilter {
    fn into_response(self) -> Response {
        let body = html! {
            p { "The filter's " code { (self.field) } " is " code { (self.value) } ": expected " (self.expected) "." }
            p { a href="/" { "Back to the list" } }
        };
        (StatusCode::BAD_REQUEST, page("Bad filter", body)).into_response()
    }
}

/// The counts per vendor and status, each linking to its list, and the
/// re-parse form when anything is quarantined.
fn counts_section(
    counts: &BTreeMap<&str, BTreeMap<&str, u64>>,
    quarantined: u64,
    csrf: &str,
) -> Markup {
    html! {
        h2 { "By vendor and status" }
        div class="scroll" {
            table {
                thead { tr { th scope="col" { "vendor" } @for s in Status::ALL { th scope="col" class="num" { (s.as_str()) } } } }
                tbody {
                    @for (v, c) in counts {
                        tr {
                            th scope="row" { (v) }
                            @for s in Status::ALL {
                                td class="num" {
                                    @let n = c.get(s.as_str()).copied().unwrap_or(0);
                                    @if n > 0 { a href={ "/?vendor=" (encode(v)) "&status=" (s.as_str()) } { (n) } } @else { "0" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if quarantined > 0 {
            form method="post" action="/reparse" {
                input type="hidden" name="csrf" value=(csrf);
                p { (quarantined) " quarantined. "
                    button type="submit" { "Re-parse all quarantined" } }
            }
        }
    }
}

/// What the deliveries list is filtered by, as the form shows it.
struct Filter<'a> {
    vendors: &'a [&'a str],
    vendor: Option<&'a str>,
    event: Option<&'a str>,
    status: Option<Status>,
    since: Option<&'a str>,
    until: Option<&'a str>,
}

fn filter_form(f: &Filter<'_>) -> Markup {
    html! {
        form class="filters" method="get" action="/" {
            label { "Vendor"
                select name="vendor" {
                    option value="" { "any" }
                    @for v in f.vendors { option value=(v) selected[f.vendor == Some(*v)] { (v) } }
                }
            }
            label { "Event type contains" input type="text" name="event" value=[f.event]; }
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in Status::ALL { option value=(s.as_str()) selected[f.status == Some(s)] { (s.as_str()) } }
                }
            }
            label { "Received from (UTC)" input type="datetime-local" name="since" value=[f.since]; }
            label { "until" input type="datetime-local" name="until" value=[f.until]; }
            button type="submit" { "Filter" }
        }
    }
}

fn deliveries_table(shown: &[crate::receive::store::StoredDelivery]) -> Markup {
    html! {
        div class="scroll" {
            table class="deliveries" {
                thead { tr { th scope="col" class="num" { "id" } th scope="col" { "status" } th scope="col" { "vendor" } th scope="col" { "event" } th scope="col" { "received" } th scope="col" class="num" { "attempts" } th scope="col" { "last error" } } }
                tbody {
                    @for r in shown {
                        tr {
                            td class="num" { a href={ "/deliveries/" (r.id) } { (r.id) } }
                            td { (status_badge(r.status)) }
                            td { (r.vendor) }
                            td { (util::Shown(&r.event_type).to_string()) }
                            td { (time(r.received_at_ms)) }
                            td class="num" { (r.attempts) }
                            td { (r.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// Headers that could carry a credential are never shown.
fn redacted(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "authorization",
        "signature",
        "secret",
        "token",
        "cookie",
        "api-key",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `… at `data.items[0].id`: …` → `data.items[0].id`.
fn misfit_path(error: &str) -> Option<String> {
    let rest = error.split("at `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

/// A delivery's id from the path; a page naming none otherwise (axum's
/// own rejection was the parser's text: "Cannot parse `abc` to a `i64`").
struct DeliveryId(i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for DeliveryId {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Path::<i64>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(DeliveryId(id)),
            Err(_) => Err((
                StatusCode::NOT_FOUND,
                page(
                    "Not found",
                    html! { p { "Deliveries are numbered: no delivery here." } },
                ),
            )
                .into_response()),
        }
    }
}

async fn show(
    State(ui): State<Arc<Ui>>,
    DeliveryId(id): DeliveryId,
    RawQuery(q): RawQuery,
) -> Response {
    let row = match blocking(&ui, move |s| s.get(id)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return store_error(e),
        Err(e) => return store_error(e),
    };
    let Some(d) = row else {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", html! { p { "No delivery " (id) "." } }),
        )
            .into_response();
    };
    let message = note_of(&ui, &query(q.as_deref()));
    let mark = if d.status == Status::Quarantined {
        d.last_error.as_deref().and_then(misfit_path)
    } else {
        None
    };
    let body = match body::json_lines(&d.body, mark.as_deref()) {
        Some(lines) => html! { pre { code { (lines) } } },
        None => html! { pre { code { (String::from_utf8_lossy(&d.body)) } } },
    };
    let html = html! {
        @if let Some(m) = &message { p class="note" role="status" { (m) } }
        h2 { "Delivery " (d.id) " " (status_badge(d.status)) }
        dl {
            dt { "vendor" } dd { (d.vendor) }
            dt { "event" } dd { (util::printable(&d.event_type)) }
            dt { "event id" } dd { (d.event_id.as_deref().unwrap_or("—")) }
            dt { "received" } dd { (time(d.received_at_ms)) }
            dt { "attempts" } dd { (d.attempts) }
            dt { "duplicates" } dd { (d.duplicates) }
            @if let Some(t) = d.processed_at_ms { dt { "handled" } dd { (time(t)) } }
            dt { "last error" } dd { (d.last_error.as_deref().unwrap_or("—")) }
            @if let Some(p) = &mark { dt { "misfit at" } dd { a href="#misfit" { code { (p) } } } }
        }
        div class="actions" {
            // A quarantined delivery is re-parsed, not replayed (it would
            // fail on the same misfit until dead).
            @if d.status != Status::Quarantined {
                form method="post" action={ "/deliveries/" (d.id) "/replay" } {
                    input type="hidden" name="csrf" value=(ui.csrf);
                    button type="submit" name="replay" { "Replay" }
                    " queues it for the handler again, attempts reset."
                }
            }
            @if d.status == Status::Quarantined {
                form method="post" action="/reparse" {
                    input type="hidden" name="csrf" value=(ui.csrf);
                    input type="hidden" name="id" value=(d.id);
                    button type="submit" name="reparse" { "Re-parse" }
                    " with this binary's models; moves it to pending if it fits now."
                }
            }
        }
        h2 { "Headers" }
        div class="scroll" {
            table {
                tbody {
                    @for (k, v) in &d.headers {
                        tr { th scope="row" { (k) } td { @if redacted(k) { "[redacted]" } @else { (v) } } }
                    }
                }
            }
        }
        h2 { "Body" }
        (body)
    };
    page(&format!("Delivery {}", d.id), html).into_response()
}

/// The POST form, after its CSRF token checked out.
fn form(
    ui: &Ui,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<BTreeMap<String, String>, (StatusCode, &'static str)> {
    // A cross-site form post says so, where the browser sends the header.
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s == "cross-site")
    {
        return Err((StatusCode::FORBIDDEN, "cross-site request refused"));
    }
    let f = query(Some(&String::from_utf8_lossy(body)));
    match f.get("csrf") {
        Some(t) if same(t, &ui.csrf) => Ok(f),
        _ => Err((
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: reload the page and try again",
        )),
    }
}

async fn replay(
    State(ui): State<Arc<Ui>>,
    DeliveryId(id): DeliveryId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = form(&ui, &headers, &body) {
        return r.into_response();
    }
    use crate::receive::replay::{ReplayError, replay_one};
    let message = match blocking(&ui, move |s| replay_one(s, id)).await {
        Ok(Ok(true)) => "Queued: the next running receiver with this inbox handles it.".to_string(),
        Ok(Ok(false)) => return (StatusCode::NOT_FOUND, "no such delivery").into_response(),
        // Being handled now, or quarantined: say why instead of running it
        // twice at once, or into the same misfit until it is dead.
        Ok(Err(e @ ReplayError::Store(crate::receive::store::StoreError::Busy { .. })))
        | Ok(Err(e @ ReplayError::QuarantinedOne { .. })) => e.to_string(),
        Ok(Err(e)) => return store_error(e),
        Err(e) => return store_error(e),
    };
    Redirect::to(&format!("/deliveries/{id}?{}", note_query(&ui, &message))).into_response()
}

async fn reparse(State(ui): State<Arc<Ui>>, headers: HeaderMap, body: Bytes) -> Response {
    let f = match form(&ui, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    // No `id` re-parses every quarantined delivery; an `id` that is not one
    // must not (helper-58's review: `id=12abc` re-parsed them all).
    let id: Option<i64> = match f.get("id").map(|v| v.trim().parse::<i64>()) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            let body = html! {
                p { "The form's " code { "id" } " is " code { (f["id"]) } ": expected a delivery id (a whole number), or no " code { "id" } " to re-parse every quarantined delivery." }
                p { a href="/" { "Back to the list" } }
            };
            return (StatusCode::BAD_REQUEST, page("Not re-parsed", body)).into_response();
        }
    };
    let outcome = blocking(
        &ui,
        move |s| -> Result<
            Option<(usize, usize, Option<String>)>,
            crate::receive::store::StoreError,
        > {
            let rows = match id {
                Some(id) => match s.get(id)? {
                    None => return Ok(None),
                    Some(r) => vec![r]
                        .into_iter()
                        .filter(|r| r.status == Status::Quarantined)
                        .collect(),
                },
                None => s.list(Some(Status::Quarantined), SCAN_LIMIT)?,
            };
            let (mut fit, mut still, mut why) = (0, 0, None);
            for r in &rows {
                match reparse_delivery(s, r)? {
                    Ok(_) => fit += 1,
                    Err(e) => {
                        still += 1;
                        why = Some(e);
                    }
                }
            }
            Ok(Some((fit, still, why)))
        },
    )
    .await;
    let (fit, still, why) = match outcome {
        Ok(Ok(Some(x))) => x,
        Ok(Ok(None)) => return (StatusCode::NOT_FOUND, "no such delivery").into_response(),
        Ok(Err(e)) => return store_error(e),
        Err(e) => return store_error(e),
    };
    let message = match (id, why) {
        (Some(_), Some(why)) => format!("Still quarantined: {why}"),
        (Some(_), None) if fit == 1 => "It fits now: moved to pending.".to_string(),
        (Some(_), None) => "Not quarantined: nothing to re-parse.".to_string(),
        (None, _) => format!("Re-parsed: {fit} moved to pending, {still} still quarantined."),
    };
    let to = match id {
        Some(id) => format!("/deliveries/{id}?{}", note_query(&ui, &message)),
        None => format!("/?{}", note_query(&ui, &message)),
    };
    Redirect::to(&to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_paths() {
        assert_eq!(decode("a+b%2Fc%3"), "a b/c%3");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(
            misfit_path("`quote.updated` payload: at `data.quoteId`: invalid type").as_deref(),
            Some("data.quoteId")
        );
        assert!(
            redacted("X-SuperOffice-Signature")
                && redacted("authorization")
                && !redacted("X-SuperOffice-Event")
        );
    }
}
