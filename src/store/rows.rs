//! Rows as stored, and their conversion into model records.

use crate::db::schema::*;
use crate::model::figures::{BudgetFigure, BudgetKind, Derived, HeadcountEntry};
use crate::model::ids::fold;
use crate::model::input::{BudgetInput, HeadcountInput, InstituteInput};
use crate::model::institute::InstituteRef;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = institutes, treat_none_as_default_value = false, treat_none_as_null = true)]
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
    pub comparable_budget_year: Option<i32>,
    pub headcount: Option<i32>,
    #[diesel(skip_update)]
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// What a stored institute row holds besides its input: its place in the registry and time.
#[derive(Debug, Clone)]
pub struct Placement {
    pub id: String,
    pub slug: String,
    pub parent_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

impl InstituteRow {
    /// The row of an institute: the only place a row is made from input.
    pub fn build(input: &InstituteInput, at: Placement, derived: Derived) -> InstituteRow {
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        InstituteRow {
            id: at.id,
            slug: at.slug,
            name: input.name.clone(),
            sort_name: fold(&input.name),
            acronym: input.acronym.clone(),
            aliases: json(&input.aliases),
            kind: input.kind.as_str().to_string(),
            status: input.status.as_str().to_string(),
            country: input.country.clone(),
            city: input.city.clone(),
            founded: input.founded,
            website: input.website.clone(),
            description: input.description.clone(),
            parent_id: at.parent_id,
            ror: input.external_ids.ror.clone(),
            wikidata: input.external_ids.wikidata.clone(),
            grid: input.external_ids.grid.clone(),
            unverified_fields: json(&input.unverified_fields),
            latest_researchers: derived.researchers,
            latest_staff: derived.staff,
            comparable_budget_usd: derived.budget_usd,
            comparable_budget_year: derived.budget_year,
            headcount: derived.headcount,
            created_at: at.created_at,
            updated_at: at.updated_at,
            version: at.version,
        }
    }

    /// The derived figures the row holds.
    pub fn derived(&self) -> Derived {
        Derived {
            researchers: self.latest_researchers,
            staff: self.latest_staff,
            headcount: self.headcount,
            budget_usd: self.comparable_budget_usd,
            budget_year: self.comparable_budget_year,
        }
    }
}

/// A new institute row with its rendered document.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = institutes, treat_none_as_default_value = false)]
pub struct NewInstitute {
    #[diesel(embed)]
    pub row: InstituteRow,
    pub document: String,
    pub etag: String,
    pub seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = budgets, treat_none_as_default_value = false, treat_none_as_null = true)]
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
    #[diesel(skip_update)]
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl BudgetRow {
    pub fn new(id: &str, institute: &str, b: &BudgetInput, at: NaiveDateTime) -> BudgetRow {
        BudgetRow {
            id: id.to_string(),
            institute_id: institute.to_string(),
            year: b.year,
            kind: b.kind.as_str().to_string(),
            amount: b.amount,
            currency: b.currency.clone(),
            period_end: b.period_end,
            source: b.source.clone(),
            note: b.note.clone(),
            created_at: at,
            updated_at: at,
        }
    }

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

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = headcounts, treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct HeadcountRow {
    pub id: String,
    pub institute_id: String,
    pub year: i32,
    pub researchers: Option<i32>,
    pub staff: Option<i32>,
    pub basis: String,
    pub source: String,
    #[diesel(skip_update)]
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl HeadcountRow {
    pub fn new(id: &str, institute: &str, h: &HeadcountInput, at: NaiveDateTime) -> HeadcountRow {
        HeadcountRow {
            id: id.to_string(),
            institute_id: institute.to_string(),
            year: h.year,
            researchers: h.researchers,
            staff: h.staff,
            basis: h.basis.clone(),
            source: h.source.clone(),
            created_at: at,
            updated_at: at,
        }
    }

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
    pub currency: Option<String>,
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

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = country_indicators)]
pub struct IndicatorRow {
    pub country: String,
    pub year: i32,
    pub population: Option<i64>,
    pub gdp_current_usd: Option<f64>,
    pub ppp_lcu_per_intl_dollar: Option<f64>,
    pub source: String,
}

impl From<IndicatorRow> for crate::model::reference::CountryIndicator {
    fn from(r: IndicatorRow) -> Self {
        crate::model::reference::CountryIndicator {
            country: r.country,
            year: r.year,
            population: r.population,
            gdp_current_usd: r.gdp_current_usd,
            ppp_lcu_per_intl_dollar: r.ppp_lcu_per_intl_dollar,
            source: r.source,
        }
    }
}

/// `(id, slug, name)` of an institute.
pub type RefRow = (String, String, String);

pub fn to_ref((id, slug, name): RefRow) -> InstituteRef {
    InstituteRef { id, slug, name }
}

/// One entry of the audit trail, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = history)]
pub struct HistoryRow {
    pub id: String,
    pub institute_id: Option<String>,
    pub subject: String,
    pub subject_id: String,
    pub action: String,
    pub actor: String,
    pub at: NaiveDateTime,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One change of the registry's change sequence, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = changes)]
pub struct ChangeRow {
    pub seq: i64,
    pub resource: String,
    pub resource_id: String,
    pub slug: Option<String>,
    pub op: String,
    pub successor: Option<String>,
    pub at: NaiveDateTime,
}
