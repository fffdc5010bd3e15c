//! The seed dataset (`data/`, compiled into the binary) and loading it idempotently.

use super::rows::{CountryRow, CurrencyRow, IndicatorRow, RateRow, SectorRow};
use super::write::import::{import, Options};
use super::write::{self, WriteError};
use crate::db::schema::{
    countries, currencies, exchange_rates, former_slugs, institutes, programs, registry_meta,
    sectors, tombstones,
};
use crate::db::DbConnection;
use crate::model::changes::{ChangeOp, Resource};
use crate::model::ids::seed_id;
use crate::model::input::ProgramInput;
use crate::model::interchange::ImportRecord;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

const INSTITUTES: &str = include_str!("../../data/institutes.json");
const SECTORS: &str = include_str!("../../data/sectors.json");
const PROGRAMS: &str = include_str!("../../data/programs.json");
const RATES: &str = include_str!("../../data/exchange_rates.csv");
const COUNTRIES: &str = include_str!("../../data/countries.csv");
const CURRENCIES: &str = include_str!("../../data/currencies.csv");
const INDICATORS: &str = include_str!("../../data/country_indicators.csv");

/// An institute as the seed file holds it.
#[derive(Debug, Deserialize, Serialize)]
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

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeedExternalIds {
    pub ror: Option<String>,
    pub wikidata: Option<String>,
    pub grid: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
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

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeedHeadcount {
    pub year: i32,
    pub researchers: Option<i32>,
    pub staff: Option<i32>,
    pub basis: String,
    pub source: String,
}

#[derive(Debug, Deserialize, Serialize)]
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
    indicators: Vec<IndicatorRow>,
    /// What identifies this version of the seed (a digest of its institutes, programmes and
    /// rates): a registry seeded from another version is brought up to this one.
    pub digest: String,
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
            currency: Option<String>,
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
                    currency: c.currency.filter(|c| !c.is_empty()),
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
            indicators: csv_rows::<IndicatorRow>("country_indicators.csv", INDICATORS)?,
            digest: digest(&[INSTITUTES, PROGRAMS, RATES, COUNTRIES]),
        })
    }

    /// This dataset with other institutes (an earlier version of the seed, say).
    pub fn with_institutes(mut self, json: &str) -> Result<Dataset, String> {
        self.institutes =
            serde_json::from_str(json).map_err(|e| format!("seed institutes: {e}"))?;
        self.digest = digest(&[json, PROGRAMS, RATES, COUNTRIES]);
        Ok(self)
    }
}

fn digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a seed run added and corrected. Seed institutes that nobody but the seed has changed
/// are brought up to this seed; those a curator changed are left as they are, and named.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Seed institutes already held, changed to match this version of the seed.
    pub updated: usize,
    /// Seed institutes an editor changed since seeding, left alone (their slugs).
    pub kept: Vec<String>,
    pub countries: usize,
    pub currencies: usize,
    pub sectors: usize,
    pub exchange_rates: usize,
    pub country_indicators: usize,
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
             {} exchange rates, {} countries, {} currencies, {} country indicator years",
            self.institutes,
            self.budgets,
            self.headcounts,
            self.programs,
            self.sectors,
            self.exchange_rates,
            self.countries,
            self.currencies,
            self.country_indicators
        )?;
        if self.updated > 0 {
            write!(f, "; updated {} institutes to this seed", self.updated)?;
        }
        if !self.kept.is_empty() {
            write!(
                f,
                "; left alone, as edited since seeding: {}",
                self.kept.join(", ")
            )?;
        }
        Ok(())
    }
}

const SEEDED_KEY: &str = "seeded_at";
/// The digest of the seed version the registry was last seeded or upgraded from.
const DIGEST_KEY: &str = "seed_digest";

/// Seeds a database that has never been seeded, and upgrades one seeded from another
/// version of the seed (see [`seed`]); does nothing when the registry holds this version.
pub fn seed_if_new(conn: &mut DbConnection, data: &Dataset) -> QueryResult<Option<SeedReport>> {
    conn.transaction(|conn| {
        let seeded = meta(conn, SEEDED_KEY)?;
        let digest = meta(conn, DIGEST_KEY)?;
        if seeded.is_some() && digest.as_deref() == Some(data.digest.as_str()) {
            return Ok(None);
        }
        seed(conn, data).map(Some)
    })
}

fn meta(conn: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    registry_meta::table
        .find(key)
        .select(registry_meta::value)
        .first::<String>(conn)
        .optional()
}

fn set_meta(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<()> {
    let updated = diesel::update(registry_meta::table.find(key))
        .set(registry_meta::value.eq(value))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(registry_meta::table)
            .values((registry_meta::key.eq(key), registry_meta::value.eq(value)))
            .execute(conn)?;
    }
    Ok(())
}

