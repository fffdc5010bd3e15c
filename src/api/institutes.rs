//! `/v1/institutes`: the list, one record, and its figure series.

use super::consistency;
use super::export::{self, Format};
use super::filters::{self, CurrencyParams, FilterParams, FILTER_NAMES};
use super::paging::{decode_cursor, encode_cursor, next_link};
use super::params::{check_names, check_names_into, parse_query, Checker};
use super::preconditions::{with_document, SEQUENCE};
use super::{db, AppState};
use crate::error::ApiError;
use crate::model::figures::{BudgetSeries, HeadcountSeries};
use crate::model::institute::Institute;
use crate::model::representation::etag;
use crate::read::query::{SortField, SortKey};
use crate::store::institutes::{self as store, Resolution};
use crate::store::write::{documents, sequence_head};
use actix_web::{get, web, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
    #[schema(example = 100)]
    pub total: i64,
}

/// Sort and paging of the institute list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Sort keys, comma-separated, each optionally prefixed with `-` for descending:
    /// relevance (only with `q`), name, founded, budget (comparable, in USD), headcount,
    /// updated, created, country (ISO code), kind. Ties break on id; missing values sort last. Default `name`, or
    /// `relevance,name` with `q`.
    #[param(example = "-budget,name")]
    pub sort: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page, unchanged (with the same sort). Absent for the
    /// first page. (The example is a cursor of `sort=-budget,name`.)
    #[param(
        example = "k1.eyJzIjoiLWJ1ZGdldCxuYW1lIiwidiI6WzEwMDAwMDAwMC4wLCJhbGFuIHR1cmluZyBpbnN0aXR1dGUiXSwiaWQiOiJpbnNfeWcwdG01c3IwbnZiZ21iMyJ9"
    )]
    pub cursor: Option<String>,
}

/// Sort and format of an export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Sort keys, as for the list (`relevance` only with `q`). Default `name`, or
    /// `relevance,name` with `q`.
    #[param(example = "-budget,name")]
    pub sort: Option<String>,
    /// `csv` (the default) or `ndjson`; overrides the `Accept` header (`text/csv`,
    /// `application/x-ndjson`). CSV columns: id, slug, name, acronym, aliases, kind, status,
    /// country, city, founded, website, description, sectors, parent_id, parent_slug, ror,
    /// wikidata, grid, headcount_year, researchers, staff, budget_year, budget_kind,
    /// budget_basis, budget_amount, budget_currency, budget_amount_usd, unverified_fields,
    /// created_at, updated_at, version, and `budget_amount_<currency>` with `currency`; lists
    /// are joined with `|`. The file is UTF-8 with CRLF line ends; a cell that a spreadsheet
    /// would run as a formula starts with `'`.
    #[param(example = "csv", pattern = "^(csv|ndjson)$")]
    pub format: Option<String>,
    /// With CSV: `true` starts the file with a UTF-8 byte-order mark, which spreadsheets need to
    /// read it as UTF-8 (and `cut`, `awk` and many CSV readers do not expect). Default `false`.
    #[param(value_type = Option<bool>, example = false)]
    pub bom: Option<String>,
}

const PAGE_NAMES: &[&str] = &["sort", "limit", "cursor"];
const EXPORT_NAMES: &[&str] = &["sort", "format", "bom"];
/// The export's parameters, which the list answers with where exports are.
const MOVED_NAMES: &[&str] = &["format", "bom"];

/// Parses `sort`: known fields, each at most once.
/// The sort keys of `raw`; with `ppp` (`currency=PPP`), `budget` orders by the comparable
/// budget in international dollars.
fn parse_sort(check: &mut Checker, raw: &str, search: bool, ppp: bool) -> Vec<SortKey> {
    let mut keys = sort_keys(check, raw, search);
    if ppp {
        for k in &mut keys {
            if k.field == SortField::Budget {
                k.field = SortField::BudgetPpp;
            }
        }
    }
    keys
}

