//! Writes: each one transaction that locks what it changes, checks the caller's ETag against
//! the current state, applies the change, and records it in the history.

use super::history::record;
use super::institutes::{get, refresh_latest};
use super::now;
use super::reference::{country_codes, currency_codes, rates, sector_slugs};
use super::rows::{BudgetRow, HeadcountRow, InstituteRow};
use crate::db::schema::{
    budgets, former_slugs, headcounts, institute_sectors, institutes, registry_meta, tombstones,
};
use crate::db::{Backend, DbConnection};
use crate::error::FieldError;
use crate::model::access::Actor;
use crate::model::figures::{BudgetEntry, HeadcountEntry};
use crate::model::history::{Action, Subject};
use crate::model::ids::{fold, new_id, slugify};
use crate::model::input::{BudgetInput, HeadcountInput, InstituteInput, Vocabulary};
use crate::model::institute::Institute;
use crate::model::text::{acronym_key, search_text};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("not found")]
    NotFound,
    #[error("the resource changed since it was read (current ETag {current})")]
    Stale { current: String },
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("conflict: {}", .0.message)]
    Conflict(FieldError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

fn invalid(field: &str, message: impl Into<String>) -> WriteError {
    WriteError::Invalid(vec![FieldError::new(field, message)])
}

/// The strong ETag of a representation: a digest of its JSON.
pub fn etag<T: Serialize>(value: &T) -> String {
    let digest = Sha256::digest(serde_json::to_vec(value).unwrap_or_default());
    format!("\"{}\"", &hex::encode(digest)[..24])
}

/// Whether an `If-Match` header value admits the current ETag (`*` admits anything). The
/// comparison is strong (RFC 9110): a weak tag never matches.
pub fn matches(if_match: &str, current: &str) -> bool {
    if_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current)
}

/// Fails with the current ETag when `If-Match` was given and no longer matches.
pub fn check_precondition(if_match: Option<&str>, current: String) -> Result<(), WriteError> {
    match if_match {
        Some(header) if !matches(header, &current) => Err(WriteError::Stale { current }),
        _ => Ok(()),
    }
}

/// Takes the write lock before anything is read, so that the read-check-write that follows
/// cannot interleave with another writer, whatever rows the checks span (parent cycles,
/// figures and rates, slugs): on SQLite the database's single write lock (a transaction that
/// writes first never meets a stale snapshot); on PostgreSQL one transaction-scoped advisory
/// lock that every write takes. Reads never wait for it. The write counts as changing the
/// registry's shape (see `reshape`).
pub fn begin_write(conn: &mut DbConnection, _institute: Option<&str>) -> QueryResult<()> {
    lock_for_write(conn)?;
    reshape(conn)
}

/// Takes the write lock and bumps the registry's generation, without saying yet whether the
/// write changes the registry's shape.
pub fn lock_for_write(conn: &mut DbConnection) -> QueryResult<()> {
    if conn.backend() == Backend::Postgres {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"))
            .execute(conn)?;
    }
    // The registry's generation: bumped by every write, in its transaction. On SQLite this
    // update also takes the database's write lock at once.
    bump(conn, "write_lock")
}

/// Marks the write as changing the registry's shape: what list totals and aggregates are
/// computed from (which institutes exist, their status, country, kind, founding year,
/// sectors, parent, names, figures; rates, sectors, programmes). Caches of derived values
/// (list totals, `/v1/stats`, `/v1/countries`) key on it, so an edit of free text alone
/// keeps them.
pub fn reshape(conn: &mut DbConnection) -> QueryResult<()> {
    bump(conn, "shape")
}

fn bump(conn: &mut DbConnection, key: &'static str) -> QueryResult<()> {
    diesel::sql_query(format!(
        "UPDATE registry_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) \
         WHERE key = '{key}'"
    ))
    .execute(conn)?;
    Ok(())
}

fn counter(conn: &mut DbConnection, key: &str) -> QueryResult<i64> {
    let value: String = registry_meta::table
        .find(key)
        .select(registry_meta::value)
        .first(conn)?;
    Ok(value.parse().unwrap_or(0))
}

