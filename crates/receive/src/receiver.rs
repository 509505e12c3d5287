//! The axum receiver: one route per vendor that reads the raw body (with a
//! size limit), verifies it, parses it, deduplicates it and answers.
//!
//! | answer | when |
//! |---|---|
//! | 200 | accepted (stored, or handled in inline mode), a duplicate, or an unknown event type |
//! | 200 | also: authentic, but the body does not fit our typed model of its event: stored as `quarantined` (see [`OnMisfit`]) |
//! | 400 | the body is not JSON (a form vendor's: a field that is not UTF-8 once decoded); with [`OnMisfit::Reject`] also a body that does not fit the typed model (the error names the JSON path) |
//! | 401 | authentication failed (missing, malformed or wrong signature/secret, stale timestamp) |
//! | 408 | the body did not arrive within the body-read timeout |
//! | 413 | the body is larger than the limit |
//! | 415 | the content type is not JSON (or not the form a form vendor sends), the body is compressed (`Content-Encoding`), or its charset is not UTF-8 |
//! | 500 | (inline mode) the handler failed: the vendor retries |
//! | 503 + `Retry-After` | the inbox could not commit the delivery (full disk, store full or down): the vendor retries |
//!
//! A 2xx is sent only after the store reported a successful commit. Each
//! refusal is a [`Rejection`]; its `status()` is this table.
//!
//! By default deliveries go to the [`Inbox`]: stored durably, answered 200 at
//! once, handled by the inbox's worker, so a slow handler never makes the
//! vendor time out. Inline mode runs the handler before answering instead.

/// Log lines keep the target they had when this was `hookforge::receive::receiver`.
const LOG: &str = "hookforge::receive::receiver";

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde_json::json;
use tracing::Instrument;
use tracing::field::Empty;

use crate::auth::{AuthConfigError, Secret, Verifier};
use crate::inbox::Inbox;
use crate::manifest;
use crate::store::{Inserted, NewDelivery, Status, StoreError, now_ms};
use crate::{BoxFuture, HandlerResult, RawHandler, VendorSpec};

/// The reference handler of `hookforge serve`: logs each typed event.
pub struct LogHandler(pub &'static VendorSpec);

impl RawHandler for LogHandler {
    fn vendor(&self) -> &'static VendorSpec {
        self.0
    }
    fn handle<'a>(
        &'a self,
        body: &'a [u8],
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let p = self.0.check(body, headers)?;
            tracing::info!(target: LOG,
                vendor = self.0.id,
                event = %crate::util::Shown(&p.event_type),
                event_id = crate::util::cap(p.event_id.as_deref().unwrap_or("-")),
                known = p.known,
                stale = headers.get(crate::inbox::STALE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("-"),
                "handled event"
            );
            Ok(())
        })
    }
}

/// Default body limit: far above any documented payload, far below harm.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Default time allowed for the whole body to arrive once the headers did.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The event type recorded for a quarantined delivery whose type cannot be read.
pub const UNREADABLE_EVENT_TYPE: &str = "(unreadable)";

/// Seconds a vendor is asked to wait (`Retry-After`) when the inbox cannot store.
pub const STORE_RETRY_AFTER_SECS: u64 = 5;

/// What to do with an authentic delivery whose body is JSON with a readable
/// event type but does not fit the typed model of that event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnMisfit {
    /// Store it as `quarantined` with the parse error and answer 2xx: the
    /// data is the vendor's, the schema is ours. `hookforge inbox reparse`
    /// moves it on once the schema is fixed.
    #[default]
    Quarantine,
    /// Answer 400 with the parse error and store nothing, as before
    /// quarantine existed (the vendor retries the same bytes until it gives up).
    Reject,
}

impl std::str::FromStr for OnMisfit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "quarantine" => Ok(OnMisfit::Quarantine),
            "reject" => Ok(OnMisfit::Reject),
            _ => Err(format!("{s:?}: expected `quarantine` or `reject`")),
        }
    }
}

enum Mode {
    Inbox(Inbox),
    Inline(Arc<dyn RawHandler>, Inbox),
}

impl Mode {
    fn inbox(&self) -> &Inbox {
        match self {
            Mode::Inbox(i) | Mode::Inline(_, i) => i,
        }
    }
}

impl Inner {
    /// The verifier now (a handshake may have given a secret since).
    /// The keys to answer `h` with: for a signed one, the secret that
    /// signed it, of several during a rotation (Zoom checks the answer
    /// with its current secret and disables an endpoint that fails).
    fn handshake_keys_for(
        &self,
        h: &crate::manifest::Handshake,
        headers: &HeaderMap,
        body: &[u8],
        query: Option<&str>,
    ) -> crate::handshake::Keys {
        let verifier = self.verifier();
        let signing =
            (h.authenticated).then(|| verifier.secret_signing(headers, body, query).cloned());
        crate::handshake::Keys {
            secret: signing
                .flatten()
                .or_else(|| self.handshake_keys.secret.clone()),
            token: self.handshake_keys.token.clone(),
        }
    }

