//! Sectors, countries, programmes and exchange rates.

use super::rows::{CountryRow, ProgramRow, RateRow, SectorRow};
use super::utc;
use crate::db::schema::{
    countries, currencies, exchange_rates, institute_sectors, institutes, programs, sectors,
};
use crate::db::DbConnection;
use crate::model::money::Rates;
use crate::model::reference::{CountryDetail, CountrySummary, ExchangeRate, Program, Sector};
use diesel::dsl::{count, count_star, sum};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

const ACTIVE: &str = "active";

/// Every yearly rate, for conversions.
pub fn rates(conn: &mut DbConnection) -> QueryResult<Rates> {
    let rows = exchange_rates::table
        .select((
            exchange_rates::currency,
            exchange_rates::year,
            exchange_rates::units_per_usd,
        ))
        .load::<(String, i32, f64)>(conn)?;
    Ok(Rates::from_rows(rows))
}

/// The rates as published, optionally of some currencies only, by currency then year.
pub fn exchange_rates(
    conn: &mut DbConnection,
    currencies: &[String],
) -> QueryResult<Vec<ExchangeRate>> {
    let mut query = exchange_rates::table
        .select(RateRow::as_select())
        .order((exchange_rates::currency, exchange_rates::year))
        .into_boxed();
    if !currencies.is_empty() {
        query = query.filter(exchange_rates::currency.eq_any(currencies));
    }
    Ok(query
        .load(conn)?
        .into_iter()
        .map(|r| ExchangeRate {
            currency: r.currency,
            year: r.year,
            units_per_usd: r.units_per_usd,
            source: r.source,
        })
        .collect())
}

