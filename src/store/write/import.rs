//! Bulk writes: `import`, and through it `seed` and `generate`. One transaction holding the
//! write lock, on the same path as every other write ([`Tx`]), reading its records as a
//! stream: they are checked and written a chunk at a time, so memory holds the registry's
//! index (ids, slugs, external ids, parents) and one chunk, whatever the file's size.
//!
//! Each record finds its institute by id, else by slug, else by an external id (ROR,
//! Wikidata, GRID); one that finds none is created, keeping the id, timestamps and version the
//! file gives (so a file restores exactly what was exported). A record equal to its institute
//! is left alone. The registry's rules are the ones every write obeys (`rules`), applied to a
//! [`MemoryView`] of the registry and of the file's records accepted so far.
//!
//! What a stream cannot know yet is settled at its end, before the commit: a parent that
//! appears later in the file (the link is set then, and checked for cycles), slugs derived from
//! names (so that they never take a slug a later record gives), and the documents of records
//! whose relatives came later (rendered again in place, so that each record keeps one change).

use super::documents::{self, Document};
use super::rules;
use super::view::{Entry, MemoryView, Resolved, View};
use super::{Tx, WriteError};
use crate::db::schema::{
    budgets, changes, former_slugs, headcounts, history, institute_sectors, institutes,
};
use crate::db::{Backend, DbConnection};
use crate::model::changes::{ChangeOp, Resource};
use crate::model::figures::{BudgetFigure, Derived, HeadcountEntry};
use crate::model::history::Action;
use crate::model::ids::new_id;
use crate::model::input::{BudgetInput, HeadcountInput};
use crate::model::interchange::{ImportRecord, Rejected, Series};
use crate::model::money::Rates;
use crate::model::FieldError;
use crate::store::insert_batch;
use crate::store::institutes::{record_of, Parts};
use crate::store::rows::{BudgetRow, HeadcountRow, InstituteRow, NewInstitute, Placement};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};

/// How an import behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Check and apply everything, then roll back.
    pub dry_run: bool,
    /// Commit the valid records even when others are rejected.
    pub partial: bool,
    /// About how many records the source holds, when known (a bulk load into SQLite rebuilds
    /// its secondary indexes once at the end instead of updating them per row).
    pub expected: usize,
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
    /// The head of the change sequence after the commit.
    pub sequence: i64,
}

/// Progress: a phase's name and how many records it has done.
pub type Progress<'a> = &'a dyn Fn(&str, usize);

/// Records checked and written together.
const CHUNK: usize = 2000;

/// From this many expected records on, SQLite's secondary indexes are dropped for the load
/// and built again at its end, in the same transaction: building an index once is much faster
/// than updating it per row in random order. (Readers see the old snapshot until the commit;
/// PostgreSQL keeps its indexes, where dropping one would block every reader.)
const BULK: usize = 10_000;

enum Stop {
    Db(diesel::result::Error),
    Rollback(Outcome),
    /// The source failed (a file that cannot be read to its end): nothing is written.
    Unreadable(String),
}

/// One item of an import's source: a record read and checked, or rejected; or a failure of
/// the source itself, which stops the import and writes nothing.
pub type Item = Result<Result<ImportRecord, Rejected>, String>;

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Stop {
        Stop::Db(e)
    }
}

