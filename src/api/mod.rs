//! The HTTP side of the daemon, on `[daemon] listen` (default 127.0.0.1:8650):
//!
//! - `/healthz` (alive), `/readyz` (index, state and workers up; 503 while starting or
//!   stopping), `/metrics` (Prometheus text);
//! - `/api/…`: JSON search and lists, with bearer tokens (see [`auth`]), described by
//!   `/api/openapi.json`;
//! - `/websub/{token}`: WebSub verification and content distribution.

pub mod auth;
mod extract;
mod incidents;
pub mod v1;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::watch;

pub use auth::{ApiConfig, Scope, Token};

use crate::clock::Clock;
use crate::store::index::MentionIndex;
use crate::store::state::State as Db;
use crate::websub::{Registry, Verification};

/// Largest WebSub content accepted (a hub may send the whole feed).
const MAX_PUSH_BODY: usize = 10 << 20;

/// The OpenAPI document of `/api/`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What a reload may change: tokens and the lists of sources, brands and rules.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub tokens: Vec<Token>,
    /// (id, kind) of the configured sources.
    pub sources: Vec<(String, String)>,
    /// Names of the configured notifiers (re-routing checks its target).
    pub notifiers: Vec<String>,
    /// Ids of the configured brands and rules: a filter naming another is a 404.
    pub brands: Vec<String>,
    pub rules: Vec<String>,
}

#[derive(Clone)]
pub struct ApiState {
    pub websub: Option<Arc<Registry>>,
    pub index: Arc<MentionIndex>,
    pub state: Arc<Mutex<Db>>,
    pub live: Arc<RwLock<Live>>,
    /// Set once the daemon is up, cleared when it begins to stop.
    pub ready: Arc<AtomicBool>,
    /// Wakes the delivery workers after deliveries are re-queued.
    pub wake: crate::outbox::Wake,
    /// What "now" is (durations like `since=7d`, silences, acknowledgements).
    pub clock: Arc<dyn Clock>,
}

/// An error answered as `{"error": {"code": "not_found", "message": "…"}}`: `code` is
/// stable for scripts (one per status: bad_request, unauthorized, forbidden, not_found,
/// method_not_allowed, unsupported_media_type, unprocessable, internal), `message` is
/// for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, m: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: m.into(),
        }
    }
    /// With any status (axum's rejections choose theirs).
    pub fn with_status(status: StatusCode, m: impl Into<String>) -> ApiError {
        Self::new(status, m)
    }
    pub fn bad_request(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, m)
    }
    pub fn unauthorized(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, m)
    }
    pub fn forbidden(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, m)
    }
    pub fn not_found(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, m)
    }
    pub fn internal(m: impl Into<String>) -> ApiError {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }

    /// The stable `code` of the status.
    pub fn code(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
            s if s.is_client_error() => "bad_request",
            _ => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code(), "message": self.message } });
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"veille\""),
            );
        }
        r
    }
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/api/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .route("/api/mentions", get(v1::mentions))
        .route("/api/mentions/{id}", get(v1::mention))
        .route("/api/alerts", get(v1::alerts))
        .route("/api/alerts/{id}/retry", post(v1::retry_alert))
        .route("/api/alerts/{id}/drop", post(v1::drop_alert))
        .route("/api/alerts/retry-failed", post(v1::retry_failed))
        .route("/api/alerts/drop-failed", post(v1::drop_failed))
        .route("/api/incidents", get(incidents::incidents))
        .route("/api/incidents/{id}", get(incidents::incident))
        .route("/api/incidents/{id}/ack", post(incidents::ack_incident))
        .route(
            "/api/silences",
            get(incidents::silences).post(incidents::add_silence),
        )
        .route("/api/silences/{id}/expire", post(incidents::expire_silence))
        .route("/api/sources", get(v1::sources))
        .route("/websub/{token}", get(websub_verify).post(websub_content))
        // Unknown paths and methods answer in the API's error shape too.
        .fallback(|| async { ApiError::not_found("no such endpoint: see /api/openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::with_status(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this endpoint: see /api/openapi.json",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PUSH_BODY))
        .with_state(state)
}

async fn readyz(State(st): State<ApiState>) -> Response {
    if st.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

async fn metrics(State(st): State<ApiState>) -> Response {
    let state = st.state.clone();
    let now = st.clock.now();
    let text = tokio::task::spawn_blocking(move || {
        let s = state
            .lock()
            .unwrap()
            .summary(now)
            .map_err(|e| e.to_string())?;
        crate::metrics::get()
            .render(&s.figures())
            .map_err(|e| e.to_string())
    })
    .await;
    match text {
        Ok(Ok(t)) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            t,
        )
            .into_response(),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => ApiError::internal(e.to_string()).into_response(),
    }
}

async fn websub_verify(
    State(st): State<ApiState>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(reg) = &st.websub else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match reg.verify(&token, &q) {
        Verification::Confirm(challenge) => (StatusCode::OK, challenge).into_response(),
        Verification::Unknown => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn websub_content(
    State(st): State<ApiState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(reg) = &st.websub else {
        return StatusCode::GONE;
    };
    StatusCode::from_u16(reg.deliver(&token, &headers, &body).await).unwrap_or(StatusCode::OK)
}

/// Serves until `shutdown` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let r = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "HTTP server stopped");
    }
}
