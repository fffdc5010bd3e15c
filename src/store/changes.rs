//! Reading the registry's change sequence, and the records its changes are about as they
//! stand now.

use super::rows::ChangeRow;
use super::write::documents;
use crate::db::schema::changes;
use crate::db::DbConnection;
use crate::model::changes::Resource;
use crate::model::institute::Institute;
use crate::model::reference::{CountryIndicator, ExchangeRate, Program, Sector};
use diesel::prelude::*;
use std::collections::HashMap;

/// The changes after `after`, in order, at most `limit`.
pub fn after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<ChangeRow>> {
    changes::table
        .filter(changes::seq.gt(after))
        .order(changes::seq)
        .limit(limit)
        .select(ChangeRow::as_select())
        .load(conn)
}

/// The records changes are about, as they stand now (absent: gone since).
#[derive(Default)]
pub struct Records {
    pub institutes: HashMap<String, Institute>,
    pub programs: HashMap<String, Program>,
    pub sectors: HashMap<String, Sector>,
    pub rates: HashMap<String, ExchangeRate>,
    pub indicators: HashMap<String, CountryIndicator>,
}

/// Reads the current records of these changes.
pub fn records(conn: &mut DbConnection, rows: &[ChangeRow]) -> QueryResult<Records> {
    let mut out = Records::default();
    let ids_of = |resource: Resource| -> Vec<&str> {
        let mut ids: Vec<&str> = rows
            .iter()
            .filter(|r| r.resource == resource.as_str())
            .map(|r| r.resource_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    for doc in documents::get_many(conn, &ids_of(Resource::Institute))? {
        let id = doc.id.clone();
        let doc = if doc.json.is_empty() {
            documents::read(conn, &id)?
        } else {
            Some(doc)
        };
        if let Some(record) = doc.and_then(|d| d.record().ok()) {
            out.institutes.insert(id, record);
        }
    }
    let rates = super::reference::rates(conn)?;
    for id in ids_of(Resource::Program) {
        if let Some(p) = super::reference::get_program(conn, id, &rates)? {
            out.programs.insert(id.to_string(), p);
        }
    }
    for slug in ids_of(Resource::Sector) {
        if let Some(s) = super::reference::get_sector(conn, slug)? {
            out.sectors.insert(slug.to_string(), s);
        }
    }
    let keyed = |key: &str| {
        let (code, year) = key.split_once('/')?;
        Some((code.to_string(), year.parse::<i32>().ok()?))
    };
    for key in ids_of(Resource::ExchangeRate) {
        let Some((currency, year)) = keyed(key) else {
            continue;
        };
        if let Some(r) = super::reference::get_rate(conn, &currency, year)? {
            out.rates.insert(key.to_string(), r);
        }
    }
    for key in ids_of(Resource::CountryIndicator) {
        let Some((country, year)) = keyed(key) else {
            continue;
        };
        if let Some(r) = super::reference::get_indicator(conn, &country, year)? {
            out.indicators.insert(key.to_string(), r);
        }
    }
    Ok(out)
}
