//! Reference data: sectors, countries, programmes and exchange rates.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A focus sector from the controlled vocabulary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sector {
    /// Unique slug, used in the `sectors` field of institutes and the `sector` filter.
    #[schema(example = "healthcare")]
    pub slug: String,
    /// Display name.
    #[schema(example = "Healthcare")]
    pub name: String,
    /// What the sector covers.
    pub description: Option<String>,
    /// Number of active institutes in this sector.
    #[schema(example = 21)]
    pub institutes: i64,
}

/// Per-country summary of the registry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountrySummary {
    /// ISO 3166-1 alpha-2 code (`EU` for the European Union, which only programmes use).
    #[schema(example = "CA")]
    pub code: String,
    /// English short name.
    #[schema(example = "Canada")]
    pub name: String,
    /// UN M49 region.
    #[schema(example = "Americas")]
    pub region: String,
    /// UN M49 sub-region.
    #[schema(example = "Northern America")]
    pub subregion: String,
    /// Number of active institutes.
    #[schema(example = 7)]
    pub institutes: i64,
    /// Sum of the latest researcher counts of active institutes that report one.
    #[schema(example = 2900)]
    pub total_researchers: i64,
    /// Sum of the latest staff counts of active institutes that report one.
    #[schema(example = 55)]
    pub total_staff: i64,
    /// Active institutes with a latest headcount.
    #[schema(example = 6)]
    pub institutes_with_headcount: i64,
    /// Sum, in USD, of the latest comparable (annual or annualized) budgets of active
    /// institutes whose figure has a known rate; null when none has one (as in `/v1/stats`).
    #[schema(example = 21867000)]
    pub total_budget_usd: Option<i64>,
    /// Active institutes contributing to `total_budget_usd`.
    #[schema(example = 1)]
    pub institutes_with_budget: i64,
    /// Number of national programmes of this jurisdiction.
    #[schema(example = 1)]
    pub programs: i64,
    /// With `?currency=` and a budget total: `total_budget_usd` in that currency, at its latest
    /// yearly rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_budget: Option<super::money::Converted>,
}

impl CountrySummary {
    /// Adds the budget total in `currency`, at that currency's latest yearly rate.
    pub fn convert_money(&mut self, rates: &super::money::Rates, currency: &str) {
        let year = rates
            .latest_rate(currency)
            .map(|r| r.year)
            .unwrap_or_else(|| chrono::Datelike::year(&chrono::Utc::now()));
        self.total_budget = self
            .total_budget_usd
            .map(|usd| rates.convert(usd, "USD", year, currency));
    }
}

impl CountryDetail {
    /// Adds the budget total and every programme's amount in `currency`.
    pub fn convert_money(&mut self, rates: &super::money::Rates, currency: &str) {
        self.summary.convert_money(rates, currency);
        for p in &mut self.program_list {
            p.convert_money(rates, currency);
        }
    }
}

/// One country with its summary and its programmes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountryDetail {
    #[serde(flatten)]
    pub summary: CountrySummary,
    /// The national AI programmes of this jurisdiction, most recent first.
    pub program_list: Vec<Program>,
    /// Where to list this country's institutes.
    #[schema(example = "/v1/institutes?country=CA")]
    pub institutes_url: String,
}

/// A national AI investment programme.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Program {
    /// Stable opaque id.
    #[schema(example = "prg_5v9c1x3z5b7n9m1k")]
    pub id: String,
    /// Unique slug.
    #[schema(example = "stargate-project")]
    pub slug: String,
    /// ISO 3166-1 alpha-2 code of the jurisdiction, or `EU`.
    #[schema(example = "US")]
    pub jurisdiction: String,
    /// Name of the programme.
    pub name: String,
    /// Amount in major units of `currency`.
    #[schema(example = 500000000000_i64)]
    pub amount: i64,
    /// ISO 4217 currency code.
    #[schema(example = "USD")]
    pub currency: String,
    /// Year announced.
    #[schema(example = 2025)]
    pub announced: i32,
    /// The period the amount covers, in the source's words.
    pub period: Option<String>,
    /// Who provides the money.
    pub public_or_private: Option<String>,
    /// URL of the source.
    pub source: String,
    /// Notes and caveats.
    pub description: Option<String>,
    #[serde(flatten)]
    pub usd: super::money::Conversion,
    /// The amount in the currency asked for with `?currency=` (at the rates of the year
    /// announced); absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted: Option<super::money::Converted>,
    /// When the record was created (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the record last changed (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change.
    pub version: i64,
}

/// A yearly average exchange rate, used to normalize money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExchangeRate {
    /// ISO 4217 currency code.
    #[schema(example = "EUR")]
    pub currency: String,
    /// The year averaged over.
    #[schema(example = 2024)]
    pub year: i32,
    /// Units of `currency` per 1 USD.
    #[schema(example = 0.923618)]
    pub units_per_usd: f64,
    /// Where the rate comes from.
    pub source: String,
}

impl Program {
    /// Adds the amount in `currency` (`?currency=`), at the rates of the year announced.
    pub fn convert_money(&mut self, rates: &super::money::Rates, currency: &str) {
        self.converted = Some(rates.convert(self.amount, &self.currency, self.announced, currency));
    }
}
