//! Bulk import: checked records upserted in one transaction that holds the write lock.
//!
//! Each record finds its institute by id, else by slug, else by an external id (ROR,
//! Wikidata, GRID); one that finds none is created, keeping the id, timestamps and version
//! the file gives (so a file restores exactly what was exported). A record equal to its
//! institute is left alone. Every check the API makes on a write is made here too, against
//! the registry as it stands and the other records of the file: unique slugs and external
//! ids, parents that exist and make no cycle, figure entries that belong to no other
//! institute and do not repeat a year.

use super::institutes::{assemble, record_of, Parts};
use super::reference::rates;
use super::rows::{BudgetRow, HeadcountRow, InstituteRow};
use super::{insert_batch, now};
use crate::db::schema::{
    budgets, former_slugs, headcounts, history, institute_sectors, institutes, tombstones,
};
use crate::db::{Backend, DbConnection};
use crate::error::FieldError;
use crate::model::figures::{latest_budget, BudgetFigure, BudgetKind};
use crate::model::history::{Action, Subject};
use crate::model::ids::{fold, new_id, slugify, RESERVED_SLUGS};
use crate::model::input::{BudgetInput, HeadcountInput};
use crate::model::interchange::{ImportRecord, Rejected};
use crate::model::money::Rates;
use crate::model::text::{acronym_key, search_text};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// How an import behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Check and apply everything, then roll back.
    pub dry_run: bool,
    /// Commit the valid records even when others are rejected.
    pub partial: bool,
}

/// What an import did (or, for a dry run or a refused import, would have done).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<Rejected>,
    /// Whether the changes were committed.
    pub committed: bool,
}

/// Progress: a phase's name, how far it is, and its size.
pub type Progress<'a> = &'a dyn Fn(&str, usize, usize);

/// The history's author for imported changes.
pub const ACTOR: &str = "import";

enum Stop {
    Db(diesel::result::Error),
    Rollback(Outcome),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Stop {
        Stop::Db(e)
    }
}

