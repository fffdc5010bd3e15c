//! Reading institutes: resolving a reference, assembling full records, filtered keyset pages,
//! and the denormalized latest figures that filters, sorts and summaries use.

use super::rows::{to_ref, BudgetRow, HeadcountRow, InstituteRow, RefRow};
use super::search::SearchPlan;
use super::utc;
use crate::db::schema::{
    budgets, countries, former_slugs, headcounts, institute_sectors, institutes, tombstones,
};
use crate::db::{DbConnection, MultiBackend};
use crate::model::figures::{self, BudgetFigure, BudgetSeries, HeadcountSeries};
use crate::model::institute::{
    Descendant, ExternalIds, Institute, InstituteKind, InstituteRef, InstituteStatus,
};
use crate::model::money::Rates;
use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Text, Timestamp};
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

    // Sorted here, not in SQL: an ORDER BY tempts the planner to walk the whole name index
    // instead of looking the few children up by parent.
    let mut child_rows = institutes::table
        .filter(institutes::parent_id.eq_any(&ids))
        .select((
            institutes::parent_id.assume_not_null(),
            institutes::sort_name,
            institutes::id,
            institutes::slug,
            institutes::name,
        ))
        .load::<(String, String, String, String, String)>(conn)?;
    child_rows.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
    let mut children: HashMap<String, Vec<RefRow>> = HashMap::new();
    for (parent, _, id, slug, name) in child_rows {
        children.entry(parent).or_default().push((id, slug, name));
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

/// What a record holds besides its row: sectors (sorted), figures, parent and children (by
/// name) as (id, slug, name).
pub struct Parts {
    pub sectors: Vec<String>,
    pub budgets: Vec<BudgetFigure>,
    pub headcounts: Vec<figures::HeadcountEntry>,
    pub parent: Option<(String, String, String)>,
    pub children: Vec<(String, String, String)>,
}

/// The record of a row and its parts.
pub fn record_of(row: InstituteRow, parts: Parts, rates: &Rates) -> Institute {
    Institute {
        sectors: parts.sectors,
        parent: parts.parent.map(to_ref),
        children: parts.children.into_iter().map(to_ref).collect(),
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
        descendants: None,
    }
}

/// Which institutes a list shows. Each list means "any of"; an empty list means no restriction.
#[derive(Debug, Clone, Default)]
pub struct InstituteFilter {
    pub countries: Vec<String>,
    /// The countries of the regions asked for (`None`: no region filter; an empty list
    /// matches nothing).
    pub region_countries: Option<Vec<String>>,
    pub sectors: Vec<String>,
    pub kinds: Vec<InstituteKind>,
    pub statuses: Vec<InstituteStatus>,
    pub founded_from: Option<i32>,
    pub founded_to: Option<i32>,
    pub headcount_min: Option<i32>,
    pub headcount_max: Option<i32>,
    /// Bounds on the comparable budget, in USD.
    pub budget_min_usd: Option<f64>,
    pub budget_max_usd: Option<f64>,
    /// Children of this institute (an id).
    pub parent: Option<String>,
    /// Only these institutes (ids).
    pub ids: Vec<String>,
    pub updated_since: Option<NaiveDateTime>,
    /// Only institutes matching this search.
    pub search: Option<SearchPlan>,
}

/// A sortable field of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// Search rank (exact, prefix, words, typo-tolerant); only with a search.
    Relevance,
    Name,
    Founded,
    Budget,
    Headcount,
    Updated,
    Created,
}

impl SortField {
    pub const NAMES: &'static str =
        "relevance (with q), name, founded, budget, headcount, updated, created";

    pub fn parse(name: &str) -> Option<SortField> {
        Some(match name {
            "relevance" => SortField::Relevance,
            "name" => SortField::Name,
            "founded" => SortField::Founded,
            "budget" => SortField::Budget,
            "headcount" => SortField::Headcount,
            "updated" => SortField::Updated,
            "created" => SortField::Created,
            _ => return None,
        })
    }

    /// The SQL expression sorted on; `tier` is the search's tier expression.
    fn column(self, tier: &str) -> String {
        match self {
            SortField::Relevance => tier.to_string(),
            _ => self.plain_column().to_string(),
        }
    }