/// Loads the seed's country indicators when the registry holds none (a new database, or one
/// upgraded from a version without them), each year a change of the sequence; returns how
/// many years were added.
fn add_indicators(tx: &mut write::Tx<'_>, data: &Dataset) -> QueryResult<usize> {
    use crate::db::schema::country_indicators;
    let held: i64 = country_indicators::table.count().get_result(tx.conn)?;
    if held > 0 {
        return Ok(0);
    }
    let known: HashSet<String> = countries::table
        .select(countries::code)
        .load(tx.conn)?
        .into_iter()
        .collect();
    let rows: Vec<IndicatorRow> = data
        .indicators
        .iter()
        .filter(|r| known.contains(&r.country))
        .cloned()
        .collect();
    let conn = &mut *tx.conn;
    super::insert_batch!(conn, country_indicators::table, &rows, 500);
    for r in &rows {
        tx.change(
            Resource::CountryIndicator,
            &format!("{}/{}", r.country, r.year),
            None,
            ChangeOp::Created,
        );
    }
    Ok(rows.len())
}

/// Loads the seed's country indicators into a registry that holds none (one upgraded from a
/// version without them); a registry that holds some keeps them as they are.
pub fn seed_indicators_if_empty(conn: &mut DbConnection, data: &Dataset) -> QueryResult<usize> {
    let written = write::write(conn, ACTOR, |tx| Ok(add_indicators(tx, data)?));
    match written {
        Ok(w) => Ok(w.value),
        Err(WriteError::Db(e)) => Err(e),
        Err(other) => Err(diesel::result::Error::QueryBuilderError(
            format!("the seed's country indicators are refused: {other}").into(),
        )),
    }
}

/// The history's author of seeded records.
pub const ACTOR: &str = "seed";

