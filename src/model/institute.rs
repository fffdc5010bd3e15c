//! The institute record.

use super::figures::{HeadcountEntry, LatestBudget};
use super::vocabulary;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

vocabulary! {
    /// What sort of body the institute is.
    InstituteKind {
        /// A government agency or body.
        Government => "government",
        /// A public research organisation.
        PublicResearch => "public_research",
        /// A university or a unit of one.
        University => "university",
        /// A non-profit organisation or charity.
        NonProfit => "non_profit",
        /// A network, cluster, programme or consortium of several bodies.
        Consortium => "consortium",
        /// A company.
        Company => "company",
    }
}

vocabulary! {
    /// Whether the institute is operating.
    InstituteStatus {
        /// Operating.
        Active => "active",
        /// Closed or dormant.
        Inactive => "inactive",
        /// Withdrawn from the registry (kept for its history and links).
        Withdrawn => "withdrawn",
    }
}

/// A pointer to another institute: enough to show and follow it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, serde::Deserialize)]
pub struct InstituteRef {
    /// Stable opaque id.
    #[schema(example = "ins_3f0dy3k1zw9q8v2m")]
    pub id: String,
    /// Human-friendly unique slug.
    #[schema(example = "canadian-institute-for-advanced-research")]
    pub slug: String,
    /// Official name.
    #[schema(example = "Canadian Institute for Advanced Research")]
    pub name: String,
}

/// Identifiers of the institute in other registries, where known.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq, serde::Deserialize)]
pub struct ExternalIds {
    /// Research Organization Registry id (without the `https://ror.org/` prefix).
    #[schema(example = "035dkdb55")]
    pub ror: Option<String>,
    /// Wikidata item id.
    #[schema(example = "Q20730803")]
    pub wikidata: Option<String>,
    /// GRID id (legacy).
    #[schema(example = "grid.499548.d")]
    pub grid: Option<String>,
}

/// A national AI or research institute, with what makes it comparable.
#[derive(Debug, Clone, Serialize, ToSchema, serde::Deserialize)]
pub struct Institute {
    /// Stable opaque id; never reused or changed.
    #[schema(example = "ins_3f0dy3k1zw9q8v2m")]
    pub id: String,
    /// Unique human-friendly slug, `[a-z0-9-]{1,100}`; accepted wherever an id is.
    #[schema(example = "alan-turing-institute")]
    pub slug: String,
    /// Official name.
    #[schema(example = "The Alan Turing Institute")]
    pub name: String,
    /// Acronym, if the institute uses one.
    #[schema(example = "ATI")]
    pub acronym: Option<String>,
    /// Other names: former names, names in other languages.
    pub aliases: Vec<String>,
    pub kind: InstituteKind,
    pub status: InstituteStatus,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(example = "GB")]
    pub country: String,
    /// City of the main seat.
    #[schema(example = "London")]
    pub city: Option<String>,
    /// Year founded.
    #[schema(example = 2015)]
    pub founded: Option<i32>,
    /// Website (http or https URL).
    #[schema(example = "https://www.turing.ac.uk")]
    pub website: Option<String>,
    /// Free-text description, including caveats about its figures.
    pub description: Option<String>,
    /// Focus sectors: slugs from `/v1/sectors`, sorted.
    #[schema(example = json!(["defense-security", "environment", "healthcare"]))]
    pub sectors: Vec<String>,
    /// The parent or funding body, when it is itself in the registry.
    pub parent: Option<InstituteRef>,
    /// Institutes whose parent this one is, sorted by name: the first 100 (`children_total`
    /// says how many there are; all of them, paged: `GET /v1/institutes?parent={id}`).
    pub children: Vec<InstituteRef>,
    /// How many institutes have this one as their parent.
    #[serde(default)]
    #[schema(example = 2)]
    pub children_total: u64,
    pub external_ids: ExternalIds,
    /// The most recent comparable budget (annual, else an annualized multi-year commitment);
    /// failing both, the most recent figure of any kind, marked `basis: "as_reported"`.
    pub latest_budget: Option<LatestBudget>,
    /// The most recent headcount entry.
    pub latest_headcount: Option<HeadcountEntry>,
    /// Fields whose values no cited source confirmed.
    #[schema(example = json!(["website"]))]
    pub unverified_fields: Vec<String>,
    /// When the record was created (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the record last changed (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change; the `ETag` derives from it.
    #[schema(example = 1)]
    pub version: i64,
    /// With `?include=ancestors`: the parent, its parent, and so on to the root, nearest
    /// first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ancestors: Option<Vec<InstituteRef>>,
    /// With `?include=ancestors`: whether the chain was cut at 100 levels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ancestors_truncated: Option<bool>,
    /// With `?include=descendants`: the institutes below this one, breadth first (then by
    /// name), each with its parent's id and its depth (children are 1); at most 1,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub descendants: Option<Vec<Descendant>>,
    /// With `?include=descendants`: whether there are more than the 1,000 listed (the rest:
    /// page `GET /v1/institutes?parent={id}` level by level).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub descendants_truncated: Option<bool>,
}

/// An institute below another in the hierarchy.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, serde::Deserialize)]
pub struct Descendant {
    #[serde(flatten)]
    pub institute: InstituteRef,
    /// Id of its parent.
    #[schema(example = "ins_3f0dy3k1zw9q8v2m")]
    pub parent_id: String,
    /// 1 for a child, 2 for a grandchild, …
    #[schema(example = 1)]
    pub depth: i32,
}

impl Institute {
    /// Adds the latest budget's amount in `currency` (`?currency=`; `PPP` for international
    /// dollars at the institute's country's purchasing-power factor).
    pub fn convert_money(&mut self, rates: &super::money::Rates, currency: &str) {
        if let Some(b) = &mut self.latest_budget {
            b.converted = Some(rates.show(b.amount, &b.currency, b.year, currency, &self.country));
        }
    }
}