    fn plain_column(self) -> &'static str {
        match self {
            SortField::Relevance | SortField::Name => "sort_name",
            SortField::Founded => "founded",
            SortField::Budget => "comparable_budget_usd",
            SortField::Headcount => "headcount",
            SortField::Updated => "updated_at",
            SortField::Created => "created_at",
        }
    }

    fn value(self, row: &InstituteRow, search: Option<&SearchPlan>) -> SortValue {
        match self {
            SortField::Relevance => {
                SortValue::Int(search.map(|s| s.tier_of(row) as i64).unwrap_or(0))
            }
            SortField::Name => SortValue::Text(row.sort_name.clone()),
            SortField::Founded => row
                .founded
                .map(|v| SortValue::Int(v.into()))
                .unwrap_or(SortValue::Null),
            SortField::Budget => row
                .comparable_budget_usd
                .map(SortValue::Float)
                .unwrap_or(SortValue::Null),
            SortField::Headcount => row
                .headcount
                .map(|v| SortValue::Int(v.into()))
                .unwrap_or(SortValue::Null),
            SortField::Updated => SortValue::Time(row.updated_at),
            SortField::Created => SortValue::Time(row.created_at),
        }
    }
}

/// One key of an ordering: a field, descending or not. Nulls always sort last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub field: SortField,
    pub descending: bool,
}

/// A row's value for one sort key, as carried in a cursor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Null,
    Int(i64),
    Float(f64),
    Time(NaiveDateTime),
    Text(String),
}

/// The position after which a page starts: the last row's sort values and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    pub values: Vec<SortValue>,
    pub id: String,
}

/// One page of a list, and the keyset of its last row when more rows follow.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Keyset>,
    pub total: i64,
}

type Condition = Box<dyn BoxableExpression<institutes::table, MultiBackend, SqlType = Bool>>;

/// `sql::<Bool>(head)` with a sort value bound (typed by the value), finished by `$rest`, as a
/// boxed condition; None for a null value, which binds nothing.
macro_rules! bind_sort_value {
    ($value:expr, $head:expr, |$q:ident| $rest:expr) => {
        match $value {
            SortValue::Int(v) => {
                let $q = sql::<Bool>($head).bind::<BigInt, _>(v);
                Some(Box::new($rest) as Condition)
            }
            SortValue::Float(v) => {
                let $q = sql::<Bool>($head).bind::<Double, _>(v);
                Some(Box::new($rest) as Condition)
            }
            SortValue::Time(v) => {
                let $q = sql::<Bool>($head).bind::<Timestamp, _>(v);
                Some(Box::new($rest) as Condition)
            }
            SortValue::Text(v) => {
                let $q = sql::<Bool>($head).bind::<Text, _>(v);
                Some(Box::new($rest) as Condition)
            }
            SortValue::Null => None,
        }
    };
}

fn literal(text: &str) -> Condition {
    Box::new(sql::<Bool>(text).sql(""))
}

/// `column op value` with the value bound, typed by the value.
fn compare(column: &str, op: &str, value: &SortValue) -> Condition {
    let head = format!("{column} {op} ");
    bind_sort_value!(value.clone(), &head, |q| q)
        .unwrap_or_else(|| literal(&format!("{column} IS NULL")))
}

/// Equality of the first `n` keys with the keyset's values.
fn equal_prefix(keys: &[SortKey], k: &Keyset, n: usize, tier: &str) -> Condition {
    let mut all = literal("1 = 1");
    for (key, value) in keys.iter().zip(&k.values).take(n) {
        all = Box::new(all.and(compare(&key.field.column(tier), "=", value)));
    }
    all
}

/// Rows strictly after the keyset in the order `keys`, then id (nulls last on every key):
/// for some key i, equal on the keys before i and later on i; or equal on all, with a later id.
fn after(keys: &[SortKey], k: &Keyset, tier: &str) -> Condition {
    let mut any = literal("1 = 0");
    for (i, (key, value)) in keys.iter().zip(&k.values).enumerate() {
        let column = key.field.column(tier);
        let column = column.as_str();
        if *value == SortValue::Null {
            continue; // nothing sorts after a null on this key but other nulls
        }
        let later: Condition = Box::new(
            compare(column, if key.descending { "<" } else { ">" }, value)
                .or(literal(&format!("{column} IS NULL"))),
        );
        any = Box::new(any.or(equal_prefix(keys, k, i, tier).and(later)));
    }
    let last = equal_prefix(keys, k, keys.len(), tier).and(compare(
        "id",
        ">",
        &SortValue::Text(k.id.clone()),
    ));
    Box::new(any.or(last))
}