/// The registry's generation: it changes whenever any write commits.
pub fn generation(conn: &mut DbConnection) -> QueryResult<i64> {
    counter(conn, "write_lock")
}

/// The generation a derived value keys on: the registry's shape, or its generation when the
/// value depends on update times (`updated_since`).
pub fn cache_generation(conn: &mut DbConnection, by_update_time: bool) -> QueryResult<i64> {
    if by_update_time {
        generation(conn)
    } else {
        counter(conn, "shape")
    }
}

/// The advisory lock key of registry writes on PostgreSQL.
const WRITE_LOCK_KEY: i64 = 0x1_2e61_5472;

/// The codes and slugs input is checked against.
pub fn vocabulary(conn: &mut DbConnection) -> QueryResult<Vocabulary> {
    let jurisdictions = country_codes(conn)?;
    let countries = jurisdictions
        .iter()
        .filter(|c| *c != "EU")
        .cloned()
        .collect();
    Ok(Vocabulary {
        countries,
        jurisdictions,
        currencies: currency_codes(conn)?,
        sectors: sector_slugs(conn)?,
    })
}

/// The record as an input body: what a merge patch applies to.
pub fn as_input(record: &Institute) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            out.insert(k.to_string(), v);
        }
    };
    put("slug", json!(record.slug));
    put("name", json!(record.name));
    put("acronym", json!(record.acronym));
    put("aliases", json!(record.aliases));
    put("kind", json!(record.kind));
    put("status", json!(record.status));
    put("country", json!(record.country));
    put("city", json!(record.city));
    put("founded", json!(record.founded));
    put("website", json!(record.website));
    put("description", json!(record.description));
    put("sectors", json!(record.sectors));
    put("parent", json!(record.parent.as_ref().map(|p| &p.slug)));
    let ids = &record.external_ids;
    let mut external = Map::new();
    for (k, v) in [
        ("ror", &ids.ror),
        ("wikidata", &ids.wikidata),
        ("grid", &ids.grid),
    ] {
        if let Some(v) = v {
            external.insert(k.to_string(), json!(v));
        }
    }
    put("external_ids", Value::Object(external));
    put("unverified_fields", json!(record.unverified_fields));
    Value::Object(out)
}

/// Whether a slug is in use by another institute, as a former slug, or by a deleted one.
fn slug_taken(conn: &mut DbConnection, slug: &str, except: Option<&str>) -> QueryResult<bool> {
    if crate::model::ids::RESERVED_SLUGS.contains(&slug) {
        return Ok(true);
    }
    let except = except.unwrap_or("");
    let live = institutes::table
        .filter(institutes::slug.eq(slug))
        .filter(institutes::id.ne(except))
        .count()
        .get_result::<i64>(conn)?;
    let former = former_slugs::table
        .filter(former_slugs::slug.eq(slug))
        .filter(former_slugs::institute_id.ne(except))
        .count()
        .get_result::<i64>(conn)?;
    let dead = tombstones::table
        .filter(tombstones::slug.eq(slug))
        .count()
        .get_result::<i64>(conn)?;
    Ok(live + former + dead > 0)
}

