//! The HTTP side of the daemon, on `[daemon] listen`: health and the WebSub callback.
//! (The search/alerts API, metrics and dashboard build on this router.)

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

use crate::crawl::websub::{Registry, Verification};

/// Largest WebSub content accepted (a hub may send the whole feed).
const MAX_PUSH_BODY: usize = 10 << 20;

#[derive(Clone, Default)]
pub struct ApiState {
    pub websub: Option<Arc<Registry>>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/websub/{token}", get(websub_verify).post(websub_content))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PUSH_BODY))
        .with_state(state)
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
