//! What a list asks of the read model: which institutes (a filter), in what order (sort keys),
//! from where (a keyset position) and how many. Parsed and checked by the API, answered here.

use crate::model::institute::{InstituteKind, InstituteStatus};
use chrono::NaiveDateTime;

/// Which institutes a list shows. Each list means "any of"; an empty list means no restriction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstituteFilter {
    pub countries: Vec<String>,
    /// The countries of the regions asked for (`None`: no region filter; an empty list
    /// matches nothing).
    pub region_countries: Option<Vec<String>>,
    pub sectors: Vec<String>,
    pub kinds: Vec<InstituteKind>,
    pub statuses: Vec<InstituteStatus>,
    pub founded_from: Option<i32>,
    pub founded_to: Option<i32>,
    pub headcount_min: Option<i32>,
    pub headcount_max: Option<i32>,
    /// Bounds on the comparable budget, in USD (in international dollars with `ppp`).
    pub budget_min_usd: Option<f64>,
    pub budget_max_usd: Option<f64>,
    /// Budgets valued at purchasing-power parity: the bounds apply to the comparable budget in
    /// international dollars (`currency=PPP`).
    pub ppp: bool,
    /// Children of this institute (an id).
    pub parent: Option<String>,
    /// Only these institutes (ids).
    pub ids: Vec<String>,
    pub updated_since: Option<NaiveDateTime>,
    /// Only institutes matching this search text (names, acronyms, aliases).
    pub search: Option<String>,
}

/// A sortable field of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    /// Search rank: exact name or acronym, then names starting with the text, then word
    /// matches by relevance (BM25), then typo-tolerant matches; only with a search.
    Relevance,
    Name,
    Founded,
    Budget,
    /// The comparable budget in international dollars (`sort=budget` with `currency=PPP`).
    BudgetPpp,
    Headcount,
    Updated,
    Created,
    /// The ISO 3166-1 code.
    Country,
    /// The kind's word (`company`, `consortium`, `government`, …), alphabetically.
    Kind,
}

impl SortField {
    pub const NAMES: &'static str =
        "relevance (with q), name, founded, budget, headcount, updated, created, country, kind";

    /// Every key's name, for suggestions.
    pub const KEYS: [&'static str; 9] = [
        "relevance",
        "name",
        "founded",
        "budget",
        "headcount",
        "updated",
        "created",
        "country",
        "kind",
    ];

    pub fn parse(name: &str) -> Option<SortField> {
        Some(match name {
            "relevance" => SortField::Relevance,
            "name" => SortField::Name,
            "founded" => SortField::Founded,
            "budget" => SortField::Budget,
            "headcount" => SortField::Headcount,
            "updated" => SortField::Updated,
            "created" => SortField::Created,
            "country" => SortField::Country,
            "kind" => SortField::Kind,
            _ => return None,
        })
    }
}

/// One key of an ordering: a field, descending or not. Nulls always sort last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub field: SortField,
    pub descending: bool,
}

/// A row's value for one sort key, as carried in a cursor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Null,
    Int(i64),
    Float(f64),
    Time(NaiveDateTime),
    Text(String),
}

/// The position after which a page starts: the last row's sort values and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    pub values: Vec<SortValue>,
    pub id: String,
}

/// One page of a list, and the keyset of its last row when more rows follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Keyset>,
    pub total: i64,
}

/// What `/v1/stats` groups institutes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Country,
    Region,
    Sector,
    Kind,
    FoundedDecade,
}

impl GroupBy {
    pub const NAMES: &'static str = "country, region, sector, kind, founded_decade";

    pub fn parse(name: &str) -> Option<GroupBy> {
        Some(match name {
            "country" => GroupBy::Country,
            "region" => GroupBy::Region,
            "sector" => GroupBy::Sector,
            "kind" => GroupBy::Kind,
            "founded_decade" => GroupBy::FoundedDecade,
            _ => return None,
        })
    }
}
