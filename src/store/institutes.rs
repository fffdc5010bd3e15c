//! Reading institutes: resolving a reference, assembling full records, filtered keyset pages,
//! and the denormalized latest figures that filters, sorts and summaries use.

use super::rows::{to_ref, BudgetRow, HeadcountRow, InstituteRow, RefRow};
use super::utc;
use crate::db::schema::{
    budgets, former_slugs, headcounts, institute_sectors, institutes, tombstones,
};
use crate::db::{DbConnection, MultiBackend};
use crate::model::figures::{self, BudgetFigure, BudgetSeries, HeadcountSeries};
use crate::model::institute::{
    ExternalIds, Institute, InstituteKind, InstituteRef, InstituteStatus,
};
use crate::model::money::Rates;
use diesel::prelude::*;
use std::collections::HashMap;

/// Resolves a reference, as clients write it, to the id of a live institute: an id, a slug,
/// a former slug (institutes keep answering after a rename), or an external id written
/// `ror:…`, `wikidata:…` or `grid:…`.
pub fn resolve_live(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<String>> {
    use institutes::dsl as i;
    let query = i::institutes.select(i::id).into_boxed::<MultiBackend>();
    let query = if let Some(v) = reference.strip_prefix("ror:") {
        query.filter(i::ror.eq(v.to_string()))
    } else if let Some(v) = reference.strip_prefix("wikidata:") {
        query.filter(i::wikidata.eq(v.to_string()))
    } else if let Some(v) = reference.strip_prefix("grid:") {
        query.filter(i::grid.eq(v.to_string()))
    } else {
        query.filter(i::id.eq(reference).or(i::slug.eq(reference)))
    };
    if let Some(id) = query.first::<String>(conn).optional()? {
        return Ok(Some(id));
    }
    former_slugs::table
        .find(reference)
        .select(former_slugs::institute_id)
        .first::<String>(conn)
        .optional()
}

/// What a reference points at.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// A live institute.
    Live(String),
    /// A deleted institute; `successor` is the one it was merged into, if any and still live.
    Gone { successor: Option<InstituteRef> },
    /// Nothing.
    Missing,
}

/// Resolves a reference to a live institute, a deleted one, or nothing.
pub fn resolve(conn: &mut DbConnection, reference: &str) -> QueryResult<Resolution> {
    if let Some(id) = resolve_live(conn, reference)? {
        return Ok(Resolution::Live(id));
    }
    let dead = tombstones::table
        .filter(
            tombstones::id
                .eq(reference)
                .or(tombstones::slug.eq(reference)),
        )
        .select(tombstones::merged_into)
        .order(tombstones::deleted_at.desc())
        .first::<Option<String>>(conn)
        .optional()?;
    match dead {
        None => Ok(Resolution::Missing),
        Some(None) => Ok(Resolution::Gone { successor: None }),
        Some(Some(successor)) => {
            // A successor may itself have been merged since: follow the chain to a live one.
            let mut current = successor;
            for _ in 0..100 {
                if let Some(r) = get_ref(conn, &current)? {
                    return Ok(Resolution::Gone {
                        successor: Some(to_ref(r)),
                    });
                }
                let next = tombstones::table
                    .find(&current)
                    .select(tombstones::merged_into)
                    .first::<Option<String>>(conn)
                    .optional()?
                    .flatten();
                match next {
                    Some(n) => current = n,
                    None => break,
                }
            }
            Ok(Resolution::Gone { successor: None })
        }
    }
}

/// Whether `id` is the id of a deleted institute.
pub fn was_deleted(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    Ok(tombstones::table.find(id).count().get_result::<i64>(conn)? > 0)
}

/// One full record.
pub fn get(conn: &mut DbConnection, id: &str, rates: &Rates) -> QueryResult<Option<Institute>> {
    let row = institutes::table
        .find(id)
        .select(InstituteRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(row) => Ok(assemble(conn, vec![row], rates)?.pop()),
        None => Ok(None),
    }
}

