//! The seed dataset (`data/`, compiled into the binary) and loading it idempotently.

use super::institutes::refresh_latest;
use super::now;
use super::reference::rates;
use super::rows::{
    BudgetRow, CountryRow, CurrencyRow, HeadcountRow, InstituteRow, ProgramRow, RateRow, SectorRow,
};
use crate::db::schema::{
    budgets, countries, currencies, exchange_rates, former_slugs, headcounts, institute_sectors,
    institutes, programs, registry_meta, sectors, tombstones,
};
use crate::db::DbConnection;
use crate::model::ids::{fold, seed_id};
use crate::model::text::{acronym_key, search_text};
use diesel::prelude::*;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

const INSTITUTES: &str = include_str!("../../data/institutes.json");
const SECTORS: &str = include_str!("../../data/sectors.json");
const PROGRAMS: &str = include_str!("../../data/programs.json");
const RATES: &str = include_str!("../../data/exchange_rates.csv");
const COUNTRIES: &str = include_str!("../../data/countries.csv");
const CURRENCIES: &str = include_str!("../../data/currencies.csv");

/// An institute as the seed file holds it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedInstitute {
    pub slug: String,
    pub name: String,
    pub acronym: Option<String>,
    pub aliases: Vec<String>,
    pub kind: String,
    pub status: String,
    pub country: String,
    pub city: Option<String>,
    pub founded: Option<i32>,
    pub website: Option<String>,
    pub description: Option<String>,
    pub sectors: Vec<String>,
    pub parent: Option<String>,
    pub external_ids: SeedExternalIds,
    pub budgets: Vec<SeedBudget>,
    pub headcounts: Vec<SeedHeadcount>,
    pub unverified_fields: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedExternalIds {
    pub ror: Option<String>,
    pub wikidata: Option<String>,
    pub grid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBudget {
    pub year: i32,
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub period_end: Option<i32>,
    pub source: String,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedHeadcount {
    pub year: i32,
    pub researchers: Option<i32>,
    pub staff: Option<i32>,
    pub basis: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProgram {
    pub slug: String,
    pub jurisdiction: String,
    pub name: String,
    pub amount: i64,
    pub currency: String,
    pub announced: i32,
    pub period: Option<String>,
    pub public_or_private: Option<String>,
    pub source: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SeedSector {
    slug: String,
    name: String,
    description: Option<String>,
}

/// The whole seed dataset, parsed.
pub struct Dataset {
    pub institutes: Vec<SeedInstitute>,
    pub programs: Vec<SeedProgram>,
    sectors: Vec<SectorRow>,
    rates: Vec<RateRow>,
    countries: Vec<CountryRow>,
    currencies: Vec<CurrencyRow>,
}

fn csv_rows<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<Vec<T>, String> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| format!("data/{name}: {e}"))
}

impl Dataset {
    /// The dataset compiled into the binary.
    pub fn embedded() -> Result<Dataset, String> {
        #[derive(Deserialize)]
        struct Country {
            code: String,
            name: String,
            region: String,
            subregion: String,
            kind: String,
        }
        #[derive(Deserialize)]
        struct Currency {
            code: String,
            name: String,
            minor_units: Option<i32>,
        }
        #[derive(Deserialize)]
        struct Rate {
            currency: String,
            year: i32,
            units_per_usd: f64,
            source: String,
        }
        let json = |name: &str, e: serde_json::Error| format!("data/{name}: {e}");
        Ok(Dataset {
            institutes: serde_json::from_str(INSTITUTES).map_err(|e| json("institutes.json", e))?,
            programs: serde_json::from_str(PROGRAMS).map_err(|e| json("programs.json", e))?,
            sectors: serde_json::from_str::<Vec<SeedSector>>(SECTORS)
                .map_err(|e| json("sectors.json", e))?
                .into_iter()
                .map(|s| SectorRow {
                    slug: s.slug,
                    name: s.name,
                    description: s.description,
                })
                .collect(),
            rates: csv_rows::<Rate>("exchange_rates.csv", RATES)?
                .into_iter()
                .map(|r| RateRow {
                    currency: r.currency,
                    year: r.year,
                    units_per_usd: r.units_per_usd,
                    source: r.source,
                })
                .collect(),
            countries: csv_rows::<Country>("countries.csv", COUNTRIES)?
                .into_iter()
                .map(|c| CountryRow {
                    code: c.code,
                    name: c.name,
                    region: c.region,
                    subregion: c.subregion,
                    kind: c.kind,
                })
                .collect(),
            currencies: csv_rows::<Currency>("currencies.csv", CURRENCIES)?
                .into_iter()
                .map(|c| CurrencyRow {
                    code: c.code,
                    name: c.name,
                    minor_units: c.minor_units,
                })
                .collect(),
        })
    }
}

/// What a seed run added; records already present are left as they are.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub countries: usize,
    pub currencies: usize,
    pub sectors: usize,
    pub exchange_rates: usize,
    pub institutes: usize,
    pub budgets: usize,
    pub headcounts: usize,
    pub programs: usize,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "added {} institutes ({} budgets, {} headcounts), {} programmes, {} sectors, \
             {} exchange rates, {} countries, {} currencies",
            self.institutes,
            self.budgets,
            self.headcounts,
            self.programs,
            self.sectors,
            self.exchange_rates,
            self.countries,
            self.currencies
        )
    }
}