fn order_clause(keys: &[SortKey], tier: &str) -> String {
    let mut parts: Vec<String> = keys
        .iter()
        .map(|k| {
            let c = k.field.column(tier);
            format!(
                "({c} IS NULL), {c} {}",
                if k.descending { "DESC" } else { "ASC" }
            )
        })
        .collect();
    parts.push("id ASC".into());
    parts.join(", ")
}

/// `(column || '') IN ('a', 'b')`: the same test, in a form no index serves, so that the
/// planner reads the sort's index instead of sorting every row of a broad filter. Only for the
/// closed vocabularies (status, kind), whose values are fixed names and safe to inline.
fn unindexed_in(column: &str, values: &[&str]) -> Condition {
    let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    literal(&format!("({column} || '') IN ({})", list.join(", ")))
}

/// Which index a filtered query should be read through. Broad filters (status, kind, country)
/// are written so that no index serves them when another access path is better: the planner
/// (SQLite's especially, which has no statistics) would otherwise pick them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// The planner chooses (counts, name-sorted pages).
    Any,
    /// The order (this single key) has an index of its own.
    SortIndex(SortKey),
    /// The search index finds few rows; look them up by id.
    Search,
}

/// The filtered query, shaped for `access`.
fn filtered(filter: &InstituteFilter, access: Access) -> institutes::BoxedQuery<'_, MultiBackend> {
    use institutes::dsl as i;
    let mut query = i::institutes.into_boxed::<MultiBackend>();
    let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.as_str()).collect();
    let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    if access != Access::Any {
        if !kinds.is_empty() {
            query = query.filter(unindexed_in("kind", &kinds));
        }
        if !statuses.is_empty() {
            query = query.filter(unindexed_in("status", &statuses));
        }
    } else {
        if !kinds.is_empty() {
            query = query.filter(i::kind.eq_any(kinds));
        }
        if !statuses.is_empty() {
            query = query.filter(i::status.eq_any(statuses));
        }
    }
    let country_lists = [
        Some(&filter.countries).filter(|c| !c.is_empty()),
        filter.region_countries.as_ref(),
    ];
    for codes in country_lists.into_iter().flatten() {
        if codes.is_empty() {
            query = query.filter(literal("1 = 0"));
        } else if access != Access::Any {
            // Codes from the ISO list: letters only, safe to inline.
            let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
            query = query.filter(unindexed_in("country", &codes));
        } else {
            query = query.filter(i::country.eq_any(codes));
        }
    }
    if !filter.sectors.is_empty() {
        if matches!(access, Access::SortIndex(_)) {
            // Checked row by row as the sort's index is walked: a primary-key probe each.
            let list: Vec<String> = filter
                .sectors
                .iter()
                .map(|s| format!("'{}'", s.replace('\'', "''")))
                .collect();
            query = query.filter(literal(&format!(
                "EXISTS (SELECT 1 FROM institute_sectors s WHERE s.institute_id = institutes.id \
                 AND s.sector IN ({}))",
                list.join(", ")
            )));
        } else {
            query = query.filter(
                i::id.eq_any(
                    institute_sectors::table
                        .filter(institute_sectors::sector.eq_any(&filter.sectors))
                        .select(institute_sectors::institute_id),
                ),
            );
        }
    }
    // Walking a sort's index, range filters are checked on each row read, not used to pick
    // rows: `column + 0` is the same value, which no index serves.
    // A bound on the sort's own column is a seek on its index instead (missing values, mapped
    // to the sentinel, stay out: a bound excludes them).
    let range = |column: &str| match access {
        Access::SortIndex(key) if key.field.plain_column() == column => {
            let (expr, sentinel) = single_key(&key, "0");
            match sentinel {
                Some(s) => (expr, Some((if key.descending { ">" } else { "<" }, s))),
                None => (column.to_string(), None),
            }
        }
        Access::SortIndex(_) => (format!("{column} + 0"), None),
        _ => (column.to_string(), None),
    };
    let bounds: [(&str, Option<SortValue>, &str); 6] = [
        (
            "founded",
            filter.founded_from.map(|v| SortValue::Int(v.into())),
            ">=",
        ),
        (
            "founded",
            filter.founded_to.map(|v| SortValue::Int(v.into())),
            "<=",
        ),
        (
            "headcount",
            filter.headcount_min.map(|v| SortValue::Int(v.into())),
            ">=",
        ),
        (
            "headcount",
            filter.headcount_max.map(|v| SortValue::Int(v.into())),
            "<=",
        ),
        (
            "comparable_budget_usd",
            filter.budget_min_usd.map(SortValue::Float),
            ">=",
        ),
        (
            "comparable_budget_usd",
            filter.budget_max_usd.map(SortValue::Float),
            "<=",
        ),
    ];
    for (column, value, op) in bounds {
        if let Some(v) = value {
            let (expr, not_missing) = range(column);
            query = query.filter(compare(&expr, op, &v));
            if let Some((op, sentinel)) = not_missing {
                query = query.filter(compare(&expr, op, &sentinel));
            }
        }
    }
    if let Some(p) = &filter.parent {
        query = query.filter(i::parent_id.eq(p));
    }
    if !filter.ids.is_empty() {
        query = query.filter(i::id.eq_any(&filter.ids));
    }
    if let Some(t) = filter.updated_since {
        query = query.filter(i::updated_at.ge(t));
    }
    if let Some(search) = &filter.search {
        query = query.filter(search.condition());
    }
    query
}

