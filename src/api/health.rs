//! Liveness and readiness probes.

use super::institutes::no_query;
use super::AppState;
use crate::error::ApiError;
use actix_web::{get, web, HttpRequest};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use std::path::PathBuf;
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

/// How long readiness waits for a database connection.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The SQLite file a server opened at start: its path and identity (device and inode on Unix).
/// Readiness fails while the path holds no file or another file (moved away, replaced), and
/// passes again once the same file is back.
#[derive(Debug, Clone)]
pub struct DatabaseFile {
    pub path: PathBuf,
    identity: Option<(u64, u64)>,
}

impl DatabaseFile {
    /// The main database file of the pool's SQLite connections (`None` on PostgreSQL, for an
    /// in-memory database, or when it cannot be read).
    pub fn of_pool(pool: &crate::db::Pool) -> Option<DatabaseFile> {
        let mut conn = pool.get().ok()?;
        let path = crate::db::sqlite_main_file(&mut conn)?;
        let identity = identity(&std::fs::metadata(&path).ok()?);
        Some(DatabaseFile { path, identity })
    }

    /// Whether the file is still at its path.
    pub fn check(&self) -> Result<(), ApiError> {
        let shown = self.path.display();
        match std::fs::metadata(&self.path) {
            Err(e) => Err(ApiError::Unavailable(format!(
                "the database file {shown} cannot be read: {}",
                e.kind()
            ))),
            Ok(meta) if identity(&meta) != self.identity => Err(ApiError::Unavailable(format!(
                "the database file {shown} is not the file the server opened at start (moved or replaced)"
            ))),
            Ok(_) => Ok(()),
        }
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Readiness
///
/// 200 when a database connection can be taken from the pool within 2 s and answers a query
/// (on SQLite, also: the database file the server opened is still at its path); 503 otherwise.
/// It recovers by itself once the database is back. Not rate limited.
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
    if state.draining.load(std::sync::atomic::Ordering::Acquire) {
        return Err(ApiError::Unavailable(
            "the server is shutting down: it finishes what it was sent, take new work elsewhere"
                .into(),
        ));
    }
    if let Some(file) = &state.database_file {
        file.check()?;
    }
    let backend = state.backend;
    let pool = state.pool.clone();
    let request_id = super::observe::current_request_id();
    web::block(move || {
        super::observe::with_request_id(request_id, || {
            let mut conn = pool.get_timeout(READY_TIMEOUT).map_err(|e| {
                log::warn!("readiness: {e}");
                crate::db::connection_lost();
                ApiError::Unavailable(format!(
                    "no database connection could be made within {} s",
                    READY_TIMEOUT.as_secs()
                ))
            })?;
            conn.batch_execute("SELECT 1").map_err(|e| {
                log::warn!("readiness: {e}");
                crate::db::connection_lost();
                ApiError::Unavailable("the database does not answer".into())
            })
        })
    })
    .await??;
    Ok(web::Json(Health {
        status: "ok".into(),
        database: Some(backend.name().into()),
    }))
}