    fn verifier(&self) -> Arc<Verifier> {
        self.verifier
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Builds a [`Receiver`] for one vendor.
pub struct ReceiverBuilder {
    vendor: &'static VendorSpec,
    secrets: Vec<Secret>,
    verifier: Option<Verifier>,
    hmac_format: Option<crate::auth::HmacFormat>,
    endpoint: Option<String>,
    body_limit: usize,
    body_timeout: Duration,
    on_misfit: OnMisfit,
    allow_unsigned: bool,
    mode: Option<Mode>,
    handshake_token: Option<Secret>,
    key_hosts: Vec<String>,
    settings: crate::auth::Settings,
    accept_new_secrets: bool,
}

impl ReceiverBuilder {
    /// A value the vendor's signature covers that deliveries do not carry
    /// (`{setting:NAME}` in the manifest: PayPal's `webhook_id`).
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(name.into(), value.into());
        self
    }

    /// Also trusts `host` (`host` or `host:port`; loopback over http) for
    /// the keys deliveries point at, beside the manifest's allow-list: a
    /// local stand-in for the vendor's certificate host, in tests.
    pub fn key_host(mut self, host: impl Into<String>) -> Self {
        self.key_hosts.push(host.into());
        self
    }

    /// The token a handshake's `token_query` must equal (Meta's verify
    /// token, chosen when the endpoint is registered).
    pub fn handshake_token(mut self, token: impl Into<Secret>) -> Self {
        self.handshake_token = Some(token.into());
        self
    }

    /// For a vendor that gives its secret in a handshake (Asana's
    /// `X-Hook-Secret`): keep a secret from such a handshake even when the
    /// receiver already has one. Off by default: anyone can send that
    /// handshake, so only the first secret (none configured, none kept) is
    /// taken; turn this on while a further webhook is being created.
    pub fn accept_new_secrets(mut self, yes: bool) -> Self {
        self.accept_new_secrets = yes;
        self
    }

    /// Serve a vendor that documents no authentication without a shared
    /// secret: anyone who knows the URL can post. Without this (or a
    /// secret), `build` refuses such a vendor.
    pub fn allow_unsigned(mut self) -> Self {
        self.allow_unsigned = true;
        self
    }

    /// An active secret (repeat for rotation).
    pub fn secret(mut self, s: impl Into<Secret>) -> Self {
        self.secrets.push(s.into());
        self
    }

    /// A verifier configured by hand (e.g. Socotra's undocumented algorithm).
    pub fn verifier(mut self, v: Verifier) -> Self {
        self.verifier = Some(v);
        self
    }

    /// Verifies HMAC signatures in this format instead of the manifest's.
    pub fn hmac_format(mut self, f: crate::auth::HmacFormat) -> Self {
        self.hmac_format = Some(f);
        self
    }

    /// The URL the vendor posts to, as registered with it, for signatures
    /// that cover it (`{url}`). Behind a proxy, the public URL.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Time allowed for the body to arrive (408 after it).
    pub fn body_timeout(mut self, t: Duration) -> Self {
        self.body_timeout = t;
        self
    }

    /// What to do with authentic deliveries that misfit the model (default: quarantine).
    pub fn on_misfit(mut self, m: OnMisfit) -> Self {
        self.on_misfit = m;
        self
    }

    /// Store deliveries in `inbox` and answer at once (the default mode);
    /// the inbox's worker runs the handler registered with it.
    pub fn inbox(mut self, inbox: Inbox) -> Self {
        self.mode = Some(Mode::Inbox(inbox));
        self
    }

    /// Run `handler` before answering; its failure answers 500. `inbox`
    /// only deduplicates (use a `MemoryStore` for in-memory dedupe).
    pub fn inline(mut self, handler: impl RawHandler, inbox: Inbox) -> Self {
        self.mode = Some(Mode::Inline(Arc::new(handler), inbox));
        self
    }

    pub fn build(self) -> Result<Receiver, AuthConfigError> {
        let handshake_keys = crate::handshake::Keys {
            secret: self.secrets.first().cloned(),
            token: self.handshake_token,
        };
        let verifier = match self.verifier {
            Some(_) if !self.secrets.is_empty() => {
                return Err(AuthConfigError(
                    "both a verifier and secrets were given: the verifier carries its own secrets; pass one or the other".into(),
                ));
            }
            Some(v) => v,
            None => Verifier::for_manifest_at(
                &with_key_hosts(self.vendor.manifest(), &self.key_hosts),
                self.secrets,
                self.hmac_format,
                self.endpoint.as_deref(),
            )?,
        };
        let verifier = self.settings.iter().fold(verifier, |v, (k, val)| {
            v.with_setting(k.clone(), val.clone())
        });
        if let Some(missing) = verifier.missing_settings().first() {
            return Err(AuthConfigError(format!(
                "{}'s signature covers the setting `{missing}`, which deliveries do not carry: give it (`serve --setting {}.{missing}=VALUE`)",
                self.vendor.id, self.vendor.id
            )));
        }
        if matches!(verifier.scheme(), crate::auth::Scheme::None) && !self.allow_unsigned {
            return Err(AuthConfigError(format!(
                "{} documents no authentication: give a shared secret (sent in the {} header) or call allow_unsigned()",
                self.vendor.id,
                crate::auth::DEFAULT_SHARED_SECRET_HEADER
            )));
        }
        let mode = self.mode.ok_or_else(|| {
            AuthConfigError("a receiver needs an inbox (or inline handler)".into())
        })?;
        let verifier = with_kept_secrets(self.vendor, verifier, mode.inbox())?;
        // A vendor whose deliveries point at their key: fetched, then cached.
        let fetches = match verifier.scheme() {
            crate::auth::Scheme::Jwt(j) => j.jwks_url().is_some(),
            s => s.signature().is_some_and(|s| s.key_url().is_some()),
        };
        let (verifier, key_cache) = if fetches {
            let cache = crate::fetched_keys::KeyCache::new().map_err(|e| {
                AuthConfigError(format!(
                    "cannot build the HTTP client that fetches keys: {e}"
                ))
            })?;
            let cache = Arc::new(cache);
            (verifier.with_remote_keys(cache.clone()), Some(cache))
        } else {
            (verifier, None)
        };
        Ok(Receiver {
            inner: Arc::new(Inner {
                vendor: self.vendor,
                verifier: std::sync::RwLock::new(Arc::new(verifier)),
                accept_new_secrets: self.accept_new_secrets,
                body_limit: self.body_limit,
                body_timeout: self.body_timeout,
                on_misfit: self.on_misfit,
                mode,
                kept: kept_header_names(self.vendor),
                handshake_keys,
                key_cache,
            }),
        })
    }
}

/// `verifier` with the secrets kept from the vendor's handshakes (Asana's
/// `X-Hook-Secret`), read from the inbox's store.
fn with_kept_secrets(
    vendor: &'static VendorSpec,
    verifier: Verifier,
    inbox: &Inbox,
) -> Result<Verifier, AuthConfigError> {
    if !vendor.manifest().keeps_secret() {
        return Ok(verifier);
    }
    let kept = inbox.store().kept_secrets(vendor.id).map_err(|e| {
        AuthConfigError(format!(
            "cannot read the secrets kept for {}: {e}",
            vendor.id
        ))
    })?;
    kept.into_iter().try_fold(verifier, |v, s| v.with_secret(s))
}

/// The manifest with `hosts` added to the allow-list of its key URL.
fn with_key_hosts<'a>(
    m: &'a manifest::Manifest,
    hosts: &[String],
) -> std::borrow::Cow<'a, manifest::Manifest> {
    use crate::manifest::Auth;
    match &m.auth {
        Auth::Signature(s) if s.key_url.is_some() && !hosts.is_empty() => {
            let mut m = m.clone();
            if let Auth::Signature(s) = &mut m.auth
                && let Some(k) = &mut s.key_url
            {
                k.hosts.extend(hosts.iter().cloned());
            }
            std::borrow::Cow::Owned(m)
        }
        _ => std::borrow::Cow::Borrowed(m),
    }
}

