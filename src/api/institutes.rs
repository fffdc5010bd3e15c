//! `/v1/institutes`: the list, one record, and its figure series.

use super::body::if_none_match;
use super::paging::{decode_cursor, encode_cursor, next_link};
use super::params::{parse_query, Checker};
use super::{db, AppState};
use crate::error::ApiError;
use crate::model::figures::{BudgetSeries, HeadcountSeries};
use crate::model::institute::{Institute, InstituteKind, InstituteStatus};
use crate::store::curation::etag;
use crate::store::institutes::{self as store, InstituteFilter, Resolution};
use crate::store::reference::{country_codes, rates, sector_slugs};
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One page of institutes.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutePage {
    /// The institutes of this page.
    pub items: Vec<Institute>,
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(example = "k1.WyJhbGFuIHR1cmluZyBpbnN0aXR1dGUiLCJpbnNfeCJd")]
    pub next_cursor: Option<String>,
    /// How many institutes match the filters, over all pages.
    #[schema(example = 68)]
    pub total: i64,
}

/// Filters and paging of the institute list. Lists are comma-separated and mean "any of".
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListInstitutesQuery {
    /// ISO 3166-1 alpha-2 country codes, comma-separated (any of; case-insensitive).
    #[param(example = "CA,GB", pattern = r"^[A-Za-z]{2}(,[A-Za-z]{2}){0,49}$")]
    pub country: Option<String>,
    /// Sector slugs from `/v1/sectors`, comma-separated (any of). An unknown slug is a 400.
    #[param(
        example = "healthcare",
        pattern = r"^[a-z0-9-]{1,100}(,[a-z0-9-]{1,100}){0,49}$"
    )]
    pub sector: Option<String>,
    /// Kinds, comma-separated (any of): government, public_research, university, non_profit,
    /// consortium, company.
    #[param(
        example = "non_profit,university",
        pattern = r"^(government|public_research|university|non_profit|consortium|company)(,(government|public_research|university|non_profit|consortium|company)){0,49}$"
    )]
    pub kind: Option<String>,
    /// Statuses, comma-separated (any of): active, inactive, withdrawn. Default `active`;
    /// `all` for every status.
    #[param(
        example = "active",
        pattern = r"^(all|(active|inactive|withdrawn)(,(active|inactive|withdrawn)){0,49})$"
    )]
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page, unchanged. Absent for the first page.
    #[param(example = "k1.WyJhbGFuIHR1cmluZyBpbnN0aXR1dGUiLCJpbnNfeCJd")]
    pub cursor: Option<String>,
}

const LIST_PARAMS: &[&str] = &["country", "sector", "kind", "status", "limit", "cursor"];
const MAX_LIST_VALUES: usize = 50;

/// List institutes
///
/// Institutes in name order (accent- and case-insensitive), filtered, in pages of `limit`.
/// Follow `next_cursor` (or the `Link: rel="next"` header) to walk every match; pages are
/// keyset-based, so inserts and deletions between requests never repeat or skip a record.
/// Unknown parameters and malformed values are rejected with a 400 naming them.
#[utoipa::path(
    tag = "institutes",
    operation_id = "listInstitutes",
    params(ListInstitutesQuery),
    responses(
        (status = 200, description = "A page of institutes.", body = InstitutePage,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page follows."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes")]
pub async fn list_institutes(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query: ListInstitutesQuery = parse_query(req.query_string(), LIST_PARAMS)?;
    let mut check = Checker::default();
    let limit = check.int("limit", query.limit.as_deref(), 1, 100, 20);
    let after = match query.cursor.as_deref() {
        Some(c) => match decode_cursor(c) {
            Ok(k) => Some(k),
            Err(e) => {
                check.errors.extend(e.to_problem().errors);
                None
            }
        },
        None => None,
    };
    let kinds = check.list_of(
        "kind",
        query.kind.as_deref(),
        MAX_LIST_VALUES,
        &InstituteKind::names(),
        InstituteKind::parse,
    );
    let statuses = match query.status.as_deref() {
        Some("all") => Vec::new(),
        None => vec![InstituteStatus::Active],
        raw => check.list_of(
            "status",
            raw,
            MAX_LIST_VALUES,
            &format!("{} or all", InstituteStatus::names()),
            InstituteStatus::parse,
        ),
    };
    let countries: Vec<String> = check
        .list("country", query.country.as_deref(), MAX_LIST_VALUES)
        .into_iter()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let sectors = check.list("sector", query.sector.as_deref(), MAX_LIST_VALUES);

    let page = db(&state, move |conn| {
        if !countries.is_empty() {
            let known = country_codes(conn)?;
            for c in countries.iter().filter(|c| !known.contains(*c)) {
                check.fail("country", format!("unknown ISO 3166-1 alpha-2 code '{c}'"));
            }
        }
        if !sectors.is_empty() {
            let known = sector_slugs(conn)?;
            for s in sectors.iter().filter(|s| !known.contains(*s)) {
                check.fail("sector", format!("unknown sector '{s}'; see /v1/sectors"));
            }
        }
        check.finish()?;
        let filter = InstituteFilter {
            countries,
            sectors,
            kinds,
            statuses,
        };
        let rates = rates(conn)?;
        Ok(store::list(conn, &filter, after.as_ref(), limit, &rates)?)
    })
    .await?;

    let next_cursor = page.next.as_ref().map(encode_cursor);
    let mut response = HttpResponse::Ok();
    if let Some(cursor) = &next_cursor {
        response.insert_header((
            "Link",
            format!("<{}>; rel=\"next\"", next_link(&req, cursor)),
        ));
    }
    Ok(response.json(InstitutePage {
        items: page.items,
        next_cursor,
        total: page.total,
    }))
}

