//! `/v1/changes`: the registry's change sequence, for copies that follow it.

use super::params::{parse_query, Checker};
use super::preconditions::SEQUENCE;
use super::{db, AppState};
use crate::error::ApiError;
use crate::model::changes::{ChangeOp, Resource};
use crate::model::institute::Institute;
use crate::model::reference::{CountryIndicator, ExchangeRate, Program, Sector};
use crate::store::{changes as store, write::sequence_head};
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A record as it stands now, of the kind the change's `resource` names.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ChangedRecord {
    Institute(Box<Institute>),
    Program(Box<Program>),
    Sector(Sector),
    ExchangeRate(ExchangeRate),
    CountryIndicator(CountryIndicator),
}

/// One change of the registry's sequence, with what a copy needs to apply it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    /// Its number: every committed change has the next one, in commit order.
    #[schema(example = 1042)]
    pub seq: i64,
    pub resource: Resource,
    /// The record's id: an institute's or programme's id, a sector's slug, `CUR/YEAR` for an
    /// exchange rate, `CC/YEAR` for a country's indicators.
    #[schema(example = "ins_3f0dy3k1zw9q8v2m")]
    pub id: String,
    /// The record's slug (institutes, programmes, sectors) as of this change.
    #[schema(example = "alan-turing-institute")]
    pub slug: Option<String>,
    pub op: ChangeOp,
    /// With `merged`: the id of the institute it was merged into.
    #[schema(example = json!(null))]
    pub successor: Option<String>,
    /// When the change was committed (RFC 3339, UTC; the database's clock).
    pub at: DateTime<Utc>,
    /// The record as it stands now, as its own GET answers it (not as of this change: a copy
    /// that applies it converges on the registry). Null when it no longer exists: a later
    /// change in the sequence deletes it.
    pub record: Option<ChangedRecord>,
}

/// A page of the change sequence.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    /// The changes after `after`, oldest first.
    pub items: Vec<Change>,
    /// Pass as `after` for the next page: the last item's `seq` (or `after` itself when the
    /// page is empty).
    #[schema(example = 1042)]
    pub next: i64,
    /// The last committed change. The copy is current once `next` reaches it.
    #[schema(example = 1042)]
    pub head: i64,
}

/// Where to read from.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Changes after this number (default 0: from the first). Pass the previous page's `next`,
    /// the `Registry-Sequence` header of an export, or of a write's answer.
    #[param(value_type = Option<i64>, minimum = 0, example = 0)]
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, example = 100)]
    pub limit: Option<String>,
}

/// Follow the registry's changes
///
/// Every committed change to an institute (its record, figures, or what its representation
/// shows), a programme, a sector or an exchange rate, in commit order, each numbered in one
/// registry-wide sequence: creations, updates, deletions and merges alike (tombstones inline,
/// with the successor of a merge). Pages are exact and complete, with no depth limit: start
/// from 0 (or from the `Registry-Sequence` of an export), pass `next` as `after`, and stop when
/// `next` equals `head`; poll again later from there. A copy that applies each change
/// (upserting `record`, removing what is deleted) equals the registry.
#[utoipa::path(
    tag = "changes",
    operation_id = "listChanges",
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of changes.", body = ChangePage,
            headers(
                ("Registry-Sequence" = i64, description = "The head of the sequence, as in `head`."),
                ("Link" = String, description = "`<url>; rel=\"next\"` when more changes follow.")
            )),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/changes")]
pub async fn list_changes(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query: ChangesQuery = parse_query(req.query_string(), &["after", "limit"])?;
    let mut check = Checker::default();
    let after = check.int("after", query.after.as_deref(), 0, i64::MAX, 0);
    let limit = check.int("limit", query.limit.as_deref(), 1, 1000, 100);
    check.finish()?;
    let page = db(&state, move |conn| {
        let rows = store::after(conn, after, limit)?;
        let records = store::records(conn, &rows)?;
        let head = sequence_head(conn)?;
        let next = rows.last().map_or(after, |r| r.seq);
        let items = rows
            .into_iter()
            .map(|r| {
                let resource = Resource::parse(&r.resource).unwrap_or(Resource::Institute);
                let record = match resource {
                    Resource::Institute => records
                        .institutes
                        .get(&r.resource_id)
                        .map(|i| ChangedRecord::Institute(Box::new(i.clone()))),
                    Resource::Program => records
                        .programs
                        .get(&r.resource_id)
                        .cloned()
                        .map(|p| ChangedRecord::Program(Box::new(p))),
                    Resource::Sector => records
                        .sectors
                        .get(&r.resource_id)
                        .cloned()
                        .map(ChangedRecord::Sector),
                    Resource::ExchangeRate => records
                        .rates
                        .get(&r.resource_id)
                        .cloned()
                        .map(ChangedRecord::ExchangeRate),
                    Resource::CountryIndicator => records
                        .indicators
                        .get(&r.resource_id)
                        .cloned()
                        .map(ChangedRecord::CountryIndicator),
                };
                Change {
                    seq: r.seq,
                    resource,
                    id: r.resource_id,
                    slug: r.slug,
                    op: ChangeOp::parse(&r.op).unwrap_or(ChangeOp::Updated),
                    successor: r.successor,
                    at: r.at.and_utc(),
                    record,
                }
            })
            .collect();
        Ok(ChangePage { items, next, head })
    })
    .await?;
    let mut response = HttpResponse::Ok();
    response.insert_header((SEQUENCE, page.head.to_string()));
    if page.next < page.head {
        response.insert_header((
            "Link",
            format!(
                "</v1/changes?after={}&limit={limit}>; rel=\"next\"",
                page.next
            ),
        ));
    }
    Ok(response.json(page))
}
