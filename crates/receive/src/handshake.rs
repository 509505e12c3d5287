//! The receiver's side of handshakes: a request the manifest names as a
//! handshake is answered as the vendor requires and never stored. Those the
//! vendor signs are answered only after the signature checks out.

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::VendorSpec;
use crate::auth::{MIN_SECRET_BYTES, Secret};
use crate::core_handshake::{self as handshake, HandshakeError, HandshakeRequest};
use crate::manifest::Handshake;
use crate::store::Keep;

const LOG: &str = "hookforge::receive::receiver";

/// What answering needs besides the request.
#[derive(Default)]
pub(crate) struct Keys {
    /// Keys `{hmac_sha256_hex:…}` answers (Zoom): the vendor secret.
    pub secret: Option<Secret>,
    /// What a `token_query` must equal (Meta's verify token).
    pub token: Option<Secret>,
}

/// What keeping a secret from a handshake needs (Asana's `X-Hook-Secret`).
pub(crate) struct Keeper<'a> {
    pub vendor: &'static VendorSpec,
    pub store: &'a std::sync::Arc<dyn crate::store::Store>,
    pub verifier: &'a std::sync::RwLock<std::sync::Arc<crate::auth::Verifier>>,
    /// Whether a secret is taken when the receiver already has one.
    pub accept_new: bool,
}