struct Inner {
    vendor: &'static VendorSpec,
    /// Replaced (never changed in place) when a handshake gives a secret.
    verifier: std::sync::RwLock<Arc<Verifier>>,
    accept_new_secrets: bool,
    body_limit: usize,
    body_timeout: Duration,
    on_misfit: OnMisfit,
    mode: Mode,
    /// The headers kept with each delivery (see [`kept_header_names`]).
    kept: Vec<axum::http::HeaderName>,
    handshake_keys: crate::handshake::Keys,
    /// Keys deliveries point at, fetched before verifying.
    key_cache: Option<Arc<crate::fetched_keys::KeyCache>>,
}

/// One vendor's webhook endpoint.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("vendor", &self.inner.vendor.id)
            .field("verifier", &self.inner.verifier())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    pub fn builder(vendor: &'static VendorSpec) -> ReceiverBuilder {
        ReceiverBuilder {
            vendor,
            secrets: Vec::new(),
            verifier: None,
            hmac_format: None,
            endpoint: None,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            on_misfit: OnMisfit::default(),
            allow_unsigned: false,
            mode: None,
            handshake_token: None,
            key_hosts: Vec::new(),
            settings: Default::default(),
            accept_new_secrets: false,
        }
    }

    pub fn vendor(&self) -> &'static VendorSpec {
        self.inner.vendor
    }

    /// The POST handler (and GET, for a vendor with GET handshakes), to
    /// mount wherever you like.
    pub fn method_router(&self) -> MethodRouter {
        let mut r = post(receive);
        let gets = crate::handshake::has_get(self.inner.vendor);
        if gets {
            r = r.get(receive_get);
        }
        // axum's own 405 has no body: say what this endpoint takes.
        let vendor = self.inner.vendor.name;
        let (allow, takes) = if gets {
            let methods = crate::handshake::get_methods(self.inner.vendor);
            (
                "GET, HEAD, POST",
                format!("deliveries as POST, handshakes as {methods}"),
            )
        } else {
            ("POST", "deliveries as POST".to_string())
        };
        r = r.fallback(move |method: Method| async move {
            let error = format!("{method} is not accepted here: {vendor} sends {takes}");
            let mut r = answer(StatusCode::METHOD_NOT_ALLOWED, json!({ "error": error }));
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static(allow));
            r
        });
        r.with_state(self.inner.clone())
    }

    /// A router with the endpoint at `/hooks/<vendor id>`.
    pub fn router(&self) -> Router {
        Router::new().route(
            &format!("/hooks/{}", self.inner.vendor.id),
            self.method_router(),
        )
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Why a delivery was refused. [`Rejection::status`] is the status table of
/// the module documentation; every message says what was expected and never
/// contains a secret or the body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// 415: no `Content-Type`, or one that is not JSON.
    #[error("{}", match .0 {
        Some(ct) => format!("content type {ct:?} is not JSON: expected application/json"),
        None => "missing or unreadable Content-Type: expected application/json".into(),
    })]
    NotJson(Option<String>),
    /// 415: a form vendor's delivery without the form content type.
    #[error("{}", match .0 {
        Some(ct) => format!("content type {ct:?} is not a form: expected application/x-www-form-urlencoded"),
        None => "missing or unreadable Content-Type: expected application/x-www-form-urlencoded".into(),
    })]
    NotForm(Option<String>),
    /// 415: a `Content-Encoding` other than `identity` (the body would be
    /// read, verified and stored as the compressed bytes).
    /// (`transfer`: named in `Transfer-Encoding`, beside `chunked`.)
    #[error("{} {value:?} is not accepted: expected the body unencoded (identity)", if *.transfer { "transfer encoding" } else { "content encoding" })]
    Encoded { value: String, transfer: bool },
    /// 415: a `charset` other than UTF-8 (JSON is UTF-8, RFC 8259; the
    /// body would be read as UTF-8 all the same).
    #[error("charset {0:?} is not accepted: expected utf-8")]
    NotUtf8Charset(String),
    /// 413: larger than the body limit (declared, or found while reading).
    #[error("{}", match .declared {
        Some(n) => format!("body of {n} bytes exceeds the {limit}-byte limit"),
        None => format!("body exceeds the {limit}-byte limit"),
    })]
    TooLarge { declared: Option<u64>, limit: usize },
    /// 408: the body did not arrive in time.
    #[error("the body did not arrive within {:.1} s", .0.as_secs_f64())]
    BodyTimeout(Duration),
    /// 400: the connection failed while the body was read.
    #[error("cannot read the body: {0}")]
    BodyUnreadable(String),
    /// 401: authentication failed.
    #[error("authentication failed: {0}")]
    Unauthenticated(#[from] crate::auth::AuthError),
    /// 400: not a delivery at all (not JSON, empty, not UTF-8).
    #[error("{0}")]
    NotADelivery(crate::ParseError),
    /// 400, only with [`OnMisfit::Reject`]: authentic, but misfits the model.
    #[error("{0}")]
    Misfit(crate::ParseError),
    /// 503 + `Retry-After`: not stored, so the vendor must retry.
    #[error("cannot store the delivery: {0}")]
    StoreFailed(#[from] StoreError),
    /// 500 (inline mode): the handler failed; the vendor retries.
    #[error("the handler failed: {0}")]
    HandlerFailed(String),
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::NotJson(_)
            | Rejection::NotForm(_)
            | Rejection::Encoded { .. }
            | Rejection::NotUtf8Charset(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Rejection::BodyUnreadable(_) | Rejection::NotADelivery(_) | Rejection::Misfit(_) => {
                StatusCode::BAD_REQUEST
            }
            // The key could not be fetched: not the sender's fault; retry.
            Rejection::Unauthenticated(crate::auth::AuthError::KeyUnavailable { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Rejection::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Rejection::StoreFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::HandlerFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable name for metrics (`rejected` deliveries by reason).
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::NotJson(_) => "not_json",
            Rejection::NotForm(_) => "not_form",
            Rejection::Encoded { .. } => "content_encoding",
            Rejection::NotUtf8Charset(_) => "charset",
            Rejection::TooLarge { .. } => "too_large",
            Rejection::BodyTimeout(_) => "body_timeout",
            Rejection::BodyUnreadable(_) => "body_unreadable",
            Rejection::Unauthenticated(_) => "unauthenticated",
            Rejection::NotADelivery(_) => "not_a_delivery",
            Rejection::Misfit(_) => "misfit",
            Rejection::StoreFailed(_) => "store_failed",
            Rejection::HandlerFailed(_) => "handler_failed",
        }
    }

    /// Logs the refusal, counts it, and answers it.
    fn respond(self, vendor: &'static str) -> Response {
        let status = self.status();
        let reason = self.to_string();
        metrics::counter!("hookforge_deliveries_total", "vendor" => vendor, "event" => "-", "outcome" => "rejected", "reason" => self.kind()).increment(1);
        if let Rejection::Unauthenticated(_) = self {
            metrics::counter!("hookforge_verification_failures_total", "vendor" => vendor)
                .increment(1);
        }
        if let Rejection::StoreFailed(_) = self {
            tracing::error!(target: LOG, vendor, status = status.as_u16(), reason = %crate::util::Shown(&reason.to_string()), "rejected delivery");
        } else {
            tracing::warn!(target: LOG, vendor, status = status.as_u16(), reason = %crate::util::Shown(&reason.to_string()), "rejected delivery");
        }
        let mut r = answer(status, json!({"error": reason}));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Not stored (or not verifiable yet): the vendor must not hear
            // "success"; it will send the same bytes again.
            r.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(STORE_RETRY_AFTER_SECS),
            );
        }
        r
    }
}

