//! What every response shares at the HTTP level: `HEAD` wherever `GET` is, conditional GETs
//! (an `ETag` on every 200 and a 304 for a current `If-None-Match`), caching headers that a CDN
//! in front of the API reads right, compression as the client asks, and CORS for browsers on
//! other origins.

use crate::model::representation::etag;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};

/// Bodies smaller than this are sent as they are: compressing them saves less than it costs.
pub const COMPRESS_MIN_BYTES: u64 = 1024;

/// Marks a request that arrived as `HEAD`.
#[derive(Clone, Copy)]
struct Head;

/// Middleware (outermost): a `HEAD` request is routed and answered as the `GET` of the same
/// resource, with the same status and headers; the connection layer sends no body (and keeps
/// the `Content-Length` of a body of known length). A streamed body (an export) is not
/// produced at all.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(Head);
    }
    let res = next.call(req).await?.map_into_boxed_body();
    if !head {
        return Ok(res);
    }
    Ok(res.map_body(|_, body| match body.size() {
        BodySize::Stream => BoxBody::new(actix_web::body::None::new()),
        _ => body,
    }))
}

/// Whether a request arrived as `HEAD` (and is being answered as its `GET`).
pub fn is_head(req: &actix_web::HttpRequest) -> bool {
    req.extensions().get::<Head>().is_some()
}

/// The `Cache-Control` of an answer: stored by shared caches and revalidated every time (with
/// its `ETag`) for public reads; only by the client for reads sent with a key; never for
/// writes, errors, probes and metrics. Swagger UI's files, which change only with a release, for
/// a day.
fn cache_control(req: &actix_web::HttpRequest, status: StatusCode) -> &'static str {
    let path = req.path();
    if req.method() != Method::GET
        || !(status.is_success() || status == StatusCode::NOT_MODIFIED)
        || super::limits::EXEMPT_PATHS.contains(&path)
    {
        return "no-store";
    }
    if path.starts_with("/docs/") && !path.ends_with('/') && !path.ends_with(".html") {
        return "public, max-age=86400";
    }
    if req.headers().contains_key(header::AUTHORIZATION) {
        return "private, no-cache";
    }
    "public, no-cache"
}

/// Adds `value` to the response's `Vary` unless it is there.
pub fn vary(headers: &mut actix_web::http::header::HeaderMap, value: &str) {
    let present = headers
        .get_all(header::VARY)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(value) || v.trim() == "*");
    if !present {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.append(header::VARY, v);
        }
    }
}

/// Middleware (inside the error handlers, so that problems pass it too): every `GET` answered
/// 200 with a body of known length gets an `ETag` (a hash of the body) unless its handler set
/// one, and a 304 instead when `If-None-Match` holds it; every answer gets its `Cache-Control`,
/// and reads `Vary: Accept` (exports and problems are negotiated on it).
pub async fn conditional(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let (req, res) = res.into_parts();
    let status = res.status();
    let mut res = res;
    let control = cache_control(&req, status);
    {
        let headers = res.headers_mut();
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(control));
        }
        if req.method() == Method::GET && req.path().starts_with("/v1/") {
            vary(headers, "Accept");
        }
    }
    let sized = matches!(res.body().size(), BodySize::Sized(_));
    if req.method() != Method::GET
        || status != StatusCode::OK
        || !sized
        || res.headers().contains_key(header::ETAG)
    {
        return Ok(ServiceResponse::new(req, res));
    }
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()))?;
    let tag = etag(&bytes);
    let res = if super::preconditions::if_none_match(&req, &tag) {
        let mut not_modified = HttpResponse::NotModified().finish();
        for name in [header::CACHE_CONTROL, header::VARY, header::LINK] {
            for value in head.headers().get_all(&name) {
                not_modified
                    .headers_mut()
                    .append(name.clone(), value.clone());
            }
        }
        not_modified
    } else {
        head.set_body(BoxBody::new(bytes))
    };
    let mut res = res;
    if let Ok(v) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(ServiceResponse::new(req, res))
}

/// The encoding the client prefers among those the server makes (brotli, zstd, gzip), by its
/// `Accept-Encoding` weights; the server's order breaks ties. `None`: as it is.
fn negotiate(req: &actix_web::HttpRequest) -> Option<ContentEncoding> {
    let accept = req.headers().get(header::ACCEPT_ENCODING)?.to_str().ok()?;
    let mut best: Option<(f32, usize, ContentEncoding)> = None;
    let offered = [
        ("br", ContentEncoding::Brotli),
        ("zstd", ContentEncoding::Zstd),
        ("gzip", ContentEncoding::Gzip),
    ];
    let weight = |name: &str| -> Option<f32> {
        accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let token = pieces.next()?.trim().to_ascii_lowercase();
                let q = pieces
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (token == name || token == "*").then_some((token == name, q))
            })
            // An explicit weight for the name wins over `*`'s.
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, q)| q)
    };
    for (rank, (name, encoding)) in offered.into_iter().enumerate() {
        let Some(q) = weight(name) else { continue };
        if q <= 0.0 {
            continue;
        }
        if best.is_none_or(|(bq, br, _)| q > bq || (q == bq && rank < br)) {
            best = Some((q, rank, encoding));
        }
    }
    best.map(|(_, _, e)| e)
}

