//! Writes to institutes (POST, PUT, PATCH, DELETE) and their history.

use super::auth::authorize;
use super::body::json_body;
use super::institutes::{no_query, resolve};
use super::paging::{decode_pair, encode_pair, next_link};
use super::params::{parse_query, Checker};
use super::preconditions::{if_match, with_document, SEQUENCE};
use super::{db, write, AppState};
use crate::error::ApiError;
use crate::model::access::Role;
use crate::model::history::HistoryEntry;
use crate::model::institute::{InstituteKind, InstituteStatus};
use crate::store::history::{of_institute, HistoryKeyset};
use crate::store::write::institutes::{self as store, Change};
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Identifiers of an institute in other registries.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ExternalIdsWrite {
    /// ROR id without the URL prefix.
    #[schema(example = "035dkdb55", pattern = "^0[a-z0-9]{6}[0-9]{2}$")]
    #[serde(default)]
    ror: Option<String>,
    /// Wikidata item id.
    #[schema(example = "Q20730803", pattern = "^Q[1-9][0-9]{0,10}$")]
    #[serde(default)]
    wikidata: Option<String>,
    /// GRID id.
    #[schema(example = "grid.499548.d", max_length = 40)]
    #[serde(default)]
    grid: Option<String>,
}

/// An institute as written by POST and PUT. Unknown fields are rejected; every problem is
/// reported at once, each with the JSON pointer of its field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct InstituteWrite {
    /// `[a-z0-9-]{1,100}`, unique. Derived from the name when absent on creation; kept when
    /// absent on PUT. A renamed institute keeps answering on its former slugs.
    #[schema(example = "example-ai-institute", pattern = "^[a-z0-9-]{1,100}$")]
    #[serde(default)]
    slug: Option<String>,
    /// Official name (1–300 characters).
    #[schema(example = "Example AI Institute", min_length = 1, max_length = 300)]
    name: String,
    /// Acronym (1–50 characters).
    #[schema(example = "EAII", max_length = 50)]
    #[serde(default)]
    acronym: Option<String>,
    /// Other names (at most 50, each 1–300 characters, distinct).
    #[schema(example = json!(["Institut d'exemple"]), max_items = 50)]
    #[serde(default)]
    aliases: Option<Vec<String>>,
    kind: InstituteKind,
    /// Default `active`.
    #[serde(default)]
    status: Option<InstituteStatus>,
    /// ISO 3166-1 alpha-2 code.
    #[schema(example = "CA", pattern = "^[A-Z]{2}$")]
    country: String,
    /// City (1–100 characters).
    #[schema(example = "Toronto", max_length = 100)]
    #[serde(default)]
    city: Option<String>,
    /// Year founded, 1000 to the current year.
    #[schema(example = 2017, minimum = 1000)]
    #[serde(default)]
    founded: Option<i32>,
    /// Absolute http or https URL.
    #[schema(example = "https://example.org")]
    #[serde(default)]
    website: Option<String>,
    /// Up to 5000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    description: Option<String>,
    /// Sector slugs from `/v1/sectors` (at most 25, distinct).
    #[schema(example = json!(["healthcare", "machine-learning"]), max_items = 25)]
    #[serde(default)]
    sectors: Option<Vec<String>>,
    /// Id or slug of the parent institute; it must exist, and no cycle may form.
    #[schema(example = "cifar", max_length = 200)]
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    external_ids: Option<ExternalIdsWrite>,
    /// Names of fields no cited source confirms.
    #[schema(example = json!(["website"]), max_items = 20)]
    #[serde(default)]
    unverified_fields: Option<Vec<String>>,
}

/// An RFC 7396 merge patch of an institute: the fields of `InstituteWrite`, each optional;
/// `null` removes an optional field. The result is checked like a PUT body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct InstitutePatch {
    #[schema(example = "example-ai-institute")]
    #[serde(default)]
    slug: Option<String>,
    #[schema(example = "Example Institute for AI", max_length = 300)]
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 50)]
    acronym: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    kind: Option<InstituteKind>,
    #[serde(default)]
    status: Option<InstituteStatus>,
    #[schema(example = "CA")]
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    #[schema(max_length = 100)]
    city: Option<String>,
    #[serde(default)]
    founded: Option<i32>,
    #[serde(default)]
    website: Option<String>,
    #[serde(default)]
    #[schema(max_length = 5000)]
    description: Option<String>,
    #[serde(default)]
    #[schema(max_items = 25)]
    sectors: Option<Vec<String>>,
    #[serde(default)]
    #[schema(max_length = 200)]
    parent: Option<String>,
    #[serde(default)]
    external_ids: Option<ExternalIdsWrite>,
    #[serde(default)]
    #[schema(max_items = 20)]
    unverified_fields: Option<Vec<String>>,
}

