//! Request bodies: content type checked, JSON parsed, problems named.

use crate::error::ApiError;
use crate::model::json::JsonError;
use actix_web::HttpRequest;
use serde_json::Value;

/// Largest accepted request body, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Parses the body as JSON after checking that its media type is one of `accepted`; an object
/// that gives a key twice is refused, naming it.
pub fn json_body(req: &HttpRequest, body: &[u8], accepted: &[&str]) -> Result<Value, ApiError> {
    json_body_within(req, body, accepted, MAX_BODY)
}

/// As [`json_body`], for a body limited to `max` bytes.
pub fn json_body_within(
    req: &HttpRequest,
    body: &[u8],
    accepted: &[&str],
    max: usize,
) -> Result<Value, ApiError> {
    let media = media_type(req);
    if !accepted.contains(&media.as_str()) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the body as {} (got '{}')",
            accepted.join(" or "),
            if media.is_empty() {
                "no Content-Type"
            } else {
                &media
            }
        )));
    }
    if body.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "bodies are limited to {max} bytes"
        )));
    }
    crate::model::json::parse(body).map_err(|e| match e {
        JsonError::DuplicateKey(pointer) => ApiError::field(
            pointer,
            "given more than once: an object gives each key once",
        ),
        JsonError::Syntax(e) => ApiError::field(
            "/",
            format!(
                "not valid JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
    })
}