/// `(id, slug, name)` of one institute.
pub fn get_ref(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RefRow>> {
    use institutes::dsl as i;
    i::institutes
        .find(id)
        .select((i::id, i::slug, i::name))
        .first(conn)
        .optional()
}

/// Turns stored rows into full records with a fixed number of queries, whatever their count.
pub fn assemble(
    conn: &mut DbConnection,
    rows: Vec<InstituteRow>,
    rates: &Rates,
) -> QueryResult<Vec<Institute>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();

    let mut sectors: HashMap<String, Vec<String>> = HashMap::new();
    for (institute, sector) in institute_sectors::table
        .filter(institute_sectors::institute_id.eq_any(&ids))
        .select((institute_sectors::institute_id, institute_sectors::sector))
        .order((institute_sectors::institute_id, institute_sectors::sector))
        .load::<(String, String)>(conn)?
    {
        sectors.entry(institute).or_default().push(sector);
    }

    let mut budget_rows: HashMap<String, Vec<BudgetFigure>> = HashMap::new();
    for row in budgets::table
        .filter(budgets::institute_id.eq_any(&ids))
        .select(BudgetRow::as_select())
        .load(conn)?
    {
        budget_rows
            .entry(row.institute_id.clone())
            .or_default()
            .push(row.to_figure());
    }

    let mut headcount_rows: HashMap<String, Vec<figures::HeadcountEntry>> = HashMap::new();
    for row in headcounts::table
        .filter(headcounts::institute_id.eq_any(&ids))
        .select(HeadcountRow::as_select())
        .load(conn)?
    {
        headcount_rows
            .entry(row.institute_id.clone())
            .or_default()
            .push(row.to_entry());
    }

    let parent_ids: Vec<&str> = rows.iter().filter_map(|r| r.parent_id.as_deref()).collect();
    let parents: HashMap<String, RefRow> = if parent_ids.is_empty() {
        HashMap::new()
    } else {
        institutes::table
            .filter(institutes::id.eq_any(&parent_ids))
            .select((institutes::id, institutes::slug, institutes::name))
            .load::<RefRow>(conn)?
            .into_iter()
            .map(|r| (r.0.clone(), r))
            .collect()
    };

    let mut children: HashMap<String, Vec<RefRow>> = HashMap::new();
    for (parent, id, slug, name) in institutes::table
        .filter(institutes::parent_id.eq_any(&ids))
        .select((
            institutes::parent_id.assume_not_null(),
            institutes::id,
            institutes::slug,
            institutes::name,
        ))
        .order((institutes::sort_name, institutes::id))
        .load::<(String, String, String, String)>(conn)?
    {
        children.entry(parent).or_default().push((id, slug, name));
    }

    Ok(rows
        .into_iter()
        .map(|row| {
            let budgets = budget_rows.remove(&row.id).unwrap_or_default();
            let headcounts = headcount_rows.remove(&row.id).unwrap_or_default();
            Institute {
                sectors: sectors.remove(&row.id).unwrap_or_default(),
                parent: row
                    .parent_id
                    .as_ref()
                    .and_then(|p| parents.get(p).cloned())
                    .map(to_ref),
                children: children
                    .remove(&row.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(to_ref)
                    .collect(),
                external_ids: ExternalIds {
                    ror: row.ror,
                    wikidata: row.wikidata,
                    grid: row.grid,
                },
                latest_budget: figures::latest_budget(&budgets, rates),
                latest_headcount: figures::latest_headcount(&headcounts),
                aliases: serde_json::from_str(&row.aliases).unwrap_or_default(),
                unverified_fields: serde_json::from_str(&row.unverified_fields).unwrap_or_default(),
                kind: InstituteKind::parse(&row.kind).unwrap_or(InstituteKind::Consortium),
                status: InstituteStatus::parse(&row.status).unwrap_or(InstituteStatus::Active),
                id: row.id,
                slug: row.slug,
                name: row.name,
                acronym: row.acronym,
                country: row.country,
                city: row.city,
                founded: row.founded,
                website: row.website,
                description: row.description,
                created_at: utc(row.created_at),
                updated_at: utc(row.updated_at),
                version: row.version,
            }
        })
        .collect())
}

/// Which institutes a list shows. Each list means "any of"; an empty list means no restriction.
#[derive(Debug, Clone, Default)]
pub struct InstituteFilter {
    pub countries: Vec<String>,
    pub sectors: Vec<String>,
    pub kinds: Vec<InstituteKind>,
    pub statuses: Vec<InstituteStatus>,
}

/// The position after which a page starts: the last row's sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    pub sort_name: String,
    pub id: String,
}

/// One page of a list, and the keyset of its last row when more rows follow.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Keyset>,
    pub total: i64,
}