/// The registry as it stands, held in memory for the checks.
#[derive(Default)]
struct Registry {
    rows: HashMap<String, InstituteRow>,
    by_slug: HashMap<String, String>,
    former: HashMap<String, String>,
    dead_ids: HashSet<String>,
    dead_slugs: HashSet<String>,
    external: HashMap<(&'static str, String), String>,
    sectors: HashMap<String, Vec<String>>,
    budget_owner: HashMap<String, String>,
    headcount_owner: HashMap<String, String>,
}

impl Registry {
    fn load(conn: &mut DbConnection) -> QueryResult<Registry> {
        let mut r = Registry::default();
        for row in institutes::table
            .select(InstituteRow::as_select())
            .load(conn)?
        {
            r.by_slug.insert(row.slug.clone(), row.id.clone());
            for (key, value) in [
                ("ror", &row.ror),
                ("wikidata", &row.wikidata),
                ("grid", &row.grid),
            ] {
                if let Some(v) = value {
                    r.external.insert((key, v.clone()), row.id.clone());
                }
            }
            r.rows.insert(row.id.clone(), row);
        }
        r.former = former_slugs::table
            .select((former_slugs::slug, former_slugs::institute_id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        for (id, slug) in tombstones::table
            .select((tombstones::id, tombstones::slug))
            .load::<(String, String)>(conn)?
        {
            r.dead_ids.insert(id);
            r.dead_slugs.insert(slug);
        }
        for (institute, sector) in institute_sectors::table
            .select((institute_sectors::institute_id, institute_sectors::sector))
            .load::<(String, String)>(conn)?
        {
            r.sectors.entry(institute).or_default().push(sector);
        }
        r.budget_owner = budgets::table
            .select((budgets::id, budgets::institute_id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        r.headcount_owner = headcounts::table
            .select((headcounts::id, headcounts::institute_id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        Ok(r)
    }
}

/// A budget entry as it will stand: its id and its fields.
type BudgetPlan = (String, BudgetInput);
/// A headcount entry as it will stand.
type HeadcountPlan = (String, HeadcountInput);

/// One record, matched and checked.
struct Plan {
    record: ImportRecord,
    id: String,
    /// Whether it updates an institute that exists.
    existing: bool,
    slug: Option<String>,
    parent: Option<String>,
    budgets: Option<Vec<BudgetPlan>>,
    headcounts: Option<Vec<HeadcountPlan>>,
    errors: Vec<FieldError>,
    changed: bool,
}

impl Plan {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn label(&self) -> String {
        self.record
            .id
            .clone()
            .or_else(|| self.record.input.slug.clone())
            .unwrap_or_else(|| self.record.input.name.clone())
    }
}

/// Claims on unique values made by the file's records: value -> line.
#[derive(Default)]
struct Claims {
    institutes: HashMap<String, usize>,
    slugs: HashMap<String, (String, usize)>,
    external: HashMap<(&'static str, String), (String, usize)>,
    entries: HashMap<String, usize>,
}

/// Imports checked records. `rejected` holds the records that failed before (unreadable or
/// invalid); they count in the outcome. All-or-nothing unless `options.partial`.
pub fn import(
    conn: &mut DbConnection,
    records: Vec<ImportRecord>,
    rejected: Vec<Rejected>,
    options: Options,
    progress: Progress<'_>,
) -> QueryResult<Outcome> {
    let result = conn.transaction::<Outcome, Stop, _>(|conn| {
        super::curation::begin_write(conn, None)?;
        let registry = Registry::load(conn)?;
        let rates = rates(conn)?;
        let mut plans = plan(conn, &registry, records, progress)?;
        resolve_parents(&registry, &mut plans, options.partial);
        let mut outcome = Outcome {
            rejected,
            ..Outcome::default()
        };
        let (accepted, refused): (Vec<Plan>, Vec<Plan>) =
            plans.into_iter().partition(|p| p.errors.is_empty());
        outcome
            .rejected
            .extend(refused.into_iter().map(|p| Rejected {
                line: p.record.line,
                record: p.label(),
                errors: p.errors,
            }));
        outcome.rejected.sort_by_key(|r| r.line);
        for p in &accepted {
            match (p.existing, p.changed) {
                (false, _) => outcome.created += 1,
                (true, true) => outcome.updated += 1,
                (true, false) => outcome.unchanged += 1,
            }
        }
        if !outcome.rejected.is_empty() && !options.partial {
            return Err(Stop::Rollback(outcome));
        }
        write(conn, &registry, &rates, accepted, progress)?;
        if options.dry_run {
            return Err(Stop::Rollback(outcome));
        }
        outcome.committed = true;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => Ok(outcome),
        Err(Stop::Rollback(outcome)) => Ok(outcome),
        Err(Stop::Db(e)) => Err(e),
    }
}

/// Matches every record to its institute (or a new id) and checks its unique values.
fn plan(
    conn: &mut DbConnection,
    registry: &Registry,
    records: Vec<ImportRecord>,
    progress: Progress<'_>,
) -> QueryResult<Vec<Plan>> {
    let total = records.len();
    let mut claims = Claims::default();
    let mut plans = Vec::with_capacity(total);
    for (n, record) in records.into_iter().enumerate() {
        if n % 5000 == 0 {
            progress("checking", n, total);
        }
        let mut p = Plan {
            id: String::new(),
            existing: false,
            slug: None,
            parent: None,
            budgets: None,
            headcounts: None,
            errors: Vec::new(),
            changed: true,
            record,
        };
        match_institute(registry, &claims, &mut p);
        check_slug(registry, &claims, &mut p);
        check_external_ids(registry, &claims, &mut p);
        plan_series(registry, &claims, &mut p);
        if p.errors.is_empty() {
            let line = p.record.line;
            claims.institutes.insert(p.id.clone(), line);
            if let Some(s) = &p.slug {
                claims.slugs.insert(s.clone(), (p.id.clone(), line));
            }
            for (key, value) in external_ids(&p.record) {
                claims.external.insert((key, value), (p.id.clone(), line));
            }
            for (id, _) in p.budgets.iter().flatten() {
                claims.entries.insert(id.clone(), line);
            }
            for (id, _) in p.headcounts.iter().flatten() {
                claims.entries.insert(id.clone(), line);
            }
        }
        plans.push(p);
    }
    progress("checking", total, total);
    // New institutes without a slug get one from their name, once every given slug is known.
    for p in plans.iter_mut().filter(|p| p.errors.is_empty()) {
        if p.slug.is_none() {
            let mut base = slugify(&p.record.input.name);
            if base.is_empty() {
                base = "institute".into();
            }
            base.truncate(90);
            let base = base.trim_end_matches('-').to_string();
            let mut candidate = base.clone();
            let mut n = 2;
            while slug_holder(registry, &claims, &candidate).is_some() {
                candidate = format!("{base}-{n}");
                n += 1;
            }
            claims
                .slugs
                .insert(candidate.clone(), (p.id.clone(), p.record.line));
            p.slug = Some(candidate);
        }
    }
    mark_unchanged(conn, registry, &mut plans)?;
    Ok(plans)
}

fn external_ids(record: &ImportRecord) -> Vec<(&'static str, String)> {
    let ids = &record.input.external_ids;
    [
        ("ror", &ids.ror),
        ("wikidata", &ids.wikidata),
        ("grid", &ids.grid),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect()
}

fn match_institute(registry: &Registry, claims: &Claims, p: &mut Plan) {
    let record = p.record.clone();
    let record = &record;
    let mut target: Option<(String, &str)> = None;
    if let Some(id) = &record.id {
        if registry.rows.contains_key(id) {
            target = Some((id.clone(), "id"));
        } else if registry.dead_ids.contains(id) {
            p.fail(
                "/id",
                format!("{id} belonged to a deleted institute; ids are never reused"),
            );
            return;
        }
    }
    if target.is_none() {
        if let Some(id) = record
            .input
            .slug
            .as_ref()
            .and_then(|s| registry.by_slug.get(s))
        {
            target = Some((id.clone(), "slug"));
        }
    }
    if target.is_none() {
        for key in external_ids(record) {
            if let Some(id) = registry.external.get(&key) {
                target = Some((id.clone(), key.0));
                break;
            }
        }
    }
    match target {
        Some((id, by)) => {
            if let Some(given) = record.id.as_ref().filter(|g| **g != id) {
                p.fail(
                    "/id",
                    format!(
                        "{given} is not in the registry, but the {by} is that of {id}; \
                         give that id, or none, to update it"
                    ),
                );
            }
            if let Some(line) = claims.institutes.get(&id) {
                p.fail("/id", format!("line {line} already imports institute {id}"));
            }
            p.id = id;
            p.existing = true;
            let current = &registry.rows[&p.id];
            p.slug = Some(
                record
                    .input
                    .slug
                    .clone()
                    .unwrap_or_else(|| current.slug.clone()),
            );
        }
        None => {
            p.id = record.id.clone().unwrap_or_else(|| new_id("ins"));
            if let Some(line) = claims.institutes.get(&p.id) {
                p.fail("/id", format!("line {line} already has this id"));
            }
            p.slug = record.input.slug.clone();
        }
    }
}

/// Who holds a slug, in the registry (as its slug or a former one, or a deleted
/// institute's) or in the file: the institute's id and, for the file, the line.
fn slug_holder(registry: &Registry, claims: &Claims, slug: &str) -> Option<(String, usize)> {
    if RESERVED_SLUGS.contains(&slug) || registry.dead_slugs.contains(slug) {
        return Some((String::new(), 0));
    }
    if let Some(held) = claims.slugs.get(slug) {
        return Some(held.clone());
    }
    registry
        .by_slug
        .get(slug)
        .or_else(|| registry.former.get(slug))
        .map(|id| (id.clone(), 0))
}

fn check_slug(registry: &Registry, claims: &Claims, p: &mut Plan) {
    let Some(slug) = p.slug.clone() else { return };
    if let Some((holder, line)) = slug_holder(registry, claims, &slug) {
        if holder != p.id {
            let message = if line > 0 {
                format!("'{slug}' is also the slug of line {line}")
            } else {
                format!("'{slug}' is already used by another institute")
            };
            p.fail("/slug", message);
        }
    }
}

fn check_external_ids(registry: &Registry, claims: &Claims, p: &mut Plan) {
    for (key, value) in external_ids(&p.record) {
        let holder = claims
            .external
            .get(&(key, value.clone()))
            .map(|(id, line)| (id.clone(), *line))
            .or_else(|| {
                registry
                    .external
                    .get(&(key, value.clone()))
                    .map(|id| (id.clone(), 0))
            });
        if let Some((holder, line)) = holder.filter(|(h, _)| *h != p.id) {
            let by = if line > 0 {
                format!("line {line}")
            } else {
                registry
                    .rows
                    .get(&holder)
                    .map(|r| format!("'{}'", r.slug))
                    .unwrap_or(holder)
            };
            p.fail(
                &format!("/external_ids/{key}"),
                format!("already the {key} id of {by}"),
            );
        }
    }
}

/// Gives every entry of the record's series its id (the given one, else the id of the entry
/// for the same year and kind, else a new one) and checks them.
fn plan_series(registry: &Registry, claims: &Claims, p: &mut Plan) {
    let owner_ok = |p: &mut Plan, id: &str, owners: &HashMap<String, String>, at: String| {
        if owners.get(id).is_some_and(|o| *o != p.id) {
            p.fail(&at, format!("{id} is an entry of another institute"));
        } else if let Some(line) = claims.entries.get(id) {
            p.fail(&at, format!("{id} is also an entry on line {line}"));
        }
    };
    if let Some(budgets) = p.record.budgets.clone() {
        let mut out: Vec<BudgetPlan> = Vec::new();
        let mut keys: HashMap<(i32, BudgetKind), usize> = HashMap::new();
        for (n, (id, input)) in budgets.into_iter().enumerate() {
            if let Some(first) = keys.insert((input.year, input.kind), n) {
                p.fail(
                    &format!("/budgets/{n}/year"),
                    format!(
                        "entry {first} is already the {} figure of {}",
                        input.kind.as_str(),
                        input.year
                    ),
                );
            }
            let id = id.unwrap_or_else(|| new_id("bud"));
            owner_ok(p, &id, &registry.budget_owner, format!("/budgets/{n}/id"));
            if out.iter().any(|(other, _)| *other == id) {
                p.fail(&format!("/budgets/{n}/id"), "repeats an id of this series");
            }
            out.push((id, input));
        }
        p.budgets = Some(out);
    }
    if let Some(headcounts) = p.record.headcounts.clone() {
        let mut out: Vec<HeadcountPlan> = Vec::new();
        let mut years: HashMap<i32, usize> = HashMap::new();
        for (n, (id, input)) in headcounts.into_iter().enumerate() {
            if let Some(first) = years.insert(input.year, n) {
                p.fail(
                    &format!("/headcounts/{n}/year"),
                    format!("entry {first} is already the figure of {}", input.year),
                );
            }
            let id = id.unwrap_or_else(|| new_id("hc"));
            owner_ok(
                p,
                &id,
                &registry.headcount_owner,
                format!("/headcounts/{n}/id"),
            );
            if out.iter().any(|(other, _)| *other == id) {
                p.fail(
                    &format!("/headcounts/{n}/id"),
                    "repeats an id of this series",
                );
            }
            out.push((id, input));
        }
        p.headcounts = Some(out);
    }
}

/// Resolves parent references against the registry and the file, refuses cycles, and (with
/// `partial`) rejects the records whose parent was rejected.
fn resolve_parents(registry: &Registry, plans: &mut [Plan], partial: bool) {
    loop {
        let mut by_ref: HashMap<String, (String, bool)> = HashMap::new();
        for p in plans.iter() {
            let ok = p.errors.is_empty();
            by_ref.insert(p.id.clone(), (p.id.clone(), ok));
            if let Some(s) = &p.slug {
                by_ref.insert(s.clone(), (p.id.clone(), ok));
            }
            for (key, value) in external_ids(&p.record) {
                by_ref.insert(format!("{key}:{value}"), (p.id.clone(), ok));
            }
        }
        let resolve = |reference: &str| -> Option<(String, bool)> {
            if let Some(found) = by_ref.get(reference) {
                return Some(found.clone());
            }
            if registry.rows.contains_key(reference) {
                return Some((reference.to_string(), true));
            }
            let (key, value) = reference.split_once(':').unwrap_or(("", reference));
            let key: Option<&'static str> =
                ["ror", "wikidata", "grid"].into_iter().find(|k| *k == key);
            if let Some(k) = key {
                return registry
                    .external
                    .get(&(k, value.to_string()))
                    .map(|id| (id.clone(), true));
            }
            registry
                .by_slug
                .get(reference)
                .or_else(|| registry.former.get(reference))
                .map(|id| (id.clone(), true))
        };
        let mut newly_failed = false;
        for p in plans.iter_mut().filter(|p| p.errors.is_empty()) {
            let Some(reference) = p.record.input.parent.clone() else {
                p.parent = None;
                continue;
            };
            match resolve(&reference) {
                None => {
                    p.fail(
                        "/parent",
                        format!(
                            "no institute has the id or slug '{reference}', in the registry \
                             or in the file"
                        ),
                    );
                    newly_failed = true;
                }
                Some((_, false)) if partial => {
                    p.fail(
                        "/parent",
                        format!("the parent '{reference}' is itself rejected"),
                    );
                    newly_failed = true;
                }
                Some((id, _)) => p.parent = Some(id),
            }
        }
        // Cycles, over the hierarchy as it will stand.
        let planned: HashMap<String, Option<String>> = plans
            .iter()
            .filter(|p| p.errors.is_empty())
            .map(|p| (p.id.clone(), p.parent.clone()))
            .collect();
        let parent_of = |id: &str| -> Option<String> {
            match planned.get(id) {
                Some(parent) => parent.clone(),
                None => registry.rows.get(id).and_then(|r| r.parent_id.clone()),
            }
        };
        for p in plans.iter_mut().filter(|p| p.errors.is_empty()) {
            let mut cursor = p.parent.clone();
            let mut steps = 0;
            while let Some(id) = cursor {
                if id == p.id {
                    p.fail("/parent", "would make the institute its own ancestor");
                    newly_failed = true;
                    break;
                }
                steps += 1;
                if steps > 10_000 {
                    break;
                }
                cursor = parent_of(&id);
            }
        }
        if !newly_failed || !partial {
            return;
        }
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Marks the records that would change nothing of their institute.
fn mark_unchanged(
    conn: &mut DbConnection,
    registry: &Registry,
    plans: &mut [Plan],
) -> QueryResult<()> {
    let with_series: Vec<&str> = plans
        .iter()
        .filter(|p| p.existing && (p.budgets.is_some() || p.headcounts.is_some()))
        .map(|p| p.id.as_str())
        .collect();
    let mut series = HashMap::new();
    for chunk in with_series.chunks(500) {
        series.extend(super::institutes::series(conn, chunk)?);
    }
    for p in plans.iter_mut().filter(|p| p.existing) {
        let row = &registry.rows[&p.id];
        let input = &p.record.input;
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
        let same_record = row.slug == *p.slug.as_ref().unwrap_or(&row.slug)
            && row.name == input.name
            && row.acronym == input.acronym
            && row.aliases == json(&input.aliases)
            && row.kind == input.kind.as_str()
            && row.status == input.status.as_str()
            && row.country == input.country
            && row.city == input.city
            && row.founded == input.founded
            && row.website == input.website
            && row.description == input.description
            && row.ror == input.external_ids.ror
            && row.wikidata == input.external_ids.wikidata
            && row.grid == input.external_ids.grid
            && row.unverified_fields == json(&input.unverified_fields)
            && sorted(registry.sectors.get(&p.id).cloned().unwrap_or_default())
                == sorted(input.sectors.clone());
        // The parent is compared once resolved (see `write`).
        let now_series = series.remove(&p.id).unwrap_or_default();
        let have_budgets: Vec<(String, BudgetInput)> = now_series
            .budgets
            .iter()
            .map(|b| (b.id.clone(), budget_input(b)))
            .collect();
        let have_headcounts: Vec<(String, HeadcountInput)> = now_series
            .headcounts
            .iter()
            .map(|h| (h.id.clone(), headcount_input(h)))
            .collect();
        let mut same_budgets = true;
        if let (Some(planned), Some(given)) = (&mut p.budgets, &p.record.budgets) {
            adopt_ids(planned, given, &have_budgets, |a, b| {
                a.year == b.year && a.kind == b.kind
            });
            same_budgets = same_series(planned, &have_budgets);
        }
        let mut same_headcounts = true;
        if let (Some(planned), Some(given)) = (&mut p.headcounts, &p.record.headcounts) {
            adopt_ids(planned, given, &have_headcounts, |a, b| a.year == b.year);
            same_headcounts = same_series(planned, &have_headcounts);
        }
        p.changed = !(same_record && same_budgets && same_headcounts);
    }
    Ok(())
}

/// Entries the file gave no id take the id of the current entry for the same year (and kind),
/// unless the file gives that id to another entry.
fn adopt_ids<T>(
    planned: &mut [(String, T)],
    given: &[(Option<String>, T)],
    have: &[(String, T)],
    same_key: impl Fn(&T, &T) -> bool,
) {
    let taken = |e: &str| given.iter().any(|(g, _)| g.as_deref() == Some(e));
    for (n, (id, input)) in planned.iter_mut().enumerate() {
        if given.get(n).is_some_and(|(g, _)| g.is_some()) {
            continue;
        }
        if let Some((current, _)) = have.iter().find(|(e, h)| same_key(h, input) && !taken(e)) {
            *id = current.clone();
        }
    }
}

/// Whether two series hold the same entries, in any order.
fn same_series<T: PartialEq + Clone>(planned: &[(String, T)], have: &[(String, T)]) -> bool {
    let mut a = planned.to_vec();
    let mut b = have.to_vec();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    a == b
}

fn headcount_input(h: &crate::model::figures::HeadcountEntry) -> HeadcountInput {
    HeadcountInput {
        year: h.year,
        researchers: h.researchers,
        staff: h.staff,
        basis: h.basis.clone(),
        source: h.source.clone(),
    }
}

fn budget_input(b: &BudgetFigure) -> BudgetInput {
    BudgetInput {
        year: b.year,
        kind: b.kind,
        amount: b.amount,
        currency: b.currency.clone(),
        period_end: b.period_end,
        source: b.source.clone(),
        note: b.note.clone(),
    }
}

fn budget_figure(id: &str, b: &BudgetInput) -> BudgetFigure {
    BudgetFigure {
        id: id.to_string(),
        year: b.year,
        kind: b.kind,
        amount: b.amount,
        currency: b.currency.clone(),
        period_end: b.period_end,
        source: b.source.clone(),
        note: b.note.clone(),
    }
}

/// The stored row of a planned record; `current` is the row it replaces.
fn row_of(p: &Plan, current: Option<&InstituteRow>, stamp: NaiveDateTime) -> InstituteRow {
    let input = &p.record.input;
    InstituteRow {
        id: p.id.clone(),
        slug: p.slug.clone().unwrap_or_default(),
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
        parent_id: p.parent.clone(),
        ror: input.external_ids.ror.clone(),
        wikidata: input.external_ids.wikidata.clone(),
        grid: input.external_ids.grid.clone(),
        unverified_fields: serde_json::to_string(&input.unverified_fields)
            .unwrap_or_else(|_| "[]".into()),
        latest_researchers: current.and_then(|c| c.latest_researchers),
        latest_staff: current.and_then(|c| c.latest_staff),
        comparable_budget_usd: current.and_then(|c| c.comparable_budget_usd),
        headcount: current.and_then(|c| c.headcount),
        created_at: match current {
            Some(c) => c.created_at,
            None => p.record.created_at.unwrap_or(stamp),
        },
        updated_at: match current {
            Some(_) => stamp,
            None => p.record.updated_at.or(p.record.created_at).unwrap_or(stamp),
        },
        version: match current {
            Some(c) => c.version + 1,
            None => p.record.version.unwrap_or(1),
        },
        search_text: search_text(&input.name, input.acronym.as_deref(), &input.aliases),
        acronym_key: acronym_key(input.acronym.as_deref()),
    }
}

/// The derived columns of a row whose series is given.
fn set_latest(
    row: &mut InstituteRow,
    budgets: &[BudgetPlan],
    headcounts: &[HeadcountPlan],
    rates: &Rates,
) {
    let figures: Vec<BudgetFigure> = budgets.iter().map(|(id, b)| budget_figure(id, b)).collect();
    row.comparable_budget_usd = latest_budget(&figures, rates)
        .filter(|b| b.comparable)
        .and_then(|b| b.usd.amount_usd)
        .map(|usd| usd as f64);
    let latest = headcounts.iter().max_by_key(|(_, h)| h.year);
    row.latest_researchers = latest.and_then(|(_, h)| h.researchers);
    row.latest_staff = latest.and_then(|(_, h)| h.staff);
    row.headcount = row.latest_researchers.or(row.latest_staff);
}

fn budget_rows(institute: &str, planned: &[BudgetPlan], stamp: NaiveDateTime) -> Vec<BudgetRow> {
    planned
        .iter()
        .map(|(id, b)| BudgetRow {
            id: id.clone(),
            institute_id: institute.to_string(),
            year: b.year,
            kind: b.kind.as_str().to_string(),
            amount: b.amount,
            currency: b.currency.clone(),
            period_end: b.period_end,
            source: b.source.clone(),
            note: b.note.clone(),
            created_at: stamp,
            updated_at: stamp,
        })
        .collect()
}

fn headcount_rows(
    institute: &str,
    planned: &[HeadcountPlan],
    stamp: NaiveDateTime,
) -> Vec<HeadcountRow> {
    planned
        .iter()
        .map(|(id, h)| HeadcountRow {
            id: id.clone(),
            institute_id: institute.to_string(),
            year: h.year,
            researchers: h.researchers,
            staff: h.staff,
            basis: h.basis.clone(),
            source: h.source.clone(),
            created_at: stamp,
            updated_at: stamp,
        })
        .collect()
}

/// Parents before their children, so that each row's parent exists when it is inserted.
fn parents_first(plans: Vec<Plan>) -> Vec<Plan> {
    let index: HashMap<String, usize> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i))
        .collect();
    let mut depth: Vec<Option<usize>> = vec![None; plans.len()];
    for start in 0..plans.len() {
        let mut chain = Vec::new();
        let mut cursor = Some(start);
        let mut base = 0;
        while let Some(i) = cursor {
            if let Some(d) = depth[i] {
                base = d + 1;
                break;
            }
            if chain.len() > plans.len() {
                break;
            }
            chain.push(i);
            cursor = plans[i].parent.as_ref().and_then(|p| index.get(p)).copied();
        }
        for (k, i) in chain.iter().rev().enumerate() {
            depth[*i] = Some(base + k);
        }
    }
    let mut order: Vec<(usize, Plan)> = plans
        .into_iter()
        .enumerate()
        .map(|(i, p)| (depth[i].unwrap_or(0), p))
        .collect();
    order.sort_by_key(|(d, _)| *d);
    order.into_iter().map(|(_, p)| p).collect()
}

/// A history entry for an institute: its id, the record before (as JSON) and after.
fn history_row(
    id: &str,
    action: Action,
    before: Option<String>,
    after: &crate::model::institute::Institute,
    stamp: NaiveDateTime,
) -> HistoryRow {
    (
        new_id("chg"),
        Some(id.to_string()),
        Subject::Institute.as_str().to_string(),
        id.to_string(),
        action.as_str().to_string(),
        ACTOR.to_string(),
        stamp,
        before,
        serde_json::to_string(after).ok(),
    )
}

fn insert_history(conn: &mut DbConnection, entries: Vec<HistoryRow>) -> QueryResult<()> {
    let values: Vec<_> = entries
        .into_iter()
        .map(|e| {
            (
                history::id.eq(e.0),
                history::institute_id.eq(e.1),
                history::subject.eq(e.2),
                history::subject_id.eq(e.3),
                history::action.eq(e.4),
                history::actor.eq(e.5),
                history::at.eq(e.6),
                history::before.eq(e.7),
                history::after.eq(e.8),
            )
        })
        .collect();
    insert_batch!(conn, history::table, &values, 500);
    Ok(())
}

type HistoryRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<String>,
    Option<String>,
);

/// Applies the accepted records: new institutes in batches (parents first), changed ones one
/// by one, then one history entry for each.
fn write(
    conn: &mut DbConnection,
    registry: &Registry,
    rates: &Rates,
    accepted: Vec<Plan>,
    progress: Progress<'_>,
) -> QueryResult<()> {
    let stamp = now();
    // A parent that changed makes the record changed.
    let mut accepted = accepted;
    for p in accepted.iter_mut().filter(|p| p.existing && !p.changed) {
        p.changed = registry.rows[&p.id].parent_id != p.parent;
    }
    let (created, updated): (Vec<Plan>, Vec<Plan>) = accepted
        .into_iter()
        .filter(|p| p.changed || !p.existing)
        .partition(|p| !p.existing);
    let total = created.len() + updated.len();
    let created = parents_first(created);
    let rebuilt = if created.len() >= BULK && conn.backend() == Backend::Sqlite {
        drop_indexes(conn)?
    } else {
        Vec::new()
    };

    // The records before the change, for the history.
    let mut before: HashMap<String, String> = HashMap::new();
    for chunk in updated.chunks(1000) {
        let rows: Vec<InstituteRow> = chunk.iter().map(|p| registry.rows[&p.id].clone()).collect();
        for record in assemble(conn, rows, rates)? {
            before.insert(
                record.id.clone(),
                serde_json::to_string(&record).unwrap_or_default(),
            );
        }
    }

    // For the history's records of new institutes, built here rather than read back: each
    // one's parent and children as they will stand.
    let mut refs: HashMap<&str, (String, String)> = HashMap::new();
    let mut kids: HashMap<&str, Vec<(String, String, String, String)>> = HashMap::new();
    for p in created.iter().chain(updated.iter()) {
        let slug = p.slug.clone().unwrap_or_default();
        refs.insert(&p.id, (slug.clone(), p.record.input.name.clone()));
        if let Some(parent) = &p.parent {
            kids.entry(parent.as_str()).or_default().push((
                fold(&p.record.input.name),
                p.id.clone(),
                slug,
                p.record.input.name.clone(),
            ));
        }
    }
    for list in kids.values_mut() {
        list.sort();
    }
    let ref_of = |id: &str| -> Option<(String, String, String)> {
        refs.get(id)
            .map(|(slug, name)| (id.to_string(), slug.clone(), name.clone()))
            .or_else(|| {
                registry
                    .rows
                    .get(id)
                    .map(|r| (r.id.clone(), r.slug.clone(), r.name.clone()))
            })
    };

    let mut done = 0;
    for chunk in created.chunks(2000) {
        let mut entries: Vec<HistoryRow> = Vec::with_capacity(chunk.len());
        let mut rows = Vec::with_capacity(chunk.len());
        let mut links = Vec::new();
        let mut budget_batch = Vec::new();
        let mut headcount_batch = Vec::new();
        for p in chunk {
            let mut row = row_of(p, None, stamp);
            let no_budgets = Vec::new();
            let no_headcounts = Vec::new();
            let planned_budgets = p.budgets.as_ref().unwrap_or(&no_budgets);
            let planned_headcounts = p.headcounts.as_ref().unwrap_or(&no_headcounts);
            set_latest(&mut row, planned_budgets, planned_headcounts, rates);
            let mut sectors = p.record.input.sectors.clone();
            sectors.sort();
            let parts = Parts {
                sectors,
                budgets: planned_budgets
                    .iter()
                    .map(|(id, b)| budget_figure(id, b))
                    .collect(),
                headcounts: headcount_rows(&p.id, planned_headcounts, stamp)
                    .iter()
                    .map(HeadcountRow::to_entry)
                    .collect(),
                parent: p.parent.as_deref().and_then(ref_of),
                children: kids
                    .get(p.id.as_str())
                    .map(|list| {
                        list.iter()
                            .map(|(_, id, slug, name)| (id.clone(), slug.clone(), name.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            let record = record_of(row.clone(), parts, rates);
            entries.push(history_row(&p.id, Action::Create, None, &record, stamp));
            rows.push(row);
            for s in &p.record.input.sectors {
                links.push((
                    institute_sectors::institute_id.eq(p.id.clone()),
                    institute_sectors::sector.eq(s.clone()),
                ));
            }
            if let Some(b) = &p.budgets {
                budget_batch.extend(budget_rows(&p.id, b, stamp));
            }
            if let Some(h) = &p.headcounts {
                headcount_batch.extend(headcount_rows(&p.id, h, stamp));
            }
        }
        insert_batch!(conn, institutes::table, &rows, 500);
        insert_batch!(conn, institute_sectors::table, &links, 1000);
        insert_batch!(conn, budgets::table, &budget_batch, 1000);
        insert_batch!(conn, headcounts::table, &headcount_batch, 1000);
        insert_history(conn, entries)?;
        done += chunk.len();
        progress("writing", done, total);
    }

    for p in &updated {
        let current = &registry.rows[&p.id];
        let mut row = row_of(p, Some(current), stamp);
        if current.slug != row.slug {
            diesel::delete(former_slugs::table.find(&row.slug)).execute(conn)?;
            diesel::insert_into(former_slugs::table)
                .values((
                    former_slugs::slug.eq(&current.slug),
                    former_slugs::institute_id.eq(&p.id),
                ))
                .execute(conn)?;
        }
        if p.budgets.is_some() || p.headcounts.is_some() {
            let now_series = super::institutes::series(conn, &[p.id.as_str()])?
                .remove(&p.id)
                .unwrap_or_default();
            let budgets = match &p.budgets {
                Some(b) => b.clone(),
                None => now_series
                    .budgets
                    .iter()
                    .map(|b| (b.id.clone(), budget_input(b)))
                    .collect(),
            };
            let headcounts = match &p.headcounts {
                Some(h) => h.clone(),
                None => now_series
                    .headcounts
                    .iter()
                    .map(|h| (h.id.clone(), headcount_input(h)))
                    .collect(),
            };
            set_latest(&mut row, &budgets, &headcounts, rates);
            if p.budgets.is_some() {
                diesel::delete(budgets::table.filter(budgets::institute_id.eq(&p.id)))
                    .execute(conn)?;
                insert_batch!(
                    conn,
                    budgets::table,
                    &budget_rows(&p.id, &budgets, stamp),
                    500
                );
            }
            if p.headcounts.is_some() {
                diesel::delete(headcounts::table.filter(headcounts::institute_id.eq(&p.id)))
                    .execute(conn)?;
                insert_batch!(
                    conn,
                    headcounts::table,
                    &headcount_rows(&p.id, &headcounts, stamp),
                    500
                );
            }
        }
        super::curation::update_row(conn, &row)?;
        diesel::delete(institute_sectors::table.filter(institute_sectors::institute_id.eq(&p.id)))
            .execute(conn)?;
        let links: Vec<_> = p
            .record
            .input
            .sectors
            .iter()
            .map(|s| {
                (
                    institute_sectors::institute_id.eq(p.id.clone()),
                    institute_sectors::sector.eq(s.clone()),
                )
            })
            .collect();
        insert_batch!(conn, institute_sectors::table, &links, 100);
        done += 1;
        if done % 1000 == 0 {
            progress("writing", done, total);
        }
    }
    progress("writing", total, total);
    // The institutes' indexes serve the history's record assembly (children by parent); the
    // history's own wait for the end.
    let (history_indexes, rebuilt): (Vec<_>, Vec<_>) = rebuilt
        .into_iter()
        .partition(|(name, _)| name.starts_with("history"));
    for (name, sql) in &rebuilt {
        progress(&format!("indexing {name}"), 0, 1);
        conn.batch_execute(sql)?;
    }

    // One history entry per changed institute, with the record before and after.
    for chunk in updated.chunks(1000) {
        let ids: Vec<&str> = chunk.iter().map(|p| p.id.as_str()).collect();
        let rows: Vec<InstituteRow> = institutes::table
            .filter(institutes::id.eq_any(&ids))
            .select(InstituteRow::as_select())
            .load(conn)?;
        let entries: Vec<HistoryRow> = assemble(conn, rows, rates)?
            .iter()
            .map(|r| {
                let was = before.remove(&r.id);
                history_row(&r.id, Action::Update, was, r, stamp)
            })
            .collect();
        insert_history(conn, entries)?;
    }
    for (name, sql) in &history_indexes {
        progress(&format!("indexing {name}"), 0, 1);
        conn.batch_execute(sql)?;
    }
    Ok(())
}

/// From this many new institutes on, SQLite's secondary indexes are dropped for the load and
/// built again at its end, in the same transaction: building an index once is much faster
/// than updating it 120,000 times in random order. (Readers see the old snapshot until the
/// commit; PostgreSQL keeps its indexes, where dropping one would block every reader.)
const BULK: usize = 10_000;

/// Drops the secondary (non-unique) indexes of the tables an import fills; returns their names
/// and definitions.
fn drop_indexes(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        sql: String,
    }
    let indexes: Vec<Index> = diesel::sql_query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN \
         ('institutes', 'institute_sectors', 'budgets', 'headcounts', 'history')",
    )
    .load(conn)?;
    for index in &indexes {
        conn.batch_execute(&format!("DROP INDEX \"{}\"", index.name))?;
    }
    Ok(indexes.into_iter().map(|i| (i.name, i.sql)).collect())
}
