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
    /// `GET` it for a description of the kind (HTML or JSON; `GET /problems` lists them all).
    #[schema(example = "/problems/invalid-request")]
    pub r#type: String,
    /// A short summary of the kind of problem.
    #[schema(example = "Invalid request")]
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

/// A kind of problem: what its `type` names, served at `/problems/{code}`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ProblemType {
    /// The last segment of the `type` URI.
    #[schema(example = "invalid-request")]
    pub code: &'static str,
    /// The `title` problems of this kind carry.
    #[schema(example = "Invalid request")]
    pub title: &'static str,
    /// The HTTP status problems of this kind carry.
    #[schema(example = 400)]
    pub status: u16,
    /// What it means, and what a client can do about it.
    pub description: &'static str,
}

impl ProblemType {
    /// The kind named `code`.
    pub fn find(code: &str) -> Option<&'static ProblemType> {
        PROBLEM_TYPES.iter().find(|t| t.code == code)
    }
}

/// Every kind of problem the API answers with.
pub const PROBLEM_TYPES: &[ProblemType] = &[
    ProblemType { code: "invalid-request", title: "Invalid request", status: 400, description: "The request is malformed: an unknown, repeated or badly encoded parameter, a value out of range, or a body that is not what the operation takes. `errors` names every offending field or parameter with what it must be; fix those and send the request again." },
    ProblemType { code: "unauthorized", title: "Unauthorized", status: 401, description: "The operation needs an API key (`Authorization: Bearer KEY`) and the request sent none, or one that is unknown or revoked. Ask the registry's operator for a key." },
    ProblemType { code: "forbidden", title: "Forbidden", status: 403, description: "The key is valid but its role does not allow the operation: institutes, figures and programmes need an editor key, sectors and exchange rates an admin key." },
    ProblemType { code: "not-found", title: "Not found", status: 404, description: "Nothing exists at this address: no resource has this id, slug or external id, or the path is not one of the API's. The spec (`/openapi.json`) lists every path." },
    ProblemType { code: "method-not-allowed", title: "Method not allowed", status: 405, description: "The resource exists but does not answer to this method. The `Allow` header lists those it answers to." },
    ProblemType { code: "not-acceptable", title: "Not acceptable", status: 406, description: "The resource cannot be answered in any media type the `Accept` header allows. `detail` names those it offers." },
    ProblemType { code: "request-timeout", title: "Request timeout", status: 408, description: "The request's head or body did not arrive within the server's deadline; the connection is closed. Send it again, whole." },
    ProblemType { code: "conflict", title: "Conflict", status: 409, description: "The change clashes with data the registry holds: a slug or external id already taken, a figure for the same year and kind, a parent that would make a cycle, or a resource still in use. `errors` names the field." },
    ProblemType { code: "gone", title: "Gone", status: 410, description: "The institute was deleted. When it was merged into another, `successor` (and a `Link: <…>; rel=\"successor-version\"` header) points to where it lives on." },
    ProblemType { code: "precondition-failed", title: "Precondition failed", status: 412, description: "`If-Match` no longer matches: the resource changed since it was read, and nothing was written. The `ETag` header holds the current tag: read the resource again, apply the change to it, and retry." },
    ProblemType { code: "payload-too-large", title: "Payload too large", status: 413, description: "The request body is larger than the operation takes (1 MiB for JSON bodies)." },
    ProblemType { code: "unsupported-media-type", title: "Unsupported media type", status: 415, description: "The body's `Content-Type` is not one the operation takes (`application/json`, or `application/merge-patch+json` for PATCH)." },
    ProblemType { code: "precondition-required", title: "Precondition required", status: 428, description: "Every PUT, PATCH and DELETE must send `If-Match` with the ETag of the representation it changes (or `*`), so that no one overwrites a change they have not seen. Read the resource, then send its ETag." },
    ProblemType { code: "request-head-too-large", title: "Request head too large", status: 431, description: "The request line and headers are larger than the server reads: 128 KiB and 96 header fields at most. The connection is closed; send the request again with fewer or shorter headers." },
    ProblemType { code: "rate-limited", title: "Too many requests", status: 429, description: "This client (its API key, else its address) sent more requests than its allowance, or has as many requests or exports in progress as one client may. Wait for `Retry-After` seconds; the `RateLimit-*` headers state the allowance." },
    ProblemType { code: "internal", title: "Internal server error", status: 500, description: "The server failed to handle the request. The failure is logged with the request's id (`request_id`, and the `X-Request-Id` header): quote it when reporting the problem." },
    ProblemType { code: "unavailable", title: "Service unavailable", status: 503, description: "The server cannot answer now: its database is unreachable or busy, or a read asked with `min_sequence` for a change this replica has not reached yet. Retry after `Retry-After` seconds." },
    ProblemType { code: "overloaded", title: "Server overloaded", status: 503, description: "The server is handling as many requests or exports as it takes at once, or tracks as many clients as it can. Retry after `Retry-After` seconds." },
];

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
    /// The request's head is beyond what the server parses (answered by the connection).
    #[error("request head too large: {0}")]
    HeadTooLarge(String),
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
        let code = match self {
            ApiError::InvalidInput { .. } => "invalid-request",
            ApiError::NotFound(_) => "not-found",
            ApiError::Gone { .. } => "gone",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Conflict { .. } => "conflict",
            ApiError::PreconditionFailed { .. } => "precondition-failed",
            ApiError::PreconditionRequired(_) => "precondition-required",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::RequestTimeout(_) => "request-timeout",
            ApiError::HeadTooLarge(_) => "request-head-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::Internal(_) => "internal",
        };
        let title = ProblemType::find(code).map_or("Error", |t| t.title);
        (code, title)
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
            | ApiError::HeadTooLarge(d)
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
            ApiError::HeadTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_kind_is_described_with_its_status() {
        let every = [
            ApiError::InvalidInput {
                detail: String::new(),
                errors: Vec::new(),
            },
            ApiError::NotFound(String::new()),
            ApiError::Gone {
                detail: String::new(),
                successor: None,
            },
            ApiError::Unauthorized(String::new()),
            ApiError::Forbidden(String::new()),
            ApiError::Conflict {
                detail: String::new(),
                errors: Vec::new(),
            },
            ApiError::PreconditionFailed {
                detail: String::new(),
                etag: None,
            },
            ApiError::PreconditionRequired(String::new()),
            ApiError::MethodNotAllowed { allow: Vec::new() },
            ApiError::PayloadTooLarge(String::new()),
            ApiError::RequestTimeout(String::new()),
            ApiError::HeadTooLarge(String::new()),
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::NotAcceptable(String::new()),
            ApiError::Unavailable(String::new()),
            ApiError::TooManyRequests {
                detail: String::new(),
                retry_after: 1,
            },
            ApiError::Overloaded {
                detail: String::new(),
                retry_after: 1,
            },
            ApiError::Internal(String::new()),
        ];
        for e in &every {
            let (code, _) = e.kind();
            let t = ProblemType::find(code).unwrap_or_else(|| panic!("{code} undescribed"));
            assert_eq!(t.status, e.status_code().as_u16(), "{code}");
        }
        assert_eq!(every.len(), PROBLEM_TYPES.len());
    }
}
