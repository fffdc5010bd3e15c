//! Writes to programmes (editor), sectors and exchange rates (admin), each in one transaction
//! with its history row.

use super::curation::{begin_write, check_precondition, etag, vocabulary, WriteError};
use super::history::record;
use super::institutes::refresh_latest;
use super::now;
use super::reference::{program_from_row, rates, sectors_with_counts};
use super::rows::{ProgramRow, RateRow};
use crate::db::schema::{budgets, exchange_rates, institute_sectors, programs, sectors};
use crate::db::DbConnection;
use crate::error::FieldError;
use crate::model::access::Actor;
use crate::model::history::{Action, Subject};
use crate::model::ids::{new_id, slugify};
use crate::model::input::{ProgramInput, RateInput, SectorInput};
use crate::model::reference::{ExchangeRate, Program, Sector};
use diesel::prelude::*;
use serde_json::Value;

fn conflict(field: &str, message: String) -> WriteError {
    WriteError::Conflict(FieldError::new(field, message))
}

/// Resolves a programme reference (id or slug) to its id.
pub fn program_id(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<String>> {
    if !super::plausible_ref(reference) {
        return Ok(None);
    }
    programs::table
        .filter(programs::id.eq(reference).or(programs::slug.eq(reference)))
        .select(programs::id)
        .first(conn)
        .optional()
}

/// One programme.
pub fn get_program(conn: &mut DbConnection, id: &str) -> Result<Program, WriteError> {
    let row = programs::table
        .find(id)
        .select(ProgramRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(WriteError::NotFound)?;
    let rates = rates(conn)?;
    Ok(program_from_row(row, &rates))
}

fn program_slug_taken(conn: &mut DbConnection, slug: &str, except: &str) -> QueryResult<bool> {
    Ok(programs::table
        .filter(programs::slug.eq(slug))
        .filter(programs::id.ne(except))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Creates (`id` None) or replaces a programme.
pub fn put_program(
    conn: &mut DbConnection,
    id: Option<&str>,
    if_match: Option<&str>,
    body: &Value,
    actor: &Actor,
) -> Result<Program, WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, None)?;
        let before = match id {
            Some(id) => Some(get_program(conn, id)?),
            None => None,
        };
        let vocab = vocabulary(conn)?;
        let input = ProgramInput::read(body, &vocab).map_err(WriteError::Invalid)?;
        if let Some(current) = &before {
            check_precondition(if_match, etag(current))?;
        }
        let new_id_value = new_id("prg");
        let id = id.unwrap_or(&new_id_value).to_string();
        let slug = match (&input.slug, &before) {
            (Some(slug), _) => {
                if program_slug_taken(conn, slug, &id)? {
                    return Err(conflict(
                        "/slug",
                        format!("'{slug}' is already used by another programme"),
                    ));
                }
                slug.clone()
            }
            (None, Some(current)) => current.slug.clone(),
            (None, None) => {
                let base = match slugify(&input.name) {
                    s if s.is_empty() => "program".to_string(),
                    s => s,
                };
                let mut candidate = base.clone();
                let mut n = 2;
                while program_slug_taken(conn, &candidate, &id)? {
                    candidate = format!("{base}-{n}");
                    n += 1;
                }
                candidate
            }
        };
        let stamp = now();
        let row = ProgramRow {
            id: id.clone(),
            slug,
            jurisdiction: input.jurisdiction,
            name: input.name,
            amount: input.amount,
            currency: input.currency,
            announced: input.announced,
            period: input.period,
            public_or_private: input.public_or_private,
            source: input.source,
            description: input.description,
            created_at: before
                .as_ref()
                .map(|b| b.created_at.naive_utc())
                .unwrap_or(stamp),
            updated_at: stamp,
            version: before.as_ref().map(|b| b.version + 1).unwrap_or(1),
        };
        diesel::delete(programs::table.find(&id)).execute(conn)?;
        diesel::insert_into(programs::table)
            .values(&row)
            .execute(conn)?;
        let after = get_program(conn, &id)?;
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        record(
            conn,
            actor,
            None,
            Subject::Program,
            &id,
            action,
            before.as_ref(),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Deletes a programme.
pub fn delete_program(
    conn: &mut DbConnection,
    id: &str,
    if_match: Option<&str>,
    actor: &Actor,
) -> Result<(), WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, None)?;
        let before = get_program(conn, id)?;
        check_precondition(if_match, etag(&before))?;
        diesel::delete(programs::table.find(id)).execute(conn)?;
        record(
            conn,
            actor,
            None,
            Subject::Program,
            id,
            Action::Delete,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

/// One sector with its count.
pub fn get_sector(conn: &mut DbConnection, slug: &str) -> Result<Sector, WriteError> {
    sectors_with_counts(conn)?
        .into_iter()
        .find(|s| s.slug == slug)
        .ok_or(WriteError::NotFound)
}

/// Creates (`slug` None: taken from the body) or replaces a sector's name and description.
pub fn put_sector(
    conn: &mut DbConnection,
    slug: Option<&str>,
    if_match: Option<&str>,
    body: &Value,
    actor: &Actor,
) -> Result<Sector, WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, None)?;
        let input = SectorInput::read(body).map_err(WriteError::Invalid)?;
        let (slug, before) = match slug {
            Some(slug) => {
                let current = get_sector(conn, slug)?;
                check_precondition(if_match, etag(&current))?;
                if input.slug.as_deref().is_some_and(|s| s != slug) {
                    return Err(WriteError::Invalid(vec![FieldError::new(
                        "/slug",
                        "a sector's slug cannot change; create a new sector instead",
                    )]));
                }
                diesel::update(sectors::table.find(slug))
                    .set((
                        sectors::name.eq(&input.name),
                        sectors::description.eq(&input.description),
                    ))
                    .execute(conn)?;
                (slug.to_string(), Some(current))
            }
            None => {
                let Some(slug) = input.slug.clone() else {
                    return Err(WriteError::Invalid(vec![FieldError::new(
                        "/slug", "required",
                    )]));
                };
                if get_sector(conn, &slug).is_ok() {
                    return Err(conflict(
                        "/slug",
                        format!("the sector '{slug}' already exists"),
                    ));
                }
                diesel::insert_into(sectors::table)
                    .values((
                        sectors::slug.eq(&slug),
                        sectors::name.eq(&input.name),
                        sectors::description.eq(&input.description),
                    ))
                    .execute(conn)?;
                (slug, None)
            }
        };
        let after = get_sector(conn, &slug)?;
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        record(
            conn,
            actor,
            None,
            Subject::Sector,
            &slug,
            action,
            before.as_ref(),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Deletes a sector no institute uses.
pub fn delete_sector(
    conn: &mut DbConnection,
    slug: &str,
    if_match: Option<&str>,
    actor: &Actor,
) -> Result<(), WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, None)?;
        let before = get_sector(conn, slug)?;
        check_precondition(if_match, etag(&before))?;
        let used = institute_sectors::table
            .filter(institute_sectors::sector.eq(slug))
            .count()
            .get_result::<i64>(conn)?;
        if used > 0 {
            return Err(conflict(
                "slug",
                format!("{used} institutes use the sector '{slug}'; remove it from them first"),
            ));
        }
        diesel::delete(sectors::table.find(slug)).execute(conn)?;
        record(
            conn,
            actor,
            None,
            Subject::Sector,
            slug,
            Action::Delete,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}

fn get_rate(
    conn: &mut DbConnection,
    currency: &str,
    year: i32,
) -> QueryResult<Option<ExchangeRate>> {
    Ok(exchange_rates::table
        .find((currency, year))
        .select(RateRow::as_select())
        .first(conn)
        .optional()?
        .map(|r| ExchangeRate {
            currency: r.currency,
            year: r.year,
            units_per_usd: r.units_per_usd,
            source: r.source,
        }))
}

/// Recomputes the comparable figures of every institute with a budget in `currency`.
fn refresh_currency(conn: &mut DbConnection, currency: &str) -> QueryResult<()> {
    let ids: Vec<String> = budgets::table
        .filter(budgets::currency.eq(currency))
        .select(budgets::institute_id)
        .distinct()
        .load(conn)?;
    let rates = rates(conn)?;
    for id in ids {
        refresh_latest(conn, &id, &rates)?;
    }
    Ok(())
}

/// Sets a yearly rate (created: true when it was new); the comparable budgets that depend
/// on it follow in the same transaction.
pub fn put_rate(
    conn: &mut DbConnection,
    currency: &str,
    year: i32,
    body: &Value,
    actor: &Actor,
) -> Result<(ExchangeRate, bool), WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, None)?;
        let input = RateInput::read(body).map_err(WriteError::Invalid)?;
        let before = get_rate(conn, currency, year)?;
        diesel::delete(exchange_rates::table.find((currency, year))).execute(conn)?;
        diesel::insert_into(exchange_rates::table)
            .values(&RateRow {
                currency: currency.to_string(),
                year,
                units_per_usd: input.units_per_usd,
                source: input.source,
            })
            .execute(conn)?;
        refresh_currency(conn, currency)?;
        let after = get_rate(conn, currency, year)?.ok_or(WriteError::NotFound)?;
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        let subject = format!("{currency}/{year}");
        record(
            conn,
            actor,
            None,
            Subject::ExchangeRate,
            &subject,
            action,
            before.as_ref(),
            Some(&after),
        )?;
        Ok((after, before.is_none()))
    })
}

/// Removes a yearly rate; amounts of that currency and year then have no USD value.
pub fn delete_rate(
    conn: &mut DbConnection,
    currency: &str,
    year: i32,
    actor: &Actor,
) -> Result<(), WriteError> {
    conn.transaction(|conn| {
        begin_write(conn, None)?;
        let before = get_rate(conn, currency, year)?.ok_or(WriteError::NotFound)?;
        diesel::delete(exchange_rates::table.find((currency, year))).execute(conn)?;
        refresh_currency(conn, currency)?;
        let subject = format!("{currency}/{year}");
        record(
            conn,
            actor,
            None,
            Subject::ExchangeRate,
            &subject,
            Action::Delete,
            Some(&before),
            None::<&()>,
        )?;
        Ok(())
    })
}
