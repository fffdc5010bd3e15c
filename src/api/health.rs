//! Liveness and readiness probes.

use super::institutes::no_query;
use super::{db, AppState};
use crate::error::ApiError;
use actix_web::{get, web, HttpRequest};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the probe passes.
    #[schema(example = "ok")]
    pub status: String,
    /// The database engine in use (`sqlite` or `postgresql`); readiness only.
    #[schema(example = "sqlite")]
    pub database: Option<String>,
}

/// Liveness
///
/// 200 while the process serves requests; touches nothing else.
#[utoipa::path(
    tag = "operations",
    operation_id = "healthz",
    responses(
        (status = 200, description = "The process is alive.", body = Health),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError)
    )
)]
#[get("/healthz")]
pub async fn healthz(req: HttpRequest) -> Result<web::Json<Health>, ApiError> {
    no_query(&req)?;
    Ok(web::Json(Health {
        status: "ok".into(),
        database: None,
    }))
}

/// Readiness
///
/// 200 when a database connection can be taken from the pool and answers a query; 503 otherwise.
#[utoipa::path(
    tag = "operations",
    operation_id = "readyz",
    responses(
        (status = 200, description = "The database is reachable.", body = Health),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/readyz")]
pub async fn readyz(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<Health>, ApiError> {
    no_query(&req)?;
    let backend = state.backend;
    db(&state, |conn| {
        conn.batch_execute("SELECT 1")
            .map_err(|_| ApiError::Unavailable("the database does not answer".into()))
    })
    .await?;
    Ok(web::Json(Health {
        status: "ok".into(),
        database: Some(backend.name().into()),
    }))
}