/// Imports the records of `source` (each read and checked, or rejected) as `actor`.
/// All-or-nothing unless `options.partial`.
pub fn import(
    conn: &mut DbConnection,
    source: impl Iterator<Item = Item>,
    options: Options,
    actor: &str,
    progress: Progress<'_>,
) -> QueryResult<Outcome> {
    let result = conn.transaction::<Outcome, Stop, _>(|conn| {
        let mut tx = Tx::begin(conn, actor)?;
        let mut run = Run::start(&mut tx, options)?;
        let mut chunk = Vec::with_capacity(CHUNK);
        for item in source {
            match item.map_err(Stop::Unreadable)? {
                Ok(record) => chunk.push(record),
                Err(rejected) => run.refuse(rejected),
            }
            if chunk.len() == CHUNK {
                run.chunk(&mut tx, std::mem::take(&mut chunk))?;
                progress("importing", run.seen);
            }
        }
        run.chunk(&mut tx, chunk)?;
        progress("importing", run.seen);
        run.settle(&mut tx, progress)?;
        let mut outcome = std::mem::take(&mut run.outcome);
        outcome.rejected.sort_by_key(|r| r.line);
        if !outcome.rejected.is_empty() && !options.partial {
            return Err(Stop::Rollback(outcome));
        }
        let (sequence, _) = tx.finish().map_err(|e| match e {
            WriteError::Db(e) => Stop::Db(e),
            other => Stop::Db(diesel::result::Error::QueryBuilderError(
                other.to_string().into(),
            )),
        })?;
        if options.dry_run {
            return Err(Stop::Rollback(outcome));
        }
        outcome.committed = true;
        outcome.sequence = sequence;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => Ok(outcome),
        Err(Stop::Rollback(outcome)) => Ok(outcome),
        Err(Stop::Db(e)) => Err(e),
        Err(Stop::Unreadable(message)) => {
            Err(diesel::result::Error::QueryBuilderError(message.into()))
        }
    }
}

/// An institute as it stands before the import changes it.
struct Current {
    row: InstituteRow,
    sectors: Vec<String>,
    series: Series,
    document: String,
}

/// One record, matched and checked.
struct Plan {
    record: ImportRecord,
    id: String,
    existing: bool,
    /// The slug; the id until it is derived at the end when the record gives none.
    slug: String,
    derive_slug: bool,
    parent: Option<String>,
    /// A parent reference not known yet: resolved at the end.
    deferred: Option<String>,
    budgets: Option<Vec<(String, BudgetInput)>>,
    headcounts: Option<Vec<(String, HeadcountInput)>>,
    errors: Vec<FieldError>,
}

impl Plan {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn refused(&mut self, e: WriteError) -> QueryResult<()> {
        match e {
            WriteError::Invalid(errors) => self.errors.extend(errors),
            WriteError::Conflict(error) => self.errors.push(error),
            WriteError::Db(e) => return Err(e),
            other => self.fail("", other.to_string()),
        }
        Ok(())
    }

    fn label(&self) -> String {
        self.record
            .id
            .clone()
            .or_else(|| self.record.input.slug.clone())
            .unwrap_or_else(|| self.record.input.name.clone())
    }

    /// Every reference by which another record could name this one.
    fn references(&self) -> Vec<String> {
        let mut refs = vec![self.id.clone(), self.slug.clone()];
        refs.extend(self.record.input.slug.clone());
        refs.extend(
            rules::external_pairs(&self.record.input.external_ids)
                .into_iter()
                .map(|(k, v)| format!("{k}:{v}")),
        );
        refs
    }
}

/// A new record whose parent was named before it appeared: id, reference, line, label.
type Deferred = (String, String, usize, String);

/// A file record written by this import.
struct Imported {
    line: usize,
    /// Its history entry, for a document rendered again at the end.
    history: String,
    created: bool,
}

/// The state of one import.
struct Run {
    options: Options,
    view: MemoryView,
    rates: Rates,
    outcome: Outcome,
    seen: usize,
    /// Whether rows are still written (an all-or-nothing import stops at its first rejection).
    writing: bool,
    /// Every record of the file written, by id.
    imported: HashMap<String, Imported>,
    /// New records whose parent reference was not known when they were read.
    deferred: Vec<Deferred>,
    /// Existing institutes whose update waits for a parent that was not known yet.
    held: Vec<Plan>,
    /// Records of the file whose place is not settled (deferred, or below a deferred one).
    unsettled: HashSet<String>,
    /// Records whose slug is derived at the end.
    to_derive: Vec<String>,
    /// Records of the file whose document is rendered again at the end, in place.
    fixups: BTreeSet<String>,
    /// Institutes outside the file whose documents show a record of it.
    rerender: BTreeSet<String>,
    /// Secondary indexes dropped for a bulk load, rebuilt at the end.
    dropped: Vec<(String, String)>,
    first_seq: i64,
}

impl Run {
    fn start(tx: &mut Tx<'_>, options: Options) -> QueryResult<Run> {
        let view = MemoryView::load(tx.conn)?;
        let rates = tx.rates()?;
        let dropped = if options.expected >= BULK && tx.conn.backend() == Backend::Sqlite {
            drop_indexes(tx.conn)?
        } else {
            Vec::new()
        };
        Ok(Run {
            options,
            view,
            rates,
            outcome: Outcome::default(),
            seen: 0,
            writing: true,
            imported: HashMap::new(),
            deferred: Vec::new(),
            held: Vec::new(),
            unsettled: HashSet::new(),
            to_derive: Vec::new(),
            fixups: BTreeSet::new(),
            rerender: BTreeSet::new(),
            dropped,
            first_seq: tx.head(),
        })
    }

    fn refuse(&mut self, rejected: Rejected) {
        self.seen += 1;
        self.outcome.rejected.push(rejected);
        if !self.options.partial {
            self.writing = false;
        }
    }

    /// Checks and writes one chunk of records.
    fn chunk(&mut self, tx: &mut Tx<'_>, records: Vec<ImportRecord>) -> Result<(), Stop> {
        if records.is_empty() {
            return Ok(());
        }
        self.seen += records.len();
        // The institutes the registry already holds for these records, read at once.
        let known: Vec<String> = records
            .iter()
            .filter_map(|r| self.registry_match(r))
            .map(|(id, _)| id)
            .filter(|id| self.view.live.get(id).is_some_and(|e| e.line.is_none()))
            .collect();
        let mut current = load_current(tx.conn, &known)?;
        let mut plans = Vec::with_capacity(records.len());
        for record in records {
            let mut plan = self.plan(tx, record, &mut current)?;
            if !plan.errors.is_empty() {
                self.view.reject(plan.references());
                self.outcome.rejected.push(Rejected {
                    line: plan.record.line,
                    record: plan.label(),
                    errors: std::mem::take(&mut plan.errors),
                });
                if !self.options.partial {
                    self.writing = false;
                }
                continue;
            }
            plans.push(plan);
        }
        let mut created = Vec::new();
        for plan in plans {
            if !plan.existing {
                self.outcome.created += 1;
                created.push(plan);
                continue;
            }
            let Some(now) = current.remove(&plan.id) else {
                return Err(Stop::Db(diesel::result::Error::NotFound));
            };
            let mut plan = plan;
            if unchanged(&mut plan, &now) {
                self.outcome.unchanged += 1;
                continue;
            }
            if plan.deferred.is_some()
                || plan
                    .parent
                    .as_ref()
                    .is_some_and(|p| self.unsettled.contains(p))
            {
                // Its new place is not settled: written once it is, at the end.
                self.unsettled.insert(plan.id.clone());
                self.held.push(plan);
                continue;
            }
            self.outcome.updated += 1;
            if self.writing {
                self.update(tx, plan, now)?;
            }
        }
        if self.writing {
            self.create(tx, created)?;
            tx.flush()?;
        }
        Ok(())
    }

    /// The registry's institute a record names, by id, slug or external id (records of the
    /// file are not matched: their slugs and ids are claims the rules check).
    fn registry_match(&self, record: &ImportRecord) -> Option<(String, &'static str)> {
        let in_registry = |id: &String| self.view.live.get(id).is_some_and(|e| e.in_registry);
        if let Some(id) = record.id.as_ref().filter(|id| in_registry(id)) {
            return Some((id.clone(), "id"));
        }
        if let Some(id) = record
            .input
            .slug
            .as_deref()
            .and_then(|s| self.view.by_slug(s))
            .filter(|id| in_registry(id))
        {
            return Some((id.clone(), "slug"));
        }
        rules::external_pairs(&record.input.external_ids)
            .iter()
            .find_map(|(k, v)| {
                self.view
                    .external(k, v)
                    .filter(|id| in_registry(id))
                    .map(|id| (id.clone(), *k))
            })
    }

    /// Matches a record to its institute and checks it against the registry and the records
    /// of the file before it; an accepted record joins the view.
    fn plan(
        &mut self,
        tx: &mut Tx<'_>,
        record: ImportRecord,
        current: &mut HashMap<String, Current>,
    ) -> QueryResult<Plan> {
        let mut p = Plan {
            id: String::new(),
            existing: false,
            slug: String::new(),
            derive_slug: false,
            parent: None,
            deferred: None,
            budgets: None,
            headcounts: None,
            errors: Vec::new(),
            record,
        };
        let record = &p.record;
        if let Some(id) = &record.id {
            if self.view.was_deleted(id) {
                let message = format!("{id} belonged to a deleted institute; ids are never reused");
                p.fail("/id", message);
                return Ok(p);
            }
        }
        match self.registry_match(record) {
            Some((id, by)) => {
                if let Some(given) = record.id.as_ref().filter(|g| **g != id) {
                    let message = format!(
                        "{given} is not in the registry, but the {by} is that of {id}; give \
                         that id, or none, to update it"
                    );
                    p.fail("/id", message);
                }
                if let Some(line) = self.view.live.get(&id).and_then(|e| e.line) {
                    p.fail("/id", format!("line {line} already imports institute {id}"));
                }
                p.existing = true;
                p.id = id;
            }
            None => {
                p.id = record.id.clone().unwrap_or_else(|| new_id("ins"));
                if let Some(line) = self.view.live.get(&p.id).and_then(|e| e.line) {
                    p.fail("/id", format!("line {line} already has this id"));
                }
            }
        }
        if !p.errors.is_empty() {
            return Ok(p);
        }
        if p.existing && !current.contains_key(&p.id) {
            current.extend(load_current(tx.conn, std::slice::from_ref(&p.id))?);
        }
        let now = current.get(&p.id);
        let input = p.record.input.clone();
        let mut view = std::mem::take(&mut self.view);
        match (input.slug.as_deref(), now) {
            (None, None) => {
                p.slug = p.id.clone();
                p.derive_slug = true;
            }
            (given, now) => match rules::slug(
                &mut view,
                &p.id,
                given,
                now.map(|c| c.row.slug.as_str()),
                &input.name,
            ) {
                Ok(slug) => p.slug = slug,
                Err(e) => p.refused(e)?,
            },
        }
        for error in rules::external_conflicts(&mut view, &p.id, &input.external_ids)? {
            p.errors.push(error);
        }
        if let Some(reference) = input.parent.clone() {
            match view.resolve(&reference)? {
                Some(Resolved::Live(parent)) => match rules::no_cycle(&mut view, &p.id, &parent) {
                    Ok(()) => p.parent = Some(parent),
                    Err(e) => p.refused(e)?,
                },
                Some(Resolved::Rejected) => {
                    if let Err(e) = rules::parent(&mut view, &p.id, &reference) {
                        p.refused(e)?;
                    }
                }
                None => p.deferred = Some(reference),
            }
        }
        self.view = view;
        self.plan_series(tx, &mut p, now)?;
        if p.errors.is_empty() {
            self.accept(&p, now);
        }
        Ok(p)
    }

    /// Gives every entry of the record's series its id (the given one, else that of the
    /// current entry for the same year and kind, else a new one) and checks them.
    fn plan_series(
        &mut self,
        tx: &mut Tx<'_>,
        p: &mut Plan,
        now: Option<&Current>,
    ) -> QueryResult<()> {
        if let Some(given) = p.record.budgets.clone() {
            let have: Vec<(String, BudgetInput)> = now
                .map(|c| {
                    c.series
                        .budgets
                        .iter()
                        .map(|b| (b.id.clone(), BudgetInput::of(b)))
                        .collect()
                })
                .unwrap_or_default();
            let planned = adopt_ids(&given, &have, "bud", |a, b| {
                a.year == b.year && a.kind == b.kind
            });
            let series: Vec<(&str, &BudgetInput)> =
                planned.iter().map(|(i, b)| (i.as_str(), b)).collect();
            p.errors
                .extend(rules::one_budget_per_year_and_kind(&series, |n| {
                    format!("/budgets/{n}/year")
                }));
            self.check_entries(tx, p, &planned, "budgets")?;
            p.budgets = Some(planned);
        }
        if let Some(given) = p.record.headcounts.clone() {
            let have: Vec<(String, HeadcountInput)> = now
                .map(|c| {
                    c.series
                        .headcounts
                        .iter()
                        .map(|h| (h.id.clone(), HeadcountInput::of(h)))
                        .collect()
                })
                .unwrap_or_default();
            let planned = adopt_ids(&given, &have, "hc", |a, b| a.year == b.year);
            let series: Vec<(&str, &HeadcountInput)> =
                planned.iter().map(|(i, h)| (i.as_str(), h)).collect();
            p.errors.extend(rules::one_headcount_per_year(&series, |n| {
                format!("/headcounts/{n}/year")
            }));
            self.check_entries(tx, p, &planned, "headcounts")?;
            p.headcounts = Some(planned);
        }
        Ok(())
    }

    /// An entry belongs to one institute: a given entry id held by another is refused.
    fn check_entries<T>(
        &self,
        tx: &mut Tx<'_>,
        p: &mut Plan,
        planned: &[(String, T)],
        key: &str,
    ) -> QueryResult<()> {
        let ids: Vec<&str> = planned.iter().map(|(i, _)| i.as_str()).collect();
        let mut seen = HashSet::new();
        for (n, id) in ids.iter().enumerate() {
            if !seen.insert(*id) {
                p.fail(&format!("/{key}/{n}/id"), "repeats an id of this series");
            }
        }
        let owners: Vec<(String, String)> = if key == "budgets" {
            budgets::table
                .filter(budgets::id.eq_any(&ids))
                .select((budgets::id, budgets::institute_id))
                .load(tx.conn)?
        } else {
            headcounts::table
                .filter(headcounts::id.eq_any(&ids))
                .select((headcounts::id, headcounts::institute_id))
                .load(tx.conn)?
        };
        let own = p.id.clone();
        for (entry, owner) in owners.into_iter().filter(|(_, o)| *o != own) {
            let n = ids.iter().position(|i| *i == entry).unwrap_or(0);
            let by = match self.imported.get(&owner) {
                Some(i) => format!("an entry on line {}", i.line),
                None => "an entry of another institute".to_string(),
            };
            p.fail(&format!("/{key}/{n}/id"), format!("{entry} is {by}"));
        }
        Ok(())
    }

    /// An accepted record joins the view (the registry as it will stand).
    fn accept(&mut self, p: &Plan, now: Option<&Current>) {
        let old_external = now
            .map(|c| {
                rules::external_pairs(&crate::model::input::ExternalIdsInput {
                    ror: c.row.ror.clone(),
                    wikidata: c.row.wikidata.clone(),
                    grid: c.row.grid.clone(),
                })
            })
            .unwrap_or_default();
        self.view.put(
            &p.id,
            Entry {
                slug: p.slug.clone(),
                name: p.record.input.name.clone(),
                parent: p.parent.clone(),
                line: Some(p.record.line),
                in_registry: false,
            },
            &rules::external_pairs(&p.record.input.external_ids),
            &old_external,
        );
        if p.deferred.is_some()
            || p.parent
                .as_ref()
                .is_some_and(|x| self.unsettled.contains(x))
        {
            self.unsettled.insert(p.id.clone());
        }
        if let (Some(reference), false) = (&p.deferred, p.existing) {
            // A new record is written now, its parent set once known; an existing one waits.
            self.deferred
                .push((p.id.clone(), reference.clone(), p.record.line, p.label()));
        }
    }

    /// Where a record's relative shows it: a record of the file is rendered again at the end,
    /// another institute through the write's own rendering.
    fn relative(&mut self, id: &str) {
        if self.view.live.get(id).is_some_and(|e| e.line.is_some()) {
            self.fixups.insert(id.to_string());
        } else {
            self.rerender.insert(id.to_string());
        }
    }

    /// Inserts new institutes, their sectors, series, documents, changes and history.
    fn create(&mut self, tx: &mut Tx<'_>, plans: Vec<Plan>) -> QueryResult<()> {
        let mut rows = Vec::with_capacity(plans.len());
        let mut links = Vec::new();
        let mut budget_rows = Vec::new();
        let mut headcount_rows = Vec::new();
        for p in plans {
            let input = &p.record.input;
            let budgets: Vec<BudgetFigure> = p
                .budgets
                .iter()
                .flatten()
                .map(|(id, b)| b.figure(id))
                .collect();
            let heads: Vec<HeadcountEntry> = p
                .headcounts
                .iter()
                .flatten()
                .map(|(id, h)| h.entry(id))
                .collect();
            let created_at = p.record.created_at.unwrap_or(tx.at);
            let row = InstituteRow::build(
                input,
                Placement {
                    id: p.id.clone(),
                    slug: p.slug.clone(),
                    parent_id: p.parent.clone(),
                    created_at,
                    updated_at: p.record.updated_at.unwrap_or(created_at),
                    version: p.record.version.unwrap_or(1),
                },
                Derived::of(&budgets, &heads, &self.rates),
            );
            let mut sectors = input.sectors.clone();
            sectors.sort();
            let parent = p.parent.as_ref().and_then(|id| {
                self.view
                    .live
                    .get(id)
                    .map(|e| (id.clone(), e.slug.clone(), e.name.clone()))
            });
            let record = record_of(
                row.clone(),
                Parts {
                    sectors,
                    budgets: budgets.clone(),
                    headcounts: heads,
                    parent,
                    children: (Vec::new(), 0),
                },
                &self.rates,
            );
            let doc = Document::of(&record);
            let seq = tx.next_sequence();
            tx.institute_change(seq, &p.id, &p.slug, ChangeOp::Created, None);
            let history_id =
                tx.institute_history(&p.id, Action::Create, None, Some(doc.json.clone()));
            for s in &input.sectors {
                links.push((
                    institute_sectors::institute_id.eq(p.id.clone()),
                    institute_sectors::sector.eq(s.clone()),
                ));
            }
            for (id, b) in p.budgets.iter().flatten() {
                budget_rows.push(BudgetRow::new(id, &p.id, b, tx.at));
            }
            for (id, h) in p.headcounts.iter().flatten() {
                headcount_rows.push(HeadcountRow::new(id, &p.id, h, tx.at));
            }
            self.imported.insert(
                p.id.clone(),
                Imported {
                    line: p.record.line,
                    history: history_id,
                    created: true,
                },
            );
            if let Some(parent) = &p.parent {
                self.relative(parent);
            }
            if p.derive_slug {
                self.to_derive.push(p.id.clone());
                self.fixups.insert(p.id.clone());
            }
            rows.push(NewInstitute {
                row,
                etag: doc.etag,
                document: doc.json,
                seq,
            });
        }
        let conn = &mut *tx.conn;
        insert_batch!(conn, institutes::table, &rows, 200);
        insert_batch!(conn, institute_sectors::table, &links, 1000);
        insert_batch!(conn, budgets::table, &budget_rows, 1000);
        insert_batch!(conn, headcounts::table, &headcount_rows, 1000);
        Ok(())
    }

    /// Writes a changed institute that exists; its document is rendered at the end.
    fn update(&mut self, tx: &mut Tx<'_>, p: Plan, now: Current) -> QueryResult<()> {
        let input = &p.record.input;
        let series_budgets: Vec<BudgetFigure> = match &p.budgets {
            Some(b) => b.iter().map(|(id, b)| b.figure(id)).collect(),
            None => now.series.budgets.clone(),
        };
        let series_heads: Vec<HeadcountEntry> = match &p.headcounts {
            Some(h) => h.iter().map(|(id, h)| h.entry(id)).collect(),
            None => now.series.headcounts.clone(),
        };
        let row = InstituteRow::build(
            input,
            Placement {
                id: p.id.clone(),
                slug: p.slug.clone(),
                parent_id: p.parent.clone(),
                created_at: now.row.created_at,
                updated_at: tx.at,
                version: now.row.version + 1,
            },
            Derived::of(&series_budgets, &series_heads, &self.rates),
        );
        if now.row.slug != row.slug {
            diesel::delete(former_slugs::table.find(&row.slug)).execute(tx.conn)?;
            diesel::insert_into(former_slugs::table)
                .values((
                    former_slugs::slug.eq(&now.row.slug),
                    former_slugs::institute_id.eq(&p.id),
                ))
                .execute(tx.conn)?;
        }
        diesel::update(institutes::table.find(&p.id))
            .set(&row)
            .execute(tx.conn)?;
        if let Some(planned) = &p.budgets {
            diesel::delete(budgets::table.filter(budgets::institute_id.eq(&p.id)))
                .execute(tx.conn)?;
            let rows: Vec<BudgetRow> = planned
                .iter()
                .map(|(id, b)| BudgetRow::new(id, &p.id, b, tx.at))
                .collect();
            let conn = &mut *tx.conn;
            insert_batch!(conn, budgets::table, &rows, 500);
        }
        if let Some(planned) = &p.headcounts {
            diesel::delete(headcounts::table.filter(headcounts::institute_id.eq(&p.id)))
                .execute(tx.conn)?;
            let rows: Vec<HeadcountRow> = planned
                .iter()
                .map(|(id, h)| HeadcountRow::new(id, &p.id, h, tx.at))
                .collect();
            let conn = &mut *tx.conn;
            insert_batch!(conn, headcounts::table, &rows, 500);
        }
        diesel::delete(institute_sectors::table.filter(institute_sectors::institute_id.eq(&p.id)))
            .execute(tx.conn)?;
        let links: Vec<_> = input
            .sectors
            .iter()
            .map(|s| {
                (
                    institute_sectors::institute_id.eq(p.id.clone()),
                    institute_sectors::sector.eq(s.clone()),
                )
            })
            .collect();
        let conn = &mut *tx.conn;
        insert_batch!(conn, institute_sectors::table, &links, 500);
        let seq = tx.next_sequence();
        tx.institute_change(seq, &p.id, &row.slug, ChangeOp::Updated, None);
        let history_id = tx.institute_history(&p.id, Action::Update, Some(now.document), None);
        diesel::update(institutes::table.find(&p.id))
            .set(institutes::seq.eq(seq))
            .execute(tx.conn)?;
        self.imported.insert(
            p.id.clone(),
            Imported {
                line: p.record.line,
                history: history_id,
                created: false,
            },
        );
        self.fixups.insert(p.id.clone());
        // Whoever shows it: its parents old and new; its children when it was renamed.
        for parent in [&row.parent_id, &now.row.parent_id].into_iter().flatten() {
            self.relative(parent);
        }
        if now.row.name != row.name || now.row.slug != row.slug {
            let children: Vec<String> = institutes::table
                .filter(institutes::parent_id.eq(&p.id))
                .select(institutes::id)
                .load(tx.conn)?;
            for child in children {
                self.relative(&child);
            }
        }
        Ok(())
    }

    /// Settles what the stream could not know: deferred parents, held updates, derived slugs;
    /// rebuilds dropped indexes; renders the documents of records whose relatives came later.
    fn settle(&mut self, tx: &mut Tx<'_>, progress: Progress<'_>) -> Result<(), Stop> {
        tx.flush()?;
        // Parents named before they appeared.
        let deferred = std::mem::take(&mut self.deferred);
        let mut removed: HashSet<String> = HashSet::new();
        let mut failed: Vec<(String, usize, String, FieldError)> = Vec::new();
        for (id, reference, line, label) in &deferred {
            let mut view = std::mem::take(&mut self.view);
            let resolved = rules::parent(&mut view, id, reference);
            self.view = view;
            match resolved {
                Ok(parent) => {
                    self.view.set_parent(id, Some(parent.clone()));
                    diesel::update(institutes::table.find(id))
                        .set(institutes::parent_id.eq(&parent))
                        .execute(tx.conn)?;
                    self.fixups.insert(id.clone());
                    self.relative(&parent);
                }
                Err(e) => {
                    let error = match e {
                        WriteError::Invalid(mut es) if !es.is_empty() => es.remove(0),
                        WriteError::Db(e) => return Err(Stop::Db(e)),
                        other => FieldError::new("/parent", other.to_string()),
                    };
                    failed.push((id.clone(), *line, label.clone(), error));
                    removed.insert(id.clone());
                }
            }
        }
        // A cycle can close only once every deferred link is set.
        for (id, _, line, label) in &deferred {
            if removed.contains(id) {
                continue;
            }
            let Some(parent) = self.view.live.get(id).and_then(|e| e.parent.clone()) else {
                continue;
            };
            let mut view = std::mem::take(&mut self.view);
            let checked = rules::no_cycle(&mut view, id, &parent);
            self.view = view;
            if let Err(e) = checked {
                let error = match e {
                    WriteError::Invalid(mut es) if !es.is_empty() => es.remove(0),
                    other => FieldError::new("/parent", other.to_string()),
                };
                failed.push((id.clone(), *line, label.clone(), error));
                removed.insert(id.clone());
            }
        }
        for (_, line, label, error) in failed {
            self.outcome.created = self.outcome.created.saturating_sub(1);
            self.outcome.rejected.push(Rejected {
                line,
                record: label,
                errors: vec![error],
            });
        }
        self.cascade(&mut removed);
        // Updates held for a parent: settled now.
        for mut p in std::mem::take(&mut self.held) {
            let mut error = None;
            if let Some(reference) = p.deferred.take() {
                let mut view = std::mem::take(&mut self.view);
                match rules::parent(&mut view, &p.id, &reference) {
                    Ok(parent) => p.parent = Some(parent),
                    Err(WriteError::Db(e)) => {
                        self.view = view;
                        return Err(Stop::Db(e));
                    }
                    Err(e) => error = Some(e),
                }
                self.view = view;
            }
            if p.parent.as_ref().is_some_and(|x| removed.contains(x)) {
                error = Some(WriteError::invalid(
                    "/parent",
                    format!(
                        "the parent '{}' is itself rejected",
                        p.record.input.parent.clone().unwrap_or_default()
                    ),
                ));
            }
            match error {
                Some(e) => {
                    p.refused(e)?;
                    self.outcome.rejected.push(Rejected {
                        line: p.record.line,
                        record: p.label(),
                        errors: std::mem::take(&mut p.errors),
                    });
                }
                None => {
                    self.outcome.updated += 1;
                    if self.writing {
                        let now = load_current(tx.conn, std::slice::from_ref(&p.id))?
                            .remove(&p.id)
                            .ok_or(Stop::Db(diesel::result::Error::NotFound))?;
                        self.update(tx, p, now)?;
                    }
                }
            }
        }
        if !removed.is_empty() && self.options.partial && self.writing {
            self.remove(tx, removed)?;
        } else if !removed.is_empty() {
            self.writing = false;
        }
        if !self.writing {
            return Ok(());
        }
        // Slugs derived from names, now that every given slug is known.
        for id in std::mem::take(&mut self.to_derive) {
            let Some(mut entry) = self.view.live.get(&id).cloned() else {
                continue;
            };
            let mut view = std::mem::take(&mut self.view);
            let slug = rules::derive_slug(&mut view, &entry.name);
            self.view = view;
            let slug = slug?;
            entry.slug = slug.clone();
            self.view.put(&id, entry, &[], &[]);
            diesel::update(institutes::table.find(&id))
                .set(institutes::slug.eq(&slug))
                .execute(tx.conn)?;
            diesel::update(
                changes::table
                    .filter(changes::resource.eq(Resource::Institute.as_str()))
                    .filter(changes::resource_id.eq(&id))
                    .filter(changes::seq.gt(self.first_seq)),
            )
            .set(changes::slug.eq(&slug))
            .execute(tx.conn)?;
        }
        for (name, sql) in std::mem::take(&mut self.dropped) {
            progress(&format!("indexing {name}"), 0);
            tx.conn.batch_execute(&sql)?;
        }
        // Documents of records whose relatives came later, rendered again in place: each
        // record keeps its one change, with the document as it stands at the commit.
        let fixups: Vec<String> = std::mem::take(&mut self.fixups).into_iter().collect();
        for chunk in fixups.chunks(500) {
            let docs = documents::render(tx.conn, chunk, &self.rates)?;
            for (id, doc) in docs {
                diesel::update(institutes::table.find(&id))
                    .set((
                        institutes::document.eq(&doc.json),
                        institutes::etag.eq(&doc.etag),
                    ))
                    .execute(tx.conn)?;
                if let Some(i) = self.imported.get(&id) {
                    diesel::update(history::table.find(&i.history))
                        .set(history::after.eq(&doc.json))
                        .execute(tx.conn)?;
                }
            }
        }
        for id in std::mem::take(&mut self.rerender) {
            tx.rerender(&id);
        }
        Ok(())
    }

    /// Adds to `removed` every new record of the file below one of them (its parent is gone).
    fn cascade(&mut self, removed: &mut HashSet<String>) {
        loop {
            let below: Vec<(String, String)> = self
                .view
                .live
                .iter()
                .filter(|(id, _)| {
                    !removed.contains(*id) && self.imported.get(*id).is_some_and(|i| i.created)
                })
                .filter_map(|(id, e)| {
                    e.parent
                        .clone()
                        .filter(|p| removed.contains(p))
                        .map(|p| (id.clone(), p))
                })
                .collect();
            if below.is_empty() {
                return;
            }
            for (id, parent) in below {
                let line = self.imported.get(&id).map_or(0, |i| i.line);
                let name = self
                    .view
                    .live
                    .get(&parent)
                    .map_or(parent.clone(), |e| e.slug.clone());
                self.outcome.rejected.push(Rejected {
                    line,
                    record: id.clone(),
                    errors: vec![FieldError::new(
                        "/parent",
                        format!("the parent '{name}' is itself rejected"),
                    )],
                });
                self.outcome.created = self.outcome.created.saturating_sub(1);
                removed.insert(id);
            }
        }
    }

    /// Takes out new records written before their place failed (a partial import; an
    /// all-or-nothing one rolls back instead).
    fn remove(&mut self, tx: &mut Tx<'_>, removed: HashSet<String>) -> QueryResult<()> {
        for id in &removed {
            if let Some(i) = self.imported.remove(id) {
                diesel::delete(history::table.find(&i.history)).execute(tx.conn)?;
            }
            diesel::delete(
                changes::table
                    .filter(changes::resource.eq(Resource::Institute.as_str()))
                    .filter(changes::resource_id.eq(id))
                    .filter(changes::seq.gt(self.first_seq)),
            )
            .execute(tx.conn)?;
            diesel::update(institutes::table.filter(institutes::parent_id.eq(id)))
                .set(institutes::parent_id.eq(None::<String>))
                .execute(tx.conn)?;
            diesel::delete(institutes::table.find(id)).execute(tx.conn)?;
            self.view.drop_institute(id);
            self.fixups.remove(id);
            self.rerender.remove(id);
            self.to_derive.retain(|d| d != id);
        }
        Ok(())
    }
}

/// The institutes these ids name, as they stand.
fn load_current(conn: &mut DbConnection, ids: &[String]) -> QueryResult<HashMap<String, Current>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let rows: Vec<InstituteRow> = institutes::table
            .filter(institutes::id.eq_any(&refs))
            .select(InstituteRow::as_select())
            .load(conn)?;
        let mut sectors: HashMap<String, Vec<String>> = HashMap::new();
        for (id, s) in institute_sectors::table
            .filter(institute_sectors::institute_id.eq_any(&refs))
            .select((institute_sectors::institute_id, institute_sectors::sector))
            .load::<(String, String)>(conn)?
        {
            sectors.entry(id).or_default().push(s);
        }
        let mut series = crate::store::institutes::series(conn, &refs)?;
        let mut docs: HashMap<String, String> = documents::get_many(conn, &refs)?
            .into_iter()
            .map(|d| (d.id, d.json))
            .collect();
        for row in rows {
            let id = row.id.clone();
            out.insert(
                id.clone(),
                Current {
                    sectors: sectors.remove(&id).unwrap_or_default(),
                    series: series.remove(&id).unwrap_or_default(),
                    document: docs.remove(&id).unwrap_or_default(),
                    row,
                },
            );
        }
    }
    Ok(out)
}