const SEEDED_KEY: &str = "seeded_at";

/// Seeds a database that has never been seeded; does nothing to one that has.
pub fn seed_if_new(conn: &mut DbConnection, data: &Dataset) -> QueryResult<Option<SeedReport>> {
    conn.transaction(|conn| {
        let seeded = registry_meta::table
            .find(SEEDED_KEY)
            .select(registry_meta::value)
            .first::<String>(conn)
            .optional()?;
        match seeded {
            Some(_) => Ok(None),
            None => seed(conn, data).map(Some),
        }
    })
}

/// Adds every seed record that is missing (matched by its natural key: code, slug, or
/// currency and year), in one transaction. Running it twice adds nothing the second time.
pub fn seed(conn: &mut DbConnection, data: &Dataset) -> QueryResult<SeedReport> {
    conn.transaction(|conn| {
        // Two servers starting on one new database: the second waits, then adds nothing.
        super::curation::begin_write(conn, None)?;
        let mut report = SeedReport::default();
        let stamp = now();

        add_reference(conn, data, &mut report)?;

        // A seed institute is added only when nothing holds or held its id or slug: a
        // curator's deletion or rename is not undone, and ids are never reused.
        let mut have: HashSet<String> = institutes::table
            .select(institutes::slug)
            .load(conn)?
            .into_iter()
            .collect();
        have.extend(
            institutes::table
                .select(institutes::id)
                .load::<String>(conn)?,
        );
        have.extend(
            former_slugs::table
                .select(former_slugs::slug)
                .load::<String>(conn)?,
        );
        have.extend(
            tombstones::table
                .select(tombstones::slug)
                .load::<String>(conn)?,
        );
        have.extend(
            tombstones::table
                .select(tombstones::id)
                .load::<String>(conn)?,
        );
        let mut added: Vec<(String, &SeedInstitute)> = Vec::new();
        for institute in data
            .institutes
            .iter()
            .filter(|i| !have.contains(&i.slug) && !have.contains(&seed_id("ins", &i.slug)))
        {
            let id = seed_id("ins", &institute.slug);
            diesel::insert_into(institutes::table)
                .values(&InstituteRow {
                    id: id.clone(),
                    slug: institute.slug.clone(),
                    name: institute.name.clone(),
                    sort_name: fold(&institute.name),
                    acronym: institute.acronym.clone(),
                    aliases: serde_json::to_string(&institute.aliases).unwrap_or_default(),
                    kind: institute.kind.clone(),
                    status: institute.status.clone(),
                    country: institute.country.clone(),
                    city: institute.city.clone(),
                    founded: institute.founded,
                    website: institute.website.clone(),
                    description: institute.description.clone(),
                    parent_id: None,
                    ror: institute.external_ids.ror.clone(),
                    wikidata: institute.external_ids.wikidata.clone(),
                    grid: institute.external_ids.grid.clone(),
                    unverified_fields: serde_json::to_string(&institute.unverified_fields)
                        .unwrap_or_default(),
                    latest_researchers: None,
                    latest_staff: None,
                    comparable_budget_usd: None,
                    headcount: None,
                    created_at: stamp,
                    updated_at: stamp,
                    version: 1,
                    search_text: search_text(
                        &institute.name,
                        institute.acronym.as_deref(),
                        &institute.aliases,
                    ),
                    acronym_key: acronym_key(institute.acronym.as_deref()),
                })
                .execute(conn)?;
            for sector in &institute.sectors {
                diesel::insert_into(institute_sectors::table)
                    .values((
                        institute_sectors::institute_id.eq(&id),
                        institute_sectors::sector.eq(sector),
                    ))
                    .execute(conn)?;
            }
            for b in &institute.budgets {
                diesel::insert_into(budgets::table)
                    .values(&BudgetRow {
                        id: seed_id("bud", &format!("{} {} {}", institute.slug, b.year, b.kind)),
                        institute_id: id.clone(),
                        year: b.year,
                        kind: b.kind.clone(),
                        amount: b.amount,
                        currency: b.currency.clone(),
                        period_end: b.period_end,
                        source: b.source.clone(),
                        note: b.note.clone(),
                        created_at: stamp,
                        updated_at: stamp,
                    })
                    .execute(conn)?;
                report.budgets += 1;
            }
            for h in &institute.headcounts {
                diesel::insert_into(headcounts::table)
                    .values(&HeadcountRow {
                        id: seed_id("hc", &format!("{} {}", institute.slug, h.year)),
                        institute_id: id.clone(),
                        year: h.year,
                        researchers: h.researchers,
                        staff: h.staff,
                        basis: h.basis.clone(),
                        source: h.source.clone(),
                        created_at: stamp,
                        updated_at: stamp,
                    })
                    .execute(conn)?;
                report.headcounts += 1;
            }
            added.push((id, institute));
        }
        // Parents second, once every institute they may point to exists.
        let ids_by_slug: HashMap<String, String> = institutes::table
            .select((institutes::slug, institutes::id))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        let rates = rates(conn)?;
        for (id, institute) in &added {
            if let Some(parent) = institute.parent.as_ref().and_then(|p| ids_by_slug.get(p)) {
                diesel::update(institutes::table.find(id))
                    .set(institutes::parent_id.eq(parent))
                    .execute(conn)?;
            }
            refresh_latest(conn, id, &rates)?;
        }
        report.institutes = added.len();

        let have: HashSet<String> = programs::table
            .select(programs::slug)
            .load(conn)?
            .into_iter()
            .collect();
        for p in data.programs.iter().filter(|p| !have.contains(&p.slug)) {
            diesel::insert_into(programs::table)
                .values(&ProgramRow {
                    id: seed_id("prg", &p.slug),
                    slug: p.slug.clone(),
                    jurisdiction: p.jurisdiction.clone(),
                    name: p.name.clone(),
                    amount: p.amount,
                    currency: p.currency.clone(),
                    announced: p.announced,
                    period: p.period.clone(),
                    public_or_private: p.public_or_private.clone(),
                    source: p.source.clone(),
                    description: p.description.clone(),
                    created_at: stamp,
                    updated_at: stamp,
                    version: 1,
                })
                .execute(conn)?;
            report.programs += 1;
        }

        let seeded = registry_meta::table
            .find(SEEDED_KEY)
            .select(registry_meta::key)
            .first::<String>(conn)
            .optional()?;
        if seeded.is_none() {
            diesel::insert_into(registry_meta::table)
                .values((
                    registry_meta::key.eq(SEEDED_KEY),
                    registry_meta::value.eq(stamp.and_utc().to_rfc3339()),
                ))
                .execute(conn)?;
        }
        Ok(report)
    })
}