fn not_found(reference: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no institute has the id, slug or external id '{}'",
        reference.escape_debug()
    ))
}

/// Resolves `ref` to the id of a live institute; 404 when nothing has it, 410 when the
/// institute was deleted (with a pointer to its successor when it was merged). A reference no
/// record could have (too long, or holding control characters) is not looked up at all.
pub(crate) fn resolve(
    conn: &mut crate::db::DbConnection,
    reference: &str,
) -> Result<String, ApiError> {
    if reference.len() > 200 || reference.chars().any(char::is_control) {
        return Err(not_found(reference));
    }
    match store::resolve(conn, reference)? {
        Resolution::Live(id) => Ok(id),
        Resolution::Missing => Err(not_found(reference)),
        // A plain deletion leaves nothing to point to: 404. A merge points to the successor: 410.
        Resolution::Gone { successor: None } => Err(not_found(reference)),
        Resolution::Gone {
            successor: Some(successor),
        } => Err(ApiError::Gone {
            detail: format!(
                "the institute '{}' was merged into '{}': see /v1/institutes/{}",
                reference.escape_debug(),
                successor.slug,
                successor.slug
            ),
            successor: Some(successor),
        }),
    }
}

/// Reject any query string on endpoints that take no parameters.
pub(crate) fn no_query(req: &HttpRequest) -> Result<(), ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nothing {}
    parse_query::<Nothing>(req.query_string(), &[]).map(|_| ())
}

/// Get one institute
///
/// One institute by id, slug, or external id (`ror:…`, `wikidata:…`, `grid:…`), with its
/// sectors, parent, children, external ids, latest budget (converted to USD with the year's
/// average rate) and latest headcount, each with its source.
#[utoipa::path(
    tag = "institutes",
    operation_id = "getInstitute",
    params(
        ("ref" = String, Path, description = "Id, slug (current or former), or external id written `ror:…`, `wikidata:…` or `grid:…`.", example = "alan-turing-institute"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier read; 304 when it is still current.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    responses(
        (status = 200, description = "The institute.", body = Institute,
            headers(("ETag" = String, description = "Changes whenever the representation does; send it back in `If-Match` to update safely."))),
        (status = 304, description = "Not modified: `If-None-Match` holds the current ETag."),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 410, response = super::problems::Gone),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/{ref}")]
pub async fn get_institute(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let reference = path.into_inner();
    let record = db(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        let rates = rates(conn)?;
        store::get(conn, &id, &rates)?.ok_or_else(|| not_found(&reference))
    })
    .await?;
    Ok(with_etag(&req, &record, HttpResponse::Ok()))
}

/// Answers a single resource with its `ETag`, or 304 when `If-None-Match` already has it.
pub(crate) fn with_etag<T: Serialize>(
    req: &HttpRequest,
    value: &T,
    mut response: actix_web::HttpResponseBuilder,
) -> HttpResponse {
    let tag = etag(value);
    if req.method() == actix_web::http::Method::GET && if_none_match(req, &tag) {
        return HttpResponse::NotModified()
            .insert_header(("ETag", tag))
            .finish();
    }
    response.insert_header(("ETag", tag)).json(value)
}

/// Get an institute's budget series
///
/// Every budget figure of the institute, oldest first: year, kind (annual, base funding,
/// multi-year commitment, one-off, donation), amount in its own currency, the amount in USD
/// at the year's average rate (or null with the reason), and the source.
#[utoipa::path(
    tag = "institutes",
    operation_id = "getInstituteBudgets",
    params(("ref" = String, Path, description = "Id, slug, or external id of the institute.", example = "alan-turing-institute")),
    responses(
        (status = 200, description = "The budget series.", body = BudgetSeries),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 410, response = super::problems::Gone),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/{ref}/budgets")]
pub async fn get_budgets(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<BudgetSeries>, ApiError> {
    no_query(&req)?;
    let reference = path.into_inner();
    let series = db(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        let rates = rates(conn)?;
        store::budget_series(conn, &id, &rates)?.ok_or_else(|| not_found(&reference))
    })
    .await?;
    Ok(web::Json(series))
}

/// Get an institute's headcount series
///
/// Every headcount figure of the institute, oldest first: the year, researchers and/or staff
/// counted, what was counted (`basis`, in the source's words), and the source.
#[utoipa::path(
    tag = "institutes",
    operation_id = "getInstituteHeadcounts",
    params(("ref" = String, Path, description = "Id, slug, or external id of the institute.", example = "alan-turing-institute")),
    responses(
        (status = 200, description = "The headcount series.", body = HeadcountSeries),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 410, response = super::problems::Gone),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/{ref}/headcounts")]
pub async fn get_headcounts(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<HeadcountSeries>, ApiError> {
    no_query(&req)?;
    let reference = path.into_inner();
    let series = db(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        store::headcount_series(conn, &id)?.ok_or_else(|| not_found(&reference))
    })
    .await?;
    Ok(web::Json(series))
}