/// What a cursor is bound to: the sort as written, and the valuation of budgets.
fn cursor_sort(sort_text: &str, ppp: bool) -> String {
    if ppp {
        format!("{sort_text} (currency=PPP)")
    } else {
        sort_text.to_string()
    }
}

fn sort_keys(check: &mut Checker, raw: &str, search: bool) -> Vec<SortKey> {
    let mut keys: Vec<SortKey> = Vec::new();
    // A '+' in a query string is a space: `sort=+budget` arrives as " budget".
    if let Some(spaced) = raw.split(',').find(|p| p.starts_with(' ')) {
        check.fail(
            "sort",
            format!(
                "'{spaced}' starts with a space (a '+' in a query string is a space); ascending is the default: write '{}'",
                spaced.trim()
            ),
        );
        return Vec::new();
    }
    for part in check.list("sort", Some(raw), 9) {
        let (descending, name) = match part.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, part.as_str()),
        };
        match SortField::parse(name) {
            Some(field) if keys.iter().any(|k| k.field == field) => {
                check.fail("sort", format!("'{name}' is given more than once"))
            }
            Some(SortField::Relevance) if !search => {
                check.fail("sort", "'relevance' needs a search: give q")
            }
            Some(field) => keys.push(SortKey { field, descending }),
            None => check.fail(
                "sort",
                format!(
                    "unknown sort key '{name}'{}; one of {}, optionally prefixed with -",
                    crate::model::spelling::hint(crate::model::spelling::closest(
                        name,
                        SortField::KEYS
                    )),
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
/// Unknown parameters and malformed values are rejected with a 400 naming them. Every match
/// at once, as CSV or NDJSON: `GET /v1/exports/institutes` with the same filters and sort.
#[utoipa::path(
    tag = "institutes",
    operation_id = "listInstitutes",
    params(FilterParams, PageParams),
    responses(
        (status = 200, description = "A page of institutes.", body = InstitutePage,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page follows."))),
        (status = 406, response = super::problems::NotAcceptable),
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
    let mut check = Checker::default();
    check_names_into(
        req.query_string(),
        &[FILTER_NAMES, PAGE_NAMES].concat(),
        &mut check,
    )?;
    // The export's parameters are not the list's: say where they went.
    for error in check.errors.iter_mut() {
        if MOVED_NAMES.contains(&error.field.as_str()) {
            error.message = "the list answers JSON pages; every match as CSV or NDJSON is GET /v1/exports/institutes, with the same filters and sort".into();
        }
    }
    let accepted = [FILTER_NAMES, PAGE_NAMES, MOVED_NAMES].concat();
    let params: FilterParams = parse_query(req.query_string(), &accepted)?;
    let paging: PageParams = parse_query(req.query_string(), &accepted)?;
    let raw = filters::parse(&params, &mut check);
    let limit = check.int("limit", paging.limit.as_deref(), 1, 100, 20);
    let sort_text = paging
        .sort
        .clone()
        .unwrap_or_else(|| default_sort(raw.has_search()).into());
    let ppp = raw.currency.as_deref() == Some(crate::model::money::PPP);
    let keys = parse_sort(&mut check, &sort_text, raw.has_search(), ppp);
    let bound = cursor_sort(&sort_text, ppp);
    let after = match paging.cursor.as_deref() {
        Some(c) => match decode_cursor(c, &bound, &keys) {
            Ok(k) => Some(k),
            Err(e) => {
                check.errors.extend(e.to_problem().errors);
                None
            }
        },
        None => None,
    };
    let (filter, display, rates) = settle(&state, raw, check).await?;
    let (answer, docs) = page(&state, &filter, &keys, after.as_ref(), limit as usize).await?;
    let next_cursor = answer.next.as_ref().map(|k| encode_cursor(&bound, k));
    let mut items = Vec::with_capacity(docs.len());
    for doc in docs {
        items.push(match &display {
            None => doc.json,
            Some(c) => {
                let mut record: Institute = doc.record().map_err(|e| {
                    ApiError::Internal(format!("stored document of {}: {e}", doc.id))
                })?;
                record.convert_money(&rates, c);
                serde_json::to_string(&record)
                    .map_err(|e| ApiError::Internal(format!("serializing {}: {e}", doc.id)))?
            }
        });
    }
    let mut response = HttpResponse::Ok();
    response.insert_header((SEQUENCE, answer.sequence.to_string()));
    if let Some(cursor) = &next_cursor {
        response.insert_header((
            "Link",
            format!("<{}>; rel=\"next\"", next_link(&req, cursor)),
        ));
    }
    let body = format!(
        "{{\"items\":[{}],\"next_cursor\":{},\"total\":{}}}",
        items.join(","),
        serde_json::to_string(&next_cursor).unwrap_or_else(|_| "null".into()),
        answer.total
    );
    Ok(response.content_type("application/json").body(body))
}

/// Resolves the filters (every problem found so far fails the request here), waits for
/// `min_sequence`, and gives the filter, the display currency and the rates.
async fn settle(
    state: &AppState,
    raw: filters::RawFilter,
    check: Checker,
) -> Result<
    (
        crate::read::query::InstituteFilter,
        Option<String>,
        crate::model::money::Rates,
    ),
    ApiError,
> {
    let display = raw.currency.clone();
    let min_sequence = raw.min_sequence;
    let (filter, check) = filters::resolve(state, raw, check).await?;
    check.finish()?;
    consistency::reach(state, min_sequence).await?;
    let rates = state.read.read()?.reference.rates.clone();
    Ok((filter, display, rates))
}

/// The default sort: by name, or by relevance then name with a search.
fn default_sort(search: bool) -> &'static str {
    if search {
        "relevance,name"
    } else {
        "name"
    }
}

/// Export institutes
///
/// Every institute matching the list's filters, in the list's sort, as one CSV file or as
/// NDJSON (one record per line), streamed: there are no pages. The `Registry-Sequence` header
/// states the change the file reflects; follow `/v1/changes?after=` from there to keep a copy
/// current. At most a few exports run at once (503 beyond that, 429 beyond a client's share);
/// a client that stops reading for 30 s loses its export.
#[utoipa::path(
    tag = "institutes",
    operation_id = "exportInstitutes",
    params(FilterParams, ExportParams),
    responses(
        (status = 200, description = "Every match, streamed.",
            content(
                (String = "text/csv", example = "id,slug,name,acronym,aliases,kind,status,country,city,founded,website,description,sectors,parent_id,parent_slug,ror,wikidata,grid,headcount_year,researchers,staff,budget_year,budget_kind,budget_basis,budget_amount,budget_currency,budget_amount_usd,unverified_fields,created_at,updated_at,version\r\n"),
                (Institute = "application/x-ndjson")
            ),
            headers(
                ("Content-Disposition" = String, description = "`attachment; filename=\"institutes.csv\"` (or `institutes.ndjson`)."),
                ("Registry-Sequence" = i64, description = "The last change the export reflects.")
            )),
        (status = 400, response = super::problems::BadRequest),
        (status = 406, response = super::problems::NotAcceptable),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/exports/institutes")]
pub async fn export_institutes(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let accepted = [FILTER_NAMES, EXPORT_NAMES].concat();
    let mut check = Checker::default();
    check_names_into(req.query_string(), &accepted, &mut check)?;
    let params: FilterParams = parse_query(req.query_string(), &accepted)?;
    let options: ExportParams = parse_query(req.query_string(), &accepted)?;
    let raw = filters::parse(&params, &mut check);
    let sort_text = options
        .sort
        .clone()
        .unwrap_or_else(|| default_sort(raw.has_search()).into());
    let ppp = raw.currency.as_deref() == Some(crate::model::money::PPP);
    let keys = parse_sort(&mut check, &sort_text, raw.has_search(), ppp);
    let format = match export::negotiate(&req, options.format.as_deref()) {
        Ok(f) => f,
        Err(e @ ApiError::NotAcceptable(_)) => return Err(e),
        Err(e) => {
            check.errors.extend(e.to_problem().errors);
            Format::Csv
        }
    };
    let bom = match options.bom.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            check.fail("bom", format!("'{other}' is not true or false"));
            false
        }
    };
    if bom && format != Format::Csv {
        check.fail("bom", "a byte-order mark starts CSV files only");
    }
    let (filter, display, rates) = settle(&state, raw, check).await?;
    let client = req
        .extensions()
        .get::<super::limits::ClientId>()
        .cloned()
        .unwrap_or(super::limits::ClientId::Unknown);
    let permit = state.exports.enter(
        &client,
        state.limits.max_exports,
        state.limits.max_client_exports,
    )?;
    let answer = state.read.all(&filter, &keys)?;
    Ok(export::stream(
        export::Job {
            pool: state.pool.clone(),
            ids: answer.ids,
            rates,
            currency: display,
            format,
            series: false,
            stall: state.limits.export_stall,
            bom,
        },
        answer.sequence,
        permit,
    ))
}

/// A page of the read model's answer with the stored documents of its ids. A document newer
/// than the answer (written meanwhile by another process) or gone makes the page be asked
/// again once the read model has caught up, so that a page never mixes two states; after a
/// second try it is answered as it stands.
async fn page(
    state: &AppState,
    filter: &crate::read::query::InstituteFilter,
    keys: &[SortKey],
    after: Option<&crate::read::query::Keyset>,
    limit: usize,
) -> Result<(crate::read::Answer, Vec<documents::Document>), ApiError> {
    for attempt in 0..2 {
        let answer = state.read.page(filter, keys, after, limit)?;
        let ids = answer.ids.clone();
        let (docs, head) = db(state, move |conn| {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let docs = documents::get_many(conn, &refs)?;
            let stale = docs.len() < refs.len() || docs.iter().any(|d| d.json.is_empty());
            let head = if stale {
                Some(sequence_head(conn)?)
            } else {
                None
            };
            Ok((docs, head))
        })
        .await?;
        let newest = docs.iter().map(|d| d.seq).max().unwrap_or(0);
        let behind = head.unwrap_or(0).max(newest);
        if attempt == 0 && behind > answer.sequence {
            state
                .read
                .reached(behind, std::time::Duration::from_secs(1))
                .await;
            continue;
        }
        let mut by_id: std::collections::HashMap<String, documents::Document> =
            docs.into_iter().map(|d| (d.id.clone(), d)).collect();
        let ordered = answer
            .ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .filter(|d| !d.json.is_empty())
            .collect();
        return Ok((answer, ordered));
    }
    Err(ApiError::Internal(
        "a page was asked for more than twice".into(),
    ))
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
/// average rate, and to `currency` when asked) and latest headcount, each with its source.
/// `include=ancestors,descendants` adds the whole lineage in the same response.
#[utoipa::path(
    tag = "institutes",
    operation_id = "getInstitute",
    params(
        ("ref" = String, Path, description = "Id, slug (current or former), or external id written `ror:…`, `wikidata:…` or `grid:…`.", example = "alan-turing-institute"),
        GetInstituteParams,
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
    const NAMES: &[&str] = &["currency", "include"];
    check_names(req.query_string(), NAMES)?;
    let params: GetInstituteParams = parse_query(req.query_string(), NAMES)?;
    let mut check = Checker::default();
    let include = check.list_of(
        "include",
        params.include.as_deref(),
        2,
        "ancestors, descendants",
        |v| match v {
            "ancestors" | "descendants" => Some(v.to_string()),
            _ => None,
        },
    );
    check.finish()?;
    let reference = path.into_inner();
    let currency = filters::display_currency(&state, params.currency.as_deref())?;
    let rates = state.read.read()?.reference.rates.clone();
    let asked = reference.clone();
    let found = db(&state, move |conn| {
        // An id or a current slug: one lookup; anything else is resolved (old slugs, merges).
        let doc = match documents::by_reference(conn, &reference)? {
            Some(doc) => doc,
            None => {
                let id = resolve(conn, &reference)?;
                documents::read(conn, &id)?.ok_or_else(|| not_found(&reference))?
            }
        };
        let id = doc.id.clone();
        if currency.is_none() && include.is_empty() {
            return Ok((doc.etag, doc.json));
        }
        let mut record: Institute = doc
            .record()
            .map_err(|e| ApiError::Internal(format!("stored document of {id}: {e}")))?;
        if let Some(c) = &currency {
            record.convert_money(&rates, c);
        }
        if include.iter().any(|i| i == "ancestors") {
            let (ancestors, truncated) = store::ancestors(conn, &id)?;
            record.ancestors = Some(ancestors);
            record.ancestors_truncated = Some(truncated);
        }
        if include.iter().any(|i| i == "descendants") {
            let (descendants, truncated) = store::descendants(conn, &id)?;
            record.descendants = Some(descendants);
            record.descendants_truncated = Some(truncated);
        }
        let json = serde_json::to_string(&record)
            .map_err(|e| ApiError::Internal(format!("serializing {id}: {e}")))?;
        Ok((etag(json.as_bytes()), json))
    })
    .await;
    let (tag, json) = match found {
        Err(ApiError::NotFound(detail)) => {
            return Err(ApiError::NotFound(format!(
                "{detail}{}",
                did_you_mean(&state, &asked)
            )))
        }
        other => other?,
    };
    Ok(with_document(&req, &tag, json, HttpResponse::Ok()))
}

/// `; did you mean 'a', 'b'?` with the slugs of up to three live institutes whose names best
/// match an unknown reference (its words, as a search), or nothing.
fn did_you_mean(state: &AppState, reference: &str) -> String {
    let text = reference.replace(['-', '_'], " ");
    let Ok(read) = state.read.read() else {
        return String::new();
    };
    let Ok(Some(found)) = state.read.search(&read, &text) else {
        return String::new();
    };
    let mut ranked: Vec<(crate::read::Tier, i64, &str)> = found
        .hits
        .iter()
        .filter_map(|ord| {
            let row = read.table.row(ord)?;
            let tier = found.tier(ord)?;
            let score = found.ranks.value(ord);
            Some((tier, -(score * 1000.0) as i64, &*row.slug))
        })
        .collect();
    ranked.sort();
    let slugs: Vec<String> = ranked
        .iter()
        .take(3)
        .map(|(_, _, slug)| format!("'{slug}'"))
        .collect();
    if slugs.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", slugs.join(", "))
    }
}

/// Options of a single institute.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetInstituteParams {
    /// ISO 4217 code: the latest budget is also shown in this currency (`converted`), at the
    /// yearly average rates of the figure's year; a missing rate gives a null amount and a note.
    #[param(example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// Lineage to add, comma-separated: `ancestors` (parent, grandparent, … to the root) and/or
    /// `descendants` (every institute below, with depth).
    #[param(
        example = "ancestors,descendants",
        pattern = "^(ancestors|descendants)(,(ancestors|descendants))?$"
    )]
    pub include: Option<String>,
}

/// Get an institute's budget series
///
/// Every budget figure of the institute, oldest first: year, kind (annual, base funding,
/// multi-year commitment, one-off, donation), amount in its own currency, the amount in USD
/// at the year's average rate (or null with the reason), and the source.
#[utoipa::path(
    tag = "institutes",
    operation_id = "getInstituteBudgets",
    params(("ref" = String, Path, description = "Id, slug, or external id of the institute.", example = "alan-turing-institute"), CurrencyParams),
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
    check_names(req.query_string(), &["currency"])?;
    let params: CurrencyParams = parse_query(req.query_string(), &["currency"])?;
    let reference = path.into_inner();
    let currency = filters::display_currency(&state, params.currency.as_deref())?;
    let rates = state.read.read()?.reference.rates.clone();
    let series = db(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        let mut series =
            store::budget_series(conn, &id, &rates)?.ok_or_else(|| not_found(&reference))?;
        if let Some(c) = &currency {
            series.convert_money(&rates, c, &store::country_of(conn, &id)?);
        }
        Ok(series)
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