/// How a single-key sort reads an index: the indexed expression (missing values mapped to a
/// sentinel that sorts them last in this direction) and the sentinel's cursor value.
fn single_key(key: &SortKey, tier: &str) -> (String, Option<SortValue>) {
    let column = key.field.column(tier);
    let (int_end, float_end) = if key.descending {
        ("-2147483648", -1e300)
    } else {
        ("2147483647", 1e300)
    };
    match key.field {
        SortField::Founded | SortField::Headcount => (
            format!("COALESCE({column}, {int_end})"),
            Some(SortValue::Int(int_end.parse().unwrap_or(0))),
        ),
        SortField::Budget => (
            format!(
                "COALESCE({column}, {})",
                if key.descending { "-1e300" } else { "1e300" }
            ),
            Some(SortValue::Float(float_end)),
        ),
        _ => (column, None),
    }
}

/// Rows after `(value, id)` in the single-key order: one row-value comparison, which both
/// engines answer with an index seek.
fn single_key_after(key: &SortKey, k: &Keyset, tier: &str) -> Condition {
    let (expr, sentinel) = single_key(key, tier);
    let op = if key.descending { "<" } else { ">" };
    let head = format!("({expr}, id) {op} (");
    let value = match (k.values.first(), sentinel) {
        (Some(SortValue::Null) | None, Some(s)) => s,
        (Some(v), _) => v.clone(),
        (None, None) => SortValue::Null,
    };
    let id = k.id.clone();
    bind_sort_value!(value, &head, |q| q.sql(", ").bind::<Text, _>(id).sql(")"))
        .unwrap_or_else(|| literal("1 = 0"))
}

/// How many institutes match the filter.
pub fn count(conn: &mut DbConnection, filter: &InstituteFilter) -> QueryResult<i64> {
    filtered(filter, Access::Any).count().get_result(conn)
}

/// Below this many matches, a sorted page reads the matches and sorts them; from it, it walks
/// the sort's index and checks each row against the filters (about `limit × registry size /
/// matches` rows, a few thousand at most).
const WALK_FROM: i64 = 1000;

