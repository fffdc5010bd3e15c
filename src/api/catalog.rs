//! Writes to programmes (editor), sectors and exchange rates (admin), and their single reads.

use super::auth::authorize;
use super::body::json_body;
use super::institutes::no_query;
use super::preconditions::{if_match, with_etag, SEQUENCE};
use super::{db, write, AppState};
use crate::error::ApiError;
use crate::model::access::Role;
use crate::model::reference::{CountryIndicator, ExchangeRate, Program, Sector};
use crate::store::reference;
use crate::store::write::{catalog as store, WriteError};
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

const JSON: &[&str] = &["application/json"];

/// A programme as written. Unknown fields are rejected.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ProgramWrite {
    /// Unique slug; derived from the name when absent on creation, kept when absent on PUT.
    #[schema(example = "example-national-ai-plan", pattern = "^[a-z0-9-]{1,100}$")]
    #[serde(default)]
    slug: Option<String>,
    /// ISO 3166-1 alpha-2 code, or `EU`.
    #[schema(example = "GB", pattern = "^[A-Z]{2}$")]
    jurisdiction: String,
    /// Name of the programme (1–300 characters).
    #[schema(example = "Example National AI Plan", max_length = 300)]
    name: String,
    /// Non-negative amount in major units of `currency`.
    #[schema(
        example = 2000000000_i64,
        minimum = 0,
        maximum = 1_000_000_000_000_000_i64
    )]
    amount: i64,
    /// ISO 4217 currency code.
    #[schema(example = "GBP", pattern = "^[A-Z]{3}$")]
    currency: String,
    /// Year announced, 1900 to the current year.
    #[schema(example = 2025, minimum = 1900)]
    announced: i32,
    /// The period the amount covers, in words.
    #[schema(example = "2025-2030", max_length = 200)]
    #[serde(default)]
    period: Option<String>,
    /// Who provides the money.
    #[schema(example = "public", max_length = 200)]
    #[serde(default)]
    public_or_private: Option<String>,
    /// URL or citation of the source (required).
    #[schema(example = "https://example.org/plan", max_length = 2000)]
    source: String,
    /// Notes and caveats.
    #[serde(default)]
    #[schema(max_length = 5000)]
    description: Option<String>,
}

/// A sector as written: `slug` on creation only.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SectorWrite {
    /// `[a-z0-9-]{1,100}`; required on creation, and cannot change afterwards.
    #[schema(example = "space", pattern = "^[a-z0-9-]{1,100}$")]
    #[serde(default)]
    slug: Option<String>,
    /// Display name (1–100 characters).
    #[schema(example = "Space", max_length = 100)]
    name: String,
    /// What the sector covers.
    #[schema(
        example = "Space science, satellites and Earth observation.",
        max_length = 2000
    )]
    #[serde(default)]
    description: Option<String>,
}

/// A yearly exchange rate as written.
/// A country's indicators of one year, as written: each value optional (null or absent where
/// the source publishes none), at least one given, and the source.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct IndicatorWrite {
    /// Midyear population (a positive whole number).
    #[schema(example = 51_751_065_i64, minimum = 1, maximum = 99_999_999_999_i64)]
    population: Option<i64>,
    /// GDP in current US dollars (positive).
    #[schema(
        example = 1_875_388_000_000.0,
        exclusive_minimum = 0,
        exclusive_maximum = 10_000_000_000_000_000_f64
    )]
    gdp_current_usd: Option<f64>,
    /// PPP conversion factor for GDP: units of the country's currency per international
    /// dollar (positive).
    #[schema(
        example = 820.67,
        exclusive_minimum = 0,
        exclusive_maximum = 1_000_000_000_f64
    )]
    ppp_lcu_per_intl_dollar: Option<f64>,
    /// Where the values come from (required): a citation or an http(s) URL.
    #[schema(example = "World Bank WDI, 2025 release", max_length = 2000)]
    source: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RateWrite {
    /// Units of the currency per 1 USD, the year's average (positive).
    #[schema(
        example = 0.9236,
        exclusive_minimum = 0,
        exclusive_maximum = 1_000_000_000_000_f64
    )]
    units_per_usd: f64,
    /// Where the rate comes from (required).
    #[schema(example = "World Bank WDI PA.NUS.FCRF", max_length = 2000)]
    source: String,
}

