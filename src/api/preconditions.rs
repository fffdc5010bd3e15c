//! Conditional requests (RFC 9110 §13): the `If-Match` every write to a resource with an ETag
//! must carry (428 without it, 400 when malformed), and `If-None-Match` on reads (304).

use crate::error::ApiError;
use crate::model::representation::{etag_of, IfMatch};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;

/// The response header stating which change of the registry's sequence an answer reflects
/// (or, on a write, the change the write made).
pub const SEQUENCE: &str = "Registry-Sequence";

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::field("If-Match", message)
}

/// Reads the entity tags of a header value: `*`, or a comma-separated list of quoted tags.
/// A weak tag is refused: a write compares strongly (RFC 9110 §13.1.1).
fn parse_if_match(value: &str) -> Result<IfMatch, ApiError> {
    let value = value.trim();
    if value == "*" {
        return Ok(IfMatch::Any);
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        if rest.starts_with("W/") {
            return Err(malformed(
                "a weak ETag (W/\"…\") cannot guard a write, which compares ETags strongly; \
                 send the ETag header's value as the API gave it",
            ));
        }
        let Some(quoted) = rest.strip_prefix('"') else {
            return Err(malformed(
                "an ETag is quoted: send If-Match: \"…\" exactly as the ETag header gave it \
                 (quotes included), or *",
            ));
        };
        let Some(end) = quoted.find('"') else {
            return Err(malformed("an ETag's closing quote is missing"));
        };
        let tag = &quoted[..end];
        if tag.bytes().any(|b| b < 0x21 || b == 0x7f) {
            return Err(malformed("an ETag holds no spaces or control characters"));
        }
        tags.push(format!("\"{tag}\""));
        rest = &quoted[end + 1..];
        let next = rest.trim_start_matches([' ', '\t']);
        if !next.is_empty() && !next.starts_with(',') {
            return Err(malformed("ETags in a list are separated by commas"));
        }
    }
    if tags.is_empty() {
        return Err(malformed("empty: send the ETag header's value, or *"));
    }
    Ok(IfMatch::Tags(tags))
}

/// The `If-Match` a write must carry. `resource` names what is changed and where its ETag is
/// read, for the 428's detail.
pub fn if_match(req: &HttpRequest, resource: &str) -> Result<IfMatch, ApiError> {
    let values: Vec<&header::HeaderValue> = req.headers().get_all(header::IF_MATCH).collect();
    if values.is_empty() {
        return Err(ApiError::PreconditionRequired(format!(
            "send If-Match with the ETag of {resource} as you read it (its ETag header), or \
             If-Match: * to change it whatever its state; a write without it could undo a \
             change made since you read"
        )));
    }
    let mut tags = Vec::new();
    for value in values {
        let text = value.to_str().map_err(|_| {
            malformed(
                "must be visible ASCII: * or quoted ETags such as \"3f9a0c1b2d4e5f60718293a4\"",
            )
        })?;
        match parse_if_match(text)? {
            IfMatch::Any => return Ok(IfMatch::Any),
            IfMatch::Tags(t) => tags.extend(t),
        }
    }
    Ok(IfMatch::Tags(tags))
}

/// Whether `If-None-Match` holds the current ETag (a GET may then answer 304); the
/// comparison is weak (RFC 9110 §13.1.2).
pub fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .any(|h| {
            h.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
        })
}

/// Answers a representation given as JSON text with its ETag, or 304 when a GET's
/// `If-None-Match` already holds it.
pub fn with_document(
    req: &HttpRequest,
    etag: &str,
    json: String,
    mut response: HttpResponseBuilder,
) -> HttpResponse {
    if req.method() == actix_web::http::Method::GET && if_none_match(req, etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    response
        .insert_header((header::ETAG, etag))
        .content_type("application/json")
        .body(json)
}

/// Answers a single resource with its `ETag`, or 304 when `If-None-Match` already has it.
pub fn with_etag<T: Serialize>(
    req: &HttpRequest,
    value: &T,
    response: HttpResponseBuilder,
) -> HttpResponse {
    let json = serde_json::to_string(value).unwrap_or_default();
    let tag = etag_of(value);
    with_document(req, &tag, json, response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strong_tags_and_refuses_the_rest() {
        assert_eq!(parse_if_match(" * ").unwrap(), IfMatch::Any);
        assert_eq!(
            parse_if_match("\"a\", \"b\"").unwrap(),
            IfMatch::Tags(vec!["\"a\"".into(), "\"b\"".into()])
        );
        for bad in ["abc", "W/\"a\"", "\"a", "\"a\" \"b\"", "", ",", "\"a b\""] {
            assert!(parse_if_match(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