/// Adds the reference records (countries, currencies, sectors, exchange rates) that are
/// missing; institutes are left alone. What an import into a new database needs.
pub fn seed_reference(conn: &mut DbConnection, data: &Dataset) -> QueryResult<SeedReport> {
    conn.transaction(|conn| {
        super::curation::begin_write(conn, None)?;
        let mut report = SeedReport::default();
        add_reference(conn, data, &mut report)?;
        Ok(report)
    })
}

fn add_reference(
    conn: &mut DbConnection,
    data: &Dataset,
    report: &mut SeedReport,
) -> QueryResult<()> {
    let have: HashSet<String> = countries::table
        .select(countries::code)
        .load(conn)?
        .into_iter()
        .collect();
    for row in data.countries.iter().filter(|r| !have.contains(&r.code)) {
        diesel::insert_into(countries::table)
            .values(row)
            .execute(conn)?;
        report.countries += 1;
    }
    let have: HashSet<String> = currencies::table
        .select(currencies::code)
        .load(conn)?
        .into_iter()
        .collect();
    for row in data.currencies.iter().filter(|r| !have.contains(&r.code)) {
        diesel::insert_into(currencies::table)
            .values(row)
            .execute(conn)?;
        report.currencies += 1;
    }
    let have: HashSet<String> = sectors::table
        .select(sectors::slug)
        .load(conn)?
        .into_iter()
        .collect();
    for row in data.sectors.iter().filter(|r| !have.contains(&r.slug)) {
        diesel::insert_into(sectors::table)
            .values(row)
            .execute(conn)?;
        report.sectors += 1;
    }
    let have: HashSet<(String, i32)> = exchange_rates::table
        .select((exchange_rates::currency, exchange_rates::year))
        .load(conn)?
        .into_iter()
        .collect();
    for row in data
        .rates
        .iter()
        .filter(|r| !have.contains(&(r.currency.clone(), r.year)))
    {
        diesel::insert_into(exchange_rates::table)
            .values(row)
            .execute(conn)?;
        report.exchange_rates += 1;
    }

    Ok(())
}
