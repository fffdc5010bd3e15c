//! `/v1/institutes`: the list, one record, and its figure series.

use super::body::if_none_match;
use super::paging::{decode_cursor, encode_cursor, next_link};
use super::params::{parse_query, Checker};
use super::{db, AppState};
use crate::error::ApiError;
use crate::model::figures::{BudgetSeries, HeadcountSeries};
use crate::model::institute::{Institute, InstituteKind, InstituteStatus};
use crate::store::curation::etag;
use crate::store::institutes::{self as store, InstituteFilter, Resolution, SortField, SortKey};
use crate::store::reference::{
    country_codes, currency_codes, rates, region_names_of, sector_slugs,
};
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A deleted institute, as a change feed reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tombstone {
    /// The deleted institute's id.
    #[schema(example = "ins_3f0dy3k1zw9q8v2m")]
    pub id: String,
    /// Its last slug.
    #[schema(example = "kyutai")]
    pub slug: String,
    /// Id of the institute it was merged into, if any.
    pub merged_into: Option<String>,
    /// When it was deleted (RFC 3339, UTC).
    pub deleted_at: chrono::DateTime<chrono::Utc>,
}

/// One page of institutes.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutePage {
    /// The institutes of this page.
    pub items: Vec<Institute>,
    /// Pass as `cursor` to get the next page; null on the last page.
    #[schema(
        example = "k1.eyJzIjoibmFtZSIsInYiOlsiYWxhbiB0dXJpbmcgaW5zdGl0dXRlIl0sImlkIjoiaW5zX3gifQ"
    )]
    pub next_cursor: Option<String>,
    /// How many institutes match the filters, over all pages.
    #[schema(example = 68)]
    pub total: i64,
    /// With `updated_since`, on the first page: institutes deleted since then (at most 10,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Vec<Tombstone>>,
}

/// Filters, sort and paging of the institute list. Lists are comma-separated and mean "any of".
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListInstitutesQuery {
    /// ISO 3166-1 alpha-2 country codes, comma-separated (any of; case-insensitive).
    #[param(example = "CA,GB", pattern = r"^[A-Za-z]{2}(,[A-Za-z]{2}){0,49}$")]
    pub country: Option<String>,
    /// UN M49 regions or sub-regions, comma-separated (any of; case-insensitive): `Asia`,
    /// `Europe`, `Americas`, `Africa`, `Oceania`, `Eastern Asia`, `Northern America`, …
    #[param(example = "Asia")]
    pub region: Option<String>,
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
    /// Founded in or after this year.
    #[param(value_type = Option<i32>, minimum = 1000, maximum = 3000, example = 2010)]
    pub founded_from: Option<String>,
    /// Founded in or before this year.
    #[param(value_type = Option<i32>, minimum = 1000, maximum = 3000, example = 2020)]
    pub founded_to: Option<String>,
    /// At least this latest headcount (researchers, or staff where no researchers are counted).
    #[param(value_type = Option<i32>, minimum = 0, example = 300)]
    pub headcount_min: Option<String>,
    /// At most this latest headcount.
    #[param(value_type = Option<i32>, minimum = 0, example = 5000)]
    pub headcount_max: Option<String>,
    /// At least this comparable budget (annual, or annualized multi-year), in `currency`.
    #[param(value_type = Option<i64>, minimum = 0, example = 10000000)]
    pub budget_min: Option<String>,
    /// At most this comparable budget, in `currency`.
    #[param(value_type = Option<i64>, minimum = 0, example = 1000000000)]
    pub budget_max: Option<String>,
    /// ISO 4217 code of `budget_min`/`budget_max` (default USD), converted at the latest
    /// published yearly rate of that currency.
    #[param(example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// Only children of this institute (id or slug).
    #[param(example = "cifar")]
    pub parent: Option<String>,
    /// Only these institutes: up to 100 ids or slugs, comma-separated. An unknown one is a 400.
    #[param(example = "mila,vector-institute,amii")]
    pub ids: Option<String>,
    /// A change feed: only institutes changed at or after this time (RFC 3339); the first page
    /// also lists the institutes deleted since then in `deleted`. Combine with `sort=updated`.
    #[param(example = "2026-01-01T00:00:00Z")]
    pub updated_since: Option<String>,
    /// Sort keys, comma-separated, each optionally prefixed with `-` for descending: name,
    /// founded, budget (comparable, in USD), headcount, updated, created. Ties break on id;
    /// missing values sort last. Default `name`.
    #[param(example = "-budget,name")]
    pub sort: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page, unchanged (with the same sort). Absent for the
    /// first page.
    #[param(
        example = "k1.eyJzIjoibmFtZSIsInYiOlsiYWxhbiB0dXJpbmcgaW5zdGl0dXRlIl0sImlkIjoiaW5zX3gifQ"
    )]
    pub cursor: Option<String>,
}

