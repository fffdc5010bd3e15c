//! Sectors, countries (with their indicators), programmes and exchange rates.

use super::institutes::no_query;
use super::paging::{page_in_memory, REFERENCE_PAGE};
use super::params::{parse_query, Checker};
use super::preconditions::SEQUENCE;
use super::{db, AppState};
use crate::error::ApiError;
use crate::model::reference::{
    CountryDetail, CountryIndicator, CountrySummary, ExchangeRate, Program, Sector,
};
use crate::read::aggregates;
use crate::store::reference as store;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The sector vocabulary.
#[derive(Debug, Serialize, ToSchema)]
pub struct SectorList {
    /// Every sector, by slug.
    pub items: Vec<Sector>,
}

/// Countries with institutes or programmes, a page at a time.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountryList {
    /// One summary per country, by code.
    pub items: Vec<CountrySummary>,
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
    /// How many countries the list holds, over all pages.
    #[schema(example = 29)]
    pub total: usize,
}

/// National AI programmes, a page at a time.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramList {
    /// The programmes, most recently announced first (then by jurisdiction and slug).
    pub items: Vec<Program>,
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
    /// How many programmes match, over all pages.
    #[schema(example = 12)]
    pub total: usize,
}

/// Exchange rates, a page at a time.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeRateList {
    /// The rates, by currency then year.
    pub items: Vec<ExchangeRate>,
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
    /// How many rates match, over all pages.
    #[schema(example = 177)]
    pub total: usize,
}

/// A country's indicators, a page of years at a time.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorList {
    /// The years, oldest first.
    pub items: Vec<CountryIndicator>,
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
    /// How many years the country has indicators for, over all pages.
    #[schema(example = 16)]
    pub total: usize,
}

/// Paging of a reference list. These lists are short: without `limit`, a page holds up to
/// 1,000 items, so most answers are whole.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferencePaging {
    /// Page size, 1 to 1000 (default 1000).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, example = 50)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page, unchanged. Absent for the first page.
    #[param(example = "k1.WyJDQSIsIiJd")]
    pub cursor: Option<String>,
}

const PAGING_NAMES: &[&str] = &["limit", "cursor"];

/// A reference list's paging, read.
struct Paging {
    /// The names accepted: the list's own and the paging's (to read the list's own with).
    accepted: Vec<&'static str>,
    cursor: Option<String>,
    limit: usize,
    /// Goes on with the values of the list's own parameters.
    check: Checker,
}

