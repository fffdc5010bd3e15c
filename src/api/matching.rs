//! `/v1/institutes/match`: which institutes a free-text affiliation names, one affiliation
//! (GET) or up to a hundred in order (POST).

use super::params::{check_names, parse_query, Checker};
use super::AppState;
use crate::error::{ApiError, FieldError};
use crate::model::institute::{InstituteRef, InstituteStatus};
use crate::model::matching::{MatchIndex, MatchType};
use actix_web::{get, post, web, HttpRequest};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// The longest affiliation, in characters.
const MAX_AFFILIATION: usize = 1000;
/// The most affiliations in one batch.
const MAX_BATCH: usize = 100;
/// The largest batch body, in bytes (a hundred affiliations of the longest kind).
pub const MAX_BATCH_BODY: usize = 1 << 20;

/// The affiliation to match.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchParams {
    /// An affiliation as a paper writes it. Line breaks, tabs and runs of spaces are read as
    /// one space; a NUL character is refused.
    #[param(
        required = true,
        example = "Mila - Quebec AI Institute, Université de Montréal, Montréal, QC, Canada",
        min_length = 1,
        max_length = 1000
    )]
    pub affiliation: Option<String>,
    /// Only candidates scoring at least this, from 0 to 1 (default 0).
    #[param(value_type = Option<f64>, minimum = 0, maximum = 1, example = 0.5)]
    pub min_score: Option<String>,
    /// How many candidates, 1 to 20 (default 5).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 20, example = 5)]
    pub limit: Option<String>,
}

/// One candidate institute for an affiliation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchCandidate {
    pub institute: InstituteRef,
    /// ISO 3166-1 alpha-2 code.
    #[schema(example = "CA")]
    pub country: String,
    pub status: InstituteStatus,
    /// How sure the match is, from 0 to 1. A candidate whose identifying words are missing
    /// from the affiliation, or that matched only by a short form without context, scores at
    /// most 0.7.
    #[schema(example = 0.95)]
    pub score: f64,
    pub match_type: MatchType,
    /// The name, alias or acronym that matched.
    #[schema(example = "Mila")]
    pub matched: String,
    /// Whether the affiliation names the institute's country or city.
    pub country_hint: bool,
}

/// Candidates for an affiliation, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchResult {
    /// The affiliation as given.
    pub affiliation: String,
    /// The best candidate when it is unambiguous: it scores at least 0.75 (and `min_score`)
    /// and leads the next candidate by at least 0.05. Null otherwise.
    pub chosen: Option<InstituteRef>,
    pub candidates: Vec<MatchCandidate>,
}

/// Affiliations to match, in one request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"affiliations": ["Vector Institute, Toronto, Canada", "DFKI GmbH, Saarbrücken, Germany"], "limit": 3}))]
pub struct MatchBatch {
    /// 1 to 100 affiliations, each as the `affiliation` parameter of the GET form takes it.
    #[schema(min_items = 1, max_items = 100, min_length = 1, max_length = 1000)]
    pub affiliations: Vec<String>,
    /// Only candidates scoring at least this, from 0 to 1 (default 0).
    #[schema(minimum = 0, maximum = 1, example = 0.5)]
    pub min_score: Option<f64>,
    /// How many candidates per affiliation, 1 to 20 (default 5).
    #[schema(minimum = 1, maximum = 20, example = 5)]
    pub limit: Option<i64>,
}

/// The answers of a batch, in the order of the affiliations sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchBatchResult {
    pub items: Vec<MatchResult>,
}

/// An affiliation as it comes: line breaks, tabs, other control characters and runs of
/// spaces become one space. Only NUL is refused.
pub fn normalize_affiliation(raw: &str) -> Result<String, &'static str> {
    if raw.contains('\0') {
        return Err("must not contain NUL characters");
    }
    if raw.chars().count() > MAX_AFFILIATION {
        return Err("at most 1000 characters");
    }
    let mut out = String::with_capacity(raw.len());
    for part in raw.split(|c: char| c.is_whitespace() || c.is_control()) {
        if !part.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(part);
        }
    }
    if crate::model::ids::fold(&out).is_empty() {
        return Err("must hold at least one letter or digit");
    }
    Ok(out)
}