const JSON: &[&str] = &["application/json"];
const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];

/// Create an institute
///
/// Adds an institute. Answers 201 with the record, its `Location` and `ETag`. The slug is
/// derived from the name when absent (made unique with a numeric suffix). Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "createInstitute",
    request_body(content = InstituteWrite, content_type = "application/json",
        example = json!({"name": "Example AI Institute", "kind": "non_profit", "country": "CA", "city": "Toronto", "sectors": ["healthcare"], "parent": "cifar"})),
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created.", body = crate::model::institute::Institute,
            headers(("Location" = String, description = "The new institute's address."),
                    ("ETag" = String, description = "The new representation's ETag."))),
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
#[post("/v1/institutes")]
pub async fn create_institute(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let value = json_body(&req, &body, JSON)?;
    let written = write(&state, move |conn| {
        Ok(store::create(conn, &value, &actor.name)?)
    })
    .await?;
    let doc = written.value;
    let mut response = HttpResponse::Created();
    response
        .insert_header(("Location", format!("/v1/institutes/{}", doc.slug)))
        .insert_header((SEQUENCE, written.sequence.to_string()));
    Ok(with_document(&req, &doc.etag, doc.json, response))
}

/// Replace an institute
///
/// Replaces the whole record with the body (absent optional fields become empty; an absent
/// slug keeps the current one). Send `If-Match` with the ETag you read: a stale one gets 412
/// and nothing changes. Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "replaceInstitute",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    request_body(content = InstituteWrite, content_type = "application/json",
        example = json!({"name": "The Alan Turing Institute", "kind": "non_profit", "country": "GB", "city": "London", "founded": 2015})),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Replaced.", body = crate::model::institute::Institute,
            headers(("ETag" = String, description = "The new representation's ETag."))),
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
#[put("/v1/institutes/{ref}")]
pub async fn replace_institute(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    update(req, path.into_inner(), body, state, false).await
}

/// Patch an institute
///
/// Applies an RFC 7396 merge patch (`Content-Type: application/merge-patch+json`): fields
/// present replace, `null` removes. The result is checked like a PUT body. Send `If-Match` with
/// the ETag you read: a stale one gets 412 and nothing changes. Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "patchInstitute",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "alan-turing-institute"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\"")
    ),
    request_body(content = InstitutePatch, content_type = "application/merge-patch+json",
        example = json!({"city": "London", "acronym": null})),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Patched.", body = crate::model::institute::Institute,
            headers(("ETag" = String, description = "The new representation's ETag."))),
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
#[patch("/v1/institutes/{ref}")]
pub async fn patch_institute(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    update(req, path.into_inner(), body, state, true).await
}

async fn update(
    req: HttpRequest,
    reference: String,
    body: web::Bytes,
    state: web::Data<AppState>,
    merge: bool,
) -> Result<HttpResponse, ApiError> {
    no_query(&req)?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let value = json_body(&req, &body, if merge { MERGE_PATCH } else { JSON })?;
    let expected = if_match(&req, "the institute")?;
    let written = write(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        let change = if merge {
            Change::MergePatch(&value)
        } else {
            Change::Replace(&value)
        };
        Ok(store::update(
            conn,
            &id,
            Some(&expected),
            change,
            &actor.name,
        )?)
    })
    .await?;
    let doc = written.value;
    let mut response = HttpResponse::Ok();
    response.insert_header((SEQUENCE, written.sequence.to_string()));
    Ok(with_document(&req, &doc.etag, doc.json, response))
}

/// Options of a deletion.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Id or slug of the institute this one was merged into: its children move there, and
    /// this one's address answers 410 pointing to it.
    #[param(example = "cifar")]
    pub merged_into: Option<String>,
}