fn not_found(what: &str, reference: &str) -> ApiError {
    ApiError::NotFound(format!("no {what} '{}'", reference.escape_debug()))
}

fn missing(what: &'static str, reference: String) -> impl Fn(WriteError) -> ApiError {
    move |e| match e {
        WriteError::NotFound => not_found(what, &reference),
        other => other.into(),
    }
}

fn program_ref(conn: &mut crate::db::DbConnection, reference: &str) -> Result<String, ApiError> {
    if reference.len() > 200 || reference.chars().any(char::is_control) {
        return Err(not_found("programme", reference));
    }
    reference::program_id(conn, reference)?.ok_or_else(|| not_found("programme", reference))
}

/// Get one programme
///
/// One national AI programme by id or slug, with its `ETag`.
#[utoipa::path(
    tag = "reference",
    operation_id = "getProgram",
    params(("ref" = String, Path, description = "Id or slug of the programme.", example = "stargate-project"), super::filters::CurrencyParams),
    responses(
        (status = 200, description = "The programme.", body = Program, headers(("ETag" = String, description = "The programme's ETag."))),
        (status = 304, description = "Not modified."),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/programs/{ref}")]
pub async fn get_program(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::params::check_names(req.query_string(), &["currency"])?;
    let params: super::filters::CurrencyParams =
        super::params::parse_query(req.query_string(), &["currency"])?;
    let reference = path.into_inner();
    let currency = super::filters::display_currency(&state, params.currency.as_deref())?;
    let rates = state.read.read()?.reference.rates.clone();
    let program = db(&state, move |conn| {
        let id = program_ref(conn, &reference)?;
        let mut program = reference::get_program(conn, &id, &rates)?
            .ok_or_else(|| not_found("programme", &reference))?;
        if let Some(c) = &currency {
            program.convert_money(&rates, c);
        }
        Ok(program)
    })
    .await?;
    Ok(with_etag(&req, &program, HttpResponse::Ok()))
}

/// Create a programme
///
/// Adds a national AI programme. Needs an editor key.
#[utoipa::path(
    tag = "reference",
    operation_id = "createProgram",
    request_body(content = ProgramWrite, content_type = "application/json",
        example = json!({"jurisdiction": "GB", "name": "Example National AI Plan", "amount": 2000000000, "currency": "GBP", "announced": 2025, "source": "https://example.org/plan"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created.", body = Program,
            headers(("Location" = String, description = "The programme's address."), ("ETag" = String, description = "Its ETag."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 409, response = super::problems::Conflict),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[post("/v1/programs")]
pub async fn create_program(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let value = json_body(&req, &body, JSON)?;
    let written = write(&state, move |conn| {
        Ok(store::put_program(conn, None, None, &value, &actor.name)?)
    })
    .await?;
    let mut response = HttpResponse::Created();
    response
        .insert_header(("Location", format!("/v1/programs/{}", written.value.slug)))
        .insert_header((SEQUENCE, written.sequence.to_string()));
    Ok(with_etag(&req, &written.value, response))
}

/// Replace a programme
///
/// Replaces a programme (an absent slug keeps the current one). Send `If-Match` with the ETag
/// you read: a stale one gets 412. Needs an editor key.
#[utoipa::path(
    tag = "reference",
    operation_id = "replaceProgram",
    params(
        ("ref" = String, Path, description = "Id or slug of the programme.", example = "stargate-project"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    request_body(content = ProgramWrite, content_type = "application/json",
        example = json!({"jurisdiction": "US", "name": "Stargate Project", "amount": 500000000000_i64, "currency": "USD", "announced": 2025, "source": "https://example.org/stargate"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Replaced.", body = Program, headers(("ETag" = String, description = "Its ETag."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 409, response = super::problems::Conflict),
        (status = 412, response = super::problems::PreconditionFailed),
        (status = 428, response = super::problems::PreconditionRequired),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[put("/v1/programs/{ref}")]
pub async fn replace_program(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let value = json_body(&req, &body, JSON)?;
    let expected = if_match(&req, "the programme")?;
    let reference = path.into_inner();
    let written = write(&state, move |conn| {
        let id = program_ref(conn, &reference)?;
        store::put_program(conn, Some(&id), Some(&expected), &value, &actor.name)
            .map_err(missing("programme", reference.clone()))
    })
    .await?;
    let mut response = HttpResponse::Ok();
    response.insert_header((SEQUENCE, written.sequence.to_string()));
    Ok(with_etag(&req, &written.value, response))
}

/// Delete a programme
///
/// Deletes a programme (the history keeps it). Needs an editor key.
#[utoipa::path(
    tag = "reference",
    operation_id = "deleteProgram",
    params(
        ("ref" = String, Path, description = "Id or slug of the programme.", example = "stargate-project"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 412, response = super::problems::PreconditionFailed),
        (status = 428, response = super::problems::PreconditionRequired),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[delete("/v1/programs/{ref}")]
pub async fn delete_program(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let expected = if_match(&req, "the programme")?;
    let reference = path.into_inner();
    let written = write(&state, move |conn| {
        let id = program_ref(conn, &reference)?;
        store::delete_program(conn, &id, Some(&expected), &actor.name)
            .map_err(missing("programme", reference.clone()))
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((SEQUENCE, written.sequence.to_string()))
        .finish())
}

/// Get one sector
///
/// One sector of the vocabulary with its count of active institutes.
#[utoipa::path(
    tag = "reference",
    operation_id = "getSector",
    params(("slug" = String, Path, description = "Slug of the sector.", example = "healthcare")),
    responses(
        (status = 200, description = "The sector.", body = Sector, headers(("ETag" = String, description = "The sector's ETag."))),
        (status = 304, description = "Not modified."),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/sectors/{slug}")]
pub async fn get_sector(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let slug = path.into_inner();
    // From the read model, as the list: its count is a bitmap intersection, not a join.
    let sector = {
        let read = state.read.read()?;
        let s = read
            .reference
            .sectors
            .get(&slug)
            .ok_or_else(|| not_found("sector", &slug))?;
        Sector {
            institutes: crate::read::aggregates::sector_counts(&read)
                .get(&slug)
                .copied()
                .unwrap_or(0),
            slug: s.slug.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
        }
    };
    Ok(with_etag(&req, &sector, HttpResponse::Ok()))
}

/// Create a sector
///
/// Adds a sector to the vocabulary. Needs an admin key.
#[utoipa::path(
    tag = "reference",
    operation_id = "createSector",
    request_body(content = SectorWrite, content_type = "application/json",
        example = json!({"slug": "space", "name": "Space", "description": "Space science, satellites and Earth observation."})),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created.", body = Sector,
            headers(("Location" = String, description = "The sector's address."), ("ETag" = String, description = "Its ETag."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 409, response = super::problems::Conflict),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[post("/v1/sectors")]
pub async fn create_sector(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Admin).await?;
    let value = json_body(&req, &body, JSON)?;
    let written = write(&state, move |conn| {
        Ok(store::put_sector(conn, None, None, &value, &actor.name)?)
    })
    .await?;
    let mut response = HttpResponse::Created();
    response
        .insert_header(("Location", format!("/v1/sectors/{}", written.value.slug)))
        .insert_header((SEQUENCE, written.sequence.to_string()));
    Ok(with_etag(&req, &written.value, response))
}

/// Replace a sector
///
/// Changes a sector's name and description (its slug is fixed). Needs an admin key.
#[utoipa::path(
    tag = "reference",
    operation_id = "replaceSector",
    params(
        ("slug" = String, Path, description = "Slug of the sector.", example = "healthcare"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    request_body(content = SectorWrite, content_type = "application/json",
        example = json!({"name": "Health and medicine", "description": "Healthcare, medicine and life sciences."})),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Replaced.", body = Sector, headers(("ETag" = String, description = "Its ETag."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 412, response = super::problems::PreconditionFailed),
        (status = 428, response = super::problems::PreconditionRequired),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[put("/v1/sectors/{slug}")]
pub async fn replace_sector(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Admin).await?;
    let value = json_body(&req, &body, JSON)?;
    let expected = if_match(&req, "the sector")?;
    let slug = path.into_inner();
    let written = write(&state, move |conn| {
        store::put_sector(conn, Some(&slug), Some(&expected), &value, &actor.name)
            .map_err(missing("sector", slug.clone()))
    })
    .await?;
    let mut response = HttpResponse::Ok();
    response.insert_header((SEQUENCE, written.sequence.to_string()));
    Ok(with_etag(&req, &written.value, response))
}

/// Delete a sector
///
/// Removes a sector that no institute uses (otherwise 409). Needs an admin key.
#[utoipa::path(
    tag = "reference",
    operation_id = "deleteSector",
    params(
        ("slug" = String, Path, description = "Slug of the sector.", example = "quantum"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 409, response = super::problems::Conflict),
        (status = 412, response = super::problems::PreconditionFailed),
        (status = 428, response = super::problems::PreconditionRequired),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[delete("/v1/sectors/{slug}")]
pub async fn delete_sector(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Admin).await?;
    let expected = if_match(&req, "the sector")?;
    let slug = path.into_inner();
    let written = write(&state, move |conn| {
        store::delete_sector(conn, &slug, Some(&expected), &actor.name)
            .map_err(missing("sector", slug.clone()))
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((SEQUENCE, written.sequence.to_string()))
        .finish())
}

/// Checks the path of a rate: a known ISO 4217 code and a year in range.
fn rate_key(
    conn: &mut crate::db::DbConnection,
    currency: &str,
    year: &str,
) -> Result<(String, i32), ApiError> {
    let mut errors = Vec::new();
    let known = crate::store::reference::currency_codes(conn)?;
    if currency == "USD" {
        errors.push(crate::error::FieldError::new(
            "currency",
            "USD is the unit of every rate (1 by definition)",
        ));
    } else if !known.contains(currency) {
        errors.push(crate::error::FieldError::new(
            "currency",
            format!("'{}' is not an ISO 4217 code", currency.escape_debug()),
        ));
    }
    let year = match super::reference::indicator_year(year) {
        Ok(y) => Some(y),
        Err(e) => {
            errors.extend(e.to_problem().errors);
            None
        }
    };
    match year {
        Some(y) if errors.is_empty() => Ok((currency.to_string(), y)),
        _ => Err(ApiError::fields(errors)),
    }
}

/// The answer to a PUT: 201 when it created the record, else 200, with the change it made.
fn put_answer(created: bool, sequence: i64) -> actix_web::HttpResponseBuilder {
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header((SEQUENCE, sequence.to_string()));
    response
}

/// Set an exchange rate
///
/// Creates or replaces the yearly average rate of a currency (201 when new, 200 when
/// replaced). Every comparable budget in that currency is recomputed in the same transaction.
/// Needs an admin key.
#[utoipa::path(
    tag = "reference",
    operation_id = "putExchangeRate",
    params(
        ("currency" = String, Path, description = "ISO 4217 currency code.", example = "EUR"),
        ("year" = i32, Path, description = "The year averaged over.", example = 2024)
    ),
    request_body(content = RateWrite, content_type = "application/json",
        example = json!({"units_per_usd": 0.9236, "source": "World Bank WDI PA.NUS.FCRF"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Replaced.", body = ExchangeRate),
        (status = 201, description = "Created.", body = ExchangeRate),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[put("/v1/exchange-rates/{currency}/{year}")]
pub async fn put_exchange_rate(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Admin).await?;
    let value = json_body(&req, &body, JSON)?;
    let (currency, year) = path.into_inner();
    let written = write(&state, move |conn| {
        let (currency, year) = rate_key(conn, &currency, &year)?;
        Ok(store::put_rate(conn, &currency, year, &value, &actor.name)?)
    })
    .await?;
    let (rate, created) = written.value;
    Ok(put_answer(created, written.sequence).json(rate))
}

/// Delete an exchange rate
///
/// Removes a yearly rate: amounts of that currency and year then show no USD value (with a
/// reason). Needs an admin key.
#[utoipa::path(
    tag = "reference",
    operation_id = "deleteExchangeRate",
    params(
        ("currency" = String, Path, description = "ISO 4217 currency code.", example = "EUR"),
        ("year" = i32, Path, description = "The year averaged over.", example = 2024)
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[delete("/v1/exchange-rates/{currency}/{year}")]
pub async fn delete_exchange_rate(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Admin).await?;
    let (currency, year) = path.into_inner();
    let written = write(&state, move |conn| {
        let (c, y) = rate_key(conn, &currency, &year)?;
        store::delete_rate(conn, &c, y, &actor.name)
            .map_err(missing("exchange rate", format!("{c}/{y}")))
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((SEQUENCE, written.sequence.to_string()))
        .finish())
}

/// Set a country's indicators of one year
///
/// Creates or replaces the population, GDP (current US$) and PPP conversion factor of one
/// country and year, with their source (201 when the year was new, 200 when replaced). Each
/// value may be null (none published); at least one must be given. Needs an admin key.
#[utoipa::path(
    tag = "reference",
    operation_id = "putCountryIndicator",
    params(
        ("code" = String, Path, description = "ISO 3166-1 alpha-2 code, upper-case, or `EU`.", example = "KR", pattern = "^[A-Z]{2}$"),
        ("year" = i32, Path, description = "The year.", example = 2024)
    ),
    request_body(content = IndicatorWrite, content_type = "application/json",
        example = json!({"population": 51751065, "gdp_current_usd": 1875388000000.0, "ppp_lcu_per_intl_dollar": null, "source": "World Bank WDI, 2025 release"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Replaced.", body = CountryIndicator),
        (status = 201, description = "Created.", body = CountryIndicator),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 413, response = super::problems::PayloadTooLarge),
        (status = 415, response = super::problems::UnsupportedMediaType),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[put("/v1/countries/{code}/indicators/{year}")]
pub async fn put_country_indicator(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Admin).await?;
    let value = json_body(&req, &body, JSON)?;
    let (code, year) = path.into_inner();
    let written = write(&state, move |conn| {
        let code = super::reference::known_country(conn, &code)?;
        let year = super::reference::indicator_year(&year)?;
        Ok(store::put_indicator(
            conn,
            &code,
            year,
            &value,
            &actor.name,
        )?)
    })
    .await?;
    let (indicator, created) = written.value;
    Ok(put_answer(created, written.sequence).json(indicator))
}

/// Delete a country's indicators of one year
///
/// Removes one country's indicators of one year. Needs an admin key.
#[utoipa::path(
    tag = "reference",
    operation_id = "deleteCountryIndicator",
    params(
        ("code" = String, Path, description = "ISO 3166-1 alpha-2 code, upper-case, or `EU`.", example = "KR", pattern = "^[A-Z]{2}$"),
        ("year" = i32, Path, description = "The year.", example = 2024)
    ),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = super::problems::BadRequest),
        (status = 401, response = super::problems::Unauthorized),
        (status = 403, response = super::problems::Forbidden),
        (status = 404, response = super::problems::NotFound),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[delete("/v1/countries/{code}/indicators/{year}")]
pub async fn delete_country_indicator(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Admin).await?;
    let (code, year) = path.into_inner();
    let written = write(&state, move |conn| {
        let code = super::reference::known_country(conn, &code)?;
        let year = super::reference::indicator_year(&year)?;
        store::delete_indicator(conn, &code, year, &actor.name)
            .map_err(missing("country indicator", format!("{code}/{year}")))
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((SEQUENCE, written.sequence.to_string()))
        .finish())
}