/// Refuses a body sent compressed or in a charset other than UTF-8: read as
/// UTF-8 JSON it would be refused as unreadable, or worse, stored garbled.
fn check_encoding(headers: &HeaderMap) -> Result<(), Rejection> {
    let shown = |v: &header::HeaderValue| String::from_utf8_lossy(v.as_bytes()).trim().to_string();
    // A transfer coding other than chunked (`gzip, chunked`) reaches the
    // body as it was sent: compressed, like a content coding.
    let codings = (headers.get_all(header::CONTENT_ENCODING).iter())
        .map(|c| (c, false))
        .chain(
            headers
                .get_all(header::TRANSFER_ENCODING)
                .iter()
                .map(|c| (c, true)),
        );
    for (coding, transfer) in codings {
        let text = shown(coding);
        let plain = text.split(',').map(str::trim).all(|c| {
            c.is_empty() || c.eq_ignore_ascii_case("identity") || c.eq_ignore_ascii_case("chunked")
        });
        if !plain {
            return Err(Rejection::Encoded {
                value: text,
                transfer,
            });
        }
    }
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    for param in ct.split(';').skip(1) {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        let utf8 = ["utf-8", "utf8", "us-ascii"]
            .iter()
            .any(|ok| value.eq_ignore_ascii_case(ok));
        if name.trim().eq_ignore_ascii_case("charset") && !utf8 {
            return Err(Rejection::NotUtf8Charset(value.to_string()));
        }
    }
    Ok(())
}

fn is_form(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let (kind, sub) = essence.split_once('/').unwrap_or((essence, ""));
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json") || ends_with_json(sub))
}

