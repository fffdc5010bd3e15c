//! Writes of programmes (editor), sectors, exchange rates and country indicators (admin).

use super::figures::refresh_derived;
use super::{check_precondition, write, Tx, WriteError, Written};
use crate::db::schema::{budgets, exchange_rates, institute_sectors, programs, sectors};
use crate::db::DbConnection;
use crate::model::changes::{ChangeOp, Resource};
use crate::model::history::{Action, Subject};
use crate::model::ids::{new_id, slugify};
use crate::model::input::{IndicatorInput, ProgramInput, RateInput, SectorInput};
use crate::model::reference::{CountryIndicator, ExchangeRate, Program, Sector};
use crate::model::representation::{etag_of, IfMatch};
use crate::store::reference::{get_indicator, get_program, get_rate, get_sector};
use crate::store::rows::{IndicatorRow, ProgramRow, RateRow, SectorRow};
use diesel::prelude::*;
use serde_json::Value;

fn program_slug_taken(conn: &mut DbConnection, slug: &str, except: &str) -> QueryResult<bool> {
    Ok(programs::table
        .filter(programs::slug.eq(slug))
        .filter(programs::id.ne(except))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Writes a programme: a new one (`before` None) or a replacement; records its change.
pub(crate) fn save_program(
    tx: &mut Tx<'_>,
    id: &str,
    input: ProgramInput,
    before: Option<&Program>,
) -> Result<(), WriteError> {
    let slug = match (&input.slug, before) {
        (Some(slug), _) => {
            if program_slug_taken(tx.conn, slug, id)? {
                return Err(WriteError::conflict(
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
            while program_slug_taken(tx.conn, &candidate, id)? {
                candidate = format!("{base}-{n}");
                n += 1;
            }
            candidate
        }
    };
    let row = ProgramRow {
        id: id.to_string(),
        slug: slug.clone(),
        jurisdiction: input.jurisdiction,
        name: input.name,
        amount: input.amount,
        currency: input.currency,
        announced: input.announced,
        period: input.period,
        public_or_private: input.public_or_private,
        source: input.source,
        description: input.description,
        created_at: before.map_or(tx.at, |b| b.created_at.naive_utc()),
        updated_at: tx.at,
        version: before.map_or(1, |b| b.version + 1),
    };
    diesel::delete(programs::table.find(id)).execute(tx.conn)?;
    diesel::insert_into(programs::table)
        .values(&row)
        .execute(tx.conn)?;
    let op = if before.is_some() {
        ChangeOp::Updated
    } else {
        ChangeOp::Created
    };
    tx.change(Resource::Program, id, Some(&slug), op);
    Ok(())
}

/// Creates (`id` None) or replaces a programme.
pub fn put_program(
    conn: &mut DbConnection,
    id: Option<&str>,
    if_match: Option<&IfMatch>,
    body: &Value,
    actor: &str,
) -> Result<Written<Program>, WriteError> {
    write(conn, actor, |tx| {
        let rates = tx.rates()?;
        let before = match id {
            Some(id) => Some(get_program(tx.conn, id, &rates)?.ok_or(WriteError::NotFound)?),
            None => None,
        };
        let vocab = tx.vocabulary()?;
        let input = ProgramInput::read(body, &vocab).map_err(WriteError::Invalid)?;
        if let Some(current) = &before {
            check_precondition(if_match, &etag_of(current))?;
        }
        let id = id.map_or_else(|| new_id("prg"), str::to_string);
        save_program(tx, &id, input, before.as_ref())?;
        let after = get_program(tx.conn, &id, &rates)?.ok_or(WriteError::NotFound)?;
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        tx.history(
            None,
            Subject::Program,
            &id,
            action,
            before.as_ref(),
            Some(&after),
        );
        Ok(after)
    })
}

/// Deletes a programme.
pub fn delete_program(
    conn: &mut DbConnection,
    id: &str,
    if_match: Option<&IfMatch>,
    actor: &str,
) -> Result<Written<()>, WriteError> {
    write(conn, actor, |tx| {
        let rates = tx.rates()?;
        let before = get_program(tx.conn, id, &rates)?.ok_or(WriteError::NotFound)?;
        check_precondition(if_match, &etag_of(&before))?;
        diesel::delete(programs::table.find(id)).execute(tx.conn)?;
        tx.change(Resource::Program, id, Some(&before.slug), ChangeOp::Deleted);
        tx.history(
            None,
            Subject::Program,
            id,
            Action::Delete,
            Some(&before),
            None::<&()>,
        );
        Ok(())
    })
}

/// Adds a sector; records its change.
pub(crate) fn add_sector(tx: &mut Tx<'_>, row: &SectorRow) -> Result<(), WriteError> {
    diesel::insert_into(sectors::table)
        .values(row)
        .execute(tx.conn)?;
    tx.change(
        Resource::Sector,
        &row.slug,
        Some(&row.slug),
        ChangeOp::Created,
    );
    Ok(())
}

/// Creates (`slug` None: taken from the body) or replaces a sector's name and description.
pub fn put_sector(
    conn: &mut DbConnection,
    slug: Option<&str>,
    if_match: Option<&IfMatch>,
    body: &Value,
    actor: &str,
) -> Result<Written<Sector>, WriteError> {
    write(conn, actor, |tx| {
        let input = SectorInput::read(body).map_err(WriteError::Invalid)?;
        let (slug, before) = match slug {
            Some(slug) => {
                let current = get_sector(tx.conn, slug)?.ok_or(WriteError::NotFound)?;
                check_precondition(if_match, &etag_of(&current))?;
                if input.slug.as_deref().is_some_and(|s| s != slug) {
                    return Err(WriteError::invalid(
                        "/slug",
                        "a sector's slug cannot change; create a new sector instead",
                    ));
                }
                diesel::update(sectors::table.find(slug))
                    .set((
                        sectors::name.eq(&input.name),
                        sectors::description.eq(&input.description),
                    ))
                    .execute(tx.conn)?;
                tx.change(Resource::Sector, slug, Some(slug), ChangeOp::Updated);
                (slug.to_string(), Some(current))
            }
            None => {
                let Some(slug) = input.slug.clone() else {
                    return Err(WriteError::invalid("/slug", "required"));
                };
                if get_sector(tx.conn, &slug)?.is_some() {
                    return Err(WriteError::conflict(
                        "/slug",
                        format!("the sector '{slug}' already exists"),
                    ));
                }
                add_sector(
                    tx,
                    &SectorRow {
                        slug: slug.clone(),
                        name: input.name,
                        description: input.description,
                    },
                )?;
                (slug, None)
            }
        };
        let after = get_sector(tx.conn, &slug)?.ok_or(WriteError::NotFound)?;
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        tx.history(
            None,
            Subject::Sector,
            &slug,
            action,
            before.as_ref(),
            Some(&after),
        );
        Ok(after)
    })
}

/// Deletes a sector no institute uses.
pub fn delete_sector(
    conn: &mut DbConnection,
    slug: &str,
    if_match: Option<&IfMatch>,
    actor: &str,
) -> Result<Written<()>, WriteError> {
    write(conn, actor, |tx| {
        let before = get_sector(tx.conn, slug)?.ok_or(WriteError::NotFound)?;
        check_precondition(if_match, &etag_of(&before))?;
        let used = institute_sectors::table
            .filter(institute_sectors::sector.eq(slug))
            .count()
            .get_result::<i64>(tx.conn)?;
        if used > 0 {
            return Err(WriteError::conflict(
                "slug",
                format!("{used} institutes use the sector '{slug}'; remove it from them first"),
            ));
        }
        diesel::delete(sectors::table.find(slug)).execute(tx.conn)?;
        tx.change(Resource::Sector, slug, Some(slug), ChangeOp::Deleted);
        tx.history(
            None,
            Subject::Sector,
            slug,
            Action::Delete,
            Some(&before),
            None::<&()>,
        );
        Ok(())
    })
}

/// The institutes whose comparable figures and documents use the rate of `currency` in
/// `year` (those with a figure of that currency and year): their derived figures follow in
/// the same write, and their documents are rendered again.
fn rate_changed(tx: &mut Tx<'_>, currency: &str, year: i32) -> QueryResult<()> {
    tx.rates_changed();
    let ids: Vec<String> = budgets::table
        .filter(budgets::currency.eq(currency))
        .filter(budgets::year.eq(year))
        .select(budgets::institute_id)
        .distinct()
        .load(tx.conn)?;
    let rates = tx.rates()?;
    for id in ids {
        refresh_derived(tx.conn, &id, &rates)?;
        tx.rerender(&id);
    }
    Ok(())
}

/// Writes a rate, new or replaced, and what follows from it; records its change.
pub(crate) fn save_rate(tx: &mut Tx<'_>, row: RateRow, replaced: bool) -> Result<(), WriteError> {
    let key = format!("{}/{}", row.currency, row.year);
    let (currency, year) = (row.currency.clone(), row.year);
    diesel::delete(exchange_rates::table.find((&currency, year))).execute(tx.conn)?;
    diesel::insert_into(exchange_rates::table)
        .values(&row)
        .execute(tx.conn)?;
    let op = if replaced {
        ChangeOp::Updated
    } else {
        ChangeOp::Created
    };
    tx.change(Resource::ExchangeRate, &key, None, op);
    rate_changed(tx, &currency, year)?;
    Ok(())
}

/// Sets a yearly rate (`created` is true when it was new); the comparable budgets and the
/// documents that depend on it follow in the same transaction.
pub fn put_rate(
    conn: &mut DbConnection,
    currency: &str,
    year: i32,
    body: &Value,
    actor: &str,
) -> Result<Written<(ExchangeRate, bool)>, WriteError> {
    write(conn, actor, |tx| {
        let input = RateInput::read(body).map_err(WriteError::Invalid)?;
        let before = get_rate(tx.conn, currency, year)?;
        save_rate(
            tx,
            RateRow {
                currency: currency.to_string(),
                year,
                units_per_usd: input.units_per_usd,
                source: input.source,
            },
            before.is_some(),
        )?;
        let after = get_rate(tx.conn, currency, year)?.ok_or(WriteError::NotFound)?;
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        tx.history(
            None,
            Subject::ExchangeRate,
            &format!("{currency}/{year}"),
            action,
            before.as_ref(),
            Some(&after),
        );
        Ok((after, before.is_none()))
    })
}

/// Removes a yearly rate; amounts of that currency and year then have no USD value.
pub fn delete_rate(
    conn: &mut DbConnection,
    currency: &str,
    year: i32,
    actor: &str,
) -> Result<Written<()>, WriteError> {
    write(conn, actor, |tx| {
        let before = get_rate(tx.conn, currency, year)?.ok_or(WriteError::NotFound)?;
        diesel::delete(exchange_rates::table.find((currency, year))).execute(tx.conn)?;
        let key = format!("{currency}/{year}");
        tx.change(Resource::ExchangeRate, &key, None, ChangeOp::Deleted);
        rate_changed(tx, currency, year)?;
        tx.history(
            None,
            Subject::ExchangeRate,
            &key,
            Action::Delete,
            Some(&before),
            None::<&()>,
        );
        Ok(())
    })
}

/// Sets a country's indicators of one year (`created` is true when the year was new).
pub fn put_indicator(
    conn: &mut DbConnection,
    country: &str,
    year: i32,
    body: &Value,
    actor: &str,
) -> Result<Written<(CountryIndicator, bool)>, WriteError> {
    use crate::db::schema::country_indicators;
    write(conn, actor, |tx| {
        let input = IndicatorInput::read(body).map_err(WriteError::Invalid)?;
        let before = get_indicator(tx.conn, country, year)?;
        diesel::delete(country_indicators::table.find((country, year))).execute(tx.conn)?;
        diesel::insert_into(country_indicators::table)
            .values(IndicatorRow {
                country: country.to_string(),
                year,
                population: input.population,
                gdp_current_usd: input.gdp_current_usd,
                ppp_lcu_per_intl_dollar: input.ppp_lcu_per_intl_dollar,
                source: input.source,
            })
            .execute(tx.conn)?;
        let after = get_indicator(tx.conn, country, year)?.ok_or(WriteError::NotFound)?;
        let key = format!("{country}/{year}");
        let (op, action) = if before.is_some() {
            (ChangeOp::Updated, Action::Update)
        } else {
            (ChangeOp::Created, Action::Create)
        };
        tx.change(Resource::CountryIndicator, &key, None, op);
        tx.history(
            None,
            Subject::CountryIndicator,
            &key,
            action,
            before.as_ref(),
            Some(&after),
        );
        Ok((after, before.is_none()))
    })
}

/// Removes a country's indicators of one year.
pub fn delete_indicator(
    conn: &mut DbConnection,
    country: &str,
    year: i32,
    actor: &str,
) -> Result<Written<()>, WriteError> {
    use crate::db::schema::country_indicators;
    write(conn, actor, |tx| {
        let before = get_indicator(tx.conn, country, year)?.ok_or(WriteError::NotFound)?;
        diesel::delete(country_indicators::table.find((country, year))).execute(tx.conn)?;
        let key = format!("{country}/{year}");
        tx.change(Resource::CountryIndicator, &key, None, ChangeOp::Deleted);
        tx.history(
            None,
            Subject::CountryIndicator,
            &key,
            Action::Delete,
            Some(&before),
            None::<&()>,
        );
        Ok(())
    })
}
