//! Reusable problem+json responses for the spec, and the framework's own errors turned into
//! problem documents.

use crate::error::{ApiError, Problem, ProblemType, PROBLEM_TYPES};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{get, HttpRequest, HttpResponse};
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

/// `If-Match` no longer matches: the resource changed since it was read. The `ETag` header
/// holds its current ETag; read it again, then retry.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("ETag" = String, description = "The resource's current ETag.")),
    example = json!({"type": "/problems/precondition-failed", "title": "Precondition failed",
        "status": 412, "detail": "the resource changed since you read it; its ETag is now \"3f9a0c1b2d4e5f60718293a4\" (also in the ETag header): read it again, then retry",
        "errors": []})
)]
pub struct PreconditionFailed(#[allow(dead_code)] Problem);

/// The write carries no `If-Match`: every change to a resource that has an ETag must say which
/// version it changes, so that no update is ever lost. Read the resource (its `ETag` header),
/// then send that value in `If-Match` (or `*` to change it whatever its state).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "/problems/precondition-required", "title": "Precondition required",
        "status": 428, "detail": "send If-Match with the ETag of the institute as you read it (the ETag header of GET /v1/institutes/alan-turing-institute), or If-Match: * to change it whatever its state",
        "errors": [{"field": "If-Match", "message": "required: the ETag of the representation this write changes"}]})
)]
pub struct PreconditionRequired(#[allow(dead_code)] Problem);

/// The body is larger than the 64 KiB limit.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct PayloadTooLarge(#[allow(dead_code)] Problem);

/// The body did not arrive within the server's body deadline (`--body-timeout`, 10 s by
/// default), however slowly it was sent; the connection is closed.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct RequestTimeout(#[allow(dead_code)] Problem);

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

/// The database is unreachable or no connection became available in time
/// (`/problems/unavailable`), or the server is handling as many requests as it can
/// (`/problems/overloaded`); retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")),
    example = json!({"type": "/problems/overloaded", "title": "Server overloaded", "status": 503,
        "detail": "the server is handling 512 requests already; retry shortly", "errors": [],
        "request_id": "4f0c2a9e8b7d4c1fa3e56b7c8d9e0f12"})
)]
pub struct Unavailable(#[allow(dead_code)] Problem);

/// This client (its verified API key, else its IP address) sent more requests than its rate
/// limit allows, or has as many requests in progress as one client may; retry after
/// `Retry-After` seconds. The `RateLimit-*` headers, sent on every
/// rate-limited operation's responses, state the client's allowance.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(
        ("Retry-After" = u64, description = "Seconds to wait before the next request is allowed (at least 1)."),
        ("RateLimit-Limit" = u64, description = "Requests a client may send at once (the burst)."),
        ("RateLimit-Remaining" = u64, description = "Requests this client may still send at once (0 here)."),
        ("RateLimit-Reset" = u64, description = "Seconds until this client's allowance is full again."),
        ("RateLimit-Policy" = String, description = "The policy: requests per 60 s window and the burst, e.g. `1200;w=60;burst=100`.")
    ),
    example = json!({"type": "/problems/rate-limited", "title": "Too many requests", "status": 429,
        "detail": "this client sent more than its 1200 requests a minute (bursts of 100); retry in 1 s",
        "errors": [], "request_id": "4f0c2a9e8b7d4c1fa3e56b7c8d9e0f12"})
)]
pub struct TooManyRequests(#[allow(dead_code)] Problem);

fn is_problem(res: &HttpResponse<impl MessageBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// A problem response for `error` whose body carries the request id (for answers made
/// outside the error handlers).
pub fn response_with_id(error: ApiError, request_id: &str) -> HttpResponse {
    let mut problem = error.to_problem();
    problem.request_id = Some(request_id.to_string());
    let body = serde_json::to_string(&problem).unwrap_or_default();
    HttpResponse::from_error(error).set_body(BoxBody::new(body))
}

/// A problem document's text with `request_id` added as its last member (the others kept in
/// their order); the text as it was if it is not a JSON object or already has one.
pub fn with_request_id(body: &[u8], request_id: Option<&str>) -> Vec<u8> {
    let Some(id) = request_id else {
        return body.to_vec();
    };
    let is_object = matches!(
        serde_json::from_slice::<serde_json::Value>(body),
        Ok(serde_json::Value::Object(map)) if !map.contains_key("request_id")
    );
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_end();
    let (Some(head), true) = (trimmed.strip_suffix('}'), is_object) else {
        return body.to_vec();
    };
    let comma = if head.trim() == "{" { "" } else { "," };
    let id = serde_json::to_string(id).unwrap_or_default();
    format!("{head}{comma}\"request_id\":{id}}}").into_bytes()
}

/// Logs a server-side failure with the request it failed: the cause of a 500 (which the
/// client never sees), the detail of other 5xx.
fn log_failure<B>(res: &ServiceResponse<B>, request_id: &str) {
    let status = res.status();
    if !status.is_server_error() {
        return;
    }
    let req = res.request();
    let cause = res
        .response()
        .error()
        .map(|e| match e.as_error::<ApiError>() {
            Some(api) => api.to_string(),
            None => e.to_string(),
        });
    let cause = cause.unwrap_or_else(|| status.to_string());
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        log::error!(
            "request_id={request_id} {} {}: {cause}",
            req.method(),
            req.path()
        );
    } else {
        log::warn!(
            "request_id={request_id} {} {}: {status}: {cause}",
            req.method(),
            req.path()
        );
    }
}

/// Error responses as problem documents that carry the request id. One already problem+json
/// gets its `request_id`; any other (the framework's own: a bad request line, an unknown file
/// under /docs, a payload error) is rewritten into one, keeping its status and headers.
/// Server-side failures are logged here, where the request and its id are known.
pub fn to_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let request_id = super::observe::request_id_of(res.request());
    log_failure(&res, request_id.as_deref().unwrap_or("-"));
    if is_problem(res.response()) {
        if request_id.is_none() {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        // Problem documents are small; one that is not is passed on as it is.
        return Ok(ErrorHandlerResponse::Future(Box::pin(async move {
            let (req, res) = res.into_parts();
            let (head, body) = res.into_parts();
            let body = match actix_web::body::to_bytes_limited(body, 64 * 1024).await {
                Ok(Ok(bytes)) => with_request_id(&bytes, request_id.as_deref()),
                _ => serde_json::to_vec(
                    &ApiError::Internal("problem body unreadable".into()).to_problem(),
                )
                .unwrap_or_default(),
            };
            let mut new = head.set_body(BoxBody::new(body));
            new.headers_mut().remove(header::CONTENT_LENGTH);
            Ok(ServiceResponse::new(req, new).map_into_right_body())
        })));
    }
    let status = res.status();
    let error = match status.as_u16() {
        404 => ApiError::NotFound(format!("nothing at {}", res.request().path())),
        408 => ApiError::RequestTimeout("the request did not arrive in time".into()),
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
    problem.request_id = request_id;
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

#[cfg(test)]
mod tests {
    use super::with_request_id;

    #[test]
    fn request_id_is_appended_keeping_the_order() {
        let body = br#"{"type":"/problems/not-found","status":404}"#;
        assert_eq!(
            with_request_id(body, Some("abc")),
            br#"{"type":"/problems/not-found","status":404,"request_id":"abc"}"#
        );
        assert_eq!(
            with_request_id(b"{}", Some("abc")),
            br#"{"request_id":"abc"}"#
        );
        assert_eq!(with_request_id(b"not json", Some("abc")), b"not json");
        assert_eq!(with_request_id(body, None), body);
        let twice = with_request_id(&with_request_id(body, Some("a")), Some("b"));
        assert_eq!(twice, with_request_id(body, Some("a")));
    }
}

/// Whether the client would rather have HTML than JSON (a browser following a `type` link).
fn wants_html(req: &HttpRequest) -> bool {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let position = |media: &str| accept.find(media);
    match (position("text/html"), position("application/json")) {
        (Some(html), Some(json)) => html < json,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Text for HTML.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title></head>\n<body style=\"font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5\">\n{body}\n\
             <p><a href=\"/problems\">Every kind of problem</a> · <a href=\"/docs/\">API documentation</a></p>\n</body></html>\n",
            escape_html(title)
        ))
}

fn describe_html(t: &ProblemType) -> String {
    format!(
        "<h2 id=\"{code}\"><a href=\"/problems/{code}\">{title}</a> ({status})</h2>\n<p><code>/problems/{code}</code></p>\n<p>{description}</p>",
        code = t.code,
        title = escape_html(t.title),
        status = t.status,
        description = escape_html(t.description),
    )
}

/// Every kind of problem
///
/// The kinds of problem the API answers with (the `type` of every problem document names one),
/// each with its title, status and what it means: JSON, or HTML for a browser (`Accept:
/// text/html`).
#[utoipa::path(
    tag = "operations",
    operation_id = "listProblemTypes",
    responses(
        (status = 200, description = "Every kind of problem.", content(
            (Vec<ProblemType> = "application/json"),
            (String = "text/html", example = "<!doctype html>…")
        )),
        (status = 400, response = BadRequest),
        (status = 500, response = InternalError),
    ),
    security(())
)]
#[get("/problems")]
pub async fn list_problem_types(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    super::params::check_names(req.query_string(), &[])?;
    if wants_html(&req) {
        let body: Vec<String> = PROBLEM_TYPES.iter().map(describe_html).collect();
        return Ok(html_page(
            "Problems",
            &format!("<h1>Problems</h1>\n{}", body.join("\n")),
        ));
    }
    Ok(HttpResponse::Ok().json(PROBLEM_TYPES))
}

/// One kind of problem
///
/// What a problem `type` means: its title, status, and what a client can do about it. JSON, or
/// HTML for a browser (`Accept: text/html`). Problem documents' `type` values are these paths.
#[utoipa::path(
    tag = "operations",
    operation_id = "getProblemType",
    params(("code" = String, Path, description = "The last segment of a problem's `type`.", example = "invalid-request")),
    responses(
        (status = 200, description = "The kind of problem.", content(
            (ProblemType = "application/json"),
            (String = "text/html", example = "<!doctype html>…")
        )),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    ),
    security(())
)]
#[get("/problems/{code}")]
pub async fn get_problem_type(
    req: HttpRequest,
    code: actix_web::web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    super::params::check_names(req.query_string(), &[])?;
    let code = code.into_inner();
    let t = ProblemType::find(&code).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no kind of problem is named '{code}'; GET /problems lists them"
        ))
    })?;
    if wants_html(&req) {
        return Ok(html_page(t.title, &describe_html(t)));
    }
    Ok(HttpResponse::Ok().json(t))
}