/// Entries the file gave no id take the id of the current entry with the same key, unless
/// the file gives that id to another entry; others get a new id.
fn adopt_ids<T: Clone>(
    given: &[(Option<String>, T)],
    have: &[(String, T)],
    prefix: &str,
    same_key: impl Fn(&T, &T) -> bool,
) -> Vec<(String, T)> {
    let taken = |e: &str| given.iter().any(|(g, _)| g.as_deref() == Some(e));
    given
        .iter()
        .map(|(id, input)| {
            let id = id.clone().unwrap_or_else(|| {
                have.iter()
                    .find(|(e, h)| same_key(h, input) && !taken(e))
                    .map(|(e, _)| e.clone())
                    .unwrap_or_else(|| new_id(prefix))
            });
            (id, input.clone())
        })
        .collect()
}

/// Whether two series hold the same entries, in any order.
fn same_series<T: PartialEq + Clone>(planned: &[(String, T)], have: &[(String, T)]) -> bool {
    let mut a = planned.to_vec();
    let mut b = have.to_vec();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    a == b
}

/// Whether a planned record would change nothing of its institute: the row it would write is
/// the row there is (times, version and derived figures aside), and so are its sectors and the
/// series it gives.
fn unchanged(p: &mut Plan, now: &Current) -> bool {
    let row = &now.row;
    let would_write = InstituteRow::build(
        &p.record.input,
        Placement {
            id: p.id.clone(),
            slug: p.slug.clone(),
            parent_id: p.parent.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        },
        row.derived(),
    );
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let same_record = p.deferred.is_none()
        && would_write == *row
        && sorted(&now.sectors) == sorted(&p.record.input.sectors);
    let same_budgets = p.budgets.as_ref().is_none_or(|planned| {
        let have: Vec<(String, BudgetInput)> = now
            .series
            .budgets
            .iter()
            .map(|b| (b.id.clone(), BudgetInput::of(b)))
            .collect();
        same_series(planned, &have)
    });
    let same_headcounts = p.headcounts.as_ref().is_none_or(|planned| {
        let have: Vec<(String, HeadcountInput)> = now
            .series
            .headcounts
            .iter()
            .map(|h| (h.id.clone(), HeadcountInput::of(h)))
            .collect();
        same_series(planned, &have)
    });
    same_record && same_budgets && same_headcounts
}

/// Drops the secondary (non-unique) indexes of the tables an import fills; returns their
/// names and definitions.
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
         ('institutes', 'institute_sectors', 'budgets', 'headcounts', 'history', 'changes')",
    )
    .load(conn)?;
    for index in &indexes {
        conn.batch_execute(&format!("DROP INDEX \"{}\"", index.name))?;
    }
    Ok(indexes.into_iter().map(|i| (i.name, i.sql)).collect())
}