const LIST_PARAMS: &[&str] = &[
    "country",
    "region",
    "sector",
    "kind",
    "status",
    "founded_from",
    "founded_to",
    "headcount_min",
    "headcount_max",
    "budget_min",
    "budget_max",
    "currency",
    "parent",
    "ids",
    "updated_since",
    "sort",
    "limit",
    "cursor",
];
const MAX_LIST_VALUES: usize = 50;

/// Parses `sort`: known fields, each at most once.
fn parse_sort(check: &mut Checker, raw: Option<&str>) -> Vec<SortKey> {
    let mut keys: Vec<SortKey> = Vec::new();
    for part in check.list("sort", Some(raw.unwrap_or("name")), 6) {
        let (descending, name) = match part.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, part.as_str()),
        };
        match SortField::parse(name) {
            Some(field) if keys.iter().any(|k| k.field == field) => {
                check.fail("sort", format!("'{name}' is given more than once"))
            }
            Some(field) => keys.push(SortKey { field, descending }),
            None => check.fail(
                "sort",
                format!(
                    "unknown sort key '{name}'; one of {}, optionally prefixed with -",
                    SortField::NAMES
                ),
            ),
        }
    }
    if keys.is_empty() {
        keys.push(SortKey {
            field: SortField::Name,
            descending: false,
        });
    }
    keys
}

