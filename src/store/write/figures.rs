//! Writes of one budget or headcount entry of an institute, written once for both series
//! ([`Figures`]). Each changes the institute too: its version, update time, derived figures
//! and document.

use super::rules;
use super::{check_precondition, write, Tx, WriteError, Written};
use crate::db::schema::{budgets, headcounts, institutes};
use crate::db::DbConnection;
use crate::model::changes::ChangeOp;
use crate::model::figures::{BudgetEntry, Derived, HeadcountEntry};
use crate::model::history::{Action, Subject};
use crate::model::ids::new_id;
use crate::model::input::{BudgetInput, HeadcountInput, Vocabulary};
use crate::model::money::Rates;
use crate::model::representation::{etag_of, IfMatch};
use crate::model::FieldError;
use crate::store::rows::{BudgetRow, HeadcountRow};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// A series of figures of an institute: how its entries are read, stored and checked.
pub trait Figures {
    /// An entry as written.
    type Input;
    /// An entry as read.
    type Entry: Serialize;
    /// What the history calls an entry.
    const SUBJECT: Subject;
    /// The prefix of an entry's id.
    const PREFIX: &'static str;

    fn read(body: &Value, vocab: &Vocabulary) -> Result<Self::Input, Vec<FieldError>>;
    /// One entry of the institute.
    fn get(
        conn: &mut DbConnection,
        institute: &str,
        entry: &str,
        rates: &Rates,
    ) -> QueryResult<Option<Self::Entry>>;
    /// The other entries of the institute.
    fn others(
        conn: &mut DbConnection,
        institute: &str,
        except: &str,
    ) -> QueryResult<Vec<(String, Self::Input)>>;
    /// The series' rule: one entry per year (and kind).
    fn clashes(series: &[(&str, &Self::Input)]) -> Vec<FieldError>;
    /// Writes entry `id`: a new one, or (`replace`) the existing one.
    fn save(
        conn: &mut DbConnection,
        id: &str,
        institute: &str,
        input: &Self::Input,
        at: NaiveDateTime,
        replace: bool,
    ) -> QueryResult<()>;
    fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()>;
}

/// The budget series.
pub struct Budgets;
/// The headcount series.
pub struct Headcounts;

impl Figures for Budgets {
    type Input = BudgetInput;
    type Entry = BudgetEntry;
    const SUBJECT: Subject = Subject::Budget;
    const PREFIX: &'static str = "bud";

    fn read(body: &Value, vocab: &Vocabulary) -> Result<BudgetInput, Vec<FieldError>> {
        BudgetInput::read(body, vocab)
    }

    fn get(
        conn: &mut DbConnection,
        institute: &str,
        entry: &str,
        rates: &Rates,
    ) -> QueryResult<Option<BudgetEntry>> {
        Ok(budgets::table
            .find(entry)
            .filter(budgets::institute_id.eq(institute))
            .select(BudgetRow::as_select())
            .first(conn)
            .optional()?
            .map(|row| row.to_figure().to_entry(rates)))
    }

    fn others(
        conn: &mut DbConnection,
        institute: &str,
        except: &str,
    ) -> QueryResult<Vec<(String, BudgetInput)>> {
        Ok(budgets::table
            .filter(budgets::institute_id.eq(institute))
            .filter(budgets::id.ne(except))
            .select(BudgetRow::as_select())
            .load(conn)?
            .iter()
            .map(|r| (r.id.clone(), BudgetInput::of(&r.to_figure())))
            .collect())
    }

    fn clashes(series: &[(&str, &BudgetInput)]) -> Vec<FieldError> {
        rules::one_budget_per_year_and_kind(series, |_| "/year".into())
    }

    fn save(
        conn: &mut DbConnection,
        id: &str,
        institute: &str,
        input: &BudgetInput,
        at: NaiveDateTime,
        replace: bool,
    ) -> QueryResult<()> {
        let row = BudgetRow::new(id, institute, input, at);
        if replace {
            diesel::update(budgets::table.find(id))
                .set(&row)
                .execute(conn)?;
        } else {
            diesel::insert_into(budgets::table)
                .values(&row)
                .execute(conn)?;
        }
        Ok(())
    }

    fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
        diesel::delete(budgets::table.find(id)).execute(conn)?;
        Ok(())
    }
}

impl Figures for Headcounts {
    type Input = HeadcountInput;
    type Entry = HeadcountEntry;
    const SUBJECT: Subject = Subject::Headcount;
    const PREFIX: &'static str = "hc";

    fn read(body: &Value, _: &Vocabulary) -> Result<HeadcountInput, Vec<FieldError>> {
        HeadcountInput::read(body)
    }

    fn get(
        conn: &mut DbConnection,
        institute: &str,
        entry: &str,
        _: &Rates,
    ) -> QueryResult<Option<HeadcountEntry>> {
        Ok(headcounts::table
            .find(entry)
            .filter(headcounts::institute_id.eq(institute))
            .select(HeadcountRow::as_select())
            .first(conn)
            .optional()?
            .map(|row| row.to_entry()))
    }

    fn others(
        conn: &mut DbConnection,
        institute: &str,
        except: &str,
    ) -> QueryResult<Vec<(String, HeadcountInput)>> {
        Ok(headcounts::table
            .filter(headcounts::institute_id.eq(institute))
            .filter(headcounts::id.ne(except))
            .select(HeadcountRow::as_select())
            .load(conn)?
            .iter()
            .map(|r| (r.id.clone(), HeadcountInput::of(&r.to_entry())))
            .collect())
    }

