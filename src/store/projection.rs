//! What the read model is built from: every institute's compact columns and sectors, and the
//! reference data, read in a few queries.

use super::rows::{CountryRow, IndicatorRow, SectorRow};
use crate::db::schema::{
    countries, country_indicators, currencies, institute_sectors, institutes, programs, sectors,
};
use crate::db::DbConnection;
use crate::model::money::Rates;
use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// An institute as the read model holds it.
#[derive(Debug, Clone)]
pub struct Projected {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub sort_name: String,
    pub acronym: Option<String>,
    pub aliases: Vec<String>,
    pub kind: String,
    pub status: String,
    pub country: String,
    pub city: Option<String>,
    pub parent_id: Option<String>,
    pub founded: Option<i32>,
    pub researchers: Option<i32>,
    pub staff: Option<i32>,
    pub headcount: Option<i32>,
    pub budget_usd: Option<f64>,
    pub budget_year: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sectors: Vec<String>,
}

type Row = (
    (
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        String,
        String,
    ),
    (
        String,
        Option<String>,
        Option<String>,
        Option<i32>,
        Option<i32>,
    ),
    (
        Option<i32>,
        Option<i32>,
        Option<f64>,
        Option<i32>,
        NaiveDateTime,
        NaiveDateTime,
    ),
);

/// The institutes with these ids that exist (all of them with `None`).
pub fn institutes(conn: &mut DbConnection, ids: Option<&[String]>) -> QueryResult<Vec<Projected>> {
    use institutes::dsl as i;
    let select = (
        (
            i::id,
            i::slug,
            i::name,
            i::sort_name,
            i::acronym,
            i::aliases,
            i::kind,
            i::status,
        ),
        (
            i::country,
            i::city,
            i::parent_id,
            i::founded,
            i::latest_researchers,
        ),
        (
            i::latest_staff,
            i::headcount,
            i::comparable_budget_usd,
            i::comparable_budget_year,
            i::created_at,
            i::updated_at,
        ),
    );
    let (rows, links): (Vec<Row>, Vec<(String, String)>) = match ids {
        None => (
            i::institutes.select(select).load(conn)?,
            institute_sectors::table
                .select((institute_sectors::institute_id, institute_sectors::sector))
                .load(conn)?,
        ),
        Some(ids) => {
            let mut rows = Vec::new();
            let mut links = Vec::new();
            for chunk in ids.chunks(1000) {
                rows.extend(
                    i::institutes
                        .filter(i::id.eq_any(chunk))
                        .select(select)
                        .load::<Row>(conn)?,
                );
                links.extend(
                    institute_sectors::table
                        .filter(institute_sectors::institute_id.eq_any(chunk))
                        .select((institute_sectors::institute_id, institute_sectors::sector))
                        .load::<(String, String)>(conn)?,
                );
            }
            (rows, links)
        }
    };
    let mut sectors: HashMap<String, Vec<String>> = HashMap::new();
    for (id, sector) in links {
        sectors.entry(id).or_default().push(sector);
    }
    Ok(rows
        .into_iter()
        .map(
            |((id, slug, name, sort_name, acronym, aliases, kind, status), b, c)| {
                let (country, city, parent_id, founded, researchers) = b;
                let (staff, headcount, budget_usd, budget_year, created_at, updated_at) = c;
                let mut own = sectors.remove(&id).unwrap_or_default();
                own.sort();
                Projected {
                    parent_id,
                    aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                    sectors: own,
                    id,
                    slug,
                    name,
                    sort_name,
                    acronym,
                    kind,
                    status,
                    country,
                    city,
                    founded,
                    researchers,
                    staff,
                    headcount,
                    budget_usd,
                    budget_year,
                    created_at,
                    updated_at,
                }
            },
        )
        .collect())
}

/// The reference data lists, filters and summaries use.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    pub countries: Vec<CountryRow>,
    pub sectors: Vec<SectorRow>,
    pub currencies: HashSet<String>,
    pub rates: Rates,
    /// Programmes per jurisdiction.
    pub programs: HashMap<String, i64>,
    /// Every country's indicators, by country then year.
    pub indicators: Vec<crate::model::reference::CountryIndicator>,
}

/// Reads the reference data.
pub fn reference(conn: &mut DbConnection) -> QueryResult<Reference> {
    Ok(Reference {
        countries: countries::table
            .select(CountryRow::as_select())
            .order(countries::code)
            .load(conn)?,
        sectors: sectors::table
            .select(SectorRow::as_select())
            .order(sectors::slug)
            .load(conn)?,
        currencies: currencies::table
            .select(currencies::code)
            .load::<String>(conn)?
            .into_iter()
            .collect(),
        rates: super::reference::rates_with_parities(conn)?,
        programs: programs::table
            .group_by(programs::jurisdiction)
            .select((programs::jurisdiction, count_star()))
            .load::<(String, i64)>(conn)?
            .into_iter()
            .collect(),
        indicators: country_indicators::table
            .order((country_indicators::country, country_indicators::year))
            .select(IndicatorRow::as_select())
            .load(conn)?
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}