/// List institutes
///
/// Institutes filtered by any combination of country, region, sector, kind, status, founding
/// year, headcount, comparable budget (in any currency), parent, a batch of ids, or a change
/// time; sorted by one or more keys; in pages of `limit`. Follow `next_cursor` (or the
/// `Link: rel="next"` header) to walk every match: pages are keyset-based, so inserts and
/// deletions between requests never repeat or skip a record, and there is no depth limit.
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
    let keys = parse_sort(&mut check, query.sort.as_deref());
    let sort_text = query.sort.clone().unwrap_or_else(|| "name".into());
    let after = match query.cursor.as_deref() {
        Some(c) => match decode_cursor(c, &sort_text, &keys) {
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
    let upper =
        |v: Vec<String>| -> Vec<String> { v.into_iter().map(|c| c.to_ascii_uppercase()).collect() };
    let countries = upper(check.list("country", query.country.as_deref(), MAX_LIST_VALUES));
    let regions = check.list("region", query.region.as_deref(), MAX_LIST_VALUES);
    let sectors = check.list("sector", query.sector.as_deref(), MAX_LIST_VALUES);
    let year = |check: &mut Checker, name: &str, raw: Option<&str>| {
        raw.map(|_| check.int(name, raw, 1000, 3000, 0) as i32)
    };
    let founded_from = year(&mut check, "founded_from", query.founded_from.as_deref());
    let founded_to = year(&mut check, "founded_to", query.founded_to.as_deref());
    let count = |check: &mut Checker, name: &str, raw: Option<&str>| {
        raw.map(|_| check.int(name, raw, 0, i64::from(i32::MAX), 0) as i32)
    };
    let headcount_min = count(&mut check, "headcount_min", query.headcount_min.as_deref());
    let headcount_max = count(&mut check, "headcount_max", query.headcount_max.as_deref());
    let money = |check: &mut Checker, name: &str, raw: Option<&str>| {
        raw.map(|_| check.int(name, raw, 0, crate::model::input::MAX_AMOUNT, 0))
    };
    let budget_min = money(&mut check, "budget_min", query.budget_min.as_deref());
    let budget_max = money(&mut check, "budget_max", query.budget_max.as_deref());
    let currency = query
        .currency
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &currency {
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            check.fail("currency", "must be an ISO 4217 code such as EUR");
        }
    }
    let ids = check.list("ids", query.ids.as_deref(), 100);
    let updated_since = query.updated_since.as_deref().and_then(|t| {
        match chrono::DateTime::parse_from_rfc3339(t.trim()) {
            Ok(t) => Some(t.naive_utc()),
            Err(_) => {
                check.fail(
                    "updated_since",
                    "must be an RFC 3339 time such as 2026-01-01T00:00:00Z",
                );
                None
            }
        }
    });
    let parent = query.parent.clone();
    let first_page = after.is_none();

    let (page, deleted) =
        db(&state, move |conn| {
            if !countries.is_empty() {
                let known = country_codes(conn)?;
                for c in countries.iter().filter(|c| !known.contains(*c)) {
                    check.fail("country", format!("unknown ISO 3166-1 alpha-2 code '{c}'"));
                }
            }
            let mut region_names = Vec::new();
            if !regions.is_empty() {
                let known = region_names_of(conn)?;
                for r in &regions {
                    match known.iter().find(|k| k.eq_ignore_ascii_case(r)) {
                        Some(k) => region_names.push(k.clone()),
                        None => check.fail(
                            "region",
                            format!("unknown region '{r}'; one of {}", known.join(", ")),
                        ),
                    }
                }
            }
            if !sectors.is_empty() {
                let known = sector_slugs(conn)?;
                for s in sectors.iter().filter(|s| !known.contains(*s)) {
                    check.fail("sector", format!("unknown sector '{s}'; see /v1/sectors"));
                }
            }
            let mut currency_ok = true;
            if let Some(c) = &currency {
                currency_ok = c.len() == 3 && currency_codes(conn)?.contains(c);
                if c.len() == 3 && !currency_ok {
                    check.fail("currency", format!("unknown ISO 4217 code '{c}'"));
                }
            }
            let rates = rates(conn)?;
            let mut to_usd =
                |field: &str, amount: Option<i64>| -> Option<f64> {
                    let amount = amount.filter(|_| currency_ok)?;
                    let code = currency.clone().unwrap_or_else(|| "USD".into());
                    match rates.latest_units_per_usd(&code) {
                        Some(rate) => Some(amount as f64 / rate),
                        None => {
                            check.fail(
                        if currency.is_some() { "currency" } else { field },
                        format!("no exchange rate is known for '{code}'; see /v1/exchange-rates"),
                    );
                            None
                        }
                    }
                };
            let budget_min_usd = to_usd("budget_min", budget_min);
            let budget_max_usd = to_usd("budget_max", budget_max);
            let mut id_list = Vec::new();
            for r in &ids {
                match store::resolve_live(conn, r)? {
                    Some(id) => id_list.push(id),
                    None => check.fail(
                        "ids",
                        format!("no institute has the id or slug '{}'", r.escape_debug()),
                    ),
                }
            }
            let parent_id = match &parent {
                Some(p) => match store::resolve_live(conn, p)? {
                    Some(id) => Some(id),
                    None => {
                        check.fail(
                            "parent",
                            format!("no institute has the id or slug '{}'", p.escape_debug()),
                        );
                        None
                    }
                },
                None => None,
            };
            check.finish()?;
            let filter = InstituteFilter {
                countries,
                regions: region_names,
                sectors,
                kinds,
                statuses,
                founded_from,
                founded_to,
                headcount_min,
                headcount_max,
                budget_min_usd,
                budget_max_usd,
                parent: parent_id,
                ids: id_list,
                updated_since,
            };
            let page = store::list(conn, &filter, &keys, after.as_ref(), limit, &rates)?;
            let deleted = match (updated_since, first_page) {
                (Some(since), true) => Some(
                    store::deleted_since(conn, since, 10_000)?
                        .into_iter()
                        .map(|(id, slug, merged_into, at)| Tombstone {
                            id,
                            slug,
                            merged_into,
                            deleted_at: at.and_utc(),
                        })
                        .collect(),
                ),
                _ => None,
            };
            Ok((page, deleted))
        })
        .await?;

    let next_cursor = page.next.as_ref().map(|k| encode_cursor(&sort_text, k));
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
        deleted,
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
