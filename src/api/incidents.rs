//! `/api/incidents` and `/api/silences`: what rules opened, acknowledging one, and
//! silences — the store queries `veille incidents` and `veille silence` use.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Scope;
use super::extract::{ApiJson as JsonBody, ApiPath as Path, ApiQuery as Query};
use super::v1::{ApiResult, ListQuery, blocking, check, known, limit};
use super::{ApiError, ApiState};

pub async fn incidents(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<ListQuery>,
) -> ApiResult {
    check(&st, &headers, Scope::Read)?;
    let filter = match p.state.as_deref() {
        None | Some("all") => None,
        Some(s @ ("open" | "resolved")) => Some(s.to_string()),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "state = {other:?}: expected open, resolved or all"
            )));
        }
    };
    {
        let live = st.live.read().unwrap();
        known("rule", &p.rule, &live.rules)?;
        known("brand", &p.brand, &live.brands)?;
    }
    let limit = limit(p.limit, 50, 500)?;
    let state = st.state.clone();
    let (rule, brand) = (p.rule, p.brand);
    let items = blocking(move || {
        state.lock().unwrap().incidents_of(
            filter.as_deref(),
            rule.as_deref(),
            brand.as_deref(),
            limit,
        )
    })
    .await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/incidents/{id}`: the incident with its alerts (and their mentions and
/// deliveries), as `veille incidents show ID --json` prints it.
pub async fn incident(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    check(&st, &headers, Scope::Read)?;
    let state = st.state.clone();
    let found = blocking(move || {
        let st = state.lock().unwrap();
        match st.incident(id)? {
            Some(i) => Ok(Some((i, st.incident_alerts(id)?))),
            None => Ok(None),
        }
    })
    .await?;
    let Some((incident, alerts)) = found else {
        return Err(ApiError::not_found(format!("no incident #{id}")));
    };
    let configured = st.live.read().unwrap().notifiers.clone();
    Ok(Json(json!({
        "incident": incident,
        "alerts": alerts.iter().map(|a| a.json(&configured)).collect::<Vec<_>>(),
    })))
}

pub async fn ack_incident(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    let who = check(&st, &headers, Scope::Admin)?;
    let state = st.state.clone();
    let now = st.clock.now();
    let incident = blocking(move || {
        let st = state.lock().unwrap();
        if st.ack_incident(id, &who, now)? {
            st.incident(id)
        } else {
            Ok(None)
        }
    })
    .await?;
    match incident {
        Some(i) => {
            tracing::info!(
                incident = id,
                by = i.acked_by.as_deref().unwrap_or(""),
                "incident acknowledged"
            );
            Ok(Json(json!(i)))
        }
        None => Err(ApiError::not_found(format!("no open incident #{id}"))),
    }
}

pub async fn silences(State(st): State<ApiState>, headers: HeaderMap) -> ApiResult {
    check(&st, &headers, Scope::Read)?;
    let state = st.state.clone();
    let items = blocking(move || state.lock().unwrap().silences()).await?;
    let now = st.clock.now();
    let items: Vec<Value> = items
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id, "rule": s.rule, "brand": s.brand, "starts_at": s.starts_at,
                "ends_at": s.ends_at, "reason": s.reason, "expired_at": s.expired_at,
                "author": s.author, "active": s.active(now),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    rule: Option<String>,
    brand: Option<String>,
    /// e.g. "2h"
    duration: String,
    #[serde(default)]
    reason: String,
}

pub async fn add_silence(
    State(st): State<ApiState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NewSilence>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = check(&st, &headers, Scope::Admin)?;
    if body.rule.is_none() && body.brand.is_none() {
        return Err(ApiError::bad_request(
            "give `rule`, `brand` or both: a silence of everything is not allowed",
        ));
    }
    let d: crate::model::Duration = body
        .duration
        .parse()
        .map_err(|e| ApiError::bad_request(format!("duration = {:?}: {e}", body.duration)))?;
    let now = st.clock.now();
    let ends = now + d.chrono();
    {
        let live = st.live.read().unwrap();
        known("rule", &body.rule, &live.rules)?;
        known("brand", &body.brand, &live.brands)?;
    }
    let state = st.state.clone();
    let (rule, brand, reason) = (body.rule.clone(), body.brand.clone(), body.reason);
    let author = who.clone();
    let id = blocking(move || {
        state.lock().unwrap().add_silence_by(
            rule.as_deref(),
            brand.as_deref(),
            now,
            ends,
            &reason,
            Some(&author),
        )
    })
    .await?;
    tracing::info!(silence = id, by = %who, "silence added through the API");
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "id": id, "rule": body.rule, "brand": body.brand, "ends_at": ends, "author": who }),
        ),
    ))
}

pub async fn expire_silence(
    State(st): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    check(&st, &headers, Scope::Admin)?;
    let state = st.state.clone();
    let now = st.clock.now();
    if blocking(move || state.lock().unwrap().expire_silence(id, now)).await? {
        Ok(Json(json!({ "id": id, "expired": true })))
    } else {
        Err(ApiError::not_found(format!("no active silence #{id}")))
    }
}