/// Compares bytes, so no slice can split a character.
fn ends_with_json(sub: &str) -> bool {
    let b = sub.as_bytes();
    b.len() >= 5 && b[b.len() - 5..].eq_ignore_ascii_case(b"+json")
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The delivery's trace: the handler attempts continue it (crate::trace).
    let span = tracing::info_span!(target: crate::trace::TARGET, "delivery",
        otel.kind = "server", vendor = inner.vendor.id, event = Empty, event_id = Empty,
        delivery = Empty, outcome = Empty, http.response.status_code = Empty);
    let answer = async {
        match accept(&inner, query.as_deref(), &headers, body).await {
            Ok(r) => r,
            Err(rejection) => {
                tracing::Span::current().record("outcome", rejection.kind());
                rejection.respond(inner.vendor.id)
            }
        }
    }
    .instrument(span.clone())
    .await;
    span.record("http.response.status_code", answer.status().as_u16());
    answer
}

/// A GET (or HEAD): one of the vendor's GET (HEAD) handshakes, or refused.
async fn receive_get(
    State(inner): State<Arc<Inner>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let req = crate::handshake::request(&method, query.as_deref(), &headers, b"");
    let Some(h) = crate::handshake::matched(inner.vendor, &req, None) else {
        return crate::handshake::not_a_handshake(inner.vendor);
    };
    // A signed GET handshake carries the vendor's signature over no body.
    if h.authenticated
        && let Err(e) = inner.verifier().verify(&headers, b"")
    {
        return Rejection::Unauthenticated(e).respond(inner.vendor.id);
    }
    // Verified as above: over no body, the query aside.
    let keys = inner.handshake_keys_for(h, &headers, b"", None);
    crate::handshake::respond(inner.vendor, &keys, h, &req, None)
}

/// The body, if its content type, size and arrival time are acceptable.
async fn read_body(inner: &Inner, headers: &HeaderMap, body: Body) -> Result<Bytes, Rejection> {
    let format = &inner.vendor.manifest().body;
    let form = format.is_form();
    let essence = |ct: &str| ct.split(';').next().unwrap_or_default().trim().to_string();
    match headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) {
        _ if crate::handshake::by_headers_alone(inner.vendor, headers) => {}
        Some(Ok(ct)) if !form && (is_json(ct) || format.also_accepts(&essence(ct))) => {}
        Some(Ok(ct)) if form && is_form(ct) => {}
        Some(Ok(ct)) if form => return Err(Rejection::NotForm(Some(ct.to_string()))),
        Some(Ok(ct)) => return Err(Rejection::NotJson(Some(ct.to_string()))),
        _ if form => return Err(Rejection::NotForm(None)),
        _ => return Err(Rejection::NotJson(None)),
    }
    check_encoding(headers)?;
    let limit = inner.body_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Rejection::TooLarge { declared, limit });
    }
    let mut read = std::pin::pin!(axum::body::to_bytes(body, limit));
    // A body that came with the headers is read at the first poll: no timer
    // to arm and cancel then. Otherwise the timeout starts now.
    let first = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    let read = match first {
        Poll::Ready(r) => Ok(r),
        Poll::Pending => tokio::time::timeout(inner.body_timeout, read).await,
    };
    match read {
        Ok(Ok(b)) => Ok(b),
        Err(_) => Err(Rejection::BodyTimeout(inner.body_timeout)),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            Err(if too_large {
                Rejection::TooLarge {
                    declared: None,
                    limit,
                }
            } else {
                Rejection::BodyUnreadable(e.to_string())
            })
        }
    }
}

