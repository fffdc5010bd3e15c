//! Rows as stored, and their conversion into model records.

use crate::db::schema::*;
use crate::model::figures::{BudgetFigure, BudgetKind, HeadcountEntry};
use crate::model::institute::InstituteRef;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = institutes, treat_none_as_default_value = false)]
pub struct InstituteRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub sort_name: String,
    pub acronym: Option<String>,
    pub aliases: String,
    pub kind: String,
    pub status: String,
    pub country: String,
    pub city: Option<String>,
    pub founded: Option<i32>,
    pub website: Option<String>,
    pub description: Option<String>,
    pub parent_id: Option<String>,
    pub ror: Option<String>,
    pub wikidata: Option<String>,
    pub grid: Option<String>,
    pub unverified_fields: String,
    pub latest_researchers: Option<i32>,
    pub latest_staff: Option<i32>,
    pub comparable_budget_usd: Option<f64>,
    pub headcount: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub search_text: String,
    pub acronym_key: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = budgets, treat_none_as_default_value = false)]
pub struct BudgetRow {
    pub id: String,
    pub institute_id: String,
    pub year: i32,
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub period_end: Option<i32>,
    pub source: String,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl BudgetRow {
    pub fn to_figure(&self) -> BudgetFigure {
        BudgetFigure {
            id: self.id.clone(),
            year: self.year,
            // The column only ever receives `BudgetKind::as_str` values.
            kind: BudgetKind::parse(&self.kind).unwrap_or(BudgetKind::OneOff),
            amount: self.amount,
            currency: self.currency.clone(),
            period_end: self.period_end,
            source: self.source.clone(),
            note: self.note.clone(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = headcounts, treat_none_as_default_value = false)]
pub struct HeadcountRow {
    pub id: String,
    pub institute_id: String,
    pub year: i32,
    pub researchers: Option<i32>,
    pub staff: Option<i32>,
    pub basis: String,
    pub source: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl HeadcountRow {
    pub fn to_entry(&self) -> HeadcountEntry {
        HeadcountEntry {
            id: self.id.clone(),
            year: self.year,
            researchers: self.researchers,
            staff: self.staff,
            basis: self.basis.clone(),
            source: self.source.clone(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = programs)]
pub struct ProgramRow {
    pub id: String,
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
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = countries)]
pub struct CountryRow {
    pub code: String,
    pub name: String,
    pub region: String,
    pub subregion: String,
    pub kind: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = currencies)]
pub struct CurrencyRow {
    pub code: String,
    pub name: String,
    pub minor_units: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sectors)]
pub struct SectorRow {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = exchange_rates)]
pub struct RateRow {
    pub currency: String,
    pub year: i32,
    pub units_per_usd: f64,
    pub source: String,
}

/// `(id, slug, name)` of an institute.
pub type RefRow = (String, String, String);

pub fn to_ref((id, slug, name): RefRow) -> InstituteRef {
    InstituteRef { id, slug, name }
}
