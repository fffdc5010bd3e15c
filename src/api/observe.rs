//! The outermost middleware: a request id for every request, the in-flight limit, and the
//! request metrics.
//!
//! The id is the request's own `X-Request-Id` when it is 1 to 128 characters of
//! `[A-Za-z0-9._:-]`, else a new one (32 hex digits). It is echoed in the `X-Request-Id`
//! response header, put in every problem document (`request_id`), and carried by every log
//! line written while the request is handled ([`current_request_id`]).

use super::limits::EXEMPT_PATHS;
use super::metrics::Rejection;
use super::AppState;
use crate::error::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use std::cell::RefCell;
use std::time::Instant;

/// The request's id, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static TASK_REQUEST_ID: String;
}

thread_local! {
    static THREAD_REQUEST_ID: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The id of the request being handled by this task (or by this blocking thread, inside
/// [`with_request_id`]), for log lines.
pub fn current_request_id() -> Option<String> {
    TASK_REQUEST_ID
        .try_with(Clone::clone)
        .ok()
        .or_else(|| THREAD_REQUEST_ID.with(|id| id.borrow().clone()))
}

/// Runs `f` (on a blocking thread) with `id` as the current request id.
pub fn with_request_id<T>(id: Option<String>, f: impl FnOnce() -> T) -> T {
    let previous = THREAD_REQUEST_ID.with(|cell| cell.replace(id));
    let out = f();
    THREAD_REQUEST_ID.with(|cell| cell.replace(previous));
    out
}

/// An incoming id worth keeping: 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn is_sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// The id of a request: from the extensions, where [`observe`] put it.
pub fn request_id_of(req: &actix_web::HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// Middleware (outermost): assigns the request id, refuses requests beyond the in-flight
/// limit with 503, and records every answer in the metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();

    let (_guard, in_flight) = match &state {
        Some(s) => {
            let (guard, n) = s.metrics.enter();
            (Some(guard), n)
        }
        None => (None, 0),
    };
    let max = state.as_ref().map_or(0, |s| s.limits.max_in_flight);
    let mut res = if max > 0 && in_flight > max && !EXEMPT_PATHS.contains(&req.path()) {
        if let Some(s) = &state {
            s.metrics.rejected(Rejection::Overloaded);
        }
        // Outside the error handlers: the id goes in the body here.
        let res = super::problems::response_with_id(
            ApiError::Overloaded {
                detail: format!("the server is handling {max} requests already; retry shortly"),
                retry_after: 1,
            },
            &id,
        );
        req.into_response(res).map_into_boxed_body()
    } else {
        // Handlers' errors are responses by now (the request cannot be kept to answer an
        // `Err` here: routing needs it unshared).
        TASK_REQUEST_ID
            .scope(id.clone(), next.call(req))
            .await?
            .map_into_boxed_body()
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    // Shutting down: the client (or balancer) opens its next connection elsewhere.
    if state
        .as_ref()
        .is_some_and(|s| s.draining.load(std::sync::atomic::Ordering::Acquire))
    {
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_http::ConnectionType::Close);
    }
    if let Some(s) = &state {
        s.metrics.observe(
            &method,
            res.request().match_pattern().as_deref(),
            res.status().as_u16(),
            started.elapsed(),
        );
    }
    Ok(res)
}