/// Middleware: compresses an answer with the encoding the client asks for (brotli, zstd or
/// gzip), streamed for exports; bodies under [`COMPRESS_MIN_BYTES`], empty answers and 304s are
/// sent as they are. Every answer with a body says `Vary: Accept-Encoding`.
pub async fn compress(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let encoding = negotiate(req.request());
    let res = next.call(req).await?.map_into_boxed_body();
    let (req, mut res) = res.into_parts();
    let size = res.body().size();
    if matches!(size, BodySize::None) || res.status() == StatusCode::NOT_MODIFIED {
        return Ok(ServiceResponse::new(req, res));
    }
    vary(res.headers_mut(), "Accept-Encoding");
    let small = matches!(size, BodySize::Sized(n) if n < COMPRESS_MIN_BYTES);
    let Some(encoding) = encoding.filter(|_| !small) else {
        return Ok(ServiceResponse::new(req, res));
    };
    if res.headers().contains_key(header::CONTENT_ENCODING) {
        return Ok(ServiceResponse::new(req, res));
    }
    // The ETag stays as it is: it names the representation's content, whatever its coding, so
    // that a tag read compressed is the one a write sends back in If-Match.
    let (mut head, body) = res.into_parts();
    let encoded = actix_http::encoding::Encoder::response(encoding, head.head_mut(), body);
    Ok(ServiceResponse::new(
        req,
        head.set_body(BoxBody::new(encoded)),
    ))
}

/// Which browser origins may call the API (CORS), from `CORS_ORIGINS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsPolicy {
    /// No cross-origin access (the default): browsers on other origins are refused.
    #[default]
    Closed,
    /// `*`: any origin may read (`GET`, `HEAD`); writes are refused to every other origin.
    PublicReads,
    /// These origins may call every operation, keys included.
    Origins(Vec<String>),
}

/// Request headers a browser may send across origins.
const CORS_REQUEST_HEADERS: [&str; 6] = [
    "authorization",
    "if-match",
    "if-none-match",
    "content-type",
    "x-request-id",
    "accept",
];

/// Response headers a browser script on another origin may read.
const CORS_EXPOSED_HEADERS: [&str; 13] = [
    "etag",
    "link",
    "location",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
    super::preconditions::SEQUENCE,
    "x-request-id",
    "content-disposition",
    "allow",
    "deprecation",
];

impl CorsPolicy {
    /// Reads `CORS_ORIGINS`: empty (none), `*` (public reads), or origins separated by commas,
    /// each `scheme://host[:port]` (`*` does not mix with origins).
    pub fn parse(text: &str) -> Result<CorsPolicy, String> {
        let entries: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Ok(CorsPolicy::Closed);
        }
        if entries.contains(&"*") {
            if entries.len() > 1 {
                return Err("CORS_ORIGINS: `*` (public reads from anywhere) stands alone; list origins without it to let them write".into());
            }
            return Ok(CorsPolicy::PublicReads);
        }
        let mut origins = Vec::new();
        for entry in entries {
            let url = url::Url::parse(entry)
                .map_err(|e| format!("CORS_ORIGINS: '{entry}' is not an origin: {e}"))?;
            let origin = url.origin();
            if !origin.is_tuple() || !matches!(url.scheme(), "http" | "https") {
                return Err(format!(
                    "CORS_ORIGINS: '{entry}' is not an http(s) origin (scheme://host[:port])"
                ));
            }
            if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                return Err(format!(
                    "CORS_ORIGINS: '{entry}' has a path; an origin is scheme://host[:port]"
                ));
            }
            origins.push(origin.ascii_serialization());
        }
        Ok(CorsPolicy::Origins(origins))
    }

    /// The CORS middleware of this policy; `None` when closed. Preflights are answered for every
    /// documented method and header, for an hour; credentials (cookies) are never allowed, with
    /// `*` or otherwise: keys travel in `Authorization`, which a listed origin may send.
    pub fn middleware(&self) -> Option<actix_cors::Cors> {
        let base = || {
            actix_cors::Cors::default()
                .allowed_headers(CORS_REQUEST_HEADERS)
                .expose_headers(CORS_EXPOSED_HEADERS)
                .max_age(3600)
                .block_on_origin_mismatch(false)
        };
        match self {
            CorsPolicy::Closed => None,
            CorsPolicy::PublicReads => Some(
                base()
                    .allow_any_origin()
                    .send_wildcard()
                    .allowed_methods([Method::GET, Method::HEAD]),
            ),
            CorsPolicy::Origins(origins) => Some(origins.iter().fold(
                base().allowed_methods([
                    Method::GET,
                    Method::HEAD,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ]),
                |cors, origin| cors.allowed_origin(origin),
            )),
        }
    }
}

/// Whether `Accept` allows a JSON answer (absent, or naming a JSON type or a wildcard with a
/// weight above 0).
fn accepts_json(req: &actix_web::HttpRequest) -> bool {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    if accept.trim().is_empty() {
        return true;
    }
    accept.split(',').any(|part| {
        let mut pieces = part.split(';');
        let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        q > 0.0
            && matches!(
                media.as_str(),
                "application/json" | "application/problem+json" | "application/*" | "*/*"
            )
    })
}

/// Middleware (innermost): a read under `/v1` other than an export (CSV or NDJSON) answers
/// JSON only; when `Accept` rules JSON out, 406 instead of
/// JSON the client said it cannot take.
pub async fn json_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path();
    if req.method() == Method::GET
        && path.starts_with("/v1/")
        && !path.starts_with("/v1/exports/")
        && !accepts_json(req.request())
    {
        let also = if path == "/v1/institutes" {
            "; every match as CSV or NDJSON: GET /v1/exports/institutes"
        } else {
            ""
        };
        let error = crate::error::ApiError::NotAcceptable(format!(
            "{path} is available as application/json only{also}"
        ));
        return Ok(req.error_response(error).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