/// A free slug derived from the name: `name-slug`, else `name-slug-2`, `-3`, …
fn derive_slug(conn: &mut DbConnection, name: &str) -> QueryResult<String> {
    let mut base = slugify(name);
    if base.is_empty() {
        base = "institute".into();
    }
    base.truncate(90);
    let base = base.trim_end_matches('-').to_string();
    let mut candidate = base.clone();
    let mut n = 2;
    while slug_taken(conn, &candidate, None)? {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    Ok(candidate)
}

/// Resolves a parent reference and refuses a cycle.
fn parent_id(
    conn: &mut DbConnection,
    reference: &str,
    child: Option<&str>,
) -> Result<String, WriteError> {
    let Some(parent) = super::institutes::resolve_live(conn, reference)? else {
        return Err(invalid(
            "/parent",
            format!("no institute has the id or slug '{reference}'"),
        ));
    };
    if let Some(child) = child {
        let mut cursor = Some(parent.clone());
        let mut steps = 0;
        while let Some(id) = cursor {
            if id == child {
                return Err(invalid(
                    "/parent",
                    "would make the institute its own ancestor",
                ));
            }
            steps += 1;
            if steps > 10_000 {
                break;
            }
            cursor = institutes::table
                .find(&id)
                .select(institutes::parent_id)
                .first::<Option<String>>(conn)
                .optional()?
                .flatten();
        }
    }
    Ok(parent)
}

fn check_external_ids(
    conn: &mut DbConnection,
    input: &InstituteInput,
    id: &str,
) -> Result<(), WriteError> {
    let ids = &input.external_ids;
    for (key, value) in [
        ("ror", &ids.ror),
        ("wikidata", &ids.wikidata),
        ("grid", &ids.grid),
    ] {
        let Some(value) = value else { continue };
        let query = institutes::table
            .filter(institutes::id.ne(id))
            .select(institutes::slug)
            .into_boxed();
        let query = match key {
            "ror" => query.filter(institutes::ror.eq(value)),
            "wikidata" => query.filter(institutes::wikidata.eq(value)),
            _ => query.filter(institutes::grid.eq(value)),
        };
        let holder = query.first::<String>(conn).optional()?;
        if let Some(holder) = holder {
            return Err(WriteError::Conflict(FieldError::new(
                format!("/external_ids/{key}"),
                format!("already the {key} id of '{holder}'"),
            )));
        }
    }
    Ok(())
}

/// Writes the input's fields onto the institute `id` (inserting it when `existing` is None).
fn store_institute(
    conn: &mut DbConnection,
    id: &str,
    input: &InstituteInput,
    existing: Option<&InstituteRow>,
) -> Result<(), WriteError> {
    let slug = match (&input.slug, existing) {
        (Some(slug), current) => {
            if slug_taken(conn, slug, current.map(|c| c.id.as_str()))? {
                return Err(WriteError::Conflict(FieldError::new(
                    "/slug",
                    format!("'{slug}' is already used by another institute"),
                )));
            }
            slug.clone()
        }
        (None, Some(current)) => current.slug.clone(),
        (None, None) => derive_slug(conn, &input.name)?,
    };
    let parent = match &input.parent {
        Some(reference) => Some(parent_id(conn, reference, existing.map(|_| id))?),
        None => None,
    };
    if existing.is_none() && parent.as_deref() == Some(id) {
        return Err(invalid(
            "/parent",
            "would make the institute its own parent",
        ));
    }
    check_external_ids(conn, input, id)?;
    let stamp = now();
    let row = InstituteRow {
        id: id.to_string(),
        slug: slug.clone(),
        name: input.name.clone(),
        sort_name: fold(&input.name),
        acronym: input.acronym.clone(),
        aliases: serde_json::to_string(&input.aliases).unwrap_or_else(|_| "[]".into()),
        kind: input.kind.as_str().to_string(),
        status: input.status.as_str().to_string(),
        country: input.country.clone(),
        city: input.city.clone(),
        founded: input.founded,
        website: input.website.clone(),
        description: input.description.clone(),
        parent_id: parent,
        ror: input.external_ids.ror.clone(),
        wikidata: input.external_ids.wikidata.clone(),
        grid: input.external_ids.grid.clone(),
        unverified_fields: serde_json::to_string(&input.unverified_fields)
            .unwrap_or_else(|_| "[]".into()),
        latest_researchers: existing.and_then(|e| e.latest_researchers),
        latest_staff: existing.and_then(|e| e.latest_staff),
        comparable_budget_usd: existing.and_then(|e| e.comparable_budget_usd),
        headcount: existing.and_then(|e| e.headcount),
        created_at: existing.map(|e| e.created_at).unwrap_or(stamp),
        updated_at: stamp,
        version: existing.map(|e| e.version + 1).unwrap_or(1),
        search_text: search_text(&input.name, input.acronym.as_deref(), &input.aliases),
        acronym_key: acronym_key(input.acronym.as_deref()),
    };
    match existing {
        None => {
            diesel::insert_into(institutes::table)
                .values(&row)
                .execute(conn)?;
        }
        Some(current) => {
            if current.slug != slug {
                diesel::delete(former_slugs::table.find(&slug)).execute(conn)?;
                diesel::insert_into(former_slugs::table)
                    .values((
                        former_slugs::slug.eq(&current.slug),
                        former_slugs::institute_id.eq(id),
                    ))
                    .execute(conn)?;
            }
            update_row(conn, &row)?;
            diesel::delete(institute_sectors::table.filter(institute_sectors::institute_id.eq(id)))
                .execute(conn)?;
        }
    }
    for sector in &input.sectors {
        diesel::insert_into(institute_sectors::table)
            .values((
                institute_sectors::institute_id.eq(id),
                institute_sectors::sector.eq(sector),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Writes every column of an institute's row but its id and creation time.
pub(super) fn update_row(conn: &mut DbConnection, row: &InstituteRow) -> QueryResult<()> {
    diesel::update(institutes::table.find(&row.id))
        .set((
            institutes::slug.eq(&row.slug),
            institutes::name.eq(&row.name),
            institutes::sort_name.eq(&row.sort_name),
            institutes::acronym.eq(&row.acronym),
            institutes::aliases.eq(&row.aliases),
            institutes::kind.eq(&row.kind),
            institutes::status.eq(&row.status),
            institutes::country.eq(&row.country),
            institutes::city.eq(&row.city),
            institutes::founded.eq(row.founded),
            institutes::website.eq(&row.website),
            institutes::description.eq(&row.description),
            institutes::parent_id.eq(&row.parent_id),
            institutes::ror.eq(&row.ror),
            institutes::wikidata.eq(&row.wikidata),
            institutes::grid.eq(&row.grid),
            institutes::unverified_fields.eq(&row.unverified_fields),
            institutes::latest_researchers.eq(row.latest_researchers),
            institutes::latest_staff.eq(row.latest_staff),
            institutes::comparable_budget_usd.eq(row.comparable_budget_usd),
            institutes::headcount.eq(row.headcount),
            institutes::updated_at.eq(row.updated_at),
            institutes::version.eq(row.version),
            institutes::search_text.eq(&row.search_text),
            institutes::acronym_key.eq(&row.acronym_key),
        ))
        .execute(conn)?;
    Ok(())
}

fn load_record(conn: &mut DbConnection, id: &str) -> Result<Institute, WriteError> {
    let rates = rates(conn)?;
    get(conn, id, &rates)?.ok_or(WriteError::NotFound)
}

/// Creates an institute from a body read against the current vocabulary.
pub fn create_institute(
    conn: &mut DbConnection,
    body: &Value,
    actor: &Actor,
) -> Result<Institute, WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, None)?;
        let vocab = vocabulary(conn)?;
        let input = InstituteInput::read(body, &vocab).map_err(WriteError::Invalid)?;
        let id = new_id("ins");
        store_institute(conn, &id, &input, None)?;
        let after = load_record(conn, &id)?;
        record(
            conn,
            actor,
            Some(&id),
            Subject::Institute,
            &id,
            Action::Create,
            None::<&()>,
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Whether an update changes anything list totals or aggregates are computed from; only
/// city, website, description, external ids and unverified fields do not count.
fn changes_shape(before: &Institute, input: &InstituteInput) -> bool {
    let mut sectors = input.sectors.clone();
    sectors.sort();
    let same_parent = match (&before.parent, &input.parent) {
        (None, None) => true,
        (Some(p), Some(r)) => *r == p.id || *r == p.slug,
        _ => false,
    };
    !(input.slug.as_ref().is_none_or(|s| *s == before.slug)
        && input.name == before.name
        && input.acronym == before.acronym
        && input.aliases == before.aliases
        && input.kind == before.kind
        && input.status == before.status
        && input.country == before.country
        && input.founded == before.founded
        && sectors == before.sectors
        && same_parent)
}

/// How an update turns the current record into the new input.
pub enum Change<'a> {
    /// PUT: the body is the whole new record.
    Replace(&'a Value),
    /// PATCH: an RFC 7396 merge patch applied to the current record.
    MergePatch(&'a Value),
}

/// Replaces or patches an institute, if `if_match` (when given) still matches.
pub fn update_institute(
    conn: &mut DbConnection,
    id: &str,
    if_match: Option<&str>,
    change: Change<'_>,
    actor: &Actor,
) -> Result<Institute, WriteError> {
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let before = load_record(conn, id)?;
        let vocab = vocabulary(conn)?;
        let body = match change {
            Change::Replace(body) => body.clone(),
            Change::MergePatch(patch) => {
                let mut doc = as_input(&before);
                crate::model::input::merge_patch(&mut doc, patch);
                doc
            }
        };
        // A malformed body is reported as such whatever the precondition: fix, then retry.
        let input = InstituteInput::read(&body, &vocab).map_err(WriteError::Invalid)?;
        check_precondition(if_match, etag(&before))?;
        if changes_shape(&before, &input) {
            reshape(conn)?;
        }
        let row = institutes::table
            .find(id)
            .select(InstituteRow::as_select())
            .first(conn)?;
        store_institute(conn, id, &input, Some(&row))?;
        let after = load_record(conn, id)?;
        record(
            conn,
            actor,
            Some(id),
            Subject::Institute,
            id,
            Action::Update,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Deletes an institute (its figures with it), leaving a tombstone; when `merged_into` is
/// given, its children move to the successor and its address answers 410 with a pointer.
pub fn delete_institute(
    conn: &mut DbConnection,
    id: &str,
    if_match: Option<&str>,
    merged_into: Option<&str>,
    actor: &Actor,
) -> Result<(), WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, Some(id))?;
        let before = load_record(conn, id)?;
        check_precondition(if_match, etag(&before))?;
        let successor = match merged_into {
            Some(reference) => {
                let Some(successor) = super::institutes::resolve_live(conn, reference)? else {
                    return Err(invalid(
                        "merged_into",
                        format!("no institute has the id or slug '{reference}'"),
                    ));
                };
                if successor == id {
                    return Err(invalid(
                        "merged_into",
                        "an institute cannot merge into itself",
                    ));
                }
                Some(successor)
            }
            None => None,
        };
        let children: Vec<String> = institutes::table
            .filter(institutes::parent_id.eq(id))
            .select(institutes::id)
            .load(conn)?;
        // The successor and its ancestors cannot become children of the successor.
        let mut lineage = Vec::new();
        let mut cursor = successor.clone();
        while let Some(current) = cursor {
            if lineage.contains(&current) || lineage.len() > 10_000 {
                break;
            }
            cursor = institutes::table
                .find(&current)
                .select(institutes::parent_id)
                .first::<Option<String>>(conn)
                .optional()?
                .flatten();
            lineage.push(current);
        }
        let rates = rates(conn)?;
        for child in &children {
            let new_parent = successor.clone().filter(|_| !lineage.contains(child));
            let child_before = get(conn, child, &rates)?;
            diesel::update(institutes::table.find(child))
                .set((
                    institutes::parent_id.eq(&new_parent),
                    institutes::version.eq(institutes::version + 1),
                    institutes::updated_at.eq(now()),
                ))
                .execute(conn)?;
            let child_after = get(conn, child, &rates)?;
            record(
                conn,
                actor,
                Some(child),
                Subject::Institute,
                child,
                Action::Update,
                child_before.as_ref(),
                child_after.as_ref(),
            )?;
        }
        diesel::insert_into(tombstones::table)
            .values((
                tombstones::id.eq(id),
                tombstones::slug.eq(&before.slug),
                tombstones::merged_into.eq(&successor),
                tombstones::deleted_at.eq(now()),
            ))
            .execute(conn)?;
        diesel::delete(institutes::table.find(id)).execute(conn)?;
        record(
            conn,
            actor,
            Some(id),
            Subject::Institute,
            id,
            Action::Delete,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

/// Marks the institute changed: a figure of it was added, changed or removed.
fn touch(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(institutes::table.find(id))
        .set((
            institutes::version.eq(institutes::version + 1),
            institutes::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let rates = rates(conn)?;
    refresh_latest(conn, id, &rates)
}

fn budget_entry(
    conn: &mut DbConnection,
    institute: &str,
    entry: &str,
) -> Result<BudgetEntry, WriteError> {
    if !super::plausible_ref(entry) {
        return Err(WriteError::NotFound);
    }
    let row = budgets::table
        .find(entry)
        .filter(budgets::institute_id.eq(institute))
        .select(BudgetRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(WriteError::NotFound)?;
    let rates = rates(conn)?;
    Ok(row.to_figure().to_entry(&rates))
}

/// One budget entry of an institute.
pub fn get_budget(
    conn: &mut DbConnection,
    institute: &str,
    entry: &str,
) -> Result<BudgetEntry, WriteError> {
    budget_entry(conn, institute, entry)
}

fn budget_clash(
    conn: &mut DbConnection,
    institute: &str,
    input: &BudgetInput,
    except: &str,
) -> Result<(), WriteError> {
    let clash = budgets::table
        .filter(budgets::institute_id.eq(institute))
        .filter(budgets::year.eq(input.year))
        .filter(budgets::kind.eq(input.kind.as_str()))
        .filter(budgets::id.ne(except))
        .select(budgets::id)
        .first::<String>(conn)
        .optional()?;
    match clash {
        Some(other) => Err(WriteError::Conflict(FieldError::new(
            "/year",
            format!(
                "the institute already has a {} budget for {} ({other}); change that entry instead",
                input.kind.as_str(),
                input.year
            ),
        ))),
        None => Ok(()),
    }
}

/// Adds, replaces (`entry` given) a budget entry of an institute.
pub fn put_budget(
    conn: &mut DbConnection,
    institute: &str,
    entry: Option<&str>,
    if_match: Option<&str>,
    body: &Value,
    actor: &Actor,
) -> Result<BudgetEntry, WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, Some(institute))?;
        if !load_ref_exists(conn, institute)? {
            return Err(WriteError::NotFound);
        }
        let before = match entry {
            Some(e) => Some(budget_entry(conn, institute, e)?),
            None => None,
        };
        let vocab = vocabulary(conn)?;
        let input = BudgetInput::read(body, &vocab).map_err(WriteError::Invalid)?;
        if let Some(current) = &before {
            check_precondition(if_match, etag(current))?;
        }
        let id = entry.map(str::to_string).unwrap_or_else(|| new_id("bud"));
        budget_clash(conn, institute, &input, &id)?;
        let stamp = now();
        if before.is_some() {
            diesel::update(budgets::table.find(&id))
                .set((
                    budgets::year.eq(input.year),
                    budgets::kind.eq(input.kind.as_str()),
                    budgets::amount.eq(input.amount),
                    budgets::currency.eq(&input.currency),
                    budgets::period_end.eq(input.period_end),
                    budgets::source.eq(&input.source),
                    budgets::note.eq(&input.note),
                    budgets::updated_at.eq(stamp),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(budgets::table)
                .values(&BudgetRow {
                    id: id.clone(),
                    institute_id: institute.to_string(),
                    year: input.year,
                    kind: input.kind.as_str().to_string(),
                    amount: input.amount,
                    currency: input.currency.clone(),
                    period_end: input.period_end,
                    source: input.source.clone(),
                    note: input.note.clone(),
                    created_at: stamp,
                    updated_at: stamp,
                })
                .execute(conn)?;
        }
        touch(conn, institute)?;
        let after = budget_entry(conn, institute, &id)?;
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        record(
            conn,
            actor,
            Some(institute),
            Subject::Budget,
            &id,
            action,
            before.as_ref(),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Removes a budget entry of an institute.
pub fn delete_budget(
    conn: &mut DbConnection,
    institute: &str,
    entry: &str,
    if_match: Option<&str>,
    actor: &Actor,
) -> Result<(), WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, Some(institute))?;
        let before = budget_entry(conn, institute, entry)?;
        check_precondition(if_match, etag(&before))?;
        diesel::delete(budgets::table.find(entry)).execute(conn)?;
        touch(conn, institute)?;
        record(
            conn,
            actor,
            Some(institute),
            Subject::Budget,
            entry,
            Action::Delete,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

fn load_ref_exists(conn: &mut DbConnection, institute: &str) -> QueryResult<bool> {
    Ok(institutes::table
        .find(institute)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

fn headcount_entry(
    conn: &mut DbConnection,
    institute: &str,
    entry: &str,
) -> Result<HeadcountEntry, WriteError> {
    if !super::plausible_ref(entry) {
        return Err(WriteError::NotFound);
    }
    let row = headcounts::table
        .find(entry)
        .filter(headcounts::institute_id.eq(institute))
        .select(HeadcountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(WriteError::NotFound)?;
    Ok(row.to_entry())
}

/// One headcount entry of an institute.
pub fn get_headcount(
    conn: &mut DbConnection,
    institute: &str,
    entry: &str,
) -> Result<HeadcountEntry, WriteError> {
    headcount_entry(conn, institute, entry)
}

/// Adds or replaces (`entry` given) a headcount entry of an institute.
pub fn put_headcount(
    conn: &mut DbConnection,
    institute: &str,
    entry: Option<&str>,
    if_match: Option<&str>,
    body: &Value,
    actor: &Actor,
) -> Result<HeadcountEntry, WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, Some(institute))?;
        if !load_ref_exists(conn, institute)? {
            return Err(WriteError::NotFound);
        }
        let before = match entry {
            Some(e) => Some(headcount_entry(conn, institute, e)?),
            None => None,
        };
        let input = HeadcountInput::read(body).map_err(WriteError::Invalid)?;
        if let Some(current) = &before {
            check_precondition(if_match, etag(current))?;
        }
        let id = entry.map(str::to_string).unwrap_or_else(|| new_id("hc"));
        let clash = headcounts::table
            .filter(headcounts::institute_id.eq(institute))
            .filter(headcounts::year.eq(input.year))
            .filter(headcounts::id.ne(&id))
            .select(headcounts::id)
            .first::<String>(conn)
            .optional()?;
        if let Some(other) = clash {
            return Err(WriteError::Conflict(FieldError::new(
                "/year",
                format!("the institute already has a headcount for {} ({other}); change that entry instead", input.year),
            )));
        }
        let stamp = now();
        if before.is_some() {
            diesel::update(headcounts::table.find(&id))
                .set((
                    headcounts::year.eq(input.year),
                    headcounts::researchers.eq(input.researchers),
                    headcounts::staff.eq(input.staff),
                    headcounts::basis.eq(&input.basis),
                    headcounts::source.eq(&input.source),
                    headcounts::updated_at.eq(stamp),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(headcounts::table)
                .values(&HeadcountRow {
                    id: id.clone(),
                    institute_id: institute.to_string(),
                    year: input.year,
                    researchers: input.researchers,
                    staff: input.staff,
                    basis: input.basis.clone(),
                    source: input.source.clone(),
                    created_at: stamp,
                    updated_at: stamp,
                })
                .execute(conn)?;
        }
        touch(conn, institute)?;
        let after = headcount_entry(conn, institute, &id)?;
        let action = if before.is_some() { Action::Update } else { Action::Create };
        record(conn, actor, Some(institute), Subject::Headcount, &id, action, before.as_ref(), Some(&after))?;
        Ok(after)
    })
}

/// Removes a headcount entry of an institute.
pub fn delete_headcount(
    conn: &mut DbConnection,
    institute: &str,
    entry: &str,
    if_match: Option<&str>,
    actor: &Actor,
) -> Result<(), WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, Some(institute))?;
        let before = headcount_entry(conn, institute, entry)?;
        check_precondition(if_match, etag(&before))?;
        diesel::delete(headcounts::table.find(entry)).execute(conn)?;
        touch(conn, institute)?;
        record(
            conn,
            actor,
            Some(institute),
            Subject::Headcount,
            entry,
            Action::Delete,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}