    fn clashes(series: &[(&str, &HeadcountInput)]) -> Vec<FieldError> {
        rules::one_headcount_per_year(series, |_| "/year".into())
    }

    fn save(
        conn: &mut DbConnection,
        id: &str,
        institute: &str,
        input: &HeadcountInput,
        at: NaiveDateTime,
        replace: bool,
    ) -> QueryResult<()> {
        let row = HeadcountRow::new(id, institute, input, at);
        if replace {
            diesel::update(headcounts::table.find(id))
                .set(&row)
                .execute(conn)?;
        } else {
            diesel::insert_into(headcounts::table)
                .values(&row)
                .execute(conn)?;
        }
        Ok(())
    }

    fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
        diesel::delete(headcounts::table.find(id)).execute(conn)?;
        Ok(())
    }
}

/// One entry of an institute's series; NotFound when it has none by that id.
pub fn get<F: Figures>(
    conn: &mut DbConnection,
    institute: &str,
    entry: &str,
    rates: &Rates,
) -> Result<F::Entry, WriteError> {
    if !crate::store::plausible_ref(entry) {
        return Err(WriteError::NotFound);
    }
    F::get(conn, institute, entry, rates)?.ok_or(WriteError::NotFound)
}

/// Recomputes the figures lists and summaries use from the institute's whole series.
pub fn refresh_derived(conn: &mut DbConnection, id: &str, rates: &Rates) -> QueryResult<()> {
    let series = crate::store::institutes::series(conn, &[id])?
        .remove(id)
        .unwrap_or_default();
    let d = Derived::of(&series.budgets, &series.headcounts, rates);
    diesel::update(institutes::table.find(id))
        .set((
            institutes::latest_researchers.eq(d.researchers),
            institutes::latest_staff.eq(d.staff),
            institutes::headcount.eq(d.headcount),
            institutes::comparable_budget_usd.eq(d.budget_usd),
            institutes::comparable_budget_year.eq(d.budget_year),
        ))
        .execute(conn)?;
    Ok(())
}

/// The slug of a live institute.
fn institute_slug(tx: &mut Tx<'_>, institute: &str) -> Result<String, WriteError> {
    institutes::table
        .find(institute)
        .select(institutes::slug)
        .first(tx.conn)
        .optional()?
        .ok_or(WriteError::NotFound)
}

/// Marks the institute changed by a change to one of its figures.
fn figures_changed(tx: &mut Tx<'_>, institute: &str, slug: &str) -> Result<(), WriteError> {
    diesel::update(institutes::table.find(institute))
        .set((
            institutes::version.eq(institutes::version + 1),
            institutes::updated_at.eq(tx.at),
        ))
        .execute(tx.conn)?;
    let rates = tx.rates()?;
    refresh_derived(tx.conn, institute, &rates)?;
    tx.touch(institute, slug, ChangeOp::Updated, None);
    Ok(())
}

/// Adds (`entry` None) or replaces an entry of an institute's series.
pub fn put<F: Figures>(
    conn: &mut DbConnection,
    institute: &str,
    entry: Option<&str>,
    if_match: Option<&IfMatch>,
    body: &Value,
    actor: &str,
) -> Result<Written<F::Entry>, WriteError> {
    write(conn, actor, |tx| {
        let slug = institute_slug(tx, institute)?;
        let rates = tx.rates()?;
        let before = match entry {
            Some(e) => Some(get::<F>(tx.conn, institute, e, &rates)?),
            None => None,
        };
        let vocab = tx.vocabulary()?;
        let input = F::read(body, &vocab).map_err(WriteError::Invalid)?;
        if let Some(current) = &before {
            check_precondition(if_match, &etag_of(current))?;
        }
        let id = entry.map_or_else(|| new_id(F::PREFIX), str::to_string);
        // The series as it will stand, this entry last: only it can break the rule.
        let others = F::others(tx.conn, institute, &id)?;
        let mut series: Vec<(&str, &F::Input)> =
            others.iter().map(|(i, e)| (i.as_str(), e)).collect();
        series.push((&id, &input));
        if let Some(clash) = F::clashes(&series).pop() {
            return Err(WriteError::Conflict(clash));
        }
        F::save(tx.conn, &id, institute, &input, tx.at, before.is_some())?;
        figures_changed(tx, institute, &slug)?;
        let after = get::<F>(tx.conn, institute, &id, &rates)?;
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        tx.history(
            Some(institute),
            F::SUBJECT,
            &id,
            action,
            before.as_ref(),
            Some(&after),
        );
        Ok(after)
    })
}

/// Removes an entry of an institute's series.
pub fn delete<F: Figures>(
    conn: &mut DbConnection,
    institute: &str,
    entry: &str,
    if_match: Option<&IfMatch>,
    actor: &str,
) -> Result<Written<()>, WriteError> {
    write(conn, actor, |tx| {
        let slug = institute_slug(tx, institute)?;
        let rates = tx.rates()?;
        let before = get::<F>(tx.conn, institute, entry, &rates)?;
        check_precondition(if_match, &etag_of(&before))?;
        F::delete(tx.conn, entry)?;
        figures_changed(tx, institute, &slug)?;
        tx.history(
            Some(institute),
            F::SUBJECT,
            entry,
            Action::Delete,
            Some(&before),
            None::<&()>,
        );
        Ok(())
    })
}