/// The stored rows of one page in the order of `keys` (then id), starting after `after_key`,
/// and the keyset of the page's last row when more rows follow. `matches`, the filter's count
/// when known, decides how the page is read.
pub fn page_rows(
    conn: &mut DbConnection,
    filter: &InstituteFilter,
    keys: &[SortKey],
    after_key: Option<&Keyset>,
    limit: i64,
    matches: Option<i64>,
) -> QueryResult<(Vec<InstituteRow>, Option<Keyset>)> {
    let tier = filter
        .search
        .as_ref()
        .map(SearchPlan::tier_sql)
        .unwrap_or_else(|| "0".into());
    let single = keys.len() == 1;
    // PostgreSQL plans from its statistics: it gets the plain query. SQLite has none (nothing
    // runs ANALYZE), so the query is shaped for the access path that the counts suggest.
    let access = if conn.backend() == crate::db::Backend::Postgres {
        Access::Any
    } else if filter.search.is_some() {
        Access::Search
    } else if single
        && keys[0].field != SortField::Relevance
        && matches.is_none_or(|m| m >= WALK_FROM)
    {
        Access::SortIndex(keys[0])
    } else {
        Access::Any
    };
    let order = if single {
        let (expr, _) = single_key(&keys[0], &tier);
        let dir = if keys[0].descending { "DESC" } else { "ASC" };
        format!("{expr} {dir}, id {dir}")
    } else {
        order_clause(keys, &tier)
    };
    let mut query = filtered(filter, access)
        .select(InstituteRow::as_select())
        .order(sql::<Text>(&order))
        .limit(limit + 1);
    if let Some(k) = after_key {
        query = query.filter(if single {
            single_key_after(&keys[0], k, &tier)
        } else {
            after(keys, k, &tier)
        });
    }
    let mut rows = query.load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| Keyset {
            values: keys
                .iter()
                .map(|k| k.field.value(r, filter.search.as_ref()))
                .collect(),
            id: r.id.clone(),
        })
    } else {
        None
    };
    Ok((rows, next))
}

/// A page of institutes in the order of `keys` (then id), starting after `after_key`, with
/// `total` as counted by the caller.
pub fn list(
    conn: &mut DbConnection,
    filter: &InstituteFilter,
    keys: &[SortKey],
    after_key: Option<&Keyset>,
    limit: i64,
    rates: &Rates,
    total: i64,
) -> QueryResult<Page<Institute>> {
    let (rows, next) = page_rows(conn, filter, keys, after_key, limit, Some(total))?;
    Ok(Page {
        items: assemble(conn, rows, rates)?,
        next,
        total,
    })
}

/// A deleted institute: id, last slug, successor id, when.
pub type TombstoneRow = (String, String, Option<String>, NaiveDateTime);

