//! One error type for the whole API, mapped to RFC 9457 `application/problem+json` in one place.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::model::FieldError;

/// An RFC 9457 problem document, returned with `Content-Type: application/problem+json`
/// for every 4xx and 5xx response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct Problem {
    /// A URI reference naming the kind of problem; stable, usable as a machine-readable code.
    #[schema(example = "/problems/invalid-parameter")]
    pub r#type: String,
    /// A short summary of the kind of problem.
    #[schema(example = "Invalid request parameter")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 400)]
    pub status: u16,
    /// What went wrong in this occurrence.
    #[schema(example = "query parameter 'limit' must be an integer from 1 to 100")]
    pub detail: String,
    /// Every offending input, each naming its field; empty when the problem is not about input.
    pub errors: Vec<FieldError>,
    /// For a deleted institute that was merged into another: where it lives on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor: Option<crate::model::institute::InstituteRef>,
    /// The request's id, as in the `X-Request-Id` response header (passed through from the
    /// request when it sent a usable one, generated otherwise); every server log line about the
    /// request carries it. Quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "4f0c2a9e8b7d4c1fa3e56b7c8d9e0f12")]
    pub request_id: Option<String>,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {detail}")]
    InvalidInput {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("gone: {detail}")]
    Gone {
        detail: String,
        successor: Option<crate::model::institute::InstituteRef>,
    },
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict: {detail}")]
    Conflict {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The resource changed since it was read; `etag` is its current ETag.
    #[error("precondition failed: {detail}")]
    PreconditionFailed {
        detail: String,
        etag: Option<String>,
    },
    /// A write that must say which version it changes did not (no `If-Match`).
    #[error("precondition required: {0}")]
    PreconditionRequired(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// The request's body did not arrive within the server's body deadline.
    #[error("request timeout: {0}")]
    RequestTimeout(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The client sent more requests than its rate limit allows; it may retry after the delay.
    #[error("too many requests: {detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    /// The server is at capacity (requests in flight, clients tracked); retry after the delay.
    #[error("overloaded: {detail}")]
    Overloaded { detail: String, retry_after: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 about one input.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let error = FieldError::new(field, message);
        ApiError::InvalidInput {
            detail: format!("{}: {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// A 400 listing every problem found in one request.
    pub fn fields(errors: Vec<FieldError>) -> ApiError {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} problems with the request; see errors", many.len()),
        };
        ApiError::InvalidInput { detail, errors }
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::InvalidInput { .. } => ("invalid-request", "Invalid request"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::Gone { .. } => ("gone", "Gone"),
            ApiError::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => ("forbidden", "Forbidden"),
            ApiError::Conflict { .. } => ("conflict", "Conflict"),
            ApiError::PreconditionFailed { .. } => ("precondition-failed", "Precondition failed"),
            ApiError::PreconditionRequired(_) => ("precondition-required", "Precondition required"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            ApiError::RequestTimeout(_) => ("request-timeout", "Request timeout"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::NotAcceptable(_) => ("not-acceptable", "Not acceptable"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            ApiError::Overloaded { .. } => ("overloaded", "Server overloaded"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let (code, title) = self.kind();
        let status = self.status_code().as_u16();
        let (detail, errors) = match self {
            ApiError::InvalidInput { detail, errors } | ApiError::Conflict { detail, errors } => {
                (detail.clone(), errors.clone())
            }
            ApiError::Gone { detail, .. }
            | ApiError::TooManyRequests { detail, .. }
            | ApiError::Overloaded { detail, .. }
            | ApiError::PreconditionFailed { detail, .. } => (detail.clone(), Vec::new()),
            ApiError::Unauthorized(d) | ApiError::Forbidden(d) => (d.clone(), Vec::new()),
            ApiError::PreconditionRequired(d) => (
                d.clone(),
                vec![FieldError::new(
                    "If-Match",
                    "required: the ETag of the representation this write changes",
                )],
            ),
            ApiError::NotFound(d)
            | ApiError::PayloadTooLarge(d)
            | ApiError::RequestTimeout(d)
            | ApiError::UnsupportedMediaType(d)
            | ApiError::NotAcceptable(d)
            | ApiError::Unavailable(d) => (d.clone(), Vec::new()),
            ApiError::MethodNotAllowed { allow } => (
                format!("this resource answers only to {}", allow.join(", ")),
                Vec::new(),
            ),
            // The cause goes to the log, never to the client.
            ApiError::Internal(_) => (
                "the server failed to handle the request; the failure has been logged".to_string(),
                Vec::new(),
            ),
        };
        Problem {
            r#type: format!("/problems/{code}"),
            title: title.to_string(),
            status,
            detail,
            errors,
            successor: match self {
                ApiError::Gone { successor, .. } => successor.clone(),
                _ => None,
            },
            request_id: None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidInput { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Unavailable(_) | ApiError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The cause of a 500 is logged where the request (and its id) is known: by the error
    /// handler that `build_app` installs (`problems::to_problem`).
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"institute-registry\"",
                ));
            }
            ApiError::Gone {
                successor: Some(s), ..
            } => {
                response.insert_header((
                    header::LINK,
                    format!("</v1/institutes/{}>; rel=\"successor-version\"", s.slug),
                ));
            }
            ApiError::TooManyRequests { retry_after, .. }
            | ApiError::Overloaded { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::PreconditionFailed {
                etag: Some(etag), ..
            } => {
                response.insert_header((header::ETAG, etag.as_str()));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.to_problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> ApiError {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            // A race lost to a concurrent write of the same unique value.
            E::DatabaseError(K::UniqueViolation, _) => ApiError::Conflict {
                detail: "another record already holds one of these unique values".into(),
                errors: Vec::new(),
            },
            // A row it refers to went away (or never was): the request names something missing.
            E::DatabaseError(K::ForeignKeyViolation, _) => ApiError::Conflict {
                detail: "the change refers to a record that does not exist (any more)".into(),
                errors: Vec::new(),
            },
            E::DatabaseError(K::ClosedConnection, _) => {
                crate::db::connection_lost();
                ApiError::Unavailable("the database connection was lost; retry".into())
            }
            E::DatabaseError(K::SerializationFailure, _) => {
                ApiError::Unavailable("a concurrent change got in the way; retry".into())
            }
            E::DatabaseError(_, info) if info.message().contains("database is locked") => {
                ApiError::Unavailable("the database is busy; retry".into())
            }
            _ => ApiError::Internal(format!("database: {e}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> ApiError {
        log::warn!("database pool: {e}");
        crate::db::connection_lost();
        ApiError::Unavailable("no database connection became available in time".to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> ApiError {
        ApiError::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<crate::store::write::WriteError> for ApiError {
    fn from(e: crate::store::write::WriteError) -> ApiError {
        use crate::store::write::WriteError as W;
        match e {
            W::NotFound => ApiError::NotFound("no such resource".into()),
            W::Stale { current } => ApiError::PreconditionFailed {
                detail: format!(
                    "the resource changed since you read it; its ETag is now {current} (also in \
                     the ETag header): read it again, then retry"
                ),
                etag: Some(current),
            },
            W::Invalid(errors) => ApiError::fields(errors),
            W::Conflict(error) => ApiError::Conflict {
                detail: format!("{}: {}", error.field, error.message),
                errors: vec![error],
            },
            W::Db(e) => e.into(),
        }
    }
}

impl From<crate::read::ReadError> for ApiError {
    fn from(e: crate::read::ReadError) -> ApiError {
        match e {
            crate::read::ReadError::Db(e) => e.into(),
            other => ApiError::Internal(format!("read model: {other}")),
        }
    }
}