/// Reads a reference list's paging: checks the query's names (the list's `own` and the
/// paging's) and `limit`.
fn reference_paging(req: &HttpRequest, own: &[&'static str]) -> Result<Paging, ApiError> {
    let accepted = [own, PAGING_NAMES].concat();
    super::params::check_names(req.query_string(), &accepted)?;
    let paging: ReferencePaging = parse_query(req.query_string(), &accepted)?;
    let mut check = Checker::default();
    let limit = check.int(
        "limit",
        paging.limit.as_deref(),
        1,
        REFERENCE_PAGE,
        REFERENCE_PAGE,
    );
    Ok(Paging {
        accepted,
        cursor: paging.cursor,
        limit: limit as usize,
        check,
    })
}

/// A page of a reference list, with `Link: rel="next"` when another follows.
fn paged<T: Serialize>(
    req: &HttpRequest,
    sequence: Option<i64>,
    next_cursor: Option<String>,
    body: T,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let Some(sequence) = sequence {
        response.insert_header((SEQUENCE, sequence.to_string()));
    }
    if let Some(cursor) = &next_cursor {
        response.insert_header((
            "Link",
            format!("<{}>; rel=\"next\"", super::paging::next_link(req, cursor)),
        ));
    }
    response.json(body)
}

/// List sectors
///
/// The controlled vocabulary of focus sectors, each with the number of active institutes in it.
#[utoipa::path(
    tag = "reference",
    operation_id = "listSectors",
    responses(
        (status = 200, description = "The sectors.", body = SectorList),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/sectors")]
pub async fn list_sectors(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let read = state.read.read()?;
    let counts = aggregates::sector_counts(&read);
    let items = read
        .reference
        .sectors
        .values()
        .map(|s| Sector {
            institutes: counts.get(&s.slug).copied().unwrap_or(0),
            slug: s.slug.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((SEQUENCE, state.read.sequence().to_string()))
        .json(SectorList { items }))
}

/// List countries
///
/// Every country with at least one active institute or national programme: its active
/// institutes, their total latest researchers and staff, the total of their latest comparable
/// budgets in USD (with how many institutes contribute), and its number of programmes.
#[utoipa::path(
    tag = "reference",
    operation_id = "listCountries",
    params(super::filters::CurrencyParams, ReferencePaging),
    responses(
        (status = 200, description = "The country summaries.", body = CountryList,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page follows."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/countries")]
pub async fn list_countries(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Paging {
        accepted,
        cursor,
        limit,
        check,
    } = reference_paging(&req, &["currency"])?;
    let params: super::filters::CurrencyParams = parse_query(req.query_string(), &accepted)?;
    check.finish()?;
    let currency = super::filters::display_currency(&state, params.currency.as_deref())?;
    let read = state.read.read()?;
    let summaries = aggregates::country_summaries(&read);
    let (mut items, next_cursor, total) = page_in_memory(
        summaries,
        |c| (c.code.clone(), String::new()),
        cursor.as_deref(),
        limit,
    )?;
    if let Some(c) = &currency {
        for item in &mut items {
            item.convert_money(&read.reference.rates, c);
        }
    }
    Ok(paged(
        &req,
        Some(state.read.sequence()),
        next_cursor.clone(),
        CountryList {
            items,
            next_cursor,
            total,
        },
    ))
}

/// Get one country
///
/// One country's summary (as in the list) and its national AI programmes. Any ISO 3166-1
/// alpha-2 code answers, with zero counts where the registry holds nothing; `EU` answers for
/// the European Union's programmes.
#[utoipa::path(
    tag = "reference",
    operation_id = "getCountry",
    params(("code" = String, Path, description = "ISO 3166-1 alpha-2 code, upper-case, or `EU`.", example = "CA", pattern = "^[A-Z]{2}$"), super::filters::CurrencyParams),
    responses(
        (status = 200, description = "The country.", body = CountryDetail),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/countries/{code}")]
pub async fn get_country(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<CountryDetail>, ApiError> {
    super::params::check_names(req.query_string(), &["currency"])?;
    let params: super::filters::CurrencyParams = parse_query(req.query_string(), &["currency"])?;
    let code = path.into_inner();
    let not_found = ApiError::NotFound(format!(
        "no country has the code '{}'; codes are upper-case ISO 3166-1 alpha-2, such as CA",
        code.escape_debug()
    ));
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(not_found);
    }
    let currency = super::filters::display_currency(&state, params.currency.as_deref())?;
    let (summary, rates) = {
        let read = state.read.read()?;
        let summary = aggregates::country_summary(&read, &code).ok_or(not_found)?;
        (summary, read.reference.rates.clone())
    };
    let program_list = db(&state, move |conn| {
        Ok(store::programs_of(
            conn,
            std::slice::from_ref(&code),
            &rates,
        )?)
    })
    .await?;
    let mut detail = CountryDetail {
        institutes_url: format!("/v1/institutes?country={}", summary.code),
        summary,
        program_list,
    };
    if let Some(c) = &currency {
        detail.convert_money(&state.read.read()?.reference.rates, c);
    }
    Ok(web::Json(detail))
}

/// Filter of the programme list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListProgramsQuery {
    /// Jurisdictions, comma-separated (any of): ISO 3166-1 alpha-2 codes, or `EU`.
    #[param(example = "US,EU", pattern = r"^[A-Za-z]{2}(,[A-Za-z]{2}){0,49}$")]
    pub jurisdiction: Option<String>,
    /// ISO 4217 code: every amount is also shown in this currency (`converted`), at the
    /// yearly average rates of the year announced; a missing rate gives a null amount and a note.
    #[param(example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
}

/// List national AI programmes
///
/// National AI investment programmes (the US $500 billion infrastructure plan, France's
/// €109 billion, Japan's ¥10 trillion, the EU's InvestAI…), most recent first, each with its
/// amount, currency, the amount in USD at the announcement year's average rate, and its source.
#[utoipa::path(
    tag = "reference",
    operation_id = "listPrograms",
    params(ListProgramsQuery, ReferencePaging),
    responses(
        (status = 200, description = "The programmes.", body = ProgramList,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page follows."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/programs")]
pub async fn list_programs(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Paging {
        accepted,
        cursor,
        limit,
        mut check,
    } = reference_paging(&req, &["jurisdiction", "currency"])?;
    let query: ListProgramsQuery = parse_query(req.query_string(), &accepted)?;
    let jurisdictions: Vec<String> = check
        .list("jurisdiction", query.jurisdiction.as_deref(), 50)
        .into_iter()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let currency = super::filters::display_currency(&state, query.currency.as_deref());
    let rates = state.read.read()?.reference.rates.clone();
    let (items, next_cursor, total) = db(&state, move |conn| {
        if !jurisdictions.is_empty() {
            let known = store::country_codes(conn)?;
            for c in jurisdictions.iter().filter(|c| !known.contains(*c)) {
                check.fail(
                    "jurisdiction",
                    format!("unknown ISO 3166-1 alpha-2 code '{c}' (EU is accepted)"),
                );
            }
        }
        let currency = match currency {
            Ok(c) => c,
            Err(e) => {
                check.errors.extend(e.to_problem().errors);
                None
            }
        };
        check.finish()?;
        let all = store::programs_of(conn, &jurisdictions, &rates)?;
        // Latest announcement first: the year's complement sorts descending as text.
        let (mut items, next, total) = page_in_memory(
            all,
            |p| {
                (
                    format!("{:05}", 99_999 - i64::from(p.announced)),
                    format!("{}/{}", p.jurisdiction, p.slug),
                )
            },
            cursor.as_deref(),
            limit,
        )?;
        if let Some(c) = &currency {
            for p in &mut items {
                p.convert_money(&rates, c);
            }
        }
        Ok((items, next, total))
    })
    .await?;
    Ok(paged(
        &req,
        None,
        next_cursor.clone(),
        ProgramList {
            items,
            next_cursor,
            total,
        },
    ))
}

/// Filter of the exchange-rate list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListRatesQuery {
    /// ISO 4217 currency codes, comma-separated (any of).
    #[param(example = "EUR,GBP", pattern = r"^[A-Za-z]{3}(,[A-Za-z]{3}){0,49}$")]
    pub currency: Option<String>,
}

/// List exchange rates
///
/// The yearly average rates (units of currency per 1 USD) used to normalize money, each with
/// its source. A figure is converted only with the rate of its own year; where there is none,
/// its USD amount is null with a reason.
#[utoipa::path(
    tag = "reference",
    operation_id = "listExchangeRates",
    params(ListRatesQuery, ReferencePaging),
    responses(
        (status = 200, description = "The rates.", body = ExchangeRateList,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page follows."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/exchange-rates")]
pub async fn list_exchange_rates(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Paging {
        accepted,
        cursor,
        limit,
        mut check,
    } = reference_paging(&req, &["currency"])?;
    let query: ListRatesQuery = parse_query(req.query_string(), &accepted)?;
    let currencies: Vec<String> = check
        .list("currency", query.currency.as_deref(), 50)
        .into_iter()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let (items, next_cursor, total) = db(&state, move |conn| {
        if !currencies.is_empty() {
            let known = store::currency_codes(conn)?;
            for c in currencies.iter().filter(|c| !known.contains(*c)) {
                check.fail("currency", format!("unknown ISO 4217 code '{c}'"));
            }
        }
        check.finish()?;
        page_in_memory(
            store::exchange_rates(conn, &currencies)?,
            |r| (r.currency.clone(), format!("{:05}", r.year)),
            cursor.as_deref(),
            limit,
        )
    })
    .await?;
    Ok(paged(
        &req,
        None,
        next_cursor.clone(),
        ExchangeRateList {
            items,
            next_cursor,
            total,
        },
    ))
}

/// A country code from a path: one of the registry's countries (or `EU`), else 404.
pub(crate) fn known_country(
    conn: &mut crate::db::DbConnection,
    code: &str,
) -> Result<String, ApiError> {
    if code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && store::country_codes(conn)?.contains(code)
    {
        return Ok(code.to_string());
    }
    Err(ApiError::NotFound(format!(
        "no country has the code '{}'; codes are upper-case ISO 3166-1 alpha-2, such as KR, or EU",
        code.escape_debug()
    )))
}

/// List a country's indicators
///
/// Population (midyear), GDP in current US dollars and the PPP conversion factor of a
/// country, year by year (oldest first), each null where the source publishes no value, with
/// the source of each year. The seed holds the World Bank's World Development Indicators for
/// 2010-2025 (CC BY 4.0); an admin may set and remove years.
#[utoipa::path(
    tag = "reference",
    operation_id = "listCountryIndicators",
    params(("code" = String, Path, description = "ISO 3166-1 alpha-2 code, upper-case, or `EU`.", example = "KR", pattern = "^[A-Z]{2}$"), ReferencePaging),
    responses(
        (status = 200, description = "The country's indicators by year.", body = IndicatorList,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page follows."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/countries/{code}/indicators")]
pub async fn list_country_indicators(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Paging {
        cursor,
        limit,
        check,
        ..
    } = reference_paging(&req, &[])?;
    check.finish()?;
    let code = path.into_inner();
    let (items, next_cursor, total) = db(&state, move |conn| {
        let code = known_country(conn, &code)?;
        page_in_memory(
            store::indicators_of(conn, &code)?,
            |r| (format!("{:05}", r.year), String::new()),
            cursor.as_deref(),
            limit,
        )
    })
    .await?;
    Ok(paged(
        &req,
        None,
        next_cursor.clone(),
        IndicatorList {
            items,
            next_cursor,
            total,
        },
    ))
}

/// Get a country's indicators of one year
///
/// Population, GDP in current US dollars and the PPP conversion factor of one country and
/// year, with their source; 404 when the registry holds none for that year.
#[utoipa::path(
    tag = "reference",
    operation_id = "getCountryIndicator",
    params(
        ("code" = String, Path, description = "ISO 3166-1 alpha-2 code, upper-case, or `EU`.", example = "KR", pattern = "^[A-Z]{2}$"),
        ("year" = i32, Path, description = "The year.", example = 2024)
    ),
    responses(
        (status = 200, description = "The indicators of that year.", body = CountryIndicator),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/countries/{code}/indicators/{year}")]
pub async fn get_country_indicator(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<web::Json<CountryIndicator>, ApiError> {
    no_query(&req)?;
    let (code, year) = path.into_inner();
    let indicator = db(&state, move |conn| {
        let code = known_country(conn, &code)?;
        let year = indicator_year(&year)?;
        store::get_indicator(conn, &code, year)?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "no indicators of {code} for {year}; /v1/countries/{code}/indicators lists its years"
            ))
        })
    })
    .await?;
    Ok(web::Json(indicator))
}

/// The year of a path (an indicator's, a rate's): a whole number from 1900 to next year.
pub(crate) fn indicator_year(year: &str) -> Result<i32, ApiError> {
    let max = crate::model::input::current_year() + 1;
    match year.parse::<i32>() {
        Ok(y) if (1900..=max).contains(&y) => Ok(y),
        _ => Err(ApiError::field(
            "year",
            format!("must be a year from 1900 to {max}"),
        )),
    }
}