/// What the delivery is, and why it misfits our model if it does. A body
/// that is not a delivery at all (not JSON, no event type) is refused; an
/// authentic one that is merely not what our model expects is kept
/// (quarantined), because the vendor would only retry the same bytes and
/// then give up.
fn classify(
    inner: &Inner,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(crate::Checked, Option<String>), Rejection> {
    match inner.vendor.check(body, headers) {
        Ok(p) => Ok((p, None)),
        // Not JSON, whatever else the vendor's headers say: refused, the
        // same for every vendor shape. A misfit found before the syntax
        // error (no type header) is reported as the syntax error it also is.
        Err(e) if !crate::parse::rfc8259::is_json(body) => {
            let e = if e.is_misfit() {
                not_json(body).unwrap_or(e)
            } else {
                e
            };
            Err(Rejection::NotADelivery(e))
        }
        // JSON by RFC 8259 that our parser cannot hold (a lone surrogate,
        // 1e400, deep nesting, a BOM) is as much the vendor's data as a
        // misfit, and kept the same way.
        Err(e) => {
            if inner.on_misfit == OnMisfit::Reject {
                return Err(Rejection::Misfit(e));
            }
            // The envelope may be what misfits: then the type is unknown and
            // the id, if it can be read on its own, else the body's hash,
            // deduplicates.
            let checked = match inner.vendor.read_envelope(body, headers) {
                Ok(env) => crate::Checked {
                    known: inner.vendor.event(&env.event_type).is_some(),
                    event_type: env.event_type,
                    event_id: env.event_id,
                },
                Err(_) => crate::Checked {
                    known: false,
                    event_type: UNREADABLE_EVENT_TYPE.into(),
                    event_id: inner.vendor.envelope_reader().read_id(body, headers),
                },
            };
            let why = if e.is_misfit() {
                e.to_string()
            } else {
                format!("JSON that hookforge's parser cannot hold: {e}")
            };
            Ok((checked, Some(why)))
        }
    }
}

/// The syntax error of a body that is not JSON, as serde_json words it.
fn not_json(body: &[u8]) -> Option<crate::ParseError> {
    let err = serde_json::from_slice::<serde::de::IgnoredAny>(body).err()?;
    Some(crate::ParseError::Syntax {
        message: err.to_string(),
    })
}

/// Verifies the delivery (`wire`: its bytes as received; `body`: as JSON),
/// or answers it when it is one of the vendor's handshakes: those the
/// vendor does not sign before the signature is checked, the others after;
/// neither is stored.
async fn verify_or_answer(
    inner: &Inner,
    query: Option<&str>,
    headers: &HeaderMap,
    wire: &[u8],
    body: &[u8],
) -> Result<Option<Response>, Rejection> {
    if !crate::handshake::may_be_handshake(inner.vendor, headers, body) {
        inner.verifier().verify_request(headers, wire, query)?;
        return Ok(None);
    }
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let req = crate::handshake::request(&Method::POST, query, headers, wire);
    let matched = crate::handshake::matched(inner.vendor, &req, json.as_ref());
    if matched.is_none_or(|h| h.authenticated) {
        inner.verifier().verify_request(headers, wire, query)?;
    }
    let Some(h) = matched else {
        return Ok(None);
    };
    if let Some(keep) = &h.keep {
        let keeper = crate::handshake::Keeper {
            vendor: inner.vendor,
            store: inner.mode.inbox().store(),
            verifier: &inner.verifier,
            accept_new: inner.accept_new_secrets,
        };
        if let Err(answer) = keeper.keep(h, keep, headers, json.as_ref()).await {
            return Ok(Some(answer));
        }
    }
    if let Some(visit) = &h.visit
        && let Err(answer) = crate::handshake::visit(inner.vendor, h, visit, json.as_ref()).await
    {
        return Ok(Some(answer));
    }
    let keys = inner.handshake_keys_for(h, headers, wire, query);
    Ok(Some(crate::handshake::respond(
        inner.vendor,
        &keys,
        h,
        &req,
        json.as_ref(),
    )))
}

/// Reads, verifies, classifies and stores a delivery, then answers: 2xx
/// only after the store reported a commit.
async fn accept(
    inner: &Inner,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Rejection> {
    let vendor = inner.vendor.id;
    let wire = read_body(inner, headers, body).await?;
    fetch_key(inner, headers, &wire).await?;
    // A form is checked as received, then read as the JSON of its fields.
    let format = &inner.vendor.manifest().body;
    let body = if format.is_form() {
        Bytes::from(crate::form::json_body(format, &wire).into_owned())
    } else {
        wire.clone()
    };
    let verified = verify_or_answer(inner, query, headers, &wire, &body)
        .instrument(tracing::info_span!(target: crate::trace::TARGET, "verify"))
        .await?;
    if let Some(answer) = verified {
        tracing::Span::current().record("outcome", "handshake");
        return Ok(answer);
    }
    if let Some(field) = format
        .is_form()
        .then(|| crate::form::non_utf8_field(&wire))
        .flatten()
    {
        return Err(Rejection::NotADelivery(crate::ParseError::FormNotUtf8 {
            field,
        }));
    }
    let (parsed, misfit) = classify(inner, headers, &body)?;
    let quarantined = misfit.is_some();
    let trace = tracing::Span::current();
    trace.record("event", crate::util::cap(&parsed.event_type));
    trace.record(
        "event_id",
        crate::util::cap(parsed.event_id.as_deref().unwrap_or("-")),
    );
    let delivery = new_delivery(inner, headers, &parsed, misfit.clone(), &body);
    // Unknown event types share one label: the label set stays bounded.
    let event_label = if parsed.known {
        parsed.event_type.clone()
    } else {
        "unknown".to_string()
    };
    let ok = |status: &'static str| {
        tracing::Span::current().record("outcome", status);
        metrics::counter!("hookforge_deliveries_total", "vendor" => vendor, "event" => event_label.clone(), "outcome" => status, "reason" => "").increment(1);
        // Keys in the order `json!` gave them; no JSON tree per answer.
        #[derive(serde::Serialize)]
        struct Answer<'a> {
            event: &'a str,
            known: bool,
            status: &'a str,
            vendor: &'a str,
        }
        let a = Answer {
            // Echoed back capped: a 500 KB type is not worth sending back.
            event: crate::util::cap(&parsed.event_type),
            known: parsed.known,
            status,
            vendor,
        };
        (StatusCode::OK, axum::Json(a)).into_response()
    };
    let inserted = inner
        .mode
        .inbox()
        .accept(delivery)
        .instrument(tracing::info_span!(target: crate::trace::TARGET, "store"))
        .await?;
    match inserted {
        Inserted::New(id) | Inserted::Duplicate(id, _) => trace.record("delivery", id),
    };
    if let Some(error) = &misfit
        && let Inserted::New(id) = inserted
    {
        tracing::warn!(target: LOG, vendor, event = %crate::util::Shown(&parsed.event_type), event_id = crate::util::cap(parsed.event_id.as_deref().unwrap_or("-")), delivery = id, error = %crate::util::Shown(error), "quarantined delivery: authentic, but it does not fit the model");
    }
    Ok(match (&inner.mode, inserted) {
        (_, Inserted::New(_)) if quarantined => ok("quarantined"),
        (Mode::Inbox(_), Inserted::New(id)) => {
            tracing::info!(target: LOG, vendor, event = %crate::util::Shown(&parsed.event_type), event_id = crate::util::cap(parsed.event_id.as_deref().unwrap_or("-")), delivery = id, known = parsed.known, "accepted delivery");
            ok("accepted")
        }
        (Mode::Inbox(_), Inserted::Duplicate(id, _))
        | (Mode::Inline(..), Inserted::Duplicate(id, Status::Done | Status::Quarantined)) => {
            warn_if_body_differs(inner, id, &body, &parsed).await;
            tracing::info!(target: LOG, vendor, event = %crate::util::Shown(&parsed.event_type), event_id = crate::util::cap(parsed.event_id.as_deref().unwrap_or("-")), delivery = id, "duplicate delivery acknowledged");
            ok("duplicate")
        }
        (Mode::Inline(handler, inbox), Inserted::Duplicate(id, _) | Inserted::New(id)) => {
            handle_inline(vendor, handler.as_ref(), inbox, id, &body, headers).await?;
            tracing::info!(target: LOG, vendor, event = %crate::util::Shown(&parsed.event_type), event_id = crate::util::cap(parsed.event_id.as_deref().unwrap_or("-")), "handled delivery");
            ok("handled")
        }
    })
}