fn filtered(filter: &InstituteFilter) -> institutes::BoxedQuery<'_, MultiBackend> {
    use institutes::dsl as i;
    let mut query = i::institutes.into_boxed::<MultiBackend>();
    if !filter.countries.is_empty() {
        query = query.filter(i::country.eq_any(&filter.countries));
    }
    if !filter.kinds.is_empty() {
        query = query.filter(i::kind.eq_any(filter.kinds.iter().map(|k| k.as_str())));
    }
    if !filter.statuses.is_empty() {
        query = query.filter(i::status.eq_any(filter.statuses.iter().map(|s| s.as_str())));
    }
    if !filter.sectors.is_empty() {
        query = query.filter(
            i::id.eq_any(
                institute_sectors::table
                    .filter(institute_sectors::sector.eq_any(&filter.sectors))
                    .select(institute_sectors::institute_id),
            ),
        );
    }
    query
}

/// A page of institutes in name order, starting after `after`.
pub fn list(
    conn: &mut DbConnection,
    filter: &InstituteFilter,
    after: Option<&Keyset>,
    limit: i64,
    rates: &Rates,
) -> QueryResult<Page<Institute>> {
    use institutes::dsl as i;
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let mut query = filtered(filter)
        .select(InstituteRow::as_select())
        .order((i::sort_name.asc(), i::id.asc()))
        .limit(limit + 1);
    if let Some(k) = after {
        query = query.filter(
            i::sort_name.gt(k.sort_name.clone()).or(i::sort_name
                .eq(k.sort_name.clone())
                .and(i::id.gt(k.id.clone()))),
        );
    }
    let mut rows = query.load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| Keyset {
            sort_name: r.sort_name.clone(),
            id: r.id.clone(),
        })
    } else {
        None
    };
    Ok(Page {
        items: assemble(conn, rows, rates)?,
        next,
        total,
    })
}

/// The budget series of an institute, oldest first.
pub fn budget_series(
    conn: &mut DbConnection,
    id: &str,
    rates: &Rates,
) -> QueryResult<Option<BudgetSeries>> {
    let Some(reference) = get_ref(conn, id)? else {
        return Ok(None);
    };
    let items = budgets::table
        .filter(budgets::institute_id.eq(id))
        .select(BudgetRow::as_select())
        .order((budgets::year, budgets::kind, budgets::id))
        .load(conn)?
        .iter()
        .map(|r| r.to_figure().to_entry(rates))
        .collect();
    Ok(Some(BudgetSeries {
        institute: to_ref(reference),
        items,
    }))
}

/// The headcount series of an institute, oldest first.
pub fn headcount_series(conn: &mut DbConnection, id: &str) -> QueryResult<Option<HeadcountSeries>> {
    let Some(reference) = get_ref(conn, id)? else {
        return Ok(None);
    };
    let items = headcounts::table
        .filter(headcounts::institute_id.eq(id))
        .select(HeadcountRow::as_select())
        .order((headcounts::year, headcounts::id))
        .load(conn)?
        .iter()
        .map(HeadcountRow::to_entry)
        .collect();
    Ok(Some(HeadcountSeries {
        institute: to_ref(reference),
        items,
    }))
}

/// Recomputes the denormalized latest researchers, staff and comparable USD budget of one
/// institute from its series; called in the same transaction as every change to them.
pub fn refresh_latest(conn: &mut DbConnection, id: &str, rates: &Rates) -> QueryResult<()> {
    let figures: Vec<BudgetFigure> = budgets::table
        .filter(budgets::institute_id.eq(id))
        .select(BudgetRow::as_select())
        .load(conn)?
        .iter()
        .map(BudgetRow::to_figure)
        .collect();
    let budget_usd = figures::latest_budget(&figures, rates)
        .filter(|b| b.comparable)
        .and_then(|b| b.usd.amount_usd)
        .map(|usd| usd as f64);
    let latest = headcounts::table
        .filter(headcounts::institute_id.eq(id))
        .select((headcounts::researchers, headcounts::staff))
        .order(headcounts::year.desc())
        .first::<(Option<i32>, Option<i32>)>(conn)
        .optional()?;
    let (researchers, staff) = latest.unwrap_or((None, None));
    diesel::update(institutes::table.find(id))
        .set((
            institutes::latest_researchers.eq(researchers),
            institutes::latest_staff.eq(staff),
            institutes::comparable_budget_usd.eq(budget_usd),
        ))
        .execute(conn)?;
    Ok(())
}