/// The set of known codes of one reference table, for validating input.
pub fn country_codes(conn: &mut DbConnection) -> QueryResult<HashSet<String>> {
    Ok(countries::table
        .select(countries::code)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// `(code, name)` of every country.
pub fn country_names(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    countries::table
        .select((countries::code, countries::name))
        .load(conn)
}

/// `(slug, name)` of every sector.
pub fn sector_names(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    sectors::table
        .select((sectors::slug, sectors::name))
        .load(conn)
}

/// The codes of the countries in any of these regions or sub-regions.
pub fn countries_in_regions(conn: &mut DbConnection, names: &[String]) -> QueryResult<Vec<String>> {
    countries::table
        .filter(
            countries::region
                .eq_any(names)
                .or(countries::subregion.eq_any(names)),
        )
        .select(countries::code)
        .order(countries::code)
        .load(conn)
}

/// Every UN M49 region and sub-region name in use, sorted.
pub fn region_names_of(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let pairs: Vec<(String, String)> = countries::table
        .select((countries::region, countries::subregion))
        .distinct()
        .load(conn)?;
    let mut names: Vec<String> = pairs
        .into_iter()
        .flat_map(|(r, s)| [r, s])
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

pub fn currency_codes(conn: &mut DbConnection) -> QueryResult<HashSet<String>> {
    Ok(currencies::table
        .select(currencies::code)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

pub fn sector_slugs(conn: &mut DbConnection) -> QueryResult<HashSet<String>> {
    Ok(sectors::table
        .select(sectors::slug)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// The sector vocabulary with the number of active institutes in each, by slug.
pub fn sectors_with_counts(conn: &mut DbConnection) -> QueryResult<Vec<Sector>> {
    let counts: HashMap<String, i64> = institute_sectors::table
        .inner_join(institutes::table)
        .filter(institutes::status.eq(ACTIVE))
        .group_by(institute_sectors::sector)
        .select((institute_sectors::sector, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(sectors::table
        .select(SectorRow::as_select())
        .order(sectors::slug)
        .load(conn)?
        .into_iter()
        .map(|s| Sector {
            institutes: counts.get(&s.slug).copied().unwrap_or(0),
            slug: s.slug,
            name: s.name,
            description: s.description,
        })
        .collect())
}

/// Aggregates of the active institutes of every country (or of one).
fn summaries(
    conn: &mut DbConnection,
    only: Option<&str>,
) -> QueryResult<HashMap<String, CountrySummary>> {
    use institutes::dsl as i;
    let mut totals = i::institutes
        .filter(i::status.eq(ACTIVE))
        .group_by(i::country)
        .select((
            i::country,
            count_star(),
            sum(i::latest_researchers),
            sum(i::latest_staff),
            sum(i::comparable_budget_usd),
            count(i::comparable_budget_usd),
        ))
        .into_boxed();
    let mut with_headcount = i::institutes
        .filter(i::status.eq(ACTIVE))
        .filter(
            i::latest_researchers
                .is_not_null()
                .or(i::latest_staff.is_not_null()),
        )
        .group_by(i::country)
        .select((i::country, count_star()))
        .into_boxed();
    let mut program_counts = programs::table
        .group_by(programs::jurisdiction)
        .select((programs::jurisdiction, count_star()))
        .into_boxed();
    let mut names = countries::table
        .select(CountryRow::as_select())
        .into_boxed();
    if let Some(code) = only {
        totals = totals.filter(i::country.eq(code));
        with_headcount = with_headcount.filter(i::country.eq(code));
        program_counts = program_counts.filter(programs::jurisdiction.eq(code));
        names = names.filter(countries::code.eq(code));
    }
    let totals = totals.load::<(String, i64, Option<i64>, Option<i64>, Option<f64>, i64)>(conn)?;
    let with_headcount: HashMap<String, i64> = with_headcount.load(conn)?.into_iter().collect();
    let program_counts: HashMap<String, i64> = program_counts.load(conn)?.into_iter().collect();
    let mut out: HashMap<String, CountrySummary> = names
        .load(conn)?
        .into_iter()
        .map(|c| {
            (
                c.code.clone(),
                CountrySummary {
                    programs: program_counts.get(&c.code).copied().unwrap_or(0),
                    code: c.code,
                    name: c.name,
                    region: c.region,
                    subregion: c.subregion,
                    institutes: 0,
                    total_researchers: 0,
                    total_staff: 0,
                    institutes_with_headcount: 0,
                    total_budget_usd: None,
                    total_budget: None,
                    institutes_with_budget: 0,
                },
            )
        })
        .collect();
    for (code, n, researchers, staff, budget, with_budget) in totals {
        if let Some(s) = out.get_mut(&code) {
            s.institutes = n;
            s.total_researchers = researchers.unwrap_or(0);
            s.total_staff = staff.unwrap_or(0);
            s.institutes_with_headcount = with_headcount.get(&code).copied().unwrap_or(0);
            s.total_budget_usd = budget.filter(|_| with_budget > 0).map(|b| b.round() as i64);
            s.institutes_with_budget = with_budget;
        }
    }
    Ok(out)
}

/// Every country with at least one active institute or programme, by code.
pub fn countries_with_activity(conn: &mut DbConnection) -> QueryResult<Vec<CountrySummary>> {
    let mut list: Vec<CountrySummary> = summaries(conn, None)?
        .into_values()
        .filter(|s| s.institutes > 0 || s.programs > 0)
        .collect();
    list.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(list)
}

/// One country's summary and programmes; `None` when the code is not in the list.
pub fn country(
    conn: &mut DbConnection,
    code: &str,
    rates: &Rates,
) -> QueryResult<Option<CountryDetail>> {
    let Some(summary) = summaries(conn, Some(code))?.remove(code) else {
        return Ok(None);
    };
    let program_list = programs_of(conn, &[code.to_string()], rates)?;
    Ok(Some(CountryDetail {
        institutes_url: format!("/v1/institutes?country={code}"),
        summary,
        program_list,
    }))
}

/// Programmes, optionally of some jurisdictions only, most recently announced first.
pub fn programs_of(
    conn: &mut DbConnection,
    jurisdictions: &[String],
    rates: &Rates,
) -> QueryResult<Vec<Program>> {
    let mut query = programs::table
        .select(ProgramRow::as_select())
        .order((
            programs::announced.desc(),
            programs::jurisdiction,
            programs::slug,
        ))
        .into_boxed();
    if !jurisdictions.is_empty() {
        query = query.filter(programs::jurisdiction.eq_any(jurisdictions));
    }
    Ok(query
        .load(conn)?
        .into_iter()
        .map(|p| program_from_row(p, rates))
        .collect())
}

/// The programme a stored row describes, with its USD conversion.
pub fn program_from_row(p: ProgramRow, rates: &Rates) -> Program {
    Program {
        usd: rates.to_usd(p.amount, &p.currency, p.announced),
        converted: None,
        id: p.id,
        slug: p.slug,
        jurisdiction: p.jurisdiction,
        name: p.name,
        amount: p.amount,
        currency: p.currency,
        announced: p.announced,
        period: p.period,
        public_or_private: p.public_or_private,
        source: p.source,
        description: p.description,
        created_at: utc(p.created_at),
        updated_at: utc(p.updated_at),
        version: p.version,
    }
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
pub fn get_program(
    conn: &mut DbConnection,
    id: &str,
    rates: &Rates,
) -> QueryResult<Option<Program>> {
    if !super::plausible_ref(id) {
        return Ok(None);
    }
    Ok(programs::table
        .find(id)
        .select(ProgramRow::as_select())
        .first(conn)
        .optional()?
        .map(|row| program_from_row(row, rates)))
}

/// One sector, with the number of active institutes in it.
pub fn get_sector(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Sector>> {
    if !super::plausible_ref(slug) {
        return Ok(None);
    }
    let Some(s) = sectors::table
        .find(slug)
        .select(SectorRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let institutes = institute_sectors::table
        .inner_join(institutes::table)
        .filter(institute_sectors::sector.eq(slug))
        .filter(institutes::status.eq(ACTIVE))
        .count()
        .get_result::<i64>(conn)?;
    Ok(Some(Sector {
        institutes,
        slug: s.slug,
        name: s.name,
        description: s.description,
    }))
}

/// One yearly rate.
pub fn get_rate(
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