/// Whether every value of the query string is valid UTF-8 once percent-decoded.
fn query_is_utf8(query: &str) -> bool {
    query.split('&').all(|pair| {
        let bytes = pair.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        std::str::from_utf8(&out).is_ok()
    })
}

/// One affiliation's answer.
fn answer(index: &MatchIndex, affiliation: String, min_score: f64, limit: usize) -> MatchResult {
    let found = index.find(&affiliation, limit);
    let chosen = found
        .chosen
        .map(|i| &found.candidates[i])
        .filter(|c| c.scored.score >= min_score)
        .map(|c| InstituteRef {
            id: c.entry.id.clone(),
            slug: c.entry.slug.clone(),
            name: c.entry.name.clone(),
        });
    let candidates = found
        .candidates
        .iter()
        .filter(|c| c.scored.score >= min_score)
        .map(|c| MatchCandidate {
            institute: InstituteRef {
                id: c.entry.id.clone(),
                slug: c.entry.slug.clone(),
                name: c.entry.name.clone(),
            },
            country: c.entry.country.clone(),
            status: InstituteStatus::parse(&c.entry.status).unwrap_or(InstituteStatus::Active),
            score: c.scored.score,
            match_type: c.scored.match_type,
            matched: c.scored.matched.clone(),
            country_hint: c.scored.country_hint,
        })
        .collect();
    MatchResult {
        affiliation,
        chosen,
        candidates,
    }
}

/// Answers affiliations with the current index, in order.
async fn answer_all(
    state: &AppState,
    affiliations: Vec<String>,
    min_score: f64,
    limit: usize,
) -> Result<Vec<MatchResult>, ApiError> {
    // Off the event loop: a batch of a hundred takes a while.
    let model = state.read.clone();
    web::block(move || {
        let read = model.read()?;
        Ok(affiliations
            .into_iter()
            .map(|a| answer(&read.matcher, a, min_score, limit))
            .collect())
    })
    .await?
}

