//! One budget or headcount entry: read, add, replace, remove.

use super::auth::authorize;
use super::body::json_body;
use super::institutes::{no_query, resolve};
use super::preconditions::{if_match, with_etag, SEQUENCE};
use super::{db, write, AppState};
use crate::error::ApiError;
use crate::model::access::Role;
use crate::model::figures::{BudgetEntry, BudgetKind, HeadcountEntry};
use crate::store::write::figures::{self as store, Budgets, Figures, Headcounts};
use crate::store::write::WriteError;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

/// A budget figure as written. Unknown fields are rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BudgetWrite {
    /// The year of the figure (first year of a multi-year commitment), 1900 to ten years ahead.
    #[schema(example = 2024, minimum = 1900)]
    year: i32,
    kind: BudgetKind,
    /// Non-negative amount in major units of `currency`.
    #[schema(
        example = 100000000_i64,
        minimum = 0,
        maximum = 1_000_000_000_000_000_i64
    )]
    amount: i64,
    /// ISO 4217 currency code.
    #[schema(example = "GBP", pattern = "^[A-Z]{3}$")]
    currency: String,
    /// Last year covered; only for `multi_year`, not before `year`.
    #[schema(example = 2028, minimum = 1900)]
    #[serde(default)]
    period_end: Option<i32>,
    /// URL or citation of the source (required).
    #[schema(
        example = "https://www.turing.ac.uk/news/ps100m-investment-alan-turing-institute-announced"
    )]
    #[schema(max_length = 2000)]
    source: String,
    /// What the figure covers.
    #[serde(default)]
    #[schema(max_length = 2000)]
    note: Option<String>,
}

/// A headcount figure as written: researchers, staff, or both. Unknown fields are rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct HeadcountWrite {
    /// The year counted, 1900 to the current year.
    #[schema(example = 2024, minimum = 1900)]
    year: i32,
    /// Researchers counted.
    #[schema(example = 350, minimum = 0, maximum = 10_000_000)]
    #[serde(default)]
    researchers: Option<i32>,
    /// Staff counted.
    #[schema(example = 440, minimum = 0, maximum = 10_000_000)]
    #[serde(default)]
    staff: Option<i32>,
    /// What was counted, in the source's words.
    #[schema(example = "total staff", max_length = 500)]
    basis: String,
    /// URL or citation of the source (required).
    #[schema(
        example = "https://computing.co.uk/news/2024/ai/redundancies-alan-turing-institute",
        max_length = 2000
    )]
    source: String,
}

const JSON: &[&str] = &["application/json"];

fn entry_not_found(entry: &str) -> ApiError {
    ApiError::NotFound(format!(
        "the institute has no entry '{}'",
        entry.escape_debug()
    ))
}

fn map_entry_error(entry: String) -> impl Fn(WriteError) -> ApiError {
    move |e| match e {
        WriteError::NotFound => entry_not_found(&entry),
        other => other.into(),
    }
}

/// Get one budget entry
///
/// One budget figure of an institute, with its `ETag`.
#[utoipa::path(
    tag = "institutes",
    operation_id = "getBudgetEntry",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute"),
        ("entry" = String, Path, description = "Id of the budget entry.", example = "bud_8k2m4n6p8q0r2s4t"),
        super::filters::CurrencyParams
    ),
    responses(
        (status = 200, description = "The entry.", body = BudgetEntry, headers(("ETag" = String, description = "The entry's ETag."))),
        (status = 304, description = "Not modified."),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 410, response = super::problems::Gone),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/{ref}/budgets/{entry}")]
pub async fn get_budget_entry(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::params::check_names(req.query_string(), &["currency"])?;
    let params: super::filters::CurrencyParams =
        super::params::parse_query(req.query_string(), &["currency"])?;
    read_entry::<Budgets>(
        req,
        path.into_inner(),
        state,
        params.currency,
        |e, rates, c, country| {
            e.converted = Some(rates.show(e.amount, &e.currency, e.year, c, country));
        },
    )
    .await
}

