//! `Authorization: Bearer KEY` on writes.

use super::AppState;
use crate::error::ApiError;
use crate::model::access::{Actor, Role};
use crate::store::keys;
use actix_web::{web, HttpRequest};

/// The actor behind the request's key, if it holds `needed`; 401 without a live key,
/// 403 with a key whose role is too weak.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    needed: Role,
) -> Result<Actor, ApiError> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "this operation needs an API key: Authorization: Bearer KEY".into(),
            )
        })?;
    let secret = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::Unauthorized("use the Bearer scheme: Authorization: Bearer KEY".into())
        })?
        .to_string();
    let pool = state.pool.clone();
    let actor = web::block(move || -> Result<Option<Actor>, ApiError> {
        let mut conn = pool.get()?;
        Ok(keys::authenticate(&mut conn, &secret)?)
    })
    .await??
    .ok_or_else(|| ApiError::Unauthorized("unknown or revoked API key".into()))?;
    if actor.role.allows(needed) {
        Ok(actor)
    } else {
        Err(ApiError::Forbidden(format!(
            "the key '{}' has the role {}; this operation needs {}",
            actor.name,
            actor.role.as_str(),
            needed.as_str()
        )))
    }
}
