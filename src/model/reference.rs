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
    /// The latest population, GDP and PPP factor recorded for the country, each with its
    /// year.
    pub indicators: LatestIndicators,
    /// `total_budget_usd` per inhabitant (over the latest population), in US dollars to a
    /// hundredth of a cent; null without a budget total or a population.
    #[schema(example = 0.5212)]
    pub budget_usd_per_inhabitant: Option<f64>,
    /// `total_budget_usd` as a share of the latest GDP, in per cent to six decimals; null
    /// without a budget total or a GDP.
    #[schema(example = 0.001021)]
    pub budget_share_of_gdp_percent: Option<f64>,
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

/// A country's indicators of one year, as the source publishes them: each value null where
/// it publishes none.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CountryIndicator {
    /// ISO 3166-1 alpha-2 code, or `EU` (the European Union as a whole).
    #[schema(example = "KR")]
    pub country: String,
    /// The year the values are of.
    #[schema(example = 2024)]
    pub year: i32,
    /// Midyear population.
    #[schema(example = 51_751_065_i64)]
    pub population: Option<i64>,
    /// Gross domestic product in current US dollars.
    #[schema(example = 1_875_388_000_000.0)]
    pub gdp_current_usd: Option<f64>,
    /// Purchasing power parity conversion factor for GDP: units of the country's currency per
    /// international dollar.
    #[schema(example = 820.67)]
    pub ppp_lcu_per_intl_dollar: Option<f64>,
    /// Where the values come from.
    #[schema(
        example = "World Bank, World Development Indicators (SP.POP.TOTL, NY.GDP.MKTP.CD, PA.NUS.PPP), CC BY 4.0: https://data.worldbank.org/indicator"
    )]
    pub source: String,
}

/// The latest published value of one indicator, with its year.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LatestValue {
    /// The value.
    #[schema(example = 51_751_065.0)]
    pub value: f64,
    /// The year it is of.
    #[schema(example = 2024)]
    pub year: i32,
}

/// A country's latest indicators, each from the latest year that has a value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct LatestIndicators {
    /// Midyear population; null when none is recorded.
    pub population: Option<LatestValue>,
    /// GDP in current US dollars; null when none is recorded.
    pub gdp_current_usd: Option<LatestValue>,
    /// PPP conversion factor (units of the currency per international dollar); null when none
    /// is recorded.
    pub ppp_lcu_per_intl_dollar: Option<LatestValue>,
    /// Where to read every year's values.
    #[schema(example = "/v1/countries/KR/indicators")]
    pub series_url: String,
}

impl LatestIndicators {
    /// The latest value of each indicator among a country's yearly rows.
    pub fn of(code: &str, rows: &[CountryIndicator]) -> LatestIndicators {
        let latest = |value: &dyn Fn(&CountryIndicator) -> Option<f64>| {
            rows.iter()
                .filter_map(|r| {
                    value(r).map(|v| LatestValue {
                        value: v,
                        year: r.year,
                    })
                })
                .max_by_key(|v| v.year)
        };
        LatestIndicators {
            population: latest(&|r| r.population.map(|p| p as f64)),
            gdp_current_usd: latest(&|r| r.gdp_current_usd),
            ppp_lcu_per_intl_dollar: latest(&|r| r.ppp_lcu_per_intl_dollar),
            series_url: format!("/v1/countries/{code}/indicators"),
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
    /// The USD amount per inhabitant of the jurisdiction, with the population of the year
    /// announced (or, failing that, of the latest year before it); null when the USD amount
    /// or a population is not known.
    pub per_inhabitant: Option<PerInhabitant>,
    /// The USD amount as a share of the jurisdiction's GDP of the year announced (or, failing
    /// that, of the latest year before it); null when the USD amount or a GDP is not known.
    /// The whole amount, over whatever period it covers.
    pub share_of_gdp: Option<ShareOfGdp>,
    /// When the record was created (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When the record last changed (RFC 3339, UTC).
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change.
    pub version: i64,
}

/// A programme's amount per inhabitant.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PerInhabitant {
    /// US dollars per inhabitant (`amount_usd / population`), to the cent.
    #[schema(example = 35.53)]
    pub usd: f64,
    /// The population divided by.
    #[schema(example = 51_751_065_i64)]
    pub population: i64,
    /// The year of that population.
    #[schema(example = 2024)]
    pub year: i32,
}

/// A programme's amount as a share of GDP.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ShareOfGdp {
    /// Per cent of GDP (`100 × amount_usd / gdp_current_usd`), to four decimals.
    #[schema(example = 0.098)]
    pub percent: f64,
    /// The GDP in current US dollars divided by.
    #[schema(example = 1_875_388_000_000.0)]
    pub gdp_current_usd: f64,
    /// The year of that GDP.
    #[schema(example = 2024)]
    pub year: i32,
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
    /// Relates the USD amount to the jurisdiction's population and GDP (`rows`: its yearly
    /// indicators), each of the year announced or, failing that, the latest year before it.
    pub fn relate(&mut self, rows: &[CountryIndicator]) {
        let of_year = |value: &dyn Fn(&CountryIndicator) -> Option<f64>| {
            rows.iter()
                .filter(|r| r.year <= self.announced)
                .filter_map(|r| value(r).map(|v| (r.year, v)))
                .max_by_key(|(year, _)| *year)
        };
        let usd = self.usd.amount_usd.map(|a| a as f64);
        self.per_inhabitant = usd.and_then(|usd| {
            let (year, population) = of_year(&|r| r.population.map(|p| p as f64))?;
            Some(PerInhabitant {
                usd: (usd / population * 100.0).round() / 100.0,
                population: population as i64,
                year,
            })
        });
        self.share_of_gdp = usd.and_then(|usd| {
            let (year, gdp) = of_year(&|r| r.gdp_current_usd)?;
            Some(ShareOfGdp {
                percent: (usd / gdp * 100.0 * 10_000.0).round() / 10_000.0,
                gdp_current_usd: gdp,
                year,
            })
        });
    }

    /// Adds the amount in `currency` (`?currency=`), at the rates of the year announced.
    pub fn convert_money(&mut self, rates: &super::money::Rates, currency: &str) {
        self.converted = Some(rates.convert(self.amount, &self.currency, self.announced, currency));
    }
}