/// Add a budget entry
///
/// Adds a budget figure (one per institute, year and kind: a second is a 409). The institute's
/// version, latest budget and comparable USD figure follow at once. Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "createBudgetEntry",
    params(("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute")),
    request_body(content = BudgetWrite, content_type = "application/json",
        example = json!({"year": 2024, "kind": "multi_year", "amount": 100000000, "currency": "GBP", "period_end": 2028, "source": "https://www.turing.ac.uk/news/ps100m-investment-alan-turing-institute-announced"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created.", body = BudgetEntry,
            headers(("Location" = String, description = "The entry's address."), ("ETag" = String, description = "The entry's ETag."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 409, response = super::problems::Conflict),
        (status = 410, response = super::problems::Gone),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[post("/v1/institutes/{ref}/budgets")]
pub async fn create_budget_entry(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    create_entry::<Budgets>(req, path.into_inner(), body, state, "budgets").await
}

/// Replace a budget entry
///
/// Replaces a budget figure. Send `If-Match` with the ETag you read: a stale one gets 412.
/// Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "replaceBudgetEntry",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute"),
        ("entry" = String, Path, description = "Id of the budget entry.", example = "bud_8k2m4n6p8q0r2s4t"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    request_body(content = BudgetWrite, content_type = "application/json",
        example = json!({"year": 2025, "kind": "annual", "amount": 84000000000_i64, "currency": "KRW", "source": "https://example.org/annual-report"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Replaced.", body = BudgetEntry, headers(("ETag" = String, description = "The entry's ETag."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 409, response = super::problems::Conflict),
        (status = 410, response = super::problems::Gone),
        (status = 412, response = super::problems::PreconditionFailed),
        (status = 428, response = super::problems::PreconditionRequired),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[put("/v1/institutes/{ref}/budgets/{entry}")]
pub async fn replace_budget_entry(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    replace_entry::<Budgets>(req, path.into_inner(), body, state, "the budget entry").await
}

/// Delete a budget entry
///
/// Removes a budget figure (the history keeps it). Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "deleteBudgetEntry",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute"),
        ("entry" = String, Path, description = "Id of the budget entry.", example = "bud_8k2m4n6p8q0r2s4t"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 410, response = super::problems::Gone),
        (status = 412, response = super::problems::PreconditionFailed),
        (status = 428, response = super::problems::PreconditionRequired),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[delete("/v1/institutes/{ref}/budgets/{entry}")]
pub async fn delete_budget_entry(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    delete_entry::<Budgets>(req, path.into_inner(), state, "the budget entry").await
}

/// Get one headcount entry
///
/// One headcount figure of an institute, with its `ETag`.
#[utoipa::path(
    tag = "institutes",
    operation_id = "getHeadcountEntry",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute"),
        ("entry" = String, Path, description = "Id of the headcount entry.", example = "hc_1a2b3c4d5e6f7g8h")
    ),
    responses(
        (status = 200, description = "The entry.", body = HeadcountEntry, headers(("ETag" = String, description = "The entry's ETag."))),
        (status = 304, description = "Not modified."),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 410, response = super::problems::Gone),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/{ref}/headcounts/{entry}")]
pub async fn get_headcount_entry(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    read_entry::<Headcounts>(req, path.into_inner(), state, None, |_, _, _, _| {}).await
}

/// Add a headcount entry
///
/// Adds a headcount figure (one per institute and year: a second is a 409). The institute's
/// version and latest headcount follow at once. Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "createHeadcountEntry",
    params(("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute")),
    request_body(content = HeadcountWrite, content_type = "application/json",
        example = json!({"year": 2025, "staff": 400, "basis": "total staff", "source": "https://example.org/annual-report"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created.", body = HeadcountEntry,
            headers(("Location" = String, description = "The entry's address."), ("ETag" = String, description = "The entry's ETag."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 409, response = super::problems::Conflict),
        (status = 410, response = super::problems::Gone),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[post("/v1/institutes/{ref}/headcounts")]
pub async fn create_headcount_entry(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    create_entry::<Headcounts>(req, path.into_inner(), body, state, "headcounts").await
}

/// Replace a headcount entry
///
/// Replaces a headcount figure. Send `If-Match` with the ETag you read: a stale one gets 412.
/// Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "replaceHeadcountEntry",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute"),
        ("entry" = String, Path, description = "Id of the headcount entry.", example = "hc_1a2b3c4d5e6f7g8h"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    request_body(content = HeadcountWrite, content_type = "application/json",
        example = json!({"year": 2024, "staff": 440, "basis": "total staff", "source": "https://computing.co.uk/news/2024/ai/redundancies-alan-turing-institute"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Replaced.", body = HeadcountEntry, headers(("ETag" = String, description = "The entry's ETag."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 409, response = super::problems::Conflict),
        (status = 410, response = super::problems::Gone),
        (status = 412, response = super::problems::PreconditionFailed),
        (status = 428, response = super::problems::PreconditionRequired),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[put("/v1/institutes/{ref}/headcounts/{entry}")]
pub async fn replace_headcount_entry(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    replace_entry::<Headcounts>(req, path.into_inner(), body, state, "the headcount entry").await
}

/// Delete a headcount entry
///
/// Removes a headcount figure (the history keeps it). Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "deleteHeadcountEntry",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute"),
        ("entry" = String, Path, description = "Id of the headcount entry.", example = "hc_1a2b3c4d5e6f7g8h"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 410, response = super::problems::Gone),
        (status = 412, response = super::problems::PreconditionFailed),
        (status = 428, response = super::problems::PreconditionRequired),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[delete("/v1/institutes/{ref}/headcounts/{entry}")]
pub async fn delete_headcount_entry(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    delete_entry::<Headcounts>(req, path.into_inner(), state, "the headcount entry").await
}

/// `GET …/{series}/{entry}`, with `?currency=` applied by `convert`.
async fn read_entry<F: Figures>(
    req: HttpRequest,
    (reference, entry): (String, String),
    state: web::Data<AppState>,
    currency: Option<String>,
    convert: impl FnOnce(&mut F::Entry, &crate::model::money::Rates, &str, &str) + Send + 'static,
) -> Result<HttpResponse, ApiError>
where
    F::Entry: Send + 'static,
{
    let currency = super::filters::display_currency(&state, currency.as_deref())?;
    let rates = state.read.read()?.reference.rates.clone();
    let value = db(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        let mut value =
            store::get::<F>(conn, &id, &entry, &rates).map_err(map_entry_error(entry.clone()))?;
        if let Some(c) = &currency {
            let country = crate::store::institutes::country_of(conn, &id)?;
            convert(&mut value, &rates, c, &country);
        }
        Ok(value)
    })
    .await?;
    Ok(with_etag(&req, &value, HttpResponse::Ok()))
}

/// `POST …/{series}`: 201 with the entry, its address and ETag.
async fn create_entry<F: Figures>(
    req: HttpRequest,
    reference: String,
    body: web::Bytes,
    state: web::Data<AppState>,
    series: &str,
) -> Result<HttpResponse, ApiError>
where
    F::Entry: Send + 'static,
{
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let value = json_body(&req, &body, JSON)?;
    let (slug, written) = write(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        let written = store::put::<F>(conn, &id, None, None, &value, &actor.name)?;
        Ok((reference, written))
    })
    .await?;
    let json = serde_json::to_value(&written.value).unwrap_or_default();
    let mut response = HttpResponse::Created();
    response
        .insert_header((
            "Location",
            format!(
                "/v1/institutes/{slug}/{series}/{}",
                json["id"].as_str().unwrap_or_default()
            ),
        ))
        .insert_header((SEQUENCE, written.sequence.to_string()));
    Ok(with_etag(&req, &written.value, response))
}

/// `PUT …/{series}/{entry}`, guarded by `If-Match`.
async fn replace_entry<F: Figures>(
    req: HttpRequest,
    (reference, entry): (String, String),
    body: web::Bytes,
    state: web::Data<AppState>,
    what: &str,
) -> Result<HttpResponse, ApiError>
where
    F::Entry: Send + 'static,
{
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let value = json_body(&req, &body, JSON)?;
    let expected = if_match(&req, what)?;
    let written = write(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        store::put::<F>(
            conn,
            &id,
            Some(&entry),
            Some(&expected),
            &value,
            &actor.name,
        )
        .map_err(map_entry_error(entry.clone()))
    })
    .await?;
    let mut response = HttpResponse::Ok();
    response.insert_header((SEQUENCE, written.sequence.to_string()));
    Ok(with_etag(&req, &written.value, response))
}

/// `DELETE …/{series}/{entry}`, guarded by `If-Match`.
async fn delete_entry<F: Figures>(
    req: HttpRequest,
    (reference, entry): (String, String),
    state: web::Data<AppState>,
    what: &str,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let expected = if_match(&req, what)?;
    let written = write(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        store::delete::<F>(conn, &id, &entry, Some(&expected), &actor.name)
            .map_err(map_entry_error(entry.clone()))
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((SEQUENCE, written.sequence.to_string()))
        .finish())
}