impl Keeper<'_> {
    /// Keeps the secret `handshake` carries: stored durably, then verifying the
    /// vendor's deliveries. The answer to send instead when it is not kept:
    /// 400 (no secret), 403 (the receiver has one and takes no other: anyone
    /// can send this handshake), 503 (not stored: the vendor tries again).
    pub async fn keep(
        &self,
        handshake: &Handshake,
        keep: &crate::manifest::handshake::Keep,
        headers: &HeaderMap,
        json: Option<&Value>,
    ) -> Result<(), Response> {
        let fail = |status: StatusCode, why: String| {
            tracing::warn!(target: LOG, vendor = self.vendor.id, handshake = %handshake.name, status = status.as_u16(), reason = %why, "secret not kept");
            (status, axum::Json(serde_json::json!({"error": why}))).into_response()
        };
        let given = match (&keep.header, &keep.pointer) {
            (Some(h), _) => headers.get(h.as_str()).and_then(|v| v.to_str().ok()),
            (None, Some(p)) => json.and_then(|j| j.pointer(p)).and_then(Value::as_str),
            (None, None) => None,
        };
        // A control character (a newline in a JSON token) is no vendor's
        // secret, and would not survive a config file or a terminal.
        let secret = given
            .map(str::trim)
            .filter(|v| (MIN_SECRET_BYTES..=1024).contains(&v.len()))
            .filter(|v| !v.chars().any(char::is_control))
            .map(Secret::new)
            .ok_or_else(|| {
                let why = format!(
                    "{} must carry the secret ({MIN_SECRET_BYTES} to 1024 printable characters)",
                    keep.place()
                );
                fail(StatusCode::BAD_REQUEST, why)
            })?;
        let current = self.current();
        if current.knows_secret(&secret) {
            return Ok(());
        }
        let refused = || {
            let why = format!(
                "{} already has a secret; a `{}` handshake giving another is refused, since anyone can send one (accept new secrets while you create a further webhook: serve --accept-new-secrets)",
                self.vendor.id, handshake.name
            );
            fail(StatusCode::FORBIDDEN, why)
        };
        if current.has_secret() && !self.accept_new {
            return Err(refused());
        }
        if let Err(e) = current.with_secret(secret.clone()) {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                format!("{}: {e}", keep.place()),
            ));
        }
        // The store decides between racing first handshakes, atomically.
        let which = if self.accept_new {
            Keep::Also
        } else {
            Keep::OnlyFirst
        };
        let (store, vendor, kept) = (self.store.clone(), self.vendor.id, secret.clone());
        match tokio::task::spawn_blocking(move || store.keep_secret(vendor, &kept, which)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Err(refused()),
            Ok(Err(e)) => return Err(fail(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
            Err(e) => return Err(fail(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
        }
        // Added to the verifier as it is now (another handshake may have
        // added one meanwhile), under the lock.
        let mut v = self
            .verifier
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match v.with_secret(secret) {
            Ok(next) => *v = std::sync::Arc::new(next),
            Err(e) => return Err(fail(StatusCode::BAD_REQUEST, e.to_string())),
        }
        tracing::info!(target: LOG, vendor = self.vendor.id, handshake = %handshake.name,
            shown_by = %format!("hookforge inbox secrets --vendor {} --reveal", self.vendor.id),
            "kept the secret the vendor gave");
        Ok(())
    }

    fn current(&self) -> std::sync::Arc<crate::auth::Verifier> {
        self.verifier
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Whether a POST could be one of the vendor's handshakes, without parsing
/// its body: every header condition holds, and every body value a condition
/// requires (`"equals": "url_verification"`) appears in the bytes. Only then
/// is the body parsed to look (an event then keeps its one parse).
pub(crate) fn may_be_handshake(vendor: &VendorSpec, headers: &HeaderMap, body: &[u8]) -> bool {
    use crate::manifest::handshake::HandshakeMethod;
    vendor
        .manifest()
        .handshakes
        .iter()
        .filter(|h| h.method == HandshakeMethod::Post)
        .any(|h| {
            h.when
                .iter()
                .all(|c| match (&c.header, &c.pointer, &c.equals) {
                    (Some(name), _, want) => header_holds(headers, name, want.as_ref()),
                    (None, Some(_), Some(Value::String(w))) => {
                        memchr::memmem::find(body, w.as_bytes()).is_some()
                    }
                    _ => true,
                })
        })
}

/// Whether the request is one of the vendor's POST handshakes told apart by
/// headers alone (Asana's `X-Hook-Secret`): its body is never read as a
/// delivery, so whatever content type it carries (Asana documents none) is
/// no reason to refuse it.
pub(crate) fn by_headers_alone(vendor: &VendorSpec, headers: &HeaderMap) -> bool {
    use crate::manifest::handshake::HandshakeMethod;
    vendor
        .manifest()
        .handshakes
        .iter()
        .filter(|h| h.method == HandshakeMethod::Post && !h.when.is_empty())
        .any(|h| {
            h.when.iter().all(|c| match &c.header {
                Some(name) => header_holds(headers, name, c.equals.as_ref()),
                None => false,
            })
        })
}

/// A header condition: the header is there, and equals `want` when given.
fn header_holds(headers: &HeaderMap, name: &str, want: Option<&Value>) -> bool {
    let got = headers.get(name).and_then(|v| v.to_str().ok());
    match (got, want) {
        (None, _) => false,
        (Some(g), Some(Value::String(w))) => g == w,
        (Some(_), _) => true,
    }
}

/// Whether the vendor has GET or HEAD handshakes (then the route takes
/// GET, and with it HEAD).
pub(crate) fn has_get(vendor: &VendorSpec) -> bool {
    use crate::manifest::handshake::HandshakeMethod;
    vendor
        .manifest()
        .handshakes
        .iter()
        .any(|h| matches!(h.method, HandshakeMethod::Get | HandshakeMethod::Head))
}

/// The handshake `req` is, if any.
pub(crate) fn matched<'m>(
    vendor: &'m VendorSpec,
    req: &HandshakeRequest<'_>,
    json: Option<&Value>,
) -> Option<&'m Handshake> {
    handshake::find(vendor.manifest(), req, json)
}

/// The answer to `h` (the caller has checked the signature when `h` is
/// `authenticated`).
pub(crate) fn respond(
    vendor: &'static VendorSpec,
    keys: &Keys,
    h: &Handshake,
    req: &HandshakeRequest<'_>,
    json: Option<&Value>,
) -> Response {
    let name = h.name.as_str();
    match handshake::answer(h, req, json, keys.secret.as_ref(), keys.token.as_ref()) {
        Ok(a) => {
            tracing::info!(target: LOG, vendor = vendor.id, handshake = name, status = a.status, "answered handshake");
            metrics::counter!("hookforge_handshakes_total", "vendor" => vendor.id, "handshake" => name.to_string(), "outcome" => "answered").increment(1);
            let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
            let mut r = (status, a.body).into_response();
            let hs = r.headers_mut();
            if let Ok(v) = a.content_type.parse() {
                hs.insert(header::CONTENT_TYPE, v);
            }
            for (k, v) in &a.headers {
                if let (Ok(k), Ok(v)) = (
                    k.parse::<axum::http::HeaderName>(),
                    v.parse::<axum::http::HeaderValue>(),
                ) {
                    hs.insert(k, v);
                }
            }
            r
        }
        Err(e) => refuse(vendor, name, &e),
    }
}

fn refuse(vendor: &'static VendorSpec, name: &str, e: &HandshakeError) -> Response {
    let status = match e {
        HandshakeError::WrongToken { .. } | HandshakeError::MissingToken { .. } => {
            StatusCode::FORBIDDEN
        }
        HandshakeError::Missing { .. } | HandshakeError::NotText { .. } => StatusCode::BAD_REQUEST,
        // Our configuration, not the request: the vendor may try again.
        HandshakeError::NoToken { .. } | HandshakeError::NoSecret { .. } => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    tracing::warn!(target: LOG, vendor = vendor.id, handshake = name, status = status.as_u16(), reason = %e, "refused handshake");
    metrics::counter!("hookforge_handshakes_total", "vendor" => vendor.id, "handshake" => name.to_string(), "outcome" => "refused").increment(1);
    (
        status,
        axum::Json(serde_json::json!({"error": e.to_string()})),
    )
        .into_response()
}

/// The methods of the vendor's handshakes without a body: `GET`, `HEAD`
/// (Trello's), or `GET and HEAD`.
pub(crate) fn get_methods(vendor: &VendorSpec) -> &'static str {
    use crate::manifest::handshake::HandshakeMethod;
    let uses = |m: HandshakeMethod| vendor.manifest().handshakes.iter().any(|h| h.method == m);
    match (uses(HandshakeMethod::Get), uses(HandshakeMethod::Head)) {
        (true, true) => "GET and HEAD",
        (false, true) => "HEAD",
        _ => "GET",
    }
}

/// A GET (or HEAD) that is none of the vendor's handshakes.
pub(crate) fn not_a_handshake(vendor: &'static VendorSpec) -> Response {
    use crate::manifest::handshake::HandshakeMethod;
    let names: Vec<String> = vendor
        .manifest()
        .handshakes
        .iter()
        .filter_map(|h| match h.method {
            HandshakeMethod::Get => Some(h.name.clone()),
            HandshakeMethod::Head => Some(format!("{}, by HEAD", h.name)),
            HandshakeMethod::Post => None,
        })
        .collect();
    let error = format!(
        "{} is for {}'s handshakes ({}); this request matches none",
        get_methods(vendor),
        vendor.name,
        names.join("; ")
    );
    tracing::warn!(target: LOG, vendor = vendor.id, status = 400, "GET that is not a handshake");
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({"error": error})),
    )
        .into_response()
}