/// Match an affiliation to institutes
///
/// Which institutes a free-text affiliation (as written on papers) names, with a score in
/// [0, 1] and how each matched: the official name (`exact`), an `acronym`, an `alias` (other,
/// former or translated names), the name among other words (`partial`), or most of its words
/// within a typo (`fuzzy`). Words weigh what they tell apart in the registry's own names:
/// generic words (institute, research, national …) and place names never decide a match, every
/// identifying word of a name must be present, and a short form (an acronym, or a name's head
/// such as "Vector Institute") counts only with context: the institute's city or country, its
/// parent, or its full name. A country or city named in the affiliation raises candidates
/// there (`country_hint`) and lowers the others. `chosen` is set when the best is unambiguous.
/// Line breaks, tabs and runs of spaces in the affiliation are read as one space.
#[utoipa::path(
    tag = "institutes",
    operation_id = "matchAffiliation",
    params(MatchParams),
    responses(
        (status = 200, description = "Candidates, best first, and the choice if unambiguous.", body = MatchResult),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/match")]
pub async fn match_affiliation(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<MatchResult>, ApiError> {
    const NAMES: &[&str] = &["affiliation", "min_score", "limit"];
    check_names(req.query_string(), NAMES)?;
    if !query_is_utf8(req.query_string()) {
        return Err(ApiError::field(
            "query",
            "not valid UTF-8 once percent-decoded",
        ));
    }
    let params: MatchParams = parse_query(req.query_string(), NAMES)?;
    let mut check = Checker::default();
    let affiliation = match params.affiliation.as_deref().map(normalize_affiliation) {
        None => {
            check.fail("affiliation", "required");
            String::new()
        }
        Some(Err(message)) => {
            check.fail("affiliation", message);
            String::new()
        }
        Some(Ok(a)) => a,
    };
    let limit = check.int("limit", params.limit.as_deref(), 1, 20, 5) as usize;
    let min_score = match params.min_score.as_deref() {
        None => 0.0,
        Some(raw) => match raw.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => v,
            _ => {
                check.fail("min_score", "must be a number from 0 to 1");
                0.0
            }
        },
    };
    check.finish()?;
    let mut results = answer_all(&state, vec![affiliation], min_score, limit).await?;
    Ok(web::Json(results.remove(0)))
}

/// The batch body, read strictly: every problem reported at once, each with its pointer.
fn read_batch(value: &Value) -> Result<(Vec<String>, f64, usize), ApiError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let Some(obj) = value.as_object() else {
        return Err(ApiError::field("/", "must be a JSON object"));
    };
    const FIELDS: &[&str] = &["affiliations", "min_score", "limit"];
    for key in obj.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errors.push(FieldError::new(
            format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            format!("unknown field; accepted: {}", FIELDS.join(", ")),
        ));
    }
    let mut affiliations = Vec::new();
    match obj.get("affiliations") {
        None | Some(Value::Null) => errors.push(FieldError::new("/affiliations", "required")),
        Some(Value::Array(items)) if items.is_empty() || items.len() > MAX_BATCH => {
            errors.push(FieldError::new(
                "/affiliations",
                format!("must hold 1 to {MAX_BATCH} affiliations"),
            ))
        }
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(normalize_affiliation) {
                    None => errors.push(FieldError::new(
                        format!("/affiliations/{i}"),
                        "must be a string",
                    )),
                    Some(Err(message)) => {
                        errors.push(FieldError::new(format!("/affiliations/{i}"), message))
                    }
                    Some(Ok(a)) => affiliations.push(a),
                }
            }
        }
        Some(_) => errors.push(FieldError::new(
            "/affiliations",
            "must be an array of strings",
        )),
    }
    let min_score = match obj.get("min_score") {
        None | Some(Value::Null) => 0.0,
        Some(v) => match v.as_f64() {
            Some(x) if (0.0..=1.0).contains(&x) => x,
            _ => {
                errors.push(FieldError::new(
                    "/min_score",
                    "must be a number from 0 to 1",
                ));
                0.0
            }
        },
    };
    let limit = match obj.get("limit") {
        None | Some(Value::Null) => 5,
        Some(v) => match v.as_i64() {
            Some(x) if (1..=20).contains(&x) => x as usize,
            _ => {
                errors.push(FieldError::new("/limit", "must be an integer from 1 to 20"));
                5
            }
        },
    };
    if errors.is_empty() {
        Ok((affiliations, min_score, limit))
    } else {
        Err(ApiError::fields(errors))
    }
}

/// Match affiliations to institutes, in a batch
///
/// Up to 100 affiliations in one request, answered in the order sent, each exactly as
/// `GET /v1/institutes/match` answers it. `min_score` and `limit` apply to every affiliation.
/// The body is read strictly: an unknown field, or a bad affiliation, is a 400 whose `errors`
/// name it by JSON pointer (`/affiliations/3`).
#[utoipa::path(
    tag = "institutes",
    operation_id = "matchAffiliations",
    request_body(content = MatchBatch, content_type = "application/json",
        example = json!({"affiliations": ["Vector Institute, Toronto, Canada", "DFKI GmbH, Saarbrücken, Germany"], "limit": 3})),
    responses(
        (status = 200, description = "One answer per affiliation, in the order sent.", body = MatchBatchResult),
        (status = 400, response = super::problems::BadRequest),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[post("/v1/institutes/match")]
pub async fn match_affiliations(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<web::Json<MatchBatchResult>, ApiError> {
    super::institutes::no_query(&req)?;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::field("/", format!("body not read: {e}")))?;
        if body.len() + chunk.len() > MAX_BATCH_BODY {
            return Err(ApiError::PayloadTooLarge(format!(
                "a batch body is limited to {MAX_BATCH_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let value = super::body::json_body_within(&req, &body, &["application/json"], MAX_BATCH_BODY)?;
    let (affiliations, min_score, limit) = read_batch(&value)?;
    let items = answer_all(&state, affiliations, min_score, limit).await?;
    Ok(web::Json(MatchBatchResult { items }))
}
