//! Sectors, countries, programmes and exchange rates.

use super::rows::{IndicatorRow, ProgramRow, RateRow, SectorRow};
use super::utc;
use crate::db::schema::{
    countries, country_indicators, currencies, exchange_rates, institute_sectors, institutes,
    programs, sectors,
};
use crate::db::DbConnection;
use crate::model::money::Rates;
use crate::model::reference::{CountryIndicator, ExchangeRate, Program, Sector};
use diesel::dsl::count_star;
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

/// The rates with every country's purchasing-power factors (World Bank `PA.NUS.PPP`) and
/// currency, for amounts shown in international dollars (`?currency=PPP`).
pub fn rates_with_parities(conn: &mut DbConnection) -> QueryResult<Rates> {
    let currency_of = countries::table
        .filter(countries::currency.is_not_null())
        .select((countries::code, countries::currency.assume_not_null()))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let factors = country_indicators::table
        .filter(country_indicators::ppp_lcu_per_intl_dollar.is_not_null())
        .select((
            country_indicators::country,
            country_indicators::year,
            country_indicators::ppp_lcu_per_intl_dollar.assume_not_null(),
            country_indicators::source,
        ))
        .load::<(String, i32, f64, String)>(conn)?
        .into_iter()
        .map(|(c, y, f, s)| ((c, y), (f, s)))
        .collect();
    Ok(rates(conn)?.with_parities(crate::model::money::Parities {
        factors,
        currency_of,
    }))
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

/// The indicators of one country, by year.
pub fn indicators_of(conn: &mut DbConnection, code: &str) -> QueryResult<Vec<CountryIndicator>> {
    Ok(country_indicators::table
        .filter(country_indicators::country.eq(code))
        .order(country_indicators::year)
        .select(IndicatorRow::as_select())
        .load(conn)?
        .into_iter()
        .map(CountryIndicator::from)
        .collect())
}

/// One country's indicators of one year.
pub fn get_indicator(
    conn: &mut DbConnection,
    code: &str,
    year: i32,
) -> QueryResult<Option<CountryIndicator>> {
    Ok(country_indicators::table
        .find((code, year))
        .select(IndicatorRow::as_select())
        .first(conn)
        .optional()?
        .map(CountryIndicator::from))
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
    let mut list: Vec<Program> = query
        .load(conn)?
        .into_iter()
        .map(|p| program_from_row(p, rates))
        .collect();
    relate_programs(conn, &mut list)?;
    Ok(list)
}

/// Relates programmes' amounts to their jurisdictions' population and GDP.
fn relate_programs(conn: &mut DbConnection, list: &mut [Program]) -> QueryResult<()> {
    let mut codes: Vec<&str> = list.iter().map(|p| p.jurisdiction.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut by_country: HashMap<String, Vec<CountryIndicator>> = HashMap::new();
    for row in country_indicators::table
        .filter(country_indicators::country.eq_any(&codes))
        .select(IndicatorRow::as_select())
        .load(conn)?
    {
        by_country
            .entry(row.country.clone())
            .or_default()
            .push(row.into());
    }
    for p in list {
        p.relate(by_country.get(&p.jurisdiction).map_or(&[], Vec::as_slice));
    }
    Ok(())
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
        per_inhabitant: None,
        share_of_gdp: None,
        annualized: None,
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
    let Some(row) = programs::table
        .find(id)
        .select(ProgramRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mut one = [program_from_row(row, rates)];
    relate_programs(conn, &mut one)?;
    let [program] = one;
    Ok(Some(program))
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