/// Delete an institute
///
/// Deletes the institute and its figures (its history stays). Its id and slug are never
/// reused: afterwards they answer 410, with a pointer to the successor when `merged_into` was
/// given, in which case its children move to the successor (otherwise they lose their parent).
/// Needs an editor key.
#[utoipa::path(
    tag = "institutes",
    operation_id = "deleteInstitute",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute.", example = "kyutai"),
        ("If-Match" = String, Header, description = "Required: the ETag of the resource as last read (its `ETag` header); the write happens only if it is still current (else 412 with the current ETag). `*` writes whatever the current state.", example = "\"3f9a0c1b2d4e5f60718293a4\""),
        DeleteQuery
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
#[delete("/v1/institutes/{ref}")]
pub async fn delete_institute(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query: DeleteQuery = parse_query(req.query_string(), &["merged_into"])?;
    let actor = authorize(&req, &state, Role::Editor).await?;
    let reference = path.into_inner();
    let expected = if_match(&req, "the institute")?;
    let written = write(&state, move |conn| {
        let id = resolve(conn, &reference)?;
        Ok(store::delete(
            conn,
            &id,
            Some(&expected),
            query.merged_into.as_deref(),
            &actor.name,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((SEQUENCE, written.sequence.to_string()))
        .finish())
}

/// One page of history, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    /// Pass as `cursor` for older entries; null on the last page.
    pub next_cursor: Option<String>,
    /// How many entries the institute's history holds.
    #[schema(example = 3)]
    pub total: i64,
}

/// Paging of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page, unchanged.
    #[param(example = "k1.WyIyMDI2LTExLTI5VDAzOjAwOjAwLjAwMDAwMFoiLCJjaGdfeCJd")]
    pub cursor: Option<String>,
}

/// Get an institute's history
///
/// Every change to the institute and to its figures, newest first: who (the key's name),
/// when, what (create, update, delete) and the subject before and after. History outlives the
/// institute: it can be read by id after a deletion.
#[utoipa::path(
    tag = "institutes",
    operation_id = "getInstituteHistory",
    params(
        ("ref" = String, Path, description = "Id or slug of the institute (the id also after its deletion).", example = "alan-turing-institute"),
        HistoryQuery
    ),
    responses(
        (status = 200, description = "A page of history.", body = HistoryPage,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when older entries follow."))),
        (status = 400, response = super::problems::BadRequest),
        (status = 404, response = super::problems::NotFound),
        (status = 410, response = super::problems::Gone),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/{ref}/history")]
pub async fn get_history(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query: HistoryQuery = parse_query(req.query_string(), &["limit", "cursor"])?;
    let mut check = Checker::default();
    let limit = check.int("limit", query.limit.as_deref(), 1, 100, 20);
    let mut after = None;
    if let Some(raw) = query.cursor.as_deref() {
        // A cursor's time is range-checked as a parameter's is: a forged one is a 400 on
        // either backend.
        let mut times = Checker::default();
        match decode_pair(raw).map(|(at, id)| (times.time("cursor", Some(&at)), id)) {
            Ok((Some(at), id)) if times.errors.is_empty() => after = Some(HistoryKeyset { at, id }),
            _ => check.fail("cursor", "not a cursor this API issued"),
        }
    }
    check.finish()?;
    let reference = path.into_inner();
    let (items, next, total) = db(&state, move |conn| {
        // A deleted institute's history stays readable by its id.
        let id = match resolve(conn, &reference) {
            Ok(id) => id,
            Err(e @ (ApiError::Gone { .. } | ApiError::NotFound(_))) => {
                if crate::store::institutes::was_deleted(conn, &reference)? {
                    reference.clone()
                } else {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        };
        Ok(of_institute(conn, &id, after.as_ref(), limit)?)
    })
    .await?;
    let next_cursor = next.map(|k| {
        encode_pair(
            &k.at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            &k.id,
        )
    });
    let mut response = HttpResponse::Ok();
    if let Some(c) = &next_cursor {
        response.insert_header(("Link", format!("<{}>; rel=\"next\"", next_link(&req, c))));
    }
    Ok(response.json(HistoryPage {
        items,
        next_cursor,
        total,
    }))
}