/// A repeated event id with another body or event type: the first stays and
/// this one is acknowledged unstored, which an operator should see (Coinbase changes
/// `attempt_number` on every retry; a vendor that reuses ids loses events).
/// A delivery keyed by its body's hash has the same bytes by definition.
async fn warn_if_body_differs(inner: &Inner, id: i64, body: &Bytes, parsed: &crate::Checked) {
    let Some(event_id) = parsed.event_id.as_deref() else {
        return;
    };
    let Ok(Some(first)) = inner.mode.inbox().blocking(move |s| s.get(id)).await else {
        return;
    };
    // A type read from a header (GitHub's `X-GitHub-Event`) changes with no
    // byte of the body changing.
    if first.event_type != parsed.event_type {
        tracing::warn!(target: LOG, vendor = inner.vendor.id, event_id = crate::util::cap(event_id), delivery = id, stored = %crate::util::Shown(&first.event_type), new = %crate::util::Shown(&parsed.event_type), "duplicate event id with a different event type: the first delivery is kept, this one is acknowledged and not stored");
    }
    let per_attempt = inner.vendor.manifest().per_attempt();
    if first.body != body.as_ref() && !same_but_for(&first.body, body, per_attempt) {
        tracing::warn!(target: LOG, vendor = inner.vendor.id, event_id = crate::util::cap(event_id), delivery = id, stored_bytes = first.body.len(), new_bytes = body.len(), "duplicate event id with a different body: the first delivery is kept, this one is acknowledged and not stored");
    }
}

/// Whether two bodies are the same JSON once the fields the vendor changes
/// on every attempt are taken out.
fn same_but_for(a: &[u8], b: &[u8], per_attempt: &[String]) -> bool {
    if per_attempt.is_empty() {
        return false;
    }
    let without = |bytes: &[u8]| {
        let mut doc: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        hookforge_core::util::remove_all(&mut doc, per_attempt);
        Some(doc)
    };
    matches!((without(a), without(b)), (Some(x), Some(y)) if x == y)
}

/// The delivery to store: its bytes as JSON, the headers kept (with the
/// trace context), its key and its place in its entity's order.
fn new_delivery(
    inner: &Inner,
    headers: &HeaderMap,
    parsed: &crate::Checked,
    misfit: Option<String>,
    body: &Bytes,
) -> NewDelivery {
    let mut kept = kept_headers(inner, headers);
    if let Some(tp) = crate::trace::current_traceparent() {
        kept.push((crate::trace::TRACEPARENT.to_string(), tp));
    }
    NewDelivery {
        vendor: inner.vendor.id.to_string(),
        event_type: parsed.event_type.clone(),
        event_id: parsed.event_id.clone(),
        dedupe_key: hookforge_core::util::vendor_dedupe_key(
            inner.vendor.manifest(),
            parsed.event_id.as_deref(),
            body,
        ),
        body: body.to_vec(),
        headers: kept,
        received_at_ms: now_ms(),
        misfit,
        order: hookforge_core::parse::OrderPlace::read(inner.vendor.manifest(), body, headers),
    }
}

/// Inline mode: runs the handler on stored delivery `id` before answering.
/// One handler at a time per delivery: a copy that arrives while the first
/// is still being handled is told to come back (503), not handled a second
/// time at once.
async fn handle_inline(
    vendor: &'static str,
    handler: &dyn RawHandler,
    inbox: &Inbox,
    id: i64,
    body: &[u8],
    headers: &HeaderMap,
) -> Result<(), Rejection> {
    let Some(attempt) = inbox.blocking(move |s| s.start(id)).await? else {
        return Err(Rejection::StoreFailed(StoreError::Busy { id }));
    };
    match handler.handle(body, headers).await {
        Ok(()) => {
            let recorded = inbox.blocking(move |s| s.complete(attempt, now_ms())).await;
            if !matches!(recorded, Ok(true)) {
                // Handled; only the bookkeeping failed, so a retry by the
                // vendor would run the handler once more.
                if recorded.is_err() {
                    crate::inbox::store_failed("record");
                }
                tracing::error!(target: LOG, vendor, delivery = id, "handled, but cannot record it as done");
            }
            Ok(())
        }
        Err(e) => {
            let msg = e.to_string();
            let _ = inbox
                .blocking(move |s| s.fail(attempt, &msg, Some(now_ms())))
                .await;
            Err(Rejection::HandlerFailed(e.to_string()))
        }
    }
}

