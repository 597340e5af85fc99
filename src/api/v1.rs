//! The JSON endpoints under `/api/`: mentions, alerts and their deliveries, sources (and,
//! in [`super::incidents`], incidents and silences).
//! Described in `openapi.json` (served at `/api/openapi.json`); a test checks that the two
//! agree.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Scope, authorize};
use super::extract::{ApiPath as Path, ApiQuery as Query};
use super::{ApiError, ApiState};
use crate::matching::SearchRequest;
use crate::model::redact;
use crate::store::state::Deliveries;

pub(super) type ApiResult = Result<Json<Value>, ApiError>;

/// Runs `f` on a blocking thread (SQLite and tantivy calls block).
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(e.to_string()))
}

pub(super) fn check(st: &ApiState, headers: &HeaderMap, scope: Scope) -> Result<String, ApiError> {
    let live = st.live.read().unwrap();
    if live.tokens.is_empty() {
        return Err(ApiError::unauthorized(
            "the API needs a token: add an [[api.token]] to the config",
        ));
    }
    authorize(headers, &live.tokens, scope).map(|t| t.name.clone())
}

/// A time expression, read as the CLI reads it (`7d`, `2026-11-01`, RFC 3339).
fn when(
    name: &str,
    v: &Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(v) = v else { return Ok(None) };
    v.parse::<crate::model::When>()
        .map(|w| Some(w.at(now)))
        .map_err(|e| ApiError::bad_request(format!("`{name}`: {e}")))
}

/// `limit`: `default` when absent, at most `max`; 0 is refused as in the CLI.
pub(super) fn limit(v: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match v {
        None => Ok(default),
        Some(0) => Err(ApiError::bad_request("`limit` = 0: give at least 1")),
        Some(n) => Ok(n.min(max)),
    }
}

/// A filter naming a brand, source or rule that is not configured is a 404: a typo
/// must not look like "nothing was said".
pub(super) fn known(what: &str, v: &Option<String>, ids: &[String]) -> Result<(), ApiError> {
    match v {
        Some(x) if !ids.contains(x) => Err(ApiError::not_found(format!(
            "unknown {what} `{x}`: configured are {}",
            if ids.is_empty() {
                "none".into()
            } else {
                ids.join(", ")
            }
        ))),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MentionsQuery {
    q: Option<String>,
    brand: Option<String>,
    source: Option<String>,
    sentiment: Option<String>,
    lang: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

pub async fn mentions(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<MentionsQuery>,
) -> ApiResult {
    check(&st, &headers, Scope::Read)?;
    let query = match p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => Some(
            crate::matching::Query::parse(q)
                .map_err(|e| ApiError::bad_request(format!("q: {e}")))?,
        ),
        None => None,
    };
    if let Some(s) = &p.sentiment
        && crate::mention::Label::parse(s).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "sentiment = {s:?}: expected negative, neutral or positive"
        )));
    }
    {
        let live = st.live.read().unwrap();
        let sources: Vec<String> = live.sources.iter().map(|s| s.0.clone()).collect();
        known("brand", &p.brand, &live.brands)?;
        known("source", &p.source, &sources)?;
    }
    let limit = limit(p.limit, 50, 500)?;
    let offset = p.offset.unwrap_or(0).min(100_000);
    let hint =
        p.q.as_deref()
            .and_then(crate::matching::query::operator_hint);
    let req = SearchRequest {
        query,
        label: p.sentiment.clone(),
        lang: p.lang.clone(),
        brand: p.brand.clone(),
        source: p.source.clone(),
        since: when("since", &p.since, st.clock.now())?,
        until: when("until", &p.until, st.clock.now())?,
        limit,
        offset,
        ..Default::default()
    };
    let index = st.index.clone();
    let (total, items) = blocking(move || Ok((index.count(&req)?, index.search(&req)?))).await?;
    let mut v = json!({
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": items,
    });
    // Not an error: "or" is a French word; but rarely meant as one in a search box.
    if let Some(h) = hint {
        v["hint"] = h.into();
    }
    Ok(Json(v))
}