/// Adds every seed record that is missing (matched by its natural key: code, slug, or
/// currency and year), and brings the seed institutes that only the seed ever changed up to
/// this version of the seed, in one transaction, through the registry's write path. Seed
/// institutes an editor changed (any history entry by another actor) are left alone and named
/// in the report; a curator's deletion or rename is not undone. Running it twice changes
/// nothing the second time.
pub fn seed(conn: &mut DbConnection, data: &Dataset) -> QueryResult<SeedReport> {
    use crate::db::schema::history;
    conn.transaction(|conn| {
        let mut report = add_reference(conn, data, true)?;

        let seed_ids: Vec<String> = data
            .institutes
            .iter()
            .map(|i| seed_id("ins", &i.slug))
            .collect();
        let held: HashSet<String> = institutes::table
            .filter(institutes::id.eq_any(&seed_ids))
            .select(institutes::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let edited: HashSet<String> = history::table
            .filter(history::institute_id.eq_any(&seed_ids))
            .filter(history::actor.ne(ACTOR))
            .select(history::institute_id)
            .distinct()
            .load::<Option<String>>(conn)?
            .into_iter()
            .flatten()
            .collect();
        // A seed institute is added only when nothing holds or held its id or slug: ids are
        // never reused.
        let mut taken: HashSet<String> = HashSet::new();
        taken.extend(
            institutes::table
                .select(institutes::slug)
                .load::<String>(conn)?,
        );
        taken.extend(
            former_slugs::table
                .select(former_slugs::slug)
                .load::<String>(conn)?,
        );
        taken.extend(
            tombstones::table
                .select(tombstones::slug)
                .load::<String>(conn)?,
        );
        taken.extend(
            tombstones::table
                .select(tombstones::id)
                .load::<String>(conn)?,
        );
        let mut chosen: Vec<&SeedInstitute> = Vec::new();
        for (i, id) in data.institutes.iter().zip(&seed_ids) {
            if held.contains(id) {
                if edited.contains(id) {
                    report.kept.push(i.slug.clone());
                } else {
                    chosen.push(i);
                }
            } else if !taken.contains(&i.slug) && !taken.contains(id) {
                report.budgets += i.budgets.len();
                report.headcounts += i.headcounts.len();
                chosen.push(i);
            }
        }
        let vocab = write::vocabulary(conn)?;
        let records = chosen
            .iter()
            .enumerate()
            .map(|(n, i)| Ok(ImportRecord::read(n + 1, i.record(), &vocab)));
        let outcome = import(
            conn,
            records,
            Options {
                expected: chosen.len(),
                ..Options::default()
            },
            ACTOR,
            &|_, _| {},
        )?;
        if let Some(r) = outcome.rejected.first() {
            // The seed is checked by its build; a record the registry refuses is a defect.
            let reasons: Vec<String> = r
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            return Err(diesel::result::Error::QueryBuilderError(
                format!(
                    "seed record {} ({}) is refused: {}",
                    r.line,
                    r.record,
                    reasons.join("; ")
                )
                .into(),
            ));
        }
        report.institutes = outcome.created;
        report.updated = outcome.updated;

        if meta(conn, SEEDED_KEY)?.is_none() {
            set_meta(
                conn,
                SEEDED_KEY,
                &crate::store::now().and_utc().to_rfc3339(),
            )?;
        }
        set_meta(conn, DIGEST_KEY, &data.digest)?;
        Ok(report)
    })
}

/// Adds the reference records (countries, currencies, sectors, exchange rates) that are
/// missing; institutes are left alone. What an import into a new database needs.
pub fn seed_reference(conn: &mut DbConnection, data: &Dataset) -> QueryResult<SeedReport> {
    add_reference(conn, data, false)
}

/// Adds the missing reference records, and with `programs` the missing programmes, in one
/// write (sectors, rates and programmes enter the change sequence).
fn add_reference(
    conn: &mut DbConnection,
    data: &Dataset,
    programs: bool,
) -> QueryResult<SeedReport> {
    let written = write::write(conn, ACTOR, |tx| {
        let mut report = SeedReport::default();
        let have: HashSet<String> = countries::table
            .select(countries::code)
            .load(tx.conn)?
            .into_iter()
            .collect();
        let rows: Vec<&CountryRow> = data
            .countries
            .iter()
            .filter(|r| !have.contains(&r.code))
            .collect();
        for row in &rows {
            diesel::insert_into(countries::table)
                .values(*row)
                .execute(tx.conn)?;
        }
        report.countries = rows.len();
        // Countries loaded before they had a currency get the seed's.
        let without: HashSet<String> = countries::table
            .filter(countries::currency.is_null())
            .select(countries::code)
            .load(tx.conn)?
            .into_iter()
            .collect();
        for row in data.countries.iter().filter(|r| without.contains(&r.code)) {
            if let Some(currency) = &row.currency {
                diesel::update(countries::table.find(&row.code))
                    .set(countries::currency.eq(currency))
                    .execute(tx.conn)?;
            }
        }
        let have: HashSet<String> = currencies::table
            .select(currencies::code)
            .load(tx.conn)?
            .into_iter()
            .collect();
        let rows: Vec<&CurrencyRow> = data
            .currencies
            .iter()
            .filter(|r| !have.contains(&r.code))
            .collect();
        for row in &rows {
            diesel::insert_into(currencies::table)
                .values(*row)
                .execute(tx.conn)?;
        }
        report.currencies = rows.len();
        let have: HashSet<String> = sectors::table
            .select(sectors::slug)
            .load(tx.conn)?
            .into_iter()
            .collect();
        for row in data.sectors.iter().filter(|r| !have.contains(&r.slug)) {
            write::catalog::add_sector(tx, row)?;
            report.sectors += 1;
        }
        let have: HashSet<(String, i32)> = exchange_rates::table
            .select((exchange_rates::currency, exchange_rates::year))
            .load(tx.conn)?
            .into_iter()
            .collect();
        for row in data
            .rates
            .iter()
            .filter(|r| !have.contains(&(r.currency.clone(), r.year)))
        {
            write::catalog::save_rate(tx, row.clone(), false)?;
            report.exchange_rates += 1;
        }
        report.country_indicators = add_indicators(tx, data)?;
        if programs {
            let have: HashSet<String> = programs::table
                .select(programs::slug)
                .load(tx.conn)?
                .into_iter()
                .collect();
            let vocab = tx.vocabulary()?;
            for p in data.programs.iter().filter(|p| !have.contains(&p.slug)) {
                let body = serde_json::to_value(p).unwrap_or_default();
                let input = ProgramInput::read(&body, &vocab).map_err(WriteError::Invalid)?;
                write::catalog::save_program(tx, &seed_id("prg", &p.slug), input, None)?;
                report.programs += 1;
            }
        }
        Ok(report)
    });
    match written {
        Ok(w) => Ok(w.value),
        Err(WriteError::Db(e)) => Err(e),
        Err(other) => Err(diesel::result::Error::QueryBuilderError(
            format!("the seed's reference data is refused: {other}").into(),
        )),
    }
}

impl SeedInstitute {
    /// The record in the import's input form, with the ids every installation gives it and
    /// its entries.
    fn record(&self) -> serde_json::Value {
        let mut record = serde_json::to_value(self).unwrap_or_default();
        record["id"] = seed_id("ins", &self.slug).into();
        for (n, b) in self.budgets.iter().enumerate() {
            let key = format!("{} {} {}", self.slug, b.year, b.kind);
            record["budgets"][n]["id"] = seed_id("bud", &key).into();
        }
        for (n, h) in self.headcounts.iter().enumerate() {
            let key = format!("{} {}", self.slug, h.year);
            record["headcounts"][n]["id"] = seed_id("hc", &key).into();
        }
        record
    }
}
