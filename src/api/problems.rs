//! Reusable problem+json responses for the spec, and the framework's own errors turned into
//! problem documents.

use crate::error::{ApiError, Problem};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse};
use utoipa::ToResponse;

/// The request is malformed: an unknown or repeated query parameter, or a value out of range.
/// `errors` names every offending parameter.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "/problems/invalid-request", "title": "Invalid request", "status": 400,
        "detail": "limit: must be an integer from 1 to 100",
        "errors": [{"field": "limit", "message": "must be an integer from 1 to 100"}]})
)]
pub struct BadRequest(#[allow(dead_code)] Problem);

/// Nothing exists at this address.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "/problems/not-found", "title": "Not found", "status": 404,
        "detail": "no institute has the id, slug or external id 'no-such-institute'", "errors": []})
)]
pub struct NotFound(#[allow(dead_code)] Problem);

/// The institute was deleted; when it was merged into another, `successor` (and a
/// `Link: <…>; rel="successor-version"` header) points to it.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Gone(#[allow(dead_code)] Problem);

/// No API key, or an unknown or revoked one (`WWW-Authenticate: Bearer`).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unauthorized(#[allow(dead_code)] Problem);

/// The key's role does not allow this operation.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Forbidden(#[allow(dead_code)] Problem);

/// The change clashes with existing data (a slug, an external id, a figure for the same year
/// and kind); `errors` names the field.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(#[allow(dead_code)] Problem);

/// `If-Match` no longer matches: the resource changed since it was read. Read it again, then retry.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PreconditionFailed(#[allow(dead_code)] Problem);

/// The body is larger than the 64 KiB limit.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PayloadTooLarge(#[allow(dead_code)] Problem);

/// The body's `Content-Type` is not the one this operation takes.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct UnsupportedMediaType(#[allow(dead_code)] Problem);

/// The `Accept` header asks for a format this resource cannot produce.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotAcceptable(#[allow(dead_code)] Problem);

/// The server failed; the detail says only that the failure was logged.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct InternalError(#[allow(dead_code)] Problem);

/// The database is unreachable or no connection became available in time; retry later.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unavailable(#[allow(dead_code)] Problem);

fn is_problem(res: &HttpResponse<impl MessageBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// Rewrites any error response that is not already problem+json (the framework's own: a bad
/// request line, an unknown file under /docs, a payload error) into one, keeping its status
/// and headers.
pub fn to_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if is_problem(res.response()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status.as_u16() {
        404 => ApiError::NotFound(format!("nothing at {}", res.request().path())),
        413 => ApiError::PayloadTooLarge("the request body is too large".into()),
        415 => ApiError::UnsupportedMediaType("unsupported content type".into()),
        500..=599 => ApiError::Internal(format!("framework error {status}")),
        _ => ApiError::InvalidInput {
            detail: status
                .canonical_reason()
                .unwrap_or("the request was rejected")
                .to_string(),
            errors: Vec::new(),
        },
    };
    let mut problem = error.to_problem();
    problem.status = status.as_u16();
    let (req, res) = res.into_parts();
    let mut new = HttpResponse::build(status);
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    new.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    ));
    let body: BoxBody = BoxBody::new(serde_json::to_string(&problem).unwrap_or_default());
    let res = new.body(body);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body(),
    ))
}

/// For the framework's extractors: answers their errors with problem+json naming the input.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => {
            ApiError::PayloadTooLarge(err.to_string())
        }
        E::ContentType => ApiError::UnsupportedMediaType(
            "the body must be JSON (Content-Type: application/json)".into(),
        ),
        E::Deserialize(e) => ApiError::field("body", e.to_string()),
        _ => ApiError::field("body", err.to_string()),
    };
    api.into()
}