/// Fetches the key a delivery points at (from an allowed host only), so
/// the verifier can use it; a key that cannot be fetched is the vendor's to
/// retry (503), a URL that is not allowed is refused (401).
async fn fetch_key(inner: &Inner, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejection> {
    let Some(cache) = &inner.key_cache else {
        return Ok(());
    };
    // Nothing is fetched for a delivery without a signature: it is refused
    // (401) by the check that follows, and no stranger makes us call out.
    let verifier = inner.verifier();
    if !verifier.carries_proof(headers, body) {
        return Ok(());
    }
    let Some(url) = verifier.key_url(headers, body)? else {
        return Ok(());
    };
    cache.ensure(&url).await.map_err(|why| {
        tracing::warn!(target: LOG, vendor = inner.vendor.id, url = %crate::util::Shown(&url), reason = %crate::util::Shown(&why), "cannot fetch the vendor's key");
        Rejection::Unauthenticated(crate::auth::AuthError::KeyUnavailable { url })
    })
}

/// The headers worth keeping with a stored delivery: what the vendor
/// documents sending, minus anything used for authentication. Worked out
/// once per receiver.
fn kept_header_names(vendor: &VendorSpec) -> Vec<axum::http::HeaderName> {
    let m = vendor.manifest();
    let auth_header = match &m.auth {
        crate::manifest::Auth::Bearer { header, .. }
        | crate::manifest::Auth::Hmac { header, .. } => Some(header.to_ascii_lowercase()),
        // A `{secret}` format carries the secret itself: never stored.
        crate::manifest::Auth::Signature(s) => Some(s.header.to_ascii_lowercase()),
        // A token is a credential too.
        crate::manifest::Auth::Jwt(j) => Some(j.header.to_ascii_lowercase()),
        _ => None,
    };
    let mut out = Vec::new();
    // The headers the type and id are read from, listed or not: without
    // them the worker cannot tell what a stored delivery is.
    let listed = m.headers.iter().map(|spec| spec.name.as_str());
    // `hookforge check`'s mark: its deliveries are told from the vendor's.
    let check = std::iter::once(hookforge_core::CHECK_HEADER);
    for name in m.headers_read().chain(listed).chain(check) {
        let name = name.to_ascii_lowercase();
        if Some(&name) == auth_header.as_ref()
            || name == "authorization"
            || name == "webhook-signature"
            || name == crate::auth::DEFAULT_SHARED_SECRET_HEADER
        {
            continue;
        }
        if let Ok(h) = axum::http::HeaderName::from_bytes(name.as_bytes())
            && !out.contains(&h)
        {
            out.push(h);
        }
    }
    out
}

fn kept_headers(inner: &Inner, headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in &inner.kept {
        for v in headers.get_all(name) {
            out.push((name.as_str().to_string(), header_text(v)));
        }
    }
    out
}

/// A header's value as stored: its text when it is UTF-8 (HTTP allows
/// more), else its bytes with the others escaped (`\xff`). Dropped, the
/// value would be lost from the delivery's record.
fn header_text(value: &header::HeaderValue) -> String {
    match std::str::from_utf8(value.as_bytes()) {
        Ok(text) => text.to_string(),
        Err(_) => value.as_bytes().escape_ascii().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{HeaderMap, Rejection, check_encoding, header, header_text, is_json, same_but_for};

    /// Coinbase Commerce's retries differ in `attempt_number` alone: not a
    /// changed body. Any other difference is one, and with no per-attempt
    /// fields every difference is.
    #[test]
    fn per_attempt_fields_do_not_make_a_changed_body() {
        let coinbase = ["/attempt_number".to_string()];
        let first = br#"{"attempt_number":1,"event":{"id":"e1","data":{"code":"A"}}}"#;
        let retry = br#"{"event":{"id":"e1","data":{"code":"A"}},"attempt_number":2}"#;
        let changed = br#"{"attempt_number":2,"event":{"id":"e1","data":{"code":"B"}}}"#;
        assert!(same_but_for(first, retry, &coinbase));
        assert!(!same_but_for(first, changed, &coinbase));
        assert!(!same_but_for(first, retry, &[]));
    }

    #[test]
    fn encodings_and_charsets() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(*k, v.parse().unwrap());
            }
            h
        };
        for ok in [
            &[("content-type", "application/json")][..],
            &[("content-type", "application/json; charset=UTF-8")],
            &[("content-type", "application/json;charset=\"utf-8\"")],
            &[("content-type", "application/json; charset=us-ascii")],
            &[
                ("content-encoding", "identity"),
                ("content-type", "application/json"),
            ],
        ] {
            assert!(check_encoding(&headers(ok)).is_ok(), "{ok:?}");
        }
        let refused = check_encoding(&headers(&[("content-encoding", "identity, br")]));
        assert!(
            matches!(refused, Err(Rejection::Encoded { value, transfer: false }) if value == "identity, br")
        );
        let refused = check_encoding(&headers(&[("transfer-encoding", "gzip, chunked")]));
        assert!(
            matches!(refused, Err(Rejection::Encoded { value, transfer: true }) if value == "gzip, chunked")
        );
        assert!(check_encoding(&headers(&[("transfer-encoding", "chunked")])).is_ok());
        let refused = check_encoding(&headers(&[(
            "content-type",
            "application/json; charset=utf-16",
        )]));
        assert!(matches!(refused, Err(Rejection::NotUtf8Charset(c)) if c == "utf-16"));
    }

    #[test]
    fn header_values_are_kept_whatever_their_bytes() {
        let value = |b: &[u8]| header::HeaderValue::from_bytes(b).unwrap();
        assert_eq!(header_text(&value(b"plain")), "plain");
        assert_eq!(header_text(&value("caf\u{e9}".as_bytes())), "caf\u{e9}");
        assert_eq!(header_text(&value(b"a\xffb")), "a\\xffb");
    }

    #[test]
    fn json_content_types() {
        for ct in [
            "application/json",
            "Application/JSON; charset=utf-8",
            " application/json ;charset=UTF-8",
            "application/vnd.api+json",
            "application/+JSON",
        ] {
            assert!(is_json(ct), "{ct}");
        }
        for ct in [
            "text/json",
            "application/jsonx",
            "applicationjson",
            "",
            "application/é+jso",
        ] {
            assert!(!is_json(ct), "{ct}");
        }
    }
}
