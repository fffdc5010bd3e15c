//! Reading institutes from the database: resolving a reference, assembling full records (what
//! a write renders into a stored document), series and lineage. Lists, search and totals are
//! the read model's (`crate::read`).

use super::rows::{to_ref, BudgetRow, HeadcountRow, InstituteRow, RefRow};
use super::utc;
use crate::db::schema::{
    budgets, former_slugs, headcounts, institute_sectors, institutes, tombstones,
};
use crate::db::{DbConnection, MultiBackend};
use crate::model::figures::{self, BudgetFigure, BudgetSeries, HeadcountSeries};
use crate::model::institute::{
    Descendant, ExternalIds, Institute, InstituteKind, InstituteRef, InstituteStatus,
};
use crate::model::money::Rates;
use diesel::prelude::*;
use std::collections::HashMap;

/// Resolves a reference, as clients write it, to the id of a live institute: an id, a slug,
/// a former slug (institutes keep answering after a rename), or an external id written
/// `ror:…`, `wikidata:…` or `grid:…`.
pub fn resolve_live(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<String>> {
    use institutes::dsl as i;
    if !super::plausible_ref(reference) {
        return Ok(None);
    }
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
    if !super::plausible_ref(reference) {
        return Ok(Resolution::Missing);
    }
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
    if !super::plausible_ref(id) {
        return Ok(false);
    }
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

/// The whole budget and headcount series of the given institutes, each by year then id.
pub fn series(
    conn: &mut DbConnection,
    ids: &[&str],
) -> QueryResult<HashMap<String, crate::model::interchange::Series>> {
    let mut out: HashMap<String, crate::model::interchange::Series> = HashMap::new();
    for row in budgets::table
        .filter(budgets::institute_id.eq_any(ids))
        .select(BudgetRow::as_select())
        .order((budgets::institute_id, budgets::year, budgets::id))
        .load(conn)?
    {
        out.entry(row.institute_id.clone())
            .or_default()
            .budgets
            .push(row.to_figure());
    }
    for row in headcounts::table
        .filter(headcounts::institute_id.eq_any(ids))
        .select(HeadcountRow::as_select())
        .order((headcounts::institute_id, headcounts::year, headcounts::id))
        .load(conn)?
    {
        out.entry(row.institute_id.clone())
            .or_default()
            .headcounts
            .push(row.to_entry());
    }
    Ok(out)
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

    let child_rows = children_of(conn, &ids)?;
    let mut children: HashMap<String, (Vec<RefRow>, u64)> = HashMap::new();
    for (parent, _, id, slug, name) in child_rows {
        let (shown, total) = children.entry(parent).or_default();
        if shown.len() < CHILDREN_SHOWN {
            shown.push((id, slug, name));
        }
        *total += 1;
    }

    Ok(rows
        .into_iter()
        .map(|row| {
            let parts = Parts {
                sectors: sectors.remove(&row.id).unwrap_or_default(),
                budgets: budget_rows.remove(&row.id).unwrap_or_default(),
                headcounts: headcount_rows.remove(&row.id).unwrap_or_default(),
                parent: row.parent_id.as_ref().and_then(|p| parents.get(p).cloned()),
                children: children.remove(&row.id).unwrap_or_default(),
            };
            record_of(row, parts, rates)
        })
        .collect())
}

/// (parent id, sort name, id, slug, name).
type ChildRow = (String, String, String, String, String);

/// The children of these institutes as (parent id, sort name, id, slug, name), by name then
/// id. Sorted here, not in SQL: an ORDER BY tempts the planner to walk the whole name index
/// instead of looking the few children up by parent.
fn children_of<S: AsRef<str>>(
    conn: &mut DbConnection,
    parents: &[S],
) -> QueryResult<Vec<ChildRow>> {
    let mut rows = Vec::new();
    for chunk in parents.chunks(500) {
        let chunk: Vec<&str> = chunk.iter().map(AsRef::as_ref).collect();
        rows.extend(
            institutes::table
                .filter(institutes::parent_id.eq_any(chunk))
                .select((
                    institutes::parent_id.assume_not_null(),
                    institutes::sort_name,
                    institutes::id,
                    institutes::slug,
                    institutes::name,
                ))
                .load::<ChildRow>(conn)?,
        );
    }
    rows.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
    Ok(rows)
}

/// Children a record lists (by name); `children_total` counts them all.
pub const CHILDREN_SHOWN: usize = 100;

/// What a record holds besides its row: sectors (sorted), figures, parent and children (the
/// first [`CHILDREN_SHOWN`] by name, and how many in all) as (id, slug, name).
pub struct Parts {
    pub sectors: Vec<String>,
    pub budgets: Vec<BudgetFigure>,
    pub headcounts: Vec<figures::HeadcountEntry>,
    pub parent: Option<(String, String, String)>,
    pub children: (Vec<(String, String, String)>, u64),
}

/// The record of a row and its parts.
pub fn record_of(row: InstituteRow, parts: Parts, rates: &Rates) -> Institute {
    Institute {
        sectors: parts.sectors,
        parent: parts.parent.map(to_ref),
        children: parts.children.0.into_iter().map(to_ref).collect(),
        children_total: parts.children.1,
        external_ids: ExternalIds {
            ror: row.ror,
            wikidata: row.wikidata,
            grid: row.grid,
        },
        latest_budget: figures::latest_budget(&parts.budgets, rates),
        latest_headcount: figures::latest_headcount(&parts.headcounts),
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
        ancestors: None,
        ancestors_truncated: None,
        descendants: None,
        descendants_truncated: None,
    }
}

/// Every institute's id, in name order (then id): the command-line export's order.
pub fn ids_by_name(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    institutes::table
        .select(institutes::id)
        .order((institutes::sort_name, institutes::id))
        .load(conn)
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

/// Levels of ancestors listed at most.
const ANCESTORS_SHOWN: usize = 100;

/// Descendants listed at most.
const DESCENDANTS_SHOWN: usize = 1000;

/// The parent, its parent, and so on, nearest first: at most [`ANCESTORS_SHOWN`] levels, and
/// whether there are more (the hierarchy has no cycles, which every write checks; a cycle
/// would end the chain).
pub fn ancestors(conn: &mut DbConnection, id: &str) -> QueryResult<(Vec<InstituteRef>, bool)> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::from([id.to_string()]);
    let mut current = id.to_string();
    loop {
        let parent: Option<String> = institutes::table
            .find(&current)
            .select(institutes::parent_id)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten();
        let Some(parent) = parent else { break };
        if !seen.insert(parent.clone()) {
            break;
        }
        if out.len() == ANCESTORS_SHOWN {
            return Ok((out, true));
        }
        match get_ref(conn, &parent)? {
            Some(r) => out.push(to_ref(r)),
            None => break,
        }
        current = parent;
    }
    Ok((out, false))
}

/// The institutes below `id`, breadth first and by name within a level: at most
/// [`DESCENDANTS_SHOWN`], and whether there are more.
pub fn descendants(conn: &mut DbConnection, id: &str) -> QueryResult<(Vec<Descendant>, bool)> {
    let mut out: Vec<Descendant> = Vec::new();
    let mut seen = std::collections::HashSet::from([id.to_string()]);
    let mut level = vec![id.to_string()];
    let mut depth = 0;
    while !level.is_empty() {
        depth += 1;
        let rows = children_of(conn, &level)?;
        level = Vec::new();
        for (parent, _, child, slug, name) in rows {
            if !seen.insert(child.clone()) {
                continue;
            }
            if out.len() == DESCENDANTS_SHOWN {
                return Ok((out, true));
            }
            level.push(child.clone());
            out.push(Descendant {
                institute: InstituteRef {
                    id: child,
                    slug,
                    name,
                },
                parent_id: parent,
                depth,
            });
        }
    }
    Ok((out, false))
}

/// The country of an institute (the one whose purchasing-power factor its money is shown at).
pub fn country_of(conn: &mut DbConnection, id: &str) -> QueryResult<String> {
    institutes::table
        .find(id)
        .select(institutes::country)
        .first(conn)
}