/// Institutes deleted since a time (a change feed's tombstones), oldest first.
pub fn deleted_since(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<TombstoneRow>> {
    tombstones::table
        .filter(tombstones::deleted_at.ge(since))
        .select((
            tombstones::id,
            tombstones::slug,
            tombstones::merged_into,
            tombstones::deleted_at,
        ))
        .order((tombstones::deleted_at, tombstones::id))
        .limit(limit)
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

/// What `/v1/stats` groups institutes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Country,
    Region,
    Sector,
    Kind,
    FoundedDecade,
}

impl GroupBy {
    pub const NAMES: &'static str = "country, region, sector, kind, founded_decade";

    pub fn parse(name: &str) -> Option<GroupBy> {
        Some(match name {
            "country" => GroupBy::Country,
            "region" => GroupBy::Region,
            "sector" => GroupBy::Sector,
            "kind" => GroupBy::Kind,
            "founded_decade" => GroupBy::FoundedDecade,
            _ => return None,
        })
    }
}

/// A group key, the latest headcount and the comparable budget in USD.
pub type GroupRow = (Option<String>, Option<i32>, Option<f64>);

/// One row per matching institute, keyed by its group (one row per sector when grouping by
/// sector; an institute without sectors has a null key). Reads only indexed columns for every
/// grouping but sector.
pub fn group_rows(
    conn: &mut DbConnection,
    filter: &InstituteFilter,
    by: GroupBy,
) -> QueryResult<Vec<GroupRow>> {
    use institutes::dsl as i;
    match by {
        GroupBy::Country | GroupBy::Region => {
            let rows: Vec<(String, Option<i32>, Option<f64>)> = filtered(filter, Access::Any)
                .select((i::country, i::headcount, i::comparable_budget_usd))
                .load(conn)?;
            if by == GroupBy::Country {
                return Ok(rows.into_iter().map(|(c, h, b)| (Some(c), h, b)).collect());
            }
            let regions: HashMap<String, String> = countries::table
                .select((countries::code, countries::region))
                .load::<(String, String)>(conn)?
                .into_iter()
                .collect();
            Ok(rows
                .into_iter()
                .map(|(c, h, b)| (regions.get(&c).filter(|r| !r.is_empty()).cloned(), h, b))
                .collect())
        }
        GroupBy::Kind => Ok(filtered(filter, Access::Any)
            .select((i::kind, i::headcount, i::comparable_budget_usd))
            .load::<(String, Option<i32>, Option<f64>)>(conn)?
            .into_iter()
            .map(|(k, h, b)| (Some(k), h, b))
            .collect()),
        GroupBy::FoundedDecade => Ok(filtered(filter, Access::Any)
            .select((i::founded, i::headcount, i::comparable_budget_usd))
            .load::<(Option<i32>, Option<i32>, Option<f64>)>(conn)?
            .into_iter()
            .map(|(f, h, b)| (f.map(|y| (y.div_euclid(10) * 10).to_string()), h, b))
            .collect()),
        GroupBy::Sector => {
            let rows: Vec<(String, Option<i32>, Option<f64>)> = filtered(filter, Access::Any)
                .select((i::id, i::headcount, i::comparable_budget_usd))
                .load(conn)?;
            // The links of a few institutes are looked up by id; of many, all are read once.
            let pairs: Vec<(String, String)> = if rows.len() > 5000 {
                institute_sectors::table
                    .select((institute_sectors::institute_id, institute_sectors::sector))
                    .load(conn)?
            } else {
                let mut pairs = Vec::new();
                for chunk in rows.chunks(1000) {
                    let ids: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
                    pairs.extend(
                        institute_sectors::table
                            .filter(institute_sectors::institute_id.eq_any(ids))
                            .select((institute_sectors::institute_id, institute_sectors::sector))
                            .load::<(String, String)>(conn)?,
                    );
                }
                pairs
            };
            let mut sectors: HashMap<String, Vec<String>> = HashMap::new();
            for (id, sector) in pairs {
                sectors.entry(id).or_default().push(sector);
            }
            let mut out = Vec::with_capacity(rows.len());
            for (id, h, b) in rows {
                match sectors.remove(&id) {
                    Some(list) => out.extend(list.into_iter().map(|s| (Some(s), h, b))),
                    None => out.push((None, h, b)),
                }
            }
            Ok(out)
        }
    }
}

/// The parent, its parent, and so on, nearest first (at most 100 levels; the hierarchy has no
/// cycles, which every write checks).
pub fn ancestors(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<InstituteRef>> {
    let mut out = Vec::new();
    let mut current = id.to_string();
    for _ in 0..100 {
        let parent: Option<String> = institutes::table
            .find(&current)
            .select(institutes::parent_id)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten();
        let Some(parent) = parent else { break };
        match get_ref(conn, &parent)? {
            Some(r) => out.push(to_ref(r)),
            None => break,
        }
        if out.iter().filter(|r| r.id == parent).count() > 1 {
            break;
        }
        current = parent;
    }
    Ok(out)
}

/// Every institute below `id`, breadth first and by name within a level (at most 10,000).
pub fn descendants(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<Descendant>> {
    let mut out: Vec<Descendant> = Vec::new();
    let mut level = vec![id.to_string()];
    let mut depth = 0;
    while !level.is_empty() && out.len() < 10_000 && depth < 100 {
        depth += 1;
        let mut rows = institutes::table
            .filter(institutes::parent_id.eq_any(&level))
            .select((
                institutes::parent_id.assume_not_null(),
                institutes::sort_name,
                institutes::id,
                institutes::slug,
                institutes::name,
            ))
            .load::<(String, String, String, String, String)>(conn)?;
        rows.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
        level = Vec::new();
        for (parent, _, child, slug, name) in rows {
            if child == id || out.iter().any(|d| d.institute.id == child) {
                continue;
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
    out.truncate(10_000);
    Ok(out)
}
