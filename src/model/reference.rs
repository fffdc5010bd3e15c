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
    /// ISO 4217 code of the country's own currency (the local currency its PPP factor is
    /// stated in); null where it has no single one.
    #[schema(example = "CAD")]
    pub currency: Option<String>,
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
    /// yearly rate; with `currency=PPP`, in international dollars: the sum of each budget at
    /// the country's PPP factor of its own year (`ppp` shows the latest factor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_budget: Option<super::money::Converted>,
    /// The same total in international dollars: each budget at its country's PPP factor of
    /// its own year (what `currency=PPP` shows).
    #[serde(skip)]
    pub total_budget_ppp: Option<f64>,
}

impl CountrySummary {
    /// Adds the budget total in `currency`, at that currency's latest yearly rate (`PPP`:
    /// in international dollars, each budget at the PPP factor of its own year, as
    /// `/v1/stats?currency=PPP` adds them up).
    pub fn convert_money(&mut self, rates: &super::money::Rates, currency: &str) {
        let now = chrono::Datelike::year(&chrono::Utc::now());
        if currency == super::money::PPP {
            let year = rates.latest_ppp_year(&self.code).unwrap_or(now);
            self.total_budget = self.total_budget_usd.map(|usd| {
                let mut shown = rates.show(usd, "USD", year, currency, &self.code);
                match self.total_budget_ppp {
                    Some(total) => {
                        shown.amount = Some(total.round() as i64);
                        shown.rate = (usd > 0).then(|| total / usd as f64);
                        shown.note = Some(format!(
                            "the sum of each budget at the PPP factor of its own year; \
                             `rate` is international dollars per US dollar over the total, and \
                             `ppp` the country's factor of {year}"
                        ));
                    }
                    None => {
                        shown.amount = None;
                        shown.rate = None;
                        shown.note = Some(format!(
                            "no budget of {} has a PPP factor for its year",
                            self.code
                        ));
                    }
                }
                shown
            });
            return;
        }
        let year = rates.latest_rate(currency).map(|r| r.year).unwrap_or(now);
        self.total_budget = self
            .total_budget_usd
            .map(|usd| rates.show(usd, "USD", year, currency, &self.code));
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
    /// The amount spread evenly over its period, where `period` states one ("5 years",
    /// "2024–2027", "to 2025", "through 2029", "13-year horizon"); null where it does not
    /// ("multi-year", "coming years").
    pub annualized: Option<Annualized>,
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

/// A programme's amount per year of its period, measured like the whole amount.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Annualized {
    /// The years the amount covers, as read from `period`.
    #[schema(example = 5)]
    pub years: i32,
    /// The amount per year, in major units of the programme's currency.
    #[schema(example = 30000000000000_i64)]
    pub amount: i64,
    /// The USD amount per year; null when the USD amount is not known.
    #[schema(example = 21090508158_i64)]
    pub amount_usd: Option<i64>,
    /// The USD amount per year per inhabitant (same population and year as `per_inhabitant`),
    /// to the cent.
    #[schema(example = 408.06)]
    pub usd_per_inhabitant: Option<f64>,
    /// The USD amount per year as a share of GDP (same GDP and year as `share_of_gdp`), in per
    /// cent to four decimals.
    #[schema(example = 1.1264)]
    pub share_of_gdp_percent: Option<f64>,
}

/// The number of years a programme's period covers, read from the source's words: a year
/// range ("2024–2027": 4), a count ("5 years", "13-year horizon", "up to 4 years"), or an end
/// year counted from the year announced ("to FY2030", "through 2029"); the first such
/// expression in the text decides. None when the text states none.
pub fn period_years(period: &str, announced: i32) -> Option<i32> {
    type Read = fn(&regex::Captures, i32) -> Option<i32>;
    static PATTERNS: std::sync::LazyLock<Vec<(regex::Regex, Read)>> =
        std::sync::LazyLock::new(|| {
            let patterns: [(&str, Read); 3] = [
                (
                    r"\b((?:19|20)\d\d)\s*[–—-]\s*((?:19|20)\d\d)\b",
                    |c, _| {
                        let (a, b): (i32, i32) = (c[1].parse().ok()?, c[2].parse().ok()?);
                        (b >= a).then_some(b - a + 1)
                    },
                ),
                (r"\b(\d{1,2})[ -]years?\b", |c, _| c[1].parse().ok()),
                (
                    r"\b(?:to|through|until|by)\s+(?:fy\s*)?((?:19|20)\d\d)\b",
                    |c, announced| {
                        let end: i32 = c[1].parse().ok()?;
                        (end >= announced).then_some(end - announced + 1)
                    },
                ),
            ];
            patterns
                .into_iter()
                .map(|(p, read)| (regex::Regex::new(p).expect("a valid pattern"), read))
                .collect()
        });
    let text = period.to_lowercase();
    PATTERNS
        .iter()
        .filter_map(|(re, years)| {
            let c = re.captures(&text)?;
            let at = c.get(0)?.start();
            Some((at, years(&c, announced)?))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, years)| years)
        .filter(|years| (1..=50).contains(years))
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
        let population = of_year(&|r| r.population.map(|p| p as f64));
        let gdp = of_year(&|r| r.gdp_current_usd);
        self.annualized = self
            .period
            .as_deref()
            .and_then(|p| period_years(p, self.announced))
            .map(|years| {
                let per_year_usd = usd.map(|u| u / f64::from(years));
                Annualized {
                    years,
                    amount: (self.amount as f64 / f64::from(years)).round() as i64,
                    amount_usd: per_year_usd.map(|u| u.round() as i64),
                    usd_per_inhabitant: per_year_usd
                        .zip(population)
                        .map(|(u, (_, p))| (u / p * 100.0).round() / 100.0),
                    share_of_gdp_percent: per_year_usd
                        .zip(gdp)
                        .map(|(u, (_, g))| (u / g * 100.0 * 10_000.0).round() / 10_000.0),
                }
            });
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

    /// Adds the amount in `currency` (`?currency=`), at the rates of the year announced
    /// (`PPP`: international dollars at the jurisdiction's purchasing-power factor).
    pub fn convert_money(&mut self, rates: &super::money::Rates, currency: &str) {
        self.converted = Some(rates.show(
            self.amount,
            &self.currency,
            self.announced,
            currency,
            &self.jurisdiction,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::period_years;

    #[test]
    fn periods_read_from_the_sources_words() {
        for (text, announced, years) in [
            ("5 years; ₩30tn in 2026 incl. ₩6tn for AI", 2025, Some(5)),
            ("up to 4 years (initial US$100bn)", 2025, Some(4)),
            ("2024–2027", 2024, Some(4)),
            ("2025–2030 ('more than S$1bn')", 2026, Some(6)),
            ("10 years from 2021-22", 2021, Some(10)),
            ("13-year horizon", 2025, Some(13)),
            ("to 2025 (strategy adopted 15 Nov 2018)", 2018, Some(8)),
            ("through 2029 (total incl. partner funding)", 2019, Some(11)),
            // The first expression decides: the period is to FY2030, not the 10 years of
            // the wider ¥50tn aim.
            (
                "to FY2030; aims to catalyse ¥50tn public+private over 10 years",
                2024,
                Some(7),
            ),
            ("'coming years'", 2025, None),
            (
                "multi-year; incl. €20bn for four AI gigafactories",
                2025,
                None,
            ),
            ("to 2020", 2024, None),
        ] {
            assert_eq!(period_years(text, announced), years, "{text}");
        }
    }
}