pub async fn mention(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    check(&st, &headers, Scope::Read)?;
    let index = st.index.clone();
    let id2 = id.clone();
    match blocking(move || index.get(&id2)).await? {
        Some(m) => Ok(Json(json!(m))),
        None => Err(ApiError::not_found(format!("no mention with id {id:?}"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub(super) limit: Option<usize>,
    pub(super) state: Option<String>,
    pub(super) rule: Option<String>,
    pub(super) brand: Option<String>,
}

pub async fn alerts(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<ListQuery>,
) -> ApiResult {
    check(&st, &headers, Scope::Read)?;
    if p.state.is_some() || p.rule.is_some() || p.brand.is_some() {
        return Err(ApiError::bad_request(
            "/api/alerts takes only `limit`: filter incidents with /api/incidents",
        ));
    }
    let limit = limit(p.limit, 50, 500)?;
    let state = st.state.clone();
    let rows = blocking(move || state.lock().unwrap().alerts(limit)).await?;
    let configured = st.live.read().unwrap().notifiers.clone();
    let items: Vec<Value> = rows.iter().map(|r| r.json(&configured)).collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only the deliveries to this notifier.
    notifier: Option<String>,
    /// Re-route them to this notifier (`retry` only).
    to: Option<String>,
}

/// Re-queues (`drop = false`) or drops deliveries; 404 when there was nothing to do.
async fn act_on_deliveries(
    st: &ApiState,
    headers: &HeaderMap,
    seq: Option<i64>,
    notifier: Option<String>,
    drop: bool,
    to: Option<String>,
) -> ApiResult {
    let who = check(st, headers, Scope::Admin)?;
    if let Some(to) = &to
        && (drop || !st.live.read().unwrap().notifiers.contains(to))
    {
        return Err(ApiError::not_found(format!(
            "to={to}: no such notifier to re-route to"
        )));
    }
    let state = st.state.clone();
    let n2 = notifier.clone();
    let now = st.clock.now();
    let n = blocking(move || {
        let n2 = n2.as_deref();
        let which = match seq {
            Some(seq) => Deliveries::Alert { seq, notifier: n2 },
            None => Deliveries::AllFailed { notifier: n2 },
        };
        let mut st = state.lock().unwrap();
        match (drop, &to) {
            (true, _) => st.drop_deliveries(which, &format!("dropped through the API by {who}")),
            (false, Some(to)) => st.reroute_deliveries(which, to, now),
            (false, None) => st.requeue_deliveries(which, now),
        }
    })
    .await?;
    let what = match seq {
        Some(seq) => format!("alert #{seq}"),
        None => "failed deliveries".into(),
    };
    if n == 0 {
        return Err(ApiError::not_found(format!(
            "{what}{}: nothing to {}",
            notifier.map(|n| format!(" to {n}")).unwrap_or_default(),
            if drop { "drop" } else { "re-queue" }
        )));
    }
    if !drop {
        st.wake.wake();
    }
    tracing::info!(
        seq = seq
            .map(|s| s.to_string())
            .unwrap_or_else(|| "all failed".into()),
        notifier = notifier.as_deref().unwrap_or("all"),
        count = n,
        dropped = drop,
        "deliveries changed through the API"
    );
    let key = if drop { "dropped" } else { "requeued" };
    Ok(Json(json!({ "seq": seq, "notifier": notifier, key: n })))
}

/// `POST /api/alerts/{id}/retry`: the alert's pending, failed or dropped deliveries are
/// due now; with `?to=NOTIFIER`, moved to that notifier (re-routed).
pub async fn retry_alert(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult {
    act_on_deliveries(&st, &headers, Some(id), q.notifier, false, q.to).await
}

/// `POST /api/alerts/{id}/drop`: the alert's pending, held or failed deliveries are
/// given up.
pub async fn drop_alert(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult {
    act_on_deliveries(&st, &headers, Some(id), q.notifier, true, q.to).await
}

/// `POST /api/alerts/retry-failed`: every failed delivery is due now.
pub async fn retry_failed(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult {
    act_on_deliveries(&st, &headers, None, q.notifier, false, q.to).await
}

/// `POST /api/alerts/drop-failed`: every failed delivery is given up.
pub async fn drop_failed(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult {
    act_on_deliveries(&st, &headers, None, q.notifier, true, q.to).await
}

pub async fn sources(State(st): State<ApiState>, headers: HeaderMap) -> ApiResult {
    check(&st, &headers, Scope::Read)?;
    let configured = st.live.read().unwrap().sources.clone();
    let state = st.state.clone();
    let rows = blocking(move || state.lock().unwrap().sources()).await?;
    let items: Vec<Value> = configured
        .iter()
        .map(|(id, kind)| {
            let r = rows.iter().find(|r| &r.id == id);
            json!({
                "id": id,
                "kind": kind,
                "healthy": r.is_none_or(|r| !r.unhealthy),
                "failures": r.map_or(0, |r| r.failures),
                "last_polled": r.and_then(|r| r.last_polled),
                "last_success": r.and_then(|r| r.last_success),
                "last_error": r.and_then(|r| r.last_error.as_deref().map(redact::scrub)),
                "last_error_at": r.and_then(|r| r.last_error_at),
                "failing_since": r.and_then(|r| r.failing_since),
                "next_due": r.and_then(|r| r.next_due),
                "items_seen": r.map_or(0, |r| r.items_seen),
                "auto_every_seconds": r.and_then(|r| r.auto_every),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