/// The request as handshakes see it.
pub(crate) fn request<'a>(
    method: &'a Method,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
) -> HandshakeRequest<'a> {
    HandshakeRequest {
        method,
        query,
        headers,
        body,
    }
}

/// Visits the URL a handshake asks for (SNS's `SubscribeURL`), from an
/// allowed host only; the answer to send instead when that fails (503: the
/// vendor tries again; 400: a URL that may not be visited).
pub(crate) async fn visit(
    vendor: &'static VendorSpec,
    handshake: &Handshake,
    visit: &crate::manifest::handshake::Visit,
    json: Option<&Value>,
) -> Result<(), Response> {
    let fail = |status: StatusCode, why: String| {
        tracing::warn!(target: LOG, vendor = vendor.id, handshake = %handshake.name, status = status.as_u16(), reason = %crate::util::Shown(&why), "handshake visit failed");
        (status, axum::Json(serde_json::json!({"error": why}))).into_response()
    };
    let url = json
        .and_then(|j| j.pointer(&visit.pointer)?.as_str())
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                format!("no URL at `{}`", visit.pointer),
            )
        })?;
    crate::auth::remote::check_host(url, &visit.hosts).map_err(|why| {
        fail(
            StatusCode::BAD_REQUEST,
            format!("`{}` may not be visited: {why}", visit.pointer),
        )
    })?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    match client.get(url).send().await {
        Ok(r) if r.status().is_success() => {
            tracing::info!(target: LOG, vendor = vendor.id, handshake = %handshake.name, "visited the handshake's URL");
            Ok(())
        }
        Ok(r) => Err(fail(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the visit answered {}", r.status()),
        )),
        Err(e) => Err(fail(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the visit failed: {e}"),
        )),
    }
}
